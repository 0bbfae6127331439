/* Validation of the admin API's JSON request bodies: parsing the text and
 * reading typed fields out of the object.  Pure (jansson and APR, no httpd
 * types): handle/api.c maps the results to 400/413 replies; fuzzed. */
#ifndef QW_JBODY_H
#define QW_JBODY_H

#include <stddef.h>
#include <apr_pools.h>
#include <jansson.h>

/* The API refuses bodies above this (413). */
#define QW_JBODY_MAX 65536
/* An array field holds at most this many entries. */
#define QW_JBODY_MAX_LIST 256

typedef enum {
    QW_JBODY_OK = 0,
    QW_JBODY_TOO_LARGE,      /* more than QW_JBODY_MAX bytes */
    QW_JBODY_NOT_JSON,       /* not JSON, or a key given twice */
    QW_JBODY_NOT_OBJECT      /* JSON, but not an object */
} qw_jbody_status;

/* Parse len bytes of text (need not be NUL-terminated).  On QW_JBODY_OK
 * *out is a new reference to an object (the caller decrefs it); else
 * *out is NULL. */
qw_jbody_status qw_jbody_parse(const char *text, size_t len, json_t **out);
/* The same with another bound than QW_JBODY_MAX (a mailbox message's
 * request may be larger: handle/api_mailbox.c). */
qw_jbody_status qw_jbody_parse_max(const char *text, size_t len, size_t max,
                                   json_t **out);

typedef enum {
    QW_JFIELD_OK = 0,        /* present and valid: *out set */
    QW_JFIELD_ABSENT,        /* missing or null, and optional: *out NULL */
    QW_JFIELD_MISSING,       /* missing or null, but required */
    QW_JFIELD_TYPE           /* wrong type: *want says what was expected */
} qw_jfield_status;

/* A string field without NUL bytes, copied into p. */
qw_jfield_status qw_jbody_str(apr_pool_t *p, const json_t *body,
                              const char *field, int required,
                              const char **out, const char **want);

/* An optional boolean field: *out 1 or 0, -1 when absent. */
qw_jfield_status qw_jbody_bool(const json_t *body, const char *field,
                               int *out, const char **want);

/* An array of at most QW_JBODY_MAX_LIST non-empty strings without ',' or
 * NUL, joined by ',' into p ("" for the empty array). */
qw_jfield_status qw_jbody_str_list(apr_pool_t *p, const json_t *body,
                                   const char *field, int required,
                                   const char **csv, const char **want);

/* A JSON array of the non-empty entries of a comma separated list (NULL is
 * the empty list). */
json_t *qw_jbody_csv_array(const char *csv);

#endif
