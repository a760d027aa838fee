/* Blocking S7 client on top of the session state machine: connection,
 * reconnect, and the pipelined executor used by every request. */
#include "s7/s7_client_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "core/error.h"
#include "plcio/url.h"

static const char MOD[] = "s7";

/* ---------------------------------------------------------------- I/O and time
 * The event-loop mode reads time from opt.clock and moves bytes through
 * opt.transport when the options give them; the blocking calls need TCP and
 * the system clock (blocking_ok). */

static uint64_t now_ns(const plcio_s7_client *c) { return plcio_clock_now(&c->opt.clock); }

static int io_connect_start(plcio_s7_client *c)
{
    const plcio_transport *t = c->opt.transport;
    int rc = t ? t->connect_start(t->ctx, c->opt.host, c->opt.port, &c->fd)
               : net_tcp_connect_start(c->opt.host, c->opt.port, &c->fd);
    if (rc == PLCIO_OK && t) rc = PLCIO_EAGAIN; /* connect_finish says when it is done */
    return rc;
}

static int io_connect_finish(plcio_s7_client *c)
{
    const plcio_transport *t = c->opt.transport;
    if (t) return t->connect_finish(t->ctx, c->fd);
    return net_wait(c->fd, true, 0) == PLCIO_OK ? net_tcp_connect_finish(c->fd) : PLCIO_EAGAIN;
}

static int io_send(plcio_s7_client *c, const uint8_t *buf, size_t len, size_t *sent)
{
    const plcio_transport *t = c->opt.transport;
    *sent = 0;
    return t ? t->send(t->ctx, c->fd, buf, len, sent) : net_send_some(c->fd, buf, len, sent);
}

/* PLCIO_EAGAIN when nothing is there now. */
static int io_recv(plcio_s7_client *c, uint8_t *buf, size_t cap, size_t *got)
{
    const plcio_transport *t = c->opt.transport;
    *got = 0;
    if (t) return t->recv(t->ctx, c->fd, buf, cap, got);
    int rc = net_recv_some(c->fd, buf, cap, got, 0);
    return rc == PLCIO_ETIMEDOUT ? PLCIO_EAGAIN : rc;
}

static void io_close(plcio_s7_client *c)
{
    if (c->fd < 0) return;
    if (c->opt.transport)
        c->opt.transport->close(c->opt.transport->ctx, c->fd);
    else
        net_close(c->fd);
    c->fd = -1;
}

static bool blocking_ok(plcio_s7_client *c)
{
    if (!c->opt.transport && !c->opt.clock.now) return true;
    s7c_fail(c, PLCIO_EUNSUPPORTED, "this client runs on a clock or transport of its own: use the event-loop calls");
    return false;
}

void plcio_s7_client_options_init(plcio_s7_client_options *o)
{
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->port = 102;
    o->rack = 0;
    o->slot = 1;
    o->type = PLCIO_S7_CONN_PG;
    o->local_tsap = 0x0100;
    o->pdu_size = PLCIO_S7_PDU_MAX;
    o->parallel_jobs = 8;
    o->connect_timeout_ms = 3000;
    o->timeout_ms = 3000;
    o->reconnect_min_ms = 100;
    o->reconnect_max_ms = 5000;
}

static int url_err(char *err, size_t cap, int rc, const char *fmt, ...) PLCIO_PRINTF(4, 5);
static int url_err(char *err, size_t cap, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && cap) vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return rc;
}

