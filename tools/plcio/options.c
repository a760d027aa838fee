/* The option layer (options.h): one table per command, read by the parser,
 * --help, the man pages and the bash completion. */
#include "options.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "commands.h"
#include "plcio/plcio.h"

static const cli_opt *find_opt(const cli_spec *spec, const char *name, size_t len)
{
    for (const cli_opt *o = spec->opts; o && o->name; o++)
        if (strlen(o->name) == len && !strncmp(o->name, name, len)) return o;
    return NULL;
}

/* The canonical entry of an alias (the table names it in `help`). */
static const cli_opt *canonical(const cli_spec *spec, const cli_opt *o)
{
    if (!(o->flags & CLI_OPT_ALIAS)) return o;
    const cli_opt *c = find_opt(spec, o->help, strlen(o->help));
    return c ? c : o;
}

static void list_valid(const cli_spec *spec, FILE *out)
{
    bool any = false;
    for (const cli_opt *o = spec->opts; o && o->name; o++) {
        if (o->flags & CLI_OPT_ALIAS) continue;
        fprintf(out, "%s%s", any ? " " : "", o->name);
        any = true;
    }
    fprintf(out, "%s--help", any ? " " : "");
}

static int unknown_option(const cli_spec *spec, const char *text, size_t len)
{
    fprintf(stderr, "plcio: %s: unknown option '%.*s'; valid options: ", spec->name, (int)len, text);
    list_valid(spec, stderr);
    fputs("\n", stderr);
    return PLCIO_EXIT_USAGE;
}

static bool is_help(const char *a) { return !strcmp(a, "--help") || !strcmp(a, "-h"); }

int options_normalize(const cli_spec *spec, int argc, char **argv, int *out_argc, char ***out_argv)
{
    *out_argv = NULL;
    *out_argc = 0;
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            options_print_help(spec, stdout);
            return CLI_HELP_SHOWN;
        }
    }
    /* "--opt=value" becomes two slots: never more than 2 * argc */
    char **out = calloc((size_t)argc * 2 + 1, sizeof *out);
    if (!out) return cli_out_of_memory();
    int n = 0;
    out[n++] = argv[0];
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (a[0] != '-' || a[1] != '-' || a[2] == '\0') {
            out[n++] = a;
            continue;
        }
        char *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        const cli_opt *o = find_opt(spec, a, len);
        if (!o) {
            free(out);
            return unknown_option(spec, a, len);
        }
        const cli_opt *c = canonical(spec, o);
        if (!c->value && eq && (c->flags & CLI_OPT_EQ_VALUE)) {
            out[n++] = a; /* "--logo=0ba7" as given: the command reads the value */
            continue;
        }
        out[n++] = (char *)c->name;
        if (!c->value) {
            if (eq) {
                free(out);
                return cli_error(PLCIO_EXIT_USAGE, "%s: %.*s takes no value", spec->name, (int)len, a);
            }
            continue;
        }
        if (eq) {
            out[n++] = eq + 1;
        } else if (i + 1 < argc) {
            out[n++] = argv[++i];
        } else {
            free(out);
            return cli_error(PLCIO_EXIT_USAGE, "%s: option %s needs a value (%s)", spec->name, a, c->value);
        }
    }
    out[n] = NULL;
    *out_argv = out;
    *out_argc = n;
    return PLCIO_EXIT_OK;
}

static const cli_opt *takes_value(const cli_spec *spec, const char *name)
{
    const cli_opt *o = find_opt(spec, name, strlen(name));
    return o && o->value ? o : NULL;
}

const char *options_first_positional(const cli_spec *spec, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1] == '-' && argv[i][2]) {
            if (takes_value(spec, argv[i])) i++;
            continue;
        }
        return argv[i];
    }
    return NULL;
}

int options_check_protocol(const cli_spec *spec, int argc, char **argv, unsigned proto_flag)
{
    unsigned other = proto_flag == CLI_OPT_S7 ? CLI_OPT_MODBUS : CLI_OPT_S7;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] != '-' || argv[i][1] != '-' || !argv[i][2]) continue;
        const cli_opt *o = find_opt(spec, argv[i], strlen(argv[i]));
        if (o && (o->flags & other) && !(o->flags & proto_flag))
            return cli_error(PLCIO_EXIT_USAGE, "%s: %s is for %s URLs", spec->name, o->name,
                             other == CLI_OPT_S7 ? "s7://" : "modbus-*://");
        if (o && o->value) i++;
    }
    return PLCIO_EXIT_OK;
}

/* ---- help ---- */

