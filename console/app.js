// The control panel (contract §9.1): one page, no framework, no third-party origin.
// It talks only to the public API of this service, on the same origin, with X-Auth-Token.
// The token lives in memory and in sessionStorage (this tab only), never in persistent
// storage or a cookie. Every element is built with the DOM API (no innerHTML), so the strict
// Content-Security-Policy needs no 'unsafe-*' source.

'use strict';

// ---------------------------------------------------------------- API

/** Base of the API: the page's path without its /console suffix (a REST API stage prefix stays). */
const API = location.pathname.replace(/\/console(\/.*)?$/, '');
const STORE_KEY = 'identity-console';
const ADMIN_ROLES = ['identity:service-admin', 'identity:admin', 'identity:user-admin', 'identity:user-manage'];

/** A failed API call: its status and the contract's message. */
class ApiError extends Error {
  constructor(status, message, data, headers) {
    super(message);
    this.status = status;
    this.data = data;
    this.headers = headers;
  }
}

/** The contract's error shape: one key naming the kind over {code, message}. */
function faultMessage(data) {
  if (data && typeof data === 'object') {
    for (const v of Object.values(data)) {
      if (v && typeof v === 'object' && typeof v.message === 'string') return v.message;
    }
  }
  return null;
}

/** Calls the API. Resolves with {status, data, headers}; rejects with ApiError on >= 400. */
async function api(method, path, { body, token = session.token, headers = {}, signInCall = false } = {}) {
  const h = { Accept: 'application/json', ...headers };
  if (token) h['X-Auth-Token'] = token;
  const init = { method, headers: h, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' };
  if (body !== undefined) {
    h['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(API + path, init);
  } catch {
    throw new ApiError(0, 'The service could not be reached. Check your connection and try again.');
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (res.status < 400) return { status: res.status, data, headers: res.headers };
  const err = new ApiError(res.status, faultMessage(data) || `The request failed (HTTP ${res.status}).`, data, res.headers);
  if (res.status === 401 && !signInCall && session.token) {
    err.sessionEnded = true;
    endSession('Your session has ended. Sign in again.');
  }
  throw err;
}

/** `{MF}` of the signed-in user. */
const mf = () => `/v2.0/users/${encodeURIComponent(session.userId)}/RAX-AUTH/multi-factor`;

// ---------------------------------------------------------------- session

/** The signed-in person: token and who they are. Persisted in sessionStorage (this tab). */
let session = loadSession();

function loadSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(STORE_KEY) || 'null');
    if (s && s.token && Date.parse(s.expires) > Date.now()) return s;
  } catch { /* nothing stored */ }
  return {};
}

function saveSession() {
  try { sessionStorage.setItem(STORE_KEY, JSON.stringify(session)); } catch { /* private mode: memory only */ }
}

let expiryTimer = null;

function startSession(access, scope) {
  const user = access.user || {};
  session = {
    token: access.token.id,
    expires: access.token.expires,
    userId: user.id,
    username: user.name,
    domainId: user['RAX-AUTH:domainId'] || null,
    roles: (user.roles || []).map((r) => r.name),
    scope: scope || null,
  };
  saveSession();
  armExpiry();
}

function armExpiry() {
  clearTimeout(expiryTimer);
  const left = Date.parse(session.expires) - Date.now();
  if (left > 0) expiryTimer = setTimeout(() => endSession('Your session has expired. Sign in again.'), Math.min(left, 2 ** 31 - 1));
}

/** Forgets the token (already revoked or dead) and returns to sign-in with a message. */
function endSession(message, kind = 'status') {
  clearTimeout(expiryTimer);
  session = {};
  try { sessionStorage.removeItem(STORE_KEY); } catch { /* ignore */ }
  pendingNotice = message ? { message, kind } : null;
  if (location.hash !== '#signin') location.hash = '#signin';
  else render();
}

const isAdmin = () => (session.roles || []).some((r) => ADMIN_ROLES.includes(r));
const canSetDomainLevel = () => (session.roles || []).some((r) => ['identity:service-admin', 'identity:admin', 'identity:user-admin'].includes(r));

// ---------------------------------------------------------------- DOM helpers

/** h('p', {class: 'x'}, 'text', child…): an element; attributes starting with "on" are listeners. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

let uid = 0;
/** A labelled input: returns [wrapper, input]. */
function field(label, attrs = {}) {
  const id = `f${++uid}`;
  const input = h('input', { id, name: id, ...attrs });
  return [h('div', { class: 'field' }, h('label', { for: id }, label), input), input];
}

/** An alert (role=alert) with the API's message; `extra` adds plain guidance. */
function alertBox(message, extra) {
  return h('div', { class: 'alert', role: 'alert' }, h('p', {}, message), extra ? h('p', {}, extra) : null);
}

function statusBox(message) {
  return h('div', { class: 'notice', role: 'status' }, message);
}