static int options_from_url(plcio_s7_client_options *o, const plcio_url *url, char *err, size_t errcap)
{
    static const char *const keys[] = {"rack",       "slot",        "pdu",      "timeout",   "type",
                                       "local-tsap", "remote-tsap", "parallel", "reconnect", "connect-timeout",
                                       "protocol",   NULL};
    if (!o || !url) return PLCIO_EINVAL;
    /* logo://HOST[:PORT]: a LOGO! 0BA7/0BA8/8.x, reached by TSAP (local 01.00, remote 02.00, as
     * python-snap7's Logo and LOGO!Soft's defaults) rather than by rack and slot. */
    bool logo = strcmp(url->scheme, "logo") == 0;
    if (!logo && strcmp(url->scheme, "s7") != 0)
        return url_err(err, errcap, PLCIO_EINVAL, "not an s7:// or logo:// URL: %s", url->scheme);
    const char *bad = NULL;
    if (logo) {
        static const char *const logo_keys[] = {"pdu",       "timeout",         "local-tsap", "remote-tsap",
                                                "reconnect", "connect-timeout", "model",      NULL};
        bad = plcio_url_unknown_key(url, logo_keys);
        if (bad)
            return url_err(err, errcap, PLCIO_ESYNTAX,
                           "unknown logo:// parameter '%s' "
                           "(logo://HOST[:PORT][?model=0ba8|0ba7&local-tsap=0x0100&remote-tsap=0x0200])",
                           bad);
        o->local_tsap = 0x0100;
        o->remote_tsap = 0x0200;
        o->parallel_jobs = 1;
        o->logo = true;
        o->logo_model = PLCIO_LOGO_0BA8;
        const char *model = plcio_url_get(url, "model");
        if (model && plcio_logo_model_parse(model, &o->logo_model, NULL) != PLCIO_OK)
            return url_err(err, errcap, PLCIO_ESYNTAX,
                           "logo:// model=%.40s: expected 0ba8 (LOGO! 8, 8.x: the default) or 0ba7", model);
    }
    if (!logo && (bad = plcio_url_unknown_key(url, keys)) != NULL)
        return url_err(err, errcap, PLCIO_ESYNTAX, "unknown s7:// parameter '%s'", bad);
    if (!url->host[0]) return url_err(err, errcap, PLCIO_ESYNTAX, "%s:// URL without a host", url->scheme);
    /* protocol=classic is this client; plus and auto need the S7CommPlus client (plcio/s7plus.h). */
    const char *proto = plcio_url_get(url, "protocol");
    if (proto && strcmp(proto, "classic") != 0)
        return url_err(err, errcap, PLCIO_EUNSUPPORTED,
                       "s7:// protocol=%.40s: this is the classic S7 client (protocol=classic); S7CommPlus is "
                       "plcio_s7plus_client_new (plcio/s7plus.h)",
                       proto);
    /* s7://HOST[:PORT] has no path; "s7://h/DB1" must not silently mean s7://h. */
    if (url->path[0] && strcmp(url->path, "/") != 0)
        return url_err(err, errcap, PLCIO_ESYNTAX,
                       "s7:// URL takes no path, found '%s' (s7://HOST[:PORT][?rack=0&slot=1])", url->path);
    o->host = url->host;
    if (url->port > 0) o->port = url->port;
    unsigned long v;
#define GETU(key, def, lo, hi, field, type)                                                                            \
    if (plcio_url_get_uint(url, key, def, lo, hi, &v) != PLCIO_OK)                                                     \
        return url_err(err, errcap, PLCIO_ERANGE, "s7:// parameter %s=%s is not a number in %lu..%lu", key,            \
                       plcio_url_get(url, key), (unsigned long)(lo), (unsigned long)(hi));                             \
    o->field = (type)v;
    GETU("rack", o->rack, 0, 7, rack, unsigned)
    GETU("slot", o->slot, 0, 31, slot, unsigned)
    GETU("pdu", o->pdu_size, 240, 8192, pdu_size, uint16_t)
    GETU("timeout", (unsigned long)o->timeout_ms, 1, 600000, timeout_ms, int)
    GETU("connect-timeout", (unsigned long)o->connect_timeout_ms, 1, 600000, connect_timeout_ms, int)
    GETU("local-tsap", o->local_tsap, 0, 0xFFFF, local_tsap, uint16_t)
    GETU("remote-tsap", o->remote_tsap, 0, 0xFFFF, remote_tsap, uint16_t)
    GETU("parallel", o->parallel_jobs, 1, 16, parallel_jobs, unsigned)
    GETU("reconnect", o->auto_reconnect, 0, 1, auto_reconnect, bool)
#undef GETU
    const char *t = plcio_url_get(url, "type");
    if (t) {
        if (!strcmp(t, "pg"))
            o->type = PLCIO_S7_CONN_PG;
        else if (!strcmp(t, "op"))
            o->type = PLCIO_S7_CONN_OP;
        else if (!strcmp(t, "basic"))
            o->type = PLCIO_S7_CONN_BASIC;
        else
            return url_err(err, errcap, PLCIO_ESYNTAX, "type=%s: expected pg, op or basic", t);
    }
    return PLCIO_OK;
}

int plcio_s7_client_options_from_url(plcio_s7_client_options *o, const plcio_url *url, plcio_error *err)
{
    error_begin(err);
    return error_end(err, options_from_url(o, url, ERROR_BUF(err)));
}

