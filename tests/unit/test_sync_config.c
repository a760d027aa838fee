/* Sync engine YAML configuration: the documented form, defaults, and every kind of mistake. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plcio/plcio.h"
#include "plcio/sync.h"
#include "plcio_test.h"

static const char full[] = "shm: tank\n"
                           "stats-interval: 2s\n"
                           "layouts: [tank.db, /abs/udt.udt]\n"
                           "devices:\n"
                           "  - name: tank-plc\n"
                           "    url: \"s7://127.0.0.1:1102?rack=0&slot=1\"\n"
                           "    reconnect: {min: 50ms, max: 10s}\n"
                           "    stale-after: 5\n"
                           "    groups:\n"
                           "      - name: fast\n"
                           "        interval: 20ms\n"
                           "        db: 10\n"
                           "        layout: Tank\n"
                           "        tags:\n"
                           "          - Level\n"
                           "          - {member: Pump.Run, name: pump}\n"
                           "          - {address: DB1.DBD8:REAL, name: Setpoint, deadband: 0.5}\n"
                           "      - interval: 1s\n"
                           "        db: 11\n"
                           "  - url: modbus-tcp://127.0.0.1:5020?unit=1\n"
                           "    groups:\n"
                           "      - tags: [{address: \"hr0:REAL:CDAB\"}]\n";

static void test_full_config(void **state)
{
    (void)state;
    plcio_sync_config *c;
    plcio_error err = {0};
    assert_int_equal(plcio_sync_config_parse(full, strlen(full), "t.yaml", "/etc/plcio", &c, &err), PLCIO_OK);
    assert_string_equal(c->shm_name, "tank");
    assert_int_equal(c->stats_interval_ms, 2000);
    assert_int_equal(c->layout_count, 2);
    assert_string_equal(c->layout_files[0], "/etc/plcio/tank.db");
    assert_string_equal(c->layout_files[1], "/abs/udt.udt");
    assert_int_equal(c->device_count, 2);
    const plcio_sync_device_spec *d = &c->devices[0];
    assert_string_equal(d->name, "tank-plc");
    assert_string_equal(d->url, "s7://127.0.0.1:1102?rack=0&slot=1");
    assert_int_equal(d->reconnect_min_ms, 50);
    assert_int_equal(d->reconnect_max_ms, 10000);
    assert_int_equal(d->stale_after_cycles, 5);
    assert_int_equal(d->group_count, 2);
    const plcio_sync_group_spec *g = &d->groups[0];
    assert_string_equal(g->name, "fast");
    assert_int_equal(g->interval_ms, 20);
    assert_int_equal(g->db, 10);
    assert_string_equal(g->layout, "Tank");
    assert_false(g->all_members);
    assert_int_equal(g->tag_count, 3);
    assert_string_equal(g->tags[0].member, "Level");
    assert_null(g->tags[0].name);
    assert_string_equal(g->tags[1].member, "Pump.Run");
    assert_string_equal(g->tags[1].name, "pump");
    assert_string_equal(g->tags[2].address, "DB1.DBD8:REAL");
    assert_true(g->tags[2].deadband == 0.5);
    assert_int_equal(g->tags[2].line, 17);
    g = &d->groups[1];
    assert_string_equal(g->name, "group2");
    assert_true(g->all_members);
    assert_int_equal(g->interval_ms, 1000);
    d = &c->devices[1];
    assert_string_equal(d->name, "device2");
    assert_int_equal(d->reconnect_min_ms, 100);
    assert_int_equal(d->stale_after_cycles, 3);
    assert_int_equal(d->groups[0].db, -1);
    assert_int_equal(d->groups[0].interval_ms, 100);
    plcio_sync_config_free(c);
    plcio_sync_config_free(NULL);
}

static void test_defaults(void **state)
{
    (void)state;
    const char *y = "devices:\n  - url: s7://h\n    groups: [{db: 1}]\n";
    plcio_sync_config *c;
    assert_int_equal(plcio_sync_config_parse(y, strlen(y), NULL, NULL, &c, NULL), PLCIO_OK);
    assert_string_equal(c->shm_name, "plcio");
    assert_int_equal(c->stats_interval_ms, 1000);
    assert_int_equal(c->layout_count, 0);
    assert_false(c->json_off);
    assert_int_equal(c->json_interval_ms, 0);
    plcio_sync_config_free(c);
}

/* json: off | on | {interval} */
static void test_json_setting(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        bool off;
        uint32_t ms;
    } cases[] = {{"json: off\n", true, 0},
                 {"json: on\n", false, 0},
                 {"json: {interval: 250ms}\n", false, 250},
                 {"json: {interval: 2s}\n", false, 2000},
                 {"json: {interval: 0}\n", false, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char y[256];
        snprintf(y, sizeof y, "%sdevices:\n  - url: s7://h\n    groups: [{db: 1}]\n", cases[i].line);
        plcio_sync_config *c;
        plcio_error err = {0};
        if (plcio_sync_config_parse(y, strlen(y), NULL, NULL, &c, &err) != PLCIO_OK)
            fail_msg("%s: %s", cases[i].line, err.text);
        assert_int_equal(c->json_off, cases[i].off);
        assert_int_equal(c->json_interval_ms, cases[i].ms);
        plcio_sync_config_free(c);
    }
}

