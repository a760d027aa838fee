/* S7 partner library API on 127.0.0.1, both partners in this thread through
 * the event-loop calls: argument and state errors, blocks both ways, a full
 * receive queue holding the sender back (no ack, so never OK early),
 * ENOSPC keeping the block, stop cancelling a send under way. The foreign
 * peer tests are tests/interop/partner/. */
#include <poll.h>
#include <string.h>

#include "plcio/s7_partner.h"
#include "plcio_test.h"

typedef struct pair {
    plcio_s7_partner *a, *b; /* active, passive */
} pair;

static void pump(pair *pp)
{
    plcio_s7_partner *p[2] = {pp->a, pp->b};
    struct pollfd f[2];
    for (int i = 0; i < 2; i++) {
        uint64_t d;
        unsigned ev = plcio_s7_partner_wants(p[i], &d);
        f[i].fd = plcio_s7_partner_fd(p[i]);
        f[i].events = (short)((ev & PLCIO_IO_READ ? POLLIN : 0) | (ev & PLCIO_IO_WRITE ? POLLOUT : 0));
        f[i].revents = 0;
    }
    (void)poll(f, 2, 5);
    (void)plcio_s7_partner_process(pp->a);
    (void)plcio_s7_partner_process(pp->b);
}

static void link_pair(pair *pp, const plcio_s7_partner_options *ob)
{
    plcio_error err;
    assert_int_equal(plcio_s7_partner_new(PLCIO_S7_PARTNER_PASSIVE, "127.0.0.1:0", ob, &pp->b, &err), PLCIO_OK);
    assert_int_equal(plcio_s7_partner_start(pp->b), PLCIO_OK);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", plcio_s7_partner_port(pp->b));
    assert_int_equal(plcio_s7_partner_new(PLCIO_S7_PARTNER_ACTIVE, addr, NULL, &pp->a, &err), PLCIO_OK);
    assert_int_equal(plcio_s7_partner_start(pp->a), PLCIO_OK);
    for (int i = 0; i < 2000; i++) {
        if (plcio_s7_partner_get_status(pp->a) == PLCIO_S7_PARTNER_LINKED &&
            plcio_s7_partner_get_status(pp->b) == PLCIO_S7_PARTNER_LINKED)
            return;
        pump(pp);
    }
    fail_msg("partners did not link");
}

static void test_arguments(void **state)
{
    (void)state;
    plcio_s7_partner *p = NULL;
    plcio_error err;
    assert_int_equal(plcio_s7_partner_new(PLCIO_S7_PARTNER_ACTIVE, "", NULL, &p, &err), PLCIO_EINVAL);
    assert_non_null(strstr(err.text, "empty"));
    assert_int_equal(plcio_s7_partner_new(PLCIO_S7_PARTNER_ACTIVE, "h:99999", NULL, &p, &err), PLCIO_ERANGE);
    assert_int_equal(plcio_s7_partner_new(PLCIO_S7_PARTNER_ACTIVE, ":102", NULL, &p, &err), PLCIO_EINVAL);
    assert_int_equal(plcio_s7_partner_new((plcio_s7_partner_mode)5, "h", NULL, &p, &err), PLCIO_EINVAL);
    plcio_s7_partner_options o;
    plcio_s7_partner_options_init(&o);
    o.pdu_size = 100;
    assert_int_equal(plcio_s7_partner_new(PLCIO_S7_PARTNER_ACTIVE, "h", &o, &p, &err), PLCIO_ERANGE);
    assert_non_null(strstr(err.text, "pdu_size"));
    assert_null(p);
    plcio_s7_partner_free(NULL);

    assert_int_equal(plcio_s7_partner_new(PLCIO_S7_PARTNER_ACTIVE, "127.0.0.1:1", NULL, &p, &err), PLCIO_OK);
    assert_int_equal(plcio_s7_partner_get_status(p), PLCIO_S7_PARTNER_STOPPED);
    assert_int_equal(plcio_s7_partner_bsend(p, 1, "x", 1), PLCIO_ENOTCONN);
    assert_non_null(strstr(plcio_s7_partner_last_error(p)->text, "not linked"));
    assert_int_equal(plcio_s7_partner_wait_linked(p, 10), PLCIO_ESTATE);
    plcio_s7_partner_free(p);
}

