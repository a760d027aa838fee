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

/* Subscribe and wait for the first notification (50 waits of 5 s at most). */
void plcio_test_s7plus_watch_start(plcio_s7plus_client *c, const plcio_s7plus_symbol *sym, plcio_test_s7plus_watch *w);
/* Wait until the value notified is want (50 notifications at most). */
void plcio_test_s7plus_watch_until(plcio_s7plus_client *c, plcio_test_s7plus_watch *w, const uint8_t want[4]);

#endif
