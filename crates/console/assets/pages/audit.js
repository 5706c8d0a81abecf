// 8. Audit log: who changed what and when, newest first, with the API's filters in the hash:
// #/audit?tenant_id=…&actor=…&action=…&target_id=…&since=…

import { api } from '../api.js';
import { strings } from '../i18n.js';
import { h, pageHeader, pagedTable } from '../ui.js';
import {
  isPlatform, filteredList, textInput, dateTimeInput, tenantSelect, datalist, tenantLink, tenantNames, absTime, hashWith,
} from '../widgets.js';

/** @typedef {import('tpgate-api').components['schemas']['AuditEntry']} AuditEntry */

/** The actions the admin API records (suggestions; the filter takes any). */
const ACTIONS = [
  'tenant.create', 'tenant.update', 'tenant.suspend', 'tenant.resume', 'tenant.delete', 'tenant.raw_passthrough',
  'api_key.create', 'api_key.revoke',
  'onboarding_link.create', 'onboarding_link.revoke',
  'authorizer.move', 'authorizer.refresh_token', 'authorizer.resync', 'authorizer.revoke',
  'rate_limit_policy.put', 'rate_limit_policy.delete',
  'webhook.create', 'webhook.update', 'webhook.rotate_secret', 'webhook.delete',
  'event.replay', 'event.replay_many',
];

const t = strings({
  en: {
    'audit.subtitle': 'Every change made through the admin API or this console: who, what and when, newest first.',
    'audit.tenant': 'Tenant',
    'audit.actor': 'Actor',
    'audit.actor_help': 'A JWT subject, or api_key:<id> for a tenant’s key.',
    'audit.action': 'Action',
    'audit.action_help': 'e.g. tenant.suspend, api_key.revoke, webhook.rotate_secret',
    'audit.target_id': 'Target id',
    'audit.target_help': 'A tenant id, key id, appid, endpoint id…',
    'audit.since': 'Since',
    'audit.list': 'Audit log entries',
    'audit.empty': 'No entries match these filters.',
    'audit.col_time': 'Time',
    'audit.col_actor': 'Actor',
    'audit.col_action': 'Action',
    'audit.col_target': 'Target',
    'audit.col_tenant': 'Tenant',
    'audit.col_detail': 'Detail',
    'audit.only_actor': 'Changes by {actor}',
  },
  zh: {
    'audit.subtitle': '通过管理 API 或本控制台所做的每一项变更：谁、做了什么、何时，最新的在前。',
    'audit.tenant': '租户',
    'audit.actor': '操作者',
    'audit.actor_help': 'JWT 的 subject，或租户 API 密钥的 api_key:<id>。',
    'audit.action': '操作',
    'audit.action_help': '例如 tenant.suspend、api_key.revoke、webhook.rotate_secret',
    'audit.target_id': '对象 ID',
    'audit.target_help': '租户 ID、密钥 ID、appid、端点 ID 等',
    'audit.since': '开始时间',
    'audit.list': '审计日志条目',
    'audit.empty': '没有符合筛选条件的条目。',
    'audit.col_time': '时间',
    'audit.col_actor': '操作者',
    'audit.col_action': '操作',
    'audit.col_target': '对象',
    'audit.col_tenant': '租户',
    'audit.col_detail': '详情',
    'audit.only_actor': '{actor} 的变更',
  },
});

/**
 * Where a target lives in the console, when it has a page.
 * @param {AuditEntry} e
 * @returns {string | null}
 */
function targetHref(e) {
  const id = encodeURIComponent(e.target_id);
  switch (e.target_type) {
    case 'tenant': return `#/tenants/${id}`;
    case 'authorizer': return `#/mini-programs/${id}`;
    case 'webhook': return e.tenant_id && e.action !== 'webhook.delete' ? `#/webhooks/${encodeURIComponent(e.tenant_id)}/${id}` : null;
    case 'event': return e.target_id !== '*' ? `#/events/${id}` : null;
    case 'api_key':
    case 'onboarding_link': return e.tenant_id ? `#/tenants/${encodeURIComponent(e.tenant_id)}` : null;
    case 'rate_limit_policy': return '#/limits';
    default: return null;
  }
}

