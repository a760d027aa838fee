/* From a computed shape to a DB layout: leaves with full names in address
 * order, start values (declarations, UDT defaults, BEGIN section), the name
 * index, and checks: duplicate names, offsets a table copy printed, start
 * values that do not fit their type. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout/layout_internal.h"

typedef struct builder {
    plcio_layout_set *set;
    plcio_layout *l;
    char name[1024];
    size_t len;
    uint32_t lids[PLCIO_LAYOUT_MAX_LIDS]; /* LID chain to the current member */
    unsigned nlids;
    bool lids_over; /* nested deeper than PLCIO_LAYOUT_MAX_LIDS */
} builder;

static void lid_push(builder *b, uint32_t v)
{
    if (b->nlids < PLCIO_LAYOUT_MAX_LIDS)
        b->lids[b->nlids] = v;
    else
        b->lids_over = true;
    b->nlids++;
}

static int add_leaf(builder *b, const lay_shape *s, uint32_t bitpos, const char *start, lay_pos start_pos, lay_pos pos)
{
    plcio_layout *l = b->l;
    if (l->nleaves == l->cap_leaves) {
        size_t cap = l->cap_leaves ? l->cap_leaves * 2 : 64;
        lay_leaf *nl = realloc(l->leaves, cap * sizeof *nl);
        if (!nl) return lay_fail(&b->set->diag, PLCIO_ENOMEM, pos, "out of memory");
        l->leaves = nl;
        l->cap_leaves = cap;
    }
    char *name = lay_strndup(&b->set->arena, b->name, b->len);
    if (!name) return lay_fail(&b->set->diag, PLCIO_ENOMEM, pos, "out of memory");
    if (l->optimized && b->lids_over)
        return lay_fail(&b->set->diag, PLCIO_ELIMIT, pos, "%s is nested deeper than %d access levels", name,
                        PLCIO_LAYOUT_MAX_LIDS);
    lay_leaf *lf = &l->leaves[l->nleaves++];
    *lf = (lay_leaf){name, s->type, s->length, bitpos, start, start_pos, pos, 0, {0}};
    lf->nlids = (uint8_t)(b->nlids > PLCIO_LAYOUT_MAX_LIDS ? PLCIO_LAYOUT_MAX_LIDS : b->nlids);
    memcpy(lf->lids, b->lids, lf->nlids * sizeof *lf->lids);
    return PLCIO_OK;
}

static bool name_push(builder *b, const char *s, size_t *saved)
{
    *saved = b->len;
    int n = snprintf(b->name + b->len, sizeof b->name - b->len, b->len ? ".%s" : "%s", s);
    if (n < 0 || (size_t)n >= sizeof b->name - b->len) return false;
    b->len += (size_t)n;
    return true;
}

typedef struct items {
    const char **v;
    size_t n, cap;
    plcio_layout_set *set;
    bool oom;
} items;

static bool collect_item(void *ctx, const char *item, size_t len)
{
    items *it = ctx;
    if (it->n == it->cap) {
        size_t cap = it->cap ? it->cap * 2 : 16;
        const char **nv = realloc(it->v, cap * sizeof *nv);
        if (!nv) {
            it->oom = true;
            return false;
        }
        it->v = nv;
        it->cap = cap;
    }
    char *s = lay_strndup(&it->set->arena, item, len);
    if (!s) {
        it->oom = true;
        return false;
    }
    it->v[it->n++] = s;
    return it->n <= (size_t)PLCIO_LAYOUT_MAX_DB_SIZE * 8u; /* bounds a hostile repeat count */
}

/* Drop the list: on failure the caller sees an empty one, never a dangling pointer. */
static void items_clear(items *it)
{
    free(it->v);
    it->v = NULL;
    it->n = it->cap = 0;
}

static int split_list(plcio_layout_set *set, const char *text, lay_pos pos, uint32_t count, items *it)
{
    char msg[160];
    memset(it, 0, sizeof *it);
    it->set = set;
    if (!lay_value_list(text, collect_item, it, msg, sizeof msg)) {
        size_t n = it->n;
        items_clear(it);
        if (it->oom) return lay_fail(&set->diag, PLCIO_ENOMEM, pos, "out of memory");
        if (n > count || !msg[0])
            return lay_fail(&set->diag, PLCIO_ERANGE, pos, "more start values than the %u array elements", count);
        return lay_fail(&set->diag, PLCIO_ESYNTAX, pos, "start value list %s: %s", text, msg);
    }
    if (it->n > count) {
        size_t n = it->n;
        items_clear(it);
        return lay_fail(&set->diag, PLCIO_ERANGE, pos, "%zu start values for an array of %u elements", n, count);
    }
    return PLCIO_OK;
}

static int flatten(builder *b, const lay_shape *s, uint32_t base, const char *init, lay_pos init_pos, lay_pos pos);

