/* The steps of a pending admin session as JSON, under <api>/session/. */
#include "httpd.h"
#include "http_log.h"

#include "qiwei.h"
#include "throttle.h"

#include "handle/admin.h"

/* the keys each step's body may have (others: 400) */
static const char *const keys_totp[] = { "code", "recovery_code", NULL };
static const char *const keys_code[] = { "code", NULL };
static const char *const keys_password[] = { "current_password",
                                             "new_password", NULL };
static const char *const keys_step_up[] = { "password", "code", NULL };

static int step_totp(qw_api *a, qw_store *st)
{
    qw_admin_session *s = a->admin;
    const char *code = NULL, *rec = NULL;
    int done = OK, v;

    if (!s->pending || strcmp(s->pending, "totp")) {
        return qw_api_error(a, HTTP_CONFLICT, NULL,
                            "no two-step code is owed");
    }
    if (qw_api_read_body(a, &done)
        || qw_api_keys(a, NULL, keys_totp, &done)
        || qw_api_str(a, "code", 0, &code, &done)
        || qw_api_str(a, "recovery_code", 0, &rec, &done)) {
        return done;
    }
    v = qw_admin_twostep_verify(a->r, st, s, code, rec);
    if (v == HTTP_TOO_MANY_REQUESTS) {
        return qw_api_throttled(a->r);
    }
    if (v == HTTP_UNAUTHORIZED) {
        return qw_api_error(a, HTTP_UNAUTHORIZED, "code", "wrong code");
    }
    if (v != OK) {
        return qw_api_error(a, HTTP_SERVICE_UNAVAILABLE, NULL,
                            "service unavailable");
    }
    return qw_api_json(a, HTTP_OK, qw_admin_session_json(a));
}

static int step_setup(qw_api *a, qw_store *st)
{
    request_rec *r = a->r;
    qw_admin_session *s = a->admin;
    const char *code = NULL, *b32;
    int done = OK, v, i;
    apr_array_header_t *codes;
    json_t *list, *body;

    if (!qw_admin_may_enrol(r, s)) {
        return qw_api_error(a, HTTP_FORBIDDEN, "pending",
                            "finish the pending step first");
    }
    if (r->method_number == M_GET) {
        const char *uri, *svg;

        v = qw_admin_twostep_begin(r, st, s, &b32, &uri, &svg);
        if (v == HTTP_CONFLICT) {
            return qw_api_error(a, HTTP_CONFLICT, NULL,
                                "two-step verification is already on");
        }
        if (v != OK) {
            return qw_api_error(a, HTTP_SERVICE_UNAVAILABLE, NULL,
                                "service unavailable");
        }
        apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
        return qw_api_json(a, HTTP_OK,
                           json_pack("{s:s, s:s, s:s?}", "secret", b32,
                                     "otpauth_uri", uri, "qr_svg", svg));
    }
    if (r->method_number != M_POST) {
        return qw_api_error(a, HTTP_METHOD_NOT_ALLOWED, NULL,
                            "method not allowed");
    }
    if (qw_api_read_body(a, &done)
        || qw_api_keys(a, NULL, keys_code, &done)
        || qw_api_str(a, "code", 1, &code, &done)) {
        return done;
    }
    v = qw_admin_twostep_confirm(r, st, s, code, &codes, &b32);
    if (v == HTTP_BAD_REQUEST) {
        return qw_api_error(a, HTTP_BAD_REQUEST, "code", "wrong code");
    }
    if (v == HTTP_CONFLICT) {
        return qw_api_error(a, HTTP_CONFLICT, NULL,
                            "two-step verification is already on");
    }
    if (v != OK) {
        return qw_api_error(a, HTTP_SERVICE_UNAVAILABLE, NULL,
                            "service unavailable");
    }
    list = json_array();
    for (i = 0; i < codes->nelts; i++) {
        json_array_append_new(list, json_string(APR_ARRAY_IDX(codes, i,
                                                              const char *)));
    }
    body = qw_admin_session_json(a);
    json_object_set_new(body, "recovery_codes", list);
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    return qw_api_json(a, HTTP_OK, body);
}

