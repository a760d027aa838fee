/* Internals of the HTTP output (plcio/http.h): the server object, a growable
 * text buffer with JSON helpers, the strict JSON reader for writes, the
 * Server-Sent Events stream and the embedded console files. Everything runs on
 * the engine's thread. */
#ifndef PLCIO_SRC_OUT_HTTP_INTERNAL_H
#define PLCIO_SRC_OUT_HTTP_INTERNAL_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/log.h"
#include "plcio/http.h"
#include "plcio/loop.h"
#include "plcio/sink.h"
#include "plcio/sync.h"
#include "plcio/value.h"

/* ---- text buffer (http_json.c) ---- */
typedef struct hbuf {
    char *data;
    size_t len, cap;
    bool failed; /* out of memory once: the content is incomplete */
} hbuf;

void hbuf_put(hbuf *b, const void *p, size_t n);
void hbuf_puts(hbuf *b, const char *s);
void hbuf_printf(hbuf *b, const char *fmt, ...) PLCIO_PRINTF(2, 3);
/* A JSON string literal of s[0..n) (UTF-8 passed through, controls escaped). */
void hbuf_json_str(hbuf *b, const char *s, size_t n);
/* A Prometheus label value (backslash, quote and newline escaped). */
void hbuf_label(hbuf *b, const char *s);
void hbuf_free(hbuf *b);

/* A tag's raw PLC bytes as a JSON value: number, true/false, a string, or null
 * when they do not decode (or a REAL is not finite). scratch: >= HTTP_TEXT_MAX. */
#define HTTP_TEXT_MAX (3 * 16382 + 8)
void http_json_value(hbuf *b, const plcio_sink_tag *t, const uint8_t *raw, char *scratch);
/* The value as a number (BOOL 0/1), false for strings, dates and bad bytes. */
bool http_number(const plcio_sink_tag *t, const uint8_t *raw, double *out);
const char *http_quality_name(int quality);

/* ---- JSON reader for POST /api/write (http_json.c) ---- */
typedef struct http_write_item {
    char *tag;
    char *value; /* as text for plcio_sync_write: a number's literal, a string's content, true/false */
} http_write_item;

#define HTTP_WRITE_ITEMS_MAX 1000
/* {"Tag": value, ...} or [{"tag": "Tag", "value": value}, ...]; values are
 * numbers, strings or booleans. Strict: one document, no trailing data, depth
 * 3, no duplicate names, HTTP_WRITE_ITEMS_MAX items. err gets the position
 * and what is wrong. */
int http_parse_writes(const char *body, size_t len, http_write_item **items, size_t *count, char *err, size_t cap);
void http_write_items_free(http_write_item *items, size_t count);

/* ---- embedded console files (generated at build time: http_assets.c) ---- */
typedef struct http_asset {
    const char *path; /* "/", "/console.js" */
    const char *type; /* Content-Type */
    const unsigned char *data;
    size_t size;
} http_asset;
extern const http_asset http_assets[];
extern const size_t http_asset_count;

/* ---- Server-Sent Events (http_sse.c) ---- */
/* The stream every client reads: a chain of shared blocks; each holds a
 * reference on its successor, the server on the newest, a client on the one
 * it is reading. A block is freed when the last reader has passed it. */
typedef struct sse_block {
    struct sse_block *next;
    unsigned refs;
    uint64_t start; /* offset of data[0] in the stream */
    size_t len;
    char data[];
} sse_block;

typedef struct sse_client {
    struct sse_client *prev, *next;
    struct plcio_http *h;
    struct MHD_Connection *conn;
    sse_block *block;
    size_t off;
    char hello[64];
    size_t hello_len, hello_off;
    bool suspended, dropped;
} sse_client;

/* One write request waiting for its results. */
typedef struct http_write_result {
    struct http_req *req;
    int code;
    char message[160];
    bool done;
} http_write_result;

typedef enum http_req_state { REQ_NEW, REQ_BODY, REQ_WRITING, REQ_WRITTEN } http_req_state;

typedef struct http_req {
    struct plcio_http *h;
    struct MHD_Connection *conn;
    http_req_state state;
    hbuf body;
    bool too_big;
    http_write_item *items;
    size_t item_count, pending;
    http_write_result *results;
    bool suspended;
    struct http_req *prev_suspended, *next_suspended;
} http_req;

#define HTTP_CODES 8 /* counted status codes: 200 400 401 403 404 405 413 other */

struct plcio_http {
    plcio_logger logger;
    char *listen, *cors_origin;
    char *token;
    size_t token_len;
    bool writes, read_auth, tag_metrics;
    bool loopback; /* listening on loopback: only loopback Host names are served (DNS rebinding) */
    size_t body_max, sse_lag_max;
    unsigned max_clients, write_queue_ms;
    char *cert_pem, *key_pem;
    unsigned char addr[28]; /* struct sockaddr_in / _in6 */
    unsigned addr_len;
    unsigned port;
    /* the engine */
    plcio_sync *sync;
    plcio_loop *loop;
    bool sink_open, started, closing;
    struct MHD_Daemon *daemon;
    int epoll_fd;
    uint64_t timer, timer_deadline, ping_timer;
    /* the latest image, from TAG events */
    const plcio_sink_tag *tags;
    size_t tag_count;
    uint8_t *image;
    size_t *offset; /* of each tag's bytes in image */
    uint8_t *quality;
    int *reason;
    uint64_t *read_ns, *changed_ns;
    bool *pending_flag;
    size_t *pending;
    size_t pending_count;
    char *scratch; /* HTTP_TEXT_MAX */
    /* SSE */
    sse_block *tail;
    uint64_t stream_bytes;
    sse_client *clients;
    size_t client_count;
    uint64_t sse_dropped;
    http_req *suspended_reqs;
    /* counters for /metrics */
    uint64_t responses[HTTP_CODES];
    uint64_t writes_ok, writes_failed;
};

/* http_server.c: run MHD soon (after resuming a connection outside its callbacks) */
void http_kick(plcio_http *h);
/* http_sse.c */
int sse_init(plcio_http *h);
void sse_append(plcio_http *h, const char *data, size_t len);
/* Every client resumed and told to end (before the daemon stops). */
void sse_close_all(plcio_http *h);
void sse_free(plcio_http *h);
enum MHD_Result sse_start(plcio_http *h, struct MHD_Connection *conn);
void sse_round(plcio_http *h);
void sse_device(plcio_http *h, const plcio_sink_event *ev);
void sse_write_result(plcio_http *h, const plcio_sink_event *ev);

/* http_api.c: the routes */
enum MHD_Result http_route(plcio_http *h, http_req *req, struct MHD_Connection *conn, const char *url,
                           const char *method);
enum MHD_Result http_respond(plcio_http *h, struct MHD_Connection *conn, unsigned status, const char *type,
                             const void *data, size_t len);
enum MHD_Result http_error(plcio_http *h, struct MHD_Connection *conn, unsigned status, const char *fmt, ...)
    PLCIO_PRINTF(4, 5);
void http_add_common_headers(const plcio_http *h, struct MHD_Response *r);
/* http_metrics.c */
void http_metrics(plcio_http *h, hbuf *out);

#endif
