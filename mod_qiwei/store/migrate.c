/* Schema migrations: sql/NNN_description.sql files applied in order, each in
 * its own transaction together with its qw_schema_version row. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include "store/store.h"

/* Second advisory lock class: "QWEJ", so two concurrent `qiweictl migrate`
 * runs apply each file once. */
#define MIGRATE_LOCK "1364673866"
#define MAX_SQL_FILE (16 * 1024 * 1024)

int qw_schema_version(qw_store *st)
{
    PGresult *res;
    int v = -1;

    res = st->db->ops->exec(st->db, "SELECT coalesce(max(version), 0) "
                            "FROM qw_schema_version", 0, NULL, QW_SQL_READ);
    if (res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        v = atoi(PQgetvalue(res, 0, QW_COL_ONLY));
    }
    else if (res) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

        if (state && strcmp(state, "42P01") == 0) {
            v = 0;    /* an empty database: nothing applied yet */
        }
        else {
            qw_store_error(st, QW_ERR_DB, "%s", PQresultErrorMessage(res));
        }
    }
    else {
        qw_store_error(st, QW_ERR_DB, "%s", st->db->ops->message(st->db));
    }
    PQclear(res);
    return v;
}

typedef struct {
    int number;
    const char *name;
} sqlfile;

/* ^[0-9]{3}_.*\.sql$ */
static int is_migration(const char *n)
{
    size_t len = strlen(n);

    return len >= 8 && isdigit((unsigned char)n[0])
           && isdigit((unsigned char)n[1]) && isdigit((unsigned char)n[2])
           && n[3] == '_' && strcmp(n + len - 4, ".sql") == 0;
}

static int cmp_sqlfile(const void *a, const void *b)
{
    const sqlfile *x = a, *y = b;

    if (x->number != y->number) {
        return x->number < y->number ? -1 : 1;
    }
    return strcmp(x->name, y->name);
}

static qw_status read_file(qw_store *st, const char *path, char **text)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long len;

    if (f == NULL) {
        return qw_store_error(st, QW_ERR_NOTFOUND, "cannot open %s: %s",
                              path, strerror(errno));
    }
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0
        || len > MAX_SQL_FILE || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return qw_store_error(st, QW_ERR_INVALID, "cannot read %s", path);
    }
    buf = apr_palloc(st->pool, (apr_size_t)len + 1);
    if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
        fclose(f);
        return qw_store_error(st, QW_ERR_INVALID, "cannot read %s", path);
    }
    fclose(f);
    buf[len] = '\0';
    if (strlen(buf) != (size_t)len) {
        return qw_store_error(st, QW_ERR_INVALID, "%s contains a NUL byte",
                              path);
    }
    *text = buf;
    return QW_OK;
}

/* "001_foundation.sql" -> "foundation" */
static const char *describe(apr_pool_t *p, const char *name)
{
    char *d = apr_pstrndup(p, name + 4, strlen(name) - 8), *c;

    for (c = d; *c; c++) {
        if (*c == '_') {
            *c = ' ';
        }
    }
    return *d ? d : name;
}

/* Version inside the current transaction, without letting a missing table
 * abort it. */
static int version_in_tx(qw_store *st, qw_status *rc)
{
    PGresult *res;
    int v;

    res = qw_store_exec(st, "SELECT to_regclass('qw_schema_version') "
                        "IS NOT NULL", 0, NULL, rc);
    if (res == NULL) {
        return -1;
    }
    v = strcmp(PQgetvalue(res, 0, QW_COL_ONLY), "t") == 0;
    PQclear(res);
    if (!v) {
        return 0;
    }
    res = qw_store_exec(st, "SELECT coalesce(max(version), 0) "
                        "FROM qw_schema_version", 0, NULL, rc);
    if (res == NULL) {
        return -1;
    }
    v = atoi(PQgetvalue(res, 0, QW_COL_ONLY));
    PQclear(res);
    return v;
}

static qw_status apply_one(qw_store *st, const char *dir, const sqlfile *sf)
{
    const char *path = apr_pstrcat(st->pool, dir, "/", sf->name, NULL);
    const char *params[2];
    char *text = NULL;
    PGresult *res;
    qw_status rc;
    int cur;

    if ((rc = read_file(st, path, &text)) != QW_OK) {
        return rc;
    }
    if ((rc = qw_store_begin(st)) != QW_OK) {
        return rc;
    }
    res = qw_store_exec(st, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK ")",
                        0, NULL, &rc);
    if (res == NULL) {
        goto fail;
    }
    PQclear(res);
    cur = version_in_tx(st, &rc);
    if (cur < 0) {
        goto fail;
    }
    if (cur >= sf->number) {
        /* someone else applied it meanwhile */
        qw_store_rollback(st);
        return QW_OK;
    }
    if (cur != sf->number - 1) {
        rc = qw_store_error(st, QW_ERR_INVALID, "%s cannot follow schema "
                            "version %d", sf->name, cur);
        goto fail;
    }
    /* Our own files, possibly several statements: the simple protocol. */
    res = st->db->ops->script(st->db, text);
    if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
        const char *msg = res ? PQresultErrorMessage(res)
                              : st->db->ops->message(st->db);
        size_t n;

        if (res && !*msg) {
            /* no error: the file's last statement returned something
             * other than a command status (a bare SELECT) */
            msg = apr_psprintf(st->pool, "its last statement gave %s, not "
                               "a command status (use DO/PERFORM)",
                               PQresStatus(PQresultStatus(res)));
        }
        n = strlen(msg);

        while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) {
            n--;
        }
        rc = qw_store_error(st, st->db->ops->lost(st->db)
                            ? QW_ERR_DB : QW_ERR_INVALID,
                            "%s failed: %.*s", sf->name, (int)n, msg);
        PQclear(res);
        goto fail;
    }
    PQclear(res);
    params[0] = apr_itoa(st->pool, sf->number);
    params[1] = describe(st->pool, sf->name);
    res = qw_store_exec(st, "INSERT INTO qw_schema_version "
                        "(version, description) VALUES ($1, $2)",
                        2, params, &rc);
    if (res == NULL) {
        goto fail;
    }
    PQclear(res);
    return qw_store_commit(st);

