// Page 1: overview. Platform roles: the component_verify_ticket, the component token,
// readiness, Mini Programs by status, calls and error rate over 24 h, failing webhook
// endpoints and waiting deliveries (GET /admin/v1/platform/status + call-stats).
// A tenant_admin: the same figures for its own tenant, from tenant-scoped endpoints.
// Every figure links to the page that explains it.

import { api, getAll, qs, seg } from '../api.js';
import { strings, fmtDuration, fmtNumber, fmtPercent, fmtRelative, fmtTime, getLang } from '../i18n.js';
import { barChart, lineChart } from '../charts.js';
import { badge, h, link, loadInto, pageHeader, section, setTitle, table } from '../ui.js';
import { hoursAgo } from './mp-common.js';

/** @typedef {import('tpgate-api').components['schemas']['PlatformStatus']} PlatformStatus */
/** @typedef {import('tpgate-api').components['schemas']['FailingMiniProgram']} FailingMiniProgram */
/** @typedef {import('tpgate-api').components['schemas']['FailingWebhook']} FailingWebhook */
/** @typedef {import('tpgate-api').components['schemas']['Tenant']} Tenant */
/** @typedef {import('tpgate-api').components['schemas']['Authorizer']} Authorizer */
/** @typedef {import('tpgate-api').components['schemas']['Webhook']} Webhook */
/** @typedef {import('tpgate-api').components['schemas']['DeliveryPage']} DeliveryPage */
/** @typedef {import('../api.js').CallStats} CallStats */
/** @typedef {import('../api.js').CallStatsGroup} CallStatsGroup */

