/* The sync engine's output tests' rig (sync_rig.h). */
#include "sync_rig.h"

#include <stdlib.h>
#include <string.h>
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

void sync_rig_start_sync(sync_rig *r, const char *yaml)
{
    char cfg[160];
    snprintf(cfg, sizeof cfg, "%s/sync.yaml", r->dir);
    plcio_test_write_file(cfg, yaml);
    const char *syncv[] = {plcio_test_bin(), "sync", "--config", cfg, NULL};
    assert_int_equal(plcio_test_proc_start(&r->sync, syncv, "sync:", 10000, 100), 0);
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
