#include <stdio.h>

#include "commands.h"
#include "plcio/plcio.h"

static int run_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("plcio %s\n", plcio_version());
    return PLCIO_EXIT_OK;
}

static const cli_opt version_opts[] = {{NULL, NULL, NULL, 0}};

static const cli_spec version_spec = {"version", "", "print the version", NULL, version_opts, NULL, NULL, NULL};

const plcio_command plcio_cmd_version = {&version_spec, run_version};
