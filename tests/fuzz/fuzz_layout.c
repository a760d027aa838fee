/* Layout parser: the input is split at NUL bytes into up to four source
 * files (SCL/AWL .db, .udt, .scl and a TIA table copy .tsv, chosen by the
 * first byte), added to one set and resolved. What resolves is walked
 * completely: every DB and UDT, every leaf, its lookup by name, the start
 * image and the text of every value. An error or a consistent layout, never
 * a crash, an overrun or a leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plcio/layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LEAVES 4000u
#define MAX_IMAGE  (1u << 20)

static void walk(const plcio_layout *l)
{
    uint32_t size = plcio_layout_size(l);
    uint8_t *image = NULL;
    if (size <= MAX_IMAGE) {
        image = calloc(1, size ? size : 1);
        if (image && plcio_layout_start_image(l, image, size) != PLCIO_OK) abort();
    }
    size_t n = plcio_layout_leaf_count(l);
    if (n > MAX_LEAVES) n = MAX_LEAVES;
    for (size_t i = 0; i < n; i++) {
        plcio_layout_member m, again;
        if (plcio_layout_leaf(l, i, &m) != PLCIO_OK) abort();
        if (!m.name) abort();
        if (image && (uint64_t)m.byte + m.size > size) abort();
        if (plcio_layout_lookup(l, m.name, &again) == PLCIO_OK && again.byte != m.byte) abort();
        if (image) {
            char text[512];
            plcio_layout_format_value(&m, image, size, text, sizeof text, i & 1 ? PLCIO_LAYOUT_JSON : 0);
        }
    }
    plcio_layout_member m;
    plcio_layout_lookup(l, "a.b[1]", &m);
    free(image);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[4] = {"DB_Fuzz.db", "Fuzz.udt", "Fuzz.scl", "DB_Table.tsv"};
    if (size < 1) return 0;
    unsigned pick = data[0];
    data++;
    size--;
    plcio_layout_set *set = NULL;
    (void)plcio_layout_set_new(NULL, &set, NULL);
    if (!set) return 0;
    size_t off = 0;
    for (unsigned file = 0; file < 4 && off <= size; file++) {
        const uint8_t *nul = memchr(data + off, 0, size - off);
        size_t len = nul ? (size_t)(nul - (data + off)) : size - off;
        plcio_layout_set_add_text(set, names[(pick >> (2 * file)) & 3], (const char *)data + off, len);
        off += len + 1;
        if (!nul) break;
    }
    if (plcio_layout_set_resolve(set) == PLCIO_OK) {
        for (size_t i = 0; i < plcio_layout_set_count(set); i++)
            walk(plcio_layout_set_get(set, i));
        for (size_t i = 0; i < plcio_layout_set_type_count(set); i++)
            walk(plcio_layout_set_type(set, i));
        plcio_layout_set_find(set, "DB_Fuzz");
    }
    (void)plcio_layout_set_last_error(set);
    plcio_layout_set_free(set);
    return 0;
}