/* Who may read and write the shared memory, and which tags the ring may write. */
static void test_access_and_writable(void **state)
{
    (void)state;
    static const char y[] = "shm: tank\n"
                            "shm-mode: \"0660\"\n"
                            "shm-group: plc-readers\n"
                            "shm-write-mode: \"0620\"\n"
                            "shm-write-group: \"1234\"\n"
                            "devices:\n"
                            "  - url: s7://h\n"
                            "    groups:\n"
                            "      - db: 1\n"
                            "        writable: true\n"
                            "        tags: [Level, {member: Alarm, writable: false}]\n"
                            "      - db: 2\n"
                            "        tags: [{member: Setpoint, writable: true}, Other]\n";
    plcio_sync_config *c;
    plcio_error err = {0};
    assert_int_equal(plcio_sync_config_parse(y, strlen(y), "a.yaml", NULL, &c, &err), PLCIO_OK);
    assert_int_equal(c->shm_mode, 0660);
    assert_string_equal(c->shm_group, "plc-readers");
    assert_int_equal(c->shm_write_mode, 0620);
    assert_string_equal(c->shm_write_group, "1234");
    const plcio_sync_group_spec *g = c->devices[0].groups;
    assert_true(g[0].writable);
    assert_int_equal(g[0].tags[0].writable, 0);  /* as its group: writable */
    assert_int_equal(g[0].tags[1].writable, -1); /* the tag says no */
    assert_false(g[1].writable);                 /* the default */
    assert_int_equal(g[1].tags[0].writable, 1);
    assert_int_equal(g[1].tags[1].writable, 0);
    plcio_sync_config_free(c);
    /* and what the defaults are: nothing set, nothing writable */
    static const char d[] = "devices:\n  - url: s7://h\n    groups: [{db: 1, tags: [Level]}]\n";
    assert_int_equal(plcio_sync_config_parse(d, strlen(d), NULL, NULL, &c, NULL), PLCIO_OK);
    assert_int_equal(c->shm_mode, 0);
    assert_null(c->shm_group);
    assert_int_equal(c->shm_write_mode, 0);
    assert_false(c->devices[0].groups[0].writable);
    assert_int_equal(c->devices[0].groups[0].tags[0].writable, 0);
    plcio_sync_config_free(c);
}

typedef struct {
    const char *yaml;
    int rc;
    const char *message; /* expected start, after "bad.yaml:" */
} bad_case;

