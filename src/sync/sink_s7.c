/* The live image served as classic S7 (s7-server: in the configuration,
 * plcio/sync.h): a sink that copies the mapped tags' PLC bytes into data
 * blocks of a plcio S7 server, which runs in caller-driven mode on the
 * engine's own loop (its fd is watched, plus a 1 s timer for its connection
 * and write timeouts). Everything runs on the engine's thread.
 *
 * A read of a range that holds a tag without a good value (not read yet,
 * stale, device down) is refused with item code 0x01 (hardware fault), so a
 * client never takes an old value for a live one; bytes between mapped tags
 * read 0; beyond the last mapped byte of a DB, 0x05 (address out of range);
 * a DB that is not mapped, 0x0A (object does not exist).
 *
 * CPU stop/start, set clock and block download/insert/delete are always
 * refused (the server's control_locked). Without `writes: true` the server
 * also runs at protection level 2 with a random password nobody is told (the
 * level only holds while a password is set), so writes are refused with 0x03
 * (access denied). With it, every write-var job is taken through the
 * server's deferred-write hook (callbacks.write_job) and each item answered
 * when the PLC has answered:
 *   0xFF  every tag the item touches was written to the PLC;
 *   0x0A  the DB is not mapped; 0x05 past the DB's mapped bytes, or bytes
 *         that belong to no tag;
 *   0x03  a tag that is not writable (`writable` of the tag, as for the
 *         shared-memory ring);
 *   0x06  a BOOL's byte written with a byte access (bits are written as bits);
 *   0x07  the engine refused the value (plcio_sync_write: it does not fit);
 *   0x01  the PLC refused it, timed out or is down; also a part of a tag
 *         written while that tag has no good value to merge the rest from.
 * An item that covers several tags writes each of them (part of a tag is
 * merged with the tag's current bytes); when one of them fails the item is
 * answered with that code although the others may be in the PLC. Items of
 * one job are independent: each gets its own code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/log.h"
#include "plcio/address.h"
#include "plcio/loop.h"
#include "plcio/s7_server.h"
#include "plcio/value.h"
#include "sync/sync_engine_priv.h"

#define S7O_TICK_NS 1000000000ull /* how often connection timeouts are checked */

typedef struct s7o_entry {
    size_t tag;
    const plcio_sink_tag *t;
    uint16_t db;
    uint32_t offset, size; /* bytes in the DB (1 for a BOOL) */
    int bit;               /* BOOL: 0..7; -1 otherwise */
    int quality;           /* plcio_shm_quality; 0 before the first value */
    bool writable;         /* writes: true and the tag's writable */
} s7o_entry;

typedef struct s7o_db {
    uint16_t number;
    uint32_t size;
} s7o_db;

typedef struct s7o {
    plcio_sync *engine;
    plcio_logger logger;
    plcio_s7_server *srv;
    plcio_loop_watch watch;
    s7o_entry *e;
    size_t n;
    s7o_db *dbs;
    size_t ndb;
    bool writes;
} s7o;

/* A write job taken from the server, waiting for the PLC's answers. */
typedef struct s7o_job {
    s7o *m;
    uint64_t id;
    size_t count;
    uint8_t codes[20];    /* per item */
    unsigned outstanding; /* engine writes not done yet, + 1 while the job is being taken */
} s7o_job;

/* One engine write of a job: which item it belongs to. */
typedef struct s7o_write {
    s7o_job *job;
    size_t item;
} s7o_write;

/* ---- the server's callbacks ---- */

