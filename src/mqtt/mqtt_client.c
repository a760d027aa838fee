/* The MQTT output's client (mqtt_internal.h): libmosquitto on the engine's
 * event loop, broker failover with backoff, and the store-and-forward queue.
 *
 * Messages wait in an sf_queue (sync/sf_queue.h) in order. While connected, up
 * to WINDOW of the oldest are handed to libmosquitto; one leaves the queue once
 * the broker took it (QoS 0: written to the socket; QoS 1/2: acknowledged), so
 * a connection lost with messages in flight loses none of them: they are sent
 * again on the next connection (at least once; order kept). Each connection
 * gets a fresh libmosquitto handle, so libmosquitto never resends copies of
 * its own next to ours. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "mqtt/mqtt_internal.h"
#include "plcio/loop.h"
#include "plcio/url.h"
#include "sync/sf_queue.h"

#define WINDOW              1024u /* messages handed to libmosquitto at once (QoS 0) */
#define WINDOW_ACKED        128u  /* QoS 1 and 2: libmosquitto walks its in-flight list on every acknowledgement */
#define DEFAULT_QUEUE       100000u
#define DEFAULT_KEEPALIVE_S 30u
#define TICK_NS             (250u * PLCIO_NS_PER_MS) /* keep-alive, retries, connect timeout */
#define BACKOFF_MIN_MS      100u
#define BACKOFF_MAX_MS      5000u
#define CONNECT_TIMEOUT_NS  (10000ull * PLCIO_NS_PER_MS)
#define DRAIN_MS            2000                      /* at a clean stop: how long the queue may take to drain */
#define SPOOL_FLUSH_NS      (100u * PLCIO_NS_PER_MS)  /* queue file: one write per this, at most */
#define SPOOL_SYNC_NS       (1000u * PLCIO_NS_PER_MS) /* queue file: one fdatasync per this, at most */

/* A broker's name resolved (and the connection started) on a helper thread:
 * getaddrinfo may wait seconds for a slow DNS, and the engine's loop never
 * waits. The job owns the libmosquitto handle until the loop takes it back;
 * whoever lets go last (loop or thread) frees the job, so an abandoned one
 * (connect timeout, stop) cleans up after itself when its lookup ends. */
typedef struct resolve_job {
    pthread_mutex_t lock;
    int refs;
    int pipe[2]; /* the thread writes a byte when done; the loop watches [0] */
    struct mosquitto *mosq;
    char host[256];
    int port, keepalive;
    int rc, err_no;
} resolve_job;

typedef struct broker {
    char *url;
    char host[256];
    int port;
    bool tls;
} broker;

typedef enum link_state { LINK_DOWN, LINK_CONNECTING, LINK_UP } link_state;

static const mqtt_format *const mqtt_formats[] = {&mqtt_format_json, &mqtt_format_sparkplug, NULL};

struct plcio_mqtt {
    plcio_sync_mqtt_spec spec; /* deep copy: strings in `strings` */
    char **strings;
    size_t string_count;
    plcio_logger logger;
    broker *brokers;
    size_t broker_count, broker_at;
    char *client_id, *password;
    const mqtt_format *fmt;
    void *fmt_state;
    /* the engine */
    plcio_sync *sync;
    plcio_loop *loop;
    plcio_loop_watch watch;
    const plcio_sink_tag *tags;
    size_t tag_count;
    bool *writable;
    size_t *index; /* open addressing: tag + 1, 0 empty */
    size_t index_cap;
    bool opened, started, closed;
    /* the connection */
    struct mosquitto *mosq;
    link_state state;
    uint64_t retry_at, connect_deadline;
    unsigned backoff_ms;
    char trouble[256];
    bool lost;    /* set by a callback: tear down after libmosquitto returns */
    bool refused; /* this attempt's refusal (CONNACK) is logged already */
    /* the queue and what of it libmosquitto has */
    sf_queue *queue;
    mqtt_msg *window[WINDOW];
    size_t win_head, win_count, win_max;
    size_t win_unacked; /* the first of the window not yet taken (acknowledgements come in order) */
    resolve_job *job;   /* a broker name being resolved (LINK_CONNECTING), or NULL */
    /* the queue file while running (queue-file), or NULL */
    mqtt_spool *spool;
    uint64_t spool_flush_at, spool_sync_at;
    uint64_t spool_aged;  /* the queue's pushed count at the last flush: older ones waited a whole interval */
    bool spool_failing;   /* its error is logged already */
    uint64_t spool_syncs; /* statistics */
    /* statistics */
    uint64_t connects, published, commands, writes_ok, writes_failed;
};

static void pump(mqtt_out *m);
static int spool_flush(mqtt_out *m, bool all);
static uint64_t spool_next(const mqtt_out *m);

/* ---- small things ---- */

mqtt_msg *mqtt_msg_new(const char *topic, size_t topic_len, const void *payload, size_t len, int qos, bool retain)
{
    if (topic_len > UINT16_MAX || len > (size_t)256 * 1024 * 1024) return NULL;
    mqtt_msg *g = malloc(sizeof *g + topic_len + 1 + len + 1);
    if (!g) return NULL;
    g->topic_len = (uint32_t)topic_len;
    g->payload_len = (uint32_t)len;
    g->qos = (uint8_t)qos;
    g->retain = retain;
    g->acked = false;
    g->mid = 0;
    memcpy(g->data, topic, topic_len);
    g->data[topic_len] = '\0';
    if (len) memcpy(g->data + topic_len + 1, payload, len);
    g->data[topic_len + 1 + len] = '\0';
    return g;
}

