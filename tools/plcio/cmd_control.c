/* plcio control: s7:// only -> s7_cli_control (s7_admin.c). */
#include "cli.h"
#include "commands.h"
#include "option_rows.h"
#include "s7_cmds.h"

static const cli_opt control_opts[] = {

    OPT_ROW_TIMEOUT,
    OPT_ROW_PASSWORD,
    OPT_ROW_END,
};

static const cli_spec control_spec = {
    "control",
    "URL stop|hot-start|cold-start|compress|copy-ram-to-rom",
    "stop or start the CPU, compress its memory, copy RAM to ROM",
    "Prints the CPU state (SZL 0x0424) afterwards. Anyone who may run this can stop the plant: the\\n"
    "PLC's protection level and --password decide, plcio does not.",
    control_opts,
    NULL,
    NULL,
    "stop hot-start cold-start compress copy-ram-to-rom",
};

static int run_control(int argc, char **argv)
{
    const char *url = options_first_positional(&control_spec, argc, argv);
    if (!url)
        return cli_error(
            PLCIO_EXIT_USAGE,
            "usage: plcio control URL stop|hot-start|cold-start|compress|copy-ram-to-rom (plcio control --help)");
    return plcio_cli_dispatch(&control_spec, url, argc, argv, s7_cli_control, NULL);
}

const plcio_command plcio_cmd_control = {&control_spec, run_control};
