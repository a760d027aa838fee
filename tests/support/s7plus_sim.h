/* The symbolic S7CommPlus interop tests' setup: `plcio sim s7` serving the
 * optimized DB of tests/fixtures/s7plus_symbolic (plant.db as DB5, its UDT
 * axis.udt) and that PLC's tag table (plc_tags.csv), S7CommPlus clients of
 * it, and a subscription on one symbol. */
#ifndef PLCIO_TEST_S7PLUS_SIM_H
#define PLCIO_TEST_S7PLUS_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include "plcio/s7plus.h"
#include "plcio_test.h"

/* What the simulator serves beside its built-in DBs and tags. */
enum {
    PLCIO_TEST_S7PLUS_BUILTIN = 0, /* only the built-in ones ("Line", "Tank", a small tag table) */
    PLCIO_TEST_S7PLUS_DB = 1,      /* --db 5:plant.db --layout axis.udt instead */
    PLCIO_TEST_S7PLUS_TAGS = 2     /* --tags plc_tags.csv */
};

/* Start the simulator (PLCIO_BIN, PLCIO_FIXTURES) on 127.0.0.1, port 0, for
 * 120 s at most: its port; the test fails if it does not start. */
int plcio_test_s7plus_sim_start(plcio_test_proc *p, unsigned serve);

/* A client of s7plus://127.0.0.1:PORT?insecure=1PARAMS (params "" or
 * "&name=value..."), connected unless connect is false; fails the test. */
plcio_s7plus_client *plcio_test_s7plus_client(int port, const char *params, bool connect);

/* A subscription (10 ms cycle) on one symbol whose value has 4 bytes: the
 * last value notified and its type. */
typedef struct plcio_test_s7plus_watch {
    uint8_t value[4];
    unsigned type; /* pvalue_type */
    bool seen;
    uint32_t id;
} plcio_test_s7plus_watch;

/* Resolve the REAL symbol `name`, subscribe and wait for the first
 * notification (50 waits of 5 s at most): its value must be `first`, typed
 * REAL (0x0E), as a PLC notifies a symbolic item (not a Blob, 0x14). */
void plcio_test_s7plus_watch_real(plcio_s7plus_client *c, const char *name, const uint8_t first[4],
                                  plcio_test_s7plus_watch *w);
/* Wait until the value notified is want (50 notifications at most). */
void plcio_test_s7plus_watch_until(plcio_s7plus_client *c, plcio_test_s7plus_watch *w, const uint8_t want[4]);

/* One round of an event-loop client: poll its socket for what it wants (50 ms
 * at most), then plcio_s7plus_client_process. */
void plcio_test_s7plus_spin(plcio_s7plus_client *c);

#endif
