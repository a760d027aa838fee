/* YAML configuration of the sync engine (format: include/plcio/sync.h), parsed
 * with libyaml's document API so every node keeps its line and column. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "plcio/core.h"
#include "plcio/sync.h"
#include "plcio/word_order.h"
#include "core/error.h"

#define DEFAULT_SHM_NAME         "plcio"
#define DEFAULT_STATS_MS         1000u
#define DEFAULT_RECONNECT_MIN_MS 100u
#define DEFAULT_RECONNECT_MAX_MS 5000u
#define DEFAULT_STALE_CYCLES     3u
#define MAX_INTERVAL_MS          (24u * 3600u * 1000u)

/* Everything a config owns lives in one arena, freed at once. */
typedef struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    max_align_t data[];
} arena_block;

typedef struct config_owner {
    plcio_sync_config config; /* first: the public pointer is the owner */
    arena_block *blocks;
} config_owner;

typedef struct parse_ctx {
    yaml_document_t *doc;
    config_owner *owner;
    const char *source;
    const char *base_dir;
    char *err;
    size_t err_cap;
} parse_ctx;

static void *arena_alloc(config_owner *o, size_t size)
{
    size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    arena_block *b = o->blocks;
    if (!b || b->cap - b->used < size) {
        size_t cap = size > 8192 ? size : 8192;
        b = malloc(sizeof *b + cap);
        if (!b) return NULL;
        b->cap = cap;
        b->used = 0;
        b->next = o->blocks;
        o->blocks = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += size;
    memset(p, 0, size);
    return p;
}

static char *arena_strndup(config_owner *o, const char *s, size_t len)
{
    char *p = arena_alloc(o, len + 1);
    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

static int fail(parse_ctx *ctx, const yaml_node_t *node, int code, const char *fmt, ...) PLCIO_PRINTF(4, 5);

static int fail(parse_ctx *ctx, const yaml_node_t *node, int code, const char *fmt, ...)
{
    if (!ctx->err || !ctx->err_cap) return code;
    int n = snprintf(ctx->err, ctx->err_cap, "%s:%zu:%zu: ", ctx->source, node ? node->start_mark.line + 1 : 1,
                     node ? node->start_mark.column + 1 : 1);
    if (n < 0 || (size_t)n >= ctx->err_cap) return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->err + n, ctx->err_cap - (size_t)n, fmt, ap);
    va_end(ap);
    return code;
}

static yaml_node_t *node_at(parse_ctx *ctx, yaml_node_item_t id) { return yaml_document_get_node(ctx->doc, id); }

static const char *scalar(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }

static int want_kind(parse_ctx *ctx, const yaml_node_t *n, yaml_node_type_t kind, const char *what)
{
    static const char *const names[] = {"nothing", "a value", "a list", "a mapping"};
    if (n->type == kind) return PLCIO_OK;
    return fail(ctx, n, PLCIO_ESYNTAX, "%s must be %s, not %s", what, names[kind], names[n->type]);
}

static int get_string(parse_ctx *ctx, const yaml_node_t *n, const char *what, const char **out)
{
    int rc = want_kind(ctx, n, YAML_SCALAR_NODE, what);
    if (rc != PLCIO_OK) return rc;
    if (n->data.scalar.length == 0) return fail(ctx, n, PLCIO_ESYNTAX, "%s must not be empty", what);
    if (memchr(n->data.scalar.value, '\0', n->data.scalar.length))
        return fail(ctx, n, PLCIO_ESYNTAX, "%s contains a NUL character", what);
    *out = arena_strndup(ctx->owner, scalar(n), n->data.scalar.length);
    return *out ? PLCIO_OK : PLCIO_ENOMEM;
}

static int get_uint(parse_ctx *ctx, const yaml_node_t *n, const char *what, unsigned long min, unsigned long max,
                    unsigned long *out)
{
    int rc = want_kind(ctx, n, YAML_SCALAR_NODE, what);
    if (rc != PLCIO_OK) return rc;
    const char *s = scalar(n);
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || *end || errno)
        return fail(ctx, n, PLCIO_ESYNTAX, "%s must be a whole number, not '%s'", what, s);
    if (v < min || v > max) return fail(ctx, n, PLCIO_ERANGE, "%s %lu is out of range (%lu..%lu)", what, v, min, max);
    *out = v;
    return PLCIO_OK;
}

static int get_bool(parse_ctx *ctx, const yaml_node_t *n, const char *what, bool *out)
{
    int rc = want_kind(ctx, n, YAML_SCALAR_NODE, what);
    if (rc != PLCIO_OK) return rc;
    const char *s = scalar(n);
    if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on"))
        *out = true;
    else if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off"))
        *out = false;
    else
        return fail(ctx, n, PLCIO_ESYNTAX, "%s must be true or false, not '%s'", what, s);
    return PLCIO_OK;
}

int plcio_sync_parse_mode(const char *text, unsigned *mode)
{
    if (!text || !mode) return PLCIO_EINVAL;
    const char *p = (text[0] == '0' && (text[1] == 'o' || text[1] == 'O')) ? text + 2 : text;
    if (!*p || strlen(p) > 6) return PLCIO_ESYNTAX;
    unsigned v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '7') return PLCIO_ESYNTAX;
        v = v * 8 + (unsigned)(*p - '0');
    }
    if (v > 0777 || (v & 0600) != 0600) return PLCIO_ERANGE;
    *mode = v;
    return PLCIO_OK;
}

static int get_mode(parse_ctx *ctx, const yaml_node_t *n, const char *what, unsigned *out)
{
    int rc = want_kind(ctx, n, YAML_SCALAR_NODE, what);
    if (rc != PLCIO_OK) return rc;
    rc = plcio_sync_parse_mode(scalar(n), out);
    if (rc == PLCIO_ESYNTAX)
        return fail(ctx, n, rc, "%s '%s' is not an octal mode (examples: \"0640\", \"0660\")", what, scalar(n));
    if (rc != PLCIO_OK)
        return fail(ctx, n, rc, "%s '%s' is out of range (at most 0777, and the owner keeps read and write: 06xx)",
                    what, scalar(n));
    return PLCIO_OK;
}

