/* plcio read / write with s7plus:// URLs: S7 addresses of DBs (standard
 * access), M, I and Q, read and written as raw bytes over S7CommPlus
 * (plcio/s7plus.h) and decoded like the classic S7 branch does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "commands.h"
#include "plcio/address.h"
#include "plcio/s7plus.h"
#include "plcio/value.h"
#include "s7plus_cmds.h"

static int area_of(const plcio_s7_address *a, plcio_s7plus_area *out)
{
    switch (a->area) {
    case PLCIO_S7_AREA_DB: *out = PLCIO_S7PLUS_AREA_DB; return 0;
    case PLCIO_S7_AREA_MK: *out = PLCIO_S7PLUS_AREA_M; return 0;
    case PLCIO_S7_AREA_PE: *out = PLCIO_S7PLUS_AREA_I; return 0;
    case PLCIO_S7_AREA_PA: *out = PLCIO_S7PLUS_AREA_Q; return 0;
    default: return -1;
    }
}

/* URL, ADDR[=VALUE]..., --json: the URL is the first non-option argument. */
static int open_client(const char *url, plcio_s7plus_client **c)
{
    plcio_error err;
    if (plcio_s7plus_client_new(url, NULL, c, &err)) return cli_error(PLCIO_EXIT_USAGE, "%s", err.text);
    if (plcio_s7plus_client_connect(*c))
        return cli_error(PLCIO_EXIT_FAILURE, "%s", plcio_s7plus_client_last_error(*c)->text);
    return PLCIO_EXIT_OK;
}

/* A symbol of an optimized DB ("Line".Motor.Speed), or an S7 address? */
static bool is_symbol(const char *text)
{
    if (text[0] == '"') return true;
    plcio_s7_address a;
    plcio_error err;
    return plcio_s7_address_parse(text, &a, &err) != PLCIO_OK && strchr(text, '.') != NULL;
}

static int resolve(plcio_s7plus_client *c, const char *text, plcio_s7plus_symbol *s)
{
    if (plcio_s7plus_client_resolve(c, text, s))
        return cli_error(plcio_s7plus_client_last_error(c)->code == PLCIO_ENOTCONN ? PLCIO_EXIT_FAILURE
                                                                                   : PLCIO_EXIT_USAGE,
                         "%s", plcio_s7plus_client_last_error(c)->text);
    return PLCIO_EXIT_OK;
}

/* Read one symbol into text. */
static int read_symbol(plcio_s7plus_client *c, const char *name, char *text, size_t cap, plcio_type *type)
{
    static plcio_s7plus_sym_item it;
    int st = resolve(c, name, &it.sym);
    if (st) return st;
    *type = it.sym.type;
    if (plcio_s7plus_client_read_symbols(c, &it, 1))
        return cli_error(PLCIO_EXIT_FAILURE, "read %s: %s", name, plcio_s7plus_client_last_error(c)->text);
    if (it.result == PLCIO_EPLC)
        return cli_error(PLCIO_EXIT_FAILURE, "read %s: the PLC refused the item (error 0x%llx)", name,
                         (unsigned long long)it.error);
    if (it.result) return cli_error(PLCIO_EXIT_FAILURE, "read %s: %s", name, plcio_strerror(it.result));
    if (plcio_value_to_text(&it.value, text, cap, NULL))
        return cli_error(PLCIO_EXIT_FAILURE, "read %s: value too long to print", name);
    return PLCIO_EXIT_OK;
}

static int write_symbol(plcio_s7plus_client *c, const char *name, const char *value)
{
    static plcio_s7plus_sym_item it;
    int st = resolve(c, name, &it.sym);
    if (st) return st;
    plcio_error err;
    memset(&err, 0, sizeof err);
    plcio_value_init(&it.value, it.sym.type);
    if (plcio_value_from_text(&it.value, it.sym.type, it.sym.length, value, strlen(value), &err))
        return cli_error(PLCIO_EXIT_USAGE, "write %s: %s", name, err.text);
    if (plcio_s7plus_client_write_symbols(c, &it, 1))
        return cli_error(PLCIO_EXIT_FAILURE, "write %s: %s", name, plcio_s7plus_client_last_error(c)->text);
    if (it.result == PLCIO_EPLC || it.result == PLCIO_EACCESS)
        return cli_error(PLCIO_EXIT_FAILURE, "write %s: the PLC refused the item (error 0x%llx)", name,
                         (unsigned long long)it.error);
    if (it.result) return cli_error(PLCIO_EXIT_USAGE, "write %s: %s", name, plcio_strerror(it.result));
    return PLCIO_EXIT_OK;
}

