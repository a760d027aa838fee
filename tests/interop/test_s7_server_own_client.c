/* plcio's own S7 client against plcio's S7 server (the foreign-peer tests are
 * test_s7_server_snap7.c and test_s7_sim_cli.c): large pipelined reads and
 * writes, multi-variable with per-item errors, SZL, blocks, upload, control,
 * clock, password, and the client's error texts for the server's codes. */
#include <stdlib.h>
#include <string.h>

#include "plcio/plcio.h"
#include "plcio_test.h"

static plcio_s7_server *srv;
static plcio_s7_client *cl;

static int setup(void **state)
{
    (void)state;
    plcio_s7_server_options cfg;
    plcio_s7_server_options_init(&cfg);
    cfg.port = 0;
    cfg.password = "pw1";
    cfg.protection_level = 2;
    cfg.threads = 2;
    assert_int_equal(plcio_s7_server_new(&cfg, &srv, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_DB, 1, 65535, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_DB, 2, 100, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_M, 0, 64, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_T, 0, 16, NULL), PLCIO_OK);
    uint8_t *db1 = plcio_s7_server_area_data(srv, PLCIO_S7_SERVER_AREA_DB, 1, NULL);
    for (size_t i = 0; i < 65535; i++)
        db1[i] = (uint8_t)(i * 7);
    assert_int_equal(plcio_s7_server_start(srv), PLCIO_OK);
    plcio_s7_client_options o;
    plcio_s7_client_options_init(&o);
    o.host = "127.0.0.1";
    o.port = plcio_s7_server_port(srv);
    (void)plcio_s7_client_new(NULL, &o, &cl, NULL);
    assert_non_null(cl);
    assert_int_equal(plcio_s7_client_connect(cl), PLCIO_OK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    plcio_s7_client_free(cl);
    plcio_s7_server_free(srv);
    return 0;
}

static void test_read_write(void **state)
{
    (void)state;
    assert_int_equal(plcio_s7_client_pdu_size(cl), 960);
    assert_int_equal(plcio_s7_client_parallel_jobs(cl), 8);
    uint8_t *big = malloc(65535);
    assert_int_equal(plcio_s7_client_read_area(cl, PLCIO_S7_AREA_DB, 1, 0, 65535, big), PLCIO_OK);
    for (size_t i = 0; i < 65535; i++)
        assert_int_equal(big[i], (uint8_t)(i * 7));
    /* Protection level 2: writes need the password. */
    uint8_t v[4] = {1, 2, 3, 4};
    assert_int_equal(plcio_s7_client_write_area(cl, PLCIO_S7_AREA_DB, 2, 0, 4, v), PLCIO_EPLC);
    assert_int_equal(plcio_s7_client_last_item_code(cl), 0x03);
    assert_int_equal(plcio_s7_client_set_password(cl, "nope"), PLCIO_EPLC);
    assert_int_equal(plcio_s7_client_set_password(cl, "pw1"), PLCIO_OK);
    memset(big, 0x3C, 65535);
    assert_int_equal(plcio_s7_client_write_area(cl, PLCIO_S7_AREA_DB, 1, 0, 65535, big), PLCIO_OK);
    uint8_t *db1 = plcio_s7_server_area_data(srv, PLCIO_S7_SERVER_AREA_DB, 1, NULL);
    assert_int_equal(db1[0], 0x3C);
    assert_int_equal(db1[65534], 0x3C);
    free(big);
    assert_int_equal(plcio_s7_client_write_bit(cl, PLCIO_S7_AREA_MK, 0, 3, 6, true), PLCIO_OK);
    bool bit = false;
    assert_int_equal(plcio_s7_client_read_bit(cl, PLCIO_S7_AREA_MK, 0, 3, 6, &bit), PLCIO_OK);
    assert_true(bit);
    assert_int_equal(plcio_s7_server_area_data(srv, PLCIO_S7_SERVER_AREA_M, 0, NULL)[3], 0x40);
    /* Errors with the server's reasons. */
    uint8_t b[8];
    assert_int_equal(plcio_s7_client_read_area(cl, PLCIO_S7_AREA_DB, 9, 0, 4, b), PLCIO_EPLC);
    assert_int_equal(plcio_s7_client_last_item_code(cl), 0x0A);
    assert_int_equal(plcio_s7_client_read_area(cl, PLCIO_S7_AREA_DB, 2, 98, 4, b), PLCIO_EPLC);
    assert_int_equal(plcio_s7_client_last_item_code(cl), 0x05);
    printf("client says: %s\n", plcio_s7_client_last_error(cl)->text);
    /* Multi-variable: merged, packed, per-item results. */
    uint8_t d[4][4];
    plcio_s7_var vars[4] = {
        {PLCIO_S7_AREA_DB, 1, 10, 4, -1, d[0], 0, 0},
        {PLCIO_S7_AREA_DB, 1, 14, 4, -1, d[1], 0, 0},
        {PLCIO_S7_AREA_DB, 7, 0, 4, -1, d[2], 0, 0},
        {PLCIO_S7_AREA_TM, 0, 2, 2, -1, d[3], 0, 0},
    };
    assert_int_equal(plcio_s7_client_read_vars(cl, vars, 4), PLCIO_EPLC);
    assert_int_equal(vars[0].result, PLCIO_OK);
    assert_int_equal(vars[1].result, PLCIO_OK);
    assert_int_equal(vars[2].item_code, 0x0A);
    assert_int_equal(vars[3].result, PLCIO_OK);
    assert_int_equal(d[0][0], 0x3C);
}

static void test_info_blocks_control(void **state)
{
    (void)state;
    plcio_s7_cpu_info info;
    assert_int_equal(plcio_s7_client_cpu_info(cl, &info), PLCIO_OK);
    assert_string_equal(info.module_type, "CPU 315-2 PN/DP");
    assert_string_equal(info.order_code, "6ES7 315-2EH14-0AB0");
    assert_string_equal(info.firmware, "V3.2.6");
    assert_int_equal(info.cpu_state, 0x08);
    assert_int_equal(info.protection_level, 2);
    assert_int_equal(info.max_pdu, 960);
    assert_int_equal(plcio_s7_client_plc_stop(cl), PLCIO_EPLC); /* level 2: control needs the password */
    assert_int_equal(plcio_s7_client_set_password(cl, "pw1"), PLCIO_OK);
    assert_int_equal(plcio_s7_client_cpu_info(cl, &info), PLCIO_OK);
    assert_int_equal(info.protection_level, 1);
    uint8_t szl[2048];
    size_t len = 0;
    assert_int_equal(plcio_s7_client_read_szl(cl, 0x001C, 0, szl, sizeof szl, &len), PLCIO_OK);
    assert_int_equal(len, 8 + 10 * 34);
    /* header-only list: the count of the full list, no records */
    assert_int_equal(plcio_s7_client_read_szl(cl, 0x0F1C, 0, szl, sizeof szl, &len), PLCIO_OK);
    assert_int_equal(len, 8);
    assert_int_equal(plcio_get_u16be(szl), 0x0F1C);
    assert_int_equal(plcio_get_u16be(szl + 4), 34);
    assert_int_equal(plcio_get_u16be(szl + 6), 10);

    plcio_s7_block_count bc;
    assert_int_equal(plcio_s7_client_list_blocks(cl, &bc), PLCIO_OK);
    assert_int_equal(bc.db, 2);
    uint16_t nums[8];
    size_t n = 0;
    assert_int_equal(plcio_s7_client_list_blocks_of_type(cl, "DB", nums, 8, &n), PLCIO_OK);
    assert_int_equal(n, 2);
    assert_int_equal(nums[1], 2);
    plcio_s7_block_details bd;
    assert_int_equal(plcio_s7_client_block_info(cl, "DB", 1, &bd), PLCIO_OK);
    assert_int_equal(bd.mc7_size, 65535);
    assert_int_equal(bd.load_size, 65535 + 92);
    uint8_t *img = malloc(70000);
    assert_int_equal(plcio_s7_client_upload(cl, "DB", 1, img, 70000, &len), PLCIO_OK);
    assert_int_equal(len, 65535 + 92);
    assert_int_equal(img[36 + 1], 7); /* the DB bytes (i * 7) follow the 36-byte header */
    assert_int_equal(img[36 + 1000], (uint8_t)(1000 * 7));
    free(img);

    assert_int_equal(plcio_s7_client_plc_stop(cl), PLCIO_OK);
    int state_now = 0;
    assert_int_equal(plcio_s7_client_get_cpu_state(cl, &state_now), PLCIO_OK);
    assert_int_equal(state_now, 0x04);
    assert_int_equal(plcio_s7_client_copy_ram_to_rom(cl), PLCIO_OK); /* allowed in STOP */
    assert_int_equal(plcio_s7_client_plc_hot_start(cl), PLCIO_OK);
    assert_int_equal(plcio_s7_server_get_cpu_state(srv), PLCIO_S7_SERVER_CPU_RUN);

    plcio_s7_clock ck = {2030, 12, 31, 23, 59, 58, 250, 3};
    assert_int_equal(plcio_s7_client_set_clock(cl, &ck), PLCIO_OK);
    plcio_s7_clock got;
    assert_int_equal(plcio_s7_client_get_clock(cl, &got), PLCIO_OK);
    assert_int_equal(got.year, 2030);
    assert_int_equal(got.month, 12);
    assert_int_equal(got.day, 31);
    assert_true(got.hour == 23 || got.hour == 0);
    assert_int_equal(plcio_s7_client_clear_password(cl), PLCIO_OK);
    assert_int_equal(plcio_s7_client_plc_stop(cl), PLCIO_EPLC); /* protected again */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_read_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_info_blocks_control, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
