// node-easywechat (a real WeChat SDK from npm) against tpgate's WeChat-compatible host.
//
//   TPGATE_SANDBOX_JSON=<sandbox.json> SDK_NODE_DIR=<dir with node_modules> node --test tools/sdks/test_node.mjs
//
// The sandbox's onboarding link must have been followed (tools/sdks/run.sh does it). The SDK talks to
// `compat_url` when the sandbox JSON has one, else to `base_url`; the admin API and the simulator's /sim
// controls are used directly (fetch) only to set the scene.
//
// How node-easywechat 3.6.2 is pointed at tpgate: its documented `http` option is axios' request config,
// so `http.baseURL` moves both the API calls and its token flow (`cgi-bin/token`, or `cgi-bin/stable_token`
// with `use_stable_access_token: true`) to tpgate; tokens are kept in its default file cache, here a temp
// dir. The shipping APIs are not wrapped by the SDK: they go through its generic client,
// `app.getClient().postJson('wxa/sec/order/...', body)`, which adds `?access_token=`. It reports WeChat's
// errors the SDK's way, HTTP 200 with `response.isFailed()` (errcode != 0; needs the failure judge that
// miniApp() below re-attaches); it throws only for HTTP >= 300.
// It has no automatic refresh on 40001: after one, the caller refreshes with `getAccessToken().refresh()`.
//
// Every request is recorded through the SDK's own logger hook (`client.setLogger`), which sees the token
// requests too (one axios instance per app).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(process.env.SDK_NODE_DIR ?? HERE, 'package.json'));
const { MiniApp } = require('node-easywechat');
const SDK_VERSION = require('node-easywechat/package.json').version;

const SANDBOX = JSON.parse(readFileSync(process.env.TPGATE_SANDBOX_JSON ?? process.argv[2], 'utf8'));
const slash = (u) => u.replace(/\/+$/, '') + '/';
const BASE = slash(SANDBOX.base_url);
const COMPAT = slash(SANDBOX.compat_url ?? SANDBOX.base_url);
const SIM = slash(SANDBOX.simulator_url);
const APPID = SANDBOX.authorizer_appid;
const DEMO_KEY = SANDBOX.api_key;
const ORDER = SANDBOX.demo_orders[1]; // the wechatpy test ships demo order 0
const CACHE = mkdtempSync(join(tmpdir(), 'tpgate-easywechat-'));
const T = { timeout: 60_000 }; // per test: a hang fails the test
after(() => rmSync(CACHE, { recursive: true, force: true }));

// Seed errcodes (crates/wechat-api/src/shipping/mod.rs) and WeChat's own.
const UNIFIED_NEEDS_ONE_ENTRY = 268485228;
const MISSING_TRANSACTION_ID = 268485195;
const ORDER_NOT_FOUND = 10060001;

/** A MiniApp on tpgate, with every request it makes recorded. */
function miniApp(appId, secret, extra = {}) {
  const app = new MiniApp({
    app_id: appId,
    secret,
    http: { baseURL: COMPAT, timeout: 20_000 },
    file_cache: { path: CACHE },
    ...extra,
  });
  // MiniApp.createClient hands AccessTokenAwareClient an errcode-based failure judge, which that class drops
  // when given the app's HTTP client (3.6.2: `client || HttpClient.create(null, failureJudge, …)`), so
  // isFailed() would look at the HTTP status only. The same judge, set with the SDK's own API:
  app.getHttpClient().judgeFailureUsing((r) => Boolean(r.toObject()?.errcode ?? 0) || r.toObject()?.error != null);
  const log = [];
  app.getClient().setLogger((phase, options, usedMs, response) => {
    if (phase === 'before') {
      log.push({ method: options.method.toUpperCase(), url: options.url, params: { ...options.params }, data: options.data });
      if (log.length > 12) throw new Error(`more than 12 requests from one app: a retry loop? ${brief(log)}`);
    } else {
      Object.assign(log.at(-1), {
        status: response.status,
        contentType: String(response.headers['content-type'] ?? ''),
        body: response.data,
      });
    }
  });
  return { app, client: app.getClient(), log };
}

