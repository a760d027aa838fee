/* plcio sim s7 --backed (sim_s7_backed.c). */
#ifndef PLCIO_TOOL_SIM_S7_BACKED_H
#define PLCIO_TOOL_SIM_S7_BACKED_H

#include "plcio/s7_server.h"

/* --backed AREA:START:SIZE=URL[?max-age=MS&write-through=1&serve-stale=1&remote=AREA:START&...]:
 * PLCIO_EXIT_OK or PLCIO_EXIT_USAGE (message printed). */
int sim_s7_back_range(plcio_s7_server *srv, const char *spec);

#endif
