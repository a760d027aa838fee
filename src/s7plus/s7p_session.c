/* S7CommPlus client session: see s7p_session.h. */
#include "s7plus/s7p_session.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/log.h"

#define COTP_TPDU_SIZE  1024 /* asked for in the CR (parameter C0 = 0x0A) */
#define COTP_DT_HEADER  3
#define TPKT_HEADER     4
#define S7P_LOCAL_TSAP  0x0600
#define S7P_REMOTE_TSAP "SIMATIC-ROOT-HMI"
#define FLAGS_INIT_SSL  0x30
#define FLAGS_DEFAULT   0x36
#define FLAGS_READ      0x34

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
} buf;

struct s7p_session {
    s7p_state state;
    s7p_session_config cfg;
    char client_name[64];
    plcio_error err;
    uint64_t deadline;

    buf tx; /* bytes for the socket */
    size_t tx_off;
    buf rx;      /* TCP stream: TPKT frames */
    buf app;     /* S7CommPlus stream (plain text under TLS) */
    buf pdu;     /* one reassembled PDU */
    buf scratch; /* building outgoing frames */

    SSL *ssl;
    bool tls_up;

    uint16_t seq;
    uint32_t session_id;
    uint8_t data_version; /* frame version of data PDUs after CreateObject */
    bool integrity;
    uint32_t iid_read, iid_write;
    uint16_t pending_fn; /* the handshake step's request */
    /* requests sent and not answered yet (READY: none; BUSY: 1..S7P_SESSION_WINDOW),
     * oldest first, each with the sequence number its answer must carry */
    struct {
        uint16_t seq, fn;
        uint64_t deadline;
    } pend[S7P_SESSION_WINDOW];
    unsigned npend;
    bool have_answer;
    size_t ans_off, ans_len;     /* the answer inside pdu (after a V3 digest) */
    uint16_t oneway_fn;          /* function of requests sent without an answer wanted */
    uint8_t server_version[256]; /* ServerSessionVersion PValue, echoed */
    size_t server_version_len;
};

static int fail(s7p_session *s, int code, const char *fmt, ...) PLCIO_PRINTF(3, 4);
static int fail(s7p_session *s, int code, const char *fmt, ...)
{
    s->state = S7PS_FAILED;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err.text, sizeof s->err.text, fmt, ap);
    va_end(ap);
    s->err.code = code;
    log_msg(&s->cfg.logger, PLCIO_LOG_WARN, "s7plus", "%s", s->err.text);
    return code;
}

static int buf_reserve(buf *b, size_t more)
{
    if (b->len + more <= b->cap) return PLCIO_OK;
    size_t want = b->cap ? b->cap : 4096;
    while (want < b->len + more)
        want *= 2;
    if (want > S7P_SESSION_MAX_PDU + 65536) return PLCIO_ELIMIT;
    uint8_t *p = realloc(b->p, want);
    if (!p) return PLCIO_ENOMEM;
    b->p = p;
    b->cap = want;
    return PLCIO_OK;
}

static int buf_add(buf *b, const uint8_t *data, size_t n)
{
    int rc = buf_reserve(b, n);
    if (rc) return rc;
    if (n) memcpy(b->p + b->len, data, n);
    b->len += n;
    return PLCIO_OK;
}

static void buf_drop(buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
}

int s7p_session_new(const s7p_session_config *cfg, s7p_session **out, plcio_error *err)
{
    *out = NULL;
    s7p_session *s = calloc(1, sizeof *s);
    if (!s) return plcio_error_set(err, PLCIO_ENOMEM, "s7plus: out of memory");
    s->cfg = *cfg;
    snprintf(s->client_name, sizeof s->client_name, "%s", cfg->client_name ? cfg->client_name : "plcio");
    s->cfg.client_name = s->client_name;
    if (s->cfg.timeout_ms <= 0) s->cfg.timeout_ms = 5000;
    if (cfg->ssl_ctx) {
        s->ssl = SSL_new((SSL_CTX *)cfg->ssl_ctx);
        BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
        if (!s->ssl || !rb || !wb) {
            BIO_free(rb);
            BIO_free(wb);
            s7p_session_free(s);
            return plcio_error_set(err, PLCIO_ENOMEM, "s7plus: cannot create the TLS state");
        }
        SSL_set_bio(s->ssl, rb, wb);
        SSL_set_connect_state(s->ssl);
    }
    *out = s;
    return PLCIO_OK;
}

