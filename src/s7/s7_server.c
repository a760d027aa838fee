/* S7 server: handle, configuration, area registry with per-area locks,
 * CPU state, clock, diagnostic buffer. Connections: s7_server_conn.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "s7/s7_server_priv.h"

/* ---------------------------------------------------------------------------
 * Configuration
 * ------------------------------------------------------------------------- */

void plcio_s7_server_options_init(plcio_s7_server_options *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->host = "127.0.0.1";
    cfg->port = 102; /* ISO-TSAP, RFC 1006 */
    cfg->max_connections = 256;
    cfg->pdu_size = S7SRV_PDU_MAX;
    cfg->max_parallel_jobs = 8;
    cfg->frame_timeout_ms = 5000;
    cfg->idle_timeout_ms = 60000;
    cfg->max_output_bytes = (size_t)256 * 1024;
    cfg->threads = 1;
    cfg->protection_level = 1;
    cfg->write_timeout_ms = 10000;
    cfg->cpu_state = PLCIO_S7_SERVER_CPU_RUN;
    cfg->identity.order_code = "6ES7 315-2EH14-0AB0";
    cfg->identity.firmware[0] = 3;
    cfg->identity.firmware[1] = 2;
    cfg->identity.firmware[2] = 6;
    cfg->identity.module_type_name = "CPU 315-2 PN/DP";
    cfg->identity.as_name = "PLCIO-SIM";
    cfg->identity.module_name = "CPU 315-2 PN/DP";
    cfg->identity.plant_id = "";
    cfg->identity.copyright = "Original Siemens Equipment";
    cfg->identity.serial_number = "S C-PLCIO0000001";
    cfg->identity.max_mpi_rate = 187500;
    cfg->identity.max_bus_rate = 12000000;
}

static void copy_text(char *dst, size_t cap, const char *src)
{
    if (!src) src = "";
    size_t n = strlen(src);
    if (n >= cap) n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static int check_options(const plcio_s7_server_options *o, plcio_error *err)
{
#define BAD(cond, ...)                                                                                                 \
    if (cond) return plcio_error_set(err, PLCIO_EINVAL, __VA_ARGS__)
    BAD(o->pdu_size < S7SRV_PDU_MIN || o->pdu_size > S7SRV_PDU_MAX, "pdu_size %u is outside %u..%u",
        (unsigned)o->pdu_size, (unsigned)S7SRV_PDU_MIN, (unsigned)S7SRV_PDU_MAX);
    BAD(o->max_parallel_jobs < 1 || o->max_parallel_jobs > 64, "max_parallel_jobs %u is outside 1..64",
        (unsigned)o->max_parallel_jobs);
    BAD(o->max_connections < 1 || o->max_connections > 100000, "max_connections %u is outside 1..100000",
        (unsigned)o->max_connections);
    BAD(o->protection_level < 1 || o->protection_level > 3, "protection_level %d is outside 1..3",
        (int)o->protection_level);
    BAD(o->cpu_state != PLCIO_S7_SERVER_CPU_RUN && o->cpu_state != PLCIO_S7_SERVER_CPU_STOP,
        "cpu_state must be RUN or STOP");
    BAD(o->password && strlen(o->password) > 8, "the password has more than 8 characters");
    BAD(o->max_output_bytes < 4096, "max_output_bytes %zu is below 4096", (size_t)o->max_output_bytes);
    BAD(o->threads < 1 || o->threads > 64, "threads %d is outside 1..64", (int)o->threads);
    BAD(o->frame_timeout_ms > PLCIO_S7_SERVER_TIMEOUT_MAX_MS || o->idle_timeout_ms > PLCIO_S7_SERVER_TIMEOUT_MAX_MS,
        "frame/idle timeouts above %u ms", (unsigned)PLCIO_S7_SERVER_TIMEOUT_MAX_MS);
    BAD(o->write_timeout_ms < 1 || o->write_timeout_ms > PLCIO_S7_SERVER_TIMEOUT_MAX_MS,
        "write_timeout_ms %u is outside 1..%u", (unsigned)o->write_timeout_ms,
        (unsigned)PLCIO_S7_SERVER_TIMEOUT_MAX_MS);
#undef BAD
    return PLCIO_OK;
}

static void init_recursive_mutex(pthread_mutex_t *m)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(m, &attr);
    pthread_mutexattr_destroy(&attr);
}

