/* Data-block layouts: read the DB definitions that TIA Portal and STEP 7
 * export, compute the absolute (standard access) offset of every member, and
 * resolve member names such as `Motor.Speed`, `Recipe[3].Temp` or `M[1,2]`.
 *
 * Accepted input (any mix, any order, across several files):
 *   - TIA SCL source ("Generate source from blocks") and "Copy as text":
 *     DATA_BLOCK, TYPE ... END_TYPE (UDTs), FUNCTION_BLOCK interfaces for
 *     instance DBs (`DATA_BLOCK "inst" "FB_name"`), attributes, start values
 *     and the BEGIN section;
 *   - STEP 7 classic AWL/SCL source DBs (`DATA_BLOCK DB 99`, `UDT 5`, `FB 3`);
 *   - the TIA DB-editor table copy (tab separated; Name, Data type, Offset,
 *     Start value, ...). The DB takes its name from the file name.
 *   UTF-8 with or without BOM, LF or CRLF.
 *
 * Offsets follow the standard-access rules of S7-300/400 and of non-optimized
 * S7-1200/1500 blocks (docs/layout-offsets.md). Optimized DBs have no
 * absolute addresses: they are refused with PLCIO_EOPTIMIZED.
 *
 * Ownership: a plcio_layout_set owns everything it returns; every pointer it
 * hands out (layouts, names, start texts, messages) stays valid until
 * plcio_layout_set_free(). A set is used from one thread at a time; a
 * resolved set is read-only and its layouts may then be read concurrently. */
#ifndef PLCIO_LAYOUT_H
#define PLCIO_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plcio/core.h"
#include "plcio/export.h"
#include "plcio/types.h"

PLCIO_BEGIN_DECLS

/* Most dimensions an ARRAY may declare (S7 allows 6). */
#define PLCIO_LAYOUT_MAX_DIMS 6
/* Longest LID chain of a member (struct nesting and array levels). */
#define PLCIO_LAYOUT_MAX_LIDS 16
/* Largest data block an S7 CPU addresses with a 16-bit byte offset. */
#define PLCIO_LAYOUT_MAX_DB_SIZE 65535u

typedef struct plcio_layout_set plcio_layout_set;
typedef struct plcio_layout plcio_layout;

typedef struct plcio_layout_options {
    /* A TIA DB (or FB) without `S7_Optimized_Access` is optimized, TIA's
     * default for new blocks, and is refused. Set this when you know the
     * block is standard (non-optimized) although its source does not say so;
     * the set records a warning for each such DB. */
    bool assume_standard;
    /* Keep optimized DBs instead of refusing them (the S7CommPlus simulator
     * serves them by symbol): their members get LIDs in declaration order as
     * plcio assumes TIA assigns them (the first member of every struct level
     * 10 (0xA), then one up per member; unverified against TIA), and byte
     * offsets laid out by the standard rules, which only the simulator's own
     * storage uses. plcio_layout_is_optimized() tells such DBs. */
    bool accept_optimized;
} plcio_layout_options;

typedef enum plcio_layout_kind {
    PLCIO_LAYOUT_ELEMENTARY = 0, /* BOOL ... DTL, STRING[n], WSTRING[n] */
    PLCIO_LAYOUT_STRUCT = 1,     /* STRUCT, UDT, FB instance */
    PLCIO_LAYOUT_ARRAY = 2
} plcio_layout_kind;

/* One member as placed in the DB. A plain value struct filled by the calls
 * below; the pointers in it belong to the set. */
typedef struct plcio_layout_member {
    const char *name; /* full name ("Recipe[3].Temp"); NULL for a lookup
                         result that is not a leaf */
    plcio_layout_kind kind;
    plcio_type type;   /* ELEMENTARY: its type; ARRAY of elementary: the
                          element type; otherwise PLCIO_TYPE_COUNT_ */
    unsigned length;   /* declared STRING/WSTRING length, else 0 */
    int db_number;     /* from `DATA_BLOCK DB 99`; -1 when the source
                          does not say (TIA names): the caller gives it */
    uint32_t byte;     /* byte offset in the DB */
    int bit;           /* 0..7 for BOOL (and an ARRAY OF BOOL), else -1 */
    uint32_t size;     /* bytes occupied; a BOOL counts its 1 byte */
    uint32_t count;    /* ARRAY: element count; otherwise 1 */
    const char *start; /* leaves: start value as the source wrote it
                          ("16#0F", "'abc'", "T#2s"), NULL for the type's
                          default (zero, FALSE, empty string) */
    /* Symbolic access path below the DB (optimized DBs, browsed or accepted
     * with accept_optimized; 0 otherwise): the member's LID at each struct
     * level, an array element's flat 0-based index after its array's LID,
     * and for an element of an array of structs a 1 after the index. */
    unsigned nlids;
    uint32_t lids[PLCIO_LAYOUT_MAX_LIDS];
    /* ARRAY (a lookup of a whole array): its bounds; 0 dims otherwise */
    unsigned dims;
    int32_t lower[PLCIO_LAYOUT_MAX_DIMS];
    uint32_t dim_count[PLCIO_LAYOUT_MAX_DIMS];
} plcio_layout_member;

/* A new, empty set in *out. opts may be NULL (defaults). Caller frees with
 * plcio_layout_set_free(). PLCIO_ENOMEM. */
