// The Shipping page (#/shipping) and the Mini Program page's shipping figures, against data made
// through the real APIs of the sandbox and its simulated WeChat:
// - pending orders: WeChat's trade_manage_remind_shipping pushed by the simulator for simulator
//   orders (tpgate records each at once as pending and reminded), one saying it was paid 30 h ago
//   (reconciliation's next tick, every 30 s, announces it overdue: overdue_level 1), one 2 h ago,
//   and one in another tenant;
// - durable shipments handed over with the sandbox tenant's API key (POST /v1/apps/{appid}/shipments):
//   one uploaded, one WeChat refuses for good (a payer that is not the order's: 10060031, failed),
//   and one of the overdue order kept queued by WeChat answering busy (a simulator fault, -1),
//   cleared afterwards.
// Checks: the tables, the overdue and failed rows' classes (and that style.css colours them), the
// filters (tenant, Mini Program, minimum age, shipment status, kept in the address), the empty
// states, a tenant admin seeing only its own, the Mini Program page's counts and link, both
// languages' headings, no console error, no failed request, no request to another host, axe-core.
import { after, before, describe, it } from 'node:test';

import {
  SANDBOX,
  adminOk,
  assert,
  assertNoSeriousA11y,
  consoleLogin,
  eventually,
  handOverShipment,
  launch,
  newContext,
  onboardWithoutBrowser,
  open,
  randomAppid,
  remindShippingPaidAgo,
  screenshots,
  settle,
  signInWithLink,
  sim,
  uniqueName,
  watch,
} from './helpers.mjs';
import { N } from './names.mjs';
import { click, pageText } from './ui.mjs';

const UPLOAD = '/wxa/sec/order/upload_shipping_info';

/** What before() made. */
const d = {
  appid: randomAppid(),
  other: { name: uniqueName('shipping-other'), id: '', appid: randomAppid() },
  /** @type {any} */ overdue: null,
  /** @type {any} */ fresh: null,
  /** @type {any} */ otherOrder: null,
  shipments: { uploaded: '', failed: '', queued: '' },
  faulted: false,
};

/** The body rows of the table in the section headed `heading`. */
function rowsOf(page, heading) {
  return page
    .locator('main section')
    .filter({ has: page.getByRole('heading', { name: heading, exact: true }) })
    .locator('tbody tr');
}

/** The row of the section headed `heading` that shows `text`. */
function rowWith(page, heading, text) {
  return rowsOf(page, heading).filter({ hasText: text });
}

/** Each body row's text, in order. */
async function rowTexts(page, heading) {
  return rowsOf(page, heading).allInnerTexts();
}

/** The class attribute of the row of `heading` showing `text` (asserting there is exactly one). */
async function rowClass(page, heading, text) {
  const row = rowWith(page, heading, text);
  assert.equal(await row.count(), 1, `one row with ${text} under “${heading}”: ${JSON.stringify(await rowTexts(page, heading))}`);
  return (await row.getAttribute('class')) ?? '';
}

