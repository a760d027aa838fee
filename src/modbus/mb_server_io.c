/* Modbus server links on the src/net event loop: TCP listeners and
 * connections (MBAP), UDP sockets (one MBAP frame per datagram) and serial
 * lines (RTU with t3.5 silence detection, or ASCII). The protocol of a
 * connection or line is the sans-I/O mb_srv_stream (mb_server_stream.c);
 * this file moves bytes between it and the sockets. One thread serves all,
 * so nothing here may wait:
 *   - TCP answers a client does not take are kept (it is not read from
 *     while MB_SRV_STREAM_OUT_LIMIT bytes wait);
 *   - serial answers are queued (limits.serial_output_bytes) and written
 *     when the line is writable; a full queue drops the answer (counted);
 *   - a sweep timer closes TCP connections silent for idle_timeout_ms or
 *     stuck in a half frame for frame_timeout_ms;
 *   - at max_connections a new connection evicts the one silent longest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "modbus/mb_server.h"
#include "modbus/mb_server_stream.h"
#include "modbus/mb_tls.h"

#define SWEEP_NS (100 * PLCIO_NS_PER_MS)

typedef enum link_kind { LINK_TCP_LISTEN, LINK_TCP_CONN, LINK_UDP, LINK_SERIAL } link_kind;

struct mb_link_state {
    plcio_modbus_server *s;
    link_kind kind;
    int fd;
    size_t slot;
    uint64_t id; /* unique for the server's life: a forwarded answer finds its link or none */
    char peer[64];
    unsigned events;     /* loop interest set last */
    uint64_t idle_timer; /* serial: end of frame by silence */
    bool corked;         /* TCP: answers held back until mb_server_uncork */
    mb_srv_stream st;    /* TCP connections and serial lines */
    mb_tls_ctx *tls_ctx; /* a TLS listener's (its connections' SSL objects hold a reference) */
    mb_tls *tls;         /* a TLS connection's */
    plcio_modbus_peer who;
};

void plcio_modbus_server_limits_init(plcio_modbus_server_limits *l)
{
    if (!l) return;
    memset(l, 0, sizeof *l);
    l->max_connections = 512;
    l->idle_timeout_ms = 60000;
    l->frame_timeout_ms = 5000;
    l->serial_output_bytes = 4096;
}

int plcio_modbus_server_set_limits(plcio_modbus_server *s, const plcio_modbus_server_limits *l)
{
    if (!s || !l) return PLCIO_EINVAL;
    if (l->max_connections < 1 || l->max_connections > 100000) return PLCIO_EINVAL;
    if (l->idle_timeout_ms > PLCIO_MODBUS_TIMEOUT_MAX_MS || l->frame_timeout_ms > PLCIO_MODBUS_TIMEOUT_MAX_MS)
        return PLCIO_EINVAL;
    if (l->serial_output_bytes < 512 || l->serial_output_bytes > (size_t)1024 * 1024) return PLCIO_EINVAL;
    s->limits = *l; /* read and written on the loop's thread only */
    return PLCIO_OK;
}

static int ensure_loop(plcio_modbus_server *s)
{
    if (!s->loop) s->loop = loop_new(NULL);
    return s->loop ? PLCIO_OK : PLCIO_ENOMEM;
}

static mb_link_state *link_new(plcio_modbus_server *s, link_kind kind, int fd)
{
    size_t slot = 0;
    while (slot < s->links_cap && s->links[slot])
        slot++;
    if (slot == s->links_cap) {
        size_t cap = s->links_cap ? s->links_cap * 2 : 64;
        mb_link_state **p = realloc(s->links, cap * sizeof(mb_link_state *));
        if (!p) return NULL;
        memset(p + s->links_cap, 0, (cap - s->links_cap) * sizeof(mb_link_state *));
        s->links = p;
        s->links_cap = cap;
    }
    mb_link_state *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    l->s = s;
    l->kind = kind;
    l->fd = fd;
    l->slot = slot;
    l->id = ++s->next_link_id;
    s->links[slot] = l;
    return l;
}

static void link_free(mb_link_state *l)
{
    plcio_modbus_server *s = l->s;
    if (l->idle_timer) plcio_loop_timer_cancel(s->loop, l->idle_timer);
    plcio_loop_del(s->loop, l->fd);
    net_close(l->fd);
    s->links[l->slot] = NULL;
    if (l->kind == LINK_TCP_CONN) {
        pthread_mutex_lock(&s->lock);
        s->stats.connections_open--;
        pthread_mutex_unlock(&s->lock);
    }
    if (l->kind == LINK_TCP_CONN || l->kind == LINK_SERIAL) mb_srv_stream_clear(&l->st);
    if (l->tls) mb_tls_clear(l->tls);
    free(l->tls);
    mb_tls_ctx_free(l->tls_ctx);
    free(l);
}