/** Actions a person started that have not answered yet. */
let inFlight = 0;

/**
 * Runs an action with its button busy; shows an API error in `where` as an alert. While one
 * action of a button is in flight, other buttons' actions wait their turn (they are ignored):
 * each answer re-renders the view, so a second click would act on a stale screen.
 */
async function act(button, where, fn) {
  if (button && inFlight > 0) return;
  where.replaceChildren();
  if (button) { inFlight += 1; button.disabled = true; button.setAttribute('aria-busy', 'true'); }
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    if (e.sessionEnded) return; // endSession already took over
    where.replaceChildren(alertBox(e.message, guidance(e)));
  } finally {
    if (button) {
      inFlight -= 1;
      if (button.isConnected) { button.disabled = false; button.removeAttribute('aria-busy'); }
    }
  }
}

/** Plain words for the refusals a person meets (the API's message stays in the alert). */
function guidance(e) {
  if (e.status === 413) {
    const secs = Number(e.headers && e.headers.get('Retry-After')) || 0;
    return secs ? `Too many attempts. Try again in ${waitText(secs)}.` : 'Too many attempts. Try again later.';
  }
  if (e.status === 403 && /locked/i.test(e.message)) {
    return 'Too many wrong passcodes were entered. The lock ends by itself 10 minutes after the last try, unless the account has reached its limit of failed tries: then only an administrator can unlock it.';
  }
  if (e.status === 403 && e.data && e.data.userDisabled) return 'This account is disabled. Ask an administrator to enable it.';
  if (e.status === 503) return 'The service is busy or one of its parts is unavailable. Try again in a moment.';
  return null;
}

function waitText(secs) {
  if (secs < 90) return `${secs} second${secs === 1 ? '' : 's'}`;
  const m = Math.ceil(secs / 60);
  return `${m} minute${m === 1 ? '' : 's'}`;
}

const main = document.getElementById('main');
let pendingNotice = null;

/** Shows a view: replaces the main content and moves focus to its heading. */
function show(...children) {
  main.replaceChildren(...children);
  const heading = main.querySelector('h1');
  if (heading) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: true });
  }
}

// ---------------------------------------------------------------- sign-in

function signInView() {
  document.title = 'Sign in · Identity control panel';
  const notice = pendingNotice;
  pendingNotice = null;
  const errors = h('div', { class: 'errors' });
  if (notice && notice.kind === 'alert') errors.append(alertBox(notice.message));
  const [userField, username] = field('Username', { type: 'text', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const [passField, password] = field('Password', { type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h('form', { class: 'card narrow', novalidate: true },
    h('h1', {}, 'Sign in'),
    notice && notice.kind !== 'alert' ? statusBox(notice.message) : null,
    errors, userField, passField, submit);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    act(submit, errors, async () => {
      if (!username.value || !password.value) {
        throw new ApiError(400, 'Enter your username and password.');
      }
      await signIn(username.value.trim(), password.value, errors);
    });
  });
  show(form);
  username.focus();
}

/** The password step: a token, the OS-MF challenge, or the SETUP-MFA path. */
async function signIn(username, password, errors) {
  const credentials = { username, password };
  try {
    const { data } = await api('POST', '/v2.0/tokens', { body: { auth: { passwordCredentials: credentials } }, token: null, signInCall: true });
    startSession(data.access, null);
    go('#security');
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    const challenge = e.status === 401 && e.headers && /OS-MF/.test(e.headers.get('WWW-Authenticate') || '');
    if (challenge) {
      const m = /sessionId='([^']+)'/.exec(e.headers.get('WWW-Authenticate'));
      if (!m) throw e;
      passcodeView(m[1], (e.data && e.data['RAX-AUTH:factorType']) || null, username);
      return;
    }
    if (e.status === 403 && /must setup multi-factor/i.test(e.message)) {
      // Enforcement requires MFA and it is off: sign in for set-up only (§3.5).
      const { data } = await api('POST', '/v2.0/tokens', {
        body: { auth: { 'RAX-AUTH:scope': 'SETUP-MFA', passwordCredentials: credentials } },
        token: null,
        signInCall: true,
      });
      startSession(data.access, 'SETUP-MFA');
      pendingNotice = {
        kind: 'status',
        message: 'Your account must use multi-factor authentication (the API said: "User must setup multi-factor"). Add a phone or an authenticator app, verify it, then turn multi-factor authentication on.',
      };
      go('#security');
      return;
    }
    throw e;
  }
}

