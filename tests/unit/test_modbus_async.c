/* The Modbus client's event-loop mode (plcio/modbus.h "event-loop use"):
 * against plcio's own server in this process (TCP and UDP: every function
 * code of the mode, pipelined, in order, the right data), and against a
 * scripted TCP peer on a thread that shows what a real server cannot be made
 * to do on purpose: requests really in flight together, a peer that keeps
 * silent for some requests, one that drops the connection, and malformed,
 * oversized and foreign answers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mb_async_loop.h"
#include "plcio/modbus.h"
#include "plcio_test.h"

/* ---- plcio's server on a thread ---- */

typedef struct server {
    plcio_modbus_server *s;
    pthread_t thread;
    int tcp_port, udp_port;
} server;

static void *serve(void *p)
{
    plcio_modbus_server_run(((server *)p)->s);
    return NULL;
}

static void server_start(server *sv)
{
    (void)plcio_modbus_server_new(NULL, &sv->s, NULL);
    assert_non_null(sv->s);
    plcio_modbus_bank_config bank = plcio_modbus_bank_default(2000);
    assert_int_equal(plcio_modbus_server_add_unit(sv->s, 1, &bank), PLCIO_OK);
    assert_int_equal(plcio_modbus_server_listen_tcp(sv->s, "127.0.0.1", 0, &sv->tcp_port), PLCIO_OK);
    assert_int_equal(plcio_modbus_server_listen_udp(sv->s, "127.0.0.1", 0, &sv->udp_port), PLCIO_OK);
    uint16_t v[100];
    for (uint16_t base = 0; base < 2000; base += 100) {
        for (uint16_t i = 0; i < 100; i++)
            v[i] = (uint16_t)(3 * (base + i));
        assert_int_equal(plcio_modbus_server_write_bank(sv->s, 1, PLCIO_MODBUS_HOLDING_REGISTERS, base, 100, v),
                         PLCIO_OK);
        for (uint16_t i = 0; i < 100; i++)
            v[i] = (uint16_t)(base + i + 7);
        assert_int_equal(plcio_modbus_server_write_bank(sv->s, 1, PLCIO_MODBUS_INPUT_REGISTERS, base, 100, v),
                         PLCIO_OK);
        for (uint16_t i = 0; i < 100; i++)
            v[i] = (uint16_t)((base + i) % 3 == 0);
        assert_int_equal(plcio_modbus_server_write_bank(sv->s, 1, PLCIO_MODBUS_COILS, base, 100, v), PLCIO_OK);
        for (uint16_t i = 0; i < 100; i++)
            v[i] = (uint16_t)((base + i) % 2 == 0);
        assert_int_equal(plcio_modbus_server_write_bank(sv->s, 1, PLCIO_MODBUS_DISCRETE_INPUTS, base, 100, v),
                         PLCIO_OK);
    }
    assert_int_equal(pthread_create(&sv->thread, NULL, serve, sv), 0);
}

static void server_stop(server *sv)
{
    plcio_modbus_server_stop(sv->s);
    pthread_join(sv->thread, NULL);
    plcio_modbus_server_free(sv->s);
}

static plcio_modbus_client *client_for(const char *scheme, int port, const char *extra, unsigned depth)
{
    char url[160];
    snprintf(url, sizeof url, "%s://127.0.0.1:%d?unit=1%s", scheme, port, extra ? extra : "");
    plcio_modbus_client *c = NULL;
    (void)plcio_modbus_client_new(url, NULL, &c, NULL);
    assert_non_null(c);
    assert_int_equal(plcio_modbus_client_set_depth(c, depth), PLCIO_OK);
    assert_int_equal(plcio_modbus_client_connect_async(c), PLCIO_OK);
    return c;
}

/* ---- every function code of the mode, pipelined, against plcio's server ---- */

#define NREAD 40

