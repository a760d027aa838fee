/* S7 client: read/write of memory. Variables are merged into regions
 * (reads), regions cut into items that fit the PDU, items packed into the
 * fewest PDUs (20 items, request and answer budgets), PDUs pipelined. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plcio/value.h"
#include "s7/s7_client_internal.h"
#include "core/error.h"
#include "tag/tag_internal.h"

#define MERGE_GAP 16 /* bytes: a separate item costs 12 (request) + 4 (answer) */
#define MIN_SPLIT 16 /* do not start a split item in less room than this */

typedef struct region {
    uint8_t area;
    uint16_t db;
    bool ct;        /* counters/timers: units are 2-byte elements */
    uint32_t start; /* first unit */
    uint32_t end;   /* one past the last unit */
    uint8_t *mem;   /* read: scratch (plan_one_read: the var's data); write: the var's data */
    size_t vars;    /* how many vars it serves */
} region;

typedef struct chunk {
    s7_item item;
    size_t region;
    size_t offset; /* bytes into the region */
    size_t len;    /* bytes */
    int result;
    uint8_t code;
} chunk;

typedef struct pdu_plan {
    size_t first, n;
} pdu_plan;

/* Sort keys copied out of the variables (no global state for qsort). */
typedef struct sort_key {
    uint8_t area;
    uint16_t db;
    uint32_t start;
    size_t index;
} sort_key;

/* The buffers of a plan only grow: a client reuses them from one request to
 * the next (rw_job), so a steady poll allocates nothing. */
typedef struct rw_plan {
    bool write;
    region *regions;
    size_t nregions, regions_cap;
    chunk *chunks;
    size_t nchunks, chunks_cap;
    pdu_plan *pdus;
    size_t npdus, pdus_cap;
    uint8_t *scratch;
    size_t scratch_cap;
    sort_key *keys;
    size_t keys_cap;
    uint16_t header_error;
} rw_plan;

static bool is_ct(uint8_t area) { return area == PLCIO_S7_AREA_C || area == PLCIO_S7_AREA_T; }
static size_t unit_size(const region *r) { return r->ct ? 2 : 1; }

/* buf with room for at least n elements of elem bytes (realloc'd when it has
 * fewer, *cap updated), or NULL when out of memory (buf is then unchanged). */
static void *reserve(void *buf, size_t *cap, size_t n, size_t elem)
{
    if (n <= *cap && buf) return buf;
    size_t c = *cap > 4 ? *cap : 4;
    while (c < n) {
        if (c > SIZE_MAX / 2) return NULL;
        c *= 2;
    }
    if (c > SIZE_MAX / elem) return NULL;
    void *p = realloc(buf, c * elem);
    if (p) *cap = c;
    return p;
}

/* Empty the plan, keeping its buffers for the next one. */
static void plan_reset(rw_plan *p)
{
    p->write = false;
    p->nregions = p->nchunks = p->npdus = 0;
    p->header_error = 0;
}

static void plan_free(rw_plan *p)
{
    free(p->regions);
    free(p->chunks);
    free(p->pdus);
    free(p->scratch);
    free(p->keys);
    memset(p, 0, sizeof *p);
}

static void var_name(const plcio_s7_var *v, char *buf, size_t cap)
{
    const char *a = plcio_s7_area_name((uint8_t)v->area);
    if (v->area == PLCIO_S7_AREA_DB || v->area == PLCIO_S7_AREA_DI) {
        if (v->bit >= 0)
            snprintf(buf, cap, "%s%u.DBX%u.%d", a, v->db, v->start, v->bit);
        else
            snprintf(buf, cap, "%s%u.DBB%u (%u bytes)", a, v->db, v->start, v->size);
    } else if (is_ct((uint8_t)v->area)) {
        snprintf(buf, cap, "%s%u (%u)", a, v->start, v->size);
    } else if (v->bit >= 0) {
        snprintf(buf, cap, "%s%u.%d", a, v->start, v->bit);
    } else {
        snprintf(buf, cap, "%sB%u (%u bytes)", a, v->start, v->size);
    }
}

static int var_fail(plcio_s7_client *c, int rc, const plcio_s7_var *v, const char *why)
{
    char name[80];
    var_name(v, name, sizeof name);
    return s7c_fail(c, rc, "%s: %s", name, why);
}