static int get_duration(parse_ctx *ctx, const yaml_node_t *n, const char *what, uint32_t min_ms, uint32_t *out)
{
    int rc = want_kind(ctx, n, YAML_SCALAR_NODE, what);
    if (rc != PLCIO_OK) return rc;
    rc = plcio_sync_parse_duration_ms(scalar(n), out);
    if (rc == PLCIO_ESYNTAX)
        return fail(ctx, n, rc, "%s '%s' is not a duration (examples: 20, 20ms, 1s, 2min)", what, scalar(n));
    if (rc != PLCIO_OK || *out < min_ms || *out > MAX_INTERVAL_MS)
        return fail(ctx, n, PLCIO_ERANGE, "%s '%s' is out of range (%ums to 24h)", what, scalar(n), min_ms);
    return PLCIO_OK;
}

int plcio_sync_parse_duration_ms(const char *text, uint32_t *ms)
{
    if (!text || !ms) return PLCIO_EINVAL;
    if (text[0] < '0' || text[0] > '9') return PLCIO_ESYNTAX;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno) return PLCIO_ERANGE;
    unsigned long long scale;
    if (!*end || !strcmp(end, "ms"))
        scale = 1;
    else if (!strcmp(end, "s"))
        scale = 1000;
    else if (!strcmp(end, "min"))
        scale = 60000;
    else if (!strcmp(end, "h"))
        scale = 3600000;
    else
        return PLCIO_ESYNTAX;
    if (v > UINT32_MAX / scale) return PLCIO_ERANGE;
    *ms = (uint32_t)(v * scale);
    return PLCIO_OK;
}

/* Walk a mapping: for each pair call handle(ctx, key, value, obj); unknown keys
 * are reported by the handler returning PLCIO_ENOTFOUND; duplicate keys are errors. */
typedef int (*pair_handler)(parse_ctx *ctx, const char *key, yaml_node_t *value, void *obj);

static int walk_mapping(parse_ctx *ctx, yaml_node_t *map, const char *what, pair_handler handle, void *obj)
{
    int rc = want_kind(ctx, map, YAML_MAPPING_NODE, what);
    if (rc != PLCIO_OK) return rc;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node_at(ctx, p->key), *v = node_at(ctx, p->value);
        if (!k || !v) return fail(ctx, map, PLCIO_ESYNTAX, "broken %s", what);
        rc = want_kind(ctx, k, YAML_SCALAR_NODE, "a key");
        if (rc != PLCIO_OK) return rc;
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *k2 = node_at(ctx, q->key);
            if (k2 && k2->type == YAML_SCALAR_NODE && !strcmp(scalar(k2), scalar(k)))
                return fail(ctx, k, PLCIO_ESYNTAX, "'%s' is given twice in %s", scalar(k), what);
        }
        rc = handle(ctx, scalar(k), v, obj);
        if (rc == PLCIO_ENOTFOUND) return fail(ctx, k, PLCIO_ESYNTAX, "unknown key '%s' in %s", scalar(k), what);
        if (rc != PLCIO_OK) return rc;
    }
    return PLCIO_OK;
}