static void mixed_scenario(plcio_modbus_client *c, server *sv)
{
    static uint16_t regs[NREAD][10], wregs[5] = {11, 22, 33, 44, 55}, ir[4], w6 = 0xBEEF;
    static uint8_t coils[20], dis[12], on = 1, wbits[9] = {1, 0, 1, 1, 0, 0, 1, 0, 1};
    static plcio_modbus_request reqs[NREAD + 7];
    mb_async_log log = {.base = reqs};
    for (int i = 0; i < NREAD; i++)
        reqs[i] =
            (plcio_modbus_request){.unit = 1, .function = 3, .addr = (uint16_t)(10 * i), .n = 10, .regs = regs[i]};
    reqs[NREAD] = (plcio_modbus_request){.unit = 1, .function = 1, .addr = 30, .n = 20, .bits = coils};
    reqs[NREAD + 1] = (plcio_modbus_request){.unit = 1, .function = 2, .addr = 5, .n = 12, .bits = dis};
    reqs[NREAD + 2] = (plcio_modbus_request){.unit = 1, .function = 4, .addr = 100, .n = 4, .regs = ir};
    reqs[NREAD + 3] = (plcio_modbus_request){.unit = 1, .function = 5, .addr = 1001, .bits = &on};
    reqs[NREAD + 4] = (plcio_modbus_request){.unit = 1, .function = 6, .addr = 1500, .regs = &w6};
    reqs[NREAD + 5] = (plcio_modbus_request){.unit = 1, .function = 15, .addr = 1100, .n = 9, .bits = wbits};
    reqs[NREAD + 6] = (plcio_modbus_request){.unit = 1, .function = 16, .addr = 1600, .n = 5, .regs = wregs};
    int n = NREAD + 7;
    for (int i = 0; i < n; i++)
        assert_int_equal(plcio_modbus_submit(c, &reqs[i], mb_async_record, &log), PLCIO_OK);
    assert_int_equal(plcio_modbus_client_pending(c), (size_t)n);
    assert_int_equal(mb_async_run(c, &log.done, n, 20000), PLCIO_OK);
    assert_int_equal(log.done, n);
    for (int i = 0; i < n; i++) {
        assert_int_equal(log.order[i], i); /* one connection, answered in order: completed in order */
        assert_int_equal(reqs[i].result, PLCIO_OK);
        assert_true(reqs[i].sent);
    }
    for (int i = 0; i < NREAD; i++)
        for (int k = 0; k < 10; k++)
            assert_int_equal(regs[i][k], (uint16_t)(3 * (10 * i + k)));
    for (int k = 0; k < 20; k++)
        assert_int_equal(coils[k], (30 + k) % 3 == 0);
    for (int k = 0; k < 12; k++)
        assert_int_equal(dis[k], (5 + k) % 2 == 0);
    for (int k = 0; k < 4; k++)
        assert_int_equal(ir[k], 100 + k + 7);
    uint16_t back[9];
    assert_int_equal(plcio_modbus_server_read_bank(sv->s, 1, PLCIO_MODBUS_COILS, 1001, 1, back), PLCIO_OK);
    assert_int_equal(back[0], 1);
    assert_int_equal(plcio_modbus_server_read_bank(sv->s, 1, PLCIO_MODBUS_HOLDING_REGISTERS, 1500, 1, back), PLCIO_OK);
    assert_int_equal(back[0], 0xBEEF);
    assert_int_equal(plcio_modbus_server_read_bank(sv->s, 1, PLCIO_MODBUS_COILS, 1100, 9, back), PLCIO_OK);
    for (int k = 0; k < 9; k++)
        assert_int_equal(back[k], wbits[k]);
    assert_int_equal(plcio_modbus_server_read_bank(sv->s, 1, PLCIO_MODBUS_HOLDING_REGISTERS, 1600, 5, back), PLCIO_OK);
    assert_memory_equal(back, wregs, sizeof wregs);
    assert_int_equal(plcio_modbus_client_pending(c), 0);
}

