/* Scan to log in (R14).
 *   <handler>/scan          the public computer: a QR code of the approve
 *                           URL with a fresh 128-bit challenge; the browser
 *                           gets a binding cookie; a little JS polls.
 *   <handler>/scan-poll     the computer asks (rate-limited in the
 *                           database); on approval, exactly one poll gets a
 *                           session of kind 'scan' (shorter timeouts).
 *   <handler>/scan-approve  the phone, signed in: shows the computer's
 *                           address and browser; approve or refuse (POST,
 *                           CSRF bound to the phone's session). */
#include "apr_strings.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_script.h"

#include "qiwei.h"
#include "db.h"
#include "throttle.h"
#include "cfg/config.h"
#include "handle/handle.h"
#include "handle/signin.h"
#include "util/cookie.h"
#include "util/json.h"
#include "util/csrf.h"
#include "util/qr.h"
#include "util/text.h"
#include "util/token.h"
#include "metrics.h"

#define QW_SCAN_TTL 120
#define QW_SCAN_POLL_MS 1000
#define QW_SCAN_MAX_POLLS 150
/* Bounds on open (unexpired) challenges, so that anonymous GETs of the
 * scan page cannot fill the table: one page view holds one for
 * QW_SCAN_TTL seconds, so 20 per address is ten views a minute from one
 * address (an office behind one NAT), 100 per /24 or /64, and 1000 per
 * enterprise (500 views a minute).  docs/account-security.md. */
#define QW_SCAN_PER_ADDRESS 20
#define QW_SCAN_PER_NETWORK 100
#define QW_SCAN_TOTAL 1000
/* a refusal's log line at most this often per child, with the count of
 * the ones left out */
#define QW_SCAN_LOG_EVERY apr_time_from_sec(10)

static int hash_of(const char *text, unsigned char out[QW_TOKEN_HASH_LEN])
{
    unsigned char raw[QW_TOKEN_BYTES];
    if (!text || qw_token_decode(text, strlen(text), raw, sizeof(raw)) != 0) {
        return -1;
    }
    qw_token_hash(raw, sizeof(raw), out);
    return 0;
}

static const char *arg(request_rec *r, const char *name)
{
    apr_table_t *args;
    ap_args_to_table(r, &args);
    return apr_table_get(args, name);
}

/* A bound was reached: 429 for an address that holds enough challenges,
 * 503 when the enterprise does (nobody may have more until some expire),
 * with Retry-After, nothing stored.  Logged (rate-limited per child: a
 * flood must not flood the log too). */
static int scan_full(request_rec *r, const qw_scan_refusal *f)
{
    static apr_time_t last_addr, last_total;
    static unsigned long quiet_addr, quiet_total;
    qw_req *q = qw_req_get(r, 1);
    apr_time_t now = apr_time_now();
    int total = f->refused == QW_SCAN_FULL_TOTAL;
    apr_time_t *last = total ? &last_total : &last_addr;
    unsigned long *quiet = total ? &quiet_total : &quiet_addr;

    if (now - *last >= QW_SCAN_LOG_EVERY) {
        if (total) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                          "QW1254: scan login refused for %s: enterprise %s "
                          "holds %d open challenges (%lu more refused "
                          "unlogged); retry after %d s", r->useragent_ip,
                          qw_dir(r)->enterprise, QW_SCAN_TOTAL, *quiet,
                          f->retry_after);
        }
        else {
            ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                          "QW1253: scan login refused for %s: the address "
                          "or its network holds %d/%d open challenges of "
                          "%s (%lu more refused unlogged); retry after %d s",
                          r->useragent_ip, QW_SCAN_PER_ADDRESS,
                          QW_SCAN_PER_NETWORK, qw_dir(r)->enterprise,
                          *quiet, f->retry_after);
        }
        *last = now;
        *quiet = 0;
    }
    else {
        (*quiet)++;
    }
    apr_table_setn(r->err_headers_out, "Retry-After",
                   apr_itoa(r->pool, f->retry_after > 0 ? f->retry_after
                                                        : 1));
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    q->ours = 1;                /* render/page.c draws the page */
    return total ? HTTP_SERVICE_UNAVAILABLE : HTTP_TOO_MANY_REQUESTS;
}

