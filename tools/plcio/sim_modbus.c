/* plcio sim modbus: a Modbus server with in-memory data banks.
 *
 *   plcio sim modbus [--tcp HOST:PORT]... [--udp HOST:PORT]... [--rtu DEV]... [--ascii DEV]...
 *                    [--baud N] [--parity N|E|O] [--data-bits 7|8] [--stop-bits 1|2]
 *                    [--unit N]... [--size N] [--files N] [--seconds S] [--trace]
 *                    [--max-connections N] [--idle-timeout MS] [--frame-timeout MS]
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
#include "plcio/modbus.h"

#define MAX_LINKS 16
#define MAX_UNITS 32

int sim_modbus_main(int argc, char **argv);

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
    char kind; /* 't' tcp, 'u' udp, 'r' rtu, 'a' ascii */
    const char *arg;
} sim_link;

typedef struct sim_opts {
    sim_link links[MAX_LINKS];
    size_t nlinks;
    long units[MAX_UNITS];
    size_t nunits;
    unsigned long size, files, seconds, baud, data_bits, stop_bits;
    unsigned long max_connections, idle_timeout, frame_timeout;
    const char *parity;
    bool trace;
} sim_opts;

/* --tcp/--udp/--rtu/--ascii: one more link. */
static int link_option(int argc, char **argv, int *i, sim_opts *o, bool *taken)
{
    static const struct {
        const char *name;
        char kind;
    } kinds[] = {{"--tcp", 't'}, {"--udp", 'u'}, {"--rtu", 'r'}, {"--ascii", 'a'}};
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

static int parse_opts(int argc, char **argv, sim_opts *o)
{
    o->size = 10000;
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
        } else if (cli_option(argc, argv, &i, "--trace", NULL, &bad)) {
            o->trace = true;
        } else {
            return cli_error(PLCIO_EXIT_USAGE, "sim modbus: unknown option '%s'", argv[i]);
        }
    }
    if (o->nlinks == 0) o->links[o->nlinks++] = (sim_link){'t', "127.0.0.1:1502"};
    return PLCIO_EXIT_OK;
}

static int open_link(plcio_modbus_server *s, const sim_opts *o, const sim_link *l)
{
    int port, bound = 0, rc;
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

static int serve(plcio_modbus_server *s, unsigned long seconds)
{
    /* signal() fails only for an invalid signal number */
    (void)signal(SIGINT, on_signal);
    (void)signal(SIGTERM, on_signal);
    uint64_t end = seconds ? plcio_monotonic_ns() + seconds * PLCIO_NS_PER_S : 0;
    while (!stop_requested && (!end || plcio_monotonic_ns() < end)) {
        int rc = plcio_modbus_server_run_once(s, 100);
        if (rc != PLCIO_OK) return cli_error(PLCIO_EXIT_FAILURE, "sim modbus: %s", plcio_strerror(rc));
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
    if (rc != PLCIO_OK) st = cli_error(PLCIO_EXIT_FAILURE, "sim modbus: %s", plcio_strerror(rc));
    for (size_t i = 0; i < o.nlinks && st == PLCIO_EXIT_OK; i++)
        st = open_link(s, &o, &o.links[i]);
    fflush(stdout);
    if (st == PLCIO_EXIT_OK) st = serve(s, o.seconds);
    plcio_modbus_server_free(s);
    return st;
}
