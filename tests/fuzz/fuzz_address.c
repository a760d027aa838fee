/* Address strings: any text parses or fails with a message, never crashes;
 * what parses formats to a canonical text that parses to the same struct. */
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
    char err[PLCIO_ADDRESS_ERR_MAX], out[PLCIO_ADDRESS_TEXT_MAX];
    plcio_s7_address a, b;
    err[0] = '\0';
    if (plcio_s7_address_parse(text, &a, err, sizeof err) == PLCIO_OK) {
        if (plcio_s7_address_format(&a, out, sizeof out) != PLCIO_OK) abort();
        if (plcio_s7_address_parse(out, &b, NULL, 0) != PLCIO_OK || memcmp(&a, &b, sizeof a) != 0) abort();
    } else if (err[0] == '\0') {
        abort();
    }
    plcio_mb_address m, n;
    err[0] = '\0';
    if (plcio_mb_address_parse(text, &m, err, sizeof err) == PLCIO_OK) {
        if (plcio_mb_address_format(&m, out, sizeof out) != PLCIO_OK) abort();
        if (plcio_mb_address_parse(out, &n, NULL, 0) != PLCIO_OK || memcmp(&m, &n, sizeof m) != 0) abort();
    } else if (err[0] == '\0') {
        abort();
    }
    free(text);
    return 0;
}
