/* Modbus server links on the src/net event loop: TCP listeners and
 * connections (MBAP), UDP sockets (one MBAP frame per datagram) and serial
 * lines (RTU with t3.5 silence detection, or ASCII). One thread serves all,
 * so nothing here may wait:
 *   - TCP answers a client does not take are kept (it is not read from
 *     while CONN_OUT_LIMIT bytes wait);
 *   - serial answers are queued (limits.serial_output_bytes) and written
 *     when the line is writable; a full queue drops the answer (counted);
 *   - a sweep timer closes TCP connections silent for idle_timeout_ms or
 *     stuck in a half frame for frame_timeout_ms;
 *   - at max_connections a new connection evicts the one silent longest. */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "modbus/mb_server.h"

#define CONN_IN_CAP    4096
#define CONN_OUT_LIMIT ((size_t)64 * 1024) /* stop reading a client that does not read its answers */
#define SWEEP_NS       (100 * PLCIO_NS_PER_MS)

typedef enum link_kind { LINK_TCP_LISTEN, LINK_TCP_CONN, LINK_UDP, LINK_SERIAL } link_kind;

struct mb_link_state {
    plcio_modbus_server *s;
    link_kind kind;
    mb_framing framing;
    int fd;
    size_t slot;
    char peer[64];
    /* input */
    uint8_t in[CONN_IN_CAP];
    size_t in_len;
    uint64_t last_rx_ns;    /* last byte received (TCP: or the accept) */
    uint64_t partial_since; /* TCP: when the unfinished frame in `in` started; 0 = none */
    /* output: what the socket or line did not take yet */
    uint8_t *out;
    size_t out_len, out_cap;
    bool reading;
    bool writing; /* PLCIO_IO_WRITE requested (serial) */
    /* serial */
    mb_line line; /* FC 8 state of this line */
    uint32_t t35_us;
    uint64_t idle_timer;
    uint8_t scratch[PLCIO_MB_RTU_MAX_ADU];
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
    l->reading = true;
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
    if (l->kind == LINK_SERIAL) mb_server_line_closed(s, &l->line);
    free(l->out);
    free(l);
}

