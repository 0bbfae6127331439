// The Roles and sub-admins screen (module "settings"): the admin roles
// (name and modules as checkboxes: create or replace, delete) and the
// admin accounts (their roles as checkboxes: grant, revoke; status and
// creating an admin: the super admin only).  What the caller may not
// grant is not offered: a sub-admin sees only the modules they hold and
// only the roles made of them (the API refuses the rest anyway).  Grants,
// role changes, status and creating an admin are privileged calls: the
// step-up dialog comes first.
import * as api from './api.js';
import {h, clear, field, newId, latest} from './dom.js';
import {t, addStrings} from './i18n.js';
import {result} from './members.js';

addStrings({
  'zh-CN': {
    adm_title: '角色与子管理员',
    adm_roles: '管理角色',
    adm_role_name: '角色名',
    adm_modules: '模块',
    adm_role_save: '保存角色',
    adm_role_new: '新建或替换角色',
    adm_role_saved: '已保存角色 {name}。',
    adm_role_deleted: '已删除角色 {name}。',
    adm_role_edit: '编辑',
    adm_role_delete: '删除',
    adm_roles_empty: '还没有管理角色。',
    adm_admins: '管理员',
    adm_super: '超级管理员',
    adm_bound: '绑定成员',
    adm_admin_roles: '角色',
    adm_grants_of: '{account} 的角色',
    adm_granted: '已授予 {account} 角色 {role}。',
    adm_revoked: '已撤销 {account} 的角色 {role}。',
    adm_new_admin: '新建管理员',
    adm_create: '创建管理员',
    adm_created: '已创建管理员 {account}。',
    adm_status_done: '{account} 现在是：{status}。',
    adm_disable: '停用',
    adm_enable: '启用',
    adm_st_active: '正常',
    adm_st_disabled: '已停用',
    adm_yes: '是',
    adm_no: '否',
    adm_mod_directory: '通讯录 directory',
    adm_mod_news: '新闻 news',
    adm_mod_wiki: '知识库 wiki',
    adm_mod_minutes: '纪要 minutes',
    adm_mod_forms: '表单 forms',
    adm_mod_settings: '设置 settings',
    adm_mod_audit: '操作日志 audit',
  },
  en: {
    adm_title: 'Roles and sub-admins',
    adm_roles: 'Admin roles',
    adm_role_name: 'Role name',
    adm_modules: 'Modules',
    adm_role_save: 'Save role',
    adm_role_new: 'Create or replace a role',
    adm_role_saved: 'Role {name} saved.',
    adm_role_deleted: 'Role {name} deleted.',
    adm_role_edit: 'Edit',
    adm_role_delete: 'Delete',
    adm_roles_empty: 'No admin roles yet.',
    adm_admins: 'Admins',
    adm_super: 'Super admin',
    adm_bound: 'Bound member',
    adm_admin_roles: 'Roles',
    adm_grants_of: 'Roles of {account}',
    adm_granted: 'Role {role} granted to {account}.',
    adm_revoked: 'Role {role} revoked from {account}.',
    adm_new_admin: 'New admin',
    adm_create: 'Create admin',
    adm_created: 'Admin {account} created.',
    adm_status_done: '{account} is now: {status}.',
    adm_disable: 'Disable',
    adm_enable: 'Enable',
    adm_st_active: 'Active',
    adm_st_disabled: 'Disabled',
    adm_yes: 'yes',
    adm_no: 'no',
    adm_mod_directory: 'Directory (directory)',
    adm_mod_news: 'News (news)',
    adm_mod_wiki: 'Wiki (wiki)',
    adm_mod_minutes: 'Minutes (minutes)',
    adm_mod_forms: 'Forms (forms)',
    adm_mod_settings: 'Settings (settings)',
    adm_mod_audit: 'Operation log (audit)',
  },
});

export const screen = {
  id: 'admins',
  module: 'settings',
  label: () => t('adm_title'),
  render,
};

const KNOWN = ['directory', 'news', 'wiki', 'minutes', 'forms', 'settings', 'audit'];

function me() {
  const s = api.currentSession();
  return s && s.admin ? s.admin : {super: false, modules: []};
}

// may the caller give every module of mods (the server's rule)?
function mayGive(mods) {
  const a = me();
  return a.super || (mods || []).every((m) => (a.modules || []).includes(m));
}

function modLabel(m) {
  const k = 'adm_mod_' + m;
  const s = t(k);
  return s === k ? m : s;
}

