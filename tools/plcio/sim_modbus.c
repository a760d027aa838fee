/* plcio sim modbus: a Modbus server with in-memory data banks.
 *
 *   plcio sim modbus [--tcp HOST:PORT]... [--udp HOST:PORT]... [--rtu DEV]... [--ascii DEV]...
 *                    [--baud N] [--parity N|E|O] [--data-bits 7|8] [--stop-bits 1|2]
 *                    [--unit N]... [--size N] [--files N] [--seconds S] [--trace]
 *                    [--max-connections N] [--idle-timeout MS] [--frame-timeout MS]
 *                    [--tls HOST:PORT --ca FILE --cert FILE --key FILE [--tls-write-role ROLE]]
 *
 * Without a link option it listens on TCP 127.0.0.1:1502. Port 0 picks a free
 * port. Without --unit it answers every unit id (one shared bank). For every
 * link it prints "listening on HOST:PORT" (serial: "listening on DEV") and
 * flushes when ready. --trace dumps every frame on stderr. A TCP connection
 * silent for --idle-timeout (default 60000 ms) or stuck in a half frame for
 * --frame-timeout (default 5000 ms) is closed (0 = never); at
 * --max-connections (default 512) a new client evicts the connection silent
 * longest. */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "plcio/core.h"
#include "plcio/address.h"
#include "plcio/bytes.h"
#include "plcio/modbus.h"
#include "plcio/value.h"
#include "option_rows.h"
#include "sim.h"
#include "sim_backed.h"
#include "sim_churn.h"

static const cli_opt sim_modbus_table[] = {
    {"--listen", "HOST:PORT", "Modbus TCP on this address (default 127.0.0.1:1502; port 0 picks a free one)",
     CLI_OPT_REPEAT},
    {"--udp", "HOST:PORT", "Modbus UDP on this address", CLI_OPT_REPEAT},
    {"--tls", "HOST:PORT",
     "Modbus/TCP Security (TLS, usually port 802) on this address; needs --ca, --cert, --key; clients must present a "
     "certificate signed by --ca",
     CLI_OPT_REPEAT},
    {"--ca", "FILE", "TLS: PEM CA certificate(s) that sign the clients' certificates", CLI_OPT_FILE},
    {"--cert", "FILE", "TLS: PEM certificate of this server", CLI_OPT_FILE},
    {"--key", "FILE", "TLS: PEM private key of this server", CLI_OPT_FILE},
    {"--tls-write-role", "ROLE",
     "serve writes (FC 5, 6, 15, 16, 21, 22, 23) only to clients whose certificate carries this role (extension "
     "1.3.6.1.4.1.50316.802.1); others get exception 01. Applies to --listen clients too (they have no role)",
     0},
    {"--rtu", "DEVICE", "Modbus RTU on this serial device (absolute path)", CLI_OPT_REPEAT | CLI_OPT_FILE},
    {"--ascii", "DEVICE", "Modbus ASCII on this serial device (absolute path)", CLI_OPT_REPEAT | CLI_OPT_FILE},
    {"--baud", "N", "serial: bits per second (default 19200)", 0},
    {"--parity", "N|E|O", "serial: parity (default E)", 0},
    {"--data-bits", "7|8", "serial: data bits (default 8)", 0},
    {"--stop-bits", "1|2", "serial: stop bits (default 1)", 0},
    {"--unit", "N", "answer this unit id, with a bank of its own (default: every unit id, one bank)", CLI_OPT_REPEAT},
    {"--size", "N", "registers / bits per table, 1..65536 (default 10000)", 0},
    {"--files", "N", "file records (FC 20/21): number of files, 0..64 (default 0)", 0},
    {"--seconds", "S", "stop after S seconds (default: until Ctrl-C)", 0},
    {"--max-connections", "N", "TCP connections open at once (default 512)", 0},
    {"--idle-timeout", "MS", "close a TCP connection silent this long (default 60000, 0 = never)", 0},
    {"--frame-timeout", "MS", "close a TCP connection stuck in a half frame this long (default 5000, 0 = never)", 0},
    {"--data", "FILE",
     "start values: one ADDR=VALUE per line as plcio write takes them (hr100:REAL=3.5, co5[3]=1,0,1; # comments)",
     CLI_OPT_REPEAT | CLI_OPT_FILE},
    {"--server-id", "N", "FC 17 server id byte, 0..255 (default 1); the answer: id, run indicator 0xFF, \"plcio sim\"",
     0},
    {"--backed", "TABLE:START:COUNT=URL",
     "serve addresses from a remote device (table holding|input|coils|discrete; URL a Modbus client URL, plus "
     "max-age=MS (cache age limit, default 0: every read asks), write-through=1 (default: writes refused), "
     "remote-start=N (remote address of START, default START)); TCP and UDP links only",
     CLI_OPT_REPEAT},
    {"--verbose", NULL, "dump every frame on stderr", 0},
    OPT_ROW_CHURN,
    {"--tcp", "HOST:PORT", "--listen", CLI_OPT_ALIAS | CLI_OPT_REPEAT},
    {"--trace", NULL, "--verbose", CLI_OPT_ALIAS},
    {NULL, NULL, NULL, 0},
};

