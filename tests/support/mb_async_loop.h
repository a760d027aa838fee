/* Test helpers for the Modbus client's event-loop mode: a poll() loop that
 * drives one client the way an application's loop would, and a callback that
 * records the order in which requests complete. */
#ifndef PLCIO_TESTS_MB_ASYNC_LOOP_H
#define PLCIO_TESTS_MB_ASYNC_LOOP_H

#include <poll.h>
#include <stddef.h>

#include "plcio/modbus.h"
#include "plcio_test.h"

typedef struct mb_async_log {
    plcio_modbus_request *base; /* the test's request array */
    int done;                   /* callbacks run */
    int order[512];             /* index into base, in completion order */
    int results[512];           /* result seen by the callback, by index */
} mb_async_log;

static inline void mb_async_record(void *ctx, plcio_modbus_client *c, plcio_modbus_request *r)
{
    (void)c;
    mb_async_log *l = ctx;
    int i = (int)(r - l->base);
    if (l->done < 512) l->order[l->done] = i;
    if (i >= 0 && i < 512) l->results[i] = r->result;
    l->done++;
}

/* Drive c with poll() until *count reaches target or max_ms pass; returns
 * the first result other than PLCIO_OK that process() gave (PLCIO_OK if none). */
static inline int mb_async_run(plcio_modbus_client *c, const int *count, int target, int max_ms)
{
    int first = PLCIO_OK;
    uint64_t end = plcio_monotonic_ns() + (uint64_t)max_ms * PLCIO_NS_PER_MS;
    while (*count < target && plcio_monotonic_ns() < end) {
        uint64_t deadline = 0, now = plcio_monotonic_ns();
        unsigned wants = plcio_modbus_client_wants(c, &deadline);
        int wait = 20;
        if (deadline) wait = deadline <= now ? 0 : (int)((deadline - now) / PLCIO_NS_PER_MS) + 1;
        if (wait > 20) wait = 20;
        struct pollfd p = {.fd = plcio_modbus_client_fd(c),
                           .events = (short)(((wants & PLCIO_MODBUS_WANT_READ) ? POLLIN : 0) |
                                             ((wants & PLCIO_MODBUS_WANT_WRITE) ? POLLOUT : 0))};
        if (p.fd >= 0 && wants)
            (void)poll(&p, 1, wait);
        else
            plcio_test_sleep_ms((unsigned)wait);
        int rc = plcio_modbus_client_process(c);
        if (rc != PLCIO_OK && first == PLCIO_OK) first = rc;
    }
    return first;
}

#endif
