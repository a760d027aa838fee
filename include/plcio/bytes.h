/* Byte order helpers and a bounds-checked byte cursor.
 *
 * Wire formats are read and written with explicit big- or little-endian
 * get/put helpers, never by overlaying packed structs on bytes.
 *
 * Cursor contract: a cursor walks [pos, end). Reading or writing past `end`
 * does not touch memory; it sets the sticky `overrun` flag, returns 0 and
 * leaves `pos` where it was, so a decoder may read a whole header and check
 * the flag once. Nothing here allocates. */
#ifndef PLCIO_BYTES_H
#define PLCIO_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "plcio/export.h"

PLCIO_BEGIN_DECLS

/* ---- plain loads and stores at a pointer (caller guarantees the length) ---- */

static inline uint16_t plcio_get_u16be(const uint8_t *p) { return (uint16_t)((unsigned)p[0] << 8 | p[1]); }
static inline uint16_t plcio_get_u16le(const uint8_t *p) { return (uint16_t)((unsigned)p[1] << 8 | p[0]); }
static inline uint32_t plcio_get_u32be(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint32_t plcio_get_u32le(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}
static inline uint64_t plcio_get_u64be(const uint8_t *p)
{
    return (uint64_t)plcio_get_u32be(p) << 32 | plcio_get_u32be(p + 4);
}
static inline uint64_t plcio_get_u64le(const uint8_t *p)
{
    return (uint64_t)plcio_get_u32le(p + 4) << 32 | plcio_get_u32le(p);
}
static inline void plcio_put_u16be(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void plcio_put_u16le(uint8_t *p, uint16_t v)
{
    p[1] = (uint8_t)(v >> 8);
    p[0] = (uint8_t)v;
}
static inline void plcio_put_u32be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void plcio_put_u32le(uint8_t *p, uint32_t v)
{
    p[3] = (uint8_t)(v >> 24);
    p[2] = (uint8_t)(v >> 16);
    p[1] = (uint8_t)(v >> 8);
    p[0] = (uint8_t)v;
}
static inline void plcio_put_u64be(uint8_t *p, uint64_t v)
{
    plcio_put_u32be(p, (uint32_t)(v >> 32));
    plcio_put_u32be(p + 4, (uint32_t)v);
}
static inline void plcio_put_u64le(uint8_t *p, uint64_t v)
{
    plcio_put_u32le(p + 4, (uint32_t)(v >> 32));
    plcio_put_u32le(p, (uint32_t)v);
}

/* IEEE 754 binary32/binary64 <-> bit patterns (no aliasing tricks). */
static inline float plcio_f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
static inline uint32_t plcio_f32_to_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}
static inline double plcio_f64_from_bits(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}
static inline uint64_t plcio_f64_to_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static inline float plcio_get_f32be(const uint8_t *p) { return plcio_f32_from_bits(plcio_get_u32be(p)); }
static inline float plcio_get_f32le(const uint8_t *p) { return plcio_f32_from_bits(plcio_get_u32le(p)); }
static inline double plcio_get_f64be(const uint8_t *p) { return plcio_f64_from_bits(plcio_get_u64be(p)); }
static inline double plcio_get_f64le(const uint8_t *p) { return plcio_f64_from_bits(plcio_get_u64le(p)); }
static inline void plcio_put_f32be(uint8_t *p, float v) { plcio_put_u32be(p, plcio_f32_to_bits(v)); }
static inline void plcio_put_f32le(uint8_t *p, float v) { plcio_put_u32le(p, plcio_f32_to_bits(v)); }
static inline void plcio_put_f64be(uint8_t *p, double v) { plcio_put_u64be(p, plcio_f64_to_bits(v)); }
static inline void plcio_put_f64le(uint8_t *p, double v) { plcio_put_u64le(p, plcio_f64_to_bits(v)); }

/* ---- read cursor ---- */

typedef struct plcio_rcursor {
    const uint8_t *pos;
    const uint8_t *end;
    bool overrun; /* sticky: set by any read past end */
} plcio_rcursor;

static inline plcio_rcursor plcio_rcursor_make(const void *data, size_t len)
{
    plcio_rcursor c;
    c.pos = (const uint8_t *)data;
    /* NULL + 0 is undefined in C, hence the test (cppcheck misses it: false positive) */
    /* cppcheck-suppress nullPointerArithmetic */
    c.end = data ? c.pos + len : c.pos;
    c.overrun = false;
    return c;
}
static inline size_t plcio_rcursor_left(const plcio_rcursor *c) { return (size_t)(c->end - c->pos); }
/* Borrow n bytes and advance; NULL (and overrun) if fewer are left. */
static inline const uint8_t *plcio_rcursor_take(plcio_rcursor *c, size_t n)
{
    if (c->overrun || plcio_rcursor_left(c) < n) {
        c->overrun = true;
        return NULL;
    }
    const uint8_t *p = c->pos;
    c->pos += n;
    return p;
}
static inline bool plcio_rcursor_skip(plcio_rcursor *c, size_t n) { return plcio_rcursor_take(c, n) != NULL; }
static inline bool plcio_rcursor_copy(plcio_rcursor *c, void *out, size_t n)
{
    const uint8_t *p = plcio_rcursor_take(c, n);
    if (p && n) memcpy(out, p, n);
    return p != NULL;
}

#define PLCIO_RCURSOR_GET_(name, type, n, load)                                                                        \
    static inline type plcio_rcursor_##name(plcio_rcursor *c)                                                          \
    {                                                                                                                  \
        const uint8_t *p = plcio_rcursor_take(c, n);                                                                   \
        return p ? load(p) : (type)0;                                                                                  \
    }
static inline uint8_t plcio_load_u8_(const uint8_t *p) { return p[0]; }
PLCIO_RCURSOR_GET_(u8, uint8_t, 1, plcio_load_u8_)
PLCIO_RCURSOR_GET_(u16be, uint16_t, 2, plcio_get_u16be)
PLCIO_RCURSOR_GET_(u16le, uint16_t, 2, plcio_get_u16le)
PLCIO_RCURSOR_GET_(u32be, uint32_t, 4, plcio_get_u32be)
PLCIO_RCURSOR_GET_(u32le, uint32_t, 4, plcio_get_u32le)
PLCIO_RCURSOR_GET_(u64be, uint64_t, 8, plcio_get_u64be)
PLCIO_RCURSOR_GET_(u64le, uint64_t, 8, plcio_get_u64le)
PLCIO_RCURSOR_GET_(f32be, float, 4, plcio_get_f32be)
PLCIO_RCURSOR_GET_(f32le, float, 4, plcio_get_f32le)
PLCIO_RCURSOR_GET_(f64be, double, 8, plcio_get_f64be)
PLCIO_RCURSOR_GET_(f64le, double, 8, plcio_get_f64le)
#undef PLCIO_RCURSOR_GET_

/* ---- write cursor ---- */

typedef struct plcio_wcursor {
    uint8_t *start;
    uint8_t *pos;
    uint8_t *end;
    bool overrun; /* sticky: set by any write past end; nothing is written then */
} plcio_wcursor;

static inline plcio_wcursor plcio_wcursor_make(void *buf, size_t cap)
{
    plcio_wcursor c;
    c.start = c.pos = (uint8_t *)buf;
    c.end = buf ? c.pos + cap : c.pos; /* NULL + 0 is undefined in C */
    c.overrun = false;
    return c;
}
static inline size_t plcio_wcursor_used(const plcio_wcursor *c) { return (size_t)(c->pos - c->start); }
static inline size_t plcio_wcursor_left(const plcio_wcursor *c) { return (size_t)(c->end - c->pos); }
/* Reserve n bytes and advance; NULL (and overrun) if they do not fit. */
static inline uint8_t *plcio_wcursor_reserve(plcio_wcursor *c, size_t n)
{
    if (c->overrun || plcio_wcursor_left(c) < n) {
        c->overrun = true;
        return NULL;
    }
    uint8_t *p = c->pos;
    c->pos += n;
    return p;
}
static inline bool plcio_wcursor_write(plcio_wcursor *c, const void *data, size_t n)
{
    uint8_t *p = plcio_wcursor_reserve(c, n);
    if (p && n) memcpy(p, data, n);
    return p != NULL;
}
static inline bool plcio_wcursor_fill(plcio_wcursor *c, uint8_t byte, size_t n)
{
    uint8_t *p = plcio_wcursor_reserve(c, n);
    if (p && n) memset(p, byte, n);
    return p != NULL;
}

#define PLCIO_WCURSOR_PUT_(name, type, n, store)                                                                       \
    static inline bool plcio_wcursor_##name(plcio_wcursor *c, type v)                                                  \
    {                                                                                                                  \
        uint8_t *p = plcio_wcursor_reserve(c, n);                                                                      \
        if (p) store(p, v);                                                                                            \
        return p != NULL;                                                                                              \
    }
static inline void plcio_store_u8_(uint8_t *p, uint8_t v) { p[0] = v; }
PLCIO_WCURSOR_PUT_(u8, uint8_t, 1, plcio_store_u8_)
PLCIO_WCURSOR_PUT_(u16be, uint16_t, 2, plcio_put_u16be)
PLCIO_WCURSOR_PUT_(u16le, uint16_t, 2, plcio_put_u16le)
PLCIO_WCURSOR_PUT_(u32be, uint32_t, 4, plcio_put_u32be)
PLCIO_WCURSOR_PUT_(u32le, uint32_t, 4, plcio_put_u32le)
PLCIO_WCURSOR_PUT_(u64be, uint64_t, 8, plcio_put_u64be)
PLCIO_WCURSOR_PUT_(u64le, uint64_t, 8, plcio_put_u64le)
PLCIO_WCURSOR_PUT_(f32be, float, 4, plcio_put_f32be)
PLCIO_WCURSOR_PUT_(f32le, float, 4, plcio_put_f32le)
PLCIO_WCURSOR_PUT_(f64be, double, 8, plcio_put_f64be)
PLCIO_WCURSOR_PUT_(f64le, double, 8, plcio_put_f64le)
#undef PLCIO_WCURSOR_PUT_

PLCIO_END_DECLS

#endif
