/* S7 codec: TPKT (RFC 1006), COTP class 0 (ISO 8073 / RFC 905, as profiled by
 * RFC 2126) and the classic S7 PDU ("S7comm", protocol id 0x32).
 *
 * Rules: no I/O, no allocation, no logging. Decoders take complete units
 * (a TPKT frame is found in a stream with tpkt_decode; a COTP TPDU is a
 * TPKT payload; an S7 PDU is the reassembled user data of COTP DT TPDUs) and
 * either fill a struct or return an error; every length field is checked
 * against what is really there. Pointers in decoded structs borrow from the
 * input buffer. Encoders write one whole frame (TPKT + COTP DT + S7) into a
 * caller buffer described by s7_out and report its length; they fail with
 * PLCIO_ENOSPC when the buffer or the negotiated PDU size is too small.
 *
 * Return values: PLCIO_OK; PLCIO_EAGAIN (+ bytes needed) only from the stream
 * framer; PLCIO_EPROTO for malformed or inconsistent input; PLCIO_EUNSUPPORTED
 * for well-formed input this codec does not handle (e.g. a non-S7ANY item);
 * PLCIO_EINVAL / PLCIO_ERANGE / PLCIO_ENOSPC for bad encoder input.
 *
 * WHO USES WHAT
 *   both sides   tpkt_decode (stream framing), tpkt_encode,
 *                cotp_decode, cotp_dt_decode, cotp_dt_encode,
 *                cotp_dr_encode, cotp_er_encode,
 *                s7_pdu_decode (split any S7 PDU),
 *                s7_writer_* (build any frame), sizes and text tables,
 *                s7_tsap, block names, clock and SZL header codecs.
 *   client       ENCODES requests:  cotp_cr_encode,
 *                  s7_setup_encode (rosctr JOB), s7_read_request_encode,
 *                  s7_write_request_encode, s7_userdata_encode (method
 *                  request / continuation), s7_control_encode,
 *                  s7_xfer_job_encode (start upload, upload, end upload,
 *                  request download), s7_xfer_ack_encode (download block /
 *                  download ended answers to the PLC's own jobs).
 *                DECODES responses: cotp_decode (CC/DR/ER),
 *                  s7_setup_decode, s7_read_response_decode,
 *                  s7_write_response_decode, s7_userdata_decode +
 *                  s7_userdata_check / s7_ud_assembly_*,
 *                  s7_control_response_decode, s7_xfer_ack_decode,
 *                  s7_xfer_job_decode (the PLC's download-block jobs),
 *                  s7_block_counts_decode, s7_block_list_decode,
 *                  s7_block_info_decode, s7_szl_header_decode,
 *                  s7_clock_decode.
 *   server       DECODES requests:  cotp_decode (CR),
 *                  s7_setup_decode, s7_read_request_decode,
 *                  s7_write_request_decode, s7_userdata_decode,
 *                  s7_control_decode, s7_xfer_job_decode,
 *                  s7_block_name_decode (block info / list-of-type payloads),
 *                  s7_szl_request_decode, s7_clock_decode (set clock),
 *                  s7_password_decode.
 *                ENCODES responses: cotp_cc_encode, cotp_dr_encode,
 *                  s7_setup_encode (rosctr ACK_DATA), s7_error_encode,
 *                  s7_read_response_encode, s7_write_response_encode,
 *                  s7_userdata_encode (method response, fragments),
 *                  s7_control_response_encode, s7_xfer_ack_encode,
 *                  s7_block_counts_encode, s7_block_list_encode,
 *                  s7_block_info_encode, s7_szl_header_encode,
 *                  s7_clock_encode.
 *
 * References: RFC 1006 s.6 (TPKT), RFC 905 s.13 (TPDU structure), RFC 2126
 * (class 0 use), and the public S7comm dissector of Wireshark for the S7 PDU
 * layout (packet-s7comm.c): field names below follow it. */
#ifndef PLCIO_S7_CODEC_H
#define PLCIO_S7_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plcio/bytes.h"
#include "plcio/core.h"
#include "plcio/s7.h"

/* Short area names used inside src/s7 (same values as plcio_s7_area of
 * plcio/address.h, which owns the public enum), plus L and V. */
#define PLCIO_S7_AREA_I PLCIO_S7_AREA_PE
#define PLCIO_S7_AREA_Q PLCIO_S7_AREA_PA
#define PLCIO_S7_AREA_M PLCIO_S7_AREA_MK
#define PLCIO_S7_AREA_C PLCIO_S7_AREA_CT
#define PLCIO_S7_AREA_T PLCIO_S7_AREA_TM
#define PLCIO_S7_AREA_L 0x86
#define PLCIO_S7_AREA_V 0x87

/* ======================================================================
 * TPKT (RFC 1006 s.6): version 3, reserved, 16-bit length of the whole frame.
 * ==================================================================== */
