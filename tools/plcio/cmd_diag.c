/* plcio diag: modbus-*:// only -> modbus_cli_diag (modbus_cmds.c). */
#include "cli.h"
#include "commands.h"
#include "modbus_cmds.h"
#include "option_rows.h"

static const cli_opt diag_opts[] = {
    OPT_ROW_JSON("one JSON object; a request the device refused is {\"error\": \"why\"}"),
    OPT_ROW_UNIT,
    OPT_ROW_TIMEOUT,
    OPT_ROW_END,
};

static const cli_spec diag_spec = {
    "diag",
    "URL",
    "show a Modbus device's diagnostics: FC 8 counters, FC 11 event counter, FC 12 event log, FC 43/14 identification",
    "Each request has its own outcome: a request the device refuses is named with its exception\n"
    "(FC 11/12 exist on serial lines only; TCP devices often refuse them). Exit status 1 only when\n"
    "every request failed.",
    diag_opts,
    NULL,
    NULL,
    NULL,
};

static int run_diag(int argc, char **argv)
{
    const char *url = options_first_positional(&diag_spec, argc, argv);
    if (!url) return cli_error(PLCIO_EXIT_USAGE, "usage: plcio diag URL (plcio diag --help)");
    return plcio_cli_dispatch(&diag_spec, url, argc, argv, NULL, modbus_cli_diag);
}

const plcio_command plcio_cmd_diag = {&diag_spec, run_diag};
