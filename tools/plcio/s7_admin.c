/* The S7 administration commands: plcio control, clock, szl, upload,
 * download, delete (s7:// URLs). The cmd_*.c files hold their option tables
 * and dispatch here. Public API only. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "plcio/plcio.h"
#include "s7_cmds.h"

#define SZL_CAP   65536
#define BLOCK_CAP ((size_t)1024 * 1024)

/* Take `name` (and its value) out of a normalized argv: the remaining
 * arguments go to s7_conn_args. Returns true if it was there. */
static bool take_option(int *argc, char **argv, const char *name, bool has_value, const char **value)
{
    bool found = false;
    for (int i = 1; i < *argc;) {
        if (strcmp(argv[i], name) != 0) {
            i++;
            continue;
        }
        int width = has_value && i + 1 < *argc ? 2 : 1;
        if (value) *value = width == 2 ? argv[i + 1] : NULL;
        memmove(argv + i, argv + i + width, (size_t)(*argc - i - width + 1) * sizeof *argv);
        *argc -= width;
        found = true;
    }
    return found;
}

static int library_error(plcio_s7_client *c, const char *what)
{
    int rc = cli_error(PLCIO_EXIT_FAILURE, "%s: %s", what, plcio_s7_client_last_error(c)->text);
    plcio_s7_client_free(c);
    return rc;
}

/* ---- control ---- */

static const struct {
    const char *action;
    int (*fn)(plcio_s7_client *c);
} actions[] = {
    {"stop", plcio_s7_client_plc_stop},
    {"hot-start", plcio_s7_client_plc_hot_start},
    {"cold-start", plcio_s7_client_plc_cold_start},
    {"compress", plcio_s7_client_compress},
    {"copy-ram-to-rom", plcio_s7_client_copy_ram_to_rom},
};

int s7_cli_control(int argc, char **argv)
{
    s7_conn conn;
    const char *rest[1];
    size_t n = 0;
    int rc = s7_conn_args(argc, argv, &conn, NULL, rest, 1, &n);
    if (rc) return rc;
    if (n != 1)
        return cli_error(PLCIO_EXIT_USAGE, "control: which action? (stop, hot-start, cold-start, compress, "
                                           "copy-ram-to-rom)");
    for (size_t k = 0; k < sizeof actions / sizeof actions[0]; k++) {
        if (strcmp(rest[0], actions[k].action) != 0) continue;
        plcio_s7_client *c = NULL;
        if ((rc = s7_open_client(&conn, false, &c)) != PLCIO_EXIT_OK) return rc;
        if (actions[k].fn(c) != PLCIO_OK) return library_error(c, rest[0]);
        int state = 0;
        if (plcio_s7_client_get_cpu_state(c, &state) == PLCIO_OK)
            printf("%s: done; CPU state %s\n", rest[0], state == 0x08 ? "RUN" : state == 0x04 ? "STOP" : "unknown");
        else
            printf("%s: done\n", rest[0]);
        plcio_s7_client_free(c);
        return PLCIO_EXIT_OK;
    }
    return cli_error(PLCIO_EXIT_USAGE,
                     "control: unknown action '%s' (stop, hot-start, cold-start, compress, copy-ram-to-rom)", rest[0]);
}

/* ---- clock ---- */

static void print_clock(const plcio_s7_clock *t)
{
    printf("%04d-%02d-%02dT%02d:%02d:%02d.%03d\n", t->year, t->month, t->day, t->hour, t->minute, t->second,
           t->millisecond);
}

/* Exactly n decimal digits at *p into *out; *p advances past them. */
static bool digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int k = 0; k < n; k++, (*p)++) {
        if (**p < '0' || **p > '9') return false;
        v = v * 10 + (**p - '0');
    }
    *out = v;
    return true;
}

/* "now" (this computer's local time) or ISO 8601 "YYYY-MM-DDTHH:MM:SS[.mmm]"
 * (a space for the T works too; no zone: the PLC keeps local time). */
