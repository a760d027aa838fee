/* A real link taken down and up: two network namespaces joined by a veth
 * pair, `plcio sim s7` in one, this test (the sync engine and a judge client)
 * in the other. Nothing touches the host's own network: the addresses
 * (169.254.77.1/.2) exist only inside the two namespaces the test makes and
 * deletes. Without root or network namespaces the test exits 77 (skipped).
 *
 * Link down: the tags turn stale with a reason, a write fails (and is not in
 * the PLC, or is reported "may or may not"); link up: good again, the same
 * engine, a write done is in the PLC. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fault_sync.h"
#include "plcio/s7.h"

static char ns_a[32], ns_b[32], veth_a[16], veth_b[16];
static bool made;

static int sh(const char *fmt, ...) PLCIO_PRINTF(1, 2);
static int sh(const char *fmt, ...)
{
    char cmd[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void remove_namespaces(void)
{
    if (!made) return;
    made = false;
    (void)sh("ip netns del %s 2>/dev/null", ns_a); /* the veth pair goes with them */
    (void)sh("ip netns del %s 2>/dev/null", ns_b);
}

/* Namespaces left by an earlier run that was killed (SIGKILL skips atexit):
 * their names carry the pid of a process that no longer exists. */
static void remove_leftovers(void)
{
    DIR *d = opendir("/run/netns");
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int owner = 0;
        char side = 0;
        if (sscanf(e->d_name, "plcio-fault-%c-%d", &side, &owner) != 2 || owner <= 0) continue;
        if (kill(owner, 0) == 0 || errno != ESRCH) continue;
        (void)sh("ip netns del %s 2>/dev/null", e->d_name);
    }
    closedir(d);
}

/* Make the namespaces and the link, and move this process into ns_a.
 * false: not possible here. */
static bool make_namespaces(void)
{
    if (geteuid() == 0) remove_leftovers();
    int pid = (int)getpid();
    snprintf(ns_a, sizeof ns_a, "plcio-fault-a-%d", pid);
    snprintf(ns_b, sizeof ns_b, "plcio-fault-b-%d", pid);
    snprintf(veth_a, sizeof veth_a, "pfa%d", pid % 1000000);
    snprintf(veth_b, sizeof veth_b, "pfb%d", pid % 1000000);
    if (geteuid() != 0 || sh("ip netns add %s 2>/dev/null", ns_a) != 0) return false;
    made = true;
    if (atexit(remove_namespaces) != 0 || sh("ip netns add %s", ns_b) ||
        sh("ip link add %s type veth peer name %s", veth_a, veth_b) || sh("ip link set %s netns %s", veth_a, ns_a) ||
        sh("ip link set %s netns %s", veth_b, ns_b) || sh("ip -n %s addr add 169.254.77.1/30 dev %s", ns_a, veth_a) ||
        sh("ip -n %s addr add 169.254.77.2/30 dev %s", ns_b, veth_b) || sh("ip -n %s link set lo up", ns_a) ||
        sh("ip -n %s link set lo up", ns_b) || sh("ip -n %s link set %s up", ns_a, veth_a) ||
        sh("ip -n %s link set %s up", ns_b, veth_b)) {
        remove_namespaces();
        return false;
    }
    char path[128];
    snprintf(path, sizeof path, "/run/netns/%s", ns_a);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    bool ok = fd >= 0 && setns(fd, CLONE_NEWNET) == 0;
    if (fd >= 0) close(fd);
    if (!ok) remove_namespaces();
    return ok;
}

typedef struct ctx {
    plcio_test_proc server;
    plcio_s7_client *judge;
    fault_engine e;
} ctx;

/* What the PLC holds, asked by the judge's own connection. Right after the
 * link comes back its first request can time out on a loaded machine: it
 * asks again (on a new connection) for up to 10 s before failing the test. */
static int32_t plc_value(ctx *c)
{
    uint8_t b[4] = {0};
    int rc = PLCIO_ETIMEDOUT;
    uint64_t end = plcio_monotonic_ns() + 10 * PLCIO_NS_PER_S;
    do {
        rc = plcio_s7_client_is_connected(c->judge) ? PLCIO_OK : plcio_s7_client_connect(c->judge);
        if (rc == PLCIO_OK) rc = plcio_s7_client_read_area(c->judge, PLCIO_S7_AREA_DB, 1, 20, 4, b);
        if (rc == PLCIO_OK) return (int32_t)plcio_get_u32be(b);
        plcio_s7_client_close(c->judge);
        plcio_test_sleep_ms(100);
    } while (plcio_monotonic_ns() < end);
    fail_msg("the judge cannot read the PLC: %s", plcio_err_name(rc));
    return 0;
}

