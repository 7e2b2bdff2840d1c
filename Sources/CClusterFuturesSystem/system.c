#define _GNU_SOURCE
#include "CClusterFuturesSystem.h"

#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int cf_spawn_worker(const char *path, char *const argv[], char *const envp[],
                    int input_fd, int output_fd, int task_arena_fd, int result_arena_fd, int error_fd,
                    pid_t *pid) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    int error = posix_spawn_file_actions_init(&actions);
    if (error) return error;
    error = posix_spawnattr_init(&attributes);
    if (error) {
        posix_spawn_file_actions_destroy(&actions);
        return error;
    }
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    // dup2 onto the fixed numbers clears close-on-exec there. All sources first move to numbers
    // above every descriptor involved, so that no dup2 can clobber another's source.
    int spare = (input_fd > output_fd ? input_fd : output_fd);
    if (task_arena_fd > spare) spare = task_arena_fd;
    if (result_arena_fd > spare) spare = result_arena_fd;
    if (error_fd > spare) spare = error_fd;
    if (spare < CF_WORKER_RESULT_ARENA_FD) spare = CF_WORKER_RESULT_ARENA_FD;
    int spare_input = spare + 1, spare_output = spare + 2, spare_tasks = spare + 3, spare_results = spare + 4;
    int spare_error = spare + 5;
    int arenas = task_arena_fd >= 0 && result_arena_fd >= 0;
    if (!error) error = posix_spawn_file_actions_adddup2(&actions, input_fd, spare_input);
    if (!error) error = posix_spawn_file_actions_adddup2(&actions, output_fd, spare_output);
    if (!error && arenas) error = posix_spawn_file_actions_adddup2(&actions, task_arena_fd, spare_tasks);
    if (!error && arenas) error = posix_spawn_file_actions_adddup2(&actions, result_arena_fd, spare_results);
    if (!error && error_fd >= 0) error = posix_spawn_file_actions_adddup2(&actions, error_fd, spare_error);
    // Only now, with every source moved away: one of them may be descriptor 0.
    if (!error) error = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    if (!error) error = posix_spawn_file_actions_adddup2(&actions, spare_input, CF_WORKER_INPUT_FD);
    if (!error) error = posix_spawn_file_actions_adddup2(&actions, spare_output, CF_WORKER_OUTPUT_FD);
    if (!error && arenas) error = posix_spawn_file_actions_adddup2(&actions, spare_tasks, CF_WORKER_TASK_ARENA_FD);
    if (!error && arenas) error = posix_spawn_file_actions_adddup2(&actions, spare_results, CF_WORKER_RESULT_ARENA_FD);
    if (!error && error_fd >= 0) error = posix_spawn_file_actions_adddup2(&actions, spare_error, STDERR_FILENO);
    if (!error && error_fd >= 0) error = posix_spawn_file_actions_addclose(&actions, spare_error);
    if (!error && arenas) error = posix_spawn_file_actions_addclose(&actions, spare_tasks);
    if (!error && arenas) error = posix_spawn_file_actions_addclose(&actions, spare_results);
    if (!error) error = posix_spawn_file_actions_addclose(&actions, spare_input);
    if (!error) error = posix_spawn_file_actions_addclose(&actions, spare_output);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    // Nothing else of the parent's: a descriptor it left open across exec (its own, or a
    // library's) would otherwise live on in every worker and in whatever a task starts.
    if (!error) error = posix_spawn_file_actions_addclosefrom_np(&actions, CF_WORKER_RESULT_ARENA_FD + 1);
#endif
    if (!error) error = posix_spawnattr_setsigmask(&attributes, &none);
    if (!error) error = posix_spawnattr_setsigdefault(&attributes, &all);
    if (!error) error = posix_spawnattr_setflags(&attributes, flags);
    if (!error) error = posix_spawn(pid, path, &actions, &attributes, argv, envp);
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    return error;
}

struct build_id_search {
    uint8_t *buffer;
    size_t capacity;
    size_t length;
};