const t = strings({
  en: {
    'ov.title': 'Overview',
    'ov.platform': 'Third-party platform (第三方平台) {appid} · tpgate {version}',
    'ov.tenant_sub': 'Tenant {name}',
    'ov.ticket': 'component_verify_ticket',
    'ov.ticket_age': 'received {ago}',
    'ov.ticket_missing': 'never received',
    'ov.ticket_note': 'WeChat pushes it every 10 minutes; it is valid for 12 hours.',
    'ov.ticket_push': 'Restart of pushes requested {ago}',
    'ov.token': 'Component token (令牌)',
    'ov.token_expires': 'expires in {d}',
    'ov.token_none': 'none held',
    'ov.token_calls': 'Token calls',
    'ov.readiness': 'Readiness',
    'ov.database': 'Database',
    'ov.migrations': 'Migrations applied',
    'ov.redis': 'Redis',
    'ov.redis_none': 'not configured',
    'ov.mps': 'Mini Programs',
    'ov.mps_by_status': 'Mini Programs by status',
    'ov.mps_total': '{n} in total',
    'ov.calls_hour': 'Calls, last hour',
    'ov.calls_24h': 'Calls, last 24 hours',
    'ov.errors_rate': 'Errors: {errors} · error rate {rate}',
    'ov.webhooks_failing': 'Webhook endpoints failing',
    'ov.webhooks_none': 'All endpoints deliver.',
    'ov.deliveries': 'Deliveries waiting',
    'ov.deliveries_note': 'due now or retrying later',
    'ov.chart_calls': 'Calls to WeChat per hour, last 24 hours',
    'ov.chart_rate': 'Error rate per hour, last 24 hours',
    'ov.chart_desc': '{calls} calls and {errors} errors in the last 24 hours; the busiest hour had {max} calls.',
    'ov.series_calls': 'Calls',
    'ov.series_errors': 'Errors',
    'ov.series_not_sent': 'Not sent (refused by tpgate)',
    'ov.series_rate': 'Error rate',
    'ov.hour': 'Hour',
    'ov.activity': 'Calls over the last 24 hours',
    'ov.all_calls': 'Open in Calls',
    'ov.failing_mps': 'Mini Programs with the most errors (24 h)',
    'ov.failing_none': 'No Mini Program had failed calls in the last 24 hours.',
    'ov.col_mp': 'Mini Program',
    'ov.col_errors': 'Errors',
    'ov.col_sent': 'Reached WeChat',
    'ov.col_calls': 'Calls',
    'ov.col_rate': 'Error rate',
    'ov.col_endpoint': 'Endpoint',
    'ov.col_tenant': 'Tenant',
    'ov.col_failures': 'Consecutive failures',
    'ov.col_state': 'State',
    'ov.failing_hooks': 'Failing webhook endpoints',
    'ov.open_webhooks': 'Open in Webhooks',
    'ov.more_than': '{n}+',
    'ov.status': 'Status',
    'ov.count': 'Mini Programs',
    'ov.tenant': 'Tenant',
  },
  zh: {
    'ov.title': '概览',
    'ov.platform': '第三方平台 {appid} · tpgate {version}',
    'ov.tenant_sub': '租户 {name}',
    'ov.ticket': 'component_verify_ticket',
    'ov.ticket_age': '{ago}收到',
    'ov.ticket_missing': '从未收到',
    'ov.ticket_note': '微信每 10 分钟推送一次，有效期 12 小时。',
    'ov.ticket_push': '{ago}已请求重新推送',
    'ov.token': '第三方平台令牌（component_access_token）',
    'ov.token_expires': '{d}后过期',
    'ov.token_none': '未持有',
    'ov.token_calls': '令牌调用记录',
    'ov.readiness': '就绪状态',
    'ov.database': '数据库',
    'ov.migrations': '迁移已执行',
    'ov.redis': 'Redis',
    'ov.redis_none': '未配置',
    'ov.mps': '小程序',
    'ov.mps_by_status': '各状态的小程序',
    'ov.mps_total': '共 {n} 个',
    'ov.calls_hour': '最近 1 小时调用',
    'ov.calls_24h': '最近 24 小时调用',
    'ov.errors_rate': '错误：{errors} · 错误率 {rate}',
    'ov.webhooks_failing': '投递失败的 Webhook 端点',
    'ov.webhooks_none': '所有端点投递正常。',
    'ov.deliveries': '待投递',
    'ov.deliveries_note': '待发送或稍后重试',
    'ov.chart_calls': '最近 24 小时每小时调用微信次数',
    'ov.chart_rate': '最近 24 小时每小时错误率',
    'ov.chart_desc': '最近 24 小时共 {calls} 次调用、{errors} 个错误；最繁忙的一小时有 {max} 次调用。',
    'ov.series_calls': '调用',
    'ov.series_errors': '错误',
    'ov.series_not_sent': '未发送（被 tpgate 拒绝）',
    'ov.series_rate': '错误率',
    'ov.hour': '小时',
    'ov.activity': '最近 24 小时的调用',
    'ov.all_calls': '在调用记录页面打开',
    'ov.failing_mps': '错误最多的小程序（24 小时）',
    'ov.failing_none': '最近 24 小时没有小程序调用失败。',
    'ov.col_mp': '小程序',
    'ov.col_errors': '错误',
    'ov.col_sent': '已发送至微信',
    'ov.col_calls': '调用',
    'ov.col_rate': '错误率',
    'ov.col_endpoint': '端点',
    'ov.col_tenant': '租户',
    'ov.col_failures': '连续失败次数',
    'ov.col_state': '状态',
    'ov.failing_hooks': '投递失败的 Webhook 端点',
    'ov.open_webhooks': '在 Webhook 页面打开',
    'ov.more_than': '{n}+',
    'ov.status': '状态',
    'ov.count': '小程序',
    'ov.tenant': '租户',
  },
});

const COMPONENT_TOKEN_API = '/cgi-bin/component/api_component_token';

/**
 * A figure card: label, big value (a link to the page that explains it), notes.
 * @param {string} label
 * @param {import('../ui.js').Child} value
 * @param {string | null} href
 * @param {...import('../ui.js').Child} notes
 * @returns {HTMLElement}
 */
function stat(label, value, href, ...notes) {
  const big = h('p', { class: 'stat-value' }, value);
  return h('div', { class: 'card stat' },
    h('h2', { class: 'stat-label' }, href ? h('a', { href }, label) : label),
    href ? h('a', { href, class: 'stat-link', tabindex: '-1', 'aria-hidden': 'true' }, big) : big,
    notes.filter((n) => n !== null && n !== undefined && n !== '').map((n) => h('p', { class: 'stat-note' }, n)));
}

/**
 * The 24 hourly buckets ending now, filled from call-stats (missing hours are zero).
 * @param {CallStats} stats
 * @returns {{x: number, g: CallStatsGroup}[]}
 */
