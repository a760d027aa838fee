/* Human text for S7 error classes/codes, item return codes and area names. */
#include "plcio/s7.h"

#include <stddef.h>

/* Header errors: error class (high byte) and code (low byte) together. */
#define S7_ERROR_MAP(X)                                                                                                \
    X(0x0000, "no error")                                                                                              \
    X(0x0110, "invalid block number")                                                                                  \
    X(0x0111, "invalid request length")                                                                                \
    X(0x0112, "invalid parameter")                                                                                     \
    X(0x0113, "invalid block type")                                                                                    \
    X(0x0114, "block not found")                                                                                       \
    X(0x0115, "block already exists")                                                                                  \
    X(0x0116, "block is write-protected")                                                                              \
    X(0x0117, "block or operating system update too large")                                                            \
    X(0x0118, "invalid block number")                                                                                  \
    X(0x0119, "incorrect password")                                                                                    \
    X(0x011A, "PG resource error")                                                                                     \
    X(0x011B, "PLC resource error")                                                                                    \
    X(0x011C, "protocol error")                                                                                        \
    X(0x011D, "too many blocks")                                                                                       \
    X(0x011E, "no longer a connection to the database")                                                                \
    X(0x011F, "result buffer too small")                                                                               \
    X(0x0120, "end of block list")                                                                                     \
    X(0x0140, "insufficient memory available")                                                                         \
    X(0x0141, "job cannot be processed: lack of resources")                                                            \
    X(0x8001, "service cannot be performed while the block is in the current state")                                   \
    X(0x8003, "error while transferring the block")                                                                    \
    X(0x8100, "service unknown to the module")                                                                         \
    X(0x8104, "service not supported by the module")                                                                   \
    X(0x8204, "type specification of the object is inconsistent")                                                      \
    X(0x8205, "a copied block already exists and is not linked")                                                       \
    X(0x8301, "insufficient memory on the module")                                                                     \
    X(0x8302, "too few resources available or the processor is busy")                                                  \
    X(0x8304, "no further parallel upload possible")                                                                   \
    X(0x8305, "function not available")                                                                                \
    X(0x8306, "insufficient work memory")                                                                              \
    X(0x8307, "not enough retentive work memory")                                                                      \
    X(0x8401, "invalid service sequence")                                                                              \
    X(0x8402, "service cannot run in the current state of the addressed object")                                       \
    X(0x8404, "the function cannot be performed")                                                                      \
    X(0x8405, "remote block is in DISABLE state")                                                                      \
    X(0x8500, "request does not fit the PDU (wrong frame)")                                                            \
    X(0x8503, "service canceled prematurely")                                                                          \
    X(0x8701, "error addressing the object on the partner (address out of range)")                                     \
    X(0x8702, "requested service not supported by the module")                                                         \
    X(0x8703, "access to the object refused")                                                                          \
    X(0x8704, "access error: object damaged")                                                                          \
    X(0xD001, "illegal job number")                                                                                    \
    X(0xD002, "illegal job variant")                                                                                   \
    X(0xD003, "debugging function not supported by the module")                                                        \
    X(0xD004, "job status cannot be changed")                                                                          \
    X(0xD005, "job cannot be terminated")                                                                              \
    X(0xD006, "illegal link disconnection ID")                                                                         \
    X(0xD007, "illegal number of buffer elements")                                                                     \
    X(0xD008, "illegal scan rate")                                                                                     \
    X(0xD009, "illegal number of executions")                                                                          \
    X(0xD00A, "illegal trigger event")                                                                                 \
    X(0xD00B, "illegal trigger condition")                                                                             \
    X(0xD011, "path of the call environment does not exist")                                                           \
    X(0xD012, "illegal address in the call environment")                                                               \
    X(0xD014, "illegal address")                                                                                       \
    X(0xD021, "status job: address inconsistent")                                                                      \
    X(0xD022, "status job: syntax error")                                                                              \
    X(0xD023, "status job: invalid variable format")                                                                   \
    X(0xD041, "no more free job numbers")                                                                              \
    X(0xD042, "job must be completed first")                                                                           \
    X(0xD043, "new debugging job not possible")                                                                        \
    X(0xD081, "protection level of the function not sufficient")                                                       \
    X(0xD0A1, "block is not in memory")                                                                                \
    X(0xD0A4, "block is not in the working memory")                                                                    \
    X(0xD0A7, "block is already loaded")                                                                               \
    X(0xD201, "syntax error in the block name")                                                                        \
    X(0xD202, "syntax error in function parameters")                                                                   \
    X(0xD203, "syntax error in the block type")                                                                        \
    X(0xD204, "no linked block in the storage medium")                                                                 \
    X(0xD205, "object already exists")                                                                                 \
    X(0xD206, "object already exists")                                                                                 \
    X(0xD207, "block exists in EPROM")                                                                                 \
    X(0xD209, "block does not exist")                                                                                  \
    X(0xD20E, "no block available")                                                                                    \
    X(0xD210, "block number too large")                                                                                \
    X(0xD241, "the function needs a password (protection level)")                                                      \
    X(0xD401, "information function unavailable")                                                                      \
    X(0xD402, "information function unavailable")                                                                      \
    X(0xD403, "service already logged on or off")                                                                      \
    X(0xD404, "maximum number of nodes reached")                                                                       \
    X(0xD405, "service not possible because of a resource bottleneck")                                                 \
    X(0xD406, "information not available")                                                                             \
    X(0xD407, "diagnostic message cannot be sent")                                                                     \
    X(0xD408, "job was canceled")                                                                                      \
    X(0xD409, "dummy")                                                                                                 \
    X(0xD40A, "message not available")                                                                                 \
    X(0xD601, "syntax error: function parameter")                                                                      \
    X(0xD602, "incorrect password entered")                                                                            \
    X(0xD603, "the connection has already been legitimized")                                                           \
    X(0xD604, "no password to clear: the connection is not legitimized")                                               \
    X(0xD605, "no password is set on the PLC")                                                                         \
    X(0xD801, "at least one tag address is invalid")                                                                   \
    X(0xD802, "specified job does not exist")                                                                          \
    X(0xD803, "illegal job status")                                                                                    \
    X(0xDC01, "invalid value (e.g. the date or time to set)")                                                          \
    X(0xDC02, "illegal date or time")

