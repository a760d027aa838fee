/* plcio download: s7:// only -> s7_cli_download (s7_admin.c). */
#include "cli.h"
#include "commands.h"
#include "option_rows.h"
#include "s7_cmds.h"

static const cli_opt download_opts[] = {
    {"--block", "BLOCK", "download under this number (DB11) instead of the one in the file", 0},
    OPT_ROW_TIMEOUT,
    OPT_ROW_PASSWORD,
    OPT_ROW_END,
};

static const cli_spec download_spec = {
    "download",
    "URL FILE",
    "download a block image (as plcio upload writes it) into the PLC",
    "The block type and number come from the image's header unless --block says another number.",
    download_opts,
    NULL,
    NULL,
    NULL,
};

static int run_download(int argc, char **argv)
{
    const char *url = options_first_positional(&download_spec, argc, argv);
    if (!url) return cli_error(PLCIO_EXIT_USAGE, "usage: plcio download URL FILE (plcio download --help)");
    return plcio_cli_dispatch(&download_spec, url, argc, argv, s7_cli_download, NULL);
}

const plcio_command plcio_cmd_download = {&download_spec, run_download};