static void test_tcp_every_function_pipelined(void **state)
{
    (void)state;
    server sv;
    server_start(&sv);
    plcio_modbus_client *c = client_for("modbus-tcp", sv.tcp_port, NULL, 8);
    mixed_scenario(c, &sv);
    /* an exception is a result, not a link failure */
    uint16_t r[4];
    plcio_modbus_request bad = {.unit = 1, .function = 3, .addr = 1999, .n = 4, .regs = r};
    mb_async_log log = {.base = &bad};
    assert_int_equal(plcio_modbus_submit(c, &bad, mb_async_record, &log), PLCIO_OK);
    assert_int_equal(mb_async_run(c, &log.done, 1, 10000), PLCIO_OK);
    assert_int_equal(bad.result, PLCIO_EMBEXC);
    assert_int_equal(bad.exception, PLCIO_MB_EX_ILLEGAL_DATA_ADDRESS);
    assert_true(plcio_modbus_client_is_connected(c));
    /* the blocking calls share the link once the loop is idle */
    assert_int_equal(plcio_modbus_read_holding_registers(c, 1, 2, 2, r), PLCIO_OK);
    assert_int_equal(r[1], 9);
    plcio_modbus_client_free(c);
    server_stop(&sv);
}

static void test_udp_pipelined(void **state)
{
    (void)state;
    server sv;
    server_start(&sv);
    plcio_modbus_client *c = client_for("modbus-udp", sv.udp_port, NULL, 8);
    assert_true(plcio_modbus_client_is_connected(c)); /* no connection to wait for */
    mixed_scenario(c, &sv);
    plcio_modbus_client_free(c);
    server_stop(&sv);
}

static void test_api_errors(void **state)
{
    (void)state;
    server sv;
    server_start(&sv);
    char url[96];
    snprintf(url, sizeof url, "modbus-tcp://127.0.0.1:%d", sv.tcp_port);
    plcio_modbus_client *c = NULL;
    (void)plcio_modbus_client_new(url, NULL, &c, NULL);
    uint16_t r[200];
    plcio_modbus_request q = {.unit = 1, .function = 3, .addr = 0, .n = 2, .regs = r};
    mb_async_log log = {.base = &q};
    assert_int_equal(plcio_modbus_submit(c, &q, mb_async_record, &log), PLCIO_ENOTCONN); /* connect first */
    assert_int_equal(plcio_modbus_client_wants(c, NULL), 0);
    assert_int_equal(plcio_modbus_client_set_depth(c, 0), PLCIO_EINVAL);
    assert_int_equal(plcio_modbus_client_set_depth(c, 65), PLCIO_EINVAL);
    assert_int_equal(plcio_modbus_client_connect_async(c), PLCIO_OK);
    plcio_modbus_request big = {.unit = 1, .function = 3, .addr = 0, .n = 126, .regs = r};
    assert_int_equal(plcio_modbus_submit(c, &big, mb_async_record, &log), PLCIO_ERANGE);
    plcio_modbus_request odd = {.unit = 1, .function = 7, .regs = r};
    assert_int_equal(plcio_modbus_submit(c, &odd, mb_async_record, &log), PLCIO_EUNSUPPORTED);
    plcio_modbus_request nobuf = {.unit = 1, .function = 3, .addr = 0, .n = 2};
    assert_int_equal(plcio_modbus_submit(c, &nobuf, mb_async_record, &log), PLCIO_EINVAL);
    /* queued, then cancelled: no callback, never sent */
    assert_int_equal(plcio_modbus_submit(c, &q, mb_async_record, &log), PLCIO_OK);
    assert_int_equal(plcio_modbus_submit(c, &q, mb_async_record, &log), PLCIO_EBUSY);  /* already pending */
    assert_int_equal(plcio_modbus_read_holding_registers(c, 1, 0, 2, r), PLCIO_EBUSY); /* the loop has the link */
    assert_true(plcio_modbus_cancel(c, &q));
    assert_false(plcio_modbus_cancel(c, &q));
    assert_int_equal(mb_async_run(c, &log.done, 1, 300), PLCIO_OK);
    assert_int_equal(log.done, 0);
    assert_false(q.sent);
    plcio_modbus_client_settings set;
    assert_int_equal(plcio_modbus_client_get_settings(c, &set), PLCIO_OK);
    assert_string_equal(set.transport, "tcp");
    assert_string_equal(set.framing, "mbap");
    assert_int_equal(set.unit, 1);
    plcio_modbus_client_free(c);
    server_stop(&sv);
}

