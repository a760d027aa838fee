/* The S7 side both S7 sync fault tests share (test_fault_s7_sync.c over
 * s7://, test_fault_s7plus_sync.c over s7plus://): the five tags in DB1, the
 * peer (fault_start_s7) and a classic S7 client as the direct judge of what
 * the PLC holds (the simulator serves both protocols from the same memory).
 *
 * Before including it, the test file defines FAULT_ENGINE_TAG and
 * FAULT_DEVICE_YAML (fault_sync_fixture.h); after it, FAULT_PROTO and
 * FAULT_NO_CHECKSUM, then includes fault_sync_cases.h. */
#ifndef PLCIO_TEST_FAULT_S7_FIXTURE_H
#define PLCIO_TEST_FAULT_S7_FIXTURE_H

#include "plcio/s7.h"

#define DB 1

#define FAULT_DIRECT      plcio_s7_client
#define FAULT_TAG_W0      "DB1.DBW0:INT"
#define FAULT_TAG_R2      "DB1.DBD2:REAL"
#define FAULT_TAG_TARGET  "DB1.DBD20:DINT"
#define FAULT_TAG_B40     "DB1.DBB40"
#define FAULT_TAG_BIT     "DB1.DBX41.3"
#define FAULT_STABLE_TEXT "1234"
#define FAULT_B40_TEXT    "90"
#define FAULT_DEVICE_WORD "PLC"
#include "fault_sync_fixture.h"

static int fault_start_peer(plcio_test_proc *server, fault_peer peer) { return fault_start_s7(server, peer); }

static int32_t server_target(ctx *c)
{
    uint8_t b[4];
    int rc = plcio_s7_client_read_area(c->direct, PLCIO_S7_AREA_DB, DB, 20, 4, b);
    if (rc != PLCIO_OK) fail_msg("direct read: %s", plcio_s7_client_last_error(c->direct)->text);
    return (int32_t)plcio_get_u32be(b);
}

static plcio_s7_client *direct_open(int port)
{
    plcio_s7_client_options o;
    plcio_s7_client_options_init(&o);
    o.host = "127.0.0.1";
    o.port = port;
    plcio_s7_client *d = NULL;
    (void)plcio_s7_client_new(NULL, &o, &d, NULL);
    assert_non_null(d);
    assert_int_equal(plcio_s7_client_connect(d), PLCIO_OK);
    /* DB1: INT 1234 at 0, REAL 3.5 at 2, DINT 7 at 20, byte 0x5A at 40, 0x08 at 41 (bit 3) */
    uint8_t db[42];
    memset(db, 0, sizeof db);
    plcio_put_u16be(db, 1234);
    plcio_put_u32be(db + 2, 0x40600000u);
    plcio_put_u32be(db + 20, 7);
    db[40] = 0x5A;
    db[41] = 0x08;
    assert_int_equal(plcio_s7_client_write_area(d, PLCIO_S7_AREA_DB, DB, 0, sizeof db, db), PLCIO_OK);
    return d;
}

static void direct_free(plcio_s7_client *d) { plcio_s7_client_free(d); }

static int setup_sim(void **state) { return setup_peer(state, PEER_PLCIO_SIM); }

static void change_behind_engine(ctx *c)
{
    uint8_t b[2] = {0x04, 0xD2};
    assert_int_equal(plcio_s7_client_write_area(c->direct, PLCIO_S7_AREA_DB, DB, 0, 2, b), PLCIO_OK);
}

#endif
