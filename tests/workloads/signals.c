/* Group-stop and signal delivery must behave as without a tracer:
 * the child stops itself with SIGSTOP, the parent sees it stopped and continues it with SIGCONT,
 * then a SIGUSR1 handler in the child decides its exit code. Exit 0 only if all of it worked. */
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t got_usr1;
static void on_usr1(int sig) { (void)sig; got_usr1 = 1; }

int main(void) {
    int pipefd[2];
    if (pipe(pipefd) != 0) return 10;
    pid_t pid = fork();
    if (pid == 0) {
        sigset_t usr1, none;
        sigemptyset(&usr1);
        sigemptyset(&none);
        sigaddset(&usr1, SIGUSR1);
        signal(SIGUSR1, on_usr1);
        sigprocmask(SIG_BLOCK, &usr1, NULL);  /* held until sigsuspend: no race, same calls every run */
        raise(SIGSTOP);                  /* group-stop: must really stop */
        write(pipefd[1], "r", 1);        /* tell the parent we are running again */
        while (!got_usr1) sigsuspend(&none);
        _exit(42);
    }
    int status;
    if (waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status) || WSTOPSIG(status) != SIGSTOP)
        return 11;
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
    if (waitpid(pid, &status, WNOHANG) != 0) return 12;   /* still stopped, nothing new */
    kill(pid, SIGCONT);
    char c;
    if (read(pipefd[0], &c, 1) != 1) return 13;
    kill(pid, SIGUSR1);
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 42) return 14;
    return 0;
}
