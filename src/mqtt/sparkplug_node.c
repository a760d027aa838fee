/* The Sparkplug B edge node state machine (sparkplug.h): births, data,
 * deaths, commands, the primary host's STATE, history while offline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "mqtt/sparkplug.h"
#include "plcio/shm.h"

#define HISTORY_DEFAULT 100000u
#define HISTORY_CHUNK   1000u /* metrics per historical DDATA */
#define QUALITY_GOOD    192
#define QUALITY_STALE   500
#define QUALITY_BAD     0
#define REBIRTH_NAME    "Node Control/Rebirth"

typedef struct node_tag {
    const char *metric; /* the tag's name without "device." (the device is in the topic) */
    unsigned datatype;
    size_t device;
    bool writable;
    bool have;    /* a value was read */
    int quality;  /* plcio_shm_quality of the cached value */
    bool dirty;   /* in this round's DDATA */
    bool was_bad; /* the published quality was not good: the next DATA says it again */
    uint64_t ts_ms;
    uint8_t *raw; /* size bytes: the last value */
    char *text;   /* text_cap bytes: string-like values decoded */
    size_t text_cap;
    unsigned stamp; /* history chunk that holds it */
} node_tag;

typedef struct node_device {
    char *name;
    bool up, born;
    size_t dirty_count;
} node_device;

typedef struct hist_entry {
    size_t tag;
    uint64_t ts_ms;
    int quality;
    uint8_t *raw; /* tag size bytes */
} hist_entry;

typedef enum node_state { NODE_OFFLINE, NODE_WAIT_HOST, NODE_ONLINE } node_state;

struct spb_node {
    char *ns, *group, *node, *host;
    int qos;
    plcio_logger logger;
    const plcio_sink_tag *tags;
    size_t tag_count;
    node_tag *t;
    node_device *dev;
    size_t dev_count;
    size_t *dirty; /* tag indices of the round */
    size_t dirty_count;
    spb_emit_fn emit;
    spb_write_fn write;
    void *ctx;

    node_state state;
    unsigned bd_seq; /* of the current (or next) connection */
    bool will_made;
    unsigned seq;
    uint64_t host_ts;
    bool host_online;

    char subs[3][SPB_TOPIC_MAX];
    size_t sub_count;
    char topic[SPB_TOPIC_MAX];
    uint8_t *buf, *will;
    size_t cap, will_cap, will_len;
    spb_metric *m; /* tag_count + 2 */

    hist_entry *hist; /* ring */
    size_t hist_max, hist_head, hist_len;
    unsigned stamp;

    spb_node_stats st;
};

static uint64_t wall_ms(void) { return plcio_realtime_ns() / 1000000u; }

