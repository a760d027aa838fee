/* Internal hook for the fuzz harness and unit tests of the S7 partner: feed
 * bytes as if they came from the socket, in a given phase, without a socket.
 * Not exported. */
#ifndef PLCIO_S7_PARTNER_TEST_H
#define PLCIO_S7_PARTNER_TEST_H

#include <stddef.h>
#include <stdint.h>

#include "plcio/s7_partner.h"

/* which: 0 waiting for the COTP CR (passive), 1 waiting for the setup job,
 * 2 linked (PDU 480, a 1000-byte send under way so that acks are expected).
 * Returns what the partner's input path returned. */
int s7_partner_test_feed(plcio_s7_partner *p, int which, const uint8_t *data, size_t len);

#endif
