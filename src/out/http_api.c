/* The routes: the console's files, the REST API, /metrics. Reads are GET (or
 * HEAD); the one write is POST /api/write, answered from the engine's write
 * callbacks (the connection is suspended meanwhile). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "out/http_internal.h"

static unsigned code_slot(unsigned status)
{
    static const unsigned codes[] = {200, 400, 401, 403, 404, 405, 413};
    for (unsigned i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (codes[i] == status) return i;
    return HTTP_CODES - 1;
}

void http_add_common_headers(const plcio_http *h, struct MHD_Response *r)
{
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    if (h->cors_origin) {
        MHD_add_response_header(r, "Access-Control-Allow-Origin", h->cors_origin);
        MHD_add_response_header(r, "Vary", "Origin");
    }
}

enum MHD_Result http_respond(plcio_http *h, struct MHD_Connection *conn, unsigned status, const char *type,
                             const void *data, size_t len)
{
    void *bytes; /* MHD takes a non-const pointer even for a buffer it copies */
    memcpy(&bytes, &data, sizeof bytes);
    struct MHD_Response *r = MHD_create_response_from_buffer(len, bytes, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    http_add_common_headers(h, r);
    if (status == 401) MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"plcio\"");
    if (status == 405) MHD_add_response_header(r, "Allow", "GET, HEAD, POST");
    if (!strncmp(type, "text/html", 9))
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'none'");
    enum MHD_Result ok = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    h->responses[code_slot(status)]++;
    return ok;
}

static enum MHD_Result respond_json(plcio_http *h, struct MHD_Connection *conn, unsigned status, hbuf *b)
{
    if (b->failed) {
        hbuf_free(b);
        return http_error(h, conn, 503, "out of memory");
    }
    enum MHD_Result ok = http_respond(h, conn, status, "application/json", b->data ? b->data : "", b->len);
    hbuf_free(b);
    return ok;
}

enum MHD_Result http_error(plcio_http *h, struct MHD_Connection *conn, unsigned status, const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    hbuf b = {0};
    hbuf_puts(&b, "{\"error\":");
    hbuf_json_str(&b, msg, strlen(msg));
    hbuf_puts(&b, "}\n");
    if (b.failed) {
        hbuf_free(&b);
        return MHD_NO;
    }
    enum MHD_Result ok = http_respond(h, conn, status, "application/json", b.data, b.len);
    hbuf_free(&b);
    return ok;
}

/* ---- authentication ---- */

/* Same time whatever the first difference: no byte-by-byte guessing. */
static bool token_equal(const char *given, size_t given_len, const char *token, size_t token_len)
{
    unsigned char diff = given_len == token_len ? 0 : 1;
    for (size_t i = 0; i < token_len; i++) {
        unsigned char g = i < given_len ? (unsigned char)given[i] : 0;
        diff |= (unsigned char)(g ^ (unsigned char)token[i]);
    }
    return diff == 0;
}

/* True, or false with the 401 already queued (its result in *answer). */
static bool authorized(plcio_http *h, struct MHD_Connection *conn, enum MHD_Result *answer)
{
    const char *a = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!a) {
        *answer = http_error(h, conn, 401, "a bearer token is required (Authorization: Bearer TOKEN)");
        return false;
    }
    if (strncasecmp(a, "Bearer ", 7) != 0) {
        *answer = http_error(h, conn, 401, "only bearer tokens are accepted (Authorization: Bearer TOKEN)");
        return false;
    }
    a += 7;
    while (*a == ' ')
        a++;
    if (!token_equal(a, strlen(a), h->token, h->token_len)) {
        *answer = http_error(h, conn, 401, "wrong token");
        return false;
    }
    return true;
}

/* ---- reads ---- */

static void json_key_str(hbuf *b, const char *key, const char *value)
{
    hbuf_printf(b, "\"%s\":", key);
    hbuf_json_str(b, value ? value : "", value ? strlen(value) : 0);
}

static double secs(uint64_t ns) { return (double)ns / 1e9; }