static char *dup_str(const char *s)
{
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static bool name_matches(const char *name, const char *pattern)
{
    size_t n = strlen(pattern);
    if (n && pattern[n - 1] == '*') return strncmp(name, pattern, n - 1) == 0;
    return strcmp(name, pattern) == 0;
}

static size_t device_of(spb_node *n, const char *name)
{
    for (size_t i = 0; i < n->dev_count; i++)
        if (strcmp(n->dev[i].name, name) == 0) return i;
    node_device *d = &n->dev[n->dev_count];
    d->name = dup_str(name);
    return d->name ? n->dev_count++ : SIZE_MAX;
}

static int init_tags(spb_node *n, const spb_node_config *cfg, plcio_error *err)
{
    for (size_t i = 0; i < n->tag_count; i++) {
        const plcio_sink_tag *tag = &n->tags[i];
        node_tag *t = &n->t[i];
        if (!spb_id_valid(tag->device))
            return plcio_error_set(err, PLCIO_EINVAL,
                                   "sparkplug: device name '%s' cannot be a Sparkplug device id (no '/', '+', '#')",
                                   tag->device);
        t->device = device_of(n, tag->device);
        if (t->device == SIZE_MAX) return plcio_error_set(err, PLCIO_ENOMEM, "sparkplug: out of memory");
        t->datatype = spb_datatype_of(tag->type);
        size_t dl = strlen(tag->device);
        bool prefixed = strncmp(tag->name, tag->device, dl) == 0 && tag->name[dl] == '.' && tag->name[dl + 1];
        t->metric = prefixed ? tag->name + dl + 1 : tag->name;
        if (cfg->tag_writable) t->writable = cfg->tag_writable[i];
        for (size_t k = 0; k < cfg->writable_count; k++)
            if (name_matches(tag->name, cfg->writable[k])) t->writable = true;
        t->raw = calloc(tag->size ? tag->size : 1, 1);
        if (t->datatype == SPB_STRING) {
            t->text_cap = 3u * tag->size + 1 > PLCIO_VALUE_TEXT_MAX ? 3u * tag->size + 1 : PLCIO_VALUE_TEXT_MAX;
            t->text_cap = t->text_cap < PLCIO_VALUE_INLINE_TEXT ? PLCIO_VALUE_INLINE_TEXT : t->text_cap;
            t->text = malloc(t->text_cap);
        }
        if (!t->raw || (t->datatype == SPB_STRING && !t->text))
            return plcio_error_set(err, PLCIO_ENOMEM, "sparkplug: out of memory");
    }
    return PLCIO_OK;
}

int spb_node_new(const spb_node_config *cfg, const plcio_sink_tag *tags, size_t tag_count, spb_emit_fn emit,
                 spb_write_fn write, void *ctx, spb_node **out, plcio_error *err)
{
    *out = NULL;
    if (!spb_id_valid(cfg->group_id) || !spb_id_valid(cfg->node_id))
        return plcio_error_set(err, PLCIO_EINVAL,
                               "sparkplug: group and node ids must be non-empty, without '/', '+', '#' (got '%s/%s')",
                               cfg->group_id ? cfg->group_id : "", cfg->node_id ? cfg->node_id : "");
    if (cfg->primary_host && !spb_id_valid(cfg->primary_host))
        return plcio_error_set(err, PLCIO_EINVAL, "sparkplug: primary host id '%s' is not a valid id",
                               cfg->primary_host);
    if (cfg->name_space && !spb_id_valid(cfg->name_space))
        return plcio_error_set(err, PLCIO_EINVAL, "sparkplug: namespace '%s' is not one topic level", cfg->name_space);
    if (cfg->qos < 0 || cfg->qos > 1)
        return plcio_error_set(err, PLCIO_EINVAL, "sparkplug: qos must be 0 or 1 (got %d)", cfg->qos);
    spb_node *n = calloc(1, sizeof *n);
    if (!n) return plcio_error_set(err, PLCIO_ENOMEM, "sparkplug: out of memory");
    n->tags = tags;
    n->tag_count = tag_count;
    n->emit = emit;
    n->write = write;
    n->ctx = ctx;
    n->qos = cfg->qos;
    n->logger = cfg->logger;
    n->hist_max = cfg->history_max ? cfg->history_max : HISTORY_DEFAULT;
    n->ns = dup_str(cfg->name_space ? cfg->name_space : SPB_NAMESPACE);
    n->group = dup_str(cfg->group_id);
    n->node = dup_str(cfg->node_id);
    n->host = dup_str(cfg->primary_host);
    n->t = calloc(tag_count ? tag_count : 1, sizeof *n->t);
    n->dev = calloc(tag_count ? tag_count : 1, sizeof *n->dev);
    n->dirty = calloc(tag_count ? tag_count : 1, sizeof *n->dirty);
    n->m = calloc(tag_count + 2, sizeof *n->m);
    int rc = PLCIO_ENOMEM;
    if (!n->ns || !n->group || !n->node || (cfg->primary_host && !n->host) || !n->t || !n->dev || !n->dirty || !n->m) {
        (void)plcio_error_set(err, rc, "sparkplug: out of memory");
        goto fail;
    }
    rc = init_tags(n, cfg, err);
    if (rc != PLCIO_OK) goto fail;
    (void)snprintf(n->subs[0], SPB_TOPIC_MAX, "%s/%s/NCMD/%s", n->ns, n->group, n->node);
    (void)snprintf(n->subs[1], SPB_TOPIC_MAX, "%s/%s/DCMD/%s/+", n->ns, n->group, n->node);
    n->sub_count = 2;
    if (n->host) {
        (void)snprintf(n->subs[2], SPB_TOPIC_MAX, "%s/STATE/%s", n->ns, n->host);
        n->sub_count = 3;
    }
    *out = n;
    return PLCIO_OK;
fail:
    spb_node_free(n);
    return rc;
}

static void hist_clear(spb_node *n)
{
    for (size_t i = 0; i < n->hist_len; i++)
        free(n->hist[(n->hist_head + i) % n->hist_max].raw);
    n->hist_head = n->hist_len = 0;
}

void spb_node_free(spb_node *n)
{
    if (!n) return;
    if (n->hist) hist_clear(n);
    free(n->hist);
    for (size_t i = 0; n->t && i < n->tag_count; i++) {
        free(n->t[i].raw);
        free(n->t[i].text);
    }
    for (size_t i = 0; n->dev && i < n->dev_count; i++)
        free(n->dev[i].name);
    free(n->t);
    free(n->dev);
    free(n->dirty);
    free(n->m);
    free(n->buf);
    free(n->will);
    free(n->ns);
    free(n->group);
    free(n->node);
    free(n->host);
    free(n);
}

/* ---- publishing ---- */

static int publish(spb_node *n, const char *type, const char *device, const spb_metric *m, size_t count, int seq,
                   int qos)
{
    size_t len = 0;
    int rc = spb_payload_encode(wall_ms(), seq, m, count, &n->buf, &n->cap, &len);
    if (rc != PLCIO_OK) return rc;
    if (device)
        (void)snprintf(n->topic, sizeof n->topic, "%s/%s/%s/%s/%s", n->ns, n->group, type, n->node, device);
    else
        (void)snprintf(n->topic, sizeof n->topic, "%s/%s/%s/%s", n->ns, n->group, type, n->node);
    return n->emit(n->ctx, n->topic, n->buf, len, qos, false);
}

static int next_seq(spb_node *n)
{
    n->seq = (n->seq + 1) & 0xFFu;
    return (int)n->seq;
}

static int quality_code(int q)
{
    return q == PLCIO_SHM_QUALITY_GOOD ? QUALITY_GOOD : q == PLCIO_SHM_QUALITY_STALE ? QUALITY_STALE : QUALITY_BAD;
}

/* Fill a metric from the tag's cached value. */
static void metric_of(spb_node *n, size_t i, spb_metric *m, bool birth)
{
    node_tag *t = &n->t[i];
    memset(m, 0, sizeof *m);
    m->name = birth ? t->metric : NULL;
    m->alias = SPB_ALIAS_BASE + i;
    m->datatype = t->datatype;
    m->timestamp_ms = t->have ? t->ts_ms : wall_ms();
    if (t->have && t->quality != PLCIO_SHM_QUALITY_ERROR)
        (void)spb_metric_from_raw(m, &n->tags[i], t->raw, n->tags[i].size, t->text, t->text_cap);
    else
        m->is_null = true;
    if (birth || t->quality != PLCIO_SHM_QUALITY_GOOD || t->was_bad) {
        m->has_quality = true;
        m->quality = t->have ? quality_code(t->quality) : QUALITY_BAD;
    }
}

static int node_birth(spb_node *n)
{
    spb_metric m[2];
    memset(m, 0, sizeof m);
    uint64_t now = wall_ms();
    m[0] = (spb_metric){.name = "bdSeq", .alias = 0, .datatype = SPB_INT64, .timestamp_ms = now, .u = n->bd_seq};
    m[1] = (spb_metric){
        .name = REBIRTH_NAME, .alias = SPB_ALIAS_REBIRTH, .datatype = SPB_BOOLEAN, .timestamp_ms = now, .b = false};
    n->seq = 0;
    n->st.births++;
    return publish(n, "NBIRTH", NULL, m, 2, 0, n->qos);
}

static int device_birth(spb_node *n, size_t d)
{
    size_t count = 0;
    for (size_t i = 0; i < n->tag_count; i++)
        if (n->t[i].device == d) metric_of(n, i, &n->m[count++], true);
    for (size_t i = 0; i < n->tag_count; i++)
        if (n->t[i].device == d) n->t[i].was_bad = n->t[i].have && n->t[i].quality != PLCIO_SHM_QUALITY_GOOD;
    n->dev[d].born = true;
    n->st.births++;
    return publish(n, "DBIRTH", n->dev[d].name, n->m, count, next_seq(n), n->qos);
}

static int device_death(spb_node *n, size_t d)
{
    n->dev[d].born = false;
    n->st.deaths++;
    return publish(n, "DDEATH", n->dev[d].name, NULL, 0, next_seq(n), n->qos);
}

static int historical_data(spb_node *n);

/* NBIRTH, a DBIRTH per device that is up, then what was kept while offline. */
static int all_births(spb_node *n)
{
    int rc = node_birth(n);
    for (size_t d = 0; rc == PLCIO_OK && d < n->dev_count; d++) {
        n->dev[d].born = false;
        if (n->dev[d].up) rc = device_birth(n, d);
    }
    if (rc == PLCIO_OK) rc = historical_data(n);
    return rc;
}

/* ---- history ---- */

static void hist_push(spb_node *n, size_t tag, uint64_t ts_ms, int quality, const uint8_t *raw, size_t size)
{
    if (!n->hist) {
        n->hist = calloc(n->hist_max, sizeof *n->hist);
        if (!n->hist) {
            n->st.history_dropped++;
            return;
        }
    }
    if (n->hist_len == n->hist_max) { /* full: the oldest goes */
        free(n->hist[n->hist_head].raw);
        n->hist_head = (n->hist_head + 1) % n->hist_max;
        n->hist_len--;
        n->st.history_dropped++;
    }
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) {
        n->st.history_dropped++;
        return;
    }
    if (raw && size) memcpy(copy, raw, size);
    n->hist[(n->hist_head + n->hist_len) % n->hist_max] =
        (hist_entry){.tag = tag, .ts_ms = ts_ms, .quality = quality, .raw = copy};
    n->hist_len++;
}