bool mb_server_has_serial(const plcio_modbus_server *s)
{
    for (size_t i = 0; i < s->links_cap; i++)
        if (s->links[i] && s->links[i]->kind == LINK_SERIAL) return true;
    return false;
}

void mb_server_io_free(plcio_modbus_server *s); /* called by plcio_modbus_server_free */
void mb_server_io_free(plcio_modbus_server *s)
{
    for (size_t i = 0; i < s->links_cap; i++)
        if (s->links[i]) link_free(s->links[i]);
    free(s->links);
    s->links = NULL;
    free(s->corked);
    s->corked = NULL;
    s->ncorked = s->capcorked = 0;
    s->links_cap = 0;
    if (s->loop_borrowed) {
        if (s->sweep_timer) plcio_loop_timer_cancel(s->loop, s->sweep_timer);
    } else {
        loop_free(s->loop);
    }
    s->sweep_timer = 0;
    s->loop = NULL;
}

int mb_server_attach_loop(plcio_modbus_server *s, plcio_loop *loop)
{
    if (!s || !loop) return PLCIO_EINVAL;
    if (s->loop) return PLCIO_EBUSY;
    s->loop = loop;
    s->loop_borrowed = true;
    return PLCIO_OK;
}

static void drop_connection(mb_link_state *l, const char *why)
{
    plcio_modbus_server *s = l->s;
    log_msg(&s->logger, PLCIO_LOG_INFO, "modbus", "closing connection from %s: %s", l->peer, why);
    pthread_mutex_lock(&s->lock);
    s->stats.connections_dropped++;
    pthread_mutex_unlock(&s->lock);
    link_free(l);
}

/* Count in one of the link counters of stats (under the lock). */
static void count(plcio_modbus_server *s, uint32_t *counter)
{
    pthread_mutex_lock(&s->lock);
    (*counter)++;
    pthread_mutex_unlock(&s->lock);
}

static void set_events(mb_link_state *l, unsigned ev)
{
    if (ev == l->events) return;
    l->events = ev;
    plcio_loop_mod(l->s->loop, l->fd, ev);
}

/* ===========================================================================
 * TCP
 * ========================================================================= */

/* Send what the socket takes; returns false if the connection was dropped. */
static bool tcp_flush(mb_link_state *l)
{
    uint64_t now = plcio_loop_now(l->s->loop);
    size_t len;
    const uint8_t *p;
    while ((p = mb_srv_stream_tx(&l->st, &len)) != NULL) {
        size_t sent = 0;
        int rc = net_send_some(l->fd, p, len, &sent);
        if (rc == PLCIO_EAGAIN) break;
        if (rc == PLCIO_OK) rc = mb_srv_stream_tx_done(&l->st, sent, now);
        if (rc != PLCIO_OK) {
            drop_connection(l, mb_srv_stream_why(&l->st, rc));
            return false;
        }
    }
    unsigned ev = (mb_srv_stream_room(&l->st) ? PLCIO_IO_READ : 0u) | (l->st.out_len ? PLCIO_IO_WRITE : 0u);
    set_events(l, ev ? ev : PLCIO_IO_READ);
    return true;
}

static bool tls_flush(mb_link_state *l);

/* Send what a connection has to send, in TLS or not. */
static bool link_flush(mb_link_state *l) { return l->tls ? tls_flush(l) : tcp_flush(l); }

/* Remember a connection whose answers wait for mb_server_uncork (written at
 * once when that cannot be remembered). */
static void cork_link(mb_link_state *l)
{
    plcio_modbus_server *s = l->s;
    if (l->corked) return;
    if (s->ncorked == s->capcorked) {
        size_t cap = s->capcorked ? 2 * s->capcorked : 16;
        size_t *p = realloc(s->corked, cap * sizeof *p);
        if (!p) {
            link_flush(l);
            return;
        }
        s->corked = p;
        s->capcorked = cap;
    }
    l->corked = true;
    s->corked[s->ncorked++] = l->slot;
}

void mb_server_cork(plcio_modbus_server *s) { s->cork++; }