function hourly(stats) {
  const byHour = new Map(stats.groups.map((g) => [Math.floor(Date.parse(g.key) / 3600_000), g]));
  const now = Math.floor(Date.now() / 3600_000);
  /** @type {{x: number, g: CallStatsGroup}[]} */
  const out = [];
  for (let hr = now - 23; hr <= now; hr++) {
    out.push({ x: hr * 3600_000, g: byHour.get(hr) ?? { key: new Date(hr * 3600_000).toISOString(), calls: 0, sent: 0, errors: 0 } });
  }
  // Hours outside the window (clock skew) are added, not dropped.
  for (const [hr, g] of byHour) if (hr < now - 23 || hr > now) out.push({ x: hr * 3600_000, g });
  return out.sort((a, b) => a.x - b.x);
}

/**
 * The activity charts: calls/errors per hour and the error rate per hour, from
 * GET /admin/v1/call-stats?group_by=hour (loaded on its own: the figures above do not wait for it).
 * @param {string | undefined} tenantId
 * @param {string} callsHref
 * @returns {HTMLElement}
 */
function activity(tenantId, callsHref) {
  const box = h('div');
  loadInto(box, async () => {
    /** @type {CallStats} */
    const stats = await api.get('/admin/v1/call-stats', { group_by: 'hour', since: hoursAgo(24), tenant_id: tenantId });
    return activityCharts(stats);
  });
  return section(t('ov.activity'), [box], { actions: link(callsHref, t('ov.all_calls')) });
}

/**
 * @param {CallStats} stats
 * @returns {HTMLElement}
 */
function activityCharts(stats) {
  const hours = hourly(stats);
  const hourFmt = new Intl.DateTimeFormat(getLang() === 'zh' ? 'zh-CN' : 'en', { hour: '2-digit', minute: '2-digit' });
  /** @param {number} x */
  const xFormat = (x) => hourFmt.format(new Date(x));
  const total = hours.reduce((a, { g }) => ({ calls: a.calls + g.calls, errors: a.errors + g.errors }), { calls: 0, errors: 0 });
  const max = Math.max(0, ...hours.map(({ g }) => g.calls));
  const xTicks = hours.map(({ x }) => x);
  /** @type {[number, number]} */
  const xDomain = [xTicks[0], xTicks[xTicks.length - 1]];
  const calls = lineChart({
    title: t('ov.chart_calls'),
    description: t('ov.chart_desc', { calls: fmtNumber(total.calls), errors: fmtNumber(total.errors), max: fmtNumber(max) }),
    series: [
      { name: t('ov.series_calls'), points: hours.map(({ x, g }) => [x, g.calls]) },
      { name: t('ov.series_errors'), points: hours.map(({ x, g }) => [x, g.errors]) },
      { name: t('ov.series_not_sent'), points: hours.map(({ x, g }) => [x, Math.max(0, g.calls - g.sent)]) },
    ],
    xFormat,
    xLabel: t('ov.hour'),
    xDomain,
    xTicks,
  });
  const rated = hours.filter(({ g }) => g.sent > 0);
  const rate = lineChart({
    title: t('ov.chart_rate'),
    series: [{ name: t('ov.series_rate'), points: rated.map(({ x, g }) => [x, g.errors / g.sent]) }],
    xFormat,
    yFormat: (y) => fmtPercent(y),
    yMax: Math.max(0.05, ...rated.map(({ g }) => g.errors / g.sent)) > 0.5 ? 1 : undefined,
    xLabel: t('ov.hour'),
    xDomain,
    xTicks,
  });
  return h('div', { class: 'two-col' }, calls, rate);
}

/**
 * Mini Programs by status: a bar chart and links to the filtered list.
 * @param {{status: string, count: number}[]} counts
 * @param {string} [tenantId]
 * @returns {HTMLElement}
 */
function mpsByStatus(counts, tenantId) {
  const order = ['active', 'reauthorization_required', 'revoked'];
  const sorted = [...counts].sort((a, b) => order.indexOf(a.status) - order.indexOf(b.status));
  const total = sorted.reduce((n, c) => n + c.count, 0);
  /** @param {string} status */
  const href = (status) => `#/mini-programs${qs({ status, tenant_id: tenantId })}`;
  return section(t('ov.mps_by_status'), [
    h('p', null, link(`#/mini-programs${qs({ tenant_id: tenantId })}`, t('ov.mps_total', { n: fmtNumber(total) }))),
    h('ul', { class: 'inline-list' }, sorted.map((c) => h('li', null, link(href(c.status), [badge(c.status), ' ', fmtNumber(c.count)])))),
    sorted.length ? barChart({
      title: t('ov.mps_by_status'),
      bars: sorted.map((c) => ({
        label: t(`status.${c.status}`), value: c.count, href: href(c.status),
        className: c.status === 'active' ? 'bar-ok' : c.status === 'revoked' ? 'bar-bad' : 'bar-warn',
      })),
      captionHidden: true,
      labelHeader: t('ov.status'),
      valueHeader: t('ov.count'),
    }) : null,
  ]);
}

