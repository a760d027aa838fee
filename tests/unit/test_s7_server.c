/* S7 server over real sockets (in-process server on 127.0.0.1, port 0):
 * every transport size, return codes, callbacks and veto, area locks,
 * protection and password, caller-driven mode, the connection limit, and
 * bad input: wrong TPKT, truncated COTP, absurd item counts, requests and
 * answers past the PDU, a stalled half frame, a client that never reads.
 * Requests are built with the codec's client-side encoders. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/net.h"
#include "plcio/s7_server.h"
#include "plcio_test.h"
#include "s7/s7_codec.h"
#include "s7_raw_client.h"

#define TMO 3000

static plcio_s7_server *g_srv;
static int g_port;
static uint8_t g_veto; /* before_write answer for DB5 */
static int g_after_writes;

static uint8_t before_write(void *ctx, const plcio_s7_server_access *acc, const uint8_t *data)
{
    (void)ctx;
    (void)data;
    return acc->area == PLCIO_S7_SERVER_AREA_DB && acc->db_number == 5 ? g_veto : PLCIO_S7_SERVER_ITEM_OK;
}

static uint8_t before_read(void *ctx, const plcio_s7_server_access *acc, uint8_t *mem, size_t size)
{
    (void)ctx;
    (void)size;
    if (acc->area == PLCIO_S7_SERVER_AREA_DB && acc->db_number == 6) mem[0]++; /* refresh: a counter */
    if (acc->area == PLCIO_S7_SERVER_AREA_DB && acc->db_number == 7) return PLCIO_S7_SERVER_ITEM_ACCESS_DENIED;
    return PLCIO_S7_SERVER_ITEM_OK;
}

static void after_write(void *ctx, const plcio_s7_server_access *acc, uint8_t *mem, size_t size)
{
    (void)ctx;
    (void)acc;
    (void)mem;
    (void)size;
    g_after_writes++;
}

static unsigned g_threads = 1; /* serving threads of the next make_server */
static uint32_t g_idle_ms = 0; /* idle timeout of the next make_server */

static plcio_s7_server *make_server(unsigned max_conn, uint32_t frame_timeout_ms, const char *password, uint8_t level)
{
    plcio_s7_server_options cfg;
    plcio_s7_server_options_init(&cfg);
    cfg.threads = g_threads;
    cfg.idle_timeout_ms = g_idle_ms;
    cfg.port = 0;
    cfg.max_connections = max_conn;
    cfg.frame_timeout_ms = frame_timeout_ms;
    cfg.max_output_bytes = (size_t)64 * 1024;
    cfg.password = password;
    cfg.protection_level = level;
    cfg.callbacks.before_write = before_write;
    cfg.callbacks.before_read = before_read;
    cfg.callbacks.after_write = after_write;
    plcio_s7_server *srv = NULL;
    assert_int_equal(plcio_s7_server_new(&cfg, &srv, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_DB, 1, 1000, NULL), PLCIO_OK);
    for (uint16_t n = 5; n <= 7; n++)
        assert_int_equal(plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_DB, n, 16, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_M, 0, 64, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_T, 0, 8, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_C, 0, 8, NULL), PLCIO_OK);
    return srv;
}

static int setup(void **state)
{
    (void)state;
    g_veto = PLCIO_S7_SERVER_ITEM_OK;
    g_srv = make_server(64, 300, NULL, 1);
    assert_int_equal(plcio_s7_server_start(g_srv), PLCIO_OK);
    g_port = plcio_s7_server_port(g_srv);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    plcio_s7_server_free(g_srv);
    g_srv = NULL;
    return 0;
}

/* ---- a tiny client on the codec (s7_raw_client.h) ---- */

/* Read n items; fills out[] and returns the header error. */
static uint16_t cli_read(cli *c, const s7_item *items, size_t n, s7_data_item *out)
{
    uint8_t frame[1024];
    s7_out o = s7_out_make(frame, sizeof frame, 0);
    assert_int_equal(s7_read_request_encode(&o, ++c->ref, items, n), PLCIO_OK);
    cli_send(c, frame, o.len);
    cli_recv_pdu(c);
    assert_int_equal(c->pdu.rosctr, PLCIO_S7_ACK_DATA);
    uint16_t err = s7_pdu_error(&c->pdu);
    if (!err) assert_int_equal(s7_read_response_decode(&c->pdu, items, n, out), PLCIO_OK);
    return err;
}

static uint8_t cli_write1(cli *c, const s7_item *it, const uint8_t *data, uint16_t len)
{
    uint8_t frame[1024];
    s7_out o = s7_out_make(frame, sizeof frame, 0);
    s7_data_item d = {0, 0, data, len};
    assert_int_equal(s7_write_request_encode(&o, ++c->ref, it, &d, 1), PLCIO_OK);
    cli_send(c, frame, o.len);
    cli_recv_pdu(c);
    uint8_t rc = 0;
    assert_int_equal(s7_write_response_decode(&c->pdu, 1, &rc), PLCIO_OK);
    return rc;
}

