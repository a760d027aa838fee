/* plcio Modbus: data helpers, client and server.
 *
 * References: "MODBUS Application Protocol Specification V1.1b3" (called
 * "AP" below, clause numbers in comments), "MODBUS over Serial Line
 * Specification and Implementation Guide V1.02" ("SL") and "MODBUS Messaging
 * on TCP/IP Implementation Guide V1.0b" ("TCP").
 *
 * Addresses in this API are protocol addresses (0-based, what goes on the
 * wire). Modicon numbers such as 400101 are converted by the address helpers.
 *
 * Ownership and threads: see plcio.h. */
#ifndef PLCIO_MODBUS_H
#define PLCIO_MODBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plcio/core.h"
#include "plcio/export.h"
#include "plcio/word_order.h"

PLCIO_BEGIN_DECLS

/* ===========================================================================
 * Protocol constants
 * ========================================================================= */

/* Public function codes (AP 5.1, 6.x). */
typedef enum plcio_mb_function {
    PLCIO_MB_FC_READ_COILS = 0x01,               /* AP 6.1 */
    PLCIO_MB_FC_READ_DISCRETE_INPUTS = 0x02,     /* AP 6.2 */
    PLCIO_MB_FC_READ_HOLDING_REGISTERS = 0x03,   /* AP 6.3 */
    PLCIO_MB_FC_READ_INPUT_REGISTERS = 0x04,     /* AP 6.4 */
    PLCIO_MB_FC_WRITE_SINGLE_COIL = 0x05,        /* AP 6.5 */
    PLCIO_MB_FC_WRITE_SINGLE_REGISTER = 0x06,    /* AP 6.6 */
    PLCIO_MB_FC_READ_EXCEPTION_STATUS = 0x07,    /* AP 6.7, serial line only */
    PLCIO_MB_FC_DIAGNOSTICS = 0x08,              /* AP 6.8, serial line only */
    PLCIO_MB_FC_GET_COMM_EVENT_COUNTER = 0x0B,   /* AP 6.9, serial line only */
    PLCIO_MB_FC_GET_COMM_EVENT_LOG = 0x0C,       /* AP 6.10, serial line only */
    PLCIO_MB_FC_WRITE_MULTIPLE_COILS = 0x0F,     /* AP 6.11 */
    PLCIO_MB_FC_WRITE_MULTIPLE_REGISTERS = 0x10, /* AP 6.12 */
    PLCIO_MB_FC_REPORT_SERVER_ID = 0x11,         /* AP 6.13, serial line only */
    PLCIO_MB_FC_READ_FILE_RECORD = 0x14,         /* AP 6.14 */
    PLCIO_MB_FC_WRITE_FILE_RECORD = 0x15,        /* AP 6.15 */
    PLCIO_MB_FC_MASK_WRITE_REGISTER = 0x16,      /* AP 6.16 */
    PLCIO_MB_FC_READ_WRITE_REGISTERS = 0x17,     /* AP 6.17 */
    PLCIO_MB_FC_READ_FIFO_QUEUE = 0x18,          /* AP 6.18 */
    PLCIO_MB_FC_ENCAPSULATED = 0x2B              /* AP 6.19-6.21; MEI 0x0E = device identification */
} plcio_mb_function;

#define PLCIO_MB_MEI_DEVICE_ID 0x0E /* AP 6.21 */

/* Exception codes (AP 7). */
typedef enum plcio_mb_exception {
    PLCIO_MB_EX_NONE = 0x00,
    PLCIO_MB_EX_ILLEGAL_FUNCTION = 0x01,
    PLCIO_MB_EX_ILLEGAL_DATA_ADDRESS = 0x02,
    PLCIO_MB_EX_ILLEGAL_DATA_VALUE = 0x03,
    PLCIO_MB_EX_SERVER_DEVICE_FAILURE = 0x04,
    PLCIO_MB_EX_ACKNOWLEDGE = 0x05,
    PLCIO_MB_EX_SERVER_DEVICE_BUSY = 0x06,
    PLCIO_MB_EX_NEGATIVE_ACKNOWLEDGE = 0x07, /* Modicon PI-MBUS-300; not in AP 7 */
    PLCIO_MB_EX_MEMORY_PARITY_ERROR = 0x08,
    PLCIO_MB_EX_GATEWAY_PATH_UNAVAILABLE = 0x0A,
    PLCIO_MB_EX_GATEWAY_TARGET_FAILED = 0x0B
} plcio_mb_exception;

/* "illegal data address", ...; "unknown exception" for other codes. Static. */
PLCIO_API const char *plcio_mb_exception_text(int code);
/* "read holding registers", ...; "function 0xNN"-style text is not produced:
 * unknown codes give "unknown function". Static. */
PLCIO_API const char *plcio_mb_function_name(int fc);

/* Quantity limits (AP 6.x request descriptions). */
#define PLCIO_MB_MAX_READ_BITS          2000   /* AP 6.1/6.2: 1 to 2000 (0x7D0) */
#define PLCIO_MB_MAX_READ_REGISTERS     125    /* AP 6.3/6.4: 1 to 125 (0x7D) */
#define PLCIO_MB_MAX_WRITE_BITS         1968   /* AP 6.11: 1 to 1968 (0x7B0) */
#define PLCIO_MB_MAX_WRITE_REGISTERS    123    /* AP 6.12: 1 to 123 (0x7B) */
#define PLCIO_MB_MAX_RW_READ_REGISTERS  125    /* AP 6.17: read 1 to 125 (0x7D) */
#define PLCIO_MB_MAX_RW_WRITE_REGISTERS 121    /* AP 6.17: write 1 to 121 (0x79) */
#define PLCIO_MB_MAX_FIFO_COUNT         31     /* AP 6.18: FIFO count <= 31 */
#define PLCIO_MB_MAX_PDU                253    /* AP 4.1: 256 byte serial ADU - address - CRC */
#define PLCIO_MB_MAX_FILE_RECORD        0x270F /* AP 6.14: record number 0 to 9999 */

/* ===========================================================================
 * Data mangling: values across 16-bit registers, bits, checksums.
 * Pure functions, no allocation.
 * ========================================================================= */

/* plcio_mb_order, plcio_mb_order_name and plcio_mb_order_parse: plcio/word_order.h. */

