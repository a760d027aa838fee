#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plcio/core.h"
#include "plcio/url.h"
#include "core/error.h"

static int hex_digit(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Where the parse stands and where a reason goes (err may be NULL). */
typedef struct url_ctx {
    plcio_url *out;
    char *err;
    size_t cap;
} url_ctx;

static int url_fail(url_ctx *c, int rc, const char *fmt, ...) PLCIO_PRINTF(3, 4);
static int url_fail(url_ctx *c, int rc, const char *fmt, ...)
{
    if (c->err && c->cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err, c->cap, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* Copy [s, s+len) into out (cap bytes, NUL-terminated), decoding %XX when asked. */
static int copy_part(const char *s, size_t len, char *out, size_t cap, bool decode)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (decode && c == '%') {
            if (len - i < 3) return PLCIO_ESYNTAX; /* needs two hex digits */
            int hi = hex_digit(s[i + 1]), lo = hex_digit(s[i + 2]);
            if (hi < 0 || lo < 0) return PLCIO_ESYNTAX;
            c = (char)(hi << 4 | lo);
            i += 2;
        } else if (decode && c == '+') {
            c = ' ';
        }
        if (n + 1 >= cap) return PLCIO_ENOSPC;
        out[n++] = c;
    }
    out[n] = '\0';
    return PLCIO_OK;
}

/* Reason for a copy_part failure of the part called `what`. */
static int part_fail(url_ctx *c, int rc, const char *what, const char *s, size_t len)
{
    if (rc == PLCIO_ENOSPC) return url_fail(c, rc, "%s is too long (%zu characters)", what, len);
    return url_fail(c, rc, "%s '%.*s' has a bad %%-escape (%% takes two hex digits)", what, (int)(len > 64 ? 64 : len),
                    s);
}

static int parse_params(url_ctx *c, const char *q)
{
    plcio_url *out = c->out;
    while (*q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        if (len > 0) {
            if (out->param_count >= PLCIO_URL_MAX_PARAMS)
                return url_fail(c, PLCIO_ENOSPC, "more than %d parameters", PLCIO_URL_MAX_PARAMS);
            const char *eq = memchr(q, '=', len);
            size_t klen = eq ? (size_t)(eq - q) : len;
            if (klen == 0)
                return url_fail(c, PLCIO_ESYNTAX, "parameter '%.*s' has no name before '='", (int)(len > 64 ? 64 : len),
                                q);
            plcio_url_param *p = &out->params[out->param_count];
            int rc = copy_part(q, klen, p->key, sizeof p->key, true);
            if (rc != PLCIO_OK) return part_fail(c, rc, "parameter name", q, klen);
            if (eq) {
                rc = copy_part(eq + 1, len - klen - 1, p->value, sizeof p->value, true);
                if (rc != PLCIO_OK) return part_fail(c, rc, "value of parameter", eq + 1, len - klen - 1);
            } else {
                p->value[0] = '\0';
            }
            if (plcio_url_get(out, p->key)) return url_fail(c, PLCIO_ESYNTAX, "parameter '%s' is given twice", p->key);
            out->param_count++;
        }
        if (!amp) break;
        q = amp + 1;
    }
    return PLCIO_OK;
}

/* PORT: 1..65535 in decimal. 0 is refused: a client cannot connect to it, and
 * reading it as "the default port" would silently connect somewhere else. */
static int parse_port(url_ctx *c, const char *port, size_t plen)
{
    if (plen == 0) return url_fail(c, PLCIO_ESYNTAX, "':' without a port number (1..65535)");
    long v = 0;
    for (size_t i = 0; i < plen; i++) {
        if (!isdigit((unsigned char)port[i]))
            return url_fail(c, PLCIO_ESYNTAX, "port '%.*s' is not a number (1..65535)", (int)(plen > 32 ? 32 : plen),
                            port);
        if (v <= 65535) v = v * 10 + (port[i] - '0');
    }
    if (v < 1 || v > 65535)
        return url_fail(c, PLCIO_ESYNTAX, "port %.*s is out of range (1..65535)", (int)(plen > 32 ? 32 : plen), port);
    c->out->port = (int)v;
    return PLCIO_OK;
}

static int parse_authority(url_ctx *c, const char *a, size_t len)
{
    plcio_url *out = c->out;
    const char *port = NULL;
    size_t host_len = len;
    if (len > 0 && a[0] == '[') { /* [::1]:102 */
        const char *close = memchr(a, ']', len);
        if (!close) return url_fail(c, PLCIO_ESYNTAX, "'[' of an IPv6 address without its ']'");
        int rc = copy_part(a + 1, (size_t)(close - a - 1), out->host, sizeof out->host, false);
        if (rc != PLCIO_OK) return part_fail(c, rc, "host", a + 1, (size_t)(close - a - 1));
        size_t rest = len - (size_t)(close - a) - 1;
        if (rest > 0) {
            if (close[1] != ':') return url_fail(c, PLCIO_ESYNTAX, "expected ':PORT' after ']'");
            port = close + 2;
        }
    } else {
        const char *colon = memchr(a, ':', len);
        if (colon) {
            host_len = (size_t)(colon - a);
            port = colon + 1;
        }
        int rc = copy_part(a, host_len, out->host, sizeof out->host, true);
        if (rc != PLCIO_OK) return part_fail(c, rc, "host", a, host_len);
    }
    return port ? parse_port(c, port, len - (size_t)(port - a)) : PLCIO_OK;
}

static int url_parse(const char *text, plcio_url *out, char *err, size_t errcap)
{
    if (err && errcap) err[0] = '\0';
    if (!text || !out) {
        url_ctx none = {NULL, err, errcap};
        return url_fail(&none, PLCIO_EINVAL, "no URL given");
    }
    memset(out, 0, sizeof *out);
    out->port = -1;
    url_ctx c = {out, err, errcap};
    const char *sep = strstr(text, "://");
    if (!sep || sep == text)
        return url_fail(&c, PLCIO_ESYNTAX, "expected SCHEME://, e.g. s7://HOST or modbus-tcp://HOST");
    size_t slen = (size_t)(sep - text);
    if (slen >= sizeof out->scheme) return url_fail(&c, PLCIO_ENOSPC, "scheme is too long (%zu characters)", slen);
    for (size_t i = 0; i < slen; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (!isalnum(ch) && ch != '-' && ch != '+' && ch != '.')
            return url_fail(&c, PLCIO_ESYNTAX,
                            "scheme '%.*s' has a character other than letters, digits, '-', '+', '.'", (int)slen, text);
        out->scheme[i] = (char)tolower(ch);
    }
    const char *rest = sep + 3;
    const char *query = strchr(rest, '?');
    size_t body_len = query ? (size_t)(query - rest) : strlen(rest);
    const char *slash = memchr(rest, '/', body_len);
    size_t auth_len = slash ? (size_t)(slash - rest) : body_len;
    int rc = parse_authority(&c, rest, auth_len);
    if (rc == PLCIO_OK && slash) {
        rc = copy_part(slash, body_len - auth_len, out->path, sizeof out->path, true);
        if (rc != PLCIO_OK) rc = part_fail(&c, rc, "path", slash, body_len - auth_len);
    }
    if (rc == PLCIO_OK && query) rc = parse_params(&c, query + 1);
    return rc;
}

int plcio_url_parse(const char *text, plcio_url *out, plcio_error *err)
{
    error_begin(err);
    return error_end(err, url_parse(text, out, ERROR_BUF(err)));
}

const char *plcio_url_get(const plcio_url *url, const char *key)
{
    for (size_t i = 0; i < url->param_count; i++)
        if (strcmp(url->params[i].key, key) == 0) return url->params[i].value;
    return NULL;
}

int plcio_url_get_uint(const plcio_url *url, const char *key, unsigned long def, unsigned long min, unsigned long max,
                       unsigned long *out)
{
    const char *v = plcio_url_get(url, key);
    if (!v) {
        *out = def;
        return PLCIO_OK;
    }
    if (!isdigit((unsigned char)v[0])) return PLCIO_ERANGE;
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, (v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) ? 16 : 10);
    if (errno || *end || n < min || n > max) return PLCIO_ERANGE;
    *out = n;
    return PLCIO_OK;
}

