/* Device URL splitting: any bytes give a URL or an error, never a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plcio/plcio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    plcio_url url;
    if (plcio_url_parse(text, &url, NULL) == PLCIO_OK) {
        unsigned long v;
        for (size_t i = 0; i < url.param_count; i++) {
            if (!plcio_url_get(&url, url.params[i].key)) abort(); /* every parsed key is found again */
            (void)plcio_url_get_uint(&url, url.params[i].key, 0, 0, 65535, &v);
        }
    }
    free(text);
    return 0;
}
