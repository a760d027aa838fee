/* S7 client: userdata functions (SZL and CPU information, blocks, clock,
 * password) and PLC control. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s7/s7_client_internal.h"
#include "s7/s7_session.h"

/* ---- one userdata exchange, possibly many fragments ---- */

typedef struct ud_call {
    const char *what;
    bool empty_ok; /* set functions: 0A 00 00 00 (no data) is the normal "done" */
    s7_userdata req;
    s7_ud_assembly a;
    int rc; /* of the last fragment: OK, EAGAIN (more), error */
} ud_call;

static int enc_ud(plcio_s7_client *c, void *ctx, size_t index, s7_out *out, uint16_t ref)
{
    (void)c;
    (void)index;
    ud_call *u = ctx;
    return s7_userdata_encode(out, ref, &u->req);
}

static int dec_ud(plcio_s7_client *c, void *ctx, size_t index, const s7_pdu *pdu)
{
    (void)index;
    ud_call *u = ctx;
    s7_userdata ud;
    int rc = s7_userdata_decode(pdu, &ud);
    if (rc) return rc;
    if (u->empty_ok && !ud.error && ud.return_code == PLCIO_S7_RC_OBJECT_NOT_FOUND && !ud.payload_len)
        ud.return_code = PLCIO_S7_RC_SUCCESS;
    u->rc = s7_ud_assembly_add(&u->a, &ud);
    if (u->rc == PLCIO_EPLC) {
        c->s7_error = u->a.error;
        const char *text =
            u->a.error > 0xFF ? plcio_s7_error_text(u->a.error) : plcio_s7_return_code_text((uint8_t)u->a.error);
        return s7c_fail(c, PLCIO_EPLC, "%s: %s (0x%04X)", u->what, text, u->a.error);
    }
    if (u->rc == PLCIO_ELIMIT) return s7c_fail(c, PLCIO_ENOSPC, "%s: answer larger than the buffer", u->what);
    if (u->rc == PLCIO_EPROTO) return PLCIO_EPROTO;
    return PLCIO_OK;
}

/* Send req (and continuation requests) until the answer is complete; the
 * payload lands in buf. */
static int ud_exchange(plcio_s7_client *c, const char *what, const s7_userdata *req, uint8_t *buf, size_t cap,
                       size_t *len)
{
    ud_call u;
    memset(&u, 0, sizeof u);
    u.what = what;
    u.empty_ok = !len;
    u.req = *req;
    s7_ud_assembly_init(&u.a, req->group, req->subfunction, buf, cap, 4096);
    for (;;) {
        int rc = s7c_run(c, 1, enc_ud, dec_ud, &u);
        if (rc) return rc;
        if (u.rc == PLCIO_OK) break;
        u.req = s7_userdata_continue(req->group, req->subfunction, u.a.sequence);
    }
    if (len) *len = u.a.len;
    return PLCIO_OK;
}

int plcio_s7_client_read_szl(plcio_s7_client *c, uint16_t id, uint16_t index, void *buf, size_t cap, size_t *len)
{
    if (!c || !buf) return PLCIO_EINVAL;
    uint8_t p[4];
    s7_szl_request_encode(p, id, index);
    s7_userdata req = s7_userdata_request(PLCIO_S7_UD_GROUP_CPU, PLCIO_S7_UD_CPU_READ_SZL, 0, p, 4);
    char what[48];
    snprintf(what, sizeof what, "read SZL 0x%04X index 0x%04X", id, index);
    size_t n = 0;
    int rc = ud_exchange(c, what, &req, buf, cap, &n);
    if (rc) return rc;
    s7_szl_header h;
    if (s7_szl_header_decode(buf, n, &h) != PLCIO_OK)
        return s7c_fail(c, PLCIO_EPROTO, "%s: answer shorter than the SZL header", what);
    /* An ID with 0xF in its "partial list extract" nibble (0x0F1C) asks for
     * the header only: the CPU answers the entry length and count with no
     * records behind them (snap7's firmware tables: 0x0F1C -> 34 x 10). */
    bool header_only = (h.id & 0x0F00) == 0x0F00 && n == PLCIO_S7_SZL_HEADER_LEN;
    if (!header_only && (size_t)h.entry_len * h.entry_count > n - PLCIO_S7_SZL_HEADER_LEN)
        return s7c_fail(c, PLCIO_EPROTO, "%s: %u entries of %u bytes announced, %zu bytes received", what,
                        h.entry_count, h.entry_len, n - PLCIO_S7_SZL_HEADER_LEN);
    if (len) *len = n;
    return PLCIO_OK;
}

