/* Arena, diagnostics and the lexer shared by the SCL/AWL and table-copy
 * parsers. The lexer knows the token shapes of IEC 61131-3 / SCL / STL
 * sources: identifiers, "quoted names", 'strings' with $ escapes, numbers
 * (16#FF, 1.0e+3), typed literals (T#1s, DT#2020-1-1-0:0:0, W#16#0A), and
 * comments (// ..., (* ... *), / * ... * /). A UTF-8 BOM is whitespace
 * wherever it appears (concatenated exports carry one per file). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "layout/layout_internal.h"

/* ---- arena ---- */
struct lay_chunk {
    lay_chunk *next;
    size_t used, cap;
    _Alignas(8) unsigned char data[];
};

#define LAY_CHUNK_MIN ((size_t)64 * 1024)

void *lay_alloc(lay_arena *a, size_t size)
{
    size = (size + 7u) & ~(size_t)7u;
    lay_chunk *c = a->head;
    if (!c || c->cap - c->used < size) {
        size_t cap = size > LAY_CHUNK_MIN ? size : LAY_CHUNK_MIN;
        c = malloc(sizeof *c + cap);
        if (!c) return NULL;
        c->cap = cap;
        c->used = 0;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += size;
    memset(p, 0, size);
    return p;
}

char *lay_strndup(lay_arena *a, const char *s, size_t len)
{
    char *d = lay_alloc(a, len + 1);
    if (!d) return NULL;
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

void lay_arena_free(lay_arena *a)
{
    lay_chunk *c = a->head;
    while (c) {
        lay_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
}

/* ---- diagnostics ---- */
int lay_fail(lay_diag *d, int err, lay_pos pos, const char *fmt, ...)
{
    if (d->e.code != PLCIO_OK) return d->e.code;
    d->e.code = err;
    d->pos = pos;
    int n = 0;
    if (pos.file) n = snprintf(d->e.text, sizeof d->e.text, "%s:%u:%u: ", pos.file, pos.line, pos.col);
    if (n < 0 || (size_t)n >= sizeof d->e.text) n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->e.text + n, sizeof d->e.text - (size_t)n, fmt, ap);
    va_end(ap);
    return err;
}

/* ---- lexer ---- */
void lay_lex_init(lay_lexer *lx, const char *text, size_t len, const char *file, unsigned line, unsigned col,
                  lay_diag *diag)
{
    memset(lx, 0, sizeof *lx);
    lx->cur = text;
    lx->end = text + len;
    lx->file = file;
    lx->line = line;
    lx->col = col;
    lx->diag = diag;
}

static lay_pos here(const lay_lexer *lx) { return (lay_pos){lx->file, lx->line, lx->col}; }

/* Move one byte; columns count characters (UTF-8 continuation bytes do not). */
static void step(lay_lexer *lx)
{
    unsigned char c = (unsigned char)*lx->cur++;
    if (c == '\n') {
        lx->line++;
        lx->col = 1;
    } else if ((c & 0xC0u) != 0x80u && c != '\r') {
        lx->col++;
    }
}

static int peek(const lay_lexer *lx, size_t ahead)
{
    return lx->cur + ahead < lx->end ? (unsigned char)lx->cur[ahead] : -1;
}

static bool is_bom(const lay_lexer *lx) { return peek(lx, 0) == 0xEF && peek(lx, 1) == 0xBB && peek(lx, 2) == 0xBF; }

void lay_lex_skip_line(lay_lexer *lx)
{
    while (lx->cur < lx->end && *lx->cur != '\n')
        step(lx);
}

/* Skip blanks, BOMs and comments; false on an unterminated comment. */
static bool skip_space(lay_lexer *lx)
{
    for (;;) {
        int c = peek(lx, 0);
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v') {
            step(lx);
        } else if (is_bom(lx)) {
            lx->cur += 3; /* invisible: no column */
        } else if (c == '/' && peek(lx, 1) == '/') {
            lay_lex_skip_line(lx);
        } else if ((c == '(' && peek(lx, 1) == '*') || (c == '/' && peek(lx, 1) == '*')) {
            lay_pos start = here(lx);
            int open = c;
            step(lx);
            step(lx);
            for (;;) {
                if (lx->cur >= lx->end) {
                    lay_fail(lx->diag, PLCIO_ESYNTAX, start, "comment opened here is never closed");
                    return false;
                }
                if (peek(lx, 0) == '*' && peek(lx, 1) == (open == '(' ? ')' : '/')) {
                    step(lx);
                    step(lx);
                    break;
                }
                step(lx);
            }
        } else {
            return true;
        }
    }
}

static bool is_ident_start(int c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c >= 0x80; }

static bool is_ident_char(int c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }

static bool is_digit(int c) { return c >= '0' && c <= '9'; }

/* After a '#': the rest of a typed literal (16#FF, T#1h2m, DT#1990-1-1-0:0:0.0,
 * CHAR#'a'). Stops at blanks and at ; , ) ] and at "..". */
static bool lex_literal_tail(lay_lexer *lx)
{
    for (;;) {
        int c = peek(lx, 0);
        if (c == '\'') {
            lay_pos start = here(lx);
            step(lx);
            for (;;) {
                if (lx->cur >= lx->end || peek(lx, 0) == '\n') {
                    lay_fail(lx->diag, PLCIO_ESYNTAX, start, "text constant is not closed with '");
                    return false;
                }
                if (peek(lx, 0) == '$' && lx->cur + 1 < lx->end) {
                    step(lx);
                    step(lx);
                    continue;
                }
                if (peek(lx, 0) == '\'') {
                    step(lx);
                    return true;
                }
                step(lx);
            }
        }
        if (c == '.' && peek(lx, 1) == '.') return true;
        if (is_ident_char(c) || c == '#' || c == ':' || c == '.' || c == '+' || c == '-') {
            step(lx);
            continue;
        }
        return true;
    }
}

static bool lex_number(lay_lexer *lx)
{
    while (is_digit(peek(lx, 0)) || peek(lx, 0) == '_')
        step(lx);
    if (peek(lx, 0) == '#') {
        step(lx);
        return lex_literal_tail(lx);
    }
    if (peek(lx, 0) == '.' && is_digit(peek(lx, 1))) {
        step(lx);
        while (is_digit(peek(lx, 0)) || peek(lx, 0) == '_')
            step(lx);
    }
    if ((peek(lx, 0) == 'e' || peek(lx, 0) == 'E') &&
        (is_digit(peek(lx, 1)) || ((peek(lx, 1) == '+' || peek(lx, 1) == '-') && is_digit(peek(lx, 2))))) {
        step(lx);
        step(lx);
        while (is_digit(peek(lx, 0)))
            step(lx);
    }
    return true;
}

static bool lex_quoted(lay_lexer *lx, char quote)
{
    lay_pos start = here(lx);
    step(lx);
    for (;;) {
        if (lx->cur >= lx->end || peek(lx, 0) == '\n') {
            lay_fail(lx->diag, PLCIO_ESYNTAX, start,
                     quote == '"' ? "quoted name is not closed with \"" : "text constant is not closed with '");
            return false;
        }
        if (quote == '\'' && peek(lx, 0) == '$' && lx->cur + 1 < lx->end && peek(lx, 1) != '\n') {
            step(lx);
            step(lx);
            continue;
        }
        if (peek(lx, 0) == quote) {
            step(lx);
            return true;
        }
        step(lx);
    }
}

bool lay_lex_next(lay_lexer *lx)
{
    if (lx->diag->e.code) {
        lx->tok.kind = TK_EOF;
        return false;
    }
    if (!skip_space(lx)) {
        lx->tok.kind = TK_EOF;
        return false;
    }
    lay_tok *t = &lx->tok;
    t->pos = here(lx);
    t->p = lx->cur;
    int c = peek(lx, 0);
    bool ok = true;
    if (c < 0) {
        t->kind = TK_EOF;
        t->len = 0;
        return true;
    }
    if (is_ident_start(c)) {
        t->kind = TK_IDENT;
        while (is_ident_char(peek(lx, 0)))
            step(lx);
        if (peek(lx, 0) == '#') {
            step(lx);
            ok = lex_literal_tail(lx);
        }
    } else if (is_digit(c)) {
        t->kind = TK_NUMBER;
        ok = lex_number(lx);
    } else if (c == '"') {
        t->kind = TK_QNAME;
        ok = lex_quoted(lx, '"');
        if (ok) {
            t->p = t->p + 1;
            t->len = (size_t)(lx->cur - t->p) - 1;
            return true;
        }
    } else if (c == '\'') {
        t->kind = TK_STRING;
        ok = lex_quoted(lx, '\'');
    } else {
        t->kind = TK_PUNCT;
        if ((c == ':' && peek(lx, 1) == '=') || (c == '.' && peek(lx, 1) == '.')) step(lx);
        step(lx);
    }
    t->len = (size_t)(lx->cur - t->p);
    if (!ok) t->kind = TK_EOF;
    return ok;
}

bool lay_tok_is(const lay_tok *t, const char *word)
{
    if (t->kind != TK_IDENT && t->kind != TK_PUNCT) return false;
    return strlen(word) == t->len && strncasecmp(t->p, word, t->len) == 0;
}

bool lay_name_eq(const char *a, const char *b) { return strcasecmp(a, b) == 0; }
