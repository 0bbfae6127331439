/* The admin console's static files, <handler>/console/...: an HTML shell,
 * a style sheet and ES modules from QiweiConsoleDir (docs/console.md).
 *
 * The files hold no data: everything the console shows comes from the
 * JSON API, which checks the admin session, the CSRF token and the rights
 * on every call.  So the files are served without a session (the sign-in
 * view is one of them), to GET and HEAD only, under a CSP that allows
 * scripts and styles from this origin and nothing inline.
 *
 * A request names a file by at most two segments of [A-Za-z0-9_.-] that
 * do not start with a dot (no "..", no hidden files, no empty segment), of
 * a known extension; the file must be a regular file, not a symbolic link.
 * Anything else is 404. */
#include "apr_file_info.h"
#include "apr_lib.h"
#include "apr_strings.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"

#include "qiwei.h"
#include "cfg/config.h"
#include "handle/handle.h"

#define CONSOLE_CSP "default-src 'none'; script-src 'self'; " \
    "style-src 'self'; img-src 'self' data:; connect-src 'self'; " \
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
#define CONSOLE_MAX_SEGS 2
#define CONSOLE_MAX_NAME 64

static const struct {
    const char *ext;
    const char *type;
} console_types[] = {
    { ".html", "text/html; charset=utf-8" },
    { ".css", "text/css; charset=utf-8" },
    { ".js", "text/javascript; charset=utf-8" },
    { ".json", "application/json; charset=utf-8" },
    { ".svg", "image/svg+xml" },
    { ".png", "image/png" },
    { ".ico", "image/x-icon" },
    { NULL, NULL }
};

static void console_headers(request_rec *r)
{
    apr_table_t *t = r->err_headers_out;

    apr_table_setn(t, "Content-Security-Policy", CONSOLE_CSP);
    apr_table_setn(t, "X-Content-Type-Options", "nosniff");
    apr_table_setn(t, "Referrer-Policy", "no-referrer");
    apr_table_setn(t, "Cross-Origin-Opener-Policy", "same-origin");
    apr_table_setn(t, "Cross-Origin-Resource-Policy", "same-origin");
}

/* The content type of a file name, NULL when it is not one we serve. */
static const char *console_type(const char *name)
{
    const char *dot = strrchr(name, '.');
    int i;

    for (i = 0; dot && console_types[i].ext; i++) {
        if (!strcmp(dot, console_types[i].ext)) {
            return console_types[i].type;
        }
    }
    return NULL;
}

/* 1 if rest ("index.html", "js/app.js") names a file the console may
 * have: one or two segments of safe characters, none starting with '.' */
static int console_name_ok(const char *rest)
{
    int segs = 0;
    size_t len = 0;
    const char *c;

    if (!*rest) {
        return 0;
    }
    for (c = rest; ; c++) {
        if (*c == '/' || *c == '\0') {
            if (len == 0 || ++segs > CONSOLE_MAX_SEGS) {
                return 0;
            }
            if (*c == '\0') {
                return 1;
            }
            len = 0;
            continue;
        }
        if (len == 0 && *c == '.') {
            return 0;
        }
        if (!apr_isalnum(*c) && *c != '-' && *c != '_' && *c != '.') {
            return 0;
        }
        if (++len > CONSOLE_MAX_NAME) {
            return 0;
        }
    }
}

static int console_not_found(request_rec *r, const char *why)
{
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  "QW0660: console: %s refused (%s)", r->uri, why);
    return HTTP_NOT_FOUND;
}

int qw_handle_console(request_rec *r, const char *rest)
{
    const char *dir = qw_cfg_console_dir(r->server);
    const char *path, *type, *name;
    apr_finfo_t fi;
    apr_file_t *fd;
    apr_status_t rv;
    apr_size_t sent;
    int shell, rc;

    console_headers(r);
    r->allowed |= (AP_METHOD_BIT << M_GET);
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if (rest == NULL) {
        /* <handler>/console: the relative URLs of the shell need the
         * trailing slash */
        apr_table_setn(r->headers_out, "Location",
                       ap_construct_url(r->pool, apr_pstrcat(
                           r->pool, r->uri, "/", NULL), r));
        return HTTP_MOVED_PERMANENTLY;
    }
    name = *rest ? rest : "index.html";
    shell = !strcmp(name, "index.html");
    if (!console_name_ok(name)) {
        return console_not_found(r, "not a console file name");
    }
    if (!(type = console_type(name))) {
        return console_not_found(r, "not a console file type");
    }
    if (apr_filepath_merge((char **)&path, dir, name,
                           APR_FILEPATH_SECUREROOT | APR_FILEPATH_NOTRELATIVE,
                           r->pool) != APR_SUCCESS) {
        return console_not_found(r, "outside QiweiConsoleDir");
    }
    rv = apr_stat(&fi, path, APR_FINFO_LINK | APR_FINFO_TYPE | APR_FINFO_SIZE
                  | APR_FINFO_MTIME, r->pool);
    if (rv != APR_SUCCESS && !APR_STATUS_IS_INCOMPLETE(rv)) {
        if (APR_STATUS_IS_ENOENT(rv) || APR_STATUS_IS_ENOTDIR(rv)) {
            return console_not_found(r, "no such file");
        }
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                      "QW0661: console: cannot read %s (QiweiConsoleDir %s)",
                      path, dir);
        return HTTP_NOT_FOUND;
    }
    if (fi.filetype != APR_REG) {
        return console_not_found(r, "not a regular file");
    }
    if ((rv = apr_file_open(&fd, path, APR_READ | APR_BINARY, 0, r->pool))
        != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                      "QW0661: console: cannot read %s (QiweiConsoleDir %s)",
                      path, dir);
        return HTTP_NOT_FOUND;
    }
    ap_set_content_type(r, type);
    if (shell) {
        /* the shell is the entry point: always the installed one */
        apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    }
    else {
        /* modules import each other by fixed names (no build step, so
         * no hashed names): a browser may keep them but asks each time
         * whether they changed (304), so an upgrade applies at once */
        apr_table_setn(r->headers_out, "Cache-Control", "no-cache");
        r->mtime = fi.mtime;
        r->finfo = fi;
        ap_set_last_modified(r);
        ap_set_etag(r);
        if ((rc = ap_meets_conditions(r)) != OK) {
            apr_file_close(fd);
            return rc;
        }
    }
    ap_set_content_length(r, fi.size);
    if (!r->header_only) {
        rv = ap_send_fd(fd, r, 0, fi.size, &sent);
        if (rv != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, r,
                          "QW0662: console: %s not sent completely", path);
        }
    }
    /* fd is closed with r->pool: the core may still hold its bucket */
    return OK;
}