static uint8_t before_read(void *ctx, const plcio_s7_server_access *acc, uint8_t *mem, size_t mem_size)
{
    (void)mem;
    (void)mem_size;
    const s7o *m = ctx;
    if (acc->area != PLCIO_S7_SERVER_AREA_DB) return PLCIO_S7_SERVER_ITEM_NOT_FOUND;
    uint64_t lo = acc->start, hi = (uint64_t)acc->start + (acc->size ? acc->size : 1);
    for (size_t i = 0; i < m->n; i++) {
        const s7o_entry *x = &m->e[i];
        if (x->db != acc->db_number || x->offset >= hi || (uint64_t)x->offset + x->size <= lo) continue;
        if (x->bit >= 0 && acc->bit >= 0 && acc->bit != x->bit) continue; /* another bit of the byte */
        if (x->quality != 1) return PLCIO_S7_SERVER_ITEM_HW_FAULT;
    }
    return PLCIO_S7_SERVER_ITEM_OK;
}

static uint8_t before_write(void *ctx, const plcio_s7_server_access *acc, const uint8_t *data)
{
    (void)data;
    const s7o *m = ctx;
    log_msg(&m->logger, PLCIO_LOG_WARN, "s7-server", "write to DB%u.DBB%u refused: the S7 output is read-only",
            acc->db_number, acc->start);
    return PLCIO_S7_SERVER_ITEM_ACCESS_DENIED; /* protection level 2 refuses it before this */
}

/* ---- writes (writes: true) ---- */

static uint8_t *db_mem(const s7o *m, const s7o_entry *x);

static void job_release(s7o_job *j)
{
    if (--j->outstanding) return;
    s7o *m = j->m;
    if (plcio_s7_server_write_reply(m->srv, j->id, j->codes, j->count) == PLCIO_ENOTFOUND)
        log_msg(&m->logger, PLCIO_LOG_DEBUG, "s7-server",
                "the client of a write left (or timed out) before its answer");
    free(j);
}

/* The PLC's answer to one tag's write. */
static void write_done(void *ctx, int err, const char *message)
{
    s7o_write *w = ctx;
    s7o_job *j = w->job;
    if (err != PLCIO_OK) {
        log_msg(&j->m->logger, PLCIO_LOG_WARN, "s7-server", "write failed: %s",
                message && *message ? message : plcio_strerror(err));
        if (j->codes[w->item] == PLCIO_S7_SERVER_ITEM_OK) j->codes[w->item] = PLCIO_S7_SERVER_ITEM_HW_FAULT;
    }
    free(w);
    job_release(j);
}

/* The code an item gets before anything is written: every byte it touches
 * belongs to a writable tag of the right kind (see the top of the file). */
static uint8_t check_item(const s7o *m, const plcio_s7_server_access *acc)
{
    if (acc->area != PLCIO_S7_SERVER_AREA_DB) return PLCIO_S7_SERVER_ITEM_NOT_FOUND;
    if (acc->bit >= 0) {
        for (size_t i = 0; i < m->n; i++) {
            const s7o_entry *x = &m->e[i];
            if (x->db == acc->db_number && x->offset == acc->start && x->bit == acc->bit)
                return x->writable ? PLCIO_S7_SERVER_ITEM_OK : PLCIO_S7_SERVER_ITEM_ACCESS_DENIED;
        }
        return PLCIO_S7_SERVER_ITEM_OUT_OF_RANGE;
    }
    for (uint32_t b = acc->start; b < acc->start + acc->size; b++) {
        const s7o_entry *owner = NULL;
        for (size_t i = 0; i < m->n && !owner; i++) {
            const s7o_entry *x = &m->e[i];
            if (x->db == acc->db_number && b >= x->offset && b < x->offset + x->size) owner = x;
        }
        if (!owner) return PLCIO_S7_SERVER_ITEM_OUT_OF_RANGE;
        if (owner->bit >= 0) return PLCIO_S7_SERVER_ITEM_TYPE_NOT_SUPPORTED;
        if (!owner->writable) return PLCIO_S7_SERVER_ITEM_ACCESS_DENIED;
        if ((owner->offset < acc->start || owner->offset + owner->size > acc->start + acc->size) && owner->quality != 1)
            return PLCIO_S7_SERVER_ITEM_HW_FAULT; /* part of a tag, and nothing good to merge the rest from */
    }
    return PLCIO_S7_SERVER_ITEM_OK;
}

