#include "net/loop.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

/* The watched fds of one loop: an open-addressing table keyed by fd (linear
 * probing, at most half full, removal by backward shift), sized to the number
 * of fds this loop watches. An fd-indexed array would be sized to the highest
 * fd of the whole process: with many loops in one process (servers, engines)
 * that grows with the square of their number. */
typedef struct io_watch {
    bool used; /* false: an empty slot */
    int fd;
    unsigned events;
    uint32_t generation; /* from the loop's counter on every add: stale epoll events are recognised */
    plcio_io_cb cb;
    void *ctx;
} io_watch;

#define WATCH_MIN_CAP 16u

typedef struct timer {
    uint64_t deadline;
    uint64_t seq;  /* tie-break: insertion order */
    uint32_t slot; /* its entry in timer_slots */
    plcio_timer_cb cb;
    void *ctx;
} timer;

/* Where each pending timer sits in the heap, so a cancel finds it at once
 * (an engine with thousands of devices re-arms a timeout per request: a
 * search of the heap for each was quadratic in the number of devices). A
 * timer's id is its slot + 1 in the low half and the slot's generation in
 * the high half: an id of a timer that fired or was cancelled no longer
 * matches once its slot is reused. */
typedef struct timer_slot {
    uint32_t generation;
    uint32_t next_free; /* free list link, slot + 1 (0: end) */
    size_t pos;         /* heap index; SIZE_MAX: free */
} timer_slot;

struct plcio_loop {
    int epfd;
    int wakefd;
    int timerfd;          /* system clock only: wakes at the next timer to the nanosecond */
    uint64_t timer_armed; /* deadline timerfd is armed for (0: disarmed) */
    plcio_clock clock;
    io_watch *watches; /* see io_watch; NULL until the first add */
    size_t watch_cap;  /* 0 or a power of two */
    size_t watch_count;
    uint32_t next_generation;
    timer *heap; /* binary min-heap on (deadline, seq) */
    size_t heap_len, heap_cap;
    timer_slot *slots;  /* heap_cap of them */
    uint32_t free_slot; /* first free slot + 1 (0: none) */
    uint64_t next_seq;
    atomic_bool stop;
};

static uint64_t pack(int fd, uint32_t gen) { return (uint64_t)gen << 32 | (uint32_t)fd; }

static uint32_t to_epoll(unsigned events)
{
    return ((events & PLCIO_IO_READ) ? (uint32_t)EPOLLIN : 0u) | ((events & PLCIO_IO_WRITE) ? (uint32_t)EPOLLOUT : 0u);
}

plcio_loop *loop_new(const plcio_clock *clock)
{
    plcio_loop *loop = calloc(1, sizeof *loop);
    if (!loop) return NULL;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    loop->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    loop->timerfd = -1;
    if (clock) loop->clock = *clock;
    atomic_init(&loop->stop, false);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = UINT64_MAX};
    if (loop->epfd < 0 || loop->wakefd < 0 || epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wakefd, &ev) != 0) {
        loop_free(loop);
        return NULL;
    }
    /* epoll_wait counts in whole milliseconds: a 1 ms schedule would run up to 1 ms
     * late. On the system clock a timerfd wakes the loop at the exact deadline. */
    if (!loop->clock.now) {
        loop->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        struct epoll_event tev = {.events = EPOLLIN, .data.u64 = UINT64_MAX - 1};
        if (loop->timerfd >= 0 && epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->timerfd, &tev) != 0) {
            close(loop->timerfd);
            loop->timerfd = -1;
        }
    }
    return loop;
}

void loop_free(plcio_loop *loop)
{
    if (!loop) return;
    if (loop->epfd >= 0) close(loop->epfd);
    if (loop->wakefd >= 0) close(loop->wakefd);
    if (loop->timerfd >= 0) close(loop->timerfd);
    free(loop->watches);
    free(loop->heap);
    free(loop->slots);
    free(loop);
}

static size_t watch_home(int fd, size_t cap)
{
    /* a multiplicative hash: consecutive fds land on distinct slots */
    return (size_t)((uint32_t)fd * 2654435761u) & (cap - 1);
}

static io_watch *watch_of(const plcio_loop *loop, int fd)
{
    if (fd < 0 || loop->watch_cap == 0) return NULL;
    size_t mask = loop->watch_cap - 1;
    for (size_t i = watch_home(fd, loop->watch_cap);; i = (i + 1) & mask) {
        if (!loop->watches[i].used) return NULL; /* the table always has an empty slot */
        if (loop->watches[i].fd == fd) return &loop->watches[i];
    }
}