PLCIO_API int plcio_layout_set_new(const plcio_layout_options *opts, plcio_layout_set **out, plcio_error *err);
PLCIO_API void plcio_layout_set_free(plcio_layout_set *set);

/* Read and parse one file (definitions are collected; UDTs and FBs may come
 * in any file and any order). PLCIO_EIO if unreadable, PLCIO_ESYNTAX (and
 * others) with plcio_layout_set_last_error() on bad input. */
PLCIO_API int plcio_layout_set_add_file(plcio_layout_set *set, const char *path);
/* Same for text in memory; `name` is used in messages and, for a table copy,
 * as the DB name (its base name without extension). The text is copied. */
PLCIO_API int plcio_layout_set_add_text(plcio_layout_set *set, const char *name, const char *text, size_t len);

/* Resolve user types and compute every DB's layout and start values. Call
 * once, after the last add. Errors: PLCIO_ENOTFOUND (undefined type),
 * PLCIO_ESYNTAX, PLCIO_ETYPE, PLCIO_ERANGE (bounds, lengths, DB size),
 * PLCIO_ELIMIT (recursive UDT), PLCIO_EOPTIMIZED. */
PLCIO_API int plcio_layout_set_resolve(plcio_layout_set *set);

/* The first error: its code and one line "file:line:column: sentence"
 * (PLCIO_OK and "" if none). Owned by the set. */
PLCIO_API const plcio_error *plcio_layout_set_last_error(const plcio_layout_set *set);
/* Its position; file may be NULL when the error has no position. */
PLCIO_API void plcio_layout_set_error_pos(const plcio_layout_set *set, const char **file, unsigned *line,
                                          unsigned *column);

/* Warnings recorded while resolving (for example assume_standard in use). */
PLCIO_API size_t plcio_layout_set_warning_count(const plcio_layout_set *set);
PLCIO_API const char *plcio_layout_set_warning(const plcio_layout_set *set, size_t index);

/* Data blocks, in the order they were defined. */
PLCIO_API size_t plcio_layout_set_count(const plcio_layout_set *set);
PLCIO_API const plcio_layout *plcio_layout_set_get(const plcio_layout_set *set, size_t index);
/* By name, case-insensitive, with or without quotes ("DB_Main", "DB 99"). */
PLCIO_API const plcio_layout *plcio_layout_set_find(const plcio_layout_set *set, const char *name);

/* User types (TYPE ... END_TYPE), each laid out as if it were a DB of its
 * own: lets files holding only UDTs be inspected. */
PLCIO_API size_t plcio_layout_set_type_count(const plcio_layout_set *set);
PLCIO_API const plcio_layout *plcio_layout_set_type(const plcio_layout_set *set, size_t index);

PLCIO_API const char *plcio_layout_name(const plcio_layout *layout);
PLCIO_API int plcio_layout_db_number(const plcio_layout *layout);
/* True for an optimized DB (accept_optimized, or a browsed S7CommPlus DB). */
PLCIO_API bool plcio_layout_is_optimized(const plcio_layout *layout);
/* DB length in bytes (even, like TIA reports it). */
PLCIO_API uint32_t plcio_layout_size(const plcio_layout *layout);

/* Leaves (elementary members, arrays expanded element by element) in
 * address order, with full names. */
PLCIO_API size_t plcio_layout_leaf_count(const plcio_layout *layout);
PLCIO_API int plcio_layout_leaf(const plcio_layout *layout, size_t index, plcio_layout_member *out);

/* Resolve a member name: `Speed`, `Motor.Speed`, `Recipe[3].Temp`, `M[1,2]`,
 * `"odd name".x`; case-insensitive. A struct or a whole array resolves too
 * (kind tells which). PLCIO_ENOTFOUND (no such member), PLCIO_ERANGE (index
 * outside the declared bounds), PLCIO_ESYNTAX (malformed name). */
PLCIO_API int plcio_layout_lookup(const plcio_layout *layout, const char *name, plcio_layout_member *out);

/* Fill `image` (plcio_layout_size() bytes) with the DB's start values, as a
 * CPU holds them after download: zeros, BOOL bits, STRING headers (max
 * length, current length), values big-endian. PLCIO_ENOSPC if cap is short. */
PLCIO_API int plcio_layout_start_image(const plcio_layout *layout, uint8_t *image, size_t cap);

/* Text of the value a leaf holds in a DB image: numbers as C prints them
 * round-trip (REAL %.9g, LREAL %.17g, always with a '.' or exponent),
 * TRUE/FALSE as true/false, STRING/CHAR quoted ('abc' or, with
 * PLCIO_LAYOUT_JSON, "abc" JSON-escaped), times and dates as IEC literals
 * (T#1s500ms, D#2024-01-31, ...; JSON-quoted with PLCIO_LAYOUT_JSON).
 * PLCIO_ENOSPC if buf is short, PLCIO_ERANGE if the member lies outside the image. */
#define PLCIO_LAYOUT_JSON 1u
PLCIO_API int plcio_layout_format_value(const plcio_layout_member *member, const uint8_t *image, size_t image_len,
                                        char *buf, size_t cap, unsigned flags);

PLCIO_END_DECLS

#endif
