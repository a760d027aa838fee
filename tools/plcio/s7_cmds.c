/* The S7 side of plcio read / write / watch / info / blocks (s7:// URLs).
 * The cmd_*.c files dispatch here on the URL scheme. Public API only. */
#include "s7_cmds.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "commands.h"
#include "plcio/layout.h"
#include "plcio/plcio.h"
#include "plcio/value.h"

/* ---- common ---- */

typedef struct s7_tag {
    const char *text; /* as the user wrote it, or a leaf's full name (JSON key) */
    plcio_s7_address a;
    uint8_t *data; /* a.size bytes */
    char *shown;   /* last printed outcome (watch): the value's text or "!" + the error */
    char *error;   /* this item's error (NULL: data holds its value) */
} s7_tag;

static bool parse_ms(const char *v, long *out)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (end == v || *end || n < 1 || n > 3600000) return false;
    *out = n;
    return true;
}

/* --timeout MS / --password PW at argv[*i] (normalized argv: the value
 * follows). True when it was one of them; *st gets a usage error. */
static bool conn_option(char **argv, int *i, s7_conn *conn, int *st)
{
    if (!strcmp(argv[*i], "--timeout")) {
        const char *v = argv[++*i];
        if (!parse_ms(v, &conn->timeout_ms))
            *st = cli_error(PLCIO_EXIT_USAGE, "--timeout: milliseconds 1..3600000, not '%s'", v);
        return true;
    }
    if (!strcmp(argv[*i], "--password")) {
        conn->password = argv[++*i];
        if (strlen(conn->password) > 8) *st = cli_error(PLCIO_EXIT_USAGE, "--password: at most 8 characters");
        return true;
    }
    return false;
}

int s7_open_client(const s7_conn *conn, bool reconnect, plcio_s7_client **out)
{
    const char *url_text = conn->url;
    plcio_url url;
    plcio_error err;
    if (plcio_url_parse(url_text, &url, &err) != PLCIO_OK)
        return cli_error(PLCIO_EXIT_USAGE, "bad URL '%s': %s", url_text, err.text);
    plcio_s7_client_options o;
    plcio_s7_client_options_init(&o);
    if (plcio_s7_client_options_from_url(&o, &url, &err) != PLCIO_OK)
        return cli_error(PLCIO_EXIT_USAGE, "%s: %s", url_text, err.text);
    o.auto_reconnect = o.auto_reconnect || reconnect;
    if (conn->timeout_ms) {
        o.timeout_ms = (int)conn->timeout_ms;
        o.connect_timeout_ms = (int)conn->timeout_ms;
    }
    plcio_s7_client *c = NULL;
    if (plcio_s7_client_new(NULL, &o, &c, &err) != PLCIO_OK) return cli_error(PLCIO_EXIT_FAILURE, "%s", err.text);
    if (plcio_s7_client_connect(c) != PLCIO_OK ||
        (conn->password && plcio_s7_client_set_password(c, conn->password) != PLCIO_OK)) {
        int rc =
            cli_error(PLCIO_EXIT_FAILURE, "%s%s", conn->password && plcio_s7_client_is_connected(c) ? "password: " : "",
                      plcio_s7_client_last_error(c)->text);
        plcio_s7_client_free(c);
        return rc;
    }
    *out = c;
    return PLCIO_EXIT_OK;
}

/* ---- layouts: member names as addresses (--layout FILE... [--db N|NAME=N]) ---- */

typedef struct s7_layouts {
    plcio_layout_set *set; /* NULL without --layout */
    int *numbers;          /* DB number per data block of the set, -1 unknown */
    size_t n;
    bool logo;                   /* a logo:// URL: LOGO! names (I1, AI1...) and V range */
    plcio_logo_model logo_model; /* its model= */
} s7_layouts;

static void layouts_free(s7_layouts *L)
{
    plcio_layout_set_free(L->set);
    free(L->numbers);
    memset(L, 0, sizeof *L);
}

static int db_number_arg(const char *text, int *out)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (end == text || *end || v < 1 || v > 65535)
        return cli_error(PLCIO_EXIT_USAGE, "--db: a DB number 1..65535, not '%s'", text);
    *out = (int)v;
    return PLCIO_EXIT_OK;
}

/* --db N gives the number of the only data block in the layout files (and
 * overrides the number its source states); --db NAME=N names the block when
 * the files define several. */
static int apply_db_option(s7_layouts *L, const char *opt)
{
    const char *eq = strrchr(opt, '=');
    int number = 0;
    if (!eq) {
        if (L->n != 1)
            return cli_error(PLCIO_EXIT_USAGE,
                             "--db %s: the layout files define %zu data blocks; say which: --db NAME=N", opt, L->n);
        if (db_number_arg(opt, &number)) return PLCIO_EXIT_USAGE;
        L->numbers[0] = number;
        return PLCIO_EXIT_OK;
    }
    if (db_number_arg(eq + 1, &number)) return PLCIO_EXIT_USAGE;
    char *name = strndup(opt, (size_t)(eq - opt));
    if (!name) return cli_out_of_memory();
    const plcio_layout *l = plcio_layout_set_find(L->set, name);
    free(name);
    for (size_t i = 0; l && i < L->n; i++)
        if (plcio_layout_set_get(L->set, i) == l) L->numbers[i] = number;
    if (!l) return cli_error(PLCIO_EXIT_USAGE, "--db %s: no data block of that name in the layout files", opt);
    return PLCIO_EXIT_OK;
}

/* A logo:// URL's model, so that its addresses are parsed as the LOGO!'s; a bad
 * logo:// URL is refused here, before its addresses would be misread. */
