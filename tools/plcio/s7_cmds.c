/* The S7 side of plcio read / write / watch / info / blocks (s7:// URLs).
 * The cmd_*.c files dispatch here on the URL scheme. Public API only. */
#define _POSIX_C_SOURCE 200809L
#include "s7_cmds.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "commands.h"
#include "plcio/plcio.h"
#include "plcio/value.h"

/* ---- common ---- */

typedef struct s7_tag {
    const char *text;    /* as the user wrote it (JSON key) */
    plcio_s7_address a;
    uint8_t *data;       /* a.size bytes */
    char *shown;         /* last printed value (watch) */
} s7_tag;

static int open_client(const char *url_text, bool reconnect, plcio_s7_client **out)
{
    plcio_url url;
    if (plcio_url_parse(url_text, &url) != PLCIO_OK) return cli_error(PLCIO_EXIT_USAGE, "bad URL '%s'", url_text);
    plcio_s7_client_options o;
    plcio_s7_client_options_init(&o);
    char err[160];
    if (plcio_s7_client_options_from_url(&o, &url, err, sizeof err) != PLCIO_OK)
        return cli_error(PLCIO_EXIT_USAGE, "%s: %s", url_text, err);
    o.auto_reconnect = o.auto_reconnect || reconnect;
    plcio_s7_client *c = plcio_s7_client_new(&o);
    if (!c) return cli_error(PLCIO_EXIT_FAILURE, "out of memory");
    if (plcio_s7_client_connect(c) != PLCIO_OK) {
        int rc = cli_error(PLCIO_EXIT_FAILURE, "%s", plcio_s7_client_last_error(c));
        plcio_s7_client_free(c);
        return rc;
    }
    *out = c;
    return PLCIO_EXIT_OK;
}

/* Parse addresses. A future --layout option resolves symbolic names here. */
static int parse_tags(s7_tag *tags, char **texts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char err[PLCIO_ADDRESS_ERR_MAX];
        tags[i].text = texts[i];
        if (plcio_s7_address_parse(texts[i], &tags[i].a, err, sizeof err) != PLCIO_OK)
            return cli_error(PLCIO_EXIT_USAGE, "%s", err);
        tags[i].data = calloc(1, tags[i].a.size ? tags[i].a.size : 1);
        if (!tags[i].data) return cli_error(PLCIO_EXIT_FAILURE, "out of memory");
    }
    return PLCIO_EXIT_OK;
}

static void free_tags(s7_tag *tags, size_t n)
{
    for (size_t i = 0; tags && i < n; i++) {
        free(tags[i].data);
        free(tags[i].shown);
    }
    free(tags);
}

static bool is_ct(plcio_s7_area a) { return a == PLCIO_S7_AREA_CT || a == PLCIO_S7_AREA_TM; }

static int read_tags(plcio_s7_client *c, s7_tag *tags, size_t n)
{
    plcio_s7_var *v = calloc(n, sizeof *v);
    if (!v) return cli_error(PLCIO_EXIT_FAILURE, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const plcio_s7_address *a = &tags[i].a;
        v[i] = (plcio_s7_var){a->area, a->db, a->offset, is_ct(a->area) ? a->size / 2 : a->size, -1, tags[i].data, 0, 0};
    }
    int rc = plcio_s7_client_read_vars(c, v, n);
    for (size_t i = 0; rc == PLCIO_EPLC && i < n; i++) {
        if (v[i].result == PLCIO_OK) continue;
        /* name the address as the user wrote it, with the PLC's reason */
        rc = cli_error(PLCIO_EXIT_FAILURE, "read %s: %s", tags[i].text, plcio_s7_client_last_reason(c));
        free(v);
        return rc;
    }
    free(v);
    if (rc) return cli_error(PLCIO_EXIT_FAILURE, "%s", plcio_s7_client_last_error(c));
    return PLCIO_EXIT_OK;
}

static bool json_bare(plcio_type t, const char *text)
{
    switch (t) {
    case PLCIO_TYPE_BOOL:
    case PLCIO_TYPE_BYTE: case PLCIO_TYPE_WORD: case PLCIO_TYPE_DWORD: case PLCIO_TYPE_LWORD:
    case PLCIO_TYPE_SINT: case PLCIO_TYPE_USINT: case PLCIO_TYPE_INT: case PLCIO_TYPE_UINT:
    case PLCIO_TYPE_DINT: case PLCIO_TYPE_UDINT: case PLCIO_TYPE_LINT: case PLCIO_TYPE_ULINT:
        return true;
    case PLCIO_TYPE_REAL: case PLCIO_TYPE_LREAL:
        return strcmp(text, "nan") && strcmp(text, "-nan") && strcmp(text, "inf") && strcmp(text, "-inf");
    default:
        return false;
    }
}