int plcio_s7_server_new(const plcio_s7_server_options *cfg, plcio_s7_server **out, plcio_error *err)
{
    plcio_error_clear(err);
    if (!out) return plcio_error_set(err, PLCIO_EINVAL, "no place for the server");
    *out = NULL;
    plcio_s7_server_options defaults;
    if (!cfg) {
        plcio_s7_server_options_init(&defaults);
        cfg = &defaults;
    }
    int rc = check_options(cfg, err);
    if (rc) return rc;
    const plcio_s7_server_handoff *h = &cfg->handoff;
    if (h->accept && (!h->feed || !h->output || !h->output_done || !h->close))
        return plcio_error_set(err, PLCIO_EINVAL, "handoff: accept given without feed, output, output_done and close");
    plcio_s7_server *srv = calloc(1, sizeof *srv);
    if (!srv) return plcio_error_set(err, PLCIO_ENOMEM, "out of memory");
    srv->cfg = *cfg;
    copy_text(srv->host, sizeof srv->host, cfg->host ? cfg->host : "127.0.0.1");
    copy_text(srv->password, sizeof srv->password, cfg->password);
    const plcio_s7_server_identity *id = &cfg->identity;
    copy_text(srv->id_order_code, sizeof srv->id_order_code, id->order_code);
    copy_text(srv->id_type_name, sizeof srv->id_type_name, id->module_type_name);
    copy_text(srv->id_as_name, sizeof srv->id_as_name, id->as_name);
    copy_text(srv->id_module_name, sizeof srv->id_module_name, id->module_name);
    copy_text(srv->id_plant_id, sizeof srv->id_plant_id, id->plant_id);
    copy_text(srv->id_copyright, sizeof srv->id_copyright, id->copyright);
    copy_text(srv->id_serial, sizeof srv->id_serial, id->serial_number);
    srv->cfg.host = srv->host;
    srv->cfg.password = srv->password[0] ? srv->password : NULL;
    srv->cfg.identity.order_code = srv->id_order_code;
    srv->cfg.identity.module_type_name = srv->id_type_name;
    srv->cfg.identity.as_name = srv->id_as_name;
    srv->cfg.identity.module_name = srv->id_module_name;
    srv->cfg.identity.plant_id = srv->id_plant_id;
    srv->cfg.identity.copyright = srv->id_copyright;
    srv->cfg.identity.serial_number = srv->id_serial;
    pthread_mutex_init(&srv->reg_lock, NULL);
    pthread_mutex_init(&srv->diag_lock, NULL);
    atomic_init(&srv->cpu_state, (int)cfg->cpu_state);
    atomic_init(&srv->clock_offset_ns, (int64_t)0);
    atomic_init(&srv->conn_count, 0u);
    atomic_init(&srv->evicting, 0u);
    atomic_init(&srv->port, (uint16_t)0);
    srv->listen_fd = -1;
    srv->mode = S7SRV_IDLE;
    atomic_init(&srv->next_upload_id, 1u);
    /* A real CPU's diagnostic buffer starts with its last startup. */
    s7srv_diag_add(srv, 0x1381);                                                /* request for manual warm restart */
    if (cfg->cpu_state == PLCIO_S7_SERVER_CPU_RUN) s7srv_diag_add(srv, 0x4302); /* STARTUP -> RUN */
    *out = srv;
    return PLCIO_OK;
}

static void area_free(s7srv_area *a)
{
    if (!a) return;
    pthread_mutex_destroy(&a->lock);
    if (a->owned) free(a->mem);
    free(a);
}

void plcio_s7_server_free(plcio_s7_server *srv)
{
    if (!srv) return;
    plcio_s7_server_stop(srv);
    s7bk_free(srv);
    for (size_t i = 0; i < 5; i++)
        area_free(srv->fixed[i]);
    for (size_t i = 0; i < srv->db_count; i++)
        area_free(srv->dbs[i]);
    free(srv->dbs);
    pthread_mutex_destroy(&srv->reg_lock);
    pthread_mutex_destroy(&srv->diag_lock);
    free(srv);
}

/* ---------------------------------------------------------------------------
 * Area registry
 * ------------------------------------------------------------------------- */