static int url_logo(const char *url_text, s7_layouts *L)
{
    plcio_url url;
    plcio_error err;
    plcio_s7_client_options o;
    plcio_s7_client_options_init(&o);
    if (!url_text || plcio_url_parse(url_text, &url, NULL) != PLCIO_OK || strcmp(url.scheme, "logo") != 0)
        return PLCIO_EXIT_OK; /* not a logo:// URL: the client reports what is wrong with it */
    if (plcio_s7_client_options_from_url(&o, &url, &err) != PLCIO_OK)
        return cli_error(PLCIO_EXIT_USAGE, "%s: %s", url_text, err.text);
    L->logo = true;
    L->logo_model = o.logo_model;
    return PLCIO_EXIT_OK;
}

static int layouts_load(s7_layouts *L, const char *url, const char *const *files, size_t nf, const char *const *dbs,
                        size_t nd)
{
    memset(L, 0, sizeof *L);
    if (url_logo(url, L)) return PLCIO_EXIT_USAGE;
    if (!nf) {
        if (nd) return cli_error(PLCIO_EXIT_USAGE, "--db goes with --layout FILE");
        return PLCIO_EXIT_OK;
    }
    (void)plcio_layout_set_new(NULL, &L->set, NULL);
    if (!L->set) return cli_out_of_memory();
    int rc = PLCIO_OK;
    for (size_t i = 0; !rc && i < nf; i++)
        rc = plcio_layout_set_add_file(L->set, files[i]);
    if (!rc) rc = plcio_layout_set_resolve(L->set);
    if (rc) return cli_error(PLCIO_EXIT_USAGE, "--layout: %s", plcio_layout_set_last_error(L->set)->text);
    L->n = plcio_layout_set_count(L->set);
    if (!L->n) return cli_error(PLCIO_EXIT_USAGE, "--layout: the files define no data block (only types?)");
    L->numbers = calloc(L->n, sizeof *L->numbers);
    if (!L->numbers) return cli_out_of_memory();
    for (size_t i = 0; i < L->n; i++)
        L->numbers[i] = plcio_layout_db_number(plcio_layout_set_get(L->set, i));
    for (size_t i = 0; i < nd; i++)
        if (apply_db_option(L, dbs[i])) return PLCIO_EXIT_USAGE;
    return PLCIO_EXIT_OK;
}

/* "DB_name" (DB 10), "DB_other" (no number) ... for messages */
static void describe_dbs(const s7_layouts *L, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < L->n && used < cap; i++) {
        const char *name = plcio_layout_name(plcio_layout_set_get(L->set, i));
        int w = L->numbers[i] > 0
                    ? snprintf(buf + used, cap - used, "%s\"%s\" (DB %d)", i ? ", " : "", name, L->numbers[i])
                    : snprintf(buf + used, cap - used, "%s\"%s\"", i ? ", " : "", name);
        if (w < 0) break;
        used += (size_t)w;
    }
}

/* Look `text` up as a member: in every data block, then as `DBNAME.member`
 * (the DB name quoted or not). Returns PLCIO_OK with *index and *m, or the
 * lookup's error (PLCIO_ENOTFOUND, PLCIO_ERANGE, PLCIO_ESYNTAX, PLCIO_EEXIST
 * when the name is in several blocks). */
static int member_lookup(const s7_layouts *L, const char *text, size_t *index, plcio_layout_member *m)
{
    int best = PLCIO_ENOTFOUND, found = 0;
    for (size_t i = 0; i < L->n; i++) {
        plcio_layout_member tmp;
        int rc = plcio_layout_lookup(plcio_layout_set_get(L->set, i), text, &tmp);
        if (rc == PLCIO_OK) {
            if (found++ == 0) {
                *index = i;
                *m = tmp;
            }
        } else if (best == PLCIO_ENOTFOUND) {
            best = rc;
        }
    }
    if (found > 1) return PLCIO_EEXIST;
    if (found) return PLCIO_OK;
    const char *dot = text[0] == '"' ? strchr(text + 1, '"') : text;
    dot = dot ? strchr(dot, '.') : NULL;
    if (!dot) return best;
    char *db = strndup(text, (size_t)(dot - text));
    const plcio_layout *l = db ? plcio_layout_set_find(L->set, db) : NULL;
    free(db);
    for (size_t i = 0; l && i < L->n; i++) {
        if (plcio_layout_set_get(L->set, i) != l) continue;
        int rc = plcio_layout_lookup(l, dot + 1, m);
        if (rc == PLCIO_OK) *index = i;
        return rc;
    }
    return best;
}

static void leaf_address(const plcio_layout_member *m, int db, plcio_s7_address *a)
{
    memset(a, 0, sizeof *a);
    a->area = PLCIO_S7_AREA_DB;
    a->db = (uint16_t)db;
    a->offset = m->byte;
    a->bit = (uint8_t)(m->bit > 0 ? m->bit : 0);
    a->type = m->type;
    a->length = (uint16_t)m->length;
    a->count = 1;
    a->size = m->size;
}

/* Resolve one name: a layout member first (when layouts are loaded), then an
 * absolute address. On success *a is the address (of the member's first byte
 * for a STRUCT or ARRAY: *m tells which) and *index the block (SIZE_MAX for an
 * absolute address). Usage errors are reported. */
static int resolve_name(const s7_layouts *L, const char *text, plcio_s7_address *a, plcio_layout_member *m,
                        size_t *index, bool *read_only)
{
    *index = SIZE_MAX;
    *read_only = false;
    int lrc = L->set ? member_lookup(L, text, index, m) : PLCIO_ENOTFOUND;
    char dbs[256];
    if (lrc == PLCIO_OK) {
        if (L->numbers[*index] < 1)
            return cli_error(PLCIO_EXIT_USAGE, "%s: the source of DB \"%s\" gives no DB number: say it with --db N",
                             text, plcio_layout_name(plcio_layout_set_get(L->set, *index)));
        leaf_address(m, L->numbers[*index], a);
        return PLCIO_EXIT_OK;
    }
    plcio_error err = {0};
    if ((L->logo ? plcio_logo_address_parse(text, L->logo_model, a, read_only, &err)
                 : plcio_s7_address_parse(text, a, &err)) == PLCIO_OK)
        return PLCIO_EXIT_OK;
    if (!L->set || lrc == PLCIO_ESYNTAX) return cli_error(PLCIO_EXIT_USAGE, "%s", err.text);
    describe_dbs(L, dbs, sizeof dbs);
    if (lrc == PLCIO_EEXIST)
        return cli_error(PLCIO_EXIT_USAGE, "member '%s' is in several data blocks (%s): write DBNAME.%s", text, dbs,
                         text);
    if (lrc == PLCIO_ERANGE)
        return cli_error(PLCIO_EXIT_USAGE, "member '%s': index outside the declared bounds in %s", text, dbs);
    return cli_error(PLCIO_EXIT_USAGE, "unknown member '%s' in %s", text, dbs);
}