int qw_handle_scan(request_rec *r)
{
    qw_dir_cfg *d = qw_dir(r);
    qw_lang lang = qw_request_lang(r);
    unsigned char craw[QW_TOKEN_BYTES], braw[QW_TOKEN_BYTES];
    unsigned char ch[QW_TOKEN_HASH_LEN], bh[QW_TOKEN_HASH_LEN];
    const char *c, *b, *url, *svg, *nonce, *html, *next, *ua;
    qw_scan_request sr;
    qw_scan_refusal full;
    qw_store *st;

    if (!qw_sec_scan_login(&d->sec)) {
        return HTTP_NOT_FOUND;
    }
    if (r->method_number != M_GET) {
        r->allowed = AP_METHOD_BIT << M_GET;
        return HTTP_METHOD_NOT_ALLOWED;
    }
    c = qw_token_new(r->pool, craw, sizeof(craw));
    b = qw_token_new(r->pool, braw, sizeof(braw));
    nonce = qw_page_nonce(r);
    if (!c || !b || !nonce) {
        return qw_unavailable(r);
    }
    qw_token_hash(craw, sizeof(craw), ch);
    qw_token_hash(braw, sizeof(braw), bh);
    next = arg(r, "next");
    if (!next || !qw_safe_local_path(next)) {
        next = "/";
    }
    ua = qw_sanitize_text(r->pool, apr_table_get(r->headers_in,
                                                 "User-Agent"), 256);
    if (ua && !qw_valid_utf8_text(ua, strlen(ua))) {
        ua = NULL;
    }
    memset(&sr, 0, sizeof(sr));
    sr.ip = r->useragent_ip;
    sr.net = qw_addr_network(r->pool, r->useragent_ip);
    sr.ua = ua;
    sr.next_url = next;
    sr.ttl = QW_SCAN_TTL;
    sr.per_address = QW_SCAN_PER_ADDRESS;
    sr.per_network = QW_SCAN_PER_NETWORK;
    sr.total = QW_SCAN_TOTAL;
    st = qw_sec_store(r, NULL);
    if (!st || qw_sec_scan_new(st, d->enterprise, ch, bh, &sr, &full)
               != QW_OK) {
        return qw_unavailable(r);
    }
    if (full.refused) {
        return scan_full(r, &full);
    }
    url = ap_construct_url(r->pool, apr_pstrcat(r->pool,
                           qw_sec_page_url(r, "scan-approve"), "?c=", c,
                           NULL), r);
    svg = qw_qr_svg(r->pool, url, 240, NULL);
    if (!svg) {
        return qw_unavailable(r);
    }
    /* the binding cookie lives exactly as long as its challenge: a poll
     * after that gets 410 either way, and the browser forgets it at once */
    apr_table_add(r->err_headers_out, "Set-Cookie",
                  apr_psprintf(r->pool, "%s=%s; Path=/; HttpOnly; "
                               "SameSite=Strict; Max-Age=%d%s",
                               QW_SCAN_COOKIE, b, QW_SCAN_TTL,
                               qw_cookie_is_secure(r) ? "; Secure" : ""));
    html = qw_page_html(r, lang, nonce, qw_str(lang, QW_S_SCAN_TITLE),
        apr_pstrcat(r->pool,
        "<h1>", qw_str(lang, QW_S_SCAN_TITLE), "</h1>"
        "<p class=\"hint\">", qw_str(lang, QW_S_SCAN_INTRO), "</p>"
        "<p id=\"qr\">", svg, "</p>"
        "<p id=\"state\" class=\"hint\" role=\"status\">",
        qw_str(lang, QW_S_SCAN_WAITING), "</p>"
        "<noscript><p><a href=\"scan-poll?c=", c, "&amp;html=1\">",
        qw_str(lang, QW_S_SCAN_CHECK), "</a></p></noscript>"
        /* the script's data: JSON made by jansson, escaped for HTML */
        "<script type=\"application/json\" id=\"scan-data\">",
        qw_json_html(r->pool, json_pack("{s:s, s:s}", "poll",
                                        apr_pstrcat(r->pool, "scan-poll?c=",
                                                    c, NULL),
                                        "gone", qw_str(lang,
                                                       QW_S_SCAN_GONE))),
        "</script>"
        "<script nonce=\"", nonce, "\">(function(){"
        "var d=JSON.parse(document.getElementById('scan-data')"
        ".textContent),u=d.poll,n=0;"
        "function p(){fetch(u,{credentials:'same-origin',"
        "headers:{'Accept':'application/json'}}).then(function(r){"
        "return r.json().then(function(j){"
        "if(j.state==='approved'){location.replace(j.next);return;}"
        "if(j.state==='pending'||j.state==='throttled'){"
        "if(++n<100)setTimeout(p,2000);return;}"
        "document.getElementById('state').textContent=d.gone;"
        "});}).catch(function(){setTimeout(p,5000);});}"
        "setTimeout(p,2000);})();</script>", NULL));
    r->status = HTTP_OK;
    ap_set_content_type(r, "text/html; charset=utf-8");
    qw_page_security_headers(r, r->err_headers_out, nonce);
    /* this page needs its nonce'd script and same-origin fetch */
    apr_table_setn(r->err_headers_out, "Content-Security-Policy",
                   apr_pstrcat(r->pool, "default-src 'none'; style-src "
                               "'nonce-", nonce, "'; script-src 'nonce-",
                               nonce, "'; connect-src 'self'; img-src 'self'"
                               " data:; form-action 'self'; frame-ancestors"
                               " 'none'; base-uri 'none'", NULL));
    ap_set_content_length(r, strlen(html));
    if (!r->header_only) {
        ap_rwrite(html, strlen(html), r);
    }
    return OK;
}

