/* plcio sync: run the sync engine in the foreground. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "plcio/plcio.h"
#include "plcio/sync.h"
#include "sync_http.h"
#include "sync_mqtt.h"
#include "sync_run.h"

static const char usage[] =
    "usage: plcio sync (--config FILE | URL (--db N --layout FILE... | --tag ADDRESS...) [--interval MS])\n"
    "                  [--shm NAME] [--stats MS] [--seconds S] [--quiet] [--writable]\n"
    "                  [--shm-mode MODE] [--shm-group GROUP] [--shm-write-mode MODE] [--shm-write-group GROUP]\n"
    "                  [--postgres CONNINFO] [--influx URL] [--mqtt mqtt://HOST:PORT] [--sparkplug GROUP/NODE]\n"
    "                  [--json-interval MS | --no-json]\n"
    "       --writable: the one-liner's tags accept writes through shared memory (default: none do);\n"
    "       --shm-mode (default 0640) / --shm-group: who may read the segment NAME;\n"
    "       --shm-write-mode (default 0600) / --shm-write-group: who may ask for writes (NAME.ring)\n"
    "       --json-interval MS: rewrite the segment's JSON text at most this often (default: on every change);\n"
    "       --no-json: keep no JSON text (binary readers only; saves the engine the rendering)\n"
    "       --tag ADDRESS: one tag by address (hr100:REAL, co3, DB1.DBD8:REAL), repeatable; an array\n"
    "         (hr0[4], DB1.DBW0[3]) is one tag per element, named hr0[0] .. hr0[3]\n"
    "       Modbus devices take tags this way (modbus-tcp/-tls/-udp/-rtu/-ascii://...)\n"
    "       --postgres CONNINFO: every change also into PostgreSQL table plcio_samples (created when missing);\n"
    "         CONNINFO is libpq's (\"host=/run/postgresql dbname=plant\"); the password comes from PGPASSWORD\n"
    "         or a password file (passfile=FILE, ~/.pgpass), not from this command line\n"
    "       --influx URL: every change also as line protocol to http://HOST:8086/write?db=NAME\n"
    "         (InfluxDB 2.x: .../api/v2/write?org=O&bucket=B with the token in INFLUX_TOKEN); docs/historian.md\n"
    "       --mqtt mqtt://HOST[:PORT] | mqtts://HOST[:PORT]: every change also to an MQTT broker, as JSON on\n"
    "         plcio/DEVICE/TAG (QoS 1), engine status on plcio/CLIENT/status; no writes (docs/mqtt.md)\n"
    "       --sparkplug GROUP/NODE: with --mqtt, as a Sparkplug B edge node instead (docs/sparkplug.md)"
    "\n" SYNC_HTTP_USAGE;

/* YAML double-quoted scalar. */
static void yaml_quote(char *out, size_t cap, const char *s)
{
    size_t n = 0;
    if (n + 1 < cap) out[n++] = '"';
    for (; *s && n + 3 < cap; s++) {
        if (*s == '"' || *s == '\\') out[n++] = '\\';
        out[n++] = *s;
    }
    if (n + 1 < cap) out[n++] = '"';
    out[n] = '\0';
}

/* An array tag on the command line ("hr0[4]", "DB1.DBW0[3]", "co5:BOOL[8]",
 * as `plcio read` takes them) is one shared-memory tag per element, named
 * BASE[i] like the elements of a layout's array (BASE: the text as given
 * without its "[n]"). The element addresses come from the parsed array. */
typedef struct tag_array {
    bool modbus; /* which parser */
    plcio_s7_address s7;
    plcio_mb_address mb;
    uint32_t count; /* 1: not an array (or not parsed): the text goes as given */
    char base[PLCIO_ADDRESS_TEXT_MAX + 64];
} tag_array;