/* The tag's new value as text: the client's bytes over the tag's current ones. */
static int entry_text(const s7o *m, const s7o_entry *x, const plcio_s7_server_access *acc, const uint8_t *data,
                      char *text, size_t cap, plcio_error *err)
{
    if (x->bit >= 0) {
        snprintf(text, cap, "%s", data[0] & 1u ? "true" : "false");
        return PLCIO_OK;
    }
    uint8_t bytes[1024] = {0};
    if (x->size > sizeof bytes) return plcio_error_set(err, PLCIO_ERANGE, "%s is too large", x->t->name);
    const uint8_t *mem = db_mem(m, x);
    if (mem) memcpy(bytes, mem + x->offset, x->size);
    for (uint32_t k = 0; k < x->size; k++) {
        uint32_t b = x->offset + k;
        if (b >= acc->start && b < acc->start + acc->size) bytes[k] = data[b - acc->start];
    }
    plcio_value v;
    plcio_value_init(&v, x->t->type);
    int rc = plcio_value_decode(&v, x->t->type, x->t->length, bytes, x->size, 0, NULL, err);
    if (rc == PLCIO_OK) rc = plcio_value_to_text(&v, text, cap, NULL);
    return rc;
}

/* Hand every tag the item touches to the engine. */
static void write_item(s7o *m, s7o_job *j, size_t item, const plcio_s7_server_write_item *it)
{
    const plcio_s7_server_access *acc = &it->acc;
    for (size_t i = 0; i < m->n; i++) {
        const s7o_entry *x = &m->e[i];
        bool touched = x->db == acc->db_number && x->offset < acc->start + acc->size &&
                       acc->start < x->offset + x->size && (acc->bit < 0 || acc->bit == x->bit);
        if (!touched) continue;
        char text[1100];
        plcio_error err;
        plcio_error_clear(&err);
        int rc = entry_text(m, x, acc, it->data, text, sizeof text, &err);
        s7o_write *w = rc == PLCIO_OK ? calloc(1, sizeof *w) : NULL;
        if (rc == PLCIO_OK && !w) rc = plcio_error_set(&err, PLCIO_ENOMEM, "out of memory");
        if (w) {
            w->job = j;
            w->item = item;
            j->outstanding++; /* the callback may run inside the call (device down) */
            rc = plcio_sync_write(m->engine, x->t->name, text, 0, write_done, w, &err);
            if (rc != PLCIO_OK) {
                j->outstanding--;
                free(w);
            }
        }
        if (rc != PLCIO_OK) {
            log_msg(&m->logger, PLCIO_LOG_WARN, "s7-server", "write of DB%u.DBB%u (%s) refused: %s", x->db, x->offset,
                    x->t->name, err.text[0] ? err.text : plcio_strerror(rc));
            if (j->codes[item] == PLCIO_S7_SERVER_ITEM_OK) j->codes[item] = PLCIO_S7_SERVER_ITEM_TYPE_INCONSISTENT;
            return;
        }
        log_msg(&m->logger, PLCIO_LOG_INFO, "s7-server", "write %s = %s", x->t->name, text);
    }
}

/* A write-var job (the server's deferred-write hook): taken always; answered
 * through plcio_s7_server_write_reply once every engine write is done. */
static int write_job(void *ctx, uint64_t id, const plcio_s7_server_write_item *items, size_t count)
{
    s7o *m = ctx;
    s7o_job *j = calloc(1, sizeof *j);
    if (!j || count > sizeof j->codes) {
        free(j);
        return PLCIO_ENOMEM; /* the server serves it itself: before_write refuses */
    }
    j->m = m;
    j->id = id;
    j->count = count;
    j->outstanding = 1;
    for (size_t i = 0; i < count; i++) {
        j->codes[i] = items[i].code;
        if (j->codes[i] == PLCIO_S7_SERVER_ITEM_OK) j->codes[i] = check_item(m, &items[i].acc);
        if (j->codes[i] == PLCIO_S7_SERVER_ITEM_OK) write_item(m, j, i, &items[i]);
    }
    job_release(j);
    return PLCIO_OK;
}

