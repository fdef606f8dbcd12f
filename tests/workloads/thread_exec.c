/* A non-leader thread execs /bin/true while another thread is blocked: the kernel kills the other
 * threads and the exec'ing thread takes over the leader's pid. */
#include <pthread.h>
#include <time.h>
#include <unistd.h>

static void *execer(void *arg) {
    (void)arg;
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);  /* let the main thread block in pause() first */
    char *argv[] = {"true", NULL};
    execv("/bin/true", argv);
    return NULL;
}

int main(void) {
    pthread_t t;
    if (pthread_create(&t, NULL, execer, NULL) != 0) return 1;
    for (;;) pause();
}