/* Kept changes as DDATA with is_historical, oldest first: a message holds
 * consecutive entries of one device, each tag once (its text buffer). */
static int historical_data(spb_node *n)
{
    int rc = PLCIO_OK;
    while (n->hist_len && rc == PLCIO_OK) {
        size_t count = 0, dev = n->t[n->hist[n->hist_head].tag].device;
        n->stamp++;
        while (n->hist_len && count < HISTORY_CHUNK) {
            hist_entry *e = &n->hist[n->hist_head];
            node_tag *t = &n->t[e->tag];
            if (t->device != dev || t->stamp == n->stamp) break;
            t->stamp = n->stamp;
            spb_metric *m = &n->m[count];
            if (n->dev[dev].born) {
                memset(m, 0, sizeof *m);
                m->alias = SPB_ALIAS_BASE + e->tag;
                m->datatype = t->datatype;
                m->timestamp_ms = e->ts_ms;
                m->historical = true;
                if (e->quality == PLCIO_SHM_QUALITY_ERROR)
                    m->is_null = true;
                else
                    (void)spb_metric_from_raw(m, &n->tags[e->tag], e->raw, n->tags[e->tag].size, t->text, t->text_cap);
                if (e->quality != PLCIO_SHM_QUALITY_GOOD) {
                    m->has_quality = true;
                    m->quality = quality_code(e->quality);
                }
                count++;
            }
            free(e->raw);
            n->hist_head = (n->hist_head + 1) % n->hist_max;
            n->hist_len--;
        }
        if (count) {
            n->st.data++;
            rc = publish(n, "DDATA", n->dev[dev].name, n->m, count, next_seq(n), n->qos);
        }
    }
    return rc;
}

