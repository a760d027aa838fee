/* Turning a configuration into devices, groups and tags: load the layouts,
 * resolve every member and address through the device's driver, plan the reads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plcio/s7plus.h"
#include "plcio/url.h"
#include "sync/historian.h"
#include "sync/sync_engine_priv.h"

static const sync_driver_ops *const builtin_drivers[] = {&plcio_driver_s7, &plcio_driver_s7plus, &plcio_driver_modbus};

static bool scheme_matches(const sync_driver_ops *ops, const char *scheme)
{
    const char *p = ops->scheme;
    size_t n = strlen(p);
    /* "s7" must match "s7" exactly; "modbus-" matches every modbus-* scheme. */
    return p[n - 1] == '-' ? strncmp(scheme, p, n) == 0 : strcmp(scheme, p) == 0;
}

const sync_driver_ops *sync_driver_for(const plcio_sync *s, const char *scheme)
{
    /* logo:// is classic S7 with LOGO! TSAPs: the s7 driver (its URL parser knows logo://) */
    if (!strcmp(scheme, "logo")) scheme = "s7";
    for (size_t i = 0; i < s->driver_count; i++)
        if (scheme_matches(s->drivers[i], scheme)) return s->drivers[i];
    return NULL;
}

/* A table the engine cannot use is refused here, before any device opens. */
static int check_driver(const sync_driver_ops *ops, size_t index, char *err, size_t cap)
{
    if (!ops) {
        snprintf(err, cap, "driver %zu: NULL", index);
        return PLCIO_EINVAL;
    }
    const char *name = ops->abi == PLCIO_DRIVER_ABI && ops->scheme ? ops->scheme : "?";
    if (ops->abi != PLCIO_DRIVER_ABI) {
        snprintf(err, cap, "driver %zu: interface version %u, this engine speaks version %d (plcio/driver.h)", index,
                 ops->abi, PLCIO_DRIVER_ABI);
        return PLCIO_EUNSUPPORTED;
    }
    if (!ops->scheme || !ops->scheme[0] || !ops->open || !ops->close || !ops->add_tag || !ops->plan || !ops->connect ||
        !ops->read || !ops->write) {
        snprintf(err, cap, "driver '%s': a URL scheme and every function but free_plan are required", name);
        return PLCIO_EINVAL;
    }
    return PLCIO_OK;
}

int sync_register_drivers(plcio_sync *s, const plcio_sync_options *o, char *err, size_t cap)
{
    size_t extra = o ? o->driver_count : 0;
    size_t n = extra + sizeof builtin_drivers / sizeof builtin_drivers[0];
    if (extra && !o->drivers) return PLCIO_EINVAL;
    s->drivers = calloc(n, sizeof(const plcio_driver *));
    s->driver_state = calloc(n, sizeof *s->driver_state);
    if (!s->drivers || !s->driver_state) return PLCIO_ENOMEM;
    for (size_t i = 0; i < extra; i++) {
        int rc = check_driver(o->drivers[i], i, err, cap);
        if (rc != PLCIO_OK) return rc;
        s->drivers[s->driver_count++] = o->drivers[i];
    }
    for (size_t i = 0; i < sizeof builtin_drivers / sizeof builtin_drivers[0]; i++)
        s->drivers[s->driver_count++] = builtin_drivers[i];
    return PLCIO_OK;
}

/* Names live in blocks of STRING_BLOCK bytes (a longer one in a block of
 * its own): one allocation per block, not one per name (an engine with
 * 30,000 tags paid an allocation and its header for each). */
#define STRING_BLOCK 4096u

const char *sync_keep_string(plcio_sync *s, const char *text, size_t len)
{
    if (len >= s->string_room) {
        if (s->string_count == s->string_cap) {
            size_t cap = s->string_cap ? s->string_cap * 2 : 64;
            char **more = realloc(s->strings, cap * sizeof *more);
            if (!more) return NULL;
            s->strings = more;
            s->string_cap = cap;
        }
        size_t block = len + 1 > STRING_BLOCK ? len + 1 : STRING_BLOCK;
        char *b = malloc(block);
        if (!b) return NULL;
        s->strings[s->string_count++] = b;
        s->string_at = b;
        s->string_room = block;
    }
    char *copy = s->string_at;
    memcpy(copy, text, len);
    copy[len] = '\0';
    s->string_at += len + 1;
    s->string_room -= len + 1;
    return copy;
}

