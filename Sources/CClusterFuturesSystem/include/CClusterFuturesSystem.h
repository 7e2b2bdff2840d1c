#ifndef CCLUSTERFUTURES_SYSTEM_H
#define CCLUSTERFUTURES_SYSTEM_H

// ClusterFutures is Linux only: the worker pool, the shared arenas and the build identity use
// memfd_create, eventfd, /proc and GNU build ids, which other systems lack.
#ifndef __linux__
#error "ClusterFutures runs on Linux only (it uses memfd, eventfd, /proc and GNU build ids); build it on Linux, or in a Linux container"
#endif

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/// The environment variable that makes a copy of the program a worker. Its value is read by the
/// worker's Swift entry point.
#define CF_WORKER_ENVIRONMENT_NAME "CLUSTERFUTURES_WORKER"

/// The descriptors a worker reads tasks from and writes results to.
#define CF_WORKER_INPUT_FD 3
#define CF_WORKER_OUTPUT_FD 4
/// The shared-memory arenas for large task and result payloads (absent when -1 was given).
#define CF_WORKER_TASK_ARENA_FD 5
#define CF_WORKER_RESULT_ARENA_FD 6

/// Starts `path` with `argv` and `envp`; in the child, `input_fd` becomes descriptor 3,
/// `output_fd` descriptor 4, the arenas 5 and 6, standard input reads /dev/null, standard output
/// is inherited, standard error is `error_fd` (inherited when it is -1), every signal has its
/// default action and none is blocked. Every descriptor above 6 is closed in the child (where
/// glibc has `posix_spawn_file_actions_addclosefrom_np`; elsewhere every other descriptor must
/// already be close-on-exec). The child's 3 to 6 are not close-on-exec: the worker marks them so
/// as it starts. Returns 0 and the pid, or an errno value.
int cf_spawn_worker(const char *path, char *const argv[], char *const envp[],
                    int input_fd, int output_fd, int task_arena_fd, int result_arena_fd, int error_fd,
                    pid_t *pid);

/// A descriptor for process `pid` (`pidfd_open`, Linux 5.3 and later), close-on-exec, readable
/// once the process has ended; -1 with errno (ENOSYS where the kernel or headers lack it).
int cf_pidfd_open(pid_t pid);

/// Sets close-on-exec on `fd`. Returns 0 or -1 with errno.
int cf_set_close_on_exec(int fd);

/// A close-on-exec memfd of `size` bytes, or -1 with errno.
int cf_memfd(const char *name, size_t size);

/// Maps `size` bytes of `fd` shared and read-write; NULL on failure.
void *cf_map_shared(int fd, size_t size);

/// The size of the file behind `fd`, or 0.
size_t cf_file_size(int fd);

/// Claims an arena whose first 4 bytes are its busy word: 0 → 1. Returns 1 when claimed.
int cf_arena_claim(void *arena);

/// Releases a claimed arena (busy word → 0), after its payload has been copied out.
void cf_arena_release(void *arena);

/// A worker claims task `sequence` before it starts it, in the claim word `word` it shares with
/// its pool: 1 when it may run it, 0 when the pool took it back (see `cf_task_revoke`).
int cf_task_claim(uint64_t *word, uint64_t sequence);

/// The pool takes back the tasks after `running` up to `through`, sent ahead to a worker busy with
/// `running`: 1 when none of them had started, and none will; 0 when the worker had moved on.
int cf_task_revoke(uint64_t *word, uint64_t running, uint64_t through);

/// Copies the GNU build id of the running executable into `buffer`; returns its length, or 0 when
/// the executable has none.
size_t cf_build_id(uint8_t *buffer, size_t capacity);

/// Writes the numbers of the CPUs the calling thread may run on (its affinity mask), lowest
/// first, into `cpus`, at most `capacity` of them; returns how many, or -1 when the mask cannot be
/// read.
int cf_affinity_cpus(int *cpus, int capacity);

/// Binds the calling thread, and the threads it starts from now on, to CPU `cpu`. Returns 0 or an
/// errno value.
int cf_bind_thread_to_cpu(int cpu);

