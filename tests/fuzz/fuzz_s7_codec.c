/* S7 codec: any bytes, read as a TPKT stream, a COTP TPDU and an S7 PDU, go
 * through every decoder: an error or a struct, never a crash or a read out
 * of bounds; what decodes is encoded again and must decode to the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s7/s7_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out_buf[70000];

static void fuzz_s7_pdu(const uint8_t *data, size_t size)
{
    s7_pdu pdu;
    if (s7_pdu_decode(data, size, &pdu) != PLCIO_OK) return;
    s7_item items[PLCIO_S7_MAX_ITEMS];
    s7_data_item d[PLCIO_S7_MAX_ITEMS];
    uint8_t codes[PLCIO_S7_MAX_ITEMS];
    size_t n = 0;
    s7_out o = s7_out_make(out_buf, sizeof out_buf, 0);
    if (s7_read_request_decode(&pdu, items, PLCIO_S7_MAX_ITEMS, &n) == PLCIO_OK) {
        if (s7_read_request_encode(&o, pdu.pdu_ref, items, n) == PLCIO_OK) {
            s7_pdu back;
            s7_item again[PLCIO_S7_MAX_ITEMS];
            size_t m = 0;
            if (s7_pdu_decode(out_buf + 7, o.len - 7, &back) != PLCIO_OK) abort();
            if (s7_read_request_decode(&back, again, PLCIO_S7_MAX_ITEMS, &m) != PLCIO_OK) abort();
            if (m != n) abort();
            for (size_t i = 0; i < n; i++)
                if (again[i].area != items[i].area || again[i].transport != items[i].transport ||
                    again[i].count != items[i].count || again[i].db != items[i].db ||
                    again[i].start != items[i].start || again[i].bit != items[i].bit)
                    abort();
        }
        /* and as an answer to these items */
        (void)s7_read_response_decode(&pdu, items, n, d);
    }
    if (s7_write_request_decode(&pdu, items, d, PLCIO_S7_MAX_ITEMS, &n) == PLCIO_OK) {
        for (size_t i = 0; i < n; i++)
            d[i].transport = 0;
        (void)s7_write_request_encode(&o, pdu.pdu_ref, items, d, n);
    }
    for (size_t k = 1; k <= 3; k++) {
        s7_item it[3] = {{PLCIO_S7_AREA_DB, PLCIO_S7_TS_BYTE, 1, 1, 0, 0},
                         {PLCIO_S7_AREA_DB, PLCIO_S7_TS_BYTE, 2, 1, 0, 0},
                         {PLCIO_S7_AREA_M, PLCIO_S7_TS_BIT, 1, 0, 0, 3}};
        (void)s7_read_response_decode(&pdu, it, k, d);
        (void)s7_write_response_decode(&pdu, k, codes);
    }
    s7_setup st;
    (void)s7_setup_decode(&pdu, &st);
    s7_userdata ud;
    if (s7_userdata_decode(&pdu, &ud) == PLCIO_OK) {
        (void)s7_userdata_check(&ud, ud.group, ud.subfunction, NULL);
        uint8_t asm_buf[256];
        s7_ud_assembly a;
        s7_ud_assembly_init(&a, ud.group, ud.subfunction, asm_buf, sizeof asm_buf, 4);
        (void)s7_ud_assembly_add(&a, &ud);
        s7_szl_header h;
        s7_block_counts bc;
        s7_block_entry e[64];
        s7_block_info bi;
        s7_datetime dt;
        uint8_t type;
        uint16_t number, id, index;
        (void)s7_szl_header_decode(ud.payload, ud.payload_len, &h);
        (void)s7_szl_request_decode(ud.payload, ud.payload_len, &id, &index);
        (void)s7_block_counts_decode(ud.payload, ud.payload_len, &bc);
        (void)s7_block_list_decode(ud.payload, ud.payload_len, e, 64, &n);
        if (s7_block_info_decode(ud.payload, ud.payload_len, &bi) == PLCIO_OK) {
            uint8_t enc[PLCIO_S7_BLOCK_INFO_LEN];
            s7_block_info_encode(enc, &bi);
        }
        (void)s7_block_name_decode(ud.payload, ud.payload_len, &type, &number);
        if (s7_clock_decode(ud.payload, ud.payload_len, &dt) == PLCIO_OK) {
            uint8_t enc[10];
            if (s7_clock_encode(enc, &dt) != PLCIO_OK) abort();
        }
        (void)s7_userdata_encode(&o, pdu.pdu_ref, &ud);
    }
    s7_control ctl;
    if (s7_control_decode(&pdu, &ctl) == PLCIO_OK) (void)s7_control_encode(&o, pdu.pdu_ref, &ctl);
    (void)s7_control_response_decode(&pdu, PLCIO_S7_FN_PLC_STOP);
    s7_xfer x;
    if (s7_xfer_job_decode(&pdu, &x) == PLCIO_OK) (void)s7_xfer_job_encode(&o, pdu.pdu_ref, &x);
    for (unsigned fn = PLCIO_S7_FN_REQUEST_DOWNLOAD; fn <= PLCIO_S7_FN_END_UPLOAD; fn++)
        if (s7_xfer_ack_decode(&pdu, (uint8_t)fn, &x) == PLCIO_OK) (void)s7_xfer_ack_encode(&o, pdu.pdu_ref, &x, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t frame = 0;
    if (tpkt_decode(data, size, &frame) == PLCIO_OK) {
        cotp_tpdu t;
        if (cotp_decode(data + 4, frame - 4, &t) == PLCIO_OK && t.code == PLCIO_COTP_DT)
            fuzz_s7_pdu(t.data, t.data_len);
        if (t.code == PLCIO_COTP_CR || t.code == PLCIO_COTP_CC) {
            uint8_t f[300];
            size_t len;
            (void)cotp_cr_frame(f, sizeof f, &t.conn, &len);
        }
    }
    cotp_tpdu t;
    (void)cotp_decode(data, size, &t);
    bool eot;
    const uint8_t *p;
    size_t plen;
    (void)cotp_dt_decode(data, size, &eot, &p, &plen);
    fuzz_s7_pdu(data, size);
    return 0;
}
