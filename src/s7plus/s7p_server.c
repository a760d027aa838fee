/* S7CommPlus server side (the simulator): one state machine per connection
 * handed over by the classic S7 server (plcio_s7_server_handoff). Bytes in,
 * bytes out; TLS through OpenSSL memory BIOs. See plcio/s7plus.h. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/log.h"
#include "plcio/s7plus.h"
#include "s7plus/s7p_codec.h"
#include "s7plus/s7p_legit.h"
#include "s7plus/s7p_server_sub.h"
#include "s7plus/s7p_sym.h"

#define MOD         "s7plus-srv"
#define REMOTE_TSAP "SIMATIC-ROOT-HMI"
#define MAX_STREAM  (1u << 20) /* unanswered input a connection may hold */
/* item answer for a symbolic write whose value does not fit the member (plcio's choice) */
#define S7P_ERR_BAD_VALUE 0x8105u
#define ERR_NOT_FOUND     0x8104u /* item answer for a missing object (as python-snap7's emulator) */
#define SESSION_VERSION   3u      /* ServerSessionVersion sent (UDInt) and expected back */

struct plcio_s7plus_server {
    plcio_s7plus_server_options o;
    SSL_CTX *ctx;
    X509 *cert;
    char fingerprint[128];
    char password[S7P_LEGIT_MAX_PW + 1]; /* "": none */
    atomic_uint next_session;
};

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
} buf;

typedef enum conn_state { CS_CR, CS_INIT_SSL, CS_DECIDE, CS_TLS, CS_PLAIN } conn_state;

typedef struct conn {
    plcio_s7plus_server *srv;
    unsigned client;
    conn_state state;
    SSL *ssl;
    buf rx, app, out, frame, pdu;
    uint32_t session;
    bool setup_done;
    uint8_t challenge[S7P_CHALLENGE_LEN]; /* of this session (password legitimation) */
    bool legitimated;
    srvsub *subs; /* subscriptions (s7p_server_sub.c); NULL until the first */
} conn;

/* Without a password, or once the session legitimated: everything allowed. */
static bool open_access(const conn *c) { return !c->srv->password[0] || c->legitimated; }
static unsigned effective_level(const conn *c) { return open_access(c) ? 1u : c->srv->o.protection_level; }

/* ---- small helpers ------------------------------------------------------ */

static int buf_add(buf *b, const void *data, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        if (cap > (size_t)4 * MAX_STREAM) return PLCIO_ELIMIT;
        uint8_t *p = realloc(b->p, cap);
        if (!p) return PLCIO_ENOMEM;
        b->p = p;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->len, data, n);
    b->len += n;
    return PLCIO_OK;
}

static void buf_drop(buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
}

static int refuse(conn *c, int rc, const char *fmt, ...) PLCIO_PRINTF(3, 4);
static int refuse(conn *c, int rc, const char *fmt, ...)
{
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    log_msg(&c->srv->o.logger, PLCIO_LOG_INFO, MOD, "client %u: %s", c->client, text);
    return rc;
}

/* ---- certificate ---------------------------------------------------------- */

static int make_certificate(plcio_s7plus_server *s, EVP_PKEY **key_out)
{
    EVP_PKEY *key = EVP_RSA_gen(2048); /* RSA: TLS 1.2 clients offer ECDHE-RSA suites only */
    X509 *x = X509_new();
    if (!key || !x) goto fail;
    ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(plcio_realtime_ns() / PLCIO_NS_PER_S));
    if (!X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 24 * 3600))
        goto fail;
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"plcio S7-1500 simulator", -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name,
                                              s->o.cert_names ? s->o.cert_names : "IP:127.0.0.1,DNS:localhost");
    if (!ext) goto fail;
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    if (!X509_sign(x, key, EVP_sha256())) goto fail;
    s->cert = x;
    *key_out = key;
    return PLCIO_OK;
fail:
    X509_free(x);
    EVP_PKEY_free(key);
    ERR_clear_error();
    return PLCIO_EINTERNAL;
}

static int load_certificate(plcio_s7plus_server *s, EVP_PKEY **key_out, plcio_error *err)
{
    FILE *f = fopen(s->o.cert_file, "r");
    if (!f) return plcio_error_set(err, PLCIO_ENOTFOUND, "s7plus server: cannot open %s", s->o.cert_file);
    s->cert = PEM_read_X509(f, NULL, NULL, NULL);
    (void)fclose(f);
    f = fopen(s->o.key_file ? s->o.key_file : s->o.cert_file, "r");
    if (f) {
        *key_out = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        (void)fclose(f);
    }
    ERR_clear_error();
    if (!s->cert || !*key_out)
        return plcio_error_set(err, PLCIO_EINVAL, "s7plus server: no certificate or key in %s / %s", s->o.cert_file,
                               s->o.key_file ? s->o.key_file : s->o.cert_file);
    return PLCIO_OK;
}

void plcio_s7plus_server_options_init(plcio_s7plus_server_options *o)
{
    memset(o, 0, sizeof *o);
    o->tls = true;
    o->allow_plain = true;
    o->protection_level = 1;
}