/* ---- connection ---- */

int spb_node_will(spb_node *n, char *topic, const uint8_t **payload, size_t *len)
{
    if (n->will_made) n->bd_seq = (n->bd_seq + 1) & 0xFFu;
    n->will_made = true;
    spb_metric m = {.name = "bdSeq", .datatype = SPB_INT64, .timestamp_ms = wall_ms(), .u = n->bd_seq};
    int rc = spb_payload_encode(m.timestamp_ms, -1, &m, 1, &n->will, &n->will_cap, &n->will_len);
    if (rc != PLCIO_OK) return rc;
    (void)snprintf(topic, SPB_TOPIC_MAX, "%s/%s/NDEATH/%s", n->ns, n->group, n->node);
    *payload = n->will;
    *len = n->will_len;
    return PLCIO_OK;
}

size_t spb_node_subscription_count(const spb_node *n) { return n->sub_count; }

const char *spb_node_subscription(const spb_node *n, size_t i) { return i < n->sub_count ? n->subs[i] : NULL; }

int spb_node_connected(spb_node *n, uint64_t now_ms)
{
    (void)now_ms;
    if (n->host && !n->host_online) {
        n->state = NODE_WAIT_HOST;
        log_msg(&n->logger, PLCIO_LOG_INFO, "sparkplug", "%s/%s: connected; waiting for primary host '%s' online",
                n->group, n->node, n->host);
        return PLCIO_OK;
    }
    n->state = NODE_ONLINE;
    return all_births(n);
}