static void tag_array_parse(const char *url, const char *text, tag_array *t)
{
    memset(t, 0, sizeof *t);
    t->count = 1;
    t->modbus = strncmp(url, "modbus", 6) == 0;
    bool s7 = strncmp(url, "s7://", 5) == 0 || strncmp(url, "s7plus://", 9) == 0 || strncmp(url, "logo://", 7) == 0;
    int rc = t->modbus ? plcio_mb_address_parse(text, &t->mb, NULL)
             : s7      ? plcio_s7_address_parse(text, &t->s7, NULL)
                       : PLCIO_EUNSUPPORTED;
    uint32_t count = rc != PLCIO_OK ? 1 : t->modbus ? t->mb.count : t->s7.count;
    if (count <= 1) return; /* the engine says what is wrong with it, if anything */
    size_t len = strlen(text), cut = len;
    if (len && text[len - 1] == ']') {
        const char *open = strrchr(text, '[');
        if (open) cut = (size_t)(open - text);
    }
    if (cut >= sizeof t->base) return; /* too long for a tag name anyway: the engine says so */
    memcpy(t->base, text, cut);
    t->base[cut] = '\0';
    t->count = count;
}

/* Element i's address (count 1). */
static int tag_array_element(const tag_array *t, uint32_t i, char *buf, size_t cap)
{
    if (t->modbus) {
        plcio_mb_address e = t->mb;
        uint32_t per = t->mb.quantity / t->mb.count;
        e.address = (uint16_t)(t->mb.address + i * per);
        e.count = 1;
        e.quantity = per;
        return plcio_mb_address_format(&e, buf, cap);
    }
    plcio_s7_address e = t->s7;
    e.count = 1;
    if (e.type == PLCIO_TYPE_BOOL) {
        uint32_t bit = t->s7.offset * 8u + t->s7.bit + i;
        e.offset = bit / 8u;
        e.bit = (uint8_t)(bit % 8u);
        e.size = 1;
    } else if (e.area == PLCIO_S7_AREA_TM || e.area == PLCIO_S7_AREA_CT) {
        e.offset = t->s7.offset + i;
        e.size = 2;
    } else {
        uint32_t per = t->s7.size / t->s7.count;
        e.offset = t->s7.offset + i * per;
        e.size = per;
    }
    return plcio_s7_address_format(&e, buf, cap);
}

/* One --tag as YAML tag lines (an array: one line per element) at yaml + n;
 * q is scratch of the same size. Returns the new length. */
static size_t append_tag(char *yaml, size_t size, size_t n, char *q, const char *tag, const tag_array *a)
{
    if (a->count == 1) {
        yaml_quote(q, size, tag);
        return n + (size_t)snprintf(yaml + n, size - n, "          - {address: %s}\n", q);
    }
    for (uint32_t k = 0; k < a->count; k++) {
        char element[PLCIO_ADDRESS_TEXT_MAX], name[sizeof a->base + 16], qname[2 * sizeof name + 4];
        if (tag_array_element(a, k, element, sizeof element) != PLCIO_OK) continue;
        snprintf(name, sizeof name, "%s[%u]", a->base, (unsigned)k);
        yaml_quote(q, size, element);
        yaml_quote(qname, sizeof qname, name);
        n += (size_t)snprintf(yaml + n, size - n, "          - {address: %s, name: %s}\n", q, qname);
    }
    return n;
}

/* The one-liner of the original DB-sync tool, as a configuration: a whole DB
 * (--db with --layout), and/or tags by address (--tag). */