function passcodeView(sessionId, factor, username) {
  document.title = 'Verify · Identity control panel';
  const errors = h('div', { class: 'errors' });
  const [codeField, code] = field('Passcode', { type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', required: true, spellcheck: 'false' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Verify');
  const cancel = h('button', { type: 'button', class: 'secondary', onclick: () => go('#signin', true) }, 'Cancel');
  const explain = factor === 'SMS'
    ? 'We sent a passcode by text message to your phone. Enter it below.'
    : factor === 'OTP'
      ? 'Enter the 6-digit code your authenticator app shows for this account.'
      : 'Enter the passcode from your phone or authenticator app.';
  const form = h('form', { class: 'card narrow', novalidate: true },
    h('h1', {}, 'Two-step verification'),
    h('p', {}, `Signing in as ${username}. ${explain}`),
    h('p', { class: 'hint' }, 'Lost your device? Enter one of your bypass codes instead.'),
    errors, codeField, h('div', { class: 'row' }, submit, cancel));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    act(submit, errors, async () => {
      const passcode = code.value.replace(/\s+/g, '');
      if (!passcode) throw new ApiError(400, 'Enter the passcode.');
      try {
        const { data } = await api('POST', '/v2.0/tokens', {
          body: { auth: { 'RAX-AUTH:passcodeCredentials': { passcode } } },
          headers: { 'X-SessionId': sessionId },
          token: null,
          signInCall: true,
        });
        startSession(data.access, null);
        go('#security');
      } catch (e) {
        code.value = '';
        code.focus();
        if (e instanceof ApiError && e.status === 401 && /session/i.test(e.message)) {
          pendingNotice = { kind: 'alert', message: `${e.message}. Sign in again.` };
          go('#signin', true);
          return;
        }
        throw e;
      }
    });
  });
  show(form);
  code.focus();
}

// ---------------------------------------------------------------- my security

const FACTOR_NAMES = { OTP: 'authenticator app', SMS: 'text message', WEBAUTHN: 'passkey' };

async function securityView() {
  document.title = 'My security · Identity control panel';
  const notice = pendingNotice;
  pendingNotice = null;
  const errors = h('div', { class: 'errors' });
  const page = h('div', { class: 'stack' },
    h('h1', {}, 'Multi-factor authentication'),
    notice ? (notice.kind === 'alert' ? alertBox(notice.message) : statusBox(notice.message)) : null,
    errors);
  show(page);
  await act(null, errors, async () => {
    const [user, phones, devices] = await Promise.all([
      api('GET', `/v2.0/users/${encodeURIComponent(session.userId)}`),
      api('GET', `${mf()}/mobile-phones`),
      api('GET', `${mf()}/otp-devices`),
    ]);
    const u = user.data.user;
    const state = {
      enabled: !!u['RAX-AUTH:multiFactorEnabled'],
      factor: u['RAX-AUTH:factorType'] || null,
      level: u['RAX-AUTH:userMultiFactorEnforcementLevel'] || 'DEFAULT',
      locked: u['RAX-AUTH:multiFactorState'] === 'LOCKED',
      phone: (phones.data['RAX-AUTH:mobilePhones'] || [])[0] || null,
      devices: devices.data['RAX-AUTH:otpDevices'] || [],
    };
    let domainLevel = null;
    if (session.domainId && isAdmin() && !session.scope) {
      try {
        const d = await api('GET', `/v2.0/RAX-AUTH/domains/${encodeURIComponent(session.domainId)}`);
        domainLevel = d.data['RAX-AUTH:domain'].domainMultiFactorEnforcementLevel;
      } catch (e) {
        if (!(e instanceof ApiError) || e.status === 401) throw e;
      }
    }
    page.append(...[
      statusSection(state, domainLevel),
      phoneSection(state),
      appsSection(state),
      passkeySection(),
      factorSection(state),
      onOffSection(state),
      state.enabled && !session.scope ? bypassSection() : null,
      session.scope ? null : apiKeySection(),
    ].filter(Boolean));
  });
}

function statusSection(s, domainLevel) {
  const parts = [`Multi-factor authentication is ${s.enabled ? 'enabled' : 'disabled'}`];
  if (s.enabled && s.factor) parts.push(` (second factor: ${FACTOR_NAMES[s.factor] || s.factor})`);
  const required = s.level === 'REQUIRED' || (s.level === 'DEFAULT' && ['REQUIRED', 'RACKSPACE_MANDATED'].includes(domainLevel));
  const dl = h('dl', { class: 'facts' },
    h('dt', {}, 'Your enforcement level'), h('dd', {}, s.level),
    domainLevel ? [h('dt', {}, 'Domain enforcement level'), h('dd', {}, domainLevel)] : null,
    s.enabled ? [h('dt', {}, 'State'), h('dd', {}, s.locked ? 'Locked' : 'Active')] : null,
    session.scope ? [h('dt', {}, 'This sign-in'), h('dd', {}, 'Set-up only: turn multi-factor authentication on to finish')] : null);
  return h('section', { class: 'card', 'aria-labelledby': 'status-h' },
    h('h2', { id: 'status-h' }, 'Status'),
    h('p', { class: `status ${s.enabled ? 'on' : 'off'}` }, parts.join(''), '.'),
    required && !s.enabled ? h('p', {}, 'Your organisation requires multi-factor authentication for your account.') : null,
    dl);
}

