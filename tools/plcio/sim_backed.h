/* The --backed SPEC of plcio sim modbus and plcio sim s7 (sim_backed.c):
 * NAME:START:COUNT=URL[?query], where the query holds the simulator's own
 * parameters (max-age=, write-through=, ...) beside the client URL's. */
#ifndef PLCIO_TOOL_SIM_BACKED_H
#define PLCIO_TOOL_SIM_BACKED_H

#include <stddef.h>

typedef struct sim_backed_spec {
    char head[64];             /* NAME, NUL-terminated; START and COUNT follow in the same buffer */
    const char *start, *count; /* the text of START and COUNT, into head */
    const char *rest;          /* URL[?query], into the spec */
    char url[1024];            /* after sim_backed_query: the URL with the client's parameters only */
} sim_backed_spec;

/* Split spec into NAME, START and COUNT: PLCIO_EXIT_OK, or PLCIO_EXIT_USAGE
 * with "--backed SPEC: want FORM=URL" printed (FORM e.g. "TABLE:START:COUNT"). */
int sim_backed_split(const char *spec, const char *form, sim_backed_spec *out);

/* One of the simulator's parameters: kv is "name=value" (a copy the callee
 * may change), val points past its '='. PLCIO_EXIT_OK or PLCIO_EXIT_USAGE
 * with the message printed. */
typedef int (*sim_backed_param_fn)(void *ctx, const char *spec, char *kv, char *val);

/* Hand the query parameters whose names are in ours ("max-age=", ...,
 * NULL-terminated) to param; the others stay in out->url. PLCIO_EXIT_OK or
 * the first error. */
int sim_backed_query(const char *spec, const char *const *ours, sim_backed_param_fn param, void *ctx,
                     sim_backed_spec *out);

#endif