/* Callbacks that submit again (the request goes back to the end of the
 * queue) keep the queue turning over many times; one request cancelled in the
 * middle of the queue never completes and the others keep their order. */
typedef struct churn {
    mb_async_log log;
    int total, submitted;
    bool bad;
} churn;

static void churn_done(void *ctx, plcio_modbus_client *c, plcio_modbus_request *r)
{
    churn *ch = ctx;
    if (r->result != PLCIO_OK || r->regs[1] != 3 * (r->addr + 1)) ch->bad = true;
    ch->log.done++;
    if (ch->submitted < ch->total) {
        r->addr = (uint16_t)(ch->submitted % 1900);
        if (plcio_modbus_submit(c, r, churn_done, ch) != PLCIO_OK) ch->bad = true;
        ch->submitted++;
    }
}

static void test_queue_turns_over(void **state)
{
    (void)state;
    server sv;
    server_start(&sv);
    plcio_modbus_client *c = client_for("modbus-tcp", sv.tcp_port, NULL, 4);
    static uint16_t regs[40][2];
    static plcio_modbus_request reqs[40];
    churn ch = {.log = {.base = reqs}, .total = 2000};
    for (int i = 0; i < 40; i++) {
        reqs[i] = (plcio_modbus_request){.unit = 1, .function = 3, .addr = (uint16_t)i, .n = 2, .regs = regs[i]};
        assert_int_equal(plcio_modbus_submit(c, &reqs[i], churn_done, &ch), PLCIO_OK);
        ch.submitted++;
    }
    assert_true(plcio_modbus_cancel(c, &reqs[20])); /* queued in the middle */
    ch.submitted--;
    assert_int_equal(mb_async_run(c, &ch.log.done, ch.total, 60000), PLCIO_OK);
    assert_false(ch.bad);
    assert_int_equal(ch.log.done, ch.total);         /* 39 kept turning, 2000 answers in all */
    assert_int_equal(reqs[20].result, PLCIO_EAGAIN); /* never completed */
    assert_int_equal(plcio_modbus_client_pending(c), 0);
    plcio_modbus_client_free(c);
    server_stop(&sv);
}

/* ---- a scripted peer ---- */

typedef enum peer_mode {
    PEER_BATCH,      /* hold answers until `batch` requests wait (or 2 s pass), then answer them all */
    PEER_SILENT_LOW, /* never answer requests for addresses below 100 */
    PEER_DROP_FIRST, /* first connection: read two requests, then close */
    PEER_BAD         /* per address: 1 exception, 2 wrong byte count, 3 oversized frame, 4 foreign tid */
} peer_mode;

typedef struct peer {
    int lfd, port;
    peer_mode mode;
    int batch;
    pthread_t thread;
    atomic_int max_waiting, connections, requests;
    atomic_bool stop;
} peer;

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* The right FC 3 answer to req (an MBAP frame): register k = addr + k. */
static size_t good_answer(const uint8_t *req, uint8_t *out)
{
    unsigned addr = (unsigned)(req[8] << 8 | req[9]), n = (unsigned)(req[10] << 8 | req[11]);
    memcpy(out, req, 4);
    put16(out + 4, 3 + 2 * n);
    out[6] = req[6];
    out[7] = req[7];
    out[8] = (uint8_t)(2 * n);
    for (size_t k = 0; k < n; k++)
        put16(out + 9 + 2 * k, addr + (unsigned)k);
    return 9 + 2 * n;
}