char *mqtt_topic_render(const char *tmpl, const char *device, const char *group, const char *tag, const char *client)
{
    static const char *const keys[] = {"{device}", "{group}", "{tag}", "{client}"};
    const char *vals[] = {device ? device : "", group ? group : "", tag ? tag : "", client ? client : ""};
    size_t cap = strlen(tmpl) + 1;
    for (const char *p = tmpl; (p = strchr(p, '{')) != NULL; p++)
        for (size_t k = 0; k < 4; k++)
            if (!strncmp(p, keys[k], strlen(keys[k]))) cap += strlen(vals[k]);
    char *out = malloc(cap);
    if (!out) return NULL;
    size_t n = 0;
    for (const char *p = tmpl; *p;) {
        size_t k = 0;
        while (k < 4 && strncmp(p, keys[k], strlen(keys[k])) != 0)
            k++;
        if (k < 4) {
            for (const char *v = vals[k]; *v; v++) {
                char ch = *v;
                if (ch == '+' || ch == '#') ch = '_'; /* wildcards have no place in a topic name */
                out[n++] = ch;
            }
            p += strlen(keys[k]);
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
    return out;
}

/* Own p (freed with m); NULL stays NULL. */
static void *keep_ptr(mqtt_out *m, void *p)
{
    if (!p) return NULL;
    char **grown = realloc(m->strings, (m->string_count + 1) * sizeof *grown);
    if (!grown) {
        free(p);
        return NULL;
    }
    m->strings = grown;
    m->strings[m->string_count++] = p;
    return p;
}

static char *keep(mqtt_out *m, const char *s) { return s ? keep_ptr(m, strdup(s)) : NULL; }

static size_t name_hash(const char *s, size_t len)
{
    size_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* ---- what a format may use ---- */

const plcio_sync_mqtt_spec *mqtt_spec(const mqtt_out *m) { return &m->spec; }
const plcio_logger *mqtt_logger(const mqtt_out *m) { return &m->logger; }
const char *mqtt_client_id(const mqtt_out *m) { return m->client_id; }
bool mqtt_connected(const mqtt_out *m) { return m->state == LINK_UP; }

const plcio_sink_tag *mqtt_tags(const mqtt_out *m, size_t *count)
{
    if (count) *count = m->tag_count;
    return m->tags;
}

long mqtt_tag_index(const mqtt_out *m, const char *name, size_t len)
{
    if (!m->index_cap) return -1;
    for (size_t i = name_hash(name, len) & (m->index_cap - 1);; i = (i + 1) & (m->index_cap - 1)) {
        size_t t = m->index[i];
        if (!t) return -1;
        const char *n = m->tags[t - 1].name;
        if (strlen(n) == len && !memcmp(n, name, len)) return (long)(t - 1);
    }
}

bool mqtt_tag_writable(const mqtt_out *m, size_t tag) { return tag < m->tag_count && m->writable[tag]; }

int mqtt_enqueue(mqtt_out *m, const char *topic, const void *payload, size_t len, int qos, bool retain)
{
    mqtt_msg *g = mqtt_msg_new(topic, strlen(topic), payload, len, qos, retain);
    if (!g) return PLCIO_ENOMEM;
    if (!sf_queue_push(m->queue, g)) {
        free(g);
        return PLCIO_ENOSPC;
    }
    return PLCIO_OK;
}

int mqtt_publish_now(mqtt_out *m, const char *topic, const void *payload, size_t len, int qos, bool retain,
                     const void *correlation, uint16_t correlation_len)
{
    if (m->state != LINK_UP) return PLCIO_ENOTCONN;
    mosquitto_property *props = NULL;
    if (correlation && m->spec.version == 5)
        mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, correlation, correlation_len);
    int rc = mosquitto_publish_v5(m->mosq, NULL, topic, (int)len, payload, qos, retain, props);
    mosquitto_property_free_all(&props);
    return rc == MOSQ_ERR_SUCCESS ? PLCIO_OK : PLCIO_EIO;
}

int mqtt_subscribe(mqtt_out *m, const char *topic, int qos)
{
    if (m->state != LINK_UP) return PLCIO_ENOTCONN;
    int rc = mosquitto_subscribe(m->mosq, NULL, topic, qos);
    if (rc != MOSQ_ERR_SUCCESS) {
        log_msg(&m->logger, PLCIO_LOG_ERROR, "mqtt", "cannot subscribe to %s: %s", topic, mosquitto_strerror(rc));
        return PLCIO_EIO;
    }
    return PLCIO_OK;
}

typedef struct write_ctx {
    mqtt_out *m;
    mqtt_write_done done;
    void *ctx;
} write_ctx;

static void write_finished(void *arg, int rc, const char *message)
{
    write_ctx *w = arg;
    if (rc == PLCIO_OK)
        w->m->writes_ok++;
    else
        w->m->writes_failed++;
    w->done(w->ctx, rc, message);
    free(w);
}

int mqtt_write(mqtt_out *m, size_t tag, const char *text, mqtt_write_done done, void *ctx, char *err, size_t cap)
{
    if (tag >= m->tag_count) {
        snprintf(err, cap, "no such tag");
        m->writes_failed++;
        return PLCIO_ENOTFOUND;
    }
    if (!m->writable[tag]) {
        snprintf(err, cap, "tag '%s' is not writable from MQTT (the output's writable: list)", m->tags[tag].name);
        m->writes_failed++;
        return PLCIO_EACCESS;
    }
    if (!m->sync) {
        snprintf(err, cap, "the output is not started");
        m->writes_failed++;
        return PLCIO_ESTATE;
    }
    write_ctx *w = malloc(sizeof *w);
    if (!w) return PLCIO_ENOMEM;
    *w = (write_ctx){m, done, ctx};
    plcio_error e;
    plcio_error_clear(&e);
    int rc = plcio_sync_write(m->sync, m->tags[tag].name, text, (int)m->spec.write_queue_ms, write_finished, w, &e);
    if (rc != PLCIO_OK) {
        free(w);
        m->writes_failed++;
        snprintf(err, cap, "%s", e.text[0] ? e.text : plcio_strerror(rc));
    }
    return rc;
}

/* ---- the window: messages libmosquitto has ---- */

static mqtt_msg *win_at(mqtt_out *m, size_t i) { return m->window[(m->win_head + i) % WINDOW]; }

/* Drop the taken messages at the window's front from the queue. */
static void win_release(mqtt_out *m)
{
    size_t n = 0;
    while (n < m->win_count && win_at(m, n)->acked)
        n++;
    if (!n) return;
    m->win_head = (m->win_head + n) % WINDOW;
    m->win_count -= n;
    m->win_unacked = m->win_unacked > n ? m->win_unacked - n : 0;
    m->published += n;
    sf_queue_pop(m->queue, n);
}

/* The connection is gone: what libmosquitto had goes back to being unsent. */
static void win_reset(mqtt_out *m)
{
    m->win_head = 0;
    m->win_count = 0;
    m->win_unacked = 0;
}

static void win_fill(mqtt_out *m)
{
    while (m->state == LINK_UP && !m->lost && m->win_count < m->win_max) {
        mqtt_msg *batch[64];
        size_t want = m->win_max - m->win_count;
        size_t got = sf_queue_peek_from(m->queue, m->win_count, (void **)batch, want < 64 ? want : 64);
        if (!got) return;
        for (size_t i = 0; i < got; i++) {
            mqtt_msg *g = batch[i];
            g->acked = false;
            g->mid = 0;
            m->window[(m->win_head + m->win_count) % WINDOW] = g;
            m->win_count++;
            int rc = mosquitto_publish(m->mosq, &g->mid, mqtt_msg_topic(g), (int)g->payload_len, mqtt_msg_payload(g),
                                       g->qos, g->retain);
            if (rc == MOSQ_ERR_SUCCESS) continue;
            if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_NOMEM || rc == MOSQ_ERR_ERRNO) {
                m->win_count--; /* offered again on the next connection */
                m->lost = rc != MOSQ_ERR_NOMEM;
                return;
            }
            /* the broker can never take this one (too big, bad topic): say so, drop it */
            log_msg(&m->logger, PLCIO_LOG_ERROR, "mqtt", "message to '%s' (%u bytes) dropped: %s", mqtt_msg_topic(g),
                    g->payload_len, mosquitto_strerror(rc));
            g->acked = true;
            m->published--; /* counted as published by win_release: it was not */
        }
        win_release(m);
    }
}

/* ---- libmosquitto's callbacks (inside loop_read / loop_write) ---- */

static void on_publish(struct mosquitto *mosq, void *obj, int mid)
{
    (void)mosq;
    mqtt_out *m = obj;
    /* the broker acknowledges in order (MQTT 3.1.1 4.6, 5.0 4.6): the match is near the front */
    while (m->win_unacked < m->win_count && win_at(m, m->win_unacked)->acked)
        m->win_unacked++;
    for (size_t i = m->win_unacked; i < m->win_count; i++) {
        mqtt_msg *g = win_at(m, i);
        if (!g->acked && g->mid == mid) {
            g->acked = true;
            break;
        }
    }
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags, const mosquitto_property *props)
{
    (void)mosq;
    (void)flags;
    (void)props;
    mqtt_out *m = obj;
    const broker *b = &m->brokers[m->broker_at];
    if (rc != 0) {
        char line[sizeof m->trouble];
        snprintf(line, sizeof line, "broker %s refused the connection: %s", b->url,
                 m->spec.version == 5 ? mosquitto_reason_string(rc) : mosquitto_connack_string(rc));
        if (strcmp(line, m->trouble) != 0)
            log_msg(&m->logger, PLCIO_LOG_ERROR, "mqtt", "%s (retrying with backoff)", line);
        snprintf(m->trouble, sizeof m->trouble, "%s", line);
        m->lost = true;
        m->refused = true;
        return;
    }
    m->state = LINK_UP;
    m->connects++;
    m->backoff_ms = 0;
    sf_queue_stats st;
    sf_queue_get_stats(m->queue, &st);
    if (m->trouble[0])
        log_msg(&m->logger, PLCIO_LOG_WARN, "mqtt", "connected to %s again (%zu messages waiting, %llu dropped so far)",
                b->url, st.depth, (unsigned long long)st.dropped);
    else
        log_msg(&m->logger, PLCIO_LOG_INFO, "mqtt", "connected to %s", b->url);
    m->trouble[0] = '\0';
    m->fmt->on_connect(m->fmt_state);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc, const mosquitto_property *props)
{
    (void)mosq;
    (void)rc;
    (void)props;
    mqtt_out *m = obj;
    m->lost = true;
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg,
                       const mosquitto_property *props)
{
    (void)mosq;
    mqtt_out *m = obj;
    if (!m->fmt->on_message || !msg->topic) return;
    char *response = NULL;
    void *corr = NULL;
    uint16_t corr_len = 0;
    mosquitto_property_read_string(props, MQTT_PROP_RESPONSE_TOPIC, &response, false);
    mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &corr, &corr_len, false);
    mqtt_inbound in = {msg->topic, msg->payload, msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0,
                       response,   corr,         corr_len};
    m->fmt->on_message(m->fmt_state, &in);
    free(response);
    free(corr);
}

