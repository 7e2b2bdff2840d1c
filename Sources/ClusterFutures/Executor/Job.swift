import ClusterFuturesWire

/// One message's worth of work as an executor sees it: a registered function's name, the encoded
/// request, and how to complete the caller's future from the encoded reply.
///
/// A job holds its future until the job is done, so the work runs and completes it even when the
/// caller dropped it; a lazy inline executor, whose futures hold their jobs until demanded, has
/// its jobs hold their futures weakly instead, so that a future nobody demands is freed.
///
/// Jobs are how an executor in another module (`MPIPoolExecutor`) reuses the caller-side half of
/// every executor: registration checks, encoding, and completing futures from replies. That API is
/// `@_spi(ExecutorImplementation)`: not for programs, and not stable.
@_spi(ExecutorImplementation)
public final class Job: Sendable {
    /// The function's names, shared by all its jobs.
    private let identity: FunctionRegistry.Identity

    /// The function type: the same for every job of one function, so an executor can key what it
    /// keeps per function by it without hashing ``taskPrefix``.
    public var functionType: ObjectIdentifier { identity.type }
    /// The registered name of the function.
    public var functionName: String { identity.name }
    /// The function type's mangled name, by which a worker that never ran the program's bootstrap
    /// finds it.
    public var mangledName: String { identity.mangledName }
    /// The names as the start of a task message, encoded once per function.
    public var taskPrefix: [UInt8] { identity.taskPrefix }
    /// The encoded ``CallRequest``.
    public let request: [UInt8]
    /// The arrays the request left out of band (see ``single(_:_:registry:outOfBandMinimum:)``), to
    /// be sent beside it in this order.
    public let requestBuffers: [WireBuffer]
    /// The number of inputs in the request.
    public let itemCount: Int

    /// The caller's future, held strongly (no weak reference to form, load and destroy on every
    /// call) unless the future holds this job.
    private let futureReference: FutureReference
    private let completion: @Sendable (_ reply: Payload, _ origin: TaskOrigin) -> Void

    /// How a job holds its future.
    private enum FutureReference {
        case strong(AnyFuture)
        case weak(WeakFuture)
    }

    private var future: AnyFuture? {
        switch futureReference {
        case .strong(let future): future
        case .weak(let reference): reference.future
        }
    }

    private init(
        identity: FunctionRegistry.Identity, request: [UInt8], requestBuffers: [WireBuffer] = [], itemCount: Int,
        future: AnyFuture, holdingFutureWeakly: Bool,
        completion: @escaping @Sendable (_ reply: Payload, _ origin: TaskOrigin) -> Void
    ) {
        self.identity = identity
        self.request = request
        self.requestBuffers = requestBuffers
        self.itemCount = itemCount
        self.futureReference = holdingFutureWeakly ? .weak(WeakFuture(future)) : .strong(future)
        self.completion = completion
    }

    /// Moves the future to running; false if it was cancelled, and then the job must not run.
    public func markRunning() -> Bool { future?.markRunning() ?? true }

    /// Whether the caller cancelled the future before the job started.
    public var isCancelled: Bool { future?.isCancelled ?? false }

    /// Cancels the future of a job that will not be sent.
    public func cancel() { future?.cancel() }

    /// Completes the future from an encoded ``CallReply``.
    public func complete(reply: [UInt8], origin: TaskOrigin) { completion(Payload(bytes: reply), origin) }

    /// Completes the future from an encoded ``CallReply`` and the buffers that came with it.
    public func complete(reply: Payload, origin: TaskOrigin) { completion(reply, origin) }

    /// Fails the future with an error of the executor's (a lost worker, say).
    public func fail(_ error: any Error, origin: TaskOrigin?) { future?.finish(error: error, origin: origin) }

    /// The future of a job, when a job was needed: nil `job` means the future is already complete
    /// (every input failed to encode, or the batch was empty) and nothing is to be sent.
    public struct Made<Value: Sendable> {
        /// The job to send, or nil when there is nothing to send.
        public let job: Job?
        /// The caller's future.
        public let future: Future<Value>
    }

