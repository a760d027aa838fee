/* S7 server: userdata PDUs (rosctr 7), one handler per group/subfunction:
 * block directory (list, list of type, block info), SZL, security
 * (session password) and clock. Answers longer than one PDU go out in
 * fragments; the client fetches the rest with continuation requests that
 * repeat the sequence number of the last answer. */
#include <string.h>

#include "s7/s7_server_priv.h"

/* Parameter error codes (Wireshark s7comm param_errcode_names). */
#define UD_ERR_NOT_IMPLEMENTED 0x8104
#define UD_ERR_SEQUENCE        0x8401
#define UD_ERR_BLOCK_NOT_FOUND 0xD209 /* (at least) one of the given blocks not found */
#define UD_ERR_NO_MORE_BLOCKS  0xD20E /* no (further) block available */
#define UD_ERR_PROTECTION      0xD241 /* not permitted in the current protection level */
#define UD_ERR_SZL_UNAVAILABLE 0xD401 /* information function unavailable */
#define UD_ERR_SZL_SYNTAX      0xD405 /* syntax error in function parameters */
#define UD_ERR_BAD_PASSWORD    0xD602 /* incorrect password entered */
#define UD_ERR_NO_PASSWORD     0xD605 /* legitimization not possible: no password */
#define UD_ERR_BAD_TIME        0xDC01 /* date and/or time invalid */

/* Bytes in front of the payload of a userdata answer: S7 header 10,
 * parameters 12, data head 4. */
#define UD_RSP_OVERHEAD (PLCIO_S7_HEADER_LEN + 12 + 4)

typedef struct ud_ctx {
    plcio_s7_server *srv;
    s7srv_session *ses;
    const s7_pdu *pdu;
    const s7_userdata *req;
    s7_out *out;
} ud_ctx;

typedef int (*ud_fn)(ud_ctx *c);

static int answer(ud_ctx *c, uint8_t sequence, bool more, uint16_t error, const uint8_t *payload, size_t len)
{
    s7_userdata ud =
        s7_userdata_response(c->req->group, c->req->subfunction, sequence, 0, more, error, payload, (uint16_t)len);
    int rc = s7_userdata_encode(c->out, c->pdu->pdu_ref, &ud);
    return rc ? rc : (int)c->out->len;
}

static int fail(ud_ctx *c, uint16_t error) { return answer(c, c->req->sequence, false, error, NULL, 0); }

static size_t payload_room(const ud_ctx *c) { return c->ses->pdu_size - UD_RSP_OVERHEAD; }

static uint8_t next_sequence(s7srv_session *ses)
{
    if (++ses->ud_seq == 0) ses->ud_seq = 1;
    return ses->ud_seq;
}

/* A continuation request: extended parameters, no payload. */
static bool is_continuation(const s7_userdata *req) { return req->extended && req->payload_len == 0; }

/* Send the next fragment of the buffered answer in ses->frag. */
static int send_fragment(ud_ctx *c)
{
    s7srv_session *ses = c->ses;
    size_t left = ses->frag_len - ses->frag_off;
    size_t n = left < payload_room(c) ? left : payload_room(c);
    const uint8_t *p = ses->frag + ses->frag_off;
    ses->frag_off += n;
    bool more = ses->frag_off < ses->frag_len;
    if (!more) ses->frag_group = 0;
    return answer(c, ses->frag_seq, more, 0, p, n);
}

static int start_fragments(ud_ctx *c, size_t len)
{
    s7srv_session *ses = c->ses;
    ses->frag_group = c->req->group;
    ses->frag_subfun = c->req->subfunction;
    ses->frag_len = len;
    ses->frag_off = 0;
    ses->frag_seq = len > payload_room(c) ? next_sequence(ses) : c->req->sequence;
    return send_fragment(c);
}

static int continue_fragments(ud_ctx *c)
{
    s7srv_session *ses = c->ses;
    if (ses->frag_group != c->req->group || ses->frag_subfun != c->req->subfunction ||
        ses->frag_seq != c->req->sequence)
        return fail(c, UD_ERR_SEQUENCE);
    return send_fragment(c);
}

/* ---------------------------------------------------------------------------
 * SZL
 * ------------------------------------------------------------------------- */
static int ud_read_szl(ud_ctx *c)
{
    if (is_continuation(c->req)) return continue_fragments(c);
    uint16_t id = 0, index = 0;
    if (s7_szl_request_decode(c->req->payload, c->req->payload_len, &id, &index)) return fail(c, UD_ERR_SZL_SYNTAX);
    plcio_wcursor w = plcio_wcursor_make(c->ses->frag, sizeof c->ses->frag);
    int rc = s7srv_szl_build(c->srv, c->ses, id, index, &w);
    if (rc) return fail(c, UD_ERR_SZL_UNAVAILABLE);
    return start_fragments(c, plcio_wcursor_used(&w));
}

/* ---------------------------------------------------------------------------
 * Block directory: only DBs exist in the simulated CPU.
 * ------------------------------------------------------------------------- */
