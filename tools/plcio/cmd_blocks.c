/* plcio blocks: dispatches on the URL scheme. s7:// -> s7_cli_blocks (s7_cmds.c);
 * other protocols add their branch here. */
#include "cli.h"
#include "commands.h"
#include "s7_cmds.h"

static int run_blocks(int argc, char **argv)
{
    const char *url = plcio_cli_url_arg(argc, argv);
    if (!url) return cli_error(PLCIO_EXIT_USAGE, "usage: plcio blocks URL [--json]");
    if (plcio_cli_scheme_is(url, "s7")) return s7_cli_blocks(argc, argv);
    return cli_error(PLCIO_EXIT_USAGE, "blocks: unsupported URL '%s' (s7://HOST...)", url);
}

const plcio_command plcio_cmd_blocks = {
    "blocks",
    "URL [--json]",
    "list the blocks in the PLC (counts and numbers per type)",
    run_blocks,
};
