// The Articles screen (module: the article's own, news / wiki / minutes /
// forms or the operator's): a list by module, create, and per article:
// the audience (everyone, departments with their sub-departments, roles,
// named people), responsible and related persons, confidential,
// watermark on / off / inherit, external sharing (on, off, revoke every
// link; the live links with their expiry, each revocable; make a link with
// its expiry), and the upload of a stored body.
// Every change shows what the revocation barrier confirmed.
import * as api from './api.js';
import {h, clear, message, field, newId, latest} from './dom.js';
import {t, addStrings} from './i18n.js';
import {result} from './members.js';

const PAGE = 20;
const KNOWN = ['news', 'wiki', 'minutes', 'forms'];
// the modules that are not article modules (docs/admin-api.md "Rights")
const NOT_ARTICLES = ['directory', 'settings', 'audit'];

addStrings({
  'zh-CN': {
    articles: '文章',
    articles_module: '模块',
    articles_all_mine: '我的全部模块',
    articles_new: '新建文章',
    articles_create: '创建',
    articles_path: '路径（URL 路径，如 /news/2024/q1.html）',
    articles_title: '标题',
    articles_path_h: '路径',
    articles_owner: '所有者（成员账号）',
    articles_confidential: '机密',
    articles_watermark: '水印',
    articles_wm_inherit: '继承企业默认',
    articles_wm_on: '开',
    articles_wm_off: '关',
    articles_share: '外部分享',
    articles_body: '正文',
    articles_no_body: '未存储',
    articles_updated: '更新时间',
    articles_empty: '没有文章。',
    articles_caption: '第 {from}–{to} 篇，共 {total} 篇',
    articles_edit: '管理',
    articles_article: '文章 {id}：{title}',
    articles_meta: '{module} · {path} · 所有者 {owner}',
    articles_created: '已创建文章 {id}。',
    articles_audience: '可见范围',
    articles_everyone: '所有人',
    articles_departments: '部门（含其下级部门）',
    articles_dept_codes: '部门代码（逗号分隔，含下级部门）',
    articles_roles: '角色（逗号分隔）',
    articles_members: '指定成员（账号，逗号分隔）',
    articles_save_audience: '保存可见范围',
    articles_saved_audience: '可见范围已保存。',
    articles_people: '负责人与相关人',
    articles_responsible: '负责人（账号，逗号分隔）',
    articles_related: '相关人（账号，逗号分隔）',
    articles_save_people: '保存人员',
    articles_saved_people: '人员已保存。',
    articles_flags: '机密与水印',
    articles_save_flags: '保存',
    articles_saved_conf: '机密标记已保存。',
    articles_saved_wm: '水印设置已保存。',
    articles_share_state: '分享：{state}',
    articles_share_on: '已开启',
    articles_share_off: '已关闭',
    articles_share_master_off: '（企业总开关关闭，链接暂不可用）',
    articles_share_enable: '开启分享',
    articles_share_disable: '关闭分享并作废所有链接',
    articles_share_revoke: '作废所有已有链接',
    articles_shared: '分享设置已保存。',
    articles_links: '分享链接',
    articles_links_hint: '有效的链接（未过期、未作废），最新的在前。链接地址只在制作时显示一次；“作废所有已有链接”使全部链接失效，包括升级前制作、未列出的链接。',
    articles_links_none: '没有有效的分享链接。',
    articles_link_info: '链接 {id}：{expiry}；{by} 于 {at} 制作',
    articles_link_revoke: '作废',
    articles_link_revoke_label: '作废链接 {id}',
    articles_link_confirm: '作废链接 {id}？持有它的人将无法再打开。',
    articles_link_confirm_yes: '确认作废',
    articles_link_cancel: '取消',
    articles_link_revoked: '链接 {id} 已作废。',
    articles_expires: '有效期（小时，留空为永久）',
    articles_make_link: '制作分享链接',
    articles_link_made: '链接已制作。',
    articles_link_label: '分享链接（{expiry}）',
    articles_never: '永不过期',
    articles_until: '到期 {time}',
    articles_upload: '上传正文',
    articles_file: '文件',
    articles_type: '类型（Content-Type）',
    articles_upload_go: '上传',
    articles_uploaded: '正文已上传（{n} 字节）。',
    articles_upload_rules: '正文按不可信内容在沙箱中提供：可包含 HTML 和文本、内联样式、data: 图片或本站公开路径的图片、链接；脚本、表单、框架、外站资源和受保护路径的图片都不起作用。只有 HTML、纯文本和 PNG/JPEG/GIF/WebP/AVIF 图片在浏览器中显示，其他类型（含 SVG、PDF）作为下载，可执行的类型（JS、CSS、XML、JSON 等）作为二进制下载。最大 16 MiB。',
    articles_no_file: '请选择文件。',
    articles_too_large: '文件超过 16 MiB。',
    articles_readers: '谁读过',
    articles_save_title: '保存标题',
    articles_saved_title: '标题已保存。',
    articles_readers_hint: '机密文章的每次阅读和每次通过分享链接的查看都记入操作日志；非机密文章的成员阅读不记录。',
    articles_readers_show: '显示读者',
    articles_reader: '读者',
    articles_at: '时间',
    articles_address: '地址',
    articles_via_link: '分享链接',
    articles_readers_none: '没有记录的阅读。',
  },
  en: {
    articles: 'Articles',
    articles_module: 'Module',
    articles_all_mine: 'All my modules',
    articles_new: 'New article',
    articles_create: 'Create',
    articles_path: 'Path (URL path, e.g. /news/2024/q1.html)',
    articles_title: 'Title',
    articles_path_h: 'Path',
    articles_owner: 'Owner (member account)',
    articles_confidential: 'Confidential',
    articles_watermark: 'Watermark',
    articles_wm_inherit: 'Enterprise default',
    articles_wm_on: 'On',
    articles_wm_off: 'Off',
    articles_share: 'External sharing',
    articles_body: 'Body',
    articles_no_body: 'none stored',
    articles_updated: 'Updated',
    articles_empty: 'No articles.',
    articles_caption: 'Articles {from}–{to} of {total}',
    articles_edit: 'Manage',
    articles_article: 'Article {id}: {title}',
    articles_meta: '{module} · {path} · owner {owner}',
    articles_created: 'Article {id} created.',
    articles_audience: 'Audience',
    articles_everyone: 'Everyone',
    articles_departments: 'Departments (their sub-departments included)',
    articles_dept_codes: 'Department codes (comma-separated, sub-departments included)',
    articles_roles: 'Roles (comma-separated)',
    articles_members: 'Named people (accounts, comma-separated)',
    articles_save_audience: 'Save audience',
    articles_saved_audience: 'Audience saved.',
    articles_people: 'Responsible and related persons',
    articles_responsible: 'Responsible (accounts, comma-separated)',
    articles_related: 'Related (accounts, comma-separated)',
    articles_save_people: 'Save persons',
    articles_saved_people: 'Persons saved.',
    articles_flags: 'Confidential and watermark',
    articles_save_flags: 'Save',
    articles_saved_conf: 'Confidential flag saved.',
    articles_saved_wm: 'Watermark saved.',
    articles_share_state: 'Sharing: {state}',
    articles_share_on: 'on',
    articles_share_off: 'off',
    articles_share_master_off: ' (the enterprise switch is off: links do not work for now)',
    articles_share_enable: 'Allow sharing',
    articles_share_disable: 'Stop sharing and kill every link',
    articles_share_revoke: 'Kill every link made so far',
    articles_shared: 'Sharing saved.',
    articles_links: 'Share links',
    articles_links_hint: 'The live links (not expired, not revoked), newest first. A link\'s address is shown once, when it is made. "Kill every link" ends all of them, also links made before this list existed, which it does not show.',
    articles_links_none: 'No live share link.',
    articles_link_info: 'Link {id}: {expiry}; made by {by} at {at}',
    articles_link_revoke: 'Revoke',
    articles_link_revoke_label: 'Revoke link {id}',
    articles_link_confirm: 'Revoke link {id}? Whoever holds it can no longer open the article.',
    articles_link_confirm_yes: 'Yes, revoke',
    articles_link_cancel: 'Cancel',
    articles_link_revoked: 'Link {id} revoked.',
    articles_expires: 'Expires in (hours; empty: never)',
    articles_make_link: 'Make a share link',
    articles_link_made: 'Link made.',
    articles_link_label: 'Share link ({expiry})',
    articles_never: 'never expires',
    articles_until: 'expires {time}',
    articles_upload: 'Upload the body',
    articles_file: 'File',
    articles_type: 'Type (Content-Type)',
    articles_upload_go: 'Upload',
    articles_uploaded: 'Body uploaded ({n} bytes).',
    articles_upload_rules: 'A body is served as untrusted content, in a sandbox: it may hold HTML and text, inline styles, images as data: or from public paths of this site, and links; scripts, forms, frames, anything from another site and images from protected paths do not work. Only HTML, plain text and PNG/JPEG/GIF/WebP/AVIF images are shown in the browser; other types (SVG and PDF included) are downloads, and types a browser could run (JS, CSS, XML, JSON...) are binary downloads. At most 16 MiB.',
    articles_no_file: 'Choose a file.',
    articles_too_large: 'The file is larger than 16 MiB.',
    articles_readers: 'Who read it',
    articles_save_title: 'Save title',
    articles_saved_title: 'Title saved.',
    articles_readers_hint: 'Every read of a confidential article and every view through a share link is in the operation log; members\' reads of an article that is not confidential are not logged.',
    articles_readers_show: 'Show readers',
    articles_reader: 'Reader',
    articles_at: 'Time',
    articles_address: 'Address',
    articles_via_link: 'Share link',
    articles_readers_none: 'No reads logged.',
  },
});

