/* S7 server: connections on the event loop. The protocol of one connection
 * (framing, COTP, S7, its timeouts and output bound) is the sans-I/O
 * s7srv_stream (s7_server_stream.c); this file moves its bytes between the
 * socket and the stream and adds what needs the whole server:
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
#include "s7/s7_server_stream.h"

#define LOG_MODULE "s7srv"
#define SWEEP_NS   (100 * PLCIO_NS_PER_MS)

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
    bool evict; /* marked for eviction (under w->conns_lock) */
    bool want_write;
    s7srv_stream st;
};

static void conn_close(s7srv_conn *c, int reason);

/* Send what the socket takes of the stream's output. */
static int flush(s7srv_conn *c)
{
    size_t len;
    const uint8_t *p;
    while ((p = s7srv_stream_tx(&c->st, &len)) != NULL) {
        size_t sent = 0;
        int rc = net_send_some(c->fd, p, len, &sent);
        if (rc == PLCIO_EAGAIN) break;
        if (rc) return rc;
        s7srv_stream_tx_done(&c->st, sent);
        if (sent == 0) break;
    }
    bool want = s7srv_stream_tx(&c->st, &len) != NULL;
    if (want != c->want_write) {
        c->want_write = want;
        plcio_loop_mod(c->w->loop, c->fd, PLCIO_IO_READ | (want ? PLCIO_IO_WRITE : 0u));
    }
    return PLCIO_OK;
}

static void on_io(plcio_loop *loop, int fd, unsigned events, void *ctx)
{
    (void)loop;
    (void)fd;
    s7srv_conn *c = ctx;
    int rc = PLCIO_OK;
    if (events & PLCIO_IO_WRITE) rc = flush(c);
    if (!rc && (events & (PLCIO_IO_READ | PLCIO_IO_ERROR))) {
        uint8_t buf[S7SRV_STREAM_IN_CAP];
        size_t got = 0;
        rc = net_recv_some(c->fd, buf, sizeof buf, &got, 0);
        if (rc == PLCIO_EAGAIN) rc = PLCIO_OK;
        if (!rc && got) {
            rc = s7srv_stream_feed(&c->st, buf, got, plcio_loop_now(c->w->loop));
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
            c->st.ses.client, reason ? plcio_strerror(reason) : "disconnected");
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
    s7srv_event(srv, PLCIO_S7_SERVER_EV_CLIENT_CLOSED, c->st.ses.client, reason);
    s7srv_stream_clear(&c->st);
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
    s7srv_stream_init(&c->st, srv, id, plcio_loop_now(w->loop));
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
            uint64_t t = s7srv_stream_last_rx(&c->st);
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
                srv->cfg.max_connections, victim->st.ses.client);
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
    uint64_t now = plcio_loop_now(loop);
    s7srv_conn *next;
    for (s7srv_conn *c = w->conns; c; c = next) {
        next = c->next;
        int rc = s7srv_stream_on_time(&c->st, now);
        if (!rc) rc = flush(c); /* a write job that timed out was answered */
        if (rc) conn_close(c, rc);
    }
    plcio_loop_timer_add(loop, now + SWEEP_NS, sweep, w);
}

/* The handed-off protocol's timer (notifications of S7CommPlus subscriptions). */
static uint64_t handoff_tick_ns(const plcio_s7_server *srv)
{
    unsigned ms = srv->cfg.handoff.tick_ms ? srv->cfg.handoff.tick_ms : 10;
    return (uint64_t)ms * PLCIO_NS_PER_MS;
}

static void handoff_tick(plcio_loop *loop, void *ctx)
{
    s7srv_worker *w = ctx;
    uint64_t now = plcio_loop_now(loop);
    s7srv_conn *next;
    for (s7srv_conn *c = w->conns; c; c = next) {
        next = c->next;
        if (!c->st.handoff) continue;
        int rc = s7srv_stream_handoff_tick(&c->st, now);
        if (!rc) rc = flush(c);
        if (rc) conn_close(c, rc);
    }
    plcio_loop_timer_add(loop, now + handoff_tick_ns(w->srv), handoff_tick, w);
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
        if (srv->cfg.handoff.tick &&
            !plcio_loop_timer_add(w->loop, plcio_loop_now(w->loop) + handoff_tick_ns(srv), handoff_tick, w))
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

int plcio_s7_server_write_reply(plcio_s7_server *srv, uint64_t job, const uint8_t *codes, size_t count)
{
    if (!srv || !job || srv->mode != S7SRV_CALLER) return PLCIO_ENOTFOUND;
    s7srv_worker *w = &srv->workers[0];
    for (s7srv_conn *c = w->conns; c; c = c->next) {
        if (c->st.ses.wait_job != job) continue;
        bool inside = c->st.feeding; /* replied from inside its own write_job callback */
        int rc = s7srv_stream_write_reply(&c->st, job, codes, count, plcio_loop_now(w->loop));
        if (rc == PLCIO_EINVAL) return rc;
        if (!rc && !inside) rc = flush(c);
        if (rc) conn_close(c, rc);
        return PLCIO_OK;
    }
    return PLCIO_ENOTFOUND;
}

int plcio_s7_server_read_reply(plcio_s7_server *srv, uint64_t job, const plcio_s7_server_read_answer *answers,
                               size_t count)
{
    if (!srv || !job || srv->mode != S7SRV_CALLER) return PLCIO_ENOTFOUND;
    s7srv_worker *w = &srv->workers[0];
    for (s7srv_conn *c = w->conns; c; c = c->next) {
        if (c->st.ses.wait_job != job) continue;
        bool inside = c->st.feeding; /* replied from inside its own read_job callback */
        int rc = s7srv_stream_read_reply(&c->st, job, answers, count, plcio_loop_now(w->loop));
        if (rc == PLCIO_EINVAL) return rc;
        if (!rc && !inside) rc = flush(c);
        if (rc) conn_close(c, rc);
        return PLCIO_OK;
    }
    return PLCIO_ENOTFOUND;
}

struct plcio_loop *s7srv_loop(plcio_s7_server *srv)
{
    return srv && srv->mode == S7SRV_CALLER && srv->n_workers ? srv->workers[0].loop : NULL;
}

int plcio_s7_server_start(plcio_s7_server *srv)
{
    /* replies need the caller's thread */
    if (srv && (srv->cfg.callbacks.write_job || srv->cfg.callbacks.read_job || srv->backing)) return PLCIO_EUNSUPPORTED;
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
    if (srv->backing) s7bk_detach(srv); /* its client watches live on the loop about to go */
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
