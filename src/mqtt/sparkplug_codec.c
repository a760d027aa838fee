/* Sparkplug B payloads: plcio values to metrics and back, on the protobuf-c
 * code generated from sparkplug_b.proto (build directory). No I/O. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "mqtt/sparkplug.h"
#include "sparkplug_b.pb-c.h"

typedef Org__Eclipse__Tahu__Protobuf__Payload pb_payload;
typedef Org__Eclipse__Tahu__Protobuf__Payload__Metric pb_metric;
typedef Org__Eclipse__Tahu__Protobuf__Payload__PropertySet pb_propset;
typedef Org__Eclipse__Tahu__Protobuf__Payload__PropertyValue pb_propvalue;

unsigned spb_datatype_of(plcio_type type)
{
    switch (type) {
    case PLCIO_TYPE_BOOL: return SPB_BOOLEAN;
    case PLCIO_TYPE_BYTE:
    case PLCIO_TYPE_USINT: return SPB_UINT8;
    case PLCIO_TYPE_WORD:
    case PLCIO_TYPE_UINT: return SPB_UINT16;
    case PLCIO_TYPE_DWORD:
    case PLCIO_TYPE_UDINT: return SPB_UINT32;
    case PLCIO_TYPE_LWORD:
    case PLCIO_TYPE_ULINT: return SPB_UINT64;
    case PLCIO_TYPE_SINT: return SPB_INT8;
    case PLCIO_TYPE_INT: return SPB_INT16;
    case PLCIO_TYPE_DINT:
    case PLCIO_TYPE_TIME:
    case PLCIO_TYPE_S5TIME: return SPB_INT32;
    case PLCIO_TYPE_LINT:
    case PLCIO_TYPE_LTIME: return SPB_INT64;
    case PLCIO_TYPE_REAL: return SPB_FLOAT;
    case PLCIO_TYPE_LREAL: return SPB_DOUBLE;
    default: return SPB_STRING; /* characters, strings, dates, times of day */
    }
}

const char *spb_datatype_name(unsigned datatype)
{
    static const char *const names[] = {"Unknown", "Int8",   "Int16", "Int32",  "Int64",   "UInt8",  "UInt16",
                                        "UInt32",  "UInt64", "Float", "Double", "Boolean", "String", "DateTime"};
    return datatype < sizeof names / sizeof names[0] ? names[datatype] : "?";
}

bool spb_id_valid(const char *id)
{
    if (!id || !*id || strlen(id) >= SPB_ID_MAX) return false;
    return strpbrk(id, "/+#") == NULL;
}

static bool is_signed(unsigned dt) { return dt >= SPB_INT8 && dt <= SPB_INT64; }
/* 6.4.16 (and Tahu): UInt32 travels in long_value, as Int64, UInt64 and DateTime */
static bool is_64bit(unsigned dt)
{
    return dt == SPB_INT64 || dt == SPB_UINT32 || dt == SPB_UINT64 || dt == SPB_DATETIME;
}

/* ---- encoding ---- */

/* Everything one payload's encoding needs, in a few allocations. */
typedef struct enc_space {
    pb_metric *metrics;
    pb_metric **ptrs;
    pb_propset *sets;
    pb_propvalue *values;
    pb_propvalue **value_ptrs;
} enc_space;

static void set_value(pb_metric *pm, const spb_metric *m)
{
    if (m->is_null) {
        pm->has_is_null = true;
        pm->is_null = true;
        return;
    }
    switch (m->datatype) {
    case SPB_FLOAT:
        pm->value_case = ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__METRIC__VALUE_FLOAT_VALUE;
        pm->float_value = (float)m->f;
        break;
    case SPB_DOUBLE:
        pm->value_case = ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__METRIC__VALUE_DOUBLE_VALUE;
        pm->double_value = m->f;
        break;
    case SPB_BOOLEAN:
        pm->value_case = ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__METRIC__VALUE_BOOLEAN_VALUE;
        pm->boolean_value = m->b;
        break;
    case SPB_STRING:
        pm->value_case = ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__METRIC__VALUE_STRING_VALUE;
        pm->string_value = (char *)(m->s ? m->s : "");
        break;
    default:
        if (is_64bit(m->datatype)) {
            pm->value_case = ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__METRIC__VALUE_LONG_VALUE;
            pm->long_value = m->u;
        } else {
            /* 6.4.16: Int8..Int32 travel as uint32 two's complement, UInt8, UInt16 as they are */
            pm->value_case = ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__METRIC__VALUE_INT_VALUE;
            pm->int_value = (uint32_t)m->u;
        }
    }
}

