/* plcio watch: dispatches on the URL scheme. s7:// -> s7_cli_watch (s7_cmds.c),
 * modbus-*:// -> modbus_cli_watch (modbus_cmds.c). */
#include "cli.h"
#include "commands.h"
#include "modbus_cmds.h"
#include "option_rows.h"
#include "s7_cmds.h"
#include "s7plus_cmds.h"

static const cli_opt watch_opts[] = {
    OPT_ROW_JSON("one JSON object per poll with the items that changed; a failed item is {\"error\": \"why\"}"),
    {"--interval", "MS", "milliseconds between polls (default 1000)", 0},
    {"--count", "N", "stop after N polls (default: until Ctrl-C)", 0},
    {"--subscribe", NULL,
     "s7plus:// only: the PLC sends the changes (a subscription checked every --interval ms) instead of polls; "
     "--count counts its notifications",
     0},
    OPT_ROW_LAYOUT,
    OPT_ROW_LAYOUT_DB,
    OPT_ROW_TIMEOUT,
    OPT_ROW_PASSWORD,
    OPT_ROW_UNIT,
    OPT_ROW_MODBUS_ADDRESSING,
    OPT_ROW_END,
};

static const cli_spec watch_spec = {
    "watch",
    "URL ADDR...",
    "poll addresses and print the values that change",
    "Each item is printed when its value or its error changes. With --count, the exit status is 1\n"
    "when any item failed in the last poll.",
    watch_opts,
    NULL,
    NULL,
    NULL,
};

static int run_watch(int argc, char **argv)
{
    const char *url = options_first_positional(&watch_spec, argc, argv);
    if (!url) return cli_error(PLCIO_EXIT_USAGE, "usage: plcio watch URL ADDR... (plcio watch --help)");
    return plcio_cli_dispatch_plus(&watch_spec, url, argc, argv, s7_cli_watch, s7plus_cli_watch, modbus_cli_watch);
}

const plcio_command plcio_cmd_watch = {&watch_spec, run_watch};
