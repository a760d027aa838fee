/* S7CommPlus codec (protocol id 0x72): frames and fragments, VLQ integers,
 * PValues, object-tree elements, request/answer headers and the bodies of
 * the functions plcio uses.
 *
 * Rules (DESIGN.md): no I/O, no allocation, no logging. Decoders read a
 * plcio_rcursor; every length is checked against what is there. Pointers in
 * decoded structs borrow from the input. Variable-length parts (arrays,
 * structs, attribute lists, object trees) are kept as checked spans of the
 * input and walked with the *_next iterators; encoders walk them again
 * element by element, so a decode + encode really re-encodes every field.
 *
 * Return values: PLCIO_OK; PLCIO_EAGAIN from s7p_frame_decode when more
 * stream bytes are needed; PLCIO_EPROTO for malformed input (truncated,
 * lying lengths, VLQ longer than its width allows, trailing bytes);
 * PLCIO_EUNSUPPORTED for a well-formed type this codec does not handle
 * (Variant, S7String, unknown type ids); PLCIO_ENOSPC when an encoder's
 * buffer is too small; PLCIO_ERANGE for encoder input out of range.
 *
 * Sources of the facts: the real S7-1500 capture in the shared fixtures
 * (every PDU shape below is checked against it by tests/unit/
 * test_s7plus_codec.c) and the public descriptions of the protocol quoted in
 * issue 18. Where only the python-snap7 peer shows a shape (InitSSL,
 * CreateObject, DeleteObject, GetVarSubStreamed), the test against it is
 * the evidence. */
#ifndef PLCIO_S7P_CODEC_H
#define PLCIO_S7P_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plcio/bytes.h"
#include "plcio/core.h"

/* ---- constants ---------------------------------------------------------- */

#define S7P_PROTOCOL_ID 0x72
#define S7P_V1          0x01
#define S7P_V2          0x02
#define S7P_V3          0x03
#define S7P_VSYSTEM     0xFE

#define S7P_OP_REQUEST      0x31
#define S7P_OP_RESPONSE     0x32
#define S7P_OP_NOTIFICATION 0x33
#define S7P_OP_RESPONSE2    0x02

#define S7P_FN_ERROR             0x04B1
#define S7P_FN_EXPLORE           0x04BB
#define S7P_FN_CREATE_OBJECT     0x04CA
#define S7P_FN_DELETE_OBJECT     0x04D4
#define S7P_FN_SET_VARIABLE      0x04F2
#define S7P_FN_GET_VARIABLE      0x04FC
#define S7P_FN_SET_MULTI_VARS    0x0542
#define S7P_FN_GET_MULTI_VARS    0x054C
#define S7P_FN_INVOKE            0x056B
#define S7P_FN_SET_VAR_SUBSTREAM 0x057C
#define S7P_FN_GET_VAR_SUBSTREAM 0x0586
#define S7P_FN_ABORT             0x059A
#define S7P_FN_ERROR2            0x05A9
#define S7P_FN_INIT_SSL          0x05B3

/* PValue type ids */
enum {
    S7P_T_NULL = 0x00,
    S7P_T_BOOL = 0x01,
    S7P_T_USINT = 0x02,
    S7P_T_UINT = 0x03,
    S7P_T_UDINT = 0x04, /* unsigned VLQ */
    S7P_T_ULINT = 0x05, /* unsigned VLQ64 */
    S7P_T_SINT = 0x06,
    S7P_T_INT = 0x07,
    S7P_T_DINT = 0x08, /* signed VLQ */
    S7P_T_LINT = 0x09, /* signed VLQ64 */
    S7P_T_BYTE = 0x0A,
    S7P_T_WORD = 0x0B,
    S7P_T_DWORD = 0x0C,
    S7P_T_LWORD = 0x0D,
    S7P_T_REAL = 0x0E,
    S7P_T_LREAL = 0x0F,
    S7P_T_TIMESTAMP = 0x10, /* 8 bytes */
    S7P_T_TIMESPAN = 0x11,  /* signed VLQ64 */
    S7P_T_RID = 0x12,       /* 4 bytes */
    S7P_T_AID = 0x13,       /* unsigned VLQ */
    S7P_T_BLOB = 0x14,      /* root id VLQ, length VLQ, bytes */
    S7P_T_WSTRING = 0x15,   /* length VLQ, UTF-8 */
    S7P_T_VARIANT = 0x16,
    S7P_T_STRUCT = 0x17, /* struct id u32, (attribute VLQ, PValue)* 00 */
    S7P_T_S7STRING = 0x19,
};

