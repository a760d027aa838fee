/* The sync engine's HTTP output: web console, REST API, Server-Sent Events and
 * Prometheus metrics, served from the engine's own event loop (no thread per
 * client, no thread at all: libmicrohttpd in external epoll mode).
 *
 *   plcio_http *h;
 *   plcio_http_options ho = {.listen = "127.0.0.1:8080"};
 *   plcio_http_new(&ho, &h, &err);                 // checks options, reads the token
 *   plcio_sync_sink reg;
 *   plcio_http_sink(h, &reg);                      // -> plcio_sync_options.sinks
 *   plcio_sync_new(cfg, &opts, &s, ...);
 *   plcio_http_start(h, s, &err);                  // binds, serves on s's loop
 *   ... plcio_sync_run(s) ...
 *   plcio_sync_free(s);                            // stops serving (sink close)
 *   plcio_http_free(h);
 *
 * Who can do what (docs/http.md): everyone who reaches the address can read
 * (GET) unless read_auth, which asks every request for the bearer token; POST
 * /api/write is refused (403) unless `writes`, and then needs the token
 * (`Authorization: Bearer TOKEN`, compared in constant time). No cookies, no
 * CORS headers unless cors_origin. Listening beyond the loopback interface
 * requires TLS (tls_cert and tls_key); without it plcio_http_new refuses.
 *
 * Threads: everything runs on the engine's thread; the handle must not be used
 * from another thread once started. */
#ifndef PLCIO_HTTP_H
#define PLCIO_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "plcio/core.h"
#include "plcio/export.h"
#include "plcio/sink.h"
#include "plcio/sync.h"

PLCIO_BEGIN_DECLS

typedef struct plcio_http plcio_http;

typedef struct plcio_http_options {
    const char *listen;      /* "HOST:PORT" (IPv4 or [IPv6]); NULL: "127.0.0.1:8080"; port 0 picks one */
    const char *token;       /* the bearer token itself, or NULL */
    const char *token_file;  /* or a file holding it (first line; surrounding blanks dropped) */
    const char *token_env;   /* or an environment variable holding it */
    bool writes;             /* allow POST /api/write (needs a token) */
    bool read_auth;          /* every request needs the token (needs a token) */
    const char *tls_cert;    /* PEM certificate file: serve HTTPS */
    const char *tls_key;     /* its PEM private key file */
    const char *cors_origin; /* Access-Control-Allow-Origin for this one origin; NULL: no CORS */
    bool tag_metrics;        /* /metrics also carries one series per numeric tag */
    size_t body_max;         /* request body limit in bytes; 0: 65536 */
    size_t sse_lag_max;      /* bytes an SSE client may fall behind before it is dropped; 0: 4 MiB */
    unsigned max_clients;    /* simultaneous connections; 0: 128 */
    unsigned write_queue_ms; /* how long a write waits for its device to come back; 0: fail at once */
    plcio_logger logger;     /* fn NULL: process default */
} plcio_http_options;

/* Check the options and read the token. Errors (with err filled): PLCIO_EINVAL
 * (bad listen address, writes or read_auth without a token, a non-loopback
 * address without TLS, only one of cert/key), PLCIO_ENOTFOUND (token file or
 * variable missing or empty), PLCIO_EIO (a file cannot be read). *out: free
 * with plcio_http_free. */
PLCIO_API int plcio_http_new(const plcio_http_options *opts, plcio_http **out, plcio_error *err);
/* The registration to put into plcio_sync_options.sinks (an inline sink: it
 * keeps its own copy of the latest values and never blocks the engine). */
PLCIO_API void plcio_http_sink(plcio_http *h, plcio_sync_sink *out);
/* Bind the address and serve on the engine's loop. Call once, after
 * plcio_sync_new with the sink registered. Errors: PLCIO_EIO (cannot bind or
 * start; err says why), PLCIO_ESTATE (sink not registered, or started). */
PLCIO_API int plcio_http_start(plcio_http *h, plcio_sync *s, plcio_error *err);
/* The port it listens on (after start; useful with port 0), else 0. */
PLCIO_API unsigned plcio_http_port(const plcio_http *h);
/* "http" or "https". */
PLCIO_API const char *plcio_http_scheme(const plcio_http *h);
/* Free; call after plcio_sync_free (which stops serving). NULL: no-op. */
PLCIO_API void plcio_http_free(plcio_http *h);

PLCIO_END_DECLS

#endif