static int parse_addr(const char *text, plcio_s7_address *a, plcio_s7plus_area *area)
{
    plcio_error err;
    memset(&err, 0, sizeof err);
    if (plcio_s7_address_parse(text, a, &err)) return cli_error(PLCIO_EXIT_USAGE, "%s: %s", text, err.text);
    if (area_of(a, area) || a->count != 1)
        return cli_error(PLCIO_EXIT_USAGE, "%s: S7CommPlus reads single values of DB, M, I and Q", text);
    return PLCIO_EXIT_OK;
}

int s7plus_cli_read(int argc, char **argv)
{
    bool json = false;
    const char *url = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = true;
        else if (argv[i][0] == '-')
            return cli_error(PLCIO_EXIT_USAGE, "read: unknown option '%s' for s7plus://", argv[i]);
        else if (!url)
            url = argv[i];
    }
    plcio_s7plus_client *c = NULL;
    int st = open_client(url, &c);
    bool first = true;
    if (!st && json) fputc('{', stdout);
    for (int i = 1; i < argc && !st; i++) {
        if (argv[i] == url || argv[i][0] == '-') continue;
        plcio_s7_address a;
        plcio_s7plus_area area = PLCIO_S7PLUS_AREA_DB;
        uint8_t buf[1024];
        plcio_value v;
        plcio_error err;
        memset(&err, 0, sizeof err);
        char text[1100];
        plcio_type stype = PLCIO_TYPE_COUNT_;
        if (is_symbol(argv[i])) {
            if ((st = read_symbol(c, argv[i], text, sizeof text, &stype))) break;
            a.type = stype;
        } else if ((st = parse_addr(argv[i], &a, &area))) {
            break;
        }
        bool got = stype != PLCIO_TYPE_COUNT_; /* a symbol: read above */
        if (!got) {
            if (a.size > sizeof buf)
                st = cli_error(PLCIO_EXIT_USAGE, "%s: too large", argv[i]);
            else if (plcio_s7plus_client_read_area(c, area, a.db, a.offset, a.size, buf))
                st = cli_error(PLCIO_EXIT_FAILURE, "read %s: %s", argv[i], plcio_s7plus_client_last_error(c)->text);
            else if (plcio_value_init(&v, a.type),
                     plcio_value_decode(&v, a.type, a.length, buf, a.size, a.bit, NULL, &err) ||
                         plcio_value_to_text(&v, text, sizeof text, NULL))
                st = cli_error(PLCIO_EXIT_FAILURE, "read %s: %s", argv[i], err.text);
            else
                got = true;
        }
        if (!got) {
            /* failed above */
        } else if (json) {
            if (!first) fputs(", ", stdout);
            cli_json_string(stdout, argv[i]);
            fputs(": ", stdout);
            bool quoted = a.type == PLCIO_TYPE_STRING || a.type == PLCIO_TYPE_WSTRING || a.type == PLCIO_TYPE_CHAR ||
                          a.type == PLCIO_TYPE_WCHAR || a.type >= PLCIO_TYPE_TIME;
            if (quoted)
                cli_json_string(stdout, text);
            else
                fputs(text, stdout);
            first = false;
        } else {
            printf("%s = %s\n", argv[i], text);
        }
    }
    if (!st && json) fputs("}\n", stdout);
    plcio_s7plus_client_free(c);
    return st;
}

