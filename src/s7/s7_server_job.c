/* S7 server: job PDUs (rosctr 1). One small handler per function, found in
 * a table: setup communication, read var, write var, PLC control (PI service
 * and stop), upload; anything else is refused the way a CPU refuses it.
 * Every handler writes one whole answer frame (TPKT + COTP DT + S7). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s7/s7_codec.h"
#include "s7/s7_server_priv.h"

/* Header error codes (class << 8 | code), texts as Wireshark's s7comm shows them. */
#define ERR_WRONG_FRAMES    0x8500 /* also what CPUs give when an answer would not fit the PDU */
#define ERR_NOT_IMPLEMENTED 0x8104 /* service not implemented on the module */
#define ERR_SEQUENCE        0x8401 /* invalid service sequence (upload) */
#define ERR_BLOCK_NOT_FOUND 0xD209 /* (at least) one of the given blocks not found */
#define ERR_PROTECTION      0xD241 /* function not permitted in the current protection level */
#define ERR_STATE           0xD081 /* function not permitted in current mode */

typedef int (*job_fn)(plcio_s7_server *srv, s7srv_session *ses, const s7_pdu *pdu, s7_out *out);

/* A refused job: ack-data with the error in the header and no parameters
 * (what CPUs and snap7 send; a lone function byte would make the answer look
 * truncated to dissectors that expect the function's parameters). */
static int refuse(const s7_pdu *pdu, s7_out *out, uint16_t error)
{
    int rc = s7_error_encode(out, PLCIO_S7_ACK_DATA, pdu->pdu_ref, -1, error);
    return rc ? rc : (int)out->len;
}

/* ---------------------------------------------------------------------------
 * Setup communication: the CPU offers min(asked, configured) for both.
 * ------------------------------------------------------------------------- */
static int job_setup(plcio_s7_server *srv, s7srv_session *ses, const s7_pdu *pdu, s7_out *out)
{
    s7_setup req;
    if (s7_setup_decode(pdu, &req)) return refuse(pdu, out, ERR_WRONG_FRAMES);
    uint16_t size = req.pdu_size;
    if (size > srv->cfg.pdu_size) size = srv->cfg.pdu_size;
    if (size < S7SRV_PDU_MIN) size = S7SRV_PDU_MIN;
    uint16_t jobs = srv->cfg.max_parallel_jobs;
    s7_setup ack = {req.max_amq_calling < jobs ? req.max_amq_calling : jobs,
                    req.max_amq_called < jobs ? req.max_amq_called : jobs, size};
    if (ack.max_amq_calling == 0) ack.max_amq_calling = 1;
    if (ack.max_amq_called == 0) ack.max_amq_called = 1;
    ses->pdu_size = size;
    ses->jobs = ack.max_amq_called;
    out->pdu_max = size;
    int rc = s7_setup_encode(out, PLCIO_S7_ACK_DATA, pdu->pdu_ref, &ack);
    return rc ? rc : (int)out->len;
}

/* ---------------------------------------------------------------------------
 * Item access shared by read and write.
 * ------------------------------------------------------------------------- */

/* Area code the registry knows for a wire area (DI are DBs). Peripheral
 * I/O (P: PIW, PQW) is direct access to the modules behind the process
 * images; the simulated CPU has no modules apart from its images, so a
 * peripheral read sees the inputs (I) and a peripheral write lands in the
 * outputs (Q), at the same byte addresses. */
static uint8_t registry_area(uint8_t wire, bool write)
{
    if (wire == PLCIO_S7_AREA_DI) return PLCIO_S7_AREA_DB;
    if (wire == PLCIO_S7_AREA_P) return write ? PLCIO_S7_AREA_PA : PLCIO_S7_AREA_PE;
    return wire;
}

/* Check an item against the area: return code, and on success the byte
 * range. Timers and counters only with their own transport size, and only
 * they; a bit access is one bit. */
static uint8_t item_range(const s7_item *it, const s7srv_area *a, size_t *start, size_t *bytes)
{
    bool tc_area = a->code == PLCIO_S7_AREA_T || a->code == PLCIO_S7_AREA_C;
    bool tc_ts = it->transport == PLCIO_S7_TS_TIMER || it->transport == PLCIO_S7_TS_COUNTER;
    if (tc_area != tc_ts) return PLCIO_S7_RC_TYPE_NOT_SUPPORTED;
    if (a->code == PLCIO_S7_AREA_T && it->transport != PLCIO_S7_TS_TIMER) return PLCIO_S7_RC_TYPE_NOT_SUPPORTED;
    if (a->code == PLCIO_S7_AREA_C && it->transport != PLCIO_S7_TS_COUNTER) return PLCIO_S7_RC_TYPE_NOT_SUPPORTED;
    size_t n = s7_item_bytes(it);
    if (n == 0) return PLCIO_S7_RC_TYPE_NOT_SUPPORTED;
    if (it->transport == PLCIO_S7_TS_BIT && it->count != 1) return PLCIO_S7_RC_TYPE_NOT_SUPPORTED;
    size_t s = tc_ts ? (size_t)it->start * 2 : it->start;
    if (s > a->size || n > a->size - s) return PLCIO_S7_RC_ADDRESS_OUT_OF_RANGE;
    *start = s;
    *bytes = n;
    return PLCIO_S7_RC_SUCCESS;
}

