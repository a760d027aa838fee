/* src/net: the event loop's watch table (kept per loop, sized to the fds that
 * loop watches, whatever their numbers) and TCP quick ACKs (net_tcp_quickack,
 * net_pump_quickack). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/loop.h"
#include "net/net.h"
#include "net/pump.h"
#include "plcio_test.h"

/* The soft fd limit raised to the hard one; how many fds we may open. */
static long fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
        (void)getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur > 1000000 ? 1000000 : (long)rl.rlim_cur;
}

/* A readable eventfd moved to the lowest free number >= at. */
static int readable_fd_at(int at)
{
    int e = eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC);
    assert_true(e >= 0);
    int fd = fcntl(e, F_DUPFD_CLOEXEC, at);
    assert_true(fd >= at);
    close(e);
    return fd;
}

typedef struct hits {
    int fd;
    int count;
    int expect_fd; /* the fd this ctx was registered for */
} hits;

static void on_hit(plcio_loop *loop, int fd, unsigned events, void *ctx)
{
    (void)loop;
    hits *h = ctx;
    assert_true(events & PLCIO_IO_READ);
    assert_int_equal(fd, h->expect_fd);
    h->count++;
}

/* Run rounds until every ready fd was served once (64 events per round). */
static void run_rounds(plcio_loop *loop, int rounds)
{
    for (int i = 0; i < rounds; i++)
        assert_true(loop_run_once(loop, 0) >= 0);
}

/* High fd numbers do not size the table: one watch at fd ~limit is 16 slots. */
static void test_high_fd_small_table(void **state)
{
    (void)state;
    long limit = fd_limit();
    plcio_loop *loop = loop_new(NULL);
    assert_non_null(loop);
    assert_int_equal(loop_watch_slots(loop), 0);
    int fd = readable_fd_at((int)(limit > 64 ? limit - 16 : 40));
    hits h = {fd, 0, fd};
    assert_int_equal(plcio_loop_add(loop, fd, PLCIO_IO_READ, on_hit, &h), PLCIO_OK);
    assert_int_equal(plcio_loop_add(loop, fd, PLCIO_IO_READ, on_hit, &h), PLCIO_EEXIST);
    assert_int_equal(loop_watch_slots(loop), 16);
    assert_true(loop_run_once(loop, 0) >= 1);
    assert_int_equal(h.count, 1);
    assert_int_equal(plcio_loop_del(loop, fd), PLCIO_OK);
    assert_int_equal(plcio_loop_del(loop, fd), PLCIO_ENOTFOUND);
    assert_int_equal(plcio_loop_mod(loop, fd, PLCIO_IO_READ), PLCIO_ENOTFOUND);
    h.count = 0;
    run_rounds(loop, 2);
    assert_int_equal(h.count, 0); /* deleted: no callback although still readable */
    /* bad arguments */
    assert_int_equal(plcio_loop_add(loop, -1, PLCIO_IO_READ, on_hit, &h), PLCIO_EINVAL);
    assert_int_equal(plcio_loop_add(loop, fd, PLCIO_IO_READ, NULL, &h), PLCIO_EINVAL);
    assert_int_equal(plcio_loop_del(loop, -5), PLCIO_ENOTFOUND);
    /* an fd that is not open: epoll refuses, the table stays empty of it */
    int closed = readable_fd_at(40);
    close(closed);
    assert_int_equal(plcio_loop_add(loop, closed, PLCIO_IO_READ, on_hit, &h), PLCIO_EIO);
    assert_int_equal(plcio_loop_del(loop, closed), PLCIO_ENOTFOUND);
    close(fd);
    loop_free(loop);
}

/* Many fds with scattered numbers (probe runs collide), random adds and
 * removes checked against a model, then every watched fd served with its
 * own ctx and no removed one. */
