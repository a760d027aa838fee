/* S7CommPlus symbolic access to optimized DBs (client side): browse of the
 * PLC's type information into layouts, symbol resolution with a per-client
 * cache, typed multi-item reads and writes by LID chain. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "layout/layout_internal.h"
#include "plcio/s7plus.h"
#include "plcio/value.h"
#include "s7plus/s7p_codec.h"
#include "s7plus/s7p_session.h"
#include "s7plus/s7p_sym.h"

typedef struct db_info {
    char name[128];
    unsigned number;
} db_info;

typedef struct batch batch;

typedef struct cache_entry {
    unsigned number;
    plcio_layout_set *set; /* one optimized DB */
} cache_entry;

struct s7p_symcache {
    cache_entry *v;
    size_t n;
    batch *b;               /* symbolic reads/writes: the batch under way */
    plcio_s7plus_tag *tags; /* the PLC's tag table, once browsed */
    size_t ntags;
    bool tags_loaded;
};

void s7p_symcache_free(s7p_symcache *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n; i++)
        plcio_layout_set_free(s->v[i].set);
    free(s->v);
    free(s->b);
    free(s->tags);
    free(s);
}

void plcio_s7plus_client_forget(plcio_s7plus_client *c)
{
    if (!c) return;
    s7p_symcache *cache = *s7p_cl_cache(c);
    if (!cache) return;
    for (size_t i = 0; i < cache->n; i++)
        plcio_layout_set_free(cache->v[i].set);
    free(cache->v);
    cache->v = NULL;
    cache->n = 0;
    free(cache->tags);
    cache->tags = NULL;
    cache->ntags = 0;
    cache->tags_loaded = false;
}