static void text_field(char *out, size_t cap, const uint8_t *p, size_t n)
{
    size_t k = n < cap - 1 ? n : cap - 1;
    size_t j = 0;
    for (size_t i = 0; i < k && p[i]; i++)
        out[j++] = (char)(p[i] >= 0x20 && p[i] < 0x7F ? p[i] : '?');
    while (j && out[j - 1] == ' ')
        j--;
    out[j] = '\0';
}

/* Entry of an SZL answer whose first word is `index`, or NULL. */
static const uint8_t *szl_entry(const uint8_t *szl, size_t len, uint16_t index, size_t *elen)
{
    s7_szl_header h;
    if (s7_szl_header_decode(szl, len, &h) || h.entry_len < 2) return NULL;
    for (size_t i = 0; i < h.entry_count; i++) {
        const uint8_t *e = szl + PLCIO_S7_SZL_HEADER_LEN + i * h.entry_len;
        if (e + h.entry_len > szl + len) return NULL;
        if (plcio_get_u16be(e) == index) {
            *elen = h.entry_len;
            return e;
        }
    }
    return NULL;
}

int plcio_s7_client_get_cpu_state(plcio_s7_client *c, int *state)
{
    uint8_t buf[256];
    size_t n = 0;
    int rc = plcio_s7_client_read_szl(c, 0x0424, 0, buf, sizeof buf, &n);
    if (rc) return rc;
    s7_szl_header h;
    s7_szl_header_decode(buf, n, &h);
    if (h.entry_count < 1 || h.entry_len < 4) return s7c_fail(c, PLCIO_EPROTO, "SZL 0x0424: no entry");
    uint8_t mode = buf[PLCIO_S7_SZL_HEADER_LEN + 3]; /* bzu-id: operating mode */
    *state = (mode & 0x0F) == 0x08 ? 0x08 : (mode & 0x0F) == 0x04 || (mode & 0x0F) == 0x03 ? 0x04 : mode;
    return PLCIO_OK;
}

int plcio_s7_client_cpu_info(plcio_s7_client *c, plcio_s7_cpu_info *info)
{
    if (!c || !info) return PLCIO_EINVAL;
    memset(info, 0, sizeof *info);
    size_t cap = 4096, n = 0, el = 0;
    uint8_t *buf = malloc(cap);
    if (!buf) return PLCIO_ENOMEM;
    int rc = plcio_s7_client_read_szl(c, 0x001C, 0, buf, cap, &n);
    if (rc) {
        free(buf);
        return rc;
    }
    /* SZL 0x001C: component identification, entries index + 32 characters */
    const uint8_t *e;
    if ((e = szl_entry(buf, n, 1, &el))) text_field(info->as_name, sizeof info->as_name, e + 2, el - 2);
    if ((e = szl_entry(buf, n, 2, &el))) text_field(info->module_name, sizeof info->module_name, e + 2, el - 2);
    if ((e = szl_entry(buf, n, 4, &el))) text_field(info->copyright, sizeof info->copyright, e + 2, el - 2);
    if ((e = szl_entry(buf, n, 5, &el))) text_field(info->serial, sizeof info->serial, e + 2, el - 2);
    if ((e = szl_entry(buf, n, 7, &el))) text_field(info->module_type, sizeof info->module_type, e + 2, el - 2);
    /* SZL 0x0011: order code (index 1: 20 characters), firmware in the last entry */
    if (plcio_s7_client_read_szl(c, 0x0011, 0, buf, cap, &n) == PLCIO_OK) {
        if ((e = szl_entry(buf, n, 1, &el)) && el >= 22)
            text_field(info->order_code, sizeof info->order_code, e + 2, 20);
        s7_szl_header h;
        if (!s7_szl_header_decode(buf, n, &h) && h.entry_count && h.entry_len >= 28) {
            const uint8_t *last = buf + PLCIO_S7_SZL_HEADER_LEN + (size_t)(h.entry_count - 1) * h.entry_len;
            if (last[h.entry_len - 4] == 'V')
                snprintf(info->firmware, sizeof info->firmware, "V%u.%u.%u", last[h.entry_len - 3],
                         last[h.entry_len - 2], last[h.entry_len - 1]);
        }
    }
    /* SZL 0x0131 index 1: communication capabilities */
    if (plcio_s7_client_read_szl(c, 0x0131, 1, buf, cap, &n) == PLCIO_OK && (e = szl_entry(buf, n, 1, &el)) &&
        el >= 14) {
        info->max_pdu = plcio_get_u16be(e + 2);
        info->max_connections = plcio_get_u16be(e + 4);
        info->mpi_rate = (int)plcio_get_u32be(e + 6);
        info->bus_rate = (int)plcio_get_u32be(e + 10);
    }
    /* SZL 0x0232 index 4: protection (sch_schal, sch_par, sch_rel, ...) */
    if (plcio_s7_client_read_szl(c, 0x0232, 4, buf, cap, &n) == PLCIO_OK && (e = szl_entry(buf, n, 4, &el)) && el >= 8)
        info->protection_level = plcio_get_u16be(e + 6);
    int state = 0;
    if (plcio_s7_client_get_cpu_state(c, &state) == PLCIO_OK) info->cpu_state = state;
    free(buf);
    s7c_clear_text(c);
    return PLCIO_OK;
}

