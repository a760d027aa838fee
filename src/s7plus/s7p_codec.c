/* S7CommPlus codec: see s7p_codec.h for the rules and the sources. */
#include "s7plus/s7p_codec.h"

#include <string.h>

#define S7P_MAX_DEPTH 32 /* nesting of structs/arrays/objects a decoder follows */

static int need(const plcio_rcursor *c) { return c->overrun ? PLCIO_EPROTO : PLCIO_OK; }
static int room(const plcio_wcursor *w) { return w->overrun ? PLCIO_ENOSPC : PLCIO_OK; }

/* ---- VLQ ----------------------------------------------------------------- */

/* Read up to max_bytes groups; the last allowed byte of a 64-bit VLQ carries
 * 8 bits. Sets *first for the sign of signed forms. */
static int get_groups(plcio_rcursor *c, int max_bytes, bool wide_last, uint64_t *v, uint8_t *first)
{
    uint64_t acc = 0;
    for (int n = 0; n < max_bytes; n++) {
        if (plcio_rcursor_left(c) < 1) return PLCIO_EPROTO;
        uint8_t b = plcio_rcursor_u8(c);
        if (n == 0) *first = b;
        if (wide_last && n == max_bytes - 1) {
            *v = acc << 8 | b;
            return PLCIO_OK;
        }
        acc = acc << 7 | (b & 0x7F);
        if (!(b & 0x80)) {
            *v = acc;
            return PLCIO_OK;
        }
    }
    return PLCIO_EPROTO; /* too long for its width */
}

static unsigned vlq_len_of(const plcio_rcursor *before, const plcio_rcursor *after);

/* Bytes the shortest encoding takes: decoders refuse longer forms, so that
 * decode + encode gives the same bytes and one value has one encoding. */
static unsigned len_u(uint64_t v)
{
    unsigned n = 1;
    while (n < 8 && (v >> (7 * n)) != 0)
        n++;
    return (n == 8 && (v >> 56) != 0) ? 9 : n;
}

static unsigned len_s(int64_t v)
{
    for (unsigned n = 1; n <= 8; n++) {
        int64_t lim = (int64_t)1 << (7 * n - 1);
        if (v >= -lim && v < lim) return n;
    }
    return 9;
}

int s7p_get_vlq32(plcio_rcursor *c, uint32_t *v)
{
    uint64_t x;
    uint8_t first = 0;
    plcio_rcursor start = *c;
    int rc = get_groups(c, 5, false, &x, &first);
    if (rc) return rc;
    if (x > UINT32_MAX || len_u(x) != vlq_len_of(&start, c)) return PLCIO_EPROTO;
    *v = (uint32_t)x;
    return PLCIO_OK;
}

int s7p_get_vlq64(plcio_rcursor *c, uint64_t *v)
{
    uint8_t first = 0;
    plcio_rcursor start = *c;
    int rc = get_groups(c, 9, true, v, &first);
    if (rc) return rc;
    return len_u(*v) == vlq_len_of(&start, c) ? PLCIO_OK : PLCIO_EPROTO;
}

/* Sign-extend a value of `bits` significant bits. */
static int64_t sign_extend(uint64_t x, unsigned bits)
{
    if (bits >= 64) return (int64_t)x;
    uint64_t m = 1ULL << (bits - 1);
    x &= (1ULL << bits) - 1;
    return (int64_t)((x ^ m) - m);
}

static unsigned vlq_len_of(const plcio_rcursor *before, const plcio_rcursor *after)
{
    return (unsigned)(after->pos - before->pos);
}

int s7p_get_svlq32(plcio_rcursor *c, int32_t *v)
{
    plcio_rcursor start = *c;
    uint64_t x;
    uint8_t first = 0;
    int rc = get_groups(c, 5, false, &x, &first);
    if (rc) return rc;
    unsigned n = vlq_len_of(&start, c);
    int64_t s = sign_extend(x, 7 * n);
    if (s < INT32_MIN || s > INT32_MAX || len_s(s) != n) return PLCIO_EPROTO;
    *v = (int32_t)s;
    return PLCIO_OK;
}

int s7p_get_svlq64(plcio_rcursor *c, int64_t *v)
{
    plcio_rcursor start = *c;
    uint64_t x;
    uint8_t first = 0;
    int rc = get_groups(c, 9, true, &x, &first);
    if (rc) return rc;
    unsigned n = vlq_len_of(&start, c);
    *v = n == 9 ? (int64_t)x : sign_extend(x, 7 * n);
    return len_s(*v) == n ? PLCIO_OK : PLCIO_EPROTO;
}

static bool put_groups(plcio_wcursor *w, uint64_t x, unsigned n, bool wide_last)
{
    uint8_t b[10];
    unsigned i = n;
    if (wide_last) {
        b[--i] = (uint8_t)x;
        x >>= 8;
    } else {
        b[--i] = (uint8_t)(x & 0x7F);
        x >>= 7;
    }
    while (i > 0) {
        b[--i] = (uint8_t)(0x80 | (x & 0x7F));
        x >>= 7;
    }
    return plcio_wcursor_write(w, b, n);
}

bool s7p_put_vlq32(plcio_wcursor *w, uint32_t v) { return s7p_put_vlq64(w, v); }

bool s7p_put_vlq64(plcio_wcursor *w, uint64_t v)
{
    unsigned n = 1;
    while (n < 8 && (v >> (7 * n)) != 0)
        n++;
    if (n == 8 && (v >> 56) != 0) return put_groups(w, v, 9, true);
    return put_groups(w, v, n, false);
}

bool s7p_put_svlq32(plcio_wcursor *w, int32_t v) { return s7p_put_svlq64(w, v); }

bool s7p_put_svlq64(plcio_wcursor *w, int64_t v)
{
    /* shortest n with v in [-2^(7n-1), 2^(7n-1)) */
    for (unsigned n = 1; n <= 8; n++) {
        int64_t lim = (int64_t)1 << (7 * n - 1);
        if (v >= -lim && v < lim) return put_groups(w, (uint64_t)v & ((1ULL << (7 * n)) - 1), n, false);
    }
    return put_groups(w, (uint64_t)v, 9, true);
}

/* ---- frames ---------------------------------------------------------------- */