fail:
    qw_store_rollback(st);
    return rc;
}

/* $1 the application role: the current schema and the role, each quoted
 * as an identifier by the server (quote_ident), in its encoding. */
#define GRANT_NAMES_COLS(X, L) \
    X(SCHEMA, " quote_ident(current_schema())") \
    L(ROLE, " quote_ident($1)")
#define GRANT_NAMES_COL_ENUM(name, expr) GRANT_NAMES_COL_##name,
enum { GRANT_NAMES_COLS(GRANT_NAMES_COL_ENUM, GRANT_NAMES_COL_ENUM) };
static const char sql_grant_names[] =
    "SELECT" GRANT_NAMES_COLS(QW_COL_SQL, QW_COL_SQL_LAST);

static qw_status grant(qw_store *st, const char *app_role)
{
    PGresult *res;
    qw_status rc;
    const char *role, *schema, *params[1];
    const char *stmts[6];
    int i;

    params[0] = app_role;
    res = qw_store_read(st, sql_grant_names, 1, params, &rc);
    if (res == NULL) {
        return rc;
    }
    if (PQgetisnull(res, 0, GRANT_NAMES_COL_SCHEMA)) {
        PQclear(res);
        return qw_store_error(st, QW_ERR_INVALID, "no current schema");
    }
    schema = apr_pstrdup(st->pool,
                         PQgetvalue(res, 0, GRANT_NAMES_COL_SCHEMA));
    role = apr_pstrdup(st->pool, PQgetvalue(res, 0, GRANT_NAMES_COL_ROLE));
    PQclear(res);
    stmts[0] = apr_psprintf(st->pool, "GRANT USAGE ON SCHEMA %s TO %s",
                            schema, role);
    stmts[1] = apr_psprintf(st->pool, "GRANT SELECT, INSERT, UPDATE, DELETE "
                            "ON ALL TABLES IN SCHEMA %s TO %s", schema, role);
    /* the log is append-only for the application, too */
    stmts[2] = apr_psprintf(st->pool, "REVOKE UPDATE, DELETE, TRUNCATE ON "
                            "audit_log FROM %s", role);
    stmts[3] = apr_psprintf(st->pool, "REVOKE INSERT, UPDATE, DELETE, "
                            "TRUNCATE ON qw_schema_version FROM %s", role);
    stmts[4] = apr_psprintf(st->pool, "GRANT USAGE, SELECT ON ALL SEQUENCES "
                            "IN SCHEMA %s TO %s", schema, role);
    stmts[5] = NULL;

    if ((rc = qw_store_begin(st)) != QW_OK) {
        return rc;
    }
    for (i = 0; stmts[i]; i++) {
        res = qw_store_exec(st, stmts[i], 0, NULL, &rc);
        if (res == NULL) {
            if (rc == QW_ERR_NOTFOUND) {
                qw_store_error(st, rc, "role '%s' does not exist: create it "
                               "first (CREATE ROLE ... LOGIN PASSWORD ...)",
                               app_role);
            }
            qw_store_rollback(st);
            return rc;
        }
        PQclear(res);
    }
    return qw_store_commit(st);
}

qw_status qw_migrate(qw_store *st, const char *sqldir, const char *app_role)
{
    apr_array_header_t *files;
    sqlfile *fs;
    struct dirent *de;
    DIR *d;
    qw_status rc;
    int i, cur;

    d = opendir(sqldir);
    if (d == NULL) {
        return qw_store_error(st, QW_ERR_NOTFOUND, "cannot open sql "
                              "directory %s: %s", sqldir, strerror(errno));
    }
    files = apr_array_make(st->pool, 8, sizeof(sqlfile));
    while ((de = readdir(d)) != NULL) {
        if (is_migration(de->d_name)) {
            sqlfile *sf = apr_array_push(files);

            sf->number = atoi(de->d_name);
            sf->name = apr_pstrdup(st->pool, de->d_name);
        }
    }
    closedir(d);
    if (files->nelts == 0) {
        return qw_store_error(st, QW_ERR_NOTFOUND, "no NNN_*.sql files in %s",
                              sqldir);
    }
    fs = (sqlfile *)files->elts;
    qsort(fs, files->nelts, sizeof(sqlfile), cmp_sqlfile);
    /* Refuse gaps and duplicates before touching the database: a missing
     * file must not let a later one run against the wrong schema. */
    for (i = 0; i < files->nelts; i++) {
        if (fs[i].number != i + 1) {
            return qw_store_error(st, QW_ERR_INVALID, "migration files in %s "
                                  "are not numbered 001, 002, ... without "
                                  "gaps or duplicates (at %s)", sqldir,
                                  fs[i].name);
        }
    }

    cur = qw_schema_version(st);
    if (cur < 0) {
        return qw_store_error(st, QW_ERR_DB, "cannot read the schema "
                              "version: %s", st->err);
    }
    for (i = 0; i < files->nelts; i++) {
        if (fs[i].number <= cur) {
            continue;
        }
        if ((rc = apply_one(st, sqldir, &fs[i])) != QW_OK) {
            return rc;
        }
    }
    if (app_role != NULL && *app_role != '\0') {
        return grant(st, app_role);
    }
    return QW_OK;
}