void spb_node_disconnected(spb_node *n)
{
    n->state = NODE_OFFLINE;
    /* the host's STATE comes again (retained) on the next connection */
    n->host_online = false;
    for (size_t d = 0; d < n->dev_count; d++)
        n->dev[d].born = false;
}

int spb_node_goodbye(spb_node *n, uint64_t now_ms)
{
    if (n->state == NODE_OFFLINE) return PLCIO_OK;
    spb_metric m = {.name = "bdSeq", .datatype = SPB_INT64, .timestamp_ms = now_ms, .u = n->bd_seq};
    n->st.deaths++;
    return publish(n, "NDEATH", NULL, &m, 1, -1, 1);
}

/* ---- messages from the broker ---- */

/* spBv1.0/STATE/HOST: 3.0 sends JSON {"online": true|false, "timestamp": ms}
 * (retained); 2.x sent the text ONLINE / OFFLINE. */
static int on_state(spb_node *n, const uint8_t *p, size_t len)
{
    char text[256];
    if (len >= sizeof text) {
        log_msg(&n->logger, PLCIO_LOG_WARN, "sparkplug", "STATE of '%s': %zu bytes, ignored", n->host, len);
        return PLCIO_EPROTO;
    }
    memcpy(text, p, len);
    text[len] = '\0';
    bool online;
    uint64_t ts = 0;
    const char *o = strstr(text, "\"online\"");
    if (o) {
        o = strchr(o + 8, ':');
        while (o && (*++o == ' ' || *o == '\t'))
            ;
        if (!o || (strncmp(o, "true", 4) != 0 && strncmp(o, "false", 5) != 0)) {
            log_msg(&n->logger, PLCIO_LOG_WARN, "sparkplug", "STATE of '%s' not understood: %s", n->host, text);
            return PLCIO_EPROTO;
        }
        online = *o == 't';
        const char *t = strstr(text, "\"timestamp\"");
        if (t && (t = strchr(t, ':')) != NULL) ts = strtoull(t + 1, NULL, 10);
    } else if (strcmp(text, "ONLINE") == 0 || strcmp(text, "OFFLINE") == 0) {
        online = text[1] == 'N';
    } else {
        log_msg(&n->logger, PLCIO_LOG_WARN, "sparkplug", "STATE of '%s' not understood: %s", n->host, text);
        return PLCIO_EPROTO;
    }
    if (ts && ts < n->host_ts) /* an older state than the one we know */
        return SPB_OK;
    if (ts) n->host_ts = ts;
    bool was = n->host_online;
    n->host_online = online;
    if (online && !was && n->state == NODE_WAIT_HOST) {
        log_msg(&n->logger, PLCIO_LOG_INFO, "sparkplug", "%s/%s: primary host '%s' online: birth", n->group, n->node,
                n->host);
        n->state = NODE_ONLINE;
        return all_births(n);
    }
    if (!online && n->state == NODE_ONLINE) {
        log_msg(&n->logger, PLCIO_LOG_WARN, "sparkplug", "%s/%s: primary host '%s' offline: NDEATH; waiting for it",
                n->group, n->node, n->host);
        (void)spb_node_goodbye(n, wall_ms());
        n->state = NODE_WAIT_HOST;
        for (size_t d = 0; d < n->dev_count; d++)
            n->dev[d].born = false;
        return SPB_RECONNECT;
    }
    return SPB_OK;
}