static int one_liner_config(const char *url, const char *db, const char *const *layouts, size_t nlayouts,
                            const char *const *tags, size_t ntags, const char *interval, bool writable, bool subscribe,
                            const char *postgres, const char *influx, const char *mqtt, const char *sparkplug,
                            plcio_sync_config **out, plcio_error *err)
{
    size_t size = 640 + strlen(url) * 2 + (postgres ? 2 * strlen(postgres) : 0) + (influx ? 2 * strlen(influx) : 0) +
                  (mqtt ? 2 * strlen(mqtt) : 0) + (sparkplug ? 2 * strlen(sparkplug) + 96 : 0);
    for (size_t i = 0; i < nlayouts; i++)
        size += 2 * strlen(layouts[i]) + 8;
    tag_array *arrays = calloc(ntags ? ntags : 1, sizeof *arrays);
    if (!arrays) return PLCIO_ENOMEM;
    for (size_t i = 0; i < ntags; i++) {
        tag_array_parse(url, tags[i], &arrays[i]);
        size += (size_t)arrays[i].count * (2 * (strlen(tags[i]) + PLCIO_ADDRESS_TEXT_MAX) + 48);
    }
    char *yaml = malloc(size);
    char *q = malloc(size);
    if (!yaml || !q) {
        free(yaml);
        free(q);
        free(arrays);
        return PLCIO_ENOMEM;
    }
    yaml[0] = '\0';
    size_t n = nlayouts ? (size_t)snprintf(yaml, size, "layouts:\n") : 0;
    for (size_t i = 0; i < nlayouts; i++) {
        yaml_quote(q, size, layouts[i]);
        n += (size_t)snprintf(yaml + n, size - n, "  - %s\n", q);
    }
    yaml_quote(q, size, url);
    n += (size_t)snprintf(yaml + n, size - n, "devices:\n  - name: plc\n    url: %s\n    groups:\n", q);
    const char *w = writable ? "true" : "false";
    if (db && !ntags)
        n += (size_t)snprintf(yaml + n, size - n, "      - {name: db%s, db: %s, interval: %s, writable: %s%s}\n", db,
                              db, interval, w, subscribe ? ", subscribe: true" : "");
    if (ntags) {
        n += (size_t)snprintf(yaml + n, size - n,
                              "      - name: tags\n        interval: %s\n        writable: %s\n%s%s%s%s        tags:\n",
                              interval, w, subscribe ? "        subscribe: true\n" : "", db ? "        db: " : "",
                              db ? db : "", db ? "\n" : "");
        for (size_t i = 0; i < ntags; i++)
            n = append_tag(yaml, size, n, q, tags[i], &arrays[i]);
    }
    if (postgres || influx || mqtt) n += (size_t)snprintf(yaml + n, size - n, "outputs:\n");
    if (postgres) {
        yaml_quote(q, size, postgres);
        n += (size_t)snprintf(yaml + n, size - n, "  - postgres: {conninfo: %s, create: true}\n", q);
    }
    if (influx) {
        yaml_quote(q, size, influx);
        n += (size_t)snprintf(yaml + n, size - n, "  - influx: {url: %s}\n", q);
    }
    if (mqtt) {
        yaml_quote(q, size, mqtt);
        n += (size_t)snprintf(yaml + n, size - n, "  - mqtt: {url: %s", q);
        if (sparkplug) { /* GROUP/NODE: a Sparkplug B edge node (docs/sparkplug.md) */
            const char *slash = strchr(sparkplug, '/');
            yaml_quote(q, size, slash + 1);
            n += (size_t)snprintf(yaml + n, size - n, ", format: sparkplug, sparkplug: {node: %s, group: ", q);
            char *group = strndup(sparkplug, (size_t)(slash - sparkplug));
            if (group) yaml_quote(q, size, group);
            free(group);
            n += (size_t)snprintf(yaml + n, size - n, "%s}", group ? q : "\"\"");
        }
        snprintf(yaml + n, size - n, "}\n");
    }
    int rc = plcio_sync_config_parse(yaml, strlen(yaml), "command line", NULL, out, err);
    free(yaml);
    free(q);
    free(arrays);
    return rc;
}

typedef struct sync_args {
    const char *config, *url, *db, *interval, *shm, *stats, *seconds;
    const char *shm_mode, *shm_group, *shm_write_mode, *shm_write_group;
    const char *postgres, *influx, *mqtt, *sparkplug, *json_interval;
    unsigned data_mode, ring_mode;
    uint32_t json_ms;
    const char *layouts[32], *tags[256];
    size_t nlayouts, ntags;
    bool quiet, help, writable, subscribe, no_json;
    sync_http_args http;
} sync_args;

