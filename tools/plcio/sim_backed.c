/* The --backed SPEC of plcio sim modbus and plcio sim s7: see sim_backed.h. */
#include <stdbool.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "sim_backed.h"

int sim_backed_split(const char *spec, const char *form, sim_backed_spec *out)
{
    const char *eq = strchr(spec, '=');
    if (!eq || (size_t)(eq - spec) >= sizeof out->head || strlen(eq + 1) >= sizeof out->url)
        return cli_error(PLCIO_EXIT_USAGE, "--backed %s: want %s=URL", spec, form);
    memcpy(out->head, spec, (size_t)(eq - spec));
    out->head[eq - spec] = '\0';
    char *c1 = strchr(out->head, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2) return cli_error(PLCIO_EXIT_USAGE, "--backed %s: want %s=URL", spec, form);
    *c1 = *c2 = '\0';
    out->start = c1 + 1;
    out->count = c2 + 1;
    out->rest = eq + 1;
    return PLCIO_EXIT_OK;
}

static bool is_ours(const char *const *ours, const char *p, size_t len)
{
    for (size_t i = 0; ours[i]; i++) {
        size_t k = strlen(ours[i]);
        if (len > k && !strncmp(p, ours[i], k)) return true;
    }
    return false;
}

static int take_param(const char *spec, const char *p, size_t len, sim_backed_param_fn param, void *ctx)
{
    char kv[64];
    if (len >= sizeof kv) return cli_error(PLCIO_EXIT_USAGE, "--backed %s: parameter too long", spec);
    memcpy(kv, p, len);
    kv[len] = '\0';
    return param(ctx, spec, kv, strchr(kv, '=') + 1);
}

int sim_backed_query(const char *spec, const char *const *ours, sim_backed_param_fn param, void *ctx,
                     sim_backed_spec *out)
{
    const char *q = strchr(out->rest, '?');
    size_t ulen = q ? (size_t)(q - out->rest) : strlen(out->rest);
    memcpy(out->url, out->rest, ulen);
    out->url[ulen] = '\0';
    char sep = '?';
    for (const char *p = q ? q + 1 : NULL; p && *p;) {
        size_t len = strcspn(p, "&");
        if (is_ours(ours, p, len)) {
            int st = take_param(spec, p, len, param, ctx);
            if (st) return st;
        } else if (len) {
            size_t at = strlen(out->url);
            out->url[at] = sep;
            memcpy(out->url + at + 1, p, len);
            out->url[at + 1 + len] = '\0';
            sep = '&';
        }
        p += len + (p[len] == '&');
    }
    return PLCIO_EXIT_OK;
}
