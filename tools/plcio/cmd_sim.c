/* plcio sim: built-in simulators. Dispatches on the protocol:
 *   plcio sim s7 ...      -> sim_s7_main (sim_s7.c)
 *   plcio sim modbus ...  -> sim_modbus_main (sim_modbus.c)
 * Each simulator lives in its own file with its option table; main.c checks
 * the options against the protocol's table before sim_*_main runs. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "sim.h"

static const cli_spec *const sim_subs[] = {&sim_s7_spec, &sim_modbus_spec, NULL};

static const cli_spec sim_spec = {
    "sim",
    "s7|modbus [OPTIONS]",
    "run a simulated PLC (S7 CPU or Modbus device) that clients can connect to",
    "Both listen on 127.0.0.1 unless --listen says otherwise (port 0 picks a free port) and print\n"
    "\"listening on HOST:PORT\" when ready. A connection silent for --idle-timeout MS (default 60000) or\n"
    "stuck in a half frame for --frame-timeout MS (default 5000) is closed (0 = never); with\n"
    "--max-connections open (S7 256, Modbus 512) a new client evicts the connection silent longest.\n"
    "`sim s7` also answers S7CommPlus (TLS, self-signed certificate made at start unless --s7plus-cert;\n"
    "its fingerprint is printed) on the same port.\n"
    "Anyone who can reach the port can read and write every area: keep it on 127.0.0.1 or a trusted net.",
    NULL,
    sim_subs,
    NULL,
    "s7 modbus",
};

static int run_sim(int argc, char **argv)
{
    if (argc < 2) return cli_error(PLCIO_EXIT_USAGE, "sim: which protocol? (plcio sim s7 ..., plcio sim modbus ...)");
    if (!strcmp(argv[1], "s7")) return sim_s7_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "modbus")) return sim_modbus_main(argc - 1, argv + 1);
    return cli_error(PLCIO_EXIT_USAGE, "sim: unknown protocol '%s' (s7, modbus)", argv[1]);
}

const plcio_command plcio_cmd_sim = {&sim_spec, run_sim};