void mb_server_uncork(plcio_modbus_server *s)
{
    if (!s->cork || --s->cork) return;
    /* flushing may forward held-back requests whose answers cork again: take the list */
    size_t *slots = s->corked, n = s->ncorked, cap = s->capcorked;
    s->corked = NULL;
    s->ncorked = s->capcorked = 0;
    for (size_t i = 0; i < n; i++) {
        mb_link_state *l = slots[i] < s->links_cap ? s->links[slots[i]] : NULL;
        if (!l || !l->corked) continue; /* gone (its slot free, or taken by a newer link not corked) */
        l->corked = false;
        if (!l->st.in_process) link_flush(l); /* else the feed that is running flushes */
    }
    if (s->corked) { /* corked again meanwhile: keep the newer list */
        free(slots);
        return;
    }
    s->corked = slots;
    s->capcorked = cap;
}

static void tcp_conn_cb(plcio_loop *loop, int fd, unsigned events, void *ctx)
{
    (void)fd;
    mb_link_state *l = ctx;
    if ((events & PLCIO_IO_WRITE) && !tcp_flush(l)) return;
    size_t room = mb_srv_stream_room(&l->st);
    if (!(events & (PLCIO_IO_READ | PLCIO_IO_ERROR)) || !room) return;
    uint8_t buf[MB_SRV_STREAM_IN_CAP];
    size_t got = 0;
    int rc = net_recv_some(l->fd, buf, room, &got, 0);
    if (rc == PLCIO_EAGAIN) return;
    if (rc != PLCIO_OK) {
        drop_connection(l, rc == PLCIO_ECLOSED ? "closed by peer" : plcio_strerror(rc));
        return;
    }
    plcio_modbus_server *s = l->s;
    if (!s->forward_flush) {
        rc = mb_srv_stream_feed(&l->st, buf, got, plcio_loop_now(loop), NULL);
        if (rc != PLCIO_OK) {
            drop_connection(l, mb_srv_stream_why(&l->st, rc));
            return;
        }
        tcp_flush(l);
        return;
    }
    /* forwarding in batches: the requests of this read go out together, the
     * answers ready meanwhile leave in one write */
    mb_server_cork(s);
    s->batch++;
    rc = mb_srv_stream_feed(&l->st, buf, got, plcio_loop_now(loop), NULL);
    s->forward_flush(s->forward_ctx);
    s->batch--;
    if (rc != PLCIO_OK)
        drop_connection(l, mb_srv_stream_why(&l->st, rc));
    else
        cork_link(l);
    mb_server_uncork(s);
}

/* Full: close the connection that has been silent longest (oldest last
 * byte received) so that a new client gets in. False if there is none. */
static bool evict_one(plcio_modbus_server *s)
{
    mb_link_state *victim = NULL;
    for (size_t i = 0; i < s->links_cap; i++) {
        mb_link_state *l = s->links[i];
        if (l && l->kind == LINK_TCP_CONN && (!victim || l->st.last_rx_ns < victim->st.last_rx_ns)) victim = l;
    }
    if (!victim) return false;
    count(s, &s->stats.connections_evicted);
    log_msg(&s->logger, PLCIO_LOG_INFO, "modbus", "%u connections: evicting %s (silent longest)",
            s->limits.max_connections, victim->peer);
    drop_connection(victim, "evicted for a new connection");
    return true;
}

/* Every 100 ms: close connections silent too long or stuck in a half frame. */
static void sweep_cb(plcio_loop *loop, void *ctx)
{
    plcio_modbus_server *s = ctx;
    uint64_t now = plcio_loop_now(loop);
    for (size_t i = 0; i < s->links_cap; i++) {
        mb_link_state *l = s->links[i];
        if (!l || l->kind != LINK_TCP_CONN) continue;
        if (l->tls && !l->tls->up && now - l->st.last_rx_ns > (uint64_t)s->limits.frame_timeout_ms * PLCIO_NS_PER_MS) {
            count(s, &s->stats.connections_timed_out);
            drop_connection(l, "TLS handshake not finished in frame_timeout_ms");
            continue;
        }
        int rc = mb_srv_stream_on_time(&l->st, now);
        if (rc == PLCIO_OK) continue;
        count(s, &s->stats.connections_timed_out);
        drop_connection(l, mb_srv_stream_why(&l->st, rc));
    }
    s->sweep_timer = plcio_loop_timer_add(loop, now + SWEEP_NS, sweep_cb, s);
}

static void tls_conn_cb(plcio_loop *loop, int fd, unsigned events, void *ctx);

