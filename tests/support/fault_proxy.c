/* The fault-injecting TCP proxy of fault_proxy.h: one thread, one poll loop,
 * a queue of timed chunks per connection and direction. */
#include "fault_proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS    64
#define QUEUE_LIMIT  (1u << 20) /* stop reading a sender whose bytes wait beyond this */
#define IDLE_POLL_MS 50

typedef struct chunk {
    struct chunk *next;
    uint64_t release_ns;
    size_t len, off;
    uint8_t data[];
} chunk;

typedef struct conn {
    bool used;
    int fd[2];                /* [FAULT_UP]: the client side (UP bytes are read here); [FAULT_DOWN]: the server side */
    chunk *head[2], *tail[2]; /* bytes travelling in each direction */
    size_t queued[2];
    bool eof[2]; /* the sender of this direction closed */
    uint64_t next_split_ns[2];
} conn;

typedef struct dir_faults {
    uint64_t delay_ns;
    uint64_t stall_until;
    double rate;
    uint32_t prng;
    bool at_armed;
    uint64_t at_index;
    uint8_t at_mask;
    uint64_t split_gap_ns;
    bool cut_armed, cut_rst;
    uint64_t cut_left;
} dir_faults;

struct fault_proxy {
    pthread_t thread;
    pthread_mutex_t mu;
    int wake_fd;
    int listen_fd;
    int port, target_port;
    uint64_t end_ns;
    bool stop;
    uint64_t dark_until;
    dir_faults f[2];
    fault_counters n;
    conn conns[MAX_CONNS];
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint32_t xorshift(uint32_t *s)
{
    uint32_t x = *s ? *s : 0x9E3779B9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return x;
}

static void set_nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

static void set_nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void set_rst(int fd)
{
    struct linger l = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

static int listen_on(int port, int *bound)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    socklen_t al = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
        close(fd);
        return -1;
    }
    set_nonblock(fd);
    *bound = ntohs(a.sin_port);
    return fd;
}

static void wake(fault_proxy *p)
{
    uint64_t one = 1;
    ssize_t r = write(p->wake_fd, &one, sizeof one);
    (void)r;
}

/* ---- connections ---- */

static void free_queue(conn *c, int d)
{
    while (c->head[d]) {
        chunk *k = c->head[d];
        c->head[d] = k->next;
        free(k);
    }
    c->tail[d] = NULL;
    c->queued[d] = 0;
}

static void close_conn(fault_proxy *p, conn *c, bool rst)
{
    for (int i = 0; i < 2; i++) {
        if (c->fd[i] < 0) continue;
        if (rst) set_rst(c->fd[i]);
        close(c->fd[i]);
        c->fd[i] = -1;
        free_queue(c, i);
    }
    c->used = false;
    p->n.open--;
}

static int connect_target(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) { /* loopback: answered at once */
        close(fd);
        return -1;
    }
    return fd;
}

static void accept_one(fault_proxy *p)
{
    struct sockaddr_in peer;
    socklen_t peer_len = sizeof peer;
    int cfd = accept4(p->listen_fd, (struct sockaddr *)&peer, &peer_len, SOCK_CLOEXEC);
    if (cfd < 0) return;
    conn *c = NULL;
    for (int i = 0; i < MAX_CONNS && !c; i++)
        if (!p->conns[i].used) c = &p->conns[i];
    int sfd = -1;
    if (c == NULL || (sfd = connect_target(p->target_port)) < 0) {
        p->n.target_refused++;
        set_rst(cfd);
        close(cfd);
        return;
    }
    memset(c, 0, sizeof *c);
    c->used = true;
    c->fd[FAULT_UP] = cfd;
    c->fd[FAULT_DOWN] = sfd;
    for (int i = 0; i < 2; i++) {
        set_nonblock(c->fd[i]);
        set_nodelay(c->fd[i]);
    }
    p->n.accepted++;
    p->n.open++;
}

