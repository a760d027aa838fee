/* Line-protocol backend of the historian (historian.h): rows as
 *
 *   plcio,device=plc,tag=Level,quality=GOOD value=4,text="4" 1733357961000000000
 *
 * POSTed in batches to an InfluxDB 1.x /write or 2.x /api/v2/write URL (or
 * anything that takes the same: Telegraf's http_listener_v2, QuestDB) over
 * plain HTTP/1.1 with Content-Length and keep-alive, optionally gzipped (zlib).
 * The 2.x token comes from a file (token-file) or INFLUX_TOKEN, never from the
 * command line. A small client of our own: POST, status line, headers, body. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "net/net.h"
#include "plcio/shm.h"
#include "sync/historian.h"

#define HTTP_TIMEOUT_MS 10000
#define RESPONSE_MAX    65536

typedef struct influx_backend {
    char host[256];
    int port;
    char *target; /* path and query, as in the request line */
    char *auth;   /* "Authorization: Token ...\r\n" or "" */
    bool gzip;
    int fd;
    char *body, *zbody;
    size_t len, cap, zcap;
    char resp[RESPONSE_MAX + 1];
} influx_backend;

static bool put(influx_backend *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *bigger = realloc(b->body, cap);
        if (!bigger) return false;
        b->body = bigger;
        b->cap = cap;
    }
    memcpy(b->body + b->len, s, n);
    b->len += n;
    return true;
}

static bool puts_(influx_backend *b, const char *s) { return put(b, s, strlen(s)); }

/* Tag values: comma, equals and space take a backslash; a trailing backslash
 * or a newline would break the line, so newlines become spaces. Empty -> "-"
 * (a tag value cannot be empty). */
static bool put_tag_value(influx_backend *b, const char *s)
{
    if (!*s) return put(b, "-", 1);
    bool ok = true;
    for (; *s && ok; s++) {
        char c = *s;
        if (c == '\n' || c == '\r') c = ' ';
        if (c == ',' || c == '=' || c == ' ' || c == '\\') ok = put(b, "\\", 1);
        if (ok) ok = put(b, &c, 1);
    }
    return ok;
}

/* String fields: double quote and backslash take a backslash. */
static bool put_string_field(influx_backend *b, const char *s, size_t n)
{
    bool ok = put(b, "\"", 1);
    for (size_t i = 0; i < n && ok; i++) {
        if (s[i] == '"' || s[i] == '\\') ok = put(b, "\\", 1);
        if (ok) ok = put(b, &s[i], 1);
    }
    return ok && put(b, "\"", 1);
}

static bool encode_rows(influx_backend *b, const plcio_sink_tag *tags, hist_row *const *rows, size_t n)
{
    b->len = 0;
    char num[64];
    for (size_t i = 0; i < n; i++) {
        const hist_row *r = rows[i];
        const plcio_sink_tag *t = &tags[r->tag];
        bool ok = puts_(b, "plcio,device=") && put_tag_value(b, t->device) && puts_(b, ",tag=") &&
                  put_tag_value(b, t->name) && puts_(b, ",quality=") && puts_(b, hist_quality_name(r->quality)) &&
                  put(b, " ", 1);
        /* value is always a float field (no "i" suffix): one type per field, whatever the PLC type. */
        bool number = r->has_value && r->value == r->value && r->value - r->value == 0; /* not NaN, not infinite */
        if (ok && number) {
            snprintf(num, sizeof num, "value=%.17g,", r->value);
            ok = puts_(b, num);
        }
        ok = ok && puts_(b, "text=") && put_string_field(b, r->text, r->has_text ? r->text_len : 0);
        if (ok && r->quality != PLCIO_SHM_QUALITY_GOOD) {
            const char *why = plcio_strerror(r->reason);
            ok = puts_(b, ",reason=") && put_string_field(b, why, strlen(why));
        }
        snprintf(num, sizeof num, " %llu\n", (unsigned long long)r->time_ns);
        if (!ok || !puts_(b, num)) return false;
    }
    return true;
}