/* Store a value into 1, 2 or 4 registers (regs must hold that many). */
PLCIO_API void plcio_mb_put_u16(uint16_t *regs, uint16_t v, plcio_mb_order order);
PLCIO_API void plcio_mb_put_u32(uint16_t *regs, uint32_t v, plcio_mb_order order);
PLCIO_API void plcio_mb_put_u64(uint16_t *regs, uint64_t v, plcio_mb_order order);
PLCIO_API void plcio_mb_put_i16(uint16_t *regs, int16_t v, plcio_mb_order order);
PLCIO_API void plcio_mb_put_i32(uint16_t *regs, int32_t v, plcio_mb_order order);
PLCIO_API void plcio_mb_put_i64(uint16_t *regs, int64_t v, plcio_mb_order order);
PLCIO_API void plcio_mb_put_f32(uint16_t *regs, float v, plcio_mb_order order);
PLCIO_API void plcio_mb_put_f64(uint16_t *regs, double v, plcio_mb_order order);
/* Load a value from 1, 2 or 4 registers. */
PLCIO_API uint16_t plcio_mb_get_u16(const uint16_t *regs, plcio_mb_order order);
PLCIO_API uint32_t plcio_mb_get_u32(const uint16_t *regs, plcio_mb_order order);
PLCIO_API uint64_t plcio_mb_get_u64(const uint16_t *regs, plcio_mb_order order);
PLCIO_API int16_t plcio_mb_get_i16(const uint16_t *regs, plcio_mb_order order);
PLCIO_API int32_t plcio_mb_get_i32(const uint16_t *regs, plcio_mb_order order);
PLCIO_API int64_t plcio_mb_get_i64(const uint16_t *regs, plcio_mb_order order);
PLCIO_API float plcio_mb_get_f32(const uint16_t *regs, plcio_mb_order order);
PLCIO_API double plcio_mb_get_f64(const uint16_t *regs, plcio_mb_order order);

/* Arrays: n values of `words` registers each (words 1, 2 or 4). */
PLCIO_API void plcio_mb_put_f32_array(uint16_t *regs, const float *v, size_t n, plcio_mb_order order);
PLCIO_API void plcio_mb_get_f32_array(const uint16_t *regs, float *v, size_t n, plcio_mb_order order);

/* Registers <-> wire bytes (big-endian, AP 4.2). bytes holds 2 * n. */
PLCIO_API void plcio_mb_regs_to_bytes(const uint16_t *regs, size_t n, uint8_t *bytes);
PLCIO_API void plcio_mb_bytes_to_regs(const uint8_t *bytes, size_t n, uint16_t *regs);

/* Two's complement (pyModbusTCP get_2comp / pymodbus): read the low `bits`
 * bits (1..64) of `raw` as a signed number, and back: plcio_mb_to_twos puts
 * v's low `bits` bits in *out, PLCIO_ERANGE when v does not fit. */
PLCIO_API int64_t plcio_mb_from_twos(uint64_t raw, unsigned bits);
PLCIO_API int plcio_mb_to_twos(int64_t v, unsigned bits, uint64_t *out);

/* Bit `bit` (0 = least significant) of a 16-bit register. Out-of-range bit
 * numbers (>= 16) leave the value unchanged / test false. */
PLCIO_API bool plcio_mb_bit_test(uint16_t v, unsigned bit);
PLCIO_API uint16_t plcio_mb_bit_set(uint16_t v, unsigned bit);
PLCIO_API uint16_t plcio_mb_bit_reset(uint16_t v, unsigned bit);
PLCIO_API uint16_t plcio_mb_bit_toggle(uint16_t v, unsigned bit);

/* Coil packing (AP 6.1, 6.11): bit i of the list goes to byte i/8, bit i%8
 * (least significant bit first); unused high bits of the last byte are 0.
 * `bits` holds one value per byte (0 = off, anything else = on).
 * plcio_mb_pack_bits writes (n + 7) / 8 bytes and returns that count;
 * plcio_mb_unpack_bits writes n bytes of 0/1. */
PLCIO_API size_t plcio_mb_pack_bits(const uint8_t *bits, size_t n, uint8_t *packed);
PLCIO_API void plcio_mb_unpack_bits(const uint8_t *packed, size_t n, uint8_t *bits);

/* CRC-16/MODBUS (SL 6.2.2: polynomial 0xA001 reflected, init 0xFFFF). The
 * frame carries it low byte first: 01 03 00 00 00 0A -> crc 0xCDC5, sent C5 CD. */
PLCIO_API uint16_t plcio_mb_crc16(const uint8_t *data, size_t len);
/* LRC (SL 6.2.1): two's complement of the 8-bit sum of the bytes. */
PLCIO_API uint8_t plcio_mb_lrc(const uint8_t *data, size_t len);

/* ===========================================================================
 * Client
 *
 *   plcio_modbus_client *c;
 *   plcio_error err;
 *   int rc = plcio_modbus_client_new("modbus-tcp://10.0.0.7?unit=1", NULL, &c, &err);
 *   uint16_t regs[10];
 *   rc = plcio_modbus_read_holding_registers(c, PLCIO_MODBUS_UNIT_DEFAULT, 100, 10, regs);
 *   if (rc == PLCIO_EMBEXC) printf("exception %d\n", plcio_modbus_last_exception(c));
 *   plcio_modbus_client_free(c);
 *
 * URLs (DESIGN.md): modbus-tcp://HOST[:502], modbus-udp://HOST[:502],
 * modbus-rtu:///dev/ttyX, modbus-ascii:///dev/ttyX, and RTU or ASCII framing
 * over a TCP stream with a host: modbus-rtu://HOST:PORT. Query keys: unit
 * (0-255, default 1), timeout (ms, default 1000), retries (default 1 on
 * serial lines, 0 otherwise), baud (19200), parity (N/E/O, default E),
 * data-bits (8), stop-bits (1), rs485 (0/1: kernel RS-485 RTS control).
 * Unknown keys are refused.
 *
 * Connection: opened on the first request (or plcio_modbus_client_connect),
 * re-opened after a failure on the next request ("auto-open"). A timeout or
 * a dropped connection is retried `retries` times; an exception never is.
 * On TCP, a timeout or a malformed answer closes the connection (either end
 * may be left inside a frame); a connection the device closed while idle is
 * noticed before the next request, which then goes on a new one.
 *
 * Answers are matched to requests by transaction id (TCP/UDP), unit id and
 * function code; anything else (a late answer to an earlier, timed-out
 * request, a foreign unit) is dropped, never taken for the answer.
 *
 * Logging: Tx/Rx frame dumps at PLCIO_LOG_TRACE ("Tx [12] 00 01 00 00 00 06
 * 01 03 00 00 00 04"), retries and dropped frames at PLCIO_LOG_DEBUG.
 *
 * Every request function returns PLCIO_OK, PLCIO_EMBEXC (the device answered
 * with an exception: plcio_modbus_last_exception), PLCIO_ERANGE (quantity
 * outside the protocol limits: nothing was sent), PLCIO_ETIMEDOUT,
 * PLCIO_ECLOSED, PLCIO_ECONNREFUSED, PLCIO_ECRC, PLCIO_EPROTO (malformed or
 * mismatching answer), PLCIO_EINVAL. Buffers are the caller's.
 * ========================================================================= */

