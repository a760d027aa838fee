/* S7 codec, part 2: userdata PDUs (SZL, block functions, clock, security),
 * their reassembly, and the payload codecs that ride in them. */
#include <ctype.h>
#include <string.h>

#include "plcio/value.h"
#include "s7/s7_codec.h"
#include "tag/tag_internal.h"

#define UD_HEAD_0 0x00
#define UD_HEAD_1 0x01
#define UD_HEAD_2 0x12

s7_userdata s7_userdata_request(uint8_t group, uint8_t subfunction, uint8_t sequence, const uint8_t *payload,
                                uint16_t len)
{
    s7_userdata ud;
    memset(&ud, 0, sizeof ud);
    ud.method = PLCIO_S7_UD_METHOD_REQUEST;
    ud.type = PLCIO_S7_UD_TYPE_REQUEST;
    ud.group = group;
    ud.subfunction = subfunction;
    ud.sequence = sequence;
    ud.payload = payload;
    ud.payload_len = payload ? len : 0;
    ud.return_code = payload ? PLCIO_S7_RC_SUCCESS : PLCIO_S7_RC_OBJECT_NOT_FOUND;
    ud.transport = payload ? PLCIO_S7_DTS_OCTET : PLCIO_S7_DTS_NULL;
    return ud;
}

s7_userdata s7_userdata_continue(uint8_t group, uint8_t subfunction, uint8_t sequence)
{
    s7_userdata ud = s7_userdata_request(group, subfunction, sequence, NULL, 0);
    ud.method = PLCIO_S7_UD_METHOD_RESPONSE;
    ud.extended = true;
    return ud;
}

s7_userdata s7_userdata_response(uint8_t group, uint8_t subfunction, uint8_t sequence, uint8_t data_unit_ref, bool more,
                                 uint16_t error, const uint8_t *payload, uint16_t len)
{
    s7_userdata ud;
    memset(&ud, 0, sizeof ud);
    ud.method = PLCIO_S7_UD_METHOD_RESPONSE;
    ud.type = PLCIO_S7_UD_TYPE_RESPONSE;
    ud.group = group;
    ud.subfunction = subfunction;
    ud.sequence = sequence;
    ud.extended = true;
    ud.data_unit_ref = data_unit_ref;
    ud.more = more;
    ud.error = error;
    ud.payload = payload;
    ud.payload_len = payload ? len : 0;
    ud.return_code = error ? PLCIO_S7_RC_OBJECT_NOT_FOUND : PLCIO_S7_RC_SUCCESS;
    ud.transport = error ? PLCIO_S7_DTS_NULL : PLCIO_S7_DTS_OCTET;
    return ud;
}

int s7_userdata_encode(s7_out *out, uint16_t pdu_ref, const s7_userdata *ud)
{
    if (!ud || ud->group > 15 || ud->type > 15 || (ud->payload_len && !ud->payload)) return PLCIO_EINVAL;
    s7_writer wr;
    s7_writer_begin(&wr, out, PLCIO_S7_USERDATA, pdu_ref, 0);
    plcio_wcursor *w = &wr.w;
    plcio_wcursor_u8(w, UD_HEAD_0);
    plcio_wcursor_u8(w, UD_HEAD_1);
    plcio_wcursor_u8(w, UD_HEAD_2);
    plcio_wcursor_u8(w, ud->extended ? 8 : 4);
    plcio_wcursor_u8(w, ud->method);
    plcio_wcursor_u8(w, (uint8_t)(ud->type << 4 | ud->group));
    plcio_wcursor_u8(w, ud->subfunction);
    plcio_wcursor_u8(w, ud->sequence);
    if (ud->extended) {
        plcio_wcursor_u8(w, ud->data_unit_ref);
        plcio_wcursor_u8(w, ud->more ? 1 : 0);
        plcio_wcursor_u16be(w, ud->error);
    }
    s7_writer_data(&wr);
    plcio_wcursor_u8(w, ud->return_code);
    plcio_wcursor_u8(w, ud->transport);
    plcio_wcursor_u16be(w, ud->payload_len);
    if (ud->payload_len) plcio_wcursor_write(w, ud->payload, ud->payload_len);
    return s7_writer_end(&wr);
}

