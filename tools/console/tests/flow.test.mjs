// The operator's flow from the issue, in one browser, step by step against the sandbox and its
// simulated WeChat: one-time link → tenant → authorization link followed through WeChat's
// page → the Mini Program with its permission sets → API key (shown once) → webhook → a pushed
// event with its delivery → replay → tenant admin sees only its own → suspension refuses the key
// and ends the tenant admin's session → a viewer has no action buttons → sign-out ends the session.
import { after, before, describe, it } from 'node:test';

import {
  ACTION_WORDS,
  BASE,
  CONSOLE,
  SANDBOX,
  adminOk,
  assert,
  assertNoSeriousA11y,
  consoleLogin,
  contextCookie,
  controlNames,
  eventually,
  launch,
  newContext,
  onboardWithoutBrowser,
  open,
  pageSession,
  proxy,
  pushRemindShipping,
  randomAppid,
  screenshots,
  settle,
  signInWithLink,
  sim,
  startReceiver,
  uniqueName,
  watch,
  withCookie,
} from './helpers.mjs';
import { N } from './names.mjs';
import { click, confirmIfAsked, fill, findShown, formScope, hasField, pageText } from './ui.mjs';

/** Steps share what earlier ones made; after a failure the rest are skipped, not piled on. */
const s = {
  failed: /** @type {string|null} */ (null),
  /** @type {import('playwright-core').Browser} */ browser: /** @type {any} */ (null),
  /** @type {import('playwright-core').BrowserContext} */ ctx: /** @type {any} */ (null),
  /** @type {import('playwright-core').Page} */ page: /** @type {any} */ (null),
  /** @type {ReturnType<typeof watch>} */ w: /** @type {any} */ (null),
  receiver: /** @type {Awaited<ReturnType<typeof startReceiver>>} */ (/** @type {any} */ (null)),
  tenantName: uniqueName('flow'),
  tenantId: '',
  appid: randomAppid(),
  apiKey: '',
  webhookId: '',
  eventId: '',
  other: { name: uniqueName('other'), id: '', appid: randomAppid() },
  /** @type {import('playwright-core').BrowserContext|null} */ tenantCtx: null,
  /** @type {import('playwright-core').Page|null} */ tenantPage: null,
  /** @type {ReturnType<typeof watch>|null} */ tenantW: null,
};

/**
 * Page problems (console errors, failed or unexpected ≥ 400 requests, other origins) do not stop
 * the flow: they are collected and the last step fails with all of them.
 */
const softProblems = [];
function soft(w, what) {
  if (!w) return;
  for (const p of w.take()) softProblems.push(`${what}: ${p}`);
}

/** A step that is skipped once an earlier one failed. */
function step(name, fn) {
  it(name, async (t) => {
    if (s.failed) {
      t.skip(`skipped: an earlier step failed (${s.failed})`);
      return;
    }
    try {
      await fn(t);
    } catch (e) {
      s.failed = name;
      if (s.page) await s.page.screenshot({ path: `${process.env.CONSOLE_SCREENSHOTS}/FAILED-flow-${name.replace(/[^A-Za-z0-9]+/g, '_').slice(0, 60)}.png`, fullPage: true }).catch(() => {});
      throw e;
    }
  });
}

