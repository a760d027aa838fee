/* Shared by the fault tests: servers as child processes (each ends by itself),
 * and the figures each test prints for docs/reliability.md. */
#ifndef PLCIO_TEST_FAULT_UTIL_H
#define PLCIO_TEST_FAULT_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault_proxy.h"
#include "plcio/plcio.h"
#include "plcio_test.h"

/* Server lifetimes: well past any test, short enough that nothing lingers. */
#define FAULT_SERVER_SECONDS 90

typedef enum fault_peer { PEER_PLCIO_SIM = 0, PEER_SNAP7 = 1, PEER_PYMODBUS = 2 } fault_peer;

static inline const char *fault_peer_name(fault_peer p)
{
    return p == PEER_SNAP7 ? "snap7" : p == PEER_PYMODBUS ? "pymodbus" : "plcio sim";
}

/* Start the S7 server `peer` (plcio sim s7 with DB1 of 100 bytes, or snap7's
 * server with DB1 of 100 bytes); returns its port. */
static inline int fault_start_s7(plcio_test_proc *proc, fault_peer peer)
{
    char secs[16];
    snprintf(secs, sizeof secs, "%d", FAULT_SERVER_SECONDS);
    if (peer == PEER_SNAP7) {
        char script[4096];
        snprintf(script, sizeof script, "%s/../s7_snap7_server.js", plcio_test_node_modules());
        const char *argv[] = {"node", script, "--seconds", secs, NULL};
        assert_int_equal(plcio_test_proc_start(proc, argv, "listening on", 20000, FAULT_SERVER_SECONDS + 5), 0);
    } else {
        const char *bin = getenv("PLCIO_BIN");
        assert_non_null(bin);
        const char *argv[] = {bin, "sim", "s7", "--listen", "127.0.0.1:0", "--db", "1:100", "--seconds", secs, NULL};
        assert_int_equal(plcio_test_proc_start(proc, argv, "listening on", 10000, FAULT_SERVER_SECONDS + 5), 0);
    }
    int port = plcio_test_port_from_line(proc->line);
    assert_true(port > 0);
    return port;
}

/* Start the Modbus TCP server `peer` (plcio sim modbus, or pymodbus 3.0 with
 * holding[i] = i for i < 200); returns its port. */
static inline int fault_start_modbus(plcio_test_proc *proc, fault_peer peer)
{
    char secs[16];
    snprintf(secs, sizeof secs, "%d", FAULT_SERVER_SECONDS);
    if (peer == PEER_PYMODBUS) {
        char script[600];
        const char *dir = getenv("PLCIO_INTEROP_DIR");
        snprintf(script, sizeof script, "%s/modbus/pymodbus_peer.py", dir && *dir ? dir : PLCIO_INTEROP_DIR);
        /* pymodbus logs every connection the faults break on stderr: kept out of the test output */
        const char *argv[] = {
            "sh", "-c", "exec \"$0\" \"$@\" 2>/dev/null", "/usr/bin/python3", script, "server", "tcp", "--seconds",
            secs, NULL};
        assert_int_equal(plcio_test_proc_start(proc, argv, "listening on", 20000, FAULT_SERVER_SECONDS + 5), 0);
    } else {
        const char *bin = getenv("PLCIO_BIN");
        assert_non_null(bin);
        const char *argv[] = {bin, "sim", "modbus", "--tcp", "127.0.0.1:0", "--size", "1000", "--seconds", secs, NULL};
        assert_int_equal(plcio_test_proc_start(proc, argv, "listening on", 10000, FAULT_SERVER_SECONDS + 5), 0);
    }
    int port = plcio_test_port_from_line(proc->line);
    assert_true(port > 0);
    return port;
}

/* One line of figures per test, "fault-figures: ..." (collected into docs/reliability.md). */
static inline void fault_figures(const char *test, fault_peer peer, fault_proxy *p, const char *extra)
{
    fault_counters n;
    fault_proxy_counters(p, &n);
    printf("fault-figures: %s [%s]: connections %llu, bytes up/down %llu/%llu, corrupted %llu/%llu, "
           "single-byte writes %llu, stalls %llu, dark %llu, cuts %llu, resets %llu, refusals %llu; %s\n",
           test, fault_peer_name(peer), (unsigned long long)n.accepted, (unsigned long long)n.bytes_out[FAULT_UP],
           (unsigned long long)n.bytes_out[FAULT_DOWN], (unsigned long long)n.corrupted[FAULT_UP],
           (unsigned long long)n.corrupted[FAULT_DOWN],
           (unsigned long long)n.single_writes[FAULT_UP] + (unsigned long long)n.single_writes[FAULT_DOWN],
           (unsigned long long)n.stalls[FAULT_UP] + (unsigned long long)n.stalls[FAULT_DOWN],
           (unsigned long long)n.dark_periods, (unsigned long long)n.cuts, (unsigned long long)n.resets,
           (unsigned long long)n.refuse_periods, extra ? extra : "");
    fflush(stdout);
}

#endif