static int step_password(qw_api *a, qw_store *st)
{
    request_rec *r = a->r;
    qw_admin_session *s = a->admin;
    const char *cur = NULL, *pw = NULL, *why, *msg;
    int done = OK, v;

    if (!qw_admin_may_change_password(r, s)) {
        return qw_api_error(a, HTTP_FORBIDDEN, "pending",
                            "finish the pending step first");
    }
    if (r->method_number != M_POST) {
        return qw_api_error(a, HTTP_METHOD_NOT_ALLOWED, NULL,
                            "method not allowed");
    }
    if (qw_api_read_body(a, &done)
        || qw_api_keys(a, NULL, keys_password, &done)
        || qw_api_str(a, "current_password", 1, &cur, &done)
        || qw_api_str(a, "new_password", 1, &pw, &done)) {
        return done;
    }
    v = qw_admin_password_change(r, st, s, cur, pw, NULL, &why, &msg);
    if (v == HTTP_TOO_MANY_REQUESTS) {
        return qw_api_throttled(r);
    }
    if (v == HTTP_UNAUTHORIZED) {
        return qw_api_error(a, HTTP_UNAUTHORIZED, "current_password",
                            "wrong password");
    }
    if (v == HTTP_BAD_REQUEST) {
        return qw_api_error(a, HTTP_BAD_REQUEST, "new_password", why);
    }
    if (v != OK) {
        return qw_api_error(a, HTTP_SERVICE_UNAVAILABLE, NULL,
                            "service unavailable");
    }
    return qw_api_json(a, HTTP_OK, qw_admin_session_json(a));
}

/* POST <api>/session/step-up {"password": ...} or {"code": ...}: a
 * fresh proof for the privileged calls (docs/admin-api.md lists them). */
static int step_up(qw_api *a, qw_store *st)
{
    request_rec *r = a->r;
    const char *pw = NULL, *code = NULL;
    int done = OK, v;

    if (r->method_number != M_POST) {
        return qw_api_error(a, HTTP_METHOD_NOT_ALLOWED, NULL,
                            "method not allowed");
    }
    if (!qw_admin_usable(r, a->admin)) {
        return qw_api_error(a, HTTP_FORBIDDEN, "pending",
                            "finish the pending step first");
    }
    /* per address, before the body is read, like the login */
    if (qw_throttle_addr_check(r) != OK) {
        return qw_api_throttled(r);
    }
    if (qw_api_read_body(a, &done)
        || qw_api_keys(a, NULL, keys_step_up, &done)
        || qw_api_str(a, "password", 0, &pw, &done)
        || qw_api_str(a, "code", 0, &code, &done)) {
        return done;
    }
    if ((!pw || !*pw) == (!code || !*code)) {
        return qw_api_error(a, HTTP_BAD_REQUEST, NULL,
                            "give either password or code");
    }
    v = qw_admin_step_up(r, st, a->admin, pw && *pw ? pw : NULL, code);
    if (v == HTTP_TOO_MANY_REQUESTS) {
        return qw_api_throttled(r);
    }
    if (v == HTTP_UNAUTHORIZED) {
        return qw_api_error(a, HTTP_UNAUTHORIZED, pw ? "password" : "code",
                            pw ? "wrong password" : "wrong code");
    }
    if (v != OK) {
        return qw_api_error(a, HTTP_SERVICE_UNAVAILABLE, NULL,
                            "service unavailable");
    }
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    return qw_api_json(a, HTTP_OK, qw_admin_session_json(a));
}

int qw_admin_api_step(qw_api *a, const char *step)
{
    qw_store *st = &a->st;

    qw_admin_store(a->r, st, a->admin);
    if (!st->db || !st->keys) {
        return qw_api_error(a, HTTP_SERVICE_UNAVAILABLE, NULL,
                            "service unavailable");
    }
    if (!strcmp(step, "totp")) {
        return step_totp(a, st);
    }
    if (!strcmp(step, "totp-setup")) {
        return step_setup(a, st);
    }
    if (!strcmp(step, "password")) {
        return step_password(a, st);
    }
    if (!strcmp(step, "step-up")) {
        return step_up(a, st);
    }
    return qw_api_error(a, HTTP_NOT_FOUND, NULL, "no such resource");
}
