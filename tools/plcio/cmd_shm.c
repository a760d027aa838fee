/* plcio shm NAME: inspect a sync engine's shared-memory segment (status, tag
 * table or its JSON rendition), follow it live, or write tags by name through
 * its write ring. Only the public reader API (include/plcio/shm.h). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "plcio/core.h"
#include "plcio/shm.h"
#include "shm_view.h"

#define USAGE                                                                                                          \
    "usage: plcio shm NAME [--json] [--watch] [--interval MS] [--seconds S]\n"                                         \
    "       plcio shm NAME --write TAG=VALUE... [--timeout MS]\n"                                                      \
    "NAME is the engine's --shm name (\"tank\" or \"/tank\": the file /dev/shm/tank)."

#define MAX_WRITES 64

typedef struct shm_options {
    char name[208];
    bool json, watch;
    unsigned interval_ms;
    double seconds;
    int timeout_ms;
    const char *writes[MAX_WRITES];
    size_t write_count;
} shm_options;

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int parse_number(const char *opt, const char *v, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || !(d >= lo && d <= hi))
        return cli_error(PLCIO_EXIT_USAGE, "%s '%s' is not a number in %g..%g", opt, v, lo, hi);
    *out = d;
    return PLCIO_EXIT_OK;
}

static int parse_value_option(int argc, char **argv, int *i, shm_options *o, bool *handled)
{
    const char *v = NULL;
    bool bad = false;
    double d = 0;
    int st = PLCIO_EXIT_OK;
    *handled = true;
    if (cli_option(argc, argv, i, "--interval", &v, &bad)) {
        if (!bad && (st = parse_number("--interval", v, 0, 3600000, &d)) == PLCIO_EXIT_OK) o->interval_ms = (unsigned)d;
    } else if (cli_option(argc, argv, i, "--seconds", &v, &bad)) {
        if (!bad && (st = parse_number("--seconds", v, 0.001, 1e7, &d)) == PLCIO_EXIT_OK) o->seconds = d;
    } else if (cli_option(argc, argv, i, "--timeout", &v, &bad)) {
        if (!bad && (st = parse_number("--timeout", v, 1, 3600000, &d)) == PLCIO_EXIT_OK) o->timeout_ms = (int)d;
    } else if (cli_option(argc, argv, i, "--write", &v, &bad)) {
        if (bad) return PLCIO_EXIT_USAGE;
        if (!strchr(v, '=') || v[0] == '=') return cli_error(PLCIO_EXIT_USAGE, "--write '%s' is not TAG=VALUE", v);
        if (o->write_count == MAX_WRITES) return cli_error(PLCIO_EXIT_USAGE, "at most %d --write", MAX_WRITES);
        o->writes[o->write_count++] = v;
    } else {
        *handled = false;
    }
    return bad ? PLCIO_EXIT_USAGE : st;
}

static int parse(int argc, char **argv, shm_options *o)
{
    memset(o, 0, sizeof *o);
    o->interval_ms = 250;
    o->timeout_ms = 5000;
    const char *name = NULL;
    for (int i = 1; i < argc; i++) {
        bool handled;
        int st = parse_value_option(argc, argv, &i, o, &handled);
        if (st != PLCIO_EXIT_OK) return st;
        if (handled) continue;
        if (!strcmp(argv[i], "--json"))
            o->json = true;
        else if (!strcmp(argv[i], "--watch"))
            o->watch = true;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return puts(USAGE), -1;
        else if (argv[i][0] == '-' || name)
            return cli_error(PLCIO_EXIT_USAGE, "unexpected '%s'\n%s", argv[i], USAGE);
        else
            name = argv[i];
    }
    if (!name) return cli_error(PLCIO_EXIT_USAGE, "which segment?\n%s", USAGE);
    size_t n = strlen(name);
    if (n == 0 || n > 200 || strchr(name + 1, '/'))
        return cli_error(PLCIO_EXIT_USAGE, "'%s' is not a segment name (up to 200 bytes, no '/' inside)", name);
    snprintf(o->name, sizeof o->name, "%s%s", name[0] == '/' ? "" : "/", name);
    if (o->write_count && (o->json || o->watch))
        return cli_error(PLCIO_EXIT_USAGE, "--write does not combine with --json or --watch");
    return PLCIO_EXIT_OK;
}

/* Attach; *rc keeps the library's answer (the caller may wait for a segment
 * that is not there yet). */
