// The Security settings screen (module "settings"): every setting GET
// settings offers, with its current value; Save sends PATCH settings with
// only the keys that changed.  Letting admins in without the second step
// is a privileged call, and so is any change that weakens sign-in (a
// password policy without composition rules, a longer or no maximum age,
// members without the second step): the server answers 403 step_up and
// api.js asks for the step-up, then sends the same PATCH once more.
// A value the enterprise has not set is shown with where its default
// comes from (GET settings "defaults").
// Login reminders (R4): each admin account with the member its logins
// are reported to (GET admins); a super admin binds (PUT
// admins/A/member) and unbinds, which takes the reminders away from a
// member and so needs the step-up.
import * as api from './api.js';
import {h, clear, message, field, newId, latest} from './dom.js';
import {t, addStrings} from './i18n.js';
import {result} from './members.js';

addStrings({
  'zh-CN': {
    settings_title: '安全设置',
    settings_sharing: '共享与显示',
    settings_access: '登录安全',
    settings_external_share: '允许对外分享文章（总开关）',
    settings_hide_mobile: '对所有成员隐藏手机号',
    settings_watermark_default: '默认加水印',
    settings_directory_scope: '通讯录可见范围',
    settings_scope_all: '全部成员',
    settings_scope_department: '仅本部门及下级部门',
    settings_admin_two_step: '管理员两步验证',
    settings_two_step_required: '必须',
    settings_two_step_optional: '可选（需再次验证身份）',
    settings_members: '成员的密码与两步验证',
    settings_admins: '管理员的密码',
    settings_member_password_policy: '成员密码规则',
    settings_admin_password_policy: '管理员密码规则',
    settings_policy_dengbao: '等保：至少 12 位，含数字、大小写字母和符号，定期更换',
    settings_policy_nist: 'NIST：至少 15 位（开启两步验证时 8 位），不强制更换（需再次验证身份）',
    settings_member_password_max_age: '成员密码有效期（天，0 = 永不过期）',
    settings_admin_password_max_age: '管理员密码有效期（天，0 = 永不过期）',
    settings_member_two_step: '成员两步验证',
    settings_days: '{n} 天',
    settings_never: '永不过期',
    settings_default: '{value}（默认，来自 {from}）',
    settings_from_builtin: '内置默认值',
    settings_from_policy: '密码规则',
    settings_reminders: '登录提醒',
    settings_reminders_help: '每次登录管理员账号，都会提醒它绑定的成员（时间、来源地址、浏览器）。',
    settings_bound_to: '提醒：{member}',
    settings_bound_none: '未绑定：登录不提醒任何人',
    settings_bind_member: '{account} 绑定的成员账号',
    settings_bind: '绑定',
    settings_unbind: '解除绑定',
    settings_bound: '{account} 的登录提醒现在发给 {member}。',
    settings_unbound: '{account} 已解除绑定。',
    settings_save: '保存设置',
    settings_saved: '设置已保存：{keys}。',
    settings_unchanged: '没有修改。',
    settings_current: '当前：{value}',
    settings_on: '开',
    settings_off: '关',
  },
  en: {
    settings_title: 'Security settings',
    settings_sharing: 'Sharing and display',
    settings_access: 'Sign-in security',
    settings_external_share: 'Allow sharing articles outside (master switch)',
    settings_hide_mobile: 'Hide every member\'s mobile number',
    settings_watermark_default: 'Watermark by default',
    settings_directory_scope: 'Directory scope for members',
    settings_scope_all: 'Everyone',
    settings_scope_department: 'Own departments and below',
    settings_admin_two_step: 'Two-step verification for admins',
    settings_two_step_required: 'Required',
    settings_two_step_optional: 'Optional (needs a step-up)',
    settings_members: 'Member passwords and two-step',
    settings_admins: 'Admin passwords',
    settings_member_password_policy: 'Password rules for members',
    settings_admin_password_policy: 'Password rules for admins',
    settings_policy_dengbao: 'Dengbao: 12+ characters with digits, upper and lower case and symbols; rotated',
    settings_policy_nist: 'NIST: 15+ characters (8 with two-step), no rotation (needs a step-up)',
    settings_member_password_max_age: 'Member passwords expire after (days, 0 = never)',
    settings_admin_password_max_age: 'Admin passwords expire after (days, 0 = never)',
    settings_member_two_step: 'Two-step verification for members',
    settings_days: '{n} days',
    settings_never: 'never',
    settings_default: '{value} (default, from {from})',
    settings_from_builtin: 'built in',
    settings_from_policy: 'the password rules',
    settings_reminders: 'Login reminders',
    settings_reminders_help: 'Every login to an admin account is reported to the member it is bound to (time, address, browser).',
    settings_bound_to: 'Reminds: {member}',
    settings_bound_none: 'Not bound: its logins remind nobody',
    settings_bind_member: 'Member account bound to {account}',
    settings_bind: 'Bind',
    settings_unbind: 'Unbind',
    settings_bound: 'Logins to {account} now remind {member}.',
    settings_unbound: '{account} is no longer bound.',
    settings_save: 'Save settings',
    settings_saved: 'Settings saved: {keys}.',
    settings_unchanged: 'Nothing changed.',
    settings_current: 'Now: {value}',
    settings_on: 'on',
    settings_off: 'off',
  },
});