static int add_tag(s7_tag **tags, size_t *n, size_t *cap, const char *text, const plcio_s7_address *a)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        s7_tag *t = realloc(*tags, nc * sizeof *t);
        if (!t) return cli_out_of_memory();
        memset(t + *cap, 0, (nc - *cap) * sizeof *t);
        *tags = t;
        *cap = nc;
    }
    s7_tag *t = &(*tags)[(*n)++];
    t->text = text;
    t->a = *a;
    t->data = calloc(1, a->size ? a->size : 1);
    if (!t->data) return cli_out_of_memory();
    return PLCIO_EXIT_OK;
}

/* Every leaf inside a STRUCT or ARRAY member, one tag each named by its full
 * name (leaves are in address order; the member spans [byte, byte + size)). */
static int add_leaves(const s7_layouts *L, size_t index, const plcio_layout_member *m, s7_tag **tags, size_t *n,
                      size_t *cap)
{
    const plcio_layout *l = plcio_layout_set_get(L->set, index);
    for (size_t k = 0; k < plcio_layout_leaf_count(l); k++) {
        plcio_layout_member leaf;
        if (plcio_layout_leaf(l, k, &leaf) != PLCIO_OK) continue;
        if (leaf.byte < m->byte || leaf.byte >= m->byte + m->size) continue;
        if (m->bit >= 0 && leaf.byte == m->byte && leaf.bit < m->bit) continue;
        plcio_s7_address a;
        leaf_address(&leaf, L->numbers[index], &a);
        if (add_tag(tags, n, cap, leaf.name, &a)) return PLCIO_EXIT_FAILURE;
    }
    return PLCIO_EXIT_OK;
}

/* Addresses and member names to tags; a STRUCT or ARRAY member becomes one
 * tag per leaf. The tags point into texts and into L's set. */
static int parse_tags(const s7_layouts *L, char **texts, size_t n_texts, s7_tag **tags, size_t *n)
{
    size_t cap = 0;
    *tags = NULL;
    *n = 0;
    for (size_t i = 0; i < n_texts; i++) {
        plcio_s7_address a;
        plcio_layout_member m;
        memset(&a, 0, sizeof a);
        size_t index;
        bool read_only;
        int rc = resolve_name(L, texts[i], &a, &m, &index, &read_only);
        if (!rc && index != SIZE_MAX && m.kind != PLCIO_LAYOUT_ELEMENTARY)
            rc = add_leaves(L, index, &m, tags, n, &cap);
        else if (!rc)
            rc = add_tag(tags, n, &cap, texts[i], &a);
        if (rc) return rc;
    }
    return PLCIO_EXIT_OK;
}

static void free_tags(s7_tag *tags, size_t n)
{
    for (size_t i = 0; tags && i < n; i++) {
        free(tags[i].data);
        free(tags[i].shown);
        free(tags[i].error);
    }
    free(tags);
}

static bool is_ct(plcio_s7_area a) { return a == PLCIO_S7_AREA_CT || a == PLCIO_S7_AREA_TM; }

static void set_error(s7_tag *t, const char *why)
{
    free(t->error);
    t->error = strdup(why && why[0] ? why : "failed");
}

/* Read every tag; each gets its value or its own error (tags[i].error). The
 * status is a connection-level failure (reported) or PLCIO_EXIT_OK, also
 * when some items failed. */
static int read_tags(plcio_s7_client *c, s7_tag *tags, size_t n)
{
    plcio_s7_var *v = calloc(n ? n : 1, sizeof *v); /* calloc(0) may be NULL */
    if (!v) return cli_out_of_memory();
    for (size_t i = 0; i < n; i++) {
        const plcio_s7_address *a = &tags[i].a;
        v[i] =
            (plcio_s7_var){a->area, a->db, a->offset, is_ct(a->area) ? a->size / 2 : a->size, -1, tags[i].data, 0, 0};
        free(tags[i].error);
        tags[i].error = NULL;
    }
    int rc = plcio_s7_client_read_vars(c, v, n);
    bool first_failure = true;
    for (size_t i = 0; rc == PLCIO_EPLC && i < n; i++) {
        if (v[i].result == PLCIO_OK) continue;
        /* the library's reason is about the first failure (with the DB size when
         * the PLC told it); the others get their return code's text */
        const char *reason = plcio_s7_client_last_reason(c);
        set_error(&tags[i], first_failure && reason[0] ? reason : plcio_s7_return_code_text(v[i].item_code));
        first_failure = false;
    }
    free(v);
    if (rc && rc != PLCIO_EPLC) return cli_error(PLCIO_EXIT_FAILURE, "%s", plcio_s7_client_last_error(c)->text);
    return PLCIO_EXIT_OK;
}

static bool json_bare(plcio_type t, const char *text)
{
    switch (t) {
    case PLCIO_TYPE_BOOL:
    case PLCIO_TYPE_BYTE:
    case PLCIO_TYPE_WORD:
    case PLCIO_TYPE_DWORD:
    case PLCIO_TYPE_LWORD:
    case PLCIO_TYPE_SINT:
    case PLCIO_TYPE_USINT:
    case PLCIO_TYPE_INT:
    case PLCIO_TYPE_UINT:
    case PLCIO_TYPE_DINT:
    case PLCIO_TYPE_UDINT:
    case PLCIO_TYPE_LINT:
    case PLCIO_TYPE_ULINT: return true;
    case PLCIO_TYPE_REAL:
    case PLCIO_TYPE_LREAL: return cli_json_float_special(text) == NULL;
    default: return false;
    }
}