static void watch_put(io_watch *table, size_t cap, const io_watch *w)
{
    size_t i = watch_home(w->fd, cap);
    while (table[i].used)
        i = (i + 1) & (cap - 1);
    table[i] = *w;
}

/* Move every watch into a table of cap slots (a power of two > 2 * count). */
static int watch_rehash(plcio_loop *loop, size_t cap)
{
    io_watch *table = calloc(cap, sizeof *table); /* every slot empty */
    if (!table) return PLCIO_ENOMEM;
    for (size_t i = 0; i < loop->watch_cap; i++)
        if (loop->watches[i].used) watch_put(table, cap, &loop->watches[i]);
    free(loop->watches);
    loop->watches = table;
    loop->watch_cap = cap;
    return PLCIO_OK;
}

/* Room for one more watch, keeping the table at most half full. */
static int watch_reserve(plcio_loop *loop)
{
    if ((loop->watch_count + 1) * 2 <= loop->watch_cap) return PLCIO_OK;
    if (loop->watch_cap > SIZE_MAX / (2 * sizeof(io_watch))) return PLCIO_ENOMEM;
    return watch_rehash(loop, loop->watch_cap ? loop->watch_cap * 2 : WATCH_MIN_CAP);
}

static void watch_remove(plcio_loop *loop, const io_watch *w)
{
    io_watch *t = loop->watches;
    size_t mask = loop->watch_cap - 1, hole = (size_t)(w - t);
    /* backward shift: pull later entries of the probe run into the hole when
     * their home slot is not between the hole and where they sit */
    for (size_t j = (hole + 1) & mask; t[j].used; j = (j + 1) & mask) {
        size_t home = watch_home(t[j].fd, loop->watch_cap);
        if (((j - home) & mask) >= ((j - hole) & mask)) {
            t[hole] = t[j];
            hole = j;
        }
    }
    t[hole].used = false;
    t[hole].cb = NULL;
    loop->watch_count--;
    /* give memory back when the loop watches far fewer fds than it did */
    if (loop->watch_cap > WATCH_MIN_CAP && loop->watch_count * 8 <= loop->watch_cap)
        (void)watch_rehash(loop, loop->watch_cap / 2); /* on ENOMEM the larger table stays */
}

int plcio_loop_add(plcio_loop *loop, int fd, unsigned events, plcio_io_cb cb, void *ctx)
{
    if (!loop || fd < 0 || !cb) return PLCIO_EINVAL;
    if (watch_of(loop, fd)) return PLCIO_EEXIST;
    int rc = watch_reserve(loop);
    if (rc != PLCIO_OK) return rc;
    uint32_t gen = loop->next_generation + 1;
    struct epoll_event ev = {.events = to_epoll(events), .data.u64 = pack(fd, gen)};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) return errno == EEXIST ? PLCIO_EEXIST : PLCIO_EIO;
    loop->next_generation = gen;
    io_watch w = {true, fd, events, gen, cb, ctx};
    watch_put(loop->watches, loop->watch_cap, &w);
    loop->watch_count++;
    return PLCIO_OK;
}

int plcio_loop_mod(plcio_loop *loop, int fd, unsigned events)
{
    io_watch *w = loop ? watch_of(loop, fd) : NULL;
    if (!w) return PLCIO_ENOTFOUND;
    if (w->events == events) return PLCIO_OK;
    struct epoll_event ev = {.events = to_epoll(events), .data.u64 = pack(fd, w->generation)};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) != 0) return PLCIO_EIO;
    w->events = events;
    return PLCIO_OK;
}

int plcio_loop_del(plcio_loop *loop, int fd)
{
    io_watch *w = loop ? watch_of(loop, fd) : NULL;
    if (!w) return PLCIO_ENOTFOUND;
    epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL); /* fails harmlessly if fd was already closed */
    watch_remove(loop, w);
    return PLCIO_OK;
}

/* ---- timers: binary heap ---- */