static bool is_rebirth(const spb_cmd_metric *m)
{
    bool named = m->name && strcmp(m->name, REBIRTH_NAME) == 0;
    bool aliased = !m->name && m->has_alias && m->alias == SPB_ALIAS_REBIRTH;
    return (named || aliased) && ((m->kind == SPB_VAL_BOOL && m->b) || (m->kind == SPB_VAL_INT && m->u));
}

static int on_ncmd(spb_node *n, const spb_command *c)
{
    bool rebirth = false;
    for (size_t i = 0; i < c->metric_count; i++) {
        if (is_rebirth(&c->metrics[i]))
            rebirth = true;
        else
            log_msg(&n->logger, PLCIO_LOG_WARN, "sparkplug", "NCMD: metric '%s' not supported, ignored",
                    c->metrics[i].name ? c->metrics[i].name : "(alias)");
    }
    if (!rebirth) return PLCIO_OK;
    log_msg(&n->logger, PLCIO_LOG_INFO, "sparkplug", "%s/%s: rebirth asked for", n->group, n->node);
    return n->state == NODE_ONLINE ? all_births(n) : PLCIO_OK;
}

static size_t find_tag(spb_node *n, size_t dev, const spb_cmd_metric *m)
{
    if (m->name) {
        for (size_t i = 0; i < n->tag_count; i++)
            if (n->t[i].device == dev && (!strcmp(n->t[i].metric, m->name) || !strcmp(n->tags[i].name, m->name)))
                return i;
        return SIZE_MAX;
    }
    if (m->has_alias && m->alias >= SPB_ALIAS_BASE && m->alias - SPB_ALIAS_BASE < n->tag_count &&
        n->t[m->alias - SPB_ALIAS_BASE].device == dev)
        return (size_t)(m->alias - SPB_ALIAS_BASE);
    return SIZE_MAX;
}

static void on_dcmd_metric(spb_node *n, size_t dev, const spb_cmd_metric *m)
{
    char label[64];
    if (m->name)
        (void)snprintf(label, sizeof label, "'%.50s'", m->name);
    else
        (void)snprintf(label, sizeof label, "alias %llu", (unsigned long long)m->alias);
    size_t i = find_tag(n, dev, m);
    if (i == SIZE_MAX) {
        n->st.refused++;
        log_msg(&n->logger, PLCIO_LOG_WARN, "sparkplug", "DCMD %s: %s: no such metric, refused", n->dev[dev].name,
                label);
        return;
    }
    if (!n->t[i].writable) {
        n->st.refused++;
        log_msg(&n->logger, PLCIO_LOG_WARN, "sparkplug", "DCMD %s: %s is not writable over Sparkplug, refused",
                n->dev[dev].name, n->tags[i].name);
        return;
    }
    char text[PLCIO_VALUE_INLINE_TEXT];
    plcio_error e;
    plcio_error_clear(&e);
    if (spb_cmd_value_text(m, n->t[i].datatype, text, sizeof text, &e) != PLCIO_OK) {
        n->st.refused++;
        log_msg(&n->logger, PLCIO_LOG_WARN, "sparkplug", "DCMD %s: %s (%s): %s, refused", n->dev[dev].name,
                n->tags[i].name, spb_datatype_name(n->t[i].datatype), e.text);
        return;
    }
    n->st.writes++;
    n->write(n->ctx, i, text);
}

int spb_node_on_message(spb_node *n, const char *topic, const uint8_t *payload, size_t len, uint64_t now_ms)
{
    (void)now_ms;
    if (n->host && strcmp(topic, n->subs[2]) == 0) return on_state(n, payload, len);
    size_t ncmd = strlen(n->subs[0]);
    char prefix[SPB_TOPIC_MAX];
    int pl = snprintf(prefix, sizeof prefix, "%s/%s/DCMD/%s/", n->ns, n->group, n->node);
    bool is_ncmd = strcmp(topic, n->subs[0]) == 0;
    bool is_dcmd = pl > 0 && strncmp(topic, prefix, (size_t)pl) == 0;
    (void)ncmd;
    if (!is_ncmd && !is_dcmd) return PLCIO_OK;
    spb_command c;
    plcio_error e;
    plcio_error_clear(&e);
    int rc = spb_command_decode(payload, len, &c, &e);
    if (rc != PLCIO_OK) {
        log_msg(&n->logger, PLCIO_LOG_WARN, "sparkplug", "%s: %s", topic, e.text);
        return rc;
    }
    n->st.commands++;
    if (is_ncmd) {
        rc = on_ncmd(n, &c);
    } else {
        const char *dev_name = topic + pl;
        size_t d = 0;
        while (d < n->dev_count && strcmp(n->dev[d].name, dev_name) != 0)
            d++;
        if (d == n->dev_count) {
            n->st.refused++;
            log_msg(&n->logger, PLCIO_LOG_WARN, "sparkplug", "DCMD for unknown device '%.100s', refused", dev_name);
        } else {
            for (size_t i = 0; i < c.metric_count; i++)
                on_dcmd_metric(n, d, &c.metrics[i]);
        }
    }
    spb_command_free(&c);
    return rc;
}

