/* plcio gateway modbus: Modbus TCP/UDP in front, devices on RTU, ASCII, TCP
 * or UDP behind (plcio/gateway.h).
 *
 *   plcio gateway modbus --to URL [--route UNIT=URL]... [--listen HOST:PORT]
 *                        [--udp HOST:PORT] [--max-pending N] [--depth N]
 *                        [--reconnect MS] [--max-connections N] [--seconds S]
 *                        [--read-only] [--stats] [--verbose]
 *
 * Prints "listening on HOST:PORT (tcp)" per listener when ready; on exit
 * (Ctrl-C, SIGTERM, --seconds) with --stats one line of counters per
 * target on stdout. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "option_rows.h"
#include "plcio/core.h"
#include "plcio/gateway.h"

static const cli_opt gateway_modbus_table[] = {
    {"--listen", "HOST:PORT", "Modbus TCP clients on this address (default 127.0.0.1:502; port 0 picks a free one)",
     CLI_OPT_REPEAT},
    {"--udp", "HOST:PORT", "Modbus UDP clients on this address too", CLI_OPT_REPEAT},
    {"--to", "URL", "the device every unit id goes to unless --route says otherwise (modbus-rtu:///dev/ttyX, ...)", 0},
    {"--route", "UNIT=URL", "unit id 0..255 goes to this device (repeatable; units with one URL share its link)",
     CLI_OPT_REPEAT},
    {"--max-pending", "N", "requests one client may have waiting, 1..1024 (default 32)", 0},
    {"--depth", "N", "requests in flight per TCP/UDP device, 1..64 (default 8; serial lines: 1)", 0},
    {"--reconnect", "MS", "least time between two attempts to open a device's link (default 500)", 0},
    {"--max-connections", "N", "TCP clients at once (default 512; then the one silent longest is closed)", 0},
    {"--seconds", "S", "stop after S seconds (default: until Ctrl-C)", 0},
    {"--read-only", NULL,
     "answer write function codes (5, 6, 15, 16, 21, 22, 23, ...) with exception 01 "
     "without passing them on",
     0},
    {"--stats", NULL, "print one line of counters per device when stopping", 0},
    {"--verbose", NULL, "log every frame on stderr", 0},
    OPT_ROW_END,
};

static const char *const gateway_examples[] = {
    "plcio gateway modbus --listen 127.0.0.1:5020 --to 'modbus-rtu:///dev/ttyUSB0?baud=115200&parity=N'",
    "plcio gateway modbus --to modbus-tcp://10.0.0.7 --route 2=modbus-rtu:///dev/ttyUSB1 --udp 127.0.0.1:5020",
    NULL,
};

static const cli_spec gateway_modbus_spec = {
    "gateway modbus",
    "",
    "forward Modbus TCP/UDP requests to devices on RTU, ASCII, TCP or UDP",
    "Every request goes, as it came, to the device of its unit id (--route, else --to); the answer or the\n"
    "device's exception goes back with the client's transaction id. When the device does not answer in\n"
    "time (the URL's timeout= and retries=) the gateway answers exception 0x0B; when its link is down or\n"
    "the unit has no route, 0x0A. Clients sharing a serial line take turns; the line keeps its t3.5 gap.\n"
    "Listens on 127.0.0.1 unless --listen says otherwise. Writes pass through unless --read-only: whoever\n"
    "can reach the port can write to every device behind it, so keep it on 127.0.0.1 or a trusted network.",
    gateway_modbus_table,
    NULL,
    gateway_examples,
    NULL,
};

static const cli_spec *const gateway_subs[] = {&gateway_modbus_spec, NULL};

static const cli_spec gateway_spec = {
    "gateway",
    "modbus [OPTIONS]",
    "protocol gateways (Modbus TCP/UDP to RTU, ASCII, TCP, UDP devices)",
    NULL,
    NULL,
    gateway_subs,
    NULL,
    "modbus",
};

#define GW_MAX_LISTEN 16

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static bool parse_num(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < min || v > max) return false;
    *out = v;
    return true;
}

static bool split_host_port(const char *arg, char *host, size_t cap, int *port)
{
    const char *colon = strrchr(arg, ':');
    unsigned long p;
    if (!colon || (size_t)(colon - arg) >= cap || !parse_num(colon + 1, 0, 65535, &p)) return false;
    memcpy(host, arg, (size_t)(colon - arg));
    host[colon - arg] = '\0';
    *port = (int)p;
    return true;
}

typedef struct gw_cli {
    const char *tcp[GW_MAX_LISTEN], *udp[GW_MAX_LISTEN];
    size_t ntcp, nudp;
    unsigned long seconds;
    bool stats, verbose;
} gw_cli;

static int add_route(plcio_modbus_gateway *g, const char *arg)
{
    const char *eq = strchr(arg, '=');
    char unit[8];
    unsigned long u;
    if (!eq || (size_t)(eq - arg) >= sizeof unit)
        return cli_error(PLCIO_EXIT_USAGE, "gateway modbus: --route '%s' is not UNIT=URL", arg);
    memcpy(unit, arg, (size_t)(eq - arg));
    unit[eq - arg] = '\0';
    if (!parse_num(unit, 0, 255, &u))
        return cli_error(PLCIO_EXIT_USAGE, "gateway modbus: --route '%s': unit '%s' is not 0..255", arg, unit);
    plcio_error err = {0};
    if (plcio_modbus_gateway_add_target(g, (int)u, eq + 1, &err) != PLCIO_OK)
        return cli_error(PLCIO_EXIT_USAGE, "gateway modbus: --route %s", err.text);
    return PLCIO_EXIT_OK;
}

/* Options that make the gateway: numbers first (they are its options). */
static int gateway_options(int argc, char **argv, plcio_modbus_gateway_options *o, gw_cli *c)
{
    static const struct {
        const char *name;
        unsigned long min, max;
    } nums[] = {{"--max-pending", 1, 1024},
                {"--depth", 1, 64},
                {"--reconnect", 1, 3600000},
                {"--max-connections", 1, 100000},
                {"--seconds", 0, 100000000}};
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        bool bad = false, num = false;
        for (size_t k = 0; !num && k < sizeof nums / sizeof nums[0]; k++) {
            if (!cli_option(argc, argv, &i, nums[k].name, &v, &bad)) continue;
            unsigned long n;
            if (bad || !parse_num(v, nums[k].min, nums[k].max, &n))
                return cli_error(PLCIO_EXIT_USAGE, "gateway modbus: %s: want %lu..%lu", nums[k].name, nums[k].min,
                                 nums[k].max);
            unsigned long *dst[] = {NULL, NULL, NULL, NULL, &c->seconds};
            unsigned *udst[] = {&o->max_pending, &o->depth, &o->reconnect_ms, &o->max_connections, NULL};
            if (udst[k]) *udst[k] = (unsigned)n;
            if (dst[k]) *dst[k] = n;
            num = true;
        }
        if (num) continue;
        if (cli_option(argc, argv, &i, "--listen", &v, &bad)) {
            if (c->ntcp == GW_MAX_LISTEN)
                return cli_error(PLCIO_EXIT_USAGE, "gateway modbus: at most %d --listen", GW_MAX_LISTEN);
            c->tcp[c->ntcp++] = v;
        } else if (cli_option(argc, argv, &i, "--udp", &v, &bad)) {
            if (c->nudp == GW_MAX_LISTEN)
                return cli_error(PLCIO_EXIT_USAGE, "gateway modbus: at most %d --udp", GW_MAX_LISTEN);
            c->udp[c->nudp++] = v;
        } else if (cli_option(argc, argv, &i, "--read-only", NULL, &bad)) {
            o->read_only = true;
        } else if (cli_option(argc, argv, &i, "--stats", NULL, &bad)) {
            c->stats = true;
        } else if (cli_option(argc, argv, &i, "--verbose", NULL, &bad)) {
            c->verbose = true;
        }
    }
    if (c->ntcp == 0) c->tcp[c->ntcp++] = "127.0.0.1:502";
    return PLCIO_EXIT_OK;
}

