/* The sync engine over every Modbus link of the design, against foreign and
 * own peers:
 *   modbus-udp    pymodbus 3.0's UDP server, `plcio sim modbus --udp`
 *   modbus-rtu    pymodbus's serial server and `plcio sim modbus --rtu` on a
 *                 socat pseudo-terminal pair
 *   modbus-ascii  the same with ASCII framing
 *   modbus-rtu://HOST:PORT  RTU frames over TCP (pymodbus rtu-tcp)
 * Every table read into shared memory, a 125-register block read in one
 * request, writes by name that land in their own registers or coil (checked by
 * reading the server directly), read-only tables refused; then the link lost
 * and back (TCP, UDP, RTU): values stale, a write while down reported failed,
 * good again without restarting the engine. Each test prints its cycle times. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "modbus/mb_interop.h"
#include "plcio/modbus.h"
#include "plcio/plcio.h"
#include "plcio/shm.h"
#include "plcio/sync.h"
#include "sync_wait.h"

typedef struct ctx {
    plcio_test_proc peer, socat;
    plcio_test_proc cap, eng; /* tshark, `plcio sync`: stopped by the teardown on every path */
    char dir[64];
    char shm[64];
    plcio_sync_config *cfg;
    plcio_sync *sync;
    plcio_shm_reader *reader;
} ctx;

/* What the peer holds in its read-only tables (pymodbus: known contents;
 * plcio's simulator: zeros, clients cannot write them). */
typedef struct expect {
    const char *d2, *d3, *i7;
} expect;

static const expect from_pymodbus = {"true", "false", "1007"};
static const expect from_sim = {"false", "false", "0"};

static int setup(void **state)
{
    ctx *c = calloc(1, sizeof *c);
    *state = c;
    if (!c) return -1;
    c->peer.stdout_fd = c->socat.stdout_fd = c->cap.stdout_fd = c->eng.stdout_fd = -1;
    return 0;
}

static void engine_stop(ctx *c)
{
    plcio_shm_reader_free(c->reader);
    plcio_sync_free(c->sync);
    plcio_sync_config_free(c->cfg);
    c->reader = NULL;
    c->sync = NULL;
    c->cfg = NULL;
}

static int teardown(void **state)
{
    ctx *c = *state;
    engine_stop(c);
    plcio_test_proc_stop(&c->peer);
    plcio_test_proc_stop(&c->socat);
    plcio_test_proc_stop(&c->eng);
    if (c->cap.pid > 0)
        mb_capture_stop(&c->cap);
    else
        plcio_test_proc_stop(&c->cap);
    if (c->dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", c->dir);
        if (system(cmd) != 0) print_error("could not remove %s\n", c->dir);
    }
    free(c);
    return 0;
}

/* ---- peers ---- */

static const char *plcio_bin(void)
{
    const char *bin = getenv("PLCIO_BIN");
    if (!bin) fail_msg("PLCIO_BIN is not set");
    return bin;
}

static void pymodbus_start(ctx *c, const char *kind, const char *device)
{
    char script[600];
    const char *dir = getenv("PLCIO_INTEROP_DIR");
    snprintf(script, sizeof script, "%s/modbus/pymodbus_peer.py", dir && *dir ? dir : PLCIO_INTEROP_DIR);
    const char *argv[] = {"/usr/bin/python3", script, "server", kind, device, "--seconds", "60", NULL};
    if (!device) argv[4] = "--seconds", argv[5] = "60", argv[6] = NULL;
    assert_int_equal(plcio_test_proc_start(&c->peer, argv, "listening on", 20000, 65), 0);
}

/* plcio sim modbus with a TCP side (for the test's own reads and writes) and
 * `link` (--udp 127.0.0.1:PORT, --rtu DEV, --ascii DEV, or NULL). Returns the TCP port;
 * *link_port gets the UDP port when there is one. */
static int sim_start(ctx *c, const char *tcp, const char *link_opt, const char *link_arg, int *link_port)
{
    const char *argv[] = {plcio_bin(), "sim",  "modbus",    "--tcp", tcp,      "--baud", "115200",
                          "--size",    "1000", "--seconds", "60",    link_opt, link_arg, NULL};
    assert_int_equal(plcio_test_proc_start(&c->peer, argv, "listening on", 10000, 65), 0);
    int port = plcio_test_port_from_line(c->peer.line);
    char line[256] = "";
    if (link_opt) assert_int_equal(plcio_test_proc_read_line(&c->peer, line, sizeof line, 5000), 0);
    if (link_port) *link_port = plcio_test_port_from_line(line);
    return port;
}

/* The simulator starts empty: give it what pymodbus's peer holds in its
 * writable tables (holding[i] = i, 100..101 = 123.456 ABCD, coil i = i % 3 == 0). */
static void sim_seed(int tcp_port)
{
    char url[80];
    snprintf(url, sizeof url, "modbus-tcp://127.0.0.1:%d?unit=1", tcp_port);
    plcio_modbus_client *mc = NULL;
    (void)plcio_modbus_client_new(url, NULL, &mc, NULL);
    assert_non_null(mc);
    uint16_t regs[100];
    for (uint16_t base = 0; base < 200; base += 100) {
        for (uint16_t i = 0; i < 100; i++)
            regs[i] = (uint16_t)(base + i);
        assert_int_equal(plcio_modbus_write_registers(mc, 1, base, 100, regs), PLCIO_OK);
    }
    float f = 123.456f;
    assert_int_equal(plcio_modbus_write_floats(mc, 1, 100, 1, &f, PLCIO_MB_ABCD), PLCIO_OK);
    uint8_t bits[20];
    for (int i = 0; i < 20; i++)
        bits[i] = i % 3 == 0;
    assert_int_equal(plcio_modbus_write_coils(mc, 1, 0, 20, bits), PLCIO_OK);
    plcio_modbus_client_free(mc);
}

