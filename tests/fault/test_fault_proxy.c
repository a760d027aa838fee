/* The fault proxy itself, against an echo server in a thread: each fault does
 * on the wire what it says (the other fault tests rely on it): one-byte
 * segments, a frame cut after exactly n bytes, an RST, a held stall, a dark
 * link that resumes, the flipped byte, refused connections. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fault_proxy.h"
#include "plcio/plcio.h"
#include "plcio_test.h"

typedef struct echo {
    int listen_fd, port;
    volatile int stop;
    pthread_t thread;
} echo;

static void *echo_run(void *arg)
{
    echo *e = arg;
    int fds[16];
    int n = 0;
    while (!e->stop) {
        struct pollfd p[17];
        p[0] = (struct pollfd){e->listen_fd, POLLIN, 0};
        for (int i = 0; i < n; i++)
            p[i + 1] = (struct pollfd){fds[i], POLLIN, 0};
        if (poll(p, (nfds_t)n + 1, 20) <= 0) continue;
        if ((p[0].revents & POLLIN) && n < 16) {
            int fd = accept(e->listen_fd, NULL, NULL);
            if (fd >= 0) fds[n++] = fd;
        }
        for (int i = 0; i < n; i++) {
            if (!p[i + 1].revents) continue;
            char buf[4096];
            ssize_t r = recv(fds[i], buf, sizeof buf, 0);
            if (r <= 0 || send(fds[i], buf, (size_t)r, MSG_NOSIGNAL) != r) {
                close(fds[i]);
                fds[i] = fds[--n];
                break;
            }
        }
    }
    for (int i = 0; i < n; i++)
        close(fds[i]);
    return NULL;
}

typedef struct ctx {
    echo e;
    fault_proxy *proxy;
} ctx;

static int teardown(void **state);

static int setup(void **state)
{
    ctx *c = calloc(1, sizeof *c);
    if (!c) return -1;
    c->e.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (c->e.listen_fd < 0 || bind(c->e.listen_fd, (struct sockaddr *)&a, sizeof a) || listen(c->e.listen_fd, 8) ||
        getsockname(c->e.listen_fd, (struct sockaddr *)&a, &al) ||
        pthread_create(&c->e.thread, NULL, echo_run, &c->e)) {
        if (c->e.listen_fd >= 0) close(c->e.listen_fd);
        free(c);
        return -1;
    }
    c->e.port = ntohs(a.sin_port);
    c->proxy = fault_proxy_start(c->e.port, 60);
    *state = c;
    if (c->proxy) return 0;
    teardown(state); /* cmocka skips the teardown of a failed setup */
    return -1;
}

static int teardown(void **state)
{
    ctx *c = *state;
    fault_proxy_stop(c->proxy);
    c->e.stop = 1;
    pthread_join(c->e.thread, NULL);
    close(c->e.listen_fd);
    free(c);
    return 0;
}

static int dial(ctx *c)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                            .sin_port = htons((uint16_t)fault_proxy_port(c->proxy))};
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

/* Read until len bytes or EOF/error or timeout; returns bytes, *reads the recv calls that got data. */
static ssize_t read_for(int fd, uint8_t *buf, size_t len, int timeout_ms, int *reads, int *err)
{
    size_t got = 0;
    uint64_t end = plcio_monotonic_ns() + (uint64_t)timeout_ms * PLCIO_NS_PER_MS;
    *err = 0;
    if (reads) *reads = 0;
    while (got < len) {
        uint64_t now = plcio_monotonic_ns();
        if (now >= end) break;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, (int)((end - now) / PLCIO_NS_PER_MS) + 1) <= 0) continue;
        ssize_t r = recv(fd, buf + got, len - got, 0);
        if (r < 0) {
            *err = errno;
            break;
        }
        if (r == 0) {
            *err = -1; /* EOF */
            break;
        }
        got += (size_t)r;
        if (reads) (*reads)++;
    }
    return (ssize_t)got;
}

static void fill(uint8_t *b, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(seed + i * 7);
}

static void test_clean_and_delay(void **state)
{
    ctx *c = *state;
    int fd = dial(c);
    assert_true(fd >= 0);
    uint8_t out[300], in[300];
    fill(out, sizeof out, 1);
    int err;
    assert_int_equal(send(fd, out, sizeof out, 0), (ssize_t)sizeof out);
    assert_int_equal(read_for(fd, in, sizeof in, 2000, NULL, &err), (ssize_t)sizeof in);
    assert_memory_equal(in, out, sizeof out);
    fault_proxy_delay(c->proxy, FAULT_DOWN, 150);
    uint64_t t0 = plcio_monotonic_ns();
    assert_int_equal(send(fd, out, 10, 0), 10);
    assert_int_equal(read_for(fd, in, 10, 2000, NULL, &err), 10);
    assert_true(plcio_monotonic_ns() - t0 >= 150 * PLCIO_NS_PER_MS);
    fault_counters n;
    fault_proxy_counters(c->proxy, &n);
    assert_true(n.delayed[FAULT_DOWN] >= 1);
    close(fd);
}

