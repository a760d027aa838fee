/* `plcio sync --http ...`: the web console, REST API and /metrics
 * (plcio/http.h), from the command line or the config's http: section. */
#ifndef PLCIO_TOOL_SYNC_HTTP_H
#define PLCIO_TOOL_SYNC_HTTP_H

#include <stdbool.h>

#include "options.h"
#include "plcio/http.h"

typedef struct sync_http_args {
    const char *listen, *token_file, *token_env, *cert, *key, *cors;
    bool writes, read_auth, tag_metrics;
} sync_http_args;

#define SYNC_HTTP_USAGE                                                                                                \
    "       --http HOST:PORT: web console, REST API and /metrics (docs/http.md), off by default;\n"                    \
    "       --http-token-file FILE | --http-token-env VAR: the bearer token; --http-writes: allow POST /api/write;\n"  \
    "       --http-read-auth: reads need the token too; --http-cert FILE --http-key FILE: HTTPS (required beyond\n"    \
    "       loopback); --http-cors ORIGIN; --http-tag-metrics: one /metrics series per numeric tag"

/* The --http options' rows of plcio sync's option table (options.h). */
#define SYNC_HTTP_OPT_ROWS                                                                                             \
    {"--http", "HOST:PORT", "web console, REST API and /metrics (docs/http.md); off by default", 0},                   \
        {"--http-token-file", "FILE", "the bearer token, from a file", CLI_OPT_FILE},                                  \
        {"--http-token-env", "VAR", "the bearer token, from an environment variable", 0},                              \
        {"--http-writes", NULL, "allow POST /api/write", 0},                                                           \
        {"--http-read-auth", NULL, "reads need the token too", 0},                                                     \
        {"--http-cert", "FILE", "HTTPS certificate (required beyond loopback)", CLI_OPT_FILE},                         \
        {"--http-key", "FILE", "HTTPS key", CLI_OPT_FILE}, {"--http-cors", "ORIGIN", "allowed CORS origin", 0},        \
    {                                                                                                                  \
        "--http-tag-metrics", NULL, "one /metrics series per numeric tag", 0                                           \
    }

/* argv[*i] is one of the --http options: take it (true), a missing value sets *bad. */
bool sync_http_arg(int argc, char **argv, int *i, sync_http_args *a, bool *bad);
/* Build the server from the config's http: section with the command line on
 * top; *out stays NULL when neither asks for HTTP. Returns an exit status. */
int sync_http_setup(const sync_http_args *a, const plcio_sync_config *cfg, const plcio_logger *logger,
                    plcio_http **out);
/* Serve on the engine's loop and say where; returns an exit status. */
int sync_http_start(plcio_http *h, plcio_sync *s);

#endif
