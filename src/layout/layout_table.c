/* TIA Portal DB-editor table copy: select the rows of a DB in the editor,
 * Ctrl+C, paste into a file. Tab separated; one row per member:
 *   <empty> Name  Data type  Offset  Start value  Retain  HMI...  Comment
 * The first row is the section ("Static"; instance DBs also show Input,
 * Output, InOut; Temp and Constant hold no DB data). Nesting shows as the
 * name moving right (leading empty columns) or as leading blanks in the
 * name; array elements appear as rows "Name[i]" under their array.
 * The copy carries no DB name: the file's base name is used. The Offset
 * column is checked against the offsets the rules give. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "layout/layout_internal.h"

#define MAX_FIELDS 32
#define MAX_DEPTH  64

typedef struct row {
    const char *field[MAX_FIELDS];
    size_t flen[MAX_FIELDS];
    unsigned fcol[MAX_FIELDS];
    size_t nfields;
    size_t c;      /* index of the name field */
    size_t indent; /* leading blanks of the name */
    unsigned line;
} row;

typedef struct open_struct {
    lay_type *type;
    lay_member *list;
    size_t n, cap;
    long depth;
    const char *name;       /* for element paths ("arr[1]" for an array of Struct) */
    const char *array_name; /* array of Struct: the array, whose first element row declares the members */
    bool elem_seen;         /* its first element row was read */
    bool in_array;          /* members are shared by every element: check offsets per path */
} open_struct;

typedef struct tparser {
    plcio_layout_set *set;
    const char *file;
    lay_block *db;
    open_struct stack[MAX_DEPTH];
    size_t top;
    size_t nassign_cap;
    const char *last_array; /* name of the last array member, for element rows */
    struct {
        long depth;
        const char *path;
    } exp[MAX_DEPTH]; /* rows under a UDT or array row: its expansion */
    size_t nexp;
    int section; /* 0 none yet, 1 data, 2 excluded (Temp/Constant) */
    bool section_start;
} tparser;

static bool fail(tparser *t, int err, unsigned line, unsigned col, const char *fmt, ...) PLCIO_PRINTF(5, 6);
static bool fail(tparser *t, int err, unsigned line, unsigned col, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    lay_fail(&t->set->diag, err, (lay_pos){t->file, line, col}, "%s", msg);
    return false;
}

static void split_row(const char *s, size_t len, unsigned line, row *r)
{
    memset(r, 0, sizeof *r);
    r->line = line;
    size_t start = 0;
    unsigned col = 1;
    for (size_t i = 0; i <= len && r->nfields < MAX_FIELDS; i++) {
        if (i == len || s[i] == '\t') {
            size_t a = start, b = i;
            while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\r'))
                b--;
            r->field[r->nfields] = s + a;
            r->flen[r->nfields] = b - a;
            r->fcol[r->nfields] = col;
            r->nfields++;
            start = i + 1;
            col = (unsigned)(i + 2);
        }
    }
    r->c = r->nfields;
    for (size_t k = 0; k < r->nfields; k++) {
        size_t blanks = 0;
        while (blanks < r->flen[k] && r->field[k][blanks] == ' ')
            blanks++;
        if (blanks < r->flen[k]) {
            r->c = k;
            r->indent = blanks;
            r->field[k] += blanks;
            r->flen[k] -= blanks;
            r->fcol[k] += (unsigned)blanks;
            break;
        }
    }
}

static const char *cell(const row *r, size_t k, size_t *len)
{
    if (k >= r->nfields) {
        *len = 0;
        return "";
    }
    *len = r->flen[k];
    return r->field[k];
}

static long depth_of(const row *r) { return (long)r->c * 1000 + (long)r->indent; }

static bool cell_is(const row *r, size_t k, const char *word)
{
    size_t len;
    const char *s = cell(r, k, &len);
    return len == strlen(word) && strncasecmp(s, word, len) == 0;
}

static bool close_top(tparser *t)
{
    open_struct *o = &t->stack[t->top];
    o->type->members = o->list;
    o->type->nmembers = o->n;
    t->top--;
    return true;
}

static lay_member *new_member(tparser *t, unsigned line, unsigned col)
{
    open_struct *o = &t->stack[t->top];
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 16;
        lay_member *nl = lay_alloc(&t->set->arena, cap * sizeof *nl);
        if (!nl) {
            fail(t, PLCIO_ENOMEM, line, col, "out of memory");
            return NULL;
        }
        if (o->list) memcpy(nl, o->list, o->n * sizeof *nl);
        o->list = nl;
        o->cap = cap;
    }
    lay_member *m = &o->list[o->n++];
    memset(m, 0, sizeof *m);
    m->printed_bitpos = -1;
    return m;
}

