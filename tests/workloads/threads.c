/* Four threads that each call sched_yield(), which the main thread never does. */
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static void *worker(void *arg) {
    (void)arg;
    sched_yield();
    return NULL;
}

int main(void) {
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        if (pthread_create(&t[i], NULL, worker, NULL) != 0) return 1;
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    /* pthread_join waits with futex only if a thread is still running: call it once anyway, so the
     * set of syscalls is the same in every run, traced or not. */
    static int word;
    syscall(SYS_futex, &word, FUTEX_WAKE, 1, NULL, NULL, 0);
    puts("threads done");
    return 0;
}