static bool gzip_body(influx_backend *b, size_t *zlen)
{
    size_t need = compressBound((uLong)b->len) + 64;
    if (need > b->zcap) {
        char *bigger = realloc(b->zbody, need);
        if (!bigger) return false;
        b->zbody = bigger;
        b->zcap = need;
    }
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return false;
    z.next_in = (Bytef *)b->body;
    z.avail_in = (uInt)b->len;
    z.next_out = (Bytef *)b->zbody;
    z.avail_out = (uInt)b->zcap;
    int rc = deflate(&z, Z_FINISH);
    *zlen = z.total_out;
    deflateEnd(&z);
    return rc == Z_STREAM_END;
}

static void influx_disconnect(void *p)
{
    influx_backend *b = p;
    if (b->fd >= 0) net_close(b->fd);
    b->fd = -1;
}

static int influx_connect(void *p, char *err, size_t cap)
{
    influx_backend *b = p;
    influx_disconnect(b);
    int rc = net_tcp_connect(b->host, b->port, HTTP_TIMEOUT_MS, &b->fd);
    if (rc != PLCIO_OK) {
        snprintf(err, cap, "%s:%d: %s", b->host, b->port, plcio_strerror(rc));
        b->fd = -1;
    }
    return rc;
}

/* A header's value in the response head (case-insensitive name), or NULL. */
static const char *header(const char *head, const char *name)
{
    size_t n = strlen(name);
    for (const char *line = strstr(head, "\r\n"); line && line[2]; line = strstr(line + 2, "\r\n")) {
        const char *h = line + 2;
        if (!strncasecmp(h, name, n) && h[n] == ':') {
            h += n + 1;
            while (*h == ' ' || *h == '\t')
                h++;
            return h;
        }
    }
    return NULL;
}

/* Read the response: status line, headers, body by Content-Length (or until
 * the server closes). *keep: the connection may carry the next request. */
static int read_response(influx_backend *b, int *status, const char **body, bool *keep, char *err, size_t cap)
{
    uint64_t deadline = net_deadline(HTTP_TIMEOUT_MS);
    size_t have = 0;
    char *end = NULL;
    while (!end) {
        if (have == RESPONSE_MAX) {
            snprintf(err, cap, "response head larger than %d bytes", RESPONSE_MAX);
            return PLCIO_EPROTO;
        }
        size_t got = 0;
        int rc = net_recv_some(b->fd, b->resp + have, RESPONSE_MAX - have, &got, deadline);
        if (rc != PLCIO_OK) {
            snprintf(err, cap, "%s:%d: no answer: %s", b->host, b->port, plcio_strerror(rc));
            return rc;
        }
        have += got;
        b->resp[have] = '\0';
        end = strstr(b->resp, "\r\n\r\n");
    }
    *end = '\0';
    /* "HTTP/1.1 204 No Content" */
    const char *r = b->resp;
    bool shape = !strncmp(r, "HTTP/", 5) && isdigit((unsigned char)r[5]) && r[6] == '.' &&
                 isdigit((unsigned char)r[7]) && r[8] == ' ' && isdigit((unsigned char)r[9]) &&
                 isdigit((unsigned char)r[10]) && isdigit((unsigned char)r[11]) && (r[12] == ' ' || r[12] == '\0');
    int major = shape ? r[5] - '0' : 0, minor = shape ? r[7] - '0' : 0;
    *status = shape ? (r[9] - '0') * 100 + (r[10] - '0') * 10 + (r[11] - '0') : 0;
    if (!shape || *status < 100 || *status > 599) {
        snprintf(err, cap, "%s:%d: not an HTTP answer", b->host, b->port);
        return PLCIO_EPROTO;
    }
    const char *conn = header(b->resp, "Connection");
    const char *clen = header(b->resp, "Content-Length");
    bool no_body = *status == 204 || *status == 304 || *status < 200; /* RFC 9112 6.3 */
    *keep = !(conn && !strncasecmp(conn, "close", 5)) && (clen || no_body) && (major > 1 || minor >= 1);
    char *body_start = end + 4;
    size_t body_have = have - (size_t)(body_start - b->resp);
    size_t want = no_body ? 0 : clen ? strtoul(clen, NULL, 10) : RESPONSE_MAX;
    if (body_have > want) body_have = want;
    size_t room = RESPONSE_MAX - (size_t)(body_start - b->resp);
    if (want > room) { /* a body we do not keep: read what fits, drop the connection */
        want = room;
        *keep = false;
    }
    while (body_have < want) {
        size_t got = 0;
        int rc = net_recv_some(b->fd, body_start + body_have, want - body_have, &got, deadline);
        if (rc == PLCIO_ECLOSED && !clen) break; /* no length: the body ends with the connection */
        if (rc != PLCIO_OK) {
            *keep = false;
            break;
        }
        body_have += got;
    }
    body_start[body_have] = '\0';
    *body = body_start;
    return PLCIO_OK;
}

