/* plcio partner: an S7 partner (BSend/BRecv) on the command line
 * (plcio/s7_partner.h).
 *
 *   plcio partner (--active HOST[:PORT] | --passive HOST:PORT)
 *                 [--send RID:TEXT|RID:@FILE]... [--recv] [--count N]
 *                 [--seconds S] [--json] [--stats] ...
 *
 * Passive prints "listening on HOST:PORT" when ready; both print "linked
 * with PEER (PDU N)" once linked, then send the --send blocks in order, then
 * (--recv) print each block that arrives until --count blocks, --seconds or
 * Ctrl-C. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "option_rows.h"
#include "plcio/core.h"
#include "plcio/s7_partner.h"

static const cli_opt partner_opts[] = {
    {"--active", "HOST[:PORT]", "connect to this partner (port default 102) and reconnect when the link drops", 0},
    {"--passive", "HOST:PORT", "listen here for the active partner (port 0 picks a free one)", 0},
    {"--send", "RID:TEXT|RID:@FILE", "send a block with R-ID RID (0..4294967295): the text, or the file's bytes",
     CLI_OPT_REPEAT},
    {"--recv", NULL, "print the blocks that arrive (after the sends)", 0},
    {"--count", "N", "with --recv: stop after N blocks (exit 1 if fewer arrived by --seconds)", 0},
    {"--seconds", "S", "give up after S seconds (default: wait for the link and blocks until Ctrl-C)", 0},
    {"--local-tsap", "HEX", "our TSAP (default 0100); a passive partner refuses other called TSAPs", 0},
    {"--remote-tsap", "HEX", "the partner's TSAP (default 0102)", 0},
    {"--pdu", "N", "PDU size asked for / offered, 240..960 (default 480)", 0},
    OPT_ROW_TIMEOUT,
    {"--verbose", NULL, "log the link's steps and every frame on stderr", 0},
    {"--stats", NULL, "print the counters (blocks, bytes, errors, bytes/s) at the end", 0},
    OPT_ROW_JSON("one JSON object per line for each event (listening, linked, sent, recv, stats)"),
    OPT_ROW_END,
};

static const char *const partner_examples[] = {
    "plcio partner --passive 127.0.0.1:1102 --recv --count 1",
    "plcio partner --active 127.0.0.1:1102 --send 1:hello --send 2:@block.bin",
    NULL,
};

static const cli_spec partner_spec = {
    "partner",
    "",
    "exchange blocks with an S7 partner (BSend/BRecv, as snap7's Partner)",
    "One of --active or --passive. Blocks are 1..65535 bytes with an R-ID; large ones travel in PDU-sized\n"
    "fragments, each acknowledged. A send is reported only when the partner acknowledged all of it.\n"
    "A passive partner accepts one partner at a time on the address given; a partner can only exchange\n"
    "blocks, it cannot read or write a PLC's memory.",
    partner_opts,
    NULL,
    partner_examples,
    NULL,
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static bool parse_ulong(const char *s, int base, unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, base);
    if (errno || end == s || *end || s[0] == '-' || v > max) return false;
    *out = v;
    return true;
}

typedef struct partner_cli {
    const char *active, *passive;
    bool recv, json, stats;
    unsigned long count;
    double seconds;
} partner_cli;

static int parse_options(int argc, char **argv, partner_cli *c, plcio_s7_partner_options *o)
{
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        bool bad = false;
        unsigned long n;
        if (cli_option(argc, argv, &i, "--active", &v, &bad)) {
            c->active = v;
        } else if (cli_option(argc, argv, &i, "--passive", &v, &bad)) {
            c->passive = v;
        } else if (cli_option(argc, argv, &i, "--recv", NULL, &bad)) {
            c->recv = true;
        } else if (cli_option(argc, argv, &i, "--json", NULL, &bad)) {
            c->json = true;
        } else if (cli_option(argc, argv, &i, "--stats", NULL, &bad)) {
            c->stats = true;
        } else if (cli_option(argc, argv, &i, "--verbose", NULL, &bad)) {
            o->logger.level = PLCIO_LOG_TRACE;
        } else if (cli_option(argc, argv, &i, "--count", &v, &bad)) {
            if (!parse_ulong(v, 10, 1000000000ul, &c->count) || c->count == 0)
                return cli_error(PLCIO_EXIT_USAGE, "partner: --count '%s' is not 1..1000000000", v);
        } else if (cli_option(argc, argv, &i, "--seconds", &v, &bad)) {
            char *end;
            c->seconds = strtod(v, &end);
            if (end == v || *end || !(c->seconds > 0) || c->seconds > 1e8)
                return cli_error(PLCIO_EXIT_USAGE, "partner: --seconds '%s' is not a number of seconds > 0", v);
        } else if (cli_option(argc, argv, &i, "--local-tsap", &v, &bad)) {
            if (!parse_ulong(v, 16, 0xFFFF, &n))
                return cli_error(PLCIO_EXIT_USAGE, "partner: --local-tsap '%s' is not hex 0..FFFF", v);
            o->local_tsap = (uint16_t)n;
        } else if (cli_option(argc, argv, &i, "--remote-tsap", &v, &bad)) {
            if (!parse_ulong(v, 16, 0xFFFF, &n))
                return cli_error(PLCIO_EXIT_USAGE, "partner: --remote-tsap '%s' is not hex 0..FFFF", v);
            o->remote_tsap = (uint16_t)n;
        } else if (cli_option(argc, argv, &i, "--pdu", &v, &bad)) {
            if (!parse_ulong(v, 10, 960, &n) || n < 240)
                return cli_error(PLCIO_EXIT_USAGE, "partner: --pdu '%s' is not 240..960", v);
            o->pdu_size = (uint16_t)n;
        } else if (cli_option(argc, argv, &i, "--timeout", &v, &bad)) {
            if (!parse_ulong(v, 10, 3600000, &n) || n == 0)
                return cli_error(PLCIO_EXIT_USAGE, "partner: --timeout '%s' is not 1..3600000 ms", v);
            o->send_timeout_ms = o->recv_timeout_ms = o->connect_timeout_ms = (int)n;
        }
        if (bad) return PLCIO_EXIT_USAGE;
    }
    if (!c->active == !c->passive)
        return cli_error(PLCIO_EXIT_USAGE, "partner: give one of --active HOST[:PORT] or --passive HOST:PORT");
    if (c->count && !c->recv) return cli_error(PLCIO_EXIT_USAGE, "partner: --count needs --recv");
    return PLCIO_EXIT_OK;
}

/* One --send value: RID:TEXT or RID:@FILE into a malloc'ed buffer. */
static int load_send(const char *arg, uint32_t *rid, uint8_t **data, size_t *len)
{
    const char *colon = strchr(arg, ':');
    char num[16];
    unsigned long r;
    if (!colon || (size_t)(colon - arg) >= sizeof num)
        return cli_error(PLCIO_EXIT_USAGE, "partner: --send '%s' is not RID:TEXT or RID:@FILE", arg);
    memcpy(num, arg, (size_t)(colon - arg));
    num[colon - arg] = '\0';
    if (!parse_ulong(num, 10, 0xFFFFFFFFul, &r))
        return cli_error(PLCIO_EXIT_USAGE, "partner: --send '%s': R-ID '%s' is not 0..4294967295", arg, num);
    *rid = (uint32_t)r;
    const char *body = colon + 1;
    if (body[0] != '@') {
        *len = strlen(body);
        *data = malloc(*len ? *len : 1);
        if (!*data) return cli_out_of_memory();
        memcpy(*data, body, *len);
        return PLCIO_EXIT_OK;
    }
    FILE *f = fopen(body + 1, "rb");
    if (!f) return cli_error(PLCIO_EXIT_USAGE, "partner: --send: cannot open '%s': %s", body + 1, strerror(errno));
    size_t cap = 65536 + 1;
    *data = malloc(cap);
    if (!*data) {
        (void)fclose(f);
        return cli_out_of_memory();
    }
    *len = fread(*data, 1, cap, f);
    bool err = ferror(f) != 0;
    (void)fclose(f);
    if (err) {
        free(*data);
        *data = NULL;
        return cli_error(PLCIO_EXIT_USAGE, "partner: --send: cannot read '%s'", body + 1);
    }
    return PLCIO_EXIT_OK;
}