/* ---- blocks ---- */

int plcio_s7_client_list_blocks(plcio_s7_client *c, plcio_s7_block_count *out)
{
    if (!c || !out) return PLCIO_EINVAL;
    s7_userdata req = s7_userdata_request(PLCIO_S7_UD_GROUP_BLOCK, PLCIO_S7_UD_BLOCK_LIST, 0, NULL, 0);
    uint8_t buf[256];
    size_t n = 0;
    int rc = ud_exchange(c, "list blocks", &req, buf, sizeof buf, &n);
    if (rc) return rc;
    s7_block_counts bc;
    if (s7_block_counts_decode(buf, n, &bc)) return s7c_fail(c, PLCIO_EPROTO, "list blocks: malformed answer");
    unsigned *f[PLCIO_S7_BLOCK_TYPES] = {&out->ob, &out->fb, &out->fc, &out->db, &out->sdb, &out->sfc, &out->sfb};
    for (int i = 0; i < PLCIO_S7_BLOCK_TYPES; i++)
        *f[i] = bc.count[i];
    return PLCIO_OK;
}

static int block_type(plcio_s7_client *c, const char *type, uint8_t *out)
{
    *out = s7_block_type_parse(type);
    if (!*out) return s7c_fail(c, PLCIO_EINVAL, "unknown block type '%s' (OB FB FC DB SDB SFC SFB)", type ? type : "");
    return PLCIO_OK;
}

int plcio_s7_client_list_blocks_of_type(plcio_s7_client *c, const char *type, uint16_t *numbers, size_t cap, size_t *n)
{
    if (!c || !n || (!numbers && cap)) return PLCIO_EINVAL;
    uint8_t t;
    int rc = block_type(c, type, &t);
    if (rc) return rc;
    uint8_t name[8];
    s7_block_name_encode(name, t, 0);
    s7_userdata req = s7_userdata_request(PLCIO_S7_UD_GROUP_BLOCK, PLCIO_S7_UD_BLOCK_LIST_TYPE, 0, name, 2);
    size_t bcap = (size_t)4 * 65536, len = 0;
    uint8_t *buf = malloc(bcap);
    if (!buf) return PLCIO_ENOMEM;
    char what[40];
    snprintf(what, sizeof what, "list %s blocks", s7_block_type_name(t));
    rc = ud_exchange(c, what, &req, buf, bcap, &len);
    if (rc == PLCIO_EPLC && (c->s7_error == 0xD20E || c->s7_error == 0x0A)) {
        *n = 0; /* no block of this type */
        s7c_clear_text(c);
        free(buf);
        return PLCIO_OK;
    }
    if (!rc && len % 4) rc = s7c_fail(c, PLCIO_EPROTO, "%s: malformed answer", what);
    if (!rc) {
        *n = len / 4;
        for (size_t i = 0; i < *n && i < cap; i++)
            numbers[i] = plcio_get_u16be(buf + 4 * i);
        if (*n > cap) rc = s7c_fail(c, PLCIO_ENOSPC, "%s: %zu blocks, room for %zu", what, *n, cap);
    }
    free(buf);
    return rc;
}

