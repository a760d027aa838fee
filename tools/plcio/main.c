/* plcio: command-line front end. Dispatches to one file per sub-command. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "plcio/plcio.h"

static const plcio_command *const commands[] = {
    &plcio_cmd_version, &plcio_cmd_layout, &plcio_cmd_sim,  &plcio_cmd_read, &plcio_cmd_write, &plcio_cmd_watch,
    &plcio_cmd_info,    &plcio_cmd_blocks, &plcio_cmd_sync, &plcio_cmd_shm,  &plcio_cmd_demo,
};

#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
    fprintf(out, "usage: plcio COMMAND [ARGS...]\n\ncommands:\n");
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf(out, "  %-8s %s\n           %s\n", commands[i]->name, commands[i]->synopsis, commands[i]->summary);
    fprintf(out, "\nExit status: 0 success, 1 device or protocol error, 2 bad usage.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return PLCIO_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return PLCIO_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) argv[1] = (char *)"version";
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (!strcmp(argv[1], commands[i]->name)) return commands[i]->run(argc - 1, argv + 1);
    cli_error(PLCIO_EXIT_USAGE, "unknown command '%s' (try 'plcio --help')", argv[1]);
    return PLCIO_EXIT_USAGE;
}
