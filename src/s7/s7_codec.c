/* S7 codec, part 1: TPKT, COTP, the S7 header, frame writer, setup
 * communication and read/write var. See s7_codec.h for the contracts. */
#include "s7/s7_codec.h"

#include <string.h>

/* ---------------------------------------------------------------- TPKT */

int tpkt_header_put(uint8_t *p, size_t frame_len)
{
    if (frame_len < PLCIO_TPKT_MIN_LEN || frame_len > PLCIO_TPKT_MAX_LEN) return PLCIO_EINVAL;
    p[0] = PLCIO_TPKT_VERSION;
    p[1] = 0;
    plcio_put_u16be(p + 2, (uint16_t)frame_len);
    return PLCIO_OK;
}

int tpkt_encode(plcio_wcursor *w, const uint8_t *payload, size_t len)
{
    if (len + PLCIO_TPKT_HEADER_LEN < PLCIO_TPKT_MIN_LEN || len + PLCIO_TPKT_HEADER_LEN > PLCIO_TPKT_MAX_LEN)
        return PLCIO_EINVAL;
    uint8_t *p = plcio_wcursor_reserve(w, PLCIO_TPKT_HEADER_LEN + len);
    if (!p) return PLCIO_ENOSPC;
    tpkt_header_put(p, PLCIO_TPKT_HEADER_LEN + len);
    memcpy(p + PLCIO_TPKT_HEADER_LEN, payload, len); /* len >= 3: the minimum checked above */
    return PLCIO_OK;
}

/* ---------------------------------------------------------------- COTP */

uint16_t cotp_tpdu_size_from_code(uint8_t code)
{
    /* RFC 905 13.3.4 b): 0000 1101 = 8192 ... 0000 0111 = 128 */
    if (code < 0x07 || code > 0x0D) return 0;
    return (uint16_t)(1u << code);
}

uint8_t cotp_tpdu_size_code(uint16_t size)
{
    for (uint8_t code = 0x0D; code >= 0x07; code--)
        if ((1u << code) <= size) return code;
    return 0;
}

static int cotp_conn_params(plcio_rcursor *c, cotp_conn *conn)
{
    while (plcio_rcursor_left(c) > 0) {
        uint8_t code = plcio_rcursor_u8(c);
        uint8_t plen = plcio_rcursor_u8(c);
        const uint8_t *v = plcio_rcursor_take(c, plen);
        if (!v) return PLCIO_EPROTO;
        switch (code) {
        case PLCIO_COTP_P_TPDU_SIZE:
            if (plen != 1 || !cotp_tpdu_size_from_code(v[0])) return PLCIO_EPROTO;
            conn->tpdu_size = cotp_tpdu_size_from_code(v[0]);
            break;
        case PLCIO_COTP_P_SRC_TSAP:
            if (plen == 0 || plen > PLCIO_COTP_TSAP_MAX) return PLCIO_EPROTO;
            memcpy(conn->src_tsap, v, plen);
            conn->src_tsap_len = plen;
            break;
        case PLCIO_COTP_P_DST_TSAP:
            if (plen == 0 || plen > PLCIO_COTP_TSAP_MAX) return PLCIO_EPROTO;
            memcpy(conn->dst_tsap, v, plen);
            conn->dst_tsap_len = plen;
            break;
        default: /* RFC 905 13.3.4: parameters not understood are ignored */ break;
        }
    }
    return PLCIO_OK;
}

