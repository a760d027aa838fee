/* The in-process simulator the S7CommPlus benchmarks run against: plcio's S7
 * server with the S7CommPlus handoff (as `plcio sim s7` runs it) on its own
 * thread; the S7CommPlus side reads and writes the S7 server's DBs. One copy
 * for bench_s7plus*.c and bench_sync_s7plus.c (public API only,
 * scripts/check-layers.sh). */
#ifndef PLCIO_BENCH_SIM_H
#define PLCIO_BENCH_SIM_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plcio/plcio.h"

typedef struct bench_sim {
    plcio_s7_server *srv;
    plcio_s7plus_server *plus;
    unsigned port;
    char cert[64]; /* the server's certificate for a client's ?ca= (TLS); "" without TLS */
} bench_sim;

/* DB bytes [start, start + size) copied to out (out != NULL) or from in,
 * under the area's lock: PLCIO_OK, PLCIO_ENOTFOUND or PLCIO_ERANGE. */
static inline int bench_sim_mem(bench_sim *sim, plcio_s7plus_area area, unsigned db, uint32_t start, uint32_t size,
                                uint8_t *out, const uint8_t *in)
{
    if (area != PLCIO_S7PLUS_AREA_DB) return PLCIO_ENOTFOUND;
    size_t have = 0;
    if (plcio_s7_server_lock_area(sim->srv, PLCIO_S7_SERVER_AREA_DB, (uint16_t)db) != PLCIO_OK) return PLCIO_ENOTFOUND;
    uint8_t *m = plcio_s7_server_area_data(sim->srv, PLCIO_S7_SERVER_AREA_DB, (uint16_t)db, &have);
    int rc = PLCIO_ERANGE;
    if (m && start <= have && size <= have - start) {
        if (out)
            memcpy(out, m + start, size);
        else if (in)
            memcpy(m + start, in, size);
        rc = PLCIO_OK;
    }
    plcio_s7_server_unlock_area(sim->srv, PLCIO_S7_SERVER_AREA_DB, (uint16_t)db);
    return rc;
}

/* The S7CommPlus server's memory callbacks (ctx = the bench_sim). */
static inline int bench_sim_read(void *ctx, plcio_s7plus_area a, unsigned db, uint32_t s, uint32_t n, uint8_t *out)
{
    return bench_sim_mem(ctx, a, db, s, n, out, NULL);
}
static inline int bench_sim_write(void *ctx, plcio_s7plus_area a, unsigned db, uint32_t s, uint32_t n,
                                  const uint8_t *in)
{
    return bench_sim_mem(ctx, a, db, s, n, NULL, in);
}

/* Start the simulator on 127.0.0.1, a port of its own (sim->port), with DBs
 * 1..n_dbs of db_size bytes each. po: initialised by the caller, with any
 * options of its own set; its memory read/write/ctx are set here. With
 * po->tls the certificate is written to a temporary file (sim->cert). tick:
 * the handoff's tick too (subscriptions). 0, or -1 with a message to stderr
 * prefixed by `who`. */
static inline int bench_sim_start(bench_sim *sim, plcio_s7plus_server_options *po, unsigned n_dbs, size_t db_size,
                                  bool tick, const char *who)
{
    memset(sim, 0, sizeof *sim);
    po->memory.read = bench_sim_read;
    po->memory.write = bench_sim_write;
    po->memory.ctx = sim;
    plcio_error err = {0};
    if (plcio_s7plus_server_new(po, &sim->plus, &err)) {
        fprintf(stderr, "%s: %s\n", who, err.text);
        return -1;
    }
    if (po->tls) {
        snprintf(sim->cert, sizeof sim->cert, "/tmp/plcio-bench-sim-XXXXXX");
        int fd = mkstemp(sim->cert);
        if (fd < 0 || close(fd) != 0 || plcio_s7plus_server_write_certificate(sim->plus, sim->cert, &err)) {
            fprintf(stderr, "%s: certificate: %s\n", who, err.text);
            return -1;
        }
    }
    plcio_s7_server_options so;
    plcio_s7_server_options_init(&so);
    so.port = 0;
    so.handoff.accept = plcio_s7plus_server_accept;
    so.handoff.feed = plcio_s7plus_server_conn_feed;
    so.handoff.output = plcio_s7plus_server_conn_output;
    so.handoff.output_done = plcio_s7plus_server_conn_output_done;
    so.handoff.close = plcio_s7plus_server_conn_close;
    if (tick) so.handoff.tick = plcio_s7plus_server_conn_tick;
    so.handoff.ctx = sim->plus;
    int rc = plcio_s7_server_new(&so, &sim->srv, &err);
    for (unsigned db = 1; rc == PLCIO_OK && db <= n_dbs; db++)
        rc = plcio_s7_server_add_area(sim->srv, PLCIO_S7_SERVER_AREA_DB, (uint16_t)db, db_size, NULL);
    if (rc != PLCIO_OK || plcio_s7_server_start(sim->srv) != PLCIO_OK) {
        fprintf(stderr, "%s: server: %s\n", who, err.text);
        return -1;
    }
    sim->port = plcio_s7_server_port(sim->srv);
    return 0;
}

/* Stop the simulator and remove its certificate file. */
static inline void bench_sim_free(bench_sim *sim)
{
    plcio_s7_server_free(sim->srv);
    plcio_s7plus_server_free(sim->plus);
    if (sim->cert[0]) (void)remove(sim->cert);
    memset(sim, 0, sizeof *sim);
}

#endif
