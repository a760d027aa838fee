/* S7 server: connections on the event loop.
 *
 * Each connection is a small state machine fed bytes: TPKT frames are cut out
 * of the input (tpkt_decode), COTP TPDUs decoded (CR -> CC, DT ->
 * reassembled S7 PDU -> s7srv_handle_pdu, DR -> close), answers queued in a
 * bounded output buffer. A slow or hostile client only ever hurts itself:
 *   - a frame larger than the input buffer, bad TPKT, bad COTP: close;
 *   - a frame or COTP sequence that stalls longer than frame_timeout_ms: close;
 *   - a client that sends requests but does not read the answers: once its
 *     unsent answers exceed max_output_bytes it is closed;
 *   - a connection that sends nothing for idle_timeout_ms: close;
 *   - at max_connections, a new connection evicts the one that has been
 *     silent longest (oldest last byte received), so a crowd of idle or
 *     half-open connections never locks a real client out.
 * One sweep timer (every 100 ms) checks the deadlines of all connections.
 *
 * Eviction across serving threads: worker 0 accepts; it picks the victim
 * under every worker's conns_lock (taken in index order; a worker takes only
 * its own), closes it at once if it is its own, else marks it and wakes its
 * worker, which closes marked connections after its next loop round. */
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
#define PDU_CAP   2048
#define FRAME_CAP (S7SRV_PDU_MAX + 64)
#define SWEEP_NS  (100 * PLCIO_NS_PER_MS)

/* One event loop and the connections it serves. Worker 0 also accepts and
 * hands connections to the others through their pending queue. */
struct s7srv_worker {
    plcio_s7_server *srv;
    plcio_loop *loop;
    pthread_t thread;
    bool thread_started;
    atomic_bool stop;
    pthread_mutex_t pending_lock;
    int *pending; /* accepted fds (pairs: fd, client id) not yet adopted */
    size_t pending_n, pending_cap;
    pthread_mutex_t conns_lock; /* membership of conns and their evict marks */
    s7srv_conn *conns;          /* doubly linked list */
    atomic_bool evict_marked;   /* a connection of this worker is marked for eviction */
};

struct s7srv_conn {
    s7srv_conn *prev, *next;
    plcio_s7_server *srv;
    s7srv_worker *w;
    int fd;
    bool cotp_open; /* CR received, CC sent */
    uint16_t src_ref;
    uint16_t tpdu_size; /* negotiated in CR/CC: longest TPDU either side sends */
    s7srv_session ses;
    uint8_t in[IN_CAP];
    size_t in_len;
    uint8_t pdu[PDU_CAP];
    size_t pdu_len;
    bool pdu_partial;         /* DT fragments without EOT received */
    uint64_t partial_since;   /* monotonic ns when the unfinished frame/PDU started; 0 = none */
    _Atomic uint64_t last_rx; /* monotonic ns of the last byte received (or of the accept) */
    bool evict;               /* marked for eviction (under w->conns_lock) */
    uint8_t *out;
    size_t out_len, out_off, out_cap;
    bool want_write;
    void *handoff; /* the connection belongs to another protocol (options.handoff) */
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
        int rc = net_send_some(c->fd, c->out + c->out_off, pending(c), &sent);
        if (rc == PLCIO_EAGAIN) break;
        if (rc) return rc;
        c->out_off += sent;
        if (sent == 0) break;
    }
    if (!pending(c)) c->out_len = c->out_off = 0;
    bool want = pending(c) > 0;
    if (want != c->want_write) {
        c->want_write = want;
        plcio_loop_mod(c->w->loop, c->fd, PLCIO_IO_READ | (want ? PLCIO_IO_WRITE : 0u));
    }
    return PLCIO_OK;
}

/* Queue a frame; PLCIO_ELIMIT if the client does not read its answers. */
static int queue(s7srv_conn *c, const uint8_t *frame, size_t len)
{
    log_hex(&c->srv->cfg.logger, PLCIO_LOG_TRACE, LOG_MODULE, "Tx", frame, len);
    if (pending(c) + len > c->srv->cfg.max_output_bytes) return PLCIO_ELIMIT;
    if (c->out_off && c->out_len + len > c->out_cap) {
        memmove(c->out, c->out + c->out_off, pending(c));
        c->out_len -= c->out_off;
        c->out_off = 0;
    }
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + len)
            cap *= 2;
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