static void block_date(char *out, size_t cap, const uint8_t raw[6])
{
    uint32_t ms;
    uint16_t days;
    s7_block_date(raw, &ms, &days);
    /* days since 1984-01-01 -> civil date */
    long z = (long)days + 5113L + 719468L; /* 1984-01-01 is day 5113 of the Unix epoch */
    long era = z / 146097, doe = z - era * 146097, yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    long d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2) y++;
    snprintf(out, cap, "%04ld-%02ld-%02ld %02u:%02u:%02u.%03u", y, m, d, (unsigned)(ms / 3600000u),
             (unsigned)(ms / 60000u % 60u), (unsigned)(ms / 1000u % 60u), (unsigned)(ms % 1000u));
}

int plcio_s7_client_block_info(plcio_s7_client *c, const char *type, unsigned number, plcio_s7_block_details *out)
{
    if (!c || !out) return PLCIO_EINVAL;
    memset(out, 0, sizeof *out);
    uint8_t t;
    int rc = block_type(c, type, &t);
    if (rc) return rc;
    if (number > 65535) return s7c_fail(c, PLCIO_ERANGE, "block number %u out of range", number);
    uint8_t name[8];
    s7_block_name_encode(name, t, (uint16_t)number);
    s7_userdata req = s7_userdata_request(PLCIO_S7_UD_GROUP_BLOCK, PLCIO_S7_UD_BLOCK_INFO, 0, name, 8);
    uint8_t buf[512];
    size_t n = 0;
    char what[40];
    snprintf(what, sizeof what, "block info %s%u", s7_block_type_name(t), number);
    rc = ud_exchange(c, what, &req, buf, sizeof buf, &n);
    if (rc) return rc;
    s7_block_info bi;
    if (s7_block_info_decode(buf, n, &bi)) return s7c_fail(c, PLCIO_EPROTO, "%s: malformed answer", what);
    snprintf(out->type, sizeof out->type, "%s", s7_block_type_name(t));
    out->number = bi.number;
    out->language = bi.language;
    out->flags = bi.flags;
    out->load_size = bi.load_size;
    out->mc7_size = bi.mc7_size;
    out->local_data_size = bi.local_data_size;
    out->sbb_size = bi.sbb_size;
    out->checksum = bi.checksum;
    out->version = bi.version;
    memcpy(out->author, bi.author, sizeof out->author);
    memcpy(out->family, bi.family, sizeof out->family);
    memcpy(out->name, bi.name, sizeof out->name);
    block_date(out->code_date, sizeof out->code_date, bi.code_date);
    block_date(out->interface_date, sizeof out->interface_date, bi.interface_date);
    return PLCIO_OK;
}

/* ---- clock ---- */

int plcio_s7_client_get_clock(plcio_s7_client *c, plcio_s7_clock *out)
{
    if (!c || !out) return PLCIO_EINVAL;
    s7_userdata req = s7_userdata_request(PLCIO_S7_UD_GROUP_TIME, PLCIO_S7_UD_TIME_READ, 0, NULL, 0);
    uint8_t buf[64];
    size_t n = 0;
    int rc = ud_exchange(c, "read clock", &req, buf, sizeof buf, &n);
    if (rc) return rc;
    s7_datetime dt;
    if (n == PLCIO_S7_CLOCK_LEN && (buf[9] & 0x0F) == 0) {
        /* snap7's server sends the weekday 0..6 (Sunday 0): accept it as 7 */
        buf[9] = (uint8_t)(buf[9] | 0x07);
        rc = s7_clock_decode(buf, n, &dt);
        if (!rc) dt.weekday = 1;
    } else {
        rc = s7_clock_decode(buf, n, &dt);
    }
    if (rc) return s7c_fail(c, PLCIO_EPROTO, "read clock: invalid date/time in the answer");
    *out = (plcio_s7_clock){dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second, dt.millisecond, dt.weekday};
    return PLCIO_OK;
}

static unsigned weekday_of(int y, int m, int d)
{
    static const int t[] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
    if (m < 3) y--;
    return (unsigned)((y + y / 4 - y / 100 + y / 400 + t[m - 1] + d) % 7) + 1u; /* 1 = Sunday */
}