int cotp_decode(const uint8_t *buf, size_t len, cotp_tpdu *out)
{
    if (!out || (!buf && len)) return PLCIO_EINVAL;
    memset(out, 0, sizeof *out);
    if (len < 2) return PLCIO_EPROTO;
    size_t li = buf[0]; /* length indicator: header length without itself */
    if (li < 2 || li + 1 > len || li == 255) return PLCIO_EPROTO;
    plcio_rcursor c = plcio_rcursor_make(buf + 2, li - 1);
    uint8_t code = buf[1];
    out->data = li + 1 < len ? buf + li + 1 : NULL;
    out->data_len = len - li - 1;
    if (code == PLCIO_COTP_DT) {
        if (li != 2) return PLCIO_EPROTO;
        out->code = code;
        out->eot = (buf[2] & PLCIO_COTP_EOT) != 0;
        if (buf[2] & 0x7F) return PLCIO_EPROTO; /* class 0: TPDU-NR is 0 */
        return PLCIO_OK;
    }
    out->code = code & 0xF0;
    switch (out->code) {
    case PLCIO_COTP_CR:
    case PLCIO_COTP_CC: {
        if (li < 6) return PLCIO_EPROTO;
        out->conn.dst_ref = plcio_rcursor_u16be(&c);
        out->conn.src_ref = plcio_rcursor_u16be(&c);
        out->conn.class_option = plcio_rcursor_u8(&c);
        if (out->conn.class_option >> 4 != 0) return PLCIO_EUNSUPPORTED; /* class 0 only */
        return cotp_conn_params(&c, &out->conn);
    }
    case PLCIO_COTP_DR:
        if (li < 6) return PLCIO_EPROTO;
        out->dst_ref = plcio_rcursor_u16be(&c);
        out->src_ref = plcio_rcursor_u16be(&c);
        out->reason = plcio_rcursor_u8(&c);
        return PLCIO_OK;
    case PLCIO_COTP_DC:
        if (li < 5) return PLCIO_EPROTO;
        out->dst_ref = plcio_rcursor_u16be(&c);
        out->src_ref = plcio_rcursor_u16be(&c);
        return PLCIO_OK;
    case PLCIO_COTP_ER:
        if (li < 4) return PLCIO_EPROTO;
        out->dst_ref = plcio_rcursor_u16be(&c);
        out->reason = plcio_rcursor_u8(&c);
        return PLCIO_OK;
    default: return PLCIO_EPROTO;
    }
}

int cotp_dt_decode(const uint8_t *buf, size_t len, bool *eot, const uint8_t **data, size_t *data_len)
{
    if (!buf || len < PLCIO_COTP_DT_HEADER_LEN) return PLCIO_EPROTO;
    if (buf[0] != 2) return PLCIO_EPROTO;             /* LI of a class 0 DT */
    if (buf[1] != PLCIO_COTP_DT) return PLCIO_EPROTO; /* not a DT */
    if (buf[2] & 0x7F) return PLCIO_EPROTO;           /* TPDU-NR must be 0 */
    *eot = (buf[2] & PLCIO_COTP_EOT) != 0;
    *data = buf + PLCIO_COTP_DT_HEADER_LEN;
    *data_len = len - PLCIO_COTP_DT_HEADER_LEN;
    return PLCIO_OK;
}

int cotp_dt_encode(plcio_wcursor *w, bool eot)
{
    plcio_wcursor_u8(w, 2);
    plcio_wcursor_u8(w, PLCIO_COTP_DT);
    plcio_wcursor_u8(w, eot ? PLCIO_COTP_EOT : 0);
    return w->overrun ? PLCIO_ENOSPC : PLCIO_OK;
}

static int cotp_conn_encode(plcio_wcursor *w, uint8_t code, const cotp_conn *c)
{
    if (c->src_tsap_len > PLCIO_COTP_TSAP_MAX || c->dst_tsap_len > PLCIO_COTP_TSAP_MAX) return PLCIO_EINVAL;
    uint8_t *li = plcio_wcursor_reserve(w, 1);
    uint8_t *start = w->pos;
    plcio_wcursor_u8(w, code);
    plcio_wcursor_u16be(w, c->dst_ref);
    plcio_wcursor_u16be(w, c->src_ref);
    plcio_wcursor_u8(w, c->class_option);
    if (c->tpdu_size) {
        uint8_t sc = cotp_tpdu_size_code(c->tpdu_size);
        if (!sc) return PLCIO_EINVAL;
        plcio_wcursor_u8(w, PLCIO_COTP_P_TPDU_SIZE);
        plcio_wcursor_u8(w, 1);
        plcio_wcursor_u8(w, sc);
    }
    if (c->src_tsap_len) {
        plcio_wcursor_u8(w, PLCIO_COTP_P_SRC_TSAP);
        plcio_wcursor_u8(w, c->src_tsap_len);
        plcio_wcursor_write(w, c->src_tsap, c->src_tsap_len);
    }
    if (c->dst_tsap_len) {
        plcio_wcursor_u8(w, PLCIO_COTP_P_DST_TSAP);
        plcio_wcursor_u8(w, c->dst_tsap_len);
        plcio_wcursor_write(w, c->dst_tsap, c->dst_tsap_len);
    }
    if (w->overrun) return PLCIO_ENOSPC;
    size_t n = (size_t)(w->pos - start);
    if (n > 254) return PLCIO_EINVAL;
    *li = (uint8_t)n;
    return PLCIO_OK;
}

