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
        if ((st = parse_addr(argv[i], &a, &area))) break;
        uint8_t buf[1024];
        plcio_value v;
        plcio_error err;
        memset(&err, 0, sizeof err);
        char text[1100];
        if (a.size > sizeof buf)
            st = cli_error(PLCIO_EXIT_USAGE, "%s: too large", argv[i]);
        else if (plcio_s7plus_client_read_area(c, area, a.db, a.offset, a.size, buf))
            st = cli_error(PLCIO_EXIT_FAILURE, "read %s: %s", argv[i], plcio_s7plus_client_last_error(c)->text);
        else if (plcio_value_init(&v, a.type),
                 plcio_value_decode(&v, a.type, a.length, buf, a.size, a.bit, NULL, &err) ||
                     plcio_value_to_text(&v, text, sizeof text, NULL))
            st = cli_error(PLCIO_EXIT_FAILURE, "read %s: %s", argv[i], err.text);
        else if (json) {
            if (!first) fputs(", ", stdout);
            cli_json_string(stdout, argv[i]);
            fputs(": ", stdout);
            bool quoted = a.type == PLCIO_TYPE_STRING || a.type == PLCIO_TYPE_WSTRING || a.type == PLCIO_TYPE_CHAR;
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
        fclose(f);
        return out;
    }
    const char *special = json ? cli_json_float_special(text) : NULL;
    return strdup(special ? special : text);
}

int s7plus_cli_watch(int argc, char **argv)
{
    bool json = false;
    const char *url = NULL;
    long interval_ms = 1000, count = 0;
    size_t n = 0;
    for (int i = 1; i < argc; i++) {
        const char *val = NULL;
        bool bad = false;
        if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (cli_option(argc, argv, &i, "--interval", &val, &bad)) {
            if (bad) return PLCIO_EXIT_USAGE;
            char *end;
            interval_ms = strtol(val, &end, 10);
            if (*end || interval_ms < 1 || interval_ms > 86400000)
                return cli_error(PLCIO_EXIT_USAGE, "--interval: milliseconds 1..86400000, not '%s'", val);
        } else if (cli_option(argc, argv, &i, "--count", &val, &bad)) {
            if (bad) return PLCIO_EXIT_USAGE;
            char *end;
            count = strtol(val, &end, 10);
            if (*end || count < 0) return cli_error(PLCIO_EXIT_USAGE, "--count: a number of polls, not '%s'", val);
        } else if (argv[i][0] == '-') {
            return cli_error(PLCIO_EXIT_USAGE, "watch: unknown option '%s' for S7CommPlus", argv[i]);
        } else if (!url) {
            url = argv[i];
        } else {
            n++;
        }
    }
    if (!url || !n) return cli_error(PLCIO_EXIT_USAGE, "usage: plcio watch URL ADDR... (plcio watch --help)");
    if (n > PLCIO_S7PLUS_MAX_ITEMS)
        return cli_error(PLCIO_EXIT_USAGE, "watch: at most %d addresses over S7CommPlus", PLCIO_S7PLUS_MAX_ITEMS);
    watch_item *w = calloc(n, sizeof *w);
    plcio_s7plus_item items[PLCIO_S7PLUS_MAX_ITEMS];
    if (!w) return cli_out_of_memory();
    int st = PLCIO_EXIT_OK;
    size_t k = 0;
    bool seen_url = false;
    for (int i = 1; i < argc && !st; i++) {
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
        if ((st = parse_addr(argv[i], &w[k].a, &w[k].area))) break;
        if (w[k].a.size > sizeof w[k].buf) st = cli_error(PLCIO_EXIT_USAGE, "%s: too large", argv[i]);
        k++;
    }
    plcio_s7plus_client *c = NULL;
    if (!st) {
        plcio_error err;
        if (plcio_s7plus_client_new(url, NULL, &c, &err)) st = cli_error(PLCIO_EXIT_USAGE, "%s", err.text);
    }
    int last = PLCIO_EXIT_OK;
    for (long poll = 0; !st && (count == 0 || poll < count); poll++) {
        if (poll) sleep_ms(interval_ms);
        const char *conn_error = NULL;
        for (size_t j = 0; j < n; j++)
            items[j] = (plcio_s7plus_item){w[j].area, w[j].a.db, w[j].a.offset, w[j].a.size, w[j].buf, 0, 0};
        /* a lost connection is tried again at each poll */
        if ((!plcio_s7plus_client_is_connected(c) && plcio_s7plus_client_connect(c)) ||
            plcio_s7plus_client_read_multi(c, items, n))
            conn_error = plcio_s7plus_client_last_error(c)->text;
        bool any = false, first = true;
        last = PLCIO_EXIT_OK;
        char *now[PLCIO_S7PLUS_MAX_ITEMS];
        for (size_t j = 0; j < n; j++) {
            now[j] = item_text(&w[j], &items[j], conn_error, json);
            if (!now[j]) {
                st = cli_out_of_memory();
                break;
            }
            if (now[j][0] == '!') last = PLCIO_EXIT_FAILURE;
            any |= !w[j].shown || strcmp(now[j], w[j].shown) != 0;
        }
        if (st) {
            for (size_t j = 0; j < n; j++)
                free(now[j]);
            break;
        }
        if (any && json) fputc('{', stdout);
        for (size_t j = 0; j < n; j++) {
            if (w[j].shown && !strcmp(now[j], w[j].shown)) {
                free(now[j]);
                continue;
            }
            free(w[j].shown);
            w[j].shown = now[j];
            bool failed = now[j][0] == '!';
            if (json) {
                printf("%s", first ? "" : ", ");
                cli_json_string(stdout, w[j].text);
                fputs(": ", stdout);
                if (failed) {
                    fputs("{\"error\": ", stdout);
                    cli_json_string(stdout, now[j] + 1);
                    fputc('}', stdout);
                } else {
                    fputs(now[j], stdout);
                }
            } else if (failed) {
                fflush(stdout);
                cli_error(PLCIO_EXIT_FAILURE, "read %s: %s", w[j].text, now[j] + 1);
            } else {
                printf("%s = %s\n", w[j].text, now[j]);
            }
            first = false;
        }
        if (any && json) fputs("}\n", stdout);
        fflush(stdout);
    }
    if (!st && count) st = last;
    for (size_t j = 0; j < n; j++)
        free(w[j].shown);
    free(w);
    plcio_s7plus_client_free(c);
    return st;
}

