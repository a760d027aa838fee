/* Start values: from the text a TIA/STEP 7 source writes ("16#0F", "B#16#0F",
 * "INT#5", "1.000000e+000", "'a$'b'", "S5T#10S", "DT#90-1-1-0:0:0.0") to
 * bytes in a DB image, through the value codecs of plcio/value.h. This file
 * only adapts the source spellings (typed prefixes, quotes and $ escapes,
 * long literal prefixes, two-digit DT years) to what those codecs read. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "layout/layout_internal.h"
#include "plcio/value.h"
#include "tag/tag_internal.h"

static bool is_text_type(plcio_type t)
{
    return t == PLCIO_TYPE_STRING || t == PLCIO_TYPE_WSTRING || t == PLCIO_TYPE_CHAR || t == PLCIO_TYPE_WCHAR;
}

static bool is_duration_or_date(plcio_type t)
{
    switch (t) {
    case PLCIO_TYPE_TIME:
    case PLCIO_TYPE_LTIME:
    case PLCIO_TYPE_S5TIME:
    case PLCIO_TYPE_DATE:
    case PLCIO_TYPE_TIME_OF_DAY:
    case PLCIO_TYPE_LTOD:
    case PLCIO_TYPE_DATE_AND_TIME:
    case PLCIO_TYPE_LDT:
    case PLCIO_TYPE_DTL: return true;
    default: return false;
    }
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Put one code point as UTF-8. */
static size_t put_utf8(char *out, unsigned cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
}

/* 'text' with IEC $ escapes ($$ $' $L $N $P $R $T $hh) -> UTF-8 in out
 * (out has room for 3x the input). */
static int unquote(const char *s, size_t len, char *out, size_t *out_len, char *msg, size_t cap)
{
    if (len < 2 || s[0] != '\'' || s[len - 1] != '\'') {
        snprintf(msg, cap, "text is written in single quotes, like 'abc'");
        return PLCIO_ESYNTAX;
    }
    size_t n = 0;
    for (size_t i = 1; i + 1 < len; i++) {
        char c = s[i];
        if (c == '\'') {
            snprintf(msg, cap, "a quote inside the text is written $'");
            return PLCIO_ESYNTAX;
        }
        if (c != '$') {
            out[n++] = c;
            continue;
        }
        if (i + 2 >= len) {
            snprintf(msg, cap, "$ at the end of the text: write $$ for a dollar sign");
            return PLCIO_ESYNTAX;
        }
        char e = s[++i];
        int h1 = hexval((unsigned char)e), h2 = i + 2 < len ? hexval((unsigned char)s[i + 1]) : -1;
        switch (toupper((unsigned char)e)) {
        case '$': out[n++] = '$'; continue;
        case '\'': out[n++] = '\''; continue;
        case 'L':
        case 'N': out[n++] = '\n'; continue;
        case 'P': out[n++] = '\f'; continue;
        case 'R': out[n++] = '\r'; continue;
        case 'T': out[n++] = '\t'; continue;
        default: break;
        }
        if (h1 >= 0 && h2 >= 0) {
            n += put_utf8(out + n, (unsigned)(h1 * 16 + h2)); /* $hh: a Latin-1 character */
            i++;
            continue;
        }
        snprintf(msg, cap, "unknown escape $%c", e);
        return PLCIO_ESYNTAX;
    }
    *out_len = n;
    return PLCIO_OK;
}

/* "INT#5" -> "5", "B#16#FF" -> "16#FF", "DW#16#1" -> "16#1", "L#5" -> "5". */
static const char *strip_typed_prefix(const char *s)
{
    static const char *const prefixes[] = {"BOOL",  "BYTE", "WORD", "DWORD", "LWORD", "SINT",  "USINT",
                                           "INT",   "UINT", "DINT", "UDINT", "LINT",  "ULINT", "REAL",
                                           "LREAL", "B",    "W",    "DW",    "LW",    "L"};
    for (;;) {
        const char *hash = strchr(s, '#');
        if (!hash) return s;
        size_t plen = (size_t)(hash - s);
        bool known = false;
        for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
            if (strlen(prefixes[i]) == plen && strncasecmp(prefixes[i], s, plen) == 0) known = true;
        if (!known) return s;
        s = hash + 1;
    }
}