int cotp_cr_encode(plcio_wcursor *w, const cotp_conn *c) { return cotp_conn_encode(w, PLCIO_COTP_CR, c); }
int cotp_cc_encode(plcio_wcursor *w, const cotp_conn *c) { return cotp_conn_encode(w, PLCIO_COTP_CC, c); }

int cotp_dr_encode(plcio_wcursor *w, uint16_t dst_ref, uint16_t src_ref, uint8_t reason)
{
    plcio_wcursor_u8(w, 6);
    plcio_wcursor_u8(w, PLCIO_COTP_DR);
    plcio_wcursor_u16be(w, dst_ref);
    plcio_wcursor_u16be(w, src_ref);
    plcio_wcursor_u8(w, reason);
    return w->overrun ? PLCIO_ENOSPC : PLCIO_OK;
}

int cotp_er_encode(plcio_wcursor *w, uint16_t dst_ref, uint8_t cause, const uint8_t *bad, size_t bad_len)
{
    if (bad_len > 200) bad_len = 200;
    plcio_wcursor_u8(w, (uint8_t)(4 + (bad_len ? 2 + bad_len : 0)));
    plcio_wcursor_u8(w, PLCIO_COTP_ER);
    plcio_wcursor_u16be(w, dst_ref);
    plcio_wcursor_u8(w, cause);
    if (bad_len) {
        plcio_wcursor_u8(w, PLCIO_COTP_P_INVALID_TPDU);
        plcio_wcursor_u8(w, (uint8_t)bad_len);
        plcio_wcursor_write(w, bad, bad_len);
    }
    return w->overrun ? PLCIO_ENOSPC : PLCIO_OK;
}

static int cotp_conn_frame(uint8_t *buf, size_t cap, uint8_t code, const cotp_conn *c, size_t *frame_len)
{
    plcio_wcursor w = plcio_wcursor_make(buf, cap);
    if (!plcio_wcursor_reserve(&w, PLCIO_TPKT_HEADER_LEN)) return PLCIO_ENOSPC;
    int rc = cotp_conn_encode(&w, code, c);
    if (rc) return rc;
    *frame_len = plcio_wcursor_used(&w);
    return tpkt_header_put(buf, *frame_len);
}

int cotp_cr_frame(uint8_t *buf, size_t cap, const cotp_conn *c, size_t *frame_len)
{
    return cotp_conn_frame(buf, cap, PLCIO_COTP_CR, c, frame_len);
}

int cotp_cc_frame(uint8_t *buf, size_t cap, const cotp_conn *c, size_t *frame_len)
{
    return cotp_conn_frame(buf, cap, PLCIO_COTP_CC, c, frame_len);
}

/* ---------------------------------------------------------------- S7 header */

static size_t s7_header_len(uint8_t rosctr)
{
    switch (rosctr) {
    case PLCIO_S7_JOB:
    case PLCIO_S7_USERDATA: return PLCIO_S7_HEADER_LEN;
    case PLCIO_S7_ACK:
    case PLCIO_S7_ACK_DATA: return PLCIO_S7_ACK_HEADER_LEN;
    default: return 0;
    }
}