int s7plus_cli_write(int argc, char **argv)
{
    const char *url = NULL;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') return cli_error(PLCIO_EXIT_USAGE, "write: unknown option '%s' for s7plus://", argv[i]);
        if (!url) url = argv[i];
    }
    plcio_s7plus_client *c = NULL;
    int st = open_client(url, &c);
    for (int i = 1; i < argc && !st; i++) {
        if (argv[i] == url) continue;
        char *eq = strchr(argv[i], '=');
        if (!eq) {
            st = cli_error(PLCIO_EXIT_USAGE, "write: '%s' is not ADDR=VALUE", argv[i]);
            break;
        }
        *eq = '\0';
        if (is_symbol(argv[i])) {
            if ((st = write_symbol(c, argv[i], eq + 1))) break;
            continue;
        }
        plcio_s7_address a;
        plcio_s7plus_area area = PLCIO_S7PLUS_AREA_DB;
        if ((st = parse_addr(argv[i], &a, &area))) break;
        uint8_t buf[1024] = {0};
        plcio_value v;
        plcio_error err;
        memset(&err, 0, sizeof err);
        if (a.size > sizeof buf) {
            st = cli_error(PLCIO_EXIT_USAGE, "%s: too large", argv[i]);
            break;
        }
        /* a BOOL changes one bit of its byte: read the byte first */
        if (a.type == PLCIO_TYPE_BOOL && plcio_s7plus_client_read_area(c, area, a.db, a.offset, 1, buf)) {
            st = cli_error(PLCIO_EXIT_FAILURE, "write %s: %s", argv[i], plcio_s7plus_client_last_error(c)->text);
            break;
        }
        plcio_value_init(&v, a.type);
        if (plcio_value_from_text(&v, a.type, a.length, eq + 1, strlen(eq + 1), &err) ||
            plcio_value_encode(&v, buf, a.size, a.bit, NULL, &err))
            st = cli_error(PLCIO_EXIT_USAGE, "write %s: %s", argv[i], err.text);
        else if (plcio_s7plus_client_write_area(c, area, a.db, a.offset, a.size, buf))
            st = cli_error(PLCIO_EXIT_FAILURE, "write %s: %s", argv[i], plcio_s7plus_client_last_error(c)->text);
    }
    plcio_s7plus_client_free(c);
    return st;
}

/* ---- watch ---- */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

typedef struct watch_item {
    const char *text;
    plcio_s7_address a;
    plcio_s7plus_area area;
    uint8_t buf[1024];
    char *shown; /* what was printed last: the value's text, or "!" and the error */
} watch_item;

/* The text of an item after a read (value, or "!why"); NULL: out of memory. */
static char *item_text(watch_item *w, const plcio_s7plus_item *it, const char *conn_error, bool json)
{
    char text[1100];
    if (conn_error || it->result) {
        char why[1100];
        if (conn_error)
            snprintf(why, sizeof why, "!%s", conn_error);
        else if (it->result == PLCIO_EPLC)
            snprintf(why, sizeof why, "!the PLC refused the item (error 0x%llx)", (unsigned long long)it->error);
        else
            snprintf(why, sizeof why, "!%s", plcio_strerror(it->result));
        return strdup(why);
    }
    plcio_value v;
    plcio_error err;
    memset(&err, 0, sizeof err);
    plcio_value_init(&v, w->a.type);
    if (plcio_value_decode(&v, w->a.type, w->a.length, w->buf, w->a.size, w->a.bit, NULL, &err) ||
        plcio_value_to_text(&v, text, sizeof text, NULL)) {
        char why[1100];
        snprintf(why, sizeof why, "!%s", err.text);
        return strdup(why);
    }
    bool quoted = w->a.type == PLCIO_TYPE_STRING || w->a.type == PLCIO_TYPE_WSTRING || w->a.type == PLCIO_TYPE_CHAR;
    if (json && quoted) { /* JSON text of a string value, escaped */
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        if (!f) return NULL;
        cli_json_string(f, text);
        if (fclose(f) != 0) {
            free(out);
            return NULL;
        }
        return out;
    }
    const char *special = json ? cli_json_float_special(text) : NULL;
    return strdup(special ? special : text);
}

typedef struct watch_args {
    bool json;
    const char *url;
    long interval_ms, count;
    size_t n;
} watch_args;

static int watch_number(const char *opt, const char *val, long min, long max, long *out)
{
    char *end;
    *out = strtol(val, &end, 10);
    if (*end || !*val || *out < min || *out > max)
        return cli_error(PLCIO_EXIT_USAGE, "%s: a number %ld..%ld, not '%s'", opt, min, max, val);
    return PLCIO_EXIT_OK;
}

/* Options, the URL and how many addresses (argv keeps them in place). */
static int watch_parse(int argc, char **argv, watch_args *a)
{
    memset(a, 0, sizeof *a);
    a->interval_ms = 1000;
    for (int i = 1; i < argc; i++) {
        const char *val = NULL;
        bool bad = false;
        int st = PLCIO_EXIT_OK;
        if (!strcmp(argv[i], "--json"))
            a->json = true;
        else if (cli_option(argc, argv, &i, "--interval", &val, &bad))
            st = bad ? PLCIO_EXIT_USAGE : watch_number("--interval", val, 1, 86400000, &a->interval_ms);
        else if (cli_option(argc, argv, &i, "--count", &val, &bad))
            st = bad ? PLCIO_EXIT_USAGE : watch_number("--count", val, 0, 1000000000, &a->count);
        else if (argv[i][0] == '-')
            st = cli_error(PLCIO_EXIT_USAGE, "watch: unknown option '%s' for S7CommPlus", argv[i]);
        else if (!a->url)
            a->url = argv[i];
        else
            a->n++;
        if (st) return st;
    }
    if (!a->url || !a->n) return cli_error(PLCIO_EXIT_USAGE, "usage: plcio watch URL ADDR... (plcio watch --help)");
    if (a->n > PLCIO_S7PLUS_MAX_ITEMS)
        return cli_error(PLCIO_EXIT_USAGE, "watch: at most %d addresses over S7CommPlus", PLCIO_S7PLUS_MAX_ITEMS);
    return PLCIO_EXIT_OK;
}