const cli_spec sim_modbus_spec = {
    "sim modbus",
    "",
    "a Modbus device (TCP, UDP, RTU, ASCII) with in-memory data banks",
    "Without a link option it listens on TCP 127.0.0.1:1502. For every link it prints \"listening on\n"
    "HOST:PORT (tcp)\" (serial: \"listening on DEVICE (rtu)\") when ready.",
    sim_modbus_table,
    NULL,
    NULL,
    NULL,
};

#define MAX_LINKS 16
#define MAX_UNITS 32

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static bool parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v > max || s[0] == '-') return false;
    *out = v;
    return true;
}

/* "HOST:PORT" (host may be empty: all addresses). */
static bool split_host_port(const char *arg, char *host, size_t cap, int *port)
{
    const char *colon = strrchr(arg, ':');
    unsigned long p;
    if (!colon || (size_t)(colon - arg) >= cap || !parse_ulong(colon + 1, 65535, &p)) return false;
    memcpy(host, arg, (size_t)(colon - arg));
    host[colon - arg] = '\0';
    *port = (int)p;
    return true;
}

typedef struct sim_link {
    char kind; /* 't' tcp, 'u' udp, 'r' rtu, 'a' ascii, 's' tls */
    const char *arg;
} sim_link;

typedef struct sim_opts {
    sim_link links[MAX_LINKS];
    size_t nlinks;
    long units[MAX_UNITS];
    size_t nunits;
    unsigned long size, files, seconds, baud, data_bits, stop_bits, server_id;
    unsigned long max_connections, idle_timeout, frame_timeout;
    const char *parity;
    const char *ca, *cert, *key, *write_role; /* --tls */
    bool trace;
    const char *data[MAX_LINKS]; /* --data FILE */
    size_t ndata;
    const char *backed[MAX_LINKS]; /* --backed TABLE:START:COUNT=URL */
    size_t nbacked;
    sim_churn churn;
} sim_opts;

/* --tcp/--udp/--rtu/--ascii: one more link. */
static int link_option(int argc, char **argv, int *i, sim_opts *o, bool *taken)
{
    static const struct {
        const char *name;
        char kind;
    } kinds[] = {{"--listen", 't'}, {"--udp", 'u'}, {"--rtu", 'r'}, {"--ascii", 'a'}, {"--tls", 's'}};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        const char *v = NULL;
        bool bad = false;
        if (!cli_option(argc, argv, i, kinds[k].name, &v, &bad)) continue;
        *taken = true;
        if (bad) return PLCIO_EXIT_USAGE;
        if (o->nlinks == MAX_LINKS) return cli_error(PLCIO_EXIT_USAGE, "sim modbus: at most %d links", MAX_LINKS);
        o->links[o->nlinks++] = (sim_link){kinds[k].kind, v};
        return PLCIO_EXIT_OK;
    }
    return PLCIO_EXIT_OK;
}

