// Every string the console shows, in zh-CN and en.  The language: the one
// chosen with the switch (kept in localStorage), else the browser's
// (navigator.languages, which follows Accept-Language), else zh-CN.
const KEY = 'qiwei.console.lang';

const S = {
  'zh-CN': {
    brand: '管理控制台',
    title: '管理控制台',
    skip: '跳到正文',
    language: '语言',
    nav_label: '页面',
    sign_out: '退出登录',
    signed_in_as: '已登录：{account}',
    loading: '正在加载…',
    no_screens: '你的权限中没有本控制台已有的页面。',
    // sign in
    sign_in: '登录',
    account: '账号',
    password: '密码',
    signing_in: '正在登录…',
    wrong_login: '账号或密码错误。',
    too_many: '尝试次数过多，请稍后再试。',
    unavailable: '服务暂不可用，请稍后再试。',
    step_totp: '两步验证',
    totp_hint: '请输入验证器应用中的 6 位验证码。',
    code: '验证码',
    use_recovery: '改用恢复码',
    recovery_code: '恢复码',
    verify: '验证',
    wrong_code: '验证码错误。',
    step_enrol: '设置两步验证',
    enrol_hint: '用验证器应用扫描二维码（或输入密钥），然后输入它显示的验证码。',
    secret: '密钥',
    qr_alt: '两步验证的二维码',
    enrol_done: '两步验证已开启。请把下面的恢复码保存在安全的地方，每个只能用一次：',
    continue: '继续',
    step_expired: '密码已过期',
    expired_hint: '请设置新密码后继续。',
    current_password: '当前密码',
    new_password: '新密码',
    change_password: '修改密码',
    signed_out: '已退出登录。',
    session_ended: '会话已结束，请重新登录。',
    // idle
    idle_warn: '{s} 秒后因无操作自动退出。',
    stay: '保持登录',
    // step-up
    step_up_title: '请再次验证身份',
    step_up_hint: '此操作需要在 5 分钟内再次验证：输入密码或两步验证码。',
    step_up_code: '两步验证码（或留空，用密码）',
    confirm: '确认',
    cancel: '取消',
    step_up_failed: '验证失败，操作未执行。',
    // members
    members: '成员',
    search: '搜索（账号或姓名）',
    department: '部门',
    role: '角色',
    status: '状态',
    any: '全部',
    filter: '筛选',
    st_active: '在职',
    st_invited: '已邀请',
    st_disabled: '已停用',
    st_departed: '已离职',
    name: '姓名',
    departments: '部门',
    roles: '角色',
    manage: '管理',
    list_caption: '第 {from}–{to} 条，共 {total} 条',
    list_empty: '没有符合条件的成员。',
    prev: '上一页',
    next: '下一页',
    invite: '邀请成员',
    display_name: '显示名',
    mobile: '手机号',
    email: '邮箱',
    hide_mobile: '在通讯录中隐藏手机号',
    send_invite: '创建邀请',
    invite_link: '一次性激活链接（{h} 小时内有效）',
    invite_qr_alt: '激活链接的二维码',
    copy: '复制链接',
    copied: '已复制。',
    copy_manual: '请手动选择并复制链接。',
    invited: '已邀请 {account}。',
    close: '关闭',
    member: '成员 {account}',
    disable: '停用',
    enable: '重新启用',
    depart: '标记离职',
    reinvite: '重新发送邀请',
    end_sessions: '结束全部会话',
    reset_two_step: '重置两步验证',
    done_two_step: '已重置 {account} 的两步验证，其全部会话已结束。',
    move: '调整部门',
    save_depts: '保存部门',
    grant: '授予角色',
    grant_role: '角色名',
    revoke: '撤销 {role}',
    delete: '删除成员',
    delete_hint: '删除不可恢复。请输入账号 {account} 以确认：',
    delete_confirm: '确认账号',
    deleted: '已删除 {account}。',
    done_status: '{account} 的状态已改为：{status}。',
    done_sessions: '已结束 {account} 的 {n} 个会话。',
    done_depts: '{account} 的部门已保存。',
    done_grant: '已授予 {account} 角色 {role}。',
    done_revoke: '已撤销 {account} 的角色 {role}。',
    confirmed: '所有服务器均已确认生效。',
    unconfirmed: '已提交，但尚未得到所有服务器确认（{pending}）。请勿重复操作。',
    refused: '没有执行此操作的权限。',
    not_found: '未找到。',
    error: '出错了：{message}',
  },
  en: {
    brand: 'Admin console',
    title: 'Admin console',
    skip: 'Skip to content',
    language: 'Language',
    nav_label: 'Screens',
    sign_out: 'Sign out',
    signed_in_as: 'Signed in: {account}',
    loading: 'Loading…',
    no_screens: 'None of the screens this console has so far is within your rights.',
    sign_in: 'Sign in',
    account: 'Account',
    password: 'Password',
    signing_in: 'Signing in…',
    wrong_login: 'Wrong account or password.',
    too_many: 'Too many attempts. Try again later.',
    unavailable: 'Service unavailable. Try again later.',
    step_totp: 'Two-step verification',
    totp_hint: 'Enter the 6-digit code from your authenticator app.',
    code: 'Code',
    use_recovery: 'Use a recovery code instead',
    recovery_code: 'Recovery code',
    verify: 'Verify',
    wrong_code: 'Wrong code.',
    step_enrol: 'Set up two-step verification',
    enrol_hint: 'Scan the QR code with an authenticator app (or type the secret), then enter the code it shows.',
    secret: 'Secret',
    qr_alt: 'QR code for two-step verification',
    enrol_done: 'Two-step verification is on. Keep these recovery codes somewhere safe; each works once:',
    continue: 'Continue',
    step_expired: 'Password expired',
    expired_hint: 'Set a new password to continue.',
    current_password: 'Current password',
    new_password: 'New password',
    change_password: 'Change password',
    signed_out: 'Signed out.',
    session_ended: 'Your session has ended. Please sign in again.',
    idle_warn: 'You will be signed out in {s} s for inactivity.',
    stay: 'Stay signed in',
    step_up_title: 'Confirm it is you',
    step_up_hint: 'This action needs a fresh proof (within 5 minutes): your password or a two-step code.',
    step_up_code: 'Two-step code (or leave empty and use the password)',
    confirm: 'Confirm',
    cancel: 'Cancel',
    step_up_failed: 'Not confirmed; nothing was done.',
    members: 'Members',
    search: 'Search (account or name)',
    department: 'Department',
    role: 'Role',
    status: 'Status',
    any: 'Any',
    filter: 'Filter',
    st_active: 'Active',
    st_invited: 'Invited',
    st_disabled: 'Disabled',
    st_departed: 'Departed',
    name: 'Name',
    departments: 'Departments',
    roles: 'Roles',
    manage: 'Manage',
    list_caption: '{from}–{to} of {total}',
    list_empty: 'No member matches.',
    prev: 'Previous',
    next: 'Next',
    invite: 'Invite a member',
    display_name: 'Display name',
    mobile: 'Mobile',
    email: 'E-mail',
    hide_mobile: 'Hide the mobile number in the directory',
    send_invite: 'Create the invitation',
    invite_link: 'One-time activation link (valid {h} hours)',
    invite_qr_alt: 'QR code of the activation link',
    copy: 'Copy link',
    copied: 'Copied.',
    copy_manual: 'Select the link and copy it.',
    invited: 'Invited {account}.',
    close: 'Close',
    member: 'Member {account}',
    disable: 'Disable',
    enable: 'Re-enable',
    depart: 'Mark departed',
    reinvite: 'Send a new invitation',
    end_sessions: 'End all sessions',
    reset_two_step: 'Reset two-step',
    done_two_step: 'Two-step verification of {account} reset; all their sessions ended.',
    move: 'Departments',
    save_depts: 'Save departments',
    grant: 'Grant role',
    grant_role: 'Role name',
    revoke: 'Revoke {role}',
    delete: 'Delete member',
    delete_hint: 'Deleting cannot be undone. Type the account {account} to confirm:',
    delete_confirm: 'Account to confirm',
    deleted: 'Deleted {account}.',
    done_status: '{account} is now: {status}.',
    done_sessions: 'Ended {n} session(s) of {account}.',
    done_depts: 'Departments of {account} saved.',
    done_grant: 'Granted {role} to {account}.',
    done_revoke: 'Revoked {role} from {account}.',
    confirmed: 'Confirmed on every server.',
    unconfirmed: 'Committed, but not yet confirmed by every server ({pending}). Do not repeat it.',
    refused: 'You have no permission for this action.',
    not_found: 'Not found.',
    error: 'Error: {message}',
  },
};