int plcio_s7plus_server_new(const plcio_s7plus_server_options *opts, plcio_s7plus_server **out, plcio_error *err)
{
    if (!out) return plcio_error_set(err, PLCIO_EINVAL, "s7plus server: no place for it");
    *out = NULL;
    plcio_s7plus_server_options o;
    if (opts)
        o = *opts;
    else
        plcio_s7plus_server_options_init(&o);
    if (!o.memory.read || !o.memory.write)
        return plcio_error_set(err, PLCIO_EINVAL, "s7plus server: memory callbacks are required");
    if (!o.tls && !o.allow_plain)
        return plcio_error_set(err, PLCIO_EINVAL, "s7plus server: neither TLS nor plain sessions allowed");
    plcio_s7plus_server *s = calloc(1, sizeof *s);
    if (!s) return plcio_error_set(err, PLCIO_ENOMEM, "s7plus server: out of memory");
    s->o = o;
    s->o.cert_file = s->o.key_file = s->o.cert_names = NULL; /* used during _new only */
    if (!s->o.protection_level) s->o.protection_level = 1;
    if (o.password) {
        size_t n = strlen(o.password);
        if (n == 0 || n > S7P_LEGIT_MAX_PW) {
            free(s);
            return plcio_error_set(err, PLCIO_EINVAL, "s7plus server: the password must have 1..%u characters",
                                   S7P_LEGIT_MAX_PW);
        }
        memcpy(s->password, o.password, n + 1);
        if (s->o.protection_level < 2) s->o.protection_level = 2;
    }
    s->o.password = NULL;
    atomic_init(&s->next_session, 0x70000100u);
    if (o.tls) {
        EVP_PKEY *key = NULL;
        s->o.cert_names = o.cert_names;
        int rc = o.cert_file
                     ? (s->o.cert_file = o.cert_file, s->o.key_file = o.key_file, load_certificate(s, &key, err))
                     : make_certificate(s, &key);
        s->o.cert_file = s->o.key_file = s->o.cert_names = NULL;
        if (rc) {
            if (!o.cert_file) plcio_error_set(err, rc, "s7plus server: cannot make a certificate");
            plcio_s7plus_server_free(s);
            return rc;
        }
        s->ctx = SSL_CTX_new(TLS_server_method());
        if (!s->ctx || SSL_CTX_use_certificate(s->ctx, s->cert) != 1 || SSL_CTX_use_PrivateKey(s->ctx, key) != 1) {
            EVP_PKEY_free(key);
            ERR_clear_error();
            plcio_s7plus_server_free(s);
            return plcio_error_set(err, PLCIO_EINVAL, "s7plus server: certificate and key do not fit");
        }
        EVP_PKEY_free(key);
        SSL_CTX_set_min_proto_version(s->ctx, TLS1_2_VERSION);
        SSL_CTX_set_options(s->ctx, SSL_OP_NO_TICKET);
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned n = 0;
        X509_digest(s->cert, EVP_sha256(), md, &n);
        size_t pos = (size_t)snprintf(s->fingerprint, sizeof s->fingerprint, "SHA256");
        for (unsigned k = 0; k < n && pos + 4 < sizeof s->fingerprint; k++)
            pos += (size_t)snprintf(s->fingerprint + pos, sizeof s->fingerprint - pos, ":%02X", md[k]);
    }
    *out = s;
    return PLCIO_OK;
}

void plcio_s7plus_server_free(plcio_s7plus_server *s)
{
    if (!s) return;
    SSL_CTX_free(s->ctx);
    X509_free(s->cert);
    OPENSSL_cleanse(s->password, sizeof s->password);
    free(s);
}

const char *plcio_s7plus_server_fingerprint(const plcio_s7plus_server *s) { return s->fingerprint; }

int plcio_s7plus_server_write_certificate(const plcio_s7plus_server *s, const char *path, plcio_error *err)
{
    if (!s->cert) return plcio_error_set(err, PLCIO_ESTATE, "s7plus server: no TLS certificate");
    FILE *f = fopen(path, "w");
    if (!f) return plcio_error_set(err, PLCIO_EIO, "s7plus server: cannot write %s", path);
    int ok = PEM_write_X509(f, s->cert);
    if (fclose(f) != 0 || !ok) return plcio_error_set(err, PLCIO_EIO, "s7plus server: cannot write %s", path);
    return PLCIO_OK;
}

/* ---- output ----------------------------------------------------------------- */

static int send_dt(conn *c, const uint8_t *data, size_t len)
{
    while (len > 0) {
        uint8_t eot = len <= 1021 ? 0x80 : 0x00;
        size_t n = eot ? len : 1021;
        uint8_t h[7] = {3, 0, (uint8_t)((n + 7) >> 8), (uint8_t)(n + 7), 2, 0xF0, eot};
        int rc = buf_add(&c->out, h, 7);
        if (!rc) rc = buf_add(&c->out, data, n);
        if (rc) return rc;
        data += n;
        len -= n;
    }
    return PLCIO_OK;
}

static int flush_tls(conn *c)
{
    uint8_t chunk[4096];
    int n;
    while ((n = BIO_read(SSL_get_wbio(c->ssl), chunk, sizeof chunk)) > 0) {
        int rc = send_dt(c, chunk, (size_t)n);
        if (rc) return rc;
    }
    return PLCIO_OK;
}

/* One answer PDU, framed (fragments of at most 0xFFF0 bytes) and sent. */
static int send_pdu(conn *c, uint8_t version, const uint8_t *pdu, size_t len)
{
    c->frame.len = 0;
    size_t off = 0;
    int rc = PLCIO_OK;
    do {
        size_t n = len - off > 0xFFF0 ? 0xFFF0 : len - off;
        uint8_t h[4] = {S7P_PROTOCOL_ID, version, (uint8_t)(n >> 8), (uint8_t)n};
        if ((rc = buf_add(&c->frame, h, 4)) || (rc = buf_add(&c->frame, pdu + off, n))) return rc;
        off += n;
    } while (off < len);
    uint8_t t[4] = {S7P_PROTOCOL_ID, version, 0, 0};
    if ((rc = buf_add(&c->frame, t, 4))) return rc;
    if (c->state != CS_TLS) return send_dt(c, c->frame.p, c->frame.len);
    if (SSL_write(c->ssl, c->frame.p, (int)c->frame.len) <= 0) return PLCIO_EIO;
    return flush_tls(c);
}

static void answer_header(plcio_wcursor *w, uint16_t fn, uint16_t seq)
{
    s7p_header h;
    memset(&h, 0, sizeof h);
    h.opcode = S7P_OP_RESPONSE;
    h.function = fn;
    h.seq = seq;
    s7p_header_encode(w, &h);
}

/* ---- requests ------------------------------------------------------------------ */

typedef struct item_ref {
    plcio_s7plus_area area;
    unsigned db;
    uint32_t start, size;
    bool compact;      /* python-snap7's [offset+1, size] form: answer Blobs without root id */
    bool protection;   /* the session's protection level (attribute 1842) */
    bool cpu_state;    /* the CPU execution unit's operating state (object 52, attribute 2167) */
    bool challenge;    /* the session's legitimation challenge (attribute 303) */
    uint32_t answer;   /* a legitimation answer: attribute 304 (legacy) or 1846 (new); 0: none */
    uint32_t type_rid; /* LID 1 of an optimized DB: its type object */
    bool sym;          /* a member of an optimized DB by LID chain */
    plcio_type stype;  /* its type, length and bit position in the DB's storage */
    unsigned slen;
    uint32_t bitpos;
    bool optimized_raw; /* raw (ClassicBlob) access to an optimized DB: refused */
} item_ref;