int s7_userdata_decode(const s7_pdu *pdu, s7_userdata *out)
{
    memset(out, 0, sizeof *out);
    if (pdu->rosctr != PLCIO_S7_USERDATA || pdu->param_len < 8) return PLCIO_EPROTO;
    const uint8_t *p = pdu->param;
    if (p[0] != UD_HEAD_0 || p[1] != UD_HEAD_1 || p[2] != UD_HEAD_2) return PLCIO_EPROTO;
    if ((size_t)p[3] + 4 != pdu->param_len || (p[3] != 4 && p[3] != 8)) return PLCIO_EPROTO;
    out->method = p[4];
    out->type = p[5] >> 4;
    out->group = p[5] & 0x0F;
    out->subfunction = p[6];
    out->sequence = p[7];
    if (p[3] == 8) {
        out->extended = true;
        out->data_unit_ref = p[8];
        if (p[9] > 1) return PLCIO_EPROTO; /* last data unit: 0 yes, 1 no */
        out->more = p[9] == 1;
        out->error = plcio_get_u16be(p + 10);
    }
    if (pdu->data_len < 4) return PLCIO_EPROTO;
    out->return_code = pdu->data[0];
    out->transport = pdu->data[1];
    out->payload_len = plcio_get_u16be(pdu->data + 2);
    if ((size_t)out->payload_len + 4 != pdu->data_len) return PLCIO_EPROTO;
    out->payload = out->payload_len ? pdu->data + 4 : NULL;
    return PLCIO_OK;
}

int s7_userdata_check(const s7_userdata *ud, uint8_t group, uint8_t subfunction, uint16_t *error)
{
    if (ud->type != PLCIO_S7_UD_TYPE_RESPONSE || ud->group != group || ud->subfunction != subfunction)
        return PLCIO_EPROTO;
    uint16_t e = ud->error ? ud->error : (ud->return_code != PLCIO_S7_RC_SUCCESS ? ud->return_code : 0);
    if (error) *error = e;
    return e ? PLCIO_EPLC : PLCIO_OK;
}

void s7_ud_assembly_init(s7_ud_assembly *a, uint8_t group, uint8_t subfunction, uint8_t *buf, size_t cap,
                         size_t max_fragments)
{
    memset(a, 0, sizeof *a);
    a->group = group;
    a->subfunction = subfunction;
    a->buf = buf;
    a->cap = cap;
    a->max_fragments = max_fragments;
}

int s7_ud_assembly_add(s7_ud_assembly *a, const s7_userdata *ud)
{
    if (a->done) return PLCIO_EPROTO; /* fragment after the last one */
    int rc = s7_userdata_check(ud, a->group, a->subfunction, &a->error);
    if (rc) return rc;
    if (a->fragments >= a->max_fragments) return PLCIO_ELIMIT;
    if (ud->payload_len > a->cap - a->len) return PLCIO_ELIMIT;
    if (ud->payload_len) memcpy(a->buf + a->len, ud->payload, ud->payload_len);
    a->len += ud->payload_len;
    a->fragments++;
    a->sequence = ud->sequence;
    if (ud->more) {
        /* one more fragment must still fit within the fragment limit */
        return a->fragments >= a->max_fragments ? PLCIO_ELIMIT : PLCIO_EAGAIN;
    }
    a->done = true;
    return PLCIO_OK;
}

/* ---------------------------------------------------------------- SZL */

int s7_szl_request_encode(uint8_t out[4], uint16_t id, uint16_t index)
{
    plcio_put_u16be(out, id);
    plcio_put_u16be(out + 2, index);
    return PLCIO_OK;
}

