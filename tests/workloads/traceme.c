/* A tracee that asks to be traced by its parent itself: under the recorder it is already traced,
 * so the kernel answers EPERM. Prints what it got; exits 0. */
#include <errno.h>
#include <stdio.h>
#include <sys/ptrace.h>

int main(void) {
    long r = ptrace(PTRACE_TRACEME, 0, 0, 0);
    printf("traceme %s\n", r == 0 ? "ok" : (errno == EPERM ? "EPERM" : "error"));
    return 0;
}