int plcio_s7_client_new(const char *url, const plcio_s7_client_options *opts, plcio_s7_client **out, plcio_error *err)
{
    error_begin(err);
    if (!out) return error_end(err, PLCIO_EINVAL);
    *out = NULL;
    plcio_s7_client_options def;
    if (opts)
        def = *opts;
    else
        plcio_s7_client_options_init(&def);
    const plcio_s7_client_options *o = &def;
    plcio_url u;
    if (url) {
        int rc = plcio_url_parse(url, &u, err);
        if (rc == PLCIO_OK) rc = plcio_s7_client_options_from_url(&def, &u, err);
        if (rc != PLCIO_OK) return rc;
    }
    plcio_s7_client *c = calloc(1, sizeof *c);
    if (!c) return error_end(err, PLCIO_ENOMEM);
    c->opt = *o;
    snprintf(c->host, sizeof c->host, "%s", o->host ? o->host : "127.0.0.1");
    c->opt.host = c->host;
    c->opt.remote_tsap_bytes = NULL;
    c->fd = -1;
    c->item_code = 0xFF;
    s7_session_cfg sc;
    memset(&sc, 0, sizeof sc);
    plcio_put_u16be(sc.local_tsap, o->local_tsap);
    sc.local_tsap_len = 2;
    if (o->remote_tsap_bytes && o->remote_tsap_len && o->remote_tsap_len <= PLCIO_COTP_TSAP_MAX) {
        memcpy(sc.remote_tsap, o->remote_tsap_bytes, o->remote_tsap_len);
        sc.remote_tsap_len = (uint8_t)o->remote_tsap_len;
    } else {
        uint16_t rt = o->remote_tsap ? o->remote_tsap : s7_tsap((uint8_t)o->type, o->rack, o->slot);
        plcio_put_u16be(sc.remote_tsap, rt);
        sc.remote_tsap_len = 2;
    }
    sc.pdu_request = o->pdu_size ? o->pdu_size : PLCIO_S7_PDU_MAX;
    sc.jobs_request = (uint16_t)(o->parallel_jobs ? o->parallel_jobs : 1);
    sc.connect_timeout_ns = (uint64_t)(o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 3000) * PLCIO_NS_PER_MS;
    sc.request_timeout_ns = (uint64_t)(o->timeout_ms > 0 ? o->timeout_ms : 3000) * PLCIO_NS_PER_MS;
    sc.logger = o->logger;
    c->session = s7_session_new(&sc);
    if (!c->session) {
        free(c);
        return error_end(err, PLCIO_ENOMEM);
    }
    *out = c;
    return PLCIO_OK;
}

void plcio_s7_client_free(plcio_s7_client *c)
{
    if (!c) return;
    /* An async job still queued or running is dropped without its callback:
     * the caller is tearing down and owns what the callback would touch. */
    if (c->aops) c->aops->destroy(c->ajob);
    s7c_rw_spare_free(c);
    io_close(c);
    s7_session_free(c->session);
    free(c->last);
    free(c);
}

/* ---------------------------------------------------------------- errors */

int s7c_fail(plcio_s7_client *c, int rc, const char *fmt, ...)
{
    /* with the first failure: an engine's thousand clients that never fail
     * do not carry a kilobyte of error text each */
    if (!c->last) c->last = calloc(1, sizeof *c->last);
    if (!c->last) return rc; /* out of memory: the code still says what failed */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->last->text, sizeof c->last->text, fmt, ap);
    va_end(ap);
    c->last->code = rc;
    log_msg(&c->opt.logger, PLCIO_LOG_DEBUG, MOD, "%s", c->last->text);
    return rc;
}

void s7c_clear_text(plcio_s7_client *c)
{
    if (c->last) c->last->text[0] = '\0';
}

static void clear_error(plcio_s7_client *c)
{
    if (c->last) plcio_error_clear(c->last);
    c->reason[0] = '\0';
    c->s7_error = 0;
    c->item_code = 0xFF;
}

const plcio_error *plcio_s7_client_last_error(const plcio_s7_client *c)
{
    static const plcio_error none = {PLCIO_EINVAL, "no client"}, ok = {PLCIO_OK, ""};
    return !c ? &none : c->last ? c->last : &ok;
}
const char *plcio_s7_client_last_reason(const plcio_s7_client *c) { return c ? c->reason : ""; }
uint16_t plcio_s7_client_last_s7_error(const plcio_s7_client *c) { return c ? c->s7_error : 0; }
uint8_t plcio_s7_client_last_item_code(const plcio_s7_client *c) { return c ? c->item_code : 0xFF; }

/* ---------------------------------------------------------------- connection */

static void drop(plcio_s7_client *c, int reason)
{
    if (c->fd < 0) return;
    io_close(c);
    s7_session_fail(c->session, reason ? reason : PLCIO_ECLOSED);
    if (c->opt.on_disconnect) c->opt.on_disconnect(c->opt.callback_ctx, c, reason);
}

/* About to wait for answers still due, having read since our last send (a
 * request would have carried the ACK): ACK at once, or a PLC with Nagle's
 * algorithm on holds its next answer until our delayed ACK (net_tcp_quickack). */
static void quickack_if_waiting(plcio_s7_client *c)
{
    if (!c->rx_unacked || c->fd < 0 || !s7_session_in_flight(c->session)) return;
    c->rx_unacked = false;
    (void)net_tcp_quickack(c->fd);
}