/* Long literal prefixes to the short ones the value codec reads. */
static const struct {
    const char *longer, *shorter;
} literal_prefixes[] = {
    {"TIME#", "T#"},          {"LTIME#", "LT#"},          {"S5TIME#", "S5T#"},       {"DATE#", "D#"},
    {"TIME_OF_DAY#", "TOD#"}, {"LTIME_OF_DAY#", "LTOD#"}, {"DATE_AND_TIME#", "DT#"}, {"DATE_AND_LTIME#", "LDT#"},
};

static void normalize_literal(plcio_type type, const char *s, char *out, size_t cap)
{
    for (size_t i = 0; i < sizeof literal_prefixes / sizeof literal_prefixes[0]; i++) {
        size_t l = strlen(literal_prefixes[i].longer);
        if (strncasecmp(s, literal_prefixes[i].longer, l) == 0) {
            snprintf(out, cap, "%s%s", literal_prefixes[i].shorter, s + l);
            s = NULL;
            break;
        }
    }
    if (s) snprintf(out, cap, "%s", s);
    char *hash = strchr(out, '#');
    if (!hash) return;
    for (char *p = out; p < hash; p++)
        *p = (char)toupper((unsigned char)*p);
    if (type == PLCIO_TYPE_TIME || type == PLCIO_TYPE_LTIME || type == PLCIO_TYPE_S5TIME)
        for (char *p = hash; *p; p++)
            *p = (char)tolower((unsigned char)*p); /* T#0MS -> T#0ms */
    if (type == PLCIO_TYPE_DATE_AND_TIME && strncmp(out, "DT#", 3) == 0) {
        /* STEP 7 classic writes two-digit years: DT#90-1-1-0:0:0.0 */
        const char *y = out + 3;
        size_t digits = strspn(y, "0123456789");
        if (digits == 2 && y[2] == '-') {
            char tmp[160];
            int yy = (y[0] - '0') * 10 + (y[1] - '0');
            snprintf(tmp, sizeof tmp, "DT#%d%s", yy >= 90 ? 1900 + yy : 2000 + yy, y + 2);
            size_t l = strlen(tmp);
            if (l >= cap) l = cap - 1;
            memcpy(out, tmp, l);
            out[l] = '\0';
        }
    }
}

/* Default start value of a type: zero, except dates (their epoch). */
static void default_value(plcio_value *v, plcio_type type, unsigned length)
{
    plcio_value_init(v, type);
    v->length = (uint16_t)length;
    int32_t year = 0;
    if (type == PLCIO_TYPE_DATE || type == PLCIO_TYPE_DATE_AND_TIME) year = 1990;
    if (type == PLCIO_TYPE_LDT || type == PLCIO_TYPE_DTL) year = 1970;
    if (year) {
        v->v.dt.year = year;
        v->v.dt.month = 1;
        v->v.dt.day = 1;
        v->v.dt.weekday = (uint8_t)plcio_weekday(year, 1, 1);
    }
}

static int parse_value(plcio_value *v, plcio_type type, unsigned length, const char *text, char *msg, size_t cap)
{
    size_t tlen = strlen(text);
    if (is_text_type(type)) {
        const char *q = strchr(text, '\'');
        if (q && q != text) {
            const char *hash = strchr(text, '#');
            if (!hash || hash + 1 != q) q = text;
        }
        if (!q) q = text;
        if (type == PLCIO_TYPE_CHAR && q == text && text[0] != '\'') {
            /* CHAR#65 / B#16#41 style: a character code */
            plcio_value num;
            int rc = value_from_text_buf(&num, PLCIO_TYPE_BYTE, 0, strip_typed_prefix(text),
                                         strlen(strip_typed_prefix(text)), msg, cap);
            if (rc) return rc;
            plcio_value_init(v, type);
            v->v.u = num.v.u;
            return PLCIO_OK;
        }
        size_t qlen = tlen - (size_t)(q - text);
        char *buf = malloc(qlen * 3 + 1);
        if (!buf) return PLCIO_ENOMEM;
        size_t n = 0;
        int rc = unquote(q, qlen, buf, &n, msg, cap);
        if (!rc) rc = value_from_text_buf(v, type, length, buf, n, msg, cap);
        free(buf);
        return rc;
    }
    if (is_duration_or_date(type)) {
        char norm[128];
        normalize_literal(type, text, norm, sizeof norm);
        return value_from_text_buf(v, type, length, norm, strlen(norm), msg, cap);
    }
    const char *s = strip_typed_prefix(text);
    if (type == PLCIO_TYPE_BOOL) {
        if (strcasecmp(s, "TRUE") == 0)
            s = "true";
        else if (strcasecmp(s, "FALSE") == 0)
            s = "false";
    }
    return value_from_text_buf(v, type, length, s, strlen(s), msg, cap);
}

