/* Public layout API: sets of definitions, resolution, leaves, name lookup,
 * start values. */
#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "layout/layout_internal.h"

/* ------------------------------------------------------------------ set */

int plcio_layout_set_new(const plcio_layout_options *opts, plcio_layout_set **out, plcio_error *err)
{
    plcio_error_clear(err);
    if (!out) return plcio_error_set(err, PLCIO_EINVAL, "no place for the set");
    plcio_layout_set *set = calloc(1, sizeof *set);
    *out = set;
    if (!set) return plcio_error_set(err, PLCIO_ENOMEM, "out of memory");
    if (opts) set->opts = *opts;
    return PLCIO_OK;
}

static void layout_release(plcio_layout *l)
{
    if (!l) return;
    free(l->leaves);
    free(l->hash);
}

void plcio_layout_set_free(plcio_layout_set *set)
{
    if (!set) return;
    for (size_t i = 0; i < set->ndbs; i++)
        layout_release(set->dbs[i]);
    for (size_t i = 0; i < set->ntypes; i++)
        layout_release(set->types[i]);
    free(set->dbs);
    free(set->types);
    for (size_t i = 0; i < set->nwarnings; i++)
        free(set->warnings[i]);
    free(set->warnings);
    lay_arena_free(&set->arena);
    free(set);
}

void lay_add_block(plcio_layout_set *set, lay_block *b)
{
    if (set->blocks_tail)
        set->blocks_tail->next = b;
    else
        set->blocks = b;
    set->blocks_tail = b;
}

/* Compare names ignoring case and surrounding double quotes. */
static bool block_name_eq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la >= 2 && a[0] == '"' && a[la - 1] == '"') {
        a++;
        la -= 2;
    }
    if (lb >= 2 && b[0] == '"' && b[lb - 1] == '"') {
        b++;
        lb -= 2;
    }
    return la == lb && strncasecmp(a, b, la) == 0;
}

lay_block *lay_find_block(const plcio_layout_set *set, const char *name, int kind_mask)
{
    for (lay_block *b = set->blocks; b; b = b->next)
        if ((kind_mask & (1 << b->kind)) && block_name_eq(b->name, name)) return b;
    return NULL;
}

/* A table copy is tab separated with several columns on its first line. */
static bool looks_like_table(const char *text, size_t len)
{
    size_t i = 0;
    if (len >= 3 && (unsigned char)text[0] == 0xEF && (unsigned char)text[1] == 0xBB && (unsigned char)text[2] == 0xBF)
        i = 3;
    int tabs = 0;
    for (; i < len && text[i] != '\n'; i++)
        if (text[i] == '\t') tabs++;
    return tabs >= 2;
}

int plcio_layout_set_add_text(plcio_layout_set *set, const char *name, const char *text, size_t len)
{
    if (!set || !name || (!text && len)) return PLCIO_EINVAL;
    if (set->diag.e.code) return set->diag.e.code;
    if (set->resolved)
        return lay_fail(&set->diag, PLCIO_ESTATE, (lay_pos){0}, "definitions added after the set was resolved");
    char *copy = lay_strndup(&set->arena, text ? text : "", len);
    char *file = lay_strndup(&set->arena, name, strlen(name));
    if (!copy || !file) return lay_fail(&set->diag, PLCIO_ENOMEM, (lay_pos){0}, "out of memory");
    if (memchr(copy, '\0', len))
        return lay_fail(&set->diag, PLCIO_ESYNTAX, (lay_pos){file, 1, 1},
                        "file holds NUL bytes: it is not a text export (UTF-16 or binary?)");
    bool ok =
        looks_like_table(copy, len) ? lay_parse_table(set, copy, len, file) : lay_parse_source(set, copy, len, file);
    return ok ? PLCIO_OK : set->diag.e.code;
}

