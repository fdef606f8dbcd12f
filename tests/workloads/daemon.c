/* A classic double-fork daemon: the parent exits at once, the grandchild works later.
 * argv[1]: a marker file the grandchild writes when it has made its calls. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid > 0) return 0;               /* parent: exit immediately */
    setsid();
    if (fork() > 0) _exit(0);            /* first child: exit, orphaning the grandchild */
    struct timespec ts = {0, 300 * 1000 * 1000};
    nanosleep(&ts, NULL);                /* long after its parent and grandparent are gone */
    struct sysinfo si;
    sysinfo(&si);                        /* the call only the grandchild makes */
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) { write(fd, "done\n", 5); close(fd); }
    _exit(0);
}
