/* S7 codec, part 3: PLC control (stop, PI services) and block transfer
 * (upload, download). */
#include <string.h>

#include "s7/s7_codec.h"

#define PI_MARKER 0xFD /* byte 7 of a PI-service parameter */

int s7_control_encode(s7_out *out, uint16_t pdu_ref, const s7_control *c)
{
    if (!c || !c->service || c->service_len == 0 || (c->param_len && !c->param)) return PLCIO_EINVAL;
    s7_writer wr;
    s7_writer_begin(&wr, out, PLCIO_S7_JOB, pdu_ref, 0);
    plcio_wcursor *w = &wr.w;
    plcio_wcursor_u8(w, c->function);
    if (c->function == PLCIO_S7_FN_PLC_STOP) {
        plcio_wcursor_fill(w, 0, 5);
    } else if (c->function == PLCIO_S7_FN_PI_SERVICE) {
        plcio_wcursor_fill(w, 0, 6);
        plcio_wcursor_u8(w, PI_MARKER);
        plcio_wcursor_u16be(w, c->param_len);
        if (c->param_len) plcio_wcursor_write(w, c->param, c->param_len);
    } else {
        return PLCIO_EINVAL;
    }
    plcio_wcursor_u8(w, c->service_len);
    plcio_wcursor_write(w, c->service, c->service_len);
    return s7_writer_end(&wr);
}

int s7_control_decode(const s7_pdu *pdu, s7_control *out)
{
    memset(out, 0, sizeof *out);
    if (pdu->rosctr != PLCIO_S7_JOB || pdu->param_len < 1) return PLCIO_EPROTO;
    plcio_rcursor c = plcio_rcursor_make(pdu->param, pdu->param_len);
    out->function = plcio_rcursor_u8(&c);
    if (out->function == PLCIO_S7_FN_PLC_STOP) {
        plcio_rcursor_skip(&c, 5);
    } else if (out->function == PLCIO_S7_FN_PI_SERVICE) {
        const uint8_t *h = plcio_rcursor_take(&c, 7);
        if (!h || h[6] != PI_MARKER) return PLCIO_EPROTO;
        out->param_len = plcio_rcursor_u16be(&c);
        out->param = plcio_rcursor_take(&c, out->param_len);
        if (!out->param_len) out->param = NULL;
    } else {
        return PLCIO_EPROTO;
    }
    out->service_len = plcio_rcursor_u8(&c);
    out->service = (const char *)plcio_rcursor_take(&c, out->service_len);
    if (c.overrun || !out->service_len || plcio_rcursor_left(&c)) return PLCIO_EPROTO;
    return PLCIO_OK;
}

int s7_control_response_encode(s7_out *out, uint16_t pdu_ref, uint8_t function, uint16_t error)
{
    return s7_error_encode(out, PLCIO_S7_ACK_DATA, pdu_ref, function, error);
}

int s7_control_response_decode(const s7_pdu *pdu, uint8_t function)
{
    if (pdu->rosctr != PLCIO_S7_ACK_DATA && pdu->rosctr != PLCIO_S7_ACK) return PLCIO_EPROTO;
    if (s7_pdu_error(pdu)) return PLCIO_EPLC;
    if (pdu->param_len < 1 || pdu->param[0] != function) return PLCIO_EPROTO;
    return PLCIO_OK;
}

int s7_pi_block_param(uint8_t out[10], uint8_t type, uint16_t number)
{
    return s7_pi_block_param_fs(out, type, number, 'B');
}

int s7_pi_block_param_fs(uint8_t out[10], uint8_t type, uint16_t number, char fs)
{
    uint8_t name[8];
    int rc = s7_block_name_encode(name, type, number);
    if (rc) return rc;
    out[0] = 1; /* number of blocks */
    out[1] = 0;
    memcpy(out + 2, name, 7); /* "0" type digits5 */
    out[9] = (uint8_t)fs;
    return PLCIO_OK;
}

/* ---------------------------------------------------------------- transfer */

static bool xfer_function(uint8_t fn) { return fn >= PLCIO_S7_FN_REQUEST_DOWNLOAD && fn <= PLCIO_S7_FN_END_UPLOAD; }

static bool is_download(uint8_t fn) { return fn <= PLCIO_S7_FN_DOWNLOAD_ENDED; }

