/* A small epoll event loop: file descriptors and timers, one thread.
 *
 * One loop drives many sessions (the sync engine, the servers) without a thread
 * per connection. Callbacks run on the thread that calls plcio_loop_run_once /
 * plcio_loop_run. Inside a callback it is safe to add, modify or delete any fd
 * (also the one being served) and to add or cancel timers; an fd deleted during
 * a dispatch round gets no further callback in that round.
 *
 * Thread-safety: only plcio_loop_stop and plcio_loop_wake may be called from
 * another thread; everything else belongs to the loop's thread. */
#ifndef PLCIO_SRC_NET_LOOP_H
#define PLCIO_SRC_NET_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "plcio/core.h"

typedef struct plcio_loop plcio_loop;

enum {
    PLCIO_IO_READ = 1u << 0,
    PLCIO_IO_WRITE = 1u << 1,
    PLCIO_IO_ERROR = 1u << 2 /* hang-up or error; always reported, never requested */
};

/* events: what happened (PLCIO_IO_* bits). */
typedef void (*plcio_io_cb)(plcio_loop *loop, int fd, unsigned events, void *ctx);
typedef void (*plcio_timer_cb)(plcio_loop *loop, void *ctx);

/* NULL clock: the system monotonic clock. Caller frees with plcio_loop_free. */
plcio_loop *plcio_loop_new(const plcio_clock *clock);
/* Does not close the registered fds (their owners do). NULL is a no-op. */
void plcio_loop_free(plcio_loop *loop);

/* Watch fd for `events` (PLCIO_IO_READ / PLCIO_IO_WRITE). PLCIO_EEXIST if already watched. */
int plcio_loop_add(plcio_loop *loop, int fd, unsigned events, plcio_io_cb cb, void *ctx);
int plcio_loop_mod(plcio_loop *loop, int fd, unsigned events);
/* Stop watching fd (before closing it). PLCIO_ENOTFOUND if not watched. */
int plcio_loop_del(plcio_loop *loop, int fd);

/* Call cb once when the loop's clock reaches deadline_ns (monotonic ns). Returns a
 * timer id > 0, or 0 when out of memory. Timers due at the same time fire in the
 * order they were added. */
uint64_t plcio_loop_timer_add(plcio_loop *loop, uint64_t deadline_ns, plcio_timer_cb cb, void *ctx);
/* Cancel a pending timer; unknown or already fired ids are ignored. */
void plcio_loop_timer_cancel(plcio_loop *loop, uint64_t id);

/* The loop clock's "now". */
uint64_t plcio_loop_now(const plcio_loop *loop);

/* Wait up to max_wait_ms (-1: until something happens; 0: poll) for I/O or the
 * next timer, then dispatch. Returns the number of callbacks run, or an error. */
int plcio_loop_run_once(plcio_loop *loop, int max_wait_ms);
/* Run until plcio_loop_stop. Returns PLCIO_OK, or an error from epoll. */
int plcio_loop_run(plcio_loop *loop);
/* Thread-safe and async-signal-safe: make plcio_loop_run return soon. */
void plcio_loop_stop(plcio_loop *loop);
/* Thread-safe: interrupt a waiting plcio_loop_run_once. */
void plcio_loop_wake(plcio_loop *loop);
bool plcio_loop_stopped(const plcio_loop *loop);
/* The epoll descriptor: readable when a watched fd has events, so a loop can be
 * nested in a foreign poll loop (then call plcio_loop_run_once(loop, 0); timers
 * only fire inside run_once). Owned by the loop. */
int plcio_loop_fd(const plcio_loop *loop);

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

void plcio_loop_watch_init(plcio_loop_watch *w, plcio_loop *loop, plcio_io_cb on_io, plcio_timer_cb on_timer,
                           void *ctx);
/* Watch fd (-1: none) for events and arm the timer at deadline (0: none). */
void plcio_loop_watch_set(plcio_loop_watch *w, int fd, unsigned events, uint64_t deadline);
/* Stop watching and cancel the timer (before the fd is closed or w freed). */
void plcio_loop_watch_clear(plcio_loop_watch *w);

#endif
