/* Parser for TIA SCL sources ("Generate source from blocks", "Copy as text")
 * and STEP 7 classic AWL/SCL sources: DATA_BLOCK, TYPE, FUNCTION_BLOCK
 * interfaces. Code bodies (FB statements, FUNCTION, ORGANIZATION_BLOCK) are
 * skipped as a whole: they hold no data. Everything that declares data is
 * either understood or reported; nothing is skipped silently. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout/layout_internal.h"

typedef struct parser {
    plcio_layout_set *set;
    lay_lexer lx;
    unsigned depth; /* STRUCT/ARRAY nesting: bounded so hostile input cannot exhaust the stack */
} parser;

#define MAX_NESTING 64

#define TOK (&p->lx.tok)

static bool next(parser *p) { return lay_lex_next(&p->lx); }

static bool failed(const parser *p) { return p->set->diag.e.code != PLCIO_OK; }

static const char *tok_desc(const lay_tok *t, char *buf, size_t cap)
{
    switch (t->kind) {
    case TK_EOF: return "the end of the file";
    case TK_QNAME: snprintf(buf, cap, "\"%.*s\"", (int)(t->len > 40 ? 40 : t->len), t->p); return buf;
    default: snprintf(buf, cap, "'%.*s'", (int)(t->len > 40 ? 40 : t->len), t->p); return buf;
    }
}

static bool syntax(parser *p, const char *expected)
{
    char buf[64];
    lay_fail(&p->set->diag, PLCIO_ESYNTAX, TOK->pos, "expected %s, found %s", expected, tok_desc(TOK, buf, sizeof buf));
    return false;
}

static bool oom(parser *p)
{
    lay_fail(&p->set->diag, PLCIO_ENOMEM, TOK->pos, "out of memory");
    return false;
}

static bool expect(parser *p, const char *word, const char *what)
{
    if (!lay_tok_is(TOK, word)) return syntax(p, what);
    return next(p);
}

static bool accept(parser *p, const char *word)
{
    if (!lay_tok_is(TOK, word)) return false;
    next(p);
    return true;
}

static char *tok_dup(parser *p) { return lay_strndup(&p->set->arena, TOK->p, TOK->len); }

/* ---- growable arrays carved from the arena (old blocks are abandoned) ---- */
static void *grow(parser *p, void *old, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap) return old;
    size_t ncap = *cap ? *cap * 2 : 8;
    void *fresh = lay_alloc(&p->set->arena, ncap * elem);
    if (!fresh) return NULL;
    if (old) memcpy(fresh, old, n * elem);
    *cap = ncap;
    return fresh;
}

/* ---- names ---- */

/* "DB99" / "UDT5" / "FB3" -> classic block address. */
static bool classic_split(const char *s, size_t len, const char **prefix, long *number)
{
    static const char *const prefixes[] = {"DB", "UDT", "FB", "FC", "OB", "SFB"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t pl = strlen(prefixes[i]);
        if (len <= pl || len > pl + 5 || strncasecmp(s, prefixes[i], pl) != 0) continue;
        long v = 0;
        size_t k = pl;
        for (; k < len && isdigit((unsigned char)s[k]); k++)
            v = v * 10 + (s[k] - '0');
        if (k != len) continue;
        *prefix = prefixes[i];
        *number = v;
        return true;
    }
    return false;
}

/* A block name: "Quoted", DB 99, DB99, UDT 5, FB 3, or a plain identifier. */
static bool block_name(parser *p, const char **name, int *number, bool *classic)
{
    *number = -1;
    *classic = false;
    if (TOK->kind == TK_QNAME) {
        *name = tok_dup(p);
        return *name ? next(p) : oom(p);
    }
    if (TOK->kind != TK_IDENT) return syntax(p, "a block name");
    const char *prefix = NULL;
    long num = 0;
    if (classic_split(TOK->p, TOK->len, &prefix, &num)) {
        /* DB99 */
    } else if (lay_tok_is(TOK, "DB") || lay_tok_is(TOK, "UDT") || lay_tok_is(TOK, "FB") || lay_tok_is(TOK, "SFB")) {
        char word[8];
        snprintf(word, sizeof word, "%.*s", (int)TOK->len, TOK->p);
        if (!next(p)) return false;
        if (TOK->kind != TK_NUMBER) return syntax(p, "a block number");
        num = strtol(TOK->p, NULL, 10);
        for (size_t i = 0; word[i]; i++)
            word[i] = (char)toupper((unsigned char)word[i]);
        prefix = strcmp(word, "DB") == 0    ? "DB"
                 : strcmp(word, "UDT") == 0 ? "UDT"
                 : strcmp(word, "FB") == 0  ? "FB"
                                            : "SFB";
    } else {
        *name = tok_dup(p);
        return *name ? next(p) : oom(p);
    }
    if (num < 0 || num > 65535) {
        lay_fail(&p->set->diag, PLCIO_ERANGE, TOK->pos, "block number %ld is outside 0..65535", num);
        return false;
    }
    char buf[24];
    snprintf(buf, sizeof buf, "%s %ld", prefix, num);
    *name = lay_strndup(&p->set->arena, buf, strlen(buf));
    if (!*name) return oom(p);
    *number = (int)num;
    *classic = true;
    return next(p);
}