void s7p_session_free(s7p_session *s)
{
    if (!s) return;
    SSL_free(s->ssl);
    free(s->tx.p);
    free(s->rx.p);
    free(s->app.p);
    free(s->pdu.p);
    free(s->scratch.p);
    free(s);
}

s7p_state s7p_session_state(const s7p_session *s) { return s->state; }
const plcio_error *s7p_session_error(const s7p_session *s) { return &s->err; }
uint32_t s7p_session_id(const s7p_session *s) { return s->session_id; }
bool s7p_session_tls(const s7p_session *s) { return s->tls_up; }
void *s7p_session_ssl(const s7p_session *s) { return s->tls_up ? s->ssl : NULL; }
const char *s7p_session_tls_version(const s7p_session *s) { return s->tls_up ? SSL_get_version(s->ssl) : ""; }
uint64_t s7p_session_deadline(const s7p_session *s)
{
    return (s->state == S7PS_READY || s->state == S7PS_CLOSED || s->state == S7PS_FAILED) ? 0 : s->deadline;
}

const uint8_t *s7p_session_tx(const s7p_session *s, size_t *len)
{
    *len = s->tx.len - s->tx_off;
    return s->tx.p + s->tx_off;
}

void s7p_session_tx_done(s7p_session *s, size_t n)
{
    s->tx_off += n;
    if (s->tx_off >= s->tx.len) {
        s->tx.len = 0;
        s->tx_off = 0;
    }
}

int s7p_session_on_time(s7p_session *s, uint64_t now)
{
    uint64_t d = s7p_session_deadline(s);
    if (d && now >= d) return fail(s, PLCIO_ETIMEDOUT, "s7plus: no answer from the PLC in time");
    return s->state == S7PS_FAILED ? s->err.code : PLCIO_OK;
}

static void arm(s7p_session *s, uint64_t now) { s->deadline = now + (uint64_t)s->cfg.timeout_ms * PLCIO_NS_PER_MS; }

/* ---- COTP ------------------------------------------------------------------ */

static int cotp_send_dt(s7p_session *s, const uint8_t *data, size_t len)
{
    const size_t max = COTP_TPDU_SIZE - COTP_DT_HEADER;
    do {
        uint8_t eot = len <= max ? 0x80 : 0x00;
        size_t n = eot ? len : max;
        uint8_t h[7] = {3, 0, 0, 0, 2, 0xF0, eot};
        plcio_put_u16be(h + 2, (uint16_t)(n + 7));
        int rc = buf_add(&s->tx, h, 7);
        if (!rc) rc = buf_add(&s->tx, data, n);
        if (rc) return rc;
        data += n;
        len -= n;
    } while (len > 0);
    return PLCIO_OK;
}

static int cotp_send_cr(s7p_session *s)
{
    uint8_t f[64];
    size_t n = 0;
    f[n++] = 3;
    f[n++] = 0;
    n += 2; /* TPKT length */
    size_t li = n++;
    f[n++] = 0xE0; /* CR */
    f[n++] = 0;
    f[n++] = 0; /* destination reference */
    f[n++] = 0;
    f[n++] = 1; /* source reference */
    f[n++] = 0; /* class 0 */
    f[n++] = 0xC1;
    f[n++] = 2;
    f[n++] = S7P_LOCAL_TSAP >> 8;
    f[n++] = S7P_LOCAL_TSAP & 0xFF;
    f[n++] = 0xC2;
    f[n++] = 16;
    memcpy(f + n, S7P_REMOTE_TSAP, 16);
    n += 16;
    f[n++] = 0xC0;
    f[n++] = 1;
    f[n++] = 0x0A; /* 1024 */
    f[li] = (uint8_t)(n - li - 1);
    plcio_put_u16be(f + 2, (uint16_t)n);
    return buf_add(&s->tx, f, n);
}

/* ---- S7CommPlus frames out ------------------------------------------------- */

