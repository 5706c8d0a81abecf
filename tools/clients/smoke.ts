// Smoke test of the TypeScript client: types from openapi/tpgate.json (openapi-typescript),
// calls through openapi-fetch. Type-checked with `tsc --strict`; run by tools/clients/run.sh.
//
// Usage: node smoke.js SANDBOX_JSON   (after `tsc -p` next to tpgate-api.d.ts)
// The sandbox's own onboarding link must have been followed (run.sh does it).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import createClient from "openapi-fetch";
import type { components, paths } from "./tpgate-api.js";

type Schemas = components["schemas"];

interface DemoOrder {
  transaction_id: string;
  payer_openid: string;
}
interface Sandbox {
  base_url: string;
  admin_token: string;
  api_key: string;
  authorizer_appid: string;
  demo_orders: DemoOrder[];
}

const sandbox = JSON.parse(readFileSync(process.argv[2], "utf8")) as Sandbox;
const BASE = sandbox.base_url.replace(/\/$/, "");
const APPID = sandbox.authorizer_appid;
const started = Date.now();
let passed = 0;

function step(msg: string): void {
  passed += 1;
  console.log(`  ok  ${msg}`);
}

function client(token: string) {
  return createClient<paths>({ baseUrl: BASE, headers: { Authorization: `Bearer ${token}` } });
}

function expectProblem(
  response: Response,
  error: Schemas["Problem"] | undefined,
  status: number,
): Schemas["Problem"] {
  assert.equal(response.status, status, `expected HTTP ${status}, got ${response.status}`);
  assert.match(response.headers.get("content-type") ?? "", /^application\/problem\+json/);
  assert.ok(error, "no problem body");
  assert.equal(error.status, status);
  assert.equal(typeof error.title, "string");
  return error;
}

const admin = client(sandbox.admin_token);
const demoKey = client(sandbox.api_key);
console.log(`typescript smoke against ${BASE}`);

// --- admin: tenant, API key, onboarding link, authorizers ----------------------
const name = `smoke-ts-${randomBytes(4).toString("hex")}`;
const created = await admin.POST("/admin/v1/tenants", { body: { name } });
assert.equal(created.response.status, 201, JSON.stringify(created.error));
const tenant: Schemas["Tenant"] = created.data!;
assert.equal(tenant.name, name);
assert.equal(tenant.status, "active");
step(`POST /admin/v1/tenants -> 201 Tenant id=${tenant.id}`);

const dup = await admin.POST("/admin/v1/tenants", { body: { name } });
step(`POST /admin/v1/tenants again -> 409 ${expectProblem(dup.response, dup.error, 409).type}`);

const tenants = await admin.GET("/admin/v1/tenants");
assert.ok(tenants.data?.items.some((t) => t.id === tenant.id), "new tenant not listed");
step(`GET /admin/v1/tenants -> ${tenants.data!.items.length} tenants, new one listed`);

const keyRes = await admin.POST("/admin/v1/tenants/{tenant_id}/api-keys", {
  params: { path: { tenant_id: tenant.id } },
  body: { name: "smoke" },
});
assert.equal(keyRes.response.status, 201, JSON.stringify(keyRes.error));
const apiKey: Schemas["CreatedApiKey"] = keyRes.data!;
assert.ok(apiKey.key.startsWith("tpk_") && apiKey.key.startsWith(apiKey.prefix));
assert.equal(apiKey.tenant_id, tenant.id);
step(`POST .../api-keys -> 201, key shown once (prefix ${apiKey.prefix})`);

// The key must never be shown again. A key listing is not in every spec version, so this one
// call goes around the typed client: a 404/405 means "no such endpoint".
const listing = await fetch(`${BASE}/admin/v1/tenants/${tenant.id}/api-keys`, {
  headers: { Authorization: `Bearer ${sandbox.admin_token}` },
});
const listingBody = await listing.text();
if (listing.status === 200) {
  assert.ok(!listingBody.includes(apiKey.key), "GET .../api-keys shows the full key");
  assert.ok(listingBody.includes(apiKey.prefix), "GET .../api-keys does not list the new key's prefix");
}
const auths0 = await admin.GET("/admin/v1/authorizers", { params: { query: { tenant_id: tenant.id } } });
assert.deepEqual(auths0.data?.items, [], "new tenant already has authorizers");
assert.ok(!JSON.stringify([tenants.data, auths0.data]).includes(apiKey.key));
step(`the key is not shown again (GET .../api-keys: HTTP ${listing.status}; tenants, authorizers)`);

const ownAppid = `wx${randomBytes(8).toString("hex")}`;
const linkRes = await admin.POST("/admin/v1/tenants/{tenant_id}/onboarding-links", {
  params: { path: { tenant_id: tenant.id } },
  body: { auth_type: 2, biz_appid: ownAppid, expires_in_secs: 600, single_use: true },
});
assert.equal(linkRes.response.status, 201, JSON.stringify(linkRes.error));
const link: Schemas["CreatedOnboardingLink"] = linkRes.data!;
assert.ok(link.url.startsWith(`${BASE}/onboard/`) && link.single_use);
step(`POST .../onboarding-links -> 201 (biz_appid ${ownAppid})`);

