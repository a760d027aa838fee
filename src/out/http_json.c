/* Text and JSON for the HTTP output: a growable buffer, JSON strings and
 * values out, and a small strict reader for the bodies of POST /api/write. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out/http_internal.h"

static bool reserve(hbuf *b, size_t more)
{
    if (b->failed) return false;
    if (b->len + more + 1 <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->failed = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void hbuf_put(hbuf *b, const void *p, size_t n)
{
    if (!reserve(b, n)) return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void hbuf_puts(hbuf *b, const char *s) { hbuf_put(b, s, strlen(s)); }

void hbuf_printf(hbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        hbuf_put(b, small, (size_t)n);
        return;
    }
    if (!reserve(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void hbuf_json_str(hbuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    hbuf_put(b, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f) continue;
        hbuf_put(b, s + run, i - run);
        run = i + 1;
        char esc[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
        if (c == '"' || c == '\\') {
            esc[1] = (char)c;
            hbuf_put(b, esc, 2);
        } else if (c == '\n') {
            hbuf_put(b, "\\n", 2);
        } else {
            hbuf_put(b, esc, 6);
        }
    }
    hbuf_put(b, s + run, n - run);
    hbuf_put(b, "\"", 1);
}

void hbuf_label(hbuf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            hbuf_put(b, "\\", 1);
        else if (*s == '\n') {
            hbuf_put(b, "\\n", 2);
            continue;
        }
        hbuf_put(b, s, 1);
    }
}

void hbuf_free(hbuf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

const char *http_quality_name(int quality)
{
    switch (quality) {
    case 1: return "good";
    case 2: return "stale";
    case 3: return "error";
    default: return "none";
    }
}

static bool integer_type(plcio_type t) { return t >= PLCIO_TYPE_BYTE && t <= PLCIO_TYPE_ULINT; }

static bool decode(const plcio_sink_tag *t, const uint8_t *raw, plcio_value *v)
{
    plcio_value_init(v, t->type);
    return plcio_value_decode(v, t->type, t->length, raw, t->size, t->type == PLCIO_TYPE_BOOL ? t->bit : 0, NULL,
                              NULL) == PLCIO_OK;
}

void http_json_value(hbuf *b, const plcio_sink_tag *t, const uint8_t *raw, char *scratch)
{
    plcio_value v;
    plcio_value_init(&v, t->type);
    if (t->type == PLCIO_TYPE_WSTRING) plcio_value_use_buffer(&v, scratch, HTTP_TEXT_MAX);
    if (plcio_value_decode(&v, t->type, t->length, raw, t->size, t->type == PLCIO_TYPE_BOOL ? t->bit : 0, NULL, NULL) !=
        PLCIO_OK) {
        hbuf_puts(b, "null");
        return;
    }
    char text[PLCIO_VALUE_TEXT_MAX];
    size_t len = 0;
    switch (t->type) {
    case PLCIO_TYPE_BOOL: hbuf_puts(b, v.v.b ? "true" : "false"); return;
    case PLCIO_TYPE_REAL:
    case PLCIO_TYPE_LREAL:
        if (!isfinite(v.v.f)) {
            hbuf_puts(b, "null");
            return;
        }
        /* fall through */
    default:
        if (t->type == PLCIO_TYPE_STRING || t->type == PLCIO_TYPE_WSTRING) {
            const char *s = plcio_value_text(&v, &len);
            hbuf_json_str(b, s, len);
            return;
        }
        if (plcio_value_to_text(&v, text, sizeof text, &len) != PLCIO_OK) {
            hbuf_puts(b, "null");
            return;
        }
        if (integer_type(t->type) || t->type == PLCIO_TYPE_REAL || t->type == PLCIO_TYPE_LREAL)
            hbuf_put(b, text, len);
        else
            hbuf_json_str(b, text, len);
    }
}

bool http_number(const plcio_sink_tag *t, const uint8_t *raw, double *out)
{
    if (t->type != PLCIO_TYPE_BOOL && !integer_type(t->type) && t->type != PLCIO_TYPE_REAL &&
        t->type != PLCIO_TYPE_LREAL)
        return false;
    plcio_value v;
    if (!decode(t, raw, &v)) return false;
    if (t->type == PLCIO_TYPE_BOOL)
        *out = v.v.b ? 1 : 0;
    else if (t->type == PLCIO_TYPE_REAL || t->type == PLCIO_TYPE_LREAL)
        *out = v.v.f;
    else if (t->type == PLCIO_TYPE_SINT || t->type == PLCIO_TYPE_INT || t->type == PLCIO_TYPE_DINT ||
             t->type == PLCIO_TYPE_LINT)
        *out = (double)v.v.i;
    else
        *out = (double)v.v.u;
    return true;
}

/* ---- the reader ---- */

typedef struct jcur {
    const char *start, *p, *end;
    char *err;
    size_t cap;
} jcur;

static int jfail(jcur *c, const char *what)
{
    snprintf(c->err, c->cap, "bad JSON at byte %zu: %s", (size_t)(c->p - c->start), what);
    return PLCIO_ESYNTAX;
}

