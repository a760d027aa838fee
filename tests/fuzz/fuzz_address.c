/* Address strings: any text parses or fails with a message, never crashes;
 * what parses formats to a canonical text that parses to the same struct. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plcio/plcio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Member by member: the structs have padding, whose bytes memcmp would compare too. */
static bool s7_same(const plcio_s7_address *a, const plcio_s7_address *b)
{
    return a->area == b->area && a->db == b->db && a->offset == b->offset && a->bit == b->bit &&
           a->periph_output == b->periph_output && a->type == b->type && a->length == b->length &&
           a->count == b->count && a->size == b->size;
}

static bool mb_same(const plcio_mb_address *a, const plcio_mb_address *b)
{
    return a->table == b->table && a->address == b->address && a->type == b->type && a->length == b->length &&
           a->order == b->order && a->count == b->count && a->quantity == b->quantity;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char out[PLCIO_ADDRESS_TEXT_MAX];
    plcio_error err = {0};
    plcio_s7_address a, b;
    err.text[0] = '\0';
    if (plcio_s7_address_parse(text, &a, &err) == PLCIO_OK) {
        if (plcio_s7_address_format(&a, out, sizeof out) != PLCIO_OK) abort();
        if (plcio_s7_address_parse(out, &b, NULL) != PLCIO_OK || !s7_same(&a, &b)) abort();
    } else if (err.text[0] == '\0') {
        abort();
    }
    /* LOGO! addresses, both models: a name is a DB1 address the model-less parser takes back */
    for (int model = PLCIO_LOGO_0BA8; model <= PLCIO_LOGO_0BA7; model++) {
        bool read_only = false;
        err.text[0] = '\0';
        if (plcio_logo_address_parse(text, (plcio_logo_model)model, &a, &read_only, &err) == PLCIO_OK) {
            if (plcio_s7_address_format(&a, out, sizeof out) != PLCIO_OK) abort();
            if (plcio_s7_address_parse(out, &b, NULL) != PLCIO_OK || !s7_same(&a, &b)) abort();
            if (read_only && (a.area != PLCIO_S7_AREA_DB || a.db != 1)) abort();
        } else if (err.text[0] == '\0' || read_only) {
            abort();
        }
    }
    plcio_mb_address m, n;
    err.text[0] = '\0';
    if (plcio_mb_address_parse(text, &m, &err) == PLCIO_OK) {
        if (plcio_mb_address_format(&m, out, sizeof out) != PLCIO_OK) abort();
        if (plcio_mb_address_parse(out, &n, NULL) != PLCIO_OK || !mb_same(&m, &n)) abort();
    } else if (err.text[0] == '\0') {
        abort();
    }
    free(text);
    return 0;
}
