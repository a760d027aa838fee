/* S7 and Modbus address strings (grammar in include/plcio/address.h).
 *
 * Both parsers walk the text once with a small scanner; every failure names
 * the input and the part that is wrong. Limits:
 *   S7 (S7 protocol, read/write variable item): DB number 1..65535 (2 bytes),
 *     address = byte * 8 + bit in 3 bytes, so bytes 0..0x1FFFFF; timers and
 *     counters are numbered 0..65535.
 *   Modbus (Application Protocol 4.4): 0-based addresses 0..65535; Modicon
 *     references 0xxxx/1xxxx/3xxxx/4xxxx are 1-based. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "plcio/address.h"
#include "plcio/core.h"
#include "tag_internal.h"
#include "core/error.h"

/* ---- scanner ---- */

typedef struct scan {
    const char *start; /* whole input, for messages */
    const char *p;
} scan;

typedef struct quoted {
    char s[48];
} quoted;

static quoted quote(const char *text)
{
    quoted q;
    size_t len = strlen(text);
    if (len > 40)
        snprintf(q.s, sizeof q.s, "%.40s...", text);
    else
        snprintf(q.s, sizeof q.s, "%s", text);
    return q;
}

static bool accept_ci(scan *s, const char *word)
{
    size_t n = strlen(word);
    if (strncasecmp(s->p, word, n) != 0) return false;
    s->p += n;
    return true;
}

static bool accept_char(scan *s, char c)
{
    if (*s->p != c) return false;
    s->p++;
    return true;
}

/* Decimal digits; *value saturates above UINT32_MAX (callers range-check). */
static bool scan_number(scan *s, uint64_t *value)
{
    uint64_t x = 0;
    const char *begin = s->p;
    while (isdigit((unsigned char)*s->p)) {
        if (x <= UINT32_MAX) x = x * 10 + (uint64_t)(*s->p - '0');
        s->p++;
    }
    *value = x;
    return s->p > begin;
}

/* "[n]" */
static int scan_bracket(scan *s, uint64_t *value)
{
    if (!accept_char(s, '[')) return 0;
    if (!scan_number(s, value) || !accept_char(s, ']')) return -1;
    return 1;
}

/* ---- type suffix shared by both protocols: TYPE, TYPE[len], then [count] ---- */

typedef struct suffix {
    bool has_type;
    plcio_type type;
    uint64_t length;
    bool has_count;
    uint64_t count;
} suffix;

static int parse_count(scan *s, suffix *sx, const char *text, char *err, size_t cap)
{
    uint64_t n;
    int r = scan_bracket(s, &n);
    if (r < 0) return tag_fail(PLCIO_ESYNTAX, err, cap, "%s: malformed array count, write [n]", quote(text).s);
    if (r == 0) return PLCIO_OK;
    if (sx->has_count) return tag_fail(PLCIO_ESYNTAX, err, cap, "%s: array count given twice", quote(text).s);
    if (n < 1 || n > 65535)
        return tag_fail(PLCIO_ERANGE, err, cap, "%s: array count %llu is out of range (1..65535)", quote(text).s,
                        (unsigned long long)n);
    sx->has_count = true;
    sx->count = n;
    return PLCIO_OK;
}

/* After ':' : a type name, its [length] for strings, an optional [count]. */
static int parse_type(scan *s, suffix *sx, const char *text, char *err, size_t cap)
{
    const char *name = s->p;
    while (isalnum((unsigned char)*s->p) || *s->p == '_')
        s->p++;
    size_t len = (size_t)(s->p - name);
    if (len == 0) return tag_fail(PLCIO_ESYNTAX, err, cap, "%s: a type name must follow ':'", quote(text).s);
    if (sx->has_type) return tag_fail(PLCIO_ESYNTAX, err, cap, "%s: type given twice", quote(text).s);
    if (plcio_type_parse(name, len, &sx->type) != PLCIO_OK)
        return tag_fail(PLCIO_ESYNTAX, err, cap, "%s: unknown type '%.*s'", quote(text).s, (int)len, name);
    sx->has_type = true;
    if (sx->type == PLCIO_TYPE_STRING || sx->type == PLCIO_TYPE_WSTRING) {
        unsigned max = sx->type == PLCIO_TYPE_STRING ? PLCIO_STRING_MAX : PLCIO_WSTRING_MAX;
        int r = scan_bracket(s, &sx->length);
        if (r <= 0)
            return tag_fail(PLCIO_ESYNTAX, err, cap, "%s: %s needs a length, e.g. %s[30]", quote(text).s,
                            plcio_type_name(sx->type), plcio_type_name(sx->type));
        if (sx->length < 1 || sx->length > max)
            return tag_fail(PLCIO_ERANGE, err, cap, "%s: %s length %llu is out of range (1..%u)", quote(text).s,
                            plcio_type_name(sx->type), (unsigned long long)sx->length, max);
    }
    return parse_count(s, sx, text, err, cap);
}

static int trailing_junk(const scan *s, const char *text, char *err, size_t cap)
{
    return tag_fail(PLCIO_ESYNTAX, err, cap, "%s: unexpected '%.10s' at position %zu", quote(text).s, s->p,
                    (size_t)(s->p - s->start) + 1);
}

/* ===========================================================================
 * S7
 * ========================================================================= */