static int parse_clock(const char *text, plcio_s7_clock *t)
{
    memset(t, 0, sizeof *t);
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!strcmp(text, "now")) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        if (!localtime_r(&ts.tv_sec, &tm)) return cli_error(PLCIO_EXIT_FAILURE, "clock: no local time");
        t->millisecond = (int)(ts.tv_nsec / 1000000L);
    } else {
        /* YYYY-MM-DD, 'T' or ' ', HH:MM:SS, optionally .mmm: fixed widths */
        const char *p = text;
        int ms = 0;
        bool ok = digits(&p, 4, &tm.tm_year) && *p++ == '-' && digits(&p, 2, &tm.tm_mon) && *p++ == '-' &&
                  digits(&p, 2, &tm.tm_mday) && (*p == 'T' || *p == ' ');
        if (ok) {
            p++;
            ok = digits(&p, 2, &tm.tm_hour) && *p++ == ':' && digits(&p, 2, &tm.tm_min) && *p++ == ':' &&
                 digits(&p, 2, &tm.tm_sec);
        }
        if (ok && *p == '.') {
            p++;
            ok = digits(&p, 3, &ms);
        }
        if (!ok || *p || tm.tm_year < 1990 || tm.tm_year > 2089 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
            tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 59)
            return cli_error(PLCIO_EXIT_USAGE, "clock --set: 'now' or YYYY-MM-DDTHH:MM:SS[.mmm] (1990..2089), not '%s'",
                             text);
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        tm.tm_isdst = -1;
        struct tm check = tm;
        if (timegm(&check) == (time_t)-1 || check.tm_mday != tm.tm_mday)
            return cli_error(PLCIO_EXIT_USAGE, "clock --set: '%s' is not a date that exists", text);
        tm.tm_wday = check.tm_wday;
        t->millisecond = ms;
    }
    t->year = tm.tm_year + 1900;
    t->month = tm.tm_mon + 1;
    t->day = tm.tm_mday;
    t->hour = tm.tm_hour;
    t->minute = tm.tm_min;
    t->second = tm.tm_sec;
    t->weekday = tm.tm_wday + 1;
    return PLCIO_EXIT_OK;
}

int s7_cli_clock(int argc, char **argv)
{
    const char *set = NULL;
    bool setting = take_option(&argc, argv, "--set", true, &set);
    s7_conn conn;
    int rc = s7_conn_args(argc, argv, &conn, NULL, NULL, 0, NULL);
    plcio_s7_clock t;
    if (!rc && setting) rc = parse_clock(set, &t);
    if (rc) return rc;
    plcio_s7_client *c = NULL;
    if ((rc = s7_open_client(&conn, false, &c)) != PLCIO_EXIT_OK) return rc;
    if (setting && plcio_s7_client_set_clock(c, &t) != PLCIO_OK) return library_error(c, "clock --set");
    /* after a set: read back what the PLC keeps now */
    if (plcio_s7_client_get_clock(c, &t) != PLCIO_OK) return library_error(c, "clock");
    print_clock(&t);
    plcio_s7_client_free(c);
    return PLCIO_EXIT_OK;
}

/* ---- szl ---- */

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static void print_chars(FILE *f, const uint8_t *p, size_t n, bool json)
{
    uint8_t text[64]; /* printable ASCII only: the bytes print as they are */
    size_t k = 0;
    for (; k < n && k + 1 < sizeof text && p[k]; k++)
        text[k] = p[k] >= 0x20 && p[k] < 0x7f ? p[k] : (uint8_t)'.';
    while (k && text[k - 1] == ' ')
        k--;
    text[k] = '\0';
    if (json)
        cli_json_string(f, (const char *)text);
    else
        fputs((const char *)text, f);
}

static void print_hex(FILE *f, const uint8_t *p, size_t n)
{
    for (size_t k = 0; k < n; k++)
        fprintf(f, "%02x", p[k]);
}

