/* The sync engine's s7-server output (the live image served as classic S7)
 * read by a foreign client, snap7's (node-snap7), while the PLC changes:
 *   - `plcio sim s7` is the source PLC; plcio's S7 client (`plcio write
 *     s7://`) changes its memory;
 *   - `plcio sync --config` maps its tags to other DBs and offsets of the
 *     engine's own S7 server (DBD, DBW, DBX, a DINT placed with DBB);
 *   - snap7 reads the values (bytes and a single bit) as they change; a
 *     read of a DB that is not mapped gets "item not available", past the
 *     mapped bytes "address out of range";
 *   - writes, CPU stop, block delete and set clock are refused (the output
 *     is read-only by default) and the PLC keeps its value, the DBs stay;
 *   - with `writes: true`, snap7's writes (bytes, a bit, several items in
 *     one job, part of a tag) reach the source PLC and are answered only
 *     after the PLC acknowledged (a second client, plcio's, reads them back
 *     at once); each item of a job gets its own code (not writable, not
 *     mapped, a BOOL's byte, past the end); the PLC frozen (SIGSTOP: the
 *     engine's write times out) or gone: an error answer, never "done"; a
 *     client that leaves while its write waits; CPU control stays refused;
 *   - the PLC gone: reads of its tags are refused (hardware fault), never
 *     answered with the old value;
 *   - garbage on the S7 port closes only that connection;
 *   - bad configurations (writes: true, a width that does not fit the tag,
 *     not a DB, overlaps, no such tag, bad listen) are refused with a clear
 *     message. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sync_rig.h"

typedef sync_rig rig; /* out_port: the engine's S7 port */

static rig the_rig;
static int rigs;

static void rig_start_with(rig *r, const char *query, const char *s7_extra)
{
    sync_rig_start_plc(r);
    char text[2000];
    snprintf(text, sizeof text,
             "shm: plcio-test-s7srv-%d-%d\n"
             "devices:\n"
             "  - name: plc\n"
             "    url: \"s7://127.0.0.1:%d?rack=0&slot=1%s\"\n"
             "    reconnect: {min: 50ms, max: 200ms}\n"
             "    groups:\n"
             "      - name: fast\n"
             "        interval: 50ms\n"
             "        tags:\n"
             "          - {address: DB2.DBD100:REAL, name: Temp, writable: true}\n"
             "          - {address: DB2.DBW104:INT, name: Count}\n"
             "          - {address: DB2.DBX106.0, name: Run, writable: true}\n"
             "          - {address: DB2.DBD108:DINT, name: Big, writable: true}\n"
             "s7-server:\n"
             "  listen: 127.0.0.1:%d\n"
             "%s"
             "  map:\n"
             "    - {tag: Temp, at: DB1.DBD0}\n"
             "    - {tag: Count, at: DB1.DBW4}\n"
             "    - {tag: Run, at: DB1.DBX6.3}\n"
             "    - {tag: Temp, at: DB5.DBD0}\n"
             "    - {tag: Big, at: DB5.DBB10}\n",
             (int)getpid(), ++rigs, r->plc_port, query, r->out_port, s7_extra);
    sync_rig_start_sync(r, text);
}

static void rig_start(rig *r) { rig_start_with(r, "", ""); }

static int teardown(void **state)
{
    (void)state;
    sync_rig_stop(&the_rig);
    return 0;
}

/* node-snap7 against the engine's S7 port: one output line per op. */
static void snap7(const rig *r, const char *ops, char *out, size_t cap)
{
    char cmd[1000];
    snprintf(cmd, sizeof cmd, "timeout 40 node %s/sync_s7_server_snap7.js %d %s 2>&1", PLCIO_INTEROP_DIR, r->out_port,
             ops);
    int rc = plcio_test_run(cmd, out, cap);
    if (rc != 0) fail_msg("%s: exit %d: %s\n", cmd, rc, out);
}

static void wait_for(const rig *r, const char *ops, const char *want)
{
    char out[1024] = "";
    for (int i = 0; i < 100; i++) {
        snap7(r, ops, out, sizeof out);
        if (!strcmp(out, want)) return;
        plcio_test_sleep_ms(100);
    }
    fail_msg("snap7 '%s': got '%s', want '%s'\n", ops, out, want);
}