/* ---- connecting ---- */

static void trouble(mqtt_out *m, const char *fmt, ...) PLCIO_PRINTF(2, 3);

/* Say what went wrong once per kind of trouble, not on every retry. */
static void trouble(mqtt_out *m, const char *fmt, ...)
{
    char line[sizeof m->trouble];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (strcmp(line, m->trouble) != 0) {
        sf_queue_stats st;
        sf_queue_get_stats(m->queue, &st);
        log_msg(&m->logger, PLCIO_LOG_ERROR, "mqtt", "%s (retrying with backoff; %zu messages wait, at most %zu kept)",
                line, st.depth, st.capacity);
    }
    snprintf(m->trouble, sizeof m->trouble, "%s", line);
}

/* ---- resolving a broker's name off the loop ---- */

static void job_unref(resolve_job *j)
{
    pthread_mutex_lock(&j->lock);
    bool last = --j->refs == 0;
    pthread_mutex_unlock(&j->lock);
    if (!last) return;
    if (j->mosq) mosquitto_destroy(j->mosq);
    for (int i = 0; i < 2; i++)
        if (j->pipe[i] >= 0) (void)close(j->pipe[i]); /* a pipe: nothing to lose */
    pthread_mutex_destroy(&j->lock);
    free(j);
}

static void *job_run(void *arg)
{
    resolve_job *j = arg;
    int rc = mosquitto_connect_async(j->mosq, j->host, j->port, j->keepalive);
    int e = errno;
    pthread_mutex_lock(&j->lock);
    j->rc = rc;
    j->err_no = e;
    pthread_mutex_unlock(&j->lock);
    ssize_t w;
    do
        w = write(j->pipe[1], "x", 1);
    while (w < 0 && errno == EINTR);
    job_unref(j);
    return NULL;
}

static bool numeric_host(const char *host)
{
    struct in6_addr a6;
    struct in_addr a4;
    return inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1;
}

