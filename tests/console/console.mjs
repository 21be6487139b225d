// The admin console in headless Chromium against a running console-demo under load (console_test.sh):
// each view shows live data, a trace opens into a waterfall with as many spans as the JSON endpoint
// has, the log level changes from the page (the service's output then has debug lines).
// usage: node console.mjs ADMIN_URL SERVICE_LOG OUT_DIR
import fs from 'node:fs';
import { open } from '../browser/harness.mjs';

const [admin, serviceLog, outDir] = process.argv.slice(2);
const t = await open({ outDir });
const { page } = t;
const debugLines = () => fs.readFileSync(serviceLog, 'utf8').split('\n')
  .filter(l => l.includes('"level":"debug"') && l.includes('"msg":"order priced"')).length;

await page.goto(admin + '/');
t.check(await t.until(async () => (await page.textContent('#status')).startsWith('live')), 'the page polls /debug/console');
t.check(await page.textContent('#service') === 'console-demo', 'the service name is shown');

// RED: the order route's charts get drawn points, with a non-zero rate.
const drawn = await t.until(async () => {
  const row = page.locator('tr[data-route="http GET /orders/:id"]');
  if (await row.count() !== 1) return false;
  const points = await row.locator('polyline.line-rate').getAttribute('points');
  const ys = (points || '').split(' ').filter(Boolean).map(p => Number(p.split(',')[1]));
  const rate = Number(await row.locator('td').nth(1).textContent());
  return ys.length >= 16 && Math.min(...ys) < 30 && rate > 0 ? { points: ys.length, rate } : false;
}, 45000);
t.check(drawn, `RED chart of GET /orders/:id has drawn data (${JSON.stringify(drawn)})`);
const latency = await page.locator('tr[data-route="http GET /orders/:id"] polyline.line-p99').count();
t.check(latency === 1, 'a p99 latency line is drawn');
t.check(await page.locator('tr[data-route="http GET /fail"]').count() === 1, 'the failing route has its row');
await t.screenshot('red');

// Traces: the list, its filters, and a waterfall whose span count matches /debug/traces.
await page.click('nav button[data-view="traces"]');
t.check(await t.until(async () => await page.locator('tr.trace-row').count() > 5), 'recent traces are listed');
await page.check('#failed-only');
const failedRows = await page.locator('tr.trace-row').count();
const failedMarked = await page.locator('tr.trace-row.failed').count();
t.check(failedRows > 0 && failedRows === failedMarked, `"failed only" keeps only failed traces (${failedRows})`);
await page.uncheck('#failed-only');
await page.fill('#min-ms', '5');
const durations = await page.locator('tr.trace-row td:nth-child(4)').allTextContents();
t.check(durations.length > 0 && durations.every(d => parseFloat(d) >= 5), `"slower than 5 ms" keeps only slow traces (${durations.length})`);
await page.fill('#min-ms', '0');
const row = page.locator('tr.trace-row', { hasText: 'GET /orders/:id' }).filter({ hasNotText: 'error' }).first();
const traceId = await row.getAttribute('data-trace-id');
const listed = Number(await row.getAttribute('data-span-count'));
await page.locator(`tr.trace-row[data-trace-id="${traceId}"]`).click();
await page.waitForSelector('#waterfall:not(.hidden)');
t.check(await page.textContent('#wf-id') === traceId, 'the waterfall is of the trace clicked');
const shown = await page.locator('#wf-rows tr.wf-span').count();
const fromJson = await page.evaluate(async id => {
  const doc = await (await fetch('/debug/traces?trace_id=' + id)).json();
  let n = 0;
  for (const rs of doc.resourceSpans) for (const ss of rs.scopeSpans) n += ss.spans.length;
  return n;
}, traceId);
t.check(shown >= 4 && shown === fromJson && shown === listed,
  `the waterfall of ${traceId} has the trace's ${fromJson} spans (shown ${shown}, listed ${listed})`);
const names = await page.locator('#wf-rows tr.wf-span td.wf-name').allTextContents();
t.check(['order.load', 'db.query', 'order.price'].every(n => names.some(x => x.trim() === n)), 'spans are named: ' + names.map(n => n.trim()).join(', '));
const bars = await page.locator('#wf-rows svg.bar rect').count();
t.check(bars === shown, 'each span has its bar');
// Self time: the root's is its duration minus its children's, so strictly less than its duration.
const rootCells = await page.locator('#wf-rows tr.wf-span').first().locator('td').allTextContents();
t.check(parseFloat(rootCells[2]) < parseFloat(rootCells[1]), `root self time ${rootCells[2]} < duration ${rootCells[1]}`);
await page.locator('#wf-rows tr.wf-span', { hasText: 'db.query' }).click();
t.check(await page.locator('#wf-rows tr.attrs:not(.hidden)', { hasText: 'db.statement' }).count() === 1,
  'a span opens to its attributes');
await t.screenshot('traces');

// Resilience: the breaker around the flaky dependency, refusals, the shedder; instances.
await page.click('nav button[data-view="resilience"]');
t.check(await t.until(async () => (await page.textContent('#breakers')).includes('inventory')), 'the inventory breaker is listed');
const state = await page.locator('#breakers td', { hasText: /^(closed|open|half-open)$/ }).count();
t.check(state >= 1, 'with its state');
t.check(await t.until(async () => (await page.textContent('#refused')).includes('route_limit')),
  "the route limiter's refusals of /hello are counted");
t.check((await page.textContent('#shedder')).includes('in flight'), 'the shedder shows its live state');
const limiters = await page.textContent('#limiters');
t.check(/tokens available/.test(limiters) && /in flight of 500/.test(limiters), 'the token bucket and the bulkhead show their state');
t.check(await t.until(async () => (await page.textContent('#instances')).includes('registry')), 'instances: the registry is shown');
await t.screenshot('resilience');

// Runtime and config.
await page.click('nav button[data-view="runtime"]');
t.check(await t.until(async () => (await page.textContent('#config')).includes('admin.port')), 'the config is shown');
const cfg = await page.textContent('#config');
t.check(cfg.includes('# ') && !cfg.includes('s3cret-demo-value'), 'config keys carry their sources, secrets redacted');
const runtime = await page.textContent('#runtime');
t.check(/MiB/.test(runtime) && runtime.includes('event-loop lag') && runtime.includes('0.3.0'), 'runtime: RSS, loop lag, version');
await t.screenshot('runtime');

// Log level: from info to debug in the page; the service's output then has debug lines.
await page.click('nav button[data-view="logs"]');
t.check(await page.textContent('#level-now') === 'info', 'the page reads the level: info');
const before = debugLines();
t.check(before === 0, `no debug line at info (${before})`);
await page.selectOption('#level', 'debug');
await page.click('#level-form button[type="submit"]');
t.check(await t.until(async () => (await page.textContent('#level-result')) === 'now debug'), 'the page changed the level');
const after = await t.until(async () => debugLines() > 0 && debugLines(), 15000);
t.check(after > 0, `debug lines in the service's output after the change (${after})`);
const level = await page.evaluate(async () => (await (await fetch('/debug/log-level')).json()).level);
t.check(level === 'debug', 'GET /debug/log-level says debug');
await t.screenshot('logs');

await t.finish();
