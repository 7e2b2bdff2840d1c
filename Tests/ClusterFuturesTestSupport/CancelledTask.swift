/// What `body` throws when it starts in a Swift task that is already cancelled; nil when it throws
/// nothing. For tests of how waiting calls treat a cancelled task.
public func errorInACancelledTask(_ body: @escaping @Sendable () async throws -> Void) async -> (any Error)? {
    let task = Task { () async -> (any Error)? in
        while !Task.isCancelled { await Task.yield() }
        do {
            try await body()
            return nil
        } catch {
            return error
        }
    }
    task.cancel()
    return await task.value
}