/**
 * What changed: each set field as `name: value` ('—' when nothing is set).
 * @param {unknown} detail
 * @returns {HTMLElement | string}
 */
function detailView(detail) {
  if (detail === undefined || detail === null) return '—';
  if (typeof detail !== 'object' || Array.isArray(detail)) return h('span', { class: 'mono' }, JSON.stringify(detail));
  const entries = Object.entries(/** @type {Record<string, unknown>} */ (detail)).filter(([, v]) => v !== null && v !== undefined);
  if (entries.length === 0) return '—';
  return h('ul', { class: 'inline-list audit-detail' }, entries.map(([k, v]) => h('li', null,
    h('span', { class: 'muted' }, `${k}: `), h('span', { class: 'mono' }, typeof v === 'string' ? v : JSON.stringify(v)))));
}

/** @type {import('../app.js').Page} */
export default {
  id: 'audit',
  path: /^\/audit$/,
  title: 'nav.audit',
  render(ctx) {
    const platform = isPlatform(ctx.session);
    /** @type {Record<string, string>} */
    const query = { ...ctx.query };
    delete query.cursor;
    if (!platform) delete query.tenant_id;
    const actions = datalist(ACTIONS);

    /**
     * @param {Map<string, string>} names tenant names by id
     * @returns {import('../ui.js').Column<AuditEntry>[]}
     */
    const columns = (names) => {
      /** @type {import('../ui.js').Column<AuditEntry>[]} */
      const cols = [
        { label: t('audit.col_time'), render: (e) => absTime(e.occurred_at) },
        {
          label: t('audit.col_actor'),
          render: (e) => [h('a', { href: hashWith('/audit', { actor: e.actor }), title: t('audit.only_actor', { actor: e.actor }) }, h('code', null, e.actor)),
            ' ', h('span', { class: 'badge' }, e.actor_role)],
        },
        { label: t('audit.col_action'), render: (e) => h('code', null, e.action) },
        {
          label: t('audit.col_target'),
          render: (e) => {
            const href = targetHref(e);
            const idView = h('code', null, e.target_id);
            return [h('span', { class: 'muted' }, e.target_type), ' ', href ? h('a', { href }, idView) : idView];
          },
        },
      ];
      if (platform) cols.push({ label: t('audit.col_tenant'), render: (e) => tenantLink(e.tenant_id, names) });
      cols.push({ label: t('audit.col_detail'), render: (e) => detailView(e.detail) });
      return cols;
    };

    const list = filteredList({
      collapsible: true,
      path: '/audit',
      query,
      extra: [actions],
      fields: (q) => [
        ...(platform ? [{ name: 'tenant_id', label: t('audit.tenant'), control: tenantSelect(q.tenant_id) }] : []),
        { name: 'actor', label: t('audit.actor'), control: textInput(q.actor), help: t('audit.actor_help') },
        { name: 'action', label: t('audit.action'), control: textInput(q.action, { list: actions, maxlength: 64 }), help: t('audit.action_help') },
        { name: 'target_id', label: t('audit.target_id'), control: textInput(q.target_id), help: t('audit.target_help') },
        { name: 'since', label: t('audit.since'), control: dateTimeInput(q.since), datetime: true },
      ],
      results: async (q) => pagedTable(columns(await tenantNames(ctx.session)), (cursor) => api.get('/admin/v1/audit-log', {
        tenant_id: platform ? q.tenant_id : undefined, actor: q.actor, action: q.action, target_id: q.target_id, since: q.since, cursor,
      }), { caption: t('audit.list'), empty: t('audit.empty') }),
    });

    return h('div', null, pageHeader(t('nav.audit'), null, t('audit.subtitle')), list.form, list.results);
  },
};