static void tcp_accept_cb(plcio_loop *loop, int fd, unsigned events, void *ctx)
{
    (void)events;
    mb_link_state *listener = ctx;
    plcio_modbus_server *s = listener->s;
    for (int i = 0; i < 64; i++) {
        int cfd;
        char peer[64] = "";
        if (net_accept(fd, &cfd, peer, sizeof peer) != PLCIO_OK) return;
        pthread_mutex_lock(&s->lock);
        bool full = s->stats.connections_open >= s->limits.max_connections;
        pthread_mutex_unlock(&s->lock);
        if (full) full = !evict_one(s);
        pthread_mutex_lock(&s->lock);
        if (!full) s->stats.connections_open++, s->stats.connections_accepted++;
        pthread_mutex_unlock(&s->lock);
        mb_link_state *l = full ? NULL : link_new(s, LINK_TCP_CONN, cfd);
        if (!l) {
            log_msg(&s->logger, PLCIO_LOG_WARN, "modbus", "refusing connection from %s: too many clients", peer);
            if (!full) {
                pthread_mutex_lock(&s->lock);
                s->stats.connections_open--;
                pthread_mutex_unlock(&s->lock);
            }
            net_close(cfd);
            continue;
        }
        mb_srv_stream_init(&l->st, s, MB_FRAMING_MBAP, false, 0, plcio_loop_now(loop));
        l->st.slot = l->slot;
        l->st.link_id = l->id;
        l->events = PLCIO_IO_READ;
        memcpy(l->peer, peer, sizeof l->peer);
        l->who = (plcio_modbus_peer){.address = l->peer, .tls = listener->tls_ctx != NULL, .role = "", .subject = ""};
        l->st.peer = &l->who;
        if (listener->tls_ctx) {
            l->tls = malloc(sizeof *l->tls);
            if (!l->tls || mb_tls_init(l->tls, listener->tls_ctx, true, NULL) != PLCIO_OK) {
                free(l->tls);
                l->tls = NULL;
                link_free(l);
                continue;
            }
        }
        if (plcio_loop_add(loop, cfd, PLCIO_IO_READ, l->tls ? tls_conn_cb : tcp_conn_cb, l) != PLCIO_OK) {
            link_free(l);
            continue;
        }
        log_msg(&s->logger, PLCIO_LOG_INFO, "modbus", "connection from %s", peer);
    }
}

int plcio_modbus_server_listen_tcp(plcio_modbus_server *s, const char *host, int port, int *bound_port)
{
    if (!s) return PLCIO_EINVAL;
    int rc = ensure_loop(s), fd = -1, bound = 0;
    if (rc == PLCIO_OK) rc = net_tcp_listen(host, port, 128, &fd, &bound);
    if (rc != PLCIO_OK) return rc;
    mb_link_state *l = link_new(s, LINK_TCP_LISTEN, fd);
    if (!l) {
        net_close(fd);
        return PLCIO_ELIMIT;
    }
    if ((rc = plcio_loop_add(s->loop, fd, PLCIO_IO_READ, tcp_accept_cb, l)) != PLCIO_OK) {
        link_free(l);
        return rc;
    }
    if (!s->sweep_timer)
        s->sweep_timer = plcio_loop_timer_add(s->loop, plcio_loop_now(s->loop) + SWEEP_NS, sweep_cb, s);
    if (bound_port) *bound_port = bound;
    log_msg(&s->logger, PLCIO_LOG_INFO, "modbus", "listening on TCP %s:%d", host && *host ? host : "0.0.0.0", bound);
    return PLCIO_OK;
}

/* ===========================================================================
 * Modbus/TCP Security: the same stream, through mb_tls (MB-TCP-Security)
 * ========================================================================= */

/* Plaintext the TLS layer holds, into the stream while it takes input.
 * False if the connection was dropped. */
static bool tls_pull(mb_link_state *l, bool *fed)
{
    size_t room;
    while (l->tls->up && (room = mb_srv_stream_room(&l->st)) > 0) {
        uint8_t buf[MB_SRV_STREAM_IN_CAP];
        size_t got = 0;
        int rc = mb_tls_read(l->tls, buf, room < sizeof buf ? room : sizeof buf, &got);
        if (rc != PLCIO_OK) {
            drop_connection(l, rc == PLCIO_ECLOSED ? "closed by peer" : l->tls->why);
            return false;
        }
        if (!got) break;
        *fed = true;
        rc = mb_srv_stream_feed(&l->st, buf, got, plcio_loop_now(l->s->loop), NULL);
        if (rc != PLCIO_OK) {
            drop_connection(l, mb_srv_stream_why(&l->st, rc));
            return false;
        }
    }
    return true;
}