/* Hand m->mosq to a thread that resolves the name and starts connecting. */
static int job_start(mqtt_out *m, const broker *b, int keepalive)
{
    resolve_job *j = calloc(1, sizeof *j);
    if (!j) return MOSQ_ERR_NOMEM;
    j->pipe[0] = j->pipe[1] = -1;
    if (pipe2(j->pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        free(j);
        return MOSQ_ERR_ERRNO;
    }
    pthread_mutex_init(&j->lock, NULL);
    j->refs = 2;
    j->mosq = m->mosq;
    snprintf(j->host, sizeof j->host, "%s", b->host);
    j->port = b->port;
    j->keepalive = keepalive;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* signals stay with the program's threads */
    pthread_t t;
    int rc = pthread_create(&t, &attr, job_run, j);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        j->mosq = NULL; /* stays m's */
        j->refs = 1;
        job_unref(j);
        errno = rc;
        return MOSQ_ERR_ERRNO;
    }
    m->mosq = NULL;
    m->job = j;
    return MOSQ_ERR_SUCCESS;
}

/* Let go of a job still resolving: its thread frees it (and the handle). */
static void job_cancel(mqtt_out *m)
{
    if (!m->job) return;
    job_unref(m->job);
    m->job = NULL;
}

static void drop_handle(mqtt_out *m)
{
    if (m->started) plcio_loop_watch_set(&m->watch, -1, 0, 0);
    job_cancel(m);
    if (m->mosq) mosquitto_destroy(m->mosq);
    m->mosq = NULL;
}

/* Lost, refused or never made: try again later, on the next broker. */
static void link_down(mqtt_out *m)
{
    bool was_up = m->state == LINK_UP;
    if (was_up) {
        trouble(m, "lost the connection to %s", m->brokers[m->broker_at].url);
        if (m->fmt->on_disconnect) m->fmt->on_disconnect(m->fmt_state);
    }
    drop_handle(m);
    win_reset(m);
    m->state = LINK_DOWN;
    m->lost = false;
    m->broker_at = (m->broker_at + 1) % m->broker_count;
    m->backoff_ms = m->backoff_ms ? m->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (m->backoff_ms > BACKOFF_MAX_MS) m->backoff_ms = BACKOFF_MAX_MS;
    m->retry_at = plcio_loop_now(m->loop) + (was_up ? 0 : (uint64_t)m->backoff_ms * PLCIO_NS_PER_MS);
}

