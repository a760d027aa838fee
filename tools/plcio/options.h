/* The option layer of the plcio command. Each command declares its options
 * once, in a cli_spec table; from that one table come
 *   - parsing: options_normalize() checks every option against the table
 *     (unknown ones are refused with the list of valid ones), accepts
 *     "--opt=value" and "--opt value", maps hidden aliases (old spellings)
 *     to their canonical name and hands the command an argv in which every
 *     option is canonical and followed by its value;
 *   - "plcio CMD --help" (options_print_help, exit 0);
 *   - the man pages plcio(1) and plcio-CMD(1) and the bash completion
 *     (options_generate, run at build time by "plcio --generate-docs DIR").
 * Modelled on git's parse-options (one table per command). */
#ifndef PLCIO_TOOL_OPTIONS_H
#define PLCIO_TOOL_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum {
    CLI_OPT_REPEAT = 1u << 0,   /* may be given more than once */
    CLI_OPT_ALIAS = 1u << 1,    /* hidden old spelling: `help` names the canonical option */
    CLI_OPT_FILE = 1u << 2,     /* the value is a file name (completion offers files) */
    CLI_OPT_S7 = 1u << 3,       /* only for s7:// URLs */
    CLI_OPT_MODBUS = 1u << 4,   /* only for modbus-*:// URLs */
    CLI_OPT_EQ_VALUE = 1u << 5, /* a flag that may carry "=VALUE" (--logo=0ba7): passed on as one word */
};

typedef struct cli_opt {
    const char *name;  /* "--listen" */
    const char *value; /* what the value is ("HOST:PORT"), NULL for a flag */
    const char *help;  /* one line; for CLI_OPT_ALIAS the canonical option's name */
    unsigned flags;
} cli_opt;

typedef struct cli_spec cli_spec;
struct cli_spec {
    const char *name;            /* "read", "sim s7" */
    const char *args;            /* the positional arguments: "URL ADDR..." ("" for none) */
    const char *summary;         /* one line of what it does */
    const char *details;         /* paragraphs for --help and the man page, or NULL */
    const cli_opt *opts;         /* terminated by an entry with name NULL */
    const cli_spec *const *subs; /* sub-commands ("sim s7"), NULL-terminated, or NULL */
    const char *const *examples; /* command lines for the man page, NULL-terminated, or NULL */
    const char *words;           /* words the positional arguments complete to, or NULL */
};

/* Outcome of options_normalize besides PLCIO_EXIT_OK / PLCIO_EXIT_USAGE. */
enum { CLI_HELP_SHOWN = -1 };

/* Check argv[1..] (argv[0] is the command name) against spec; on success
 * *out_argv (caller frees the array, not the strings: they point into argv or
 * into the table) holds the canonical form and *out_argc its length.
 * "--help"/"-h" anywhere prints the help on stdout and returns CLI_HELP_SHOWN.
 * Errors are reported on stderr and give PLCIO_EXIT_USAGE. */
int options_normalize(const cli_spec *spec, int argc, char **argv, int *out_argc, char ***out_argv);

/* The first positional argument of a normalized argv, or NULL. */
const char *options_first_positional(const cli_spec *spec, int argc, char **argv);

/* Refuse options that belong to the other protocol ("read: --unit is for
 * modbus URLs"). proto_flag is CLI_OPT_S7 or CLI_OPT_MODBUS. */
int options_check_protocol(const cli_spec *spec, int argc, char **argv, unsigned proto_flag);

void options_print_help(const cli_spec *spec, FILE *out);
/* "[--json] [--layout FILE]..." for synopses. */
void options_print_synopsis(const cli_spec *spec, FILE *out);

/* Man pages (DIR/man1/plcio.1, DIR/man1/plcio-CMD.1) and the bash completion
 * (DIR/bash-completion/plcio) for the n commands' tables. PLCIO_EXIT_OK or
 * PLCIO_EXIT_FAILURE (reported). */
int options_generate(const char *dir, const cli_spec *const *specs, size_t n);

#endif