typedef struct plcio_modbus_client plcio_modbus_client;

/* Use the unit id the client was created with. */
#define PLCIO_MODBUS_UNIT_DEFAULT (-1)

typedef struct plcio_modbus_client_options {
    plcio_logger logger; /* copied; fn NULL: process default */
    /* For the event-loop mode: the time the client reads (deadlines of
     * plcio_modbus_client_wants, timeouts, the RTU bus gap) and, for a TCP
     * stream (modbus-tcp://, modbus-rtu://HOST:PORT, modbus-ascii://HOST:PORT),
     * the byte stream it runs on. Zero (the default): the system monotonic
     * clock and TCP. A client with either of its own refuses the blocking
     * calls (PLCIO_EUNSUPPORTED: they wait on real sockets and real time); a
     * transport with a UDP or serial URL is refused by _new (PLCIO_EINVAL).
     * The transport is borrowed: keep it until plcio_modbus_client_free. */
    plcio_clock clock;
    const plcio_transport *transport;
} plcio_modbus_client_options;
/* Defaults (all zero). */
PLCIO_API void plcio_modbus_client_options_init(plcio_modbus_client_options *o);
/* Parse the URL and create a client in *out (nothing is opened yet); opts may
 * be NULL. PLCIO_ESYNTAX / PLCIO_ERANGE / PLCIO_EINVAL for a bad URL or
 * parameter, with err naming it; PLCIO_ENOMEM. Caller frees with
 * plcio_modbus_client_free. */
PLCIO_API int plcio_modbus_client_new(const char *url, const plcio_modbus_client_options *opts,
                                      plcio_modbus_client **out, plcio_error *err);
/* Check a modbus-* client URL without creating anything: PLCIO_OK, or the
 * error plcio_modbus_client_new would give, err naming the parameter or part
 * and why, e.g. "parameter unit=300 is not a number in 0..255", "port 0 is
 * out of range". */
PLCIO_API int plcio_modbus_url_check(const char *url, plcio_error *err);
/* Closes the connection; event-loop requests still pending are forgotten
 * without their callbacks. NULL is a no-op. */
PLCIO_API void plcio_modbus_client_free(plcio_modbus_client *c);

PLCIO_API int plcio_modbus_client_connect(plcio_modbus_client *c);
/* Closes the link; event-loop requests still pending are forgotten without
 * their callbacks (they are the caller's again). Not from a callback. */
PLCIO_API void plcio_modbus_client_close(plcio_modbus_client *c);
PLCIO_API void plcio_modbus_client_set_unit(plcio_modbus_client *c, uint8_t unit);
PLCIO_API uint8_t plcio_modbus_client_unit(const plcio_modbus_client *c);
/* Per-attempt timeout (>= 1 ms) and number of retries (0..10). */
PLCIO_API int plcio_modbus_client_set_timeout(plcio_modbus_client *c, int timeout_ms);
PLCIO_API int plcio_modbus_client_set_retries(plcio_modbus_client *c, unsigned retries);
/* Exception code of the last request that returned PLCIO_EMBEXC (0 after a
 * request that did not). */
PLCIO_API int plcio_modbus_last_exception(const plcio_modbus_client *c);

/* `unit`: 0..255, or PLCIO_MODBUS_UNIT_DEFAULT. On a serial line unit 0 is
 * a broadcast: only writes are allowed, nothing is awaited (SL 2.1). */

/* FC 1 / FC 2: one byte per bit (0/1) in `bits`. n: 1..2000. */
PLCIO_API int plcio_modbus_read_coils(plcio_modbus_client *c, int unit, uint16_t addr, uint16_t n, uint8_t *bits);
PLCIO_API int plcio_modbus_read_discrete_inputs(plcio_modbus_client *c, int unit, uint16_t addr, uint16_t n,
                                                uint8_t *bits);
/* FC 3 / FC 4. n: 1..125. */
PLCIO_API int plcio_modbus_read_holding_registers(plcio_modbus_client *c, int unit, uint16_t addr, uint16_t n,
                                                  uint16_t *regs);
PLCIO_API int plcio_modbus_read_input_registers(plcio_modbus_client *c, int unit, uint16_t addr, uint16_t n,
                                                uint16_t *regs);
/* FC 5, FC 6. */
PLCIO_API int plcio_modbus_write_coil(plcio_modbus_client *c, int unit, uint16_t addr, bool on);
PLCIO_API int plcio_modbus_write_register(plcio_modbus_client *c, int unit, uint16_t addr, uint16_t value);
/* FC 15 (n 1..1968, one byte per bit), FC 16 (n 1..123). */
PLCIO_API int plcio_modbus_write_coils(plcio_modbus_client *c, int unit, uint16_t addr, uint16_t n,
                                       const uint8_t *bits);
PLCIO_API int plcio_modbus_write_registers(plcio_modbus_client *c, int unit, uint16_t addr, uint16_t n,
                                           const uint16_t *regs);
/* FC 22: register = (register AND and_mask) OR (or_mask AND NOT and_mask). */
PLCIO_API int plcio_modbus_mask_write_register(plcio_modbus_client *c, int unit, uint16_t addr, uint16_t and_mask,
                                               uint16_t or_mask);
/* FC 23: the write happens before the read (AP 6.17). */
PLCIO_API int plcio_modbus_read_write_registers(plcio_modbus_client *c, int unit, uint16_t read_addr, uint16_t read_n,
                                                uint16_t *read_regs, uint16_t write_addr, uint16_t write_n,
                                                const uint16_t *write_regs);
/* FC 24: up to 31 registers into regs[31]; *count gets the FIFO count. */
PLCIO_API int plcio_modbus_read_fifo_queue(plcio_modbus_client *c, int unit, uint16_t addr, uint16_t *regs,
                                           uint16_t *count);
/* FC 7. */
PLCIO_API int plcio_modbus_read_exception_status(plcio_modbus_client *c, int unit, uint8_t *status);
/* FC 8: sub-function with data; the answer's data (after the sub-function)
 * is copied to out (cap bytes), *out_len tells its length. Sub-function 4
 * (force listen only) gets no answer: the call returns PLCIO_OK after
 * sending. */