function phoneSection(s) {
  const errors = h('div', { class: 'errors' });
  const body = h('div', {});
  const section = h('section', { class: 'card', 'aria-labelledby': 'phone-h' }, h('h2', { id: 'phone-h' }, 'Phone (text message)'), errors, body);
  const p = s.phone;

  const verifyForm = (phoneId) => {
    const [codeField, code] = field('Verification code', { type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', required: true });
    const verify = h('button', { type: 'submit', class: 'primary' }, 'Verify phone');
    const form = h('form', { novalidate: true }, h('p', {}, 'We sent a 6-digit code by text message. Enter it to verify the phone.'), codeField, verify);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      act(verify, errors, async () => {
        await api('POST', `${mf()}/mobile-phones/${encodeURIComponent(phoneId)}/verify`, { body: { 'RAX-AUTH:verificationCode': { code: code.value.trim() } } });
        pendingNotice = { kind: 'status', message: 'Your phone is verified.' };
        render();
      });
    });
    return [form, code];
  };

  if (!p) {
    body.append(h('p', {}, 'Get a passcode by text message when you sign in.'));
    const add = h('button', { type: 'button' }, 'Add phone');
    add.addEventListener('click', () => {
      const [numField, number] = field('Phone number', { type: 'tel', autocomplete: 'tel', required: true, placeholder: '+1 210 555 0123' });
      const send = h('button', { type: 'submit', class: 'primary' }, 'Send code');
      const form = h('form', { novalidate: true }, h('p', { class: 'hint' }, 'International format, starting with + and the country code.'), numField, send);
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        act(send, errors, async () => {
          const created = await api('POST', `${mf()}/mobile-phones`, { body: { 'RAX-AUTH:mobilePhone': { number: number.value.trim() } } });
          const id = created.data['RAX-AUTH:mobilePhone'].id;
          try {
            await api('POST', `${mf()}/mobile-phones/${encodeURIComponent(id)}/verificationcode`);
          } catch (e) {
            if (!(e instanceof ApiError) || e.sessionEnded) throw e;
            // The phone exists now, unverified: show it with its own Send code button.
            const extra = guidance(e);
            pendingNotice = { kind: 'alert', message: `Phone added, but the code was not sent: ${e.message}${extra ? ` ${extra}` : ''}` };
            render();
            return;
          }
          const [vf, code] = verifyForm(id);
          body.replaceChildren(h('p', {}, `Phone ${number.value.trim()} added.`), vf);
          code.focus();
        });
      });
      body.replaceChildren(form);
      number.focus();
    });
    body.append(add);
    return section;
  }

  body.append(h('p', {}, h('span', { class: 'mono' }, p.number), ' ', p.verified ? badge('verified', 'ok') : badge('not verified', 'warn')));
  const actions = h('div', { class: 'row' });
  if (!p.verified) {
    const send = h('button', { type: 'button' }, 'Send code');
    send.addEventListener('click', () => act(send, errors, async () => {
      await api('POST', `${mf()}/mobile-phones/${encodeURIComponent(p.id)}/verificationcode`);
      const [vf, code] = verifyForm(p.id);
      actions.replaceWith(vf);
      code.focus();
    }));
    actions.append(send);
  }
  const remove = h('button', { type: 'button', class: 'danger' }, 'Remove phone');
  remove.addEventListener('click', () => act(remove, errors, async () => {
    await api('DELETE', `${mf()}/mobile-phones/${encodeURIComponent(p.id)}`);
    pendingNotice = { kind: 'status', message: 'Your phone was removed.' };
    render();
  }));
  actions.append(remove);
  body.append(actions);
  return section;
}

function badge(text, kind) {
  return h('span', { class: `badge ${kind}` }, text);
}

function appsSection(s) {
  const errors = h('div', { class: 'errors' });
  const body = h('div', {});
  const section = h('section', { class: 'card', 'aria-labelledby': 'apps-h' }, h('h2', { id: 'apps-h' }, 'Authenticator apps'), errors, body);
  if (s.devices.length) {
    const list = h('ul', { class: 'items', 'aria-label': 'Authenticator apps' });
    for (const d of s.devices) {
      const remove = h('button', { type: 'button', class: 'danger small', 'aria-label': `Remove ${d.name}` }, 'Remove');
      remove.addEventListener('click', () => act(remove, errors, async () => {
        await api('DELETE', `${mf()}/otp-devices/${encodeURIComponent(d.id)}`);
        pendingNotice = { kind: 'status', message: `Authenticator app "${d.name}" was removed.` };
        render();
      }));
      list.append(h('li', {}, h('span', {}, d.name, ' ', d.verified ? badge('verified', 'ok') : badge('not verified', 'warn')), remove));
    }
    body.append(list);
  } else {
    body.append(h('p', {}, 'Use an app such as Google Authenticator, Microsoft Authenticator or 1Password for a code that changes every 30 seconds.'));
  }
  const add = h('button', { type: 'button' }, 'Add authenticator app');
  add.addEventListener('click', () => {
    const [nameField, name] = field('Device name', { type: 'text', required: true, maxlength: 255, placeholder: 'My phone' });
    const next = h('button', { type: 'submit', class: 'primary' }, 'Continue');
    const form = h('form', { novalidate: true }, nameField, next);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      act(next, errors, async () => {
        const r = await api('POST', `${mf()}/otp-devices`, { body: { 'RAX-AUTH:otpDevice': { name: name.value.trim() } } });
        body.replaceChildren(enrolment(r.data['RAX-AUTH:otpDevice'], errors));
        body.querySelector('input').focus();
      });
    });
    body.replaceChildren(form);
    name.focus();
  });
  body.append(add);
  return section;
}