/**
 * Mini Programs with failed calls (null: unknown, the statistics failed).
 * @param {FailingMiniProgram[] | null} rows
 * @returns {HTMLElement}
 */
function failingMps(rows) {
  return section(t('ov.failing_mps'), [
    rows === null ? h('p', null, '—') : rows.length ? table(/** @type {import('../ui.js').Column<FailingMiniProgram>[]} */ ([
      { label: t('ov.col_mp'), render: (r) => link(`#/mini-programs/${encodeURIComponent(r.appid)}`, h('code', null, r.appid)) },
      { label: t('ov.col_errors'), className: 'num', render: (r) => link(`#/calls${qs({ appid: r.appid, since: hoursAgo(24) })}`, fmtNumber(r.errors), { class: 'bad-text' }) },
      { label: t('ov.col_sent'), className: 'num', render: (r) => fmtNumber(r.sent) },
      { label: t('ov.col_calls'), className: 'num', render: (r) => fmtNumber(r.calls) },
      { label: t('ov.col_rate'), className: 'num', render: (r) => fmtPercent(r.error_rate ?? (r.sent ? r.errors / r.sent : undefined)) },
    ]), rows, { caption: t('ov.failing_mps'), rowHeader: 0 }) : h('p', { class: 'ok-text' }, t('ov.failing_none')),
  ]);
}

/**
 * Failing webhook endpoints.
 * @param {FailingWebhook[]} rows
 * @param {boolean} showTenant
 * @returns {HTMLElement}
 */
function failingHooks(rows, showTenant) {
  /** @type {import('../ui.js').Column<FailingWebhook>[]} */
  const cols = [
    { label: t('ov.col_endpoint'), render: (w) => link(`#/webhooks/${encodeURIComponent(w.tenant_id)}/${encodeURIComponent(w.id)}`, h('code', null, w.id)) },
  ];
  if (showTenant) cols.push({ label: t('ov.col_tenant'), render: (w) => link(`#/tenants/${encodeURIComponent(w.tenant_id)}`, h('code', null, w.tenant_id)) });
  cols.push(
    { label: t('ov.col_state'), render: (w) => [badge(w.enabled ? 'failing' : 'disabled'), w.disabled_reason ? ` ${w.disabled_reason}` : ''] },
    { label: t('ov.col_failures'), className: 'num', render: (w) => fmtNumber(w.consecutive_failures) },
  );
  return section(t('ov.failing_hooks'), [
    rows.length ? table(cols, rows, { caption: t('ov.failing_hooks'), rowHeader: 0 }) : h('p', { class: 'ok-text' }, t('ov.webhooks_none')),
  ], { actions: link('#/webhooks', t('ov.open_webhooks')) });
}

/**
 * A calls figure: count, errors and error rate, linking to the call log.
 * @param {string} label
 * @param {{calls: number, sent: number, errors: number, error_rate?: number}} c
 * @param {string} href
 * @returns {HTMLElement}
 */
function callsStat(label, c, href) {
  const rate = c.error_rate ?? (c.sent ? c.errors / c.sent : undefined);
  return stat(label, fmtNumber(c.calls), href,
    h('span', { class: c.errors ? 'bad-text' : '' }, t('ov.errors_rate', { errors: fmtNumber(c.errors), rate: fmtPercent(rate) })));
}

/**
 * Turns a rejection into a value.
 * @param {unknown} e
 * @returns {Error}
 */
function asError(e) {
  return e instanceof Error ? e : new Error(String(e));
}

/**
 * The platform's overview (platform roles).
 * @returns {Promise<HTMLElement>}
 */
