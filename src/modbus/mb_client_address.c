/* Modbus client: reading and writing by address string ("hr100:REAL:CDAB",
 * "400101", "co5[8]"), values as text (value.h). Splits long reads and
 * writes into requests within the protocol limits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modbus/mb_codec.h"
#include "plcio/address.h"
#include "plcio/modbus.h"
#include "plcio/value.h"
#include "tag/tag_internal.h"
#include "core/error.h"

/* "ADDRESS: what" into err. */

/* Why a request failed: the exception, or the link's reason in words (a
 * TLS refusal names its cause in the client's last error). */
static const char *failure_text(const plcio_modbus_client *c, int rc)
{
    if (rc == PLCIO_EMBEXC) return plcio_mb_exception_text(plcio_modbus_last_exception(c));
    const plcio_error *e = plcio_modbus_client_last_error(c);
    return e->code == rc && e->text[0] ? e->text : plcio_strerror(rc);
}

static int fail(int rc, char *err, size_t cap, const char *address, const char *what)
{
    /* cut to cap on purpose (the return value used: gcc then does not warn about it) */
    if (err && cap && snprintf(err, cap, "%s: %s", address, what) < 0) err[0] = '\0';
    return rc;
}

static bool is_bits(plcio_mb_table t) { return t == PLCIO_MB_TABLE_COIL || t == PLCIO_MB_TABLE_DISCRETE_INPUT; }

/* Read `quantity` bits or registers from `addr` in chunks. */
static int read_span(plcio_modbus_client *c, int unit, const plcio_mb_address *a, uint16_t *regs, uint8_t *bits)
{
    uint32_t done = 0;
    while (done < a->quantity) {
        uint32_t left = a->quantity - done;
        uint16_t addr = (uint16_t)(a->address + done);
        int rc;
        uint16_t n;
        switch (a->table) {
        case PLCIO_MB_TABLE_COIL:
        case PLCIO_MB_TABLE_DISCRETE_INPUT:
            n = (uint16_t)(left > PLCIO_MB_MAX_READ_BITS ? PLCIO_MB_MAX_READ_BITS : left);
            rc = a->table == PLCIO_MB_TABLE_COIL ? plcio_modbus_read_coils(c, unit, addr, n, bits + done)
                                                 : plcio_modbus_read_discrete_inputs(c, unit, addr, n, bits + done);
            break;
        default:
            n = (uint16_t)(left > PLCIO_MB_MAX_READ_REGISTERS ? PLCIO_MB_MAX_READ_REGISTERS : left);
            rc = a->table == PLCIO_MB_TABLE_HOLDING_REGISTER
                     ? plcio_modbus_read_holding_registers(c, unit, addr, n, regs + done)
                     : plcio_modbus_read_input_registers(c, unit, addr, n, regs + done);
        }
        if (rc != PLCIO_OK) return rc;
        done += n;
    }
    return PLCIO_OK;
}

static size_t element_regs(const plcio_mb_address *a) { return a->quantity / a->count; }

/* Registers of one element -> the big-endian bytes value.h decodes. Values
 * shorter than their registers (BYTE, SINT, USINT, CHAR) sit in the low byte. */
static void element_bytes(const plcio_mb_address *a, const uint16_t *regs, uint8_t *bytes)
{
    uint16_t w[128];
    size_t n = element_regs(a);
    memcpy(w, regs, n * 2);
    if (a->type == PLCIO_TYPE_STRING) {
        if (a->order == PLCIO_MB_BADC || a->order == PLCIO_MB_DCBA) mb_reorder_words(w, n, PLCIO_MB_BADC);
    } else {
        mb_reorder_words(w, n, a->order);
    }
    plcio_mb_regs_to_bytes(w, n, bytes);
}

static void bytes_element(const plcio_mb_address *a, const uint8_t *bytes, uint16_t *regs)
{
    size_t n = element_regs(a);
    plcio_mb_bytes_to_regs(bytes, n, regs);
    if (a->type == PLCIO_TYPE_STRING) {
        if (a->order == PLCIO_MB_BADC || a->order == PLCIO_MB_DCBA) mb_reorder_words(regs, n, PLCIO_MB_BADC);
    } else {
        mb_reorder_words(regs, n, a->order);
    }
}

static int decode_element(const plcio_mb_address *a, const uint16_t *regs, plcio_value *v, char *err, size_t cap)
{
    uint8_t bytes[256];
    size_t n = element_regs(a);
    element_bytes(a, regs, bytes);
    if (a->type == PLCIO_TYPE_STRING) return value_decode_chars_buf(v, bytes, a->length, err, cap);
    size_t size = plcio_type_size(a->type, a->length);
    return value_decode_buf(v, a->type, a->length, bytes + (2 * n - size), size, 0, NULL, err, cap);
}