PLCIO_API int plcio_modbus_diagnostics(plcio_modbus_client *c, int unit, uint16_t sub, const uint8_t *data, size_t len,
                                       uint8_t *out, size_t cap, size_t *out_len);
/* FC 8 counter sub-functions (0x0B..0x12) and 0x02 (diagnostic register): the 16-bit value. */
PLCIO_API int plcio_modbus_diagnostic_counter(plcio_modbus_client *c, int unit, uint16_t sub, uint16_t *value);
/* FC 11. */
PLCIO_API int plcio_modbus_get_comm_event_counter(plcio_modbus_client *c, int unit, uint16_t *status,
                                                  uint16_t *event_count);
/* FC 12: events newest first (AP 6.10), at most 64. */
typedef struct plcio_modbus_event_log {
    uint16_t status, event_count, message_count;
    uint8_t events[64];
    size_t event_len;
} plcio_modbus_event_log;
PLCIO_API int plcio_modbus_get_comm_event_log(plcio_modbus_client *c, int unit, plcio_modbus_event_log *log);
/* FC 17: the bytes after the byte count (server id, run indicator, extra). */
PLCIO_API int plcio_modbus_report_server_id(plcio_modbus_client *c, int unit, uint8_t *out, size_t cap, size_t *len);
/* FC 20 / FC 21: file records (reference type 6). For reads, `regs` receives
 * `length` registers; for writes it supplies them. */
typedef struct plcio_modbus_file_record {
    uint16_t file;   /* 1..0xFFFF */
    uint16_t record; /* 0..9999 */
    uint16_t length; /* registers */
    uint16_t *regs;
} plcio_modbus_file_record;
PLCIO_API int plcio_modbus_read_file_record(plcio_modbus_client *c, int unit, plcio_modbus_file_record *recs, size_t n);
PLCIO_API int plcio_modbus_write_file_record(plcio_modbus_client *c, int unit, const plcio_modbus_file_record *recs,
                                             size_t n);
/* FC 43 / MEI 14: read device identification. code 1 basic, 2 regular,
 * 3 extended (stream access, following more-follows until the end), 4 one
 * object (`object_id`). Objects land in objs[0..cap), *count tells how many. */
typedef struct plcio_modbus_device_object {
    uint8_t id;
    uint8_t length;
    char value[256]; /* `length` bytes, NUL-terminated for convenience */
} plcio_modbus_device_object;
PLCIO_API int plcio_modbus_read_device_id(plcio_modbus_client *c, int unit, uint8_t code, uint8_t object_id,
                                          plcio_modbus_device_object *objs, size_t cap, size_t *count);
/* Any PDU (function code first). The answer PDU is copied to resp. */
PLCIO_API int plcio_modbus_execute(plcio_modbus_client *c, int unit, const uint8_t *pdu, size_t len, uint8_t *resp,
                                   size_t cap, size_t *resp_len);

/* Typed helpers: n floats in consecutive register pairs (FC 3 / FC 16).
 * input true reads input registers (FC 4). */
PLCIO_API int plcio_modbus_read_floats(plcio_modbus_client *c, int unit, bool input, uint16_t addr, size_t n,
                                       float *out, plcio_mb_order order);
PLCIO_API int plcio_modbus_write_floats(plcio_modbus_client *c, int unit, uint16_t addr, size_t n, const float *v,
                                        plcio_mb_order order);

/* Address strings (address.h syntax: "hr100:REAL:CDAB", "400101", "co5[8]").
 * Reads the registers/bits and gives each element as text (value.h text
 * forms) through `cb`; element i of `count`. Reads longer than one request
 * allows are split. */
typedef void (*plcio_modbus_value_cb)(void *ctx, size_t index, const char *text);
PLCIO_API int plcio_modbus_read_address(plcio_modbus_client *c, int unit, const char *address, plcio_modbus_value_cb cb,
                                        void *ctx, plcio_error *err);
/* Write text values (one per element, count of them) to the address. Input
 * registers and discrete inputs are refused (PLCIO_EACCESS). */
PLCIO_API int plcio_modbus_write_address(plcio_modbus_client *c, int unit, const char *address,
                                         const char *const *texts, size_t count, plcio_error *err);

/* Several requests in flight (TCP and UDP: up to `window` at once, matched
 * by transaction id; serial lines: one after the other). Each request gets
 * its own result; the call returns PLCIO_OK when all were sent and answered
 * (exceptions included: look at each result), or the first transport error
 * (then the requests not done have result PLCIO_ECANCELED). */
typedef struct plcio_modbus_request {
    int unit;         /* 0..255 or PLCIO_MODBUS_UNIT_DEFAULT */
    uint8_t function; /* 1, 2, 3, 4, 5, 6, 15, 16 */
    uint16_t addr;
    uint16_t n;        /* quantity (ignored for 5 and 6) */
    uint16_t *regs;    /* FC 3/4: out; FC 6 (regs[0]), 16: in */
    uint8_t *bits;     /* FC 1/2: out; FC 5 (bits[0]), 15: in; one byte per bit */
    int result;        /* out: PLCIO_OK, PLCIO_EMBEXC, ... */
    uint8_t exception; /* out: exception code when result is PLCIO_EMBEXC */
    /* Event-loop mode only (plcio_modbus_submit); zero means the client's settings. */
    int timeout_ms; /* in: per attempt; 0: the client's timeout */
    int retries;    /* in: sends again after no answer; 0: the client's, PLCIO_MODBUS_NO_RETRY: none */
    bool sent;      /* out: the request went to the link (a failed write may have happened) */
    /* Function 0, event-loop mode only: any PDU as it is (a gateway forwarding
     * what it received). pdu (1..253 bytes, function code first) is sent; the
     * answer PDU as received, an exception included (result PLCIO_EMBEXC),
     * lands in resp (PLCIO_MB_MAX_PDU bytes), resp_len its length (0: a
     * broadcast, nothing came back). */
    const uint8_t *pdu; /* in */
    size_t pdu_len;     /* in */
    uint8_t *resp;      /* out */
    size_t resp_len;    /* out */
} plcio_modbus_request;
PLCIO_API int plcio_modbus_transact_many(plcio_modbus_client *c, plcio_modbus_request *reqs, size_t n, size_t window);

#define PLCIO_MODBUS_NO_RETRY (-1)