/* Text of element i of a tag, into buf. */
static int element_text(const s7_tag *t, uint32_t i, char *buf, size_t cap, bool json)
{
    const plcio_s7_address *a = &t->a;
    plcio_value *v = malloc(sizeof *v);
    if (!v) return PLCIO_ENOMEM;
    plcio_value_init(v, a->type);
    size_t off, len;
    unsigned bit = 0;
    if (a->type == PLCIO_TYPE_BOOL) {
        off = (a->bit + i) / 8u;
        bit = (a->bit + i) % 8u;
        len = 1;
    } else {
        len = a->size / (a->count ? a->count : 1);
        off = (size_t)i * len;
    }
    char err[PLCIO_VALUE_ERR_MAX];
    int rc = plcio_value_decode(v, a->type, a->length, t->data + off, len, bit, NULL, err, sizeof err);
    size_t n = 0;
    if (!rc) rc = plcio_value_to_text(v, buf + 1, cap - 3, &n);
    if (!rc && json && !json_bare(a->type, buf + 1)) {
        /* JSON string: escape into a temporary and copy back */
        char *tmp = NULL;
        size_t tlen = 0;
        FILE *f = open_memstream(&tmp, &tlen);
        if (f) {
            cli_json_string(f, buf + 1);
            fclose(f);
            snprintf(buf, cap, "%s", tmp);
            free(tmp);
        }
    } else if (!rc) {
        memmove(buf, buf + 1, n + 1);
    } else {
        snprintf(buf, cap, "%s", err);
    }
    free(v);
    return rc;
}

/* Whole tag text: one value or "[a, b, c]". Caller frees. */
static char *tag_text(const s7_tag *t, bool json)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f) return NULL;
    char buf[2 * PLCIO_VALUE_INLINE_TEXT + 8];
    uint32_t count = t->a.count ? t->a.count : 1;
    if (count > 1) fputc('[', f);
    for (uint32_t i = 0; i < count; i++) {
        if (element_text(t, i, buf, sizeof buf, json) != PLCIO_OK) {
            fclose(f);
            free(out);
            return NULL;
        }
        fprintf(f, "%s%s", i ? ", " : "", buf);
    }
    if (count > 1) fputc(']', f);
    fclose(f);
    return out;
}

static int print_tags(const s7_tag *tags, size_t n, bool json, const bool *only)
{
    /* decode everything first: no half-printed output on a bad value */
    for (size_t i = 0; i < n; i++) {
        if (only && !only[i]) continue;
        char *text = tag_text(&tags[i], json);
        if (!text) return cli_error(PLCIO_EXIT_FAILURE, "%s: the PLC's bytes are not a valid %s", tags[i].text,
                                    plcio_type_name(tags[i].a.type));
        free(text);
    }
    bool first = true;
    if (json) fputc('{', stdout);
    for (size_t i = 0; i < n; i++) {
        if (only && !only[i]) continue;
        char *text = tag_text(&tags[i], json);
        if (!text) return PLCIO_EXIT_FAILURE;
        if (json) {
            if (!first) fputs(", ", stdout);
            cli_json_string(stdout, tags[i].text);
            printf(": %s", text);
        } else {
            printf("%s = %s\n", tags[i].text, text);
        }
        first = false;
        free(text);
    }
    if (json) fputs("}\n", stdout);
    fflush(stdout);
    return PLCIO_EXIT_OK;
}

/* Options shared by the reading commands; addresses are collected in texts. */
typedef struct read_args {
    const char *url;
    char **texts;
    size_t n;
    bool json;
    long interval_ms;
    long count;
} read_args;

