/* Modbus link operations over src/net, and modbus-* URL parsing. */
#include "core/error.h"
#include "modbus/mb_link.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tcp_open(mb_link *l, int timeout_ms)
{
    if (l->fd >= 0) return PLCIO_OK;
    return net_tcp_connect(l->host, l->port, timeout_ms, &l->fd);
}

static int udp_open(mb_link *l, int timeout_ms)
{
    (void)timeout_ms;
    if (l->fd >= 0) return PLCIO_OK;
    return net_udp_open(l->host, l->port, false, &l->fd, NULL);
}

static int serial_open(mb_link *l, int timeout_ms)
{
    (void)timeout_ms;
    if (l->fd >= 0) return PLCIO_OK;
    return net_serial_open(l->device, &l->serial, &l->fd);
}

static int any_send(mb_link *l, const uint8_t *buf, size_t len, uint64_t deadline_ns)
{
    return net_send_all(l->fd, buf, len, deadline_ns, NULL);
}

static int any_recv(mb_link *l, uint8_t *buf, size_t cap, size_t *got, uint64_t deadline_ns)
{
    return net_recv_some(l->fd, buf, cap, got, deadline_ns);
}

static void no_discard(mb_link *l) { (void)l; }
static void serial_discard(mb_link *l)
{
    if (l->fd >= 0) net_serial_flush(l->fd);
}

/* ---- modbus-tls: MBAP inside TLS (MB-TCP-Security), blocking ---- */

int mb_link_tls_prepare(mb_link *l)
{
    if (l->tls_ctx) return PLCIO_OK;
    return mb_tls_ctx_new(&l->tls_cfg, false, &l->tls_ctx, l->why, sizeof l->why);
}

/* Send the ciphertext the TLS layer has. */
static int tls_flush(mb_link *l, uint64_t deadline_ns)
{
    size_t n;
    const uint8_t *p;
    while ((p = mb_tls_out(&l->tls, &n)) != NULL) {
        int rc = net_send_all(l->fd, p, n, deadline_ns, NULL);
        if (rc != PLCIO_OK) return rc;
        mb_tls_sent(&l->tls, n);
    }
    return PLCIO_OK;
}

static int tls_handshake(mb_link *l, uint64_t deadline_ns)
{
    for (;;) {
        int rc = mb_tls_step(&l->tls);
        if (rc != PLCIO_OK) {
            snprintf(l->why, sizeof l->why, "TLS handshake with %s:%d failed: %s", l->host, l->port, l->tls.why);
            return rc;
        }
        if ((rc = tls_flush(l, deadline_ns)) != PLCIO_OK) return rc;
        if (l->tls.up) return PLCIO_OK;
        uint8_t buf[4096];
        size_t got = 0;
        rc = net_recv_some(l->fd, buf, sizeof buf, &got, deadline_ns);
        if (rc == PLCIO_ECLOSED) {
            snprintf(l->why, sizeof l->why,
                     "%s:%d closed the connection during the TLS handshake (not a Modbus/TCP Security server?)",
                     l->host, l->port);
            return PLCIO_EPROTO;
        }
        if (rc == PLCIO_ETIMEDOUT)
            snprintf(l->why, sizeof l->why,
                     "%s:%d did not answer the TLS handshake (not a Modbus/TCP Security server?)", l->host, l->port);
        if (rc != PLCIO_OK) return rc;
        if ((rc = mb_tls_put(&l->tls, buf, got)) != PLCIO_OK) {
            snprintf(l->why, sizeof l->why, "TLS handshake with %s:%d failed: %s", l->host, l->port, l->tls.why);
            return rc;
        }
    }
}

static int tls_open(mb_link *l, int timeout_ms)
{
    if (l->fd >= 0) return PLCIO_OK;
    l->why[0] = '\0';
    int rc = mb_link_tls_prepare(l);
    if (rc != PLCIO_OK) return rc;
    uint64_t deadline = net_deadline(timeout_ms);
    if ((rc = net_tcp_connect(l->host, l->port, timeout_ms, &l->fd)) != PLCIO_OK) return rc;
    rc = mb_tls_init(&l->tls, l->tls_ctx, false, l->host);
    if (rc == PLCIO_OK) rc = tls_handshake(l, deadline);
    if (rc != PLCIO_OK) mb_link_close(l);
    return rc;
}

