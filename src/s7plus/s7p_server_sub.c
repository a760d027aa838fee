/* S7CommPlus subscriptions, simulator side. See s7p_server_sub.h. */
#include "s7plus/s7p_server_sub.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#define MOD "s7plus-srv"

typedef struct sub_item {
    uint32_t ref; /* the client's item reference, echoed in notifications */
    s7p_address a;
    bool have; /* last holds what the client has been sent */
    bool err;  /* that was an addressing error */
    uint8_t *last;
    size_t last_len;
} sub_item;

typedef struct sub {
    uint32_t id;
    uint8_t version; /* frame version of the notifications */
    uint32_t cycle_ms;
    uint8_t route;
    int32_t credit_limit; /* -1 unlimited, 0 none, else the tick at which sending stops (mod 256) */
    uint8_t tick;
    uint32_t seq;
    uint64_t next_due; /* 0: set on the next tick */
    size_t n;
    sub_item *items;
} sub;

struct srvsub {
    sub subs[SRVSUB_MAX_SUBS];
    size_t nsubs;
    size_t nitems;
    uint32_t next_id;
    uint8_t *buf; /* one item's raw value */
    uint8_t *enc; /* one item's encoded value */
    uint8_t *pdu;
    size_t pdu_cap;
};

srvsub *srvsub_new(void)
{
    srvsub *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->buf = malloc(SRVSUB_MAX_ITEM_SIZE);
    s->enc = malloc(SRVSUB_MAX_ITEM_SIZE + 32);
    if (!s->buf || !s->enc) {
        srvsub_free(s);
        return NULL;
    }
    s->next_id = 0x72000001u; /* the capture's was 0x70000e51; the simulator's sessions count from 0x70000100 */
    return s;
}

static void sub_clear(sub *u)
{
    for (size_t k = 0; k < u->n; k++)
        free(u->items[k].last);
    free(u->items);
    memset(u, 0, sizeof *u);
}

void srvsub_free(srvsub *s)
{
    if (!s) return;
    for (size_t k = 0; k < s->nsubs; k++)
        sub_clear(&s->subs[k]);
    free(s->buf);
    free(s->enc);
    free(s->pdu);
    free(s);
}

size_t srvsub_count(const srvsub *s) { return s ? s->nsubs : 0; }

static sub *find(srvsub *s, uint32_t id)
{
    for (size_t k = 0; k < s->nsubs; k++)
        if (s->subs[k].id == id) return &s->subs[k];
    return NULL;
}

/* ---- the reference list ---------------------------------------------------
 * A real client's (S7CommPlusDriver's reading of TIA Portal's): an address
 * array of UDInt: 0x80000000 | counter << 16, items to remove, items to add,
 * then per item: 0x8004_0000 | (1 + LIDs), reference, 0, access area, symbol
 * CRC, sub-area, LIDs. python-snap7's: a plain array of DB access areas
 * (no member address: each such item is answered as an addressing error). */

static int words_of(const s7p_value *v, uint32_t **out, size_t *n)
{
    if (v->type != S7P_T_UDINT || !(v->flags & (S7P_F_ARRAY | S7P_F_ADDR_ARRAY))) return PLCIO_EPROTO;
    if (v->count > 4 + (size_t)SRVSUB_MAX_ITEMS * (6 + S7P_MAX_LIDS)) return PLCIO_ELIMIT;
    uint32_t *w = malloc(((size_t)v->count + 1) * sizeof *w);
    if (!w) return PLCIO_ENOMEM;
    s7p_elems it;
    s7p_elems_begin(&it, v);
    size_t k = 0;
    uint32_t key;
    s7p_value e;
    int rc;
    while ((rc = s7p_elems_next(&it, &key, &e)) == 1 && k < v->count)
        w[k++] = (uint32_t)e.u;
    if (rc < 0) {
        free(w);
        return rc;
    }
    *out = w;
    *n = k;
    return PLCIO_OK;
}