// The article modules the admin holds (the super admin: the known ones;
// the list adds the operator's own as they appear).
function myModules() {
  const s = api.currentSession();
  if (!s || !s.admin) {
    return [];
  }
  if (s.admin.super) {
    return KNOWN.slice();
  }
  return (s.admin.modules || []).filter((m) => !NOT_ARTICLES.includes(m));
}

export const screen = {
  id: 'articles',
  // app.js shows the screen when the admin holds this module: the first
  // article module they hold ('news' for nobody: hidden)
  get module() {
    return myModules()[0] || 'news';
  },
  label: () => t('articles'),
  render,
};

let state = {module: '', offset: 0};
let seen = [];             // modules seen in lists (the operator's own)
let depts = null;          // [{code, name, parent}] or null: not readable
const made = {};           // article id -> [{url, link_id, expiry}] made in this page

const csv = (s) => s.split(',').map((x) => x.trim()).filter((x) => x);

async function render(main) {
  clear(main);
  main.appendChild(h('p', {class: 'muted'}, t('loading')));
  depts = null;
  if (api.holds('directory')) {
    const d = await api.get('departments?limit=500');
    depts = d.status === 200 && d.data ? d.data.items : null;
    if (!main.isConnected) {
      return;                 // the admin has moved on to another screen
    }
  }
  clear(main);
  const detail = h('div', {id: 'article-panel'});
  const list = h('div', {id: 'articles-list'});
  main.append(h('h1', {id: 'screen-title'}, t('articles')),
              filter(list, detail),
              h('div', {class: 'actions'},
                h('button', {type: 'button', id: 'article-new',
                             onclick: () => createForm(detail, list)},
                  t('articles_new'))),
              detail, list);
  await load(list, detail);
}