/* ---- attributes: { key := 'value'; ... } ---- */
static bool attributes_lid(parser *p, lay_access *access, uint32_t *lid)
{
    if (!next(p)) return false; /* past '{' */
    while (!lay_tok_is(TOK, "}")) {
        if (TOK->kind != TK_IDENT && TOK->kind != TK_QNAME) return syntax(p, "an attribute name or '}'");
        bool is_access = lay_tok_is(TOK, "S7_Optimized_Access");
        bool is_lid = lay_tok_is(TOK, "plcio_LID");
        if (!next(p) || !expect(p, ":=", "':=' in the attribute")) return false;
        if (TOK->kind != TK_STRING && TOK->kind != TK_IDENT && TOK->kind != TK_NUMBER)
            return syntax(p, "an attribute value");
        if (is_access && access) {
            bool t = TOK->len >= 4 && strncasecmp(TOK->p + (TOK->kind == TK_STRING), "TRUE", 4) == 0;
            *access = t ? LA_OPTIMIZED : LA_STANDARD;
        }
        if (is_lid && lid) {
            char *end;
            unsigned long v = strtoul(TOK->p + (TOK->kind == TK_STRING), &end, 10);
            if (v == 0 || v > 0xFFFFFFFFul) return syntax(p, "a LID (1..4294967295)");
            *lid = (uint32_t)v;
        }
        if (!next(p)) return false;
        if (!accept(p, ";") && !lay_tok_is(TOK, "}")) return syntax(p, "';' or '}' in the attributes");
    }
    return next(p);
}

static bool attributes(parser *p, lay_access *access) { return attributes_lid(p, access, NULL); }

/* Block header lines between the name and the body. */
static bool header(parser *p, lay_access *access)
{
    for (;;) {
        if (failed(p)) return false;
        if (lay_tok_is(TOK, "{")) {
            if (!attributes(p, access)) return false;
        } else if (lay_tok_is(TOK, "TITLE")) {
            lay_lex_skip_line(&p->lx); /* TITLE = free text up to the end of the line */
            if (!next(p)) return false;
        } else if (lay_tok_is(TOK, "AUTHOR") || lay_tok_is(TOK, "FAMILY") || lay_tok_is(TOK, "NAME") ||
                   lay_tok_is(TOK, "VERSION")) {
            if (!next(p) || !expect(p, ":", "':'")) return false;
            if (TOK->kind == TK_EOF || TOK->kind == TK_PUNCT) return syntax(p, "a header value");
            if (!next(p)) return false;
        } else if (lay_tok_is(TOK, "NON_RETAIN") || lay_tok_is(TOK, "RETAIN") || lay_tok_is(TOK, "KNOW_HOW_PROTECT") ||
                   lay_tok_is(TOK, "READ_ONLY") || lay_tok_is(TOK, "UNLINKED") || lay_tok_is(TOK, "CODE_VERSION1") ||
                   lay_tok_is(TOK, "DB_SPECIFIC") || lay_tok_is(TOK, "S7_OPTIMIZED_ACCESS")) {
            if (!next(p)) return false;
        } else {
            return true;
        }
    }
}

/* ---- types ---- */
static bool members(parser *p, const char *end_word, lay_member **out, size_t *count);
static lay_type *type_spec(parser *p);