/* Send one PDU (header + body) framed with `version`, through TLS when up. */
static int send_pdu(s7p_session *s, uint8_t version, const uint8_t *pdu, size_t len)
{
    int rc = buf_reserve(&s->scratch, len + 16);
    if (rc) return rc;
    s->scratch.len = 0;
    size_t off = 0;
    /* fragments of at most 0xFFFF bytes, the trailer after the last */
    do {
        size_t n = len - off > 0xFFF0 ? 0xFFF0 : len - off;
        uint8_t h[4] = {S7P_PROTOCOL_ID, version, (uint8_t)(n >> 8), (uint8_t)n};
        if ((rc = buf_add(&s->scratch, h, 4)) || (rc = buf_add(&s->scratch, pdu + off, n))) return rc;
        off += n;
    } while (off < len);
    uint8_t t[4] = {S7P_PROTOCOL_ID, version, 0, 0};
    if ((rc = buf_add(&s->scratch, t, 4))) return rc;
    if (!s->tls_up) return cotp_send_dt(s, s->scratch.p, s->scratch.len);
    if (SSL_write(s->ssl, s->scratch.p, (int)s->scratch.len) <= 0)
        return fail(s, PLCIO_EIO, "s7plus: TLS write failed");
    return PLCIO_OK;
}

/* Move what TLS wants to send into COTP DT frames. */
static int flush_tls(s7p_session *s)
{
    if (!s->ssl) return PLCIO_OK;
    BIO *wb = SSL_get_wbio(s->ssl);
    uint8_t chunk[4096];
    int n;
    while ((n = BIO_read(wb, chunk, sizeof chunk)) > 0) {
        int rc = cotp_send_dt(s, chunk, (size_t)n);
        if (rc) return rc;
    }
    return PLCIO_OK;
}

static int build_request(s7p_session *s, uint8_t *out, size_t cap, uint16_t fn, uint32_t session, uint8_t flags,
                         const uint8_t *body, size_t blen, bool iid, uint32_t iid_value, size_t *len)
{
    plcio_wcursor w = plcio_wcursor_make(out, cap);
    s7p_header h;
    memset(&h, 0, sizeof h);
    h.opcode = S7P_OP_REQUEST;
    h.function = fn;
    h.seq = ++s->seq;
    h.session = session;
    h.flags = flags;
    s7p_header_encode(&w, &h);
    plcio_wcursor_write(&w, body, blen);
    s7p_tail t = {iid, iid_value, 0, false};
    s7p_tail_encode(&w, &t);
    if (w.overrun) return PLCIO_ENOSPC;
    *len = plcio_wcursor_used(&w);
    return PLCIO_OK;
}

/* ---- steps ------------------------------------------------------------------- */

static int send_init_ssl(s7p_session *s)
{
    uint8_t pdu[32];
    size_t n;
    int rc = build_request(s, pdu, sizeof pdu, S7P_FN_INIT_SSL, 0, FLAGS_INIT_SSL, NULL, 0, false, 0, &n);
    if (!rc) rc = send_pdu(s, S7P_V1, pdu, n);
    s->state = S7PS_INIT_SSL;
    s->pending_fn = S7P_FN_INIT_SSL;
    return rc;
}

static void put_attr_wstring(plcio_wcursor *w, uint32_t id, const char *text)
{
    s7p_elem e;
    memset(&e, 0, sizeof e);
    e.tag = S7P_E_ATTRIBUTE;
    e.attribute_id = id;
    e.value = s7p_value_wstring(text);
    s7p_elem_encode(w, &e);
}

