/* The write ring under a race: an engine that serves the ring as fast as it
 * can (no PLC) and C writer processes; test_ring_race.py adds Python writers.
 *
 *   plcio_ring_race engine NAME SECONDS PER_0 PER_1 ...
 *       creates NAME with TAGS writable LINT tags "w<W>_t<K>" per writer W
 *       and serves the ring until writer W's PER_W writes arrived, for every
 *       W (or SECONDS passed). Writer W's write number N goes to tag
 *       w<W>_t<N % TAGS> with the value W * 10^12 + (N % TAGS) * 10^9 + N, so
 *       the engine checks each write landed on the tag its value names
 *       (misdirected), arrived once (duplicate) and that none is missing
 *       (lost). Every answer carries the value text it executed, so the
 *       writer checks it got its own answer. Prints "ready", then
 *       "served S misdirected M duplicates D lost L seconds T"; exit 0 when
 *       S is the total and M, D, L are 0.
 *   plcio_ring_race writer NAME W PER_WRITER
 *       writes its PER_WRITER values through the C reader, pipelined up to its
 *       share of the slots, and checks every answer: DONE, and the text it
 *       sent. Prints "writer W: done N wrong A"; exit 0 when all are right.
 * Both exit by themselves (the engine after SECONDS, a writer when the
 * engine is gone). */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plcio/plcio.h"

#define TAGS     4
#define PIPE_MAX 64

static int64_t value_of(unsigned w, unsigned long n)
{
    return (int64_t)w * 1000000000000LL + (int64_t)(n % TAGS) * 1000000000LL + (int64_t)n;
}

static int64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return (int64_t)v;
}

static int run_engine(const char *name, double seconds, unsigned writers, const unsigned long *per)
{
    size_t count = (size_t)writers * TAGS;
    plcio_shm_tag_def *defs = calloc(count, sizeof *defs);
    char(*names)[32] = calloc(count, sizeof *names);
    uint8_t **seen = calloc(writers, sizeof *seen);
    if (!defs || !names || !seen) abort(); /* a test helper: no memory, no test */
    for (unsigned w = 0; w < writers; w++) {
        seen[w] = calloc(per[w] ? per[w] : 1, 1);
        if (!seen[w]) abort();
        for (unsigned k = 0; k < TAGS; k++) {
            size_t i = (size_t)w * TAGS + k;
            snprintf(names[i], sizeof names[i], "w%u_t%u", w, k);
            defs[i] = (plcio_shm_tag_def){names[i], PLCIO_TYPE_LINT, 0, 0, true};
        }
    }
    /* access from the environment: RACE_DATA_MODE (octal), RACE_DATA_GROUP, RACE_RING_MODE, RACE_RING_GROUP */
    plcio_shm_options o;
    memset(&o, 0, sizeof o);
    const char *e;
    if ((e = getenv("RACE_DATA_MODE"))) o.data.mode = (unsigned)strtoul(e, NULL, 8);
    if ((e = getenv("RACE_RING_MODE"))) o.ring.mode = (unsigned)strtoul(e, NULL, 8);
    o.data.group = getenv("RACE_DATA_GROUP");
    o.ring.group = getenv("RACE_RING_GROUP");
    plcio_shm_writer *sw = NULL;
    plcio_error msg = {0};
    if (plcio_shm_writer_new(name, defs, count, &o, &sw, &msg) != PLCIO_OK) {
        fprintf(stderr, "engine: %s\n", msg.text);
        return 2;
    }
    plcio_shm_writer_publish(sw, NULL);
    printf("ready\n");
    fflush(stdout);
    uint64_t start = plcio_monotonic_ns(), end = start + (uint64_t)(seconds * 1e9), last_beat = start;
    unsigned long long total = 0, served = 0, misdirected = 0, dups = 0;
    for (unsigned w = 0; w < writers; w++)
        total += per[w];
    while (served < total && plcio_monotonic_ns() < end) {
        plcio_shm_write_request req;
        if (plcio_shm_writer_next_write(sw, &req) != PLCIO_OK) {
            plcio_shm_writer_wait_requests(sw, 50);
            if (plcio_monotonic_ns() - last_beat > 200 * PLCIO_NS_PER_MS) {
                plcio_shm_writer_heartbeat(sw);
                last_beat = plcio_monotonic_ns();
            }
            continue;
        }
        int64_t v = be64(req.data);
        unsigned w = (unsigned)(v / 1000000000000LL), k = (unsigned)(v / 1000000000LL % 1000);
        unsigned long n = (unsigned long)(v % 1000000000LL);
        /* the tag the value names, and the tag the engine resolved, must be one */
        if (w >= writers || n >= per[w] || k != n % TAGS || req.tag != (size_t)w * TAGS + k) {
            misdirected++;
            plcio_shm_writer_complete(sw, req.slot, PLCIO_EINVAL, "misdirected");
            continue;
        }
        if (seen[w][n]) dups++;
        seen[w][n] = 1;
        plcio_shm_writer_set(sw, req.tag, req.data, req.size, 0, NULL);
        plcio_shm_writer_complete(sw, req.slot, PLCIO_OK, req.text);
        served++;
    }
    unsigned long long lost = 0;
    for (unsigned w = 0; w < writers; w++)
        for (unsigned long n = 0; n < per[w]; n++)
            lost += !seen[w][n];
    plcio_shm_writer_publish(sw, NULL);
    printf("served %llu misdirected %llu duplicates %llu lost %llu seconds %.1f\n", served, misdirected, dups, lost,
           (double)(plcio_monotonic_ns() - start) / 1e9);
    fflush(stdout);
    /* answers are collected by the writers: give them a moment before the ring goes */
    for (int i = 0; i < 20; i++) {
        plcio_shm_writer_heartbeat(sw);
        plcio_shm_writer_wait_requests(sw, 50);
    }
    plcio_shm_writer_free(sw);
    for (unsigned w = 0; w < writers; w++)
        free(seen[w]);
    free(seen);
    free(names);
    free(defs);
    return served == total && !misdirected && !dups && !lost ? 0 : 1;
}

