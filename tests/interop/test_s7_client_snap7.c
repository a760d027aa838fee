/* plcio's S7 client against snap7's server (node-snap7, a foreign peer):
 * connection, PDU negotiation, reads/writes of every area, large reads split
 * and pipelined, multi-variable reads/writes with the optimizer, bits,
 * typed values, SZL, blocks, clock, control, password and error cases. */
#include <string.h>

#include "plcio/plcio.h"
#include "plcio/value.h"
#include "plcio_test.h"

static plcio_test_proc server;
static int port;

static int start_server(void **state)
{
    (void)state;
    char script[1024];
    snprintf(script, sizeof script, "%s/../s7_snap7_server.js", plcio_test_node_modules());
    const char *argv[] = {"node", script, "--seconds", "120", NULL};
    if (plcio_test_proc_start(&server, argv, "listening on", 20000, 150) != 0) return -1;
    port = plcio_test_port_from_line(server.line);
    return port > 0 ? 0 : -1;
}

static int stop_server(void **state)
{
    (void)state;
    plcio_test_proc_stop(&server);
    return 0;
}

static plcio_s7_client *connect_client(unsigned jobs)
{
    plcio_s7_client_options o;
    plcio_s7_client_options_init(&o);
    o.port = port;
    o.parallel_jobs = jobs;
    plcio_s7_client *c = NULL;
    (void)plcio_s7_client_new(NULL, &o, &c, NULL);
    assert_non_null(c);
    int rc = plcio_s7_client_connect(c);
    if (rc) print_message("connect: %s\n", plcio_s7_client_last_error(c)->text);
    assert_int_equal(rc, PLCIO_OK);
    assert_true(plcio_s7_client_is_connected(c));
    return c;
}

static uint8_t db2_byte(uint32_t i) { return (uint8_t)((i & 0xFF) ^ (i >> 8)); }

static void test_connect_and_small_read(void **state)
{
    (void)state;
    plcio_s7_client *c = connect_client(8);
    assert_int_equal(plcio_s7_client_pdu_size(c), 960);
    assert_int_equal(plcio_s7_client_parallel_jobs(c), 8);
    uint8_t b[4];
    assert_int_equal(plcio_s7_client_read_area(c, PLCIO_S7_AREA_DB, 1, 0, 4, b), PLCIO_OK);
    static const uint8_t want[] = {0x04, 0xD2, 0x40, 0x60};
    assert_memory_equal(b, want, 4);
    plcio_s7_client_close(c);
    assert_false(plcio_s7_client_is_connected(c));
    assert_int_equal(plcio_s7_client_read_area(c, PLCIO_S7_AREA_DB, 1, 0, 4, b), PLCIO_ENOTCONN);
    plcio_s7_client_free(c);
}

static void test_large_read_pipelined(void **state)
{
    (void)state;
    for (unsigned jobs = 1; jobs <= 8; jobs += 7) {
        plcio_s7_client *c = connect_client(jobs);
        static uint8_t big[65535];
        memset(big, 0xEE, sizeof big);
        assert_int_equal(plcio_s7_client_read_area(c, PLCIO_S7_AREA_DB, 2, 0, sizeof big, big), PLCIO_OK);
        for (uint32_t i = 0; i < sizeof big; i++)
            if (big[i] != db2_byte(i)) fail_msg("DB2 byte %u: %02x != %02x", i, big[i], db2_byte(i));
        /* an odd start and length */
        assert_int_equal(plcio_s7_client_read_area(c, PLCIO_S7_AREA_DB, 2, 1001, 3333, big), PLCIO_OK);
        for (uint32_t i = 0; i < 3333; i++)
            assert_int_equal(big[i], db2_byte(1001 + i));
        plcio_s7_client_free(c);
    }
}