#define PLCIO_TPKT_VERSION    3
#define PLCIO_TPKT_HEADER_LEN 4
#define PLCIO_TPKT_MIN_LEN    7     /* header + the smallest TPDU (DT, 3 bytes) */
#define PLCIO_TPKT_MAX_LEN    65535 /* 16-bit length field */

/* Look at the start of a byte stream.
 *  PLCIO_OK:     a whole frame is present; *frame_len = its length (payload is
 *                buf+4, frame_len-4 bytes). Bytes after it belong to the next frame.
 *  PLCIO_EAGAIN: *frame_len = total bytes needed (4 while the header is short).
 *  PLCIO_EPROTO: version is not 3 or the length is below 7. The reserved byte
 *                is ignored.
 * Inline: every frame of every connection passes here. */
static inline int tpkt_decode(const uint8_t *buf, size_t len, size_t *frame_len)
{
    if (!frame_len || (!buf && len)) return PLCIO_EINVAL;
    if (len < PLCIO_TPKT_HEADER_LEN) {
        *frame_len = PLCIO_TPKT_HEADER_LEN;
        return PLCIO_EAGAIN;
    }
    if (buf[0] != PLCIO_TPKT_VERSION) return PLCIO_EPROTO; /* RFC 1006 s.6: vrsn 3 */
    size_t n = plcio_get_u16be(buf + 2);
    if (n < PLCIO_TPKT_MIN_LEN) return PLCIO_EPROTO;
    *frame_len = n;
    return len >= n ? PLCIO_OK : PLCIO_EAGAIN;
}
/* Header + payload (len 3..65531). PLCIO_EINVAL outside that range,
 * PLCIO_ENOSPC if w is too small. */
int tpkt_encode(plcio_wcursor *w, const uint8_t *payload, size_t len);
/* Write the 4-byte header for a frame of frame_len bytes (7..65535) at p. */
int tpkt_header_put(uint8_t *p, size_t frame_len);

/* ======================================================================
 * COTP class 0 TPDUs (RFC 905 s.13).
 * ==================================================================== */
enum {
    PLCIO_COTP_CR = 0xE0, /* connection request   13.3 */
    PLCIO_COTP_CC = 0xD0, /* connection confirm   13.4 */
    PLCIO_COTP_DR = 0x80, /* disconnect request   13.5 */
    PLCIO_COTP_DC = 0xC0, /* disconnect confirm   13.6 */
    PLCIO_COTP_DT = 0xF0, /* data                 13.7 */
    PLCIO_COTP_ER = 0x70  /* TPDU error           13.12 */
};
/* Parameter codes of CR/CC (13.3.4). */
enum {
    PLCIO_COTP_P_TPDU_SIZE = 0xC0,
    PLCIO_COTP_P_SRC_TSAP = 0xC1,    /* calling TSAP */
    PLCIO_COTP_P_DST_TSAP = 0xC2,    /* called TSAP */
    PLCIO_COTP_P_INVALID_TPDU = 0xC1 /* in ER: the rejected header */
};
#define PLCIO_COTP_DT_HEADER_LEN 3
#define PLCIO_COTP_EOT           0x80
/* A TSAP may be longer than 2 bytes: routed connections through a gateway CPU
 * carry the route (subnet id, target address) in an extended called TSAP. */
#define PLCIO_COTP_TSAP_MAX 32

/* CR and CC fields. tpdu_size is the byte size (128..8192, a power of two);
 * 0 means the parameter is absent. */
typedef struct cotp_conn {
    uint16_t dst_ref;
    uint16_t src_ref;
    uint8_t class_option; /* class 0, options 0 */
    uint16_t tpdu_size;
    uint8_t src_tsap_len;
    uint8_t dst_tsap_len;
    uint8_t src_tsap[PLCIO_COTP_TSAP_MAX];
    uint8_t dst_tsap[PLCIO_COTP_TSAP_MAX];
} cotp_conn;

typedef struct cotp_tpdu {
    uint8_t code;        /* PLCIO_COTP_CR ... (high nibble for CR/CC/DR/DC/ER, 0xF0 for DT) */
    bool eot;            /* DT: last TPDU of the S7 PDU */
    const uint8_t *data; /* DT: user data; CR/CC/DR: user data after the header (usually none) */
    size_t data_len;
    cotp_conn conn;   /* CR, CC */
    uint16_t dst_ref; /* DR, DC, ER */
    uint16_t src_ref; /* DR, DC */
    uint8_t reason;   /* DR: reason (13.5.3); ER: reject cause (13.12.3) */
} cotp_tpdu;

/* Decode one TPDU (a whole TPKT payload). PLCIO_EPROTO on a length indicator
 * that disagrees with the buffer, unknown codes, or bad parameters (unknown CR/CC
 * parameters are skipped as RFC 905 asks; TSAPs longer than the maximum are rejected). */