/* PValue flags byte */
#define S7P_F_ARRAY      0x10
#define S7P_F_ADDR_ARRAY 0x20 /* element count + elements, like ARRAY */
#define S7P_F_SPARSE     0x40 /* (key VLQ, element)* 00 */

/* Object-tree element ids */
#define S7P_E_START_OBJECT 0xA1
#define S7P_E_END_OBJECT   0xA2
#define S7P_E_ATTRIBUTE    0xA3
#define S7P_E_RELATION     0xA4
#define S7P_E_TAG_DESC     0xA7
#define S7P_E_TAG_DESC_END 0xA8
#define S7P_E_VARTYPE_LIST 0xAB
#define S7P_E_VARNAME_LIST 0xAC

/* Ids used by the client and the simulator */
#define S7P_ID_OBJECT_NULL_SERVER_SESSION 288u
#define S7P_ID_SERVER_SESSION_CONTAINER   285u
#define S7P_ID_GET_NEW_RID_ON_SERVER      211u
#define S7P_ID_CLASS_SERVER_SESSION       287u
#define S7P_ID_CLASS_SUBSCRIPTIONS        255u
#define S7P_ID_OBJECT_VARIABLE_TYPE_NAME  233u
#define S7P_ID_SERVER_SESSION_CLIENT_RID  300u
#define S7P_ID_SERVER_SESSION_VERSION     306u
#define S7P_ID_SERVER_SESSION_CHALLENGE   303u  /* legitimation challenge (read) */
#define S7P_ID_SERVER_SESSION_RESPONSE    304u  /* legacy answer: SHA1(password) XOR challenge */
#define S7P_ID_LEGITIMATE                 1846u /* new answer: AES-256-CBC, TLS exporter key */
/* Item error for an access the protection level forbids: plcio's simulator
 * sends it; which value a real PLC sends is not known (docs/s7plus.md). */
#define S7P_ERR_ACCESS_DENIED             0x8112u
#define S7P_ID_OBJECT_QUALIFIER           1256u
#define S7P_ID_PARENT_RID                 1257u
#define S7P_ID_COMPOSITION_AID            1258u
#define S7P_ID_KEY_QUALIFIER              1259u
#define S7P_ID_EFFECTIVE_PROTECTION_LEVEL 1842u
#define S7P_ID_DB_ACCESS_AREA_BASE        0x8A0E0000u
#define S7P_ID_DB_VALUE_ACTUAL            2550u
#define S7P_ID_CONTROLLER_AREA_VALUE      3736u
#define S7P_ID_NATIVE_OBJECTS_THE_I_AREA  80u
#define S7P_ID_NATIVE_OBJECTS_THE_Q_AREA  81u
#define S7P_ID_NATIVE_OBJECTS_THE_M_AREA  82u
#define S7P_LID_CLASSIC_BLOB              3u
#define S7P_ID_NATIVE_THE_PLC_PROGRAM     3u
#define S7P_ID_BLOCK_NUMBER               2521u
#define S7P_ID_DB_CLASS                   2574u
/* CPU execution unit and its operating-state attribute (a DInt: 3 RUN,
 * 1 STOP); public reports, not in the real capture: unverified on hardware */