static void test_write_every_area(void **state)
{
    (void)state;
    plcio_s7_client *c = connect_client(8);
    static const plcio_s7_area areas[] = {PLCIO_S7_AREA_DB, PLCIO_S7_AREA_MK, PLCIO_S7_AREA_PE, PLCIO_S7_AREA_PA};
    for (size_t a = 0; a < 4; a++) {
        uint8_t w[200], r[200];
        for (int i = 0; i < 200; i++)
            w[i] = (uint8_t)((unsigned)i * 7u + (unsigned)a);
        uint16_t db = areas[a] == PLCIO_S7_AREA_DB ? 3 : 0;
        assert_int_equal(plcio_s7_client_write_area(c, areas[a], db, 20, 200, w), PLCIO_OK);
        assert_int_equal(plcio_s7_client_read_area(c, areas[a], db, 20, 200, r), PLCIO_OK);
        assert_memory_equal(w, r, 200);
    }
    /* a write larger than one PDU, split and pipelined */
    static uint8_t w[1000], r[1000];
    for (int i = 0; i < 1000; i++)
        w[i] = (uint8_t)(i * 13);
    assert_int_equal(plcio_s7_client_write_area(c, PLCIO_S7_AREA_DB, 3, 0, 1000, w), PLCIO_OK);
    assert_int_equal(plcio_s7_client_read_area(c, PLCIO_S7_AREA_DB, 3, 0, 1000, r), PLCIO_OK);
    assert_memory_equal(w, r, 1000);
    /* counters and timers: elements of 2 bytes */
    uint8_t ct[8] = {0, 1, 0, 2, 0, 3, 0, 4}, back[8];
    assert_int_equal(plcio_s7_client_write_area(c, PLCIO_S7_AREA_CT, 0, 5, 4, ct), PLCIO_OK);
    assert_int_equal(plcio_s7_client_read_area(c, PLCIO_S7_AREA_CT, 0, 5, 4, back), PLCIO_OK);
    assert_memory_equal(ct, back, 8);
    assert_int_equal(plcio_s7_client_write_area(c, PLCIO_S7_AREA_TM, 0, 1, 4, ct), PLCIO_OK);
    assert_int_equal(plcio_s7_client_read_area(c, PLCIO_S7_AREA_TM, 0, 1, 4, back), PLCIO_OK);
    assert_memory_equal(ct, back, 8);
    plcio_s7_client_free(c);
}

static void test_bits(void **state)
{
    (void)state;
    plcio_s7_client *c = connect_client(8);
    uint8_t b = 0xA5;
    assert_int_equal(plcio_s7_client_write_area(c, PLCIO_S7_AREA_MK, 0, 40, 1, &b), PLCIO_OK);
    assert_int_equal(plcio_s7_client_write_bit(c, PLCIO_S7_AREA_MK, 0, 40, 1, true), PLCIO_OK);
    assert_int_equal(plcio_s7_client_write_bit(c, PLCIO_S7_AREA_MK, 0, 40, 7, false), PLCIO_OK);
    assert_int_equal(plcio_s7_client_read_area(c, PLCIO_S7_AREA_MK, 0, 40, 1, &b), PLCIO_OK);
    assert_int_equal(b, 0x27); /* 1010 0101 -> bit 1 set, bit 7 cleared, others kept */
    bool v = false;
    assert_int_equal(plcio_s7_client_read_bit(c, PLCIO_S7_AREA_MK, 0, 40, 5, &v), PLCIO_OK);
    assert_true(v);
    assert_int_equal(plcio_s7_client_read_bit(c, PLCIO_S7_AREA_MK, 0, 40, 6, &v), PLCIO_OK);
    assert_false(v);
    plcio_s7_client_free(c);
}