static bool printable(const uint8_t *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (d[i] < 0x20 || d[i] > 0x7E) return false;
    return true;
}

static void print_block(const partner_cli *c, uint32_t rid, const uint8_t *d, size_t n)
{
    if (c->json) {
        printf("{\"event\":\"recv\",\"r_id\":%lu,\"bytes\":%zu,\"hex\":\"", (unsigned long)rid, n);
        for (size_t i = 0; i < n; i++)
            printf("%02x", d[i]);
        printf("\"");
        if (printable(d, n)) {
            char *t = malloc(n + 1);
            if (t) {
                memcpy(t, d, n);
                t[n] = '\0';
                printf(",\"text\":");
                cli_json_string(stdout, t);
                free(t);
            }
        }
        printf("}\n");
    } else if (printable(d, n)) {
        printf("recv R-ID %lu: %zu bytes: %.*s\n", (unsigned long)rid, n, (int)n, (const char *)d);
    } else {
        printf("recv R-ID %lu: %zu bytes: hex ", (unsigned long)rid, n);
        for (size_t i = 0; i < n; i++)
            printf("%02x", d[i]);
        printf("\n");
    }
    fflush(stdout);
}

static void print_stats(const partner_cli *c, const plcio_s7_partner *p)
{
    plcio_s7_partner_stats s;
    plcio_s7_partner_get_stats(p, &s);
    double out_bps = s.send_ns ? (double)s.bytes_sent * 1e9 / (double)s.send_ns : 0;
    double in_bps = s.recv_ns ? (double)s.bytes_recv * 1e9 / (double)s.recv_ns : 0;
    if (c->json)
        printf("{\"event\":\"stats\",\"sent\":%llu,\"bytes_sent\":%llu,\"send_errors\":%llu,\"recv\":%llu,"
               "\"bytes_recv\":%llu,\"recv_errors\":%llu,\"links\":%llu,\"send_bytes_per_s\":%.0f,"
               "\"recv_bytes_per_s\":%.0f}\n",
               (unsigned long long)s.send_count, (unsigned long long)s.bytes_sent, (unsigned long long)s.send_errors,
               (unsigned long long)s.recv_count, (unsigned long long)s.bytes_recv, (unsigned long long)s.recv_errors,
               (unsigned long long)s.links, out_bps, in_bps);
    else
        printf("stats: sent %llu blocks (%llu bytes, %.0f B/s while sending), %llu send errors; received %llu "
               "blocks (%llu bytes), %llu receive errors; %llu links\n",
               (unsigned long long)s.send_count, (unsigned long long)s.bytes_sent, out_bps,
               (unsigned long long)s.send_errors, (unsigned long long)s.recv_count, (unsigned long long)s.bytes_recv,
               (unsigned long long)s.recv_errors, (unsigned long long)s.links);
    fflush(stdout);
}

