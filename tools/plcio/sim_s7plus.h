/* `plcio sim s7` answers S7CommPlus on the same port, as an S7-1500 does:
 * the glue between the S7 server (plcio/s7_server.h: handoff) and the
 * S7CommPlus server side (plcio/s7plus.h), serving the S7 server's areas. */
#ifndef PLCIO_TOOL_SIM_S7PLUS_H
#define PLCIO_TOOL_SIM_S7PLUS_H

#include <stdbool.h>

#include "plcio/s7_server.h"
#include "plcio/s7plus.h"

typedef struct sim_s7plus {
    bool off;             /* --no-s7plus */
    bool tls_only;        /* --s7plus-tls-only: refuse V1 sessions without TLS */
    const char *cert;     /* --s7plus-cert FILE */
    const char *key;      /* --s7plus-key FILE */
    const char *cert_out; /* --s7plus-cert-out FILE: write the certificate clients should trust */
    plcio_s7plus_server *server;
    plcio_s7_server *s7;             /* set once the S7 server exists */
    const plcio_layout_set *symbols; /* optimized DBs served by symbol (NULL: none) */
    const unsigned *symbol_numbers;
    const plcio_s7plus_tag *tags; /* PLC tags served by symbol (NULL: none) */
    size_t ntags;
} sim_s7plus;

/* One of the options above at argv[*i]: *taken, or a usage status. */
int sim_s7plus_option(int argc, char **argv, int *i, sim_s7plus *p, bool *taken);
/* Before plcio_s7_server_new: make the S7CommPlus side and hook it into cfg.
 * Prints the certificate fingerprint. A CLI exit status. */
int sim_s7plus_attach(sim_s7plus *p, plcio_s7_server_options *cfg, const char *host);
void sim_s7plus_free(sim_s7plus *p);

#endif
