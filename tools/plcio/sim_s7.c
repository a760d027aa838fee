/* plcio sim s7: the built-in S7 CPU simulator on a TCP port.
 *
 *   plcio sim s7 [--listen HOST:PORT] [--db N:SIZE | --db N:LAYOUT_FILE]... [--layout UDT_FILE]...
 *                [--area M:SIZE]...
 *                [--pdu N] [--seconds S] [--max-connections N] [--threads N]
 *                [--idle-timeout MS] [--frame-timeout MS]
 *                [--password PW [--protection 2|3]] [--tags FILE] [--verbose]
 *
 * Default listen address 127.0.0.1:1102 (port 102 needs root); port 0 picks a
 * free port. When ready it prints "listening on HOST:PORT" and flushes.
 * Areas: M, I (or E), Q (or A) take a size in bytes; T and C a count of
 * timers / counters (2 bytes each). --db N:FILE takes the DB's size and start
 * values from a TIA Portal / STEP 7 source (UDTs it uses: --layout FILE), or
 * its bytes from a raw (.bin) or block (.blk, plcio upload) image.
 * Without --area: M 256 bytes, I and Q 1024, 256 timers and 256 counters.
 * Unless --db 1:... is given: DB1 of 100 bytes with the values README's
 * examples read.
 * A connection silent for --idle-timeout (default 60000 ms) or stuck in a
 * half frame for --frame-timeout (default 5000 ms) is closed (0 = never);
 * at --max-connections (default 256) a new client evicts the connection
 * that has been silent longest. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "commands.h"
#include "plcio/address.h"
#include "plcio/core.h"
#include "plcio/layout.h"
#include "plcio/s7_server.h"
#include "option_rows.h"
#include "sim.h"
#include "sim_churn.h"
#include "sim_s7_backed.h"
#include "sim_s7plus.h"

static const cli_opt sim_s7_table[] = {
    {"--listen", "HOST:PORT", "address to listen on (default 127.0.0.1:1102; port 0 picks a free one)", 0},
    {"--db", "N:SIZE|N:FILE",
     "data block N: SIZE zeroed bytes, or size and contents from FILE: a DB source (start values), a raw image "
     "(.bin, .img, .raw) or a block image as plcio upload writes it (.blk, .mc7)",
     CLI_OPT_REPEAT},
    {"--layout", "FILE", "UDT / FB sources the --db N:FILE sources use", CLI_OPT_REPEAT | CLI_OPT_FILE},
    {"--tags", "FILE",
     "PLC tags served by name over S7CommPlus: Name;Address;Data type lines (\"Start\";%I0.0;Bool) or TIA's export "
     "as CSV (default without --db: a small built-in table)",
     CLI_OPT_FILE},
    {"--area", "X:SIZE", "area M, I (E), Q (A) in bytes, T or C in timers/counters (default 256 each)", CLI_OPT_REPEAT},
    {"--pdu", "N", "largest PDU to negotiate, 240..960 (default 960)", 0},
    {"--seconds", "S", "stop after S seconds (default: until Ctrl-C)", 0},
    {"--max-connections", "N", "connections open at once (default 256)", 0},
    {"--threads", "N", "serving threads, 1..64 (default 1)", 0},
    {"--idle-timeout", "MS", "close a connection silent this long (default 60000, 0 = never)", 0},
    {"--frame-timeout", "MS", "close a connection stuck in a half frame this long (default 5000, 0 = never)", 0},
    {"--password", "PW", "protect the CPU with this password (8 characters at most; level 2 unless --protection)", 0},
    {"--protection", "1|2|3", "protection level while no password is given (needs --password)", 0},
    {"--verbose", NULL, "log every connection and request on stderr", 0},
    {"--s7plus-cert", "FILE", "S7CommPlus TLS certificate (PEM; default: a self-signed one made at start)",
     CLI_OPT_FILE},
    {"--s7plus-key", "FILE", "the key of --s7plus-cert (PEM)", CLI_OPT_FILE},
    {"--s7plus-cert-out", "FILE", "write the S7CommPlus certificate (PEM) here for clients to trust", CLI_OPT_FILE},
    {"--no-s7plus", NULL, "answer classic S7 only (no S7CommPlus on the port)", 0},
    {"--logo", NULL,
     "behave as a LOGO! 8 (0BA8): only DB1 (the V memory V0..V1469, zeroed, its address map I/Q/M/AI/AQ/AM/NI/"
     "NQ at V1024..), only the remote TSAP 02.00, no S7CommPlus; --logo=0ba7: a 0BA7 (V0..V983, map at V923..)",
     CLI_OPT_EQ_VALUE},
    OPT_ROW_CHURN,
    {"--backed", "AREA:START:SIZE=URL",
     "serve these bytes (AREA: DBn, M, I, Q) from the S7 device at URL; URL parameters remote=DB1:0, "
     "max-age=MS, write-through=1, serve-stale=1 (docs/s7-server.md \"Backed ranges\")",
     CLI_OPT_REPEAT},
    {"--s7plus-tls-only", NULL, "refuse S7CommPlus V1 sessions without TLS", 0},
    {NULL, NULL, NULL, 0},
};

const cli_spec sim_s7_spec = {
    "sim s7",
    "",
    "an S7 CPU (S7-300/400 style, S7comm) on a TCP port",
    "Without --area: M 256 bytes, I and Q 1024 bytes each, 256 timers and 256 counters. Peripheral\n"
    "addresses (PIW256, PQB300) read the inputs I and write the outputs Q at the same byte. Unless --db\n"
    "1:... says otherwise, DB1 has 100 bytes holding INT 1234 at byte 0, REAL 3.5 at byte 2 and the byte\n"
    "value i at byte i from 10 on (the values README's examples show). S7CommPlus (as TIA Portal speaks\n"
    "to an S7-1500) is answered on the same port over TLS with a certificate made at start (its SHA-256\n"
    "fingerprint is printed) unless --no-s7plus. --logo serves a LOGO! instead (docs/s7.md \"LOGO!\").",
    sim_s7_table,
    NULL,
    NULL,
    NULL,
};

#define MAX_AREAS 64

typedef struct sim_area {
    plcio_s7_server_area area;
    uint16_t number;
    size_t size;
    const char *layout_file; /* --db N:FILE: size and start values from a DB source, a raw
                              * image (.bin/.img/.raw) or a block image (.blk/.mc7) */
    bool sample;             /* the default DB1: README's example values */
    bool optimized;          /* an optimized DB: served by symbol over S7CommPlus only */
    char dbname[128];        /* the DB a source defines */
    uint8_t *image;          /* start values loaded before the server exists */
    const char *text;        /* the built-in optimized DBs' source */
} sim_area;