/* ---- the server on the engine's loop ---- */

static void serve(s7o *m)
{
    int rc = plcio_s7_server_run_once(m->srv, 0);
    if (rc != PLCIO_OK) log_msg(&m->logger, PLCIO_LOG_WARN, "s7-server", "serving failed: %s", plcio_strerror(rc));
}

static void on_io(plcio_loop *loop, int fd, unsigned events, void *ctx)
{
    (void)loop;
    (void)fd;
    (void)events;
    serve(ctx);
}

static void on_tick(plcio_loop *loop, void *ctx)
{
    s7o *m = ctx;
    serve(m);
    plcio_loop_watch_set(&m->watch, plcio_s7_server_fd(m->srv), PLCIO_IO_READ, plcio_loop_now(loop) + S7O_TICK_NS);
}

/* ---- the sink ---- */

typedef struct s7o_config {
    plcio_sync *engine;
    const plcio_sync_s7_spec *spec;
} s7o_config;

static void s7o_close(void *state)
{
    s7o *m = state;
    if (!m) return;
    plcio_loop_watch_clear(&m->watch);
    plcio_s7_server_free(m->srv);
    free(m->dbs);
    free(m->e);
    free(m);
}

static int find_tag(const plcio_sink_tag *tags, size_t count, const char *name, size_t *out)
{
    for (size_t i = 0; i < count; i++)
        if (!strcmp(tags[i].name, name)) {
            *out = i;
            return PLCIO_OK;
        }
    return PLCIO_ENOTFOUND;
}

/* One map entry: the tag exists, the address is a DB item whose width fits the tag. */
static int map_entry(const plcio_sync_s7_spec *spec, const plcio_sync_s7_map *s, const plcio_sink_tag *tags,
                     size_t count, s7o_entry *x, plcio_error *err)
{
    if (find_tag(tags, count, s->tag, &x->tag) != PLCIO_OK)
        return plcio_error_set(err, PLCIO_ENOTFOUND, "s7-server map (line %u): no tag '%s'", s->line, s->tag);
    x->t = &tags[x->tag];
    plcio_s7_address a;
    plcio_error aerr;
    plcio_error_clear(&aerr);
    if (plcio_s7_address_parse(s->at, &a, &aerr) != PLCIO_OK)
        return plcio_error_set(err, PLCIO_ESYNTAX, "s7-server map (line %u): '%s': %s", s->line, s->at, aerr.text);
    if (a.area != PLCIO_S7_AREA_DB || a.count != 1)
        return plcio_error_set(err, PLCIO_ESYNTAX, "s7-server map (line %u): '%s' is not one DB item (DBn.DBX/B/W/D)",
                               s->line, s->at);
    bool is_bool = x->t->type == PLCIO_TYPE_BOOL;
    if (is_bool && a.type != PLCIO_TYPE_BOOL)
        return plcio_error_set(err, PLCIO_ERANGE,
                               "s7-server map (line %u): '%s' is a BOOL: map it to a bit (DBn.DBXb.i), not %s", s->line,
                               s->tag, s->at);
    /* X for a BOOL; W and D must match the tag's size; B starts a value of any other size */
    bool fits =
        is_bool ? a.type == PLCIO_TYPE_BOOL : a.type != PLCIO_TYPE_BOOL && (a.size == 1 || a.size == x->t->size);
    if (!fits)
        return plcio_error_set(err, PLCIO_ERANGE, "s7-server map (line %u): '%s' (%u bytes) does not fit %s", s->line,
                               s->tag, (unsigned)x->t->size, s->at);
    x->db = a.db;
    x->offset = a.offset;
    x->size = is_bool ? 1 : x->t->size;
    x->bit = is_bool ? a.bit : -1;
    x->writable = spec->writes && x->t->writable;
    if ((uint64_t)x->offset + x->size > 65535)
        return plcio_error_set(err, PLCIO_ERANGE, "s7-server map (line %u): '%s' at %s runs past byte 65534", s->line,
                               s->tag, s->at);
    return PLCIO_OK;
}

