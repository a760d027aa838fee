/* snap7's client (node-snap7) against plcio's S7 server, with every frame
 * captured and judged by tshark's s7comm dissector.
 *
 * The server runs in this process (background thread, port 0); the node
 * script s7_server_snap7_client.js does the calls and checks their results;
 * this side checks what the writes did to the server's memory and that the
 * callbacks fired. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture.h"
#include "plcio/s7_server.h"
#include "plcio_test.h"

typedef struct counters {
    int writes, reads, stops, starts, clock_sets;
} counters;

static uint8_t on_read(void *ctx, const plcio_s7_server_access *acc, uint8_t *mem, size_t size)
{
    (void)acc;
    (void)mem;
    (void)size;
    ((counters *)ctx)->reads++;
    return PLCIO_S7_SERVER_ITEM_OK;
}

static void after_write(void *ctx, const plcio_s7_server_access *acc, uint8_t *mem, size_t size)
{
    (void)acc;
    (void)mem;
    (void)size;
    ((counters *)ctx)->writes++;
}

static void on_event(void *ctx, plcio_s7_server_event_kind kind, unsigned client, int detail)
{
    (void)client;
    (void)detail;
    counters *c = ctx;
    if (kind == PLCIO_S7_SERVER_EV_CPU_STOP) c->stops++;
    if (kind == PLCIO_S7_SERVER_EV_CPU_START) c->starts++;
    if (kind == PLCIO_S7_SERVER_EV_CLOCK_SET) c->clock_sets++;
}

static plcio_s7_server *start_server(counters *cnt)
{
    plcio_s7_server_options cfg;
    plcio_s7_server_options_init(&cfg);
    cfg.port = 0;
    cfg.max_connections = 100;
    cfg.identity.as_name = "PLCIO-TEST";
    cfg.identity.serial_number = "S C-TEST0042";
    cfg.identity.module_name = "Test module";
    cfg.callbacks.before_read = on_read;
    cfg.callbacks.after_write = after_write;
    cfg.callbacks.on_event = on_event;
    cfg.callbacks.ctx = cnt;
    plcio_s7_server *srv = NULL;
    assert_int_equal(plcio_s7_server_new(&cfg, &srv, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_DB, 1, 100, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_DB, 2, 3000, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_DB, 3, 10, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_DB, 1000, 65535, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_M, 0, 256, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_I, 0, 16, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_Q, 0, 16, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_T, 0, 64, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_C, 0, 64, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_DB, 1, 10, NULL), PLCIO_EEXIST);
    size_t size = 0;
    uint8_t *db1 = plcio_s7_server_area_data(srv, PLCIO_S7_SERVER_AREA_DB, 1, &size);
    assert_non_null(db1);
    assert_int_equal(size, 100);
    plcio_s7_server_lock_area(srv, PLCIO_S7_SERVER_AREA_DB, 1);
    for (size_t i = 0; i < 100; i++)
        db1[i] = (uint8_t)i;
    plcio_s7_server_unlock_area(srv, PLCIO_S7_SERVER_AREA_DB, 1);
    uint8_t *db2 = plcio_s7_server_area_data(srv, PLCIO_S7_SERVER_AREA_DB, 2, NULL);
    for (size_t i = 0; i < 3000; i++)
        db2[i] = (uint8_t)i;
    assert_int_equal(plcio_s7_server_start(srv), PLCIO_OK);
    assert_true(plcio_s7_server_port(srv) > 0);
    return srv;
}

/* tshark on loopback, when we may capture; returns false (and the test only
 * skips the dissector check) when tshark is missing or not allowed. */
static bool capture_start(plcio_test_proc *cap, const char *pcap, int port)
{
    if (geteuid() != 0 || access("/usr/bin/tshark", X_OK) != 0) return false;
    char filter[64];
    snprintf(filter, sizeof filter, "tcp port %d", port);
    unlink(pcap);
    const char *argv[] = {"tshark", "-q", "-i", "lo", "-f", filter, "-w", pcap, NULL};
    if (plcio_test_proc_start(cap, argv, NULL, 0, 120) != 0) return false;
    for (int i = 0; i < 100; i++) { /* the file appears when the capture runs */
        struct stat st;
        if (stat(pcap, &st) == 0 && st.st_size > 0) {
            plcio_test_sleep_ms(300);
            return true;
        }
        plcio_test_sleep_ms(100);
    }
    plcio_test_proc_stop(cap);
    return false;
}

/* Stops the capture once it holds the whole exchange: node is gone, so every
 * connection it opened has its FIN or RST in the file (a fixed pause before
 * stopping lost the last packets on a loaded or a fast machine). Returns
 * whether it did within 60 s. */
static bool capture_stop(plcio_test_proc *cap, const char *pcap, int port)
{
    bool whole = plcio_test_capture_wait_closed(pcap, port, 60000);
    pid_t group = cap->pid; /* tshark's group: dumpcap, its child, too */
    kill(cap->pid, SIGINT); /* let tshark flush the file */
    if (plcio_test_proc_wait(cap, 5000) < 0) plcio_test_proc_stop(cap);
    if (group > 0) kill(-group, SIGKILL);
    return whole;
}