/* What the peer writes for req in PEER_BAD mode (0: nothing). */
static size_t bad_answer(const uint8_t *req, uint8_t *out)
{
    unsigned addr = (unsigned)(req[8] << 8 | req[9]);
    size_t n = good_answer(req, out);
    switch (addr) {
    case 1: /* exception 02 */
        put16(out + 4, 3);
        out[7] = 0x83;
        out[8] = 0x02;
        return 9;
    case 2: /* byte count says 2 registers more than asked, the MBAP length agrees */
        out[8] = (uint8_t)(out[8] + 4);
        put16(out + 4, 3u + out[8]);
        memset(out + n, 0, 4);
        return n + 4;
    case 3: /* an MBAP length no Modbus frame can have */ put16(out + 4, 0xFFF0); return n;
    case 4: /* an answer to a transaction that was never asked */ out[0] = (uint8_t)(out[0] ^ 0x5A); return n;
    default: return n;
    }
}

static void write_all(int fd, const uint8_t *b, size_t n)
{
    size_t off = 0;
    while (off < n) {
        ssize_t w = send(fd, b + off, n - off, MSG_NOSIGNAL);
        if (w <= 0) return;
        off += (size_t)w;
    }
}

static void serve_connection(peer *p, int fd, int conn)
{
    uint8_t in[8192], held[64][260];
    size_t have = 0;
    int waiting = 0, seen = 0;
    uint64_t first_held = 0;
    while (!atomic_load(&p->stop)) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        int r = poll(&pf, 1, 20);
        if (r > 0) {
            ssize_t got = recv(fd, in + have, sizeof in - have, 0);
            if (got <= 0) return;
            have += (size_t)got;
        }
        while (have >= 7 && have >= 6u + (size_t)(in[4] << 8 | in[5])) {
            size_t len = 6u + (size_t)(in[4] << 8 | in[5]);
            uint8_t req[260], out[600];
            memcpy(req, in, len < sizeof req ? len : sizeof req);
            memmove(in, in + len, have - len);
            have -= len;
            atomic_fetch_add(&p->requests, 1);
            seen++;
            unsigned addr = (unsigned)(req[8] << 8 | req[9]);
            if (p->mode == PEER_BATCH) {
                if (!waiting) first_held = plcio_monotonic_ns();
                memcpy(held[waiting++], req, 12);
            } else if (p->mode == PEER_SILENT_LOW) {
                if (addr >= 100) write_all(fd, out, good_answer(req, out));
            } else if (p->mode == PEER_DROP_FIRST) {
                if (conn == 1 && seen == 2) return;
                if (conn > 1) write_all(fd, out, good_answer(req, out));
            } else {
                size_t n = bad_answer(req, out);
                if (n) write_all(fd, out, n);
            }
        }
        if (waiting && (waiting >= p->batch || plcio_monotonic_ns() - first_held > 2 * PLCIO_NS_PER_S)) {
            if (waiting > atomic_load(&p->max_waiting)) atomic_store(&p->max_waiting, waiting);
            for (int i = 0; i < waiting; i++) {
                uint8_t out[600];
                write_all(fd, out, good_answer(held[i], out));
            }
            waiting = 0;
        }
    }
}

static void *peer_main(void *arg)
{
    peer *p = arg;
    while (!atomic_load(&p->stop)) {
        struct pollfd pf = {.fd = p->lfd, .events = POLLIN};
        if (poll(&pf, 1, 20) <= 0) continue;
        int fd = accept(p->lfd, NULL, NULL);
        if (fd < 0) continue;
        int conn = atomic_fetch_add(&p->connections, 1) + 1;
        serve_connection(p, fd, conn);
        close(fd);
    }
    return NULL;
}

