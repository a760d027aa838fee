/* plcio: S7 and Modbus client/server, TIA data-block layouts, and a sync
 * engine that mirrors PLC memory into shared memory.
 *
 * Conventions that hold for the whole API
 * ---------------------------------------
 * Names: everything exported starts with plcio_ (types, functions) or PLCIO_
 *   (macros, enum values); nothing internal does.
 * Errors: every function that can fail returns an int, PLCIO_OK (0) or a
 *   negative plcio_err; plcio_strerror() gives the text of a code.
 * Error detail, one way: a function that can say more than its code takes
 *   `plcio_error *err` as its LAST argument (NULL: not wanted) and fills it
 *   on failure (err->code = the return value, err->text = one line naming
 *   what failed and why). A handle keeps the detail of its last failed call:
 *   plcio_X_last_error(h) returns `const plcio_error *`. Protocol details
 *   (S7 error class/code, Modbus exception) have their own getters on the
 *   handle.
 * Constructors, one shape:
 *     int plcio_X_new(<what it is made from>, const plcio_X_options *opts,
 *                     plcio_X **out, plcio_error *err);
 *   opts NULL means defaults (plcio_X_options_init fills them); *out is NULL
 *   after a failure. Clients of both protocols are made from a URL
 *   (s7://..., modbus-tcp://...) plus options. Released with plcio_X_free();
 *   free(NULL) is a no-op. Value structs the caller allocates use
 *   plcio_X_init() / plcio_X_clear().
 * Verbs: connect / close / is_connected for links; get_X / set_X where a
 *   thing can be both read and set (a read-only property is its noun:
 *   plcio_s7_server_port); _async for the event-loop variant of a call.
 * Ownership: pointers passed in are borrowed for the duration of the call
 *   unless the prototype says "moved" or "kept until ...". Pointers returned
 *   are owned by the handle and valid until the next call on that handle
 *   unless the prototype says "caller frees with ...".
 * Threads: the library has no global mutable state except the default
 *   logger (set it before starting threads). A handle may be used from any
 *   thread but from one thread at a time; different handles are
 *   independent. Functions marked "thread-safe" may be called concurrently
 *   on the same handle.
 * Side effects: the library never prints, sleeps in the background, exits,
 *   or installs signal handlers. Blocking calls block only the caller and
 *   always honour their timeout.
 * Versions: PLCIO_VERSION_* (plcio/version.h) and plcio_version(); the
 *   SONAME changes when the ABI does; CHANGELOG.md lists every API change.
 */
#ifndef PLCIO_PLCIO_H
#define PLCIO_PLCIO_H

#include "plcio/version.h"
#include "plcio/export.h"
#include "plcio/core.h"
#include "plcio/bytes.h"
#include "plcio/types.h"
#include "plcio/url.h"
#include "plcio/layout.h"
#include "plcio/modbus.h"
#include "plcio/shm.h"
#include "plcio/value.h"
#include "plcio/address.h"
#include "plcio/s7.h"
#include "plcio/s7_server.h"
#include "plcio/s7plus.h"
#include "plcio/sync.h"
#include "plcio/loop.h"
#include "plcio/driver.h"
#include "plcio/sink.h"
#include "plcio/http.h"
#include "plcio/mqtt.h"
#include "plcio/word_order.h"
#include "plcio/gateway.h"

#endif
