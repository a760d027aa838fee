/* Option rows several commands share, so that one concept has one flag and
 * one description everywhere (options.h). */
#ifndef PLCIO_TOOL_OPTION_ROWS_H
#define PLCIO_TOOL_OPTION_ROWS_H

#include "options.h"

#define OPT_ROW_JSON(what)                                                                                             \
    {                                                                                                                  \
        "--json", NULL, what, 0                                                                                        \
    }
#define OPT_ROW_TIMEOUT                                                                                                \
    {                                                                                                                  \
        "--timeout", "MS", "milliseconds to wait for each answer (default 3000; Modbus: the URL's or 1000)", 0         \
    }
#define OPT_ROW_PASSWORD                                                                                               \
    {                                                                                                                  \
        "--password", "PW", "session password (8 characters at most), sent right after connecting", CLI_OPT_S7         \
    }
#define OPT_ROW_UNIT                                                                                                   \
    {                                                                                                                  \
        "--unit", "N", "unit id 0..255 (default: the URL's, else 1)", CLI_OPT_MODBUS                                   \
    }
#define OPT_ROW_LAYOUT                                                                                                 \
    {                                                                                                                  \
        "--layout", "FILE", "TIA Portal / STEP 7 DB or UDT source: its member names become addresses",                 \
            CLI_OPT_REPEAT | CLI_OPT_FILE | CLI_OPT_S7                                                                 \
    }
#define OPT_ROW_LAYOUT_DB                                                                                              \
    {                                                                                                                  \
        "--db", "N|NAME=N", "the DB number of the layout's data block (NAME=N when the files define several)",         \
            CLI_OPT_REPEAT | CLI_OPT_S7                                                                                \
    }
#define OPT_ROW_MODBUS_ADDRESSING                                                                                      \
    {"--base", "0|1", "1: hr/ir/co/di addresses count from 1 (mbpoll's default); default 0", CLI_OPT_MODBUS},          \
        {"--type", "TYPE", "type of addresses that give none (INT, REAL, ...; default UINT / BOOL)", CLI_OPT_MODBUS},  \
    {                                                                                                                  \
        "--order", "ABCD|CDAB|BADC|DCBA", "word order of addresses that give none", CLI_OPT_MODBUS                     \
    }
/* plcio sim s7 / sim modbus (sim_churn.h) */
#define OPT_ROW_CHURN                                                                                                  \
    {                                                                                                                  \
        "--churn", "RATE[:PERCENT]",                                                                                   \
            "change values by themselves: RATE times a second (0.1..1000) PERCENT % (default 100) of the "             \
            "4-byte words get a new REAL 0..999.999",                                                                  \
            0                                                                                                          \
    }
#define OPT_ROW_END                                                                                                    \
    {                                                                                                                  \
        NULL, NULL, NULL, 0                                                                                            \
    }

#endif
