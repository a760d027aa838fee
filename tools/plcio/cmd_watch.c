/* plcio watch: dispatches on the URL scheme. s7:// -> s7_cli_watch (s7_cmds.c);
 * other protocols add their branch here. */
#include "cli.h"
#include "commands.h"
#include "modbus_cmds.h"
#include "s7_cmds.h"

static int run_watch(int argc, char **argv)
{
    const char *url = plcio_cli_url_arg(argc, argv);
    if (!url)
        return cli_error(
            PLCIO_EXIT_USAGE,
            "usage: plcio watch URL ADDR... [--layout FILE]... [--db N|NAME=N] [--interval MS] [--count N] [--json]");
    if (plcio_cli_scheme_is(url, "s7")) return s7_cli_watch(argc, argv);
    if (plcio_cli_scheme_is_modbus(url)) {
        if (plcio_cli_has_layout(argc, argv))
            return cli_error(
                PLCIO_EXIT_USAGE,
                "watch: --layout/--db describe S7 data blocks; a Modbus URL takes register addresses (hr100:REAL)");
        return modbus_cli_watch(argc, argv);
    }
    return cli_error(PLCIO_EXIT_USAGE, "watch: unsupported URL '%s' (s7://HOST..., modbus-tcp://HOST...)", url);
}

const plcio_command plcio_cmd_watch = {
    "watch",
    "URL ADDR... [--layout FILE]... [--db N|NAME=N] [--interval MS] [--count N] [--json]",
    "poll addresses and print the values that change",
    run_watch,
};