static int find_build_id(struct dl_phdr_info *info, size_t size, void *context) {
    (void)size;
    struct build_id_search *search = context;
    // The first object reported is the executable itself.
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *header = &info->dlpi_phdr[i];
        if (header->p_type != PT_NOTE) continue;
        const uint8_t *note = (const uint8_t *)(info->dlpi_addr + header->p_vaddr);
        const uint8_t *end = note + header->p_memsz;
        while (note + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *nhdr = (const ElfW(Nhdr) *)note;
            const uint8_t *name = note + sizeof(ElfW(Nhdr));
            const uint8_t *desc = name + ((nhdr->n_namesz + 3) & ~3u);
            const uint8_t *next = desc + ((nhdr->n_descsz + 3) & ~3u);
            if (next > end) break;
            if (nhdr->n_type == NT_GNU_BUILD_ID && nhdr->n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
                size_t length = nhdr->n_descsz < search->capacity ? nhdr->n_descsz : search->capacity;
                memcpy(search->buffer, desc, length);
                search->length = length;
                return 1;
            }
            note = next;
        }
    }
    return 1;
}

size_t cf_build_id(uint8_t *buffer, size_t capacity) {
    struct build_id_search search = { buffer, capacity, 0 };
    dl_iterate_phdr(find_build_id, &search);
    return search.length;
}

int cf_affinity_cpus(int *cpus, int capacity) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return -1;
    int count = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && count < capacity; cpu++) {
        if (CPU_ISSET(cpu, &set)) cpus[count++] = cpu;
    }
    return count;
}

int cf_bind_thread_to_cpu(int cpu) {
    if (cpu < 0 || cpu >= CPU_SETSIZE) return EINVAL;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof(set), &set) == 0 ? 0 : errno;
}

struct watchdog {
    int fd;
    int exit_code;
};

static void *watch_parent(void *context) {
    struct watchdog watchdog = *(struct watchdog *)context;
    free(context);
    struct pollfd descriptor = { .fd = watchdog.fd, .events = 0, .revents = 0 };
    for (;;) {
        int ready = poll(&descriptor, 1, -1);
        if (ready < 0 && errno == EINTR) continue;
        if (ready < 0 || (descriptor.revents & (POLLHUP | POLLERR | POLLNVAL))) _exit(watchdog.exit_code);
    }
    return NULL;
}

int cf_start_parent_watchdog(int fd, int exit_code) {
    struct watchdog *context = malloc(sizeof(struct watchdog));
    if (!context) return ENOMEM;
    context->fd = fd;
    context->exit_code = exit_code;
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attributes, 64 * 1024);
    pthread_t thread;
    int error = pthread_create(&thread, &attributes, watch_parent, context);
    pthread_attr_destroy(&attributes);
    if (error) free(context);
    return error;
}

int cf_pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    errno = ENOSYS;
    return -1;
#endif
}