static sync_tag *new_tag(plcio_sync *s)
{
    if (s->tag_count == s->tag_cap) {
        size_t cap = s->tag_cap ? s->tag_cap * 2 : 256;
        sync_tag *more = realloc(s->tags, cap * sizeof *more);
        if (!more) return NULL;
        s->tags = more;
        s->tag_cap = cap;
    }
    sync_tag *t = &s->tags[s->tag_count];
    memset(t, 0, sizeof *t);
    t->index = s->tag_count++;
    return t;
}

/* The layout a group's members come from. */
static int find_layout(plcio_sync *s, const sync_device *d, const plcio_sync_group_spec *gs, const plcio_layout **out,
                       char *err, size_t cap)
{
    size_t n = plcio_layout_set_count(s->layouts);
    if (gs->layout) {
        *out = plcio_layout_set_find(s->layouts, gs->layout);
        if (!*out) {
            snprintf(err, cap, "%s/%s: no data block named '%s' in the layout files", d->name, gs->name, gs->layout);
            return PLCIO_ENOTFOUND;
        }
        return PLCIO_OK;
    }
    for (size_t i = 0; i < n; i++) {
        const plcio_layout *l = plcio_layout_set_get(s->layouts, i);
        if (plcio_layout_db_number(l) == gs->db) {
            *out = l;
            return PLCIO_OK;
        }
    }
    if (n == 1) {
        *out = plcio_layout_set_get(s->layouts, 0);
        return PLCIO_OK;
    }
    snprintf(err, cap,
             n == 0
                 ? "%s/%s: DB %d needs a layout file (add 'layouts:' or --layout)"
                 : "%s/%s: which layout is DB %d? the layout files hold several data blocks; name one with 'layout:'",
             d->name, gs->name, gs->db);
    return PLCIO_ENOTFOUND;
}

typedef struct tag_source {
    const char *name;    /* as the user wants it, or NULL */
    const char *address; /* or */
    const plcio_layout_member *member;
    double deadband;
    bool writable;
} tag_source;

/* A tag comes from an address or from a layout member: its text either way. */
static const char *tag_source_text(const tag_source *src)
{
    if (src->address) return src->address;
    return src->member ? src->member->name : "?";
}

static int add_tag(plcio_sync *s, sync_device *d, sync_group *g, int db, const tag_source *src, bool prefix, char *err,
                   size_t cap)
{
    sync_tag *t = new_tag(s);
    if (!t) return PLCIO_ENOMEM;
    char where[300];
    snprintf(where, sizeof where, "%s/%s", d->name, g->name);
    plcio_error derr;
    plcio_error_clear(&derr);
    int rc = d->ops->add_tag(d, t, src->address, src->member, db, &derr);
    if (rc != PLCIO_OK) {
        snprintf(err, cap, "%s: %s: %s", where, tag_source_text(src), derr.text[0] ? derr.text : plcio_strerror(rc));
        s->tag_count--;
        return rc;
    }
    const char *base = src->name ? src->name : tag_source_text(src);
    char full[512];
    int n = prefix ? snprintf(full, sizeof full, "%s.%s", d->name, base) : snprintf(full, sizeof full, "%s", base);
    if (n < 0 || (size_t)n > PLCIO_SHM_NAME_MAX) {
        snprintf(err, cap, "%s: tag name '%s' is longer than %d bytes", where, full, PLCIO_SHM_NAME_MAX);
        s->tag_count--;
        return PLCIO_ERANGE;
    }
    t->name = sync_keep_string(s, full, (size_t)n);
    if (!t->name) return PLCIO_ENOMEM;
    t->deadband = src->deadband;
    t->writable = src->writable;
    return PLCIO_OK;
}

/* A member that is a struct or an array stands for every leaf inside its bytes. */
static bool spec_writable(const plcio_sync_tag_spec *spec, const plcio_sync_group_spec *gs)
{
    return spec->writable ? spec->writable > 0 : gs->writable;
}

static int add_member(plcio_sync *s, sync_device *d, sync_group *g, const plcio_layout *l, int db,
                      const plcio_sync_tag_spec *spec, bool writable, bool prefix, char *err, size_t cap)
{
    plcio_layout_member m;
    int rc = plcio_layout_lookup(l, spec->member, &m);
    if (rc != PLCIO_OK) {
        snprintf(err, cap, "%s/%s: member '%s' %s in DB %d (%s)", d->name, g->name, spec->member,
                 rc == PLCIO_ERANGE ? "has an index outside its bounds" : "does not exist", db, plcio_layout_name(l));
        return rc;
    }
    if (m.name) {
        tag_source src = {spec->name, NULL, &m, spec->deadband, writable};
        return add_tag(s, d, g, db, &src, prefix, err, cap);
    }
    if (spec->name) {
        snprintf(err, cap, "%s/%s: '%s' is a struct or array: it cannot take the single name '%s'", d->name, g->name,
                 spec->member, spec->name);
        return PLCIO_EINVAL;
    }
    for (size_t i = 0; i < plcio_layout_leaf_count(l); i++) {
        plcio_layout_member leaf;
        if (plcio_layout_leaf(l, i, &leaf) != PLCIO_OK) continue;
        if (leaf.byte < m.byte || leaf.byte >= m.byte + m.size) continue;
        tag_source src = {NULL, NULL, &leaf, spec->deadband, writable};
        rc = add_tag(s, d, g, db, &src, prefix, err, cap);
        if (rc != PLCIO_OK) return rc;
    }
    return PLCIO_OK;
}