export const screen = {
  id: 'settings',
  module: 'settings',
  label: () => t('settings_title'),
  render,
};

const BOOLS = ['external_share', 'hide_mobile', 'watermark_default'];
const DAYS = ['member_password_max_age', 'admin_password_max_age'];
const MAX_DAYS = 3650;
const CHOICES = {
  directory_scope: ['all', 'department'],
  admin_two_step: ['required', 'optional'],
  member_password_policy: ['dengbao', 'nist'],
  member_two_step: ['required', 'optional'],
  admin_password_policy: ['dengbao', 'nist'],
};
const CHOICE_LABEL = {
  directory_scope: (v) => t('settings_scope_' + v),
  admin_two_step: (v) => t('settings_two_step_' + v),
  member_password_policy: (v) => t('settings_policy_' + v),
  member_two_step: (v) => t('settings_two_step_' + v),
  admin_password_policy: (v) => t('settings_policy_' + v),
};

function shown(key, v) {
  if (BOOLS.includes(key)) {
    return v ? t('settings_on') : t('settings_off');
  }
  if (DAYS.includes(key)) {
    return v === 0 ? t('settings_never') : t('settings_days', {n: v});
  }
  return CHOICE_LABEL[key] && CHOICES[key].includes(v) ? CHOICE_LABEL[key](v) : String(v);
}

// "Now: ..." of a setting; a default says where it comes from: a
// directive (its name), the password rules, or built in.
function nowText(key, current) {
  const value = shown(key, current[key]);
  const from = current.defaults && current.defaults[key];
  if (!from) {
    return t('settings_current', {value});
  }
  const src = from === 'built-in' ? t('settings_from_builtin')
    : /_password_policy$/.test(from) ? t('settings_from_policy') : from;
  return t('settings_current', {value: t('settings_default', {value, from: src})});
}

async function render(main) {
  clear(main);
  main.appendChild(h('p', {class: 'muted'}, t('loading')));
  const r = await api.get('settings');
  clear(main);
  main.appendChild(h('h1', {id: 'screen-title'}, t('settings_title')));
  if (r.status !== 200 || !r.data) {
    main.appendChild(result(r, ''));
    return;
  }
  const out = h('div', {id: 'settings-out', 'aria-live': 'polite'});
  const form = h('form', {id: 'settings-form'});
  const rem = h('section', {id: 'settings-reminders',
                            'aria-labelledby': 'settings-reminders-title'});
  main.append(form, out, rem);
  build(form, out, r.data);
  await reminders(rem);
}

function me() {
  const s = api.currentSession();
  return s && s.admin ? s.admin : {super: false};
}

// The admin accounts and the member each one's logins remind.
async function reminders(sec) {
  const mine = latest(sec);
  const r = await api.get('admins?limit=500');
  if (!mine()) {
    return;                   // a newer draw of the list is on its way
  }
  clear(sec);
  sec.append(h('h2', {id: 'settings-reminders-title'}, t('settings_reminders')),
             h('p', {class: 'muted'}, t('settings_reminders_help')));
  const out = h('div', {id: 'reminders-out', 'aria-live': 'polite'});
  if (r.status !== 200 || !r.data) {
    sec.append(result(r, ''));
    return;
  }
  const list = h('ul', {class: 'reminders', id: 'reminders-list'});
  const sup = me().super;
  for (const ad of r.data.items || []) {
    const li = h('li', {class: 'reminder-admin', 'data-account': ad.account},
                 h('strong', null, ad.account),
                 h('span', {class: 'bound', 'data-bound': ad.bound_member || ''},
                   ad.bound_member ? t('settings_bound_to', {member: ad.bound_member})
                     : t('settings_bound_none')));
    if (sup) {
      li.appendChild(bindForm(sec, out, ad));
    }
    list.appendChild(li);
  }
  sec.append(list, out);
}

