/* S7CommPlus password legitimation, both sides (client answers, simulator
 * checks). Facts: the challenge is attribute 303 of the session object;
 * legacy answer SHA1(password) XOR challenge to attribute 304; new answer
 * AES-256-CBC with key SHA-256(TLS exporter "EXPERIMENTAL_OMS", 32 bytes)
 * and IV challenge[0..16) to attribute 1846. What the new method encrypts is
 * not public: plcio's guess is SHA1(password), PKCS#7-padded to 32 bytes.
 * Untested against real PLCs (docs/s7plus.md). */
#ifndef PLCIO_S7P_LEGIT_H
#define PLCIO_S7P_LEGIT_H

#include <stddef.h>
#include <stdint.h>

#include "plcio/core.h"

#define S7P_CHALLENGE_LEN    20u /* what the simulator serves; the client needs >= 20 (legacy) or >= 16 (new) */
#define S7P_LEGIT_MAX_PW     64u
#define S7P_LEGIT_LEGACY_LEN 20u
#define S7P_LEGIT_NEW_LEN    32u

typedef struct ssl_st s7p_ssl; /* OpenSSL's SSL */

/* out: S7P_LEGIT_LEGACY_LEN bytes. PLCIO_EPROTO if the challenge is short. */
int s7p_legit_legacy(const char *password, const uint8_t *challenge, size_t clen, uint8_t *out);
/* out: S7P_LEGIT_NEW_LEN bytes. PLCIO_EPROTO (short challenge) or
 * PLCIO_EUNSUPPORTED (no TLS, exporter failed). */
int s7p_legit_new(s7p_ssl *ssl, const char *password, const uint8_t *challenge, size_t clen, uint8_t *out);

#endif