static int items_of(const uint32_t *w, size_t n, sub_item **out, size_t *count)
{
    sub_item *items = NULL;
    size_t ni = 0;
    if (n >= 3 && (w[0] & 0x80000000u)) {
        uint32_t nsub = w[2];
        if (w[1] != 0) return PLCIO_EUNSUPPORTED; /* removing items from a new subscription */
        if (nsub == 0 || nsub > SRVSUB_MAX_ITEMS) return nsub ? PLCIO_ELIMIT : PLCIO_EPROTO;
        items = calloc(nsub, sizeof *items);
        if (!items) return PLCIO_ENOMEM;
        size_t pos = 3;
        for (; ni < nsub; ni++) {
            if (pos + 6 > n) break;
            uint32_t fields = w[pos] & 0xFFFFu;
            if ((w[pos] & 0xFFFF0000u) != S7P_SUB_REF_ITEM || fields < 1 || fields > 1 + S7P_MAX_LIDS ||
                pos + 5 + fields > n)
                break;
            sub_item *it = &items[ni];
            it->ref = w[pos + 1];
            it->a.area = w[pos + 3];
            it->a.crc = w[pos + 4];
            it->a.sub_area = w[pos + 5];
            it->a.nlids = fields - 1;
            for (uint32_t l = 0; l + 1 < fields; l++)
                it->a.lids[l] = w[pos + 6 + l];
            pos += 5 + fields;
        }
        if (ni != nsub || pos != n) {
            free(items);
            return PLCIO_EPROTO;
        }
    } else {
        if (n == 0 || n > SRVSUB_MAX_ITEMS) {
            return n ? PLCIO_ELIMIT : PLCIO_EPROTO;
        }
        items = calloc(n, sizeof *items);
        if (!items) return PLCIO_ENOMEM;
        for (; ni < n; ni++) {
            items[ni].ref = (uint32_t)ni + 1;
            items[ni].a.area = w[ni];
        }
    }
    *out = items;
    *count = ni;
    return PLCIO_OK;
}

/* ---- PDUs ------------------------------------------------------------------ */

static int pdu_room(srvsub *s, size_t need)
{
    if (need <= s->pdu_cap) return PLCIO_OK;
    size_t cap = s->pdu_cap ? s->pdu_cap : 4096;
    while (cap < need)
        cap *= 2;
    uint8_t *p = realloc(s->pdu, cap);
    if (!p) return PLCIO_ENOMEM;
    s->pdu = p;
    s->pdu_cap = cap;
    return PLCIO_OK;
}

static int answer_create(srvsub *s, const srvsub_host *h, uint8_t version, const s7p_header *hd, uint64_t ret,
                         uint32_t id)
{
    int rc = pdu_room(s, 128);
    if (rc) return rc;
    plcio_wcursor w = plcio_wcursor_make(s->pdu, s->pdu_cap);
    s7p_header a;
    memset(&a, 0, sizeof a);
    a.opcode = S7P_OP_RESPONSE;
    a.function = hd->function;
    a.seq = hd->seq;
    s7p_header_encode(&w, &a);
    s7p_put_vlq64(&w, ret);
    plcio_wcursor_u8(&w, ret ? 0 : 1);
    if (!ret) s7p_put_vlq32(&w, id);
    s7p_elem e;
    memset(&e, 0, sizeof e);
    e.tag = S7P_E_START_OBJECT;
    e.relation_id = id;
    e.class_id = S7P_ID_CLASS_SUBSCRIPTION;
    s7p_elem_encode(&w, &e);
    e.tag = S7P_E_END_OBJECT;
    s7p_elem_encode(&w, &e);
    plcio_wcursor_u32be(&w, 0);
    return w.overrun ? PLCIO_EINTERNAL : h->send(h->ctx, version, s->pdu, plcio_wcursor_used(&w));
}

/* One notification of the items that changed (all with `all`); *sent false
 * when there was nothing to say and the route mode says so. */