/* Send what is pending, then wait for input until the session deadline or
 * `until`; feed what arrives. */
int s7c_pump(plcio_s7_client *c)
{
    s7_session *s = c->session;
    size_t len;
    const uint8_t *tx = s7_session_tx(s, &len);
    if (tx) {
        size_t sent = 0;
        uint64_t d = s7_session_deadline(s);
        int rc = net_send_all(c->fd, tx, len, d ? d : net_deadline(c->opt.timeout_ms), &sent);
        s7_session_tx_done(s, sent);
        if (rc) {
            drop(c, rc);
            return rc;
        }
        c->rx_unacked = false; /* the request carried our ACK */
    }
    uint64_t deadline = s7_session_deadline(s);
    if (c->wait_until && (!deadline || c->wait_until < deadline)) deadline = c->wait_until;
    if (!deadline) return PLCIO_OK;
    quickack_if_waiting(c);
    uint8_t buf[16384];
    size_t got = 0;
    /* Read first, poll only when nothing is there (net_recv_some): with
     * answers streaming in (pipelined requests) one often is, and a poll
     * before it is a system call for nothing. Except right after sending a
     * lone request: its answer cannot be there yet, and the read would only
     * say EAGAIN. */
    int rc = tx && s7_session_in_flight(s) == 1 ? net_wait(c->fd, false, deadline) : PLCIO_OK;
    if (rc == PLCIO_OK) rc = net_recv_some(c->fd, buf, sizeof buf, &got, deadline);
    uint64_t now = now_ns(c);
    if (rc == PLCIO_ETIMEDOUT) {
        rc = s7_session_on_time(s, now);
        if (rc == PLCIO_OK && c->wait_until && now >= c->wait_until) rc = PLCIO_ETIMEDOUT;
        if (rc == PLCIO_OK) return PLCIO_OK;
    } else if (rc == PLCIO_OK) {
        c->last_activity_ns = now;
        rc = s7_session_feed(s, buf, got, now);
        if (rc == PLCIO_OK) rc = s7_session_on_time(s, now);
        c->rx_unacked = !c->opt.transport;
    }
    if (rc) drop(c, rc);
    return rc;
}

static int connect_now(plcio_s7_client *c)
{
    int rc = net_tcp_connect(c->opt.host, c->opt.port, c->opt.connect_timeout_ms, &c->fd);
    if (rc) {
        c->fd = -1;
        return s7c_fail(c, rc, "connect to %s:%d: %s", c->opt.host, c->opt.port, plcio_strerror(rc));
    }
    s7_session_start(c->session, now_ns(c));
    while (s7_session_state_get(c->session) != PLCIO_S7_SESSION_READY) {
        rc = s7c_pump(c);
        if (rc == PLCIO_OK && s7_session_state_get(c->session) == PLCIO_S7_SESSION_FAILED)
            rc = s7_session_error(c->session);
        if (rc) {
            net_close(c->fd);
            c->fd = -1;
            const char *why = rc == PLCIO_ECONNREFUSED ? "the PLC refused the connection (check rack/slot or TSAPs)"
                              : rc == PLCIO_ECLOSED    ? "the PLC closed the connection while connecting"
                                                       : plcio_strerror(rc);
            return s7c_fail(c, rc, "S7 connect to %s:%d: %s", c->opt.host, c->opt.port, why);
        }
    }
    c->ever_connected = true;
    c->backoff_ms = 0;
    if (c->opt.on_connect) c->opt.on_connect(c->opt.callback_ctx, c, PLCIO_OK);
    return PLCIO_OK;
}

int plcio_s7_client_connect(plcio_s7_client *c)
{
    if (!c) return PLCIO_EINVAL;
    clear_error(c);
    if (!blocking_ok(c)) return c->last ? c->last->code : PLCIO_ENOMEM;
    if (c->fd >= 0) drop(c, PLCIO_OK);
    c->want_connected = true;
    return connect_now(c);
}

void plcio_s7_client_close(plcio_s7_client *c)
{
    if (!c) return;
    c->want_connected = false;
    drop(c, PLCIO_OK);
}

bool plcio_s7_client_is_connected(plcio_s7_client *c)
{
    if (!c || c->fd < 0 || s7_session_state_get(c->session) != PLCIO_S7_SESSION_READY) return false;
    /* peek: a closed socket reads EOF now */
    uint8_t b[1];
    size_t got = 0;
    int rc = io_recv(c, b, sizeof b, &got);
    if (rc == PLCIO_EAGAIN) return true;
    if (rc == PLCIO_OK) {
        /* unexpected byte with nothing in flight: feed it (it fails the session if bad) */
        if (s7_session_feed(c->session, b, got, now_ns(c)) == PLCIO_OK) return true;
        rc = s7_session_error(c->session);
    }
    drop(c, rc);
    return false;
}

