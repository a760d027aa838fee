/* Standard-access offsets (docs/layout-offsets.md has the rules and the
 * evidence behind each one):
 *   BOOL                      next free bit
 *   BYTE CHAR SINT USINT      next byte
 *   every other elementary    next even byte (STRING[n] n+2 bytes, WSTRING[n] 2n+4)
 *   STRUCT / UDT / FB instance  start on an even byte, size rounded up to even
 *   ARRAY                     starts on an even byte, size rounded up to even;
 *                             BOOL elements are consecutive bits (all
 *                             dimensions, last index fastest), 1-byte
 *                             elements consecutive bytes, every other element
 *                             on an even stride (STRING[odd] is padded by one)
 *   FB instance DB            IN, OUT, IN_OUT, STAT each start on an even byte
 * Positions are kept in bits so BOOLs and bytes share one counter. */
#include <stdio.h>
#include <string.h>

#include "layout/layout_internal.h"

#define MAX_BITS ((uint64_t)PLCIO_LAYOUT_MAX_DB_SIZE * 8u)

static uint64_t align_up(uint64_t v, uint32_t a) { return (v + a - 1) / a * a; }

static int compute_type(plcio_layout_set *set, const lay_type *t, const lay_shape **out);

static int elem_shape(plcio_layout_set *set, const lay_type *t, const lay_shape **out)
{
    lay_shape *s = lay_alloc(&set->arena, sizeof *s);
    if (!s) return lay_fail(&set->diag, PLCIO_ENOMEM, t->pos, "out of memory");
    s->kind = PLCIO_LAYOUT_ELEMENTARY;
    s->type = t->elem;
    s->length = t->length;
    s->count = 1;
    size_t bytes = plcio_type_size(t->elem, t->length);
    if (bytes == 0) return lay_fail(&set->diag, PLCIO_ETYPE, t->pos, "data type has no size");
    s->size_bits = t->elem == PLCIO_TYPE_BOOL ? 1u : (uint32_t)bytes * 8u;
    s->align_bits = t->elem == PLCIO_TYPE_BOOL ? 1u : plcio_type_is_byte_aligned(t->elem) ? 8u : 16u;
    *out = s;
    return PLCIO_OK;
}

static int struct_shape(plcio_layout_set *set, const lay_type *t, const lay_shape **out)
{
    lay_shape *s = lay_alloc(&set->arena, sizeof *s);
    if (!s) return lay_fail(&set->diag, PLCIO_ENOMEM, t->pos, "out of memory");
    s->kind = PLCIO_LAYOUT_STRUCT;
    s->type = PLCIO_TYPE_COUNT_;
    s->count = 1;
    s->align_bits = 16;
    s->nfields = t->nmembers;
    if (t->nmembers) {
        s->fields = lay_alloc(&set->arena, t->nmembers * sizeof *s->fields);
        if (!s->fields) return lay_fail(&set->diag, PLCIO_ENOMEM, t->pos, "out of memory");
    }
    uint64_t pos = 0;
    for (size_t i = 0; i < t->nmembers; i++) {
        const lay_member *m = &t->members[i];
        const lay_shape *ms;
        int rc = compute_type(set, m->type, &ms);
        if (rc) return rc;
        if (m->section_start) pos = align_up(pos, 16);
        /* compute_type sets ms whenever it returns 0; its failures return lay_fail(), never 0, but the
         * analyzer does not follow variadic calls and assumes 0 */
        pos = align_up(pos, ms->align_bits); // NOLINT(clang-analyzer-core.NullDereference)
        s->fields[i] = (lay_field){m->name,
                                   (uint32_t)pos,
                                   ms,
                                   m->init,
                                   m->init_pos,
                                   m->pos,
                                   m->printed_bitpos,
                                   m->lid ? m->lid : LAY_FIRST_LID + (uint32_t)i};
        pos += ms->size_bits;
        if (pos > MAX_BITS)
            return lay_fail(&set->diag, PLCIO_ERANGE, m->pos,
                            "%s ends at byte %llu: a data block holds at most %u bytes", m->name,
                            (unsigned long long)((pos + 7) / 8), PLCIO_LAYOUT_MAX_DB_SIZE);
    }
    s->size_bits = (uint32_t)align_up(pos, 16);
    *out = s;
    return PLCIO_OK;
}