static int send_create_object(s7p_session *s)
{
    uint8_t obj[512];
    plcio_wcursor w = plcio_wcursor_make(obj, sizeof obj);
    s7p_elem e;
    memset(&e, 0, sizeof e);
    e.tag = S7P_E_START_OBJECT;
    e.relation_id = S7P_ID_GET_NEW_RID_ON_SERVER;
    e.class_id = S7P_ID_CLASS_SERVER_SESSION;
    s7p_elem_encode(&w, &e);
    put_attr_wstring(&w, S7P_ID_OBJECT_VARIABLE_TYPE_NAME, s->client_name);
    memset(&e, 0, sizeof e);
    e.tag = S7P_E_ATTRIBUTE;
    e.attribute_id = S7P_ID_SERVER_SESSION_CLIENT_RID;
    e.value.type = S7P_T_RID;
    e.value.u = 0x80C3C901u; /* the client RID engineering tools send */
    s7p_elem_encode(&w, &e);
    memset(&e, 0, sizeof e);
    e.tag = S7P_E_START_OBJECT;
    e.relation_id = S7P_ID_GET_NEW_RID_ON_SERVER;
    e.class_id = S7P_ID_CLASS_SUBSCRIPTIONS;
    s7p_elem_encode(&w, &e);
    put_attr_wstring(&w, S7P_ID_OBJECT_VARIABLE_TYPE_NAME, "SubscriptionContainer");
    e.tag = S7P_E_END_OBJECT;
    s7p_elem_encode(&w, &e);
    s7p_elem_encode(&w, &e);
    if (w.overrun) return fail(s, PLCIO_EINTERNAL, "s7plus: CreateObject request too large");

    uint8_t body[640];
    s7p_create_req r;
    memset(&r, 0, sizeof r);
    r.request_id = S7P_ID_SERVER_SESSION_CONTAINER;
    r.value = s7p_value_udint(0);
    r.object = obj;
    r.object_len = plcio_wcursor_used(&w);
    plcio_wcursor b = plcio_wcursor_make(body, sizeof body);
    int rc = s7p_create_req_encode(&b, &r);
    if (rc) return fail(s, rc, "s7plus: cannot encode CreateObject");
    uint8_t pdu[700];
    size_t n;
    /* the encoder wrote the 4 fill bytes: build without another tail */
    rc = build_request(s, pdu, sizeof pdu, S7P_FN_CREATE_OBJECT, S7P_ID_OBJECT_NULL_SERVER_SESSION, FLAGS_DEFAULT, body,
                       plcio_wcursor_used(&b) - 4, false, 0, &n);
    if (!rc) rc = send_pdu(s, S7P_V1, pdu, n);
    s->state = S7PS_CREATE;
    s->pending_fn = S7P_FN_CREATE_OBJECT;
    return rc;
}

static int send_setup(s7p_session *s)
{
    uint8_t body[512];
    plcio_wcursor w = plcio_wcursor_make(body, sizeof body);
    plcio_wcursor_u32be(&w, s->session_id); /* the session object */
    s7p_put_vlq32(&w, 1);                   /* items */
    s7p_put_vlq32(&w, 1);                   /* fields */
    s7p_put_vlq32(&w, S7P_ID_SERVER_SESSION_VERSION);
    s7p_put_vlq32(&w, 1); /* item 1 = */
    plcio_wcursor_write(&w, s->server_version, s->server_version_len);
    plcio_wcursor_u8(&w, 0); /* end of values */
    /* object qualifier: parent RID 0, composition AID 0, key qualifier 0 */
    plcio_wcursor_u32be(&w, S7P_ID_OBJECT_QUALIFIER);
    s7p_put_vlq32(&w, S7P_ID_PARENT_RID);
    plcio_wcursor_write(&w, "\x00\x12\x00\x00\x00\x00", 6);
    s7p_put_vlq32(&w, S7P_ID_COMPOSITION_AID);
    plcio_wcursor_write(&w, "\x00\x13\x00", 3);
    s7p_put_vlq32(&w, S7P_ID_KEY_QUALIFIER);
    plcio_wcursor_write(&w, "\x00\x04\x00", 3);
    plcio_wcursor_u8(&w, 0);
    if (w.overrun) return fail(s, PLCIO_EINTERNAL, "s7plus: session setup too large");
    uint8_t pdu[600];
    size_t n;
    int rc = build_request(s, pdu, sizeof pdu, S7P_FN_SET_MULTI_VARS, s->session_id, FLAGS_READ, body,
                           plcio_wcursor_used(&w), false, 0, &n);
    if (!rc) rc = send_pdu(s, s->data_version, pdu, n);
    s->state = S7PS_SETUP;
    s->pending_fn = S7P_FN_SET_MULTI_VARS;
    return rc;
}

int s7p_session_start(s7p_session *s, uint64_t now)
{
    if (s->state != S7PS_IDLE) return PLCIO_ESTATE;
    s->state = S7PS_COTP;
    arm(s, now);
    return cotp_send_cr(s);
}

/* ---- answers ------------------------------------------------------------------ */