/* Text of element i of a tag, into buf. */
static int element_text(const s7_tag *t, uint32_t i, char *buf, size_t cap, bool json)
{
    const plcio_s7_address *a = &t->a;
    plcio_value *v = malloc(sizeof *v);
    if (!v) return PLCIO_ENOMEM;
    plcio_value_init(v, a->type);
    size_t off, len;
    unsigned bit = 0;
    if (a->type == PLCIO_TYPE_BOOL) {
        off = (a->bit + i) / 8u;
        bit = (a->bit + i) % 8u;
        len = 1;
    } else {
        len = a->size / (a->count ? a->count : 1);
        off = (size_t)i * len;
    }
    plcio_error err = {0};
    int rc = plcio_value_decode(v, a->type, a->length, t->data + off, len, bit, NULL, &err);
    size_t n = 0;
    if (!rc) rc = plcio_value_to_text(v, buf + 1, cap - 3, &n);
    const char *special = !rc && json ? cli_json_float_special(buf + 1) : NULL;
    if (special && (a->type == PLCIO_TYPE_REAL || a->type == PLCIO_TYPE_LREAL)) {
        snprintf(buf, cap, "%s", special);
    } else if (!rc && json && !json_bare(a->type, buf + 1)) {
        /* JSON string: escape into a temporary and copy back */
        char *tmp = NULL;
        size_t tlen = 0;
        FILE *f = open_memstream(&tmp, &tlen);
        if (!f) rc = PLCIO_ENOMEM;
        if (f) {
            cli_json_string(f, buf + 1);
            if (fclose(f) == 0)
                snprintf(buf, cap, "%s", tmp); /* the memory stream is complete only now */
            else
                rc = PLCIO_ENOMEM;
            free(tmp);
        }
    } else if (!rc) {
        memmove(buf, buf + 1, n + 1);
    } else {
        snprintf(buf, cap, "%s", err.text);
    }
    free(v);
    return rc;
}

/* Whole tag text: one value or "[a, b, c]". Caller frees. */
static char *tag_text(const s7_tag *t, bool json)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f) return NULL;
    char buf[2 * PLCIO_VALUE_INLINE_TEXT + 8];
    uint32_t count = t->a.count ? t->a.count : 1;
    if (count > 1) fputc('[', f);
    for (uint32_t i = 0; i < count; i++) {
        if (element_text(t, i, buf, sizeof buf, json) != PLCIO_OK) {
            (void)fclose(f); /* discarded anyway */
            free(out);
            return NULL;
        }
        fprintf(f, "%s%s", i ? ", " : "", buf);
    }
    if (count > 1) fputc(']', f);
    if (fclose(f) != 0) { /* the memory stream could not grow: its text is cut */
        free(out);
        return NULL;
    }
    return out;
}

/* Decode every tag that was read; an undecodable value becomes that item's
 * error. */
static void decode_tags(s7_tag *tags, size_t n, bool json, char **texts)
{
    for (size_t i = 0; i < n; i++) {
        texts[i] = NULL;
        if (tags[i].error) continue;
        texts[i] = tag_text(&tags[i], json);
        if (!texts[i]) {
            char why[96];
            snprintf(why, sizeof why, "the PLC's bytes are not a valid %s", plcio_type_name(tags[i].a.type));
            set_error(&tags[i], why);
        }
    }
}

/* Print each item's outcome: "ADDR = value" on stdout, a failed item as
 * "plcio: read ADDR: why" on stderr; with --json one object on stdout in
 * which a failed item is {"error": "why"}. Items with only[i] false are left
 * out. Returns PLCIO_EXIT_FAILURE when a printed item failed. */
static int print_tags(const s7_tag *tags, size_t n, bool json, const bool *only, char *const *texts)
{
    bool first = true, failed = false;
    if (json) fputc('{', stdout);
    for (size_t i = 0; i < n; i++) {
        if (only && !only[i]) continue;
        if (tags[i].error) {
            failed = true;
            fflush(stdout); /* the items in their order, also when both streams go to one pipe */
            if (!json) cli_error(PLCIO_EXIT_FAILURE, "read %s: %s", tags[i].text, tags[i].error);
        }
        if (json) {
            if (!first) fputs(", ", stdout);
            cli_json_string(stdout, tags[i].text);
            fputs(": ", stdout);
            if (tags[i].error) {
                fputs("{\"error\": ", stdout);
                cli_json_string(stdout, tags[i].error);
                fputc('}', stdout);
            } else {
                fputs(texts[i], stdout);
            }
        } else if (!tags[i].error) {
            printf("%s = %s\n", tags[i].text, texts[i]);
        }
        first = false;
    }
    if (json) fputs("}\n", stdout);
    fflush(stdout);
    /* JSON: the reasons on stderr after the document, which stays whole */
    for (size_t i = 0; json && i < n; i++)
        if ((!only || only[i]) && tags[i].error)
            cli_error(PLCIO_EXIT_FAILURE, "read %s: %s", tags[i].text, tags[i].error);
    return failed ? PLCIO_EXIT_FAILURE : PLCIO_EXIT_OK;
}

static void free_texts(char **texts, size_t n)
{
    for (size_t i = 0; texts && i < n; i++)
        free(texts[i]);
    free(texts);
}

/* Options shared by the reading commands; addresses are collected in texts. */
typedef struct read_args {
    s7_conn conn;
    char **texts;
    size_t n;
    bool json;
    long interval_ms;
    long count;
    const char **layouts; /* --layout FILE (repeatable) */
    size_t n_layouts;
    const char **dbs; /* --db N | NAME=N (repeatable) */
    size_t n_dbs;
} read_args;

static void read_args_free(read_args *ra)
{
    free(ra->texts);
    free(ra->layouts);
    free(ra->dbs);
}