static void test_blocks_both_ways(void **state)
{
    (void)state;
    pair pp = {0};
    link_pair(&pp, NULL);
    assert_int_equal(plcio_s7_partner_pdu_size(pp.a), 480);
    assert_int_equal(plcio_s7_partner_bsend_async(pp.a, 1, "", 0, NULL, NULL), PLCIO_ERANGE);
    static uint8_t big[65536];
    assert_int_equal(plcio_s7_partner_bsend_async(pp.a, 1, big, sizeof big, NULL, NULL), PLCIO_ERANGE);
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7 + 3);
    assert_int_equal(plcio_s7_partner_bsend_async(pp.a, 0xDEADBEEF, big, 5000, NULL, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_partner_bsend_async(pp.a, 2, big, 10, NULL, NULL), PLCIO_EBUSY);
    while (plcio_s7_partner_send_busy(pp.a))
        pump(&pp);
    assert_int_equal(plcio_s7_partner_bsend_async(pp.b, 77, "back", 4, NULL, NULL), PLCIO_OK);
    while (plcio_s7_partner_send_busy(pp.b))
        pump(&pp);

    static uint8_t got[65536];
    uint32_t rid = 0;
    size_t n = 0;
    assert_int_equal(plcio_s7_partner_brecv(pp.b, &rid, got, 100, &n, 0), PLCIO_ENOSPC);
    assert_int_equal(n, 5000); /* still queued */
    assert_int_equal(plcio_s7_partner_brecv(pp.b, &rid, got, sizeof got, &n, 0), PLCIO_OK);
    assert_int_equal(rid, 0xDEADBEEF);
    assert_int_equal(n, 5000);
    assert_memory_equal(got, big, 5000);
    assert_int_equal(plcio_s7_partner_brecv(pp.a, &rid, got, sizeof got, &n, 1000), PLCIO_OK);
    assert_int_equal(rid, 77);
    assert_memory_equal(got, "back", 4);
    assert_int_equal(plcio_s7_partner_brecv(pp.b, &rid, got, sizeof got, &n, 0), PLCIO_ETIMEDOUT);

    plcio_s7_partner_stats s;
    plcio_s7_partner_get_stats(pp.a, &s);
    assert_int_equal(s.send_count, 1);
    assert_int_equal(s.bytes_sent, 5000);
    assert_int_equal(s.recv_count, 1);
    assert_int_equal(s.links, 1);
    plcio_s7_partner_free(pp.a);
    plcio_s7_partner_free(pp.b);
}

typedef struct done_rec {
    int calls, result;
} done_rec;

static void on_done(void *ctx, plcio_s7_partner *p, int result)
{
    (void)p;
    done_rec *d = ctx;
    d->calls++;
    d->result = result;
}

static void test_queue_full_refuses(void **state)
{
    (void)state;
    plcio_s7_partner_options ob;
    plcio_s7_partner_options_init(&ob);
    ob.queue_blocks = 1;
    pair pp = {0};
    link_pair(&pp, &ob);
    done_rec d1 = {0, 1}, d2 = {0, 1};
    assert_int_equal(plcio_s7_partner_bsend_async(pp.a, 1, "one", 3, on_done, &d1), PLCIO_OK);
    while (!d1.calls)
        pump(&pp);
    assert_int_equal(d1.result, PLCIO_OK);
    /* B's queue is full and nobody reads it: B stops reading the socket, so
     * A's block waits for its ack (until send_timeout); reading one block
     * makes room and the ack comes. */
    assert_int_equal(plcio_s7_partner_bsend_async(pp.a, 2, "two", 3, on_done, &d2), PLCIO_OK);
    for (int i = 0; i < 20; i++)
        pump(&pp);
    assert_int_equal(d2.calls, 0); /* not acknowledged while B is full */
    uint32_t rid;
    char buf[8];
    size_t n;
    assert_int_equal(plcio_s7_partner_brecv(pp.b, &rid, buf, sizeof buf, &n, 0), PLCIO_OK);
    assert_int_equal(rid, 1);
    while (!d2.calls)
        pump(&pp);
    assert_int_equal(d2.result, PLCIO_OK);
    assert_int_equal(plcio_s7_partner_brecv(pp.b, &rid, buf, sizeof buf, &n, 0), PLCIO_OK);
    assert_int_equal(rid, 2);

    /* stop with a send under way: the callback gets PLCIO_ECANCELED */
    done_rec d3 = {0, 1};
    static uint8_t big[60000];
    assert_int_equal(plcio_s7_partner_bsend_async(pp.a, 3, big, sizeof big, on_done, &d3), PLCIO_OK);
    plcio_s7_partner_stop(pp.a);
    assert_int_equal(d3.calls, 1);
    assert_int_equal(d3.result, PLCIO_ECANCELED);
    assert_non_null(strstr(plcio_s7_partner_last_error(pp.a)->text, "not delivered"));
    plcio_s7_partner_stats s;
    plcio_s7_partner_get_stats(pp.a, &s);
    assert_int_equal(s.send_errors, 1);
    /* B notices the link is gone and listens again */
    for (int i = 0; i < 200 && plcio_s7_partner_get_status(pp.b) == PLCIO_S7_PARTNER_LINKED; i++)
        pump(&pp);
    assert_int_equal(plcio_s7_partner_get_status(pp.b), PLCIO_S7_PARTNER_RUNNING);
    plcio_s7_partner_free(pp.a);
    plcio_s7_partner_free(pp.b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arguments),
        cmocka_unit_test(test_blocks_both_ways),
        cmocka_unit_test(test_queue_full_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
