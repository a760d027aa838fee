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
#include "plcio/value.h"

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
    if (index) v->len += (size_t)snprintf(v->text + v->len, v->cap - v->len, ", ");
    const char *special = v->json && !v->quote ? cli_json_float_special(text) : NULL;
    if (special) {
        v->len += (size_t)snprintf(v->text + v->len, v->cap - v->len, "%s", special);
    } else if (v->json && v->quote) {
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

/* The library's error text without the address it starts with (the CLI
 * names the address as the user gave it). */
static const char *after_address(const char *text, const char *addr)
{
    size_t alen = strlen(addr);
    if (!strncmp(text, addr, alen) && text[alen] == ':') text += alen + 1;
    while (*text == ' ')
        text++;
    return text;
}

/* ---- file records (FC 20 / 21): fileF:R[N] = file F, record R, N registers ---- */

#define FILE_RECORD_MAX 120 /* registers of one record in one request (AP 6.14: 245-byte answer) */

static bool is_file_address(const char *text) { return !strncmp(text, "file", 4) && text[4] >= '0' && text[4] <= '9'; }

/* "file4:2" (one register) or "file4:2[10]"; usage errors name the text. */
static int parse_file_address(const char *text, uint16_t *file, uint16_t *record, uint16_t *count)
{
    char *end;
    errno = 0;
    unsigned long f = strtoul(text + 4, &end, 10), r = 0, n = 1;
    bool ok = !errno && *end == ':' && f >= 1 && f <= 65535;
    if (ok) {
        char *start = end + 1;
        r = strtoul(start, &end, 10);
        ok = !errno && end != start && r <= 9999;
    }
    if (ok && *end == '[') {
        char *start = end + 1;
        n = strtoul(start, &end, 10);
        ok = !errno && end != start && *end == ']' && n >= 1 && n <= FILE_RECORD_MAX;
        end++;
    }
    if (!ok || *end)
        return cli_error(PLCIO_EXIT_USAGE,
                         "'%s': a file record is fileF:R[N] (file 1..65535, record 0..9999, 1..%d registers)", text,
                         FILE_RECORD_MAX);
    *file = (uint16_t)f;
    *record = (uint16_t)r;
    *count = (uint16_t)n;
    return PLCIO_EXIT_OK;
}

/* A link failure in words: the client's last error when it is this one
 * (a TLS refusal names its cause there), else the code's text. */
static const char *link_why(const plcio_modbus_client *c, int rc)
{
    const plcio_error *e = plcio_modbus_client_last_error(c);
    return e->code == rc && e->text[0] ? e->text : plcio_strerror(rc);
}

static char *device_error(plcio_modbus_client *c, int rc)
{
    return strdup(rc == PLCIO_EMBEXC ? plcio_mb_exception_text(plcio_modbus_last_exception(c)) : link_why(c, rc));
}

/* FC 20: one record's registers as "v" or "[a, b, c]". */
static int read_file_item(plcio_modbus_client *c, const mb_args *a, const char *text, char **value, char **error)
{
    uint16_t regs[FILE_RECORD_MAX] = {0};
    plcio_modbus_file_record rec = {0, 0, 0, regs};
    int st = parse_file_address(text, &rec.file, &rec.record, &rec.length);
    if (st) return st;
    int rc = plcio_modbus_read_file_record(c, a->unit, &rec, 1);
    if (rc) {
        *error = device_error(c, rc);
        return *error ? PLCIO_EXIT_OK : cli_out_of_memory();
    }
    char *out = malloc((size_t)rec.length * 8 + 4);
    if (!out) return cli_out_of_memory();
    size_t len = 0;
    bool array = rec.length > 1 || strchr(text, '[');
    if (array) out[len++] = '[';
    for (uint16_t k = 0; k < rec.length; k++)
        len += (size_t)sprintf(out + len, "%s%u", k ? ", " : "", (unsigned)regs[k]);
    if (array) out[len++] = ']';
    out[len] = '\0';
    *value = out;
    return PLCIO_EXIT_OK;
}

/* Read every address: texts[i] (malloc'd) gets the printable value, or
 * errors[i] that item's error. Returns a usage error (bad address, reported)
 * or PLCIO_EXIT_OK, also when items failed. */
static int read_all(plcio_modbus_client *c, const mb_args *a, char **texts, char **errors)
{
    for (size_t i = 0; i < a->n; i++) {
        char addr[MAX_TEXT];
        plcio_error err = {0};
        if (is_file_address(a->items[i])) {
            free(texts[i]);
            free(errors[i]);
            texts[i] = errors[i] = NULL;
            int st = read_file_item(c, a, a->items[i], &texts[i], &errors[i]);
            if (st) return st;
            continue;
        }
        int st = effective_address(a, a->items[i], addr, sizeof addr);
        if (st) return st;
        plcio_mb_address m;
        memset(&m, 0, sizeof m); /* stays zero if the address does not parse: the read reports that */
        plcio_mb_address_parse(addr, &m, NULL);
        values v = {NULL, 0, 0, 0, a->json, m.type == PLCIO_TYPE_STRING};
        int rc = plcio_modbus_read_address(c, a->unit, addr, values_add, &v, &err);
        free(texts[i]);
        free(errors[i]);
        texts[i] = errors[i] = NULL;
        if (rc == PLCIO_ESYNTAX) {
            free(v.text);
            return cli_error(PLCIO_EXIT_USAGE, "read %s: %s", a->items[i], err.text);
        }
        if (rc != PLCIO_OK) {
            free(v.text);
            const char *why = after_address(err.text, addr);
            errors[i] = strdup(why[0] ? why : plcio_strerror(rc));
            if (!errors[i]) return cli_out_of_memory();
            continue;
        }
        if (!v.text) return cli_out_of_memory();
        if (m.count > 1) { /* arrays: [a, b, c] in text and JSON alike */
            char *arr = malloc(v.len + 3);
            if (!arr) {
                free(v.text);
                return cli_out_of_memory();
            }
            snprintf(arr, v.len + 3, "[%s]", v.text);
            free(v.text);
            v.text = arr;
        }
        texts[i] = v.text;
    }
    return PLCIO_EXIT_OK;
}

/* Each item's outcome (as print_tags in s7_cmds.c): "ADDR = value" on
 * stdout, a failed item "plcio: read ADDR: why" on stderr; --json: one object,
 * a failed item {"error": "why"}. PLCIO_EXIT_FAILURE when a printed item failed. */
static int print_values(const mb_args *a, char **texts, char **errors, const bool *only)
{
    bool first = true, failed = false;
    if (a->json) fputc('{', stdout);
    for (size_t i = 0; i < a->n; i++) {
        if (only && !only[i]) continue;
        if (errors[i]) {
            failed = true;
            fflush(stdout); /* the items in their order, also when both streams go to one pipe */
            if (!a->json) cli_error(PLCIO_EXIT_FAILURE, "read %s: %s", a->items[i], errors[i]);
        }
        if (a->json) {
            if (!first) fputs(", ", stdout);
            cli_json_string(stdout, a->items[i]);
            fputs(": ", stdout);
            if (errors[i]) {
                fputs("{\"error\": ", stdout);
                cli_json_string(stdout, errors[i]);
                fputc('}', stdout);
            } else {
                fputs(texts[i], stdout);
            }
        } else if (!errors[i]) {
            printf("%s = %s\n", a->items[i], texts[i]);
        }
        first = false;
    }
    if (a->json) fputs("}\n", stdout);
    fflush(stdout);
    /* JSON: the reasons on stderr after the document, which stays whole */
    for (size_t i = 0; a->json && i < a->n; i++)
        if ((!only || only[i]) && errors[i]) cli_error(PLCIO_EXIT_FAILURE, "read %s: %s", a->items[i], errors[i]);
    return failed ? PLCIO_EXIT_FAILURE : PLCIO_EXIT_OK;
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
    char **texts = st ? NULL : calloc(a.n, sizeof *texts), **errors = st ? NULL : calloc(a.n, sizeof *errors);
    if (!st && (!texts || !errors)) st = cli_out_of_memory();
    if (!st) st = open_client(&a, &c);
    if (!st) st = read_all(c, &a, texts, errors);
    if (!st) st = print_values(&a, texts, errors, NULL);
    free_texts(texts, a.n);
    free_texts(errors, a.n);
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
    char **errors = st ? NULL : calloc(a.n, sizeof *errors);
    bool *changed = st ? NULL : calloc(a.n, sizeof *changed);
    if (!st && (!texts || !shown || !changed || !errors)) st = cli_out_of_memory();
    if (!st) st = open_client(&a, &c);
    int last = PLCIO_EXIT_OK; /* the outcome of the latest poll */
    for (long poll = 0; !st && (a.count == 0 || poll < a.count); poll++) {
        if (poll) sleep_ms(a.interval_ms);
        st = read_all(c, &a, texts, errors);
        if (st) break;
        bool any = false;
        last = PLCIO_EXIT_OK;
        for (size_t i = 0; i < a.n; i++) {
            /* the outcome as shown: the value's text, or "!" and the error */
            const char *now = errors[i] ? errors[i] : texts[i] ? texts[i] : "";
            bool was_error = shown[i] && shown[i][0] == '!';
            changed[i] = !shown[i] || was_error != (errors[i] != NULL) || strcmp(shown[i] + was_error, now) != 0;
            if (errors[i]) last = PLCIO_EXIT_FAILURE;
            if (!changed[i]) continue;
            free(shown[i]);
            size_t len = strlen(now) + 2;
            shown[i] = malloc(len);
            if (shown[i]) snprintf(shown[i], len, "%s%s", errors[i] ? "!" : "", now);
            any = true;
        }
        if (any) (void)print_values(&a, texts, errors, changed);
    }
    if (!st && a.count) st = last;
    free_texts(texts, a.n);
    free_texts(shown, a.n);
    free_texts(errors, a.n);
    free(changed);
    plcio_modbus_client_free(c);
    free(a.items);
    return st;
}

/* ---- write ---- */

/* The values of a file-record write ("file4:2[3]=1,2,3"): registers 0..65535. */
static int file_values(const char *item, uint16_t *file, uint16_t *record, uint16_t *count, uint16_t *regs)
{
    const char *eq = strchr(item, '=');
    char given[MAX_TEXT];
    size_t k = (size_t)(eq - item);
    if (k >= sizeof given) return cli_error(PLCIO_EXIT_USAGE, "write: address too long");
    memcpy(given, item, k);
    given[k] = '\0';
    int st = parse_file_address(given, file, record, count);
    if (st) return st;
    char *copy = strdup(eq + 1);
    char **list = calloc(strlen(eq + 1) + 2, sizeof *list);
    size_t n = copy && list ? cli_split_array(copy, list, strlen(eq + 1) + 2) : 0;
    if (!copy || !list)
        st = cli_out_of_memory();
    else if (n != *count)
        st = cli_error(PLCIO_EXIT_USAGE, "write %s: %u values wanted (comma-separated), got %zu", given,
                       (unsigned)*count, n);
    for (size_t j = 0; !st && j < n; j++) {
        long v;
        if (!parse_long(list[j], 0, 65535, &v))
            st = cli_error(PLCIO_EXIT_USAGE, "write %s: '%s' is not a register value 0..65535", given, list[j]);
        else
            regs[j] = (uint16_t)v;
    }
    free(copy);
    free(list);
    return st;
}

static int write_file_item(plcio_modbus_client *c, const mb_args *a, const char *item)
{
    uint16_t regs[FILE_RECORD_MAX];
    plcio_modbus_file_record rec = {0, 0, 0, regs};
    int st = file_values(item, &rec.file, &rec.record, &rec.length, regs);
    if (st) return st;
    int rc = plcio_modbus_write_file_record(c, a->unit, &rec, 1);
    if (!rc) return PLCIO_EXIT_OK;
    char *why = device_error(c, rc);
    st = cli_error(PLCIO_EXIT_FAILURE, "write %.*s: %s", (int)(strchr(item, '=') - item), item, why ? why : "failed");
    free(why);
    return st;
}

/* One ADDR=VALUE checked without sending: the address, the number of values,
 * each value against the type. Usage errors name the address. */
static int check_write_item(const mb_args *a, const char *item)
{
    if (is_file_address(item)) {
        uint16_t f = 0, r = 0, n = 0, regs[FILE_RECORD_MAX];
        return file_values(item, &f, &r, &n, regs);
    }
    const char *eq = strchr(item, '=');
    char given[MAX_TEXT], addr[MAX_TEXT];
    size_t k = (size_t)(eq - item);
    if (k >= sizeof given) return cli_error(PLCIO_EXIT_USAGE, "write: address too long");
    memcpy(given, item, k);
    given[k] = '\0';
    int st = effective_address(a, given, addr, sizeof addr);
    if (st) return st;
    plcio_mb_address m;
    plcio_error err = {0};
    if (plcio_mb_address_parse(addr, &m, &err) != PLCIO_OK) return cli_error(PLCIO_EXIT_USAGE, "%s", err.text);
    if (m.table == PLCIO_MB_TABLE_INPUT_REGISTER || m.table == PLCIO_MB_TABLE_DISCRETE_INPUT)
        return PLCIO_EXIT_OK; /* the library names the read-only table */
    char *copy = strdup(eq + 1);
    char **list = calloc(strlen(eq + 1) + 2, sizeof *list);
    if (!copy || !list) {
        free(copy);
        free(list);
        return cli_out_of_memory();
    }
    size_t n = m.type == PLCIO_TYPE_STRING ? 1 : cli_split_array(copy, list, strlen(eq + 1) + 2);
    if (m.type == PLCIO_TYPE_STRING) list[0] = (char *)(eq + 1);
    if (n != m.count)
        st = cli_error(PLCIO_EXIT_USAGE, "write %s: %u values wanted (comma-separated), got %zu", given,
                       (unsigned)m.count, n);
    plcio_value v;
    for (size_t j = 0; !st && j < n; j++) {
        plcio_value_init(&v, m.type);
        if (plcio_value_from_text(&v, m.type, m.length, list[j], strlen(list[j]), &err) != PLCIO_OK)
            st = cli_error(PLCIO_EXIT_USAGE, "write %s: %s", given, err.text);
    }
    free(copy);
    free(list);
    return st;
}

int modbus_cli_write(int argc, char **argv)
{
    mb_args a;
    plcio_modbus_client *c = NULL;
    int st = parse_args(argc, argv, &a, false);
    for (size_t i = 0; !st && i < a.n; i++)
        if (!strchr(a.items[i], '=')) st = cli_error(PLCIO_EXIT_USAGE, "write: '%s' is not ADDR=VALUE", a.items[i]);
    /* every value is checked before anything is sent */
    for (size_t i = 0; !st && i < a.n; i++)
        st = check_write_item(&a, a.items[i]);
    if (!st) st = open_client(&a, &c);
    for (size_t i = 0; !st && i < a.n; i++) {
        if (is_file_address(a.items[i])) {
            st = write_file_item(c, &a, a.items[i]);
            continue;
        }
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
        size_t n = st ? 0 : cli_split_array(vals, (char **)list, strlen(eq + 1) + 1);
        plcio_mb_address m;
        memset(&m, 0, sizeof m); /* stays zero if the address does not parse: the read reports that */
        plcio_mb_address_parse(addr, &m, NULL);
        if (!st && m.type == PLCIO_TYPE_STRING) n = 1, list[0] = eq + 1; /* strings keep their commas */
        int rc = st ? PLCIO_OK : plcio_modbus_write_address(c, a.unit, addr, list, n, &err);
        /* every value error names the address as given */
        if (rc == PLCIO_ERANGE || rc == PLCIO_ESYNTAX || rc == PLCIO_EINVAL || rc == PLCIO_EACCESS)
            st = cli_error(PLCIO_EXIT_USAGE, "write %s: %s", given, after_address(err.text, addr));
        else if (rc)
            st = cli_error(PLCIO_EXIT_FAILURE, "write %s: %s", given, after_address(err.text, addr));
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
        st = cli_error(PLCIO_EXIT_FAILURE, "info: %s", link_why(c, rc));
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

/* ---- diag ---- */

typedef struct diag_out {
    bool json, first;
    size_t ok, failed;
} diag_out;

static void diag_key(diag_out *d, const char *key)
{
    if (d->json) {
        fputs(d->first ? "{" : ", ", stdout);
        cli_json_string(stdout, key);
        fputs(": ", stdout);
    } else {
        printf("%-28s ", key);
    }
    d->first = false;
}

/* A refused or failed request: its reason, in the output (not only stderr). */
static void diag_error(diag_out *d, plcio_modbus_client *c, const char *key, int rc)
{
    char why[sizeof(plcio_error){0}.text + 64];
    if (rc == PLCIO_EMBEXC)
        snprintf(why, sizeof why, "refused: exception %d (%s)", plcio_modbus_last_exception(c),
                 plcio_mb_exception_text(plcio_modbus_last_exception(c)));
    else
        snprintf(why, sizeof why, "%s", link_why(c, rc));
    diag_key(d, key);
    if (d->json) {
        fputs("{\"error\": ", stdout);
        cli_json_string(stdout, why);
        fputc('}', stdout);
    } else {
        printf("error: %s\n", why);
    }
    d->failed++;
}

static void diag_number(diag_out *d, const char *key, unsigned long v)
{
    diag_key(d, key);
    printf(d->json ? "%lu" : "%lu\n", v);
    d->ok++;
}

static int diag_args(int argc, char **argv, mb_args *a)
{
    memset(a, 0, sizeof *a);
    a->unit = PLCIO_MODBUS_UNIT_DEFAULT;
    for (int i = 1; i < argc; i++) {
        long n;
        if (!strcmp(argv[i], "--json")) {
            a->json = true;
        } else if (!strcmp(argv[i], "--unit")) {
            if (!parse_long(argv[++i], 0, 255, &n)) return cli_error(PLCIO_EXIT_USAGE, "--unit: 0..255");
            a->unit = (int)n;
        } else if (!strcmp(argv[i], "--timeout")) {
            if (!parse_long(argv[++i], 1, 3600000, &a->timeout_ms)) return cli_error(PLCIO_EXIT_USAGE, "--timeout: ms");
        } else if (a->url) {
            return cli_error(PLCIO_EXIT_USAGE, "diag: unexpected argument '%s'", argv[i]);
        } else {
            a->url = argv[i];
        }
    }
    if (!a->url) return cli_error(PLCIO_EXIT_USAGE, "usage: plcio diag URL (plcio diag --help)");
    return PLCIO_EXIT_OK;
}

/* FC 8: the diagnostic register and the AP 6.8 counters. */
static void diag_counters(plcio_modbus_client *c, const mb_args *a, diag_out *d)
{
    static const struct {
        uint16_t sub;
        const char *key;
    } counters[] = {
        {0x02, "diagnostic_register"},   {0x0B, "bus_message_count"},    {0x0C, "bus_comm_error_count"},
        {0x0D, "exception_error_count"}, {0x0E, "server_message_count"}, {0x0F, "server_no_response_count"},
        {0x10, "server_nak_count"},      {0x11, "server_busy_count"},    {0x12, "bus_char_overrun_count"},
    };
    for (size_t k = 0; k < sizeof counters / sizeof counters[0]; k++) {
        uint16_t v = 0;
        int rc = plcio_modbus_diagnostic_counter(c, a->unit, counters[k].sub, &v);
        if (rc)
            diag_error(d, c, counters[k].key, rc);
        else
            diag_number(d, counters[k].key, v);
    }
}

/* FC 11 and FC 12: the event counter, status and log. */
static void diag_events(plcio_modbus_client *c, const mb_args *a, diag_out *d)
{
    uint16_t status = 0, events = 0;
    int rc = plcio_modbus_get_comm_event_counter(c, a->unit, &status, &events);
    if (rc) {
        diag_error(d, c, "comm_event_counter", rc);
    } else {
        diag_number(d, "comm_event_counter", events);
        diag_number(d, "comm_status", status);
    }
    plcio_modbus_event_log log;
    rc = plcio_modbus_get_comm_event_log(c, a->unit, &log);
    if (rc) {
        diag_error(d, c, "comm_event_log", rc);
        return;
    }
    diag_number(d, "comm_message_count", log.message_count);
    diag_key(d, "comm_event_log");
    fputs(d->json ? "[" : "", stdout);
    for (size_t k = 0; k < log.event_len && k < sizeof log.events; k++)
        printf(d->json ? "%s%u" : "%s0x%02X", k ? (d->json ? ", " : " ") : "", log.events[k]);
    fputs(d->json ? "]" : "\n", stdout);
}

/* FC 43/14: extended, then regular, then basic identification. */
static void diag_identification(plcio_modbus_client *c, const mb_args *a, diag_out *d)
{
    static plcio_modbus_device_object objs[256];
    size_t n = 0;
    int rc = PLCIO_EMBEXC;
    for (uint8_t code = 3; code >= 1 && rc == PLCIO_EMBEXC; code--)
        rc = plcio_modbus_read_device_id(c, a->unit, code, 0, objs, 256, &n);
    if (rc) {
        diag_error(d, c, "identification", rc);
        return;
    }
    diag_key(d, "identification");
    fputs(d->json ? "{" : "\n", stdout);
    for (size_t i = 0; i < n; i++) {
        char key[32];
        const char *name = object_name(objs[i].id);
        if (!name) snprintf(key, sizeof key, "Object0x%02X", objs[i].id);
        if (d->json) {
            fputs(i ? ", " : "", stdout);
            cli_json_string(stdout, name ? name : key);
            fputs(": ", stdout);
            cli_json_string(stdout, objs[i].value);
        } else {
            printf("  %-26s %s\n", name ? name : key, objs[i].value);
        }
    }
    fputs(d->json ? "}" : "", stdout);
    d->ok++;
}

int modbus_cli_diag(int argc, char **argv)
{
    mb_args a;
    int st = diag_args(argc, argv, &a);
    plcio_modbus_client *c = NULL;
    if (!st) st = open_client(&a, &c);
    if (st) return st;
    /* a device that cannot be reached is one error, not one per request */
    int rc = plcio_modbus_client_connect(c);
    if (rc) {
        st = cli_error(PLCIO_EXIT_FAILURE, "diag: %s",
                       plcio_modbus_client_last_error(c)->text[0] ? plcio_modbus_client_last_error(c)->text
                                                                  : plcio_strerror(rc));
        plcio_modbus_client_free(c);
        return st;
    }
    diag_out d = {a.json, true, 0, 0};
    diag_counters(c, &a, &d);
    diag_events(c, &a, &d);
    diag_identification(c, &a, &d);
    if (a.json) fputs("}\n", stdout);
    fflush(stdout);
    plcio_modbus_client_free(c);
    if (!d.ok) return cli_error(PLCIO_EXIT_FAILURE, "diag: the device answered no request");
    return PLCIO_EXIT_OK;
}