/* The processes of the test, stopped by the teardown on every path (a failed
 * assertion, missing npm peers): tshark with its dumpcap, and node. */
static plcio_test_proc cap_proc = {0, -1, ""}, node_proc = {0, -1, ""};
static pid_t cap_group;

static int stop_all(void **state)
{
    (void)state;
    plcio_test_proc_stop(&node_proc);
    plcio_test_proc_stop(&cap_proc);
    if (cap_group > 0) kill(-cap_group, SIGKILL);
    cap_group = 0;
    return 0;
}

/* Run a shell command, return its stdout (malloc'd). */
static char *run_capture(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, len = 0;
    char *buf = calloc(1, cap);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0)
        len += n;
    pclose(p);
    return buf;
}

static void tshark_judge(const char *pcap, int port)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "tshark -o tcp.analyze_sequence_numbers:FALSE -r %s -d tcp.port==%d,tpkt -Y '(_ws.malformed || "
             "_ws.expert.severity >= warning) && !tcp.options.sack.dsack' 2>/dev/null",
             pcap, port);
    char *bad = run_capture(cmd);
    if (bad[0]) fprintf(stderr, "tshark objects to:\n%s\n", bad);
    assert_string_equal(bad, "");
    free(bad);
    snprintf(cmd, sizeof cmd,
             "tshark -o tcp.analyze_sequence_numbers:FALSE -r %s -d tcp.port==%d,tpkt -Y 's7comm.header.rosctr == 3 || "
             "s7comm.param.userdata.type == 8' "
             "2>/dev/null | wc -l",
             pcap, port);
    char *count = run_capture(cmd);
    int answers = atoi(count);
    free(count);
    printf("tshark: %d S7 answers from the server dissected, no warnings\n", answers);
    assert_true(answers > 60);
}

static void test_snap7_client(void **state)
{
    (void)state;
    counters cnt;
    memset(&cnt, 0, sizeof cnt);
    char node_path[600]; /* the peers first: when they are missing nothing has been started */
    snprintf(node_path, sizeof node_path, "%s", plcio_test_node_modules());
    setenv("NODE_PATH", node_path, 1);
    plcio_s7_server *srv = start_server(&cnt);
    int port = plcio_s7_server_port(srv);

    char pcap[256];
    snprintf(pcap, sizeof pcap, "/tmp/plcio_s7srv_snap7_%d.pcapng", (int)getpid());
    bool capturing = capture_start(&cap_proc, pcap, port);
    if (capturing) cap_group = cap_proc.pid;
    if (!capturing) printf("tshark capture not possible here: dissector check skipped\n");

    char script[512], port_s[16];
    snprintf(script, sizeof script, "%s/s7_server_snap7_client.js", PLCIO_INTEROP_DIR);
    snprintf(port_s, sizeof port_s, "%d", port);
    const char *argv[] = {"node", script, port_s, NULL};
    assert_int_equal(plcio_test_proc_start(&node_proc, argv, NULL, 0, 90), 0);
    char line[512];
    int failed_lines = 0;
    while (plcio_test_proc_read_line(&node_proc, line, sizeof line, 70000) == 0) {
        printf("  %s\n", line);
        if (!strncmp(line, "FAIL", 4)) failed_lines++;
    }
    int code = plcio_test_proc_wait(&node_proc, 10000);
    bool whole = capturing && capture_stop(&cap_proc, pcap, port);
    assert_int_equal(failed_lines, 0);
    assert_int_equal(code, 0);
    if (capturing) assert_true(whole);

    /* What the client did is what the server's memory shows. */
    uint8_t *db1 = plcio_s7_server_area_data(srv, PLCIO_S7_SERVER_AREA_DB, 1, NULL);
    assert_int_equal(db1[10], 0xDE);
    assert_int_equal(db1[13], 0xEF);
    assert_int_equal(db1[0], 1); /* DB1.DBX0.0 set on a 0 byte */
    uint8_t *m = plcio_s7_server_area_data(srv, PLCIO_S7_SERVER_AREA_M, 0, NULL);
    assert_int_equal(m[30], 0x09);
    uint8_t *t = plcio_s7_server_area_data(srv, PLCIO_S7_SERVER_AREA_T, 0, NULL);
    assert_int_equal(t[6], 0x12); /* timer 3 = bytes 6..7 */
    assert_int_equal(plcio_s7_server_get_cpu_state(srv), PLCIO_S7_SERVER_CPU_RUN);
    assert_true(cnt.writes >= 15);
    assert_true(cnt.reads >= 20);
    assert_int_equal(cnt.stops, 2);
    assert_int_equal(cnt.starts, 2);
    assert_int_equal(cnt.clock_sets, 1);

    plcio_s7_server_free(srv);
    if (capturing) {
        tshark_judge(pcap, port);
        unlink(pcap);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test_teardown(test_snap7_client, stop_all)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