/* The whole-number options. */
static int number_option(int argc, char **argv, int *i, sim_opts *o, bool *taken)
{
    static const struct {
        const char *name;
        size_t field; /* offset of an unsigned long in sim_opts */
        unsigned long min, max;
        const char *error;
    } nums[] = {
        {"--size", offsetof(sim_opts, size), 1, 65536, "--size: want 1..65536 (registers/bits per table)"},
        {"--files", offsetof(sim_opts, files), 0, 64, "--files: want 0..64"},
        {"--server-id", offsetof(sim_opts, server_id), 0, 255, "--server-id: want 0..255"},
        {"--seconds", offsetof(sim_opts, seconds), 0, 100000000, "--seconds: want a whole number of seconds"},
        {"--baud", offsetof(sim_opts, baud), 0, 4000000, "--baud: bad rate"},
        {"--data-bits", offsetof(sim_opts, data_bits), 0, 8, "--data-bits: 7 or 8"},
        {"--stop-bits", offsetof(sim_opts, stop_bits), 0, 2, "--stop-bits: 1 or 2"},
        {"--max-connections", offsetof(sim_opts, max_connections), 1, 100000, "--max-connections: want 1..100000"},
        {"--idle-timeout", offsetof(sim_opts, idle_timeout), 0, PLCIO_MODBUS_TIMEOUT_MAX_MS,
         "--idle-timeout: want milliseconds 0..86400000 (0 = never)"},
        {"--frame-timeout", offsetof(sim_opts, frame_timeout), 0, PLCIO_MODBUS_TIMEOUT_MAX_MS,
         "--frame-timeout: want milliseconds 0..86400000 (0 = never)"},
    };
    for (size_t k = 0; k < sizeof nums / sizeof nums[0]; k++) {
        const char *v = NULL;
        bool bad = false;
        if (!cli_option(argc, argv, i, nums[k].name, &v, &bad)) continue;
        *taken = true;
        unsigned long n;
        if (bad || !parse_ulong(v, nums[k].max, &n) || n < nums[k].min)
            return cli_error(PLCIO_EXIT_USAGE, "%s", nums[k].error);
        memcpy((char *)o + nums[k].field, &n, sizeof n);
        return PLCIO_EXIT_OK;
    }
    return PLCIO_EXIT_OK;
}

/* --ca/--cert/--key/--tls-write-role (the --tls links' settings). */
static int tls_option(int argc, char **argv, int *i, sim_opts *o, bool *taken)
{
    static const struct {
        const char *name;
        size_t field; /* offset of a const char * in sim_opts */
    } opts[] = {{"--ca", offsetof(sim_opts, ca)},
                {"--cert", offsetof(sim_opts, cert)},
                {"--key", offsetof(sim_opts, key)},
                {"--tls-write-role", offsetof(sim_opts, write_role)}};
    for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++) {
        const char *v = NULL;
        bool bad = false;
        if (!cli_option(argc, argv, i, opts[k].name, &v, &bad)) continue;
        *taken = true;
        if (bad) return PLCIO_EXIT_USAGE;
        size_t max = k < 3 ? 500 : 127; /* file names; a role */
        if (!v[0] || strlen(v) > max) return cli_error(PLCIO_EXIT_USAGE, "%s: want 1..%zu bytes", opts[k].name, max);
        memcpy((char *)o + opts[k].field, &v, sizeof v);
        return PLCIO_EXIT_OK;
    }
    return PLCIO_EXIT_OK;
}

/* --tls needs its files; the files need a --tls. */
static int check_tls(const sim_opts *o)
{
    bool tls = false;
    for (size_t k = 0; k < o->nlinks; k++)
        tls = tls || o->links[k].kind == 's';
    if (tls && (!o->ca || !o->cert || !o->key))
        return cli_error(PLCIO_EXIT_USAGE, "sim modbus: --tls needs --ca FILE, --cert FILE and --key FILE");
    if (!tls && (o->ca || o->cert || o->key))
        return cli_error(PLCIO_EXIT_USAGE, "sim modbus: --ca, --cert and --key are for --tls HOST:PORT");
    return PLCIO_EXIT_OK;
}

/* --data FILE and --backed SPEC: one more of them. */
static int list_option(int argc, char **argv, int *i, sim_opts *o, bool *taken)
{
    const char *v = NULL;
    bool bad = false;
    const char **list = NULL;
    size_t *n = NULL;
    if (cli_option(argc, argv, i, "--data", &v, &bad))
        list = o->data, n = &o->ndata;
    else if (cli_option(argc, argv, i, "--backed", &v, &bad))
        list = o->backed, n = &o->nbacked;
    else
        return PLCIO_EXIT_OK;
    *taken = true;
    if (bad) return PLCIO_EXIT_USAGE;
    if (*n == MAX_LINKS) return cli_error(PLCIO_EXIT_USAGE, "%s: at most %d", argv[*i - 1], MAX_LINKS);
    list[(*n)++] = v;
    return PLCIO_EXIT_OK;
}

