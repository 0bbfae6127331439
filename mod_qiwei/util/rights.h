/* Admin rights as module lists, and CSV cells: pure helpers for the admin
 * API, the Require qiwei-admin provider and qiweictl.  No httpd types. */
#ifndef QW_RIGHTS_H
#define QW_RIGHTS_H

#include <stddef.h>
#include <apr_pools.h>

/* The modules every enterprise knows; operators may name more. */
#define QW_ADMIN_MODULES "news,wiki,minutes,forms,directory,settings,audit"

/* 1 if s is a module name: 1-32 of a-z 0-9 _ -, starting with a letter. */
int qw_module_valid(const char *s);

/* Canonical form of a comma separated module list: every entry valid,
 * duplicates removed, sorted, joined by ','.  "" is the empty list.
 * Returns NULL (and *bad = the first invalid entry, if bad) on error. */
char *qw_modules_normalize(apr_pool_t *p, const char *csv, const char **bad);

/* 1 if module m is in the comma separated list have. */
int qw_modules_has(const char *have, const char *m);

/* 1 if every module of want is in have (both comma separated).  *missing
 * gets the first one that is not (from p). */
int qw_modules_subset(apr_pool_t *p, const char *want, const char *have,
                      const char **missing);

/* One CSV cell (RFC 4180): quoted when it holds , " CR or LF; a cell that
 * a spreadsheet would run as a formula (starting with = + - @ TAB CR) is
 * prefixed with ' (OWASP CSV injection).  NULL is the empty cell. */
char *qw_csv_cell(apr_pool_t *p, const char *s);

#endif
