/* plcio write: dispatches on the URL scheme. s7:// -> s7_cli_write (s7_cmds.c);
 * other protocols add their branch here. */
#include "cli.h"
#include "commands.h"
#include "modbus_cmds.h"
#include "s7_cmds.h"

static int run_write(int argc, char **argv)
{
    const char *url = plcio_cli_url_arg(argc, argv);
    if (!url) return cli_error(PLCIO_EXIT_USAGE, "usage: plcio write URL ADDR=VALUE...");
    if (plcio_cli_scheme_is(url, "s7")) return s7_cli_write(argc, argv);
    if (plcio_cli_scheme_is_modbus(url)) return modbus_cli_write(argc, argv);
    return cli_error(PLCIO_EXIT_USAGE, "write: unsupported URL '%s' (s7://HOST..., modbus-tcp://HOST...)", url);
}

const plcio_command plcio_cmd_write = {
    "write",
    "URL ADDR=VALUE...",
    "write values by address (DB1.DBW4:INT=12, M10.5=true, ...)",
    run_write,
};