describe('operator flow', { concurrency: false }, () => {
  before(async () => {
    s.browser = await launch();
    s.receiver = await startReceiver();
    s.ctx = await newContext(s.browser);
    s.page = await s.ctx.newPage();
    s.w = watch(s.page, { label: 'platform_admin' });
  });
  after(async () => {
    await s.browser?.close();
    await s.receiver?.close();
  });

  step('signs in with the sandbox one-time link (console_url)', async () => {
    assert.ok(SANDBOX.console_url, 'the sandbox JSON has no console_url');
    assert.match(SANDBOX.console_url, /\/console\/#\/sign-in\/[^/]+$/);
    await signInWithLink(s.page, SANDBOX.console_url);
    assert.match(new URL(s.page.url()).hash, /^#\/overview/);
    const session = await pageSession(s.page);
    assert.equal(session.status, 200);
    assert.equal(session.json.role, 'platform_admin');
    assert.equal(session.json.via, 'link');
    assert.equal(session.json.can_write, true);
    // The code left the address bar (replaceState).
    assert.doesNotMatch(s.page.url(), /sign-in\//);
    soft(s.w, 'after sign-in');
  });

  step('creates a tenant in the UI', async () => {
    await open(s.page, 'tenants');
    await click(s.page, N.newTenant);
    const form = await formScope(s.page);
    await fill(form, N.tenantName, s.tenantName);
    await click(s.page, N.createSubmit, form);
    // Found through the API (the UI may go to the new tenant's page or list it).
    const tenant = await eventually('the new tenant', async () => {
      const page = await adminOk('GET', '/admin/v1/tenants?limit=200');
      return page.items.find((x) => x.name === s.tenantName);
    });
    s.tenantId = tenant.id;
    await open(s.page, `tenants/${s.tenantId}`);
    assert.ok((await pageText(s.page)).includes(s.tenantName), 'the tenant page does not show its name');
    soft(s.w, 'creating a tenant');
  });

  step('creates an authorization link and follows its PC URL through the simulated WeChat', async () => {
    await open(s.page, `tenants/${s.tenantId}`);
    await click(s.page, N.newLink);
    const form = await formScope(s.page);
    // Pin it to our appid if the form offers it; the simulator grants that appid either way.
    if (await hasField(form, N.linkAppid)) await fill(form, N.linkAppid, s.appid);
    await sim('POST', '/sim/next-authorization', { appid: s.appid, func_ids: [18, 45, 142] });
    await click(s.page, N.createSubmit, form);
    await s.page.screenshot({ path: `${process.env.CONSOLE_SCREENSHOTS}/flow-authorization-link--desktop.png`, fullPage: true });
    // CreatedOnboardingLink.pc_url (else url with ?page=pc).
    let pcUrl = await findShown(s.page, /https?:\/\/[^\s"']+\/onboard\/[^\s"']*page=pc[^\s"']*/);
    if (!pcUrl) {
      const url = await findShown(s.page, /https?:\/\/[^\s"'?]+\/onboard\/[A-Za-z0-9_-]+/);
      assert.ok(url, 'the console did not show the new authorization link');
      pcUrl = `${url}?page=pc`;
    }
    assert.ok(pcUrl.startsWith(BASE), `${pcUrl} is not on the gateway`);
    soft(s.w, 'creating an authorization link');

    // The merchant's browser: the landing page's button, WeChat's page, back to tpgate.
    const merchant = await s.ctx.newPage();
    try {
      await merchant.goto(pcUrl);
      await merchant.getByRole('button', { name: N.goToAuthorization }).click();
      await merchant.waitForURL(/\/onboard\/complete/, { timeout: 15_000 });
      const text = await merchant.locator('body').innerText();
      assert.match(text, /授权完成|Authorization complete/, `the merchant did not see the completion page:\n${text}`);
      assert.ok(text.includes(s.appid), `the completion page does not name ${s.appid}:\n${text}`);
    } finally {
      await merchant.close();
    }
  });

  step('the Mini Program appears with its permission sets', async () => {
    const authorizer = await eventually('the authorizer', async () => {
      const r = await adminOk('GET', `/admin/v1/authorizers?tenant_id=${s.tenantId}`);
      return r.items.find((a) => a.appid === s.appid);
    });
    assert.deepEqual([...authorizer.permission_sets].sort((a, b) => a - b), [18, 45, 142]);
    await open(s.page, 'mini-programs');
    assert.ok((await pageText(s.page)).includes(s.appid), `the Mini Programs page does not list ${s.appid}`);
    await open(s.page, `mini-programs/${s.appid}`);
    const text = await pageText(s.page);
    for (const id of [18, 45, 142]) assert.match(text, new RegExp(`\\b${id}\\b`), `permission set ${id} is not shown`);
    soft(s.w, 'the Mini Programs pages');
  });

  step('creates an API key in the UI, shown once, that calls the Mini Program', async () => {
    await open(s.page, `tenants/${s.tenantId}`);
    await click(s.page, N.newKey);
    const form = await formScope(s.page);
    await fill(form, N.keyName, 'flow key');
    await click(s.page, N.createSubmit, form);
    s.apiKey = await findShown(s.page, /tpk_[A-Za-z0-9_-]+/);
    assert.ok(s.apiKey, 'the new API key was not shown');
    await screenshots(s.page, 'platform_admin--flow-api-key-shown');
    // Close a dialog that shows it, if any.
    const dlg = s.page.locator('dialog[open]');
    if (await dlg.count()) await dlg.getByRole('button', { name: /close|done|ok/i }).first().click().catch(() => {});
    const r = await proxy(s.apiKey, s.appid, 'wxa/sec/order/is_trade_managed', { appid: s.appid });
    assert.equal(r.status, 200, `the new key's call: HTTP ${r.status} ${r.text}`);
    // Shown once: not on the page after a reload.
    await s.page.reload();
    await settle(s.page);
    assert.ok(!(await pageText(s.page)).includes(s.apiKey), 'the API key is still shown after a reload');
    soft(s.w, 'creating an API key');
  });

  step('creates a webhook in the UI pointing at a local receiver', async () => {
    await open(s.page, `tenants/${s.tenantId}`);
    await click(s.page, N.newWebhook);
    const form = await formScope(s.page);
    await fill(form, N.webhookUrl, s.receiver.url);
    await click(s.page, N.createSubmit, form);
    const hooks = await adminOk('GET', `/admin/v1/tenants/${s.tenantId}/webhooks`);
    const hook = hooks.items.find((x) => x.url === s.receiver.url);
    assert.ok(hook, `no webhook with URL ${s.receiver.url}: ${JSON.stringify(hooks.items)}`);
    s.webhookId = hook.id;
    const dlg = s.page.locator('dialog[open]');
    if (await dlg.count()) await dlg.getByRole('button', { name: /close|done|ok/i }).first().click().catch(() => {});
    soft(s.w, 'creating a webhook');
  });

  step('a pushed Mini Program event shows on the Events page with its delivery', async () => {
    await pushRemindShipping(s.appid);
    await eventually('the webhook delivery', () => s.receiver.received.length >= 1);
    const event = await eventually('the event', async () => {
      const r = await adminOk('GET', `/admin/v1/events?tenant_id=${s.tenantId}`);
      return r.items.find((e) => e.type === 'trade_manage_remind_shipping' && e.appid === s.appid);
    });
    s.eventId = event.id;
    await open(s.page, 'events');
    const list = await pageText(s.page);
    assert.ok(list.includes('trade_manage_remind_shipping'), 'the Events page does not show the event type');
    await open(s.page, `events/${s.eventId}`);
    await eventually('the delivery shown as delivered', async () => {
      await open(s.page, `events/${s.eventId}`);
      return /\bdelivered\b/i.test(await pageText(s.page));
    });
    await screenshots(s.page, 'platform_admin--flow-event');
    soft(s.w, 'the event pages');
  });

  step('replays the event from its page', async () => {
    const before = s.receiver.received.length;
    await open(s.page, `events/${s.eventId}`);
    await click(s.page, N.replay);
    await confirmIfAsked(s.page);
    await eventually('the replayed delivery', () => s.receiver.received.length > before);
    soft(s.w, 'replaying');
  });

  step('a tenant admin sees only its own tenant', async () => {
    // Another tenant with a Mini Program and an event, which must stay out of sight.
    const other = await adminOk('POST', '/admin/v1/tenants', { name: s.other.name });
    s.other.id = other.id;
    await onboardWithoutBrowser(s.other.id, s.other.appid);
    await pushRemindShipping(s.other.appid);

    const link = await consoleLogin({ role: 'tenant_admin', subject: 'flow-tenant-admin', tenant: s.tenantId });
    s.tenantCtx = await newContext(s.browser);
    s.tenantPage = await s.tenantCtx.newPage();
    s.tenantW = watch(s.tenantPage, { label: 'tenant_admin' });
    await signInWithLink(s.tenantPage, link);
    const session = await pageSession(s.tenantPage);
    assert.equal(session.json.role, 'tenant_admin');
    assert.equal(session.json.tenant_id, s.tenantId);

    const forbidden = [s.other.name, s.other.id, s.other.appid];
    for (const route of ['overview', 'tenants', `tenants/${s.tenantId}`, 'mini-programs', 'shipping', 'events', 'webhooks', 'calls', 'audit', 'limits']) {
      await open(s.tenantPage, route);
      const text = await pageText(s.tenantPage);
      for (const f of forbidden) assert.ok(!text.includes(f), `tenant admin sees ${f} (another tenant's) on #/${route}`);
      soft(s.tenantW, `tenant admin on #/${route}`);
    }
    // Its own data is there.
    await open(s.tenantPage, 'mini-programs');
    assert.ok((await pageText(s.tenantPage)).includes(s.appid), 'the tenant admin does not see its own Mini Program');
    // And the API refuses the other tenant.
    s.tenantW.expect('GET', `/admin/v1/tenants/${s.other.id}`, [403, 404], 1);
    const r = await s.tenantPage.evaluate(async (id) => {
      const res = await fetch(`/admin/v1/tenants/${id}`, { headers: { 'X-Tpgate-Console': '1' } });
      return res.status;
    }, s.other.id);
    soft(s.tenantW, 'asking for another tenant');
    assert.ok(r === 403 || r === 404, `GET another tenant as its neighbour's admin: HTTP ${r}`);
  });

  step('suspending the tenant in the UI refuses its key and ends its admin session', async () => {
    await open(s.page, `tenants/${s.tenantId}`);
    await click(s.page, N.suspend);
    await confirmIfAsked(s.page);
    await eventually('the tenant suspended', async () => (await adminOk('GET', `/admin/v1/tenants/${s.tenantId}`)).status === 'suspended');
    await open(s.page, `tenants/${s.tenantId}`);
    assert.match(await pageText(s.page), /\bsuspended\b/i, 'the tenant page does not say suspended');
    soft(s.w, 'suspending');

    const r = await proxy(s.apiKey, s.appid, 'wxa/sec/order/is_trade_managed', { appid: s.appid });
    assert.ok(r.status === 401 || r.status === 403, `a suspended tenant's key: HTTP ${r.status} ${r.text}`);

    // The tenant admin's next request is refused and the console sends it to sign-in with a notice.
    const tp = /** @type {import('playwright-core').Page} */ (s.tenantPage);
    s.tenantW?.expect(undefined, /^\/(admin\/v1\/|console\/api\/session)/, 401);
    await tp.evaluate(() => {
      location.hash = '#/events';
    });
    await tp.waitForURL(/#\/sign-in/, { timeout: 10_000 });
    await settle(tp);
    assert.match(await tp.locator('main').innerText(), /session ended/i, 'no notice that the session ended');
    soft(s.tenantW, 'tenant admin after suspension');
    await screenshots(tp, 'tenant_admin--session-ended');

    // Resume (UI) and the key works again.
    await open(s.page, `tenants/${s.tenantId}`);
    await click(s.page, N.resume);
    await confirmIfAsked(s.page);
    await eventually('the tenant active again', async () => (await adminOk('GET', `/admin/v1/tenants/${s.tenantId}`)).status === 'active');
    const again = await proxy(s.apiKey, s.appid, 'wxa/sec/order/is_trade_managed', { appid: s.appid });
    assert.equal(again.status, 200, `after resuming: HTTP ${again.status} ${again.text}`);
    soft(s.w, 'resuming');
    await s.tenantCtx?.close();
  });

  step('a platform_viewer finds no action buttons on any page', async () => {
    // The detector finds the admin's actions on the same page (else "none" would prove nothing).
    await open(s.page, `tenants/${s.tenantId}`);
    const adminActions = (await controlNames(s.page)).filter((n) => ACTION_WORDS.test(n));
    assert.ok(adminActions.length >= 3, `the platform_admin's tenant page shows too few actions to compare: ${adminActions}`);

    const link = await consoleLogin({ role: 'platform_viewer', subject: 'flow-viewer' });
    const ctx = await newContext(s.browser);
    const page = await ctx.newPage();
    const w = watch(page, { label: 'platform_viewer' });
    try {
      await signInWithLink(page, link);
      const session = await pageSession(page);
      assert.equal(session.json.role, 'platform_viewer');
      assert.equal(session.json.can_write, false);
      const routes = [
        'overview', 'tenants', `tenants/${s.tenantId}`, 'mini-programs', `mini-programs/${s.appid}`, 'shipping',
        'events', `events/${s.eventId}`, 'webhooks', `webhooks/${s.tenantId}/${s.webhookId}`, 'limits', 'calls', 'audit',
      ];
      const found = [];
      for (const route of routes) {
        await open(page, route);
        const actions = (await controlNames(page)).filter((n) => ACTION_WORDS.test(n));
        if (actions.length) found.push(`#/${route}: ${actions.join(', ')}`);
        soft(w, `viewer on #/${route}`);
      }
      assert.deepEqual(found, [], `a platform_viewer sees action buttons:\n  ${found.join('\n  ')}`);
      await assertNoSeriousA11y(page, 'the viewer\'s audit page');
    } finally {
      await ctx.close();
    }
  });

  step('signing out ends the session on the server', async () => {
    await open(s.page, 'overview');
    const cookie = await contextCookie(s.ctx);
    assert.ok(cookie, 'no tpgate_console cookie in the browser');
    await click(s.page, N.signOut);
    await s.page.waitForURL(/#\/sign-in/);
    const r = await withCookie(cookie, 'GET', '/admin/v1/tenants');
    assert.equal(r.status, 401, `the old session's cookie after sign-out: HTTP ${r.status}`);
    const sess = await withCookie(cookie, 'GET', '/console/api/session');
    assert.equal(sess.status, 401);
    // The browser lost its cookie too.
    assert.equal(await contextCookie(s.ctx), undefined, 'the browser still holds the session cookie');
    soft(s.w, 'signing out');
    assert.ok(CONSOLE);
  });

  it('no console errors, failed requests or requests to other hosts during the flow', () => {
    assert.deepEqual(softProblems, [], `page problems during the flow:\n  ${softProblems.join('\n  ')}`);
  });
});
