/// Functions by number, as both pools name the function of each task. The pool numbers each
/// function the first time it sends one of its tasks (``FunctionNumbers``) and sends a worker the
/// function's definition, its number and task prefix (``FunctionDefinition``), before the worker's
/// first task of it (``FunctionsDefined``); every task then carries only the number. The worker
/// keeps what it was defined (``DefinedFunctions``) and finds each task's function by index.
///
/// Shared by the executors that run work elsewhere; `@_spi(ExecutorImplementation)`.
@_spi(ExecutorImplementation)
public struct FunctionNumbers {
    /// The most functions one pool numbers. An MPI pool sends a task with the tag `16 + number`,
    /// and MPI guarantees tags up to 32,767.
    public static let limit = 32_751

    @usableFromInline
    var numbers: [ObjectIdentifier: Int] = [:]
    /// The function numbered last, and its number: calls usually come in runs of one function,
    /// which then cost one comparison, not a hash.
    @usableFromInline
    var last: (function: ObjectIdentifier, number: Int)?

    /// No function numbered yet.
    public init() {}

    /// The number of `function` (``Job/functionType``), assigned on first use, from 0.
    ///
    /// - Throws: ``ClusterFuturesError/Code-swift.struct/invalidArgument`` when the pool already
    ///   numbers ``limit`` functions.
    @inlinable
    public mutating func number(for function: ObjectIdentifier) throws(ClusterFuturesError) -> Int {
        if let last, last.function == function { return last.number }
        let number: Int
        if let known = numbers[function] {
            number = known
        } else {
            number = numbers.count
            guard number < Self.limit else {
                throw ClusterFuturesError(.invalidArgument, "a pool can run at most \(Self.limit) different functions")
            }
            numbers[function] = number
        }
        last = (function, number)
        return number
    }
}

/// The function numbers one worker has been sent the definition of.
@_spi(ExecutorImplementation)
public struct FunctionsDefined {
    /// By number (an array: looked at for every task sent).
    @usableFromInline
    var defined: [Bool] = []

    /// None yet: a new worker.
    public init() {}

    /// Whether the worker was sent the definition of function `number`.
    @inlinable
    public func contains(_ number: Int) -> Bool {
        number >= 0 && number < defined.count && defined[number]
    }

    /// Records that the worker was sent the definition of function `number`.
    @inlinable
    public mutating func insert(_ number: Int) {
        if number >= defined.count { defined.append(contentsOf: repeatElement(false, count: number + 1 - defined.count)) }
        defined[number] = true
    }
}

/// What the pool tells a worker before the worker's first task of a function: the number its
/// tasks will carry, and the function's task prefix (``Job/taskPrefix``), which names it.
@_spi(ExecutorImplementation)
public struct FunctionDefinition: Codable, Equatable, Sendable {
    /// The number tasks of the function carry.
    public var number: Int
    /// The function's task prefix.
    public var taskPrefix: [UInt8]

    /// Function `number` runs the tasks whose prefix is `taskPrefix`.
    public init(number: Int, taskPrefix: [UInt8]) {
        self.number = number
        self.taskPrefix = taskPrefix
    }
}

/// A worker's functions, by the numbers the pool defined them under; `Extra` is whatever the
/// worker keeps beside each one (the MPI worker: the line it writes should the function crash it).
@_spi(ExecutorImplementation)
public struct DefinedFunctions<Extra> {
    /// One function the pool defined.
    public struct Function {
        /// How to run it; nil when this build lacks it (``serve(_:request:registry:)`` then gives
        /// the reply that fails the call).
        public let entry: FunctionRegistry.Entry?
        /// Its task prefix.
        public let taskPrefix: [UInt8]
        /// What the worker keeps beside it.
        public let extra: Extra
    }

    /// By number (an array: looked up for every task).
    @usableFromInline
    var functions: [Function?] = []

    /// None defined yet.
    public init() {}

    /// Defines function `number` as the one `definition`'s task prefix names, found in `registry`;
    /// `extra` is given the function's registered name.
    ///
    /// - Throws: ``ClusterFuturesError/Code-swift.struct/protocolViolation`` for a number outside
    ///   ``FunctionNumbers/limit``: the pool never sends one, so the message is corrupt.
    public mutating func define(
        _ definition: FunctionDefinition, registry: FunctionRegistry, extra: (_ name: String) -> Extra
    ) throws(ClusterFuturesError) {
        let number = definition.number
        guard (0..<FunctionNumbers.limit).contains(number) else {
            throw ClusterFuturesError(.protocolViolation, "the pool defined function number \(number), out of range")
        }
        let function = Function(entry: registry.resolve(taskPrefix: definition.taskPrefix), taskPrefix: definition.taskPrefix,
                                extra: extra(FunctionRegistry.functionName(inTaskPrefix: definition.taskPrefix)))
        if number >= functions.count { functions.append(contentsOf: repeatElement(nil, count: number + 1 - functions.count)) }
        functions[number] = function
    }

    /// Function `number`, if the pool defined it.
    @inlinable
    public subscript(number: Int) -> Function? {
        number >= 0 && number < functions.count ? functions[number] : nil
    }

    /// Runs `request` for function `number`: its encoded reply, or one that fails the call when
    /// this build lacks the function, or the pool never defined the number.
    public func serve(_ number: Int, request: ArraySlice<UInt8>, registry: FunctionRegistry) -> [UInt8] {
        guard let function = self[number] else { return Self.undefinedReply(number) }
        if let entry = function.entry { return entry.serve(request) }
        return registry.serve(taskPrefix: function.taskPrefix, request: request)
    }

    /// The reply to a task of a function number the pool never defined.
    public static func undefinedReply(_ number: Int) -> [UInt8] {
        FunctionRegistry.failureReply(ClusterFuturesError(.protocolViolation,
            "the worker was sent a task of function number \(number), which the pool never defined"))
    }
}
