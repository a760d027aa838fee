/* S7 partner input path: any bytes from the other partner (the first input
 * byte picks the phase: waiting for the CR, for the setup job, or linked with
 * a block being sent) end in a frame handled or the link dropped with an
 * error, never a crash, an overrun or a hang. */
#include <stdint.h>
#include <stdlib.h>

#include "plcio/s7_partner.h"
#include "s7/s7_partner_test.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    plcio_s7_partner_options o;
    plcio_s7_partner_options_init(&o);
    o.queue_blocks = 2;
    o.logger.level = PLCIO_LOG_ERROR;
    plcio_s7_partner *p = NULL;
    if (plcio_s7_partner_new(PLCIO_S7_PARTNER_PASSIVE, "127.0.0.1:0", &o, &p, NULL) != PLCIO_OK) return 0;
    (void)s7_partner_test_feed(p, data[0], data + 1, size - 1);
    uint32_t rid;
    uint8_t buf[64];
    size_t n;
    while (plcio_s7_partner_brecv(p, &rid, buf, sizeof buf, &n, 0) == PLCIO_OK) {
    }
    plcio_s7_partner_free(p);
    return 0;
}