static int remaining_ms(uint64_t until)
{
    if (!until) return 200;
    uint64_t now = plcio_monotonic_ns();
    if (now >= until) return 0;
    uint64_t ms = (until - now) / 1000000u;
    return ms > 200 ? 200 : (int)ms + 1;
}

static int wait_link(const partner_cli *c, plcio_s7_partner *p, uint64_t until)
{
    while (!stop_requested) {
        int rc = plcio_s7_partner_wait_linked(p, remaining_ms(until));
        if (rc == PLCIO_OK) {
            if (c->json) {
                printf("{\"event\":\"linked\",\"peer\":");
                cli_json_string(stdout, plcio_s7_partner_peer(p));
                printf(",\"pdu\":%u}\n", plcio_s7_partner_pdu_size(p));
            } else {
                printf("linked with %s (PDU %u)\n", plcio_s7_partner_peer(p), plcio_s7_partner_pdu_size(p));
            }
            fflush(stdout);
            return PLCIO_EXIT_OK;
        }
        if (until && plcio_monotonic_ns() >= until) {
            const plcio_error *e = plcio_s7_partner_last_error(p);
            bool why = e->code != PLCIO_OK && e->code != PLCIO_ETIMEDOUT;
            return cli_error(PLCIO_EXIT_FAILURE, "partner: no link within %g s%s%s", c->seconds,
                             why ? "; last error: " : "", why ? e->text : "");
        }
    }
    return cli_error(PLCIO_EXIT_FAILURE, "partner: stopped before the link was up");
}

