/* PLC tag tables (TIA Portal's "PLC tags": "Start" = %I0.0) as text, for the
 * simulator: `Name;Address;Data type` lines, or a TIA export saved as CSV
 * with a header line naming its columns (plcio/s7plus.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "plcio/address.h"
#include "plcio/s7plus.h"
#include "s7plus/s7p_codec.h"
#include "s7plus/s7p_sym.h"

#define TAGS_MAX      65535u
#define LINE_MAX_     1024u
#define FIELDS_MAX    16
#define FILE_MAX      (16u << 20)
#define FIRST_TAG_LID 10u

void plcio_s7plus_tags_free(plcio_s7plus_tag *tags) { free(tags); }

typedef struct field {
    const char *p;
    size_t n;
} field;

/* Split a line at sep into fields, trimmed, surrounding quotes removed
 * (a doubled quote inside stays doubled: names with quotes are refused). */
static size_t split(const char *line, size_t len, char sep, field *f, size_t cap)
{
    size_t n = 0, at = 0;
    while (n < cap) {
        size_t end = at;
        bool quoted = false;
        while (end < len && (quoted || line[end] != sep)) {
            if (line[end] == '"') quoted = !quoted;
            end++;
        }
        const char *p = line + at;
        size_t l = end - at;
        while (l && isspace((unsigned char)*p)) {
            p++;
            l--;
        }
        while (l && isspace((unsigned char)p[l - 1]))
            l--;
        if (l >= 2 && p[0] == '"' && p[l - 1] == '"') {
            p++;
            l -= 2;
        }
        f[n++] = (field){p, l};
        if (end >= len) break;
        at = end + 1;
    }
    return n;
}

static char separator(const char *line, size_t len)
{
    static const char seps[] = {';', '\t', ','};
    for (size_t k = 0; k < sizeof seps; k++)
        if (memchr(line, seps[k], len)) return seps[k];
    return ';';
}

static bool field_is(const field *f, const char *word)
{
    return f->n == strlen(word) && strncasecmp(f->p, word, f->n) == 0;
}

typedef struct columns {
    int name, address, type;
} columns;

/* A header line names the columns: TIA's export has "Name", "Path", "Data
 * Type", "Logical Address", "Comment", ... */
static bool header(const field *f, size_t n, columns *c)
{
    columns h = {-1, -1, -1};
    for (size_t k = 0; k < n; k++) {
        if (field_is(&f[k], "Name")) h.name = (int)k;
        if (field_is(&f[k], "Logical Address") || field_is(&f[k], "Address")) h.address = (int)k;
        if (field_is(&f[k], "Data Type") || field_is(&f[k], "DataType") || field_is(&f[k], "Type")) h.type = (int)k;
    }
    if (h.name < 0) return false;
    *c = h;
    return true;
}

static plcio_s7plus_area area_of(plcio_s7_area a, bool *ok)
{
    *ok = true;
    switch (a) {
    case PLCIO_S7_AREA_PE: return PLCIO_S7PLUS_AREA_I;
    case PLCIO_S7_AREA_PA: return PLCIO_S7PLUS_AREA_Q;
    case PLCIO_S7_AREA_MK: return PLCIO_S7PLUS_AREA_M;
    default: *ok = false; return PLCIO_S7PLUS_AREA_M;
    }
}

