#if OpenMPI && !MPICH
internal import COpenMPI
#else
internal import CMPICH
#endif

/// An error reported by an MPI call, or a misuse of this module detected before MPI was called.
///
/// Every communicator this module hands out uses `MPI_ERRORS_RETURN`, so a failing call comes back
/// as this error instead of aborting the job.
public struct MPIError: Error, CustomStringConvertible, Sendable {
    /// The error code the MPI function returned (`MPI_SUCCESS` never appears here).
    public let code: Int32
    /// The error class of `code` (`MPI_Error_class`), comparable with ``MPIError/Class``.
    public let errorClass: Int32
    /// The MPI function (or Swift method) that failed, such as `MPI_Send`.
    public let function: String
    /// The text MPI gives for `code` (`MPI_Error_string`), or this module's explanation.
    public let message: String

    /// A readable one-line description: the function, the message and the codes.
    public var description: String {
        "\(function) failed: \(message) (MPI error code \(code), class \(errorClass))"
    }

    /// An error for a code returned by `function`, with MPI's own text for it.
    internal init(code: Int32, function: String) {
        self.code = code
        self.function = function
        var errorClass: Int32 = 0
        if MPI_Error_class(code, &errorClass) != cmpich_success() { errorClass = code }
        self.errorClass = errorClass
        var buffer = [CChar](repeating: 0, count: Int(cmpich_max_error_string()) + 1)
        var length: Int32 = 0
        if MPI_Error_string(code, &buffer, &length) == cmpich_success() {
            let bytes = buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }
            self.message = String(decoding: bytes, as: UTF8.self)
        } else {
            self.message = "unknown MPI error"
        }
    }

    /// An error this module detects itself, given the error class it belongs to.
    internal init(errorClass: Int32, function: String, message: String) {
        self.code = errorClass
        self.errorClass = errorClass
        self.function = function
        self.message = message
    }

    /// Names for the error classes callers most often want to tell apart.
    public enum Class {
        /// `MPI_ERR_RANK`: a rank outside the communicator.
        public static var rank: Int32 { cmpich_err_rank() }
        /// `MPI_ERR_TAG`: a negative or too large tag.
        public static var tag: Int32 { cmpich_err_tag() }
        /// `MPI_ERR_COUNT`: a count that MPI cannot express (or a message too large for this call).
        public static var count: Int32 { cmpich_err_count() }
        /// `MPI_ERR_TRUNCATE`: a message longer than the receive buffer.
        public static var truncate: Int32 { cmpich_err_truncate() }
        /// `MPI_ERR_ARG`: an invalid argument.
        public static var argument: Int32 { cmpich_err_arg() }
        /// `MPI_ERR_COMM`: an invalid communicator.
        public static var communicator: Int32 { cmpich_err_comm() }
        /// `MPI_ERR_REQUEST`: an invalid request.
        public static var request: Int32 { cmpich_err_request() }
        /// `MPI_ERR_OTHER`: anything else.
        public static var other: Int32 { cmpich_err_other() }
    }
}

/// Calls one MPI function and turns a failing return code into ``MPIError``.
///
/// Every MPI call in this module goes through here. Unless `anyTime` is set (for the few functions
/// MPI allows before initialization or after finalization), it first checks that MPI is running:
/// MPICH aborts the process, whatever the error handler, when called at the wrong time. Once MPI
/// was seen running, the check is one atomic load until ``MPI/finalize()`` (a polling loop makes
/// millions of calls).
@inline(__always)
internal func mpiCall(_ function: StaticString, anyTime: Bool = false, _ call: () -> Int32) throws(MPIError) {
    if !anyTime && !MPI.isKnownRunning.load(ordering: .acquiring) {
        try MPI.checkRunning(function)
    }
    let code = call()
    if code != cmpich_success() {
        throw MPIError(code: code, function: "\(function)")
    }
}