static int parse_read_args(int argc, char **argv, read_args *ra, bool watch)
{
    memset(ra, 0, sizeof *ra);
    ra->interval_ms = 1000;
    ra->texts = calloc((size_t)argc, sizeof *ra->texts);
    if (!ra->texts) return cli_error(PLCIO_EXIT_FAILURE, "out of memory");
    for (int i = 1; i < argc; i++) {
        const char *val = NULL;
        bool bad = false;
        if (cli_option(argc, argv, &i, "--json", NULL, &bad)) {
            ra->json = true;
        } else if (watch && cli_option(argc, argv, &i, "--interval", &val, &bad)) {
            if (bad) return PLCIO_EXIT_USAGE;
            char *end;
            ra->interval_ms = strtol(val, &end, 10);
            if (*end || ra->interval_ms < 1 || ra->interval_ms > 86400000)
                return cli_error(PLCIO_EXIT_USAGE, "--interval: milliseconds 1..86400000, not '%s'", val);
        } else if (watch && cli_option(argc, argv, &i, "--count", &val, &bad)) {
            if (bad) return PLCIO_EXIT_USAGE;
            char *end;
            ra->count = strtol(val, &end, 10);
            if (*end || ra->count < 0) return cli_error(PLCIO_EXIT_USAGE, "--count: a number of polls, not '%s'", val);
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            return cli_error(PLCIO_EXIT_USAGE, "%s: unknown option '%s'", argv[0], argv[i]);
        } else if (!ra->url) {
            ra->url = argv[i];
        } else {
            ra->texts[ra->n++] = argv[i];
        }
    }
    if (!ra->url || !ra->n) return cli_error(PLCIO_EXIT_USAGE, "usage: plcio %s URL ADDR...", argv[0]);
    return PLCIO_EXIT_OK;
}

/* ---- read ---- */

int s7_cli_read(int argc, char **argv)
{
    read_args ra;
    int rc = parse_read_args(argc, argv, &ra, false);
    s7_tag *tags = rc ? NULL : calloc(ra.n, sizeof *tags);
    plcio_s7_client *c = NULL;
    if (!rc && !tags) rc = cli_error(PLCIO_EXIT_FAILURE, "out of memory");
    if (!rc) rc = parse_tags(tags, ra.texts, ra.n);
    if (!rc) rc = open_client(ra.url, false, &c);
    if (!rc) rc = read_tags(c, tags, ra.n);
    if (!rc) rc = print_tags(tags, ra.n, ra.json, NULL);
    plcio_s7_client_free(c);
    free_tags(tags, ra.n);
    free(ra.texts);
    return rc;
}

/* ---- write ---- */

/* Every value is checked and encoded before anything is sent; then all
 * go out in one multi-variable write (pipelined PDUs), and each refusal is
 * reported with the address as written. */