/* Find the ServerSessionVersion attribute in a CreateObject answer's tree. */
static void find_server_version(s7p_session *s, const uint8_t *obj, size_t len)
{
    plcio_rcursor c = plcio_rcursor_make(obj, len);
    while (plcio_rcursor_left(&c) > 0) {
        const uint8_t *at = c.pos;
        s7p_elem e;
        if (s7p_elem_decode(&c, &e) != PLCIO_OK) return;
        if (e.tag == S7P_E_ATTRIBUTE && e.attribute_id == S7P_ID_SERVER_SESSION_VERSION) {
            /* the PValue starts after tag and the attribute id */
            plcio_rcursor v = plcio_rcursor_make(at + 1, (size_t)(c.pos - at - 1));
            uint32_t id;
            s7p_get_vlq32(&v, &id);
            size_t n = plcio_rcursor_left(&v);
            if (n <= sizeof s->server_version) {
                memcpy(s->server_version, v.pos, n);
                s->server_version_len = n;
            }
            return;
        }
    }
}

static int check_answer(s7p_session *s, const s7p_pdu *p, uint16_t fn)
{
    if (p->h.opcode != S7P_OP_RESPONSE && p->h.opcode != S7P_OP_RESPONSE2)
        return fail(s, PLCIO_EPROTO, "s7plus: expected an answer, got opcode %s", "0x33 or other");
    if (p->h.function != fn) {
        char what[64];
        snprintf(what, sizeof what, "%s for %s", s7p_function_name(p->h.function), s7p_function_name(fn));
        return fail(s, PLCIO_EPROTO, "s7plus: answer %s", what);
    }
    return PLCIO_OK;
}

static bool pending_seq(const s7p_session *s, uint16_t seq)
{
    for (unsigned k = 0; k < s->npend; k++)
        if (s->pend[k].seq == seq) return true;
    return false;
}

static int on_pdu(s7p_session *s, uint8_t version, const uint8_t *data, size_t len, uint64_t now)
{
    s7p_pdu p;
    int rc = s7p_pdu_decode(data, len, &p);
    if (rc) return fail(s, rc, "s7plus: malformed PDU from the PLC");
    if (p.h.opcode == S7P_OP_NOTIFICATION) {
        if (s->state != S7PS_READY && s->state != S7PS_BUSY && s->state != S7PS_CLOSING) return PLCIO_OK;
        if (!s->cfg.on_notification) return PLCIO_OK;
        rc = s->cfg.on_notification(s->cfg.notify_ctx, p.body, p.body_len);
        return rc < 0 ? fail(s, rc, "s7plus: malformed notification from the PLC (%s)", plcio_strerror(rc)) : PLCIO_OK;
    }
    /* the answer to a request that wanted none (s7p_session_send_oneway) */
    if (p.h.function == s->oneway_fn && s->oneway_fn &&
        (p.h.opcode == S7P_OP_RESPONSE || p.h.opcode == S7P_OP_RESPONSE2) &&
        (s->state != S7PS_BUSY || !pending_seq(s, p.h.seq)))
        return PLCIO_OK;
    switch (s->state) {
    case S7PS_INIT_SSL:
        if ((rc = check_answer(s, &p, S7P_FN_INIT_SSL))) return rc;
        if (!s->ssl) return send_create_object(s);
        s->state = S7PS_TLS;
        arm(s, now);
        SSL_do_handshake(s->ssl);
        return flush_tls(s);
    case S7PS_CREATE: {
        if ((rc = check_answer(s, &p, S7P_FN_CREATE_OBJECT))) return rc;
        plcio_rcursor c = plcio_rcursor_make(p.body, p.body_len);
        s7p_create_res r;
        rc = s7p_create_res_decode(&c, &r);
        if (rc) return fail(s, rc, "s7plus: malformed CreateObject answer");
        if (r.nids == 0) return fail(s, PLCIO_EPROTO, "s7plus: CreateObject answer without a session id");
        if (r.ret != 0 && !s->tls_up)
            return fail(s, PLCIO_EPLC, "s7plus: the PLC refused the session%s (it may require TLS)", "");
        s->session_id = r.ids[0];
        s->data_version = s->tls_up ? S7P_V2 : version;
        find_server_version(s, r.object, r.object_len);
        log_msg(&s->cfg.logger, PLCIO_LOG_DEBUG, "s7plus", "session 0x%08x, frame version %u%s", s->session_id, version,
                s->tls_up ? ", TLS" : "");
        if (s->server_version_len == 0)
            return fail(s, PLCIO_EUNSUPPORTED, "s7plus: the PLC sent no ServerSessionVersion");
        arm(s, now);
        return send_setup(s);
    }
    case S7PS_SETUP: {
        if ((rc = check_answer(s, &p, S7P_FN_SET_MULTI_VARS))) return rc;
        plcio_rcursor c = plcio_rcursor_make(p.body, p.body_len);
        uint64_t ret = 0;
        if (s7p_get_vlq64(&c, &ret) || ret != 0)
            return fail(s, PLCIO_EPLC, "s7plus: the PLC refused the session setup");
        s->integrity = s->tls_up;
        s->state = S7PS_READY;
        return PLCIO_OK;
    }
    case S7PS_BUSY: {
        unsigned k = 0;
        while (k < s->npend && s->pend[k].seq != p.h.seq)
            k++;
        if (k == s->npend) {
            char what[64];
            snprintf(what, sizeof what, "%s with sequence number %u", s7p_function_name(p.h.function), p.h.seq);
            return fail(s, PLCIO_EPROTO, "s7plus: answer %s to no request under way", what);
        }
        if ((rc = check_answer(s, &p, s->pend[k].fn))) return rc;
        memmove(&s->pend[k], &s->pend[k + 1], (s->npend - k - 1) * sizeof s->pend[0]);
        s->npend--;
        s->ans_off = (size_t)(data - s->pdu.p);
        s->ans_len = len;
        s->have_answer = true;
        if (s->npend == 0)
            s->state = S7PS_READY;
        else
            s->deadline = s->pend[0].deadline; /* the oldest request still waiting */
        return PLCIO_OK;
    }
    case S7PS_CLOSING: s->state = S7PS_CLOSED; return PLCIO_OK;
    default: return fail(s, PLCIO_EPROTO, "s7plus: unexpected PDU from the PLC");
    }
}