function statusLabel(s) {
  const k = 'adm_st_' + s;
  const x = t(k);
  return x === k ? s : x;
}

// The screen, drawn again after each change with the change's result
// (note) in it.  Renders may overlap (two checkboxes ticked in a row) and
// their answers may come back in either order: only the newest render
// draws, so the roles and grants shown are never older than the last
// change (an overtaken render's note is dropped with it).
async function render(main, note) {
  const current = latest(main);
  clear(main);
  main.appendChild(h('p', {class: 'muted'}, t('loading')));
  const [rr, ar] = await Promise.all([api.get('roles?limit=500'),
                                      api.get('admins?limit=500')]);
  if (!current()) {
    return;
  }
  clear(main);
  main.appendChild(h('h1', {id: 'screen-title'}, t('adm_title')));
  const out = h('div', {id: 'adm-out', 'aria-live': 'polite'}, note);
  main.appendChild(out);
  if (rr.status !== 200 || !rr.data || ar.status !== 200 || !ar.data) {
    out.appendChild(result(rr.status !== 200 ? rr : ar, ''));
    return;
  }
  const roles = rr.data.items || [];
  const admins = ar.data.items || [];
  const show = (r, text) => {
    if (r.status >= 200 && r.status < 300) {
      render(main, result(r, text));
    } else if (out.isConnected) {
      clear(out);
      out.appendChild(result(r, text));
    }
  };
  main.append(rolesSection(roles, show), adminsSection(admins, roles, show));
}

// every module the caller may offer: the known ones and those in roles,
// less those a sub-admin does not hold
function offerable(roles) {
  const all = new Set(KNOWN);
  for (const r of roles) {
    for (const m of r.modules || []) {
      all.add(m);
    }
  }
  return [...all].filter((m) => mayGive([m]));
}

function rolesSection(roles, show) {
  const rows = roles.map((ro) => h('tr', {'data-role': ro.name},
    h('td', {'data-label': t('adm_role_name'), class: 'mono'}, ro.name),
    h('td', {'data-label': t('adm_modules')}, (ro.modules || []).join(', ')),
    h('td', {'data-label': t('manage')}, mayGive(ro.modules) ? [
      h('button', {type: 'button', class: 'secondary', 'data-action': 'edit-role',
                   'aria-label': t('adm_role_edit') + ' ' + ro.name,
                   onclick: () => fillRole(ro)}, t('adm_role_edit')), ' ',
      h('button', {type: 'button', class: 'danger', 'data-action': 'delete-role',
                   'aria-label': t('adm_role_delete') + ' ' + ro.name,
                   onclick: async () => {
                     const r = await api.del('roles/' + api.enc(ro.name));
                     show(r, t('adm_role_deleted', {name: ro.name}));
                   }}, t('adm_role_delete'))] : null)));
  const name = field(t('adm_role_name'), {name: 'role_name', type: 'text',
                                          autocomplete: 'off', maxlength: 63});
  const boxes = offerable(roles).map((m) => {
    const id = newId('mod');
    return {m, el: h('input', {type: 'checkbox', id, value: m, 'data-module': m})};
  });
  const fieldset = h('fieldset', {class: 'mods'}, h('legend', null, t('adm_modules')),
    boxes.map((b) => h('div', {class: 'check'},
      h('label', {for: b.el.id}, b.el, modLabel(b.m)))));
  const form = h('form', {id: 'role-form', class: 'panel'},
    h('h3', null, t('adm_role_new')), name.wrap, fieldset,
    h('div', {class: 'actions'}, h('button', {type: 'submit'}, t('adm_role_save'))));
  function fillRole(ro) {
    name.input.value = ro.name;
    for (const b of boxes) {
      b.el.checked = (ro.modules || []).includes(b.m);
    }
    name.input.focus();
  }
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const n = name.input.value.trim();
    const mods = boxes.filter((b) => b.el.checked).map((b) => b.m);
    const r = await api.put('roles/' + api.enc(n), {modules: mods});
    show(r, t('adm_role_saved', {name: n}));
  });
  return h('section', {'aria-labelledby': 'adm-roles-h', id: 'adm-roles'},
    h('h2', {id: 'adm-roles-h'}, t('adm_roles')),
    roles.length ? h('table', {class: 'list', id: 'roles-table'},
      h('thead', null, h('tr', null,
        [t('adm_role_name'), t('adm_modules'), t('manage')]
          .map((x) => h('th', {scope: 'col'}, x)))),
      h('tbody', null, rows)) : h('p', {id: 'roles-empty'}, t('adm_roles_empty')),
    form);
}