int s7p_frame_decode(const uint8_t *buf, size_t len, s7p_frame *f, size_t *need_out)
{
    memset(f, 0, sizeof *f);
    if (len < 4) {
        if (need_out) *need_out = 4;
        if (len >= 1 && buf[0] != S7P_PROTOCOL_ID) return PLCIO_EPROTO;
        return PLCIO_EAGAIN;
    }
    if (buf[0] != S7P_PROTOCOL_ID) return PLCIO_EPROTO;
    size_t dlen = plcio_get_u16be(buf + 2);
    if (dlen == 0) return PLCIO_EPROTO; /* a trailer where a fragment was expected */
    size_t want = 4 + dlen + 4;
    if (len < want) {
        if (need_out) *need_out = want;
        return PLCIO_EAGAIN;
    }
    f->version = buf[1];
    f->data = buf + 4;
    f->len = dlen;
    const uint8_t *t = buf + 4 + dlen;
    if (t[0] != S7P_PROTOCOL_ID) return PLCIO_EPROTO;
    if (t[2] == 0 && t[3] == 0) {
        if (t[1] != buf[1]) return PLCIO_EPROTO;
        f->last = true;
        f->used = want;
    } else {
        f->used = 4 + dlen; /* the next fragment's header follows */
    }
    return PLCIO_OK;
}

int s7p_frame_encode(plcio_wcursor *w, uint8_t version, const uint8_t *data, size_t len)
{
    if (len == 0 || len > 0xFFFF) return PLCIO_ERANGE;
    plcio_wcursor_u8(w, S7P_PROTOCOL_ID);
    plcio_wcursor_u8(w, version);
    plcio_wcursor_u16be(w, (uint16_t)len);
    plcio_wcursor_write(w, data, len);
    plcio_wcursor_u8(w, S7P_PROTOCOL_ID);
    plcio_wcursor_u8(w, version);
    plcio_wcursor_u16be(w, 0);
    return room(w);
}

int s7p_digest_split(const uint8_t *data, size_t len, const uint8_t **digest, size_t *dlen, const uint8_t **rest,
                     size_t *rlen)
{
    if (len < 1 || (size_t)data[0] + 1 > len) return PLCIO_EPROTO;
    *digest = data + 1;
    *dlen = data[0];
    *rest = data + 1 + data[0];
    *rlen = len - 1 - data[0];
    return PLCIO_OK;
}

/* ---- PValue -------------------------------------------------------------- */

static int scalar_decode(plcio_rcursor *c, uint8_t type, s7p_value *v, int depth, unsigned dialect);
static int scalar_encode(plcio_wcursor *w, const s7p_value *v, unsigned dialect);
static int attrs_scan(plcio_rcursor *c, uint32_t *count, int depth, unsigned dialect);
static int value_decode_depth(plcio_rcursor *c, s7p_value *v, int depth, unsigned dialect);
static int attrs_encode_dialect(plcio_wcursor *w, const s7p_attrs *a, unsigned dialect);

static int fixed_size(uint8_t type)
{
    switch (type) {
    case S7P_T_NULL: return 0;
    case S7P_T_BOOL:
    case S7P_T_USINT:
    case S7P_T_SINT:
    case S7P_T_BYTE: return 1;
    case S7P_T_UINT:
    case S7P_T_INT:
    case S7P_T_WORD: return 2;
    case S7P_T_DWORD:
    case S7P_T_REAL:
    case S7P_T_RID: return 4;
    case S7P_T_LWORD:
    case S7P_T_LREAL:
    case S7P_T_TIMESTAMP: return 8;
    default: return -1;
    }
}

static bool type_is_signed_fixed(uint8_t type) { return type == S7P_T_SINT || type == S7P_T_INT; }

static int scalar_decode(plcio_rcursor *c, uint8_t type, s7p_value *v, int depth, unsigned dialect)
{
    int rc;
    int fs = fixed_size(type);
    v->type = type;
    if (fs >= 0) {
        const uint8_t *p = plcio_rcursor_take(c, (size_t)fs);
        if (!p && fs) return PLCIO_EPROTO;
        uint64_t x = 0;
        for (int k = 0; k < fs; k++)
            x = x << 8 | p[k];
        v->u = x;
        if (type_is_signed_fixed(type))
            v->i = sign_extend(x, 8u * (unsigned)fs);
        else
            v->i = (int64_t)x;
        return PLCIO_OK;
    }
    switch (type) {
    case S7P_T_UDINT:
    case S7P_T_AID: {
        uint32_t x;
        if ((rc = s7p_get_vlq32(c, &x))) return rc;
        v->u = x;
        v->i = x;
        return PLCIO_OK;
    }
    case S7P_T_ULINT:
        if ((rc = s7p_get_vlq64(c, &v->u))) return rc;
        v->i = (int64_t)v->u;
        return PLCIO_OK;
    case S7P_T_DINT: {
        int32_t x;
        if ((rc = s7p_get_svlq32(c, &x))) return rc;
        v->i = x;
        v->u = (uint64_t)(int64_t)x;
        return PLCIO_OK;
    }
    case S7P_T_LINT:
    case S7P_T_TIMESPAN:
        if ((rc = s7p_get_svlq64(c, &v->i))) return rc;
        v->u = (uint64_t)v->i;
        return PLCIO_OK;
    case S7P_T_BLOB: {
        uint32_t n;
        if (!(dialect & S7P_COMPACT_BLOB) && (rc = s7p_get_vlq32(c, &v->id))) return rc;
        if ((rc = s7p_get_vlq32(c, &n))) return rc;
        v->data = plcio_rcursor_take(c, n);
        if (!v->data && n) return PLCIO_EPROTO;
        v->size = n;
        return PLCIO_OK;
    }
    case S7P_T_WSTRING: {
        uint32_t n;
        if ((rc = s7p_get_vlq32(c, &n))) return rc;
        v->data = plcio_rcursor_take(c, n);
        if (!v->data && n) return PLCIO_EPROTO;
        v->size = n;
        return PLCIO_OK;
    }
    case S7P_T_STRUCT: {
        if (depth >= S7P_MAX_DEPTH) return PLCIO_EPROTO;
        if (plcio_rcursor_left(c) < 4) return PLCIO_EPROTO;
        v->id = plcio_rcursor_u32be(c);
        const uint8_t *start = c->pos;
        if ((rc = attrs_scan(c, &v->count, depth + 1, dialect))) return rc;
        v->data = start;
        v->size = (size_t)(c->pos - start) - 1; /* the 00 end is not part of data */
        return PLCIO_OK;
    }
    default: return PLCIO_EUNSUPPORTED;
    }
}

