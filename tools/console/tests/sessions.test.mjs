// Console sessions (CONTRACT.md "Session API"): one-time links, the sign-in form, sign-out,
// the CSRF rules for cookie-authenticated requests, sessions ended by a suspended tenant or a
// revoked key, and the CSP on every /console response.
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

import {
  CONSOLE,
  CONSOLE_HEADERS,
  ORIGIN,
  SANDBOX,
  TPGATE_BIN,
  admin,
  adminOk,
  assert,
  consoleLogin,
  launch,
  linkCode,
  newContext,
  open,
  openSession,
  pageSession,
  request,
  screenshots,
  settle,
  uniqueName,
  watch,
  withCookie,
} from './helpers.mjs';
import { N } from './names.mjs';

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const norm = (csp) =>
  (csp ?? '')
    .split(';')
    .map((d) => d.trim().replace(/\s+/g, ' '))
    .filter(Boolean)
    .sort()
    .join('; ');

/** @type {import('playwright-core').Browser} */
let browser;

/**
 * A fresh context on the sign-in page (the boot's GET /console/api/session answers 401 there).
 */
async function signInPage(label) {
  const ctx = await newContext(browser);
  const page = await ctx.newPage();
  const w = watch(page, { label, consoleErrors: false });
  w.expect('GET', '/console/api/session', 401);
  await page.goto(`${CONSOLE}#/sign-in`);
  await settle(page);
  return { ctx, page, w };
}

/** Pastes a credential into the sign-in form and submits it. */
async function submitToken(page, token) {
  await page.getByRole('textbox', { name: N.credentialField }).fill(token);
  await page.getByRole('button', { name: N.signInButton }).click();
  await settle(page);
}