static enum MHD_Result get_devices(plcio_http *h, struct MHD_Connection *conn)
{
    hbuf b = {0};
    hbuf_puts(&b, "{\"devices\":[");
    for (size_t i = 0; i < plcio_sync_device_count(h->sync); i++) {
        plcio_sync_stats d;
        if (plcio_sync_device_stats(h->sync, i, &d) != PLCIO_OK) continue;
        hbuf_puts(&b, i ? ",{" : "{");
        json_key_str(&b, "name", d.name);
        hbuf_printf(&b,
                    ",\"connected\":%s,\"connects\":%llu,\"connection_errors\":%llu,\"cycles\":%llu,\"late\":%llu,"
                    "\"requests\":%llu,\"bytes\":%llu,",
                    d.connected ? "true" : "false", (unsigned long long)d.connects, (unsigned long long)d.errors,
                    (unsigned long long)d.cycles, (unsigned long long)d.late, (unsigned long long)d.requests,
                    (unsigned long long)d.bytes);
        json_key_str(&b, "last_error", d.last_error ? plcio_strerror(d.last_error) : "");
        hbuf_puts(&b, ",");
        json_key_str(&b, "last_message", d.last_message);
        hbuf_puts(&b, ",\"groups\":[");
        /* Groups come device by device, in the order of the tag table. */
        size_t gi = 0, t = 0;
        bool first = true;
        while (t < h->tag_count && gi < plcio_sync_group_count(h->sync)) {
            const char *dev = h->tags[t].device, *grp = h->tags[t].group;
            while (t < h->tag_count && h->tags[t].device == dev && h->tags[t].group == grp)
                t++;
            plcio_sync_stats g;
            if (plcio_sync_group_stats(h->sync, gi++, &g) != PLCIO_OK || strcmp(dev, d.name) != 0) continue;
            hbuf_puts(&b, first ? "{" : ",{");
            first = false;
            json_key_str(&b, "name", g.name);
            hbuf_printf(&b,
                        ",\"interval_ms\":%u,\"tags\":%zu,\"cycles\":%llu,\"late\":%llu,\"errors\":%llu,"
                        "\"cycle_min_s\":%.6f,\"cycle_avg_s\":%.6f,\"cycle_max_s\":%.6f,\"jitter_avg_s\":%.6f,"
                        "\"jitter_max_s\":%.6f}",
                        g.interval_ms, g.tags, (unsigned long long)g.cycles, (unsigned long long)g.late,
                        (unsigned long long)g.errors, secs(g.cycle_min_ns), secs(g.cycle_avg_ns), secs(g.cycle_max_ns),
                        secs(g.jitter_avg_ns), secs(g.jitter_max_ns));
        }
        hbuf_puts(&b, "]}");
    }
    hbuf_printf(&b, "],\"writes\":%s,\"time\":%llu}\n", h->writes ? "true" : "false",
                (unsigned long long)(plcio_realtime_ns() / PLCIO_NS_PER_MS));
    return respond_json(h, conn, 200, &b);
}

static void tag_json(plcio_http *h, hbuf *b, size_t i)
{
    const plcio_sink_tag *t = &h->tags[i];
    hbuf_printf(b, "{\"id\":%zu,", i);
    json_key_str(b, "name", t->name);
    hbuf_puts(b, ",");
    json_key_str(b, "device", t->device);
    hbuf_puts(b, ",");
    json_key_str(b, "group", t->group);
    hbuf_puts(b, ",");
    json_key_str(b, "type", plcio_type_name(t->type));
    hbuf_puts(b, ",\"value\":");
    if (h->quality[i])
        http_json_value(b, t, h->image + h->offset[i], h->scratch);
    else
        hbuf_puts(b, "null");
    hbuf_printf(b, ",\"quality\":\"%s\",", http_quality_name(h->quality[i]));
    json_key_str(b, "reason", h->reason[i] ? plcio_strerror(h->reason[i]) : "");
    hbuf_printf(b, ",\"read\":%llu,\"changed\":%llu}", (unsigned long long)(h->read_ns[i] / PLCIO_NS_PER_MS),
                (unsigned long long)(h->changed_ns[i] / PLCIO_NS_PER_MS));
}

static const char *arg(struct MHD_Connection *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
}

static enum MHD_Result get_tags(plcio_http *h, struct MHD_Connection *conn)
{
    const char *dev = arg(conn, "device"), *grp = arg(conn, "group"), *prefix = arg(conn, "prefix");
    size_t plen = prefix ? strlen(prefix) : 0;
    hbuf b = {0};
    hbuf_puts(&b, "{\"tags\":[");
    bool first = true;
    for (size_t i = 0; i < h->tag_count; i++) {
        const plcio_sink_tag *t = &h->tags[i];
        if ((dev && strcmp(dev, t->device) != 0) || (grp && strcmp(grp, t->group) != 0) ||
            (prefix && strncmp(prefix, t->name, plen) != 0))
            continue;
        if (!first) hbuf_puts(&b, ",");
        first = false;
        tag_json(h, &b, i);
    }
    hbuf_printf(&b, "],\"time\":%llu}\n", (unsigned long long)(plcio_realtime_ns() / PLCIO_NS_PER_MS));
    return respond_json(h, conn, 200, &b);
}

static bool find_tag(const plcio_http *h, const char *name, size_t *out)
{
    for (size_t i = 0; i < h->tag_count; i++)
        if (!strcmp(h->tags[i].name, name)) {
            *out = i;
            return true;
        }
    return false;
}