static void hex_be(char *dst, const uint8_t *b, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        dst[2 * i] = digits[b[i] >> 4];
        dst[2 * i + 1] = digits[b[i] & 15];
    }
    dst[2 * n] = '\0';
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void test_snap7_reads_the_live_image(void **state)
{
    (void)state;
    setenv("NODE_PATH", plcio_test_node_modules(), 1); /* fails when the npm peers are missing */
    rig *r = &the_rig;
    rig_start(r);
    char out[1024], want[512];
    snap7(r, "r:1:0:7", out, sizeof out); /* may already have values: printed only */
    printf("before the first read: %s", out);
    for (int round = 0; round < 2; round++) {
        float temp = round ? -0.125f : 123.456f;
        int count = round ? 31000 : -7;
        int32_t big = round ? -2 : 0x12345678;
        char assign[300];
        snprintf(assign, sizeof assign, "DB2.DBD100:REAL=%.9g DB2.DBW104:INT=%d DB2.DBX106.0=%s DB2.DBD108:DINT=%ld",
                 (double)temp, count, round ? "false" : "true", (long)big);
        sync_rig_plc_write(r, assign);
        uint8_t db1[7] = {0}, db5[14] = {0};
        uint32_t t;
        memcpy(&t, &temp, 4);
        put_be32(db1, t);
        db1[4] = (uint8_t)((uint16_t)count >> 8);
        db1[5] = (uint8_t)count;
        db1[6] = round ? 0 : 0x08; /* bit 3 */
        put_be32(db5, t);
        put_be32(db5 + 10, (uint32_t)big);
        char h1[32], h5[64];
        hex_be(h1, db1, sizeof db1);
        hex_be(h5, db5, sizeof db5);
        snprintf(want, sizeof want, "%s\n%s\n%d\n", h1, h5, round ? 0 : 1);
        wait_for(r, "r:1:0:7 r:5:0:14 b:1:6:3", want);
        printf("round %d: snap7 reads %s", round, want);
    }
    /* what a CPU answers for what it does not have */
    snap7(r, "r:9:0:4 r:1:4:4 r:5:12:4", out, sizeof out);
    printf("not mapped / past the end: %s", out);
    assert_non_null(strstr(out, "E00c00000"));                           /* DB9: item not available */
    assert_int_equal(strncmp(strchr(out, '\n') + 1, "E00900000", 9), 0); /* DB1 is 7 bytes */

    /* writes refused; the PLC keeps its value */
    snap7(r, "w:1:0:3f800000 w:1:4:0001 w:7:0:00 stop del:1 del:5 clock r:5:10:4", out, sizeof out);
    printf("writes, stop, delete, set clock: %s", out);
    int lines = 0;
    for (const char *p = out; *p && strchr(p, '\n'); p = strchr(p, '\n') + 1, lines++)
        if (lines < 7) assert_true(*p == 'E'); /* every one refused */
    assert_int_equal(lines, 8);
    assert_non_null(strstr(out, "\nfffffffe\n")); /* DB5 is still there and served */
    snprintf(want, sizeof want, "%s read s7://127.0.0.1:%d DB2.DBD100:REAL DB2.DBW104:INT 2>&1", plcio_test_bin(),
             r->plc_port);
    assert_int_equal(plcio_test_run(want, out, sizeof out), 0);
    printf("the PLC after the refused writes: %s", out);
    assert_non_null(strstr(out, "-0.125"));
    assert_non_null(strstr(out, "31000"));
    assert_null(strstr(out, "\t1\n"));

    /* garbage on the S7 port: that connection goes, the server stays */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)r->out_port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    static const uint8_t junk[] = {0x03, 0x00, 0xFF, 0xFF, 0x11, 0xE0, 0, 0, 0, 1, 0, 0xC0, 1, 0x0A, 0xDE, 0xAD};
    assert_int_equal(send(fd, junk, sizeof junk, 0), (ssize_t)sizeof junk);
    close(fd);
    wait_for(r, "r:5:10:4", "fffffffe\n");

    /* the PLC gone: reads of its tags refused, never the old value */
    plcio_test_proc_stop(&r->sim);
    for (int i = 0; i < 100; i++) {
        snap7(r, "r:1:0:4", out, sizeof out);
        if (out[0] == 'E') break;
        plcio_test_sleep_ms(100);
    }
    printf("the PLC gone: %s", out);
    assert_int_equal(out[0], 'E');
    assert_null(strstr(out, "E00c00000")); /* not "not available": the DB is there */
    snap7(r, "r:5:4:6", out, sizeof out);  /* bytes between mapped tags are no tag's value */
    assert_string_equal(out, "000000000000\n");

    kill(r->sync.pid, SIGTERM);
    assert_int_equal(plcio_test_proc_wait(&r->sync, 5000), 0); /* (under ASan: no leak, no error) */
}