static plcio_s7_server_access make_access(const s7_item *it, const s7srv_area *a, size_t start, size_t bytes,
                                          unsigned client)
{
    plcio_s7_server_access acc;
    acc.area = (plcio_s7_server_area)a->code;
    acc.db_number = a->number;
    acc.start = (uint32_t)start;
    acc.size = (uint32_t)bytes;
    acc.bit = it->transport == PLCIO_S7_TS_BIT ? it->bit : -1;
    acc.transport = it->transport;
    acc.client = client;
    return acc;
}

/* Data transport size a CPU answers a read with. */
static uint8_t read_answer_transport(uint8_t ts)
{
    switch (ts) {
    case PLCIO_S7_TS_BIT: return PLCIO_S7_DTS_BIT;
    case PLCIO_S7_TS_INT:
    case PLCIO_S7_TS_DINT: return PLCIO_S7_DTS_INT;
    case PLCIO_S7_TS_REAL: return PLCIO_S7_DTS_REAL;
    case PLCIO_S7_TS_CHAR:
    case PLCIO_S7_TS_TIMER:
    case PLCIO_S7_TS_COUNTER: return PLCIO_S7_DTS_OCTET;
    default: return PLCIO_S7_DTS_BYTE;
    }
}

/* ---------------------------------------------------------------------------
 * Read var
 * ------------------------------------------------------------------------- */

/* The checks a read item must pass: protection, area, range. acc filled
 * when the area exists. */
static uint8_t read_check(plcio_s7_server *srv, s7srv_session *ses, const s7_item *it, plcio_s7_server_access *acc)
{
    memset(acc, 0, sizeof *acc);
    acc->bit = -1;
    if (s7srv_effective_protection(srv, ses) >= 3) return PLCIO_S7_RC_ACCESS_DENIED;
    s7srv_area *a = s7srv_area_acquire(srv, registry_area(it->area, false), it->db);
    if (!a) return PLCIO_S7_RC_OBJECT_NOT_FOUND;
    size_t start = 0, bytes = 0;
    uint8_t rc = item_range(it, a, &start, &bytes);
    *acc = make_access(it, a, start, bytes, ses->client);
    s7srv_area_release(a);
    return rc;
}

static uint8_t read_one(plcio_s7_server *srv, s7srv_session *ses, const s7_item *it, uint8_t *dst, size_t *len)
{
    if (s7srv_effective_protection(srv, ses) >= 3) return PLCIO_S7_RC_ACCESS_DENIED;
    s7srv_area *a = s7srv_area_acquire(srv, registry_area(it->area, false), it->db);
    if (!a) return PLCIO_S7_RC_OBJECT_NOT_FOUND;
    size_t start = 0, bytes = 0;
    uint8_t rc = item_range(it, a, &start, &bytes);
    if (rc == PLCIO_S7_RC_SUCCESS && srv->cfg.callbacks.before_read) {
        plcio_s7_server_access acc = make_access(it, a, start, bytes, ses->client);
        rc = srv->cfg.callbacks.before_read(srv->cfg.callbacks.ctx, &acc, a->mem, a->size);
    }
    if (rc == PLCIO_S7_RC_SUCCESS) {
        if (it->transport == PLCIO_S7_TS_BIT)
            dst[0] = (uint8_t)((a->mem[start] >> it->bit) & 1u);
        else
            memcpy(dst, a->mem + start, bytes);
        *len = bytes;
    }
    s7srv_area_release(a);
    return rc;
}

/* Hand the job to the backed ranges or callbacks.read_job: true when one
 * took it (the answer comes from plcio_s7_server_read_reply or the timeout). */
