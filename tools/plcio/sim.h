/* The simulators behind plcio sim (sim_s7.c, sim_modbus.c): their option
 * tables and entry points. argv[0] is the protocol ("s7"), the options are
 * normalized (options.h). */
#ifndef PLCIO_TOOL_SIM_H
#define PLCIO_TOOL_SIM_H

#include "options.h"

extern const cli_spec sim_s7_spec;
extern const cli_spec sim_modbus_spec;

int sim_s7_main(int argc, char **argv);
int sim_modbus_main(int argc, char **argv);

#endif