static int notify(srvsub *s, const srvsub_host *h, sub *u, bool all, bool *sent)
{
    *sent = false;
    size_t used = 0;
    int rc = pdu_room(s, 64);
    if (rc) return rc;
    plcio_wcursor w = plcio_wcursor_make(s->pdu, s->pdu_cap);
    plcio_wcursor_u8(&w, S7P_OP_NOTIFICATION);
    plcio_wcursor_u32be(&w, u->id);
    plcio_wcursor_u16be(&w, 0x0400); /* as in the capture */
    plcio_wcursor_u16be(&w, 0);
    plcio_wcursor_u16be(&w, 0);
    uint8_t tick = u->credit_limit < 0 ? 0 : (uint8_t)(u->tick + 1);
    plcio_wcursor_u8(&w, tick);
    s7p_put_vlq32(&w, u->seq + 1);
    plcio_wcursor_u8(&w, 1); /* subscription change counter (non-zero: no timestamp follows) */
    used = plcio_wcursor_used(&w);
    size_t changed = 0;
    for (size_t k = 0; k < u->n; k++) {
        sub_item *it = &u->items[k];
        s7p_value v;
        unsigned dialect = 0;
        size_t elen = 0;
        bool err = h->read(h->ctx, &it->a, s->buf, SRVSUB_MAX_ITEM_SIZE, &v, &dialect) != PLCIO_OK;
        if (!err) {
            plcio_wcursor e = plcio_wcursor_make(s->enc, SRVSUB_MAX_ITEM_SIZE + 32);
            err = s7p_value_encode_ex(&e, &v, dialect) != PLCIO_OK || e.overrun;
            elen = plcio_wcursor_used(&e);
        }
        bool same = it->have && it->err == err && (err || (it->last_len == elen && !memcmp(it->last, s->enc, elen)));
        if (same && !all) continue;
        if (!err && (!it->last || it->last_len != elen)) {
            uint8_t *p = realloc(it->last, elen ? elen : 1);
            if (!p) return PLCIO_ENOMEM;
            it->last = p;
        }
        if (!err) memcpy(it->last, s->enc, elen);
        it->last_len = err ? 0 : elen;
        it->err = err;
        it->have = true;
        if ((rc = pdu_room(s, used + 16 + elen))) return rc;
        s->pdu[used] = err ? S7P_NOTIF_ERROR_13 : S7P_NOTIF_VALUE_U32REF;
        plcio_put_u32be(s->pdu + used + 1, it->ref);
        used += 5;
        if (!err) {
            memcpy(s->pdu + used, s->enc, elen);
            used += elen;
        }
        changed++;
    }
    if (!changed && !all && u->route == S7P_SUB_ROUTE_CHANGES_ONLY) return PLCIO_OK;
    if ((rc = pdu_room(s, used + 8))) return rc;
    s->pdu[used++] = 0; /* end of the items */
    plcio_put_u32be(s->pdu + used, 0);
    used += 4;
    if (u->credit_limit >= 0) u->tick = tick;
    u->seq++;
    *sent = true;
    return h->send(h->ctx, u->version, s->pdu, used);
}

static bool may_send(const sub *u)
{
    /* modulo 256 like the tick: a limit of 0 at creation sends nothing, later
     * it is the tick after 255 */
    return u->credit_limit < 0 || u->tick != (uint8_t)u->credit_limit;
}

/* ---- requests --------------------------------------------------------------- */

typedef struct create_args {
    uint32_t cycle_ms;
    uint8_t route;
    int32_t credit;
    bool active;
    uint32_t *words;
    size_t nwords;
} create_args;

static int parse_object(const uint8_t *obj, size_t len, create_args *a)
{
    plcio_rcursor c = plcio_rcursor_make(obj, len);
    s7p_elem e;
    int rc = s7p_elem_decode(&c, &e);
    if (rc) return rc;
    if (e.tag != S7P_E_START_OBJECT || e.class_id != S7P_ID_CLASS_SUBSCRIPTION) return 1;
    a->credit = -1;
    a->active = true;
    unsigned depth = 1;
    while (depth > 0) {
        if ((rc = s7p_elem_decode(&c, &e))) return rc;
        if (e.tag == S7P_E_START_OBJECT) depth++;
        if (e.tag == S7P_E_END_OBJECT) depth--;
        if (e.tag != S7P_E_ATTRIBUTE || depth != 1) continue;
        switch (e.attribute_id) {
        case S7P_ID_SUB_CYCLE_TIME: a->cycle_ms = (uint32_t)e.value.u; break;
        case S7P_ID_SUB_ROUTE_MODE: a->route = (uint8_t)e.value.u; break;
        case S7P_ID_SUB_ACTIVE: a->active = e.value.u != 0; break;
        case S7P_ID_SUB_CREDIT_LIMIT:
            if (e.value.type != S7P_T_INT || e.value.i < -1 || e.value.i > 0x7FFF) return PLCIO_EPROTO;
            a->credit = (int32_t)e.value.i;
            break;
        case S7P_ID_SUB_REFERENCE_LIST:
            free(a->words);
            a->words = NULL;
            if ((rc = words_of(&e.value, &a->words, &a->nwords))) return rc;
            break;
        default: break;
        }
    }
    return a->words ? PLCIO_OK : PLCIO_EPROTO;
}

