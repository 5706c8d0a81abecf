// 7. One call to WeChat: everything the call log holds, bodies pretty-printed when captured.

import { api, seg } from '../api.js';
import { strings, fmtNumber } from '../i18n.js';
import { h, pageHeader, section, dl, badge, yesNo, copyButton, link, setTitle } from '../ui.js';
import { bodyBlock, code, tenantLink, tenantNames, appLink, absTime, hashWith } from '../widgets.js';

/** @typedef {import('tpgate-api').components['schemas']['Call']} Call */

const t = strings({
  en: {
    'call.title': 'Call to WeChat',
    'call.details': 'Details',
    'call.id': 'Call id',
    'call.time': 'Time',
    'call.api': 'API',
    'call.outcome': 'Outcome',
    'call.sent': 'Sent to WeChat',
    'call.component_level': 'Made with the platform’s own token',
    'call.attempt': 'Attempt',
    'call.attempt_help': '1 for the first try; a retry is a call of its own.',
    'call.status': 'HTTP status tpgate answered',
    'call.latency': 'Latency',
    'call.latency_ms': '{ms} ms',
    'call.tenant': 'Tenant',
    'call.appid': 'Mini Program',
    'call.request_id': 'Request id',
    'call.request_calls': 'Every call of this request',
    'call.errcode': 'WeChat errcode',
    'call.errmsg': 'WeChat errmsg (or why the call failed)',
    'call.rid': 'WeChat rid (for WeChat support)',
    'call.rid_short': 'WeChat rid',
    'call.idempotency_key': 'Idempotency-Key',
    'call.bodies': 'Bodies',
    'call.request_body': 'Request body (what was sent)',
    'call.response_body': 'Response body (what WeChat answered)',
    'call.no_bodies': 'No bodies kept for this call: they are captured only for a tenant’s proxied writes when the operator turns on “capture call bodies” for it.',
    'call.same_api': 'Calls of this API for this Mini Program',
    'call.none': '—',
  },
  zh: {
    'call.title': '微信接口调用',
    'call.details': '详情',
    'call.id': '调用 ID',
    'call.time': '时间',
    'call.api': '接口',
    'call.outcome': '结果',
    'call.sent': '已发往微信',
    'call.component_level': '使用第三方平台自身令牌',
    'call.attempt': '第几次尝试',
    'call.attempt_help': '首次为 1；每次重试单独记录。',
    'call.status': 'tpgate 应答的 HTTP 状态',
    'call.latency': '耗时',
    'call.latency_ms': '{ms} 毫秒',
    'call.tenant': '租户',
    'call.appid': '小程序',
    'call.request_id': '请求 ID',
    'call.request_calls': '此请求的所有调用',
    'call.errcode': '微信 errcode',
    'call.errmsg': '微信 errmsg（或调用失败原因）',
    'call.rid': '微信 rid（用于联系微信支持）',
    'call.rid_short': '微信 rid',
    'call.idempotency_key': 'Idempotency-Key',
    'call.bodies': '请求与应答内容',
    'call.request_body': '请求内容（发送的内容）',
    'call.response_body': '应答内容（微信的应答）',
    'call.no_bodies': '此调用未保存内容：仅当运营方为租户开启“保存调用内容”时，才会保存其经代理的写操作的内容。',
    'call.same_api': '此小程序的同一接口调用',
    'call.none': '—',
  },
});

/**
 * A value with a copy button.
 * @param {string | undefined} value
 * @param {string} what
 * @returns {HTMLElement | null}
 */
function copyable(value, what) {
  if (!value) return null;
  return h('span', { class: 'copy-row' }, h('code', null, value), copyButton(value, what));
}

/** @type {import('../app.js').Page} */
export default {
  id: 'call',
  path: /^\/calls\/([^/]+)$/,
  title: 'nav.call',
  async render(ctx) {
    /** @type {Call} */
    const c = await api.get(`/admin/v1/calls/${seg(ctx.params[0])}`);
    const names = await tenantNames(ctx.session);
    setTitle(`${c.api} · ${t('call.title')}`);

    /** @type {[string, import('../ui.js').Child][]} */
    const facts = [
      [t('call.id'), code(c.id)],
      [t('call.time'), absTime(c.occurred_at)],
      [t('call.api'), code(c.api)],
      [t('call.outcome'), badge(c.outcome)],
      [t('call.errcode'), c.errcode === undefined || c.errcode === null ? '—' : h('code', null, String(c.errcode))],
      [t('call.errmsg'), c.errmsg ?? '—'],
      [t('call.rid'), copyable(c.rid, t('call.rid_short')) ?? '—'],
      [t('call.sent'), yesNo(c.sent)],
      [t('call.status'), c.status === undefined || c.status === null ? '—' : String(c.status)],
      [t('call.latency'), t('call.latency_ms', { ms: fmtNumber(c.latency_ms) })],
      [t('call.attempt'), h('span', { title: t('call.attempt_help') }, fmtNumber(c.attempt))],
      [t('call.component_level'), yesNo(c.component_level)],
      [t('call.appid'), appLink(c.appid)],
      [t('call.tenant'), tenantLink(c.tenant_id, names)],
      [t('call.request_id'), c.request_id
        ? h('span', null, copyable(c.request_id, t('call.request_id')), ' ', link(hashWith('/calls', { request_id: c.request_id }), t('call.request_calls')))
        : '—'],
      [t('call.idempotency_key'), c.idempotency_key ? h('code', null, c.idempotency_key) : '—'],

    ];

    const bodies = c.request_body || c.response_body
      ? [
        c.request_body ? [h('h3', null, t('call.request_body')), bodyBlock(c.request_body, t('call.request_body'))] : null,
        c.response_body ? [h('h3', null, t('call.response_body')), bodyBlock(c.response_body, t('call.response_body'))] : null,
      ]
      : [h('p', { class: 'muted' }, t('call.no_bodies'))];

    return h('div', null,
      pageHeader(t('call.title'), null, [h('code', null, c.api), ' ', badge(c.outcome)]),
      section(t('call.details'), [
        dl(facts),
        c.appid ? h('p', null, link(hashWith('/calls', { appid: c.appid, api: c.api }), t('call.same_api'))) : null,
      ]),
      section(t('call.bodies'), bodies));
  },
};