async function platformOverview() {
  /** @type {PlatformStatus} */
  const st = await api.get('/admin/v1/platform/status');
  const tokenCalls = `#/calls${qs({ api: COMPONENT_TOKEN_API })}`;
  const ticket = st.ticket;
  const ticketState = !ticket.present ? 'missing' : ticket.stale ? 'stale' : ticket.valid ? 'valid' : 'expired';
  const tok = st.component_token;
  const r = st.readiness;
  const total = st.authorizers.reduce((n, c) => n + c.count, 0);

  const figures = h('div', { class: 'grid-cards' },
    stat(t('ov.ticket'),
      ticket.present && ticket.age_secs !== undefined ? fmtDuration(ticket.age_secs) : t('ov.ticket_missing'),
      tokenCalls,
      badge(ticketState),
      ticket.received_at ? t('ov.ticket_age', { ago: fmtRelative(ticket.received_at) }) : null,
      ticket.push_requested_at ? t('ov.ticket_push', { ago: fmtRelative(ticket.push_requested_at) }) : null,
      t('ov.ticket_note')),
    stat(t('ov.token'),
      tok.valid ? t('ov.token_expires', { d: fmtDuration(tok.expires_in_secs) }) : t('ov.token_none'),
      tokenCalls,
      badge(tok.valid ? 'valid' : 'invalid_token'),
      tok.expires_at ? fmtTime(tok.expires_at) : null),
    stat(t('ov.readiness'), badge(r.ready ? 'ready' : 'not_ready'), null,
      h('span', null, `${t('ov.database')}: `, badge(r.database ? 'ok' : 'bad', r.database ? '✓' : '✗'), r.database_error ? ` ${r.database_error}` : ''),
      h('span', null, `${t('ov.migrations')}: `, badge(r.migrations_applied ? 'ok' : 'bad', r.migrations_applied ? '✓' : '✗')),
      h('span', null, `${t('ov.redis')}: `, r.redis === undefined ? t('ov.redis_none') : badge(r.redis ? 'ok' : 'bad', r.redis ? '✓' : '✗'), r.redis_error ? ` ${r.redis_error}` : '')),
    stat(t('ov.mps'), fmtNumber(total), '#/mini-programs',
      h('span', null, st.authorizers.map((c, i) => [i ? ' · ' : '', link(`#/mini-programs${qs({ status: c.status })}`, `${t(`status.${c.status}`)} ${fmtNumber(c.count)}`)]))),
    callsStat(t('ov.calls_hour'), st.calls.last_hour, `#/calls${qs({ since: hoursAgo(1) })}`),
    callsStat(t('ov.calls_24h'), st.calls.last_24h, `#/calls${qs({ since: hoursAgo(24) })}`),
    stat(t('ov.webhooks_failing'), fmtNumber(st.failing_webhooks.total), '#/webhooks'),
    stat(t('ov.deliveries'), fmtNumber(st.pending_deliveries), '#/webhooks', t('ov.deliveries_note')));

  return h('div', null,
    pageHeader(t('ov.title'), null, t('ov.platform', { appid: st.component_appid, version: st.version })),
    figures,
    activity(undefined, `#/calls${qs({ since: hoursAgo(24) })}`),
    h('div', { class: 'two-col' },
      mpsByStatus(st.authorizers),
      failingMps(st.failing_mini_programs)),
    failingHooks(st.failing_webhooks.endpoints, true));
}

/**
 * A tenant_admin's overview: its tenant's figures.
 * @param {string} tenantId
 * @returns {Promise<HTMLElement>}
 */