function modules() {
  const all = myModules();
  for (const m of seen) {
    if (!all.includes(m)) {
      all.push(m);
    }
  }
  return all;
}

function filter(list, detail) {
  const f = field(t('articles_module'), {tag: 'select', name: 'module'});
  f.input.appendChild(h('option', {value: ''}, t('articles_all_mine')));
  for (const m of modules()) {
    f.input.appendChild(h('option', {value: m}, m));
  }
  f.input.value = state.module;
  const form = h('form', {id: 'articles-filter', role: 'search'},
                 h('div', {class: 'row'}, f.wrap,
                   h('button', {type: 'submit'}, t('filter'))));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    state = {module: f.input.value, offset: 0};
    load(list, detail);
  });
  return form;
}

function wmLabel(w) {
  return t('articles_wm_' + w);
}

async function load(list, detail) {
  const p = new URLSearchParams();
  if (state.module) {
    p.set('module', state.module);
  }
  p.set('limit', String(PAGE));
  p.set('offset', String(state.offset));
  const current = latest(list);
  const r = await api.get('articles?' + p.toString());
  if (!current()) {
    return;
  }
  clear(list);
  if (r.status !== 200 || !r.data) {
    list.appendChild(result(r, ''));
    return;
  }
  const {items, total, offset} = r.data;
  for (const a of items) {
    if (!seen.includes(a.module)) {
      seen.push(a.module);
    }
  }
  if (!items.length) {
    list.appendChild(h('p', {id: 'articles-empty'}, t('articles_empty')));
  } else {
    const yes = (b) => (b ? '✓' : '—');
    const rows = items.map((a) => h('tr', {'data-id': String(a.id)},
      h('td', {'data-label': t('articles_module')}, a.module),
      h('td', {'data-label': t('articles_title'), class: 'a-title'}, a.title),
      h('td', {'data-label': t('articles_path_h'), class: 'mono a-path'}, a.path),
      h('td', {'data-label': t('articles_confidential')}, yes(a.confidential)),
      h('td', {'data-label': t('articles_watermark')}, wmLabel(a.watermark)),
      h('td', {'data-label': t('articles_share')},
        yes(a.share && a.share.enabled)),
      h('td', {'data-label': t('articles_body')},
        a.body ? a.body.type : t('articles_no_body')),
      h('td', {'data-label': t('articles_edit')},
        h('button', {type: 'button', class: 'secondary manage',
                     'aria-label': t('articles_edit') + ' ' + a.path,
                     onclick: () => articlePanel(a, detail, list)},
          t('articles_edit')))));
    list.appendChild(h('table', {class: 'list', id: 'articles-table'},
      h('caption', null, t('articles_caption', {from: offset + 1,
                                                to: offset + items.length,
                                                total})),
      h('thead', null, h('tr', null,
        [t('articles_module'), t('articles_title'), t('articles_path_h'),
         t('articles_confidential'), t('articles_watermark'),
         t('articles_share'), t('articles_body'), t('articles_edit')]
          .map((x) => h('th', {scope: 'col'}, x)))),
      h('tbody', null, rows)));
  }
  list.appendChild(h('nav', {class: 'pager', 'aria-label': t('articles')},
    h('button', {type: 'button', class: 'secondary', disabled: offset === 0,
                 onclick: () => {
                   state.offset = Math.max(0, offset - PAGE);
                   load(list, detail);
                 }}, t('prev')),
    h('button', {type: 'button', class: 'secondary',
                 disabled: offset + items.length >= total,
                 onclick: () => {
                   state.offset = offset + PAGE;
                   load(list, detail);
                 }}, t('next'))));
}

