/* Internals of the layout module: arena, lexer, parsed blocks (AST), computed
 * shapes. Flow: text -> lexer -> parser (SCL/AWL or table copy) -> blocks ->
 * compute (shapes, offsets) -> leaves and start values. */
#ifndef PLCIO_LAYOUT_INTERNAL_H
#define PLCIO_LAYOUT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plcio/core.h"
#include "plcio/layout.h"
#include "plcio/types.h"

/* ---- arena: everything a set owns is carved from it and freed at once ---- */
typedef struct lay_chunk lay_chunk;
typedef struct lay_arena {
    lay_chunk *head;
} lay_arena;

void *lay_alloc(lay_arena *a, size_t size); /* zeroed, 8-aligned; NULL if out of memory */
char *lay_strndup(lay_arena *a, const char *s, size_t len);
void lay_arena_free(lay_arena *a);

/* ---- positions and errors ---- */
typedef struct lay_pos {
    const char *file;
    unsigned line, col;
} lay_pos;

typedef struct lay_diag {
    plcio_error e; /* the first error: code (PLCIO_OK if none), "file:line:col: message" */
    lay_pos pos;
} lay_diag;

/* Record an error (only the first one is kept); returns err. */
int lay_fail(lay_diag *d, int err, lay_pos pos, const char *fmt, ...) PLCIO_PRINTF(4, 5);

/* ---- lexer ---- */
typedef enum lay_tok_kind {
    TK_EOF,
    TK_IDENT,  /* Real, END_STRUCT, DB, B#16#FF (typed literals too) */
    TK_QNAME,  /* "quoted name" (text without the quotes) */
    TK_STRING, /* 'text' (with the quotes, escapes as written) */
    TK_NUMBER, /* 12, 1.5e3, 16#FF */
    TK_PUNCT   /* := .. and single characters */
} lay_tok_kind;

typedef struct lay_tok {
    lay_tok_kind kind;
    const char *p; /* text; for TK_QNAME without the quotes */
    size_t len;
    lay_pos pos;
} lay_tok;

typedef struct lay_lexer {
    const char *cur, *end;
    unsigned line, col;
    const char *file;
    lay_diag *diag;
    lay_tok tok; /* current token */
} lay_lexer;

void lay_lex_init(lay_lexer *lx, const char *text, size_t len, const char *file, unsigned line, unsigned col,
                  lay_diag *diag);
/* Advance to the next token; false on a lexical error (recorded). */
bool lay_lex_next(lay_lexer *lx);
bool lay_tok_is(const lay_tok *t, const char *word); /* identifier or punct, case-insensitive */
/* Skip to the end of the current line (TITLE = anything). */
void lay_lex_skip_line(lay_lexer *lx);

/* ---- parsed definitions ---- */
typedef struct lay_type lay_type;

typedef struct lay_member {
    const char *name;
    lay_type *type;
    const char *init; /* start value text as declared, NULL if none */
    lay_pos pos, init_pos;
    bool section_start; /* FB interface: first member of IN/OUT/IN_OUT/STAT */
    /* table copy: offset TIA printed (-1 if none) */
    int32_t printed_bitpos;
    uint32_t lid; /* attribute plcio_LID (a browsed DB), 0: by declaration order */
} lay_member;

typedef enum lay_type_kind { LT_ELEM, LT_ARRAY, LT_STRUCT, LT_REF } lay_type_kind;

struct lay_type {
    lay_type_kind kind;
    lay_pos pos;
    plcio_type elem; /* LT_ELEM */
    unsigned length; /* STRING/WSTRING */
    unsigned ndims;  /* LT_ARRAY */
    int32_t lo[PLCIO_LAYOUT_MAX_DIMS], hi[PLCIO_LAYOUT_MAX_DIMS];
    lay_type *of;
    lay_member *members; /* LT_STRUCT */
    size_t nmembers;
    const char *ref; /* LT_REF: UDT or FB name */
};

typedef struct lay_assign {
    const char *path;
    const char *value; /* NULL: only check printed_bitpos */
    lay_pos pos, value_pos;
    int32_t printed_bitpos; /* table copy: offset TIA printed for this path, -1 if none */
} lay_assign;

typedef enum lay_block_kind { LB_TYPE, LB_DB, LB_FB } lay_block_kind;

typedef enum lay_access { LA_UNSPECIFIED = -1, LA_STANDARD = 0, LA_OPTIMIZED = 1 } lay_access;

typedef struct lay_shape lay_shape;

