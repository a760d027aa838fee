/* S7 partner (plcio/s7_partner.h): one ISO-on-TCP connection between two
 * partners, BSend fragments one at a time (each waits for its ack), BRecv
 * reassembly, passive listen / active connect with recovery.
 *
 * The frames come from s7_codec.h (TPKT, COTP, setup) and s7_bsend.h; the
 * socket work from src/net (pump: non-blocking connect, partial writes). */
#include "plcio/s7_partner.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "net/net.h"
#include "net/pump.h"
#include "plcio/loop.h"
#include "s7/s7_bsend.h"
#include "s7/s7_partner_test.h"
#include "s7/s7_codec.h"

#define MODULE      "s7.partner"
#define RX_CAP      (PLCIO_TPKT_MAX_LEN + 1u) /* one whole TPKT frame at most */
#define FRAME_CAP   (PLCIO_S7_PDU_MAX + PLCIO_S7_FRAME_OVERHEAD + 64u)
#define HOST_CAP    256
#define QUEUE_MAX   1024u
#define NS_PER_MS   1000000ull
#define ACK_REFUSED 0x8104 /* "service not supported": the receive queue is full */

typedef enum phase {
    PH_STOPPED,
    PH_LISTEN,     /* passive, no connection */
    PH_CONNECTING, /* active: TCP connect under way */
    PH_COTP,       /* active: CR sent; passive: waiting for CR */
    PH_SETUP,      /* active: setup job sent; passive: waiting for it */
    PH_LINKED,
    PH_RECOVER /* active: waiting before reconnecting */
} phase;

typedef struct block {
    uint32_t r_id;
    uint8_t *data;
    size_t len;
} block;

struct plcio_s7_partner {
    plcio_s7_partner_mode mode;
    plcio_s7_partner_options o;
    char host[HOST_CAP];
    int port;
    phase ph;
    int listen_fd;
    int bound_port;
    net_pump pump;
    char peer[HOST_CAP + 8];
    uint64_t phase_deadline; /* connect/COTP/setup, or the end of recovery */
    uint16_t pdu;
    uint16_t next_ref;
    uint8_t next_id_seq;
    uint8_t next_rx_seq;
    int last_link_error;

    uint8_t *rx; /* bytes read, not yet a whole frame */
    size_t rx_len;
    uint8_t *tx; /* frames waiting for the socket */
    size_t tx_len, tx_cap;

    /* the block being sent */
    bool sending;
    bool await_ack;
    uint32_t s_rid;
    uint8_t *s_data;
    size_t s_len, s_off, s_slice;
    size_t s_frags;
    uint8_t s_seq, s_id_seq;
    uint64_t s_start, s_deadline;
    plcio_s7_partner_done_fn s_done;
    void *s_ctx;

    /* the block being received */
    bool receiving;
    uint32_t r_rid;
    uint16_t r_total;
    size_t r_got;
    uint8_t r_seq;
    uint8_t *r_buf;
    uint64_t r_start, r_deadline;

    block *queue;
    size_t q_head, q_count;

    plcio_s7_partner_stats st;
    plcio_error last;
};

/* ---- small helpers ------------------------------------------------------ */

static uint64_t now_ns(void) { return plcio_monotonic_ns(); }

static uint64_t ms_ns(int ms) { return ms > 0 ? (uint64_t)ms * NS_PER_MS : 0; }

static int fail(plcio_s7_partner *p, int code, const char *fmt, ...) PLCIO_PRINTF(3, 4);
static int fail(plcio_s7_partner *p, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->last.text, sizeof p->last.text, fmt, ap);
    va_end(ap);
    p->last.code = code;
    log_msg(&p->o.logger, PLCIO_LOG_DEBUG, MODULE, "%s", p->last.text);
    return code;
}

void plcio_s7_partner_options_init(plcio_s7_partner_options *o)
{
    memset(o, 0, sizeof *o);
    o->local_tsap = 0x0100;
    o->remote_tsap = 0x0102;
    o->pdu_size = 480;
    o->connect_timeout_ms = 3000;
    o->send_timeout_ms = 3000;
    o->recv_timeout_ms = 3000;
    o->recovery_ms = 500;
    o->queue_blocks = 16;
    o->logger.level = PLCIO_LOG_WARN;
}

static int split_address(const char *address, char *host, size_t cap, int *port, plcio_error *err)
{
    if (!address || !*address) return plcio_error_set(err, PLCIO_EINVAL, "partner address is empty (want HOST:PORT)");
    const char *colon = strrchr(address, ':');
    size_t hlen = colon ? (size_t)(colon - address) : strlen(address);
    if (hlen == 0) return plcio_error_set(err, PLCIO_EINVAL, "partner address '%s' has no host", address);
    if (hlen >= cap) return plcio_error_set(err, PLCIO_ERANGE, "partner address '%s': host too long", address);
    memcpy(host, address, hlen);
    host[hlen] = '\0';
    *port = 102;
    if (colon) {
        char *end;
        long v = strtol(colon + 1, &end, 10);
        if (end == colon + 1 || *end || v < 0 || v > 65535)
            return plcio_error_set(err, PLCIO_ERANGE, "partner address '%s': port is not 0..65535", address);
        *port = (int)v;
    }
    return PLCIO_OK;
}