int lay_value_encode(plcio_type type, unsigned length, const char *text, uint8_t *image, size_t image_len,
                     uint32_t bitpos, char *msg, size_t msgcap)
{
    size_t byte = bitpos / 8;
    unsigned bit = type == PLCIO_TYPE_BOOL ? bitpos % 8 : 0;
    if (byte >= image_len) {
        snprintf(msg, msgcap, "outside the data block");
        return PLCIO_ERANGE;
    }
    plcio_value *v = malloc(sizeof *v);
    char *big = NULL;
    if (!v) return PLCIO_ENOMEM;
    plcio_value_init(v, type);
    if (type == PLCIO_TYPE_WSTRING && (size_t)length * 3 + 1 > PLCIO_VALUE_INLINE_TEXT) {
        big = malloc((size_t)length * 3 + 1);
        if (!big) {
            free(v);
            return PLCIO_ENOMEM;
        }
        plcio_value_use_buffer(v, big, (size_t)length * 3 + 1);
    }
    int rc;
    if (text) {
        rc = parse_value(v, type, length, text, msg, msgcap);
    } else {
        default_value(v, type, length);
        if (big) plcio_value_use_buffer(v, big, (size_t)length * 3 + 1);
        rc = PLCIO_OK;
    }
    v->length = (uint16_t)length;
    if (!rc) rc = value_encode_buf(v, image + byte, image_len - byte, bit, NULL, msg, msgcap);
    free(v);
    free(big);
    return rc;
}

/* ---- array initializer lists ---- */

/* Next item at depth 0: up to ',' outside quotes and brackets. */
static size_t item_end(const char *s, size_t len)
{
    int depth = 0;
    bool quoted = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (quoted) {
            if (c == '$' && i + 1 < len)
                i++;
            else if (c == '\'')
                quoted = false;
        } else if (c == '\'') {
            quoted = true;
        } else if (c == '(' || c == '[') {
            depth++;
        } else if (c == ')' || c == ']') {
            depth--;
        } else if (c == ',' && depth == 0) {
            return i;
        }
    }
    return len;
}

bool lay_value_list(const char *text, lay_item_fn fn, void *ctx, char *msg, size_t msgcap)
{
    msg[0] = '\0';
    size_t len = strlen(text);
    if (len >= 2 && text[0] == '[' && text[len - 1] == ']') {
        text++;
        len -= 2;
    }
    while (len > 0) {
        size_t end = item_end(text, len);
        const char *item = text;
        size_t ilen = end;
        if (ilen == 0) {
            snprintf(msg, msgcap, "empty element in the list");
            return false;
        }
        /* n(value) repeats value n times */
        size_t digits = 0;
        while (digits < ilen && isdigit((unsigned char)item[digits]))
            digits++;
        if (digits > 0 && digits < ilen && item[digits] == '(' && item[ilen - 1] == ')') {
            if (digits > 6) {
                snprintf(msg, msgcap, "repeat count %.*s is too large", (int)digits, item);
                return false;
            }
            long n = strtol(item, NULL, 10);
            const char *inner = item + digits + 1;
            size_t inner_len = ilen - digits - 2;
            if (inner_len == 0) {
                snprintf(msg, msgcap, "empty repeated value");
                return false;
            }
            for (long k = 0; k < n; k++)
                if (!fn(ctx, inner, inner_len)) return false;
        } else if (!fn(ctx, item, ilen)) {
            return false;
        }
        if (end == len) break;
        text += end + 1;
        len -= end + 1;
        if (len == 0) {
            snprintf(msg, msgcap, "list ends with a comma");
            return false;
        }
    }
    return true;
}

/* ---- formatting a leaf's value for people and JSON ---- */