typedef struct pending {
    uint64_t id;
    char text[32];
} pending;

static int collect(plcio_shm_reader *r, const pending *p, unsigned long *wrong)
{
    plcio_shm_write_result res;
    int rc = plcio_shm_reader_write_wait(r, p->id, 60000, &res);
    if (rc != PLCIO_OK || res.state != PLCIO_SHM_WRITE_DONE || strcmp(res.message, p->text) != 0) {
        if (*wrong < 5)
            fprintf(stderr, "writer: %s -> rc %s state %d message '%s'\n", p->text, plcio_err_name(rc), res.state,
                    res.message);
        ++*wrong;
    }
    return rc;
}

static int run_writer(const char *name, unsigned w, unsigned long per)
{
    plcio_shm_reader *r = NULL;
    plcio_error msg = {0};
    if (plcio_shm_reader_new(name, &r, &msg) != PLCIO_OK) {
        fprintf(stderr, "writer %u: %s\n", w, msg.text);
        return 2;
    }
    static pending ring[PIPE_MAX];
    size_t head = 0, tail = 0; /* pending answers ring[tail..head) */
    unsigned long wrong = 0, done = 0;
    for (unsigned long n = 0; n < per; n++) {
        pending *p = &ring[head % PIPE_MAX];
        char tag[32];
        snprintf(tag, sizeof tag, "w%u_t%lu", w, n % TAGS);
        snprintf(p->text, sizeof p->text, "%" PRId64, value_of(w, n));
        for (;;) {
            int rc = head - tail < PIPE_MAX ? plcio_shm_reader_submit_text_wait(r, tag, p->text, 30000, &p->id)
                                            : PLCIO_ELIMIT;
            if (rc == PLCIO_OK) break;
            if (rc != PLCIO_ELIMIT || head == tail) {
                fprintf(stderr, "writer %u: submit %s: %s\n", w, p->text, plcio_shm_reader_write_error(r));
                plcio_shm_reader_free(r);
                return 1;
            }
            collect(r, &ring[tail++ % PIPE_MAX], &wrong); /* our share is in use: take an answer first */
            done++;
        }
        head++;
    }
    while (tail < head) {
        collect(r, &ring[tail++ % PIPE_MAX], &wrong);
        done++;
    }
    printf("writer %u: done %lu wrong %lu\n", w, done - wrong, wrong);
    plcio_shm_reader_free(r);
    return wrong ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 5 && argc <= 4 + 64 && !strcmp(argv[1], "engine")) {
        unsigned long per[64];
        for (int i = 4; i < argc; i++)
            per[i - 4] = strtoul(argv[i], NULL, 10);
        return run_engine(argv[2], atof(argv[3]), (unsigned)(argc - 4), per);
    }
    if (argc == 5 && !strcmp(argv[1], "writer"))
        return run_writer(argv[2], (unsigned)atoi(argv[3]), strtoul(argv[4], NULL, 10));
    fprintf(stderr, "usage: plcio_ring_race engine NAME SECONDS PER_0 PER_1... | writer NAME W PER_WRITER\n");
    return 2;
}
