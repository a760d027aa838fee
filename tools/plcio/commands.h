/* plcio sub-commands: one file per command (tools/plcio/cmd_<name>.c), each
 * defining one plcio_command with its option table (options.h). To add a
 * command: define it, declare it here, list it in main.c's table. The CLI
 * uses the public API only. */
#ifndef PLCIO_TOOL_COMMANDS_H
#define PLCIO_TOOL_COMMANDS_H

#include "options.h"

/* Exit status contract (DESIGN.md): 0 ok, 1 device or protocol error, 2 bad usage. */
enum { PLCIO_EXIT_OK = 0, PLCIO_EXIT_FAILURE = 1, PLCIO_EXIT_USAGE = 2 };

typedef struct plcio_command {
    const cli_spec *spec; /* name, arguments, options: what --help, man and completion show */
    /* argv as options_normalize leaves it (canonical options, each followed by
     * its value); argv[0] is the command name ("sim": argv[1] the protocol). */
    int (*run)(int argc, char **argv);
} plcio_command;

extern const plcio_command plcio_cmd_version;
extern const plcio_command plcio_cmd_layout;
extern const plcio_command plcio_cmd_browse;
extern const plcio_command plcio_cmd_sim;
extern const plcio_command plcio_cmd_read;
extern const plcio_command plcio_cmd_write;
extern const plcio_command plcio_cmd_watch;
extern const plcio_command plcio_cmd_info;
extern const plcio_command plcio_cmd_blocks;
extern const plcio_command plcio_cmd_control;
extern const plcio_command plcio_cmd_clock;
extern const plcio_command plcio_cmd_szl;
extern const plcio_command plcio_cmd_upload;
extern const plcio_command plcio_cmd_download;
extern const plcio_command plcio_cmd_delete;
extern const plcio_command plcio_cmd_diag;
extern const plcio_command plcio_cmd_sync;
extern const plcio_command plcio_cmd_demo;
extern const plcio_command plcio_cmd_shm;
extern const plcio_command plcio_cmd_gateway;
extern const plcio_command plcio_cmd_partner;

#endif
