/* plcio clock: s7:// only -> s7_cli_clock (s7_admin.c). */
#include "cli.h"
#include "commands.h"
#include "option_rows.h"
#include "s7_cmds.h"

static const cli_opt clock_opts[] = {
    {"--set", "now|YYYY-MM-DDTHH:MM:SS[.mmm]", "set the clock first", 0},
    OPT_ROW_TIMEOUT,
    OPT_ROW_PASSWORD,
    OPT_ROW_END,
};

static const cli_spec clock_spec = {
    "clock",
    "URL",
    "show the PLC's clock, or set it (--set now or an ISO 8601 time) and show it read back",
    "The PLC keeps local time without a zone; --set now sends this computer's local time.",
    clock_opts,
    NULL,
    NULL,
    NULL,
};

static int run_clock(int argc, char **argv)
{
    const char *url = options_first_positional(&clock_spec, argc, argv);
    if (!url) return cli_error(PLCIO_EXIT_USAGE, "usage: plcio clock URL (plcio clock --help)");
    return plcio_cli_dispatch(&clock_spec, url, argc, argv, s7_cli_clock, NULL);
}

const plcio_command plcio_cmd_clock = {&clock_spec, run_clock};
