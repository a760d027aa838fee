/* A fake sync driver for the engine tests (test_sync_engine.c,
 * test_sync_plugins.c): scheme fake://, one device whose memory is a byte
 * array the test reads and sets, used through the public driver interface
 * (plcio/driver.h) only.
 *
 * Addresses: "OFFSET:TYPE" ("0:REAL") or "BYTE.BIT:BOOL"; layout members use
 * their layout offsets. By default the fake answers through the loop (a
 * connect and each read complete on a timer, after read_delay_ms), as a real
 * driver does; with inline_io it answers inside connect() and read().
 *
 *   fake_dev_reset();                       // before each engine
 *   o.drivers = fake_drivers; o.driver_count = 1;
 *   fake_dev.mem[4] = 1; ... fake_dev.reads, fake_dev.writes
 *
 * One device at a time: the state is a global, reset by fake_dev_reset. */
#ifndef PLCIO_TEST_FAKE_DRIVER_H
#define PLCIO_TEST_FAKE_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "plcio/driver.h"

typedef struct fake_device {
    uint8_t mem[256];
    bool inline_io;       /* connect and read answer at once, not through the loop */
    bool refuse;          /* connect fails (PLCIO_ECONNREFUSED) */
    bool connected;       /* set when a connect succeeded; clear it to make reads go unanswered */
    bool busy;            /* a read is in flight */
    int read_delay_ms;    /* 0: the answer comes in the next loop round */
    int connect_delay_ms; /* 0: the connection is up in the next loop round */
    int reads, overlaps, writes;
    plcio_sync_device *dev;    /* the device the engine opened */
    plcio_sync_group *pending; /* the group of the read in flight */
} fake_device;

extern fake_device fake_dev;
extern const plcio_driver fake_driver;
extern const plcio_driver *const fake_drivers[1];

/* All fields zero again. */
void fake_dev_reset(void);

#endif
