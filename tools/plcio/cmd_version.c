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

const plcio_command plcio_cmd_version = {"version", "", "print the version", run_version};