/* ---- event-loop use (nothing blocks) ----
 *
 *   plcio_modbus_client *c;
 *   plcio_modbus_client_new("modbus-tcp://10.0.0.7", NULL, &c, &err);
 *   plcio_modbus_client_set_depth(c, 8);
 *   plcio_modbus_client_connect_async(c);
 *   plcio_modbus_request r = {.unit = 1, .function = 3, .addr = 0, .n = 10, .regs = regs};
 *   plcio_modbus_submit(c, &r, on_done, ctx);      // on_done(ctx, c, &r) gets r.result
 *   loop: watch plcio_modbus_client_fd(c) for plcio_modbus_client_wants(c, &deadline),
 *         call plcio_modbus_client_process(c) when it is ready or the deadline passed.
 *
 * Requests wait in the client's queue in submission order and go to the link
 * when it can take them: up to `depth` in flight on TCP and UDP (matched by
 * transaction id), one at a time on RTU and ASCII links, on a serial RTU
 * line only after t3.5 of silence (SL 2.5.1.1) and with stale input
 * discarded first. A request's timeout counts from when it goes on the wire.
 * A request without an answer in time (and, on RTU/ASCII, one with a
 * damaged answer) is sent again up to `retries` times, keeping its place in
 * the queue; then it completes with PLCIO_ETIMEDOUT (PLCIO_ECRC,
 * PLCIO_EPROTO). Only the requests on the wire time out: those still queued
 * go on. A timeout does not close the link; a malformed or oversized answer
 * on a TCP stream (which can then not be framed any more), a closed
 * connection, a refused datagram or a failing serial port do: then
 * plcio_modbus_client_process returns the error, every request (in flight
 * and queued) has completed with it (req->sent tells which went to the
 * link), plcio_modbus_client_last_error names it, and the link is closed
 * until the next plcio_modbus_client_connect_async (reconnecting, with what
 * backoff, is the caller's choice).
 *
 * The callback runs inside plcio_modbus_client_process; it may submit and
 * cancel, not close or free the client. The blocking calls return
 * PLCIO_EBUSY while event-loop requests are pending or a connect is under way.
 * Unit 0 on a serial link is a broadcast: writes only, done once sent. */
typedef void (*plcio_modbus_done_fn)(void *ctx, plcio_modbus_client *client, plcio_modbus_request *req);
enum { PLCIO_MODBUS_WANT_READ = 1, PLCIO_MODBUS_WANT_WRITE = 2 };

/* Begin opening the link: a TCP connect that finishes in the event loop
 * (within the timeout), a UDP socket or serial port at once. PLCIO_OK (open,
 * or under way) or the error (then see plcio_modbus_client_last_error). */
PLCIO_API int plcio_modbus_client_connect_async(plcio_modbus_client *c);
/* The link's descriptor, to watch; -1 when closed. */
PLCIO_API int plcio_modbus_client_fd(const plcio_modbus_client *c);
/* True when the link is open and (TCP) the connect has finished; a link that
 * failed is closed, so this turns false with the failure. */
PLCIO_API bool plcio_modbus_client_is_connected(const plcio_modbus_client *c);
/* Requests in flight at once on TCP and UDP (1..64, default 1); RTU and
 * ASCII links always have one. */
PLCIO_API int plcio_modbus_client_set_depth(plcio_modbus_client *c, unsigned depth);
/* Queue a request (FC 1, 2, 3, 4, 5, 6, 15 or 16; fields as for
 * plcio_modbus_transact_many; or function 0: a raw PDU). req and its buffers are borrowed until done
 * has run (or the request was cancelled). PLCIO_ENOTCONN (link not open:
 * connect first), PLCIO_ERANGE / PLCIO_EINVAL / PLCIO_EUNSUPPORTED (bad
 * request: nothing queued), PLCIO_ELIMIT (4096 requests already queued). */
PLCIO_API int plcio_modbus_submit(plcio_modbus_client *c, plcio_modbus_request *req, plcio_modbus_done_fn done,
                                  void *ctx);
/* Forget a request: done will not run and req is the caller's again. One
 * already on the wire keeps its place in flight until answered or timed out
 * (the answer is dropped). False if req is not pending. */
PLCIO_API bool plcio_modbus_cancel(plcio_modbus_client *c, plcio_modbus_request *req);
/* Requests queued or in flight. */
PLCIO_API size_t plcio_modbus_client_pending(const plcio_modbus_client *c);
/* Events to wait for on the fd (0 when closed) and the deadline (monotonic
 * ns, 0 = none) at which plcio_modbus_client_process must be called anyway. */
PLCIO_API unsigned plcio_modbus_client_wants(const plcio_modbus_client *c, uint64_t *deadline);
/* Finish connecting, receive, time out, send, as far as possible without
 * blocking; completed requests get their callbacks. PLCIO_OK, or the link
 * error that just happened (see above). */
PLCIO_API int plcio_modbus_client_process(plcio_modbus_client *c);
/* The last link failure (code and "connection to 10.0.0.7:502: connection
 * closed by peer"); code PLCIO_OK and "" if none. Owned by the client. */
PLCIO_API const plcio_error *plcio_modbus_client_last_error(const plcio_modbus_client *c);

/* What a URL resolved to, e.g. for a program that puts several units of
 * one serial line on one client. Strings are owned by the client. */
typedef struct plcio_modbus_client_settings {
    const char *where;     /* "10.0.0.7:502", "/dev/ttyUSB0", "gw:4001 (RTU over TCP)" */
    const char *transport; /* "tcp", "udp", "serial" */
    const char *framing;   /* "mbap", "rtu", "ascii" */
    const char *device;    /* serial: the port; "" otherwise */
    unsigned baud, data_bits, stop_bits;
    char parity; /* 'N', 'E', 'O' */
    bool rs485;
    uint8_t unit;
    int timeout_ms;
    unsigned retries;
} plcio_modbus_client_settings;
PLCIO_API int plcio_modbus_client_get_settings(const plcio_modbus_client *c, plcio_modbus_client_settings *out);