static int flatten_struct(builder *b, const lay_shape *s, uint32_t base)
{
    for (size_t i = 0; i < s->nfields; i++) {
        const lay_field *f = &s->fields[i];
        uint32_t at = base + f->bitoff;
        if (f->printed_bitpos >= 0 && (uint32_t)f->printed_bitpos != at)
            return lay_fail(&b->set->diag, PLCIO_ERANGE, f->pos,
                            "TIA printed offset %d.%d for %s but the standard-access rules give %u.%u: the copy "
                            "does not match its own types",
                            f->printed_bitpos / 8, f->printed_bitpos % 8, f->name, at / 8, at % 8);
        size_t saved;
        if (!name_push(b, f->name, &saved))
            return lay_fail(&b->set->diag, PLCIO_ERANGE, f->pos, "member name longer than %zu characters",
                            sizeof b->name - 1);
        unsigned nl = b->nlids;
        bool over = b->lids_over;
        lid_push(b, f->lid);
        int rc = flatten(b, f->shape, at, f->init, f->init_pos, f->pos);
        b->nlids = nl;
        b->lids_over = over;
        b->len = saved;
        b->name[saved] = '\0';
        if (rc) return rc;
    }
    return PLCIO_OK;
}

static int flatten_array(builder *b, const lay_shape *s, uint32_t base, const char *init, lay_pos init_pos, lay_pos pos)
{
    items it = {0};
    if (init) {
        if (s->elem->kind != PLCIO_LAYOUT_ELEMENTARY)
            return lay_fail(&b->set->diag, PLCIO_EUNSUPPORTED, init_pos,
                            "a start value for a whole array of structures is not supported; give the members' "
                            "start values in the BEGIN section");
        int rc = split_list(b->set, init, init_pos, s->count, &it);
        if (rc) return rc;
    }
    int32_t idx[PLCIO_LAYOUT_MAX_DIMS];
    memcpy(idx, s->lo, sizeof idx);
    int rc = PLCIO_OK;
    for (uint32_t k = 0; k < s->count && !rc; k++) {
        size_t saved = b->len;
        char buf[96];
        size_t n = 0;
        buf[n++] = '[';
        for (unsigned d = 0; d < s->ndims; d++)
            n += (size_t)snprintf(buf + n, sizeof buf - n, d ? ",%d" : "%d", (int)idx[d]);
        buf[n++] = ']';
        buf[n] = '\0';
        if (b->len + n >= sizeof b->name) {
            rc = lay_fail(&b->set->diag, PLCIO_ERANGE, pos, "member name too long");
            break;
        }
        memcpy(b->name + b->len, buf, n + 1);
        b->len += n;
        unsigned nl = b->nlids;
        bool over = b->lids_over;
        lid_push(b, k); /* the flat 0-based element index */
        if (s->elem->kind == PLCIO_LAYOUT_STRUCT) lid_push(b, 1);
        rc = flatten(b, s->elem, base + k * s->stride_bits, k < it.n ? it.v[k] : NULL, init_pos, pos);
        b->nlids = nl;
        b->lids_over = over;
        b->len = saved;
        b->name[saved] = '\0';
        for (int d = (int)s->ndims - 1; d >= 0; d--) { /* last index fastest */
            if (idx[d] < s->hi[d]) {
                idx[d]++;
                break;
            }
            idx[d] = s->lo[d];
        }
    }
    free(it.v);
    return rc;
}

static int flatten(builder *b, const lay_shape *s, uint32_t base, const char *init, lay_pos init_pos, lay_pos pos)
{
    switch (s->kind) {
    case PLCIO_LAYOUT_ELEMENTARY: return add_leaf(b, s, base, init, init_pos, pos);
    case PLCIO_LAYOUT_ARRAY: return flatten_array(b, s, base, init, init_pos, pos);
    case PLCIO_LAYOUT_STRUCT:
        if (init)
            return lay_fail(&b->set->diag, PLCIO_EUNSUPPORTED, init_pos,
                            "a start value for a whole structure is not supported; give its members' start values");
        return flatten_struct(b, s, base);
    }
    return PLCIO_EINTERNAL;
}

static int build_hash(builder *b)
{
    plcio_layout *l = b->l;
    size_t cap = 16;
    while (cap < l->nleaves * 2)
        cap *= 2;
    l->hash = calloc(cap, sizeof *l->hash);
    if (!l->hash) return lay_fail(&b->set->diag, PLCIO_ENOMEM, (lay_pos){0}, "out of memory");
    l->hash_cap = cap;
    for (size_t i = 0; i < l->nleaves; i++) {
        const char *name = l->leaves[i].name;
        uint64_t h = 1469598103934665603ull;
        for (const char *s = name; *s; s++) {
            h ^= (unsigned char)(*s >= 'A' && *s <= 'Z' ? *s + 32 : *s);
            h *= 1099511628211ull;
        }
        for (size_t k = (size_t)h & (cap - 1);; k = (k + 1) & (cap - 1)) {
            if (!l->hash[k]) {
                l->hash[k] = (uint32_t)i + 1;
                break;
            }
            if (lay_name_eq(l->leaves[l->hash[k] - 1].name, name))
                return lay_fail(&b->set->diag, PLCIO_EEXIST, l->leaves[i].pos,
                                "%s is declared twice (names are not case-sensitive)", name);
        }
    }
    return PLCIO_OK;
}

