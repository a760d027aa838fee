/* Modbus branches of plcio read / write / watch / info (modbus-* URLs).
 *
 *   plcio read  URL ADDR... [--json] [--unit N] [--base 0|1] [--type T] [--order O] [--timeout MS]
 *   plcio write URL ADDR=VALUE[,VALUE...]... [same options]
 *   plcio watch URL ADDR... [--interval MS] [--count N] [--json] [same options]
 *   plcio info  URL [--json] [--unit N]        (device identification, FC 43/14)
 *
 * Addresses as in address.h: hr100, ir5, co3, di7 (protocol addresses,
 * 0-based; --base 1 makes these forms 1-based like mbpoll's default),
 * Modicon 400101 (always 1-based), ":TYPE", ":ABCD|CDAB|BADC|DCBA", "[n]".
 * --type and --order apply to addresses that give none (mbpoll -t / -B
 * style). Output: "ADDR = value" (arrays: values separated by spaces), or
 * with --json one object keyed by the addresses as given. The CLI uses only
 * the public API. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "commands.h"
#include "plcio/address.h"
#include "modbus_cmds.h"
#include "plcio/modbus.h"

#define MAX_TEXT 256

typedef struct mb_args {
    const char *url;
    char **items; /* addresses (read/watch) or ADDR=VALUE (write) */
    size_t n;
    bool json;
    int unit; /* PLCIO_MODBUS_UNIT_DEFAULT unless --unit */
    int base;
    const char *type, *order;
    long timeout_ms, interval_ms, count;
} mb_args;

static bool parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

static int parse_args(int argc, char **argv, mb_args *a, bool watch)
{
    memset(a, 0, sizeof *a);
    a->unit = PLCIO_MODBUS_UNIT_DEFAULT;
    a->interval_ms = 1000;
    a->items = calloc((size_t)argc, sizeof *a->items);
    if (!a->items) return cli_out_of_memory();
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        bool bad = false;
        long n;
        if (cli_option(argc, argv, &i, "--json", NULL, &bad)) {
            a->json = true;
        } else if (cli_option(argc, argv, &i, "--unit", &v, &bad)) {
            if (bad || !parse_long(v, 0, 255, &n)) return cli_error(PLCIO_EXIT_USAGE, "--unit: 0..255");
            a->unit = (int)n;
        } else if (cli_option(argc, argv, &i, "--base", &v, &bad)) {
            if (bad || !parse_long(v, 0, 1, &n)) return cli_error(PLCIO_EXIT_USAGE, "--base: 0 or 1");
            a->base = (int)n;
        } else if (cli_option(argc, argv, &i, "--type", &v, &bad)) {
            if (bad) return PLCIO_EXIT_USAGE;
            a->type = v;
        } else if (cli_option(argc, argv, &i, "--order", &v, &bad)) {
            plcio_mb_order o;
            if (bad || plcio_mb_order_parse(v, &o) != PLCIO_OK)
                return cli_error(PLCIO_EXIT_USAGE, "--order: ABCD, CDAB, BADC or DCBA");
            a->order = v;
        } else if (cli_option(argc, argv, &i, "--timeout", &v, &bad)) {
            if (bad || !parse_long(v, 1, 3600000, &a->timeout_ms)) return cli_error(PLCIO_EXIT_USAGE, "--timeout: ms");
        } else if (watch && cli_option(argc, argv, &i, "--interval", &v, &bad)) {
            if (bad || !parse_long(v, 1, 86400000, &a->interval_ms))
                return cli_error(PLCIO_EXIT_USAGE, "--interval: milliseconds 1..86400000");
        } else if (watch && cli_option(argc, argv, &i, "--count", &v, &bad)) {
            if (bad || !parse_long(v, 0, 1000000000, &a->count))
                return cli_error(PLCIO_EXIT_USAGE, "--count: a number of polls");
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            return cli_error(PLCIO_EXIT_USAGE, "%s: unknown option '%s'", argv[0], argv[i]);
        } else if (!a->url) {
            a->url = argv[i];
        } else {
            a->items[a->n++] = argv[i];
        }
        if (bad) return PLCIO_EXIT_USAGE;
    }
    if (!a->url || !a->n) return cli_error(PLCIO_EXIT_USAGE, "usage: plcio %s URL ADDR...", argv[0]);
    return PLCIO_EXIT_OK;
}

