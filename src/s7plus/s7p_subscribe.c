/* S7CommPlus subscriptions, client side. See s7p_subscribe.h and
 * plcio/s7plus.h ("subscriptions").
 *
 * The wire form (docs/s7plus.md "Subscriptions"): CreateObject on the
 * session of an object of class 1001 with its attributes (name, route mode,
 * active, reference list, cycle time, credit limit); the reference list an
 * address array of UDInt: 0x80000000 | 1 << 16, 0 items removed, n items
 * added, per item 0x8004_0000 | (1 + LIDs), reference (index + 1), 0, access
 * area, symbol CRC, sub-area, LIDs. Credits as in the real capture: each
 * notification carries a credit tick (a byte, wrapping), the PLC stops when
 * it reaches the credit limit, the client moves the limit with a SetVariable
 * of attribute 1053 (Int) on the subscription object that wants no answer. */
#include "s7plus/s7p_subscribe.h"

#include <stdlib.h>
#include <string.h>

typedef struct csub {
    uint32_t id;
    size_t n;
    int credits;   /* the window; -1 unlimited */
    uint8_t limit; /* the credit limit the PLC has */
    bool ack_due;
    bool first_seen;
    plcio_s7plus_notify_fn notify;
    void *ctx;
} csub;

struct csub_set {
    csub *subs;
    size_t n, cap;
    plcio_s7plus_sub_value *values; /* one notification's values */
    uint8_t (*scalars)[8];          /* their bytes for elementary values */
    size_t values_cap;
    plcio_s7plus_sub_stats stats;
};

csub_set *csub_new(void) { return calloc(1, sizeof(csub_set)); }

void csub_free(csub_set *s)
{
    if (!s) return;
    free(s->subs);
    free(s->values);
    free(s->scalars);
    free(s);
}

static csub *find(const csub_set *s, uint32_t id)
{
    for (size_t k = 0; k < s->n; k++)
        if (s->subs[k].id == id) return &s->subs[k];
    return NULL;
}

bool csub_has(const csub_set *s, uint32_t id) { return s && find(s, id) != NULL; }
void csub_clear(csub_set *s)
{
    if (s) s->n = 0;
}
uint64_t csub_delivered(const csub_set *s) { return s ? s->stats.notifications : 0; }
void csub_stats(const csub_set *s, plcio_s7plus_sub_stats *out)
{
    if (s)
        *out = s->stats;
    else
        memset(out, 0, sizeof *out);
}

/* ---- requests -------------------------------------------------------------- */

static void attr(plcio_wcursor *w, uint32_t id, const s7p_value *v)
{
    s7p_elem e;
    memset(&e, 0, sizeof e);
    e.tag = S7P_E_ATTRIBUTE;
    e.attribute_id = id;
    e.value = *v;
    s7p_elem_encode(w, &e);
}

static s7p_value scalar(uint8_t type, uint64_t u)
{
    s7p_value v;
    memset(&v, 0, sizeof v);
    v.type = type;
    v.u = u;
    v.i = (int64_t)u;
    return v;
}