/// Starts a detached thread that ends the process with `_exit(exit_code)` as soon as the write end
/// of the pipe whose read end is `fd` is closed everywhere, which is what happens when the parent
/// process dies, however it dies. Returns 0 or an errno value.
int cf_start_parent_watchdog(int fd, int exit_code);

/// For SIGINT and SIGTERM, where the program left the default action, installs a handler that writes
/// the signal's number as one byte to `signal_fd`, waits until `done_fd` reads end of file (at most
/// 3 s), then ends the process as the signal would have. Returns how many it installed.
int cf_forward_stop_signals(int signal_fd, int done_fd);

/// pipe2(fds, O_CLOEXEC). Returns 0 or -1 with errno.
int cf_pipe_cloexec(int fds[2]);

/// A non-blocking, close-on-exec eventfd, or -1 with errno.
int cf_eventfd(void);

/// Asks for a pipe buffer of `bytes`; returns the new size or -1 with errno.
int cf_set_pipe_size(int fd, int bytes);

/// Set to 0, turns `cf_keep_freed_memory` off.
#define CF_KEEP_FREED_MEMORY_ENVIRONMENT_NAME "CLUSTERFUTURES_KEEP_FREED_MEMORY"

/// Tells glibc's allocator to keep freed memory in the process (no trimming below 256 MiB free, no
/// per-allocation mmap for blocks under 64 MiB), so that repeated large messages do not fault in
/// fresh pages; unless the environment variable CLUSTERFUTURES_KEEP_FREED_MEMORY is 0.
void cf_keep_freed_memory(void);

/// Tells the CPU this thread is spinning (x86 `pause`, Arm `yield`): cheaper for the sibling
/// hyperthread and the memory bus than a bare loop, and no system call.
static inline void cf_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield");
#endif
}

/// Writes a message to standard error, unbuffered.
void cf_write_stderr(const char *message);

/// The conventional name of a signal ("SIGSEGV"), or NULL.
const char *cf_signal_name(int signal);

/// The width in columns of the terminal `fd` refers to (`ioctl` `TIOCGWINSZ`, which Swift cannot
/// call: `ioctl` is variadic), or 0 when `fd` is not a terminal or does not say.
int cf_terminal_columns(int fd);

/// How many bytes written to the pipe `fd` (either end) its reader has not read yet (`ioctl`
/// `FIONREAD`), or -1 when `fd` is not a pipe or does not say.
int cf_pipe_unread_bytes(int fd);

struct pollfd;

/// `ppoll` with a timeout in nanoseconds (negative: none). Returns as `poll` does.
int cf_poll_nanoseconds(struct pollfd *fds, unsigned long count, int64_t timeout_ns);

/// Makes fatal signals (SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGABRT, SIGFPE) write the message set by
/// `cf_set_crash_message`, if any, and the signal's name to standard error before the process dies
/// of the same signal.
void cf_install_crash_reporter(void);

/// The message a crash writes; the string must stay valid for as long as it is set (NULL: none).
void cf_set_crash_message(const char *message);

/// Starts this program (at `path`) again with `argv` and this process's environment plus
/// `extra_variable` (`NAME=value`), inheriting every descriptor not marked close-on-exec. Returns
/// the child's pid, or -1 with errno set.
pid_t cf_respawn_self(const char *path, char *const argv[], const char *extra_variable);

/// Becomes the supervisor of MPI worker rank `rank`, run by `child`, and never returns: passes stop
/// signals on to it, and exits as it does. If it is killed by SIGKILL (which the rank cannot catch
/// to report), writes a line saying so and waits `linger_seconds` before dying of the same signal,
/// so that the launcher, which ends the whole job when a process it started dies, leaves rank 0
/// time to say which task was lost.
void cf_supervise_rank(pid_t child, int rank, int linger_seconds) __attribute__((noreturn));

/// In a rank started by `cf_respawn_self`: dies with SIGKILL when `supervisor` does. Returns -1 if
/// the supervisor is gone already.
int cf_die_with_supervisor(pid_t supervisor);

/// Runs the MPI pool's start-up (ClusterFuturesMPI) if the program links it: in an MPI job's worker
/// ranks it serves tasks and never returns. Returns 1 if it ran (on rank 0, or outside MPI), 0 if
/// the program does not link it.
int cf_run_mpi_bootstrap(void);

#endif