/* ===========================================================================
 * Server
 *
 *   plcio_modbus_server *s;
 *   plcio_modbus_server_new(NULL, &s, NULL);
 *   plcio_modbus_bank_config bank = plcio_modbus_bank_default(10000);
 *   plcio_modbus_server_add_unit(s, 1, &bank);
 *   int port;
 *   plcio_modbus_server_listen_tcp(s, "127.0.0.1", 0, &port);
 *   plcio_modbus_server_run(s);          // until plcio_modbus_server_stop()
 *
 * Units: each unit id has a data bank (coils, discrete inputs, holding and
 * input registers, each a sequential range [start, start + count), and
 * optionally files for FC 20/21) and may have callbacks that replace the
 * bank per table and function code (nanoMODBUS / pymodbus context style).
 * PLCIO_MODBUS_ANY_UNIT answers every unit id that has no unit of its own.
 * A request for a unit that does not exist gets exception 0x0B (gateway
 * target failed to respond) on TCP/UDP and no answer on a serial line.
 * Unit 0 on a serial line is a broadcast: writes go to every unit, nobody
 * answers.
 *
 * Exceptions: unknown function codes and FC 8 sub-functions 01; quantities
 * and byte counts outside AP 6.x 03; addresses outside a table 02; a
 * callback may return any exception code (04 server failure, 06 busy, ...).
 *
 * Diagnostics (FC 8, 11, 12): the counters and the event log of AP 6.8-6.10
 * are kept per server (all its links together). FC 8 is a serial-line
 * function (AP 6.8): what it changes belongs to the serial line it arrived
 * on. Listen-only mode (FC 8/04) silences that line only, until FC 8/01
 * (restart communications) on the same line; FC 8/03 changes the ASCII
 * delimiter of that line only. Over TCP and UDP the sub-functions that change
 * a line's state (01, 03, 04) are refused with exception 01 (illegal
 * function) and change nothing; the others (00 echo, 02, 0A, 0B-12, 14: the
 * shared counters) are answered on every transport.
 *
 * Transports: any number of TCP listeners (many clients, one thread: an
 * event loop), UDP sockets and serial lines (RTU or ASCII) on the same loop.
 * A connection that sends something that cannot be framed (MBAP length 0,
 * 1 or above 254, foreign protocol id) is closed; other clients go on. A
 * bad CRC/LRC on a serial line is counted and not answered.
 * Nobody holds the server hostage (plcio_modbus_server_limits): a TCP
 * connection silent for idle_timeout_ms (default 60 s) or stuck in a half
 * MBAP frame for frame_timeout_ms (default 5 s) is closed; at
 * max_connections a new connection evicts the one silent longest; answers
 * on a serial line are queued and written when the line takes them, never
 * waited for (a full queue drops the answer and counts it), so a serial peer
 * that does not read cannot stall the other links.
 *
 * Threads: run/run_once on one thread; plcio_modbus_server_stop and the bank
 * accessors (read_bank / write_bank) may be called from any thread.
 * Callbacks run on the loop thread, with the server's lock held (they may
 * call the bank accessors).
 * ========================================================================= */

typedef struct plcio_modbus_server plcio_modbus_server;

#define PLCIO_MODBUS_ANY_UNIT (-2)

/* The four tables; values are the Modicon reference prefixes (0x, 1x, 3x,
 * 4x) as in address.h's plcio_mb_table. */
typedef enum plcio_modbus_area {
    PLCIO_MODBUS_COILS = 0,
    PLCIO_MODBUS_DISCRETE_INPUTS = 1,
    PLCIO_MODBUS_INPUT_REGISTERS = 3,
    PLCIO_MODBUS_HOLDING_REGISTERS = 4
} plcio_modbus_area;

typedef struct plcio_modbus_range {
    uint16_t start;
    uint32_t count; /* 0..65536, start + count <= 65536 */
} plcio_modbus_range;

typedef struct plcio_modbus_bank_config {
    plcio_modbus_range coils, discrete_inputs, holding_registers, input_registers;
    uint16_t files; /* FC 20/21 files 1..files, 10000 records each; 0: none */
} plcio_modbus_bank_config;

/* Every table [0, size); no files. */
PLCIO_API plcio_modbus_bank_config plcio_modbus_bank_default(uint32_t size);

/* Application data behind a unit. Each returns 0 or an exception code
 * (PLCIO_MB_EX_*). A NULL member uses the unit's data bank. `fc` tells
 * which request asked (5 or 15; 6, 16, 22 or 23). Bits are one byte each. */
typedef struct plcio_modbus_callbacks {
    int (*read_bits)(void *ctx, uint8_t unit, plcio_modbus_area area, uint16_t addr, uint16_t n, uint8_t *bits);
    int (*read_registers)(void *ctx, uint8_t unit, plcio_modbus_area area, uint16_t addr, uint16_t n, uint16_t *regs);
    int (*write_bits)(void *ctx, uint8_t unit, uint8_t fc, uint16_t addr, uint16_t n, const uint8_t *bits);
    int (*write_registers)(void *ctx, uint8_t unit, uint8_t fc, uint16_t addr, uint16_t n, const uint16_t *regs);
    int (*read_file)(void *ctx, uint8_t unit, uint16_t file, uint16_t record, uint16_t n, uint16_t *regs);
    int (*write_file)(void *ctx, uint8_t unit, uint16_t file, uint16_t record, uint16_t n, const uint16_t *regs);
    /* FC 24: up to 31 registers into regs, *count how many. */
    int (*read_fifo)(void *ctx, uint8_t unit, uint16_t addr, uint16_t *regs, uint16_t *count);
} plcio_modbus_callbacks;

typedef struct plcio_modbus_server_stats {
    /* AP 6.8 counters (FC 8 sub-functions 0x0B..0x12) */
    uint16_t bus_messages, bus_comm_errors, bus_exceptions, server_messages, server_no_response, server_nak,
        server_busy, bus_char_overruns;
    uint16_t event_count; /* FC 11 */
    bool listen_only;     /* some serial line is in listen-only mode (FC 8/04) */
    /* links */
    uint32_t connections_open, connections_accepted, connections_dropped;
    uint32_t connections_evicted;    /* closed to admit a new one at max_connections (also in dropped) */
    uint32_t connections_timed_out;  /* idle or half-frame timeout (also in dropped) */
    uint32_t serial_answers_dropped; /* a serial line's output queue was full (or the line failed) */
} plcio_modbus_server_stats;

/* Limits against clients that hold connections without using them. */
typedef struct plcio_modbus_server_limits {
    unsigned max_connections;   /* TCP connections at once, 1..100000; default 512. When full, the connection
                                   silent longest (oldest last byte received) is closed to admit the new one. */
    uint32_t idle_timeout_ms;   /* close a TCP connection that sent nothing for this long; default 60000;
                                   0 = never; at most PLCIO_MODBUS_TIMEOUT_MAX_MS */
    uint32_t frame_timeout_ms;  /* a started MBAP frame must be complete within this; default 5000; 0 = never */
    size_t serial_output_bytes; /* answers queued per serial line, 512..1048576; default 4096 */
} plcio_modbus_server_limits;

#define PLCIO_MODBUS_TIMEOUT_MAX_MS 86400000u /* 24 h */

/* Fill l with the defaults above. */
PLCIO_API void plcio_modbus_server_limits_init(plcio_modbus_server_limits *l);
/* Apply limits (copied); they govern existing connections too from the
 * next check on. PLCIO_EINVAL for a value out of range (nothing changed).
 * Not thread-safe: call before serving, or from the thread that runs it. */