/* Backed ranges are served on TCP and UDP only: a serial line cannot wait. */
static int check_backed_links(const sim_opts *o)
{
    for (size_t k = 0; k < o->nlinks && o->nbacked; k++)
        if (o->links[k].kind == 'r' || o->links[k].kind == 'a')
            return cli_error(PLCIO_EXIT_USAGE, "--backed: a serial link (--rtu, --ascii) cannot wait for a remote "
                                               "device; serve backed ranges on --listen or --udp");
    return PLCIO_EXIT_OK;
}

static int parse_opts(int argc, char **argv, sim_opts *o)
{
    o->size = 10000;
    o->server_id = 1;
    o->baud = 19200;
    o->data_bits = 8;
    o->stop_bits = 1;
    o->parity = "E";
    plcio_modbus_server_limits lim;
    plcio_modbus_server_limits_init(&lim);
    o->max_connections = lim.max_connections;
    o->idle_timeout = lim.idle_timeout_ms;
    o->frame_timeout = lim.frame_timeout_ms;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        bool bad = false, taken = false;
        unsigned long n;
        int st = link_option(argc, argv, &i, o, &taken);
        if (!st && !taken) st = number_option(argc, argv, &i, o, &taken);
        if (!st && !taken) st = tls_option(argc, argv, &i, o, &taken);
        if (!st && !taken) st = list_option(argc, argv, &i, o, &taken);
        if (st || taken) {
            if (st) return st;
            continue;
        }
        if (cli_option(argc, argv, &i, "--unit", &v, &bad)) {
            if (bad) return PLCIO_EXIT_USAGE;
            if (!parse_ulong(v, 255, &n)) return cli_error(PLCIO_EXIT_USAGE, "--unit: '%s' is not 0..255", v);
            if (o->nunits == MAX_UNITS) return cli_error(PLCIO_EXIT_USAGE, "--unit: at most %d units", MAX_UNITS);
            o->units[o->nunits++] = (long)n;
        } else if (cli_option(argc, argv, &i, "--parity", &v, &bad)) {
            if (bad) return PLCIO_EXIT_USAGE;
            o->parity = v;
        } else if (cli_option(argc, argv, &i, "--churn", &v, &bad)) {
            if (!bad && !sim_churn_parse(v, &o->churn)) return PLCIO_EXIT_USAGE;
        } else if (cli_option(argc, argv, &i, "--verbose", NULL, &bad)) {
            o->trace = true;
        } else {
            return cli_error(PLCIO_EXIT_USAGE, "sim modbus: unknown option '%s'", argv[i]);
        }
    }
    if (o->nlinks == 0) o->links[o->nlinks++] = (sim_link){'t', "127.0.0.1:1502"};
    int st = check_tls(o);
    return st ? st : check_backed_links(o);
}

static int open_tls(plcio_modbus_server *s, const sim_opts *o, const sim_link *l)
{
    char host[256];
    int port, bound = 0;
    if (!split_host_port(l->arg, host, sizeof host, &port))
        return cli_error(PLCIO_EXIT_USAGE, "sim modbus: '%s' is not HOST:PORT", l->arg);
    plcio_modbus_tls_options t;
    plcio_modbus_tls_options_init(&t);
    t.ca_file = o->ca;
    t.cert_file = o->cert;
    t.key_file = o->key;
    plcio_error err;
    int rc = plcio_modbus_server_listen_tls(s, host, port, &t, &bound, &err);
    if (rc != PLCIO_OK)
        return cli_error(PLCIO_EXIT_FAILURE, "sim modbus: cannot serve TLS on %s: %s", l->arg, err.text);
    printf("listening on %s:%d (tls)\n", host[0] ? host : "0.0.0.0", bound);
    return PLCIO_EXIT_OK;
}

typedef struct backed_query {
    plcio_modbus_backing_options bo;
    long remote_start;
} backed_query;