static int check_options(plcio_s7_partner_options *o, plcio_error *err)
{
    if (o->pdu_size < PLCIO_S7_PDU_MIN || o->pdu_size > PLCIO_S7_PDU_MAX)
        return plcio_error_set(err, PLCIO_ERANGE, "partner pdu_size %u is not %d..%d", o->pdu_size, PLCIO_S7_PDU_MIN,
                               PLCIO_S7_PDU_MAX);
    if (o->connect_timeout_ms <= 0 || o->send_timeout_ms <= 0 || o->recv_timeout_ms <= 0 || o->recovery_ms < 0)
        return plcio_error_set(err, PLCIO_ERANGE, "partner timeouts must be > 0 ms");
    if (o->queue_blocks == 0 || o->queue_blocks > QUEUE_MAX)
        return plcio_error_set(err, PLCIO_ERANGE, "partner queue_blocks %u is not 1..%u", o->queue_blocks, QUEUE_MAX);
    return PLCIO_OK;
}

int plcio_s7_partner_new(plcio_s7_partner_mode mode, const char *address, const plcio_s7_partner_options *opts,
                         plcio_s7_partner **out, plcio_error *err)
{
    error_begin(err);
    if (!out) return error_end(err, PLCIO_EINVAL);
    *out = NULL;
    if (mode != PLCIO_S7_PARTNER_PASSIVE && mode != PLCIO_S7_PARTNER_ACTIVE)
        return error_end(err, plcio_error_set(err, PLCIO_EINVAL, "partner mode is neither active nor passive"));
    plcio_s7_partner_options o;
    if (opts)
        o = *opts;
    else
        plcio_s7_partner_options_init(&o);
    char host[HOST_CAP] = "";
    int port = 102;
    int rc = split_address(address, host, sizeof host, &port, err);
    if (rc == PLCIO_OK) rc = check_options(&o, err);
    if (rc != PLCIO_OK) return error_end(err, rc);
    plcio_s7_partner *p = calloc(1, sizeof *p);
    if (p) {
        p->rx = malloc(RX_CAP);
        p->r_buf = malloc(S7_BSEND_MAX_BLOCK);
        p->queue = calloc(o.queue_blocks, sizeof *p->queue);
    }
    if (!p || !p->rx || !p->r_buf || !p->queue) {
        if (p) {
            free(p->rx);
            free(p->r_buf);
            free(p->queue);
        }
        free(p);
        return error_end(err, PLCIO_ENOMEM);
    }
    p->mode = mode;
    p->o = o;
    snprintf(p->host, sizeof p->host, "%s", host);
    p->port = port;
    p->listen_fd = -1;
    p->bound_port = port;
    net_pump_init(&p->pump, false);
    p->next_ref = 1;
    p->next_id_seq = 1;
    *out = p;
    return error_end(err, PLCIO_OK);
}

/* ---- output --------------------------------------------------------------- */

/* Room for one more frame at the end of tx. */
static uint8_t *tx_room(plcio_s7_partner *p, size_t need)
{
    if (p->tx_len + need > p->tx_cap) {
        size_t cap = p->tx_cap ? p->tx_cap : 4096;
        while (cap < p->tx_len + need)
            cap *= 2;
        uint8_t *nb = realloc(p->tx, cap);
        if (!nb) return NULL;
        p->tx = nb;
        p->tx_cap = cap;
    }
    return p->tx + p->tx_len;
}

/* The frame just encoded at the end of tx is queued. */
static void tx_commit(plcio_s7_partner *p, size_t n)
{
    log_hex(&p->o.logger, PLCIO_LOG_TRACE, MODULE, "Tx", p->tx + p->tx_len, n);
    p->tx_len += n;
}

/* Write what the socket takes; PLCIO_OK or the socket's error. */
static int flush(plcio_s7_partner *p)
{
    if (p->tx_len == 0 || p->pump.fd < 0 || p->pump.connecting) return PLCIO_OK;
    bool done = false;
    int rc = net_pump_send(&p->pump, p->tx, p->tx_len, NULL, &done);
    if (rc == PLCIO_EAGAIN) return PLCIO_OK;
    if (rc != PLCIO_OK) return rc;
    if (done) p->tx_len = 0;
    return PLCIO_OK;
}

static uint16_t take_ref(plcio_s7_partner *p)
{
    uint16_t r = p->next_ref++;
    if (p->next_ref == 0) p->next_ref = 1;
    return r;
}

/* ---- link up / down --------------------------------------------------------- */

static void complete_send(plcio_s7_partner *p, int result)
{
    if (!p->sending) return;
    uint64_t dt = now_ns() - p->s_start;
    if (result == PLCIO_OK) {
        p->st.send_count++;
        p->st.bytes_sent += p->s_len;
        p->st.send_ns += dt;
        p->st.last_send_ms = (uint32_t)(dt / NS_PER_MS);
    } else {
        p->st.send_errors++;
    }
    p->sending = false;
    p->await_ack = false;
    free(p->s_data);
    p->s_data = NULL;
    plcio_s7_partner_done_fn done = p->s_done;
    p->s_done = NULL;
    if (done) done(p->s_ctx, p, result);
}

static void abort_recv(plcio_s7_partner *p, int result)
{
    if (!p->receiving) return;
    p->receiving = false;
    p->st.recv_errors++;
    if (p->o.on_recv) p->o.on_recv(p->o.callback_ctx, p, result, p->r_rid, p->r_buf, p->r_got);
}