int plcio_layout_set_add_file(plcio_layout_set *set, const char *path)
{
    if (!set || !path) return PLCIO_EINVAL;
    if (set->diag.e.code) return set->diag.e.code;
    FILE *f = fopen(path, "rb");
    if (!f) return lay_fail(&set->diag, PLCIO_EIO, (lay_pos){0}, "%s: cannot open: %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 65536;
            if (cap > (size_t)256 * 1024 * 1024) {
                free(buf);
                (void)fclose(f); /* read-only stream: nothing to lose */
                return lay_fail(&set->diag, PLCIO_ERANGE, (lay_pos){0}, "%s: larger than 256 MiB", path);
            }
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                (void)fclose(f); /* read-only stream: nothing to lose */
                return lay_fail(&set->diag, PLCIO_ENOMEM, (lay_pos){0}, "out of memory");
            }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    bool bad = ferror(f) != 0;
    (void)fclose(f); /* read-only stream: nothing to lose */
    if (bad) {
        free(buf);
        return lay_fail(&set->diag, PLCIO_EIO, (lay_pos){0}, "%s: read error", path);
    }
    int rc = plcio_layout_set_add_text(set, path, buf ? buf : "", len);
    free(buf);
    return rc;
}

static void warn(plcio_layout_set *set, const char *fmt, ...) PLCIO_PRINTF(2, 3);
static void warn(plcio_layout_set *set, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **nw = realloc(set->warnings, (set->nwarnings + 1) * sizeof *nw);
    if (!nw) return;
    set->warnings = nw;
    nw[set->nwarnings] = strdup(buf);
    if (nw[set->nwarnings]) set->nwarnings++;
}

#define HOW_TO_STANDARD                                                                                                \
    "in TIA Portal right-click the DB (for an instance DB: its FB) > Properties > Attributes, untick \"Optimized "     \
    "block access\", compile and download, then export the source again"

/* Standard or optimized? Explicit attribute first; an instance DB follows its
 * FB; classic STEP 7 blocks and table copies (which print offsets) are
 * standard; otherwise TIA's default, optimized. */
static int check_access(plcio_layout_set *set, lay_block *db)
{
    lay_access access = db->access;
    const lay_block *fb = NULL;
    if (db->body->kind == LT_REF) fb = lay_find_block(set, db->body->ref, 1 << LB_FB);
    if (access == LA_UNSPECIFIED && fb) access = fb->classic ? LA_STANDARD : fb->access;
    if (access == LA_UNSPECIFIED && (db->classic || db->table_copy)) access = LA_STANDARD;
    if (access == LA_STANDARD) return PLCIO_OK;
    if (set->opts.accept_optimized && (access == LA_OPTIMIZED || !set->opts.assume_standard)) {
        db->optimized = true; /* served by symbol; offsets are the simulator's own storage */
        return PLCIO_OK;
    }
    if (access == LA_OPTIMIZED)
        return lay_fail(&set->diag, PLCIO_EOPTIMIZED, db->pos,
                        "data block \"%s\" uses optimized access (S7_Optimized_Access := 'TRUE'): the CPU arranges "
                        "its members itself and they have no absolute byte offsets, so addresses such as DB1.DBD4 "
                        "cannot reach them; to use it, " HOW_TO_STANDARD,
                        db->name);
    if (set->opts.assume_standard) {
        warn(set,
             "data block \"%s\" has no S7_Optimized_Access attribute (TIA's default is optimized); laid out as "
             "standard access because assume_standard is set: check the offsets against TIA",
             db->name);
        return PLCIO_OK;
    }
    return lay_fail(&set->diag, PLCIO_EOPTIMIZED, db->pos,
                    "data block \"%s\" has no S7_Optimized_Access attribute, so TIA Portal made it an optimized "
                    "block (its default): optimized members have no absolute byte offsets, so addresses such as "
                    "DB1.DBD4 cannot reach them; " HOW_TO_STANDARD
                    " (the source then says S7_Optimized_Access := 'FALSE'), or, if the DB already is standard, "
                    "pass --assume-standard",
                    db->name);
}

static int push_layout(plcio_layout ***list, size_t *n, plcio_layout *l)
{
    plcio_layout **nl = realloc(*list, (*n + 1) * sizeof(plcio_layout *));
    if (!nl) return PLCIO_ENOMEM;
    nl[(*n)++] = l;
    *list = nl;
    return PLCIO_OK;
}

