/* Every frame plcio's S7 client sends, judged by Wireshark's dissectors:
 * the test captures its own loopback traffic with snap7's server (one call of
 * every kind), then asks tshark for malformed packets and expert warnings in
 * the client's frames. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "plcio/plcio.h"
#include "plcio_test.h"

static int run_count(const char *cmd)
{
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        print_message("tshark: %s", line);
        n++;
    }
    pclose(f);
    return n;
}

static void exercise(plcio_s7_client *c)
{
    static uint8_t big[20000];
    uint8_t b[64] = {1, 2, 3, 4};
    assert_int_equal(plcio_s7_client_read_area(c, PLCIO_S7_AREA_DB, 2, 0, sizeof big, big), PLCIO_OK);
    assert_int_equal(plcio_s7_client_write_area(c, PLCIO_S7_AREA_DB, 3, 1, 3, b), PLCIO_OK);
    assert_int_equal(plcio_s7_client_write_area(c, PLCIO_S7_AREA_DB, 3, 0, 999, big), PLCIO_OK);
    assert_int_equal(plcio_s7_client_read_area(c, PLCIO_S7_AREA_MK, 0, 3, 5, b), PLCIO_OK);
    assert_int_equal(plcio_s7_client_read_area(c, PLCIO_S7_AREA_PE, 0, 0, 2, b), PLCIO_OK);
    assert_int_equal(plcio_s7_client_write_area(c, PLCIO_S7_AREA_PA, 0, 0, 2, b), PLCIO_OK);
    assert_int_equal(plcio_s7_client_read_area(c, PLCIO_S7_AREA_CT, 0, 0, 3, b), PLCIO_OK);
    assert_int_equal(plcio_s7_client_write_area(c, PLCIO_S7_AREA_TM, 0, 2, 2, b), PLCIO_OK);
    assert_int_equal(plcio_s7_client_write_bit(c, PLCIO_S7_AREA_MK, 0, 7, 3, true), PLCIO_OK);
    plcio_s7_var v[25];
    uint8_t d[25][8] = {{0}};
    for (int i = 0; i < 25; i++)
        v[i] = (plcio_s7_var){PLCIO_S7_AREA_DB, 2, (uint32_t)(i * 301), 3, -1, d[i], 0, 0};
    assert_int_equal(plcio_s7_client_read_vars(c, v, 25), PLCIO_OK);
    for (int i = 0; i < 25; i++)
        v[i] = (plcio_s7_var){PLCIO_S7_AREA_DB, 3, (uint32_t)(i * 11), 3, -1, d[i], 0, 0};
    assert_int_equal(plcio_s7_client_write_vars(c, v, 25), PLCIO_OK);
    assert_int_equal(plcio_s7_client_read_area(c, PLCIO_S7_AREA_DB, 99, 0, 2, b), PLCIO_EPLC);
    plcio_s7_cpu_info ci;
    assert_int_equal(plcio_s7_client_cpu_info(c, &ci), PLCIO_OK);
    static uint8_t szl[8192];
    size_t n;
    assert_int_equal(plcio_s7_client_read_szl(c, 0x0000, 0, szl, sizeof szl, &n), PLCIO_OK);
    plcio_s7_block_count bc;
    assert_int_equal(plcio_s7_client_list_blocks(c, &bc), PLCIO_OK);
    uint16_t nums[8];
    assert_int_equal(plcio_s7_client_list_blocks_of_type(c, "DB", nums, 8, &n), PLCIO_OK);
    plcio_s7_block_details bd;
    assert_int_equal(plcio_s7_client_block_info(c, "DB", 1, &bd), PLCIO_OK);
    plcio_s7_clock t;
    assert_int_equal(plcio_s7_client_get_clock(c, &t), PLCIO_OK);
    assert_int_equal(plcio_s7_client_set_clock(c, &t), PLCIO_OK);
    assert_int_equal(plcio_s7_client_plc_stop(c), PLCIO_OK);
    assert_int_equal(plcio_s7_client_plc_hot_start(c), PLCIO_OK);
    assert_int_equal(plcio_s7_client_plc_cold_start(c), PLCIO_OK);
    plcio_s7_client_compress(c); /* snap7 may refuse: the frame is what counts */
    plcio_s7_client_copy_ram_to_rom(c);
    assert_int_equal(plcio_s7_client_delete_block(c, "DB", 77), PLCIO_OK);
    uint8_t up[64];
    assert_int_equal(plcio_s7_client_upload(c, "DB", 1, up, sizeof up, &n), PLCIO_EPLC); /* snap7 refuses */
    assert_int_equal(plcio_s7_client_set_password(c, "SECRET"), PLCIO_OK);
    assert_int_equal(plcio_s7_client_clear_password(c), PLCIO_OK);
}