/* The map's entries, checked: tags exist, addresses fit, nothing overlaps; and the DBs they span. */
static int build_map(s7o *m, const plcio_sync_s7_spec *spec, const plcio_sink_tag *tags, size_t count, plcio_error *err)
{
    size_t cap = spec->map_count ? spec->map_count : 1;
    m->e = calloc(cap, sizeof *m->e);
    m->dbs = calloc(cap, sizeof *m->dbs);
    if (!m->e || !m->dbs) return plcio_error_set(err, PLCIO_ENOMEM, "out of memory");
    for (size_t i = 0; i < spec->map_count; i++) {
        const plcio_sync_s7_map *s = &spec->map[i];
        s7o_entry *x = &m->e[m->n];
        int rc = map_entry(spec, s, tags, count, x, err);
        if (rc != PLCIO_OK) return rc;
        for (size_t j = 0; j < m->n; j++) {
            const s7o_entry *y = &m->e[j];
            bool bits_apart = x->bit >= 0 && y->bit >= 0 && x->bit != y->bit;
            if (y->db == x->db && x->offset < y->offset + y->size && y->offset < x->offset + x->size && !bits_apart)
                return plcio_error_set(err, PLCIO_EEXIST, "s7-server map (line %u): '%s' at %s overlaps '%s'", s->line,
                                       s->tag, s->at, y->t->name);
        }
        size_t d = 0;
        while (d < m->ndb && m->dbs[d].number != x->db)
            d++;
        if (d == m->ndb) m->dbs[m->ndb++].number = x->db;
        if (x->offset + x->size > m->dbs[d].size) m->dbs[d].size = x->offset + x->size;
        m->n++;
    }
    return PLCIO_OK;
}

static int start_server(s7o *m, const plcio_sync_s7_spec *spec, plcio_error *err)
{
    const char *listen = spec->listen ? spec->listen : "127.0.0.1:102";
    char host[256];
    int port = 0;
    int rc = sync_split_listen(spec->listen, "127.0.0.1:102", "s7-server listen", host, sizeof host, &port, err);
    if (rc != PLCIO_OK) return rc;
    plcio_s7_server_options so;
    plcio_s7_server_options_init(&so);
    char password[9];
    if (!m->writes) { /* protection level 2 holds only while a password is set: one nobody knows */
        static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        uint8_t rnd[8];
        if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
            return plcio_error_set(err, PLCIO_EIO, "s7-server: no random bytes for its password");
        for (size_t i = 0; i < sizeof rnd; i++)
            password[i] = alphabet[rnd[i] % (sizeof alphabet - 1)];
        password[8] = '\0';
        so.password = password;
        so.protection_level = 2; /* read-only: writes refused */
    } else {
        so.callbacks.write_job = write_job; /* every write waits for the PLC's answer */
    }
    so.control_locked = true; /* CPU stop/start, clock, block changes: never */
    so.host = host;
    so.port = (uint16_t)port;
    so.logger = m->logger;
    so.callbacks.before_read = before_read;
    so.callbacks.before_write = before_write;
    so.callbacks.ctx = m;
    rc = plcio_s7_server_new(&so, &m->srv, err);
    if (rc != PLCIO_OK) return rc;
    for (size_t d = 0; d < m->ndb; d++) {
        rc = plcio_s7_server_add_area(m->srv, PLCIO_S7_SERVER_AREA_DB, m->dbs[d].number, m->dbs[d].size, NULL);
        if (rc != PLCIO_OK) return plcio_error_set(err, rc, "s7-server DB%u: %s", m->dbs[d].number, plcio_strerror(rc));
    }
    rc = plcio_s7_server_listen(m->srv);
    if (rc != PLCIO_OK)
        return plcio_error_set(err, rc, "s7-server: cannot listen on %s: %s", listen, plcio_strerror(rc));
    plcio_loop *loop = plcio_sync_loop(m->engine);
    plcio_loop_watch_set(&m->watch, plcio_s7_server_fd(m->srv), PLCIO_IO_READ, plcio_loop_now(loop) + S7O_TICK_NS);
    log_msg(&m->logger, PLCIO_LOG_INFO, "s7-server", "serving %zu tags in %zu DBs on %s:%u (writes %s)", m->n, m->ndb,
            host, plcio_s7_server_port(m->srv), m->writes ? "on" : "off");
    return PLCIO_OK;
}