describe('console sessions', { concurrency: false }, () => {
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  it('serves /console with the contract\'s Content-Security-Policy', async () => {
    for (const p of ['', 'index.html', 'app.js', 'style.css', 'api/session']) {
      const r = await request('GET', `${CONSOLE}${p}`, { headers: { 'x-tpgate-console': '1' } });
      assert.ok([200, 401].includes(r.status), `GET /console/${p}: HTTP ${r.status}`);
      assert.equal(norm(r.headers.get('content-security-policy')), norm(CSP), `CSP of /console/${p}`);
    }
    const html = await request('GET', CONSOLE);
    assert.match(html.headers.get('content-type') ?? '', /text\/html/);
    assert.doesNotMatch(html.text, /<script(?![^>]*\bsrc=)[^>]*>/i, 'inline <script> in index.html');
    assert.doesNotMatch(html.text, /\son[a-z]+=|\sstyle=/i, 'on*= or style= attribute in index.html');
  });

  it('a one-time link works once, and sets an HttpOnly SameSite=Strict cookie', async () => {
    const link = await consoleLogin({ role: 'platform_admin', subject: 'sessions-once' });
    const first = await openSession({ code: linkCode(link) });
    assert.equal(first.status, 200, first.text);
    assert.equal(first.session.role, 'platform_admin');
    assert.equal(first.session.via, 'link');
    assert.ok(first.cookie, `no tpgate_console cookie: ${first.setCookie}`);
    assert.match(first.setCookie, /;\s*HttpOnly/i);
    assert.match(first.setCookie, /;\s*SameSite=Strict/i);
    assert.match(first.setCookie, /;\s*Path=\//i);
    const again = await openSession({ code: linkCode(link) });
    assert.equal(again.status, 401, `the same link again: HTTP ${again.status} ${again.text}`);
    assert.equal(again.cookie, undefined);

    // In a browser: the used link lands on the sign-in form with an error, and the code leaves the address bar.
    const ctx = await newContext(browser);
    const page = await ctx.newPage();
    const w = watch(page, { label: 'used link', consoleErrors: false });
    w.expect('POST', '/console/api/session', 401, 1);
    try {
      await page.goto(link);
      await page.getByRole('button', { name: N.signInButton }).waitFor();
      await settle(page);
      assert.equal(new URL(page.url()).hash, '#/sign-in');
      assert.ok(await page.getByRole('alert').count(), 'no error shown for a used link');
      await screenshots(page, 'signed-out--sign-in-used-link');
      w.assertClean('a used link');
    } finally {
      await ctx.close();
    }
  });

  it('the sign-in form takes an admin JWT', async () => {
    const { ctx, page, w } = await signInPage('jwt');
    try {
      await screenshots(page, 'signed-out--sign-in');
      await submitToken(page, SANDBOX.admin_token);
      await page.waitForURL(/#\/overview/);
      const s = await pageSession(page);
      assert.equal(s.json.role, 'platform_admin');
      assert.equal(s.json.via, 'jwt');
      w.assertClean('signing in with a JWT');
    } finally {
      await ctx.close();
    }
  });

  it('the sign-in form takes a tenant API key with admin scopes; revoking the key ends the session', async () => {
    const tenant = await adminOk('POST', '/admin/v1/tenants', { name: uniqueName('sessions-key') });
    const key = await adminOk('POST', `/admin/v1/tenants/${tenant.id}/api-keys`, {
      name: 'console',
      scopes: ['admin_read', 'admin_write'],
    });
    const { ctx, page, w } = await signInPage('api key');
    try {
      await submitToken(page, key.key);
      await page.waitForURL((u) => !u.hash.startsWith('#/sign-in'));
      await settle(page);
      const s = await pageSession(page);
      assert.equal(s.json.role, 'tenant_admin');
      assert.equal(s.json.tenant_id, tenant.id);
      assert.equal(s.json.via, 'api_key');
      assert.equal(s.json.can_write, true);
      w.assertClean('signing in with an API key');

      await adminOk('POST', `/admin/v1/tenants/${tenant.id}/api-keys/${key.id}/revoke`);
      w.expect(undefined, /^\/(admin\/v1\/|console\/api\/session)/, 401);
      await open(page, 'events').catch(() => {});
      await page.waitForURL(/#\/sign-in/);
      await settle(page);
      assert.match(await page.locator('main').innerText(), /session ended/i);
      const after = await pageSession(page);
      assert.equal(after.status, 401);
      w.assertClean('after revoking the key');
    } finally {
      await ctx.close();
    }
  });

  it('the sign-in form refuses a key without an admin scope, and nonsense', async () => {
    const tenant = await adminOk('POST', '/admin/v1/tenants', { name: uniqueName('sessions-proxy-key') });
    const key = await adminOk('POST', `/admin/v1/tenants/${tenant.id}/api-keys`, { name: 'proxy only' });
    const { ctx, page, w } = await signInPage('refused');
    try {
      for (const token of [key.key, 'not-a-token']) {
        w.expect('POST', '/console/api/session', [401, 403], 1);
        await submitToken(page, token);
        assert.equal(new URL(page.url()).hash, '#/sign-in');
        assert.ok(await page.getByRole('alert').count(), `no error shown for ${token.slice(0, 8)}…`);
        w.assertClean(`refusing ${token.slice(0, 8)}…`);
      }
      await screenshots(page, 'signed-out--sign-in-refused');
    } finally {
      await ctx.close();
    }
  });

  it('signing out ends the session on the server', async () => {
    const { cookie } = await openSession({ code: linkCode(await consoleLogin({ role: 'platform_admin', subject: 'sessions-out' })) });
    assert.equal((await withCookie(cookie, 'GET', '/admin/v1/tenants')).status, 200);
    const out = await withCookie(cookie, 'DELETE', '/console/api/session');
    assert.equal(out.status, 204, out.text);
    assert.match(out.headers.get('set-cookie') ?? '', /tpgate_console=;|Max-Age=0/i, 'sign-out does not clear the cookie');
    assert.equal((await withCookie(cookie, 'GET', '/admin/v1/tenants')).status, 401);
    assert.equal((await withCookie(cookie, 'GET', '/console/api/session')).status, 401);
  });

  it('refuses cross-origin writes and unmarked requests made with the cookie', async () => {
    const { cookie } = await openSession({ code: linkCode(await consoleLogin({ role: 'platform_admin', subject: 'sessions-csrf' })) });
    const body = { name: uniqueName('csrf') };
    // From Node: another Origin, no Origin, no X-Tpgate-Console.
    const evil = await withCookie(cookie, 'POST', '/admin/v1/tenants', { headers: { 'x-tpgate-console': '1', origin: 'http://evil.example' }, body });
    assert.equal(evil.status, 403, `POST with Origin http://evil.example: HTTP ${evil.status} ${evil.text}`);
    const otherPort = new URL(ORIGIN);
    otherPort.port = String(Number(otherPort.port) + 1);
    const neighbour = await withCookie(cookie, 'POST', '/admin/v1/tenants', { headers: { 'x-tpgate-console': '1', origin: otherPort.origin }, body });
    assert.equal(neighbour.status, 403, `POST with Origin ${otherPort.origin}: HTTP ${neighbour.status}`);
    const noOrigin = await withCookie(cookie, 'POST', '/admin/v1/tenants', { headers: { 'x-tpgate-console': '1' }, body });
    assert.equal(noOrigin.status, 403, `POST without Origin: HTTP ${noOrigin.status}`);
    const unmarked = await withCookie(cookie, 'POST', '/admin/v1/tenants', { headers: { origin: ORIGIN }, body });
    assert.equal(unmarked.status, 403, `POST without X-Tpgate-Console: HTTP ${unmarked.status}`);
    const unmarkedRead = await withCookie(cookie, 'GET', '/admin/v1/tenants', { headers: {} });
    assert.equal(unmarkedRead.status, 403, `GET without X-Tpgate-Console: HTTP ${unmarkedRead.status}`);
    const signOutElsewhere = await withCookie(cookie, 'DELETE', '/console/api/session', { headers: { 'x-tpgate-console': '1', origin: 'http://evil.example' } });
    assert.equal(signOutElsewhere.status, 403, `DELETE session from another origin: HTTP ${signOutElsewhere.status}`);
    const forgedSignIn = await request('POST', `${CONSOLE}api/session`, { headers: { 'x-tpgate-console': '1', origin: 'http://evil.example' }, body: { token: SANDBOX.admin_token } });
    assert.equal(forgedSignIn.status, 403, `sign-in from another origin: HTTP ${forgedSignIn.status}`);
    // Nothing was created.
    const tenants = await adminOk('GET', '/admin/v1/tenants?limit=200');
    assert.ok(!tenants.items.some((x) => x.name === body.name), 'a refused request created the tenant');

    // From the page: the same cookie, without the console's header.
    const ctx = await newContext(browser);
    const page = await ctx.newPage();
    const w = watch(page, { label: 'csrf', consoleErrors: false });
    try {
      await page.goto(await consoleLogin({ role: 'platform_admin', subject: 'sessions-csrf-page' }));
      await page.waitForURL(/#\/overview/);
      await settle(page);
      w.expect('POST', '/admin/v1/tenants', 403, 1);
      const statuses = await page.evaluate(async (name) => {
        const post = (headers) =>
          fetch('/admin/v1/tenants', { method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify({ name }) }).then((r) => r.status);
        return { without: await post({}), with: await post({ 'X-Tpgate-Console': '1' }) };
      }, uniqueName('page-csrf'));
      assert.equal(statuses.without, 403, `POST from the page without X-Tpgate-Console: HTTP ${statuses.without}`);
      assert.ok(statuses.with === 200 || statuses.with === 201, `the same POST with the header: HTTP ${statuses.with}`);
      w.assertClean('cross-origin checks from the page');
    } finally {
      await ctx.close();
    }
  });

  it('a suspended tenant\'s admin session ends', async () => {
    const tenant = await adminOk('POST', '/admin/v1/tenants', { name: uniqueName('sessions-suspend') });
    const link = await consoleLogin({ role: 'tenant_admin', subject: 'sessions-suspend', tenant: tenant.id });
    const { status, cookie, session } = await openSession({ code: linkCode(link) });
    assert.equal(status, 200);
    assert.equal(session.tenant_id, tenant.id);
    assert.equal((await withCookie(cookie, 'GET', `/admin/v1/tenants/${tenant.id}`)).status, 200);
    await adminOk('POST', `/admin/v1/tenants/${tenant.id}/suspend`);
    const r = await withCookie(cookie, 'GET', `/admin/v1/tenants/${tenant.id}`);
    assert.equal(r.status, 401, `the suspended tenant's admin: HTTP ${r.status} ${r.text}`);
    // Ended for good: resuming the tenant does not bring the session back.
    await adminOk('POST', `/admin/v1/tenants/${tenant.id}/resume`);
    assert.equal((await withCookie(cookie, 'GET', `/admin/v1/tenants/${tenant.id}`)).status, 401);
    // A link made before the suspension opens no session after it, and console-login makes none for a suspended tenant.
    const early = await consoleLogin({ role: 'tenant_admin', subject: 'sessions-suspend-2', tenant: tenant.id });
    await adminOk('POST', `/admin/v1/tenants/${tenant.id}/suspend`);
    const refused = await openSession({ code: linkCode(early) });
    assert.ok(refused.status === 401 || refused.status === 403, `a link for a suspended tenant: HTTP ${refused.status} ${refused.text}`);
    assert.equal(refused.cookie, undefined);
    await assert.rejects(consoleLogin({ role: 'tenant_admin', subject: 'sessions-suspend-3', tenant: tenant.id }), /suspended/);
    await adminOk('POST', `/admin/v1/tenants/${tenant.id}/resume`);
  });

  it('console-login refuses a tenant_admin without a tenant and an unknown role', async () => {
    await assert.rejects(consoleLogin({ role: 'tenant_admin', subject: 'no-tenant' }));
    await assert.rejects(consoleLogin({ role: 'root', subject: 'nobody' }));
  });

  it('session expiry (idle timeout, lifetime)', async (t) => {
    const help = await promisify(execFile)(TPGATE_BIN, ['sandbox', '--help']).then((r) => r.stdout);
    if (!/idle|session-lifetime|console/i.test(help)) {
      t.skip('`tpgate sandbox --help` shows no flag for console.idle_timeout_secs / session_lifetime_secs (their minimum is 60 s / 300 s): expiry is left to the Rust tests');
      return;
    }
    assert.fail(`tpgate sandbox now has a flag for session expiry; write this test:\n${help}`);
  });

  it('the admin API without a cookie is still bearer-only', async () => {
    assert.equal((await request('GET', new URL('/admin/v1/tenants', ORIGIN).href, { headers: CONSOLE_HEADERS })).status, 401);
    assert.equal((await admin('GET', '/admin/v1/tenants')).status, 200);
  });
});
