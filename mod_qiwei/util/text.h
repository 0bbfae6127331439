/* Small pure text helpers for the request path.  No httpd types. */
#ifndef QW_TEXT_H
#define QW_TEXT_H

#include <stddef.h>
#include <apr_pools.h>

typedef enum { QW_LANG_EN = 0, QW_LANG_ZH = 1 } qw_lang;

/* Pick zh-CN or en from an Accept-Language header, honouring q-values.
 * NULL or no match: dflt. */
qw_lang qw_lang_pick(const char *accept_language, qw_lang dflt);

/* 1 if s is a safe local redirect target: starts with a single '/', not
 * "//" or "/\\", no control characters, no scheme, at most 2048 bytes.
 * Also refused anywhere: space, backslash and non-ASCII bytes (percent-encode
 * them). */
int qw_safe_local_path(const char *s);

/* Escape for HTML text and double-quoted attribute values: & < > " ' */
char *qw_escape_html(apr_pool_t *p, const char *s);

/* Escape for a URL query component (RFC 3986 unreserved kept). */
char *qw_escape_urlc(apr_pool_t *p, const char *s);

/* Validate member account names: 1..64 of [a-z0-9._@-], starting with
 * [a-z0-9]; enterprise codes: 1..63 of [a-z0-9-] starting alnum;
 * department codes: 1..63 of [A-Za-z0-9_.-] starting alnum. */
int qw_valid_account(const char *s);
int qw_valid_enterprise_code(const char *s);
int qw_valid_department_code(const char *s);

/* Lower-case an ASCII account in place copy from p. */
char *qw_ascii_lower(apr_pool_t *p, const char *s);

/* 1 if s[0..len) is well-formed UTF-8 (no overlong forms, no surrogates,
 * nothing above U+10FFFF) holding no control character at all: every C0
 * control (NUL, TAB, LF and CR included), DEL and every C1 control
 * (U+0080..U+009F) is refused.  Meant for one-line display text such as names
 * and titles.  The empty string is valid (check lengths separately). */
int qw_valid_utf8_text(const char *s, size_t len);

/* Number of code points in s[0..len) under the rules of qw_valid_utf8_text,
 * or -1 if it breaks them (PostgreSQL's length() counts the same way). */
long qw_utf8_count(const char *s, size_t len);

/* The prefixes of the URL path s (well-formed UTF-8, qw_valid_utf8_text)
 * that, as an article's path, put s under that article: cut just before a
 * '/' or ';', or just after a '/'; never empty, never all of s, and none
 * longer than max characters.  Returned as a PostgreSQL int[] literal of
 * their lengths in characters (PostgreSQL's left() counts characters),
 * shortest first: "/a/b;c" gives "{1,2,3,4}" ("/", "/a", "/a/",
 * "/a/b").  At most
 * 6 * max + 3 bytes whatever the length of s. */
const char *qw_path_cut_lengths(apr_pool_t *p, const char *s, long max);

/* A copy of s (NULL stays NULL) fit for a text column and a log line: each
 * byte that does not start a well-formed UTF-8 character in the sense of
 * qw_valid_utf8_text, and each control character, becomes '?'; cut to at
 * most max bytes on a character boundary.  For request headers (User-Agent
 * and the like) on their way into the database, which refuses invalid
 * UTF-8 and would fail the whole statement. */
char *qw_sanitize_text(apr_pool_t *p, const char *s, size_t max);

/* How much of a User-Agent header is kept in the database (bytes). */
#define QW_UA_MAX 512

/* A Cache-Control value (NULL: none) with "private" added so that no
 * shared cache stores the response: every other directive is kept
 * (no-store too), "public" and the field form private="..." go. */
const char *qw_cache_control_private(apr_pool_t *p, const char *value);

/* Seconds written as a decimal with at most three places ("2", "0.5",
 * "1.25"), 0 to max_s, in milliseconds; -1 when s is not one (a sign, an
 * exponent, a leading '.', more places, more than max_s). */
long qw_parse_seconds_ms(const char *s, long max_s);

#endif
