/* The bundled sample workload: a tiny worker that never calls the stat family.
 *
 * It reads /etc/hostname, hashes it in a worker thread, and writes a line to stdout, using
 * open/read/write directly (stdio would fstat stdout to pick its buffering). Built statically, so
 * no dynamic loader fstat()s libraries either: its generated profile, seccomp-nostat, shows that
 * least privilege really removes what a program never does.
 */
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

static char name[256];
static unsigned long hash;

static void *worker(void *arg) {
    (void)arg;
    for (const char *p = name; *p; p++) hash = hash * 31 + (unsigned char)*p;
    return NULL;
}

static void put(const char *s) { write(1, s, strlen(s)); }

int main(void) {
    int fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, name, sizeof name - 1);
        if (n > 0) name[n] = '\0';
        close(fd);
    }
    pthread_t t;
    if (pthread_create(&t, NULL, worker, NULL) != 0 || pthread_join(t, NULL) != 0) return 1;
    char line[64] = "nostat: hash ";
    char digits[24];
    int i = 0;
    unsigned long h = hash;
    do { digits[i++] = (char)('0' + h % 10); h /= 10; } while (h && i < 23);
    size_t len = strlen(line);
    while (i > 0) line[len++] = digits[--i];
    line[len++] = '\n';
    line[len] = '\0';
    put(line);
    return 0;
}