PLCIO_API int plcio_modbus_server_set_limits(plcio_modbus_server *s, const plcio_modbus_server_limits *l);

typedef struct plcio_modbus_server_options {
    plcio_logger logger; /* copied; fn NULL: process default */
} plcio_modbus_server_options;
/* Defaults (all zero). */
PLCIO_API void plcio_modbus_server_options_init(plcio_modbus_server_options *o);
/* A server with no units and no links in *out; opts may be NULL. PLCIO_ENOMEM.
 * Caller frees with plcio_modbus_server_free (closes every link). */
PLCIO_API int plcio_modbus_server_new(const plcio_modbus_server_options *opts, plcio_modbus_server **out,
                                      plcio_error *err);
PLCIO_API void plcio_modbus_server_free(plcio_modbus_server *s);

/* Add a unit (0..247 on serial lines by SL 2.2, 0..255 on TCP) or
 * PLCIO_MODBUS_ANY_UNIT with its own data bank (zeroed). PLCIO_EEXIST if
 * already there, PLCIO_ERANGE for a bad range, PLCIO_ENOMEM. */
PLCIO_API int plcio_modbus_server_add_unit(plcio_modbus_server *s, int unit, const plcio_modbus_bank_config *bank);
/* Sparse tables: one more address block [start, start + count) for a table
 * of a unit (at most 16 blocks per table, zeroed). A request must fall
 * inside one block, else exception 02. PLCIO_EEXIST if it overlaps a block,
 * PLCIO_ELIMIT, PLCIO_ERANGE, PLCIO_ENOTFOUND (no such unit). */
PLCIO_API int plcio_modbus_server_add_block(plcio_modbus_server *s, int unit, plcio_modbus_area area, uint16_t start,
                                            uint32_t count);
/* Callbacks (copied) and their ctx (borrowed) for a unit; NULL cb: the bank. */
PLCIO_API int plcio_modbus_server_set_callbacks(plcio_modbus_server *s, int unit, const plcio_modbus_callbacks *cb,
                                                void *ctx);
/* Bank access for the application (thread-safe). Bits: 0/1 per element.
 * PLCIO_ENOTFOUND (no such unit), PLCIO_ERANGE (outside the table). */
PLCIO_API int plcio_modbus_server_read_bank(plcio_modbus_server *s, int unit, plcio_modbus_area area, uint16_t addr,
                                            uint16_t n, uint16_t *values);
PLCIO_API int plcio_modbus_server_write_bank(plcio_modbus_server *s, int unit, plcio_modbus_area area, uint16_t addr,
                                             uint16_t n, const uint16_t *values);
/* FC 7 status byte of a unit. */
PLCIO_API int plcio_modbus_server_set_exception_status(plcio_modbus_server *s, int unit, uint8_t status);
/* FC 43/14 object (0x00..0xFF); value copied, at most 240 bytes; NULL
 * removes it. Defaults: 0 "plcio", 1 "plcio-sim", 2 the version. */
PLCIO_API int plcio_modbus_server_set_device_id(plcio_modbus_server *s, uint8_t object_id, const char *value);
/* FC 17 answer: server id bytes (<= 200) and run indicator. */
PLCIO_API int plcio_modbus_server_set_server_id(plcio_modbus_server *s, const uint8_t *id, size_t len, bool running);
/* FC 17 additional data (<= 200 bytes; default none), sent after the run
 * indicator as the spec lays the answer out: byte count, server id, run
 * indicator (0xFF on, 0x00 off), additional data. Id and data together at
 * most 250 bytes (one PDU), else PLCIO_ERANGE (as for set_server_id). */
PLCIO_API int plcio_modbus_server_set_server_data(plcio_modbus_server *s, const uint8_t *data, size_t len);

/* Links. Port 0 picks a free port, *bound_port (may be NULL) tells which. */
PLCIO_API int plcio_modbus_server_listen_tcp(plcio_modbus_server *s, const char *host, int port, int *bound_port);
PLCIO_API int plcio_modbus_server_listen_udp(plcio_modbus_server *s, const char *host, int port, int *bound_port);
/* A serial line from a URL: modbus-rtu:///dev/ttyX?baud=... or modbus-ascii:///dev/ttyX?... */
PLCIO_API int plcio_modbus_server_open_serial(plcio_modbus_server *s, const char *url);

/* Modbus/TCP Security (MB-TCP-Security v21): MBAP inside TLS 1.2 or later,
 * registered port 802, mutual authentication with X.509v3 certificates. The
 * server presents cert_file/key_file and, by default, refuses in the TLS
 * handshake every client without a certificate signed by a CA of ca_file.
 * A client certificate may carry a role (extension 1.3.6.1.4.1.50316.802.1,
 * an ASN.1 UTF8String); the authorization hook below sees it. Files are
 * PEM and read at the call (strings borrowed for the call only). */
typedef struct plcio_modbus_tls_options {
    const char *ca_file;       /* required: CA certificate(s) that sign accepted client certificates */
    const char *cert_file;     /* required: the server's certificate (chain) */
    const char *key_file;      /* required: its private key */
    bool client_cert_optional; /* false (default): no certificate, no connection; true: role "" */
} plcio_modbus_tls_options;
/* Defaults (all zero). */
PLCIO_API void plcio_modbus_tls_options_init(plcio_modbus_tls_options *o);
/* Listen for Modbus/TCP Security clients on host:port (port 0 picks one).
 * PLCIO_EINVAL / PLCIO_ENOTFOUND / PLCIO_EPROTO for missing or unusable
 * files (err names the file and why), or the error of listen. Handshake
 * failures are logged (one line naming the cause) and close only that
 * connection. */
PLCIO_API int plcio_modbus_server_listen_tls(plcio_modbus_server *s, const char *host, int port,
                                             const plcio_modbus_tls_options *tls, int *bound_port, plcio_error *err);

/* Who sent a request on a TCP connection (borrowed for the call). */
typedef struct plcio_modbus_peer {
    const char *address; /* "IP:PORT" */
    bool tls;            /* a Modbus/TCP Security connection */
    const char *role;    /* the client certificate's role; "" without one (and on plain TCP) */
    const char *subject; /* the client certificate's common name; "" without one */
} plcio_modbus_peer;
/* Authorization: called on the server's thread for every request of a TCP
 * or TLS connection before it is served (pdu[0] is the function code).
 * Return 0 to serve it, or the exception code to answer instead (the
 * Modbus/TCP Security specification asks for 0x01, illegal function). */