static int fail(plcio_s7plus_client *c, int rc, const char *fmt, ...) PLCIO_PRINTF(3, 4);
static int fail(plcio_s7plus_client *c, int rc, const char *fmt, ...)
{
    char text[sizeof(((plcio_error *)0)->text)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return s7p_cl_fail(c, rc, text);
}

/* Explore of thePLCProgram: the DBs with names and numbers. */
static int list_named(plcio_s7plus_client *c, db_info **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    static const uint32_t attrs[] = {S7P_ID_OBJECT_VARIABLE_TYPE_NAME, S7P_ID_BLOCK_NUMBER};
    plcio_rcursor rd;
    int rc = s7p_cl_explore(c, S7P_ID_NATIVE_THE_PLC_PROGRAM, attrs, 2, "Explore", &rd);
    if (rc) return rc;
    db_info *v = NULL;
    size_t n = 0, cap = 0;
    int depth = 0, db_depth = -1;
    db_info cur;
    while (plcio_rcursor_left(&rd) > 4) {
        s7p_elem e;
        if ((rc = s7p_elem_decode(&rd, &e))) {
            free(v);
            return fail(c, rc, "s7plus: malformed object in the Explore answer (%s)", plcio_strerror(rc));
        }
        if (e.tag == S7P_E_START_OBJECT) {
            depth++;
            if (e.class_id == S7P_ID_DB_CLASS && (e.relation_id >> 16) == (S7P_ID_DB_ACCESS_AREA_BASE >> 16)) {
                db_depth = depth;
                memset(&cur, 0, sizeof cur);
                cur.number = e.relation_id & 0xFFFF;
            }
        } else if (e.tag == S7P_E_END_OBJECT) {
            if (depth == 0) {
                free(v);
                return fail(c, PLCIO_EPROTO, "s7plus: Explore answer ends an object never started");
            }
            if (depth == db_depth) {
                if (!cur.name[0]) snprintf(cur.name, sizeof cur.name, "DB%u", cur.number);
                if (n == cap) {
                    cap = cap ? cap * 2 : 32;
                    db_info *nv = realloc(v, cap * sizeof *nv);
                    if (!nv) {
                        free(v);
                        return fail(c, PLCIO_ENOMEM, "s7plus: out of memory");
                    }
                    v = nv;
                }
                v[n++] = cur;
                db_depth = -1;
            }
            depth--;
        } else if (e.tag == S7P_E_ATTRIBUTE && depth == db_depth &&
                   e.attribute_id == S7P_ID_OBJECT_VARIABLE_TYPE_NAME && e.value.type == S7P_T_WSTRING &&
                   !e.value.flags) {
            size_t l = e.value.size < sizeof cur.name - 1 ? e.value.size : sizeof cur.name - 1;
            memcpy(cur.name, e.value.data, l);
            cur.name[l] = '\0';
        }
    }
    *out = v;
    *count = n;
    return PLCIO_OK;
}

/* "Line", "\"Line\"", "DB5" (its number), case-insensitive */
static bool db_matches(const db_info *d, const char *want, size_t len)
{
    if (len >= 2 && want[0] == '"' && want[len - 1] == '"') {
        want++;
        len -= 2;
    } else if (len > 2 && strncasecmp(want, "DB", 2) == 0) {
        bool digits = true;
        for (size_t k = 2; k < len; k++)
            digits = digits && isdigit((unsigned char)want[k]);
        if (digits && strtoul(want + 2, NULL, 10) == d->number) return true;
    }
    return strlen(d->name) == len && strncasecmp(d->name, want, len) == 0;
}

static void address_init(s7p_address *a, unsigned db)
{
    memset(a, 0, sizeof *a);
    a->area = S7P_ID_DB_ACCESS_AREA_BASE + (db & 0xFFFF);
    a->sub_area = S7P_ID_DB_VALUE_ACTUAL;
}

/* A Get/SetMultiVariables body of r into the client's body. */
static int encode_req(plcio_s7plus_client *c, s7p_multi_req *r, bool write, size_t *len)
{
    size_t need = 512 + (size_t)r->nitems * 96;
    for (uint32_t k = 0; k < r->nvalues; k++)
        need += r->values[k].size + 16;
    uint8_t *body = s7p_cl_body(c, need);
    if (!body) return fail(c, PLCIO_ENOMEM, "s7plus: out of memory");
    size_t qlen;
    r->with_values = write;
    r->q.present = true;
    r->q.pad_before = !write;
    r->q.attrs.data = s7p_cl_qualifier(&qlen);
    r->q.attrs.size = qlen;
    r->q.attrs.count = 3;
    r->tail.no_fill = true;
    plcio_wcursor w = plcio_wcursor_make(body, need);
    int rc = s7p_multi_req_encode(&w, r);
    if (rc) return fail(c, rc, "s7plus: cannot encode the request: %s", plcio_strerror(rc));
    *len = plcio_wcursor_used(&w);
    return PLCIO_OK;
}

static int decode_res(plcio_s7plus_client *c, const s7p_pdu *p, bool write, s7p_multi_res *res)
{
    plcio_rcursor rd = plcio_rcursor_make(p->body, p->body_len);
    int rc = s7p_multi_res_decode(&rd, write ? 0 : S7P_WITH_VALUES, res);
    if (rc) return fail(c, rc, "s7plus: malformed answer from the PLC (%s)", plcio_strerror(rc));
    if (res->ret) {
        s7p_cl_plc_error(c, res->ret);
        return fail(c, PLCIO_EPLC, "s7plus: the PLC refused the request (return value 0x%llx)",
                    (unsigned long long)res->ret);
    }
    return PLCIO_OK;
}

/* One Get/SetMultiVariables of items with their addresses (and values); the answer in *res. */
static int multi(plcio_s7plus_client *c, s7p_multi_req *r, bool write, s7p_multi_res *res)
{
    size_t len = 0;
    int rc = encode_req(c, r, write, &len);
    if (rc) return rc;
    s7p_pdu p;
    if ((rc = s7p_cl_exchange(c, write ? S7P_FN_SET_MULTI_VARS : S7P_FN_GET_MULTI_VARS, len, !write, &p))) return rc;
    return decode_res(c, &p, write, res);
}

/* The type RIDs of DBs (LID 1 of each), max_items per request; 0: none. */
static int type_rids(plcio_s7plus_client *c, const db_info *dbs, size_t n, uint32_t *rids)
{
    s7p_multi_req *r = malloc(sizeof *r);
    s7p_multi_res *a = malloc(sizeof *a);
    if (!r || !a) {
        free(r);
        free(a);
        return fail(c, PLCIO_ENOMEM, "s7plus: out of memory");
    }
    int rc = PLCIO_OK;
    size_t per = (size_t)s7p_cl_max_items(c);
    for (size_t at = 0; at < n && !rc; at += per) {
        size_t m = n - at < per ? n - at : per;
        memset(r, 0, sizeof *r);
        r->nitems = (uint32_t)m;
        for (size_t k = 0; k < m; k++) {
            address_init(&r->items[k], dbs[at + k].number);
            r->items[k].lids[r->items[k].nlids++] = S7P_LID_TYPE_INFO;
            rids[at + k] = 0;
        }
        if ((rc = multi(c, r, false, a))) break;
        for (uint32_t k = 0; k < a->nvalues; k++) {
            uint32_t nr = a->value_nr[k];
            const s7p_value *v = &a->values[k];
            if (nr >= 1 && nr <= m && !v->flags && (v->type == S7P_T_RID || v->type == S7P_T_UDINT))
                rids[at + nr - 1] = (uint32_t)v->u;
        }
    }
    free(r);
    free(a);
    return rc;
}

static int explore_types(plcio_s7plus_client *c, s7p_ti_set **out)
{
    plcio_rcursor rd;
    int rc = s7p_cl_explore(c, S7P_ID_TYPE_INFO_CONTAINER, NULL, 0, "to explore its type information", &rd);
    if (rc) return rc;
    char msg[200];
    rc = s7p_ti_decode(rd.pos, plcio_rcursor_left(&rd), out, msg, sizeof msg);
    if (rc) return fail(c, rc, "s7plus: %s", rc == PLCIO_ENOMEM ? "out of memory" : msg);
    return PLCIO_OK;
}

/* Layouts of the selected DBs into set (accept_optimized). */
static int browse_into(plcio_s7plus_client *c, const char *want, size_t wlen, plcio_layout_set *set)
{
    db_info *dbs;
    size_t n;
    int rc = list_named(c, &dbs, &n);
    if (rc) return rc;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!want || db_matches(&dbs[i], want, wlen)) dbs[m++] = dbs[i];
    if (want && m == 0) {
        free(dbs);
        return fail(c, PLCIO_ENOTFOUND, "s7plus: the PLC has no data block %.*s", (int)wlen, want);
    }
    uint32_t *rids = calloc(m ? m : 1, sizeof *rids);
    if (!rids) {
        free(dbs);
        return fail(c, PLCIO_ENOMEM, "s7plus: out of memory");
    }
    s7p_ti_set *ti = NULL;
    rc = m ? type_rids(c, dbs, m, rids) : PLCIO_OK;
    bool any = false;
    for (size_t i = 0; i < m; i++)
        any = any || rids[i];
    if (!rc && want && !any)
        rc = fail(c, PLCIO_ENOTFOUND,
                  "s7plus: data block %s (DB%u) has no type information to browse (a standard-access DB: use raw "
                  "DB%u.DBX... addresses)",
                  dbs[0].name, dbs[0].number, dbs[0].number);
    if (!rc && any) rc = explore_types(c, &ti);
    for (size_t i = 0; i < m && !rc; i++) {
        if (!rids[i]) continue;
        char *scl = NULL, msg[200];
        rc = s7p_ti_scl(ti, rids[i], dbs[i].name, &scl, msg, sizeof msg);
        if (rc) {
            rc = fail(c, rc, "s7plus: %s", rc == PLCIO_ENOMEM ? "out of memory" : msg);
            break;
        }
        rc = plcio_layout_set_add_text(set, dbs[i].name, scl, strlen(scl));
        free(scl);
        if (rc) rc = fail(c, rc, "s7plus: DB %s: %s", dbs[i].name, plcio_layout_set_last_error(set)->text);
    }
    if (!rc && (rc = plcio_layout_set_resolve(set)))
        rc = fail(c, rc, "s7plus: browsed type information: %s", plcio_layout_set_last_error(set)->text);
    if (!rc) { /* the numbers the PLC gave, in the order the DBs were added */
        size_t k = 0;
        for (size_t i = 0; i < m && k < set->ndbs; i++)
            if (rids[i]) set->dbs[k++]->db_number = (int)dbs[i].number;
        s7p_cl_ok(c);
    }
    s7p_ti_free(ti);
    free(rids);
    free(dbs);
    return rc;
}

