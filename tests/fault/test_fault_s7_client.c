/* plcio's S7 client behind the fault proxy, against plcio's simulator and
 * snap7's server. A second client talks to the server directly (bypassing the
 * proxy) and is the judge of what really is in the PLC.
 *
 * - delay and single-byte answers: values exact;
 * - stall / dark link / refused connections longer than the timeout: a clear
 *   error, then the client reconnects and reads again;
 * - every byte of a read answer corrupted in turn (two masks): the client
 *   answers an error, or correct data, or (only when the flipped byte is one of
 *   the data bytes, which S7 carries without any checksum) the flipped data;
 *   every byte of a read request corrupted: the server survives, the client
 *   never returns data other than the server's for a byte the server checks;
 * - connections cut (FIN) and reset (RST) after every byte position of a
 *   write's request and answer, and of a read's: a write reported done is in
 *   the PLC; a failed one may or may not be (both counted); reads are right
 *   or fail. After every fault the next request works. */
#include <string.h>
#include <unistd.h>

#include "plcio/s7.h"

#define TIMEOUT_MS 300
#define DB         1

#define FAULT_CLIENT plcio_s7_client
#define FAULT_IMAGE  uint8_t image[100] /* what DB1 holds */
#include "fault_client_fixture.h"

static int fault_start_peer(plcio_test_proc *server, fault_peer peer) { return fault_start_s7(server, peer); }

static plcio_s7_client *client_open(int port)
{
    plcio_s7_client_options o;
    plcio_s7_client_options_init(&o);
    o.host = "127.0.0.1";
    o.port = port;
    o.timeout_ms = TIMEOUT_MS;
    o.connect_timeout_ms = TIMEOUT_MS;
    plcio_s7_client *c = NULL;
    (void)plcio_s7_client_new(NULL, &o, &c, NULL);
    assert_non_null(c);
    assert_int_equal(plcio_s7_client_connect(c), PLCIO_OK);
    return c;
}

static void client_free(plcio_s7_client *cl) { plcio_s7_client_free(cl); }

static void device_fill(ctx *c)
{
    for (size_t i = 0; i < sizeof c->image; i++)
        c->image[i] = (uint8_t)(i * 3 + 1);
    assert_int_equal(plcio_s7_client_write_area(c->direct, PLCIO_S7_AREA_DB, DB, 0, sizeof c->image, c->image),
                     PLCIO_OK);
}

static int setup_snap7(void **state) { return setup_peer(state, PEER_SNAP7); }

/* Connect `via` again if the last fault dropped it; the link is clean again by now. */
static void ensure(ctx *c)
{
    if (plcio_s7_client_is_connected(c->via)) return;
    for (int i = 0; i < 20; i++) {
        if (plcio_s7_client_connect(c->via) == PLCIO_OK) return;
        plcio_test_sleep_ms(20);
    }
    fail_msg("reconnect through the proxy: %s", plcio_s7_client_last_error(c->via)->text);
}

/* Read DB1[start, start+n) through the proxy and compare with the image. */
static void read_exact(ctx *c, uint32_t start, uint32_t n)
{
    uint8_t got[100];
    int rc = plcio_s7_client_read_area(c->via, PLCIO_S7_AREA_DB, DB, start, n, got);
    if (rc != PLCIO_OK) fail_msg("read DB1 %u+%u: %s", start, n, plcio_s7_client_last_error(c->via)->text);
    assert_memory_equal(got, c->image + start, n);
}

