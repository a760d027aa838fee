/* The event loop a sync driver runs on (plcio/driver.h): file descriptors and
 * timers, one thread. The engine owns the loop; a driver gets it with
 * plcio_sync_device_loop() and registers its own fds and timers.
 *
 * Callbacks run on the loop's thread. Inside a callback it is safe to add,
 * modify or delete any fd (also the one being served) and to add or cancel
 * timers; an fd deleted during a dispatch round gets no further callback in
 * that round. Everything here belongs to the loop's thread. A driver never
 * blocks in a callback: it is one loop for every device of the engine. */
#ifndef PLCIO_LOOP_H
#define PLCIO_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "plcio/core.h"
#include "plcio/export.h"

PLCIO_BEGIN_DECLS

typedef struct plcio_loop plcio_loop;

enum {
    PLCIO_IO_READ = 1u << 0,
    PLCIO_IO_WRITE = 1u << 1,
    PLCIO_IO_ERROR = 1u << 2 /* hang-up or error; always reported, never requested */
};

/* events: what happened (PLCIO_IO_* bits). */
typedef void (*plcio_io_cb)(plcio_loop *loop, int fd, unsigned events, void *ctx);
typedef void (*plcio_timer_cb)(plcio_loop *loop, void *ctx);

/* Watch fd for `events` (PLCIO_IO_READ / PLCIO_IO_WRITE). PLCIO_EEXIST if already watched. */
PLCIO_API int plcio_loop_add(plcio_loop *loop, int fd, unsigned events, plcio_io_cb cb, void *ctx);
PLCIO_API int plcio_loop_mod(plcio_loop *loop, int fd, unsigned events);
/* Stop watching fd (before closing it). PLCIO_ENOTFOUND if not watched. */
PLCIO_API int plcio_loop_del(plcio_loop *loop, int fd);

/* Call cb once when the loop's clock reaches deadline_ns (monotonic ns). Returns a
 * timer id > 0, or 0 when out of memory. Timers due at the same time fire in the
 * order they were added. */
PLCIO_API uint64_t plcio_loop_timer_add(plcio_loop *loop, uint64_t deadline_ns, plcio_timer_cb cb, void *ctx);
/* Cancel a pending timer; unknown or already fired ids are ignored. */
PLCIO_API void plcio_loop_timer_cancel(plcio_loop *loop, uint64_t id);

/* The loop clock's "now". */
PLCIO_API uint64_t plcio_loop_now(const plcio_loop *loop);

/* One fd and one deadline kept in step with what an event-loop client wants
 * (its fd, events and deadline change as it connects, sends and waits):
 * plcio_loop_watch_set re-registers only what changed. on_io gets the fd's
 * events; on_timer runs once the deadline is reached (the watch forgets the
 * timer first, so on_timer may call plcio_loop_watch_set). */
typedef struct plcio_loop_watch {
    plcio_loop *loop;
    plcio_io_cb on_io;
    plcio_timer_cb on_timer;
    void *ctx;
    int fd;          /* watched fd, -1 when none */
    unsigned events; /* PLCIO_IO_* it is watched for */
    uint64_t timer, deadline;
} plcio_loop_watch;

PLCIO_API void plcio_loop_watch_init(plcio_loop_watch *w, plcio_loop *loop, plcio_io_cb on_io, plcio_timer_cb on_timer,
                                     void *ctx);
/* Watch fd (-1: none) for events and arm the timer at deadline (0: none). */
PLCIO_API void plcio_loop_watch_set(plcio_loop_watch *w, int fd, unsigned events, uint64_t deadline);
/* Stop watching and cancel the timer (before the fd is closed or w freed). */
PLCIO_API void plcio_loop_watch_clear(plcio_loop_watch *w);

PLCIO_END_DECLS

#endif
