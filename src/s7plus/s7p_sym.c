/* Symbolic access to optimized DBs, shared by client and simulator: software
 * data types, PValues of members, and type information (s7p_sym.h).
 *
 * The type-info shapes follow the public descriptions of a real S7-1500's
 * answers (VartypeList elements: LID, symbol CRC, software data type,
 * attribute flags with the offset-info kind in bits 12..15, bit-offset flags,
 * then the offset info; VarnameList: length-prefixed names with a 0 after
 * each; both in blocks with a big-endian u16 length, the first VartypeList
 * block starting with a little-endian u32 first id, a 0-length block ending
 * the list). They are checked against plcio's own two sides and python-snap7's
 * parser only, never against a real CPU. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout/layout_internal.h"
#include "s7plus/s7p_sym.h"

/* ---- software data types ------------------------------------------------------ */

static const struct {
    plcio_type t;
    uint8_t sdt;
} softtypes[] = {
    {PLCIO_TYPE_BOOL, 1},           {PLCIO_TYPE_BYTE, 2},    {PLCIO_TYPE_CHAR, 3},
    {PLCIO_TYPE_WORD, 4},           {PLCIO_TYPE_INT, 5},     {PLCIO_TYPE_DWORD, 6},
    {PLCIO_TYPE_DINT, 7},           {PLCIO_TYPE_REAL, 8},    {PLCIO_TYPE_DATE, 9},
    {PLCIO_TYPE_TIME_OF_DAY, 10},   {PLCIO_TYPE_TIME, 11},   {PLCIO_TYPE_S5TIME, 12},
    {PLCIO_TYPE_DATE_AND_TIME, 14}, {PLCIO_TYPE_STRING, 19}, {PLCIO_TYPE_LREAL, 48},
    {PLCIO_TYPE_ULINT, 49},         {PLCIO_TYPE_LINT, 50},   {PLCIO_TYPE_LWORD, 51},
    {PLCIO_TYPE_USINT, 52},         {PLCIO_TYPE_UINT, 53},   {PLCIO_TYPE_UDINT, 54},
    {PLCIO_TYPE_SINT, 55},          {PLCIO_TYPE_WCHAR, 61},  {PLCIO_TYPE_WSTRING, 62},
    {PLCIO_TYPE_LTIME, 64},         {PLCIO_TYPE_LTOD, 65},   {PLCIO_TYPE_LDT, 66},
    {PLCIO_TYPE_DTL, 67},
};
#define SDT_STRUCT 17u

uint8_t s7p_softtype(plcio_type t)
{
    for (size_t i = 0; i < sizeof softtypes / sizeof softtypes[0]; i++)
        if (softtypes[i].t == t) return softtypes[i].sdt;
    return 0;
}

bool s7p_softtype_to_type(uint8_t sdt, plcio_type *t)
{
    for (size_t i = 0; i < sizeof softtypes / sizeof softtypes[0]; i++)
        if (softtypes[i].sdt == sdt) {
            *t = softtypes[i].t;
            return true;
        }
    if (sdt == 40) { /* BBOOL: a BOOL in a byte of its own */
        *t = PLCIO_TYPE_BOOL;
        return true;
    }
    return false;
}

/* ---- values -------------------------------------------------------------------- */

/* PValue type of a plcio type; 0 for the byte-array forms. */
static uint8_t pvalue_type(plcio_type t)
{
    switch (t) {
    case PLCIO_TYPE_BOOL: return S7P_T_BOOL;
    case PLCIO_TYPE_BYTE: return S7P_T_BYTE;
    case PLCIO_TYPE_WORD:
    case PLCIO_TYPE_S5TIME: return S7P_T_WORD;
    case PLCIO_TYPE_DWORD: return S7P_T_DWORD;
    case PLCIO_TYPE_LWORD: return S7P_T_LWORD;
    case PLCIO_TYPE_SINT: return S7P_T_SINT;
    case PLCIO_TYPE_USINT:
    case PLCIO_TYPE_CHAR: return S7P_T_USINT;
    case PLCIO_TYPE_INT: return S7P_T_INT;
    case PLCIO_TYPE_UINT:
    case PLCIO_TYPE_WCHAR:
    case PLCIO_TYPE_DATE: return S7P_T_UINT;
    case PLCIO_TYPE_DINT:
    case PLCIO_TYPE_TIME: return S7P_T_DINT;
    case PLCIO_TYPE_UDINT:
    case PLCIO_TYPE_TIME_OF_DAY: return S7P_T_UDINT;
    case PLCIO_TYPE_LINT:
    case PLCIO_TYPE_LTIME: return S7P_T_LINT;
    case PLCIO_TYPE_ULINT:
    case PLCIO_TYPE_LTOD:
    case PLCIO_TYPE_LDT: return S7P_T_ULINT;
    case PLCIO_TYPE_REAL: return S7P_T_REAL;
    case PLCIO_TYPE_LREAL: return S7P_T_LREAL;
    default: return 0;
    }
}