static const struct {
    const char *prefix; /* two-letter P prefixes before the one-letter areas */
    plcio_s7_area area;
    bool periph_output;
} s7_areas[] = {
    {"PI", PLCIO_S7_AREA_P, false}, {"PE", PLCIO_S7_AREA_P, false}, {"PQ", PLCIO_S7_AREA_P, true},
    {"PA", PLCIO_S7_AREA_P, true},  {"M", PLCIO_S7_AREA_MK, false}, {"I", PLCIO_S7_AREA_PE, false},
    {"E", PLCIO_S7_AREA_PE, false}, {"Q", PLCIO_S7_AREA_PA, false}, {"A", PLCIO_S7_AREA_PA, false},
    {"T", PLCIO_S7_AREA_TM, false}, {"C", PLCIO_S7_AREA_CT, false}, {"Z", PLCIO_S7_AREA_CT, false},
};

static plcio_type letter_default(char letter)
{
    switch (letter) {
    case 'X': return PLCIO_TYPE_BOOL;
    case 'B': return PLCIO_TYPE_BYTE;
    case 'W': return PLCIO_TYPE_WORD;
    default: return PLCIO_TYPE_DWORD;
    }
}

/* Does `type` fit the size letter? */
static bool letter_accepts(char letter, plcio_type type)
{
    bool text = type == PLCIO_TYPE_STRING || type == PLCIO_TYPE_WSTRING;
    size_t size = plcio_type_size(type, 0);
    switch (letter) {
    case 'X': return type == PLCIO_TYPE_BOOL;
    case 'W': return type != PLCIO_TYPE_BOOL && !text && size == 2;
    case 'D': return !text && size == 4;
    default: /* B: one byte, or a type that has no letter of its own (strings at any length) */
        return type != PLCIO_TYPE_BOOL && (text || size == 1 || size > 4);
    }
}

static int scan_letter(scan *s, char *letter)
{
    char c = (char)toupper((unsigned char)*s->p);
    if (c == 'X' || c == 'B' || c == 'W' || c == 'D') {
        *letter = c;
        s->p++;
        return 1;
    }
    return 0;
}

/* offset [. bit] ; bit required when `letter` is X, forbidden for B/W/D. */
static int scan_offset_bit(scan *s, char letter, uint64_t *offset, bool *has_bit, uint64_t *bit, const char *text,
                           char *err, size_t cap)
{
    *has_bit = false; /* set on every path, errors included */
    if (!scan_number(s, offset))
        return tag_fail(PLCIO_ESYNTAX, err, cap, "%s: a byte offset is missing", quote(text).s);
    if (accept_char(s, '.')) {
        if (!scan_number(s, bit))
            return tag_fail(PLCIO_ESYNTAX, err, cap, "%s: a bit number must follow '.'", quote(text).s);
        *has_bit = true;
    }
    if (letter == 'X' && !*has_bit)
        return tag_fail(PLCIO_ESYNTAX, err, cap, "%s: a bit address needs .bit (e.g. DBX0.3)", quote(text).s);
    if (letter != 'X' && letter != 0 && *has_bit)
        return tag_fail(PLCIO_ESYNTAX, err, cap, "%s: only X (bit) addresses take .bit", quote(text).s);
    if (*has_bit && *bit > 7)
        return tag_fail(PLCIO_ERANGE, err, cap, "%s: bit %llu is out of range (0..7)", quote(text).s,
                        (unsigned long long)*bit);
    if (*offset > PLCIO_S7_MAX_BYTE_OFFSET)
        return tag_fail(PLCIO_ERANGE, err, cap, "%s: byte offset %llu is out of range (0..%u)", quote(text).s,
                        (unsigned long long)*offset, PLCIO_S7_MAX_BYTE_OFFSET);
    return PLCIO_OK;
}

/* The suffixes after an S7 address: [count] and/or :TYPE[len][count]. */
static int scan_s7_suffixes(scan *s, suffix *sx, const char *text, char *err, size_t cap)
{
    int rc = parse_count(s, sx, text, err, cap);
    if (rc != PLCIO_OK) return rc;
    if (accept_char(s, ':')) {
        rc = parse_type(s, sx, text, err, cap);
        if (rc != PLCIO_OK) return rc;
    }
    return *s->p ? trailing_junk(s, text, err, cap) : PLCIO_OK;
}

/* Fill size fields and check the end of the range. */
static int s7_finish(plcio_s7_address *a, const char *text, char *err, size_t cap)
{
    uint64_t size;
    if (a->area == PLCIO_S7_AREA_TM || a->area == PLCIO_S7_AREA_CT) {
        uint64_t last = (uint64_t)a->offset + a->count - 1;
        if (last > 65535)
            return tag_fail(PLCIO_ERANGE, err, cap, "%s: %s %llu is beyond the last number 65535", quote(text).s,
                            a->area == PLCIO_S7_AREA_TM ? "timer" : "counter", (unsigned long long)last);
        size = 2 * (uint64_t)a->count;
    } else if (a->type == PLCIO_TYPE_BOOL) {
        size = ((uint64_t)a->bit + a->count + 7) / 8;
    } else {
        size = plcio_type_size(a->type, a->length) * (uint64_t)a->count;
    }
    if (a->area != PLCIO_S7_AREA_TM && a->area != PLCIO_S7_AREA_CT &&
        (uint64_t)a->offset + size - 1 > PLCIO_S7_MAX_BYTE_OFFSET)
        return tag_fail(PLCIO_ERANGE, err, cap, "%s: the data ends at byte %llu, beyond the last address %u",
                        quote(text).s, (unsigned long long)(a->offset + size - 1), PLCIO_S7_MAX_BYTE_OFFSET);
    a->size = (uint32_t)size;
    return PLCIO_OK;
}

