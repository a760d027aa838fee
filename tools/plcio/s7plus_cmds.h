/* s7plus:// (and s7://...?protocol=plus|auto) branches of plcio read / write /
 * watch / info (s7plus_cmds.c). */
#ifndef PLCIO_TOOL_S7PLUS_CMDS_H
#define PLCIO_TOOL_S7PLUS_CMDS_H

int s7plus_cli_read(int argc, char **argv);
int s7plus_cli_write(int argc, char **argv);
int s7plus_cli_watch(int argc, char **argv);
int s7plus_cli_info(int argc, char **argv);

#endif