static bool pvalue_signed(uint8_t pt)
{
    return pt == S7P_T_SINT || pt == S7P_T_INT || pt == S7P_T_DINT || pt == S7P_T_LINT;
}

int s7p_sym_to_pvalue(plcio_type t, unsigned length, const uint8_t *bytes, size_t size, int bit, s7p_value *v)
{
    memset(v, 0, sizeof *v);
    size_t need = plcio_type_size(t, length);
    if (need == 0 || size < need) return PLCIO_ERANGE;
    uint8_t pt = pvalue_type(t);
    if (!pt) { /* STRING, WSTRING, DATE_AND_TIME, DTL: their S7 bytes */
        v->flags = S7P_F_ARRAY;
        v->type = t == PLCIO_TYPE_WSTRING ? S7P_T_UINT : S7P_T_USINT;
        v->data = bytes;
        v->size = need;
        v->count = (uint32_t)(t == PLCIO_TYPE_WSTRING ? need / 2 : need);
        return PLCIO_OK;
    }
    v->type = pt;
    if (t == PLCIO_TYPE_BOOL) {
        v->u = (bytes[0] >> (bit > 0 ? bit : 0)) & 1u;
        v->i = (int64_t)v->u;
        return PLCIO_OK;
    }
    uint64_t x = 0;
    for (size_t k = 0; k < need; k++)
        x = x << 8 | bytes[k];
    v->u = x;
    if (pvalue_signed(pt) && need < 8 && (x >> (8 * need - 1)) & 1u) x |= ~0ull << (8 * need);
    v->i = (int64_t)x;
    return PLCIO_OK;
}

int s7p_sym_from_pvalue(plcio_type t, unsigned length, const s7p_value *v, uint8_t *out, size_t size)
{
    size_t need = plcio_type_size(t, length);
    if (need == 0 || size < need) return PLCIO_ERANGE;
    uint8_t pt = pvalue_type(t);
    if (!pt) {
        uint8_t et = t == PLCIO_TYPE_WSTRING ? S7P_T_UINT : S7P_T_USINT;
        if (!(v->flags & S7P_F_ARRAY) || v->type != et) return PLCIO_ETYPE;
        if (v->size != need) return PLCIO_ERANGE;
        memcpy(out, v->data, need);
        return PLCIO_OK;
    }
    if (v->flags || v->type != pt) return PLCIO_ETYPE;
    if (t == PLCIO_TYPE_BOOL) {
        if (v->u > 1) return PLCIO_ERANGE;
        out[0] = (uint8_t)v->u;
        return PLCIO_OK;
    }
    uint64_t x = pvalue_signed(pt) ? (uint64_t)v->i : v->u;
    if (need < 8) {
        if (pvalue_signed(pt)) {
            int64_t lo = -(int64_t)(1ull << (8 * need - 1)), hi = (int64_t)(1ull << (8 * need - 1)) - 1;
            if (v->i < lo || v->i > hi) return PLCIO_ERANGE;
        } else if (v->u >> (8 * need)) {
            return PLCIO_ERANGE;
        }
    }
    for (size_t k = need; k-- > 0;) {
        out[k] = (uint8_t)x;
        x >>= 8;
    }
    return PLCIO_OK;
}

/* ---- simulator: type information from layouts ------------------------------------ */

typedef struct shapes {
    const lay_shape **v;
    size_t n, cap;
} shapes;

static long shape_index(const shapes *s, const lay_shape *x)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] == x) return (long)i;
    return -1;
}

static int collect(shapes *s, const lay_shape *x, int depth)
{
    if (depth > 64) return PLCIO_ELIMIT;
    if (shape_index(s, x) >= 0) return PLCIO_OK;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        const lay_shape **nv = realloc(s->v, cap * sizeof(const lay_shape *));
        if (!nv) return PLCIO_ENOMEM;
        s->v = nv;
        s->cap = cap;
    }
    s->v[s->n++] = x;
    for (size_t i = 0; i < x->nfields; i++) {
        const lay_shape *f = x->fields[i].shape;
        if (f->kind == PLCIO_LAYOUT_ARRAY) f = f->elem;
        if (f->kind == PLCIO_LAYOUT_STRUCT) {
            int rc = collect(s, f, depth + 1);
            if (rc) return rc;
        }
    }
    return PLCIO_OK;
}

static int collect_set(const plcio_layout_set *set, shapes *s)
{
    memset(s, 0, sizeof *s);
    for (size_t i = 0; set && i < plcio_layout_set_count(set); i++) {
        const plcio_layout *l = plcio_layout_set_get(set, i);
        if (!l->optimized) continue;
        int rc = collect(s, l->shape, 0);
        if (rc) {
            free(s->v);
            return rc;
        }
    }
    return PLCIO_OK;
}

uint32_t s7p_ti_db_rid(const plcio_layout_set *set, const plcio_layout *db)
{
    shapes s;
    if (!db->optimized || collect_set(set, &s)) return 0;
    long k = shape_index(&s, db->shape);
    free(s.v);
    return k < 0 ? 0 : S7P_TI_RID_BASE + (uint32_t)k;
}