static int set_tls(mqtt_out *m)
{
    const plcio_sync_mqtt_spec *c = &m->spec;
    int rc;
    if (c->ca_file) {
        rc = mosquitto_tls_set(m->mosq, c->ca_file, NULL, c->cert_file, c->key_file, NULL);
    } else {
        mosquitto_int_option(m->mosq, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
        rc = c->cert_file ? mosquitto_tls_set(m->mosq, NULL, "/etc/ssl/certs", c->cert_file, c->key_file, NULL)
                          : MOSQ_ERR_SUCCESS;
    }
    if (rc == MOSQ_ERR_SUCCESS && c->tls_insecure) rc = mosquitto_tls_insecure_set(m->mosq, true);
    return rc;
}

static int new_handle(mqtt_out *m, const broker *b)
{
    m->mosq = mosquitto_new(m->client_id, m->spec.clean_session, m);
    if (!m->mosq) return MOSQ_ERR_NOMEM;
    mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION,
                         m->spec.version == 5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
    mosquitto_max_inflight_messages_set(m->mosq, (unsigned)m->win_max);
    mosquitto_connect_v5_callback_set(m->mosq, on_connect);
    mosquitto_disconnect_v5_callback_set(m->mosq, on_disconnect);
    mosquitto_publish_callback_set(m->mosq, on_publish);
    mosquitto_message_v5_callback_set(m->mosq, on_message);
    int rc = MOSQ_ERR_SUCCESS;
    if (m->spec.username) rc = mosquitto_username_pw_set(m->mosq, m->spec.username, m->password);
    mqtt_will w;
    if (rc == MOSQ_ERR_SUCCESS && m->fmt->will && m->fmt->will(m->fmt_state, &w))
        rc = mosquitto_will_set(m->mosq, w.topic, (int)w.len, w.payload, w.qos, w.retain);
    if (rc == MOSQ_ERR_SUCCESS && b->tls) rc = set_tls(m);
    return rc;
}

static void connect_failed(mqtt_out *m, int rc, int err_no)
{
    const broker *b = &m->brokers[m->broker_at];
    if (rc == MOSQ_ERR_EAI)
        trouble(m, "cannot connect to %s: the name %s does not resolve", b->url, b->host);
    else
        trouble(m, "cannot connect to %s: %s", b->url,
                rc == MOSQ_ERR_ERRNO ? strerror(err_no) : mosquitto_strerror(rc));
    link_down(m);
}

static void try_connect(mqtt_out *m)
{
    const broker *b = &m->brokers[m->broker_at];
    m->refused = false;
    int keepalive = (int)(m->spec.keepalive_s ? m->spec.keepalive_s : DEFAULT_KEEPALIVE_S);
    int rc = new_handle(m, b);
    if (rc == MOSQ_ERR_SUCCESS) /* a number connects at once; a name is resolved on a helper thread */
        rc = numeric_host(b->host) ? mosquitto_connect_async(m->mosq, b->host, b->port, keepalive)
                                   : job_start(m, b, keepalive);
    if (rc != MOSQ_ERR_SUCCESS) {
        connect_failed(m, rc, errno);
        return;
    }
    m->state = LINK_CONNECTING;
    m->connect_deadline = plcio_loop_now(m->loop) + CONNECT_TIMEOUT_NS;
}

/* The helper thread is done: take the handle back. */
static void job_finish(mqtt_out *m)
{
    resolve_job *j = m->job;
    char byte;
    if (read(j->pipe[0], &byte, 1) != 1) return; /* not yet */
    pthread_mutex_lock(&j->lock);
    int rc = j->rc, err_no = j->err_no;
    m->mosq = j->mosq;
    j->mosq = NULL;
    pthread_mutex_unlock(&j->lock);
    job_cancel(m);
    if (rc != MOSQ_ERR_SUCCESS) connect_failed(m, rc, err_no);
}

/* ---- the loop ---- */

static void on_io(plcio_loop *loop, int fd, unsigned events, void *ctx)
{
    (void)loop;
    (void)fd;
    mqtt_out *m = ctx;
    if (m->job) {
        job_finish(m);
        pump(m);
        return;
    }
    if (!m->mosq) return;
    int rc = MOSQ_ERR_SUCCESS;
    if (events & (PLCIO_IO_READ | PLCIO_IO_ERROR)) rc = mosquitto_loop_read(m->mosq, 1);
    if (rc == MOSQ_ERR_SUCCESS && m->mosq && (events & PLCIO_IO_WRITE)) rc = mosquitto_loop_write(m->mosq, 1);
    if ((rc != MOSQ_ERR_SUCCESS || m->lost) && m->state == LINK_CONNECTING && !m->refused)
        trouble(m, "cannot connect to %s: %s", m->brokers[m->broker_at].url,
                rc == MOSQ_ERR_ERRNO     ? strerror(errno)
                : rc != MOSQ_ERR_SUCCESS ? mosquitto_strerror(rc)
                                         : "the broker closed the connection before accepting it");
    if (rc != MOSQ_ERR_SUCCESS) m->lost = true;
    pump(m);
}

static void on_tick(plcio_loop *loop, void *ctx)
{
    mqtt_out *m = ctx;
    uint64_t now = plcio_loop_now(loop);
    if (m->state == LINK_DOWN && now >= m->retry_at) {
        try_connect(m);
    } else if (m->state == LINK_CONNECTING && now >= m->connect_deadline) {
        if (m->job)
            trouble(m, "cannot connect to %s: the name %s did not resolve in time", m->brokers[m->broker_at].url,
                    m->brokers[m->broker_at].host);
        else
            trouble(m, "cannot connect to %s: %s", m->brokers[m->broker_at].url, "no answer (CONNACK) in time");
        m->lost = true;
    } else if (m->mosq) {
        int rc = mosquitto_loop_misc(m->mosq); /* keep-alive: PINGREQ, and a broker that stopped answering */
        if (rc != MOSQ_ERR_SUCCESS) m->lost = true;
    }
    pump(m);
}

/* After anything happened: tear down a lost link, hand libmosquitto what is
 * due, and watch its socket for what it waits for. */
static void pump(mqtt_out *m)
{
    if (m->closed || !m->started) return;
    if (m->lost) link_down(m);
    win_release(m);
    win_fill(m);
    if (m->lost) link_down(m);
    uint64_t now = plcio_loop_now(m->loop);
    uint64_t next = now + TICK_NS;
    if (m->state == LINK_DOWN && m->retry_at < next) next = m->retry_at > now ? m->retry_at : now;
    if (m->spool) {
        (void)spool_flush(m, false); /* trouble is logged inside */
        uint64_t at = spool_next(m);
        if (at < next) next = at > now ? at : now;
    }
    int fd = m->mosq ? mosquitto_socket(m->mosq) : -1;
    unsigned ev = fd >= 0 ? PLCIO_IO_READ | (mosquitto_want_write(m->mosq) ? PLCIO_IO_WRITE : 0) : 0;
    if (m->job) {
        fd = m->job->pipe[0];
        ev = PLCIO_IO_READ;
    }
    plcio_loop_watch_set(&m->watch, fd, ev, next);
}

/* ---- the queue file while running ---- */

static void spool_trouble(mqtt_out *m, int rc, const char *why)
{
    if (rc == PLCIO_OK) {
        if (m->spool_failing)
            log_msg(&m->logger, PLCIO_LOG_WARN, "mqtt", "queue-file %s is written again", m->spec.queue_file);
        m->spool_failing = false;
        return;
    }
    if (!m->spool_failing)
        log_msg(&m->logger, PLCIO_LOG_ERROR, "mqtt",
                "queue-file %s: %s (queued messages are kept in memory only until it works again)", m->spec.queue_file,
                why[0] ? why : plcio_strerror(rc));
    m->spool_failing = true;
}

/* Buffer queued messages [from, upto) (sequence numbers: the queue's push count). */
static int spool_add(mqtt_out *m, uint64_t popped, uint64_t from, uint64_t upto)
{
    for (uint64_t seq = from; seq < upto;) {
        mqtt_msg *batch[256];
        uint64_t want = upto - seq < 256 ? upto - seq : 256;
        size_t got = sf_queue_peek_from(m->queue, (size_t)(seq - popped), (void **)batch, (size_t)want);
        if (!got) break;
        for (size_t i = 0; i < got; i++) {
            int rc = mqtt_spool_add(m->spool, seq + i, batch[i]);
            if (rc != PLCIO_OK) {
                mqtt_spool_discard(m->spool);
                return rc;
            }
        }
        seq += got;
    }
    return PLCIO_OK;
}

/* Keep the file in step with the queue, at most once per SPOOL_FLUSH_NS (all:
 * now, and every queued message, as at a stop): append what waits (everything
 * while no broker has it; with a broker, what waited a whole interval), move
 * the sent mark, empty the file once the broker took all of it, replace it by
 * a compact copy before it would hold more than twice the queue's bound, and
 * fdatasync at most once per SPOOL_SYNC_NS. */
static int spool_flush(mqtt_out *m, bool all)
{
    uint64_t now = m->loop ? plcio_loop_now(m->loop) : plcio_monotonic_ns();
    if (!all && now < m->spool_flush_at) return PLCIO_OK;
    m->spool_flush_at = now + SPOOL_FLUSH_NS;
    mqtt_spool *s = m->spool;
    sf_queue_stats st;
    sf_queue_get_stats(m->queue, &st);
    uint64_t upto = st.pushed;
    if (!all && m->state == LINK_UP && m->spool_aged < upto) upto = m->spool_aged;
    m->spool_aged = st.pushed;
    char why[256] = "";
    int rc = PLCIO_OK;
    if (mqtt_spool_records(s) && st.popped >= mqtt_spool_end(s)) rc = mqtt_spool_clear(s, why, sizeof why);
    uint64_t from = mqtt_spool_end(s) > st.popped ? mqtt_spool_end(s) : st.popped;
    bool replace = all || mqtt_spool_broken(s) ||
                   (upto > from && mqtt_spool_end(s) - mqtt_spool_first(s) + (upto - from) > 2 * (uint64_t)st.capacity);
    if (rc == PLCIO_OK && (replace || upto > from)) {
        rc = spool_add(m, st.popped, replace ? st.popped : from, upto);
        if (rc == PLCIO_OK)
            rc = replace ? mqtt_spool_replace(s, why, sizeof why) : mqtt_spool_write(s, why, sizeof why);
    }
    if (rc == PLCIO_OK && mqtt_spool_records(s)) rc = mqtt_spool_mark_sent(s, st.popped, why, sizeof why);
    if (rc == PLCIO_OK && mqtt_spool_dirty(s) && (all || now >= m->spool_sync_at)) {
        rc = mqtt_spool_sync(s, why, sizeof why);
        m->spool_sync_at = now + SPOOL_SYNC_NS;
        m->spool_syncs++;
    }
    if (rc != PLCIO_OK) m->spool_flush_at = now + SPOOL_SYNC_NS; /* a full or broken disk: try again less often */
    spool_trouble(m, rc, why);
    return rc;
}

/* When the file wants attention again (the loop's deadline). */
static uint64_t spool_next(const mqtt_out *m)
{
    sf_queue_stats st;
    sf_queue_get_stats(m->queue, &st);
    uint64_t at = UINT64_MAX;
    if (st.pushed > mqtt_spool_end(m->spool) || mqtt_spool_records(m->spool)) at = m->spool_flush_at;
    if (mqtt_spool_dirty(m->spool) && m->spool_sync_at < at) at = m->spool_sync_at;
    return at;
}

/* ---- the sink ---- */

static int sink_open(void *config, const plcio_sink_tag *tags, size_t tag_count, void **state, plcio_error *err)
{
    mqtt_out *m = config;
    if (m->opened) return plcio_error_set(err, PLCIO_ESTATE, "the MQTT output is registered with one engine only");
    m->tags = tags;
    m->tag_count = tag_count;
    m->writable = calloc(tag_count + 1, sizeof *m->writable);
    m->index_cap = 16;
    while (m->index_cap < tag_count * 2)
        m->index_cap *= 2;
    m->index = calloc(m->index_cap, sizeof *m->index);
    if (!m->writable || !m->index) return PLCIO_ENOMEM;
    for (size_t t = 0; t < tag_count; t++) {
        size_t i = name_hash(tags[t].name, strlen(tags[t].name)) & (m->index_cap - 1);
        while (m->index[i])
            i = (i + 1) & (m->index_cap - 1);
        m->index[i] = t + 1;
    }
    for (size_t w = 0; w < m->spec.writable_count; w++) {
        const char *name = m->spec.writable[w];
        if (!strcmp(name, "*")) {
            for (size_t t = 0; t < tag_count; t++)
                m->writable[t] = m->writable[t] || tags[t].writable;
            continue;
        }
        long t = mqtt_tag_index(m, name, strlen(name));
        if (t < 0) return plcio_error_set(err, PLCIO_ENOTFOUND, "mqtt writable: no tag named '%s'", name);
        m->writable[t] = true;
    }
    char why[256] = "";
    int rc = m->fmt->open(m, &m->fmt_state, why, sizeof why);
    if (rc != PLCIO_OK) return plcio_error_set(err, rc, "mqtt format %s: %s", m->fmt->name, why[0] ? why : "failed");
    m->opened = true;
    *state = m;
    return PLCIO_OK;
}

static int sink_deliver(void *state, const plcio_sink_event *events, size_t count)
{
    mqtt_out *m = state;
    m->fmt->on_events(m->fmt_state, events, count);
    pump(m);
    return PLCIO_OK;
}

static bool spool_take(void *ctx, mqtt_msg *msg) { return sf_queue_push(ctx, msg); }

/* At the start: what the file holds (left by a stop or a crash) is queued
 * first, and the file is rewritten to hold exactly that. */
static int spool_in(mqtt_out *m, plcio_error *err)
{
    mqtt_spool_result res;
    char why[256] = "";
    const char *path = m->spec.queue_file;
    int rc = mqtt_spool_load(path, spool_take, m->queue, &res, why, sizeof why);
    if (rc != PLCIO_OK) return plcio_error_set(err, rc, "mqtt queue-file %s: %s", path, why);
    if (res.damage[0])
        log_msg(&m->logger, PLCIO_LOG_WARN, "mqtt",
                "queue-file %s: %s (left by a crash?); the %zu messages before it are kept", path, res.damage,
                res.loaded + res.refused);
    if (res.note[0]) log_msg(&m->logger, PLCIO_LOG_WARN, "mqtt", "queue-file %s: %s", path, res.note);
    if (res.loaded)
        log_msg(&m->logger, PLCIO_LOG_WARN, "mqtt", "%zu messages from %s are sent first", res.loaded, path);
    if (res.refused)
        log_msg(&m->logger, PLCIO_LOG_WARN, "mqtt", "%zu messages from %s dropped: the queue (%zu) is full",
                res.refused, path, (size_t)m->spec.queue);
    rc = mqtt_spool_open(path, &m->spool);
    if (rc != PLCIO_OK) return rc;
    /* a file that cannot be written is logged inside; the queue works in memory meanwhile
     * and an old file is left as it was (sent again next time: at least once) */
    (void)spool_flush(m, true);
    return PLCIO_OK;
}

/* Hand what is queued to the broker for a little while, then say goodbye. */
static void drain_and_disconnect(mqtt_out *m)
{
    if (m->state != LINK_UP) return;
    if (m->fmt->on_stop) m->fmt->on_stop(m->fmt_state);
    uint64_t until = plcio_monotonic_ns() + (uint64_t)DRAIN_MS * PLCIO_NS_PER_MS;
    while (m->state == LINK_UP && !m->lost && plcio_monotonic_ns() < until) {
        win_release(m);
        win_fill(m);
        sf_queue_stats st;
        sf_queue_get_stats(m->queue, &st);
        if (!st.depth && !mosquitto_want_write(m->mosq)) break;
        if (mosquitto_loop(m->mosq, 50, 1) != MOSQ_ERR_SUCCESS) break;
    }
    win_release(m);
    mosquitto_disconnect(m->mosq); /* the broker drops the will: we said offline ourselves */
    for (int i = 0; i < 10 && mosquitto_want_write(m->mosq); i++)
        if (mosquitto_loop_write(m->mosq, 1) != MOSQ_ERR_SUCCESS) break;
}

/* At a clean stop: the file holds exactly what is still queued (or is gone). */
static void spool_out(mqtt_out *m)
{
    if (!m->spool) return;
    sf_queue_stats st;
    sf_queue_get_stats(m->queue, &st);
    if (spool_flush(m, true) != PLCIO_OK)
        log_msg(&m->logger, PLCIO_LOG_ERROR, "mqtt", "%zu queued messages may be lost: %s is not written", st.depth,
                m->spec.queue_file);
    else if (st.depth)
        log_msg(&m->logger, PLCIO_LOG_WARN, "mqtt", "%zu queued messages kept in %s for the next start", st.depth,
                m->spec.queue_file);
    mqtt_spool_close(m->spool);
    m->spool = NULL;
}

static void sink_close(void *state)
{
    mqtt_out *m = state;
    if (!m || m->closed) return;
    drain_and_disconnect(m);
    m->closed = true;
    drop_handle(m);
    if (m->started) plcio_loop_watch_clear(&m->watch);
    win_reset(m);
    spool_out(m);
    sf_queue_stats st;
    sf_queue_get_stats(m->queue, &st);
    if (st.depth || st.dropped)
        log_msg(&m->logger, PLCIO_LOG_WARN, "mqtt",
                "%llu messages published; not published: %zu still queued at exit, %llu dropped (queue of %zu full)",
                (unsigned long long)m->published, st.depth, (unsigned long long)st.dropped, st.capacity);
    if (m->fmt_state) m->fmt->close(m->fmt_state);
    m->fmt_state = NULL;
}

static const plcio_sink mqtt_sink_ops = {
    .abi = PLCIO_SINK_ABI,
    .name = "mqtt",
    .flags = PLCIO_SINK_INLINE,
    .open = sink_open,
    .deliver = sink_deliver,
    .close = sink_close,
};

/* ---- public ---- */

static int parse_broker(const char *url, broker *b, plcio_error *err)
{
    plcio_url u;
    plcio_error e;
    plcio_error_clear(&e);
    if (plcio_url_parse(url, &u, &e) != PLCIO_OK)
        return plcio_error_set(err, PLCIO_EINVAL, "mqtt broker '%s': %s", url, e.text);
    if (strcmp(u.scheme, "mqtt") != 0 && strcmp(u.scheme, "mqtts") != 0)
        return plcio_error_set(err, PLCIO_EINVAL, "mqtt broker '%s' is not an mqtt:// or mqtts:// URL", url);
    if (!u.host[0]) return plcio_error_set(err, PLCIO_EINVAL, "mqtt broker '%s' names no host", url);
    if (u.param_count || (u.path[0] && strcmp(u.path, "/") != 0))
        return plcio_error_set(err, PLCIO_EINVAL,
                               "mqtt broker '%s': only mqtt[s]://HOST[:PORT] (other settings go in the YAML output)",
                               url);
    b->tls = !strcmp(u.scheme, "mqtts");
    b->port = u.port > 0 ? u.port : b->tls ? 8883 : 1883;
    snprintf(b->host, sizeof b->host, "%s", u.host);
    return PLCIO_OK;
}

static int read_password(mqtt_out *m, plcio_error *err)
{
    const plcio_sync_mqtt_spec *c = &m->spec;
    if (c->password_env) {
        const char *v = getenv(c->password_env);
        if (!v || !*v)
            return plcio_error_set(err, PLCIO_ENOTFOUND, "mqtt password-env: %s is not set", c->password_env);
        m->password = strdup(v);
    } else if (c->password_file) {
        FILE *f = fopen(c->password_file, "r");
        if (!f) return plcio_error_set(err, PLCIO_EIO, "mqtt password-file %s: %s", c->password_file, strerror(errno));
        char line[1024] = "";
        if (!fgets(line, sizeof line, f)) line[0] = '\0';
        (void)fclose(f); /* read only */
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0]) return plcio_error_set(err, PLCIO_ENOTFOUND, "mqtt password-file %s is empty", c->password_file);
        m->password = strdup(line);
    } else {
        return PLCIO_OK;
    }
    if (!c->username) return plcio_error_set(err, PLCIO_EINVAL, "mqtt: a password needs a username");
    return m->password ? PLCIO_OK : PLCIO_ENOMEM;
}