int csub_create_body(uint32_t session, const s7p_address *a, size_t n, const plcio_s7plus_subscription_options *o,
                     uint8_t **out, size_t *len)
{
    size_t words = 3;
    for (size_t k = 0; k < n; k++)
        words += 6 + a[k].nlids;
    uint8_t *list = malloc(words * 5);
    size_t cap = words * 5 + 256;
    uint8_t *body = malloc(cap);
    if (!list || !body) {
        free(list);
        free(body);
        return PLCIO_ENOMEM;
    }
    plcio_wcursor l = plcio_wcursor_make(list, words * 5);
    s7p_put_vlq32(&l, S7P_SUB_REF_CREATE | 1u << 16);
    s7p_put_vlq32(&l, 0);
    s7p_put_vlq32(&l, (uint32_t)n);
    for (size_t k = 0; k < n; k++) {
        s7p_put_vlq32(&l, S7P_SUB_REF_ITEM | (1u + a[k].nlids));
        s7p_put_vlq32(&l, (uint32_t)k + 1);
        s7p_put_vlq32(&l, 0);
        s7p_put_vlq32(&l, a[k].area);
        s7p_put_vlq32(&l, a[k].crc);
        s7p_put_vlq32(&l, a[k].sub_area);
        for (uint32_t i = 0; i < a[k].nlids; i++)
            s7p_put_vlq32(&l, a[k].lids[i]);
    }
    plcio_wcursor w = plcio_wcursor_make(body, cap);
    plcio_wcursor_u32be(&w, session);
    s7p_value zero = s7p_value_udint(0);
    s7p_value_encode(&w, &zero);
    plcio_wcursor_u32be(&w, 0);
    s7p_elem e;
    memset(&e, 0, sizeof e);
    e.tag = S7P_E_START_OBJECT;
    e.relation_id = 0x7FFFC001u; /* as S7CommPlusDriver and python-snap7 name it */
    e.class_id = S7P_ID_CLASS_SUBSCRIPTION;
    s7p_elem_encode(&w, &e);
    s7p_value v = s7p_value_wstring("plcio");
    attr(&w, S7P_ID_OBJECT_VARIABLE_TYPE_NAME, &v);
    v = scalar(S7P_T_USINT, 0);
    attr(&w, S7P_ID_SUB_FUNCTION_CLASS_ID, &v);
    v = scalar(S7P_T_USINT, o->every_cycle ? S7P_SUB_ROUTE_EVERY_CYCLE : S7P_SUB_ROUTE_CHANGES_ONLY);
    attr(&w, S7P_ID_SUB_ROUTE_MODE, &v);
    v = scalar(S7P_T_BOOL, 1);
    attr(&w, S7P_ID_SUB_ACTIVE, &v);
    memset(&v, 0, sizeof v);
    v.flags = S7P_F_ADDR_ARRAY;
    v.type = S7P_T_UDINT;
    v.count = (uint32_t)words;
    v.data = list;
    v.size = plcio_wcursor_used(&l);
    attr(&w, S7P_ID_SUB_REFERENCE_LIST, &v);
    v = s7p_value_udint(o->cycle_ms);
    attr(&w, S7P_ID_SUB_CYCLE_TIME, &v);
    memset(&v, 0, sizeof v);
    v.type = S7P_T_INT;
    v.i = o->credits < 0 ? -1 : o->credits;
    v.u = (uint64_t)(uint16_t)(int16_t)v.i;
    attr(&w, S7P_ID_SUB_CREDIT_LIMIT, &v);
    e.tag = S7P_E_END_OBJECT;
    s7p_elem_encode(&w, &e);
    free(list);
    if (w.overrun || l.overrun) {
        free(body);
        return PLCIO_EINTERNAL;
    }
    *out = body;
    *len = plcio_wcursor_used(&w);
    return PLCIO_OK;
}

int csub_add(csub_set *s, uint32_t id, size_t n, const plcio_s7plus_subscription_options *o)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4;
        csub *p = realloc(s->subs, cap * sizeof *p);
        if (!p) return PLCIO_ENOMEM;
        s->subs = p;
        s->cap = cap;
    }
    if (n > s->values_cap) {
        plcio_s7plus_sub_value *v = realloc(s->values, n * sizeof *v);
        if (!v) return PLCIO_ENOMEM;
        s->values = v;
        uint8_t(*b)[8] = realloc(s->scalars, n * sizeof *b);
        if (!b) return PLCIO_ENOMEM;
        s->scalars = b;
        s->values_cap = n;
    }
    csub *u = &s->subs[s->n++];
    memset(u, 0, sizeof *u);
    u->id = id;
    u->n = n;
    u->credits = o->credits;
    u->limit = (uint8_t)(o->credits < 0 ? 0 : o->credits);
    u->notify = o->notify;
    u->ctx = o->ctx;
    return PLCIO_OK;
}

bool csub_remove(csub_set *s, uint32_t id)
{
    csub *u = s ? find(s, id) : NULL;
    if (!u) return false;
    size_t k = (size_t)(u - s->subs);
    memmove(&s->subs[k], &s->subs[k + 1], (s->n - k - 1) * sizeof *u);
    s->n--;
    return true;
}

/* SetVariable on the subscription: attribute 1053 := limit (Int), with the
 * object qualifier the capture's client sends; no tail (the session adds it). */
static int ack_body(uint32_t id, uint8_t limit, uint8_t *out, size_t cap, size_t *len)
{
    static const uint8_t qualifier_attrs[] = {0x89, 0x69, 0x00, 0x12, 0, 0, 0, 0, 0x89, 0x6a, 0x00, 0x13, 0x00};
    s7p_setvar_req r; /* about 4 KiB */
    memset(&r, 0, sizeof r);
    r.object_id = id;
    r.n = 1;
    r.address[0] = S7P_ID_SUB_CREDIT_LIMIT;
    r.values[0].type = S7P_T_INT;
    r.values[0].i = limit;
    r.values[0].u = limit;
    r.q.present = true;
    r.q.attrs.data = qualifier_attrs;
    r.q.attrs.size = sizeof qualifier_attrs;
    r.q.attrs.count = 2;
    r.tail.no_fill = true;
    plcio_wcursor w = plcio_wcursor_make(out, cap);
    int rc = s7p_setvar_req_encode(&w, &r);
    if (rc) return rc;
    if (w.overrun) return PLCIO_EINTERNAL;
    *len = plcio_wcursor_used(&w);
    return PLCIO_OK;
}

