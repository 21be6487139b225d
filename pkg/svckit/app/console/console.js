// The svckit admin console: plain JavaScript, no dependencies. It polls GET /debug/console for live
// state and reads the existing admin endpoints (/debug/traces, /debug/registry, /debug/config,
// /debug/log-level) as they are. Everything is built with DOM calls and textContent: no HTML from data.
'use strict';

const POLL_MS = 1500;
const HISTORY = 60;  // points per chart: 90 s at 1.5 s
const SVG = 'http://www.w3.org/2000/svg';

const state = {
  view: 'red',
  token: sessionStorage.getItem('svckit-admin-token') || '',
  csrf: '',
  history: new Map(),  // "kind name" -> {rate: [], err: [], p50: [], p99: []}
  traces: [],
  openTrace: null,
};

function $(id) { return document.getElementById(id); }

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (state.token) headers.Authorization = 'Bearer ' + state.token;
  const res = await fetch(path, Object.assign({}, options, { headers, cache: 'no-store' }));
  if (res.status === 401) {
    $('token-form').classList.remove('hidden');
    throw new Error('the admin token is needed');
  }
  return res;
}

async function apiJson(path) {
  const res = await api(path);
  if (!res.ok) throw new Error(path + ': HTTP ' + res.status);
  return res.json();
}

function setStatus(text, bad) {
  const s = $('status');
  s.textContent = text;
  s.classList.toggle('bad', !!bad);
}

// ---- formatting

