/* plcio write: dispatches on the URL scheme. s7:// -> s7_cli_write (s7_cmds.c);
 * other protocols add their branch here. */
#include "cli.h"
#include "commands.h"
#include "modbus_cmds.h"
#include "s7_cmds.h"
#include "s7plus_cmds.h"

static int run_write(int argc, char **argv)
{
    const char *url = plcio_cli_url_arg(argc, argv);
    if (!url)
        return cli_error(PLCIO_EXIT_USAGE, "usage: plcio write URL ADDR=VALUE... [--layout FILE]... [--db N|NAME=N]");
    if (plcio_cli_scheme_is(url, "s7")) return s7_cli_write(argc, argv);
    if (plcio_cli_scheme_is(url, "s7plus")) return s7plus_cli_write(argc, argv);
    if (plcio_cli_scheme_is_modbus(url)) {
        if (plcio_cli_has_layout(argc, argv))
            return cli_error(
                PLCIO_EXIT_USAGE,
                "write: --layout/--db describe S7 data blocks; a Modbus URL takes register addresses (hr100:REAL)");
        return modbus_cli_write(argc, argv);
    }
    return cli_error(PLCIO_EXIT_USAGE,
                     "write: unsupported URL '%s' (s7://HOST..., s7plus://HOST..., modbus-tcp://HOST...)", url);
}

const plcio_command plcio_cmd_write = {
    "write",
    "URL ADDR=VALUE... [--layout FILE]... [--db N|NAME=N]",
    "write values by address (DB1.DBW4:INT=12, M10.5=true) or member name (Motor.Speed=1450.5)",
    run_write,
};
