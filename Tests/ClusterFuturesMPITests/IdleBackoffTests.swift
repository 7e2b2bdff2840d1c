@testable import ClusterFuturesMPI
import Testing

/// How the MPI pool's rank 0 paces its polls (``IdleBackoff``): a spin after activity while an
/// answer may come at once, and steady sleeps sized to the tasks while every worker runs a long one.
@Suite("IdleBackoff")
struct IdleBackoffTests {
    private func backoff() -> IdleBackoff {
        IdleBackoff(spin: .milliseconds(100), maxSleep: .milliseconds(2))
    }

    @Test func afterActivityItSpinsThenSleepsInDoublingSteps() {
        var backoff = backoff()
        backoff.reset()
        #expect(backoff.nextSleep() == nil, "within the spin: poll again")
        backoff.spin = .zero
        #expect(backoff.nextSleep() == .microseconds(20))
        #expect(backoff.nextSleep() == .microseconds(40))
        #expect(backoff.nextSleep() == .microseconds(80))
    }

    @Test func anAnswerExpectedAtOnceIsSpunFor() {
        var backoff = backoff()
        backoff.reset(expectingAnswerIn: nil)
        #expect(backoff.nextSleep() == nil)
    }

    @Test func aLongAnswerIsPolledForEveryHalfOfItWithoutSpinningOrDoubling() {
        var backoff = backoff()
        backoff.reset(expectingAnswerIn: .microseconds(1200))
        #expect(backoff.nextSleep() == .microseconds(600), "no spin: half the expected wait")
        #expect(backoff.nextSleep() == .microseconds(600), "and the same again, not doubled")
        backoff.reset(expectingAnswerIn: .milliseconds(6))
        #expect(backoff.nextSleep() == .milliseconds(3), "longer than maxSleep for long tasks")
        backoff.reset(expectingAnswerIn: .seconds(1))
        #expect(backoff.nextSleep() == .milliseconds(5), "at most steadyCeiling")
        backoff.reset(expectingAnswerIn: .microseconds(10))
        #expect(backoff.nextSleep() == .microseconds(20), "at least minSleep")
        backoff.reset()
        #expect(backoff.nextSleep() == nil, "activity with a quick answer in sight: spinning again")
    }
}