int cotp_decode(const uint8_t *buf, size_t len, cotp_tpdu *out);
/* Decode a DT TPDU only: header must be exactly 02 F0 (80|00). */
int cotp_dt_decode(const uint8_t *buf, size_t len, bool *eot, const uint8_t **data, size_t *data_len);
/* Encoders write the TPDU header (and parameters) at w; the caller writes the
 * TPKT header around it (cotp_*_frame do both). */
int cotp_dt_encode(plcio_wcursor *w, bool eot);
int cotp_cr_encode(plcio_wcursor *w, const cotp_conn *c);
int cotp_cc_encode(plcio_wcursor *w, const cotp_conn *c);
int cotp_dr_encode(plcio_wcursor *w, uint16_t dst_ref, uint16_t src_ref, uint8_t reason);
int cotp_er_encode(plcio_wcursor *w, uint16_t dst_ref, uint8_t cause, const uint8_t *bad_header, size_t bad_len);
/* A whole TPKT frame holding a CR / CC; *frame_len gets its length. */
int cotp_cr_frame(uint8_t *buf, size_t cap, const cotp_conn *c, size_t *frame_len);
int cotp_cc_frame(uint8_t *buf, size_t cap, const cotp_conn *c, size_t *frame_len);
/* TPDU size code of parameter C0 (RFC 905 13.3.4 b): 7..13 = 128..8192 bytes. */
uint16_t cotp_tpdu_size_from_code(uint8_t code); /* 0 if invalid */
uint8_t cotp_tpdu_size_code(uint16_t size);      /* largest code <= size, 0 if < 128 */

/* Classic 2-byte TSAP: connection type in the high byte, rack*32+slot in the low. */
static inline uint16_t s7_tsap(uint8_t conn_type, unsigned rack, unsigned slot)
{
    return (uint16_t)((unsigned)conn_type << 8 | ((rack & 7u) << 5 | (slot & 31u)));
}

/* ======================================================================
 * S7 PDU header.
 * ==================================================================== */
#define PLCIO_S7_PROTOCOL_ID 0x32
enum { PLCIO_S7_JOB = 1, PLCIO_S7_ACK = 2, PLCIO_S7_ACK_DATA = 3, PLCIO_S7_USERDATA = 7 };
#define PLCIO_S7_HEADER_LEN     10 /* job, userdata */
#define PLCIO_S7_ACK_HEADER_LEN 12 /* ack, ack-data: + error class, error code */
/* Bytes in front of an S7 PDU in a frame: TPKT 4 + COTP DT 3. */
#define PLCIO_S7_FRAME_OVERHEAD (PLCIO_TPKT_HEADER_LEN + PLCIO_COTP_DT_HEADER_LEN)
#define PLCIO_S7_PDU_MIN        240 /* smallest PDU size a partner may negotiate */
#define PLCIO_S7_PDU_MAX        960 /* what S7-300/400/1500 and snap7 offer at most */

/* Job functions (first parameter byte). */
enum {
    PLCIO_S7_FN_READ = 0x04,
    PLCIO_S7_FN_WRITE = 0x05,
    PLCIO_S7_FN_REQUEST_DOWNLOAD = 0x1A,
    PLCIO_S7_FN_DOWNLOAD_BLOCK = 0x1B,
    PLCIO_S7_FN_DOWNLOAD_ENDED = 0x1C,
    PLCIO_S7_FN_START_UPLOAD = 0x1D,
    PLCIO_S7_FN_UPLOAD = 0x1E,
    PLCIO_S7_FN_END_UPLOAD = 0x1F,
    PLCIO_S7_FN_PI_SERVICE = 0x28,
    PLCIO_S7_FN_PLC_STOP = 0x29,
    PLCIO_S7_FN_SETUP = 0xF0
};

typedef struct s7_pdu {
    uint8_t rosctr; /* PLCIO_S7_JOB ... */
    uint16_t pdu_ref;
    uint8_t error_class; /* ack / ack-data only */
    uint8_t error_code;
    const uint8_t *param; /* borrowed; NULL when param_len is 0 */
    uint16_t param_len;
    const uint8_t *data; /* borrowed; NULL when data_len is 0 */
    uint16_t data_len;
} s7_pdu;

/* Split a complete S7 PDU. PLCIO_EPROTO unless protocol id is 0x32, rosctr is
 * known, and header + param_len + data_len equals len exactly. */
int s7_pdu_decode(const uint8_t *buf, size_t len, s7_pdu *out);
static inline uint16_t s7_pdu_error(const s7_pdu *p) { return (uint16_t)(p->error_class << 8 | p->error_code); }
/* First parameter byte (the function), or -1 when there are no parameters. */
static inline int s7_pdu_function(const s7_pdu *p) { return p->param_len ? p->param[0] : -1; }

/* ---- frame building ----
 * A frame is TPKT + COTP DT (EOT) + S7 header + parameters + data. The writer
 * reserves the headers, the caller (or an encoder below) appends parameters,
 * calls s7_writer_data, appends data, and s7_writer_end patches
 * every length. */
