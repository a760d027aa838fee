/* Runs a sync engine from YAML on the calling thread and measures it: the
 * one run_engine of the sync benchmarks (bench_sync_s7plus.c,
 * bench_sync_modbus.c, sync_bench.c; public API only). */
#ifndef PLCIO_BENCH_ENGINE_H
#define PLCIO_BENCH_ENGINE_H

#include <stdio.h>
#include <string.h>

#include "plcio/plcio.h"
#include "plcio/sync.h"
#include "bench_measure.h"

typedef struct bench_engine_run {
    double cycles_per_s; /* cycles per second of one group (averaged over the groups) */
    double cpu_s, elapsed_s, late;
    uint64_t cycles, updates, errors; /* summed over the groups, the measured window only */
    size_t tags;
    uint64_t notifications; /* summed over the groups (subscribed ones) */
} bench_engine_run;

typedef struct bench_engine_options {
    const char *base_dir; /* where the YAML's layouts are; NULL: the current directory */
    const char *shm_name; /* the engine's segment; NULL: no shared memory */
    double seconds;       /* measured for this long, after a second to connect and settle */
    /* Called after the measurement, before the engine is freed (NULL: none). */
    void (*after)(plcio_sync *s, const bench_engine_run *r, void *ctx);
    void *ctx;
} bench_engine_options;

static inline void bench_engine_sum(plcio_sync *s, uint64_t *cycles, uint64_t *late, uint64_t *errors,
                                    uint64_t *updates, uint64_t *notifications)
{
    plcio_sync_stats st;
    *cycles = *late = *errors = *updates = *notifications = 0;
    for (size_t i = 0; i < plcio_sync_group_count(s); i++) {
        plcio_sync_group_stats(s, i, &st);
        *cycles += st.cycles;
        *late += st.late;
        *errors += st.errors;
        *updates += st.cycles * st.tags;
        *notifications += st.notifications;
    }
}

/* Parse yaml, run the engine for o->seconds (plcio_sync_run_once back to
 * back) and sum the figures of its groups into *out. 0, or -1 with the
 * error on stderr. */
static inline int bench_run_engine(const char *yaml, const bench_engine_options *o, bench_engine_run *out)
{
    plcio_error err = {0};
    plcio_sync_config *cfg;
    if (plcio_sync_config_parse(yaml, strlen(yaml), "bench", o->base_dir, &cfg, &err) != PLCIO_OK) {
        fprintf(stderr, "config: %s\n", err.text);
        return -1;
    }
    plcio_sync_options so;
    memset(&so, 0, sizeof so);
    so.shm_name = o->shm_name;
    so.no_shm = o->shm_name == NULL;
    plcio_sync *s;
    if (plcio_sync_new(cfg, &so, &s, &err) != PLCIO_OK) {
        fprintf(stderr, "engine: %s\n", err.text);
        plcio_sync_config_free(cfg);
        return -1;
    }
    double settle = now_s() + 1.0;
    while (now_s() < settle)
        plcio_sync_run_once(s, 1);
    uint64_t cycles0, late0, errors0, updates0, notes0;
    bench_engine_sum(s, &cycles0, &late0, &errors0, &updates0, &notes0);
    double t0 = now_s(), c0 = thread_cpu_s();
    while (now_s() - t0 < o->seconds)
        plcio_sync_run_once(s, 1);
    out->elapsed_s = now_s() - t0;
    out->cpu_s = thread_cpu_s() - c0;
    uint64_t late;
    bench_engine_sum(s, &out->cycles, &late, &out->errors, &out->updates, &out->notifications);
    out->cycles -= cycles0;
    out->updates -= updates0;
    out->notifications -= notes0;
    out->late = (double)(late - late0);
    out->errors -= errors0;
    out->cycles_per_s = (double)out->cycles / out->elapsed_s / (double)plcio_sync_group_count(s);
    out->tags = plcio_sync_tag_count(s);
    if (o->after) o->after(s, out, o->ctx);
    plcio_sync_free(s);
    plcio_sync_config_free(cfg);
    return 0;
}

#endif