#define S7P_ID_NATIVE_THE_CPU_EXEC_UNIT      52u
#define S7P_ID_CPU_EXEC_UNIT_OPERATING_STATE 2167u
#define S7P_OPSTATE_STOP                     1
#define S7P_OPSTATE_RUN                      3

/* Subscriptions (object class 1001 and its attributes; ids from public
 * reports: python-snap7, S7CommPlusDriver; the credit limit and the
 * notification layout also from the real capture) */
#define S7P_ID_CLASS_SUBSCRIPTION    1001u
#define S7P_ID_SUB_ROUTE_MODE        1040u
#define S7P_ID_SUB_ACTIVE            1041u
#define S7P_ID_SUB_REFERENCE_LIST    1048u
#define S7P_ID_SUB_CYCLE_TIME        1049u
#define S7P_ID_SUB_CREDIT_LIMIT      1053u
#define S7P_ID_SUB_FUNCTION_CLASS_ID 1082u
#define S7P_SUB_ROUTE_CHANGES_ONLY   0x20u       /* no empty notifications */
#define S7P_SUB_ROUTE_EVERY_CYCLE    0x14u       /* an empty notification on a cycle without change */
#define S7P_SUB_REF_CREATE           0x80000000u /* first word of a reference list: create (| counter << 16) */
#define S7P_SUB_REF_ITEM             0x80040000u /* item head: | 1 + number of LIDs */
/* transport flags of a request that wants no answer (the capture's credit SetVariable) */
#define S7P_FLAGS_NO_ANSWER 0x74u

/* Limits of this codec (what one decoded struct holds). */
#define S7P_MAX_ITEMS 64
#define S7P_MAX_LIDS  16

/* ---- VLQ ----------------------------------------------------------------
 * Big-endian groups of 7 bits, bit 7 = more follow. Signed forms: bit 6 of
 * the first byte is the sign (two's complement over the groups). 32-bit
 * forms take at most 5 bytes; 64-bit forms at most 9, the 9th carrying 8
 * bits. Encoders write the shortest form. */
int s7p_get_vlq32(plcio_rcursor *c, uint32_t *v);
int s7p_get_vlq64(plcio_rcursor *c, uint64_t *v);
int s7p_get_svlq32(plcio_rcursor *c, int32_t *v);
int s7p_get_svlq64(plcio_rcursor *c, int64_t *v);
bool s7p_put_vlq32(plcio_wcursor *w, uint32_t v);
bool s7p_put_vlq64(plcio_wcursor *w, uint64_t v);
bool s7p_put_svlq32(plcio_wcursor *w, int32_t v);
bool s7p_put_svlq64(plcio_wcursor *w, int64_t v);

/* ---- frames -------------------------------------------------------------
 * One fragment on the wire: 72 VER LEN16 DATA[LEN]; the last fragment of a
 * PDU is followed by the trailer 72 VER 00 00. A V3 frame's data starts with
 * a digest: LEN8 DIGEST[LEN8] (32 bytes of HMAC in practice). */
typedef struct s7p_frame {
    uint8_t version;
    const uint8_t *data; /* borrowed */
    size_t len;
    bool last;   /* a trailer followed (consumed with the fragment) */
    size_t used; /* bytes of the stream this fragment (and trailer) took */
} s7p_frame;

/* Find one fragment at the start of a stream buffer. PLCIO_EAGAIN with *need
 * = bytes wanted in total when incomplete. A fragment is "last" when the
 * trailer follows it; when fewer than 4 bytes follow, the answer is EAGAIN
 * (the next 4 bytes decide). */
int s7p_frame_decode(const uint8_t *buf, size_t len, s7p_frame *f, size_t *need);
/* Frame DATA as one fragment plus trailer. */
int s7p_frame_encode(plcio_wcursor *w, uint8_t version, const uint8_t *data, size_t len);
/* V3: split a digest off the front of frame data. */
int s7p_digest_split(const uint8_t *data, size_t len, const uint8_t **digest, size_t *dlen, const uint8_t **rest,
                     size_t *rlen);