/* One record: decoded for the lists plcio knows, hex otherwise. */
static void szl_record(uint16_t id, const uint8_t *r, size_t len, bool json)
{
    uint16_t list = id & 0x00FF;
    if (json) fputc('{', stdout);
    if ((list == 0x1C) && len >= 34) {
        printf(json ? "\"index\": %u, \"text\": " : "  index %-3u  ", be16(r));
        print_chars(stdout, r + 2, 32, json);
    } else if (list == 0x11 && len >= 28) {
        printf(json ? "\"index\": %u, \"order_code\": " : "  index %-3u  ", be16(r));
        print_chars(stdout, r + 2, 20, json);
        printf(json ? ", \"version\": \"%u.%u\"" : "  version %u.%u", r[26], r[27]);
    } else if ((id == 0x0000 || list == 0x00) && len == 2) {
        printf(json ? "\"id\": \"0x%04X\"" : "  0x%04X", be16(r));
    } else if (list == 0x24 && len >= 4) {
        int mode = r[3];
        printf(json ? "\"state\": \"%s\", \"hex\": \"" : "  state %s  ", mode == 0x08   ? "RUN"
                                                                         : mode == 0x04 ? "STOP"
                                                                         : mode == 0x03 ? "STOP"
                                                                                        : "unknown");
        print_hex(stdout, r, len);
        if (json) fputc('"', stdout);
    } else {
        fputs(json ? "\"hex\": \"" : "  ", stdout);
        print_hex(stdout, r, len);
        if (json) fputc('"', stdout);
    }
    fputs(json ? "}" : "\n", stdout);
}

static int parse_szl_id(const char *text, uint16_t *id, uint16_t *index)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(text, &end, 16);
    unsigned long ix = 0;
    if (*end == ':') {
        char *end2;
        ix = strtoul(end + 1, &end2, 16);
        if (end2 == end + 1 || *end2)
            end = NULL;
        else
            end = end2;
    }
    if (errno || !end || end == text || *end || v > 0xFFFF || ix > 0xFFFF || text[0] == '-')
        return cli_error(PLCIO_EXIT_USAGE, "szl: ID[:INDEX] in hex (0x0011, 0x0232:4), not '%s'", text);
    *id = (uint16_t)v;
    *index = (uint16_t)ix;
    return PLCIO_EXIT_OK;
}

int s7_cli_szl(int argc, char **argv)
{
    bool list = take_option(&argc, argv, "--list", false, NULL);
    s7_conn conn;
    bool json;
    const char *rest[1];
    size_t n = 0;
    int rc = s7_conn_args(argc, argv, &conn, &json, rest, 1, &n);
    if (rc) return rc;
    if (list == (n == 1))
        return cli_error(PLCIO_EXIT_USAGE, "szl: give either ID[:INDEX] or --list (plcio szl --help)");
    uint16_t id = 0, index = 0;
    if (n && (rc = parse_szl_id(rest[0], &id, &index)) != PLCIO_EXIT_OK) return rc;
    uint8_t *buf = malloc(SZL_CAP);
    if (!buf) return cli_out_of_memory();
    plcio_s7_client *c = NULL;
    size_t len = 0;
    rc = s7_open_client(&conn, false, &c);
    if (!rc && plcio_s7_client_read_szl(c, id, index, buf, SZL_CAP, &len) != PLCIO_OK) {
        rc = cli_error(PLCIO_EXIT_FAILURE, "szl 0x%04X:%u: %s", id, index, plcio_s7_client_last_error(c)->text);
    } else if (!rc && len < 8) {
        rc = cli_error(PLCIO_EXIT_FAILURE, "szl 0x%04X: the answer has no list header (%zu bytes)", id, len);
    }
    if (!rc) {
        uint16_t rec_len = be16(buf + 4), count = be16(buf + 6);
        size_t have = rec_len ? (len - 8) / rec_len : 0;
        if (have < count) count = (uint16_t)have;
        if (json)
            printf("{\"id\": \"0x%04X\", \"index\": \"0x%04X\", \"record_length\": %u, \"records\": [", be16(buf),
                   be16(buf + 2), rec_len);
        else if (!list)
            printf("SZL 0x%04X index 0x%04X: %u records of %u bytes\n", be16(buf), be16(buf + 2), count, rec_len);
        for (size_t k = 0; k < count; k++) {
            if (json && k) fputs(", ", stdout);
            szl_record(id, buf + 8 + k * rec_len, rec_len, json);
        }
        if (json) fputs("]}\n", stdout);
    }
    free(buf);
    plcio_s7_client_free(c);
    return rc;
}

