// The platform's web portal: plain script, no framework, no build step (docs/portal.md).
// Every piece of data reaches the page through textContent or an attribute set one by one, never
// as HTML. The access token lives in this script's memory only; the refresh token is an HttpOnly
// cookie identity sets (X-Token-Delivery: cookie), which no script can read.
'use strict';

const session = { token: null, userId: null, roles: [], authority: '', timer: 0 };
const SIGNED_IN = 'svckit.portal.signed_in';  // a hint, not a secret: "try the refresh cookie"
let catalogue = [];

const $ = id => document.getElementById(id);

// el('li', {class: 'x'}, 'text', child): an element built with attributes and text nodes only.
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === undefined || v === null) continue;
    e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

function notice(text, isError) {
  const n = $('notice');
  n.textContent = text;
  n.className = isError ? 'error' : '';
  n.hidden = !text;
}

// One API call through the gateway (same origin). Answers {status, data, headers}; never throws for
// an HTTP status.
async function api(method, path, { body, headers = {}, bearer = true } = {}) {
  const h = Object.assign({}, headers);
  if (body !== undefined) h['Content-Type'] = 'application/json';
  if (bearer && session.token) h['Authorization'] = 'Bearer ' + session.token;
  const r = await fetch(path, {
    method, headers: h, credentials: 'same-origin', cache: 'no-store',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // The body is read to its end even when unused (a 204): the request is then finished, not left
  // open to be cancelled by the next navigation.
  const text = await r.text();
  let data = null;
  if ((r.headers.get('Content-Type') || '').includes('json')) {
    try { data = JSON.parse(text); } catch (e) { data = null; }
  }
  return { status: r.status, data, headers: r.headers };
}

function problem(r) {
  if (r.data && r.data.message) return r.data.message;
  return 'the request failed (HTTP ' + r.status + ')';
}

// ---- the session
function adopt(tokens) {
  session.token = tokens.access_token;
  session.userId = String(tokens.user_id);
  session.roles = tokens.roles || [];
  try {
    const claims = JSON.parse(atob(tokens.access_token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    session.authority = claims.authority || '';
  } catch (e) { session.authority = ''; }
  localStorage.setItem(SIGNED_IN, '1');
  clearTimeout(session.timer);
  // A fresh access token a minute before this one ends.
  const ms = Math.max(10, (tokens.expires_in || 900) - 60) * 1000;
  session.timer = setTimeout(refresh, ms);
  showSession();
}

function forget() {
  session.token = null; session.userId = null; session.roles = []; session.authority = '';
  clearTimeout(session.timer);
  localStorage.removeItem(SIGNED_IN);
  showSession();
}

async function refresh() {
  const r = await api('POST', '/v1/auth/refresh', { headers: { 'X-Token-Delivery': 'cookie' }, bearer: false });
  if (r.status === 200) { adopt(r.data); return true; }
  forget();
  return false;
}

async function signIn(email, password) {
  const r = await api('POST', '/v1/auth/login', {
    body: { email, password }, headers: { 'X-Token-Delivery': 'cookie' }, bearer: false,
  });
  if (r.status !== 200) { notice('Sign-in refused: ' + problem(r), true); return false; }
  adopt(r.data);
  return true;
}

async function signOut() {
  await api('POST', '/v1/auth/logout', { headers: { 'X-Token-Delivery': 'cookie' }, bearer: false });
  forget();
  notice('Signed out.');
  location.hash = '#/verify';
}

function has(role) { return session.roles.includes(role); }

function showSession() {
  const signedIn = !!session.token;
  $('nav-signin').hidden = signedIn;
  $('nav-register').hidden = signedIn;
  $('signout').hidden = !signedIn;
  $('nav-mine').hidden = !(signedIn && has('citizen'));
  $('nav-clerk').hidden = !(signedIn && (has('clerk') || has('admin')));
  $('who').hidden = !signedIn;
  $('who').textContent = signedIn ? 'Signed in: ' + session.roles.join(', ') + ' #' + session.userId : '';
}

// ---- views
const views = ['verify', 'signin', 'register', 'mine', 'clerk'];

async function route() {
  let name = (location.hash.match(/^#\/(\w+)/) || [])[1] || 'verify';
  if (!views.includes(name)) name = 'verify';
  if ((name === 'mine' || name === 'clerk') && !session.token) name = 'signin';
  for (const v of views) $('view-' + v).hidden = v !== name;
  for (const a of document.querySelectorAll('nav a')) {
    if (a.getAttribute('href') === '#/' + name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.body.dataset.view = name;
  if (name === 'mine') await showMine();
  if (name === 'clerk') await showClerk();
  document.body.dataset.ready = name;
}

function dateOnly(t) { return (t || '').slice(0, 10); }

function licenceFacts(l) {
  const dl = el('dl');
  const add = (k, v) => dl.append(el('dt', null, k), el('dd', null, v));
  add('Type', l.type);
  add('Number', l.number);
  add('Holder', l.holder);
  add('Authority', l.authority);
  add('Valid', dateOnly(l.valid_from) + ' to ' + dateOnly(l.valid_until));
  for (const [k, v] of Object.entries(l.attributes || {})) add(k.replace(/_/g, ' '), typeof v === 'string' ? v : JSON.stringify(v));
  if (l.status === 'revoked') add('Revoked', dateOnly(l.revoked_at) + ': ' + (l.revocation_reason || ''));
  return dl;
}

function card(l) {
  return el('li', { 'data-id': l.id, 'data-number': l.number, 'data-status': l.status },
    el('h4', null, l.type.replace(/_/g, ' ') + ' ' + l.number + ' ',
      el('span', { class: 'status-' + l.status }, l.status)),
    licenceFacts(l));
}

async function listLicences() {
  const r = await api('GET', '/v1/licenses?limit=100');
  if (r.status !== 200) { notice('Could not list licences: ' + problem(r), true); return []; }
  return r.data.licenses || [];
}

let qrUrl = null;

async function showQr(l) {
  const r = await fetch('/v1/licenses/' + encodeURIComponent(l.id) + '/qr.svg', {
    headers: { Authorization: 'Bearer ' + session.token }, cache: 'no-store',
  });
  if (r.status !== 200) { notice('Could not draw the QR code (HTTP ' + r.status + ')', true); return; }
  const blob = await r.blob();
  if (qrUrl) URL.revokeObjectURL(qrUrl);
  // An image from a blob: shown, never run (the SVG's type is image/svg+xml; no script in an <img>).
  qrUrl = URL.createObjectURL(new Blob([blob], { type: 'image/svg+xml' }));
  const img = $('qr-image');
  img.dataset.id = l.id;
  // Once drawn (its height known), the code is brought into view.
  img.addEventListener('load', () => $('qr-panel').scrollIntoView({ block: 'start' }), { once: true });
  img.src = qrUrl;
  $('qr-title').textContent = 'QR code of ' + l.type.replace(/_/g, ' ') + ' ' + l.number;
  $('qr-text').textContent = l.qr;
  $('qr-panel').hidden = false;
}

async function showMine() {
  $('my-id').textContent = session.userId;
  const list = $('mine-list');
  const all = (await listLicences()).filter(l => l.holder === session.userId);
  clear(list);
  for (const l of all) {
    const c = card(l);
    const show = el('button', { type: 'button', class: 'show-qr' }, 'Show QR code');
    show.addEventListener('click', () => showQr(l));
    const verify = el('a', { href: '#/verify', class: 'verify-link' }, 'Verify it');
    verify.addEventListener('click', () => { $('verify-text').value = l.qr; });
    c.append(el('div', { class: 'row' }, show, verify));
    list.append(c);
  }
  $('mine-empty').hidden = all.length > 0;
}

// ---- clerk: the issue form is built from the type's attribute schema
async function loadCatalogue() {
  if (catalogue.length) return;
  const r = await api('GET', '/v1/license-types', { bearer: false });
  if (r.status !== 200) { notice('Could not read the catalogue: ' + problem(r), true); return; }
  catalogue = r.data.types || [];
  const sel = $('issue-type');
  clear(sel);
  for (const t of catalogue) sel.append(el('option', { value: t.code }, t.name));
  buildAttributes();
}

function buildAttributes() {
  const box = $('issue-attributes');
  for (const n of [...box.children]) if (n.tagName !== 'LEGEND') n.remove();
  const type = catalogue.find(t => t.code === $('issue-type').value);
  if (!type) return;
  const schema = type.schema || {};
  const required = new Set(schema.required || []);
  for (const [name, p] of Object.entries(schema.properties || {})) {
    const id = 'attr-' + name;
    const label = el('label', { for: id }, name.replace(/_/g, ' ') + (required.has(name) ? ' *' : ''));
    let input;
    if (Array.isArray(p.enum)) {
      input = el('select', { id });
      if (!required.has(name)) input.append(el('option', { value: '' }, '(none)'));
      for (const v of p.enum) input.append(el('option', { value: v }, v));
    } else if (p.type === 'boolean') {
      input = el('input', { id, type: 'checkbox' });
    } else if (p.type === 'integer') {
      input = el('input', { id, type: 'number', step: 1, min: p.minimum, max: p.maximum });
    } else {
      input = el('input', { id, maxlength: p.maxLength, minlength: p.minLength });
    }
    input.dataset.attribute = name;
    input.dataset.kind = p.type || 'string';
    if (required.has(name) && p.type !== 'boolean') input.required = true;
    box.append(label, input);
  }
}

function attributesFromForm() {
  const out = {};
  for (const input of $('issue-attributes').querySelectorAll('[data-attribute]')) {
    const name = input.dataset.attribute;
    if (input.dataset.kind === 'boolean') { out[name] = input.checked; continue; }
    if (input.value === '') continue;
    out[name] = input.dataset.kind === 'integer' ? Number(input.value) : input.value;
  }
  return out;
}

// 128 random bits as hex (crypto.randomUUID needs a secure context; plain-HTTP hosts are not one).
function randomKey() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), b => b.toString(16).padStart(2, '0')).join('');
}

async function issue() {
  const body = {
    holder: $('issue-holder').value.trim(),
    type: $('issue-type').value,
    number: $('issue-number').value.trim(),
    valid_from: $('issue-from').value + 'T00:00:00Z',
    valid_until: $('issue-until').value + 'T00:00:00Z',
    attributes: attributesFromForm(),
  };
  // One key per filled form: a retried submission answers the same licence.
  const form = $('issue-form');
  if (!form.dataset.key) form.dataset.key = randomKey();
  const r = await api('POST', '/v1/licenses', { body, headers: { 'Idempotency-Key': form.dataset.key } });
  if (r.status !== 201 && r.status !== 200) { notice('Not issued: ' + problem(r), true); return; }
  delete form.dataset.key;
  const p = $('issued');
  p.textContent = 'Issued ' + r.data.type + ' ' + r.data.number + ' (id ' + r.data.id + ').';
  p.dataset.id = r.data.id;
  p.hidden = false;
  notice('');
  await showClerkList();
}

async function revoke(l, reason) {
  // If-Match: the version just read, so a licence changed meanwhile is not revoked blindly.
  const cur = await api('GET', '/v1/licenses/' + encodeURIComponent(l.id));
  if (cur.status !== 200) { notice('Could not read the licence: ' + problem(cur), true); return; }
  const r = await api('POST', '/v1/licenses/' + encodeURIComponent(l.id) + '/revoke', {
    body: { reason }, headers: { 'If-Match': cur.headers.get('ETag') || '' },
  });
  if (r.status !== 200) { notice('Not revoked: ' + problem(r), true); return; }
  notice('Revoked ' + l.number + '.');
  await showClerkList();
}

async function showClerkList() {
  const list = $('clerk-list');
  const all = await listLicences();
  clear(list);
  for (const l of all) {
    const c = card(l);
    if (l.status !== 'revoked') {
      const reason = el('input', { class: 'revoke-reason', 'aria-label': 'Reason for revoking ' + l.number, placeholder: 'reason', maxlength: 500 });
      const btn = el('button', { type: 'button', class: 'danger revoke' }, 'Revoke');
      btn.addEventListener('click', () => {
        if (!reason.value.trim()) { notice('A revocation needs a reason.', true); reason.focus(); return; }
        revoke(l, reason.value.trim());
      });
      c.append(el('div', { class: 'row' }, reason, btn));
    }
    list.append(c);
  }
}

async function showClerk() {
  $('clerk-authority').textContent = session.authority || '(no authority)';
  await loadCatalogue();
  if (!$('issue-from').value) {
    const now = new Date();
    $('issue-from').value = now.toISOString().slice(0, 10);
    now.setUTCFullYear(now.getUTCFullYear() + 10);
    $('issue-until').value = now.toISOString().slice(0, 10);
  }
  await showClerkList();
}

// ---- public verification
async function verify(text) {
  const r = await api('POST', '/v1/licenses/verify', { body: { text }, bearer: false });
  const box = $('verdict');
  const st = $('verdict-status');
  const facts = $('verdict-licence');
  clear(facts);
  if (r.status !== 200) {
    st.textContent = 'unreadable';
    st.className = 'verdict forged';
    $('verdict-reason').textContent = problem(r);
  } else {
    st.textContent = r.data.status;
    st.className = 'verdict ' + r.data.status;
    $('verdict-reason').textContent = r.data.reason || '';
    if (r.data.license) facts.replaceWith(Object.assign(licenceFacts(r.data.license), { id: 'verdict-licence' }));
  }
  box.hidden = false;
  box.dataset.status = st.textContent;
}

// ---- wiring
function wire() {
  $('verify-form').addEventListener('submit', e => { e.preventDefault(); verify($('verify-text').value.trim()); });
  $('signin-form').addEventListener('submit', async e => {
    e.preventDefault();
    if (await signIn($('signin-email').value.trim(), $('signin-password').value)) {
      notice('');
      location.hash = has('clerk') || has('admin') ? '#/clerk' : '#/mine';
    }
  });
  $('register-form').addEventListener('submit', async e => {
    e.preventDefault();
    const email = $('register-email').value.trim(), password = $('register-password').value;
    const r = await api('POST', '/v1/auth/register', {
      body: { email, password, name: $('register-name').value.trim() }, bearer: false,
    });
    if (r.status !== 201) { notice('Registration refused: ' + problem(r), true); return; }
    if (await signIn(email, password)) { notice('Welcome: your account is ready.'); location.hash = '#/mine'; }
  });
  $('signout').addEventListener('click', signOut);
  $('issue-type').addEventListener('change', buildAttributes);
  $('issue-form').addEventListener('submit', e => { e.preventDefault(); issue(); });
  window.addEventListener('hashchange', route);
}

async function start() {
  wire();
  // A page load starts without an access token: the refresh cookie, if there is one, gives one.
  if (localStorage.getItem(SIGNED_IN)) await refresh();
  showSession();
  await route();
}

start();
