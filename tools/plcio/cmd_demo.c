/* plcio demo: the main job on the built-in simulator, in one command.
 *
 * An S7 server (the simulator) holds DB1 "Tank" and a simulated process: the
 * level rises while the pump runs and falls while the valve is open, and a
 * simple PLC program (Auto) switches them at the limits. The sync engine
 * mirrors the DB at 50 Hz into shared memory, and the table below is read back
 * from that shared memory, as any other process would read it. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "plcio/layout.h"
#include "plcio/plcio.h"
#include "plcio/s7_server.h"
#include "plcio/shm.h"
#include "plcio/sync.h"
#include "shm_view.h"
#include "sync_run.h"

static const char tank_source[] = "// The demo's tank: plcio demo serves it as DB1 and mirrors it to shared memory.\n"
                                  "DATA_BLOCK \"Tank\"\n"
                                  "{ S7_Optimized_Access := 'FALSE' }\n"
                                  "VERSION : 0.1\n"
                                  "   STRUCT\n"
                                  "      Level : Real := 50.0;        // %\n"
                                  "      Pump : Bool := TRUE;\n"
                                  "      Valve : Bool := FALSE;\n"
                                  "      Auto : Bool := TRUE;         // the PLC program switches pump and valve\n"
                                  "      Alarm : Bool;                // level outside 5..95 %\n"
                                  "      InflowRate : Real := 8.0;    // % per second while the pump runs\n"
                                  "      OutflowRate : Real := 5.0;   // % per second while the valve is open\n"
                                  "      HighLimit : Real := 80.0;\n"
                                  "      LowLimit : Real := 20.0;\n"
                                  "      Cycles : DInt;               // simulation steps\n"
                                  "   END_STRUCT;\n"
                                  "BEGIN\n"
                                  "END_DATA_BLOCK\n";

typedef struct tank {
    plcio_s7_server *server;
    uint8_t *db;
    size_t db_size;
    plcio_layout_member level, pump, valve, auto_mode, alarm, inflow, outflow, high, low, cycles;
} tank;

static bool get_bit(const tank *t, const plcio_layout_member *m) { return (t->db[m->byte] >> m->bit) & 1u; }

static void set_bit(tank *t, const plcio_layout_member *m, bool on)
{
    uint8_t mask = (uint8_t)(1u << m->bit);
    t->db[m->byte] = (uint8_t)(on ? (t->db[m->byte] | mask) : (t->db[m->byte] & ~mask));
}

static double get_real(const tank *t, const plcio_layout_member *m) { return (double)plcio_get_f32be(t->db + m->byte); }

/* One step of the process and of the PLC program, under the area lock. */
static void simulate(tank *t, double dt)
{
    plcio_s7_server_lock_area(t->server, PLCIO_S7_SERVER_AREA_DB, 1);
    double level = get_real(t, &t->level);
    if (get_bit(t, &t->pump)) level += get_real(t, &t->inflow) * dt;
    if (get_bit(t, &t->valve)) level -= get_real(t, &t->outflow) * dt;
    level = level < 0 ? 0 : level > 100 ? 100 : level;
    if (get_bit(t, &t->auto_mode)) {
        if (level >= get_real(t, &t->high)) {
            set_bit(t, &t->pump, false);
            set_bit(t, &t->valve, true);
        } else if (level <= get_real(t, &t->low)) {
            set_bit(t, &t->pump, true);
            set_bit(t, &t->valve, false);
        }
    }
    set_bit(t, &t->alarm, level < 5 || level > 95);
    plcio_put_f32be(t->db + t->level.byte, (float)level);
    plcio_put_u32be(t->db + t->cycles.byte, plcio_get_u32be(t->db + t->cycles.byte) + 1);
    plcio_s7_server_unlock_area(t->server, PLCIO_S7_SERVER_AREA_DB, 1);
}

static int find(const plcio_layout *l, const char *name, plcio_layout_member *m)
{
    return plcio_layout_lookup(l, name, m);
}

static int make_tank(tank *t, const char *layout_path, char *err, size_t cap)
{
    plcio_layout_set *set = NULL;
    (void)plcio_layout_set_new(NULL, &set, NULL);
    int rc = set ? plcio_layout_set_add_file(set, layout_path) : PLCIO_ENOMEM;
    if (rc == PLCIO_OK) rc = plcio_layout_set_resolve(set);
    const plcio_layout *l = rc == PLCIO_OK ? plcio_layout_set_find(set, "Tank") : NULL;
    if (!l) {
        snprintf(err, cap, "demo layout: %.400s", set ? plcio_layout_set_last_error(set)->text : "out of memory");
        plcio_layout_set_free(set);
        return rc != PLCIO_OK ? rc : PLCIO_EINTERNAL;
    }
    t->db_size = plcio_layout_size(l);
    t->db = calloc(1, t->db_size);
    rc = t->db ? plcio_layout_start_image(l, t->db, t->db_size) : PLCIO_ENOMEM;
    struct {
        const char *name;
        plcio_layout_member *m;
    } members[] = {{"Level", &t->level},         {"Pump", &t->pump},      {"Valve", &t->valve},
                   {"Auto", &t->auto_mode},      {"Alarm", &t->alarm},    {"InflowRate", &t->inflow},
                   {"OutflowRate", &t->outflow}, {"HighLimit", &t->high}, {"LowLimit", &t->low},
                   {"Cycles", &t->cycles}};
    for (size_t i = 0; rc == PLCIO_OK && i < sizeof members / sizeof members[0]; i++) {
        rc = find(l, members[i].name, members[i].m);
        members[i].m->name = NULL; /* names point into the set, freed below */
    }
    plcio_layout_set_free(set);
    if (rc != PLCIO_OK) snprintf(err, cap, "demo layout: %s", plcio_strerror(rc));
    return rc;
}