static lay_type *new_type(parser *p, lay_type_kind kind)
{
    lay_type *t = lay_alloc(&p->set->arena, sizeof *t);
    if (!t) {
        oom(p);
        return NULL;
    }
    t->kind = kind;
    t->pos = TOK->pos;
    return t;
}

/* An integer constant in [min, max], with an optional sign. Out of range
 * (however many digits) is reported with the number as written, at its
 * position: "array bound 100000000000000000000 is outside ...". */
static bool int_const(parser *p, long long min, long long max, const char *what, long long *out)
{
    lay_pos pos = TOK->pos;
    bool neg = false;
    if (lay_tok_is(TOK, "-") || lay_tok_is(TOK, "+")) {
        neg = TOK->p[0] == '-';
        if (!next(p)) return false;
    }
    bool digits = TOK->kind == TK_NUMBER && TOK->len > 0;
    for (size_t i = 0; digits && i < TOK->len; i++)
        digits = TOK->p[i] >= '0' && TOK->p[i] <= '9';
    if (!digits) {
        if (TOK->kind == TK_IDENT || TOK->kind == TK_QNAME)
            return lay_fail(&p->set->diag, PLCIO_EUNSUPPORTED, TOK->pos,
                            "array bound or length '%.*s' is a constant name; write the number", (int)TOK->len,
                            TOK->p) == PLCIO_OK;
        return syntax(p, "an integer");
    }
    /* Saturate instead of overflowing: any magnitude past 2^62 is out of every range here. */
    long long mag = 0;
    for (size_t i = 0; i < TOK->len; i++)
        mag = mag > (1LL << 58) ? (1LL << 62) : mag * 10 + (TOK->p[i] - '0');
    long long v = neg ? -mag : mag;
    if (v < min || v > max) {
        lay_fail(&p->set->diag, PLCIO_ERANGE, pos, "%s %s%.*s is out of range (%s%lld..%lld)", what, neg ? "-" : "",
                 (int)TOK->len, TOK->p, min == INT32_MIN ? "DINT, " : "", min, max);
        return false;
    }
    *out = v;
    return next(p);
}

static lay_type *array_type(parser *p)
{
    lay_type *t = new_type(p, LT_ARRAY);
    if (!t || !next(p)) return NULL;
    if (!expect(p, "[", "'[' after Array")) return NULL;
    for (;;) {
        if (lay_tok_is(TOK, "*")) {
            lay_fail(&p->set->diag, PLCIO_EUNSUPPORTED, TOK->pos,
                     "Array[*] has no fixed size and cannot be placed in a data block");
            return NULL;
        }
        if (t->ndims == PLCIO_LAYOUT_MAX_DIMS) {
            lay_fail(&p->set->diag, PLCIO_ERANGE, TOK->pos, "an array has at most %d dimensions",
                     PLCIO_LAYOUT_MAX_DIMS);
            return NULL;
        }
        lay_pos bound_pos = TOK->pos;
        long long lo = 0, hi = 0;
        static const char bound[] = "array bound";
        if (!int_const(p, INT32_MIN, INT32_MAX, bound, &lo) || !expect(p, "..", "'..' between the array bounds") ||
            !int_const(p, INT32_MIN, INT32_MAX, bound, &hi))
            return NULL;
        if (lo > hi) {
            lay_fail(&p->set->diag, PLCIO_ERANGE, bound_pos,
                     "array bounds %lld..%lld are reversed: the low bound must not exceed the high bound", lo, hi);
            return NULL;
        }
        t->lo[t->ndims] = (int32_t)lo;
        t->hi[t->ndims] = (int32_t)hi;
        t->ndims++;
        if (accept(p, ",")) continue;
        if (!expect(p, "]", "',' or ']' in the array bounds")) return NULL;
        break;
    }
    if (!expect(p, "OF", "'of' after the array bounds")) return NULL;
    t->of = type_spec(p);
    return t->of ? t : NULL;
}