function brief(log) {
  return log
    .map((e) => `\n    ${e.method} ${e.url} -> HTTP ${e.status} [${e.contentType}] ${JSON.stringify(e.body)?.slice(0, 240)}`)
    .join('');
}

/** Every answer: HTTP 200, JSON, a JSON object. */
function wechatShaped(entries, log) {
  for (const e of entries) {
    assert.ok(
      e.status === 200 && e.contentType.includes('json') && e.body && typeof e.body === 'object',
      `${e.method} ${e.url}: not WeChat-shaped (HTTP 200 + JSON object)${brief(log)}`,
    );
  }
}

const wxa = (client, api, body) => client.postJson(`wxa/sec/order/${api}`, body);

function uploadBody(order, changes = {}) {
  const now = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 19) + '+08:00';
  return {
    order_key: { order_number_type: 2, transaction_id: order.transaction_id },
    logistics_type: 1,
    delivery_mode: 1,
    shipping_list: [
      { tracking_no: 'SF1234567890', express_company: 'SF', item_desc: 'Demo item *1', contact: { receiver_contact: '189****1234' } },
    ],
    upload_time: now,
    payer: { openid: order.payer_openid },
    ...changes,
  };
}

/** The errcode in node-easywechat's token error ("Failed to get [stable ]access_token: {json}"). */
async function tokenFailure(promise, what) {
  let error;
  try {
    const token = await promise;
    assert.fail(`${what}: expected node-easywechat to throw, got token ${token}`);
  } catch (e) {
    error = e;
  }
  const m = /^Failed to get (?:stable )?access_token: (\{.*\})$/s.exec(error.message);
  assert.ok(m, `${what}: unexpected error ${error.stack}`);
  return JSON.parse(m[1]);
}

