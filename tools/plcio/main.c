/* plcio: command-line front end. Dispatches to one file per sub-command
 * after the option layer (options.h) has checked and normalized the options
 * against that command's table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "plcio/plcio.h"

static const plcio_command *const commands[] = {
    &plcio_cmd_read,    &plcio_cmd_write,   &plcio_cmd_watch,   &plcio_cmd_info,   &plcio_cmd_blocks,
    &plcio_cmd_szl,     &plcio_cmd_clock,   &plcio_cmd_control, &plcio_cmd_upload, &plcio_cmd_download,
    &plcio_cmd_delete,  &plcio_cmd_diag,    &plcio_cmd_sync,    &plcio_cmd_shm,    &plcio_cmd_sim,
    &plcio_cmd_gateway, &plcio_cmd_partner, &plcio_cmd_layout,  &plcio_cmd_browse, &plcio_cmd_demo,
    &plcio_cmd_version,
};

#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
    fprintf(out, "usage: plcio COMMAND [ARGS...]      (plcio COMMAND --help for one command)\n\ncommands:\n");
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        const cli_spec *s = commands[i]->spec;
        fprintf(out, "  %-9s%s\n", s->name, s->summary);
        const cli_spec *one[2] = {s, NULL};
        for (const cli_spec *const *sub = s->subs ? s->subs : one; *sub; sub++) {
            fprintf(out, "           plcio %s ", (*sub)->name);
            options_print_synopsis(*sub, out);
            fputc('\n', out);
        }
    }
    fprintf(out, "\nOptions take their value as --opt VALUE or --opt=VALUE.\n"
                 "Exit status: 0 success, 1 device or protocol error, 2 bad usage.\n");
}

/* Hidden: "CMD OPTION" per line, aliases marked, for the tests that check
 * --help, the man pages and the completion against the tables. */
static int list_options(void)
{
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        const cli_spec *one[2] = {commands[i]->spec, NULL};
        for (const cli_spec *const *s = commands[i]->spec->subs ? commands[i]->spec->subs : one; *s; s++) {
            printf("%s\n", (*s)->name);
            for (const cli_opt *o = (*s)->opts; o && o->name; o++)
                printf("%s %s%s\n", (*s)->name, o->name, (o->flags & CLI_OPT_ALIAS) ? " alias" : "");
        }
    }
    return PLCIO_EXIT_OK;
}

static int generate_docs(int argc, char **argv)
{
    if (argc != 3) return cli_error(PLCIO_EXIT_USAGE, "usage: plcio --generate-docs DIR");
    const cli_spec *specs[COMMAND_COUNT];
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        specs[i] = commands[i]->spec;
    return options_generate(argv[2], specs, COMMAND_COUNT);
}

/* Normalize the options against the command's table (for "sim s7": the
 * sub-command's), then run it. */
static int run_command(const plcio_command *cmd, int argc, char **argv)
{
    const cli_spec *spec = cmd->spec;
    int skip = 0;
    if (spec->subs && argc > 1) {
        for (const cli_spec *const *s = spec->subs; *s; s++) {
            if (!strcmp(strchr((*s)->name, ' ') + 1, argv[1])) {
                spec = *s;
                skip = 1;
            }
        }
        if (!skip && argv[1][0] != '-')
            return cli_error(PLCIO_EXIT_USAGE, "%s: unknown protocol '%s' (plcio %s --help)", argv[0], argv[1],
                             argv[0]);
    }
    if (spec->subs && argc < 2) {
        options_print_help(spec, stderr);
        return PLCIO_EXIT_USAGE;
    }
    int n = 0;
    char **norm = NULL;
    int rc = options_normalize(spec, argc - skip, argv + skip, &n, &norm);
    if (rc == CLI_HELP_SHOWN) return PLCIO_EXIT_OK;
    if (rc) return rc;
    if (skip) {
        /* put the command name back in front: argv[0] "sim", argv[1] "s7" */
        char **full = malloc(((size_t)n + 2) * sizeof *full);
        if (!full) {
            free(norm);
            return cli_out_of_memory();
        }
        full[0] = argv[0];
        memcpy(full + 1, norm, ((size_t)n + 1) * sizeof *full);
        free(norm);
        norm = full;
        n++;
    }
    rc = cmd->run(n, norm);
    free(norm);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return PLCIO_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return PLCIO_EXIT_OK;
    }
    if (!strcmp(argv[1], "--list-options")) return list_options();
    if (!strcmp(argv[1], "--generate-docs")) return generate_docs(argc, argv);
    if (!strcmp(argv[1], "--version")) argv[1] = (char *)"version";
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (!strcmp(argv[1], commands[i]->spec->name)) return run_command(commands[i], argc - 1, argv + 1);
    cli_error(PLCIO_EXIT_USAGE, "unknown command '%s' (try 'plcio --help')", argv[1]);
    return PLCIO_EXIT_USAGE;
}