static void pty_pair(ctx *c)
{
    mb_tmpdir(c->dir, sizeof c->dir);
    mb_socat_start(&c->socat, c->dir, 90);
}

/* ---- the engine ---- */

static void engine_start_yaml(ctx *c, const char *yaml)
{
    plcio_error err = {0};
    assert_int_equal(plcio_sync_config_parse(yaml, strlen(yaml), "t.yaml", NULL, &c->cfg, &err), PLCIO_OK);
    snprintf(c->shm, sizeof c->shm, "/plcio-test-sync-mbl-%d", (int)getpid());
    plcio_sync_options o;
    memset(&o, 0, sizeof o);
    o.shm_name = c->shm;
    if (plcio_sync_new(c->cfg, &o, &c->sync, &err) != PLCIO_OK) fail_msg("engine: %s", err.text);
    plcio_error msg = {0};
    assert_int_equal(plcio_shm_reader_new(c->shm, &c->reader, &msg), PLCIO_OK);
}

/* A group reading hr0..124 (31 DINT and one INT): one request in the plan. */
static int block_group(char *yaml, size_t cap, const char *interval)
{
    int n = snprintf(yaml, cap, "      - name: block\n        interval: %s\n        tags:\n", interval);
    for (int a = 0; a < 124; a += 4)
        n += snprintf(yaml + n, cap - (size_t)n, "          - {address: \"hr%d:DINT\", name: b%d}\n", a, a);
    n += snprintf(yaml + n, cap - (size_t)n, "          - {address: hr124, name: b124}\n");
    return n;
}

/* Ten tags over every table, and the block group. */
static void engine_start(ctx *c, const char *url, const char *device_extra)
{
    char yaml[4096];
    int n = snprintf(yaml, sizeof yaml,
                     "devices:\n"
                     "  - name: dev\n"
                     "    url: \"%s\"\n"
                     "%s"
                     "    groups:\n"
                     "      - name: main\n"
                     "        interval: 20ms\n"
                     "        tags:\n"
                     "          - {address: hr5, name: h5}\n"
                     "          - {address: \"hr100:REAL\", name: flow}\n"
                     "          - {address: \"hr20:DINT\", name: big}\n"
                     "          - {address: co3, name: c3}\n"
                     "          - {address: co4, name: c4}\n"
                     "          - {address: di2, name: d2}\n"
                     "          - {address: di3, name: d3}\n"
                     "          - {address: ir7, name: i7}\n"
                     "          - {address: \"hr150:REAL:CDAB\", name: sp}\n"
                     "          - {address: co10, name: c10}\n",
                     url, device_extra ? device_extra : "");
    block_group(yaml + n, sizeof yaml - (size_t)n, "5ms");
    engine_start_yaml(c, yaml);
}

static plcio_shm_value wait_for(ctx *c, const char *name, plcio_shm_quality q, const char *text)
{
    return plcio_test_sync_wait(c->sync, c->reader, name, q, text, 15000);
}

static int engine_write(ctx *c, const char *tag, const char *text, plcio_test_write *r)
{
    return plcio_test_sync_write(c->sync, tag, text, 0, 15000, r);
}

static void run_for(ctx *c, int ms)
{
    uint64_t end = plcio_monotonic_ns() + (uint64_t)ms * PLCIO_NS_PER_MS;
    while (plcio_monotonic_ns() < end)
        plcio_sync_run_once(c->sync, 5);
}

/* Cycle times of both groups over `ms` of running (a figure, never asserted). */
static void print_figures(ctx *c, const char *what, int ms)
{
    plcio_sync_stats before[2], after[2];
    for (size_t i = 0; i < 2; i++)
        assert_int_equal(plcio_sync_group_stats(c->sync, i, &before[i]), PLCIO_OK);
    run_for(c, ms);
    for (size_t i = 0; i < 2; i++)
        assert_int_equal(plcio_sync_group_stats(c->sync, i, &after[i]), PLCIO_OK);
    print_message("figure: %s: main (6 requests) every 20 ms, avg %.0f cycles/s, %.2f ms; "
                  "block (125 registers) every 5 ms, %.0f cycles/s, avg %.2f ms, max %.2f ms\n",
                  what, (double)(after[0].cycles - before[0].cycles) * 1000.0 / ms, (double)after[0].cycle_avg_ns / 1e6,
                  (double)(after[1].cycles - before[1].cycles) * 1000.0 / ms, (double)after[1].cycle_avg_ns / 1e6,
                  (double)after[1].cycle_max_ns / 1e6);
}

/* ---- the checks every link goes through ---- */