static void le16(plcio_wcursor *w, uint32_t v)
{
    plcio_wcursor_u8(w, (uint8_t)v);
    plcio_wcursor_u8(w, (uint8_t)(v >> 8));
}
static void le32(plcio_wcursor *w, uint32_t v)
{
    le16(w, v & 0xFFFF);
    le16(w, v >> 16);
}

/* Array bounds, the wire's axis 0 being the last declared (fastest) dimension. */
static void mdim(plcio_wcursor *w, const lay_shape *a)
{
    for (unsigned j = 0; j < 6; j++)
        le32(w, j < a->ndims ? (uint32_t)a->lo[a->ndims - 1 - j] : 0);
    for (unsigned j = 0; j < 6; j++)
        le32(w, j < a->ndims ? (uint32_t)(a->hi[a->ndims - 1 - j] - a->lo[a->ndims - 1 - j] + 1) : 0);
}

/* One VartypeList element of field f. */
static void vartype(plcio_wcursor *w, const lay_field *f, const shapes *s)
{
    const lay_shape *x = f->shape;
    const lay_shape *e = x->kind == PLCIO_LAYOUT_ARRAY ? x->elem : x;
    uint32_t byte = f->bitoff / 8, bit = f->bitoff % 8;
    uint32_t rel = e->kind == PLCIO_LAYOUT_STRUCT ? S7P_TI_RID_BASE + (uint32_t)shape_index(s, e) : 0;
    unsigned oit;
    if (x->kind == PLCIO_LAYOUT_ARRAY)
        oit = e->kind == PLCIO_LAYOUT_STRUCT ? (x->ndims > 1 ? 14 : 13) : (x->ndims > 1 ? 11 : 10);
    else if (x->kind == PLCIO_LAYOUT_STRUCT)
        oit = 12;
    else
        oit = e->type == PLCIO_TYPE_STRING || e->type == PLCIO_TYPE_WSTRING ? 9 : 8;
    le32(w, f->lid);
    le32(w, 0); /* symbol CRC: not computed (clients send 0: not checked) */
    plcio_wcursor_u8(w, e->kind == PLCIO_LAYOUT_STRUCT ? (uint8_t)SDT_STRUCT : s7p_softtype(e->type));
    plcio_wcursor_u16be(w, (uint16_t)(oit << 12 | (e->type == PLCIO_TYPE_BOOL ? bit : 0)));
    plcio_wcursor_u8(w, (uint8_t)(e->type == PLCIO_TYPE_BOOL ? (bit << 4 | bit) : 0));
    switch (oit) {
    case 8:
        le16(w, byte);
        le16(w, byte);
        break;
    case 9:
        le16(w, e->length);
        le16(w, 0);
        le32(w, byte);
        le32(w, byte);
        break;
    case 10:
    case 11:
        le16(w, e->kind == PLCIO_LAYOUT_ELEMENTARY ? e->length : 0);
        le16(w, 0);
        le32(w, byte);
        le32(w, byte);
        le32(w, (uint32_t)x->lo[0]);
        le32(w, x->count);
        if (oit == 11) mdim(w, x);
        break;
    case 12:
        le16(w, 0);
        le16(w, 0);
        le32(w, byte);
        le32(w, byte);
        le32(w, rel);
        for (int k = 0; k < 4; k++)
            le32(w, 0);
        break;
    default: /* 13, 14 */
        le16(w, 0);
        le16(w, 0);
        le32(w, byte);
        le32(w, byte);
        le32(w, (uint32_t)x->lo[0]);
        le32(w, x->count);
        if (oit == 14) mdim(w, x);
        le32(w, e->size_bits / 8);
        le32(w, e->size_bits / 8);
        le32(w, rel);
        for (int k = 0; k < 4; k++)
            le32(w, 0);
        break;
    }
}

/* Blocks of at most ~60000 bytes, element boundaries kept; u16 0 at the end. */
#define BLOCK_MAX 60000u