int plcio_s7_client_set_clock(plcio_s7_client *c, const plcio_s7_clock *in)
{
    if (!c || !in || in->month < 1 || in->month > 12) return PLCIO_EINVAL;
    s7_datetime dt = {(uint16_t)in->year,
                      (uint8_t)in->month,
                      (uint8_t)in->day,
                      (uint8_t)in->hour,
                      (uint8_t)in->minute,
                      (uint8_t)in->second,
                      (uint16_t)in->millisecond,
                      (uint8_t)(in->weekday ? in->weekday : (int)weekday_of(in->year, in->month, in->day))};
    uint8_t p[10];
    if (s7_clock_encode(p, &dt)) return s7c_fail(c, PLCIO_ERANGE, "set clock: invalid date/time");
    s7_userdata req = s7_userdata_request(PLCIO_S7_UD_GROUP_TIME, PLCIO_S7_UD_TIME_SET, 0, p, 10);
    uint8_t buf[64];
    return ud_exchange(c, "set clock", &req, buf, sizeof buf, NULL);
}

/* ---- password ---- */

int plcio_s7_client_set_password(plcio_s7_client *c, const char *password)
{
    if (!c) return PLCIO_EINVAL;
    uint8_t p[8];
    if (s7_password_encode(p, password)) return s7c_fail(c, PLCIO_EINVAL, "password longer than 8 characters");
    s7_userdata req = s7_userdata_request(PLCIO_S7_UD_GROUP_SECURITY, PLCIO_S7_UD_SECURITY_SET_PASSWORD, 0, p, 8);
    uint8_t buf[64];
    return ud_exchange(c, "set password", &req, buf, sizeof buf, NULL);
}

int plcio_s7_client_clear_password(plcio_s7_client *c)
{
    if (!c) return PLCIO_EINVAL;
    s7_userdata req = s7_userdata_request(PLCIO_S7_UD_GROUP_SECURITY, PLCIO_S7_UD_SECURITY_CLEAR_PASSWORD, 0, NULL, 0);
    uint8_t buf[64];
    return ud_exchange(c, "clear password", &req, buf, sizeof buf, NULL);
}

/* ---- PLC control ---- */

typedef struct ctl_call {
    const char *what;
    s7_control ctl;
} ctl_call;

static int enc_ctl(plcio_s7_client *c, void *ctx, size_t index, s7_out *out, uint16_t ref)
{
    (void)c;
    (void)index;
    return s7_control_encode(out, ref, &((ctl_call *)ctx)->ctl);
}

static int dec_ctl(plcio_s7_client *c, void *ctx, size_t index, const s7_pdu *pdu)
{
    (void)index;
    ctl_call *k = ctx;
    int rc = s7_control_response_decode(pdu, k->ctl.function);
    if (rc == PLCIO_EPLC) return s7c_error_from_pdu(c, pdu, k->what);
    return rc;
}

static int control(plcio_s7_client *c, const char *what, uint8_t fn, const char *service, const char *param)
{
    if (!c) return PLCIO_EINVAL;
    ctl_call k = {
        what, {fn, (const uint8_t *)param, (uint16_t)(param ? strlen(param) : 0), service, (uint8_t)strlen(service)}};
    return s7c_run(c, 1, enc_ctl, dec_ctl, &k);
}

int plcio_s7_client_plc_stop(plcio_s7_client *c)
{
    return control(c, "PLC stop", PLCIO_S7_FN_PLC_STOP, "P_PROGRAM", NULL);
}
int plcio_s7_client_plc_hot_start(plcio_s7_client *c)
{
    return control(c, "PLC hot start", PLCIO_S7_FN_PI_SERVICE, "P_PROGRAM", NULL);
}
int plcio_s7_client_plc_cold_start(plcio_s7_client *c)
{
    return control(c, "PLC cold start", PLCIO_S7_FN_PI_SERVICE, "P_PROGRAM", "C ");
}
int plcio_s7_client_compress(plcio_s7_client *c)
{
    return control(c, "compress", PLCIO_S7_FN_PI_SERVICE, "_GARB", NULL);
}
int plcio_s7_client_copy_ram_to_rom(plcio_s7_client *c)
{
    return control(c, "copy RAM to ROM", PLCIO_S7_FN_PI_SERVICE, "_MODU", "EP");
}