function bindForm(sec, out, ad) {
  const f = field(t('settings_bind_member', {account: ad.account}),
                  {name: 'member', autocomplete: 'off',
                   value: ad.bound_member || ''});
  const send = async (member) => {
    clear(out);
    const mine = latest(sec);
    const r = await api.put('admins/' + api.enc(ad.account) + '/member', {member});
    if (!mine()) {
      return;                 // overtaken by a later change of the list
    }
    const ok = member ? t('settings_bound', {account: ad.account, member})
      : t('settings_unbound', {account: ad.account});
    if (r.status === 200) {
      await reminders(sec);
      sec.querySelector('#reminders-out').appendChild(result(r, ok));
    } else {
      out.appendChild(result(r, ok));
    }
  };
  const form = h('form', {class: 'bind-form'}, f.wrap,
                 h('div', {class: 'actions'},
                   h('button', {type: 'submit'}, t('settings_bind')),
                   ad.bound_member ? h('button', {type: 'button', class: 'unbind',
                                                  onclick: () => send(null)},
                                       t('settings_unbind')) : null));
  form.onsubmit = (ev) => {
    ev.preventDefault();
    const v = f.input.value.trim();
    send(v ? v : null);
  };
  return form;
}

function build(form, out, current) {
  clear(form);
  const inputs = {};
  const note = (key) => h('span', {class: 'muted setting-now', 'data-key': key},
                          nowText(key, current));
  const checkbox = (key) => {
    const id = newId(key);
    inputs[key] = h('input', {type: 'checkbox', id, name: key,
                              checked: !!current[key]});
    return h('div', {class: 'check setting'},
             h('label', {for: id}, inputs[key], t('settings_' + key)), note(key));
  };
  const choice = (key) => {
    const f = field(t('settings_' + key), {tag: 'select', name: key});
    for (const v of CHOICES[key]) {
      f.input.appendChild(h('option', {value: v}, CHOICE_LABEL[key](v)));
    }
    if (!CHOICES[key].includes(current[key])) {
      // a value this console does not know: shown, kept unless changed
      f.input.appendChild(h('option', {value: current[key]}, String(current[key])));
    }
    f.input.value = current[key];
    inputs[key] = f.input;
    f.wrap.appendChild(note(key));
    return f.wrap;
  };
  const days = (key) => {
    const f = field(t('settings_' + key),
                    {type: 'number', name: key, min: 0, max: MAX_DAYS, step: 1,
                     inputmode: 'numeric', value: String(current[key])});
    inputs[key] = f.input;
    f.wrap.appendChild(note(key));
    return f.wrap;
  };
  form.append(
    h('fieldset', null, h('legend', null, t('settings_sharing')),
      checkbox('external_share'), checkbox('hide_mobile'),
      checkbox('watermark_default'), choice('directory_scope')),
    h('fieldset', null, h('legend', null, t('settings_access')),
      choice('admin_two_step')),
    h('fieldset', null, h('legend', null, t('settings_members')),
      choice('member_two_step'), choice('member_password_policy'),
      days('member_password_max_age')),
    h('fieldset', null, h('legend', null, t('settings_admins')),
      choice('admin_password_policy'), days('admin_password_max_age')),
    h('div', {class: 'actions'},
      h('button', {type: 'submit', id: 'settings-save'}, t('settings_save'))));
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    // only what changed
    const patch = {};
    for (const key of Object.keys(inputs)) {
      // a day count as typed: the server judges it (400 names the field)
      const v = BOOLS.includes(key) ? inputs[key].checked
        : DAYS.includes(key) ? (inputs[key].value === '' ? null
                                : Number(inputs[key].value))
        : inputs[key].value;
      if (v !== current[key]) {
        patch[key] = v;
      }
    }
    clear(out);
    const keys = Object.keys(patch);
    if (!keys.length) {
      const el = message('ok', t('settings_unchanged'));
      el.id = 'action-result';
      out.appendChild(el);
      return;
    }
    // two saves in a row: only the newer answer redraws the form
    const mine = latest(form);
    const r = await api.request('PATCH', 'settings', patch);
    if (!mine()) {
      return;
    }
    clear(out);
    out.appendChild(result(r, t('settings_saved', {keys: keys.join(', ')})));
    if (r.status === 200 && r.data) {
      build(form, out, r.data);
    }
  };
}
