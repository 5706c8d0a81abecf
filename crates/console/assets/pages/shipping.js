// Shipping (发货): the paid orders waiting for shipment (待发货) that reconciliation and WeChat's
// reminders found, oldest payment first, overdue ones highlighted; and the durable shipments
// tenants handed over (POST /v1/apps/{appid}/shipments), newest first, by status.
// Filters live in the hash: #/shipping?tenant_id=…&appid=…&min_age_hours=…&status=…
// (min_age_hours applies to the pending orders, status to the shipments).

import { api } from '../api.js';
import { strings, fmtNumber } from '../i18n.js';
import { badge, formField, h, loadInto, pageHeader, pagedTable, problemView, replace, section } from '../ui.js';
import {
  isPlatform, filteredList, textInput, selectInput, tenantSelect, appidDatalist, tenantLink, tenantNames, appLink,
  absTime, code, hashWith, pushHash, labelWithValue,
} from '../widgets.js';

/** @typedef {import('tpgate-api').components['schemas']['PendingOrder']} PendingOrder */
/** @typedef {import('tpgate-api').components['schemas']['PendingOrderPage']} PendingOrderPage */
/** @typedef {import('tpgate-api').components['schemas']['ShipmentSummary']} ShipmentSummary */
/** @typedef {import('tpgate-api').components['schemas']['ShipmentSummaryPage']} ShipmentSummaryPage */
/** @typedef {import('tpgate-api').components['schemas']['ShipmentSummaryStatus']} ShipmentSummaryStatus */

/** @type {ShipmentSummaryStatus[]} */
export const SHIPMENT_STATUSES = ['queued', 'sending', 'uploaded', 'failed'];

/** The WeChat API a shipment's `kind` uploads with. */
const KIND_API = /** @type {Record<string, string>} */ ({ upload: 'upload_shipping_info', combined: 'upload_combined_shipping_info' });

const t = strings({
  en: {
    'ship.subtitle': 'Paid orders waiting for shipment (待发货), and the durable shipments tenants handed over to tpgate.',
    'ship.tenant': 'Tenant',
    'ship.appid': 'Mini Program (appid)',
    'ship.min_age': 'Paid at least (hours ago)',
    'ship.min_age_help': 'Pending orders only, e.g. 24.',
    'ship.pending': 'Pending orders',
    'ship.pending_help': 'Found by reconciliation (get_order_list, order_state 1) and by WeChat’s reminders (trade_manage_remind_shipping), oldest payment first, until they ship. Highlighted: announced overdue (shipping.overdue, 24 and 48 hours after payment by default).',
    'ship.pending_empty': 'No paid order is waiting for shipment.',
    'ship.col_mp': 'Mini Program',
    'ship.col_tenant': 'Tenant',
    'ship.col_transaction': 'Transaction id',
    'ship.col_trade_no': 'Merchant trade no',
    'ship.col_paid': 'Paid at',
    'ship.col_age': 'Age (hours)',
    'ship.col_reminded': 'Reminded by WeChat',
    'ship.col_queued': 'Shipment queued',
    'ship.overdue': 'overdue',
    'ship.overdue_n': 'overdue ×{n}',
    'ship.shipments': 'Durable shipments',
    'ship.shipments_help': 'Uploads handed over with POST /v1/apps/{appid}/shipments, newest first: tpgate sends each until WeChat has it or refuses it for good.',
    'ship.shipments_empty': 'No durable shipments match.',
    'ship.status': 'Shipment status',
    'ship.any_status': 'Any',
    'ship.status_help': '“Queued” includes the shipments being sent now.',
    'ship.col_created': 'Created',
    'ship.col_status': 'Status',
    'ship.col_order': 'Order',
    'ship.col_kind': 'API',
    'ship.col_attempts': 'Attempts',
    'ship.col_next': 'Next attempt',
    'ship.col_finished': 'Finished',
    'ship.col_errcode': 'errcode',
    'ship.col_error': 'Error',
    'ship.col_id': 'Shipment id',
    'ship.attempts_link': 'Upload calls in Calls',
  },
  zh: {
    'ship.subtitle': '已支付、等待发货（待发货）的订单，以及租户交给 tpgate 的发货任务。',
    'ship.tenant': '租户',
    'ship.appid': '小程序（appid）',
    'ship.min_age': '支付至少（小时前）',
    'ship.min_age_help': '仅用于待发货订单，例如 24。',
    'ship.pending': '待发货订单',
    'ship.pending_help': '由对账（get_order_list，order_state 1）和微信的发货提醒（trade_manage_remind_shipping）发现，按支付时间从早到晚排列，发货后移出。突出显示的为已通知超时未发货（shipping.overdue，默认在支付后 24 和 48 小时）的订单。',
    'ship.pending_empty': '没有待发货的订单。',
    'ship.col_mp': '小程序',
    'ship.col_tenant': '租户',
    'ship.col_transaction': '微信支付订单号',
    'ship.col_trade_no': '商户订单号',
    'ship.col_paid': '支付时间',
    'ship.col_age': '已支付（小时）',
    'ship.col_reminded': '微信提醒时间',
    'ship.col_queued': '排队中的发货任务',
    'ship.overdue': '超时未发货',
    'ship.overdue_n': '超时未发货 ×{n}',
    'ship.shipments': '发货任务',
    'ship.shipments_help': '通过 POST /v1/apps/{appid}/shipments 交给 tpgate 的发货信息录入，最新的在前：tpgate 会持续发送，直到微信收到或明确拒绝。',
    'ship.shipments_empty': '没有符合条件的发货任务。',
    'ship.status': '发货任务状态',
    'ship.any_status': '全部',
    'ship.status_help': '“排队中”包括正在发送的发货任务。',
    'ship.col_created': '创建时间',
    'ship.col_status': '状态',
    'ship.col_order': '订单',
    'ship.col_kind': '接口',
    'ship.col_attempts': '尝试次数',
    'ship.col_next': '下次尝试',
    'ship.col_finished': '完成时间',
    'ship.col_errcode': 'errcode',
    'ship.col_error': '错误',
    'ship.col_id': '发货任务 ID',
    'ship.attempts_link': '在调用记录页面查看录入调用',
  },
});

