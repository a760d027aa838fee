/* PostgreSQL backend of the historian (historian.h), with libpq: rows go in
 * batches through COPY ... FROM STDIN in binary format into
 *
 *   CREATE TABLE plcio_samples (time timestamptz NOT NULL, device text NOT NULL,
 *       tag text NOT NULL, value double precision, text text, quality text NOT NULL,
 *       reason text);
 *   CREATE INDEX plcio_samples_time_brin ON plcio_samples USING brin (time);
 *
 * created when missing if `create` is on. The connection string is libpq's;
 * the password comes from PGPASSWORD or a password file (passfile=, ~/.pgpass),
 * never from plcio's command line. */
#include <ctype.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plcio/shm.h"
#include "sync/historian.h"

#define PG_EPOCH_US 946684800000000LL /* 2000-01-01 in Unix microseconds: timestamptz's zero */

typedef struct pg_backend {
    char *conninfo;
    char table[128]; /* as given: name or schema.name (checked: letters, digits, _) */
    bool create;
    PGconn *conn;
    char *copy_sql;
    uint8_t *buf;
    size_t len, cap;
} pg_backend;

/* libpq's messages end in a newline and may span lines (indented with tabs): one line. */
static void one_line(char *err, size_t cap, const char *prefix, const char *msg)
{
    snprintf(err, cap, "%s%s", prefix, msg ? msg : "");
    size_t n = 0;
    for (char *p = err; *p; p++) {
        char c = *p;
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
        if (c == ' ' && (n == 0 || err[n - 1] == ' ')) continue;
        err[n++] = c;
    }
    while (n && err[n - 1] == ' ')
        n--;
    err[n] = '\0';
}

/* The library never prints: the server's notices ("already exists, skipping") are dropped. */
static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static bool ident_ok(const char *s, size_t n)
{
    if (n == 0 || n > 63 || (!isalpha((unsigned char)s[0]) && s[0] != '_')) return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_') return false;
    return true;
}

static bool table_ok(const char *t)
{
    const char *dot = strchr(t, '.');
    if (!dot) return ident_ok(t, strlen(t));
    return ident_ok(t, (size_t)(dot - t)) && ident_ok(dot + 1, strlen(dot + 1));
}

/* The index's name: the table's own (without schema) + _time_brin. */
static const char *bare_table(const pg_backend *b)
{
    const char *dot = strchr(b->table, '.');
    return dot ? dot + 1 : b->table;
}

static bool exec_ok(pg_backend *b, const char *sql, char *err, size_t cap)
{
    PGresult *res = PQexec(b->conn, sql);
    ExecStatusType st = PQresultStatus(res);
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok) one_line(err, cap, "", PQerrorMessage(b->conn));
    PQclear(res);
    return ok;
}

static int prepare_table(pg_backend *b, char *err, size_t cap)
{
    if (b->create) {
        char sql[512];
        snprintf(sql, sizeof sql,
                 "CREATE TABLE IF NOT EXISTS %s (time timestamptz NOT NULL, device text NOT NULL, tag text NOT NULL, "
                 "value double precision, text text, quality text NOT NULL, reason text)",
                 b->table);
        char why[200] = "";
        if (!exec_ok(b, sql, why, sizeof why)) {
            snprintf(err, cap, "cannot create table %s: %s", b->table, why);
            return PLCIO_EIO;
        }
        snprintf(sql, sizeof sql, "CREATE INDEX IF NOT EXISTS %s_time_brin ON %s USING brin (time)", bare_table(b),
                 b->table);
        if (!exec_ok(b, sql, why, sizeof why)) {
            snprintf(err, cap, "cannot create the BRIN index on %s: %s", b->table, why);
            return PLCIO_EIO;
        }
        return PLCIO_OK;
    }
    const char *params[1] = {b->table};
    PGresult *res = PQexecParams(b->conn, "SELECT to_regclass($1) IS NOT NULL", 1, NULL, params, NULL, NULL, 0);
    int rc = PLCIO_OK;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        one_line(err, cap, "cannot look up the table: ", PQerrorMessage(b->conn));
        rc = PLCIO_EIO;
    } else if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
        snprintf(err, cap,
                 "table %s does not exist and create is off: create it (docs/historian.md has the schema) or set "
                 "create: true",
                 b->table);
        rc = PLCIO_ENOTFOUND;
    }
    PQclear(res);
    return rc;
}