static lay_type *string_type(parser *p, plcio_type kind)
{
    lay_type *t = new_type(p, LT_ELEM);
    if (!t || !next(p)) return NULL;
    t->elem = kind;
    t->length = 254;
    if (lay_tok_is(TOK, "[")) {
        if (!next(p)) return NULL;
        lay_pos lpos = TOK->pos;
        long long n = 0;
        const char *what = kind == PLCIO_TYPE_STRING ? "String length" : "WString length";
        /* The digit count is bounded here; the S7 limit below says why a length is refused. */
        if (!int_const(p, 0, INT32_MAX, what, &n) || !expect(p, "]", "']' after the string length")) return NULL;
        long long max = kind == PLCIO_TYPE_STRING ? PLCIO_STRING_MAX : PLCIO_WSTRING_MAX;
        if (n > max) {
            lay_fail(&p->set->diag, PLCIO_ERANGE, lpos, "%s length %lld is over %lld, the longest an S7 CPU accepts",
                     kind == PLCIO_TYPE_STRING ? "String" : "WString", n, max);
            return NULL;
        }
        t->length = (unsigned)n;
    }
    return t;
}

static lay_type *ref_type(parser *p)
{
    lay_type *t = new_type(p, LT_REF);
    if (!t) return NULL;
    const char *name;
    int number;
    bool classic;
    if (!block_name(p, &name, &number, &classic)) return NULL;
    t->ref = name;
    return t;
}

static lay_type *type_spec_inner(parser *p);

static lay_type *type_spec(parser *p)
{
    if (failed(p)) return NULL;
    if (++p->depth > MAX_NESTING) {
        lay_fail(&p->set->diag, PLCIO_ELIMIT, TOK->pos, "types nested deeper than %d levels", MAX_NESTING);
        return NULL;
    }
    lay_type *t = type_spec_inner(p);
    p->depth--;
    return t;
}

static lay_type *type_spec_inner(parser *p)
{
    if (TOK->kind == TK_QNAME) return ref_type(p);
    if (TOK->kind != TK_IDENT) {
        syntax(p, "a data type");
        return NULL;
    }
    if (lay_tok_is(TOK, "Struct")) {
        lay_type *t = new_type(p, LT_STRUCT);
        if (!t || !next(p)) return NULL;
        if (!members(p, "END_STRUCT", &t->members, &t->nmembers)) return NULL;
        if (!next(p)) return NULL; /* END_STRUCT; the ';' after it belongs to the declaration */
        return t;
    }
    if (lay_tok_is(TOK, "Array")) return array_type(p);
    if (lay_tok_is(TOK, "String")) return string_type(p, PLCIO_TYPE_STRING);
    if (lay_tok_is(TOK, "WString")) return string_type(p, PLCIO_TYPE_WSTRING);
    plcio_type elem;
    if (plcio_type_parse(TOK->p, TOK->len, &elem) == PLCIO_OK) {
        lay_type *t = new_type(p, LT_ELEM);
        if (!t) return NULL;
        t->elem = elem;
        return next(p) ? t : NULL;
    }
    /* UDT 5, FB 3, or an unquoted user type name: resolved later. */
    return ref_type(p);
}

/* Start value after ':=' (declaration or BEGIN): tokens up to ';' at depth 0,
 * concatenated without the blanks and comments between them. */
static const char *value_text(parser *p, lay_pos *pos)
{
    *pos = TOK->pos;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int depth = 0;
    for (;;) {
        if (TOK->kind == TK_EOF) {
            free(buf);
            syntax(p, "';' after the value");
            return NULL;
        }
        if (depth == 0 && lay_tok_is(TOK, ";")) break;
        if (lay_tok_is(TOK, "END_STRUCT") || lay_tok_is(TOK, "END_VAR") || lay_tok_is(TOK, "END_DATA_BLOCK") ||
            lay_tok_is(TOK, "END_TYPE")) {
            free(buf);
            syntax(p, "';' after the value");
            return NULL;
        }
        if (lay_tok_is(TOK, "(") || lay_tok_is(TOK, "[")) depth++;
        if ((lay_tok_is(TOK, ")") || lay_tok_is(TOK, "]")) && depth > 0) depth--;
        size_t need = len + TOK->len + 3;
        if (need > cap) {
            cap = need * 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                oom(p);
                return NULL;
            }
            buf = nb;
        }
        /* need >= 3 > cap = 0 on the first token, so buf is allocated here (the analyzer lets need wrap) */
        if (TOK->kind == TK_QNAME) buf[len++] = '"'; // NOLINT(clang-analyzer-core.NullDereference)
        memcpy(buf + len, TOK->p, TOK->len);         // NOLINT(clang-analyzer-core.NonNullParamChecker)
        len += TOK->len;
        if (TOK->kind == TK_QNAME) buf[len++] = '"';
        if (!next(p)) {
            free(buf);
            return NULL;
        }
    }
    if (len == 0) {
        free(buf);
        syntax(p, "a value");
        return NULL;
    }
    char *text = lay_strndup(&p->set->arena, buf, len);
    free(buf);
    if (!text) oom(p);
    return text;
}

