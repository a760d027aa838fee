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

const mb_link_ops mb_link_tcp = {"tcp", tcp_open, any_send, any_recv, no_discard, false, false};
const mb_link_ops mb_link_udp = {"udp", udp_open, any_send, any_recv, no_discard, true, false};
const mb_link_ops mb_link_serial = {"serial", serial_open, any_send, any_recv, serial_discard, false, true};

void mb_link_close(mb_link *l)
{
    net_close(l->fd);
    l->fd = -1;
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
    } else if (!strcmp(u->scheme, "modbus-udp")) {
        out->framing = MB_FRAMING_MBAP;
        out->link.ops = &mb_link_udp;
    } else if (!strcmp(u->scheme, "modbus-rtu") || !strcmp(u->scheme, "modbus-ascii")) {
        out->framing = !strcmp(u->scheme, "modbus-rtu") ? MB_FRAMING_RTU : MB_FRAMING_ASCII;
        out->link.ops = over_tcp ? &mb_link_tcp : &mb_link_serial;
    } else {
        return url_fail(err, cap, PLCIO_ESYNTAX,
                        "unknown scheme '%s://' (modbus-tcp, modbus-udp, modbus-rtu, modbus-ascii)", u->scheme);
    }
    return PLCIO_OK;
}

int mb_url_parse(const char *text, bool server, mb_url_config *out, char *err, size_t cap)
{
    static const char *const keys[] = {"unit",      "timeout",   "retries", "baud", "parity",
                                       "data-bits", "stop-bits", "rs485",   NULL};
    if (err && cap) err[0] = '\0';
    plcio_url u;
    plcio_error e;
    int rc = error_to_buf(&e, plcio_url_parse(text, &u, &e), err, cap);
    if (rc != PLCIO_OK) return rc;
    const char *bad = plcio_url_unknown_key(&u, keys);
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
        out->link.port = u.port >= 0 ? u.port : 502; /* TCP 4.1: port 502 */
    }
    unsigned long unit, timeout, retries;
    if ((rc = url_uint(&u, "unit", 1, 0, 255, &unit, err, cap)) != PLCIO_OK) return rc;
    if ((rc = url_uint(&u, "timeout", 1000, 1, 3600000, &timeout, err, cap)) != PLCIO_OK) return rc;
    if ((rc = url_uint(&u, "retries", out->link.ops->serial ? 1 : 0, 0, 10, &retries, err, cap)) != PLCIO_OK) return rc;
    out->unit = (uint8_t)unit;
    out->timeout_ms = (int)timeout;
    out->retries = (unsigned)retries;
    return PLCIO_OK;
}
