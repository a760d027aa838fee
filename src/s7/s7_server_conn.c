/* S7 server: connections on the event loop.
 *
 * Each connection is a small state machine fed bytes: TPKT frames are cut out
 * of the input (plcio_tpkt_decode), COTP TPDUs decoded (CR -> CC, DT ->
 * reassembled S7 PDU -> s7srv_handle_pdu, DR -> close), answers queued in a
 * bounded output buffer. A slow or hostile client only ever hurts itself:
 *   - a frame larger than the input buffer, bad TPKT, bad COTP: close;
 *   - a frame or COTP sequence that stalls longer than frame_timeout_ms: close;
 *   - a client that sends requests but does not read the answers: once its
 *     unsent answers exceed max_output_bytes it is closed;
 *   - connections beyond max_connections are accepted and closed at once.
 * One sweep timer (every 100 ms) checks the deadlines of all connections. */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "net/loop.h"
#include "net/net.h"
#include "s7/s7_server_priv.h"

#define LOG_MODULE "s7srv"
/* Largest TPKT frame accepted: a whole PDU of the largest size plus headers,
 * with room for long TSAPs in a CR. */
#define IN_CAP 2048
/* Largest S7 PDU reassembled from COTP DT fragments before giving up. */
#define PDU_CAP 2048
#define FRAME_CAP (S7SRV_PDU_MAX + 64)
#define SWEEP_NS (100 * PLCIO_NS_PER_MS)

struct s7srv_conn {
    s7srv_conn *prev, *next;
    plcio_s7_server *srv;
    int fd;
    bool cotp_open; /* CR received, CC sent */
    uint16_t src_ref;
    s7srv_session ses;
    uint8_t in[IN_CAP];
    size_t in_len;
    uint8_t pdu[PDU_CAP];
    size_t pdu_len;
    bool pdu_partial;      /* DT fragments without EOT received */
    uint64_t partial_since; /* monotonic ns when the unfinished frame/PDU started; 0 = none */
    uint64_t last_rx;
    uint8_t *out;
    size_t out_len, out_off, out_cap;
    bool want_write;
};

static void conn_close(s7srv_conn *c, int reason);

/* ---------------------------------------------------------------------------
 * Output
 * ------------------------------------------------------------------------- */

static size_t pending(const s7srv_conn *c) { return c->out_len - c->out_off; }

static int flush(s7srv_conn *c)
{
    while (pending(c)) {
        size_t sent = 0;
        int rc = plcio_net_send_some(c->fd, c->out + c->out_off, pending(c), &sent);
        if (rc == PLCIO_EAGAIN) break;
        if (rc) return rc;
        c->out_off += sent;
        if (sent == 0) break;
    }
    if (!pending(c)) c->out_len = c->out_off = 0;
    bool want = pending(c) > 0;
    if (want != c->want_write) {
        c->want_write = want;
        plcio_loop_mod(c->srv->loop, c->fd, PLCIO_IO_READ | (want ? PLCIO_IO_WRITE : 0u));
    }
    return PLCIO_OK;
}

/* Queue a frame; PLCIO_ELIMIT if the client does not read its answers. */
static int queue(s7srv_conn *c, const uint8_t *frame, size_t len)
{
    plcio_log_hex(&c->srv->cfg.logger, PLCIO_LOG_TRACE, LOG_MODULE, "Tx", frame, len);
    if (pending(c) + len > c->srv->cfg.max_output_bytes) return PLCIO_ELIMIT;
    if (c->out_off && c->out_len + len > c->out_cap) {
        memmove(c->out, c->out + c->out_off, pending(c));
        c->out_len -= c->out_off;
        c->out_off = 0;
    }
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + len) cap *= 2;
        uint8_t *p = realloc(c->out, cap);
        if (!p) return PLCIO_ENOMEM;
        c->out = p;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, frame, len);
    c->out_len += len;
    return PLCIO_OK;
}

/* ---------------------------------------------------------------------------
 * Input: TPKT -> COTP -> S7
 * ------------------------------------------------------------------------- */

