@_spi(ExecutorImplementation) @testable import ClusterFutures
import ClusterFuturesTestSupport
import Testing

/// The queue both pools keep of submitted work: first in, first out per executor, executors by turns.
@Suite("SubmissionQueue")
struct SubmissionQueueTests {
    init() throws { try TestFunctions.register() }

    /// A job squaring `x`, told apart by its future.
    private func job(_ x: Int) throws -> (Job, Future<Int>) {
        let made = try Job.single(Square(), x, registry: .shared)
        return (try #require(made.job), made.future)
    }

    /// Which of `futures` each job in `jobs` belongs to, by index.
    private func order(_ jobs: [Job], in all: [(Job, Future<Int>)]) -> [Int] {
        jobs.compactMap { job in all.firstIndex { $0.0 === job } }
    }

    @Test func executorsTakeTurnsAndEachIsFirstInFirstOut() throws {
        let a = SubmissionLane(), b = SubmissionLane()
        var queue = SubmissionQueue<SubmissionLane>()
        queue.add(a)
        queue.add(b)
        let jobs = try (0..<5).map(job)
        for index in [0, 1, 2] { queue.append(jobs[index].0, for: a) }
        for index in [3, 4] { queue.append(jobs[index].0, for: b) }
        #expect(queue.count == 5 && queue.counted.current == 5)
        var popped: [(Job, SubmissionLane)] = []
        while let next = queue.popNext() { popped.append(next) }
        #expect(order(popped.map(\.0), in: jobs) == [0, 3, 1, 4, 2], "a, b, a, b, then a's last")
        #expect(popped.map { $0.1 === a } == [true, false, true, false, true])
        #expect(queue.isEmpty && queue.counted.current == 0)
    }

    @Test func aBatchIsTakenByTurnsAsSinglePopsWouldBe() throws {
        let a = SubmissionLane(), b = SubmissionLane()
        var queue = SubmissionQueue(a)
        queue.add(b)
        let jobs = try (0..<5).map(job)
        for index in [0, 1, 2] { queue.append(jobs[index].0, for: a) }
        queue.append(jobs[3].0, for: b)
        var batch: [Job] = []
        queue.popBatch(upTo: 3, into: &batch)
        #expect(order(batch, in: jobs) == [0, 3, 1] && queue.count == 1 && queue.counted.current == 1)
        queue.append(jobs[4].0, for: b)
        #expect(queue.popNext()?.client === b, "the turns go on from where the batch stopped")
        batch.removeAll()
        queue.popBatch(upTo: 8, into: &batch)
        #expect(order(batch, in: jobs) == [2] && queue.isEmpty)
    }

    @Test func jobsPutBackGoFirstAndRemovalEmptiesOneLaneOrAll() throws {
        let a = SubmissionLane(), b = SubmissionLane()
        var queue = SubmissionQueue(a)
        queue.add(b)
        let jobs = try (0..<4).map(job)
        queue.append(jobs[0].0, for: a)
        queue.append(jobs[1].0, for: a)
        queue.append(jobs[2].0, for: b)
        let next = queue.popNext()
        let taken = try #require(next)
        #expect(taken.job === jobs[0].0)
        queue.putBack([taken.job, jobs[3].0], for: a)
        #expect(queue.count == 4)
        #expect(order(queue.removeAll(of: a), in: jobs) == [0, 3, 1], "put back at the front, in their order")
        #expect(queue.count == 1)
        let rest = queue.removeAll()
        #expect(rest.count == 1 && rest[0].job === jobs[2].0 && rest[0].client === b && queue.isEmpty)
    }

    @Test func aShutDownExecutorKeepsItsTurnUntilNothingIsQueued() throws {
        let a = SubmissionLane(), b = SubmissionLane()
        var queue = SubmissionQueue(a)
        queue.add(b)
        let jobs = try (0..<3).map(job)
        queue.append(jobs[0].0, for: a)
        queue.append(jobs[1].0, for: a)
        queue.shutDown(a)
        #expect(queue.isShutDown(a) && !queue.isShutDown(b))
        queue.append(jobs[2].0, for: b)
        var popped: [Job] = []
        while let next = queue.popNext() { popped.append(next.job) }
        #expect(order(popped, in: jobs) == [0, 2, 1], "its queued work still runs, by turns")
        #expect(queue.clients.count == 1 && queue.clients[0] === b, "once nothing was queued, it was forgotten")
        let c = SubmissionLane()
        queue.add(c)
        let later = try (0..<2).map { try job($0) }
        queue.append(later[0].0, for: b)
        queue.append(later[1].0, for: c)
        let first = queue.popNext(), second = queue.popNext()
        #expect(first?.client === b && second?.client === c, "b and c take turns")
    }
}
