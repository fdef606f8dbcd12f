/* A parent with two children already running when a recorder attaches: the children call getpgid()
 * every 20 ms, the parent only sleeps and waits. Runs until killed. */
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(void) {
    struct timespec ts = {0, 20 * 1000 * 1000};
    for (int i = 0; i < 2; i++) {
        if (fork() == 0) {
            for (;;) {
                nanosleep(&ts, NULL);
                getpgid(0);
            }
        }
    }
    for (;;)
        pause();
}