static int ud_block_list(ud_ctx *c)
{
    s7_block_counts counts;
    memset(&counts, 0, sizeof counts);
    size_t dbs = s7srv_db_count(c->srv);
    counts.count[s7_block_type_index(PLCIO_S7_BLOCK_DB)] = (uint16_t)(dbs > 0xFFFF ? 0xFFFF : dbs);
    uint8_t buf[32];
    plcio_wcursor w = plcio_wcursor_make(buf, sizeof buf);
    if (s7_block_counts_encode(&w, &counts)) return PLCIO_EINTERNAL;
    return answer(c, c->req->sequence, false, 0, buf, plcio_wcursor_used(&w));
}

/* The list of DBs can be far longer than a fragment buffer: it is produced
 * slice by slice from the registry, remembering the next DB number. */
static int send_db_slice(ud_ctx *c)
{
    s7srv_session *ses = c->ses;
    uint16_t numbers[S7SRV_PDU_MAX / 4];
    size_t room = payload_room(c) / 4;
    /* Ask for one more than fits to know whether more follow. */
    size_t n = s7srv_db_numbers(c->srv, ses->list_next, numbers, room + 1);
    bool more = n > room;
    if (more) n = room;
    if (n == 0) {
        ses->frag_group = 0;
        return fail(c, UD_ERR_NO_MORE_BLOCKS);
    }
    s7_block_entry entries[S7SRV_PDU_MAX / 4];
    for (size_t i = 0; i < n; i++) {
        entries[i].number = numbers[i];
        entries[i].flags = 0x22;
        entries[i].language = 0x05; /* DB */
    }
    uint8_t buf[S7SRV_PDU_MAX];
    plcio_wcursor w = plcio_wcursor_make(buf, sizeof buf);
    if (s7_block_list_encode(&w, entries, n)) return PLCIO_EINTERNAL;
    ses->list_next = (uint32_t)numbers[n - 1] + 1;
    if (!more) ses->frag_group = 0;
    return answer(c, ses->frag_seq, more, 0, buf, plcio_wcursor_used(&w));
}

static int ud_block_list_type(ud_ctx *c)
{
    s7srv_session *ses = c->ses;
    if (is_continuation(c->req)) {
        if (ses->frag_group != c->req->group || ses->frag_subfun != c->req->subfunction ||
            ses->frag_seq != c->req->sequence)
            return fail(c, UD_ERR_SEQUENCE);
        return send_db_slice(c);
    }
    uint8_t type = 0;
    uint16_t number = 0;
    /* "0" type is the request; python-snap7 sends two more bytes (0A 00)
     * and snap7's server reads the type only: so does this one. */
    size_t n = c->req->payload_len == 4 ? 2 : c->req->payload_len;
    if (s7_block_name_decode(c->req->payload, n, &type, &number)) return fail(c, UD_ERR_NO_MORE_BLOCKS);
    if (type != PLCIO_S7_BLOCK_DB) return fail(c, UD_ERR_NO_MORE_BLOCKS);
    ses->frag_group = c->req->group;
    ses->frag_subfun = c->req->subfunction;
    ses->frag_seq = next_sequence(ses);
    ses->list_next = 0;
    return send_db_slice(c);
}

/* Block name of a block info request: "0" type digits5 "A"; python-snap7
 * puts the "A" before the digits ("0" type "A" digits5), which is taken too
 * (the two cannot be confused: "A" is no digit). */
static int block_info_name(const uint8_t *p, size_t len, uint8_t *type, uint16_t *number)
{
    if (len == 8 && p[2] == 'A') {
        uint8_t name[8] = {p[0], p[1], p[3], p[4], p[5], p[6], p[7], 'A'};
        return s7_block_name_decode(name, 8, type, number);
    }
    return s7_block_name_decode(p, len, type, number);
}

static int ud_block_info(ud_ctx *c)
{
    uint8_t type = 0;
    uint16_t number = 0;
    if (block_info_name(c->req->payload, c->req->payload_len, &type, &number)) return fail(c, UD_ERR_BLOCK_NOT_FOUND);
    s7_block_info bi;
    if (type != PLCIO_S7_BLOCK_DB || s7srv_block_info(c->srv, number, &bi)) return fail(c, UD_ERR_BLOCK_NOT_FOUND);
    uint8_t buf[PLCIO_S7_BLOCK_INFO_LEN];
    if (s7_block_info_encode(buf, &bi)) return PLCIO_EINTERNAL;
    return answer(c, c->req->sequence, false, 0, buf, sizeof buf);
}

/* ---------------------------------------------------------------------------
 * Security: the session password lifts the protection level.
 * ------------------------------------------------------------------------- */
