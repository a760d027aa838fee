/* S7CommPlus subscriptions, client side: the CreateObject and credit
 * SetVariable bodies, the notifications taken apart and handed to the
 * user's callbacks, the credit window. No I/O: s7p_client.c moves the
 * requests; this file keeps the client's subscriptions. */
#ifndef PLCIO_S7P_SUBSCRIBE_H
#define PLCIO_S7P_SUBSCRIBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plcio/s7plus.h"
#include "s7plus/s7p_codec.h"
#include "s7plus/s7p_session.h"

typedef struct csub_set csub_set;

csub_set *csub_new(void);
void csub_free(csub_set *s);

/* The CreateObject body (without the tail) of a subscription on addresses
 * a[0..n) in out (malloc'ed, *len bytes). */
int csub_create_body(uint32_t session, const s7p_address *a, size_t n, const plcio_s7plus_subscription_options *o,
                     uint8_t **out, size_t *len);
/* The subscription the PLC created as id. */
int csub_add(csub_set *s, uint32_t id, size_t n, const plcio_s7plus_subscription_options *o);
bool csub_remove(csub_set *s, uint32_t id);
bool csub_has(const csub_set *s, uint32_t id);
void csub_clear(csub_set *s);
/* A notification's body (after the opcode): the user's callback called.
 * PLCIO_OK (also for an unknown subscription: counted, dropped), or
 * PLCIO_EPROTO/EUNSUPPORTED for a malformed one. */
int csub_on_notification(csub_set *s, plcio_s7plus_client *c, const uint8_t *body, size_t len);
/* Credit acknowledgements due: sent as one-way SetVariables. */
int csub_send_acks(csub_set *s, s7p_session *ses, uint64_t now);
/* Notifications handed to callbacks so far (wait_notification counts them). */
uint64_t csub_delivered(const csub_set *s);
void csub_stats(const csub_set *s, plcio_s7plus_sub_stats *out);

/* The PValue of a notification as the bytes the PLC stores (big-endian
 * elementary values, Blob bytes): PLCIO_OK, or PLCIO_EUNSUPPORTED. out holds
 * at least 8 bytes; a Blob/WString is borrowed in place. */
int csub_value_bytes(const s7p_value *v, uint8_t out[8], const uint8_t **data, size_t *size);

#endif
