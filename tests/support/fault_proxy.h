/* A fault-injecting TCP proxy for tests: listens on 127.0.0.1 (port picked by
 * the kernel), forwards every connection to 127.0.0.1:target, and breaks the
 * link on demand, per direction, while it runs (kernel netem is not available
 * on every machine, and a proxy knows exactly which byte it broke).
 *
 * It runs in a thread of the test process: it ends with the test, at the
 * latest after `max_seconds`, and fault_proxy_stop (NULL-safe, for teardowns)
 * closes every socket and joins it. Every setter is thread-safe, takes effect
 * at once (it wakes the thread) and applies to every connection.
 *
 * Directions: FAULT_UP carries the client's requests to the server,
 * FAULT_DOWN the server's answers to the client. Byte counts are per
 * direction over all connections; "the next bytes" count from the moment of
 * the call. */
#ifndef PLCIO_TEST_FAULT_PROXY_H
#define PLCIO_TEST_FAULT_PROXY_H

#include <stdbool.h>
#include <stdint.h>

typedef enum fault_dir { FAULT_UP = 0, FAULT_DOWN = 1 } fault_dir;

typedef struct fault_counters {
    uint64_t accepted;         /* connections accepted (and forwarded) */
    uint64_t target_refused;   /* accepted, but the target refused: closed with RST */
    uint64_t open;             /* connections open now */
    uint64_t bytes_in[2];      /* read from the sender */
    uint64_t bytes_out[2];     /* delivered to the receiver */
    uint64_t delayed[2];       /* chunks held back by an added delay */
    uint64_t stalls[2];        /* stalls started */
    uint64_t stalled_bytes[2]; /* bytes that arrived while a stall held its direction */
    uint64_t corrupted[2];     /* bytes flipped */
    uint64_t single_writes[2]; /* one-byte writes made by split mode */
    uint64_t cuts;             /* connections closed (FIN both ways) mid-stream by cut_after */
    uint64_t resets;           /* connections reset (RST both ways) by reset_after */
    uint64_t dark_periods;     /* dark links started */
    uint64_t dark_held_polls;  /* loop rounds in which a dark link held traffic back */
    uint64_t refuse_periods;   /* times the listener was closed */
    uint64_t peer_resets;      /* connections that one side reset (propagated as RST) */
} fault_counters;

typedef struct fault_proxy fault_proxy;

/* Start forwarding 127.0.0.1:<port> -> 127.0.0.1:target_port. NULL on failure. */
fault_proxy *fault_proxy_start(int target_port, int max_seconds);
/* The port clients connect to. */
int fault_proxy_port(const fault_proxy *p);
/* Close everything and join the thread. NULL: no-op. */
void fault_proxy_stop(fault_proxy *p);

/* Every fault off: no delay, stalls and dark link end now, no corruption,
 * no split, cuts disarmed, listener open again. Queued bytes flow on. */
void fault_proxy_clear(fault_proxy *p);
/* Every chunk read in `dir` is delivered `ms` later (0: off). */
void fault_proxy_delay(fault_proxy *p, fault_dir dir, int ms);
/* Hold everything in `dir` for `ms` from now, then deliver it (reading goes on). */
void fault_proxy_stall(fault_proxy *p, fault_dir dir, int ms);
/* Flip bytes in `dir` with probability `rate` each (xor with a non-zero byte
 * from a xorshift PRNG seeded with `seed`): the same seed flips the same bytes
 * of the same stream. rate 0: off. */
void fault_proxy_corrupt_rate(fault_proxy *p, fault_dir dir, double rate, uint32_t seed);
/* XOR the k-th byte (0-based) of what is read next in `dir` with `mask`, once. */
void fault_proxy_corrupt_next(fault_proxy *p, fault_dir dir, uint64_t k, uint8_t mask);
/* Deliver `dir` one byte per write, TCP_NODELAY set and `gap_us` apart, so the
 * receiver gets them in separate segments. gap_us 0: off. */
void fault_proxy_split(fault_proxy *p, fault_dir dir, int gap_us);
/* After `n` more bytes delivered in `dir`, close the connection that carried
 * them, both sides (FIN): a frame cut in the middle when n falls inside it. */
void fault_proxy_cut_after(fault_proxy *p, fault_dir dir, uint64_t n);
/* The same with SO_LINGER 0: both sides get an RST, unread data is lost. */
void fault_proxy_reset_after(fault_proxy *p, fault_dir dir, uint64_t n);
/* Dark link for `ms`: nothing is read, written or accepted in either
 * direction, nothing is closed; afterwards everything resumes. */
void fault_proxy_dark(fault_proxy *p, int ms);
/* true: close the listening socket (new connections are refused: ECONNREFUSED);
 * false: listen on the same port again. Open connections are not touched. */
void fault_proxy_refuse(fault_proxy *p, bool on);
/* Close every open connection now (rst: with RST). */
void fault_proxy_drop_all(fault_proxy *p, bool rst);

void fault_proxy_counters(fault_proxy *p, fault_counters *out);
/* True once the armed cut/reset of `dir` has fired (or none is armed). */
bool fault_proxy_cut_fired(fault_proxy *p, fault_dir dir);

#endif