/* --layout FILE and --db N|NAME=N, collected into files/dbs (argc slots each).
 * Returns true if argv[*i] was one of them; *bad on a missing value. */
static bool layout_option(int argc, char **argv, int *i, const char **files, size_t *nf, const char **dbs, size_t *nd,
                          bool *bad)
{
    const char *val = NULL;
    if (cli_option(argc, argv, i, "--layout", &val, bad)) {
        if (!*bad) files[(*nf)++] = val;
        return true;
    }
    if (cli_option(argc, argv, i, "--db", &val, bad)) {
        if (!*bad) dbs[(*nd)++] = val;
        return true;
    }
    return false;
}

static int parse_read_args(int argc, char **argv, read_args *ra, bool watch)
{
    memset(ra, 0, sizeof *ra);
    ra->interval_ms = 1000;
    ra->texts = calloc((size_t)argc, sizeof *ra->texts);
    ra->layouts = calloc((size_t)argc, sizeof *ra->layouts);
    ra->dbs = calloc((size_t)argc, sizeof *ra->dbs);
    if (!ra->texts || !ra->layouts || !ra->dbs) return cli_out_of_memory();
    for (int i = 1; i < argc; i++) {
        const char *val = NULL;
        bool bad = false;
        int st = PLCIO_EXIT_OK;
        if (conn_option(argv, &i, &ra->conn, &st)) {
            if (st) return st;
        } else if (layout_option(argc, argv, &i, ra->layouts, &ra->n_layouts, ra->dbs, &ra->n_dbs, &bad)) {
            if (bad) return PLCIO_EXIT_USAGE;
        } else if (cli_option(argc, argv, &i, "--json", NULL, &bad)) {
            ra->json = true;
        } else if (watch && cli_option(argc, argv, &i, "--interval", &val, &bad)) {
            if (bad) return PLCIO_EXIT_USAGE;
            char *end;
            ra->interval_ms = strtol(val, &end, 10);
            if (*end || ra->interval_ms < 1 || ra->interval_ms > 86400000)
                return cli_error(PLCIO_EXIT_USAGE, "--interval: milliseconds 1..86400000, not '%s'", val);
        } else if (watch && cli_option(argc, argv, &i, "--count", &val, &bad)) {
            if (bad) return PLCIO_EXIT_USAGE;
            char *end;
            ra->count = strtol(val, &end, 10);
            if (*end || ra->count < 0) return cli_error(PLCIO_EXIT_USAGE, "--count: a number of polls, not '%s'", val);
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            return cli_error(PLCIO_EXIT_USAGE, "%s: unknown option '%s'", argv[0], argv[i]);
        } else if (!ra->conn.url) {
            ra->conn.url = argv[i];
        } else {
            ra->texts[ra->n++] = argv[i];
        }
    }
    if (!ra->conn.url || !ra->n)
        return cli_error(PLCIO_EXIT_USAGE, "usage: plcio %s URL ADDR... [--layout FILE]... [--db N|NAME=N]", argv[0]);
    return PLCIO_EXIT_OK;
}

/* ---- read ---- */

int s7_cli_read(int argc, char **argv)
{
    read_args ra;
    s7_layouts L = {0};
    s7_tag *tags = NULL;
    size_t n = 0;
    int rc = parse_read_args(argc, argv, &ra, false);
    plcio_s7_client *c = NULL;
    if (!rc) rc = layouts_load(&L, ra.conn.url, ra.layouts, ra.n_layouts, ra.dbs, ra.n_dbs);
    if (!rc) rc = parse_tags(&L, ra.texts, ra.n, &tags, &n);
    if (!rc) rc = s7_open_client(&ra.conn, false, &c);
    if (!rc) rc = read_tags(c, tags, n);
    char **texts = rc ? NULL : calloc(n ? n : 1, sizeof *texts);
    if (!rc && !texts) rc = cli_out_of_memory();
    if (!rc) {
        decode_tags(tags, n, ra.json, texts);
        rc = print_tags(tags, n, ra.json, NULL, texts);
    }
    free_texts(texts, n);
    plcio_s7_client_free(c);
    free_tags(tags, n);
    layouts_free(&L);
    read_args_free(&ra);
    return rc;
}

/* ---- write ---- */

/* The variables of a write: one per item, one per element of a BOOL array
 * (bit writes leave the other bits of their bytes alone). */
typedef struct write_plan {
    plcio_s7_var *vars;
    size_t *item; /* the item each variable belongs to */
    uint8_t **bufs;
    size_t n, cap;
} write_plan;

static int plan_add(write_plan *p, size_t item, const plcio_s7_var *v)
{
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 16;
        plcio_s7_var *vars = realloc(p->vars, nc * sizeof *vars);
        if (vars) p->vars = vars;
        size_t *items = realloc(p->item, nc * sizeof *items);
        if (items) p->item = items;
        uint8_t **bufs = realloc(p->bufs, nc * sizeof *bufs);
        if (bufs) p->bufs = bufs;
        if (!vars || !items || !bufs) return cli_out_of_memory();
        p->cap = nc;
    }
    p->vars[p->n] = *v;
    p->item[p->n] = item;
    p->bufs[p->n] = v->data;
    p->n++;
    return PLCIO_EXIT_OK;
}

static void plan_free(write_plan *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->bufs[i]);
    free(p->vars);
    free(p->item);
    free(p->bufs);
}

/* Element k of a write (text) encoded into buf (elem bytes), or the BOOL's
 * bit into *bit. Usage errors name the address. */
static int encode_element(const plcio_s7_address *a, const char *arg, const char *text, uint8_t *buf, size_t elem,
                          bool *bit)
{
    plcio_value *val = malloc(sizeof *val);
    if (!val) return cli_out_of_memory();
    plcio_error err = {0};
    plcio_value_init(val, a->type);
    int rc = PLCIO_EXIT_OK;
    if (plcio_value_from_text(val, a->type, a->length, text, strlen(text), &err) != PLCIO_OK ||
        (a->type != PLCIO_TYPE_BOOL && plcio_value_encode(val, buf, elem, 0, NULL, &err) != PLCIO_OK))
        rc = cli_error(PLCIO_EXIT_USAGE, "write %s=%s: %s", arg, text, err.text);
    else if (a->type == PLCIO_TYPE_BOOL)
        *bit = val->v.b;
    free(val);
    return rc;
}