static int apply_type(plcio_s7_address *a, char letter, const suffix *sx, const char *text, char *err, size_t cap)
{
    a->count = sx->has_count ? (uint32_t)sx->count : 1;
    if (!sx->has_type) {
        if (!letter) return tag_fail(PLCIO_ESYNTAX, err, cap, "%s: give a type, e.g. DB1:8:REAL", quote(text).s);
        a->type = letter_default(letter);
        return PLCIO_OK;
    }
    a->type = sx->type;
    a->length = (uint16_t)sx->length;
    if (letter && !letter_accepts(letter, sx->type)) {
        size_t size = plcio_type_size(sx->type, a->length);
        if (sx->type == PLCIO_TYPE_STRING || sx->type == PLCIO_TYPE_WSTRING)
            return tag_fail(PLCIO_ESYNTAX, err, cap, "%s: %s goes with B addresses (e.g. DBB20)", quote(text).s,
                            plcio_type_name(sx->type));
        if (letter == 'X' || sx->type == PLCIO_TYPE_BOOL)
            return tag_fail(PLCIO_ESYNTAX, err, cap, "%s: BOOL goes with X addresses (e.g. DBX0.0) and only there",
                            quote(text).s);
        return tag_fail(PLCIO_ESYNTAX, err, cap, "%s: %s is %zu byte%s, a %c address holds %d", quote(text).s,
                        plcio_type_name(sx->type), size, size == 1 ? "" : "s", letter,
                        letter == 'B'   ? 1
                        : letter == 'W' ? 2
                                        : 4);
    }
    return PLCIO_OK;
}

/* DB<n>.DB<letter><offset>[.bit]  or  DB<n>:<offset>[.bit]:<TYPE> */
static int parse_s7_db(scan *s, plcio_s7_address *a, const char *text, char *err, size_t cap)
{
    uint64_t db, offset, bit = 0;
    bool has_bit;
    char letter = 0;
    suffix sx = {0};
    if (!scan_number(s, &db)) return tag_fail(PLCIO_ESYNTAX, err, cap, "%s: DB number missing", quote(text).s);
    if (db < 1 || db > 65535)
        return tag_fail(PLCIO_ERANGE, err, cap, "%s: DB number %llu is out of range (1..65535)", quote(text).s,
                        (unsigned long long)db);
    a->area = PLCIO_S7_AREA_DB;
    a->db = (uint16_t)db;
    int rc;
    if (accept_char(s, '.')) {
        if (!accept_ci(s, "DB") || !scan_letter(s, &letter))
            return tag_fail(PLCIO_ESYNTAX, err, cap, "%s: expected DBX, DBB, DBW or DBD after 'DB%llu.'", quote(text).s,
                            (unsigned long long)db);
        rc = scan_offset_bit(s, letter, &offset, &has_bit, &bit, text, err, cap);
        if (rc == PLCIO_OK) rc = scan_s7_suffixes(s, &sx, text, err, cap);
    } else if (accept_char(s, ':') || accept_char(s, ',')) {
        /* python-snap7 / PLC4X: DB1:8:REAL, DB1:0.3:BOOL */
        rc = scan_offset_bit(s, 0, &offset, &has_bit, &bit, text, err, cap);
        if (rc == PLCIO_OK) rc = scan_s7_suffixes(s, &sx, text, err, cap);
        if (rc == PLCIO_OK && !sx.has_type)
            return tag_fail(PLCIO_ESYNTAX, err, cap, "%s: give a type, e.g. DB1:8:REAL", quote(text).s);
        if (rc == PLCIO_OK && has_bit && sx.type != PLCIO_TYPE_BOOL)
            return tag_fail(PLCIO_ESYNTAX, err, cap, "%s: only BOOL takes .bit", quote(text).s);
    } else {
        return tag_fail(PLCIO_ESYNTAX, err, cap, "%s: expected '.DBX0.0', '.DBW0' or ':offset:TYPE' after DB%llu",
                        quote(text).s, (unsigned long long)db);
    }
    if (rc != PLCIO_OK) return rc;
    a->offset = (uint32_t)offset;
    a->bit = (uint8_t)bit;
    rc = apply_type(a, letter, &sx, text, err, cap);
    return rc != PLCIO_OK ? rc : s7_finish(a, text, err, cap);
}