static bool read_deferred(plcio_s7_server *srv, s7srv_session *ses, const s7_pdu *pdu, const s7_item *items, size_t n)
{
    plcio_s7_server_read_item r[S7SRV_MAX_ITEMS];
    memset(r, 0, sizeof r);
    for (size_t i = 0; i < n; i++) {
        r[i].code = read_check(srv, ses, &items[i], &r[i].acc);
        ses->wait_codes[i] = r[i].code;
        ses->wait_items[i] = items[i];
    }
    uint64_t job = ++srv->next_write_job;
    ses->wait_job = job; /* set first: the reply may come from inside the callback */
    ses->wait_read = true;
    ses->wait_ref = pdu->pdu_ref;
    ses->wait_count = n;
    if (srv->backing && s7bk_read_job(srv, job, r, n) == PLCIO_OK) return true;
    if (ses->wait_job == job && srv->cfg.callbacks.read_job &&
        srv->cfg.callbacks.read_job(srv->cfg.callbacks.ctx, job, r, n) == PLCIO_OK)
        return true;
    if (ses->wait_job == job) ses->wait_job = 0;
    return false;
}

static int job_read(plcio_s7_server *srv, s7srv_session *ses, const s7_pdu *pdu, s7_out *out)
{
    s7_item items[S7SRV_MAX_ITEMS];
    s7_data_item data[S7SRV_MAX_ITEMS];
    /* cppcheck-suppress unassignedVariable ; read_one() fills it through scratch + used */
    uint8_t scratch[S7SRV_PDU_MAX];
    size_t n = 0;
    /* A read job that is only its function byte (python-snap7's
     * get_cpu_state sends one) asks for nothing: answered with no items, as
     * snap7's server does, rather than refused. */
    if (pdu->param_len == 1 && pdu->data_len == 0) {
        s7_writer wr;
        s7_writer_begin(&wr, out, PLCIO_S7_ACK_DATA, pdu->pdu_ref, 0);
        plcio_wcursor_u8(&wr.w, PLCIO_S7_FN_READ);
        plcio_wcursor_u8(&wr.w, 0); /* no items */
        int rc = s7_writer_end(&wr);
        return rc ? rc : (int)out->len;
    }
    if (s7_read_request_decode(pdu, items, S7SRV_MAX_ITEMS, &n)) return refuse(pdu, out, ERR_WRONG_FRAMES);
    /* The whole answer must fit the negotiated PDU, or the CPU refuses the job. */
    size_t need = PLCIO_S7_READ_RSP_OVERHEAD, used = 0;
    for (size_t i = 0; i < n; i++) {
        size_t b = s7_item_bytes(&items[i]);
        need += i + 1 < n ? s7_read_rsp_cost(b) : PLCIO_S7_DATA_ITEM_HEAD + b; /* last item unpadded */
    }
    if (need > ses->pdu_size) return refuse(pdu, out, ERR_WRONG_FRAMES);
    if ((srv->backing || srv->cfg.callbacks.read_job) && read_deferred(srv, ses, pdu, items, n)) return 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        uint8_t rc = read_one(srv, ses, &items[i], scratch + used, &len);
        data[i].return_code = rc;
        data[i].transport = rc == PLCIO_S7_RC_SUCCESS ? read_answer_transport(items[i].transport) : 0;
        data[i].data = rc == PLCIO_S7_RC_SUCCESS ? scratch + used : NULL;
        data[i].len = (uint16_t)(rc == PLCIO_S7_RC_SUCCESS ? len : 0);
        used += len;
    }
    int rc = s7_read_response_encode(out, pdu->pdu_ref, data, n);
    if (rc == PLCIO_ENOSPC) return refuse(pdu, out, ERR_WRONG_FRAMES);
    return rc ? rc : (int)out->len;
}

int s7srv_read_answer(plcio_s7_server *srv, s7srv_session *ses, const plcio_s7_server_read_answer *answers,
                      size_t count, uint8_t *frame, size_t cap)
{
    s7_data_item data[S7SRV_MAX_ITEMS];
    /* cppcheck-suppress unassignedVariable ; filled through scratch + used */
    uint8_t scratch[S7SRV_PDU_MAX];
    size_t used = 0;
    if (!ses->wait_job || !ses->wait_read) return PLCIO_ENOTFOUND;
    if (count != ses->wait_count || (count && !answers)) return PLCIO_EINVAL;
    for (size_t i = 0; i < count; i++) {
        const s7_item *it = &ses->wait_items[i];
        size_t len = 0, bytes = s7_item_bytes(it);
        uint8_t rc = ses->wait_codes[i];
        if (rc == PLCIO_S7_RC_SUCCESS) rc = answers[i].code;
        if (rc == PLCIO_S7_RC_SUCCESS && used + bytes > sizeof scratch) rc = PLCIO_S7_RC_HW_FAULT; /* never: checked */
        if (rc == PLCIO_S7_RC_SUCCESS && answers[i].data) {
            if (it->transport == PLCIO_S7_TS_BIT)
                scratch[used] = (uint8_t)(answers[i].data[0] & 1u);
            else
                memcpy(scratch + used, answers[i].data, bytes);
            len = bytes;
        } else if (rc == PLCIO_S7_RC_SUCCESS) {
            rc = read_one(srv, ses, it, scratch + used, &len);
        }
        data[i].return_code = rc;
        data[i].transport = rc == PLCIO_S7_RC_SUCCESS ? read_answer_transport(it->transport) : 0;
        data[i].data = rc == PLCIO_S7_RC_SUCCESS ? scratch + used : NULL;
        data[i].len = (uint16_t)(rc == PLCIO_S7_RC_SUCCESS ? len : 0);
        used += rc == PLCIO_S7_RC_SUCCESS ? len : 0;
    }
    s7_out out = s7_out_make(frame, cap, ses->pdu_size ? ses->pdu_size : S7SRV_PDU_MIN);
    int rc = s7_read_response_encode(&out, ses->wait_ref, data, count);
    ses->wait_job = 0;
    ses->wait_read = false;
    return rc ? rc : (int)out.len;
}

