/* The fixture the sync fault tests share (test_fault_s7_sync.c and
 * test_fault_s7plus_sync.c through fault_s7_fixture.h,
 * test_fault_modbus_sync.c): a peer behind the fault proxy, a client that
 * talks to the peer directly (the judge of what the device holds), and one
 * engine on five tags w0, r2, target (a DINT the tests write), b40, bit.
 *
 * Before including it, the test file defines
 *   FAULT_DIRECT        its direct client type (plcio_s7_client, ...)
 *   FAULT_ENGINE_TAG    a short word for shared-memory names ("s7")
 *   FAULT_DEVICE_YAML   the YAML of the device up to its tags, with one %d:
 *                       the proxy's port (name, url, reconnect, stale-after, group)
 *   FAULT_TAG_W0 .. FAULT_TAG_BIT   the five addresses
 *   FAULT_STABLE_TEXT, FAULT_B40_TEXT, FAULT_DEVICE_WORD   what w0 and b40 show, "PLC"
 * and after it these, for its protocol:
 *   fault_start_peer(server, peer)  starts the peer, returns its port
 *   direct_open(port)               the direct client, connected, device filled
 *                                   with the start values (target = 7)
 *   direct_free(d), server_target(c) (what the device holds in target). */
#ifndef PLCIO_TEST_FAULT_SYNC_FIXTURE_H
#define PLCIO_TEST_FAULT_SYNC_FIXTURE_H

#include "fault_sync.h"

typedef struct ctx {
    fault_peer peer;
    plcio_test_proc server;
    fault_proxy *proxy;
    FAULT_DIRECT *direct;
    fault_engine e;
    int32_t target; /* what the device holds in tag target */
    uint32_t prng;
} ctx;

static int fault_start_peer(plcio_test_proc *server, fault_peer peer);
static FAULT_DIRECT *direct_open(int port);
static void direct_free(FAULT_DIRECT *d);
static int32_t server_target(ctx *c);

static uint32_t rnd(ctx *c)
{
    c->prng ^= c->prng << 13;
    c->prng ^= c->prng >> 17;
    c->prng ^= c->prng << 5;
    return c->prng;
}

static int setup_peer(void **state, fault_peer peer)
{
    ctx *c = calloc(1, sizeof *c);
    if (!c) return -1;
    *state = c;
    c->peer = peer;
    c->prng = 0x2545F491u;
    int port = fault_start_peer(&c->server, peer);
    c->proxy = fault_proxy_start(port, 60);
    assert_non_null(c->proxy);
    c->direct = direct_open(port);
    assert_non_null(c->direct);
    c->target = 7;
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "devices:\n" FAULT_DEVICE_YAML "        tags:\n"
             "          - {address: " FAULT_TAG_W0 ", name: w0}\n"
             "          - {address: " FAULT_TAG_R2 ", name: r2}\n"
             "          - {address: " FAULT_TAG_TARGET ", name: target}\n"
             "          - {address: " FAULT_TAG_B40 ", name: b40}\n"
             "          - {address: " FAULT_TAG_BIT ", name: bit}\n",
             fault_proxy_port(c->proxy));
    fault_engine_start(&c->e, yaml, FAULT_ENGINE_TAG);
    return 0;
}

static int teardown(void **state)
{
    ctx *c = *state;
    if (!c) return 0;
    fault_engine_stop(&c->e);
    direct_free(c->direct);
    fault_proxy_stop(c->proxy);
    plcio_test_proc_stop(&c->server);
    free(c);
    return 0;
}

static int32_t device_target(void *c) { return server_target(c); }

/* Every tag good with the device's value (within timeout_ms). */
static void all_good(ctx *c, int timeout_ms)
{
    c->target = fault_engine_wait_device(&c->e, "target", device_target, c, timeout_ms);
    fault_engine_wait(&c->e, "w0", PLCIO_SHM_QUALITY_GOOD, FAULT_STABLE_TEXT, timeout_ms);
    fault_engine_wait(&c->e, "r2", PLCIO_SHM_QUALITY_GOOD, "3.5", timeout_ms);
    fault_engine_wait(&c->e, "b40", PLCIO_SHM_QUALITY_GOOD, FAULT_B40_TEXT, timeout_ms);
    fault_engine_wait(&c->e, "bit", PLCIO_SHM_QUALITY_GOOD, "true", timeout_ms);
}

/* Write `value` to target through the engine; check the answer against the device. */
static fault_write write_target(ctx *c, int32_t value, unsigned *done, unsigned *failed_in, unsigned *failed_not)
{
    char text[32];
    snprintf(text, sizeof text, "%d", (int)value);
    int32_t before = c->target;
    fault_write w = fault_engine_write(&c->e, "target", text, 0);
    int32_t now = server_target(c);
    if (w.err == PLCIO_OK) {
        if (now != value)
            fail_msg("write of %d reported done, the " FAULT_DEVICE_WORD " holds %d", (int)value, (int)now);
        (*done)++;
    } else {
        fault_check_failed_write(&w);
        if (now != value && now != before)
            fail_msg(FAULT_DEVICE_WORD " holds %d, neither %d nor %d", (int)now, (int)value, (int)before);
        if (now == value)
            (*failed_in)++;
        else
            (*failed_not)++;
    }
    c->target = now;
    return w;
}

#endif
