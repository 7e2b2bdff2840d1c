// The few lines of C Swift needs to use MPI: the MPI header, and accessors for the constants Swift
// cannot import. MPICH writes its handles as macros cast to a typedef (`(MPI_Op)0x58000003`) and
// some constants as pointers (`MPI_IN_PLACE`, `MPI_STATUS_IGNORE`); Swift imports neither form.
// Every constant the Swift module uses goes through an accessor here, so the Swift side does not
// depend on which of them a particular MPI happens to write as a plain integer.
#ifndef CMPICH_SHIM_H
#define CMPICH_SHIM_H

#include <mpi.h>

// Communicators and error handlers.
static inline MPI_Comm cmpich_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Comm cmpich_comm_self(void) { return MPI_COMM_SELF; }
static inline MPI_Comm cmpich_comm_null(void) { return MPI_COMM_NULL; }
static inline MPI_Errhandler cmpich_errors_return(void) { return MPI_ERRORS_RETURN; }

// Special values.
static inline int cmpich_any_source(void) { return MPI_ANY_SOURCE; }
static inline int cmpich_any_tag(void) { return MPI_ANY_TAG; }
static inline int cmpich_proc_null(void) { return MPI_PROC_NULL; }
static inline int cmpich_undefined(void) { return MPI_UNDEFINED; }
static inline int cmpich_success(void) { return MPI_SUCCESS; }
static inline MPI_Request cmpich_request_null(void) { return MPI_REQUEST_NULL; }
static inline MPI_Message cmpich_message_null(void) { return MPI_MESSAGE_NULL; }
static inline MPI_Datatype cmpich_datatype_null(void) { return MPI_DATATYPE_NULL; }
static inline void *cmpich_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Status *cmpich_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline int cmpich_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
static inline int cmpich_max_processor_name(void) { return MPI_MAX_PROCESSOR_NAME; }
static inline int cmpich_max_library_version_string(void) { return MPI_MAX_LIBRARY_VERSION_STRING; }
static inline MPI_Info cmpich_info_null(void) { return MPI_INFO_NULL; }

// Split types.
static inline int cmpich_comm_type_shared(void) { return MPI_COMM_TYPE_SHARED; }

// Thread levels.
static inline int cmpich_thread_single(void) { return MPI_THREAD_SINGLE; }
static inline int cmpich_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
static inline int cmpich_thread_serialized(void) { return MPI_THREAD_SERIALIZED; }
static inline int cmpich_thread_multiple(void) { return MPI_THREAD_MULTIPLE; }

// Error classes.
static inline int cmpich_err_rank(void) { return MPI_ERR_RANK; }
static inline int cmpich_err_tag(void) { return MPI_ERR_TAG; }
static inline int cmpich_err_count(void) { return MPI_ERR_COUNT; }
static inline int cmpich_err_truncate(void) { return MPI_ERR_TRUNCATE; }
static inline int cmpich_err_arg(void) { return MPI_ERR_ARG; }
static inline int cmpich_err_comm(void) { return MPI_ERR_COMM; }
static inline int cmpich_err_request(void) { return MPI_ERR_REQUEST; }
static inline int cmpich_err_other(void) { return MPI_ERR_OTHER; }

// Datatypes.
static inline MPI_Datatype cmpich_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype cmpich_int8(void) { return MPI_INT8_T; }
static inline MPI_Datatype cmpich_int16(void) { return MPI_INT16_T; }
static inline MPI_Datatype cmpich_int32(void) { return MPI_INT32_T; }
static inline MPI_Datatype cmpich_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype cmpich_uint8(void) { return MPI_UINT8_T; }
static inline MPI_Datatype cmpich_uint16(void) { return MPI_UINT16_T; }
static inline MPI_Datatype cmpich_uint32(void) { return MPI_UINT32_T; }
static inline MPI_Datatype cmpich_uint64(void) { return MPI_UINT64_T; }
static inline MPI_Datatype cmpich_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype cmpich_double(void) { return MPI_DOUBLE; }

// Reduction operations.
static inline MPI_Op cmpich_op_sum(void) { return MPI_SUM; }
static inline MPI_Op cmpich_op_prod(void) { return MPI_PROD; }
static inline MPI_Op cmpich_op_min(void) { return MPI_MIN; }
static inline MPI_Op cmpich_op_max(void) { return MPI_MAX; }

// Collectives, datatypes, reductions and communicators.
static inline MPI_Op cmpich_op_land(void) { return MPI_LAND; }
static inline MPI_Op cmpich_op_lor(void) { return MPI_LOR; }
static inline MPI_Op cmpich_op_lxor(void) { return MPI_LXOR; }
static inline MPI_Op cmpich_op_band(void) { return MPI_BAND; }
static inline MPI_Op cmpich_op_bor(void) { return MPI_BOR; }
static inline MPI_Op cmpich_op_bxor(void) { return MPI_BXOR; }
static inline MPI_Op cmpich_op_maxloc(void) { return MPI_MAXLOC; }
static inline MPI_Op cmpich_op_minloc(void) { return MPI_MINLOC; }
static inline MPI_Op cmpich_op_null(void) { return MPI_OP_NULL; }
static inline MPI_Datatype cmpich_c_bool(void) { return MPI_C_BOOL; }
static inline MPI_Datatype cmpich_c_float_complex(void) { return MPI_C_FLOAT_COMPLEX; }
static inline MPI_Datatype cmpich_c_double_complex(void) { return MPI_C_DOUBLE_COMPLEX; }
static inline MPI_Datatype cmpich_2int(void) { return MPI_2INT; }
static inline MPI_Datatype cmpich_float_int(void) { return MPI_FLOAT_INT; }
static inline MPI_Datatype cmpich_double_int(void) { return MPI_DOUBLE_INT; }
static inline MPI_Datatype cmpich_long_int(void) { return MPI_LONG_INT; }
static inline MPI_Group cmpich_group_null(void) { return MPI_GROUP_NULL; }
static inline MPI_Group cmpich_group_empty(void) { return MPI_GROUP_EMPTY; }
static inline int cmpich_ident(void) { return MPI_IDENT; }
static inline int cmpich_congruent(void) { return MPI_CONGRUENT; }
static inline int cmpich_similar(void) { return MPI_SIMILAR; }
static inline int cmpich_unequal(void) { return MPI_UNEQUAL; }
static inline int cmpich_cart(void) { return MPI_CART; }

// Point-to-point: buffered sends.
static inline int cmpich_bsend_overhead(void) { return MPI_BSEND_OVERHEAD; }
static inline int cmpich_err_buffer(void) { return MPI_ERR_BUFFER; }

#endif
