import ClusterFuturesArguments
import ClusterFuturesWire
import Foundation
import Synchronization

/// What a worker process holds between tasks: the table each way put there, and how many times
/// each set-up ran in this process, which the tasks report.
enum WorkerTables {
    /// The table the initializer installed.
    static let installed = Mutex<PrimeTable?>(nil)
    /// How many times the initializer ran in this process.
    static let installs = Atomic<Int>(0)
    /// The tables read from files, by path: each file is read once per process.
    static let loaded = Mutex<[String: PrimeTable]>([:])
    /// How many times a table file was read in this process.
    static let loads = Atomic<Int>(0)

    /// The table at `path`, read from the file the first time this process asks for it.
    static func table(at path: String) throws -> PrimeTable {
        // Held while the file is read: concurrent first tasks read it once between them.
        try loaded.withLock { tables in
            if let table = tables[path] { return table }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw TableMissing(path: path, host: ProcessInfo.processInfo.hostName)
            }
            let table = try WireDecoder().decode(PrimeTable.self, from: [UInt8](data))
            tables[path] = table
            loads.add(1, ordering: .relaxed)
            return table
        }
    }
}

/// A table file a worker could not read: on a cluster, the path must be on a file system every
/// host shares.
struct TableMissing: Error, Codable, CustomStringConvertible {
    var path: String
    var host: String
    var description: String { "no table at \(path) on \(host): is it on a file system every host shares?" }
}

/// A task's answer, and how many times the set-up it used had run in its process by then.
struct Report: Codable, Sendable {
    /// Prime factors counted over the task's range.
    var count: Int
    /// The set-up runs in this process so far: 1 when it ran once per worker.
    var setUps: Int
}

/// The worker initializer: keeps the table sent with it for this process's tasks.
struct InstallTable: RemoteFunction {
    func callAsFunction(_ table: PrimeTable) -> Bool {
        WorkerTables.installed.withLock { $0 = table }
        WorkerTables.installs.add(1, ordering: .relaxed)
        return true
    }
}

/// Counts prime factors with the table the initializer installed.
struct CountWithInstalledTable: RemoteFunction {
    struct NotInstalled: Error, Codable, CustomStringConvertible {
        var description: String { "no table installed: the worker initializer did not run in this process" }
    }

    func callAsFunction(_ range: Range<Int>) throws(NotInstalled) -> Report {
        guard let table = WorkerTables.installed.withLock({ $0 }) else { throw NotInstalled() }
        return Report(count: table.primeFactorCount(in: range), setUps: WorkerTables.installs.load(ordering: .relaxed))
    }
}

/// Counts prime factors with the table in the file at ``path``, read once per process.
struct CountWithTableFile: RemoteFunction {
    /// Where the table is: on a cluster, a path every host sees (a shared file system).
    var path: String

    func callAsFunction(_ range: Range<Int>) throws -> Report {
        let table = try WorkerTables.table(at: path)
        return Report(count: table.primeFactorCount(in: range), setUps: WorkerTables.loads.load(ordering: .relaxed))
    }
}