static void pg_disconnect(void *p)
{
    pg_backend *b = p;
    PQfinish(b->conn);
    b->conn = NULL;
}

static int pg_connect(void *p, char *err, size_t cap)
{
    pg_backend *b = p;
    pg_disconnect(b);
    /* Ours first: the connection string, expanded last, overrides them. */
    const char *keys[] = {"connect_timeout", "fallback_application_name", "dbname", NULL};
    const char *vals[] = {"10", "plcio", b->conninfo, NULL};
    b->conn = PQconnectdbParams(keys, vals, 1);
    if (!b->conn) {
        snprintf(err, cap, "out of memory");
        return PLCIO_ENOMEM;
    }
    if (PQstatus(b->conn) != CONNECTION_OK) {
        one_line(err, cap, "", PQerrorMessage(b->conn));
        pg_disconnect(b);
        return PLCIO_ECONNREFUSED;
    }
    PQsetNoticeProcessor(b->conn, ignore_notice, NULL);
    int rc = prepare_table(b, err, cap);
    if (rc != PLCIO_OK) pg_disconnect(b);
    return rc;
}

/* ---- COPY binary format: header, tuples of (length, bytes) fields, trailer ---- */

static bool reserve(pg_backend *b, size_t more)
{
    if (b->len + more <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 65536;
    while (cap < b->len + more)
        cap *= 2;
    uint8_t *bigger = realloc(b->buf, cap);
    if (!bigger) return false;
    b->buf = bigger;
    b->cap = cap;
    return true;
}

static void put16(pg_backend *b, uint16_t v)
{
    b->buf[b->len++] = (uint8_t)(v >> 8);
    b->buf[b->len++] = (uint8_t)v;
}

static void put32(pg_backend *b, uint32_t v)
{
    for (int s = 24; s >= 0; s -= 8)
        b->buf[b->len++] = (uint8_t)(v >> s);
}

static void put64(pg_backend *b, uint64_t v)
{
    for (int s = 56; s >= 0; s -= 8)
        b->buf[b->len++] = (uint8_t)(v >> s);
}

static void put_text(pg_backend *b, const char *s, size_t n)
{
    put32(b, (uint32_t)n);
    memcpy(b->buf + b->len, s, n);
    b->len += n;
}

static bool encode_rows(pg_backend *b, const plcio_sink_tag *tags, hist_row *const *rows, size_t n)
{
    b->len = 0;
    if (!reserve(b, 19 + 2)) return false;
    memcpy(b->buf, "PGCOPY\n\377\r\n\0", 11);
    b->len = 11;
    put32(b, 0); /* flags */
    put32(b, 0); /* header extension */
    for (size_t i = 0; i < n; i++) {
        const hist_row *r = rows[i];
        const plcio_sink_tag *t = &tags[r->tag];
        const char *reason = r->quality == PLCIO_SHM_QUALITY_GOOD ? NULL : plcio_strerror(r->reason);
        const char *quality = hist_quality_name(r->quality);
        size_t dl = strlen(t->device), tl = strlen(t->name), rl = reason ? strlen(reason) : 0;
        if (!reserve(b, 2 + 7 * 4 + 8 + dl + tl + 8 + r->text_len + 8 + rl + 2)) return false;
        put16(b, 7);
        put32(b, 8);
        put64(b, (uint64_t)((int64_t)(r->time_ns / 1000u) - PG_EPOCH_US));
        put_text(b, t->device, dl);
        put_text(b, t->name, tl);
        if (r->has_value) {
            uint64_t bits;
            memcpy(&bits, &r->value, sizeof bits);
            put32(b, 8);
            put64(b, bits);
        } else {
            put32(b, UINT32_MAX); /* -1: NULL */
        }
        if (r->has_text)
            put_text(b, r->text, r->text_len);
        else
            put32(b, UINT32_MAX);
        put_text(b, quality, strlen(quality));
        if (reason)
            put_text(b, reason, rl);
        else
            put32(b, UINT32_MAX);
    }
    put16(b, UINT16_MAX); /* trailer: -1 */
    return true;
}

/* Data the table cannot take (class 22: data exception, 23: integrity) is
 * refused for good; anything else may pass once the database is back. */
static hist_result classify(PGresult *res)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (state && (!strncmp(state, "22", 2) || !strncmp(state, "23", 2))) return HIST_REJECTED;
    return HIST_RETRY;
}

