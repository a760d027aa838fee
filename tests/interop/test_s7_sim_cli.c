/* `plcio sim s7` as a process: the ready line, nodes7 against it (every frame
 * judged by tshark when capturing is possible), exit on --seconds, and
 * usage errors with exit status 2. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture.h"
#include "net/net.h"
#include "plcio_test.h"
#include "s7/s7_codec.h"

static const char *plcio_bin(void)
{
    const char *bin = getenv("PLCIO_BIN");
    if (!bin) fail_msg("PLCIO_BIN is not set");
    return bin;
}

static bool capture_start(plcio_test_proc *cap, const char *pcap, int port)
{
    if (geteuid() != 0 || access("/usr/bin/tshark", X_OK) != 0) return false;
    char filter[64];
    snprintf(filter, sizeof filter, "tcp port %d", port);
    unlink(pcap);
    const char *argv[] = {"tshark", "-q", "-i", "lo", "-f", filter, "-w", pcap, NULL};
    if (plcio_test_proc_start(cap, argv, NULL, 0, 120) != 0) return false;
    for (int i = 0; i < 100; i++) {
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

static int count_lines(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof line, p)) {
        fprintf(stderr, "%s", line);
        n++;
    }
    pclose(p);
    return n;
}

/* Every process a test starts, stopped by the teardown on every path: a failed
 * assertion, a missing peer (plcio_test_node_modules fails the test) or a
 * normal end. tshark runs dumpcap as a child in its process group: the whole
 * group is killed, not only tshark. */
typedef struct procs {
    plcio_test_proc sim, cap, node;
    pid_t cap_group; /* tshark's process group, dumpcap included; 0 when none */
    char pcap[256];
} procs;

static int procs_setup(void **state)
{
    procs *p = calloc(1, sizeof *p);
    if (!p) return -1;
    p->sim.stdout_fd = p->cap.stdout_fd = p->node.stdout_fd = -1;
    *state = p;
    return 0;
}

static int procs_teardown(void **state)
{
    procs *p = *state;
    plcio_test_proc_stop(&p->node);
    plcio_test_proc_stop(&p->cap);
    if (p->cap_group > 0) kill(-p->cap_group, SIGKILL); /* dumpcap, if tshark left it */
    plcio_test_proc_stop(&p->sim);
    if (p->pcap[0]) unlink(p->pcap);
    free(p);
    return 0;
}

