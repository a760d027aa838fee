/* The sync engine's Modbus driver against peers that misbehave, over UDP and
 * an RTU serial line (socat pseudo-terminals). The peer lives in this test and
 * runs in turn with the engine's loop; for every request it picks one kind of
 * bad answer in turn, then (mostly) the right one:
 *   UDP: junk datagrams, a wrong transaction id, a truncated frame, a wrong
 *        unit, an oversized datagram, answers with trailing bytes, silence;
 *   RTU: a CRC error, a wrong unit (then silence), noise before the answer.
 * The engine must end with the right values, never crash or hang, and report
 * a write done only when the real acknowledgement came: a write whose answers
 * are all bad is reported failed (though the peer did apply it). */
#include <stdlib.h>
#include <string.h>

#include "modbus/mb_codec.h"
#include "modbus/mb_interop.h"
#include "net/net.h"
#include "plcio/plcio.h"
#include "plcio/shm.h"
#include "plcio/sync.h"
#include "sync_wait.h"

typedef struct peer {
    uint16_t hr[256];
    uint8_t co[256];
    unsigned requests;
    bool spoil_writes; /* writes are applied, but never answered properly */
    int fd;
    bool udp;
    uint8_t in[1024]; /* RTU: bytes of the request so far */
    size_t in_len;
    uint32_t rnd;
} peer;

typedef struct ctx {
    peer p;
    plcio_test_proc socat;
    char dir[64];
    char shm[64];
    plcio_sync_config *cfg;
    plcio_sync *sync;
    plcio_shm_reader *reader;
} ctx;

static int setup(void **state)
{
    ctx *c = calloc(1, sizeof *c);
    if (!c) return -1;
    c->p.fd = -1;
    c->p.rnd = 12345;
    for (int i = 0; i < 256; i++)
        c->p.hr[i] = (uint16_t)(i * 3);
    c->p.hr[5] = 4660;
    c->p.co[3] = 1;
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    ctx *c = *state;
    plcio_shm_reader_free(c->reader);
    plcio_sync_free(c->sync);
    plcio_sync_config_free(c->cfg);
    net_close(c->p.fd);
    plcio_test_proc_stop(&c->socat);
    if (c->dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", c->dir);
        if (system(cmd) != 0) print_error("could not remove %s\n", c->dir);
    }
    free(c);
    return 0;
}

static uint32_t rnd(peer *p)
{
    p->rnd = p->rnd * 1103515245u + 12345u;
    return p->rnd >> 8;
}

/* The right answer to a request, applied to the peer's tables. */
static size_t right_answer(peer *p, const uint8_t *pdu, size_t len, uint8_t *out, size_t cap)
{
    mb_pdu q, r;
    memset(&r, 0, sizeof r);
    uint8_t data[256];
    int rc = mb_request_decode(pdu, len, &q);
    r.fc = q.fc ? q.fc : pdu[0];
    if (rc != PLCIO_OK) {
        r.exception = q.exception ? q.exception : 1;
    } else if ((q.fc == 1 || q.fc == 3 || q.fc == 16) && q.addr + q.qty > 256) {
        r.exception = 2;
    } else if (q.fc == 3) {
        for (size_t i = 0; i < q.qty; i++)
            data[2 * i] = (uint8_t)(p->hr[q.addr + i] >> 8), data[2 * i + 1] = (uint8_t)p->hr[q.addr + i];
        r.data = data;
        r.data_len = (size_t)q.qty * 2;
    } else if (q.fc == 1) {
        memset(data, 0, sizeof data);
        for (unsigned i = 0; i < q.qty; i++)
            data[i / 8] |= (uint8_t)(p->co[q.addr + i] << (i % 8));
        r.data = data;
        r.data_len = (q.qty + 7u) / 8u;
    } else if (q.fc == 16) {
        for (size_t i = 0; i < q.qty; i++)
            p->hr[q.addr + i] = (uint16_t)(q.data[2 * i] << 8 | q.data[2 * i + 1]);
        r.addr = q.addr;
        r.qty = q.qty;
    } else if (q.fc == 5 && q.addr < 256) {
        p->co[q.addr] = q.value == 0xFF00;
        r.addr = q.addr;
        r.value = q.value;
    } else {
        r.exception = 1;
    }
    size_t n = 0;
    assert_int_equal(mb_response_encode(&r, out, cap, &n), PLCIO_OK);
    return n;
}

/* ---- UDP ---- */

static void udp_send(peer *p, const net_peer *to, const uint8_t *b, size_t n)
{
    assert_int_equal(net_udp_send_to(p->fd, b, n, to), PLCIO_OK);
}