static bool timer_before(const timer *a, const timer *b)
{
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static void heap_set(plcio_loop *loop, size_t i, const timer *t)
{
    loop->heap[i] = *t;
    loop->slots[t->slot].pos = i;
}

static void sift_up(plcio_loop *loop, size_t i)
{
    timer t = loop->heap[i];
    while (i > 0 && timer_before(&t, &loop->heap[(i - 1) / 2])) {
        heap_set(loop, i, &loop->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_set(loop, i, &t);
}

static void sift_down(plcio_loop *loop, size_t i)
{
    timer t = loop->heap[i];
    size_t len = loop->heap_len;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = l;
        if (l >= len) break;
        if (r < len && timer_before(&loop->heap[r], &loop->heap[l])) m = r;
        if (!timer_before(&loop->heap[m], &t)) break;
        heap_set(loop, i, &loop->heap[m]);
        i = m;
    }
    heap_set(loop, i, &t);
}

static void slot_release(plcio_loop *loop, uint32_t slot)
{
    timer_slot *s = &loop->slots[slot];
    s->generation++;
    s->pos = SIZE_MAX;
    s->next_free = loop->free_slot;
    loop->free_slot = slot + 1;
}

/* Take the timer at heap index i out of the heap and free its slot. */
static void heap_remove(plcio_loop *loop, size_t i)
{
    slot_release(loop, loop->heap[i].slot);
    timer last = loop->heap[--loop->heap_len];
    if (i < loop->heap_len) {
        heap_set(loop, i, &last);
        sift_down(loop, i);
        sift_up(loop, loop->slots[last.slot].pos);
    }
}

/* Room for one more timer: the heap and the slots grow together. */
static int timer_reserve(plcio_loop *loop)
{
    if (loop->heap_len < loop->heap_cap) return PLCIO_OK;
    size_t cap = loop->heap_cap ? loop->heap_cap * 2 : 64;
    if (cap > UINT32_MAX - 1) return PLCIO_ENOMEM;
    timer *h = realloc(loop->heap, cap * sizeof *h);
    if (!h) return PLCIO_ENOMEM;
    loop->heap = h;
    timer_slot *sl = realloc(loop->slots, cap * sizeof *sl);
    if (!sl) return PLCIO_ENOMEM; /* the larger heap stays; its capacity is counted by heap_cap */
    loop->slots = sl;
    /* the new slots, onto the free list (lowest first) */
    for (size_t i = cap; i-- > loop->heap_cap;) {
        sl[i] = (timer_slot){.generation = 1, .next_free = loop->free_slot, .pos = SIZE_MAX};
        loop->free_slot = (uint32_t)i + 1;
    }
    loop->heap_cap = cap;
    return PLCIO_OK;
}

uint64_t plcio_loop_timer_add(plcio_loop *loop, uint64_t deadline_ns, plcio_timer_cb cb, void *ctx)
{
    if (!loop || !cb || timer_reserve(loop) != PLCIO_OK) return 0;
    uint32_t slot = loop->free_slot - 1;
    loop->free_slot = loop->slots[slot].next_free;
    timer t = {deadline_ns, ++loop->next_seq, slot, cb, ctx};
    loop->heap[loop->heap_len] = t;
    loop->slots[slot].pos = loop->heap_len;
    sift_up(loop, loop->heap_len++);
    return (uint64_t)loop->slots[slot].generation << 32 | (uint64_t)(slot + 1);
}

void plcio_loop_timer_cancel(plcio_loop *loop, uint64_t id)
{
    if (!loop || id == 0) return;
    uint64_t slot = (id & UINT32_MAX) - 1;
    if (slot >= loop->heap_cap) return;
    const timer_slot *s = &loop->slots[slot];
    if (s->generation != (uint32_t)(id >> 32) || s->pos == SIZE_MAX) return; /* fired, cancelled or unknown */
    heap_remove(loop, s->pos);
}

uint64_t plcio_loop_now(const plcio_loop *loop) { return plcio_clock_now(&loop->clock); }

static int run_due_timers(plcio_loop *loop)
{
    int ran = 0;
    uint64_t now = plcio_loop_now(loop);
    /* Only timers due now: one added by a callback for "now" runs in the next round,
     * so a timer that re-arms itself at the same instant cannot starve I/O. */
    uint64_t limit_seq = loop->next_seq;
    while (loop->heap_len > 0 && loop->heap[0].deadline <= now && loop->heap[0].seq <= limit_seq) {
        timer t = loop->heap[0];
        heap_remove(loop, 0);
        t.cb(loop, t.ctx);
        ran++;
    }
    return ran;
}

static void arm_timerfd(plcio_loop *loop, uint64_t deadline)
{
    if (deadline == loop->timer_armed) return;
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    its.it_value.tv_sec = (time_t)(deadline / PLCIO_NS_PER_S);
    its.it_value.tv_nsec = (long)(deadline % PLCIO_NS_PER_S);
    if (deadline == 0) its.it_value.tv_nsec = 0; /* all zero: disarm */
    if (timerfd_settime(loop->timerfd, TFD_TIMER_ABSTIME, &its, NULL) == 0) loop->timer_armed = deadline;
}

static int wait_ms(plcio_loop *loop, int max_wait_ms)
{
    if (loop->heap_len == 0) {
        if (loop->timerfd >= 0) arm_timerfd(loop, 0);
        return max_wait_ms;
    }
    uint64_t now = plcio_loop_now(loop), due = loop->heap[0].deadline;
    if (due <= now) return 0;
    if (loop->timerfd >= 0) {
        arm_timerfd(loop, due);
        return max_wait_ms; /* the timerfd wakes us at `due` */
    }
    uint64_t ms = (due - now + PLCIO_NS_PER_MS - 1) / PLCIO_NS_PER_MS;
    if (max_wait_ms >= 0 && ms > (uint64_t)max_wait_ms) return max_wait_ms;
    return ms > 0x7fffffff ? 0x7fffffff : (int)ms;
}

int loop_run_once(plcio_loop *loop, int max_wait_ms)
{
    if (!loop) return PLCIO_EINVAL;
    struct epoll_event events[64];
    int n = epoll_wait(loop->epfd, events, 64, wait_ms(loop, max_wait_ms));
    if (n < 0) {
        if (errno != EINTR) return PLCIO_EIO;
        n = 0;
    }
    int ran = 0;
    for (int i = 0; i < n; i++) {
        if (events[i].data.u64 == UINT64_MAX || events[i].data.u64 == UINT64_MAX - 1) {
            int fd = events[i].data.u64 == UINT64_MAX ? loop->wakefd : loop->timerfd;
            uint64_t drain;
            while (read(fd, &drain, sizeof drain) > 0) {
            }
            if (fd == loop->timerfd) loop->timer_armed = 0;
            continue;
        }
        int fd = (int)(uint32_t)events[i].data.u64;
        uint32_t gen = (uint32_t)(events[i].data.u64 >> 32);
        io_watch *w = watch_of(loop, fd);
        if (!w || w->generation != gen) continue; /* deleted (or replaced) earlier in this round */
        unsigned what = 0;
        if (events[i].events & (EPOLLIN | EPOLLPRI)) what |= PLCIO_IO_READ;
        if (events[i].events & EPOLLOUT) what |= PLCIO_IO_WRITE;
        if (events[i].events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)) what |= PLCIO_IO_ERROR;
        w->cb(loop, fd, what, w->ctx);
        ran++;
    }
    return ran + run_due_timers(loop);
}

int loop_run(plcio_loop *loop)
{
    if (!loop) return PLCIO_EINVAL;
    while (!atomic_load(&loop->stop)) {
        int rc = loop_run_once(loop, -1);
        if (rc < 0) return rc;
    }
    atomic_store(&loop->stop, false);
    return PLCIO_OK;
}

void loop_wake(plcio_loop *loop)
{
    uint64_t one = 1;
    ssize_t r = write(loop->wakefd, &one, sizeof one);
    (void)r; /* a full eventfd already means "wake up" */
}

void loop_stop(plcio_loop *loop)
{
    atomic_store(&loop->stop, true);
    loop_wake(loop);
}

bool loop_stopped(const plcio_loop *loop) { return atomic_load(&loop->stop); }

int loop_fd(const plcio_loop *loop) { return loop ? loop->epfd : -1; }

size_t loop_watch_slots(const plcio_loop *loop) { return loop ? loop->watch_cap : 0; }

/* ---- a watch kept in step with a client ---- */

static void watch_timer(plcio_loop *loop, void *ctx)
{
    plcio_loop_watch *w = ctx;
    w->timer = 0;
    w->deadline = 0;
    w->on_timer(loop, w->ctx);
}

void plcio_loop_watch_init(plcio_loop_watch *w, plcio_loop *loop, plcio_io_cb on_io, plcio_timer_cb on_timer, void *ctx)
{
    w->loop = loop;
    w->on_io = on_io;
    w->on_timer = on_timer;
    w->ctx = ctx;
    w->fd = -1;
    w->events = 0;
    w->timer = 0;
    w->deadline = 0;
}

void plcio_loop_watch_set(plcio_loop_watch *w, int fd, unsigned events, uint64_t deadline)
{
    if (fd != w->fd) {
        if (w->fd >= 0) plcio_loop_del(w->loop, w->fd);
        w->fd = -1;
        if (fd >= 0 && plcio_loop_add(w->loop, fd, events, w->on_io, w->ctx) == PLCIO_OK) {
            w->fd = fd;
            w->events = events;
        }
    } else if (fd >= 0 && events != w->events) {
        plcio_loop_mod(w->loop, fd, events);
        w->events = events;
    }
    if (deadline != w->deadline) {
        if (w->timer) plcio_loop_timer_cancel(w->loop, w->timer);
        w->timer = deadline ? plcio_loop_timer_add(w->loop, deadline, watch_timer, w) : 0;
        w->deadline = w->timer ? deadline : 0;
    }
}

void plcio_loop_watch_clear(plcio_loop_watch *w) { plcio_loop_watch_set(w, -1, 0, 0); }
