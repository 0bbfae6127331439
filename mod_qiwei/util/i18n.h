/* Every user-visible string, in zh-CN and en. */
#ifndef QW_I18N_H
#define QW_I18N_H

#include "util/text.h"

typedef enum {
    QW_S_LOGIN_TITLE,
    QW_S_ACCOUNT,
    QW_S_PASSWORD,
    QW_S_SIGN_IN,
    QW_S_LOGIN_FAILED,       /* same text for every reason */
    QW_S_LOGGED_OUT,
    QW_S_SIGN_OUT,
    QW_S_SIGN_OUT_CONFIRM,
    QW_S_ACTIVATE_TITLE,
    QW_S_ACTIVATE_INTRO,
    QW_S_NEW_PASSWORD,
    QW_S_REPEAT_PASSWORD,
    QW_S_ACTIVATE_BUTTON,
    QW_S_ACTIVATE_BAD_LINK,
    QW_S_ACTIVATE_MISMATCH,
    QW_S_ACTIVATE_WEAK,
    QW_S_ACTIVATE_DONE,
    QW_S_FORM_EXPIRED,       /* CSRF failure */
    QW_S_NO_PERMISSION,      /* 没有权限访问本页面 */
    QW_S_NO_PERMISSION_HINT,
    QW_S_UNAVAILABLE,
    QW_S_UNAVAILABLE_HINT,
    QW_S_BAD_REQUEST,
    QW_S_NOT_FOUND,
    QW_S_SIGNED_IN_AS,
    QW_S_GO_TO_LOGIN,
    /* account security (issue 6) */
    QW_S_PW_TOO_SHORT,
    QW_S_PW_TOO_LONG,
    QW_S_PW_BAD_TEXT,
    QW_S_PW_COMPOSITION,
    QW_S_PW_COMMON,
    QW_S_PW_ACCOUNT,
    QW_S_PW_REUSED,
    QW_S_PW_CHANGE_TITLE,
    QW_S_PW_CURRENT,
    QW_S_PW_CURRENT_WRONG,
    QW_S_PW_EXPIRED,
    QW_S_PW_CHANGED,
    QW_S_PW_DELEGATED,
    QW_S_TOO_MANY,
    QW_S_TWOSTEP_TITLE,
    QW_S_TWOSTEP_PROMPT,
    QW_S_TWOSTEP_CODE,
    QW_S_TWOSTEP_RECOVERY,
    QW_S_TWOSTEP_FAILED,
    QW_S_TWOSTEP_VERIFY,
    QW_S_TWOSTEP_SETUP_INTRO,
    QW_S_TWOSTEP_SECRET,
    QW_S_TWOSTEP_ON,
    QW_S_TWOSTEP_ALREADY,
    QW_S_TWOSTEP_REQUIRED,
    QW_S_CONTINUE,
    QW_S_SCAN_TITLE,
    QW_S_SCAN_INTRO,
    QW_S_SCAN_WAITING,
    QW_S_SCAN_GONE,
    QW_S_SCAN_ASK,
    QW_S_SCAN_ADDRESS,
    QW_S_SCAN_BROWSER,
    QW_S_SCAN_APPROVE,
    QW_S_SCAN_REFUSE,
    QW_S_SCAN_APPROVED,
    QW_S_SCAN_REFUSED,
    QW_S_SCAN_CHECK,
    QW_S_COUNT
} qw_string_id;

const char *qw_str(qw_lang lang, qw_string_id id);

/* "zh-CN" or "en" for the html lang attribute. */
const char *qw_lang_tag(qw_lang lang);

#endif