/* ---------------------------------------------------------------------------
 * Write var
 * ------------------------------------------------------------------------- */

/* The checks a write item must pass before anything is written: protection,
 * area, range, size. ITEM_OK with the area acquired (release it), or the
 * item's code. */
static uint8_t write_check(plcio_s7_server *srv, s7srv_session *ses, const s7_item *it, const s7_data_item *d,
                           s7srv_area **area, plcio_s7_server_access *acc)
{
    *area = NULL;
    if (s7srv_effective_protection(srv, ses) >= 2) return PLCIO_S7_RC_ACCESS_DENIED;
    s7srv_area *a = s7srv_area_acquire(srv, registry_area(it->area, true), it->db);
    if (!a) return PLCIO_S7_RC_OBJECT_NOT_FOUND;
    size_t start = 0, bytes = 0;
    uint8_t rc = item_range(it, a, &start, &bytes);
    if (rc == PLCIO_S7_RC_SUCCESS && d->len != bytes) rc = PLCIO_S7_RC_TYPE_INCONSISTENT;
    *acc = make_access(it, a, start, bytes, ses->client);
    if (rc != PLCIO_S7_RC_SUCCESS) {
        s7srv_area_release(a);
        return rc;
    }
    *area = a;
    return rc;
}

uint8_t s7srv_apply_write(plcio_s7_server *srv, const plcio_s7_server_access *acc, const uint8_t *data)
{
    s7srv_area *a = s7srv_area_acquire(srv, (uint8_t)acc->area, acc->db_number);
    if (!a) return PLCIO_S7_RC_OBJECT_NOT_FOUND;
    if (acc->start > a->size || acc->size > a->size - acc->start) {
        s7srv_area_release(a);
        return PLCIO_S7_RC_ADDRESS_OUT_OF_RANGE;
    }
    uint8_t rc = PLCIO_S7_RC_SUCCESS;
    if (srv->cfg.callbacks.before_write) rc = srv->cfg.callbacks.before_write(srv->cfg.callbacks.ctx, acc, data);
    if (rc == PLCIO_S7_RC_SUCCESS) {
        size_t start = acc->start;
        if (acc->bit >= 0) {
            uint8_t mask = (uint8_t)(1u << (acc->bit & 7));
            a->mem[start] = (uint8_t)((data[0] & 1u) ? (a->mem[start] | mask) : (a->mem[start] & ~mask));
        } else {
            memcpy(a->mem + start, data, acc->size);
        }
        if (srv->cfg.callbacks.after_write)
            srv->cfg.callbacks.after_write(srv->cfg.callbacks.ctx, acc, a->mem, a->size);
    }
    s7srv_area_release(a);
    return rc;
}

static uint8_t write_one(plcio_s7_server *srv, s7srv_session *ses, const s7_item *it, const s7_data_item *d)
{
    s7srv_area *a = NULL;
    plcio_s7_server_access acc;
    uint8_t rc = write_check(srv, ses, it, d, &a, &acc);
    if (rc != PLCIO_S7_RC_SUCCESS) return rc;
    rc = s7srv_apply_write(srv, &acc, d->data); /* the lock is recursive: checked and written under one hold */
    s7srv_area_release(a);
    return rc;
}

/* Hand the job to callbacks.write_job: true when it took it (the answer
 * comes from plcio_s7_server_write_reply or the write timeout). */