/* Take complete S7CommPlus PDUs (fragments reassembled) off the app stream. */
static int drain_app(s7p_session *s, uint64_t now)
{
    for (;;) {
        if (s->have_answer) return PLCIO_OK; /* the answer in pdu is not taken yet */
        size_t off = 0;
        s->pdu.len = 0;
        bool done = false;
        uint8_t version = 0;
        while (!done) {
            s7p_frame f;
            size_t need = 0;
            int rc = s7p_frame_decode(s->app.p + off, s->app.len - off, &f, &need);
            if (rc == PLCIO_EAGAIN) return PLCIO_OK; /* wait; nothing consumed */
            if (rc) return fail(s, rc, "s7plus: malformed frame from the PLC");
            if (s->pdu.len + f.len > S7P_SESSION_MAX_PDU)
                return fail(s, PLCIO_ELIMIT, "s7plus: answer longer than the session's limit");
            if (off > 0 && f.version != version) return fail(s, PLCIO_EPROTO, "s7plus: fragment versions differ");
            version = f.version;
            if ((rc = buf_add(&s->pdu, f.data, f.len))) return fail(s, rc, "s7plus: %s", plcio_strerror(rc));
            off += f.used;
            done = f.last;
        }
        const uint8_t *data = s->pdu.p;
        size_t len = s->pdu.len;
        if (version == S7P_V3) {
            const uint8_t *d;
            size_t dl;
            if (s7p_digest_split(s->pdu.p, s->pdu.len, &d, &dl, &data, &len))
                return fail(s, PLCIO_EPROTO, "s7plus: malformed digest");
        }
        int rc = on_pdu(s, version, data, len, now);
        buf_drop(&s->app, off);
        if (rc) return rc;
        /* an answer stays in pdu until taken; what follows waits for the next feed */
        if (s->app.len == 0 || s->have_answer) return PLCIO_OK;
    }
}

