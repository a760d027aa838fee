/* The HTTP output's server: options and token, libmicrohttpd in external epoll
 * mode driven from the engine's loop (its epoll fd watched for reading, its
 * timeout as a loop timer), the sink that keeps the latest image, and the
 * request life cycle (body limit, then http_route). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out/http_internal.h"

#define DEFAULT_LISTEN      "127.0.0.1:8080"
#define DEFAULT_BODY_MAX    65536u
#define DEFAULT_SSE_LAG_MAX ((size_t)4 * 1024 * 1024)
#define DEFAULT_MAX_CLIENTS 128u
#define FILE_MAX            ((size_t)1024 * 1024)

static char *dup_text(const char *s)
{
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    if (c) memcpy(c, s, n);
    return c;
}

/* A whole (small) file, NUL-terminated. */
static int read_file(const char *path, const char *what, char **out, plcio_error *err)
{
    /* Each failure sets err, then returns its code explicitly (static analysis
     * does not follow the variadic plcio_error_set). */
    FILE *f = fopen(path, "rb");
    if (!f) {
        plcio_error_set(err, PLCIO_EIO, "%s %s: %s", what, path, strerror(errno));
        return PLCIO_EIO;
    }
    char *buf = malloc(FILE_MAX + 1);
    size_t n = buf ? fread(buf, 1, FILE_MAX + 1, f) : 0;
    bool bad = ferror(f) != 0;
    (void)fclose(f); /* read only: nothing to lose */
    if (!buf) {
        plcio_error_set(err, PLCIO_ENOMEM, "out of memory");
        return PLCIO_ENOMEM;
    }
    if (bad || n > FILE_MAX) {
        free(buf);
        plcio_error_set(err, PLCIO_EIO, "%s %s: %s", what, path, bad ? "read error" : "larger than 1 MiB");
        return PLCIO_EIO;
    }
    buf[n] = '\0';
    *out = buf;
    return PLCIO_OK;
}

/* The token: given, from a file (first line) or from the environment; blanks around it dropped. */
static int load_token(plcio_http *h, const plcio_http_options *o, plcio_error *err)
{
    char *text = NULL;
    const char *from = "token";
    if (o->token) {
        text = dup_text(o->token);
        if (!text) return PLCIO_ENOMEM;
    } else if (o->token_file) {
        int rc = read_file(o->token_file, "token file", &text, err);
        if (rc != PLCIO_OK) return rc;
        from = o->token_file;
        text[strcspn(text, "\r\n")] = '\0';
    } else if (o->token_env) {
        const char *v = getenv(o->token_env);
        if (!v)
            return plcio_error_set(err, PLCIO_ENOTFOUND, "environment variable %s (the token) is not set",
                                   o->token_env);
        text = dup_text(v);
        if (!text) return PLCIO_ENOMEM;
        from = o->token_env;
    } else {
        return PLCIO_OK;
    }
    char *s = text;
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    memmove(text, s, n);
    text[n] = '\0';
    if (n < 8) {
        free(text);
        return plcio_error_set(err, PLCIO_EINVAL, "the token from %s is %s (8 characters at least)", from,
                               n ? "too short" : "empty");
    }
    h->token = text;
    h->token_len = n;
    return PLCIO_OK;
}

/* "HOST:PORT", "[V6]:PORT", "localhost:PORT"; numeric addresses only. */
static int parse_listen(plcio_http *h, const char *text, bool *loopback, plcio_error *err)
{
    char host[64];
    const char *colon = strrchr(text, ':');
    if (!colon || colon == text)
        return plcio_error_set(err, PLCIO_EINVAL, "http listen '%s': expected HOST:PORT (127.0.0.1:8080)", text);
    size_t hl = (size_t)(colon - text);
    if (text[0] == '[') {
        if (hl < 3 || text[hl - 1] != ']')
            return plcio_error_set(err, PLCIO_EINVAL, "http listen '%s': expected [IPv6]:PORT", text);
        text++;
        hl -= 2;
    }
    if (hl >= sizeof host) return plcio_error_set(err, PLCIO_EINVAL, "http listen: host too long");
    memcpy(host, text, hl);
    host[hl] = '\0';
    char *end;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (!colon[1] || *end || errno || port > 65535)
        return plcio_error_set(err, PLCIO_EINVAL, "http listen: port '%s' is not 0..65535", colon + 1);
    if (!strcmp(host, "localhost")) snprintf(host, sizeof host, "127.0.0.1");
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
    memset(&v4, 0, sizeof v4);
    memset(&v6, 0, sizeof v6);
    if (inet_pton(AF_INET, host, &v4.sin_addr) == 1) {
        v4.sin_family = AF_INET;
        v4.sin_port = htons((uint16_t)port);
        memcpy(h->addr, &v4, sizeof v4);
        h->addr_len = sizeof v4;
        *loopback = (ntohl(v4.sin_addr.s_addr) >> 24) == 127;
    } else if (inet_pton(AF_INET6, host, &v6.sin6_addr) == 1) {
        v6.sin6_family = AF_INET6;
        v6.sin6_port = htons((uint16_t)port);
        memcpy(h->addr, &v6, sizeof v6);
        h->addr_len = sizeof v6;
        *loopback = IN6_IS_ADDR_LOOPBACK(&v6.sin6_addr);
    } else {
        return plcio_error_set(err, PLCIO_EINVAL,
                               "http listen: '%s' is not a numeric IPv4 or IPv6 address (or localhost)", host);
    }
    return PLCIO_OK;
}

