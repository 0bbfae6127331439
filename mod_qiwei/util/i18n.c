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
    /* account security (issue 6) */
    [QW_S_PW_TOO_SHORT] = {
        "The password must have at least {n} characters.",
        "密码至少需要 {n} 个字符。" },
    [QW_S_PW_TOO_LONG] = {
        "The password is too long (at most {n} characters).",
        "密码过长（最多 {n} 个字符）。" },
    [QW_S_PW_BAD_TEXT] = {
        "The password contains characters that cannot be used.",
        "密码包含不能使用的字符。" },
    [QW_S_PW_COMPOSITION] = {
        "The password must mix digits, upper-case letters, lower-case letters and symbols.",
        "密码必须同时包含数字、大写字母、小写字母和符号。" },
    [QW_S_PW_COMMON] = {
        "This password is too common. Choose one that is hard to guess.",
        "该密码过于常见，请设置难以猜测的密码。" },
    [QW_S_PW_ACCOUNT] = {
        "The password must not contain your account name.",
        "密码不能包含账号名。" },
    [QW_S_PW_REUSED] = {
        "You have used this password recently. Choose a new one.",
        "该密码近期已使用过，请设置新的密码。" },
    [QW_S_PW_CHANGE_TITLE] = {
        "Change password",
        "修改密码" },
    [QW_S_PW_CURRENT] = {
        "Current password",
        "当前密码" },
    [QW_S_PW_CURRENT_WRONG] = {
        "The current password is wrong.",
        "当前密码错误。" },
    [QW_S_PW_EXPIRED] = {
        "Your password has expired. Choose a new one to continue.",
        "您的密码已过期，请设置新密码后继续。" },
    [QW_S_PW_CHANGED] = {
        "Your password has been changed. Your other sessions have been signed out.",
        "密码已修改，其他设备上的登录已全部退出。" },
    [QW_S_PW_DELEGATED] = {
        "Your password is managed by your company's account system. Change it there.",
        "您的密码由公司的账号系统管理，请在该系统中修改。" },
    [QW_S_TOO_MANY] = {
        "Too many attempts. Please wait a while and try again.",
        "尝试次数过多，请稍后再试。" },
    [QW_S_TWOSTEP_TITLE] = {
        "Two-step verification",
        "两步验证" },
    [QW_S_TWOSTEP_PROMPT] = {
        "Enter the 6-digit code shown by your authenticator app.",
        "请输入身份验证器应用显示的 6 位验证码。" },
    [QW_S_TWOSTEP_CODE] = {
        "Verification code",
        "验证码" },
    [QW_S_TWOSTEP_RECOVERY] = {
        "Or a recovery code",
        "或输入恢复码" },
    [QW_S_TWOSTEP_FAILED] = {
        "The code is wrong, expired or already used.",
        "验证码错误、已过期或已被使用。" },
    [QW_S_TWOSTEP_VERIFY] = {
        "Verify",
        "验证" },
    [QW_S_TWOSTEP_SETUP_INTRO] = {
        "Scan this QR code with an authenticator app, then enter the 6-digit code it shows.",
        "请用身份验证器应用扫描此二维码，然后输入应用显示的 6 位验证码。" },
    [QW_S_TWOSTEP_SECRET] = {
        "Or enter this key by hand:",
        "或手动输入以下密钥：" },
    [QW_S_TWOSTEP_ON] = {
        "Two-step verification is on. Keep these recovery codes somewhere safe: each works once, and they are shown only this time.",
        "两步验证已开启。请妥善保存以下恢复码：每个只能使用一次，并且只显示这一次。" },
    [QW_S_TWOSTEP_ALREADY] = {
        "Two-step verification is already on for your account.",
        "您的账号已开启两步验证。" },
    [QW_S_TWOSTEP_REQUIRED] = {
        "Your organisation requires two-step verification. Set it up to continue.",
        "贵单位要求开启两步验证，请先完成设置。" },
    [QW_S_CONTINUE] = {
        "Continue",
        "继续" },
    [QW_S_SCAN_TITLE] = {
        "Sign in by scanning",
        "扫码登录" },
    [QW_S_SCAN_INTRO] = {
        "Scan this code with the phone on which you are signed in, then approve on the phone.",
        "请用已登录的手机扫描此二维码，并在手机上确认。" },
    [QW_S_SCAN_WAITING] = {
        "Waiting for approval on the phone...",
        "等待手机确认……" },
    [QW_S_SCAN_GONE] = {
        "This code has expired, was refused or was already used. Reload the page for a new one.",
        "二维码已失效、被拒绝或已被使用，请刷新页面获取新的二维码。" },
    [QW_S_SCAN_ASK] = {
        "A computer asks to sign in as you:",
        "有一台电脑请求以您的身份登录：" },
    [QW_S_SCAN_ADDRESS] = {
        "Address",
        "地址" },
    [QW_S_SCAN_BROWSER] = {
        "Browser",
        "浏览器" },
    [QW_S_SCAN_APPROVE] = {
        "Approve",
        "确认登录" },
    [QW_S_SCAN_REFUSE] = {
        "Refuse",
        "拒绝" },
    [QW_S_SCAN_APPROVED] = {
        "Approved. The computer is now signed in; remember to sign out there when you are done.",
        "已确认，电脑已登录。用完后请记得在电脑上退出。" },
    [QW_S_SCAN_REFUSED] = {
        "Refused. The computer was not signed in.",
        "已拒绝，电脑未登录。" },
    [QW_S_SCAN_CHECK] = {
        "Check again",
        "再次检查" },
    [QW_S_HOME_TITLE] = {
        "Home",
        "首页" },
    [QW_S_HOME_WELCOME] = {
        "Signed in as",
        "当前登录" },
    [QW_S_HOME_ARTICLES] = {
        "Articles you may read",
        "可阅读的文章" },
    [QW_S_HOME_NO_ARTICLES] = {
        "No articles for you yet.",
        "暂无可阅读的文章。" },
    [QW_S_HOME_MORE] = {
        "Only the newest are listed here; this module has more.",
        "此处只列出最新的文章，本栏目还有更多。" },
    [QW_S_HOME_MOD_NEWS] = {
        "News",
        "新闻" },
    [QW_S_HOME_MOD_WIKI] = {
        "Wiki",
        "知识库" },
    [QW_S_HOME_MOD_MINUTES] = {
        "Meeting minutes",
        "会议纪要" },
    [QW_S_HOME_MOD_FORMS] = {
        "Forms",
        "表单" },
    [QW_S_HOME_REMINDERS] = {
        "Login reminders",
        "登录提醒" },
    [QW_S_HOME_NO_REMINDERS] = {
        "No reminders.",
        "没有登录提醒。" },
    [QW_S_HOME_ALL_REMINDERS] = {
        "All reminders",
        "全部登录提醒" },
    [QW_S_HOME_SECURITY] = {
        "Security",
        "账号安全" },
    [QW_S_HOME_CHANGE_PASSWORD] = {
        "Change password",
        "修改密码" },
    [QW_S_HOME_TWOSTEP_ON] = {
        "Two-step verification is on.",
        "两步验证已开启。" },
    [QW_S_HOME_TWOSTEP_OFF] = {
        "Two-step verification is off.",
        "两步验证未开启。" },
    [QW_S_HOME_TWOSTEP_SETUP] = {
        "Set up two-step verification",
        "设置两步验证" },
    [QW_S_HOME_TWOSTEP_OFF_HINT] = {
        "Turning it on again later gives new recovery codes.",
        "关闭后重新开启会生成新的恢复码。" },
    [QW_S_HOME_SESSIONS] = {
        "Where you are signed in",
        "已登录的设备" },
    [QW_S_HOME_THIS_DEVICE] = {
        "This device",
        "当前设备" },
    [QW_S_HOME_SIGNED_IN_AT] = {
        "Signed in (UTC)",
        "登录时间（UTC）" },
    [QW_S_HOME_LAST_SEEN] = {
        "Last seen (UTC)",
        "最近活动（UTC）" },
    [QW_S_HOME_ADDRESS] = {
        "Address",
        "地址" },
    [QW_S_HOME_DEVICE] = {
        "Device",
        "设备" },
    [QW_S_HOME_END_ONE] = {
        "Sign out this one",
        "退出此设备" },
    [QW_S_HOME_END_OTHERS] = {
        "Sign out all others",
        "退出其他所有设备" },
    [QW_S_HOME_ENDED] = {
        "Signed out. That session is refused everywhere now.",
        "已退出，该会话在所有服务器上均已失效。" },
    [QW_S_HOME_NO_SUCH_SESSION] = {
        "That session does not exist or is not yours: nothing was changed.",
        "该会话不存在或不属于您，未做任何更改。" },
    [QW_S_HOME_SCAN_SESSION] = {
        "This is a scan-to-login session: sign in on your phone to manage sessions.",
        "当前为扫码登录会话，请在手机上登录后管理设备。" },
    [QW_S_HOME_DIRECTORY] = {
        "Directory",
        "通讯录" },
    [QW_S_HOME_DIR_EMPTY] = {
        "No one to show.",
        "暂无可显示的成员。" },
    [QW_S_HOME_DIR_DEPTS] = {
        "Departments",
        "部门" },
    [QW_S_HOME_DIR_MOBILE] = {
        "Mobile",
        "手机" },
    [QW_S_HOME_DIR_RANGE] = {
        "People %d to %d of %d",
        "第 %d 至 %d 人，共 %d 人" },
    [QW_S_HOME_DIR_PREV] = {
        "Previous people",
        "上一页" },
    [QW_S_HOME_DIR_NEXT] = {
        "More people",
        "下一页" },
    [QW_S_HOME_TWOSTEP_TURN_OFF] = {
        "Turn off two-step verification",
        "关闭两步验证" },
    [QW_S_HOME_TWOSTEP_ENFORCED] = {
        "Your enterprise requires two-step verification: it cannot be "
        "turned off.",
        "企业要求开启两步验证，不能关闭。" },
    [QW_S_HOME_BACK] = {
        "Back to home",
        "返回首页" },
    [QW_S_TWOSTEP_OFF_PROMPT] = {
        "Confirm with your current password, or with a code from your "
        "authenticator app. Your other devices will be signed out.",
        "请输入当前密码或验证器中的验证码以确认。其他设备将退出登录。" },
    [QW_S_TWOSTEP_OFF_PROMPT_CODE] = {
        "Confirm with a code from your authenticator app. Your other "
        "devices will be signed out.",
        "请输入验证器中的验证码以确认。其他设备将退出登录。" },
    [QW_S_TWOSTEP_OFF_DONE] = {
        "Two-step verification is off. Your other devices were signed out.",
        "两步验证已关闭，其他设备已退出登录。" },
    [QW_S_TWOSTEP_OFF_WRONG] = {
        "The password or code is not right.",
        "密码或验证码不正确。" },
    [QW_S_TWOSTEP_OFF_NEED] = {
        "Enter your password or a code.",
        "请输入密码或验证码。" },
    [QW_S_TWOSTEP_QR_LABEL] = {
        "QR code to scan with your authenticator app",
        "用身份验证器扫描的二维码" },
    [QW_S_MB_TITLE] = {
        "Mailbox",
        "私密信箱" },
    [QW_S_MB_EMPTY] = {
        "No messages.",
        "没有消息。" },
    [QW_S_MB_FROM] = {
        "From",
        "发件人" },
    [QW_S_MB_SENT_AT] = {
        "Sent",
        "发送时间" },
    [QW_S_MB_RULE] = {
        "Destruction",
        "销毁规则" },
    [QW_S_MB_RULE_READ_ONCE] = {
        "read once: destroyed when you reveal it",
        "阅后即焚：显示正文时即被销毁" },
    [QW_S_MB_RULE_EXPIRES] = {
        "destroyed at",
        "销毁时间" },
    [QW_S_MB_RULE_KEPT] = {
        "kept until destroyed",
        "保留至被销毁" },
    [QW_S_MB_UNREAD] = {
        "unread",
        "未读" },
    [QW_S_MB_READ] = {
        "read",
        "已读" },
    [QW_S_MB_REVEAL] = {
        "Reveal",
        "显示正文" },
    [QW_S_MB_REVEAL_HINT] = {
        "The text is shown only to you, with your name on the page.",
        "正文仅向您本人显示，页面带有您的水印。" },
    [QW_S_MB_REVEAL_ONCE_HINT] = {
        "This message can be read once: revealing it destroys it on the server. Make sure nobody is looking.",
        "此消息只能阅读一次：显示正文的同时服务器上的内容即被销毁。请确认旁边无人。" },
    [QW_S_MB_DESTROY] = {
        "Destroy",
        "销毁" },
    [QW_S_MB_DESTROY_HINT] = {
        "Destroying removes your copy for good; the sender is told.",
        "销毁后您的副本将永久删除，发件人会收到回执。" },
    [QW_S_MB_DESTROYED] = {
        "Destroyed. It cannot be read again.",
        "已销毁，无法再次阅读。" },
    [QW_S_MB_GONE_TITLE] = {
        "This message was destroyed",
        "该消息已销毁" },
    [QW_S_MB_GONE_HINT] = {
        "It was destroyed or it expired: its text no longer exists on the server.",
        "该消息已被销毁或已过期，服务器上已不存在其正文。" },
    [QW_S_MB_READ_TITLE] = {
        "Already read",
        "已阅读" },
    [QW_S_MB_READ_HINT] = {
        "This message could be read once and has been read: its text no longer exists on the server.",
        "此消息只能阅读一次且已被阅读，服务器上已不存在其正文。" },
    [QW_S_MB_NOT_FOUND] = {
        "No such message.",
        "没有这条消息。" },
    [QW_S_MB_BACK] = {
        "Back to the mailbox",
        "返回信箱" },
    [QW_S_MB_SHOWN_ONCE] = {
        "Destroyed on the server: this page is the only copy. Once you leave it, the text is gone.",
        "服务器上的内容已销毁，本页面是唯一的副本。离开本页后正文将无法找回。" },
    [QW_S_MB_OPEN_MINUTES] = {
        "Minutes this page stays open:",
        "本页最长显示（分钟）：" },
    [QW_S_MB_SENDER_OPERATOR] = {
        "Operator",
        "系统运维" },
    [QW_S_MB_SENDER_ADMIN] = {
        "Administrator",
        "管理员" },
    [QW_S_MB_MORE] = {
        "Only the newest messages are listed.",
        "仅列出最新的消息。" },
    [QW_S_MB_ATTACHMENTS] = {
        "Attachments",
        "附件" },
    [QW_S_MB_SCAN_TITLE] = {
        "Read it on your phone",
        "请在手机上阅读" },
    [QW_S_MB_SCAN_HINT] = {
        "You signed in here by scanning a code: a message that can be read "
        "only once is not shown on this computer. Open it in the mailbox on "
        "your phone.",
        "您是通过扫码登录本电脑的：只能阅读一次的消息不会在这台电脑上显示。"
        "请在手机上的信箱中打开。" },
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