const landing = await fetch(link.url);
assert.equal(landing.status, 200, `the onboarding link's landing page answered HTTP ${landing.status}`);
// Its button, with the Referer a browser sends (the page's policy: origin).
const page = await fetch(`${link.url}/authorize`, {
  method: "POST",
  redirect: "follow",
  headers: { "content-type": "application/x-www-form-urlencoded", referer: `${BASE}/` },
  body: "page=pc",
});
assert.equal(page.status, 200, `onboarding link ended in HTTP ${page.status}`);
const auths = await admin.GET("/admin/v1/authorizers", { params: { query: { tenant_id: tenant.id } } });
const mine: Schemas["Authorizer"] | undefined = auths.data?.items.find((a) => a.appid === ownAppid);
assert.ok(mine && mine.status === "active" && mine.permission_sets.includes(142), JSON.stringify(auths.data));
step(`onboarding link followed; GET /admin/v1/authorizers -> ${ownAppid} active, sets ${mine.permission_sets}`);

// --- proxy: typed calls with API keys --------------------------------------------
const [order0, , order2] = sandbox.demo_orders;
const got = await demoKey.POST("/v1/apps/{appid}/wxa/sec/order/get_order", {
  params: { path: { appid: APPID } },
  body: { transaction_id: order0.transaction_id },
});
assert.equal(got.response.status, 200, JSON.stringify(got.error));
const order = got.data!.order;
assert.ok(order, "get_order: no order");
assert.equal(got.data!.errcode, 0);
assert.equal(order.transaction_id, order0.transaction_id);
assert.equal(order.openid, order0.payer_openid);
assert.ok(Number.isInteger(order.paid_amount) && order.paid_amount > 0);
assert.equal(typeof order.in_complaint, "boolean");
const state: number = order.order_state;
step(`get_order (demo key) -> 200, order_state ${state}, paid ${order.paid_amount}`);

const uploadTime = new Date(Date.now() + 8 * 3600e3).toISOString().replace(/\.\d+Z$/, "+08:00");
const upload: Schemas["UploadShippingInfoRequest"] = {
  order_key: { order_number_type: 2, transaction_id: order2.transaction_id },
  logistics_type: 1,
  delivery_mode: 1,
  shipping_list: [
    { tracking_no: "SFTS0001", express_company: "SF", item_desc: "smoke item *1", contact: { receiver_contact: "189****1234" } },
  ],
  upload_time: uploadTime,
  payer: { openid: order2.payer_openid },
};
const idem = `smoke-ts-${randomBytes(8).toString("hex")}`;
const uploadOpts = {
  params: { path: { appid: APPID }, header: { "Idempotency-Key": idem } },
  body: upload,
};
const first = await demoKey.POST("/v1/apps/{appid}/wxa/sec/order/upload_shipping_info", uploadOpts);
assert.equal(first.response.status, 200, JSON.stringify(first.error));
assert.equal(first.data!.errcode, 0);
const again = await demoKey.POST("/v1/apps/{appid}/wxa/sec/order/upload_shipping_info", uploadOpts);
assert.equal(again.response.status, 200);
assert.equal(again.response.headers.get("idempotent-replayed"), "true");
const shipped = await demoKey.POST("/v1/apps/{appid}/wxa/sec/order/get_order", {
  params: { path: { appid: APPID } },
  body: { transaction_id: order2.transaction_id },
});
assert.equal(shipped.data?.order?.order_state, 2);
assert.ok(shipped.data?.order?.shipping?.shipping_list?.some((p) => p.tracking_no === "SFTS0001"));
step("upload_shipping_info -> 200, replay -> Idempotent-Replayed: true; get_order -> order_state 2");

const ownKey = client(apiKey.key);
const list = await ownKey.POST("/v1/apps/{appid}/wxa/sec/order/get_order_list", {
  params: { path: { appid: ownAppid } },
  body: {},
});
assert.equal(list.response.status, 200, JSON.stringify(list.error));
step(`get_order_list (new key, ${ownAppid}) -> 200, ${list.data!.order_list?.length ?? 0} orders`);
const foreign = await ownKey.POST("/v1/apps/{appid}/wxa/sec/order/get_order", {
  params: { path: { appid: APPID } },
  body: { transaction_id: order0.transaction_id },
});
expectProblem(foreign.response, foreign.error, 404);
step(`get_order (new key on the demo tenant's ${APPID}) -> 404 problem`);

// --- errors: problem+json with `field` ---------------------------------------------
const twoParcels = await demoKey.POST("/v1/apps/{appid}/wxa/sec/order/upload_shipping_info", {
  params: { path: { appid: APPID } },
  body: { ...upload, shipping_list: [...upload.shipping_list, ...upload.shipping_list] },
});
const p1 = expectProblem(twoParcels.response, twoParcels.error, 400);
assert.equal(p1.field, "shipping_list");
assert.equal(typeof p1.prevents_errcode, "number");
step(`upload_shipping_info (2 parcels, unified) -> 400 field=${p1.field} prevents_errcode=${p1.prevents_errcode}`);

const missing = await demoKey.POST("/v1/apps/{appid}/wxa/sec/order/upload_shipping_info", {
  params: { path: { appid: APPID } },
  // Deliberately not a valid body: the types would refuse it.
  body: { order_key: upload.order_key } as unknown as Schemas["UploadShippingInfoRequest"],
});
const p2 = expectProblem(missing.response, missing.error, 400);
assert.equal(p2.field, "logistics_type");
step(`upload_shipping_info (body without logistics_type) -> 400 field=${p2.field}`);

const nobody = client(`tpk_${"0".repeat(64)}`);
const unauth = await nobody.POST("/v1/apps/{appid}/wxa/sec/order/get_order", {
  params: { path: { appid: APPID } },
  body: { transaction_id: order0.transaction_id },
});
expectProblem(unauth.response, unauth.error, 401);
step("get_order with an unknown API key -> 401 problem");

console.log(`typescript smoke: ${passed} checks passed in ${((Date.now() - started) / 1000).toFixed(1)}s`);