static void test_delay_and_split(void **state)
{
    ctx *c = *state;
    fault_proxy_delay(c->proxy, FAULT_UP, 15);
    fault_proxy_delay(c->proxy, FAULT_DOWN, 40);
    for (int i = 0; i < 5; i++)
        read_exact(c, 0, 100);
    fault_proxy_split(c->proxy, FAULT_DOWN, 300);
    for (int i = 0; i < 5; i++)
        read_exact(c, (uint32_t)i * 10, 40);
    /* several variables in one request, answered one byte at a time */
    uint8_t a[4], b[6];
    plcio_s7_var vars[2] = {{PLCIO_S7_AREA_DB, DB, 4, 4, -1, a, 0, 0}, {PLCIO_S7_AREA_DB, DB, 60, 6, -1, b, 0, 0}};
    assert_int_equal(plcio_s7_client_read_vars(c->via, vars, 2), PLCIO_OK);
    assert_memory_equal(a, c->image + 4, 4);
    assert_memory_equal(b, c->image + 60, 6);
    /* a write sent one byte at a time lands whole */
    fault_proxy_split(c->proxy, FAULT_UP, 300);
    uint8_t w[8] = {0xDE, 0xAD, 0xBE, 0xEF, 1, 2, 3, 4};
    assert_int_equal(plcio_s7_client_write_area(c->via, PLCIO_S7_AREA_DB, DB, 30, 8, w), PLCIO_OK);
    memcpy(c->image + 30, w, 8);
    uint8_t check[8];
    assert_int_equal(plcio_s7_client_read_area(c->direct, PLCIO_S7_AREA_DB, DB, 30, 8, check), PLCIO_OK);
    assert_memory_equal(check, w, 8);
    fault_counters n;
    fault_proxy_counters(c->proxy, &n);
    assert_true(n.single_writes[FAULT_DOWN] >= 300); /* 5 answers of 40 bytes and their 20-byte headers */
    assert_true(n.single_writes[FAULT_UP] >= 39);
    assert_true(n.delayed[FAULT_DOWN] >= 10);
    fault_proxy_clear(c->proxy);
    read_exact(c, 0, 100);
    fault_figures("s7 client: delay+split", c->peer, c->proxy, "all values exact");
}

/* A request that meets a dead link fails with a reason, within about the timeout. */
static void read_fails(ctx *c, const char *what)
{
    uint8_t got[10];
    uint64_t t0 = plcio_monotonic_ns();
    int rc = plcio_s7_client_read_area(c->via, PLCIO_S7_AREA_DB, DB, 0, 10, got);
    uint64_t ms = (plcio_monotonic_ns() - t0) / PLCIO_NS_PER_MS;
    if (rc == PLCIO_OK) fail_msg("%s: read succeeded", what);
    assert_true(plcio_s7_client_last_error(c->via)->text[0] != '\0');
    assert_true(ms < 3 * TIMEOUT_MS + 500);
}

static void test_stall_dark_refuse(void **state)
{
    ctx *c = *state;
    /* a stall shorter than the timeout is only slow */
    fault_proxy_stall(c->proxy, FAULT_DOWN, TIMEOUT_MS / 2);
    read_exact(c, 0, 20);
    /* longer: a timeout, then the late answer must not be taken for anything */
    for (int dir = 0; dir < 2; dir++) {
        fault_proxy_stall(c->proxy, (fault_dir)dir, 3 * TIMEOUT_MS);
        read_fails(c, "stall");
        assert_int_equal(plcio_s7_client_is_connected(c->via) ? 1 : 0, 0);
        plcio_test_sleep_ms(3 * TIMEOUT_MS);
        ensure(c);
        read_exact(c, 0, 100);
    }
    /* dark link: the read and every reconnect while dark fail; afterwards all is back */
    uint64_t dark_start = plcio_monotonic_ns();
    fault_proxy_dark(c->proxy, 1500);
    read_fails(c, "dark link");
    int attempts = 0, refused = 0;
    /* the last attempt must end (one connect timeout) before the link returns */
    uint64_t end = dark_start + (1500 - 2 * TIMEOUT_MS) * PLCIO_NS_PER_MS;
    while (plcio_monotonic_ns() < end) {
        attempts++;
        if (plcio_s7_client_connect(c->via) != PLCIO_OK) refused++;
    }
    assert_int_equal(refused, attempts);
    assert_true(attempts >= 1);
    while (plcio_monotonic_ns() < dark_start + 1600 * PLCIO_NS_PER_MS)
        plcio_test_sleep_ms(10);
    ensure(c);
    read_exact(c, 0, 100);
    /* refused connections */
    fault_proxy_refuse(c->proxy, true);
    fault_proxy_drop_all(c->proxy, false);
    read_fails(c, "dropped");
    assert_int_equal(plcio_s7_client_connect(c->via), PLCIO_ECONNREFUSED);
    fault_proxy_refuse(c->proxy, false);
    ensure(c);
    read_exact(c, 0, 100);
    char extra[128];
    snprintf(extra, sizeof extra, "%d reconnects refused while dark, recovered each time", refused);
    fault_figures("s7 client: stall+dark+refuse", c->peer, c->proxy, extra);
}

