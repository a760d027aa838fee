/* The fixture both client fault tests share (test_fault_s7_client.c,
 * test_fault_modbus_client.c): a peer (a child process) behind the fault
 * proxy, a client `direct` to the peer itself (the judge of what the device
 * holds) and a client `via` the proxy, the one the faults hit.
 *
 * Before including it, the test file defines
 *   FAULT_CLIENT   its client type (plcio_s7_client, plcio_modbus_client)
 *   FAULT_IMAGE    the declaration of its copy of the device's memory
 *                  (`uint8_t image[100]`)
 * and after it, for its protocol:
 *   fault_start_peer(server, peer)  starts the peer, returns its port
 *   client_open(port)               a client of port (connected, where the
 *                                   protocol connects up front)
 *   client_free(cl)
 *   device_fill(c)                  fills image and, through direct, the device
 * and the five cases every client fault test has (test_delay_and_split,
 * test_stall_dark_refuse, test_corruption, test_cut_and_reset_writes,
 * test_cut_and_reset_reads); its main is fault_client_main(setup_foreign):
 * the five against plcio sim, then against the foreign peer. */
#ifndef PLCIO_TEST_FAULT_CLIENT_FIXTURE_H
#define PLCIO_TEST_FAULT_CLIENT_FIXTURE_H

#include "fault_util.h"

typedef struct ctx {
    fault_peer peer;
    plcio_test_proc server;
    fault_proxy *proxy;
    FAULT_CLIENT *direct; /* to the server itself */
    FAULT_CLIENT *via;    /* through the proxy */
    FAULT_IMAGE;
} ctx;

static int fault_start_peer(plcio_test_proc *server, fault_peer peer);
static FAULT_CLIENT *client_open(int port);
static void client_free(FAULT_CLIENT *cl);
static void device_fill(ctx *c);
static void test_delay_and_split(void **state);
static void test_stall_dark_refuse(void **state);
static void test_corruption(void **state);
static void test_cut_and_reset_writes(void **state);
static void test_cut_and_reset_reads(void **state);

static int setup_peer(void **state, fault_peer peer)
{
    ctx *c = calloc(1, sizeof *c);
    if (!c) return -1;
    *state = c;
    c->peer = peer;
    int port = fault_start_peer(&c->server, peer);
    c->proxy = fault_proxy_start(port, 60);
    assert_non_null(c->proxy);
    c->direct = client_open(port);
    c->via = client_open(fault_proxy_port(c->proxy));
    device_fill(c);
    return 0;
}

static int setup_sim(void **state) { return setup_peer(state, PEER_PLCIO_SIM); }

static int teardown(void **state)
{
    ctx *c = *state;
    if (!c) return 0;
    client_free(c->via);
    client_free(c->direct);
    fault_proxy_stop(c->proxy);
    plcio_test_proc_stop(&c->server);
    free(c);
    return 0;
}

static int fault_client_main(int (*setup_foreign)(void **))
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_delay_and_split, setup_sim, teardown),
        cmocka_unit_test_setup_teardown(test_stall_dark_refuse, setup_sim, teardown),
        cmocka_unit_test_setup_teardown(test_corruption, setup_sim, teardown),
        cmocka_unit_test_setup_teardown(test_cut_and_reset_writes, setup_sim, teardown),
        cmocka_unit_test_setup_teardown(test_cut_and_reset_reads, setup_sim, teardown),
        cmocka_unit_test_setup_teardown(test_delay_and_split, setup_foreign, teardown),
        cmocka_unit_test_setup_teardown(test_stall_dark_refuse, setup_foreign, teardown),
        cmocka_unit_test_setup_teardown(test_corruption, setup_foreign, teardown),
        cmocka_unit_test_setup_teardown(test_cut_and_reset_writes, setup_foreign, teardown),
        cmocka_unit_test_setup_teardown(test_cut_and_reset_reads, setup_foreign, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif
