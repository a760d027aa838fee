/* The rig of the tests of the sync engine's server outputs
 * (tests/interop/test_sync_s7_server.c, modbus/test_sync_modbus_server.c):
 * `plcio sim s7` (DB2 of 200 bytes) is the PLC, `plcio sync --config` runs on
 * a configuration written into a directory of its own, and plcio's S7 client
 * (`plcio write s7://`) changes the PLC's memory. Both processes carry
 * PLCIO_TEST_RUN=1 and stop with sync_rig_stop (or the test runner). */
#ifndef PLCIO_TEST_SYNC_RIG_H
#define PLCIO_TEST_SYNC_RIG_H

#include "plcio_test.h"

typedef struct sync_rig {
    char dir[64];
    plcio_test_proc sim, sync;
    int plc_port; /* the simulator's S7 port */
    int out_port; /* a free port for the engine's output to listen on */
} sync_rig;

/* The simulator started, the directory made, out_port picked. */
void sync_rig_start_plc(sync_rig *r);
/* yaml written to dir/sync.yaml, the engine started on it (its "sync:" line
 * waited for). When out_port was taken by
 * another process before the engine bound it (its "listen: 127.0.0.1:PORT"
 * line), the engine is started again on a new out_port (5 times at most). */
void sync_rig_start_sync(sync_rig *r, const char *yaml);
/* `plcio write s7://127.0.0.1:PLC assignments`; fails the test when it fails. */
void sync_rig_plc_write(const sync_rig *r, const char *assignments);
/* Both processes stopped, the directory removed; a rig never started: nothing. */
void sync_rig_stop(sync_rig *r);

#endif