static bool write_deferred(plcio_s7_server *srv, s7srv_session *ses, const s7_pdu *pdu, const s7_item *items,
                           const s7_data_item *data, size_t n)
{
    plcio_s7_server_write_item w[S7SRV_MAX_ITEMS];
    memset(w, 0, sizeof w);
    for (size_t i = 0; i < n; i++) {
        s7srv_area *a = NULL;
        w[i].code = write_check(srv, ses, &items[i], &data[i], &a, &w[i].acc);
        w[i].data = data[i].data;
        if (a) s7srv_area_release(a);
        ses->wait_codes[i] = w[i].code;
    }
    uint64_t job = ++srv->next_write_job;
    ses->wait_job = job; /* set first: the reply may come from inside the callback */
    ses->wait_read = false;
    ses->wait_ref = pdu->pdu_ref;
    ses->wait_count = n;
    if (srv->backing && s7bk_write_job(srv, job, w, n) == PLCIO_OK) return true;
    if (ses->wait_job == job && srv->cfg.callbacks.write_job &&
        srv->cfg.callbacks.write_job(srv->cfg.callbacks.ctx, job, w, n) == PLCIO_OK)
        return true;
    if (ses->wait_job == job) ses->wait_job = 0;
    return false;
}

static int job_write(plcio_s7_server *srv, s7srv_session *ses, const s7_pdu *pdu, s7_out *out)
{
    s7_item items[S7SRV_MAX_ITEMS];
    s7_data_item data[S7SRV_MAX_ITEMS];
    uint8_t codes[S7SRV_MAX_ITEMS];
    size_t n = 0;
    if (s7_write_request_decode(pdu, items, data, S7SRV_MAX_ITEMS, &n)) return refuse(pdu, out, ERR_WRONG_FRAMES);
    if ((srv->backing || srv->cfg.callbacks.write_job) && write_deferred(srv, ses, pdu, items, data, n)) return 0;
    for (size_t i = 0; i < n; i++)
        codes[i] = write_one(srv, ses, &items[i], &data[i]);
    int rc = s7_write_response_encode(out, pdu->pdu_ref, codes, n);
    return rc ? rc : (int)out->len;
}

int s7srv_write_answer(s7srv_session *ses, const uint8_t *codes, size_t count, uint8_t *frame, size_t cap)
{
    uint8_t c[S7SRV_MAX_ITEMS];
    if (!ses->wait_job) return PLCIO_ENOTFOUND;
    if (ses->wait_read || count != ses->wait_count || (count && !codes)) return PLCIO_EINVAL;
    for (size_t i = 0; i < count; i++)
        c[i] = ses->wait_codes[i] != PLCIO_S7_RC_SUCCESS ? ses->wait_codes[i] : codes[i];
    s7_out out = s7_out_make(frame, cap, ses->pdu_size ? ses->pdu_size : S7SRV_PDU_MIN);
    int rc = s7_write_response_encode(&out, ses->wait_ref, c, count);
    ses->wait_job = 0;
    return rc ? rc : (int)out.len;
}

/* ---------------------------------------------------------------------------
 * PLC control: PI service "P_PROGRAM" starts (parameter "C " = cold start),
 * "_GARB" (compress) and "_MODU" (copy RAM to ROM) are accepted as no-ops of
 * a CPU whose memory never fragments; stop (0x29) "P_PROGRAM" stops.
 * ------------------------------------------------------------------------- */

static bool service_is(const s7_control *c, const char *name)
{
    size_t n = strlen(name);
    return c->service && c->service_len == n && memcmp(c->service, name, n) == 0;
}

/* python-snap7 sends three PI services in a layout of its own (no 0xFD
 * marker, no parameter length): compress and copy RAM to ROM as "_MSZL"
 * (without / with a parameter "P"), delete as "_DELE" with the block as
 * hex type and decimal number ("4100003P"). Those exact shapes are read as
 * the services they stand for (the PI names STEP 7 and snap7's client use
 * are _GARB, _MODU and _DELE with a parameter block); anything else stays a
 * malformed frame. Fills c (param in pi, 10 bytes, for a delete). */