static void test_multi_var(void **state)
{
    (void)state;
    plcio_s7_client *c = connect_client(8);
    enum { N = 45 };
    plcio_s7_var v[N];
    uint8_t buf[N][16] = {{0}};
    for (int i = 0; i < N; i++) {
        /* scattered DB2 items (some neighbours merge), M bytes and bits */
        if (i < 30)
            v[i] =
                (plcio_s7_var){PLCIO_S7_AREA_DB, 2, (uint32_t)(i * 997 % 60000), 4 + (uint32_t)i % 9, -1, buf[i], 0, 0};
        else if (i < 40)
            v[i] = (plcio_s7_var){PLCIO_S7_AREA_MK, 0, (uint32_t)(100 + i * 3), 2, -1, buf[i], 0, 0};
        else
            v[i] = (plcio_s7_var){PLCIO_S7_AREA_DB, 2, (uint32_t)(300 + i), 1, i % 8, buf[i], 0, 0};
    }
    uint8_t mk[256];
    assert_int_equal(plcio_s7_client_read_area(c, PLCIO_S7_AREA_MK, 0, 0, 256, mk), PLCIO_OK);
    assert_int_equal(plcio_s7_client_read_vars(c, v, N), PLCIO_OK);
    for (int i = 0; i < N; i++) {
        assert_int_equal(v[i].result, PLCIO_OK);
        if (i < 30)
            for (uint32_t k = 0; k < v[i].size; k++)
                assert_int_equal(buf[i][k], db2_byte(v[i].start + k));
        else if (i < 40)
            assert_memory_equal(buf[i], mk + v[i].start, 2);
        else
            assert_int_equal(buf[i][0], (db2_byte(v[i].start) >> v[i].bit) & 1);
    }
    /* one missing DB and one out-of-range item among good ones: each gets its own verdict */
    uint8_t a[4], b[4], d[4], e[4];
    plcio_s7_var m[4] = {{PLCIO_S7_AREA_DB, 1, 0, 4, -1, a, 0, 0},
                         {PLCIO_S7_AREA_DB, 99, 0, 4, -1, b, 0, 0},
                         {PLCIO_S7_AREA_DB, 1, 98, 4, -1, d, 0, 0},
                         {PLCIO_S7_AREA_DB, 1, 10, 4, -1, e, 0, 0}};
    assert_int_equal(plcio_s7_client_read_vars(c, m, 4), PLCIO_EPLC);
    assert_int_equal(m[0].result, PLCIO_OK);
    assert_int_equal(m[1].result, PLCIO_EPLC);
    assert_int_equal(m[1].item_code, 0x0A);
    assert_int_equal(m[2].result, PLCIO_EPLC);
    assert_int_equal(m[2].item_code, 0x05);
    assert_int_equal(m[3].result, PLCIO_OK);
    assert_int_equal(e[0], 10);
    print_message("error: %s\n", plcio_s7_client_last_error(c)->text);
    assert_non_null(strstr(plcio_s7_client_last_error(c)->text, "DB99.DBB0 (4 bytes): object does not exist"));
    /* multi write */
    uint8_t w1[3] = {1, 2, 3}, w2[5] = {9, 8, 7, 6, 5}, one = 1;
    plcio_s7_var w[3] = {{PLCIO_S7_AREA_DB, 3, 500, 3, -1, w1, 0, 0},
                         {PLCIO_S7_AREA_MK, 0, 200, 5, -1, w2, 0, 0},
                         {PLCIO_S7_AREA_DB, 3, 600, 1, 3, &one, 0, 0}};
    assert_int_equal(plcio_s7_client_write_vars(c, w, 3), PLCIO_OK);
    uint8_t r[5];
    assert_int_equal(plcio_s7_client_read_area(c, PLCIO_S7_AREA_DB, 3, 500, 3, r), PLCIO_OK);
    assert_memory_equal(r, w1, 3);
    assert_int_equal(plcio_s7_client_read_area(c, PLCIO_S7_AREA_MK, 0, 200, 5, r), PLCIO_OK);
    assert_memory_equal(r, w2, 5);
    assert_int_equal(plcio_s7_client_read_area(c, PLCIO_S7_AREA_DB, 3, 600, 1, r), PLCIO_OK);
    assert_int_equal(r[0] & 0x08, 0x08);
    /* a write to a missing DB is reported, never as done */
    plcio_s7_var bad = {PLCIO_S7_AREA_DB, 77, 0, 3, -1, w1, 0, 0};
    assert_int_equal(plcio_s7_client_write_vars(c, &bad, 1), PLCIO_EPLC);
    assert_int_equal(plcio_s7_client_last_item_code(c), 0x0A);
    assert_true(plcio_s7_client_is_connected(c));
    plcio_s7_client_free(c);
}