static void check_reads(ctx *c, const expect *e)
{
    wait_for(c, "h5", PLCIO_SHM_QUALITY_GOOD, "5");
    wait_for(c, "flow", PLCIO_SHM_QUALITY_GOOD, "123.456001");
    wait_for(c, "big", PLCIO_SHM_QUALITY_GOOD, "1310741"); /* hr20 = 20, hr21 = 21: 0x00140015 */
    wait_for(c, "c3", PLCIO_SHM_QUALITY_GOOD, "true");
    wait_for(c, "c4", PLCIO_SHM_QUALITY_GOOD, "false");
    wait_for(c, "d2", PLCIO_SHM_QUALITY_GOOD, e->d2);
    wait_for(c, "d3", PLCIO_SHM_QUALITY_GOOD, e->d3);
    wait_for(c, "i7", PLCIO_SHM_QUALITY_GOOD, e->i7);
    wait_for(c, "b0", PLCIO_SHM_QUALITY_GOOD, "1");         /* 0 << 16 | 1 */
    wait_for(c, "b120", PLCIO_SHM_QUALITY_GOOD, "7864441"); /* 120 << 16 | 121 */
    wait_for(c, "b124", PLCIO_SHM_QUALITY_GOOD, "124");
}

static void check_writes(ctx *c)
{
    plcio_test_write r;
    /* A REAL in CDAB order: shared memory holds ABCD, the device gets CDAB. */
    assert_int_equal(engine_write(c, "sp", "1.5", &r), PLCIO_OK);
    assert_int_equal(engine_write(c, "c10", "true", &r), PLCIO_OK);
    assert_int_equal(engine_write(c, "big", "-2", &r), PLCIO_OK);
    wait_for(c, "sp", PLCIO_SHM_QUALITY_GOOD, "1.5");
    wait_for(c, "c10", PLCIO_SHM_QUALITY_GOOD, "true");
    wait_for(c, "big", PLCIO_SHM_QUALITY_GOOD, "-2");
    /* Read-only tables: refused, nothing sent. */
    assert_int_equal(engine_write(c, "i7", "5", &r), PLCIO_EACCESS);
    assert_int_equal(engine_write(c, "d2", "false", &r), PLCIO_EACCESS);
    assert_int_equal(engine_write(c, "h5", "70000", &r), PLCIO_ERANGE); /* does not fit an INT: never sent */
}

/* The writes, read back from the server itself (not through the engine). */
static void verify_on_server(const char *url)
{
    plcio_modbus_client *mc = NULL;
    (void)plcio_modbus_client_new(url, NULL, &mc, NULL);
    assert_non_null(mc);
    uint16_t regs[4];
    assert_int_equal(plcio_modbus_read_holding_registers(mc, 1, 149, 4, regs), PLCIO_OK);
    assert_int_equal(regs[0], 149);    /* neighbours untouched */
    assert_int_equal(regs[1], 0x0000); /* 1.5 = 0x3FC00000, low word first */
    assert_int_equal(regs[2], 0x3FC0);
    assert_int_equal(regs[3], 152);
    assert_int_equal(plcio_modbus_read_holding_registers(mc, 1, 19, 4, regs), PLCIO_OK);
    assert_int_equal(regs[0], 19);
    assert_int_equal(regs[1], 0xFFFF); /* -2 as DINT ABCD */
    assert_int_equal(regs[2], 0xFFFE);
    assert_int_equal(regs[3], 22);
    uint8_t bits[3];
    assert_int_equal(plcio_modbus_read_coils(mc, 1, 9, 3, bits), PLCIO_OK);
    assert_int_equal(bits[0], 1); /* co9: 9 % 3 == 0 */
    assert_int_equal(bits[1], 1); /* written */
    assert_int_equal(bits[2], 0); /* co11 */
    plcio_modbus_client_free(mc);
}

/* Reads, writes, figures; verify_url NULL: the engine owns the only way to
 * the server (a serial line), so it stops before the server is read. */
static void exercise(ctx *c, const char *url, const char *verify_url, const expect *e, const char *what)
{
    engine_start(c, url, NULL);
    check_reads(c, e);
    check_writes(c);
    print_figures(c, what, 1000);
    plcio_sync_stats st;
    assert_int_equal(plcio_sync_device_stats(c->sync, 0, &st), PLCIO_OK);
    assert_true(st.connected);
    assert_int_equal(st.errors, 0); /* the link was never lost */
    if (!verify_url) engine_stop(c);
    verify_on_server(verify_url ? verify_url : url);
}

/* ---- UDP ---- */

static void test_udp_pymodbus(void **state)
{
    ctx *c = *state;
    pymodbus_start(c, "udp", NULL);
    int port = plcio_test_port_from_line(c->peer.line);
    char url[80], pcap[128];
    snprintf(url, sizeof url, "modbus-udp://127.0.0.1:%d?unit=1", port);
    mb_tmpdir(c->dir, sizeof c->dir);
    snprintf(pcap, sizeof pcap, "%s/udp.pcap", c->dir);
    plcio_test_proc *cap = &c->cap;
    bool capturing = mb_capture_start(cap, port, pcap, 60);
    if (!capturing) print_message("tshark cannot capture here: the dissector check is skipped\n");
    exercise(c, url, url, &from_pymodbus, "UDP, pymodbus");
    if (capturing) {
        mb_capture_finish(cap, pcap, port, true, 100);
        mb_tshark_check(pcap, port, true, 100); /* Wireshark's Modbus/UDP dissector: nothing malformed */
    }
}

static void test_udp_sim(void **state)
{
    ctx *c = *state;
    int udp_port = 0, tcp_port = sim_start(c, "127.0.0.1:0", "--udp", "127.0.0.1:0", &udp_port);
    assert_true(udp_port > 0);
    sim_seed(tcp_port);
    char url[80], tcp[80];
    snprintf(url, sizeof url, "modbus-udp://127.0.0.1:%d?unit=1", udp_port);
    snprintf(tcp, sizeof tcp, "modbus-tcp://127.0.0.1:%d?unit=1", tcp_port);
    exercise(c, url, tcp, &from_sim, "UDP, plcio sim");
}

