/* stmt_drv: run one statement as mod_qiwei runs its session statement, for
 * measuring the statement alone (docs/performance.md, "Strict mode: the
 * statement, measured in pgbench"): PQprepare once, then N times
 * PQexecPrepared with $1 text and $2 a 32-byte binary value, text results.
 *
 *   cc -O2 -o stmt_drv bench/stmt_drv.c -I"$(pg_config --includedir)" -lpq
 *   stmt_drv DSN SQLFILE N HASHFILE [MODE]
 *
 * SQLFILE holds the statement ($1, $2, ...; a trailing ';' is ignored);
 * HASHFILE one value per line: for MODE 0 (default) 64 hex digits (a
 * session hash, sent binary as $2, with $1 = 'acme'); MODE 1 an account
 * name, sent as the only parameter $1 (the peer's query); MODE 2 as 0,
 * plus $3 'news', $4 '/art/aNNNN.html' (NNNN = 1 + i % 1000), $5 'false'
 * (the session + article statement).  Values are used round robin.
 * Prints the number of rows returned; exits 1 on any error.  Under
 * callgrind the backend's instructions per execution are the difference of
 * two runs with different N, divided by the difference of N. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXV 64

int main(int argc, char **argv)
{
    static char sql[16384];
    unsigned char hash[MAXV][32];
    char text[MAXV][200];
    char line[200];
    int nv = 0, n, mode, i;
    long rows = 0;
    size_t len;
    char *semi;
    FILE *f;
    PGconn *c;
    PGresult *r;

    if (argc < 5) {
        fprintf(stderr, "usage: stmt_drv DSN SQLFILE N HASHFILE [MODE]\n");
        return 2;
    }
    n = atoi(argv[3]);
    mode = argc > 5 ? atoi(argv[5]) : 0;
    if (!(f = fopen(argv[2], "r"))) {
        perror(argv[2]);
        return 1;
    }
    len = fread(sql, 1, sizeof(sql) - 1, f);
    sql[len] = 0;
    fclose(f);
    if ((semi = strrchr(sql, ';')) != NULL) {
        *semi = 0;
    }
    if (!(f = fopen(argv[4], "r"))) {
        perror(argv[4]);
        return 1;
    }
    while (nv < MAXV && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!*line) {
            continue;
        }
        snprintf(text[nv], sizeof(text[nv]), "%s", line);
        if (mode != 1) {
            if (strlen(line) != 64) {
                fprintf(stderr, "%s: not 64 hex digits: %s\n", argv[4], line);
                return 1;
            }
            for (i = 0; i < 32; i++) {
                sscanf(line + 2 * i, "%2hhx", &hash[nv][i]);
            }
        }
        nv++;
    }
    fclose(f);
    if (!nv) {
        fprintf(stderr, "%s: no values\n", argv[4]);
        return 1;
    }
    c = PQconnectdb(argv[1]);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "%s", PQerrorMessage(c));
        return 1;
    }
    r = PQprepare(c, "q", sql, 0, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "%s", PQerrorMessage(c));
        return 1;
    }
    PQclear(r);
    for (i = 0; i < n; i++) {
        char path[32];
        const char *v[5];
        int l[5] = { 0, 32, 0, 0, 0 }, fm[5] = { 0, 1, 0, 0, 0 };

        if (mode == 1) {
            v[0] = text[i % nv];
            r = PQexecPrepared(c, "q", 1, v, NULL, NULL, 0);
        }
        else {
            v[0] = "acme";
            v[1] = (const char *)hash[i % nv];
            snprintf(path, sizeof(path), "/art/a%04d.html", 1 + i % 1000);
            v[2] = "news";
            v[3] = path;
            v[4] = "false";
            r = PQexecPrepared(c, "q", mode == 2 ? 5 : 2, v, l, fm, 0);
        }
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            fprintf(stderr, "%s", PQerrorMessage(c));
            return 1;
        }
        rows += PQntuples(r);
        PQclear(r);
    }
    printf("rows %ld\n", rows);
    PQfinish(c);
    return 0;
}