/** The one-time view of a new device: the API's QR code, the secret as text, and the code check. */
function enrolment(device, errors) {
  const secret = (/[?&]secret=([^&]+)/.exec(device.keyUri || '') || [])[1] || '';
  const grouped = decodeURIComponent(secret).replace(/(.{4})/g, '$1 ').trim();
  const [codeField, code] = field('Verification code', { type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', required: true });
  const verify = h('button', { type: 'submit', class: 'primary' }, 'Verify device');
  const form = h('form', { novalidate: true },
    h('ol', { class: 'steps' },
      h('li', {}, 'Scan this QR code with your authenticator app.'),
      h('li', {}, 'Enter the 6-digit code the app shows to finish.')),
    h('figure', { class: 'qr' },
      h('img', { src: device.qrcode, alt: 'QR code', width: 200, height: 200 }),
      h('figcaption', {}, 'Can\'t scan it? Enter this key in the app instead: ', h('code', { class: 'secret' }, grouped))),
    h('p', { class: 'hint' }, 'This code and key are shown only once.'),
    codeField, verify);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    act(verify, errors, async () => {
      await api('POST', `${mf()}/otp-devices/${encodeURIComponent(device.id)}/verify`, { body: { 'RAX-AUTH:verificationCode': { code: code.value.replace(/\s+/g, '') } } });
      pendingNotice = { kind: 'status', message: `Authenticator app "${device.name}" is verified.` };
      render();
    });
  });
  return form;
}

function passkeySection() {
  return h('section', { class: 'card', 'aria-labelledby': 'passkey-h' },
    h('h2', { id: 'passkey-h' }, 'Passkeys'),
    h('p', {}, 'Passkeys are not available on this service yet.'));
}

function factorSection(s) {
  const errors = h('div', { class: 'errors' });
  const verifiedPhone = !!(s.phone && s.phone.verified);
  const verifiedApp = s.devices.some((d) => d.verified);
  const options = [
    ['OTP', 'Authenticator app', verifiedApp],
    ['SMS', 'Text message', verifiedPhone],
    ['WEBAUTHN', 'Passkey', false],
  ];
  const current = s.factor;
  const group = h('fieldset', { role: 'radiogroup', 'aria-labelledby': 'factor-legend', 'aria-describedby': 'factor-hint' },
    h('legend', { id: 'factor-legend' }, 'Second factor'));
  for (const [value, label, usable] of options) {
    const id = `factor-${value}`;
    const radio = h('input', { type: 'radio', name: 'factor', id, value, disabled: !usable, checked: current === value });
    radio.addEventListener('change', () => act(null, errors, async () => {
      await api('PUT', mf(), { body: { 'RAX-AUTH:multiFactor': { factorType: value } } });
      pendingNotice = { kind: 'status', message: `Your second factor is now: ${label}.` };
      render();
    }));
    group.append(h('div', { class: 'radio' }, radio, h('label', { for: id }, label)));
  }
  return h('section', { class: 'card', 'aria-labelledby': 'factor-h' },
    h('h2', { id: 'factor-h' }, 'Which factor to use'),
    h('p', { id: 'factor-hint', class: 'hint' }, 'Only the kinds you have verified can be chosen.'),
    errors, group);
}