/* The source PLC's values, read by a second client (plcio's). */
static void plc_read(const rig *r, char *out, size_t cap)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd,
             "%s read s7://127.0.0.1:%d DB2.DBD100:REAL DB2.DBW104:INT DB2.DBX106.0 DB2.DBD108:DINT 2>&1",
             plcio_test_bin(), r->plc_port);
    if (plcio_test_run(cmd, out, cap) != 0) fail_msg("%s: %s\n", cmd, out);
}

static void want_in(const char *out, const char *want)
{
    if (!strstr(out, want)) fail_msg("want '%s' in: %s\n", want, out);
}

static void test_snap7_writes_through_to_the_plc(void **state)
{
    (void)state;
    setenv("NODE_PATH", plcio_test_node_modules(), 1);
    rig *r = &the_rig;
    rig_start_with(r, "&timeout=2000", "  writes: true\n");
    char out[1024], plc[1024];
    sync_rig_plc_write(r, "DB2.DBD100:REAL=1.5 DB2.DBW104:INT=7 DB2.DBX106.0=false DB2.DBD108:DINT=100");
    wait_for(r, "r:1:0:7 r:5:10:4", "3fc00000000700\n00000064\n");

    /* one REAL (42.5 = 0x422a0000): "ok" only once the PLC has it, so a
     * second client reads it back at once, without waiting or retrying */
    snap7(r, "w:1:0:422a0000", out, sizeof out);
    assert_string_equal(out, "ok\n");
    plc_read(r, plc, sizeof plc);
    printf("after DBWrite DB1.DBD0: %s", plc);
    want_in(plc, "REAL = 42.5\n");

    /* a bit, then the same tag through its second place in DB5 */
    snap7(r, "wb:1:6:3:1", out, sizeof out);
    assert_string_equal(out, "ok\n");
    plc_read(r, plc, sizeof plc);
    want_in(plc, "DBX106.0 = true\n");
    snap7(r, "w:5:0:c1200000", out, sizeof out); /* -10 */
    assert_string_equal(out, "ok\n");
    plc_read(r, plc, sizeof plc);
    want_in(plc, "REAL = -10\n");

    /* several items in one job: each gets its own code. 41200000 (10) to
     * Temp: done; Count is not writable (0x03); DB9 is not mapped (0x0A);
     * a byte write over Run's byte (0x06); DB1 past its last mapped byte
     * (0x05, snap7: address out of range); Big: done */
    snap7(r, "wm:1:0:41200000,1:4:0001,9:0:00,1:6:00,1:7:00,5:10:00000007", out, sizeof out);
    printf("multi-item write: %s", out);
    assert_string_equal(out, "0,2300000,c00000,a00000,900000,0\n");
    plc_read(r, plc, sizeof plc);
    printf("the PLC after it: %s", plc);
    want_in(plc, "REAL = 10\n");
    want_in(plc, "INT = 7\n"); /* Count kept its value */
    want_in(plc, "DINT = 7\n");
    /* part of a tag: merged with the tag's current bytes (7 -> 0x00000102 keeps the high word) */
    wait_for(r, "r:5:10:4", "00000007\n");
    snap7(r, "w:5:12:0102", out, sizeof out);
    assert_string_equal(out, "ok\n");
    plc_read(r, plc, sizeof plc);
    want_in(plc, "DINT = 258\n");

    /* CPU control stays refused with writes on */
    snap7(r, "stop del:1 clock", out, sizeof out);
    printf("stop, delete, clock: %s", out);
    assert_true(out[0] == 'E' && strstr(out, "\nE") && strstr(strstr(out, "\nE") + 1, "\nE"));

    /* the PLC frozen (SIGSTOP): a client that leaves while its write waits
     * for the PLC (the engine's write times out after 2 s; its answer then
     * finds no client); then a write answered with an error, never "done" */
    assert_int_equal(kill(r->sim.pid, SIGSTOP), 0);
    snap7(r, "wdrop:1:0:40000000", out, sizeof out);
    assert_string_equal(out, "dropped\n");
    snap7(r, "w:1:0:3f800000", out, sizeof out);
    printf("PLC frozen: %s", out);
    assert_int_equal(out[0], 'E');
    assert_int_equal(kill(r->sim.pid, SIGCONT), 0);
    wait_for(r, "r:5:10:4", "00000102\n");

    /* the PLC gone: refused at once (hardware fault), never "done" */
    plcio_test_proc_stop(&r->sim);
    for (int i = 0; i < 100; i++) {
        snap7(r, "r:1:0:4", out, sizeof out);
        if (out[0] == 'E') break;
        plcio_test_sleep_ms(100);
    }
    snap7(r, "w:1:0:3f800000 wb:1:6:3:0", out, sizeof out);
    printf("PLC gone: %s", out);
    assert_true(!strncmp(out, "E02300000", 9) && strstr(out, "\nE02300000"));

    kill(r->sync.pid, SIGTERM);
    assert_int_equal(plcio_test_proc_wait(&r->sync, 5000), 0); /* (under ASan: no leak, no error) */
}