static int value_decode_depth(plcio_rcursor *c, s7p_value *v, int depth, unsigned dialect)
{
    memset(v, 0, sizeof *v);
    if (plcio_rcursor_left(c) < 2) return PLCIO_EPROTO;
    v->flags = plcio_rcursor_u8(c);
    uint8_t type = plcio_rcursor_u8(c);
    v->type = type;
    if (v->flags & ~(S7P_F_ARRAY | S7P_F_ADDR_ARRAY | S7P_F_SPARSE)) return PLCIO_EUNSUPPORTED;
    int rc;
    if (v->flags & S7P_F_SPARSE) {
        if (depth >= S7P_MAX_DEPTH) return PLCIO_EPROTO;
        const uint8_t *start = c->pos;
        uint32_t n = 0;
        for (;;) {
            uint32_t key;
            if ((rc = s7p_get_vlq32(c, &key))) return rc;
            if (key == 0) break;
            s7p_value e;
            memset(&e, 0, sizeof e);
            if ((rc = scalar_decode(c, type, &e, depth + 1, dialect))) return rc;
            n++;
        }
        v->data = start;
        v->size = (size_t)(c->pos - start) - 1;
        v->count = n;
        return PLCIO_OK;
    }
    if (v->flags & (S7P_F_ARRAY | S7P_F_ADDR_ARRAY)) {
        if (depth >= S7P_MAX_DEPTH) return PLCIO_EPROTO;
        if ((rc = s7p_get_vlq32(c, &v->count))) return rc;
        /* each element takes at least one byte: a lying count fails here (an
         * array of NULL, zero bytes each, would let a count spin for nothing) */
        if (type == S7P_T_NULL) return PLCIO_EUNSUPPORTED;
        if (v->count > plcio_rcursor_left(c)) return PLCIO_EPROTO;
        const uint8_t *start = c->pos;
        for (uint32_t k = 0; k < v->count; k++) {
            s7p_value e;
            memset(&e, 0, sizeof e);
            if ((rc = scalar_decode(c, type, &e, depth + 1, dialect))) return rc;
        }
        v->data = start;
        v->size = (size_t)(c->pos - start);
        return PLCIO_OK;
    }
    return scalar_decode(c, type, v, depth, dialect);
}

int s7p_value_decode(plcio_rcursor *c, s7p_value *v) { return value_decode_depth(c, v, 0, 0); }
int s7p_value_decode_ex(plcio_rcursor *c, s7p_value *v, unsigned dialect)
{
    return value_decode_depth(c, v, 0, dialect);
}

void s7p_elems_begin(s7p_elems *it, const s7p_value *v)
{
    it->c = plcio_rcursor_make(v->data, v->size);
    it->type = v->type;
    it->flags = v->flags;
    it->left = v->count;
    it->dialect = 0;
}

int s7p_elems_next(s7p_elems *it, uint32_t *key, s7p_value *elem)
{
    int rc;
    memset(elem, 0, sizeof *elem);
    if (it->left == 0) return 0;
    if (it->type == S7P_T_STRUCT && !(it->flags & (S7P_F_ARRAY | S7P_F_ADDR_ARRAY | S7P_F_SPARSE))) {
        if ((rc = s7p_get_vlq32(&it->c, key))) return rc;
        if ((rc = s7p_value_decode_ex(&it->c, elem, it->dialect))) return rc;
    } else if (it->flags & S7P_F_SPARSE) {
        if ((rc = s7p_get_vlq32(&it->c, key))) return rc;
        if ((rc = scalar_decode(&it->c, it->type, elem, 1, it->dialect))) return rc;
    } else {
        *key = 0;
        if ((rc = scalar_decode(&it->c, it->type, elem, 1, it->dialect))) return rc;
    }
    it->left--;
    return 1;
}

static int scalar_encode(plcio_wcursor *w, const s7p_value *v, unsigned dialect)
{
    int fs = fixed_size(v->type);
    if (fs >= 0) {
        uint8_t *p = plcio_wcursor_reserve(w, (size_t)fs);
        if (!p && fs) return PLCIO_ENOSPC;
        uint64_t x = type_is_signed_fixed(v->type) ? (uint64_t)v->i : v->u;
        for (int k = fs - 1; k >= 0; k--) {
            p[k] = (uint8_t)x;
            x >>= 8;
        }
        return PLCIO_OK;
    }
    switch (v->type) {
    case S7P_T_UDINT:
    case S7P_T_AID:
        if (v->u > UINT32_MAX) return PLCIO_ERANGE;
        s7p_put_vlq32(w, (uint32_t)v->u);
        break;
    case S7P_T_ULINT: s7p_put_vlq64(w, v->u); break;
    case S7P_T_DINT:
        if (v->i < INT32_MIN || v->i > INT32_MAX) return PLCIO_ERANGE;
        s7p_put_svlq32(w, (int32_t)v->i);
        break;
    case S7P_T_LINT:
    case S7P_T_TIMESPAN: s7p_put_svlq64(w, v->i); break;
    case S7P_T_BLOB:
        if (v->size > UINT32_MAX) return PLCIO_ERANGE;
        if (!(dialect & S7P_COMPACT_BLOB)) s7p_put_vlq32(w, v->id);
        s7p_put_vlq32(w, (uint32_t)v->size);
        plcio_wcursor_write(w, v->data, v->size);
        break;
    case S7P_T_WSTRING:
        if (v->size > UINT32_MAX) return PLCIO_ERANGE;
        s7p_put_vlq32(w, (uint32_t)v->size);
        plcio_wcursor_write(w, v->data, v->size);
        break;
    case S7P_T_STRUCT: {
        plcio_wcursor_u32be(w, v->id);
        s7p_attrs a = {v->data, v->size, v->count};
        int rc = attrs_encode_dialect(w, &a, dialect);
        if (rc) return rc;
        break;
    }
    default: return PLCIO_EUNSUPPORTED;
    }
    return room(w);
}