static void test_nodes7_against_sim(void **state)
{
    procs *pr = *state;
    /* The peers first: when they are missing nothing has been started yet. */
    setenv("NODE_PATH", plcio_test_node_modules(), 1);
    const char *argv[] = {plcio_bin(), "sim",  "s7",     "--listen", "127.0.0.1:0", "--db", "1:200",
                          "--db",      "2:20", "--area", "M:64",     "--seconds",   "60",   NULL};
    plcio_test_proc *sim = &pr->sim;
    assert_int_equal(plcio_test_proc_start(sim, argv, "listening on ", 10000, 90), 0);
    int port = plcio_test_port_from_line(sim->line);
    assert_true(port > 0);
    assert_non_null(strstr(sim->line, "127.0.0.1:"));

    char *pcap = pr->pcap;
    snprintf(pcap, sizeof pr->pcap, "/tmp/plcio_s7sim_nodes7_%d.pcapng", (int)getpid());
    plcio_test_proc *cap = &pr->cap;
    bool capturing = capture_start(cap, pcap, port);
    if (capturing) pr->cap_group = cap->pid;

    char script[512], port_s[16];
    snprintf(script, sizeof script, "%s/s7_server_nodes7_client.js", PLCIO_INTEROP_DIR);
    snprintf(port_s, sizeof port_s, "%d", port);
    const char *nargv[] = {"node", script, port_s, NULL};
    plcio_test_proc *node = &pr->node;
    assert_int_equal(plcio_test_proc_start(node, nargv, NULL, 0, 60), 0);
    char line[512];
    int failed = 0;
    while (plcio_test_proc_read_line(node, line, sizeof line, 40000) == 0) {
        printf("  %s\n", line);
        if (!strncmp(line, "FAIL", 4)) failed++;
    }
    int code = plcio_test_proc_wait(node, 10000);
    bool whole = false;
    if (capturing) {
        /* node is gone: once every connection it opened has its FIN or RST in
         * the file, the file holds the whole exchange (no fixed pause: that
         * lost the last packets on a loaded or a fast machine) */
        whole = plcio_test_capture_wait_closed(pcap, port, 60000);
        kill(cap->pid, SIGINT);
        if (plcio_test_proc_wait(cap, 5000) < 0) plcio_test_proc_stop(cap);
        kill(-pr->cap_group, SIGKILL); /* tshark is gone: nothing of its group may stay */
        pr->cap_group = 0;
    }
    plcio_test_proc_stop(sim);
    assert_int_equal(failed, 0);
    assert_int_equal(code, 0);
    if (capturing) {
        assert_true(whole);
        char cmd[512];
        snprintf(cmd, sizeof cmd,
                 "tshark -o tcp.analyze_sequence_numbers:FALSE -r %s -d tcp.port==%d,tpkt -Y '(_ws.malformed || "
                 "_ws.expert.severity >= warning) && !tcp.options.sack.dsack' 2>/dev/null",
                 pcap, port);
        assert_int_equal(count_lines(cmd), 0);
        snprintf(cmd, sizeof cmd,
                 "tshark -o tcp.analyze_sequence_numbers:FALSE -r %s -d tcp.port==%d,tpkt -Y 's7comm.header.rosctr == "
                 "3' 2>/dev/null",
                 pcap, port);
        FILE *p = popen(cmd, "r");
        int n = 0;
        while (fgets(line, sizeof line, p))
            n++;
        pclose(p);
        printf("tshark: %d ack-data frames from the simulator, no warnings\n", n);
        assert_true(n >= 4);
    }
}