/* M, I/E, Q/A, PI/PQ: [letter] offset [.bit] */
static int parse_s7_io(scan *s, plcio_s7_address *a, const char *area_text, const char *text, char *err, size_t cap)
{
    char letter = 0;
    uint64_t offset, bit = 0;
    bool has_bit;
    suffix sx = {0};
    scan_letter(s, &letter);
    if (a->area == PLCIO_S7_AREA_P && (letter == 0 || letter == 'X'))
        return tag_fail(PLCIO_ESYNTAX, err, cap, "%s: peripheral I/O is read as bytes: %sB, %sW or %sD", quote(text).s,
                        area_text, area_text, area_text);
    int rc = scan_offset_bit(s, letter, &offset, &has_bit, &bit, text, err, cap);
    if (rc != PLCIO_OK) return rc;
    if (letter == 0) {
        if (!has_bit)
            return tag_fail(PLCIO_ESYNTAX, err, cap, "%s: give a size letter (%sB, %sW, %sD) or a bit (%s%llu.0)",
                            quote(text).s, area_text, area_text, area_text, area_text, (unsigned long long)offset);
        letter = 'X';
    }
    rc = scan_s7_suffixes(s, &sx, text, err, cap);
    if (rc != PLCIO_OK) return rc;
    a->offset = (uint32_t)offset;
    a->bit = (uint8_t)bit;
    rc = apply_type(a, letter, &sx, text, err, cap);
    return rc != PLCIO_OK ? rc : s7_finish(a, text, err, cap);
}

/* T<n>, C<n> (Z<n>): 2 bytes each; the type may be any 2-byte type. */
static int parse_s7_timer_counter(scan *s, plcio_s7_address *a, const char *text, char *err, size_t cap)
{
    uint64_t n;
    suffix sx = {0};
    if (!scan_number(s, &n))
        return tag_fail(PLCIO_ESYNTAX, err, cap, "%s: a timer/counter number is missing", quote(text).s);
    if (n > 65535)
        return tag_fail(PLCIO_ERANGE, err, cap, "%s: number %llu is out of range (0..65535)", quote(text).s,
                        (unsigned long long)n);
    int rc = scan_s7_suffixes(s, &sx, text, err, cap);
    if (rc != PLCIO_OK) return rc;
    a->offset = (uint32_t)n;
    a->count = sx.has_count ? (uint32_t)sx.count : 1;
    a->type = a->area == PLCIO_S7_AREA_TM ? PLCIO_TYPE_S5TIME : PLCIO_TYPE_WORD;
    if (sx.has_type) {
        if (!letter_accepts('W', sx.type))
            return tag_fail(PLCIO_ESYNTAX, err, cap, "%s: timers and counters are 2 bytes, %s does not fit",
                            quote(text).s, plcio_type_name(sx.type));
        a->type = sx.type;
    }
    return s7_finish(a, text, err, cap);
}

/* LOGO! V memory (0BA7/0BA8, docs/s7.md "LOGO!"): V10, V10.3, VB10, VW20, VD30 are
 * bytes of DB1; the V memory is vm_size bytes, so the data must end inside it. */
static int parse_logo_v(scan *s, plcio_s7_address *a, const char *text, uint32_t vm_size, char *err, size_t cap)
{
    char letter = 0;
    uint64_t offset, bit = 0;
    bool has_bit;
    suffix sx = {0};
    a->area = PLCIO_S7_AREA_DB;
    a->db = 1;
    scan_letter(s, &letter);
    int rc = scan_offset_bit(s, letter, &offset, &has_bit, &bit, text, err, cap);
    if (rc != PLCIO_OK) return rc;
    if (letter == 0) letter = has_bit ? 'X' : 'B'; /* V10 is a byte, V10.3 a bit (as LOGO!Soft) */
    rc = scan_s7_suffixes(s, &sx, text, err, cap);
    if (rc != PLCIO_OK) return rc;
    a->offset = (uint32_t)offset;
    a->bit = (uint8_t)bit;
    rc = apply_type(a, letter, &sx, text, err, cap);
    if (rc == PLCIO_OK) rc = s7_finish(a, text, err, cap);
    if (rc != PLCIO_OK) return rc;
    if ((uint64_t)a->offset + a->size > vm_size)
        return tag_fail(PLCIO_ERANGE, err, cap, "%s: the data ends at V%llu, beyond the LOGO! V memory (V0..V%u)",
                        quote(text).s, (unsigned long long)a->offset + a->size - 1, vm_size - 1);
    return PLCIO_OK;
}

static int s7_parse(const char *text, plcio_s7_address *out, uint32_t vm_size, char *err, size_t errcap)
{
    if (!text || !out) return tag_fail(PLCIO_EINVAL, err, errcap, "no address given");
    memset(out, 0, sizeof *out);
    out->count = 1;
    scan s = {text, text};
    accept_char(&s, '%');
    if (*s.p == '\0') return tag_fail(PLCIO_ESYNTAX, err, errcap, "empty S7 address");
    if (accept_ci(&s, "DB")) return parse_s7_db(&s, out, text, err, errcap);
    if (accept_ci(&s, "V")) return parse_logo_v(&s, out, text, vm_size, err, errcap);
    for (size_t i = 0; i < sizeof s7_areas / sizeof s7_areas[0]; i++) {
        if (!accept_ci(&s, s7_areas[i].prefix)) continue;
        out->area = s7_areas[i].area;
        out->periph_output = s7_areas[i].periph_output;
        if (out->area == PLCIO_S7_AREA_TM || out->area == PLCIO_S7_AREA_CT)
            return parse_s7_timer_counter(&s, out, text, err, errcap);
        const char *canon = out->area == PLCIO_S7_AREA_MK   ? "M"
                            : out->area == PLCIO_S7_AREA_PE ? "I"
                            : out->area == PLCIO_S7_AREA_PA ? "Q"
                            : out->periph_output            ? "PQ"
                                                            : "PI";
        return parse_s7_io(&s, out, canon, text, err, errcap);
    }
    return tag_fail(
        PLCIO_ESYNTAX, err, errcap,
        "%s: not an S7 address (expected DB1.DBW0, DB1:0:INT, M0.0, MW0, I0.0, Q0.0, PIW0, T0, C0; LOGO!: V10, VW20)",
        quote(text).s);
}