static int ud_set_password(ud_ctx *c)
{
    if (c->req->payload_len != 8) return fail(c, UD_ERR_SZL_SYNTAX);
    if (!c->srv->cfg.password) return fail(c, UD_ERR_NO_PASSWORD);
    char given[9];
    s7_password_decode(c->req->payload, given);
    char want[9];
    memset(want, ' ', 8);
    memcpy(want, c->srv->cfg.password, strlen(c->srv->cfg.password));
    want[8] = '\0';
    /* STEP 7 and snap7 encode space-padded, each byte XOR 0x55 and XOR the
     * byte two before; python-snap7 NUL-pads, XORs 0x55 and rotates left by
     * 3. Both are taken: the same 8 characters in either encoding. */
    uint8_t loose[8];
    for (int i = 0; i < 8; i++) {
        uint8_t b = c->req->payload[i];
        uint8_t x = (uint8_t)(((b >> 3) | (b << 5)) ^ 0x55);
        loose[i] = x ? x : (uint8_t)' ';
    }
    bool ok = memcmp(given, want, 8) == 0 || memcmp(loose, want, 8) == 0;
    c->ses->authorized = ok;
    s7srv_event(c->srv, PLCIO_S7_SERVER_EV_PASSWORD, c->ses->client, ok ? 1 : 0);
    return ok ? answer(c, c->req->sequence, false, 0, NULL, 0) : fail(c, UD_ERR_BAD_PASSWORD);
}

static int ud_clear_password(ud_ctx *c)
{
    c->ses->authorized = false;
    s7srv_event(c->srv, PLCIO_S7_SERVER_EV_PASSWORD, c->ses->client, 2);
    return answer(c, c->req->sequence, false, 0, NULL, 0);
}

/* ---------------------------------------------------------------------------
 * Clock
 * ------------------------------------------------------------------------- */
static int ud_read_clock(ud_ctx *c)
{
    s7_datetime dt;
    s7srv_datetime_from_ns(s7srv_plc_now_ns(c->srv), &dt);
    uint8_t buf[PLCIO_S7_CLOCK_LEN];
    if (s7_clock_encode(buf, &dt)) return PLCIO_EINTERNAL;
    return answer(c, c->req->sequence, false, 0, buf, sizeof buf);
}

static int ud_set_clock(ud_ctx *c)
{
    if (s7srv_control_protection(c->srv, c->ses) >= 2) return fail(c, UD_ERR_PROTECTION);
    s7_datetime dt;
    const uint8_t *p = c->req->payload;
    size_t len = c->req->payload_len;
    /* python-snap7 sends 8 bytes: reserved, then year .. second in BCD and the
     * weekday, without the century byte and milliseconds; read as the
     * 10-byte form with those zero. */
    uint8_t full[PLCIO_S7_CLOCK_LEN];
    if (len == 8) {
        full[0] = 0;
        full[1] = 0x19;
        memcpy(full + 2, p + 1, 6);
        full[8] = 0;
        full[9] = (uint8_t)(p[7] & 0x0F);
        p = full;
        len = sizeof full;
    }
    if (s7_clock_decode(p, len, &dt)) return fail(c, UD_ERR_BAD_TIME);
    plcio_s7_server_set_clock_ns(c->srv, s7srv_datetime_to_ns(&dt));
    s7srv_event(c->srv, PLCIO_S7_SERVER_EV_CLOCK_SET, c->ses->client, 0);
    return answer(c, c->req->sequence, false, 0, NULL, 0);
}

/* ---------------------------------------------------------------------------
 * Dispatch
 * ------------------------------------------------------------------------- */
typedef struct ud_entry {
    uint8_t group, subfunction;
    ud_fn fn;
} ud_entry;

static const ud_entry ud_table[] = {
    {PLCIO_S7_UD_GROUP_BLOCK, PLCIO_S7_UD_BLOCK_LIST, ud_block_list},
    {PLCIO_S7_UD_GROUP_BLOCK, PLCIO_S7_UD_BLOCK_LIST_TYPE, ud_block_list_type},
    {PLCIO_S7_UD_GROUP_BLOCK, PLCIO_S7_UD_BLOCK_INFO, ud_block_info},
    {PLCIO_S7_UD_GROUP_CPU, PLCIO_S7_UD_CPU_READ_SZL, ud_read_szl},
    {PLCIO_S7_UD_GROUP_SECURITY, PLCIO_S7_UD_SECURITY_SET_PASSWORD, ud_set_password},
    {PLCIO_S7_UD_GROUP_SECURITY, PLCIO_S7_UD_SECURITY_CLEAR_PASSWORD, ud_clear_password},
    {PLCIO_S7_UD_GROUP_TIME, PLCIO_S7_UD_TIME_READ, ud_read_clock},
    {PLCIO_S7_UD_GROUP_TIME, PLCIO_S7_UD_TIME_SET, ud_set_clock},
};

int s7srv_handle_userdata(plcio_s7_server *srv, s7srv_session *ses, const s7_pdu *pdu, s7_out *out)
{
    s7_userdata req;
    if (s7_userdata_decode(pdu, &req)) return PLCIO_EPROTO;
    ud_ctx c = {srv, ses, pdu, &req, out};
    if (req.type != PLCIO_S7_UD_TYPE_REQUEST) return fail(&c, UD_ERR_NOT_IMPLEMENTED);
    for (size_t i = 0; i < sizeof ud_table / sizeof *ud_table; i++)
        if (ud_table[i].group == req.group && ud_table[i].subfunction == req.subfunction) return ud_table[i].fn(&c);
    return fail(&c, UD_ERR_NOT_IMPLEMENTED);
}
