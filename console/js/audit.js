// The Operation log screen (module "audit"): filters (module, admin,
// result, time range), a paged table (a card per row on a phone), the CSV
// export of the same selection (a plain download link: GET audit/export,
// streamed by the server), and the chain's verify status (GET
// audit/verify, the check 'qiweictl audit verify' runs).
import * as api from './api.js';
import {h, clear, message, field, latest} from './dom.js';
import {t, addStrings} from './i18n.js';
import {result} from './members.js';

addStrings({
  'zh-CN': {
    audit_title: '操作日志',
    audit_module: '模块',
    audit_admin: '管理员（如 admin:3）',
    audit_result: '结果',
    audit_from: '开始时间',
    audit_to: '结束时间',
    audit_time: '时间',
    audit_who: '管理员',
    audit_address: '地址',
    audit_action: '操作',
    audit_object: '对象',
    audit_res_success: '成功',
    audit_res_failure: '失败',
    audit_res_refused: '拒绝',
    audit_export: '导出 CSV',
    audit_export_hint: '导出当前筛选条件下的全部记录（不分页）；导出本身也会记入日志。',
    audit_caption: '第 {from}–{to} 条',
    audit_empty: '没有符合条件的记录。',
    audit_pages: '分页',
    audit_verify: '校验日志链',
    audit_verify_title: '防篡改校验',
    audit_verify_hint: '重新计算全部记录的 HMAC 链（与 qiweictl audit verify 相同）。',
    audit_verifying: '正在校验…',
    audit_verified: '日志链完整：{rows} 条记录，序号 {first} 至 {last}。',
    audit_verified_empty: '日志链完整：没有记录。',
    audit_broken: '日志链已被破坏：{problems} 处问题，第一处在序号 {seq}。',
    audit_finding: '序号 {seq}：{problem}',
    audit_bad_time: '时间格式无效。',
  },
  en: {
    audit_title: 'Operation log',
    audit_module: 'Module',
    audit_admin: 'Admin (as logged, e.g. admin:3)',
    audit_result: 'Result',
    audit_from: 'From',
    audit_to: 'To',
    audit_time: 'Time',
    audit_who: 'Admin',
    audit_address: 'Address',
    audit_action: 'Action',
    audit_object: 'Object',
    audit_res_success: 'Success',
    audit_res_failure: 'Failure',
    audit_res_refused: 'Refused',
    audit_export: 'Export CSV',
    audit_export_hint: 'Exports every row of the current filters (not only this page); the export itself is logged.',
    audit_caption: 'Rows {from}–{to}',
    audit_empty: 'No rows match.',
    audit_pages: 'Pages',
    audit_verify: 'Verify the chain',
    audit_verify_title: 'Tamper evidence',
    audit_verify_hint: 'Recomputes the HMAC chain of every row (as qiweictl audit verify does).',
    audit_verifying: 'Verifying…',
    audit_verified: 'The chain verifies: {rows} rows, seq {first} to {last}.',
    audit_verified_empty: 'The chain verifies: no rows.',
    audit_broken: 'The chain is BROKEN: {problems} problem(s), the first at seq {seq}.',
    audit_finding: 'seq {seq}: {problem}',
    audit_bad_time: 'Not a valid time.',
  },
});

const PAGE = 50;
const RESULTS = ['success', 'failure', 'refused'];

export const screen = {
  id: 'audit',
  module: 'audit',
  label: () => t('audit_title'),
  render,
};

// the filter as typed (times as the datetime-local inputs hold them)
let state = {module: '', operator: '', result: '', from: '', to: '', offset: 0};

// datetime-local (local time, no zone) -> ISO 8601 in UTC; '' stays ''
function iso(local) {
  if (!local) {
    return '';
  }
  const d = new Date(local);
  return isNaN(d.getTime()) ? null : d.toISOString();
}

function params(withPage) {
  const p = new URLSearchParams();
  for (const k of ['module', 'operator', 'result']) {
    if (state[k]) {
      p.set(k, state[k]);
    }
  }
  for (const k of ['from', 'to']) {
    const v = iso(state[k]);
    if (v) {
      p.set(k, v);
    }
  }
  if (withPage) {
    p.set('limit', String(PAGE));
    p.set('offset', String(state.offset));
  }
  return p.toString();
}

// 2026-11-28T12:07:46.252464Z -> 2026-11-28 12:07:46Z (the server's UTC)
function when(at) {
  return String(at || '').replace('T', ' ').replace(/\.\d+/, '');
}

function resultLabel(r) {
  return RESULTS.includes(r) ? t('audit_res_' + r) : r;
}

async function render(main) {
  clear(main);
  const list = h('div', {id: 'audit-list'});
  const exportLink = h('a', {id: 'audit-export', class: 'button', download: '',
                             href: '#'}, t('audit_export'));
  const verifyOut = h('div', {id: 'audit-verify-out', 'aria-live': 'polite'});
  main.append(h('h1', {id: 'screen-title'}, t('audit_title')),
              verifyPanel(verifyOut),
              filters(list, exportLink),
              h('div', {class: 'actions'}, exportLink),
              h('p', {class: 'muted'}, t('audit_export_hint')),
              list);
  updateExport(exportLink);
  await load(list);
}

