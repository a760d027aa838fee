/* plcio read: dispatches on the URL scheme. s7:// -> s7_cli_read (s7_cmds.c),
 * modbus-*:// -> modbus_cli_read (modbus_cmds.c). */
#include "cli.h"
#include "commands.h"
#include "modbus_cmds.h"
#include "option_rows.h"
#include "s7_cmds.h"
#include "s7plus_cmds.h"

static const cli_opt read_opts[] = {
    OPT_ROW_JSON("one JSON object keyed by the addresses as given; a failed item is {\"error\": \"why\"}"),
    OPT_ROW_LAYOUT,
    OPT_ROW_LAYOUT_DB,
    OPT_ROW_TIMEOUT,
    OPT_ROW_PASSWORD,
    OPT_ROW_UNIT,
    OPT_ROW_MODBUS_ADDRESSING,
    OPT_ROW_END,
};

static const char *const read_examples[] = {
    "plcio read s7://127.0.0.1:1102 DB1.DBW0:INT DB1.DBD2:REAL \"DB1.DBB10[3]\"",
    "plcio read modbus-tcp://127.0.0.1:1502 hr0 hr2:REAL --json",
    NULL,
};

static const cli_spec read_spec = {
    "read",
    "URL ADDR...",
    "read values by address (DB1.DBD8:REAL, M10.5, hr100:REAL) or layout member name (Motor.Speed) and print them",
    "Every item gets its own outcome: \"ADDR = value\" on stdout, or \"plcio: read ADDR: why\" on stderr;\n"
    "the others are printed all the same. With --json a failed item is {\"error\": \"why\"}. Exit status 1\n"
    "when any item failed. Arrays print as [a, b, c] for both protocols; NaN and infinities are the\n"
    "JSON strings \"NaN\", \"Infinity\", \"-Infinity\". Modbus file records (FC 20): fileF:R[N], N\n"
    "registers of record R in file F.",
    read_opts,
    NULL,
    read_examples,
    NULL,
};

static int run_read(int argc, char **argv)
{
    const char *url = options_first_positional(&read_spec, argc, argv);
    if (!url) return cli_error(PLCIO_EXIT_USAGE, "usage: plcio read URL ADDR... (plcio read --help)");
    return plcio_cli_dispatch_plus(&read_spec, url, argc, argv, s7_cli_read, s7plus_cli_read, modbus_cli_read);
}

const plcio_command plcio_cmd_read = {&read_spec, run_read};