const char *plcio_url_unknown_key(const plcio_url *url, const char *const *allowed)
{
    for (size_t i = 0; i < url->param_count; i++) {
        bool known = false;
        for (const char *const *a = allowed; *a && !known; a++)
            known = strcmp(*a, url->params[i].key) == 0;
        if (!known) return url->params[i].key;
    }
    return NULL;
}

int plcio_url_s7_protocol(const plcio_url *url, plcio_s7_protocol *out, plcio_error *err)
{
    if (!url || !out) return plcio_error_set(err, PLCIO_EINVAL, "no URL or no place for the protocol");
    if (!strcmp(url->scheme, "s7plus")) {
        if (plcio_url_get(url, "protocol"))
            return plcio_error_set(err, PLCIO_ESYNTAX, "s7plus:// takes no protocol= (it is S7CommPlus)");
        *out = PLCIO_S7_PROTOCOL_PLUS;
        return PLCIO_OK;
    }
    if (strcmp(url->scheme, "s7") != 0)
        return plcio_error_set(err, PLCIO_ESYNTAX, "protocol= belongs to s7:// URLs, not %s://", url->scheme);
    const char *v = plcio_url_get(url, "protocol");
    if (!v || !strcmp(v, "classic"))
        *out = PLCIO_S7_PROTOCOL_CLASSIC;
    else if (!strcmp(v, "plus"))
        *out = PLCIO_S7_PROTOCOL_PLUS;
    else if (!strcmp(v, "auto"))
        *out = PLCIO_S7_PROTOCOL_AUTO;
    else
        return plcio_error_set(err, PLCIO_ESYNTAX, "s7:// protocol=%.60s: use classic, plus or auto", v);
    return PLCIO_OK;
}