/* "12.3" -> bit position; "" -> -1. */
static bool parse_offset(tparser *t, const row *r, size_t k, int32_t *out)
{
    size_t len;
    const char *s = cell(r, k, &len);
    *out = -1;
    if (len == 0) return true;
    char buf[24];
    if (len >= sizeof buf) return fail(t, PLCIO_ESYNTAX, r->line, r->fcol[k], "offset is not BYTE.BIT");
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    long byte = strtol(buf, &end, 10);
    long bit = 0;
    if (end == buf || byte < 0 || byte > 65535)
        return fail(t, PLCIO_ESYNTAX, r->line, r->fcol[k], "offset '%s' is not BYTE.BIT", buf);
    if (*end == '.') {
        char *e2;
        bit = strtol(end + 1, &e2, 10);
        if (e2 == end + 1 || *e2 || bit < 0 || bit > 7)
            return fail(t, PLCIO_ESYNTAX, r->line, r->fcol[k], "offset '%s' is not BYTE.BIT", buf);
    } else if (*end) {
        return fail(t, PLCIO_ESYNTAX, r->line, r->fcol[k], "offset '%s' is not BYTE.BIT", buf);
    }
    *out = (int32_t)(byte * 8 + bit);
    return true;
}

static const char *const data_sections[] = {"Static", "Input", "Output", "InOut"};
static const char *const other_sections[] = {"Temp", "Constant", "Return"};

static int section_kind(const row *r)
{
    size_t tl;
    cell(r, r->c + 1, &tl);
    if (tl) return 0;
    for (size_t i = 0; i < 4; i++)
        if (cell_is(r, r->c, data_sections[i])) return 1;
    for (size_t i = 0; i < 3; i++)
        if (cell_is(r, r->c, other_sections[i])) return 2;
    return 0;
}

/* "Arr[3]" under the array "Arr": an element row. */
static bool is_element_row(const tparser *t, const row *r)
{
    if (!t->last_array) return false;
    size_t len, al = strlen(t->last_array);
    const char *name = cell(r, r->c, &len);
    return len > al && strncasecmp(name, t->last_array, al) == 0 && name[al] == '[';
}

/* Full path of `name` inside the open structures. */
static bool struct_path(tparser *t, const row *r, const char *name, size_t nlen, char *path, size_t cap, size_t *len)
{
    size_t n = 0;
    *len = 0; /* set on every path, errors included */
    for (size_t k = 1; k <= t->top; k++) {
        int w = snprintf(path + n, cap - n, "%s.", t->stack[k].name);
        if (w < 0 || (size_t)w >= cap - n) return fail(t, PLCIO_ERANGE, r->line, r->fcol[r->c], "name too long");
        n += (size_t)w;
    }
    if (n + nlen >= cap) return fail(t, PLCIO_ERANGE, r->line, r->fcol[r->c], "name too long");
    memcpy(path + n, name, nlen);
    n += nlen;
    path[n] = '\0';
    *len = n;
    return true;
}

/* A row that is not a declaration (array element, member of an expanded
 * UDT): its start value becomes a BEGIN assignment on the full path and
 * the offset TIA printed is checked there. */
static bool add_check(tparser *t, const row *r, const char *path, size_t n)
{
    size_t slen;
    const char *start = cell(r, r->c + 3, &slen);
    int32_t printed;
    if (!parse_offset(t, r, r->c + 2, &printed)) return false;
    if (slen == 0 && printed < 0) return true;
    lay_block *db = t->db;
    if (db->nassigns == t->nassign_cap) {
        size_t cap = t->nassign_cap ? t->nassign_cap * 2 : 16;
        lay_assign *na = lay_alloc(&t->set->arena, cap * sizeof *na);
        if (!na) return fail(t, PLCIO_ENOMEM, r->line, 1, "out of memory");
        if (db->assigns) memcpy(na, db->assigns, db->nassigns * sizeof *na);
        db->assigns = na;
        t->nassign_cap = cap;
    }
    lay_assign *a = &db->assigns[db->nassigns];
    a->path = lay_strndup(&t->set->arena, path, n);
    a->value = slen ? lay_strndup(&t->set->arena, start, slen) : NULL;
    a->pos = (lay_pos){t->file, r->line, r->fcol[r->c]};
    a->value_pos = (lay_pos){t->file, r->line, r->fcol[r->c + 3]};
    a->printed_bitpos = printed;
    if (!a->path || (slen && !a->value)) return fail(t, PLCIO_ENOMEM, r->line, 1, "out of memory");
    db->nassigns++;
    return true;
}

