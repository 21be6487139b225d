// A small harness for browser tests: Debian's Chromium driven headless by playwright-core (npm,
// cached by tests/browser/npm_tools.sh; no browser download). It collects console errors and page
// errors, saves named screenshots, counts checks and prints the closing "N passed, N failed" line.
//
//   import { open } from '../browser/harness.mjs';
//   const t = await open({ outDir: 'screenshots' });
//   await t.page.goto(url);
//   t.check(await t.page.title() === 'x', 'title is x');
//   await t.screenshot('home');
//   await t.finish();                      // fails on console errors too; exits non-zero on a failure
//
// Environment: SVCKIT_BROWSER_MODULES (the folder npm_tools.sh prints), CHROMIUM (/usr/bin/chromium).
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

export async function open({ outDir = 'screenshots', viewport = { width: 1280, height: 800 } } = {}) {
  const modules = process.env.SVCKIT_BROWSER_MODULES;
  if (!modules) throw new Error('SVCKIT_BROWSER_MODULES is not set: run tests/browser/npm_tools.sh');
  const { chromium } = createRequire(path.join(modules, 'node_modules', 'x.js'))('playwright-core');
  // --no-sandbox: the tests run as root; headless needs no display.
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const errors = [];
  page.on('console', m => { if (m.type() === 'error') errors.push('console: ' + m.text()); });
  page.on('pageerror', e => errors.push('pageerror: ' + String(e)));
  page.on('requestfailed', r => errors.push('request failed: ' + r.url() + ' ' + (r.failure()?.errorText || '')));
  fs.mkdirSync(outDir, { recursive: true });
  let passed = 0, failed = 0;
  const t = {
    browser, context, page, errors,
    check(ok, what) {
      if (ok) { passed++; console.log('ok   ' + what); } else { failed++; console.log('FAIL ' + what); }
      return ok;
    },
    // Polls fn (async) until it returns a truthy value or timeoutMs passes; returns the last value.
    async until(fn, timeoutMs = 15000, stepMs = 250) {
      const end = Date.now() + timeoutMs;
      let v;
      while (!(v = await fn().catch(() => undefined)) && Date.now() < end) await new Promise(r => setTimeout(r, stepMs));
      return v;
    },
    async screenshot(name) {
      const file = path.resolve(outDir, name + '.png');
      await page.screenshot({ path: file, fullPage: false });
      console.log('screenshot ' + file);
      return file;
    },
    async finish() {
      t.check(errors.length === 0, `no console or page errors (${errors.length})` + (errors.length ? ':\n  ' + errors.join('\n  ') : ''));
      await browser.close();
      console.log(`browser: ${passed + failed} checks`);
      console.log(`${passed} passed, ${failed} failed`);
      process.exitCode = failed ? 1 : 0;
    },
  };
  return t;
}
