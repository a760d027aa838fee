/* The Modbus client's event-loop mode on a manual clock over the fake
 * transport (tests/support/fake_transport.h), with a scripted partner in this
 * process: on an RTU link (RTU over TCP, a gateway) requests go one at a time,
 * and each one's timeout counts from when it goes on the wire, not from when
 * it was queued; a partner that answers late fails the request at its
 * deadline exactly. Nothing sleeps or opens a socket:
 * the partner's 300 ms per answer take no wall time. */
#include <string.h>

#include "fake_transport.h"
#include "plcio/modbus.h"
#include "plcio_test.h"

#define T0 (1000 * PLCIO_NS_PER_S)
#define MS PLCIO_NS_PER_MS

/* Modbus RTU CRC-16 (polynomial 0xA001 reflected, start 0xFFFF), written
 * here from the specification rather than taken from the code under test. */
static uint16_t crc16(const uint8_t *p, size_t n)
{
    uint16_t crc = 0xFFFF;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++)
            crc = (uint16_t)((crc & 1) ? (crc >> 1) ^ 0xA001 : crc >> 1);
    }
    return crc;
}

/* The partner: an RTU slave that holds register a = a and answers each
 * FC 3 request `delay` after it arrived. */
typedef struct slow_partner {
    uint64_t delay;
    uint8_t answer[260];
    size_t answer_len;
    uint64_t due;
    int requests;
} slow_partner;

typedef struct world {
    plcio_manual_clock clock;
    fake_transport ft;
    slow_partner partner;
    plcio_modbus_client *c;
    plcio_modbus_request reqs[12];
    uint16_t regs[12][3];
    int done;
    int order[12];
    uint64_t done_at[12];
} world;

static int accept_partner(void *ctx, fake_link *link, int n)
{
    (void)ctx, (void)link, (void)n; /* a script end: the partner reads link->end[1].got */
    return PLCIO_OK;
}

static void partner_step(world *w)
{
    slow_partner *p = &w->partner;
    fake_link *l = &w->ft.link;
    fake_end *in = &l->end[1];
    if (!p->answer_len && in->got_len >= 8) {
        const uint8_t *q = in->got;
        assert_int_equal(q[1], 3);
        assert_int_equal(crc16(q, 6), (uint16_t)(q[6] | q[7] << 8));
        unsigned addr = (unsigned)(q[2] << 8 | q[3]), n = (unsigned)(q[4] << 8 | q[5]);
        uint8_t *a = p->answer;
        a[0] = q[0], a[1] = 3, a[2] = (uint8_t)(2 * n);
        for (unsigned i = 0; i < n; i++)
            a[3 + 2 * i] = (uint8_t)((addr + i) >> 8), a[4 + 2 * i] = (uint8_t)(addr + i);
        size_t len = 3 + 2 * n;
        uint16_t crc = crc16(a, len);
        a[len] = (uint8_t)crc, a[len + 1] = (uint8_t)(crc >> 8);
        p->answer_len = len + 2;
        p->due = w->clock.now_ns + p->delay;
        p->requests++;
        memmove(in->got, in->got + 8, in->got_len - 8);
        in->got_len -= 8;
    }
    if (p->answer_len && w->clock.now_ns >= p->due && !l->down) {
        fake_link_inject(l, 1, p->answer, p->answer_len);
        p->answer_len = 0;
        fake_transport_run(&w->ft);
    }
}

/* cppcheck-suppress constParameter ; the type plcio_modbus_submit's callback has */
static void on_done(void *ctx, plcio_modbus_client *c, plcio_modbus_request *r)
{
    (void)c;
    world *w = ctx;
    int i = (int)(r - w->reqs);
    w->order[w->done++] = i;
    w->done_at[i] = w->clock.now_ns;
}

static void settle(world *w)
{
    for (int i = 0; i < 8; i++) {
        (void)plcio_modbus_client_process(w->c);
        fake_transport_run(&w->ft);
        partner_step(w);
    }
}

/* Move the clock to `until`, stopping at every deadline of the client and
 * of the partner on the way. */
static void run_to(world *w, uint64_t until)
{
    settle(w);
    while (w->clock.now_ns < until) {
        uint64_t now = w->clock.now_ns, next = until, d = 0;
        (void)plcio_modbus_client_wants(w->c, &d);
        uint64_t p = w->partner.answer_len ? w->partner.due : 0;
        if (d > now && d < next) next = d;
        if (p > now && p < next) next = p;
        w->clock.now_ns = next;
        settle(w);
    }
}