int s7_pdu_decode(const uint8_t *buf, size_t len, s7_pdu *out)
{
    if (!out || (!buf && len)) return PLCIO_EINVAL;
    memset(out, 0, sizeof *out);
    if (len < PLCIO_S7_HEADER_LEN || buf[0] != PLCIO_S7_PROTOCOL_ID) return PLCIO_EPROTO;
    size_t hl = s7_header_len(buf[1]);
    if (!hl || len < hl) return PLCIO_EPROTO;
    out->rosctr = buf[1];
    /* bytes 2..3: redundancy identification, reserved */
    out->pdu_ref = plcio_get_u16be(buf + 4);
    out->param_len = plcio_get_u16be(buf + 6);
    out->data_len = plcio_get_u16be(buf + 8);
    if (hl == PLCIO_S7_ACK_HEADER_LEN) {
        out->error_class = buf[10];
        out->error_code = buf[11];
    }
    if (hl + (size_t)out->param_len + out->data_len != len) return PLCIO_EPROTO;
    out->param = out->param_len ? buf + hl : NULL;
    out->data = out->data_len ? buf + hl + out->param_len : NULL;
    return PLCIO_OK;
}

void s7_writer_begin(s7_writer *wr, s7_out *out, uint8_t rosctr, uint16_t pdu_ref, uint16_t error)
{
    memset(wr, 0, sizeof *wr);
    wr->out = out;
    wr->rosctr = rosctr;
    out->len = 0;
    wr->w = plcio_wcursor_make(out->buf, out->cap);
    plcio_wcursor_reserve(&wr->w, PLCIO_TPKT_HEADER_LEN);
    cotp_dt_encode(&wr->w, true);
    wr->s7 = wr->w.pos;
    plcio_wcursor_u8(&wr->w, PLCIO_S7_PROTOCOL_ID);
    plcio_wcursor_u8(&wr->w, rosctr);
    plcio_wcursor_u16be(&wr->w, 0);
    plcio_wcursor_u16be(&wr->w, pdu_ref);
    plcio_wcursor_u16be(&wr->w, 0); /* param length, patched */
    plcio_wcursor_u16be(&wr->w, 0); /* data length, patched */
    if (s7_header_len(rosctr) == PLCIO_S7_ACK_HEADER_LEN) plcio_wcursor_u16be(&wr->w, error);
    wr->param = wr->w.pos;
}

void s7_writer_data(s7_writer *wr) { wr->data = wr->w.pos; }

int s7_writer_end(s7_writer *wr)
{
    if (wr->w.overrun || !wr->s7) return PLCIO_ENOSPC;
    uint8_t *end = wr->w.pos;
    uint8_t *data = wr->data ? wr->data : end;
    size_t plen = (size_t)(data - wr->param), dlen = (size_t)(end - data);
    size_t pdu_len = (size_t)(end - wr->s7);
    size_t pdu_max = wr->out->pdu_max ? wr->out->pdu_max : PLCIO_TPKT_MAX_LEN - PLCIO_S7_FRAME_OVERHEAD;
    if (pdu_len > pdu_max || pdu_len + PLCIO_S7_FRAME_OVERHEAD > PLCIO_TPKT_MAX_LEN) return PLCIO_ENOSPC;
    plcio_put_u16be(wr->s7 + 6, (uint16_t)plen);
    plcio_put_u16be(wr->s7 + 8, (uint16_t)dlen);
    wr->out->len = pdu_len + PLCIO_S7_FRAME_OVERHEAD;
    tpkt_header_put(wr->out->buf, wr->out->len);
    return PLCIO_OK;
}

int s7_error_encode(s7_out *out, uint8_t rosctr, uint16_t pdu_ref, int function, uint16_t error)
{
    s7_writer wr;
    s7_writer_begin(&wr, out, rosctr, pdu_ref, error);
    if (function >= 0) plcio_wcursor_u8(&wr.w, (uint8_t)function);
    return s7_writer_end(&wr);
}

/* ---------------------------------------------------------------- setup */

int s7_setup_encode(s7_out *out, uint8_t rosctr, uint16_t pdu_ref, const s7_setup *s)
{
    if (!s || !s->pdu_size) return PLCIO_EINVAL;
    s7_writer wr;
    s7_writer_begin(&wr, out, rosctr, pdu_ref, 0);
    plcio_wcursor_u8(&wr.w, PLCIO_S7_FN_SETUP);
    plcio_wcursor_u8(&wr.w, 0); /* reserved */
    plcio_wcursor_u16be(&wr.w, s->max_amq_calling);
    plcio_wcursor_u16be(&wr.w, s->max_amq_called);
    plcio_wcursor_u16be(&wr.w, s->pdu_size);
    return s7_writer_end(&wr);
}