static void peer_start(peer *p, peer_mode mode, int batch)
{
    memset(p, 0, sizeof *p);
    p->mode = mode;
    p->batch = batch;
    p->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(p->lfd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(p->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(p->lfd, 4), 0);
    assert_int_equal(getsockname(p->lfd, (struct sockaddr *)&a, &len), 0);
    p->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&p->thread, NULL, peer_main, p), 0);
}

static void peer_stop(peer *p)
{
    atomic_store(&p->stop, true);
    pthread_join(p->thread, NULL);
    close(p->lfd);
}

/* Requests are really on the wire together: the peer answers only once it
 * holds `depth` of them (a client that sends one at a time would leave it at
 * one, and wait 2 s per batch). */
static void test_depth_requests_in_flight(void **state)
{
    (void)state;
    for (unsigned depth = 3; depth <= 8; depth += 5) {
        peer p;
        peer_start(&p, PEER_BATCH, (int)depth);
        plcio_modbus_client *c = client_for("modbus-tcp", p.port, "&timeout=5000", depth);
        static uint16_t regs[32][4];
        static plcio_modbus_request reqs[32];
        mb_async_log log = {.base = reqs};
        for (int i = 0; i < 32; i++) {
            reqs[i] =
                (plcio_modbus_request){.unit = 1, .function = 3, .addr = (uint16_t)(200 + i), .n = 4, .regs = regs[i]};
            assert_int_equal(plcio_modbus_submit(c, &reqs[i], mb_async_record, &log), PLCIO_OK);
        }
        assert_int_equal(mb_async_run(c, &log.done, 32, 30000), PLCIO_OK);
        assert_int_equal(log.done, 32);
        for (int i = 0; i < 32; i++) {
            assert_int_equal(log.order[i], i);
            assert_int_equal(reqs[i].result, PLCIO_OK);
            assert_int_equal(regs[i][3], 200 + i + 3);
        }
        assert_int_equal(atomic_load(&p.max_waiting), (int)depth); /* never more than depth either */
        plcio_modbus_client_free(c);
        peer_stop(&p);
    }
}

/* What the other requests looked like when the first one timed out. */
static bool snap_taken, snap_sent[5];
static int snap_result[5];

static void timeout_snapshot(void *ctx, plcio_modbus_client *c, plcio_modbus_request *r)
{
    mb_async_log *log = ctx;
    if (r->result == PLCIO_ETIMEDOUT && !snap_taken) {
        snap_taken = true;
        for (int i = 0; i < 5; i++) {
            snap_sent[i] = log->base[i].sent;
            snap_result[i] = log->base[i].result;
        }
    }
    mb_async_record(ctx, c, r);
}

/* Two requests the peer ignores time out; the three queued behind them are
 * not failed with them: they go on the wire afterwards and succeed, on the
 * same connection. */