static int on_cr(s7srv_conn *c, const plcio_cotp_tpdu *t)
{
    if (c->cotp_open) return PLCIO_EPROTO;
    plcio_cotp_conn cc = t->conn;
    cc.dst_ref = t->conn.src_ref;
    cc.src_ref = c->src_ref;
    cc.class_option = 0;
    /* Keep the client's TPDU size; 1024 when absent carries a whole 960 PDU. */
    if (!cc.tpdu_size) cc.tpdu_size = 1024;
    uint8_t frame[128];
    size_t len = 0;
    int rc = plcio_cotp_cc_frame(frame, sizeof frame, &cc, &len);
    if (rc) return rc;
    c->cotp_open = true;
    return queue(c, frame, len);
}

static int on_s7_pdu(s7srv_conn *c, const uint8_t *pdu, size_t len)
{
    uint8_t frame[FRAME_CAP];
    int rc = s7srv_handle_pdu(c->srv, &c->ses, pdu, len, frame, sizeof frame);
    if (rc < 0) return rc;
    if (rc == 0) return PLCIO_OK;
    return queue(c, frame, (size_t)rc);
}

static int on_dt(s7srv_conn *c, const plcio_cotp_tpdu *t)
{
    if (!c->cotp_open) return PLCIO_EPROTO;
    if (!c->pdu_partial && t->eot) return on_s7_pdu(c, t->data, t->data_len); /* the usual case: one TPDU */
    if (c->pdu_len + t->data_len > PDU_CAP) return PLCIO_ELIMIT;
    memcpy(c->pdu + c->pdu_len, t->data, t->data_len);
    c->pdu_len += t->data_len;
    c->pdu_partial = !t->eot;
    if (!t->eot) return PLCIO_OK;
    size_t len = c->pdu_len;
    c->pdu_len = 0;
    return on_s7_pdu(c, c->pdu, len);
}

static int on_frame(s7srv_conn *c, const uint8_t *frame, size_t len)
{
    plcio_log_hex(&c->srv->cfg.logger, PLCIO_LOG_TRACE, LOG_MODULE, "Rx", frame, len);
    plcio_cotp_tpdu t;
    int rc = plcio_cotp_decode(frame + PLCIO_TPKT_HEADER_LEN, len - PLCIO_TPKT_HEADER_LEN, &t);
    if (rc) return rc;
    switch (t.code) {
    case PLCIO_COTP_CR: return on_cr(c, &t);
    case PLCIO_COTP_DT: return on_dt(c, &t);
    case PLCIO_COTP_DR: return PLCIO_ECLOSED; /* orderly disconnect */
    default: return PLCIO_EPROTO;
    }
}

/* Cut whole frames out of the input buffer and serve them. */
static int process_input(s7srv_conn *c)
{
    size_t off = 0;
    int rc = PLCIO_OK;
    while (off < c->in_len) {
        size_t frame_len = 0;
        rc = plcio_tpkt_decode(c->in + off, c->in_len - off, &frame_len);
        if (rc == PLCIO_EAGAIN) {
            rc = frame_len > IN_CAP ? PLCIO_ELIMIT : PLCIO_OK;
            break;
        }
        if (rc) break;
        rc = on_frame(c, c->in + off, frame_len);
        off += frame_len;
        if (rc) break;
    }
    if (off) {
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
    }
    if (c->in_len || c->pdu_partial) {
        if (!c->partial_since) c->partial_since = plcio_loop_now(c->srv->loop);
    } else {
        c->partial_since = 0;
    }
    return rc;
}

