/* plcio: S7 and Modbus client/server, TIA data-block layouts, and a sync
 * engine that mirrors PLC memory into shared memory.
 *
 * Conventions that hold for the whole API
 * ---------------------------------------
 * Errors: every function that can fail returns an int, PLCIO_OK (0) or a
 *   negative plcio_err; plcio_strerror() gives the text. Protocol details
 *   (S7 error class/code, Modbus exception) are kept on the handle.
 * Ownership: pointers passed in are borrowed for the duration of the call
 *   unless the prototype says "moved" or "kept until ...". Pointers returned
 *   are owned by the handle and valid until the next call on that handle
 *   unless the prototype says "caller frees with ...".
 * Handles: opaque, created with plcio_X_new(), released with plcio_X_free();
 *   free(NULL) is a no-op. Value structs the caller allocates use
 *   plcio_X_init() / plcio_X_clear().
 * Threads: the library has no global mutable state except the default
 *   logger (set it before starting threads). A handle may be used from any
 *   thread but from one thread at a time; different handles are
 *   independent. Functions marked "thread-safe" may be called concurrently
 *   on the same handle.
 * Side effects: the library never prints, sleeps in the background, exits,
 *   or installs signal handlers. Blocking calls block only the caller and
 *   always honour their timeout.
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
#include "plcio/sync.h"
#include "plcio/loop.h"
#include "plcio/driver.h"
#include "plcio/sink.h"
#include "plcio/http.h"
#include "plcio/word_order.h"

#endif