/**
 * The pending orders table's columns.
 * @param {boolean} platform
 * @param {Map<string, string>} names tenant names by id
 * @returns {import('../ui.js').Column<PendingOrder>[]}
 */
function pendingColumns(platform, names) {
  /** @type {import('../ui.js').Column<PendingOrder>[]} */
  const cols = [{ label: t('ship.col_mp'), render: (o) => appLink(o.appid) }];
  if (platform) cols.push({ label: t('ship.col_tenant'), render: (o) => tenantLink(o.tenant_id, names) });
  cols.push(
    { label: t('ship.col_transaction'), render: (o) => code(o.transaction_id) },
    { label: t('ship.col_trade_no'), render: (o) => code(o.merchant_trade_no) },
    { label: t('ship.col_paid'), render: (o) => absTime(o.pay_time) },
    {
      label: t('ship.col_age'),
      className: 'num',
      render: (o) => [fmtNumber(o.age_hours), o.overdue_level >= 1
        ? [' ', badge('bad', o.overdue_level > 1 ? t('ship.overdue_n', { n: o.overdue_level }) : t('ship.overdue'))]
        : null],
    },
    { label: t('ship.col_reminded'), render: (o) => absTime(o.reminded_at) },
    { label: t('ship.col_queued'), render: (o) => (o.shipment_id ? [badge('queued'), ' ', code(o.shipment_id)] : '—') },
  );
  return cols;
}

/**
 * The durable shipments table's columns.
 * @param {boolean} platform
 * @param {Map<string, string>} names tenant names by id
 * @returns {import('../ui.js').Column<ShipmentSummary>[]}
 */
function shipmentColumns(platform, names) {
  /** @type {import('../ui.js').Column<ShipmentSummary>[]} */
  const cols = [
    { label: t('ship.col_created'), render: (s) => absTime(s.created_at) },
    { label: t('ship.col_status'), render: (s) => badge(s.status) },
    // What went wrong, next to the status (a failed shipment's, or a queued one's last attempt).
    { label: t('ship.col_errcode'), className: 'num', render: (s) => (s.errcode === undefined || s.errcode === null ? '—' : h('code', null, String(s.errcode))) },
    { label: t('ship.col_error'), className: 'wide', render: (s) => s.error ?? '—' },
    { label: t('ship.col_mp'), render: (s) => appLink(s.appid) },
  ];
  if (platform) cols.push({ label: t('ship.col_tenant'), render: (s) => tenantLink(s.tenant_id, names) });
  cols.push(
    { label: t('ship.col_order'), render: (s) => code(s.order_key) },
    { label: t('ship.col_kind'), render: (s) => code(KIND_API[s.kind] ?? s.kind) },
    { label: t('ship.col_attempts'), className: 'num', render: (s) => fmtNumber(s.attempts) },
    { label: t('ship.col_next'), render: (s) => absTime(s.next_attempt_at) },
    { label: t('ship.col_finished'), render: (s) => absTime(s.finished_at) },
    { label: t('ship.col_id'), render: (s) => code(s.id) },
  );
  return cols;
}

/**
 * A promise's node, or the problem it failed with (one table's failure leaves the other shown).
 * @param {Promise<Node>} p
 * @returns {Promise<Node>}
 */
function orProblem(p) {
  return p.catch((e) => problemView(e));
}