async function tenantOverview(tenantId) {
  const base = `/admin/v1/tenants/${seg(tenantId)}`;
  /** @type {[Tenant, Authorizer[], Webhook[]]} */
  const [tenant, mps, hooks] = await Promise.all([
    api.get(base),
    getAll('/admin/v1/authorizers', { tenant_id: tenantId }, 5000),
    getAll(`${base}/webhooks`, {}, 500),
  ]);
  // Optional figures: a failure shows as "—" instead of failing the page.
  /** @type {[CallStats | Error, CallStats | Error, {n: number, more: boolean}[] | Error]} */
  const [hourStats, appStats, pending] = await Promise.all([
    api.get('/admin/v1/call-stats', { group_by: 'hour', since: hoursAgo(24), tenant_id: tenantId }).catch(asError),
    api.get('/admin/v1/call-stats', { group_by: 'appid', since: hoursAgo(24), tenant_id: tenantId }).catch(asError),
    // Deliveries waiting: the first page of pending deliveries of each endpoint.
    Promise.all(hooks.map(async (w) => {
      /** @type {DeliveryPage} */
      const p = await api.get(`${base}/webhooks/${seg(w.id)}/deliveries`, { status: 'pending', limit: 100 });
      return { n: p.items.length, more: Boolean(p.next_cursor) };
    })).catch(asError),
  ]);

  /** @type {Map<string, number>} */
  const byStatus = new Map();
  for (const a of mps) byStatus.set(a.status, (byStatus.get(a.status) ?? 0) + 1);
  const counts = [...byStatus.entries()].map(([status, count]) => ({ status, count }));

  const hourAgo = Date.now() - 3600_000;
  const sum = (/** @type {CallStatsGroup[]} */ gs) => gs.reduce((a, g) => ({ calls: a.calls + g.calls, sent: a.sent + g.sent, errors: a.errors + g.errors }), { calls: 0, sent: 0, errors: 0 });

  /** @type {FailingMiniProgram[] | null} */
  const failing = appStats instanceof Error ? null : appStats.groups.filter((g) => g.errors > 0)
    .sort((a, b) => b.errors - a.errors).slice(0, 10)
    .map((g) => ({ appid: g.key, errors: g.errors, sent: g.sent, calls: g.calls, error_rate: g.sent ? g.errors / g.sent : undefined }));
  /** @type {FailingWebhook[]} */
  const failingHooksRows = hooks.filter((w) => !w.enabled || w.consecutive_failures > 0)
    .sort((a, b) => b.consecutive_failures - a.consecutive_failures)
    .map((w) => ({ id: w.id, tenant_id: w.tenant_id, enabled: w.enabled, consecutive_failures: w.consecutive_failures, disabled_reason: w.disabled_reason }));
  const pendingText = pending instanceof Error ? '—'
    : pending.some((p) => p.more) ? t('ov.more_than', { n: fmtNumber(pending.reduce((n, p) => n + p.n, 0)) })
      : fmtNumber(pending.reduce((n, p) => n + p.n, 0));

  setTitle(`${t('ov.title')} · ${tenant.name}`);
  const tenantHref = `#/tenants/${encodeURIComponent(tenantId)}`;
  const figures = h('div', { class: 'grid-cards' },
    stat(t('ov.tenant'), tenant.name, tenantHref, badge(tenant.status)),
    stat(t('ov.mps'), fmtNumber(mps.length), `#/mini-programs${qs({ tenant_id: tenantId })}`,
      h('span', null, counts.map((c, i) => [i ? ' · ' : '', link(`#/mini-programs${qs({ status: c.status, tenant_id: tenantId })}`, `${t(`status.${c.status}`)} ${fmtNumber(c.count)}`)]))),
    hourStats instanceof Error
      ? stat(t('ov.calls_hour'), '—', `#/calls${qs({ since: hoursAgo(1) })}`)
      // The current and the previous hour bucket overlap the last 60 minutes.
      : callsStat(t('ov.calls_hour'), sum(hourStats.groups.filter((g) => Date.parse(g.key) + 3600_000 > hourAgo)), `#/calls${qs({ since: hoursAgo(1) })}`),
    hourStats instanceof Error
      ? stat(t('ov.calls_24h'), '—', `#/calls${qs({ since: hoursAgo(24) })}`)
      : callsStat(t('ov.calls_24h'), sum(hourStats.groups), `#/calls${qs({ since: hoursAgo(24) })}`),
    stat(t('ov.webhooks_failing'), fmtNumber(failingHooksRows.length), `#/webhooks${qs({ tenant_id: tenantId })}`),
    stat(t('ov.deliveries'), pendingText, `#/webhooks${qs({ tenant_id: tenantId })}`, t('ov.deliveries_note')));

  return h('div', null,
    pageHeader(t('ov.title'), null, link(tenantHref, t('ov.tenant_sub', { name: tenant.name }))),
    figures,
    activity(tenantId, `#/calls${qs({ since: hoursAgo(24) })}`),
    h('div', { class: 'two-col' },
      mpsByStatus(counts, tenantId),
      failingMps(failing)),
    failingHooks(failingHooksRows, false));
}

/** @type {import('../app.js').Page} */
export default {
  id: 'overview',
  path: '/overview',
  title: 'ov.title',
  render(ctx) {
    const { session } = ctx;
    if (session.role === 'tenant_admin') {
      if (!session.tenant_id) return h('div', null, pageHeader(t('ov.title')));
      return tenantOverview(session.tenant_id);
    }
    return platformOverview();
  },
};
