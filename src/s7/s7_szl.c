/* The SZL (system status list, "SSL" in English manuals) of the simulated CPU.
 *
 * Every list is built from the server's identity, configuration and live
 * state at the time of the request; nothing is a canned byte dump.
 * Layout of an answer (S7-300/400 System Software manual, chapter "System
 * status lists"): SZL-ID (2), index (2), LENTHDR = record length (2),
 * N_DR = record count (2), then the records. An ID with 0x0F00 set in its
 * "number of the partial list extract" nibble asks for the header only. */
#include <string.h>

#include "s7/s7_server_priv.h"

typedef struct szl_list szl_list;
typedef int (*szl_records_fn)(plcio_s7_server *srv, const s7srv_session *ses, uint16_t index, plcio_wcursor *w,
                              uint16_t *count);

struct szl_list {
    uint16_t id;
    uint16_t record_len;
    szl_records_fn records;
};

/* Text field of fixed width: the bytes of s, then `pad`. */
static void put_text(plcio_wcursor *w, const char *s, size_t width, uint8_t pad)
{
    size_t n = strlen(s);
    if (n > width) n = width;
    plcio_wcursor_write(w, s, n);
    plcio_wcursor_fill(w, pad, width - n);
}

/* ---- 0x0011 / 0x0111: module identification ---------------------------
 * Record (28 bytes): index, MlfB (order number, 20 chars), BGTyp, Ausbg, Ausbe.
 * Index 1 = module, 6 = basic hardware, 7 = basic firmware ('V' major, minor, patch). */
static void ident_record(plcio_s7_server *srv, uint16_t index, plcio_wcursor *w)
{
    const plcio_s7_server_identity *id = &srv->cfg.identity;
    plcio_wcursor_u16be(w, index);
    if (index == 7) {
        put_text(w, "", 20, ' ');
        plcio_wcursor_u16be(w, 0x00C0);
        plcio_wcursor_u8(w, 'V');
        plcio_wcursor_u8(w, id->firmware[0]);
        plcio_wcursor_u8(w, id->firmware[1]);
        plcio_wcursor_u8(w, id->firmware[2]);
    } else {
        put_text(w, id->order_code, 20, ' ');
        plcio_wcursor_u16be(w, 0x00C0);
        plcio_wcursor_u16be(w, index == 1 ? 0x0001 : 0x0003); /* hardware product version */
        plcio_wcursor_u16be(w, 0x0001);
    }
}

static const uint16_t ident_indexes[] = {1, 6, 7};

static int szl_0011(plcio_s7_server *srv, const s7srv_session *ses, uint16_t index, plcio_wcursor *w, uint16_t *count)
{
    (void)ses;
    (void)index;
    for (size_t i = 0; i < sizeof ident_indexes / sizeof *ident_indexes; i++)
        ident_record(srv, ident_indexes[i], w);
    *count = (uint16_t)(sizeof ident_indexes / sizeof *ident_indexes);
    return PLCIO_OK;
}

static int szl_0111(plcio_s7_server *srv, const s7srv_session *ses, uint16_t index, plcio_wcursor *w, uint16_t *count)
{
    (void)ses;
    for (size_t i = 0; i < sizeof ident_indexes / sizeof *ident_indexes; i++) {
        if (ident_indexes[i] == index) {
            ident_record(srv, index, w);
            *count = 1;
            return PLCIO_OK;
        }
    }
    return PLCIO_ENOTFOUND;
}

/* ---- 0x001C / 0x011C: component identification ------------------------
 * Record (34 bytes): index, 32 bytes. 1 AS name (24), 2 module name (24),
 * 3 plant designation (32), 4 copyright (26), 5 serial number (24),
 * 7 module type name (32), 8 memory card serial (32), 9 manufacturer and
 * profile, 10 OEM id, 11 location designation. */
static const uint16_t comp_indexes[] = {1, 2, 3, 4, 5, 7, 8, 9, 10, 11};

static void comp_record(plcio_s7_server *srv, uint16_t index, plcio_wcursor *w)
{
    const plcio_s7_server_identity *id = &srv->cfg.identity;
    plcio_wcursor_u16be(w, index);
    switch (index) {
    case 1:
        put_text(w, id->as_name, 24, 0);
        plcio_wcursor_fill(w, 0, 8);
        break;
    case 2:
        put_text(w, id->module_name, 24, 0);
        plcio_wcursor_fill(w, 0, 8);
        break;
    case 3: put_text(w, id->plant_id, 32, 0); break;
    case 4:
        put_text(w, id->copyright, 26, 0);
        plcio_wcursor_fill(w, 0, 6);
        break;
    case 5:
        put_text(w, id->serial_number, 24, 0);
        plcio_wcursor_fill(w, 0, 8);
        break;
    case 7: put_text(w, id->module_type_name, 32, 0); break;
    case 9:
        plcio_wcursor_u16be(w, 0x002A); /* manufacturer: Siemens (PROFIBUS ident) */
        plcio_wcursor_u16be(w, 0xF600); /* profile: none */
        plcio_wcursor_u16be(w, 0x0001);
        plcio_wcursor_fill(w, 0, 26);
        break;
    default: plcio_wcursor_fill(w, 0, 32); break;
    }
}