int s7_setup_decode(const s7_pdu *pdu, s7_setup *out)
{
    if (pdu->param_len != 8 || pdu->param[0] != PLCIO_S7_FN_SETUP || pdu->data_len) return PLCIO_EPROTO;
    out->max_amq_calling = plcio_get_u16be(pdu->param + 2);
    out->max_amq_called = plcio_get_u16be(pdu->param + 4);
    out->pdu_size = plcio_get_u16be(pdu->param + 6);
    return out->pdu_size ? PLCIO_OK : PLCIO_EPROTO;
}

/* ---------------------------------------------------------------- items */

size_t s7_transport_size(uint8_t transport)
{
    switch (transport) {
    case PLCIO_S7_TS_BIT:
    case PLCIO_S7_TS_BYTE:
    case PLCIO_S7_TS_CHAR: return 1;
    case PLCIO_S7_TS_WORD:
    case PLCIO_S7_TS_INT:
    case PLCIO_S7_TS_COUNTER:
    case PLCIO_S7_TS_TIMER: return 2;
    case PLCIO_S7_TS_DWORD:
    case PLCIO_S7_TS_DINT:
    case PLCIO_S7_TS_REAL: return 4;
    default: return 0;
    }
}

static bool area_known(uint8_t area)
{
    return (area >= PLCIO_S7_AREA_P && area <= 0x87) || area == PLCIO_S7_AREA_CT || area == PLCIO_S7_AREA_TM;
}

static bool is_ct_transport(uint8_t t) { return t == PLCIO_S7_TS_COUNTER || t == PLCIO_S7_TS_TIMER; }

int s7_item_check(const s7_item *it)
{
    if (!it || !area_known(it->area) || !s7_transport_size(it->transport) || it->count == 0) return PLCIO_EINVAL;
    if (it->transport == PLCIO_S7_TS_BIT ? (it->count != 1 || it->bit > 7) : it->bit != 0) return PLCIO_EINVAL;
    if (is_ct_transport(it->transport) ? it->start > 0xFFFFFFu : it->start > PLCIO_S7_MAX_BYTE_ADDRESS)
        return PLCIO_ERANGE;
    return PLCIO_OK;
}

size_t s7_item_bytes(const s7_item *it) { return (size_t)it->count * s7_transport_size(it->transport); }

uint8_t s7_item_data_transport(const s7_item *it)
{
    if (it->transport == PLCIO_S7_TS_BIT) return PLCIO_S7_DTS_BIT;
    if (is_ct_transport(it->transport)) return PLCIO_S7_DTS_OCTET;
    return PLCIO_S7_DTS_BYTE;
}

static bool dts_in_bits(uint8_t dts)
{
    return dts == PLCIO_S7_DTS_BIT || dts == PLCIO_S7_DTS_BYTE || dts == PLCIO_S7_DTS_INT;
}

size_t s7_data_len_bytes(uint8_t dts, uint16_t length_field)
{
    return dts_in_bits(dts) ? ((size_t)length_field + 7u) / 8u : length_field;
}

/* One request item into PLCIO_S7_ITEM_LEN bytes at q. */
static void item_store(uint8_t *q, const s7_item *it)
{
    uint32_t addr = is_ct_transport(it->transport) ? it->start : it->start * 8u + it->bit;
    q[0] = 0x12;                  /* variable specification */
    q[1] = 0x0A;                  /* length of what follows */
    q[2] = PLCIO_S7_SYNTAX_S7ANY; /* syntax id */
    q[3] = it->transport;
    plcio_put_u16be(q + 4, it->count);
    plcio_put_u16be(q + 6, it->db);
    q[8] = it->area;
    q[9] = (uint8_t)(addr >> 16);
    plcio_put_u16be(q + 10, (uint16_t)addr);
}

static void item_put(plcio_wcursor *w, const s7_item *it)
{
    uint8_t *q = plcio_wcursor_reserve(w, PLCIO_S7_ITEM_LEN);
    if (q) item_store(q, it);
}