int s7_address_parse_buf(const char *text, plcio_s7_address *out, char *err, size_t errcap)
{
    return s7_parse(text, out, PLCIO_LOGO_VM_SIZE, err, errcap);
}

/* ---- LOGO! address map (include/plcio/address.h, docs/s7.md "LOGO!") ---- */

/* One name of the map: its first V byte and how many there are, per model
 * (index plcio_logo_model; count 0: not in that model's map). Sources: the
 * LOGO!Soft Comfort online help, "Parameter VM Mapping" (VM ranges of 0BA8),
 * and the 0BA7 tables cited in docs/s7.md. */
typedef struct logo_name {
    const char *prefix;
    bool bits;      /* BOOL, 8 to a byte; else a 2-byte word each */
    bool read_only; /* an input: the LOGO! writes it every cycle */
    const char *what;
    uint32_t base[2];
    unsigned count[2];
} logo_name;

/* Longer prefixes first: NAI before NI before I. */
static const logo_name logo_names[] = {
    {"NAI", false, true, "analog network inputs", {1262, 0}, {32, 0}},
    {"NAQ", false, false, "analog network outputs", {1406, 0}, {16, 0}},
    {"NI", true, true, "network inputs", {1246, 0}, {64, 0}},
    {"NQ", true, false, "network outputs", {1390, 0}, {64, 0}},
    {"AI", false, true, "analog inputs", {1032, 926}, {8, 8}},
    {"AQ", false, false, "analog outputs", {1072, 944}, {8, 2}},
    {"AM", false, false, "analog flags", {1118, 952}, {64, 16}},
    {"I", true, true, "inputs", {1024, 923}, {24, 24}},
    {"Q", true, false, "outputs", {1064, 942}, {20, 16}},
    {"M", true, false, "flags", {1104, 948}, {64, 27}},
};

static const char *const logo_model_names[] = {"0BA8", "0BA7"};

int plcio_logo_model_parse(const char *text, plcio_logo_model *out, plcio_error *err)
{
    error_begin(err);
    if (!text || !out) return error_end(err, tag_fail(PLCIO_EINVAL, ERROR_BUF(err), "no LOGO! model given"));
    if (!strcasecmp(text, "0ba8") || !strcmp(text, "8")) {
        *out = PLCIO_LOGO_0BA8;
    } else if (!strcasecmp(text, "0ba7")) {
        *out = PLCIO_LOGO_0BA7;
    } else {
        return error_end(err, tag_fail(PLCIO_ESYNTAX, ERROR_BUF(err),
                                       "LOGO! model '%.40s': expected 0ba7 or 0ba8 (0ba8 also for LOGO! 8.x)", text));
    }
    return error_end(err, PLCIO_OK);
}

const char *plcio_logo_model_name(plcio_logo_model model)
{
    return model == PLCIO_LOGO_0BA8 ? "0ba8" : model == PLCIO_LOGO_0BA7 ? "0ba7" : NULL;
}

uint32_t plcio_logo_vm_size(plcio_logo_model model)
{
    return model == PLCIO_LOGO_0BA8 ? PLCIO_LOGO_VM_SIZE_0BA8 : model == PLCIO_LOGO_0BA7 ? PLCIO_LOGO_VM_SIZE_0BA7 : 0;
}

/* The names of the map at s (past '%'): NAME<n> then [count] and :TYPE. Returns
 * PLCIO_ENOTFOUND when the text is not such a name (then the S7 forms decide). */
static int parse_logo_name(scan *s, plcio_logo_model model, plcio_s7_address *a, bool *read_only, const char *text,
                           char *err, size_t cap)
{
    const logo_name *n = NULL;
    for (size_t i = 0; i < sizeof logo_names / sizeof logo_names[0] && !n; i++) {
        size_t len = strlen(logo_names[i].prefix);
        if (!strncasecmp(s->p, logo_names[i].prefix, len) && isdigit((unsigned char)s->p[len])) {
            n = &logo_names[i];
            s->p += len;
        }
    }
    if (!n) return PLCIO_ENOTFOUND;
    const char *m = logo_model_names[model];
    unsigned max = n->count[model];
    if (max == 0)
        return tag_fail(PLCIO_ESYNTAX, err, cap, "%s: the LOGO! %s address map has no %s (%s1..); model=0ba8 has them",
                        quote(text).s, m, n->what, n->prefix);
    uint64_t number;
    suffix sx = {0};
    scan_number(s, &number);
    if (*s->p == '.')
        return tag_fail(PLCIO_ESYNTAX, err, cap, "%s: a LOGO! name takes no .bit (%s1..%s%u are %s)", quote(text).s,
                        n->prefix, n->prefix, max, n->bits ? "bits already" : "words");
    int rc = scan_s7_suffixes(s, &sx, text, err, cap);
    if (rc != PLCIO_OK) return rc;
    a->count = sx.has_count ? (uint32_t)sx.count : 1;
    if (number < 1 || number + a->count - 1 > max)
        return tag_fail(PLCIO_ERANGE, err, cap, "%s: the LOGO! %s has %s %s1..%s%u", quote(text).s, m, n->what,
                        n->prefix, n->prefix, max);
    a->area = PLCIO_S7_AREA_DB;
    a->db = 1;
    if (n->bits) {
        uint32_t index = (uint32_t)number - 1;
        a->offset = n->base[model] + index / 8;
        a->bit = (uint8_t)(index % 8);
        a->type = PLCIO_TYPE_BOOL;
        if (sx.has_type && sx.type != PLCIO_TYPE_BOOL)
            return tag_fail(PLCIO_ESYNTAX, err, cap, "%s: %s are bits: BOOL only, not %s", quote(text).s, n->what,
                            plcio_type_name(sx.type));
    } else {
        a->offset = n->base[model] + 2 * ((uint32_t)number - 1);
        a->type = PLCIO_TYPE_INT; /* LOGO! analog values are signed */
        if (sx.has_type) {
            if (!letter_accepts('W', sx.type))
                return tag_fail(PLCIO_ESYNTAX, err, cap, "%s: %s are words: a 2-byte type (INT, WORD, UINT), not %s",
                                quote(text).s, n->what, plcio_type_name(sx.type));
            a->type = sx.type;
        }
    }
    if (read_only) *read_only = n->read_only;
    return s7_finish(a, text, err, cap);
}