static bool loose_pi(const s7_pdu *pdu, s7_control *c, uint8_t pi[10])
{
    const uint8_t *p = pdu->param;
    size_t n = pdu->param_len;
    memset(c, 0, sizeof *c);
    c->function = PLCIO_S7_FN_PI_SERVICE;
    if (pdu->data_len || n < 14 || p[0] != PLCIO_S7_FN_PI_SERVICE) return false;
    static const uint8_t zeros[7] = {0};
    if (n == 14 && !memcmp(p + 1, zeros, 7) && p[8] == 5 && !memcmp(p + 9, "_MSZL", 5)) {
        c->service = "_GARB";
        c->service_len = 5;
        return true;
    }
    if (n == 15 && !memcmp(p + 1, zeros, 6) && p[7] == 1 && p[8] == 5 && p[9] == 'P' && !memcmp(p + 10, "_MSZL", 5)) {
        c->service = "_MODU";
        c->service_len = 5;
        return true;
    }
    if (n == 22 && !memcmp(p + 1, zeros, 5) && p[6] == 8 && p[7] == 5 && p[8] == 0 && !memcmp(p + 17, "_DELE", 5)) {
        const uint8_t *spec = p + 9; /* "41" "00003" fs */
        unsigned type = 0;
        for (int i = 0; i < 2; i++) {
            uint8_t h = spec[i];
            unsigned v = h >= '0' && h <= '9'   ? (unsigned)(h - '0')
                         : h >= 'A' && h <= 'F' ? (unsigned)(h - 'A' + 10)
                                                : 16;
            if (v > 15) return false;
            type = type * 16 + v;
        }
        pi[0] = 1;
        pi[1] = 0;
        pi[2] = '0';
        pi[3] = (uint8_t)type;
        memcpy(pi + 4, spec + 2, 5);
        pi[9] = 'B';
        c->param = pi;
        c->param_len = 10;
        c->service = "_DELE";
        c->service_len = 5;
        return true;
    }
    return false;
}

static int job_control(plcio_s7_server *srv, s7srv_session *ses, const s7_pdu *pdu, s7_out *out)
{
    s7_control c;
    uint8_t pi[10];
    if (s7_control_decode(pdu, &c) && !loose_pi(pdu, &c, pi)) return refuse(pdu, out, ERR_WRONG_FRAMES);
    if (s7srv_control_protection(srv, ses) >= 2) return refuse(pdu, out, ERR_PROTECTION);
    uint16_t error = 0;
    if (c.function == PLCIO_S7_FN_PLC_STOP && service_is(&c, "P_PROGRAM")) {
        plcio_s7_server_set_cpu_state(srv, PLCIO_S7_SERVER_CPU_STOP);
        s7srv_event(srv, PLCIO_S7_SERVER_EV_CPU_STOP, ses->client, 0);
    } else if (c.function == PLCIO_S7_FN_PI_SERVICE && service_is(&c, "P_PROGRAM")) {
        bool cold = c.param_len >= 1 && c.param[0] == 'C';
        plcio_s7_server_set_cpu_state(srv, PLCIO_S7_SERVER_CPU_RUN);
        s7srv_event(srv, PLCIO_S7_SERVER_EV_CPU_START, ses->client, cold ? 2 : 1);
    } else if (c.function == PLCIO_S7_FN_PI_SERVICE && service_is(&c, "_DELE")) {
        error = s7srv_pi_delete(srv, ses, c.param, c.param_len);
    } else if (c.function == PLCIO_S7_FN_PI_SERVICE && service_is(&c, "_INSE")) {
        error = s7srv_pi_insert(srv, ses, c.param, c.param_len);
    } else if (c.function == PLCIO_S7_FN_PI_SERVICE && (service_is(&c, "_GARB") || service_is(&c, "_MODU"))) {
        if (plcio_s7_server_get_cpu_state(srv) == PLCIO_S7_SERVER_CPU_RUN && service_is(&c, "_MODU"))
            error = ERR_STATE; /* copy RAM to ROM needs STOP */
    } else {
        error = ERR_NOT_IMPLEMENTED;
    }
    int rc = s7_control_response_encode(out, pdu->pdu_ref, c.function, error);
    return rc ? rc : (int)out->len;
}

/* ---------------------------------------------------------------------------
 * Upload of a DB: the block image is the MC7 load-memory format
 * (36-byte header, the DB's bytes as MC7 code, no interface, 56-byte footer).
 * ------------------------------------------------------------------------- */
#define BLOCK_HEADER_LEN 36
#define BLOCK_FOOTER_LEN 56
#define BLOCK_LANG_DB    0x05
#define BLOCK_SUBTYPE_DB 0x0A

/* Days since 1984-01-01 for block time stamps. */
static uint16_t block_days(int64_t plc_ns)
{
    int64_t days = plc_ns / INT64_C(86400000000000) - 5113; /* 1970 -> 1984 */
    return (uint16_t)(days < 0 ? 0 : days > 0xFFFF ? 0xFFFF : days);
}

static uint16_t block_checksum(const uint8_t *p, size_t n)
{
    uint32_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum = (sum + p[i]) & 0xFFFFu;
    return (uint16_t)sum;
}