static int fixed_slot(uint8_t code)
{
    switch (code) {
    case PLCIO_S7_SERVER_AREA_I: return 0;
    case PLCIO_S7_SERVER_AREA_Q: return 1;
    case PLCIO_S7_SERVER_AREA_M: return 2;
    case PLCIO_S7_SERVER_AREA_C: return 3;
    case PLCIO_S7_SERVER_AREA_T: return 4;
    default: return -1;
    }
}

/* Index of the first DB with number >= n (binary search); caller holds reg_lock. */
static size_t db_lower_bound(const plcio_s7_server *srv, uint32_t n)
{
    size_t lo = 0, hi = srv->db_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (srv->dbs[mid]->number < n)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Caller holds reg_lock. */
static s7srv_area *find_locked(plcio_s7_server *srv, uint8_t code, uint16_t number)
{
    if (code == PLCIO_S7_SERVER_AREA_DB) {
        size_t i = db_lower_bound(srv, number);
        return (i < srv->db_count && srv->dbs[i]->number == number) ? srv->dbs[i] : NULL;
    }
    int slot = fixed_slot(code);
    return slot < 0 ? NULL : srv->fixed[slot];
}

int plcio_s7_server_add_area(plcio_s7_server *srv, plcio_s7_server_area area, uint16_t number, size_t size,
                             void *memory)
{
    uint8_t code = (uint8_t)area;
    if (!srv || size < 1 || size > 65535) return PLCIO_EINVAL;
    if (code != PLCIO_S7_SERVER_AREA_DB && fixed_slot(code) < 0) return PLCIO_EINVAL;
    if (code == PLCIO_S7_SERVER_AREA_DB && number == 0) return PLCIO_EINVAL;
    if ((code == PLCIO_S7_SERVER_AREA_C || code == PLCIO_S7_SERVER_AREA_T) && size % 2) return PLCIO_EINVAL;
    if (code != PLCIO_S7_SERVER_AREA_DB) number = 0;
    s7srv_area *a = calloc(1, sizeof *a);
    if (!a) return PLCIO_ENOMEM;
    a->srv = srv;
    a->code = code;
    a->number = number;
    a->size = size;
    a->mem = memory;
    if (!memory) {
        a->mem = calloc(1, size);
        a->owned = true;
        if (!a->mem) {
            free(a);
            return PLCIO_ENOMEM;
        }
    }
    init_recursive_mutex(&a->lock);
    int rc = PLCIO_OK;
    pthread_mutex_lock(&srv->reg_lock);
    if (find_locked(srv, code, number)) {
        rc = PLCIO_EEXIST;
    } else if (code == PLCIO_S7_SERVER_AREA_DB) {
        if (srv->db_count == srv->db_cap) {
            size_t cap = srv->db_cap ? srv->db_cap * 2 : 16;
            s7srv_area **dbs = realloc(srv->dbs, cap * sizeof(s7srv_area *));
            if (!dbs)
                rc = PLCIO_ENOMEM;
            else {
                srv->dbs = dbs;
                srv->db_cap = cap;
            }
        }
        if (!rc) {
            size_t i = db_lower_bound(srv, number);
            memmove(srv->dbs + i + 1, srv->dbs + i, (srv->db_count - i) * sizeof(s7srv_area *));
            srv->dbs[i] = a;
            srv->db_count++;
        }
    } else {
        srv->fixed[fixed_slot(code)] = a;
    }
    pthread_mutex_unlock(&srv->reg_lock);
    if (rc) area_free(a);
    return rc;
}

int plcio_s7_server_remove_area(plcio_s7_server *srv, plcio_s7_server_area area, uint16_t number)
{
    uint8_t code = (uint8_t)area;
    if (!srv) return PLCIO_EINVAL;
    if (code != PLCIO_S7_SERVER_AREA_DB) number = 0;
    pthread_mutex_lock(&srv->reg_lock);
    s7srv_area *a = find_locked(srv, code, number);
    bool free_now = false;
    if (a) {
        if (code == PLCIO_S7_SERVER_AREA_DB) {
            size_t i = db_lower_bound(srv, number);
            memmove(srv->dbs + i, srv->dbs + i + 1, (srv->db_count - i - 1) * sizeof(s7srv_area *));
            srv->db_count--;
        } else {
            srv->fixed[fixed_slot(code)] = NULL;
        }
        /* An access in progress holds a reference: the last release frees. */
        a->removed = true;
        free_now = a->refs == 0;
    }
    pthread_mutex_unlock(&srv->reg_lock);
    if (!a) return PLCIO_ENOTFOUND;
    if (free_now) area_free(a);
    return PLCIO_OK;
}

uint8_t *plcio_s7_server_area_data(plcio_s7_server *srv, plcio_s7_server_area area, uint16_t number, size_t *size)
{
    if (!srv) return NULL;
    if ((uint8_t)area != PLCIO_S7_SERVER_AREA_DB) number = 0;
    pthread_mutex_lock(&srv->reg_lock);
    s7srv_area *a = find_locked(srv, (uint8_t)area, number);
    uint8_t *mem = a ? a->mem : NULL;
    if (a && size) *size = a->size;
    pthread_mutex_unlock(&srv->reg_lock);
    return mem;
}

int plcio_s7_server_lock_area(plcio_s7_server *srv, plcio_s7_server_area area, uint16_t number)
{
    if (!srv) return PLCIO_EINVAL;
    s7srv_area *a = s7srv_area_acquire(srv, (uint8_t)area, number);
    return a ? PLCIO_OK : PLCIO_ENOTFOUND;
}

int plcio_s7_server_unlock_area(plcio_s7_server *srv, plcio_s7_server_area area, uint16_t number)
{
    if (!srv) return PLCIO_EINVAL;
    if ((uint8_t)area != PLCIO_S7_SERVER_AREA_DB) number = 0;
    pthread_mutex_lock(&srv->reg_lock);
    s7srv_area *a = find_locked(srv, (uint8_t)area, number);
    pthread_mutex_unlock(&srv->reg_lock);
    if (!a) return PLCIO_ENOTFOUND;
    s7srv_area_release(a);
    return PLCIO_OK;
}

s7srv_area *s7srv_area_acquire(plcio_s7_server *srv, uint8_t code, uint16_t number)
{
    if (code != PLCIO_S7_SERVER_AREA_DB) number = 0;
    pthread_mutex_lock(&srv->reg_lock);
    s7srv_area *a = find_locked(srv, code, number);
    if (a) a->refs++;
    pthread_mutex_unlock(&srv->reg_lock);
    /* Never wait for an area lock while holding the registry lock: the
     * application may hold the area lock and need the registry to unlock. */
    if (a) pthread_mutex_lock(&a->lock);
    return a;
}

void s7srv_area_release(s7srv_area *a)
{
    if (!a) return;
    plcio_s7_server *srv = a->srv;
    pthread_mutex_unlock(&a->lock);
    pthread_mutex_lock(&srv->reg_lock);
    bool free_now = --a->refs == 0 && a->removed;
    pthread_mutex_unlock(&srv->reg_lock);
    if (free_now) area_free(a);
}

size_t s7srv_db_numbers(plcio_s7_server *srv, uint32_t from, uint16_t *out, size_t cap)
{
    pthread_mutex_lock(&srv->reg_lock);
    size_t n = 0;
    for (size_t i = db_lower_bound(srv, from); i < srv->db_count && n < cap; i++)
        out[n++] = srv->dbs[i]->number;
    pthread_mutex_unlock(&srv->reg_lock);
    return n;
}

size_t s7srv_db_count(plcio_s7_server *srv)
{
    pthread_mutex_lock(&srv->reg_lock);
    size_t n = srv->db_count;
    pthread_mutex_unlock(&srv->reg_lock);
    return n;
}

/* ---------------------------------------------------------------------------
 * CPU state, clock, events, diagnostic buffer
 * ------------------------------------------------------------------------- */

plcio_s7_server_cpu_state plcio_s7_server_get_cpu_state(const plcio_s7_server *srv)
{
    return (plcio_s7_server_cpu_state)atomic_load(&((plcio_s7_server *)srv)->cpu_state);
}

void plcio_s7_server_set_cpu_state(plcio_s7_server *srv, plcio_s7_server_cpu_state state)
{
    if (!srv || (state != PLCIO_S7_SERVER_CPU_RUN && state != PLCIO_S7_SERVER_CPU_STOP)) return;
    int old = atomic_exchange(&srv->cpu_state, (int)state);
    if (old == (int)state) return;
    /* Event IDs of the diagnostic buffer (S7-300 system manual, "event class 4"). */
    s7srv_diag_add(srv, state == PLCIO_S7_SERVER_CPU_STOP ? 0x4304 /* STOP by PG / communication */
                                                          : 0x4302 /* STARTUP -> RUN */);
}

static int64_t system_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* The PLC keeps local time without a zone: use the host's local offset. */
    struct tm tm;
    time_t t = ts.tv_sec;
    localtime_r(&t, &tm);
    return ((int64_t)ts.tv_sec + tm.tm_gmtoff) * 1000000000 + ts.tv_nsec;
}