typedef struct s7_out {
    uint8_t *buf; /* frame buffer, borrowed */
    size_t cap;
    size_t pdu_max; /* largest S7 PDU allowed (negotiated size); 0: no limit but 65528 */
    size_t len;     /* out: frame length after a successful encode */
} s7_out;

static inline s7_out s7_out_make(void *buf, size_t cap, size_t pdu_max)
{
    s7_out o = {(uint8_t *)buf, cap, pdu_max, 0};
    return o;
}

typedef struct s7_writer {
    plcio_wcursor w; /* append here */
    s7_out *out;
    uint8_t *s7;    /* start of the S7 header */
    uint8_t *param; /* start of the parameters */
    uint8_t *data;  /* start of the data, NULL before s7_writer_data */
    uint8_t rosctr;
} s7_writer;

/* error is class << 8 | code, written for ACK / ACK_DATA only. */
void s7_writer_begin(s7_writer *wr, s7_out *out, uint8_t rosctr, uint16_t pdu_ref, uint16_t error);
void s7_writer_data(s7_writer *wr);
/* PLCIO_OK and out->len set; PLCIO_ENOSPC if anything overran the buffer or
 * the S7 PDU exceeds out->pdu_max. */
int s7_writer_end(s7_writer *wr);

/* An ack-data (or ack) carrying only an error and the function byte:
 * the answer a server gives to a job it refuses. function < 0: no parameters. */
int s7_error_encode(s7_out *out, uint8_t rosctr, uint16_t pdu_ref, int function, uint16_t error);

/* ======================================================================
 * Setup communication (function 0xF0): job from the client, ack-data back.
 * ==================================================================== */
typedef struct s7_setup {
    uint16_t max_amq_calling; /* parallel jobs the client may have open */
    uint16_t max_amq_called;  /* parallel jobs the server accepts */
    uint16_t pdu_size;
} s7_setup;
/* rosctr: PLCIO_S7_JOB (client) or PLCIO_S7_ACK_DATA (server). */
int s7_setup_encode(s7_out *out, uint8_t rosctr, uint16_t pdu_ref, const s7_setup *s);
/* Either direction; PLCIO_EPROTO if not a setup PDU or pdu_size == 0. */
int s7_setup_decode(const s7_pdu *pdu, s7_setup *out);

/* ======================================================================
 * Read var (0x04) / write var (0x05) with S7ANY items (syntax id 0x10).
 * ==================================================================== */
#define PLCIO_S7_ITEM_LEN           12 /* request item: 12 0A 10 ts count db area addr3 */
#define PLCIO_S7_RW_PARAM_HEAD      2  /* function, item count */
#define PLCIO_S7_DATA_ITEM_HEAD     4  /* return code, transport size, length */
#define PLCIO_S7_READ_REQ_OVERHEAD  (PLCIO_S7_HEADER_LEN + PLCIO_S7_RW_PARAM_HEAD)     /* 12 */
#define PLCIO_S7_READ_RSP_OVERHEAD  (PLCIO_S7_ACK_HEADER_LEN + PLCIO_S7_RW_PARAM_HEAD) /* 14 */
#define PLCIO_S7_WRITE_REQ_OVERHEAD PLCIO_S7_READ_REQ_OVERHEAD
#define PLCIO_S7_WRITE_RSP_OVERHEAD PLCIO_S7_READ_RSP_OVERHEAD
#define PLCIO_S7_MAX_ITEMS          20 /* items per read/write PDU that CPUs accept */
#define PLCIO_S7_SYNTAX_S7ANY       0x10
#define PLCIO_S7_MAX_BYTE_ADDRESS   0x1FFFFFu /* 24-bit bit address / 8 */

/* Data-item return codes. */
enum {
    PLCIO_S7_RC_RESERVED = 0x00,
    PLCIO_S7_RC_HW_FAULT = 0x01,
    PLCIO_S7_RC_ACCESS_DENIED = 0x03,
    PLCIO_S7_RC_ADDRESS_OUT_OF_RANGE = 0x05,
    PLCIO_S7_RC_TYPE_NOT_SUPPORTED = 0x06,
    PLCIO_S7_RC_TYPE_INCONSISTENT = 0x07,
    PLCIO_S7_RC_OBJECT_NOT_FOUND = 0x0A,
    PLCIO_S7_RC_SUCCESS = 0xFF
};
/* Data-item transport sizes (data part). BIT, BYTE and INT give the length in
 * bits, the others in bytes. */
enum {
    PLCIO_S7_DTS_NULL = 0x00,
    PLCIO_S7_DTS_BIT = 0x03,
    PLCIO_S7_DTS_BYTE = 0x04, /* byte/word/dword */
    PLCIO_S7_DTS_INT = 0x05,
    PLCIO_S7_DTS_DINT = 0x06,
    PLCIO_S7_DTS_REAL = 0x07,
    PLCIO_S7_DTS_OCTET = 0x09
};