/* One ADDR=VALUE argument (arg is cut at '=' meanwhile) to variables of the
 * plan; an array address takes one value per element ("1,2,3" or "[1, 2, 3]"). */
static int write_item(const s7_layouts *L, char *arg, size_t item, write_plan *plan)
{
    char *eq = strchr(arg, '=');
    if (!eq) return cli_error(PLCIO_EXIT_USAGE, "write: '%s' is not ADDR=VALUE", arg);
    *eq = '\0';
    plcio_s7_address a;
    plcio_layout_member m;
    memset(&a, 0, sizeof a);
    memset(&m, 0, sizeof m);
    size_t index;
    bool read_only;
    int rc = resolve_name(L, arg, &a, &m, &index, &read_only);
    if (!rc && read_only)
        rc = cli_error(PLCIO_EXIT_USAGE, "write %s: an input of the LOGO!, read-only (the LOGO! writes it every cycle)",
                       arg);
    if (!rc && index != SIZE_MAX && m.kind != PLCIO_LAYOUT_ELEMENTARY)
        rc = cli_error(PLCIO_EXIT_USAGE, "write %s: a %s; write its members one at a time", arg,
                       m.kind == PLCIO_LAYOUT_STRUCT ? "STRUCT" : "whole ARRAY");
    uint32_t count = a.count ? a.count : 1;
    char *copy = rc ? NULL : strdup(eq + 1);
    char **values = rc ? NULL : calloc(strlen(eq + 1) + 2, sizeof *values);
    if (!rc && (!copy || !values)) rc = cli_out_of_memory();
    if (!rc && count > 1) {
        size_t nv = cli_split_array(copy, values, strlen(eq + 1) + 2);
        if (nv != count)
            rc = cli_error(PLCIO_EXIT_USAGE, "write %s: %u values wanted (comma-separated), got %zu", arg,
                           (unsigned)count, nv);
    } else if (!rc) {
        values[0] = eq + 1;
    }
    size_t elem = a.type == PLCIO_TYPE_BOOL ? 1 : a.size / count;
    uint8_t *buf = rc || a.type == PLCIO_TYPE_BOOL ? NULL : calloc(1, a.size ? a.size : 1);
    if (!rc && a.type != PLCIO_TYPE_BOOL && !buf) rc = cli_out_of_memory();
    for (uint32_t k = 0; !rc && k < count; k++) {
        bool bit = false;
        rc = encode_element(&a, arg, values[k], buf ? buf + (size_t)k * elem : NULL, elem, &bit);
        if (rc || a.type != PLCIO_TYPE_BOOL) continue;
        /* a BOOL goes out as a bit write: the other bits of its byte stay */
        uint8_t *b = malloc(1);
        if (!b) {
            rc = cli_out_of_memory();
            break;
        }
        b[0] = bit ? 1 : 0;
        unsigned pos = a.bit + k;
        plcio_s7_var v = {a.area, a.db, a.offset + pos / 8u, 1, (int)(pos % 8u), b, 0, 0};
        if ((rc = plan_add(plan, item, &v)) != PLCIO_EXIT_OK) free(b);
    }
    if (!rc && buf) {
        plcio_s7_var v = {a.area, a.db, a.offset, is_ct(a.area) ? a.size / 2 : a.size, -1, buf, 0, 0};
        rc = plan_add(plan, item, &v);
        if (!rc) buf = NULL; /* the plan owns it */
    }
    free(buf);
    free(copy);
    free(values);
    *eq = '=';
    return rc;
}

/* Every value is checked and encoded before anything is sent; then all
 * go out in one multi-variable write (pipelined PDUs), and each refusal is
 * reported with the address as written. */
int s7_cli_write(int argc, char **argv)
{
    s7_conn conn = {0};
    char **items = calloc((size_t)argc, sizeof *items);
    const char **files = calloc((size_t)argc, sizeof *files), **dbs = calloc((size_t)argc, sizeof *dbs);
    size_t n = 0, nf = 0, nd = 0;
    s7_layouts L = {0};
    write_plan plan = {0};
    int rc = items && files && dbs ? PLCIO_EXIT_OK : cli_out_of_memory();
    for (int i = 1; !rc && i < argc; i++) {
        bool bad = false;
        if (conn_option(argv, &i, &conn, &rc)) {
        } else if (layout_option(argc, argv, &i, files, &nf, dbs, &nd, &bad)) {
            if (bad) rc = PLCIO_EXIT_USAGE;
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            rc = cli_error(PLCIO_EXIT_USAGE, "write: unknown option '%s'", argv[i]);
        } else if (!conn.url) {
            conn.url = argv[i];
        } else {
            items[n++] = argv[i];
        }
    }
    if (!rc && (!conn.url || !n))
        rc = cli_error(PLCIO_EXIT_USAGE, "usage: plcio write URL ADDR=VALUE... (plcio write --help)");
    if (!rc) rc = layouts_load(&L, conn.url, files, nf, dbs, nd);
    for (size_t i = 0; !rc && i < n; i++)
        rc = write_item(&L, items[i], i, &plan);
    plcio_s7_client *c = NULL;
    if (!rc) rc = s7_open_client(&conn, false, &c);
    if (!rc) {
        int e = plcio_s7_client_write_vars(c, plan.vars, plan.n);
        if (e == PLCIO_EPLC) {
            bool first_failure = true;
            size_t reported = SIZE_MAX;
            for (size_t i = 0; i < plan.n; i++) {
                if (plan.vars[i].result == PLCIO_OK || plan.item[i] == reported) continue;
                /* the library's reason is about the first failure (with the DB size
                 * when the PLC told it); the others get their return code's text */
                const char *why = first_failure && plcio_s7_client_last_reason(c)[0]
                                      ? plcio_s7_client_last_reason(c)
                                      : plcio_s7_return_code_text(plan.vars[i].item_code);
                const char *arg = items[plan.item[i]];
                cli_error(PLCIO_EXIT_FAILURE, "write %.*s: %s", (int)(strchr(arg, '=') - arg), arg, why);
                first_failure = false;
                reported = plan.item[i];
            }
            rc = PLCIO_EXIT_FAILURE;
        } else if (e) {
            rc = cli_error(PLCIO_EXIT_FAILURE, "%s", plcio_s7_client_last_error(c)->text);
        }
    }
    plcio_s7_client_free(c);
    plan_free(&plan);
    layouts_free(&L);
    free(items);
    free(files);
    free(dbs);
    return rc;
}

