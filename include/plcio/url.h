/* Device URLs (DESIGN.md):
 *   s7://HOST[:PORT][?rack=0&slot=1&pdu=960&timeout=MS&type=pg|op|basic]
 *   modbus-tcp://HOST[:PORT][?unit=1&timeout=MS]   modbus-udp://HOST[:PORT]
 *   modbus-rtu:///dev/ttyX?baud=19200&parity=E&data-bits=8&stop-bits=1&unit=1
 *   modbus-ascii:///dev/ttyX?...
 * This module only splits a URL into parts and reads query values with range
 * checks; each protocol decides which keys it accepts (and rejects unknown ones). */
#ifndef PLCIO_URL_H
#define PLCIO_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plcio/core.h"
#include "plcio/export.h"

PLCIO_BEGIN_DECLS

#define PLCIO_URL_MAX_PARAMS 24

typedef struct plcio_url_param {
    char key[32];
    char value[128];
} plcio_url_param;

typedef struct plcio_url {
    char scheme[24]; /* lower-cased: "s7", "modbus-tcp" */
    char host[256];  /* "" for serial URLs; IPv6 literals without the brackets */
    int port;        /* -1 when the URL gives none */
    char path[256];  /* "/dev/ttyUSB0" for serial URLs, "" otherwise */
    size_t param_count;
    plcio_url_param params[PLCIO_URL_MAX_PARAMS]; /* percent-decoded */
} plcio_url;

/* Split `text`. Errors: PLCIO_ESYNTAX (no "scheme://", a port that is not a
 * number in 1..65535 (port 0 is refused, never read as "the default"), bad
 * %-escape, empty key), PLCIO_ENOSPC (a part or the parameter list is too
 * long), PLCIO_EINVAL (NULL arguments). A key given twice is PLCIO_ESYNTAX.
 * The path is kept as given; each protocol says whether it takes one.
 * err (may be NULL) names the part and why: "parameter 'rack' is given
 * twice", "port 0 is out of range (1..65535)". */
PLCIO_API int plcio_url_parse(const char *text, plcio_url *out, plcio_error *err);

/* Value of `key`, or NULL when absent. Borrowed from url. */
PLCIO_API const char *plcio_url_get(const plcio_url *url, const char *key);

/* Integer parameter: decimal, or hex with 0x (TSAPs). Absent: *out = def, PLCIO_OK.
 * Not a number or outside [min, max]: PLCIO_ERANGE. */
PLCIO_API int plcio_url_get_uint(const plcio_url *url, const char *key, unsigned long def, unsigned long min,
                                 unsigned long max, unsigned long *out);

/* The first key that is not in the NULL-terminated `allowed` list, or NULL when
 * all are known: lets a protocol reject "slott=1" instead of ignoring it. */
PLCIO_API const char *plcio_url_unknown_key(const plcio_url *url, const char *const *allowed);

/* Which protocol an s7:// URL asks for (protocol=classic|plus|auto; absent:
 * classic, what s7:// has always meant). plus: S7CommPlus (plcio/s7plus.h,
 * with the s7plus:// keys ca=, insecure=, ...); auto: S7CommPlus first and
 * classic S7 when that fails, as python-snap7's unified client does. An
 * s7plus:// URL is PLCIO_S7_PROTOCOL_PLUS. Other schemes or values:
 * PLCIO_ESYNTAX, err naming the value. */
typedef enum plcio_s7_protocol {
    PLCIO_S7_PROTOCOL_CLASSIC = 0,
    PLCIO_S7_PROTOCOL_PLUS = 1,
    PLCIO_S7_PROTOCOL_AUTO = 2
} plcio_s7_protocol;
PLCIO_API int plcio_url_s7_protocol(const plcio_url *url, plcio_s7_protocol *out, plcio_error *err);

PLCIO_END_DECLS

#endif