static int on_cr(s7srv_conn *c, const cotp_tpdu *t)
{
    if (c->cotp_open) return PLCIO_EPROTO;
    cotp_conn cc = t->conn;
    cc.dst_ref = t->conn.src_ref;
    cc.src_ref = c->src_ref;
    cc.class_option = 0;
    /* TPDU size (RFC 905 13.3.4 b): the responder may lower the proposal. 1024
     * carries a whole 960-byte PDU in one TPDU; smaller proposals are kept and
     * answers are then split over several DT TPDUs. Absent = 128. */
    if (!cc.tpdu_size) cc.tpdu_size = 128;
    if (cc.tpdu_size > 1024) cc.tpdu_size = 1024;
    c->tpdu_size = cc.tpdu_size;
    uint8_t frame[128];
    size_t len = 0;
    int rc = cotp_cc_frame(frame, sizeof frame, &cc, &len);
    if (rc) return rc;
    c->cotp_open = true;
    return queue(c, frame, len);
}

/* Queue an answer frame (TPKT + DT EOT + S7 PDU), split over several DT
 * TPDUs when it is longer than the negotiated TPDU size. */
static int queue_answer(s7srv_conn *c, const uint8_t *frame, size_t len)
{
    size_t tpdu_data = (size_t)c->tpdu_size - PLCIO_COTP_DT_HEADER_LEN;
    if (len - PLCIO_TPKT_HEADER_LEN <= c->tpdu_size) return queue(c, frame, len);
    const uint8_t *pdu = frame + PLCIO_S7_FRAME_OVERHEAD;
    size_t left = len - PLCIO_S7_FRAME_OVERHEAD;
    uint8_t part[PLCIO_S7_FRAME_OVERHEAD + 1024];
    while (left) {
        size_t n = left < tpdu_data ? left : tpdu_data;
        bool last = n == left;
        plcio_wcursor w = plcio_wcursor_make(part + PLCIO_TPKT_HEADER_LEN, sizeof part - PLCIO_TPKT_HEADER_LEN);
        if (tpkt_header_put(part, PLCIO_S7_FRAME_OVERHEAD + n) || cotp_dt_encode(&w, last)) return PLCIO_EINTERNAL;
        memcpy(part + PLCIO_S7_FRAME_OVERHEAD, pdu, n);
        int rc = queue(c, part, PLCIO_S7_FRAME_OVERHEAD + n);
        if (rc) return rc;
        pdu += n;
        left -= n;
    }
    return PLCIO_OK;
}

static int on_s7_pdu(s7srv_conn *c, const uint8_t *pdu, size_t len)
{
    uint8_t frame[FRAME_CAP];
    int rc = s7srv_handle_pdu(c->srv, &c->ses, pdu, len, frame, sizeof frame);
    if (rc < 0) return rc;
    if (rc == 0) return PLCIO_OK;
    return queue_answer(c, frame, (size_t)rc);
}

static int on_dt(s7srv_conn *c, const cotp_tpdu *t)
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

/* Bytes for the handed-off protocol; what it answers goes out. */
static int handoff_feed(s7srv_conn *c, const uint8_t *data, size_t len)
{
    const plcio_s7_server_handoff *h = &c->srv->cfg.handoff;
    int rc = h->feed(c->handoff, data, len);
    size_t n;
    const uint8_t *out;
    while (rc >= 0 && (out = h->output(c->handoff, &n)) != NULL && n) {
        rc = queue(c, out, n);
        if (rc) return rc;
        h->output_done(c->handoff, n);
    }
    return rc < 0 ? rc : PLCIO_OK;
}

/* A CR another protocol takes (plcio_s7_server_handoff): 1 taken, 0 not. */
static int offer_handoff(s7srv_conn *c, const cotp_tpdu *t, const uint8_t *frame, size_t len)
{
    const plcio_s7_server_handoff *h = &c->srv->cfg.handoff;
    if (!h->accept || c->cotp_open) return 0;
    c->handoff = h->accept(h->ctx, t->conn.dst_tsap, t->conn.dst_tsap_len, c->ses.client);
    if (!c->handoff) return 0;
    int rc = handoff_feed(c, frame, len);
    return rc ? rc : 1;
}

