// The Departments screen (module "directory"): the tree (each department
// indented under its parent, as a nested list, so it reads on a phone)
// and adding one (its code, name and parent); per department a panel to
// rename it, move it under another (not under itself or one of its
// sub-departments: not offered, and refused by the server) and delete it
// (an empty one: the server refuses the rest, its message is shown).
import * as api from './api.js';
import {h, clear, field, newId, latest} from './dom.js';
import {t, addStrings} from './i18n.js';
import {result} from './members.js';

addStrings({
  'zh-CN': {
    dep_title: '部门',
    dep_tree: '部门树',
    dep_empty: '还没有部门。',
    dep_add: '添加部门',
    dep_code: '部门代码',
    dep_name: '部门名称',
    dep_parent: '上级部门',
    dep_top: '（顶级）',
    dep_added: '已添加部门 {code}。',
    dep_manage: '管理',
    dep_panel: '部门 {code}',
    dep_rename: '重命名',
    dep_move: '移动',
    dep_delete: '删除部门',
    dep_renamed: '已重命名部门 {code}。',
    dep_moved: '已移动部门 {code}。',
    dep_deleted: '已删除部门 {code}。',
  },
  en: {
    dep_title: 'Departments',
    dep_tree: 'Department tree',
    dep_empty: 'No departments yet.',
    dep_add: 'Add a department',
    dep_code: 'Department code',
    dep_name: 'Department name',
    dep_parent: 'Parent department',
    dep_top: '(top level)',
    dep_added: 'Department {code} added.',
    dep_manage: 'Manage',
    dep_panel: 'Department {code}',
    dep_rename: 'Rename',
    dep_move: 'Move',
    dep_delete: 'Delete department',
    dep_renamed: 'Department {code} renamed.',
    dep_moved: 'Department {code} moved.',
    dep_deleted: 'Department {code} deleted.',
  },
});

export const screen = {
  id: 'departments',
  module: 'directory',
  label: () => t('dep_title'),
  render,
};

// [{code, name, parent}] in path order -> nested <ul>
function tree(items, onManage) {
  const kids = new Map();
  const codes = new Set(items.map((d) => d.code));
  for (const d of items) {
    const p = d.parent && codes.has(d.parent) ? d.parent : '';
    if (!kids.has(p)) {
      kids.set(p, []);
    }
    kids.get(p).push(d);
  }
  const level = (p, depth) => {
    const list = kids.get(p) || [];
    return h('ul', {class: depth ? 'dep-sub' : 'dep-tree', id: depth ? null : 'dep-tree'},
      list.map((d) => h('li', {'data-code': d.code},
        h('span', {class: 'dep-name'}, d.name), ' ',
        h('span', {class: 'dep-code mono muted'}, d.code), ' ',
        h('button', {type: 'button', class: 'secondary small dep-manage',
                     'aria-label': t('dep_manage') + ' ' + d.name + ' (' + d.code + ')',
                     onclick: () => onManage(d)}, t('dep_manage')),
        kids.has(d.code) ? level(d.code, depth + 1) : null)));
  };
  return level('', 0);
}