static hist_result pg_write(void *p, const plcio_sink_tag *tags, hist_row *const *rows, size_t n, char *err, size_t cap)
{
    pg_backend *b = p;
    if (!b->conn) return HIST_RETRY;
    if (!encode_rows(b, tags, rows, n)) {
        snprintf(err, cap, "out of memory for a batch of %zu rows", n);
        return HIST_RETRY;
    }
    PGresult *res = PQexec(b->conn, b->copy_sql);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        one_line(err, cap, "COPY: ", PQerrorMessage(b->conn));
        hist_result rc = classify(res);
        PQclear(res);
        return rc;
    }
    PQclear(res);
    if (PQputCopyData(b->conn, (const char *)b->buf, (int)b->len) != 1 || PQputCopyEnd(b->conn, NULL) != 1) {
        one_line(err, cap, "COPY: ", PQerrorMessage(b->conn));
        return HIST_RETRY;
    }
    hist_result rc = HIST_OK;
    while ((res = PQgetResult(b->conn)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == HIST_OK) {
            one_line(err, cap, "COPY: ", PQerrorMessage(b->conn));
            rc = classify(res);
        }
        PQclear(res);
    }
    if (rc == HIST_OK && PQstatus(b->conn) != CONNECTION_OK) {
        one_line(err, cap, "", PQerrorMessage(b->conn));
        rc = HIST_RETRY;
    }
    return rc;
}

static void pg_free(void *p)
{
    pg_backend *b = p;
    if (!b) return;
    pg_disconnect(b);
    free(b->conninfo);
    free(b->copy_sql);
    free(b->buf);
    free(b);
}

static const hist_backend_ops pg_ops = {"postgres", pg_connect, pg_write, pg_disconnect, pg_free};

int hist_postgres_new(const plcio_sync_output_spec *spec, const hist_backend_ops **ops, void **backend, char *err,
                      size_t cap)
{
    const char *table = spec->table ? spec->table : "plcio_samples";
    if (!table_ok(table)) {
        snprintf(err, cap,
                 "table '%s': use a plain name or schema.name (letters, digits, _; at most 63 each; no quotes)", table);
        return PLCIO_EINVAL;
    }
    /* A malformed connection string is a setting error now, not a retry later. */
    char *why = NULL;
    PQconninfoOption *opts = PQconninfoParse(spec->target, &why);
    if (!opts) {
        one_line(err, cap, "bad connection string: ", why ? why : "out of memory");
        PQfreemem(why);
        return why ? PLCIO_ESYNTAX : PLCIO_ENOMEM;
    }
    PQconninfoFree(opts);
    pg_backend *b = calloc(1, sizeof *b);
    if (!b) return PLCIO_ENOMEM;
    snprintf(b->table, sizeof b->table, "%s", table);
    b->create = spec->create;
    b->conninfo = strdup(spec->target);
    size_t n = strlen(table) + 128;
    b->copy_sql = malloc(n);
    if (!b->conninfo || !b->copy_sql) {
        pg_free(b);
        return PLCIO_ENOMEM;
    }
    snprintf(b->copy_sql, n, "COPY %s (time, device, tag, value, text, quality, reason) FROM STDIN (FORMAT binary)",
             table);
    *ops = &pg_ops;
    *backend = b;
    return PLCIO_OK;
}
