/* plcio blocks: s7:// only -> s7_cli_blocks (s7_cmds.c). */
#include "cli.h"
#include "commands.h"
#include "option_rows.h"
#include "s7_cmds.h"

static const cli_opt blocks_opts[] = {
    OPT_ROW_JSON("one JSON object: block type -> list of numbers"),
    OPT_ROW_TIMEOUT,
    OPT_ROW_PASSWORD,
    OPT_ROW_END,
};

static const cli_spec blocks_spec = {
    "blocks", "URL", "list the blocks in the PLC (counts and numbers per type)", NULL, blocks_opts, NULL, NULL, NULL,
};

static int run_blocks(int argc, char **argv)
{
    const char *url = options_first_positional(&blocks_spec, argc, argv);
    if (!url) return cli_error(PLCIO_EXIT_USAGE, "usage: plcio blocks URL (plcio blocks --help)");
    return plcio_cli_dispatch(&blocks_spec, url, argc, argv, s7_cli_blocks, NULL);
}

const plcio_command plcio_cmd_blocks = {&blocks_spec, run_blocks};
