/* A tiny S7 client on the codec, for the tests of plcio's S7 server over real
 * sockets (tests/unit/test_s7_server.c, test_s7_server_deferred.c): raw
 * frames, each step asserted, no retries, S7_RAW_TMO ms per wait unless
 * told. Include after plcio_test.h. */
#ifndef PLCIO_TEST_S7_RAW_CLIENT_H
#define PLCIO_TEST_S7_RAW_CLIENT_H

#include <string.h>

#include "net/net.h"
#include "plcio_test.h"
#include "s7/s7_codec.h"

#define S7_RAW_TMO 3000

typedef struct cli {
    int fd;
    uint16_t ref;
    uint8_t rx[2048];
    size_t rx_len;
    s7_pdu pdu;
} cli;

static inline int cli_connect_raw(cli *c, int port)
{
    memset(c, 0, sizeof *c);
    return net_tcp_connect("127.0.0.1", port, S7_RAW_TMO, &c->fd);
}

static inline void cli_send(cli *c, const uint8_t *buf, size_t len)
{
    assert_int_equal(net_send_all(c->fd, buf, len, net_deadline(S7_RAW_TMO), NULL), PLCIO_OK);
}

/* Receive one TPKT frame; returns PLCIO_OK or the net error. */
static inline int cli_recv_frame(cli *c, int timeout_ms)
{
    uint64_t dl = net_deadline(timeout_ms);
    int rc = net_recv_exact(c->fd, c->rx, 4, dl);
    if (rc) return rc;
    size_t len = (size_t)c->rx[2] << 8 | c->rx[3];
    assert_true(len >= 7 && len <= sizeof c->rx);
    rc = net_recv_exact(c->fd, c->rx + 4, len - 4, dl);
    c->rx_len = len;
    return rc;
}

/* Receive an S7 answer within timeout_ms and split it: PLCIO_OK or the net
 * error (PLCIO_ETIMEDOUT: nothing came). */
static inline int cli_recv_pdu_within(cli *c, int timeout_ms)
{
    int rc = cli_recv_frame(c, timeout_ms);
    if (rc) return rc;
    bool eot;
    const uint8_t *data;
    size_t dlen;
    assert_int_equal(cotp_dt_decode(c->rx + 4, c->rx_len - 4, &eot, &data, &dlen), PLCIO_OK);
    assert_true(eot);
    assert_int_equal(s7_pdu_decode(data, dlen, &c->pdu), PLCIO_OK);
    return PLCIO_OK;
}

/* Receive an S7 answer and split it. */
static inline void cli_recv_pdu(cli *c) { assert_int_equal(cli_recv_pdu_within(c, S7_RAW_TMO), PLCIO_OK); }

/* True when the server closed the connection (EOF) within timeout_ms. */
static inline bool cli_closed_by_server(cli *c, int timeout_ms)
{
    uint64_t dl = net_deadline(timeout_ms);
    uint8_t buf[4096];
    for (;;) {
        size_t got;
        int rc = net_recv_some(c->fd, buf, sizeof buf, &got, dl);
        if (rc == PLCIO_ECLOSED) return true;
        if (rc == PLCIO_ETIMEDOUT || rc == PLCIO_EAGAIN) return false;
        if (rc) return true; /* reset */
    }
}

static inline void cli_close(cli *c) { net_close(c->fd); }

static inline void cli_cotp(cli *c)
{
    cotp_conn cr;
    memset(&cr, 0, sizeof cr);
    cr.src_ref = 0x0001;
    cr.tpdu_size = 1024;
    cr.src_tsap_len = cr.dst_tsap_len = 2;
    cr.src_tsap[0] = 0x01;
    cr.dst_tsap[0] = 0x01;
    cr.dst_tsap[1] = 0x02;
    uint8_t frame[64];
    size_t len;
    assert_int_equal(cotp_cr_frame(frame, sizeof frame, &cr, &len), PLCIO_OK);
    cli_send(c, frame, len);
    assert_int_equal(cli_recv_frame(c, S7_RAW_TMO), PLCIO_OK);
    cotp_tpdu t;
    assert_int_equal(cotp_decode(c->rx + 4, c->rx_len - 4, &t), PLCIO_OK);
    assert_int_equal(t.code, PLCIO_COTP_CC);
    assert_int_equal(t.conn.dst_ref, 0x0001);
}

/* Setup communication asking for pdu; the PDU size the server grants. */
static inline uint16_t cli_setup(cli *c, uint16_t pdu)
{
    uint8_t frame[64];
    s7_out out = s7_out_make(frame, sizeof frame, 0);
    s7_setup s = {1, 1, pdu};
    assert_int_equal(s7_setup_encode(&out, PLCIO_S7_JOB, ++c->ref, &s), PLCIO_OK);
    cli_send(c, frame, out.len);
    cli_recv_pdu(c);
    s7_setup ack;
    assert_int_equal(s7_setup_decode(&c->pdu, &ack), PLCIO_OK);
    assert_int_equal(c->pdu.pdu_ref, c->ref);
    return ack.pdu_size;
}

/* Connected, COTP and S7 set up with a PDU of 480. */
static inline void cli_open(cli *c, int port)
{
    assert_int_equal(cli_connect_raw(c, port), PLCIO_OK);
    cli_cotp(c);
    assert_int_equal(cli_setup(c, 480), 480);
}

static inline s7_item item(uint8_t area, uint16_t db, uint8_t ts, uint32_t start, uint16_t count)
{
    s7_item it;
    memset(&it, 0, sizeof it);
    it.area = area;
    it.db = db;
    it.transport = ts;
    it.start = start;
    it.count = count;
    return it;
}

#endif
