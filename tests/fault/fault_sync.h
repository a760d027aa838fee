/* The sync engine in a fault test: built from YAML, read back through its
 * shared-memory segment like any other process would, written by name. */
#ifndef PLCIO_TEST_FAULT_SYNC_H
#define PLCIO_TEST_FAULT_SYNC_H

#include <unistd.h>

#include "fault_util.h"
#include "sync_wait.h"
#include "plcio/shm.h"
#include "plcio/sync.h"

typedef struct fault_engine {
    plcio_sync_config *cfg;
    plcio_sync *sync;
    plcio_shm_reader *reader;
    char shm[80];
} fault_engine;

static inline void fault_engine_start(fault_engine *e, const char *yaml, const char *tag)
{
    static unsigned serial;
    plcio_error err = {0};
    snprintf(e->shm, sizeof e->shm, "/plcio-fault-%s-%d-%u", tag, (int)getpid(), serial++);
    if (plcio_sync_config_parse(yaml, strlen(yaml), "fault.yaml", NULL, &e->cfg, &err) != PLCIO_OK)
        fail_msg("config: %s", err.text);
    plcio_sync_options o;
    memset(&o, 0, sizeof o);
    o.shm_name = e->shm;
    if (getenv("PLCIO_TEST_LOG")) {
        o.logger.fn = plcio_log_to_stream;
        o.logger.level = PLCIO_LOG_DEBUG;
    }
    if (plcio_sync_new(e->cfg, &o, &e->sync, &err) != PLCIO_OK) fail_msg("engine: %s", err.text);
    plcio_error msg = {0};
    assert_int_equal(plcio_shm_reader_new(e->shm, &e->reader, &msg), PLCIO_OK);
}

static inline void fault_engine_stop(fault_engine *e)
{
    plcio_shm_reader_free(e->reader);
    plcio_sync_free(e->sync);
    plcio_sync_config_free(e->cfg);
    memset(e, 0, sizeof *e);
}

/* Run the engine for `ms`. */
static inline void fault_engine_run(fault_engine *e, int ms)
{
    uint64_t end = plcio_monotonic_ns() + (uint64_t)ms * PLCIO_NS_PER_MS;
    while (plcio_monotonic_ns() < end)
        plcio_sync_run_once(e->sync, 5);
}

/* The tag as the segment shows it now. */
static inline plcio_shm_value fault_engine_get(fault_engine *e, const char *name)
{
    plcio_shm_value v;
    memset(&v, 0, sizeof v);
    for (int i = 0; i < 100 && plcio_shm_reader_refresh(e->reader) != PLCIO_OK; i++)
        plcio_test_sleep_ms(1);
    assert_int_equal(plcio_shm_reader_get_by_name(e->reader, name, &v), PLCIO_OK);
    return v;
}

/* Run until `name` has quality q (and text `text` unless NULL), at most
 * timeout_ms (tests/support/sync_wait.h). */
static inline bool fault_engine_reaches(fault_engine *e, const char *name, plcio_shm_quality q, const char *text,
                                        int timeout_ms, plcio_shm_value *last)
{
    return plcio_test_sync_reaches(e->sync, e->reader, name, q, text, timeout_ms, last);
}

static inline plcio_shm_value fault_engine_wait(fault_engine *e, const char *name, plcio_shm_quality q,
                                                const char *text, int timeout_ms)
{
    return plcio_test_sync_wait(e->sync, e->reader, name, q, text, timeout_ms);
}

/* Run until `name` shows, good, the integer the device holds: device(arg)
 * asks the device directly, again while waiting, since a write the engine
 * reported failed ("may or may not have happened") can still land after its
 * answer, when bytes a cut connection held reach the device late (seen under
 * ASan on a loaded machine). Fails the test after timeout_ms; returns the
 * device's value. */
static inline int32_t fault_engine_wait_device(fault_engine *e, const char *name, int32_t (*device)(void *), void *arg,
                                               int timeout_ms)
{
    uint64_t end = plcio_monotonic_ns() + (uint64_t)timeout_ms * PLCIO_NS_PER_MS;
    char t[32];
    int32_t now;
    do {
        now = device(arg);
        snprintf(t, sizeof t, "%d", (int)now);
        if (fault_engine_reaches(e, name, PLCIO_SHM_QUALITY_GOOD, t, 250, NULL)) return now;
    } while (plcio_monotonic_ns() < end);
    fault_engine_wait(e, name, PLCIO_SHM_QUALITY_GOOD, t, 1);
    return now;
}

typedef plcio_test_write fault_write;

/* Write through the engine and run it until the answer (at most 10 s). */
static inline fault_write fault_engine_write(fault_engine *e, const char *tag, const char *text, int queue_ms)
{
    fault_write r;
    (void)plcio_test_sync_write(e->sync, tag, text, queue_ms, 10000, &r);
    if (r.calls == 0) fail_msg("write %s=%s: %s", tag, text, r.msg);
    return r;
}

/* A failed write must say why; when the connection broke after sending it
 * must not claim the write did not happen. */
static inline void fault_check_failed_write(const fault_write *w)
{
    assert_int_not_equal(w->err, PLCIO_OK);
    assert_true(w->msg[0] != '\0');
}

#endif