int s7_cli_write(int argc, char **argv)
{
    const char *url = NULL;
    int first = 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1] == '-')
            return cli_error(PLCIO_EXIT_USAGE, "write: unknown option '%s'", argv[i]);
        if (!url) url = argv[i];
        else if (!first) first = i;
    }
    if (!url || !first) return cli_error(PLCIO_EXIT_USAGE, "usage: plcio write URL ADDR=VALUE...");
    size_t n = (size_t)(argc - first);
    plcio_s7_var *vars = calloc(n, sizeof *vars);
    uint8_t **bufs = calloc(n, sizeof *bufs);
    plcio_value *val = malloc(sizeof *val);
    int rc = vars && bufs && val ? PLCIO_EXIT_OK : cli_error(PLCIO_EXIT_FAILURE, "out of memory");
    for (size_t i = 0; !rc && i < n; i++) {
        char *arg = argv[first + (int)i], *eq = strchr(arg, '=');
        if (!eq) {
            rc = cli_error(PLCIO_EXIT_USAGE, "write: '%s' is not ADDR=VALUE", arg);
            break;
        }
        *eq = '\0';
        plcio_s7_address a;
        char err[PLCIO_ADDRESS_ERR_MAX > PLCIO_VALUE_ERR_MAX ? PLCIO_ADDRESS_ERR_MAX : PLCIO_VALUE_ERR_MAX];
        if (plcio_s7_address_parse(arg, &a, err, sizeof err) != PLCIO_OK) rc = cli_error(PLCIO_EXIT_USAGE, "%s", err);
        else if (a.count != 1) rc = cli_error(PLCIO_EXIT_USAGE, "write %s: arrays are written one element at a time", arg);
        if (!rc) {
            plcio_value_init(val, a.type);
            bufs[i] = calloc(1, a.size ? a.size : 1);
            if (!bufs[i]) rc = cli_error(PLCIO_EXIT_FAILURE, "out of memory");
            else if (plcio_value_from_text(val, a.type, a.length, eq + 1, strlen(eq + 1), err, sizeof err) != PLCIO_OK ||
                     (a.type != PLCIO_TYPE_BOOL &&
                      plcio_value_encode(val, bufs[i], a.size, 0, NULL, err, sizeof err) != PLCIO_OK))
                rc = cli_error(PLCIO_EXIT_USAGE, "write %s=%s: %s", arg, eq + 1, err);
        }
        if (!rc) {
            bool bit = a.type == PLCIO_TYPE_BOOL;
            if (bit) bufs[i][0] = val->v.b ? 1 : 0;
            vars[i] = (plcio_s7_var){a.area, a.db, a.offset,
                                     bit ? 1 : is_ct(a.area) ? a.size / 2 : a.size, bit ? (int)a.bit : -1, bufs[i], 0, 0};
        }
        *eq = '=';
    }
    plcio_s7_client *c = NULL;
    if (!rc) rc = open_client(url, false, &c);
    if (!rc) {
        int e = plcio_s7_client_write_vars(c, vars, n);
        if (e == PLCIO_EPLC) {
            bool first_failure = true;
            for (size_t i = 0; i < n; i++) {
                if (vars[i].result == PLCIO_OK) continue;
                /* the library's reason is about the first failure (with the DB size
                 * when the PLC told it); the others get their return code's text */
                const char *why = first_failure && plcio_s7_client_last_reason(c)[0]
                                      ? plcio_s7_client_last_reason(c)
                                      : plcio_s7_return_code_text(vars[i].item_code);
                char *arg = argv[first + (int)i];
                cli_error(PLCIO_EXIT_FAILURE, "write %.*s: %s", (int)(strchr(arg, '=') - arg), arg, why);
                first_failure = false;
            }
            rc = PLCIO_EXIT_FAILURE;
        } else if (e) {
            rc = cli_error(PLCIO_EXIT_FAILURE, "%s", plcio_s7_client_last_error(c));
        }
    }
    plcio_s7_client_free(c);
    for (size_t i = 0; bufs && i < n; i++) free(bufs[i]);
    free(bufs);
    free(vars);
    free(val);
    return rc;
}

/* ---- watch ---- */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

int s7_cli_watch(int argc, char **argv)
{
    read_args ra;
    int rc = parse_read_args(argc, argv, &ra, true);
    s7_tag *tags = rc ? NULL : calloc(ra.n, sizeof *tags);
    bool *changed = rc ? NULL : calloc(ra.n, sizeof *changed);
    plcio_s7_client *c = NULL;
    if (!rc && (!tags || !changed)) rc = cli_error(PLCIO_EXIT_FAILURE, "out of memory");
    if (!rc) rc = parse_tags(tags, ra.texts, ra.n);
    if (!rc) rc = open_client(ra.url, true, &c);
    for (long poll = 0; !rc && (ra.count == 0 || poll < ra.count); poll++) {
        if (poll) sleep_ms(ra.interval_ms);
        if (read_tags(c, tags, ra.n) != PLCIO_EXIT_OK) {
            if (ra.count && poll + 1 == ra.count) rc = PLCIO_EXIT_FAILURE;
            continue; /* keep watching: the client reconnects with backoff */
        }
        bool any = false;
        for (size_t i = 0; i < ra.n; i++) {
            char *text = tag_text(&tags[i], ra.json);
            changed[i] = text && (!tags[i].shown || strcmp(text, tags[i].shown) != 0);
            if (changed[i]) {
                free(tags[i].shown);
                tags[i].shown = text;
                any = true;
            } else {
                free(text);
            }
        }
        if (any) rc = print_tags(tags, ra.n, ra.json, changed);
    }
    plcio_s7_client_free(c);
    free_tags(tags, ra.n);
    free(changed);
    free(ra.texts);
    return rc;
}

/* ---- info ---- */

static void kv(bool json, bool *first, const char *key, const char *value)
{
    if (json) {
        printf("%s", *first ? "{" : ", ");
        cli_json_string(stdout, key);
        fputs(": ", stdout);
        cli_json_string(stdout, value);
    } else {
        printf("%-18s %s\n", key, value);
    }
    *first = false;
}

static void kvi(bool json, bool *first, const char *key, long value)
{
    if (json) {
        printf("%s", *first ? "{" : ", ");
        cli_json_string(stdout, key);
        printf(": %ld", value);
    } else {
        printf("%-18s %ld\n", key, value);
    }
    *first = false;
}

