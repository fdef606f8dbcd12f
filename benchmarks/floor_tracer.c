/* The ptrace floor: the least a one-stop seccomp RET_TRACE recorder can do per syscall, in C.
 *
 *     floor_tracer [-p auto|off|N] [-f FILTER.bpf] -- CMD [ARGS...]
 *
 * What `seccomp-gen record -- CMD` does (recorder/ptrace/seize.py, tracer.py), without Python:
 * - the tracer pins itself to one CPU first (-p auto, the default: the CPU it runs on, as
 *   `--pin-cpu auto`; CMD inherits the mask), then forks;
 * - the child waits on a pipe until the parent has seized it (PTRACE_SEIZE with TRACESYSGOOD,
 *   TRACEFORK, TRACEVFORK, TRACECLONE, TRACEEXEC, TRACESECCOMP and EXITKILL), loads a filter that
 *   answers SECCOMP_RET_TRACE for every syscall (-f: the exact program libseccomp builds for the
 *   recorder, exported by the benchmark; default: one `ret TRACE|0x5347`), without no_new_privs
 *   when the kernel allows it (root), and execs CMD;
 * - the parent runs one waitpid(-1, __WALL) loop over every tracee: at each seccomp stop
 *   PTRACE_GET_SYSCALL_INFO, one counter bumped per (arch, nr), PTRACE_CONT; group-stops are
 *   parked with PTRACE_LISTEN, signals passed on, fork/clone/exec events resumed.
 * Exits with CMD's status (128+N if it was killed by signal N). With -c it prints how many
 * syscalls it saw on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* linux/ptrace.h values, spelled out: glibc's sys/ptrace.h names them only since 2.32. */
#define GET_SYSCALL_INFO 0x420e
#define INFO_OP_SECCOMP 3

#define TRACE_MARK 0x5347
#define SECCOMP_STOP (SIGTRAP | (PTRACE_EVENT_SECCOMP << 8))
#define NR_SLOTS 1024

/* struct ptrace_syscall_info, the 88 bytes the recorder asks for. */
struct info {
    uint8_t op;
    uint8_t pad[3];
    uint32_t arch;
    uint64_t ip, sp, nr, args[6];
    uint32_t ret_data;
    uint32_t pad2;
};

static unsigned long counts[2][NR_SLOTS]; /* [native arch, other arch][nr] */

static void die(const char *what) {
    perror(what);
    exit(127);
}

static struct sock_fprog load_filter_file(const char *path) {
    struct sock_fprog prog = {0};
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) die(path);
    prog.filter = malloc(st.st_size ? st.st_size : 1);
    if (!prog.filter || read(fd, prog.filter, st.st_size) != st.st_size) die(path);
    close(fd);
    prog.len = st.st_size / sizeof(struct sock_filter);
    return prog;
}

static int pin(const char *how) {
    if (strcmp(how, "off") == 0) return -1;
    int cpu = strcmp(how, "auto") == 0 ? sched_getcpu() : atoi(how);
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) < 0) die("sched_setaffinity");
    return cpu;
}

int main(int argc, char **argv) {
    const char *pin_how = "auto", *filter_path = NULL;
    int opt, report = 0;
    while ((opt = getopt(argc, argv, "+p:f:c")) != -1) {
        if (opt == 'p') pin_how = optarg;
        else if (opt == 'f') filter_path = optarg;
        else if (opt == 'c') report = 1;
        else {
            fprintf(stderr, "usage: %s [-p auto|off|N] [-f FILTER.bpf] [-c] -- CMD [ARGS...]\n", argv[0]);
            return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "%s: no command\n", argv[0]);
        return 2;
    }
    struct sock_filter ret_trace[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | TRACE_MARK)};
    struct sock_fprog prog = {1, ret_trace};
    if (filter_path) prog = load_filter_file(filter_path);
    pin(pin_how);

    int go[2];
    if (pipe(go) < 0) die("pipe");
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) {
        char c;
        close(go[1]);
        if (read(go[0], &c, 1) != 1) _exit(127); /* the tracer died before seizing us */
        close(go[0]);
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
            /* Without CAP_SYS_ADMIN the kernel wants no_new_privs, as for the recorder. */
            if (errno != EACCES || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
                syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
                _exit(126);
        }
        execvp(argv[optind], argv + optind);
        _exit(127);
    }
    close(go[0]);
    long options = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE |
                   PTRACE_O_TRACEEXEC | PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL;
    if (ptrace(PTRACE_SEIZE, child, 0, options) < 0) die("PTRACE_SEIZE");
    if (write(go[1], "g", 1) != 1) die("write");
    close(go[1]);

    struct info info;
    uint32_t native_arch = 0;
    unsigned long stops = 0;
    int main_status = 0;
    for (;;) {
        int status;
        pid_t tid = waitpid(-1, &status, __WALL);
        if (tid < 0) {
            if (errno == EINTR) continue;
            break; /* ECHILD: no tracee left */
        }
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            if (tid == child) main_status = status;
            continue;
        }
        if (!WIFSTOPPED(status)) continue;
        int stop = status >> 8, request = PTRACE_CONT, sig = 0;
        if (stop == SECCOMP_STOP) {
            /* The hot path: what the recorder's loop does per syscall. */
            if (ptrace(GET_SYSCALL_INFO, tid, (void *)sizeof info, &info) < 0) {
                if (errno == ESRCH) continue;
                die("PTRACE_GET_SYSCALL_INFO");
            }
            if (info.op == INFO_OP_SECCOMP) {
                if (!native_arch) native_arch = info.arch;
                counts[info.arch != native_arch][info.nr % NR_SLOTS]++;
                stops++;
            }
        } else {
            int event = status >> 16;
            sig = WSTOPSIG(status);
            if (event == 0) {
                /* signal-delivery-stop: pass it on */
            } else if (event == PTRACE_EVENT_STOP) {
                if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) request = PTRACE_LISTEN;
                sig = 0;
            } else {
                sig = 0; /* fork/vfork/clone/exec events: the new task reports its own first stop */
            }
        }
        if (ptrace(request, tid, 0, (void *)(long)sig) < 0 && errno != ESRCH) die("ptrace resume");
    }
    if (report) fprintf(stderr, "floor_tracer: %lu seccomp stops\n", stops);
    if (WIFSIGNALED(main_status)) return 128 + WTERMSIG(main_status);
    return WEXITSTATUS(main_status);
}