/* One query parameter of --backed that is ours, not the client URL's. */
static int backed_param(void *ctx, const char *spec, char *kv, char *val)
{
    backed_query *bq = ctx;
    unsigned long n;
    if (!strncmp(kv, "max-age=", 8)) {
        if (!parse_ulong(val, PLCIO_MODBUS_TIMEOUT_MAX_MS, &n))
            return cli_error(PLCIO_EXIT_USAGE, "--backed %s: max-age '%s' is not milliseconds 0..86400000", spec, val);
        bq->bo.max_age_ms = (uint32_t)n;
    } else if (!strncmp(kv, "write-through=", 14)) {
        if (strcmp(val, "0") != 0 && strcmp(val, "1") != 0)
            return cli_error(PLCIO_EXIT_USAGE, "--backed %s: write-through '%s' is not 0 or 1", spec, val);
        bq->bo.write_through = val[0] == '1';
    } else {
        if (!parse_ulong(val, 65535, &n))
            return cli_error(PLCIO_EXIT_USAGE, "--backed %s: remote-start '%s' is not 0..65535", spec, val);
        bq->remote_start = (long)n;
    }
    return PLCIO_EXIT_OK;
}

/* --backed TABLE:START:COUNT=URL[?max-age=MS&write-through=1&remote-start=N&...client parameters]. */
static int back_range(plcio_modbus_server *s, const sim_opts *o, const char *spec)
{
    static const struct {
        const char *name;
        plcio_modbus_area area;
    } tables[] = {{"holding", PLCIO_MODBUS_HOLDING_REGISTERS},
                  {"input", PLCIO_MODBUS_INPUT_REGISTERS},
                  {"coils", PLCIO_MODBUS_COILS},
                  {"discrete", PLCIO_MODBUS_DISCRETE_INPUTS}};
    static const char *const ours[] = {"max-age=", "write-through=", "remote-start=", NULL};
    sim_backed_spec b;
    int st = sim_backed_split(spec, "TABLE:START:COUNT", &b);
    if (st) return st;
    unsigned long start, count;
    size_t t = 0;
    while (t < sizeof tables / sizeof tables[0] && strcmp(tables[t].name, b.head) != 0)
        t++;
    if (t == sizeof tables / sizeof tables[0])
        return cli_error(PLCIO_EXIT_USAGE, "--backed %s: table '%s' is not holding, input, coils or discrete", spec,
                         b.head);
    if (!parse_ulong(b.start, 65535, &start) || !parse_ulong(b.count, 65536, &count) || count == 0 ||
        start + count > 65536)
        return cli_error(PLCIO_EXIT_USAGE, "--backed %s: START:COUNT must be addresses within 0..65535, COUNT >= 1",
                         spec);
    /* our parameters out of the query, the client's stay */
    backed_query bq;
    plcio_modbus_backing_options_init(&bq.bo);
    bq.remote_start = (long)start;
    if ((st = sim_backed_query(spec, ours, backed_param, &bq, &b))) return st;
    bq.bo.remote_offset = (int32_t)(bq.remote_start - (long)start);
    size_t nunits = o->nunits ? o->nunits : 1;
    for (size_t u = 0; u < nunits; u++) {
        plcio_error err = {0};
        int unit = o->nunits ? (int)o->units[u] : PLCIO_MODBUS_ANY_UNIT;
        int rc = plcio_modbus_server_back_range(s, unit, tables[t].area, (uint16_t)start, (uint32_t)count, b.url,
                                                &bq.bo, &err);
        if (rc != PLCIO_OK) return cli_error(PLCIO_EXIT_USAGE, "--backed %s: %s", spec, err.text);
    }
    return PLCIO_EXIT_OK;
}

