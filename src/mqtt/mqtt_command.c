/* Commands from MQTT (mqtt_internal.h): a strict decoder for the small JSON
 * they are written in (no I/O, no allocation; fuzzed by tests/fuzz), and the
 * writes they turn into, each through plcio_sync_write, answered with one
 * reply once every result is in. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "mqtt/mqtt_internal.h"

typedef struct cursor {
    const uint8_t *p, *end;
    mqtt_command *out;
    char *err;
    size_t cap;
} cursor;

static int bad(cursor *c, int rc, const char *what)
{
    snprintf(c->err, c->cap, "%s", what);
    return rc;
}

static void skip_ws(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

/* Room for n more bytes of decoded text. */
static char *room(cursor *c, size_t n)
{
    if (c->out->used + n > MQTT_COMMAND_MAX_BYTES) return NULL;
    char *at = c->out->buf + c->out->used;
    c->out->used += n;
    return at;
}

static int hex4(const uint8_t *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned d;
        if (p[i] >= '0' && p[i] <= '9')
            d = p[i] - '0';
        else if (p[i] >= 'a' && p[i] <= 'f')
            d = p[i] - 'a' + 10u;
        else if (p[i] >= 'A' && p[i] <= 'F')
            d = p[i] - 'A' + 10u;
        else
            return -1;
        v = v * 16 + d;
    }
    *out = v;
    return 0;
}

static size_t utf8_put(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* An escape after the backslash; c->p at the character after '\'. */
static int escape(cursor *c, char *o, size_t *n)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *k = memchr(from, *c->p, sizeof from - 1);
    if (k) {
        o[(*n)++] = to[k - from];
        c->p++;
        return PLCIO_OK;
    }
    unsigned cp, lo;
    if (*c->p != 'u' || c->end - c->p < 5 || hex4(c->p + 1, &cp) != 0)
        return bad(c, PLCIO_ESYNTAX, "bad escape in a string");
    c->p += 5;
    if (cp >= 0xD800 && cp < 0xDC00) {
        if (c->end - c->p < 6 || c->p[0] != '\\' || c->p[1] != 'u' || hex4(c->p + 2, &lo) != 0 || lo < 0xDC00 ||
            lo > 0xDFFF)
            return bad(c, PLCIO_ESYNTAX, "unpaired surrogate in a string");
        c->p += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    } else if (cp >= 0xDC00 && cp < 0xE000) {
        return bad(c, PLCIO_ESYNTAX, "unpaired surrogate in a string");
    }
    *n += utf8_put(o + *n, cp);
    return PLCIO_OK;
}

/* A JSON string at c->p (at the quote) into the buffer, NUL-terminated. */
static int string(cursor *c, const char **out, size_t *len)
{
    c->p++;
    size_t max = (size_t)(c->end - c->p);
    /* decoded text is never longer than its source (an escape of 6 gives at most 4) */
    char *o = room(c, 0);
    size_t n = 0, limit = MQTT_COMMAND_MAX_BYTES - c->out->used;
    while (c->p < c->end && *c->p != '"') {
        if (n + 4 >= limit || n >= max) return bad(c, PLCIO_ERANGE, "a string is too long");
        uint8_t ch = *c->p;
        if (ch < 0x20) return bad(c, PLCIO_ESYNTAX, "control character in a string");
        if (ch == '\\') {
            c->p++;
            if (c->p >= c->end) break;
            int rc = escape(c, o, &n);
            if (rc != PLCIO_OK) return rc;
            continue;
        }
        o[n++] = (char)ch;
        c->p++;
    }
    if (c->p >= c->end) return bad(c, PLCIO_ESYNTAX, "unterminated string");
    c->p++;
    if (memchr(o, '\0', n)) return bad(c, PLCIO_ESYNTAX, "NUL character in a string");
    o[n] = '\0';
    c->out->used += n + 1;
    *out = o;
    *len = n;
    return PLCIO_OK;
}

static bool word(cursor *c, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0) return false;
    c->p += n;
    return true;
}

/* A JSON number: copied as its literal (plcio_sync_write parses it by the tag's type). */
static int number(cursor *c, const char **out, size_t *len)
{
    const uint8_t *s = c->p;
    if (c->p < c->end && *c->p == '-') c->p++;
    size_t digits = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        c->p++;
        digits++;
    }
    if (!digits) return bad(c, PLCIO_ESYNTAX, "a value must be a number, true, false or a string");
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        for (digits = 0; c->p < c->end && *c->p >= '0' && *c->p <= '9'; digits++)
            c->p++;
        if (!digits) return bad(c, PLCIO_ESYNTAX, "bad number");
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-')) c->p++;
        for (digits = 0; c->p < c->end && *c->p >= '0' && *c->p <= '9'; digits++)
            c->p++;
        if (!digits) return bad(c, PLCIO_ESYNTAX, "bad number");
    }
    size_t n = (size_t)(c->p - s);
    char *o = room(c, n + 1);
    if (!o) return bad(c, PLCIO_ERANGE, "the command is too long");
    memcpy(o, s, n);
    o[n] = '\0';
    *out = o;
    *len = n;
    return PLCIO_OK;
}