int64_t s7srv_plc_now_ns(const plcio_s7_server *srv)
{
    return system_now_ns() + atomic_load(&((plcio_s7_server *)srv)->clock_offset_ns);
}

int64_t plcio_s7_server_clock_ns(const plcio_s7_server *srv) { return srv ? s7srv_plc_now_ns(srv) : 0; }

void plcio_s7_server_set_clock_ns(plcio_s7_server *srv, int64_t plc_time_ns)
{
    if (srv) atomic_store(&srv->clock_offset_ns, plc_time_ns - system_now_ns());
}

void s7srv_event(plcio_s7_server *srv, plcio_s7_server_event_kind kind, unsigned client, int detail)
{
    if (srv->cfg.callbacks.on_event) srv->cfg.callbacks.on_event(srv->cfg.callbacks.ctx, kind, client, detail);
}

void s7srv_diag_add(plcio_s7_server *srv, uint16_t event_id)
{
    pthread_mutex_lock(&srv->diag_lock);
    srv->diag_head = (srv->diag_head + S7SRV_DIAG_MAX - 1) % S7SRV_DIAG_MAX; /* newest first */
    srv->diag[srv->diag_head].event_id = event_id;
    srv->diag[srv->diag_head].plc_time_ns = s7srv_plc_now_ns(srv);
    if (srv->diag_count < S7SRV_DIAG_MAX) srv->diag_count++;
    pthread_mutex_unlock(&srv->diag_lock);
}