static int copy_list(mqtt_out *m, const char **from, size_t n, const char ***to)
{
    *to = NULL;
    if (!n) return PLCIO_OK;
    const char **list = keep_ptr(m, calloc(n, sizeof *list));
    if (!list) return PLCIO_ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (!(list[i] = keep(m, from[i]))) return PLCIO_ENOMEM;
    *to = list;
    return PLCIO_OK;
}

/* A deep copy of the settings with the defaults filled in. */
static int copy_spec(mqtt_out *m, const plcio_sync_mqtt_spec *c)
{
    plcio_sync_mqtt_spec *d = &m->spec;
    *d = *c;
    const char **strs[] = {&d->client_id,      &d->username,           &d->password_file,   &d->password_env,
                           &d->ca_file,        &d->cert_file,          &d->key_file,        &d->format,
                           &d->topic,          &d->group_topic,        &d->status_topic,    &d->command_topic,
                           &d->reply_topic,    &d->queue_file,         &d->sparkplug_group, &d->sparkplug_node,
                           &d->sparkplug_host, &d->sparkplug_namespace};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if (*strs[i] && !(*strs[i] = keep(m, *strs[i]))) return PLCIO_ENOMEM;
    int rc = copy_list(m, c->brokers, c->broker_count, &d->brokers);
    if (rc == PLCIO_OK) rc = copy_list(m, c->writable, c->writable_count, &d->writable);
    if (rc != PLCIO_OK) return rc;
    if (d->version != 5) d->version = 3;
    if (!d->keepalive_s) d->keepalive_s = DEFAULT_KEEPALIVE_S;
    m->win_max = d->qos > 0 ? WINDOW_ACKED : WINDOW;
    if (!d->queue) d->queue = DEFAULT_QUEUE;
    if (!d->format) d->format = "json";
    if (!d->topic) d->topic = "plcio/{device}/{tag}";
    if (!d->status_topic) d->status_topic = "plcio/{client}/status";
    if (!d->command_topic) d->command_topic = "plcio/{client}/command";
    if (!d->reply_topic) d->reply_topic = "plcio/{client}/reply";
    return PLCIO_OK;
}