static int szl_001c(plcio_s7_server *srv, const s7srv_session *ses, uint16_t index, plcio_wcursor *w, uint16_t *count)
{
    (void)ses;
    (void)index;
    for (size_t i = 0; i < sizeof comp_indexes / sizeof *comp_indexes; i++)
        comp_record(srv, comp_indexes[i], w);
    *count = (uint16_t)(sizeof comp_indexes / sizeof *comp_indexes);
    return PLCIO_OK;
}

static int szl_011c(plcio_s7_server *srv, const s7srv_session *ses, uint16_t index, plcio_wcursor *w, uint16_t *count)
{
    (void)ses;
    for (size_t i = 0; i < sizeof comp_indexes / sizeof *comp_indexes; i++) {
        if (comp_indexes[i] == index) {
            comp_record(srv, index, w);
            *count = 1;
            return PLCIO_OK;
        }
    }
    return PLCIO_ENOTFOUND;
}

/* ---- 0x0131: communication capability parameters -----------------------
 * Index 1, general data (40 bytes): index, max PDU, max connections,
 * max MPI rate (4), max K-bus rate (4), reserved. */
static int szl_0131(plcio_s7_server *srv, const s7srv_session *ses, uint16_t index, plcio_wcursor *w, uint16_t *count)
{
    (void)ses;
    if (index != 1) return PLCIO_ENOTFOUND;
    plcio_wcursor_u16be(w, 1);
    plcio_wcursor_u16be(w, srv->cfg.pdu_size);
    unsigned conns = srv->cfg.max_connections > 0xFFFF ? 0xFFFF : srv->cfg.max_connections;
    plcio_wcursor_u16be(w, (uint16_t)conns);
    plcio_wcursor_u32be(w, srv->cfg.identity.max_mpi_rate);
    plcio_wcursor_u32be(w, srv->cfg.identity.max_bus_rate);
    plcio_wcursor_fill(w, 0, 26);
    *count = 1;
    return PLCIO_OK;
}

/* ---- 0x0232: protection level -------------------------------------------
 * Index 4 (40 bytes): index, sch_schal (level set by the mode switch),
 * sch_par (level set by parameters, 0 = none), sch_rel (level in force for
 * this connection), bart_sch (mode switch: 1 RUN, 2 RUN-P, 3 STOP), anl_sch
 * (startup switch: 0 none), reserved. */
static int szl_0232(plcio_s7_server *srv, const s7srv_session *ses, uint16_t index, plcio_wcursor *w, uint16_t *count)
{
    if (index != 4) return PLCIO_ENOTFOUND;
    plcio_wcursor_u16be(w, 4);
    plcio_wcursor_u16be(w, 1);
    plcio_wcursor_u16be(w, srv->cfg.password ? srv->cfg.protection_level : 0);
    plcio_wcursor_u16be(w, (uint16_t)s7srv_effective_protection(srv, ses));
    plcio_wcursor_u16be(w, 2);
    plcio_wcursor_u16be(w, 0);
    plcio_wcursor_fill(w, 0, 28);
    *count = 1;
    return PLCIO_OK;
}

/* ---- 0x0424: current mode --------------------------------------------------
 * Record (20 bytes): event id of the last mode change, ae (0xFF), bzu-id
 * (0x08 RUN, 0x04 STOP), 8 reserved bytes, time of the change (DATE_AND_TIME). */
static int szl_0424(plcio_s7_server *srv, const s7srv_session *ses, uint16_t index, plcio_wcursor *w, uint16_t *count)
{
    (void)ses;
    (void)index;
    s7srv_diag_entry last = {0x4302, s7srv_plc_now_ns(srv)};
    pthread_mutex_lock(&srv->diag_lock);
    for (size_t i = 0; i < srv->diag_count; i++) {
        const s7srv_diag_entry *e = &srv->diag[(srv->diag_head + i) % S7SRV_DIAG_MAX];
        if ((e->event_id & 0xFF00) == 0x4300) {
            last = *e;
            break;
        }
    }
    pthread_mutex_unlock(&srv->diag_lock);
    plcio_wcursor_u16be(w, last.event_id);
    plcio_wcursor_u8(w, 0xFF);
    plcio_wcursor_u8(w, (uint8_t)atomic_load(&srv->cpu_state));
    plcio_wcursor_fill(w, 0, 8);
    uint8_t *t = plcio_wcursor_reserve(w, 8);
    if (t) s7srv_put_date_and_time(t, last.plc_time_ns);
    *count = 1;
    return PLCIO_OK;
}

