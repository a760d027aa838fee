/* Engine tests: run a sync engine until a tag has a quality, and write
 * through it capturing what the write's callback says. One copy for the
 * interop, fault and unit tests that drive a plcio_sync themselves. */
#ifndef PLCIO_TEST_SYNC_WAIT_H
#define PLCIO_TEST_SYNC_WAIT_H

#include <stdbool.h>

#include "plcio/shm.h"
#include "plcio/sync.h"

/* Run the engine (plcio_sync_run_once, 5 ms at a time) until tag `name`,
 * read through `reader`, has quality q (and text `text` unless NULL), at most
 * timeout_ms. True if it did; *last (may be NULL) gets the last value seen. */
bool plcio_test_sync_reaches(plcio_sync *sync, plcio_shm_reader *reader, const char *name, plcio_shm_quality q,
                             const char *text, int timeout_ms, plcio_shm_value *last);
/* The same, failing the test when it does not get there in time; the message
 * names what the tag showed and the first device's last message. */
plcio_shm_value plcio_test_sync_wait(plcio_sync *sync, plcio_shm_reader *reader, const char *name, plcio_shm_quality q,
                                     const char *text, int timeout_ms);

/* What a write's callback said: plcio_test_on_write (a plcio_sync_write
 * callback, ctx = this struct) counts the calls and keeps the last result. */
typedef struct plcio_test_write {
    int calls, err;
    char msg[256];
} plcio_test_write;
void plcio_test_on_write(void *ctx, int err, const char *message);

/* plcio_sync_write(tag = text, queue_ms) into *r (cleared first), then run
 * the engine until the callback came, at most timeout_ms: turn(turn_ctx) is
 * one step of the loop (NULL: plcio_sync_run_once for 5 ms; a test with a
 * peer in its own thread serves it there). Returns plcio_sync_write's error
 * (then r->err and r->msg say it too), else the write's result; fails the
 * test unless the callback ran exactly once. */
int plcio_test_sync_write_turn(plcio_sync *sync, const char *tag, const char *text, int queue_ms, int timeout_ms,
                               plcio_test_write *r, void (*turn)(void *), void *turn_ctx);
static inline int plcio_test_sync_write(plcio_sync *sync, const char *tag, const char *text, int queue_ms,
                                        int timeout_ms, plcio_test_write *r)
{
    return plcio_test_sync_write_turn(sync, tag, text, queue_ms, timeout_ms, r, NULL, NULL);
}

#endif
