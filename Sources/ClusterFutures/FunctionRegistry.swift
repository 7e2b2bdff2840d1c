import ClusterFuturesWire
import Synchronization

/// The functions this process can run, by name, and the error types it brings back as themselves.
///
/// Every process of a program holds the same registrations, made by
/// ``ClusterRuntime/bootstrap(functions:errors:logHandler:)`` before anything else runs. Executors
/// check it on the caller's side, so submitting a function that was never registered fails at once with
/// ``ClusterFuturesError/Code-swift.struct/unregisteredFunction`` instead of on a worker later.
public final class FunctionRegistry: Sendable {
    /// The registry every executor uses.
    public static let shared = FunctionRegistry()

    /// How to run one registered function.
    @_spi(ExecutorImplementation)
    public struct Entry: Sendable {
        /// The function type's name, for messages.
        public let typeName: String
        let run: @Sendable (_ request: ArraySlice<UInt8>, _ buffers: [WireBuffer], _ outOfBandMinimum: Int?) -> Payload

        /// Runs an encoded ``CallRequest`` and returns the encoded ``CallReply``; never throws, as
        /// every failure is part of the reply.
        public func serve(_ request: ArraySlice<UInt8>) -> [UInt8] {
            run(request, [], nil).bytes
        }

        /// Runs an encoded ``CallRequest`` that came with out-of-band `buffers`; arrays of at least
        /// `outOfBandMinimum` bytes in the reply travel out of band too.
        public func serve(_ request: ArraySlice<UInt8>, buffers: [WireBuffer], outOfBandMinimum: Int) -> Payload {
            run(request, buffers, outOfBandMinimum)
        }
    }

    /// The names a registered function type goes by, worked out once: computing a type's name is
    /// slow next to the rest of a call. A class, so that every job of the function shares one
    /// reference to them instead of copying (and retaining) each.
    final class Identity: Sendable {
        /// The function type.
        let type: ObjectIdentifier
        /// ``RemoteFunction/name``.
        let name: String
        /// The mangled type name, by which a worker that never bootstrapped finds the type.
        let mangledName: String
        /// The start of every task message for this function (see ``TaskMessage``), built once.
        let taskPrefix: [UInt8]
        /// The function value's encoding, when its type has no stored properties.
        let encodedValue = EncodedFunctionCache()

        init(type: ObjectIdentifier, name: String, mangledName: String) {
            self.type = type
            self.name = name
            self.mangledName = mangledName
            self.taskPrefix = TaskMessage.prefix(functionName: name, mangledName: mangledName)
        }
    }

    private struct ErrorEntry: Sendable {
        let decode: @Sendable (_ bytes: [UInt8]) -> (any Error)?
    }

    private struct State {
        var functions: [String: Entry] = [:]
        var identities: [ObjectIdentifier: Identity] = [:]
        var errors: [String: ErrorEntry] = [:]
    }

    private let state = Mutex(State())

    /// Creates an empty registry. Programs use ``shared``; a separate registry is for tests.
    public init() {}

    /// Registers `function` under ``RemoteFunction/name``. Registering the same type again does nothing.
    ///
    /// When the function declares a `Codable` error type with typed throws
    /// (``RemoteFunction/Failure``), that type is registered too (``register(error:)``), so that it
    /// comes back to the caller as itself.
    ///
    /// - Throws: ``ClusterFuturesError/Code-swift.struct/duplicateFunctionName`` when another type
    ///   already has that name.
    public func register<F: RemoteFunction>(_ function: F.Type) throws(ClusterFuturesError) {
        let name = F.name
        let typeName = String(reflecting: F.self)
        let decodedValue = DecodedFunctionCache()
        let entry = Entry(typeName: typeName) { request, buffers, outOfBandMinimum in
            CallRequest.serve(F.self, request: request, buffers: buffers, outOfBandMinimum: outOfBandMinimum,
                              functions: decodedValue)
        }
        let identity = Identity(type: ObjectIdentifier(F.self), name: name, mangledName: _mangledTypeName(F.self) ?? "")
        try state.withLock { (state) throws(ClusterFuturesError) in
            if let existing = state.functions[name] {
                guard existing.typeName == typeName else {
                    throw ClusterFuturesError(.duplicateFunctionName,
                        "the name \"\(name)\" is claimed by both \(existing.typeName) and \(typeName)")
                }
                return
            }
            state.functions[name] = entry
            state.identities[ObjectIdentifier(F.self)] = identity
        }
        if F.Failure.self != Never.self, let declared = F.Failure.self as? any RemoteError.Type {
            register(error: declared)
        }
    }