#define NFDS 300
static void test_many_fds_random_add_remove(void **state)
{
    (void)state;
    long limit = fd_limit();
    int span = (int)(limit - 64 < 20000 ? limit - 64 : 20000);
    if (span < NFDS * 2) span = NFDS * 2; /* below that the dups simply pack densely */
    plcio_loop *loop = loop_new(NULL);
    assert_non_null(loop);
    static hits h[NFDS];
    static bool watched[NFDS];
    srand(21);
    for (int i = 0; i < NFDS; i++) {
        int at = 64 + rand() % (span > NFDS * 2 ? span - NFDS : NFDS);
        h[i].fd = readable_fd_at(at);
        h[i].expect_fd = h[i].fd;
        watched[i] = false;
    }
    size_t count = 0;
    for (int op = 0; op < 5000; op++) {
        int i = rand() % NFDS;
        if (watched[i]) {
            assert_int_equal(plcio_loop_del(loop, h[i].fd), PLCIO_OK);
            watched[i] = false;
            count--;
        } else {
            assert_int_equal(plcio_loop_add(loop, h[i].fd, PLCIO_IO_READ, on_hit, &h[i]), PLCIO_OK);
            watched[i] = true;
            count++;
        }
        if (op % 97 == 0) /* every fd is found (or not) as the model says */
            for (int k = 0; k < NFDS; k++)
                assert_int_equal(plcio_loop_mod(loop, h[k].fd, PLCIO_IO_READ), watched[k] ? PLCIO_OK : PLCIO_ENOTFOUND);
        size_t slots = loop_watch_slots(loop);
        assert_true(slots >= 2 * count);
        assert_true(slots <= (count * 8 > 16 ? count * 8 : 16));
    }
    for (int k = 0; k < NFDS; k++)
        h[k].count = 0;
    /* level-triggered eventfds: one round serves at most 64 (epoll hands them
     * out in turn), so run enough rounds for each watched fd to come up */
    int rounds = (int)(count / 64 + 1) * 3;
    run_rounds(loop, rounds);
    for (int k = 0; k < NFDS; k++)
        assert_true(watched[k] ? h[k].count >= 1 : h[k].count == 0);
    /* remove all: the table shrinks back */
    for (int k = 0; k < NFDS; k++)
        if (watched[k]) assert_int_equal(plcio_loop_del(loop, h[k].fd), PLCIO_OK);
    assert_true(loop_watch_slots(loop) <= 16);
    for (int k = 0; k < NFDS; k++)
        close(h[k].fd);
    loop_free(loop);
}

/* Inside a round: the first callback removes the two other ready fds (they
 * get no callback in this round) and re-adds one of them with a new callback
 * (the stale event of the old registration is not delivered to the new one). */
typedef struct round_ctx {
    int fds[3];
    int calls_old, calls_new;
    bool first_done;
} round_ctx;

static void on_new(plcio_loop *loop, int fd, unsigned events, void *ctx)
{
    (void)loop, (void)fd, (void)events;
    ((round_ctx *)ctx)->calls_new++;
}

static void on_old(plcio_loop *loop, int fd, unsigned events, void *ctx)
{
    (void)events;
    round_ctx *r = ctx;
    r->calls_old++;
    if (r->first_done) return;
    r->first_done = true;
    int others[2], k = 0;
    for (int i = 0; i < 3; i++)
        if (r->fds[i] != fd) others[k++] = r->fds[i];
    assert_int_equal(k, 2);
    assert_int_equal(plcio_loop_del(loop, others[0]), PLCIO_OK);
    assert_int_equal(plcio_loop_del(loop, others[1]), PLCIO_OK);
    assert_int_equal(plcio_loop_add(loop, others[1], PLCIO_IO_READ, on_new, r), PLCIO_OK);
}

static void test_remove_and_readd_inside_a_round(void **state)
{
    (void)state;
    round_ctx r = {0};
    plcio_loop *loop = loop_new(NULL);
    assert_non_null(loop);
    for (int i = 0; i < 3; i++) {
        r.fds[i] = readable_fd_at(50);
        assert_int_equal(plcio_loop_add(loop, r.fds[i], PLCIO_IO_READ, on_old, &r), PLCIO_OK);
    }
    assert_int_equal(loop_run_once(loop, 0), 1); /* one callback; the other two were taken out */
    assert_int_equal(r.calls_old, 1);
    assert_int_equal(r.calls_new, 0);
    /* next round: the first fd with its callback, the re-added one with its new one */
    assert_int_equal(loop_run_once(loop, 0), 2);
    assert_int_equal(r.calls_old, 2);
    assert_int_equal(r.calls_new, 1);
    for (int i = 0; i < 3; i++)
        close(r.fds[i]);
    loop_free(loop);
}