/* The addresses (the positional arguments after the URL) into w. */
static int watch_items(int argc, char **argv, watch_item *w)
{
    size_t k = 0;
    bool seen_url = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--interval") || !strcmp(argv[i], "--count")) {
            i++;
            continue;
        }
        if (argv[i][0] == '-') continue;
        if (!seen_url) {
            seen_url = true;
            continue;
        }
        w[k].text = argv[i];
        int st = parse_addr(argv[i], &w[k].a, &w[k].area);
        if (st) return st;
        if (w[k].a.size > sizeof w[k].buf) return cli_error(PLCIO_EXIT_USAGE, "%s: too large", argv[i]);
        k++;
    }
    return PLCIO_EXIT_OK;
}

/* One item that changed: printed (JSON: a member of the poll's object). */
static void watch_print(const watch_item *w, bool json, bool first)
{
    bool failed = w->shown[0] == '!';
    if (json) {
        printf("%s", first ? "" : ", ");
        cli_json_string(stdout, w->text);
        fputs(": ", stdout);
        if (failed) {
            fputs("{\"error\": ", stdout);
            cli_json_string(stdout, w->shown + 1);
            fputc('}', stdout);
        } else {
            fputs(w->shown, stdout);
        }
    } else if (failed) {
        fflush(stdout);
        cli_error(PLCIO_EXIT_FAILURE, "read %s: %s", w->text, w->shown + 1);
    } else {
        printf("%s = %s\n", w->text, w->shown);
    }
}

/* One poll: read, print what changed. *failed: some item has an error now. */
static int watch_poll(plcio_s7plus_client *c, watch_item *w, size_t n, bool json, bool *failed)
{
    plcio_s7plus_item items[PLCIO_S7PLUS_MAX_ITEMS];
    const char *conn_error = NULL;
    for (size_t j = 0; j < n; j++)
        items[j] = (plcio_s7plus_item){w[j].area, w[j].a.db, w[j].a.offset, w[j].a.size, w[j].buf, 0, 0};
    /* a lost connection is tried again at each poll */
    if ((!plcio_s7plus_client_is_connected(c) && plcio_s7plus_client_connect(c)) ||
        plcio_s7plus_client_read_multi(c, items, n))
        conn_error = plcio_s7plus_client_last_error(c)->text;
    *failed = false;
    bool first = true;
    for (size_t j = 0; j < n; j++) {
        char *now = item_text(&w[j], &items[j], conn_error, json);
        if (!now) return cli_out_of_memory();
        if (now[0] == '!') *failed = true;
        if (w[j].shown && !strcmp(now, w[j].shown)) {
            free(now);
            continue;
        }
        free(w[j].shown);
        w[j].shown = now;
        if (json && first) fputc('{', stdout);
        watch_print(&w[j], json, first);
        first = false;
    }
    if (json && !first) fputs("}\n", stdout);
    fflush(stdout);
    return PLCIO_EXIT_OK;
}

int s7plus_cli_watch(int argc, char **argv)
{
    watch_args a;
    int st = watch_parse(argc, argv, &a);
    if (st) return st;
    watch_item *w = calloc(a.n ? a.n : 1, sizeof *w); /* n >= 1 after watch_parse */
    if (!w) return cli_out_of_memory();
    plcio_s7plus_client *c = NULL;
    st = watch_items(argc, argv, w);
    if (!st) {
        plcio_error err;
        if (plcio_s7plus_client_new(a.url, NULL, &c, &err)) st = cli_error(PLCIO_EXIT_USAGE, "%s", err.text);
    }
    bool failed = false;
    for (long poll = 0; !st && (a.count == 0 || poll < a.count); poll++) {
        if (poll) sleep_ms(a.interval_ms);
        st = watch_poll(c, w, a.n, a.json, &failed);
    }
    if (!st && a.count && failed) st = PLCIO_EXIT_FAILURE;
    for (size_t j = 0; j < a.n; j++)
        free(w[j].shown);
    free(w);
    plcio_s7plus_client_free(c);
    return st;
}