static enum MHD_Result get_tag(plcio_http *h, struct MHD_Connection *conn, const char *name)
{
    size_t i;
    if (!find_tag(h, name, &i)) return http_error(h, conn, 404, "no tag named '%s'", name);
    hbuf b = {0};
    tag_json(h, &b, i);
    hbuf_puts(&b, "\n");
    return respond_json(h, conn, 200, &b);
}

static enum MHD_Result get_metrics(plcio_http *h, struct MHD_Connection *conn)
{
    hbuf b = {0};
    http_metrics(h, &b);
    if (b.failed) {
        hbuf_free(&b);
        return http_error(h, conn, 503, "out of memory");
    }
    enum MHD_Result ok =
        http_respond(h, conn, 200, "text/plain; version=0.0.4; charset=utf-8", b.data ? b.data : "", b.len);
    hbuf_free(&b);
    return ok;
}

static enum MHD_Result get_asset(plcio_http *h, struct MHD_Connection *conn, const char *url, bool *found)
{
    const char *path = !strcmp(url, "/index.html") ? "/" : !strcmp(url, "/api/openapi.json") ? "/openapi.json" : url;
    for (size_t i = 0; i < http_asset_count; i++)
        if (!strcmp(http_assets[i].path, path)) {
            *found = true;
            return http_respond(h, conn, 200, http_assets[i].type, http_assets[i].data, http_assets[i].size);
        }
    *found = false;
    return MHD_NO;
}

/* ---- writes ---- */

static void write_done(void *ctx, int err, const char *message)
{
    http_write_result *res = ctx;
    http_req *req = res->req;
    plcio_http *h = req->h;
    res->code = err;
    snprintf(res->message, sizeof res->message, "%s", message && *message ? message : plcio_strerror(err));
    res->done = true;
    if (err == PLCIO_OK)
        h->writes_ok++;
    else
        h->writes_failed++;
    if (--req->pending || !req->suspended) return;
    req->suspended = false;
    if (req->prev_suspended)
        req->prev_suspended->next_suspended = req->next_suspended;
    else
        h->suspended_reqs = req->next_suspended;
    if (req->next_suspended) req->next_suspended->prev_suspended = req->prev_suspended;
    MHD_resume_connection(req->conn);
    http_kick(h);
}

static enum MHD_Result write_answer(plcio_http *h, http_req *req, struct MHD_Connection *conn)
{
    hbuf b = {0};
    bool all_ok = true;
    hbuf_puts(&b, "{\"results\":[");
    for (size_t i = 0; i < req->item_count; i++) {
        http_write_result *r = &req->results[i];
        if (r->code != PLCIO_OK || !r->done) all_ok = false;
        hbuf_puts(&b, i ? ",{" : "{");
        json_key_str(&b, "tag", req->items[i].tag);
        hbuf_printf(&b, ",\"ok\":%s,", r->done && r->code == PLCIO_OK ? "true" : "false");
        json_key_str(&b, "error", r->code == PLCIO_OK ? "" : plcio_err_name(r->code));
        hbuf_puts(&b, ",");
        json_key_str(&b, "message", r->done ? r->message : "the engine stopped");
        hbuf_puts(&b, "}");
    }
    hbuf_printf(&b, "],\"ok\":%s}\n", all_ok ? "true" : "false");
    /* 502: the request was fine, a device refused or could not be reached. */
    return respond_json(h, conn, all_ok ? 200 : 502, &b);
}

/* Every name and value is checked before anything is written: a request with
 * one bad item writes nothing. */
static bool check_items(plcio_http *h, http_req *req, struct MHD_Connection *conn, enum MHD_Result *answer)
{
    for (size_t i = 0; i < req->item_count; i++) {
        size_t t;
        if (!find_tag(h, req->items[i].tag, &t)) {
            *answer = http_error(h, conn, 404, "no tag named '%s' (nothing was written)", req->items[i].tag);
            return false;
        }
        plcio_value v;
        plcio_error why;
        plcio_error_clear(&why);
        plcio_value_init(&v, h->tags[t].type);
        if (h->tags[t].type == PLCIO_TYPE_WSTRING) plcio_value_use_buffer(&v, h->scratch, HTTP_TEXT_MAX);
        const char *text = req->items[i].value;
        if (plcio_value_from_text(&v, h->tags[t].type, h->tags[t].length, text, strlen(text), &why) != PLCIO_OK) {
            *answer = http_error(h, conn, 400, "%s: %s (nothing was written)", req->items[i].tag, why.text);
            return false;
        }
    }
    return true;
}