function panel(detail, titleText, ...content) {
  latest(detail);
  clear(detail);
  const id = newId('panel');
  const sec = h('section', {class: 'panel', 'aria-labelledby': id},
                h('h2', {id, tabindex: '-1'}, titleText), ...content,
                h('div', {class: 'actions'},
                  h('button', {type: 'button', class: 'secondary',
                               onclick: () => {
                                 latest(detail);
                                 clear(detail);
                               }}, t('close'))));
  detail.appendChild(sec);
  sec.querySelector('h2').focus();
  return sec;
}

function wmSelect(value) {
  const f = field(t('articles_watermark'), {tag: 'select', name: 'watermark'});
  for (const w of ['inherit', 'on', 'off']) {
    f.input.appendChild(h('option', {value: w}, wmLabel(w)));
  }
  f.input.value = value || 'inherit';
  return f;
}

function checkbox(name, text, checked) {
  const id = newId(name);
  const box = h('input', {type: 'checkbox', id, name, checked});
  return {box, el: h('div', {class: 'check'}, h('label', {for: id}, box, text))};
}

// The audience editor's inputs, filled from an audience object.
function audienceFields(aud) {
  const a = aud || {};
  const all = checkbox('all', t('articles_everyone'), !!a.all);
  let deptPart;
  let deptValue;
  if (depts) {
    const boxes = depts.map((d) => {
      const c = checkbox('dept', d.name + ' (' + d.code + ')',
                         (a.departments || []).includes(d.code));
      c.box.value = d.code;
      return c;
    });
    deptPart = h('fieldset', {class: 'a-depts'},
                 h('legend', null, t('articles_departments')),
                 boxes.map((b) => b.el));
    deptValue = () => boxes.filter((b) => b.box.checked).map((b) => b.box.value);
  } else {
    const f = field(t('articles_dept_codes'), {name: 'departments', type: 'text',
      autocomplete: 'off', value: (a.departments || []).join(', ')});
    deptPart = f.wrap;
    deptValue = () => csv(f.input.value);
  }
  const roles = field(t('articles_roles'), {name: 'roles', type: 'text',
    autocomplete: 'off', value: (a.roles || []).join(', ')});
  const members = field(t('articles_members'), {name: 'members', type: 'text',
    autocomplete: 'off', value: (a.members || []).join(', ')});
  return {
    els: [all.el, deptPart, h('div', {class: 'row'}, roles.wrap, members.wrap)],
    value: () => ({all: all.box.checked, departments: deptValue(),
                   roles: csv(roles.input.value),
                   members: csv(members.input.value)}),
  };
}