int s7p_value_encode(plcio_wcursor *w, const s7p_value *v) { return s7p_value_encode_ex(w, v, 0); }

int s7p_value_encode_ex(plcio_wcursor *w, const s7p_value *v, unsigned dialect)
{
    int rc;
    plcio_wcursor_u8(w, v->flags);
    plcio_wcursor_u8(w, v->type);
    if (!(v->flags & (S7P_F_ARRAY | S7P_F_ADDR_ARRAY | S7P_F_SPARSE))) {
        if ((rc = room(w))) return rc;
        return scalar_encode(w, v, dialect);
    }
    if (!(v->flags & S7P_F_SPARSE)) s7p_put_vlq32(w, v->count);
    s7p_elems it;
    s7p_elems_begin(&it, v);
    it.dialect = dialect;
    uint32_t key;
    s7p_value e;
    uint32_t n = 0;
    while ((rc = s7p_elems_next(&it, &key, &e)) == 1) {
        if (v->flags & S7P_F_SPARSE) s7p_put_vlq32(w, key);
        if ((rc = scalar_encode(w, &e, dialect))) return rc;
        n++;
    }
    if (rc < 0) return rc;
    if (n != v->count) return PLCIO_EINVAL;
    if (v->flags & S7P_F_SPARSE) plcio_wcursor_u8(w, 0);
    return room(w);
}

s7p_value s7p_value_udint(uint32_t v)
{
    s7p_value x;
    memset(&x, 0, sizeof x);
    x.type = S7P_T_UDINT;
    x.u = v;
    x.i = v;
    return x;
}

s7p_value s7p_value_blob(const uint8_t *data, size_t size)
{
    s7p_value x;
    memset(&x, 0, sizeof x);
    x.type = S7P_T_BLOB;
    x.data = data;
    x.size = size;
    return x;
}

s7p_value s7p_value_wstring(const char *s)
{
    s7p_value x;
    memset(&x, 0, sizeof x);
    x.type = S7P_T_WSTRING;
    x.data = (const uint8_t *)s;
    x.size = strlen(s);
    return x;
}

/* ---- attribute lists ------------------------------------------------------ */

static int attrs_scan(plcio_rcursor *c, uint32_t *count, int depth, unsigned dialect)
{
    uint32_t n = 0;
    for (;;) {
        uint32_t id;
        int rc;
        if ((rc = s7p_get_vlq32(c, &id))) return rc;
        if (id == 0) break;
        s7p_value v;
        if ((rc = value_decode_depth(c, &v, depth, dialect))) return rc;
        n++;
    }
    *count = n;
    return PLCIO_OK;
}

int s7p_attrs_decode(plcio_rcursor *c, s7p_attrs *a)
{
    const uint8_t *start = c->pos;
    int rc = attrs_scan(c, &a->count, 0, 0);
    if (rc) return rc;
    a->data = start;
    a->size = (size_t)(c->pos - start) - 1;
    return PLCIO_OK;
}

int s7p_attrs_next(plcio_rcursor *c, uint32_t *id, s7p_value *v)
{
    if (plcio_rcursor_left(c) == 0) return 0;
    int rc = s7p_get_vlq32(c, id);
    if (rc) return rc;
    if (*id == 0) return PLCIO_EPROTO;
    rc = s7p_value_decode(c, v);
    return rc ? rc : 1;
}

int s7p_attrs_encode(plcio_wcursor *w, const s7p_attrs *a) { return attrs_encode_dialect(w, a, 0); }

static int attrs_encode_dialect(plcio_wcursor *w, const s7p_attrs *a, unsigned dialect)
{
    plcio_rcursor c = plcio_rcursor_make(a->data, a->size);
    uint32_t id;
    s7p_value v;
    uint32_t n = 0;
    for (;;) {
        int rc;
        if (plcio_rcursor_left(&c) == 0) break;
        if ((rc = s7p_get_vlq32(&c, &id))) return rc;
        if (id == 0) return PLCIO_EPROTO;
        if ((rc = s7p_value_decode_ex(&c, &v, dialect))) return rc;
        s7p_put_vlq32(w, id);
        if ((rc = s7p_value_encode_ex(w, &v, dialect))) return rc;
        n++;
    }
    if (n != a->count) return PLCIO_EINVAL;
    plcio_wcursor_u8(w, 0);
    return room(w);
}

/* ---- object-tree elements --------------------------------------------------- */

static int blocks_decode(plcio_rcursor *c, s7p_elem *e)
{
    const uint8_t *start = c->pos;
    for (;;) {
        if (plcio_rcursor_left(c) < 2) return PLCIO_EPROTO;
        uint16_t n = plcio_rcursor_u16be(c);
        if (n == 0) break;
        if (!plcio_rcursor_skip(c, n)) return PLCIO_EPROTO;
    }
    e->data = start;
    e->size = (size_t)(c->pos - start) - 2;
    return PLCIO_OK;
}

int s7p_elem_decode(plcio_rcursor *c, s7p_elem *e)
{
    int rc;
    memset(e, 0, sizeof *e);
    if (plcio_rcursor_left(c) < 1) return PLCIO_EPROTO;
    e->tag = plcio_rcursor_u8(c);
    switch (e->tag) {
    case S7P_E_START_OBJECT:
        if (plcio_rcursor_left(c) < 4) return PLCIO_EPROTO;
        e->relation_id = plcio_rcursor_u32be(c);
        if ((rc = s7p_get_vlq32(c, &e->class_id))) return rc;
        if ((rc = s7p_get_vlq32(c, &e->class_flags))) return rc;
        return s7p_get_vlq32(c, &e->attribute_id);
    case S7P_E_END_OBJECT:
    case S7P_E_TAG_DESC_END: return PLCIO_OK;
    case S7P_E_ATTRIBUTE:
        if ((rc = s7p_get_vlq32(c, &e->attribute_id))) return rc;
        return s7p_value_decode(c, &e->value);
    case S7P_E_RELATION:
        if ((rc = s7p_get_vlq32(c, &e->relation_id))) return rc;
        if (plcio_rcursor_left(c) < 4) return PLCIO_EPROTO;
        e->relation_value = plcio_rcursor_u32be(c);
        return PLCIO_OK;
    case S7P_E_VARTYPE_LIST:
    case S7P_E_VARNAME_LIST: return blocks_decode(c, e);
    default: return PLCIO_EUNSUPPORTED;
    }
}

