/* Modbus codec: PDUs and the three framings (MBAP, RTU, ASCII). No I/O, no
 * allocation, no logging. Every decoder reports how many bytes it consumed,
 * or PLCIO_EAGAIN and how many bytes it needs at least.
 *
 * Internal to libplcio (tests include it through src/). */
#ifndef PLCIO_SRC_MODBUS_MB_CODEC_H
#define PLCIO_SRC_MODBUS_MB_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plcio/modbus.h"

/* words[0..n) hold a value big-endian (ABCD): rearrange them into `order`
 * (modbus.h table). The transformation is its own inverse. */
void mb_reorder_words(uint16_t *words, size_t n, plcio_mb_order order);

/* One PDU, request or response, as fields. Which fields a function code
 * uses is listed in mb_codec.c next to its encoder. `data` is borrowed from
 * the decoded buffer (or from the caller when encoding). */
typedef struct mb_pdu {
    uint8_t fc;                     /* function code without the exception bit */
    uint8_t exception;              /* response only: 0, or the exception code (AP 7) */
    uint16_t addr;                  /* starting / output / reference address; FC23 read address; FC24 FIFO address */
    uint16_t qty;                   /* quantity; FC23 read quantity; FC24 response: FIFO count */
    uint16_t value;                 /* FC5/FC6 value; FC7 response: status byte */
    uint16_t write_addr, write_qty; /* FC23 */
    uint16_t and_mask, or_mask;     /* FC22 */
    uint16_t sub;                   /* FC8 sub-function */
    uint16_t status, event_count, message_count;                    /* FC11/FC12 responses */
    uint8_t mei, devid_code, object_id;                             /* FC43 (request and response) */
    uint8_t conformity, more_follows, next_object_id, object_count; /* FC43/14 response */
    const uint8_t *data; /* FC15/16/23 values; FC1-4/23 response values; FC8 data; FC12 events;
                          * FC17 response after the byte count; FC20/21 sub-requests or
                          * responses after the byte count; FC24 registers; FC43 objects */
    size_t data_len;
} mb_pdu;

/* Build a request PDU. Quantities outside the limits of AP 6.x give
 * PLCIO_ERANGE (nothing is written); a too small buffer PLCIO_ENOSPC;
 * an unknown function code PLCIO_EUNSUPPORTED. */
int mb_request_encode(const mb_pdu *req, uint8_t *pdu, size_t cap, size_t *len);

/* Parse a request PDU (server side). PLCIO_OK, or PLCIO_EMBEXC with
 * req->exception set to the exception the server must answer with
 * (illegal function for unknown codes and sub-functions, illegal data value
 * for bad quantities, byte counts and lengths: AP 6.x state diagrams). */
int mb_request_decode(const uint8_t *pdu, size_t len, mb_pdu *req);

/* Build a response PDU (server side); resp->exception != 0 builds the
 * two-byte exception response. */
int mb_response_encode(const mb_pdu *resp, uint8_t *pdu, size_t cap, size_t *len);

/* Parse a response PDU (client side). Exception responses decode with
 * PLCIO_OK and resp->exception set. PLCIO_EPROTO when malformed. */
int mb_response_decode(const uint8_t *pdu, size_t len, mb_pdu *resp);

/* Does a decoded response answer this request? Checks the function code,
 * echoes (FC5/6/8/15/16/22), byte counts against quantities (FC1-4, 23).
 * PLCIO_OK, PLCIO_EMBEXC for an exception response to this function, or
 * PLCIO_EPROTO. */
int mb_response_check(const mb_pdu *req, const mb_pdu *resp);

/* Length of the PDU at `pdu` from its content (for RTU, where nothing else
 * delimits a frame except silence). PLCIO_OK and *len = PDU length;
 * PLCIO_EAGAIN and *len = bytes needed before the length is known;
 * PLCIO_EUNSUPPORTED when the content does not tell (unknown function code,
 * FC8 return-query-data, other MEI types): the frame ends at t3.5 silence. */
int mb_pdu_length(const uint8_t *pdu, size_t avail, bool request, size_t *len);