static void on_io(plcio_loop *loop, int fd, unsigned events, void *ctx)
{
    (void)loop;
    (void)fd;
    s7srv_conn *c = ctx;
    int rc = PLCIO_OK;
    if (events & PLCIO_IO_WRITE) rc = flush(c);
    if (!rc && (events & (PLCIO_IO_READ | PLCIO_IO_ERROR))) {
        size_t got = 0;
        rc = plcio_net_recv_some(c->fd, c->in + c->in_len, IN_CAP - c->in_len, &got, 0);
        if (rc == PLCIO_EAGAIN) rc = PLCIO_OK;
        if (!rc && got) {
            c->in_len += got;
            c->last_rx = plcio_loop_now(c->srv->loop);
            rc = process_input(c);
            if (!rc) rc = flush(c);
        }
    }
    if (rc) conn_close(c, rc == PLCIO_ECLOSED ? PLCIO_OK : rc);
}

/* ---------------------------------------------------------------------------
 * Connection lifecycle
 * ------------------------------------------------------------------------- */

static void conn_close(s7srv_conn *c, int reason)
{
    plcio_s7_server *srv = c->srv;
    plcio_log(&srv->cfg.logger, reason ? PLCIO_LOG_INFO : PLCIO_LOG_DEBUG, LOG_MODULE, "client %u closed: %s",
              c->ses.client, reason ? plcio_strerror(reason) : "disconnected");
    plcio_loop_del(srv->loop, c->fd);
    plcio_net_close(c->fd);
    if (c->prev) c->prev->next = c->next;
    else srv->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    atomic_fetch_sub(&srv->conn_count, 1u);
    s7srv_event(srv, PLCIO_S7_SERVER_EV_CLIENT_CLOSED, c->ses.client, reason);
    s7srv_session_clear(&c->ses);
    free(c->out);
    free(c);
}

static void on_accept(plcio_loop *loop, int fd, unsigned events, void *ctx)
{
    (void)events;
    plcio_s7_server *srv = ctx;
    for (;;) {
        int cfd = -1;
        char peer[64];
        int rc = plcio_net_accept(fd, &cfd, peer, sizeof peer);
        if (rc) {
            if (rc != PLCIO_EAGAIN) plcio_log(&srv->cfg.logger, PLCIO_LOG_WARN, LOG_MODULE, "accept: %s", plcio_strerror(rc));
            return;
        }
        unsigned id = ++srv->next_client;
        if (atomic_load(&srv->conn_count) >= srv->cfg.max_connections) {
            plcio_log(&srv->cfg.logger, PLCIO_LOG_WARN, LOG_MODULE, "refused %s: %u connections already",
                      peer, srv->cfg.max_connections);
            plcio_net_close(cfd);
            s7srv_event(srv, PLCIO_S7_SERVER_EV_CLIENT_REFUSED, id, 0);
            continue;
        }
        s7srv_conn *c = calloc(1, sizeof *c);
        if (!c || plcio_loop_add(loop, cfd, PLCIO_IO_READ, on_io, c) != PLCIO_OK) {
            free(c);
            plcio_net_close(cfd);
            continue;
        }
        c->srv = srv;
        c->fd = cfd;
        c->ses.client = id;
        c->src_ref = (uint16_t)(id | 1u);
        c->last_rx = plcio_loop_now(loop);
        c->next = srv->conns;
        if (srv->conns) srv->conns->prev = c;
        srv->conns = c;
        atomic_fetch_add(&srv->conn_count, 1u);
        plcio_log(&srv->cfg.logger, PLCIO_LOG_DEBUG, LOG_MODULE, "client %u from %s", id, peer);
        s7srv_event(srv, PLCIO_S7_SERVER_EV_CLIENT_ADDED, id, 0);
    }
}

static void sweep(plcio_loop *loop, void *ctx)
{
    plcio_s7_server *srv = ctx;
    uint64_t now = plcio_loop_now(loop);
    uint64_t frame_ns = (uint64_t)srv->cfg.frame_timeout_ms * PLCIO_NS_PER_MS;
    uint64_t idle_ns = (uint64_t)srv->cfg.idle_timeout_ms * PLCIO_NS_PER_MS;
    s7srv_conn *next;
    for (s7srv_conn *c = srv->conns; c; c = next) {
        next = c->next;
        if (frame_ns && c->partial_since && now - c->partial_since > frame_ns)
            conn_close(c, PLCIO_ETIMEDOUT);
        else if (idle_ns && now - c->last_rx > idle_ns)
            conn_close(c, PLCIO_ETIMEDOUT);
    }
    plcio_loop_timer_add(loop, now + SWEEP_NS, sweep, srv);
}