static int mb_read_address_buf(plcio_modbus_client *c, int unit, const char *address, plcio_modbus_value_cb cb,
                               void *ctx, char *err, size_t errcap)
{
    if (!c || !address || !cb) return PLCIO_EINVAL;
    plcio_mb_address a;
    int rc = mb_address_parse_buf(address, &a, err, errcap);
    if (rc != PLCIO_OK) return rc;
    uint16_t *regs = calloc(a.quantity, sizeof *regs);
    uint8_t *bits = calloc(a.quantity, 1);
    if (!regs || !bits) rc = PLCIO_ENOMEM;
    if (rc == PLCIO_OK) rc = read_span(c, unit, &a, regs, bits);
    if (rc != PLCIO_OK && rc != PLCIO_ENOMEM) fail(rc, err, errcap, address, failure_text(c, rc));
    for (uint32_t i = 0; rc == PLCIO_OK && i < a.count; i++) {
        if (is_bits(a.table)) {
            cb(ctx, i, bits[i] ? "true" : "false");
            continue;
        }
        plcio_value v;
        char text[PLCIO_VALUE_INLINE_TEXT];
        plcio_value_init(&v, a.type);
        rc = decode_element(&a, regs + i * element_regs(&a), &v, err, errcap);
        if (rc == PLCIO_OK) rc = plcio_value_to_text(&v, text, sizeof text, NULL);
        if (rc == PLCIO_OK) cb(ctx, i, text);
    }
    free(regs);
    free(bits);
    return rc;
}

static int write_span(plcio_modbus_client *c, int unit, const plcio_mb_address *a, const uint16_t *regs,
                      const uint8_t *bits)
{
    bool coil = a->table == PLCIO_MB_TABLE_COIL;
    if (a->quantity == 1) /* single values with FC 5 / FC 6, as mbpoll and modpoll do */
        return coil ? plcio_modbus_write_coil(c, unit, a->address, bits[0] != 0)
                    : plcio_modbus_write_register(c, unit, a->address, regs[0]);
    uint32_t done = 0;
    while (done < a->quantity) {
        uint32_t left = a->quantity - done, max = coil ? PLCIO_MB_MAX_WRITE_BITS : PLCIO_MB_MAX_WRITE_REGISTERS;
        uint16_t n = (uint16_t)(left > max ? max : left), addr = (uint16_t)(a->address + done);
        int rc = coil ? plcio_modbus_write_coils(c, unit, addr, n, bits + done)
                      : plcio_modbus_write_registers(c, unit, addr, n, regs + done);
        if (rc != PLCIO_OK) return rc;
        done += n;
    }
    return PLCIO_OK;
}

static int encode_element(const plcio_mb_address *a, const char *text, uint16_t *regs, uint8_t *bit, char *err,
                          size_t cap)
{
    plcio_value v;
    plcio_value_init(&v, a->type);
    int rc = value_from_text_buf(&v, a->type, a->length, text, strlen(text), err, cap);
    if (rc != PLCIO_OK) return rc;
    if (is_bits(a->table)) {
        *bit = v.v.b ? 1 : 0;
        return PLCIO_OK;
    }
    uint8_t bytes[256] = {0};
    size_t n = element_regs(a);
    if (a->type == PLCIO_TYPE_STRING) {
        rc = value_encode_chars_buf(&v, bytes, a->length, err, cap);
    } else {
        size_t size = plcio_type_size(a->type, a->length);
        rc = value_encode_buf(&v, bytes + (2 * n - size), size, 0, NULL, err, cap);
    }
    if (rc == PLCIO_OK) bytes_element(a, bytes, regs);
    return rc;
}

static int mb_write_address_buf(plcio_modbus_client *c, int unit, const char *address, const char *const *texts,
                                size_t count, char *err, size_t errcap)
{
    if (!c || !address || (!texts && count)) return PLCIO_EINVAL;
    plcio_mb_address a;
    int rc = mb_address_parse_buf(address, &a, err, errcap);
    if (rc != PLCIO_OK) return rc;
    if (a.table == PLCIO_MB_TABLE_INPUT_REGISTER || a.table == PLCIO_MB_TABLE_DISCRETE_INPUT)
        return fail(PLCIO_EACCESS, err, errcap, address,
                    a.table == PLCIO_MB_TABLE_INPUT_REGISTER ? "input registers are read-only"
                                                             : "discrete inputs are read-only");
    if (count != a.count) {
        char want[48];
        snprintf(want, sizeof want, "needs %u value(s), got %zu", (unsigned)a.count, count);
        return fail(PLCIO_EINVAL, err, errcap, address, want);
    }
    uint16_t *regs = calloc(a.quantity, sizeof *regs);
    uint8_t *bits = calloc(a.quantity, 1);
    if (!regs || !bits) rc = PLCIO_ENOMEM;
    for (uint32_t i = 0; rc == PLCIO_OK && i < a.count; i++)
        rc = encode_element(&a, texts[i], regs + i * element_regs(&a), bits + i, err, errcap);
    if (rc == PLCIO_OK) {
        rc = write_span(c, unit, &a, regs, bits);
        if (rc != PLCIO_OK) fail(rc, err, errcap, address, failure_text(c, rc));
    }
    free(regs);
    free(bits);
    return rc;
}

int plcio_modbus_read_address(plcio_modbus_client *c, int unit, const char *address, plcio_modbus_value_cb cb,
                              void *ctx, plcio_error *err)
{
    error_begin(err);
    return error_end(err, mb_read_address_buf(c, unit, address, cb, ctx, ERROR_BUF(err)));
}

int plcio_modbus_write_address(plcio_modbus_client *c, int unit, const char *address, const char *const *texts,
                               size_t count, plcio_error *err)
{
    error_begin(err);
    return error_end(err, mb_write_address_buf(c, unit, address, texts, count, ERROR_BUF(err)));
}