/* Answers into TLS, ciphertext to the socket, held input into the stream,
 * until nothing moves. False if the connection was dropped. */
static bool tls_flush(mb_link_state *l)
{
    uint64_t now = plcio_loop_now(l->s->loop);
    for (;;) {
        size_t n, len;
        const uint8_t *p = mb_tls_out(l->tls, &n);
        if (p) {
            size_t sent = 0;
            int rc = net_send_some(l->fd, p, n, &sent);
            if (rc == PLCIO_EAGAIN) break;
            if (rc != PLCIO_OK) {
                drop_connection(l, rc == PLCIO_ECLOSED ? "closed by peer" : plcio_strerror(rc));
                return false;
            }
            mb_tls_sent(l->tls, sent);
            if (sent < n) break;
            continue;
        }
        /* the stream keeps what TLS has not taken: its back-pressure holds */
        if (l->tls->up && (p = mb_srv_stream_tx(&l->st, &len)) != NULL) {
            int rc = mb_tls_write(l->tls, p, len);
            if (rc == PLCIO_OK) rc = mb_srv_stream_tx_done(&l->st, len, now);
            if (rc != PLCIO_OK) {
                drop_connection(l, l->tls->why[0] ? l->tls->why : mb_srv_stream_why(&l->st, rc));
                return false;
            }
            continue;
        }
        bool fed = false;
        if (!tls_pull(l, &fed)) return false;
        if (!fed) break;
    }
    size_t n;
    bool out = mb_tls_out(l->tls, &n) != NULL || l->st.out_len;
    bool in = !l->tls->up || mb_srv_stream_room(&l->st);
    unsigned ev = (in ? PLCIO_IO_READ : 0u) | (out ? PLCIO_IO_WRITE : 0u);
    set_events(l, ev ? ev : PLCIO_IO_READ);
    return true;
}

/* A handshake that failed: the alert goes out if the socket takes it now. */
static void tls_refuse(mb_link_state *l, const char *what)
{
    size_t n;
    const uint8_t *p = mb_tls_out(l->tls, &n);
    size_t sent;
    if (p) (void)net_send_some(l->fd, p, n, &sent);
    plcio_modbus_server *srv = l->s;
    log_msg(&srv->logger, PLCIO_LOG_WARN, "modbus", "TLS connection from %s %s: %s", l->peer, what,
            l->tls->why[0] ? l->tls->why : "TLS error");
    count(srv, &srv->stats.connections_dropped);
    link_free(l);
}

static void tls_conn_cb(plcio_loop *loop, int fd, unsigned events, void *ctx)
{
    (void)loop;
    mb_link_state *l = ctx;
    if ((events & PLCIO_IO_WRITE) && !tls_flush(l)) return;
    bool in = !l->tls->up || mb_srv_stream_room(&l->st);
    if (!(events & (PLCIO_IO_READ | PLCIO_IO_ERROR)) || !in) return;
    uint8_t buf[16384];
    size_t got = 0;
    int rc = net_recv_some(fd, buf, sizeof buf, &got, 0);
    if (rc == PLCIO_EAGAIN) return;
    if (rc != PLCIO_OK) {
        drop_connection(l, rc != PLCIO_ECLOSED ? plcio_strerror(rc)
                           : l->tls->up        ? "closed by peer"
                                               : "closed by peer during the TLS handshake");
        return;
    }
    if (mb_tls_put(l->tls, buf, got) != PLCIO_OK) {
        tls_refuse(l, "refused");
        return;
    }
    if (!l->tls->up) {
        if (mb_tls_step(l->tls) != PLCIO_OK) {
            tls_refuse(l, "refused (handshake)");
            return;
        }
        if (l->tls->up) {
            l->who.role = l->tls->role;
            l->who.subject = l->tls->peer_name;
            char how[128];
            mb_tls_describe(l->tls, how, sizeof how);
            log_msg(&l->s->logger, PLCIO_LOG_INFO, "modbus", "TLS from %s: %s, certificate '%s', role '%s'", l->peer,
                    how, l->tls->peer_name, l->tls->has_role ? l->tls->role : "(none)");
        }
    }
    tls_flush(l);
}

