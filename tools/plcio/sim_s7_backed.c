/* plcio sim s7 --backed AREA:START:SIZE=URL[?max-age=MS&write-through=1&serve-stale=1&remote=AREA:START&...]:
 * a range of the simulator served from a remote S7 device
 * (plcio_s7_server_back_range). AREA is DBn, M, I (E) or Q (A); remote=
 * names where the bytes live on the remote (default: the same place); the
 * other query parameters are the s7:// client URL's own (timeout=, rack=, ...). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "plcio/s7_server.h"
#include "sim_backed.h"
#include "sim_s7_backed.h"

static bool parse_num(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    if (!s || !*s || *s == '-' || *s == '+') return false;
    unsigned long v = strtoul(s, &end, 10);
    if (*end || v > max) return false;
    *out = v;
    return true;
}

/* "DB10", "M", "I"/"E", "Q"/"A" into area and DB number. */
static bool parse_area(const char *s, plcio_s7_server_area *area, uint16_t *db)
{
    unsigned long n;
    *db = 0;
    if ((s[0] == 'D' || s[0] == 'd') && (s[1] == 'B' || s[1] == 'b')) {
        if (!parse_num(s + 2, 65535, &n) || n == 0) return false;
        *area = PLCIO_S7_SERVER_AREA_DB;
        *db = (uint16_t)n;
        return true;
    }
    if (s[0] == '\0' || s[1] != '\0') return false;
    switch (s[0]) {
    case 'M':
    case 'm': *area = PLCIO_S7_SERVER_AREA_M; return true;
    case 'I':
    case 'i':
    case 'E':
    case 'e': *area = PLCIO_S7_SERVER_AREA_I; return true;
    case 'Q':
    case 'q':
    case 'A':
    case 'a': *area = PLCIO_S7_SERVER_AREA_Q; return true;
    default: return false;
    }
}

/* One query parameter of --backed that is ours, not the client URL's. */
static int backed_param(void *ctx, const char *spec, char *kv, char *val)
{
    plcio_s7_backing_options *bo = ctx;
    unsigned long n;
    if (!strncmp(kv, "max-age=", 8)) {
        if (!parse_num(val, PLCIO_S7_SERVER_TIMEOUT_MAX_MS, &n))
            return cli_error(PLCIO_EXIT_USAGE, "--backed %s: max-age '%s' is not milliseconds 0..86400000", spec, val);
        bo->max_age_ms = (uint32_t)n;
    } else if (!strncmp(kv, "write-through=", 14) || !strncmp(kv, "serve-stale=", 12)) {
        bool wt = kv[0] == 'w';
        if (strcmp(val, "0") != 0 && strcmp(val, "1") != 0)
            return cli_error(PLCIO_EXIT_USAGE, "--backed %s: %s '%s' is not 0 or 1", spec,
                             wt ? "write-through" : "serve-stale", val);
        if (wt)
            bo->write_through = val[0] == '1';
        else
            bo->serve_stale = val[0] == '1';
    } else { /* remote=AREA:START */
        char *colon = strchr(val, ':');
        plcio_s7_server_area ra;
        uint16_t rdb;
        if (colon) *colon = '\0';
        if (!colon || !parse_area(val, &ra, &rdb) || !parse_num(colon + 1, 65534, &n))
            return cli_error(PLCIO_EXIT_USAGE, "--backed %s: remote= wants AREA:START (DB1:0, M:10)", spec);
        bo->remote_area = (int)ra;
        bo->remote_db = rdb;
        bo->remote_start = (int64_t)n;
    }
    return PLCIO_EXIT_OK;
}

int sim_s7_back_range(plcio_s7_server *srv, const char *spec)
{
    static const char *const ours[] = {"max-age=", "write-through=", "serve-stale=", "remote=", NULL};
    sim_backed_spec b;
    int st = sim_backed_split(spec, "AREA:START:SIZE", &b);
    if (st) return st;
    plcio_s7_server_area area;
    uint16_t db;
    unsigned long start, size;
    if (!parse_area(b.head, &area, &db))
        return cli_error(PLCIO_EXIT_USAGE, "--backed %s: area '%s' is not DBn, M, I or Q", spec, b.head);
    if (!parse_num(b.start, 65534, &start) || !parse_num(b.count, 65535, &size) || size == 0 || start + size > 65535)
        return cli_error(PLCIO_EXIT_USAGE, "--backed %s: START:SIZE must be bytes within 0..65534, SIZE >= 1", spec);
    /* our parameters out of the query, the client's stay */
    plcio_s7_backing_options bo;
    plcio_s7_backing_options_init(&bo);
    if ((st = sim_backed_query(spec, ours, backed_param, &bo, &b))) return st;
    plcio_error err = {0};
    int rc = plcio_s7_server_back_range(srv, area, db, (uint32_t)start, (uint32_t)size, b.url, &bo, &err);
    if (rc != PLCIO_OK) return cli_error(PLCIO_EXIT_USAGE, "--backed %s: %s", spec, err.text);
    return PLCIO_EXIT_OK;
}
