// Every page, per role: no console errors, no failed or unexpected ≥ 400 requests, no request
// to another origin, no serious/critical axe-core violation, nothing wider than a 375 px phone;
// screenshots at 1280×800 and 375×812 (target/console-screenshots/<role>--<page>--<width>.png).
// Then one pass in Chinese (zh-CN) for the screenshots, and the phone's menu.
import { after, before, describe, it } from 'node:test';

import {
  SANDBOX,
  adminOk,
  assert,
  axeViolations,
  consoleLogin,
  eventually,
  launch,
  newContext,
  onboardWithoutBrowser,
  open,
  PHONE,
  DESKTOP,
  proxy,
  pushRemindShipping,
  randomAppid,
  screenshots,
  settle,
  signInWithLink,
  startReceiver,
  watch,
} from './helpers.mjs';
import { N } from './names.mjs';

/** @type {import('playwright-core').Browser} */
let browser;
let receiver;
/** Ids for the detail pages, made in before(). */
const ids = { tenant: SANDBOX.tenant_id, appid: randomAppid(), event: '', webhook: '', call: '' };

/** [route, screenshot name] per role; tenant_admin has no tenant list (it goes to its own tenant). */
function routes() {
  return [
    ['overview', 'overview'],
    ['tenants', 'tenants'],
    [`tenants/${ids.tenant}`, 'tenant'],
    ['mini-programs', 'mini-programs'],
    [`mini-programs/${ids.appid}`, 'mini-program'],
    ['shipping', 'shipping'],
    ['events', 'events'],
    [`events/${ids.event}`, 'event'],
    ['webhooks', 'webhooks'],
    [`webhooks/${ids.tenant}/${ids.webhook}`, 'webhook'],
    ['limits', 'limits'],
    ['calls', 'calls'],
    [`calls/${ids.call}`, 'call'],
    ['audit', 'audit'],
  ];
}

const ROLES = [
  { role: 'platform_admin', subject: 'pages-admin' },
  { role: 'platform_viewer', subject: 'pages-viewer' },
  { role: 'tenant_admin', subject: 'pages-tenant', tenant: SANDBOX.tenant_id },
];