function createForm(detail, list) {
  const mods = modules();
  let mod;
  if (mods.length) {
    mod = field(t('articles_module'), {tag: 'select', name: 'module'});
    for (const m of mods) {
      mod.input.appendChild(h('option', {value: m}, m));
    }
    if (state.module) {
      mod.input.value = state.module;
    }
  } else {
    mod = field(t('articles_module'), {name: 'module', type: 'text'});
  }
  const path = field(t('articles_path'), {name: 'path', type: 'text',
                                          autocomplete: 'off'});
  const title = field(t('articles_title'), {name: 'title', type: 'text',
                                            autocomplete: 'off'});
  const owner = field(t('articles_owner'), {name: 'owner', type: 'text',
                                            autocomplete: 'off'});
  const conf = checkbox('confidential', t('articles_confidential'), false);
  const wm = wmSelect('inherit');
  const aud = audienceFields(null);
  const res = h('div', {id: 'article-create-result'});
  const form = h('form', {id: 'article-create'},
    h('div', {class: 'row'}, mod.wrap, path.wrap),
    h('div', {class: 'row'}, title.wrap, owner.wrap),
    h('div', {class: 'row'}, conf.el, wm.wrap),
    h('fieldset', null, h('legend', null, t('articles_audience')), aud.els),
    h('div', {class: 'actions'}, h('button', {type: 'submit'}, t('articles_create'))),
    res);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const r = await api.post('articles', {
      module: mod.input.value.trim(), path: path.input.value.trim(),
      title: title.input.value.trim(), owner: owner.input.value.trim(),
      audience: aud.value(), confidential: conf.box.checked,
      watermark: wm.input.value});
    if ((r.status === 201 || r.status === 202) && r.data && r.data.id) {
      articlePanel(r.data, detail, list,
                   result(r, t('articles_created', {id: r.data.id})));
      load(list, detail);
      return;
    }
    clear(res);
    res.appendChild(result(r, ''));
  });
  panel(detail, t('articles_new'), form);
}

function section(id, titleText, ...content) {
  return h('section', {class: 'a-section', id},
           h('h3', null, titleText), ...content);
}