unsigned plcio_s7_client_pdu_size(const plcio_s7_client *c) { return c ? s7_session_pdu_size(c->session) : 0; }
unsigned plcio_s7_client_parallel_jobs(const plcio_s7_client *c) { return c ? s7_session_jobs(c->session) : 0; }
int plcio_s7_client_fd(const plcio_s7_client *c) { return c ? c->fd : -1; }

/* Make sure there is a connection: reconnect when allowed, with backoff. */
int s7c_ready(plcio_s7_client *c)
{
    clear_error(c);
    if (!blocking_ok(c)) return c->last ? c->last->code : PLCIO_ENOMEM;
    if (c->fd >= 0 && s7_session_state_get(c->session) == PLCIO_S7_SESSION_READY) return PLCIO_OK;
    if (c->fd >= 0) drop(c, s7_session_error(c->session));
    if (!c->want_connected || !c->opt.auto_reconnect)
        return s7c_fail(c, PLCIO_ENOTCONN, "not connected to %s:%d", c->opt.host, c->opt.port);
    uint64_t now = now_ns(c);
    if (now < c->next_attempt_ns)
        return s7c_fail(c, PLCIO_ENOTCONN, "not connected to %s:%d (next attempt in %llu ms)", c->opt.host, c->opt.port,
                        (unsigned long long)((c->next_attempt_ns - now) / PLCIO_NS_PER_MS));
    int rc = connect_now(c);
    if (rc) {
        int lo = c->opt.reconnect_min_ms > 0 ? c->opt.reconnect_min_ms : 100;
        int hi = c->opt.reconnect_max_ms > lo ? c->opt.reconnect_max_ms : lo;
        c->backoff_ms = c->backoff_ms ? (c->backoff_ms * 2 > hi ? hi : c->backoff_ms * 2) : lo;
        c->next_attempt_ns = now_ns(c) + (uint64_t)c->backoff_ms * PLCIO_NS_PER_MS;
    }
    return rc;
}

/* ---------------------------------------------------------------- executor */

static void exec_init(s7c_exec *e, size_t count, s7c_encode_fn enc, s7c_decode_fn dec, void *ctx)
{
    memset(e, 0, sizeof *e);
    e->count = count;
    e->enc = enc;
    e->dec = dec;
    e->ctx = ctx;
    memset(e->slot_of, 0xFF, sizeof e->slot_of); /* every slot -1: none of ours */
}

/* Queue as many requests as the pipeline takes. */
static int exec_submit(plcio_s7_client *c, s7c_exec *e)
{
    s7_session *s = c->session;
    while (e->next < e->count && s7_session_free_slots(s)) {
        s7_out out;
        uint16_t ref;
        int rc = s7_session_request_begin(s, &out, &ref);
        if (rc) break;
        rc = e->enc(c, e->ctx, e->next, &out, ref);
        if (rc) return s7c_fail(c, rc, "cannot encode request: %s", plcio_strerror(rc));
        int slot;
        rc = s7_session_request_commit(s, &out, ref, now_ns(c), &slot);
        if (rc) return s7c_fail(c, rc, "cannot queue request: %s", plcio_strerror(rc));
        e->slot_of[slot] = (int)e->next++;
    }
    return PLCIO_OK;
}

/* The answer does not fit the question: this connection is not trustworthy. */
static int answer_mismatch(plcio_s7_client *c)
{
    drop(c, PLCIO_EPROTO);
    if (!c->last || !c->last->text[0])
        s7c_fail(c, PLCIO_EPROTO, "%s:%d: answer does not match the request", c->opt.host, c->opt.port);
    return PLCIO_EPROTO;
}

/* Hand finished answers to the decoder. PLCIO_EPROTO: the connection was dropped. */
static int exec_collect(plcio_s7_client *c, s7c_exec *e)
{
    s7_session *s = c->session;
    /* the slots of this exchange's requests in flight: once they are seen, the rest is free */
    size_t pending = e->next - e->done;
    for (int i = 0; pending && i < PLCIO_S7_SESSION_MAX_JOBS; i++) {
        if (e->slot_of[i] < 0) continue;
        pending--;
        const s7_pdu *pdu = s7_session_slot_decoded(s, i); /* decoded when it arrived */
        if (!pdu) continue;
        int drc = e->dec(c, e->ctx, (size_t)e->slot_of[i], pdu);
        s7_session_slot_release(s, i);
        e->slot_of[i] = -1;
        e->done++;
        if (drc == PLCIO_EPROTO) return answer_mismatch(c);
        if (drc && !e->first_err) e->first_err = drc;
    }
    return PLCIO_OK;
}

