/* Four threads that each call sched_yield(), which the main thread never does. */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>

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
    puts("threads done");
    return 0;
}
