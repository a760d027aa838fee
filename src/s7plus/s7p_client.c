/* S7CommPlus blocking client: a socket loop around s7p_session. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/log.h"
#include "net/net.h"
#include "plcio/s7plus.h"
#include "plcio/url.h"
#include "s7plus/s7p_codec.h"
#include "s7plus/s7p_legit.h"
#include "s7plus/s7p_session.h"
#include "s7plus/s7p_subscribe.h"
#include "s7plus/s7p_sym.h"

#define MOD "s7plus"

struct plcio_s7plus_client {
    plcio_s7plus_client_options opt;
    char host[256], ca[512], cert[512], key[512], name[64];
    char password[S7P_LEGIT_MAX_PW + 1];
    int fd;
    SSL_CTX *ctx;
    s7p_session *session;
    plcio_error last;
    uint64_t plc_error;
    uint8_t *body; /* request bodies */
    size_t body_cap;
    /* event-loop mode */
    bool connecting;            /* the transport's connect is under way */
    bool up;                    /* the session reached READY (once per connection) */
    uint64_t connect_deadline;  /* of the transport's connect */
    uint64_t last_rx;           /* when the PLC last sent something */
    plcio_s7plus_done_fn cdone; /* connect_async's callback */
    void *cdone_ctx;
    int job; /* JOB_* of the user's job */
    bool job_sent;
    bool ka_busy; /* a keep-alive request is under way */
    uint64_t keepalives;
    plcio_s7plus_item *jitems;
    plcio_s7plus_sym_item *jsyms; /* JOB_SYM_*: the items, the batch under way starts at jat */
    size_t jat;
    size_t jn;
    size_t jlen; /* its encoded body in c->body */
    plcio_s7plus_done_fn jdone;
    void *jctx;
    uint8_t ka_body[64]; /* the keep-alive request's body */
    size_t ka_len;
    bool want_connected; /* connect_async called, close not: auto_reconnect applies */
    int backoff_ms;      /* the wait before the next attempt (0: none failed yet) */
    uint64_t next_attempt;
    /* subscriptions (s7p_subscribe.c) and the JOB_SUB/JOB_UNSUB jobs */
    csub_set *subs;
    uint32_t *jsub_id;
    uint32_t jsub_del;
    size_t jsub_n;
    plcio_s7plus_subscription_options jsub_opts;
    s7p_symcache *sym; /* browsed DBs (s7p_symbolic.c) */
};

enum { JOB_NONE, JOB_READ, JOB_WRITE, JOB_SUB, JOB_UNSUB, JOB_SYM_READ, JOB_SYM_WRITE };

static uint64_t now_ns(const plcio_s7plus_client *c) { return plcio_clock_now(&c->opt.clock); }
static bool own_io(const plcio_s7plus_client *c) { return c->opt.transport || c->opt.clock.now; }

void plcio_s7plus_client_options_init(plcio_s7plus_client_options *o)
{
    memset(o, 0, sizeof *o);
    o->port = 102;
    o->tls = true;
    o->client_name = "plcio";
    o->connect_timeout_ms = 5000;
    o->timeout_ms = 5000;
    o->reconnect_min_ms = 100;
    o->reconnect_max_ms = 5000;
    o->max_items = 20;
    o->pipeline = 2;
}

static bool flag(const plcio_url *u, const char *key, bool *out, plcio_error *err, int *rc)
{
    const char *v = plcio_url_get(u, key);
    if (!v) return true;
    if (!strcmp(v, "1") || !strcmp(v, "true"))
        *out = true;
    else if (!strcmp(v, "0") || !strcmp(v, "false"))
        *out = false;
    else {
        *rc = plcio_error_set(err, PLCIO_ESYNTAX, "s7plus URL: %s=%s is not 0 or 1", key, v);
        return false;
    }
    return true;
}

int plcio_s7plus_client_options_from_url(plcio_s7plus_client_options *o, const plcio_url *u, plcio_error *err)
{
    static const char *const allowed[] = {
        "ca",       "cert",         "key",  "insecure",  "tls",       "tls12",     "timeout",  "dialect",
        "password", "legitimation", "name", "keepalive", "reconnect", "max_items", "pipeline", NULL};
    /* s7://HOST?protocol=plus|auto: the classic keys belong to the other side */
    static const char *const allowed_s7[] = {"ca",          "cert",
                                             "key",         "insecure",
                                             "tls",         "tls12",
                                             "timeout",     "dialect",
                                             "password",    "legitimation",
                                             "name",        "keepalive",
                                             "protocol",    "rack",
                                             "slot",        "pdu",
                                             "type",        "local-tsap",
                                             "remote-tsap", "parallel",
                                             "reconnect",   "connect-timeout",
                                             "max_items",   "pipeline",
                                             NULL};
    bool s7 = !strcmp(u->scheme, "s7");
    if (!s7 && strcmp(u->scheme, "s7plus") != 0)
        return plcio_error_set(err, PLCIO_ESYNTAX, "s7plus URL: scheme %s is not s7plus", u->scheme);
    if (s7) {
        plcio_s7_protocol proto = PLCIO_S7_PROTOCOL_CLASSIC;
        int prc = plcio_url_s7_protocol(u, &proto, err);
        if (prc) return prc;
        if (proto == PLCIO_S7_PROTOCOL_CLASSIC)
            return plcio_error_set(err, PLCIO_EINVAL, "s7plus URL: s7:// without protocol=plus or auto is classic S7");
    }
    const char *bad = plcio_url_unknown_key(u, s7 ? allowed_s7 : allowed);
    if (bad) return plcio_error_set(err, PLCIO_ESYNTAX, "s7plus URL: unknown parameter %s", bad);
    if (!u->host[0]) return plcio_error_set(err, PLCIO_ESYNTAX, "s7plus URL: no host");
    o->host = u->host;
    if (u->port > 0) o->port = u->port;
    int rc = PLCIO_OK;
    if (!flag(u, "insecure", &o->insecure, err, &rc) || !flag(u, "tls", &o->tls, err, &rc) ||
        !flag(u, "tls12", &o->tls12, err, &rc) || !flag(u, "reconnect", &o->auto_reconnect, err, &rc))
        return rc;
    const char *v;
    if ((v = plcio_url_get(u, "ca"))) o->ca_file = v;
    if ((v = plcio_url_get(u, "cert"))) o->cert_file = v;
    if ((v = plcio_url_get(u, "key"))) o->key_file = v;
    if ((v = plcio_url_get(u, "name"))) o->client_name = v;
    if ((v = plcio_url_get(u, "dialect"))) {
        if (!strcmp(v, "python-snap7"))
            o->python_snap7_dialect = true;
        else if (!strcmp(v, "plc"))
            o->python_snap7_dialect = false;
        else
            return plcio_error_set(err, PLCIO_ESYNTAX, "s7plus URL: dialect=%s (plc or python-snap7)", v);
    }
    if ((v = plcio_url_get(u, "password"))) o->password = v;
    if ((v = plcio_url_get(u, "legitimation"))) {
        if (!strcmp(v, "auto"))
            o->legitimation = PLCIO_S7PLUS_LEGIT_AUTO;
        else if (!strcmp(v, "legacy"))
            o->legitimation = PLCIO_S7PLUS_LEGIT_LEGACY;
        else if (!strcmp(v, "new"))
            o->legitimation = PLCIO_S7PLUS_LEGIT_NEW;
        else
            return plcio_error_set(err, PLCIO_ESYNTAX, "s7plus URL: legitimation=%s (auto, legacy or new)", v);
    }
    unsigned long t;
    if ((rc = plcio_url_get_uint(u, "timeout", (unsigned long)o->timeout_ms, 1, 600000, &t)))
        return plcio_error_set(err, rc, "s7plus URL: timeout must be 1..600000 ms");
    o->timeout_ms = (int)t;
    o->connect_timeout_ms = (int)t;
    if ((rc = plcio_url_get_uint(u, "keepalive", (unsigned long)(o->keepalive_ms > 0 ? o->keepalive_ms : 0), 0,
                                 86400000, &t)))
        return plcio_error_set(err, rc, "s7plus URL: keepalive must be 0..86400000 ms");
    o->keepalive_ms = (int)t;
    if ((rc = plcio_url_get_uint(u, "max_items", (unsigned long)(o->max_items > 0 ? o->max_items : 20), 1,
                                 PLCIO_S7PLUS_MAX_ITEMS, &t)))
        return plcio_error_set(err, rc, "s7plus URL: max_items must be 1..64");
    o->max_items = (int)t;
    if ((rc = plcio_url_get_uint(u, "pipeline", (unsigned long)(o->pipeline > 0 ? o->pipeline : 2), 1,
                                 PLCIO_S7PLUS_MAX_PIPELINE, &t)))
        return plcio_error_set(err, rc, "s7plus URL: pipeline must be 1..%d", PLCIO_S7PLUS_MAX_PIPELINE);
    o->pipeline = (int)t;
    return PLCIO_OK;
}

static void copy(char *dst, size_t cap, const char **field)
{
    if (*field) {
        snprintf(dst, cap, "%s", *field);
        *field = dst;
    }
}