static int array_shape(plcio_layout_set *set, const lay_type *t, const lay_shape **out)
{
    const lay_shape *e;
    int rc = compute_type(set, t->of, &e);
    if (rc) return rc;
    lay_shape *s = lay_alloc(&set->arena, sizeof *s);
    if (!s) return lay_fail(&set->diag, PLCIO_ENOMEM, t->pos, "out of memory");
    s->kind = PLCIO_LAYOUT_ARRAY;
    /* e is set when compute_type returns 0 (see struct_shape) */
    // NOLINTNEXTLINE(clang-analyzer-core.NullDereference)
    s->type = e->kind == PLCIO_LAYOUT_ELEMENTARY ? e->type : PLCIO_TYPE_COUNT_;
    s->length = e->length;
    s->ndims = t->ndims;
    memcpy(s->lo, t->lo, sizeof s->lo);
    memcpy(s->hi, t->hi, sizeof s->hi);
    s->elem = e;
    s->align_bits = 16;
    uint64_t count = 1;
    for (unsigned d = 0; d < t->ndims; d++) {
        count *= (uint64_t)((int64_t)t->hi[d] - t->lo[d] + 1);
        if (count > MAX_BITS) break;
    }
    uint32_t stride = e->size_bits == 1 ? 1u : e->size_bits == 8 ? 8u : (uint32_t)align_up(e->size_bits, 16);
    uint64_t bits = count * stride;
    if (count > MAX_BITS || bits > MAX_BITS)
        return lay_fail(&set->diag, PLCIO_ERANGE, t->pos,
                        "array of %llu elements does not fit in a data block of at most %u bytes",
                        (unsigned long long)count, PLCIO_LAYOUT_MAX_DB_SIZE);
    s->count = (uint32_t)count;
    s->stride_bits = stride;
    s->size_bits = (uint32_t)align_up(bits, 16);
    *out = s;
    return PLCIO_OK;
}

static int ref_shape(plcio_layout_set *set, const lay_type *t, const lay_shape **out)
{
    lay_block *b = lay_find_block(set, t->ref, (1 << LB_TYPE) | (1 << LB_FB));
    if (!b)
        return lay_fail(&set->diag, PLCIO_ENOTFOUND, t->pos,
                        "unknown data type \"%s\": it is not an S7 type and no TYPE or FUNCTION_BLOCK of that name "
                        "is in the files given",
                        t->ref);
    if (b->state == 1)
        return lay_fail(&set->diag, PLCIO_ELIMIT, t->pos, "user type \"%s\" contains itself, so it has no finite size",
                        b->name);
    int rc = lay_compute_block(set, b);
    if (rc) return rc;
    *out = b->shape;
    return PLCIO_OK;
}

/* Nesting through user types (each level of the source is already bounded
 * by the parser); keeps hostile chains of UDTs off the end of the stack. */
#define MAX_TYPE_DEPTH 256

static int compute_type(plcio_layout_set *set, const lay_type *t, const lay_shape **out)
{
    if (set->depth >= MAX_TYPE_DEPTH)
        return lay_fail(&set->diag, PLCIO_ELIMIT, t->pos, "types nested deeper than %d levels", MAX_TYPE_DEPTH);
    set->depth++;
    int rc;
    switch (t->kind) {
    case LT_ELEM: rc = elem_shape(set, t, out); break;
    case LT_STRUCT: rc = struct_shape(set, t, out); break;
    case LT_ARRAY: rc = array_shape(set, t, out); break;
    case LT_REF: rc = ref_shape(set, t, out); break;
    default: rc = lay_fail(&set->diag, PLCIO_EINTERNAL, t->pos, "bad type node"); break;
    }
    set->depth--;
    return rc;
}

int lay_compute_block(plcio_layout_set *set, lay_block *b)
{
    if (b->state == 2) return PLCIO_OK;
    if (b->state == 1)
        return lay_fail(&set->diag, PLCIO_ELIMIT, b->pos, "\"%s\" contains itself, so it has no finite size", b->name);
    b->state = 1;
    int rc = compute_type(set, b->body, &b->shape);
    if (rc) return rc;
    if (b->shape->kind != PLCIO_LAYOUT_STRUCT)
        return lay_fail(&set->diag, PLCIO_ETYPE, b->pos, "\"%s\" is not a structure", b->name);
    b->state = 2;
    return PLCIO_OK;
}
