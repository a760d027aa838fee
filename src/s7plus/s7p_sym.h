/* Symbolic access to optimized DBs, shared by the client and the simulator:
 * software data types, values between S7 bytes and PValues, and the type
 * information (VartypeList / VarnameList objects in the type-info container)
 * encoded from a layout (simulator) and decoded into SCL text (client). */
#ifndef PLCIO_S7P_SYM_H
#define PLCIO_S7P_SYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plcio/bytes.h"
#include "plcio/layout.h"
#include "plcio/s7plus.h"
#include "s7plus/s7p_codec.h"

#define S7P_ID_CLASS_TYPE_INFO           511u
#define S7P_ID_CLASS_TYPE_INFO_CONTAINER 534u
#define S7P_ID_TYPE_INFO_CONTAINER       537u
#define S7P_ID_TI_TCOM_SIZE              1502u
/* RIDs the simulator gives its type objects (plcio's choice) */
#define S7P_TI_RID_BASE 0x92000000u
/* Type objects of the PLC tags: + (area << 16), area I 1, Q 2, M 3
 * (0x90010000 I, 0x90020000 Q, 0x90030000 M, as public reports of real
 * CPUs give them) */
#define S7P_TI_RID_TAGS 0x90000000u
/* LID 1 of a DB's actual values: the RID of its type object */
#define S7P_LID_TYPE_INFO 1u
/* Item error for raw (ClassicBlob) access to an optimized DB: plcio's choice */
#define S7P_ERR_OPTIMIZED 0x8104u

/* Software data type of an elementary plcio type (0: none). */
uint8_t s7p_softtype(plcio_type t);
/* plcio type of a software data type; false if plcio has none. */
bool s7p_softtype_to_type(uint8_t sdt, plcio_type *t);

/* S7 bytes of an elementary member (BOOL: the byte holding it, bit given)
 * to the PValue that carries it; arrays point into `bytes`. */
int s7p_sym_to_pvalue(plcio_type t, unsigned length, const uint8_t *bytes, size_t size, int bit, s7p_value *v);
/* A PValue to the member's S7 bytes (size = plcio_type_size; BOOL: one byte
 * 0/1). PLCIO_ETYPE if its type does not fit, PLCIO_ERANGE if its length does not. */
int s7p_sym_from_pvalue(plcio_type t, unsigned length, const s7p_value *v, uint8_t *out, size_t size);

/* Simulator: the type-info container's answer body objects for the optimized
 * DBs of `set`; the RID of a DB's type object (0: none). */
int s7p_ti_encode(plcio_wcursor *w, const plcio_layout_set *set);
/* The same, the PLC tags' type objects after the DBs' (tags may be NULL). */
int s7p_ti_encode_all(plcio_wcursor *w, const plcio_layout_set *set, const plcio_s7plus_tag *tags, size_t ntags);
uint32_t s7p_ti_db_rid(const plcio_layout_set *set, const plcio_layout *db);
/* Simulator: a member by LID chain (lids after the sub-area). PLCIO_ENOTFOUND
 * / PLCIO_ERANGE; *bitpos its bit position in the simulator's image. */
int s7p_ti_member(const plcio_layout *db, const uint32_t *lids, unsigned nlids, plcio_type *type, unsigned *length,
                  uint32_t *bitpos);

/* Client: the type objects of an Explore answer of the container (after
 * the return value), kept; then SCL source of one DB of root type `rid`. */
typedef struct s7p_ti_set s7p_ti_set;
int s7p_ti_decode(const uint8_t *data, size_t len, s7p_ti_set **out, char *msg, size_t msgcap);
void s7p_ti_free(s7p_ti_set *t);
/* Append the elementary tags of one area's type object (if the PLC sent one)
 * to *v (*n used of *cap, realloc'ed). PLCIO_EPROTO with msg, PLCIO_ENOMEM. */
int s7p_ti_tags(const s7p_ti_set *t, plcio_s7plus_area area, plcio_s7plus_tag **v, size_t *n, size_t *cap, char *msg,
                size_t msgcap);
/* SCL text (malloc'ed, *out) of DATA_BLOCK "name" from type object rid. */
int s7p_ti_scl(const s7p_ti_set *t, uint32_t rid, const char *name, char **out, char *msg, size_t msgcap);

/* The client's cache of browsed DBs (s7p_symbolic.c). */
typedef struct s7p_symcache s7p_symcache;
void s7p_symcache_free(s7p_symcache *s);

/* Internals of s7p_client.c for s7p_symbolic.c. */
int s7p_cl_exchange(plcio_s7plus_client *c, uint16_t fn, size_t body_len, bool read_class, s7p_pdu *answer);
uint8_t *s7p_cl_body(plcio_s7plus_client *c, size_t need);
int s7p_cl_fail(plcio_s7plus_client *c, int rc, const char *text);
void s7p_cl_plc_error(plcio_s7plus_client *c, uint64_t code);
/* Explore of one object (thePLCProgram, the type info container) with the
 * attributes attrs[0..nattrs) of its children, nattrs <= 4: *rd on the
 * answer's objects, past its return value. `what` completes "the PLC
 * refused ..." when that return value is not 0 (then the PLC error is kept). */
int s7p_cl_explore(plcio_s7plus_client *c, uint32_t object, const uint32_t *attrs, size_t nattrs, const char *what,
                   plcio_rcursor *rd);
void s7p_cl_ok(plcio_s7plus_client *c);
s7p_symcache **s7p_cl_cache(plcio_s7plus_client *c);
int s7p_cl_max_items(const plcio_s7plus_client *c);
const uint8_t *s7p_cl_qualifier(size_t *len);
/* Queue a symbolic job (event-loop mode): s7p_client.c drives it batch by batch
 * with the s7p_sym_job_* functions of s7p_symbolic.c. */
int s7p_cl_queue_sym(plcio_s7plus_client *c, bool write, plcio_s7plus_sym_item *items, size_t n,
                     plcio_s7plus_done_fn done, void *ctx);
/* Blocking: send a request (its sequence number in *seq; the bytes go with
 * the next wait), wait for the next answer (any request's). */
int s7p_cl_send(plcio_s7plus_client *c, uint16_t fn, size_t body_len, bool read_class, uint16_t *seq);
int s7p_cl_wait(plcio_s7plus_client *c, s7p_pdu *answer);
int s7p_cl_pipeline(const plcio_s7plus_client *c);
/* A job's batches: start (every item's result PLCIO_EAGAIN: not done), the
 * next batch encoded (s7p_symbolic.c), sent as request seq, an answer by
 * sequence number, the batches under way, and abort (items not done get rc). */
int s7p_sym_job_start(plcio_s7plus_client *c, plcio_s7plus_sym_item *items, size_t n);
int s7p_sym_job_body(plcio_s7plus_client *c, plcio_s7plus_sym_item *items, size_t n, size_t *at, bool write,
                     size_t *len);
void s7p_sym_job_sent(plcio_s7plus_client *c, uint16_t seq);
int s7p_sym_job_answer(plcio_s7plus_client *c, plcio_s7plus_sym_item *items, bool write, const s7p_pdu *p);
unsigned s7p_sym_job_inflight(plcio_s7plus_client *c);
void s7p_sym_job_abort(plcio_s7plus_client *c, plcio_s7plus_sym_item *items, size_t n, int rc);

#endif