/* One S7ANY item. start is a byte offset, except for the counter and timer
 * transport sizes where it is the counter/timer number (the wire address is
 * then not multiplied by 8). */
typedef struct s7_item {
    uint8_t area;      /* plcio_s7_area */
    uint8_t transport; /* plcio_s7_transport */
    uint16_t count;    /* elements of `transport`; 1 for a bit */
    uint16_t db;       /* DB / DI number, 0 for other areas */
    uint32_t start;
    uint8_t bit; /* 0..7, bit transport only */
} s7_item;

/* Size in bytes of one element of a request transport size; 0 if unknown.
 * (BIT: 1 byte carries the bit.) */
size_t s7_transport_size(uint8_t transport);
/* Bytes the item reads or writes (count * element size); 0 if invalid. */
size_t s7_item_bytes(const s7_item *item);
/* PLCIO_OK if the item can be encoded (known area and transport, bit <= 7 and
 * count 1 for BIT, start within the 24-bit address). */
int s7_item_check(const s7_item *item);
/* The data transport size a write request uses for this item
 * (BIT -> DTS_BIT, COUNTER/TIMER -> DTS_OCTET, everything else -> DTS_BYTE). */
uint8_t s7_item_data_transport(const s7_item *item);
/* Byte length of a data item from its transport size and length field
 * (bits rounded up for BIT/BYTE/INT). */
size_t s7_data_len_bytes(uint8_t dts, uint16_t length_field);

/* Budgets: bytes an item adds to each of the four PDUs (padding included). */
static inline size_t s7_read_req_cost(void) { return PLCIO_S7_ITEM_LEN; }
static inline size_t s7_read_rsp_cost(size_t bytes) { return PLCIO_S7_DATA_ITEM_HEAD + bytes + (bytes & 1u); }
static inline size_t s7_write_req_cost(size_t bytes)
{
    return PLCIO_S7_ITEM_LEN + PLCIO_S7_DATA_ITEM_HEAD + bytes + (bytes & 1u);
}
static inline size_t s7_write_rsp_cost(void) { return 1; }

/* A data item of a read response or a write request. data borrows from the
 * PDU (decode) or from the caller (encode). */
typedef struct s7_data_item {
    uint8_t return_code; /* read response: 0xFF or an error; write request: 0x00 */
    uint8_t transport;   /* PLCIO_S7_DTS_* */
    const uint8_t *data;
    uint16_t len; /* bytes */
} s7_data_item;

/* Client: a read request for n items (1..PLCIO_S7_MAX_ITEMS). */
int s7_read_request_encode(s7_out *out, uint16_t pdu_ref, const s7_item *items, size_t n);
/* Server: decode a read request into items[0..cap); *n gets the count.
 * PLCIO_EPROTO if the count is 0, disagrees with param_len, or a data part is
 * present; PLCIO_ENOSPC if more than cap items; PLCIO_EUNSUPPORTED for items
 * that are not S7ANY (syntax id 0x10, spec length 10). */
int s7_read_request_decode(const s7_pdu *pdu, s7_item *items, size_t cap, size_t *n);

/* Server: a read response. Failed items carry their return code, transport 0
 * and no data. Odd-length items are padded except the last. */
int s7_read_response_encode(s7_out *out, uint16_t pdu_ref, const s7_data_item *items, size_t n);
/* Client: decode a read response against the n request items. A successful
 * item must carry exactly s7_item_bytes(req) bytes; padding must be
 * present between items and nothing may trail. out[i].return_code tells each
 * item's fate (PLCIO_OK is returned even when items failed).
 * PLCIO_EPLC if the PDU carries a header error (see s7_pdu_error). */
int s7_read_response_decode(const s7_pdu *pdu, const s7_item *req, size_t n, s7_data_item *out);

/* Client: a write request; data[i].len must equal s7_item_bytes(&items[i]).
 * data[i].transport 0 means "choose with s7_item_data_transport". */
int s7_write_request_encode(s7_out *out, uint16_t pdu_ref, const s7_item *items, const s7_data_item *data, size_t n);
/* Server: decode a write request: items and their data (cap each). */
int s7_write_request_decode(const s7_pdu *pdu, s7_item *items, s7_data_item *data, size_t cap, size_t *n);
/* Server: a write response, one return code per item. */
int s7_write_response_encode(s7_out *out, uint16_t pdu_ref, const uint8_t *return_codes, size_t n);
/* Client: decode a write response for n items into return_codes[n].
 * PLCIO_EPLC on a header error. */
int s7_write_response_decode(const s7_pdu *pdu, size_t n, uint8_t *return_codes);

/* ======================================================================
 * Userdata (rosctr 7): SZL, block functions, clock, security.
 * Parameter: 00 01 12 | len | method | type<<4|group | subfunction | sequence
 *            [ | data unit ref | last data unit | error (2) ]  when len is 8
 * Data:      return code | transport size | length (2) | payload
 * ==================================================================== */