static int poll_answer(request_rec *r, int status, const char *state,
                       const char *next)
{
    json_t *o = json_pack("{s:s}", "state", state);
    const char *json;

    if (o && next) {
        json_object_set_new(o, "next", json_string(next));
    }
    json = apr_pstrcat(r->pool, qw_json_text(r->pool, o), "\n", NULL);
    r->status = status;
    ap_set_content_type(r, "application/json");
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->err_headers_out, "X-Content-Type-Options", "nosniff");
    ap_set_content_length(r, strlen(json));
    if (!r->header_only) {
        ap_rwrite(json, strlen(json), r);
    }
    return OK;
}

int qw_handle_scan_poll(request_rec *r)
{
    qw_dir_cfg *d = qw_dir(r);
    unsigned char ch[QW_TOKEN_HASH_LEN], bh[QW_TOKEN_HASH_LEN];
    const char *bcookie = qw_cookie_get(r->pool,
        apr_table_get(r->headers_in, "Cookie"), QW_SCAN_COOKIE);
    int html = arg(r, "html") != NULL;
    qw_store *st;
    qw_scan sc;
    qw_status rc;

    if (!qw_sec_scan_login(&d->sec)) {
        return HTTP_NOT_FOUND;
    }
    if (r->method_number != M_GET) {
        r->allowed = AP_METHOD_BIT << M_GET;
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if (hash_of(arg(r, "c"), ch) != 0 || hash_of(bcookie, bh) != 0) {
        return poll_answer(r, HTTP_GONE, "gone", NULL);
    }
    st = qw_sec_store(r, NULL);
    if (!st) {
        return qw_unavailable(r);
    }
    rc = qw_sec_scan_poll(st, d->enterprise, ch, bh, QW_SCAN_POLL_MS,
                          QW_SCAN_MAX_POLLS, &sc);
    if (rc == QW_ERR_NOTFOUND) {
        return poll_answer(r, HTTP_GONE, "gone", NULL);
    }
    if (rc != QW_OK) {
        return qw_unavailable(r);
    }
    if (!strcmp(sc.state, "throttled")) {
        apr_table_setn(r->err_headers_out, "Retry-After", "1");
        return poll_answer(r, HTTP_TOO_MANY_REQUESTS, "throttled", NULL);
    }
    if (!strcmp(sc.state, "pending")) {
        if (html) {
            apr_table_setn(r->headers_out, "Location",
                           qw_sec_page_url(r, "scan"));
            return HTTP_SEE_OTHER;
        }
        return poll_answer(r, HTTP_ACCEPTED, "pending", NULL);
    }
    if (strcmp(sc.state, "approved")) {
        /* refused, used (replay), expired: nothing */
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "QW1250: scan login poll from %s: %s", r->useragent_ip,
                      sc.state);
        return poll_answer(r, HTTP_GONE, "gone", NULL);
    }
    {
        int64_t ent = qw_store_enterprise_id(st, d->enterprise, &rc);
        const char *next = qw_safe_local_path(sc.next_url)
                           && !strchr(sc.next_url, '"') ? sc.next_url : "/";
        if (ent <= 0 || qw_sec_session_issue(r, ent, sc.member_id, "scan", 1,
                             qw_sec_scan_idle(&d->sec),
                             qw_sec_scan_max_age(&d->sec)) != OK) {
            return qw_unavailable(r);
        }
        qw_metrics_inc(QW_C_LOGIN_MEMBER_OK);
        apr_table_add(r->err_headers_out, "Set-Cookie",
                      apr_psprintf(r->pool, "%s=; Path=/; HttpOnly; "
                                   "SameSite=Strict; Max-Age=0%s",
                                   QW_SCAN_COOKIE, qw_cookie_is_secure(r)
                                   ? "; Secure" : ""));
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "QW1251: scan login of member %" APR_INT64_T_FMT
                      " of %s completed at %s", sc.member_id, d->enterprise,
                      r->useragent_ip);
        if (html) {
            apr_table_setn(r->headers_out, "Location", next);
            return HTTP_SEE_OTHER;
        }
        /* next is a safe local path: no quote or backslash in it */
        return poll_answer(r, HTTP_OK, "approved", next);
    }
}

