// The web portal in headless Chromium, through the gateway (portal_test.sh starts the platform):
// a citizen registers and signs in; the bootstrap clerk issues her a licence from the catalogue's form
// (an attribute holding a script tag) and revokes another with a reason; she sees both, shows the
// valid one's QR code, which zbarimg reads from Chromium's screenshot; the public verify page says
// valid for that text, forged for a tampered one and revoked for the revoked one. No console error, no
// dialog, the script tag shown as text, no token readable by script.
// usage: node portal.mjs GATEWAY_URL CLERK_PASSWORD OUT_DIR
import { execFileSync } from 'node:child_process';
import { open } from '../browser/harness.mjs';

const [gw, clerkPassword, outDir] = process.argv.slice(2);
const t = await open({ outDir });
const { page } = t;
const dialogs = [];
page.on('dialog', d => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
const xss = '<script>alert(1)</script>';
const email = `ann.${Date.now()}@example.com`, password = 'correct-horse-battery-staple';
const ready = name => page.waitForFunction(n => document.body.dataset.ready === n, name, { timeout: 15000 });

async function signIn(who, pw) {
  await page.goto(gw + '/#/signin');
  await ready('signin');
  await page.fill('#signin-email', who);
  await page.fill('#signin-password', pw);
  await page.click('#signin-form button[type=submit]');
}
async function signOut() {
  await page.click('#signout');
  await page.waitForSelector('#nav-signin:not([hidden])');
}

// The page's headers: the policy that keeps inline script out.
const first = await page.goto(gw + '/');
const csp = first.headers()['content-security-policy'] || '';
t.check(csp.includes("default-src 'none'") && csp.includes("script-src 'self'") && !csp.includes('unsafe-inline'),
  `CSP without unsafe-inline: ${csp}`);
t.check(csp.includes("frame-ancestors 'none'"), 'no framing');
t.check(first.headers()['x-content-type-options'] === 'nosniff', 'nosniff');
await ready('verify');
await t.screenshot('01-verify-empty');

// ---- the citizen registers (and is signed in)
await page.goto(gw + '/#/register');
await ready('register');
await page.fill('#register-name', 'Ann Citizen');
await page.fill('#register-email', email);
await page.fill('#register-password', password);
await page.click('#register-form button[type=submit]');
await ready('mine');
const citizenId = (await page.textContent('#my-id')).trim();
t.check(/^[0-9]+$/.test(citizenId), `the citizen sees her number (${citizenId})`);
t.check(await page.isVisible('#mine-empty'), 'no licences yet');
// The tokens: the refresh token is HttpOnly (not in document.cookie), nothing token-like is stored.
const stored = await page.evaluate(() => [document.cookie, JSON.stringify(localStorage), JSON.stringify(sessionStorage)].join(' '));
t.check(!stored.includes('svckit_refresh') && !/eyJ[\w-]+\.eyJ/.test(stored), `no token readable from storage or cookies: ${stored}`);
const cookies = await t.context.cookies(gw + '/v1/auth/refresh');  // the cookie's path only
const rc = cookies.find(c => c.name === 'svckit_refresh');
t.check(rc && rc.httpOnly && rc.sameSite === 'Strict' && rc.path === '/v1/auth', `the refresh cookie: ${JSON.stringify(rc)}`);
// A reload keeps the session: the access token comes back from the refresh cookie.
await page.reload();
await ready('mine');
t.check((await page.textContent('#my-id')).trim() === citizenId, 'signed in again after a reload (refresh cookie)');
await t.screenshot('02-citizen-registered');
await signOut();

// ---- the clerk issues two licences from the catalogue's form and revokes one
await signIn('clerk@gov.example', clerkPassword);
await ready('clerk');
t.check((await page.textContent('#clerk-authority')).includes('Demo Market Supervision Bureau'), 'the clerk sees her authority');
const types = await page.$$eval('#issue-type option', os => os.map(o => o.value));
t.check(types.includes('driving_licence') && types.length >= 3, `the catalogue's types are offered: ${types}`);
await page.selectOption('#issue-type', 'business_licence');
t.check(await page.locator('#attr-registered_capital_cny[type=number]').count() === 1 &&
  await page.locator('#attr-company_type option').count() === 5, 'the business form follows its schema (an integer, an enum)');
await page.selectOption('#issue-type', 'driving_licence');
const classes = await page.$$eval('#attr-class option', os => os.map(o => o.value));
t.check(classes.includes('C1') && classes.includes('A1') && await page.locator('#attr-organ_donor[type=checkbox]').count() === 1,
  `the driving licence form follows its schema: class ${classes}`);
const stamp = Date.now().toString(36).toUpperCase();
async function issue(number, name) {
  await page.fill('#issue-holder', citizenId);
  await page.fill('#issue-number', number);
  await page.fill('#attr-name', name);
  await page.selectOption('#attr-class', 'C1');
  await page.click('#issue-form button[type=submit]');
  await page.waitForFunction(n => (document.getElementById('issued').textContent || '').includes(n), number, { timeout: 15000 });
  return page.getAttribute('#issued', 'data-id');
}
const goodNumber = 'DL-' + stamp + '-1', badNumber = 'DL-' + stamp + '-2';
const goodId = await issue(goodNumber, xss);
const badId = await issue(badNumber, 'Ann Citizen');
t.check(goodId && badId && goodId !== badId, `two licences issued (${goodId}, ${badId})`);
const issuedCard = page.locator(`#clerk-list li[data-id="${goodId}"]`);
await issuedCard.waitFor();
t.check((await issuedCard.textContent()).includes(xss), 'the script tag in the attribute is shown as text');
await page.fill(`#clerk-list li[data-id="${badId}"] .revoke-reason`, 'reported stolen by the holder');
await page.click(`#clerk-list li[data-id="${badId}"] button.revoke`);
await page.waitForSelector(`#clerk-list li[data-id="${badId}"][data-status="revoked"]`);
t.check((await page.textContent(`#clerk-list li[data-id="${badId}"]`)).includes('reported stolen by the holder'),
  'the revoked licence shows its reason');
await t.screenshot('03-clerk-issued-and-revoked');
await signOut();

// ---- the citizen sees both and shows the valid one as a QR code
await signIn(email, password);
await ready('mine');
await page.waitForSelector(`#mine-list li[data-id="${goodId}"]`);
t.check(await page.locator('#mine-list li').count() === 2, 'the citizen sees her two licences');
t.check(await page.getAttribute(`#mine-list li[data-id="${badId}"]`, 'data-status') === 'revoked', 'one of them revoked');
await page.click(`#mine-list li[data-id="${goodId}"] button.show-qr`);
await page.waitForFunction(id => {
  const img = document.getElementById('qr-image');
  return img.dataset.id === id && img.complete && img.naturalWidth > 0;
}, goodId, { timeout: 15000 });
const shownText = (await page.textContent('#qr-text')).trim();
await t.screenshot('04-citizen-qr');
const qrPng = outDir + '/05-qr-code.png';
await page.locator('#qr-image').screenshot({ path: qrPng });
// stderr aside: zbarimg may complain there about a missing D-Bus.
const decoded = execFileSync('zbarimg', ['--quiet', '--raw', qrPng], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
t.check(decoded.startsWith('SVCL1.') && decoded === shownText, `the QR code decodes to the licence's text (${decoded.slice(0, 40)}...)`);
const revokedText = await page.evaluate(async id => {
  // The revoked licence's text as the citizen's own list has it (through the API, bearer in memory).
  const btn = document.querySelector(`#mine-list li[data-id="${id}"] button.show-qr`);
  btn.click();
  for (let i = 0; i < 100 && document.getElementById('qr-image').dataset.id !== id; i++) await new Promise(r => setTimeout(r, 50));
  return document.getElementById('qr-text').textContent;
}, badId);

// ---- the public verify page, signed out: valid, forged (tampered), revoked
await signOut();
async function verify(text) {
  await page.goto(gw + '/#/verify');
  await ready('verify');
  await page.fill('#verify-text', text);
  await page.click('#verify-form button[type=submit]');
  await page.waitForSelector('#verdict:not([hidden])');
  const status = await page.getAttribute('#verdict', 'data-status');
  const reason = await page.textContent('#verdict-reason');
  await page.evaluate(() => { document.getElementById('verdict').hidden = true; });
  return { status, reason };
}
let v = await verify(decoded);
t.check(v.status === 'valid', `the decoded text verifies valid (${JSON.stringify(v)})`);
await page.evaluate(() => { document.getElementById('verdict').hidden = false; });
t.check((await page.textContent('#verdict-licence')).includes(xss), 'the verdict shows the attribute as text');
await t.screenshot('06-verify-valid');
// Tampered: the signed document's class changed, the signature kept.
const [prefix, payload, sig] = decoded.split('.');
const doc = Buffer.from(payload, 'base64url').toString('utf8');
const forgedDoc = doc.replace('"class":"C1"', '"class":"A1"');
t.check(forgedDoc !== doc, 'the document was changed for the forgery');
v = await verify([prefix, Buffer.from(forgedDoc, 'utf8').toString('base64url'), sig].join('.'));
t.check(v.status === 'forged' && v.reason.length > 0, `a tampered text is forged (${JSON.stringify(v)})`);
await page.evaluate(() => { document.getElementById('verdict').hidden = false; });
await t.screenshot('07-verify-forged');
v = await verify(revokedText.trim());
t.check(v.status === 'revoked' && v.reason.length > 0, `the revoked licence's text is revoked (${JSON.stringify(v)})`);
await page.evaluate(() => { document.getElementById('verdict').hidden = false; });
await t.screenshot('08-verify-revoked');

// ---- the XSS attempt stayed inert everywhere
t.check(dialogs.length === 0, `no dialog opened (${dialogs.join(', ')})`);
t.check(await page.evaluate(() => document.scripts.length) === 1, 'the page has its one script only');
await t.finish();
