/* A fake transport and a manual clock for the sans-I/O sessions: two ends
 * (a client session and a server session, or a scripted partner) joined by
 * an in-process byte pipe, run on a clock that only moves when the test says
 * so. Faults are set on the link:
 *   - chunk:    bytes move at most this many per step (partial frames);
 *   - silent[i]: what end i sends is swallowed (a partner that never answers);
 *   - cut_after[i]: the link resets once end i has sent this many bytes (a
 *     drop in the middle of a frame); fake_link_reset does it at once;
 *   - fake_link_inject: bytes put on the wire as if end i had sent them
 *     (garbage, answers out of order from a scripted partner).
 * A script end (ops NULL) takes what reaches it into `got` for the test to read.
 *
 *   fake_link l; fake_link_init(&l, 1000 * PLCIO_NS_PER_S);
 *   l.end[0] = fake_end_s7_client(sess); l.end[1] = fake_end_s7_server(&stream);
 *   fake_link_run(&l, l.now + 10 * PLCIO_NS_PER_MS);  // bytes move, deadlines fire
 *
 * Nothing here sleeps or touches a socket: a case runs the same every time. */
#ifndef PLCIO_TEST_FAKE_LINK_H
#define PLCIO_TEST_FAKE_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FAKE_LINK_CAP 65536

/* One end: a session behind these functions (NULL ops: a script end). */
typedef struct fake_end_ops {
    /* bytes arrived; *used: how many it took (the rest is retried later) */
    int (*feed)(void *s, const uint8_t *data, size_t len, uint64_t now, size_t *used);
    const uint8_t *(*tx)(void *s, size_t *len);
    int (*tx_done)(void *s, size_t sent, uint64_t now);
    uint64_t (*deadline)(void *s); /* 0: none */
    int (*on_time)(void *s, uint64_t now);
    void (*closed)(void *s, int err); /* the link went down */
} fake_end_ops;

typedef struct fake_end {
    const fake_end_ops *ops;
    void *s;
    int error;                  /* what the end failed with (it closed the link), 0 = none */
    uint8_t got[FAKE_LINK_CAP]; /* script end: what reached it */
    size_t got_len;
} fake_end;

typedef struct fake_link {
    uint64_t now;
    fake_end end[2];
    size_t chunk;        /* 0: no limit */
    bool silent[2];      /* what end i sends is lost */
    size_t cut_after[2]; /* reset once end i sent this many bytes (0: never) */
    size_t sent[2];      /* bytes end i put on the wire */
    bool down;
    int down_err;
    uint8_t wire[2][FAKE_LINK_CAP]; /* wire[i]: from end i to end 1-i, not delivered yet */
    size_t wire_len[2];
} fake_link;

void fake_link_init(fake_link *l, uint64_t now);
/* Move bytes and fire deadlines until nothing happens before `until`, the
 * clock then stands at `until` (or where the link went down). */
void fake_link_run(fake_link *l, uint64_t until);
/* As if end `from` had sent these bytes. */
void fake_link_inject(fake_link *l, int from, const void *data, size_t len);
/* The link goes down now: both ends see closed(err). */
void fake_link_reset(fake_link *l, int err);

/* Adapters for plcio's sessions (the pointers are s7_session *, s7srv_stream *,
 * mb_srv_stream *, fake_mb_client *). */
fake_end fake_end_s7_client(void *session);
fake_end fake_end_s7_server(void *stream);
fake_end fake_end_mb_server(void *stream);

/* A Modbus client session with its answer log. */
typedef struct fake_mb_client {
    void *session; /* mb_session * */
    int n;
    uint32_t token[64];
    int result[64];
    uint16_t first_reg[64]; /* first register of an FC 3/4 answer */
} fake_mb_client;
fake_end fake_end_mb_client(fake_mb_client *c);
/* The result logged for token (1 = not completed yet). */
int fake_mb_result(const fake_mb_client *c, uint32_t token);

#endif