// The screen, drawn again after each change with the change's result
// (note) in it.  Renders may overlap (two changes answered close
// together) and their answers may come back in either order: only the
// newest render draws, so the tree shown is never older than the last
// change (an overtaken render's note is dropped with it).
async function render(main, note) {
  const current = latest(main);
  clear(main);
  main.appendChild(h('p', {class: 'muted'}, t('loading')));
  // every department, 500 a page (the API's largest)
  let r = await api.get('departments?limit=500&offset=0');
  while (current() && r.status === 200 && r.data
         && r.data.items.length < r.data.total) {
    const more = await api.get('departments?limit=500&offset=' + r.data.items.length);
    if (more.status !== 200 || !more.data || !more.data.items.length) {
      r = more.status === 200 ? r : more;
      break;
    }
    r.data.items = r.data.items.concat(more.data.items);
  }
  if (!current()) {
    return;
  }
  clear(main);
  const out = h('div', {id: 'dep-out', 'aria-live': 'polite'}, note);
  const detail = h('div', {id: 'dep-panel'});
  main.append(h('h1', {id: 'screen-title'}, t('dep_title')));
  if (r.status !== 200 || !r.data) {
    main.append(out, result(r, ''));
    return;
  }
  const items = r.data.items || [];
  const code = field(t('dep_code'), {name: 'code', type: 'text', autocomplete: 'off',
                                     maxlength: 63});
  const name = field(t('dep_name'), {name: 'name', type: 'text', autocomplete: 'off'});
  const parent = field(t('dep_parent'), {tag: 'select', name: 'parent'});
  parent.input.appendChild(h('option', {value: ''}, t('dep_top')));
  for (const d of items) {
    parent.input.appendChild(h('option', {value: d.code}, d.name + ' (' + d.code + ')'));
  }
  const form = h('form', {id: 'dep-add-form', class: 'panel'},
    h('h2', null, t('dep_add')),
    h('div', {class: 'row'}, code.wrap, name.wrap, parent.wrap,
      h('button', {type: 'submit'}, t('dep_add'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = {code: code.input.value.trim(), name: name.input.value.trim()};
    if (parent.input.value) {
      body.parent = parent.input.value;
    }
    const a = await api.post('departments', body);
    const msg = result(a, t('dep_added', {code: body.code}));
    if (a.status === 201) {
      render(main, msg);
    } else if (out.isConnected) {
      clear(out);
      out.appendChild(msg);
    }
  });
  main.append(out, detail,
    h('section', {'aria-labelledby': 'dep-tree-h'},
      h('h2', {id: 'dep-tree-h'}, t('dep_tree')),
      items.length ? tree(items, (d) => managePanel(main, items, d, detail, out))
                   : h('p', {id: 'dep-empty'}, t('dep_empty'))),
    form);
}

// d and every department below it (by the parent links)
function subtree(items, code) {
  const out = new Set([code]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const x of items) {
      if (x.parent && out.has(x.parent) && !out.has(x.code)) {
        out.add(x.code);
        grew = true;
      }
    }
  }
  return out;
}

function managePanel(main, items, d, detail, out) {
  clear(detail);
  const res = h('div', {class: 'dep-result', 'aria-live': 'polite'});
  // a success draws the screen again; a refusal is said in this panel,
  // unless another panel was opened (or this one closed) meanwhile: then
  // it is dropped, never shown under another department
  const done = (r, text) => {
    if (r.status >= 200 && r.status < 300) {
      render(main, result(r, text));
    } else if (detail.contains(res)) {
      clear(res);
      res.appendChild(result(r, text));
    }
  };
  const name = field(t('dep_name'), {name: 'rename', type: 'text', value: d.name,
                                     autocomplete: 'off'});
  const rename = h('form', {id: 'dep-rename-form'},
    h('div', {class: 'row'}, name.wrap, h('button', {type: 'submit'}, t('dep_rename'))));
  rename.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const r = await api.request('PATCH', 'departments/' + api.enc(d.code),
                                {name: name.input.value.trim()});
    done(r, t('dep_renamed', {code: d.code}));
  });
  // not offered: itself and its sub-departments (the server refuses them)
  const below = subtree(items, d.code);
  const parent = field(t('dep_parent'), {tag: 'select', name: 'new_parent'});
  parent.input.appendChild(h('option', {value: ''}, t('dep_top')));
  for (const x of items) {
    if (!below.has(x.code)) {
      parent.input.appendChild(h('option', {value: x.code}, x.name + ' (' + x.code + ')'));
    }
  }
  parent.input.value = d.parent || '';
  const move = h('form', {id: 'dep-move-form'},
    h('div', {class: 'row'}, parent.wrap, h('button', {type: 'submit'}, t('dep_move'))));
  move.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const r = await api.request('PATCH', 'departments/' + api.enc(d.code),
                                {parent: parent.input.value || null});
    done(r, t('dep_moved', {code: d.code}));
  });
  const del = h('button', {type: 'button', class: 'danger', id: 'dep-delete',
                           onclick: async () => {
                             const r = await api.del('departments/' + api.enc(d.code));
                             done(r, t('dep_deleted', {code: d.code}));
                           }}, t('dep_delete'));
  const id = newId('dep-panel');
  const sec = h('section', {class: 'panel', 'aria-labelledby': id, 'data-code': d.code},
    h('h2', {id, tabindex: '-1'}, t('dep_panel', {code: d.code}), ' ',
      h('span', {class: 'muted'}, d.name)),
    rename, move, h('div', {class: 'actions'}, del,
      h('button', {type: 'button', class: 'secondary', onclick: () => clear(detail)},
        t('close'))),
    res);
  detail.appendChild(sec);
  sec.querySelector('h2').focus();
}