void plcio_modbus_tls_options_init(plcio_modbus_tls_options *o)
{
    if (o) memset(o, 0, sizeof *o);
}

static int copy_path(char *dst, size_t cap, const char *src, const char *what, plcio_error *err)
{
    if (!src || !src[0]) return plcio_error_set(err, PLCIO_EINVAL, "Modbus/TCP Security: no %s file given", what);
    if (strlen(src) >= cap) return plcio_error_set(err, PLCIO_ERANGE, "%s file name too long", what);
    memcpy(dst, src, strlen(src) + 1);
    return PLCIO_OK;
}

int plcio_modbus_server_listen_tls(plcio_modbus_server *s, const char *host, int port,
                                   const plcio_modbus_tls_options *tls, int *bound_port, plcio_error *err)
{
    error_begin(err);
    if (!s || !tls) return error_end(err, PLCIO_EINVAL);
    mb_tls_config cfg;
    memset(&cfg, 0, sizeof cfg);
    int rc;
    if ((rc = copy_path(cfg.ca, sizeof cfg.ca, tls->ca_file, "CA", err)) != PLCIO_OK) return rc;
    if ((rc = copy_path(cfg.cert, sizeof cfg.cert, tls->cert_file, "certificate", err)) != PLCIO_OK) return rc;
    if ((rc = copy_path(cfg.key, sizeof cfg.key, tls->key_file, "key", err)) != PLCIO_OK) return rc;
    cfg.client_cert_optional = tls->client_cert_optional;
    mb_tls_ctx *ctx = NULL;
    if ((rc = mb_tls_ctx_new(&cfg, true, &ctx, ERROR_BUF(err))) != PLCIO_OK) return error_end(err, rc);
    int fd = -1, bound = 0;
    rc = ensure_loop(s);
    if (rc == PLCIO_OK) rc = net_tcp_listen(host, port, 128, &fd, &bound);
    if (rc != PLCIO_OK) {
        mb_tls_ctx_free(ctx);
        return plcio_error_set(err, rc, "listen on %s:%d: %s", host && *host ? host : "0.0.0.0", port,
                               plcio_strerror(rc));
    }
    mb_link_state *l = link_new(s, LINK_TCP_LISTEN, fd);
    if (!l) {
        mb_tls_ctx_free(ctx);
        net_close(fd);
        return error_end(err, PLCIO_ELIMIT);
    }
    l->tls_ctx = ctx;
    if ((rc = plcio_loop_add(s->loop, fd, PLCIO_IO_READ, tcp_accept_cb, l)) != PLCIO_OK) {
        link_free(l);
        return error_end(err, rc);
    }
    if (!s->sweep_timer)
        s->sweep_timer = plcio_loop_timer_add(s->loop, plcio_loop_now(s->loop) + SWEEP_NS, sweep_cb, s);
    if (bound_port) *bound_port = bound;
    log_msg(&s->logger, PLCIO_LOG_INFO, "modbus", "listening on TLS %s:%d (Modbus/TCP Security, client certificate %s)",
            host && *host ? host : "0.0.0.0", bound, cfg.client_cert_optional ? "optional" : "required");
    return PLCIO_OK;
}

/* ===========================================================================
 * UDP: one frame per datagram (TCP 4.2.1 applies the MBAP header to UDP too).
 * ========================================================================= */

/* A datagram for forward(): true when it was taken (or answered busy). */
static bool udp_forward(mb_link_state *l, const uint8_t *in, size_t len, const net_peer *peer)
{
    mb_frame f;
    size_t used = 0, need = 0;
    if (mb_mbap_decode(in, len, &f, &used, &need) != PLCIO_OK || used != len) return false; /* dropped there */
    mb_fwd_origin o = {.slot = l->slot, .link_id = l->id, .udp = true, .peer = *peer, .tid = f.tid, .unit = f.unit};
    int rc = l->s->forward(l->s->forward_ctx, &o, f.pdu, f.pdu_len);
    if (rc == PLCIO_EAGAIN) {
        uint8_t busy[2] = {(uint8_t)(f.pdu[0] | 0x80), PLCIO_MB_EX_SERVER_DEVICE_BUSY};
        (void)mb_server_forward_reply(l->s, &o, busy, sizeof busy);
    }
    return rc != PLCIO_ENOTFOUND;
}

static mb_link_state *origin_link(plcio_modbus_server *s, const mb_fwd_origin *o)
{
    mb_link_state *l = o->slot < s->links_cap ? s->links[o->slot] : NULL;
    return l && l->id == o->link_id ? l : NULL;
}

