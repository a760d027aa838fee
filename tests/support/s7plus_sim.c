/* The symbolic S7CommPlus interop tests' setup: see s7plus_sim.h. */
#include "s7plus_sim.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int plcio_test_s7plus_sim_start(plcio_test_proc *p, unsigned serve)
{
    const char *fx = getenv("PLCIO_FIXTURES");
    if (!fx) fail_msg("PLCIO_FIXTURES not set");
    char db[600], udt[512], tags[512];
    snprintf(db, sizeof db, "5:%s/s7plus_symbolic/plant.db", fx);
    snprintf(udt, sizeof udt, "%s/s7plus_symbolic/axis.udt", fx);
    snprintf(tags, sizeof tags, "%s/s7plus_symbolic/plc_tags.csv", fx);
    const char *argv[16] = {plcio_test_bin(), "sim", "s7", "--listen", "127.0.0.1:0", "--seconds", "120"};
    size_t n = 7;
    if (serve & PLCIO_TEST_S7PLUS_DB) {
        argv[n++] = "--db";
        argv[n++] = db;
        argv[n++] = "--layout";
        argv[n++] = udt;
    }
    if (serve & PLCIO_TEST_S7PLUS_TAGS) {
        argv[n++] = "--tags";
        argv[n++] = tags;
    }
    argv[n] = NULL;
    assert_int_equal(plcio_test_proc_start(p, argv, "listening on", 20000, 130), 0);
    int port = plcio_test_port_from_line(p->line);
    assert_true(port > 0);
    return port;
}

plcio_s7plus_client *plcio_test_s7plus_client(int port, const char *params, bool connect)
{
    char url[200];
    snprintf(url, sizeof url, "s7plus://127.0.0.1:%d?insecure=1%s", port, params);
    plcio_s7plus_client *c = NULL;
    plcio_error err;
    if (plcio_s7plus_client_new(url, NULL, &c, &err)) fail_msg("%s: %s", url, err.text);
    if (connect && plcio_s7plus_client_connect(c)) fail_msg("connect: %s", plcio_s7plus_client_last_error(c)->text);
    return c;
}

static void on_value(void *ctx, plcio_s7plus_client *c, const plcio_s7plus_notification *n)
{
    plcio_test_s7plus_watch *w = ctx;
    (void)c;
    for (size_t i = 0; i < n->n; i++)
        if (n->values[i].result == PLCIO_OK && n->values[i].size == 4) {
            memcpy(w->value, n->values[i].data, 4);
            w->type = n->values[i].pvalue_type;
            w->seen = true;
        }
}

void plcio_test_s7plus_watch_real(plcio_s7plus_client *c, const char *name, const uint8_t first[4],
                                  plcio_test_s7plus_watch *w)
{
    memset(w, 0, sizeof *w);
    plcio_s7plus_symbol sym;
    assert_int_equal(plcio_s7plus_client_resolve(c, name, &sym), PLCIO_OK);
    plcio_s7plus_sub_item item = {
        .access_area = sym.access_area, .sub_area = sym.sub_area, .crc = sym.crc, .nlids = sym.nlids};
    memcpy(item.lids, sym.lids, sizeof item.lids);
    plcio_s7plus_subscription_options o;
    plcio_s7plus_subscription_options_init(&o);
    o.cycle_ms = 10;
    o.notify = on_value;
    o.ctx = w;
    assert_int_equal(plcio_s7plus_client_subscribe(c, &item, 1, &o, &w->id), PLCIO_OK);
    for (int i = 0; i < 50 && !w->seen; i++)
        assert_int_equal(plcio_s7plus_client_wait_notification(c, 5000), PLCIO_OK);
    assert_true(w->seen);
    assert_memory_equal(w->value, first, 4);
    assert_int_equal(w->type, 0x0E);
}

void plcio_test_s7plus_watch_until(plcio_s7plus_client *c, plcio_test_s7plus_watch *w, const uint8_t want[4])
{
    int i = 0;
    while (memcmp(w->value, want, 4) != 0 && i++ < 50)
        assert_int_equal(plcio_s7plus_client_wait_notification(c, 5000), PLCIO_OK);
    assert_memory_equal(w->value, want, 4);
}

void plcio_test_s7plus_spin(plcio_s7plus_client *c)
{
    uint64_t deadline;
    unsigned ev = plcio_s7plus_client_wants(c, &deadline);
    struct pollfd p = {
        plcio_s7plus_client_fd(c),
        (short)((ev & PLCIO_S7PLUS_WANT_READ ? POLLIN : 0) | (ev & PLCIO_S7PLUS_WANT_WRITE ? POLLOUT : 0)), 0};
    (void)poll(&p, p.fd >= 0 ? 1 : 0, 50);
    (void)plcio_s7plus_client_process(c);
}
