/* plcio info: dispatches on the URL scheme. s7:// -> s7_cli_info (s7_cmds.c),
 * modbus-*:// -> modbus_cli_info (modbus_cmds.c). */
#include "cli.h"
#include "commands.h"
#include "modbus_cmds.h"
#include "option_rows.h"
#include "s7_cmds.h"
#include "s7plus_cmds.h"

static const cli_opt info_opts[] = {
    OPT_ROW_JSON("one JSON object"), OPT_ROW_TIMEOUT, OPT_ROW_PASSWORD, OPT_ROW_UNIT, OPT_ROW_END,
};

static const cli_spec info_spec = {
    "info",
    "URL",
    "show the PLC's CPU type, order code, firmware, state and protection (Modbus: device identification)",
    "S7: the SZL lists 0x001C, 0x0011, 0x0424, 0x0232 and 0x0131; a list the PLC refuses is named with\n"
    "the PLC's reason (\"refused\" in JSON) and its fields left out.",
    info_opts,
    NULL,
    NULL,
    NULL,
};

static int run_info(int argc, char **argv)
{
    const char *url = options_first_positional(&info_spec, argc, argv);
    if (!url) return cli_error(PLCIO_EXIT_USAGE, "usage: plcio info URL (plcio info --help)");
    return plcio_cli_dispatch_plus(&info_spec, url, argc, argv, s7_cli_info, s7plus_cli_info, modbus_cli_info);
}

const plcio_command plcio_cmd_info = {&info_spec, run_info};