/* Bytes of the last request (UP) and answer (DOWN) of a clean read of n bytes. */
static void frame_sizes(ctx *c, uint32_t n, uint64_t *up, uint64_t *down)
{
    fault_counters a, b;
    fault_proxy_counters(c->proxy, &a);
    read_exact(c, 10, n);
    fault_proxy_counters(c->proxy, &b);
    *up = b.bytes_out[FAULT_UP] - a.bytes_out[FAULT_UP];
    *down = b.bytes_out[FAULT_DOWN] - a.bytes_out[FAULT_DOWN];
}

/* Corrupt byte k of one frame in `dir` of a 4-byte read, for every k; classify. */
static void corrupt_sweep(ctx *c, fault_dir dir, uint64_t len, uint64_t data_from, uint64_t data_to, unsigned *detected,
                          unsigned *harmless, unsigned *undetectable)
{
    static const uint8_t masks[] = {0x01, 0xFF};
    for (size_t m = 0; m < sizeof masks; m++)
        for (uint64_t k = 0; k < len; k++) {
            ensure(c);
            uint8_t got[4];
            fault_proxy_corrupt_next(c->proxy, dir, k, masks[m]);
            int rc = plcio_s7_client_read_area(c->via, PLCIO_S7_AREA_DB, DB, 10, 4, got);
            if (rc != PLCIO_OK) {
                (*detected)++;
                assert_true(plcio_s7_client_last_error(c->via)->text[0] != '\0');
            } else if (!memcmp(got, c->image + 10, 4)) {
                (*harmless)++;
            } else if (k >= data_from && k < data_to) {
                (*undetectable)++; /* a flipped data byte: S7 has no checksum to catch it */
            } else {
                fail_msg("%s byte %llu ^ 0x%02X: wrong data reported good (%02X %02X %02X %02X)",
                         dir == FAULT_DOWN ? "answer" : "request", (unsigned long long)k, masks[m], got[0], got[1],
                         got[2], got[3]);
            }
            /* the server lives, and the next request on this client is right */
            ensure(c);
            read_exact(c, 0, 100);
        }
}

static void test_corruption(void **state)
{
    ctx *c = *state;
    uint64_t up, down;
    frame_sizes(c, 4, &up, &down);
    assert_int_equal(up, 31);   /* TPKT 4, COTP 3, header 10, function + count 2, one item 12 */
    assert_int_equal(down, 29); /* TPKT 4, COTP 3, header 12, function + count 2, item header 4, data 4 */
    unsigned det = 0, harm = 0, undet = 0;
    corrupt_sweep(c, FAULT_DOWN, down, down - 4, down, &det, &harm, &undet);
    assert_true(det > down); /* most positions are caught, with both masks */
    /* Request bytes 22..30 are the item's transport size, length, DB, area and
     * address: a server reading another (existing) address cannot know. */
    unsigned rdet = 0, rharm = 0, rundet = 0;
    corrupt_sweep(c, FAULT_UP, up, 22, 31, &rdet, &rharm, &rundet);
    char extra[256];
    snprintf(extra, sizeof extra,
             "answers: %u corrupted reads failed, %u harmless, %u data bytes passed (no checksum in S7); "
             "requests: %u failed, %u harmless, %u read another address",
             det, harm, undet, rdet, rharm, rundet);
    fault_figures("s7 client: corruption sweep", c->peer, c->proxy, extra);
}

