/* S7 branches of the reading/writing commands (s7_cmds.c). argv[0] is the
 * command name, as for plcio_command.run. The cmd_*.c dispatchers pick the
 * branch from the URL scheme (plcio_cli_url_arg finds the URL argument). */
#ifndef PLCIO_TOOL_S7_CMDS_H
#define PLCIO_TOOL_S7_CMDS_H

#include <string.h>

int s7_cli_read(int argc, char **argv);
int s7_cli_write(int argc, char **argv);
int s7_cli_watch(int argc, char **argv);
int s7_cli_info(int argc, char **argv);
int s7_cli_blocks(int argc, char **argv);

/* The first argument that is not an option (nor an option's value), or NULL. */
static inline const char *plcio_cli_url_arg(int argc, char **argv)
{
    static const char *const with_value[] = {"--interval", "--count", "--layout", "--db", NULL};
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1] == '-') {
            for (int k = 0; with_value[k]; k++)
                if (!strcmp(argv[i], with_value[k])) i++;
            continue;
        }
        return argv[i];
    }
    return NULL;
}

/* True if a --layout or --db option is present (S7 data-block layouts: the
 * Modbus branches refuse them). */
static inline int plcio_cli_has_layout(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--layout") || !strcmp(argv[i], "--db")) return 1;
    return 0;
}

static inline int plcio_cli_scheme_is(const char *url, const char *scheme)
{
    size_t n = strlen(scheme);
    return url && !strncmp(url, scheme, n) && !strncmp(url + n, "://", 3);
}

#endif