int s7p_elem_encode(plcio_wcursor *w, const s7p_elem *e)
{
    plcio_wcursor_u8(w, e->tag);
    switch (e->tag) {
    case S7P_E_START_OBJECT:
        plcio_wcursor_u32be(w, e->relation_id);
        s7p_put_vlq32(w, e->class_id);
        s7p_put_vlq32(w, e->class_flags);
        s7p_put_vlq32(w, e->attribute_id);
        break;
    case S7P_E_END_OBJECT:
    case S7P_E_TAG_DESC_END: break;
    case S7P_E_ATTRIBUTE: {
        s7p_put_vlq32(w, e->attribute_id);
        int rc = s7p_value_encode(w, &e->value);
        if (rc) return rc;
        break;
    }
    case S7P_E_RELATION:
        s7p_put_vlq32(w, e->relation_id);
        plcio_wcursor_u32be(w, e->relation_value);
        break;
    case S7P_E_VARTYPE_LIST:
    case S7P_E_VARNAME_LIST: {
        plcio_rcursor c = plcio_rcursor_make(e->data, e->size);
        while (plcio_rcursor_left(&c) >= 2) {
            uint16_t n = plcio_rcursor_u16be(&c);
            const uint8_t *p = plcio_rcursor_take(&c, n);
            if (!p || n == 0) return PLCIO_EINVAL;
            plcio_wcursor_u16be(w, n);
            plcio_wcursor_write(w, p, n);
        }
        if (plcio_rcursor_left(&c) != 0) return PLCIO_EINVAL;
        plcio_wcursor_u16be(w, 0);
        break;
    }
    default: return PLCIO_EINVAL;
    }
    return room(w);
}

int s7p_object_span(plcio_rcursor *c, const uint8_t **data, size_t *size)
{
    const uint8_t *start = c->pos;
    int depth = 0;
    do {
        s7p_elem e;
        int rc = s7p_elem_decode(c, &e);
        if (rc) return rc;
        if (e.tag == S7P_E_START_OBJECT) {
            if (++depth > S7P_MAX_DEPTH) return PLCIO_EPROTO;
        } else if (e.tag == S7P_E_END_OBJECT) {
            if (depth == 0) return PLCIO_EPROTO;
            depth--;
        } else if (depth == 0) {
            return PLCIO_EPROTO; /* an object starts with A1 */
        }
    } while (depth > 0);
    *data = start;
    *size = (size_t)(c->pos - start);
    return PLCIO_OK;
}

int s7p_objects_encode(plcio_wcursor *w, const uint8_t *data, size_t size)
{
    plcio_rcursor c = plcio_rcursor_make(data, size);
    while (plcio_rcursor_left(&c) > 0) {
        s7p_elem e;
        int rc = s7p_elem_decode(&c, &e);
        if (rc) return rc;
        if ((rc = s7p_elem_encode(w, &e))) return rc;
    }
    return room(w);
}

/* ---- headers ---------------------------------------------------------------- */

int s7p_header_decode(plcio_rcursor *c, s7p_header *h)
{
    memset(h, 0, sizeof *h);
    if (plcio_rcursor_left(c) < 10) return PLCIO_EPROTO;
    h->opcode = plcio_rcursor_u8(c);
    if (h->opcode != S7P_OP_REQUEST && h->opcode != S7P_OP_RESPONSE && h->opcode != S7P_OP_RESPONSE2)
        return PLCIO_EUNSUPPORTED;
    h->reserved1 = plcio_rcursor_u16be(c);
    h->function = plcio_rcursor_u16be(c);
    h->reserved2 = plcio_rcursor_u16be(c);
    h->seq = plcio_rcursor_u16be(c);
    if (h->opcode == S7P_OP_REQUEST) {
        if (plcio_rcursor_left(c) < 5) return PLCIO_EPROTO;
        h->session = plcio_rcursor_u32be(c);
    }
    h->flags = plcio_rcursor_u8(c);
    return need(c);
}

int s7p_header_encode(plcio_wcursor *w, const s7p_header *h)
{
    plcio_wcursor_u8(w, h->opcode);
    plcio_wcursor_u16be(w, h->reserved1);
    plcio_wcursor_u16be(w, h->function);
    plcio_wcursor_u16be(w, h->reserved2);
    plcio_wcursor_u16be(w, h->seq);
    if (h->opcode == S7P_OP_REQUEST) plcio_wcursor_u32be(w, h->session);
    plcio_wcursor_u8(w, h->flags);
    return room(w);
}

int s7p_tail_decode(plcio_rcursor *c, s7p_tail *t)
{
    memset(t, 0, sizeof *t);
    size_t left = plcio_rcursor_left(c);
    if (left < 4) {
        /* no fill: nothing, or one integrity id and nothing after it */
        t->no_fill = true;
        if (left == 0) return PLCIO_OK;
        t->has_iid = true;
        int rc = s7p_get_vlq32(c, &t->iid);
        if (rc) return rc;
        return plcio_rcursor_left(c) ? PLCIO_EPROTO : PLCIO_OK;
    }
    if (left > 4) {
        t->has_iid = true;
        int rc = s7p_get_vlq32(c, &t->iid);
        if (rc) return rc;
        if (plcio_rcursor_left(c) != 4) return PLCIO_EPROTO; /* bytes nobody accounts for */
    }
    t->fill = plcio_rcursor_u32be(c);
    return need(c);
}

int s7p_tail_encode(plcio_wcursor *w, const s7p_tail *t)
{
    if (t->has_iid) s7p_put_vlq32(w, t->iid);
    if (!t->no_fill) plcio_wcursor_u32be(w, t->fill);
    return room(w);
}

static bool at_qualifier(const plcio_rcursor *c)
{
    return plcio_rcursor_left(c) >= 4 && plcio_get_u32be(c->pos) == S7P_ID_OBJECT_QUALIFIER;
}