static size_t seq_len(const yaml_node_t *n)
{
    return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

/* Parse one element of a sequence (its node e, its index) into item. */
typedef int (*element_parser)(parse_ctx *ctx, yaml_node_t *e, void *item, size_t index);

/* A sequence v into a new arena array of entries of `size` bytes (zeroed,
 * one more kept zero after the last), each parsed by parse_one; *items and
 * *count set. empty: the message when the sequence may not be empty (NULL:
 * it may). */
static int parse_sequence(parse_ctx *ctx, yaml_node_t *v, const char *what, const char *empty, size_t size,
                          void **items, size_t *count, element_parser parse_one)
{
    int rc = want_kind(ctx, v, YAML_SEQUENCE_NODE, what);
    if (rc != PLCIO_OK) return rc;
    size_t n = seq_len(v);
    if (n == 0 && empty) return fail(ctx, v, PLCIO_ESYNTAX, "%s", empty);
    char *a = arena_alloc(ctx->owner, (n + 1) * size);
    if (!a) return PLCIO_ENOMEM;
    *items = a;
    *count = n;
    for (size_t i = 0; i < n && rc == PLCIO_OK; i++)
        rc = parse_one(ctx, node_at(ctx, v->data.sequence.items.start[i]), a + i * size, i);
    return rc;
}

/* ---- tags ---- */

static int tag_pair(parse_ctx *ctx, const char *key, yaml_node_t *v, void *obj)
{
    plcio_sync_tag_spec *t = obj;
    if (!strcmp(key, "name")) return get_string(ctx, v, "tag name", &t->name);
    if (!strcmp(key, "member")) return get_string(ctx, v, "member", &t->member);
    if (!strcmp(key, "address")) return get_string(ctx, v, "address", &t->address);
    if (!strcmp(key, "writable")) {
        bool on = false;
        int rc = get_bool(ctx, v, "writable", &on);
        t->writable = on ? 1 : -1;
        return rc;
    }
    if (!strcmp(key, "deadband")) {
        int rc = want_kind(ctx, v, YAML_SCALAR_NODE, "deadband");
        if (rc != PLCIO_OK) return rc;
        char *end;
        double d = strtod(scalar(v), &end);
        if (end == scalar(v) || *end || !(d >= 0) || d > 1e300)
            return fail(ctx, v, PLCIO_ERANGE, "deadband must be a number >= 0, not '%s'", scalar(v));
        t->deadband = d;
        return PLCIO_OK;
    }
    return PLCIO_ENOTFOUND;
}

static int parse_tag(parse_ctx *ctx, yaml_node_t *n, void *item, size_t index)
{
    plcio_sync_tag_spec *t = item;
    (void)index;
    t->line = (unsigned)n->start_mark.line + 1;
    if (n->type == YAML_SCALAR_NODE) return get_string(ctx, n, "tag", &t->member);
    int rc = walk_mapping(ctx, n, "a tag", tag_pair, t);
    if (rc != PLCIO_OK) return rc;
    if (!t->member == !t->address)
        return fail(ctx, n, PLCIO_ESYNTAX, "a tag needs exactly one of 'member' or 'address'");
    return PLCIO_OK;
}

/* ---- groups ---- */

static int group_pair(parse_ctx *ctx, const char *key, yaml_node_t *v, void *obj)
{
    plcio_sync_group_spec *g = obj;
    unsigned long u = 0; /* read below even when get_uint fails */
    int rc;
    if (!strcmp(key, "name")) return get_string(ctx, v, "group name", &g->name);
    if (!strcmp(key, "interval")) return get_duration(ctx, v, "interval", 1, &g->interval_ms);
    if (!strcmp(key, "layout")) return get_string(ctx, v, "layout", &g->layout);
    if (!strcmp(key, "writable")) return get_bool(ctx, v, "writable", &g->writable);
    if (!strcmp(key, "subscribe")) return get_bool(ctx, v, "subscribe", &g->subscribe);
    if (!strcmp(key, "db")) {
        rc = get_uint(ctx, v, "db", 1, 65535, &u);
        g->db = (int)u;
        return rc;
    }
    if (!strcmp(key, "tags")) {
        void *tags = NULL;
        rc = parse_sequence(ctx, v, "tags", "tags is empty (leave it out to take every member)", sizeof *g->tags, &tags,
                            &g->tag_count, parse_tag);
        g->tags = tags;
        if (rc == PLCIO_OK) g->all_members = false;
        return rc;
    }
    return PLCIO_ENOTFOUND;
}

static int parse_group(parse_ctx *ctx, yaml_node_t *n, void *item, size_t index)
{
    plcio_sync_group_spec *g = item;
    g->db = -1;
    g->interval_ms = 100;
    g->all_members = true;
    g->line = (unsigned)n->start_mark.line + 1;
    int rc = walk_mapping(ctx, n, "a group", group_pair, g);
    if (rc != PLCIO_OK) return rc;
    if (!g->name) {
        char name[32];
        snprintf(name, sizeof name, "group%zu", index + 1);
        g->name = arena_strndup(ctx->owner, name, strlen(name));
        if (!g->name) return PLCIO_ENOMEM;
    }
    if (g->db < 0 && g->all_members)
        return fail(ctx, n, PLCIO_ESYNTAX, "group '%s' has neither 'db' (with a layout) nor 'tags'", g->name);
    for (size_t i = 0; i < g->tag_count; i++)
        if (g->tags[i].member && g->db < 0)
            return fail(ctx, n, PLCIO_ESYNTAX, "group '%s' lists member '%s' (line %u) but no 'db' to take it from",
                        g->name, g->tags[i].member, g->tags[i].line);
    return PLCIO_OK;
}

/* ---- devices ---- */

static int reconnect_pair(parse_ctx *ctx, const char *key, yaml_node_t *v, void *obj)
{
    plcio_sync_device_spec *d = obj;
    if (!strcmp(key, "min")) return get_duration(ctx, v, "reconnect min", 1, &d->reconnect_min_ms);
    if (!strcmp(key, "max")) return get_duration(ctx, v, "reconnect max", 1, &d->reconnect_max_ms);
    return PLCIO_ENOTFOUND;
}

static int device_pair(parse_ctx *ctx, const char *key, yaml_node_t *v, void *obj)
{
    plcio_sync_device_spec *d = obj;
    unsigned long u = 0; /* read below even when get_uint fails */
    int rc;
    if (!strcmp(key, "name")) return get_string(ctx, v, "device name", &d->name);
    if (!strcmp(key, "url")) return get_string(ctx, v, "url", &d->url);
    if (!strcmp(key, "reconnect")) return walk_mapping(ctx, v, "reconnect", reconnect_pair, d);
    if (!strcmp(key, "stale-after")) {
        rc = get_uint(ctx, v, "stale-after", 1, 1000000, &u);
        d->stale_after_cycles = (uint32_t)u;
        return rc;
    }
    if (!strcmp(key, "groups")) {
        void *groups = NULL;
        rc = parse_sequence(ctx, v, "groups", "groups is empty", sizeof *d->groups, &groups, &d->group_count,
                            parse_group);
        d->groups = groups;
        return rc;
    }
    return PLCIO_ENOTFOUND;
}

static int parse_device(parse_ctx *ctx, yaml_node_t *n, void *item, size_t index)
{
    plcio_sync_device_spec *d = item;
    d->reconnect_min_ms = DEFAULT_RECONNECT_MIN_MS;
    d->reconnect_max_ms = DEFAULT_RECONNECT_MAX_MS;
    d->stale_after_cycles = DEFAULT_STALE_CYCLES;
    d->line = (unsigned)n->start_mark.line + 1;
    int rc = walk_mapping(ctx, n, "a device", device_pair, d);
    if (rc != PLCIO_OK) return rc;
    if (!d->url) return fail(ctx, n, PLCIO_ESYNTAX, "a device needs a 'url'");
    if (!d->groups) return fail(ctx, n, PLCIO_ESYNTAX, "device '%s' has no 'groups'", d->name ? d->name : d->url);
    if (!d->name) {
        char name[32];
        snprintf(name, sizeof name, "device%zu", index + 1);
        d->name = arena_strndup(ctx->owner, name, strlen(name));
        if (!d->name) return PLCIO_ENOMEM;
    }
    if (d->reconnect_min_ms > d->reconnect_max_ms)
        return fail(ctx, n, PLCIO_ERANGE, "device '%s': reconnect min (%ums) is above max (%ums)", d->name,
                    d->reconnect_min_ms, d->reconnect_max_ms);
    return PLCIO_OK;
}

/* ---- outputs (historians) ---- */

static int output_pair(parse_ctx *ctx, const char *key, yaml_node_t *v, void *obj)
{
    plcio_sync_output_spec *o = obj;
    bool pg = o->kind == PLCIO_OUTPUT_POSTGRES;
    if (!strcmp(key, pg ? "conninfo" : "url")) return get_string(ctx, v, key, &o->target);
    if (pg && !strcmp(key, "table")) return get_string(ctx, v, "table", &o->table);
    if (pg && !strcmp(key, "create")) return get_bool(ctx, v, "create", &o->create);
    if (!pg && !strcmp(key, "token-file")) return get_string(ctx, v, "token-file", &o->token_file);
    if (!pg && !strcmp(key, "gzip")) return get_bool(ctx, v, "gzip", &o->gzip);
    if (!strcmp(key, "on-change")) return get_bool(ctx, v, "on-change", &o->on_change);
    if (!strcmp(key, "flush")) return get_duration(ctx, v, "flush", 1, &o->flush_ms);
    if (!strcmp(key, "every")) {
        if (v->type == YAML_SCALAR_NODE && !strcmp(scalar(v), "0")) return PLCIO_OK;
        return get_duration(ctx, v, "every", 1, &o->every_ms);
    }
    if (!strcmp(key, "batch") || !strcmp(key, "queue")) {
        unsigned long u = 0; /* read below even when get_uint fails */
        int rc = get_uint(ctx, v, key, 1, 10000000, &u);
        *(key[0] == 'b' ? &o->batch : &o->queue) = (uint32_t)u;
        return rc;
    }
    return PLCIO_ENOTFOUND;
}

static int resolve_path(parse_ctx *ctx, const yaml_node_t *n, const char *what, const char **out);

/* A string or a list of strings (each not empty). */
static int get_strings(parse_ctx *ctx, yaml_node_t *v, const char *what, const char ***out, size_t *count)
{
    if (v->type == YAML_SCALAR_NODE) {
        *out = arena_alloc(ctx->owner, 2 * sizeof **out);
        *count = 1;
        return *out ? get_string(ctx, v, what, &(*out)[0]) : PLCIO_ENOMEM;
    }
    int rc = want_kind(ctx, v, YAML_SEQUENCE_NODE, what);
    if (rc != PLCIO_OK) return rc;
    *count = seq_len(v);
    *out = arena_alloc(ctx->owner, (*count + 1) * sizeof **out);
    if (!*out) return PLCIO_ENOMEM;
    for (size_t i = 0; i < *count && rc == PLCIO_OK; i++)
        rc = get_string(ctx, node_at(ctx, v->data.sequence.items.start[i]), what, &(*out)[i]);
    return rc;
}

static int mqtt_tls_pair(parse_ctx *ctx, const char *key, yaml_node_t *v, void *obj)
{
    plcio_sync_mqtt_spec *m = obj;
    if (!strcmp(key, "ca")) return resolve_path(ctx, v, "mqtt tls ca", &m->ca_file);
    if (!strcmp(key, "cert")) return resolve_path(ctx, v, "mqtt tls cert", &m->cert_file);
    if (!strcmp(key, "key")) return resolve_path(ctx, v, "mqtt tls key", &m->key_file);
    if (!strcmp(key, "insecure")) return get_bool(ctx, v, "mqtt tls insecure", &m->tls_insecure);
    return PLCIO_ENOTFOUND;
}

/* sparkplug: {group: G, node: N, primary-host: H} of an mqtt output */
static int mqtt_sparkplug_pair(parse_ctx *ctx, const char *key, yaml_node_t *v, void *obj)
{
    plcio_sync_mqtt_spec *m = obj;
    if (!strcmp(key, "group")) return get_string(ctx, v, "sparkplug group", &m->sparkplug_group);
    if (!strcmp(key, "node")) return get_string(ctx, v, "sparkplug node", &m->sparkplug_node);
    if (!strcmp(key, "primary-host")) return get_string(ctx, v, "sparkplug primary-host", &m->sparkplug_host);
    if (!strcmp(key, "namespace")) return get_string(ctx, v, "sparkplug namespace", &m->sparkplug_namespace);
    return PLCIO_ENOTFOUND;
}

static int mqtt_number(parse_ctx *ctx, const char *key, yaml_node_t *v, plcio_sync_mqtt_spec *m)
{
    unsigned long u = 0;
    int rc;
    if (!strcmp(key, "qos")) {
        rc = get_uint(ctx, v, "mqtt qos", 0, 2, &u);
        m->qos = (int)u;
    } else if (!strcmp(key, "version")) {
        rc = want_kind(ctx, v, YAML_SCALAR_NODE, "mqtt version");
        if (rc == PLCIO_OK && (!strcmp(scalar(v), "3.1.1") || !strcmp(scalar(v), "3") || !strcmp(scalar(v), "4")))
            m->version = 3;
        else if (rc == PLCIO_OK && (!strcmp(scalar(v), "5") || !strcmp(scalar(v), "5.0")))
            m->version = 5;
        else if (rc == PLCIO_OK)
            rc = fail(ctx, v, PLCIO_ESYNTAX, "mqtt version must be 3.1.1 or 5, not '%s'", scalar(v));
    } else if (!strcmp(key, "queue")) {
        rc = get_uint(ctx, v, "mqtt queue", 1, 100000000, &u);
        m->queue = (uint32_t)u;
    } else {
        return PLCIO_ENOTFOUND;
    }
    return rc;
}

static int mqtt_pair(parse_ctx *ctx, const char *key, yaml_node_t *v, void *obj)
{
    plcio_sync_mqtt_spec *m = obj;
    if (!strcmp(key, "url") || !strcmp(key, "brokers")) return get_strings(ctx, v, key, &m->brokers, &m->broker_count);
    if (!strcmp(key, "client-id")) return get_string(ctx, v, "mqtt client-id", &m->client_id);
    if (!strcmp(key, "username")) return get_string(ctx, v, "mqtt username", &m->username);
    if (!strcmp(key, "password-file")) return resolve_path(ctx, v, "mqtt password-file", &m->password_file);
    if (!strcmp(key, "password-env")) return get_string(ctx, v, "mqtt password-env", &m->password_env);
    if (!strcmp(key, "keepalive")) {
        uint32_t ms = 0;
        int rc = get_duration(ctx, v, "mqtt keepalive", 1000, &ms);
        m->keepalive_s = ms / 1000;
        return rc;
    }
    if (!strcmp(key, "clean-session")) return get_bool(ctx, v, "mqtt clean-session", &m->clean_session);
    if (!strcmp(key, "tls")) return walk_mapping(ctx, v, "mqtt tls", mqtt_tls_pair, m);
    if (!strcmp(key, "format")) return get_string(ctx, v, "mqtt format", &m->format);
    if (!strcmp(key, "topic")) return get_string(ctx, v, "mqtt topic", &m->topic);
    if (!strcmp(key, "per-tag")) return get_bool(ctx, v, "mqtt per-tag", &m->per_tag);
    if (!strcmp(key, "group-topic")) return get_string(ctx, v, "mqtt group-topic", &m->group_topic);
    if (!strcmp(key, "retain")) return get_bool(ctx, v, "mqtt retain", &m->retain);
    if (!strcmp(key, "on-change")) return get_bool(ctx, v, "mqtt on-change", &m->on_change);
    if (!strcmp(key, "every")) {
        if (v->type == YAML_SCALAR_NODE && !strcmp(scalar(v), "0")) return PLCIO_OK;
        return get_duration(ctx, v, "mqtt every", 1, &m->every_ms);
    }
    if (!strcmp(key, "status-topic")) return get_string(ctx, v, "mqtt status-topic", &m->status_topic);
    if (!strcmp(key, "command-topic")) return get_string(ctx, v, "mqtt command-topic", &m->command_topic);
    if (!strcmp(key, "reply-topic")) return get_string(ctx, v, "mqtt reply-topic", &m->reply_topic);
    if (!strcmp(key, "writable")) return get_strings(ctx, v, "mqtt writable", &m->writable, &m->writable_count);
    if (!strcmp(key, "write-queue")) return get_duration(ctx, v, "mqtt write-queue", 0, &m->write_queue_ms);
    if (!strcmp(key, "queue-file")) return resolve_path(ctx, v, "mqtt queue-file", &m->queue_file);
    if (!strcmp(key, "sparkplug")) return walk_mapping(ctx, v, "mqtt sparkplug", mqtt_sparkplug_pair, m);
    return mqtt_number(ctx, key, v, m);
}

/* - mqtt: URL | {url: ..., ...} */
static int parse_mqtt(parse_ctx *ctx, yaml_node_t *v, plcio_sync_output_spec *o)
{
    plcio_sync_mqtt_spec *m = arena_alloc(ctx->owner, sizeof *m);
    if (!m) return PLCIO_ENOMEM;
    m->line = o->line;
    m->version = 3;
    m->qos = 1;
    m->clean_session = m->per_tag = m->on_change = true;
    o->mqtt = m;
    int rc = v->type == YAML_SCALAR_NODE ? get_strings(ctx, v, "mqtt output", &m->brokers, &m->broker_count)
                                         : walk_mapping(ctx, v, "mqtt output", mqtt_pair, m);
    if (rc != PLCIO_OK) return rc;
    if (!m->broker_count) return fail(ctx, v, PLCIO_ESYNTAX, "mqtt output needs 'url' (mqtt://HOST:PORT)");
    for (size_t i = 0; i < m->broker_count; i++)
        if (strncmp(m->brokers[i], "mqtt://", 7) != 0 && strncmp(m->brokers[i], "mqtts://", 8) != 0)
            return fail(ctx, v, PLCIO_ESYNTAX, "mqtt broker '%s' is not an mqtt:// or mqtts:// URL", m->brokers[i]);
    if (!m->on_change && !m->every_ms)
        return fail(ctx, v, PLCIO_ESYNTAX, "mqtt output publishes nothing: on-change is false and no 'every'");
    if (!m->per_tag && !m->group_topic)
        return fail(ctx, v, PLCIO_ESYNTAX, "mqtt output publishes nothing: per-tag is false and no 'group-topic'");
    if ((m->cert_file == NULL) != (m->key_file == NULL))
        return fail(ctx, v, PLCIO_ESYNTAX, "mqtt tls needs both 'cert' and 'key' (or neither)");
    return PLCIO_OK;
}

/* - postgres: CONNINFO | {conninfo: ..., ...}   - influx: URL | {url: ..., ...} */
static int parse_output(parse_ctx *ctx, yaml_node_t *n, void *item, size_t index)
{
    plcio_sync_output_spec *o = item;
    (void)index;
    o->line = (unsigned)n->start_mark.line + 1;
    o->create = o->on_change = true;
    int rc = want_kind(ctx, n, YAML_MAPPING_NODE, "an output");
    if (rc != PLCIO_OK) return rc;
    yaml_node_pair_t *p = n->data.mapping.pairs.start;
    if (n->data.mapping.pairs.top - p != 1)
        return fail(ctx, n, PLCIO_ESYNTAX, "an output is one of 'postgres:', 'influx:' or 'mqtt:' with its settings");
    yaml_node_t *k = node_at(ctx, p->key), *v = node_at(ctx, p->value);
    if (!k || !v || k->type != YAML_SCALAR_NODE) return fail(ctx, n, PLCIO_ESYNTAX, "broken output");
    if (!strcmp(scalar(k), "postgres"))
        o->kind = PLCIO_OUTPUT_POSTGRES;
    else if (!strcmp(scalar(k), "influx"))
        o->kind = PLCIO_OUTPUT_INFLUX;
    else if (!strcmp(scalar(k), "mqtt"))
        o->kind = PLCIO_OUTPUT_MQTT;
    else
        return fail(ctx, k, PLCIO_ESYNTAX, "unknown output '%s' (postgres, influx, mqtt)", scalar(k));
    if (o->kind == PLCIO_OUTPUT_MQTT) return parse_mqtt(ctx, v, o);
    const char *what = o->kind == PLCIO_OUTPUT_POSTGRES ? "postgres output" : "influx output";
    if (v->type == YAML_SCALAR_NODE) return get_string(ctx, v, what, &o->target);
    rc = walk_mapping(ctx, v, what, output_pair, o);
    if (rc != PLCIO_OK) return rc;
    if (!o->target)
        return fail(ctx, v, PLCIO_ESYNTAX, "%s needs '%s'", what,
                    o->kind == PLCIO_OUTPUT_POSTGRES ? "conninfo" : "url");
    if (!o->on_change && !o->every_ms)
        return fail(ctx, v, PLCIO_ESYNTAX, "%s writes nothing: on-change is false and no 'every'", what);
    return PLCIO_OK;
}

/* ---- modbus-server (the live image as a Modbus TCP server) ---- */

static int modbus_map_pair(parse_ctx *ctx, const char *key, yaml_node_t *v, void *obj)
{
    plcio_sync_modbus_map *m = obj;
    static const struct {
        const char *key;
        int table;
    } tables[] = {{"coil", 0}, {"discrete", 1}, {"input", 3}, {"holding", 4}};
    if (!strcmp(key, "tag")) return get_string(ctx, v, "modbus-server map tag", &m->tag);
    if (!strcmp(key, "order")) {
        const char *o = NULL;
        plcio_mb_order order = PLCIO_MB_ABCD;
        int rc = get_string(ctx, v, "modbus-server map order", &o);
        if (rc == PLCIO_OK && plcio_mb_order_parse(o, &order) != PLCIO_OK)
            return fail(ctx, v, PLCIO_ESYNTAX, "order '%s' is not ABCD, CDAB, BADC or DCBA", o);
        m->order = (int)order;
        return rc;
    }
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        if (strcmp(key, tables[i].key) != 0) continue;
        if (m->table >= 0) return fail(ctx, v, PLCIO_ESYNTAX, "one of holding, input, coil or discrete per entry");
        unsigned long a = 0;
        int rc = get_uint(ctx, v, key, 0, 65535, &a);
        m->table = tables[i].table;
        m->address = (uint16_t)a;
        return rc;
    }
    return PLCIO_ENOTFOUND;
}

