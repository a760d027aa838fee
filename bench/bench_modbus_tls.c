/* bench_modbus_tls: what Modbus/TCP Security (TLS) costs against plain
 * Modbus/TCP, 125-register reads (FC 3) on loopback.
 *
 * Servers: plcio's (one event-loop thread in this process, one TCP and one
 * TLS listener on the same banks) and pymodbus 3.0's (Debian, /usr/bin/python3:
 * tests/interop/modbus/pymodbus_peer.py for TCP, pymodbus_tls_peer.py for TLS,
 * both child processes). Clients: plcio one request at a time (blocking) and
 * plcio's event-loop mode with 8 in flight. Every combination runs for
 * PLCIO_BENCH_SECONDS (default 1) and prints requests per second and the ratio
 * TLS / plain (1.00 = TLS costs nothing). Every answer is checked. The
 * certificates are made at start by tests/interop/modbus/make_tls_certs.sh
 * (openssl) in a temporary directory, removed at the end. The pymodbus rows
 * are skipped (said so) when /usr/bin/python3 has no pymodbus.
 *
 *   bench_modbus_tls [SOURCE_DIR]     (default: the source tree it was built from) */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_measure.h"
#include "plcio/modbus.h"

#define REGS 125

static char certs[256];

/* plcio's bank: regs[i] = i * 7 + 1; pymodbus_peer.py's: holding[i] = i. */
static bool good_plcio(const uint16_t *r) { return r[0] == 1 && r[REGS - 1] == (REGS - 1) * 7 + 1; }
static bool good_pymodbus(const uint16_t *r) { return r[0] == 0 && r[REGS - 1] == REGS - 1; }

static void *serve(void *arg)
{
    plcio_modbus_server_run(arg);
    return NULL;
}

static int start_plcio_server(plcio_modbus_server **out, int *tcp_port, int *tls_port)
{
    plcio_modbus_server *s = NULL;
    (void)plcio_modbus_server_new(NULL, &s, NULL);
    plcio_modbus_bank_config bank = plcio_modbus_bank_default(1000);
    if (!s || plcio_modbus_server_add_unit(s, 1, &bank) != PLCIO_OK ||
        plcio_modbus_server_listen_tcp(s, "127.0.0.1", 0, tcp_port) != PLCIO_OK)
        return -1;
    char ca[300], cert[300], key[300];
    snprintf(ca, sizeof ca, "%s/ca.pem", certs);
    snprintf(cert, sizeof cert, "%s/server.pem", certs);
    snprintf(key, sizeof key, "%s/server.key", certs);
    plcio_modbus_tls_options t;
    plcio_modbus_tls_options_init(&t);
    t.ca_file = ca;
    t.cert_file = cert;
    t.key_file = key;
    plcio_error err;
    if (plcio_modbus_server_listen_tls(s, "127.0.0.1", 0, &t, tls_port, &err) != PLCIO_OK) {
        fprintf(stderr, "bench_modbus_tls: %s\n", err.text);
        return -1;
    }
    uint16_t regs[REGS];
    for (int i = 0; i < REGS; i++)
        regs[i] = (uint16_t)(i * 7 + 1);
    plcio_modbus_server_write_bank(s, 1, PLCIO_MODBUS_HOLDING_REGISTERS, 0, REGS, regs);
    pthread_t th;
    pthread_create(&th, NULL, serve, s);
    pthread_detach(th);
    *out = s;
    return 0;
}

static void url_for(char *url, size_t cap, bool tls, int port)
{
    if (tls)
        snprintf(url, cap,
                 "modbus-tls://127.0.0.1:%d?timeout=3000&ca=%s/ca.pem&cert=%s/operator.pem&key=%s/operator.key", port,
                 certs, certs, certs);
    else
        snprintf(url, cap, "modbus-tcp://127.0.0.1:%d?timeout=3000", port);
}