static int open_link(plcio_modbus_server *s, const sim_opts *o, const sim_link *l)
{
    int port, bound = 0, rc;
    if (l->kind == 's') return open_tls(s, o, l);
    if (l->kind == 't' || l->kind == 'u') {
        char host[256];
        if (!split_host_port(l->arg, host, sizeof host, &port))
            return cli_error(PLCIO_EXIT_USAGE, "sim modbus: '%s' is not HOST:PORT", l->arg);
        rc = l->kind == 't' ? plcio_modbus_server_listen_tcp(s, host, port, &bound)
                            : plcio_modbus_server_listen_udp(s, host, port, &bound);
        if (rc != PLCIO_OK)
            return cli_error(PLCIO_EXIT_FAILURE, "sim modbus: cannot listen on %s %s: %s",
                             l->kind == 't' ? "TCP" : "UDP", l->arg, plcio_strerror(rc));
        printf("listening on %s:%d (%s)\n", host[0] ? host : "0.0.0.0", bound, l->kind == 't' ? "tcp" : "udp");
        return PLCIO_EXIT_OK;
    }
    char url[600];
    snprintf(url, sizeof url, "modbus-%s://%s?baud=%lu&parity=%s&data-bits=%lu&stop-bits=%lu",
             l->kind == 'r' ? "rtu" : "ascii", l->arg, o->baud, o->parity, o->data_bits, o->stop_bits);
    if (l->arg[0] != '/') return cli_error(PLCIO_EXIT_USAGE, "sim modbus: give the serial device as an absolute path");
    if ((rc = plcio_modbus_server_open_serial(s, url)) != PLCIO_OK)
        return cli_error(rc == PLCIO_ERANGE || rc == PLCIO_ESYNTAX ? PLCIO_EXIT_USAGE : PLCIO_EXIT_FAILURE,
                         "sim modbus: cannot open %s: %s", l->arg, plcio_strerror(rc));
    printf("listening on %s (%s)\n", l->arg, l->kind == 'r' ? "rtu" : "ascii");
    return PLCIO_EXIT_OK;
}

/* One element's text to registers (n of them) in the address's word order. */
static int encode_element(const plcio_mb_address *m, const char *text, uint16_t *regs, size_t n, plcio_error *err)
{
    plcio_value v;
    uint8_t bytes[512];
    if (n * 2 > sizeof bytes) return plcio_error_set(err, PLCIO_ERANGE, "element too large");
    plcio_value_init(&v, m->type);
    int rc = plcio_value_from_text(&v, m->type, m->length, text, strlen(text), err);
    memset(bytes, 0, sizeof bytes);
    /* a Modbus STRING is its characters (no S7 length header), NUL-padded */
    if (!rc && m->type == PLCIO_TYPE_STRING)
        rc = plcio_value_encode_chars(&v, bytes, n * 2, err);
    else if (!rc)
        rc = plcio_value_encode(&v, bytes, n * 2, 0, NULL, err);
    if (rc) return rc;
    memset(regs, 0, n * sizeof *regs);
    plcio_mb_bytes_to_regs(bytes, n, regs);
    /* the bytes are big-endian (ABCD); put numbers in the address's order */
    if (n == 1 && m->type != PLCIO_TYPE_STRING) plcio_mb_put_u16(regs, plcio_mb_get_u16(regs, PLCIO_MB_ABCD), m->order);
    if (n == 2) plcio_mb_put_u32(regs, plcio_mb_get_u32(regs, PLCIO_MB_ABCD), m->order);
    if (n == 4) plcio_mb_put_u64(regs, plcio_mb_get_u64(regs, PLCIO_MB_ABCD), m->order);
    return PLCIO_OK;
}