/* ---- upload / download / delete ---- */

static const struct {
    const char *name;
    uint8_t code; /* the block header's type byte */
} block_types[] = {
    {"OB", 0x08}, {"DB", 0x0A}, {"SDB", 0x0B}, {"FC", 0x0C}, {"SFC", 0x0D}, {"FB", 0x0E}, {"SFB", 0x0F},
};

/* "DB10", "FC1", "OB1" (case-insensitive) to type and number. */
static int parse_block(const char *text, const char **type, unsigned *number)
{
    for (size_t k = sizeof block_types / sizeof block_types[0]; k-- > 0;) {
        size_t n = strlen(block_types[k].name);
        if (strncasecmp(text, block_types[k].name, n) != 0) continue;
        char *end;
        errno = 0;
        unsigned long v = strtoul(text + n, &end, 10);
        if (errno || end == text + n || *end || v > 65535 || text[n] == '-' || text[n] == '+') break;
        *type = block_types[k].name;
        *number = (unsigned)v;
        return PLCIO_EXIT_OK;
    }
    return cli_error(PLCIO_EXIT_USAGE, "'%s' is not a block: OB, FB, FC, DB, SDB, SFC or SFB and a number (DB10)",
                     text);
}

int s7_cli_upload(int argc, char **argv)
{
    s7_conn conn;
    const char *rest[2], *type = NULL;
    size_t n = 0;
    unsigned number = 0;
    int rc = s7_conn_args(argc, argv, &conn, NULL, rest, 2, &n);
    if (!rc && n < 1) rc = cli_error(PLCIO_EXIT_USAGE, "upload: which block? (plcio upload URL DB10 [FILE])");
    if (!rc) rc = parse_block(rest[0], &type, &number);
    const char *file = n == 2 ? rest[1] : NULL;
    if (!rc && (!file || !strcmp(file, "-")) && isatty(STDOUT_FILENO))
        rc = cli_error(PLCIO_EXIT_USAGE, "upload: the block is binary; give a FILE (or redirect stdout)");
    if (rc) return rc;
    uint8_t *buf = malloc(BLOCK_CAP);
    if (!buf) return cli_out_of_memory();
    plcio_s7_client *c = NULL;
    size_t len = 0;
    rc = s7_open_client(&conn, false, &c);
    if (!rc && plcio_s7_client_upload(c, type, number, buf, BLOCK_CAP, &len) != PLCIO_OK)
        rc = cli_error(PLCIO_EXIT_FAILURE, "%s", plcio_s7_client_last_error(c)->text);
    plcio_s7_client_free(c);
    if (!rc) {
        FILE *f = file && strcmp(file, "-") != 0 ? fopen(file, "wb") : stdout;
        if (!f) {
            rc = cli_error(PLCIO_EXIT_FAILURE, "upload: cannot write %s: %s", file, strerror(errno));
        } else {
            bool ok = fwrite(buf, 1, len, f) == len;
            ok = (f == stdout ? fflush(f) == 0 : fclose(f) == 0) && ok;
            if (!ok)
                rc = cli_error(PLCIO_EXIT_FAILURE, "upload: cannot write %s", file ? file : "stdout");
            else if (f != stdout)
                fprintf(stderr, "plcio: %s: %zu bytes written to %s\n", rest[0], len, file);
        }
    }
    free(buf);
    return rc;
}