static int open_segment(const char *name, plcio_shm_reader **r, int *rc, bool quiet_missing)
{
    plcio_error msg = {0};
    *rc = plcio_shm_reader_new(name, r, &msg);
    if (*rc == PLCIO_OK) return PLCIO_EXIT_OK;
    bool missing = *rc == PLCIO_ENOTFOUND || *rc == PLCIO_EAGAIN;
    if (missing && quiet_missing) return PLCIO_EXIT_FAILURE;
    if (*rc == PLCIO_ENOTFOUND)
        return cli_error(PLCIO_EXIT_FAILURE,
                         "no shared memory segment %s (is the sync engine running? its --shm name?)", name);
    return cli_error(PLCIO_EXIT_FAILURE, "%s: %s", name, msg.text[0] ? msg.text : plcio_strerror(*rc));
}

static void print_status(FILE *out, plcio_shm_reader *r, const char *name)
{
    plcio_shm_status st;
    if (plcio_shm_reader_status(r, &st) != PLCIO_OK) return;
    const char *state = st.closed ? "closed" : st.engine_alive ? "alive" : "GONE (crashed?)";
    fprintf(out, "segment %s: engine pid %u %s, heartbeat %.1f s ago, generation %llu\n", name, st.engine_pid, state,
            (double)st.heartbeat_age_ns / 1e9, (unsigned long long)plcio_shm_reader_generation(r));
    fprintf(out, "  %u tags, %u image bytes, %u write slots, %llu bytes, format %u, layout hash %016llx\n",
            st.tag_count, st.image_size, st.write_slots, (unsigned long long)st.segment_size, st.version,
            (unsigned long long)st.layout_hash);
}

/* One rendition of the private copy: the engine's JSON text, or status + table. */
static int show(FILE *out, plcio_shm_reader *r, const shm_options *o, bool clear)
{
    int rc = plcio_shm_reader_refresh(r);
    for (int tries = 0; rc == PLCIO_EAGAIN && tries < 100; tries++)
        rc = plcio_shm_reader_refresh(r);
    if (rc != PLCIO_OK) return rc;
    if (o->json) {
        const char *json;
        size_t len;
        rc = plcio_shm_reader_json(r, &json, &len);
        if (rc == PLCIO_ENOTFOUND) {
            cli_error(PLCIO_EXIT_FAILURE, "%s has no JSON rendition (its engine was started without it)", o->name);
            return rc;
        }
        if (rc != PLCIO_OK) return rc;
        if (fwrite(json, 1, len, out) != len) return PLCIO_EIO;
        fputc('\n', out);
    } else {
        if (clear) fputs("\033[H\033[2J", out);
        print_status(out, r, o->name);
        shm_view_table(out, r, 48, 1);
    }
    fflush(out);
    return PLCIO_OK;
}

static uint64_t deadline_of(const shm_options *o, uint64_t start)
{
    return o->seconds > 0 ? start + (uint64_t)(o->seconds * 1e9) : UINT64_MAX;
}

static int remaining_ms(uint64_t deadline, int cap)
{
    uint64_t now = plcio_monotonic_ns();
    if (now >= deadline) return 0;
    uint64_t left = (deadline - now) / PLCIO_NS_PER_MS + 1;
    return left < (uint64_t)cap ? (int)left : cap;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR && !stop_requested) {
    }
}

/* Wait for a (new) segment of that name, ready and not closed. */
static plcio_shm_reader *wait_for_segment(const shm_options *o, uint64_t deadline, const char *why)
{
    fprintf(stderr, "plcio: %s %s; waiting for it\n", o->name, why);
    while (!stop_requested && plcio_monotonic_ns() < deadline) {
        plcio_shm_reader *r = NULL;
        if (plcio_shm_reader_new(o->name, &r, NULL) == PLCIO_OK) {
            plcio_shm_status st;
            if (plcio_shm_reader_status(r, &st) == PLCIO_OK && !st.closed) return r;
            plcio_shm_reader_free(r);
        }
        sleep_ms(200);
    }
    return NULL;
}