void options_print_synopsis(const cli_spec *spec, FILE *out)
{
    bool first = true;
    if (spec->args && spec->args[0]) {
        fputs(spec->args, out);
        first = false;
    }
    for (const cli_opt *o = spec->opts; o && o->name; o++) {
        if (o->flags & CLI_OPT_ALIAS) continue;
        fprintf(out, "%s[%s%s%s]%s", first ? "" : " ", o->name, o->value ? " " : "", o->value ? o->value : "",
                (o->flags & CLI_OPT_REPEAT) ? "..." : "");
        first = false;
    }
}

static const char *scope(unsigned flags)
{
    if ((flags & CLI_OPT_S7) && !(flags & CLI_OPT_MODBUS)) return "S7: ";
    if ((flags & CLI_OPT_MODBUS) && !(flags & CLI_OPT_S7)) return "Modbus: ";
    return "";
}

static void print_options(const cli_spec *spec, FILE *out)
{
    if (!spec->opts || !spec->opts[0].name) return;
    fputs("\noptions:\n", out);
    for (const cli_opt *o = spec->opts; o->name; o++) {
        if (o->flags & CLI_OPT_ALIAS) continue;
        char head[64];
        snprintf(head, sizeof head, "%s%s%s", o->name, o->value ? " " : "", o->value ? o->value : "");
        fprintf(out, "  %-26s %s%s%s\n", head, scope(o->flags), o->help,
                (o->flags & CLI_OPT_REPEAT) ? " (repeatable)" : "");
    }
    bool aliases = false;
    for (const cli_opt *o = spec->opts; o->name; o++)
        aliases = aliases || (o->flags & CLI_OPT_ALIAS);
    if (!aliases) return;
    fputs("  older spellings still accepted:", out);
    for (const cli_opt *o = spec->opts; o->name; o++)
        if (o->flags & CLI_OPT_ALIAS) fprintf(out, " %s (= %s)", o->name, o->help);
    fputc('\n', out);
}

void options_print_help(const cli_spec *spec, FILE *out)
{
    if (spec->subs) {
        fprintf(out, "usage:\n");
        for (const cli_spec *const *s = spec->subs; *s; s++) {
            fprintf(out, "  plcio %s ", (*s)->name);
            options_print_synopsis(*s, out);
            fputc('\n', out);
        }
        fprintf(out, "\n%s\n", spec->summary);
        if (spec->details) fprintf(out, "\n%s\n", spec->details);
        for (const cli_spec *const *s = spec->subs; *s; s++) {
            fprintf(out, "\nplcio %s: %s\n", (*s)->name, (*s)->summary);
            if ((*s)->details) fprintf(out, "%s\n", (*s)->details);
            print_options(*s, out);
        }
        return;
    }
    fprintf(out, "usage: plcio %s ", spec->name);
    options_print_synopsis(spec, out);
    fprintf(out, "\n\n%s\n", spec->summary);
    if (spec->details) fprintf(out, "\n%s\n", spec->details);
    print_options(spec, out);
}

/* ---- man pages ---- */

/* roff text: '-' and '\' escaped, a leading '.' or '\'' defused. */
static void roff(FILE *f, const char *s)
{
    bool line_start = true;
    for (; *s; s++) {
        if (line_start && (*s == '.' || *s == '\'')) fputs("\\&", f);
        if (*s == '-')
            fputs("\\-", f);
        else if (*s == '\\')
            fputs("\\e", f);
        else
            fputc(*s, f);
        line_start = *s == '\n';
    }
}

static void man_options(FILE *f, const cli_spec *spec)
{
    for (const cli_opt *o = spec->opts; o && o->name; o++) {
        if (o->flags & CLI_OPT_ALIAS) continue;
        /* .BI alternates bold and italic: "--name " bold, VALUE italic */
        fputs(".TP\n.BI \"", f);
        roff(f, o->name);
        if (o->value) {
            fputs(" \" \"", f);
            roff(f, o->value);
        }
        fputs("\"\n", f);
        roff(f, scope(o->flags));
        roff(f, o->help);
        if (o->flags & CLI_OPT_REPEAT) fputs(" (repeatable)", f);
        fputs("\n", f);
    }
    for (const cli_opt *o = spec->opts; o && o->name; o++) {
        if (!(o->flags & CLI_OPT_ALIAS)) continue;
        fputs(".TP\n.B ", f);
        roff(f, o->name);
        fputs("\nthe older spelling of ", f);
        roff(f, o->help);
        fputs("\n", f);
    }
}

static void man_synopsis(FILE *f, const cli_spec *spec)
{
    fputs(".B plcio ", f);
    roff(f, spec->name);
    fputs("\n", f);
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (m) {
        options_print_synopsis(spec, m);
        if (fclose(m) == 0) roff(f, text);
        free(text);
    }
    fputs("\n.br\n", f);
}

