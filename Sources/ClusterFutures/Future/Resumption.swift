import Synchronization

/// Resumes a continuation exactly once, whichever of completion and cancellation comes first, and
/// whether or not the continuation has been installed yet.
final class Resumption: Sendable {
    private enum State {
        case idle
        case installed(CheckedContinuation<Void, any Error>)
        case resolved(Result<Void, any Error>)
        case done
    }

    private let state = Mutex<State>(.idle)

    func install(_ continuation: CheckedContinuation<Void, any Error>) {
        let early: Result<Void, any Error>? = state.withLock { state in
            switch state {
            case .resolved(let result):
                state = .done
                return result
            case .idle:
                state = .installed(continuation)
                return nil
            case .installed, .done:
                return nil
            }
        }
        if let early { continuation.resume(with: early) }
    }

    func resume(with result: Result<Void, any Error>) {
        let continuation: CheckedContinuation<Void, any Error>? = state.withLock { state in
            switch state {
            case .idle:
                state = .resolved(result)
                return nil
            case .installed(let continuation):
                state = .done
                return continuation
            case .resolved, .done:
                return nil
            }
        }
        continuation?.resume(with: result)
    }
}