static int check_options(plcio_http *h, const plcio_http_options *o, plcio_error *err)
{
    bool loopback = true;
    int rc = parse_listen(h, h->listen, &loopback, err);
    if (rc != PLCIO_OK) return rc;
    if (!o->tls_cert != !o->tls_key)
        return plcio_error_set(err, PLCIO_EINVAL, "http TLS needs both a certificate and its key");
    if (!loopback && !o->tls_cert)
        return plcio_error_set(err, PLCIO_EINVAL,
                               "http listen %s is beyond the loopback interface: that needs TLS (give a certificate "
                               "and key: http tls cert/key, or --http-cert/--http-key)",
                               h->listen);
    h->loopback = loopback;
    rc = load_token(h, o, err);
    if (rc != PLCIO_OK) return rc;
    if ((h->writes || h->read_auth) && !h->token)
        return plcio_error_set(err, PLCIO_EINVAL, "http %s needs a bearer token (token-file or token-env)",
                               h->writes ? "writes" : "read-auth");
    if (o->tls_cert) {
        rc = read_file(o->tls_cert, "TLS certificate", &h->cert_pem, err);
        if (rc == PLCIO_OK) rc = read_file(o->tls_key, "TLS key", &h->key_pem, err);
    }
    return rc;
}

int plcio_http_new(const plcio_http_options *o, plcio_http **out, plcio_error *err)
{
    if (!o || !out) return plcio_error_set(err, PLCIO_EINVAL, "no options");
    *out = NULL;
    plcio_http *h = calloc(1, sizeof *h);
    if (!h) return plcio_error_set(err, PLCIO_ENOMEM, "out of memory");
    h->logger = o->logger;
    h->epoll_fd = -1;
    h->writes = o->writes;
    h->read_auth = o->read_auth;
    h->tag_metrics = o->tag_metrics;
    h->body_max = o->body_max ? o->body_max : DEFAULT_BODY_MAX;
    h->sse_lag_max = o->sse_lag_max ? o->sse_lag_max : DEFAULT_SSE_LAG_MAX;
    h->max_clients = o->max_clients ? o->max_clients : DEFAULT_MAX_CLIENTS;
    h->write_queue_ms = o->write_queue_ms;
    h->listen = dup_text(o->listen ? o->listen : DEFAULT_LISTEN);
    h->cors_origin = dup_text(o->cors_origin);
    h->scratch = malloc(HTTP_TEXT_MAX);
    int rc = h->listen && h->scratch && (!o->cors_origin || h->cors_origin) ? sse_init(h) : PLCIO_ENOMEM;
    if (rc != PLCIO_OK) plcio_error_set(err, rc, "out of memory");
    if (rc == PLCIO_OK) rc = check_options(h, o, err);
    if (rc == PLCIO_OK && o->cors_origin && strpbrk(o->cors_origin, "\r\n"))
        rc = plcio_error_set(err, PLCIO_EINVAL, "http cors-origin must be one line");
    if (rc != PLCIO_OK) {
        plcio_http_free(h);
        return rc;
    }
    *out = h;
    return PLCIO_OK;
}

/* ---- the sink: the latest image, and the rounds for the event stream ---- */

static void free_image(plcio_http *h)
{
    free(h->image);
    free(h->offset);
    free(h->quality);
    free(h->reason);
    free(h->read_ns);
    free(h->changed_ns);
    free(h->pending_flag);
    free(h->pending);
    h->image = NULL;
    h->offset = NULL;
    h->quality = NULL;
    h->reason = NULL;
    h->read_ns = h->changed_ns = NULL;
    h->pending_flag = NULL;
    h->pending = NULL;
}