static int approve_page(request_rec *r, int status, const char *c,
                        const qw_scan *sc, const char *binding,
                        qw_string_id message)
{
    qw_lang lang = qw_request_lang(r);
    const char *title = qw_str(lang, QW_S_SCAN_TITLE);
    const char *body;

    if (message != QW_S_COUNT) {
        body = apr_pstrcat(r->pool, "<h1>", title, "</h1><p class=\"msg",
                           message == QW_S_SCAN_APPROVED ? " ok" : "",
                           "\" role=\"status\">", qw_str(lang, message),
                           "</p>", NULL);
    }
    else {
        const char *csrf = qw_csrf_make(r->pool, qw_csrf_key(), "scan",
                                        binding);
        body = apr_pstrcat(r->pool, "<h1>", title, "</h1>"
            "<p>", qw_str(lang, QW_S_SCAN_ASK), "</p>"
            "<p>", qw_str(lang, QW_S_SCAN_ADDRESS), ": <strong id=\"ip\">",
            qw_escape_html(r->pool, sc->ip), "</strong></p>"
            "<p>", qw_str(lang, QW_S_SCAN_BROWSER), ": <span id=\"ua\">",
            qw_escape_html(r->pool, sc->ua), "</span></p>"
            "<form method=\"post\" action=\"",
            qw_escape_html(r->pool, r->uri),
            "\"><input type=\"hidden\" name=\"csrf\" value=\"", csrf, "\">"
            "<input type=\"hidden\" name=\"c\" value=\"",
            qw_escape_html(r->pool, c), "\">"
            "<button type=\"submit\" name=\"action\" value=\"approve\">",
            qw_str(lang, QW_S_SCAN_APPROVE), "</button>"
            "<button type=\"submit\" name=\"action\" value=\"refuse\">",
            qw_str(lang, QW_S_SCAN_REFUSE), "</button></form>", NULL);
    }
    return qw_page_send(r, status, lang, qw_page_nonce(r), title, body);
}