/* One option or the URL at argv[*i]; PLCIO_EXIT_OK or a usage error (reported). */
static int sync_arg(int argc, char **argv, int *i, sync_args *a, bool *bad)
{
    const char *v = NULL;
    if (cli_option(argc, argv, i, "--config", &a->config, bad) || cli_option(argc, argv, i, "--db", &a->db, bad) ||
        cli_option(argc, argv, i, "--interval", &a->interval, bad) ||
        cli_option(argc, argv, i, "--shm", &a->shm, bad) || cli_option(argc, argv, i, "--stats", &a->stats, bad) ||
        cli_option(argc, argv, i, "--seconds", &a->seconds, bad) ||
        cli_option(argc, argv, i, "--shm-mode", &a->shm_mode, bad) ||
        cli_option(argc, argv, i, "--shm-group", &a->shm_group, bad) ||
        cli_option(argc, argv, i, "--shm-write-mode", &a->shm_write_mode, bad) ||
        cli_option(argc, argv, i, "--shm-write-group", &a->shm_write_group, bad) ||
        cli_option(argc, argv, i, "--postgres", &a->postgres, bad) ||
        cli_option(argc, argv, i, "--influx", &a->influx, bad) || cli_option(argc, argv, i, "--mqtt", &a->mqtt, bad) ||
        cli_option(argc, argv, i, "--sparkplug", &a->sparkplug, bad) ||
        cli_option(argc, argv, i, "--json-interval", &a->json_interval, bad) ||
        sync_http_arg(argc, argv, i, &a->http, bad))
        return PLCIO_EXIT_OK;
    if (cli_option(argc, argv, i, "--no-json", NULL, bad)) {
        a->no_json = true;
        return PLCIO_EXIT_OK;
    }
    if (cli_option(argc, argv, i, "--quiet", NULL, bad)) {
        a->quiet = true;
        return PLCIO_EXIT_OK;
    }
    if (cli_option(argc, argv, i, "--writable", NULL, bad)) {
        a->writable = true;
        return PLCIO_EXIT_OK;
    }
    if (cli_option(argc, argv, i, "--subscribe", NULL, bad)) {
        a->subscribe = true;
        return PLCIO_EXIT_OK;
    }
    if (cli_option(argc, argv, i, "--layout", &v, bad)) {
        if (a->nlayouts == sizeof a->layouts / sizeof a->layouts[0])
            return cli_error(PLCIO_EXIT_USAGE, "too many --layout files");
        if (v) a->layouts[a->nlayouts++] = v;
        return PLCIO_EXIT_OK;
    }
    if (cli_option(argc, argv, i, "--tag", &v, bad)) {
        if (a->ntags == sizeof a->tags / sizeof a->tags[0])
            return cli_error(PLCIO_EXIT_USAGE, "too many --tag options");
        if (v) a->tags[a->ntags++] = v;
        return PLCIO_EXIT_OK;
    }
    if (!strcmp(argv[*i], "-h") || !strcmp(argv[*i], "--help")) {
        a->help = true;
        return PLCIO_EXIT_OK;
    }
    if (argv[*i][0] == '-' || a->url) return cli_error(PLCIO_EXIT_USAGE, "unexpected '%s'\n%s", argv[*i], usage);
    a->url = argv[*i];
    return PLCIO_EXIT_OK;
}