function verifyPanel(out) {
  const btn = h('button', {type: 'button', class: 'secondary', id: 'audit-verify'},
                t('audit_verify'));
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    clear(out);
    out.appendChild(h('p', {class: 'muted'}, t('audit_verifying')));
    const r = await api.get('audit/verify');
    btn.disabled = false;
    clear(out);
    if (r.status !== 200 || !r.data) {
      out.appendChild(result(r, ''));
      return;
    }
    const d = r.data;
    let el;
    if (d.ok) {
      el = message('ok', d.rows ? t('audit_verified', {rows: d.rows, first: d.first_seq,
                                                       last: d.last_seq})
                                : t('audit_verified_empty'));
    } else {
      el = message('err', t('audit_broken', {problems: d.problems,
                                             seq: d.first_bad_seq}));
    }
    el.id = 'audit-verify-status';
    el.setAttribute('data-ok', d.ok ? 'true' : 'false');
    out.appendChild(el);
    if (!d.ok && d.findings && d.findings.length) {
      out.appendChild(h('ul', {id: 'audit-findings'},
        d.findings.map((f) => h('li', null, t('audit_finding', {seq: f.seq,
                                                               problem: f.problem})))));
    }
  });
  return h('section', {class: 'panel', 'aria-labelledby': 'audit-verify-title'},
           h('h2', {id: 'audit-verify-title'}, t('audit_verify_title')),
           h('p', {class: 'muted'}, t('audit_verify_hint')),
           h('div', {class: 'actions'}, btn), out);
}

function filters(list, exportLink) {
  const mod = field(t('audit_module'), {name: 'module', type: 'text',
                                        value: state.module, autocomplete: 'off'});
  const op = field(t('audit_admin'), {name: 'operator', type: 'text',
                                      value: state.operator, autocomplete: 'off'});
  const res = field(t('audit_result'), {tag: 'select', name: 'result'});
  res.input.appendChild(h('option', {value: ''}, t('any')));
  for (const x of RESULTS) {
    res.input.appendChild(h('option', {value: x}, resultLabel(x)));
  }
  res.input.value = state.result;
  const from = field(t('audit_from'), {name: 'from', type: 'datetime-local',
                                       value: state.from});
  const to = field(t('audit_to'), {name: 'to', type: 'datetime-local',
                                   value: state.to});
  const form = h('form', {role: 'search', id: 'audit-filter'},
                 h('div', {class: 'row'}, mod.wrap, op.wrap, res.wrap),
                 h('div', {class: 'row'}, from.wrap, to.wrap,
                   h('button', {type: 'submit'}, t('filter'))));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    state = {module: mod.input.value.trim(), operator: op.input.value.trim(),
             result: res.input.value, from: from.input.value, to: to.input.value,
             offset: 0};
    updateExport(exportLink);
    load(list);
  });
  return form;
}

// the export: the same filters, all rows; a plain GET the browser
// downloads (the admin cookie goes with it: same origin, under the
// handler's path; no CSRF token, it changes nothing)
function updateExport(a) {
  const q = params(false);
  a.setAttribute('href', api.handler + 'api/v1/audit/export' + (q ? '?' + q : ''));
}

async function load(list) {
  const current = latest(list);
  clear(list);
  if (iso(state.from) === null || iso(state.to) === null) {
    list.appendChild(message('err', t('audit_bad_time')));
    return;
  }
  const r = await api.get('audit?' + params(true));
  if (!current()) {
    return;
  }
  clear(list);
  if (r.status !== 200 || !r.data) {
    list.appendChild(result(r, ''));
    return;
  }
  const {items, offset} = r.data;
  if (!items.length) {
    list.appendChild(h('p', {id: 'audit-empty'}, t('audit_empty')));
  } else {
    const rows = items.map((w) => h('tr', {'data-seq': String(w.seq)},
      h('td', {'data-label': t('audit_time'), class: 'mono'}, when(w.at)),
      h('td', {'data-label': t('audit_who'), class: 'a-actor'},
        w.actor + (w.actor_role ? ' (' + w.actor_role + ')' : '')),
      h('td', {'data-label': t('audit_address'), class: 'mono'}, w.source_ip || ''),
      h('td', {'data-label': t('audit_module')}, w.module),
      h('td', {'data-label': t('audit_action')}, w.action),
      h('td', {'data-label': t('audit_object'), class: 'a-object'}, w.object || ''),
      h('td', {'data-label': t('audit_result')},
        h('span', {class: 'status audit-' + w.result}, resultLabel(w.result)),
        w.reason ? ' ' + w.reason : '')));
    list.appendChild(h('table', {class: 'list', id: 'audit-table'},
      h('caption', null, t('audit_caption', {from: offset + 1,
                                             to: offset + items.length})),
      h('thead', null, h('tr', null,
        [t('audit_time'), t('audit_who'), t('audit_address'), t('audit_module'),
         t('audit_action'), t('audit_object'), t('audit_result')]
          .map((x) => h('th', {scope: 'col'}, x)))),
      h('tbody', null, rows)));
  }
  const prev = h('button', {type: 'button', class: 'secondary', id: 'audit-prev',
                            disabled: offset === 0,
                            onclick: () => {
                              state.offset = Math.max(0, offset - PAGE);
                              load(list);
                            }}, t('prev'));
  const next = h('button', {type: 'button', class: 'secondary', id: 'audit-next',
                            disabled: items.length < PAGE,
                            onclick: () => {
                              state.offset = offset + PAGE;
                              load(list);
                            }}, t('next'));
  list.appendChild(h('nav', {class: 'pager', 'aria-label': t('audit_pages')}, prev, next));
}