static int item_get(plcio_rcursor *c, s7_item *it)
{
    const uint8_t *p = plcio_rcursor_take(c, 2);
    if (!p) return PLCIO_EPROTO;
    if (p[0] != 0x12) return PLCIO_EPROTO;
    if (p[1] != 0x0A) return p[1] < 1 ? PLCIO_EPROTO : PLCIO_EUNSUPPORTED;
    const uint8_t *q = plcio_rcursor_take(c, 10);
    if (!q) return PLCIO_EPROTO;
    if (q[0] != PLCIO_S7_SYNTAX_S7ANY) return PLCIO_EUNSUPPORTED;
    it->transport = q[1];
    it->count = plcio_get_u16be(q + 2);
    it->db = plcio_get_u16be(q + 4);
    it->area = q[6];
    uint32_t addr = (uint32_t)q[7] << 16 | plcio_get_u16be(q + 8);
    if (is_ct_transport(it->transport)) {
        it->start = addr;
        it->bit = 0;
    } else {
        it->start = addr >> 3;
        it->bit = (uint8_t)(addr & 7u);
        if (it->transport != PLCIO_S7_TS_BIT && it->bit) return PLCIO_EPROTO;
    }
    return PLCIO_OK;
}

/* Parameters "function, count, items": the count must fill param_len exactly. */
static int rw_items_decode(const s7_pdu *pdu, uint8_t fn, s7_item *items, size_t cap, size_t *n)
{
    if (pdu->param_len < 2 || pdu->param[0] != fn) return PLCIO_EPROTO;
    size_t count = pdu->param[1];
    if (count == 0 || (size_t)pdu->param_len != 2 + count * PLCIO_S7_ITEM_LEN) {
        /* a non-S7ANY spec has another length: find out which error to give */
        if (count && pdu->param_len > 4 && pdu->param[3] != 0x0A && pdu->param[2] == 0x12) return PLCIO_EUNSUPPORTED;
        return PLCIO_EPROTO;
    }
    if (count > cap) return PLCIO_ENOSPC;
    plcio_rcursor c = plcio_rcursor_make(pdu->param + 2, pdu->param_len - 2u);
    for (size_t i = 0; i < count; i++) {
        int rc = item_get(&c, &items[i]);
        if (rc) return rc;
    }
    *n = count;
    return PLCIO_OK;
}

static int items_encode(s7_writer *wr, uint8_t fn, const s7_item *items, size_t n)
{
    if (!items || n == 0 || n > 255) return PLCIO_EINVAL;
    plcio_wcursor_u8(&wr->w, fn);
    plcio_wcursor_u8(&wr->w, (uint8_t)n);
    for (size_t i = 0; i < n; i++) {
        int rc = s7_item_check(&items[i]);
        if (rc) return rc;
        item_put(&wr->w, &items[i]);
    }
    return PLCIO_OK;
}

/* Every length of a read request is known before the first byte: one room
 * check, then plain stores (the bytes and errors of the s7_writer path;
 * this runs for every read a client makes). */
int s7_read_request_encode(s7_out *out, uint16_t pdu_ref, const s7_item *items, size_t n)
{
    out->len = 0;
    if (!items || n == 0 || n > 255) return PLCIO_EINVAL;
    size_t plen = PLCIO_S7_RW_PARAM_HEAD + n * PLCIO_S7_ITEM_LEN, pdu_len = PLCIO_S7_HEADER_LEN + plen;
    size_t frame = pdu_len + PLCIO_S7_FRAME_OVERHEAD;
    size_t pdu_max = out->pdu_max ? out->pdu_max : PLCIO_TPKT_MAX_LEN - PLCIO_S7_FRAME_OVERHEAD;
    bool room = out->buf && frame <= out->cap && pdu_len <= pdu_max;
    uint8_t *p = out->buf;
    /* a bad item is reported before a lack of room, as the writer did */
    for (size_t i = 0; i < n; i++) {
        int rc = s7_item_check(&items[i]);
        if (rc) return rc;
        if (room)
            item_store(p + PLCIO_S7_FRAME_OVERHEAD + PLCIO_S7_READ_REQ_OVERHEAD + i * PLCIO_S7_ITEM_LEN, &items[i]);
    }
    if (!room) return PLCIO_ENOSPC;
    tpkt_header_put(p, frame);
    p[4] = 2; /* COTP DT, last TPDU */
    p[5] = PLCIO_COTP_DT;
    p[6] = PLCIO_COTP_EOT;
    uint8_t *h = p + PLCIO_S7_FRAME_OVERHEAD;
    h[0] = PLCIO_S7_PROTOCOL_ID;
    h[1] = PLCIO_S7_JOB;
    plcio_put_u16be(h + 2, 0);
    plcio_put_u16be(h + 4, pdu_ref);
    plcio_put_u16be(h + 6, (uint16_t)plen);
    plcio_put_u16be(h + 8, 0);
    h[10] = PLCIO_S7_FN_READ;
    h[11] = (uint8_t)n;
    out->len = frame;
    return PLCIO_OK;
}