function onOffSection(s) {
  const errors = h('div', { class: 'errors' });
  const section = h('section', { class: 'card', 'aria-labelledby': 'onoff-h' }, h('h2', { id: 'onoff-h' }, s.enabled ? 'Turn off' : 'Turn on'), errors);
  if (!s.enabled) {
    section.append(h('p', {}, 'Turning multi-factor authentication on signs you out everywhere: you then sign in with your password and a passcode.'));
    const on = h('button', { type: 'button', class: 'primary' }, 'Turn on multi-factor authentication');
    on.addEventListener('click', () => act(on, errors, async () => {
      const body = { enabled: true };
      const chosen = document.querySelector('input[name="factor"]:checked');
      if (chosen) body.factorType = chosen.value;
      await api('PUT', mf(), { body: { 'RAX-AUTH:multiFactor': body } });
      // §4.3: every token of the user is now revoked, this one included.
      endSession('Multi-factor authentication is on. You were signed out everywhere: sign in with your password and a passcode.');
    }));
    section.append(on);
  } else {
    section.append(h('p', {}, 'Without multi-factor authentication your password alone protects your account. Your bypass codes are deleted; your phone and apps stay.'));
    const off = h('button', { type: 'button', class: 'danger' }, 'Turn off multi-factor authentication');
    off.addEventListener('click', () => act(off, errors, async () => {
      await api('PUT', mf(), { body: { 'RAX-AUTH:multiFactor': { enabled: false } } });
      pendingNotice = { kind: 'status', message: 'Multi-factor authentication is off.' };
      render();
    }));
    section.append(off);
  }
  return section;
}

function bypassSection() {
  const errors = h('div', { class: 'errors' });
  const out = h('div', {});
  const count = h('select', { id: 'bp-count' }, [1, 2, 3, 5, 10].map((n) => h('option', { value: n, selected: n === 5 }, String(n))));
  const validity = h('select', { id: 'bp-valid' },
    [['PT30M', '30 minutes'], ['P1D', '1 day'], ['P30D', '30 days'], ['P365D', '1 year']].map(([v, l]) => h('option', { value: v, selected: v === 'P30D' }, l)));
  const generate = h('button', { type: 'button' }, 'Generate bypass codes');
  generate.addEventListener('click', () => act(generate, errors, async () => {
    const r = await api('POST', `${mf()}/bypass-codes`, { body: { 'RAX-AUTH:bypassCodes': { numberOfCodes: Number(count.value), validityDuration: validity.value } } });
    out.replaceChildren(codesView(r.data['RAX-AUTH:bypassCodes'].codes, session.username));
  }));
  return h('section', { class: 'card', 'aria-labelledby': 'bypass-h' },
    h('h2', { id: 'bypass-h' }, 'Bypass codes'),
    h('p', {}, 'Each code signs you in once without your phone or app. A new set replaces the old one.'),
    errors,
    h('div', { class: 'row' },
      h('div', { class: 'field inline' }, h('label', { for: 'bp-count' }, 'How many'), count),
      h('div', { class: 'field inline' }, h('label', { for: 'bp-valid' }, 'Valid for'), validity)),
    generate, out);
}

/** Codes shown once, with copy and download. */
function codesView(codes, who) {
  const text = `Bypass codes for ${who} (each works once)\n${codes.join('\n')}\n`;
  const note = h('p', { role: 'status', class: 'hint' });
  const copy = h('button', { type: 'button', class: 'secondary' }, 'Copy codes');
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(codes.join('\n'));
      note.textContent = 'Copied.';
    } catch {
      note.textContent = 'Copying is not allowed here: select the codes and copy them.';
    }
  });
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
  const download = h('a', { href: url, download: `bypass-codes-${who}.txt`, class: 'button secondary' }, 'Download codes');
  return h('div', { class: 'codes' },
    h('p', {}, 'Save these codes now: they are shown only once.'),
    h('ul', { 'aria-label': 'Bypass codes', class: 'mono codelist' }, codes.map((c) => h('li', {}, c))),
    h('div', { class: 'row' }, copy, download), note);
}

function apiKeySection() {
  const errors = h('div', { class: 'errors' });
  const out = h('div', {});
  const path = () => `/v2.0/users/${encodeURIComponent(session.userId)}/OS-KSADM/credentials/RAX-KSKEY:apiKeyCredentials`;
  const showKey = (key) => out.replaceChildren(h('p', {}, 'Your API key: ', h('code', { class: 'secret' }, key)));
  const reveal = h('button', { type: 'button', class: 'secondary' }, 'Show API key');
  reveal.addEventListener('click', () => act(reveal, errors, async () => {
    const r = await api('GET', path());
    showKey(r.data['RAX-KSKEY:apiKeyCredentials'].apiKey);
  }));
  const reset = h('button', { type: 'button', class: 'danger' }, 'Reset API key');
  reset.addEventListener('click', () => {
    const confirm = h('button', { type: 'button', class: 'danger' }, 'Confirm reset');
    const cancel = h('button', { type: 'button', class: 'secondary', onclick: () => { out.replaceChildren(); reset.focus(); } }, 'Cancel');
    confirm.addEventListener('click', () => act(confirm, errors, async () => {
      const r = await api('POST', `${path()}/RAX-AUTH/reset`);
      showKey(r.data['RAX-KSKEY:apiKeyCredentials'].apiKey);
    }));
    out.replaceChildren(h('div', { class: 'confirm', role: 'group', 'aria-label': 'Confirm API key reset' },
      h('p', {}, 'Reset your API key? Programs that use the current key stop working until they get the new one.'),
      h('div', { class: 'row' }, confirm, cancel)));
    confirm.focus();
  });
  return h('section', { class: 'card', 'aria-labelledby': 'apikey-h' },
    h('h2', { id: 'apikey-h' }, 'API key'),
    h('p', {}, 'Command-line tools and SDKs sign in with your username and API key.'),
    errors, h('div', { class: 'row' }, reveal, reset), out);
}