static int type_object(plcio_wcursor *w, const lay_shape *x, uint32_t rid, const shapes *s)
{
    s7p_elem e;
    memset(&e, 0, sizeof e);
    e.tag = S7P_E_START_OBJECT;
    e.relation_id = rid;
    e.class_id = S7P_ID_CLASS_TYPE_INFO;
    s7p_elem_encode(w, &e);
    e.tag = S7P_E_ATTRIBUTE;
    e.attribute_id = S7P_ID_TI_TCOM_SIZE;
    e.value = s7p_value_udint(x->size_bits / 8);
    s7p_elem_encode(w, &e);
    plcio_wcursor_u8(w, S7P_E_VARTYPE_LIST);
    size_t i = 0;
    bool first = true;
    while (i < x->nfields) {
        uint8_t *len = plcio_wcursor_reserve(w, 2);
        size_t start = plcio_wcursor_used(w);
        if (first) le32(w, 1); /* first id */
        first = false;
        do
            vartype(w, &x->fields[i++], s);
        while (i < x->nfields && plcio_wcursor_used(w) - start < BLOCK_MAX);
        size_t n = plcio_wcursor_used(w) - start;
        if (len) {
            len[0] = (uint8_t)(n >> 8);
            len[1] = (uint8_t)n;
        }
    }
    plcio_wcursor_u16be(w, 0);
    plcio_wcursor_u8(w, S7P_E_VARNAME_LIST);
    i = 0;
    while (i < x->nfields) {
        uint8_t *len = plcio_wcursor_reserve(w, 2);
        size_t start = plcio_wcursor_used(w);
        do {
            const char *name = x->fields[i++].name;
            size_t nl = strlen(name);
            if (nl > 255) return PLCIO_ERANGE;
            plcio_wcursor_u8(w, (uint8_t)nl);
            plcio_wcursor_write(w, name, nl);
            plcio_wcursor_u8(w, 0);
        } while (i < x->nfields && plcio_wcursor_used(w) - start < BLOCK_MAX);
        size_t n = plcio_wcursor_used(w) - start;
        if (len) {
            len[0] = (uint8_t)(n >> 8);
            len[1] = (uint8_t)n;
        }
    }
    plcio_wcursor_u16be(w, 0);
    e.tag = S7P_E_END_OBJECT;
    s7p_elem_encode(w, &e);
    return w->overrun ? PLCIO_ENOSPC : PLCIO_OK;
}

/* One VartypeList element of a PLC tag: elementary (offset-info kind 8),
 * its byte address as both offsets, a BOOL's bit in the flags. */
static void tag_vartype(plcio_wcursor *w, const plcio_s7plus_tag *t)
{
    unsigned bit = t->sym.type == PLCIO_TYPE_BOOL && t->bit > 0 ? (unsigned)t->bit & 7u : 0;
    le32(w, t->sym.lids[0]);
    le32(w, 0); /* symbol CRC: not computed */
    plcio_wcursor_u8(w, s7p_softtype(t->sym.type));
    plcio_wcursor_u16be(w, (uint16_t)(8u << 12 | bit));
    /* bit offsets: standard (classic) in bits 4..6 with the classic flag 0x08, optimized in 0..2 */
    plcio_wcursor_u8(w, (uint8_t)(bit << 4 | 0x08u | bit));
    le16(w, t->start); /* optimized offset */
    le16(w, t->start); /* standard offset: the byte address */
}

/* The type object of one area's tags (RID 0x90010000 I, ...): blocks as a
 * DB's type object has them; an area without tags is left out. */
static int tag_object(plcio_wcursor *w, plcio_s7plus_area area, const plcio_s7plus_tag *tags, size_t ntags)
{
    size_t count = 0;
    for (size_t i = 0; i < ntags; i++)
        count += tags[i].area == area;
    if (!count) return PLCIO_OK;
    s7p_elem e;
    memset(&e, 0, sizeof e);
    e.tag = S7P_E_START_OBJECT;
    e.relation_id = S7P_TI_RID_TAGS + ((uint32_t)area << 16);
    e.class_id = S7P_ID_CLASS_TYPE_INFO;
    s7p_elem_encode(w, &e);
    for (int list = 0; list < 2; list++) {
        plcio_wcursor_u8(w, list ? S7P_E_VARNAME_LIST : S7P_E_VARTYPE_LIST);
        size_t i = 0;
        bool first = true;
        while (i < ntags) {
            while (i < ntags && tags[i].area != area)
                i++;
            if (i == ntags) break;
            uint8_t *len = plcio_wcursor_reserve(w, 2);
            size_t start = plcio_wcursor_used(w);
            if (first && !list) le32(w, 1); /* first id */
            first = false;
            for (; i < ntags && plcio_wcursor_used(w) - start < BLOCK_MAX; i++) {
                if (tags[i].area != area) continue;
                if (!list) {
                    tag_vartype(w, &tags[i]);
                    continue;
                }
                size_t nl = strnlen(tags[i].name, sizeof tags[i].name);
                if (nl > 255) return PLCIO_ERANGE;
                plcio_wcursor_u8(w, (uint8_t)nl);
                plcio_wcursor_write(w, tags[i].name, nl);
                plcio_wcursor_u8(w, 0);
            }
            size_t n = plcio_wcursor_used(w) - start;
            if (len) {
                len[0] = (uint8_t)(n >> 8);
                len[1] = (uint8_t)n;
            }
        }
        plcio_wcursor_u16be(w, 0);
    }
    e.tag = S7P_E_END_OBJECT;
    s7p_elem_encode(w, &e);
    return w->overrun ? PLCIO_ENOSPC : PLCIO_OK;
}

int s7p_ti_encode(plcio_wcursor *w, const plcio_layout_set *set) { return s7p_ti_encode_all(w, set, NULL, 0); }

