/* plcio sim: built-in simulators. Dispatches on the protocol:
 *   plcio sim s7 ...      -> sim_s7_main (sim_s7.c)
 *   plcio sim modbus ...  -> sim_modbus_main (sim_modbus.c)
 * Each simulator lives in its own file; add a branch per protocol here. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

int sim_s7_main(int argc, char **argv);
int sim_modbus_main(int argc, char **argv);

#define SIM_USAGE                                                                                                      \
    "s7 [--listen HOST:PORT] [--db N:SIZE|N:LAYOUT_FILE]... [--area M:SIZE]... [--pdu N] [--seconds S]\n"              \
    "              [--max-connections N] [--idle-timeout MS] [--frame-timeout MS] [--threads N]\n"                     \
    "              [--no-s7plus] [--s7plus-tls-only] [--s7plus-cert FILE --s7plus-key FILE] [--s7plus-cert-out "       \
    "FILE]\n"                                                                                                          \
    "           modbus [--tcp HOST:PORT|--udp HOST:PORT|--rtu DEV|--ascii DEV]... [--unit N]... [--size N]\n"          \
    "              [--seconds S] [--max-connections N] [--idle-timeout MS] [--frame-timeout MS]"
#define SIM_HELP                                                                                                       \
    "run a simulated PLC (S7 CPU or Modbus device) that clients can connect to. A connection silent for\n"             \
    "           --idle-timeout MS (default 60000) or stuck in a half frame for --frame-timeout MS (default 5000)\n"    \
    "           is closed (0 = never); with --max-connections open (S7 256, Modbus 512) a new client evicts\n"         \
    "           the connection silent longest. `sim s7` also answers S7CommPlus (TLS, self-signed certificate\n"       \
    "           made at start unless --s7plus-cert; its fingerprint is printed) on the same port"

static int run_sim(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: plcio sim %s\n\n%s\n", SIM_USAGE, SIM_HELP);
            return PLCIO_EXIT_OK;
        }
    }
    if (argc < 2) return cli_error(PLCIO_EXIT_USAGE, "sim: which protocol? (plcio sim s7 ...)");
    if (!strcmp(argv[1], "s7")) return sim_s7_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "modbus")) return sim_modbus_main(argc - 1, argv + 1);
    return cli_error(PLCIO_EXIT_USAGE, "sim: unknown protocol '%s'", argv[1]);
}

const plcio_command plcio_cmd_sim = {
    "sim",
    SIM_USAGE,
    SIM_HELP,
    run_sim,
};