// ---------------------------------------------------------------- users (administrators)

async function usersView() {
  document.title = 'Users · Identity control panel';
  const notice = pendingNotice;
  pendingNotice = null;
  const errors = h('div', { class: 'errors' });
  const content = h('div', { class: 'stack' });
  const page = h('div', { class: 'stack' },
    h('h1', {}, 'Users'),
    notice ? (notice.kind === 'alert' ? alertBox(notice.message) : statusBox(notice.message)) : null,
    errors, content);
  show(page);
  if (!isAdmin() || session.scope) {
    errors.append(alertBox('Only administrators can manage users.'));
    return;
  }
  if (canSetDomainLevel() && session.domainId) content.append(domainSection());
  const domainBound = !session.roles.some((r) => r === 'identity:admin' || r === 'identity:service-admin');
  if (domainBound) {
    await act(null, errors, async () => {
      const r = await api('GET', '/v2.0/users');
      content.append(usersTable(r.data.users || [], errors));
    });
  } else {
    content.append(userSearch(errors));
  }
}

function userSearch(errors) {
  const out = h('div', {});
  const [qField, q] = field('Username or email', { type: 'search', required: true });
  const find = h('button', { type: 'submit' }, 'Find user');
  const form = h('form', { class: 'row end', role: 'search', novalidate: true }, qField, find);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    act(find, errors, async () => {
      const v = q.value.trim();
      const key = v.includes('@') ? 'email' : 'name';
      const r = await api('GET', `/v2.0/users?${key}=${encodeURIComponent(v)}`);
      const users = r.data.users || (r.data.user ? [r.data.user] : []);
      out.replaceChildren(usersTable(users, errors));
    });
  });
  return h('section', { class: 'card', 'aria-labelledby': 'find-h' }, h('h2', { id: 'find-h' }, 'Find a user'), form, out);
}