/* What a --db N:FILE file is, by its name. */
typedef enum { FILE_SOURCE, FILE_RAW, FILE_BLOCK } db_file_kind;

static db_file_kind file_kind(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot && (!strcmp(dot, ".bin") || !strcmp(dot, ".img") || !strcmp(dot, ".raw"))) return FILE_RAW;
    if (dot && (!strcmp(dot, ".blk") || !strcmp(dot, ".mc7"))) return FILE_BLOCK;
    return FILE_SOURCE;
}

/* A raw image (the DB's bytes) or a block image as plcio upload writes it
 * (header, then the DB's bytes: the MC7 length at offset 34, data from 36).
 * Returns the bytes (malloc'd; a->size set) or NULL after printing why. */
static uint8_t *load_image(sim_area *a)
{
    FILE *f = fopen(a->layout_file, "rb");
    if (!f) {
        cli_error(PLCIO_EXIT_USAGE, "--db %u:%s: %s", (unsigned)a->number, a->layout_file, strerror(errno));
        return NULL;
    }
    uint8_t *buf = malloc(65536 + 128);
    size_t len = buf ? fread(buf, 1, 65536 + 128, f) : 0;
    (void)fclose(f); /* read-only */
    if (!buf) {
        cli_out_of_memory();
        return NULL;
    }
    size_t off = 0, size = len;
    if (file_kind(a->layout_file) == FILE_BLOCK) {
        size = len >= 36 ? (size_t)(buf[34] << 8 | buf[35]) : 0;
        off = 36;
        if (len < 36 || buf[0] != 0x70 || buf[1] != 0x70 || buf[5] != 0x0A || off + size > len) {
            cli_error(PLCIO_EXIT_USAGE, "--db %u:%s: not a DB block image (as plcio upload writes it)",
                      (unsigned)a->number, a->layout_file);
            free(buf);
            return NULL;
        }
    }
    if (size == 0 || size > 65535) {
        cli_error(PLCIO_EXIT_USAGE, "--db %u:%s: %zu bytes; a DB has 1..65535", (unsigned)a->number, a->layout_file,
                  size);
        free(buf);
        return NULL;
    }
    memmove(buf, buf + off, size);
    a->size = size;
    return buf;
}

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v > max || s[0] == '-') return false;
    *out = v;
    return true;
}

static int parse_db(const char *arg, sim_area *a)
{
    const char *colon = strchr(arg, ':');
    unsigned long n, size;
    char num[16];
    if (!colon || (size_t)(colon - arg) >= sizeof num)
        return cli_error(PLCIO_EXIT_USAGE, "--db wants N:SIZE, got '%s'", arg);
    memcpy(num, arg, (size_t)(colon - arg));
    num[colon - arg] = '\0';
    if (!parse_uint(num, 65535, &n) || n == 0)
        return cli_error(PLCIO_EXIT_USAGE, "--db: bad DB number in '%s' (1..65535)", arg);
    a->area = PLCIO_S7_SERVER_AREA_DB;
    a->number = (uint16_t)n;
    a->layout_file = NULL;
    a->sample = false;
    if (colon[1] >= '0' && colon[1] <= '9') {
        if (!parse_uint(colon + 1, 65535, &size) || size == 0)
            return cli_error(PLCIO_EXIT_USAGE, "--db: '%s' is not a size of 1..65535 bytes", colon + 1);
        a->size = size;
    } else {
        if (!colon[1]) return cli_error(PLCIO_EXIT_USAGE, "--db wants N:SIZE or N:LAYOUT_FILE, got '%s'", arg);
        a->layout_file = colon + 1; /* loaded later, with the --layout files */
        a->size = 0;
    }
    return PLCIO_EXIT_OK;
}