/* ---- watch ---- */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

int s7_cli_watch(int argc, char **argv)
{
    read_args ra;
    s7_layouts L = {0};
    s7_tag *tags = NULL;
    size_t n = 0;
    bool *changed = NULL;
    int rc = parse_read_args(argc, argv, &ra, true);
    plcio_s7_client *c = NULL;
    if (!rc) rc = layouts_load(&L, ra.conn.url, ra.layouts, ra.n_layouts, ra.dbs, ra.n_dbs);
    if (!rc) rc = parse_tags(&L, ra.texts, ra.n, &tags, &n);
    if (!rc && !(changed = calloc(n ? n : 1, sizeof *changed))) rc = cli_out_of_memory();
    char **texts = rc ? NULL : calloc(n ? n : 1, sizeof *texts);
    if (!rc && !texts) rc = cli_out_of_memory();
    if (!rc) rc = s7_open_client(&ra.conn, true, &c);
    int last = PLCIO_EXIT_OK; /* the outcome of the latest poll */
    for (long poll = 0; !rc && (ra.count == 0 || poll < ra.count); poll++) {
        if (poll) sleep_ms(ra.interval_ms);
        if (read_tags(c, tags, n) != PLCIO_EXIT_OK) {
            last = PLCIO_EXIT_FAILURE;
            continue; /* keep watching: the client reconnects with backoff */
        }
        for (size_t i = 0; i < n; i++) {
            free(texts[i]);
            texts[i] = NULL;
        }
        decode_tags(tags, n, ra.json, texts);
        bool any = false;
        last = PLCIO_EXIT_OK;
        for (size_t i = 0; i < n; i++) {
            /* the outcome as shown: the value's text, or "!" and the error */
            char *shown;
            if (tags[i].error) {
                if ((shown = malloc(strlen(tags[i].error) + 2)) != NULL)
                    snprintf(shown, strlen(tags[i].error) + 2, "!%s", tags[i].error);
            } else {
                shown = strdup(texts[i] ? texts[i] : "");
            }
            if (tags[i].error) last = PLCIO_EXIT_FAILURE;
            changed[i] = shown && (!tags[i].shown || strcmp(shown, tags[i].shown) != 0);
            if (changed[i]) {
                free(tags[i].shown);
                tags[i].shown = shown;
                any = true;
            } else {
                free(shown);
            }
        }
        if (any) (void)print_tags(tags, n, ra.json, changed, texts);
    }
    if (!rc && ra.count) rc = last;
    free_texts(texts, n);
    plcio_s7_client_free(c);
    free_tags(tags, n);
    free(changed);
    layouts_free(&L);
    read_args_free(&ra);
    return rc;
}

/* ---- info ---- */

static void kv(bool json, bool *first, const char *key, const char *value)
{
    if (json) {
        printf("%s", *first ? "{" : ", ");
        cli_json_string(stdout, key);
        fputs(": ", stdout);
        cli_json_string(stdout, value);
    } else {
        printf("%-18s %s\n", key, value);
    }
    *first = false;
}

static void kvi(bool json, bool *first, const char *key, long value)
{
    if (json) {
        printf("%s", *first ? "{" : ", ");
        cli_json_string(stdout, key);
        printf(": %ld", value);
    } else {
        printf("%-18s %ld\n", key, value);
    }
    *first = false;
}

/* The URL, --json and the connection options; other positional arguments
 * go to rest (NULL: none allowed), at most cap of them. */
int s7_conn_args(int argc, char **argv, s7_conn *conn, bool *json, const char **rest, size_t cap, size_t *n_rest)
{
    memset(conn, 0, sizeof *conn);
    if (json) *json = false;
    if (n_rest) *n_rest = 0;
    for (int i = 1; i < argc; i++) {
        int st = PLCIO_EXIT_OK;
        if (conn_option(argv, &i, conn, &st)) {
            if (st) return st;
        } else if (json && !strcmp(argv[i], "--json")) {
            *json = true;
        } else if (argv[i][0] == '-' && argv[i][1] == '-' && argv[i][2]) {
            return cli_error(PLCIO_EXIT_USAGE, "%s: unknown option '%s'", argv[0], argv[i]);
        } else if (!conn->url) {
            conn->url = argv[i];
        } else if (rest && *n_rest < cap) {
            rest[(*n_rest)++] = argv[i];
        } else {
            return cli_error(PLCIO_EXIT_USAGE, "%s: unexpected argument '%s'", argv[0], argv[i]);
        }
    }
    if (!conn->url) return cli_error(PLCIO_EXIT_USAGE, "usage: plcio %s URL... (plcio %s --help)", argv[0], argv[0]);
    return PLCIO_EXIT_OK;
}

/* The SZL lists plcio_s7_client_cpu_info reads, asked one by one to name
 * the ones the PLC refuses and why. */
static const struct {
    uint16_t id, index;
    const char *what;
} info_lists[] = {
    {0x001C, 0, "component identification (module type, serial, AS name)"},
    {0x0011, 0, "module identification (order code, firmware)"},
    {0x0424, 0, "CPU state"},
    {0x0232, 4, "protection level"},
    {0x0131, 1, "communication capabilities (max PDU, connections)"},
};
#define INFO_LISTS (sizeof info_lists / sizeof info_lists[0])

