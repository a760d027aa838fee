/* plcio upload: s7:// only -> s7_cli_upload (s7_admin.c). */
#include "cli.h"
#include "commands.h"
#include "option_rows.h"
#include "s7_cmds.h"

static const cli_opt upload_opts[] = {

    OPT_ROW_TIMEOUT,
    OPT_ROW_PASSWORD,
    OPT_ROW_END,
};

static const cli_spec upload_spec = {
    "upload",
    "URL BLOCK [FILE]",
    "upload a block (DB10, FC1, OB1) from the PLC into FILE (or stdout)",
    "The file holds the block as the PLC sends it (load-memory image with its header): plcio download\\n"
    "takes it back.",
    upload_opts,
    NULL,
    NULL,
    NULL,
};

static int run_upload(int argc, char **argv)
{
    const char *url = options_first_positional(&upload_spec, argc, argv);
    if (!url) return cli_error(PLCIO_EXIT_USAGE, "usage: plcio upload URL BLOCK [FILE] (plcio upload --help)");
    return plcio_cli_dispatch(&upload_spec, url, argc, argv, s7_cli_upload, NULL);
}

const plcio_command plcio_cmd_upload = {&upload_spec, run_upload};
