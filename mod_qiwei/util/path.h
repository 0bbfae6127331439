/* One canonical spelling of a request path, for decisions that are made on
 * a path (articles).  Pure: no httpd types.
 *
 * A path is canonical when every segment after the leading '/' is
 *   - not empty, except the last (a trailing slash): no "//";
 *   - not "." or "..", nor one of them followed by ";params";
 *   - not ending in '.' or ' ' (Windows and SMB back-ends drop them);
 *   - free of '\' (a separator on Windows back-ends);
 *   - free of ';' unless it is the last segment (path parameters, which
 *     Java back-ends cut: "/a;x/b" reaches "/a/b");
 * and, in the path as sent (before percent-decoding), no '/' or '\' was
 * percent-encoded (%2F, %5C) and every segment obeys the same rules once
 * decoded (so "/%2e%2e/" is a dot segment).  httpd resolves "." and ".."
 * and, with MergeSlashes On, "//" before modules see r->uri, but a back-end
 * that is handed the path as sent (ProxyPass nocanon) or that reads it its
 * own way does not: the decision must be for the one path every party
 * agrees on. */
#ifndef QW_PATH_H
#define QW_PATH_H

#include <stddef.h>
#include <apr_pools.h>

typedef enum {
    QW_PATH_CANONICAL = 0,
    QW_PATH_NOT_ABSOLUTE,       /* does not start with '/' */
    QW_PATH_EMPTY_SEGMENT,      /* "//" */
    QW_PATH_DOT_SEGMENT,        /* "/./", "/../", "/..;x/" */
    QW_PATH_ENCODED_SLASH,      /* %2F or %5C in the path as sent */
    QW_PATH_BACKSLASH,          /* '\' */
    QW_PATH_TRAILING_DOT,       /* a segment ending in '.' or ' ' */
    QW_PATH_PARAM               /* ';' in a segment before the last */
} qw_path_verdict;

/* A few words for a log line ("empty segment", ...). */
const char *qw_path_verdict_text(qw_path_verdict v);

/* The path of a request target as it came on the wire (httpd's
 * r->unparsed_uri), without query or fragment: "/a/b?q" gives "/a/b",
 * "http://host:80/a?q" gives "/a", "http://host" gives "" (the root).
 * Anything else (e.g. "*") is returned up to '?' or '#'.  *len is its
 * length; the result points into target. */
const char *qw_path_of_target(const char *target, size_t *len);

/* Whether a request's path is canonical (rules above).  uri: the decoded
 * path (r->uri), NUL-terminated; raw, rawlen: the path as sent
 * (qw_path_of_target()), or NULL to check uri alone (a request the server
 * made itself).  An empty raw path stands for "/".  The first rule broken
 * is returned, raw before uri. */
qw_path_verdict qw_path_check(const char *uri, const char *raw,
                              size_t rawlen);

/* The canonical form of the decoded path uri, from p: '\' read as '/',
 * empty and "." segments dropped, ".." taking the segment before it (never
 * above the root), ";params" dropped from every segment but the last, and
 * trailing dots and spaces cut from each segment's name; a segment left
 * empty goes.  A trailing slash (or a last "." or "..") gives a trailing
 * slash.  Always starts with a single '/'; qw_path_check() finds it
 * canonical, and it is its own canonical form. */
char *qw_path_canonical(apr_pool_t *p, const char *uri);

#endif