/* The command line one-liner: `plcio sync modbus-udp://... --tag ...`. */
static void test_one_liner_udp(void **state)
{
    ctx *c = *state;
    int udp_port = 0, tcp_port = sim_start(c, "127.0.0.1:0", "--udp", "127.0.0.1:0", &udp_port);
    sim_seed(tcp_port);
    char url[80];
    snprintf(url, sizeof url, "modbus-udp://127.0.0.1:%d?unit=1", udp_port);
    snprintf(c->shm, sizeof c->shm, "/plcio-test-sync-mbl1-%d", (int)getpid());
    plcio_test_proc *eng = &c->eng;
    const char *argv[] = {plcio_bin(), "sync",       url,  "--tag", "hr5",  "--tag",     "hr100:REAL", "--tag",
                          "co3",       "--interval", "20", "--shm", c->shm, "--seconds", "20",         NULL};
    assert_int_equal(plcio_test_proc_start(eng, argv, "sync:", 10000, 25), 0);
    print_message("%s\n", eng->line);
    assert_non_null(strstr(eng->line, "3 tags"));
    plcio_error msg = {0};
    assert_int_equal(plcio_shm_reader_new(c->shm, &c->reader, &msg), PLCIO_OK);
    const char *names[] = {"hr5", "hr100:REAL", "co3"}, *want[] = {"5", "123.456001", "true"};
    for (int i = 0; i < 3; i++) {
        plcio_shm_value v;
        memset(&v, 0, sizeof v);
        uint64_t end = plcio_monotonic_ns() + 10 * PLCIO_NS_PER_S;
        while (plcio_monotonic_ns() < end) {
            if (plcio_shm_reader_refresh(c->reader) == PLCIO_OK &&
                plcio_shm_reader_get_by_name(c->reader, names[i], &v) == PLCIO_OK &&
                v.quality == PLCIO_SHM_QUALITY_GOOD)
                break;
            mb_sleep_ms(10);
        }
        assert_int_equal(v.quality, PLCIO_SHM_QUALITY_GOOD);
        assert_string_equal(v.text, want[i]);
    }
    kill(eng->pid, SIGTERM);
    assert_int_equal(plcio_test_proc_wait(eng, 5000), 0);
    plcio_test_proc_stop(eng);
    /* a URL without --tag or --db is a usage error */
    const char *bad[] = {plcio_bin(), "sync", url, NULL};
    assert_int_equal(plcio_test_proc_start(eng, bad, NULL, 0, 10), 0);
    assert_int_equal(plcio_test_proc_wait(eng, 5000), 2);
    plcio_test_proc_stop(eng);
}

/* ---- serial lines ---- */

static void test_rtu_pymodbus(void **state)
{
    ctx *c = *state;
    pty_pair(c);
    char dev[128], url[200];
    snprintf(dev, sizeof dev, "%s/ttyA", c->dir);
    pymodbus_start(c, "rtu", dev);
    snprintf(url, sizeof url, "modbus-rtu://%s/ttyB?baud=19200&parity=N&unit=1", c->dir);
    exercise(c, url, NULL, &from_pymodbus, "RTU 19200 8N1 through socat, pymodbus");
}

static void test_ascii_pymodbus(void **state)
{
    ctx *c = *state;
    pty_pair(c);
    char dev[128], url[200];
    snprintf(dev, sizeof dev, "%s/ttyA", c->dir);
    pymodbus_start(c, "ascii", dev);
    snprintf(url, sizeof url, "modbus-ascii://%s/ttyB?baud=19200&parity=N&unit=1", c->dir);
    exercise(c, url, NULL, &from_pymodbus, "ASCII 19200 8N1 through socat, pymodbus");
}

static void serial_sim(ctx *c, const char *framing)
{
    pty_pair(c);
    char dev[128], opt[16], url[200], tcp[80];
    snprintf(dev, sizeof dev, "%s/ttyA", c->dir);
    snprintf(opt, sizeof opt, "--%s", framing);
    int tcp_port = sim_start(c, "127.0.0.1:0", opt, dev, NULL);
    sim_seed(tcp_port);
    /* parity: the URL's default (E), as the simulator's */
    snprintf(url, sizeof url, "modbus-%s://%s/ttyB?baud=115200&unit=1", framing, c->dir);
    snprintf(tcp, sizeof tcp, "modbus-tcp://127.0.0.1:%d?unit=1", tcp_port);
    char what[80];
    snprintf(what, sizeof what, "%s 115200 8E1 through socat, plcio sim", framing);
    exercise(c, url, tcp, &from_sim, what);
}

static void test_rtu_sim(void **state) { serial_sim(*state, "rtu"); }
static void test_ascii_sim(void **state) { serial_sim(*state, "ascii"); }

/* Lines tshark prints for `filter`, decoding TCP port as Modbus RTU over TCP. */
static int rtu_tcp_tshark_count(const char *path, int port, const char *filter)
{
    char cmd[600], line[1024];
    snprintf(cmd, sizeof cmd,
             "tshark -o tcp.analyze_sequence_numbers:FALSE -r '%s' -d tcp.port==%d,mbrtu -Y '%s' 2>/dev/null", path,
             port, filter);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        if (n++ == 0 && strcmp(filter, "mbrtu") != 0) print_error("tshark: %s", line);
    }
    pclose(f);
    return n;
}