/* Re-render on every new generation, at most once per interval, until the
 * deadline or a signal. */
static int watch(plcio_shm_reader *r, const shm_options *o)
{
    bool clear = !o->json && isatty(STDOUT_FILENO);
    uint64_t start = plcio_monotonic_ns(), deadline = deadline_of(o, start);
    if (!r) r = wait_for_segment(o, deadline, "does not exist yet");
    if (!r && stop_requested) return PLCIO_EXIT_OK;
    if (!r) return cli_error(PLCIO_EXIT_FAILURE, "%s did not appear within %g s", o->name, o->seconds);
    int rc = show(stdout, r, o, clear);
    uint64_t last = plcio_monotonic_ns();
    while (rc == PLCIO_OK && !stop_requested && plcio_monotonic_ns() < deadline) {
        uint64_t gen = plcio_shm_reader_generation(r);
        int wrc = plcio_shm_reader_wait(r, gen, remaining_ms(deadline, 500), NULL);
        if (wrc == PLCIO_ECLOSED) {
            plcio_shm_reader_free(r);
            r = wait_for_segment(o, deadline, "was closed by its engine");
            if (!r) break;
            wrc = PLCIO_OK;
        }
        if (wrc == PLCIO_ETIMEDOUT) continue;
        if (wrc != PLCIO_OK) {
            rc = wrc;
            break;
        }
        uint64_t since = plcio_monotonic_ns() - last;
        if (since < (uint64_t)o->interval_ms * PLCIO_NS_PER_MS)
            sleep_ms((unsigned)(((uint64_t)o->interval_ms * PLCIO_NS_PER_MS - since) / PLCIO_NS_PER_MS));
        rc = show(stdout, r, o, clear);
        last = plcio_monotonic_ns();
    }
    plcio_shm_reader_free(r);
    if (rc != PLCIO_OK && rc != PLCIO_ENOTFOUND)
        return cli_error(PLCIO_EXIT_FAILURE, "%s: %s", o->name, plcio_strerror(rc));
    return rc == PLCIO_OK ? PLCIO_EXIT_OK : PLCIO_EXIT_FAILURE;
}

#define SUBMITTED 1 /* write_outcome.rc: queued, answer not collected yet (not a plcio_err) */

typedef struct write_outcome {
    int rc;                      /* of submit, or of the wait */
    plcio_shm_write_result res;  /* when rc is PLCIO_OK */
    char why[PLCIO_SHM_MSG_MAX]; /* the reader's reason for a refused submit */
} write_outcome;

static int left_ms(uint64_t deadline)
{
    uint64_t now = plcio_monotonic_ns();
    return now >= deadline ? 0 : (int)((deadline - now) / PLCIO_NS_PER_MS) + 1;
}

static void print_outcome(const char *write, const write_outcome *w, const shm_options *o)
{
    if (w->rc == PLCIO_OK && w->res.state == PLCIO_SHM_WRITE_DONE)
        printf("%s: done\n", write);
    else if (w->rc == PLCIO_OK)
        printf("%s: FAILED (%s%s%s)\n", write, plcio_strerror(w->res.error), w->res.message[0] ? ": " : "",
               w->res.message);
    else if (w->rc == PLCIO_ETIMEDOUT)
        printf("%s: NO ANSWER within %d ms (the request stays queued; the engine may still write it)\n", write,
               o->timeout_ms);
    else if (w->rc == PLCIO_ENOTFOUND && !w->why[0])
        printf("%s: FAILED (%s has no such tag; 'plcio shm %s' lists them)\n", write, o->name, o->name + 1);
    else
        printf("%s: FAILED (%s%s%s)\n", write, plcio_strerror(w->rc), w->why[0] ? ": " : "", w->why);
}

/* Submit every TAG=VALUE first (they travel together), waiting for a free
 * slot up to the deadline; when this process holds its share of the ring,
 * collect the oldest answer first. Then collect the rest, in order. */