/* The optimized DB `db` of the symbols option, NULL if none. */
static const plcio_layout *sym_db(const conn *c, unsigned db)
{
    const plcio_layout_set *set = c->srv->o.symbols;
    if (!set) return NULL;
    for (size_t i = 0; i < plcio_layout_set_count(set); i++) {
        const plcio_layout *l = plcio_layout_set_get(set, i);
        int n = c->srv->o.symbol_numbers ? (int)c->srv->o.symbol_numbers[i] : plcio_layout_db_number(l);
        if (n == (int)db && plcio_layout_is_optimized(l)) return l;
    }
    return NULL;
}

static const char *sym_db_name(const plcio_s7plus_server *s, unsigned db)
{
    const plcio_layout_set *set = s->o.symbols;
    for (size_t i = 0; set && i < plcio_layout_set_count(set); i++) {
        const plcio_layout *l = plcio_layout_set_get(set, i);
        int n = s->o.symbol_numbers ? (int)s->o.symbol_numbers[i] : plcio_layout_db_number(l);
        if (n == (int)db) return plcio_layout_name(l);
    }
    return NULL;
}

/* A PLC tag of it->area by LID: a typed item at its byte (and bit) address. */
static int tag_of(const conn *c, uint32_t lid, item_ref *it)
{
    const plcio_s7plus_server_options *o = &c->srv->o;
    for (size_t k = 0; o->tags && k < o->ntags; k++) {
        const plcio_s7plus_tag *t = &o->tags[k];
        if (t->area != it->area || t->sym.nlids != 1 || t->sym.lids[0] != lid) continue;
        it->sym = true;
        it->stype = t->sym.type;
        it->slen = 0;
        it->start = t->start;
        it->bitpos = t->start * 8u + (t->sym.type == PLCIO_TYPE_BOOL && t->bit > 0 ? (uint32_t)t->bit : 0);
        it->size = (uint32_t)plcio_type_size(t->sym.type, 0);
        return it->size ? PLCIO_OK : PLCIO_ENOTFOUND;
    }
    return PLCIO_ENOTFOUND;
}

static int item_of(const conn *c, const s7p_address *a, item_ref *it)
{
    memset(it, 0, sizeof *it);
    if (a->area == c->session && a->sub_area == S7P_ID_EFFECTIVE_PROTECTION_LEVEL && a->nlids == 0) {
        it->protection = true;
        return PLCIO_OK;
    }
    if (a->area == c->session && a->nlids == 0 && a->sub_area == S7P_ID_SERVER_SESSION_CHALLENGE) {
        it->challenge = true;
        return PLCIO_OK;
    }
    if (a->area == c->session && a->nlids == 0 &&
        (a->sub_area == S7P_ID_SERVER_SESSION_RESPONSE || a->sub_area == S7P_ID_LEGITIMATE)) {
        it->answer = a->sub_area;
        return PLCIO_OK;
    }
    if (a->area == S7P_ID_NATIVE_THE_CPU_EXEC_UNIT && a->sub_area == S7P_ID_CPU_EXEC_UNIT_OPERATING_STATE &&
        a->nlids == 0) {
        it->cpu_state = true;
        return PLCIO_OK;
    }
    if ((a->area & 0xFFFF0000u) == S7P_ID_DB_ACCESS_AREA_BASE && a->sub_area == S7P_ID_DB_VALUE_ACTUAL) {
        it->area = PLCIO_S7PLUS_AREA_DB;
        it->db = a->area & 0xFFFF;
        const plcio_layout *l = sym_db(c, it->db);
        if (l && a->nlids == 1 && a->lids[0] == S7P_LID_TYPE_INFO) {
            it->type_rid = s7p_ti_db_rid(c->srv->o.symbols, l);
            return it->type_rid ? PLCIO_OK : PLCIO_ENOTFOUND;
        }
        if (l && a->nlids == 3 && a->lids[0] == S7P_LID_CLASSIC_BLOB) {
            it->optimized_raw = true;
            return PLCIO_OK;
        }
        if (l) {
            int rc = s7p_ti_member(l, a->lids, a->nlids, &it->stype, &it->slen, &it->bitpos);
            if (rc) return rc;
            it->sym = true;
            it->start = it->bitpos / 8;
            it->size = (uint32_t)plcio_type_size(it->stype, it->slen);
            return PLCIO_OK;
        }
    } else if (a->area >= S7P_ID_NATIVE_OBJECTS_THE_I_AREA && a->area <= S7P_ID_NATIVE_OBJECTS_THE_M_AREA &&
               a->sub_area == S7P_ID_CONTROLLER_AREA_VALUE) {
        it->area = (plcio_s7plus_area)(a->area - S7P_ID_NATIVE_OBJECTS_THE_I_AREA + 1);
        if (a->nlids == 1) return tag_of(c, a->lids[0], it); /* a PLC tag by its LID */
    } else {
        return PLCIO_ENOTFOUND;
    }
    if (a->nlids == 3 && a->lids[0] == S7P_LID_CLASSIC_BLOB) {
        it->start = a->lids[1];
        it->size = a->lids[2];
    } else if (a->nlids == 2 && a->lids[0] >= 1) {
        it->compact = true;
        it->start = a->lids[0] - 1;
        it->size = a->lids[1];
    } else {
        return PLCIO_EUNSUPPORTED;
    }
    return it->size == 0 || it->size > MAX_STREAM ? PLCIO_ERANGE : PLCIO_OK;
}

/* Parse link id, items, and (SetMultiVariables) the numbered values; what
 * follows (qualifier, integrity id, fill) is not needed to answer. */