int s7p_ti_encode_all(plcio_wcursor *w, const plcio_layout_set *set, const plcio_s7plus_tag *tags, size_t ntags)
{
    shapes s;
    int rc = collect_set(set, &s);
    if (rc) return rc;
    s7p_elem e;
    memset(&e, 0, sizeof e);
    e.tag = S7P_E_START_OBJECT;
    e.relation_id = S7P_ID_TYPE_INFO_CONTAINER;
    e.class_id = S7P_ID_CLASS_TYPE_INFO_CONTAINER;
    s7p_elem_encode(w, &e);
    for (size_t i = 0; i < s.n && !rc; i++)
        rc = type_object(w, s.v[i], S7P_TI_RID_BASE + (uint32_t)i, &s);
    for (int a = PLCIO_S7PLUS_AREA_I; a <= PLCIO_S7PLUS_AREA_M && !rc && tags; a++)
        rc = tag_object(w, (plcio_s7plus_area)a, tags, ntags);
    e.tag = S7P_E_END_OBJECT;
    s7p_elem_encode(w, &e);
    free(s.v);
    return rc ? rc : w->overrun ? PLCIO_ENOSPC : PLCIO_OK;
}

int s7p_ti_member(const plcio_layout *db, const uint32_t *lids, unsigned nlids, plcio_type *type, unsigned *length,
                  uint32_t *bitpos)
{
    const lay_shape *x = db->shape;
    uint64_t bit = 0;
    unsigned i = 0;
    for (;;) {
        if (x->kind == PLCIO_LAYOUT_ELEMENTARY) {
            if (i != nlids) return PLCIO_ENOTFOUND;
            *type = x->type;
            *length = x->length;
            *bitpos = (uint32_t)bit;
            return PLCIO_OK;
        }
        if (i == nlids) return PLCIO_ETYPE; /* a whole struct or array */
        if (x->kind == PLCIO_LAYOUT_STRUCT) {
            const lay_field *f = NULL;
            for (size_t k = 0; k < x->nfields && !f; k++)
                if (x->fields[k].lid == lids[i]) f = &x->fields[k];
            if (!f) return PLCIO_ENOTFOUND;
            bit += f->bitoff;
            x = f->shape;
            i++;
        } else { /* ARRAY: the flat element index */
            if (lids[i] >= x->count) return PLCIO_ERANGE;
            bit += (uint64_t)lids[i] * x->stride_bits;
            x = x->elem;
            i++;
            if (x->kind == PLCIO_LAYOUT_STRUCT) {
                if (i == nlids || lids[i] != 1) return PLCIO_ENOTFOUND;
                i++;
            }
        }
    }
}

/* ---- client: type information to SCL -------------------------------------------- */

typedef struct ti_elem {
    uint32_t lid;
    uint8_t sdt;
    unsigned oit;
    unsigned strlen_;
    int32_t lo;
    uint32_t count;
    unsigned ndims; /* arrays: declared order below */
    int32_t lows[6];
    uint32_t counts[6];
    uint32_t rel;
    uint32_t offset;  /* elementary (kinds 1, 8): the standard byte offset */
    uint8_t bitinfo;  /* bit offsets: optimized in bits 0..2, standard in 4..6 with the classic flag 0x08 */
    uint8_t attr_bit; /* the bit offset in the attribute flags (bits 0..2) */
} ti_elem;

typedef struct ti_type {
    uint32_t rid;
    ti_elem *elems;
    size_t nelems;
    char **names;
    size_t nnames;
} ti_type;

struct s7p_ti_set {
    ti_type *types;
    size_t n;
};

void s7p_ti_free(s7p_ti_set *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->n; i++) {
        free(t->types[i].elems);
        for (size_t k = 0; k < t->types[i].nnames; k++)
            free(t->types[i].names[k]);
        free(t->types[i].names);
    }
    free(t->types);
    free(t);
}

static uint32_t rd_le(plcio_rcursor *c, size_t n)
{
    const uint8_t *p = plcio_rcursor_take(c, n);
    if (!p) return 0;
    uint32_t v = 0;
    for (size_t k = n; k-- > 0;)
        v = v << 8 | p[k];
    return v;
}