static int check_spec(mqtt_out *m, plcio_error *err)
{
    const plcio_sync_mqtt_spec *c = &m->spec;
    if (!c->broker_count) return plcio_error_set(err, PLCIO_EINVAL, "mqtt: no broker URL");
    if (c->qos < 0 || c->qos > 2) return plcio_error_set(err, PLCIO_EINVAL, "mqtt qos %d is not 0, 1 or 2", c->qos);
    if ((c->cert_file == NULL) != (c->key_file == NULL))
        return plcio_error_set(err, PLCIO_EINVAL, "mqtt tls needs both a client cert and its key (or neither)");
    const char *files[] = {c->ca_file, c->cert_file, c->key_file};
    for (size_t i = 0; i < 3; i++)
        if (files[i] && access(files[i], R_OK) != 0)
            return plcio_error_set(err, PLCIO_EIO, "mqtt tls file %s: %s", files[i], strerror(errno));
    if (!c->on_change && !c->every_ms)
        return plcio_error_set(err, PLCIO_EINVAL, "mqtt output publishes nothing: on-change is false and no every");
    for (size_t i = 0; mqtt_formats[i]; i++)
        if (!strcmp(mqtt_formats[i]->name, c->format)) m->fmt = mqtt_formats[i];
    if (!m->fmt) return plcio_error_set(err, PLCIO_EINVAL, "mqtt format '%s' is unknown (json, sparkplug)", c->format);
    m->brokers = calloc(c->broker_count, sizeof *m->brokers);
    if (!m->brokers) return PLCIO_ENOMEM;
    m->broker_count = c->broker_count;
    for (size_t i = 0; i < c->broker_count; i++) {
        m->brokers[i].url = (char *)c->brokers[i];
        int rc = parse_broker(c->brokers[i], &m->brokers[i], err);
        if (rc != PLCIO_OK) return rc;
    }
    return PLCIO_OK;
}