static int link_error(plcio_s7_client *c, int rc)
{
    const char *why = rc == PLCIO_ETIMEDOUT ? "no answer from the PLC within the timeout"
                      : rc == PLCIO_ECLOSED ? "the PLC closed the connection"
                      : rc == PLCIO_EPROTO  ? "malformed or unexpected answer from the PLC"
                                            : plcio_strerror(rc);
    return s7c_fail(c, rc, "%s:%d: %s", c->opt.host, c->opt.port, why);
}

/* One request with a slot free, the usual case (a poll): what exec_run's
 * loop does for it, without the bookkeeping of a pipeline. */
static int exec_one(plcio_s7_client *c, s7c_encode_fn enc, s7c_decode_fn dec, void *ctx, const s7_out *out,
                    uint16_t ref)
{
    s7_session *s = c->session;
    s7_out o = *out;
    int slot, rc = enc(c, ctx, 0, &o, ref);
    if (rc) return s7c_fail(c, rc, "cannot encode request: %s", plcio_strerror(rc));
    rc = s7_session_request_commit(s, &o, ref, now_ns(c), &slot);
    if (rc) return s7c_fail(c, rc, "cannot queue request: %s", plcio_strerror(rc));
    const s7_pdu *pdu;
    while (!(pdu = s7_session_slot_decoded(s, slot))) {
        rc = s7c_pump(c);
        if (rc) return link_error(c, rc);
    }
    rc = dec(c, ctx, 0, pdu);
    s7_session_slot_release(s, slot);
    return rc == PLCIO_EPROTO ? answer_mismatch(c) : rc;
}

/* s7c_run on a connection just found ready. */
static int exec_run(plcio_s7_client *c, size_t count, s7c_encode_fn enc, s7c_decode_fn dec, void *ctx)
{
    if (count == 1) {
        s7_out out;
        uint16_t ref;
        if (s7_session_request_begin(c->session, &out, &ref) == PLCIO_OK) return exec_one(c, enc, dec, ctx, &out, ref);
    }
    s7c_exec e;
    exec_init(&e, count, enc, dec, ctx);
    while (e.done < e.count) {
        int rc = exec_submit(c, &e);
        if (rc) return rc;
        rc = s7c_pump(c);
        if (rc) return link_error(c, rc);
        rc = exec_collect(c, &e);
        if (rc) return rc;
    }
    return e.first_err;
}

int s7c_run(plcio_s7_client *c, size_t count, s7c_encode_fn enc, s7c_decode_fn dec, void *ctx)
{
    int rc = s7c_ready(c);
    return rc ? rc : exec_run(c, count, enc, dec, ctx);
}

int s7c_run_job(plcio_s7_client *c, const s7c_job_ops *ops, void *job)
{
    int rc;
    do {
        rc = s7c_ready(c);
        if (!rc) rc = ops->prepare(c, job);
        /* prepare does no I/O: the connection s7c_ready found is still there */
        if (!rc) rc = exec_run(c, ops->count(job), ops->encode, ops->decode, ops->ctx(job));
        rc = ops->complete(c, job, rc);
    } while (rc == PLCIO_EAGAIN);
    return rc;
}

/* ---------------------------------------------------------------- event loop */

bool plcio_s7_client_busy(const plcio_s7_client *c) { return c && c->aops; }

static void async_finish(plcio_s7_client *c, int rc)
{
    const s7c_job_ops *ops = c->aops;
    void *job = c->ajob;
    plcio_s7_done_fn done = c->adone;
    void *ctx = c->adone_ctx;
    c->aops = NULL;
    c->ajob = NULL;
    c->in_async = true;
    rc = ops->complete(c, job, rc);
    c->in_async = false;
    if (rc == PLCIO_EAGAIN) {
        /* another pass: keep the job */
        c->aops = ops;
        c->ajob = job;
        c->aprepared = false;
        return;
    }
    ops->destroy(job);
    if (done) done(ctx, c, rc);
}

int plcio_s7_client_connect_async(plcio_s7_client *c)
{
    if (!c) return PLCIO_EINVAL;
    clear_error(c);
    if (c->fd >= 0) drop(c, PLCIO_OK);
    c->want_connected = true;
    int rc = io_connect_start(c);
    if (rc == PLCIO_EAGAIN) {
        c->connecting = true;
        c->connect_deadline = now_ns(c) + (uint64_t)c->opt.connect_timeout_ms * PLCIO_NS_PER_MS;
        return PLCIO_OK;
    }
    if (rc) {
        c->fd = -1;
        return s7c_fail(c, rc, "connect to %s:%d: %s", c->opt.host, c->opt.port, plcio_strerror(rc));
    }
    c->connecting = false;
    s7_session_start(c->session, now_ns(c));
    return PLCIO_OK;
}

