/* plcio layout FILE... [--json] [--assume-standard]
 *
 * Reads TIA Portal / STEP 7 DB sources (and the UDT and FB files they need)
 * and prints every leaf member with its absolute address, size and start
 * value, and each DB's length. With several DBs the JSON output is an array
 * of DB objects; with one DB it is that object. Files holding only user
 * types print each type's layout instead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "plcio/plcio.h"

static void type_text(const plcio_layout_member *m, char *buf, size_t cap)
{
    if (m->type == PLCIO_TYPE_STRING || m->type == PLCIO_TYPE_WSTRING)
        snprintf(buf, cap, "%s[%u]", plcio_type_name(m->type), m->length);
    else
        snprintf(buf, cap, "%s", plcio_type_name(m->type));
}

static int print_text(const plcio_layout *l, const uint8_t *image)
{
    size_t n = plcio_layout_leaf_count(l);
    int width = 4;
    for (size_t i = 0; i < n; i++) {
        plcio_layout_member m;
        plcio_layout_leaf(l, i, &m);
        int w = (int)strlen(m.name);
        if (w > width) width = w;
    }
    if (width > 60) width = 60;
    printf("%s", plcio_layout_name(l));
    if (plcio_layout_db_number(l) >= 0) printf(" (DB%d)", plcio_layout_db_number(l));
    printf(": %u bytes, %zu members\n", plcio_layout_size(l), n);
    printf("  %-*s  %-14s  %-8s  %5s  %s\n", width, "NAME", "TYPE", "ADDRESS", "SIZE", "START");
    for (size_t i = 0; i < n; i++) {
        plcio_layout_member m;
        char type[32], addr[24], start[1024];
        plcio_layout_leaf(l, i, &m);
        type_text(&m, type, sizeof type);
        snprintf(addr, sizeof addr, "%u.%d", m.byte, m.bit < 0 ? 0 : m.bit);
        if (plcio_layout_format_value(&m, image, plcio_layout_size(l), start, sizeof start, 0) != PLCIO_OK)
            snprintf(start, sizeof start, "%s", m.start ? m.start : "?");
        printf("  %-*s  %-14s  %-8s  %5u  %s\n", width, m.name, type, addr, m.size, start);
    }
    return 0;
}

static int print_json(const plcio_layout *l, const uint8_t *image)
{
    size_t n = plcio_layout_leaf_count(l);
    fputs("{\"name\": ", stdout);
    cli_json_string(stdout, plcio_layout_name(l));
    printf(", \"size\": %u, \"members\": [", plcio_layout_size(l));
    for (size_t i = 0; i < n; i++) {
        plcio_layout_member m;
        char type[32], start[100000];
        plcio_layout_leaf(l, i, &m);
        type_text(&m, type, sizeof type);
        fputs(i ? ", {\"name\": " : "{\"name\": ", stdout);
        cli_json_string(stdout, m.name);
        printf(", \"type\": \"%s\", \"byte\": %u, \"bit\": ", type, m.byte);
        if (m.bit < 0)
            fputs("null", stdout);
        else
            printf("%d", m.bit);
        printf(", \"size\": %u, \"start\": ", m.size);
        if (plcio_layout_format_value(&m, image, plcio_layout_size(l), start, sizeof start, PLCIO_LAYOUT_JSON) ==
            PLCIO_OK)
            fputs(start, stdout);
        else
            fputs("null", stdout);
        fputc('}', stdout);
    }
    fputs("]}", stdout);
    return 0;
}

static int print_layout(const plcio_layout *l, bool json)
{
    uint32_t size = plcio_layout_size(l);
    uint8_t *image = malloc(size ? size : 1);
    if (!image) return cli_out_of_memory();
    int rc = plcio_layout_start_image(l, image, size);
    if (rc != PLCIO_OK) {
        free(image);
        return cli_error(PLCIO_EXIT_FAILURE, "%s: start values: %s", plcio_layout_name(l), plcio_strerror(rc));
    }
    if (json)
        print_json(l, image);
    else
        print_text(l, image);
    free(image);
    return 0;
}

static int usage_error(const char *msg)
{
    cli_error(PLCIO_EXIT_USAGE, "layout: %s", msg);
    fprintf(stderr, "usage: plcio layout FILE... [--json] [--assume-standard]\n");
    return PLCIO_EXIT_USAGE;
}

static int run_layout(int argc, char **argv)
{
    bool json = false;
    plcio_layout_options opts = {0};
    int nfiles = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = true;
        else if (!strcmp(argv[i], "--assume-standard"))
            opts.assume_standard = true;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: plcio layout FILE... [--json] [--assume-standard]\n"
                   "Print the members of the data blocks in TIA Portal / STEP 7 sources with their\n"
                   "standard-access addresses, sizes and start values. Give the files that define the\n"
                   "UDTs and FBs the DBs use too, in any order.\n"
                   "  --json             one JSON object per DB (an array when there are several)\n"
                   "  --assume-standard  lay out TIA DBs without an S7_Optimized_Access attribute as\n"
                   "                     standard access (TIA's default for them is optimized)\n");
            return PLCIO_EXIT_OK;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            char msg[128];
            snprintf(msg, sizeof msg, "unknown option '%.60s'", argv[i]);
            return usage_error(msg);
        } else
            nfiles++;
    }
    if (nfiles == 0) return usage_error("no layout file given");

    plcio_layout_set *set = NULL;

    (void)plcio_layout_set_new(&opts, &set, NULL);
    if (!set) return cli_out_of_memory();
    int rc = PLCIO_OK;
    for (int i = 1; i < argc && rc == PLCIO_OK; i++)
        if (argv[i][0] != '-' || argv[i][1] == '\0') rc = plcio_layout_set_add_file(set, argv[i]);
    if (rc == PLCIO_OK) rc = plcio_layout_set_resolve(set);
    if (rc != PLCIO_OK) {
        cli_error(PLCIO_EXIT_FAILURE, "%s", plcio_layout_set_last_error(set)->text);
        plcio_layout_set_free(set);
        return PLCIO_EXIT_FAILURE;
    }
    for (size_t i = 0; i < plcio_layout_set_warning_count(set); i++)
        fprintf(stderr, "plcio: warning: %s\n", plcio_layout_set_warning(set, i));

    bool dbs = plcio_layout_set_count(set) > 0;
    size_t n = dbs ? plcio_layout_set_count(set) : plcio_layout_set_type_count(set);
    if (n == 0) {
        plcio_layout_set_free(set);
        return cli_error(PLCIO_EXIT_FAILURE, "no DATA_BLOCK or TYPE in the files given");
    }
    if (!dbs && !json) printf("no DATA_BLOCK in the files; layouts of the user types:\n");
    if (json && n > 1) fputc('[', stdout);
    int status = PLCIO_EXIT_OK;
    for (size_t i = 0; i < n && status == PLCIO_EXIT_OK; i++) {
        const plcio_layout *l = dbs ? plcio_layout_set_get(set, i) : plcio_layout_set_type(set, i);
        if (i && json) fputs(", ", stdout);
        if (i && !json) fputc('\n', stdout);
        status = print_layout(l, json);
    }
    if (json && n > 1) fputc(']', stdout);
    if (json) fputc('\n', stdout);
    plcio_layout_set_free(set);
    return status;
}

static const cli_opt layout_opts[] = {
    {"--json", NULL, "one JSON object per DB (an array when there are several)", 0},
    {"--assume-standard", NULL,
     "lay out TIA DBs without an S7_Optimized_Access attribute as standard access (TIA's default is optimized)", 0},
    {NULL, NULL, NULL, 0},
};

static const cli_spec layout_spec = {
    "layout",
    "FILE...",
    "show the members, addresses and start values of TIA/STEP 7 data blocks",
    "Give the files that define the UDTs and FBs the DBs use too, in any order.",
    layout_opts,
    NULL,
    NULL,
    NULL,
};

const plcio_command plcio_cmd_layout = {&layout_spec, run_layout};
