/* Helpers for the Modbus interop tests: temporary directories, socat
 * pseudo-terminal pairs, tshark captures and the dissector check. Every
 * process started here dies by itself (plcio_test_proc_start max lifetime). */
#ifndef PLCIO_TESTS_MB_INTEROP_H
#define PLCIO_TESTS_MB_INTEROP_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture.h"
#include "plcio/core.h"
#include "plcio_test.h"

static inline void mb_sleep_ms(int ms) { plcio_test_sleep_ms((unsigned)ms); }

/* mkdtemp under /tmp; static buffer per call site is the caller's. */
static inline void mb_tmpdir(char *buf, size_t cap)
{
    snprintf(buf, cap, "/tmp/plcio-mb-XXXXXX");
    assert_non_null(mkdtemp(buf));
}

static inline bool mb_wait_path(const char *path, int ms)
{
    for (int i = 0; i < ms / 20; i++) {
        struct stat st;
        if (stat(path, &st) == 0 && st.st_size >= 0) return true;
        mb_sleep_ms(20);
    }
    return false;
}

/* Two connected pseudo-terminals DIR/ttyA and DIR/ttyB (PEERS.md). */
static inline void mb_socat_start(plcio_test_proc *p, const char *dir, int max_seconds)
{
    char a[400], b[400], pa[300], pb[300];
    snprintf(pa, sizeof pa, "%s/ttyA", dir);
    snprintf(pb, sizeof pb, "%s/ttyB", dir);
    snprintf(a, sizeof a, "pty,raw,echo=0,link=%s", pa);
    snprintf(b, sizeof b, "pty,raw,echo=0,link=%s", pb);
    const char *argv[] = {"socat", a, b, NULL};
    assert_int_equal(plcio_test_proc_start(p, argv, NULL, 0, max_seconds), 0);
    assert_true(mb_wait_path(pa, 5000));
    assert_true(mb_wait_path(pb, 5000));
}

/* tshark on loopback for port N (TCP and UDP), writing path. Ready once the
 * capture file has its header. */
/* tshark runs dumpcap as a child in its process group. A test that fails
 * between start and stop leaves both: the groups still running are killed
 * when the test program exits (cmocka returns from main after failures). */
static pid_t mb_capture_groups[8];

static inline void mb_capture_kill_all(void)
{
    for (size_t i = 0; i < sizeof mb_capture_groups / sizeof mb_capture_groups[0]; i++)
        if (mb_capture_groups[i] > 0) kill(-mb_capture_groups[i], SIGKILL);
}

static inline void mb_capture_track(pid_t group, bool add)
{
    static bool registered;
    if (!registered) registered = atexit(mb_capture_kill_all) == 0;
    for (size_t i = 0; i < sizeof mb_capture_groups / sizeof mb_capture_groups[0]; i++)
        if (mb_capture_groups[i] == (add ? 0 : group)) {
            mb_capture_groups[i] = add ? group : 0;
            return;
        }
}

static inline bool mb_capture_start(plcio_test_proc *p, int port, const char *path, int max_seconds)
{
    char filter[64];
    snprintf(filter, sizeof filter, "tcp port %d or udp port %d", port, port);
    const char *argv[] = {"tshark", "-q", "-i", "lo", "-f", filter, "-w", path, NULL};
    if (plcio_test_proc_start(p, argv, NULL, 0, max_seconds) != 0) return false;
    mb_capture_track(p->pid, true);
    for (int i = 0; i < 250; i++) {
        struct stat st;
        if (stat(path, &st) == 0 && st.st_size > 0) {
            mb_sleep_ms(300);
            return true;
        }
        mb_sleep_ms(20);
    }
    pid_t group = p->pid;
    plcio_test_proc_stop(p); /* kills the whole group */
    mb_capture_track(group, false);
    return false;
}

/* Stops the capture at once (what it holds so far is kept): for the
 * teardown, or when nothing is checked in the file. Before a check, use
 * mb_capture_finish. */
static inline void mb_capture_stop(plcio_test_proc *p)
{
    pid_t group = p->pid;
    kill(p->pid, SIGINT); /* let tshark/dumpcap flush the file */
    plcio_test_proc_wait(p, 5000);
    plcio_test_proc_stop(p);
    if (group > 0) {
        kill(-group, SIGKILL); /* whatever of the group tshark left behind */
        mb_capture_track(group, false);
    }
}

/* Waits (up to 60 s) until the capture holds the whole exchange, then stops
 * it. TCP: every connection to port has its FIN or RST in the file (the
 * clients are done and gone when this is called); UDP has no end to wait
 * for: at least min_frames Modbus frames, the count mb_tshark_check asks. */
static inline void mb_capture_finish(plcio_test_proc *p, const char *path, int port, bool udp, int min_frames)
{
    bool whole;
    if (udp) {
        char args[160];
        snprintf(args, sizeof args, "-d udp.port==%d,mbudp -o mbudp.udp.port:%d", port, port);
        whole = plcio_test_capture_wait_frames(path, args, "modbus", min_frames, 60000) >= min_frames;
    } else {
        whole = plcio_test_capture_wait_closed(path, port, 60000);
    }
    mb_capture_stop(p);
    if (!whole) fail_msg("the capture %s never held the whole exchange on port %d\n", path, port);
}

/* Lines tshark prints for `filter` on the capture, decoding port as Modbus. */
static inline int mb_tshark_count(const char *path, int port, bool udp, const char *filter, char *first, size_t cap)
{
    char cmd[600];
    /* Decode-as alone leaves Wireshark 4.0 unable to tell queries from
     * responses; the server port preferences tell it. */
    snprintf(cmd, sizeof cmd,
             "tshark -o tcp.analyze_sequence_numbers:FALSE -r '%s' -d %s.port==%d,%s -o mbtcp.tcp.port:%d -o "
             "mbudp.udp.port:%d -Y '%s' 2>/dev/null",
             path, udp ? "udp" : "tcp", port, udp ? "mbudp" : "mbtcp", port, port, filter);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    char line[1024];
    int n = 0;
    if (first && cap) first[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        if (n == 0 && first && cap) snprintf(first, cap, "%s", line);
        n++;
    }
    pclose(f);
    return n;
}

/* Wireshark's Modbus dissector must see frames and find nothing wrong. */
static inline void mb_tshark_check(const char *path, int port, bool udp, int min_frames)
{
    char first[1024];
    int bad =
        mb_tshark_count(path, port, udp, "(_ws.malformed || _ws.expert.severity >= warning) && !tcp.options.sack.dsack",
                        first, sizeof first);
    if (bad) print_error("tshark objects to %d frame(s), first: %s\n", bad, first);
    assert_int_equal(bad, 0);
    int good = mb_tshark_count(path, port, udp, "modbus", NULL, 0);
    print_message("tshark: %d Modbus frames on port %d, none malformed\n", good, port);
    assert_true(good >= min_frames);
}

#endif