int s7srv_block_info(plcio_s7_server *srv, uint16_t number, s7_block_info *bi)
{
    s7srv_area *a = s7srv_area_acquire(srv, PLCIO_S7_AREA_DB, number);
    if (!a) return PLCIO_ENOTFOUND;
    memset(bi, 0, sizeof *bi);
    bi->block_type = PLCIO_S7_BLOCK_DB;
    bi->flags = 0x01;
    bi->language = BLOCK_LANG_DB;
    bi->sub_block_type = BLOCK_SUBTYPE_DB;
    bi->number = number;
    bi->load_size = (uint32_t)(a->size + BLOCK_HEADER_LEN + BLOCK_FOOTER_LEN);
    bi->mc7_size = (uint16_t)a->size;
    uint16_t days = block_days(s7srv_plc_now_ns(srv));
    plcio_put_u16be(bi->code_date + 4, days);
    plcio_put_u16be(bi->interface_date + 4, days);
    memcpy(bi->author, "PLCIO", 6);
    memcpy(bi->family, "SIM", 4);
    snprintf(bi->name, sizeof bi->name, "DB%u", (unsigned)number);
    bi->version = 0x01;
    bi->checksum = block_checksum(a->mem, a->size);
    s7srv_area_release(a);
    return PLCIO_OK;
}

/* Block image of a DB for upload; caller frees. */
static uint8_t *block_image(plcio_s7_server *srv, uint16_t number, size_t *len)
{
    s7_block_info bi;
    if (s7srv_block_info(srv, number, &bi)) return NULL;
    s7srv_area *a = s7srv_area_acquire(srv, PLCIO_S7_AREA_DB, number);
    if (!a) return NULL;
    size_t total = BLOCK_HEADER_LEN + a->size + BLOCK_FOOTER_LEN;
    uint8_t *img = calloc(1, total);
    if (img) {
        plcio_wcursor w = plcio_wcursor_make(img, total);
        plcio_wcursor_u16be(&w, 0x7070); /* block id "pp" */
        plcio_wcursor_u8(&w, 0x01);
        plcio_wcursor_u8(&w, bi.flags);
        plcio_wcursor_u8(&w, bi.language);
        plcio_wcursor_u8(&w, bi.sub_block_type);
        plcio_wcursor_u16be(&w, number);
        plcio_wcursor_u32be(&w, (uint32_t)total);
        plcio_wcursor_u32be(&w, 0); /* security: none */
        plcio_wcursor_write(&w, bi.code_date, 6);
        plcio_wcursor_write(&w, bi.interface_date, 6);
        plcio_wcursor_u16be(&w, 0); /* SBB (interface) length */
        plcio_wcursor_u16be(&w, 0); /* additional */
        plcio_wcursor_u16be(&w, 0); /* local data */
        plcio_wcursor_u16be(&w, (uint16_t)a->size);
        plcio_wcursor_write(&w, a->mem, a->size);
        plcio_wcursor_fill(&w, 0, 20);
        plcio_wcursor_write(&w, "PLCIO\0\0\0", 8);   /* author */
        plcio_wcursor_write(&w, "SIM\0\0\0\0\0", 8); /* family */
        char name[9] = {0};
        snprintf(name, sizeof name, "DB%u", (unsigned)number);
        plcio_wcursor_write(&w, name, 8);
        plcio_wcursor_u8(&w, 0x11);
        plcio_wcursor_u8(&w, 0x00);
        plcio_wcursor_u16be(&w, bi.checksum);
        plcio_wcursor_fill(&w, 0, 8);
        *len = total;
    }
    s7srv_area_release(a);
    return img;
}

static void upload_clear(s7srv_session *ses)
{
    free(ses->upload);
    ses->upload = NULL;
    ses->upload_id = 0;
    ses->upload_len = ses->upload_off = 0;
}

void s7srv_session_clear(s7srv_session *ses)
{
    upload_clear(ses);
    ses->frag_group = 0;
    s7srv_download_clear(ses);
    ses->push_len = 0;
}

static int upload_ack(const s7_pdu *pdu, s7_out *out, const s7_xfer *x, uint16_t error)
{
    if (error) return refuse(pdu, out, error);
    int rc = s7_xfer_ack_encode(out, pdu->pdu_ref, x, 0);
    return rc ? rc : (int)out->len;
}

