#if OpenMPI && !MPICH
internal import COpenMPI
#else
internal import CMPICH
#endif

// The package traits MPICH (the default) and OpenMPI pick the MPI the module is built against;
// each makes the target depend on a module map of its own (both name the module CMPICH, over the
// one shim header), so exactly one must be enabled: a build with both fails on the module map
// defined twice. Code for Open MPI is compiled only when MPICH is not enabled (`OpenMPI && !MPICH`):
// SwiftPM sets every trait's condition when it builds symbol graphs for documentation
// (`swift package --traits MPICH generate-documentation`), while the module map it gives is the
// enabled trait's, MPICH's.
#if !MPICH && !OpenMPI
#error("Enable one MPI: the trait MPICH (the default) or OpenMPI")
#endif

#if OpenMPI && !MPICH
/// An MPI handle (`MPI_Comm`, `MPI_Datatype`, `MPI_Request`, ...) as this module stores it and
/// passes it to MPI by address.
///
/// Open MPI's handles are pointers to its objects, and Swift imports a C out-parameter such as
/// `MPI_Comm *` as a pointer to an optional (`UnsafeMutablePointer<MPI_Comm?>`), and a handle
/// returned by a shim accessor as an implicitly unwrapped optional; MPICH's handles are `int`s,
/// imported as they are. A variable or stored property typed `MPIHandle<MPI_Comm>` is the one
/// spelling whose address both accept, so the same line compiles against either MPI. Handles are
/// only ever compared with `==`.
internal typealias MPIHandle<Handle> = Handle?
#else
/// An MPI handle (`MPI_Comm`, `MPI_Datatype`, `MPI_Request`, ...) as this module stores it and
/// passes it to MPI by address: under MPICH, the handle type itself (an `int`); under Open MPI, an
/// optional pointer (see the `OpenMPI` branch of this file).
internal typealias MPIHandle<Handle> = Handle
#endif

extension MPI {
    /// An MPI implementation the module can be built against.
    public enum Implementation: String, Sendable, Hashable, CustomStringConvertible {
        /// MPICH (Hydra's `mpiexec`): the package trait `MPICH`, the default.
        case mpich = "MPICH"
        /// Open MPI (ORTE's `mpiexec`/`mpirun`): the package trait `OpenMPI`.
        case openMPI = "Open MPI"

        /// `"MPICH"` or `"Open MPI"`.
        public var description: String { rawValue }
    }

    /// The MPI this module was built against, picked by the package trait (`MPICH`, the default, or
    /// `OpenMPI`). ``libraryVersion`` says which version runs. (mpi4py has no counterpart;
    /// `MPI.Get_library_version()` is the nearest.)
    public static var implementation: Implementation {
        #if OpenMPI && !MPICH
        .openMPI
        #else
        .mpich
        #endif
    }
}
