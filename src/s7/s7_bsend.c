/* BSend/BRecv frames (s7_bsend.h). */
#include "s7/s7_bsend.h"

#include <string.h>

#include "plcio/bytes.h"

enum { UD_METHOD = PLCIO_S7_UD_METHOD_RESPONSE, VAR_SPEC = 0x12, VAR_LEN = 0x06, VAR_SYNTAX = 0x13 };

size_t s7_bsend_slice_max(uint16_t pdu_size, bool first)
{
    size_t over = PLCIO_S7_HEADER_LEN + S7_BSEND_PARAM_LEN + S7_BSEND_DATA_HEAD + S7_BSEND_VAR_HEAD +
                  (first ? S7_BSEND_TOTAL_LEN : 0);
    return pdu_size > over ? pdu_size - over : 0;
}

static void put_params(plcio_wcursor *w, uint8_t type, uint8_t seq, uint8_t id_seq, bool more, uint16_t error)
{
    static const uint8_t head[] = {0x00, 0x01, 0x12, 0x08};
    plcio_wcursor_write(w, head, sizeof head);
    plcio_wcursor_u8(w, UD_METHOD);
    plcio_wcursor_u8(w, (uint8_t)(type << 4 | S7_BSEND_GROUP));
    plcio_wcursor_u8(w, S7_BSEND_SUBFUNCTION);
    plcio_wcursor_u8(w, seq);
    plcio_wcursor_u8(w, id_seq);
    plcio_wcursor_u8(w, more ? 1 : 0);
    plcio_wcursor_u16be(w, error);
}

int s7_bsend_encode(s7_out *out, uint16_t pdu_ref, const s7_bsend *b)
{
    if (!b || (b->len && !b->data)) return PLCIO_EINVAL;
    size_t var_len = S7_BSEND_VAR_HEAD + (b->first ? S7_BSEND_TOTAL_LEN : 0) + b->len;
    if (var_len > 0xFFFFu - S7_BSEND_DATA_HEAD) return PLCIO_EINVAL;
    s7_writer wr;
    s7_writer_begin(&wr, out, PLCIO_S7_USERDATA, pdu_ref, 0);
    plcio_wcursor *w = &wr.w;
    put_params(w, PLCIO_S7_UD_TYPE_REQUEST, b->seq, b->id_seq, b->more, b->error);
    s7_writer_data(&wr);
    plcio_wcursor_u8(w, PLCIO_S7_RC_SUCCESS);
    plcio_wcursor_u8(w, PLCIO_S7_DTS_OCTET);
    plcio_wcursor_u16be(w, (uint16_t)var_len);
    plcio_wcursor_u8(w, VAR_SPEC);
    plcio_wcursor_u8(w, VAR_LEN);
    plcio_wcursor_u8(w, VAR_SYNTAX);
    plcio_wcursor_u8(w, 0x00);
    plcio_wcursor_u32be(w, b->r_id);
    if (b->first) plcio_wcursor_u16be(w, b->total);
    if (b->len) plcio_wcursor_write(w, b->data, b->len);
    return s7_writer_end(&wr);
}

int s7_bsend_ack_encode(s7_out *out, uint16_t pdu_ref, uint8_t seq, uint16_t error)
{
    s7_writer wr;
    s7_writer_begin(&wr, out, PLCIO_S7_USERDATA, pdu_ref, 0);
    plcio_wcursor *w = &wr.w;
    put_params(w, PLCIO_S7_UD_TYPE_RESPONSE, seq, 0, false, error);
    s7_writer_data(&wr);
    static const uint8_t no_data[] = {0x0A, 0x00, 0x00, 0x00};
    plcio_wcursor_write(w, no_data, sizeof no_data);
    return s7_writer_end(&wr);
}

s7_bsend_kind s7_bsend_classify(const s7_userdata *ud)
{
    if (ud->group != S7_BSEND_GROUP || ud->subfunction != S7_BSEND_SUBFUNCTION || !ud->extended) return S7_BSEND_NONE;
    if (ud->type == PLCIO_S7_UD_TYPE_REQUEST) return S7_BSEND_FRAGMENT;
    if (ud->type == PLCIO_S7_UD_TYPE_RESPONSE) return S7_BSEND_ACK;
    return S7_BSEND_NONE;
}

static int bad(const char **why, const char *text)
{
    if (why) *why = text;
    return PLCIO_EPROTO;
}

int s7_bsend_decode(const s7_userdata *ud, bool first, s7_bsend *out, const char **why)
{
    memset(out, 0, sizeof *out);
    if (s7_bsend_classify(ud) != S7_BSEND_FRAGMENT) return bad(why, "not a BSend fragment");
    if (ud->return_code != PLCIO_S7_RC_SUCCESS) return bad(why, "data return code is not 0xFF");
    size_t need = S7_BSEND_VAR_HEAD + (first ? S7_BSEND_TOTAL_LEN : 0);
    if (ud->payload_len < need) return bad(why, "data shorter than the R-ID header");
    const uint8_t *p = ud->payload;
    if (p[0] != VAR_SPEC || p[1] != VAR_LEN || p[2] != VAR_SYNTAX)
        return bad(why, "variable head is not 12 06 13 (BSend R-ID)");
    out->r_id = plcio_get_u32be(p + 4);
    out->first = first;
    if (first) out->total = plcio_get_u16be(p + 8);
    out->more = ud->more;
    out->seq = ud->sequence;
    out->id_seq = ud->data_unit_ref;
    out->error = ud->error;
    out->len = ud->payload_len - need;
    out->data = out->len ? p + need : NULL;
    return PLCIO_OK;
}
