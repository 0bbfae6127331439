// The Members screen (module "directory"): search and filters, a paged
// list, invite (link + QR + copy), and per member: disable / re-enable /
// depart, departments, roles, end all sessions, reset two-step (needs a
// step-up), a new invitation, delete (typed confirmation).  Every result says what the revocation barrier
// confirmed (Qiwei-Revocation).
import * as api from './api.js';
import {h, clear, message, field, svgImage, newId, latest} from './dom.js';
import {t} from './i18n.js';

const PAGE = 20;
const STATUSES = ['active', 'invited', 'disabled', 'departed'];

export const screen = {
  id: 'members',
  module: 'directory',
  label: () => t('members'),
  render,
};

let state = {q: '', department: '', role: '', status: '', offset: 0};
let depts = [];            // [{code, name, parent}]

function deptName(code) {
  const d = depts.find((x) => x.code === code);
  return d ? d.name : code;
}

function statusLabel(s) {
  return t('st_' + s);
}

// The answer of a change as a message: what was done, and whether every
// server confirmed it (the revocation barrier).
export function result(r, okText) {
  let el;
  if (r.status >= 200 && r.status < 300) {
    const parts = [okText];
    if (r.revocation === 'confirmed') {
      parts.push(t('confirmed'));
    } else if (r.revocation === 'unconfirmed' || r.status === 202) {
      parts.push(t('unconfirmed', {pending: r.pending || '?'}));
    }
    el = message(r.status === 202 ? 'warn' : 'ok', parts.join(' '));
  } else if (r.status === 403) {
    el = message('err', r.stepUpRefused ? t('step_up_failed') : t('refused'));
  } else if (r.status === 404) {
    el = message('err', t('not_found'));
  } else if (r.status === 429) {
    el = message('err', t('too_many'));
  } else if (r.status === 0 || r.status >= 500) {
    el = message('err', t('unavailable'));
  } else {
    const m = r.data && r.data.error ? r.data.error.message : String(r.status);
    el = message('err', t('error', {message: m}));
  }
  el.id = 'action-result';
  el.setAttribute('data-status', String(r.status));
  el.setAttribute('data-revocation', r.revocation || '');
  return el;
}

async function render(main) {
  clear(main);
  main.appendChild(h('p', {class: 'muted'}, t('loading')));
  const d = await api.get('departments?limit=500');
  if (!main.isConnected) {
    // the admin has moved on (app.js: this view is no longer shown): its
    // late answer must not replace the departments of a newer render
    return;
  }
  depts = d.status === 200 && d.data ? d.data.items : [];
  clear(main);
  const out = h('div', {id: 'members-out', 'aria-live': 'polite'});
  const detail = h('div', {id: 'member-panel'});
  const list = h('div', {id: 'members-list'});
  main.append(h('h1', {id: 'screen-title'}, t('members')),
              filters(list, detail, out),
              h('div', {class: 'actions'},
                h('button', {type: 'button', id: 'invite-open',
                             onclick: () => inviteForm(detail, list, out)},
                  t('invite'))),
              out, detail, list);
  await load(list, detail, out);
}

function deptSelect(label, name, withAny) {
  const f = field(label, {tag: 'select', name});
  if (withAny) {
    f.input.appendChild(h('option', {value: ''}, t('any')));
  }
  for (const x of depts) {
    f.input.appendChild(h('option', {value: x.code}, x.name + ' (' + x.code + ')'));
  }
  return f;
}

function filters(list, detail, out) {
  const q = field(t('search'), {name: 'q', type: 'search', value: state.q});
  const dept = deptSelect(t('department'), 'department', true);
  dept.input.value = state.department;
  const role = field(t('role'), {name: 'role', type: 'text', value: state.role});
  const st = field(t('status'), {tag: 'select', name: 'status'});
  st.input.appendChild(h('option', {value: ''}, t('any')));
  for (const s of STATUSES) {
    st.input.appendChild(h('option', {value: s}, statusLabel(s)));
  }
  st.input.value = state.status;
  const form = h('form', {role: 'search', id: 'members-filter'},
                 h('div', {class: 'row'}, q.wrap, dept.wrap, role.wrap, st.wrap,
                   h('button', {type: 'submit'}, t('filter'))));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    state = {q: q.input.value.trim(), department: dept.input.value,
             role: role.input.value.trim(), status: st.input.value, offset: 0};
    load(list, detail, out);
  });
  return form;
}

