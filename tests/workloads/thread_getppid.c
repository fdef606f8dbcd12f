/* A second thread calls getppid(); the main thread waits for it, then prints "main survived" and
 * exits 3. Under a profile that answers getppid with KILL_THREAD only that thread dies (the output
 * and status 3 stay); with KILL_PROCESS the whole process dies of SIGSYS (status 159). */
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static void *worker(void *arg) {
    (void)arg;
    syscall(SYS_getppid);
    return NULL;
}

int main(void) {
    pthread_t t;
    if (pthread_create(&t, NULL, worker, NULL) != 0) return 1;
    pthread_join(t, NULL);
    puts("main survived");
    return 3;
}