static int qualifier_decode(plcio_rcursor *c, s7p_qualifier *q)
{
    memset(q, 0, sizeof *q);
    if (!at_qualifier(c) && plcio_rcursor_left(c) >= 5 && c->pos[0] == 0) {
        plcio_rcursor peek = *c;
        plcio_rcursor_skip(&peek, 1);
        if (at_qualifier(&peek)) {
            q->pad_before = true;
            *c = peek;
        }
    }
    if (!at_qualifier(c)) return PLCIO_OK;
    plcio_rcursor_skip(c, 4);
    q->present = true;
    return s7p_attrs_decode(c, &q->attrs);
}

static int qualifier_encode(plcio_wcursor *w, const s7p_qualifier *q)
{
    if (q->pad_before) plcio_wcursor_u8(w, 0);
    if (!q->present) return room(w);
    plcio_wcursor_u32be(w, S7P_ID_OBJECT_QUALIFIER);
    return s7p_attrs_encode(w, &q->attrs);
}

int s7p_address_decode(plcio_rcursor *c, s7p_address *a)
{
    int rc;
    memset(a, 0, sizeof *a);
    uint32_t count;
    if ((rc = s7p_get_vlq32(c, &a->crc))) return rc;
    if ((rc = s7p_get_vlq32(c, &a->area))) return rc;
    if ((rc = s7p_get_vlq32(c, &count))) return rc;
    if (count < 1 || count - 1 > S7P_MAX_LIDS) return count < 1 ? PLCIO_EPROTO : PLCIO_EUNSUPPORTED;
    if ((rc = s7p_get_vlq32(c, &a->sub_area))) return rc;
    a->nlids = count - 1;
    for (uint32_t k = 0; k < a->nlids; k++)
        if ((rc = s7p_get_vlq32(c, &a->lids[k]))) return rc;
    return PLCIO_OK;
}

int s7p_address_encode(plcio_wcursor *w, const s7p_address *a)
{
    if (a->nlids > S7P_MAX_LIDS) return PLCIO_ERANGE;
    s7p_put_vlq32(w, a->crc);
    s7p_put_vlq32(w, a->area);
    s7p_put_vlq32(w, a->nlids + 1);
    s7p_put_vlq32(w, a->sub_area);
    for (uint32_t k = 0; k < a->nlids; k++)
        s7p_put_vlq32(w, a->lids[k]);
    return room(w);
}

uint32_t s7p_address_fields(const s7p_address *a) { return 4 + a->nlids; }

int s7p_pdu_decode(const uint8_t *data, size_t len, s7p_pdu *p)
{
    plcio_rcursor c = plcio_rcursor_make(data, len);
    memset(p, 0, sizeof *p);
    if (len >= 1 && data[0] == S7P_OP_NOTIFICATION) {
        p->h.opcode = S7P_OP_NOTIFICATION;
        p->body = data + 1;
        p->body_len = len - 1;
        return PLCIO_OK;
    }
    int rc = s7p_header_decode(&c, &p->h);
    if (rc) return rc;
    p->body = c.pos;
    p->body_len = plcio_rcursor_left(&c);
    return PLCIO_OK;
}

/* ---- Get/SetMultiVariables ------------------------------------------------ */

static int numbered_values_decode(plcio_rcursor *c, uint32_t *nr, s7p_value *vals, uint32_t *n, unsigned dialect)
{
    *n = 0;
    for (;;) {
        int rc;
        uint32_t k;
        if ((rc = s7p_get_vlq32(c, &k))) return rc;
        if (k == 0) return PLCIO_OK;
        if (*n >= S7P_MAX_ITEMS) return PLCIO_EUNSUPPORTED;
        nr[*n] = k;
        if ((rc = s7p_value_decode_ex(c, &vals[*n], dialect))) return rc;
        (*n)++;
    }
}

static int numbered_values_encode(plcio_wcursor *w, const uint32_t *nr, const s7p_value *vals, uint32_t n,
                                  unsigned dialect)
{
    for (uint32_t k = 0; k < n; k++) {
        if (nr[k] == 0) return PLCIO_EINVAL;
        s7p_put_vlq32(w, nr[k]);
        int rc = s7p_value_encode_ex(w, &vals[k], dialect);
        if (rc) return rc;
    }
    plcio_wcursor_u8(w, 0);
    return room(w);
}

int s7p_multi_req_decode(plcio_rcursor *c, unsigned flags, s7p_multi_req *r)
{
    int rc;
    memset(r, 0, sizeof *r);
    r->with_values = flags & S7P_WITH_VALUES;
    r->dialect = flags & S7P_COMPACT_BLOB;
    if (plcio_rcursor_left(c) < 4) return PLCIO_EPROTO;
    r->link_id = plcio_rcursor_u32be(c);
    if ((rc = s7p_get_vlq32(c, &r->nitems))) return rc;
    if ((rc = s7p_get_vlq32(c, &r->nfields))) return rc;
    if (r->nitems > S7P_MAX_ITEMS) return PLCIO_EUNSUPPORTED;
    uint32_t fields = 0;
    for (uint32_t k = 0; k < r->nitems; k++) {
        if (r->link_id != 0) {
            memset(&r->items[k], 0, sizeof r->items[k]);
            if ((rc = s7p_get_vlq32(c, &r->items[k].area))) return rc;
            fields++;
            continue;
        }
        if ((rc = s7p_address_decode(c, &r->items[k]))) return rc;
        fields += s7p_address_fields(&r->items[k]);
    }
    if (fields != r->nfields) return PLCIO_EPROTO;
    if (r->with_values && (rc = numbered_values_decode(c, r->value_nr, r->values, &r->nvalues, r->dialect))) return rc;
    if ((rc = qualifier_decode(c, &r->q))) return rc;
    return s7p_tail_decode(c, &r->tail);
}