static bool element_row(tparser *t, const row *r)
{
    size_t nlen, n;
    const char *name = cell(r, r->c, &nlen);
    char path[1024];
    return struct_path(t, r, name, nlen, path, sizeof path, &n) && add_check(t, r, path, n);
}

static bool push_expansion(tparser *t, const row *r, const char *path)
{
    if (t->nexp >= MAX_DEPTH) return fail(t, PLCIO_ELIMIT, r->line, r->fcol[r->c], "rows nested too deep");
    t->exp[t->nexp].depth = depth_of(r);
    t->exp[t->nexp].path = path;
    t->nexp++;
    return true;
}

/* A row indented under a UDT or array row: "Speed" under "motor" is
 * motor.Speed; "Arr[2]" under "Arr" is Arr[2]. */
static bool expansion_row(tparser *t, const row *r)
{
    size_t nlen;
    const char *name = cell(r, r->c, &nlen);
    const char *parent = t->exp[t->nexp - 1].path;
    const char *dot = strrchr(parent, '.');
    const char *last = dot ? dot + 1 : parent;
    size_t keep = strlen(parent), ll = strlen(last);
    char path[1024];
    size_t n;
    bool element = nlen > ll && strncasecmp(name, last, ll) == 0 && name[ll] == '[';
    if (element) keep = (size_t)(last - parent);
    if (keep + nlen + 2 >= sizeof path) return fail(t, PLCIO_ERANGE, r->line, r->fcol[r->c], "name too long");
    memcpy(path, parent, keep);
    n = keep;
    if (!element) path[n++] = '.';
    memcpy(path + n, name, nlen);
    n += nlen;
    path[n] = '\0'; /* length-delimited below, but a string all the same (keep + nlen + 2 < size) */
    const char *saved = lay_strndup(&t->set->arena, path, n);
    if (!saved) return fail(t, PLCIO_ENOMEM, r->line, 1, "out of memory");
    return add_check(t, r, path, n) && push_expansion(t, r, saved);
}

/* "Array[1..3] of Struct": the members are the rows under the first
 * element row ("arr[1]"); the other elements' rows are expansions. */
static bool array_of_struct_row(tparser *t, const row *r, lay_member *m, const char *type, size_t tlen, lay_pos tpos,
                                bool flat)
{
    if (flat)
        return fail(t, PLCIO_EUNSUPPORTED, r->line, r->fcol[r->c],
                    "%s: this table copy does not show which rows belong to the structure (no indentation); copy "
                    "the DB as source text (Generate source from blocks) instead",
                    m->name);
    if (t->top + 1 >= MAX_DEPTH) return fail(t, PLCIO_ELIMIT, r->line, r->fcol[r->c], "structures nested too deep");
    char text[256];
    if (tlen - 6 + 4 >= sizeof text) return fail(t, PLCIO_ESYNTAX, r->line, tpos.col, "data type too long");
    memcpy(text, type, tlen - 6);
    memcpy(text + (tlen - 6), "Bool", 4); /* parse the bounds with a stand-in element type */
    text[tlen - 2] = '\0';
    lay_type *at = lay_parse_type_text(t->set, text, tlen - 2, tpos);
    if (!at) return false;
    if (at->kind != LT_ARRAY) return fail(t, PLCIO_ESYNTAX, r->line, tpos.col, "expected Array[..] of Struct");
    lay_type *st = lay_alloc(&t->set->arena, sizeof *st);
    if (!st) return fail(t, PLCIO_ENOMEM, r->line, 1, "out of memory");
    st->kind = LT_STRUCT;
    st->pos = tpos;
    at->of = st;
    m->type = at;
    char first[128];
    size_t n = (size_t)snprintf(first, sizeof first, "%s[", m->name);
    for (unsigned d = 0; d < at->ndims && n < sizeof first; d++)
        n += (size_t)snprintf(first + n, sizeof first - n, d ? ",%d" : "%d", (int)at->lo[d]);
    if (n + 2 > sizeof first) return fail(t, PLCIO_ERANGE, r->line, r->fcol[r->c], "name too long");
    first[n++] = ']';
    bool in_array = t->stack[t->top].in_array;
    if (in_array) m->printed_bitpos = -1;
    const char *fname = lay_strndup(&t->set->arena, first, n);
    if (!fname) return fail(t, PLCIO_ENOMEM, r->line, 1, "out of memory");
    t->top++;
    t->stack[t->top] =
        (open_struct){.type = st, .depth = depth_of(r), .name = fname, .array_name = m->name, .in_array = true};
    return true;
}