static void lib_init(void) { mosquitto_lib_init(); }

int plcio_mqtt_new(const plcio_sync_mqtt_spec *spec, const plcio_mqtt_options *opts, plcio_mqtt **out, plcio_error *err)
{
    if (!spec || !out) return plcio_error_set(err, PLCIO_EINVAL, "mqtt: no settings");
    *out = NULL;
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, lib_init);
    mqtt_out *m = calloc(1, sizeof *m);
    if (!m) return PLCIO_ENOMEM;
    if (opts) m->logger = opts->logger;
    int rc = copy_spec(m, spec);
    if (rc == PLCIO_OK) rc = check_spec(m, err);
    if (rc == PLCIO_OK) rc = read_password(m, err);
    if (rc == PLCIO_OK) {
        if (m->spec.client_id) {
            m->client_id = strdup(m->spec.client_id);
        } else {
            char host[64] = "localhost";
            if (gethostname(host, sizeof host - 1) != 0) snprintf(host, sizeof host, "localhost");
            host[sizeof host - 1] = '\0';
            size_t n = strlen(host) + 8;
            m->client_id = malloc(n);
            if (m->client_id) snprintf(m->client_id, n, "plcio-%s", host);
        }
        m->queue = sf_queue_new(m->spec.queue, free);
        if (!m->client_id || !m->queue) rc = PLCIO_ENOMEM;
    }
    if (rc == PLCIO_OK && m->spec.queue_file) rc = spool_in(m, err);
    if (rc != PLCIO_OK) {
        if (err && !err->text[0]) plcio_error_set(err, rc, "mqtt: %s", plcio_strerror(rc));
        plcio_mqtt_free(m);
        return rc;
    }
    *out = m;
    return PLCIO_OK;
}

int plcio_mqtt_new_url(const char *url, const plcio_mqtt_options *opts, plcio_mqtt **out, plcio_error *err)
{
    plcio_sync_mqtt_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.brokers = &url;
    spec.broker_count = url ? 1 : 0;
    spec.version = 3;
    spec.qos = 1;
    spec.clean_session = spec.per_tag = spec.on_change = true;
    return plcio_mqtt_new(&spec, opts, out, err);
}

void plcio_mqtt_sink(plcio_mqtt *m, plcio_sync_sink *out)
{
    memset(out, 0, sizeof *out);
    out->ops = &mqtt_sink_ops;
    out->config = m;
}

int plcio_mqtt_start(plcio_mqtt *m, plcio_sync *s, plcio_error *err)
{
    if (!m || !s) return plcio_error_set(err, PLCIO_EINVAL, "mqtt start: no output or engine");
    if (!m->opened || m->started || m->closed)
        return plcio_error_set(err, PLCIO_ESTATE,
                               m->started ? "the MQTT output is started already"
                                          : "the MQTT output's sink is not registered with this engine");
    m->sync = s;
    m->loop = plcio_sync_loop(s);
    plcio_loop_watch_init(&m->watch, m->loop, on_io, on_tick, m);
    m->started = true;
    m->retry_at = plcio_loop_now(m->loop);
    try_connect(m);
    pump(m);
    return PLCIO_OK;
}

void plcio_mqtt_get_stats(const plcio_mqtt *m, plcio_mqtt_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!m) return;
    sf_queue_stats st;
    sf_queue_get_stats(m->queue, &st);
    out->connected = m->state == LINK_UP;
    out->broker = m->brokers ? m->brokers[m->broker_at].url : NULL;
    out->connects = m->connects;
    out->published = m->published;
    out->dropped = st.dropped;
    out->queued = st.depth;
    out->queue_peak = st.peak;
    out->queue_capacity = st.capacity;
    out->commands = m->commands;
    out->writes_ok = m->writes_ok;
    out->writes_failed = m->writes_failed;
}

void mqtt_count_command(mqtt_out *m) { m->commands++; }

void plcio_mqtt_free(plcio_mqtt *m)
{
    if (!m) return;
    if (m->fmt_state) m->fmt->close(m->fmt_state); /* the engine never closed the sink (it was never built) */
    job_cancel(m);
    if (m->mosq) mosquitto_destroy(m->mosq);
    mqtt_spool_close(m->spool);
    sf_queue_free(m->queue);
    free(m->brokers);
    free(m->writable);
    free(m->index);
    free(m->client_id);
    if (m->password) {
        memset(m->password, 0, strlen(m->password));
        free(m->password);
    }
    for (size_t i = 0; i < m->string_count; i++)
        free(m->strings[i]);
    free(m->strings);
    free(m);
}
