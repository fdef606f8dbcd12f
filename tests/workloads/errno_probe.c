/* Calls getppid() through syscall(2) (so errno is set) and prints what it got:
 * "getppid ok" or "getppid errno N". Exits 0 either way. */
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    long r = syscall(SYS_getppid);
    if (r < 0)
        printf("getppid errno %d\n", errno);
    else
        printf("getppid ok\n");
    return 0;
}
