// 7. Call log: every call tpgate made to WeChat (or refused to make), filterable; a request id
// finds the calls one request caused. Filters live in the hash:
// #/calls?tenant_id=…&appid=…&api=…&outcome=…&errcode=…&request_id=…&since=…&until=…

import { api } from '../api.js';
import { strings, fmtNumber } from '../i18n.js';
import { h, pageHeader, pagedTable, badge, yesNo } from '../ui.js';
import {
  isPlatform, filteredList, textInput, dateTimeInput, selectInput, tenantSelect, appidDatalist, datalist,
  tenantLink, tenantNames, appLink, absTime, hashWith, labelWithValue,
} from '../widgets.js';

/** @typedef {import('tpgate-api').components['schemas']['Call']} Call */
/** @typedef {import('tpgate-api').components['schemas']['CallOutcome']} CallOutcome */

/** @type {CallOutcome[]} */
export const OUTCOMES = ['ok', 'invalid', 'rate_limited', 'not_sent', 'wechat_refused', 'wechat_failed', 'timeout'];

/** Typed APIs (operationIds) and the platform's own WeChat paths, as suggestions for the API filter. */
const API_SUGGESTIONS = [
  'upload_shipping_info', 'upload_combined_shipping_info', 'get_order', 'get_order_list', 'notify_confirm_receive',
  'set_msg_jump_path', 'is_trade_managed', 'is_trade_management_confirmation_completed', 'opspecialorder',
  'trace_waybill', 'query_trace', 'update_waybill_goods', 'get_path', 'get_waybill_order', 'add_waybill_order',
  'cancel_waybill_order', 'batch_get_waybill_orders', 'list_logistics_accounts', 'list_logistics_deliveries', 'manage_plugin',
  '/cgi-bin/component/api_component_token', '/cgi-bin/component/api_create_preauthcode', '/cgi-bin/component/api_query_auth',
  '/cgi-bin/component/api_authorizer_token', '/cgi-bin/component/api_get_authorizer_info',
];

const t = strings({
  en: {
    'calls.subtitle': 'Every call tpgate made to WeChat, or refused to make before WeChat (not sent), newest first. Kept for the retention period (14 days by default).',
    'calls.tenant': 'Tenant',
    'calls.appid': 'Mini Program (appid)',
    'calls.api': 'API',
    'calls.api_help': 'An operationId (e.g. upload_shipping_info) or a WeChat path',
    'calls.outcome': 'Outcome',
    'calls.any': 'Any',
    'calls.errcode': 'WeChat errcode',
    'calls.request_id': 'Request id',
    'calls.request_id_help': 'The X-Request-Id of an answer: finds every WeChat call that request caused.',
    'calls.since': 'Since',
    'calls.until': 'Until',
    'calls.list': 'Calls to WeChat',
    'calls.empty': 'No calls match these filters.',
    'calls.col_time': 'Time',
    'calls.col_api': 'API',
    'calls.col_outcome': 'Outcome',
    'calls.col_mp': 'Mini Program',
    'calls.col_tenant': 'Tenant',
    'calls.col_errcode': 'errcode',
    'calls.col_errmsg': 'errmsg',
    'calls.col_status': 'HTTP status',
    'calls.col_latency': 'Latency (ms)',
    'calls.col_attempt': 'Attempt',
    'calls.col_sent': 'Sent to WeChat',
    'calls.col_request': 'Request id',
    'calls.component': 'platform token',
  },
  zh: {
    'calls.subtitle': 'tpgate 对微信的每次调用，以及在发往微信前被拒绝的调用（未发送），最新的在前。保留期内可查（默认 14 天）。',
    'calls.tenant': '租户',
    'calls.appid': '小程序（appid）',
    'calls.api': '接口',
    'calls.api_help': 'operationId（如 upload_shipping_info）或微信接口路径',
    'calls.outcome': '结果',
    'calls.any': '不限',
    'calls.errcode': '微信 errcode',
    'calls.request_id': '请求 ID',
    'calls.request_id_help': '应答中的 X-Request-Id：查找该请求引起的所有微信调用。',
    'calls.since': '开始时间',
    'calls.until': '结束时间',
    'calls.list': '微信接口调用',
    'calls.empty': '没有符合筛选条件的调用。',
    'calls.col_time': '时间',
    'calls.col_api': '接口',
    'calls.col_outcome': '结果',
    'calls.col_mp': '小程序',
    'calls.col_tenant': '租户',
    'calls.col_errcode': 'errcode',
    'calls.col_errmsg': 'errmsg',
    'calls.col_status': 'HTTP 状态',
    'calls.col_latency': '耗时（毫秒）',
    'calls.col_attempt': '第几次尝试',
    'calls.col_sent': '已发往微信',
    'calls.col_request': '请求 ID',
    'calls.component': '第三方平台令牌',
  },
});