describe('every page, per role', { concurrency: false }, () => {
  before(async () => {
    browser = await launch();
    receiver = await startReceiver();
    // Data for every page, in the sandbox's demo tenant: a Mini Program, a proxied call,
    // a webhook, an event delivered to it.
    await onboardWithoutBrowser(SANDBOX.tenant_id, ids.appid);
    const call = await proxy(SANDBOX.api_key, ids.appid, 'wxa/sec/order/is_trade_managed', { appid: ids.appid });
    assert.equal(call.status, 200, call.text);
    ids.webhook = (await adminOk('POST', `/admin/v1/tenants/${ids.tenant}/webhooks`, { url: receiver.url, description: 'pages test' })).id;
    await pushRemindShipping(ids.appid);
    await eventually('a delivery', () => receiver.received.length > 0);
    ids.event = (await adminOk('GET', `/admin/v1/events?tenant_id=${ids.tenant}&limit=1`)).items[0].id;
    ids.call = await eventually('the call in the call log', async () => (await adminOk('GET', `/admin/v1/calls?tenant_id=${ids.tenant}&limit=1`)).items[0]?.id);
  });
  after(async () => {
    await browser?.close();
    await receiver?.close();
  });

  for (const who of ROLES) {
    describe(who.role, { concurrency: false }, () => {
      /** @type {import('playwright-core').BrowserContext} */
      let ctx;
      /** @type {import('playwright-core').Page} */
      let page;
      /** @type {ReturnType<typeof watch>} */
      let w;
      before(async () => {
        ctx = await newContext(browser);
        page = await ctx.newPage();
        w = watch(page, { label: who.role });
        await signInWithLink(page, await consoleLogin(who));
      });
      after(async () => ctx?.close());

      // routes() is read when the tests run (ids are set by then): one test per route.
      for (const i of routes().keys()) {
        it(`#/${routes()[i][1]}`, async () => {
          const [route, name] = routes()[i];
          await open(page, route);
          const problems = w.take();
          const axe = await axeViolations(page);
          const overflow = await screenshots(page, `${who.role}--${name}`);
          const fails = [];
          // CONTRACT.md: a tenant_admin has no tenant list; #/tenants goes to its own tenant's page.
          if (who.role === 'tenant_admin' && route === 'tenants' && new URL(page.url()).hash !== `#/tenants/${ids.tenant}`) {
            fails.push(`#/tenants as tenant_admin went to ${new URL(page.url()).hash}, not to its own tenant #/tenants/${ids.tenant}`);
          }
          if (problems.length) fails.push(`page problems:\n  ${problems.join('\n  ')}`);
          if (axe.bad.length) fails.push(`axe-core serious/critical violations:\n${axe.text}`);
          if (overflow) fails.push(`wider than ${PHONE.width}px at phone width (scrollWidth ${overflow.scrollWidth}): ${overflow.culprits.join('; ')}`);
          if (axe.other.length) console.log(`  (#/${route} as ${who.role}: minor axe findings: ${axe.other.join(', ')})`);
          assert.equal(fails.length, 0, `#/${route} as ${who.role}:\n${fails.join('\n')}`);
          // Nothing happened while measuring.
          w.assertClean(`#/${route} after the checks`);
        });
      }
    });
  }

  describe('in Chinese (zh-CN)', { concurrency: false }, () => {
    /** @type {import('playwright-core').BrowserContext} */
    let ctx;
    /** @type {import('playwright-core').Page} */
    let page;
    /** @type {ReturnType<typeof watch>} */
    let w;
    before(async () => {
      ctx = await newContext(browser, { lang: 'zh' });
      page = await ctx.newPage();
      w = watch(page, { label: 'platform_admin zh' });
      await signInWithLink(page, await consoleLogin({ role: 'platform_admin', subject: 'pages-zh' }));
    });
    after(async () => ctx?.close());

    it('every page renders in Chinese', async () => {
      const english = []; // what is not Chinese, or not right, per page
      for (const [route, name] of routes()) {
        await open(page, route);
        assert.match(await page.evaluate(() => document.documentElement.lang), /^zh/);
        // Headings of detail pages are data (a tenant's name): look at the page's own words.
        const main = await page.locator('main').innerText();
        if (!/[\u4e00-\u9fff]/.test(main)) english.push(`#/${route}: no Chinese in <main>: ${main.slice(0, 200)}`);
        const overflow = await screenshots(page, `platform_admin--${name}--zh`);
        if (overflow) english.push(`#/${route}: wider than ${PHONE.width}px in Chinese: ${overflow.culprits.join('; ')}`);
        for (const p of w.take()) english.push(`#/${route}: ${p}`);
      }
      assert.deepEqual(english, [], `in Chinese:\n  ${english.join('\n  ')}`);
    });
  });

  describe('phone navigation', () => {
    it('the menu button opens the navigation at 375 px', async () => {
      const ctx = await newContext(browser);
      const page = await ctx.newPage();
      // The pages' own console errors are judged above; this is about the menu.
      const w = watch(page, { label: 'phone', consoleErrors: false });
      try {
        await page.setViewportSize(PHONE);
        await signInWithLink(page, await consoleLogin({ role: 'platform_admin', subject: 'pages-phone' }));
        const menu = page.getByRole('button', { name: N.menu });
        await menu.waitFor({ state: 'visible' });
        assert.equal(await menu.getAttribute('aria-expanded'), 'false');
        await menu.click();
        assert.equal(await menu.getAttribute('aria-expanded'), 'true');
        const events = page.getByRole('navigation').getByRole('link', { name: /^events$/i });
        await events.waitFor({ state: 'visible' });
        await page.screenshot({ path: `${process.env.CONSOLE_SCREENSHOTS}/platform_admin--menu-open--phone.png` });
        await events.click();
        await page.waitForURL(/#\/events$/);
        await settle(page);
        w.assertClean('phone navigation');
        await page.setViewportSize(DESKTOP);
      } finally {
        await ctx.close();
      }
    });
  });
});