static plcio_layout_set *new_set(void)
{
    plcio_layout_options o;
    memset(&o, 0, sizeof o);
    o.accept_optimized = true;
    plcio_layout_set *set = NULL;
    plcio_error e;
    return plcio_layout_set_new(&o, &set, &e) ? NULL : set;
}

int plcio_s7plus_client_browse(plcio_s7plus_client *c, const char *db, plcio_layout_set **out)
{
    if (!c || !out) return PLCIO_EINVAL;
    *out = NULL;
    plcio_layout_set *set = new_set();
    if (!set) return fail(c, PLCIO_ENOMEM, "s7plus: out of memory");
    int rc = browse_into(c, db, db ? strlen(db) : 0, set);
    if (rc) {
        plcio_layout_set_free(set);
        return rc;
    }
    *out = set;
    return PLCIO_OK;
}

/* The cached layout of the DB named want, browsing it on first use. */
static int cached(plcio_s7plus_client *c, const char *want, size_t wlen, const plcio_layout **out)
{
    s7p_symcache **cache = s7p_cl_cache(c);
    if (*cache)
        for (size_t i = 0; i < (*cache)->n; i++) {
            const plcio_layout *l = plcio_layout_set_get((*cache)->v[i].set, 0);
            db_info d;
            snprintf(d.name, sizeof d.name, "%s", plcio_layout_name(l));
            d.number = (*cache)->v[i].number;
            if (db_matches(&d, want, wlen)) {
                *out = l;
                return PLCIO_OK;
            }
        }
    plcio_layout_set *set = new_set();
    if (!set) return fail(c, PLCIO_ENOMEM, "s7plus: out of memory");
    int rc = browse_into(c, want, wlen, set);
    if (!rc && plcio_layout_set_count(set) != 1)
        rc = fail(c, PLCIO_ENOTFOUND, "s7plus: %.*s names %zu data blocks", (int)wlen, want,
                  plcio_layout_set_count(set));
    if (rc) {
        plcio_layout_set_free(set);
        return rc;
    }
    if (!*cache && !(*cache = calloc(1, sizeof **cache))) {
        plcio_layout_set_free(set);
        return fail(c, PLCIO_ENOMEM, "s7plus: out of memory");
    }
    cache_entry *nv = realloc((*cache)->v, ((*cache)->n + 1) * sizeof *nv);
    if (!nv) {
        plcio_layout_set_free(set);
        return fail(c, PLCIO_ENOMEM, "s7plus: out of memory");
    }
    (*cache)->v = nv;
    const plcio_layout *l = plcio_layout_set_get(set, 0);
    nv[(*cache)->n++] = (cache_entry){(unsigned)plcio_layout_db_number(l), set};
    *out = l;
    return PLCIO_OK;
}