static enum MHD_Result post_write(plcio_http *h, http_req *req, struct MHD_Connection *conn)
{
    if (req->state == REQ_WRITING || req->state == REQ_WRITTEN) return write_answer(h, req, conn);
    char why[200] = "";
    const char *body = req->body.data ? req->body.data : "";
    if (http_parse_writes(body, req->body.len, &req->items, &req->item_count, why, sizeof why) != PLCIO_OK)
        return http_error(h, conn, 400, "%s", why);
    enum MHD_Result answer = MHD_NO;
    if (!check_items(h, req, conn, &answer)) return answer;
    req->results = calloc(req->item_count, sizeof *req->results);
    if (!req->results) return http_error(h, conn, 503, "out of memory");
    req->state = REQ_WRITING;
    req->pending = req->item_count;
    for (size_t i = 0; i < req->item_count; i++) {
        http_write_result *r = &req->results[i];
        r->req = req;
        plcio_error e;
        plcio_error_clear(&e);
        int rc = plcio_sync_write(h->sync, req->items[i].tag, req->items[i].value, (int)h->write_queue_ms, write_done,
                                  r, &e);
        if (rc != PLCIO_OK) write_done(r, rc, e.text);
    }
    if (req->pending == 0) {
        req->state = REQ_WRITTEN;
        return write_answer(h, req, conn);
    }
    req->suspended = true;
    req->next_suspended = h->suspended_reqs;
    if (h->suspended_reqs) h->suspended_reqs->prev_suspended = req;
    h->suspended_reqs = req;
    MHD_suspend_connection(conn);
    return MHD_YES;
}

/* ---- the router ---- */

/* On loopback, a web page elsewhere could reach this server through a host name
 * it points at 127.0.0.1 (DNS rebinding); such a request carries that name in
 * Host, so only loopback names are served. */
static bool host_allowed(const plcio_http *h, struct MHD_Connection *conn)
{
    if (!h->loopback) return true;
    const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (!host) return true; /* HTTP/1.0 without Host: not a browser */
    size_t n = strlen(host);
    const char *colon = host[0] == '[' ? strstr(host, "]:") : strchr(host, ':');
    if (colon) n = (size_t)(colon - host) + (host[0] == '[' ? 1 : 0);
    if ((n == 9 && !strncasecmp(host, "localhost", 9)) || (n == 5 && !strncmp(host, "[::1]", 5))) return true;
    if (n < 7 || n > 15 || strncmp(host, "127.", 4) != 0) return false;
    for (size_t i = 4; i < n; i++)
        if (!((host[i] >= '0' && host[i] <= '9') || host[i] == '.')) return false;
    return true;
}

static bool is_read(const char *method) { return !strcmp(method, "GET") || !strcmp(method, "HEAD"); }

static enum MHD_Result preflight(plcio_http *h, struct MHD_Connection *conn)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    http_add_common_headers(h, r);
    MHD_add_response_header(r, "Access-Control-Allow-Methods", "GET, POST");
    MHD_add_response_header(r, "Access-Control-Allow-Headers", "Authorization, Content-Type");
    MHD_add_response_header(r, "Access-Control-Max-Age", "600");
    enum MHD_Result ok = MHD_queue_response(conn, 204, r);
    MHD_destroy_response(r);
    h->responses[HTTP_CODES - 1]++;
    return ok;
}

enum MHD_Result http_route(plcio_http *h, http_req *req, struct MHD_Connection *conn, const char *url,
                           const char *method)
{
    if (h->closing) return http_error(h, conn, 503, "the engine is stopping");
    if (!host_allowed(h, conn))
        return http_error(h, conn, 403, "this server answers to 127.0.0.1, [::1] and localhost only (Host header)");
    if (!strcmp(method, "OPTIONS") && h->cors_origin) return preflight(h, conn);
    bool write = !strcmp(url, "/api/write");
    if (write ? strcmp(method, "POST") != 0 : !is_read(method))
        return http_error(h, conn, 405, "%s is not allowed on %s", method, url);
    if (!write && req->body.len) return http_error(h, conn, 400, "a %s request carries no body", method);
    enum MHD_Result answer = MHD_NO;
    if (write) {
        if (!h->writes)
            return http_error(h, conn, 403, "writes are disabled (enable them with http writes: true and a token)");
        if (req->state == REQ_NEW && !authorized(h, conn, &answer)) return answer;
        return post_write(h, req, conn);
    }
    if (h->read_auth && !authorized(h, conn, &answer)) return answer;
    if (!strcmp(url, "/api/devices")) return get_devices(h, conn);
    if (!strcmp(url, "/api/tags")) return get_tags(h, conn);
    if (!strncmp(url, "/api/tags/", 10) && url[10]) return get_tag(h, conn, url + 10);
    if (!strcmp(url, "/api/events")) return sse_start(h, conn);
    if (!strcmp(url, "/metrics")) return get_metrics(h, conn);
    bool found = false;
    answer = get_asset(h, conn, url, &found);
    if (found) return answer;
    return http_error(h, conn, 404, "nothing at %s", url);
}