static int start_server(tank *t, int port, char *err, size_t cap)
{
    plcio_s7_server_options sc;
    plcio_s7_server_options_init(&sc);
    sc.host = "127.0.0.1";
    sc.port = (uint16_t)port;
    sc.identity.as_name = "plcio demo";
    sc.identity.module_name = "tank";
    int rc = plcio_s7_server_new(&sc, &t->server, NULL);
    if (rc == PLCIO_OK) rc = plcio_s7_server_add_area(t->server, PLCIO_S7_SERVER_AREA_DB, 1, t->db_size, t->db);
    if (rc == PLCIO_OK) rc = plcio_s7_server_start(t->server);
    if (rc != PLCIO_OK) snprintf(err, cap, "simulator on 127.0.0.1:%d: %s", port, plcio_strerror(rc));
    return rc;
}

/* The live table, read back from shared memory. */
/* One screen (a terminal: redrawn in place, with how to attach) or one
 * report (a pipe or file: the attach lines were printed once at the start).
 * `seconds` > 0: the run ends by itself, so Ctrl-C is not the way out. */
static void show(FILE *out, plcio_shm_reader *r, const plcio_sync *s, plcio_sync_stats *prev, double dt, bool tty,
                 double elapsed, double seconds)
{
    if (plcio_shm_reader_refresh(r) != PLCIO_OK) return;
    if (tty) fputs("\033[H\033[2J", out);
    fprintf(out, "plcio demo: tank simulator (S7, DB1) -> sync engine at 50 Hz -> shared memory, %.0f s ", elapsed);
    if (seconds > 0)
        fprintf(out, "of %g\n\n", seconds);
    else
        fputs("(Ctrl-C ends)\n\n", out);
    shm_view_table(out, r, 16, 0);
    fprintf(out, "\n  generation %llu\n", (unsigned long long)plcio_shm_reader_generation(r));
    sync_run_print_stats(out, s, prev, dt);
    fputc('\n', out);
    if (tty) sync_run_print_attach(out, plcio_sync_shm_name(s));
    fflush(out);
}

typedef struct demo_options {
    double seconds;
    const char *shm;
    int port;
} demo_options;

static int parse(int argc, char **argv, demo_options *o)
{
    o->seconds = 0;
    o->shm = "demo";
    o->port = 0;
    bool bad = false;
    for (int i = 1; i < argc && !bad; i++) {
        const char *v = NULL;
        char *end;
        if (cli_option(argc, argv, &i, "--seconds", &v, &bad)) {
            if (bad) break;
            o->seconds = strtod(v, &end);
            if (*end || !(o->seconds > 0) || o->seconds > 1e6)
                return cli_error(PLCIO_EXIT_USAGE, "--seconds '%s' is not a positive number", v);
        } else if (cli_option(argc, argv, &i, "--shm", &o->shm, &bad)) {
        } else if (cli_option(argc, argv, &i, "--port", &v, &bad)) {
            if (bad) break;
            long p = strtol(v, &end, 10);
            if (*end || p < 0 || p > 65535) return cli_error(PLCIO_EXIT_USAGE, "--port '%s' is not 0..65535", v);
            o->port = (int)p;
        } else {
            return cli_error(PLCIO_EXIT_USAGE,
                             "unexpected '%s'\nusage: plcio demo [--seconds S] [--shm NAME] [--port P]", argv[i]);
        }
    }
    return bad ? PLCIO_EXIT_USAGE : PLCIO_EXIT_OK;
}