/* The connection ended with rc: everything in flight fails with it. */
static void link_down(plcio_s7_partner *p, int rc)
{
    bool was_linked = p->ph == PH_LINKED;
    net_pump_close(&p->pump);
    p->rx_len = 0;
    p->tx_len = 0;
    p->pdu = 0;
    p->peer[0] = '\0';
    p->last_link_error = rc;
    if (p->sending) {
        char what[PLCIO_ERROR_TEXT_MAX];
        snprintf(what, sizeof what, "%s", p->last.code != PLCIO_OK ? p->last.text : plcio_strerror(rc));
        (void)plcio_error_set(&p->last, rc, "BSend R-ID %lu: not delivered (%lu of %lu bytes acknowledged): %s",
                              (unsigned long)p->s_rid, (unsigned long)p->s_off, (unsigned long)p->s_len, what);
        log_msg(&p->o.logger, PLCIO_LOG_WARN, MODULE, "%s", p->last.text);
    }
    complete_send(p, rc);
    abort_recv(p, rc);
    if (was_linked) log_msg(&p->o.logger, PLCIO_LOG_INFO, MODULE, "link down: %s", plcio_strerror(rc));
    if (p->ph == PH_STOPPED) return;
    if (p->mode == PLCIO_S7_PARTNER_PASSIVE) {
        p->ph = PH_LISTEN;
    } else {
        p->ph = PH_RECOVER;
        p->phase_deadline = now_ns() + ms_ns(p->o.recovery_ms);
    }
}

static int protocol_error(plcio_s7_partner *p, const char *why)
{
    (void)plcio_error_set(&p->last, PLCIO_EPROTO, "partner %s: %s", p->peer[0] ? p->peer : p->host, why);
    log_msg(&p->o.logger, PLCIO_LOG_WARN, MODULE, "%s", p->last.text);
    link_down(p, PLCIO_EPROTO);
    return PLCIO_EPROTO;
}

static void linked(plcio_s7_partner *p, uint16_t pdu)
{
    p->pdu = pdu;
    p->ph = PH_LINKED;
    p->st.links++;
    p->last_link_error = PLCIO_OK;
    log_msg(&p->o.logger, PLCIO_LOG_INFO, MODULE, "linked with %s, PDU %u", p->peer, pdu);
}

static int start_connect(plcio_s7_partner *p, uint64_t now)
{
    int rc = net_pump_connect_tcp(&p->pump, p->host, p->port, p->o.connect_timeout_ms, now);
    if (rc != PLCIO_OK) {
        (void)plcio_error_set(&p->last, rc, "partner %s:%d: connect: %s", p->host, p->port, plcio_strerror(rc));
        link_down(p, rc);
        return rc;
    }
    snprintf(p->peer, sizeof p->peer, "%s:%d", p->host, p->port);
    p->ph = PH_CONNECTING;
    p->phase_deadline = now + ms_ns(p->o.connect_timeout_ms);
    return PLCIO_OK;
}

static int send_cr(plcio_s7_partner *p)
{
    cotp_conn c;
    memset(&c, 0, sizeof c);
    c.src_ref = 0x0001;
    c.tpdu_size = 1024;
    c.src_tsap_len = c.dst_tsap_len = 2;
    plcio_put_u16be(c.src_tsap, p->o.local_tsap);
    plcio_put_u16be(c.dst_tsap, p->o.remote_tsap);
    uint8_t *room = tx_room(p, 64);
    size_t n;
    if (!room || cotp_cr_frame(room, 64, &c, &n) != PLCIO_OK) return PLCIO_ENOMEM;
    tx_commit(p, n);
    p->ph = PH_COTP;
    return PLCIO_OK;
}

/* ---- incoming frames ---------------------------------------------------------- */

static int on_cr(plcio_s7_partner *p, const cotp_conn *cr)
{
    if (p->mode != PLCIO_S7_PARTNER_PASSIVE || p->ph != PH_COTP) return protocol_error(p, "unexpected COTP CR");
    /* As snap7's partner: the called TSAP is not checked (the active side
     * names the passive one's TSAP, which partners configure in pairs). */
    if (cr->dst_tsap_len == 2 && plcio_get_u16be(cr->dst_tsap) != p->o.local_tsap)
        log_msg(&p->o.logger, PLCIO_LOG_DEBUG, MODULE, "%s calls TSAP 0x%04X, ours is 0x%04X", p->peer,
                plcio_get_u16be(cr->dst_tsap), p->o.local_tsap);
    cotp_conn cc;
    memset(&cc, 0, sizeof cc);
    cc.dst_ref = cr->src_ref;
    cc.src_ref = 0x0001;
    cc.tpdu_size = cr->tpdu_size ? cr->tpdu_size : 1024;
    cc.src_tsap_len = cr->dst_tsap_len;
    memcpy(cc.src_tsap, cr->dst_tsap, cr->dst_tsap_len);
    cc.dst_tsap_len = cr->src_tsap_len;
    memcpy(cc.dst_tsap, cr->src_tsap, cr->src_tsap_len);
    uint8_t *room = tx_room(p, 96);
    size_t n;
    if (!room || cotp_cc_frame(room, 96, &cc, &n) != PLCIO_OK) return protocol_error(p, "cannot answer the CR");
    tx_commit(p, n);
    p->ph = PH_SETUP;
    return PLCIO_OK;
}