static size_t leaf_index_at(const plcio_layout *l, uint32_t bitpos)
{
    size_t lo = 0, hi = l->nleaves;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->leaves[mid].bitpos < bitpos)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int apply_assign(builder *b, const lay_assign *a)
{
    plcio_layout_member m;
    int rc = plcio_layout_lookup(b->l, a->path, &m);
    if (rc == PLCIO_ERANGE)
        return lay_fail(&b->set->diag, PLCIO_ERANGE, a->pos, "%s: index outside the declared array bounds", a->path);
    if (rc)
        return lay_fail(&b->set->diag, PLCIO_ENOTFOUND, a->pos, "BEGIN sets %s, which is not a member of \"%s\"",
                        a->path, b->l->name);
    uint32_t bit = m.byte * 8u + (m.bit > 0 ? (uint32_t)m.bit : 0u);
    if (a->printed_bitpos >= 0 && (uint32_t)a->printed_bitpos != bit)
        return lay_fail(&b->set->diag, PLCIO_ERANGE, a->pos,
                        "TIA printed offset %d.%d for %s but the standard-access rules give %u.%u",
                        a->printed_bitpos / 8, a->printed_bitpos % 8, a->path, bit / 8, bit % 8);
    if (!a->value) return PLCIO_OK;
    size_t first = leaf_index_at(b->l, bit);
    if (m.kind == PLCIO_LAYOUT_ELEMENTARY) {
        b->l->leaves[first].start = a->value;
        b->l->leaves[first].start_pos = a->value_pos;
        return PLCIO_OK;
    }
    if (m.kind == PLCIO_LAYOUT_STRUCT || m.type == PLCIO_TYPE_COUNT_)
        return lay_fail(&b->set->diag, PLCIO_EUNSUPPORTED, a->pos,
                        "BEGIN sets the structure %s as a whole; set its members one by one", a->path);
    items it;
    rc = split_list(b->set, a->value, a->value_pos, m.count, &it);
    if (rc) return rc;
    for (size_t k = 0; k < it.n && first + k < b->l->nleaves; k++) {
        b->l->leaves[first + k].start = it.v[k];
        b->l->leaves[first + k].start_pos = a->value_pos;
    }
    free(it.v);
    return PLCIO_OK;
}

static int check_values(builder *b)
{
    plcio_layout *l = b->l;
    uint8_t *image = calloc(1, l->size ? l->size : 1);
    if (!image) return lay_fail(&b->set->diag, PLCIO_ENOMEM, (lay_pos){0}, "out of memory");
    int rc = PLCIO_OK;
    char msg[160];
    for (size_t i = 0; i < l->nleaves && !rc; i++) {
        const lay_leaf *lf = &l->leaves[i];
        if (!lf->start) continue;
        msg[0] = '\0';
        int vr = lay_value_encode(lf->type, lf->length, lf->start, image, l->size, lf->bitpos, msg, sizeof msg);
        if (vr)
            rc = lay_fail(&b->set->diag, vr, lf->start_pos, "start value %s of %s (%s): %s", lf->start, lf->name,
                          plcio_type_name(lf->type), msg);
    }
    free(image);
    return rc;
}

int lay_build_layout(plcio_layout_set *set, lay_block *blk, plcio_layout **out)
{
    plcio_layout *l = lay_alloc(&set->arena, sizeof *l);
    if (!l) return lay_fail(&set->diag, PLCIO_ENOMEM, blk->pos, "out of memory");
    l->name = blk->name;
    l->db_number = blk->kind == LB_DB ? blk->number : -1;
    l->shape = blk->shape;
    l->size = blk->shape->size_bits / 8;
    l->optimized = blk->optimized;
    builder b = {.set = set, .l = l};
    int rc = flatten_struct(&b, blk->shape, 0);
    if (!rc) rc = build_hash(&b);
    for (size_t i = 0; !rc && i < blk->nassigns; i++)
        rc = apply_assign(&b, &blk->assigns[i]);
    if (!rc) rc = check_values(&b);
    if (rc) {
        free(l->leaves);
        free(l->hash);
        l->leaves = NULL;
        l->hash = NULL;
        return rc;
    }
    *out = l;
    return PLCIO_OK;
}