    /// A job for one call. With `outOfBandMinimum`, the input's arrays of trivial numbers of at
    /// least that many bytes go in ``requestBuffers`` instead of being copied into ``request``, for
    /// an executor whose transport can send them as they are (and receive the reply's likewise).
    /// With `holdingFutureWeakly`, the job does not keep its future alive (for an executor whose
    /// futures hold their jobs).
    public static func single<F: RemoteFunction>(
        _ function: F, _ input: F.Input, registry: FunctionRegistry, outOfBandMinimum: Int? = nil,
        holdingFutureWeakly: Bool = false
    ) throws(ClusterFuturesError) -> Made<F.Output> {
        let identity = try registry.requireRegistered(F.self)
        let name = identity.name
        let request = try CallRequest(function: function, input: input, outOfBandMinimum: outOfBandMinimum,
                                      functions: identity.encodedValue)
        let future = Future<F.Output>(label: name)
        if let failure = request.encodingFailures[0] {
            future.fail(failure, origin: nil)
            return Made(job: nil, future: future)
        }
        let completion: @Sendable (Payload, TaskOrigin) -> Void
        if holdingFutureWeakly {
            completion = { [weak future] reply, origin in
                if let future { finish(future, reply: reply, origin: origin, name: name, registry: registry) }
            }
        } else {
            completion = { reply, origin in finish(future, reply: reply, origin: origin, name: name, registry: registry) }
        }
        let job = Job(identity: identity, request: request.bytes, requestBuffers: request.buffers, itemCount: 1,
                      future: future, holdingFutureWeakly: holdingFutureWeakly, completion: completion)
        return Made(job: job, future: future)
    }

    /// Completes the future of a single call from its reply.
    private static func finish<Output: Decodable & Sendable>(
        _ future: Future<Output>, reply: Payload, origin: TaskOrigin, name: String, registry: FunctionRegistry
    ) {
        do {
            let value = try CallReply.decodeSingle(reply.bytes, buffers: reply.buffers, as: Output.self,
                                                   functionName: name, origin: origin, registry: registry)
            future.succeed(value, origin: origin)
        } catch {
            future.fail(error, origin: origin)
        }
    }

    /// A job for a batch of calls to one function, answered together. With `holdingFutureWeakly`,
    /// the job does not keep its future alive (for an executor whose futures hold their jobs).
    public static func batch<F: RemoteFunction>(
        _ function: F, _ inputs: [F.Input], registry: FunctionRegistry, holdingFutureWeakly: Bool = false
    ) throws(ClusterFuturesError) -> Made<BatchResults<F.Output>> {
        let identity = try registry.requireRegistered(F.self)
        let name = identity.name
        let request = try CallRequest(function: function, inputs: inputs)
        let future = Future<BatchResults<F.Output>>(label: name)
        if request.sentCount == 0 {
            let results = CallReply.decode([], request: request, as: F.Output.self, functionName: name,
                                           origin: .currentProcess(executor: "caller"), registry: registry)
            future.succeed(results, origin: nil)
            return Made(job: nil, future: future)
        }
        let completion: @Sendable (Payload, TaskOrigin) -> Void
        if holdingFutureWeakly {
            completion = { [weak future] reply, origin in
                if let future { finish(future, reply: reply, request: request, origin: origin, name: name, registry: registry) }
            }
        } else {
            completion = { reply, origin in
                finish(future, reply: reply, request: request, origin: origin, name: name, registry: registry)
            }
        }
        let job = Job(identity: identity, request: request.bytes, itemCount: request.sentCount, future: future,
                      holdingFutureWeakly: holdingFutureWeakly, completion: completion)
        return Made(job: job, future: future)
    }

    /// Completes the future of a batch from its reply.
    private static func finish<Output: Decodable & Sendable>(
        _ future: Future<BatchResults<Output>>, reply: Payload, request: CallRequest, origin: TaskOrigin,
        name: String, registry: FunctionRegistry
    ) {
        future.succeed(CallReply.decode(reply.bytes, request: request, as: Output.self, functionName: name,
                                        origin: origin, registry: registry), origin: origin)
    }
}