static world *world_new(uint64_t partner_delay)
{
    static world w; /* the link's buffers: not on the stack */
    memset(&w, 0, sizeof w);
    w.clock.now_ns = T0;
    w.partner.delay = partner_delay;
    fake_transport_init(&w.ft, &w.clock, accept_partner, &w);
    plcio_modbus_client_options o;
    plcio_modbus_client_options_init(&o);
    o.clock = plcio_manual_clock_bind(&w.clock);
    o.transport = &w.ft.ops;
    plcio_error err;
    int rc = plcio_modbus_client_new("modbus-rtu://127.0.0.1:1502?unit=1&timeout=1200", &o, &w.c, &err);
    if (rc) fail_msg("%s", err.text);
    assert_int_equal(plcio_modbus_client_set_depth(w.c, 8), PLCIO_OK);
    return &w;
}

static void submit_all(world *w, int n)
{
    for (int i = 0; i < n; i++) {
        w->reqs[i] = (plcio_modbus_request){.unit = 1,
                                            .function = 3,
                                            .addr = (uint16_t)(40 + i),
                                            .n = 3,
                                            .regs = w->regs[i],
                                            .retries = PLCIO_MODBUS_NO_RETRY};
        assert_int_equal(plcio_modbus_submit(w->c, &w->reqs[i], on_done, w), PLCIO_OK);
    }
}

/* 12 requests queued at once, 300 ms per answer: the last goes on the wire
 * 3.3 s after it was queued, yet none times out (timeout 1.2 s). */
static void test_rtu_timeout_counts_from_the_wire(void **state)
{
    (void)state;
    world *w = world_new(300 * MS);
    assert_int_equal(plcio_modbus_client_connect_async(w->c), PLCIO_OK);
    submit_all(w, 12);
    run_to(w, T0 + 4 * PLCIO_NS_PER_S);
    assert_int_equal(w->done, 12);
    assert_int_equal(w->partner.requests, 12);
    for (int i = 0; i < 12; i++) {
        assert_int_equal(w->order[i], i);
        assert_int_equal(w->reqs[i].result, PLCIO_OK);
        assert_int_equal(w->regs[i][2], 40 + i + 2);
        /* one at a time, each answered 300 ms after it went */
        assert_int_equal(w->done_at[i], T0 + (uint64_t)(i + 1) * 300 * MS);
    }
    plcio_modbus_client_free(w->c);
}

/* A partner slower than the timeout: the first request fails at its
 * deadline exactly, not a nanosecond before, and only then does the next
 * one go on the wire (its own timeout starting there). */
static void test_late_answer_times_out_at_the_deadline(void **state)
{
    (void)state;
    world *w = world_new(1500 * MS);
    assert_int_equal(plcio_modbus_client_connect_async(w->c), PLCIO_OK);
    submit_all(w, 2);
    run_to(w, T0 + 1200 * MS - 1);
    assert_int_equal(w->done, 0);
    assert_true(w->reqs[0].sent);
    assert_false(w->reqs[1].sent);
    run_to(w, T0 + 1200 * MS);
    assert_int_equal(w->done, 1);
    assert_int_equal(w->reqs[0].result, PLCIO_ETIMEDOUT);
    assert_int_equal(w->done_at[0], T0 + 1200 * MS);
    assert_true(w->reqs[1].sent);
    assert_int_equal(w->partner.requests, 1); /* still busy with the first */
    plcio_modbus_client_free(w->c);
}

/* The blocking calls wait on real sockets and real time: refused, named; a
 * transport under a UDP URL is refused when the client is made. */
static void test_blocking_calls_and_udp_refused(void **state)
{
    (void)state;
    world *w = world_new(0);
    uint16_t r[2];
    assert_int_equal(plcio_modbus_read_holding_registers(w->c, 1, 0, 2, r), PLCIO_EUNSUPPORTED);
    assert_non_null(strstr(plcio_modbus_client_last_error(w->c)->text, "event-loop"));
    assert_int_equal(plcio_modbus_client_connect(w->c), PLCIO_EUNSUPPORTED);
    assert_int_equal(w->ft.connections, 0);
    plcio_modbus_client_free(w->c);
    plcio_modbus_client_options o;
    plcio_modbus_client_options_init(&o);
    o.transport = &w->ft.ops;
    plcio_modbus_client *c = NULL;
    plcio_error err;
    assert_int_equal(plcio_modbus_client_new("modbus-udp://127.0.0.1:1502", &o, &c, &err), PLCIO_EINVAL);
    assert_null(c);
    assert_non_null(strstr(err.text, "TCP stream only"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rtu_timeout_counts_from_the_wire),
        cmocka_unit_test(test_late_answer_times_out_at_the_deadline),
        cmocka_unit_test(test_blocking_calls_and_udp_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
