/* S7CommPlus codec: any bytes, read as a frame stream, a V3 digest, a PDU and
 * every body the codec knows, a PValue and an object tree: an error or a
 * struct, never a crash or a read out of bounds; what decodes is encoded
 * again, and that encoding decodes and encodes to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s7plus/s7p_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out_a[70000], out_b[70000];

typedef int (*body_fn)(plcio_rcursor *c, plcio_wcursor *w, int variant);

static int body_multi_req(plcio_rcursor *c, plcio_wcursor *w, int variant)
{
    static s7p_multi_req r;
    int rc = s7p_multi_req_decode(c, (unsigned)variant, &r);
    return rc ? rc : s7p_multi_req_encode(w, &r);
}
static int body_multi_res(plcio_rcursor *c, plcio_wcursor *w, int variant)
{
    static s7p_multi_res r;
    int rc = s7p_multi_res_decode(c, (unsigned)variant, &r);
    return rc ? rc : s7p_multi_res_encode(w, &r);
}
static int body_setvar(plcio_rcursor *c, plcio_wcursor *w, int variant)
{
    (void)variant;
    static s7p_setvar_req r;
    int rc = s7p_setvar_req_decode(c, &r);
    return rc ? rc : s7p_setvar_req_encode(w, &r);
}
static int body_notification(plcio_rcursor *c, plcio_wcursor *w, int variant)
{
    (void)variant;
    static s7p_notification r;
    int rc = s7p_notification_decode(c, &r);
    return rc ? rc : s7p_notification_encode(w, &r);
}
static int body_create_req(plcio_rcursor *c, plcio_wcursor *w, int variant)
{
    (void)variant;
    static s7p_create_req r;
    int rc = s7p_create_req_decode(c, &r);
    return rc ? rc : s7p_create_req_encode(w, &r);
}
static int body_create_res(plcio_rcursor *c, plcio_wcursor *w, int variant)
{
    (void)variant;
    static s7p_create_res r;
    int rc = s7p_create_res_decode(c, &r);
    return rc ? rc : s7p_create_res_encode(w, &r);
}
static int body_value(plcio_rcursor *c, plcio_wcursor *w, int variant)
{
    s7p_value v;
    int rc = s7p_value_decode_ex(c, &v, (unsigned)variant & S7P_COMPACT_BLOB);
    return rc ? rc : s7p_value_encode_ex(w, &v, (unsigned)variant & S7P_COMPACT_BLOB);
}
static int body_object(plcio_rcursor *c, plcio_wcursor *w, int variant)
{
    (void)variant;
    const uint8_t *p;
    size_t n;
    int rc = s7p_object_span(c, &p, &n);
    return rc ? rc : s7p_objects_encode(w, p, n);
}

/* decode + encode; then the encoding must decode and encode to itself */
static void check_body(body_fn fn, const uint8_t *data, size_t size, int variant)
{
    plcio_rcursor c = plcio_rcursor_make(data, size);
    plcio_wcursor w = plcio_wcursor_make(out_a, sizeof out_a);
    if (fn(&c, &w, variant) != PLCIO_OK) return;
    size_t n = plcio_wcursor_used(&w);
    plcio_rcursor c2 = plcio_rcursor_make(out_a, n);
    plcio_wcursor w2 = plcio_wcursor_make(out_b, sizeof out_b);
    if (fn(&c2, &w2, variant) != PLCIO_OK) abort();
    if (plcio_wcursor_used(&w2) != n || memcmp(out_a, out_b, n) != 0) abort();
}

static void all_bodies(const uint8_t *data, size_t size)
{
    static const body_fn fns[] = {body_multi_req,  body_multi_res,  body_setvar, body_notification,
                                  body_create_req, body_create_res, body_value,  body_object};
    for (size_t k = 0; k < sizeof fns / sizeof fns[0]; k++) {
        for (int variant = 0; variant < 4; variant++)
            check_body(fns[k], data, size, variant);
    }
}

static void one_pdu(const uint8_t *data, size_t size)
{
    s7p_pdu p;
    if (s7p_pdu_decode(data, size, &p) != PLCIO_OK) return;
    all_bodies(p.body, p.body_len);
    plcio_wcursor w = plcio_wcursor_make(out_a, sizeof out_a);
    if (p.h.opcode != S7P_OP_NOTIFICATION && s7p_header_encode(&w, &p.h) == PLCIO_OK) {
        size_t hl = plcio_wcursor_used(&w);
        if (hl != size - p.body_len || memcmp(out_a, data, hl) != 0) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a stream of fragments */
    size_t pos = 0;
    while (pos < size) {
        s7p_frame f;
        size_t need = 0;
        if (s7p_frame_decode(data + pos, size - pos, &f, &need) != PLCIO_OK) break;
        if (f.used == 0 || f.used > size - pos) abort();
        one_pdu(f.data, f.len);
        const uint8_t *d, *rest;
        size_t dl, rl;
        if (s7p_digest_split(f.data, f.len, &d, &dl, &rest, &rl) == PLCIO_OK) one_pdu(rest, rl);
        pos += f.used;
    }
    /* the bytes themselves as a PDU and as every body */
    one_pdu(data, size);
    all_bodies(data, size);
    return 0;
}