static int on_frame(s7srv_conn *c, const uint8_t *frame, size_t len)
{
    log_hex(&c->srv->cfg.logger, PLCIO_LOG_TRACE, LOG_MODULE, "Rx", frame, len);
    cotp_tpdu t;
    int rc = cotp_decode(frame + PLCIO_TPKT_HEADER_LEN, len - PLCIO_TPKT_HEADER_LEN, &t);
    if (rc) return rc;
    switch (t.code) {
    case PLCIO_COTP_CR: rc = offer_handoff(c, &t, frame, len); return rc == 0 ? on_cr(c, &t) : rc < 0 ? rc : PLCIO_OK;
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
        if (c->handoff) { /* everything after the CR belongs to the other protocol */
            rc = handoff_feed(c, c->in + off, c->in_len - off);
            off = c->in_len;
            break;
        }
        size_t frame_len = 0;
        rc = tpkt_decode(c->in + off, c->in_len - off, &frame_len);
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
    if (!c->handoff && (c->in_len || c->pdu_partial)) {
        if (!c->partial_since) c->partial_since = plcio_loop_now(c->w->loop);
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
        rc = net_recv_some(c->fd, c->in + c->in_len, IN_CAP - c->in_len, &got, 0);
        if (rc == PLCIO_EAGAIN) rc = PLCIO_OK;
        if (!rc && got) {
            c->in_len += got;
            atomic_store_explicit(&c->last_rx, plcio_loop_now(c->w->loop), memory_order_relaxed);
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
    log_msg(&srv->cfg.logger, reason ? PLCIO_LOG_INFO : PLCIO_LOG_DEBUG, LOG_MODULE, "client %u closed: %s",
            c->ses.client, reason ? plcio_strerror(reason) : "disconnected");
    plcio_loop_del(c->w->loop, c->fd);
    net_close(c->fd);
    pthread_mutex_lock(&c->w->conns_lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        c->w->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    if (c->evict) atomic_fetch_sub(&srv->evicting, 1u);
    pthread_mutex_unlock(&c->w->conns_lock);
    atomic_fetch_sub(&srv->conn_count, 1u);
    s7srv_event(srv, PLCIO_S7_SERVER_EV_CLIENT_CLOSED, c->ses.client, reason);
    s7srv_session_clear(&c->ses);
    if (c->handoff) srv->cfg.handoff.close(c->handoff);
    free(c->out);
    free(c);
}

/* Start serving an accepted socket in this worker's loop (its thread). */
static void adopt(s7srv_worker *w, int cfd, unsigned id)
{
    plcio_s7_server *srv = w->srv;
    s7srv_conn *c = calloc(1, sizeof *c);
    if (!c || plcio_loop_add(w->loop, cfd, PLCIO_IO_READ, on_io, c) != PLCIO_OK) {
        free(c);
        net_close(cfd);
        atomic_fetch_sub(&srv->conn_count, 1u);
        return;
    }
    c->srv = srv;
    c->w = w;
    c->fd = cfd;
    c->ses.client = id;
    c->src_ref = (uint16_t)(id | 1u);
    atomic_init(&c->last_rx, plcio_loop_now(w->loop));
    pthread_mutex_lock(&w->conns_lock);
    c->next = w->conns;
    if (w->conns) w->conns->prev = c;
    w->conns = c;
    pthread_mutex_unlock(&w->conns_lock);
    s7srv_event(srv, PLCIO_S7_SERVER_EV_CLIENT_ADDED, id, 0);
}

static void adopt_pending(s7srv_worker *w)
{
    pthread_mutex_lock(&w->pending_lock);
    int *fds = w->pending;
    size_t n = w->pending_n;
    w->pending = NULL;
    w->pending_n = w->pending_cap = 0;
    pthread_mutex_unlock(&w->pending_lock);
    for (size_t i = 0; i + 1 < n; i += 2)
        adopt(w, fds[i], (unsigned)fds[i + 1]);
    free(fds);
}

/* Hand a socket to another worker; false (socket closed) if out of memory. */
static bool hand_over(s7srv_worker *w, int cfd, unsigned id)
{
    pthread_mutex_lock(&w->pending_lock);
    bool ok = true;
    if (w->pending_n + 2 > w->pending_cap) {
        size_t cap = w->pending_cap ? w->pending_cap * 2 : 32;
        int *p = realloc(w->pending, cap * sizeof *p);
        if (p) {
            w->pending = p;
            w->pending_cap = cap;
        } else {
            ok = false;
        }
    }
    if (ok) {
        w->pending[w->pending_n++] = cfd;
        w->pending[w->pending_n++] = (int)id;
    }
    pthread_mutex_unlock(&w->pending_lock);
    if (ok) loop_wake(w->loop);
    return ok;
}

/* Close the connections of this worker that worker 0 marked for eviction. */
static void close_marked(s7srv_worker *w)
{
    if (!atomic_exchange(&w->evict_marked, false)) return;
    s7srv_conn *next;
    for (s7srv_conn *c = w->conns; c; c = next) { /* only this thread changes the list */
        next = c->next;
        pthread_mutex_lock(&w->conns_lock);
        bool marked = c->evict;
        pthread_mutex_unlock(&w->conns_lock);
        if (marked) conn_close(c, PLCIO_ELIMIT);
    }
}

/* The server is full: mark the connection silent longest, close it now if
 * it is served by worker 0 (the caller's thread), else have its worker close
 * it. False when there is none to evict. */
static bool evict_one(plcio_s7_server *srv)
{
    s7srv_conn *victim = NULL;
    uint64_t oldest = UINT64_MAX;
    for (unsigned i = 0; i < srv->n_workers; i++)
        pthread_mutex_lock(&srv->workers[i].conns_lock);
    for (unsigned i = 0; i < srv->n_workers; i++) {
        for (s7srv_conn *c = srv->workers[i].conns; c; c = c->next) {
            uint64_t t = atomic_load_explicit(&c->last_rx, memory_order_relaxed);
            if (!c->evict && t < oldest) {
                oldest = t;
                victim = c;
            }
        }
    }
    s7srv_worker *owner = victim ? victim->w : NULL;
    if (victim) {
        victim->evict = true;
        atomic_fetch_add(&srv->evicting, 1u);
        atomic_store(&owner->evict_marked, true);
        log_msg(&srv->cfg.logger, PLCIO_LOG_INFO, LOG_MODULE, "%u connections: evicting client %u (silent longest)",
                srv->cfg.max_connections, victim->ses.client);
    }
    for (unsigned i = srv->n_workers; i-- > 0;)
        pthread_mutex_unlock(&srv->workers[i].conns_lock);
    if (!owner) return false;
    if (owner == &srv->workers[0])
        close_marked(owner);
    else
        loop_wake(owner->loop);
    return true;
}

static void on_accept(plcio_loop *loop, int fd, unsigned events, void *ctx)
{
    (void)loop;
    (void)events;
    plcio_s7_server *srv = ctx;
    for (;;) {
        int cfd = -1;
        char peer[64];
        int rc = net_accept(fd, &cfd, peer, sizeof peer);
        if (rc) {
            if (rc != PLCIO_EAGAIN)
                log_msg(&srv->cfg.logger, PLCIO_LOG_WARN, LOG_MODULE, "accept: %s", plcio_strerror(rc));
            return;
        }
        unsigned id = ++srv->next_client;
        if (atomic_load(&srv->conn_count) - atomic_load(&srv->evicting) >= srv->cfg.max_connections &&
            !evict_one(srv)) {
            log_msg(&srv->cfg.logger, PLCIO_LOG_WARN, LOG_MODULE, "refused %s: %u connections already", peer,
                    srv->cfg.max_connections);
            net_close(cfd);
            s7srv_event(srv, PLCIO_S7_SERVER_EV_CLIENT_REFUSED, id, 0);
            continue;
        }
        atomic_fetch_add(&srv->conn_count, 1u);
        log_msg(&srv->cfg.logger, PLCIO_LOG_DEBUG, LOG_MODULE, "client %u from %s", id, peer);
        s7srv_worker *w = &srv->workers[srv->next_worker++ % srv->n_workers];
        if (w == &srv->workers[0]) {
            adopt(w, cfd, id);
        } else if (!hand_over(w, cfd, id)) {
            net_close(cfd);
            atomic_fetch_sub(&srv->conn_count, 1u);
        }
    }
}

static void sweep(plcio_loop *loop, void *ctx)
{
    s7srv_worker *w = ctx;
    plcio_s7_server *srv = w->srv;
    uint64_t now = plcio_loop_now(loop);
    uint64_t frame_ns = (uint64_t)srv->cfg.frame_timeout_ms * PLCIO_NS_PER_MS;
    uint64_t idle_ns = (uint64_t)srv->cfg.idle_timeout_ms * PLCIO_NS_PER_MS;
    s7srv_conn *next;
    for (s7srv_conn *c = w->conns; c; c = next) {
        next = c->next;
        bool stalled = frame_ns && c->partial_since && now - c->partial_since > frame_ns; /* half a frame */
        bool idle = idle_ns && now - atomic_load_explicit(&c->last_rx, memory_order_relaxed) > idle_ns;
        if (stalled || idle) conn_close(c, PLCIO_ETIMEDOUT);
    }
    plcio_loop_timer_add(loop, now + SWEEP_NS, sweep, w);
}

/* ---------------------------------------------------------------------------
 * Listening, background thread, caller-driven mode
 * ------------------------------------------------------------------------- */

static void workers_free(plcio_s7_server *srv)
{
    for (unsigned i = 0; i < srv->n_workers; i++) {
        s7srv_worker *w = &srv->workers[i];
        s7srv_conn *next;
        for (s7srv_conn *c = w->conns; c; c = next) { /* next saved: conn_close frees c */
            next = c->next;
            conn_close(c, PLCIO_ECANCELED);
        }
        for (size_t k = 0; k + 1 < w->pending_n; k += 2) {
            net_close(w->pending[k]);
            atomic_fetch_sub(&srv->conn_count, 1u);
        }
        free(w->pending);
        pthread_mutex_destroy(&w->pending_lock);
        pthread_mutex_destroy(&w->conns_lock);
        loop_free(w->loop);
    }
    free(srv->workers);
    srv->workers = NULL;
    srv->n_workers = 0;
}

static int workers_new(plcio_s7_server *srv, unsigned n)
{
    srv->workers = calloc(n, sizeof *srv->workers);
    if (!srv->workers) return PLCIO_ENOMEM;
    for (unsigned i = 0; i < n; i++) {
        s7srv_worker *w = &srv->workers[i];
        w->srv = srv;
        atomic_init(&w->stop, false);
        atomic_init(&w->evict_marked, false);
        pthread_mutex_init(&w->pending_lock, NULL);
        pthread_mutex_init(&w->conns_lock, NULL);
        srv->n_workers = i + 1;
        w->loop = loop_new(NULL);
        if (!w->loop || !plcio_loop_timer_add(w->loop, plcio_loop_now(w->loop) + SWEEP_NS, sweep, w))
            return PLCIO_ENOMEM;
    }
    return PLCIO_OK;
}

static int listen_with(plcio_s7_server *srv, unsigned n_workers)
{
    if (!srv) return PLCIO_EINVAL;
    if (srv->mode != S7SRV_IDLE) return PLCIO_ESTATE;
    int port = 0;
    int rc = workers_new(srv, n_workers);
    if (!rc) rc = net_tcp_listen(srv->host, srv->cfg.port, 128, &srv->listen_fd, &port);
    if (!rc) rc = plcio_loop_add(srv->workers[0].loop, srv->listen_fd, PLCIO_IO_READ, on_accept, srv);
    if (rc) {
        net_close(srv->listen_fd);
        srv->listen_fd = -1;
        workers_free(srv);
        return rc;
    }
    srv->next_worker = 0;
    atomic_store(&srv->port, (uint16_t)port);
    srv->mode = S7SRV_CALLER;
    log_msg(&srv->cfg.logger, PLCIO_LOG_INFO, LOG_MODULE, "listening on %s:%d (%u thread%s)", srv->host, port,
            n_workers, n_workers > 1 ? "s" : "");
    return PLCIO_OK;
}

int plcio_s7_server_listen(plcio_s7_server *srv) { return listen_with(srv, 1); }

int plcio_s7_server_fd(const plcio_s7_server *srv)
{
    return srv && srv->n_workers ? loop_fd(srv->workers[0].loop) : -1;
}

int plcio_s7_server_run_once(plcio_s7_server *srv, int timeout_ms)
{
    if (!srv || srv->mode != S7SRV_CALLER) return PLCIO_ESTATE;
    int rc = loop_run_once(srv->workers[0].loop, timeout_ms);
    return rc < 0 ? rc : PLCIO_OK;
}

static void *worker_thread(void *arg)
{
    s7srv_worker *w = arg;
    while (!atomic_load(&w->stop)) {
        if (loop_run_once(w->loop, 1000) < 0) break;
        close_marked(w);
        adopt_pending(w);
    }
    return NULL;
}

int plcio_s7_server_start(plcio_s7_server *srv)
{
    int rc = listen_with(srv, srv ? srv->cfg.threads : 1);
    if (rc) return rc;
    srv->mode = S7SRV_THREAD;
    for (unsigned i = 0; i < srv->n_workers; i++) {
        s7srv_worker *w = &srv->workers[i];
        if (pthread_create(&w->thread, NULL, worker_thread, w) != 0) {
            plcio_s7_server_stop(srv);
            return PLCIO_ENOMEM;
        }
        w->thread_started = true;
    }
    return PLCIO_OK;
}

int plcio_s7_server_stop(plcio_s7_server *srv)
{
    if (!srv || srv->mode == S7SRV_IDLE) return PLCIO_OK;
    for (unsigned i = 0; i < srv->n_workers; i++) {
        s7srv_worker *w = &srv->workers[i];
        if (!w->thread_started) continue;
        atomic_store(&w->stop, true);
        loop_wake(w->loop);
        pthread_join(w->thread, NULL);
        w->thread_started = false;
    }
    plcio_loop_del(srv->workers[0].loop, srv->listen_fd);
    net_close(srv->listen_fd);
    srv->listen_fd = -1;
    workers_free(srv);
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
