/// Where a ``Future`` is in its life.
///
/// `pending` → `running` → `finished`, or `pending` → `cancelled`. A future becomes `running` when it
/// is handed to whatever runs it (a worker, or the caller for the inline executor), not when the
/// function starts.
public enum FutureState: Sendable, Hashable, CustomStringConvertible {
    /// Submitted, not yet handed to a worker. Only a pending future can be cancelled.
    case pending
    /// Handed to a worker; it will finish.
    case running
    /// Finished with a value or an error.
    case finished
    /// Cancelled before it ran; it never will.
    case cancelled

    /// The state's name: `pending`, `running`, `finished` or `cancelled`.
    public var description: String {
        switch self {
        case .pending: "pending"
        case .running: "running"
        case .finished: "finished"
        case .cancelled: "cancelled"
        }
    }
}
