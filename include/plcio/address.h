/* Address strings for S7 and Modbus: parse into a struct, format back.
 *
 * Usage
 * -----
 *   plcio_s7_address a;
 *   char err[PLCIO_ADDRESS_ERR_MAX];
 *   if (plcio_s7_address_parse("DB1.DBD8:REAL", &a, err, sizeof err) != PLCIO_OK)
 *       fprintf(stderr, "%s\n", err);   // e.g. "DB1.DBW4:REAL: REAL is 4 bytes, a W address holds 2"
 *   // a.area == PLCIO_S7_AREA_DB, a.db == 1, a.offset == 8, a.type == PLCIO_TYPE_REAL,
 *   // a.count == 1, a.size == 4
 *   plcio_s7_address_format(&a, buf, sizeof buf);   // "DB1.DBD8:REAL"
 *
 *   plcio_mb_address m;
 *   plcio_mb_address_parse("400101:REAL:CDAB", &m, err, sizeof err);
 *   // m.table == PLCIO_MB_TABLE_HOLDING_REGISTER, m.address == 100 (0-based),
 *   // m.type == PLCIO_TYPE_REAL, m.order == PLCIO_MB_CDAB, m.quantity == 2
 *
 * S7 forms (case-insensitive, optional leading '%'):
 *   DB1.DBX0.0  DB1.DBB2  DB1.DBW4  DB1.DBD8      data block bit/byte/word/dword
 *   M10.5  MB3  MW10  MD4  (MX10.5)               memory (flags)
 *   I0.1  IB0  IW0  ID0,  Q0.1  QB3  QW0  QD0     inputs/outputs; German E and A
 *   PIW256  PQW256  (PEW, PAW)                    peripheral I/O
 *   T5  C3 (German Z3)                            timers (S5TIME), counters (WORD)
 *   DB1:8:REAL  DB1:20:STRING[30]  DB1:0.3:BOOL   python-snap7 / PLC4X forms
 * then optionally ":TYPE" (REAL, INT, STRING[30], WSTRING[10], ...) and an array
 * count "[n]" after the type or after the address: DB1.DBX0.0:BOOL[8],
 * DB1.DBW0[4], DB1.DBB0:STRING[10][3].
 * Without a type, the size letter decides: X -> BOOL, B -> BYTE, W -> WORD,
 * D -> DWORD. With both, the type must match the letter: X needs BOOL, W a
 * 2-byte type, D a 4-byte type, B a 1-byte type or a type that has no letter
 * of its own (8-byte types, DTL, STRING, WSTRING).
 *
 * Modbus forms (case-insensitive):
 *   hr100 ir100 co100 di100                       0-based protocol addresses
 *   400101 4x00101 40001 30001 10001 00001        Modicon, 1-based (5 or 6 digits)
 * then optionally ":TYPE" (registers: INT UINT DINT UDINT REAL LREAL LINT ULINT
 * WORD DWORD LWORD STRING[n] ...; coils and discrete inputs: BOOL only), a
 * word/byte order ":ABCD" (default), ":CDAB", ":BADC", ":DCBA" and a count
 * "[n]". Default type: UINT for registers, BOOL for bits. Modbus STRING[n] is
 * n Latin-1 bytes without header, two per register, high byte first.
 *
 * Errors: PLCIO_ESYNTAX (malformed) or PLCIO_ERANGE (a number out of range:
 * bit 8, DB 0 or > 65535, an address beyond the area), PLCIO_EINVAL (NULL).
 * `err` (may be NULL) receives one line naming the input and the problem.
 * Nothing here allocates.
 */
#ifndef PLCIO_ADDRESS_H
#define PLCIO_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plcio/core.h"
#include "plcio/export.h"
#include "plcio/word_order.h"
#include "plcio/types.h"

PLCIO_BEGIN_DECLS

/* A good size for the `err` buffers of this module. */
#define PLCIO_ADDRESS_ERR_MAX 160
/* Formatted addresses never need more than this (with NUL). */
#define PLCIO_ADDRESS_TEXT_MAX 64