int s7c_async_submit(plcio_s7_client *c, const s7c_job_ops *ops, void *job, plcio_s7_done_fn done, void *ctx)
{
    if (c->aops) return PLCIO_EBUSY;
    clear_error(c);
    bool up = c->fd >= 0 && s7_session_state_get(c->session) != PLCIO_S7_SESSION_FAILED;
    if (!up) {
        if (!c->want_connected || !c->opt.auto_reconnect)
            return s7c_fail(c, PLCIO_ENOTCONN, "not connected to %s:%d", c->opt.host, c->opt.port);
        if (now_ns(c) < c->next_attempt_ns)
            return s7c_fail(c, PLCIO_ENOTCONN, "not connected to %s:%d (waiting to reconnect)", c->opt.host,
                            c->opt.port);
        int rc = plcio_s7_client_connect_async(c);
        if (rc) return rc;
    }
    c->aops = ops;
    c->ajob = job;
    c->aprepared = false;
    c->adone = done;
    c->adone_ctx = ctx;
    return PLCIO_OK;
}

/* Heartbeat: one userdata request for SZL 0x0424 (CPU state), which every
 * CPU answers cheaply; only the fact that an answer comes matters. */
static int hb_prepare(plcio_s7_client *c, void *job)
{
    (void)c, (void)job;
    return PLCIO_OK;
}
static size_t hb_count(void *job)
{
    (void)job;
    return 1;
}
static void *hb_ctx(void *job) { return job; }
static int hb_encode(plcio_s7_client *c, void *ctx, size_t index, s7_out *out, uint16_t ref)
{
    (void)c, (void)ctx, (void)index;
    uint8_t p[4];
    s7_szl_request_encode(p, 0x0424, 0);
    s7_userdata ud = s7_userdata_request(PLCIO_S7_UD_GROUP_CPU, PLCIO_S7_UD_CPU_READ_SZL, 0, p, 4);
    return s7_userdata_encode(out, ref, &ud);
}
static int hb_decode(plcio_s7_client *c, void *ctx, size_t index, const s7_pdu *pdu)
{
    (void)c, (void)ctx, (void)index;
    s7_userdata ud;
    return s7_userdata_decode(pdu, &ud); /* a refusal is an answer too */
}
static int hb_complete(plcio_s7_client *c, void *job, int rc)
{
    (void)job;
    c->heartbeat_job = false;
    return rc;
}
static void hb_destroy(void *job) { (void)job; }
static const s7c_job_ops hb_ops = {hb_prepare, hb_count, hb_ctx, hb_encode, hb_decode, hb_complete, hb_destroy};

static bool idle_ready(const plcio_s7_client *c)
{
    return c->fd >= 0 && !c->connecting && !c->aops && s7_session_state_get(c->session) == PLCIO_S7_SESSION_READY;
}

static uint64_t min_deadline(uint64_t a, uint64_t b) { return !a ? b : !b ? a : a < b ? a : b; }

unsigned plcio_s7_client_wants(const plcio_s7_client *c, uint64_t *deadline)
{
    if (deadline) *deadline = 0;
    if (!c) return 0;
    uint64_t hb = (uint64_t)(c->opt.heartbeat_ms > 0 ? c->opt.heartbeat_ms : 0) * PLCIO_NS_PER_MS;
    if (c->fd < 0) {
        /* with a heartbeat the loop keeps the link up: come back to reconnect */
        if (deadline && hb && c->want_connected && c->opt.auto_reconnect)
            *deadline = c->next_attempt_ns ? c->next_attempt_ns : now_ns(c);
        return 0;
    }
    if (c->connecting) {
        if (deadline) *deadline = c->connect_deadline;
        return PLCIO_S7_WANT_WRITE;
    }
    size_t pending;
    s7_session_tx(c->session, &pending);
    if (deadline) {
        *deadline = s7_session_deadline(c->session);
        if (hb && idle_ready(c)) *deadline = min_deadline(*deadline, c->last_activity_ns + hb);
    }
    return PLCIO_S7_WANT_READ | (pending ? PLCIO_S7_WANT_WRITE : 0u);
}

static int async_fail(plcio_s7_client *c, int rc)
{
    if (c->connecting) {
        c->connecting = false;
        io_close(c);
    } else {
        drop(c, rc);
    }
    link_error(c, rc);
    if (c->opt.auto_reconnect) {
        int lo = c->opt.reconnect_min_ms > 0 ? c->opt.reconnect_min_ms : 100;
        int hi = c->opt.reconnect_max_ms > lo ? c->opt.reconnect_max_ms : lo;
        c->backoff_ms = c->backoff_ms ? (c->backoff_ms * 2 > hi ? hi : c->backoff_ms * 2) : lo;
        c->next_attempt_ns = now_ns(c) + (uint64_t)c->backoff_ms * PLCIO_NS_PER_MS;
    }
    if (c->aops) async_finish(c, rc);
    return rc;
}