/* A poll: the same variable read again and again reuses its plan and is
 * read straight into the caller's buffer. Values follow the PLC's changes,
 * other variables, several at once, a bit of the same byte and a refused
 * read in between do not leak into it, and a refused read leaves the
 * buffer as it was. */
static void test_poll_same_variable(void **state)
{
    (void)state;
    plcio_s7_client *c = connect_client(1);
    uint8_t w[50], r[4], other[4];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 50; i++)
            w[i] = (uint8_t)(i * 3 + round * 50 + 1);
        assert_int_equal(plcio_s7_client_write_area(c, PLCIO_S7_AREA_DB, 3, 950, 50, w), PLCIO_OK);
        for (int k = 0; k < 3; k++) {
            memset(r, 0, sizeof r);
            assert_int_equal(plcio_s7_client_read_area(c, PLCIO_S7_AREA_DB, 3, 960, 4, r), PLCIO_OK);
            assert_memory_equal(r, w + 10, 4);
        }
        /* another variable, then the first again */
        assert_int_equal(plcio_s7_client_read_area(c, PLCIO_S7_AREA_DB, 3, 970, 4, other), PLCIO_OK);
        assert_memory_equal(other, w + 20, 4);
        assert_int_equal(plcio_s7_client_read_area(c, PLCIO_S7_AREA_DB, 3, 960, 4, r), PLCIO_OK);
        assert_memory_equal(r, w + 10, 4);
        /* two at once (the general plan reuses the same buffers), then the first again */
        uint8_t a[3], b[5];
        plcio_s7_var vars[2] = {{PLCIO_S7_AREA_DB, 3, 990, 3, -1, a, 0, 0}, {PLCIO_S7_AREA_DB, 3, 951, 5, -1, b, 0, 0}};
        assert_int_equal(plcio_s7_client_read_vars(c, vars, 2), PLCIO_OK);
        assert_memory_equal(a, w + 40, 3);
        assert_memory_equal(b, w + 1, 5);
        assert_int_equal(plcio_s7_client_read_area(c, PLCIO_S7_AREA_DB, 3, 960, 4, r), PLCIO_OK);
        assert_memory_equal(r, w + 10, 4);
        /* a bit of the first byte, then the bytes */
        for (unsigned bit = 0; bit < 8; bit++) {
            bool v = !((w[10] >> bit) & 1u);
            assert_int_equal(plcio_s7_client_read_bit(c, PLCIO_S7_AREA_DB, 3, 960, bit, &v), PLCIO_OK);
            assert_int_equal(v, (w[10] >> bit) & 1u);
        }
        assert_int_equal(plcio_s7_client_read_area(c, PLCIO_S7_AREA_DB, 3, 960, 4, r), PLCIO_OK);
        assert_memory_equal(r, w + 10, 4);
    }
    /* refused (beyond DB3's 1000 bytes), twice: the buffer is not touched */
    uint8_t bad[4] = {0xEE, 0xEE, 0xEE, 0xEE};
    static const uint8_t untouched[4] = {0xEE, 0xEE, 0xEE, 0xEE};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(plcio_s7_client_read_area(c, PLCIO_S7_AREA_DB, 3, 998, 4, bad), PLCIO_EPLC);
        assert_int_equal(plcio_s7_client_last_item_code(c), 0x05); /* address out of range */
        assert_memory_equal(bad, untouched, 4);
    }
    assert_int_equal(plcio_s7_client_read_area(c, PLCIO_S7_AREA_DB, 3, 960, 4, r), PLCIO_OK);
    assert_memory_equal(r, w + 10, 4);
    /* counters (2-byte elements) polled into another buffer each time: each
     * read fills its own buffer and leaves the last one alone */
    uint8_t ct[3][8], want[8], more[2];
    plcio_s7_var two[2] = {{PLCIO_S7_AREA_CT, 0, 20, 4, -1, want, 0, 0}, {PLCIO_S7_AREA_CT, 0, 40, 1, -1, more, 0, 0}};
    assert_int_equal(plcio_s7_client_read_vars(c, two, 2), PLCIO_OK);
    for (int k = 0; k < 3; k++) {
        memset(ct, 0x55, sizeof ct);
        assert_int_equal(plcio_s7_client_read_area(c, PLCIO_S7_AREA_CT, 0, 20, 4, ct[k]), PLCIO_OK);
        assert_memory_equal(ct[k], want, 8);
        for (int o = 0; o < 3; o++)
            for (int i = 0; o != k && i < 8; i++)
                assert_int_equal(ct[o][i], 0x55);
    }
    plcio_s7_client_free(c);
}