static void test_split_gives_single_bytes(void **state)
{
    ctx *c = *state;
    int fd = dial(c);
    assert_true(fd >= 0);
    fault_proxy_split(c->proxy, FAULT_DOWN, 3000);
    uint8_t out[20], in[20];
    fill(out, sizeof out, 9);
    int reads, err;
    assert_int_equal(send(fd, out, sizeof out, 0), (ssize_t)sizeof out);
    assert_int_equal(read_for(fd, in, sizeof in, 3000, &reads, &err), (ssize_t)sizeof in);
    assert_memory_equal(in, out, sizeof out);
    /* each byte went out in its own segment, 3 ms apart: the reader sees them
     * one by one (a reader held up by a busy machine may take a few together) */
    assert_true(reads >= 10);
    fault_counters n;
    fault_proxy_counters(c->proxy, &n);
    assert_int_equal(n.single_writes[FAULT_DOWN], 20);
    close(fd);
}

static void test_cut_and_reset_mid_frame(void **state)
{
    ctx *c = *state;
    uint8_t out[64], in[64];
    fill(out, sizeof out, 3);
    int err;
    int fd = dial(c);
    assert_true(fd >= 0);
    fault_proxy_cut_after(c->proxy, FAULT_DOWN, 13);
    assert_int_equal(send(fd, out, sizeof out, 0), (ssize_t)sizeof out);
    assert_int_equal(read_for(fd, in, sizeof in, 2000, NULL, &err), 13);
    assert_int_equal(err, -1); /* EOF right after byte 13 */
    assert_memory_equal(in, out, 13);
    assert_true(fault_proxy_cut_fired(c->proxy, FAULT_DOWN));
    close(fd);

    fd = dial(c);
    assert_true(fd >= 0);
    fault_proxy_reset_after(c->proxy, FAULT_UP, 5);
    assert_int_equal(send(fd, out, sizeof out, 0), (ssize_t)sizeof out);
    ssize_t got = read_for(fd, in, sizeof in, 2000, NULL, &err);
    assert_true(got <= 5);
    assert_int_equal(err, ECONNRESET);
    close(fd);
    fault_counters n;
    fault_proxy_counters(c->proxy, &n);
    assert_int_equal(n.cuts, 1);
    assert_int_equal(n.resets, 1);
}

static void test_stall_dark_and_corrupt(void **state)
{
    ctx *c = *state;
    uint8_t out[32], in[32];
    fill(out, sizeof out, 5);
    int err;
    int fd = dial(c);
    assert_true(fd >= 0);
    /* stall: nothing for 300 ms, then everything */
    fault_proxy_stall(c->proxy, FAULT_DOWN, 300);
    assert_int_equal(send(fd, out, sizeof out, 0), (ssize_t)sizeof out);
    assert_int_equal(read_for(fd, in, sizeof in, 200, NULL, &err), 0);
    assert_int_equal(read_for(fd, in, sizeof in, 2000, NULL, &err), (ssize_t)sizeof in);
    assert_memory_equal(in, out, sizeof in);
    /* dark: nothing either way, the connection stays, then it resumes */
    fault_proxy_dark(c->proxy, 400);
    assert_int_equal(send(fd, out, sizeof out, 0), (ssize_t)sizeof out);
    assert_int_equal(read_for(fd, in, sizeof in, 250, NULL, &err), 0);
    assert_int_equal(err, 0);
    assert_int_equal(read_for(fd, in, sizeof in, 2000, NULL, &err), (ssize_t)sizeof in);
    assert_memory_equal(in, out, sizeof in);
    /* exactly byte 7 of the next answer flipped */
    fault_proxy_corrupt_next(c->proxy, FAULT_DOWN, 7, 0x41);
    assert_int_equal(send(fd, out, sizeof out, 0), (ssize_t)sizeof out);
    assert_int_equal(read_for(fd, in, sizeof in, 2000, NULL, &err), (ssize_t)sizeof in);
    for (size_t i = 0; i < sizeof in; i++)
        assert_int_equal(in[i], out[i] ^ (i == 7 ? 0x41 : 0));
    fault_counters n;
    fault_proxy_counters(c->proxy, &n);
    assert_int_equal(n.corrupted[FAULT_DOWN], 1);
    assert_int_equal(n.stalls[FAULT_DOWN], 1);
    assert_int_equal(n.dark_periods, 1);
    assert_true(n.dark_held_polls >= 1);
    close(fd);
}

static void test_refuse_and_back(void **state)
{
    ctx *c = *state;
    fault_proxy_refuse(c->proxy, true);
    assert_int_equal(dial(c), -ECONNREFUSED);
    fault_proxy_refuse(c->proxy, false);
    int fd = dial(c);
    assert_true(fd >= 0);
    uint8_t b[4] = {1, 2, 3, 4}, in[4];
    int err;
    assert_int_equal(send(fd, b, 4, 0), 4);
    assert_int_equal(read_for(fd, in, 4, 2000, NULL, &err), 4);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_clean_and_delay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_split_gives_single_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_and_reset_mid_frame, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stall_dark_and_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuse_and_back, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