static bool has_filename(uint8_t fn) { return fn != PLCIO_S7_FN_UPLOAD && fn != PLCIO_S7_FN_END_UPLOAD; }

static bool has_payload(uint8_t fn) { return fn == PLCIO_S7_FN_UPLOAD || fn == PLCIO_S7_FN_DOWNLOAD_BLOCK; }

int s7_filename(char out[10], uint8_t type, uint16_t number, char dest)
{
    uint8_t name[8];
    int rc = s7_block_name_encode(name, type, number);
    if (rc) return rc;
    out[0] = '_';
    memcpy(out + 1, name, 7);
    out[8] = dest;
    out[9] = '\0';
    return PLCIO_OK;
}

int s7_filename_parse(const char *name, uint8_t *type, uint16_t *number, char *dest)
{
    if (!name || strlen(name) != PLCIO_S7_FILENAME_LEN || name[0] != '_') return PLCIO_EPROTO;
    uint8_t tmp[8];
    memcpy(tmp, name + 1, 7);
    tmp[7] = 'A';
    int rc = s7_block_name_decode(tmp, 8, type, number);
    if (rc) return rc;
    *dest = name[8];
    return PLCIO_OK;
}

static void digits_put(plcio_wcursor *w, uint32_t v, int n)
{
    uint8_t *p = plcio_wcursor_reserve(w, (size_t)n);
    if (!p) return;
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (uint8_t)('0' + v % 10u);
        v /= 10u;
    }
}

static int digits_take(plcio_rcursor *c, size_t n, uint32_t *out)
{
    const uint8_t *p = plcio_rcursor_take(c, n);
    if (!p || n > 9) return PLCIO_EPROTO;
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return PLCIO_EPROTO;
        v = v * 10u + (uint32_t)(p[i] - '0');
    }
    *out = v;
    return PLCIO_OK;
}

int s7_xfer_job_encode(s7_out *out, uint16_t pdu_ref, const s7_xfer *x)
{
    if (!x || !xfer_function(x->function)) return PLCIO_EINVAL;
    bool fname = has_filename(x->function);
    if (fname && strlen(x->filename) != PLCIO_S7_FILENAME_LEN) return PLCIO_EINVAL;
    if (x->has_lengths && (x->load_len > 999999u || x->mc7_len > 999999u)) return PLCIO_ERANGE;
    s7_writer wr;
    s7_writer_begin(&wr, out, PLCIO_S7_JOB, pdu_ref, 0);
    plcio_wcursor *w = &wr.w;
    plcio_wcursor_u8(w, x->function);
    plcio_wcursor_u8(w, x->status);
    plcio_wcursor_u16be(w, is_download(x->function) ? 0x0100 : 0x0000);
    plcio_wcursor_u32be(w, x->upload_id);
    if (fname) {
        plcio_wcursor_u8(w, PLCIO_S7_FILENAME_LEN);
        plcio_wcursor_write(w, x->filename, PLCIO_S7_FILENAME_LEN);
    }
    if (x->function == PLCIO_S7_FN_REQUEST_DOWNLOAD && x->has_lengths) {
        plcio_wcursor_u8(w, 13);
        plcio_wcursor_u8(w, '1');
        digits_put(w, x->load_len, 6);
        digits_put(w, x->mc7_len, 6);
    }
    return s7_writer_end(&wr);
}

int s7_xfer_job_decode(const s7_pdu *pdu, s7_xfer *out)
{
    memset(out, 0, sizeof *out);
    if (pdu->rosctr != PLCIO_S7_JOB || pdu->param_len < 8 || pdu->data_len) return PLCIO_EPROTO;
    plcio_rcursor c = plcio_rcursor_make(pdu->param, pdu->param_len);
    out->function = plcio_rcursor_u8(&c);
    if (!xfer_function(out->function)) return PLCIO_EPROTO;
    out->status = plcio_rcursor_u8(&c);
    plcio_rcursor_skip(&c, 2);
    out->upload_id = plcio_rcursor_u32be(&c);
    if (has_filename(out->function)) {
        uint8_t n = plcio_rcursor_u8(&c);
        const uint8_t *name = plcio_rcursor_take(&c, n);
        if (!name || n != PLCIO_S7_FILENAME_LEN) return PLCIO_EPROTO;
        memcpy(out->filename, name, n);
        out->filename[n] = '\0';
    }
    if (plcio_rcursor_left(&c) && out->function == PLCIO_S7_FN_REQUEST_DOWNLOAD) {
        uint8_t n = plcio_rcursor_u8(&c);
        const uint8_t *one = plcio_rcursor_take(&c, 1);
        if (n != 13 || !one || one[0] != '1') return PLCIO_EPROTO;
        if (digits_take(&c, 6, &out->load_len) || digits_take(&c, 6, &out->mc7_len)) return PLCIO_EPROTO;
        out->has_lengths = true;
    }
    return plcio_rcursor_left(&c) || c.overrun ? PLCIO_EPROTO : PLCIO_OK;
}