static void test_client_frames_in_tshark(void **state)
{
    (void)state;
    char script[1024], pcap[256], cmd[2048];
    snprintf(script, sizeof script, "%s/../s7_snap7_server.js", plcio_test_node_modules());
    const char *sargv[] = {"node", script, "--seconds", "60", NULL};
    plcio_test_proc srv, cap;
    assert_int_equal(plcio_test_proc_start(&srv, sargv, "listening on", 20000, 90), 0);
    int port = plcio_test_port_from_line(srv.line);
    snprintf(pcap, sizeof pcap, "/tmp/plcio-s7-tshark-%d.pcapng", (int)getpid());
    snprintf(cmd, sizeof cmd, "exec tshark -i lo -f 'tcp port %d' -w %s 2>&1", port, pcap);
    const char *cargv[] = {"sh", "-c", cmd, NULL};
    if (plcio_test_proc_start(&cap, cargv, "Capturing on", 20000, 90) != 0) {
        plcio_test_proc_stop(&srv);
        fail_msg("tshark could not capture on lo (needs root or the wireshark group)");
    }
    /* "Capturing on" comes before the capture really runs: wait for "Capture started" */
    char line[512];
    bool started = false;
    while (!started && plcio_test_proc_read_line(&cap, line, sizeof line, 10000) == 0)
        started = strstr(line, "Capture started") != NULL;
    if (!started) print_message("tshark did not say 'Capture started'; going on\n");
    plcio_s7_client_options o;
    plcio_s7_client_options_init(&o);
    o.port = port;
    plcio_s7_client *c = NULL;
    (void)plcio_s7_client_new(NULL, &o, &c, NULL);
    assert_int_equal(plcio_s7_client_connect(c), PLCIO_OK);
    exercise(c);
    plcio_s7_client_free(c);
    /* the client closed its connection: once its FIN (or RST) is in the file,
     * every frame before it is too; then stop the capture cleanly (a fixed
     * pause lost the last packets on a loaded or a fast machine) */
    bool whole = plcio_test_capture_wait_closed(pcap, port, 60000);
    kill(cap.pid, SIGINT);
    plcio_test_proc_wait(&cap, 10000);
    plcio_test_proc_stop(&srv);
    assert_true(whole);

    /* Every tshark reading in the interop tests turns TCP sequence analysis off: a
     * loaded machine's capture can miss a loopback packet ("previous segment not
     * captured", dup ACKs: expert warnings about the capture, not about our frames). */
    snprintf(cmd, sizeof cmd,
             "tshark -o tcp.analyze_sequence_numbers:FALSE -r %s -d tcp.port==%d,tpkt -Y 'tcp.dstport==%d && s7comm' "
             "2>/dev/null",
             pcap, port, port);
    int sent = run_count(cmd);
    print_message("client frames decoded as s7comm: %d\n", sent);
    assert_true(sent > 25); /* packets: pipelined PDUs may share one TCP segment */
    snprintf(cmd, sizeof cmd,
             "tshark -o tcp.analyze_sequence_numbers:FALSE -r %s -d tcp.port==%d,tpkt -Y 'tcp.dstport==%d && "
             "(_ws.malformed || _ws.expert.severity >= "
             "warning) && !tcp.options.sack.dsack' 2>/dev/null",
             pcap, port, port);
    assert_int_equal(run_count(cmd), 0);
    (void)remove(pcap); /* a leftover capture in the temporary folder harms nothing */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_frames_in_tshark),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
