#include "cli.h"

#include <stdarg.h>
#include <string.h>

#include "commands.h"
#include "modbus_cmds.h"
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

int plcio_cli_dispatch_plus(const cli_spec *spec, const char *url, int argc, char **argv, cli_branch s7,
                            cli_branch s7plus, cli_branch modbus)
{
    int st;
    if (s7 && plcio_cli_scheme_is(url, "s7")) {
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
                     s7 && s7plus && modbus ? "s7://HOST..., s7plus://HOST..., modbus-tcp://HOST..."
                     : s7 && modbus         ? "s7://HOST..., modbus-tcp://HOST..."
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