/* Read what the sender of direction d has; corrupt as configured; queue it. */
static void read_side(fault_proxy *p, conn *c, int d, uint64_t now)
{
    uint8_t buf[16384];
    ssize_t r = recv(c->fd[d], buf, sizeof buf, MSG_DONTWAIT);
    if (r == 0) {
        c->eof[d] = true;
        return;
    }
    if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
        p->n.peer_resets++;
        close_conn(p, c, true); /* a reset on one side is passed on to the other */
        return;
    }
    dir_faults *f = &p->f[d];
    for (ssize_t i = 0; i < r; i++) {
        uint64_t index = p->n.bytes_in[d]++;
        uint8_t mask = 0;
        if (f->at_armed && index == f->at_index) {
            mask = f->at_mask;
            f->at_armed = false;
        } else if (f->rate > 0 && (double)xorshift(&f->prng) / 4294967296.0 < f->rate) {
            mask = (uint8_t)(xorshift(&f->prng) % 255u + 1u);
        }
        if (mask) {
            buf[i] ^= mask;
            p->n.corrupted[d]++;
        }
    }
    chunk *k = malloc(sizeof *k + (size_t)r);
    if (!k) return;
    k->next = NULL;
    k->len = (size_t)r;
    k->off = 0;
    k->release_ns = now + f->delay_ns;
    memcpy(k->data, buf, (size_t)r);
    if (f->delay_ns) p->n.delayed[d]++;
    if (now < f->stall_until) p->n.stalled_bytes[d] += (uint64_t)r;
    if (c->tail[d])
        c->tail[d]->next = k;
    else
        c->head[d] = k;
    c->tail[d] = k;
    c->queued[d] += (size_t)r;
}

/* Fire the armed cut of direction d on connection c. */
static void fire_cut(fault_proxy *p, conn *c, int d)
{
    dir_faults *f = &p->f[d];
    f->cut_armed = false;
    if (f->cut_rst)
        p->n.resets++;
    else
        p->n.cuts++;
    close_conn(p, c, f->cut_rst);
}

/* Deliver what is due in direction d; false when the connection was closed. */
static bool write_side(fault_proxy *p, conn *c, int d, uint64_t now)
{
    dir_faults *f = &p->f[d];
    int dst = c->fd[1 - d];
    while (c->head[d]) {
        chunk *k = c->head[d];
        if (now < k->release_ns || now < f->stall_until) return true;
        if (f->split_gap_ns && now < c->next_split_ns[d]) return true;
        size_t n = k->len - k->off;
        if (f->split_gap_ns) n = 1;
        if (f->cut_armed) {
            if (f->cut_left == 0) {
                fire_cut(p, c, d);
                return false;
            }
            if (n > f->cut_left) n = (size_t)f->cut_left;
        }
        ssize_t w = send(dst, k->data + k->off, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return true;
            p->n.peer_resets++;
            close_conn(p, c, true);
            return false;
        }
        k->off += (size_t)w;
        c->queued[d] -= (size_t)w;
        p->n.bytes_out[d] += (uint64_t)w;
        if (k->off == k->len) {
            c->head[d] = k->next;
            if (!c->head[d]) c->tail[d] = NULL;
            free(k);
        }
        if (f->cut_armed) {
            f->cut_left -= (uint64_t)w;
            if (f->cut_left == 0) {
                fire_cut(p, c, d);
                return false;
            }
        }
        if (f->split_gap_ns) {
            p->n.single_writes[d]++;
            c->next_split_ns[d] = now + f->split_gap_ns;
            return true;
        }
    }
    /* Everything the closed sender sent is through: close, as it did. */
    if (c->eof[d]) {
        close_conn(p, c, false);
        return false;
    }
    return true;
}

/* ---- the loop ---- */

static uint64_t min_nz(uint64_t a, uint64_t b) { return !a ? b : !b ? a : a < b ? a : b; }

/* When something timed is due next (0: nothing). */
static uint64_t next_due(fault_proxy *p, uint64_t now)
{
    uint64_t due = 0;
    if (p->dark_until > now) return p->dark_until;
    for (int i = 0; i < MAX_CONNS; i++) {
        conn *c = &p->conns[i];
        if (!c->used) continue;
        for (int d = 0; d < 2; d++) {
            if (!c->head[d]) continue;
            uint64_t t = c->head[d]->release_ns;
            if (p->f[d].stall_until > t) t = p->f[d].stall_until;
            if (p->f[d].split_gap_ns && c->next_split_ns[d] > t) t = c->next_split_ns[d];
            due = min_nz(due, t > now ? t : now);
        }
    }
    return due;
}

typedef struct poll_set {
    struct pollfd pfd[2 + 2 * MAX_CONNS];
    int who[2 + 2 * MAX_CONNS]; /* conn index * 2 + side, or WHO_WAKE / WHO_LISTEN */
    int n;
} poll_set;

enum { WHO_WAKE = -1, WHO_LISTEN = -2 };

static void poll_add(poll_set *ps, int fd, short events, int who)
{
    ps->pfd[ps->n] = (struct pollfd){fd, events, 0};
    ps->who[ps->n++] = who;
}

/* What to wait for: the wake fd always; nothing else while dark. Side d of a
 * connection reads direction d and writes direction 1 - d. */
