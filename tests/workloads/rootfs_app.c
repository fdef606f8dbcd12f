/* Entry point for `record --rootfs`: shows it runs as PID 1 in its own root with /dev. */
#include <dirent.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
    DIR *d = opendir("/");
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d))) n++;
    printf("pid %d entries %d devnull %d\n", (int)getpid(), n, access("/dev/null", W_OK) == 0);
    return 0;
}