/* The name is formatted only for an error: this runs for every variable of every request. */
static int check_var(plcio_s7_client *c, const plcio_s7_var *v)
{
    bool known = v->area == PLCIO_S7_AREA_P || v->area == PLCIO_S7_AREA_I || v->area == PLCIO_S7_AREA_Q ||
                 v->area == PLCIO_S7_AREA_M || v->area == PLCIO_S7_AREA_DB || v->area == PLCIO_S7_AREA_DI ||
                 is_ct((uint8_t)v->area) || v->area == PLCIO_S7_AREA_L || v->area == PLCIO_S7_AREA_V;
    if (!known) return s7c_fail(c, PLCIO_EINVAL, "unknown S7 area 0x%02X", (unsigned)v->area);
    if (!v->data || v->size == 0) return var_fail(c, PLCIO_EINVAL, v, "no data or size 0");
    if (v->bit > 7 || (v->bit >= 0 && (v->size != 1 || is_ct((uint8_t)v->area))))
        return var_fail(c, PLCIO_EINVAL, v, "a bit variable is one bit 0..7 of a byte");
    uint64_t end = (uint64_t)v->start + v->size;
    if (end > (is_ct((uint8_t)v->area) ? 0x10000u : PLCIO_S7_MAX_BYTE_ADDRESS + 1u))
        return var_fail(c, PLCIO_ERANGE, v, "beyond the addressable range");
    if ((v->area == PLCIO_S7_AREA_DB || v->area == PLCIO_S7_AREA_DI) && v->db == 0)
        return var_fail(c, PLCIO_EINVAL, v, "DB number 0 does not exist");
    return PLCIO_OK;
}

/* ---- planning ---- */