static void build_poll_set(fault_proxy *p, poll_set *ps, uint64_t now, bool dark)
{
    ps->n = 0;
    poll_add(ps, p->wake_fd, POLLIN, WHO_WAKE);
    if (dark) return;
    if (p->listen_fd >= 0) poll_add(ps, p->listen_fd, POLLIN, WHO_LISTEN);
    for (int i = 0; i < MAX_CONNS; i++) {
        const conn *c = &p->conns[i];
        if (!c->used) continue;
        for (int d = 0; d < 2; d++) {
            const dir_faults *out = &p->f[1 - d];
            short ev = 0;
            if (!c->eof[d] && c->queued[d] < QUEUE_LIMIT) ev |= POLLIN;
            if (c->head[1 - d] && c->head[1 - d]->release_ns <= now && out->stall_until <= now && !out->split_gap_ns)
                ev |= POLLOUT;
            poll_add(ps, c->fd[d], ev, i * 2 + d);
        }
    }
}

/* Sleep until an event or the next timed delivery (ppoll: split gaps are
 * well under a millisecond). Called with the lock held; drops it meanwhile. */
static int wait_events(fault_proxy *p, poll_set *ps, uint64_t now)
{
    uint64_t due = min_nz(next_due(p, now), p->end_ns);
    uint64_t wait_ns = (uint64_t)IDLE_POLL_MS * 1000000u;
    uint64_t left = due > now ? due - now : 0;
    if (due && left < wait_ns) wait_ns = left;
    struct timespec ts = {(time_t)(wait_ns / 1000000000u), (long)(wait_ns % 1000000000u)};
    pthread_mutex_unlock(&p->mu);
    int r = ppoll(ps->pfd, (nfds_t)ps->n, &ts, NULL);
    pthread_mutex_lock(&p->mu);
    return r;
}

static void handle_events(fault_proxy *p, const poll_set *ps, uint64_t now)
{
    bool dark = now < p->dark_until;
    for (int k = 0; k < ps->n; k++) {
        if (!ps->pfd[k].revents) continue;
        if (ps->who[k] == WHO_WAKE) {
            uint64_t v;
            ssize_t rr = read(p->wake_fd, &v, sizeof v);
            (void)rr;
        } else if (ps->who[k] == WHO_LISTEN) {
            if (p->listen_fd >= 0 && !dark) accept_one(p);
        } else {
            conn *c = &p->conns[ps->who[k] / 2];
            int d = ps->who[k] % 2;
            if (!c->used || c->fd[d] != ps->pfd[k].fd || dark) continue;
            if (ps->pfd[k].revents & (POLLIN | POLLHUP | POLLERR)) read_side(p, c, d, now);
            if (c->used && (ps->pfd[k].revents & POLLOUT)) write_side(p, c, 1 - d, now);
        }
    }
}

static void *run(void *arg)
{
    fault_proxy *p = arg;
    poll_set ps;
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        uint64_t now = mono_ns();
        if (now >= p->end_ns) break;
        bool dark = now < p->dark_until;
        if (dark) p->n.dark_held_polls++;
        for (int i = 0; i < MAX_CONNS && !dark; i++) /* deliver what is due */
            for (int d = 0; d < 2 && p->conns[i].used; d++)
                write_side(p, &p->conns[i], d, now);
        build_poll_set(p, &ps, now, dark);
        if (wait_events(p, &ps, now) > 0) handle_events(p, &ps, mono_ns());
    }
    for (int i = 0; i < MAX_CONNS; i++)
        if (p->conns[i].used) close_conn(p, &p->conns[i], false);
    if (p->listen_fd >= 0) close(p->listen_fd);
    p->listen_fd = -1;
    p->stop = true;
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* ---- API ---- */

fault_proxy *fault_proxy_start(int target_port, int max_seconds)
{
    fault_proxy *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->target_port = target_port;
    p->end_ns = mono_ns() + (uint64_t)(max_seconds > 0 ? max_seconds : 60) * 1000000000u;
    p->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    p->listen_fd = listen_on(0, &p->port);
    if (p->wake_fd < 0 || p->listen_fd < 0 || pthread_mutex_init(&p->mu, NULL) != 0) {
        if (p->wake_fd >= 0) close(p->wake_fd);
        if (p->listen_fd >= 0) close(p->listen_fd);
        free(p);
        return NULL;
    }
    for (int i = 0; i < MAX_CONNS; i++)
        p->conns[i].fd[0] = p->conns[i].fd[1] = -1;
    if (pthread_create(&p->thread, NULL, run, p) != 0) {
        close(p->wake_fd);
        close(p->listen_fd);
        pthread_mutex_destroy(&p->mu);
        free(p);
        return NULL;
    }
    return p;
}

