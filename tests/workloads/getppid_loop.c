/* Syscall-heavy loop for benchmarks: argv[1] getppid() calls (default 200000).
 * With SG_BENCH_SELF_TIME=FILE set, the loop's own wall time (seconds) is written to FILE: the
 * benchmark compares the program's own slowdown next to whole-process times. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 200000;
    const char *report = getenv("SG_BENCH_SELF_TIME");
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long i = 0; i < n; i++) getppid();
    clock_gettime(CLOCK_MONOTONIC, &end);
    if (report) {
        FILE *out = fopen(report, "w");
        if (!out) return 1;
        fprintf(out, "%.9f\n", (double)(end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9);
        fclose(out);
    }
    return 0;
}