enum {
    PLCIO_S7_UD_METHOD_REQUEST = 0x11,
    PLCIO_S7_UD_METHOD_RESPONSE = 0x12 /* also used by continuation requests */
};
enum { PLCIO_S7_UD_TYPE_PUSH = 0x0, PLCIO_S7_UD_TYPE_REQUEST = 0x4, PLCIO_S7_UD_TYPE_RESPONSE = 0x8 };
enum {
    PLCIO_S7_UD_GROUP_MODE = 1,
    PLCIO_S7_UD_GROUP_CYCLIC = 2,
    PLCIO_S7_UD_GROUP_BLOCK = 3,
    PLCIO_S7_UD_GROUP_CPU = 4, /* SZL */
    PLCIO_S7_UD_GROUP_SECURITY = 5,
    PLCIO_S7_UD_GROUP_TIME = 7
};
enum {
    PLCIO_S7_UD_BLOCK_LIST = 1,
    PLCIO_S7_UD_BLOCK_LIST_TYPE = 2,
    PLCIO_S7_UD_BLOCK_INFO = 3,
    PLCIO_S7_UD_CPU_READ_SZL = 1,
    PLCIO_S7_UD_SECURITY_SET_PASSWORD = 1,
    PLCIO_S7_UD_SECURITY_CLEAR_PASSWORD = 2,
    PLCIO_S7_UD_TIME_READ = 1,
    PLCIO_S7_UD_TIME_SET = 2
};

typedef struct s7_userdata {
    uint8_t method; /* PLCIO_S7_UD_METHOD_* */
    uint8_t type;   /* PLCIO_S7_UD_TYPE_* */
    uint8_t group;  /* PLCIO_S7_UD_GROUP_* */
    uint8_t subfunction;
    uint8_t sequence;
    bool extended; /* 8-byte parameter tail: responses, continuation requests */
    uint8_t data_unit_ref;
    bool more;           /* "last data unit" = 0x01: more fragments follow */
    uint16_t error;      /* parameter error code, 0 = none */
    uint8_t return_code; /* data part: 0xFF ok, 0x0A no data / object not found */
    uint8_t transport;   /* PLCIO_S7_DTS_OCTET, or 0 with no payload */
    const uint8_t *payload;
    uint16_t payload_len;
} s7_userdata;

/* A request with payload (return code FF, octet string) or without
 * (0A 00 00 00 as CPUs expect); sequence 0 for a first request. */
s7_userdata s7_userdata_request(uint8_t group, uint8_t subfunction, uint8_t sequence, const uint8_t *payload,
                                uint16_t len);
/* The continuation request for the next fragment of a multi-packet answer. */
s7_userdata s7_userdata_continue(uint8_t group, uint8_t subfunction, uint8_t sequence);
/* A response (server side) with payload and the more flag. */
s7_userdata s7_userdata_response(uint8_t group, uint8_t subfunction, uint8_t sequence, uint8_t data_unit_ref, bool more,
                                 uint16_t error, const uint8_t *payload, uint16_t len);
int s7_userdata_encode(s7_out *out, uint16_t pdu_ref, const s7_userdata *ud);
/* PLCIO_EPROTO on a bad parameter head, a "last data unit" other than 0/1,
 * or a data length that disagrees with data_len. */
int s7_userdata_decode(const s7_pdu *pdu, s7_userdata *out);
/* Client check of a decoded response: type response, group and subfunction
 * as asked (PLCIO_EPROTO otherwise); PLCIO_EPLC if the parameter error is set
 * or the return code is not 0xFF (then *error gets the error, or the return
 * code when the error field is 0). */
int s7_userdata_check(const s7_userdata *ud, uint8_t group, uint8_t subfunction, uint16_t *error);

/* Reassembly of a multi-fragment userdata answer into a caller buffer. */
typedef struct s7_ud_assembly {
    uint8_t group, subfunction;
    uint8_t *buf; /* borrowed */
    size_t cap;   /* maximum_bytes */
    size_t len;
    size_t max_fragments;
    size_t fragments;
    uint8_t sequence; /* of the last fragment, for the next continuation request */
    bool done;
    uint16_t error; /* PLC error after PLCIO_EPLC */
} s7_ud_assembly;
void s7_ud_assembly_init(s7_ud_assembly *a, uint8_t group, uint8_t subfunction, uint8_t *buf, size_t cap,
                         size_t max_fragments);
/* PLCIO_OK: complete; PLCIO_EAGAIN: ask for the next fragment (sequence in
 * a->sequence); PLCIO_EPROTO: wrong group/function, fragment after the end;
 * PLCIO_ELIMIT: more bytes or fragments than allowed; PLCIO_EPLC: refused. */
int s7_ud_assembly_add(s7_ud_assembly *a, const s7_userdata *ud);