/* One tag from its three fields into t (LID set by the caller). */
static int tag_of(const field *name, const field *addr, const field *type, unsigned line, plcio_s7plus_tag *t,
                  plcio_error *err)
{
    memset(t, 0, sizeof *t);
    if (name->n == 0) return plcio_error_set(err, PLCIO_ESYNTAX, "line %u: the tag has no name", line);
    if (name->n >= sizeof t->name)
        return plcio_error_set(err, PLCIO_ESYNTAX, "line %u: a tag name is at most %u characters", line,
                               (unsigned)sizeof t->name - 1);
    for (size_t k = 0; k < name->n; k++)
        if (name->p[k] == '"' || (unsigned char)name->p[k] < 0x20)
            return plcio_error_set(err, PLCIO_ESYNTAX, "line %u: tag name %.*s: no quotes or control characters", line,
                                   (int)name->n, name->p);
    memcpy(t->name, name->p, name->n);
    plcio_type ty;
    if (type->n == 0 || plcio_type_parse(type->p, type->n, &ty) != PLCIO_OK)
        return plcio_error_set(err, PLCIO_ETYPE, "line %u: tag %s: unknown data type '%.*s'", line, t->name,
                               (int)(type->n > 40 ? 40 : type->n), type->p);
    if (ty == PLCIO_TYPE_STRING || ty == PLCIO_TYPE_WSTRING || s7p_softtype(ty) == 0 || plcio_type_size(ty, 0) == 0 ||
        plcio_type_size(ty, 0) > 8)
        return plcio_error_set(err, PLCIO_ETYPE, "line %u: tag %s: %s is not an elementary type a PLC tag can have",
                               line, t->name, plcio_type_name(ty));
    const char *a = addr->p;
    size_t al = addr->n;
    if (al && *a == '%') {
        a++;
        al--;
    }
    char text[64];
    if (al == 0 || al > 24)
        return plcio_error_set(err, PLCIO_ESYNTAX, "line %u: tag %s: no address such as %%MW10", line, t->name);
    snprintf(text, sizeof text, "%.*s:%s", (int)al, a, plcio_type_name(ty));
    plcio_s7_address s;
    plcio_error e;
    if (plcio_s7_address_parse(text, &s, &e) != PLCIO_OK)
        return plcio_error_set(err, PLCIO_ESYNTAX, "line %u: tag %s: %.*s: %s", line, t->name, (int)addr->n, addr->p,
                               e.text);
    bool ok;
    t->area = area_of(s.area, &ok);
    if (!ok || s.count != 1)
        return plcio_error_set(err, PLCIO_ESYNTAX, "line %u: tag %s: %.*s: PLC tags are single values in I, Q or M",
                               line, t->name, (int)addr->n, addr->p);
    if (s.offset + s.size > 0xFFFFu)
        return plcio_error_set(err, PLCIO_ERANGE, "line %u: tag %s: address beyond byte 65535", line, t->name);
    t->start = s.offset;
    t->bit = ty == PLCIO_TYPE_BOOL ? s.bit : -1;
    t->sym.access_area = S7P_ID_NATIVE_OBJECTS_THE_I_AREA + (uint32_t)t->area - PLCIO_S7PLUS_AREA_I;
    t->sym.sub_area = S7P_ID_CONTROLLER_AREA_VALUE;
    t->sym.nlids = 1;
    t->sym.type = ty;
    return PLCIO_OK;
}

static bool comment_or_blank(const char *p, size_t n)
{
    while (n && isspace((unsigned char)*p)) {
        p++;
        n--;
    }
    return n == 0 || *p == '#' || (n >= 2 && p[0] == '/' && p[1] == '/');
}

typedef struct table {
    plcio_s7plus_tag *v;
    size_t n, cap;
    uint32_t next_lid[4]; /* per area: I 1, Q 2, M 3 */
    columns col;
    bool first; /* no line read yet: it may be the header */
} table;

