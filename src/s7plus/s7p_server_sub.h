/* S7CommPlus subscriptions, simulator side: the Subscription objects of one
 * session (CreateObject of class 1001, credit limit by SetVariable,
 * DeleteObject) and their notifications, sent from a tick with the caller's
 * time (no clock here, no I/O: the host reads items and sends PDUs).
 *
 * Behaviour (docs/s7plus.md, "Subscriptions"): the first notification
 * carries every item; then, each cycle (cycle time, at least
 * SRVSUB_MIN_CYCLE_MS), the items whose value changed; route mode 0x20 sends
 * nothing on a cycle without change, other modes an empty notification.
 * Credits as the real capture shows them: every notification advances the
 * credit tick (a byte, wrapping); none is sent while the tick equals the
 * credit limit (the client raises it with SetVariable 1053); -1: unlimited,
 * the tick stays 0; 0: nothing at all. While blocked, changes are kept and go
 * out with the next notification. */
#ifndef PLCIO_S7P_SERVER_SUB_H
#define PLCIO_S7P_SERVER_SUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plcio/core.h"
#include "s7plus/s7p_codec.h"

#define SRVSUB_MAX_SUBS      16u   /* subscriptions per session */
#define SRVSUB_MAX_ITEMS     1000u /* items per session, all subscriptions together */
#define SRVSUB_MAX_ITEM_SIZE 4096u /* bytes of one item's value */
#define SRVSUB_MIN_CYCLE_MS  10u
/* CreateObject return values of the simulator (what a real PLC answers is not known) */
#define SRVSUB_ERR_LIMIT   0x8105u /* too many subscriptions or items */
#define SRVSUB_ERR_INVALID 0x8106u /* a malformed subscription object */

typedef struct srvsub_host {
    /* The item's current value: PLCIO_OK and *v (Blob bytes in buf, cap
     * bytes) and *dialect (S7P_COMPACT_BLOB or 0); another code: the item
     * is reported as an addressing error (0x13). */
    int (*read)(void *ctx, const s7p_address *a, uint8_t *buf, size_t cap, s7p_value *v, unsigned *dialect);
    /* Send one PDU in a frame of `version`; < 0 ends the connection. */
    int (*send)(void *ctx, uint8_t version, const uint8_t *pdu, size_t len);
    void *ctx;
    const plcio_logger *logger;
    unsigned client;
} srvsub_host;

typedef struct srvsub srvsub;

srvsub *srvsub_new(void);
void srvsub_free(srvsub *s);

/* A CreateObject request (body after the header). 1: not a subscription
 * (the caller answers it); otherwise it is answered here (a refusal as a
 * return value) and the first notification sent: PLCIO_OK or the error that
 * ends the connection. */
int srvsub_create(srvsub *s, const srvsub_host *h, uint8_t version, const s7p_header *hd, const uint8_t *body,
                  size_t len);
/* DeleteObject of object id: true when it was a subscription (now gone). */
bool srvsub_delete(srvsub *s, uint32_t id);
/* SetVariable (body after the header): 0 not about a subscription; 1 done,
 * *ret the return value to answer (0, or an error for an unknown attribute). */
int srvsub_setvar(srvsub *s, const uint8_t *body, size_t len, uint64_t *ret);
/* Send what is due at now (ns, monotonic). < 0 ends the connection. */
int srvsub_tick(srvsub *s, const srvsub_host *h, uint64_t now);
/* How many subscriptions the session has. */
size_t srvsub_count(const srvsub *s);

#endif
