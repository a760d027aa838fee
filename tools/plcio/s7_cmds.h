/* S7 branches of the reading/writing commands (s7_cmds.c). argv[0] is the
 * command name, as for plcio_command.run. The cmd_*.c dispatchers pick the
 * branch from the URL scheme (plcio_cli_dispatch). */
#ifndef PLCIO_TOOL_S7_CMDS_H
#define PLCIO_TOOL_S7_CMDS_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "plcio/s7.h"

/* How to reach the PLC: the URL and the options every S7 command takes
 * (--timeout, --password). */
typedef struct s7_conn {
    const char *url;
    long timeout_ms; /* 0: the URL's or the default */
    const char *password;
} s7_conn;

/* The URL, --json (json NULL: not taken) and the connection options of a
 * normalized argv; other positional arguments go to rest (at most cap; rest
 * NULL: none allowed). Usage errors are reported. */
int s7_conn_args(int argc, char **argv, s7_conn *conn, bool *json, const char **rest, size_t cap, size_t *n_rest);
/* Connect (and send the password); errors reported, *out freed by the caller. */
int s7_open_client(const s7_conn *conn, bool reconnect, plcio_s7_client **out);

int s7_cli_read(int argc, char **argv);
int s7_cli_write(int argc, char **argv);
int s7_cli_watch(int argc, char **argv);
int s7_cli_info(int argc, char **argv);
int s7_cli_blocks(int argc, char **argv);
int s7_cli_control(int argc, char **argv);
int s7_cli_clock(int argc, char **argv);
int s7_cli_szl(int argc, char **argv);
int s7_cli_upload(int argc, char **argv);
int s7_cli_download(int argc, char **argv);
int s7_cli_delete(int argc, char **argv);

static inline int plcio_cli_scheme_is(const char *url, const char *scheme)
{
    size_t n = strlen(scheme);
    return url && !strncmp(url, scheme, n) && !strncmp(url + n, "://", 3);
}

#endif