static int parse_multi(const conn *c, plcio_rcursor *rd, bool with_values, s7p_multi_req *r)
{
    int rc;
    memset(r, 0, sizeof *r);
    if (plcio_rcursor_left(rd) < 4) return PLCIO_EPROTO;
    r->link_id = plcio_rcursor_u32be(rd);
    if ((rc = s7p_get_vlq32(rd, &r->nitems)) || (rc = s7p_get_vlq32(rd, &r->nfields))) return rc;
    if (r->nitems > S7P_MAX_ITEMS) return PLCIO_EUNSUPPORTED;
    for (uint32_t k = 0; k < r->nitems; k++) {
        if (r->link_id)
            rc = s7p_get_vlq32(rd, &r->items[k].area);
        else
            rc = s7p_address_decode(rd, &r->items[k]);
        if (rc) return rc;
    }
    if (!with_values) return PLCIO_OK;
    for (;;) {
        uint32_t nr;
        if ((rc = s7p_get_vlq32(rd, &nr))) return rc;
        if (nr == 0) return PLCIO_OK;
        if (r->nvalues >= S7P_MAX_ITEMS || nr > r->nitems) return PLCIO_EPROTO;
        r->value_nr[r->nvalues] = nr;
        /* the Blob form follows the item's form: a real client's root id or none */
        item_ref it;
        bool known = !r->link_id && item_of(c, &r->items[nr - 1], &it) == PLCIO_OK;
        /* a Blob for a member of an optimized DB: python-snap7's write_symbolic (no root id) */
        bool compact = known && (it.compact || (it.sym && plcio_rcursor_left(rd) >= 2 && rd->pos[1] == S7P_T_BLOB));
        if ((rc = s7p_value_decode_ex(rd, &r->values[r->nvalues], compact ? S7P_COMPACT_BLOB : 0))) return rc;
        r->nvalues++;
    }
}

static int on_get_multi(conn *c, uint8_t version, const s7p_header *h, plcio_rcursor *rd)
{
    s7p_multi_req *r = malloc(sizeof *r);
    if (!r) return PLCIO_ENOMEM;
    int rc = parse_multi(c, rd, false, r);
    if (rc) {
        free(r);
        return refuse(c, rc, "malformed GetMultiVariables");
    }
    size_t need = 64;
    item_ref *refs = malloc(sizeof(item_ref) * (r->nitems ? r->nitems : 1)); /* each item looked up once */
    int *found = malloc(sizeof(int) * (r->nitems ? r->nitems : 1));
    if (!refs || !found) {
        free(refs);
        free(found);
        free(r);
        return PLCIO_ENOMEM;
    }
    for (uint32_t k = 0; k < r->nitems; k++) {
        found[k] = item_of(c, &r->items[k], &refs[k]);
        if (found[k] == PLCIO_OK) need += 16 + refs[k].size;
    }
    size_t pdu_cap = need + (size_t)16 * S7P_MAX_ITEMS;
    uint8_t *pdu = malloc(pdu_cap);
    uint8_t *data = malloc(need);
    if (!pdu || !data) {
        free(pdu);
        free(data);
        free(refs);
        free(found);
        free(r);
        return PLCIO_ENOMEM;
    }
    plcio_wcursor w = plcio_wcursor_make(pdu, pdu_cap);
    answer_header(&w, h->function, h->seq);
    s7p_put_vlq64(&w, 0);
    uint64_t errors[S7P_MAX_ITEMS];
    for (uint32_t k = 0; k < r->nitems; k++) {
        const item_ref it = refs[k];
        errors[k] = 0;
        if (found[k] != PLCIO_OK) {
            errors[k] = ERR_NOT_FOUND;
            continue;
        }
        s7p_value v = s7p_value_udint(effective_level(c));
        if (it.answer) {
            errors[k] = ERR_NOT_FOUND;
            continue;
        }
        if (it.challenge) {
            v = s7p_value_blob(c->challenge, sizeof c->challenge);
        } else if (it.cpu_state) {
            const plcio_s7plus_server_memory *m = &c->srv->o.memory;
            int st = m->cpu_state ? m->cpu_state(m->ctx) : PLCIO_S7PLUS_CPU_RUN;
            memset(&v, 0, sizeof v);
            v.type = S7P_T_DINT;
            v.i = st == PLCIO_S7PLUS_CPU_RUN ? S7P_OPSTATE_RUN : S7P_OPSTATE_STOP;
        } else if (it.type_rid) {
            memset(&v, 0, sizeof v);
            v.type = S7P_T_RID;
            v.u = it.type_rid;
        } else if (it.optimized_raw) {
            errors[k] = S7P_ERR_OPTIMIZED;
            continue;
        } else if (!it.protection) {
            if (!open_access(c) && c->srv->o.protection_level >= 3) {
                errors[k] = S7P_ERR_ACCESS_DENIED;
                continue;
            }
            rc = c->srv->o.memory.read(c->srv->o.memory.ctx, it.area, it.db, it.start, it.size, data);
            if (rc) {
                errors[k] = ERR_NOT_FOUND;
                continue;
            }
            if (it.sym)
                rc = s7p_sym_to_pvalue(it.stype, it.slen, data, it.size, (int)(it.bitpos % 8), &v);
            else
                v = s7p_value_blob(data, it.size);
            if (rc) {
                errors[k] = ERR_NOT_FOUND;
                continue;
            }
        }
        s7p_put_vlq32(&w, k + 1);
        s7p_value_encode_ex(&w, &v, it.compact ? S7P_COMPACT_BLOB : 0);
    }
    plcio_wcursor_u8(&w, 0);
    for (uint32_t k = 0; k < r->nitems; k++)
        if (errors[k]) {
            s7p_put_vlq32(&w, k + 1);
            s7p_put_vlq64(&w, errors[k]);
        }
    plcio_wcursor_u8(&w, 0);
    plcio_wcursor_u32be(&w, 0);
    rc = w.overrun ? PLCIO_EINTERNAL : send_pdu(c, version, pdu, plcio_wcursor_used(&w));
    free(pdu);
    free(data);
    free(refs);
    free(found);
    free(r);
    return rc;
}

/* A legitimation answer (attribute 304: legacy, 1846: new, TLS only): the
 * session may write from now on if it fits this session's challenge. */