static uint32_t be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void test_cut_and_reset_writes(void **state)
{
    ctx *c = *state;
    fault_counters a, b;
    uint8_t v[4] = {0, 0, 0, 0};
    assert_int_equal(plcio_s7_client_write_area(c->via, PLCIO_S7_AREA_DB, DB, 20, 4, v), PLCIO_OK);
    fault_proxy_counters(c->proxy, &a);
    assert_int_equal(plcio_s7_client_write_area(c->via, PLCIO_S7_AREA_DB, DB, 20, 4, v), PLCIO_OK);
    fault_proxy_counters(c->proxy, &b);
    const uint64_t len[2] = {b.bytes_out[FAULT_UP] - a.bytes_out[FAULT_UP],
                             b.bytes_out[FAULT_DOWN] - a.bytes_out[FAULT_DOWN]};
    unsigned done = 0, failed_in = 0, failed_not_in = 0, checked = 0;
    uint32_t value = 0x1000, before = 0;
    for (int rst = 0; rst < 2; rst++)
        for (int dir = 0; dir < 2; dir++)
            for (uint64_t n = 0; n < len[dir]; n++) {
                ensure(c);
                value++;
                uint8_t w[4] = {(uint8_t)(value >> 24), (uint8_t)(value >> 16), (uint8_t)(value >> 8), (uint8_t)value};
                if (rst)
                    fault_proxy_reset_after(c->proxy, (fault_dir)dir, n);
                else
                    fault_proxy_cut_after(c->proxy, (fault_dir)dir, n);
                int rc = plcio_s7_client_write_area(c->via, PLCIO_S7_AREA_DB, DB, 20, 4, w);
                assert_true(fault_proxy_cut_fired(c->proxy, (fault_dir)dir));
                uint8_t in[4];
                assert_int_equal(plcio_s7_client_read_area(c->direct, PLCIO_S7_AREA_DB, DB, 20, 4, in), PLCIO_OK);
                uint32_t now = be32(in);
                checked++;
                if (rc == PLCIO_OK) {
                    /* reported done: it must be in the PLC */
                    if (now != value) fail_msg("write reported done but DB1.DBD20 = 0x%08X, not 0x%08X", now, value);
                    done++;
                } else {
                    assert_true(now == value || now == before);
                    assert_true(plcio_s7_client_last_error(c->via)->text[0] != '\0');
                    if (now == value)
                        failed_in++;
                    else
                        failed_not_in++;
                }
                before = now;
            }
    /* Every cut fell inside a frame: none of these writes can have been confirmed. */
    assert_int_equal(done, 0);
    assert_true(failed_in > 0 && failed_not_in > 0);
    ensure(c);
    read_exact(c, 0, 20);
    char extra[200];
    snprintf(extra, sizeof extra,
             "writes checked %u: reported done 0, failed but in the PLC %u (answer lost), failed and not in it %u",
             checked, failed_in, failed_not_in);
    fault_figures("s7 client: cut/reset writes", c->peer, c->proxy, extra);
}

static void test_cut_and_reset_reads(void **state)
{
    ctx *c = *state;
    uint64_t up, down;
    frame_sizes(c, 40, &up, &down);
    const uint64_t len[2] = {up, down};
    unsigned failed = 0;
    for (int rst = 0; rst < 2; rst++)
        for (int dir = 0; dir < 2; dir++)
            for (uint64_t n = 0; n < len[dir]; n++) {
                ensure(c);
                uint8_t got[40];
                if (rst)
                    fault_proxy_reset_after(c->proxy, (fault_dir)dir, n);
                else
                    fault_proxy_cut_after(c->proxy, (fault_dir)dir, n);
                int rc = plcio_s7_client_read_area(c->via, PLCIO_S7_AREA_DB, DB, 10, 40, got);
                assert_true(fault_proxy_cut_fired(c->proxy, (fault_dir)dir));
                if (rc == PLCIO_OK) fail_msg("read cut after %llu bytes reported good", (unsigned long long)n);
                failed++;
            }
    ensure(c);
    read_exact(c, 0, 100);
    char extra[100];
    snprintf(extra, sizeof extra, "%u reads cut mid-frame, all failed, recovered each time", failed);
    fault_figures("s7 client: cut/reset reads", c->peer, c->proxy, extra);
}

int main(void) { return fault_client_main(setup_snap7); }
