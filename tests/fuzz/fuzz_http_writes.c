/* The body of POST /api/write (src/out/http_json.c): any bytes give a list of
 * writes or an error that says where; what was accepted, written back as JSON
 * by the server's own writer, reads again as the same list. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "out/http_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    http_write_item *items = NULL;
    size_t count = 0;
    char err[200] = "";
    int rc = http_parse_writes((const char *)data, size, &items, &count, err, sizeof err);
    if (rc != PLCIO_OK) {
        if (items || count || (rc == PLCIO_ESYNTAX && strncmp(err, "bad JSON at byte ", 17) != 0)) abort();
        return 0;
    }
    if (!items || count == 0 || count > HTTP_WRITE_ITEMS_MAX) abort();
    hbuf b = {0};
    hbuf_puts(&b, "{");
    for (size_t i = 0; i < count; i++) {
        if (i) hbuf_puts(&b, ",");
        hbuf_json_str(&b, items[i].tag, strlen(items[i].tag));
        hbuf_puts(&b, ":");
        hbuf_json_str(&b, items[i].value, strlen(items[i].value));
    }
    hbuf_puts(&b, "}");
    http_write_item *again = NULL;
    size_t again_count = 0;
    if (!b.failed) {
        if (http_parse_writes(b.data, b.len, &again, &again_count, err, sizeof err) != PLCIO_OK) abort();
        if (again_count != count) abort();
        for (size_t i = 0; i < count; i++)
            if (strcmp(again[i].tag, items[i].tag) != 0 || strcmp(again[i].value, items[i].value) != 0) abort();
    }
    http_write_items_free(again, again_count);
    http_write_items_free(items, count);
    hbuf_free(&b);
    return 0;
}