static void test_seconds_and_usage(void **state)
{
    procs *pr = *state;
    const char *ok[] = {plcio_bin(), "sim", "s7", "--listen", "127.0.0.1:0", "--seconds", "0.5", NULL};
    plcio_test_proc *pp = &pr->sim; /* one at a time, stopped by the teardown on failure */
    assert_int_equal(plcio_test_proc_start(pp, ok, "listening on ", 10000, 30), 0);
    assert_int_equal(plcio_test_proc_wait(pp, 10000), 0);

    static const char *const bad[][8] = {
        {"sim", "s7", "--db", "0:10", NULL},
        {"sim", "s7", "--db", "1:70000", NULL},
        {"sim", "s7", "--db", "1", NULL},
        {"sim", "s7", "--area", "X:10", NULL},
        {"sim", "s7", "--pdu", "100", NULL},
        {"sim", "s7", "--listen", "nohostport", NULL},
        {"sim", "s7", "--bogus", NULL},
        {"sim", "s7", "--db", "1:10", "--db", "1:20", NULL},
        {"sim", "s7", "--protection", "3", NULL},
        {"sim", "s7", "--seconds", NULL},
        {"sim", "nope", NULL},
        {"sim", NULL},
        {"sim", "s7", "--db", "7:/nonexistent/db.db", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *argv[10] = {plcio_bin()};
        for (int j = 0; bad[i][j]; j++)
            argv[j + 1] = bad[i][j];
        assert_int_equal(plcio_test_proc_start(pp, argv, NULL, 0, 10), 0);
        int code = plcio_test_proc_wait(pp, 5000);
        if (code != 2) fail_msg("case %zu: exit %d, want 2", i, code);
    }
}

/* One request/answer exchange on a raw socket with the codec's encoders. */
static void exchange(int fd, const uint8_t *frame, size_t len, uint8_t *rx, size_t cap, size_t *rx_len)
{
    assert_int_equal(net_send_all(fd, frame, len, net_deadline(3000), NULL), PLCIO_OK);
    assert_int_equal(net_recv_exact(fd, rx, 4, net_deadline(3000)), PLCIO_OK);
    *rx_len = (size_t)rx[2] << 8 | rx[3];
    assert_true(*rx_len >= 7 && *rx_len <= cap);
    assert_int_equal(net_recv_exact(fd, rx + 4, *rx_len - 4, net_deadline(3000)), PLCIO_OK);
}

static void test_db_from_layout(void **state)
{
    procs *pr = *state;
    char layout[512];
    snprintf(layout, sizeof layout, "7:%s", plcio_test_fixture_path("layouts/test_db.db"));
    const char *argv[] = {plcio_bin(), "sim", "s7", "--listen", "127.0.0.1:0", "--db", layout, "--seconds", "30", NULL};
    plcio_test_proc *sim = &pr->sim;
    assert_int_equal(plcio_test_proc_start(sim, argv, "listening on ", 10000, 60), 0);
    int fd = -1;
    assert_int_equal(net_tcp_connect("127.0.0.1", plcio_test_port_from_line(sim->line), 3000, &fd), PLCIO_OK);
    uint8_t tx[128], rx[1024];
    size_t len = 0, rx_len = 0;
    cotp_conn cr;
    memset(&cr, 0, sizeof cr);
    cr.src_ref = 1;
    cr.tpdu_size = 1024;
    assert_int_equal(cotp_cr_frame(tx, sizeof tx, &cr, &len), PLCIO_OK);
    exchange(fd, tx, len, rx, sizeof rx, &rx_len);
    s7_out o = s7_out_make(tx, sizeof tx, 0);
    s7_setup s = {1, 1, 480};
    assert_int_equal(s7_setup_encode(&o, PLCIO_S7_JOB, 1, &s), PLCIO_OK);
    exchange(fd, tx, o.len, rx, sizeof rx, &rx_len);
    s7_item it;
    memset(&it, 0, sizeof it);
    it.area = PLCIO_S7_AREA_DB;
    it.db = 7;
    it.transport = PLCIO_S7_TS_BYTE;
    it.count = 18; /* the whole DB: 3 REAL, 4 BOOL in one byte, 2 INT */
    o = s7_out_make(tx, sizeof tx, 0);
    assert_int_equal(s7_read_request_encode(&o, 2, &it, 1), PLCIO_OK);
    exchange(fd, tx, o.len, rx, sizeof rx, &rx_len);
    s7_pdu pdu;
    assert_int_equal(s7_pdu_decode(rx + 7, rx_len - 7, &pdu), PLCIO_OK);
    s7_data_item d;
    assert_int_equal(s7_read_response_decode(&pdu, &it, 1, &d), PLCIO_OK);
    assert_int_equal(d.return_code, PLCIO_S7_RC_SUCCESS);
    static const uint8_t want[18] = {0x40, 0x80, 0, 0, 0x40, 0xA0, 0, 0, 0x40, 0xC0, 0, 0, 0x06, 0, 0, 21, 0, 74};
    assert_memory_equal(d.data, want, 18);
    it.count = 19; /* one past the DB's end */
    o = s7_out_make(tx, sizeof tx, 0);
    assert_int_equal(s7_read_request_encode(&o, 3, &it, 1), PLCIO_OK);
    exchange(fd, tx, o.len, rx, sizeof rx, &rx_len);
    assert_int_equal(s7_pdu_decode(rx + 7, rx_len - 7, &pdu), PLCIO_OK);
    assert_int_equal(s7_read_response_decode(&pdu, &it, 1, &d), PLCIO_OK);
    assert_int_equal(d.return_code, PLCIO_S7_RC_ADDRESS_OUT_OF_RANGE);
    net_close(fd);
    plcio_test_proc_stop(sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_nodes7_against_sim, procs_setup, procs_teardown),
        cmocka_unit_test_setup_teardown(test_seconds_and_usage, procs_setup, procs_teardown),
        cmocka_unit_test_setup_teardown(test_db_from_layout, procs_setup, procs_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