static int s7o_open(void *config, const plcio_sink_tag *tags, size_t tag_count, void **state, plcio_error *err)
{
    const s7o_config *c = config;
    s7o *m = calloc(1, sizeof *m);
    if (!m) return plcio_error_set(err, PLCIO_ENOMEM, "out of memory");
    m->engine = c->engine;
    m->logger = c->engine->logger;
    m->writes = c->spec->writes;
    plcio_loop_watch_init(&m->watch, plcio_sync_loop(m->engine), on_io, on_tick, m);
    int rc = build_map(m, c->spec, tags, tag_count, err);
    if (rc == PLCIO_OK) rc = start_server(m, c->spec, err);
    if (rc != PLCIO_OK) {
        s7o_close(m);
        return rc;
    }
    *state = m;
    return PLCIO_OK;
}

/* The DB's bytes, asked from the server each time (never a pointer it may
 * have dropped), or NULL when it no longer has room for the entry. */
static uint8_t *db_mem(const s7o *m, const s7o_entry *x)
{
    size_t size = 0;
    uint8_t *mem = plcio_s7_server_area_data(m->srv, PLCIO_S7_SERVER_AREA_DB, x->db, &size);
    return mem && size >= (size_t)x->offset + x->size ? mem : NULL;
}

static int s7o_deliver(void *state, const plcio_sink_event *events, size_t count)
{
    s7o *m = state;
    for (size_t k = 0; k < count; k++) {
        const plcio_sink_event *ev = &events[k];
        if (ev->kind != PLCIO_SINK_TAG) continue;
        for (size_t i = 0; i < m->n; i++) { /* a tag may be mapped more than once */
            s7o_entry *x = &m->e[i];
            if (x->tag != ev->tag) continue;
            x->quality = ev->quality;
            uint8_t *mem = db_mem(m, x);
            if (!mem) continue;
            uint8_t *at = mem + x->offset;
            if (x->bit >= 0) {
                bool on = ev->size && ((ev->value[0] >> x->t->bit) & 1u);
                at[0] = (uint8_t)(on ? at[0] | (1u << x->bit) : at[0] & ~(1u << x->bit));
            } else {
                size_t n = ev->size < x->size ? ev->size : x->size;
                memcpy(at, ev->value, n);
                memset(at + n, 0, x->size - n);
            }
        }
    }
    return PLCIO_OK;
}

static const plcio_sink sink_s7_ops = {PLCIO_SINK_ABI, "s7-server", PLCIO_SINK_INLINE,
                                       s7o_open,       s7o_deliver, s7o_close};

int sync_open_s7_server(plcio_sync *s, const plcio_sync_config *cfg, char *err, size_t cap)
{
    if (!cfg->s7_server.present) return PLCIO_OK;
    s7o_config c = {s, &cfg->s7_server}; /* used by open only */
    int rc = sync_sink_open(s, &s->sinks[s->sink_count], &sink_s7_ops, &c, 0, err, cap);
    if (s->sinks[s->sink_count]) s->sink_count++;
    return rc;
}
