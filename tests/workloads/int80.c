/* A 64-bit process making one i386 syscall through int $0x80: eax=20 is i386 getpid
 * (20 is writev in the x86_64 table). Exits 0 when both getpid calls agree. */
#include <unistd.h>

int main(void) {
    long r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
    return r == (long)getpid() ? 0 : 1;
}