static hist_result influx_write(void *p, const plcio_sink_tag *tags, hist_row *const *rows, size_t n, char *err,
                                size_t cap)
{
    influx_backend *b = p;
    if (b->fd < 0 && influx_connect(b, err, cap) != PLCIO_OK) return HIST_RETRY; /* the last answer closed it */
    if (!encode_rows(b, tags, rows, n)) {
        snprintf(err, cap, "out of memory for a batch of %zu rows", n);
        return HIST_RETRY;
    }
    const char *data = b->body;
    size_t len = b->len;
    if (b->gzip) {
        if (!gzip_body(b, &len)) {
            snprintf(err, cap, "gzip failed");
            return HIST_RETRY;
        }
        data = b->zbody;
    }
    char head[1024 + 512];
    int hn = snprintf(head, sizeof head,
                      "POST %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: plcio\r\nContent-Type: text/plain; "
                      "charset=utf-8\r\n%s%sContent-Length: %zu\r\n\r\n",
                      b->target, b->host, b->port, b->auth, b->gzip ? "Content-Encoding: gzip\r\n" : "", len);
    uint64_t deadline = net_deadline(HTTP_TIMEOUT_MS);
    int rc =
        (hn > 0 && (size_t)hn < sizeof head) ? net_send_all(b->fd, head, (size_t)hn, deadline, NULL) : PLCIO_ERANGE;
    if (rc == PLCIO_OK) rc = net_send_all(b->fd, data, len, deadline, NULL);
    if (rc != PLCIO_OK) {
        snprintf(err, cap, "%s:%d: %s", b->host, b->port, plcio_strerror(rc));
        return HIST_RETRY;
    }
    int status = 0;
    const char *body = "";
    bool keep = false;
    rc = read_response(b, &status, &body, &keep, err, cap);
    if (rc != PLCIO_OK) return HIST_RETRY;
    if (!keep) influx_disconnect(b);
    if (status >= 200 && status < 300) return HIST_OK; /* without keep-alive the next batch connects again */
    char line[200];
    snprintf(line, sizeof line, "%s", body);
    for (char *c = line; *c; c++)
        if (*c == '\n' || *c == '\r') *c = ' ';
    snprintf(err, cap, "HTTP %d from %s:%d%s: %s", status, b->host, b->port, b->target, line);
    influx_disconnect(b); /* a fresh connection for the retry */
    /* 400: some lines were refused for what they hold; 413: too large. Other
     * answers (401, 403, 404 no such database, 5xx) may pass later. */
    return status == 400 || status == 413 ? HIST_REJECTED : HIST_RETRY;
}

static void influx_free(void *p)
{
    influx_backend *b = p;
    if (!b) return;
    influx_disconnect(b);
    free(b->target);
    free(b->auth);
    free(b->body);
    free(b->zbody);
    free(b);
}

static const hist_backend_ops influx_ops = {"influx", influx_connect, influx_write, influx_disconnect, influx_free};

/* A token goes into a header line: printable, no spaces. */
static bool token_ok(const char *t)
{
    for (; *t; t++)
        if ((unsigned char)*t < 0x21 || *t == 0x7f) return false;
    return true;
}

static int read_token(const char *path, char *out, size_t cap, char *err, size_t errcap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errcap, "token-file %s: %s", path, strerror(errno));
        return PLCIO_ENOTFOUND;
    }
    size_t n = fread(out, 1, cap - 1, f);
    (void)fclose(f); /* read-only */
    out[n] = '\0';
    while (n && isspace((unsigned char)out[n - 1]))
        out[--n] = '\0';
    if (!n || n == cap - 1) {
        snprintf(err, errcap, "token-file %s: %s", path, n ? "longer than 1000 bytes" : "empty");
        return PLCIO_EINVAL;
    }
    if (!token_ok(out)) {
        snprintf(err, errcap, "token-file %s: the token holds a space or control character", path);
        return PLCIO_EINVAL;
    }
    return PLCIO_OK;
}