/* S7 memory areas; the values are the area codes of the S7 protocol's
 * read/write variable item (the "Area" byte of the S7ANY address). */
typedef enum plcio_s7_area {
    PLCIO_S7_AREA_P = 0x80,  /* peripheral (direct) I/O: PIW / PQW */
    PLCIO_S7_AREA_PE = 0x81, /* process inputs I (E) */
    PLCIO_S7_AREA_PA = 0x82, /* process outputs Q (A) */
    PLCIO_S7_AREA_MK = 0x83, /* memory / flags M */
    PLCIO_S7_AREA_DB = 0x84, /* data blocks DB */
    PLCIO_S7_AREA_DI = 0x85, /* instance data blocks (servers accept it like DB) */
    PLCIO_S7_AREA_CT = 0x1C, /* S7 counters C (Z) */
    PLCIO_S7_AREA_TM = 0x1D  /* S7 timers T */
} plcio_s7_area;

/* The S7ANY address field holds byte * 8 + bit in 24 bits. */
#define PLCIO_S7_MAX_BYTE_OFFSET 0x1FFFFFu
/* LOGO! V memory, DB1 of a LOGO! (docs/s7.md "LOGO!"): V0..V849 is the user
 * area; the LOGO! maps its inputs, outputs and flags above it (the address map
 * below), so the V range of each model ends with its map. */
#define PLCIO_LOGO_VM_SIZE_0BA7 984u  /* V0..V983: map V923..V983 */
#define PLCIO_LOGO_VM_SIZE_0BA8 1470u /* V0..V1469: map V1024..V1469 */
/* The largest of the models: the limit of V addresses parsed without a model
 * (plcio_s7_address_parse). */
#define PLCIO_LOGO_VM_SIZE PLCIO_LOGO_VM_SIZE_0BA8

typedef struct plcio_s7_address {
    plcio_s7_area area;
    uint16_t db;        /* data block number 1..65535 for DB, 0 otherwise */
    uint32_t offset;    /* byte offset; timer/counter number for TM/CT */
    uint8_t bit;        /* 0..7: first bit of a BOOL; 0 for other types */
    bool periph_output; /* area P only: written PQ (true) or PI (false) */
    plcio_type type;    /* element type */
    uint16_t length;    /* STRING[n] / WSTRING[n]: n; 0 otherwise */
    uint32_t count;     /* array elements, 1 without [n] */
    uint32_t size;      /* bytes to transfer: count * element size; for BOOL
                         * the bytes the bits span, for T/C 2 per element */
} plcio_s7_address;

/* Parse a NUL-terminated S7 address. */
PLCIO_API int plcio_s7_address_parse(const char *text, plcio_s7_address *out, plcio_error *err);

/* Canonical text: Siemens English mnemonics, type suffix only when it is not
 * the size letter's default, count only when not 1: "DB1.DBX0.0",
 * "DB1.DBD8:REAL", "MW10", "M10.5", "PIW256", "T5", "DB1.DBB20:STRING[30]",
 * "DB1.DBX0.0:BOOL[8]". PLCIO_ENOSPC if cap is too small (output cut, NUL-terminated),
 * PLCIO_EINVAL for an address that is not valid. */
PLCIO_API int plcio_s7_address_format(const plcio_s7_address *a, char *buf, size_t cap);

/* LOGO! generations by their address map (docs/s7.md "LOGO!"): 0BA8 is also
 * the map of LOGO! 8.x (8.1, 8.2, 8.3, 8.FS4). */
typedef enum plcio_logo_model {
    PLCIO_LOGO_0BA8 = 0, /* the default: LOGO! 8 */
    PLCIO_LOGO_0BA7 = 1
} plcio_logo_model;