int mb_server_forward_reply(plcio_modbus_server *s, const mb_fwd_origin *o, const uint8_t *pdu, size_t len)
{
    mb_link_state *l = origin_link(s, o);
    if (!l) return PLCIO_ENOTFOUND;
    uint8_t frame[PLCIO_MB_TCP_MAX_ADU];
    size_t n = 0;
    int rc = mb_mbap_encode(o->tid, o->unit, pdu, len, frame, sizeof frame, &n);
    if (rc != PLCIO_OK) return rc;
    if (l->kind == LINK_UDP) {
        log_hex(&s->logger, PLCIO_LOG_TRACE, "modbus", "Tx", frame, n);
        return net_udp_send_to(l->fd, frame, n, &o->peer);
    }
    if (l->kind != LINK_TCP_CONN) return PLCIO_ENOTFOUND;
    if ((rc = mb_srv_stream_reply(&l->st, frame, n)) != PLCIO_OK) return rc;
    if (s->cork)
        cork_link(l); /* written with the others at mb_server_uncork */
    else if (!l->st.in_process)
        link_flush(l); /* else the feed that is running flushes */
    return PLCIO_OK;
}

void mb_server_forward_resume(plcio_modbus_server *s, const mb_fwd_origin *o)
{
    mb_link_state *l = origin_link(s, o);
    if (!l || l->kind != LINK_TCP_CONN || !l->st.held || l->st.in_process) return;
    int rc = mb_srv_stream_resume(&l->st, plcio_loop_now(s->loop));
    if (rc != PLCIO_OK) {
        drop_connection(l, mb_srv_stream_why(&l->st, rc));
        return;
    }
    link_flush(l);
}

plcio_loop *mb_server_loop(plcio_modbus_server *s) { return ensure_loop(s) == PLCIO_OK ? s->loop : NULL; }

static void udp_cb(plcio_loop *loop, int fd, unsigned events, void *ctx)
{
    (void)loop;
    (void)events;
    mb_link_state *l = ctx;
    plcio_modbus_server *s = l->s;
    s->batch++;
    for (int i = 0; i < 64; i++) {
        net_peer peer;
        uint8_t in[MB_SRV_STREAM_IN_CAP];
        size_t got = 0;
        if (net_udp_recv_from(fd, in, sizeof in, &got, &peer) != PLCIO_OK) break;
        if (s->forward && udp_forward(l, in, got, &peer)) continue;
        uint8_t frame[PLCIO_MB_TCP_MAX_ADU];
        size_t n = 0;
        if (mb_srv_answer_datagram(s, in, got, frame, sizeof frame, &n) == PLCIO_OK && n)
            net_udp_send_to(fd, frame, n, &peer);
    }
    if (s->forward_flush) s->forward_flush(s->forward_ctx); /* the datagrams taken go out together */
    s->batch--;
}

int plcio_modbus_server_listen_udp(plcio_modbus_server *s, const char *host, int port, int *bound_port)
{
    if (!s) return PLCIO_EINVAL;
    int rc = ensure_loop(s), fd = -1, bound = 0;
    if (rc == PLCIO_OK) rc = net_udp_open(host, port, true, &fd, &bound);
    if (rc != PLCIO_OK) return rc;
    mb_link_state *l = link_new(s, LINK_UDP, fd);
    if (!l) {
        net_close(fd);
        return PLCIO_ELIMIT;
    }
    if ((rc = plcio_loop_add(s->loop, fd, PLCIO_IO_READ, udp_cb, l)) != PLCIO_OK) {
        link_free(l);
        return rc;
    }
    if (bound_port) *bound_port = bound;
    log_msg(&s->logger, PLCIO_LOG_INFO, "modbus", "listening on UDP %s:%d", host && *host ? host : "0.0.0.0", bound);
    return PLCIO_OK;
}

/* ===========================================================================
 * Serial lines
 * ========================================================================= */

static void serial_timer_cb(plcio_loop *loop, void *ctx);

/* Write what the line takes now; watch for writability while output waits.
 * A line that fails (a pty without its other end: EIO) loses its queue. */
