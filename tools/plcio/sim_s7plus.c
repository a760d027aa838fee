/* See sim_s7plus.h. */
#include "sim_s7plus.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

static plcio_s7_server_area s7_area(plcio_s7plus_area a)
{
    switch (a) {
    case PLCIO_S7PLUS_AREA_I: return PLCIO_S7_SERVER_AREA_I;
    case PLCIO_S7PLUS_AREA_Q: return PLCIO_S7_SERVER_AREA_Q;
    case PLCIO_S7PLUS_AREA_M: return PLCIO_S7_SERVER_AREA_M;
    default: return PLCIO_S7_SERVER_AREA_DB;
    }
}

/* Copy in or out of one of the S7 server's areas, under its lock. */
static int access_area(sim_s7plus *p, plcio_s7plus_area area, unsigned db, uint32_t start, uint32_t size, uint8_t *out,
                       const uint8_t *in)
{
    plcio_s7_server_area a = s7_area(area);
    uint16_t number = (uint16_t)(a == PLCIO_S7_SERVER_AREA_DB ? db : 0);
    if (!p->s7 || plcio_s7_server_lock_area(p->s7, a, number) != PLCIO_OK) return PLCIO_ENOTFOUND;
    size_t have = 0;
    uint8_t *mem = plcio_s7_server_area_data(p->s7, a, number, &have);
    int rc = PLCIO_ERANGE;
    if (mem && start <= have && size <= have - start) {
        if (out)
            memcpy(out, mem + start, size);
        else if (in)
            memcpy(mem + start, in, size);
        rc = PLCIO_OK;
    }
    plcio_s7_server_unlock_area(p->s7, a, number);
    return rc;
}

static int mem_read(void *ctx, plcio_s7plus_area area, unsigned db, uint32_t start, uint32_t size, uint8_t *out)
{
    return access_area(ctx, area, db, start, size, out, NULL);
}

static int mem_write(void *ctx, plcio_s7plus_area area, unsigned db, uint32_t start, uint32_t size, const uint8_t *data)
{
    return access_area(ctx, area, db, start, size, NULL, data);
}

static size_t mem_list_dbs(void *ctx, uint16_t *numbers, size_t cap)
{
    sim_s7plus *p = ctx;
    size_t n = 0;
    for (unsigned db = 1; db <= 65535 && n < cap && p->s7; db++)
        if (plcio_s7_server_area_data(p->s7, PLCIO_S7_SERVER_AREA_DB, (uint16_t)db, NULL)) numbers[n++] = (uint16_t)db;
    return n;
}

static int mem_cpu_state(void *ctx)
{
    sim_s7plus *p = ctx;
    return p->s7 && plcio_s7_server_get_cpu_state(p->s7) == PLCIO_S7_SERVER_CPU_STOP ? PLCIO_S7PLUS_CPU_STOP
                                                                                     : PLCIO_S7PLUS_CPU_RUN;
}

int sim_s7plus_option(int argc, char **argv, int *i, sim_s7plus *p, bool *taken)
{
    const char *v = NULL;
    bool bad = false;
    *taken = true;
    if (cli_option(argc, argv, i, "--no-s7plus", NULL, &bad))
        p->off = true;
    else if (cli_option(argc, argv, i, "--s7plus-tls-only", NULL, &bad))
        p->tls_only = true;
    else if (cli_option(argc, argv, i, "--s7plus-cert", &v, &bad))
        p->cert = v;
    else if (cli_option(argc, argv, i, "--s7plus-key", &v, &bad))
        p->key = v;
    else if (cli_option(argc, argv, i, "--s7plus-cert-out", &v, &bad))
        p->cert_out = v;
    else
        *taken = false;
    return bad ? PLCIO_EXIT_USAGE : PLCIO_EXIT_OK;
}

int sim_s7plus_attach(sim_s7plus *p, plcio_s7_server_options *cfg, const char *host)
{
    if (p->off) return PLCIO_EXIT_OK;
    plcio_s7plus_server_options o;
    plcio_s7plus_server_options_init(&o);
    o.allow_plain = !p->tls_only;
    o.cert_file = p->cert;
    o.key_file = p->key;
    char names[160];
    snprintf(names, sizeof names, "IP:127.0.0.1,DNS:localhost%s%s", strcmp(host, "127.0.0.1") ? ",DNS:" : "",
             strcmp(host, "127.0.0.1") ? host : "");
    o.cert_names = names;
    o.password = cfg->password; /* --password: the same for both protocols */
    if (cfg->password) o.protection_level = cfg->protection_level;
    o.memory.read = mem_read;
    o.memory.write = mem_write;
    o.memory.list_dbs = mem_list_dbs;
    o.memory.cpu_state = mem_cpu_state;
    o.memory.ctx = p;
    o.symbols = p->symbols;
    o.symbol_numbers = p->symbol_numbers;
    o.tags = p->tags;
    o.ntags = p->ntags;
    o.logger = cfg->logger;
    plcio_error err;
    if (plcio_s7plus_server_new(&o, &p->server, &err) != PLCIO_OK)
        return cli_error(PLCIO_EXIT_USAGE, "sim s7: S7CommPlus: %s", err.text);
    if (p->cert_out && plcio_s7plus_server_write_certificate(p->server, p->cert_out, &err) != PLCIO_OK)
        return cli_error(PLCIO_EXIT_FAILURE, "sim s7: %s", err.text);
    cfg->handoff.accept = plcio_s7plus_server_accept;
    cfg->handoff.feed = plcio_s7plus_server_conn_feed;
    cfg->handoff.output = plcio_s7plus_server_conn_output;
    cfg->handoff.output_done = plcio_s7plus_server_conn_output_done;
    cfg->handoff.close = plcio_s7plus_server_conn_close;
    cfg->handoff.ctx = p->server;
    cfg->handoff.tick = plcio_s7plus_server_conn_tick;
    printf("s7plus: TLS certificate %s%s\n", plcio_s7plus_server_fingerprint(p->server),
           p->tls_only ? "" : " (V1 sessions without TLS also accepted)");
    return PLCIO_EXIT_OK;
}

void sim_s7plus_free(sim_s7plus *p) { plcio_s7plus_server_free(p->server); }