static int cmp_key(const void *a, const void *b)
{
    const sort_key *x = a, *y = b;
    if (x->area != y->area) return (int)x->area - (int)y->area;
    if (x->db != y->db) return (int)x->db - (int)y->db;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static bool add_pdu(rw_plan *p, size_t first)
{
    pdu_plan *np = reserve(p->pdus, &p->pdus_cap, p->npdus + 1, sizeof *np);
    if (!np) return false;
    p->pdus = np;
    p->pdus[p->npdus].first = first;
    p->pdus[p->npdus].n = 0;
    p->npdus++;
    return true;
}

/* Bytes of the region the next item carries in room bytes of the PDU (0: none). */
static size_t item_take(size_t room, size_t head, size_t left, size_t unit)
{
    size_t take = room - head;
    if (take > left) take = left;
    if (take + (take & 1u) > room - head) take--; /* the pad byte must fit too */
    if (unit == 2) take &= ~(size_t)1;
    if (take > 0xFFFFu) take = 0xFFFEu;
    return take;
}

static void fill_chunk(chunk *ch, const region *g, size_t r, size_t off, size_t take)
{
    ch->region = r;
    ch->offset = off;
    ch->len = take;
    ch->result = PLCIO_EIO;
    ch->code = 0;
    ch->item.area = g->area;
    ch->item.db = g->db;
    ch->item.bit = 0;
    if (g->ct) { /* counters and timers count in 2-byte units */
        ch->item.transport = g->area == PLCIO_S7_AREA_C ? PLCIO_S7_TS_COUNTER : PLCIO_S7_TS_TIMER;
        ch->item.start = g->start + (uint32_t)(off / 2);
        ch->item.count = (uint16_t)(take / 2);
    } else {
        ch->item.transport = PLCIO_S7_TS_BYTE;
        ch->item.start = g->start + (uint32_t)off;
        ch->item.count = (uint16_t)take;
    }
}

/* Cut every region into items and pack them. Budgets per PDU: items <= 20,
 * request <= pdu, answer <= pdu (read: 4 + data + pad per item in the
 * answer; write: 16 + data + pad per item in the request). */
static int pack(rw_plan *p, size_t pdu)
{
    size_t cap = 0;
    for (size_t r = 0; r < p->nregions; r++)
        cap += ((p->regions[r].end - p->regions[r].start) * unit_size(&p->regions[r])) / (pdu / 2) + 2;
    chunk *chunks = reserve(p->chunks, &p->chunks_cap, cap ? cap : 1, sizeof *chunks);
    if (!chunks) return PLCIO_ENOMEM;
    p->chunks = chunks;
    size_t req = 0, rsp = 0, k = 0;
    bool open = false;
    for (size_t r = 0; r < p->nregions; r++) {
        region *g = &p->regions[r];
        size_t us = unit_size(g), total = (g->end - g->start) * us, off = 0;
        while (off < total) {
            size_t room = p->write ? pdu - req : pdu - rsp;
            size_t head = p->write ? PLCIO_S7_ITEM_LEN + PLCIO_S7_DATA_ITEM_HEAD : PLCIO_S7_DATA_ITEM_HEAD;
            size_t left = total - off;
            bool fits_items =
                open && k < PLCIO_S7_MAX_ITEMS && (p->write ? rsp + 1 <= pdu : req + PLCIO_S7_ITEM_LEN <= pdu);
            if (!fits_items || room < head + (left < MIN_SPLIT ? left + (left & 1u) : MIN_SPLIT)) {
                if (!add_pdu(p, p->nchunks)) return PLCIO_ENOMEM;
                /* write and read overheads are the same 12/14 bytes (s7_codec.h) */
                req = PLCIO_S7_READ_REQ_OVERHEAD;
                rsp = PLCIO_S7_READ_RSP_OVERHEAD;
                k = 0;
                open = true;
                continue;
            }
            size_t take = item_take(room, head, left, us);
            if (take == 0) return PLCIO_EINTERNAL;
            fill_chunk(&p->chunks[p->nchunks++], g, r, off, take);
            if (p->write) {
                req += head + take + (take & 1u);
                rsp += 1;
            } else {
                req += PLCIO_S7_ITEM_LEN;
                rsp += head + take + (take & 1u);
            }
            k++;
            p->pdus[p->npdus - 1].n++;
            off += take;
        }
    }
    return PLCIO_OK;
}

/* ---- execution ---- */

static int enc_rw(plcio_s7_client *c, void *ctx, size_t index, s7_out *out, uint16_t ref)
{
    (void)c;
    rw_plan *p = ctx;
    const pdu_plan *pp = &p->pdus[index];
    if (!p->write && pp->n == 1) return s7_read_request_encode(out, ref, &p->chunks[pp->first].item, 1);
    s7_item items[PLCIO_S7_MAX_ITEMS];
    for (size_t i = 0; i < pp->n; i++)
        items[i] = p->chunks[pp->first + i].item;
    if (!p->write) return s7_read_request_encode(out, ref, items, pp->n);
    s7_data_item data[PLCIO_S7_MAX_ITEMS];
    for (size_t i = 0; i < pp->n; i++) {
        const chunk *ch = &p->chunks[pp->first + i];
        data[i].return_code = 0;
        data[i].transport = 0;
        data[i].data = p->regions[ch->region].mem + ch->offset;
        data[i].len = (uint16_t)ch->len;
    }
    return s7_write_request_encode(out, ref, items, data, pp->n);
}

static int dec_rw(plcio_s7_client *c, void *ctx, size_t index, const s7_pdu *pdu)
{
    (void)c;
    rw_plan *p = ctx;
    const pdu_plan *pp = &p->pdus[index];
    chunk *chs = &p->chunks[pp->first];
    int rc;
    if (p->write) {
        uint8_t codes[PLCIO_S7_MAX_ITEMS];
        rc = s7_write_response_decode(pdu, pp->n, codes);
        for (size_t i = 0; rc == PLCIO_OK && i < pp->n; i++) {
            chs[i].code = codes[i];
            chs[i].result = codes[i] == PLCIO_S7_RC_SUCCESS ? PLCIO_OK : PLCIO_EPLC;
        }
    } else {
        s7_item items[PLCIO_S7_MAX_ITEMS];
        s7_data_item out[PLCIO_S7_MAX_ITEMS];
        const s7_item *req = &chs[0].item; /* one item: no copy */
        if (pp->n > 1) {
            for (size_t i = 0; i < pp->n; i++)
                items[i] = chs[i].item;
            req = items;
        }
        rc = s7_read_response_decode(pdu, req, pp->n, out);
        for (size_t i = 0; rc == PLCIO_OK && i < pp->n; i++) {
            chs[i].code = out[i].return_code;
            chs[i].result = out[i].return_code == PLCIO_S7_RC_SUCCESS ? PLCIO_OK : PLCIO_EPLC;
            if (chs[i].result == PLCIO_OK)
                memcpy(p->regions[chs[i].region].mem + chs[i].offset, out[i].data, out[i].len);
        }
    }
    if (rc == PLCIO_EPLC) {
        /* the whole PDU was refused (header error) */
        p->header_error = s7_pdu_error(pdu);
        for (size_t i = 0; i < pp->n; i++) {
            chs[i].result = PLCIO_EPLC;
            chs[i].code = 0;
        }
        return PLCIO_OK;
    }
    return rc;
}

/* Result of var v from the chunks of region r that overlap it. */
static void var_result(const rw_plan *p, size_t r, plcio_s7_var *v, size_t from, size_t len)
{
    v->result = PLCIO_OK;
    v->item_code = PLCIO_S7_RC_SUCCESS;
    for (size_t i = 0; i < p->nchunks; i++) {
        const chunk *ch = &p->chunks[i];
        if (ch->region != r || ch->offset >= from + len || ch->offset + ch->len <= from) continue;
        if (ch->result != PLCIO_OK) {
            v->result = ch->result;
            v->item_code = ch->code;
            return;
        }
    }
}

static int report(plcio_s7_client *c, plcio_s7_var *vars, size_t n, uint16_t header_error, const char *verb)
{
    for (size_t i = 0; i < n; i++) {
        if (vars[i].result == PLCIO_OK) continue;
        char name[80];
        var_name(&vars[i], name, sizeof name);
        uint8_t code = vars[i].item_code;
        if (code == 0 && header_error) {
            c->s7_error = header_error;
            snprintf(c->reason, sizeof c->reason, "%s (S7 error 0x%04X)", plcio_s7_error_text(header_error),
                     header_error);
        } else {
            snprintf(c->reason, sizeof c->reason, "%s", plcio_s7_return_code_text(code));
            if (code == PLCIO_S7_RC_ADDRESS_OUT_OF_RANGE && !c->in_report && !c->in_async &&
                (vars[i].area == PLCIO_S7_AREA_DB || vars[i].area == PLCIO_S7_AREA_DI)) {
                /* tell how large the DB really is, when the PLC says */
                plcio_s7_block_details bd;
                c->in_report = true;
                int brc = plcio_s7_client_block_info(c, "DB", vars[i].db, &bd);
                c->in_report = false;
                if (brc == PLCIO_OK)
                    snprintf(c->reason, sizeof c->reason, "address out of range: DB%u is %u bytes", vars[i].db,
                             bd.mc7_size);
                else
                    snprintf(c->reason, sizeof c->reason, "%s", plcio_s7_return_code_text(code));
            }
        }
        c->item_code = code;
        return s7c_fail(c, vars[i].result, "%s %s: %s", verb, name, c->reason);
    }
    return PLCIO_OK;
}

static int read_plan(plcio_s7_client *c, rw_plan *p, plcio_s7_var *vars, size_t n, size_t *order, size_t *reg_of,
                     bool merge)
{
    (void)c;
    p->nregions = 0;
    sort_key *keys = reserve(p->keys, &p->keys_cap, n, sizeof *keys);
    if (!keys) return PLCIO_ENOMEM;
    p->keys = keys;
    bool sorted = true;
    for (size_t i = 0; i < n; i++) {
        keys[i] = (sort_key){(uint8_t)vars[i].area, vars[i].db, vars[i].start, i};
        if (i && cmp_key(&keys[i - 1], &keys[i]) > 0) sorted = false;
    }
    if (!sorted) qsort(keys, n, sizeof *keys, cmp_key);
    for (size_t i = 0; i < n; i++)
        order[i] = keys[i].index;
    region *regions = reserve(p->regions, &p->regions_cap, n, sizeof *regions);
    if (!regions) return PLCIO_ENOMEM;
    p->regions = regions;
    memset(regions, 0, n * sizeof *regions);
    for (size_t k = 0; k < n; k++) {
        const plcio_s7_var *v = &vars[order[k]];
        uint32_t s = v->start, e = v->start + v->size;
        region *g = p->nregions ? &p->regions[p->nregions - 1] : NULL;
        uint32_t gap = (uint32_t)(is_ct((uint8_t)v->area) ? MERGE_GAP / 2 : MERGE_GAP);
        if (merge && g && g->area == v->area && g->db == v->db && s <= g->end + gap) {
            if (e > g->end) g->end = e;
            g->vars++;
        } else {
            g = &p->regions[p->nregions++];
            g->area = (uint8_t)v->area;
            g->db = v->db;
            g->ct = is_ct((uint8_t)v->area);
            g->start = s;
            g->end = e;
            g->vars = 1;
        }
        reg_of[order[k]] = p->nregions - 1;
    }
    size_t total = 0;
    for (size_t r = 0; r < p->nregions; r++)
        total += (p->regions[r].end - p->regions[r].start) * unit_size(&p->regions[r]);
    uint8_t *scratch = reserve(p->scratch, &p->scratch_cap, total ? total : 1, 1);
    if (!scratch) return PLCIO_ENOMEM;
    p->scratch = scratch;
    total = 0;
    for (size_t r = 0; r < p->nregions; r++) {
        p->regions[r].mem = p->scratch + total;
        total += (p->regions[r].end - p->regions[r].start) * unit_size(&p->regions[r]);
    }
    return PLCIO_OK;
}

/* ---- jobs: prepared when the connection is ready, completed after the run ---- */

typedef struct rw_job {
    bool write;
    plcio_s7_var *vars; /* the caller's (or, in a retry pass, `again`) */
    size_t n;
    bool merge;
    rw_plan p;
    size_t *order, *reg_of;
    size_t order_cap;
    uint8_t *bits;
    size_t bits_cap;
    /* retry pass of a read: failed variables alone, unmerged */
    plcio_s7_var *orig;
    size_t orig_n;
    size_t *again_idx;
    uint16_t herr;
    bool spare; /* the client's own (c->rw_spare): kept, with its buffers, after the request */
    bool busy;  /* spare only: a request uses it now */
    /* the plan plan_one_read left in the buffers, for the same variable read
     * again (a poll); any other plan overwrites them (one_valid false) */
    bool one_valid;
    bool one_direct;
    size_t one_pdu;
    plcio_s7_var one_key;
} rw_job;

static void job_clear_pass(rw_job *j)
{
    plan_reset(&j->p);
    j->reg_of = NULL;
}

static void job_free(rw_job *j)
{
    plan_free(&j->p);
    free(j->order);
    free(j->bits);
    free(j);
}

static void job_destroy(void *vj)
{
    rw_job *j = vj;
    if (!j) return;
    job_clear_pass(j);
    if (j->orig) free(j->vars);
    free(j->again_idx);
    j->orig = NULL;
    j->vars = NULL;
    j->again_idx = NULL;
    if (j->spare)
        j->busy = false;
    else
        job_free(j);
}

void s7c_rw_spare_free(plcio_s7_client *c)
{
    if (c->rw_spare) job_free(c->rw_spare);
    c->rw_spare = NULL;
}

/* A read of one variable that one item of one PDU carries, the usual poll:
 * the plan read_plan and pack make for it, without their sorting, sizing and
 * loops. PLCIO_EAGAIN: not such a read (plan it the general way). */
static int plan_one_read(rw_job *j, size_t pdu)
{
    const plcio_s7_var *v = &j->vars[0];
    rw_plan *p = &j->p;
    /* the answer straight into the variable (written only when the item
     * succeeds, as the copy from scratch was); a bit is picked out of its
     * byte afterwards, and a retry pass copies back into its first pass */
    bool direct = v->bit < 0 && !j->orig;
    const plcio_s7_var *k = &j->one_key;
    if (j->one_valid && j->one_pdu == pdu && j->one_direct == direct && k->area == v->area && k->db == v->db &&
        k->start == v->start && k->size == v->size && k->bit == v->bit) {
        /* the plan of the last pass, as it was made (a pass changes only results) */
        p->regions[0].mem = direct ? v->data : p->scratch;
        p->chunks[0].result = PLCIO_EIO;
        p->chunks[0].code = 0;
        p->nregions = p->nchunks = p->npdus = 1;
        j->reg_of = j->order + 1;
        return PLCIO_OK;
    }
    j->one_valid = false;
    bool ct = is_ct((uint8_t)v->area);
    size_t us = ct ? 2 : 1, total = (size_t)v->size * us;
    size_t room = pdu - PLCIO_S7_READ_RSP_OVERHEAD, head = PLCIO_S7_DATA_ITEM_HEAD;
    /* pack's tests for a fresh PDU (enough room to start an item, all of it taken) */
    if (pdu < PLCIO_S7_READ_REQ_OVERHEAD + PLCIO_S7_ITEM_LEN || pdu < PLCIO_S7_READ_RSP_OVERHEAD ||
        room < head + (total < MIN_SPLIT ? total + (total & 1u) : MIN_SPLIT) ||
        item_take(room, head, total, us) != total)
        return PLCIO_EAGAIN;
    size_t *order = reserve(j->order, &j->order_cap, 2, sizeof *order);
    if (order) j->order = order;
    region *regions = reserve(p->regions, &p->regions_cap, 1, sizeof *regions);
    if (regions) p->regions = regions;
    chunk *chunks = reserve(p->chunks, &p->chunks_cap, 1, sizeof *chunks);
    if (chunks) p->chunks = chunks;
    pdu_plan *pdus = reserve(p->pdus, &p->pdus_cap, 1, sizeof *pdus);
    if (pdus) p->pdus = pdus;
    uint8_t *scratch = direct ? v->data : reserve(p->scratch, &p->scratch_cap, total, 1);
    if (scratch && !direct) p->scratch = scratch;
    if (!order || !regions || !chunks || !pdus || !scratch) return PLCIO_ENOMEM;
    order[0] = 0;
    j->reg_of = order + 1;
    j->reg_of[0] = 0;
    region *g = &regions[0];
    memset(g, 0, sizeof *g);
    g->area = (uint8_t)v->area;
    g->db = v->db;
    g->ct = ct;
    g->start = v->start;
    g->end = v->start + v->size;
    g->vars = 1;
    g->mem = scratch;
    p->nregions = 1;
    fill_chunk(&chunks[0], g, 0, 0, total);
    p->nchunks = 1;
    pdus[0].first = 0;
    pdus[0].n = 1;
    p->npdus = 1;
    j->one_valid = true;
    j->one_direct = direct;
    j->one_pdu = pdu;
    j->one_key = *v;
    return PLCIO_OK;
}

static int job_prepare(plcio_s7_client *c, void *vj)
{
    rw_job *j = vj;
    size_t pdu = plcio_s7_client_pdu_size(c);
    j->p.write = j->write;
    if (!j->write && j->n == 1) {
        int rc = plan_one_read(j, pdu);
        if (rc != PLCIO_EAGAIN) return rc;
    }
    j->one_valid = false; /* the buffers get another plan */
    if (!j->write) {
        if (j->n > SIZE_MAX / 2) return PLCIO_ENOMEM;
        size_t *order = reserve(j->order, &j->order_cap, 2 * j->n, sizeof *order);
        if (!order) return PLCIO_ENOMEM;
        j->order = order;
        j->reg_of = j->order + j->n;
        int rc = read_plan(c, &j->p, j->vars, j->n, j->order, j->reg_of, j->merge);
        return rc ? rc : pack(&j->p, pdu);
    }
    region *regions = reserve(j->p.regions, &j->p.regions_cap, j->n, sizeof *regions);
    if (regions) j->p.regions = regions;
    uint8_t *bits = reserve(j->bits, &j->bits_cap, j->n, 1);
    if (bits) j->bits = bits;
    if (!regions || !bits) return PLCIO_ENOMEM;
    memset(regions, 0, j->n * sizeof *regions);
    for (size_t i = 0; i < j->n; i++) {
        region *g = &j->p.regions[i];
        const plcio_s7_var *v = &j->vars[i];
        g->area = (uint8_t)v->area;
        g->db = v->db;
        g->ct = is_ct(g->area);
        g->start = v->start;
        g->end = v->start + v->size;
        g->vars = 1;
        g->mem = v->data;
        if (v->bit >= 0) {
            j->bits[i] = *(const uint8_t *)v->data ? 1 : 0;
            g->mem = &j->bits[i];
        }
    }
    j->p.nregions = j->n;
    int rc = pack(&j->p, pdu);
    /* bit variables: the bit transport size, so the PLC touches only that bit */
    for (size_t i = 0; rc == PLCIO_OK && i < j->p.nchunks; i++) {
        const plcio_s7_var *v = &j->vars[j->p.chunks[i].region];
        if (v->bit >= 0) {
            j->p.chunks[i].item.transport = PLCIO_S7_TS_BIT;
            j->p.chunks[i].item.bit = (uint8_t)v->bit;
        }
    }
    return rc;
}

static size_t job_count(void *vj) { return ((rw_job *)vj)->p.npdus; }
static void *job_ctx(void *vj) { return &((rw_job *)vj)->p; }

/* After a pass: results into the variables. PLCIO_EAGAIN: a retry pass is
 * needed (prepare and run again); otherwise the final result. */
static int job_complete(plcio_s7_client *c, void *vj, int rc)
{
    rw_job *j = vj;
    if (rc) return rc;
    if (!j->write && j->n == 1 && j->p.nchunks == 1 && !j->orig) {
        /* one variable in one item (plan_one_read): what the loop below does for it */
        plcio_s7_var *v = &j->vars[0];
        const chunk *ch = &j->p.chunks[0];
        const region *g = &j->p.regions[0];
        v->result = ch->result;
        v->item_code = ch->result == PLCIO_OK ? PLCIO_S7_RC_SUCCESS : ch->code;
        if (v->result == PLCIO_OK) {
            if (v->bit >= 0)
                *(uint8_t *)v->data = (uint8_t)((g->mem[0] >> v->bit) & 1u);
            else if (g->mem != v->data)
                memcpy(v->data, g->mem, ch->len);
        }
        if (j->p.header_error) j->herr = j->p.header_error;
        job_clear_pass(j);
        return v->result == PLCIO_OK ? PLCIO_OK : report(c, j->vars, 1, j->herr, "read");
    }
    bool retry = false;
    for (size_t i = 0; i < j->n; i++) {
        plcio_s7_var *v = &j->vars[i];
        if (j->write) {
            region *g = &j->p.regions[i];
            var_result(&j->p, i, v, 0, (g->end - g->start) * unit_size(g));
            continue;
        }
        region *g = &j->p.regions[j->reg_of[i]];
        size_t us = unit_size(g), from = (v->start - g->start) * us, len = v->size * us;
        var_result(&j->p, j->reg_of[i], v, from, len);
        if (v->result == PLCIO_OK) {
            if (v->bit >= 0)
                *(uint8_t *)v->data = (uint8_t)((g->mem[from] >> v->bit) & 1u);
            else if (g->mem + from != v->data)
                memcpy(v->data, g->mem + from, len);
        } else if (g->vars > 1) {
            retry = true; /* a merged item failed: ask for each variable alone */
        }
    }
    if (j->p.header_error) j->herr = j->p.header_error;
    job_clear_pass(j);
    if (retry && j->merge && !j->orig) {
        size_t m = 0;
        for (size_t i = 0; i < j->n; i++)
            m += j->vars[i].result != PLCIO_OK;
        plcio_s7_var *again = malloc(m * sizeof *again);
        j->again_idx = malloc(m * sizeof *j->again_idx);
        if (!again || !j->again_idx) {
            free(again);
            return PLCIO_ENOMEM;
        }
        m = 0;
        for (size_t i = 0; i < j->n; i++)
            if (j->vars[i].result != PLCIO_OK) j->again_idx[m] = i, again[m++] = j->vars[i];
        j->orig = j->vars;
        j->orig_n = j->n;
        j->vars = again;
        j->n = m;
        j->merge = false;
        return PLCIO_EAGAIN;
    }
    if (j->orig) {
        for (size_t i = 0; i < j->n; i++)
            j->orig[j->again_idx[i]] = j->vars[i];
        free(j->vars);
        j->vars = j->orig;
        j->n = j->orig_n;
        j->orig = NULL;
    }
    return report(c, j->vars, j->n, j->herr, j->write ? "write" : "read");
}

static const s7c_job_ops rw_ops = {job_prepare, job_count, job_ctx, enc_rw, dec_rw, job_complete, job_destroy};

static rw_job *job_new(plcio_s7_client *c, plcio_s7_var *vars, size_t n, bool write, int *rc)
{
    *rc = PLCIO_OK;
    if (!c || (!vars && n)) {
        *rc = PLCIO_EINVAL;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        *rc = check_var(c, &vars[i]);
        if (*rc) return NULL;
    }
    /* the client's spare job (and its buffers) when no other request holds it */
    if (!c->rw_spare) {
        c->rw_spare = calloc(1, sizeof *c->rw_spare);
        if (c->rw_spare) c->rw_spare->spare = true;
    }
    rw_job *j = c->rw_spare && !c->rw_spare->busy ? c->rw_spare : calloc(1, sizeof *j);
    if (!j) {
        *rc = PLCIO_ENOMEM;
        return NULL;
    }
    j->busy = j->spare;
    j->orig = NULL;
    j->orig_n = 0;
    j->again_idx = NULL;
    j->herr = 0;
    j->write = write;
    j->vars = vars;
    j->n = n;
    j->merge = !write;
    return j;
}

static int rw_blocking(plcio_s7_client *c, plcio_s7_var *vars, size_t n, bool write)
{
    if (c && n == 0) return PLCIO_OK;
    int rc;
    rw_job *j = job_new(c, vars, n, write, &rc);
    if (!j) return rc;
    rc = s7c_run_job(c, &rw_ops, j);
    job_destroy(j);
    return rc;
}

int plcio_s7_client_read_vars(plcio_s7_client *c, plcio_s7_var *vars, size_t n)
{
    return rw_blocking(c, vars, n, false);
}

int plcio_s7_client_write_vars(plcio_s7_client *c, plcio_s7_var *vars, size_t n)
{
    return rw_blocking(c, vars, n, true);
}

static int rw_async(plcio_s7_client *c, plcio_s7_var *vars, size_t n, bool write, plcio_s7_done_fn done, void *ctx)
{
    if (!c || n == 0) return PLCIO_EINVAL;
    int rc;
    rw_job *j = job_new(c, vars, n, write, &rc);
    if (!j) return rc;
    rc = s7c_async_submit(c, &rw_ops, j, done, ctx);
    if (rc) job_destroy(j);
    return rc;
}

int plcio_s7_client_read_vars_async(plcio_s7_client *c, plcio_s7_var *vars, size_t n, plcio_s7_done_fn done, void *ctx)
{
    return rw_async(c, vars, n, false, done, ctx);
}

int plcio_s7_client_write_vars_async(plcio_s7_client *c, plcio_s7_var *vars, size_t n, plcio_s7_done_fn done, void *ctx)
{
    return rw_async(c, vars, n, true, done, ctx);
}

/* ---- single area / bit ---- */

int plcio_s7_client_read_area(plcio_s7_client *c, plcio_s7_area area, uint16_t db, uint32_t start, uint32_t size,
                              void *buf)
{
    plcio_s7_var v = {area, db, start, size, -1, buf, 0, 0};
    return plcio_s7_client_read_vars(c, &v, 1);
}

int plcio_s7_client_write_area(plcio_s7_client *c, plcio_s7_area area, uint16_t db, uint32_t start, uint32_t size,
                               const void *buf)
{
    /* plcio_s7_var carries a mutable pointer for reads and writes alike; a write only reads it */
    void *data;
    memcpy(&data, &buf, sizeof data);
    plcio_s7_var v = {area, db, start, size, -1, data, 0, 0};
    return plcio_s7_client_write_vars(c, &v, 1);
}

int plcio_s7_client_read_bit(plcio_s7_client *c, plcio_s7_area area, uint16_t db, uint32_t byte, unsigned bit,
                             bool *value)
{
    uint8_t b = 0;
    plcio_s7_var v = {area, db, byte, 1, bit > 7 ? 8 : (int)bit, &b, 0, 0};
    int rc = plcio_s7_client_read_vars(c, &v, 1);
    if (rc == PLCIO_OK && value) *value = b != 0;
    return rc;
}

int plcio_s7_client_write_bit(plcio_s7_client *c, plcio_s7_area area, uint16_t db, uint32_t byte, unsigned bit,
                              bool value)
{
    uint8_t b = value ? 1 : 0;
    plcio_s7_var v = {area, db, byte, 1, bit > 7 ? 8 : (int)bit, &b, 0, 0};
    return plcio_s7_client_write_vars(c, &v, 1);
}

/* ---- typed access ---- */

/* The client's address grammar: a LOGO! client's names and V range, or S7's. */
static int client_parse(const plcio_s7_client *c, const char *address, plcio_s7_address *a, bool *read_only, char *err,
                        size_t cap)
{
    if (read_only) *read_only = false;
    return c->opt.logo ? logo_address_parse_buf(address, c->opt.logo_model, a, read_only, err, cap)
                       : s7_address_parse_buf(address, a, err, cap);
}

int plcio_s7_client_parse_address(const plcio_s7_client *c, const char *address, plcio_s7_address *out, bool *read_only,
                                  plcio_error *err)
{
    error_begin(err);
    if (!c || !address || !out) return error_end(err, PLCIO_EINVAL);
    return error_end(err, client_parse(c, address, out, read_only, ERROR_BUF(err)));
}

static int address_var(plcio_s7_client *c, const char *address, bool for_write, plcio_s7_address *a, plcio_s7_var *v,
                       void *buf, size_t cap)
{
    char err[PLCIO_ADDRESS_ERR_MAX];
    bool read_only = false;
    memset(v, 0, sizeof *v); /* defined on every path, failures included */
    int rc = client_parse(c, address, a, &read_only, err, sizeof err);
    if (rc) return s7c_fail(c, rc, "%s", err);
    if (for_write && read_only)
        return s7c_fail(c, PLCIO_EACCESS, "%s: an input of the LOGO!, read-only (the LOGO! writes it every cycle)",
                        address);
    if (a->count != 1) return s7c_fail(c, PLCIO_EINVAL, "%s: arrays need plcio_s7_client_read_vars", address);
    if (a->size > cap) return s7c_fail(c, PLCIO_ENOSPC, "%s: %u bytes is too large", address, a->size);
    v->area = a->area;
    v->db = a->db;
    v->start = a->offset;
    v->size = is_ct((uint8_t)a->area) ? a->size / 2 : a->size;
    v->bit = -1;
    v->data = buf;
    return PLCIO_OK;
}

int plcio_s7_client_read_value(plcio_s7_client *c, const char *address, plcio_value *out)
{
    if (!c || !address || !out) return PLCIO_EINVAL;
    plcio_s7_address a;
    plcio_s7_var v;
    static const size_t cap = 2 * 16384 + 8;
    uint8_t *buf = malloc(cap);
    if (!buf) return PLCIO_ENOMEM;
    int rc = address_var(c, address, false, &a, &v, buf, cap);
    if (!rc) rc = plcio_s7_client_read_vars(c, &v, 1);
    if (!rc) {
        char err[PLCIO_VALUE_ERR_MAX];
        rc = value_decode_buf(out, a.type, a.length, buf, a.size, a.bit, NULL, err, sizeof err);
        if (rc) s7c_fail(c, rc, "%s: %s", address, err);
    }
    free(buf);
    return rc;
}

int plcio_s7_client_write_value(plcio_s7_client *c, const char *address, const plcio_value *val)
{
    if (!c || !address || !val) return PLCIO_EINVAL;
    plcio_s7_address a;
    plcio_s7_var v;
    static const size_t cap = 2 * 16384 + 8;
    uint8_t *buf = calloc(1, cap);
    if (!buf) return PLCIO_ENOMEM;
    int rc = address_var(c, address, true, &a, &v, buf, cap);
    if (!rc && a.type == PLCIO_TYPE_BOOL) {
        v.bit = a.bit;
        v.size = 1;
        buf[0] = val->v.b ? 1 : 0;
    } else if (!rc) {
        char err[PLCIO_VALUE_ERR_MAX];
        rc = value_encode_buf(val, buf, a.size, 0, NULL, err, sizeof err);
        if (rc) s7c_fail(c, rc, "%s: %s", address, err);
    }
    if (!rc) rc = plcio_s7_client_write_vars(c, &v, 1);
    free(buf);
    return rc;
}

int plcio_s7_client_write_text(plcio_s7_client *c, const char *address, const char *text)
{
    if (!c || !address || !text) return PLCIO_EINVAL;
    plcio_s7_address a;
    /* both limits are 160 today: the larger one, whichever it becomes */
    // NOLINTNEXTLINE(bugprone-branch-clone)
    char err[PLCIO_ADDRESS_ERR_MAX > PLCIO_VALUE_ERR_MAX ? PLCIO_ADDRESS_ERR_MAX : PLCIO_VALUE_ERR_MAX];
    int rc = client_parse(c, address, &a, NULL, err, sizeof err);
    if (rc) return s7c_fail(c, rc, "%s", err);
    plcio_value *v = malloc(sizeof *v);
    if (!v) return PLCIO_ENOMEM;
    plcio_value_init(v, a.type);
    rc = value_from_text_buf(v, a.type, a.length, text, strlen(text), err, sizeof err);
    if (rc)
        rc = s7c_fail(c, rc, "%s=%s: %s", address, text, err);
    else
        rc = plcio_s7_client_write_value(c, address, v);
    free(v);
    return rc;
}
