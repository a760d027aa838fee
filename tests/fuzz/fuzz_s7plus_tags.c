/* PLC tag tables (plcio_s7plus_tags_parse): any text gives an error or a
 * table; a table's type objects, as the simulator encodes them, decode back
 * into as many tags. Never a crash, an overrun or a leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plcio/s7plus.h"
#include "s7plus/s7p_sym.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    plcio_s7plus_tag *t = NULL;
    size_t n = 0;
    plcio_error err;
    if (plcio_s7plus_tags_parse((const char *)data, size, &t, &n, &err) != PLCIO_OK) {
        if (t || n) abort();
        return 0;
    }
    size_t cap = 64 + n * 160;
    uint8_t *buf = malloc(cap);
    if (!buf) abort();
    plcio_wcursor w = plcio_wcursor_make(buf, cap);
    if (s7p_ti_encode_all(&w, NULL, t, n) != PLCIO_OK) abort();
    s7p_ti_set *ti = NULL;
    char msg[200];
    if (s7p_ti_decode(buf, plcio_wcursor_used(&w), &ti, msg, sizeof msg) != PLCIO_OK) abort();
    plcio_s7plus_tag *back = NULL;
    size_t m = 0, bcap = 0;
    for (int a = PLCIO_S7PLUS_AREA_I; a <= PLCIO_S7PLUS_AREA_M; a++)
        if (s7p_ti_tags(ti, (plcio_s7plus_area)a, &back, &m, &bcap, msg, sizeof msg) != PLCIO_OK) abort();
    if (m != n) abort();
    free(back);
    s7p_ti_free(ti);
    free(buf);
    plcio_s7plus_tags_free(t);
    return 0;
}
