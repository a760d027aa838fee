/* Running a sync engine in the foreground, shared by `plcio sync` and `plcio demo`:
 * SIGINT/SIGTERM stop it cleanly, statistics are printed periodically. */
#ifndef PLCIO_TOOL_SYNC_RUN_H
#define PLCIO_TOOL_SYNC_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "plcio/sync.h"

/* Stop `s` on SIGINT / SIGTERM (and SIGPIPE is ignored) until sync_run_signals_off. */
void sync_run_signals_on(plcio_sync *s);
void sync_run_signals_off(void);
/* True once a stop signal arrived. */
bool sync_run_interrupted(void);

/* One line per device and group: cycles/s since the last call, cycle and jitter
 * times, late cycles, errors. `prev` (one per group, zeroed at first) keeps the
 * previous counts between calls. */
void sync_run_print_stats(FILE *out, const plcio_sync *s, plcio_sync_stats *prev, double seconds);

/* How another process attaches to the segment, one line. */
void sync_run_print_attach(FILE *out, const char *shm_name);

#endif