static int parse_sync_args(int argc, char **argv, sync_args *a, uint32_t *stats_ms, uint32_t *limit_ms)
{
    memset(a, 0, sizeof *a);
    a->interval = "100";
    a->stats = "5000";
    bool bad = false;
    for (int i = 1; i < argc && !bad && !a->help; i++) {
        int st = sync_arg(argc, argv, &i, a, &bad);
        if (st != PLCIO_EXIT_OK) return st;
    }
    if (bad) return PLCIO_EXIT_USAGE;
    if (a->help) return PLCIO_EXIT_OK;
    if (!a->config == !a->url) { /* explicit status: run_sync relies on exactly one of them */
        cli_error(PLCIO_EXIT_USAGE, "give either --config FILE or a device URL\n%s", usage);
        return PLCIO_EXIT_USAGE;
    }
    if (a->url && !a->db && !a->ntags)
        return cli_error(PLCIO_EXIT_USAGE, "a device URL needs --db N (and --layout FILE) or --tag ADDRESS\n%s", usage);
    if (a->config && a->ntags)
        return cli_error(PLCIO_EXIT_USAGE, "--tag goes with a device URL, not --config\n%s", usage);
    if (a->sparkplug && !a->mqtt)
        return cli_error(PLCIO_EXIT_USAGE, "--sparkplug GROUP/NODE goes with --mqtt URL (the broker)\n%s", usage);
    if (a->sparkplug) {
        const char *slash = strchr(a->sparkplug, '/');
        if (!slash || slash == a->sparkplug || !slash[1] || strpbrk(slash + 1, "/+#") ||
            strcspn(a->sparkplug, "+#") < (size_t)(slash - a->sparkplug))
            return cli_error(PLCIO_EXIT_USAGE,
                             "--sparkplug '%s': give GROUP/NODE, two non-empty ids without '/', '+', '#'\n%s",
                             a->sparkplug, usage);
    }
    if (a->config && (a->postgres || a->influx || a->mqtt))
        return cli_error(PLCIO_EXIT_USAGE,
                         "--postgres, --influx and --mqtt go with a device URL; in a config file list them "
                         "under outputs: (docs/historian.md, docs/mqtt.md)\n%s",
                         usage);
    if (a->config && a->subscribe)
        return cli_error(PLCIO_EXIT_USAGE,
                         "--subscribe goes with a device URL; in a config file say subscribe: true on the groups "
                         "a subscription feeds\n%s",
                         usage);
    if (a->config && a->writable)
        return cli_error(PLCIO_EXIT_USAGE,
                         "--writable goes with a device URL; in a config file say writable: true "
                         "on the groups or tags that may be written\n%s",
                         usage);
    if (a->shm_mode && plcio_sync_parse_mode(a->shm_mode, &a->data_mode) != PLCIO_OK)
        return cli_error(PLCIO_EXIT_USAGE, "--shm-mode '%s' is not an octal mode from 0600 to 0777 (e.g. 0640)",
                         a->shm_mode);
    if (a->shm_write_mode && plcio_sync_parse_mode(a->shm_write_mode, &a->ring_mode) != PLCIO_OK)
        return cli_error(PLCIO_EXIT_USAGE, "--shm-write-mode '%s' is not an octal mode from 0600 to 0777 (e.g. 0660)",
                         a->shm_write_mode);
    if (a->json_interval && (plcio_sync_parse_duration_ms(a->json_interval, &a->json_ms) != PLCIO_OK ||
                             a->json_ms == 0 || a->json_ms > 86400000u))
        return cli_error(PLCIO_EXIT_USAGE, "--json-interval '%s' is not a duration from 1 ms to 24 h (e.g. 100ms, 1s)",
                         a->json_interval);
    if (a->json_interval && a->no_json)
        return cli_error(PLCIO_EXIT_USAGE, "--json-interval and --no-json exclude each other");
    if (plcio_sync_parse_duration_ms(a->stats, stats_ms) != PLCIO_OK || *stats_ms < 100)
        return cli_error(PLCIO_EXIT_USAGE, "--stats '%s' is not a duration of 100 ms or more", a->stats);
    *limit_ms = 0;
    if (a->seconds) {
        char *end;
        double s = strtod(a->seconds, &end);
        if (*end || !(s > 0) || s > 1e6)
            return cli_error(PLCIO_EXIT_USAGE, "--seconds '%s' is not a positive number", a->seconds);
        *limit_ms = (uint32_t)(s * 1000);
    }
    return PLCIO_EXIT_OK;
}

