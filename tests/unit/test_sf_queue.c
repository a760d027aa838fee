/* The store-and-forward queue (src/sync/sf_queue.h): order kept, bound held
 * (new items refused and counted when full, the queued ones untouched), a
 * failed send loses nothing (peek without pop), the consumer wakes on a full
 * batch, on its timeout and on close, and many producers lose nothing. */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "plcio_test.h"
#include "sync/sf_queue.h"

static int freed;
static void free_int(void *item)
{
    freed++;
    free(item);
}

static int *num(int v)
{
    int *p = malloc(sizeof *p);
    assert_non_null(p);
    *p = v;
    return p;
}

static void test_order_bound_and_drops(void **state)
{
    (void)state;
    freed = 0;
    assert_null(sf_queue_new(0, NULL));
    sf_queue *q = sf_queue_new(4, free_int);
    assert_non_null(q);
    for (int i = 0; i < 4; i++)
        assert_true(sf_queue_push(q, num(i)));
    int *extra = num(99);
    assert_false(sf_queue_push(q, extra)); /* full: refused, still ours */
    free(extra);
    void *items[8];
    assert_int_equal(sf_queue_peek(q, items, 8), 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(*(int *)items[i], i);
    /* a failed send: nothing popped, the same items come again */
    assert_int_equal(sf_queue_peek(q, items, 2), 2);
    assert_int_equal(*(int *)items[0], 0);
    sf_queue_pop(q, 2);
    assert_int_equal(freed, 2);
    /* room again: order goes on across the ring's wrap */
    assert_true(sf_queue_push(q, num(4)));
    assert_true(sf_queue_push(q, num(5)));
    assert_int_equal(sf_queue_peek(q, items, 8), 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(*(int *)items[i], i + 2);
    sf_queue_stats st;
    sf_queue_get_stats(q, &st);
    assert_int_equal(st.pushed, 6);
    assert_int_equal(st.popped, 2);
    assert_int_equal(st.dropped, 1);
    assert_int_equal(st.depth, 4);
    assert_int_equal(st.peak, 4);
    assert_int_equal(st.capacity, 4);
    sf_queue_pop(q, 100); /* more than queued: all of them */
    assert_int_equal(sf_queue_peek(q, items, 8), 0);
    assert_true(sf_queue_push(q, num(6)));
    sf_queue_free(q); /* frees what is left */
    assert_int_equal(freed, 7);
    sf_queue_free(NULL);
}

static void test_wait_timeout_and_close(void **state)
{
    (void)state;
    sf_queue *q = sf_queue_new(8, free);
    assert_non_null(q);
    assert_int_equal(sf_queue_wait(q, 3, 0), 0);  /* no wait */
    assert_int_equal(sf_queue_wait(q, 3, 20), 0); /* times out */
    assert_true(sf_queue_push(q, num(1)));
    assert_int_equal(sf_queue_wait(q, 1, -1), 1); /* already there */
    assert_int_equal(sf_queue_wait(q, 100, 20), 1);
    sf_queue_close(q);
    assert_true(sf_queue_closed(q));
    assert_int_equal(sf_queue_wait(q, 5, -1), 1); /* closed: returns at once */
    int *late = num(2);
    assert_false(sf_queue_push(q, late));
    free(late);
    sf_queue_free(q);
}

#define PRODUCERS    4
#define PER_PRODUCER 20000

typedef struct producer {
    sf_queue *q;
    int id;
} producer;

static void *produce(void *arg)
{
    producer *p = arg;
    for (int i = 0; i < PER_PRODUCER; i++) {
        int *v = malloc(sizeof *v);
        if (!v) abort();
        *v = p->id * PER_PRODUCER + i;
        while (!sf_queue_push(p->q, v))
            sched_yield(); /* full: the consumer is behind; try again */
    }
    return NULL;
}

/* Producers on their threads, one consumer that waits for batches: every item
 * arrives once, and each producer's items in its order. */
static void test_threads_lose_nothing(void **state)
{
    (void)state;
    sf_queue *q = sf_queue_new(1000, free);
    assert_non_null(q);
    pthread_t th[PRODUCERS];
    producer pr[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++) {
        pr[i] = (producer){q, i};
        assert_int_equal(pthread_create(&th[i], NULL, produce, &pr[i]), 0);
    }
    int next[PRODUCERS] = {0};
    size_t total = 0;
    void *items[256];
    while (total < (size_t)PRODUCERS * PER_PRODUCER) {
        sf_queue_wait(q, 256, 10);
        size_t n = sf_queue_peek(q, items, 256);
        for (size_t i = 0; i < n; i++) {
            int v = *(int *)items[i];
            int who = v / PER_PRODUCER;
            assert_int_equal(v % PER_PRODUCER, next[who]);
            next[who]++;
        }
        sf_queue_pop(q, n);
        total += n;
    }
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(th[i], NULL);
    sf_queue_stats st;
    sf_queue_get_stats(q, &st);
    assert_int_equal(st.popped, (uint64_t)PRODUCERS * PER_PRODUCER);
    assert_true(st.peak <= 1000);
    sf_queue_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_bound_and_drops),
        cmocka_unit_test(test_wait_timeout_and_close),
        cmocka_unit_test(test_threads_lose_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