int s7_szl_request_decode(const uint8_t *payload, size_t len, uint16_t *id, uint16_t *index)
{
    if (len != 4 || !payload) return PLCIO_EPROTO;
    *id = plcio_get_u16be(payload);
    *index = plcio_get_u16be(payload + 2);
    return PLCIO_OK;
}

int s7_szl_header_decode(const uint8_t *payload, size_t len, s7_szl_header *out)
{
    if (len < PLCIO_S7_SZL_HEADER_LEN || !payload) return PLCIO_EPROTO;
    out->id = plcio_get_u16be(payload);
    out->index = plcio_get_u16be(payload + 2);
    out->entry_len = plcio_get_u16be(payload + 4);
    out->entry_count = plcio_get_u16be(payload + 6);
    return PLCIO_OK;
}

void s7_szl_header_encode(uint8_t out[8], const s7_szl_header *h)
{
    plcio_put_u16be(out, h->id);
    plcio_put_u16be(out + 2, h->index);
    plcio_put_u16be(out + 4, h->entry_len);
    plcio_put_u16be(out + 6, h->entry_count);
}

/* ---------------------------------------------------------------- clock */

/* The 8 BCD bytes are a DATE_AND_TIME: the value codec (src/tag/value.c)
 * decodes and checks them (years 90..99 -> 19xx, 00..89 -> 20xx, real
 * dates, weekday 1..7); here only the field structs are converted. */
int s7_dt_bcd_decode(const uint8_t p[8], s7_datetime *out)
{
    plcio_value v;
    if (value_decode_buf(&v, PLCIO_TYPE_DATE_AND_TIME, 0, p, 8, 0, NULL, NULL, 0) != PLCIO_OK) return PLCIO_EPROTO;
    const plcio_datetime *d = &v.v.dt;
    *out = (s7_datetime){
        (uint16_t)d->year, d->month, d->day, d->hour, d->minute, d->second, (uint16_t)(d->nanosecond / 1000000u),
        d->weekday};
    return PLCIO_OK;
}

int s7_dt_bcd_encode(uint8_t out[8], const s7_datetime *dt)
{
    if (dt->millisecond > 999) return PLCIO_ERANGE;
    plcio_value v;
    plcio_value_init(&v, PLCIO_TYPE_DATE_AND_TIME);
    v.v.dt = (plcio_datetime){dt->year,   dt->month,  dt->day,     dt->hour,
                              dt->minute, dt->second, dt->weekday, (uint32_t)dt->millisecond * 1000000u};
    return value_encode_buf(&v, out, 8, 0, NULL, NULL, 0) == PLCIO_OK ? PLCIO_OK : PLCIO_ERANGE;
}

int s7_clock_decode(const uint8_t *p, size_t len, s7_datetime *out)
{
    if (!p || len != PLCIO_S7_CLOCK_LEN) return PLCIO_EPROTO;
    /* byte 0 reserved, byte 1 the century digits "19" CPUs send; the year
     * itself is two digits, 90..99 -> 19xx, 00..89 -> 20xx */
    if ((p[1] >> 4) > 9 || (p[1] & 15) > 9) return PLCIO_EPROTO;
    return s7_dt_bcd_decode(p + 2, out);
}

int s7_clock_encode(uint8_t out[10], const s7_datetime *dt)
{
    out[0] = 0x00;
    out[1] = 0x19;
    return s7_dt_bcd_encode(out + 2, dt);
}

/* ---------------------------------------------------------------- password */

int s7_password_encode(uint8_t out[8], const char *password)
{
    size_t n = password ? strlen(password) : 0;
    if (n > 8) return PLCIO_EINVAL;
    uint8_t clear[8];
    memset(clear, ' ', sizeof clear);
    if (n) memcpy(clear, password, n); // NOLINT(bugprone-not-null-terminated-result): 8 bytes, space-padded
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(clear[i] ^ 0x55 ^ (i >= 2 ? out[i - 2] : 0));
    return PLCIO_OK;
}