static int modbus_map_entry(parse_ctx *ctx, yaml_node_t *e, void *item, size_t index)
{
    plcio_sync_modbus_map *x = item;
    (void)index;
    x->table = -1;
    x->line = (unsigned)e->start_mark.line + 1;
    int rc = walk_mapping(ctx, e, "a modbus-server map entry", modbus_map_pair, x);
    if (rc == PLCIO_OK && !x->tag) rc = fail(ctx, e, PLCIO_ESYNTAX, "a modbus-server map entry needs 'tag'");
    if (rc == PLCIO_OK && x->table < 0)
        rc = fail(ctx, e, PLCIO_ESYNTAX, "map entry '%s' needs holding, input, coil or discrete", x->tag);
    return rc;
}

static int modbus_server_pair(parse_ctx *ctx, const char *key, yaml_node_t *v, void *obj)
{
    plcio_sync_modbus_spec *m = obj;
    if (!strcmp(key, "listen")) return get_string(ctx, v, "modbus-server listen", &m->listen);
    if (!strcmp(key, "writes")) return get_bool(ctx, v, "modbus-server writes", &m->writes);
    if (!strcmp(key, "unit")) {
        unsigned long u = 0;
        int rc = get_uint(ctx, v, "modbus-server unit", 0, 255, &u);
        m->unit = (int)u;
        return rc;
    }
    if (strcmp(key, "map") != 0) return PLCIO_ENOTFOUND;
    void *map = NULL;
    int rc = parse_sequence(ctx, v, "modbus-server map", NULL, sizeof *m->map, &map, &m->map_count, modbus_map_entry);
    m->map = map;
    return rc;
}