int plcio_layout_set_resolve(plcio_layout_set *set)
{
    if (!set) return PLCIO_EINVAL;
    if (set->diag.e.code) return set->diag.e.code;
    if (set->resolved) return PLCIO_OK;
    set->resolved = true;
    for (lay_block *b = set->blocks; b; b = b->next) {
        for (lay_block *o = set->blocks; o != b; o = o->next)
            if (o->kind == b->kind && block_name_eq(o->name, b->name))
                return lay_fail(&set->diag, PLCIO_EEXIST, b->pos, "\"%s\" is defined twice (first at %s:%u:%u)",
                                b->name, o->pos.file, o->pos.line, o->pos.col);
    }
    for (lay_block *b = set->blocks; b; b = b->next) {
        if (b->kind == LB_FB) continue;
        if (b->kind == LB_DB) {
            int rc = check_access(set, b);
            if (rc) return rc;
        }
        int rc = lay_compute_block(set, b);
        if (rc) return rc;
        plcio_layout *l;
        rc = lay_build_layout(set, b, &l);
        if (rc) return rc;
        rc = b->kind == LB_DB ? push_layout(&set->dbs, &set->ndbs, l) : push_layout(&set->types, &set->ntypes, l);
        if (rc) {
            layout_release(l);
            return lay_fail(&set->diag, rc, b->pos, "out of memory");
        }
    }
    return PLCIO_OK;
}

const plcio_error *plcio_layout_set_last_error(const plcio_layout_set *set)
{
    static const plcio_error none = {PLCIO_EINVAL, "no layout set"};
    return set ? &set->diag.e : &none;
}

void plcio_layout_set_error_pos(const plcio_layout_set *set, const char **file, unsigned *line, unsigned *column)
{
    if (file) *file = set ? set->diag.pos.file : NULL;
    if (line) *line = set ? set->diag.pos.line : 0;
    if (column) *column = set ? set->diag.pos.col : 0;
}

size_t plcio_layout_set_warning_count(const plcio_layout_set *set) { return set ? set->nwarnings : 0; }

const char *plcio_layout_set_warning(const plcio_layout_set *set, size_t index)
{
    return set && index < set->nwarnings ? set->warnings[index] : NULL;
}

size_t plcio_layout_set_count(const plcio_layout_set *set) { return set ? set->ndbs : 0; }

const plcio_layout *plcio_layout_set_get(const plcio_layout_set *set, size_t index)
{
    return set && index < set->ndbs ? set->dbs[index] : NULL;
}

const plcio_layout *plcio_layout_set_find(const plcio_layout_set *set, const char *name)
{
    if (!set || !name) return NULL;
    for (size_t i = 0; i < set->ndbs; i++)
        if (block_name_eq(set->dbs[i]->name, name)) return set->dbs[i];
    /* "DB99" for "DB 99" */
    if (strncasecmp(name, "DB", 2) == 0 && isdigit((unsigned char)name[2])) {
        char buf[32];
        snprintf(buf, sizeof buf, "DB %s", name + 2);
        for (size_t i = 0; i < set->ndbs; i++)
            if (block_name_eq(set->dbs[i]->name, buf)) return set->dbs[i];
    }
    return NULL;
}

size_t plcio_layout_set_type_count(const plcio_layout_set *set) { return set ? set->ntypes : 0; }

const plcio_layout *plcio_layout_set_type(const plcio_layout_set *set, size_t index)
{
    return set && index < set->ntypes ? set->types[index] : NULL;
}

const char *plcio_layout_name(const plcio_layout *layout) { return layout ? layout->name : NULL; }

int plcio_layout_db_number(const plcio_layout *layout) { return layout ? layout->db_number : -1; }

bool plcio_layout_is_optimized(const plcio_layout *layout) { return layout && layout->optimized; }

uint32_t plcio_layout_size(const plcio_layout *layout) { return layout ? layout->size : 0; }

