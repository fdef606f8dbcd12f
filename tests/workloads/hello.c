/* Built with -m32: an i386 program whose every syscall must be recorded under SCMP_ARCH_X86. */
#include <stdio.h>

int main(void) {
    puts("hello from i386");
    return 0;
}