static int parse_elem(plcio_rcursor *c, ti_elem *e)
{
    if (plcio_rcursor_left(c) < 12) return PLCIO_EPROTO;
    memset(e, 0, sizeof *e);
    e->lid = rd_le(c, 4);
    (void)rd_le(c, 4); /* symbol CRC */
    e->sdt = plcio_rcursor_u8(c);
    uint16_t flags = plcio_rcursor_u16be(c);
    e->bitinfo = plcio_rcursor_u8(c);
    e->oit = flags >> 12;
    e->attr_bit = flags & 7u;
    static const size_t sizes[16] = {104, 4, 12, 20, 68, 32, 48, 96, 4, 12, 20, 68, 32, 48, 96, 40};
    size_t need = sizes[e->oit];
    if (plcio_rcursor_left(c) < need) return PLCIO_EPROTO;
    plcio_rcursor body = plcio_rcursor_make(plcio_rcursor_take(c, need), need);
    e->ndims = 0;
    switch (e->oit) {
    case 1:
    case 8:
        rd_le(&body, 2); /* optimized offset */
        e->offset = rd_le(&body, 2);
        break;
    case 2:
    case 9: e->strlen_ = rd_le(&body, 2); break;
    case 5:
    case 12:
    case 15:
        rd_le(&body, 12);
        e->rel = rd_le(&body, 4);
        break;
    case 0: return PLCIO_EUNSUPPORTED; /* arrays of FB instances */
    default: {                         /* arrays */
        e->strlen_ = rd_le(&body, 2);
        rd_le(&body, 10);
        e->lo = (int32_t)rd_le(&body, 4);
        e->count = rd_le(&body, 4);
        e->ndims = 1;
        e->lows[0] = e->lo;
        e->counts[0] = e->count;
        bool md = e->oit == 4 || e->oit == 11 || e->oit == 7 || e->oit == 14;
        if (md) {
            int32_t lw[6];
            uint32_t ct[6];
            for (int j = 0; j < 6; j++)
                lw[j] = (int32_t)rd_le(&body, 4);
            for (int j = 0; j < 6; j++)
                ct[j] = rd_le(&body, 4);
            unsigned nd = 0;
            while (nd < 6 && ct[nd] > 0)
                nd++;
            if (nd == 0) return PLCIO_EPROTO;
            e->ndims = nd;
            for (unsigned j = 0; j < nd; j++) { /* wire axis 0 = last declared */
                e->lows[j] = lw[nd - 1 - j];
                e->counts[j] = ct[nd - 1 - j];
            }
        }
        if (e->oit == 6 || e->oit == 13 || e->oit == 7 || e->oit == 14) {
            rd_le(&body, 8); /* struct sizes */
            e->rel = rd_le(&body, 4);
        }
        break;
    }
    }
    return PLCIO_OK;
}

static int parse_vartypes(const uint8_t *data, size_t size, ti_type *t)
{
    plcio_rcursor c = plcio_rcursor_make(data, size);
    bool first = true;
    size_t cap = 0;
    while (plcio_rcursor_left(&c) >= 2) {
        uint16_t n = plcio_rcursor_u16be(&c);
        const uint8_t *p = plcio_rcursor_take(&c, n);
        if (!p) return PLCIO_EPROTO;
        plcio_rcursor b = plcio_rcursor_make(p, n);
        if (first && !plcio_rcursor_skip(&b, 4)) return PLCIO_EPROTO;
        first = false;
        while (plcio_rcursor_left(&b) > 0) {
            if (t->nelems == cap) {
                cap = cap ? cap * 2 : 16;
                ti_elem *ne = realloc(t->elems, cap * sizeof *ne);
                if (!ne) return PLCIO_ENOMEM;
                t->elems = ne;
            }
            int rc = parse_elem(&b, &t->elems[t->nelems]);
            if (rc) return rc;
            t->nelems++;
        }
    }
    return plcio_rcursor_left(&c) ? PLCIO_EPROTO : PLCIO_OK;
}

static int parse_varnames(const uint8_t *data, size_t size, ti_type *t)
{
    plcio_rcursor c = plcio_rcursor_make(data, size);
    size_t cap = 0;
    while (plcio_rcursor_left(&c) >= 2) {
        uint16_t n = plcio_rcursor_u16be(&c);
        const uint8_t *p = plcio_rcursor_take(&c, n);
        if (!p) return PLCIO_EPROTO;
        plcio_rcursor b = plcio_rcursor_make(p, n);
        while (plcio_rcursor_left(&b) > 0) {
            uint8_t nl = plcio_rcursor_u8(&b);
            const uint8_t *s = plcio_rcursor_take(&b, nl);
            if (!s || plcio_rcursor_left(&b) < 1) return PLCIO_EPROTO;
            (void)plcio_rcursor_u8(&b);
            if (t->nnames == cap) {
                cap = cap ? cap * 2 : 16;
                char **nn = realloc(t->names, cap * sizeof *nn);
                if (!nn) return PLCIO_ENOMEM;
                t->names = nn;
            }
            char *name = malloc((size_t)nl + 1);
            if (!name) return PLCIO_ENOMEM;
            memcpy(name, s, nl);
            name[nl] = '\0';
            t->names[t->nnames++] = name;
        }
    }
    return plcio_rcursor_left(&c) ? PLCIO_EPROTO : PLCIO_OK;
}

