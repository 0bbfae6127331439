// The admin API (docs/admin-api.md) as the console uses it: same origin,
// the admin cookie sent by the browser (HttpOnly: never seen here), the
// CSRF token from GET session on every change, the step-up when a call
// answers 403 "step_up", and what the revocation barrier said.

// <handler>/console/... -> <handler>/
export const handler = (() => {
  const p = window.location.pathname;
  const i = p.indexOf('/console/');
  return i >= 0 ? p.slice(0, i + 1) : '/';
})();
const base = handler + 'api/v1/';

let csrf = null;
let session = null;
let idleDeadline = 0;       // ms since the epoch; 0: unknown
let onSignedOut = () => {};
let stepUp = async () => false;
let inFlight = 0;

// While a call is on its way, <main> is aria-busy: what it shows is about
// to change (assistive technologies may wait for the change to end; a
// test waits for it to end before it looks).  The count drops once the
// answer is read, before the caller goes on, so no other task ever sees
// 0 between an answer and the drawing it causes.
function busy(d) {
  inFlight += d;
  const main = document.getElementById('main');
  if (main) {
    if (inFlight > 0) {
      main.setAttribute('aria-busy', 'true');
    } else {
      main.removeAttribute('aria-busy');
    }
  }
}

export function currentSession() {
  return session;
}

export function idleLeftMs() {
  return idleDeadline ? idleDeadline - Date.now() : null;
}

export function setHandlers(h) {
  if (h.signedOut) {
    onSignedOut = h.signedOut;
  }
  if (h.stepUp) {
    stepUp = h.stepUp;
  }
}

// A session answer (login, GET session, a step, a step-up): keep its CSRF
// token and when it ends idle.
function keepSession(data) {
  if (data && data.admin && data.csrf) {
    session = data;
    csrf = data.csrf;
    const left = typeof data.idle_seconds_left === 'number'
      ? data.idle_seconds_left : data.idle_timeout;
    if (typeof left === 'number') {
      idleDeadline = Date.now() + left * 1000;
    }
  }
}

// Any other answer the server gave this session: it touched the session,
// at most once a minute (or a tenth of the timeout), so the conservative
// deadline is the timeout less that.
function touched() {
  if (session && typeof session.idle_timeout === 'number') {
    const t = session.idle_timeout;
    const slack = Math.min(60, Math.floor(t / 10));
    idleDeadline = Math.max(idleDeadline, Date.now() + (t - slack) * 1000);
  }
}

export function forget() {
  session = null;
  csrf = null;
  idleDeadline = 0;
}

// request('PUT', 'members/lisi/status', {status: 'disabled'})
// -> {status, data, revocation: 'confirmed'|'unconfirmed'|null, pending}
export async function request(method, path, body, opts) {
  const o = opts || {};
  const headers = {Accept: 'application/json'};
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
  }
  if (method !== 'GET' && csrf) {
    headers[(session && session.csrf_header) || 'X-CSRF-Token'] = csrf;
  }
  busy(1);
  let res;
  let data = null;
  try {
    res = await fetch(base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      redirect: 'error',
    });
    if ((res.headers.get('Content-Type') || '').startsWith('application/json')) {
      try {
        data = await res.json();
      } catch (e) {
        data = null;
      }
    }
  } catch (e) {
    return {status: 0, data: null, revocation: null, error: String(e)};
  } finally {
    busy(-1);
  }
  const out = {
    status: res.status,
    data,
    revocation: res.headers.get('Qiwei-Revocation'),
    pending: data && data.revocation ? data.revocation.pending : null,
  };
  if (res.status === 401 && !o.quiet401) {
    forget();
    onSignedOut();
    return out;
  }
  if (res.status < 400) {
    keepSession(data);
    touched();
  }
  if (res.status === 403 && data && data.error && data.error.step_up
      && !o.retried) {
    // a privileged call: a fresh proof, then the same call once more
    if (await stepUp()) {
      return request(method, path, body, Object.assign({}, o, {retried: true}));
    }
    out.stepUpRefused = true;
  }
  return out;
}

// A call made without request() (an upload of a file as the body): it
// counts as on its way too, until run() has read the answer.
export async function tracked(run) {
  busy(1);
  try {
    return await run();
  } finally {
    busy(-1);
  }
}

export const get = (p, o) => request('GET', p, undefined, o);
export const post = (p, b, o) => request('POST', p, b === undefined ? {} : b, o);
export const put = (p, b, o) => request('PUT', p, b, o);
export const del = (p, o) => request('DELETE', p, undefined, o);

// The modules the signed-in admin holds (the super admin: all of them).
export function holds(module) {
  return !!(session && session.admin
            && (session.admin.super
                || (session.admin.modules || []).includes(module)));
}

export function enc(s) {
  return encodeURIComponent(s);
}
