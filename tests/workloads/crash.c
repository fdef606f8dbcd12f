/* Dies of SIGSEGV: the recorder must exit 139 as a shell reports it. */
#include <unistd.h>

int main(void) {
    volatile int *p = (int *)0;
    getppid();
    return *p;
}