/* The PLC's tag table: Explore of the type information, I, Q, M. */
static int browse_tags(plcio_s7plus_client *c, plcio_s7plus_tag **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    s7p_ti_set *ti = NULL;
    int rc = explore_types(c, &ti);
    if (rc) return rc;
    plcio_s7plus_tag *v = NULL;
    size_t n = 0, cap = 0;
    char msg[200] = "";
    for (int a = PLCIO_S7PLUS_AREA_I; a <= PLCIO_S7PLUS_AREA_M && !rc; a++)
        rc = s7p_ti_tags(ti, (plcio_s7plus_area)a, &v, &n, &cap, msg, sizeof msg);
    s7p_ti_free(ti);
    if (rc) {
        free(v);
        return fail(c, rc, "s7plus: %s", rc == PLCIO_ENOMEM ? "out of memory" : msg);
    }
    *out = v;
    *count = n;
    return PLCIO_OK;
}

int plcio_s7plus_client_browse_tags(plcio_s7plus_client *c, plcio_s7plus_tag **out, size_t *n)
{
    if (!c || !out || !n) return PLCIO_EINVAL;
    int rc = browse_tags(c, out, n);
    if (!rc) s7p_cl_ok(c);
    return rc;
}

/* The tag named name[0..len) (case-insensitive), browsing the table on first use. */
static int cached_tag(plcio_s7plus_client *c, const char *name, size_t len, const plcio_s7plus_tag **out)
{
    s7p_symcache **cache = s7p_cl_cache(c);
    if (!*cache && !(*cache = calloc(1, sizeof **cache))) return fail(c, PLCIO_ENOMEM, "s7plus: out of memory");
    if (!(*cache)->tags_loaded) {
        int rc = browse_tags(c, &(*cache)->tags, &(*cache)->ntags);
        if (rc) return rc;
        (*cache)->tags_loaded = true;
    }
    for (size_t k = 0; k < (*cache)->ntags; k++) {
        const plcio_s7plus_tag *t = &(*cache)->tags[k];
        if (strlen(t->name) == len && strncasecmp(t->name, name, len) == 0) {
            *out = t;
            return PLCIO_OK;
        }
    }
    /* a DB's name alone: say so (one more Explore, on this error only) */
    db_info *dbs = NULL;
    size_t n = 0;
    bool is_db = false;
    if (list_named(c, &dbs, &n) == PLCIO_OK)
        for (size_t k = 0; k < n && !is_db; k++)
            is_db = strlen(dbs[k].name) == len && strncasecmp(dbs[k].name, name, len) == 0;
    free(dbs);
    if (is_db)
        return fail(c, PLCIO_ESYNTAX,
                    "s7plus: \"%.*s\" is a data block, not a symbol of its own: name a member (\"%.*s\".Member)",
                    (int)len, name, (int)len, name);
    return fail(c, PLCIO_ENOTFOUND,
                "s7plus: \"%.*s\": no such PLC tag (a data block's member is written \"DB\".Member)", (int)len, name);
}