static void test_errors_name_line_and_column(void **state)
{
    (void)state;
    static const bad_case cases[] = {
        {"", PLCIO_ESYNTAX, "1:1: the configuration is empty"},
        {"devices: [\n", PLCIO_ESYNTAX, "2:1: YAML:"},
        {"- 1\n- 2\n", PLCIO_ESYNTAX, "1:1: the configuration must be a mapping, not a list"},
        {"shm: x\n", PLCIO_ESYNTAX, "1:1: no devices"},
        {"shm: x\nshmm: y\n", PLCIO_ESYNTAX, "2:1: unknown key 'shmm' in the configuration"},
        {"shm: x\nshm: y\n", PLCIO_ESYNTAX, "2:1: 'shm' is given twice"},
        {"shm: ''\n", PLCIO_ESYNTAX, "1:6: shm must not be empty"},
        {"json: sometimes\n", PLCIO_ESYNTAX, "1:7: json must be off, on or {interval: 100ms}, not 'sometimes'"},
        {"json: {interval: soon}\n", PLCIO_ESYNTAX, "1:18: json interval 'soon' is not a duration"},
        {"json: {interval: 99999999999}\n", PLCIO_ERANGE, "1:18: json interval '99999999999' is out of range"},
        {"json: {every: 1s}\n", PLCIO_ESYNTAX, "1:8: unknown key 'every' in json"},
        {"json: [off]\n", PLCIO_ESYNTAX, "1:7: json must be a mapping"},
        {"devices: {url: x}\n", PLCIO_ESYNTAX, "1:10: devices must be a list, not a mapping"},
        {"devices:\n  - name: a\n", PLCIO_ESYNTAX, "2:5: a device needs a 'url'"},
        {"devices:\n  - url: s7://h\n", PLCIO_ESYNTAX, "2:5: device 's7://h' has no 'groups'"},
        {"devices:\n  - url: s7://h\n    groups: []\n", PLCIO_ESYNTAX, "3:13: groups is empty"},
        {"devices:\n  - url: s7://h\n    groups: [{interval: 5}]\n", PLCIO_ESYNTAX,
         "3:14: group 'group1' has neither 'db'"},
        {"devices:\n  - url: s7://h\n    groups: [{db: 0}]\n", PLCIO_ERANGE, "3:19: db 0 is out of range (1..65535)"},
        {"devices:\n  - url: s7://h\n    groups: [{db: 70000}]\n", PLCIO_ERANGE, "3:19: db 70000 is out of range"},
        {"devices:\n  - url: s7://h\n    groups: [{db: ten}]\n", PLCIO_ESYNTAX, "3:19: db must be a whole number"},
        {"devices:\n  - url: s7://h\n    groups: [{db: 1, interval: 0}]\n", PLCIO_ERANGE,
         "3:32: interval '0' is out of range"},
        {"devices:\n  - url: s7://h\n    groups: [{db: 1, interval: 20 ms}]\n", PLCIO_ESYNTAX,
         "3:32: interval '20 ms' is not a duration"},
        {"devices:\n  - url: s7://h\n    groups: [{db: 1, interval: 99999999999}]\n", PLCIO_ERANGE, "3:32: interval"},
        {"devices:\n  - url: s7://h\n    groups: [{tags: [Level]}]\n", PLCIO_ESYNTAX,
         "3:14: group 'group1' lists member 'Level' (line 3) but no 'db'"},
        {"devices:\n  - url: s7://h\n    groups: [{db: 1, tags: [{name: x}]}]\n", PLCIO_ESYNTAX,
         "3:29: a tag needs exactly one of 'member' or 'address'"},
        {"devices:\n  - url: s7://h\n    groups: [{db: 1, tags: [{member: a, address: MW0}]}]\n", PLCIO_ESYNTAX,
         "3:29: a tag needs exactly one"},
        {"devices:\n  - url: s7://h\n    groups: [{db: 1, tags: [{member: a, deadband: -1}]}]\n", PLCIO_ERANGE,
         "3:51: deadband must be a number >= 0"},
        {"devices:\n  - url: s7://h\n    groups: [{db: 1, tags: [{member: a, color: red}]}]\n", PLCIO_ESYNTAX,
         "3:41: unknown key 'color' in a tag"},
        {"devices:\n  - url: s7://h\n    reconnect: {min: 5s, max: 1s}\n    groups: [{db: 1}]\n", PLCIO_ERANGE,
         "2:5: device 'device1': reconnect min (5000ms) is above max (1000ms)"},
        {"devices:\n  - {name: a, url: s7://h, groups: [{db: 1}]}\n  - {name: a, url: s7://i, groups: [{db: 2}]}\n",
         PLCIO_ESYNTAX, "3:12: device name 'a' is used twice (lines 2 and 3)"},
        /* the duplicate's own name, not the top of the file */
        {"devices:\n  - name: plc\n    url: s7://h\n    groups: [{db: 1}]\n  - url: s7://i\n    groups: [{db: 2}]\n"
         "  - url: s7://j\n    name: plc\n    groups: [{db: 3}]\n",
         PLCIO_ESYNTAX, "8:11: device name 'plc' is used twice (lines 2 and 7)"},
        /* an unnamed device is "deviceN": the clash points at the device */
        {"devices:\n  - {name: device2, url: s7://h, groups: [{db: 1}]}\n  - {url: s7://i, groups: [{db: 2}]}\n",
         PLCIO_ESYNTAX, "3:5: device name 'device2' is used twice (lines 2 and 3)"},
        {"devices:\n  - url: [s7://h]\n    groups: [{db: 1}]\n", PLCIO_ESYNTAX,
         "2:10: url must be a value, not a list"},
        {"layouts: {a: b}\ndevices: []\n", PLCIO_ESYNTAX, "1:10: layouts must be a list"},
        {"&a [*a]\n", PLCIO_ESYNTAX, "1:"},
        {"shm-mode: 640x\ndevices: []\n", PLCIO_ESYNTAX, "1:11: shm-mode '640x' is not an octal mode"},
        {"shm-mode: \"0989\"\ndevices: []\n", PLCIO_ESYNTAX, "1:11: shm-mode '0989' is not an octal mode"},
        {"shm-write-mode: \"01777\"\ndevices: []\n", PLCIO_ERANGE, "1:17: shm-write-mode '01777' is out of range"},
        {"shm-mode: \"0440\"\ndevices: []\n", PLCIO_ERANGE, "1:11: shm-mode '0440' is out of range"},
        {"shm-group: [a]\ndevices: []\n", PLCIO_ESYNTAX, "1:12: shm-group must be a value, not a list"},
        {"devices:\n  - url: s7://h\n    groups: [{db: 1, writable: maybe}]\n", PLCIO_ESYNTAX, "3:32: writable"},
        {"devices:\n  - url: s7://h\n    groups: [{db: 1, tags: [{member: a, writable: 2}]}]\n", PLCIO_ESYNTAX,
         "3:51: writable"},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        plcio_sync_config *c = (plcio_sync_config *)0x1;
        plcio_error err = {0};
        int rc = plcio_sync_config_parse(cases[i].yaml, strlen(cases[i].yaml), "bad.yaml", NULL, &c, &err);
        if (rc != cases[i].rc || strncmp(err.text, "bad.yaml:", 9) != 0 ||
            strncmp(err.text + 9, cases[i].message, strlen(cases[i].message)) != 0)
            print_error("case %zu: rc %d (want %d), message '%s' (want 'bad.yaml:%s...')\n", i, rc, cases[i].rc,
                        err.text, cases[i].message),
                bad++;
        assert_null(c);
    }
    assert_int_equal(bad, 0);
}

