#include "sync_run.h"

#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
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
        if (g.subscribed)
            fprintf(out, "  group %-10s subscribed: %.1f notifications/s, %llu in all\n", g.name,
                    seconds > 0 ? (double)(g.notifications - prev[i].notifications) / seconds : 0,
                    (unsigned long long)g.notifications);
        prev[i] = g;
    }
    fflush(out);
}

/* Where this binary runs from (realpath of /proc/self/exe, without the file
 * name), or "" when unknown. */
static void exe_dir(char *dir, size_t cap)
{
    dir[0] = '\0';
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash) return;
    *slash = '\0';
    char *real = realpath(exe, NULL);
    if (real && strlen(real) < cap) snprintf(dir, cap, "%s", real);
    free(real);
}

/* The directory to put on PYTHONPATH for `import plcio`, or "" when python3
 * finds it by itself (or it is nowhere to be found). A binary running in its
 * build tree names the source tree's python/; an installed one names the
 * package `make install` put under its own PREFIX (PREFIX/lib/python3.X/
 * {dist,site}-packages, found from where the binary is, so a DESTDIR or a
 * moved PREFIX works too), except under /usr and /usr/local, which are on
 * python3's path already. Never a path baked in at build time for a binary
 * that is not in its build tree. */
static void python_dir(char *out, size_t cap)
{
    out[0] = '\0';
    char dir[PATH_MAX];
    exe_dir(dir, sizeof dir);
    if (!dir[0]) return;
    char *build = realpath(PLCIO_BUILD_DIR, NULL);
    bool in_build_tree = build && strcmp(build, dir) == 0;
    free(build);
    if (in_build_tree) {
        if (access(PLCIO_PYTHON_DIR "/plcio/__init__.py", R_OK) == 0) snprintf(out, cap, "%s", PLCIO_PYTHON_DIR);
        return;
    }
    char *slash = strrchr(dir, '/'); /* PREFIX/bin -> PREFIX; /bin: the system's */
    if (!slash || slash == dir || strcmp(slash, "/bin") != 0) return;
    *slash = '\0';
    if (!strcmp(dir, "/usr") || !strcmp(dir, "/usr/local")) return;
    char pattern[PATH_MAX + 64];
    snprintf(pattern, sizeof pattern, "%s/lib/python3*/*-packages/plcio/__init__.py", dir);
    glob_t g;
    if (glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc > 0) {
        char *found = g.gl_pathv[0];
        size_t len = strlen(found) - strlen("/plcio/__init__.py");
        if (len < cap) snprintf(out, cap, "%.*s", (int)len, found);
    }
    globfree(&g);
}

void sync_run_print_attach(FILE *out, const char *shm_name)
{
    const char *bare = shm_name[0] == '/' ? shm_name + 1 : shm_name;
    char py[PATH_MAX];
    python_dir(py, sizeof py);
    bool here = py[0] != '\0';
    fprintf(out, "Attach from Python: %s%s%spython3 -c 'import plcio; print(plcio.open(\"%s\").read())'\n",
            here ? "PYTHONPATH=" : "", here ? py : "", here ? " " : "", bare);
    fprintf(out, "          or watch: plcio shm %s --watch   (C: plcio_shm_reader_new(\"%s\", ...); docs/shm.md)\n",
            bare, shm_name);
    fflush(out);
}