describe('shipping page', { concurrency: false }, () => {
  /** @type {import('playwright-core').Browser} */
  let browser;
  /** @type {import('playwright-core').BrowserContext} */
  let ctx;
  /** @type {import('playwright-core').Page} */
  let page;
  /** @type {ReturnType<typeof watch>} */
  let w;

  before(async () => {
    browser = await launch();
    // Two Mini Programs: one in the sandbox's tenant (whose API key hands shipments over), one in another tenant.
    await onboardWithoutBrowser(SANDBOX.tenant_id, d.appid);
    d.other.id = (await adminOk('POST', '/admin/v1/tenants', { name: d.other.name })).id;
    await onboardWithoutBrowser(d.other.id, d.other.appid);

    // Pending orders, first: the overdue announcement waits for reconciliation's next tick.
    d.overdue = await remindShippingPaidAgo(d.appid, 30);
    d.fresh = await remindShippingPaidAgo(d.appid, 2);
    d.otherOrder = await remindShippingPaidAgo(d.other.appid, 5);

    // Durable shipments: one WeChat takes, one it refuses for good.
    const shipped = await sim('POST', '/sim/orders', { appid: d.appid });
    d.shipments.uploaded = (await handOverShipment(SANDBOX.api_key, d.appid, shipped)).id;
    const refused = await sim('POST', '/sim/orders', { appid: d.appid });
    d.shipments.failed = (await handOverShipment(SANDBOX.api_key, d.appid, refused, { openid: 'oNotThePayer0000000000000000' })).id;
    const status = async (id) => (await adminOk('GET', `/admin/v1/shipping/shipments?appid=${d.appid}&limit=200`)).items.find((s) => s.id === id);
    await eventually('the shipments uploaded and failed', async () =>
      (await status(d.shipments.uploaded))?.status === 'uploaded' && (await status(d.shipments.failed))?.status === 'failed');

    // One WeChat answers busy: queued, retrying, with the last errcode.
    await sim('POST', '/sim/faults', { path: UPLOAD, errcode: -1, times: 1000 });
    d.faulted = true;
    d.shipments.queued = (await handOverShipment(SANDBOX.api_key, d.appid, d.overdue)).id;
    await eventually('the shipment retrying after a busy answer', async () => {
      const s = await status(d.shipments.queued);
      return s && s.attempts >= 1 && s.errcode === -1 && ['queued', 'sending'].includes(s.status);
    });

    // Reconciliation ticks every 30 s: the order paid 30 h ago is announced overdue.
    await eventually('the order paid 30 h ago announced overdue', async () => {
      const items = (await adminOk('GET', `/admin/v1/shipping/pending?appid=${d.appid}&limit=200`)).items;
      const o = items.find((x) => x.transaction_id === d.overdue.transaction_id);
      return o && o.overdue_level >= 1 && o.shipment_id === d.shipments.queued;
    }, { timeout: 120_000, every: 1000 });

    ctx = await newContext(browser);
    page = await ctx.newPage();
    w = watch(page, { label: 'platform_admin' });
    await signInWithLink(page, await consoleLogin({ role: 'platform_admin', subject: 'shipping-admin' }));
  });

  after(async () => {
    if (d.faulted) await sim('POST', '/sim/faults', { path: UPLOAD, errcode: -1, times: 0 }).catch(() => {});
    await browser?.close();
  });

  it('is in the navigation', async () => {
    await open(page, 'overview');
    const link = page.getByRole('navigation').getByRole('link', { name: N.navShipping });
    assert.equal(await link.getAttribute('href'), '#/shipping');
    await link.click();
    await page.waitForURL(/#\/shipping$/);
    await settle(page);
    assert.equal(await page.locator('h1').innerText(), 'Shipping');
    assert.equal(await link.getAttribute('aria-current'), 'page');
    w.assertClean('#/shipping from the navigation');
  });

  it('lists pending orders oldest payment first, the overdue one highlighted with its queued shipment', async () => {
    await open(page, `shipping?appid=${d.appid}`);
    const overdue = await rowClass(page, 'Pending orders', d.overdue.transaction_id);
    assert.match(overdue, /\brow-overdue\b/, 'the overdue order is not highlighted');
    const fresh = await rowClass(page, 'Pending orders', d.fresh.transaction_id);
    assert.doesNotMatch(fresh, /\brow-overdue\b/, 'an order paid 2 h ago is highlighted as overdue');

    const texts = await rowTexts(page, 'Pending orders');
    const iOverdue = texts.findIndex((x) => x.includes(d.overdue.transaction_id));
    const iFresh = texts.findIndex((x) => x.includes(d.fresh.transaction_id));
    assert.ok(iOverdue < iFresh, `not oldest payment first: ${JSON.stringify(texts)}`);
    const row = texts[iOverdue];
    for (const want of [d.appid, d.overdue.out_trade_no, d.shipments.queued]) {
      assert.ok(row.includes(want), `the overdue order's row lacks ${want}: ${row}`);
    }
    assert.match(row, /\b30\b/, `the overdue order's age (30 h) is not shown: ${row}`);
    assert.match(row, /overdue/i, `the overdue order's row does not say overdue in words: ${row}`);
    assert.match(row, /queued/i, `the overdue order's queued shipment is not shown: ${row}`);
    assert.match(texts[iFresh], /\b2\b/, `the fresh order's age (2 h) is not shown: ${texts[iFresh]}`);
    assert.doesNotMatch(texts[iFresh], /overdue/i);

    // style.css colours the class (not an inline style).
    const cell = rowWith(page, 'Pending orders', d.overdue.transaction_id).locator('td').first();
    const [bg, styleAttr] = await cell.evaluate((el) => [getComputedStyle(el).backgroundColor, el.closest('tr')?.getAttribute('style')]);
    assert.equal(bg, 'rgb(253, 232, 232)', 'the overdue row is not tinted by style.css');
    assert.equal(styleAttr, null);
    w.assertClean('#/shipping pending orders');
  });

  it('lists durable shipments newest first, the failed one highlighted with its errcode and error, filtered by status', async () => {
    await open(page, `shipping?appid=${d.appid}`);
    const H = 'Durable shipments';
    const texts = await rowTexts(page, H);
    const at = (id) => texts.findIndex((x) => x.includes(id));
    const { uploaded, failed, queued } = d.shipments;
    assert.ok(at(uploaded) >= 0 && at(failed) >= 0 && at(queued) >= 0, `not every shipment is listed: ${JSON.stringify(texts)}`);
    assert.ok(at(queued) < at(failed) && at(failed) < at(uploaded), `not newest first: ${JSON.stringify(texts)}`);
    assert.match(texts[at(failed)], /\bfailed\b/);
    assert.ok(texts[at(failed)].includes('10060031'), `the failed shipment's errcode is not shown: ${texts[at(failed)]}`);
    assert.match(texts[at(failed)], /does not belong to this openid/, 'the failed shipment\'s error is not shown');
    assert.match(texts[at(uploaded)], /\buploaded\b/);
    assert.match(texts[at(queued)], /\b(queued|sending)\b/);
    assert.ok(texts[at(queued)].includes('-1'), `the retrying shipment's last errcode is not shown: ${texts[at(queued)]}`);
    assert.match(await rowClass(page, H, failed), /\brow-failed\b/, 'the failed shipment is not highlighted');
    assert.doesNotMatch(await rowClass(page, H, uploaded), /\brow-failed\b/);
    const bg = await rowWith(page, H, failed).locator('td').first().evaluate((el) => getComputedStyle(el).backgroundColor);
    assert.equal(bg, 'rgb(253, 232, 232)', 'the failed row is not tinted by style.css');

    const select = page.getByLabel(N.shipmentStatus);
    const only = async (status, id, others) => {
      await select.selectOption(status);
      await settle(page);
      const shown = await rowTexts(page, H);
      assert.ok(shown.some((x) => x.includes(id)), `status ${status}: ${id} is not listed: ${JSON.stringify(shown)}`);
      for (const o of others) assert.ok(!shown.some((x) => x.includes(o)), `status ${status}: ${o} is listed`);
      assert.match(new URL(page.url()).hash, new RegExp(`status=${status}`), `the status is not in the address: ${page.url()}`);
      assert.ok(new URL(page.url()).hash.includes(`appid=${d.appid}`), `the appid filter left the address: ${page.url()}`);
    };
    await only('failed', failed, [uploaded, queued]);
    await only('uploaded', uploaded, [failed, queued]);
    await only('queued', queued, [failed, uploaded]);
    // The address keeps it: a reload shows the same.
    await page.reload();
    await settle(page);
    await page.locator('h1').waitFor();
    await settle(page);
    assert.equal(await select.inputValue(), 'queued');
    assert.ok((await rowTexts(page, H)).some((x) => x.includes(queued)));
    assert.ok(!(await rowTexts(page, H)).some((x) => x.includes(uploaded)));
    w.assertClean('#/shipping shipments');
  });

  it('filters by tenant, Mini Program and minimum age', async () => {
    // Tenant: only the other tenant's order (and none of its shipments: it has none).
    await open(page, 'shipping');
    const form = page.getByRole('search');
    await form.locator(`option[value="${d.other.id}"]`).waitFor({ state: 'attached' });
    await form.getByLabel(N.filterTenant).selectOption(d.other.id);
    await click(page, N.applyFilters, form);
    let pending = (await rowTexts(page, 'Pending orders')).join('\n');
    assert.ok(pending.includes(d.otherOrder.transaction_id), `the other tenant's order is not listed: ${pending}`);
    assert.ok(!pending.includes(d.overdue.transaction_id), 'filtered by the other tenant, the sandbox tenant\'s order is listed');
    assert.ok(pending.includes(d.other.name), `the tenant column does not name ${d.other.name}: ${pending}`);
    assert.deepEqual(await rowTexts(page, 'Durable shipments'), ['No durable shipments match.']);
    assert.match(new URL(page.url()).hash, new RegExp(`tenant_id=${d.other.id}`));

    // Mini Program and minimum age: the order paid 2 h ago is left out at 24 h.
    await open(page, 'shipping');
    await form.getByLabel(N.filterAppid).fill(d.appid);
    await form.getByLabel(N.minAge).fill('24');
    await click(page, N.applyFilters, form);
    pending = (await rowTexts(page, 'Pending orders')).join('\n');
    assert.ok(pending.includes(d.overdue.transaction_id), `the order paid 30 h ago is not listed at 24 h: ${pending}`);
    assert.ok(!pending.includes(d.fresh.transaction_id), 'the order paid 2 h ago is listed at a minimum age of 24 h');
    assert.ok(!pending.includes(d.otherOrder.transaction_id), 'another Mini Program\'s order is listed');
    const hash = new URL(page.url()).hash;
    assert.ok(hash.includes(`appid=${d.appid}`) && hash.includes('min_age_hours=24'), `the filters are not in the address: ${hash}`);
    // Shipments are not filtered by age.
    assert.ok((await rowTexts(page, 'Durable shipments')).some((x) => x.includes(d.shipments.uploaded)));

    // Clearing brings the 2-hour-old order back.
    await click(page, N.clearFilters, form);
    await settle(page);
    assert.ok((await rowTexts(page, 'Pending orders')).some((x) => x.includes(d.fresh.transaction_id)));
    w.assertClean('#/shipping filters');
  });

  it('says when there is nothing to show', async () => {
    await open(page, `shipping?appid=${randomAppid()}`);
    assert.deepEqual(await rowTexts(page, 'Pending orders'), ['No paid order is waiting for shipment.']);
    assert.deepEqual(await rowTexts(page, 'Durable shipments'), ['No durable shipments match.']);
    w.assertClean('#/shipping empty');
  });

  it('is accessible and fits a phone', async () => {
    await open(page, `shipping?appid=${d.appid}`);
    await assertNoSeriousA11y(page, '#/shipping');
    const overflow = await screenshots(page, 'platform_admin--shipping-seeded');
    assert.equal(overflow, null, `wider than a phone: ${JSON.stringify(overflow)}`);
    w.assertClean('#/shipping a11y');
  });

  it('the Mini Program page counts pending and overdue orders and links to Shipping', async () => {
    // The counts move on their own (the queued shipment is uploaded once its
    // fault is cleared, which ships its order): the page must show what the
    // health view says when it loads.
    await open(page, `mini-programs/${d.appid}`);
    const health = await adminOk('GET', `/admin/v1/authorizers/${d.appid}/health`);
    const fact = async (term) => page.locator('main dl.facts > div').filter({ has: page.getByText(term, { exact: true }) }).locator('dd').innerText();
    assert.equal(await fact('Paid orders waiting for shipment'), String(health.shipping.pending));
    assert.equal(await fact('Of them overdue'), String(health.shipping.overdue));
    await page.getByRole('link', { name: N.openInShipping }).click();
    await page.waitForURL((u) => u.hash === `#/shipping?appid=${d.appid}`);
    await settle(page);
    // The page loads its table after the navigation settles.
    await eventually('the Mini Program\'s pending orders listed', async () =>
      (await rowTexts(page, 'Pending orders')).some((x) => x.includes(d.fresh.transaction_id)), { timeout: 10_000, every: 250 });
    w.assertClean('#/mini-programs → #/shipping');
  });

  it('a tenant admin sees only its own tenant\'s orders, with no tenant filter', async () => {
    const tctx = await newContext(browser);
    const tpage = await tctx.newPage();
    const tw = watch(tpage, { label: 'tenant_admin' });
    try {
      await signInWithLink(tpage, await consoleLogin({ role: 'tenant_admin', subject: 'shipping-tenant', tenant: d.other.id }));
      await open(tpage, 'shipping');
      const text = await pageText(tpage);
      assert.ok(text.includes(d.otherOrder.transaction_id), 'the tenant admin does not see its own pending order');
      for (const f of [d.appid, d.overdue.transaction_id, d.fresh.transaction_id, d.shipments.failed]) {
        assert.ok(!text.includes(f), `the tenant admin sees ${f} (another tenant's)`);
      }
      assert.equal(await tpage.getByRole('search').getByLabel(N.filterTenant).count(), 0, 'a tenant admin is offered a tenant filter');
      tw.assertClean('#/shipping as tenant_admin');
    } finally {
      await tctx.close();
    }
  });

  it('in Chinese (zh-CN)', async () => {
    const zctx = await newContext(browser, { lang: 'zh' });
    const zpage = await zctx.newPage();
    const zw = watch(zpage, { label: 'platform_admin zh' });
    try {
      await signInWithLink(zpage, await consoleLogin({ role: 'platform_admin', subject: 'shipping-zh' }));
      assert.equal(await zpage.getByRole('navigation').getByRole('link', { name: '发货', exact: true }).getAttribute('href'), '#/shipping');
      await open(zpage, `shipping?appid=${randomAppid()}`);
      assert.equal(await zpage.locator('h1').innerText(), '发货');
      assert.deepEqual(await zpage.locator('main h2').allInnerTexts(), ['待发货订单', '发货任务']);
      assert.deepEqual(await rowTexts(zpage, '待发货订单'), ['没有待发货的订单。']);
      assert.deepEqual(await rowTexts(zpage, '发货任务'), ['没有符合条件的发货任务。']);
      await open(zpage, `shipping?appid=${d.appid}`);
      const pending = (await rowTexts(zpage, '待发货订单')).find((x) => x.includes(d.overdue.transaction_id)) ?? '';
      assert.match(pending, /超时未发货/, `the overdue order does not say so in Chinese: ${pending}`);
      const failed = (await rowTexts(zpage, '发货任务')).find((x) => x.includes(d.shipments.failed)) ?? '';
      assert.match(failed, /失败/, `the failed shipment's status is not in Chinese: ${failed}`);
      const overflow = await screenshots(zpage, 'platform_admin--shipping-seeded--zh');
      assert.equal(overflow, null, `wider than a phone in Chinese: ${JSON.stringify(overflow)}`);
      zw.assertClean('#/shipping in Chinese');
    } finally {
      await zctx.close();
    }
  });
});