unsigned s7srv_effective_protection(const plcio_s7_server *srv, const s7srv_session *ses)
{
    if (!srv->cfg.password || ses->authorized) return 1;
    return srv->cfg.protection_level;
}

unsigned s7srv_control_protection(const plcio_s7_server *srv, const s7srv_session *ses)
{
    unsigned level = s7srv_effective_protection(srv, ses);
    return srv->cfg.control_locked && level < 2 ? 2 : level;
}

/* ---------------------------------------------------------------------------
 * Time conversions for the clock and time stamps (the BCD encoding itself is
 * the codec's).
 * ------------------------------------------------------------------------- */

void s7srv_datetime_from_ns(int64_t ns, s7_datetime *dt)
{
    int64_t secs = ns / 1000000000;
    if (ns < 0 && ns % 1000000000) secs--;
    /* DATE_AND_TIME covers 1990..2089: clamp rather than wrap. */
    if (secs < INT64_C(631152000)) secs = INT64_C(631152000);
    if (secs > INT64_C(3786911999)) secs = INT64_C(3786911999);
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    dt->year = (uint16_t)(tm.tm_year + 1900);
    dt->month = (uint8_t)(tm.tm_mon + 1);
    dt->day = (uint8_t)tm.tm_mday;
    dt->hour = (uint8_t)tm.tm_hour;
    dt->minute = (uint8_t)tm.tm_min;
    dt->second = (uint8_t)tm.tm_sec;
    int64_t sub = ns - (int64_t)secs * 1000000000;
    dt->millisecond = (uint16_t)(sub >= 0 && sub < 1000000000 ? sub / 1000000 : 0);
    dt->weekday = (uint8_t)(tm.tm_wday + 1);
}

int64_t s7srv_datetime_to_ns(const s7_datetime *dt)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = dt->year - 1900;
    tm.tm_mon = dt->month - 1;
    tm.tm_mday = dt->day;
    tm.tm_hour = dt->hour;
    tm.tm_min = dt->minute;
    tm.tm_sec = dt->second;
    return (int64_t)timegm(&tm) * 1000000000 + (int64_t)dt->millisecond * 1000000;
}

void s7srv_put_date_and_time(uint8_t out[8], int64_t ns)
{
    s7_datetime dt;
    s7srv_datetime_from_ns(ns, &dt);
    if (s7_dt_bcd_encode(out, &dt)) memset(out, 0, 8);
}
