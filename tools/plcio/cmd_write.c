/* plcio write: dispatches on the URL scheme. s7:// -> s7_cli_write (s7_cmds.c),
 * modbus-*:// -> modbus_cli_write (modbus_cmds.c). */
#include "cli.h"
#include "commands.h"
#include "modbus_cmds.h"
#include "option_rows.h"
#include "s7_cmds.h"
#include "s7plus_cmds.h"

static const cli_opt write_opts[] = {
    OPT_ROW_LAYOUT, OPT_ROW_LAYOUT_DB,         OPT_ROW_TIMEOUT, OPT_ROW_PASSWORD,
    OPT_ROW_UNIT,   OPT_ROW_MODBUS_ADDRESSING, OPT_ROW_END,
};

static const char *const write_examples[] = {
    "plcio write s7://127.0.0.1:1102 DB1.DBW0:INT=12 M10.5=true \"DB2.DBB30[3]=1,2,3\"",
    "plcio write modbus-tcp://127.0.0.1:1502 hr0=7 \"hr10[3]=1,2,3\"",
    NULL,
};

static const cli_spec write_spec = {
    "write",
    "URL ADDR=VALUE...",
    "write values by address (DB1.DBW4:INT=12, M10.5=true) or member name (Motor.Speed=1450.5)",
    "Every value is checked before anything is sent; a bad value names its address and nothing is\n"
    "written. An array address takes its values comma-separated (DB2.DBB30[3]=1,2,3, hr10[2]=5,6).\n"
    "Modbus file records (FC 21): fileF:R[N]=v1,...,vN (registers 0..65535).",
    write_opts,
    NULL,
    write_examples,
    NULL,
};

static int run_write(int argc, char **argv)
{
    const char *url = options_first_positional(&write_spec, argc, argv);
    if (!url) return cli_error(PLCIO_EXIT_USAGE, "usage: plcio write URL ADDR=VALUE... (plcio write --help)");
    return plcio_cli_dispatch_plus(&write_spec, url, argc, argv, s7_cli_write, s7plus_cli_write, modbus_cli_write);
}

const plcio_command plcio_cmd_write = {&write_spec, run_write};