/* Many loops in one process: each loop's table is sized to its own fds,
 * although the fd numbers climb with every loop created. */
static void test_many_loops_one_process(void **state)
{
    (void)state;
    long limit = fd_limit();
    long n = (limit - 64) / 5; /* epoll + eventfd + timerfd of the loop, one watched fd */
    if (n > 1000) n = 1000;
    assert_true(n >= 100);
    plcio_loop **loops = calloc((size_t)n, sizeof(plcio_loop *));
    int *fds = calloc((size_t)n, sizeof *fds);
    hits *h = calloc((size_t)n, sizeof *h);
    assert_non_null(loops);
    assert_non_null(fds);
    assert_non_null(h);
    size_t slots = 0;
    int highest = 0;
    for (long i = 0; i < n; i++) {
        loops[i] = loop_new(NULL);
        assert_non_null(loops[i]);
        fds[i] = readable_fd_at(3);
        if (fds[i] > highest) highest = fds[i];
        h[i] = (hits){fds[i], 0, fds[i]};
        assert_int_equal(plcio_loop_add(loops[i], fds[i], PLCIO_IO_READ, on_hit, &h[i]), PLCIO_OK);
    }
    for (long i = 0; i < n; i++) {
        assert_true(loop_run_once(loops[i], 0) >= 1);
        assert_int_equal(h[i].count, 1);
        slots += loop_watch_slots(loops[i]);
    }
    /* 16 slots per loop; an fd-indexed table would hold about highest/2 per loop */
    assert_int_equal(slots, (size_t)n * 16);
    assert_true(highest > 3 * n);
    for (long i = 0; i < n; i++) {
        assert_int_equal(plcio_loop_del(loops[i], fds[i]), PLCIO_OK);
        close(fds[i]);
        loop_free(loops[i]);
    }
    free(loops);
    free(fds);
    free(h);
}

/* ---- quick ACKs ---- */

static void tcp_pair(int *listener, int *client, int *server)
{
    int port = 0;
    assert_int_equal(net_tcp_listen("127.0.0.1", 0, 8, listener, &port), PLCIO_OK);
    assert_int_equal(net_tcp_connect("127.0.0.1", port, 2000, client), PLCIO_OK);
    assert_int_equal(net_wait(*listener, false, net_deadline(2000)), PLCIO_OK);
    assert_int_equal(net_accept(*listener, server, NULL, 0), PLCIO_OK);
}

static void test_quickack_on_tcp_and_refused_elsewhere(void **state)
{
    (void)state;
    int l, c, s;
    tcp_pair(&l, &c, &s);
    assert_int_equal(net_tcp_quickack(c), PLCIO_OK);
    int on = 0;
    socklen_t len = sizeof on;
    assert_int_equal(getsockopt(c, IPPROTO_TCP, TCP_QUICKACK, &on, &len), 0);
    assert_int_equal(on, 1); /* the kernel says quick-ACK mode is on */
    /* not TCP: a pipe, a UDP socket, a closed fd: refused, nothing breaks */
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(net_tcp_quickack(p[0]), PLCIO_EUNSUPPORTED);
    int u = -1;
    assert_int_equal(net_udp_open("127.0.0.1", 0, true, &u, NULL), PLCIO_OK);
    assert_int_equal(net_tcp_quickack(u), PLCIO_EUNSUPPORTED);
    assert_int_not_equal(net_tcp_quickack(-1), PLCIO_OK);
    /* the socket still works after all that */
    assert_int_equal(net_send_all(c, "ab", 2, net_deadline(1000), NULL), PLCIO_OK);
    char buf[2];
    assert_int_equal(net_recv_exact(s, buf, 2, net_deadline(1000)), PLCIO_OK);
    assert_memory_equal(buf, "ab", 2);
    close(p[0]), close(p[1]);
    net_close(u), net_close(c), net_close(s), net_close(l);
}

