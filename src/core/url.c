#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "plcio/core.h"
#include "plcio/url.h"

static int hex_digit(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
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

static int parse_params(const char *q, plcio_url *out)
{
    while (*q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        if (len > 0) {
            if (out->param_count >= PLCIO_URL_MAX_PARAMS) return PLCIO_ENOSPC;
            const char *eq = memchr(q, '=', len);
            size_t klen = eq ? (size_t)(eq - q) : len;
            if (klen == 0) return PLCIO_ESYNTAX;
            plcio_url_param *p = &out->params[out->param_count];
            int rc = copy_part(q, klen, p->key, sizeof p->key, true);
            if (rc == PLCIO_OK) rc = eq ? copy_part(eq + 1, len - klen - 1, p->value, sizeof p->value, true) : PLCIO_OK;
            if (rc != PLCIO_OK) return rc;
            if (!eq) p->value[0] = '\0';
            if (plcio_url_get(out, p->key)) return PLCIO_ESYNTAX; /* duplicate key */
            out->param_count++;
        }
        if (!amp) break;
        q = amp + 1;
    }
    return PLCIO_OK;
}

static int parse_authority(const char *a, size_t len, plcio_url *out)
{
    const char *port = NULL;
    size_t host_len = len;
    if (len > 0 && a[0] == '[') { /* [::1]:102 */
        const char *close = memchr(a, ']', len);
        if (!close) return PLCIO_ESYNTAX;
        int rc = copy_part(a + 1, (size_t)(close - a - 1), out->host, sizeof out->host, false);
        if (rc != PLCIO_OK) return rc;
        size_t rest = len - (size_t)(close - a) - 1;
        if (rest > 0) {
            if (close[1] != ':') return PLCIO_ESYNTAX;
            port = close + 2;
        }
    } else {
        const char *colon = memchr(a, ':', len);
        if (colon) {
            host_len = (size_t)(colon - a);
            port = colon + 1;
        }
        int rc = copy_part(a, host_len, out->host, sizeof out->host, true);
        if (rc != PLCIO_OK) return rc;
    }
    if (port) {
        size_t plen = len - (size_t)(port - a);
        if (plen == 0 || plen > 5) return PLCIO_ESYNTAX;
        long v = 0;
        for (size_t i = 0; i < plen; i++) {
            if (!isdigit((unsigned char)port[i])) return PLCIO_ESYNTAX;
            v = v * 10 + (port[i] - '0');
        }
        if (v > 65535) return PLCIO_ESYNTAX;
        out->port = (int)v;
    }
    return PLCIO_OK;
}

int plcio_url_parse(const char *text, plcio_url *out)
{
    if (!text || !out) return PLCIO_EINVAL;
    memset(out, 0, sizeof *out);
    out->port = -1;
    const char *sep = strstr(text, "://");
    if (!sep || sep == text) return PLCIO_ESYNTAX;
    size_t slen = (size_t)(sep - text);
    if (slen >= sizeof out->scheme) return PLCIO_ENOSPC;
    for (size_t i = 0; i < slen; i++) {
        unsigned char c = (unsigned char)text[i];
        if (!isalnum(c) && c != '-' && c != '+' && c != '.') return PLCIO_ESYNTAX;
        out->scheme[i] = (char)tolower(c);
    }
    const char *rest = sep + 3;
    const char *query = strchr(rest, '?');
    size_t body_len = query ? (size_t)(query - rest) : strlen(rest);
    const char *slash = memchr(rest, '/', body_len);
    size_t auth_len = slash ? (size_t)(slash - rest) : body_len;
    int rc = parse_authority(rest, auth_len, out);
    if (rc == PLCIO_OK && slash) rc = copy_part(slash, body_len - auth_len, out->path, sizeof out->path, true);
    if (rc == PLCIO_OK && query) rc = parse_params(query + 1, out);
    return rc;
}

const char *plcio_url_get(const plcio_url *url, const char *key)
{
    for (size_t i = 0; i < url->param_count; i++)
        if (strcmp(url->params[i].key, key) == 0) return url->params[i].value;
    return NULL;
}

int plcio_url_get_uint(const plcio_url *url, const char *key, unsigned long def, unsigned long min,
                       unsigned long max, unsigned long *out)
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
        for (const char *const *a = allowed; *a && !known; a++) known = strcmp(*a, url->params[i].key) == 0;
        if (!known) return url->params[i].key;
    }
    return NULL;
}