static void skip_ws(jcur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static bool eat(jcur *c, char ch)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

static int hex4(jcur *c, unsigned *out)
{
    if (c->end - c->p < 4) return jfail(c, "short \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char ch = *c->p++;
        v <<= 4;
        if (ch >= '0' && ch <= '9')
            v |= (unsigned)(ch - '0');
        else if (ch >= 'a' && ch <= 'f')
            v |= (unsigned)(ch - 'a' + 10);
        else if (ch >= 'A' && ch <= 'F')
            v |= (unsigned)(ch - 'A' + 10);
        else
            return jfail(c, "bad \\u escape");
    }
    *out = v;
    return PLCIO_OK;
}

static void put_utf8(hbuf *b, unsigned cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (char)(0xf0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    hbuf_put(b, u, n);
}

static int escape(jcur *c, hbuf *out)
{
    if (c->p >= c->end) return jfail(c, "unterminated string");
    char e = *c->p++;
    const char *from = "\"\\/bfnrt";
    const char *hit = e ? strchr(from, e) : NULL;
    if (hit) {
        const char *to = "\"\\/\b\f\n\r\t";
        hbuf_put(out, to + (hit - from), 1);
        return PLCIO_OK;
    }
    if (e != 'u') return jfail(c, "bad escape");
    unsigned cp, lo;
    int rc = hex4(c, &cp);
    if (rc != PLCIO_OK) return rc;
    if (cp >= 0xdc00 && cp <= 0xdfff) return jfail(c, "unpaired surrogate");
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (c->end - c->p < 2 || c->p[0] != '\\' || c->p[1] != 'u') return jfail(c, "unpaired surrogate");
        c->p += 2;
        rc = hex4(c, &lo);
        if (rc != PLCIO_OK) return rc;
        if (lo < 0xdc00 || lo > 0xdfff) return jfail(c, "unpaired surrogate");
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    if (cp == 0) return jfail(c, "NUL character in a string");
    put_utf8(out, cp);
    return PLCIO_OK;
}

/* A string (the opening quote already seen) into out, NUL-terminated. */
static int string_body(jcur *c, hbuf *out)
{
    hbuf_put(out, "", 0);
    while (c->p < c->end) {
        unsigned char ch = (unsigned char)*c->p;
        if (ch == '"') {
            c->p++;
            return out->failed ? PLCIO_ENOMEM : PLCIO_OK;
        }
        if (ch < 0x20) return jfail(c, "control character in a string");
        c->p++;
        if (ch == '\\') {
            int rc = escape(c, out);
            if (rc != PLCIO_OK) return rc;
        } else {
            hbuf_put(out, &ch, 1);
        }
    }
    return jfail(c, "unterminated string");
}

static int number(jcur *c, hbuf *out)
{
    const char *s = c->p;
    if (c->p < c->end && *c->p == '-') c->p++;
    if (c->p >= c->end || *c->p < '0' || *c->p > '9') return jfail(c, "bad number");
    if (*c->p == '0')
        c->p++;
    else
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
            c->p++;
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        if (c->p >= c->end || *c->p < '0' || *c->p > '9') return jfail(c, "bad number");
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
            c->p++;
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-')) c->p++;
        if (c->p >= c->end || *c->p < '0' || *c->p > '9') return jfail(c, "bad number");
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
            c->p++;
    }
    if (c->p - s > 64) return jfail(c, "number too long");
    hbuf_put(out, s, (size_t)(c->p - s));
    return out->failed ? PLCIO_ENOMEM : PLCIO_OK;
}

static bool word(jcur *c, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0) return false;
    c->p += n;
    return true;
}

/* A value that may be written: number, string, true, false. */
static int scalar(jcur *c, hbuf *out)
{
    skip_ws(c);
    if (c->p >= c->end) return jfail(c, "a value is missing");
    char ch = *c->p;
    if (ch == '"') {
        c->p++;
        return string_body(c, out);
    }
    if (ch == '-' || (ch >= '0' && ch <= '9')) return number(c, out);
    if (word(c, "true")) {
        hbuf_puts(out, "true");
        return PLCIO_OK;
    }
    if (word(c, "false")) {
        hbuf_puts(out, "false");
        return PLCIO_OK;
    }
    if (word(c, "null")) return jfail(c, "null cannot be written");
    if (ch == '{' || ch == '[') return jfail(c, "a value must be a number, a string or true/false");
    return jfail(c, "not a JSON value");
}

static char *take(hbuf *b)
{
    char *s = b->data ? b->data : calloc(1, 1);
    memset(b, 0, sizeof *b);
    return s;
}

typedef struct item_list {
    http_write_item *items;
    size_t count;
} item_list;

