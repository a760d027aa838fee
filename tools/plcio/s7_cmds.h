/* S7 branches of the reading/writing commands (s7_cmds.c). argv[0] is the
 * command name, as for plcio_command.run. The cmd_*.c dispatchers pick the
 * branch from the URL scheme (plcio_cli_dispatch). */
#ifndef PLCIO_TOOL_S7_CMDS_H
#define PLCIO_TOOL_S7_CMDS_H

#include <string.h>

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