size_t plcio_layout_leaf_count(const plcio_layout *layout) { return layout ? layout->nleaves : 0; }

/* ------------------------------------------------------------ members */

static void fill_leaf(const plcio_layout *l, const lay_leaf *leaf, plcio_layout_member *out)
{
    memset(out, 0, sizeof *out);
    out->name = leaf->name;
    out->kind = PLCIO_LAYOUT_ELEMENTARY;
    out->type = leaf->type;
    out->length = leaf->length;
    out->db_number = l->db_number;
    out->byte = leaf->bitpos / 8;
    out->bit = leaf->type == PLCIO_TYPE_BOOL ? (int)(leaf->bitpos % 8) : -1;
    out->size = (uint32_t)plcio_type_size(leaf->type, leaf->length);
    out->count = 1;
    out->start = leaf->start;
    if (l->optimized) {
        out->nlids = leaf->nlids;
        memcpy(out->lids, leaf->lids, leaf->nlids * sizeof *leaf->lids);
    }
}

int plcio_layout_leaf(const plcio_layout *layout, size_t index, plcio_layout_member *out)
{
    if (!layout || !out) return PLCIO_EINVAL;
    if (index >= layout->nleaves) return PLCIO_ERANGE;
    fill_leaf(layout, &layout->leaves[index], out);
    return PLCIO_OK;
}

/* Leaves are in strictly increasing bit order: binary search. */
static const lay_leaf *leaf_at(const plcio_layout *l, uint32_t bitpos)
{
    size_t lo = 0, hi = l->nleaves;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->leaves[mid].bitpos < bitpos)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < l->nleaves && l->leaves[lo].bitpos == bitpos ? &l->leaves[lo] : NULL;
}

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)tolower((unsigned char)*s);
        h *= 1099511628211ull;
    }
    return h;
}

static const lay_leaf *hash_find(const plcio_layout *l, const char *name)
{
    if (!l->hash_cap) return NULL;
    size_t mask = l->hash_cap - 1;
    for (size_t i = (size_t)name_hash(name) & mask;; i = (i + 1) & mask) {
        uint32_t v = l->hash[i];
        if (!v) return NULL;
        if (strcasecmp(l->leaves[v - 1].name, name) == 0) return &l->leaves[v - 1];
    }
}

static const char *skip_spaces(const char *p)
{
    while (*p == ' ')
        p++;
    return p;
}

/* One member name, bare or "quoted"; *p moves past it. */
static int scan_segment(const char **p, const char **seg, size_t *len)
{
    const char *q = *p;
    if (*q == '"') {
        *seg = ++q;
        while (*q && *q != '"')
            q++;
        if (*q != '"') return PLCIO_ESYNTAX;
        *len = (size_t)(q - *seg);
        q++;
    } else {
        *seg = q;
        while (*q && *q != '.' && *q != '[' && *q != ' ')
            q++;
        *len = (size_t)(q - *seg);
    }
    *p = q;
    return *len ? PLCIO_OK : PLCIO_ESYNTAX;
}

static const lay_field *find_field(const lay_shape *s, const char *seg, size_t len)
{
    for (size_t i = 0; i < s->nfields; i++)
        if (strlen(s->fields[i].name) == len && strncasecmp(s->fields[i].name, seg, len) == 0) return &s->fields[i];
    return NULL;
}

/* One subscript "[i,j]" after *p's '[' on the array shape s: the element's linear index. */
static int scan_subscript(const char **p, const lay_shape *s, uint64_t *linear)
{
    const char *q = *p + 1;
    *linear = 0;
    for (unsigned d = 0;; d++) {
        char *end;
        errno = 0;
        long v = strtol(q, &end, 10);
        if (end == q || errno) return PLCIO_ESYNTAX;
        q = skip_spaces(end);
        if (d >= s->ndims) return PLCIO_ERANGE;
        if (v < s->lo[d] || v > s->hi[d]) return PLCIO_ERANGE;
        *linear = *linear * (uint64_t)((int64_t)s->hi[d] - s->lo[d] + 1) + (uint64_t)(v - s->lo[d]);
        if (*q == ',') {
            q++;
            continue;
        }
        if (*q != ']') return PLCIO_ESYNTAX;
        *p = q + 1;
        return d + 1 == s->ndims ? PLCIO_OK : PLCIO_ERANGE;
    }
}

