#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "modbus_cmds.h"
#include "plcio/s7plus.h"
#include "plcio/url.h"
#include "s7_cmds.h"

int cli_error(int status, const char *fmt, ...)
{
    va_list ap;
    fputs("plcio: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return status;
}

void cli_json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (*p < 0x20)
                fprintf(out, "\\u%04x", *p);
            else
                fputc(*p, out);
        }
    }
    fputc('"', out);
}

bool cli_option(int argc, char **argv, int *i, const char *opt, const char **value, bool *bad)
{
    if (strcmp(argv[*i], opt) != 0) return false;
    if (value) {
        if (*i + 1 >= argc) {
            cli_error(2, "option %s needs a value", opt);
            *bad = true;
            return true;
        }
        *value = argv[++*i];
    }
    return true;
}

int plcio_cli_dispatch(const cli_spec *spec, const char *url, int argc, char **argv, cli_branch s7, cli_branch modbus)
{
    return plcio_cli_dispatch_plus(spec, url, argc, argv, s7, NULL, modbus);
}

/* The URL without the query keys the classic S7 client does not take
 * (protocol= and the S7CommPlus ones); NULL: out of memory. */
static char *classic_url(const char *url)
{
    static const char *const plus_only[] = {"protocol", "ca",      "cert", "key",       "insecure", "tls",
                                            "tls12",    "dialect", "name", "keepalive", NULL};
    char *out = malloc(strlen(url) + 1);
    if (!out) return NULL;
    const char *q = strchr(url, '?');
    size_t n = q ? (size_t)(q - url) : strlen(url);
    memcpy(out, url, n);
    out[n] = '\0';
    char sep = '?';
    for (const char *p = q ? q + 1 : NULL; p && *p;) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        size_t klen = strcspn(p, "=&");
        bool drop = false;
        for (const char *const *k = plus_only; *k && !drop; k++)
            drop = strlen(*k) == klen && !strncmp(p, *k, klen);
        if (!drop && len) {
            size_t o = strlen(out);
            out[o] = sep;
            memcpy(out + o + 1, p, len);
            out[o + 1 + len] = '\0';
            sep = '&';
        }
        p = end ? end + 1 : NULL;
    }
    return out;
}

/* The classic branch with `url` rewritten (argv copied, the URL slot replaced). */
static int run_classic(const cli_spec *spec, const char *url, int argc, char **argv, cli_branch s7)
{
    int st = options_check_protocol(spec, argc, argv, CLI_OPT_S7);
    if (st != PLCIO_EXIT_OK) return st;
    char *u = classic_url(url);
    char **av = calloc((size_t)argc + 1, sizeof *av);
    if (!u || !av) {
        free(u);
        free(av);
        return cli_out_of_memory();
    }
    for (int i = 0; i < argc; i++)
        av[i] = argv[i] == url ? u : argv[i];
    st = s7(argc, av);
    free(av);
    free(u);
    return st;
}

/* s7://...?protocol=auto: S7CommPlus when a session comes up with the URL's
 * settings, classic S7 otherwise (said on stderr, with the reason). */
static bool plus_works(const char *url)
{
    plcio_s7plus_client *c = NULL;
    plcio_error err;
    memset(&err, 0, sizeof err);
    int rc = plcio_s7plus_client_new(url, NULL, &c, &err);
    if (!rc && (rc = plcio_s7plus_client_connect(c)) != PLCIO_OK)
        snprintf(err.text, sizeof err.text, "%s", plcio_s7plus_client_last_error(c)->text);
    plcio_s7plus_client_free(c);
    if (rc) fprintf(stderr, "plcio: protocol=auto: S7CommPlus not used (%s); classic S7\n", err.text);
    return rc == PLCIO_OK;
}

int plcio_cli_dispatch_plus(const cli_spec *spec, const char *url, int argc, char **argv, cli_branch s7,
                            cli_branch s7plus, cli_branch modbus)
{
    int st;
    if (s7 && plcio_cli_scheme_is(url, "s7")) {
        plcio_url u;
        plcio_error err;
        memset(&err, 0, sizeof err);
        plcio_s7_protocol proto = PLCIO_S7_PROTOCOL_CLASSIC;
        /* a URL that does not parse: the classic branch says why */
        if (plcio_url_parse(url, &u, NULL) == PLCIO_OK && plcio_url_s7_protocol(&u, &proto, &err) != PLCIO_OK)
            return cli_error(PLCIO_EXIT_USAGE, "%s: %s", spec->name, err.text);
        if (proto != PLCIO_S7_PROTOCOL_CLASSIC && !s7plus)
            return cli_error(PLCIO_EXIT_USAGE, "%s: speaks classic S7 only (protocol=classic, not %s)", spec->name,
                             proto == PLCIO_S7_PROTOCOL_PLUS ? "plus" : "auto");
        if (proto == PLCIO_S7_PROTOCOL_PLUS || (proto == PLCIO_S7_PROTOCOL_AUTO && plus_works(url)))
            return s7plus(argc, argv);
        if (proto != PLCIO_S7_PROTOCOL_CLASSIC || plcio_url_get(&u, "protocol"))
            return run_classic(spec, url, argc, argv, s7);
    }
    if (s7 && (plcio_cli_scheme_is(url, "s7") || plcio_cli_scheme_is(url, "logo"))) {
        if ((st = options_check_protocol(spec, argc, argv, CLI_OPT_S7)) != PLCIO_EXIT_OK) return st;
        return s7(argc, argv);
    }
    /* the s7plus branch refuses every option it does not take itself */
    if (s7plus && plcio_cli_scheme_is(url, "s7plus")) return s7plus(argc, argv);
    if (modbus && plcio_cli_scheme_is_modbus(url)) {
        if ((st = options_check_protocol(spec, argc, argv, CLI_OPT_MODBUS)) != PLCIO_EXIT_OK) return st;
        return modbus(argc, argv);
    }
    return cli_error(PLCIO_EXIT_USAGE, "%s: unsupported URL '%s' (%s)", spec->name, url,
                     s7 && s7plus && modbus ? "s7://HOST..., logo://HOST, s7plus://HOST..., modbus-tcp://HOST..."
                     : s7 && modbus         ? "s7://HOST..., logo://HOST, modbus-tcp://HOST..."
                     : s7                   ? "s7://HOST..."
                                            : "modbus-tcp://HOST..., modbus-rtu://DEVICE...");
}

const char *cli_json_float_special(const char *text)
{
    if (!strcmp(text, "nan") || !strcmp(text, "-nan") || !strcmp(text, "NaN") || !strcmp(text, "-NaN"))
        return "\"NaN\"";
    if (!strcmp(text, "inf") || !strcmp(text, "+inf") || !strcmp(text, "Infinity")) return "\"Infinity\"";
    if (!strcmp(text, "-inf") || !strcmp(text, "-Infinity")) return "\"-Infinity\"";
    return NULL;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

size_t cli_split_array(char *text, char **out, size_t cap)
{
    char *s = trim(text);
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        s[n - 1] = '\0';
        s++;
    }
    size_t count = 0;
    for (char *tok = s; tok && count < cap;) {
        char *comma = strchr(tok, ',');
        if (comma) *comma = '\0';
        out[count++] = trim(tok);
        tok = comma ? comma + 1 : NULL;
    }
    return count;
}