static int feed_count(void *ctx, const uint8_t *buf, size_t len)
{
    (void)buf;
    *(size_t *)ctx += len;
    return PLCIO_OK;
}

/* The pump arms quick ACKs only on its own TCP socket, only after a read
 * that no send followed; on a pipe (a serial line's shape) it never tries. */
static void test_pump_quickack_after_reads_only(void **state)
{
    (void)state;
    int l, port;
    assert_int_equal(net_tcp_listen("127.0.0.1", 0, 8, &l, &port), PLCIO_OK);
    net_pump p;
    net_pump_init(&p, false);
    assert_int_equal(net_pump_connect_tcp(&p, "127.0.0.1", port, 2000, plcio_monotonic_ns()), PLCIO_OK);
    assert_true(p.tcp);
    int s;
    assert_int_equal(net_wait(l, false, net_deadline(2000)), PLCIO_OK);
    assert_int_equal(net_accept(l, &s, NULL, 0), PLCIO_OK);
    int rc;
    while ((rc = net_pump_connect_poll(&p, plcio_monotonic_ns())) == PLCIO_EAGAIN)
        assert_int_equal(net_wait(p.fd, true, net_deadline(2000)), PLCIO_OK);
    assert_int_equal(rc, PLCIO_OK);
    assert_false(p.rx_unacked);
    uint8_t buf[64];
    size_t got = 0;
    assert_int_equal(net_send_all(s, "answer", 6, net_deadline(1000), NULL), PLCIO_OK);
    assert_int_equal(net_wait(p.fd, false, net_deadline(2000)), PLCIO_OK);
    assert_int_equal(net_pump_recv(&p, buf, sizeof buf, feed_count, &got), PLCIO_OK);
    assert_int_equal(got, 6);
    assert_true(p.rx_unacked);
    net_pump_quickack(&p);
    assert_false(p.rx_unacked);
    int on = 0;
    socklen_t len = sizeof on;
    assert_int_equal(getsockopt(p.fd, IPPROTO_TCP, TCP_QUICKACK, &on, &len), 0);
    assert_int_equal(on, 1);
    /* a read followed by a send: the send carried the ACK, nothing to arm */
    assert_int_equal(net_send_all(s, "more", 4, net_deadline(1000), NULL), PLCIO_OK);
    assert_int_equal(net_wait(p.fd, false, net_deadline(2000)), PLCIO_OK);
    assert_int_equal(net_pump_recv(&p, buf, sizeof buf, feed_count, &got), PLCIO_OK);
    assert_true(p.rx_unacked);
    bool done = false;
    assert_int_equal(net_pump_send(&p, (const uint8_t *)"req", 3, NULL, &done), PLCIO_OK);
    assert_true(done);
    assert_false(p.rx_unacked);
    net_pump_close(&p);
    assert_false(p.tcp);
    net_pump_quickack(&p); /* closed: nothing */
    /* an adopted pipe (the shape of a serial line): reads never arm */
    int pp[2];
    assert_int_equal(pipe(pp), 0);
    assert_int_equal(fcntl(pp[0], F_SETFL, O_NONBLOCK), 0);
    net_pump_adopt(&p, pp[0]);
    assert_false(p.tcp);
    assert_int_equal(write(pp[1], "xy", 2), 2);
    got = 0;
    assert_int_equal(net_pump_recv(&p, buf, sizeof buf, feed_count, &got), PLCIO_OK);
    assert_int_equal(got, 2);
    net_pump_quickack(&p); /* no setsockopt on a pipe: nothing to see but nothing breaks */
    assert_int_equal(write(pp[1], "z", 1), 1);
    assert_int_equal(net_pump_recv(&p, buf, sizeof buf, feed_count, &got), PLCIO_OK);
    assert_int_equal(got, 3);
    net_pump_close(&p);
    close(pp[1]);
    net_close(s), net_close(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_high_fd_small_table),
        cmocka_unit_test(test_many_fds_random_add_remove),
        cmocka_unit_test(test_remove_and_readd_inside_a_round),
        cmocka_unit_test(test_many_loops_one_process),
        cmocka_unit_test(test_quickack_on_tcp_and_refused_elsewhere),
        cmocka_unit_test(test_pump_quickack_after_reads_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
