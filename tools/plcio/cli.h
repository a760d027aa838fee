/* Small helpers every command shares: error reporting with the exit-status
 * contract, and JSON output. */
#ifndef PLCIO_TOOL_CLI_H
#define PLCIO_TOOL_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "options.h"
#include "plcio/export.h"

/* Print "plcio: <message>" on stderr (one line) and return `status`
 * (PLCIO_EXIT_FAILURE or PLCIO_EXIT_USAGE), for `return cli_error(...)`. */
int cli_error(int status, const char *fmt, ...) PLCIO_PRINTF(2, 3);

/* "plcio: out of memory"; returns 1 (PLCIO_EXIT_FAILURE). Inline and not variadic so
 * that static analysis sees the failure status (it does not follow variadic calls). */
static inline int cli_out_of_memory(void)
{
    fputs("plcio: out of memory\n", stderr);
    return 1;
}

/* Write s as a JSON string literal (quotes included, UTF-8 passed through,
 * control characters escaped). */
void cli_json_string(FILE *out, const char *s);

/* True if argv[i] equals opt; if the option takes a value, *value gets argv[i+1]
 * and *i is advanced. A missing value is reported and sets *bad. */
bool cli_option(int argc, char **argv, int *i, const char *opt, const char **value, bool *bad);

/* JSON for a float's text that JSON has no number for: "nan"/"-nan" ->
 * "\"NaN\"", "inf" -> "\"Infinity\"", "-inf" -> "\"-Infinity\"" (strings, so
 * the document stays valid JSON; docs/cli.md); NULL for any other text. */
const char *cli_json_float_special(const char *text);

/* Split an array value in place: "1,2,3" or "[1, 2, 3]" (the form read
 * prints) into at most cap trimmed elements; returns how many. The same
 * text form for S7 and Modbus. */
size_t cli_split_array(char *text, char **out, size_t cap);

typedef int (*cli_branch)(int argc, char **argv);

/* Run the s7 or modbus branch of a command by the URL's scheme (a NULL
 * branch: that protocol has no such command), after refusing options of the
 * other protocol. */
int plcio_cli_dispatch(const cli_spec *spec, const char *url, int argc, char **argv, cli_branch s7, cli_branch modbus);
/* The same with an s7plus:// branch (NULL: none). */
int plcio_cli_dispatch_plus(const cli_spec *spec, const char *url, int argc, char **argv, cli_branch s7,
                            cli_branch s7plus, cli_branch modbus);

#endif