/* Apply --type/--order/--base to an address as given; result in out. */
static int effective_address(const mb_args *a, const char *text, char *out, size_t cap)
{
    char tmp[MAX_TEXT];
    const char *bracket = strchr(text, '[');
    size_t head = bracket ? (size_t)(bracket - text) : strlen(text);
    if (head >= sizeof tmp - 40) return cli_error(PLCIO_EXIT_USAGE, "address too long: '%s'", text);
    memcpy(tmp, text, head);
    tmp[head] = '\0';
    if (!strchr(tmp, ':')) {
        if (a->type) snprintf(tmp + strlen(tmp), sizeof tmp - strlen(tmp), ":%s", a->type);
        if (a->order) snprintf(tmp + strlen(tmp), sizeof tmp - strlen(tmp), ":%s", a->order);
    }
    if (bracket) snprintf(tmp + strlen(tmp), sizeof tmp - strlen(tmp), "%s", bracket);
    plcio_mb_address m;
    plcio_error err = {0};
    if (plcio_mb_address_parse(tmp, &m, &err) != PLCIO_OK) return cli_error(PLCIO_EXIT_USAGE, "%s", err.text);
    bool letters = (text[0] >= 'a' && text[0] <= 'z') || (text[0] >= 'A' && text[0] <= 'Z');
    if (a->base == 1 && letters) {
        if (m.address == 0) return cli_error(PLCIO_EXIT_USAGE, "%s: with --base 1 addresses start at 1", text);
        m.address--;
    }
    if (plcio_mb_address_format(&m, out, cap) != PLCIO_OK) return cli_error(PLCIO_EXIT_USAGE, "bad address '%s'", text);
    return PLCIO_EXIT_OK;
}

static int open_client(const mb_args *a, plcio_modbus_client **out)
{
    plcio_modbus_client *c = NULL;
    plcio_error why;
    if (plcio_modbus_client_new(a->url, NULL, &c, &why) != PLCIO_OK)
        return cli_error(PLCIO_EXIT_USAGE, "bad URL '%s': %s", a->url, why.text);
    if (a->timeout_ms) plcio_modbus_client_set_timeout(c, (int)a->timeout_ms);
    *out = c;
    return PLCIO_EXIT_OK;
}

/* ---- read / watch ---- */

typedef struct values {
    char *text; /* "v1 v2 ..." or JSON value / array */
    size_t len, cap;
    size_t count;
    bool json, quote;
} values;

static void values_add(void *ctx, size_t index, const char *text)
{
    values *v = ctx;
    size_t need = v->len + strlen(text) * 6 + 8;
    if (need > v->cap) {
        size_t cap = need * 2;
        char *p = realloc(v->text, cap);
        if (!p) return;
        v->text = p;
        v->cap = cap;
    }
    if (index) v->len += (size_t)snprintf(v->text + v->len, v->cap - v->len, v->json ? ", " : " ");
    if (v->json && v->quote) {
        v->text[v->len++] = '"';
        for (const char *s = text; *s; s++) {
            if (*s == '"' || *s == '\\') v->text[v->len++] = '\\';
            if ((unsigned char)*s < 0x20) {
                v->len += (size_t)snprintf(v->text + v->len, v->cap - v->len, "\\u%04x", (unsigned char)*s);
                continue;
            }
            v->text[v->len++] = *s;
        }
        v->text[v->len++] = '"';
        v->text[v->len] = '\0';
    } else {
        v->len += (size_t)snprintf(v->text + v->len, v->cap - v->len, "%s", text);
    }
    v->count++;
}

/* Read every address; texts[i] (malloc'd) get the printable value. */
static int read_all(plcio_modbus_client *c, const mb_args *a, char **texts)
{
    for (size_t i = 0; i < a->n; i++) {
        char addr[MAX_TEXT];
        plcio_error err;
        int st = effective_address(a, a->items[i], addr, sizeof addr);
        if (st) return st;
        plcio_mb_address m;
        memset(&m, 0, sizeof m); /* stays zero if the address does not parse: the read reports that */
        plcio_mb_address_parse(addr, &m, NULL);
        values v = {NULL, 0, 0, 0, a->json, m.type == PLCIO_TYPE_STRING};
        int rc = plcio_modbus_read_address(c, a->unit, addr, values_add, &v, &err);
        if (rc != PLCIO_OK) {
            free(v.text);
            int status = rc == PLCIO_ESYNTAX || rc == PLCIO_ERANGE ? PLCIO_EXIT_USAGE : PLCIO_EXIT_FAILURE;
            cli_error(status, "read %s", err.text);
            return status;
        }
        if (!v.text) return cli_out_of_memory();
        if (a->json && m.count > 1) { /* arrays as JSON arrays */
            char *arr = malloc(v.len + 3);
            if (!arr) {
                free(v.text);
                return cli_out_of_memory();
            }
            snprintf(arr, v.len + 3, "[%s]", v.text);
            free(v.text);
            v.text = arr;
        }
        free(texts[i]);
        texts[i] = v.text;
    }
    return PLCIO_EXIT_OK;
}