/* "0ba7" / "0ba8" (case-insensitive; "8" is 0BA8) to the model. PLCIO_ESYNTAX otherwise. */
PLCIO_API int plcio_logo_model_parse(const char *text, plcio_logo_model *out, plcio_error *err);
/* "0ba7" / "0ba8"; NULL for an unknown value. */
PLCIO_API const char *plcio_logo_model_name(plcio_logo_model model);
/* Bytes of V memory of the model (PLCIO_LOGO_VM_SIZE_0BA7 / _0BA8); 0 for an unknown value. */
PLCIO_API uint32_t plcio_logo_vm_size(plcio_logo_model model);

/* Parse an address of a LOGO! of the given model: the names of its address
 * map, which are bits or words of its V memory (DB1),
 *   I1  Q1  M1  NI1  NQ1          a BOOL (bit); [n] for n in a row: I1[8]
 *   AI1 AQ1 AM1 NAI1 NAQ1         an INT (word); :WORD, :UINT... for another 2-byte type
 *     0BA8 / 8.x: I1..I24 = V1024.0.., AI1..AI8 = VW1032.., Q1..Q20 = V1064.0..,
 *       AQ1..AQ8 = VW1072.., M1..M64 = V1104.0.., AM1..AM64 = VW1118..,
 *       NI1..NI64 = V1246.0.., NAI1..NAI32 = VW1262.., NQ1..NQ64 = V1390.0..,
 *       NAQ1..NAQ16 = VW1406..
 *     0BA7: I1..I24 = V923.0.., AI1..AI8 = VW926.., Q1..Q16 = V942.0..,
 *       AQ1..AQ2 = VW944.., M1..M27 = V948.0.., AM1..AM16 = VW952.. (no N names)
 * and every other S7 form, V addresses limited to the model's V memory.
 * *read_only (may be NULL) is set for the inputs I, AI, NI, NAI: the LOGO!
 * writes them every cycle, so clients refuse to write them. Errors as
 * plcio_s7_address_parse: PLCIO_ERANGE for I25 on a 0BA8, PLCIO_ESYNTAX for NI1
 * on a 0BA7 or I1.0. */
PLCIO_API int plcio_logo_address_parse(const char *text, plcio_logo_model model, plcio_s7_address *out, bool *read_only,
                                       plcio_error *err);

/* Modbus data tables; the values are the Modicon reference prefixes. */
typedef enum plcio_mb_table {
    PLCIO_MB_TABLE_COIL = 0,            /* 0xxxx, "co": read/write bits */
    PLCIO_MB_TABLE_DISCRETE_INPUT = 1,  /* 1xxxx, "di": read-only bits */
    PLCIO_MB_TABLE_INPUT_REGISTER = 3,  /* 3xxxx, "ir": read-only registers */
    PLCIO_MB_TABLE_HOLDING_REGISTER = 4 /* 4xxxx, "hr": read/write registers */
} plcio_mb_table;

typedef struct plcio_mb_address {
    plcio_mb_table table;
    uint16_t address;     /* 0-based protocol address of the first register/bit */
    plcio_type type;      /* element type */
    uint16_t length;      /* STRING[n]: n bytes; 0 otherwise */
    plcio_mb_order order; /* word/byte order (modbus.h); ABCD unless given */
    uint32_t count;       /* array elements, 1 without [n] */
    uint32_t quantity;    /* registers (register tables) or bits (bit tables) to read */
} plcio_mb_address;

/* Parse a NUL-terminated Modbus address. address + quantity must stay within
 * 65536 (PLCIO_ERANGE otherwise). */
PLCIO_API int plcio_mb_address_parse(const char *text, plcio_mb_address *out, plcio_error *err);

/* Canonical text: "hr100", "co5[8]", "hr100:REAL:CDAB", "ir0:STRING[10]",
 * "hr10:INT[4]" (defaults omitted). PLCIO_ENOSPC / PLCIO_EINVAL as above. */
PLCIO_API int plcio_mb_address_format(const plcio_mb_address *a, char *buf, size_t cap);

PLCIO_END_DECLS

#endif