static int put(char *buf, size_t cap, size_t *n, const char *s, size_t len)
{
    if (*n + len + 1 > cap) return PLCIO_ENOSPC;
    memcpy(buf + *n, s, len);
    *n += len;
    buf[*n] = '\0';
    return PLCIO_OK;
}

static int put_json_string(char *buf, size_t cap, size_t *n, const char *s, size_t len)
{
    int rc = put(buf, cap, n, "\"", 1);
    for (size_t i = 0; !rc && i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            rc = put(buf, cap, n, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            rc = put(buf, cap, n, esc, 6);
        } else {
            rc = put(buf, cap, n, (const char *)&s[i], 1);
        }
    }
    return rc ? rc : put(buf, cap, n, "\"", 1);
}

/* 'text' with $ escapes, the way a source writes it. */
static int put_iec_string(char *buf, size_t cap, size_t *n, const char *s, size_t len)
{
    int rc = put(buf, cap, n, "'", 1);
    for (size_t i = 0; !rc && i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '\'' || c == '$') {
            esc[0] = '$';
            esc[1] = (char)c;
            rc = put(buf, cap, n, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "$%02X", c);
            rc = put(buf, cap, n, esc, 3);
        } else {
            rc = put(buf, cap, n, (const char *)&s[i], 1);
        }
    }
    return rc ? rc : put(buf, cap, n, "'", 1);
}

int plcio_layout_format_value(const plcio_layout_member *m, const uint8_t *image, size_t image_len, char *buf,
                              size_t cap, unsigned flags)
{
    if (!m || !buf || cap == 0 || (!image && image_len)) return PLCIO_EINVAL;
    buf[0] = '\0';
    if (m->kind != PLCIO_LAYOUT_ELEMENTARY) return PLCIO_ETYPE;
    if ((size_t)m->byte + m->size > image_len) return PLCIO_ERANGE;
    bool json = (flags & PLCIO_LAYOUT_JSON) != 0;
    plcio_value *v = malloc(sizeof *v);
    char *big = NULL;
    if (!v) return PLCIO_ENOMEM;
    plcio_value_init(v, m->type);
    if (m->type == PLCIO_TYPE_WSTRING && (size_t)m->length * 3 + 1 > PLCIO_VALUE_INLINE_TEXT) {
        big = malloc((size_t)m->length * 3 + 1);
        if (!big) {
            free(v);
            return PLCIO_ENOMEM;
        }
        plcio_value_use_buffer(v, big, (size_t)m->length * 3 + 1);
    }
    char err[PLCIO_VALUE_ERR_MAX];
    unsigned bit = m->type == PLCIO_TYPE_BOOL && m->bit > 0 ? (unsigned)m->bit : 0;
    int rc = value_decode_buf(v, m->type, m->length, image + m->byte, image_len - m->byte, bit, NULL, err, sizeof err);
    size_t n = 0;
    if (!rc) {
        if (is_text_type(m->type)) {
            size_t tlen;
            const char *t = plcio_value_text(v, &tlen);
            char one[8];
            if (m->type == PLCIO_TYPE_CHAR || m->type == PLCIO_TYPE_WCHAR) {
                tlen = put_utf8(one, (unsigned)v->v.u);
                t = one;
            }
            rc = json ? put_json_string(buf, cap, &n, t, tlen) : put_iec_string(buf, cap, &n, t, tlen);
        } else {
            char text[PLCIO_VALUE_TEXT_MAX];
            size_t tlen = 0;
            rc = is_duration_or_date(m->type) ? plcio_value_to_iec_text(v, text, sizeof text, &tlen)
                                              : plcio_value_to_text(v, text, sizeof text, &tlen);
            if (!rc) {
                bool real = m->type == PLCIO_TYPE_REAL || m->type == PLCIO_TYPE_LREAL;
                if (real && strspn(text, "-0123456789") == tlen && tlen + 3 < sizeof text) {
                    memcpy(text + tlen, ".0", 3); /* 0 -> 0.0: the JSON shows it is a REAL */
                    tlen += 2;
                }
                if (json && real && !strpbrk(text, "0123456789"))
                    rc = put(buf, cap, &n, "null", 4); /* nan, inf */
                else if (json && is_duration_or_date(m->type))
                    rc = put_json_string(buf, cap, &n, text, tlen);
                else
                    rc = put(buf, cap, &n, text, tlen);
            }
        }
    }
    free(v);
    free(big);
    return rc;
}
