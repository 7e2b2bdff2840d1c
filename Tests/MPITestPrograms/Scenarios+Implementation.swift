import MPI

/// The MPI the program was built against (package trait `MPICH` or `OpenMPI`) is the one that runs
/// and that started it: `MPI.implementation` agrees with `MPI_Get_library_version`, and every rank
/// sees the world the launcher made (a mismatched `mpiexec` would make each a world of one).
func implementation(_ world: Communicator) throws {
    let version = MPI.libraryVersion
    switch MPI.implementation {
    case .mpich:
        try expect(version.hasPrefix("MPICH Version:"), "built against MPICH, but the library says: \(version.prefix(80))")
    case .openMPI:
        try expect(version.hasPrefix("Open MPI v"), "built against Open MPI, but the library says: \(version.prefix(80))")
    }
    try expect(MPI.implementation.description == MPI.implementation.rawValue, "description")
    // Every rank reports the same implementation, and the world has more than one rank when the
    // launcher started more: the sum of ones is the size.
    let ones = try world.allReduce(1, op: .sum)
    try expect(ones == world.size, "allreduce of ones: \(ones), size \(world.size)")
}

/// The scenario of this file, merged into `scenarios` in main.swift (computed: a global `let` of
/// closures is not `Sendable`).
var implementationScenarios: [String: (Communicator) throws -> Void] { [
    "implementation": implementation,
] }
