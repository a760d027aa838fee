/* Modbus word orders by name (plcio/word_order.h). */
#include <strings.h>

#include "plcio/core.h"
#include "plcio/word_order.h"

const char *plcio_mb_order_name(plcio_mb_order order)
{
    static const char *const names[] = {"ABCD", "CDAB", "BADC", "DCBA"};
    return (unsigned)order < 4 ? names[order] : "?";
}

int plcio_mb_order_parse(const char *name, plcio_mb_order *out)
{
    for (unsigned i = 0; i < 4 && name; i++)
        if (!strcasecmp(name, plcio_mb_order_name((plcio_mb_order)i))) {
            *out = (plcio_mb_order)i;
            return PLCIO_OK;
        }
    return PLCIO_ENOTFOUND;
}
