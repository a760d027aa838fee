/* Modbus link operations over src/net, and modbus-* URL parsing. */
#include "modbus/mb_link.h"

#include <string.h>

static int tcp_open(mb_link *l, int timeout_ms)
{
    if (l->fd >= 0) return PLCIO_OK;
    return plcio_net_tcp_connect(l->host, l->port, timeout_ms, &l->fd);
}

static int udp_open(mb_link *l, int timeout_ms)
{
    (void)timeout_ms;
    if (l->fd >= 0) return PLCIO_OK;
    return plcio_net_udp_open(l->host, l->port, false, &l->fd, NULL);
}

static int serial_open(mb_link *l, int timeout_ms)
{
    (void)timeout_ms;
    if (l->fd >= 0) return PLCIO_OK;
    return plcio_net_serial_open(l->device, &l->serial, &l->fd);
}

static int any_send(mb_link *l, const uint8_t *buf, size_t len, uint64_t deadline_ns)
{
    return plcio_net_send_all(l->fd, buf, len, deadline_ns, NULL);
}

static int any_recv(mb_link *l, uint8_t *buf, size_t cap, size_t *got, uint64_t deadline_ns)
{
    return plcio_net_recv_some(l->fd, buf, cap, got, deadline_ns);
}

static void no_discard(mb_link *l) { (void)l; }
static void serial_discard(mb_link *l)
{
    if (l->fd >= 0) plcio_net_serial_flush(l->fd);
}

const mb_link_ops mb_link_tcp = {"tcp", tcp_open, any_send, any_recv, no_discard, false, false};
const mb_link_ops mb_link_udp = {"udp", udp_open, any_send, any_recv, no_discard, true, false};
const mb_link_ops mb_link_serial = {"serial", serial_open, any_send, any_recv, serial_discard, false, true};

void mb_link_close(mb_link *l)
{
    plcio_net_close(l->fd);
    l->fd = -1;
}

static int url_serial(const plcio_url *u, plcio_serial_params *sp)
{
    unsigned long baud, data, stop, rs485;
    int rc;
    if ((rc = plcio_url_get_uint(u, "baud", 19200, 50, 4000000, &baud)) != PLCIO_OK) return rc;
    if ((rc = plcio_url_get_uint(u, "data-bits", 8, 7, 8, &data)) != PLCIO_OK) return rc;
    if ((rc = plcio_url_get_uint(u, "stop-bits", 1, 1, 2, &stop)) != PLCIO_OK) return rc;
    if ((rc = plcio_url_get_uint(u, "rs485", 0, 0, 1, &rs485)) != PLCIO_OK) return rc;
    const char *parity = plcio_url_get(u, "parity");
    char p = 'E'; /* SL 2.5.1: even parity is the default */
    if (parity) p = parity[0];
    if (p >= 'a') p = (char)(p - 'a' + 'A');
    if ((p != 'N' && p != 'E' && p != 'O') || (parity && parity[1])) return PLCIO_ERANGE;
    sp->baud = (unsigned)baud;
    sp->parity = p;
    sp->data_bits = (unsigned)data;
    sp->stop_bits = (unsigned)stop;
    sp->rs485_rts = rs485 != 0;
    return PLCIO_OK;
}

int mb_url_parse(const char *text, bool server, mb_url_config *out)
{
    static const char *const keys[] = {"unit",      "timeout",   "retries", "baud", "parity",
                                       "data-bits", "stop-bits", "rs485",   NULL};
    plcio_url u;
    int rc = plcio_url_parse(text, &u);
    if (rc != PLCIO_OK) return rc;
    if (plcio_url_unknown_key(&u, keys)) return PLCIO_ESYNTAX;
    memset(out, 0, sizeof *out);
    out->link.fd = -1;
    bool over_tcp = u.host[0] != '\0';
    if (!strcmp(u.scheme, "modbus-tcp") || !strcmp(u.scheme, "modbus")) {
        out->framing = MB_FRAMING_MBAP;
        out->link.ops = &mb_link_tcp;
    } else if (!strcmp(u.scheme, "modbus-udp")) {
        out->framing = MB_FRAMING_MBAP;
        out->link.ops = &mb_link_udp;
    } else if (!strcmp(u.scheme, "modbus-rtu") || !strcmp(u.scheme, "modbus-ascii")) {
        out->framing = !strcmp(u.scheme, "modbus-rtu") ? MB_FRAMING_RTU : MB_FRAMING_ASCII;
        out->link.ops = over_tcp ? &mb_link_tcp : &mb_link_serial;
    } else {
        return PLCIO_ESYNTAX;
    }
    if (out->link.ops == &mb_link_serial) {
        if (!u.path[0]) return PLCIO_ESYNTAX;
        memcpy(out->link.device, u.path, sizeof out->link.device);
        if ((rc = url_serial(&u, &out->link.serial)) != PLCIO_OK) return rc;
    } else {
        if (!over_tcp && !server) return PLCIO_ESYNTAX;
        memcpy(out->link.host, u.host, sizeof out->link.host);
        out->link.port = u.port >= 0 ? u.port : 502; /* TCP 4.1: port 502 */
    }
    unsigned long unit, timeout, retries;
    if ((rc = plcio_url_get_uint(&u, "unit", 1, 0, 255, &unit)) != PLCIO_OK) return rc;
    if ((rc = plcio_url_get_uint(&u, "timeout", 1000, 1, 3600000, &timeout)) != PLCIO_OK) return rc;
    if ((rc = plcio_url_get_uint(&u, "retries", out->link.ops->serial ? 1 : 0, 0, 10, &retries)) != PLCIO_OK) return rc;
    out->unit = (uint8_t)unit;
    out->timeout_ms = (int)timeout;
    out->retries = (unsigned)retries;
    return PLCIO_OK;
}