static void udp_poll(peer *p)
{
    uint8_t buf[600];
    size_t got;
    net_peer from;
    while (net_udp_recv_from(p->fd, buf, sizeof buf, &got, &from) == PLCIO_OK) {
        mb_frame f;
        size_t used, need;
        if (mb_mbap_decode(buf, got, &f, &used, &need) != PLCIO_OK) continue;
        uint8_t pdu[260], good[300], bad[700];
        size_t n = right_answer(p, f.pdu, f.pdu_len, pdu, sizeof pdu), gl;
        assert_int_equal(mb_mbap_encode(f.tid, f.unit, pdu, n, good, sizeof good, &gl), PLCIO_OK);
        bool write = f.pdu[0] == 5 || f.pdu[0] == 16;
        unsigned kind = p->requests++ % 7;
        if (write && p->spoil_writes) kind = 0;
        memcpy(bad, good, gl);
        switch (kind) {
        case 0: /* junk only: the request times out */
            for (size_t i = 0; i < 40; i++)
                bad[i] = (uint8_t)rnd(p);
            udp_send(p, &from, bad, 1 + rnd(p) % 40);
            continue;
        case 1: bad[0] ^= 0x80; break;                     /* another transaction */
        case 2: udp_send(p, &from, bad, gl - 2); continue; /* truncated; then silence */
        case 3: bad[6] ^= 0x20; break;                     /* another unit */
        case 4:                                            /* says 1000 bytes follow, holds 600 */
            bad[4] = 0x03, bad[5] = 0xE8;
            for (size_t i = gl; i < 600; i++)
                bad[i] = (uint8_t)rnd(p);
            udp_send(p, &from, bad, 600);
            break;
        case 5: /* the right answer with bytes after it in the same datagram */
            memset(bad + gl, 0xAA, 10);
            udp_send(p, &from, bad, gl + 10);
            continue;
        default: break;
        }
        if (kind != 4) udp_send(p, &from, bad, gl);
        udp_send(p, &from, good, gl);
    }
}

/* ---- RTU on a serial line ---- */

static void rtu_send(peer *p, const uint8_t *b, size_t n)
{
    assert_int_equal(net_send_all(p->fd, b, n, net_deadline(1000), NULL), PLCIO_OK);
}

static void rtu_poll(peer *p)
{
    size_t got;
    while (p->in_len < sizeof p->in &&
           net_recv_some(p->fd, p->in + p->in_len, sizeof p->in - p->in_len, &got, 0) == PLCIO_OK)
        p->in_len += got;
    mb_frame f;
    size_t used = 0, need = 0;
    int rc = mb_rtu_decode(p->in, p->in_len, true, false, &f, &used, &need);
    if (rc == PLCIO_EAGAIN) return;
    if (rc != PLCIO_OK) {
        p->in_len = 0;
        return;
    }
    uint8_t pdu[260], good[300], bad[300];
    size_t n = right_answer(p, f.pdu, f.pdu_len, pdu, sizeof pdu), gl;
    assert_int_equal(mb_rtu_encode(f.unit, pdu, n, good, sizeof good, &gl), PLCIO_OK);
    bool write = f.pdu[0] == 5 || f.pdu[0] == 16;
    p->in_len = 0;
    unsigned kind = p->requests++ % 4;
    if (write && p->spoil_writes) kind = 0;
    memcpy(bad, good, gl);
    switch (kind) {
    case 0:
        bad[gl - 1] ^= 0x5A;
        rtu_send(p, bad, gl);
        return; /* CRC error */
    case 1:     /* a good frame from another unit, then silence */
        assert_int_equal(mb_rtu_encode((uint8_t)(f.unit ^ 4), pdu, n, bad, sizeof bad, &gl), PLCIO_OK);
        rtu_send(p, bad, gl);
        return;
    case 2: { /* noise, a pause, the answer */
        static const uint8_t noise[] = {0xFF, 0x00, 0x13};
        rtu_send(p, noise, sizeof noise);
        mb_sleep_ms(5);
        rtu_send(p, good, gl);
        return;
    }
    default: rtu_send(p, good, gl); return;
    }
}

/* ---- the engine, run in turn with the peer ---- */

static void turn(ctx *c)
{
    plcio_sync_run_once(c->sync, 1);
    if (c->p.udp)
        udp_poll(&c->p);
    else
        rtu_poll(&c->p);
}

