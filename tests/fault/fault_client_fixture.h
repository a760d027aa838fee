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
 *   device_fill(c)                  fills image and, through direct, the device. */
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

#endif