/* One request at a time with the blocking calls. */
static double run_blocking(bool tls, int port, bool (*good)(const uint16_t *))
{
    char url[1200];
    url_for(url, sizeof url, tls, port);
    plcio_modbus_client *c = NULL;
    (void)plcio_modbus_client_new(url, NULL, &c, NULL);
    if (!c || plcio_modbus_client_connect(c) != PLCIO_OK) {
        if (c) fprintf(stderr, "bench_modbus_tls: %s\n", plcio_modbus_client_last_error(c)->text);
        plcio_modbus_client_free(c);
        return -1;
    }
    uint16_t regs[REGS];
    long done = 0;
    double start = now_s(), end = start + bench_seconds(1.0);
    while (now_s() < end) {
        if (plcio_modbus_read_holding_registers(c, 1, 0, REGS, regs) != PLCIO_OK || !good(regs)) {
            plcio_modbus_client_free(c);
            return -1;
        }
        done++;
    }
    double rate = (double)done / (now_s() - start);
    plcio_modbus_client_free(c);
    return rate;
}

typedef struct async_run {
    bool (*good)(const uint16_t *);
    long done;
    bool bad, stop;
} async_run;

static void async_done(void *ctx, plcio_modbus_client *c, plcio_modbus_request *r)
{
    async_run *a = ctx;
    if (r->result != PLCIO_OK || !a->good(r->regs)) a->bad = true;
    a->done++;
    if (!a->stop && !a->bad && plcio_modbus_submit(c, r, async_done, a) != PLCIO_OK) a->bad = true;
}

/* The event-loop mode with `depth` requests in flight, a poll() loop. */
static double run_async(bool tls, int port, unsigned depth, bool (*good)(const uint16_t *))
{
    char url[1200];
    url_for(url, sizeof url, tls, port);
    plcio_modbus_client *c = NULL;
    async_run a = {good, 0, false, false};
    (void)plcio_modbus_client_new(url, NULL, &c, NULL);
    if (!c || plcio_modbus_client_set_depth(c, depth) != PLCIO_OK || plcio_modbus_client_connect_async(c) != PLCIO_OK) {
        plcio_modbus_client_free(c);
        return -1;
    }
    static uint16_t regs[16][REGS];
    static plcio_modbus_request reqs[16];
    for (unsigned i = 0; i < depth && i < 16; i++) {
        reqs[i] = (plcio_modbus_request){.unit = 1, .function = 3, .addr = 0, .n = REGS, .regs = regs[i]};
        if (plcio_modbus_submit(c, &reqs[i], async_done, &a) != PLCIO_OK) a.bad = true;
    }
    double start = now_s(), end = start + bench_seconds(1.0);
    while (!a.bad && plcio_modbus_client_pending(c)) {
        a.stop = now_s() >= end;
        uint64_t deadline;
        unsigned wants = plcio_modbus_client_wants(c, &deadline);
        struct pollfd p = {plcio_modbus_client_fd(c),
                           (short)(((wants & PLCIO_MODBUS_WANT_READ) ? POLLIN : 0) |
                                   ((wants & PLCIO_MODBUS_WANT_WRITE) ? POLLOUT : 0)),
                           0};
        poll(&p, 1, deadline ? 1 : 100);
        if (plcio_modbus_client_process(c) != PLCIO_OK) a.bad = true;
    }
    double rate = (double)a.done / (now_s() - start);
    if (a.bad) fprintf(stderr, "bench_modbus_tls: event loop: %s\n", plcio_modbus_client_last_error(c)->text);
    plcio_modbus_client_free(c);
    return a.bad ? -1 : rate;
}

/* A pymodbus peer as a child: its pid, the port it printed (-1 on failure). */
static int start_peer(const char *src, bool tls, pid_t *pid)
{
    int fds[2];
    if (pipe(fds) != 0) return -1;
    *pid = fork();
    if (*pid < 0) return -1;
    if (*pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        FILE *null = freopen("/dev/null", "w", stderr); /* pymodbus logs every closed connection */
        (void)null;
        char script[600];
        snprintf(script, sizeof script, "%s/tests/interop/modbus/%s", src,
                 tls ? "pymodbus_tls_peer.py" : "pymodbus_peer.py");
        if (tls)
            execl("/usr/bin/python3", "python3", script, "server", certs, "--seconds", "120", (char *)NULL);
        else
            execl("/usr/bin/python3", "python3", script, "server", "tcp", "--seconds", "120", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    char line[200];
    int port = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "listening on 127.0.0.1:%d", &port) == 1) break;
    if (f) (void)fclose(f); /* the read end of a pipe */
    return port;
}