int s7_cli_info(int argc, char **argv)
{
    s7_conn conn;
    bool json;
    int rc = s7_conn_args(argc, argv, &conn, &json, NULL, 0, NULL);
    plcio_s7_client *c = NULL;
    if (!rc) rc = s7_open_client(&conn, false, &c);
    if (rc) return rc;
    plcio_s7_cpu_info ci;
    memset(&ci, 0, sizeof ci);
    int info_rc = plcio_s7_client_cpu_info(c, &ci);
    char refused[INFO_LISTS][1024];
    size_t n_refused = 0;
    uint8_t *buf = malloc(65536);
    if (!buf) {
        plcio_s7_client_free(c);
        return cli_out_of_memory();
    }
    bool ok[INFO_LISTS] = {false};
    for (size_t k = 0; k < INFO_LISTS; k++) {
        size_t len = 0;
        ok[k] = plcio_s7_client_read_szl(c, info_lists[k].id, info_lists[k].index, buf, 65536, &len) == PLCIO_OK;
        refused[k][0] = '\0';
        if (!ok[k]) {
            snprintf(refused[k], sizeof refused[k], "%.1000s", plcio_s7_client_last_error(c)->text);
            n_refused++;
            if (!plcio_s7_client_is_connected(c) && plcio_s7_client_connect(c) != PLCIO_OK) break;
        }
    }
    free(buf);
    bool first = true;
    if (ok[0]) {
        kv(json, &first, "module_type", ci.module_type);
        kv(json, &first, "serial", ci.serial);
        kv(json, &first, "as_name", ci.as_name);
        kv(json, &first, "module_name", ci.module_name);
        kv(json, &first, "copyright", ci.copyright);
    }
    if (ok[1]) {
        kv(json, &first, "order_code", ci.order_code);
        kv(json, &first, "firmware", ci.firmware);
    }
    if (ok[2]) kv(json, &first, "state", ci.cpu_state == 0x08 ? "RUN" : ci.cpu_state == 0x04 ? "STOP" : "unknown");
    if (ok[3]) kvi(json, &first, "protection_level", ci.protection_level);
    if (ok[4]) {
        kvi(json, &first, "max_pdu", ci.max_pdu);
        kvi(json, &first, "max_connections", ci.max_connections);
    }
    kvi(json, &first, "negotiated_pdu", (long)plcio_s7_client_pdu_size(c));
    kvi(json, &first, "parallel_jobs", (long)plcio_s7_client_parallel_jobs(c));
    if (json) {
        /* "refused": {"0x0131": "why", ...}: the lists whose fields are left out */
        fputs(", \"refused\": {", stdout);
        bool f = true;
        for (size_t k = 0; k < INFO_LISTS; k++) {
            if (ok[k]) continue;
            printf("%s\"0x%04X\": ", f ? "" : ", ", info_lists[k].id);
            cli_json_string(stdout, refused[k]);
            f = false;
        }
        fputs("}}\n", stdout);
    } else {
        for (size_t k = 0; k < INFO_LISTS; k++)
            if (!ok[k])
                printf("%-18s SZL 0x%04X index %u, %s: %s\n", "refused", info_lists[k].id, info_lists[k].index,
                       info_lists[k].what, refused[k]);
    }
    fflush(stdout);
    plcio_s7_client_free(c);
    /* nothing at all could be read: a failure; some lists refused: their
     * fields are left out and named, which is the answer */
    if (n_refused == INFO_LISTS)
        return cli_error(PLCIO_EXIT_FAILURE, "info: the PLC refused every SZL request (%s)",
                         info_rc ? plcio_strerror(info_rc) : "");
    return PLCIO_EXIT_OK;
}

/* ---- blocks ---- */

int s7_cli_blocks(int argc, char **argv)
{
    s7_conn conn;
    bool json;
    int rc = s7_conn_args(argc, argv, &conn, &json, NULL, 0, NULL);
    plcio_s7_client *c = NULL;
    if (!rc) rc = s7_open_client(&conn, false, &c);
    plcio_s7_block_count bc;
    if (!rc && plcio_s7_client_list_blocks(c, &bc) != PLCIO_OK)
        rc = cli_error(PLCIO_EXIT_FAILURE, "%s", plcio_s7_client_last_error(c)->text);
    static const char *const names[] = {"OB", "FB", "FC", "DB", "SDB", "SFC", "SFB"};
    unsigned counts[7];
    if (!rc) {
        unsigned tmp[7] = {bc.ob, bc.fb, bc.fc, bc.db, bc.sdb, bc.sfc, bc.sfb};
        memcpy(counts, tmp, sizeof counts);
    }
    uint16_t *nums = rc ? NULL : malloc(65536 * sizeof *nums);
    if (!rc && !nums) rc = cli_out_of_memory();
    if (!rc && json) fputc('{', stdout);
    for (int t = 0; !rc && t < 7; t++) {
        size_t n = 0;
        if (counts[t] && plcio_s7_client_list_blocks_of_type(c, names[t], nums, 65536, &n) != PLCIO_OK) {
            rc = cli_error(PLCIO_EXIT_FAILURE, "%s", plcio_s7_client_last_error(c)->text);
            break;
        }
        if (json) {
            printf("%s\"%s\": [", t ? ", " : "", names[t]);
            for (size_t i = 0; i < n; i++)
                printf("%s%u", i ? ", " : "", nums[i]);
            fputc(']', stdout);
        } else {
            printf("%-4s %5u", names[t], counts[t]);
            for (size_t i = 0; i < n; i++)
                printf("%s%u", i ? " " : "  ", nums[i]);
            fputc('\n', stdout);
        }
    }
    if (!rc && json) fputs("}\n", stdout);
    free(nums);
    plcio_s7_client_free(c);
    return rc;
}