function query() {
  const p = new URLSearchParams();
  for (const k of ['q', 'department', 'role', 'status']) {
    if (state[k]) {
      p.set(k, state[k]);
    }
  }
  p.set('limit', String(PAGE));
  p.set('offset', String(state.offset));
  return 'members?' + p.toString();
}

async function load(list, detail, out) {
  const current = latest(list);
  const r = await api.get(query());
  if (!current()) {
    return;
  }
  clear(list);
  if (r.status !== 200 || !r.data) {
    list.appendChild(result(r, ''));
    return;
  }
  const {items, total, offset} = r.data;
  if (!items.length) {
    list.appendChild(h('p', {id: 'members-empty'}, t('list_empty')));
  } else {
    const rows = items.map((m) => h('tr', {'data-account': m.account},
      h('td', {'data-label': t('account'), class: 'mono'}, m.account),
      h('td', {'data-label': t('name'), class: 'm-name'}, m.display_name),
      h('td', {'data-label': t('status')},
        h('span', {class: 'status status-' + m.status}, statusLabel(m.status))),
      h('td', {'data-label': t('departments')}, (m.departments || []).map(deptName).join(', ')),
      h('td', {'data-label': t('roles')}, (m.roles || []).join(', ')),
      h('td', {'data-label': t('manage')},
        h('button', {type: 'button', class: 'secondary manage',
                     'aria-label': t('manage') + ' ' + m.account,
                     onclick: () => memberPanel(m, detail, list, out)},
          t('manage')))));
    list.appendChild(h('table', {class: 'list', id: 'members-table'},
      h('caption', null, t('list_caption', {from: offset + 1,
                                            to: offset + items.length, total})),
      h('thead', null, h('tr', null,
        [t('account'), t('name'), t('status'), t('departments'), t('roles'), t('manage')]
          .map((x) => h('th', {scope: 'col'}, x)))),
      h('tbody', null, rows)));
  }
  const prev = h('button', {type: 'button', class: 'secondary',
                            disabled: offset === 0,
                            onclick: () => {
                              state.offset = Math.max(0, offset - PAGE);
                              load(list, detail, out);
                            }}, t('prev'));
  const next = h('button', {type: 'button', class: 'secondary',
                            disabled: offset + items.length >= total,
                            onclick: () => {
                              state.offset = offset + PAGE;
                              load(list, detail, out);
                            }}, t('next'));
  list.appendChild(h('nav', {class: 'pager', 'aria-label': t('members')}, prev, next));
}

function panel(detail, titleText, ...content) {
  latest(detail);
  clear(detail);
  const id = newId('panel');
  const close = h('button', {type: 'button', class: 'secondary',
                             onclick: () => {
                               latest(detail);
                               clear(detail);
                             }}, t('close'));
  const sec = h('section', {class: 'panel', 'aria-labelledby': id},
                h('h2', {id, tabindex: '-1'}, titleText), ...content,
                h('div', {class: 'actions'}, close));
  detail.appendChild(sec);
  sec.querySelector('h2').focus();
  return sec;
}