/* ---- 0x00A0 / 0x01A0: diagnostic buffer -----------------------------------
 * Record (20 bytes): event id, priority class, OB number, DatID, info 1 (2),
 * info 2 (4), time stamp (DATE_AND_TIME). Newest first; 0x01A0 index n
 * gives the n newest. */
static int diag_records(plcio_s7_server *srv, size_t limit, plcio_wcursor *w, uint16_t *count)
{
    pthread_mutex_lock(&srv->diag_lock);
    size_t n = srv->diag_count < limit ? srv->diag_count : limit;
    for (size_t i = 0; i < n; i++) {
        const s7srv_diag_entry *e = &srv->diag[(srv->diag_head + i) % S7SRV_DIAG_MAX];
        plcio_wcursor_u16be(w, e->event_id);
        plcio_wcursor_u8(w, 0xFF);      /* priority class: none */
        plcio_wcursor_u8(w, 0x00);      /* OB */
        plcio_wcursor_u16be(w, 0xC400); /* DatID */
        plcio_wcursor_u16be(w, 0x0000);
        plcio_wcursor_u32be(w, 0x00000000);
        uint8_t *t = plcio_wcursor_reserve(w, 8);
        if (t) s7srv_put_date_and_time(t, e->plc_time_ns);
    }
    pthread_mutex_unlock(&srv->diag_lock);
    *count = (uint16_t)n;
    return PLCIO_OK;
}

static int szl_00a0(plcio_s7_server *srv, const s7srv_session *ses, uint16_t index, plcio_wcursor *w, uint16_t *count)
{
    (void)ses;
    (void)index;
    return diag_records(srv, S7SRV_DIAG_MAX, w, count);
}

static int szl_01a0(plcio_s7_server *srv, const s7srv_session *ses, uint16_t index, plcio_wcursor *w, uint16_t *count)
{
    (void)ses;
    return diag_records(srv, index, w, count);
}

/* ---- 0x0000: the IDs of every list this CPU answers ----------------------- */
static int szl_0000(plcio_s7_server *srv, const s7srv_session *ses, uint16_t index, plcio_wcursor *w, uint16_t *count);

static const szl_list szl_lists[] = {
    {0x0000, 2, szl_0000},  {0x0011, 28, szl_0011}, {0x0111, 28, szl_0111}, {0x001C, 34, szl_001c},
    {0x011C, 34, szl_011c}, {0x0131, 40, szl_0131}, {0x0232, 40, szl_0232}, {0x0424, 20, szl_0424},
    {0x00A0, 20, szl_00a0}, {0x01A0, 20, szl_01a0},
};
#define SZL_LIST_COUNT (sizeof szl_lists / sizeof szl_lists[0])

static int szl_0000(plcio_s7_server *srv, const s7srv_session *ses, uint16_t index, plcio_wcursor *w, uint16_t *count)
{
    (void)srv;
    (void)ses;
    (void)index;
    uint16_t n = 0;
    for (size_t i = 0; i < SZL_LIST_COUNT; i++, n++)
        plcio_wcursor_u16be(w, szl_lists[i].id);
    /* The header-only forms (0x0F00 | id) exist for the complete lists. */
    for (size_t i = 0; i < SZL_LIST_COUNT; i++) {
        if ((szl_lists[i].id & 0x0F00) == 0) {
            plcio_wcursor_u16be(w, (uint16_t)(szl_lists[i].id | 0x0F00));
            n++;
        }
    }
    *count = n;
    return PLCIO_OK;
}

int s7srv_szl_build(plcio_s7_server *srv, const s7srv_session *ses, uint16_t id, uint16_t index, plcio_wcursor *w)
{
    bool header_only = (id & 0x0F00) == 0x0F00;
    uint16_t base = header_only ? (uint16_t)(id & 0xF0FF) : id;
    const szl_list *list = NULL;
    for (size_t i = 0; i < SZL_LIST_COUNT; i++)
        if (szl_lists[i].id == base) list = &szl_lists[i];
    if (!list) return PLCIO_ENOTFOUND;
    plcio_wcursor_u16be(w, id);
    plcio_wcursor_u16be(w, index);
    plcio_wcursor_u16be(w, list->record_len);
    uint8_t *count_at = plcio_wcursor_reserve(w, 2);
    uint16_t count = 0;
    uint8_t *records = w->pos;
    int rc = list->records(srv, ses, index, w, &count);
    if (rc) return rc;
    if (w->overrun || !count_at) return PLCIO_ENOSPC;
    plcio_put_u16be(count_at, count);
    if (header_only) w->pos = records; /* keep the count, drop the records */
    return PLCIO_OK;
}
