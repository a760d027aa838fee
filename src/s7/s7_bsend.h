/* BSend/BRecv frames of the S7 partner (peer-to-peer, "push" of the program
 * block communication): a userdata PDU of group 6, subfunction 1. No I/O, no
 * allocation: bytes in, struct out (and back).
 *
 * Fragment (type 4, request), sent by the BSend side:
 *   params  00 01 12 08 | 12 46 01 SEQ | IDSEQ EOS ERR(2)
 *           SEQ:   0 in the first fragment, then the SEQ the last ack carried
 *           IDSEQ: 0 for a block in one fragment, else one number per block
 *           EOS:   0 last fragment, 1 more follow
 *   data    FF 09 LEN(2) | 12 06 13 00 | R-ID(4) | [TOTAL(2)] | bytes
 *           LEN counts from 12 06 13 00 to the end; TOTAL (the whole block's
 *           length) is in the first fragment only.
 * Ack (type 8, response), sent by the BRecv side after each fragment:
 *   params  00 01 12 08 | 12 86 01 SEQ | 00 00 ERR(2)    data 0A 00 00 00
 * The PDU reference of an ack echoes the fragment's. */
#ifndef PLCIO_S7_BSEND_H
#define PLCIO_S7_BSEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "s7/s7_codec.h"

#define S7_BSEND_GROUP       0x06
#define S7_BSEND_SUBFUNCTION 0x01
#define S7_BSEND_PARAM_LEN   12     /* 00 01 12 08 + 8 */
#define S7_BSEND_DATA_HEAD   4      /* FF 09 LEN(2) */
#define S7_BSEND_VAR_HEAD    8      /* 12 06 13 00 R-ID(4) */
#define S7_BSEND_TOTAL_LEN   2      /* first fragment only */
#define S7_BSEND_MAX_BLOCK   65535u /* TOTAL is 16 bits */

typedef struct s7_bsend {
    uint32_t r_id;
    bool first;     /* carries TOTAL */
    uint16_t total; /* first fragment: the whole block's length */
    bool more;      /* EOS = 1: more fragments follow */
    uint8_t seq;
    uint8_t id_seq;
    uint16_t error;
    const uint8_t *data; /* borrowed (decode: points into the PDU) */
    size_t len;
} s7_bsend;

/* The most block bytes one fragment carries in a PDU of pdu_size. */
size_t s7_bsend_slice_max(uint16_t pdu_size, bool first);
/* Encode a whole frame (TPKT + COTP DT + S7) of one fragment. out->pdu_max is
 * honoured (0: no limit). PLCIO_EINVAL on a NULL data with len, PLCIO_ENOSPC. */
int s7_bsend_encode(s7_out *out, uint16_t pdu_ref, const s7_bsend *b);
/* Encode an ack for the fragment with PDU reference pdu_ref. */
int s7_bsend_ack_encode(s7_out *out, uint16_t pdu_ref, uint8_t seq, uint16_t error);

typedef enum s7_bsend_kind { S7_BSEND_NONE = 0, S7_BSEND_FRAGMENT, S7_BSEND_ACK } s7_bsend_kind;
/* What a decoded userdata PDU is: a fragment, an ack, or neither. */
s7_bsend_kind s7_bsend_classify(const s7_userdata *ud);
/* Decode a fragment; first says whether it opens a block (then TOTAL is
 * read). PLCIO_EPROTO with why in why (may be NULL) on a return code other
 * than FF, a variable head other than 12 06 13 00, a length too short. */
int s7_bsend_decode(const s7_userdata *ud, bool first, s7_bsend *out, const char **why);

#endif