function adminsSection(admins, roles, show) {
  const grantable = roles.filter((ro) => mayGive(ro.modules));
  const sup = me().super;
  const rows = admins.map((ad) => {
    const held = ad.roles || [];
    const id = newId('grants');
    const checks = ad.super ? h('span', null, t('adm_super')) : h('fieldset', {class: 'grants', id},
      h('legend', {class: 'sr-only'}, t('adm_grants_of', {account: ad.account})),
      grantable.map((ro) => {
        const cid = newId('g');
        const box = h('input', {type: 'checkbox', id: cid, checked: held.includes(ro.name),
                                'data-grant': ro.name});
        box.addEventListener('change', async () => {
          const path = 'admins/' + api.enc(ad.account) + '/roles/' + api.enc(ro.name);
          const r = box.checked ? await api.put(path) : await api.del(path);
          if (r.status >= 300) {
            box.checked = !box.checked;
          }
          show(r, t(box.checked ? 'adm_granted' : 'adm_revoked',
                    {account: ad.account, role: ro.name}));
        });
        return h('div', {class: 'check'}, h('label', {for: cid}, box, ro.name));
      }),
      // roles held that the caller may not touch: shown, not offered
      held.filter((n) => !grantable.some((ro) => ro.name === n))
        .map((n) => h('div', {class: 'muted'}, n)));
    const next = ad.status === 'active' ? 'disabled' : 'active';
    return h('tr', {'data-admin': ad.account},
      h('td', {'data-label': t('account'), class: 'mono'}, ad.account),
      h('td', {'data-label': t('adm_super')}, ad.super ? t('adm_yes') : t('adm_no')),
      h('td', {'data-label': t('status')},
        h('span', {class: 'status status-' + ad.status}, statusLabel(ad.status))),
      h('td', {'data-label': t('adm_bound')}, ad.bound_member || ''),
      h('td', {'data-label': t('adm_admin_roles')}, checks),
      h('td', {'data-label': t('adm_modules')}, (ad.modules || []).join(', ')),
      h('td', {'data-label': t('manage')}, sup && !ad.super
        ? h('button', {type: 'button', class: 'secondary', 'data-action': 'admin-status',
                       'aria-label': t(next === 'active' ? 'adm_enable' : 'adm_disable')
                                     + ' ' + ad.account,
                       onclick: async () => {
                         const r = await api.put('admins/' + api.enc(ad.account) + '/status',
                                                 {status: next});
                         show(r, t('adm_status_done', {account: ad.account,
                                                       status: statusLabel(next)}));
                       }}, t(next === 'active' ? 'adm_enable' : 'adm_disable'))
        : null));
  });
  return h('section', {'aria-labelledby': 'adm-admins-h', id: 'adm-admins'},
    h('h2', {id: 'adm-admins-h'}, t('adm_admins')),
    h('table', {class: 'list', id: 'admins-table'},
      h('thead', null, h('tr', null,
        [t('account'), t('adm_super'), t('status'), t('adm_bound'), t('adm_admin_roles'),
         t('adm_modules'), t('manage')].map((x) => h('th', {scope: 'col'}, x)))),
      h('tbody', null, rows)),
    sup ? createForm(show) : null);
}

function createForm(show) {
  const acct = field(t('account'), {name: 'new_account', type: 'text', autocomplete: 'off'});
  const pw = field(t('password'), {name: 'new_admin_password', type: 'password',
                                   autocomplete: 'new-password'});
  const bind = field(t('adm_bound'), {name: 'bind_member', type: 'text', autocomplete: 'off'});
  const supId = newId('super');
  const supBox = h('input', {type: 'checkbox', id: supId, name: 'super'});
  const form = h('form', {id: 'admin-form', class: 'panel'},
    h('h3', null, t('adm_new_admin')),
    h('div', {class: 'row'}, acct.wrap, pw.wrap, bind.wrap),
    h('div', {class: 'check'}, h('label', {for: supId}, supBox, t('adm_super'))),
    h('div', {class: 'actions'}, h('button', {type: 'submit'}, t('adm_create'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = {account: acct.input.value.trim(), password: pw.input.value,
                  super: supBox.checked};
    if (bind.input.value.trim()) {
      body.bind_member = bind.input.value.trim();
    }
    const r = await api.post('admins', body);
    pw.input.value = '';
    show(r, t('adm_created', {account: body.account}));
  });
  return form;
}