int qw_handle_scan_approve(request_rec *r)
{
    qw_dir_cfg *d = qw_dir(r);
    unsigned char ch[QW_TOKEN_HASH_LEN];
    const char *c;
    apr_table_t *form = NULL;
    qw_viewer *v;
    qw_store *st;
    qw_scan sc;
    qw_status s;
    int rc;

    if (!qw_sec_scan_login(&d->sec)) {
        return HTTP_NOT_FOUND;
    }
    if (r->method_number != M_GET && r->method_number != M_POST) {
        r->allowed = (AP_METHOD_BIT << M_GET) | (AP_METHOD_BIT << M_POST);
        return HTTP_METHOD_NOT_ALLOWED;
    }
    rc = qw_viewer_resolve(r, &v);
    if (rc != OK) {
        return rc;
    }
    if (!v || !strcmp(v->kind, "scan")) {
        /* the phone must be signed in (not by a scan itself) */
        apr_table_setn(r->headers_out, "Location",
                       apr_pstrcat(r->pool, qw_cfg_login_url(d), "?next=",
                                   qw_escape_urlc(r->pool, r->unparsed_uri),
                                   NULL));
        return HTTP_SEE_OTHER;
    }
    if (!qw_csrf_key()) {
        return qw_unavailable(r);
    }
    if (r->method_number == M_POST) {
        if ((rc = qw_read_form(r, &form)) != OK) {
            return rc;
        }
        c = apr_table_get(form, "c");
    }
    else {
        c = arg(r, "c");
    }
    st = qw_sec_store(r, apr_psprintf(r->pool, "member:%" APR_INT64_T_FMT,
                                      v->member_id));
    if (!st) {
        return qw_unavailable(r);
    }
    if (hash_of(c, ch) != 0) {
        return approve_page(r, HTTP_GONE, c, NULL, NULL, QW_S_SCAN_GONE);
    }
    s = qw_sec_scan_peek(st, d->enterprise, ch, &sc);
    if (s == QW_ERR_NOTFOUND || (s == QW_OK && strcmp(sc.state, "pending"))) {
        return approve_page(r, HTTP_GONE, c, NULL, NULL, QW_S_SCAN_GONE);
    }
    if (s != QW_OK) {
        return qw_unavailable(r);
    }
    if (r->method_number == M_GET) {
        return approve_page(r, HTTP_OK, c, &sc, v->token, QW_S_COUNT);
    }
    if (!qw_csrf_ok(r, form, "scan", v->token)) {
        return HTTP_FORBIDDEN;
    }
    {
        const char *action = apr_table_get(form, "action");
        int approve = action && !strcmp(action, "approve");
        if (!action || (!approve && strcmp(action, "refuse"))) {
            return HTTP_BAD_REQUEST;
        }
        s = qw_sec_scan_decide(st, d->enterprise, ch, v->member_id, approve);
        if (s == QW_ERR_NOTFOUND) {
            return approve_page(r, HTTP_GONE, c, NULL, NULL, QW_S_SCAN_GONE);
        }
        if (s != QW_OK) {
            return qw_unavailable(r);
        }
        qw_metrics_inc(approve ? QW_C_SCAN_APPROVED : QW_C_SCAN_REFUSED);
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "QW1252: member %" APR_INT64_T_FMT " of %s %s a scan "
                      "login for %s", v->member_id, d->enterprise,
                      approve ? "approved" : "refused", sc.ip);
        return approve_page(r, HTTP_OK, c, NULL, NULL,
                            approve ? QW_S_SCAN_APPROVED
                                    : QW_S_SCAN_REFUSED);
    }
}