/* ---------------------------------------------------------------------------
 * Listening, background thread, caller-driven mode
 * ------------------------------------------------------------------------- */

int plcio_s7_server_listen(plcio_s7_server *srv)
{
    if (!srv) return PLCIO_EINVAL;
    if (srv->mode != S7SRV_IDLE) return PLCIO_ESTATE;
    srv->loop = plcio_loop_new(NULL);
    if (!srv->loop) return PLCIO_ENOMEM;
    int port = 0;
    int rc = plcio_net_tcp_listen(srv->host, srv->cfg.port, 128, &srv->listen_fd, &port);
    if (!rc) rc = plcio_loop_add(srv->loop, srv->listen_fd, PLCIO_IO_READ, on_accept, srv);
    if (!rc && !plcio_loop_timer_add(srv->loop, plcio_loop_now(srv->loop) + SWEEP_NS, sweep, srv)) rc = PLCIO_ENOMEM;
    if (rc) {
        plcio_net_close(srv->listen_fd);
        srv->listen_fd = -1;
        plcio_loop_free(srv->loop);
        srv->loop = NULL;
        return rc;
    }
    atomic_store(&srv->port, (uint16_t)port);
    srv->mode = S7SRV_CALLER;
    plcio_log(&srv->cfg.logger, PLCIO_LOG_INFO, LOG_MODULE, "listening on %s:%d", srv->host, port);
    return PLCIO_OK;
}

int plcio_s7_server_fd(const plcio_s7_server *srv)
{
    return srv && srv->loop ? plcio_loop_fd(srv->loop) : -1;
}

int plcio_s7_server_run_once(plcio_s7_server *srv, int timeout_ms)
{
    if (!srv || srv->mode != S7SRV_CALLER) return PLCIO_ESTATE;
    int rc = plcio_loop_run_once(srv->loop, timeout_ms);
    return rc < 0 ? rc : PLCIO_OK;
}

static void *server_thread(void *arg)
{
    plcio_s7_server *srv = arg;
    plcio_loop_run(srv->loop);
    return NULL;
}

int plcio_s7_server_start(plcio_s7_server *srv)
{
    int rc = plcio_s7_server_listen(srv);
    if (rc) return rc;
    srv->mode = S7SRV_THREAD;
    if (pthread_create(&srv->thread, NULL, server_thread, srv) != 0) {
        srv->mode = S7SRV_CALLER;
        plcio_s7_server_stop(srv);
        return PLCIO_ENOMEM;
    }
    return PLCIO_OK;
}

int plcio_s7_server_stop(plcio_s7_server *srv)
{
    if (!srv || srv->mode == S7SRV_IDLE) return PLCIO_OK;
    if (srv->mode == S7SRV_THREAD) {
        plcio_loop_stop(srv->loop);
        pthread_join(srv->thread, NULL);
    }
    while (srv->conns) conn_close(srv->conns, PLCIO_ECANCELED);
    plcio_loop_del(srv->loop, srv->listen_fd);
    plcio_net_close(srv->listen_fd);
    srv->listen_fd = -1;
    plcio_loop_free(srv->loop);
    srv->loop = NULL;
    atomic_store(&srv->port, (uint16_t)0);
    srv->mode = S7SRV_IDLE;
    return PLCIO_OK;
}

uint16_t plcio_s7_server_port(const plcio_s7_server *srv)
{
    return srv ? atomic_load(&((plcio_s7_server *)srv)->port) : 0;
}

unsigned plcio_s7_server_client_count(const plcio_s7_server *srv)
{
    return srv ? atomic_load(&((plcio_s7_server *)srv)->conn_count) : 0;
}