/* One line that is neither blank nor a comment: the header, or a tag. */
static int parse_line(table *tb, const char *p, size_t l, unsigned line, plcio_error *err)
{
    field f[FIELDS_MAX];
    size_t nf = split(p, l, separator(p, l), f, FIELDS_MAX);
    bool first = tb->first;
    tb->first = false;
    if (first && header(f, nf, &tb->col)) {
        if (tb->col.address < 0 || tb->col.type < 0)
            return plcio_error_set(err, PLCIO_ESYNTAX, "line %u: the header names no %s column", line,
                                   tb->col.address < 0 ? "\"Logical Address\"" : "\"Data Type\"");
        return PLCIO_OK;
    }
    int need = tb->col.name > tb->col.address ? tb->col.name : tb->col.address;
    if (tb->col.type > need) need = tb->col.type;
    if ((int)nf <= need)
        return plcio_error_set(err, PLCIO_ESYNTAX,
                               "line %u: %zu field%s; a tag is Name;Address;Data type (\"Start\";%%I0.0;Bool)", line,
                               nf, nf == 1 ? "" : "s");
    if (tb->n == TAGS_MAX) return plcio_error_set(err, PLCIO_ELIMIT, "line %u: more than %u tags", line, TAGS_MAX);
    if (tb->n == tb->cap) {
        size_t nc = tb->cap ? tb->cap * 2 : 32;
        plcio_s7plus_tag *nv = realloc(tb->v, nc * sizeof *nv);
        if (!nv) return plcio_error_set(err, PLCIO_ENOMEM, "out of memory");
        tb->v = nv;
        tb->cap = nc;
    }
    plcio_s7plus_tag *t = &tb->v[tb->n];
    int rc = tag_of(&f[tb->col.name], &f[tb->col.address], &f[tb->col.type], line, t, err);
    if (rc) return rc;
    for (size_t k = 0; k < tb->n; k++)
        if (!strcasecmp(tb->v[k].name, t->name))
            return plcio_error_set(err, PLCIO_EEXIST, "line %u: tag \"%s\" is defined twice", line, t->name);
    t->sym.lids[0] = tb->next_lid[t->area]++;
    tb->n++;
    return PLCIO_OK;
}

int plcio_s7plus_tags_parse(const char *text, size_t len, plcio_s7plus_tag **out, size_t *count, plcio_error *err)
{
    if (!out || !count || (!text && len)) return plcio_error_set(err, PLCIO_EINVAL, "no tag table");
    *out = NULL;
    *count = 0;
    table tb = {NULL, 0, 0, {0, FIRST_TAG_LID, FIRST_TAG_LID, FIRST_TAG_LID}, {0, 1, 2}, true};
    unsigned line = 0;
    int rc = PLCIO_OK;
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) { /* a UTF-8 byte order mark, as Excel writes */
        text += 3;
        len -= 3;
    }
    for (size_t at = 0; at < len && !rc;) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - text) : len, l = end - at;
        const char *p = text + at;
        at = end + 1;
        line++;
        if (l && p[l - 1] == '\r') l--;
        if (l > LINE_MAX_)
            rc = plcio_error_set(err, PLCIO_ELIMIT, "line %u: longer than %u bytes", line, LINE_MAX_);
        else if (memchr(p, '\0', l))
            rc = plcio_error_set(err, PLCIO_ESYNTAX, "line %u: a NUL byte (not a text file?)", line);
        else if (!comment_or_blank(p, l))
            rc = parse_line(&tb, p, l, line, err);
    }
    if (rc) {
        free(tb.v);
        return rc;
    }
    *out = tb.v;
    *count = tb.n;
    return PLCIO_OK;
}

int plcio_s7plus_tags_load(const char *path, plcio_s7plus_tag **out, size_t *count, plcio_error *err)
{
    if (!path || !out || !count) return plcio_error_set(err, PLCIO_EINVAL, "no tag table file");
    *out = NULL;
    *count = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return plcio_error_set(err, PLCIO_EIO, "%s: %s", path, strerror(errno));
    char *buf = malloc(FILE_MAX + 1u);
    if (!buf) {
        (void)fclose(f);
        return plcio_error_set(err, PLCIO_ENOMEM, "out of memory");
    }
    size_t n = fread(buf, 1, FILE_MAX + 1u, f);
    int bad = ferror(f);
    (void)fclose(f);
    int rc;
    if (bad)
        rc = plcio_error_set(err, PLCIO_EIO, "%s: read error", path);
    else if (n > FILE_MAX)
        rc = plcio_error_set(err, PLCIO_ELIMIT, "%s: larger than %u MiB", path, FILE_MAX >> 20);
    else {
        rc = plcio_s7plus_tags_parse(buf, n, out, count, err);
        if (rc && err) {
            char why[sizeof err->text];
            snprintf(why, sizeof why, "%s", err->text);
            plcio_error_set(err, rc, "%s: %s", path, why);
        }
    }
    free(buf);
    return rc;
}