static int write_layout(char *dir, size_t dir_cap, char *path, size_t path_cap)
{
    const char *tmp = getenv("TMPDIR");
    int n = snprintf(dir, dir_cap, "%s/plcio-demo-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (n < 0 || (size_t)n >= dir_cap) return PLCIO_ERANGE; /* TMPDIR too long */
    if (!mkdtemp(dir)) return PLCIO_EIO;
    n = snprintf(path, path_cap, "%s/tank.db", dir);
    if (n < 0 || (size_t)n >= path_cap) return PLCIO_ERANGE;
    FILE *f = fopen(path, "w");
    if (!f) return PLCIO_EIO;
    fputs(tank_source, f);
    return fclose(f) == 0 ? PLCIO_OK : PLCIO_EIO;
}

static int run_demo(int argc, char **argv)
{
    demo_options o;
    int status = parse(argc, argv, &o);
    if (status != PLCIO_EXIT_OK) return status;
    char dir[256], path[300], err[PLCIO_ERROR_TEXT_MAX + 64] = "";
    tank t;
    memset(&t, 0, sizeof t);
    plcio_sync_config *cfg = NULL;
    plcio_sync *s = NULL;
    plcio_shm_reader *r = NULL;
    int rc = write_layout(dir, sizeof dir, path, sizeof path);
    if (rc != PLCIO_OK) snprintf(err, sizeof err, "cannot write the demo layout in %s", dir);
    if (rc == PLCIO_OK) rc = make_tank(&t, path, err, sizeof err);
    if (rc == PLCIO_OK) rc = start_server(&t, o.port, err, sizeof err);
    if (rc == PLCIO_OK) {
        char yaml[1024];
        snprintf(yaml, sizeof yaml,
                 "layouts: [tank.db]\n"
                 "devices:\n"
                 "  - name: tank-plc\n"
                 "    url: \"s7://127.0.0.1:%u?rack=0&slot=1\"\n"
                 "    groups: [{name: tank, db: 1, interval: 20ms, writable: true}]\n",
                 (unsigned)plcio_s7_server_port(t.server));
        plcio_error e;
        rc = plcio_sync_config_parse(yaml, strlen(yaml), "demo", dir, &cfg, &e);
        if (rc != PLCIO_OK) snprintf(err, sizeof err, "%s", e.text);
    }
    if (rc == PLCIO_OK) {
        plcio_sync_options so;
        memset(&so, 0, sizeof so);
        so.shm_name = o.shm;
        so.logger.fn = plcio_log_to_stream;
        so.logger.ctx = stderr;
        so.logger.level = PLCIO_LOG_ERROR;
        plcio_error e;
        rc = plcio_sync_new(cfg, &so, &s, &e);
        if (rc != PLCIO_OK) snprintf(err, sizeof err, "%s", e.text);
    }
    plcio_error msg = {0};
    if (rc == PLCIO_OK) rc = plcio_shm_reader_new(plcio_sync_shm_name(s), &r, &msg);
    plcio_sync_stats *prev = rc == PLCIO_OK ? calloc(plcio_sync_group_count(s) + 1, sizeof *prev) : NULL;
    if (rc == PLCIO_OK && !prev) rc = PLCIO_ENOMEM;
    if (rc == PLCIO_OK) {
        printf("plcio demo: simulator on 127.0.0.1:%u, shared memory %s\n", (unsigned)plcio_s7_server_port(t.server),
               plcio_sync_shm_name(s));
        sync_run_print_attach(stdout, plcio_sync_shm_name(s));
        bool tty = isatty(STDOUT_FILENO);
        uint64_t start = plcio_monotonic_ns(), last_step = start, last_show = start;
        uint64_t show_every = (tty ? 250 : 1000) * PLCIO_NS_PER_MS;
        sync_run_signals_on(s);
        while (!sync_run_interrupted() && rc == PLCIO_OK) {
            rc = plcio_sync_run_once(s, 10);
            uint64_t now = plcio_monotonic_ns();
            if (now - last_step >= 20 * PLCIO_NS_PER_MS) {
                simulate(&t, (double)(now - last_step) / 1e9);
                last_step = now;
            }
            if (now - last_show >= show_every) {
                show(stdout, r, s, prev, (double)(now - last_show) / 1e9, tty, (double)(now - start) / 1e9, o.seconds);
                last_show = now;
            }
            if (o.seconds > 0 && (double)(now - start) / 1e9 >= o.seconds) break;
        }
        sync_run_signals_off();
        if (rc == PLCIO_OK)
            printf("plcio demo: stopped cleanly\n");
        else
            snprintf(err, sizeof err, "sync: %s", plcio_strerror(rc));
    } else if (!err[0]) {
        /* msg.text holds text only when the reader failed to open; a later failure (memory) has none */
        snprintf(err, sizeof err, "%s", msg.text[0] ? msg.text : plcio_strerror(rc));
    }
    free(prev);
    plcio_shm_reader_free(r);
    plcio_sync_free(s);
    plcio_sync_config_free(cfg);
    plcio_s7_server_free(t.server);
    free(t.db);
    unlink(path);
    rmdir(dir);
    if (rc != PLCIO_OK) return cli_error(PLCIO_EXIT_FAILURE, "demo: %s", err[0] ? err : plcio_strerror(rc));
    return PLCIO_EXIT_OK;
}

static const cli_opt demo_opts[] = {
    {"--seconds", "S", "stop after S seconds (default: until Ctrl-C)", 0},
    {"--shm", "NAME", "shared-memory segment name (default demo)", 0},
    {"--port", "P", "the tank simulator's S7 port (default 0: a free one)", 0},
    {NULL, NULL, NULL, 0},
};

static const cli_spec demo_spec = {
    "demo", "",   "tank simulator + sync engine at 50 Hz + live table from shared memory", NULL, demo_opts, NULL,
    NULL,   NULL,
};

const plcio_command plcio_cmd_demo = {&demo_spec, run_demo};