static int parse_area(const char *arg, sim_area *a)
{
    const char *colon = strchr(arg, ':');
    unsigned long size;
    if (!colon || colon - arg != 1)
        return cli_error(PLCIO_EXIT_USAGE, "--area wants M:SIZE (M, I, Q, T, C), got '%s'", arg);
    unsigned long elem = 1;
    switch (arg[0]) {
    case 'M':
    case 'm': a->area = PLCIO_S7_SERVER_AREA_M; break;
    case 'I':
    case 'i':
    case 'E':
    case 'e': a->area = PLCIO_S7_SERVER_AREA_I; break;
    case 'Q':
    case 'q':
    case 'A':
    case 'a': a->area = PLCIO_S7_SERVER_AREA_Q; break;
    case 'T':
    case 't':
        a->area = PLCIO_S7_SERVER_AREA_T;
        elem = 2;
        break;
    case 'C':
    case 'c':
    case 'Z':
    case 'z':
        a->area = PLCIO_S7_SERVER_AREA_C;
        elem = 2;
        break;
    default: return cli_error(PLCIO_EXIT_USAGE, "--area: unknown area '%c' (M, I, Q, T, C)", arg[0]);
    }
    if (!parse_uint(colon + 1, 65535 / elem, &size) || size == 0)
        return cli_error(PLCIO_EXIT_USAGE, "--area: bad size '%s'", colon + 1);
    a->number = 0;
    a->size = size * elem;
    a->layout_file = NULL;
    a->sample = false;
    return PLCIO_EXIT_OK;
}

static int parse_listen(const char *arg, char *host, size_t cap, uint16_t *port)
{
    const char *colon = strrchr(arg, ':');
    unsigned long p;
    if (!colon || (size_t)(colon - arg) >= cap || !parse_uint(colon + 1, 65535, &p))
        return cli_error(PLCIO_EXIT_USAGE, "--listen wants HOST:PORT, got '%s'", arg);
    memcpy(host, arg, (size_t)(colon - arg));
    host[colon - arg] = '\0';
    *port = (uint16_t)p;
    return PLCIO_EXIT_OK;
}

/* The DB that a layout file defines: size and start values. UDT files given
 * with --layout are parsed along. Returns the image (malloc'd) or NULL after
 * printing the reason. */
static uint8_t *load_layout(sim_area *a, const char *const *extra, size_t n_extra)
{
    plcio_layout_set *set = NULL;
    plcio_layout_options lo = {.accept_optimized = true};
    (void)plcio_layout_set_new(&lo, &set, NULL);
    if (!set) return NULL;
    int rc = a->text ? plcio_layout_set_add_text(set, "built-in", a->text, strlen(a->text))
                     : plcio_layout_set_add_file(set, a->layout_file);
    for (size_t i = 0; !rc && i < n_extra; i++)
        rc = plcio_layout_set_add_file(set, extra[i]);
    if (!rc) rc = plcio_layout_set_resolve(set);
    uint8_t *image = NULL;
    if (rc) {
        const char *why = plcio_layout_set_last_error(set)->text;
        cli_error(PLCIO_EXIT_USAGE, "--db %u:%s: %s", (unsigned)a->number, a->layout_file,
                  why[0] ? why : plcio_strerror(rc));
    } else if (plcio_layout_set_count(set) == 0) {
        cli_error(PLCIO_EXIT_USAGE, "--db %u:%s: the file defines no data block", (unsigned)a->number, a->layout_file);
    } else {
        /* The DB numbered N if the source says so, else the first one. */
        const plcio_layout *l = plcio_layout_set_get(set, 0);
        for (size_t i = 0; i < plcio_layout_set_count(set); i++)
            if (plcio_layout_db_number(plcio_layout_set_get(set, i)) == a->number ||
                (a->dbname[0] && !strcmp(plcio_layout_name(plcio_layout_set_get(set, i)), a->dbname)))
                l = plcio_layout_set_get(set, i);
        a->optimized = plcio_layout_is_optimized(l);
        snprintf(a->dbname, sizeof a->dbname, "%s", plcio_layout_name(l));
        uint32_t size = plcio_layout_size(l);
        if (size == 0 || size > 65535) {
            cli_error(PLCIO_EXIT_USAGE, "--db %u:%s: DB size %u is not 1..65535", (unsigned)a->number, a->layout_file,
                      (unsigned)size);
        } else if ((image = calloc(1, size)) != NULL && plcio_layout_start_image(l, image, size) != PLCIO_OK) {
            free(image);
            image = NULL;
            cli_error(PLCIO_EXIT_FAILURE, "--db %u:%s: cannot build the start values", (unsigned)a->number,
                      a->layout_file);
        } else {
            a->size = size;
        }
    }
    plcio_layout_set_free(set);
    return image;
}

/* Is the area (for DBs: that DB number) given on the command line? */
static bool has_area(const sim_area *areas, size_t n, const sim_area *area)
{
    for (size_t i = 0; i < n; i++)
        if (areas[i].area == area->area && areas[i].number == area->number) return true;
    return false;
}