static void test_rtu_over_tcp_pymodbus(void **state)
{
    ctx *c = *state;
    pymodbus_start(c, "rtu-tcp", NULL);
    int port = plcio_test_port_from_line(c->peer.line);
    char url[80], pcap[128];
    snprintf(url, sizeof url, "modbus-rtu://127.0.0.1:%d?unit=1", port);
    mb_tmpdir(c->dir, sizeof c->dir);
    snprintf(pcap, sizeof pcap, "%s/rtu-tcp.pcap", c->dir);
    plcio_test_proc *cap = &c->cap;
    bool capturing = mb_capture_start(cap, port, pcap, 60);
    if (!capturing) print_message("tshark cannot capture here: the dissector check is skipped\n");
    exercise(c, url, url, &from_pymodbus, "RTU over TCP, pymodbus");
    if (capturing) {
        bool whole = plcio_test_capture_wait_closed(pcap, port, 60000); /* the engine and the check are done */
        mb_capture_stop(cap);
        assert_true(whole);
        /* Wireshark's Modbus RTU dissector on the TCP stream: nothing malformed */
        assert_int_equal(
            rtu_tcp_tshark_count(pcap, port,
                                 "(_ws.malformed || _ws.expert.severity >= warning) && !tcp.options.sack.dsack"),
            0);
        int frames = rtu_tcp_tshark_count(pcap, port, "mbrtu");
        print_message("tshark: %d Modbus RTU frames over TCP port %d, none malformed\n", frames, port);
        assert_true(frames >= 100);
    }
}

/* Three devices on one RTU line: units 1 and 2 answer, unit 3 does not exist.
 * They share the port (one request on the wire at a time); unit 3 goes down
 * with its reason and units 1 and 2 go on undisturbed. */
static void test_rtu_units_share_a_line(void **state)
{
    ctx *c = *state;
    pty_pair(c);
    char dev[128];
    snprintf(dev, sizeof dev, "%s/ttyA", c->dir);
    const char *argv[] = {plcio_bin(), "sim",    "modbus", "--tcp", "127.0.0.1:0", "--unit", "1",     "--unit", "2",
                          "--baud",    "115200", "--size", "1000",  "--seconds",   "60",     "--rtu", dev,      NULL};
    assert_int_equal(plcio_test_proc_start(&c->peer, argv, "listening on", 10000, 65), 0);
    int tcp_port = plcio_test_port_from_line(c->peer.line);
    char line[256], tcp2[80];
    assert_int_equal(plcio_test_proc_read_line(&c->peer, line, sizeof line, 5000), 0);
    sim_seed(tcp_port); /* unit 1 */
    snprintf(tcp2, sizeof tcp2, "modbus-tcp://127.0.0.1:%d?unit=2", tcp_port);
    plcio_modbus_client *mc = NULL;
    (void)plcio_modbus_client_new(tcp2, NULL, &mc, NULL);
    assert_non_null(mc);
    assert_int_equal(plcio_modbus_write_register(mc, 2, 5, 205), PLCIO_OK);
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "devices:\n"
             "  - {name: u1, url: \"modbus-rtu://%s/ttyB?baud=115200&unit=1\", groups: [{interval: 20ms, tags: "
             "[{address: hr5, name: h5}, {address: co3, name: c3}]}]}\n"
             "  - {name: u2, url: \"modbus-rtu://%s/ttyB?baud=115200&unit=2\", groups: [{interval: 20ms, tags: "
             "[{address: hr5, name: h5}]}]}\n"
             "  - name: u3\n"
             "    url: \"modbus-rtu://%s/ttyB?baud=115200&unit=3&timeout=50&retries=0\"\n"
             "    reconnect: {min: 100ms, max: 400ms}\n"
             "    groups: [{interval: 20ms, tags: [{address: hr5, name: h5}]}]\n",
             c->dir, c->dir, c->dir);
    engine_start_yaml(c, yaml);
    wait_for(c, "u1.h5", PLCIO_SHM_QUALITY_GOOD, "5");
    wait_for(c, "u1.c3", PLCIO_SHM_QUALITY_GOOD, "true");
    wait_for(c, "u2.h5", PLCIO_SHM_QUALITY_GOOD, "205");
    plcio_shm_value v = wait_for(c, "u3.h5", PLCIO_SHM_QUALITY_ERROR, NULL); /* never answered: nothing to be stale */
    assert_int_equal(v.error, PLCIO_ETIMEDOUT);
    plcio_sync_stats st[3], later[3];
    uint64_t end = plcio_monotonic_ns() + 10 * PLCIO_NS_PER_S;
    do {
        run_for(c, 20);
        assert_int_equal(plcio_sync_device_stats(c->sync, 2, &st[2]), PLCIO_OK);
    } while (!strstr(st[2].last_message, "no answer from") && plcio_monotonic_ns() < end);
    print_message("unit 3: %s\n", st[2].last_message);
    assert_non_null(strstr(st[2].last_message, "(unit 3)"));
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(plcio_sync_device_stats(c->sync, i, &st[i]), PLCIO_OK);
    /* unit 3 comes and goes meanwhile; at least 1 s, longer on a slow machine
     * until units 1 and 2 have read more than 10 times and unit 3 failed again */
    uint64_t t0 = plcio_monotonic_ns();
    end = t0 + 15 * PLCIO_NS_PER_S;
    bool enough = false;
    do {
        run_for(c, 100);
        for (size_t i = 0; i < 3; i++)
            assert_int_equal(plcio_sync_device_stats(c->sync, i, &later[i]), PLCIO_OK);
        enough = plcio_monotonic_ns() - t0 >= PLCIO_NS_PER_S && later[0].cycles > st[0].cycles + 10 &&
                 later[1].cycles > st[1].cycles + 10 && later[2].errors > st[2].errors;
    } while (!enough && plcio_monotonic_ns() < end);
    for (size_t i = 0; i < 2; i++) {
        assert_true(later[i].connected);
        assert_int_equal(later[i].errors, 0);             /* units 1 and 2 never lost the line */
        assert_true(later[i].cycles > st[i].cycles + 10); /* and kept reading */
    }
    assert_true(later[2].errors > st[2].errors);
    print_message(
        "figure: RTU line shared by 3 units (one silent, 50 ms timeout): unit 1 %llu, unit 2 %llu cycles in %.1f s\n",
        (unsigned long long)(later[0].cycles - st[0].cycles), (unsigned long long)(later[1].cycles - st[1].cycles),
        (double)(plcio_monotonic_ns() - t0) / 1e9);
    wait_for(c, "u1.h5", PLCIO_SHM_QUALITY_GOOD, "5");
    wait_for(c, "u2.h5", PLCIO_SHM_QUALITY_GOOD, "205");
    /* Writes by name land on their own unit. */
    plcio_test_write r;
    assert_int_equal(engine_write(c, "u2.h5", "99", &r), PLCIO_OK);
    assert_int_equal(engine_write(c, "u1.c3", "false", &r), PLCIO_OK);
    assert_int_not_equal(engine_write(c, "u3.h5", "1", &r), PLCIO_OK);
    uint16_t reg;
    uint8_t bit;
    assert_int_equal(plcio_modbus_read_holding_registers(mc, 2, 5, 1, &reg), PLCIO_OK);
    assert_int_equal(reg, 99);
    assert_int_equal(plcio_modbus_read_holding_registers(mc, 1, 5, 1, &reg), PLCIO_OK);
    assert_int_equal(reg, 5);
    assert_int_equal(plcio_modbus_read_coils(mc, 1, 3, 1, &bit), PLCIO_OK);
    assert_int_equal(bit, 0);
    plcio_modbus_client_free(mc);
}

