/* A small epoll event loop: file descriptors and timers, one thread.
 *
 * One loop drives many sessions (the sync engine, the servers) without a thread
 * per connection. Callbacks run on the thread that calls loop_run_once /
 * loop_run. Inside a callback it is safe to add, modify or delete any fd
 * (also the one being served) and to add or cancel timers; an fd deleted during
 * a dispatch round gets no further callback in that round.
 *
 * Thread-safety: only loop_stop and loop_wake may be called from
 * another thread; everything else belongs to the loop's thread. */
#ifndef PLCIO_SRC_NET_LOOP_H
#define PLCIO_SRC_NET_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "plcio/core.h"
#include "plcio/loop.h"

/* NULL clock: the system monotonic clock. Caller frees with loop_free. */
plcio_loop *loop_new(const plcio_clock *clock);
/* Does not close the registered fds (their owners do). NULL is a no-op. */
void loop_free(plcio_loop *loop);

/* Wait up to max_wait_ms (-1: until something happens; 0: poll) for I/O or the
 * next timer, then dispatch. Returns the number of callbacks run, or an error. */
int loop_run_once(plcio_loop *loop, int max_wait_ms);
/* Run until loop_stop. Returns PLCIO_OK, or an error from epoll. */
int loop_run(plcio_loop *loop);
/* Thread-safe and async-signal-safe: make loop_run return soon. */
void loop_stop(plcio_loop *loop);
/* Thread-safe: interrupt a waiting loop_run_once. */
void loop_wake(plcio_loop *loop);
bool loop_stopped(const plcio_loop *loop);
/* The epoll descriptor: readable when a watched fd has events, so a loop can be
 * nested in a foreign poll loop (then call loop_run_once(loop, 0); timers
 * only fire inside run_once). Owned by the loop. */
int loop_fd(const plcio_loop *loop);
/* Slots of the loop's watch table: it grows with the fds this loop watches
 * (at most 8 slots per watched fd, 16 at least once one is watched), not with
 * their numbers. For tests and memory figures. */
size_t loop_watch_slots(const plcio_loop *loop);

#endif