/* "Start" or Start alone: a PLC tag. */
static int resolve_tag(plcio_s7plus_client *c, const char *name, size_t len, plcio_s7plus_symbol *out)
{
    const plcio_s7plus_tag *t = NULL;
    int rc = cached_tag(c, name, len, &t);
    if (rc || !t) return rc ? rc : PLCIO_EINTERNAL;
    *out = t->sym;
    s7p_cl_ok(c);
    return PLCIO_OK;
}

int plcio_s7plus_client_resolve(plcio_s7plus_client *c, const char *name, plcio_s7plus_symbol *out)
{
    if (!c || !name || !out) return PLCIO_EINVAL;
    memset(out, 0, sizeof *out);
    const char *p = name;
    while (*p == ' ')
        p++;
    const char *db = p;
    if (*p == '"') {
        const char *q = strchr(p + 1, '"');
        if (!q || q == p + 1) return fail(c, PLCIO_ESYNTAX, "s7plus: %s: the DB name's closing quote is missing", name);
        p = q + 1;
        const char *e = p;
        while (*e == ' ')
            e++;
        if (!*e) return resolve_tag(c, db + 1, (size_t)(q - db - 1), out);
    } else {
        while (*p && *p != '.' && *p != '[')
            p++;
        if (!*p && p > db) {
            size_t l = (size_t)(p - db);
            while (l && db[l - 1] == ' ')
                l--;
            if (l) return resolve_tag(c, db, l, out);
        }
    }
    size_t dblen = (size_t)(p - db);
    if (dblen == 0 || *p != '.' || !p[1])
        return fail(c, PLCIO_ESYNTAX, "s7plus: %s is not a symbol such as \"DB\".Member", name);
    const plcio_layout *l = NULL;
    int rc = cached(c, db, dblen, &l);
    if (rc) return rc;
    plcio_layout_member m;
    rc = plcio_layout_lookup(l, p + 1, &m);
    if (rc == PLCIO_ERANGE) return fail(c, rc, "s7plus: %s: index outside the declared bounds", name);
    if (rc == PLCIO_ESYNTAX) return fail(c, rc, "s7plus: %s: malformed member name", name);
    if (rc) return fail(c, PLCIO_ENOTFOUND, "s7plus: %s: no such member in \"%s\"", name, plcio_layout_name(l));
    if (m.kind != PLCIO_LAYOUT_ELEMENTARY || m.nlids == 0)
        return fail(c, PLCIO_ETYPE, "s7plus: %s is a %s: name one of its elements", name,
                    m.kind == PLCIO_LAYOUT_STRUCT ? "structure" : "whole array");
    out->db = (unsigned)plcio_layout_db_number(l);
    out->access_area = S7P_ID_DB_ACCESS_AREA_BASE + (out->db & 0xFFFF);
    out->sub_area = S7P_ID_DB_VALUE_ACTUAL;
    out->nlids = m.nlids;
    memcpy(out->lids, m.lids, m.nlids * sizeof *m.lids);
    out->type = m.type;
    out->length = m.length;
    s7p_cl_ok(c);
    return PLCIO_OK;
}