/* http://HOST[:PORT]/PATH[?QUERY] */
static int parse_url(influx_backend *b, const char *url, char *err, size_t cap)
{
    if (!strncmp(url, "https://", 8)) {
        snprintf(err, cap, "'%s': https is not supported; use http:// to a local endpoint or a TLS proxy", url);
        return PLCIO_EUNSUPPORTED;
    }
    if (strncmp(url, "http://", 7) != 0) {
        snprintf(err, cap, "'%s' is not an http:// URL (http://HOST:8086/write?db=NAME)", url);
        return PLCIO_ESYNTAX;
    }
    const char *h = url + 7, *slash = strchr(h, '/');
    const char *hend = slash ? slash : h + strlen(h);
    const char *colon = memchr(h, ':', (size_t)(hend - h));
    size_t hl = (size_t)((colon ? colon : hend) - h);
    if (hl == 0 || hl >= sizeof b->host) {
        snprintf(err, cap, "'%s': no host", url);
        return PLCIO_ESYNTAX;
    }
    memcpy(b->host, h, hl);
    b->host[hl] = '\0';
    b->port = 8086;
    if (colon) {
        char *e;
        long port = strtol(colon + 1, &e, 10);
        if (e != hend || port < 1 || port > 65535) {
            snprintf(err, cap, "'%s': bad port", url);
            return PLCIO_ESYNTAX;
        }
        b->port = (int)port;
    }
    const char *path = slash ? slash : "/write";
    for (const char *c = path; *c; c++)
        if ((unsigned char)*c <= 0x20 || *c == 0x7f) {
            snprintf(err, cap, "'%s': a space or control character in the path", url);
            return PLCIO_ESYNTAX;
        }
    const char *precision = strstr(path, "precision=");
    if (precision && strncmp(precision + 10, "ns", 2) != 0) {
        snprintf(err, cap, "'%s': rows carry nanosecond times: leave precision out or say precision=ns", url);
        return PLCIO_EINVAL;
    }
    b->target = strdup(path);
    return b->target ? PLCIO_OK : PLCIO_ENOMEM;
}

int hist_influx_new(const plcio_sync_output_spec *spec, const hist_backend_ops **ops, void **backend, char *err,
                    size_t cap)
{
    influx_backend *b = calloc(1, sizeof *b);
    if (!b) return PLCIO_ENOMEM;
    b->fd = -1;
    b->gzip = spec->gzip;
    int rc = parse_url(b, spec->target, err, cap);
    char token[1024] = "";
    if (rc == PLCIO_OK && spec->token_file) rc = read_token(spec->token_file, token, sizeof token, err, cap);
    const char *env = getenv("INFLUX_TOKEN");
    if (rc == PLCIO_OK && !token[0] && env && *env) {
        if (strlen(env) >= sizeof token || !token_ok(env)) {
            snprintf(err, cap, "INFLUX_TOKEN: longer than 1000 bytes, or a space or control character in it");
            rc = PLCIO_EINVAL;
        } else {
            snprintf(token, sizeof token, "%s", env);
        }
    }
    if (rc == PLCIO_OK && !token[0] && strstr(b->target, "/api/v2/")) {
        snprintf(err, cap, "'%s' is an InfluxDB 2.x URL: it needs a token (token-file: FILE, or INFLUX_TOKEN)",
                 spec->target);
        rc = PLCIO_EINVAL;
    }
    if (rc == PLCIO_OK) {
        size_t n = strlen(token) + 40;
        b->auth = malloc(n);
        if (!b->auth)
            rc = PLCIO_ENOMEM;
        else if (token[0])
            snprintf(b->auth, n, "Authorization: Token %s\r\n", token);
        else
            b->auth[0] = '\0';
    }
    memset(token, 0, sizeof token);
    if (rc != PLCIO_OK) {
        influx_free(b);
        return rc;
    }
    *ops = &influx_ops;
    *backend = b;
    return PLCIO_OK;
}