int s7_cli_download(int argc, char **argv)
{
    const char *as = NULL;
    bool renamed = take_option(&argc, argv, "--block", true, &as);
    s7_conn conn;
    const char *rest[1];
    size_t n = 0;
    int rc = s7_conn_args(argc, argv, &conn, NULL, rest, 1, &n);
    if (!rc && n != 1) rc = cli_error(PLCIO_EXIT_USAGE, "download: which file? (plcio download URL FILE)");
    if (rc) return rc;
    FILE *f = fopen(rest[0], "rb");
    if (!f) return cli_error(PLCIO_EXIT_FAILURE, "download: cannot read %s: %s", rest[0], strerror(errno));
    uint8_t *buf = malloc(BLOCK_CAP + 1);
    size_t len = buf ? fread(buf, 1, BLOCK_CAP + 1, f) : 0;
    (void)fclose(f); /* read-only: nothing to lose */
    if (!buf) return cli_out_of_memory();
    /* the block header as an upload gives it (load-memory image): "pp",
     * type at 5, number at 6, load length at 8, MC7 length at 34 */
    const char *type = NULL;
    unsigned number = 0;
    size_t mc7_len = 0;
    if (len > BLOCK_CAP || len < 36 + 36 || be16(buf) != 0x7070) {
        rc = cli_error(PLCIO_EXIT_USAGE, "download: %s is not an S7 block image (as plcio upload writes it)", rest[0]);
    } else {
        for (size_t k = 0; k < sizeof block_types / sizeof block_types[0]; k++)
            if (block_types[k].code == buf[5]) type = block_types[k].name;
        number = be16(buf + 6);
        mc7_len = be16(buf + 34);
        uint32_t load = (uint32_t)buf[8] << 24 | (uint32_t)buf[9] << 16 | (uint32_t)buf[10] << 8 | buf[11];
        if (!type)
            rc = cli_error(PLCIO_EXIT_USAGE, "download: %s: unknown block type 0x%02X", rest[0], buf[5]);
        else if (load != len)
            rc = cli_error(PLCIO_EXIT_USAGE, "download: %s: the header says %u bytes, the file has %zu", rest[0],
                           (unsigned)load, len);
    }
    if (!rc && renamed && as) {
        const char *t2 = "";
        rc = parse_block(as, &t2, &number);
        if (!rc && strcmp(t2, type ? type : "") != 0)
            rc = cli_error(PLCIO_EXIT_USAGE, "download --block %s: the file holds a %s", as, type ? type : "?");
        if (!rc) {
            buf[6] = (uint8_t)(number >> 8);
            buf[7] = (uint8_t)number;
        }
    }
    plcio_s7_client *c = NULL;
    if (!rc) rc = s7_open_client(&conn, false, &c);
    if (!rc && plcio_s7_client_download(c, type, number, buf, len, mc7_len) != PLCIO_OK)
        rc = cli_error(PLCIO_EXIT_FAILURE, "%s", plcio_s7_client_last_error(c)->text);
    else if (!rc)
        printf("download %s%u: %zu bytes\n", type, number, len);
    plcio_s7_client_free(c);
    free(buf);
    return rc;
}

int s7_cli_delete(int argc, char **argv)
{
    s7_conn conn;
    const char *rest[1], *type = NULL;
    size_t n = 0;
    unsigned number = 0;
    int rc = s7_conn_args(argc, argv, &conn, NULL, rest, 1, &n);
    if (!rc && n != 1) rc = cli_error(PLCIO_EXIT_USAGE, "delete: which block? (plcio delete URL DB10)");
    if (!rc) rc = parse_block(rest[0], &type, &number);
    if (rc) return rc;
    plcio_s7_client *c = NULL;
    if ((rc = s7_open_client(&conn, false, &c)) != PLCIO_EXIT_OK) return rc;
    if (plcio_s7_client_delete_block(c, type, number) != PLCIO_OK) {
        rc = cli_error(PLCIO_EXIT_FAILURE, "%s", plcio_s7_client_last_error(c)->text);
        plcio_s7_client_free(c);
        return rc;
    }
    printf("delete %s%u: done\n", type, number);
    plcio_s7_client_free(c);
    return PLCIO_EXIT_OK;
}