int s7p_ti_decode(const uint8_t *data, size_t len, s7p_ti_set **out, char *msg, size_t msgcap)
{
    *out = NULL;
    s7p_ti_set *t = calloc(1, sizeof *t);
    if (!t) return PLCIO_ENOMEM;
    plcio_rcursor c = plcio_rcursor_make(data, len);
    long stack[64]; /* index of the type of each open object, -1: none */
    int depth = 0, rc = PLCIO_OK;
    size_t cap = 0;
    while (plcio_rcursor_left(&c) > 0 && !rc) {
        if (depth == 0 && c.pos[0] != S7P_E_START_OBJECT) break; /* the answer's fill after the objects */
        s7p_elem e;
        if ((rc = s7p_elem_decode(&c, &e))) {
            snprintf(msg, msgcap, "malformed object in the type information (%s)", plcio_strerror(rc));
            break;
        }
        if (e.tag == S7P_E_START_OBJECT) {
            if (depth == 64) {
                rc = PLCIO_ELIMIT;
                snprintf(msg, msgcap, "type information nested too deep");
                break;
            }
            stack[depth++] = -1;
            if (e.class_id == S7P_ID_CLASS_TYPE_INFO_CONTAINER) continue;
            if (t->n == cap) {
                cap = cap ? cap * 2 : 16;
                ti_type *nt = realloc(t->types, cap * sizeof *nt);
                if (!nt) {
                    rc = PLCIO_ENOMEM;
                    break;
                }
                t->types = nt;
            }
            memset(&t->types[t->n], 0, sizeof t->types[t->n]);
            t->types[t->n].rid = e.relation_id;
            stack[depth - 1] = (long)t->n++;
        } else if (e.tag == S7P_E_END_OBJECT) {
            if (depth == 0) {
                rc = PLCIO_EPROTO;
                snprintf(msg, msgcap, "type information ends an object never started");
                break;
            }
            depth--;
        } else if ((e.tag == S7P_E_VARTYPE_LIST || e.tag == S7P_E_VARNAME_LIST) && depth > 0 && stack[depth - 1] >= 0) {
            ti_type *ty = &t->types[stack[depth - 1]];
            rc = e.tag == S7P_E_VARTYPE_LIST ? parse_vartypes(e.data, e.size, ty) : parse_varnames(e.data, e.size, ty);
            if (rc)
                snprintf(msg, msgcap, "malformed %s in the type information of 0x%08x (%s)",
                         e.tag == S7P_E_VARTYPE_LIST ? "VartypeList" : "VarnameList", ty->rid, plcio_strerror(rc));
        }
    }
    if (!rc && depth != 0) {
        rc = PLCIO_EPROTO;
        snprintf(msg, msgcap, "type information ends inside an object");
    }
    if (rc) {
        s7p_ti_free(t);
        return rc;
    }
    *out = t;
    return PLCIO_OK;
}

typedef struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...) PLCIO_PRINTF(2, 3);
static void sb_add(sbuf *b, const char *fmt, ...)
{
    for (;;) {
        int n = -1;
        if (b->p) {
            va_list ap;
            va_start(ap, fmt);
            n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
            va_end(ap);
        }
        if (n >= 0 && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 4096;
        if (n > 0 && cap < b->len + (size_t)n + 1) cap = b->len + (size_t)n + 1;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
}

static const ti_type *find_type(const s7p_ti_set *t, uint32_t rid)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->types[i].rid == rid) return &t->types[i];
    return NULL;
}

static int gen_members(const s7p_ti_set *t, const ti_type *ty, sbuf *b, int depth, char *msg, size_t msgcap);

static int gen_elem_type(const ti_elem *e, sbuf *b, char *msg, size_t msgcap)
{
    plcio_type pt;
    if (!s7p_softtype_to_type(e->sdt, &pt)) {
        snprintf(msg, msgcap, "software data type %u is not supported", e->sdt);
        return PLCIO_EUNSUPPORTED;
    }
    if (pt == PLCIO_TYPE_STRING || pt == PLCIO_TYPE_WSTRING)
        sb_add(b, "%s[%u]", pt == PLCIO_TYPE_STRING ? "String" : "WString", e->strlen_);
    else
        sb_add(b, "%s", plcio_type_name(pt));
    return PLCIO_OK;
}

static int gen_members(const s7p_ti_set *t, const ti_type *ty, sbuf *b, int depth, char *msg, size_t msgcap)
{
    if (depth > 12) {
        snprintf(msg, msgcap, "type information nested deeper than 12 levels (or circular)");
        return PLCIO_ELIMIT;
    }
    if (ty->nnames != ty->nelems) {
        snprintf(msg, msgcap, "type 0x%08x has %zu members but %zu names", ty->rid, ty->nelems, ty->nnames);
        return PLCIO_EPROTO;
    }
    for (size_t i = 0; i < ty->nelems; i++) {
        const ti_elem *e = &ty->elems[i];
        const char *name = ty->names[i];
        if (!name[0] || strpbrk(name, "\"\r\n")) {
            snprintf(msg, msgcap, "member name \"%s\" cannot be written as a symbol", name);
            return PLCIO_EPROTO;
        }
        if (e->lid == 0) {
            snprintf(msg, msgcap, "member %s has LID 0", name);
            return PLCIO_EPROTO;
        }
        bool is_struct = e->rel != 0 || e->sdt == SDT_STRUCT;
        plcio_type dummy;
        if (!is_struct && !s7p_softtype_to_type(e->sdt, &dummy)) continue; /* not supported: left out */
        sb_add(b, "%*s\"%s\" { plcio_LID := '%u' } : ", depth * 3 + 3, "", name, (unsigned)e->lid);
        if (e->ndims) {
            sb_add(b, "Array[");
            for (unsigned j = 0; j < e->ndims; j++) {
                if (e->counts[j] == 0 || e->counts[j] > 0x10000) {
                    snprintf(msg, msgcap, "array %s has %u elements", name, e->counts[j]);
                    return PLCIO_EPROTO;
                }
                sb_add(b, "%s%d..%lld", j ? ", " : "", (int)e->lows[j], (long long)e->lows[j] + e->counts[j] - 1);
            }
            sb_add(b, "] of ");
        }
        if (is_struct) {
            const ti_type *sub = find_type(t, e->rel);
            if (!sub) {
                snprintf(msg, msgcap, "member %s refers to type 0x%08x, which the PLC did not describe", name, e->rel);
                return PLCIO_EPROTO;
            }
            sb_add(b, "Struct\n");
            int rc = gen_members(t, sub, b, depth + 1, msg, msgcap);
            if (rc) return rc;
            sb_add(b, "%*sEND_STRUCT;\n", depth * 3 + 3, "");
        } else {
            int rc = gen_elem_type(e, b, msg, msgcap);
            if (rc) return rc;
            sb_add(b, ";\n");
        }
    }
    return PLCIO_OK;
}

