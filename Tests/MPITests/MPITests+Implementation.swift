import ClusterFuturesTestSupport
import Testing

extension MPIScenarioTests {
    @Test("the MPI the programs were built against (MPICH or Open MPI) is the one that runs, under its own mpiexec",
          arguments: [1, 2, 4])
    func implementationMatchesTheBuild(processes: Int) async throws {
        try await expectSuccess(processes, "implementation")
        let launcher = try MPIRunner.mpiexec()
        #expect(launcher.hasSuffix(MPIRunner.isOpenMPI ? "mpiexec.openmpi" : "mpiexec.mpich") || launcher.hasSuffix("/mpiexec"),
                "launcher \(launcher)")
    }
}