/* name [{attrs}] : type [{attrs}] [:= value] ; */
static bool member(parser *p, lay_member *m)
{
    memset(m, 0, sizeof *m);
    m->printed_bitpos = -1;
    m->pos = TOK->pos;
    if (TOK->kind != TK_IDENT && TOK->kind != TK_QNAME) return syntax(p, "a member name");
    m->name = tok_dup(p);
    if (!m->name) return oom(p);
    if (!next(p)) return false;
    if (lay_tok_is(TOK, "{") && !attributes_lid(p, NULL, &m->lid)) return false;
    if (!expect(p, ":", "':' after the member name")) return false;
    m->type = type_spec(p);
    if (!m->type) return false;
    if (lay_tok_is(TOK, "{") && !attributes(p, NULL)) return false;
    if (accept(p, ":=")) {
        m->init = value_text(p, &m->init_pos);
        if (!m->init) return false;
    }
    const lay_type *inner = m->type;
    while (inner->kind == LT_ARRAY)
        inner = inner->of;
    if (inner->kind == LT_STRUCT && !m->init) {
        accept(p, ";"); /* END_STRUCT; -- TIA writes it, some sources leave it out */
        return !failed(p);
    }
    return expect(p, ";", "';' after the member declaration");
}

static bool members(parser *p, const char *end_word, lay_member **out, size_t *count)
{
    lay_member *list = NULL;
    size_t n = 0, cap = 0;
    while (!lay_tok_is(TOK, end_word)) {
        if (failed(p)) return false;
        if (TOK->kind == TK_EOF) return syntax(p, end_word);
        static const char *const block_words[] = {
            "BEGIN",      "END_DATA_BLOCK", "END_TYPE", "END_VAR",    "END_STRUCT", "END_FUNCTION_BLOCK", "VAR_INPUT",
            "VAR_OUTPUT", "VAR_IN_OUT",     "VAR_TEMP", "DATA_BLOCK", "TYPE",       "FUNCTION_BLOCK"};
        for (size_t k = 0; k < sizeof block_words / sizeof block_words[0]; k++)
            if (lay_tok_is(TOK, block_words[k])) return syntax(p, end_word);
        list = grow(p, list, &cap, n, sizeof *list);
        if (!list) return oom(p);
        if (!member(p, &list[n])) return false;
        n++;
    }
    *out = list;
    *count = n;
    return !failed(p);
}

/* ---- blocks ---- */
static lay_block *new_block(parser *p, lay_block_kind kind)
{
    lay_block *b = lay_alloc(&p->set->arena, sizeof *b);
    if (!b) {
        oom(p);
        return NULL;
    }
    b->kind = kind;
    b->pos = TOK->pos;
    b->access = LA_UNSPECIFIED;
    b->number = -1;
    return b;
}

static bool type_block(parser *p)
{
    lay_block *b = new_block(p, LB_TYPE);
    if (!b || !next(p)) return false;
    if (!block_name(p, &b->name, &b->number, &b->classic) || !header(p, &b->access)) return false;
    b->number = -1;
    accept(p, ":");
    lay_pos pos = TOK->pos;
    b->body = type_spec(p);
    if (!b->body) return false;
    if (b->body->kind != LT_STRUCT) {
        lay_fail(&p->set->diag, PLCIO_EUNSUPPORTED, pos, "TYPE %s must be a STRUCT", b->name);
        return false;
    }
    accept(p, ";");
    if (!expect(p, "END_TYPE", "END_TYPE")) return false;
    lay_add_block(p->set, b);
    return true;
}