static void test_typed_values(void **state)
{
    (void)state;
    plcio_s7_client *c = connect_client(8);
    plcio_value v;
    plcio_value_init(&v, PLCIO_TYPE_INT);
    assert_int_equal(plcio_s7_client_read_value(c, "DB1.DBW0:INT", &v), PLCIO_OK);
    assert_int_equal(v.v.i, 1234);
    assert_int_equal(plcio_s7_client_read_value(c, "DB1.DBD2:REAL", &v), PLCIO_OK);
    assert_true(v.v.f == 3.5);
    assert_int_equal(plcio_s7_client_write_text(c, "DB3.DBD8:REAL", "-12.25"), PLCIO_OK);
    assert_int_equal(plcio_s7_client_read_value(c, "DB3:8:REAL", &v), PLCIO_OK);
    assert_true(v.v.f == -12.25);
    assert_int_equal(plcio_s7_client_write_text(c, "DB3.DBB20:STRING[10]", "hello"), PLCIO_OK);
    assert_int_equal(plcio_s7_client_read_value(c, "DB3:20:STRING[10]", &v), PLCIO_OK);
    assert_string_equal(plcio_value_text(&v, NULL), "hello");
    assert_int_equal(plcio_s7_client_write_text(c, "M50.3", "true"), PLCIO_OK);
    assert_int_equal(plcio_s7_client_read_value(c, "M50.3", &v), PLCIO_OK);
    assert_true(v.v.b);
    assert_int_equal(plcio_s7_client_write_text(c, "DB3.DBW30:INT", "70000"), PLCIO_ERANGE);
    assert_int_equal(plcio_s7_client_read_value(c, "DB12.DBW0", &v), PLCIO_EPLC);
    assert_non_null(strstr(plcio_s7_client_last_error(c)->text, "DB12"));
    assert_non_null(strstr(plcio_s7_client_last_error(c)->text, "does not exist"));
    plcio_s7_client_free(c);
}