int csub_send_acks(csub_set *s, s7p_session *ses, uint64_t now)
{
    if (!s) return PLCIO_OK;
    for (size_t k = 0; k < s->n; k++) {
        csub *u = &s->subs[k];
        if (!u->ack_due) continue;
        uint8_t body[64];
        size_t len = 0;
        int rc = ack_body(u->id, u->limit, body, sizeof body, &len);
        if (!rc) rc = s7p_session_send_oneway(ses, S7P_FN_SET_VARIABLE, body, len, now);
        if (rc == PLCIO_ESTATE) return PLCIO_OK; /* not now: next time */
        if (rc) return rc;
        u->ack_due = false;
        s->stats.acks++;
    }
    return PLCIO_OK;
}

/* ---- notifications ------------------------------------------------------------ */

int csub_value_bytes(const s7p_value *v, uint8_t out[8], const uint8_t **data, size_t *size)
{
    if (v->flags & (S7P_F_ARRAY | S7P_F_ADDR_ARRAY | S7P_F_SPARSE)) return PLCIO_EUNSUPPORTED;
    size_t n;
    switch (v->type) {
    case S7P_T_BLOB:
    case S7P_T_WSTRING:
        *data = v->data;
        *size = v->size;
        return PLCIO_OK;
    case S7P_T_BOOL:
        out[0] = v->u ? 1 : 0;
        *data = out;
        *size = 1;
        return PLCIO_OK;
    case S7P_T_USINT:
    case S7P_T_SINT:
    case S7P_T_BYTE: n = 1; break;
    case S7P_T_UINT:
    case S7P_T_INT:
    case S7P_T_WORD: n = 2; break;
    case S7P_T_UDINT:
    case S7P_T_DINT:
    case S7P_T_DWORD:
    case S7P_T_REAL:
    case S7P_T_RID:
    case S7P_T_AID: n = 4; break;
    case S7P_T_ULINT:
    case S7P_T_LINT:
    case S7P_T_LWORD:
    case S7P_T_LREAL:
    case S7P_T_TIMESTAMP:
    case S7P_T_TIMESPAN: n = 8; break;
    default: return PLCIO_EUNSUPPORTED;
    }
    uint64_t x = v->u;
    for (size_t k = 0; k < n; k++)
        out[k] = (uint8_t)(x >> (8 * (n - 1 - k)));
    *data = out;
    *size = n;
    return PLCIO_OK;
}

int csub_on_notification(csub_set *s, plcio_s7plus_client *c, const uint8_t *body, size_t len)
{
    plcio_rcursor rd = plcio_rcursor_make(body, len);
    s7p_notification head;
    int rc = s7p_notif_head_decode(&rd, &head);
    if (rc) return rc < 0 ? rc : PLCIO_EPROTO;
    csub *u = s ? find(s, head.subscription) : NULL;
    if (!u) { /* e.g. one sent before our DeleteObject arrived */
        if (s) s->stats.unknown++;
        return PLCIO_OK;
    }
    size_t n = 0;
    for (;;) {
        uint8_t code = 0;
        uint32_t ref = 0;
        s7p_value v;
        rc = s7p_notif_item_next(&rd, &code, &ref, &v, 0);
        if (rc < 0) return rc;
        if (rc == 0) break;
        if (ref == 0 || ref > u->n || n >= u->n) return PLCIO_EPROTO; /* an item we never asked for */
        plcio_s7plus_sub_value *x = &s->values[n];
        memset(x, 0, sizeof *x);
        x->item = ref - 1;
        x->pvalue_type = v.type;
        if (code == S7P_NOTIF_ERROR_03 || code == S7P_NOTIF_ERROR_13) {
            x->result = PLCIO_EPLC;
            x->error = code;
        } else {
            x->result = csub_value_bytes(&v, s->scalars[n], &x->data, &x->size);
        }
        n++;
    }
    s7p_tail tail;
    if ((rc = s7p_tail_decode(&rd, &tail))) return rc;
    /* the credit window: move the limit on when half of it is used */
    if (u->credits > 0) {
        uint8_t left = (uint8_t)(u->limit - head.credit_tick);
        if (left <= u->credits / 2) {
            u->limit = (uint8_t)(head.credit_tick + u->credits);
            u->ack_due = true;
        }
    }
    plcio_s7plus_notification note;
    memset(&note, 0, sizeof note);
    note.subscription = head.subscription;
    note.seq = head.seq;
    note.credit_tick = head.credit_tick;
    note.first = !u->first_seen;
    note.n = n;
    note.values = s->values;
    u->first_seen = true;
    s->stats.notifications++;
    s->stats.values += n;
    if (u->notify) u->notify(u->ctx, c, &note);
    return PLCIO_OK;
}