int srvsub_create(srvsub *s, const srvsub_host *h, uint8_t version, const s7p_header *hd, const uint8_t *body,
                  size_t len)
{
    /* request id, a value, u32, then the object: is it a subscription? */
    plcio_rcursor c = plcio_rcursor_make(body, len);
    s7p_value rv;
    s7p_elem e;
    if (plcio_rcursor_left(&c) < 4) return 1;
    plcio_rcursor_u32be(&c);
    if (s7p_value_decode(&c, &rv) || plcio_rcursor_left(&c) < 4) return 1;
    plcio_rcursor_u32be(&c);
    plcio_rcursor first = c;
    if (s7p_elem_decode(&first, &e) || e.tag != S7P_E_START_OBJECT || e.class_id != S7P_ID_CLASS_SUBSCRIPTION) return 1;
    const uint8_t *obj = NULL;
    size_t olen = 0;
    create_args a;
    memset(&a, 0, sizeof a);
    int rc = s7p_object_span(&c, &obj, &olen);
    if (!rc) rc = parse_object(obj, olen, &a);
    sub_item *items = NULL;
    size_t n = 0;
    if (!rc) rc = items_of(a.words, a.nwords, &items, &n);
    free(a.words);
    if (rc) {
        log_msg(h->logger, PLCIO_LOG_INFO, MOD, "client %u: subscription refused: %s", h->client, plcio_strerror(rc));
        return answer_create(s, h, version, hd, rc == PLCIO_ELIMIT ? SRVSUB_ERR_LIMIT : SRVSUB_ERR_INVALID, 0);
    }
    if (s->nsubs >= SRVSUB_MAX_SUBS || s->nitems + n > SRVSUB_MAX_ITEMS) {
        free(items);
        log_msg(h->logger, PLCIO_LOG_INFO, MOD,
                "client %u: subscription refused: more than %u subscriptions or %u items", h->client, SRVSUB_MAX_SUBS,
                SRVSUB_MAX_ITEMS);
        return answer_create(s, h, version, hd, SRVSUB_ERR_LIMIT, 0);
    }
    sub *u = &s->subs[s->nsubs++];
    memset(u, 0, sizeof *u);
    u->id = s->next_id++;
    u->version = version;
    u->cycle_ms = a.cycle_ms < SRVSUB_MIN_CYCLE_MS ? SRVSUB_MIN_CYCLE_MS : a.cycle_ms;
    u->route = a.route;
    u->credit_limit = a.active ? a.credit : 0;
    u->items = items;
    u->n = n;
    s->nitems += n;
    log_msg(h->logger, PLCIO_LOG_DEBUG, MOD, "client %u: subscription 0x%08x, %zu items, cycle %u ms, credit %d",
            h->client, u->id, n, u->cycle_ms, (int)u->credit_limit);
    if ((rc = answer_create(s, h, version, hd, 0, u->id))) return rc;
    if (!may_send(u)) return PLCIO_OK;
    bool sent;
    return notify(s, h, u, true, &sent);
}

bool srvsub_delete(srvsub *s, uint32_t id)
{
    sub *u = find(s, id);
    if (!u) return false;
    s->nitems -= u->n;
    sub_clear(u);
    size_t k = (size_t)(u - s->subs);
    memmove(&s->subs[k], &s->subs[k + 1], (s->nsubs - k - 1) * sizeof *u);
    s->nsubs--;
    return true;
}

int srvsub_setvar(srvsub *s, const uint8_t *body, size_t len, uint64_t *ret)
{
    plcio_rcursor c = plcio_rcursor_make(body, len);
    if (plcio_rcursor_left(&c) < 4) return 0;
    sub *u = find(s, plcio_rcursor_u32be(&c));
    if (!u) return 0;
    uint32_t n = 0;
    uint32_t addr[4];
    *ret = SRVSUB_ERR_INVALID;
    if (s7p_get_vlq32(&c, &n) || n == 0 || n > 4) return 1;
    for (uint32_t k = 0; k < n; k++)
        if (s7p_get_vlq32(&c, &addr[k])) return 1;
    for (uint32_t k = 0; k < n; k++) {
        s7p_value v;
        if (s7p_value_decode(&c, &v)) return 1;
        if (addr[k] != S7P_ID_SUB_CREDIT_LIMIT || v.type != S7P_T_INT || v.i < -1 || v.i > 0x7FFF) return 1;
        u->credit_limit = (int32_t)v.i;
    }
    *ret = 0;
    return 1;
}

int srvsub_tick(srvsub *s, const srvsub_host *h, uint64_t now)
{
    for (size_t k = 0; k < s->nsubs; k++) {
        sub *u = &s->subs[k];
        if (u->next_due && now < u->next_due) continue;
        uint64_t cycle = (uint64_t)u->cycle_ms * 1000000u;
        /* the next cycle on the grid, never a burst after a stall */
        u->next_due = u->next_due && now - u->next_due < cycle ? u->next_due + cycle : now + cycle;
        if (!may_send(u)) continue;
        bool sent;
        int rc = notify(s, h, u, false, &sent);
        if (rc) return rc;
    }
    return PLCIO_OK;
}