static int build_group(plcio_sync *s, sync_device *d, sync_group *g, const plcio_sync_group_spec *gs, bool prefix,
                       char *err, size_t cap)
{
    g->name = gs->name;
    g->device = d;
    g->interval_ns = (uint64_t)gs->interval_ms * PLCIO_NS_PER_MS;
    g->subscribe = gs->subscribe;
    if (g->subscribe && d->ops != &plcio_driver_s7plus) {
        snprintf(err, cap,
                 "%s/%s: subscribe: true needs an S7CommPlus device (s7plus://HOST or s7://HOST?protocol=plus); "
                 "this one is polled: leave subscribe out",
                 d->name, g->name);
        return PLCIO_EINVAL;
    }
    const plcio_layout *l = NULL;
    int rc = PLCIO_OK;
    if (gs->db >= 0) rc = find_layout(s, d, gs, &l, err, cap);
    size_t first = s->tag_count;
    if (rc == PLCIO_OK && gs->all_members) {
        for (size_t i = 0; rc == PLCIO_OK && i < plcio_layout_leaf_count(l); i++) {
            plcio_layout_member leaf;
            rc = plcio_layout_leaf(l, i, &leaf);
            tag_source src = {NULL, NULL, &leaf, 0, gs->writable};
            if (rc == PLCIO_OK) rc = add_tag(s, d, g, gs->db, &src, prefix, err, cap);
        }
    }
    for (size_t i = 0; rc == PLCIO_OK && i < gs->tag_count; i++) {
        const plcio_sync_tag_spec *ts = &gs->tags[i];
        if (ts->member) {
            rc = add_member(s, d, g, l, gs->db, ts, spec_writable(ts, gs), prefix, err, cap);
        } else {
            tag_source src = {ts->name, ts->address, NULL, ts->deadband, spec_writable(ts, gs)};
            rc = add_tag(s, d, g, -1, &src, prefix, err, cap);
        }
    }
    if (rc != PLCIO_OK) return rc;
    g->tag_count = s->tag_count - first;
    if (g->tag_count == 0) {
        snprintf(err, cap, "%s/%s: the group has no tags (the layout of DB %d has no members)", d->name, g->name,
                 gs->db);
        return PLCIO_EINVAL;
    }
    g->tag_first = first; /* pointers are taken once the tag array stops growing */
    return PLCIO_OK;
}

/* s7://...?protocol=plus|auto goes to the S7CommPlus driver (the s7plus://
 * keys apply), protocol=classic (or none) to the classic one. auto is decided
 * here, without connecting: S7CommPlus when the URL holds what a session
 * needs (ca=, insecure=1 or tls=0), else classic S7 on the URL without the
 * S7CommPlus keys, said in the log. It never switches later: a device whose
 * protocol flipped between reconnects would change what its tags mean. */