int s7p_ti_scl(const s7p_ti_set *t, uint32_t rid, const char *name, char **out, char *msg, size_t msgcap)
{
    *out = NULL;
    const ti_type *ty = find_type(t, rid);
    if (!ty) {
        snprintf(msg, msgcap, "the PLC described no type 0x%08x for DB \"%s\"", rid, name);
        return PLCIO_EPROTO;
    }
    if (strpbrk(name, "\"\r\n")) {
        snprintf(msg, msgcap, "DB name %s cannot be written as a symbol", name);
        return PLCIO_EPROTO;
    }
    sbuf b = {0};
    sb_add(&b, "DATA_BLOCK \"%s\"\n{ S7_Optimized_Access := 'TRUE' }\n   STRUCT\n", name);
    int rc = gen_members(t, ty, &b, 0, msg, msgcap);
    sb_add(&b, "   END_STRUCT;\nBEGIN\nEND_DATA_BLOCK\n");
    if (!rc && b.oom) rc = PLCIO_ENOMEM;
    if (rc) {
        free(b.p);
        return rc;
    }
    *out = b.p;
    return PLCIO_OK;
}

/* ---- client: PLC tags from the type information ---------------------------------- */

int s7p_ti_tags(const s7p_ti_set *t, plcio_s7plus_area area, plcio_s7plus_tag **v, size_t *n, size_t *cap, char *msg,
                size_t msgcap)
{
    const ti_type *ty = find_type(t, S7P_TI_RID_TAGS + ((uint32_t)area << 16));
    if (!ty) return PLCIO_OK; /* no tags in this area */
    if (ty->nnames != ty->nelems) {
        snprintf(msg, msgcap, "tag table 0x%08x has %zu tags but %zu names", ty->rid, ty->nelems, ty->nnames);
        return PLCIO_EPROTO;
    }
    for (size_t i = 0; i < ty->nelems; i++) {
        const ti_elem *e = &ty->elems[i];
        plcio_type pt;
        /* arrays, structs, strings and types plcio has no value for: left out */
        if ((e->oit != 8 && e->oit != 1) || e->rel || !s7p_softtype_to_type(e->sdt, &pt) || pt == PLCIO_TYPE_STRING ||
            pt == PLCIO_TYPE_WSTRING)
            continue;
        const char *name = ty->names[i];
        if (!name[0] || strlen(name) >= PLCIO_S7PLUS_TAG_NAME_MAX || strpbrk(name, "\"\r\n")) {
            snprintf(msg, msgcap, "tag name \"%.80s\" cannot be written as a symbol", name);
            return PLCIO_EPROTO;
        }
        if (e->lid == 0) {
            snprintf(msg, msgcap, "tag %s has LID 0", name);
            return PLCIO_EPROTO;
        }
        if (*n == *cap) {
            size_t nc = *cap ? *cap * 2 : 32;
            plcio_s7plus_tag *nv = realloc(*v, nc * sizeof *nv);
            if (!nv) return PLCIO_ENOMEM;
            *v = nv;
            *cap = nc;
        }
        plcio_s7plus_tag *tag = &(*v)[(*n)++];
        memset(tag, 0, sizeof *tag);
        snprintf(tag->name, sizeof tag->name, "%s", name);
        tag->area = area;
        tag->start = e->offset;
        tag->bit = pt != PLCIO_TYPE_BOOL ? -1 : e->bitinfo & 0x08u ? (int)(e->bitinfo >> 4 & 7u) : (int)e->attr_bit;
        tag->sym.access_area = S7P_ID_NATIVE_OBJECTS_THE_I_AREA + (uint32_t)area - PLCIO_S7PLUS_AREA_I;
        tag->sym.sub_area = S7P_ID_CONTROLLER_AREA_VALUE;
        tag->sym.nlids = 1;
        tag->sym.lids[0] = e->lid;
        tag->sym.type = pt;
    }
    return PLCIO_OK;
}