static void test_durations(void **state)
{
    (void)state;
    uint32_t ms;
    assert_int_equal(plcio_sync_parse_duration_ms("20", &ms), PLCIO_OK);
    assert_int_equal(ms, 20);
    assert_int_equal(plcio_sync_parse_duration_ms("1s", &ms), PLCIO_OK);
    assert_int_equal(ms, 1000);
    assert_int_equal(plcio_sync_parse_duration_ms("2min", &ms), PLCIO_OK);
    assert_int_equal(ms, 120000);
    assert_int_equal(plcio_sync_parse_duration_ms("1h", &ms), PLCIO_OK);
    assert_int_equal(ms, 3600000);
    assert_int_equal(plcio_sync_parse_duration_ms("-1", &ms), PLCIO_ESYNTAX);
    assert_int_equal(plcio_sync_parse_duration_ms("1.5s", &ms), PLCIO_ESYNTAX);
    assert_int_equal(plcio_sync_parse_duration_ms("5 s", &ms), PLCIO_ESYNTAX);
    assert_int_equal(plcio_sync_parse_duration_ms("ms", &ms), PLCIO_ESYNTAX);
    assert_int_equal(plcio_sync_parse_duration_ms("5000000h", &ms), PLCIO_ERANGE);
    assert_int_equal(plcio_sync_parse_duration_ms("99999999999999999999999", &ms), PLCIO_ERANGE);
}

static void test_load_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/plcio-cfg-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/sync.yaml", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("layouts: db10.db\ndevices:\n  - url: s7://h\n    groups: [{db: 10}]\n", f);
    assert_int_equal(fclose(f), 0);
    plcio_sync_config *c;
    plcio_error err = {0};
    assert_int_equal(plcio_sync_config_load(path, &c, &err), PLCIO_OK);
    char want[300];
    snprintf(want, sizeof want, "%s/db10.db", dir);
    assert_string_equal(c->layout_files[0], want);
    plcio_sync_config_free(c);
    unlink(path);
    rmdir(dir);
    assert_int_equal(plcio_sync_config_load(path, &c, &err), PLCIO_ENOTFOUND);
    assert_non_null(strstr(err.text, "No such file"));
}

static void test_truncations_never_crash(void **state)
{
    (void)state;
    /* Every prefix of a valid file is either valid or an error with a location. */
    for (size_t n = 0; n < sizeof full - 1; n++) {
        plcio_sync_config *c = NULL;
        plcio_error err = {0};
        int rc = plcio_sync_config_parse(full, n, "p.yaml", NULL, &c, &err);
        if (rc == PLCIO_OK)
            plcio_sync_config_free(c);
        else
            assert_true(strncmp(err.text, "p.yaml:", 7) == 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_config),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_json_setting),
        cmocka_unit_test(test_errors_name_line_and_column),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_truncations_never_crash),
        cmocka_unit_test(test_access_and_writable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