/* ---- SZL (system status list) ---- */
typedef struct s7_szl_header {
    uint16_t id;
    uint16_t index;
    uint16_t entry_len; /* bytes per entry */
    uint16_t entry_count;
} s7_szl_header;
#define PLCIO_S7_SZL_HEADER_LEN 8
/* Request payload: id, index (4 bytes). */
int s7_szl_request_encode(uint8_t out[4], uint16_t id, uint16_t index);
int s7_szl_request_decode(const uint8_t *payload, size_t len, uint16_t *id, uint16_t *index);
/* Answer header at the start of the first fragment's payload. */
int s7_szl_header_decode(const uint8_t *payload, size_t len, s7_szl_header *out);
void s7_szl_header_encode(uint8_t out[8], const s7_szl_header *h);

/* ---- clock: 10 bytes, 00 19 then BCD YY MM DD hh mm ss, ms (3 digits) and weekday ---- */
typedef struct s7_datetime {
    uint16_t year; /* 1990..2089 */
    uint8_t month, day, hour, minute, second;
    uint16_t millisecond;
    uint8_t weekday; /* 1 = Sunday .. 7 = Saturday */
} s7_datetime;
#define PLCIO_S7_CLOCK_LEN 10
/* PLCIO_EPROTO on a bad BCD digit or an impossible date/time, PLCIO_EPROTO if len != 10. */
int s7_clock_decode(const uint8_t *p, size_t len, s7_datetime *out);
/* PLCIO_ERANGE for an impossible date/time. */
int s7_clock_encode(uint8_t out[10], const s7_datetime *dt);
/* Decode 8 BCD bytes of a DATE_AND_TIME (shared with the value codecs). */
int s7_dt_bcd_decode(const uint8_t p[8], s7_datetime *out);
int s7_dt_bcd_encode(uint8_t out[8], const s7_datetime *dt);

/* ---- session password (8 bytes, snap7/STEP 7 scrambling) ---- */
/* password: up to 8 chars, padded with spaces. PLCIO_EINVAL if longer. */
int s7_password_encode(uint8_t out[8], const char *password);
/* Inverse: out gets the 8 clear bytes (space padded) and a NUL. */
void s7_password_decode(const uint8_t in[8], char out[9]);

/* ---- blocks ---- */
enum {
    PLCIO_S7_BLOCK_OB = 0x38,
    PLCIO_S7_BLOCK_DB = 0x41,
    PLCIO_S7_BLOCK_SDB = 0x42,
    PLCIO_S7_BLOCK_FC = 0x43,
    PLCIO_S7_BLOCK_SFC = 0x44,
    PLCIO_S7_BLOCK_FB = 0x45,
    PLCIO_S7_BLOCK_SFB = 0x46
};
#define PLCIO_S7_BLOCK_TYPES 7
/* "OB", "DB", ... or NULL. */
const char *s7_block_type_name(uint8_t type);
/* Parse "OB","DB","SDB","FC","SFC","FB","SFB" (case-insensitive); 0 if unknown. */
uint8_t s7_block_type_parse(const char *name);

/* Block counts of "list blocks": one count per type, in the fixed order
 * OB, FB, FC, DB, SDB, SFC, SFB (index with s7_block_type_index). */
typedef struct s7_block_counts {
    uint16_t count[PLCIO_S7_BLOCK_TYPES];
} s7_block_counts;
int s7_block_type_index(uint8_t type); /* -1 if unknown */
/* PLCIO_EPROTO on length not a multiple of 4, an unknown type, a duplicate. */
int s7_block_counts_decode(const uint8_t *payload, size_t len, s7_block_counts *out);
/* Writes 28 bytes (7 entries 30 tt nnnn). */
int s7_block_counts_encode(plcio_wcursor *w, const s7_block_counts *c);

typedef struct s7_block_entry {
    uint16_t number;
    uint8_t flags;
    uint8_t language;
} s7_block_entry;
/* Entries of "list blocks of type" (4 bytes each). *n gets the number decoded;
 * PLCIO_ENOSPC if more than cap; PLCIO_EPROTO if len is not a multiple of 4. */
int s7_block_list_decode(const uint8_t *payload, size_t len, s7_block_entry *out, size_t cap, size_t *n);
int s7_block_list_encode(plcio_wcursor *w, const s7_block_entry *e, size_t n);

/* Payload of a block info request and of list-of-type requests:
 * "0" type then (info only) 5 ASCII digits and the file system 'A'. */
int s7_block_name_encode(uint8_t out[8], uint8_t type, uint16_t number);
/* len 2 (list of type: "0" type) or 8 (info); number is 0 for len 2. */
int s7_block_name_decode(const uint8_t *payload, size_t len, uint8_t *type, uint16_t *number);

/* Block info answer (78 bytes). Dates are the raw 6 bytes (ms since midnight,
 * days since 1984-01-01). Strings are NUL-terminated, trailing spaces removed. */