typedef struct {
    uint16_t code;
    const char *text;
} s7_text_entry;

static const s7_text_entry s7_errors[] = {
#define S7_ERROR_ENTRY_(code, text) {code, text},
    S7_ERROR_MAP(S7_ERROR_ENTRY_)
#undef S7_ERROR_ENTRY_
};

static const char *class_text(uint8_t cls)
{
    switch (cls) {
    case 0x00: return "no error";
    case 0x81: return "application relationship error";
    case 0x82: return "object definition error";
    case 0x83: return "no resources available";
    case 0x84: return "error on service processing";
    case 0x85: return "error on supplies";
    case 0x87: return "access error";
    case 0xD0:
    case 0xD2:
    case 0xD4:
    case 0xD6:
    case 0xD8:
    case 0xDC: return "PLC refused the function";
    default: return "unknown S7 error";
    }
}

const char *plcio_s7_error_text(uint16_t class_code)
{
    for (size_t i = 0; i < sizeof s7_errors / sizeof s7_errors[0]; i++)
        if (s7_errors[i].code == class_code) return s7_errors[i].text;
    return class_text((uint8_t)(class_code >> 8));
}

const char *plcio_s7_return_code_text(uint8_t rc)
{
    switch (rc) {
    case 0xFF: return "success";
    case 0x00: return "reserved (no answer for this item)";
    case 0x01: return "hardware fault";
    case 0x03: return "access to the object not allowed";
    case 0x05: return "address out of range";
    case 0x06: return "data type not supported";
    case 0x07: return "data type inconsistent (wrong size)";
    case 0x0A: return "object does not exist";
    default: return "unknown item error";
    }
}

const char *plcio_s7_area_name(uint8_t area)
{
    switch (area) {
    case 0x80: return "P";
    case 0x81: return "I";
    case 0x82: return "Q";
    case 0x83: return "M";
    case 0x84: return "DB";
    case 0x85: return "DI";
    case 0x86: return "L";
    case 0x87: return "V";
    case 0x1C: return "C";
    case 0x1D: return "T";
    default: return "?";
    }
}