int logo_address_parse_buf(const char *text, plcio_logo_model model, plcio_s7_address *out, bool *read_only, char *err,
                           size_t errcap)
{
    if (read_only) *read_only = false;
    if (!text || !out) return tag_fail(PLCIO_EINVAL, err, errcap, "no address given");
    if (model != PLCIO_LOGO_0BA8 && model != PLCIO_LOGO_0BA7)
        return tag_fail(PLCIO_EINVAL, err, errcap, "unknown LOGO! model %d", (int)model);
    memset(out, 0, sizeof *out);
    out->count = 1;
    scan s = {text, text};
    accept_char(&s, '%');
    int rc = parse_logo_name(&s, model, out, read_only, text, err, errcap);
    if (rc != PLCIO_ENOTFOUND) {
        if (rc != PLCIO_OK && read_only) *read_only = false;
        return rc;
    }
    return s7_parse(text, out, plcio_logo_vm_size(model), err, errcap);
}

int plcio_logo_address_parse(const char *text, plcio_logo_model model, plcio_s7_address *out, bool *read_only,
                             plcio_error *err)
{
    error_begin(err);
    return error_end(err, logo_address_parse_buf(text, model, out, read_only, ERROR_BUF(err)));
}

/* Append to buf at *n; false once the buffer is full. */
static bool put(char *buf, size_t cap, size_t *n, const char *fmt_, ...) PLCIO_PRINTF(4, 5);
static bool put(char *buf, size_t cap, size_t *n, const char *fmt_, ...)
{
    va_list ap;
    va_start(ap, fmt_);
    int w = vsnprintf(buf + *n, cap > *n ? cap - *n : 0, fmt_, ap);
    va_end(ap);
    if (w < 0) return false;
    *n += (size_t)w;
    return *n < cap;
}

static char letter_for(plcio_type type, unsigned length)
{
    if (type == PLCIO_TYPE_BOOL) return 'X';
    if (type == PLCIO_TYPE_STRING || type == PLCIO_TYPE_WSTRING) return 'B'; /* whatever their size */
    size_t size = plcio_type_size(type, length);
    if (size == 2) return 'W';
    return size == 4 ? 'D' : 'B';
}

static bool put_type_suffix(char *buf, size_t cap, size_t *n, plcio_type type, unsigned length, bool show)
{
    if (!show) return true;
    if (type == PLCIO_TYPE_STRING || type == PLCIO_TYPE_WSTRING)
        return put(buf, cap, n, ":%s[%u]", plcio_type_name(type), length);
    return put(buf, cap, n, ":%s", plcio_type_name(type));
}

int plcio_s7_address_format(const plcio_s7_address *a, char *buf, size_t cap)
{
    if (!a || (!buf && cap) || (unsigned)a->type >= PLCIO_TYPE_COUNT_ || a->count < 1) {
        if (buf && cap) buf[0] = '\0';
        return PLCIO_EINVAL;
    }
    size_t n = 0;
    bool ok;
    char letter = letter_for(a->type, a->length);
    bool show_type = a->type != letter_default(letter);
    switch (a->area) {
    case PLCIO_S7_AREA_DB:
        ok = put(buf, cap, &n, "DB%u.DB%c%u", (unsigned)a->db, letter, (unsigned)a->offset);
        if (letter == 'X') ok = ok && put(buf, cap, &n, ".%u", (unsigned)a->bit);
        break;
    case PLCIO_S7_AREA_MK:
    case PLCIO_S7_AREA_PE:
    case PLCIO_S7_AREA_PA:
    case PLCIO_S7_AREA_P: {
        const char *area = a->area == PLCIO_S7_AREA_MK   ? "M"
                           : a->area == PLCIO_S7_AREA_PE ? "I"
                           : a->area == PLCIO_S7_AREA_PA ? "Q"
                           : a->periph_output            ? "PQ"
                                                         : "PI";
        if (letter == 'X')
            ok = put(buf, cap, &n, "%s%u.%u", area, (unsigned)a->offset, (unsigned)a->bit);
        else
            ok = put(buf, cap, &n, "%s%c%u", area, letter, (unsigned)a->offset);
        break;
    }
    case PLCIO_S7_AREA_TM:
    case PLCIO_S7_AREA_CT:
        ok = put(buf, cap, &n, "%c%u", a->area == PLCIO_S7_AREA_TM ? 'T' : 'C', (unsigned)a->offset);
        show_type = a->type != (a->area == PLCIO_S7_AREA_TM ? PLCIO_TYPE_S5TIME : PLCIO_TYPE_WORD);
        break;
    default:
        if (cap) buf[0] = '\0';
        return PLCIO_EINVAL; /* DI has no address text of its own */
    }
    ok = ok && put_type_suffix(buf, cap, &n, a->type, a->length, show_type);
    if (a->count != 1) ok = ok && put(buf, cap, &n, "[%u]", (unsigned)a->count);
    return ok ? PLCIO_OK : PLCIO_ENOSPC;
}