/* Walk a name through the shapes. */
static int walk(const plcio_layout *l, const char *name, const lay_shape **shape_out, uint32_t *bit_out)
{
    const lay_shape *s = l->shape;
    uint64_t bit = 0;
    const char *p = name;
    for (;;) {
        const char *seg;
        size_t len;
        p = skip_spaces(p);
        int rc = scan_segment(&p, &seg, &len);
        if (rc) return rc;
        if (s->kind != PLCIO_LAYOUT_STRUCT) return PLCIO_ENOTFOUND;
        const lay_field *f = find_field(s, seg, len);
        if (!f) return PLCIO_ENOTFOUND;
        bit += f->bitoff;
        s = f->shape;
        p = skip_spaces(p);
        while (*p == '[') {
            if (s->kind != PLCIO_LAYOUT_ARRAY) return PLCIO_ENOTFOUND;
            uint64_t linear;
            if ((rc = scan_subscript(&p, s, &linear)) != PLCIO_OK) return rc;
            bit += linear * s->stride_bits;
            s = s->elem;
            p = skip_spaces(p);
        }
        if (*p == '\0') break;
        if (*p != '.') return PLCIO_ESYNTAX;
        p++;
    }
    *shape_out = s;
    *bit_out = (uint32_t)bit;
    return PLCIO_OK;
}

int plcio_layout_lookup(const plcio_layout *layout, const char *name, plcio_layout_member *out)
{
    if (!layout || !name || !out) return PLCIO_EINVAL;
    const lay_leaf *leaf = hash_find(layout, name);
    if (leaf) {
        fill_leaf(layout, leaf, out);
        return PLCIO_OK;
    }
    const lay_shape *s;
    uint32_t bit;
    int rc = walk(layout, name, &s, &bit);
    if (rc) return rc;
    if (s->kind == PLCIO_LAYOUT_ELEMENTARY && (leaf = leaf_at(layout, bit)) != NULL) {
        fill_leaf(layout, leaf, out);
        return PLCIO_OK;
    }
    memset(out, 0, sizeof *out);
    out->kind = s->kind;
    out->type = s->type;
    out->length = s->length;
    out->db_number = layout->db_number;
    out->byte = bit / 8;
    out->bit = s->type == PLCIO_TYPE_BOOL ? (int)(bit % 8) : -1;
    out->size = s->size_bits == 1 ? 1u : s->size_bits / 8;
    out->count = s->kind == PLCIO_LAYOUT_ARRAY ? s->count : 1;
    if (s->kind == PLCIO_LAYOUT_ARRAY) {
        out->dims = s->ndims;
        for (unsigned d = 0; d < s->ndims && d < PLCIO_LAYOUT_MAX_DIMS; d++) {
            out->lower[d] = s->lo[d];
            out->dim_count[d] = (uint32_t)((int64_t)s->hi[d] - s->lo[d] + 1);
        }
    }
    return PLCIO_OK;
}

/* ------------------------------------------------------------ start values */

int plcio_layout_start_image(const plcio_layout *layout, uint8_t *image, size_t cap)
{
    if (!layout || (!image && layout->size)) return PLCIO_EINVAL;
    if (cap < layout->size) return PLCIO_ENOSPC;
    if (layout->size) memset(image, 0, layout->size); /* image may be NULL for an empty layout */
    char msg[160];
    for (size_t i = 0; i < layout->nleaves; i++) {
        const lay_leaf *lf = &layout->leaves[i];
        int rc = lay_value_encode(lf->type, lf->length, lf->start, image, layout->size, lf->bitpos, msg, sizeof msg);
        if (rc) return rc; /* checked at resolve time: cannot happen */
    }
    return PLCIO_OK;
}
