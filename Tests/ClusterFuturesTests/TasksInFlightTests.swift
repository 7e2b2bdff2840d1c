@_spi(ExecutorImplementation) import ClusterFutures
import Testing

/// The ledger both pools keep per worker: what becomes of its tasks when it answers, when what was
/// sent ahead is taken back, and when it is lost.
@Suite("TasksInFlight")
struct TasksInFlightTests {
    private let start = ContinuousClock.now

    private func ledger(sending ids: [UInt64], reclaimable: Bool = true) -> TasksInFlight<String> {
        let tasks = TasksInFlight<String>(windowLimit: 8, reclaimable: reclaimable)
        for id in ids { tasks.sent("task \(id)", id: id, at: start) }
        return tasks
    }

    @Test func answersComeOldestFirstAndSizeTheWindow() throws {
        let tasks = ledger(sending: [1, 2, 3])
        #expect(tasks.window.size == 2, "two to start with, when what is sent ahead can be taken back")
        #expect(ledger(sending: [], reclaimable: false).window.size == 1)
        let answer = tasks.answered(at: start + .microseconds(50))
        let first = try #require(answer)
        #expect(first.entry.task == "task 1" && first.took == .microseconds(50))
        #expect(tasks.window.size == 3, "a quick task widens the window")
        // The second started when the first was answered, not when it was sent.
        let later = tasks.answered(at: start + .milliseconds(5))
        let second = try #require(later)
        #expect(second.entry.id == 2 && second.took == .milliseconds(5) - .microseconds(50))
        #expect(tasks.window.size == 2 && tasks.window.lastDuration == second.took, "a long one brings it back")
        #expect(tasks.running?.id == 3)
        _ = tasks.answered(at: start + .milliseconds(6))
        let none = tasks.answered(at: start + .milliseconds(7))
        #expect(none == nil, "an answer to nothing is the pool's to report")
    }

    @Test func takingBackRemovesOnlyTheNamedTasksAfterTheRunningOne() {
        let tasks = ledger(sending: [4, 5, 6])
        #expect(ledger(sending: [4]).reclaimRange == nil, "nothing sent ahead")
        let range = tasks.reclaimRange
        #expect(range?.running == 4 && range?.through == 6)
        tasks.sent("task 7", id: 7, at: start)
        let taken = tasks.takeBack(after: 4, through: 6)
        #expect(taken.map(\.id) == [5, 6])
        #expect(tasks.entries.map(\.id) == [4, 7], "the running task stays, and one sent after the request")
        #expect(tasks.takeBack(after: 4, through: 6).isEmpty)
    }

    @Test func aLostWorkerFailsOnlyTheTaskItRanAndGivesUpTheRest() {
        let tasks = ledger(sending: [1, 2, 3])
        let lost = tasks.lost()
        #expect(lost.running?.id == 1 && lost.unstarted.map(\.id) == [2, 3] && tasks.isEmpty)

        let between = ledger(sending: [8, 9])
        let idle = between.lost(wasRunning: false)
        #expect(idle.running == nil && idle.unstarted.map(\.id) == [8, 9], "between tasks: none had started")

        let broken = ledger(sending: [1, 2])
        #expect(broken.removeAll().map(\.id) == [1, 2] && broken.isEmpty)
    }
}
