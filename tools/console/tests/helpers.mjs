// Shared by the console's browser tests (run by tools/console/run.sh, which starts the sandbox).
//
// Environment (set by run.sh):
//   TPGATE_SANDBOX_JSON   the sandbox's --out file (base_url, simulator_url, admin_token, console_url, …)
//   TPGATE_SANDBOX_DB     the sandbox's SQLite file (TPGATE_DATABASE_URL for `tpgate console-login`)
//   TPGATE_BIN            the tpgate binary
//   CONSOLE_NODE_MODULES  the pinned node_modules (playwright-core, axe-core)
//   CONSOLE_SCREENSHOTS   where screenshots go
//   CHROMIUM              the browser (default /usr/bin/chromium)
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const need = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the tests through tools/console/run.sh`);
  return v;
};

export const NODE_MODULES = need('CONSOLE_NODE_MODULES');
export const SANDBOX = JSON.parse(readFileSync(need('TPGATE_SANDBOX_JSON'), 'utf8'));
export const SANDBOX_DB = need('TPGATE_SANDBOX_DB');
export const TPGATE_BIN = need('TPGATE_BIN');
export const SHOTS = process.env.CONSOLE_SCREENSHOTS || path.resolve('target/console-screenshots');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
mkdirSync(SHOTS, { recursive: true });

/** The gateway, ending with `/`. */
export const BASE = SANDBOX.base_url;
export const ORIGIN = new URL(BASE).origin;
/** The simulated WeChat, ending with `/`. */
export const SIM = SANDBOX.simulator_url;
export const CONSOLE = new URL('console/', BASE).href;

const { chromium } = await import(pathToFileURL(path.join(NODE_MODULES, 'playwright-core', 'index.mjs')).href);
const axeSource = readFileSync(path.join(NODE_MODULES, 'axe-core', 'axe.min.js'), 'utf8');

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 375, height: 812 };

export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * A fresh context (one per role): English unless lang is 'zh'.
 * @param {import('playwright-core').Browser} browser
 */
export async function newContext(browser, { lang = 'en' } = {}) {
  const context = await browser.newContext({
    viewport: DESKTOP,
    locale: lang === 'zh' ? 'zh-CN' : 'en-US',
  });
  // The console's language switch reads localStorage 'tpgate.lang' (CONTRACT.md, i18n.js).
  await context.addInitScript((l) => {
    try {
      if (location.origin !== 'null') localStorage.setItem('tpgate.lang', l);
    } catch {
      /* opaque origin */
    }
  }, lang);
  context.setDefaultTimeout(15_000);
  return context;
}

// --- plain HTTP -------------------------------------------------------------

/** fetch → {status, headers, json, text}. */
export async function request(method, url, { headers = {}, body } = {}) {
  const init = { method, headers: { ...headers }, redirect: 'manual' };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    if (!Object.keys(init.headers).some((k) => k.toLowerCase() === 'content-type')) {
      init.headers['content-type'] = 'application/json';
    }
  }
  const res = await fetch(url, init);
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

/** The admin API with the sandbox's platform_admin JWT. */
export async function admin(method, p, body) {
  return request(method, new URL(p.replace(/^\//, ''), BASE).href, {
    headers: { authorization: `Bearer ${SANDBOX.admin_token}` },
    body,
  });
}

/** admin(), asserting a 2xx; returns the JSON. */
export async function adminOk(method, p, body) {
  const r = await admin(method, p, body);
  assert.ok(r.status >= 200 && r.status < 300, `${method} ${p}: HTTP ${r.status} ${r.text}`);
  return r.json;
}

/** The simulator's /sim control surface. */
export async function sim(method, p, body) {
  const r = await request(method, new URL(p.replace(/^\//, ''), SIM).href, { body });
  assert.ok(r.status >= 200 && r.status < 300, `simulator ${method} ${p}: HTTP ${r.status} ${r.text}`);
  return r.json;
}

/** A proxied call with a tenant API key. */
export async function proxy(key, appid, apiPath, body = {}) {
  return request('POST', new URL(`v1/apps/${appid}/${apiPath.replace(/^\//, '')}`, BASE).href, {
    headers: { authorization: `Bearer ${key}` },
    body,
  });
}

