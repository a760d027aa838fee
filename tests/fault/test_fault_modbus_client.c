/* plcio's Modbus TCP client behind the fault proxy, against plcio's simulator
 * and pymodbus 3.0. A second client talks to the server directly and is the
 * judge of what the device holds.
 *
 * - delay and single-byte answers/requests: values exact;
 * - stall past the timeout: an error, and the late answer, when it comes, is
 *   never taken for the next request's; dark link and refused connections:
 *   errors, then the client opens a new connection by itself;
 * - every byte of an FC3 answer corrupted in turn: an error, correct data, or
 *   (only for a flipped data byte: Modbus TCP has no checksum) the flipped
 *   data; every byte of an FC6 and an FC16 request corrupted: a write
 *   reported done is in the device at the right address (FC6 echoes the
 *   value, so even a flipped data byte is caught; FC16 echoes only address
 *   and count), and no stray write elsewhere is ever reported done;
 * - connections cut and reset after every byte of a write's request and
 *   answer, and of a read's: a write reported done is in the device; reads
 *   are right or fail; the next request works. */
#include <unistd.h>

#include "plcio/modbus.h"

#define TIMEOUT_MS 300
#define BASE       280 /* the registers the write tests use: BASE .. BASE + 39 */

#define FAULT_CLIENT plcio_modbus_client
#define FAULT_IMAGE  uint16_t image[400] /* hr0..hr399 */
#include "fault_client_fixture.h"

static int fault_start_peer(plcio_test_proc *server, fault_peer peer) { return fault_start_modbus(server, peer); }

static plcio_modbus_client *client_open(int port)
{
    char url[128];
    snprintf(url, sizeof url, "modbus-tcp://127.0.0.1:%d?unit=1&timeout=%d", port, TIMEOUT_MS);
    plcio_modbus_client *c = NULL;
    (void)plcio_modbus_client_new(url, NULL, &c, NULL);
    assert_non_null(c);
    return c;
}

static void client_free(plcio_modbus_client *cl) { plcio_modbus_client_free(cl); }

static void device_fill(ctx *c)
{
    for (int i = 0; i < 400; i++)
        c->image[i] = (uint16_t)(i * 7 + 3);
    for (int i = 0; i < 400; i += 100)
        assert_int_equal(
            plcio_modbus_write_registers(c->direct, PLCIO_MODBUS_UNIT_DEFAULT, (uint16_t)i, 100, c->image + i),
            PLCIO_OK);
}

static int setup_pymodbus(void **state) { return setup_peer(state, PEER_PYMODBUS); }

static void read_exact(ctx *c, uint16_t addr, uint16_t n)
{
    uint16_t got[125];
    int rc = plcio_modbus_read_holding_registers(c->via, PLCIO_MODBUS_UNIT_DEFAULT, addr, n, got);
    if (rc != PLCIO_OK) fail_msg("read hr%u x%u: %s", addr, n, plcio_strerror(rc));
    for (uint16_t i = 0; i < n; i++)
        if (got[i] != c->image[addr + i])
            fail_msg("hr%u = %u, the device holds %u", addr + i, got[i], c->image[addr + i]);
}

/* The device's registers hr0..hr399 compared with the image; the
 * differences are taken into the image. Returns how many differ. */
static int device_diff(ctx *c, int *first)
{
    uint16_t now[400];
    for (int i = 0; i < 400; i += 100)
        assert_int_equal(
            plcio_modbus_read_holding_registers(c->direct, PLCIO_MODBUS_UNIT_DEFAULT, (uint16_t)i, 100, now + i),
            PLCIO_OK);
    int diff = 0;
    *first = -1;
    for (int i = 0; i < 400; i++)
        if (now[i] != c->image[i]) {
            if (*first < 0) *first = i;
            diff++;
            c->image[i] = now[i];
        }
    return diff;
}

/* After a corrupted request: the device may still hold part of it (a length
 * field made longer) and drop the connection when the next request completes
 * it into garbage. That one request fails (ECLOSED, counted), the next works. */
static void recover_read(ctx *c, unsigned *dropped)
{
    uint16_t got[100];
    int rc = plcio_modbus_read_holding_registers(c->via, PLCIO_MODBUS_UNIT_DEFAULT, 0, 100, got);
    if (rc == PLCIO_ECLOSED)
        (*dropped)++;
    else if (rc != PLCIO_OK)
        fail_msg("read after a corrupted request: %s", plcio_strerror(rc));
    read_exact(c, 0, 100);
}

