@_spi(ExecutorImplementation) import ClusterFutures
import Testing

/// The life of a pool (``PoolPhase``), which both pools keep: when it takes work, what a refused
/// submit is told, and that it breaks once, for the first reason.
@Suite("PoolPhase")
struct PoolPhaseTests {
    private let stopped = ClusterFuturesError(.executorShutDown, "shut down")

    @Test func aRunningPoolTakesWorkAndRefusesNothing() {
        let phase = PoolPhase()
        #expect(phase.takesWork)
        #expect(phase.stage == .running)
        #expect(phase.refusal(stopped: stopped) == nil)
        #expect(phase.terminatedBy == nil)
    }

    @Test func aDrainingPoolRefusesWithTheStoppedError() {
        var phase = PoolPhase()
        phase.drain()
        #expect(!phase.takesWork)
        #expect(phase.stage == .draining)
        #expect(phase.refusal(stopped: stopped)?.code == .executorShutDown)
    }

    @Test func terminationKeepsTheFirstRequestAndDrainingNeverUndoesIt() {
        var phase = PoolPhase()
        phase.drain()
        phase.terminate(signal: 9, by: "killWorkers()")
        phase.terminate(signal: 15, by: "SIGTERM")
        phase.drain()
        #expect(phase.terminatedBy?.signal == 9)
        #expect(phase.terminatedBy?.caller == "killWorkers()")
        #expect(phase.stage == .terminating(signal: 9, by: "killWorkers()"))
    }

    @Test func thePoolBreaksOnceForTheFirstReasonWhichEveryRefusalGives() {
        var phase = PoolPhase()
        let first = ClusterFuturesError(.brokenExecutor, "first")
        let wasFirst = phase.breakDown(first)
        let secondWasFirst = phase.breakDown(ClusterFuturesError(.brokenExecutor, "second"))
        #expect(wasFirst, "the first reason is the one to log")
        #expect(!secondWasFirst)
        #expect(phase.broken?.message == "first")
        #expect(!phase.takesWork, "a broken pool takes no work, though its stage is still running")
        #expect(phase.refusal(stopped: stopped)?.message == "first")
        phase.drain()
        #expect(phase.refusal(stopped: stopped)?.message == "first", "broken comes before shut down")
    }

    @Test func theStoppedErrorIsMadeOnlyWhenARefusalNeedsIt() {
        var made = 0
        func error() -> ClusterFuturesError {
            made += 1
            return stopped
        }
        var phase = PoolPhase()
        _ = phase.refusal(stopped: error())
        #expect(made == 0)
        phase.drain()
        _ = phase.refusal(stopped: error())
        #expect(made == 1)
    }
}