/* One "ADDR=VALUE" line into the bank of every unit. */
static int data_line(plcio_modbus_server *s, const sim_opts *o, char *line, plcio_error *err)
{
    char *eq = strchr(line, '=');
    if (!eq) return plcio_error_set(err, PLCIO_ESYNTAX, "not ADDR=VALUE");
    *eq = '\0';
    char *addr = line;
    while (*addr == ' ' || *addr == '\t')
        addr++;
    for (size_t n = strlen(addr); n && (addr[n - 1] == ' ' || addr[n - 1] == '\t'); n--)
        addr[n - 1] = '\0';
    plcio_mb_address m;
    int rc = plcio_mb_address_parse(addr, &m, err);
    if (rc) return rc;
    size_t cap = strlen(eq + 1) + 2; /* elements: at most one per character, and one */
    char **elems = calloc(cap, sizeof *elems);
    if (!elems) return plcio_error_set(err, PLCIO_ENOMEM, "out of memory");
    size_t count = m.type == PLCIO_TYPE_STRING ? 1 : cli_split_array(eq + 1, elems, cap);
    if (m.type == PLCIO_TYPE_STRING) elems[0] = eq + 1;
    uint16_t *vals = count == m.count ? calloc(m.quantity ? m.quantity : 1, sizeof *vals) : NULL;
    if (count != m.count) {
        free(elems);
        return plcio_error_set(err, PLCIO_EINVAL, "%s: %u values wanted, got %zu", addr, (unsigned)m.count, count);
    }
    if (!vals) {
        free(elems);
        return plcio_error_set(err, PLCIO_ENOMEM, "out of memory");
    }
    size_t per = m.quantity / m.count;
    bool bits = m.table == PLCIO_MB_TABLE_COIL || m.table == PLCIO_MB_TABLE_DISCRETE_INPUT;
    for (size_t k = 0; !rc && k < count; k++) {
        if (bits) {
            plcio_value v;
            plcio_value_init(&v, PLCIO_TYPE_BOOL);
            rc = plcio_value_from_text(&v, PLCIO_TYPE_BOOL, 0, elems[k], strlen(elems[k]), err);
            vals[k] = v.v.b ? 1 : 0;
        } else {
            rc = encode_element(&m, elems[k], vals + k * per, per, err);
        }
    }
    size_t nunits = o->nunits ? o->nunits : 1;
    for (size_t u = 0; !rc && u < nunits; u++) {
        int unit = o->nunits ? (int)o->units[u] : PLCIO_MODBUS_ANY_UNIT;
        rc = plcio_modbus_server_write_bank(s, unit, (plcio_modbus_area)m.table, m.address, (uint16_t)m.quantity, vals);
        if (rc) plcio_error_set(err, rc, "%s: %s (--size?)", addr, plcio_strerror(rc));
    }
    free(vals);
    free(elems);
    return rc;
}

/* --data FILE: start values, one ADDR=VALUE per line ('#' starts a comment). */
static int load_data(plcio_modbus_server *s, const sim_opts *o, const char *file)
{
    FILE *f = fopen(file, "r");
    if (!f) return cli_error(PLCIO_EXIT_USAGE, "--data %s: %s", file, strerror(errno));
    char line[4096];
    int st = PLCIO_EXIT_OK;
    for (unsigned no = 1; st == PLCIO_EXIT_OK && fgets(line, sizeof line, f); no++) {
        if (!strchr(line, '\n') && !feof(f)) {
            st = cli_error(PLCIO_EXIT_USAGE, "%s:%u: line longer than %zu bytes", file, no, sizeof line - 2);
            break;
        }
        line[strcspn(line, "#\r\n")] = '\0';
        if (strspn(line, " \t") == strlen(line)) continue;
        plcio_error err = {0};
        if (data_line(s, o, line, &err) != PLCIO_OK) st = cli_error(PLCIO_EXIT_USAGE, "%s:%u: %s", file, no, err.text);
    }
    (void)fclose(f); /* read-only */
    return st;
}

/* --churn: holding and input registers of every unit get new values (as
 * register pairs, high word first); the bank calls are thread-safe. */
static void churn_table(plcio_modbus_server *s, int unit, plcio_modbus_area area, uint32_t size, sim_churn *churn,
                        uint16_t *regs, uint8_t *bytes)
{
    for (uint32_t at = 0; at < size; at += 4096) {
        size_t n = size - at < 4096 ? size - at : 4096;
        if (plcio_modbus_server_read_bank(s, unit, area, (uint16_t)at, (uint16_t)n, regs) != PLCIO_OK) return;
        /* cppcheck-suppress knownConditionTrueFalse ; at < size, so n >= 1 (cppcheck concludes n == 0) */
        for (size_t k = 0; k < n; k++)
            plcio_put_u16be(bytes + 2 * k, regs[k]);
        sim_churn_fill(churn, bytes, n * 2);
        /* cppcheck-suppress knownConditionTrueFalse ; as above */
        for (size_t k = 0; k < n; k++)
            regs[k] = plcio_get_u16be(bytes + 2 * k);
        plcio_modbus_server_write_bank(s, unit, area, (uint16_t)at, (uint16_t)n, regs);
    }
}

