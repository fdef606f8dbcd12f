/* The first thing this (static) program does is read the clocks and print them, so the benchmark can
 * time a recorder from its own start to CMD's execve (bench_startup.py): CLOCK_MONOTONIC is one clock
 * for the whole machine, the benchmark's timestamp taken just before it spawns the recorder is
 * comparable to it. Output: "MONOTONIC REALTIME\n", seconds with nanoseconds. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(void) {
    struct timespec mono, real;
    clock_gettime(CLOCK_MONOTONIC, &mono);
    clock_gettime(CLOCK_REALTIME, &real);
    char line[64];
    int n = snprintf(line, sizeof line, "%lld.%09ld %lld.%09ld\n", (long long)mono.tv_sec, mono.tv_nsec,
                     (long long)real.tv_sec, real.tv_nsec);
    return write(1, line, n) == n ? 0 : 1;
}