static int route_s7(sync_device *d, plcio_url *url, char *err, size_t cap)
{
    plcio_s7_protocol proto;
    plcio_error why;
    plcio_error_clear(&why);
    int rc = plcio_url_s7_protocol(url, &proto, &why);
    if (rc != PLCIO_OK) {
        snprintf(err, cap, "%s: %s", d->name, why.text);
        return rc;
    }
    if (proto == PLCIO_S7_PROTOCOL_CLASSIC) return PLCIO_OK;
    if (proto == PLCIO_S7_PROTOCOL_PLUS) {
        d->ops = &plcio_driver_s7plus;
        return PLCIO_OK;
    }
    plcio_s7plus_client_options o;
    plcio_s7plus_client_options_init(&o);
    rc = plcio_s7plus_client_options_from_url(&o, url, &why);
    if (rc == PLCIO_OK && o.tls && !o.insecure && !o.ca_file) {
        rc = PLCIO_EINVAL;
        snprintf(why.text, sizeof why.text, "TLS needs the PLC's CA certificate (ca=FILE), or insecure=1");
    }
    if (rc == PLCIO_OK) {
        d->ops = &plcio_driver_s7plus;
        plcio_sync_device_log(d, PLCIO_LOG_INFO, "%s: protocol=auto: S7CommPlus", d->name);
        return PLCIO_OK;
    }
    plcio_sync_device_log(d, PLCIO_LOG_WARN, "%s: protocol=auto: S7CommPlus not used (%s); classic S7", d->name,
                          why.text);
    /* the classic driver on the URL without the S7CommPlus keys */
    static const char *const plus_only[] = {"protocol", "ca",           "cert",      "key",  "insecure",
                                            "tls",      "tls12",        "dialect",   "name", "keepalive",
                                            "password", "legitimation", "reconnect", NULL};
    size_t kept = 0;
    for (size_t i = 0; i < url->param_count; i++) {
        bool drop = false;
        for (const char *const *k = plus_only; *k && !drop; k++)
            drop = !strcmp(url->params[i].key, *k);
        if (!drop) url->params[kept++] = url->params[i];
    }
    url->param_count = kept;
    return PLCIO_OK;
}

static int build_device(plcio_sync *s, sync_device *d, const plcio_sync_device_spec *ds, bool prefix, char *err,
                        size_t cap)
{
    d->engine = s;
    d->name = ds->name;
    d->url = ds->url;
    d->reconnect_min_ns = (uint64_t)ds->reconnect_min_ms * PLCIO_NS_PER_MS;
    d->reconnect_max_ns = (uint64_t)ds->reconnect_max_ms * PLCIO_NS_PER_MS;
    d->backoff_ns = d->reconnect_min_ns;
    d->stale_after = ds->stale_after_cycles;
    plcio_url url;
    plcio_error why;
    int rc = plcio_url_parse(ds->url, &url, &why);
    if (rc != PLCIO_OK) {
        snprintf(err, cap, "%s: '%s' is not a device URL (%s)", d->name, ds->url, why.text);
        return rc;
    }
    d->ops = sync_driver_for(s, url.scheme);
    if (d->ops == &plcio_driver_s7 && !strcmp(url.scheme, "s7")) {
        rc = route_s7(d, &url, err, cap);
        if (rc != PLCIO_OK) return rc;
    }
    if (!d->ops) {
        snprintf(err, cap,
                 "%s: unknown kind of device '%s://': no driver registered for it (s7://, s7plus://, logo://, "
                 "modbus-tcp://, "
                 "modbus-udp://, "
                 "modbus-rtu://, modbus-ascii://, or a driver of plcio_sync_options.drivers)",
                 d->name, url.scheme);
        return PLCIO_EUNSUPPORTED;
    }
    plcio_error derr;
    plcio_error_clear(&derr);
    rc = d->ops->open(d, &url, &derr);
    if (rc != PLCIO_OK) {
        snprintf(err, cap, "%s: %s", d->name, derr.text[0] ? derr.text : plcio_strerror(rc));
        return rc;
    }
    d->groups = calloc(ds->group_count, sizeof *d->groups);
    if (!d->groups) return PLCIO_ENOMEM;
    d->group_count = ds->group_count;
    for (size_t i = 0; i < ds->group_count; i++) {
        rc = build_group(s, d, &d->groups[i], &ds->groups[i], prefix, err, cap);
        if (rc != PLCIO_OK) return rc;
    }
    return PLCIO_OK;
}

/* Groups hold index ranges while the tag array grows; turn them into pointers. */
static int link_groups(plcio_sync *s)
{
    size_t total = 0;
    for (size_t i = 0; i < s->device_count; i++)
        total += s->devices[i].group_count;
    s->groups = calloc(total ? total : 1, sizeof(sync_group *));
    if (!s->groups) return PLCIO_ENOMEM;
    s->group_count = 0;
    for (size_t i = 0; i < s->device_count; i++) {
        sync_device *d = &s->devices[i];
        for (size_t j = 0; j < d->group_count; j++) {
            sync_group *g = &d->groups[j];
            g->tags = calloc(g->tag_count ? g->tag_count : 1, sizeof(sync_tag *)); /* calloc(0) may be NULL */
            if (!g->tags) return PLCIO_ENOMEM;
            for (size_t k = 0; k < g->tag_count; k++) {
                g->tags[k] = &s->tags[g->tag_first + k];
                g->tags[k]->group = g;
            }
            s->groups[s->group_count++] = g;
        }
    }
    return PLCIO_OK;
}