static int check_syms(plcio_s7plus_client *c, const plcio_s7plus_sym_item *items, size_t n)
{
    if (!items && n) return fail(c, PLCIO_EINVAL, "s7plus: no items");
    for (size_t k = 0; k < n; k++) {
        const plcio_s7plus_symbol *s = &items[k].sym;
        if (s->nlids == 0 || s->nlids > PLCIO_S7PLUS_MAX_LIDS || s->nlids + 1 > S7P_MAX_LIDS ||
            (unsigned)s->type >= (unsigned)PLCIO_TYPE_COUNT_ || plcio_type_size(s->type, s->length) == 0)
            return fail(c, PLCIO_EINVAL, "s7plus: symbolic item %zu has no access path or no type (resolve it first)",
                        k + 1);
    }
    return PLCIO_OK;
}

static void sym_address(const plcio_s7plus_symbol *s, s7p_address *a)
{
    memset(a, 0, sizeof *a);
    a->crc = s->crc;
    a->area = s->access_area;
    a->sub_area = s->sub_area;
    a->nlids = s->nlids;
    memcpy(a->lids, s->lids, s->nlids * sizeof *s->lids);
}

/* Symbolic reads/writes: up to S7P_SESSION_WINDOW batches under way at
 * once, each a slot matched to its answer by the request's sequence number. */
typedef struct slot {
    bool used, sent;
    uint16_t seq;
    size_t at;                   /* its first item */
    uint32_t nreq;               /* items in the request */
    uint32_t map[S7P_MAX_ITEMS]; /* request item -> index from at */
} slot;

struct batch {
    s7p_multi_req r; /* scratch: the request being encoded */
    s7p_multi_res a; /* scratch: the answer being decoded */
    slot s[S7P_SESSION_WINDOW];
    unsigned inflight; /* slots used */
    int encoded;       /* the slot whose request is in the client's body, not sent yet; -1: none */
};

static batch *batch_of(plcio_s7plus_client *c)
{
    s7p_symcache **cache = s7p_cl_cache(c);
    if (!*cache && !(*cache = calloc(1, sizeof **cache))) return NULL;
    if (!(*cache)->b) (*cache)->b = calloc(1, sizeof(batch));
    return (*cache)->b;
}

int s7p_sym_job_start(plcio_s7plus_client *c, plcio_s7plus_sym_item *items, size_t n)
{
    batch *b = batch_of(c);
    if (!b) return fail(c, PLCIO_ENOMEM, "s7plus: out of memory");
    memset(b->s, 0, sizeof b->s);
    b->inflight = 0;
    b->encoded = -1;
    for (size_t k = 0; k < n; k++) { /* not done yet: an abort gives these its error */
        items[k].result = PLCIO_EAGAIN;
        items[k].error = 0;
    }
    return PLCIO_OK;
}

unsigned s7p_sym_job_inflight(plcio_s7plus_client *c)
{
    batch *b = batch_of(c);
    return b ? b->inflight : 0;
}

void s7p_sym_job_abort(plcio_s7plus_client *c, plcio_s7plus_sym_item *items, size_t n, int rc)
{
    for (size_t k = 0; k < n; k++)
        if (items[k].result == PLCIO_EAGAIN) items[k].result = rc;
    batch *b = batch_of(c);
    if (!b) return;
    memset(b->s, 0, sizeof b->s);
    b->inflight = 0;
    b->encoded = -1;
}

/* Encode the next batch from *at that has something to send into the
 * client's body (*len; 0: nothing left) and a free slot; *at moves past it.
 * Items whose value cannot be sent get their result here and stay out of
 * the request. One batch encoded and not sent at a time. */