/* ---------------------------------------------------------------------------
 * MBAP (TCP 3.1.3): transaction id, protocol id 0, length = unit + PDU, unit.
 * ------------------------------------------------------------------------- */
#define PLCIO_MB_MBAP_HEADER     7
#define PLCIO_MB_MBAP_MAX_LENGTH 254 /* unit id + 253-byte PDU */
#define PLCIO_MB_TCP_MAX_ADU     (PLCIO_MB_MBAP_HEADER - 1 + PLCIO_MB_MBAP_MAX_LENGTH)

typedef struct mb_frame {
    uint16_t tid;       /* MBAP transaction id (0 for serial) */
    uint8_t unit;       /* unit identifier / serial address */
    const uint8_t *pdu; /* borrowed from the input */
    size_t pdu_len;
} mb_frame;

/* Write header + PDU. PLCIO_ENOSPC / PLCIO_EINVAL (PDU empty or > 253). */
int mb_mbap_encode(uint16_t tid, uint8_t unit, const uint8_t *pdu, size_t pdu_len, uint8_t *out, size_t cap,
                   size_t *len);
/* Frame on the MBAP length field. PLCIO_OK (*consumed = frame size),
 * PLCIO_EAGAIN (*needed = total bytes needed), PLCIO_EPROTO when the
 * protocol id is not 0 or the length field is < 2 or > 254: the stream
 * cannot be resynchronised, the connection must be closed. */
int mb_mbap_decode(const uint8_t *buf, size_t len, mb_frame *frame, size_t *consumed, size_t *needed);

/* ---------------------------------------------------------------------------
 * RTU (SL 2.5.1): address, PDU, CRC low byte first; frames separated by 3.5
 * character times of silence, characters within a frame by < 1.5.
 * ------------------------------------------------------------------------- */
#define PLCIO_MB_RTU_MAX_ADU 256 /* SL 2.5.1.1 */

int mb_rtu_encode(uint8_t unit, const uint8_t *pdu, size_t pdu_len, uint8_t *out, size_t cap, size_t *len);
/* Decode the frame at the start of buf. `request` picks the length rules
 * (a server decodes requests, a client responses). `idle` says the line has
 * been silent for t3.5 since the last byte, so what is buffered is all of the
 * frame. PLCIO_OK: frame, *consumed. PLCIO_EAGAIN: *needed bytes in total (0
 * = wait for silence). PLCIO_ECRC: CRC mismatch, *consumed = bytes to drop.
 * PLCIO_EPROTO: too short/long a frame at silence, *consumed = bytes to drop. */
int mb_rtu_decode(const uint8_t *buf, size_t len, bool request, bool idle, mb_frame *frame, size_t *consumed,
                  size_t *needed);

/* Inter-character (t1.5) and inter-frame (t3.5) times in microseconds for a
 * baud rate: 11 bits per character (SL 2.5.1.1); above 19200 baud the fixed
 * 750 us and 1750 us (SL 2.5.1.1, "implementation recommended"). */
void mb_rtu_timing(unsigned long baud, uint32_t *t15_us, uint32_t *t35_us);

/* ---------------------------------------------------------------------------
 * ASCII (SL 2.5.2): ':' then address, PDU and LRC as upper-case hex, CR LF.
 * ------------------------------------------------------------------------- */
#define PLCIO_MB_ASCII_MAX_ADU 513 /* SL 2.5.2.1 */

int mb_ascii_encode(uint8_t unit, const uint8_t *pdu, size_t pdu_len, uint8_t *out, size_t cap, size_t *len);
/* Decode the first frame. Bytes before ':' are dropped (counted in
 * *consumed with PLCIO_EPROTO). The hex is decoded into `scratch` (at least
 * 256 bytes), which frame->pdu then points into. `lf` is the end delimiter
 * (normally '\n', FC8 sub-function 3 changes it). PLCIO_OK, PLCIO_EAGAIN
 * (*needed = 0: wait for the delimiter), PLCIO_ECRC (LRC), PLCIO_EPROTO. */
int mb_ascii_decode(const uint8_t *buf, size_t len, uint8_t lf, uint8_t *scratch, size_t scratch_cap, mb_frame *frame,
                    size_t *consumed, size_t *needed);

#endif