static int url_and_json(int argc, char **argv, const char **url, bool *json)
{
    *url = NULL;
    *json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) *json = true;
        else if (argv[i][0] == '-' && argv[i][1] == '-')
            return cli_error(PLCIO_EXIT_USAGE, "%s: unknown option '%s'", argv[0], argv[i]);
        else if (!*url) *url = argv[i];
        else return cli_error(PLCIO_EXIT_USAGE, "%s: unexpected argument '%s'", argv[0], argv[i]);
    }
    if (!*url) return cli_error(PLCIO_EXIT_USAGE, "usage: plcio %s URL [--json]", argv[0]);
    return PLCIO_EXIT_OK;
}

int s7_cli_info(int argc, char **argv)
{
    const char *url;
    bool json;
    int rc = url_and_json(argc, argv, &url, &json);
    plcio_s7_client *c = NULL;
    if (!rc) rc = open_client(url, false, &c);
    plcio_s7_cpu_info ci;
    if (!rc && plcio_s7_client_cpu_info(c, &ci) != PLCIO_OK)
        rc = cli_error(PLCIO_EXIT_FAILURE, "%s", plcio_s7_client_last_error(c));
    if (!rc) {
        bool first = true;
        const char *state = ci.cpu_state == 0x08 ? "RUN" : ci.cpu_state == 0x04 ? "STOP" : "unknown";
        kv(json, &first, "module_type", ci.module_type);
        kv(json, &first, "order_code", ci.order_code);
        kv(json, &first, "firmware", ci.firmware);
        kv(json, &first, "serial", ci.serial);
        kv(json, &first, "as_name", ci.as_name);
        kv(json, &first, "module_name", ci.module_name);
        kv(json, &first, "copyright", ci.copyright);
        kv(json, &first, "state", state);
        kvi(json, &first, "protection_level", ci.protection_level);
        kvi(json, &first, "max_pdu", ci.max_pdu);
        kvi(json, &first, "max_connections", ci.max_connections);
        kvi(json, &first, "negotiated_pdu", (long)plcio_s7_client_pdu_size(c));
        kvi(json, &first, "parallel_jobs", (long)plcio_s7_client_parallel_jobs(c));
        if (json) fputs("}\n", stdout);
    }
    plcio_s7_client_free(c);
    return rc;
}

/* ---- blocks ---- */

int s7_cli_blocks(int argc, char **argv)
{
    const char *url;
    bool json;
    int rc = url_and_json(argc, argv, &url, &json);
    plcio_s7_client *c = NULL;
    if (!rc) rc = open_client(url, false, &c);
    plcio_s7_block_count bc;
    if (!rc && plcio_s7_client_list_blocks(c, &bc) != PLCIO_OK)
        rc = cli_error(PLCIO_EXIT_FAILURE, "%s", plcio_s7_client_last_error(c));
    static const char *const names[] = {"OB", "FB", "FC", "DB", "SDB", "SFC", "SFB"};
    unsigned counts[7];
    if (!rc) {
        unsigned tmp[7] = {bc.ob, bc.fb, bc.fc, bc.db, bc.sdb, bc.sfc, bc.sfb};
        memcpy(counts, tmp, sizeof counts);
    }
    uint16_t *nums = rc ? NULL : malloc(65536 * sizeof *nums);
    if (!rc && !nums) rc = cli_error(PLCIO_EXIT_FAILURE, "out of memory");
    if (!rc && json) fputc('{', stdout);
    for (int t = 0; !rc && t < 7; t++) {
        size_t n = 0;
        if (counts[t] && plcio_s7_client_list_blocks_of_type(c, names[t], nums, 65536, &n) != PLCIO_OK) {
            rc = cli_error(PLCIO_EXIT_FAILURE, "%s", plcio_s7_client_last_error(c));
            break;
        }
        if (json) {
            printf("%s\"%s\": [", t ? ", " : "", names[t]);
            for (size_t i = 0; i < n; i++) printf("%s%u", i ? ", " : "", nums[i]);
            fputc(']', stdout);
        } else {
            printf("%-4s %5u", names[t], counts[t]);
            for (size_t i = 0; i < n; i++) printf("%s%u", i ? " " : "  ", nums[i]);
            fputc('\n', stdout);
        }
    }
    if (!rc && json) fputs("}\n", stdout);
    free(nums);
    plcio_s7_client_free(c);
    return rc;
}