static void engine_start(ctx *c, const char *url)
{
    char yaml[1024];
    plcio_error err = {0};
    snprintf(yaml, sizeof yaml,
             "devices:\n"
             "  - name: bad\n"
             "    url: \"%s\"\n"
             "    reconnect: {min: 20ms, max: 100ms}\n"
             "    groups:\n"
             "      - interval: 20ms\n"
             "        tags:\n"
             "          - {address: hr5, name: h5}\n"
             "          - {address: \"hr10:DINT\", name: d10}\n"
             "          - {address: \"hr200:DINT\", name: d200}\n"
             "          - {address: co3, name: c3}\n",
             url);
    assert_int_equal(plcio_sync_config_parse(yaml, strlen(yaml), "t.yaml", NULL, &c->cfg, &err), PLCIO_OK);
    snprintf(c->shm, sizeof c->shm, "/plcio-test-sync-mbbad-%d", (int)getpid());
    plcio_sync_options o;
    memset(&o, 0, sizeof o);
    o.shm_name = c->shm;
    if (plcio_sync_new(c->cfg, &o, &c->sync, &err) != PLCIO_OK) fail_msg("engine: %s", err.text);
    plcio_error msg = {0};
    assert_int_equal(plcio_shm_reader_new(c->shm, &c->reader, &msg), PLCIO_OK);
}

static void wait_good(ctx *c, const char *name, const char *text)
{
    plcio_shm_value v;
    memset(&v, 0, sizeof v);
    uint64_t end = plcio_monotonic_ns() + 20 * PLCIO_NS_PER_S;
    while (plcio_monotonic_ns() < end) {
        turn(c);
        if (plcio_shm_reader_refresh(c->reader) != PLCIO_OK) continue;
        assert_int_equal(plcio_shm_reader_get_by_name(c->reader, name, &v), PLCIO_OK);
        if (v.quality == PLCIO_SHM_QUALITY_GOOD && !strcmp(v.text, text)) return;
    }
    fail_msg("%s: %s '%s' (%s), want good '%s'", name, plcio_shm_quality_name(v.quality), v.text ? v.text : "",
             plcio_err_name(v.error), text);
}

static void turn_once(void *c) { turn(c); }

static int engine_write(ctx *c, const char *tag, const char *text, plcio_test_write *r)
{
    return plcio_test_sync_write_turn(c->sync, tag, text, 0, 20000, r, turn_once, c);
}

static void run_checks(ctx *c)
{
    wait_good(c, "h5", "4660");
    wait_good(c, "d10", "1966113");   /* 30 << 16 | 33 */
    wait_good(c, "d200", "39322203"); /* 600 << 16 | 603 */
    wait_good(c, "c3", "true");
    plcio_test_write r;
    /* A write is done only on its real acknowledgement (with retries through the bad answers). */
    assert_int_equal(engine_write(c, "h5", "77", &r), PLCIO_OK);
    assert_int_equal(c->p.hr[5], 77);
    assert_int_equal(engine_write(c, "c3", "false", &r), PLCIO_OK);
    assert_int_equal(c->p.co[3], 0);
    wait_good(c, "h5", "77");
    wait_good(c, "c3", "false");
    /* Writes the peer applies but never acknowledges properly: reported failed. */
    c->p.spoil_writes = true;
    int rc = engine_write(c, "d10", "-1", &r);
    print_message("unacknowledged write: %s: %s\n", plcio_err_name(rc), r.msg);
    assert_int_not_equal(rc, PLCIO_OK);
    assert_non_null(strstr(r.msg, "may or may not have happened"));
    assert_int_equal(c->p.hr[10], 0xFFFF); /* it did happen */
    c->p.spoil_writes = false;
    wait_good(c, "d10", "-1");
    wait_good(c, "h5", "77");
    print_message("peer saw %u requests\n", c->p.requests);
}

static void test_udp_bad_answers(void **state)
{
    ctx *c = *state;
    int port = 0;
    assert_int_equal(net_udp_open("127.0.0.1", 0, true, &c->p.fd, &port), PLCIO_OK);
    c->p.udp = true;
    char url[128];
    snprintf(url, sizeof url, "modbus-udp://127.0.0.1:%d?unit=1&timeout=100&retries=6", port);
    engine_start(c, url);
    run_checks(c);
}

static void test_rtu_bad_answers(void **state)
{
    ctx *c = *state;
    mb_tmpdir(c->dir, sizeof c->dir);
    mb_socat_start(&c->socat, c->dir, 90);
    char path[128], url[200];
    snprintf(path, sizeof path, "%s/ttyA", c->dir);
    serial_params sp = {38400, 'N', 8, 1, false};
    assert_int_equal(net_serial_open(path, &sp, &c->p.fd), PLCIO_OK);
    snprintf(url, sizeof url, "modbus-rtu://%s/ttyB?baud=38400&parity=N&unit=1&timeout=100&retries=4", c->dir);
    engine_start(c, url);
    run_checks(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_udp_bad_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtu_bad_answers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
