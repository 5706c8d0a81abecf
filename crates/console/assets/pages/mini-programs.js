// Page 3: Mini Programs (授权方) — filterable by tenant, status, permission set and name;
// permission sets (and those missing), token, trade management (as last fetched; the list
// never makes tpgate call WeChat) and errors in the last 24 h.

import { api, qs } from '../api.js';
import { strings, fmtNumber } from '../i18n.js';
import { badge, filterPanel, formField, h, link, pageHeader, pagedTable } from '../ui.js';
import { authorizerSets, hoursAgo, missingMarker, statsByAppid, tenantLink, tenantNames, tokenCell } from './mp-common.js';

/** @typedef {import('tpgate-api').components['schemas']['Authorizer']} Authorizer */
/** @typedef {import('tpgate-api').components['schemas']['AuthorizerPage']} AuthorizerPage */
/** @typedef {import('tpgate-api').components['schemas']['TradeManagementState']} TradeManagementState */
/** @typedef {import('../api.js').CallStatsGroup} CallStatsGroup */

const t = strings({
  en: {
    'mps.title': 'Mini Programs',
    'mps.subtitle': 'Mini Programs (授权方) that authorized this third-party platform (第三方平台).',
    'mps.tenant': 'Tenant',
    'mps.any_tenant': 'Any tenant',
    'mps.status': 'Status',
    'mps.any': 'Any',
    'mps.set': 'Permission set id',
    'mps.name': 'Name contains',
    'mps.filter': 'Search',
    'mps.clear': 'Clear',
    'mps.col_name': 'Mini Program',
    'mps.col_appid': 'appid',
    'mps.col_principal': 'Principal',
    'mps.col_tenant': 'Tenant',
    'mps.col_status': 'Status',
    'mps.col_sets': 'Permission sets',
    'mps.col_token': 'Token expires',
    'mps.col_trade': 'Trade management',
    'mps.col_errors': 'Errors (24 h)',
    'mps.none': 'No Mini Programs match.',
    'mps.missing': 'Missing: {sets}',
    'mps.or': ' or ',
    'mps.trade_unknown': 'not checked yet',
    'mps.trade_managed': 'managed',
    'mps.trade_confirmed': 'confirmation completed',
    'mps.trade_pending': 'confirmation pending',
    'mps.trade_not': 'not managed',
    'mps.trade_error': 'check failed ({errcode})',
    'mps.errors_of': '{errors} of {sent}',
    'mps.stats_unavailable': 'Call statistics are unavailable: {msg}',
  },
  zh: {
    'mps.title': '小程序',
    'mps.subtitle': '已授权本第三方平台的小程序（授权方）。',
    'mps.tenant': '租户',
    'mps.any_tenant': '全部租户',
    'mps.status': '状态',
    'mps.any': '全部',
    'mps.set': '权限集 ID',
    'mps.name': '名称包含',
    'mps.filter': '搜索',
    'mps.clear': '清除',
    'mps.col_name': '小程序',
    'mps.col_appid': 'appid',
    'mps.col_principal': '主体',
    'mps.col_tenant': '租户',
    'mps.col_status': '状态',
    'mps.col_sets': '权限集',
    'mps.col_token': '令牌到期',
    'mps.col_trade': '交易管理',
    'mps.col_errors': '错误（24 小时）',
    'mps.none': '没有符合条件的小程序。',
    'mps.missing': '缺少：{sets}',
    'mps.or': ' 或 ',
    'mps.trade_unknown': '尚未查询',
    'mps.trade_managed': '已开通',
    'mps.trade_confirmed': '已完成确认',
    'mps.trade_pending': '待确认',
    'mps.trade_not': '未开通',
    'mps.trade_error': '查询失败（{errcode}）',
    'mps.errors_of': '{errors} / {sent}',
    'mps.stats_unavailable': '调用统计不可用：{msg}',
  },
});

/**
 * What WeChat last said about trade management (发货信息管理), as a short text or badge.
 * @param {TradeManagementState} tm
 * @returns {HTMLElement | string}
 */
export function tradeState(tm) {
  /** @type {(HTMLElement | string)[]} */
  const parts = [];
  if (tm.is_trade_managed === undefined) parts.push(h('span', { class: 'muted' }, t('mps.trade_unknown')));
  else if (tm.is_trade_managed) {
    parts.push(badge('active', t('mps.trade_managed')));
    if (tm.confirmation_completed !== undefined) parts.push(' ', badge(tm.confirmation_completed ? 'ok' : 'pending', tm.confirmation_completed ? t('mps.trade_confirmed') : t('mps.trade_pending')));
  } else parts.push(badge('neutral', t('mps.trade_not')));
  if (tm.errcode !== undefined && tm.errcode !== 0) parts.push(' ', badge('warn', t('mps.trade_error', { errcode: tm.errcode })));
  return h('span', null, parts);
}