typedef struct s7_block_info {
    uint8_t block_type; /* PLCIO_S7_BLOCK_* */
    uint8_t flags;
    uint8_t language;
    uint8_t sub_block_type;
    uint16_t number;
    uint32_t load_size;
    uint32_t security;
    uint8_t code_date[6];
    uint8_t interface_date[6];
    uint16_t sbb_size;
    uint16_t add_size;
    uint16_t local_data_size;
    uint16_t mc7_size;
    char author[9];
    char family[9];
    char name[9];
    uint8_t version;
    uint16_t checksum;
} s7_block_info;
#define PLCIO_S7_BLOCK_INFO_LEN 78
int s7_block_info_decode(const uint8_t *payload, size_t len, s7_block_info *out);
int s7_block_info_encode(uint8_t p[78], const s7_block_info *in);
/* Days since 1984-01-01 and ms since midnight of a block date. */
void s7_block_date(const uint8_t raw[6], uint32_t *ms, uint16_t *days);

/* ======================================================================
 * PLC control: stop (0x29) and PI services (0x28) with a program invocation
 * name: "P_PROGRAM" (hot start; param "C " = cold start), "_GARB" (compress),
 * "_MODU" (copy RAM to ROM, param "EP"), "_DELE" / "_INSE" (delete / insert
 * blocks: param = count byte, 0x00, then per block "0" type digits5 'B').
 * ==================================================================== */
typedef struct s7_control {
    uint8_t function;     /* PLCIO_S7_FN_PI_SERVICE or PLCIO_S7_FN_PLC_STOP */
    const uint8_t *param; /* PI parameter block, borrowed */
    uint16_t param_len;
    const char *service; /* "P_PROGRAM", not NUL-terminated on decode: use service_len */
    uint8_t service_len;
} s7_control;
int s7_control_encode(s7_out *out, uint16_t pdu_ref, const s7_control *c);
int s7_control_decode(const s7_pdu *pdu, s7_control *out);
/* Server: ack-data with the function byte (and error, 0 for success). */
int s7_control_response_encode(s7_out *out, uint16_t pdu_ref, uint8_t function, uint16_t error);
/* Client: PLCIO_EPLC if the header carries an error; PLCIO_EPROTO if the
 * function byte differs. */
int s7_control_response_decode(const s7_pdu *pdu, uint8_t function);
/* Parameter block for _DELE/_INSE of one block (10 bytes); the last byte
 * is the file system: 'B' for delete, 'P' for insert (as STEP 7 sends them). */
int s7_pi_block_param(uint8_t out[10], uint8_t type, uint16_t number);
int s7_pi_block_param_fs(uint8_t out[10], uint8_t type, uint16_t number, char fs);

/* ======================================================================
 * Upload (client pulls a block: start 0x1D, upload 0x1E.., end 0x1F) and
 * download (client: request download 0x1A; the PLC then sends download-block
 * 0x1B jobs and download-ended 0x1C, which the client answers).
 * Job parameter: function, status, 2 bytes (01 00 for download functions),
 *                upload id (4), [file name length, file name "_0A00001A"],
 *                [length string length, "1" load length(6) MC7 length(6)].
 * Ack parameter: function [, status: 01 more data follows, 00 last]
 *                [start upload: 00 01 00 00 upload id(4) length string].
 * Ack data (upload, download block): length (2), 00 FB, payload.
 * ==================================================================== */
#define PLCIO_S7_FILENAME_LEN 9
typedef struct s7_xfer {
    uint8_t function; /* PLCIO_S7_FN_REQUEST_DOWNLOAD .. END_UPLOAD */
    uint8_t status;   /* ack: 1 = more data follows */
    uint32_t upload_id;
    char filename[PLCIO_S7_FILENAME_LEN + 1]; /* "" if absent; "_0A00001A" */
    uint32_t load_len;                        /* request download; start-upload ack: block length */
    uint32_t mc7_len;                         /* request download */
    bool has_lengths;
    const uint8_t *payload; /* upload / download-block ack data, borrowed */
    uint16_t payload_len;
} s7_xfer;
/* "_" "0" type digits5 dest ('A' active/upload, 'P' passive/download). */
int s7_filename(char out[10], uint8_t type, uint16_t number, char dest);
int s7_filename_parse(const char *name, uint8_t *type, uint16_t *number, char *dest);
int s7_xfer_job_encode(s7_out *out, uint16_t pdu_ref, const s7_xfer *x);
int s7_xfer_job_decode(const s7_pdu *pdu, s7_xfer *out);
int s7_xfer_ack_encode(s7_out *out, uint16_t pdu_ref, const s7_xfer *x, uint16_t error);
/* PLCIO_EPLC on a header error; PLCIO_EPROTO on an inconsistent answer. */
int s7_xfer_ack_decode(const s7_pdu *pdu, uint8_t function, s7_xfer *out);

#endif