static int on_cc(plcio_s7_partner *p)
{
    if (p->mode != PLCIO_S7_PARTNER_ACTIVE || p->ph != PH_COTP) return protocol_error(p, "unexpected COTP CC");
    s7_setup s = {1, 1, p->o.pdu_size};
    uint8_t *room = tx_room(p, FRAME_CAP);
    if (!room) return PLCIO_ENOMEM;
    s7_out out = s7_out_make(room, FRAME_CAP, 0);
    if (s7_setup_encode(&out, PLCIO_S7_JOB, take_ref(p), &s) != PLCIO_OK) return protocol_error(p, "setup encode");
    tx_commit(p, out.len);
    p->ph = PH_SETUP;
    return PLCIO_OK;
}

static int on_setup(plcio_s7_partner *p, const s7_pdu *pdu)
{
    s7_setup s;
    if (s7_pdu_function(pdu) != PLCIO_S7_FN_SETUP || s7_setup_decode(pdu, &s) != PLCIO_OK)
        return protocol_error(p, "expected the S7 setup communication");
    if (p->mode == PLCIO_S7_PARTNER_ACTIVE) {
        if (pdu->rosctr != PLCIO_S7_ACK_DATA || s7_pdu_error(pdu))
            return protocol_error(p, "setup communication refused");
        if (s.pdu_size < PLCIO_S7_PDU_MIN) return protocol_error(p, "partner offers a PDU below 240 bytes");
        linked(p, s.pdu_size < p->o.pdu_size ? s.pdu_size : p->o.pdu_size);
        return PLCIO_OK;
    }
    if (pdu->rosctr != PLCIO_S7_JOB) return protocol_error(p, "expected a setup job");
    uint16_t pdu_size = s.pdu_size < p->o.pdu_size ? s.pdu_size : p->o.pdu_size;
    if (pdu_size < PLCIO_S7_PDU_MIN) pdu_size = PLCIO_S7_PDU_MIN;
    s7_setup a = {1, 1, pdu_size};
    uint8_t *room = tx_room(p, FRAME_CAP);
    if (!room) return PLCIO_ENOMEM;
    s7_out out = s7_out_make(room, FRAME_CAP, 0);
    if (s7_setup_encode(&out, PLCIO_S7_ACK_DATA, pdu->pdu_ref, &a) != PLCIO_OK)
        return protocol_error(p, "setup encode");
    tx_commit(p, out.len);
    linked(p, pdu_size);
    return PLCIO_OK;
}

static int send_fragment(plcio_s7_partner *p);

static int on_ack(plcio_s7_partner *p, const s7_userdata *ud)
{
    if (!p->await_ack) return protocol_error(p, "BSend ack without a fragment sent");
    p->await_ack = false;
    if (ud->error) {
        (void)plcio_error_set(&p->last, PLCIO_EPLC, "BSend R-ID %lu: partner refused the block (error 0x%04X)",
                              (unsigned long)p->s_rid, ud->error);
        complete_send(p, PLCIO_EPLC);
        return PLCIO_OK;
    }
    p->s_off += p->s_slice;
    p->s_seq = ud->sequence;
    if (p->s_off >= p->s_len) {
        complete_send(p, PLCIO_OK);
        return PLCIO_OK;
    }
    return send_fragment(p);
}

static int queue_ack(plcio_s7_partner *p, uint16_t ref, uint16_t error)
{
    uint8_t *room = tx_room(p, 64);
    if (!room) return PLCIO_ENOMEM;
    s7_out out = s7_out_make(room, 64, 0);
    int rc = s7_bsend_ack_encode(&out, ref, p->r_seq, error);
    if (rc == PLCIO_OK) tx_commit(p, out.len);
    return rc;
}

static void deliver(plcio_s7_partner *p)
{
    uint64_t dt = now_ns() - p->r_start;
    p->receiving = false;
    p->st.recv_count++;
    p->st.bytes_recv += p->r_got;
    p->st.recv_ns += dt;
    p->st.last_recv_ms = (uint32_t)(dt / NS_PER_MS);
    if (p->o.on_recv) {
        p->o.on_recv(p->o.callback_ctx, p, PLCIO_OK, p->r_rid, p->r_buf, p->r_got);
        return;
    }
    block *b = &p->queue[(p->q_head + p->q_count) % p->o.queue_blocks];
    b->data = malloc(p->r_got ? p->r_got : 1);
    if (!b->data) {
        p->st.recv_errors++;
        return;
    }
    memcpy(b->data, p->r_buf, p->r_got);
    b->len = p->r_got;
    b->r_id = p->r_rid;
    p->q_count++;
}

