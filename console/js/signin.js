// Signing in: password (POST session), then the step the session still
// owes: the two-step code (session/totp), enrolment (session/totp-setup)
// or a new password (session/password).  Each step answers the session;
// done() is called once it is usable.
import * as api from './api.js';
import {h, clear, message, field, svgImage} from './dom.js';
import {t} from './i18n.js';

function failText(r) {
  if (r.status === 429) {
    return t('too_many');
  }
  if (r.status === 0 || r.status >= 500) {
    return t('unavailable');
  }
  return null;
}

function card(main, title, ...content) {
  clear(main);
  const c = h('section', {class: 'card', 'aria-labelledby': 'signin-title'},
              h('h1', {id: 'signin-title'}, title), ...content);
  main.appendChild(c);
  return c;
}

function formOf(fields, submitText, onsubmit) {
  const out = h('div', {class: 'out'});
  const button = h('button', {type: 'submit'}, submitText);
  const form = h('form', {novalidate: true}, fields.map((f) => f.wrap),
                 h('div', {class: 'actions'}, button), out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    button.disabled = true;
    clear(out);
    try {
      await onsubmit(out);
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

export function showSignIn(main, done, notice) {
  const acct = field(t('account'), {name: 'account', type: 'text',
                                    autocomplete: 'username', required: true});
  const pw = field(t('password'), {name: 'password', type: 'password',
                                   autocomplete: 'current-password',
                                   required: true});
  const form = formOf([acct, pw], t('sign_in'), async (out) => {
    const r = await api.post('session', {account: acct.input.value,
                                         password: pw.input.value},
                             {quiet401: true});
    pw.input.value = '';
    if (r.status === 201 && r.data) {
      next(main, r.data, done);
      return;
    }
    out.appendChild(message('err', failText(r) || t('wrong_login')));
    pw.input.focus();
  });
  card(main, t('sign_in'), notice ? message('ok', notice) : null, form);
  acct.input.focus();
}

// The step a session owes, or done.
export function next(main, s, done) {
  const pending = s.admin && s.admin.pending;
  if (pending === 'totp') {
    showTotp(main, done);
  } else if (pending === 'enrol') {
    showEnrol(main, done);
  } else if (pending === 'expired') {
    showExpired(main, done);
  } else if (s.usable) {
    done(s);
  } else {
    // level 1 where 2 is required and nothing pending: sign in again
    showSignIn(main, done, t('session_ended'));
  }
}

function showTotp(main, done) {
  const code = field(t('code'), {name: 'code', type: 'text',
                                 inputmode: 'numeric', autocomplete: 'one-time-code',
                                 maxlength: 6, required: true});
  const rec = field(t('recovery_code'), {name: 'recovery_code', type: 'text',
                                         autocomplete: 'off'});
  rec.wrap.hidden = true;
  const toggle = h('button', {type: 'button', class: 'secondary',
                              onclick: () => {
                                rec.wrap.hidden = !rec.wrap.hidden;
                                code.wrap.hidden = !rec.wrap.hidden;
                                (rec.wrap.hidden ? code : rec).input.focus();
                              }}, t('use_recovery'));
  const form = formOf([code, rec], t('verify'), async (out) => {
    const body = rec.wrap.hidden ? {code: code.input.value.trim()}
                                 : {recovery_code: rec.input.value.trim()};
    const r = await api.post('session/totp', body, {quiet401: true});
    code.input.value = '';
    rec.input.value = '';
    if (r.status === 200 && r.data) {
      next(main, r.data, done);
      return;
    }
    if (r.status === 401 && !(r.data && r.data.error && r.data.error.field)) {
      showSignIn(main, done, t('session_ended'));
      return;
    }
    out.appendChild(message('err', failText(r) || t('wrong_code')));
  });
  card(main, t('step_totp'), h('p', null, t('totp_hint')), form,
       h('div', {class: 'actions'}, toggle));
  code.input.focus();
}

async function showEnrol(main, done) {
  const r = await api.get('session/totp-setup', {quiet401: true});
  if (r.status !== 200 || !r.data) {
    showSignIn(main, done, failText(r) || t('session_ended'));
    return;
  }
  const code = field(t('code'), {name: 'code', type: 'text',
                                 inputmode: 'numeric', autocomplete: 'one-time-code',
                                 maxlength: 6, required: true});
  const form = formOf([code], t('verify'), async (out) => {
    const c = await api.post('session/totp-setup', {code: code.input.value.trim()},
                             {quiet401: true});
    code.input.value = '';
    if (c.status === 200 && c.data) {
      const codes = (c.data.recovery_codes || []).map((x) => h('li', {class: 'mono'}, x));
      const go = h('button', {type: 'button', id: 'enrol-continue', onclick: () => next(main, c.data, done)},
                   t('continue'));
      card(main, t('step_enrol'), message('ok', t('enrol_done')),
           h('ul', {class: 'codes', id: 'recovery-codes'}, codes),
           h('div', {class: 'actions'}, go));
      go.focus();
      return;
    }
    out.appendChild(message('err', failText(c) || t('wrong_code')));
  });
  card(main, t('step_enrol'), h('p', null, t('enrol_hint')),
       r.data.qr_svg ? svgImage(r.data.qr_svg, t('qr_alt')) : null,
       h('p', null, t('secret') + ': ',
         h('code', {id: 'totp-secret'}, r.data.secret)),
       form);
  code.input.focus();
}

function showExpired(main, done) {
  const cur = field(t('current_password'), {name: 'current_password', type: 'password',
                                            autocomplete: 'current-password'});
  const pw = field(t('new_password'), {name: 'new_password', type: 'password',
                                       autocomplete: 'new-password'});
  const form = formOf([cur, pw], t('change_password'), async (out) => {
    const r = await api.post('session/password', {current_password: cur.input.value,
                                                  new_password: pw.input.value},
                             {quiet401: true});
    cur.input.value = '';
    if (r.status === 200 && r.data) {
      pw.input.value = '';
      next(main, r.data, done);
      return;
    }
    const m = r.data && r.data.error ? r.data.error.message : '';
    out.appendChild(message('err', failText(r) || (r.status === 401 ? t('wrong_login')
                                                   : t('error', {message: m}))));
  });
  card(main, t('step_expired'), h('p', null, t('expired_hint')), form);
  cur.input.focus();
}