static void legitimate(conn *c, uint32_t attribute, const s7p_value *v, plcio_wcursor *w, uint32_t nr)
{
    uint8_t want[S7P_LEGIT_NEW_LEN];
    size_t len = attribute == S7P_ID_LEGITIMATE ? S7P_LEGIT_NEW_LEN : S7P_LEGIT_LEGACY_LEN;
    bool bytes =
        v->type == S7P_T_BLOB || ((v->flags & S7P_F_ARRAY) && (v->type == S7P_T_USINT || v->type == S7P_T_BYTE));
    int rc = !c->srv->password[0] ? PLCIO_EINVAL : !bytes || v->size != len ? PLCIO_ETYPE : PLCIO_OK;
    if (!rc)
        rc = attribute == S7P_ID_LEGITIMATE
                 ? (c->state == CS_TLS
                        ? s7p_legit_new((s7p_ssl *)c->ssl, c->srv->password, c->challenge, sizeof c->challenge, want)
                        : PLCIO_EUNSUPPORTED)
                 : s7p_legit_legacy(c->srv->password, c->challenge, sizeof c->challenge, want);
    if (!rc && CRYPTO_memcmp(want, v->data, len) != 0) rc = PLCIO_EACCESS;
    OPENSSL_cleanse(want, sizeof want);
    c->legitimated = !rc || c->legitimated;
    log_msg(&c->srv->o.logger, rc ? PLCIO_LOG_WARN : PLCIO_LOG_INFO, MOD, "client %u: %s legitimation %s", c->client,
            attribute == S7P_ID_LEGITIMATE ? "new" : "legacy", rc ? plcio_strerror(rc) : "accepted");
    if (rc) {
        s7p_put_vlq32(w, nr);
        s7p_put_vlq64(w, S7P_ERR_ACCESS_DENIED);
    }
}

/* A member of an optimized DB from its PValue (a BOOL: its bit of the byte). */
static int write_sym(conn *c, const item_ref *it, const s7p_value *v)
{
    uint8_t val[2 * PLCIO_WSTRING_MAX + 4];
    int rc;
    if (v->type == S7P_T_BLOB && !v->flags) { /* the member's S7 bytes (python-snap7's write_symbolic) */
        if (v->size != it->size) return PLCIO_ERANGE;
        memcpy(val, v->data, v->size);
        rc = it->stype == PLCIO_TYPE_BOOL && val[0] > 1 ? PLCIO_ERANGE : PLCIO_OK;
    } else {
        rc = s7p_sym_from_pvalue(it->stype, it->slen, v, val, sizeof val);
    }
    if (rc) return rc;
    const plcio_s7plus_server_memory *m = &c->srv->o.memory;
    if (it->stype == PLCIO_TYPE_BOOL) {
        uint8_t byte;
        if ((rc = m->read(m->ctx, it->area, it->db, it->start, 1, &byte))) return rc;
        unsigned bit = it->bitpos % 8;
        byte = (uint8_t)((byte & ~(1u << bit)) | ((unsigned)val[0] << bit));
        return m->write(m->ctx, it->area, it->db, it->start, 1, &byte);
    }
    return m->write(m->ctx, it->area, it->db, it->start, it->size, val);
}

/* A SetMultiVariables item on an optimized DB: a member, or refused. */
static void set_optimized(conn *c, const item_ref *it, const s7p_value *v, uint32_t nr, plcio_wcursor *w)
{
    uint64_t err = S7P_ERR_OPTIMIZED; /* raw access, or its type RID: refused */
    if (it->sym) {
        int rc = write_sym(c, it, v);
        if (!rc) return;
        err = rc == PLCIO_ETYPE || rc == PLCIO_ERANGE ? S7P_ERR_BAD_VALUE : ERR_NOT_FOUND;
    }
    s7p_put_vlq32(w, nr);
    s7p_put_vlq64(w, err);
}

static int on_set_multi(conn *c, uint8_t version, const s7p_header *h, plcio_rcursor *rd)
{
    s7p_multi_req *r = malloc(sizeof *r);
    if (!r) return PLCIO_ENOMEM;
    int rc = parse_multi(c, rd, true, r);
    if (rc) {
        free(r);
        return refuse(c, rc, "malformed SetMultiVariables");
    }
    uint8_t pdu[64 + 16 * S7P_MAX_ITEMS];
    plcio_wcursor w = plcio_wcursor_make(pdu, sizeof pdu);
    answer_header(&w, h->function, h->seq);
    if (r->link_id) { /* on the session object: the session-version echo */
        uint64_t ret = 0;
        bool ok = r->link_id == c->session && r->nitems == 1 && r->items[0].area == S7P_ID_SERVER_SESSION_VERSION &&
                  r->nvalues == 1 && r->values[0].u == SESSION_VERSION;
        if (ok)
            c->setup_done = true;
        else
            ret = ERR_NOT_FOUND;
        s7p_put_vlq64(&w, ret);
        plcio_wcursor_u8(&w, 0);
    } else {
        s7p_put_vlq64(&w, 0);
        for (uint32_t k = 0; k < r->nvalues; k++) {
            uint32_t nr = r->value_nr[k];
            item_ref it;
            const s7p_value *v = &r->values[k];
            bool bytes = v->type == S7P_T_BLOB ||
                         ((v->flags & S7P_F_ARRAY) && (v->type == S7P_T_USINT || v->type == S7P_T_BYTE));
            rc = item_of(c, &r->items[nr - 1], &it);
            if (!rc && it.answer) {
                legitimate(c, it.answer, v, &w, nr);
                continue;
            }
            if (!rc && !it.protection && !it.cpu_state && !it.challenge && !open_access(c)) {
                s7p_put_vlq32(&w, nr);
                s7p_put_vlq64(&w, S7P_ERR_ACCESS_DENIED);
                continue;
            }
            if (!rc && (it.sym || it.optimized_raw || it.type_rid)) {
                set_optimized(c, &it, v, nr, &w);
                continue;
            }
            if (!rc && (it.challenge || it.protection || it.cpu_state || !bytes || v->size != it.size))
                rc = PLCIO_ETYPE;
            if (!rc) rc = c->srv->o.memory.write(c->srv->o.memory.ctx, it.area, it.db, it.start, it.size, v->data);
            if (rc) {
                s7p_put_vlq32(&w, nr);
                s7p_put_vlq64(&w, ERR_NOT_FOUND);
            }
        }
        plcio_wcursor_u8(&w, 0);
    }
    plcio_wcursor_u32be(&w, 0);
    free(r);
    return w.overrun ? PLCIO_EINTERNAL : send_pdu(c, version, pdu, plcio_wcursor_used(&w));
}