static int value(cursor *c, const char **out, size_t *len)
{
    skip_ws(c);
    if (c->p >= c->end) return bad(c, PLCIO_ESYNTAX, "a value is missing");
    if (*c->p == '"') return string(c, out, len);
    if (word(c, "true") || word(c, "false")) {
        bool t = c->p[-1] == 'e' && c->p[-2] == 'u';
        *out = t ? "true" : "false";
        *len = t ? 4 : 5;
        return PLCIO_OK;
    }
    if (*c->p == '{' || *c->p == '[') return bad(c, PLCIO_ESYNTAX, "a value must be a number, true, false or a string");
    if (word(c, "null")) return bad(c, PLCIO_ESYNTAX, "null is not a value to write");
    return number(c, out, len);
}

static int begin(const uint8_t *data, size_t len, mqtt_command *out, char *err, size_t cap, cursor *c)
{
    *c = (cursor){data, data + len, out, err, cap};
    out->count = 0;
    out->used = 0;
    if (err && cap) err[0] = '\0';
    if (len > MQTT_COMMAND_MAX_BYTES) return bad(c, PLCIO_ERANGE, "the command is longer than 65536 bytes");
    return PLCIO_OK;
}

int mqtt_command_decode(const uint8_t *data, size_t len, mqtt_command *out, char *err, size_t cap)
{
    cursor c;
    int rc = begin(data, len, out, err, cap, &c);
    if (rc != PLCIO_OK) return rc;
    skip_ws(&c);
    if (c.p >= c.end || *c.p != '{') return bad(&c, PLCIO_ESYNTAX, "a command is a JSON object {\"tag\": value, ...}");
    c.p++;
    skip_ws(&c);
    if (c.p < c.end && *c.p == '}') {
        c.p++;
    } else {
        for (;;) {
            skip_ws(&c);
            if (c.p >= c.end || *c.p != '"') return bad(&c, PLCIO_ESYNTAX, "a tag name (a JSON string) is expected");
            if (out->count == MQTT_COMMAND_MAX_ITEMS) return bad(&c, PLCIO_ERANGE, "more than 256 tags in one command");
            mqtt_command_item *it = &out->items[out->count];
            rc = string(&c, &it->tag, &it->tag_len);
            if (rc != PLCIO_OK) return rc;
            skip_ws(&c);
            if (c.p >= c.end || *c.p != ':') return bad(&c, PLCIO_ESYNTAX, "':' is expected after a tag name");
            c.p++;
            rc = value(&c, &it->value, &it->value_len);
            if (rc != PLCIO_OK) return rc;
            out->count++;
            skip_ws(&c);
            if (c.p < c.end && *c.p == ',') {
                c.p++;
                continue;
            }
            if (c.p < c.end && *c.p == '}') {
                c.p++;
                break;
            }
            return bad(&c, PLCIO_ESYNTAX, "',' or '}' is expected after a value");
        }
    }
    skip_ws(&c);
    if (c.p != c.end) return bad(&c, PLCIO_ESYNTAX, "something follows the command object");
    if (!out->count) return bad(&c, PLCIO_ESYNTAX, "the command names no tag");
    return PLCIO_OK;
}

int mqtt_command_decode_value(const uint8_t *data, size_t len, mqtt_command *out, char *err, size_t cap)
{
    cursor c;
    int rc = begin(data, len, out, err, cap, &c);
    if (rc != PLCIO_OK) return rc;
    mqtt_command_item *it = &out->items[0];
    it->tag = "";
    it->tag_len = 0;
    skip_ws(&c);
    const uint8_t *start = c.p;
    rc = value(&c, &it->value, &it->value_len);
    skip_ws(&c);
    if (rc == PLCIO_OK && c.p == c.end) {
        out->count = 1;
        return PLCIO_OK;
    }
    if (start < c.end && *start == '"') return rc != PLCIO_OK ? rc : bad(&c, PLCIO_ESYNTAX, "text follows the value");
    /* not JSON: the payload as it is (a plain 42 or on) */
    out->used = 0;
    size_t n = (size_t)(c.end - data);
    while (n && (data[n - 1] == ' ' || data[n - 1] == '\n' || data[n - 1] == '\r' || data[n - 1] == '\t'))
        n--;
    const uint8_t *s = data;
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    if (!n) return bad(&c, PLCIO_ESYNTAX, "the value is empty");
    if (memchr(s, '\0', n)) return bad(&c, PLCIO_ESYNTAX, "NUL character in the value");
    char *o = room(&c, n + 1);
    if (!o) return bad(&c, PLCIO_ERANGE, "the value is too long");
    memcpy(o, s, n);
    o[n] = '\0';
    it->value = o;
    it->value_len = n;
    out->count = 1;
    if (err && cap) err[0] = '\0';
    return PLCIO_OK;
}