int s7_read_request_decode(const s7_pdu *pdu, s7_item *items, size_t cap, size_t *n)
{
    if (pdu->rosctr != PLCIO_S7_JOB || pdu->data_len) return PLCIO_EPROTO;
    return rw_items_decode(pdu, PLCIO_S7_FN_READ, items, cap, n);
}

/* One data item: header, data, and a pad byte after odd data unless last. */
static int data_item_put(plcio_wcursor *w, const s7_data_item *d, bool last)
{
    uint16_t field = d->len;
    if (dts_in_bits(d->transport)) {
        if (d->transport == PLCIO_S7_DTS_BIT) {
            if (d->len > 1) return PLCIO_EINVAL;
            field = d->len; /* one bit */
        } else {
            if (d->len > 0x1FFF) return PLCIO_EINVAL;
            field = (uint16_t)(d->len * 8u);
        }
    }
    plcio_wcursor_u8(w, d->return_code);
    plcio_wcursor_u8(w, d->transport);
    plcio_wcursor_u16be(w, field);
    if (d->len) plcio_wcursor_write(w, d->data, d->len);
    if ((d->len & 1u) && !last) plcio_wcursor_u8(w, 0);
    return PLCIO_OK;
}

/* Read one data item; expect > 0 demands that many bytes on success. */
static int data_item_get(plcio_rcursor *c, s7_data_item *d, bool last, bool read_rsp)
{
    const uint8_t *h = plcio_rcursor_take(c, PLCIO_S7_DATA_ITEM_HEAD);
    if (!h) return PLCIO_EPROTO;
    d->return_code = h[0];
    d->transport = h[1];
    uint16_t field = plcio_get_u16be(h + 2);
    if (read_rsp && d->return_code != PLCIO_S7_RC_SUCCESS) {
        /* refused item: header only (an empty payload) */
        d->data = NULL;
        d->len = 0;
        if (field != 0 && d->transport != PLCIO_S7_DTS_NULL) {
            size_t nb = s7_data_len_bytes(d->transport, field);
            if (!plcio_rcursor_skip(c, nb + ((nb & 1u) && !last))) return PLCIO_EPROTO;
        }
        return PLCIO_OK;
    }
    size_t nb = s7_data_len_bytes(d->transport, field);
    d->data = plcio_rcursor_take(c, nb);
    if (!d->data) return PLCIO_EPROTO;
    d->len = (uint16_t)nb;
    if ((nb & 1u) && !last && !plcio_rcursor_skip(c, 1)) return PLCIO_EPROTO;
    return PLCIO_OK;
}

int s7_read_response_encode(s7_out *out, uint16_t pdu_ref, const s7_data_item *items, size_t n)
{
    if (!items || n == 0 || n > 255) return PLCIO_EINVAL;
    s7_writer wr;
    s7_writer_begin(&wr, out, PLCIO_S7_ACK_DATA, pdu_ref, 0);
    plcio_wcursor_u8(&wr.w, PLCIO_S7_FN_READ);
    plcio_wcursor_u8(&wr.w, (uint8_t)n);
    s7_writer_data(&wr);
    for (size_t i = 0; i < n; i++) {
        s7_data_item d = items[i];
        if (d.return_code != PLCIO_S7_RC_SUCCESS) {
            d.transport = PLCIO_S7_DTS_NULL;
            d.len = 0;
        }
        int rc = data_item_put(&wr.w, &d, i + 1 == n);
        if (rc) return rc;
    }
    return s7_writer_end(&wr);
}