static void churn_banks(plcio_modbus_server *s, const sim_opts *o, sim_churn *churn)
{
    static uint16_t regs[4096];
    static uint8_t bytes[8192];
    size_t n = o->nunits ? o->nunits : 1;
    for (size_t i = 0; i < n; i++) {
        int unit = o->nunits ? (int)o->units[i] : PLCIO_MODBUS_ANY_UNIT;
        churn_table(s, unit, PLCIO_MODBUS_HOLDING_REGISTERS, (uint32_t)o->size, churn, regs, bytes);
        churn_table(s, unit, PLCIO_MODBUS_INPUT_REGISTERS, (uint32_t)o->size, churn, regs, bytes);
    }
}

static int serve(plcio_modbus_server *s, sim_opts *o)
{
    /* signal() fails only for an invalid signal number */
    (void)signal(SIGINT, on_signal);
    (void)signal(SIGTERM, on_signal);
    uint64_t end = o->seconds ? plcio_monotonic_ns() + o->seconds * PLCIO_NS_PER_S : 0;
    sim_churn_start(&o->churn);
    while (!stop_requested && (!end || plcio_monotonic_ns() < end)) {
        int rc = plcio_modbus_server_run_once(s, sim_churn_wait_ms(&o->churn, 100));
        if (rc != PLCIO_OK) return cli_error(PLCIO_EXIT_FAILURE, "sim modbus: %s", plcio_strerror(rc));
        if (sim_churn_due(&o->churn)) churn_banks(s, o, &o->churn);
    }
    return PLCIO_EXIT_OK;
}

int sim_modbus_main(int argc, char **argv)
{
    sim_opts o;
    memset(&o, 0, sizeof o);
    int st = parse_opts(argc, argv, &o);
    if (st != PLCIO_EXIT_OK) return st;
    plcio_logger lg = {plcio_log_to_stream, stderr, o.trace ? PLCIO_LOG_TRACE : PLCIO_LOG_WARN};
    plcio_modbus_server *s = NULL;
    (void)plcio_modbus_server_new(&(plcio_modbus_server_options){.logger = lg}, &s, NULL);
    if (!s) return cli_error(PLCIO_EXIT_FAILURE, "sim modbus: out of memory");
    plcio_modbus_bank_config bank = plcio_modbus_bank_default((uint32_t)o.size);
    bank.files = (uint16_t)o.files;
    plcio_modbus_server_limits lim;
    plcio_modbus_server_limits_init(&lim);
    lim.max_connections = (unsigned)o.max_connections;
    lim.idle_timeout_ms = (uint32_t)o.idle_timeout;
    lim.frame_timeout_ms = (uint32_t)o.frame_timeout;
    int rc = plcio_modbus_server_set_limits(s, &lim); /* values checked by parse_opts */
    if (rc == PLCIO_OK && o.nunits == 0) rc = plcio_modbus_server_add_unit(s, PLCIO_MODBUS_ANY_UNIT, &bank);
    for (size_t i = 0; i < o.nunits && rc == PLCIO_OK; i++) {
        rc = plcio_modbus_server_add_unit(s, (int)o.units[i], &bank);
        if (rc == PLCIO_EEXIST) rc = PLCIO_OK; /* --unit 1 --unit 1 */
    }
    /* FC 17 as the spec lays it out: one id byte, run indicator, additional data */
    uint8_t id = (uint8_t)o.server_id;
    static const char extra[] = "plcio sim";
    if (rc == PLCIO_OK) rc = plcio_modbus_server_set_server_id(s, &id, 1, true);
    if (rc == PLCIO_OK) rc = plcio_modbus_server_set_server_data(s, (const uint8_t *)extra, sizeof extra - 1);
    if (rc == PLCIO_OK && o.write_role) rc = plcio_modbus_server_set_write_role(s, o.write_role);
    if (rc != PLCIO_OK) st = cli_error(PLCIO_EXIT_FAILURE, "sim modbus: %s", plcio_strerror(rc));
    for (size_t i = 0; i < o.ndata && st == PLCIO_EXIT_OK; i++)
        st = load_data(s, &o, o.data[i]);
    for (size_t i = 0; i < o.nbacked && st == PLCIO_EXIT_OK; i++)
        st = back_range(s, &o, o.backed[i]);
    for (size_t i = 0; i < o.nlinks && st == PLCIO_EXIT_OK; i++)
        st = open_link(s, &o, &o.links[i]);
    fflush(stdout);
    if (st == PLCIO_EXIT_OK) st = serve(s, &o);
    plcio_modbus_server_free(s);
    return st;
}
