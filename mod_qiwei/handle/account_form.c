/* The form fields member and admin pages show alike: see account.h. */
#include "apr_strings.h"
#include "apr_tables.h"
#include "httpd.h"

#include "handle/account.h"

const char *qw_form_code_fields(request_rec *r, qw_lang lang)
{
    return apr_pstrcat(r->pool,
        "<label for=\"code\">", qw_str(lang, QW_S_TWOSTEP_CODE), "</label>"
        "<input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\""
        " autocomplete=\"one-time-code\" maxlength=\"16\" autofocus>"
        "<label for=\"recovery\">", qw_str(lang, QW_S_TWOSTEP_RECOVERY),
        "</label><input type=\"text\" id=\"recovery\" name=\"recovery\" "
        "autocomplete=\"off\" maxlength=\"32\">", NULL);
}

/* svg (util/qr.c's, role="img") with an accessible name: a screen reader
 * says what the picture is (the key itself follows as text). */
static const char *qr_labelled(request_rec *r, qw_lang lang, const char *svg)
{
    const char *at = strstr(svg, " role=\"img\"");

    if (!at) {
        return svg;
    }
    return apr_pstrcat(r->pool, apr_pstrmemdup(r->pool, svg, at - svg),
                       " role=\"img\" aria-label=\"",
                       qw_str(lang, QW_S_TWOSTEP_QR_LABEL), "\"",
                       at + strlen(" role=\"img\""), NULL);
}

const char *qw_form_enrol_intro(request_rec *r, qw_lang lang,
                                const char *svg, const char *b32)
{
    return apr_pstrcat(r->pool,
        "<p class=\"hint\">", qw_str(lang, QW_S_TWOSTEP_SETUP_INTRO), "</p>"
        "<p id=\"qr\">", qr_labelled(r, lang, svg), "</p>"
        "<p class=\"hint\">", qw_str(lang, QW_S_TWOSTEP_SECRET),
        " <code id=\"secret\">", b32, "</code></p>", NULL);
}

const char *qw_form_enrol_field(request_rec *r, qw_lang lang)
{
    return apr_pstrcat(r->pool,
        "<label for=\"code\">", qw_str(lang, QW_S_TWOSTEP_CODE), "</label>"
        "<input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\""
        " autocomplete=\"one-time-code\" maxlength=\"16\" required>", NULL);
}

const char *qw_form_recovery_list(request_rec *r,
                                  const apr_array_header_t *codes)
{
    const char *list = "";
    int i;

    for (i = 0; i < codes->nelts; i++) {
        list = apr_pstrcat(r->pool, list, "<li><code>",
                           APR_ARRAY_IDX(codes, i, const char *),
                           "</code></li>", NULL);
    }
    return list;
}

const char *qw_form_password_fields(request_rec *r, qw_lang lang)
{
    return apr_pstrcat(r->pool,
        "<label for=\"current\">", qw_str(lang, QW_S_PW_CURRENT), "</label>"
        "<input type=\"password\" id=\"current\" name=\"current\" "
        "autocomplete=\"current-password\" required maxlength=\"1024\">"
        "<label for=\"password\">", qw_str(lang, QW_S_NEW_PASSWORD),
        "</label><input type=\"password\" id=\"password\" name=\"password\""
        " autocomplete=\"new-password\" required maxlength=\"1024\">"
        "<label for=\"password2\">", qw_str(lang, QW_S_REPEAT_PASSWORD),
        "</label><input type=\"password\" id=\"password2\" "
        "name=\"password2\" autocomplete=\"new-password\" required "
        "maxlength=\"1024\">", NULL);
}
