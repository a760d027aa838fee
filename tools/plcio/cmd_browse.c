/* plcio browse: the optimized DBs of an S7-1200/1500 (S7CommPlus), with
 * every member's name, type and access path (LID chain). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "option_rows.h"
#include "plcio/layout.h"
#include "plcio/s7plus.h"
#include "plcio/url.h"

static const cli_opt browse_opts[] = {
    OPT_ROW_JSON("one JSON object: {\"dbs\": [{\"name\", \"number\", \"members\": [{\"name\", \"type\", \"lids\"}]}]}"),
    {"--tags", NULL,
     "the PLC tags (TIA's tag table: \"Start\" = %I0.0) instead of the DBs; JSON: {\"tags\": [{\"name\", "
     "\"address\", \"type\", \"lids\"}]}",
     0},
    OPT_ROW_END,
};

static const char *const browse_examples[] = {
    "plcio browse 's7plus://192.168.0.10?ca=plc.pem'",
    "plcio browse 's7plus://127.0.0.1:1102?insecure=1' Line --json",
    "plcio browse 's7plus://127.0.0.1:1102?insecure=1' --tags",
    NULL,
};

static const cli_spec browse_spec = {
    "browse",
    "URL [DB | --tags]",
    "list the optimized DBs of an S7-1200/1500 and their members (S7CommPlus)",
    "Reads the PLC's type information over S7CommPlus (s7plus:// or s7://...?protocol=plus): every optimized\n"
    "data block with its members, their types and access paths (LID chains, in hex after the DB's access\n"
    "area, as other S7CommPlus tools print them). DB names one block (\"Line\", Line or DB10). The names print\n"
    "as plcio read/write take them: \"Line\".Motor.Speed. --tags lists the PLC tags (I, Q, M by name:\n"
    "\"Speed_SP\" = %MW10) instead. docs/s7plus.md, \"Optimized DBs by symbol\" and \"PLC tags\".",
    browse_opts,
    NULL,
    browse_examples,
    NULL,
};

static void type_text(const plcio_layout_member *m, char *buf, size_t cap)
{
    if (m->type == PLCIO_TYPE_STRING || m->type == PLCIO_TYPE_WSTRING)
        snprintf(buf, cap, "%s[%u]", plcio_type_name(m->type), m->length);
    else
        snprintf(buf, cap, "%s", plcio_type_name(m->type));
}

static void print_db(const plcio_layout *l, bool json, bool first)
{
    size_t n = plcio_layout_leaf_count(l);
    unsigned number = (unsigned)plcio_layout_db_number(l);
    if (json) {
        fputs(first ? "" : ", ", stdout);
        fputs("{\"name\": ", stdout);
        cli_json_string(stdout, plcio_layout_name(l));
        printf(", \"number\": %u, \"members\": [", number);
    } else {
        printf("DB%u \"%s\": %zu member%s\n", number, plcio_layout_name(l), n, n == 1 ? "" : "s");
    }
    for (size_t i = 0; i < n; i++) {
        plcio_layout_member m;
        if (plcio_layout_leaf(l, i, &m)) continue;
        char type[48];
        type_text(&m, type, sizeof type);
        if (json) {
            fputs(i ? ", {\"name\": " : "{\"name\": ", stdout);
            cli_json_string(stdout, m.name);
            printf(", \"type\": \"%s\", \"lids\": [", type);
            for (unsigned k = 0; k < m.nlids; k++)
                printf(k ? ", %u" : "%u", (unsigned)m.lids[k]);
            fputs("]}", stdout);
        } else {
            char path[160];
            int len = snprintf(path, sizeof path, "%X", 0x8A0E0000u + (number & 0xFFFF));
            for (unsigned k = 0; k < m.nlids && len > 0 && (size_t)len < sizeof path; k++)
                len += snprintf(path + len, sizeof path - (size_t)len, ".%X", (unsigned)m.lids[k]);
            printf("  \"%s\".%-32s %-12s %s\n", plcio_layout_name(l), m.name, type, path);
        }
    }
    if (json) fputs("]}", stdout);
}

/* "%MW10", "%I0.0" */
static void tag_address(const plcio_s7plus_tag *t, char *buf, size_t cap)
{
    static const char letters[] = {'?', 'I', 'Q', 'M'};
    char area = '?';
    if ((unsigned)t->area < sizeof letters) area = letters[t->area];
    size_t size = plcio_type_size(t->sym.type, 0);
    if (t->sym.type == PLCIO_TYPE_BOOL)
        snprintf(buf, cap, "%%%c%u.%d", area, (unsigned)t->start, t->bit < 0 ? 0 : t->bit);
    else
        snprintf(buf, cap, "%%%c%c%u", area, size == 2 ? 'W' : size == 4 ? 'D' : 'B', (unsigned)t->start);
}