static void link_set(bool up)
{
    /* this process lives in ns_a: its end of the link */
    assert_int_equal(sh("ip link set %s %s", veth_a, up ? "up" : "down"), 0);
}

static void test_link_down_and_up(void **state)
{
    ctx *c = *state;
    const char *bin = getenv("PLCIO_BIN");
    assert_non_null(bin);
    const char *argv[] = {"ip",       "netns",          "exec", ns_b,    bin,         "sim", "s7",
                          "--listen", "169.254.77.2:0", "--db", "1:100", "--seconds", "60",  NULL};
    assert_int_equal(plcio_test_proc_start(&c->server, argv, "listening on", 10000, 65), 0);
    int port = plcio_test_port_from_line(c->server.line);
    assert_true(port > 0);
    plcio_s7_client_options o;
    plcio_s7_client_options_init(&o);
    o.host = "169.254.77.2";
    o.port = port;
    o.timeout_ms = 1000;
    (void)plcio_s7_client_new(NULL, &o, &c->judge, NULL);
    assert_int_equal(plcio_s7_client_connect(c->judge), PLCIO_OK);
    uint8_t init[4] = {0, 0, 0, 7};
    assert_int_equal(plcio_s7_client_write_area(c->judge, PLCIO_S7_AREA_DB, 1, 20, 4, init), PLCIO_OK);
    char yaml[600];
    snprintf(yaml, sizeof yaml,
             "devices:\n"
             "  - name: plc\n"
             "    url: \"s7://169.254.77.2:%d?rack=0&slot=1&timeout=400&connect-timeout=400\"\n"
             "    reconnect: {min: 50ms, max: 200ms}\n"
             "    groups:\n"
             "      - interval: 20ms\n"
             "        tags: [{address: DB1.DBD20:DINT, name: target}]\n",
             port);
    fault_engine_start(&c->e, yaml, "veth");
    fault_engine_wait(&c->e, "target", PLCIO_SHM_QUALITY_GOOD, "7", 5000);

    unsigned outages = 0, done = 0, failed = 0;
    for (int round = 0; round < 2; round++) {
        link_set(false);
        plcio_shm_value v = fault_engine_wait(&c->e, "target", PLCIO_SHM_QUALITY_STALE, NULL, 3000);
        assert_int_not_equal(v.error, PLCIO_OK);
        assert_string_equal(v.text, "7");
        fault_write w = fault_engine_write(&c->e, "target", "99", 0);
        assert_int_not_equal(w.err, PLCIO_OK);
        fault_check_failed_write(&w);
        failed++;
        fault_engine_run(&c->e, 1000);
        assert_int_equal(fault_engine_get(&c->e, "target").quality, PLCIO_SHM_QUALITY_STALE);
        link_set(true);
        outages++;
        /* a write that had gone out before the link died was reported "may or
         * may not"; it did not go out here (the device was down first) */
        assert_int_equal(plc_value(c), 7);
        fault_engine_wait(&c->e, "target", PLCIO_SHM_QUALITY_GOOD, "7", 8000);
    }
    fault_write w = fault_engine_write(&c->e, "target", "4242", 0);
    assert_int_equal(w.err, PLCIO_OK);
    done++;
    assert_int_equal(plc_value(c), 4242);
    fault_engine_wait(&c->e, "target", PLCIO_SHM_QUALITY_GOOD, "4242", 3000);
    printf("fault-figures: veth link down/up [plcio sim]: %u outages, stale during each, good after each; writes %u "
           "done (in the PLC), %u failed while down (not in the PLC)\n",
           outages, done, failed);
}

static int setup(void **state)
{
    ctx *c = calloc(1, sizeof *c);
    *state = c;
    return c ? 0 : -1;
}

static int teardown(void **state)
{
    ctx *c = *state;
    fault_engine_stop(&c->e);
    plcio_s7_client_free(c->judge);
    plcio_test_proc_stop(&c->server);
    free(c);
    return 0;
}

int main(void)
{
    if (!make_namespaces()) {
        printf("skipped: needs root and network namespaces (ip netns add)\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_link_down_and_up, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    remove_namespaces();
    return rc;
}