/* ---- PValue ------------------------------------------------------------- */
typedef struct s7p_value {
    uint8_t flags; /* S7P_F_* */
    uint8_t type;  /* S7P_T_* */
    /* scalars: the value (unsigned types, bit patterns of REAL/LREAL, RID,
     * TIMESTAMP) in u, signed types in i */
    uint64_t u;
    int64_t i;
    uint32_t id;         /* BLOB root id, STRUCT id */
    const uint8_t *data; /* BLOB/WSTRING bytes; ARRAY/SPARSE/STRUCT: encoded elements */
    size_t size;
    uint32_t count; /* ARRAY: elements; STRUCT/SPARSE: members */
} s7p_value;

int s7p_value_decode(plcio_rcursor *c, s7p_value *v);
/* ARRAY/SPARSE/STRUCT elements are re-read from data and written one by one. */
int s7p_value_encode(plcio_wcursor *w, const s7p_value *v);

/* Dialects and body flags. python-snap7's client and emulator write Blobs
 * without the root id a real PLC sends (S7P_COMPACT_BLOB). */
#define S7P_WITH_VALUES  1u
#define S7P_COMPACT_BLOB 2u
int s7p_value_decode_ex(plcio_rcursor *c, s7p_value *v, unsigned dialect);
int s7p_value_encode_ex(plcio_wcursor *w, const s7p_value *v, unsigned dialect);

/* Element iterator of an ARRAY (key = index), SPARSE (key = its key) or
 * STRUCT (key = member attribute id) value. */
typedef struct s7p_elems {
    plcio_rcursor c;
    uint8_t type;
    uint8_t flags;
    uint32_t left;
    unsigned dialect;
} s7p_elems;
void s7p_elems_begin(s7p_elems *it, const s7p_value *v);
/* 1: an element; 0: no more; <0 error. */
int s7p_elems_next(s7p_elems *it, uint32_t *key, s7p_value *elem);

/* Convenience constructors for encoders. */
s7p_value s7p_value_udint(uint32_t v);
s7p_value s7p_value_blob(const uint8_t *data, size_t size);
s7p_value s7p_value_wstring(const char *s);

/* ---- attribute lists: (id VLQ, PValue)* 00 ------------------------------ */
typedef struct s7p_attrs {
    const uint8_t *data; /* from the first id to the 00 (excluded) */
    size_t size;
    uint32_t count;
} s7p_attrs;
int s7p_attrs_decode(plcio_rcursor *c, s7p_attrs *a);
int s7p_attrs_encode(plcio_wcursor *w, const s7p_attrs *a);
/* 1: (id, value); 0: end; <0 error. Iterate with a cursor over a->data. */
int s7p_attrs_next(plcio_rcursor *c, uint32_t *id, s7p_value *v);

/* ---- object-tree elements ----------------------------------------------- */
typedef struct s7p_elem {
    uint8_t tag;                                  /* S7P_E_* */
    uint32_t relation_id;                         /* START_OBJECT (u32), RELATION (VLQ id) */
    uint32_t class_id, class_flags, attribute_id; /* START_OBJECT; attribute_id also ATTRIBUTE, TAG_DESC */
    uint32_t relation_value;                      /* RELATION */
    s7p_value value;                              /* ATTRIBUTE */
    const uint8_t *data; /* VARTYPE/VARNAME lists: their u16-length blocks, 0-length end excluded */
    size_t size;
} s7p_elem;
/* Read one element. Tags other than A1..A4, AB, AC are PLCIO_EUNSUPPORTED. */
int s7p_elem_decode(plcio_rcursor *c, s7p_elem *e);
int s7p_elem_encode(plcio_wcursor *w, const s7p_elem *e);
/* A whole object (A1 ... matching A2), checked; returns its span. */
int s7p_object_span(plcio_rcursor *c, const uint8_t **data, size_t *size);
int s7p_objects_encode(plcio_wcursor *w, const uint8_t *data, size_t size);