int s7p_sym_job_body(plcio_s7plus_client *c, plcio_s7plus_sym_item *items, size_t n, size_t *at, bool write,
                     size_t *len)
{
    batch *b = batch_of(c);
    if (!b) return fail(c, PLCIO_ENOMEM, "s7plus: out of memory");
    *len = 0;
    if (b->encoded >= 0 || b->inflight >= S7P_SESSION_WINDOW)
        return fail(c, PLCIO_EINTERNAL, "s7plus: no room for another batch");
    unsigned si = 0;
    while (b->s[si].used)
        si++;
    slot *sl = &b->s[si];
    size_t per = (size_t)s7p_cl_max_items(c);
    while (*at < n) {
        size_t m = n - *at < per ? n - *at : per;
        plcio_s7plus_sym_item *it = items + *at;
        memset(&b->r, 0, sizeof b->r);
        uint8_t *owned[S7P_MAX_ITEMS] = {0};
        int rc = PLCIO_OK;
        for (size_t k = 0; k < m && !rc; k++) {
            uint32_t q = b->r.nitems;
            if (write) {
                size_t size = plcio_type_size(it[k].sym.type, it[k].sym.length);
                uint8_t *bytes = calloc(1, size ? size : 1);
                if (!bytes) {
                    rc = fail(c, PLCIO_ENOMEM, "s7plus: out of memory");
                    break;
                }
                int vr = it[k].value.type != it[k].sym.type
                             ? PLCIO_ETYPE
                             : plcio_value_encode(&it[k].value, bytes, size, 0, NULL, NULL);
                if (!vr) vr = s7p_sym_to_pvalue(it[k].sym.type, it[k].sym.length, bytes, size, 0, &b->r.values[q]);
                if (vr) {
                    it[k].result = vr;
                    free(bytes);
                    continue;
                }
                owned[q] = bytes; /* the array forms point into it until encoded */
                b->r.value_nr[q] = q + 1;
            }
            sl->map[q] = (uint32_t)k;
            sym_address(&it[k].sym, &b->r.items[q]);
            b->r.nitems++;
        }
        b->r.nvalues = write ? b->r.nitems : 0;
        if (!rc && b->r.nitems) rc = encode_req(c, &b->r, write, len);
        for (uint32_t q = 0; write && q < b->r.nitems; q++)
            free(owned[q]);
        if (rc) return rc;
        if (b->r.nitems) {
            sl->used = true;
            sl->sent = false;
            sl->at = *at;
            sl->nreq = b->r.nitems;
            b->inflight++;
            b->encoded = (int)si;
            *at += m;
            return PLCIO_OK;
        }
        *at += m;
    }
    return PLCIO_OK;
}

/* The batch s7p_sym_job_body encoded went out as request seq. */
void s7p_sym_job_sent(plcio_s7plus_client *c, uint16_t seq)
{
    batch *b = batch_of(c);
    if (!b || b->encoded < 0) return;
    b->s[b->encoded].sent = true;
    b->s[b->encoded].seq = seq;
    b->encoded = -1;
}

/* Items of a batch the PLC refused as a whole, or whose answer was unusable. */
static void batch_failed(plcio_s7plus_sym_item *it, const slot *sl, int rc, uint64_t error)
{
    for (uint32_t q = 0; q < sl->nreq; q++) {
        it[sl->map[q]].result = rc;
        it[sl->map[q]].error = error;
    }
}

/* An answer to one of the batches under way (matched by sequence number)
 * into its items. A batch refused or answered malformed: its items get the
 * error, the others go on. */