/* ---- s7-server (the live image as a classic S7 server) ---- */

static int s7_map_pair(parse_ctx *ctx, const char *key, yaml_node_t *v, void *obj)
{
    plcio_sync_s7_map *m = obj;
    if (!strcmp(key, "tag")) return get_string(ctx, v, "s7-server map tag", &m->tag);
    if (!strcmp(key, "at")) return get_string(ctx, v, "s7-server map at", &m->at);
    return PLCIO_ENOTFOUND;
}

static int s7_map_entry(parse_ctx *ctx, yaml_node_t *e, void *item, size_t index)
{
    plcio_sync_s7_map *x = item;
    (void)index;
    x->line = (unsigned)e->start_mark.line + 1;
    int rc = walk_mapping(ctx, e, "an s7-server map entry", s7_map_pair, x);
    if (rc == PLCIO_OK && (!x->tag || !x->at))
        rc = fail(ctx, e, PLCIO_ESYNTAX, "an s7-server map entry needs 'tag' and 'at'");
    return rc;
}

static int s7_server_pair(parse_ctx *ctx, const char *key, yaml_node_t *v, void *obj)
{
    plcio_sync_s7_spec *m = obj;
    if (!strcmp(key, "listen")) return get_string(ctx, v, "s7-server listen", &m->listen);
    if (!strcmp(key, "writes")) return get_bool(ctx, v, "s7-server writes", &m->writes);
    if (strcmp(key, "map") != 0) return PLCIO_ENOTFOUND;
    void *map = NULL;
    int rc = parse_sequence(ctx, v, "s7-server map", NULL, sizeof *m->map, &map, &m->map_count, s7_map_entry);
    m->map = map;
    return rc;
}