    /// Registers an error type, so that when a task throws it, the caller gets it back as itself
    /// rather than as a ``TaskFailure``.
    public func register<E: RemoteError>(error: E.Type) {
        let entry = ErrorEntry { bytes in try? WireDecoder().decode(E.self, from: bytes) }
        state.withLock { $0.errors[String(reflecting: E.self)] = entry }
    }

    /// Whether `function` is registered here.
    public func contains<F: RemoteFunction>(_ function: F.Type) -> Bool {
        state.withLock { $0.identities[ObjectIdentifier(F.self)] != nil }
    }

    /// The names of the registered functions, sorted.
    public var functionNames: [String] {
        state.withLock { $0.functions.keys.sorted() }
    }

    /// The names of `function`, or an error unless it is registered: the caller-side check every
    /// executor makes before it sends anything.
    @discardableResult
    func requireRegistered<F: RemoteFunction>(_ function: F.Type) throws(ClusterFuturesError) -> Identity {
        guard let identity = state.withLock({ $0.identities[ObjectIdentifier(F.self)] }) else {
            throw ClusterFuturesError(.unregisteredFunction,
                "\(F.name) is not registered; list \(F.self).self in ClusterRuntime.bootstrap(functions:) "
                + "(or in your ClusterProgram's functions) so that every process can run it")
        }
        return identity
    }

    /// Runs an encoded request for the function named `name` and returns the encoded reply.
    /// An unknown name gives a reply that fails the whole call.
    func serve(functionName name: String, request: ArraySlice<UInt8>) -> [UInt8] {
        guard let entry = state.withLock({ $0.functions[name] }) else {
            return CallReply.callFailure(ErrorReport(ClusterFuturesError(.unregisteredFunction,
                "no function named \"\(name)\" is registered in this process; is it running the same build?")))
        }
        return entry.serve(request)
    }

    /// The function a worker is asked to run. One not registered in this process (a worker never
    /// runs the program's bootstrap) is found by its mangled type name, which every copy of the same
    /// build shares, and registered on first use.
    func resolve(functionName name: String, mangledName: String) -> Entry? {
        if let entry = state.withLock({ $0.functions[name] }) { return entry }
        if let type = _typeByName(mangledName) as? any RemoteFunction.Type {
            _ = try? register(type)
        }
        return state.withLock { $0.functions[name] }
    }

    /// Runs an encoded request for a function found by ``resolve(functionName:mangledName:)``.
    func serve(functionName name: String, mangledName: String, request: ArraySlice<UInt8>) -> [UInt8] {
        guard let entry = resolve(functionName: name, mangledName: mangledName) else {
            return serve(functionName: name, request: request)
        }
        return entry.serve(request)
    }

    /// Decodes an error of a registered type, or returns nil.
    func decodeError(typeName: String, from bytes: [UInt8]) -> (any Error)? {
        guard let entry = state.withLock({ $0.errors[typeName] }) else { return nil }
        return entry.decode(bytes)
    }
}

@_spi(ExecutorImplementation)
extension FunctionRegistry {
    /// The function a task prefix (``Job/taskPrefix``) names, found as a worker finds it: by its
    /// registered name, else by its mangled type name. Nil for a malformed prefix or a function
    /// this build does not have.
    public func resolve(taskPrefix: [UInt8]) -> Entry? {
        guard let message = try? TaskMessage(decoding: taskPrefix), message.request.isEmpty else { return nil }
        let (name, mangled) = message.names
        return resolve(functionName: name, mangledName: mangled)
    }

    /// Runs an encoded request for the function a task prefix names, found as ``resolve(taskPrefix:)``
    /// finds it; a function this build lacks gives a reply that fails the whole call.
    public func serve(taskPrefix: [UInt8], request: ArraySlice<UInt8>) -> [UInt8] {
        guard let message = try? TaskMessage(decoding: taskPrefix), message.request.isEmpty else {
            return Self.failureReply(ClusterFuturesError(.protocolViolation, "a malformed task prefix"))
        }
        let (name, mangled) = message.names
        return serve(functionName: name, mangledName: mangled, request: request)
    }

    /// The registered name a task prefix carries, for messages.
    public static func functionName(inTaskPrefix prefix: [UInt8]) -> String {
        (try? TaskMessage(decoding: prefix))?.names.functionName ?? "?"
    }

    /// An encoded reply that fails the whole call with `error`: what a worker sends when it cannot
    /// run a task at all.
    public static func failureReply(_ error: ClusterFuturesError) -> [UInt8] {
        CallReply.callFailure(ErrorReport(error))
    }
}