static int load_layouts(plcio_sync *s, const plcio_sync_config *cfg, char *err, size_t cap)
{
    int rc = plcio_layout_set_new(NULL, &s->layouts, NULL);
    for (size_t i = 0; rc == PLCIO_OK && i < cfg->layout_count; i++)
        rc = plcio_layout_set_add_file(s->layouts, cfg->layout_files[i]);
    if (rc == PLCIO_OK) rc = plcio_layout_set_resolve(s->layouts);
    if (rc != PLCIO_OK) snprintf(err, cap, "%s", plcio_layout_set_last_error(s->layouts)->text);
    return rc;
}

int sync_build(plcio_sync *s, const plcio_sync_config *cfg, char *err, size_t cap)
{
    int rc = load_layouts(s, cfg, err, cap);
    if (rc != PLCIO_OK) return rc;
    s->devices = calloc(cfg->device_count, sizeof *s->devices);
    if (!s->devices) return PLCIO_ENOMEM;
    bool prefix = cfg->device_count > 1; /* "device.tag" once names could clash */
    for (size_t i = 0; i < cfg->device_count; i++) {
        s->device_count = i + 1;
        rc = build_device(s, &s->devices[i], &cfg->devices[i], prefix, err, cap);
        if (rc != PLCIO_OK) return rc;
    }
    rc = link_groups(s);
    for (size_t i = 0; rc == PLCIO_OK && i < s->group_count; i++) {
        sync_group *g = s->groups[i];
        plcio_error derr;
        plcio_error_clear(&derr);
        rc = g->device->ops->plan(g->device, g, &derr);
        if (rc != PLCIO_OK)
            snprintf(err, cap, "%s/%s: cannot plan the reads: %s", g->device->name, g->name,
                     derr.text[0] ? derr.text : plcio_strerror(rc));
    }
    return rc;
}

int sync_open_outputs(plcio_sync *s, const plcio_sync_config *cfg, char *err, size_t cap)
{
    for (size_t i = 0; i < cfg->output_count; i++) {
        if (cfg->outputs[i].kind == PLCIO_OUTPUT_MQTT) continue; /* built above the engine: plcio/mqtt.h */
        const plcio_sink *ops = NULL;
        void *config = NULL;
        char why[200] = "";
        int rc = hist_sink_config(&cfg->outputs[i], &s->logger, &ops, &config, why, sizeof why);
        if (rc != PLCIO_OK) {
            snprintf(err, cap, "output %zu (line %u): %s", i + 1, cfg->outputs[i].line,
                     why[0] ? why : plcio_strerror(rc));
            return rc;
        }
        rc = sync_sink_open(s, &s->sinks[s->sink_count], ops, config, 0, err, cap);
        if (s->sinks[s->sink_count]) s->sink_count++;
        if (rc != PLCIO_OK) return rc;
    }
    return PLCIO_OK;
}

void sync_close_drivers(plcio_sync *s)
{
    /* Closing reports queued reads and writes against groups and tags that must still exist. */
    if (s->drivers_closed) return;
    s->drivers_closed = true;
    for (size_t i = 0; i < s->device_count; i++) {
        sync_device *d = &s->devices[i];
        if (d->ops && d->drv) d->ops->close(d);
    }
}

void sync_unbuild(plcio_sync *s)
{
    sync_close_drivers(s);
    for (size_t i = 0; i < s->device_count; i++) {
        sync_device *d = &s->devices[i];
        for (size_t j = 0; d->groups && j < d->group_count; j++) {
            if (d->groups[j].plan && d->ops && d->ops->free_plan) d->ops->free_plan(&d->groups[j]);
            free(d->groups[j].tags);
        }
        free(d->groups);
    }
    free(s->devices);
    free(s->groups);
    free(s->tags);
    free(s->image);
    free(s->sink_tags);
    for (size_t i = 0; i < s->string_count; i++)
        free(s->strings[i]);
    free(s->strings);
    free(s->drivers);
    free(s->driver_state);
    plcio_layout_set_free(s->layouts);
}

int sync_split_listen(const char *text, const char *dflt, const char *what, char *host, size_t cap, int *port,
                      plcio_error *err)
{
    const char *listen = text ? text : dflt;
    const char *colon = strrchr(listen, ':');
    char *end = NULL;
    long p = colon ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || colon == listen || (size_t)(colon - listen) >= cap || end == colon + 1 || *end || p < 0 || p > 65535)
        return plcio_error_set(err, PLCIO_ESYNTAX, "%s '%s' is not HOST:PORT (0.0.0.0:PORT listens on every interface)",
                               what, listen);
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    *port = (int)p;
    return PLCIO_OK;
}