function inviteForm(detail, list, out) {
  const acct = field(t('account'), {name: 'account', type: 'text', autocomplete: 'off'});
  const name = field(t('display_name'), {name: 'display_name', type: 'text',
                                         autocomplete: 'off'});
  const mobile = field(t('mobile'), {name: 'mobile', type: 'tel', autocomplete: 'off'});
  const email = field(t('email'), {name: 'email', type: 'email', autocomplete: 'off'});
  const dept = deptSelect(t('department'), 'department', true);
  const hideId = newId('hide');
  const hide = h('input', {type: 'checkbox', id: hideId});
  const res = h('div', {id: 'invite-result'});
  const form = h('form', {id: 'invite-form'},
                 h('div', {class: 'row'}, acct.wrap, name.wrap),
                 h('div', {class: 'row'}, mobile.wrap, email.wrap, dept.wrap),
                 h('div', {class: 'check'}, h('label', {for: hideId}, hide, t('hide_mobile'))),
                 h('div', {class: 'actions'}, h('button', {type: 'submit'}, t('send_invite'))),
                 res);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = {account: acct.input.value.trim(), display_name: name.input.value.trim()};
    if (mobile.input.value.trim()) {
      body.mobile = mobile.input.value.trim();
    }
    if (email.input.value.trim()) {
      body.email = email.input.value.trim();
    }
    if (dept.input.value) {
      body.departments = [dept.input.value];
    }
    if (hide.checked) {
      body.hide_mobile = true;
    }
    const r = await api.post('members', body);
    clear(res);
    res.appendChild(result(r, r.data && r.data.account
                           ? t('invited', {account: r.data.account}) : ''));
    if (r.status === 201 || r.status === 202) {
      res.appendChild(inviteLink(r.data));
      load(list, detail, out);
    }
  });
  panel(detail, t('invite'), form);
}

// The one-time link, its QR code (made by the server) and a copy button.
function inviteLink(d) {
  const id = newId('link');
  const link = h('input', {type: 'text', id, readonly: true, class: 'mono',
                           value: d.activation_url || ''});
  link.id = 'invite-link';
  const note = h('span', {role: 'status', id: 'copy-note'});
  const copy = h('button', {type: 'button', id: 'invite-copy', onclick: async () => {
    link.select();
    try {
      await navigator.clipboard.writeText(link.value);
      note.textContent = t('copied');
    } catch (e) {
      note.textContent = t('copy_manual');
    }
  }}, t('copy'));
  return h('div', {class: 'panel'},
           h('label', {for: 'invite-link'}, t('invite_link', {h: d.activation_ttl_hours})),
           link,
           h('div', {class: 'actions'}, copy, note),
           d.qr_svg ? svgImage(d.qr_svg, t('invite_qr_alt')) : null);
}