static int on_fragment(plcio_s7_partner *p, const s7_pdu *pdu, const s7_userdata *ud)
{
    bool first = !p->receiving;
    s7_bsend f;
    const char *why = NULL;
    if (s7_bsend_decode(ud, first, &f, &why) != PLCIO_OK) {
        char text[128];
        snprintf(text, sizeof text, "malformed BSend fragment: %s", why ? why : "?");
        return protocol_error(p, text);
    }
    uint64_t now = now_ns();
    if (first) {
        if (!p->o.on_recv && p->q_count == p->o.queue_blocks) {
            (void)plcio_error_set(&p->last, PLCIO_ELIMIT, "BRecv: %u blocks queued and not read: R-ID %lu refused",
                                  p->o.queue_blocks, (unsigned long)f.r_id);
            log_msg(&p->o.logger, PLCIO_LOG_WARN, MODULE, "%s", p->last.text);
            p->st.recv_errors++;
            return queue_ack(p, pdu->pdu_ref, ACK_REFUSED);
        }
        p->receiving = true;
        p->r_rid = f.r_id;
        p->r_total = f.total;
        p->r_got = 0;
        p->r_start = now;
        p->r_seq = p->next_rx_seq++;
        if (p->next_rx_seq == 0) p->next_rx_seq = 1;
    } else if (f.r_id != p->r_rid) {
        return protocol_error(p, "BSend fragment with another R-ID in the middle of a block");
    }
    if (p->r_got + f.len > p->r_total) return protocol_error(p, "BSend fragments exceed the announced block length");
    if (f.len) memcpy(p->r_buf + p->r_got, f.data, f.len);
    p->r_got += f.len;
    int rc = queue_ack(p, pdu->pdu_ref, 0);
    if (rc != PLCIO_OK) return rc;
    if (f.more) {
        p->r_deadline = now + ms_ns(p->o.recv_timeout_ms);
        return PLCIO_OK;
    }
    if (p->r_got != p->r_total) return protocol_error(p, "BSend block ended before its announced length");
    deliver(p);
    return PLCIO_OK;
}

static int on_linked_pdu(plcio_s7_partner *p, const s7_pdu *pdu)
{
    s7_userdata ud;
    if (pdu->rosctr != PLCIO_S7_USERDATA || s7_userdata_decode(pdu, &ud) != PLCIO_OK)
        return protocol_error(p, "a PDU that is no BSend/BRecv userdata");
    switch (s7_bsend_classify(&ud)) {
    case S7_BSEND_FRAGMENT: return on_fragment(p, pdu, &ud);
    case S7_BSEND_ACK: return on_ack(p, &ud);
    default: return protocol_error(p, "userdata of another group than BSend (6/1)");
    }
}

static int on_frame(plcio_s7_partner *p, const uint8_t *tpdu, size_t len)
{
    cotp_tpdu t;
    if (cotp_decode(tpdu, len, &t) != PLCIO_OK) return protocol_error(p, "malformed COTP TPDU");
    switch (t.code) {
    case PLCIO_COTP_CR: return on_cr(p, &t.conn);
    case PLCIO_COTP_CC: return on_cc(p);
    case PLCIO_COTP_DR:
        (void)plcio_error_set(&p->last, PLCIO_ECLOSED, "partner %s disconnected (COTP DR)", p->peer);
        link_down(p, PLCIO_ECLOSED);
        return PLCIO_ECLOSED;
    case PLCIO_COTP_DT: break;
    default: return protocol_error(p, "unexpected COTP TPDU");
    }
    if (!t.eot) return protocol_error(p, "COTP DT without end of TSDU (segmented PDUs are not supported)");
    s7_pdu pdu;
    if (s7_pdu_decode(t.data, t.data_len, &pdu) != PLCIO_OK) return protocol_error(p, "malformed S7 PDU");
    if (p->ph == PH_SETUP) return on_setup(p, &pdu);
    if (p->ph == PH_LINKED) return on_linked_pdu(p, &pdu);
    return protocol_error(p, "S7 PDU before the COTP connection");
}

static int feed(void *ctx, const uint8_t *buf, size_t len)
{
    plcio_s7_partner *p = ctx;
    while (len) {
        size_t take = RX_CAP - p->rx_len < len ? RX_CAP - p->rx_len : len;
        memcpy(p->rx + p->rx_len, buf, take);
        p->rx_len += take;
        buf += take;
        len -= take;
        size_t off = 0;
        for (;;) {
            size_t flen;
            int rc = tpkt_decode(p->rx + off, p->rx_len - off, &flen);
            if (rc == PLCIO_EAGAIN) break;
            if (rc != PLCIO_OK) return protocol_error(p, "not a TPKT frame (RFC 1006)");
            log_hex(&p->o.logger, PLCIO_LOG_TRACE, MODULE, "Rx", p->rx + off, flen);
            rc = on_frame(p, p->rx + off + PLCIO_TPKT_HEADER_LEN, flen - PLCIO_TPKT_HEADER_LEN);
            if (rc != PLCIO_OK || p->pump.fd < 0) return rc == PLCIO_OK ? PLCIO_ECLOSED : rc;
            off += flen;
        }
        if (off) {
            memmove(p->rx, p->rx + off, p->rx_len - off);
            p->rx_len -= off;
        }
    }
    return PLCIO_OK;
}

/* ---- sending ------------------------------------------------------------------- */

static int send_fragment(plcio_s7_partner *p)
{
    bool first = p->s_off == 0;
    size_t max = s7_bsend_slice_max(p->pdu, first);
    size_t left = p->s_len - p->s_off;
    s7_bsend b;
    memset(&b, 0, sizeof b);
    b.r_id = p->s_rid;
    b.first = first;
    b.total = (uint16_t)p->s_len;
    b.len = left < max ? left : max;
    b.more = left > b.len;
    b.seq = first ? 0 : p->s_seq;
    b.id_seq = p->s_id_seq;
    b.data = p->s_data + p->s_off;
    uint8_t *room = tx_room(p, FRAME_CAP);
    if (!room) return PLCIO_ENOMEM;
    s7_out out = s7_out_make(room, FRAME_CAP, p->pdu);
    int rc = s7_bsend_encode(&out, take_ref(p), &b);
    if (rc != PLCIO_OK) return rc;
    tx_commit(p, out.len);
    p->s_slice = b.len;
    p->s_frags++;
    p->await_ack = true;
    p->s_deadline = now_ns() + ms_ns(p->o.send_timeout_ms);
    return PLCIO_OK;
}