typedef struct lay_block {
    lay_block_kind kind;
    const char *name;
    int number;      /* DB 99 -> 99, else -1 */
    bool classic;    /* STEP 7 classic form (DB 99, UDT 5, FB 3): always standard */
    bool table_copy; /* from a TIA table copy: offsets were printed */
    lay_access access;
    bool optimized; /* kept as optimized (accept_optimized) */
    lay_type *body; /* STRUCT, or REF for instance/type-based DBs */
    lay_assign *assigns;
    size_t nassigns;
    lay_pos pos;
    /* compute state */
    int state; /* 0 new, 1 in progress (recursion check), 2 done */
    const lay_shape *shape;
    struct lay_block *next;
} lay_block;

/* ---- computed shapes (offsets relative to the enclosing struct/element) ---- */
typedef struct lay_field {
    const char *name;
    uint32_t bitoff;
    const lay_shape *shape;
    const char *init;
    lay_pos init_pos;
    lay_pos pos;
    int32_t printed_bitpos; /* table copy: what TIA printed, -1 if nothing */
    uint32_t lid;           /* symbolic access id (optimized DBs) */
} lay_field;

struct lay_shape {
    plcio_layout_kind kind;
    plcio_type type;     /* ELEMENTARY */
    unsigned length;     /* STRING/WSTRING */
    uint32_t size_bits;  /* BOOL 1; everything else a multiple of 8 */
    uint32_t align_bits; /* 1 (BOOL), 8 or 16 */
    unsigned ndims;      /* ARRAY */
    int32_t lo[PLCIO_LAYOUT_MAX_DIMS], hi[PLCIO_LAYOUT_MAX_DIMS];
    uint32_t count, stride_bits;
    const lay_shape *elem;
    lay_field *fields; /* STRUCT */
    size_t nfields;
};

typedef struct lay_leaf {
    const char *name;
    plcio_type type;
    unsigned length;
    uint32_t bitpos;
    const char *start;
    lay_pos start_pos;
    lay_pos pos; /* declaration */
    uint8_t nlids;
    uint32_t lids[PLCIO_LAYOUT_MAX_LIDS];
} lay_leaf;

struct plcio_layout {
    const char *name;
    int db_number;
    uint32_t size;
    const lay_shape *shape;
    lay_leaf *leaves;
    size_t nleaves, cap_leaves;
    uint32_t *hash; /* open addressing over leaf names: index+1, 0 empty */
    size_t hash_cap;
    bool optimized; /* accept_optimized: an optimized DB kept, with LIDs */
};

struct plcio_layout_set {
    plcio_layout_options opts;
    lay_arena arena;
    lay_diag diag;
    lay_block *blocks, *blocks_tail;
    bool resolved;
    unsigned depth; /* compute recursion through user types */
    plcio_layout **dbs;
    size_t ndbs;
    plcio_layout **types;
    size_t ntypes;
    char **warnings;
    size_t nwarnings;
};

/* Parsers: append blocks to the set; false on error (set->diag). */
bool lay_parse_source(plcio_layout_set *set, const char *text, size_t len, const char *file);
bool lay_parse_table(plcio_layout_set *set, const char *text, size_t len, const char *file);
/* Type text such as "Array[1..3] of Int" as the SCL parser reads it. */
lay_type *lay_parse_type_text(plcio_layout_set *set, const char *text, size_t len, lay_pos pos);
void lay_add_block(plcio_layout_set *set, lay_block *b);
lay_block *lay_find_block(const plcio_layout_set *set, const char *name, int kind_mask);

/* Compute a block's shape (memoized, recursion-checked). */
int lay_compute_block(plcio_layout_set *set, lay_block *b);
/* Build a DB layout: leaves, start values, name hash. */
int lay_build_layout(plcio_layout_set *set, lay_block *b, plcio_layout **out);

/* First LID of every struct level as plcio assumes TIA numbers members. */
#define LAY_FIRST_LID 10u

/* Names */
bool lay_name_eq(const char *a, const char *b);

/* Values (layout_value.c): encode start-value text into a DB image; check
 * only when image is NULL. Returns PLCIO_OK or an error with a sentence in msg. */
int lay_value_encode(plcio_type type, unsigned length, const char *text, uint8_t *image, size_t image_len,
                     uint32_t bitpos, char *msg, size_t msgcap);
/* Split an array initializer ("[1, 2, 3(0)]" or "1,2") into items,
 * expanding repeats; calls fn for each; false on a malformed list. */
typedef bool (*lay_item_fn)(void *ctx, const char *item, size_t len);
bool lay_value_list(const char *text, lay_item_fn fn, void *ctx, char *msg, size_t msgcap);

#endif