void mb_server_io_free(plcio_modbus_server *s); /* called by plcio_modbus_server_free */
void mb_server_io_free(plcio_modbus_server *s)
{
    for (size_t i = 0; i < s->links_cap; i++)
        if (s->links[i]) link_free(s->links[i]);
    free(s->links);
    s->links = NULL;
    s->links_cap = 0;
    loop_free(s->loop);
    s->loop = NULL;
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

/* ===========================================================================
 * Answering one frame
 * ========================================================================= */

static int answer_frame(mb_link_state *l, const mb_frame *f, uint8_t *out, size_t cap, size_t *n)
{
    plcio_modbus_server *s = l->s;
    bool serial = l->kind == LINK_SERIAL;
    uint8_t resp[PLCIO_MB_MAX_PDU];
    size_t rlen = 0;
    *n = 0;
    mb_server_count_bus_message(s);
    int rc = mb_server_process_line(s, serial ? &l->line : NULL, f->unit, f->pdu, f->pdu_len, resp, sizeof resp, &rlen);
    if (rc != PLCIO_OK || rlen == 0) return rc;
    switch (l->framing) {
    case MB_FRAMING_MBAP: rc = mb_mbap_encode(f->tid, f->unit, resp, rlen, out, cap, n); break;
    case MB_FRAMING_RTU: rc = mb_rtu_encode(f->unit, resp, rlen, out, cap, n); break;
    default: rc = mb_ascii_encode(f->unit, resp, rlen, out, cap, n); break;
    }
    if (rc == PLCIO_OK) log_hex(&s->logger, PLCIO_LOG_TRACE, "modbus", "Tx", out, *n);
    return rc;
}

/* ===========================================================================
 * TCP
 * ========================================================================= */

static void tcp_conn_cb(plcio_loop *loop, int fd, unsigned events, void *ctx);

static int out_append(mb_link_state *l, const uint8_t *p, size_t n)
{
    if (l->out_len + n > l->out_cap) {
        size_t cap = l->out_cap ? l->out_cap * 2 : 4096;
        while (cap < l->out_len + n)
            cap *= 2;
        uint8_t *np = realloc(l->out, cap);
        if (!np) return PLCIO_ENOMEM;
        l->out = np;
        l->out_cap = cap;
    }
    memcpy(l->out + l->out_len, p, n);
    l->out_len += n;
    return PLCIO_OK;
}

/* Send what the socket takes; returns false if the connection was dropped. */
static bool tcp_flush(mb_link_state *l)
{
    while (l->out_len) {
        size_t sent = 0;
        int rc = net_send_some(l->fd, l->out, l->out_len, &sent);
        if (rc == PLCIO_EAGAIN) break;
        if (rc != PLCIO_OK) {
            drop_connection(l, plcio_strerror(rc));
            return false;
        }
        memmove(l->out, l->out + sent, l->out_len - sent);
        l->out_len -= sent;
    }
    /* Back-pressure: a client that floods requests without reading answers
     * is not read from until its answers are taken. */
    bool want_read = l->out_len < CONN_OUT_LIMIT;
    if (want_read && !l->reading && l->in_len) l->partial_since = plcio_loop_now(l->s->loop); /* not its fault */
    unsigned ev = (want_read ? PLCIO_IO_READ : 0u) | (l->out_len ? PLCIO_IO_WRITE : 0u);
    plcio_loop_mod(l->s->loop, l->fd, ev ? ev : PLCIO_IO_READ);
    l->reading = want_read;
    return true;
}

/* Frame and answer everything complete in the input buffer. */
static bool tcp_process_input(mb_link_state *l)
{
    size_t pos = 0;
    while (l->out_len < CONN_OUT_LIMIT) {
        mb_frame f;
        size_t used = 0, need = 0;
        int rc = mb_mbap_decode(l->in + pos, l->in_len - pos, &f, &used, &need);
        if (rc == PLCIO_EAGAIN) break;
        if (rc != PLCIO_OK) {
            log_hex(&l->s->logger, PLCIO_LOG_DEBUG, "modbus", "unframeable input", l->in + pos,
                    l->in_len - pos < 16 ? l->in_len - pos : 16);
            drop_connection(l, "malformed MBAP header");
            return false;
        }
        log_hex(&l->s->logger, PLCIO_LOG_TRACE, "modbus", "Rx", l->in + pos, used);
        uint8_t frame[PLCIO_MB_TCP_MAX_ADU];
        size_t n;
        rc = answer_frame(l, &f, frame, sizeof frame, &n);
        if (rc == PLCIO_OK && n) rc = out_append(l, frame, n);
        if (rc != PLCIO_OK) {
            drop_connection(l, plcio_strerror(rc));
            return false;
        }
        pos += used;
    }
    memmove(l->in, l->in + pos, l->in_len - pos);
    l->in_len -= pos;
    /* a half frame is timed from its first byte (frame_timeout_ms) */
    if (!l->in_len)
        l->partial_since = 0;
    else if (pos || !l->partial_since)
        l->partial_since = plcio_loop_now(l->s->loop);
    return true;
}

static void tcp_conn_cb(plcio_loop *loop, int fd, unsigned events, void *ctx)
{
    (void)loop;
    (void)fd;
    mb_link_state *l = ctx;
    if ((events & PLCIO_IO_WRITE) && !tcp_flush(l)) return;
    if (!(events & (PLCIO_IO_READ | PLCIO_IO_ERROR)) || !l->reading) {
        if (l->reading && l->in_len && !tcp_process_input(l)) return; /* resume after back-pressure */
        return;
    }
    size_t got = 0;
    int rc = net_recv_some(l->fd, l->in + l->in_len, CONN_IN_CAP - l->in_len, &got, 0);
    if (rc == PLCIO_EAGAIN) return;
    if (rc != PLCIO_OK) {
        drop_connection(l, rc == PLCIO_ECLOSED ? "closed by peer" : plcio_strerror(rc));
        return;
    }
    l->in_len += got;
    l->last_rx_ns = plcio_loop_now(l->s->loop);
    if (!tcp_process_input(l)) return;
    tcp_flush(l);
}

/* Full: close the connection that has been silent longest (oldest last
 * byte received) so that a new client gets in. False if there is none. */
static bool evict_one(plcio_modbus_server *s)
{
    mb_link_state *victim = NULL;
    for (size_t i = 0; i < s->links_cap; i++) {
        mb_link_state *l = s->links[i];
        if (l && l->kind == LINK_TCP_CONN && (!victim || l->last_rx_ns < victim->last_rx_ns)) victim = l;
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
    uint64_t idle_ns = (uint64_t)s->limits.idle_timeout_ms * PLCIO_NS_PER_MS;
    uint64_t frame_ns = (uint64_t)s->limits.frame_timeout_ms * PLCIO_NS_PER_MS;
    for (size_t i = 0; i < s->links_cap; i++) {
        mb_link_state *l = s->links[i];
        if (!l || l->kind != LINK_TCP_CONN) continue;
        bool idle = idle_ns && now - l->last_rx_ns > idle_ns;
        bool stalled = frame_ns && l->reading && l->partial_since && now - l->partial_since > frame_ns;
        if (!idle && !stalled) continue;
        count(s, &s->stats.connections_timed_out);
        drop_connection(l, idle ? "idle timeout" : "half frame timed out");
    }
    s->sweep_timer = plcio_loop_timer_add(loop, now + SWEEP_NS, sweep_cb, s);
}

static void tcp_accept_cb(plcio_loop *loop, int fd, unsigned events, void *ctx)
{
    (void)events;
    plcio_modbus_server *s = ((mb_link_state *)ctx)->s;
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
        l->framing = MB_FRAMING_MBAP;
        l->last_rx_ns = plcio_loop_now(loop);
        memcpy(l->peer, peer, sizeof l->peer);
        if (plcio_loop_add(loop, cfd, PLCIO_IO_READ, tcp_conn_cb, l) != PLCIO_OK) {
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
 * UDP: one frame per datagram (TCP 4.2.1 applies the MBAP header to UDP too).
 * ========================================================================= */

static void udp_cb(plcio_loop *loop, int fd, unsigned events, void *ctx)
{
    (void)loop;
    (void)events;
    mb_link_state *l = ctx;
    for (int i = 0; i < 64; i++) {
        net_peer peer;
        size_t got = 0, used = 0, need = 0;
        if (net_udp_recv_from(fd, l->in, sizeof l->in, &got, &peer) != PLCIO_OK) return;
        mb_frame f;
        int rc = mb_mbap_decode(l->in, got, &f, &used, &need);
        if (rc != PLCIO_OK || used != got) { /* not exactly one frame: drop the datagram */
            log_hex(&l->s->logger, PLCIO_LOG_DEBUG, "modbus", "dropping bad datagram", l->in, got < 16 ? got : 16);
            continue;
        }
        log_hex(&l->s->logger, PLCIO_LOG_TRACE, "modbus", "Rx", l->in, got);
        uint8_t frame[PLCIO_MB_TCP_MAX_ADU];
        size_t n = 0;
        if (answer_frame(l, &f, frame, sizeof frame, &n) == PLCIO_OK && n) net_udp_send_to(fd, frame, n, &peer);
    }
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
    l->framing = MB_FRAMING_MBAP;
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

static int serial_decode(mb_link_state *l, bool idle, mb_frame *f, size_t *used)
{
    size_t need;
    if (l->framing == MB_FRAMING_RTU) return mb_rtu_decode(l->in, l->in_len, true, idle, f, used, &need);
    return mb_ascii_decode(l->in, l->in_len, l->line.ascii_lf, l->scratch, sizeof l->scratch, f, used, &need);
}

static void serial_consume(mb_link_state *l, size_t n)
{
    if (n > l->in_len) n = l->in_len;
    memmove(l->in, l->in + n, l->in_len - n);
    l->in_len -= n;
}

/* Write what the line takes now; watch for writability while output waits.
 * A line that fails (a pty without its other end: EIO) loses its queue. */
static void serial_flush(mb_link_state *l)
{
    while (l->out_len) {
        size_t sent = 0;
        int rc = net_send_some(l->fd, l->out, l->out_len, &sent);
        if (rc == PLCIO_EAGAIN || (rc == PLCIO_OK && sent == 0)) break;
        if (rc != PLCIO_OK) {
            log_msg(&l->s->logger, PLCIO_LOG_DEBUG, "modbus", "serial write: %s", plcio_strerror(rc));
            count(l->s, &l->s->stats.serial_answers_dropped);
            l->out_len = 0;
            break;
        }
        memmove(l->out, l->out + sent, l->out_len - sent);
        l->out_len -= sent;
    }
    bool want = l->out_len > 0;
    if (want != l->writing) {
        l->writing = want;
        plcio_loop_mod(l->s->loop, l->fd, PLCIO_IO_READ | (want ? PLCIO_IO_WRITE : 0u));
    }
}

/* Queue one whole answer frame, never part of one; a full queue (the peer
 * does not read) drops it and counts it instead of waiting. */
static void serial_send(mb_link_state *l, const uint8_t *frame, size_t n)
{
    if (l->out_len + n > l->s->limits.serial_output_bytes || out_append(l, frame, n) != PLCIO_OK) {
        count(l->s, &l->s->stats.serial_answers_dropped);
        return;
    }
    serial_flush(l);
}

static void serial_process(mb_link_state *l, bool idle)
{
    plcio_modbus_server *s = l->s;
    while (l->in_len) {
        mb_frame f;
        size_t used = 0;
        int rc = serial_decode(l, idle, &f, &used);
        if (rc == PLCIO_EAGAIN) {
            if (idle && l->framing == MB_FRAMING_RTU) l->in_len = 0; /* cannot happen: decode drops at idle */
            break;
        }
        if (rc == PLCIO_ECRC || rc == PLCIO_EPROTO) {
            /* SL 2.5.1.1/2.5.2.1: a bad frame is discarded, never answered. */
            log_hex(&s->logger, PLCIO_LOG_DEBUG, "modbus", rc == PLCIO_ECRC ? "bad CRC/LRC" : "bad frame", l->in,
                    used ? used : l->in_len);
            if (rc == PLCIO_ECRC || l->framing == MB_FRAMING_RTU) mb_server_count_comm_error(s, &l->line);
            serial_consume(l, used ? used : l->in_len);
            continue;
        }
        log_hex(&s->logger, PLCIO_LOG_TRACE, "modbus", "Rx", l->in, used);
        uint8_t frame[PLCIO_MB_ASCII_MAX_ADU + 8];
        size_t n = 0;
        rc = answer_frame(l, &f, frame, sizeof frame, &n);
        serial_consume(l, used);
        if (rc == PLCIO_OK && n) serial_send(l, frame, n);
    }
}

static void serial_arm_timer(mb_link_state *l)
{
    if (l->idle_timer) plcio_loop_timer_cancel(l->s->loop, l->idle_timer);
    l->idle_timer = 0;
    if (!l->in_len) return;
    /* RTU: t3.5 of silence ends a frame. ASCII: a 1 s inter-character
     * timeout (SL 2.5.2.1 leaves it to the implementation). */
    uint64_t gap = l->framing == MB_FRAMING_RTU ? (uint64_t)l->t35_us * 1000u : PLCIO_NS_PER_S;
    l->idle_timer = plcio_loop_timer_add(l->s->loop, l->last_rx_ns + gap, serial_timer_cb, l);
}

static void serial_timer_cb(plcio_loop *loop, void *ctx)
{
    (void)loop;
    mb_link_state *l = ctx;
    l->idle_timer = 0;
    if (l->framing == MB_FRAMING_ASCII) {
        l->in_len = 0; /* an ASCII frame that never ended */
        return;
    }
    serial_process(l, true);
    l->in_len = 0;
}

static void serial_cb(plcio_loop *loop, int fd, unsigned events, void *ctx)
{
    (void)loop;
    mb_link_state *l = ctx;
    if (events & PLCIO_IO_WRITE) serial_flush(l);
    if (!(events & (PLCIO_IO_READ | PLCIO_IO_ERROR))) return;
    uint8_t buf[512];
    size_t got = 0;
    int rc = net_recv_some(fd, buf, sizeof buf, &got, 0);
    if (rc != PLCIO_OK) return; /* EAGAIN; a pty without its other end reports EIO: keep waiting */
    uint64_t now = plcio_loop_now(l->s->loop);
    /* RTU: bytes after a silence longer than t3.5 start a new frame. */
    if (l->framing == MB_FRAMING_RTU && l->in_len && now - l->last_rx_ns > (uint64_t)l->t35_us * 1000u) {
        serial_process(l, true);
        l->in_len = 0;
    }
    if (l->in_len + got > CONN_IN_CAP) { /* more than any frame can be: overrun */
        mb_server_count_overrun(l->s);
        l->in_len = 0;
        if (got > CONN_IN_CAP) got = 0;
    }
    memcpy(l->in + l->in_len, buf, got);
    l->in_len += got;
    l->last_rx_ns = now;
    serial_process(l, false);
    serial_arm_timer(l);
}

int plcio_modbus_server_open_serial(plcio_modbus_server *s, const char *url)
{
    if (!s || !url) return PLCIO_EINVAL;
    mb_url_config cfg;
    int rc = mb_url_parse(url, true, &cfg, NULL, 0);
    if (rc != PLCIO_OK) return rc;
    if (cfg.link.ops != &mb_link_serial) return PLCIO_EINVAL;
    if ((rc = ensure_loop(s)) != PLCIO_OK) return rc;
    int fd = -1;
    if ((rc = net_serial_open(cfg.link.device, &cfg.link.serial, &fd)) != PLCIO_OK) return rc;
    mb_link_state *l = link_new(s, LINK_SERIAL, fd);
    if (!l) {
        net_close(fd);
        return PLCIO_ELIMIT;
    }
    l->framing = cfg.framing;
    l->line.ascii_lf = '\n'; /* SL 2.5.2.1: CR LF ends an ASCII frame */
    uint32_t t15;
    mb_rtu_timing(cfg.link.serial.baud, &t15, &l->t35_us);
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