int plcio_s7_partner_bsend_async(plcio_s7_partner *p, uint32_t r_id, const void *data, size_t len,
                                 plcio_s7_partner_done_fn done, void *ctx)
{
    if (!p || (!data && len)) return PLCIO_EINVAL;
    plcio_error_clear(&p->last);
    if (len == 0 || len > S7_BSEND_MAX_BLOCK)
        return fail(p, PLCIO_ERANGE, "BSend R-ID %lu: %zu bytes is not 1..%u", (unsigned long)r_id, len,
                    S7_BSEND_MAX_BLOCK);
    if (p->ph != PH_LINKED)
        return fail(p, PLCIO_ENOTCONN, "BSend R-ID %lu: not linked with a partner", (unsigned long)r_id);
    if (p->sending) return fail(p, PLCIO_EBUSY, "BSend R-ID %lu: a send is under way", (unsigned long)r_id);
    p->s_data = malloc(len);
    if (!p->s_data) return PLCIO_ENOMEM;
    memcpy(p->s_data, data, len);
    p->sending = true;
    p->s_rid = r_id;
    p->s_len = len;
    p->s_off = 0;
    p->s_frags = 0;
    p->s_start = now_ns();
    p->s_done = done;
    p->s_ctx = ctx;
    p->s_id_seq = 0;
    if (len > s7_bsend_slice_max(p->pdu, true)) {
        p->s_id_seq = p->next_id_seq++;
        if (p->next_id_seq == 0) p->next_id_seq = 1;
    }
    int rc = send_fragment(p);
    if (rc != PLCIO_OK) {
        p->s_done = NULL;
        complete_send(p, rc);
        return rc;
    }
    rc = flush(p);
    if (rc != PLCIO_OK) {
        p->s_done = NULL;
        (void)plcio_error_set(&p->last, rc, "BSend R-ID %lu: %s", (unsigned long)r_id, plcio_strerror(rc));
        link_down(p, rc);
        return rc;
    }
    return PLCIO_OK;
}

bool plcio_s7_partner_send_busy(const plcio_s7_partner *p) { return p && p->sending; }

/* ---- the loop ---------------------------------------------------------------------- */

static void try_accept(plcio_s7_partner *p, uint64_t now)
{
    int fd;
    char peer[64];
    if (net_accept(p->listen_fd, &fd, peer, sizeof peer) != PLCIO_OK) return;
    net_pump_adopt(&p->pump, fd);
    snprintf(p->peer, sizeof p->peer, "%s", peer);
    p->ph = PH_COTP;
    p->phase_deadline = now + ms_ns(p->o.connect_timeout_ms);
    log_msg(&p->o.logger, PLCIO_LOG_INFO, MODULE, "connection from %s", peer);
}

static int check_time(plcio_s7_partner *p, uint64_t now)
{
    if ((p->ph == PH_CONNECTING || p->ph == PH_COTP || p->ph == PH_SETUP) && now >= p->phase_deadline) {
        (void)plcio_error_set(&p->last, PLCIO_ETIMEDOUT, "partner %s: no link within %d ms", p->peer,
                              p->o.connect_timeout_ms);
        link_down(p, PLCIO_ETIMEDOUT);
        return PLCIO_ETIMEDOUT;
    }
    if (p->ph == PH_LINKED && p->await_ack && now >= p->s_deadline) {
        (void)plcio_error_set(&p->last, PLCIO_ETIMEDOUT, "BSend R-ID %lu: no ack of fragment %lu within %d ms",
                              (unsigned long)p->s_rid, (unsigned long)p->s_frags, p->o.send_timeout_ms);
        link_down(p, PLCIO_ETIMEDOUT);
        return PLCIO_ETIMEDOUT;
    }
    if (p->ph == PH_LINKED && p->receiving && now >= p->r_deadline) {
        (void)plcio_error_set(&p->last, PLCIO_ETIMEDOUT, "BRecv R-ID %lu: next fragment not within %d ms",
                              (unsigned long)p->r_rid, p->o.recv_timeout_ms);
        link_down(p, PLCIO_ETIMEDOUT);
        return PLCIO_ETIMEDOUT;
    }
    return PLCIO_OK;
}

