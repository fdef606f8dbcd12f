/* Every way to start a process: fork, vfork, posix_spawn, raw clone3, then exec. */
#define _GNU_SOURCE
#include <linux/sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int wait_ok(pid_t pid) {
    int status;
    return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(void) {
    char *true_argv[] = {"true", NULL};
    pid_t pid;

    if (posix_spawn(&pid, "/bin/true", NULL, NULL, true_argv, environ) != 0 || !wait_ok(pid)) return 1;

    pid = vfork();
    if (pid == 0) { execve("/bin/true", true_argv, environ); _exit(127); }
    if (pid < 0 || !wait_ok(pid)) return 2;

    pid = fork();
    if (pid == 0) { getpgid(0); _exit(0); }  /* getpgid: only this forked child calls it */
    if (pid < 0 || !wait_ok(pid)) return 3;

    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.exit_signal = SIGCHLD;
    pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) { struct sysinfo si; sysinfo(&si); _exit(0); }  /* sysinfo: only the clone3 child */
    if (pid < 0 || !wait_ok(pid)) return 4;
    return 0;
}
