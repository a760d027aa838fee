/* Engine tests: run a sync engine until a tag has a quality. One copy for
 * the interop, fault and unit tests that drive a plcio_sync themselves. */
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

#endif