/* ---- headers ------------------------------------------------------------ */
typedef struct s7p_header {
    uint8_t opcode;
    uint16_t reserved1;
    uint16_t function;
    uint16_t reserved2;
    uint16_t seq;
    uint32_t session; /* requests only */
    uint8_t flags;    /* transport flags */
} s7p_header;
/* Request (0x31): 14 bytes; response (0x32, 0x02): 10 bytes. */
int s7p_header_decode(plcio_rcursor *c, s7p_header *h);
int s7p_header_encode(plcio_wcursor *w, const s7p_header *h);

/* The end of every PDU body: an optional integrity id (VLQ) and 4 fill bytes. */
typedef struct s7p_tail {
    bool has_iid;
    uint32_t iid;
    uint32_t fill;
    bool no_fill; /* python-snap7's emulator ends some answers after the id */
} s7p_tail;
int s7p_tail_decode(plcio_rcursor *c, s7p_tail *t);
int s7p_tail_encode(plcio_wcursor *w, const s7p_tail *t);

/* ObjectQualifier: u32 1256 then an attribute list. */
typedef struct s7p_qualifier {
    bool present;
    bool pad_before; /* a 00 byte before it (seen from a real S7-1500 client in GetMultiVariables) */
    s7p_attrs attrs;
} s7p_qualifier;

/* Item address: symbol CRC, access area, LID count (sub-area included),
 * sub-area, LIDs. */
typedef struct s7p_address {
    uint32_t crc;
    uint32_t area;
    uint32_t sub_area;
    uint32_t nlids;
    uint32_t lids[S7P_MAX_LIDS];
} s7p_address;
int s7p_address_decode(plcio_rcursor *c, s7p_address *a);
int s7p_address_encode(plcio_wcursor *w, const s7p_address *a);
uint32_t s7p_address_fields(const s7p_address *a);

/* ---- PDU bodies ---------------------------------------------------------- */

/* Whole PDU: header + body span (tail included). */
typedef struct s7p_pdu {
    s7p_header h;
    const uint8_t *body;
    size_t body_len;
} s7p_pdu;
int s7p_pdu_decode(const uint8_t *data, size_t len, s7p_pdu *p);

/* GetMultiVariables / SetMultiVariables request. With link_id 0 the items
 * are item addresses; with an object id (SetMultiVariables on the session
 * object: the session-version echo) each item is one attribute id, kept in
 * items[k].area (one field each). */
typedef struct s7p_multi_req {
    uint32_t link_id;
    uint32_t nitems;
    uint32_t nfields;
    s7p_address items[S7P_MAX_ITEMS];
    bool with_values; /* SetMultiVariables: (item nr, PValue)* 00 */
    unsigned dialect; /* S7P_COMPACT_BLOB */
    uint32_t value_nr[S7P_MAX_ITEMS];
    s7p_value values[S7P_MAX_ITEMS];
    uint32_t nvalues;
    s7p_qualifier q;
    s7p_tail tail;
} s7p_multi_req;
/* flags: S7P_WITH_VALUES (SetMultiVariables), S7P_COMPACT_BLOB */
int s7p_multi_req_decode(plcio_rcursor *c, unsigned flags, s7p_multi_req *r);
int s7p_multi_req_encode(plcio_wcursor *w, const s7p_multi_req *r);

/* GetMultiVariables / SetMultiVariables answer: return value, values (Get
 * only), per-item errors. */