static int print_tags(plcio_s7plus_client *c, bool json)
{
    plcio_s7plus_tag *tags = NULL;
    size_t n = 0;
    if (plcio_s7plus_client_browse_tags(c, &tags, &n))
        return cli_error(PLCIO_EXIT_FAILURE, "browse: %s", plcio_s7plus_client_last_error(c)->text);
    if (json) fputs("{\"tags\": [", stdout);
    if (!json) printf("PLC tags: %zu tag%s\n", n, n == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++) {
        const plcio_s7plus_tag *t = &tags[i];
        char addr[32], path[64];
        tag_address(t, addr, sizeof addr);
        snprintf(path, sizeof path, "%X.%X", (unsigned)t->sym.access_area, (unsigned)t->sym.lids[0]);
        if (json) {
            fputs(i ? ", {\"name\": " : "{\"name\": ", stdout);
            cli_json_string(stdout, t->name);
            printf(", \"address\": \"%s\", \"type\": \"%s\", \"lids\": [%u]}", addr, plcio_type_name(t->sym.type),
                   (unsigned)t->sym.lids[0]);
        } else {
            char quoted[PLCIO_S7PLUS_TAG_NAME_MAX + 2];
            snprintf(quoted, sizeof quoted, "\"%s\"", t->name);
            printf("  %-40s %-12s %-10s %s\n", quoted, plcio_type_name(t->sym.type), addr, path);
        }
    }
    if (json) fputs("]}\n", stdout);
    plcio_s7plus_tags_free(tags);
    return PLCIO_EXIT_OK;
}

static int run_browse(int argc, char **argv)
{
    const char *url = NULL, *db = NULL;
    bool json = false, tags = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = true;
        else if (!strcmp(argv[i], "--tags"))
            tags = true;
        else if (!url)
            url = argv[i];
        else if (!db)
            db = argv[i];
        else
            return cli_error(PLCIO_EXIT_USAGE, "browse: one DB at most ('%s')", argv[i]);
    }
    if (!url)
        return cli_error(PLCIO_EXIT_USAGE, "usage: plcio browse URL [DB | --tags] [--json] (plcio browse --help)");
    if (strncmp(url, "s7plus://", 9) != 0 && strncmp(url, "s7://", 5) != 0)
        return cli_error(PLCIO_EXIT_USAGE, "browse: S7CommPlus only (s7plus://HOST or s7://HOST?protocol=plus)");
    plcio_s7plus_client *c = NULL;
    plcio_error err;
    if (plcio_s7plus_client_new(url, NULL, &c, &err)) return cli_error(PLCIO_EXIT_USAGE, "%s", err.text);
    int st = PLCIO_EXIT_OK;
    plcio_layout_set *set = NULL;
    if (tags && db) {
        plcio_s7plus_client_free(c);
        return cli_error(PLCIO_EXIT_USAGE, "browse: --tags or a DB, not both");
    }
    if (tags) {
        st = plcio_s7plus_client_connect(c)
                 ? cli_error(PLCIO_EXIT_FAILURE, "browse: %s", plcio_s7plus_client_last_error(c)->text)
                 : print_tags(c, json);
        plcio_s7plus_client_free(c);
        return st;
    }
    if (plcio_s7plus_client_connect(c) || plcio_s7plus_client_browse(c, db, &set))
        st = cli_error(PLCIO_EXIT_FAILURE, "browse: %s", plcio_s7plus_client_last_error(c)->text);
    if (!st) {
        if (json) fputs("{\"dbs\": [", stdout);
        for (size_t i = 0; i < plcio_layout_set_count(set); i++)
            print_db(plcio_layout_set_get(set, i), json, i == 0);
        if (json) fputs("]}\n", stdout);
        if (!json && plcio_layout_set_count(set) == 0) printf("no optimized data blocks\n");
    }
    plcio_layout_set_free(set);
    plcio_s7plus_client_free(c);
    return st;
}

const plcio_command plcio_cmd_browse = {&browse_spec, run_browse};