static void print_values(const mb_args *a, char **texts, const bool *only)
{
    bool first = true;
    if (a->json) fputc('{', stdout);
    for (size_t i = 0; i < a->n; i++) {
        if (only && !only[i]) continue;
        if (a->json) {
            if (!first) fputs(", ", stdout);
            cli_json_string(stdout, a->items[i]);
            printf(": %s", texts[i]);
        } else {
            printf("%s = %s\n", a->items[i], texts[i]);
        }
        first = false;
    }
    if (a->json) fputs("}\n", stdout);
    fflush(stdout);
}

static void free_texts(char **texts, size_t n)
{
    for (size_t i = 0; texts && i < n; i++)
        free(texts[i]);
    free(texts);
}

int modbus_cli_read(int argc, char **argv)
{
    mb_args a;
    plcio_modbus_client *c = NULL;
    int st = parse_args(argc, argv, &a, false);
    char **texts = st ? NULL : calloc(a.n, sizeof *texts);
    if (!st && !texts) st = cli_out_of_memory();
    if (!st) st = open_client(&a, &c);
    if (!st) st = read_all(c, &a, texts);
    if (!st) print_values(&a, texts, NULL);
    free_texts(texts, a.n);
    plcio_modbus_client_free(c);
    free(a.items);
    return st;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

int modbus_cli_watch(int argc, char **argv)
{
    mb_args a;
    plcio_modbus_client *c = NULL;
    int st = parse_args(argc, argv, &a, true);
    char **texts = st ? NULL : calloc(a.n, sizeof *texts), **shown = st ? NULL : calloc(a.n, sizeof *shown);
    bool *changed = st ? NULL : calloc(a.n, sizeof *changed);
    if (!st && (!texts || !shown || !changed)) st = cli_out_of_memory();
    if (!st) st = open_client(&a, &c);
    for (long poll = 0; !st && (a.count == 0 || poll < a.count); poll++) {
        if (poll) sleep_ms(a.interval_ms);
        int rc = read_all(c, &a, texts);
        if (rc == PLCIO_EXIT_USAGE) st = rc;
        if (rc) {
            if (a.count && poll + 1 == a.count) st = PLCIO_EXIT_FAILURE;
            continue; /* keep watching: the next poll reconnects */
        }
        bool any = false;
        for (size_t i = 0; i < a.n; i++) {
            changed[i] = !shown[i] || strcmp(shown[i], texts[i]) != 0;
            if (changed[i]) {
                free(shown[i]);
                shown[i] = strdup(texts[i]);
                any = true;
            }
        }
        if (any) print_values(&a, texts, changed);
    }
    free_texts(texts, a.n);
    free_texts(shown, a.n);
    free(changed);
    plcio_modbus_client_free(c);
    free(a.items);
    return st;
}

/* ---- write ---- */

/* Split "v1,v2,v3" in place (values containing ',' are not supported). */
static size_t split_values(char *s, const char **out, size_t cap)
{
    size_t n = 0;
    for (char *tok = s; tok && n < cap;) {
        char *comma = strchr(tok, ',');
        if (comma) *comma = '\0';
        out[n++] = tok;
        tok = comma ? comma + 1 : NULL;
    }
    return n;
}

int modbus_cli_write(int argc, char **argv)
{
    mb_args a;
    plcio_modbus_client *c = NULL;
    int st = parse_args(argc, argv, &a, false);
    for (size_t i = 0; !st && i < a.n; i++)
        if (!strchr(a.items[i], '=')) st = cli_error(PLCIO_EXIT_USAGE, "write: '%s' is not ADDR=VALUE", a.items[i]);
    if (!st) st = open_client(&a, &c);
    for (size_t i = 0; !st && i < a.n; i++) {
        char *eq = strchr(a.items[i], '='), addr[MAX_TEXT], given[MAX_TEXT];
        plcio_error err = {0};
        size_t k = (size_t)(eq - a.items[i]);
        if (k >= sizeof given) {
            st = cli_error(PLCIO_EXIT_USAGE, "write: address too long");
            break;
        }
        memcpy(given, a.items[i], k);
        given[k] = '\0';
        if ((st = effective_address(&a, given, addr, sizeof addr)) != 0) break;
        char *vals = strdup(eq + 1);
        const char **list = calloc(strlen(eq + 1) + 1, sizeof *list);
        if (!vals || !list) st = cli_out_of_memory();
        size_t n = st ? 0 : split_values(vals, list, strlen(eq + 1) + 1);
        plcio_mb_address m;
        memset(&m, 0, sizeof m); /* stays zero if the address does not parse: the read reports that */
        plcio_mb_address_parse(addr, &m, NULL);
        if (!st && m.type == PLCIO_TYPE_STRING) n = 1, list[0] = eq + 1; /* strings keep their commas */
        int rc = st ? PLCIO_OK : plcio_modbus_write_address(c, a.unit, addr, list, n, &err);
        if (rc == PLCIO_ERANGE || rc == PLCIO_ESYNTAX || rc == PLCIO_EINVAL || rc == PLCIO_EACCESS)
            st = cli_error(PLCIO_EXIT_USAGE, "write %s", err.text);
        else if (rc)
            st = cli_error(PLCIO_EXIT_FAILURE, "write %s", err.text);
        free(vals);
        free(list);
    }
    plcio_modbus_client_free(c);
    free(a.items);
    return st;
}

/* ---- info ---- */

static const char *object_name(uint8_t id)
{
    static const char *const names[] = {"VendorName",  "ProductCode", "MajorMinorRevision", "VendorUrl",
                                        "ProductName", "ModelName",   "UserApplicationName"};
    return id < 7 ? names[id] : NULL;
}

int modbus_cli_info(int argc, char **argv)
{
    mb_args a;
    plcio_modbus_client *c = NULL;
    memset(&a, 0, sizeof a);
    a.unit = PLCIO_MODBUS_UNIT_DEFAULT;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        bool bad = false;
        long n;
        if (cli_option(argc, argv, &i, "--json", NULL, &bad))
            a.json = true;
        else if (cli_option(argc, argv, &i, "--unit", &v, &bad)) {
            if (bad || !parse_long(v, 0, 255, &n)) return cli_error(PLCIO_EXIT_USAGE, "--unit: 0..255");
            a.unit = (int)n;
        } else if (cli_option(argc, argv, &i, "--timeout", &v, &bad)) {
            if (bad || !parse_long(v, 1, 3600000, &a.timeout_ms)) return cli_error(PLCIO_EXIT_USAGE, "--timeout: ms");
        } else if (argv[i][0] == '-' && argv[i][1] == '-')
            return cli_error(PLCIO_EXIT_USAGE, "info: unknown option '%s'", argv[i]);
        else if (!a.url)
            a.url = argv[i];
        else
            return cli_error(PLCIO_EXIT_USAGE, "usage: plcio info URL [--json] [--unit N]");
    }
    if (!a.url) return cli_error(PLCIO_EXIT_USAGE, "usage: plcio info URL [--json] [--unit N]");
    int st = open_client(&a, &c);
    if (st) return st;
    static plcio_modbus_device_object objs[256];
    size_t n = 0;
    /* Extended first (everything); devices that only know basic/regular
     * answer that code with an exception, then ask for less. */
    int rc = PLCIO_EMBEXC;
    for (uint8_t code = 3; code >= 1 && rc == PLCIO_EMBEXC; code--)
        rc = plcio_modbus_read_device_id(c, a.unit, code, 0, objs, 256, &n);
    if (rc == PLCIO_EMBEXC)
        st = cli_error(PLCIO_EXIT_FAILURE, "info: device identification refused: exception %d (%s)",
                       plcio_modbus_last_exception(c), plcio_mb_exception_text(plcio_modbus_last_exception(c)));
    else if (rc)
        st = cli_error(PLCIO_EXIT_FAILURE, "info: %s", plcio_strerror(rc));
    if (!st) {
        if (a.json) fputc('{', stdout);
        for (size_t i = 0; i < n; i++) {
            char key[32];
            const char *name = object_name(objs[i].id);
            if (!name) snprintf(key, sizeof key, "Object0x%02X", objs[i].id);
            if (a.json) {
                if (i) fputs(", ", stdout);
                cli_json_string(stdout, name ? name : key);
                fputs(": ", stdout);
                cli_json_string(stdout, objs[i].value);
            } else {
                printf("%-20s %s\n", name ? name : key, objs[i].value);
            }
        }
        if (a.json) fputs("}\n", stdout);
    }
    plcio_modbus_client_free(c);
    return st;
}
