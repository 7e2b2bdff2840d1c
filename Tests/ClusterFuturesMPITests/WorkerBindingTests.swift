@testable import ClusterFuturesMPI
import Testing

/// Where worker ranks are bound, decided without launching anything.
@Suite("WorkerBinding")
struct WorkerBindingTests {
    @Test("one CPU each, the highest ones, when the host has a CPU for every worker rank on it")
    func oneEach() {
        let binding = WorkerBinding.automatic
        // mpiexec -n 3 on 2 CPUs: both workers bound, rank 0 left to share.
        #expect((0..<2).map { binding.cpu(forWorker: $0, of: 2, usable: [0, 1], online: 2) } == [0, 1])
        // 2 workers on 4 CPUs: CPUs 2 and 3, leaving 0 and 1 for rank 0 and the rest.
        #expect((0..<2).map { binding.cpu(forWorker: $0, of: 2, usable: [0, 1, 2, 3], online: 4) } == [2, 3])
        // A host without rank 0: as many workers as CPUs.
        #expect((0..<4).map { binding.cpu(forWorker: $0, of: 4, usable: [0, 1, 2, 3], online: 4) } == [0, 1, 2, 3])
    }

    @Test("left unbound: more worker ranks than CPUs, a mask the launcher narrowed, or none asked")
    func leftAlone() {
        #expect(WorkerBinding.automatic.cpu(forWorker: 0, of: 3, usable: [0, 1], online: 2) == nil)
        #expect(WorkerBinding.automatic.cpu(forWorker: 0, of: 1, usable: [3], online: 4) == nil)
        #expect(WorkerBinding.automatic.cpu(forWorker: 0, of: 1, usable: [], online: 0) == nil)
        #expect(WorkerBinding.none.cpu(forWorker: 0, of: 1, usable: [0, 1], online: 2) == nil)
        #expect(WorkerBinding.automatic.cpu(forWorker: 2, of: 2, usable: [0, 1], online: 2) == nil)
    }
}