static int do_sends(const partner_cli *c, plcio_s7_partner *p, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        bool bad = false;
        if (!cli_option(argc, argv, &i, "--send", &v, &bad)) continue;
        uint32_t rid = 0;
        uint8_t *data = NULL;
        size_t len = 0;
        int st = load_send(v, &rid, &data, &len);
        if (st || !data) return st ? st : PLCIO_EXIT_FAILURE;
        int rc = plcio_s7_partner_bsend(p, rid, data, len);
        free(data);
        if (rc != PLCIO_OK) return cli_error(PLCIO_EXIT_FAILURE, "partner: %s", plcio_s7_partner_last_error(p)->text);
        if (c->json)
            printf("{\"event\":\"sent\",\"r_id\":%lu,\"bytes\":%zu}\n", (unsigned long)rid, len);
        else
            printf("sent R-ID %lu: %zu bytes\n", (unsigned long)rid, len);
        fflush(stdout);
    }
    return PLCIO_EXIT_OK;
}

static int do_recv(const partner_cli *c, plcio_s7_partner *p, uint64_t until)
{
    static uint8_t buf[65536];
    unsigned long got = 0;
    while (!stop_requested && (!c->count || got < c->count)) {
        if (until && plcio_monotonic_ns() >= until) break;
        uint32_t rid;
        size_t n;
        int rc = plcio_s7_partner_brecv(p, &rid, buf, sizeof buf, &n, remaining_ms(until));
        if (rc == PLCIO_ETIMEDOUT) continue;
        if (rc != PLCIO_OK) return cli_error(PLCIO_EXIT_FAILURE, "partner: %s", plcio_s7_partner_last_error(p)->text);
        print_block(c, rid, buf, n);
        got++;
    }
    if (c->count && got < c->count)
        return cli_error(PLCIO_EXIT_FAILURE, "partner: %lu of %lu blocks received%s%s", got, c->count,
                         plcio_s7_partner_last_error(p)->code != PLCIO_OK ? "; last error: " : "",
                         plcio_s7_partner_last_error(p)->code != PLCIO_OK ? plcio_s7_partner_last_error(p)->text : "");
    return PLCIO_EXIT_OK;
}

static int run_partner(int argc, char **argv)
{
    partner_cli c;
    memset(&c, 0, sizeof c);
    plcio_s7_partner_options o;
    plcio_s7_partner_options_init(&o);
    o.logger.fn = plcio_log_to_stream; /* warnings (a link lost, a malformed PDU) on stderr */
    int st = parse_options(argc, argv, &c, &o);
    if (st) return st;
    plcio_error err = {0};
    plcio_s7_partner *p = NULL;
    bool active = c.active != NULL;
    if (plcio_s7_partner_new(active ? PLCIO_S7_PARTNER_ACTIVE : PLCIO_S7_PARTNER_PASSIVE, active ? c.active : c.passive,
                             &o, &p, &err) != PLCIO_OK)
        return cli_error(PLCIO_EXIT_USAGE, "partner: %s", err.text);
    (void)signal(SIGINT, on_signal);
    (void)signal(SIGTERM, on_signal);
    uint64_t until = c.seconds > 0 ? plcio_monotonic_ns() + (uint64_t)(c.seconds * 1e9) : 0;
    if (plcio_s7_partner_start(p) != PLCIO_OK) {
        st = cli_error(PLCIO_EXIT_FAILURE, "partner: %s", plcio_s7_partner_last_error(p)->text);
        plcio_s7_partner_free(p);
        return st;
    }
    if (!active && c.passive) {
        const char *colon = strrchr(c.passive, ':');
        int hl = colon ? (int)(colon - c.passive) : (int)strlen(c.passive);
        if (c.json)
            printf("{\"event\":\"listening\",\"address\":\"%.*s:%d\"}\n", hl, c.passive, plcio_s7_partner_port(p));
        else
            printf("listening on %.*s:%d\n", hl, c.passive, plcio_s7_partner_port(p));
        fflush(stdout);
    }
    st = wait_link(&c, p, until);
    if (!st) st = do_sends(&c, p, argc, argv);
    if (!st && c.recv) st = do_recv(&c, p, until);
    if (c.stats) print_stats(&c, p);
    plcio_s7_partner_free(p);
    return st;
}

const plcio_command plcio_cmd_partner = {&partner_spec, run_partner};