/** @type {import('../app.js').Page} */
export default {
  id: 'mini-programs',
  path: /^\/mini-programs$/,
  title: 'mps.title',
  async render(ctx) {
    const { session, query } = ctx;
    const platform = session.role !== 'tenant_admin';
    const tenantFilter = platform ? query.tenant_id : session.tenant_id;

    const [names, stats] = await Promise.all([
      platform ? tenantNames() : Promise.resolve(new Map()),
      statsByAppid(tenantFilter).catch((e) => /** @type {Error} */ (e)),
    ]);

    // Filters (in the address: #/mini-programs?tenant_id=…&status=…&permission_set=…&name=…).
    /** @type {HTMLSelectElement | null} */
    let tenantSelect = null;
    if (platform) {
      tenantSelect = h('select', { name: 'tenant_id' },
        h('option', { value: '' }, t('mps.any_tenant')),
        [...names.entries()].sort((a, b) => a[1].localeCompare(b[1])).map(([id, name]) => h('option', { value: id }, name)));
      tenantSelect.value = query.tenant_id ?? '';
    }
    const statusSelect = h('select', { name: 'status' },
      h('option', { value: '' }, t('mps.any')),
      ['active', 'reauthorization_required', 'revoked'].map((s) => h('option', { value: s }, t(`status.${s}`))));
    statusSelect.value = query.status ?? '';
    const setInput = h('input', { type: 'number', name: 'permission_set', min: '1', step: '1', inputmode: 'numeric', placeholder: '142', value: query.permission_set ?? '' });
    const nameInput = h('input', { type: 'search', name: 'name', value: query.name ?? '', autocomplete: 'off' });
    const filters = h('form', { class: 'filters', role: 'search' },
      tenantSelect ? formField(t('mps.tenant'), tenantSelect) : null,
      formField(t('mps.status'), statusSelect),
      formField(t('mps.set'), setInput),
      formField(t('mps.name'), nameInput),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'primary' }, t('mps.filter')),
        h('a', { href: '#/mini-programs' }, t('mps.clear'))));
    filters.addEventListener('submit', (ev) => {
      ev.preventDefault();
      ctx.navigate(`#/mini-programs${qs({
        tenant_id: tenantSelect?.value, status: statusSelect.value, permission_set: setInput.value.trim(), name: nameInput.value.trim(),
      })}`);
    });

    /** @type {import('../ui.js').Column<Authorizer>[]} */
    const columns = [
      { label: t('mps.col_name'), className: 'mid', render: (a) => link(`#/mini-programs/${encodeURIComponent(a.appid)}`, a.nick_name || a.appid) },
      { label: t('mps.col_appid'), render: (a) => h('code', null, a.appid) },
      { label: t('mps.col_principal'), className: 'mid', render: (a) => a.principal_name || '—' },
    ];
    if (platform) columns.push({ label: t('mps.col_tenant'), render: (a) => tenantLink(a.tenant_id, names) });
    columns.push(
      { label: t('mps.col_status'), render: (a) => badge(a.status) },
      {
        label: t('mps.col_sets'),
        className: 'wide',
        render: (a) => h('div', null, authorizerSets(a), a.missing_permission_sets.length
          ? missingMarker(t('mps.missing', { sets: [...new Set(a.missing_permission_sets.map((m) => m.any_of.map((s) => s.id).join(t('mps.or'))))].join('; ') }))
          : null),
      },
      { label: t('mps.col_token'), render: (a) => (a.status === 'revoked' ? '—' : tokenCell(a.token)) },
      { label: t('mps.col_trade'), className: 'mid', render: (a) => (a.trade_management ? tradeState(a.trade_management) : h('span', { class: 'muted' }, '—')) },
      {
        label: t('mps.col_errors'),
        className: 'num',
        render: (a) => {
          if (stats instanceof Error) return '—';
          const g = stats.get(a.appid);
          const errors = g ? g.errors : 0;
          const text = g && g.sent ? t('mps.errors_of', { errors: fmtNumber(errors), sent: fmtNumber(g.sent) }) : fmtNumber(errors);
          return link(`#/calls${qs({ appid: a.appid, since: hoursAgo(24) })}`, text, { class: errors ? 'bad-text' : '' });
        },
      },
    );

    const table = await pagedTable(columns, (cursor) => /** @type {Promise<AuthorizerPage>} */ (api.get('/admin/v1/authorizers', {
      tenant_id: tenantFilter, status: query.status, permission_set: query.permission_set, name: query.name, cursor, limit: 50,
    })), { caption: t('mps.title'), empty: t('mps.none'), rowHeader: 0 });

    return h('div', null,
      pageHeader(t('mps.title'), null, t('mps.subtitle')),
      filterPanel(filters, Boolean(query.tenant_id || query.status || query.permission_set || query.name)),
      stats instanceof Error ? h('p', { class: 'warning' }, t('mps.stats_unavailable', { msg: stats.message })) : null,
      table);
  },
};