/* ---- top level ---- */

static int resolve_path(parse_ctx *ctx, const yaml_node_t *n, const char *what, const char **out)
{
    const char *p = NULL;
    int rc = get_string(ctx, n, what, &p);
    if (rc != PLCIO_OK) return rc;
    /* get_string sets p when it returns 0; the check says so to the compilers, which do not follow fail(). */
    if (!p) return PLCIO_EINVAL;
    if (p[0] == '/' || !ctx->base_dir || !*ctx->base_dir) {
        *out = p;
        return PLCIO_OK;
    }
    size_t len = strlen(ctx->base_dir) + 1 + strlen(p);
    char *full = arena_alloc(ctx->owner, len + 1);
    if (!full) return PLCIO_ENOMEM;
    snprintf(full, len + 1, "%s/%s", ctx->base_dir, p);
    *out = full;
    return PLCIO_OK;
}

static int http_tls_pair(parse_ctx *ctx, const char *key, yaml_node_t *v, void *obj)
{
    plcio_sync_http_spec *h = obj;
    if (!strcmp(key, "cert")) return resolve_path(ctx, v, "http tls cert", &h->tls_cert);
    if (!strcmp(key, "key")) return resolve_path(ctx, v, "http tls key", &h->tls_key);
    return PLCIO_ENOTFOUND;
}