function ms(seconds) {
  if (seconds === null || seconds === undefined) return '–';
  const v = seconds * 1000;
  return v < 1 ? v.toFixed(3) + ' ms' : v < 100 ? v.toFixed(1) + ' ms' : Math.round(v) + ' ms';
}
function num(v, digits = 1) { return v === null || v === undefined ? '–' : Number(v).toFixed(digits); }
function bytes(v) {
  if (v === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return v.toFixed(i ? 1 : 0) + ' ' + units[i];
}
function duration(s) {
  if (s === undefined) return '–';
  s = Math.floor(s);
  const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
  return (d ? d + 'd ' : '') + (d || h ? h + 'h ' : '') + m + 'm ' + (s % 60) + 's';
}

// ---- charts: one SVG polyline per series, scaled to the largest value shown

function chart(series, classes, width = 160, height = 36) {
  const s = svg('svg', { class: 'chart', width, height, viewBox: `0 0 ${width} ${height}` });
  let max = 0;
  for (const points of series) for (const v of points) if (v !== null && v > max) max = v;
  if (max === 0) max = 1;
  series.forEach((points, i) => {
    const coords = [];
    const skip = HISTORY - points.length;  // the newest point at the right edge
    points.forEach((v, x) => {
      if (v === null) return;
      const px = ((x + skip) / (HISTORY - 1)) * width;
      const py = height - 2 - (v / max) * (height - 4);
      coords.push(px.toFixed(1) + ',' + py.toFixed(1));
    });
    if (coords.length) s.append(svg('polyline', { class: classes[i], points: coords.join(' ') }));
  });
  return s;
}

function remember(key, f) {
  let h = state.history.get(key);
  if (!h) {
    h = { rate: [], err: [], p50: [], p99: [] };
    state.history.set(key, h);
  }
  const push = (arr, v) => { arr.push(v); while (arr.length > HISTORY) arr.shift(); };
  push(h.rate, f.rate); push(h.err, f.error_rate); push(h.p50, f.p50); push(h.p99, f.p99);
  return h;
}

// ---- the live state

function renderRed(data) {
  $('window').textContent = num(data.window_seconds, 0);
  const rows = $('red-rows');
  rows.replaceChildren();
  if (!data.red.length) {
    rows.append(el('tr', {}, el('td', { colspan: 9, class: 'empty' }, 'no traffic yet')));
    return;
  }
  for (const f of data.red) {
    const key = f.kind + ' ' + f.name;
    const h = remember(key, f);
    rows.append(el('tr', { 'data-route': key },
      el('td', {}, el('code', {}, f.kind === 'grpc' ? 'gRPC ' + f.name : f.name)),
      el('td', { class: 'num' }, num(f.rate, 2)),
      el('td', { class: 'num' }, num(f.error_rate, 2)),
      el('td', { class: 'num' }, ms(f.p50)),
      el('td', { class: 'num' }, ms(f.p99)),
      el('td', { class: 'num' }, num(f.total, 0)),
      el('td', {}, chart([h.rate], ['line-rate'])),
      el('td', {}, chart([h.err], ['line-err'])),
      el('td', {}, chart([h.p50, h.p99], ['line-p50', 'line-p99']))));
  }
}

function kv(target, pairs) {
  target.replaceChildren();
  for (const [k, v] of pairs) target.append(el('span', { class: 'k' }, k), el('span', {}, v));
}

function renderRuntime(data) {
  const r = data.runtime || {};
  kv($('runtime'), [
    ['uptime', duration(r.uptime_seconds)],
    ['version', data.version],
    ['build', data.build],
    ['resident memory (RSS)', bytes(r.rss_bytes)],
    ['open file descriptors', `${r.open_fds ?? '–'} of ${r.max_fds ?? '–'}`],
    ['threads', r.threads ?? '–'],
    ['CPU time', num(r.cpu_seconds, 2) + ' s'],
    ['event-loop lag (worst loop)', ms(r.loop_lag_seconds)],
    ['event loops', (r.loops || []).map(l => `#${l.loop}: ${ms(l.lag_seconds)}`).join(', ') || '–'],
    ['blocking pool queue', `${r.blocking_queue ?? '–'} waiting (capacity ${r.blocking_queue_capacity ?? '–'}, ` +
      `${r.blocking_threads ?? '–'} threads)`],
  ]);
}

function renderResilience(data) {
  const res = data.resilience || {};
  const b = $('breakers');
  b.replaceChildren();
  for (const br of res.breakers || [])
    b.append(el('tr', {}, el('td', {}, br.name), el('td', { class: 'state-' + br.state }, br.state)));
  if (!b.children.length) b.append(el('tr', {}, el('td', { colspan: 2, class: 'empty' }, 'no circuit breaker yet')));
  const l = $('limiters');
  l.replaceChildren();
  for (const x of res.limiters || []) {
    const st = x.kind === 'bulkhead' ? `${x.in_flight} in flight of ${x.limit}`
      : `${num(x.available, 1)} of ${num(x.burst, 0)} tokens available, refilled at ${num(x.rate, 1)}/s`;
    l.append(el('tr', {}, el('td', {}, x.name), el('td', {}, x.kind), el('td', {}, st)));
  }
  if (!l.children.length)
    l.append(el('tr', {}, el('td', { colspan: 3, class: 'empty' }, 'no service-wide limiter (resilience.rate_limit, max_in_flight)')));
  const r = $('refused');
  r.replaceChildren();
  for (const x of res.refused || []) r.append(el('tr', {}, el('td', {}, x.by), el('td', { class: 'num' }, num(x.count, 0))));
  if (!r.children.length) r.append(el('tr', {}, el('td', { colspan: 2, class: 'empty' }, 'nothing refused')));
  if (res.shedder)
    kv($('shedder'), [['CPU (smoothed)', (res.shedder.cpu * 100).toFixed(1) + ' %'],
      ['in flight', res.shedder.in_flight], ['dropped', res.shedder.dropped]]);
  else kv($('shedder'), [['shedding', 'off (resilience.shed)']]);
  $('level-now').textContent = data.log_level;
}

async function pollState() {
  try {
    const data = await apiJson('/debug/console');
    $('service').textContent = data.service;
    $('version').textContent = data.version;
    document.title = data.service + ' · svckit admin';
    renderRed(data);
    renderRuntime(data);
    renderResilience(data);
    setStatus('live · ' + new Date().toLocaleTimeString());
  } catch (e) {
    setStatus(String(e.message || e), true);
  }
}

// ---- traces: OTLP/JSON from /debug/traces, grouped by trace

function attrValue(v) {
  if (!v) return '';
  if ('stringValue' in v) return v.stringValue;
  if ('intValue' in v) return String(v.intValue);
  if ('doubleValue' in v) return String(v.doubleValue);
  if ('boolValue' in v) return String(v.boolValue);
  return JSON.stringify(v);
}

function groupTraces(doc) {
  const byId = new Map();
  for (const rs of doc.resourceSpans || [])
    for (const ss of rs.scopeSpans || [])
      for (const s of ss.spans || []) {
        const span = {
          id: s.spanId, parent: s.parentSpanId || '', name: s.name,
          start: Number(BigInt(s.startTimeUnixNano) / 1000n), end: Number(BigInt(s.endTimeUnixNano) / 1000n),  // µs
          error: (s.status && s.status.code === 2), message: s.status && s.status.message,
          attrs: (s.attributes || []).map(a => [a.key, attrValue(a.value)]),
        };
        if (!byId.has(s.traceId)) byId.set(s.traceId, []);
        byId.get(s.traceId).push(span);
      }
  const traces = [];
  for (const [id, spans] of byId) {
    const ids = new Set(spans.map(s => s.id));
    const roots = spans.filter(s => !ids.has(s.parent));
    const start = Math.min(...spans.map(s => s.start)), end = Math.max(...spans.map(s => s.end));
    roots.sort((a, b) => a.start - b.start);
    traces.push({ id, spans, root: roots[0], start, end, failed: spans.some(s => s.error) });
  }
  traces.sort((a, b) => b.start - a.start);
  return traces;
}

function renderTraceList() {
  const minMs = Number($('min-ms').value) || 0;
  const failedOnly = $('failed-only').checked;
  const shown = state.traces.filter(t => (t.end - t.start) / 1000 >= minMs && (!failedOnly || t.failed));
  $('trace-count').textContent = `${shown.length} of ${state.traces.length} recent traces`;
  const rows = $('trace-rows');
  rows.replaceChildren();
  for (const t of shown.slice(0, 200)) {
    const tr = el('tr', { class: 'trace-row' + (t.failed ? ' failed' : ''), 'data-trace-id': t.id,
      'data-span-count': t.spans.length },
      el('td', {}, new Date(t.start / 1000).toLocaleTimeString()),
      el('td', {}, t.root.name),
      el('td', { class: 'num' }, t.spans.length),
      el('td', { class: 'num' }, ms((t.end - t.start) / 1e6)),
      el('td', { class: 'st' }, t.failed ? 'error' : 'ok'),
      el('td', {}, el('code', {}, t.id.slice(0, 16) + '…')));
    tr.addEventListener('click', () => openTrace(t));
    rows.append(tr);
  }
  if (!shown.length) rows.append(el('tr', {}, el('td', { colspan: 6, class: 'empty' }, 'no trace matches')));
}

async function pollTraces() {
  if (state.view !== 'traces') return;
  try {
    state.traces = groupTraces(await apiJson('/debug/traces'));
    renderTraceList();
  } catch (e) {
    setStatus(String(e.message || e), true);
  }
}

// Time covered by the children inside the parent's interval (overlaps counted once).
function childCover(span, children) {
  const iv = children.map(c => [Math.max(c.start, span.start), Math.min(c.end, span.end)]).filter(([a, b]) => b > a);
  iv.sort((a, b) => a[0] - b[0]);
  let covered = 0, curA = -1, curB = -1;
  for (const [a, b] of iv) {
    if (a > curB) { covered += curB - curA; curA = a; curB = b; } else curB = Math.max(curB, b);
  }
  covered += curB - curA;
  return covered;
}

function openTrace(t) {
  state.openTrace = t;
  $('waterfall').classList.remove('hidden');
  $('wf-id').textContent = t.id;
  const children = new Map();
  for (const s of t.spans) {
    if (!children.has(s.parent)) children.set(s.parent, []);
    children.get(s.parent).push(s);
  }
  const ids = new Set(t.spans.map(s => s.id));
  const ordered = [];
  const walk = (s, depth) => {
    ordered.push([s, depth]);
    for (const c of (children.get(s.id) || []).sort((a, b) => a.start - b.start)) walk(c, depth + 1);
  };
  for (const r of t.spans.filter(s => !ids.has(s.parent)).sort((a, b) => a.start - b.start)) walk(r, 0);
  const total = Math.max(1, t.end - t.start);
  const rows = $('wf-rows');
  rows.replaceChildren();
  for (const [s, depth] of ordered) {
    const dur = s.end - s.start;
    const self = dur - childCover(s, children.get(s.id) || []);
    const bar = svg('svg', { class: 'bar', viewBox: '0 0 1000 14', preserveAspectRatio: 'none' });
    bar.append(svg('rect', { class: s.error ? 'span-error' : 'span-ok', x: ((s.start - t.start) / total * 1000).toFixed(1),
      y: 2, height: 10, width: Math.max(2, dur / total * 1000).toFixed(1) }));
    const name = el('td', { class: 'wf-name' }, '\u00a0'.repeat(depth * 3) + s.name);
    const tr = el('tr', { class: 'wf-span', 'data-span-id': s.id }, name,
      el('td', { class: 'num' }, ms(dur / 1e6)),
      el('td', { class: 'num wf-self' }, ms(self / 1e6)),
      el('td', { class: 'st' }, s.error ? 'error' + (s.message ? ': ' + s.message : '') : 'ok'),
      el('td', {}, bar));
    if (s.error) tr.classList.add('failed');
    const detail = el('tr', { class: 'attrs hidden' }, el('td', { colspan: 5 },
      s.attrs.map(([k, v]) => k + ' = ' + v).join('\n') || '(no attributes)'));
    tr.addEventListener('click', () => detail.classList.toggle('hidden'));
    rows.append(tr, detail);
  }
}

// ---- config and log level

async function loadConfig() {
  try {
    const res = await api('/debug/config');
    $('config').textContent = await res.text();
  } catch (e) {
    $('config').textContent = String(e.message || e);
  }
}

async function csrfToken() {
  if (!state.csrf) state.csrf = (await apiJson('/debug/csrf')).token;
  return state.csrf;
}

async function setLevel(event) {
  event.preventDefault();
  const level = $('level').value;
  try {
    const res = await api('/debug/log-level', {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': await csrfToken() },
      body: JSON.stringify({ level }),
    });
    const body = await res.json();
    if (!res.ok) throw new Error(body.message || 'HTTP ' + res.status);
    $('level-now').textContent = body.level;
    $('level-result').textContent = 'now ' + body.level;
  } catch (e) {
    state.csrf = '';
    $('level-result').textContent = 'refused: ' + (e.message || e);
  }
}

// ---- views

function show(view) {
  state.view = view;
  for (const b of document.querySelectorAll('nav button')) b.classList.toggle('active', b.dataset.view === view);
  for (const s of document.querySelectorAll('section.view')) s.classList.toggle('hidden', s.id !== 'view-' + view);
  if (view === 'traces') pollTraces();
  if (view === 'runtime') loadConfig();
  if (view === 'resilience') loadInstances();
  if (view === 'logs') api('/debug/log-level').then(r => r.json()).then(b => { $('level').value = b.level; }).catch(() => {});
}

async function loadInstances() {
  const box = $('instances');
  try {
    const reg = await apiJson('/debug/registry');
    box.replaceChildren();
    const client = reg.client || {};
    const table = el('table', {}, el('thead', {}, el('tr', {}, ...['service', 'instance', 'address', 'health', 'ejected']
      .map(h => el('th', {}, h)))));
    const body = el('tbody');
    for (const [name, list] of Object.entries(reg.services || {})) {
      const followed = client[name] || { instances: [], unhealthy: [] };
      for (const inst of list) {
        const c = (followed.instances || []).find(x => x.id === inst.id);
        const down = (followed.unhealthy || []).includes(inst.id);
        const health = down ? 'unhealthy (active checks)' : c && c.health ? (c.health.healthy ? 'healthy' : 'unhealthy')
          : c ? 'in rotation' : client[name] ? 'not in rotation' : 'not called by this process';
        body.append(el('tr', {}, el('td', {}, name), el('td', {}, inst.id || ''),
          el('td', {}, (inst.endpoints || []).join(' ')), el('td', {}, health),
          el('td', {}, c && c.ejected ? 'ejected' : 'no')));
      }
    }
    if (!body.children.length) body.append(el('tr', {}, el('td', { colspan: 5, class: 'empty' },
      `no instance in the ${reg.backend || ''} registry`)));
    table.append(body);
    box.append(el('p', { class: 'hint' }, `registry: ${reg.backend}; this instance ${reg.registered ? 'is' : 'is not'} registered`), table);
  } catch (e) {
    box.textContent = String(e.message || e);
  }
}

function start() {
  for (const b of document.querySelectorAll('nav button')) b.addEventListener('click', () => show(b.dataset.view));
  $('min-ms').addEventListener('input', renderTraceList);
  $('failed-only').addEventListener('change', renderTraceList);
  $('wf-close').addEventListener('click', () => { state.openTrace = null; $('waterfall').classList.add('hidden'); });
  $('level-form').addEventListener('submit', setLevel);
  $('token-form').addEventListener('submit', e => {
    e.preventDefault();
    state.token = $('token').value.trim();
    sessionStorage.setItem('svckit-admin-token', state.token);
    $('token-form').classList.add('hidden');
    pollState();
  });
  pollState();
  setInterval(pollState, POLL_MS);
  setInterval(pollTraces, 3000);
  setInterval(() => { if (state.view === 'resilience') loadInstances(); }, 5000);
}

document.addEventListener('DOMContentLoaded', start);