static int on_create(conn *c, uint8_t version, const s7p_header *h)
{
    c->session = atomic_fetch_add(&c->srv->next_session, 1u);
    c->legitimated = false;
    if (RAND_bytes(c->challenge, sizeof c->challenge) != 1) return PLCIO_EINTERNAL;
    uint8_t pdu[128];
    plcio_wcursor w = plcio_wcursor_make(pdu, sizeof pdu);
    answer_header(&w, h->function, h->seq);
    s7p_put_vlq64(&w, 0);
    plcio_wcursor_u8(&w, 1);
    s7p_put_vlq32(&w, c->session);
    s7p_elem e;
    memset(&e, 0, sizeof e);
    e.tag = S7P_E_START_OBJECT;
    e.relation_id = c->session;
    e.class_id = S7P_ID_CLASS_SERVER_SESSION;
    s7p_elem_encode(&w, &e);
    e.tag = S7P_E_ATTRIBUTE;
    e.attribute_id = S7P_ID_SERVER_SESSION_VERSION;
    e.value = s7p_value_udint(SESSION_VERSION);
    s7p_elem_encode(&w, &e);
    e.tag = S7P_E_END_OBJECT;
    s7p_elem_encode(&w, &e);
    plcio_wcursor_u32be(&w, 0);
    log_msg(&c->srv->o.logger, PLCIO_LOG_DEBUG, MOD, "client %u: session 0x%08x%s", c->client, c->session,
            c->state == CS_TLS ? " over TLS" : " without TLS");
    return w.overrun ? PLCIO_EINTERNAL : send_pdu(c, version, pdu, plcio_wcursor_used(&w));
}

/* Explore of the type-info container: the optimized DBs' type objects. */
static int explore_types(conn *c, uint8_t version, const s7p_header *h)
{
    size_t cap = 1u << 16;
    for (int attempt = 0; attempt < 12; attempt++, cap *= 2) {
        uint8_t *pdu = malloc(cap);
        if (!pdu) return PLCIO_ENOMEM;
        plcio_wcursor w = plcio_wcursor_make(pdu, cap);
        answer_header(&w, h->function, h->seq);
        s7p_put_vlq64(&w, 0);
        int rc = s7p_ti_encode_all(&w, c->srv->o.symbols, c->srv->o.tags, c->srv->o.ntags);
        plcio_wcursor_u32be(&w, 0);
        if (rc == PLCIO_ENOSPC || w.overrun) {
            free(pdu);
            continue;
        }
        if (!rc) rc = send_pdu(c, version, pdu, plcio_wcursor_used(&w));
        free(pdu);
        return rc;
    }
    return PLCIO_ELIMIT;
}

/* Explore of thePLCProgram: one object per DB (relation = its access area,
 * class DataBlock) with its name and number. */
static int on_explore(conn *c, uint8_t version, const s7p_header *h, plcio_rcursor *rd)
{
    uint32_t id = plcio_rcursor_left(rd) >= 4 ? plcio_rcursor_u32be(rd) : 0;
    if (id == S7P_ID_TYPE_INFO_CONTAINER && (c->srv->o.symbols || (c->srv->o.tags && c->srv->o.ntags)))
        return explore_types(c, version, h);
    if (id != S7P_ID_NATIVE_THE_PLC_PROGRAM || !c->srv->o.memory.list_dbs) return -1; /* answered as not simulated */
    uint16_t *dbs = malloc(65535 * sizeof *dbs);
    if (!dbs) return PLCIO_ENOMEM;
    size_t n = c->srv->o.memory.list_dbs(c->srv->o.memory.ctx, dbs, 65535);
    size_t cap = 32 + n * 176;
    uint8_t *pdu = malloc(cap);
    if (!pdu) {
        free(dbs);
        return PLCIO_ENOMEM;
    }
    plcio_wcursor w = plcio_wcursor_make(pdu, cap);
    answer_header(&w, h->function, h->seq);
    s7p_put_vlq64(&w, 0);
    for (size_t k = 0; k < n; k++) {
        char name[136];
        const char *sname = sym_db_name(c->srv, dbs[k]);
        if (sname && strlen(sname) < 128)
            snprintf(name, sizeof name, "%s", sname);
        else
            snprintf(name, sizeof name, "DB%u", (unsigned)dbs[k]);
        s7p_elem e;
        memset(&e, 0, sizeof e);
        e.tag = S7P_E_START_OBJECT;
        e.relation_id = S7P_ID_DB_ACCESS_AREA_BASE + dbs[k];
        e.class_id = S7P_ID_DB_CLASS;
        s7p_elem_encode(&w, &e);
        e.tag = S7P_E_ATTRIBUTE;
        e.attribute_id = S7P_ID_OBJECT_VARIABLE_TYPE_NAME;
        e.value = s7p_value_wstring(name);
        s7p_elem_encode(&w, &e);
        e.attribute_id = S7P_ID_BLOCK_NUMBER;
        e.value = s7p_value_udint(dbs[k]);
        s7p_elem_encode(&w, &e);
        e.tag = S7P_E_END_OBJECT;
        s7p_elem_encode(&w, &e);
    }
    plcio_wcursor_u32be(&w, 0);
    int rc = w.overrun ? PLCIO_EINTERNAL : send_pdu(c, version, pdu, plcio_wcursor_used(&w));
    free(pdu);
    free(dbs);
    return rc;
}

/* InitSSL, DeleteObject, and refusals: a return value and the fill. */
static int answer_plain(conn *c, uint8_t version, const s7p_header *h, uint64_t ret)
{
    uint8_t pdu[32];
    plcio_wcursor w = plcio_wcursor_make(pdu, sizeof pdu);
    answer_header(&w, h->function, h->seq);
    s7p_put_vlq64(&w, ret);
    plcio_wcursor_u32be(&w, 0);
    return send_pdu(c, version, pdu, plcio_wcursor_used(&w));
}

/* ---- subscriptions (s7p_server_sub.c) ------------------------------------------- */

