/* The sync engine's output tests' rig (sync_rig.h). */
#include "sync_rig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void sync_rig_start_plc(sync_rig *r)
{
    memset(r, 0, sizeof *r);
    snprintf(r->dir, sizeof r->dir, "/tmp/plcio-rig-XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    plcio_test_proc_init(&r->sim);
    plcio_test_proc_init(&r->sync);
    const char *simv[] = {plcio_test_bin(), "sim",   "s7",        "--listen", "127.0.0.1:0",
                          "--db",           "2:200", "--seconds", "100",      NULL};
    assert_int_equal(plcio_test_proc_start(&r->sim, simv, "listening on", 10000, 110), 0);
    r->plc_port = plcio_test_port_from_line(r->sim.line);
    r->out_port = plcio_test_free_port();
}

/* yaml with its "listen: 127.0.0.1:OLD" changed to port; malloc'd, NULL when
 * it has no such line. */
static char *with_port(const char *yaml, int old, int port)
{
    char from[64], to[64];
    snprintf(from, sizeof from, "listen: 127.0.0.1:%d\n", old);
    snprintf(to, sizeof to, "listen: 127.0.0.1:%d\n", port);
    const char *at = strstr(yaml, from);
    if (!at) return NULL;
    size_t head = (size_t)(at - yaml), cap = strlen(yaml) + sizeof to;
    char *out = malloc(cap);
    if (out) snprintf(out, cap, "%.*s%s%s", (int)head, yaml, to, at + strlen(from));
    return out;
}

/* Whether another process holds TCP port on 127.0.0.1 (we cannot bind it). */
static bool port_taken(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1; /* like the servers: a port in TIME_WAIT is not taken */
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    bool taken = bind(fd, (struct sockaddr *)&a, sizeof a) != 0 && errno == EADDRINUSE;
    close(fd);
    return taken;
}

void sync_rig_start_sync(sync_rig *r, const char *yaml)
{
    char cfg[160];
    snprintf(cfg, sizeof cfg, "%s/sync.yaml", r->dir);
    /* The engine's server output cannot listen on port 0 and say which port it
     * got (that log line is below the engine's log level), so out_port was
     * picked free and is bound only now: when another process took it in
     * between, the engine exits at once ("cannot listen on ...: already
     * exists"): then again on a new port, 5 times at most. */
    char *text = strdup(yaml);
    assert_non_null(text);
    for (int attempt = 1;; attempt++) {
        plcio_test_write_file(cfg, text);
        const char *syncv[] = {plcio_test_bin(), "sync", "--config", cfg, NULL};
        if (plcio_test_proc_start(&r->sync, syncv, "sync:", 10000, 100) == 0) break;
        bool taken = port_taken(r->out_port);
        int port = taken && attempt < 5 ? plcio_test_free_port() : 0;
        char *next = port ? with_port(text, r->out_port, port) : NULL;
        if (!next) {
            free(text);
            fail_msg("plcio sync did not start (%s)%s\n", cfg,
                     taken ? ": the port of its server was taken by another process 5 times in a row" : "");
        }
        fprintf(stderr, "sync_rig: port %d was taken by another process before the engine bound it; now %d\n",
                r->out_port, port);
        free(text);
        text = next;
        r->out_port = port;
    }
    free(text);
}

void sync_rig_plc_write(const sync_rig *r, const char *assignments)
{
    char cmd[600], out[600];
    snprintf(cmd, sizeof cmd, "%s write s7://127.0.0.1:%d %s 2>&1", plcio_test_bin(), r->plc_port, assignments);
    if (plcio_test_run(cmd, out, sizeof out) != 0) fail_msg("%s: %s\n", cmd, out);
}

void sync_rig_stop(sync_rig *r)
{
    plcio_test_proc_stop(&r->sync);
    plcio_test_proc_stop(&r->sim);
    if (r->dir[0]) {
        char path[128];
        snprintf(path, sizeof path, "%s/sync.yaml", r->dir);
        (void)unlink(path);
        (void)rmdir(r->dir);
        r->dir[0] = '\0';
    }
}