static void page_name(const cli_spec *spec, char *buf, size_t cap)
{
    snprintf(buf, cap, "plcio-%s", spec->name);
    for (char *p = buf; *p; p++)
        if (*p == ' ') *p = '-';
}

static int man_page(const char *dir, const cli_spec *spec)
{
    char name[64], path[4096];
    page_name(spec, name, sizeof name);
    snprintf(path, sizeof path, "%s/man1/%s.1", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) return cli_error(PLCIO_EXIT_FAILURE, "cannot write %s: %s", path, strerror(errno));
    char upper[64];
    size_t k = 0;
    for (; name[k] && k + 1 < sizeof upper; k++)
        upper[k] = (char)(name[k] >= 'a' && name[k] <= 'z' ? name[k] - 32 : name[k]);
    upper[k] = '\0';
    fprintf(f, ".TH %s 1 \"\" \"plcio %s\" \"plcio manual\"\n.SH NAME\n", upper, plcio_version());
    roff(f, name);
    fputs(" \\- ", f);
    roff(f, spec->summary);
    fputs("\n.SH SYNOPSIS\n", f);
    if (spec->subs) {
        for (const cli_spec *const *s = spec->subs; *s; s++)
            man_synopsis(f, *s);
    } else {
        man_synopsis(f, spec);
    }
    fputs(".SH DESCRIPTION\n", f);
    roff(f, spec->summary);
    fputs(".\n", f);
    if (spec->details) {
        fputs(".PP\n", f);
        roff(f, spec->details);
        fputs("\n", f);
    }
    if (spec->subs) {
        for (const cli_spec *const *s = spec->subs; *s; s++) {
            fputs(".SH \"PLCIO ", f);
            for (const char *p = (*s)->name; *p; p++)
                fputc(*p >= 'a' && *p <= 'z' ? *p - 32 : *p, f);
            fputs("\"\n", f);
            roff(f, (*s)->summary);
            fputs(".\n", f);
            if ((*s)->details) {
                fputs(".PP\n", f);
                roff(f, (*s)->details);
                fputs("\n", f);
            }
            man_options(f, *s);
        }
    } else if (spec->opts && spec->opts[0].name) {
        fputs(".SH OPTIONS\n", f);
        man_options(f, spec);
    }
    if (spec->examples) {
        fputs(".SH EXAMPLES\n", f);
        for (const char *const *e = spec->examples; *e; e++) {
            fputs(".PP\n.nf\n", f);
            roff(f, *e);
            fputs("\n.fi\n", f);
        }
    }
    fputs(".SH EXIT STATUS\n0 success, 1 device or protocol error (for reads: any item failed), 2 bad usage.\n"
          ".SH SEE ALSO\n.BR plcio (1)\n",
          f);
    return fclose(f) == 0 ? PLCIO_EXIT_OK : cli_error(PLCIO_EXIT_FAILURE, "cannot write %s", path);
}

static int man_index(const char *dir, const cli_spec *const *specs, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/man1/plcio.1", dir);
    FILE *f = fopen(path, "w");
    if (!f) return cli_error(PLCIO_EXIT_FAILURE, "cannot write %s: %s", path, strerror(errno));
    fprintf(f,
            ".TH PLCIO 1 \"\" \"plcio %s\" \"plcio manual\"\n.SH NAME\nplcio \\- read, write, watch, mirror and "
            "simulate S7 and Modbus PLCs\n.SH SYNOPSIS\n.B plcio\n.I COMMAND\n[ARGS...]\n.br\n.B plcio "
            "\\-\\-help\n.br\n.B plcio\n.I COMMAND\n\\-\\-help\n.SH DESCRIPTION\nEvery option is written "
            "\\-\\-name VALUE or \\-\\-name=VALUE; an unknown option is refused with the list of the valid "
            "ones.\n.SH COMMANDS\n",
            plcio_version());
    for (size_t i = 0; i < n; i++) {
        char name[64];
        page_name(specs[i], name, sizeof name);
        fputs(".TP\n.B plcio ", f);
        roff(f, specs[i]->name);
        fputs("\n", f);
        roff(f, specs[i]->summary);
        fputs(" (", f);
        roff(f, name);
        fputs("(1))\n", f);
    }
    fputs(".SH EXIT STATUS\n0 success, 1 device or protocol error, 2 bad usage.\n.SH SEE ALSO\n", f);
    for (size_t i = 0; i < n; i++) {
        char name[64];
        page_name(specs[i], name, sizeof name);
        fputs(".BR ", f);
        roff(f, name);
        fprintf(f, " (1)%s\n", i + 1 < n ? "," : "");
    }
    return fclose(f) == 0 ? PLCIO_EXIT_OK : cli_error(PLCIO_EXIT_FAILURE, "cannot write %s", path);
}