static void serial_flush(mb_link_state *l)
{
    size_t len;
    const uint8_t *p;
    while ((p = mb_srv_stream_tx(&l->st, &len)) != NULL) {
        size_t sent = 0;
        int rc = net_send_some(l->fd, p, len, &sent);
        if (rc == PLCIO_EAGAIN || (rc == PLCIO_OK && sent == 0)) break;
        if (rc != PLCIO_OK) {
            log_msg(&l->s->logger, PLCIO_LOG_DEBUG, "modbus", "serial write: %s", plcio_strerror(rc));
            mb_srv_stream_tx_failed(&l->st);
            break;
        }
        (void)mb_srv_stream_tx_done(&l->st, sent, 0);
    }
    set_events(l, PLCIO_IO_READ | (l->st.out_len ? PLCIO_IO_WRITE : 0u));
}

/* The silence that ends a frame (RTU t3.5, ASCII 1 s) is timed from the
 * last byte; re-armed after every arrival. */
static void serial_arm_timer(mb_link_state *l)
{
    if (l->idle_timer) plcio_loop_timer_cancel(l->s->loop, l->idle_timer);
    l->idle_timer = 0;
    uint64_t at = mb_srv_stream_deadline(&l->st);
    if (at) l->idle_timer = plcio_loop_timer_add(l->s->loop, at, serial_timer_cb, l);
}

static void serial_timer_cb(plcio_loop *loop, void *ctx)
{
    mb_link_state *l = ctx;
    l->idle_timer = 0;
    (void)mb_srv_stream_on_time(&l->st, plcio_loop_now(loop));
    serial_flush(l);
    serial_arm_timer(l);
}

static void serial_cb(plcio_loop *loop, int fd, unsigned events, void *ctx)
{
    mb_link_state *l = ctx;
    if (events & PLCIO_IO_WRITE) serial_flush(l);
    if (!(events & (PLCIO_IO_READ | PLCIO_IO_ERROR))) return;
    uint8_t buf[512];
    size_t got = 0;
    int rc = net_recv_some(fd, buf, sizeof buf, &got, 0);
    if (rc != PLCIO_OK) return; /* EAGAIN; a pty without its other end reports EIO: keep waiting */
    (void)mb_srv_stream_feed(&l->st, buf, got, plcio_loop_now(loop), NULL);
    serial_flush(l);
    serial_arm_timer(l);
}

int plcio_modbus_server_open_serial(plcio_modbus_server *s, const char *url)
{
    if (!s || !url) return PLCIO_EINVAL;
    mb_url_config cfg;
    int rc = mb_url_parse(url, true, &cfg, NULL, 0);
    if (rc != PLCIO_OK) return rc;
    if (cfg.link.ops != &mb_link_serial) return PLCIO_EINVAL;
    if (s->backing) return PLCIO_EUNSUPPORTED; /* a serial line cannot wait for a remote device */
    if ((rc = ensure_loop(s)) != PLCIO_OK) return rc;
    int fd = -1;
    if ((rc = net_serial_open(cfg.link.device, &cfg.link.serial, &fd)) != PLCIO_OK) return rc;
    mb_link_state *l = link_new(s, LINK_SERIAL, fd);
    if (!l) {
        net_close(fd);
        return PLCIO_ELIMIT;
    }
    uint32_t t15, t35;
    mb_rtu_timing(cfg.link.serial.baud, &t15, &t35);
    mb_srv_stream_init(&l->st, s, cfg.framing, true, t35, plcio_loop_now(s->loop));
    l->events = PLCIO_IO_READ;
    if ((rc = plcio_loop_add(s->loop, fd, PLCIO_IO_READ, serial_cb, l)) != PLCIO_OK) {
        link_free(l);
        return rc;
    }
    log_msg(&s->logger, PLCIO_LOG_INFO, "modbus", "serving %s on %s", cfg.framing == MB_FRAMING_RTU ? "RTU" : "ASCII",
            cfg.link.device);
    return PLCIO_OK;
}

/* ===========================================================================
 * Running
 * ========================================================================= */

int plcio_modbus_server_run_once(plcio_modbus_server *s, int max_wait_ms)
{
    if (!s) return PLCIO_EINVAL;
    int rc = ensure_loop(s);
    if (rc != PLCIO_OK) return rc;
    rc = loop_run_once(s->loop, max_wait_ms);
    return rc < 0 ? rc : PLCIO_OK;
}

int plcio_modbus_server_run(plcio_modbus_server *s)
{
    if (!s) return PLCIO_EINVAL;
    int rc = ensure_loop(s);
    return rc == PLCIO_OK ? loop_run(s->loop) : rc;
}

void plcio_modbus_server_stop(plcio_modbus_server *s)
{
    if (s && s->loop) loop_stop(s->loop);
}