export function randomAppid() {
  return 'wx' + [...crypto.getRandomValues(new Uint8Array(8))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export function uniqueName(prefix) {
  return `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
}

/**
 * A Mini Program authorized for a tenant without a browser (as tools/clients/run.sh does):
 * an onboarding link, the landing page's button with the Referer a browser sends, the simulator
 * approving `appid` with `funcIds`.
 */
export async function onboardWithoutBrowser(tenantId, appid, funcIds = [18, 45, 142]) {
  const link = await adminOk('POST', `/admin/v1/tenants/${tenantId}/onboarding-links`, { biz_appid: appid });
  await sim('POST', '/sim/next-authorization', { appid, func_ids: funcIds });
  let url = `${link.url}/authorize`;
  let res = await fetch(url, {
    method: 'POST',
    headers: { referer: `${ORIGIN}/`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'page=pc',
    redirect: 'manual',
  });
  for (let hops = 0; hops < 5 && res.status >= 300 && res.status < 400; hops++) {
    url = new URL(res.headers.get('location'), url).href;
    res = await fetch(url, { headers: { referer: `${ORIGIN}/` }, redirect: 'manual' });
  }
  assert.equal(res.status, 200, `onboarding ${appid} ended at ${url}: HTTP ${res.status} ${await res.text()}`);
  return appid;
}

/** A paid simulator order in `appid`, and WeChat's 48-hour shipping reminder for it pushed to tpgate. */
export async function pushRemindShipping(appid) {
  const order = await sim('POST', '/sim/orders', { appid });
  const outcome = await sim('POST', '/sim/push/app-event', {
    appid,
    from_order: { transaction_id: order.transaction_id, event: 'trade_manage_remind_shipping' },
  });
  assert.ok(outcome.acknowledged, `tpgate did not acknowledge the push: ${JSON.stringify(outcome.attempts)}`);
  return order;
}

/**
 * A paid simulator order in `appid`, and WeChat's shipping reminder for it saying it was paid
 * `paidHoursAgo` hours ago: tpgate records the order as pending (and reminded) with that pay_time,
 * so it shows that age and reconciliation announces it overdue past 24 h; reconciliation still
 * finds the order waiting in the simulator (paid now, order_state 1), so it stays pending.
 */
export async function remindShippingPaidAgo(appid, paidHoursAgo) {
  const order = await sim('POST', '/sim/orders', { appid });
  const outcome = await sim('POST', '/sim/push/app-event', {
    appid,
    event: {
      event: 'trade_manage_remind_shipping',
      transaction_id: order.transaction_id,
      merchant_id: order.mchid,
      sub_merchant_id: '',
      merchant_trade_no: order.out_trade_no,
      pay_time: Math.floor(Date.now() / 1000) - Math.round(paidHoursAgo * 3600),
      msg: '你的小程序有订单超过48小时未录入发货信息，请尽快发货',
    },
  });
  assert.ok(outcome.acknowledged, `tpgate did not acknowledge the push: ${JSON.stringify(outcome.attempts)}`);
  return order;
}

/**
 * A durable shipment of a simulator order handed over with a tenant API key
 * (POST /v1/apps/{appid}/shipments, 202); `openid` other than the order's payer makes WeChat
 * refuse it for good (10060031). Returns the shipment.
 */
export async function handOverShipment(key, appid, order, { openid = order.openid, trackingNo = `STO${Date.now()}` } = {}) {
  const r = await request('POST', new URL(`v1/apps/${appid}/shipments`, BASE).href, {
    headers: { authorization: `Bearer ${key}` },
    body: {
      upload_shipping_info: {
        order_key: { order_number_type: 2, transaction_id: order.transaction_id },
        logistics_type: 1,
        delivery_mode: 1,
        shipping_list: [{ tracking_no: trackingNo, express_company: 'STO', item_desc: '微信气泡狗集线器*1', contact: { consignor_contact: '+86-177****1234' } }],
        payer: { openid },
      },
    },
  });
  assert.equal(r.status, 202, `handing over a shipment of ${order.transaction_id}: HTTP ${r.status} ${r.text}`);
  return r.json;
}

/** Polls `f` until it returns a truthy value. */
export async function eventually(what, f, { timeout = 20_000, every = 200 } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await f();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

// --- webhook receiver ---------------------------------------------------------

/** An HTTP receiver on 127.0.0.1 answering 200 to everything; `received` lists {method, url, headers, body}. */
export async function startReceiver() {
  const received = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      received.push({ method: req.method, url: req.url, headers: req.headers, body, json });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  return {
    url: `http://127.0.0.1:${port}/hooks/tpgate`,
    received,
    close: () => new Promise((r) => server.close(r)),
  };
}

// --- console sessions ---------------------------------------------------------

const exec = promisify(execFile);

/**
 * A one-time sign-in link from `tpgate console-login --role R --subject S [--tenant ID]` (its last
 * stdout line). The command reads the configuration like `tpgate serve`: the sandbox's database and
 * public base URL go in as TPGATE_DATABASE_URL and TPGATE_PUBLIC_BASE_URL.
 */
export async function consoleLogin({ role, subject, tenant }) {
  const args = ['console-login', '--role', role, '--subject', subject];
  if (tenant) args.push('--tenant', tenant);
  // tpgate reads every TPGATE_* variable as configuration and refuses unknown ones (TPGATE_BIN…).
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TPGATE_')));
  Object.assign(env, {
    TPGATE_DATABASE_URL: `sqlite://${SANDBOX_DB}`,
    TPGATE_PUBLIC_BASE_URL: BASE,
    // The command opens the store like `tpgate serve`, which wants a sealing key, though a sign-in
    // link seals nothing; the sandbox keeps its own key to itself, so any valid key does.
    TPGATE_SEALING_KEY: randomBytes(32).toString('base64'),
    RUST_LOG: 'warn',
    RUST_BACKTRACE: '0',
  });
  let out;
  try {
    out = await exec(TPGATE_BIN, args, { timeout: 30_000, env });
  } catch (e) {
    throw new Error(`tpgate ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
  const lines = out.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  const link = lines.at(-1) ?? '';
  assert.match(link, /\/console\/#\/sign-in\/[^/\s]+$/, `tpgate console-login printed no sign-in link:\n${out.stdout}`);
  assert.ok(link.startsWith(CONSOLE), `the link ${link} is not under ${CONSOLE}`);
  return link;
}

/** The code of a one-time link. */
export const linkCode = (link) => link.split('#/sign-in/')[1];

/** What the console sends with every request (CONTRACT.md). */
export const CONSOLE_HEADERS = { 'x-tpgate-console': '1', origin: ORIGIN };

/** POST /console/api/session from Node: {status, session, cookie ('tpgate_console=…'), setCookie}. */
export async function openSession(body) {
  const r = await request('POST', `${CONSOLE}api/session`, { headers: CONSOLE_HEADERS, body });
  const setCookie = r.headers.get('set-cookie') ?? '';
  const m = /(?:^|,\s*)(tpgate_console=[^;]*)/.exec(setCookie);
  return { status: r.status, session: r.json, text: r.text, cookie: m ? m[1] : undefined, setCookie };
}

/** A request with a session cookie, as the console sends it (override headers to misbehave). */
export async function withCookie(cookie, method, p, { headers = CONSOLE_HEADERS, body } = {}) {
  return request(method, new URL(p.replace(/^\//, ''), BASE).href, { headers: { ...headers, cookie }, body });
}

/** The session cookie of a browser context, as a Cookie header value. */
export async function contextCookie(context) {
  const c = (await context.cookies(BASE)).find((c) => c.name === 'tpgate_console');
  return c ? `${c.name}=${c.value}` : undefined;
}

/** Opens a one-time link in `page` and waits for the console to leave #/sign-in. */
export async function signInWithLink(page, link) {
  await page.goto(link);
  await page.waitForURL((u) => u.hash && !u.hash.startsWith('#/sign-in'), { timeout: 15_000 });
  await settle(page);
}

/** The session the page's console sees (GET /console/api/session from inside the page). */
export async function pageSession(page) {
  return page.evaluate(async () => {
    const r = await fetch('/console/api/session', { headers: { 'X-Tpgate-Console': '1' }, credentials: 'same-origin' });
    return { status: r.status, json: r.status === 200 ? await r.json() : await r.text() };
  });
}

// --- watching a page ------------------------------------------------------------

/**
 * Collects what must not happen on a console page: console errors, uncaught exceptions, failed
 * requests, HTTP ≥ 400 not announced with expect(), requests to any origin but the gateway's.
 * consoleErrors: false leaves console messages to another test (pages.test.mjs judges each page's).
 * @param {import('playwright-core').Page} page
 */
/** @type {WeakMap<object, ReturnType<typeof watch>>} */
const watched = new WeakMap();

export function watch(page, { label = '', consoleErrors = true } = {}) {
  const problems = [];
  /** @type {{method?: string, path: RegExp|string, status: number|number[], left?: number}[]} */
  let expected = [];
  const state = { inflight: 0, lastActivity: Date.now(), checkOrigin: true };
  const where = () => {
    try {
      return new URL(page.url()).hash || page.url();
    } catch {
      return page.url();
    }
  };
  const note = (msg) => problems.push(`${label ? label + ' ' : ''}[${where()}] ${msg}`);
  const isExpected = (req, status) => {
    const u = new URL(req.url());
    for (const e of expected) {
      if (e.method && e.method !== req.method()) continue;
      if (typeof e.path === 'string' ? u.pathname !== e.path : !e.path.test(u.pathname)) continue;
      const statuses = Array.isArray(e.status) ? e.status : [e.status];
      if (!statuses.includes(status)) continue;
      if (e.left !== undefined) {
        if (e.left <= 0) continue;
        e.left--;
      }
      return true;
    }
    return false;
  };
  page.on('console', (m) => {
    if (!consoleErrors || m.type() !== 'error') return;
    // Chromium's own line for an HTTP error or a failed load: the response and requestfailed
    // handlers below judge those (an expected 401 must not count twice).
    if (/^Failed to load resource: /.test(m.text())) return;
    const loc = m.location();
    note(`console error: ${m.text()}${loc?.url ? ` (${loc.url}:${loc.lineNumber})` : ''}`);
  });
  page.on('pageerror', (e) => note(`uncaught: ${e.stack || e.message}`));
  page.on('request', (req) => {
    state.inflight++;
    state.lastActivity = Date.now();
    const u = new URL(req.url());
    if (!state.checkOrigin || ['data:', 'blob:', 'about:'].includes(u.protocol)) return;
    if (u.origin !== ORIGIN) note(`request to another origin: ${req.method()} ${req.url()}`);
  });
  const done = () => {
    state.inflight = Math.max(0, state.inflight - 1);
    state.lastActivity = Date.now();
  };
  page.on('requestfinished', done);
  page.on('requestfailed', (req) => {
    done();
    const err = req.failure()?.errorText ?? '';
    // A navigation (page.goto, the app's own hash change) cancels what the old view still fetched.
    if (err === 'net::ERR_ABORTED') return;
    note(`request failed: ${req.method()} ${req.url()} ${err}`);
  });
  page.on('response', (res) => {
    const status = res.status();
    if (status < 400) return;
    const req = res.request();
    if (isExpected(req, status)) return;
    note(`HTTP ${status} ${req.method()} ${new URL(req.url()).pathname}${new URL(req.url()).search}`);
  });
  const w = {
    problems,
    state,
    /** Announces a response status (≥ 400) the test provokes; `times` limits how often it may occur. */
    expect(method, p, status, times) {
      expected.push({ method, path: p, status, left: times });
    },
    clearExpected() {
      expected = [];
    },
    /** Takes the problems so far (and forgets them). */
    take() {
      // The same message many times (e.g. one per chart point) once, with a count.
      const counts = new Map();
      for (const p of problems.splice(0, problems.length)) counts.set(p, (counts.get(p) ?? 0) + 1);
      return [...counts].map(([p, n]) => (n > 1 ? `${p} (×${n})` : p));
    },
    /** Fails the test with every problem so far. */
    assertClean(what = '') {
      const p = this.take();
      assert.deepEqual(p, [], `${what}: problems on the page:\n  ${p.join('\n  ')}`);
    },
  };
  watched.set(page, w);
  return w;
}

/**
 * Waits until the page has had no request in flight for `quiet` ms and nothing is marked
 * aria-busy (needs watch(page) for the request count; without it, the network-idle load state).
 * @param {import('playwright-core').Page} page
 */
export async function settle(page, { quiet = 250, timeout = 15_000 } = {}) {
  const w = watched.get(page);
  if (!w) {
    await page.waitForLoadState('networkidle', { timeout }).catch(() => {});
    return;
  }
  const end = Date.now() + timeout;
  while (Date.now() < end) {
    if (w.state.inflight === 0 && Date.now() - w.state.lastActivity >= quiet) {
      // ui.js: loading() is `p.loading` ("Loading…"); runAction marks its button aria-busy.
      const busy = await page
        .evaluate(() => !!document.querySelector('[aria-busy="true"], main .loading'))
        .catch(() => true);
      if (!busy && w.state.inflight === 0) return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the page did not settle within ${timeout} ms (${w.state.inflight} requests in flight)`);
}

// --- checks ---------------------------------------------------------------------------

/** axe-core on the page; returns the serious and critical violations, formatted. */
export async function axeViolations(page) {
  const loaded = await page.evaluate(() => typeof (/** @type {any} */ (window).axe) !== 'undefined');
  // Runtime.evaluate, so the page's CSP (script-src 'self') does not apply.
  if (!loaded) await page.evaluate(axeSource);
  const result = await page.evaluate(() =>
    /** @type {any} */ (window).axe.run(document, { resultTypes: ['violations'] }),
  );
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  return {
    bad,
    other: result.violations.filter((v) => !bad.includes(v)).map((v) => `${v.impact} ${v.id}`),
    text: bad
      .map(
        (v) =>
          `${v.impact} ${v.id}: ${v.help} (${v.helpUrl})\n` +
          v.nodes
            .slice(0, 6)
            .map((n) => `      ${n.target.join(' ')}\n        ${String(n.failureSummary).replace(/\n/g, '\n        ')}\n        ${n.html.slice(0, 200)}`)
            .join('\n') +
          (v.nodes.length > 6 ? `\n      … and ${v.nodes.length - 6} more` : ''),
      )
      .join('\n'),
  };
}

export async function assertNoSeriousA11y(page, what) {
  const v = await axeViolations(page);
  assert.equal(v.bad.length, 0, `axe-core: serious/critical violations on ${what}:\n${v.text}`);
  return v;
}

/** Whether the page scrolls sideways at the current viewport (tables must scroll inside themselves). */
export async function horizontalOverflow(page) {
  return page.evaluate(() => {
    const doc = document.documentElement;
    const over = doc.scrollWidth - doc.clientWidth;
    if (over <= 1) return null;
    // The widest elements sticking out, to name them.
    const vw = doc.clientWidth;
    const culprits = [...document.querySelectorAll('body *')]
      .filter((el) => el.getBoundingClientRect().right > vw + 1)
      .filter((el) => !el.parentElement || el.parentElement.getBoundingClientRect().right <= vw + 1)
      .slice(0, 5)
      .map((el) => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : ''} (right edge ${Math.round(el.getBoundingClientRect().right)}px)`);
    return { scrollWidth: doc.scrollWidth, clientWidth: doc.clientWidth, culprits };
  });
}

const safe = (s) => String(s).replace(/[^A-Za-z0-9._-]+/g, '_');

/**
 * Screenshots at desktop (1280×800) and phone (375×812) width, full page; returns the phone
 * width's horizontal overflow (null when none). The viewport goes back to desktop afterwards.
 */
export async function screenshots(page, name) {
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: path.join(SHOTS, `${safe(name)}--desktop.png`), fullPage: true });
  await page.setViewportSize(PHONE);
  await page.waitForTimeout(100);
  const overflow = await horizontalOverflow(page);
  await page.screenshot({ path: path.join(SHOTS, `${safe(name)}--phone.png`), fullPage: true });
  await page.setViewportSize(DESKTOP);
  return overflow;
}

/** Goes to a console route (hash) and waits for it to render. */
export async function open(page, hash) {
  const target = `${CONSOLE}#/${hash.replace(/^#?\/?/, '')}`;
  if (page.url() === target) {
    // Already there: load it afresh (after a change made elsewhere).
    await page.reload();
  } else if (page.url().startsWith(CONSOLE)) {
    // Same document: the hash router.
    await page.evaluate((h) => {
      location.hash = h;
    }, `#/${hash.replace(/^#?\/?/, '')}`);
  } else {
    await page.goto(target);
  }
  await settle(page);
  await page.locator('h1').first().waitFor({ state: 'visible' });
  await settle(page);
}

/** Every button-like control's accessible name inside the page's main content (or the whole body). */
export async function controlNames(page) {
  return page.evaluate(() => {
    const root = document.querySelector('main') ?? document.body;
    return [...root.querySelectorAll('button, [role="button"], input[type="submit"], input[type="button"], a[role="button"]')]
      .filter((el) => {
        const r = el.getBoundingClientRect();
        return r.width > 0 && r.height > 0 && !el.closest('[hidden]');
      })
      .map((el) => (el.getAttribute('aria-label') || el.textContent || /** @type {HTMLInputElement} */ (el).value || '').trim().replace(/\s+/g, ' '));
  });
}

/** English names of controls that change something; a platform_viewer must see none. */
export const ACTION_WORDS =
  /\b(create|new|add|delete|remove|revoke|suspend|resume|replay|rotate|edit|save|move|resync|enable|disable|refresh token|force refresh|set|update)\b/i;

export { assert };
