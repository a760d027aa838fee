#include "sync_http.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

bool sync_http_arg(int argc, char **argv, int *i, sync_http_args *a, bool *bad)
{
    if (cli_option(argc, argv, i, "--http", &a->listen, bad) ||
        cli_option(argc, argv, i, "--http-token-file", &a->token_file, bad) ||
        cli_option(argc, argv, i, "--http-token-env", &a->token_env, bad) ||
        cli_option(argc, argv, i, "--http-cert", &a->cert, bad) ||
        cli_option(argc, argv, i, "--http-key", &a->key, bad) ||
        cli_option(argc, argv, i, "--http-cors", &a->cors, bad))
        return true;
    bool *flag = !strcmp(argv[*i], "--http-writes")        ? &a->writes
                 : !strcmp(argv[*i], "--http-read-auth")   ? &a->read_auth
                 : !strcmp(argv[*i], "--http-tag-metrics") ? &a->tag_metrics
                                                           : NULL;
    if (flag) *flag = true;
    return flag != NULL;
}

int sync_http_setup(const sync_http_args *a, const plcio_sync_config *cfg, const plcio_logger *logger, plcio_http **out)
{
    *out = NULL;
    const plcio_sync_http_spec *c = &cfg->http;
    bool extra =
        a->token_file || a->token_env || a->cert || a->key || a->cors || a->writes || a->read_auth || a->tag_metrics;
    if (!a->listen && !c->present) {
        if (extra) return cli_error(PLCIO_EXIT_USAGE, "the --http-* options go with --http HOST:PORT");
        return PLCIO_EXIT_OK;
    }
    plcio_http_options o;
    memset(&o, 0, sizeof o);
    o.listen = a->listen ? a->listen : c->listen;
    o.token_file = a->token_file ? a->token_file : a->token_env ? NULL : c->token_file;
    o.token_env = a->token_env ? a->token_env : a->token_file ? NULL : c->token_env;
    o.writes = a->writes || c->writes;
    o.read_auth = a->read_auth || c->read_auth;
    o.tag_metrics = a->tag_metrics || c->tag_metrics;
    o.tls_cert = a->cert ? a->cert : c->tls_cert;
    o.tls_key = a->key ? a->key : c->tls_key;
    o.cors_origin = a->cors ? a->cors : c->cors_origin;
    o.logger = *logger;
    plcio_error err;
    plcio_error_clear(&err);
    int rc = plcio_http_new(&o, out, &err);
    if (rc != PLCIO_OK) return cli_error(PLCIO_EXIT_USAGE, "%s", err.text[0] ? err.text : plcio_strerror(rc));
    return PLCIO_EXIT_OK;
}

int sync_http_start(plcio_http *h, plcio_sync *s)
{
    plcio_error err;
    plcio_error_clear(&err);
    int rc = plcio_http_start(h, s, &err);
    if (rc != PLCIO_OK) return cli_error(PLCIO_EXIT_FAILURE, "%s", err.text[0] ? err.text : plcio_strerror(rc));
    printf("http: console, REST API and /metrics on port %u (%s)\n", plcio_http_port(h), plcio_http_scheme(h));
    fflush(stdout);
    return PLCIO_EXIT_OK;
}
