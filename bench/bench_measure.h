/* What the benchmarks measure with: wall time, the calling thread's CPU time and
 * the process's resident memory. One copy for every bench/ program (they use
 * the public API only, scripts/check-layers.sh). */
#ifndef PLCIO_BENCH_MEASURE_H
#define PLCIO_BENCH_MEASURE_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "plcio/core.h"

/* Monotonic wall time in seconds. */
static inline double now_s(void) { return (double)plcio_monotonic_ns() / 1e9; }

/* CPU time the calling thread has used, in seconds. */
static inline double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* PLCIO_BENCH_SECONDS when it is a positive number, else dflt: how long a
 * benchmark measures each case. */
static inline double bench_seconds(double dflt)
{
    const char *s = getenv("PLCIO_BENCH_SECONDS");
    double v = s ? atof(s) : dflt;
    return v > 0 ? v : dflt;
}

/* The process's resident memory (VmRSS) in KiB, -1 when /proc cannot tell. */
static inline long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
    if (f) (void)fclose(f); /* read-only */
    return kib;
}

#endif