static int add_targets(plcio_modbus_gateway *g, int argc, char **argv)
{
    bool any = false;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        bool bad = false;
        if (cli_option(argc, argv, &i, "--to", &v, &bad)) {
            plcio_error err = {0};
            if (plcio_modbus_gateway_add_target(g, PLCIO_MODBUS_GATEWAY_DEFAULT, v, &err) != PLCIO_OK)
                return cli_error(PLCIO_EXIT_USAGE, "gateway modbus: --to %s", err.text);
            any = true;
        } else if (cli_option(argc, argv, &i, "--route", &v, &bad)) {
            int st = add_route(g, v);
            if (st) return st;
            any = true;
        }
    }
    if (!any) return cli_error(PLCIO_EXIT_USAGE, "gateway modbus: where to? give --to URL or --route UNIT=URL");
    return PLCIO_EXIT_OK;
}

static int listen_all(plcio_modbus_gateway *g, const gw_cli *c)
{
    for (size_t k = 0; k < c->ntcp + c->nudp; k++) {
        bool tcp = k < c->ntcp;
        const char *arg = tcp ? c->tcp[k] : c->udp[k - c->ntcp];
        char host[256];
        int port, bound = 0;
        if (!split_host_port(arg, host, sizeof host, &port))
            return cli_error(PLCIO_EXIT_USAGE, "gateway modbus: '%s' is not HOST:PORT", arg);
        int rc = tcp ? plcio_modbus_gateway_listen_tcp(g, host, port, &bound)
                     : plcio_modbus_gateway_listen_udp(g, host, port, &bound);
        if (rc != PLCIO_OK)
            return cli_error(PLCIO_EXIT_FAILURE, "gateway modbus: cannot listen on %s %s: %s", tcp ? "TCP" : "UDP", arg,
                             plcio_strerror(rc));
        printf("listening on %s:%d (%s)\n", host[0] ? host : "0.0.0.0", bound, tcp ? "tcp" : "udp");
    }
    fflush(stdout);
    return PLCIO_EXIT_OK;
}