static void stop_peer(pid_t pid)
{
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

static void row(const char *what, double plain, double tls)
{
    printf("  %-40s %9.0f req/s plain  %9.0f req/s TLS   TLS/plain %.2f\n", what, plain, tls, tls / plain);
}

int main(int argc, char **argv)
{
    const char *src = argc > 1 ? argv[1] : PLCIO_SOURCE_DIR;
    snprintf(certs, sizeof certs, "/tmp/plcio-bench-mbtls-%d", (int)getpid());
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "sh '%s/tests/interop/modbus/make_tls_certs.sh' '%s'", src, certs);
    if (system(cmd) != 0) {
        fprintf(stderr, "bench_modbus_tls: cannot make certificates (openssl)\n");
        return 1;
    }
    plcio_modbus_server *s = NULL;
    int tcp = 0, tls = 0, st = 0;
    if (start_plcio_server(&s, &tcp, &tls) != 0) {
        fprintf(stderr, "bench_modbus_tls: cannot start plcio's server\n");
        st = 1;
        goto out;
    }
    printf("bench_modbus_tls: FC 3, 125 registers, loopback, %.1f s per run (TLS: mutual authentication, RSA 2048)\n",
           bench_seconds(1.0));
    double b_plain = run_blocking(false, tcp, good_plcio), b_tls = run_blocking(true, tls, good_plcio);
    double a_plain = run_async(false, tcp, 8, good_plcio), a_tls = run_async(true, tls, 8, good_plcio);
    if (b_plain < 0 || b_tls < 0 || a_plain < 0 || a_tls < 0) {
        fprintf(stderr, "bench_modbus_tls: a run against plcio's server failed\n");
        st = 1;
        goto out;
    }
    row("plcio client, one at a time -> plcio", b_plain, b_tls);
    row("plcio event loop, 8 in flight -> plcio", a_plain, a_tls);
    if (system("/usr/bin/python3 -c 'import pymodbus.server' 2>/dev/null") != 0) {
        printf("  pymodbus rows skipped: /usr/bin/python3 has no pymodbus (scripts/bootstrap.sh installs it)\n");
        goto out;
    }
    pid_t p_plain = 0, p_tls = 0;
    int pp = start_peer(src, false, &p_plain), pt = start_peer(src, true, &p_tls);
    if (pp > 0 && pt > 0) {
        double pb_plain = run_blocking(false, pp, good_pymodbus), pb_tls = run_blocking(true, pt, good_pymodbus);
        double pa_plain = run_async(false, pp, 8, good_pymodbus), pa_tls = run_async(true, pt, 8, good_pymodbus);
        if (pb_plain < 0 || pb_tls < 0 || pa_plain < 0 || pa_tls < 0) {
            fprintf(stderr, "bench_modbus_tls: a run against pymodbus failed\n");
            st = 1;
        } else {
            row("plcio client, one at a time -> pymodbus", pb_plain, pb_tls);
            row("plcio event loop, 8 in flight -> pymodbus", pa_plain, pa_tls);
            printf("  plcio server vs pymodbus server, TLS, one at a time: %.2fx; 8 in flight: %.2fx\n", b_tls / pb_tls,
                   a_tls / pa_tls);
        }
    } else {
        fprintf(stderr, "bench_modbus_tls: pymodbus peers did not start\n");
        st = 1;
    }
    stop_peer(p_plain);
    stop_peer(p_tls);
out:
    if (s) plcio_modbus_server_stop(s);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", certs);
    if (system(cmd) != 0) st = 1;
    return st;
}
