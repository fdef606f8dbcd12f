/* A long-running process for attach tests: sleeps 20 ms and calls getppid() in a loop,
 * argv[1] times (0: forever). */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 0;
    struct timespec ts = {0, 20 * 1000 * 1000};
    for (long i = 0; n == 0 || i < n; i++) {
        nanosleep(&ts, NULL);
        getppid();
    }
    return 5;
}