/* ---- bash completion ---- */

static void words(FILE *f, const cli_spec *spec)
{
    for (const cli_opt *o = spec->opts; o && o->name; o++)
        if (!(o->flags & CLI_OPT_ALIAS)) fprintf(f, " %s", o->name);
    fputs(" --help", f);
}

static void value_options(FILE *f, const cli_spec *const *specs, size_t n, bool files)
{
    /* every option taking a value, in any command: its value is not an option */
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        const cli_spec *one[2] = {specs[i], NULL};
        const cli_spec *const *list = specs[i]->subs ? specs[i]->subs : one;
        for (; *list; list++)
            for (const cli_opt *o = (*list)->opts; o && o->name; o++) {
                if (!o->value || ((o->flags & CLI_OPT_FILE) != 0) != files) continue;
                fprintf(f, "%s%s", first ? "" : "|", o->name);
                first = false;
            }
    }
    if (first) fputs("--no-such-option", f);
}

static int completion(const char *dir, const cli_spec *const *specs, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/bash-completion/plcio", dir);
    FILE *f = fopen(path, "w");
    if (!f) return cli_error(PLCIO_EXIT_FAILURE, "cannot write %s: %s", path, strerror(errno));
    fputs("# bash completion for plcio (generated from the option tables by plcio --generate-docs)\n"
          "_plcio()\n{\n"
          "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} opts= args=\n"
          "    if [ \"$COMP_CWORD\" -eq 1 ]; then\n        COMPREPLY=($(compgen -W \"",
          f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%s", i ? " " : "", specs[i]->name);
    fputs(" --help --version\" -- \"$cur\"))\n        return\n    fi\n    case \"$prev\" in\n        ", f);
    value_options(f, specs, n, true);
    fputs(")\n            COMPREPLY=($(compgen -f -- \"$cur\"))\n            return ;;\n        ", f);
    value_options(f, specs, n, false);
    fputs(")\n            COMPREPLY=()\n            return ;;\n    esac\n    case \"${COMP_WORDS[1]}\" in\n", f);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "        %s)\n", specs[i]->name);
        if (specs[i]->subs) {
            fputs("            if [ \"$COMP_CWORD\" -eq 2 ]; then\n                args=\"", f);
            for (const cli_spec *const *s = specs[i]->subs; *s; s++)
                fprintf(f, "%s%s", s == specs[i]->subs ? "" : " ", strchr((*s)->name, ' ') + 1);
            fputs("\"\n            fi\n            case \"${COMP_WORDS[2]}\" in\n", f);
            for (const cli_spec *const *s = specs[i]->subs; *s; s++) {
                fprintf(f, "                %s) opts=\"", strchr((*s)->name, ' ') + 1);
                words(f, *s);
                fputs("\" ;;\n", f);
            }
            fputs("            esac ;;\n", f);
        } else {
            fputs("            opts=\"", f);
            words(f, specs[i]);
            fprintf(f, "\"\n            args=\"%s\" ;;\n", specs[i]->words ? specs[i]->words : "");
        }
    }
    fputs("    esac\n"
          "    if [[ \"$cur\" == -* ]]; then\n"
          "        COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
          "    else\n"
          "        COMPREPLY=($(compgen -W \"$args\" -- \"$cur\"))\n"
          "    fi\n"
          "}\n"
          "complete -o default -F _plcio plcio\n",
          f);
    return fclose(f) == 0 ? PLCIO_EXIT_OK : cli_error(PLCIO_EXIT_FAILURE, "cannot write %s", path);
}

static int make_dir(const char *dir, const char *sub)
{
    char path[4096];
    snprintf(path, sizeof path, "%s%s%s", dir, sub ? "/" : "", sub ? sub : "");
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return cli_error(PLCIO_EXIT_FAILURE, "cannot create %s: %s", path, strerror(errno));
    return PLCIO_EXIT_OK;
}

int options_generate(const char *dir, const cli_spec *const *specs, size_t n)
{
    if (strlen(dir) > 3000) return cli_error(PLCIO_EXIT_USAGE, "--generate-docs: directory name too long");
    int rc = make_dir(dir, NULL);
    if (!rc) rc = make_dir(dir, "man1");
    if (!rc) rc = make_dir(dir, "bash-completion");
    if (!rc) rc = man_index(dir, specs, n);
    for (size_t i = 0; !rc && i < n; i++)
        rc = man_page(dir, specs[i]);
    if (!rc) rc = completion(dir, specs, n);
    return rc;
}