async function admin(method, path, body, status = 200) {
  const r = await fetch(BASE + path.replace(/^\//, ''), {
    method,
    headers: { authorization: `Bearer ${SANDBOX.admin_token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  assert.equal(r.status, status, `admin ${method} ${path}: ${text.slice(0, 400)}`);
  return text ? JSON.parse(text) : null;
}

const S = {}; // shared by the tests, in order

test(`node-easywechat ${SDK_VERSION} on ${COMPAT}: token through GET /cgi-bin/token`, T, async (t) => {
  const { app, client, log } = miniApp(APPID, DEMO_KEY);
  const token = await app.getAccessToken().getToken();
  assert.equal(log.length, 1, `one request expected${brief(log)}`);
  const [e] = log;
  assert.equal(e.method, 'GET');
  assert.equal(e.url, 'cgi-bin/token');
  assert.deepEqual(e.params, { grant_type: 'client_credential', appid: APPID, secret: DEMO_KEY });
  wechatShaped(log, log);
  assert.deepEqual(Object.keys(e.body).sort(), ['access_token', 'expires_in'], brief(log));
  assert.equal(e.body.expires_in, 7200);
  assert.equal(token, e.body.access_token);
  assert.notEqual(token, DEMO_KEY, 'the access token is the API key itself');
  assert.equal(await app.getAccessToken().getToken(), token, 'the cached token');
  assert.equal(log.length, 1, `node-easywechat fetched the token again instead of using its cache${brief(log)}`);
  Object.assign(S, { app, client, log, token });
  t.diagnostic(`access_token (${token.length} chars), expires_in 7200, cached`);
});

test('token through POST /cgi-bin/stable_token (use_stable_access_token), then a call with it', T, async (t) => {
  const { app, client, log } = miniApp(APPID, DEMO_KEY, { use_stable_access_token: true });
  const token = await app.getAccessToken().getToken();
  const forced = await app.getAccessToken().getStableAccessToken(true);
  assert.equal(log.length, 2, brief(log));
  for (const [e, force] of [[log[0], false], [log[1], true]]) {
    assert.equal(e.method, 'POST');
    assert.equal(e.url, 'cgi-bin/stable_token');
    assert.deepEqual(JSON.parse(e.data), { grant_type: 'client_credential', appid: APPID, secret: DEMO_KEY, force_refresh: force });
    assert.deepEqual(Object.keys(e.body).sort(), ['access_token', 'expires_in'], brief(log));
    // A forced token is new (7200 s); the stable one may be the current token, with what it has left.
    assert.ok(force ? e.body.expires_in === 7200 : e.body.expires_in > 300 && e.body.expires_in <= 7200, brief(log));
  }
  wechatShaped(log, log);
  assert.ok(token && forced, 'two tokens');
  const r = await wxa(client, 'get_order', { transaction_id: ORDER.transaction_id });
  assert.ok(r.isSuccessful(), `get_order with the stable token: ${r.toJson()}${brief(log)}`);
  assert.equal(log.at(-1).params.access_token, forced, 'the call used the force-refreshed token');
  t.diagnostic(`stable_token x2 (force_refresh false, true); get_order with it -> errcode ${r.toObject().errcode}`);
});

test('get_order', T, async (t) => {
  const { client, log, token } = S;
  const n = log.length;
  const r = await wxa(client, 'get_order', { transaction_id: ORDER.transaction_id });
  const sent = log.slice(n);
  assert.equal(sent.length, 1, brief(log));
  assert.equal(sent[0].method, 'POST');
  assert.equal(sent[0].url, 'wxa/sec/order/get_order');
  assert.equal(sent[0].params.access_token, token);
  wechatShaped(sent, log);
  assert.ok(r.isSuccessful(), `node-easywechat judged it failed: ${r.toJson()}`);
  const { errcode, order } = r.toObject();
  assert.equal(errcode, 0);
  assert.equal(order?.transaction_id, ORDER.transaction_id, r.toJson());
  assert.equal(order.openid, ORDER.payer_openid, r.toJson());
  assert.ok([1, 2].includes(order.order_state), `order_state 1 (paid; 2 if shipped by an earlier run): ${r.toJson()}`);
  S.orderState = order.order_state;
  t.diagnostic(`errcode 0, order ${order.transaction_id} state ${order.order_state}`);
});

test('upload_shipping_info, then get_order', T, async (t) => {
  const { client, log } = S;
  let order = ORDER;
  if (S.orderState !== 1) {
    // shipped by an earlier run on this sandbox: a fresh paid order from the simulator
    const r = await fetch(SIM + 'sim/orders', { method: 'POST', body: JSON.stringify({ appid: APPID }), headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 200);
    const o = await r.json();
    order = { transaction_id: o.transaction_id, payer_openid: o.openid };
  }
  const n = log.length;
  const r = await wxa(client, 'upload_shipping_info', uploadBody(order));
  assert.ok(r.isSuccessful(), r.toJson());
  assert.deepEqual(r.toObject(), { errcode: 0, errmsg: 'ok' });
  const after = (await wxa(client, 'get_order', { transaction_id: order.transaction_id })).toObject();
  wechatShaped(log.slice(n), log);
  assert.equal(after.order?.order_state, 2, JSON.stringify(after));
  assert.match(JSON.stringify(after.order.shipping), /SF1234567890/);
  t.diagnostic(`${order.transaction_id}: ${r.toJson()}; get_order -> state 2 with the tracking number`);
});

async function seedRule(t, api, body, errcode) {
  const { client, log } = S;
  const n = log.length;
  const r = await wxa(client, api, body); // HTTP 200: node-easywechat does not throw
  const sent = log.slice(n);
  wechatShaped(sent, log);
  assert.equal(sent.length, 1, brief(log));
  assert.ok(r.isFailed(), `node-easywechat should judge errcode != 0 a failure: ${r.toJson()}`);
  const got = r.toObject();
  assert.equal(got.errcode, errcode, `expected the seed's errcode: ${r.toJson()}`);
  assert.ok(typeof got.errmsg === 'string' && got.errmsg.length > 3, `errmsg should explain: ${r.toJson()}`);
  t.diagnostic(r.toJson());
}

test('seed rule: unified delivery with two parcels -> 268485228', T, async (t) => {
  const parcel = { tracking_no: 'YT1', express_company: 'YTO', item_desc: 'Demo item *1' };
  await seedRule(t, 'upload_shipping_info', uploadBody(ORDER, { shipping_list: [parcel, { ...parcel, tracking_no: 'YT2' }] }), UNIFIED_NEEDS_ONE_ENTRY);
});

test('seed rule: order_key without transaction_id -> 268485195', T, async (t) => {
  await seedRule(t, 'upload_shipping_info', uploadBody(ORDER, { order_key: { order_number_type: 2 } }), MISSING_TRANSACTION_ID);
});

test("WeChat's own errcode passed through (unknown order -> 10060001)", T, async (t) => {
  const unknown = '4200000000' + [...randomBytes(18)].map((b) => b % 10).join('');
  await seedRule(t, 'get_order', { transaction_id: unknown }, ORDER_NOT_FOUND);
});

test('token errors: unknown appid 40013, unknown key 40125 (both token endpoints), empty appid 41002, empty secret 41004', T, async (t) => {
  const out = [];
  for (const [appid, secret, stable, want, what] of [
    ['wx' + randomBytes(8).toString('hex'), DEMO_KEY, false, 40013, 'unknown appid (token)'],
    ['wx' + randomBytes(8).toString('hex'), DEMO_KEY, true, 40013, 'unknown appid (stable_token)'],
    [APPID, 'tpk_' + randomBytes(32).toString('hex'), false, 40125, 'unknown key (token)'],
    [APPID, 'tpk_' + randomBytes(32).toString('hex'), true, 40125, 'unknown key (stable_token)'],
    ['', DEMO_KEY, false, 41002, 'empty appid (token)'], // e.g. an unset environment variable
    [APPID, '', true, 41004, 'empty secret (stable_token)'],
  ]) {
    const { app, log } = miniApp(appid, secret, { use_stable_access_token: stable });
    const body = await tokenFailure(app.getAccessToken().getToken(), what);
    assert.equal(body.errcode, want, `${what}: ${JSON.stringify(body)}`);
    assert.equal(log.length, 1, brief(log));
    wechatShaped(log, log);
    out.push(`${what} -> ${body.errcode}`);
  }
  t.diagnostic(out.join(', '));
});

test('revoked key: the call gets 40001, the refresh fails cleanly', T, async (t) => {
  const created = await admin('POST', `admin/v1/tenants/${SANDBOX.tenant_id}/api-keys`,
    { name: `sdk-node-${randomBytes(4).toString('hex')}`, scopes: ['proxy_read', 'proxy_write'] }, 201);
  const { app, client, log } = miniApp(APPID, created.key);
  const ok = await wxa(client, 'get_order', { transaction_id: ORDER.transaction_id });
  assert.ok(ok.isSuccessful(), `the new key's first call: ${ok.toJson()}${brief(log)}`);
  await admin('POST', `admin/v1/tenants/${SANDBOX.tenant_id}/api-keys/${created.id}/revoke`);
  const n = log.length;
  const started = Date.now();
  const r = await wxa(client, 'get_order', { transaction_id: ORDER.transaction_id });
  assert.ok(r.isFailed(), r.toJson());
  assert.equal(r.toObject().errcode, 40001, `a revoked key's token: ${r.toJson()}`);
  // node-easywechat does not refresh by itself; its refresh, as a caller does after 40001:
  const body = await tokenFailure(app.getAccessToken().refresh(), 'refresh after revoking');
  assert.ok([40125, 40001].includes(body.errcode), `refresh: expected 40125 or 40001, got ${JSON.stringify(body)}`);
  const sent = log.slice(n);
  assert.deepEqual(sent.map((e) => `${e.method} ${e.url}`), ['POST wxa/sec/order/get_order', 'GET cgi-bin/token'], brief(log));
  wechatShaped(sent, log);
  const still = await wxa(S.client, 'get_order', { transaction_id: ORDER.transaction_id });
  assert.ok(still.isSuccessful(), `the demo key after revoking another key: ${still.toJson()}`);
  t.diagnostic(`get_order -> 40001; refresh -> ${body.errcode} (${JSON.stringify(body.errmsg)}) in ${Date.now() - started} ms, 2 requests; demo key still works`);
});
