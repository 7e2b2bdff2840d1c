#if OpenMPI && !MPICH
internal import COpenMPI
#else
internal import CMPICH
#endif

extension Request {
    /// The statuses of all the requests if every one has completed, else nil, without waiting
    /// (mpi4py's `Request.Testall`, `MPI_Testall`). Requests found complete stay complete, as in MPI.
    public static func testAll(_ requests: [Request]) throws -> [Status]? {
        var statuses: [Status] = []
        statuses.reserveCapacity(requests.count)
        var all = true
        for request in requests {
            if let status = try request.test() {
                statuses.append(status)
            } else {
                all = false
            }
        }
        return all ? statuses : nil
    }

    /// The index and status of one of the requests that had not completed before this call, if one
    /// has completed now, else nil, without waiting (mpi4py's `Request.Testany`, `MPI_Testany`).
    ///
    /// Requests already reported complete are skipped, as MPI skips null requests.
    /// - Throws: ``MPIError`` (class ``MPIError/Class/request``) if every request had completed.
    public static func testAny(_ requests: [Request]) throws -> (index: Int, status: Status)? {
        let pending = try pendingIndices(requests, "Request.testAny")
        for index in pending {
            if let status = try requests[index].test() { return (index, status) }
        }
        return nil
    }

    /// Waits until at least one of the requests that had not completed before this call completes,
    /// and returns the indices and statuses of all of those that have, in index order (mpi4py's
    /// `Request.Waitsome`, `MPI_Waitsome`).
    ///
    /// - Throws: ``MPIError`` (class ``MPIError/Class/request``) if every request had completed
    ///   (where MPI returns `MPI_UNDEFINED`).
    public static func waitSome(_ requests: [Request]) throws -> [(index: Int, status: Status)] {
        let pending = try pendingIndices(requests, "Request.waitSome")
        var backoff = Backoff()
        while true {
            let done = try completed(requests, among: pending)
            if !done.isEmpty { return done }
            backoff.pause()
        }
    }

    /// The indices and statuses of the requests, among those that had not completed before this
    /// call, that have completed now, in index order; empty if none has, without waiting (mpi4py's
    /// `Request.Testsome`, `MPI_Testsome`).
    ///
    /// - Throws: ``MPIError`` (class ``MPIError/Class/request``) if every request had completed.
    public static func testSome(_ requests: [Request]) throws -> [(index: Int, status: Status)] {
        try completed(requests, among: pendingIndices(requests, "Request.testSome"))
    }

    /// The indices of the requests not yet known to be complete; throws if there are none.
    private static func pendingIndices(_ requests: [Request], _ function: String) throws -> [Int] {
        let pending = requests.indices.filter { !requests[$0].isComplete }
        guard !pending.isEmpty else {
            throw MPIError(errorClass: cmpich_err_request(), function: function,
                           message: "every request has already completed")
        }
        return pending
    }

    /// Tests each request of `pending` once; returns those complete.
    private static func completed(_ requests: [Request], among pending: [Int]) throws -> [(index: Int, status: Status)] {
        var done: [(index: Int, status: Status)] = []
        for index in pending {
            if let status = try requests[index].test() { done.append((index, status)) }
        }
        return done
    }
}