/* ---- upload and delete ---- */

typedef struct xfer_call {
    const char *what;
    s7_xfer job;
    s7_xfer ack;
    uint8_t *buf;
    size_t cap, len;
    bool overflow;
} xfer_call;

static int enc_xfer(plcio_s7_client *c, void *ctx, size_t index, s7_out *out, uint16_t ref)
{
    (void)c;
    (void)index;
    return s7_xfer_job_encode(out, ref, &((xfer_call *)ctx)->job);
}

static int dec_xfer(plcio_s7_client *c, void *ctx, size_t index, const s7_pdu *pdu)
{
    (void)index;
    xfer_call *x = ctx;
    int rc = s7_xfer_ack_decode(pdu, x->job.function, &x->ack);
    if (rc == PLCIO_EPLC) return s7c_error_from_pdu(c, pdu, x->what);
    if (rc) return rc;
    if (x->ack.payload_len) {
        if (x->ack.payload_len > x->cap - x->len) {
            x->overflow = true;
        } else {
            memcpy(x->buf + x->len, x->ack.payload, x->ack.payload_len);
            x->len += x->ack.payload_len;
        }
    }
    return PLCIO_OK;
}

int plcio_s7_client_upload(plcio_s7_client *c, const char *type, unsigned number, void *buf, size_t cap, size_t *len)
{
    if (!c || (!buf && cap)) return PLCIO_EINVAL;
    uint8_t t;
    int rc = block_type(c, type, &t);
    if (rc) return rc;
    if (number > 65535) return s7c_fail(c, PLCIO_ERANGE, "block number %u out of range", number);
    char what[40];
    snprintf(what, sizeof what, "upload %s%u", s7_block_type_name(t), number);
    xfer_call x;
    memset(&x, 0, sizeof x);
    x.what = what;
    x.buf = buf;
    x.cap = cap;
    x.job.function = PLCIO_S7_FN_START_UPLOAD;
    s7_filename(x.job.filename, t, (uint16_t)number, 'A');
    rc = s7c_run(c, 1, enc_xfer, dec_xfer, &x);
    if (rc) return rc;
    uint32_t id = x.ack.upload_id;
    for (int guard = 0; guard < 100000; guard++) {
        memset(&x.job, 0, sizeof x.job);
        x.job.function = PLCIO_S7_FN_UPLOAD;
        x.job.upload_id = id;
        rc = s7c_run(c, 1, enc_xfer, dec_xfer, &x);
        if (rc || x.ack.status == 0) break;
    }
    /* end the upload in every case, so the PLC frees it */
    memset(&x.job, 0, sizeof x.job);
    x.job.function = PLCIO_S7_FN_END_UPLOAD;
    x.job.upload_id = id;
    int erc = rc == PLCIO_OK || rc == PLCIO_EPLC ? s7c_run(c, 1, enc_xfer, dec_xfer, &x) : rc;
    if (!rc) rc = erc;
    if (!rc && x.overflow) rc = s7c_fail(c, PLCIO_ENOSPC, "%s: the block is larger than %zu bytes", what, cap);
    if (len) *len = x.len;
    return rc;
}

int plcio_s7_client_delete_block(plcio_s7_client *c, const char *type, unsigned number)
{
    if (!c) return PLCIO_EINVAL;
    uint8_t t;
    int rc = block_type(c, type, &t);
    if (rc) return rc;
    if (number > 65535) return s7c_fail(c, PLCIO_ERANGE, "block number %u out of range", number);
    uint8_t param[11];
    s7_pi_block_param(param, t, (uint16_t)number);
    param[10] = '\0';
    char what[40];
    snprintf(what, sizeof what, "delete %s%u", s7_block_type_name(t), number);
    ctl_call k = {what, {PLCIO_S7_FN_PI_SERVICE, param, 10, "_DELE", 5}};
    return s7c_run(c, 1, enc_ctl, dec_ctl, &k);
}