/* ---- the link lost and back ---- */

/* Values stale, a write refused with the reason, the device's last message
 * names the link; then the peer comes back and values are good again. */
static void lose_and_regain(ctx *c, const char *url, void (*restart)(ctx *, void *), void *arg)
{
    engine_start(c, url, "    reconnect: {min: 50ms, max: 200ms}\n");
    wait_for(c, "h5", PLCIO_SHM_QUALITY_GOOD, "5");
    wait_for(c, "c3", PLCIO_SHM_QUALITY_GOOD, "true");
    run_for(c, 300); /* whole good cycles: the values have something to be stale from */
    plcio_test_proc_stop(&c->peer);
    plcio_shm_value v = wait_for(c, "h5", PLCIO_SHM_QUALITY_STALE, "5"); /* the last good value is kept */
    print_message("stale with %s\n", plcio_err_name(v.error));
    wait_for(c, "b0", PLCIO_SHM_QUALITY_STALE, NULL);
    plcio_sync_stats st;
    uint64_t end = plcio_monotonic_ns() + 10 * PLCIO_NS_PER_S;
    do { /* on a serial line, values go stale (missed cycles) before the link counts as lost */
        run_for(c, 20);
        assert_int_equal(plcio_sync_device_stats(c->sync, 0, &st), PLCIO_OK);
    } while (st.errors == 0 && plcio_monotonic_ns() < end);
    print_message("device while down: connected %d, errors %llu, last: %s\n", st.connected,
                  (unsigned long long)st.errors, st.last_message);
    assert_true(st.errors >= 1);
    assert_true(st.last_message && st.last_message[0]);
    /* A write while the link is down is reported failed, never done. */
    plcio_test_write r;
    int rc = PLCIO_OK;
    for (int i = 0; i < 200 && (rc = engine_write(c, "h5", "77", &r)) == PLCIO_OK; i++)
        run_for(c, 10);
    assert_int_not_equal(rc, PLCIO_OK);
    print_message("write while down: %s: %s\n", plcio_err_name(rc), r.msg);
    restart(c, arg);
    wait_for(c, "h5", PLCIO_SHM_QUALITY_GOOD, "5");
    wait_for(c, "b124", PLCIO_SHM_QUALITY_GOOD, "124");
    wait_for(c, "c3", PLCIO_SHM_QUALITY_GOOD, "true");
    assert_int_equal(engine_write(c, "h5", "6", &r), PLCIO_OK);
    wait_for(c, "h5", PLCIO_SHM_QUALITY_GOOD, "6");
}

typedef struct sim_again {
    char tcp[64], opt[16], arg[128];
} sim_again;

static void restart_sim(ctx *c, void *p)
{
    sim_again *a = p;
    int tcp_port = sim_start(c, a->tcp, a->opt[0] ? a->opt : NULL, a->arg, NULL);
    sim_seed(tcp_port);
}