static int sub_read(void *ctx, const s7p_address *a, uint8_t *out, size_t cap, s7p_value *v, unsigned *dialect)
{
    conn *c = ctx;
    item_ref it;
    int rc = item_of(c, a, &it);
    if (rc) return rc;
    if (it.protection || it.cpu_state || it.challenge || it.answer || it.type_rid || it.optimized_raw)
        return PLCIO_EUNSUPPORTED;
    if (!open_access(c) && c->srv->o.protection_level >= 3) return PLCIO_EACCESS;
    if (it.size > cap) return PLCIO_ERANGE;
    if ((rc = c->srv->o.memory.read(c->srv->o.memory.ctx, it.area, it.db, it.start, it.size, out))) return rc;
    *dialect = 0;
    /* a member of an optimized DB by its LID chain: its typed value, as a symbolic read answers */
    if (it.sym) return s7p_sym_to_pvalue(it.stype, it.slen, out, it.size, (int)(it.bitpos % 8), v);
    *v = s7p_value_blob(out, it.size);
    *dialect = it.compact ? S7P_COMPACT_BLOB : 0;
    return PLCIO_OK;
}

static int sub_send(void *ctx, uint8_t version, const uint8_t *pdu, size_t len)
{
    return send_pdu(ctx, version, pdu, len);
}

static srvsub_host sub_host(conn *c) { return (srvsub_host){sub_read, sub_send, c, &c->srv->o.logger, c->client}; }

/* 1: not a subscription */
static int sub_create(conn *c, uint8_t version, const s7p_header *h, plcio_rcursor *rd)
{
    if (!c->subs && !(c->subs = srvsub_new())) return PLCIO_ENOMEM;
    srvsub_host host = sub_host(c);
    return srvsub_create(c->subs, &host, version, h, rd->pos, plcio_rcursor_left(rd));
}

int plcio_s7plus_server_conn_tick(void *handle, uint64_t now_ns)
{
    conn *c = handle;
    if (!c->subs || !srvsub_count(c->subs)) return PLCIO_OK;
    srvsub_host host = sub_host(c);
    return srvsub_tick(c->subs, &host, now_ns);
}

static int on_pdu(conn *c, uint8_t version, const uint8_t *data, size_t len)
{
    plcio_rcursor rd = plcio_rcursor_make(data, len);
    s7p_header h;
    int rc = s7p_header_decode(&rd, &h);
    if (rc || h.opcode != S7P_OP_REQUEST) return refuse(c, PLCIO_EPROTO, "not a request");
    if (h.function == S7P_FN_INIT_SSL) {
        if (c->state != CS_INIT_SSL) return refuse(c, PLCIO_EPROTO, "InitSSL twice");
        c->state = CS_DECIDE;
        return answer_plain(c, version, &h, 0);
    }
    if (c->state == CS_INIT_SSL || c->state == CS_DECIDE) return refuse(c, PLCIO_EPROTO, "request before InitSSL");
    if (h.function == S7P_FN_CREATE_OBJECT && c->session == 0) {
        if (h.session != S7P_ID_OBJECT_NULL_SERVER_SESSION) return refuse(c, PLCIO_EPROTO, "CreateObject not on 288");
        return on_create(c, version, &h);
    }
    if (c->session == 0 || h.session != c->session) return refuse(c, PLCIO_EPROTO, "request outside the session");
    switch (h.function) {
    case S7P_FN_SET_MULTI_VARS: return on_set_multi(c, version, &h, &rd);
    case S7P_FN_GET_MULTI_VARS:
        if (!c->setup_done) return answer_plain(c, version, &h, ERR_NOT_FOUND);
        return on_get_multi(c, version, &h, &rd);
    case S7P_FN_DELETE_OBJECT:
        if (plcio_rcursor_left(&rd) >= 4 && c->subs && srvsub_delete(c->subs, plcio_get_u32be(rd.pos)))
            return answer_plain(c, version, &h, 0);
        /* the session is named, or (python-snap7's disconnect) only the fill is there */
        if (plcio_rcursor_left(&rd) >= 4 && plcio_get_u32be(rd.pos) != c->session && plcio_get_u32be(rd.pos) != 0)
            return answer_plain(c, version, &h, ERR_NOT_FOUND); /* no such object */
        c->setup_done = false;
        srvsub_free(c->subs); /* the session's subscriptions end with it */
        c->subs = NULL;
        return answer_plain(c, version, &h, 0);
    case S7P_FN_CREATE_OBJECT:
        if (c->setup_done && (rc = sub_create(c, version, &h, &rd)) <= 0) return rc;
        return answer_plain(c, version, &h, ERR_NOT_FOUND);
    case S7P_FN_SET_VARIABLE: {
        uint64_t ret = 0;
        if (c->subs && srvsub_setvar(c->subs, rd.pos, plcio_rcursor_left(&rd), &ret))
            return h.flags == S7P_FLAGS_NO_ANSWER ? PLCIO_OK : answer_plain(c, version, &h, ret);
        return answer_plain(c, version, &h, ERR_NOT_FOUND);
    }
    case S7P_FN_EXPLORE:
        if (c->setup_done && (rc = on_explore(c, version, &h, &rd)) >= 0) return rc;
        return answer_plain(c, version, &h, ERR_NOT_FOUND);
    default:
        log_msg(&c->srv->o.logger, PLCIO_LOG_DEBUG, MOD, "client %u: %s not simulated", c->client,
                s7p_function_name(h.function));
        return answer_plain(c, version, &h, ERR_NOT_FOUND);
    }
}

/* Complete PDUs off the plain-text stream. */
static int drain_app(conn *c)
{
    for (;;) {
        size_t off = 0;
        c->pdu.len = 0;
        uint8_t version = 0;
        bool last = false;
        while (!last) {
            s7p_frame f;
            size_t need = 0;
            int rc = s7p_frame_decode(c->app.p + off, c->app.len - off, &f, &need);
            if (rc == PLCIO_EAGAIN) return c->app.len > MAX_STREAM ? PLCIO_ELIMIT : PLCIO_OK;
            if (rc) return refuse(c, rc, "malformed S7CommPlus frame");
            if ((rc = buf_add(&c->pdu, f.data, f.len))) return rc;
            version = f.version;
            off += f.used;
            last = f.last;
        }
        int rc = on_pdu(c, version, c->pdu.p, c->pdu.len);
        buf_drop(&c->app, off);
        if (rc) return rc;
        if (c->app.len == 0) return PLCIO_OK;
    }
}