/* BEGIN section: path := value; ... up to END_DATA_BLOCK */
static bool assignments(parser *p, lay_block *b)
{
    size_t cap = 0;
    while (!lay_tok_is(TOK, "END_DATA_BLOCK")) {
        if (failed(p)) return false;
        if (TOK->kind == TK_EOF) return syntax(p, "END_DATA_BLOCK");
        b->assigns = grow(p, b->assigns, &cap, b->nassigns, sizeof *b->assigns);
        if (!b->assigns) return oom(p);
        lay_assign *a = &b->assigns[b->nassigns];
        a->pos = TOK->pos;
        a->printed_bitpos = -1;
        char path[512];
        size_t len = 0;
        while (!lay_tok_is(TOK, ":=")) {
            bool ok = TOK->kind == TK_IDENT || TOK->kind == TK_QNAME || TOK->kind == TK_NUMBER ||
                      lay_tok_is(TOK, ".") || lay_tok_is(TOK, "[") || lay_tok_is(TOK, "]") || lay_tok_is(TOK, ",") ||
                      lay_tok_is(TOK, "-");
            if (!ok || (len == 0 && TOK->kind != TK_IDENT && TOK->kind != TK_QNAME))
                return syntax(p, len ? "':=' after the member name" : "a member name or END_DATA_BLOCK");
            if (len + TOK->len + 3 >= sizeof path) {
                lay_fail(&p->set->diag, PLCIO_ERANGE, a->pos, "member name is longer than %zu characters",
                         sizeof path - 3);
                return false;
            }
            if (TOK->kind == TK_QNAME) path[len++] = '"';
            memcpy(path + len, TOK->p, TOK->len);
            len += TOK->len;
            if (TOK->kind == TK_QNAME) path[len++] = '"';
            if (!next(p)) return false;
        }
        a->path = lay_strndup(&p->set->arena, path, len);
        if (!a->path) return oom(p);
        if (!next(p)) return false;
        a->value = value_text(p, &a->value_pos);
        if (!a->value || !next(p)) return false;
        b->nassigns++;
    }
    return true;
}

static bool db_block(parser *p)
{
    lay_block *b = new_block(p, LB_DB);
    if (!b || !next(p)) return false;
    if (!block_name(p, &b->name, &b->number, &b->classic) || !header(p, &b->access)) return false;
    if (lay_tok_is(TOK, "Struct")) {
        b->body = type_spec(p);
        accept(p, ";");
    } else if (TOK->kind == TK_QNAME || TOK->kind == TK_IDENT) {
        if (lay_tok_is(TOK, "BEGIN") || lay_tok_is(TOK, "END_DATA_BLOCK")) return syntax(p, "STRUCT or a type name");
        b->body = ref_type(p); /* instance DB of an FB, or a DB of a UDT */
        accept(p, ";");
    } else {
        return syntax(p, "STRUCT or a type name");
    }
    if (!b->body) return false;
    if (accept(p, "BEGIN") && !assignments(p, b)) return false;
    if (!expect(p, "END_DATA_BLOCK", "BEGIN or END_DATA_BLOCK")) return false;
    lay_add_block(p->set, b);
    return true;
}

enum { SEC_IN, SEC_OUT, SEC_INOUT, SEC_STAT, SEC_NONE, SEC_COUNT };

static int section_of(parser *p)
{
    if (lay_tok_is(TOK, "VAR_INPUT")) return SEC_IN;
    if (lay_tok_is(TOK, "VAR_OUTPUT")) return SEC_OUT;
    if (lay_tok_is(TOK, "VAR_IN_OUT")) return SEC_INOUT;
    if (lay_tok_is(TOK, "VAR_TEMP")) return SEC_NONE;
    if (lay_tok_is(TOK, "VAR")) return SEC_STAT;
    return -1;
}

/* Skip statements up to `end_word` (FB body, FUNCTION, OB). */
static bool skip_code(parser *p, const char *end_word)
{
    while (!lay_tok_is(TOK, end_word)) {
        if (TOK->kind == TK_EOF) return syntax(p, end_word);
        if (lay_tok_is(TOK, "TITLE") || lay_tok_is(TOK, "NETWORK")) lay_lex_skip_line(&p->lx);
        if (!next(p)) return false;
    }
    return next(p);
}

static bool inout_member_ok(parser *p, const lay_member *m)
{
    const lay_type *t = m->type;
    if (t->kind == LT_ELEM && t->elem != PLCIO_TYPE_STRING && t->elem != PLCIO_TYPE_WSTRING &&
        t->elem != PLCIO_TYPE_DATE_AND_TIME && t->elem != PLCIO_TYPE_DTL)
        return true;
    lay_fail(&p->set->diag, PLCIO_EUNSUPPORTED, m->pos,
             "VAR_IN_OUT %s is not elementary: a standard FB keeps only a pointer to it in the instance DB, "
             "so its data has no place there; move it to VAR or VAR_INPUT to address it",
             m->name);
    return false;
}