int plcio_s7plus_client_new(const char *url, const plcio_s7plus_client_options *opts, plcio_s7plus_client **out,
                            plcio_error *err)
{
    if (!out) return plcio_error_set(err, PLCIO_EINVAL, "s7plus: no place for the client");
    *out = NULL;
    plcio_s7plus_client_options o;
    if (opts)
        o = *opts;
    else
        plcio_s7plus_client_options_init(&o);
    plcio_url u;
    if (url) {
        int rc = plcio_url_parse(url, &u, err);
        if (rc == PLCIO_OK) rc = plcio_s7plus_client_options_from_url(&o, &u, err);
        if (rc != PLCIO_OK) return rc;
    }
    if (o.tls && !o.insecure && !o.ca_file)
        return plcio_error_set(err, PLCIO_EINVAL,
                               "s7plus: TLS needs the PLC's CA certificate (ca=FILE), or insecure=1 to skip "
                               "verification");
    if (o.password && (!o.password[0] || strlen(o.password) > S7P_LEGIT_MAX_PW))
        return plcio_error_set(err, PLCIO_EINVAL, "s7plus: the password must have 1..%u characters", S7P_LEGIT_MAX_PW);
    if (o.legitimation < PLCIO_S7PLUS_LEGIT_AUTO || o.legitimation > PLCIO_S7PLUS_LEGIT_NEW)
        return plcio_error_set(err, PLCIO_EINVAL, "s7plus: legitimation %d unknown", o.legitimation);
    if (o.password && o.legitimation == PLCIO_S7PLUS_LEGIT_NEW && !o.tls)
        return plcio_error_set(err, PLCIO_EINVAL, "s7plus: legitimation=new needs TLS");
    if (o.max_items <= 0) o.max_items = 20;
    if (o.max_items > PLCIO_S7PLUS_MAX_ITEMS)
        return plcio_error_set(err, PLCIO_EINVAL, "s7plus: max_items must be 1..%d", PLCIO_S7PLUS_MAX_ITEMS);
    if (o.pipeline <= 0) o.pipeline = 2;
    if (o.pipeline > PLCIO_S7PLUS_MAX_PIPELINE)
        return plcio_error_set(err, PLCIO_EINVAL, "s7plus: pipeline must be 1..%d", PLCIO_S7PLUS_MAX_PIPELINE);
    plcio_s7plus_client *c = calloc(1, sizeof *c);
    if (!c) return plcio_error_set(err, PLCIO_ENOMEM, "s7plus: out of memory");
    c->opt = o;
    c->fd = -1;
    if (!c->opt.host) c->opt.host = "127.0.0.1";
    copy(c->host, sizeof c->host, &c->opt.host);
    copy(c->ca, sizeof c->ca, &c->opt.ca_file);
    copy(c->cert, sizeof c->cert, &c->opt.cert_file);
    copy(c->key, sizeof c->key, &c->opt.key_file);
    copy(c->name, sizeof c->name, &c->opt.client_name);
    copy(c->password, sizeof c->password, &c->opt.password);
    *out = c;
    return PLCIO_OK;
}

/* ---- I/O: TCP, or the options' transport (event-loop mode) ---------------- */

static int io_connect_start(plcio_s7plus_client *c)
{
    const plcio_transport *t = c->opt.transport;
    int rc = t ? t->connect_start(t->ctx, c->host, c->opt.port, &c->fd)
               : net_tcp_connect_start(c->host, c->opt.port, &c->fd);
    if (rc == PLCIO_OK && t) rc = PLCIO_EAGAIN; /* connect_finish says when it is done */
    return rc;
}

static int io_connect_finish(plcio_s7plus_client *c)
{
    const plcio_transport *t = c->opt.transport;
    if (t) return t->connect_finish(t->ctx, c->fd);
    return net_wait(c->fd, true, 0) == PLCIO_OK ? net_tcp_connect_finish(c->fd) : PLCIO_EAGAIN;
}

static int io_send(plcio_s7plus_client *c, const uint8_t *buf, size_t len, size_t *sent)
{
    const plcio_transport *t = c->opt.transport;
    *sent = 0;
    return t ? t->send(t->ctx, c->fd, buf, len, sent) : net_send_some(c->fd, buf, len, sent);
}

/* PLCIO_EAGAIN when nothing is there now. */
static int io_recv(plcio_s7plus_client *c, uint8_t *buf, size_t cap, size_t *got)
{
    const plcio_transport *t = c->opt.transport;
    *got = 0;
    if (t) return t->recv(t->ctx, c->fd, buf, cap, got);
    int rc = net_recv_some(c->fd, buf, cap, got, 0);
    if (rc == PLCIO_OK && *got == 0) return PLCIO_ECLOSED;
    return rc == PLCIO_ETIMEDOUT ? PLCIO_EAGAIN : rc;
}

static void drop(plcio_s7plus_client *c)
{
    s7p_session_free(c->session);
    c->session = NULL;
    if (c->fd >= 0) {
        if (c->opt.transport)
            c->opt.transport->close(c->opt.transport->ctx, c->fd);
        else
            net_close(c->fd);
    }
    c->fd = -1;
    SSL_CTX_free(c->ctx);
    c->ctx = NULL;
    c->connecting = false;
    c->up = false;
    c->ka_busy = false;
    c->job_sent = false;
    csub_clear(c->subs); /* subscriptions end with the connection */
}

void plcio_s7plus_client_free(plcio_s7plus_client *c)
{
    if (!c) return;
    plcio_s7plus_client_close(c);
    csub_free(c->subs);
    s7p_symcache_free(c->sym);
    free(c->body);
    free(c);
}

const plcio_error *plcio_s7plus_client_last_error(const plcio_s7plus_client *c) { return &c->last; }
uint64_t plcio_s7plus_client_plc_error(const plcio_s7plus_client *c) { return c->plc_error; }
bool plcio_s7plus_client_is_connected(const plcio_s7plus_client *c)
{
    if (!c->session) return false;
    s7p_state st = s7p_session_state(c->session);
    return st == S7PS_READY || (st == S7PS_BUSY && c->up);
}
const char *plcio_s7plus_client_tls_version(const plcio_s7plus_client *c)
{
    return c->session ? s7p_session_tls_version(c->session) : "";
}

static int failf(plcio_s7plus_client *c, int rc, const char *fmt, ...) PLCIO_PRINTF(3, 4);
static int failf(plcio_s7plus_client *c, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->last.text, sizeof c->last.text, fmt, ap);
    va_end(ap);
    c->last.code = rc;
    log_msg(&c->opt.logger, PLCIO_LOG_DEBUG, MOD, "%s", c->last.text);
    return rc;
}

/* A session failure: its detail, and the connection dropped. */
static int session_failed(plcio_s7plus_client *c, int rc)
{
    const plcio_error *e = s7p_session_error(c->session);
    if (e->code) {
        c->last = *e;
        rc = e->code;
    } else {
        failf(c, rc, "s7plus: %s", plcio_strerror(rc));
    }
    drop(c);
    return rc;
}

/* Send what the session has, then read until `done` says so or it fails. */
static int pump(plcio_s7plus_client *c, bool (*done)(plcio_s7plus_client *c))
{
    uint8_t in[16384];
    for (;;) {
        size_t n;
        const uint8_t *tx = s7p_session_tx(c->session, &n);
        uint64_t deadline = s7p_session_deadline(c->session);
        if (n) {
            size_t sent = 0;
            int rc = net_send_all(c->fd, tx, n, deadline ? deadline : plcio_monotonic_ns() + PLCIO_NS_PER_S, &sent);
            s7p_session_tx_done(c->session, sent);
            if (rc) return session_failed(c, rc);
        }
        if (s7p_session_state(c->session) == S7PS_FAILED) return session_failed(c, PLCIO_EPROTO);
        if (done(c)) return PLCIO_OK;
        size_t got = 0;
        int rc = net_recv_some(c->fd, in, sizeof in, &got, deadline);
        if (rc == PLCIO_ETIMEDOUT) {
            s7p_session_on_time(c->session, deadline);
            return session_failed(c, PLCIO_ETIMEDOUT);
        }
        if (rc) return session_failed(c, rc);
        if (got == 0) return session_failed(c, PLCIO_ECLOSED);
        rc = s7p_session_feed(c->session, in, got, plcio_monotonic_ns());
        if (!rc) rc = csub_send_acks(c->subs, c->session, plcio_monotonic_ns());
        if (rc) return session_failed(c, rc);
    }
}

static bool is_ready(plcio_s7plus_client *c) { return s7p_session_state(c->session) == S7PS_READY; }
static bool is_closed(plcio_s7plus_client *c) { return s7p_session_state(c->session) == S7PS_CLOSED; }