/* plcio sync refuses the configuration, saying `want`. */
static void refused(const char *dir, const char *section, const char *want)
{
    char cfg[160], text[1600], cmd[400], out[2000];
    snprintf(cfg, sizeof cfg, "%s/bad.yaml", dir);
    snprintf(text, sizeof text,
             "shm: plcio-test-s7srv-bad-%d\n"
             "devices:\n"
             "  - name: plc\n"
             "    url: \"s7://127.0.0.1:1?rack=0&slot=1\"\n"
             "    groups:\n"
             "      - name: g\n"
             "        interval: 1s\n"
             "        tags:\n"
             "          - {address: DB2.DBD100:REAL, name: Temp}\n"
             "          - {address: DB2.DBX106.0, name: Run}\n"
             "s7-server:\n"
             "%s",
             (int)getpid(), section);
    plcio_test_write_file(cfg, text);
    snprintf(cmd, sizeof cmd, "PLCIO_TEST_RUN=1 timeout 20 %s sync --config %s 2>&1", plcio_test_bin(), cfg);
    int rc = plcio_test_run(cmd, out, sizeof out);
    printf("%s-> exit %d: %s", section, rc, out);
    assert_true(rc != 0 && rc != 124);
    if (!strstr(out, want)) fail_msg("want '%s' in: %s\n", want, out);
}

static void test_bad_configurations(void **state)
{
    (void)state;
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/plcio-s7o-XXXXXX");
    assert_non_null(mkdtemp(dir));
    refused(dir, "  writes: maybe\n  map:\n    - {tag: Temp, at: DB1.DBD0}\n", "s7-server writes");
    refused(dir, "  map:\n    - {tag: Temp, at: DB1.DBW0}\n", "does not fit DB1.DBW0");
    refused(dir, "  map:\n    - {tag: Run, at: DB1.DBB0}\n", "is a BOOL: map it to a bit");
    refused(dir, "  map:\n    - {tag: Temp, at: MD0}\n", "is not one DB item");
    refused(dir, "  map:\n    - {tag: Temp, at: DB1.DBD0}\n    - {tag: Run, at: DB1.DBX3.0}\n", "overlaps 'Temp'");
    refused(dir, "  map:\n    - {tag: Nope, at: DB1.DBD0}\n", "no tag 'Nope'");
    refused(dir, "  map:\n    - {tag: Temp, at: DB1.DBD65532}\n", "runs past byte 65534");
    refused(dir, "  map:\n    - {tag: Temp, at: DB1.DBX0.0}\n", "does not fit");
    refused(dir, "  map:\n    - {tag: Temp}\n", "needs 'tag' and 'at'");
    refused(dir, "  listen: nowhere\n  map:\n    - {tag: Temp, at: DB1.DBD0}\n", "is not HOST:PORT");
    refused(dir, "  listen: \":0\"\n  map:\n    - {tag: Temp, at: DB1.DBD0}\n", "every interface");
    char path[128];
    snprintf(path, sizeof path, "%s/bad.yaml", dir);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_snap7_reads_the_live_image, teardown),
        cmocka_unit_test_teardown(test_snap7_writes_through_to_the_plc, teardown),
        cmocka_unit_test(test_bad_configurations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