static void test_tcp_sim_killed_and_restarted(void **state)
{
    ctx *c = *state;
    int tcp_port = sim_start(c, "127.0.0.1:0", NULL, NULL, NULL);
    sim_seed(tcp_port);
    char url[80];
    snprintf(url, sizeof url, "modbus-tcp://127.0.0.1:%d?unit=1", tcp_port);
    sim_again a;
    memset(&a, 0, sizeof a);
    snprintf(a.tcp, sizeof a.tcp, "127.0.0.1:%d", tcp_port);
    lose_and_regain(c, url, restart_sim, &a);
}

static void test_udp_sim_killed_and_restarted(void **state)
{
    ctx *c = *state;
    int udp_port = 0, tcp_port = sim_start(c, "127.0.0.1:0", "--udp", "127.0.0.1:0", &udp_port);
    sim_seed(tcp_port);
    char url[80];
    snprintf(url, sizeof url, "modbus-udp://127.0.0.1:%d?unit=1&timeout=300", udp_port);
    sim_again a;
    snprintf(a.tcp, sizeof a.tcp, "127.0.0.1:%d", tcp_port);
    snprintf(a.opt, sizeof a.opt, "--udp");
    snprintf(a.arg, sizeof a.arg, "127.0.0.1:%d", udp_port);
    lose_and_regain(c, url, restart_sim, &a);
}

/* socat ends when the program on one side closes its terminal, so the line
 * goes with the simulator (like a USB adapter unplugged): the engine's port
 * fails (EIO), it reopens it with backoff until the line is back. */
