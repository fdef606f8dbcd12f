/* Calls syscall number 1000, which no kernel or libseccomp table names (it fails with ENOSYS). */
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    syscall(1000);
    return 0;
}
