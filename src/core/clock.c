#include <time.h>

#include "plcio/core.h"

static uint64_t read_clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * PLCIO_NS_PER_S + (uint64_t)ts.tv_nsec;
}

uint64_t plcio_monotonic_ns(void) { return read_clock(CLOCK_MONOTONIC); }

uint64_t plcio_realtime_ns(void) { return read_clock(CLOCK_REALTIME); }

uint64_t plcio_clock_now(const plcio_clock *clock)
{
    return (clock && clock->now) ? clock->now(clock->ctx) : plcio_monotonic_ns();
}

static uint64_t manual_now(void *ctx) { return ((const plcio_manual_clock *)ctx)->now_ns; }

plcio_clock plcio_manual_clock_bind(plcio_manual_clock *mc)
{
    plcio_clock c;
    c.now = manual_now;
    c.ctx = mc;
    return c;
}