int fault_proxy_port(const fault_proxy *p) { return p ? p->port : -1; }

void fault_proxy_stop(fault_proxy *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_mutex_unlock(&p->mu);
    wake(p);
    pthread_join(p->thread, NULL);
    close(p->wake_fd);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

#define LOCKED(p, body)                                                                                                \
    do {                                                                                                               \
        pthread_mutex_lock(&(p)->mu);                                                                                  \
        body;                                                                                                          \
        pthread_mutex_unlock(&(p)->mu);                                                                                \
        wake(p);                                                                                                       \
    } while (0)

static void set_refuse(fault_proxy *p, bool on);

static uint64_t ms_ns(int ms) { return ms > 0 ? (uint64_t)ms * 1000000u : 0; }

void fault_proxy_clear(fault_proxy *p)
{
    LOCKED(p, {
        for (int d = 0; d < 2; d++) {
            uint32_t seed = p->f[d].prng;
            memset(&p->f[d], 0, sizeof p->f[d]);
            p->f[d].prng = seed;
        }
        p->dark_until = 0;
        set_refuse(p, false);
    });
}

void fault_proxy_delay(fault_proxy *p, fault_dir dir, int ms) { LOCKED(p, p->f[dir].delay_ns = ms_ns(ms)); }

void fault_proxy_stall(fault_proxy *p, fault_dir dir, int ms)
{
    LOCKED(p, {
        p->f[dir].stall_until = mono_ns() + ms_ns(ms);
        p->n.stalls[dir]++;
    });
}

void fault_proxy_corrupt_rate(fault_proxy *p, fault_dir dir, double rate, uint32_t seed)
{
    LOCKED(p, {
        p->f[dir].rate = rate;
        p->f[dir].prng = seed ? seed : 1u;
    });
}

void fault_proxy_corrupt_next(fault_proxy *p, fault_dir dir, uint64_t k, uint8_t mask)
{
    LOCKED(p, {
        p->f[dir].at_armed = mask != 0;
        p->f[dir].at_index = p->n.bytes_in[dir] + k;
        p->f[dir].at_mask = mask;
    });
}

void fault_proxy_split(fault_proxy *p, fault_dir dir, int gap_us)
{
    LOCKED(p, p->f[dir].split_gap_ns = gap_us > 0 ? (uint64_t)gap_us * 1000u : 0);
}

void fault_proxy_cut_after(fault_proxy *p, fault_dir dir, uint64_t n)
{
    LOCKED(p, {
        p->f[dir].cut_armed = true;
        p->f[dir].cut_rst = false;
        p->f[dir].cut_left = n;
    });
}

void fault_proxy_reset_after(fault_proxy *p, fault_dir dir, uint64_t n)
{
    LOCKED(p, {
        p->f[dir].cut_armed = true;
        p->f[dir].cut_rst = true;
        p->f[dir].cut_left = n;
    });
}

void fault_proxy_dark(fault_proxy *p, int ms)
{
    LOCKED(p, {
        p->dark_until = mono_ns() + ms_ns(ms);
        p->n.dark_periods++;
    });
}

/* Done here, under the lock, so it holds when the call returns. */
static void set_refuse(fault_proxy *p, bool on)
{
    if (on && p->listen_fd >= 0) {
        /* the thread may be polling it, which keeps the socket alive past
         * close(): shutdown ends the listening now */
        shutdown(p->listen_fd, SHUT_RDWR);
        close(p->listen_fd);
        p->listen_fd = -1;
        p->n.refuse_periods++;
    } else if (!on && p->listen_fd < 0) {
        int bound;
        p->listen_fd = listen_on(p->port, &bound);
    }
}

void fault_proxy_refuse(fault_proxy *p, bool on) { LOCKED(p, set_refuse(p, on)); }

void fault_proxy_drop_all(fault_proxy *p, bool rst)
{
    LOCKED(p, {
        for (int i = 0; i < MAX_CONNS; i++)
            if (p->conns[i].used) close_conn(p, &p->conns[i], rst);
    });
}

void fault_proxy_counters(fault_proxy *p, fault_counters *out) { LOCKED(p, *out = p->n); }

bool fault_proxy_cut_fired(fault_proxy *p, fault_dir dir)
{
    bool fired;
    LOCKED(p, fired = !p->f[dir].cut_armed);
    return fired;
}