// The panel of one member.  After a change that answers the member, the
// panel is drawn again from that answer (its buttons follow the new
// state) with the change's result in it.
function memberPanel(m, detail, list, out, carried) {
  const a = api.enc(m.account);
  const res = h('div', {class: 'member-result', 'aria-live': 'polite'}, carried);
  // A change asked here is answered in this panel only while nothing newer
  // was asked of the panel area: another member's panel (or the invite
  // form) opened, the panel closed, or a later change asked here.  An
  // overtaken answer is dropped (the list is loaded again all the same),
  // never drawn over the panel now shown.
  const ask = async (call) => {
    const current = latest(detail);
    const r = await call();
    return current() ? r : null;
  };
  const show = (r, text) => {
    if (!r) {
      return;
    }
    const el = result(r, text);
    if (r.status >= 200 && r.status < 300 && r.data && r.data.account
        && r.data.status && Array.isArray(r.data.departments)) {
      memberPanel(r.data, detail, list, out, el);
      return;
    }
    clear(res);
    res.appendChild(el);
  };
  const refresh = () => load(list, detail, out);
  const act = (label, cls, fn) => h('button', {type: 'button', class: cls,
                                               'data-action': label, onclick: fn},
                                    t(label));
  const setStatus = (s) => async () => {
    const r = await ask(() => api.put('members/' + a + '/status', {status: s}));
    show(r, t('done_status', {account: m.account, status: statusLabel(s)}));
    refresh();
  };
  const statusActions = h('div', {class: 'actions'},
    m.status === 'active' ? act('disable', 'secondary', setStatus('disabled')) : null,
    m.status === 'disabled' || m.status === 'departed'
      ? act('enable', 'secondary', setStatus('active')) : null,
    m.status !== 'departed' ? act('depart', 'secondary', setStatus('departed')) : null,
    m.status === 'invited' ? act('reinvite', 'secondary', async () => {
      const r = await ask(() => api.post('members/' + a + '/reinvite'));
      show(r, t('invited', {account: m.account}));
      if (r && (r.status === 200 || r.status === 202)) {
        res.appendChild(inviteLink(r.data));
      }
    }) : null,
    act('reset_two_step', 'secondary', async () => {
      // privileged: answered 403 "step_up" without a fresh proof, then
      // api.js asks for one and sends it again
      const r = await ask(() => api.del('members/' + a + '/two-step'));
      show(r, t('done_two_step', {account: m.account}));
    }),
    act('end_sessions', 'secondary', async () => {
      const r = await ask(() => api.del('members/' + a + '/sessions'));
      show(r, t('done_sessions', {account: m.account,
                                  n: r && r.data ? r.data.sessions_ended : 0}));
    }));

  // departments: one checkbox each
  const boxes = depts.map((d) => {
    const id = newId('dept');
    const box = h('input', {type: 'checkbox', id, value: d.code,
                            checked: (m.departments || []).includes(d.code)});
    return {box, el: h('div', {class: 'check'}, h('label', {for: id}, box,
                                                 d.name + ' (' + d.code + ')'))};
  });
  const deptForm = h('form', null, h('fieldset', null, h('legend', null, t('move')),
                                     boxes.map((b) => b.el)),
                     h('div', {class: 'actions'}, h('button', {type: 'submit', class: 'secondary'},
                                                    t('save_depts'))));
  deptForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const r = await ask(() => api.put('members/' + a + '/departments',
                                      {departments: boxes.filter((b) => b.box.checked)
                                                         .map((b) => b.box.value)}));
    show(r, t('done_depts', {account: m.account}));
    refresh();
  });

  // roles: revoke each, grant one by name
  const roleName = field(t('grant_role'), {name: 'role', type: 'text', autocomplete: 'off'});
  const roleForm = h('form', null,
    h('h3', null, t('roles')),
    h('div', {class: 'actions'}, (m.roles || []).map((role) =>
      h('button', {type: 'button', class: 'secondary', onclick: async () => {
        const r = await ask(() => api.del('members/' + a + '/roles/' + api.enc(role)));
        show(r, t('done_revoke', {account: m.account, role}));
        refresh();
      }}, t('revoke', {role})))),
    h('div', {class: 'row'}, roleName.wrap,
      h('button', {type: 'submit', class: 'secondary'}, t('grant'))));
  roleForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const role = roleName.input.value.trim();
    if (!role) {
      return;
    }
    const r = await ask(() => api.put('members/' + a + '/roles/' + api.enc(role)));
    show(r, t('done_grant', {account: m.account, role}));
    refresh();
  });

  // delete: the account typed again
  const confirmField = field(t('delete_confirm'), {name: 'confirm', type: 'text',
                                                   autocomplete: 'off'});
  const delButton = h('button', {type: 'submit', class: 'danger', disabled: true,
                                 'data-action': 'delete'}, t('delete'));
  confirmField.input.addEventListener('input', () => {
    delButton.disabled = confirmField.input.value !== m.account;
  });
  const delForm = h('form', null, h('h3', null, t('delete')),
                    h('p', null, t('delete_hint', {account: m.account})),
                    h('div', {class: 'row'}, confirmField.wrap, delButton));
  delForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (confirmField.input.value !== m.account) {
      return;
    }
    const r = await ask(() => api.del('members/' + a));
    show(r, t('deleted', {account: m.account}));
    refresh();
  });

  panel(detail, t('member', {account: m.account}),
        h('p', null, h('span', {class: 'm-name'}, m.display_name), ' — ',
          h('span', {class: 'status status-' + m.status}, statusLabel(m.status))),
        statusActions, res,
        h('div', {class: 'split'}, deptForm, roleForm), delForm);
}
