/* plcio read / write with s7plus:// URLs: S7 addresses of DBs (standard
 * access), M, I and Q, read and written as raw bytes over S7CommPlus
 * (plcio/s7plus.h) and decoded like the classic S7 branch does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