static int run_sync(int argc, char **argv)
{
    sync_args a;
    uint32_t stats_ms = 0, limit_ms = 0;
    int st = parse_sync_args(argc, argv, &a, &stats_ms, &limit_ms);
    if (st != PLCIO_EXIT_OK) return st;
    if (a.help) {
        puts(usage);
        return PLCIO_EXIT_OK;
    }
    const char *config = a.config, *url = a.url, *db = a.db, *interval = a.interval, *shm = a.shm;
    const char *const *layouts = a.layouts, *const *tags = a.tags;
    size_t nlayouts = a.nlayouts, ntags = a.ntags;
    bool quiet = a.quiet;

    plcio_error err = {0};
    plcio_sync_config *cfg = NULL;
    int rc = config ? plcio_sync_config_load(config, &cfg, &err)
                    : one_liner_config(url, db, layouts, nlayouts, tags, ntags, interval, a.writable, a.subscribe,
                                       a.postgres, a.influx, a.mqtt, a.sparkplug, &cfg, &err);
    if (rc != PLCIO_OK) return cli_error(PLCIO_EXIT_USAGE, "%s", err.text[0] ? err.text : plcio_strerror(rc));
    plcio_sync_options o;
    memset(&o, 0, sizeof o);
    o.shm_name = shm;
    o.shm_mode = a.data_mode;
    o.shm_group = a.shm_group;
    o.shm_write_mode = a.ring_mode;
    o.shm_write_group = a.shm_write_group;
    o.no_json = a.no_json;
    o.json_interval_ms = a.json_ms;
    o.logger.fn = plcio_log_to_stream;
    o.logger.ctx = stderr;
    o.logger.level = quiet ? PLCIO_LOG_ERROR : PLCIO_LOG_WARN;
    plcio_http *http = NULL;
    plcio_sync_sink sinks[1 + SYNC_MQTT_MAX];
    size_t nsinks = 0;
    sync_mqtt mq;
    memset(&mq, 0, sizeof mq);
    st = sync_http_setup(&a.http, cfg, &o.logger, &http);
    if (http) plcio_http_sink(http, &sinks[nsinks++]);
    if (st == PLCIO_EXIT_OK) st = sync_mqtt_setup(cfg, &o.logger, &mq, sinks, &nsinks);
    o.sinks = sinks;
    o.sink_count = nsinks;
    plcio_sync *s = NULL;
    if (st == PLCIO_EXIT_OK) rc = plcio_sync_new(cfg, &o, &s, &err);
    if (st == PLCIO_EXIT_OK && rc != PLCIO_OK) st = cli_error(PLCIO_EXIT_FAILURE, "%s", err.text);
    if (st == PLCIO_EXIT_OK && http) st = sync_http_start(http, s);
    if (st == PLCIO_EXIT_OK) st = sync_mqtt_start(&mq, s);
    if (st != PLCIO_EXIT_OK) {
        plcio_sync_free(s);
        sync_mqtt_free(&mq);
        plcio_http_free(http);
        plcio_sync_config_free(cfg);
        return st;
    }
    if (!quiet) {
        printf("sync: %zu tags, %zu groups, %zu devices -> shared memory %s\n", plcio_sync_tag_count(s),
               plcio_sync_group_count(s), plcio_sync_device_count(s), plcio_sync_shm_name(s));
        sync_run_print_attach(stdout, plcio_sync_shm_name(s));
    }
    plcio_sync_stats *prev = calloc(plcio_sync_group_count(s) + 1, sizeof *prev);
    sync_run_signals_on(s);
    uint64_t start = plcio_monotonic_ns(), last = start;
    while (!sync_run_interrupted() && rc == PLCIO_OK) {
        rc = plcio_sync_run_once(s, 50);
        uint64_t now = plcio_monotonic_ns();
        if (!quiet && prev && now - last >= (uint64_t)stats_ms * PLCIO_NS_PER_MS) {
            sync_run_print_stats(stdout, s, prev, (double)(now - last) / 1e9);
            sync_mqtt_print_stats(stdout, &mq);
            last = now;
        }
        if (limit_ms && now - start >= (uint64_t)limit_ms * PLCIO_NS_PER_MS) break;
    }
    sync_run_signals_off();
    if (!quiet && prev) sync_run_print_stats(stdout, s, prev, (double)(plcio_monotonic_ns() - last) / 1e9);
    free(prev);
    plcio_sync_free(s);
    if (!quiet) sync_mqtt_print_stats(stdout, &mq);
    sync_mqtt_free(&mq);
    plcio_http_free(http);
    plcio_sync_config_free(cfg);
    if (rc != PLCIO_OK) return cli_error(PLCIO_EXIT_FAILURE, "sync: %s", plcio_strerror(rc));
    return PLCIO_EXIT_OK;
}