int cf_set_close_on_exec(int fd) {
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

int cf_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

int cf_eventfd(void) {
    return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

int cf_set_pipe_size(int fd, int bytes) {
    return fcntl(fd, F_SETPIPE_SZ, bytes);
}

int cf_memfd(const char *name, size_t size) {
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0) return -1;
    if (ftruncate(fd, (off_t)size) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

void *cf_map_shared(int fd, size_t size) {
    void *address = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    return address == MAP_FAILED ? NULL : address;
}

size_t cf_file_size(int fd) {
    struct stat status;
    return fstat(fd, &status) == 0 && status.st_size > 0 ? (size_t)status.st_size : 0;
}

int cf_arena_claim(void *arena) {
    uint32_t expected = 0;
    return __atomic_compare_exchange_n((uint32_t *)arena, &expected, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

void cf_arena_release(void *arena) {
    __atomic_store_n((uint32_t *)arena, 0, __ATOMIC_RELEASE);
}

// The claim word holds the sequence number of the task the worker claimed last, or, once the pool
// took tasks back, the last of them with the top bit set.
#define CF_TASK_REVOKED (UINT64_C(1) << 63)

int cf_task_claim(uint64_t *word, uint64_t sequence) {
    uint64_t current = __atomic_load_n(word, __ATOMIC_ACQUIRE);
    while (1) {
        if ((current & CF_TASK_REVOKED) && sequence <= (current & ~CF_TASK_REVOKED)) return 0;
        if (__atomic_compare_exchange_n(word, &current, sequence, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) return 1;
    }
}

int cf_task_revoke(uint64_t *word, uint64_t running, uint64_t through) {
    uint64_t expected = running;
    return __atomic_compare_exchange_n(word, &expected, through | CF_TASK_REVOKED, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}

void cf_keep_freed_memory(void) {
    const char *setting = getenv(CF_KEEP_FREED_MEMORY_ENVIRONMENT_NAME);
    if (setting != NULL && strcmp(setting, "0") == 0) return;
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

void cf_write_stderr(const char *message) {
    size_t length = strlen(message);
    while (length > 0) {
        ssize_t written = write(STDERR_FILENO, message, length);
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) return;
        message += written;
        length -= (size_t)written;
    }
}

const char *cf_signal_name(int signal) {
    return sigabbrev_np(signal);
}

// The entry point of worker mode, written in Swift (WorkerMain.swift). Weak, so that a program that
// links this file without the Swift module still starts.
extern void cf_worker_main(void) __attribute__((weak));

// Runs before main in every process of a program linked with ClusterFutures. In a process an
// executor started as a worker, it diverts into worker mode, which never returns: the program's
// own code never runs there. Anywhere else it does nothing.
__attribute__((constructor)) static void cf_enter_worker_mode_if_asked(void) {
    if (cf_worker_main != NULL && getenv(CF_WORKER_ENVIRONMENT_NAME) != NULL) cf_worker_main();
}

// The MPI pool's start-up, written in Swift in ClusterFuturesMPI (MPIBootstrap.swift). Weak: only
// programs that link that module have it.
extern void cf_mpi_bootstrap(void) __attribute__((weak));

int cf_run_mpi_bootstrap(void) {
    if (cf_mpi_bootstrap == NULL) return 0;
    cf_mpi_bootstrap();
    return 1;
}

int cf_terminal_columns(int fd) {
    struct winsize size;
    if (ioctl(fd, TIOCGWINSZ, &size) != 0) return 0;
    return size.ws_col;
}

int cf_pipe_unread_bytes(int fd) {
    struct stat status;
    if (fstat(fd, &status) != 0 || !S_ISFIFO(status.st_mode)) return -1;
    int count = 0;
    if (ioctl(fd, FIONREAD, &count) != 0) return -1;
    return count;
}

int cf_poll_nanoseconds(struct pollfd *fds, unsigned long count, int64_t timeout_ns) {
    if (timeout_ns < 0) return poll(fds, count, -1);
    struct timespec limit = { .tv_sec = timeout_ns / 1000000000, .tv_nsec = timeout_ns % 1000000000 };
    return ppoll(fds, count, &limit, NULL);
}

// What a crashing process says before it dies: set by the process, written by the signal handler
// with write(2) only, which is async-signal-safe.
static const char *volatile cf_crash_message = NULL;

static void cf_report_crash(int signal) {
    const char *message = cf_crash_message;
    if (message != NULL) {
        cf_write_stderr(message);
        const char *name = sigabbrev_np(signal);
        cf_write_stderr(" (SIG");
        cf_write_stderr(name != NULL ? name : "?");
        cf_write_stderr(")\n");
    }
    // Die of the same signal, as if nothing had been in the way.
    struct sigaction action = { .sa_handler = SIG_DFL };
    sigemptyset(&action.sa_mask);
    sigaction(signal, &action, NULL);
    raise(signal);
}

void cf_install_crash_reporter(void) {
    int signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGABRT, SIGFPE };
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) {
        struct sigaction action = { .sa_handler = cf_report_crash, .sa_flags = SA_RESETHAND | SA_NODEFER };
        sigemptyset(&action.sa_mask);
        sigaction(signals[i], &action, NULL);
    }
}

void cf_set_crash_message(const char *message) {
    cf_crash_message = message;
}

// Ends the process by `signal` at its default action (for a signal whose default action is to
// continue, such as SIGCONT, it returns).
static void die_of(int signal) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = SIG_DFL;
    sigemptyset(&action.sa_mask);
    sigaction(signal, &action, NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signal);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    raise(signal);
}

static int stop_signal_fd = -1;
static int stop_done_fd = -1;

// Runs in whichever thread the signal interrupts (the pools' own threads block it). It hands the
// signal to the watcher thread, waits in here (so the program's own code does not go on after an
// interrupted system call) until the watcher has stopped the pools, or 3 seconds at most (a lock
// the interrupted thread holds could stall the watcher; the workers then end with their parent),
// and ends the process as the signal would have.
static void forward_stop_signal(int signal) {
    unsigned char byte = (unsigned char)signal;
    ssize_t written;
    do {
        written = write(stop_signal_fd, &byte, 1);
    } while (written < 0 && errno == EINTR);
    struct pollfd done = {.fd = stop_done_fd, .events = POLLIN, .revents = 0};
    poll(&done, 1, 3000);
    die_of(signal);
}

int cf_forward_stop_signals(int signal_fd, int done_fd) {
    stop_signal_fd = signal_fd;
    stop_done_fd = done_fd;
    int installed = 0;
    const int signals[] = {SIGINT, SIGTERM};
    for (unsigned i = 0; i < sizeof signals / sizeof signals[0]; i++) {
        struct sigaction current;
        if (sigaction(signals[i], NULL, &current) != 0) continue;
        // The program's own handler, or an ignored signal, stays as it is.
        if ((current.sa_flags & SA_SIGINFO) || current.sa_handler != SIG_DFL) continue;
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_handler = forward_stop_signal;
        sigfillset(&action.sa_mask);
        action.sa_flags = SA_RESTART;
        if (sigaction(signals[i], &action, NULL) == 0) installed++;
    }
    return installed;
}


// MARK: - Worker-rank supervisor

extern char **environ;

pid_t cf_respawn_self(const char *path, char *const argv[], const char *extra_variable) {
    size_t count = 0;
    while (environ[count] != NULL) count++;
    char **envp = calloc(count + 2, sizeof *envp);
    if (envp == NULL) return -1;
    for (size_t i = 0; i < count; i++) envp[i] = environ[i];
    envp[count] = (char *)extra_variable;
    pid_t pid = -1;
    int error = posix_spawn(&pid, path, NULL, NULL, argv, envp);
    free(envp);
    if (error) {
        errno = error;
        return -1;
    }
    return pid;
}

static volatile pid_t supervised_rank = 0;

static void forward_to_supervised_rank(int signal) {
    if (supervised_rank > 0) kill(supervised_rank, signal);
}

static void write_number(long value) {
    char digits[24];
    int length = 0;
    unsigned long magnitude = value < 0 ? (unsigned long)(-value) : (unsigned long)value;
    do {
        digits[sizeof digits - 1 - length++] = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude > 0 && length < 20);
    if (value < 0) digits[sizeof digits - 1 - length++] = '-';
    ssize_t ignored = write(2, digits + sizeof digits - length, (size_t)length);
    (void)ignored;
}

void cf_supervise_rank(pid_t child, int rank, int linger_seconds) {
    supervised_rank = child;
    int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCONT };
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++) {
        struct sigaction action = { .sa_handler = forward_to_supervised_rank, .sa_flags = SA_RESTART };
        sigemptyset(&action.sa_mask);
        sigaction(forwarded[i], &action, NULL);
    }
    int status = 0;
    while (waitpid(child, &status, 0) == -1) {
        if (errno != EINTR) _exit(70);
    }
    if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
    int signal = WTERMSIG(status);
    if (signal == SIGKILL) {
        char host[256] = { 0 };
        gethostname(host, sizeof host - 1);
        cf_write_stderr("ClusterFutures: MPI worker rank ");
        write_number(rank);
        cf_write_stderr(" (pid ");
        write_number(child);
        cf_write_stderr(", host ");
        cf_write_stderr(host);
        cf_write_stderr(") was killed by SIGKILL, which it cannot catch (kill -9, or the kernel's "
                        "out-of-memory killer); rank 0 names its task when it notices\n");
        // Keeps the launcher from ending the job before rank 0 has said which task was lost; rank
        // 0 then ends the job, and this process with it.
        struct timespec linger = { .tv_sec = linger_seconds, .tv_nsec = 0 };
        while (nanosleep(&linger, &linger) == -1 && errno == EINTR) {}
    }
    // Ends as the rank did: the launcher sees the same signal.
    die_of(signal);
    _exit(128 + signal);
}

int cf_die_with_supervisor(pid_t supervisor) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return -1;
    // The supervisor may have died before the call: then this rank would never hear of it.
    return getppid() == supervisor ? 0 : -1;
}
