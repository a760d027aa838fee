/* Value codecs: any bytes decode to a value or an error, never a crash; any
 * text parses to a value or an error. Whatever decodes or parses must print,
 * read back from its own text, encode, and decode again to the same text.
 *
 * Input: byte 0 selects the type (modulo the type count), byte 1 bit 7 selects
 * text mode, its low 7 bits are the STRING[n] length (or the BOOL bit, mod 8);
 * the rest is the PLC bytes or the text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plcio/plcio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char buf_a[70000], buf_b[70000], text_a[70000], text_b[70000];
static uint8_t bytes[40000];

/* v printed, read back, encoded and decoded again must print the same. */
static void check_stable(const plcio_value *v, unsigned bit)
{
    size_t la, lb, used;
    if (plcio_value_to_text(v, text_a, sizeof text_a, &la) != PLCIO_OK) abort();
    static plcio_value w, x;
    plcio_value_init(&w, PLCIO_TYPE_BOOL);
    plcio_value_use_buffer(&w, buf_b, sizeof buf_b);
    if (plcio_value_from_text(&w, v->type, v->length, text_a, la, NULL) != PLCIO_OK) abort();
    memset(bytes, 0, sizeof bytes);
    if (plcio_value_encode(&w, bytes, sizeof bytes, bit, &used, NULL) != PLCIO_OK) abort();
    plcio_value_init(&x, PLCIO_TYPE_BOOL);
    plcio_value_use_buffer(&x, buf_b + 35000, sizeof buf_b - 35000);
    if (plcio_value_decode(&x, v->type, v->length, bytes, used, bit, NULL, NULL) != PLCIO_OK) abort();
    if (plcio_value_to_text(&x, text_b, sizeof text_b, &lb) != PLCIO_OK) abort();
    if (la != lb || memcmp(text_a, text_b, la) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    plcio_type type = (plcio_type)(data[0] % PLCIO_TYPE_COUNT_);
    bool text_mode = data[1] & 0x80;
    unsigned param = data[1] & 0x7F;
    unsigned bit = type == PLCIO_TYPE_BOOL ? param % 8 : 0;
    unsigned length = type == PLCIO_TYPE_STRING || type == PLCIO_TYPE_WSTRING ? param : 0;
    static plcio_value v;
    plcio_value_init(&v, type);
    plcio_value_use_buffer(&v, buf_a, sizeof buf_a);
    plcio_error err = {0};
    int rc;
    if (text_mode) {
        rc = plcio_value_from_text(&v, type, length, (const char *)data + 2, size - 2, &err);
        if (rc == PLCIO_OK) {
            /* accepted text always encodes */
            size_t used;
            memset(bytes, 0, sizeof bytes);
            if (plcio_value_encode(&v, bytes, sizeof bytes, bit, &used, NULL) != PLCIO_OK) abort();
        }
    } else {
        size_t used = 0;
        rc = plcio_value_decode(&v, type, length, data + 2, size - 2, bit, &used, &err);
        if (rc == PLCIO_OK && used > size - 2) abort();
    }
    if (rc == PLCIO_OK)
        check_stable(&v, bit);
    else if (strlen(err.text) == 0)
        abort(); /* every error explains itself */
    return 0;
}
