/* Run a sync engine until a tag has a quality (sync_wait.h). */
#include "sync_wait.h"

#include <stdio.h>
#include <string.h>

#include "plcio_test.h"

bool plcio_test_sync_reaches(plcio_sync *sync, plcio_shm_reader *reader, const char *name, plcio_shm_quality q,
                             const char *text, int timeout_ms, plcio_shm_value *last)
{
    plcio_shm_value v;
    memset(&v, 0, sizeof v);
    bool ok = false;
    uint64_t end = plcio_monotonic_ns() + (uint64_t)timeout_ms * PLCIO_NS_PER_MS;
    while (!ok && plcio_monotonic_ns() < end) {
        plcio_sync_run_once(sync, 5);
        if (plcio_shm_reader_refresh(reader) != PLCIO_OK) continue;
        assert_int_equal(plcio_shm_reader_get_by_name(reader, name, &v), PLCIO_OK);
        ok = v.quality == q && (!text || !strcmp(v.text, text));
    }
    if (last) *last = v;
    return ok;
}

plcio_shm_value plcio_test_sync_wait(plcio_sync *sync, plcio_shm_reader *reader, const char *name, plcio_shm_quality q,
                                     const char *text, int timeout_ms)
{
    plcio_shm_value v;
    if (!plcio_test_sync_reaches(sync, reader, name, q, text, timeout_ms, &v)) {
        plcio_sync_stats st;
        memset(&st, 0, sizeof st);
        (void)plcio_sync_device_stats(sync, 0, &st);
        fail_msg("%s: %s '%s' (error %s), want %s '%s'; device: %s", name, plcio_shm_quality_name(v.quality),
                 v.text ? v.text : "", plcio_err_name(v.error), plcio_shm_quality_name(q), text ? text : "*",
                 st.last_message ? st.last_message : "");
    }
    return v;
}

void plcio_test_on_write(void *ctx, int err, const char *message)
{
    plcio_test_write *r = ctx;
    r->calls++;
    r->err = err;
    snprintf(r->msg, sizeof r->msg, "%s", message ? message : "");
}

int plcio_test_sync_write_turn(plcio_sync *sync, const char *tag, const char *text, int queue_ms, int timeout_ms,
                               plcio_test_write *r, void (*turn)(void *), void *turn_ctx)
{
    memset(r, 0, sizeof *r);
    plcio_error err = {0};
    int rc = plcio_sync_write(sync, tag, text, queue_ms, plcio_test_on_write, r, &err);
    if (rc != PLCIO_OK) {
        r->err = rc;
        snprintf(r->msg, sizeof r->msg, "%.255s", err.text);
        return rc;
    }
    uint64_t end = plcio_monotonic_ns() + (uint64_t)timeout_ms * PLCIO_NS_PER_MS;
    while (r->calls == 0 && plcio_monotonic_ns() < end) {
        if (turn)
            turn(turn_ctx);
        else
            plcio_sync_run_once(sync, 5);
    }
    if (r->calls != 1) fail_msg("write %s=%s: the callback ran %d times", tag, text, r->calls);
    return r->err;
}
