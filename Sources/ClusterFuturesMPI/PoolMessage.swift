import ClusterFuturesWire
import MPI

/// The messages between rank 0 and the worker ranks, told apart by tag. They travel on a duplicate
/// of the world communicator, so a program's own MPI traffic never mixes with them.
enum PoolTag {
    /// Worker → rank 0, once at start-up: a ``WorkerHello``.
    static let hello = 1
    /// Rank 0 → worker: a function's number and task prefix (``FunctionDefinition``), sent before
    /// its first task to that worker.
    static let define = 2
    /// Rank 0 → worker: stop serving, finalize MPI and exit 0.
    static let stop = 3
    /// Worker → rank 0: the encoded reply to the oldest task it was sent.
    static let result = 4
    /// Rank 0 → worker: `taskBase + n` carries an encoded request for function number n, with
    /// nothing else, so that the request is sent from and received into its own buffer.
    static let taskBase = 16

    /// The largest function number a tag can carry (every MPI allows tags up to 32767).
    static let maxFunctions = 32767 - taskBase
}

/// What a worker rank says when it starts: enough for rank 0 to refuse a different build and to
/// say where tasks ran.
struct WorkerHello: Codable, Equatable {
    /// The message protocol.
    var version: Int
    /// The executable's build id.
    var build: String
    var host: String
    var pid: Int32

    static let protocolVersion = 1
}

/// A function's number for one pool, and the task prefix that names it.
struct FunctionDefinition: Codable, Equatable {
    var number: Int
    var taskPrefix: [UInt8]
}
