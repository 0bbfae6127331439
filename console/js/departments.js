// The Departments screen (module "directory"): the tree (each department
// indented under its parent, as a nested list, so it reads on a phone)
// and adding one (its code, name and parent).  Rename, move and delete
// need API calls the server does not have yet (see docs/console.md).
import * as api from './api.js';
import {h, clear, field} from './dom.js';
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
  },
});

export const screen = {
  id: 'departments',
  module: 'directory',
  label: () => t('dep_title'),
  render,
};

// [{code, name, parent}] in path order -> nested <ul>
function tree(items) {
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
        h('span', {class: 'dep-code mono muted'}, d.code),
        kids.has(d.code) ? level(d.code, depth + 1) : null)));
  };
  return level('', 0);
}

async function render(main) {
  clear(main);
  main.appendChild(h('p', {class: 'muted'}, t('loading')));
  const r = await api.get('departments?limit=1000');
  clear(main);
  const out = h('div', {id: 'dep-out', 'aria-live': 'polite'});
  main.append(h('h1', {id: 'screen-title'}, t('dep_title')));
  if (r.status !== 200 || !r.data) {
    main.appendChild(result(r, ''));
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
      await render(main);
      main.querySelector('#dep-out').appendChild(msg);
    } else {
      clear(out);
      out.appendChild(msg);
    }
  });
  main.append(out,
    h('section', {'aria-labelledby': 'dep-tree-h'},
      h('h2', {id: 'dep-tree-h'}, t('dep_tree')),
      items.length ? tree(items) : h('p', {id: 'dep-empty'}, t('dep_empty'))),
    form);
}