typedef struct s7p_multi_res {
    uint64_t ret;
    bool with_values;
    unsigned dialect;
    uint32_t nvalues;
    uint32_t value_nr[S7P_MAX_ITEMS];
    s7p_value values[S7P_MAX_ITEMS];
    uint32_t nerrors;
    uint32_t error_nr[S7P_MAX_ITEMS];
    uint64_t errors[S7P_MAX_ITEMS];
    s7p_tail tail;
} s7p_multi_res;
/* flags: S7P_WITH_VALUES (GetMultiVariables), S7P_COMPACT_BLOB */
int s7p_multi_res_decode(plcio_rcursor *c, unsigned flags, s7p_multi_res *r);
int s7p_multi_res_encode(plcio_wcursor *w, const s7p_multi_res *r);

/* SetVariable request: object id, n addresses (VLQ), n PValues, qualifier. */
typedef struct s7p_setvar_req {
    uint32_t object_id;
    uint32_t n;
    uint32_t address[S7P_MAX_ITEMS];
    s7p_value values[S7P_MAX_ITEMS];
    s7p_qualifier q;
    uint8_t extra; /* one byte after the qualifier (0 in the real capture) */
    s7p_tail tail;
} s7p_setvar_req;
int s7p_setvar_req_decode(plcio_rcursor *c, s7p_setvar_req *r);
int s7p_setvar_req_encode(plcio_wcursor *w, const s7p_setvar_req *r);

/* Notification (opcode 0x33, no request header). */
typedef struct s7p_notification {
    uint32_t subscription;
    uint16_t unknown2, unknown3, unknown4;
    uint8_t credit_tick;
    uint32_t seq;
    uint8_t unknown5;
    uint32_t n;
    uint8_t code[S7P_MAX_ITEMS]; /* 0x92: value with a u32 item reference */
    uint32_t ref[S7P_MAX_ITEMS];
    s7p_value values[S7P_MAX_ITEMS];
    s7p_tail tail;
} s7p_notification;
int s7p_notification_decode(plcio_rcursor *c, s7p_notification *n);
/* The same piece by piece, for notifications of any length: the head (up to
 * the change counter; the items left n == 0), then item by item: 1 and
 * (code, ref, value: type NULL for an error code), 0 at the end (the tail
 * follows), <0 malformed or an unknown code (PLCIO_EUNSUPPORTED). */
#define S7P_NOTIF_VALUE_U32REF 0x92
#define S7P_NOTIF_VALUE_VLQREF 0x9B
#define S7P_NOTIF_ERROR_03     0x03
#define S7P_NOTIF_ERROR_13     0x13
int s7p_notif_head_decode(plcio_rcursor *c, s7p_notification *n);
int s7p_notif_item_next(plcio_rcursor *c, uint8_t *code, uint32_t *ref, s7p_value *v, unsigned dialect);
int s7p_notification_encode(plcio_wcursor *w, const s7p_notification *n);

/* CreateObject request: request id u32, a PValue, u32, one object tree. */
typedef struct s7p_create_req {
    uint32_t request_id;
    s7p_value value;
    uint32_t unknown;
    const uint8_t *object; /* A1 ... A2 */
    size_t object_len;
    s7p_tail tail;
} s7p_create_req;
int s7p_create_req_decode(plcio_rcursor *c, s7p_create_req *r);
int s7p_create_req_encode(plcio_wcursor *w, const s7p_create_req *r);

/* CreateObject answer: return value, object ids (count u8, VLQs), object tree. */
#define S7P_MAX_OBJECT_IDS 8
typedef struct s7p_create_res {
    uint64_t ret;
    uint8_t nids;
    uint32_t ids[S7P_MAX_OBJECT_IDS];
    const uint8_t *object;
    size_t object_len;
    s7p_tail tail;
} s7p_create_res;
int s7p_create_res_decode(plcio_rcursor *c, s7p_create_res *r);
int s7p_create_res_encode(plcio_wcursor *w, const s7p_create_res *r);

/* Human-readable name of a function code ("GetMultiVariables"); static. */
const char *s7p_function_name(uint16_t fn);

#endif