int plcio_s7_partner_process(plcio_s7_partner *p)
{
    if (!p) return PLCIO_EINVAL;
    uint64_t now = now_ns();
    if (p->ph == PH_STOPPED) return PLCIO_OK;
    if (p->ph == PH_RECOVER && now >= p->phase_deadline) (void)start_connect(p, now);
    if (p->ph == PH_LISTEN) try_accept(p, now);
    if (p->ph == PH_CONNECTING) {
        int rc = net_pump_connect_poll(&p->pump, now);
        if (rc == PLCIO_OK && send_cr(p) != PLCIO_OK) {
            (void)plcio_error_set(&p->last, PLCIO_ENOMEM, "partner %s: out of memory", p->peer);
            link_down(p, PLCIO_ENOMEM);
            return PLCIO_ENOMEM;
        }
        if (rc != PLCIO_OK && rc != PLCIO_EAGAIN) {
            (void)plcio_error_set(&p->last, rc, "partner %s: connect: %s", p->peer, plcio_strerror(rc));
            link_down(p, rc);
            return rc;
        }
    }
    if (p->pump.fd >= 0 && !p->pump.connecting) {
        int rc = flush(p);
        bool room = p->o.on_recv || p->q_count < p->o.queue_blocks;
        if (rc == PLCIO_OK && room) {
            uint8_t chunk[8192];
            rc = net_pump_recv(&p->pump, chunk, sizeof chunk, feed, p);
        }
        if (rc == PLCIO_OK && p->pump.fd >= 0) rc = flush(p);
        if (rc != PLCIO_OK) {
            if (p->pump.fd >= 0) {
                if (rc == PLCIO_ECLOSED)
                    (void)plcio_error_set(&p->last, rc, "partner %s closed the connection", p->peer);
                else
                    (void)plcio_error_set(&p->last, rc, "partner %s: %s", p->peer, plcio_strerror(rc));
                link_down(p, rc);
            }
            return rc;
        }
    }
    return check_time(p, now);
}

int plcio_s7_partner_fd(const plcio_s7_partner *p)
{
    if (!p) return -1;
    if (p->pump.fd >= 0) return p->pump.fd;
    return p->ph == PH_LISTEN ? p->listen_fd : -1;
}

unsigned plcio_s7_partner_wants(const plcio_s7_partner *p, uint64_t *deadline)
{
    uint64_t d = 0;
    unsigned ev = 0;
    if (p && p->ph != PH_STOPPED) {
        if (p->pump.fd >= 0) {
            ev = p->pump.connecting ? PLCIO_IO_WRITE : PLCIO_IO_READ;
            if (p->tx_len) ev |= PLCIO_IO_WRITE;
            if (!p->o.on_recv && p->q_count >= p->o.queue_blocks && !p->await_ack && !p->tx_len) ev = 0;
        } else if (p->ph == PH_LISTEN) {
            ev = PLCIO_IO_READ;
        }
        if (p->ph == PH_CONNECTING || p->ph == PH_COTP || p->ph == PH_SETUP || p->ph == PH_RECOVER)
            d = p->phase_deadline;
        if (p->ph == PH_LINKED && p->await_ack) d = p->s_deadline;
        if (p->ph == PH_LINKED && p->receiving && (!d || p->r_deadline < d)) d = p->r_deadline;
    }
    if (deadline) *deadline = d;
    return ev;
}

/* Wait for the fd's events or the deadline, whichever is first (until). */
static void wait_some(plcio_s7_partner *p, uint64_t until)
{
    uint64_t d;
    unsigned ev = plcio_s7_partner_wants(p, &d);
    if (d && d < until) until = d;
    int fd = plcio_s7_partner_fd(p);
    if (fd < 0 || !ev) {
        /* nothing to watch (recovery pause): wait on nothing but time */
        uint64_t now = now_ns();
        if (until > now) (void)net_wait(-1, false, until);
        return;
    }
    (void)net_wait(fd, (ev & PLCIO_IO_WRITE) != 0, until);
}

int plcio_s7_partner_start(plcio_s7_partner *p)
{
    if (!p) return PLCIO_EINVAL;
    if (p->ph != PH_STOPPED) return PLCIO_OK;
    plcio_error_clear(&p->last);
    if (p->mode == PLCIO_S7_PARTNER_PASSIVE) {
        int rc = net_tcp_listen(p->host, p->port, 1, &p->listen_fd, &p->bound_port);
        if (rc != PLCIO_OK) return fail(p, rc, "partner: listen on %s:%d: %s", p->host, p->port, plcio_strerror(rc));
        p->ph = PH_LISTEN;
        log_msg(&p->o.logger, PLCIO_LOG_INFO, MODULE, "listening on %s:%d", p->host, p->bound_port);
        return PLCIO_OK;
    }
    p->ph = PH_RECOVER; /* a failed first connect is retried after recovery_ms */
    (void)start_connect(p, now_ns());
    return PLCIO_OK;
}

void plcio_s7_partner_stop(plcio_s7_partner *p)
{
    if (!p || p->ph == PH_STOPPED) return;
    p->ph = PH_STOPPED;
    if (p->sending)
        (void)plcio_error_set(&p->last, PLCIO_ECANCELED, "BSend R-ID %lu: partner stopped", (unsigned long)p->s_rid);
    link_down(p, PLCIO_ECANCELED);
    net_close(p->listen_fd);
    p->listen_fd = -1;
}

void plcio_s7_partner_free(plcio_s7_partner *p)
{
    if (!p) return;
    plcio_s7_partner_stop(p);
    while (p->q_count) {
        free(p->queue[p->q_head].data);
        p->q_head = (p->q_head + 1) % p->o.queue_blocks;
        p->q_count--;
    }
    free(p->queue);
    free(p->rx);
    free(p->r_buf);
    free(p->tx);
    free(p);
}