int s7p_multi_req_encode(plcio_wcursor *w, const s7p_multi_req *r)
{
    int rc;
    if (r->nitems > S7P_MAX_ITEMS) return PLCIO_ERANGE;
    plcio_wcursor_u32be(w, r->link_id);
    s7p_put_vlq32(w, r->nitems);
    uint32_t fields = 0;
    for (uint32_t k = 0; k < r->nitems; k++)
        fields += r->link_id ? 1 : s7p_address_fields(&r->items[k]);
    s7p_put_vlq32(w, fields);
    for (uint32_t k = 0; k < r->nitems; k++) {
        if (r->link_id)
            s7p_put_vlq32(w, r->items[k].area);
        else if ((rc = s7p_address_encode(w, &r->items[k])))
            return rc;
    }
    if (r->with_values && (rc = numbered_values_encode(w, r->value_nr, r->values, r->nvalues, r->dialect))) return rc;
    if ((rc = qualifier_encode(w, &r->q))) return rc;
    return s7p_tail_encode(w, &r->tail);
}

int s7p_multi_res_decode(plcio_rcursor *c, unsigned flags, s7p_multi_res *r)
{
    int rc;
    memset(r, 0, sizeof *r);
    r->with_values = flags & S7P_WITH_VALUES;
    r->dialect = flags & S7P_COMPACT_BLOB;
    if ((rc = s7p_get_vlq64(c, &r->ret))) return rc;
    if (r->with_values && (rc = numbered_values_decode(c, r->value_nr, r->values, &r->nvalues, r->dialect))) return rc;
    for (;;) {
        uint32_t k;
        if ((rc = s7p_get_vlq32(c, &k))) return rc;
        if (k == 0) break;
        if (r->nerrors >= S7P_MAX_ITEMS) return PLCIO_EUNSUPPORTED;
        r->error_nr[r->nerrors] = k;
        if ((rc = s7p_get_vlq64(c, &r->errors[r->nerrors]))) return rc;
        r->nerrors++;
    }
    return s7p_tail_decode(c, &r->tail);
}

int s7p_multi_res_encode(plcio_wcursor *w, const s7p_multi_res *r)
{
    int rc;
    s7p_put_vlq64(w, r->ret);
    if (r->with_values && (rc = numbered_values_encode(w, r->value_nr, r->values, r->nvalues, r->dialect))) return rc;
    for (uint32_t k = 0; k < r->nerrors; k++) {
        if (r->error_nr[k] == 0) return PLCIO_EINVAL;
        s7p_put_vlq32(w, r->error_nr[k]);
        s7p_put_vlq64(w, r->errors[k]);
    }
    plcio_wcursor_u8(w, 0);
    return s7p_tail_encode(w, &r->tail);
}

/* ---- SetVariable ------------------------------------------------------------- */

int s7p_setvar_req_decode(plcio_rcursor *c, s7p_setvar_req *r)
{
    int rc;
    memset(r, 0, sizeof *r);
    if (plcio_rcursor_left(c) < 4) return PLCIO_EPROTO;
    r->object_id = plcio_rcursor_u32be(c);
    if ((rc = s7p_get_vlq32(c, &r->n))) return rc;
    if (r->n > S7P_MAX_ITEMS) return PLCIO_EUNSUPPORTED;
    for (uint32_t k = 0; k < r->n; k++)
        if ((rc = s7p_get_vlq32(c, &r->address[k]))) return rc;
    for (uint32_t k = 0; k < r->n; k++)
        if ((rc = s7p_value_decode(c, &r->values[k]))) return rc;
    if ((rc = qualifier_decode(c, &r->q))) return rc;
    if (plcio_rcursor_left(c) < 5) return PLCIO_EPROTO;
    r->extra = plcio_rcursor_u8(c);
    return s7p_tail_decode(c, &r->tail);
}

int s7p_setvar_req_encode(plcio_wcursor *w, const s7p_setvar_req *r)
{
    int rc;
    if (r->n > S7P_MAX_ITEMS) return PLCIO_ERANGE;
    plcio_wcursor_u32be(w, r->object_id);
    s7p_put_vlq32(w, r->n);
    for (uint32_t k = 0; k < r->n; k++)
        s7p_put_vlq32(w, r->address[k]);
    for (uint32_t k = 0; k < r->n; k++)
        if ((rc = s7p_value_encode(w, &r->values[k]))) return rc;
    if ((rc = qualifier_encode(w, &r->q))) return rc;
    plcio_wcursor_u8(w, r->extra);
    return s7p_tail_encode(w, &r->tail);
}

/* ---- Notification -------------------------------------------------------------- */

/* Item return codes of a notification (public reports, S7CommPlusDriver's
 * notes): 0x92 u32 reference + value; 0x9b VLQ reference + value; 0x03 and
 * 0x13 u32 reference, an addressing error, no value. */
int s7p_notif_head_decode(plcio_rcursor *c, s7p_notification *n)
{
    memset(n, 0, sizeof *n);
    if (plcio_rcursor_left(c) < 11) return PLCIO_EPROTO;
    n->subscription = plcio_rcursor_u32be(c);
    n->unknown2 = plcio_rcursor_u16be(c);
    n->unknown3 = plcio_rcursor_u16be(c);
    n->unknown4 = plcio_rcursor_u16be(c);
    n->credit_tick = plcio_rcursor_u8(c);
    int rc = s7p_get_vlq32(c, &n->seq);
    if (rc) return rc;
    if (plcio_rcursor_left(c) < 1) return PLCIO_EPROTO;
    n->unknown5 = plcio_rcursor_u8(c);
    /* 0 here: newer S7-1500 put an 8-byte timestamp (whose first byte is
     * this 0) and then the change counter; not seen in the capture */
    if (n->unknown5 == 0) return PLCIO_EUNSUPPORTED;
    return PLCIO_OK;
}

int s7p_notif_item_next(plcio_rcursor *c, uint8_t *code, uint32_t *ref, s7p_value *v, unsigned dialect)
{
    if (plcio_rcursor_left(c) < 1) return PLCIO_EPROTO;
    *code = plcio_rcursor_u8(c);
    memset(v, 0, sizeof *v);
    switch (*code) {
    case 0: return 0;
    case S7P_NOTIF_VALUE_U32REF:
    case S7P_NOTIF_ERROR_03:
    case S7P_NOTIF_ERROR_13:
        if (plcio_rcursor_left(c) < 4) return PLCIO_EPROTO;
        *ref = plcio_rcursor_u32be(c);
        break;
    case S7P_NOTIF_VALUE_VLQREF: {
        int rc = s7p_get_vlq32(c, ref);
        if (rc) return rc;
        break;
    }
    default: return PLCIO_EUNSUPPORTED;
    }
    if (*code == S7P_NOTIF_ERROR_03 || *code == S7P_NOTIF_ERROR_13) return 1;
    int rc = s7p_value_decode_ex(c, v, dialect);
    return rc ? rc : 1;
}