static const cli_opt sync_opts[] = {
    {"--config", "FILE", "the configuration (YAML): devices, groups, tags, outputs", CLI_OPT_FILE},
    {"--db", "N", "one-liner: mirror data block N (with --layout)", 0},
    {"--layout", "FILE", "one-liner: the DB source (and the UDT sources it uses)", CLI_OPT_REPEAT | CLI_OPT_FILE},
    {"--tag", "ADDRESS",
     "one-liner: one tag by address (hr100:REAL, co3, DB1.DBD8:REAL); an array (hr0[4]) is one tag per element, "
     "hr0[0] .. hr0[3]",
     CLI_OPT_REPEAT},
    {"--interval", "MS", "one-liner: poll interval (default 100)", 0},
    {"--shm", "NAME", "shared-memory segment name (/dev/shm/NAME)", 0},
    {"--stats", "MS", "print statistics this often (default 5000, at least 100)", 0},
    {"--seconds", "S", "stop after S seconds (default: until Ctrl-C)", 0},
    {"--quiet", NULL, "no statistics", 0},
    {"--writable", NULL, "one-liner: the tags accept writes through shared memory (default: none do)", 0},
    {"--subscribe", NULL,
     "one-liner: S7CommPlus devices: the tags are fed by a subscription of the PLC (a notification every --interval) "
     "instead of polled",
     0},
    {"--shm-mode", "MODE", "who may read the segment (default 0640)", 0},
    {"--shm-group", "GROUP", "group owning the segment", 0},
    {"--shm-write-mode", "MODE", "who may ask for writes through NAME.ring (default 0600)", 0},
    {"--shm-write-group", "GROUP", "group owning the write ring", 0},
    {"--json-interval", "MS", "rewrite the segment's JSON text at most this often (default: on every change)", 0},
    {"--no-json", NULL, "keep no JSON text in the segment (binary readers only)", 0},
    {"--postgres", "CONNINFO",
     "one-liner: every change also into PostgreSQL table plcio_samples (libpq conninfo; the password from "
     "PGPASSWORD or a password file, not from this command line; docs/historian.md)",
     0},
    {"--influx", "URL",
     "one-liner: every change also as line protocol to http://HOST:8086/write?db=NAME (2.x: "
     ".../api/v2/write?org=O&bucket=B, token in INFLUX_TOKEN)",
     0},
    {"--mqtt", "URL",
     "one-liner: every change also as JSON to an MQTT broker (mqtt://HOST[:PORT] or mqtts://; topics "
     "plcio/DEVICE/TAG, QoS 1; no writes; docs/mqtt.md)",
     0},
    {"--sparkplug", "GROUP/NODE",
     "one-liner, with --mqtt: publish as a Sparkplug B edge node NODE of group GROUP instead of JSON "
     "(births, aliases, DDATA on change; no writes; docs/sparkplug.md)",
     0},
    SYNC_HTTP_OPT_ROWS,
    {NULL, NULL, NULL, 0},
};

static const cli_spec sync_spec = {
    "sync",
    "(--config FILE | URL --db N --layout FILE... | URL --tag ADDRESS...)",
    "mirror PLC memory into shared memory until Ctrl-C",
    "Modbus devices (modbus-tcp/-tls/-udp/-rtu/-ascii://) take tags with --tag.",
    sync_opts,
    NULL,
    NULL,
    NULL,
};

const plcio_command plcio_cmd_sync = {&sync_spec, run_sync};