/* ===========================================================================
 * Modbus
 * ========================================================================= */

static const struct {
    const char *prefix;
    plcio_mb_table table;
} mb_prefixes[] = {
    {"hr", PLCIO_MB_TABLE_HOLDING_REGISTER},
    {"ir", PLCIO_MB_TABLE_INPUT_REGISTER},
    {"co", PLCIO_MB_TABLE_COIL},
    {"di", PLCIO_MB_TABLE_DISCRETE_INPUT},
};

static bool mb_is_bits(plcio_mb_table t) { return t == PLCIO_MB_TABLE_COIL || t == PLCIO_MB_TABLE_DISCRETE_INPUT; }

static int mb_table_from_digit(char d, plcio_mb_table *t)
{
    switch (d) {
    case '0': *t = PLCIO_MB_TABLE_COIL; return 0;
    case '1': *t = PLCIO_MB_TABLE_DISCRETE_INPUT; return 0;
    case '3': *t = PLCIO_MB_TABLE_INPUT_REGISTER; return 0;
    case '4': *t = PLCIO_MB_TABLE_HOLDING_REGISTER; return 0;
    default: return -1;
    }
}

/* Modicon: 5 digits (table + 4), 6 digits (table + 5), or "4x" + 1..5 digits. 1-based. */
static int parse_modicon(scan *s, plcio_mb_address *a, const char *text, char *err, size_t cap)
{
    const char *begin = s->p;
    uint64_t ref;
    if (mb_table_from_digit(*s->p, &a->table) != 0)
        return tag_fail(PLCIO_ESYNTAX, err, cap,
                        "%s: a Modicon reference starts with 0 (coil), 1 (input), 3 (input register) or 4 "
                        "(holding register)",
                        quote(text).s);
    s->p++;
    if (*s->p == 'x' || *s->p == 'X') {
        s->p++;
        const char *digits = s->p;
        if (!scan_number(s, &ref) || s->p - digits > 5)
            return tag_fail(PLCIO_ESYNTAX, err, cap, "%s: expected 1 to 5 digits after '%.2s'", quote(text).s, begin);
    } else {
        const char *digits = s->p;
        scan_number(s, &ref);
        size_t nd = (size_t)(s->p - digits);
        if (nd != 4 && nd != 5)
            return tag_fail(PLCIO_ESYNTAX, err, cap,
                            "%s: Modicon references have 5 or 6 digits (40001, 400001); use hr/ir/co/di for "
                            "0-based addresses",
                            quote(text).s);
    }
    if (ref < 1 || ref > 65536)
        return tag_fail(PLCIO_ERANGE, err, cap, "%s: Modicon reference %llu is out of range (1..65536, 1-based)",
                        quote(text).s, (unsigned long long)ref);
    a->address = (uint16_t)(ref - 1);
    return PLCIO_OK;
}

/* Registers per element; Modbus strings are bare bytes, two per register. */
static size_t mb_registers(plcio_type type, unsigned length)
{
    if (type == PLCIO_TYPE_STRING) return ((size_t)length + 1) / 2;
    return (plcio_type_size(type, length) + 1) / 2;
}

static int mb_check_type(plcio_mb_address *a, const char *text, char *err, size_t cap)
{
    if (mb_is_bits(a->table)) {
        if (a->type != PLCIO_TYPE_BOOL)
            return tag_fail(PLCIO_ESYNTAX, err, cap, "%s: coils and discrete inputs hold BOOL only, not %s",
                            quote(text).s, plcio_type_name(a->type));
        return PLCIO_OK;
    }
    if (a->type == PLCIO_TYPE_BOOL)
        return tag_fail(PLCIO_ESYNTAX, err, cap, "%s: BOOL needs a coil (co) or discrete input (di)", quote(text).s);
    if (a->type == PLCIO_TYPE_WSTRING)
        return tag_fail(PLCIO_ESYNTAX, err, cap, "%s: WSTRING is not used on Modbus; use STRING[n]", quote(text).s);
    if (a->type != PLCIO_TYPE_STRING && plcio_type_size(a->type, 0) == 1)
        return tag_fail(PLCIO_ESYNTAX, err, cap,
                        "%s: %s is one byte and registers are two; use INT/UINT/WORD or STRING[n]", quote(text).s,
                        plcio_type_name(a->type));
    return PLCIO_OK;
}

