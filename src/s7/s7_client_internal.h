/* Internals shared by the S7 client's source files. */
#ifndef PLCIO_S7_CLIENT_INTERNAL_H
#define PLCIO_S7_CLIENT_INTERNAL_H

#include "plcio/s7.h"
#include "s7/s7_codec.h"
#include "s7/s7_session.h"

/* A request that may need several passes (a read retried unmerged), run
 * blocking (s7c_run_job) or from an event loop (s7c_async_submit). */
typedef int (*s7c_encode_fn)(plcio_s7_client *c, void *ctx, size_t index, s7_out *out, uint16_t ref);
typedef int (*s7c_decode_fn)(plcio_s7_client *c, void *ctx, size_t index, const s7_pdu *pdu);
typedef struct s7c_job_ops {
    int (*prepare)(plcio_s7_client *c, void *job); /* build the PDUs of a pass (connection ready) */
    size_t (*count)(void *job);                    /* PDUs in the pass */
    void *(*ctx)(void *job);                       /* handed to encode / decode */
    s7c_encode_fn encode;
    s7c_decode_fn decode;
    int (*complete)(plcio_s7_client *c, void *job, int rc); /* PLCIO_EAGAIN: run another pass */
    void (*destroy)(void *job);
} s7c_job_ops;

struct rw_job;

/* The pipelined exchange of `count` requests. */
typedef struct s7c_exec {
    size_t count, next, done;
    int slot_of[PLCIO_S7_SESSION_MAX_JOBS];
    int first_err;
    s7c_encode_fn enc;
    s7c_decode_fn dec;
    void *ctx;
} s7c_exec;

struct plcio_s7_client {
    plcio_s7_client_options opt;
    char host[256];
    int fd;
    s7_session *session;
    bool want_connected;
    bool ever_connected;
    int backoff_ms;
    uint64_t next_attempt_ns;
    plcio_error *last; /* the last failure: code and one line (NULL until the first, s7c_fail) */
    char reason[160];
    uint16_t s7_error;
    uint8_t item_code;
    /* event-loop mode */
    bool in_report;  /* asking for a DB's size inside an error report */
    bool in_async;   /* completing an async job: no nested blocking calls */
    bool connecting; /* non-blocking TCP connect in progress */
    uint64_t connect_deadline;
    uint64_t last_activity_ns; /* last bytes received */
    bool rx_unacked;           /* TCP: bytes read since our last send (see net_tcp_quickack) */
    uint64_t wait_until;       /* s7c_pump: also wait for input until then (partner jobs) */
    bool heartbeat_job;        /* the async job is our own heartbeat */
    bool no_recv;              /* s7c_process_send: this process() does not read */
    const s7c_job_ops *aops;   /* the async job, NULL when none */
    void *ajob;
    bool aprepared;
    s7c_exec aexec;
    plcio_s7_done_fn adone;
    void *adone_ctx;
    struct rw_job *rw_spare; /* a read/write job and its buffers, reused request after request */
};

/* Forget the last failure's text (its code stays). */
void s7c_clear_text(plcio_s7_client *c);
/* Connect or reconnect as the options allow; clears the last error. */
int s7c_ready(plcio_s7_client *c);
/* Send `count` requests, as many in flight as the session allows, and hand
 * every answer to dec. Returns the first error dec returned, or a
 * connection error (then the message is set). */
int s7c_run(plcio_s7_client *c, size_t count, s7c_encode_fn enc, s7c_decode_fn dec, void *ctx);
int s7c_pump(plcio_s7_client *c);
/* plcio_s7_client_process for a caller that knows nothing arrived (it read
 * until the socket was empty, or the socket's readiness did not fire): it
 * sends what is queued without a read that would only return EAGAIN. What
 * arrives meanwhile keeps the socket readable for the next process(). */
int s7c_process_send(plcio_s7_client *c);
/* Run a job to the end, blocking. */
int s7c_run_job(plcio_s7_client *c, const s7c_job_ops *ops, void *job);
/* Queue a job for the event loop (one at a time: PLCIO_EBUSY). The job is
 * destroyed by the client after `done` ran. */
int s7c_async_submit(plcio_s7_client *c, const s7c_job_ops *ops, void *job, plcio_s7_done_fn done, void *ctx);
/* Free the client's spare read/write job (plcio_s7_client_free). */
void s7c_rw_spare_free(plcio_s7_client *c);
/* Set the message (printf) and return rc. */
int s7c_fail(plcio_s7_client *c, int rc, const char *fmt, ...) PLCIO_PRINTF(3, 4);
/* PLCIO_EPLC with the header error named. */
int s7c_error_from_pdu(plcio_s7_client *c, const s7_pdu *pdu, const char *what);

#endif