static void test_delay_and_split(void **state)
{
    ctx *c = *state;
    fault_proxy_delay(c->proxy, FAULT_UP, 15);
    fault_proxy_delay(c->proxy, FAULT_DOWN, 40);
    for (int i = 0; i < 5; i++)
        read_exact(c, (uint16_t)(i * 50), 100);
    fault_proxy_split(c->proxy, FAULT_DOWN, 300);
    /* pymodbus 3.0's TCP server cannot take a request in one-byte segments:
     * it parses the first byte as a frame and drops the connection. */
    if (c->peer != PEER_PYMODBUS) fault_proxy_split(c->proxy, FAULT_UP, 300);
    for (int i = 0; i < 5; i++)
        read_exact(c, (uint16_t)(i * 20), 30);
    uint16_t w[4] = {0xDEAD, 0xBEEF, 1, 2};
    assert_int_equal(plcio_modbus_write_registers(c->via, PLCIO_MODBUS_UNIT_DEFAULT, BASE, 4, w), PLCIO_OK);
    memcpy(c->image + BASE, w, sizeof w);
    int first;
    assert_int_equal(device_diff(c, &first), 0);
    assert_int_equal(plcio_modbus_write_register(c->via, PLCIO_MODBUS_UNIT_DEFAULT, BASE + 5, 0x1234), PLCIO_OK);
    c->image[BASE + 5] = 0x1234;
    assert_int_equal(device_diff(c, &first), 0);
    fault_counters n;
    fault_proxy_counters(c->proxy, &n);
    assert_true(n.single_writes[FAULT_DOWN] >= 345); /* 5 answers of 30 registers: 69 bytes each */
    if (c->peer != PEER_PYMODBUS) assert_true(n.single_writes[FAULT_UP] >= 60); /* 5 requests of 12 bytes */
    assert_int_equal(n.accepted, 1);
    fault_figures("modbus client: delay+split", c->peer, c->proxy, "all values exact, one connection");
}

static void request_fails(ctx *c, const char *what)
{
    uint16_t got[10];
    uint64_t t0 = plcio_monotonic_ns();
    int rc = plcio_modbus_read_holding_registers(c->via, PLCIO_MODBUS_UNIT_DEFAULT, 0, 10, got);
    uint64_t ms = (plcio_monotonic_ns() - t0) / PLCIO_NS_PER_MS;
    if (rc == PLCIO_OK) fail_msg("%s: read succeeded", what);
    assert_true(ms < 3 * TIMEOUT_MS + 500);
}

static void test_stall_dark_refuse(void **state)
{
    ctx *c = *state;
    read_exact(c, 0, 10);
    /* a stall shorter than the timeout is only slow */
    fault_proxy_stall(c->proxy, FAULT_DOWN, TIMEOUT_MS / 2);
    read_exact(c, 0, 10);
    /* longer: a timeout; the late answer to hr0..9 arrives before the next
     * request (hr200..209) and must not be taken for its answer */
    fault_proxy_stall(c->proxy, FAULT_DOWN, 2 * TIMEOUT_MS);
    request_fails(c, "stall");
    plcio_test_sleep_ms(2 * TIMEOUT_MS);
    read_exact(c, 200, 10);
    read_exact(c, 0, 10);
    fault_proxy_stall(c->proxy, FAULT_UP, 2 * TIMEOUT_MS);
    request_fails(c, "stalled request");
    plcio_test_sleep_ms(2 * TIMEOUT_MS);
    read_exact(c, 200, 10);
    /* dark link, longer than several timeouts */
    uint64_t dark_start = plcio_monotonic_ns();
    fault_proxy_dark(c->proxy, 1500);
    int attempts = 0;
    while (plcio_monotonic_ns() < dark_start + (1500 - 2 * TIMEOUT_MS) * PLCIO_NS_PER_MS) {
        request_fails(c, "dark link");
        attempts++;
    }
    while (plcio_monotonic_ns() < dark_start + 1600 * PLCIO_NS_PER_MS)
        plcio_test_sleep_ms(10);
    read_exact(c, 100, 50);
    /* refused connections */
    fault_proxy_refuse(c->proxy, true);
    fault_proxy_drop_all(c->proxy, true);
    request_fails(c, "reset");
    uint16_t r[1];
    assert_int_equal(plcio_modbus_read_holding_registers(c->via, PLCIO_MODBUS_UNIT_DEFAULT, 0, 1, r),
                     PLCIO_ECONNREFUSED);
    fault_proxy_refuse(c->proxy, false);
    read_exact(c, 0, 100);
    char extra[128];
    snprintf(extra, sizeof extra, "%d requests failed while dark, late answers never taken, recovered each time",
             attempts);
    fault_figures("modbus client: stall+dark+refuse", c->peer, c->proxy, extra);
}