int s7p_notification_decode(plcio_rcursor *c, s7p_notification *n)
{
    int rc = s7p_notif_head_decode(c, n);
    if (rc) return rc;
    for (;;) {
        uint8_t code = 0;
        uint32_t ref = 0;
        s7p_value v;
        rc = s7p_notif_item_next(c, &code, &ref, &v, 0);
        if (rc < 0) return rc;
        if (rc == 0) break;
        if (n->n >= S7P_MAX_ITEMS) return PLCIO_EUNSUPPORTED;
        n->code[n->n] = code;
        n->ref[n->n] = ref;
        n->values[n->n] = v;
        n->n++;
    }
    return s7p_tail_decode(c, &n->tail);
}

int s7p_notification_encode(plcio_wcursor *w, const s7p_notification *n)
{
    plcio_wcursor_u32be(w, n->subscription);
    plcio_wcursor_u16be(w, n->unknown2);
    plcio_wcursor_u16be(w, n->unknown3);
    plcio_wcursor_u16be(w, n->unknown4);
    plcio_wcursor_u8(w, n->credit_tick);
    s7p_put_vlq32(w, n->seq);
    plcio_wcursor_u8(w, n->unknown5);
    for (uint32_t k = 0; k < n->n; k++) {
        uint8_t code = n->code[k];
        plcio_wcursor_u8(w, code);
        if (code == S7P_NOTIF_VALUE_VLQREF)
            s7p_put_vlq32(w, n->ref[k]);
        else if (code == S7P_NOTIF_VALUE_U32REF || code == S7P_NOTIF_ERROR_03 || code == S7P_NOTIF_ERROR_13)
            plcio_wcursor_u32be(w, n->ref[k]);
        else
            return PLCIO_EINVAL;
        if (code == S7P_NOTIF_ERROR_03 || code == S7P_NOTIF_ERROR_13) continue;
        int rc = s7p_value_encode(w, &n->values[k]);
        if (rc) return rc;
    }
    plcio_wcursor_u8(w, 0);
    return s7p_tail_encode(w, &n->tail);
}

/* ---- CreateObject ------------------------------------------------------------------ */

int s7p_create_req_decode(plcio_rcursor *c, s7p_create_req *r)
{
    int rc;
    memset(r, 0, sizeof *r);
    if (plcio_rcursor_left(c) < 4) return PLCIO_EPROTO;
    r->request_id = plcio_rcursor_u32be(c);
    if ((rc = s7p_value_decode(c, &r->value))) return rc;
    if (plcio_rcursor_left(c) < 4) return PLCIO_EPROTO;
    r->unknown = plcio_rcursor_u32be(c);
    if ((rc = s7p_object_span(c, &r->object, &r->object_len))) return rc;
    return s7p_tail_decode(c, &r->tail);
}

int s7p_create_req_encode(plcio_wcursor *w, const s7p_create_req *r)
{
    int rc;
    plcio_wcursor_u32be(w, r->request_id);
    if ((rc = s7p_value_encode(w, &r->value))) return rc;
    plcio_wcursor_u32be(w, r->unknown);
    if ((rc = s7p_objects_encode(w, r->object, r->object_len))) return rc;
    return s7p_tail_encode(w, &r->tail);
}

int s7p_create_res_decode(plcio_rcursor *c, s7p_create_res *r)
{
    int rc;
    memset(r, 0, sizeof *r);
    if ((rc = s7p_get_vlq64(c, &r->ret))) return rc;
    if (plcio_rcursor_left(c) < 1) return PLCIO_EPROTO;
    r->nids = plcio_rcursor_u8(c);
    if (r->nids > S7P_MAX_OBJECT_IDS) return PLCIO_EUNSUPPORTED;
    for (unsigned k = 0; k < r->nids; k++)
        if ((rc = s7p_get_vlq32(c, &r->ids[k]))) return rc;
    /* the answer's object (session attributes) is always there */
    if ((rc = s7p_object_span(c, &r->object, &r->object_len))) return rc;
    return s7p_tail_decode(c, &r->tail);
}

int s7p_create_res_encode(plcio_wcursor *w, const s7p_create_res *r)
{
    int rc;
    if (r->nids > S7P_MAX_OBJECT_IDS) return PLCIO_ERANGE;
    s7p_put_vlq64(w, r->ret);
    plcio_wcursor_u8(w, r->nids);
    for (unsigned k = 0; k < r->nids; k++)
        s7p_put_vlq32(w, r->ids[k]);
    if (!r->object_len) return PLCIO_EINVAL;
    if ((rc = s7p_objects_encode(w, r->object, r->object_len))) return rc;
    return s7p_tail_encode(w, &r->tail);
}

const char *s7p_function_name(uint16_t fn)
{
    switch (fn) {
    case S7P_FN_ERROR: return "Error";
    case S7P_FN_EXPLORE: return "Explore";
    case S7P_FN_CREATE_OBJECT: return "CreateObject";
    case S7P_FN_DELETE_OBJECT: return "DeleteObject";
    case S7P_FN_SET_VARIABLE: return "SetVariable";
    case S7P_FN_GET_VARIABLE: return "GetVariable";
    case S7P_FN_SET_MULTI_VARS: return "SetMultiVariables";
    case S7P_FN_GET_MULTI_VARS: return "GetMultiVariables";
    case S7P_FN_INVOKE: return "Invoke";
    case S7P_FN_SET_VAR_SUBSTREAM: return "SetVarSubStreamed";
    case S7P_FN_GET_VAR_SUBSTREAM: return "GetVarSubStreamed";
    case S7P_FN_ABORT: return "Abort";
    case S7P_FN_ERROR2: return "Error2";
    case S7P_FN_INIT_SSL: return "InitSSL";
    default: return "unknown";
    }
}