/* Rows under an array of Struct: the first element row, or a later
 * element (the members are complete then). False with *handled = false
 * when the row is an ordinary member of the element. */
static bool array_struct_row(tparser *t, const row *r, bool *handled)
{
    open_struct *o = &t->stack[t->top];
    size_t nlen, al = strlen(o->array_name);
    const char *name = cell(r, r->c, &nlen);
    *handled = nlen > al && strncasecmp(name, o->array_name, al) == 0 && name[al] == '[';
    if (!*handled) return true;
    char path[1024];
    size_t n;
    if (!o->elem_seen) {
        o->elem_seen = true;
        if (!struct_path(t, r, "", 0, path, sizeof path, &n)) return false;
        return add_check(t, r, path, n - 1); /* without the trailing '.' */
    }
    long depth = o->depth;
    const char *array_name = o->array_name;
    close_top(t);
    if (!struct_path(t, r, array_name, strlen(array_name), path, sizeof path, &n)) return false;
    const char *saved = lay_strndup(&t->set->arena, path, n);
    if (!saved) return fail(t, PLCIO_ENOMEM, r->line, 1, "out of memory");
    if (t->nexp >= MAX_DEPTH) return fail(t, PLCIO_ELIMIT, r->line, r->fcol[r->c], "rows nested too deep");
    t->exp[t->nexp].depth = depth;
    t->exp[t->nexp].path = saved;
    t->nexp++;
    return expansion_row(t, r);
}

static bool member_row(tparser *t, const row *r, bool flat)
{
    long depth = depth_of(r);
    while (t->top > 0 && t->stack[t->top].depth >= depth)
        close_top(t);
    size_t nlen, tlen, slen;
    const char *name = cell(r, r->c, &nlen);
    const char *type = cell(r, r->c + 1, &tlen);
    const char *start = cell(r, r->c + 3, &slen);
    unsigned name_col = r->fcol[r->c];
    if (tlen == 0) return fail(t, PLCIO_ESYNTAX, r->line, name_col, "row has no data type");
    lay_member *m = new_member(t, r->line, name_col);
    if (!m) return false;
    m->name = lay_strndup(&t->set->arena, name, nlen);
    m->pos = (lay_pos){t->file, r->line, name_col};
    m->section_start = t->section_start;
    t->section_start = false;
    if (!m->name) return fail(t, PLCIO_ENOMEM, r->line, name_col, "out of memory");
    if (!parse_offset(t, r, r->c + 2, &m->printed_bitpos)) return false;
    lay_pos tpos = {t->file, r->line, r->fcol[r->c + 1]};
    t->last_array = NULL;
    if (tlen == 6 && strncasecmp(type, "Struct", 6) == 0) {
        if (flat)
            return fail(t, PLCIO_EUNSUPPORTED, r->line, name_col,
                        "Struct %s: this table copy does not show which rows belong to the structure (no "
                        "indentation); copy the DB as source text (Generate source from blocks) instead",
                        m->name);
        if (t->top + 1 >= MAX_DEPTH) return fail(t, PLCIO_ELIMIT, r->line, name_col, "structures nested too deep");
        lay_type *st = lay_alloc(&t->set->arena, sizeof *st);
        if (!st) return fail(t, PLCIO_ENOMEM, r->line, name_col, "out of memory");
        st->kind = LT_STRUCT;
        st->pos = tpos;
        m->type = st;
        bool in_array = t->stack[t->top].in_array;
        if (in_array) m->printed_bitpos = -1;
        t->top++;
        t->stack[t->top] = (open_struct){.type = st, .depth = depth, .name = m->name, .in_array = in_array};
        return true;
    }
    bool in_array = t->stack[t->top].in_array;
    if (tlen > 9 && strncasecmp(type + tlen - 9, "of Struct", 9) == 0)
        return array_of_struct_row(t, r, m, type, tlen, tpos, flat);
    m->type = lay_parse_type_text(t->set, type, tlen, tpos);
    if (!m->type) return false;
    if (in_array) {
        /* the element's shape serves every element: offsets and start values
         * TIA printed belong to this element only */
        char path[1024];
        size_t n;
        m->printed_bitpos = -1;
        if (!struct_path(t, r, name, nlen, path, sizeof path, &n) || !add_check(t, r, path, n)) return false;
        slen = 0;
    }
    if (m->type->kind == LT_ARRAY) t->last_array = m->name;
    if (m->type->kind == LT_ARRAY || m->type->kind == LT_REF) {
        char path[1024];
        size_t n;
        if (!struct_path(t, r, name, nlen, path, sizeof path, &n)) return false;
        const char *saved = lay_strndup(&t->set->arena, path, n);
        if (!saved) return fail(t, PLCIO_ENOMEM, r->line, 1, "out of memory");
        if (!push_expansion(t, r, saved)) return false;
    }
    if (slen) {
        m->init = lay_strndup(&t->set->arena, start, slen);
        m->init_pos = (lay_pos){t->file, r->line, r->fcol[r->c + 3]};
        if (!m->init) return fail(t, PLCIO_ENOMEM, r->line, name_col, "out of memory");
        /* TIA prints '' for an empty string and the type default for
         * everything; a struct/UDT/array row has no start value. */
        if (m->type->kind != LT_ELEM) m->init = NULL;
    }
    return true;
}

