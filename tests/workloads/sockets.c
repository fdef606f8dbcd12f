/* Opens an AF_INET datagram socket and an AF_UNIX socketpair, calls personality(0xffffffff) and
 * clone(SIGCHLD) (a raw fork): argument values the recorder keeps for runtime/default's argument rules. */
#include <signal.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int pair[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, pair);
    personality(0xffffffff);
    long child = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
    if (child == 0)
        syscall(SYS_exit, 0);
    waitpid((pid_t)child, 0, 0);
    return fd >= 0 ? 0 : 1;
}