static int http_pair(parse_ctx *ctx, const char *key, yaml_node_t *v, void *obj)
{
    plcio_sync_http_spec *h = obj;
    if (!strcmp(key, "listen")) return get_string(ctx, v, "http listen", &h->listen);
    if (!strcmp(key, "token-file")) return resolve_path(ctx, v, "http token-file", &h->token_file);
    if (!strcmp(key, "token-env")) return get_string(ctx, v, "http token-env", &h->token_env);
    if (!strcmp(key, "writes")) return get_bool(ctx, v, "http writes", &h->writes);
    if (!strcmp(key, "read-auth")) return get_bool(ctx, v, "http read-auth", &h->read_auth);
    if (!strcmp(key, "tag-metrics")) return get_bool(ctx, v, "http tag-metrics", &h->tag_metrics);
    if (!strcmp(key, "cors-origin")) return get_string(ctx, v, "http cors-origin", &h->cors_origin);
    if (!strcmp(key, "tls")) return walk_mapping(ctx, v, "http tls", http_tls_pair, h);
    return PLCIO_ENOTFOUND;
}

static int json_pair(parse_ctx *ctx, const char *key, yaml_node_t *v, void *obj)
{
    plcio_sync_config *c = obj;
    if (!strcmp(key, "interval")) return get_duration(ctx, v, "json interval", 0, &c->json_interval_ms);
    return PLCIO_ENOTFOUND;
}

/* json: off | on | {interval: 100ms} */
static int get_json(parse_ctx *ctx, yaml_node_t *v, plcio_sync_config *c)
{
    if (v->type != YAML_SCALAR_NODE) return walk_mapping(ctx, v, "json", json_pair, c);
    const char *s = scalar(v);
    if (!strcmp(s, "off") || !strcmp(s, "false") || !strcmp(s, "no"))
        c->json_off = true;
    else if (!strcmp(s, "on") || !strcmp(s, "true") || !strcmp(s, "yes"))
        c->json_off = false;
    else
        return fail(ctx, v, PLCIO_ESYNTAX, "json must be off, on or {interval: 100ms}, not '%s'", s);
    return PLCIO_OK;
}

static int top_pair(parse_ctx *ctx, const char *key, yaml_node_t *v, void *obj)
{
    plcio_sync_config *c = obj;
    int rc;
    if (!strcmp(key, "shm")) return get_string(ctx, v, "shm", &c->shm_name);
    if (!strcmp(key, "shm-mode")) return get_mode(ctx, v, "shm-mode", &c->shm_mode);
    if (!strcmp(key, "shm-group")) return get_string(ctx, v, "shm-group", &c->shm_group);
    if (!strcmp(key, "shm-write-mode")) return get_mode(ctx, v, "shm-write-mode", &c->shm_write_mode);
    if (!strcmp(key, "shm-write-group")) return get_string(ctx, v, "shm-write-group", &c->shm_write_group);
    if (!strcmp(key, "stats-interval")) return get_duration(ctx, v, "stats-interval", 10, &c->stats_interval_ms);
    if (!strcmp(key, "json")) return get_json(ctx, v, c);
    if (!strcmp(key, "layouts")) {
        if (v->type == YAML_SCALAR_NODE) {
            c->layout_count = 1;
            c->layout_files = arena_alloc(ctx->owner, sizeof *c->layout_files);
            return c->layout_files ? resolve_path(ctx, v, "layout file", &c->layout_files[0]) : PLCIO_ENOMEM;
        }
        rc = want_kind(ctx, v, YAML_SEQUENCE_NODE, "layouts");
        if (rc != PLCIO_OK) return rc;
        c->layout_count = seq_len(v);
        c->layout_files = arena_alloc(ctx->owner, (c->layout_count + 1) * sizeof *c->layout_files);
        if (!c->layout_files) return PLCIO_ENOMEM;
        for (size_t i = 0; i < c->layout_count; i++) {
            rc = resolve_path(ctx, node_at(ctx, v->data.sequence.items.start[i]), "layout file", &c->layout_files[i]);
            if (rc != PLCIO_OK) return rc;
        }
        return PLCIO_OK;
    }
    if (!strcmp(key, "http")) {
        c->http.present = true;
        return walk_mapping(ctx, v, "http", http_pair, &c->http);
    }
    if (!strcmp(key, "modbus-server")) {
        c->modbus_server =
            (plcio_sync_modbus_spec){.present = true, .unit = -1, .line = (unsigned)v->start_mark.line + 1};
        return walk_mapping(ctx, v, "modbus-server", modbus_server_pair, &c->modbus_server);
    }
    if (!strcmp(key, "s7-server")) {
        c->s7_server = (plcio_sync_s7_spec){.present = true, .line = (unsigned)v->start_mark.line + 1};
        return walk_mapping(ctx, v, "s7-server", s7_server_pair, &c->s7_server);
    }
    if (!strcmp(key, "devices")) {
        void *devices = NULL;
        rc = parse_sequence(ctx, v, "devices", NULL, sizeof *c->devices, &devices, &c->device_count, parse_device);
        c->devices = devices;
        return rc;
    }
    if (!strcmp(key, "outputs")) {
        void *outputs = NULL;
        rc = parse_sequence(ctx, v, "outputs", NULL, sizeof *c->outputs, &outputs, &c->output_count, parse_output);
        c->outputs = outputs;
        return rc;
    }
    return PLCIO_ENOTFOUND;
}