static const char *base_name(plcio_layout_set *set, const char *file)
{
    const char *slash = strrchr(file, '/');
    const char *b = slash ? slash + 1 : file;
    const char *dot = strrchr(b, '.');
    size_t len = dot && dot != b ? (size_t)(dot - b) : strlen(b);
    return lay_strndup(&set->arena, b, len);
}

bool lay_parse_table(plcio_layout_set *set, const char *text, size_t len, const char *file)
{
    tparser tp = {.set = set, .file = file};
    tparser *t = &tp;
    if (len >= 3 && (unsigned char)text[0] == 0xEF && (unsigned char)text[1] == 0xBB &&
        (unsigned char)text[2] == 0xBF) {
        text += 3;
        len -= 3;
    }
    lay_block *db = lay_alloc(&set->arena, sizeof *db);
    lay_type *body = lay_alloc(&set->arena, sizeof *body);
    if (!db || !body) return fail(t, PLCIO_ENOMEM, 1, 1, "out of memory");
    db->kind = LB_DB;
    db->name = base_name(set, file);
    db->number = -1;
    db->table_copy = true;
    db->access = LA_UNSPECIFIED;
    db->pos = (lay_pos){file, 1, 1};
    body->kind = LT_STRUCT;
    body->pos = db->pos;
    db->body = body;
    t->db = db;
    t->stack[0] = (open_struct){.type = body, .depth = -1};
    if (!db->name) return fail(t, PLCIO_ENOMEM, 1, 1, "out of memory");

    /* first pass: is there any nesting at all? */
    long first_depth = -2;
    bool flat = true;
    unsigned line = 1;
    for (size_t pos = 0; pos < len; line++) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        row r;
        split_row(text + pos, end - pos, line, &r);
        if (r.c < r.nfields && !section_kind(&r)) {
            if (first_depth == -2)
                first_depth = depth_of(&r);
            else if (depth_of(&r) != first_depth)
                flat = false;
        }
        pos = end + 1;
    }
    line = 1;
    bool any = false;
    for (size_t pos = 0; pos < len; line++) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        row r;
        split_row(text + pos, end - pos, line, &r);
        pos = end + 1;
        if (r.c >= r.nfields) continue; /* empty row */
        int sk = section_kind(&r);
        if (sk) {
            while (t->top > 0)
                close_top(t);
            t->section = sk;
            t->nexp = 0;
            t->section_start = sk == 1;
            t->last_array = NULL;
            continue;
        }
        if (t->section == 2) continue; /* Temp / Constant: not in the DB */
        while (t->nexp > 0 && t->exp[t->nexp - 1].depth >= depth_of(&r))
            t->nexp--;
        while (t->top > 0 && t->stack[t->top].depth >= depth_of(&r))
            close_top(t);
        bool ok, handled = false;
        if (t->nexp == 0 && t->top > 0 && t->stack[t->top].array_name) {
            if (!array_struct_row(t, &r, &handled)) return false;
        }
        if (handled)
            ok = true;
        else if (t->nexp > 0)
            ok = expansion_row(t, &r);
        else if (is_element_row(t, &r))
            ok = element_row(t, &r);
        else
            ok = member_row(t, &r, flat);
        if (!ok) return false;
        any = true;
    }
    while (t->top > 0)
        close_top(t);
    body->members = t->stack[0].list;
    body->nmembers = t->stack[0].n;
    if (!any) return fail(t, PLCIO_ESYNTAX, 1, 1, "table copy has no member rows");
    lay_add_block(set, db);
    return true;
}
