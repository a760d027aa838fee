/* plcio szl: s7:// only -> s7_cli_szl (s7_admin.c). */
#include "cli.h"
#include "commands.h"
#include "option_rows.h"
#include "s7_cmds.h"

static const cli_opt szl_opts[] = {
    {"--list", NULL, "list the SZL IDs the PLC offers instead of reading one", 0},
    OPT_ROW_JSON("one JSON object: id, index, record_length, records (decoded fields or \"hex\")"),
    OPT_ROW_TIMEOUT,
    OPT_ROW_PASSWORD,
    OPT_ROW_END,
};

static const cli_spec szl_spec = {
    "szl",
    "URL ID[:INDEX]",
    "read a system status list (SZL): decoded where plcio knows the list, hex otherwise",
    "ID and INDEX are hex (0x0011, 0x0232:4). --list shows the IDs the PLC offers (SZL 0x0000).",
    szl_opts,
    NULL,
    NULL,
    NULL,
};

static int run_szl(int argc, char **argv)
{
    const char *url = options_first_positional(&szl_spec, argc, argv);
    if (!url) return cli_error(PLCIO_EXIT_USAGE, "usage: plcio szl URL ID[:INDEX] (plcio szl --help)");
    return plcio_cli_dispatch(&szl_spec, url, argc, argv, s7_cli_szl, NULL);
}

const plcio_command plcio_cmd_szl = {&szl_spec, run_szl};