int plcio_s7_partner_wait_linked(plcio_s7_partner *p, int timeout_ms)
{
    if (!p) return PLCIO_EINVAL;
    if (p->ph == PH_STOPPED) return PLCIO_ESTATE;
    uint64_t until = now_ns() + ms_ns(timeout_ms);
    for (;;) {
        (void)plcio_s7_partner_process(p);
        if (p->ph == PH_LINKED) return PLCIO_OK;
        if (now_ns() >= until) break;
        wait_some(p, until);
    }
    int rc = p->last_link_error != PLCIO_OK ? p->last_link_error : PLCIO_ETIMEDOUT;
    if (rc == PLCIO_ETIMEDOUT || p->last.code == PLCIO_OK)
        (void)plcio_error_set(&p->last, rc, "partner %s:%d: not linked within %d ms%s%s", p->host,
                              p->mode == PLCIO_S7_PARTNER_PASSIVE ? p->bound_port : p->port, timeout_ms,
                              p->last_link_error != PLCIO_OK ? ": " : "",
                              p->last_link_error != PLCIO_OK ? plcio_strerror(p->last_link_error) : "");
    return rc;
}

typedef struct send_wait {
    bool done;
    int result;
} send_wait;

static void on_send_done(void *ctx, plcio_s7_partner *p, int result)
{
    (void)p;
    send_wait *w = ctx;
    w->done = true;
    w->result = result;
}

int plcio_s7_partner_bsend(plcio_s7_partner *p, uint32_t r_id, const void *data, size_t len)
{
    send_wait w = {false, PLCIO_OK};
    int rc = plcio_s7_partner_bsend_async(p, r_id, data, len, on_send_done, &w);
    if (rc != PLCIO_OK) return rc;
    while (!w.done) { /* the first fragment is out: wait for its ack first */
        wait_some(p, now_ns() + ms_ns(p->o.send_timeout_ms));
        (void)plcio_s7_partner_process(p);
    }
    if (w.result == PLCIO_OK) plcio_error_clear(&p->last);
    return w.result;
}

int plcio_s7_partner_brecv(plcio_s7_partner *p, uint32_t *r_id, void *buf, size_t cap, size_t *len, int timeout_ms)
{
    if (!p || (!buf && cap)) return PLCIO_EINVAL;
    if (p->o.on_recv) return fail(p, PLCIO_ESTATE, "BRecv: blocks go to on_recv");
    uint64_t until = now_ns() + ms_ns(timeout_ms);
    while (p->q_count == 0) {
        if (p->ph == PH_STOPPED) return fail(p, PLCIO_ESTATE, "BRecv: partner stopped");
        (void)plcio_s7_partner_process(p);
        if (p->q_count) break;
        if (now_ns() >= until) return fail(p, PLCIO_ETIMEDOUT, "BRecv: no block within %d ms", timeout_ms);
        wait_some(p, until);
    }
    block *b = &p->queue[p->q_head];
    if (len) *len = b->len;
    if (b->len > cap) return fail(p, PLCIO_ENOSPC, "BRecv: block of %zu bytes does not fit in %zu", b->len, cap);
    if (r_id) *r_id = b->r_id;
    if (b->len) memcpy(buf, b->data, b->len);
    free(b->data);
    b->data = NULL;
    p->q_head = (p->q_head + 1) % p->o.queue_blocks;
    p->q_count--;
    plcio_error_clear(&p->last);
    return PLCIO_OK;
}

plcio_s7_partner_status plcio_s7_partner_get_status(const plcio_s7_partner *p)
{
    if (!p || p->ph == PH_STOPPED) return PLCIO_S7_PARTNER_STOPPED;
    return p->ph == PH_LINKED ? PLCIO_S7_PARTNER_LINKED : PLCIO_S7_PARTNER_RUNNING;
}

int plcio_s7_partner_port(const plcio_s7_partner *p) { return p ? p->bound_port : 0; }

unsigned plcio_s7_partner_pdu_size(const plcio_s7_partner *p) { return p && p->ph == PH_LINKED ? p->pdu : 0; }

const char *plcio_s7_partner_peer(const plcio_s7_partner *p) { return p && p->ph == PH_LINKED ? p->peer : ""; }

void plcio_s7_partner_get_stats(const plcio_s7_partner *p, plcio_s7_partner_stats *out)
{
    if (!out) return;
    if (!p) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = p->st;
}

const plcio_error *plcio_s7_partner_last_error(const plcio_s7_partner *p) { return p ? &p->last : NULL; }

/* ---- test hook (s7_partner_test.h) ----------------------------------------------- */

int s7_partner_test_feed(plcio_s7_partner *p, int which, const uint8_t *data, size_t len)
{
    static const phase phases[] = {PH_COTP, PH_SETUP, PH_LINKED};
    p->ph = phases[(unsigned)which % 3u];
    p->pdu = 480;
    snprintf(p->peer, sizeof p->peer, "fuzz");
    if (p->ph == PH_LINKED && !p->sending) {
        static uint8_t zeros[1000];
        p->s_data = malloc(sizeof zeros);
        if (!p->s_data) return PLCIO_ENOMEM;
        memcpy(p->s_data, zeros, sizeof zeros);
        p->sending = true;
        p->s_len = sizeof zeros;
        p->s_rid = 1;
        (void)send_fragment(p);
    }
    int rc = feed(p, data, len);
    p->tx_len = 0;
    return rc;
}