static int http_sink_open(void *config, const plcio_sink_tag *tags, size_t tag_count, void **state, plcio_error *err)
{
    plcio_http *h = config;
    if (h->sink_open) return plcio_error_set(err, PLCIO_ESTATE, "one HTTP output serves one engine");
    size_t n = tag_count ? tag_count : 1, total = 0;
    h->offset = calloc(n, sizeof *h->offset);
    h->quality = calloc(n, 1);
    h->reason = calloc(n, sizeof *h->reason);
    h->read_ns = calloc(n, sizeof *h->read_ns);
    h->changed_ns = calloc(n, sizeof *h->changed_ns);
    h->pending_flag = calloc(n, sizeof *h->pending_flag);
    h->pending = calloc(n, sizeof *h->pending);
    for (size_t i = 0; h->offset && i < tag_count; i++) {
        h->offset[i] = total;
        total += tags[i].size;
    }
    h->image = calloc(total ? total : 1, 1);
    if (!h->offset || !h->quality || !h->reason || !h->read_ns || !h->changed_ns || !h->pending_flag || !h->pending ||
        !h->image) {
        free_image(h);
        return plcio_error_set(err, PLCIO_ENOMEM, "out of memory");
    }
    h->tags = tags;
    h->tag_count = tag_count;
    h->sink_open = true;
    *state = h;
    return PLCIO_OK;
}

static void take_tag(plcio_http *h, const plcio_sink_event *ev)
{
    size_t t = ev->tag;
    if (t >= h->tag_count) return;
    if (ev->value && ev->size == h->tags[t].size) memcpy(h->image + h->offset[t], ev->value, ev->size);
    h->quality[t] = (uint8_t)ev->quality;
    h->reason[t] = ev->reason;
    h->read_ns[t] = ev->read_ns;
    h->changed_ns[t] = ev->changed_ns;
    if (ev->changed && !h->pending_flag[t]) {
        h->pending_flag[t] = true;
        h->pending[h->pending_count++] = t;
    }
}

static int http_sink_deliver(void *state, const plcio_sink_event *events, size_t count)
{
    plcio_http *h = state;
    for (size_t i = 0; i < count; i++) {
        const plcio_sink_event *ev = &events[i];
        switch (ev->kind) {
        case PLCIO_SINK_TAG: take_tag(h, ev); break;
        case PLCIO_SINK_ROUND_END: sse_round(h); break;
        case PLCIO_SINK_DEVICE_STATE:
            if (h->sync) sse_device(h, ev);
            break;
        case PLCIO_SINK_WRITE_RESULT: sse_write_result(h, ev); break;
        default: break;
        }
    }
    return PLCIO_OK;
}

static void stop_serving(plcio_http *h);

static void http_sink_close(void *state) { stop_serving(state); }

static const plcio_sink http_sink_ops = {
    .abi = PLCIO_SINK_ABI,
    .name = "http",
    .flags = PLCIO_SINK_INLINE,
    .open = http_sink_open,
    .deliver = http_sink_deliver,
    .close = http_sink_close,
};

void plcio_http_sink(plcio_http *h, plcio_sync_sink *out)
{
    memset(out, 0, sizeof *out);
    out->ops = &http_sink_ops;
    out->config = h;
}

/* ---- libmicrohttpd on the engine's loop ---- */

static void pump(plcio_http *h);

static void on_timer(plcio_loop *loop, void *ctx)
{
    (void)loop;
    plcio_http *h = ctx;
    h->timer = 0;
    pump(h);
}

static void on_io(plcio_loop *loop, int fd, unsigned events, void *ctx)
{
    (void)loop;
    (void)fd;
    (void)events;
    pump(ctx);
}

/* Let MHD do what is ready, then arm the loop timer at its next deadline. */
static void pump(plcio_http *h)
{
    if (!h->daemon) return;
    MHD_run(h->daemon);
    MHD_UNSIGNED_LONG_LONG ms = 0;
    if (MHD_get_timeout(h->daemon, &ms) != MHD_YES) {
        if (h->timer) plcio_loop_timer_cancel(h->loop, h->timer);
        h->timer = 0;
        return;
    }
    if (ms > 60000) ms = 60000;
    uint64_t deadline = plcio_loop_now(h->loop) + (uint64_t)ms * PLCIO_NS_PER_MS;
    if (h->timer && deadline >= h->timer_deadline) return; /* an earlier one is armed: it asks again */
    if (h->timer) plcio_loop_timer_cancel(h->loop, h->timer);
    h->timer = plcio_loop_timer_add(h->loop, deadline, on_timer, h);
    h->timer_deadline = deadline;
}

/* A connection was resumed from outside MHD's callbacks: run it soon. */
void http_kick(plcio_http *h)
{
    if (!h->daemon || h->closing) return;
    uint64_t now = plcio_loop_now(h->loop);
    if (h->timer && h->timer_deadline <= now) return;
    if (h->timer) plcio_loop_timer_cancel(h->loop, h->timer);
    h->timer = plcio_loop_timer_add(h->loop, now, on_timer, h);
    h->timer_deadline = now;
}