void s7_password_decode(const uint8_t in[8], char out[9])
{
    for (int i = 0; i < 8; i++)
        out[i] = (char)(in[i] ^ 0x55 ^ (i >= 2 ? in[i - 2] : 0));
    out[8] = '\0';
}

/* ---------------------------------------------------------------- blocks */

static const struct {
    uint8_t type;
    const char *name;
} block_types[PLCIO_S7_BLOCK_TYPES] = {
    {PLCIO_S7_BLOCK_OB, "OB"},   {PLCIO_S7_BLOCK_FB, "FB"},   {PLCIO_S7_BLOCK_FC, "FC"},   {PLCIO_S7_BLOCK_DB, "DB"},
    {PLCIO_S7_BLOCK_SDB, "SDB"}, {PLCIO_S7_BLOCK_SFC, "SFC"}, {PLCIO_S7_BLOCK_SFB, "SFB"},
};

int s7_block_type_index(uint8_t type)
{
    for (int i = 0; i < PLCIO_S7_BLOCK_TYPES; i++)
        if (block_types[i].type == type) return i;
    return -1;
}

const char *s7_block_type_name(uint8_t type)
{
    int i = s7_block_type_index(type);
    return i < 0 ? NULL : block_types[i].name;
}

uint8_t s7_block_type_parse(const char *name)
{
    if (!name) return 0;
    for (int i = 0; i < PLCIO_S7_BLOCK_TYPES; i++) {
        const char *a = block_types[i].name, *b = name;
        while (*a && toupper((unsigned char)*b) == *a)
            a++, b++;
        if (!*a && !*b) return block_types[i].type;
    }
    return 0;
}

int s7_block_counts_decode(const uint8_t *payload, size_t len, s7_block_counts *out)
{
    memset(out, 0, sizeof *out);
    if (len % 4 || (len && !payload)) return PLCIO_EPROTO;
    bool seen[PLCIO_S7_BLOCK_TYPES] = {false};
    for (size_t off = 0; off < len; off += 4) {
        if (payload[off] != 0x30) return PLCIO_EPROTO;
        int i = s7_block_type_index(payload[off + 1]);
        if (i < 0 || seen[i]) return PLCIO_EPROTO;
        seen[i] = true;
        out->count[i] = plcio_get_u16be(payload + off + 2);
    }
    return PLCIO_OK;
}

int s7_block_counts_encode(plcio_wcursor *w, const s7_block_counts *c)
{
    for (int i = 0; i < PLCIO_S7_BLOCK_TYPES; i++) {
        plcio_wcursor_u8(w, 0x30);
        plcio_wcursor_u8(w, block_types[i].type);
        plcio_wcursor_u16be(w, c->count[i]);
    }
    return w->overrun ? PLCIO_ENOSPC : PLCIO_OK;
}

int s7_block_list_decode(const uint8_t *payload, size_t len, s7_block_entry *out, size_t cap, size_t *n)
{
    *n = 0;
    if (len % 4 || (len && !payload)) return PLCIO_EPROTO;
    if (len / 4 > cap) return PLCIO_ENOSPC;
    for (size_t off = 0; off < len; off += 4) {
        s7_block_entry *e = &out[off / 4];
        e->number = plcio_get_u16be(payload + off);
        e->flags = payload[off + 2];
        e->language = payload[off + 3];
    }
    *n = len / 4;
    return PLCIO_OK;
}

int s7_block_list_encode(plcio_wcursor *w, const s7_block_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        plcio_wcursor_u16be(w, e[i].number);
        plcio_wcursor_u8(w, e[i].flags);
        plcio_wcursor_u8(w, e[i].language);
    }
    return w->overrun ? PLCIO_ENOSPC : PLCIO_OK;
}

int s7_block_name_encode(uint8_t out[8], uint8_t type, uint16_t number)
{
    if (s7_block_type_index(type) < 0) return PLCIO_EINVAL;
    out[0] = '0';
    out[1] = type;
    unsigned v = number;
    for (int i = 6; i >= 2; i--) {
        out[i] = (uint8_t)('0' + v % 10u);
        v /= 10u;
    }
    out[7] = 'A';
    return PLCIO_OK;
}

