/* qiweictl's database handle: the one owner of the CLI's single libpq
 * connection, seen by the store only as a qw_sql (store/store.h). */
#ifndef QW_CTL_DB_H
#define QW_CTL_DB_H

#include "store/store.h"

/* Connect (dsn may be NULL: libpq's environment defaults).  NULL on
 * failure, with libpq's message in *err (allocated from p). */
qw_sql *qw_ctl_db_open(apr_pool_t *p, const char *dsn, const char **err);
void qw_ctl_db_close(qw_sql *db);

#endif