int spb_payload_encode(uint64_t timestamp_ms, int seq, const spb_metric *metrics, size_t count, uint8_t **buf,
                       size_t *cap, size_t *len)
{
    pb_payload p = ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__INIT;
    enc_space sp = {0};
    size_t n = count ? count : 1;
    sp.metrics = calloc(n, sizeof *sp.metrics);
    sp.ptrs = calloc(n, sizeof(pb_metric *));
    sp.sets = calloc(n, sizeof *sp.sets);
    sp.values = calloc(n, sizeof *sp.values);
    sp.value_ptrs = calloc(n, sizeof(pb_propvalue *));
    int rc = PLCIO_ENOMEM;
    static char quality_name[] = "Quality";
    static char *quality_key[] = {quality_name};
    if (!sp.metrics || !sp.ptrs || !sp.sets || !sp.values || !sp.value_ptrs) goto out;
    for (size_t i = 0; i < count; i++) {
        const spb_metric *m = &metrics[i];
        pb_metric *pm = &sp.metrics[i];
        org__eclipse__tahu__protobuf__payload__metric__init(pm);
        if (m->name) {
            pm->name = (char *)m->name;
            pm->has_datatype = true;
            pm->datatype = m->datatype;
        }
        pm->has_alias = true;
        pm->alias = m->alias;
        pm->has_timestamp = true;
        pm->timestamp = m->timestamp_ms;
        if (m->historical) {
            pm->has_is_historical = true;
            pm->is_historical = true;
        }
        set_value(pm, m);
        if (m->has_quality) {
            pb_propvalue *v = &sp.values[i];
            org__eclipse__tahu__protobuf__payload__property_value__init(v);
            v->has_type = true;
            v->type = SPB_INT32;
            v->value_case = ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__PROPERTY_VALUE__VALUE_INT_VALUE;
            v->int_value = (uint32_t)m->quality;
            sp.value_ptrs[i] = v;
            org__eclipse__tahu__protobuf__payload__property_set__init(&sp.sets[i]);
            sp.sets[i].n_keys = 1;
            sp.sets[i].keys = quality_key;
            sp.sets[i].n_values = 1;
            sp.sets[i].values = &sp.value_ptrs[i];
            pm->properties = &sp.sets[i];
        }
        sp.ptrs[i] = pm;
    }
    p.has_timestamp = true;
    p.timestamp = timestamp_ms;
    if (seq >= 0) {
        p.has_seq = true;
        p.seq = (uint64_t)seq;
    }
    p.n_metrics = count;
    p.metrics = sp.ptrs;
    size_t need = org__eclipse__tahu__protobuf__payload__get_packed_size(&p);
    if (need > *cap) {
        uint8_t *nb = realloc(*buf, need);
        if (!nb) goto out;
        *buf = nb;
        *cap = need;
    }
    *len = org__eclipse__tahu__protobuf__payload__pack(&p, *buf);
    rc = PLCIO_OK;
out:
    free(sp.metrics);
    free(sp.ptrs);
    free(sp.sets);
    free(sp.values);
    free(sp.value_ptrs);
    return rc;
}

static int text_value(spb_metric *m, const plcio_value *v, char *text, size_t cap)
{
    size_t len = 0;
    if (v->type == PLCIO_TYPE_STRING || v->type == PLCIO_TYPE_WSTRING) {
        const char *s = plcio_value_text(v, &len);
        len = strnlen(s, len); /* a protobuf string here ends at its first NUL */
        if (len >= cap) len = cap - 1;
        memmove(text, s, len);
        text[len] = '\0';
    } else if (plcio_value_to_text(v, text, cap, &len) != PLCIO_OK) {
        return PLCIO_EPROTO;
    }
    m->s = text;
    return PLCIO_OK;
}

int spb_metric_from_raw(spb_metric *m, const plcio_sink_tag *tag, const uint8_t *raw, size_t size, char *text,
                        size_t cap)
{
    plcio_value v;
    plcio_value_init(&v, tag->type);
    plcio_value_use_buffer(&v, text, cap);
    m->is_null = false;
    if (!raw || plcio_value_decode(&v, tag->type, tag->length, raw, size, tag->bit, NULL, NULL) != PLCIO_OK) {
        m->is_null = true;
        return PLCIO_EPROTO;
    }
    switch (m->datatype) {
    case SPB_BOOLEAN: m->b = v.v.b; break;
    case SPB_FLOAT:
    case SPB_DOUBLE: m->f = v.v.f; break;
    case SPB_STRING:
        if (text_value(m, &v, text, cap) != PLCIO_OK) {
            m->is_null = true;
            return PLCIO_EPROTO;
        }
        break;
    default: m->u = is_signed(m->datatype) ? (uint64_t)v.v.i : v.v.u; break;
    }
    return PLCIO_OK;
}

/* ---- decoding ---- */