static void corrupt_answers(ctx *c, unsigned *det, unsigned *harm, unsigned *undet)
{
    static const uint8_t masks[] = {0x01, 0xFF};
    const uint64_t len = 7 + 2 + 20; /* MBAP, function, byte count, 10 registers */
    for (size_t m = 0; m < sizeof masks; m++)
        for (uint64_t k = 0; k < len; k++) {
            uint16_t got[10];
            fault_proxy_corrupt_next(c->proxy, FAULT_DOWN, k, masks[m]);
            int rc = plcio_modbus_read_holding_registers(c->via, PLCIO_MODBUS_UNIT_DEFAULT, 10, 10, got);
            if (getenv("PLCIO_TEST_LOG"))
                printf("answer byte %llu ^ 0x%02X: %s\n", (unsigned long long)k, masks[m], plcio_err_name(rc));
            if (rc != PLCIO_OK)
                (*det)++;
            else if (!memcmp(got, c->image + 10, sizeof got))
                (*harm)++;
            else if (k >= 9)
                (*undet)++; /* a flipped register byte: no checksum in Modbus TCP */
            else
                fail_msg("answer byte %llu ^ 0x%02X: wrong registers reported good", (unsigned long long)k, masks[m]);
            read_exact(c, 0, 100);
        }
}

/* Corrupt every byte of an FC6 (fc16 false) or FC16 request in turn. */
static void corrupt_writes(ctx *c, bool fc16, unsigned *det, unsigned *harm, unsigned *undet, unsigned *stray,
                           unsigned *dropped)
{
    static const uint8_t masks[] = {0x01, 0xFF};
    const uint64_t len = fc16 ? 7 + 6 + 4 : 7 + 5;
    const uint64_t data_from = fc16 ? 13 : 10;
    uint16_t value = 0x4000;
    for (size_t m = 0; m < sizeof masks; m++)
        for (uint64_t k = 0; k < len; k++) {
            value++;
            uint16_t w[2] = {value, (uint16_t)~value};
            fault_proxy_corrupt_next(c->proxy, FAULT_UP, k, masks[m]);
            int rc = fc16 ? plcio_modbus_write_registers(c->via, PLCIO_MODBUS_UNIT_DEFAULT, BASE + 10, 2, w)
                          : plcio_modbus_write_register(c->via, PLCIO_MODBUS_UNIT_DEFAULT, BASE + 10, w[0]);
            uint16_t now[2];
            assert_int_equal(
                plcio_modbus_read_holding_registers(c->direct, PLCIO_MODBUS_UNIT_DEFAULT, BASE + 10, 2, now), PLCIO_OK);
            bool in = now[0] == w[0] && (!fc16 || now[1] == w[1]);
            /* anything written elsewhere in the span */
            c->image[BASE + 10] = now[0];
            c->image[BASE + 11] = now[1];
            int first;
            int elsewhere = device_diff(c, &first);
            if (rc == PLCIO_OK) {
                if (elsewhere)
                    fail_msg("FC%d request byte %llu ^ 0x%02X: reported done, but hr%d was written", fc16 ? 16 : 6,
                             (unsigned long long)k, masks[m], first);
                if (in)
                    (*harm)++;
                else if (fc16 && k >= data_from)
                    (*undet)++; /* FC16's answer does not echo the data */
                else
                    fail_msg("FC%d request byte %llu ^ 0x%02X: reported done, not in the device", fc16 ? 16 : 6,
                             (unsigned long long)k, masks[m]);
            } else {
                (*det)++;
                if (elsewhere) (*stray)++;
            }
            recover_read(c, dropped);
        }
}