// The panel of one article; drawn again from each answer that describes
// the article, with the change's result in it.
function articlePanel(a, detail, list, carried) {
  const base = 'articles/' + a.id;
  const res = h('div', {class: 'article-result', 'aria-live': 'polite'}, carried);
  // A change asked here is answered in this panel only while nothing newer
  // was asked of the panel area (another article's panel, the panel
  // closed, a later change here): an overtaken answer is dropped, never
  // drawn over the panel now shown (as in members.js).
  const ask = async (call) => {
    const current = latest(detail);
    const r = await call();
    if (!current()) {
      load(list, detail);     // the list still shows what was done
      return null;
    }
    return r;
  };
  const show = (r, text) => {
    if (!r) {
      return;
    }
    const el = result(r, text);
    if (r.status >= 200 && r.status < 300 && r.data && r.data.id === a.id) {
      articlePanel(r.data, detail, list, el);
      load(list, detail);
      return;
    }
    clear(res);
    res.appendChild(el);
  };
  const submit = (form, fn) => {
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      fn();
    });
    return form;
  };

  // the title (module, path and owner are fixed once created)
  const title = field(t('articles_title'), {name: 'title', type: 'text',
                                            autocomplete: 'off', value: a.title});
  const titleForm = submit(h('form', {id: 'article-title'},
    h('div', {class: 'row'}, title.wrap,
      h('button', {type: 'submit', class: 'secondary'}, t('articles_save_title')))),
  async () => show(await ask(() => api.put(base + '/title', {title: title.input.value.trim()})),
                   t('articles_saved_title')));

  // audience
  const aud = audienceFields(a.audience);
  const audForm = submit(h('form', {id: 'article-audience'}, aud.els,
    h('div', {class: 'actions'}, h('button', {type: 'submit', class: 'secondary'},
                                    t('articles_save_audience')))),
  async () => show(await ask(() => api.put(base + '/audience', aud.value())),
                   t('articles_saved_audience')));

  // responsible and related
  const resp = field(t('articles_responsible'), {name: 'responsible', type: 'text',
    autocomplete: 'off', value: (a.responsible || []).join(', ')});
  const rel = field(t('articles_related'), {name: 'related', type: 'text',
    autocomplete: 'off', value: (a.related || []).join(', ')});
  const peopleForm = submit(h('form', {id: 'article-people'},
    h('div', {class: 'row'}, resp.wrap, rel.wrap),
    h('div', {class: 'actions'}, h('button', {type: 'submit', class: 'secondary'},
                                    t('articles_save_people')))),
  async () => show(await ask(() => api.put(base + '/people',
                                 {responsible: csv(resp.input.value),
                                  related: csv(rel.input.value)})),
                   t('articles_saved_people')));

  // confidential and watermark: each sent only when changed
  const conf = checkbox('confidential', t('articles_confidential'), !!a.confidential);
  const wm = wmSelect(a.watermark);
  const flagsForm = submit(h('form', {id: 'article-flags'},
    h('div', {class: 'row'}, conf.el, wm.wrap,
      h('button', {type: 'submit', class: 'secondary'}, t('articles_save_flags')))),
  async () => {
    let r = null;
    let text = '';
    if (conf.box.checked !== !!a.confidential) {
      r = await ask(() => api.put(base + '/confidential',
                                  {confidential: conf.box.checked}));
      text = t('articles_saved_conf');
      if (!r || r.status >= 300) {
        show(r, text);
        return;
      }
    }
    if (wm.input.value !== a.watermark) {
      r = await ask(() => api.put(base + '/watermark', {watermark: wm.input.value}));
      if (!r) {
        return;
      }
      text = (text ? text + ' ' : '') + t('articles_saved_wm');
    }
    if (r) {
      show(r, text);
    }
  });

  // sharing
  const sh = a.share || {};
  const shareAct = (v, label) => h('button', {type: 'button', class: 'secondary',
    'data-share': v, onclick: async () => {
      const r = await ask(() => api.put(base + '/share', {share: v}));
      if (r && r.status >= 200 && r.status < 300 && v !== 'on') {
        made[a.id] = [];
      }
      show(r, t('articles_shared'));
    }}, t(label));
  // the live links: those made in this page at once (with their address,
  // shown once), then the server's list (GET links) replaces them
  const links = h('ul', {id: 'article-links', class: 'a-links'});
  const linksMsg = h('div', {id: 'article-links-result', 'aria-live': 'polite'});
  const linksNone = h('p', {id: 'article-links-none', class: 'muted'},
                      t('articles_links_none'));
  const expiryText = (unix, iso) => {
    const d = unix ? new Date(unix * 1000) : iso ? new Date(iso) : null;
    return d ? t('articles_until', {time: d.toLocaleString()}) : t('articles_never');
  };
  const linkItem = (l) => {
    const li = h('li', {'data-link-id': l.link_id});
    const revoke = async () => {
      const r = await api.del(base + '/links/' + api.enc(l.link_id));
      clear(linksMsg);
      linksMsg.appendChild(result(r, t('articles_link_revoked', {id: l.link_id})));
      if (r.status >= 200 && r.status < 300) {
        made[a.id] = (made[a.id] || []).filter((m) => m.link_id !== l.link_id);
        li.remove();
        linksNone.hidden = links.children.length > 0;
      } else {
        draw();
      }
    };
    const ask = () => {
      clear(li);
      const yes = h('button', {type: 'button', class: 'danger link-revoke-yes',
                               onclick: revoke}, t('articles_link_confirm_yes'));
      li.append(h('p', {class: 'a-link-confirm'},
                  t('articles_link_confirm', {id: l.link_id})),
                h('div', {class: 'actions'}, yes,
                  h('button', {type: 'button', class: 'secondary link-revoke-cancel',
                               onclick: draw}, t('articles_link_cancel'))));
      yes.focus();
    };
    function draw() {
      clear(li);
      const info = l.created_at
        ? t('articles_link_info', {id: l.link_id, expiry: l.expiry,
                                   by: l.created_by, at: new Date(l.created_at)
                                     .toLocaleString()})
        : t('articles_link_label', {expiry: l.expiry});
      if (l.url) {
        const id = newId('link');
        li.append(h('label', {for: id}, t('articles_link_label', {expiry: l.expiry})),
                  h('input', {type: 'text', id, readonly: true, class: 'mono a-link',
                              value: l.url}));
        if (l.created_at) {
          li.append(h('p', {class: 'muted a-link-info'}, info));
        }
      } else {
        li.append(h('p', {class: 'a-link-info'}, info));
      }
      li.append(h('div', {class: 'actions'},
        h('button', {type: 'button', class: 'secondary link-revoke',
                     'aria-label': t('articles_link_revoke_label', {id: l.link_id}),
                     onclick: ask}, t('articles_link_revoke'))));
    }
    draw();
    return li;
  };
  const showLinks = (list) => {
    clear(links);
    for (const l of list) {
      links.appendChild(linkItem(l));
    }
    linksNone.hidden = list.length > 0;
  };
  // a share 'off' or 'revoke' killed them: not shown again
  if (!sh.enabled) {
    made[a.id] = [];
  }
  showLinks((made[a.id] || []).slice().reverse());
  if (sh.enabled) {
    const asked = Date.now();
    api.get(base + '/links?limit=100').then((r) => {
      if (r.status !== 200 || !r.data) {
        clear(linksMsg);
        linksMsg.appendChild(result(r, ''));
        return;
      }
      // links made while the list was asked for are newer than it
      const mine = made[a.id] || [];
      const listed = r.data.items.map((x) => x.link_id);
      showLinks(mine.filter((m) => m.at >= asked && !listed.includes(m.link_id))
        .reverse()
        .concat(r.data.items.map((x) => {
          const m = mine.find((y) => y.link_id === x.link_id);
          return {link_id: x.link_id, created_at: x.created_at,
                  created_by: x.created_by, url: m ? m.url : null,
                  expiry: expiryText(0, x.expires_at)};
        })));
    });
  }
  const hours = field(t('articles_expires'), {name: 'expires', type: 'number',
                                              min: '1', step: '1'});
  const linkRes = h('div', {id: 'article-link-result'});
  const linkForm = submit(h('form', {id: 'article-link'},
    h('div', {class: 'row'}, hours.wrap,
      h('button', {type: 'submit', class: 'secondary'}, t('articles_make_link'))),
    linkRes),
  async () => {
    const n = parseInt(hours.input.value, 10);
    const body = n > 0 ? {expires_in: n * 3600} : {};
    const r = await api.post(base + '/links', body);
    clear(linkRes);
    linkRes.appendChild(result(r, t('articles_link_made')));
    if ((r.status === 201 || r.status === 202) && r.data && r.data.url) {
      const l = {url: r.data.url, link_id: r.data.link_id, at: Date.now(),
                 expiry: expiryText(r.data.expires_at, null)};
      (made[a.id] = made[a.id] || []).push(l);
      linksNone.hidden = true;
      links.insertBefore(linkItem(l), links.firstChild);
    }
  });
  const shareSec = section('article-share', t('articles_share'),
    h('p', {id: 'article-share-state'},
      t('articles_share_state', {state: t(sh.enabled ? 'articles_share_on'
                                                     : 'articles_share_off')}),
      sh.enabled && !sh.effective ? t('articles_share_master_off') : ''),
    h('div', {class: 'actions'},
      sh.enabled ? null : shareAct('on', 'articles_share_enable'),
      sh.enabled ? shareAct('revoke', 'articles_share_revoke') : null,
      sh.enabled ? shareAct('off', 'articles_share_disable') : null),
    sh.enabled ? linkForm : null,
    h('h4', null, t('articles_links')),
    h('p', {class: 'muted'}, t('articles_links_hint')), linksMsg, linksNone, links);

  // the body
  const fileId = newId('file');
  const file = h('input', {type: 'file', id: fileId, name: 'file'});
  const type = field(t('articles_type'), {name: 'type', type: 'text',
    autocomplete: 'off', value: a.body ? a.body.type : 'text/html; charset=utf-8'});
  file.addEventListener('change', () => {
    const f = file.files[0];
    if (f && f.type) {
      type.input.value = /^text\//.test(f.type) ? f.type + '; charset=utf-8' : f.type;
    }
  });
  const upRes = h('div', {id: 'article-upload-result'});
  const upForm = submit(h('form', {id: 'article-upload'},
    h('p', {id: 'article-upload-rules', class: 'muted'}, t('articles_upload_rules')),
    h('div', {class: 'row'},
      h('div', {class: 'field'}, h('label', {for: fileId}, t('articles_file')), file),
      type.wrap,
      h('button', {type: 'submit', class: 'secondary'}, t('articles_upload_go'))),
    upRes),
  async () => {
    const f = file.files[0];
    clear(upRes);
    if (!f) {
      upRes.appendChild(message('err', t('articles_no_file')));
      return;
    }
    if (f.size > 16 * 1024 * 1024) {
      upRes.appendChild(message('err', t('articles_too_large')));
      return;
    }
    const r = await ask(() => api.tracked(() => uploadBody(base, f,
                                                          type.input.value.trim())));
    show(r, t('articles_uploaded', {n: f.size}));
  });

  // who read it (the operation log's read rows)
  const readers = h('div', {id: 'article-readers'});
  const readersBtn = h('button', {type: 'button', class: 'secondary',
    id: 'article-readers-show', onclick: () => showReaders(base, readers)},
    t('articles_readers_show'));

  panel(detail, t('articles_article', {id: a.id, title: a.title}),
        h('p', {class: 'a-meta'}, t('articles_meta', {module: a.module,
                                                      path: a.path,
                                                      owner: a.owner})),
        res, titleForm,
        section('article-audience-sec', t('articles_audience'), audForm),
        section('article-people-sec', t('articles_people'), peopleForm),
        section('article-flags-sec', t('articles_flags'), flagsForm),
        shareSec,
        section('article-body-sec', t('articles_upload'),
                h('p', null, t('articles_body') + ': ',
                  a.body ? a.body.type + ' (' + a.body.stored_bytes + ' B)'
                         : t('articles_no_body')),
                upForm),
        section('article-readers-sec', t('articles_readers'),
                h('p', {class: 'muted'}, t('articles_readers_hint')),
                h('div', {class: 'actions'}, readersBtn), readers));
}

