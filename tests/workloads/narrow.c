/* Sockets of several families, ioctls on a pty and on a socket, prctl and fcntl options: the calls
 * whose arguments --narrow-args restricts. With "more", it also uses one more family (AF_NETLINK),
 * ioctl request (TIOCGWINSZ) and prctl option (PR_GET_DUMPABLE), each of which a profile narrowed
 * to the plain run's values must deny. Every refused call is printed and makes the exit status 1. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

static int failures;

static long check(const char *what, long result) {
    if (result < 0) {
        printf("%s: %s\n", what, strerror(errno));
        failures++;
    }
    return result;
}

int main(int argc, char **argv) {
    int more = argc > 1 && strcmp(argv[1], "more") == 0;
    int inet = check("socket AF_INET", socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    int unix_dgram = check("socket AF_UNIX", socket(AF_UNIX, SOCK_DGRAM, 0));
    int inet6 = check("socket AF_INET6", socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, 0));
    int pair[2];
    check("socketpair AF_UNIX", socketpair(AF_UNIX, SOCK_STREAM, 0, pair));
    int one = 1, pending = 0;
    check("setsockopt SO_REUSEADDR", setsockopt(inet, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one));
    check("ioctl FIONREAD", ioctl(pair[0], FIONREAD, &pending));
    check("fcntl F_GETFL", fcntl(inet, F_GETFL));
    int pty = check("posix_openpt", posix_openpt(O_RDWR | O_NOCTTY));
    struct termios tio;
    check("ioctl TCGETS", tcgetattr(pty, &tio));
    char name[16] = "narrow";
    check("prctl PR_SET_NAME", prctl(PR_SET_NAME, name, 0, 0, 0));
    check("prctl PR_GET_NAME", prctl(PR_GET_NAME, name, 0, 0, 0));
    if (more) {
        check("socket AF_NETLINK", socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE));
        struct winsize ws;
        check("ioctl TIOCGWINSZ", ioctl(pty, TIOCGWINSZ, &ws));
        check("prctl PR_GET_DUMPABLE", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
    }
    (void)unix_dgram;
    (void)inet6;
    printf(failures ? "refused: %d\n" : "ok\n", failures);
    return failures ? 1 : 0;
}