/* ---- the engine's events ---- */

static void on_tag(spb_node *n, const plcio_sink_event *ev)
{
    if (ev->tag >= n->tag_count) return;
    node_tag *t = &n->t[ev->tag];
    const plcio_sink_tag *tag = &n->tags[ev->tag];
    if (!ev->changed && t->have) return;
    size_t size = ev->size < tag->size ? ev->size : tag->size;
    if (ev->value && size) memcpy(t->raw, ev->value, size);
    t->have = true;
    t->quality = ev->quality;
    t->ts_ms = (ev->changed_ns ? ev->changed_ns : ev->read_ns) / 1000000u;
    if (n->state != NODE_ONLINE) {
        hist_push(n, ev->tag, t->ts_ms, t->quality, t->raw, tag->size);
        return;
    }
    if (!n->dev[t->device].born || t->dirty) return;
    t->dirty = true;
    n->dirty[n->dirty_count++] = ev->tag;
    n->dev[t->device].dirty_count++;
}

/* One DDATA per device with changes: alias, value, timestamp. */
static int round_end(spb_node *n)
{
    int rc = PLCIO_OK;
    for (size_t d = 0; d < n->dev_count; d++) {
        if (!n->dev[d].dirty_count) continue;
        size_t count = 0;
        for (size_t k = 0; k < n->dirty_count; k++) {
            size_t i = n->dirty[k];
            if (n->t[i].device != d) continue;
            metric_of(n, i, &n->m[count++], false);
            n->t[i].was_bad = n->t[i].quality != PLCIO_SHM_QUALITY_GOOD;
        }
        n->dev[d].dirty_count = 0;
        n->st.data++;
        if (n->dev[d].born && rc == PLCIO_OK)
            rc = publish(n, "DDATA", n->dev[d].name, n->m, count, next_seq(n), n->qos);
    }
    for (size_t k = 0; k < n->dirty_count; k++)
        n->t[n->dirty[k]].dirty = false;
    n->dirty_count = 0;
    return rc;
}

static int on_device(spb_node *n, const plcio_sink_event *ev)
{
    /* the engine numbers devices in configuration order, as the tags list them */
    if (ev->device >= n->dev_count) return PLCIO_OK;
    node_device *d = &n->dev[ev->device];
    d->up = ev->connected;
    if (n->state != NODE_ONLINE) return PLCIO_OK;
    if (ev->connected && !d->born) return device_birth(n, ev->device);
    if (!ev->connected && d->born) return device_death(n, ev->device);
    return PLCIO_OK;
}

int spb_node_on_events(spb_node *n, const plcio_sink_event *events, size_t count)
{
    int rc = PLCIO_OK;
    for (size_t i = 0; i < count; i++) {
        const plcio_sink_event *ev = &events[i];
        int r = PLCIO_OK;
        switch (ev->kind) {
        case PLCIO_SINK_TAG: on_tag(n, ev); break;
        case PLCIO_SINK_ROUND_END: r = round_end(n); break;
        case PLCIO_SINK_DEVICE_STATE: r = on_device(n, ev); break;
        default: break;
        }
        if (r != PLCIO_OK && rc == PLCIO_OK) rc = r;
    }
    return rc;
}

void spb_node_get_stats(const spb_node *n, spb_node_stats *out)
{
    *out = n->st;
    out->history = n->hist_len;
    out->bd_seq = n->bd_seq;
    out->seq = n->seq;
}
