/* A long-running process for attach tests: sleeps 20 ms and calls getppid() in a loop,
 * argv[1] times (0: forever). With a second argument, a second thread loops on getuid() too. */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void *uid_loop(void *arg) {
    (void)arg;
    struct timespec ts = {0, 20 * 1000 * 1000};
    for (;;) {
        nanosleep(&ts, NULL);
        getuid();
    }
    return NULL;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 0;
    if (argc > 2) {
        pthread_t t;
        if (pthread_create(&t, NULL, uid_loop, NULL) != 0) return 1;
    }
    struct timespec ts = {0, 20 * 1000 * 1000};
    for (long i = 0; n == 0 || i < n; i++) {
        nanosleep(&ts, NULL);
        getppid();
    }
    return 5;
}
