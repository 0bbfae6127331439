// The admin console's entry point: the language, the session (GET
// session: signed in or not, the step owed, the rights, the CSRF token,
// the idle timeout), the screens the admin's modules allow, sign out, the
// idle warning and the step-up dialog.
import * as api from './api.js';
import {h, clear, message, field, latest} from './dom.js';
import {t, setLang, current} from './i18n.js';
import {showSignIn, next} from './signin.js';
import {screen as members} from './members.js';
import {screen as articles} from './articles.js';
import {screen as departments} from './departments.js';
import {screen as admins} from './admins.js';
import {screen as audit} from './audit.js';
import {screen as settings} from './settings.js';
// one import and one entry in SCREENS per screen, in the order of the nav

// Every screen names the module it needs; a sub-admin sees only those of
// their modules (the API refuses the rest anyway).
const SCREENS = [
  members,
  departments,
  admins,
  articles,
  audit,
  settings,
];
const WARN_BEFORE_S = 120;

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
const signout = document.getElementById('signout');
const idle = document.getElementById('idle');
const dialog = document.getElementById('dialog');
const langSelect = document.getElementById('lang');

let active = null;
let idleTimer = null;

function allowed() {
  return SCREENS.filter((s) => api.holds(s.module));
}

function showScreen(id) {
  const list = allowed();
  const s = list.find((x) => x.id === id) || list[0];
  active = s ? s.id : null;
  for (const a of nav.querySelectorAll('a')) {
    if (a.getAttribute('data-screen') === active) {
      a.setAttribute('aria-current', 'page');
    } else {
      a.removeAttribute('aria-current');
    }
  }
  if (!s) {
    clear(main);
    main.appendChild(h('h1', {id: 'screen-title'}, t('brand')));
    main.appendChild(message('warn', t('no_screens')));
    main.lastChild.id = 'no-screens';
    return;
  }
  // Each screen renders into an element of its own.  A render still
  // waiting for the server when the admin has moved on (the Members
  // screen's first call answered after the Operation log was opened) then
  // fills a detached element, never the screen now shown.
  const view = h('div', {class: 'view', 'data-view': s.id});
  clear(main);
  main.appendChild(view);
  s.render(view);
}

function signedIn(s) {
  clear(nav);
  for (const sc of allowed()) {
    nav.appendChild(h('a', {href: '#' + sc.id, 'data-screen': sc.id},
                      sc.label()));
  }
  who.textContent = t('signed_in_as', {account: s.admin.account});
  signout.hidden = false;
  startIdle();
  showScreen((window.location.hash || '').slice(1));
}

function signedOutView(notice) {
  api.forget();
  stopIdle();
  clear(nav);
  who.textContent = '';
  signout.hidden = true;
  showSignIn(main, signedIn, notice);
}

// --- the idle timeout: shown before it ends -------------------------------
function stopIdle() {
  if (idleTimer) {
    clearInterval(idleTimer);
    idleTimer = null;
  }
  idle.hidden = true;
}

function startIdle() {
  stopIdle();
  idleTimer = setInterval(tickIdle, 1000);
  tickIdle();
}

function tickIdle() {
  const ms = api.idleLeftMs();
  if (ms === null) {
    return;
  }
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s <= 0) {
    // the console's count is conservative (the server may keep the
    // session up to a minute longer): end it on the server too, so an
    // unattended console leaves nothing signed in
    stopIdle();
    api.del('session', {quiet401: true}).finally(() => {
      signedOutView(t('session_ended'));
    });
    return;
  }
  if (s > WARN_BEFORE_S) {
    idle.hidden = true;
    return;
  }
  clear(idle);
  idle.append(h('span', {id: 'idle-text'}, t('idle_warn', {s})),
              h('button', {type: 'button', class: 'secondary', id: 'idle-stay',
                           onclick: () => api.get('session')}, t('stay')));
  idle.hidden = false;
}

// --- step-up: a privileged call answered 403 "step_up" -----------------------
function askStepUp() {
  return new Promise((resolve) => {
    clear(dialog);
    const pw = field(t('password'), {name: 'password', type: 'password',
                                     autocomplete: 'current-password'});
    const code = field(t('step_up_code'), {name: 'code', type: 'text',
                                           inputmode: 'numeric',
                                           autocomplete: 'one-time-code'});
    const out = h('div', {id: 'step-up-out'});
    let settled = false;
    const finish = (ok) => {
      if (!settled) {
        settled = true;
        dialog.close();
        resolve(ok);
      }
    };
    const form = h('form', {id: 'step-up-form'},
      h('h2', {id: 'dialog-title'}, t('step_up_title')),
      h('p', null, t('step_up_hint')), pw.wrap, code.wrap, out,
      h('div', {class: 'actions'},
        h('button', {type: 'submit'}, t('confirm')),
        h('button', {type: 'button', class: 'secondary',
                     onclick: () => finish(false)}, t('cancel'))));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const body = code.input.value.trim() ? {code: code.input.value.trim()}
                                           : {password: pw.input.value};
      // a wrong proof is a 401 that does not end the session
      const r = await api.post('session/step-up', body, {quiet401: true});
      pw.input.value = '';
      code.input.value = '';
      if (r.status === 200) {
        finish(true);
        return;
      }
      clear(out);
      out.appendChild(message('err', r.status === 429 ? t('too_many')
                                                      : t('step_up_failed')));
    });
    dialog.addEventListener('cancel', () => finish(false), {once: true});
    dialog.appendChild(form);
    dialog.showModal();
    pw.input.focus();
  });
}

// --- start ------------------------------------------------------------------
async function boot() {
  setLang(current(), false);
  langSelect.value = current();
  langSelect.addEventListener('change', () => {
    setLang(langSelect.value, true);
    const s = api.currentSession();
    if (s && s.usable) {
      signedIn(s);
    } else {
      start();
    }
  });
  signout.addEventListener('click', async () => {
    await api.del('session');
    signedOutView(t('signed_out'));
  });
  window.addEventListener('hashchange', () => {
    if (api.currentSession() && api.currentSession().usable) {
      showScreen(window.location.hash.slice(1));
    }
  });
  api.setHandlers({
    signedOut: () => signedOutView(t('session_ended')),
    stepUp: askStepUp,
  });
  await start();
}

async function start() {
  // the language switched twice before the session answered: only the
  // newest start draws (an older answer would replace a sign-in form the
  // admin may already be typing in)
  const current = latest(main);
  clear(main);
  main.appendChild(h('p', {class: 'muted'}, t('loading')));
  const r = await api.get('session', {quiet401: true});
  if (!current()) {
    return;
  }
  if (r.status === 200 && r.data) {
    if (r.data.usable) {
      signedIn(r.data);
    } else {
      next(main, r.data, signedIn);
    }
    return;
  }
  signedOutView(r.status === 401 ? null : t('unavailable'));
}

boot();
