/* plcio delete: s7:// only -> s7_cli_delete (s7_admin.c). */
#include "cli.h"
#include "commands.h"
#include "option_rows.h"
#include "s7_cmds.h"

static const cli_opt delete_opts[] = {

    OPT_ROW_TIMEOUT,
    OPT_ROW_PASSWORD,
    OPT_ROW_END,
};

static const cli_spec delete_spec = {
    "delete", "URL BLOCK", "delete a block (DB10, FC1, OB1) from the PLC", NULL, delete_opts, NULL, NULL, NULL,
};

static int run_delete(int argc, char **argv)
{
    const char *url = options_first_positional(&delete_spec, argc, argv);
    if (!url) return cli_error(PLCIO_EXIT_USAGE, "usage: plcio delete URL BLOCK (plcio delete --help)");
    return plcio_cli_dispatch(&delete_spec, url, argc, argv, s7_cli_delete, NULL);
}

const plcio_command plcio_cmd_delete = {&delete_spec, run_delete};