/* ---- info ---- */

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
    if (st) {
        plcio_s7plus_client_free(c);
        return st;
    }
    /* each piece on its own: one the PLC refuses is named, the others shown */
    char why_state[1100] = "", why_prot[1100] = "", why_dbs[1100] = "";
    int state = 0;
    unsigned raw = 0, level = 0;
    if (plcio_s7plus_client_get_cpu_state(c, &state, &raw))
        snprintf(why_state, sizeof why_state, "%s", plcio_s7plus_client_last_error(c)->text);
    if (!plcio_s7plus_client_is_connected(c)) (void)plcio_s7plus_client_connect(c);
    if (plcio_s7plus_client_get_protection_level(c, &level))
        snprintf(why_prot, sizeof why_prot, "%s", plcio_s7plus_client_last_error(c)->text);
    if (!plcio_s7plus_client_is_connected(c)) (void)plcio_s7plus_client_connect(c);
    uint16_t dbs[4096];
    size_t ndb = 0;
    if (plcio_s7plus_client_list_dbs(c, dbs, sizeof dbs / sizeof dbs[0], &ndb))
        snprintf(why_dbs, sizeof why_dbs, "%s", plcio_s7plus_client_last_error(c)->text);
    if (ndb > sizeof dbs / sizeof dbs[0]) ndb = sizeof dbs / sizeof dbs[0];
    const char *tls = plcio_s7plus_client_tls_version(c);
    const char *state_text = state == PLCIO_S7PLUS_CPU_RUN    ? "RUN"
                             : state == PLCIO_S7PLUS_CPU_STOP ? "STOP"
                                                              : "unknown";
    if (json) {
        printf("{\"protocol\": \"S7CommPlus\", \"tls\": ");
        cli_json_string(stdout, tls[0] ? tls : "none");
        if (!why_state[0]) printf(", \"state\": \"%s\", \"state_raw\": %u", state_text, raw);
        if (!why_prot[0]) printf(", \"protection_level\": %u", level);
        if (!why_dbs[0]) {
            fputs(", \"dbs\": [", stdout);
            for (size_t k = 0; k < ndb; k++)
                printf("%s%u", k ? ", " : "", dbs[k]);
            fputc(']', stdout);
        }
        fputs(", \"refused\": {", stdout);
        bool f = true;
        const char *names[3] = {"state", "protection_level", "dbs"};
        const char *whys[3] = {why_state, why_prot, why_dbs};
        for (int k = 0; k < 3; k++) {
            if (!whys[k][0]) continue;
            printf("%s\"%s\": ", f ? "" : ", ", names[k]);
            cli_json_string(stdout, whys[k]);
            f = false;
        }
        fputs("}}\n", stdout);
    } else {
        printf("%-18s %s\n", "protocol", "S7CommPlus");
        printf("%-18s %s\n", "tls", tls[0] ? tls : "none (V1 session)");
        if (!why_state[0]) printf("%-18s %s (raw %u)\n", "state", state_text, raw);
        if (!why_prot[0]) printf("%-18s %u\n", "protection_level", level);
        if (!why_dbs[0]) {
            printf("%-18s", "dbs");
            for (size_t k = 0; k < ndb; k++)
                printf(" %u", dbs[k]);
            printf("%s\n", ndb ? "" : " none");
        }
        if (why_state[0]) printf("%-18s CPU state: %s\n", "refused", why_state);
        if (why_prot[0]) printf("%-18s protection level: %s\n", "refused", why_prot);
        if (why_dbs[0]) printf("%-18s list of DBs: %s\n", "refused", why_dbs);
    }
    fflush(stdout);
    plcio_s7plus_client_free(c);
    /* nothing at all could be read: a failure */
    return why_state[0] && why_prot[0] && why_dbs[0] ? PLCIO_EXIT_FAILURE : PLCIO_EXIT_OK;
}