/* The node a device's error points at: its 'name' value, else the device itself. */
static yaml_node_t *device_node(parse_ctx *ctx, yaml_node_t *root, size_t index)
{
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node_at(ctx, p->key), *v = node_at(ctx, p->value);
        if (!k || !v || k->type != YAML_SCALAR_NODE || strcmp(scalar(k), "devices") != 0) continue;
        if (v->type != YAML_SEQUENCE_NODE || index >= seq_len(v)) return root;
        yaml_node_t *dev = node_at(ctx, v->data.sequence.items.start[index]);
        if (!dev || dev->type != YAML_MAPPING_NODE) return root;
        for (yaml_node_pair_t *q = dev->data.mapping.pairs.start; q < dev->data.mapping.pairs.top; q++) {
            yaml_node_t *dk = node_at(ctx, q->key);
            if (dk && dk->type == YAML_SCALAR_NODE && !strcmp(scalar(dk), "name")) return node_at(ctx, q->value);
        }
        return dev;
    }
    return root;
}

static int check_unique_names(parse_ctx *ctx, yaml_node_t *root)
{
    const plcio_sync_config *c = &ctx->owner->config;
    for (size_t i = 0; i < c->device_count; i++)
        for (size_t j = 0; j < i; j++)
            if (!strcmp(c->devices[i].name, c->devices[j].name))
                return fail(ctx, device_node(ctx, root, i), PLCIO_ESYNTAX,
                            "device name '%s' is used twice (lines %u and %u)", c->devices[i].name, c->devices[j].line,
                            c->devices[i].line);
    return PLCIO_OK;
}

static int parse_document(parse_ctx *ctx)
{
    yaml_node_t *root = yaml_document_get_root_node(ctx->doc);
    if (!root) return fail(ctx, NULL, PLCIO_ESYNTAX, "the configuration is empty");
    plcio_sync_config *c = &ctx->owner->config;
    c->stats_interval_ms = DEFAULT_STATS_MS;
    int rc = walk_mapping(ctx, root, "the configuration", top_pair, c);
    if (rc != PLCIO_OK) return rc;
    if (c->device_count == 0) return fail(ctx, root, PLCIO_ESYNTAX, "no devices: add a 'devices' list");
    if (!c->shm_name) c->shm_name = DEFAULT_SHM_NAME;
    return check_unique_names(ctx, root);
}

void plcio_sync_config_free(plcio_sync_config *config)
{
    if (!config) return;
    config_owner *o = (config_owner *)config;
    for (arena_block *b = o->blocks, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(o);
}

static int sync_config_parse_buf(const char *text, size_t len, const char *source, const char *base_dir,
                                 plcio_sync_config **out, char *err, size_t err_cap)
{
    if (!text || !out) return PLCIO_EINVAL;
    *out = NULL;
    if (err && err_cap) err[0] = '\0';
    config_owner *owner = calloc(1, sizeof *owner);
    if (!owner) return PLCIO_ENOMEM;
    parse_ctx ctx = {NULL, owner, source ? source : "config", base_dir, err, err_cap};

    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        free(owner);
        return PLCIO_ENOMEM;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    int rc;
    if (!yaml_parser_load(&parser, &doc)) {
        yaml_node_t where = {0};
        where.start_mark = parser.problem_mark;
        rc = fail(&ctx, &where, PLCIO_ESYNTAX, "YAML: %s%s%s", parser.problem ? parser.problem : "syntax error",
                  parser.context ? " " : "", parser.context ? parser.context : "");
    } else {
        ctx.doc = &doc;
        rc = parse_document(&ctx);
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    if (rc != PLCIO_OK) {
        plcio_sync_config_free(&owner->config);
        return rc;
    }
    *out = &owner->config;
    return PLCIO_OK;
}

static int sync_config_load_buf(const char *path, plcio_sync_config **out, char *err, size_t err_cap)
{
    if (!path || !out) return PLCIO_EINVAL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (err && err_cap) snprintf(err, err_cap, "%s: %s", path, strerror(errno));
        return PLCIO_ENOTFOUND;
    }
    size_t cap = 16384, len = 0;
    char *text = malloc(cap);
    size_t n;
    while (text && (n = fread(text + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            if (cap >= (16u << 20)) { /* 16 MiB: no configuration is that large */
                free(text);
                (void)fclose(f); /* read-only stream: nothing to lose */
                if (err && err_cap) snprintf(err, err_cap, "%s: file is larger than 16 MiB", path);
                return PLCIO_ERANGE;
            }
            char *bigger = realloc(text, cap *= 2);
            if (!bigger) free(text);
            text = bigger;
        }
    }
    (void)fclose(f); /* read-only stream: nothing to lose */
    if (!text) return PLCIO_ENOMEM;
    char dir[4096];
    if (strlen(path) >= sizeof dir) { /* a cut folder would resolve the layouts elsewhere */
        free(text);
        if (err && err_cap) snprintf(err, err_cap, "%.300s...: path too long", path);
        return PLCIO_ERANGE;
    }
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    int rc = sync_config_parse_buf(text, len, path, dir, out, err, err_cap);
    free(text);
    return rc;
}

int plcio_sync_config_parse(const char *text, size_t len, const char *source, const char *base_dir,
                            plcio_sync_config **out, plcio_error *err)
{
    error_begin(err);
    return error_end(err, sync_config_parse_buf(text, len, source, base_dir, out, ERROR_BUF(err)));
}

int plcio_sync_config_load(const char *path, plcio_sync_config **out, plcio_error *err)
{
    error_begin(err);
    return error_end(err, sync_config_load_buf(path, out, ERROR_BUF(err)));
}