static void test_timeout_fails_only_in_flight(void **state)
{
    (void)state;
    peer p;
    peer_start(&p, PEER_SILENT_LOW, 1);
    plcio_modbus_client *c = client_for("modbus-tcp", p.port, "&timeout=300", 2);
    static uint16_t regs[5][2];
    static plcio_modbus_request reqs[5];
    static const uint16_t addr[5] = {0, 1, 100, 101, 102};
    mb_async_log log = {.base = reqs};
    for (int i = 0; i < 5; i++) {
        reqs[i] = (plcio_modbus_request){
            .unit = 1, .function = 3, .addr = addr[i], .n = 2, .regs = regs[i], .retries = PLCIO_MODBUS_NO_RETRY};
        assert_int_equal(plcio_modbus_submit(c, &reqs[i], timeout_snapshot, &log), PLCIO_OK);
    }
    snap_taken = false;
    assert_int_equal(mb_async_run(c, &log.done, 5, 10000), PLCIO_OK);
    assert_int_equal(log.done, 5);
    assert_int_equal(log.order[0], 0);
    assert_int_equal(log.order[1], 1);
    assert_int_equal(reqs[0].result, PLCIO_ETIMEDOUT);
    assert_int_equal(reqs[1].result, PLCIO_ETIMEDOUT);
    assert_true(snap_taken);
    assert_true(snap_sent[0] && snap_sent[1]);
    for (int i = 2; i < 5; i++) {
        assert_false(snap_sent[i]); /* were queued, not in flight: not failed with them */
        assert_int_equal(snap_result[i], PLCIO_EAGAIN);
    }
    for (int i = 2; i < 5; i++) {
        assert_int_equal(reqs[i].result, PLCIO_OK);
        assert_int_equal(regs[i][1], addr[i] + 1);
    }
    assert_int_equal(atomic_load(&p.connections), 1); /* a timeout does not close the link */
    /* with a retry, an ignored request goes out twice before it fails */
    int before = atomic_load(&p.requests);
    reqs[0].retries = 1;
    assert_int_equal(plcio_modbus_submit(c, &reqs[0], mb_async_record, &log), PLCIO_OK);
    assert_int_equal(mb_async_run(c, &log.done, 6, 10000), PLCIO_OK);
    assert_int_equal(reqs[0].result, PLCIO_ETIMEDOUT);
    assert_int_equal(atomic_load(&p.requests) - before, 2);
    plcio_modbus_client_free(c);
    peer_stop(&p);
}

/* The peer reads two requests and closes: every request, on the wire or
 * queued, fails with a clear error; connecting again works. */