static void print_stats(const plcio_modbus_gateway *g)
{
    for (size_t i = 0; i < plcio_modbus_gateway_target_count(g); i++) {
        plcio_modbus_gateway_target_stats s;
        if (plcio_modbus_gateway_target_stats_get(g, i, &s) != PLCIO_OK) continue;
        printf("target %s: requests %llu answers %llu exceptions %llu no-response %llu path-unavailable %llu "
               "broadcasts %llu dropped %llu connects %llu max-queued %u mean-latency-us %llu refused %llu\n",
               s.url, (unsigned long long)s.requests, (unsigned long long)s.answers, (unsigned long long)s.exceptions,
               (unsigned long long)s.no_response, (unsigned long long)s.path_unavailable,
               (unsigned long long)s.broadcasts, (unsigned long long)s.dropped, (unsigned long long)s.connects,
               s.max_queued, (unsigned long long)(s.answers ? s.latency_sum_us / s.answers : 0),
               (unsigned long long)s.refused);
    }
    fflush(stdout);
}

static int serve(plcio_modbus_gateway *g, unsigned long seconds)
{
    (void)signal(SIGINT, on_signal);
    (void)signal(SIGTERM, on_signal);
    uint64_t end = seconds ? plcio_monotonic_ns() + seconds * PLCIO_NS_PER_S : 0;
    while (!stop_requested && (!end || plcio_monotonic_ns() < end)) {
        int rc = plcio_modbus_gateway_run_once(g, 100);
        if (rc != PLCIO_OK) return cli_error(PLCIO_EXIT_FAILURE, "gateway modbus: %s", plcio_strerror(rc));
    }
    return PLCIO_EXIT_OK;
}

static int gateway_modbus_main(int argc, char **argv)
{
    plcio_modbus_gateway_options o;
    plcio_modbus_gateway_options_init(&o);
    gw_cli c;
    memset(&c, 0, sizeof c);
    int st = gateway_options(argc, argv, &o, &c);
    if (st) return st;
    o.logger = (plcio_logger){plcio_log_to_stream, stderr, c.verbose ? PLCIO_LOG_TRACE : PLCIO_LOG_WARN};
    plcio_modbus_gateway *g = NULL;
    plcio_error err = {0};
    if (plcio_modbus_gateway_new(&o, &g, &err) != PLCIO_OK)
        return cli_error(PLCIO_EXIT_FAILURE, "gateway modbus: %s", err.text);
    st = add_targets(g, argc, argv);
    if (!st) st = listen_all(g, &c);
    if (!st) st = serve(g, c.seconds);
    if (c.stats) print_stats(g);
    plcio_modbus_gateway_free(g);
    return st;
}

static int run_gateway(int argc, char **argv)
{
    if (argc < 2) return cli_error(PLCIO_EXIT_USAGE, "gateway: which protocol? (plcio gateway modbus ...)");
    if (!strcmp(argv[1], "modbus")) return gateway_modbus_main(argc - 1, argv + 1);
    return cli_error(PLCIO_EXIT_USAGE, "gateway: unknown protocol '%s' (modbus)", argv[1]);
}

const plcio_command plcio_cmd_gateway = {&gateway_spec, run_gateway};
