/* JSON text from jansson values: the one way mod_qiwei writes JSON.
 * No httpd types. */
#ifndef QW_JSON_H
#define QW_JSON_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>

/* Compact JSON text of v in p; consumes v (NULL gives NULL). */
const char *qw_json_text(apr_pool_t *p, json_t *v);

/* The same for a <script type="application/json"> island in HTML: '<',
 * '>', '&' and '/' are written as \u escapes, so no "</script>" or "<!--"
 * can end the element early; JSON.parse reads the same value. */
const char *qw_json_html(apr_pool_t *p, json_t *v);

/* A JSON array of the strings in arr (an array of const char *), or of
 * the comma-separated items of csv (blanks trimmed, empty items skipped;
 * NULL is the empty list). */
json_t *qw_json_strings(const apr_array_header_t *arr);
json_t *qw_json_csv(const char *csv);

/* 1 if every key of the object obj is one of allowed (a NULL-terminated
 * list); else 0 with *bad the first other key (in obj's order), which
 * lives as long as obj.  A request body that names a key the API does not
 * know is refused rather than half applied: a misspelt setting must not
 * read as success. */
int qw_json_only_keys(const json_t *obj, const char *const *allowed,
                      const char **bad);

#endif