static uint8_t *db(uint16_t n) { return plcio_s7_server_area_data(g_srv, PLCIO_S7_SERVER_AREA_DB, n, NULL); }

/* ======================================================================== */

static void test_negotiation(void **state)
{
    (void)state;
    cli c;
    assert_int_equal(cli_connect_raw(&c, g_port), PLCIO_OK);
    cli_cotp(&c);
    assert_int_equal(cli_setup(&c, 2000), 960);
    assert_int_equal(cli_setup(&c, 100), 240);
    assert_int_equal(cli_setup(&c, 480), 480);
    cli_close(&c);
}

static void test_every_transport_size(void **state)
{
    (void)state;
    cli c;
    cli_open(&c, g_port);
    uint8_t *d1 = db(1);
    for (int i = 0; i < 64; i++)
        d1[i] = (uint8_t)(0xA0 + i);
    s7_item items[10] = {
        item(PLCIO_S7_AREA_DB, 1, PLCIO_S7_TS_BIT, 0, 1),    item(PLCIO_S7_AREA_DB, 1, PLCIO_S7_TS_BYTE, 1, 3),
        item(PLCIO_S7_AREA_DB, 1, PLCIO_S7_TS_CHAR, 4, 2),   item(PLCIO_S7_AREA_DB, 1, PLCIO_S7_TS_WORD, 6, 2),
        item(PLCIO_S7_AREA_DB, 1, PLCIO_S7_TS_INT, 10, 1),   item(PLCIO_S7_AREA_DB, 1, PLCIO_S7_TS_DWORD, 12, 1),
        item(PLCIO_S7_AREA_DB, 1, PLCIO_S7_TS_DINT, 16, 2),  item(PLCIO_S7_AREA_DB, 1, PLCIO_S7_TS_REAL, 24, 1),
        item(PLCIO_S7_AREA_C, 0, PLCIO_S7_TS_COUNTER, 1, 2), item(PLCIO_S7_AREA_T, 0, PLCIO_S7_TS_TIMER, 3, 1),
    };
    items[0].bit = 5; /* 0xA0 has bit 5 set */
    s7_data_item out[10];
    assert_int_equal(cli_read(&c, items, 10, out), 0);
    static const size_t sizes[10] = {1, 3, 2, 4, 2, 4, 8, 4, 4, 2};
    for (int i = 0; i < 10; i++) {
        assert_int_equal(out[i].return_code, PLCIO_S7_RC_SUCCESS);
        assert_int_equal(out[i].len, sizes[i]);
    }
    assert_int_equal(out[0].data[0], 1);
    assert_memory_equal(out[1].data, d1 + 1, 3);
    assert_memory_equal(out[7].data, d1 + 24, 4);
    assert_int_equal(out[7].transport, PLCIO_S7_DTS_REAL);
    assert_int_equal(out[2].transport, PLCIO_S7_DTS_OCTET);
    assert_int_equal(out[4].transport, PLCIO_S7_DTS_INT);

    /* Writes of every size land where they should; a bit write touches one bit. */
    uint8_t v[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    for (int i = 1; i < 10; i++) {
        g_after_writes = 0;
        assert_int_equal(cli_write1(&c, &items[i], v, (uint16_t)sizes[i]), PLCIO_S7_RC_SUCCESS);
        assert_int_equal(g_after_writes, 1);
    }
    assert_memory_equal(d1 + 16, v, 8);
    uint8_t *cnt = plcio_s7_server_area_data(g_srv, PLCIO_S7_SERVER_AREA_C, 0, NULL);
    assert_memory_equal(cnt + 2, v, 4); /* counters 1 and 2 */
    d1[40] = 0xF0;
    s7_item bit = item(PLCIO_S7_AREA_DB, 1, PLCIO_S7_TS_BIT, 40, 1);
    bit.bit = 6;
    uint8_t zero = 0, one = 1;
    assert_int_equal(cli_write1(&c, &bit, &zero, 1), PLCIO_S7_RC_SUCCESS);
    assert_int_equal(d1[40], 0xB0);
    bit.bit = 0;
    assert_int_equal(cli_write1(&c, &bit, &one, 1), PLCIO_S7_RC_SUCCESS);
    assert_int_equal(d1[40], 0xB1);
    /* DI is served from the DBs. */
    s7_item di = item(PLCIO_S7_AREA_DI, 1, PLCIO_S7_TS_BYTE, 40, 1);
    assert_int_equal(cli_read(&c, &di, 1, out), 0);
    assert_int_equal(out[0].data[0], 0xB1);
    cli_close(&c);
}

static void test_return_codes(void **state)
{
    (void)state;
    cli c;
    cli_open(&c, g_port);
    s7_item items[6] = {
        item(PLCIO_S7_AREA_DB, 99, PLCIO_S7_TS_BYTE, 0, 1),  /* no such DB */
        item(PLCIO_S7_AREA_DB, 1, PLCIO_S7_TS_BYTE, 999, 2), /* past the end */
        item(PLCIO_S7_AREA_M, 0, PLCIO_S7_TS_TIMER, 0, 1),   /* timer size on M */
        item(PLCIO_S7_AREA_T, 0, PLCIO_S7_TS_WORD, 0, 1),    /* word on timers */
        item(PLCIO_S7_AREA_Q, 0, PLCIO_S7_TS_BYTE, 0, 1),    /* Q not registered */
        item(PLCIO_S7_AREA_DB, 7, PLCIO_S7_TS_BYTE, 0, 1),   /* vetoed by before_read */
    };
    s7_data_item out[6];
    assert_int_equal(cli_read(&c, items, 6, out), 0);
    assert_int_equal(out[0].return_code, PLCIO_S7_RC_OBJECT_NOT_FOUND);
    assert_int_equal(out[1].return_code, PLCIO_S7_RC_ADDRESS_OUT_OF_RANGE);
    assert_int_equal(out[2].return_code, PLCIO_S7_RC_TYPE_NOT_SUPPORTED);
    assert_int_equal(out[3].return_code, PLCIO_S7_RC_TYPE_NOT_SUPPORTED);
    assert_int_equal(out[4].return_code, PLCIO_S7_RC_OBJECT_NOT_FOUND);
    assert_int_equal(out[5].return_code, PLCIO_S7_RC_ACCESS_DENIED);
    /* before_read may refresh the data. */
    s7_item d6 = item(PLCIO_S7_AREA_DB, 6, PLCIO_S7_TS_BYTE, 0, 1);
    assert_int_equal(cli_read(&c, &d6, 1, out), 0);
    assert_int_equal(cli_read(&c, &d6, 1, out), 0);
    assert_int_equal(out[0].data[0], 2);
    /* before_write veto: nothing written. */
    g_veto = PLCIO_S7_SERVER_ITEM_ACCESS_DENIED;
    s7_item d5 = item(PLCIO_S7_AREA_DB, 5, PLCIO_S7_TS_BYTE, 0, 2);
    uint8_t v[2] = {0x11, 0x22};
    assert_int_equal(cli_write1(&c, &d5, v, 2), PLCIO_S7_RC_ACCESS_DENIED);
    assert_int_equal(db(5)[0], 0);
    g_veto = PLCIO_S7_SERVER_ITEM_OK;
    assert_int_equal(cli_write1(&c, &d5, v, 2), PLCIO_S7_RC_SUCCESS);
    assert_int_equal(db(5)[1], 0x22);
    /* Write whose data length disagrees with the item: hand-made frame. */
    static const uint8_t bad_len[] = {0x03, 0x00, 0x00, 0x24, 0x02, 0xF0, 0x80, 0x32, 0x01, 0x00, 0x00, 0x00,
                                      0x77, 0x00, 0x0E, 0x00, 0x05, 0x05, 0x01, 0x12, 0x0A, 0x10, 0x02, 0x00,
                                      0x04, 0x00, 0x05, 0x84, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x10, 0xAA};
    uint8_t frame[sizeof bad_len + 1];
    memcpy(frame, bad_len, sizeof bad_len);
    frame[sizeof bad_len] = 0xBB;
    frame[3] = (uint8_t)sizeof frame;
    frame[16] = 0x06; /* data length 6: 4 + 2 bytes */
    cli_send(&c, frame, sizeof frame);
    cli_recv_pdu(&c);
    assert_int_equal(c.pdu.rosctr, PLCIO_S7_ACK_DATA);
    assert_int_equal(c.pdu.data_len, 1);
    assert_int_equal(c.pdu.data[0], PLCIO_S7_RC_TYPE_INCONSISTENT);
    cli_close(&c);
}

static void test_answer_past_pdu(void **state)
{
    (void)state;
    cli c;
    cli_open(&c, g_port);
    s7_item items[3] = {item(PLCIO_S7_AREA_DB, 1, PLCIO_S7_TS_BYTE, 0, 200),
                        item(PLCIO_S7_AREA_DB, 1, PLCIO_S7_TS_BYTE, 200, 200),
                        item(PLCIO_S7_AREA_DB, 1, PLCIO_S7_TS_BYTE, 400, 200)};
    s7_data_item out[3];
    assert_int_equal(cli_read(&c, items, 3, out), 0x8500);
    /* The largest single read that fits: 480 - 14 - 4 = 462 bytes. */
    items[0].count = 462;
    assert_int_equal(cli_read(&c, items, 1, out), 0);
    items[0].count = 463;
    assert_int_equal(cli_read(&c, items, 1, out), 0x8500);
    /* A request larger than the negotiated PDU is refused, the connection lives. */
    uint8_t frame[700];
    s7_out o = s7_out_make(frame, sizeof frame, 0);
    uint8_t data[600] = {0};
    s7_item w = item(PLCIO_S7_AREA_DB, 1, PLCIO_S7_TS_BYTE, 0, 600);
    s7_data_item d = {0, 0, data, 600};
    assert_int_equal(s7_write_request_encode(&o, 9, &w, &d, 1), PLCIO_OK);
    cli_send(&c, frame, o.len);
    cli_recv_pdu(&c);
    assert_int_equal(s7_pdu_error(&c.pdu), 0x8500);
    items[0].count = 4;
    assert_int_equal(cli_read(&c, items, 1, out), 0);
    cli_close(&c);
}

static void test_absurd_item_count(void **state)
{
    (void)state;
    cli c;
    cli_open(&c, g_port);
    /* One item on the wire, the count byte says 200. */
    uint8_t frame[64];
    s7_out o = s7_out_make(frame, sizeof frame, 0);
    s7_item it = item(PLCIO_S7_AREA_DB, 1, PLCIO_S7_TS_BYTE, 0, 2);
    assert_int_equal(s7_read_request_encode(&o, 5, &it, 1), PLCIO_OK);
    frame[PLCIO_S7_FRAME_OVERHEAD + PLCIO_S7_HEADER_LEN + 1] = 200;
    cli_send(&c, frame, o.len);
    cli_recv_pdu(&c);
    assert_int_equal(s7_pdu_error(&c.pdu), 0x8500);
    /* 25 well-formed items: more than a CPU takes. */
    s7_item many[25];
    for (int i = 0; i < 25; i++)
        many[i] = item(PLCIO_S7_AREA_DB, 1, PLCIO_S7_TS_BYTE, (uint32_t)i, 1);
    uint8_t big[512];
    o = s7_out_make(big, sizeof big, 0);
    if (s7_read_request_encode(&o, 6, many, 25) == PLCIO_OK) {
        cli_send(&c, big, o.len);
        cli_recv_pdu(&c);
        assert_int_equal(s7_pdu_error(&c.pdu), 0x8500);
    }
    s7_data_item out[1];
    assert_int_equal(cli_read(&c, &it, 1, out), 0); /* still serving */
    cli_close(&c);
}

/* A good client keeps working while others misbehave. */
static void assert_server_serves(void)
{
    cli c;
    cli_open(&c, g_port);
    s7_item it = item(PLCIO_S7_AREA_M, 0, PLCIO_S7_TS_BYTE, 0, 4);
    s7_data_item out[1];
    assert_int_equal(cli_read(&c, &it, 1, out), 0);
    cli_close(&c);
}

static void expect_close_after(const uint8_t *bytes, size_t len, bool after_cotp)
{
    cli c;
    assert_int_equal(cli_connect_raw(&c, g_port), PLCIO_OK);
    if (after_cotp) cli_cotp(&c);
    cli_send(&c, bytes, len);
    assert_true(cli_closed_by_server(&c, TMO));
    cli_close(&c);
    assert_server_serves();
}

static void test_bad_frames(void **state)
{
    (void)state;
    static const uint8_t bad_version[] = {0x04, 0x00, 0x00, 0x07, 0x02, 0xF0, 0x80};
    static const uint8_t short_len[] = {0x03, 0x00, 0x00, 0x03, 0x02, 0xF0, 0x80};
    static const uint8_t huge_len[] = {0x03, 0x00, 0xFF, 0xFF, 0x02, 0xF0, 0x80, 0x32};
    static const uint8_t cotp_li_past_end[] = {0x03, 0x00, 0x00, 0x08, 0x10, 0xE0, 0x00, 0x00};
    static const uint8_t dt_before_cr[] = {0x03, 0x00, 0x00, 0x0A, 0x02, 0xF0, 0x80, 0x32, 0x01, 0x00};
    static const uint8_t bad_protocol_id[] = {0x03, 0x00, 0x00, 0x11, 0x02, 0xF0, 0x80, 0x33, 0x01,
                                              0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00};
    static const uint8_t s7_lengths_disagree[] = {0x03, 0x00, 0x00, 0x11, 0x02, 0xF0, 0x80, 0x32, 0x01,
                                                  0x00, 0x00, 0x00, 0x01, 0x00, 0x08, 0x00, 0x00};
    static const uint8_t unknown_tpdu[] = {0x03, 0x00, 0x00, 0x07, 0x02, 0x50, 0x80};
    expect_close_after(bad_version, sizeof bad_version, false);
    expect_close_after(short_len, sizeof short_len, false);
    expect_close_after(huge_len, sizeof huge_len, false);
    expect_close_after(cotp_li_past_end, sizeof cotp_li_past_end, false);
    expect_close_after(dt_before_cr, sizeof dt_before_cr, false);
    expect_close_after(bad_protocol_id, sizeof bad_protocol_id, true);
    expect_close_after(s7_lengths_disagree, sizeof s7_lengths_disagree, true);
    expect_close_after(unknown_tpdu, sizeof unknown_tpdu, true);
}

static void test_fragmented_pdu(void **state)
{
    (void)state;
    cli c;
    cli_open(&c, g_port);
    uint8_t frame[64];
    s7_out o = s7_out_make(frame, sizeof frame, 0);
    s7_item it = item(PLCIO_S7_AREA_DB, 1, PLCIO_S7_TS_BYTE, 0, 2);
    assert_int_equal(s7_read_request_encode(&o, 0x4242, &it, 1), PLCIO_OK);
    /* Split the S7 PDU over two DT TPDUs (first without EOT), sent byte by byte. */
    const uint8_t *s7 = frame + PLCIO_S7_FRAME_OVERHEAD;
    size_t s7_len = o.len - PLCIO_S7_FRAME_OVERHEAD, half = s7_len / 2;
    uint8_t two[128];
    size_t n = 0;
    two[n++] = 3;
    two[n++] = 0;
    two[n++] = 0;
    two[n++] = (uint8_t)(7 + half);
    two[n++] = 2;
    two[n++] = 0xF0;
    two[n++] = 0x00;
    memcpy(two + n, s7, half);
    n += half;
    two[n++] = 3;
    two[n++] = 0;
    two[n++] = 0;
    two[n++] = (uint8_t)(7 + s7_len - half);
    two[n++] = 2;
    two[n++] = 0xF0;
    two[n++] = 0x80;
    memcpy(two + n, s7 + half, s7_len - half);
    n += s7_len - half;
    for (size_t i = 0; i < n; i++)
        cli_send(&c, two + i, 1);
    cli_recv_pdu(&c);
    assert_int_equal(c.pdu.pdu_ref, 0x4242);
    assert_int_equal(c.pdu.rosctr, PLCIO_S7_ACK_DATA);
    cli_close(&c);
}

/* A client that proposed a small TPDU gets its answers split into DT TPDUs
 * of that size, the last one with EOT. */
static void test_small_tpdu(void **state)
{
    (void)state;
    cli c;
    assert_int_equal(cli_connect_raw(&c, g_port), PLCIO_OK);
    cotp_conn cr;
    memset(&cr, 0, sizeof cr);
    cr.src_ref = 2;
    cr.tpdu_size = 128;
    uint8_t frame[64];
    size_t len;
    assert_int_equal(cotp_cr_frame(frame, sizeof frame, &cr, &len), PLCIO_OK);
    cli_send(&c, frame, len);
    assert_int_equal(cli_recv_frame(&c, TMO), PLCIO_OK);
    cotp_tpdu t;
    assert_int_equal(cotp_decode(c.rx + 4, c.rx_len - 4, &t), PLCIO_OK);
    assert_int_equal(t.conn.tpdu_size, 128);
    assert_int_equal(cli_setup(&c, 240), 240);
    s7_item it = item(PLCIO_S7_AREA_DB, 1, PLCIO_S7_TS_BYTE, 0, 200);
    s7_out o = s7_out_make(frame, sizeof frame, 0);
    assert_int_equal(s7_read_request_encode(&o, 77, &it, 1), PLCIO_OK);
    cli_send(&c, frame, o.len);
    uint8_t pdu[512];
    size_t pdu_len = 0;
    int parts = 0;
    for (bool eot = false; !eot; parts++) {
        assert_int_equal(cli_recv_frame(&c, TMO), PLCIO_OK);
        assert_true(c.rx_len - 4 <= 128);
        const uint8_t *d;
        size_t dlen;
        assert_int_equal(cotp_dt_decode(c.rx + 4, c.rx_len - 4, &eot, &d, &dlen), PLCIO_OK);
        memcpy(pdu + pdu_len, d, dlen);
        pdu_len += dlen;
    }
    assert_int_equal(parts, 2);
    s7_pdu p;
    assert_int_equal(s7_pdu_decode(pdu, pdu_len, &p), PLCIO_OK);
    s7_data_item out;
    assert_int_equal(s7_read_response_decode(&p, &it, 1, &out), PLCIO_OK);
    assert_int_equal(out.return_code, PLCIO_S7_RC_SUCCESS);
    assert_int_equal(out.len, 200);
    cli_close(&c);
}

static void test_half_frame_stall(void **state)
{
    (void)state;
    cli c;
    cli_open(&c, g_port);
    static const uint8_t half[] = {0x03, 0x00, 0x00, 0x1F, 0x02, 0xF0, 0x80, 0x32, 0x01};
    cli_send(&c, half, sizeof half);
    assert_server_serves();                      /* others are served while it stalls */
    assert_true(cli_closed_by_server(&c, 3000)); /* frame timeout is 300 ms */
    cli_close(&c);
}

static void test_flood_without_reading(void **state)
{
    (void)state;
    cli c;
    cli_open(&c, g_port);
    uint8_t frame[64];
    s7_out o = s7_out_make(frame, sizeof frame, 0);
    s7_item it = item(PLCIO_S7_AREA_DB, 1, PLCIO_S7_TS_BYTE, 0, 460);
    assert_int_equal(s7_read_request_encode(&o, 1, &it, 1), PLCIO_OK);
    /* Each 31-byte request asks for a 481-byte answer; never read them. Stop
     * when the server has given up (send fails) or after 60 MB of answers. */
    int rc = PLCIO_OK;
    uint64_t give_up = net_deadline(30000);
    while ((rc == PLCIO_OK || rc == PLCIO_ETIMEDOUT) && plcio_monotonic_ns() < give_up)
        rc = net_send_all(c.fd, frame, o.len, net_deadline(200), NULL); /* a slow server only delays */
    assert_true(rc == PLCIO_ECLOSED || rc == PLCIO_EIO);                /* the server hung up on us */
    assert_true(cli_closed_by_server(&c, 5000));
    cli_close(&c);
    assert_server_serves();
}

/* At max_connections a new client evicts the connection silent longest
 * (here c[2]: every other one has read since); with several serving threads
 * the victim may live on another thread. */
static void check_eviction(unsigned threads, unsigned max)
{
    g_threads = threads;
    plcio_s7_server *srv = make_server(max, 5000, NULL, 1);
    g_threads = 1;
    assert_int_equal(plcio_s7_server_start(srv), PLCIO_OK);
    int port = plcio_s7_server_port(srv);
    cli c[8];
    assert_true(max <= 7);
    s7_item it = item(PLCIO_S7_AREA_M, 0, PLCIO_S7_TS_BYTE, 0, 1);
    s7_data_item out[1];
    for (unsigned i = 0; i < max; i++)
        cli_open(&c[i], port);
    plcio_test_sleep_ms(5);
    for (unsigned i = 0; i < max; i++)
        if (i != 2) assert_int_equal(cli_read(&c[i], &it, 1, out), 0);
    cli_open(&c[max], port); /* full: admitted, c[2] goes */
    assert_true(cli_closed_by_server(&c[2], TMO));
    for (unsigned i = 0; i <= max; i++)
        if (i != 2) assert_int_equal(cli_read(&c[i], &it, 1, out), 0);
    for (int i = 0; i < 200 && plcio_s7_server_client_count(srv) != max; i++)
        plcio_test_sleep_ms(10);
    assert_int_equal(plcio_s7_server_client_count(srv), max);
    for (unsigned i = 0; i <= max; i++)
        cli_close(&c[i]);
    plcio_s7_server_free(srv);
}

static void test_connection_limit(void **state)
{
    (void)state;
    check_eviction(1, 4);
}

static void test_many_connections(void **state)
{
    (void)state;
    enum { N = 80 };
    plcio_s7_server *srv = make_server(100, 5000, NULL, 1);
    assert_int_equal(plcio_s7_server_start(srv), PLCIO_OK);
    int port = plcio_s7_server_port(srv);
    cli *c = calloc(N, sizeof *c);
    for (int i = 0; i < N; i++)
        cli_open(&c[i], port);
    assert_int_equal(plcio_s7_server_client_count(srv), N);
    for (int i = 0; i < N; i++) {
        s7_item it = item(PLCIO_S7_AREA_DB, 1, PLCIO_S7_TS_BYTE, (uint32_t)i, 2);
        s7_data_item out[1];
        assert_int_equal(cli_read(&c[i], &it, 1, out), 0);
    }
    for (int i = 0; i < N; i++)
        cli_close(&c[i]);
    free(c);
    plcio_s7_server_free(srv);
}

/* Several serving threads: connections spread over them, all served, limit kept. */
static void test_many_connections_threads(void **state)
{
    g_threads = 3;
    test_many_connections(state);
    g_threads = 1;
    check_eviction(3, 5);
}

static void test_idle_timeout(void **state)
{
    (void)state;
    g_idle_ms = 200;
    plcio_s7_server *srv = make_server(8, 5000, NULL, 1);
    g_idle_ms = 0;
    assert_int_equal(plcio_s7_server_start(srv), PLCIO_OK);
    cli quiet, busy;
    cli_open(&quiet, plcio_s7_server_port(srv));
    cli_open(&busy, plcio_s7_server_port(srv));
    s7_item it = item(PLCIO_S7_AREA_M, 0, PLCIO_S7_TS_BYTE, 0, 1);
    s7_data_item out[1];
    for (int i = 0; i < 8; i++) { /* 800 ms of traffic on one, silence on the other */
        assert_int_equal(cli_read(&busy, &it, 1, out), 0);
        plcio_test_sleep_ms(100);
    }
    assert_true(cli_closed_by_server(&quiet, 3000));
    assert_int_equal(cli_read(&busy, &it, 1, out), 0);
    cli_close(&quiet);
    cli_close(&busy);
    plcio_s7_server_free(srv);
}

static void test_lock_area(void **state)
{
    (void)state;
    cli c;
    cli_open(&c, g_port);
    assert_int_equal(plcio_s7_server_lock_area(g_srv, PLCIO_S7_SERVER_AREA_DB, 1), PLCIO_OK);
    db(1)[500] = 0x5A; /* consistent change under the lock */
    s7_item it = item(PLCIO_S7_AREA_DB, 1, PLCIO_S7_TS_BYTE, 500, 1);
    uint8_t frame[64];
    s7_out o = s7_out_make(frame, sizeof frame, 0);
    assert_int_equal(s7_read_request_encode(&o, 3, &it, 1), PLCIO_OK);
    cli_send(&c, frame, o.len);
    assert_int_equal(cli_recv_frame(&c, 150), PLCIO_ETIMEDOUT); /* held by the lock */
    /* Unlocked by the thread that locked (a mutex is owned by its locker). */
    assert_int_equal(plcio_s7_server_unlock_area(g_srv, PLCIO_S7_SERVER_AREA_DB, 1), PLCIO_OK);
    assert_int_equal(cli_recv_frame(&c, TMO), PLCIO_OK);
    assert_int_equal(plcio_s7_server_lock_area(g_srv, PLCIO_S7_SERVER_AREA_DB, 77), PLCIO_ENOTFOUND);
    /* Areas come and go while the server runs. */
    assert_int_equal(plcio_s7_server_add_area(g_srv, PLCIO_S7_SERVER_AREA_DB, 77, 4, NULL), PLCIO_OK);
    s7_item d77 = item(PLCIO_S7_AREA_DB, 77, PLCIO_S7_TS_BYTE, 0, 4);
    s7_data_item out[1];
    assert_int_equal(cli_read(&c, &d77, 1, out), 0);
    assert_int_equal(out[0].return_code, PLCIO_S7_RC_SUCCESS);
    assert_int_equal(plcio_s7_server_remove_area(g_srv, PLCIO_S7_SERVER_AREA_DB, 77), PLCIO_OK);
    assert_int_equal(cli_read(&c, &d77, 1, out), 0);
    assert_int_equal(out[0].return_code, PLCIO_S7_RC_OBJECT_NOT_FOUND);
    cli_close(&c);
}

static uint16_t cli_userdata(cli *c, uint8_t group, uint8_t sub, const uint8_t *payload, uint16_t len)
{
    uint8_t frame[128];
    s7_out o = s7_out_make(frame, sizeof frame, 0);
    s7_userdata ud = s7_userdata_request(group, sub, 0, payload, len);
    assert_int_equal(s7_userdata_encode(&o, ++c->ref, &ud), PLCIO_OK);
    cli_send(c, frame, o.len);
    cli_recv_pdu(c);
    s7_userdata ans;
    assert_int_equal(s7_userdata_decode(&c->pdu, &ans), PLCIO_OK);
    return ans.error;
}

static void test_protection_and_password(void **state)
{
    (void)state;
    plcio_s7_server *srv = make_server(8, 5000, "Secret", 3);
    assert_int_equal(plcio_s7_server_start(srv), PLCIO_OK);
    cli c;
    cli_open(&c, plcio_s7_server_port(srv));
    s7_item it = item(PLCIO_S7_AREA_M, 0, PLCIO_S7_TS_BYTE, 0, 1);
    s7_data_item out[1];
    uint8_t one = 1;
    assert_int_equal(cli_read(&c, &it, 1, out), 0);
    assert_int_equal(out[0].return_code, PLCIO_S7_RC_ACCESS_DENIED); /* level 3: no reads */
    assert_int_equal(cli_write1(&c, &it, &one, 1), PLCIO_S7_RC_ACCESS_DENIED);
    uint8_t pw[8];
    assert_int_equal(s7_password_encode(pw, "wrong"), PLCIO_OK);
    assert_int_equal(cli_userdata(&c, PLCIO_S7_UD_GROUP_SECURITY, PLCIO_S7_UD_SECURITY_SET_PASSWORD, pw, 8), 0xD602);
    assert_int_equal(s7_password_encode(pw, "Secret"), PLCIO_OK);
    assert_int_equal(cli_userdata(&c, PLCIO_S7_UD_GROUP_SECURITY, PLCIO_S7_UD_SECURITY_SET_PASSWORD, pw, 8), 0);
    assert_int_equal(cli_read(&c, &it, 1, out), 0);
    assert_int_equal(out[0].return_code, PLCIO_S7_RC_SUCCESS);
    assert_int_equal(cli_write1(&c, &it, &one, 1), PLCIO_S7_RC_SUCCESS);
    /* The password holds for this session only. */
    cli other;
    cli_open(&other, plcio_s7_server_port(srv));
    assert_int_equal(cli_write1(&other, &it, &one, 1), PLCIO_S7_RC_ACCESS_DENIED);
    cli_close(&other);
    assert_int_equal(cli_userdata(&c, PLCIO_S7_UD_GROUP_SECURITY, PLCIO_S7_UD_SECURITY_CLEAR_PASSWORD, NULL, 0), 0);
    assert_int_equal(cli_write1(&c, &it, &one, 1), PLCIO_S7_RC_ACCESS_DENIED);
    cli_close(&c);
    plcio_s7_server_free(srv);
}

static void test_caller_driven(void **state)
{
    (void)state;
    plcio_s7_server *srv = make_server(8, 5000, NULL, 1);
    assert_int_equal(plcio_s7_server_run_once(srv, 0), PLCIO_ESTATE);
    assert_int_equal(plcio_s7_server_listen(srv), PLCIO_OK);
    assert_true(plcio_s7_server_fd(srv) >= 0);
    cli c;
    assert_int_equal(cli_connect_raw(&c, plcio_s7_server_port(srv)), PLCIO_OK);
    cotp_conn cr;
    memset(&cr, 0, sizeof cr);
    cr.src_ref = 7;
    cr.tpdu_size = 1024;
    uint8_t frame[64];
    size_t len;
    assert_int_equal(cotp_cr_frame(frame, sizeof frame, &cr, &len), PLCIO_OK);
    cli_send(&c, frame, len);
    for (int i = 0; i < 10; i++)
        assert_int_equal(plcio_s7_server_run_once(srv, 20), PLCIO_OK);
    assert_int_equal(cli_recv_frame(&c, TMO), PLCIO_OK);
    assert_int_equal(c.rx[5], PLCIO_COTP_CC);
    assert_int_equal(plcio_s7_server_client_count(srv), 1);
    cli_close(&c);
    plcio_s7_server_free(srv); /* stops and closes */
}

static void test_config_checks(void **state)
{
    (void)state;
    plcio_s7_server_options cfg;
    plcio_s7_server_options_init(&cfg);
    plcio_s7_server *srv = NULL;
    cfg.pdu_size = 100;
    assert_int_equal(plcio_s7_server_new(&cfg, &srv, NULL), PLCIO_EINVAL);
    cfg.pdu_size = 961;
    assert_int_equal(plcio_s7_server_new(&cfg, &srv, NULL), PLCIO_EINVAL);
    plcio_s7_server_options_init(&cfg);
    cfg.password = "123456789";
    assert_int_equal(plcio_s7_server_new(&cfg, &srv, NULL), PLCIO_EINVAL);
    plcio_s7_server_options_init(&cfg);
    /* secure by default: silent and half-frame connections are closed */
    assert_int_equal(cfg.idle_timeout_ms, 60000);
    assert_int_equal(cfg.frame_timeout_ms, 5000);
    cfg.idle_timeout_ms = PLCIO_S7_SERVER_TIMEOUT_MAX_MS + 1;
    assert_int_equal(plcio_s7_server_new(&cfg, &srv, NULL), PLCIO_EINVAL);
    plcio_s7_server_options_init(&cfg);
    cfg.frame_timeout_ms = PLCIO_S7_SERVER_TIMEOUT_MAX_MS + 1;
    assert_int_equal(plcio_s7_server_new(&cfg, &srv, NULL), PLCIO_EINVAL);
    plcio_s7_server_options_init(&cfg);
    cfg.max_connections = 0;
    assert_int_equal(plcio_s7_server_new(&cfg, &srv, NULL), PLCIO_EINVAL);
    plcio_s7_server_options_init(&cfg);
    assert_int_equal(plcio_s7_server_new(&cfg, &srv, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_DB, 0, 4, NULL), PLCIO_EINVAL);
    assert_int_equal(plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_DB, 1, 65536, NULL), PLCIO_EINVAL);
    assert_int_equal(plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_T, 0, 3, NULL), PLCIO_EINVAL);
    assert_int_equal(plcio_s7_server_add_area(srv, (plcio_s7_server_area)0x42, 0, 4, NULL), PLCIO_EINVAL);
    uint8_t mine[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_int_equal(plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_DB, 65535, sizeof mine, mine), PLCIO_OK);
    assert_ptr_equal(plcio_s7_server_area_data(srv, PLCIO_S7_SERVER_AREA_DB, 65535, NULL), mine);
    assert_int_equal(plcio_s7_server_remove_area(srv, PLCIO_S7_SERVER_AREA_DB, 65535), PLCIO_OK);
    assert_int_equal(plcio_s7_server_remove_area(srv, PLCIO_S7_SERVER_AREA_DB, 65535), PLCIO_ENOTFOUND);
    assert_int_equal(mine[7], 8); /* borrowed memory is not freed */
    plcio_s7_server_free(srv);
    plcio_s7_server_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_checks),
        cmocka_unit_test_setup_teardown(test_negotiation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_transport_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_return_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_past_pdu, setup, teardown),
        cmocka_unit_test_setup_teardown(test_absurd_item_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fragmented_pdu, setup, teardown),
        cmocka_unit_test_setup_teardown(test_small_tpdu, setup, teardown),
        cmocka_unit_test_setup_teardown(test_half_frame_stall, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flood_without_reading, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_area, setup, teardown),
        cmocka_unit_test(test_connection_limit),
        cmocka_unit_test(test_many_connections),
        cmocka_unit_test(test_many_connections_threads),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_protection_and_password),
        cmocka_unit_test(test_caller_driven),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
