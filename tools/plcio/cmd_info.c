/* plcio info: dispatches on the URL scheme. s7:// -> s7_cli_info (s7_cmds.c);
 * other protocols add their branch here. */
#include "cli.h"
#include "commands.h"
#include "modbus_cmds.h"
#include "s7_cmds.h"

static int run_info(int argc, char **argv)
{
    const char *url = plcio_cli_url_arg(argc, argv);
    if (!url) return cli_error(PLCIO_EXIT_USAGE, "usage: plcio info URL [--json]");
    if (plcio_cli_scheme_is(url, "s7")) return s7_cli_info(argc, argv);
    if (plcio_cli_scheme_is_modbus(url)) return modbus_cli_info(argc, argv);
    return cli_error(PLCIO_EXIT_USAGE, "info: unsupported URL '%s' (s7://HOST..., modbus-tcp://HOST...)", url);
}

const plcio_command plcio_cmd_info = {
    "info",
    "URL [--json]",
    "show the PLC's CPU type, order code, firmware, state and protection",
    run_info,
};
