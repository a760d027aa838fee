#include "sync_run.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static plcio_sync *volatile running;
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
    if (running) plcio_sync_stop(running); /* async-signal-safe */
}

void sync_run_signals_on(plcio_sync *s)
{
    running = s;
    interrupted = 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    (void)signal(SIGPIPE, SIG_IGN); /* fails only for an invalid signal number */
}

void sync_run_signals_off(void)
{
    (void)signal(SIGINT, SIG_DFL);
    (void)signal(SIGTERM, SIG_DFL);
    running = NULL;
}

bool sync_run_interrupted(void) { return interrupted != 0; }

static double ms(uint64_t ns) { return (double)ns / 1e6; }

void sync_run_print_stats(FILE *out, const plcio_sync *s, plcio_sync_stats *prev, double seconds)
{
    for (size_t i = 0; i < plcio_sync_device_count(s); i++) {
        plcio_sync_stats d;
        if (plcio_sync_device_stats(s, i, &d) != PLCIO_OK) continue;
        fprintf(out, "%-16s %s", d.name, d.connected ? "connected" : "DOWN");
        if (!d.connected && d.last_message && d.last_message[0]) fprintf(out, " (%s)", d.last_message);
        fprintf(out, ", %llu connection errors\n", (unsigned long long)d.errors);
    }
    for (size_t i = 0; i < plcio_sync_group_count(s); i++) {
        plcio_sync_stats g;
        if (plcio_sync_group_stats(s, i, &g) != PLCIO_OK) continue;
        double rate = seconds > 0 ? (double)(g.cycles - prev[i].cycles) / seconds : 0;
        double kbps = seconds > 0 ? (double)(g.bytes - prev[i].bytes) / seconds / 1024.0 : 0;
        fprintf(out,
                "  group %-10s %4zu tags every %u ms: %7.1f cycles/s, cycle %.2f/%.2f/%.2f ms (min/avg/max), "
                "jitter %.2f/%.2f ms (avg/max), %.1f KiB/s, late %llu, errors %llu\n",
                g.name, g.tags, g.interval_ms, rate, ms(g.cycle_min_ns), ms(g.cycle_avg_ns), ms(g.cycle_max_ns),
                ms(g.jitter_avg_ns), ms(g.jitter_max_ns), kbps, (unsigned long long)g.late,
                (unsigned long long)g.errors);
        prev[i] = g;
    }
    fflush(out);
}

void sync_run_print_attach(FILE *out, const char *shm_name)
{
    const char *bare = shm_name[0] == '/' ? shm_name + 1 : shm_name;
    /* The Python package sits in the source tree (python/plcio); name it when
     * this binary was built from a tree that is still there. */
    const char *py = PLCIO_PYTHON_DIR;
    bool here = access(py, R_OK) == 0;
    fprintf(out, "Attach from Python: %s%s%spython3 -c 'import plcio; print(plcio.open(\"%s\").read())'\n",
            here ? "PYTHONPATH=" : "", here ? py : "", here ? " " : "", bare);
    fprintf(out, "          or watch: plcio shm %s --watch   (C: plcio_shm_reader_new(\"%s\", ...); docs/shm.md)\n",
            bare, shm_name);
    fflush(out);
}