static void restart_line_and_sim(ctx *c, void *p)
{
    plcio_test_proc_stop(&c->socat);
    char path[128];
    snprintf(path, sizeof path, "%s/ttyA", c->dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/ttyB", c->dir);
    unlink(path);
    mb_socat_start(&c->socat, c->dir, 60);
    restart_sim(c, p);
}

static void test_rtu_sim_line_lost_and_back(void **state)
{
    ctx *c = *state;
    pty_pair(c);
    sim_again a;
    memset(&a, 0, sizeof a);
    snprintf(a.tcp, sizeof a.tcp, "127.0.0.1:0");
    snprintf(a.opt, sizeof a.opt, "--rtu");
    snprintf(a.arg, sizeof a.arg, "%s/ttyA", c->dir);
    restart_sim(c, &a);
    char url[200];
    snprintf(url, sizeof url, "modbus-rtu://%s/ttyB?baud=115200&unit=1&timeout=200&retries=1", c->dir);
    lose_and_regain(c, url, restart_line_and_sim, &a);
}

/* The line stays, the server on it goes quiet: nothing tells the engine but
 * three requests in a row without an answer. The server here is plcio's own
 * in this process, on the socat line. */
static void *serve(void *arg)
{
    plcio_modbus_server_run(arg);
    return NULL;
}

static void test_rtu_server_silent(void **state)
{
    ctx *c = *state;
    pty_pair(c);
    plcio_modbus_server *srv = NULL;
    (void)plcio_modbus_server_new(NULL, &srv, NULL);
    assert_non_null(srv);
    plcio_modbus_bank_config bank = plcio_modbus_bank_default(1000);
    assert_int_equal(plcio_modbus_server_add_unit(srv, 1, &bank), PLCIO_OK);
    uint16_t five = 5;
    assert_int_equal(plcio_modbus_server_write_bank(srv, 1, PLCIO_MODBUS_HOLDING_REGISTERS, 5, 1, &five), PLCIO_OK);
    char url[200];
    snprintf(url, sizeof url, "modbus-rtu://%s/ttyA?baud=38400&parity=N", c->dir);
    assert_int_equal(plcio_modbus_server_open_serial(srv, url), PLCIO_OK);
    pthread_t th;
    pthread_create(&th, NULL, serve, srv);
    snprintf(url, sizeof url, "modbus-rtu://%s/ttyB?baud=38400&parity=N&unit=1&timeout=100&retries=1", c->dir);
    engine_start(c, url, "    reconnect: {min: 50ms, max: 200ms}\n");
    wait_for(c, "h5", PLCIO_SHM_QUALITY_GOOD, "5");
    run_for(c, 300);
    /* The server stops serving but keeps its end of the line open. */
    plcio_modbus_server_stop(srv);
    pthread_join(th, NULL);
    plcio_shm_value v = wait_for(c, "h5", PLCIO_SHM_QUALITY_STALE, "5");
    assert_int_equal(v.error, PLCIO_ETIMEDOUT);
    plcio_sync_stats st;
    uint64_t end = plcio_monotonic_ns() + 10 * PLCIO_NS_PER_S;
    do {
        run_for(c, 20);
        assert_int_equal(plcio_sync_device_stats(c->sync, 0, &st), PLCIO_OK);
    } while (!strstr(st.last_message, "no answer from") && plcio_monotonic_ns() < end);
    print_message("server silent: stale with %s; device: %s\n", plcio_err_name(v.error), st.last_message);
    assert_non_null(strstr(st.last_message, "no answer from"));
    plcio_test_write r;
    int rc = engine_write(c, "h5", "9", &r);
    assert_int_not_equal(rc, PLCIO_OK);
    print_message("write to a silent server: %s: %s\n", plcio_err_name(rc), r.msg);
    engine_stop(c);
    plcio_modbus_server_free(srv);
}

/* A serial device that does not exist: the device is down with the reason,
 * retried with backoff, writes fail; nothing else is disturbed. */
static void test_missing_serial_device(void **state)
{
    ctx *c = *state;
    engine_start(c, "modbus-rtu:///nonexistent/ttyUSB9?baud=9600", "    reconnect: {min: 20ms, max: 40ms}\n");
    run_for(c, 300);
    plcio_sync_stats st;
    assert_int_equal(plcio_sync_device_stats(c->sync, 0, &st), PLCIO_OK);
    assert_false(st.connected);
    assert_true(st.errors >= 3); /* retried */
    assert_int_equal(st.last_error, PLCIO_ENOTFOUND);
    assert_non_null(strstr(st.last_message, "/nonexistent/ttyUSB9"));
    plcio_test_write r;
    assert_int_equal(engine_write(c, "h5", "1", &r), PLCIO_ENOTCONN);
    plcio_shm_value v = wait_for(c, "h5", PLCIO_SHM_QUALITY_ERROR, NULL); /* never read: nothing to be stale */
    assert_int_equal(v.error, PLCIO_ENOTFOUND);
}

/* One simulator on every link at once; per link an engine that reads only
 * the 125-register block, due every 1 ms (a cycle starts as soon as the last
 * one ended): cycle times side by side. Printed, never asserted. */
static void test_figures_per_link(void **state)
{
    ctx *c = *state;
    pty_pair(c);
    char rtu[128], ascii_dev[128];
    snprintf(rtu, sizeof rtu, "%s/ttyA", c->dir);
    plcio_test_proc socat2;
    char dir2[64];
    mb_tmpdir(dir2, sizeof dir2);
    mb_socat_start(&socat2, dir2, 60);
    snprintf(ascii_dev, sizeof ascii_dev, "%s/ttyA", dir2);
    const char *argv[] = {plcio_bin(), "sim",    "modbus",  "--tcp",     "127.0.0.1:0", "--udp",  "127.0.0.1:0",
                          "--rtu",     rtu,      "--ascii", ascii_dev,   "--baud",      "115200", "--parity",
                          "N",         "--size", "1000",    "--seconds", "60",          NULL};
    assert_int_equal(plcio_test_proc_start(&c->peer, argv, "listening on", 10000, 65), 0);
    int tcp_port = plcio_test_port_from_line(c->peer.line);
    char line[256];
    assert_int_equal(plcio_test_proc_read_line(&c->peer, line, sizeof line, 5000), 0);
    int udp_port = plcio_test_port_from_line(line);
    for (int i = 0; i < 2; i++)
        assert_int_equal(plcio_test_proc_read_line(&c->peer, line, sizeof line, 5000), 0);
    sim_seed(tcp_port);
    char urls[4][200];
    snprintf(urls[0], sizeof urls[0], "modbus-tcp://127.0.0.1:%d", tcp_port);
    snprintf(urls[1], sizeof urls[1], "modbus-udp://127.0.0.1:%d", udp_port);
    snprintf(urls[2], sizeof urls[2], "modbus-rtu://%s/ttyB?baud=115200&parity=N", c->dir);
    snprintf(urls[3], sizeof urls[3], "modbus-ascii://%s/ttyB?baud=115200&parity=N", dir2);
    for (int big = 0; big < 2; big++) {
        for (int i = 0; i < 4; i++) {
            /* one request of 125 registers, or 1000 registers (250 DINT tags) in 8 requests */
            static char yaml[16384];
            int n = snprintf(yaml, sizeof yaml, "devices:\n  - name: dev\n    url: \"%s\"\n    groups:\n", urls[i]);
            if (big) {
                n += snprintf(yaml + n, sizeof yaml - (size_t)n,
                              "      - name: big\n        interval: 1ms\n        tags:\n");
                for (int a = 0; a < 1000; a += 4)
                    n += snprintf(yaml + n, sizeof yaml - (size_t)n,
                                  "          - {address: \"hr%d:DINT\", name: b%d}\n", a, a);
            } else {
                block_group(yaml + n, sizeof yaml - (size_t)n, "1ms");
            }
            engine_start_yaml(c, yaml);
            wait_for(c, big ? "b996" : "b124", PLCIO_SHM_QUALITY_GOOD, big ? "0" : "124");
            plcio_sync_stats a, b;
            assert_int_equal(plcio_sync_group_stats(c->sync, 0, &a), PLCIO_OK);
            run_for(c, 1000);
            assert_int_equal(plcio_sync_group_stats(c->sync, 0, &b), PLCIO_OK);
            uint64_t cycles = b.cycles - a.cycles;
            print_message(
                "figure: %s registers over %s: %llu cycles/s, cycle avg %.3f ms (min %.3f, max %.3f)\n",
                big ? "1000 (8 requests)" : "125", urls[i], (unsigned long long)cycles,
                cycles ? (double)(b.cycle_avg_ns * b.cycles - a.cycle_avg_ns * a.cycles) / (double)cycles / 1e6 : 0.0,
                (double)b.cycle_min_ns / 1e6, (double)b.cycle_max_ns / 1e6);
            engine_stop(c);
        }
    }
    plcio_test_proc_stop(&c->peer);
    plcio_test_proc_stop(&socat2);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir2);
    if (system(cmd) != 0) print_error("could not remove %s\n", dir2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_udp_pymodbus, setup, teardown),
        cmocka_unit_test_setup_teardown(test_udp_sim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_liner_udp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtu_pymodbus, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ascii_pymodbus, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtu_sim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ascii_sim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtu_over_tcp_pymodbus, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtu_units_share_a_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_sim_killed_and_restarted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_udp_sim_killed_and_restarted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtu_sim_line_lost_and_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtu_server_silent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_serial_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_figures_per_link, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