/** @type {import('../app.js').Page} */
export default {
  id: 'shipping',
  path: /^\/shipping$/,
  title: 'nav.shipping',
  render(ctx) {
    const platform = isPlatform(ctx.session);
    /** @type {Record<string, string>} */
    const query = { ...ctx.query };
    delete query.cursor;
    if (!platform) delete query.tenant_id;
    // The shipments' status is chosen beside their table (it reloads only that table), not in the form.
    let status = SHIPMENT_STATUSES.includes(/** @type {ShipmentSummaryStatus} */ (query.status)) ? query.status : '';
    delete query.status;
    /** @type {Record<string, string>} */
    let filters = query;
    /** The hash for the current filters and status. */
    const hash = () => hashWith('/shipping', { ...filters, status });
    const apps = appidDatalist(platform ? query.tenant_id : ctx.session.tenant_id);

    /**
     * @param {Record<string, string>} q
     * @param {Map<string, string>} names
     */
    const pendingTable = (q, names) => pagedTable(pendingColumns(platform, names), async (cursor) => {
      /** @type {PendingOrderPage} */
      const page = await api.get('/admin/v1/shipping/pending', {
        tenant_id: platform ? q.tenant_id : undefined, appid: q.appid, min_age_hours: q.min_age_hours, cursor,
      });
      return page;
    }, {
      caption: t('ship.pending'),
      empty: t('ship.pending_empty'),
      rowHeader: platform ? 2 : 1,
      rowClass: (o) => (o.overdue_level >= 1 ? 'row-overdue' : undefined),
    });

    /**
     * @param {Record<string, string>} q
     * @param {Map<string, string>} names
     * @param {string} st
     */
    const shipmentsTable = (q, names, st) => pagedTable(shipmentColumns(platform, names), async (cursor) => {
      /** @type {ShipmentSummaryPage} */
      const page = await api.get('/admin/v1/shipping/shipments', {
        tenant_id: platform ? q.tenant_id : undefined, appid: q.appid, status: st, cursor,
      });
      // The API lists the shipments being sent with the queued ones: "sending" keeps only those.
      return st === 'sending' ? { ...page, items: page.items.filter((s) => s.status === 'sending') } : page;
    }, {
      caption: t('ship.shipments'),
      empty: t('ship.shipments_empty'),
      rowClass: (s) => (s.status === 'failed' ? 'row-failed' : undefined),
    });

    const list = filteredList({
      collapsible: true,
      path: '/shipping',
      query,
      extra: [apps],
      onChange: (q) => {
        filters = q;
        // filteredList wrote the form's filters into the hash: keep the status there too.
        if (status && location.hash !== hash()) history.replaceState(null, '', hash());
      },
      fields: (q) => [
        ...(platform ? [{ name: 'tenant_id', label: t('ship.tenant'), control: tenantSelect(q.tenant_id) }] : []),
        { name: 'appid', label: t('ship.appid'), control: textInput(q.appid, { list: apps, placeholder: 'wx…', maxlength: 64 }) },
        {
          name: 'min_age_hours',
          label: t('ship.min_age'),
          control: h('input', { type: 'number', min: '0', max: '100000', step: '1', inputmode: 'numeric', value: q.min_age_hours ?? '' }),
          help: t('ship.min_age_help'),
        },
      ],
      results: async (q) => {
        const names = await tenantNames(ctx.session);
        const select = selectInput([
          ['', t('ship.any_status')],
          ...SHIPMENT_STATUSES.map((s) => /** @type {[string, string]} */ ([s, labelWithValue(badge(s).textContent ?? s, s)])),
        ], status);
        const shipmentsBox = h('div');
        select.addEventListener('change', () => {
          status = SHIPMENT_STATUSES.includes(/** @type {ShipmentSummaryStatus} */ (select.value)) ? select.value : '';
          pushHash(hash());
          loadInto(shipmentsBox, () => shipmentsTable(filters, names, status));
        });
        const [pending, shipments] = await Promise.all([
          orProblem(pendingTable(q, names)),
          orProblem(shipmentsTable(q, names, status)),
        ]);
        replace(shipmentsBox, shipments);
        const calls = hashWith('/calls', { api: 'upload_shipping_info', appid: q.appid, tenant_id: platform ? q.tenant_id : undefined });
        return h('div', null,
          section(t('ship.pending'), [h('p', { class: 'help section-intro' }, t('ship.pending_help')), pending]),
          section(t('ship.shipments'), [
            h('p', { class: 'help section-intro' }, t('ship.shipments_help')),
            h('div', { class: 'filters' }, formField(t('ship.status'), select, t('ship.status_help'))),
            shipmentsBox,
          ], { actions: h('a', { href: calls }, t('ship.attempts_link')) }));
      },
    });

    return h('div', null,
      pageHeader(t('nav.shipping'), null, t('ship.subtitle')),
      list.form,
      list.results);
  },
};