int spb_command_decode(const uint8_t *data, size_t len, spb_command *out, plcio_error *err)
{
    memset(out, 0, sizeof *out);
    pb_payload *p = org__eclipse__tahu__protobuf__payload__unpack(NULL, len, data);
    if (!p) return plcio_error_set(err, PLCIO_EPROTO, "not a Sparkplug B payload (%zu bytes that do not decode)", len);
    out->unpacked = p;
    out->has_seq = p->has_seq;
    out->seq = p->seq;
    out->has_timestamp = p->has_timestamp;
    out->timestamp = p->timestamp;
    if (p->n_metrics) {
        out->metrics = calloc(p->n_metrics, sizeof *out->metrics);
        if (!out->metrics) {
            spb_command_free(out);
            return plcio_error_set(err, PLCIO_ENOMEM, "out of memory decoding %zu metrics", p->n_metrics);
        }
    }
    out->metric_count = p->n_metrics;
    for (size_t i = 0; i < p->n_metrics; i++) {
        const pb_metric *pm = p->metrics[i];
        spb_cmd_metric *m = &out->metrics[i];
        m->name = pm->name;
        m->has_alias = pm->has_alias;
        m->alias = pm->alias;
        m->has_datatype = pm->has_datatype;
        m->datatype = pm->datatype;
        m->is_null = pm->has_is_null && pm->is_null;
        m->historical = pm->has_is_historical && pm->is_historical;
        switch (pm->value_case) {
        case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__METRIC__VALUE_INT_VALUE:
            m->kind = SPB_VAL_INT;
            m->u = pm->int_value;
            break;
        case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__METRIC__VALUE_LONG_VALUE:
            m->kind = SPB_VAL_LONG;
            m->u = pm->long_value;
            break;
        case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__METRIC__VALUE_FLOAT_VALUE:
            m->kind = SPB_VAL_FLOAT;
            m->f = (double)pm->float_value;
            break;
        case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__METRIC__VALUE_DOUBLE_VALUE:
            m->kind = SPB_VAL_DOUBLE;
            m->f = pm->double_value;
            break;
        case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__METRIC__VALUE_BOOLEAN_VALUE:
            m->kind = SPB_VAL_BOOL;
            m->b = pm->boolean_value;
            break;
        case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__METRIC__VALUE_STRING_VALUE:
            m->kind = SPB_VAL_STRING;
            m->s = pm->string_value;
            break;
        case ORG__ECLIPSE__TAHU__PROTOBUF__PAYLOAD__METRIC__VALUE__NOT_SET: m->kind = SPB_VAL_NONE; break;
        default: m->kind = SPB_VAL_OTHER; break;
        }
    }
    return PLCIO_OK;
}

void spb_command_free(spb_command *c)
{
    if (!c) return;
    if (c->unpacked) org__eclipse__tahu__protobuf__payload__free_unpacked(c->unpacked, NULL);
    free(c->metrics);
    memset(c, 0, sizeof *c);
}

static int int_text(const spb_cmd_metric *m, unsigned dt, char *buf, size_t cap, plcio_error *err)
{
    uint64_t u;
    if (m->kind == SPB_VAL_INT || m->kind == SPB_VAL_LONG)
        u = m->u;
    else if (m->kind == SPB_VAL_BOOL)
        u = m->b;
    else
        return plcio_error_set(err, PLCIO_EINVAL, "%s value expected, got no integer", spb_datatype_name(dt));
    int64_t s;
    switch (dt) {
    case SPB_INT8: s = (int64_t)(u & 0xFFu) - (u & 0x80u ? 256 : 0); break;
    case SPB_INT16: s = (int16_t)(uint16_t)u; break;
    case SPB_INT32: s = (int32_t)(uint32_t)u; break;
    case SPB_INT64: s = (int64_t)u; break;
    default: (void)snprintf(buf, cap, "%" PRIu64, u); return PLCIO_OK;
    }
    (void)snprintf(buf, cap, "%" PRId64, s);
    return PLCIO_OK;
}

int spb_cmd_value_text(const spb_cmd_metric *m, unsigned datatype, char *buf, size_t cap, plcio_error *err)
{
    if (m->is_null || m->kind == SPB_VAL_NONE) return plcio_error_set(err, PLCIO_EINVAL, "no value");
    switch (datatype) {
    case SPB_BOOLEAN:
        if (m->kind == SPB_VAL_BOOL)
            (void)snprintf(buf, cap, "%s", m->b ? "true" : "false");
        else if (m->kind == SPB_VAL_INT || m->kind == SPB_VAL_LONG)
            (void)snprintf(buf, cap, "%s", m->u ? "true" : "false");
        else
            return plcio_error_set(err, PLCIO_EINVAL, "Boolean value expected");
        return PLCIO_OK;
    case SPB_FLOAT:
    case SPB_DOUBLE:
        if (m->kind == SPB_VAL_FLOAT)
            (void)snprintf(buf, cap, "%.9g", m->f);
        else if (m->kind == SPB_VAL_DOUBLE)
            (void)snprintf(buf, cap, "%.17g", m->f);
        else if (m->kind == SPB_VAL_INT)
            (void)snprintf(buf, cap, "%" PRId32, (int32_t)(uint32_t)m->u);
        else if (m->kind == SPB_VAL_LONG)
            (void)snprintf(buf, cap, "%" PRId64, (int64_t)m->u);
        else
            return plcio_error_set(err, PLCIO_EINVAL, "%s value expected", spb_datatype_name(datatype));
        return PLCIO_OK;
    case SPB_STRING:
        if (m->kind != SPB_VAL_STRING) return plcio_error_set(err, PLCIO_EINVAL, "String value expected");
        if (strlen(m->s) >= cap)
            return plcio_error_set(err, PLCIO_ERANGE, "string of %zu bytes is too long", strlen(m->s));
        (void)snprintf(buf, cap, "%s", m->s);
        return PLCIO_OK;
    default: return int_text(m, datatype, buf, cap, err);
    }
}
