/* Modbus branches of the reading/writing commands (modbus_cmds.c), picked by
 * the cmd_*.c dispatchers for modbus-* URLs. argv[0] is the command name. */
#ifndef PLCIO_TOOL_MODBUS_CMDS_H
#define PLCIO_TOOL_MODBUS_CMDS_H

#include <string.h>

int modbus_cli_read(int argc, char **argv);
int modbus_cli_write(int argc, char **argv);
int modbus_cli_watch(int argc, char **argv);
int modbus_cli_info(int argc, char **argv);
int modbus_cli_diag(int argc, char **argv);

/* modbus-tcp://, modbus-udp://, modbus-rtu://, modbus-ascii:// */
static inline int plcio_cli_scheme_is_modbus(const char *url)
{
    return url && !strncmp(url, "modbus", 6) && strstr(url, "://") != NULL;
}

#endif