static void test_szl_blocks_clock_control(void **state)
{
    (void)state;
    plcio_s7_client *c = connect_client(8);
    plcio_s7_cpu_info ci;
    assert_int_equal(plcio_s7_client_cpu_info(c, &ci), PLCIO_OK);
    print_message("cpu: '%s' '%s' order '%s' fw '%s' state %d pdu %d\n", ci.module_type, ci.as_name, ci.order_code,
                  ci.firmware, ci.cpu_state, ci.max_pdu);
    assert_true(ci.module_type[0] != '\0');
    assert_true(ci.order_code[0] != '\0');
    assert_int_equal(ci.cpu_state, 0x08);
    /* the SZL list (0x0000) is long: every fragment is collected */
    static uint8_t szl[8192];
    size_t n = 0;
    assert_int_equal(plcio_s7_client_read_szl(c, 0x0000, 0, szl, sizeof szl, &n), PLCIO_OK);
    assert_true(n > 8);
    assert_int_equal(plcio_get_u16be(szl), 0x0000);
    assert_int_equal(plcio_s7_client_read_szl(c, 0x00A0, 0, szl, sizeof szl, &n), PLCIO_OK); /* diag buffer */
    /* header-only lists: snap7 answers the full list's entry length and count, no records */
    assert_int_equal(plcio_s7_client_read_szl(c, 0x0F1C, 0, szl, sizeof szl, &n), PLCIO_OK);
    assert_int_equal(n, 8);
    assert_int_equal(plcio_get_u16be(szl), 0x0F1C);
    assert_int_equal(plcio_get_u16be(szl + 4), 34);
    assert_int_equal(plcio_get_u16be(szl + 6), 10);
    assert_int_equal(plcio_s7_client_read_szl(c, 0x0F14, 0, szl, sizeof szl, &n), PLCIO_OK);
    assert_int_equal(n, 8);
    assert_int_equal(plcio_get_u16be(szl + 6), 9);
    assert_int_equal(plcio_s7_client_read_szl(c, 0x1234, 0, szl, sizeof szl, &n), PLCIO_EPLC);
    print_message("unknown SZL: %s\n", plcio_s7_client_last_error(c)->text);
    plcio_s7_block_count bc;
    int lrc = plcio_s7_client_list_blocks(c, &bc);
    if (lrc) print_message("list blocks: %s\n", plcio_s7_client_last_error(c)->text);
    assert_int_equal(lrc, PLCIO_OK);
    assert_int_equal(bc.db, 3);
    uint16_t nums[16];
    assert_int_equal(plcio_s7_client_list_blocks_of_type(c, "DB", nums, 16, &n), PLCIO_OK);
    assert_int_equal(n, 3);
    assert_int_equal(nums[0], 1);
    assert_int_equal(nums[2], 3);
    plcio_s7_block_details bd;
    assert_int_equal(plcio_s7_client_block_info(c, "DB", 2, &bd), PLCIO_OK);
    assert_int_equal(bd.number, 2);
    assert_int_equal(bd.mc7_size, 65535);
    /* snap7's server answers this with a malformed PDU (protocol id 0x02 and
     * stale bytes, see docs/s7.md): a clear protocol error, then reconnect */
    assert_int_equal(plcio_s7_client_block_info(c, "DB", 42, &bd), PLCIO_EPROTO);
    print_message("missing block: %s\n", plcio_s7_client_last_error(c)->text);
    assert_false(plcio_s7_client_is_connected(c));
    assert_int_equal(plcio_s7_client_connect(c), PLCIO_OK);
    plcio_s7_clock t;
    assert_int_equal(plcio_s7_client_get_clock(c, &t), PLCIO_OK);
    assert_true(t.year >= 2024 && t.month >= 1 && t.month <= 12);
    plcio_s7_clock set = {2026, 9, 23, 12, 34, 56, 789, 0};
    assert_int_equal(plcio_s7_client_set_clock(c, &set), PLCIO_OK);
    assert_int_equal(plcio_s7_client_plc_stop(c), PLCIO_OK);
    int st = 0;
    assert_int_equal(plcio_s7_client_get_cpu_state(c, &st), PLCIO_OK);
    assert_int_equal(st, 0x04);
    assert_int_equal(plcio_s7_client_plc_hot_start(c), PLCIO_OK);
    assert_int_equal(plcio_s7_client_get_cpu_state(c, &st), PLCIO_OK);
    assert_int_equal(st, 0x08);
    assert_int_equal(plcio_s7_client_plc_stop(c), PLCIO_OK);
    assert_int_equal(plcio_s7_client_plc_cold_start(c), PLCIO_OK);
    assert_int_equal(plcio_s7_client_compress(c), PLCIO_OK);
    assert_int_equal(plcio_s7_client_copy_ram_to_rom(c), PLCIO_OK);
    assert_int_equal(plcio_s7_client_delete_block(c, "DB", 77), PLCIO_OK);
    /* snap7's server refuses every upload: the PLC's reason is named */
    uint8_t up[256];
    size_t ulen = 0;
    assert_int_equal(plcio_s7_client_upload(c, "DB", 1, up, sizeof up, &ulen), PLCIO_EPLC);
    print_message("upload: %s\n", plcio_s7_client_last_error(c)->text);
    assert_int_equal(plcio_s7_client_last_s7_error(c), 0xD241);
    assert_true(plcio_s7_client_is_connected(c));
    assert_int_equal(plcio_s7_client_set_password(c, "SECRET"), PLCIO_OK);
    assert_int_equal(plcio_s7_client_clear_password(c), PLCIO_OK);
    assert_int_equal(plcio_s7_client_set_password(c, "toolongpassword"), PLCIO_EINVAL);
    assert_true(plcio_s7_client_is_connected(c));
    plcio_s7_client_free(c);
}

