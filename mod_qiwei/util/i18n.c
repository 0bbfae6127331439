/* Every user-visible string, in zh-CN and en.  Texts are plain (not HTML):
 * callers escape them like any other text. */
#include "util/i18n.h"

/* Indexed by qw_lang: [QW_LANG_EN], [QW_LANG_ZH]. */
static const char *const strings[QW_S_COUNT][2] = {
    [QW_S_LOGIN_TITLE] = { "Sign in", "登录" },
    [QW_S_ACCOUNT] = { "Account", "账号" },
    [QW_S_PASSWORD] = { "Password", "密码" },
    [QW_S_SIGN_IN] = { "Sign in", "登录" },
    /* Same words for unknown account, wrong password, disabled member:
     * the page must not tell which. */
    [QW_S_LOGIN_FAILED] = { "Wrong account or password", "账号或密码错误" },
    [QW_S_LOGGED_OUT] = { "You have signed out.", "您已退出登录。" },
    [QW_S_SIGN_OUT] = { "Sign out", "退出登录" },
    [QW_S_SIGN_OUT_CONFIRM] = { "Sign out now?", "确定要退出登录吗？" },
    [QW_S_ACTIVATE_TITLE] = { "Activate your account", "激活账号" },
    [QW_S_ACTIVATE_INTRO] = {
        "Your administrator has registered you. Choose a password to "
        "activate your account.",
        "管理员已为您登记。请设置密码以激活账号。" },
    [QW_S_NEW_PASSWORD] = { "New password", "新密码" },
    [QW_S_REPEAT_PASSWORD] = { "Repeat the password", "再次输入密码" },
    [QW_S_ACTIVATE_BUTTON] = { "Activate", "激活" },
    [QW_S_ACTIVATE_BAD_LINK] = {
        "This activation link is invalid, has expired or has already been "
        "used. Ask your administrator for a new one.",
        "激活链接无效、已过期或已被使用。请联系管理员重新获取。" },
    [QW_S_ACTIVATE_MISMATCH] = { "The two passwords do not match.",
                                 "两次输入的密码不一致。" },
    [QW_S_ACTIVATE_WEAK] = {
        "This password is too weak. Choose a longer one that is hard to "
        "guess.",
        "密码强度不足，请设置更长、更难猜测的密码。" },
    [QW_S_ACTIVATE_DONE] = {
        "Your account is active. You can now sign in.",
        "账号已激活，现在可以登录了。" },
    [QW_S_FORM_EXPIRED] = {
        "This form has expired. Please reload the page and try again.",
        "表单已过期，请刷新页面后重试。" },
    [QW_S_NO_PERMISSION] = { "No permission to access this page",
                             "没有权限访问本页面" },
    [QW_S_NO_PERMISSION_HINT] = {
        "If you believe you should have access, contact your administrator.",
        "如需访问，请联系管理员。" },
    [QW_S_UNAVAILABLE] = { "Service temporarily unavailable",
                           "服务暂时不可用" },
    [QW_S_UNAVAILABLE_HINT] = { "Please try again in a moment.",
                                "请稍后再试。" },
    [QW_S_BAD_REQUEST] = { "Bad request", "请求无效" },
    [QW_S_NOT_FOUND] = { "Page not found", "页面不存在" },
    [QW_S_SIGNED_IN_AS] = { "Signed in as", "当前登录" },
    [QW_S_GO_TO_LOGIN] = { "Go to sign-in page", "前往登录页面" },
};

const char *qw_str(qw_lang lang, qw_string_id id)
{
    int l = lang == QW_LANG_ZH ? 1 : 0;

    if ((int)id < 0 || id >= QW_S_COUNT || strings[id][l] == NULL) {
        return "";
    }
    return strings[id][l];
}

const char *qw_lang_tag(qw_lang lang)
{
    return lang == QW_LANG_ZH ? "zh-CN" : "en";
}