/* ---- info ---- */

typedef struct plus_info {
    char why[3][1100]; /* state, protection level, DBs: why refused ("" read) */
    int state;
    unsigned raw, level;
    uint16_t dbs[4096];
    size_t ndb;
    const char *tls;
} plus_info;

static const char *const info_names[3] = {"state", "protection_level", "dbs"};
static const char *const info_what[3] = {"CPU state", "protection level", "list of DBs"};

static const char *state_text(int state)
{
    return state == PLCIO_S7PLUS_CPU_RUN ? "RUN" : state == PLCIO_S7PLUS_CPU_STOP ? "STOP" : "unknown";
}

static void info_json(const plus_info *in)
{
    printf("{\"protocol\": \"S7CommPlus\", \"tls\": ");
    cli_json_string(stdout, in->tls[0] ? in->tls : "none");
    if (!in->why[0][0]) printf(", \"state\": \"%s\", \"state_raw\": %u", state_text(in->state), in->raw);
    if (!in->why[1][0]) printf(", \"protection_level\": %u", in->level);
    if (!in->why[2][0]) {
        fputs(", \"dbs\": [", stdout);
        for (size_t k = 0; k < in->ndb; k++)
            printf("%s%u", k ? ", " : "", in->dbs[k]);
        fputc(']', stdout);
    }
    fputs(", \"refused\": {", stdout);
    bool f = true;
    for (int k = 0; k < 3; k++) {
        if (!in->why[k][0]) continue;
        printf("%s\"%s\": ", f ? "" : ", ", info_names[k]);
        cli_json_string(stdout, in->why[k]);
        f = false;
    }
    fputs("}}\n", stdout);
}

static void info_text(const plus_info *in)
{
    printf("%-18s %s\n", "protocol", "S7CommPlus");
    printf("%-18s %s\n", "tls", in->tls[0] ? in->tls : "none (V1 session)");
    if (!in->why[0][0]) printf("%-18s %s (raw %u)\n", "state", state_text(in->state), in->raw);
    if (!in->why[1][0]) printf("%-18s %u\n", "protection_level", in->level);
    if (!in->why[2][0]) {
        printf("%-18s", "dbs");
        for (size_t k = 0; k < in->ndb; k++)
            printf(" %u", in->dbs[k]);
        printf("%s\n", in->ndb ? "" : " none");
    }
    for (int k = 0; k < 3; k++)
        if (in->why[k][0]) printf("%-18s %s: %s\n", "refused", info_what[k], in->why[k]);
}

/* Each piece on its own: one the PLC refuses is named, the others shown. */
static void info_read(plcio_s7plus_client *c, plus_info *in)
{
    const size_t cap = sizeof in->dbs / sizeof in->dbs[0];
    for (int k = 0; k < 3; k++) {
        if (!plcio_s7plus_client_is_connected(c)) (void)plcio_s7plus_client_connect(c);
        int rc = k == 0   ? plcio_s7plus_client_get_cpu_state(c, &in->state, &in->raw)
                 : k == 1 ? plcio_s7plus_client_get_protection_level(c, &in->level)
                          : plcio_s7plus_client_list_dbs(c, in->dbs, cap, &in->ndb);
        if (rc) snprintf(in->why[k], sizeof in->why[k], "%s", plcio_s7plus_client_last_error(c)->text);
    }
    if (in->ndb > cap) in->ndb = cap;
    in->tls = plcio_s7plus_client_tls_version(c);
}

int s7plus_cli_info(int argc, char **argv)
{
    bool json = false;
    const char *url = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = true;
        else if (argv[i][0] == '-')
            return cli_error(PLCIO_EXIT_USAGE, "info: unknown option '%s' for S7CommPlus", argv[i]);
        else if (!url)
            url = argv[i];
        else
            return cli_error(PLCIO_EXIT_USAGE, "info: unexpected argument '%s'", argv[i]);
    }
    plcio_s7plus_client *c = NULL;
    int st = open_client(url, &c);
    plus_info *in = st ? NULL : calloc(1, sizeof *in);
    if (!st && !in) st = cli_out_of_memory();
    if (!st) {
        info_read(c, in);
        if (json)
            info_json(in);
        else
            info_text(in);
        fflush(stdout);
        /* nothing at all could be read: a failure */
        if (in->why[0][0] && in->why[1][0] && in->why[2][0]) st = PLCIO_EXIT_FAILURE;
    }
    free(in);
    plcio_s7plus_client_free(c);
    return st;
}
