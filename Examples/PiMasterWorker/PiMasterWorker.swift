import ArgumentParser
import ExampleSupport
import Foundation
import MPI

/// `cf-pi-master-worker`: the pi of `cf-pi`, written as the hand-written master/worker loop of
/// the MPI articles, over the MPI module alone. Rank 0 (the master) sends each worker rank a slice
/// index with the tag `work`; a worker sums that slice and sends the sum back with the tag
/// `result`; the master receives results from any source (`.any`, MPI's `ANY_SOURCE`) and sends
/// the rank that answered the next index, or `-1` to tell it to stop once every slice is done.
///
///     mpiexec -n 5 cf-pi-master-worker             # a master and 4 worker ranks
///     mpiexec -n 5 cf-pi-master-worker --slices 100 --terms 500000 --no-scaling
///     cf-pi-master-worker                          # alone: rank 0 sums every slice itself
///
/// After the run with every worker rank it runs again with only the first k worker ranks, for
/// k = 1...N-1 (the others wait for work that does not come), and prints the table of times.
@main
struct PiMasterWorker: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cf-pi-master-worker",
        abstract: "Pi by the alternating series, as a master/worker loop over the MPI module (run it under mpiexec).")

    @Option(help: "How many slices the series is cut into.")
    var slices = PiSeries.defaultSlices

    @Option(help: "Terms of the series in each slice.")
    var terms = PiSeries.defaultTerms

    @Flag(inversion: .prefixedNo, help: "Run again with the first 1...N-1 worker ranks and print the table.")
    var scaling = true

    /// The tag of a slice index (or the stop sign), master to worker.
    static let workTag = 1
    /// The tag of a slice's sum, worker to master.
    static let resultTag = 2
    /// The index that tells a worker to stop.
    static let stop = -1

    /// What a worker sends back: which slice, and its sum.
    struct SliceSum: Codable {
        var index: Int
        var sum: Double
    }

    func validate() throws {
        if let problem = PiSeries.problem(slices: slices, terms: terms) { throw ValidationError(problem) }
    }

    func run() throws {
        // Every rank parsed the same command line, so every worker knows `terms` already.
        try MPI.initialize(threadLevel: .single)
        let world = Communicator.world
        do {
            if world.rank == 0 {
                try master(world)
            } else {
                try worker(world)
            }
        } catch {
            // The other ranks may be waiting for this one: end the whole job rather than leave them.
            FileHandle.standardError.write(Data("cf-pi-master-worker: rank \(world.rank): \(error)\n".utf8))
            MPI.abort(1)
        }
        try MPI.finalize()
    }

    /// Rank 0: times the run with every worker rank, then with the first 1...N-1, and tells every
    /// worker to stop.
    func master(_ world: Communicator) throws {
        let workers = world.size - 1
        print("pi by the alternating series, master/worker over MPI: \(slices) slices of \(terms) terms, "
              + "\(workers) worker rank(s)")
        guard workers > 0 else {
            print("a world of 1 rank has no workers: rank 0 sums every slice itself (run under mpiexec -n N for N-1 worker ranks)")
            let start = MPI.wtime()
            let sums = (0..<slices).map { PiSeries.sliceSum(index: $0, terms: terms) }
            PiReport.printResult(pi: PiSeries.pi(fromSliceSums: sums), slices: slices, terms: terms,
                                 seconds: MPI.wtime() - start, workers: "rank 0 alone")
            return
        }
        let (pi, seconds) = try round(workers: workers, world)
        PiReport.printResult(pi: pi, slices: slices, terms: terms, seconds: seconds, workers: "\(workers) worker rank(s)")
        if scaling {
            var times = try (1..<workers).map { try round(workers: $0, world).seconds }
            times.append(seconds)
            PiReport.printTable(seconds: times, caption: "scaling (each row hands slices to worker ranks 1...k only):")
        }
        for rank in 1...workers {
            try world.send(Self.stop, to: rank, tag: Self.workTag)
        }
    }

    /// One whole sum with worker ranks `1...k`: each gets a slice, and whichever answers first gets
    /// the next. Returns pi and the seconds taken.
    func round(workers k: Int, _ world: Communicator) throws -> (pi: Double, seconds: Double) {
        let start = MPI.wtime()
        var sums = [Double](repeating: 0, count: slices)
        var next = 0
        var outstanding = 0
        for rank in 1...k where next < slices {
            try world.send(next, to: rank, tag: Self.workTag)
            next += 1
            outstanding += 1
        }
        while outstanding > 0 {
            var status = Status()
            let result: SliceSum = try Self.receive(from: .any, tag: Self.resultTag, status: &status, world)
            sums[result.index] = result.sum
            outstanding -= 1
            if next < slices {
                try world.send(next, to: status.source, tag: Self.workTag)
                next += 1
                outstanding += 1
            }
        }
        return (PiSeries.pi(fromSliceSums: sums), MPI.wtime() - start)
    }

    /// Ranks 1...N-1: sum the slice each index names until the index is the stop sign.
    func worker(_ world: Communicator) throws {
        var status = Status()
        while true {
            let index: Int = try Self.receive(from: .rank(0), tag: Self.workTag, status: &status, world)
            if index == Self.stop { return }
            try world.send(SliceSum(index: index, sum: PiSeries.sliceSum(index: index, terms: terms)), to: 0, tag: Self.resultTag)
        }
    }

    /// Receives a value as `world.receive(from:tag:status:)` does, but waits for it by probing with
    /// short sleeps in between: MPICH's blocking receive keeps a core busy while it waits, which on
    /// a machine with fewer cores than ranks takes that core from the workers (and a worker rank
    /// left out of a round would spin through it).
    static func receive<T: Decodable>(from source: Source, tag: Int, status: inout Status, _ world: Communicator) throws -> T {
        var pause: UInt32 = 0
        while try world.iprobe(from: source, tag: tag) == nil {
            if pause > 0 { usleep(pause) }
            pause = min(max(2 * pause, 10), 250)
        }
        return try world.receive(T.self, from: source, tag: tag, status: &status)
    }
}