int s7p_sym_job_answer(plcio_s7plus_client *c, plcio_s7plus_sym_item *items, bool write, const s7p_pdu *p)
{
    batch *b = batch_of(c);
    if (!b) return fail(c, PLCIO_ENOMEM, "s7plus: out of memory");
    unsigned si = 0;
    while (si < S7P_SESSION_WINDOW && !(b->s[si].used && b->s[si].sent && b->s[si].seq == p->h.seq))
        si++;
    if (si == S7P_SESSION_WINDOW)
        return fail(c, PLCIO_EPROTO, "s7plus: an answer to no batch under way (sequence number %u)", p->h.seq);
    slot *sl = &b->s[si];
    sl->used = false;
    b->inflight--;
    plcio_s7plus_sym_item *it = items + sl->at;
    uint32_t nreq = sl->nreq;
    plcio_rcursor rd = plcio_rcursor_make(p->body, p->body_len);
    if (s7p_multi_res_decode(&rd, write ? 0 : S7P_WITH_VALUES, &b->a)) {
        batch_failed(it, sl, PLCIO_EPROTO, 0);
        return PLCIO_OK;
    }
    if (b->a.ret) {
        s7p_cl_plc_error(c, b->a.ret);
        batch_failed(it, sl, PLCIO_EPLC, b->a.ret);
        return PLCIO_OK;
    }
    for (uint32_t q = 0; q < nreq; q++)
        it[sl->map[q]].result = write ? PLCIO_OK : PLCIO_ENOTFOUND;
    for (uint32_t k = 0; !write && k < b->a.nvalues; k++) {
        uint32_t nr = b->a.value_nr[k];
        if (nr < 1 || nr > nreq) continue;
        plcio_s7plus_sym_item *x = &it[sl->map[nr - 1]];
        uint8_t bytes[2u * PLCIO_WSTRING_MAX + 4u];
        size_t size = plcio_type_size(x->sym.type, x->sym.length);
        int vr = s7p_sym_from_pvalue(x->sym.type, x->sym.length, &b->a.values[k], bytes, sizeof bytes);
        if (!vr) {
            plcio_value_init(&x->value, x->sym.type);
            vr = plcio_value_decode(&x->value, x->sym.type, x->sym.length, bytes, size, 0, NULL, NULL);
        }
        x->result = vr;
    }
    for (uint32_t k = 0; k < b->a.nerrors; k++)
        if (b->a.error_nr[k] >= 1 && b->a.error_nr[k] <= nreq) {
            plcio_s7plus_sym_item *x = &it[sl->map[b->a.error_nr[k] - 1]];
            x->result = b->a.errors[k] == S7P_ERR_ACCESS_DENIED ? PLCIO_EACCESS : PLCIO_EPLC;
            x->error = b->a.errors[k];
        }
    return PLCIO_OK;
}

/* Blocking: up to the client's pipeline of batches under way, answers taken
 * as they come. A lost connection: every item not answered gets its error. */
static int symbols(plcio_s7plus_client *c, plcio_s7plus_sym_item *items, size_t n, bool write)
{
    if (!c) return PLCIO_EINVAL;
    int rc = check_syms(c, items, n);
    if (!rc) rc = s7p_sym_job_start(c, items, n);
    unsigned window = (unsigned)s7p_cl_pipeline(c);
    uint16_t fn = write ? S7P_FN_SET_MULTI_VARS : S7P_FN_GET_MULTI_VARS;
    size_t at = 0;
    while (!rc) {
        while (at < n && s7p_sym_job_inflight(c) < window) {
            size_t len = 0;
            if ((rc = s7p_sym_job_body(c, items, n, &at, write, &len)) || len == 0) break;
            uint16_t seq = 0;
            if ((rc = s7p_cl_send(c, fn, len, !write, &seq))) break;
            s7p_sym_job_sent(c, seq);
        }
        if (rc || s7p_sym_job_inflight(c) == 0) break;
        s7p_pdu p;
        if ((rc = s7p_cl_wait(c, &p))) break;
        rc = s7p_sym_job_answer(c, items, write, &p);
    }
    if (rc) {
        s7p_sym_job_abort(c, items, n, rc);
        return rc;
    }
    s7p_cl_ok(c);
    return PLCIO_OK;
}

int plcio_s7plus_client_read_symbols(plcio_s7plus_client *c, plcio_s7plus_sym_item *items, size_t n)
{
    return symbols(c, items, n, false);
}

int plcio_s7plus_client_write_symbols(plcio_s7plus_client *c, plcio_s7plus_sym_item *items, size_t n)
{
    return symbols(c, items, n, true);
}

int plcio_s7plus_client_read_symbols_async(plcio_s7plus_client *c, plcio_s7plus_sym_item *items, size_t n,
                                           plcio_s7plus_done_fn done, void *ctx)
{
    if (!c) return PLCIO_EINVAL;
    int rc = check_syms(c, items, n);
    return rc ? rc : s7p_cl_queue_sym(c, false, items, n, done, ctx);
}

int plcio_s7plus_client_write_symbols_async(plcio_s7plus_client *c, plcio_s7plus_sym_item *items, size_t n,
                                            plcio_s7plus_done_fn done, void *ctx)
{
    if (!c) return PLCIO_EINVAL;
    int rc = check_syms(c, items, n);
    return rc ? rc : s7p_cl_queue_sym(c, true, items, n, done, ctx);
}