int s7_xfer_ack_encode(s7_out *out, uint16_t pdu_ref, const s7_xfer *x, uint16_t error)
{
    if (!x || !xfer_function(x->function)) return PLCIO_EINVAL;
    if (error) return s7_error_encode(out, PLCIO_S7_ACK_DATA, pdu_ref, x->function, error);
    s7_writer wr;
    s7_writer_begin(&wr, out, PLCIO_S7_ACK_DATA, pdu_ref, 0);
    plcio_wcursor *w = &wr.w;
    plcio_wcursor_u8(w, x->function);
    if (has_payload(x->function)) {
        plcio_wcursor_u8(w, x->status ? 1 : 0);
        s7_writer_data(&wr);
        plcio_wcursor_u16be(w, x->payload_len);
        plcio_wcursor_u8(w, 0x00);
        plcio_wcursor_u8(w, 0xFB);
        if (x->payload_len) plcio_wcursor_write(w, x->payload, x->payload_len);
    } else if (x->function == PLCIO_S7_FN_START_UPLOAD) {
        if (x->load_len > 9999999u) return PLCIO_ERANGE;
        plcio_wcursor_u8(w, 0);
        plcio_wcursor_u16be(w, 0x0100);
        plcio_wcursor_u32be(w, x->upload_id);
        plcio_wcursor_u8(w, 7);
        digits_put(w, x->load_len, 7);
    }
    return s7_writer_end(&wr);
}

int s7_xfer_ack_decode(const s7_pdu *pdu, uint8_t function, s7_xfer *out)
{
    memset(out, 0, sizeof *out);
    if (pdu->rosctr != PLCIO_S7_ACK_DATA && pdu->rosctr != PLCIO_S7_ACK) return PLCIO_EPROTO;
    if (s7_pdu_error(pdu)) return PLCIO_EPLC;
    if (pdu->param_len < 1 || pdu->param[0] != function) return PLCIO_EPROTO;
    out->function = function;
    plcio_rcursor c = plcio_rcursor_make(pdu->param + 1, pdu->param_len - 1u);
    if (has_payload(function)) {
        if (pdu->param_len != 2 || pdu->param[1] > 1) return PLCIO_EPROTO;
        out->status = pdu->param[1];
        plcio_rcursor d = plcio_rcursor_make(pdu->data, pdu->data_len);
        out->payload_len = plcio_rcursor_u16be(&d);
        const uint8_t *mark = plcio_rcursor_take(&d, 2);
        if (!mark || mark[0] != 0x00 || mark[1] != 0xFB) return PLCIO_EPROTO;
        out->payload = plcio_rcursor_take(&d, out->payload_len);
        if (d.overrun || plcio_rcursor_left(&d)) return PLCIO_EPROTO;
        return PLCIO_OK;
    }
    if (pdu->data_len) return PLCIO_EPROTO;
    if (function == PLCIO_S7_FN_START_UPLOAD) {
        out->status = plcio_rcursor_u8(&c);
        plcio_rcursor_skip(&c, 2);
        out->upload_id = plcio_rcursor_u32be(&c);
        if (c.overrun) return PLCIO_EPROTO;
        if (plcio_rcursor_left(&c)) {
            uint8_t n = plcio_rcursor_u8(&c);
            if (n == 0 || digits_take(&c, n, &out->load_len)) return PLCIO_EPROTO;
            out->has_lengths = true;
        }
    }
    return PLCIO_OK;
}