function usersTable(users, errors) {
  if (!users.length) return h('p', {}, 'No users to show.');
  const rows = users.map((u) => userRow(u, errors));
  return h('div', { class: 'table-wrap', role: 'region', 'aria-label': 'Users table', tabindex: 0 },
    h('table', { class: 'users' },
      h('caption', { class: 'sr-only' }, 'Users you can manage'),
      h('thead', {}, h('tr', {}, ['User', 'Status', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows)));
}

function userRow(u, errors) {
  const self = u.id === session.userId;
  const enabled = u.enabled !== false;
  const mfa = !!u['RAX-AUTH:multiFactorEnabled'];
  const locked = u['RAX-AUTH:multiFactorState'] === 'LOCKED';
  const cellOut = h('div', {});
  const base = `/v2.0/users/${encodeURIComponent(u.id)}`;
  const refresh = (message) => { pendingNotice = { kind: 'status', message }; render(); };
  const actions = h('div', { class: 'row tight' });
  if (!self) {
    if (locked) {
      const unlock = h('button', { type: 'button', class: 'small' }, 'Unlock');
      unlock.addEventListener('click', () => act(unlock, errors, async () => {
        await api('PUT', `${base}/RAX-AUTH/multi-factor`, { body: { 'RAX-AUTH:multiFactor': { unlock: true } } });
        refresh(`${u.username} is unlocked.`);
      }));
      actions.append(unlock);
    }
    if (mfa) {
      const code = h('button', { type: 'button', class: 'small secondary' }, 'Bypass code');
      code.addEventListener('click', () => act(code, errors, async () => {
        const r = await api('POST', `${base}/RAX-AUTH/multi-factor/bypass-codes`, { body: { 'RAX-AUTH:bypassCodes': { numberOfCodes: 1, validityDuration: 'PT30M' } } });
        cellOut.replaceChildren(h('p', {}, `One-time code for ${u.username}, valid 30 minutes: `, h('code', { class: 'secret' }, r.data['RAX-AUTH:bypassCodes'].codes[0])));
      }));
      actions.append(code);
    }
    const reset = h('button', { type: 'button', class: 'small danger' }, 'Reset multi-factor');
    reset.addEventListener('click', () => {
      const yes = h('button', { type: 'button', class: 'small danger' }, 'Confirm reset');
      const no = h('button', { type: 'button', class: 'small secondary', onclick: () => { cellOut.replaceChildren(); reset.focus(); } }, 'Cancel');
      yes.addEventListener('click', () => act(yes, errors, async () => {
        await api('DELETE', `${base}/RAX-AUTH/multi-factor`);
        refresh(`Multi-factor authentication of ${u.username} was reset: its phone, apps and codes are gone.`);
      }));
      cellOut.replaceChildren(h('div', { role: 'group', 'aria-label': `Confirm reset of ${u.username}` },
        h('p', {}, `Remove every factor of ${u.username}?`), h('div', { class: 'row tight' }, yes, no)));
      yes.focus();
    });
    actions.append(reset);
    const toggle = h('button', { type: 'button', class: 'small secondary' }, enabled ? 'Disable' : 'Enable');
    toggle.addEventListener('click', () => act(toggle, errors, async () => {
      await api('POST', base, { body: { user: { enabled: !enabled } } });
      refresh(`${u.username} is ${enabled ? 'disabled' : 'enabled'}.`);
    }));
    actions.append(toggle);
  }
  return h('tr', {},
    h('th', { scope: 'row' }, h('span', { class: 'name' }, u.username, self ? ' (you)' : ''), h('span', { class: 'email' }, u.email || '')),
    h('td', {}, h('ul', { class: 'facts-inline' },
      h('li', {}, enabled ? 'Account enabled' : badge('Account disabled', 'warn')),
      h('li', {}, mfa ? `Multi-factor on (${FACTOR_NAMES[u['RAX-AUTH:factorType']] || 'set'})` : 'Multi-factor off'),
      locked ? h('li', {}, badge('Locked', 'warn')) : null)),
    h('td', {}, self ? '' : actions, cellOut));
}

function domainSection() {
  const errors = h('div', { class: 'errors' });
  const body = h('div', {});
  const section = h('section', { class: 'card', 'aria-labelledby': 'domain-h' }, h('h2', { id: 'domain-h' }, 'Domain enforcement'), errors, body);
  act(null, errors, async () => {
    const r = await api('GET', `/v2.0/RAX-AUTH/domains/${encodeURIComponent(session.domainId)}`);
    const current = r.data['RAX-AUTH:domain'].domainMultiFactorEnforcementLevel;
    const rackspaceAdmin = session.roles.some((x) => x === 'identity:admin' || x === 'identity:service-admin');
    const levels = [['OPTIONAL', 'Optional: each user chooses'], ['REQUIRED', 'Required for every user']];
    if (rackspaceAdmin || current === 'RACKSPACE_MANDATED') levels.push(['RACKSPACE_MANDATED', 'Mandated by the provider']);
    const select = h('select', { id: 'domain-level' }, levels.map(([v, l]) => h('option', { value: v, selected: v === current }, l)));
    const save = h('button', { type: 'button' }, 'Save enforcement level');
    save.addEventListener('click', () => act(save, errors, async () => {
      await api('PUT', `/v2.0/RAX-AUTH/domains/${encodeURIComponent(session.domainId)}/multi-factor`, { body: { 'RAX-AUTH:multiFactorDomain': { domainMultiFactorEnforcementLevel: select.value } } });
      pendingNotice = { kind: 'status', message: `The domain's enforcement level is now ${select.value}.` };
      render();
    }));
    body.append(
      h('p', {}, `Domain ${session.domainId}. Changing it to Required signs out the users who have not set multi-factor authentication up.`),
      h('div', { class: 'row end' }, h('div', { class: 'field' }, h('label', { for: 'domain-level' }, 'Domain enforcement level'), select), save));
  });
  return section;
}

// ---------------------------------------------------------------- navigation

/** Navigates to a view; `again` renders it even when it is the current one. */
function go(hash, again = true) {
  if (location.hash !== hash) location.hash = hash; // hashchange renders
  else if (again) render();
}

function updateNav() {
  const nav = document.getElementById('nav');
  const signedIn = !!session.token;
  nav.hidden = !signedIn;
  document.getElementById('nav-users').hidden = !(signedIn && isAdmin() && !session.scope);
  document.getElementById('whoami').textContent = signedIn ? session.username || '' : '';
  const here = location.hash || '#security';
  for (const a of nav.querySelectorAll('a')) {
    if (a.getAttribute('href') === here) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function render() {
  if (!session.token) {
    updateNav();
    signInView();
    return;
  }
  const hash = location.hash;
  if (hash === '#signin' || hash === '' || hash === '#') {
    go('#security');
    return;
  }
  updateNav();
  if (hash === '#users') usersView();
  else securityView();
}

document.getElementById('signout').addEventListener('click', async () => {
  const token = session.token;
  if (token) {
    try {
      await api('DELETE', '/v2.0/tokens', { token, signInCall: true });
    } catch { /* already dead: sign out locally all the same */ }
  }
  endSession('You are signed out.');
});

// Only the views' own hashes re-render (the skip link's #main does not).
window.addEventListener('hashchange', () => {
  if (['', '#', '#signin', '#security', '#users'].includes(location.hash)) render();
});
if (session.token) armExpiry();
render();