int mb_address_parse_buf(const char *text, plcio_mb_address *out, char *err, size_t errcap)
{
    if (!text || !out) return tag_fail(PLCIO_EINVAL, err, errcap, "no address given");
    memset(out, 0, sizeof *out);
    scan s = {text, text};
    if (*s.p == '\0') return tag_fail(PLCIO_ESYNTAX, err, errcap, "empty Modbus address");
    bool named = false;
    for (size_t i = 0; i < sizeof mb_prefixes / sizeof mb_prefixes[0] && !named; i++) {
        if (!accept_ci(&s, mb_prefixes[i].prefix)) continue;
        named = true;
        out->table = mb_prefixes[i].table;
        uint64_t addr;
        if (!scan_number(&s, &addr))
            return tag_fail(PLCIO_ESYNTAX, err, errcap, "%s: an address must follow '%s'", quote(text).s,
                            mb_prefixes[i].prefix);
        if (addr > 65535)
            return tag_fail(PLCIO_ERANGE, err, errcap, "%s: address %llu is out of range (0..65535)", quote(text).s,
                            (unsigned long long)addr);
        out->address = (uint16_t)addr;
    }
    int rc;
    if (!named) {
        if (!isdigit((unsigned char)*s.p))
            return tag_fail(PLCIO_ESYNTAX, err, errcap,
                            "%s: not a Modbus address (expected hr100, ir100, co100, di100 or 400101)", quote(text).s);
        if ((rc = parse_modicon(&s, out, text, err, errcap)) != PLCIO_OK) return rc;
    }
    suffix sx = {0};
    bool has_order = false;
    if ((rc = parse_count(&s, &sx, text, err, errcap)) != PLCIO_OK) return rc;
    while (accept_char(&s, ':')) {
        const char *word = s.p;
        size_t len = 0;
        while (isalnum((unsigned char)word[len]) || word[len] == '_')
            len++;
        plcio_mb_order order;
        char name[8] = "";
        if (len == 4) {
            memcpy(name, word, 4);
            name[4] = '\0';
        }
        if (len == 4 && plcio_mb_order_parse(name, &order) == PLCIO_OK) {
            if (has_order) return tag_fail(PLCIO_ESYNTAX, err, errcap, "%s: word order given twice", quote(text).s);
            has_order = true;
            out->order = order;
            s.p += 4;
            rc = parse_count(&s, &sx, text, err, errcap);
        } else {
            rc = parse_type(&s, &sx, text, err, errcap);
        }
        if (rc != PLCIO_OK) return rc;
    }
    if (*s.p) return trailing_junk(&s, text, err, errcap);
    out->type = sx.has_type ? sx.type : mb_is_bits(out->table) ? PLCIO_TYPE_BOOL : PLCIO_TYPE_UINT;
    out->length = (uint16_t)sx.length;
    out->count = sx.has_count ? (uint32_t)sx.count : 1;
    if ((rc = mb_check_type(out, text, err, errcap)) != PLCIO_OK) return rc;
    if (has_order && mb_is_bits(out->table))
        return tag_fail(PLCIO_ESYNTAX, err, errcap, "%s: a word order applies to registers, not bits", quote(text).s);
    uint64_t quantity =
        mb_is_bits(out->table) ? out->count : mb_registers(out->type, out->length) * (uint64_t)out->count;
    if (out->address + quantity > 65536)
        return tag_fail(PLCIO_ERANGE, err, errcap, "%s: %llu %s from %u run past the last address 65535", quote(text).s,
                        (unsigned long long)quantity, mb_is_bits(out->table) ? "bits" : "registers",
                        (unsigned)out->address);
    out->quantity = (uint32_t)quantity;
    return PLCIO_OK;
}

int plcio_mb_address_format(const plcio_mb_address *a, char *buf, size_t cap)
{
    const char *prefix = NULL;
    for (size_t i = 0; a && i < sizeof mb_prefixes / sizeof mb_prefixes[0]; i++)
        if (mb_prefixes[i].table == a->table) prefix = mb_prefixes[i].prefix;
    if (!a || !prefix || (!buf && cap) || (unsigned)a->type >= PLCIO_TYPE_COUNT_ || a->count < 1) {
        if (buf && cap) buf[0] = '\0';
        return PLCIO_EINVAL;
    }
    size_t n = 0;
    plcio_type def = mb_is_bits(a->table) ? PLCIO_TYPE_BOOL : PLCIO_TYPE_UINT;
    bool ok = put(buf, cap, &n, "%s%u", prefix, (unsigned)a->address);
    ok = ok && put_type_suffix(buf, cap, &n, a->type, a->length, a->type != def);
    if (a->count != 1) ok = ok && put(buf, cap, &n, "[%u]", (unsigned)a->count);
    if (a->order != PLCIO_MB_ABCD) ok = ok && put(buf, cap, &n, ":%s", plcio_mb_order_name(a->order));
    return ok ? PLCIO_OK : PLCIO_ENOSPC;
}

int plcio_s7_address_parse(const char *text, plcio_s7_address *out, plcio_error *err)
{
    error_begin(err);
    return error_end(err, s7_address_parse_buf(text, out, ERROR_BUF(err)));
}

int plcio_mb_address_parse(const char *text, plcio_mb_address *out, plcio_error *err)
{
    error_begin(err);
    return error_end(err, mb_address_parse_buf(text, out, ERROR_BUF(err)));
}