static void log_mhd(void *cls, const char *fmt, va_list ap) PLCIO_PRINTF(2, 0);

static void log_mhd(void *cls, const char *fmt, va_list ap)
{
    plcio_http *h = cls;
    char line[300];
    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    log_msg(&h->logger, PLCIO_LOG_DEBUG, "http", "%s", line);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)version;
    plcio_http *h = cls;
    http_req *req = *con_cls;
    if (!req) {
        req = calloc(1, sizeof *req);
        if (!req) return MHD_NO;
        req->h = h;
        req->conn = conn;
        *con_cls = req;
        /* A body announced too big is refused before it is read. */
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > h->body_max)
            return http_error(h, conn, 413, "the body is larger than %zu bytes", h->body_max);
        return MHD_YES;
    }
    if (*upload_size) {
        if (req->body.len + *upload_size > h->body_max)
            req->too_big = true;
        else
            hbuf_put(&req->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (req->too_big) return http_error(h, conn, 413, "the body is larger than %zu bytes", h->body_max);
    if (req->body.failed) return http_error(h, conn, 503, "out of memory");
    return http_route(h, req, conn, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    http_req *req = *con_cls;
    if (!req) return;
    hbuf_free(&req->body);
    http_write_items_free(req->items, req->item_count);
    free(req->results);
    free(req);
    *con_cls = NULL;
}

int plcio_http_start(plcio_http *h, plcio_sync *s, plcio_error *err)
{
    if (!h || !s) return plcio_error_set(err, PLCIO_EINVAL, "no server or engine");
    if (!h->sink_open || h->started)
        return plcio_error_set(err, PLCIO_ESTATE,
                               h->started ? "the HTTP server runs already"
                                          : "register plcio_http_sink() with the engine first");
    h->sync = s;
    h->loop = plcio_sync_loop(s);
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (((const struct sockaddr *)(const void *)h->addr)->sa_family == AF_INET6) flags |= MHD_USE_IPv6;
    if (h->cert_pem) flags |= MHD_USE_TLS;
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_SOCK_ADDR, 0, h->addr},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, (intptr_t)h->max_clients, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, 60, NULL},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)128 * 1024, NULL},
        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)log_mhd, h},
        {h->cert_pem ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, h->cert_pem},
        {h->cert_pem ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, h->key_pem},
        {MHD_OPTION_END, 0, NULL},
    };
    h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    if (!h->daemon)
        return plcio_error_set(err, PLCIO_EIO, "http: cannot listen on %s (%s)", h->listen,
                               errno ? strerror(errno) : "libmicrohttpd refused to start");
    const union MHD_DaemonInfo *ep = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    const union MHD_DaemonInfo *port = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = port ? port->port : 0;
    h->epoll_fd = ep ? ep->epoll_fd : -1;
    if (h->epoll_fd < 0 || plcio_loop_add(h->loop, h->epoll_fd, PLCIO_IO_READ, on_io, h) != PLCIO_OK) {
        MHD_stop_daemon(h->daemon);
        h->daemon = NULL;
        return plcio_error_set(err, PLCIO_EIO, "http: cannot watch the server's epoll descriptor");
    }
    h->started = true;
    pump(h);
    log_msg(&h->logger, PLCIO_LOG_INFO, "http", "serving on %s://%s (port %u)", h->cert_pem ? "https" : "http",
            h->listen, h->port);
    return PLCIO_OK;
}

unsigned plcio_http_port(const plcio_http *h) { return h ? h->port : 0; }
const char *plcio_http_scheme(const plcio_http *h) { return h && h->cert_pem ? "https" : "http"; }

/* Before the engine's loop goes: end every stream, answer suspended writes, stop. */
static void stop_serving(plcio_http *h)
{
    if (!h || h->closing) return;
    h->closing = true;
    if (!h->daemon) return;
    sse_close_all(h);
    for (http_req *r = h->suspended_reqs; r; r = r->next_suspended) {
        r->suspended = false;
        MHD_resume_connection(r->conn);
    }
    h->suspended_reqs = NULL;
    MHD_run(h->daemon);
    if (h->timer) plcio_loop_timer_cancel(h->loop, h->timer);
    h->timer = 0;
    plcio_loop_del(h->loop, h->epoll_fd);
    MHD_stop_daemon(h->daemon);
    h->daemon = NULL;
}

void plcio_http_free(plcio_http *h)
{
    if (!h) return;
    stop_serving(h);
    sse_free(h);
    free_image(h);
    free(h->listen);
    free(h->cors_origin);
    if (h->token) memset(h->token, 0, h->token_len);
    free(h->token);
    free(h->cert_pem);
    if (h->key_pem) memset(h->key_pem, 0, strlen(h->key_pem));
    free(h->key_pem);
    free(h->scratch);
    free(h);
}