static int job_upload(plcio_s7_server *srv, s7srv_session *ses, const s7_pdu *pdu, s7_out *out)
{
    s7_xfer req, ack;
    if (s7_xfer_job_decode(pdu, &req)) return refuse(pdu, out, ERR_WRONG_FRAMES);
    memset(&ack, 0, sizeof ack);
    ack.function = req.function;
    if (req.function == PLCIO_S7_FN_START_UPLOAD) {
        uint8_t type = 0;
        uint16_t number = 0;
        char dest = 0;
        if (s7_filename_parse(req.filename, &type, &number, &dest)) return upload_ack(pdu, out, &ack, ERR_WRONG_FRAMES);
        if (s7srv_effective_protection(srv, ses) >= 3) return upload_ack(pdu, out, &ack, ERR_PROTECTION);
        if (ses->upload) return upload_ack(pdu, out, &ack, ERR_SEQUENCE); /* one upload per connection */
        size_t len = 0;
        uint8_t *img = type == PLCIO_S7_BLOCK_DB ? block_image(srv, number, &len) : NULL;
        if (!img) return upload_ack(pdu, out, &ack, ERR_BLOCK_NOT_FOUND);
        ses->upload = img;
        ses->upload_len = len;
        ses->upload_off = 0;
        ses->upload_id = atomic_fetch_add(&srv->next_upload_id, 1u);
        if (ses->upload_id == 0) ses->upload_id = atomic_fetch_add(&srv->next_upload_id, 1u);
        ack.upload_id = ses->upload_id;
        ack.load_len = (uint32_t)len;
        ack.has_lengths = true;
        return upload_ack(pdu, out, &ack, 0);
    }
    if (!ses->upload || req.upload_id != ses->upload_id) return upload_ack(pdu, out, &ack, ERR_SEQUENCE);
    if (req.function == PLCIO_S7_FN_END_UPLOAD) {
        upload_clear(ses);
        return upload_ack(pdu, out, &ack, 0);
    }
    /* Upload: the next slice, as much as the PDU carries. */
    size_t room = ses->pdu_size - (PLCIO_S7_ACK_HEADER_LEN + 2 + 4);
    size_t left = ses->upload_len - ses->upload_off;
    bool more = left > room; /* status 1: more slices follow */
    size_t n = more ? room : left;
    ack.status = more ? 1 : 0;
    ack.payload = ses->upload + ses->upload_off;
    ack.payload_len = (uint16_t)n;
    ses->upload_off += n;
    return upload_ack(pdu, out, &ack, 0);
}

/* ---------------------------------------------------------------------------
 * Dispatch
 * ------------------------------------------------------------------------- */

typedef struct job_entry {
    uint8_t function;
    job_fn fn;
} job_entry;

static const job_entry job_table[] = {
    {PLCIO_S7_FN_SETUP, job_setup},
    {PLCIO_S7_FN_READ, job_read},
    {PLCIO_S7_FN_WRITE, job_write},
    {PLCIO_S7_FN_PI_SERVICE, job_control},
    {PLCIO_S7_FN_PLC_STOP, job_control},
    {PLCIO_S7_FN_START_UPLOAD, job_upload},
    {PLCIO_S7_FN_UPLOAD, job_upload},
    {PLCIO_S7_FN_END_UPLOAD, job_upload},
    {PLCIO_S7_FN_REQUEST_DOWNLOAD, s7srv_job_request_download},
};

int s7srv_handle_pdu(plcio_s7_server *srv, s7srv_session *ses, const uint8_t *buf, size_t len, uint8_t *frame,
                     size_t cap)
{
    s7_pdu pdu;
    if (s7_pdu_decode(buf, len, &pdu)) return PLCIO_EPROTO;
    s7_out out = s7_out_make(frame, cap, ses->pdu_size ? ses->pdu_size : S7SRV_PDU_MIN);
    /* A request larger than the negotiated PDU is refused, not served. */
    if (ses->pdu_size && len > ses->pdu_size) return refuse(&pdu, &out, ERR_WRONG_FRAMES);
    if (pdu.rosctr == PLCIO_S7_USERDATA) {
        if (!ses->pdu_size) return refuse(&pdu, &out, ERR_NOT_IMPLEMENTED);
        return s7srv_handle_userdata(srv, ses, &pdu, &out);
    }
    /* A client sends jobs and userdata, and answers only the server's own
     * jobs (download); anything else closes the connection. */
    if ((pdu.rosctr == PLCIO_S7_ACK_DATA || pdu.rosctr == PLCIO_S7_ACK) && ses->pdu_size)
        return s7srv_on_ack(srv, ses, &pdu);
    if (pdu.rosctr != PLCIO_S7_JOB) return PLCIO_EPROTO;
    int fn = s7_pdu_function(&pdu);
    if (!ses->pdu_size && fn != PLCIO_S7_FN_SETUP) return refuse(&pdu, &out, ERR_NOT_IMPLEMENTED);
    for (size_t i = 0; i < sizeof job_table / sizeof *job_table; i++)
        if (job_table[i].function == fn) return job_table[i].fn(srv, ses, &pdu, &out);
    return refuse(&pdu, &out, ERR_NOT_IMPLEMENTED);
}