typedef int (*plcio_modbus_authorize_fn)(void *ctx, const plcio_modbus_peer *peer, uint8_t unit, const uint8_t *pdu,
                                         size_t len);
/* Set (fn NULL: remove) the hook; ctx borrowed. Replaces a write role. */
PLCIO_API int plcio_modbus_server_set_authorize(plcio_modbus_server *s, plcio_modbus_authorize_fn fn, void *ctx);
/* The built-in rule: requests that write (FC 5, 6, 15, 16, 21, 22, 23) are
 * served only for clients whose certificate carries this role; others get
 * exception 0x01. Reads stay open to every authenticated client. NULL
 * removes the rule. Replaces an authorize hook. PLCIO_ERANGE past 127 bytes. */
PLCIO_API int plcio_modbus_server_set_write_role(plcio_modbus_server *s, const char *role);
/* True for the function codes that change data (the list above). */
PLCIO_API bool plcio_modbus_function_writes(uint8_t fc);

/* Serve for up to max_wait_ms (-1: until something happens). */
PLCIO_API int plcio_modbus_server_run_once(plcio_modbus_server *s, int max_wait_ms);
/* Serve until plcio_modbus_server_stop. */
PLCIO_API int plcio_modbus_server_run(plcio_modbus_server *s);
/* Thread-safe and async-signal-safe. */
PLCIO_API void plcio_modbus_server_stop(plcio_modbus_server *s);

/* Answer one request PDU for `unit` as the links do (counters, events,
 * listen-only included). *resp_len 0 means "no answer" (broadcast, listen
 * only, unknown unit on a serial line). `serial` selects the serial-line
 * rules for unit 0 and unknown units, and FC 8 then acts on one line of
 * its own that no link shares; serial false answers as TCP/UDP do.
 * resp needs PLCIO_MB_MAX_PDU bytes. */
PLCIO_API int plcio_modbus_server_process(plcio_modbus_server *s, uint8_t unit, const uint8_t *req, size_t len,
                                          bool serial, uint8_t *resp, size_t cap, size_t *resp_len);

PLCIO_API int plcio_modbus_server_stats_get(plcio_modbus_server *s, plcio_modbus_server_stats *out);

/* ---- ranges backed by a remote device ----
 *
 *   plcio_modbus_backing_options bo;
 *   plcio_modbus_backing_options_init(&bo);
 *   bo.max_age_ms = 500;                       // read-through cache
 *   plcio_modbus_server_back_range(s, PLCIO_MODBUS_ANY_UNIT, PLCIO_MODBUS_HOLDING_REGISTERS, 100, 20,
 *                                  "modbus-tcp://10.0.0.9?unit=3", &bo, &err);
 *
 * Requests (TCP and UDP links) for addresses of a backed range are answered
 * from the remote device through plcio's event-loop client on the server's
 * own loop; nothing waits, no thread per request.
 *   - Reads (FC 1, 2, 3, 4): served from the range's cache when every value
 *     asked was fetched less than max_age_ms ago; else fetched (the whole
 *     range when it fits in one request, else what was asked) and answered
 *     when the remote's answer arrives. Reads that arrive while a fetch that
 *     covers them is on its way wait for it: one remote request answers them
 *     all (coalesced, whichever client or connection sent them).
 *   - Writes (FC 5, 6, 15, 16, 22, 23): refused with exception 01 unless
 *     write_through; with it, the request goes to the remote as it came
 *     (addresses shifted by remote_offset) and is answered only once the
 *     remote answered: its echo, or its exception. The values written are
 *     dropped from the cache (the next read fetches them).
 *   - The remote failing: exception 0x0B (gateway target failed to respond)
 *     when it does not answer in time (the URL's timeout= and retries=),
 *     0x0A (gateway path unavailable) while its link is down (refused,
 *     closed; opened again at the next request, at most once per
 *     reconnect_ms); the remote's own exceptions pass through unchanged.
 *   - A request that is partly inside a backed range gets exception 02.
 * Answers on one TCP connection may come back in another order than asked
 * (each carries its transaction id). Serial links cannot wait for a
 * remote: a server with backed ranges opens none (PLCIO_EUNSUPPORTED either
 * way round); plcio_modbus_server_process answers from the bank. */
typedef struct plcio_modbus_backing_options {
    uint32_t max_age_ms;   /* cache age limit; 0 (default): every read asks the remote (coalesced) */
    int32_t remote_offset; /* remote address = local address + remote_offset (default 0) */
    bool write_through;    /* default false: writes to the range are refused (exception 01) */
    unsigned reconnect_ms; /* least time between two attempts to open the remote's link; 0: 500 */
} plcio_modbus_backing_options;
/* Defaults (all zero). */
PLCIO_API void plcio_modbus_backing_options_init(plcio_modbus_backing_options *o);
/* Serve [start, start + count) of a table of `unit` (0..255, or
 * PLCIO_MODBUS_ANY_UNIT: every unit id) from the device at url (a
 * modbus-tcp/-udp/-rtu/-ascii client URL; its unit= is the remote's unit).
 * Ranges with the same URL share one link. Nothing is opened yet; opts may
 * be NULL. Call before serving. PLCIO_ERANGE (count 0, past 65535, remote
 * addresses out of range), PLCIO_EEXIST (overlaps a backed range),
 * PLCIO_EBUSY (the server forwards its requests elsewhere already: a
 * gateway or an engine output), PLCIO_EUNSUPPORTED (the server has a serial
 * link), PLCIO_ELIMIT (64 ranges), or the client's URL errors; err says why. */
PLCIO_API int plcio_modbus_server_back_range(plcio_modbus_server *s, int unit, plcio_modbus_area area, uint16_t start,
                                             uint32_t count, const char *url, const plcio_modbus_backing_options *opts,
                                             plcio_error *err);

/* Counters of one backed range (index in the order they were added). */
typedef struct plcio_modbus_backing_stats {
    uint64_t reads;      /* read requests for the range */
    uint64_t cache_hits; /* of those, answered from the cache */
    uint64_t coalesced;  /* of those, answered by a fetch another request started */
    uint64_t fetches;    /* read requests sent to the remote */
    uint64_t writes;     /* write requests sent to the remote */
    uint64_t failures;   /* answered 0x0A or 0x0B */
    uint64_t exceptions; /* the remote's own exceptions passed on */
} plcio_modbus_backing_stats;
/* PLCIO_ENOTFOUND for an index out of range. Call on the serving thread. */
PLCIO_API int plcio_modbus_server_backing_stats(const plcio_modbus_server *s, size_t index,
                                                plcio_modbus_backing_stats *out);

PLCIO_END_DECLS

#endif