static int async_io(plcio_s7_client *c, uint64_t now)
{
    s7_session *s = c->session;
    size_t len;
    const uint8_t *tx = s7_session_tx(s, &len);
    if (tx) {
        size_t sent = 0;
        int rc = io_send(c, tx, len, &sent);
        if (rc && rc != PLCIO_EAGAIN) return rc;
        s7_session_tx_done(s, sent);
        if (sent) c->rx_unacked = false;
    }
    for (; !c->no_recv;) {
        uint8_t buf[16384];
        size_t got = 0;
        int rc = io_recv(c, buf, sizeof buf, &got);
        if (rc == PLCIO_EAGAIN) break;
        if (rc) return rc;
        c->rx_unacked = !c->opt.transport;
        c->last_activity_ns = now;
        rc = s7_session_feed(s, buf, got, now);
        if (rc) return rc;
        if (got < sizeof buf) break;
    }
    return s7_session_on_time(s, now);
}

int plcio_s7_client_process(plcio_s7_client *c)
{
    if (!c) return PLCIO_EINVAL;
    uint64_t now = now_ns(c);
    uint64_t hb = (uint64_t)(c->opt.heartbeat_ms > 0 ? c->opt.heartbeat_ms : 0) * PLCIO_NS_PER_MS;
    if (c->fd < 0) {
        if (!hb || !c->want_connected || !c->opt.auto_reconnect || now < c->next_attempt_ns) return PLCIO_OK;
        int rc = plcio_s7_client_connect_async(c);
        if (rc) return async_fail(c, rc);
    }
    if (hb && idle_ready(c) && now >= c->last_activity_ns + hb) {
        c->heartbeat_job = true;
        c->aops = &hb_ops;
        c->ajob = c;
        c->aprepared = false;
        c->adone = NULL;
        c->adone_ctx = NULL;
    }
    if (c->connecting) {
        int rc = io_connect_finish(c);
        if (rc == PLCIO_EAGAIN) return now >= c->connect_deadline ? async_fail(c, PLCIO_ETIMEDOUT) : PLCIO_OK;
        if (rc) return async_fail(c, rc);
        c->connecting = false;
        s7_session_start(c->session, now);
    }
    bool was_ready = s7_session_state_get(c->session) == PLCIO_S7_SESSION_READY;
    int rc = async_io(c, now);
    if (rc) return async_fail(c, rc);
    if (!was_ready && s7_session_state_get(c->session) == PLCIO_S7_SESSION_READY) {
        c->ever_connected = true;
        c->backoff_ms = 0;
        c->last_activity_ns = now;
        if (c->opt.on_connect) c->opt.on_connect(c->opt.callback_ctx, c, PLCIO_OK);
    }
    while (c->aops && s7_session_state_get(c->session) == PLCIO_S7_SESSION_READY) {
        if (!c->aprepared) {
            c->aprepared = true;
            rc = c->aops->prepare(c, c->ajob);
            if (rc) {
                async_finish(c, rc);
                continue;
            }
            exec_init(&c->aexec, c->aops->count(c->ajob), c->aops->encode, c->aops->decode, c->aops->ctx(c->ajob));
        }
        rc = exec_collect(c, &c->aexec);
        if (rc) return async_fail(c, rc);
        if (c->aexec.done == c->aexec.count) {
            async_finish(c, c->aexec.first_err);
            continue;
        }
        rc = exec_submit(c, &c->aexec);
        if (rc) {
            async_finish(c, rc);
            continue;
        }
        /* push what was queued right away */
        size_t len;
        const uint8_t *tx = s7_session_tx(c->session, &len);
        if (tx) {
            size_t sent = 0;
            rc = io_send(c, tx, len, &sent);
            if (rc && rc != PLCIO_EAGAIN) return async_fail(c, rc);
            s7_session_tx_done(c->session, sent);
            if (sent) c->rx_unacked = false;
        }
        break;
    }
    quickack_if_waiting(c);
    return PLCIO_OK;
}

int s7c_process_send(plcio_s7_client *c)
{
    if (!c) return PLCIO_EINVAL;
    c->no_recv = true;
    int rc = plcio_s7_client_process(c);
    c->no_recv = false;
    return rc;
}

int s7c_error_from_pdu(plcio_s7_client *c, const s7_pdu *pdu, const char *what)
{
    uint16_t e = s7_pdu_error(pdu);
    c->s7_error = e;
    snprintf(c->reason, sizeof c->reason, "%s (S7 error 0x%04X)", plcio_s7_error_text(e), e);
    return s7c_fail(c, PLCIO_EPLC, "%s: %s", what, c->reason);
}