static int make_ctx(plcio_s7plus_client *c)
{
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (!c->ctx) return failf(c, PLCIO_ENOMEM, "s7plus: cannot create a TLS context");
    SSL_CTX_set_min_proto_version(c->ctx, c->opt.tls12 ? TLS1_2_VERSION : TLS1_3_VERSION);
    if (c->opt.tls12) /* what S7-1500 firmware offers over TLS 1.2: ECDHE with AES-GCM */
        SSL_CTX_set_cipher_list(c->ctx, "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:"
                                        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384");
    SSL_CTX_set_options(c->ctx, SSL_OP_NO_TICKET);
    if (c->opt.insecure) {
        SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
        log_msg(&c->opt.logger, PLCIO_LOG_WARN, MOD,
                "%s: TLS certificate of the PLC NOT verified (insecure=1): anyone on the path can pose as the PLC",
                c->host);
    } else {
        if (SSL_CTX_load_verify_locations(c->ctx, c->ca, NULL) != 1) {
            ERR_clear_error();
            return failf(c, PLCIO_EINVAL, "s7plus: cannot load the CA certificate %s", c->ca);
        }
        SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    }
    if (c->opt.cert_file) {
        if (SSL_CTX_use_certificate_chain_file(c->ctx, c->cert) != 1 ||
            SSL_CTX_use_PrivateKey_file(c->ctx, c->opt.key_file ? c->key : c->cert, SSL_FILETYPE_PEM) != 1) {
            ERR_clear_error();
            return failf(c, PLCIO_EINVAL, "s7plus: cannot load the client certificate %s or its key", c->cert);
        }
    }
    return PLCIO_OK;
}

static bool blocking_ok(plcio_s7plus_client *c)
{
    if (!own_io(c)) return true;
    failf(c, PLCIO_EUNSUPPORTED,
          "s7plus: this client runs on a clock or transport of its own: use the event-loop calls");
    return false;
}

static int on_notification(void *ctx, const uint8_t *body, size_t len)
{
    plcio_s7plus_client *c = ctx;
    return csub_on_notification(c->subs, c, body, len);
}

static int new_session(plcio_s7plus_client *c)
{
    s7p_session_config sc;
    memset(&sc, 0, sizeof sc);
    sc.ssl_ctx = (s7p_ssl_ctx *)c->ctx;
    sc.client_name = c->opt.client_name;
    sc.timeout_ms = c->opt.connect_timeout_ms;
    sc.compact_blob = c->opt.python_snap7_dialect;
    sc.logger = c->opt.logger;
    sc.on_notification = on_notification;
    sc.notify_ctx = c;
    plcio_error e;
    int rc = s7p_session_new(&sc, &c->session, &e);
    if (rc) c->last = e;
    return rc;
}

static int legitimate(plcio_s7plus_client *c);

int plcio_s7plus_client_connect(plcio_s7plus_client *c)
{
    if (!blocking_ok(c)) return PLCIO_EUNSUPPORTED;
    if (plcio_s7plus_client_is_connected(c)) return PLCIO_OK;
    drop(c);
    plcio_error_clear(&c->last);
    int rc;
    if (c->opt.tls && (rc = make_ctx(c))) {
        drop(c);
        return rc;
    }
    rc = net_tcp_connect(c->host, c->opt.port, c->opt.connect_timeout_ms, &c->fd);
    if (rc) {
        char port[16];
        snprintf(port, sizeof port, "%d", c->opt.port);
        drop(c);
        return failf(c, rc, "s7plus: cannot connect to %s port %s", c->host, port);
    }
    if ((rc = new_session(c))) {
        drop(c);
        return rc;
    }
    s7p_session_start(c->session, plcio_monotonic_ns());
    rc = pump(c, is_ready);
    if (rc) return rc;
    if (c->opt.password && (rc = legitimate(c))) {
        plcio_error keep = c->last;
        plcio_s7plus_client_close(c); /* a refused password closes the session */
        c->last = keep;
        return rc;
    }
    log_msg(&c->opt.logger, PLCIO_LOG_INFO, MOD, "connected to %s:%d, session 0x%08x%s%s", c->host, c->opt.port,
            s7p_session_id(c->session), c->ctx ? ", " : ", no TLS", s7p_session_tls_version(c->session));
    return PLCIO_OK;
}

void plcio_s7plus_client_close(plcio_s7plus_client *c)
{
    if (!c) return;
    c->job = JOB_NONE; /* dropped without its callback */
    c->cdone = NULL;
    c->want_connected = false;
    c->backoff_ms = 0;
    if (own_io(c)) {
        /* event-loop mode: DeleteObject if it can go at once, no waiting */
        if (plcio_s7plus_client_is_connected(c) && s7p_session_close(c->session, now_ns(c)) == PLCIO_OK) {
            size_t n, sent = 0;
            const uint8_t *tx = s7p_session_tx(c->session, &n);
            if (n) (void)io_send(c, tx, n, &sent);
        }
        drop(c);
        return;
    }
    if (plcio_s7plus_client_is_connected(c) && s7p_session_close(c->session, plcio_monotonic_ns()) == PLCIO_OK) {
        plcio_error keep = c->last;
        (void)pump(c, is_closed); /* best effort: the PLC may just drop the line */
        c->last = keep;
    }
    drop(c);
}

/* ---- requests ---------------------------------------------------------------- */

static int exchange(plcio_s7plus_client *c, uint16_t fn, size_t body_len, bool read_class, s7p_pdu *answer)
{
    memset(answer, 0, sizeof *answer);
    if (!blocking_ok(c)) return PLCIO_EUNSUPPORTED;
    if (!plcio_s7plus_client_is_connected(c)) return failf(c, PLCIO_ENOTCONN, "s7plus: not connected");
    int rc = s7p_session_request(c->session, fn, c->body, body_len, read_class, plcio_monotonic_ns());
    if (rc) return session_failed(c, rc);
    if ((rc = pump(c, is_ready))) return rc;
    rc = s7p_session_response(c->session, answer);
    if (rc != 1) return session_failed(c, rc < 0 ? rc : PLCIO_EPROTO);
    return PLCIO_OK;
}

static int body_room(plcio_s7plus_client *c, size_t need)
{
    if (need <= c->body_cap) return PLCIO_OK;
    uint8_t *p = realloc(c->body, need);
    if (!p) return failf(c, PLCIO_ENOMEM, "s7plus: out of memory");
    c->body = p;
    c->body_cap = need;
    return PLCIO_OK;
}

static const uint8_t qualifier_attrs[] = {0x89, 0x69, 0x00, 0x12, 0,    0, 0, 0, /* parent RID 0 */
                                          0x89, 0x6a, 0x00, 0x13, 0x00,          /* composition AID 0 */
                                          0x89, 0x6b, 0x00, 0x04, 0x00};         /* key qualifier 0 */

static void address_of(const plcio_s7plus_client *c, const plcio_s7plus_item *it, s7p_address *a)
{
    memset(a, 0, sizeof *a);
    if (it->area == PLCIO_S7PLUS_AREA_DB) {
        a->area = S7P_ID_DB_ACCESS_AREA_BASE + (it->db & 0xFFFF);
        a->sub_area = S7P_ID_DB_VALUE_ACTUAL;
    } else {
        a->area = it->area == PLCIO_S7PLUS_AREA_I   ? S7P_ID_NATIVE_OBJECTS_THE_I_AREA
                  : it->area == PLCIO_S7PLUS_AREA_Q ? S7P_ID_NATIVE_OBJECTS_THE_Q_AREA
                                                    : S7P_ID_NATIVE_OBJECTS_THE_M_AREA;
        a->sub_area = S7P_ID_CONTROLLER_AREA_VALUE;
    }
    if (c->opt.python_snap7_dialect) { /* its emulator: 1-based offset, size */
        a->lids[a->nlids++] = it->start + 1;
        a->lids[a->nlids++] = it->size;
    } else { /* a real S7-1500: ClassicBlob, 0-based offset, size */
        a->lids[a->nlids++] = S7P_LID_CLASSIC_BLOB;
        a->lids[a->nlids++] = it->start;
        a->lids[a->nlids++] = it->size;
    }
}

static int check_items(plcio_s7plus_client *c, const plcio_s7plus_item *items, size_t n)
{
    if (n == 0 || n > PLCIO_S7PLUS_MAX_ITEMS) return failf(c, PLCIO_EINVAL, "s7plus: 1..64 items per request");
    for (size_t k = 0; k < n; k++)
        if (items[k].size == 0 || !items[k].data || (unsigned)items[k].area > PLCIO_S7PLUS_AREA_M ||
            items[k].db > 0xFFFF || items[k].size > S7P_SESSION_MAX_PDU / 2)
            return failf(c, PLCIO_EINVAL, "s7plus: item without data, of size 0, too large or in no area");
    return PLCIO_OK;
}

/* Encode a Get/SetMultiVariables body (without its tail) into c->body. */
static int multi_body(plcio_s7plus_client *c, const plcio_s7plus_item *items, size_t n, bool write, size_t *len)
{
    size_t need = 256 + n * 64;
    for (size_t k = 0; write && k < n; k++)
        need += items[k].size;
    int rc = body_room(c, need);
    if (rc) return rc;
    static const s7p_multi_req zero;
    s7p_multi_req *r = malloc(sizeof *r);
    if (!r) return failf(c, PLCIO_ENOMEM, "s7plus: out of memory");
    *r = zero;
    r->nitems = (uint32_t)n;
    r->with_values = write;
    r->dialect = c->opt.python_snap7_dialect ? S7P_COMPACT_BLOB : 0;
    for (size_t k = 0; k < n; k++) {
        address_of(c, &items[k], &r->items[k]);
        if (write) {
            r->value_nr[k] = (uint32_t)k + 1;
            r->values[k] = s7p_value_blob(items[k].data, items[k].size);
        }
    }
    r->nvalues = write ? (uint32_t)n : 0;
    r->q.present = true;
    r->q.pad_before = !write && !c->opt.python_snap7_dialect; /* as the real client in the capture */
    r->q.attrs.data = qualifier_attrs;
    r->q.attrs.size = sizeof qualifier_attrs;
    r->q.attrs.count = 3;
    r->tail.no_fill = true;
    plcio_wcursor w = plcio_wcursor_make(c->body, c->body_cap);
    rc = s7p_multi_req_encode(&w, r);
    free(r);
    if (rc) return failf(c, rc, "s7plus: cannot encode the request: %s", plcio_strerror(rc));
    *len = plcio_wcursor_used(&w);
    return PLCIO_OK;
}

static int answer_of(plcio_s7plus_client *c, const s7p_pdu *p, bool values, s7p_multi_res *r)
{
    plcio_rcursor rc_ = plcio_rcursor_make(p->body, p->body_len);
    unsigned flags = (values ? S7P_WITH_VALUES : 0) | (c->opt.python_snap7_dialect ? S7P_COMPACT_BLOB : 0);
    int rc = s7p_multi_res_decode(&rc_, flags, r);
    if (rc) return failf(c, rc, "s7plus: malformed answer from the PLC (%s)", plcio_strerror(rc));
    if (r->ret != 0) {
        c->plc_error = r->ret;
        char code[32];
        snprintf(code, sizeof code, "0x%llx", (unsigned long long)r->ret);
        return failf(c, PLCIO_EPLC, "s7plus: the PLC refused the request (return value %s)", code);
    }
    return PLCIO_OK;
}

static void item_error(plcio_s7plus_item *items, size_t n, const s7p_multi_res *r)
{
    for (uint32_t k = 0; k < r->nerrors; k++)
        if (r->error_nr[k] >= 1 && r->error_nr[k] <= n) {
            items[r->error_nr[k] - 1].result = r->errors[k] == S7P_ERR_ACCESS_DENIED ? PLCIO_EACCESS : PLCIO_EPLC;
            items[r->error_nr[k] - 1].error = r->errors[k];
        }
}

/* The answer of a GetMultiVariables (read: the values into the items) or of
 * a SetMultiVariables into the items' results. */
static int multi_answer(plcio_s7plus_client *c, plcio_s7plus_item *items, size_t n, const s7p_pdu *p, bool read)
{
    s7p_multi_res *r = malloc(sizeof *r);
    if (!r) return failf(c, PLCIO_ENOMEM, "s7plus: out of memory");
    int rc = answer_of(c, p, read, r);
    if (rc) {
        free(r);
        return rc;
    }
    for (size_t k = 0; k < n; k++)
        items[k].result = read ? PLCIO_ENOTFOUND : PLCIO_OK;
    for (uint32_t k = 0; read && k < r->nvalues; k++) {
        uint32_t nr = r->value_nr[k];
        if (nr < 1 || nr > n) continue;
        plcio_s7plus_item *it = &items[nr - 1];
        const s7p_value *v = &r->values[k];
        bool bytes =
            v->type == S7P_T_BLOB || ((v->flags & S7P_F_ARRAY) && (v->type == S7P_T_USINT || v->type == S7P_T_BYTE));
        if (!bytes || v->size != it->size) {
            it->result = PLCIO_EPROTO;
            continue;
        }
        memcpy(it->data, v->data, it->size);
        it->result = PLCIO_OK;
        it->error = 0;
    }
    item_error(items, n, r);
    free(r);
    return PLCIO_OK;
}

int plcio_s7plus_client_read_multi(plcio_s7plus_client *c, plcio_s7plus_item *items, size_t n)
{
    int rc = check_items(c, items, n);
    if (rc) return rc;
    size_t len = 0;
    if ((rc = multi_body(c, items, n, false, &len))) return rc;
    s7p_pdu p;
    if ((rc = exchange(c, S7P_FN_GET_MULTI_VARS, len, true, &p))) return rc;
    return multi_answer(c, items, n, &p, true);
}

int plcio_s7plus_client_write_multi(plcio_s7plus_client *c, plcio_s7plus_item *items, size_t n)
{
    int rc = check_items(c, items, n);
    if (rc) return rc;
    size_t len = 0;
    if ((rc = multi_body(c, items, n, true, &len))) return rc;
    s7p_pdu p;
    if ((rc = exchange(c, S7P_FN_SET_MULTI_VARS, len, false, &p))) return rc;
    return multi_answer(c, items, n, &p, false);
}

static int single(plcio_s7plus_client *c, int rc, const plcio_s7plus_item *it)
{
    if (rc) return rc;
    if (it->result == PLCIO_EACCESS) {
        c->plc_error = it->error;
        return failf(c, PLCIO_EACCESS, "s7plus: access denied by the PLC's protection level (error 0x%llx): %s",
                     (unsigned long long)it->error,
                     c->opt.password ? "the password does not allow it"
                                     : "give the CPU password (password= in the URL, or the password option)");
    }
    if (it->result == PLCIO_EPLC) {
        c->plc_error = it->error;
        char code[32];
        snprintf(code, sizeof code, "0x%llx", (unsigned long long)it->error);
        return failf(c, PLCIO_EPLC, "s7plus: the PLC refused the item (error %s)", code);
    }
    if (it->result)
        return failf(c, it->result, "s7plus: no usable value for the item (%s)", plcio_strerror(it->result));
    return PLCIO_OK;
}

int plcio_s7plus_client_read_area(plcio_s7plus_client *c, plcio_s7plus_area area, unsigned db, uint32_t start,
                                  uint32_t size, void *out)
{
    plcio_s7plus_item it = {area, db, start, size, out, 0, 0};
    return single(c, plcio_s7plus_client_read_multi(c, &it, 1), &it);
}

int plcio_s7plus_client_write_area(plcio_s7plus_client *c, plcio_s7plus_area area, unsigned db, uint32_t start,
                                   uint32_t size, const void *data)
{
    /* the item's data pointer is not const (reads fill it); a write only reads it */
    plcio_s7plus_item it = {area, db, start, size, NULL, 0, 0};
    memcpy(&it.data, &data, sizeof it.data);
    return single(c, plcio_s7plus_client_write_multi(c, &it, 1), &it);
}

/* GetMultiVariables of one attribute of one object (no LIDs), the way the
 * real client in the capture reads the protection level, into out. */
static int attr_body(uint32_t object, uint32_t attribute, uint8_t *out, size_t cap, size_t *len)
{
    s7p_multi_req *r = calloc(1, sizeof *r);
    if (!r) return PLCIO_ENOMEM;
    r->nitems = 1;
    r->items[0].area = object;
    r->items[0].sub_area = attribute;
    r->q.present = true;
    r->q.pad_before = true;
    r->q.attrs.data = qualifier_attrs;
    r->q.attrs.size = sizeof qualifier_attrs;
    r->q.attrs.count = 3;
    r->tail.no_fill = true;
    plcio_wcursor w = plcio_wcursor_make(out, cap);
    int rc = s7p_multi_req_encode(&w, r);
    free(r);
    *len = plcio_wcursor_used(&w);
    return rc;
}

/* The one unsigned or signed integer value an attribute read answered. */
static int attr_value(plcio_s7plus_client *c, const s7p_pdu *p, const char *what, int64_t *value)
{
    s7p_multi_res *a = malloc(sizeof *a);
    if (!a) return failf(c, PLCIO_ENOMEM, "s7plus: out of memory");
    int rc = answer_of(c, p, true, a);
    if (rc) {
        free(a);
        return rc;
    }
    rc = failf(c, PLCIO_EPROTO, "s7plus: the PLC gave no %s", what);
    const s7p_value *v = &a->values[0];
    if (a->nvalues == 1 && a->value_nr[0] == 1 && !(v->flags & S7P_F_ARRAY)) {
        if (v->type == S7P_T_UDINT || v->type == S7P_T_USINT || v->type == S7P_T_UINT) {
            *value = v->u > INT64_MAX ? INT64_MAX : (int64_t)v->u;
            rc = PLCIO_OK;
        } else if (v->type == S7P_T_DINT || v->type == S7P_T_SINT || v->type == S7P_T_INT) {
            *value = v->i;
            rc = PLCIO_OK;
        }
    } else if (a->nerrors == 1) {
        c->plc_error = a->errors[0];
        rc = failf(c, PLCIO_EPLC, "s7plus: the PLC refused to give its %s (error 0x%llx)", what,
                   (unsigned long long)a->errors[0]);
    }
    if (rc == PLCIO_OK) plcio_error_clear(&c->last);
    free(a);
    return rc;
}

static int read_attr(plcio_s7plus_client *c, uint32_t object, uint32_t attribute, const char *what, int64_t *value)
{
    if (!blocking_ok(c)) return PLCIO_EUNSUPPORTED;
    if (!plcio_s7plus_client_is_connected(c)) return failf(c, PLCIO_ENOTCONN, "s7plus: not connected");
    int rc = body_room(c, 128);
    if (rc) return rc;
    size_t len = 0;
    if ((rc = attr_body(object, attribute, c->body, c->body_cap, &len)))
        return failf(c, rc, "s7plus: cannot encode the request");
    s7p_pdu p;
    if ((rc = exchange(c, S7P_FN_GET_MULTI_VARS, len, true, &p))) return rc;
    return attr_value(c, &p, what, value);
}

int plcio_s7plus_client_get_protection_level(plcio_s7plus_client *c, unsigned *level)
{
    if (!plcio_s7plus_client_is_connected(c)) return failf(c, PLCIO_ENOTCONN, "s7plus: not connected");
    int64_t v = 0;
    int rc = read_attr(c, s7p_session_id(c->session), S7P_ID_EFFECTIVE_PROTECTION_LEVEL, "protection level", &v);
    if (rc) return rc;
    if (v < 0 || v > 0xFFFF) return failf(c, PLCIO_EPROTO, "s7plus: protection level %lld out of range", (long long)v);
    *level = (unsigned)v;
    return PLCIO_OK;
}

int plcio_s7plus_client_get_cpu_state(plcio_s7plus_client *c, int *state, unsigned *raw)
{
    int64_t v = 0;
    int rc = read_attr(c, S7P_ID_NATIVE_THE_CPU_EXEC_UNIT, S7P_ID_CPU_EXEC_UNIT_OPERATING_STATE, "CPU state", &v);
    if (rc) return rc;
    if (raw) *raw = v < 0 || v > 0xFFFF ? 0xFFFFu : (unsigned)v;
    *state = v == S7P_OPSTATE_RUN ? PLCIO_S7PLUS_CPU_RUN : v == S7P_OPSTATE_STOP ? PLCIO_S7PLUS_CPU_STOP : 0;
    return PLCIO_OK;
}

int s7p_cl_explore(plcio_s7plus_client *c, uint32_t object, const uint32_t *attrs, size_t nattrs, const char *what,
                   plcio_rcursor *rd)
{
    int rc = body_room(c, 64);
    if (rc) return rc;
    plcio_wcursor w = plcio_wcursor_make(c->body, c->body_cap);
    plcio_wcursor_u32be(&w, object); /* explore id */
    s7p_put_vlq32(&w, 0);            /* explore request id */
    plcio_wcursor_u8(&w, 1);         /* children, recursive */
    plcio_wcursor_u8(&w, 1);
    plcio_wcursor_u8(&w, 0); /* no parents */
    plcio_wcursor_u8(&w, 0); /* no filters */
    s7p_put_vlq32(&w, (uint32_t)nattrs);
    for (size_t i = 0; i < nattrs; i++)
        s7p_put_vlq32(&w, attrs[i]);
    s7p_pdu p;
    if ((rc = exchange(c, S7P_FN_EXPLORE, plcio_wcursor_used(&w), true, &p))) return rc;
    *rd = plcio_rcursor_make(p.body, p.body_len);
    uint64_t ret = 0;
    if (s7p_get_vlq64(rd, &ret)) return failf(c, PLCIO_EPROTO, "s7plus: malformed Explore answer");
    if (ret) {
        c->plc_error = ret;
        return failf(c, PLCIO_EPLC, "s7plus: the PLC refused %s (return value 0x%llx)", what, (unsigned long long)ret);
    }
    return PLCIO_OK;
}

int plcio_s7plus_client_list_dbs(plcio_s7plus_client *c, uint16_t *numbers, size_t cap, size_t *count)
{
    *count = 0;
    static const uint32_t attrs[] = {S7P_ID_OBJECT_VARIABLE_TYPE_NAME, S7P_ID_BLOCK_NUMBER};
    plcio_rcursor rd;
    int rc = s7p_cl_explore(c, S7P_ID_NATIVE_THE_PLC_PROGRAM, attrs, 2, "Explore", &rd);
    if (rc) return rc;
    /* objects whose class is DataBlock and whose relation is a DB access area */
    uint32_t stack_rel[32], stack_cls[32];
    int depth = 0;
    while (plcio_rcursor_left(&rd) > 4) {
        s7p_elem e;
        if ((rc = s7p_elem_decode(&rd, &e)))
            return failf(c, rc, "s7plus: malformed object in the Explore answer (%s)", plcio_strerror(rc));
        if (e.tag == S7P_E_START_OBJECT) {
            if (depth == 32) return failf(c, PLCIO_ELIMIT, "s7plus: Explore answer nested too deep");
            stack_rel[depth] = e.relation_id;
            stack_cls[depth++] = e.class_id;
        } else if (e.tag == S7P_E_END_OBJECT) {
            if (depth == 0) return failf(c, PLCIO_EPROTO, "s7plus: Explore answer ends an object never started");
            depth--;
            if (stack_cls[depth] == S7P_ID_DB_CLASS && (stack_rel[depth] >> 16) == (S7P_ID_DB_ACCESS_AREA_BASE >> 16)) {
                if (*count < cap) numbers[*count] = (uint16_t)(stack_rel[depth] & 0xFFFF);
                (*count)++;
            }
        }
    }
    return PLCIO_OK;
}

/* ---- event-loop mode ------------------------------------------------------------ */

int plcio_s7plus_client_fd(const plcio_s7plus_client *c) { return c ? c->fd : -1; }
bool plcio_s7plus_client_busy(const plcio_s7plus_client *c) { return c && c->job != JOB_NONE; }
uint64_t plcio_s7plus_client_keepalives(const plcio_s7plus_client *c) { return c ? c->keepalives : 0; }

static bool sym_job(const plcio_s7plus_client *c) { return c->job == JOB_SYM_READ || c->job == JOB_SYM_WRITE; }

static void finish_job(plcio_s7plus_client *c, int rc)
{
    if (sym_job(c) && rc) s7p_sym_job_abort(c, c->jsyms, c->jn, rc); /* nothing reported done that was not */
    plcio_s7plus_done_fn done = c->jdone;
    void *ctx = c->jctx;
    c->job = JOB_NONE;
    c->job_sent = false;
    c->jdone = NULL;
    if (done) done(ctx, c, rc); /* may queue the next job */
}

/* A job that was never queued (the caller has the error). */
static void finish_job_silently(plcio_s7plus_client *c)
{
    c->job = JOB_NONE;
    c->job_sent = false;
    c->jdone = NULL;
    c->jlen = 0;
}

static void finish_connect(plcio_s7plus_client *c, int rc)
{
    plcio_s7plus_done_fn done = c->cdone;
    c->cdone = NULL;
    if (done) done(c->cdone_ctx, c, rc);
}

/* auto_reconnect: the next attempt after the backoff, which doubles per failure. */
static void schedule_retry(plcio_s7plus_client *c)
{
    if (!c->opt.auto_reconnect || !c->want_connected) return;
    int lo = c->opt.reconnect_min_ms > 0 ? c->opt.reconnect_min_ms : 100;
    int hi = c->opt.reconnect_max_ms > lo ? c->opt.reconnect_max_ms : lo;
    c->backoff_ms = c->backoff_ms ? (c->backoff_ms > hi / 2 ? hi : c->backoff_ms * 2) : lo;
    c->next_attempt = now_ns(c) + (uint64_t)c->backoff_ms * PLCIO_NS_PER_MS;
}

/* The connection broke: the detail kept, everything dropped, the callbacks told. */
static int async_fail(plcio_s7plus_client *c, int rc)
{
    const plcio_error *e = c->session ? s7p_session_error(c->session) : NULL;
    if (e && e->code) {
        c->last = *e;
        rc = e->code;
    } else if (c->last.code != rc) {
        failf(c, rc, "s7plus: %s: %s", c->connecting ? "cannot connect" : "connection lost", plcio_strerror(rc));
    }
    log_msg(&c->opt.logger, PLCIO_LOG_WARN, MOD, "%s:%d: %s", c->host, c->opt.port, c->last.text);
    drop(c);
    schedule_retry(c);
    finish_connect(c, rc);
    if (c->job != JOB_NONE) finish_job(c, rc);
    return rc;
}

static int flush(plcio_s7plus_client *c)
{
    size_t n;
    const uint8_t *tx = s7p_session_tx(c->session, &n);
    while (n) {
        size_t sent = 0;
        int rc = io_send(c, tx, n, &sent);
        if (rc == PLCIO_EAGAIN || (rc == PLCIO_OK && sent == 0)) break;
        if (rc) return rc;
        s7p_session_tx_done(c->session, sent);
        tx = s7p_session_tx(c->session, &n);
    }
    return PLCIO_OK;
}

static int async_io(plcio_s7plus_client *c, uint64_t now)
{
    int rc = flush(c);
    if (rc) return rc;
    for (;;) {
        uint8_t buf[16384];
        size_t got = 0;
        rc = io_recv(c, buf, sizeof buf, &got);
        if (rc == PLCIO_EAGAIN) break;
        if (rc) return rc;
        c->last_rx = now;
        if ((rc = s7p_session_feed(c->session, buf, got, now))) return rc;
        if ((rc = csub_send_acks(c->subs, c->session, now))) return rc;
        if ((rc = flush(c))) return rc; /* the TLS handshake answers as it goes */
    }
    return s7p_session_on_time(c->session, now);
}

static uint64_t keepalive_ns(const plcio_s7plus_client *c)
{
    return (uint64_t)(c->opt.keepalive_ms > 0 ? c->opt.keepalive_ms : 0) * PLCIO_NS_PER_MS;
}

/* A symbolic job: its batches out, up to the pipeline (the first one was
 * encoded when the job was queued: jlen). */
static int sym_fill(plcio_s7plus_client *c, uint64_t now)
{
    bool write = c->job == JOB_SYM_WRITE;
    uint16_t fn = write ? S7P_FN_SET_MULTI_VARS : S7P_FN_GET_MULTI_VARS;
    unsigned window = (unsigned)c->opt.pipeline;
    while (s7p_session_pending(c->session) < window) {
        int rc;
        if (!c->jlen) {
            if (c->jat >= c->jn || s7p_sym_job_inflight(c) >= window) break;
            if ((rc = s7p_sym_job_body(c, c->jsyms, c->jn, &c->jat, write, &c->jlen))) return rc;
            if (!c->jlen) break;
        }
        if ((rc = s7p_session_request(c->session, fn, c->body, c->jlen, !write, now))) return rc;
        s7p_sym_job_sent(c, s7p_session_last_seq(c->session));
        c->jlen = 0;
        c->job_sent = true;
    }
    return flush(c);
}

/* Send what can go now: the user's job first, else a keep-alive when due. */
static int kick(plcio_s7plus_client *c, uint64_t now)
{
    if (c->session && c->up && sym_job(c) && !c->ka_busy &&
        (s7p_session_state(c->session) == S7PS_READY || s7p_session_state(c->session) == S7PS_BUSY))
        return sym_fill(c, now);
    if (!c->session || !c->up || s7p_session_state(c->session) != S7PS_READY) return PLCIO_OK;
    int rc = PLCIO_OK;
    if (c->job != JOB_NONE && !c->job_sent) {
        bool rd = c->job == JOB_READ || c->job == JOB_SYM_READ;
        uint16_t fn = rd                                               ? S7P_FN_GET_MULTI_VARS
                      : c->job == JOB_WRITE || c->job == JOB_SYM_WRITE ? S7P_FN_SET_MULTI_VARS
                      : c->job == JOB_SUB                              ? S7P_FN_CREATE_OBJECT
                                                                       : S7P_FN_DELETE_OBJECT;
        rc = s7p_session_request(c->session, fn, c->body, c->jlen, rd, now);
        c->job_sent = rc == PLCIO_OK;
    } else if (c->job == JOB_NONE && keepalive_ns(c) && now >= c->last_rx + keepalive_ns(c)) {
        if (!c->ka_len) {
            rc = attr_body(s7p_session_id(c->session), S7P_ID_EFFECTIVE_PROTECTION_LEVEL, c->ka_body, sizeof c->ka_body,
                           &c->ka_len);
            if (rc) return failf(c, rc, "s7plus: cannot encode the keep-alive");
        }
        rc = s7p_session_request(c->session, S7P_FN_GET_MULTI_VARS, c->ka_body, c->ka_len, true, now);
        if (rc == PLCIO_OK) {
            c->ka_busy = true;
            c->keepalives++;
            log_msg(&c->opt.logger, PLCIO_LOG_DEBUG, MOD, "%s: keep-alive", c->host);
        }
    } else {
        return PLCIO_OK;
    }
    return rc ? rc : flush(c);
}

static int sub_answer(plcio_s7plus_client *c, const s7p_pdu *p, size_t n, const plcio_s7plus_subscription_options *o,
                      uint32_t *id);
static int unsub_answer(plcio_s7plus_client *c, const s7p_pdu *p, uint32_t id);

/* An answer arrived: whose it is. */
static void on_answer(plcio_s7plus_client *c)
{
    s7p_pdu p;
    int rc = s7p_session_response(c->session, &p);
    if (rc != 1) return;
    if (c->ka_busy) { /* any well-formed answer, a refusal too, shows the session is alive */
        c->ka_busy = false;
        return;
    }
    if (c->job == JOB_NONE || !c->job_sent) return;
    if (sym_job(c)) { /* more batches, or done after the last answer */
        rc = s7p_sym_job_answer(c, c->jsyms, c->job == JOB_SYM_WRITE, &p);
        if (rc == PLCIO_OK && (c->jlen || c->jat < c->jn || s7p_sym_job_inflight(c) > 0)) {
            if ((rc = kick(c, now_ns(c))) == PLCIO_OK) return;
        }
        if (rc == PLCIO_OK) plcio_error_clear(&c->last);
        finish_job(c, rc);
        return;
    }
    rc = c->job == JOB_READ    ? multi_answer(c, c->jitems, c->jn, &p, true)
         : c->job == JOB_WRITE ? multi_answer(c, c->jitems, c->jn, &p, false)
         : c->job == JOB_SUB   ? sub_answer(c, &p, c->jsub_n, &c->jsub_opts, c->jsub_id)
                               : unsub_answer(c, &p, c->jsub_del);
    if (rc == PLCIO_OK) plcio_error_clear(&c->last);
    finish_job(c, rc);
}

static int start_connect(plcio_s7plus_client *c);

int plcio_s7plus_client_connect_async(plcio_s7plus_client *c, plcio_s7plus_done_fn done, void *ctx)
{
    if (!c) return PLCIO_EINVAL;
    if (c->opt.password)
        return failf(c, PLCIO_EUNSUPPORTED, "s7plus: password legitimation works in blocking mode only (connect)");
    if (c->session) return PLCIO_OK; /* under way or done */
    c->want_connected = true;
    c->cdone = done;
    c->cdone_ctx = ctx;
    int rc = start_connect(c);
    if (rc) {
        c->cdone = NULL; /* the caller has the error */
        schedule_retry(c);
    }
    return rc;
}

/* A new connection (connect_async, or auto_reconnect's next attempt). */
static int start_connect(plcio_s7plus_client *c)
{
    drop(c);
    plcio_error_clear(&c->last);
    int rc;
    if (c->opt.tls && (rc = make_ctx(c))) {
        drop(c);
        return rc;
    }
    uint64_t now = now_ns(c);
    rc = io_connect_start(c);
    if (rc != PLCIO_OK && rc != PLCIO_EAGAIN) {
        char port[16];
        snprintf(port, sizeof port, "%d", c->opt.port);
        c->fd = -1; /* nothing to close after a failed start */
        drop(c);
        return failf(c, rc, "s7plus: cannot connect to %s port %s", c->host, port);
    }
    if ((rc = new_session(c))) {
        drop(c);
        return rc;
    }
    c->connecting = true; /* io_connect_finish tells when it is done */
    c->connect_deadline = now + (uint64_t)c->opt.connect_timeout_ms * PLCIO_NS_PER_MS;
    return PLCIO_OK;
}

static int queue_job(plcio_s7plus_client *c, int job, plcio_s7plus_item *items, size_t n, plcio_s7plus_done_fn done,
                     void *ctx)
{
    if (!c) return PLCIO_EINVAL;
    if (c->job != JOB_NONE) return failf(c, PLCIO_EBUSY, "s7plus: a job is under way");
    bool waits = !c->session && c->opt.auto_reconnect && c->want_connected; /* for the next attempt */
    if (!c->session && !waits) return failf(c, PLCIO_ENOTCONN, "s7plus: not connected (connect_async first)");
    int rc = check_items(c, items, n);
    if (rc) return rc;
    size_t len = 0;
    if ((rc = multi_body(c, items, n, job == JOB_WRITE, &len))) return rc;
    c->job = job;
    c->job_sent = false;
    c->jitems = items;
    c->jn = n;
    c->jlen = len;
    c->jdone = done;
    c->jctx = ctx;
    if ((rc = kick(c, now_ns(c)))) {
        c->job = JOB_NONE; /* not queued: the caller gets the error, done is not called */
        return async_fail(c, rc);
    }
    return PLCIO_OK;
}

int s7p_cl_queue_sym(plcio_s7plus_client *c, bool write, plcio_s7plus_sym_item *items, size_t n,
                     plcio_s7plus_done_fn done, void *ctx)
{
    if (c->job != JOB_NONE) return failf(c, PLCIO_EBUSY, "s7plus: a job is under way");
    bool waits = !c->session && c->opt.auto_reconnect && c->want_connected; /* for the next attempt */
    if (!c->session && !waits) return failf(c, PLCIO_ENOTCONN, "s7plus: not connected (connect_async first)");
    size_t at = 0, len = 0;
    int rc = s7p_sym_job_start(c, items, n);
    if (!rc) rc = s7p_sym_job_body(c, items, n, &at, write, &len);
    if (rc) return rc;
    if (len == 0) return failf(c, PLCIO_ETYPE, "s7plus: no item has a value that can be sent (see their results)");
    c->job = write ? JOB_SYM_WRITE : JOB_SYM_READ;
    c->job_sent = false;
    c->jsyms = items;
    c->jat = at;
    c->jn = n;
    c->jlen = len;
    c->jdone = done;
    c->jctx = ctx;
    if ((rc = kick(c, now_ns(c)))) {
        s7p_sym_job_abort(c, items, n, rc);
        finish_job_silently(c); /* not queued: the caller gets the error, done is not called */
        return async_fail(c, rc);
    }
    return PLCIO_OK;
}

int plcio_s7plus_client_read_multi_async(plcio_s7plus_client *c, plcio_s7plus_item *items, size_t n,
                                         plcio_s7plus_done_fn done, void *ctx)
{
    return queue_job(c, JOB_READ, items, n, done, ctx);
}

int plcio_s7plus_client_write_multi_async(plcio_s7plus_client *c, plcio_s7plus_item *items, size_t n,
                                          plcio_s7plus_done_fn done, void *ctx)
{
    return queue_job(c, JOB_WRITE, items, n, done, ctx);
}

static uint64_t min_deadline(uint64_t a, uint64_t b) { return !a ? b : !b ? a : a < b ? a : b; }

unsigned plcio_s7plus_client_wants(const plcio_s7plus_client *c, uint64_t *deadline)
{
    if (deadline) *deadline = 0;
    if (!c) return 0;
    if (!c->session) {
        if (deadline && c->opt.auto_reconnect && c->want_connected) *deadline = c->next_attempt;
        return 0;
    }
    if (c->connecting) {
        if (deadline) *deadline = c->connect_deadline;
        return PLCIO_S7PLUS_WANT_WRITE;
    }
    size_t pending;
    s7p_session_tx(c->session, &pending);
    if (deadline) {
        *deadline = s7p_session_deadline(c->session);
        if (keepalive_ns(c) && c->up && c->job == JOB_NONE && s7p_session_state(c->session) == S7PS_READY)
            *deadline = min_deadline(*deadline, c->last_rx + keepalive_ns(c));
    }
    return PLCIO_S7PLUS_WANT_READ | (pending ? PLCIO_S7PLUS_WANT_WRITE : 0u);
}

int plcio_s7plus_client_process(plcio_s7plus_client *c)
{
    if (!c) return PLCIO_EINVAL;
    uint64_t now = now_ns(c);
    if (!c->session) {
        if (!c->opt.auto_reconnect || !c->want_connected || now < c->next_attempt) return PLCIO_OK;
        int rc = start_connect(c);
        if (rc) return async_fail(c, rc);
    }
    if (c->connecting) {
        int rc = io_connect_finish(c);
        if (rc == PLCIO_EAGAIN) return now >= c->connect_deadline ? async_fail(c, PLCIO_ETIMEDOUT) : PLCIO_OK;
        if (rc) return async_fail(c, rc);
        c->connecting = false;
        if ((rc = s7p_session_start(c->session, now))) return async_fail(c, rc);
    }
    int rc = async_io(c, now);
    if (rc) return async_fail(c, rc);
    if (!c->up && s7p_session_state(c->session) == S7PS_READY) {
        c->up = true;
        c->last_rx = now;
        c->backoff_ms = 0;
        log_msg(&c->opt.logger, PLCIO_LOG_INFO, MOD, "connected to %s:%d, session 0x%08x%s%s", c->host, c->opt.port,
                s7p_session_id(c->session), c->ctx ? ", " : ", no TLS", s7p_session_tls_version(c->session));
        finish_connect(c, PLCIO_OK);
        if (!c->session) return PLCIO_OK; /* the callback closed it */
    }
    while (c->up && c->session && s7p_session_has_answer(c->session)) { /* answers that came together */
        on_answer(c);
        if (c->session && (rc = s7p_session_drain(c->session, now))) return async_fail(c, rc);
    }
    if (!c->session) return PLCIO_OK;                                        /* a callback closed it */
    if ((rc = s7p_session_drain(c->session, now))) return async_fail(c, rc); /* PDUs that came after the answer */
    if (!c->session) return PLCIO_OK;
    if ((rc = csub_send_acks(c->subs, c->session, now)) || (rc = flush(c))) return async_fail(c, rc);
    if ((rc = kick(c, now))) return async_fail(c, rc);
    return PLCIO_OK;
}

/* ---- subscriptions (the rest in s7p_subscribe.c) ------------------------------------ */

void plcio_s7plus_subscription_options_init(plcio_s7plus_subscription_options *o)
{
    memset(o, 0, sizeof *o);
    o->cycle_ms = 100;
    o->credits = 10;
}

static int sub_check(plcio_s7plus_client *c, const plcio_s7plus_sub_item *items, size_t n,
                     const plcio_s7plus_subscription_options *o)
{
    if (!items || n == 0 || n > PLCIO_S7PLUS_MAX_SUB_ITEMS)
        return failf(c, PLCIO_EINVAL, "s7plus: 1..%d items per subscription", PLCIO_S7PLUS_MAX_SUB_ITEMS);
    if (!o || !o->notify) return failf(c, PLCIO_EINVAL, "s7plus: a subscription needs a notify callback");
    if (o->credits == 0 || o->credits < -1 || o->credits > 200 || o->cycle_ms > 3600000u)
        return failf(c, PLCIO_EINVAL, "s7plus: credits 1..200 or -1, cycle_ms up to 3600000");
    for (size_t k = 0; k < n; k++) {
        const plcio_s7plus_sub_item *it = &items[k];
        bool ok = it->nlids ? it->nlids <= PLCIO_S7PLUS_MAX_LIDS && it->access_area
                            : it->size && (unsigned)it->area <= PLCIO_S7PLUS_AREA_M && it->db <= 0xFFFF;
        if (!ok)
            return failf(c, PLCIO_EINVAL, "s7plus: subscription item %zu: no size, no area, or more than %d LIDs", k,
                         PLCIO_S7PLUS_MAX_LIDS);
    }
    return PLCIO_OK;
}

/* The CreateObject body of a subscription into c->body. */
static int sub_body(plcio_s7plus_client *c, const plcio_s7plus_sub_item *items, size_t n,
                    const plcio_s7plus_subscription_options *o, size_t *len)
{
    int rc = sub_check(c, items, n, o);
    if (rc) return rc;
    if (!c->subs && !(c->subs = csub_new())) return failf(c, PLCIO_ENOMEM, "s7plus: out of memory");
    s7p_address *a = calloc(n, sizeof *a);
    if (!a) return failf(c, PLCIO_ENOMEM, "s7plus: out of memory");
    for (size_t k = 0; k < n; k++) {
        const plcio_s7plus_sub_item *it = &items[k];
        if (it->nlids) {
            a[k].area = it->access_area;
            a[k].sub_area = it->sub_area;
            a[k].crc = it->crc;
            a[k].nlids = it->nlids;
            memcpy(a[k].lids, it->lids, it->nlids * sizeof it->lids[0]);
        } else {
            plcio_s7plus_item x;
            memset(&x, 0, sizeof x);
            x.area = it->area;
            x.db = it->db;
            x.start = it->start;
            x.size = it->size;
            address_of(c, &x, &a[k]);
        }
    }
    uint8_t *body = NULL;
    rc = csub_create_body(c->session ? s7p_session_id(c->session) : 0, a, n, o, &body, len);
    free(a);
    if (!rc) rc = body_room(c, *len);
    if (rc) {
        free(body);
        return failf(c, rc, "s7plus: cannot encode the subscription: %s", plcio_strerror(rc));
    }
    memcpy(c->body, body, *len);
    free(body);
    return PLCIO_OK;
}

static int sub_answer(plcio_s7plus_client *c, const s7p_pdu *p, size_t n, const plcio_s7plus_subscription_options *o,
                      uint32_t *id)
{
    plcio_rcursor rd = plcio_rcursor_make(p->body, p->body_len);
    s7p_create_res r;
    int rc = s7p_create_res_decode(&rd, &r);
    if (rc) return failf(c, PLCIO_EPROTO, "s7plus: malformed CreateObject answer for the subscription");
    if (r.ret != 0) {
        c->plc_error = r.ret;
        return failf(c, PLCIO_EPLC, "s7plus: the PLC refused the subscription (0x%llx)", (unsigned long long)r.ret);
    }
    if (r.nids == 0) return failf(c, PLCIO_EPROTO, "s7plus: CreateObject answer without the subscription's id");
    if ((rc = csub_add(c->subs, r.ids[0], n, o))) return failf(c, rc, "s7plus: out of memory");
    if (id) *id = r.ids[0];
    log_msg(&c->opt.logger, PLCIO_LOG_DEBUG, MOD, "subscription 0x%08x: %zu items, cycle %u ms", r.ids[0], n,
            o->cycle_ms);
    return PLCIO_OK;
}

static int unsub_answer(plcio_s7plus_client *c, const s7p_pdu *p, uint32_t id)
{
    csub_remove(c->subs, id); /* gone for us whatever the PLC says */
    plcio_rcursor rd = plcio_rcursor_make(p->body, p->body_len);
    uint64_t ret = 0;
    if (s7p_get_vlq64(&rd, &ret)) return failf(c, PLCIO_EPROTO, "s7plus: malformed DeleteObject answer");
    if (ret) {
        c->plc_error = ret;
        return failf(c, PLCIO_EPLC, "s7plus: the PLC refused to delete subscription 0x%08x (0x%llx)", id,
                     (unsigned long long)ret);
    }
    return PLCIO_OK;
}

int plcio_s7plus_client_subscribe(plcio_s7plus_client *c, const plcio_s7plus_sub_item *items, size_t n,
                                  const plcio_s7plus_subscription_options *opts, uint32_t *id)
{
    if (!c) return PLCIO_EINVAL;
    if (!blocking_ok(c)) return PLCIO_EUNSUPPORTED;
    if (!plcio_s7plus_client_is_connected(c)) return failf(c, PLCIO_ENOTCONN, "s7plus: not connected");
    size_t len = 0;
    int rc = sub_body(c, items, n, opts, &len);
    if (rc) return rc;
    s7p_pdu p;
    if ((rc = exchange(c, S7P_FN_CREATE_OBJECT, len, false, &p))) return rc;
    return sub_answer(c, &p, n, opts, id);
}

int plcio_s7plus_client_unsubscribe(plcio_s7plus_client *c, uint32_t id)
{
    if (!c) return PLCIO_EINVAL;
    if (!csub_has(c->subs, id)) return failf(c, PLCIO_ENOTFOUND, "s7plus: no subscription 0x%08x", id);
    int rc = body_room(c, 8);
    if (rc) return rc;
    plcio_put_u32be(c->body, id);
    s7p_pdu p;
    if ((rc = exchange(c, S7P_FN_DELETE_OBJECT, 4, false, &p))) return rc;
    return unsub_answer(c, &p, id);
}

int plcio_s7plus_client_wait_notification(plcio_s7plus_client *c, int timeout_ms)
{
    if (!c) return PLCIO_EINVAL;
    if (!blocking_ok(c)) return PLCIO_EUNSUPPORTED;
    if (!plcio_s7plus_client_is_connected(c)) return failf(c, PLCIO_ENOTCONN, "s7plus: not connected");
    uint64_t before = csub_delivered(c->subs);
    uint64_t deadline = plcio_monotonic_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * PLCIO_NS_PER_MS;
    int rc = s7p_session_drain(c->session, plcio_monotonic_ns()); /* what came with the last answer */
    if (rc) return session_failed(c, rc);
    uint8_t in[16384];
    for (;;) {
        if ((rc = csub_send_acks(c->subs, c->session, plcio_monotonic_ns()))) return session_failed(c, rc);
        size_t n;
        const uint8_t *tx = s7p_session_tx(c->session, &n);
        if (n) {
            size_t sent = 0;
            rc =
                net_send_all(c->fd, tx, n, plcio_monotonic_ns() + (uint64_t)c->opt.timeout_ms * PLCIO_NS_PER_MS, &sent);
            s7p_session_tx_done(c->session, sent);
            if (rc) return session_failed(c, rc);
        }
        if (csub_delivered(c->subs) != before) return PLCIO_OK;
        size_t got = 0;
        rc = net_recv_some(c->fd, in, sizeof in, &got, deadline);
        if (rc == PLCIO_ETIMEDOUT) return failf(c, PLCIO_ETIMEDOUT, "s7plus: no notification in %d ms", timeout_ms);
        if (rc) return session_failed(c, rc);
        if (got == 0) return session_failed(c, PLCIO_ECLOSED);
        if ((rc = s7p_session_feed(c->session, in, got, plcio_monotonic_ns()))) return session_failed(c, rc);
    }
}

static int queue_sub_job(plcio_s7plus_client *c, int job, size_t len, plcio_s7plus_done_fn done, void *ctx)
{
    c->job = job;
    c->job_sent = false;
    c->jitems = NULL;
    c->jn = 0;
    c->jlen = len;
    c->jdone = done;
    c->jctx = ctx;
    int rc = kick(c, now_ns(c));
    if (rc) {
        c->job = JOB_NONE;
        return async_fail(c, rc);
    }
    return PLCIO_OK;
}

int plcio_s7plus_client_subscribe_async(plcio_s7plus_client *c, const plcio_s7plus_sub_item *items, size_t n,
                                        const plcio_s7plus_subscription_options *opts, uint32_t *id,
                                        plcio_s7plus_done_fn done, void *ctx)
{
    if (!c) return PLCIO_EINVAL;
    if (c->job != JOB_NONE) return failf(c, PLCIO_EBUSY, "s7plus: a job is under way");
    if (!c->session) return failf(c, PLCIO_ENOTCONN, "s7plus: not connected (connect_async first)");
    size_t len = 0;
    int rc = sub_body(c, items, n, opts, &len);
    if (rc) return rc;
    c->jsub_n = n;
    c->jsub_opts = *opts;
    c->jsub_id = id;
    return queue_sub_job(c, JOB_SUB, len, done, ctx);
}

int plcio_s7plus_client_unsubscribe_async(plcio_s7plus_client *c, uint32_t id, plcio_s7plus_done_fn done, void *ctx)
{
    if (!c) return PLCIO_EINVAL;
    if (c->job != JOB_NONE) return failf(c, PLCIO_EBUSY, "s7plus: a job is under way");
    if (!csub_has(c->subs, id)) return failf(c, PLCIO_ENOTFOUND, "s7plus: no subscription 0x%08x", id);
    int rc = body_room(c, 8);
    if (rc) return rc;
    plcio_put_u32be(c->body, id);
    c->jsub_del = id;
    return queue_sub_job(c, JOB_UNSUB, 4, done, ctx);
}

void plcio_s7plus_client_sub_stats(const plcio_s7plus_client *c, plcio_s7plus_sub_stats *out)
{
    csub_stats(c ? c->subs : NULL, out);
}

/* ---- password legitimation --------------------------------------------------- */

/* Read the challenge (attribute 303 of the session object), answer it (legacy:
 * attribute 304, new: 1846) and check the PLC took it. */
static int legitimate(plcio_s7plus_client *c)
{
    uint32_t session = s7p_session_id(c->session);
    int rc = body_room(c, 256);
    if (rc) return rc;
    size_t len = 0;
    if ((rc = attr_body(session, S7P_ID_SERVER_SESSION_CHALLENGE, c->body, c->body_cap, &len)))
        return failf(c, rc, "s7plus: cannot encode the request");
    s7p_pdu p;
    if ((rc = exchange(c, S7P_FN_GET_MULTI_VARS, len, true, &p))) return rc;
    s7p_multi_res *a = malloc(sizeof *a);
    if (!a) return failf(c, PLCIO_ENOMEM, "s7plus: out of memory");
    if ((rc = answer_of(c, &p, true, a))) {
        free(a);
        return rc;
    }
    uint8_t challenge[64], answer[S7P_LEGIT_NEW_LEN];
    size_t clen = 0;
    const s7p_value *v = &a->values[0];
    bool bytes =
        v->type == S7P_T_BLOB || ((v->flags & S7P_F_ARRAY) && (v->type == S7P_T_USINT || v->type == S7P_T_BYTE));
    if (a->nvalues == 1 && a->value_nr[0] == 1 && bytes && v->size <= sizeof challenge) {
        clen = v->size;
        memcpy(challenge, v->data, clen);
    }
    bool refused = a->nerrors > 0;
    uint64_t err = refused ? a->errors[0] : 0;
    free(a);
    if (refused) {
        c->plc_error = err;
        return failf(c, PLCIO_EPLC, "s7plus: the PLC gave no legitimation challenge (error 0x%llx)",
                     (unsigned long long)err);
    }
    bool use_new = c->opt.legitimation == PLCIO_S7PLUS_LEGIT_NEW ||
                   (c->opt.legitimation == PLCIO_S7PLUS_LEGIT_AUTO && s7p_session_tls(c->session));
    size_t alen = use_new ? S7P_LEGIT_NEW_LEN : S7P_LEGIT_LEGACY_LEN;
    rc = use_new ? s7p_legit_new((s7p_ssl *)s7p_session_ssl(c->session), c->password, challenge, clen, answer)
                 : s7p_legit_legacy(c->password, challenge, clen, answer);
    OPENSSL_cleanse(challenge, sizeof challenge);
    if (rc == PLCIO_EPROTO)
        return failf(c, PLCIO_EPROTO, "s7plus: the PLC's legitimation challenge is unusable (%zu bytes, need %u)", clen,
                     use_new ? 16u : S7P_LEGIT_LEGACY_LEN);
    if (rc) return failf(c, rc, "s7plus: cannot compute the legitimation answer (%s)", plcio_strerror(rc));
    s7p_multi_req *r = calloc(1, sizeof *r);
    if (!r) return failf(c, PLCIO_ENOMEM, "s7plus: out of memory");
    r->nitems = 1;
    r->items[0].area = session;
    r->items[0].sub_area = use_new ? S7P_ID_LEGITIMATE : S7P_ID_SERVER_SESSION_RESPONSE;
    r->with_values = true;
    r->dialect = c->opt.python_snap7_dialect ? S7P_COMPACT_BLOB : 0;
    r->nvalues = 1;
    r->value_nr[0] = 1;
    r->values[0] = s7p_value_blob(answer, alen);
    r->q.present = true;
    r->q.attrs.data = qualifier_attrs;
    r->q.attrs.size = sizeof qualifier_attrs;
    r->q.attrs.count = 3;
    r->tail.no_fill = true;
    plcio_wcursor w = plcio_wcursor_make(c->body, c->body_cap);
    rc = s7p_multi_req_encode(&w, r);
    free(r);
    OPENSSL_cleanse(answer, sizeof answer);
    if (rc) return failf(c, rc, "s7plus: cannot encode the request: %s", plcio_strerror(rc));
    len = plcio_wcursor_used(&w);
    if ((rc = exchange(c, S7P_FN_SET_MULTI_VARS, len, false, &p))) return rc;
    plcio_s7plus_item it;
    memset(&it, 0, sizeof it);
    if ((rc = multi_answer(c, &it, 1, &p, false))) return rc;
    if (it.result) {
        c->plc_error = it.error;
        return failf(c, PLCIO_EACCESS, "s7plus: the PLC refused the password (%s legitimation, error 0x%llx)",
                     use_new ? "new" : "legacy", (unsigned long long)it.error);
    }
    log_msg(&c->opt.logger, PLCIO_LOG_INFO, MOD, "password accepted (%s legitimation)", use_new ? "new" : "legacy");
    plcio_error_clear(&c->last);
    return PLCIO_OK;
}

/* ---- for s7p_symbolic.c (s7p_sym.h) ---------------------------------------------- */

int s7p_cl_exchange(plcio_s7plus_client *c, uint16_t fn, size_t body_len, bool read_class, s7p_pdu *answer)
{
    return exchange(c, fn, body_len, read_class, answer);
}

static bool has_answer(plcio_s7plus_client *c) { return s7p_session_has_answer(c->session); }

int s7p_cl_send(plcio_s7plus_client *c, uint16_t fn, size_t body_len, bool read_class, uint16_t *seq)
{
    if (!blocking_ok(c)) return PLCIO_EUNSUPPORTED;
    s7p_state st = c->session ? s7p_session_state(c->session) : S7PS_CLOSED;
    if (st != S7PS_READY && st != S7PS_BUSY) return failf(c, PLCIO_ENOTCONN, "s7plus: not connected");
    int rc = s7p_session_request(c->session, fn, c->body, body_len, read_class, plcio_monotonic_ns());
    if (rc) return session_failed(c, rc);
    *seq = s7p_session_last_seq(c->session);
    return PLCIO_OK;
}

int s7p_cl_wait(plcio_s7plus_client *c, s7p_pdu *answer)
{
    memset(answer, 0, sizeof *answer);
    if (!c->session) return failf(c, PLCIO_ENOTCONN, "s7plus: not connected");
    int rc = s7p_session_drain(c->session, plcio_monotonic_ns()); /* answers that came together */
    if (rc) return session_failed(c, rc);
    if (!has_answer(c) && (rc = pump(c, has_answer))) return rc;
    rc = s7p_session_response(c->session, answer);
    if (rc != 1) return session_failed(c, rc < 0 ? rc : PLCIO_EPROTO);
    return PLCIO_OK;
}

int s7p_cl_pipeline(const plcio_s7plus_client *c) { return c->opt.pipeline; }

uint8_t *s7p_cl_body(plcio_s7plus_client *c, size_t need) { return body_room(c, need) ? NULL : c->body; }

int s7p_cl_fail(plcio_s7plus_client *c, int rc, const char *text) { return failf(c, rc, "%s", text); }

void s7p_cl_plc_error(plcio_s7plus_client *c, uint64_t code) { c->plc_error = code; }
void s7p_cl_ok(plcio_s7plus_client *c) { plcio_error_clear(&c->last); }
s7p_symcache **s7p_cl_cache(plcio_s7plus_client *c) { return &c->sym; }
int s7p_cl_max_items(const plcio_s7plus_client *c) { return c->opt.max_items; }
const uint8_t *s7p_cl_qualifier(size_t *len)
{
    *len = sizeof qualifier_attrs;
    return qualifier_attrs;
}