static int tls_send(mb_link *l, const uint8_t *buf, size_t len, uint64_t deadline_ns)
{
    int rc = mb_tls_write(&l->tls, buf, len);
    if (rc != PLCIO_OK) {
        snprintf(l->why, sizeof l->why, "TLS to %s:%d: %s", l->host, l->port, l->tls.why);
        return rc;
    }
    return tls_flush(l, deadline_ns);
}

static int tls_recv(mb_link *l, uint8_t *buf, size_t cap, size_t *got, uint64_t deadline_ns)
{
    for (;;) {
        int rc = mb_tls_read(&l->tls, buf, cap, got);
        if (rc == PLCIO_OK) rc = tls_flush(l, deadline_ns);
        if (rc != PLCIO_OK) {
            /* TLS 1.3: a server that refuses our certificate says so after
             * our side of the handshake is done, on the first read */
            if (l->tls.why[0]) snprintf(l->why, sizeof l->why, "TLS from %s:%d: %s", l->host, l->port, l->tls.why);
            return rc;
        }
        if (*got) return PLCIO_OK;
        uint8_t tmp[4096];
        size_t n = 0;
        if ((rc = net_recv_some(l->fd, tmp, sizeof tmp, &n, deadline_ns)) != PLCIO_OK) {
            if (rc == PLCIO_ECLOSED && !l->tls.got_plain)
                snprintf(l->why, sizeof l->why,
                         "%s:%d closed the TLS connection before any answer (did it refuse our certificate?)", l->host,
                         l->port);
            return rc;
        }
        if ((rc = mb_tls_put(&l->tls, tmp, n)) != PLCIO_OK) return rc;
    }
}

bool mb_link_buffered(const mb_link *l) { return l->ops == &mb_link_tls && mb_tls_buffered(&l->tls); }

const mb_link_ops mb_link_tcp = {"tcp", tcp_open, any_send, any_recv, no_discard, false, false};
const mb_link_ops mb_link_tls = {"tls", tls_open, tls_send, tls_recv, no_discard, false, false};
const mb_link_ops mb_link_udp = {"udp", udp_open, any_send, any_recv, no_discard, true, false};
const mb_link_ops mb_link_serial = {"serial", serial_open, any_send, any_recv, serial_discard, false, true};

void mb_link_close(mb_link *l)
{
    net_close(l->fd);
    l->fd = -1;
    if (l->tls.ssl) mb_tls_clear(&l->tls);
}

void mb_link_free(mb_link *l)
{
    mb_link_close(l);
    mb_tls_ctx_free(l->tls_ctx);
    l->tls_ctx = NULL;
}