static int add_item(jcur *c, item_list *l, hbuf *tag, hbuf *value)
{
    if (l->count == HTTP_WRITE_ITEMS_MAX) return jfail(c, "too many values in one request (at most 1000)");
    for (size_t i = 0; i < l->count; i++)
        if (!strcmp(l->items[i].tag, tag->data ? tag->data : "")) return jfail(c, "a tag is given twice");
    http_write_item *more = realloc(l->items, (l->count + 1) * sizeof *more);
    if (!more) return PLCIO_ENOMEM;
    l->items = more;
    l->items[l->count].tag = take(tag);
    l->items[l->count].value = take(value);
    l->count++;
    return PLCIO_OK;
}

/* {"Tag": value, ...} */
static int object_form(jcur *c, item_list *l)
{
    if (eat(c, '}')) return PLCIO_OK;
    do {
        hbuf tag = {0}, value = {0};
        int rc = eat(c, '"') ? string_body(c, &tag) : jfail(c, "a tag name (a string) is expected");
        if (rc == PLCIO_OK && !eat(c, ':')) rc = jfail(c, "':' is expected");
        if (rc == PLCIO_OK) rc = scalar(c, &value);
        if (rc == PLCIO_OK) rc = add_item(c, l, &tag, &value);
        hbuf_free(&tag);
        hbuf_free(&value);
        if (rc != PLCIO_OK) return rc;
    } while (eat(c, ','));
    return eat(c, '}') ? PLCIO_OK : jfail(c, "',' or '}' is expected");
}

/* [{"tag": "Tag", "value": value}, ...] */
static int list_form(jcur *c, item_list *l)
{
    if (eat(c, ']')) return PLCIO_OK;
    do {
        if (!eat(c, '{')) return jfail(c, "each element must be {\"tag\": ..., \"value\": ...}");
        hbuf tag = {0}, value = {0}, key = {0};
        bool have_tag = false, have_value = false;
        int rc = PLCIO_OK;
        do {
            key.len = 0;
            rc = eat(c, '"') ? string_body(c, &key) : jfail(c, "\"tag\" or \"value\" is expected");
            if (rc == PLCIO_OK && !eat(c, ':')) rc = jfail(c, "':' is expected");
            if (rc != PLCIO_OK) break;
            if (!strcmp(key.data, "tag") && !have_tag) {
                have_tag = true;
                rc = eat(c, '"') ? string_body(c, &tag) : jfail(c, "\"tag\" must be a string");
            } else if (!strcmp(key.data, "value") && !have_value) {
                have_value = true;
                rc = scalar(c, &value);
            } else {
                rc = jfail(c, "only \"tag\" and \"value\", once each");
            }
        } while (rc == PLCIO_OK && eat(c, ','));
        if (rc == PLCIO_OK && !eat(c, '}')) rc = jfail(c, "',' or '}' is expected");
        if (rc == PLCIO_OK && (!have_tag || !have_value)) rc = jfail(c, "an element needs \"tag\" and \"value\"");
        if (rc == PLCIO_OK) rc = add_item(c, l, &tag, &value);
        hbuf_free(&tag);
        hbuf_free(&value);
        hbuf_free(&key);
        if (rc != PLCIO_OK) return rc;
    } while (eat(c, ','));
    return eat(c, ']') ? PLCIO_OK : jfail(c, "',' or ']' is expected");
}

/* Well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF); the offset of the first bad byte,
 * or len. */
static size_t utf8_valid_prefix(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (n == 0 || i + n > len) return i;
        uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1fu) : n == 3 ? (c & 0x0fu) : (c & 0x07u);
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return i;
            cp = (cp << 6) | (s[i + k] & 0x3fu);
        }
        static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
        i += n;
    }
    return len;
}

int http_parse_writes(const char *body, size_t len, http_write_item **items, size_t *count, char *err, size_t cap)
{
    jcur c = {body, body, body + len, err, cap};
    item_list l = {NULL, 0};
    *items = NULL;
    *count = 0;
    int rc;
    size_t good = utf8_valid_prefix((const unsigned char *)body, len);
    if (good < len) {
        c.p = body + good;
        rc = jfail(&c, "not UTF-8");
    } else if (memchr(body, '\0', len))
        rc = jfail(&c, "NUL byte in the body");
    else if (eat(&c, '{'))
        rc = object_form(&c, &l);
    else if (eat(&c, '['))
        rc = list_form(&c, &l);
    else
        rc = jfail(&c, "expected {\"Tag\": value, ...} or [{\"tag\": \"Tag\", \"value\": value}, ...]");
    if (rc == PLCIO_OK) {
        skip_ws(&c);
        if (c.p != c.end) rc = jfail(&c, "data after the JSON document");
    }
    if (rc == PLCIO_OK && l.count == 0) rc = jfail(&c, "no values to write");
    if (rc != PLCIO_OK) {
        if (rc == PLCIO_ENOMEM) snprintf(err, cap, "out of memory");
        http_write_items_free(l.items, l.count);
        return rc;
    }
    *items = l.items;
    *count = l.count;
    return PLCIO_OK;
}

void http_write_items_free(http_write_item *items, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(items[i].tag);
        free(items[i].value);
    }
    free(items);
}