static int ack_check(const s7_pdu *pdu, uint8_t fn)
{
    if (pdu->rosctr != PLCIO_S7_ACK_DATA && pdu->rosctr != PLCIO_S7_ACK) return PLCIO_EPROTO;
    if (s7_pdu_error(pdu)) return PLCIO_EPLC;
    if (pdu->rosctr != PLCIO_S7_ACK_DATA || pdu->param_len < 1 || pdu->param[0] != fn) return PLCIO_EPROTO;
    return PLCIO_OK;
}

int s7_read_response_decode(const s7_pdu *pdu, const s7_item *req, size_t n, s7_data_item *out)
{
    int rc = ack_check(pdu, PLCIO_S7_FN_READ);
    if (rc) return rc;
    if (pdu->param_len != 2 || pdu->param[1] != n || n == 0) return PLCIO_EPROTO;
    plcio_rcursor c = plcio_rcursor_make(pdu->data, pdu->data_len);
    for (size_t i = 0; i < n; i++) {
        rc = data_item_get(&c, &out[i], i + 1 == n, true);
        if (rc) return rc;
        if (out[i].return_code == PLCIO_S7_RC_SUCCESS && out[i].len != s7_item_bytes(&req[i])) return PLCIO_EPROTO;
    }
    return plcio_rcursor_left(&c) ? PLCIO_EPROTO : PLCIO_OK;
}

int s7_write_request_encode(s7_out *out, uint16_t pdu_ref, const s7_item *items, const s7_data_item *data, size_t n)
{
    s7_writer wr;
    s7_writer_begin(&wr, out, PLCIO_S7_JOB, pdu_ref, 0);
    int rc = items_encode(&wr, PLCIO_S7_FN_WRITE, items, n);
    if (rc) return rc;
    s7_writer_data(&wr);
    for (size_t i = 0; i < n; i++) {
        s7_data_item d = data[i];
        if (d.len != s7_item_bytes(&items[i]) || (d.len && !d.data)) return PLCIO_EINVAL;
        if (!d.transport) d.transport = s7_item_data_transport(&items[i]);
        d.return_code = 0;
        rc = data_item_put(&wr.w, &d, i + 1 == n);
        if (rc) return rc;
    }
    return s7_writer_end(&wr);
}

int s7_write_request_decode(const s7_pdu *pdu, s7_item *items, s7_data_item *data, size_t cap, size_t *n)
{
    if (pdu->rosctr != PLCIO_S7_JOB) return PLCIO_EPROTO;
    size_t count = 0;
    int rc = rw_items_decode(pdu, PLCIO_S7_FN_WRITE, items, cap, &count);
    if (rc) return rc;
    plcio_rcursor c = plcio_rcursor_make(pdu->data, pdu->data_len);
    for (size_t i = 0; i < count; i++) {
        rc = data_item_get(&c, &data[i], i + 1 == count, false);
        if (rc) return rc;
    }
    if (plcio_rcursor_left(&c)) return PLCIO_EPROTO;
    *n = count;
    return PLCIO_OK;
}

int s7_write_response_encode(s7_out *out, uint16_t pdu_ref, const uint8_t *return_codes, size_t n)
{
    if (!return_codes || n == 0 || n > 255) return PLCIO_EINVAL;
    s7_writer wr;
    s7_writer_begin(&wr, out, PLCIO_S7_ACK_DATA, pdu_ref, 0);
    plcio_wcursor_u8(&wr.w, PLCIO_S7_FN_WRITE);
    plcio_wcursor_u8(&wr.w, (uint8_t)n);
    s7_writer_data(&wr);
    plcio_wcursor_write(&wr.w, return_codes, n);
    return s7_writer_end(&wr);
}

int s7_write_response_decode(const s7_pdu *pdu, size_t n, uint8_t *return_codes)
{
    int rc = ack_check(pdu, PLCIO_S7_FN_WRITE);
    if (rc) return rc;
    if (pdu->param_len != 2 || pdu->param[1] != n || n == 0 || pdu->data_len != n) return PLCIO_EPROTO;
    memcpy(return_codes, pdu->data, n);
    return PLCIO_OK;
}