static void add_defaults(sim_area *areas, size_t *n)
{
    /* I and Q reach past 256 so that peripheral addresses (PIW256, PQW256)
     * work; DB1 holds the values README and docs/s7.md show */
    static const sim_area defaults[] = {
        {PLCIO_S7_SERVER_AREA_M, 0, 256, NULL, false, false, "", NULL, NULL},
        {PLCIO_S7_SERVER_AREA_I, 0, 1024, NULL, false, false, "", NULL, NULL},
        {PLCIO_S7_SERVER_AREA_Q, 0, 1024, NULL, false, false, "", NULL, NULL},
        {PLCIO_S7_SERVER_AREA_T, 0, 512, NULL, false, false, "", NULL, NULL},
        {PLCIO_S7_SERVER_AREA_C, 0, 512, NULL, false, false, "", NULL, NULL},
        {PLCIO_S7_SERVER_AREA_DB, 1, 100, NULL, true, false, "", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof defaults / sizeof *defaults; i++)
        if (!has_area(areas, *n, &defaults[i]) && *n < MAX_AREAS) areas[(*n)++] = defaults[i];
}

/* --churn: rewrite the data blocks (under their locks: the server may be
 * serving them from its own threads). */
static void churn_areas(plcio_s7_server *srv, const sim_area *areas, size_t n, sim_churn *churn)
{
    for (size_t i = 0; i < n; i++) {
        if (areas[i].area != PLCIO_S7_SERVER_AREA_DB) continue;
        size_t size = 0;
        if (plcio_s7_server_lock_area(srv, areas[i].area, areas[i].number) != PLCIO_OK) continue;
        uint8_t *data = plcio_s7_server_area_data(srv, areas[i].area, areas[i].number, &size);
        if (data) sim_churn_fill(churn, data, size);
        plcio_s7_server_unlock_area(srv, areas[i].area, areas[i].number);
    }
}

static int serve(plcio_s7_server *srv, const char *host, double seconds, bool threaded, const sim_area *areas,
                 size_t n_areas, sim_churn *churn)
{
    /* One serving thread: the server runs in this thread (run_once); more: in
     * its own threads while this one waits for the end. */
    int rc = threaded ? plcio_s7_server_start(srv) : plcio_s7_server_listen(srv);
    if (rc) return cli_error(PLCIO_EXIT_FAILURE, "cannot listen on %s: %s", host, plcio_strerror(rc));
    printf("listening on %s:%u\n", host, (unsigned)plcio_s7_server_port(srv));
    fflush(stdout);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    sim_churn_start(churn);
    while (!stop_requested) {
        int wait_ms = sim_churn_wait_ms(churn, 100);
        if (threaded) {
            struct timespec nap = {wait_ms / 1000, (long)(wait_ms % 1000) * 1000000L};
            nanosleep(&nap, NULL);
        } else if ((rc = plcio_s7_server_run_once(srv, wait_ms)) != PLCIO_OK) {
            return cli_error(PLCIO_EXIT_FAILURE, "server: %s", plcio_strerror(rc));
        }
        if (sim_churn_due(churn)) churn_areas(srv, areas, n_areas, churn);
        if (seconds > 0) {
            struct timespec t;
            clock_gettime(CLOCK_MONOTONIC, &t);
            double el = (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
            if (el >= seconds) break;
        }
    }
    return PLCIO_EXIT_OK;
}

/* An S7-1500-like pair of optimized DBs for S7CommPlus when no --db source
 * defines one: nested structs, a UDT, arrays (of structs, 2-D), strings. */
static const char builtin_scl[] = "TYPE \"Motor_T\"\n"
                                  "   STRUCT\n"
                                  "      Speed : Real := 1500.0;\n"
                                  "      Running : Bool := TRUE;\n"
                                  "      Current : Real := 3.25;\n"
                                  "      Faults : Array[0..3] of Bool;\n"
                                  "   END_STRUCT;\n"
                                  "END_TYPE\n"
                                  "DATA_BLOCK \"Line\"\n"
                                  "{ S7_Optimized_Access := 'TRUE' }\n"
                                  "   STRUCT\n"
                                  "      Motor : \"Motor_T\";\n"
                                  "      Counts : Array[0..9] of DInt;\n"
                                  "      Name : String[20] := 'Line 1';\n"
                                  "      Station : Array[1..3] of Struct\n"
                                  "         Temp : Real;\n"
                                  "         Ok : Bool;\n"
                                  "      END_STRUCT;\n"
                                  "      Label : WString[16] := WSTRING#'Linie';\n"
                                  "      Started : DTL;\n"
                                  "      Cycle : Time := T#500ms;\n"
                                  "      Grid : Array[1..2, 1..3] of Int;\n"
                                  "   END_STRUCT;\n"
                                  "BEGIN\n"
                                  "   Counts[2] := 42;\n"
                                  "   Station[2].Temp := 21.5;\n"
                                  "END_DATA_BLOCK\n"
                                  "DATA_BLOCK \"Tank\"\n"
                                  "{ S7_Optimized_Access := 'TRUE' }\n"
                                  "   STRUCT\n"
                                  "      Level : LReal := 12.5;\n"
                                  "      Valve : \"Motor_T\";\n"
                                  "      Alarm : Bool;\n"
                                  "      Count : UDInt := 7;\n"
                                  "      Mode : SInt := -3;\n"
                                  "   END_STRUCT;\n"
                                  "BEGIN\n"
                                  "END_DATA_BLOCK\n";

typedef struct sim_s7_opts {
    plcio_s7_server_options cfg;
    char host[64];
    sim_area areas[MAX_AREAS];
    size_t n_areas;
    const char *layouts[MAX_AREAS];
    size_t n_layouts;
    double seconds;
    bool verbose;
    bool logo;                   /* --logo */
    plcio_logo_model logo_model; /* --logo=0ba7|0ba8 */
    sim_s7plus plus;
    plcio_layout_set *symbols; /* the optimized DBs, for S7CommPlus */
    unsigned symbol_numbers[MAX_AREAS];
    const char *tags_file; /* --tags */
    plcio_s7plus_tag *tags;
    size_t ntags;
    sim_churn churn;
    const char *backed[MAX_AREAS]; /* --backed specs */
    size_t n_backed;
} sim_s7_opts;

/* --listen, --db, --area, --layout at argv[*i]; *taken when it was one of them. */
static int area_option(int argc, char **argv, int *i, sim_s7_opts *o, bool *taken)
{
    const char *v = NULL;
    bool bad = false;
    *taken = true;
    if (cli_option(argc, argv, i, "--listen", &v, &bad)) {
        if (bad || parse_listen(v, o->host, sizeof o->host, &o->cfg.port)) return PLCIO_EXIT_USAGE;
    } else if (cli_option(argc, argv, i, "--db", &v, &bad) || cli_option(argc, argv, i, "--area", &v, &bad)) {
        if (bad) return PLCIO_EXIT_USAGE;
        if (o->n_areas == MAX_AREAS) return cli_error(PLCIO_EXIT_USAGE, "at most %d areas", MAX_AREAS);
        bool db = strcmp(argv[*i - 1], "--db") == 0;
        if (db ? parse_db(v, &o->areas[o->n_areas]) : parse_area(v, &o->areas[o->n_areas])) return PLCIO_EXIT_USAGE;
        o->n_areas++;
    } else if (cli_option(argc, argv, i, "--tags", &v, &bad)) {
        if (bad) return PLCIO_EXIT_USAGE;
        if (o->tags_file) return cli_error(PLCIO_EXIT_USAGE, "--tags: one tag table");
        o->tags_file = v;
    } else if (cli_option(argc, argv, i, "--backed", &v, &bad)) {
        if (bad) return PLCIO_EXIT_USAGE;
        if (o->n_backed == MAX_AREAS) return cli_error(PLCIO_EXIT_USAGE, "at most %d --backed ranges", MAX_AREAS);
        o->backed[o->n_backed++] = v;
    } else if (cli_option(argc, argv, i, "--layout", &v, &bad)) {
        if (bad) return PLCIO_EXIT_USAGE;
        if (o->n_layouts == MAX_AREAS) return cli_error(PLCIO_EXIT_USAGE, "at most %d --layout files", MAX_AREAS);
        o->layouts[o->n_layouts++] = v;
    } else {
        *taken = false;
    }
    return PLCIO_EXIT_OK;
}

/* --idle-timeout / --frame-timeout MS (0 = off); *taken when it was one. */
static int timeout_option(int argc, char **argv, int *i, plcio_s7_server_options *cfg, bool *taken)
{
    const char *v = NULL;
    bool bad = false;
    unsigned long u = 0;
    bool idle = cli_option(argc, argv, i, "--idle-timeout", &v, &bad);
    if (!idle && !cli_option(argc, argv, i, "--frame-timeout", &v, &bad)) return PLCIO_EXIT_OK;
    *taken = true;
    const char *name = idle ? "--idle-timeout" : "--frame-timeout";
    if (bad) return PLCIO_EXIT_USAGE;
    if (!parse_uint(v, PLCIO_S7_SERVER_TIMEOUT_MAX_MS, &u))
        return cli_error(PLCIO_EXIT_USAGE, "%s wants milliseconds 0..%u (0 = never), got '%s'", name,
                         PLCIO_S7_SERVER_TIMEOUT_MAX_MS, v);
    if (idle)
        cfg->idle_timeout_ms = (uint32_t)u;
    else
        cfg->frame_timeout_ms = (uint32_t)u;
    return PLCIO_EXIT_OK;
}

/* --logo (a LOGO! 8, 0BA8) or --logo=0ba7|0ba8; true when arg is one, *st its verdict. */
static bool logo_option(const char *arg, sim_s7_opts *o, int *st)
{
    *st = PLCIO_EXIT_OK;
    if (strcmp(arg, "--logo") != 0 && strncmp(arg, "--logo=", 7) != 0) return false;
    o->logo = true;
    o->logo_model = PLCIO_LOGO_0BA8;
    if (arg[6] == '=' && plcio_logo_model_parse(arg + 7, &o->logo_model, NULL) != PLCIO_OK)
        *st = cli_error(PLCIO_EXIT_USAGE, "--logo=%s: expected --logo=0ba8 (the default, LOGO! 8) or --logo=0ba7",
                        arg + 7);
    return true;
}

/* The server's settings at argv[*i]; an unknown option is a usage error. */
static int server_option(int argc, char **argv, int *i, sim_s7_opts *o)
{
    const char *v = NULL;
    bool bad = false;
    unsigned long u = 0;
    plcio_s7_server_options *cfg = &o->cfg;
    bool taken = false;
    int st = timeout_option(argc, argv, i, cfg, &taken);
    if (st || taken || logo_option(argv[*i], o, &st)) return st;
    if (cli_option(argc, argv, i, "--pdu", &v, &bad)) {
        if (bad) return PLCIO_EXIT_USAGE;
        if (!parse_uint(v, 960, &u) || u < 240) return cli_error(PLCIO_EXIT_USAGE, "--pdu wants 240..960, got '%s'", v);
        cfg->pdu_size = (uint16_t)u;
    } else if (cli_option(argc, argv, i, "--max-connections", &v, &bad)) {
        if (bad) return PLCIO_EXIT_USAGE;
        if (!parse_uint(v, 100000, &u) || u == 0)
            return cli_error(PLCIO_EXIT_USAGE, "--max-connections wants 1..100000, got '%s'", v);
        cfg->max_connections = (unsigned)u;
    } else if (cli_option(argc, argv, i, "--threads", &v, &bad)) {
        if (bad) return PLCIO_EXIT_USAGE;
        if (!parse_uint(v, 64, &u) || u == 0) return cli_error(PLCIO_EXIT_USAGE, "--threads wants 1..64, got '%s'", v);
        cfg->threads = (unsigned)u;
    } else if (cli_option(argc, argv, i, "--seconds", &v, &bad)) {
        char *end;
        if (bad) return PLCIO_EXIT_USAGE;
        if ((o->seconds = strtod(v, &end)) <= 0 || *end)
            return cli_error(PLCIO_EXIT_USAGE, "--seconds wants a positive number, got '%s'", v);
    } else if (cli_option(argc, argv, i, "--password", &v, &bad)) {
        if (bad) return PLCIO_EXIT_USAGE;
        if (strlen(v) > 8) return cli_error(PLCIO_EXIT_USAGE, "--password: at most 8 characters");
        cfg->password = v;
        if (cfg->protection_level < 2) cfg->protection_level = 2;
    } else if (cli_option(argc, argv, i, "--protection", &v, &bad)) {
        if (bad) return PLCIO_EXIT_USAGE;
        if (!parse_uint(v, 3, &u) || u < 1) return cli_error(PLCIO_EXIT_USAGE, "--protection wants 1..3");
        cfg->protection_level = (uint8_t)u;
    } else if (cli_option(argc, argv, i, "--verbose", NULL, &bad)) {
        o->verbose = true;
    } else if (cli_option(argc, argv, i, "--churn", &v, &bad)) {
        if (bad || !sim_churn_parse(v, &o->churn)) return PLCIO_EXIT_USAGE;
    } else if ((st = sim_s7plus_option(argc, argv, i, &o->plus, &taken)) != PLCIO_EXIT_OK || taken) {
        return st;
    } else {
        return cli_error(PLCIO_EXIT_USAGE, "sim s7: unknown option '%s'", argv[*i]);
    }
    return PLCIO_EXIT_OK;
}

/* The default DB1 (no --db): INT 1234 at 0, REAL 3.5 at 2, byte i = i from
 * 10 on (README's and docs/s7.md's examples read these). */
static uint8_t *sample_db1(size_t size)
{
    uint8_t *db = calloc(1, size);
    if (!db || size < 100) return db;
    db[0] = 0x04; /* 1234 */
    db[1] = 0xD2;
    db[2] = 0x40; /* 3.5f: 0x40600000 */
    db[3] = 0x60;
    for (size_t i = 10; i < size; i++)
        db[i] = (uint8_t)i;
    return db;
}

/* --logo: a LOGO! answers connection requests for its server TSAP 02.00 only
 * (the TSAP LOGO!Soft configures and python-snap7's Logo calls). A CR for any
 * other TSAP is taken here and the connection closed, so that no classic S7
 * session (rack/slot TSAPs 01.xx, 03.xx) comes up. */
static int logo_refuse_token;
static void *logo_accept(void *ctx, const uint8_t *called_tsap, size_t tsap_len, unsigned client)
{
    (void)ctx;
    (void)client;
    if (tsap_len == 2 && called_tsap[0] == 0x02 && called_tsap[1] == 0x00) return NULL; /* classic S7 serves it */
    return &logo_refuse_token;
}
static int logo_feed(void *conn, const uint8_t *data, size_t len)
{
    (void)conn;
    (void)data;
    (void)len;
    return -1; /* close the connection */
}
static const uint8_t *logo_output(void *conn, size_t *len)
{
    (void)conn;
    *len = 0;
    return NULL;
}
static void logo_output_done(void *conn, size_t n)
{
    (void)conn;
    (void)n;
}
static void logo_close(void *conn) { (void)conn; }

static int logo_setup(sim_s7_opts *o)
{
    if (o->n_areas)
        return cli_error(PLCIO_EXIT_USAGE, "sim s7 --logo: a LOGO! has only its V memory (DB1); no --db or --area");
    o->plus.off = true;
    o->areas[o->n_areas++] =
        (sim_area){PLCIO_S7_SERVER_AREA_DB, 1, plcio_logo_vm_size(o->logo_model), NULL, false, false, "", NULL, NULL};
    o->cfg.handoff =
        (plcio_s7_server_handoff){logo_accept, logo_feed, logo_output, logo_output_done, logo_close, NULL, NULL, 0};
    return PLCIO_EXIT_OK;
}

/* Classic S7 refuses absolute access to an optimized DB, as a real CPU does
 * (0x05, "address out of range": what snap7 users report for optimized DBs). */
static uint8_t optimized_refusal(const sim_s7_opts *o, const plcio_s7_server_access *acc)
{
    if (acc->area != PLCIO_S7_SERVER_AREA_DB) return PLCIO_S7_SERVER_ITEM_OK;
    for (size_t i = 0; i < o->n_areas; i++)
        if (o->areas[i].optimized && o->areas[i].area == PLCIO_S7_SERVER_AREA_DB &&
            o->areas[i].number == acc->db_number)
            return PLCIO_S7_SERVER_ITEM_OUT_OF_RANGE;
    return PLCIO_S7_SERVER_ITEM_OK;
}
static uint8_t refuse_read(void *ctx, const plcio_s7_server_access *acc, uint8_t *mem, size_t mem_size)
{
    (void)mem;
    (void)mem_size;
    return optimized_refusal(ctx, acc);
}
static uint8_t refuse_write(void *ctx, const plcio_s7_server_access *acc, const uint8_t *data)
{
    (void)data;
    return optimized_refusal(ctx, acc);
}

/* Load the DB sources now; collect the optimized DBs (given, or the built-in
 * pair when none is and S7CommPlus is on) into one set for S7CommPlus. */
static int prepare_symbols(sim_s7_opts *o)
{
    bool any = false;
    for (size_t i = 0; i < o->n_areas; i++) {
        sim_area *a = &o->areas[i];
        if (!a->layout_file || file_kind(a->layout_file) != FILE_SOURCE) continue;
        a->image = load_layout(a, o->layouts, o->n_layouts);
        if (!a->image) return PLCIO_EXIT_USAGE;
        any = any || a->optimized;
    }
    bool user_dbs = false; /* the built-in pair only when no --db is given at all */
    for (size_t i = 0; i < o->n_areas; i++)
        user_dbs = user_dbs || (o->areas[i].area == PLCIO_S7_SERVER_AREA_DB && !o->areas[i].sample);
    if (!any && !user_dbs && !o->plus.off && !o->logo) {
        static const struct {
            unsigned number;
            const char *name;
        } builtin[] = {{10, "Line"}, {11, "Tank"}};
        for (size_t k = 0; k < 2 && o->n_areas < MAX_AREAS; k++) {
            sim_area b = {
                PLCIO_S7_SERVER_AREA_DB, (uint16_t)builtin[k].number, 0, NULL, false, false, "", NULL, builtin_scl};
            if (has_area(o->areas, o->n_areas, &b)) continue;
            snprintf(b.dbname, sizeof b.dbname, "%s", builtin[k].name);
            b.image = load_layout(&b, NULL, 0);
            if (!b.image) return PLCIO_EXIT_FAILURE;
            o->areas[o->n_areas++] = b;
            any = true;
        }
    }
    if (!any) return PLCIO_EXIT_OK;
    plcio_layout_options lo = {.accept_optimized = true};
    plcio_error err;
    if (plcio_layout_set_new(&lo, &o->symbols, &err)) return cli_out_of_memory();
    int rc = PLCIO_OK;
    bool text_added = false;
    for (size_t i = 0; i < o->n_areas && !rc; i++) {
        const sim_area *a = &o->areas[i];
        if (!a->optimized) continue;
        if (a->text && !text_added) {
            rc = plcio_layout_set_add_text(o->symbols, "built-in", a->text, strlen(a->text));
            text_added = true;
        } else if (!a->text) {
            rc = plcio_layout_set_add_file(o->symbols, a->layout_file);
        }
    }
    for (size_t i = 0; i < o->n_layouts && !rc; i++)
        rc = plcio_layout_set_add_file(o->symbols, o->layouts[i]);
    if (!rc) rc = plcio_layout_set_resolve(o->symbols);
    if (rc)
        return cli_error(PLCIO_EXIT_USAGE, "sim s7: the optimized DBs together: %s",
                         plcio_layout_set_last_error(o->symbols)->text);
    for (size_t k = 0; k < plcio_layout_set_count(o->symbols) && k < MAX_AREAS; k++) {
        const char *name = plcio_layout_name(plcio_layout_set_get(o->symbols, k));
        o->symbol_numbers[k] = 0;
        for (size_t i = 0; i < o->n_areas; i++)
            if (o->areas[i].optimized && !strcmp(o->areas[i].dbname, name)) o->symbol_numbers[k] = o->areas[i].number;
    }
    if (plcio_layout_set_count(o->symbols) > MAX_AREAS)
        return cli_error(PLCIO_EXIT_USAGE, "sim s7: more than %d data blocks in the sources", MAX_AREAS);
    o->plus.symbols = o->symbols;
    o->plus.symbol_numbers = o->symbol_numbers;
    o->cfg.callbacks.before_read = refuse_read;
    o->cfg.callbacks.before_write = refuse_write;
    o->cfg.callbacks.ctx = o;
    return PLCIO_EXIT_OK;
}

/* The built-in PLC tags (no --db, no --tags), on the default I, Q and M. */
static const char builtin_tags[] = "Name;Logical Address;Data Type\n"
                                   "Start;%I0.0;Bool\n"
                                   "Stop;%I0.1;Bool\n"
                                   "Level;%IW64;Int\n"
                                   "Motor_On;%Q4.1;Bool\n"
                                   "Valve_Pos;%QW10;Word\n"
                                   "Speed_SP;%MW10;Int\n"
                                   "Count;%MD20;DInt\n"
                                   "Flags;%MB30;Byte\n"
                                   "Temp;%MD100;Real\n";

static size_t area_size(const sim_area *areas, size_t n, plcio_s7_server_area which)
{
    for (size_t i = 0; i < n; i++)
        if (areas[i].area == which) return areas[i].size;
    return 0;
}

/* --tags FILE (or the built-in table when the built-in DBs are served):
 * parsed, and every tag inside its area. */
static int prepare_tags(sim_s7_opts *o)
{
    if (o->plus.off || o->logo) {
        if (o->tags_file) return cli_error(PLCIO_EXIT_USAGE, "--tags: PLC tags are served over S7CommPlus only");
        return PLCIO_EXIT_OK;
    }
    plcio_error err;
    memset(&err, 0, sizeof err);
    if (o->tags_file) {
        if (plcio_s7plus_tags_load(o->tags_file, &o->tags, &o->ntags, &err))
            return cli_error(PLCIO_EXIT_USAGE, "sim s7: --tags %s", err.text);
    } else {
        bool user_dbs = false;
        for (size_t i = 0; i < o->n_areas; i++)
            user_dbs =
                user_dbs || (o->areas[i].area == PLCIO_S7_SERVER_AREA_DB && !o->areas[i].sample && !o->areas[i].text);
        if (user_dbs) return PLCIO_EXIT_OK;
        if (plcio_s7plus_tags_parse(builtin_tags, strlen(builtin_tags), &o->tags, &o->ntags, &err))
            return cli_error(PLCIO_EXIT_FAILURE, "sim s7: built-in tags: %s", err.text);
    }
    static const struct {
        plcio_s7plus_area plus;
        plcio_s7_server_area s7;
        char letter;
    } areas[] = {{PLCIO_S7PLUS_AREA_I, PLCIO_S7_SERVER_AREA_I, 'I'},
                 {PLCIO_S7PLUS_AREA_Q, PLCIO_S7_SERVER_AREA_Q, 'Q'},
                 {PLCIO_S7PLUS_AREA_M, PLCIO_S7_SERVER_AREA_M, 'M'}};
    for (size_t k = 0; k < o->ntags; k++) {
        const plcio_s7plus_tag *t = &o->tags[k];
        for (size_t a = 0; a < 3; a++) {
            if (areas[a].plus != t->area) continue;
            size_t size = area_size(o->areas, o->n_areas, areas[a].s7);
            size_t end = t->start + plcio_type_size(t->sym.type, 0);
            if (end > size)
                return cli_error(PLCIO_EXIT_USAGE,
                                 "sim s7: --tags: tag \"%s\" at byte %u of %c is outside the area (%zu bytes; --area "
                                 "%c:%zu)",
                                 t->name, (unsigned)t->start, areas[a].letter, size, areas[a].letter, end);
        }
    }
    o->plus.tags = o->tags;
    o->plus.ntags = o->ntags;
    return PLCIO_EXIT_OK;
}

/* Every area, filled with its start values when it has some. */
static int add_areas(plcio_s7_server *srv, sim_s7_opts *o)
{
    for (size_t i = 0; i < o->n_areas; i++) {
        sim_area *a = &o->areas[i];
        uint8_t *image = a->image;
        a->image = NULL;
        if (image) {
        } else if (a->layout_file) {
            image = file_kind(a->layout_file) == FILE_SOURCE ? load_layout(a, o->layouts, o->n_layouts) : load_image(a);
            if (!image) return PLCIO_EXIT_USAGE;
        } else if (a->sample) {
            image = sample_db1(a->size);
            if (!image) return cli_out_of_memory();
        }
        int rc = plcio_s7_server_add_area(srv, a->area, a->number, a->size, NULL);
        if (!rc && image) memcpy(plcio_s7_server_area_data(srv, a->area, a->number, NULL), image, a->size);
        free(image);
        if (rc == PLCIO_EEXIST) return cli_error(PLCIO_EXIT_USAGE, "sim s7: area %d given twice", (int)i + 1);
        if (rc) return cli_error(PLCIO_EXIT_USAGE, "sim s7: area %d: %s", (int)i + 1, plcio_strerror(rc));
    }
    return PLCIO_EXIT_OK;
}

int sim_s7_main(int argc, char **argv)
{
    sim_s7_opts *o = calloc(1, sizeof *o);
    if (!o) return cli_out_of_memory();
    plcio_s7_server_options_init(&o->cfg);
    snprintf(o->host, sizeof o->host, "127.0.0.1");
    o->cfg.port = 1102;
    int st = PLCIO_EXIT_OK;
    for (int i = 1; i < argc && st == PLCIO_EXIT_OK; i++) {
        bool taken = false;
        st = area_option(argc, argv, &i, o, &taken);
        if (st == PLCIO_EXIT_OK && !taken) st = server_option(argc, argv, &i, o);
    }
    if (st == PLCIO_EXIT_OK && o->cfg.protection_level > 1 && !o->cfg.password)
        st = cli_error(PLCIO_EXIT_USAGE, "--protection needs --password (the level applies until it is given)");
    if (st == PLCIO_EXIT_OK && o->logo) st = logo_setup(o);
    plcio_s7_server *srv = NULL;
    if (st == PLCIO_EXIT_OK) {
        if (!o->logo) add_defaults(o->areas, &o->n_areas);
        st = prepare_symbols(o);
        if (st == PLCIO_EXIT_OK) st = prepare_tags(o);
        o->cfg.host = o->host;
        if (o->verbose) {
            o->cfg.logger.fn = plcio_log_to_stream;
            o->cfg.logger.level = PLCIO_LOG_DEBUG;
        }
        if (st == PLCIO_EXIT_OK) st = sim_s7plus_attach(&o->plus, &o->cfg, o->host);
        int rc = st ? PLCIO_OK : plcio_s7_server_new(&o->cfg, &srv, NULL);
        if (rc) st = cli_error(PLCIO_EXIT_USAGE, "sim s7: %s", plcio_strerror(rc));
        o->plus.s7 = srv;
    }
    if (st == PLCIO_EXIT_OK) st = add_areas(srv, o);
    if (st == PLCIO_EXIT_OK && o->n_backed && o->cfg.threads > 1)
        st = cli_error(PLCIO_EXIT_USAGE, "--backed serves on one thread: drop --threads");
    for (size_t i = 0; i < o->n_backed && st == PLCIO_EXIT_OK; i++)
        st = sim_s7_back_range(srv, o->backed[i]);
    if (st == PLCIO_EXIT_OK) {
        /* signal() fails only for an invalid signal number */
        (void)signal(SIGINT, on_signal);
        (void)signal(SIGTERM, on_signal);
        (void)signal(SIGPIPE, SIG_IGN);
        st = serve(srv, o->host, o->seconds, o->cfg.threads > 1, o->areas, o->n_areas, &o->churn);
    }
    plcio_s7_server_free(srv);
    sim_s7plus_free(&o->plus);
    plcio_layout_set_free(o->symbols);
    plcio_s7plus_tags_free(o->tags);
    for (size_t i = 0; i < o->n_areas; i++)
        free(o->areas[i].image);
    free(o);
    return st;
}