static bool fb_block(parser *p)
{
    lay_block *b = new_block(p, LB_FB);
    if (!b || !next(p)) return false;
    if (!block_name(p, &b->name, &b->number, &b->classic) || !header(p, &b->access)) return false;
    b->number = -1;
    lay_member *sec[SEC_COUNT] = {0};
    size_t n[SEC_COUNT] = {0}, cap[SEC_COUNT] = {0};
    int s;
    while ((s = section_of(p)) >= 0) {
        if (!next(p)) return false;
        if (s == SEC_STAT && (lay_tok_is(TOK, "CONSTANT"))) s = SEC_NONE;
        while (lay_tok_is(TOK, "RETAIN") || lay_tok_is(TOK, "NON_RETAIN") || lay_tok_is(TOK, "DB_SPECIFIC") ||
               lay_tok_is(TOK, "CONSTANT"))
            if (!next(p)) return false;
        while (!lay_tok_is(TOK, "END_VAR")) {
            if (failed(p)) return false;
            if (TOK->kind == TK_EOF) return syntax(p, "END_VAR");
            sec[s] = grow(p, sec[s], &cap[s], n[s], sizeof *sec[s]);
            if (!sec[s]) return oom(p);
            if (!member(p, &sec[s][n[s]])) return false;
            if (s == SEC_INOUT && !inout_member_ok(p, &sec[s][n[s]])) return false;
            n[s]++;
        }
        if (!next(p)) return false;
    }
    lay_type *body = new_type(p, LT_STRUCT);
    if (!body) return false;
    size_t total = n[SEC_IN] + n[SEC_OUT] + n[SEC_INOUT] + n[SEC_STAT];
    body->members = lay_alloc(&p->set->arena, (total ? total : 1) * sizeof *body->members);
    if (!body->members) return oom(p);
    for (int k = SEC_IN; k <= SEC_STAT; k++) {
        for (size_t i = 0; i < n[k]; i++) {
            body->members[body->nmembers] = sec[k][i];
            body->members[body->nmembers].section_start = (i == 0);
            body->nmembers++;
        }
    }
    b->body = body;
    if (!skip_code(p, "END_FUNCTION_BLOCK")) return false;
    lay_add_block(p->set, b);
    return true;
}

bool lay_parse_source(plcio_layout_set *set, const char *text, size_t len, const char *file)
{
    parser pp = {.set = set};
    parser *p = &pp;
    lay_lex_init(&p->lx, text, len, file, 1, 1, &set->diag);
    if (!next(p)) return false;
    bool any = false;
    while (TOK->kind != TK_EOF) {
        bool ok;
        if (lay_tok_is(TOK, "TYPE"))
            ok = type_block(p);
        else if (lay_tok_is(TOK, "DATA_BLOCK"))
            ok = db_block(p);
        else if (lay_tok_is(TOK, "FUNCTION_BLOCK"))
            ok = fb_block(p);
        else if (lay_tok_is(TOK, "FUNCTION"))
            ok = next(p) && skip_code(p, "END_FUNCTION");
        else if (lay_tok_is(TOK, "ORGANIZATION_BLOCK"))
            ok = next(p) && skip_code(p, "END_ORGANIZATION_BLOCK");
        else
            ok = syntax(p, "DATA_BLOCK, TYPE or FUNCTION_BLOCK");
        if (!ok || failed(p)) return false;
        any = true;
    }
    if (!any) {
        lay_fail(&set->diag, PLCIO_ESYNTAX, (lay_pos){file, 1, 1},
                 "no DATA_BLOCK, TYPE or FUNCTION_BLOCK in this file");
        return false;
    }
    return !failed(p);
}

lay_type *lay_parse_type_text(plcio_layout_set *set, const char *text, size_t len, lay_pos pos)
{
    parser pp = {.set = set};
    parser *p = &pp;
    lay_lex_init(&p->lx, text, len, pos.file, pos.line, pos.col, &set->diag);
    if (!next(p)) return NULL;
    lay_type *t = type_spec(p);
    if (t && TOK->kind != TK_EOF) {
        syntax(p, "the end of the data type");
        return NULL;
    }
    return t;
}