/* ---- carrying a command out ---- */

typedef struct request {
    mqtt_out *m;
    char *reply_topic;
    void *corr;
    uint16_t corr_len;
    size_t pending;
    bool started, all_ok;
    char *json; /* the results array so far */
    size_t len, cap;
} request;

static void add_result(request *r, const char *tag, int rc, const char *message)
{
    size_t need = strlen(tag) * 6 + (message ? strnlen(message, 512) * 6 : 0) + 64;
    if (r->len + need > r->cap) {
        size_t cap = (r->len + need) * 2;
        char *j = realloc(r->json, cap);
        if (!j) return;
        r->json = j;
        r->cap = cap;
    }
    if (!r->json) return; /* out of memory: this result is left out */
    size_t n = r->len;
    if (n) r->json[n++] = ',';
    n += (size_t)snprintf(r->json + n, r->cap - n, "{\"tag\":");
    mqtt_json_string(r->json, r->cap, &n, tag, strlen(tag));
    n += (size_t)snprintf(r->json + n, r->cap - n, ",\"ok\":%s", rc == PLCIO_OK ? "true" : "false");
    if (rc != PLCIO_OK) {
        const char *why = message && message[0] ? message : plcio_strerror(rc);
        n += (size_t)snprintf(r->json + n, r->cap - n, ",\"error\":");
        mqtt_json_string(r->json, r->cap, &n, why, strnlen(why, 512));
        r->all_ok = false;
    }
    r->json[n++] = '}';
    r->len = n;
}

static void finish(request *r)
{
    if (r->pending || !r->started) return;
    size_t cap = r->len + 64;
    char *doc = malloc(cap);
    if (doc) {
        int n = snprintf(doc, cap, "{\"ok\":%s,\"results\":[%.*s]}", r->all_ok ? "true" : "false", (int)r->len,
                         r->json ? r->json : "");
        if (mqtt_publish_now(r->m, r->reply_topic, doc, (size_t)n, 1, false, r->corr, r->corr_len) != PLCIO_OK)
            log_msg(mqtt_logger(r->m), PLCIO_LOG_INFO, "mqtt", "reply to %s not sent: not connected", r->reply_topic);
        free(doc);
    }
    free(r->reply_topic);
    free(r->corr);
    free(r->json);
    free(r);
}

typedef struct item_ctx {
    request *r;
    char tag[];
} item_ctx;

static void item_done(void *ctx, int rc, const char *message)
{
    item_ctx *it = ctx;
    request *r = it->r;
    add_result(r, it->tag, rc, message);
    if (rc != PLCIO_OK)
        log_msg(mqtt_logger(r->m), PLCIO_LOG_WARN, "mqtt", "write of %s from MQTT failed: %s", it->tag,
                message && message[0] ? message : plcio_strerror(rc));
    free(it);
    r->pending--;
    finish(r);
}

void mqtt_command_run(mqtt_out *m, const mqtt_command *cmd, const char *reply_topic, const void *correlation,
                      uint16_t correlation_len)
{
    request *r = calloc(1, sizeof *r);
    if (!r) return;
    r->m = m;
    r->all_ok = true;
    r->reply_topic = strdup(reply_topic);
    if (correlation && correlation_len) {
        r->corr = malloc(correlation_len);
        if (r->corr) memcpy(r->corr, correlation, correlation_len);
        r->corr_len = r->corr ? correlation_len : 0;
    }
    if (!r->reply_topic) {
        free(r->corr);
        free(r);
        return;
    }
    for (size_t i = 0; i < cmd->count; i++) {
        const mqtt_command_item *ci = &cmd->items[i];
        char why[300] = "";
        long t = mqtt_tag_index(m, ci->tag, ci->tag_len);
        if (t < 0) {
            snprintf(why, sizeof why, "no tag named '%.*s'", (int)(ci->tag_len > 200 ? 200 : ci->tag_len), ci->tag);
            add_result(r, ci->tag, PLCIO_ENOTFOUND, why);
            log_msg(mqtt_logger(m), PLCIO_LOG_WARN, "mqtt", "write from MQTT refused: %s", why);
            continue;
        }
        item_ctx *it = malloc(sizeof *it + ci->tag_len + 1);
        if (!it) {
            add_result(r, ci->tag, PLCIO_ENOMEM, NULL);
            continue;
        }
        it->r = r;
        memcpy(it->tag, ci->tag, ci->tag_len + 1);
        r->pending++;
        int rc = mqtt_write(m, (size_t)t, ci->value, item_done, it, why, sizeof why);
        if (rc != PLCIO_OK) {
            r->pending--;
            free(it);
            add_result(r, ci->tag, rc, why);
            log_msg(mqtt_logger(m), PLCIO_LOG_WARN, "mqtt", "write of %s from MQTT refused: %s", ci->tag, why);
        }
    }
    r->started = true;
    finish(r);
}