static int write_all(plcio_shm_reader *r, const shm_options *o)
{
    static write_outcome out[MAX_WRITES];
    uint64_t ids[MAX_WRITES] = {0};
    size_t count = o->write_count, collected = 0; /* answers 0..collected-1 are in */
    uint64_t deadline = plcio_monotonic_ns() + (uint64_t)o->timeout_ms * PLCIO_NS_PER_MS;
    for (size_t i = 0; i < count; i++) {
        char tag[PLCIO_SHM_NAME_MAX + 1];
        const char *eq = strchr(o->writes[i], '=');
        size_t n = (size_t)(eq - o->writes[i]);
        snprintf(tag, sizeof tag, "%.*s", (int)(n < sizeof tag ? n : sizeof tag - 1), o->writes[i]);
        memset(&out[i], 0, sizeof out[i]);
        if (n >= sizeof tag) {
            out[i].rc = PLCIO_ENOTFOUND;
            continue;
        }
        for (;;) {
            out[i].rc = plcio_shm_reader_submit_text_wait(r, tag, eq + 1, left_ms(deadline), &ids[i]);
            if (out[i].rc != PLCIO_ELIMIT || collected >= i) break;
            if (out[collected].rc == SUBMITTED)
                out[collected].rc =
                    plcio_shm_reader_write_wait(r, ids[collected], left_ms(deadline), &out[collected].res);
            collected++;
        }
        if (out[i].rc != PLCIO_OK && out[i].rc != PLCIO_ENOTFOUND)
            snprintf(out[i].why, sizeof out[i].why, "%s", plcio_shm_reader_write_error(r));
        if (out[i].rc == PLCIO_OK) out[i].rc = SUBMITTED;
    }
    int status = PLCIO_EXIT_OK;
    for (size_t i = 0; i < count; i++) {
        if (out[i].rc == SUBMITTED) out[i].rc = plcio_shm_reader_write_wait(r, ids[i], left_ms(deadline), &out[i].res);
        print_outcome(o->writes[i], &out[i], o);
        if (!(out[i].rc == PLCIO_OK && out[i].res.state == PLCIO_SHM_WRITE_DONE)) status = PLCIO_EXIT_FAILURE;
    }
    fflush(stdout);
    return status;
}

static int run_shm(int argc, char **argv)
{
    shm_options o;
    int st = parse(argc, argv, &o);
    if (st < 0) return PLCIO_EXIT_OK;
    if (st != PLCIO_EXIT_OK) return st;
    plcio_shm_reader *r = NULL;
    int rc;
    st = open_segment(o.name, &r, &rc, o.watch);
    if (st != PLCIO_EXIT_OK && !(o.watch && (rc == PLCIO_ENOTFOUND || rc == PLCIO_EAGAIN))) return st;
    if (o.write_count) {
        st = write_all(r, &o);
        plcio_shm_reader_free(r);
        return st;
    }
    if (!o.watch) {
        rc = show(stdout, r, &o, false);
        plcio_shm_reader_free(r);
        if (rc == PLCIO_ENOTFOUND) return PLCIO_EXIT_FAILURE;
        return rc == PLCIO_OK ? PLCIO_EXIT_OK : cli_error(PLCIO_EXIT_FAILURE, "%s: %s", o.name, plcio_strerror(rc));
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    (void)signal(SIGPIPE, SIG_IGN); /* fails only for an invalid signal number */
    return watch(r, &o);
}

static const cli_opt shm_opts[] = {
    {"--json", NULL, "the tag table as one JSON object", 0},
    {"--watch", NULL, "follow the segment live", 0},
    {"--interval", "MS", "refresh interval for --watch (default 250)", 0},
    {"--seconds", "S", "stop --watch after S seconds", 0},
    {"--write", "TAG=VALUE", "write a tag by name through the segment's write ring", CLI_OPT_REPEAT},
    {"--timeout", "MS", "how long to wait for a write's answer (default 5000)", 0},
    {NULL, NULL, NULL, 0},
};

static const cli_spec shm_spec = {
    "shm",
    "NAME",
    "show a sync engine's shared memory (table or JSON), follow it, write tags by name",
    "NAME is the engine's --shm name (\"tank\" or \"/tank\": the file /dev/shm/tank).",
    shm_opts,
    NULL,
    NULL,
    NULL,
};

const plcio_command plcio_cmd_shm = {&shm_spec, run_shm};