static int tls_in(conn *c, const uint8_t *data, size_t n)
{
    if (BIO_write(SSL_get_rbio(c->ssl), data, (int)n) != (int)n) return PLCIO_ENOMEM;
    if (!SSL_is_init_finished(c->ssl)) {
        int r = SSL_do_handshake(c->ssl);
        int rc = flush_tls(c);
        if (rc) return rc;
        if (r != 1) {
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return PLCIO_OK;
            unsigned long le = ERR_get_error();
            ERR_clear_error();
            return refuse(c, PLCIO_EACCESS, "TLS handshake failed: %s", le ? ERR_reason_error_string(le) : "?");
        }
        log_msg(&c->srv->o.logger, PLCIO_LOG_DEBUG, MOD, "client %u: %s", c->client, SSL_get_version(c->ssl));
    }
    uint8_t chunk[16384];
    for (;;) {
        int k = SSL_read(c->ssl, chunk, sizeof chunk);
        if (k > 0) {
            int rc = buf_add(&c->app, chunk, (size_t)k);
            if (rc) return rc;
            continue;
        }
        int e = SSL_get_error(c->ssl, k);
        if (e == SSL_ERROR_WANT_READ) break;
        ERR_clear_error();
        return e == SSL_ERROR_ZERO_RETURN ? PLCIO_ECLOSED : refuse(c, PLCIO_EPROTO, "TLS record error");
    }
    return drain_app(c);
}

static int on_dt(conn *c, const uint8_t *data, size_t n)
{
    if (n == 0) return PLCIO_OK;
    if (c->state == CS_DECIDE) { /* after InitSSL: a TLS ClientHello, or V1 in the clear */
        if (data[0] == 0x16 && c->srv->ctx) {
            c->ssl = SSL_new(c->srv->ctx);
            BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
            if (!c->ssl || !rb || !wb) {
                BIO_free(rb);
                BIO_free(wb);
                return PLCIO_ENOMEM;
            }
            SSL_set_bio(c->ssl, rb, wb);
            SSL_set_accept_state(c->ssl);
            c->state = CS_TLS;
        } else if (data[0] == S7P_PROTOCOL_ID && c->srv->o.allow_plain) {
            c->state = CS_PLAIN;
        } else {
            return refuse(c, PLCIO_EACCESS, "%s", c->srv->ctx ? "neither TLS nor an allowed plain session" : "no TLS");
        }
    }
    if (c->state == CS_TLS) return tls_in(c, data, n);
    int rc = buf_add(&c->app, data, n);
    return rc ? rc : drain_app(c);
}

static int on_cr(conn *c, const uint8_t *t, size_t n)
{
    /* CC: echo the references and TSAPs, TPDU size 1024 */
    if (n < 7) return PLCIO_EPROTO;
    n = (size_t)t[0] + 1; /* the header's own length */
    uint8_t cc[64] = {3, 0, 0, 0, 0, 0xD0, t[4], t[5], 0, 1, 0};
    size_t len = 11;
    size_t pos = 7;
    while (pos + 2 <= n && len + 2 + t[pos + 1] + 3 <= sizeof cc) {
        uint8_t code = t[pos], plen = t[pos + 1];
        if (pos + 2 + plen > n) return PLCIO_EPROTO;
        if (code == 0xC1 || code == 0xC2) {
            cc[len++] = code;
            cc[len++] = plen;
            memcpy(cc + len, t + pos + 2, plen);
            len += plen;
        }
        pos += 2 + (size_t)plen;
    }
    cc[len++] = 0xC0;
    cc[len++] = 1;
    cc[len++] = 0x0A;
    cc[4] = (uint8_t)(len - 5);
    cc[2] = (uint8_t)(len >> 8);
    cc[3] = (uint8_t)len;
    c->state = CS_INIT_SSL;
    return buf_add(&c->out, cc, len);
}

/* ---- the handoff functions --------------------------------------------------------- */

void *plcio_s7plus_server_accept(void *server, const uint8_t *called_tsap, size_t tsap_len, unsigned client)
{
    if (tsap_len != 16 || memcmp(called_tsap, REMOTE_TSAP, 16) != 0) return NULL;
    conn *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->srv = server;
    c->client = client;
    c->state = CS_CR;
    return c;
}

int plcio_s7plus_server_conn_feed(void *handle, const uint8_t *data, size_t len)
{
    conn *c = handle;
    int rc = buf_add(&c->rx, data, len);
    if (rc) return rc;
    size_t off = 0;
    while (c->rx.len - off >= 4) {
        const uint8_t *p = c->rx.p + off;
        size_t n = (size_t)(p[2] << 8 | p[3]);
        if (p[0] != 3 || n < 7) return refuse(c, PLCIO_EPROTO, "not a TPKT frame");
        if (c->rx.len - off < n) break;
        const uint8_t *t = p + 4;
        if ((size_t)t[0] + 1 > n - 4) return refuse(c, PLCIO_EPROTO, "malformed COTP");
        uint8_t code = t[1] & 0xF0;
        if (c->state == CS_CR)
            rc = code == 0xE0 ? on_cr(c, t, n - 4) : PLCIO_EPROTO;
        else if (code == 0xF0)
            rc = on_dt(c, t + t[0] + 1, n - 4 - t[0] - 1);
        else if (code == 0x80)
            rc = PLCIO_ECLOSED;
        else
            rc = refuse(c, PLCIO_EPROTO, "unexpected COTP TPDU");
        off += n;
        if (rc) break;
    }
    buf_drop(&c->rx, off);
    if (!rc && c->rx.len > MAX_STREAM) rc = PLCIO_ELIMIT;
    return rc;
}

const uint8_t *plcio_s7plus_server_conn_output(void *handle, size_t *len)
{
    conn *c = handle;
    *len = c->out.len;
    return c->out.p;
}

void plcio_s7plus_server_conn_output_done(void *handle, size_t n) { buf_drop(&((conn *)handle)->out, n); }

void plcio_s7plus_server_conn_close(void *handle)
{
    conn *c = handle;
    if (!c) return;
    SSL_free(c->ssl);
    srvsub_free(c->subs);
    free(c->rx.p);
    free(c->app.p);
    free(c->out.p);
    free(c->frame.p);
    free(c->pdu.p);
    free(c);
}