static int digits_get(const uint8_t *p, size_t n, uint32_t *out)
{
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return PLCIO_EPROTO;
        v = v * 10u + (uint32_t)(p[i] - '0');
    }
    *out = v;
    return PLCIO_OK;
}

int s7_block_name_decode(const uint8_t *payload, size_t len, uint8_t *type, uint16_t *number)
{
    if (!payload || (len != 2 && len != 8) || payload[0] != '0') return PLCIO_EPROTO;
    if (s7_block_type_index(payload[1]) < 0) return PLCIO_EPROTO;
    *type = payload[1];
    *number = 0;
    if (len == 2) return PLCIO_OK;
    uint32_t v;
    if (digits_get(payload + 2, 5, &v) || v > 65535u) return PLCIO_EPROTO;
    *number = (uint16_t)v;
    return PLCIO_OK;
}

static void str8_get(char out[9], const uint8_t *p)
{
    memcpy(out, p, 8);
    out[8] = '\0';
    for (int i = 7; i >= 0 && (out[i] == ' ' || out[i] == '\0'); i--)
        out[i] = '\0';
}

static void str8_put(uint8_t *p, const char *s)
{
    size_t n = 0;
    while (n < 8 && s[n])
        n++;
    memset(p, ' ', 8);
    memcpy(p, s, n);
}

int s7_block_info_decode(const uint8_t *p, size_t len, s7_block_info *out)
{
    memset(out, 0, sizeof *out);
    if (!p || len != PLCIO_S7_BLOCK_INFO_LEN) return PLCIO_EPROTO;
    /* 0 reserved, 1 type, 2..7 reserved, 8 unknown */
    out->block_type = p[1];
    out->flags = p[9];
    out->language = p[10];
    out->sub_block_type = p[11];
    out->number = plcio_get_u16be(p + 12);
    out->load_size = plcio_get_u32be(p + 14);
    out->security = plcio_get_u32be(p + 18);
    memcpy(out->code_date, p + 22, 6);
    memcpy(out->interface_date, p + 28, 6);
    out->sbb_size = plcio_get_u16be(p + 34);
    out->add_size = plcio_get_u16be(p + 36);
    out->local_data_size = plcio_get_u16be(p + 38);
    out->mc7_size = plcio_get_u16be(p + 40);
    str8_get(out->author, p + 42);
    str8_get(out->family, p + 50);
    str8_get(out->name, p + 58);
    out->version = p[66];
    out->checksum = plcio_get_u16be(p + 68);
    return PLCIO_OK;
}

int s7_block_info_encode(uint8_t p[78], const s7_block_info *in)
{
    memset(p, 0, PLCIO_S7_BLOCK_INFO_LEN);
    p[1] = in->block_type;
    p[9] = in->flags;
    p[10] = in->language;
    p[11] = in->sub_block_type;
    plcio_put_u16be(p + 12, in->number);
    plcio_put_u32be(p + 14, in->load_size);
    plcio_put_u32be(p + 18, in->security);
    memcpy(p + 22, in->code_date, 6);
    memcpy(p + 28, in->interface_date, 6);
    plcio_put_u16be(p + 34, in->sbb_size);
    plcio_put_u16be(p + 36, in->add_size);
    plcio_put_u16be(p + 38, in->local_data_size);
    plcio_put_u16be(p + 40, in->mc7_size);
    str8_put(p + 42, in->author);
    str8_put(p + 50, in->family);
    str8_put(p + 58, in->name);
    p[66] = in->version;
    plcio_put_u16be(p + 68, in->checksum);
    return PLCIO_OK;
}

void s7_block_date(const uint8_t raw[6], uint32_t *ms, uint16_t *days)
{
    *ms = plcio_get_u32be(raw);
    *days = plcio_get_u16be(raw + 4);
}