/**
 * A long text shortened for a table cell, on one line (the whole text stays in the title and on
 * the call's page).
 * @param {string | undefined} s
 * @param {number} n
 * @returns {HTMLElement | string}
 */
function short(s, n) {
  if (!s) return '—';
  return h('code', { title: s.length > n ? s : undefined }, s.length > n ? `${s.slice(0, n - 1)}…` : s);
}

/** @type {import('../app.js').Page} */
export default {
  id: 'calls',
  path: /^\/calls$/,
  title: 'nav.calls',
  render(ctx) {
    const platform = isPlatform(ctx.session);
    /** @type {Record<string, string>} */
    const query = { ...ctx.query };
    delete query.cursor;
    if (!platform) delete query.tenant_id;
    const apps = appidDatalist(platform ? query.tenant_id : ctx.session.tenant_id);
    const apis = datalist(API_SUGGESTIONS);

    /**
     * @param {Map<string, string>} names tenant names by id
     * @returns {import('../ui.js').Column<Call>[]}
     */
    const columns = (names) => {
      /** @type {import('../ui.js').Column<Call>[]} */
      const cols = [
        { label: t('calls.col_time'), render: (c) => absTime(c.occurred_at) },
        {
          label: t('calls.col_api'),
          render: (c) => [h('a', { href: `#/calls/${encodeURIComponent(c.id)}` }, c.api),
            c.component_level ? [' ', h('span', { class: 'badge' }, t('calls.component'))] : null],
        },
        { label: t('calls.col_outcome'), render: (c) => badge(c.outcome) },
        { label: t('calls.col_mp'), render: (c) => appLink(c.appid) },
      ];
      if (platform) cols.push({ label: t('calls.col_tenant'), render: (c) => tenantLink(c.tenant_id, names) });
      cols.push(
        { label: t('calls.col_errcode'), className: 'num', render: (c) => (c.errcode === undefined || c.errcode === null ? '—' : h('code', null, String(c.errcode))) },
        { label: t('calls.col_errmsg'), render: (c) => short(c.errmsg, 60) },
        { label: t('calls.col_status'), className: 'num', render: (c) => (c.status === undefined || c.status === null ? '—' : String(c.status)) },
        { label: t('calls.col_latency'), className: 'num', render: (c) => fmtNumber(c.latency_ms) },
        { label: t('calls.col_attempt'), className: 'num', render: (c) => fmtNumber(c.attempt) },
        { label: t('calls.col_sent'), render: (c) => yesNo(c.sent) },
        {
          label: t('calls.col_request'),
          render: (c) => (c.request_id ? h('a', { href: hashWith('/calls', { request_id: c.request_id }) }, h('code', null, c.request_id)) : '—'),
        },
      );
      return cols;
    };

    const list = filteredList({
      collapsible: true,
      path: '/calls',
      query,
      extra: [apps, apis],
      fields: (q) => [
        { name: 'request_id', label: t('calls.request_id'), control: textInput(q.request_id, { maxlength: 64, type: 'search' }), help: t('calls.request_id_help') },
        ...(platform ? [{ name: 'tenant_id', label: t('calls.tenant'), control: tenantSelect(q.tenant_id) }] : []),
        { name: 'appid', label: t('calls.appid'), control: textInput(q.appid, { list: apps, placeholder: 'wx…', maxlength: 64 }) },
        { name: 'api', label: t('calls.api'), control: textInput(q.api, { list: apis, maxlength: 256 }), help: t('calls.api_help') },
        {
          name: 'outcome',
          label: t('calls.outcome'),
          control: selectInput([['', t('calls.any')], ...OUTCOMES.map((o) => /** @type {[string, string]} */ ([o, labelWithValue(badge(o).textContent ?? o, o)]))], q.outcome),
        },
        { name: 'errcode', label: t('calls.errcode'), control: textInput(q.errcode, { inputmode: 'numeric', maxlength: 20 }) },
        { name: 'since', label: t('calls.since'), control: dateTimeInput(q.since), datetime: true },
        { name: 'until', label: t('calls.until'), control: dateTimeInput(q.until), datetime: true },
      ],
      results: async (q) => pagedTable(columns(await tenantNames(ctx.session)), (cursor) => api.get('/admin/v1/calls', {
        tenant_id: platform ? q.tenant_id : undefined,
        appid: q.appid,
        api: q.api,
        outcome: q.outcome,
        errcode: q.errcode,
        request_id: q.request_id,
        since: q.since,
        until: q.until,
        cursor,
      }), { caption: t('calls.list'), empty: t('calls.empty') }),
    });

    return h('div', null,
      pageHeader(t('nav.calls'), null, t('calls.subtitle')),
      list.form,
      list.results);
  },
};