async function showReaders(base, out) {
  const r = await api.get(base + '/readers?limit=100');
  clear(out);
  if (r.status !== 200 || !r.data) {
    out.appendChild(result(r, ''));
    return;
  }
  if (!r.data.items.length) {
    out.appendChild(h('p', {id: 'article-readers-none'}, t('articles_readers_none')));
    return;
  }
  out.appendChild(h('table', {class: 'list', id: 'article-readers-table'},
    h('caption', null, t('articles_readers')),
    h('thead', null, h('tr', null,
      [t('articles_at'), t('articles_reader'), t('articles_address'),
       t('articles_via_link')].map((x) => h('th', {scope: 'col'}, x)))),
    h('tbody', null, r.data.items.map((w) => h('tr', null,
      h('td', {'data-label': t('articles_at')}, w.at),
      h('td', {'data-label': t('articles_reader'), class: 'a-reader'}, w.reader),
      h('td', {'data-label': t('articles_address'), class: 'mono'}, w.source_ip || ''),
      h('td', {'data-label': t('articles_via_link'), class: 'mono'}, w.link || '—'))))));
}

// PUT articles/ID/body: the file itself as the request body (not JSON),
// with its type, the session's CSRF token; a 403 "step_up" is not
// expected here (not a privileged call).
async function uploadBody(base, f, type) {
  const s = api.currentSession();
  const headers = {Accept: 'application/json', 'Content-Type': type};
  if (s && s.csrf) {
    headers[s.csrf_header || 'X-CSRF-Token'] = s.csrf;
  }
  let res;
  try {
    res = await fetch(api.handler + 'api/v1/' + base + '/body', {
      method: 'PUT', headers, body: f, credentials: 'same-origin',
      cache: 'no-store', redirect: 'error'});
  } catch (e) {
    return {status: 0, data: null, revocation: null};
  }
  let data = null;
  try {
    data = await res.json();
  } catch (e) {
    data = null;
  }
  return {status: res.status, data,
          revocation: res.headers.get('Qiwei-Revocation'),
          pending: data && data.revocation ? data.revocation.pending : null};
}