static int tls_progress(s7p_session *s, uint64_t now)
{
    if (s->state == S7PS_TLS) {
        int r = SSL_do_handshake(s->ssl);
        int rc = flush_tls(s);
        if (rc) return rc;
        if (r == 1) {
            s->tls_up = true;
            log_msg(&s->cfg.logger, PLCIO_LOG_INFO, "s7plus", "TLS up (%s, %s)", SSL_get_version(s->ssl),
                    SSL_get_cipher_name(s->ssl));
            arm(s, now);
            return send_create_object(s) ? s->err.code : flush_tls(s);
        }
        int e = SSL_get_error(s->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return PLCIO_OK;
        char detail[256];
        unsigned long le = ERR_get_error();
        long vr = SSL_get_verify_result(s->ssl);
        if (vr != X509_V_OK)
            snprintf(detail, sizeof detail, "certificate not trusted: %s", X509_verify_cert_error_string(vr));
        else
            snprintf(detail, sizeof detail, "%s", le ? ERR_reason_error_string(le) : "handshake failed");
        ERR_clear_error();
        return fail(s, PLCIO_EACCESS, "s7plus: TLS handshake with the PLC failed: %s", detail);
    }
    /* records -> plain text */
    uint8_t chunk[16384];
    for (;;) {
        int n = SSL_read(s->ssl, chunk, sizeof chunk);
        if (n > 0) {
            int rc = buf_add(&s->app, chunk, (size_t)n);
            if (rc) return fail(s, rc, "s7plus: %s", plcio_strerror(rc));
            continue;
        }
        int e = SSL_get_error(s->ssl, n);
        if (e == SSL_ERROR_WANT_READ) break;
        if (e == SSL_ERROR_ZERO_RETURN) return fail(s, PLCIO_ECLOSED, "s7plus: the PLC closed TLS");
        ERR_clear_error();
        return fail(s, PLCIO_EPROTO, "s7plus: TLS record error from the PLC");
    }
    (void)now;
    return PLCIO_OK;
}

static int on_cotp(s7p_session *s, const uint8_t *t, size_t len, uint64_t now)
{
    if (len < 2 || (size_t)t[0] + 1 > len) return fail(s, PLCIO_EPROTO, "s7plus: malformed COTP TPDU");
    uint8_t code = t[1] & 0xF0;
    if (s->state == S7PS_COTP) {
        if (code != 0xD0) return fail(s, PLCIO_ECONNREFUSED, "s7plus: the PLC refused the COTP connection");
        arm(s, now);
        return send_init_ssl(s);
    }
    if (code == 0x80) return fail(s, PLCIO_ECLOSED, "s7plus: the PLC disconnected (COTP DR)");
    if (code != 0xF0 || len < 3) return fail(s, PLCIO_EPROTO, "s7plus: unexpected COTP TPDU");
    const uint8_t *data = t + t[0] + 1;
    size_t n = len - t[0] - 1;
    if (s->ssl && (s->state == S7PS_TLS || s->tls_up)) {
        if (BIO_write(SSL_get_rbio(s->ssl), data, (int)n) != (int)n) return fail(s, PLCIO_ENOMEM, "s7plus: TLS buffer");
        int rc = tls_progress(s, now);
        if (rc) return rc;
    } else {
        int rc = buf_add(&s->app, data, n);
        if (rc) return fail(s, rc, "s7plus: %s", plcio_strerror(rc));
    }
    return drain_app(s, now);
}

int s7p_session_feed(s7p_session *s, const uint8_t *data, size_t len, uint64_t now)
{
    if (s->state == S7PS_FAILED) return s->err.code;
    int rc = buf_add(&s->rx, data, len);
    if (rc) return fail(s, rc, "s7plus: %s", plcio_strerror(rc));
    size_t off = 0;
    while (s->rx.len - off >= TPKT_HEADER) {
        const uint8_t *p = s->rx.p + off;
        if (p[0] != 3) return fail(s, PLCIO_EPROTO, "s7plus: not a TPKT frame from the PLC");
        size_t n = plcio_get_u16be(p + 2);
        if (n < TPKT_HEADER + 2) return fail(s, PLCIO_EPROTO, "s7plus: TPKT length too short");
        if (s->rx.len - off < n) break;
        rc = on_cotp(s, p + TPKT_HEADER, n - TPKT_HEADER, now);
        off += n;
        if (rc) break;
        if (s->tls_up && (rc = flush_tls(s))) break;
    }
    buf_drop(&s->rx, off);
    return s->state == S7PS_FAILED ? s->err.code : rc;
}

/* ---- requests ------------------------------------------------------------------- */

int s7p_session_request(s7p_session *s, uint16_t function, const uint8_t *body, size_t len, bool read_class,
                        uint64_t now)
{
    if (s->state == S7PS_BUSY ? s->npend >= S7P_SESSION_WINDOW : s->state != S7PS_READY) return PLCIO_ESTATE;
    int rc = s->state == S7PS_READY ? drain_app(s, now) : PLCIO_OK; /* notifications after the last answer */
    if (rc || (s->state != S7PS_READY && s->state != S7PS_BUSY)) return rc ? rc : PLCIO_ESTATE;
    rc = buf_reserve(&s->scratch, len + 64);
    if (rc) return rc;
    uint8_t *pdu = malloc(len + 64);
    if (!pdu) return PLCIO_ENOMEM;
    size_t n;
    uint32_t iid = read_class ? s->iid_read : s->iid_write;
    rc = build_request(s, pdu, len + 64, function, s->session_id, read_class ? FLAGS_READ : FLAGS_DEFAULT, body, len,
                       s->integrity, iid, &n);
    if (!rc) rc = send_pdu(s, s->data_version, pdu, n);
    free(pdu);
    if (!rc && s->tls_up) rc = flush_tls(s);
    if (rc) return rc;
    if (s->integrity) {
        if (read_class)
            s->iid_read++;
        else
            s->iid_write++;
    }
    if (s->npend == 0) {
        s->have_answer = false; /* an answer never taken */
        arm(s, now);
    }
    s->pend[s->npend].seq = s->seq;
    s->pend[s->npend].fn = function;
    s->pend[s->npend].deadline = now + (uint64_t)s->cfg.timeout_ms * PLCIO_NS_PER_MS;
    s->npend++;
    s->state = S7PS_BUSY;
    return PLCIO_OK;
}

unsigned s7p_session_pending(const s7p_session *s) { return s->state == S7PS_BUSY ? s->npend : 0; }
uint16_t s7p_session_last_seq(const s7p_session *s) { return s->seq; }
bool s7p_session_has_answer(const s7p_session *s) { return s->have_answer; }

int s7p_session_response(s7p_session *s, s7p_pdu *answer)
{
    if (s->state == S7PS_FAILED) return s->err.code;
    if (!s->have_answer) return 0;
    s->have_answer = false;
    int rc = s7p_pdu_decode(s->pdu.p + s->ans_off, s->ans_len, answer);
    return rc ? rc : 1;
}

int s7p_session_send_oneway(s7p_session *s, uint16_t function, const uint8_t *body, size_t len, uint64_t now)
{
    (void)now;
    if (s->state != S7PS_READY && s->state != S7PS_BUSY) return PLCIO_ESTATE;
    uint8_t *pdu = malloc(len + 64);
    if (!pdu) return PLCIO_ENOMEM;
    size_t n;
    int rc = build_request(s, pdu, len + 64, function, s->session_id, S7P_FLAGS_NO_ANSWER, body, len, s->integrity,
                           s->iid_write, &n);
    if (!rc) rc = send_pdu(s, s->data_version, pdu, n);
    free(pdu);
    if (!rc && s->tls_up) rc = flush_tls(s);
    if (rc) return rc;
    if (s->integrity) s->iid_write++;
    s->oneway_fn = function;
    return PLCIO_OK;
}

int s7p_session_drain(s7p_session *s, uint64_t now)
{
    if (s->state == S7PS_FAILED) return s->err.code;
    if (s->have_answer || s->app.len == 0) return PLCIO_OK;
    int rc = drain_app(s, now);
    return s->state == S7PS_FAILED ? s->err.code : rc;
}

int s7p_session_close(s7p_session *s, uint64_t now)
{
    if (s->state != S7PS_READY) return PLCIO_ESTATE;
    uint8_t pdu[40];
    size_t n;
    /* DeleteObject names the object to delete: the session */
    uint8_t body[4];
    plcio_put_u32be(body, s->session_id);
    int rc = build_request(s, pdu, sizeof pdu, S7P_FN_DELETE_OBJECT, s->session_id, FLAGS_DEFAULT, body, 4,
                           s->integrity, s->iid_write, &n);
    if (!rc) rc = send_pdu(s, s->data_version, pdu, n);
    if (!rc && s->tls_up) rc = flush_tls(s);
    s->state = S7PS_CLOSING;
    arm(s, now);
    return rc;
}