static void test_drop_fails_all_then_reconnect(void **state)
{
    (void)state;
    peer p;
    peer_start(&p, PEER_DROP_FIRST, 1);
    plcio_modbus_client *c = client_for("modbus-tcp", p.port, "&timeout=5000", 2);
    static uint16_t regs[4][2];
    static plcio_modbus_request reqs[4];
    mb_async_log log = {.base = reqs};
    for (int i = 0; i < 4; i++) {
        reqs[i] = (plcio_modbus_request){.unit = 1, .function = 3, .addr = (uint16_t)(10 + i), .n = 2, .regs = regs[i]};
        assert_int_equal(plcio_modbus_submit(c, &reqs[i], mb_async_record, &log), PLCIO_OK);
    }
    assert_int_equal(mb_async_run(c, &log.done, 4, 10000), PLCIO_ECLOSED);
    assert_int_equal(log.done, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(reqs[i].result, PLCIO_ECLOSED);
    assert_true(reqs[0].sent && reqs[1].sent);
    assert_false(reqs[2].sent || reqs[3].sent);
    char want[64];
    snprintf(want, sizeof want, "connection to 127.0.0.1:%d: ", p.port);
    assert_non_null(strstr(plcio_modbus_client_last_error(c)->text, want));
    assert_int_equal(plcio_modbus_client_fd(c), -1);
    assert_int_equal(plcio_modbus_submit(c, &reqs[0], mb_async_record, &log), PLCIO_ENOTCONN);
    assert_int_equal(plcio_modbus_client_connect_async(c), PLCIO_OK);
    assert_int_equal(plcio_modbus_submit(c, &reqs[0], mb_async_record, &log), PLCIO_OK);
    assert_int_equal(mb_async_run(c, &log.done, 5, 10000), PLCIO_OK);
    assert_int_equal(reqs[0].result, PLCIO_OK);
    assert_int_equal(regs[0][1], 11);
    assert_int_equal(atomic_load(&p.connections), 2);
    plcio_modbus_client_free(c);
    peer_stop(&p);
}

static int one(plcio_modbus_client *c, plcio_modbus_request *r, mb_async_log *log, int *rc)
{
    int target = log->done + 1;
    assert_int_equal(plcio_modbus_submit(c, r, mb_async_record, log), PLCIO_OK);
    *rc = mb_async_run(c, &log->done, target, 10000);
    return r->result;
}

/* Malformed, oversized and foreign answers are errors, never crashes; the
 * stream is given up when it cannot be framed any more and reopened. */
static void test_bad_answers(void **state)
{
    (void)state;
    peer p;
    peer_start(&p, PEER_BAD, 1);
    plcio_modbus_client *c = client_for("modbus-tcp", p.port, "&timeout=400", 4);
    static uint16_t regs[4];
    static plcio_modbus_request r;
    mb_async_log log = {.base = &r};
    int rc;
    r = (plcio_modbus_request){.unit = 1, .function = 3, .addr = 1, .n = 2, .regs = regs};
    assert_int_equal(one(c, &r, &log, &rc), PLCIO_EMBEXC);
    assert_int_equal(rc, PLCIO_OK);
    assert_int_equal(r.exception, 2);
    r = (plcio_modbus_request){.unit = 1, .function = 3, .addr = 2, .n = 2, .regs = regs};
    assert_int_equal(one(c, &r, &log, &rc), PLCIO_EPROTO); /* more data than asked for */
    assert_int_equal(rc, PLCIO_EPROTO);
    assert_int_equal(plcio_modbus_client_fd(c), -1);
    assert_int_equal(plcio_modbus_client_connect_async(c), PLCIO_OK);
    r = (plcio_modbus_request){.unit = 1, .function = 3, .addr = 3, .n = 2, .regs = regs};
    assert_int_equal(one(c, &r, &log, &rc), PLCIO_EPROTO); /* a frame of 65 KiB */
    assert_int_equal(rc, PLCIO_EPROTO);
    assert_int_equal(plcio_modbus_client_connect_async(c), PLCIO_OK);
    r = (plcio_modbus_request){
        .unit = 1, .function = 3, .addr = 4, .n = 2, .regs = regs, .retries = PLCIO_MODBUS_NO_RETRY};
    assert_int_equal(one(c, &r, &log, &rc), PLCIO_ETIMEDOUT); /* the foreign answer was dropped */
    assert_int_equal(rc, PLCIO_OK);
    r = (plcio_modbus_request){.unit = 1, .function = 3, .addr = 9, .n = 2, .regs = regs};
    assert_int_equal(one(c, &r, &log, &rc), PLCIO_OK);
    assert_int_equal(regs[1], 10);
    assert_int_equal(atomic_load(&p.connections), 3);
    plcio_modbus_client_free(c);
    peer_stop(&p);
}

/* A connect to a port nobody listens on fails in process(), named. */
static void test_connect_refused(void **state)
{
    (void)state;
    peer p;
    peer_start(&p, PEER_BATCH, 1);
    int port = p.port;
    peer_stop(&p); /* the port is free again */
    char url[96];
    snprintf(url, sizeof url, "modbus-tcp://127.0.0.1:%d?timeout=2000", port);
    plcio_modbus_client *c = NULL;
    (void)plcio_modbus_client_new(url, NULL, &c, NULL);
    int rc = plcio_modbus_client_connect_async(c);
    int never = 0;
    if (rc == PLCIO_OK) rc = mb_async_run(c, &never, 1, 5000);
    assert_int_equal(rc, PLCIO_ECONNREFUSED);
    assert_false(plcio_modbus_client_is_connected(c));
    assert_non_null(strstr(plcio_modbus_client_last_error(c)->text, "connect to 127.0.0.1:"));
    plcio_modbus_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp_every_function_pipelined),
        cmocka_unit_test(test_udp_pipelined),
        cmocka_unit_test(test_api_errors),
        cmocka_unit_test(test_queue_turns_over),
        cmocka_unit_test(test_depth_requests_in_flight),
        cmocka_unit_test(test_timeout_fails_only_in_flight),
        cmocka_unit_test(test_drop_fails_all_then_reconnect),
        cmocka_unit_test(test_bad_answers),
        cmocka_unit_test(test_connect_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