export const LANGS = Object.keys(S);

function pick() {
  try {
    const kept = window.localStorage.getItem(KEY);
    if (kept && S[kept]) {
      return kept;
    }
  } catch (e) {
    // storage refused (privacy mode): the browser's language
  }
  for (const l of navigator.languages || [navigator.language || '']) {
    const low = String(l).toLowerCase();
    if (low.startsWith('zh')) {
      return 'zh-CN';
    }
    if (low.startsWith('en')) {
      return 'en';
    }
  }
  return 'zh-CN';
}

let lang = pick();

export function current() {
  return lang;
}

export function setLang(l, keep) {
  if (!S[l]) {
    return;
  }
  lang = l;
  if (keep) {
    try {
      window.localStorage.setItem(KEY, l);
    } catch (e) {
      // not kept; still switched
    }
  }
  document.documentElement.lang = l;
  document.title = t('title');
  for (const el of document.querySelectorAll('[data-i18n]')) {
    el.textContent = t(el.getAttribute('data-i18n'));
  }
  for (const el of document.querySelectorAll('[data-i18n-label]')) {
    el.setAttribute('aria-label', t(el.getAttribute('data-i18n-label')));
  }
}

// A screen's own strings ({'zh-CN': {...}, en: {...}}), added by the
// screen's module when it is loaded, so that each screen keeps its strings
// next to its code.  A key already present is a programming error.
export function addStrings(more) {
  for (const l of Object.keys(S)) {
    for (const [k, v] of Object.entries(more[l] || {})) {
      if (k in S[l]) {
        throw new Error('i18n: duplicate key ' + k);
      }
      S[l][k] = v;
    }
  }
}

// t('key', {name: value}): the string with {name} replaced (as text).
export function t(key, vars) {
  let s = (S[lang] && S[lang][key]) || S.en[key] || key;
  if (vars) {
    s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  }
  return s;
}
