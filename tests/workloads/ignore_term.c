/* Ignores SIGTERM and SIGINT, then sleeps: the recorder has to end it after its grace period. */
#include <signal.h>
#include <unistd.h>

int main(void) {
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    for (int i = 0; i < 600; i++) sleep(1);
    return 0;
}