static int answer_download_job(plcio_s7_client *c, const char *what, const uint8_t *p, size_t n, const uint8_t *block,
                               size_t len, size_t *off, bool *ended)
{
    s7_pdu pdu;
    s7_xfer job, ack;
    if (s7_pdu_decode(p, n, &pdu) || s7_xfer_job_decode(&pdu, &job))
        return s7c_fail(c, PLCIO_EPROTO, "%s: the PLC sent an unexpected job", what);
    memset(&ack, 0, sizeof ack);
    ack.function = job.function;
    if (job.function == PLCIO_S7_FN_DOWNLOAD_BLOCK) {
        /* ack-data header 12 + parameters 2 + data header 4 */
        size_t room = plcio_s7_client_pdu_size(c) - PLCIO_S7_ACK_HEADER_LEN - 2 - 4;
        size_t chunk = len - *off < room ? len - *off : room;
        ack.payload = block + *off;
        ack.payload_len = (uint16_t)chunk;
        ack.status = *off + chunk < len;
        *off += chunk;
    } else if (job.function == PLCIO_S7_FN_DOWNLOAD_ENDED) {
        *ended = true;
    } else {
        return s7c_fail(c, PLCIO_EPROTO, "%s: the PLC sent job 0x%02X during the download", what, job.function);
    }
    uint8_t frame[PLCIO_S7_PDU_MAX * 9 + 64];
    s7_out o = s7_out_make(frame, sizeof frame, 0);
    int rc = s7_xfer_ack_encode(&o, pdu.pdu_ref, &ack, 0);
    if (!rc) rc = s7_session_send_frame(c->session, frame, o.len);
    return rc ? s7c_fail(c, rc, "%s: cannot answer the PLC: %s", what, plcio_strerror(rc)) : PLCIO_OK;
}

int plcio_s7_client_download(plcio_s7_client *c, const char *type, unsigned number, const void *block, size_t len,
                             size_t mc7_len)
{
    if (!c || !block || len == 0) return PLCIO_EINVAL;
    uint8_t t;
    int rc = block_type(c, type, &t);
    if (rc) return rc;
    if (number > 65535) return s7c_fail(c, PLCIO_ERANGE, "block number %u out of range", number);
    if (len > 999999 || mc7_len > 999999) return s7c_fail(c, PLCIO_ERANGE, "block too large for a download");
    char what[40];
    snprintf(what, sizeof what, "download %s%u", s7_block_type_name(t), number);
    rc = s7c_ready(c);
    if (rc) return rc;
    xfer_call x;
    memset(&x, 0, sizeof x);
    x.what = what;
    x.job.function = PLCIO_S7_FN_REQUEST_DOWNLOAD;
    s7_filename(x.job.filename, t, (uint16_t)number, 'P');
    x.job.has_lengths = true;
    x.job.load_len = (uint32_t)len;
    x.job.mc7_len = (uint32_t)mc7_len;
    s7_session_accept_jobs(c->session, true);
    rc = s7c_run(c, 1, enc_xfer, dec_xfer, &x);
    size_t off = 0;
    bool ended = false;
    uint64_t step = (uint64_t)(c->opt.timeout_ms > 0 ? c->opt.timeout_ms : 3000) * PLCIO_NS_PER_MS;
    c->wait_until = plcio_monotonic_ns() + step;
    while (!rc && !ended) {
        size_t n;
        const uint8_t *p = s7_session_incoming(c->session, &n);
        if (!p) {
            rc = s7c_pump(c);
            if (rc)
                s7c_fail(c, rc, "%s: %s", what,
                         rc == PLCIO_ETIMEDOUT ? "the PLC did not ask for the block in time" : plcio_strerror(rc));
            continue;
        }
        rc = answer_download_job(c, what, p, n, block, len, &off, &ended);
        s7_session_incoming_release(c->session);
        c->wait_until = plcio_monotonic_ns() + step;
    }
    c->wait_until = 0;
    s7_session_accept_jobs(c->session, false);
    if (rc) return rc;
    if (off != len) return s7c_fail(c, PLCIO_EPROTO, "%s: the PLC ended after %zu of %zu bytes", what, off, len);
    uint8_t param[10];
    s7_pi_block_param_fs(param, t, (uint16_t)number, 'P');
    snprintf(what, sizeof what, "insert %s%u", s7_block_type_name(t), number);
    ctl_call k = {what, {PLCIO_S7_FN_PI_SERVICE, param, 10, "_INSE", 5}};
    return s7c_run(c, 1, enc_ctl, dec_ctl, &k);
}