static void test_url_options(void **state)
{
    (void)state;
    char text[128];
    snprintf(text, sizeof text, "s7://127.0.0.1:%d?rack=0&slot=2&pdu=480&parallel=3&type=op", port);
    plcio_url url;
    assert_int_equal(plcio_url_parse(text, &url, NULL), PLCIO_OK);
    plcio_s7_client_options o;
    plcio_s7_client_options_init(&o);
    plcio_error err = {0};
    assert_int_equal(plcio_s7_client_options_from_url(&o, &url, &err), PLCIO_OK);
    plcio_s7_client *c = NULL;
    (void)plcio_s7_client_new(NULL, &o, &c, NULL);
    assert_int_equal(plcio_s7_client_connect(c), PLCIO_OK);
    assert_int_equal(plcio_s7_client_pdu_size(c), 480);
    assert_int_equal(plcio_s7_client_parallel_jobs(c), 3);
    static uint8_t big[20000];
    assert_int_equal(plcio_s7_client_read_area(c, PLCIO_S7_AREA_DB, 2, 0, sizeof big, big), PLCIO_OK);
    assert_int_equal(big[19999], db2_byte(19999));
    plcio_s7_client_free(c);
    assert_int_equal(plcio_url_parse("s7://h?slott=1", &url, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_client_options_from_url(&o, &url, &err), PLCIO_ESYNTAX);
    assert_int_equal(plcio_url_parse("s7://h?rack=9", &url, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_client_options_from_url(&o, &url, &err), PLCIO_ERANGE);
}

/* ---- event-loop mode: poll() on the client's fd, nothing blocks ---- */
#include <poll.h>

typedef struct done_flag {
    bool done;
    int result;
    int calls;
} done_flag;

static void on_done(void *ctx, plcio_s7_client *c, int result)
{
    (void)c;
    done_flag *d = ctx;
    d->done = true;
    d->result = result;
    d->calls++;
}

static void drive(plcio_s7_client *c, done_flag *d)
{
    uint64_t until = plcio_monotonic_ns() + 20 * PLCIO_NS_PER_S;
    while (!d->done) {
        assert_true(plcio_monotonic_ns() < until);
        uint64_t deadline;
        unsigned want = plcio_s7_client_wants(c, &deadline);
        struct pollfd pfd = {
            plcio_s7_client_fd(c),
            (short)((want & PLCIO_S7_WANT_READ ? POLLIN : 0) | (want & PLCIO_S7_WANT_WRITE ? POLLOUT : 0)), 0};
        int wait_ms = 100;
        uint64_t now = plcio_monotonic_ns();
        if (deadline && deadline > now && (deadline - now) / PLCIO_NS_PER_MS < 100)
            wait_ms = (int)((deadline - now) / PLCIO_NS_PER_MS) + 1;
        poll(&pfd, pfd.fd >= 0 && want ? 1 : 0, wait_ms);
        plcio_s7_client_process(c);
    }
}

static void test_async(void **state)
{
    (void)state;
    plcio_s7_client_options o;
    plcio_s7_client_options_init(&o);
    o.port = port;
    plcio_s7_client *c = NULL;
    (void)plcio_s7_client_new(NULL, &o, &c, NULL);
    assert_int_equal(plcio_s7_client_connect_async(c), PLCIO_OK);
    enum { N = 30 };
    plcio_s7_var v[N];
    static uint8_t buf[N][2000];
    for (int i = 0; i < N; i++)
        v[i] = (plcio_s7_var){PLCIO_S7_AREA_DB, 2, (uint32_t)(i * 2000), 2000, -1, buf[i], 0, 0};
    done_flag d = {false, 0, 0};
    assert_int_equal(plcio_s7_client_read_vars_async(c, v, N, on_done, &d), PLCIO_OK);
    assert_int_equal(plcio_s7_client_read_vars_async(c, v, N, on_done, &d), PLCIO_EBUSY);
    assert_true(plcio_s7_client_busy(c));
    drive(c, &d);
    assert_int_equal(d.result, PLCIO_OK);
    assert_int_equal(d.calls, 1);
    assert_false(plcio_s7_client_busy(c));
    for (int i = 0; i < N; i++)
        for (uint32_t k = 0; k < 2000; k += 97)
            assert_int_equal(buf[i][k], db2_byte((uint32_t)i * 2000 + k));
    /* write then read back, and a refused item among good ones */
    uint8_t w[4] = {9, 8, 7, 6}, r[4], x[2];
    plcio_s7_var wv = {PLCIO_S7_AREA_DB, 3, 40, 4, -1, w, 0, 0};
    d = (done_flag){false, 0, 0};
    assert_int_equal(plcio_s7_client_write_vars_async(c, &wv, 1, on_done, &d), PLCIO_OK);
    drive(c, &d);
    assert_int_equal(d.result, PLCIO_OK);
    plcio_s7_var rv[2] = {{PLCIO_S7_AREA_DB, 3, 40, 4, -1, r, 0, 0}, {PLCIO_S7_AREA_DB, 55, 0, 2, -1, x, 0, 0}};
    d = (done_flag){false, 0, 0};
    assert_int_equal(plcio_s7_client_read_vars_async(c, rv, 2, on_done, &d), PLCIO_OK);
    drive(c, &d);
    assert_int_equal(d.result, PLCIO_EPLC);
    assert_int_equal(rv[0].result, PLCIO_OK);
    assert_memory_equal(r, w, 4);
    assert_int_equal(rv[1].item_code, 0x0A);
    /* the blocking calls still work on the same handle */
    assert_int_equal(plcio_s7_client_read_area(c, PLCIO_S7_AREA_DB, 3, 40, 4, r), PLCIO_OK);
    plcio_s7_client_free(c);
}

/* A routed connection carries the route in an extended called TSAP; snap7's
 * server takes any TSAP, so the long one must get through COTP as it is. */
static void test_extended_tsap(void **state)
{
    (void)state;
    static const uint8_t route[] = {0x01, 0x02, 0x00, 0x11, 0x22, 0x33, 0x44, 0x01, 0x02, 0x0A, 0x00};
    plcio_s7_client_options o;
    plcio_s7_client_options_init(&o);
    o.port = port;
    o.remote_tsap_bytes = route;
    o.remote_tsap_len = sizeof route;
    plcio_s7_client *c = NULL;
    (void)plcio_s7_client_new(NULL, &o, &c, NULL);
    int rc = plcio_s7_client_connect(c);
    print_message("extended TSAP: %s\n", rc ? plcio_s7_client_last_error(c)->text : "accepted");
    assert_int_equal(rc, PLCIO_OK);
    uint8_t b[2];
    assert_int_equal(plcio_s7_client_read_area(c, PLCIO_S7_AREA_DB, 1, 0, 2, b), PLCIO_OK);
    assert_int_equal(b[0], 0x04);
    plcio_s7_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_and_small_read),
        cmocka_unit_test(test_large_read_pipelined),
        cmocka_unit_test(test_write_every_area),
        cmocka_unit_test(test_bits),
        cmocka_unit_test(test_multi_var),
        cmocka_unit_test(test_poll_same_variable),
        cmocka_unit_test(test_typed_values),
        cmocka_unit_test(test_szl_blocks_clock_control),
        cmocka_unit_test(test_url_options),
        cmocka_unit_test(test_async),
        cmocka_unit_test(test_extended_tsap),
    };
    return cmocka_run_group_tests(tests, start_server, stop_server);
}