static void test_corruption(void **state)
{
    ctx *c = *state;
    unsigned det = 0, harm = 0, undet = 0;
    corrupt_answers(c, &det, &harm, &undet);
    assert_true(det >= 9); /* every header byte is checked */
    unsigned d6 = 0, h6 = 0, u6 = 0, s6 = 0, d16 = 0, h16 = 0, u16 = 0, s16 = 0, dropped = 0;
    corrupt_writes(c, false, &d6, &h6, &u6, &s6, &dropped);
    corrupt_writes(c, true, &d16, &h16, &u16, &s16, &dropped);
    assert_int_equal(u6, 0);
    char extra[400];
    snprintf(extra, sizeof extra,
             "FC3 answers: %u failed, %u harmless, %u register bytes passed; FC6 requests: %u failed (%u wrote "
             "elsewhere), %u done and right; FC16 requests: %u failed (%u wrote elsewhere), %u done and right, %u done "
             "with a flipped data byte (not echoed); %u next requests met a connection the device dropped",
             det, harm, undet, d6, s6, h6, d16, s16, h16, u16, dropped);
    fault_figures("modbus client: corruption sweep", c->peer, c->proxy, extra);
}

static void test_cut_and_reset_writes(void **state)
{
    ctx *c = *state;
    const uint64_t len[2] = {7 + 6 + 4, 7 + 5}; /* FC16 of 2 registers: request, answer */
    unsigned done = 0, fin = 0, fnot = 0, checked = 0;
    uint16_t value = 0x6000;
    for (int rst = 0; rst < 2; rst++)
        for (int dir = 0; dir < 2; dir++)
            for (uint64_t n = 0; n < len[dir]; n++) {
                value++;
                uint16_t w[2] = {value, (uint16_t)(value ^ 0x5555)};
                const uint16_t before[2] = {c->image[BASE + 20], c->image[BASE + 21]};
                if (rst)
                    fault_proxy_reset_after(c->proxy, (fault_dir)dir, n);
                else
                    fault_proxy_cut_after(c->proxy, (fault_dir)dir, n);
                int rc = plcio_modbus_write_registers(c->via, PLCIO_MODBUS_UNIT_DEFAULT, BASE + 20, 2, w);
                assert_true(fault_proxy_cut_fired(c->proxy, (fault_dir)dir));
                int first;
                device_diff(c, &first);
                bool in = c->image[BASE + 20] == w[0] && c->image[BASE + 21] == w[1];
                bool old = c->image[BASE + 20] == before[0] && c->image[BASE + 21] == before[1];
                checked++;
                assert_true(in || old); /* never half a write */
                if (rc == PLCIO_OK) {
                    if (!in) fail_msg("write reported done, not in the device (cut after %llu)", (unsigned long long)n);
                    done++;
                } else if (in) {
                    fin++;
                } else {
                    fnot++;
                }
            }
    assert_int_equal(done, 0);
    assert_true(fin > 0 && fnot > 0);
    read_exact(c, 0, 100);
    char extra[200];
    snprintf(extra, sizeof extra,
             "writes checked %u: reported done 0, failed but in the device %u (answer lost), failed and not in it %u",
             checked, fin, fnot);
    fault_figures("modbus client: cut/reset writes", c->peer, c->proxy, extra);
}

static void test_cut_and_reset_reads(void **state)
{
    ctx *c = *state;
    const uint64_t len[2] = {12, 7 + 2 + 80};
    unsigned failed = 0;
    for (int rst = 0; rst < 2; rst++)
        for (int dir = 0; dir < 2; dir++)
            for (uint64_t n = 0; n < len[dir]; n++) {
                uint16_t got[40];
                if (rst)
                    fault_proxy_reset_after(c->proxy, (fault_dir)dir, n);
                else
                    fault_proxy_cut_after(c->proxy, (fault_dir)dir, n);
                int rc = plcio_modbus_read_holding_registers(c->via, PLCIO_MODBUS_UNIT_DEFAULT, 50, 40, got);
                assert_true(fault_proxy_cut_fired(c->proxy, (fault_dir)dir));
                if (rc == PLCIO_OK) fail_msg("read cut after %llu bytes reported good", (unsigned long long)n);
                failed++;
            }
    read_exact(c, 0, 100);
    char extra[100];
    snprintf(extra, sizeof extra, "%u reads cut mid-frame, all failed, recovered each time", failed);
    fault_figures("modbus client: cut/reset reads", c->peer, c->proxy, extra);
}

int main(void) { return fault_client_main(setup_pymodbus); }