static int url_fail(char *err, size_t cap, int rc, const char *fmt, ...) PLCIO_PRINTF(4, 5);
static int url_fail(char *err, size_t cap, int rc, const char *fmt, ...)
{
    if (err && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* An integer option in [lo, hi], or a sentence naming it. */
static int url_uint(const plcio_url *u, const char *key, unsigned long def, unsigned long lo, unsigned long hi,
                    unsigned long *out, char *err, size_t cap)
{
    if (plcio_url_get_uint(u, key, def, lo, hi, out) == PLCIO_OK) return PLCIO_OK;
    return url_fail(err, cap, PLCIO_ERANGE, "parameter %s=%s is not a number in %lu..%lu", key, plcio_url_get(u, key),
                    lo, hi);
}

static int url_serial(const plcio_url *u, serial_params *sp, char *err, size_t cap)
{
    unsigned long baud, data, stop, rs485;
    int rc;
    if ((rc = url_uint(u, "baud", 19200, 50, 4000000, &baud, err, cap)) != PLCIO_OK) return rc;
    if ((rc = url_uint(u, "data-bits", 8, 7, 8, &data, err, cap)) != PLCIO_OK) return rc;
    if ((rc = url_uint(u, "stop-bits", 1, 1, 2, &stop, err, cap)) != PLCIO_OK) return rc;
    if ((rc = url_uint(u, "rs485", 0, 0, 1, &rs485, err, cap)) != PLCIO_OK) return rc;
    const char *parity = plcio_url_get(u, "parity");
    char p = 'E'; /* SL 2.5.1: even parity is the default */
    if (parity) p = parity[0];
    if (p >= 'a') p = (char)(p - 'a' + 'A');
    if ((p != 'N' && p != 'E' && p != 'O') || (parity && parity[1]))
        return url_fail(err, cap, PLCIO_ERANGE, "parameter parity=%s: expected N, E or O", parity);
    sp->baud = (unsigned)baud;
    sp->parity = p;
    sp->data_bits = (unsigned)data;
    sp->stop_bits = (unsigned)stop;
    sp->rs485_rts = rs485 != 0;
    return PLCIO_OK;
}

static int url_link(const plcio_url *u, mb_url_config *out, char *err, size_t cap)
{
    bool over_tcp = u->host[0] != '\0';
    if (!strcmp(u->scheme, "modbus-tcp") || !strcmp(u->scheme, "modbus")) {
        out->framing = MB_FRAMING_MBAP;
        out->link.ops = &mb_link_tcp;
    } else if (!strcmp(u->scheme, "modbus-tls")) {
        out->framing = MB_FRAMING_MBAP;
        out->link.ops = &mb_link_tls;
    } else if (!strcmp(u->scheme, "modbus-udp")) {
        out->framing = MB_FRAMING_MBAP;
        out->link.ops = &mb_link_udp;
    } else if (!strcmp(u->scheme, "modbus-rtu") || !strcmp(u->scheme, "modbus-ascii")) {
        out->framing = !strcmp(u->scheme, "modbus-rtu") ? MB_FRAMING_RTU : MB_FRAMING_ASCII;
        out->link.ops = over_tcp ? &mb_link_tcp : &mb_link_serial;
    } else {
        return url_fail(err, cap, PLCIO_ESYNTAX,
                        "unknown scheme '%s://' (modbus-tcp, modbus-tls, modbus-udp, modbus-rtu, modbus-ascii)",
                        u->scheme);
    }
    return PLCIO_OK;
}

/* A file path parameter of modbus-tls. */
static int url_path(const plcio_url *u, const char *key, char *dst, size_t cap_dst, char *err, size_t cap)
{
    const char *v = plcio_url_get(u, key);
    if (!v) return PLCIO_OK;
    if (!v[0] || strlen(v) >= cap_dst)
        return url_fail(err, cap, PLCIO_ERANGE, "parameter %s: empty or longer than %zu bytes", key, cap_dst - 1);
    memcpy(dst, v, strlen(v) + 1);
    return PLCIO_OK;
}

static int url_tls(const plcio_url *u, mb_tls_config *t, char *err, size_t cap)
{
    int rc;
    unsigned long insecure, verify_name;
    if ((rc = url_path(u, "ca", t->ca, sizeof t->ca, err, cap)) != PLCIO_OK) return rc;
    if ((rc = url_path(u, "cert", t->cert, sizeof t->cert, err, cap)) != PLCIO_OK) return rc;
    if ((rc = url_path(u, "key", t->key, sizeof t->key, err, cap)) != PLCIO_OK) return rc;
    if ((rc = url_path(u, "server-name", t->server_name, sizeof t->server_name, err, cap)) != PLCIO_OK) return rc;
    if ((rc = url_uint(u, "insecure", 0, 0, 1, &insecure, err, cap)) != PLCIO_OK) return rc;
    if ((rc = url_uint(u, "verify-name", 1, 0, 1, &verify_name, err, cap)) != PLCIO_OK) return rc;
    t->insecure = insecure != 0;
    t->verify_name = verify_name != 0;
    if (!t->ca[0] && !t->insecure)
        return url_fail(err, cap, PLCIO_ESYNTAX,
                        "modbus-tls:// needs ca=FILE (the CA that signed the server's certificate); insecure=1 skips "
                        "every check");
    if (!t->cert[0] != !t->key[0])
        return url_fail(err, cap, PLCIO_ESYNTAX, "modbus-tls://: cert=FILE and key=FILE go together");
    return PLCIO_OK;
}

int mb_url_parse(const char *text, bool server, mb_url_config *out, char *err, size_t cap)
{
    static const char *const keys[] = {"unit",      "timeout",   "retries", "baud", "parity",
                                       "data-bits", "stop-bits", "rs485",   NULL};
    static const char *const tls_keys[] = {"unit", "timeout",  "retries",     "ca",          "cert",
                                           "key",  "insecure", "server-name", "verify-name", NULL};
    if (err && cap) err[0] = '\0';
    plcio_url u;
    plcio_error e;
    int rc = error_to_buf(&e, plcio_url_parse(text, &u, &e), err, cap);
    if (rc != PLCIO_OK) return rc;
    bool tls = !strcmp(u.scheme, "modbus-tls");
    const char *bad = plcio_url_unknown_key(&u, tls ? tls_keys : keys);
    if (bad && tls)
        return url_fail(err, cap, PLCIO_ESYNTAX,
                        "unknown parameter '%s' (modbus-tls: ca, cert, key, server-name, verify-name, insecure, unit, "
                        "timeout, retries)",
                        bad);
    if (bad)
        return url_fail(
            err, cap, PLCIO_ESYNTAX,
            "unknown parameter '%s' (unit, timeout, retries; serial: baud, parity, data-bits, stop-bits, rs485)", bad);
    memset(out, 0, sizeof *out);
    out->link.fd = -1;
    if ((rc = url_link(&u, out, err, cap)) != PLCIO_OK) return rc;
    if (out->link.ops == &mb_link_serial) {
        if (!u.path[0] || !strcmp(u.path, "/"))
            return url_fail(err, cap, PLCIO_ESYNTAX, "%s:// URL without a host or a serial device (%s:///dev/ttyX)",
                            u.scheme, u.scheme);
        memcpy(out->link.device, u.path, sizeof out->link.device);
        if ((rc = url_serial(&u, &out->link.serial, err, cap)) != PLCIO_OK) return rc;
    } else {
        if (!u.host[0] && !server) return url_fail(err, cap, PLCIO_ESYNTAX, "%s:// URL without a host", u.scheme);
        /* HOST[:PORT] has no path: "modbus-tcp://h/x" must not silently mean modbus-tcp://h. */
        if (u.path[0] && strcmp(u.path, "/") != 0)
            return url_fail(err, cap, PLCIO_ESYNTAX, "%s://HOST[:PORT] takes no path, found '%s'", u.scheme, u.path);
        memcpy(out->link.host, u.host, sizeof out->link.host);
        out->link.port = u.port >= 0 ? u.port : tls ? MB_TLS_PORT : 502; /* TCP 4.1: port 502 */
    }
    if (tls && (rc = url_tls(&u, &out->link.tls_cfg, err, cap)) != PLCIO_OK) return rc;
    unsigned long unit, timeout, retries;
    if ((rc = url_uint(&u, "unit", 1, 0, 255, &unit, err, cap)) != PLCIO_OK) return rc;
    if ((rc = url_uint(&u, "timeout", 1000, 1, 3600000, &timeout, err, cap)) != PLCIO_OK) return rc;
    if ((rc = url_uint(&u, "retries", out->link.ops->serial ? 1 : 0, 0, 10, &retries, err, cap)) != PLCIO_OK) return rc;
    out->unit = (uint8_t)unit;
    out->timeout_ms = (int)timeout;
    out->retries = (unsigned)retries;
    return PLCIO_OK;
}
