// 6. Rate limits and usage: the policies in force (platform roles; platform_admin edits them),
// and a Mini Program's (and optionally one user's) calls per day over the last 7 days drawn
// against its daily limits, with the same figures in a table. #/limits?appid=…&openid=…

import { api, seg } from '../api.js';
import { strings, fmtNumber, fmtPercent, fmtDuration } from '../i18n.js';
import {
  h, pageHeader, section, table, formField, confirmDialog, runAction, replace, loadInto, badge, uid, toast,
} from '../ui.js';
import { svg } from '../charts.js';
import { isPlatform, filteredList, textInput, selectInput, tenantSelect, appidDatalist, code } from '../widgets.js';

/** @typedef {import('tpgate-api').components['schemas']['RateLimitPolicy']} RateLimitPolicy */
/** @typedef {import('tpgate-api').components['schemas']['RateLimitPolicyList']} RateLimitPolicyList */
/** @typedef {import('tpgate-api').components['schemas']['NewRateLimitPolicy']} NewRateLimitPolicy */
/** @typedef {import('tpgate-api').components['schemas']['RateLimitPolicyUsage']} RateLimitPolicyUsage */
/** @typedef {import('tpgate-api').components['schemas']['UsageReport']} UsageReport */
/** @typedef {import('tpgate-api').components['schemas']['AuthorizerHealth']} AuthorizerHealth */

const GROUPS = ['shipping', 'logistics_plugin', 'logistics_helper', 'raw'];
const DIMENSIONS = ['appid', 'user', 'tenant'];
const WINDOWS = ['day', 'hour', 'minute'];
const DAYS = 7;

const t = strings({
  en: {
    'lim.subtitle': 'Calls let through to WeChat are counted per API group by Mini Program, user (openid) and tenant; daily windows follow WeChat’s day (Asia/Shanghai).',
    'lim.usage': 'Usage',
    'lim.usage_help': 'Calls tpgate let through to WeChat per day (Asia/Shanghai), kept for 7 days; limits as in force now.',
    'lim.appid': 'Mini Program (appid)',
    'lim.openid': 'User openid (optional)',
    'lim.openid_help': 'Also count one user’s calls, for groups with a per-user limit.',
    'lim.pick_appid': 'Enter a Mini Program’s appid to see its calls over the last 7 days against its daily limits.',
    'lim.chart_app': '{group}: calls per day by {appid}',
    'lim.chart_user': '{group}: calls per day by user {openid}',
    'lim.chart_desc': 'Calls per day from {from} to {to}: {total} in all, at most {peak} on {peakDay}. {limit}',
    'lim.chart_desc_limit': 'Daily limit: {limit}.',
    'lim.chart_desc_nolimit': 'No daily limit.',
    'lim.legend_calls': 'Calls',
    'lim.legend_limit': 'Daily limit',
    'lim.limit_off_scale': 'Daily limit {limit}: far above these calls (not to scale)',
    'lim.limit_label': 'limit {limit}',
    'lim.col_date': 'Date (Asia/Shanghai)',
    'lim.col_calls': 'Calls',
    'lim.col_limit': 'Daily limit',
    'lim.col_share': 'Share of limit',
    'lim.no_limit': 'none',
    'lim.quiet': 'No calls in these 7 days: {groups}.',
    'lim.health_failed': 'The limits in force could not be read, so the charts show calls only.',
    'lim.in_force': 'Policies in force for {appid} today',
    'lim.in_force_empty': 'No policy applies to this Mini Program.',
    'lim.col_name': 'Policy',
    'lim.col_group': 'API group',
    'lim.col_dimension': 'Per',
    'lim.col_window': 'Window',
    'lim.col_scope': 'Scope',
    'lim.col_max': 'Max calls',
    'lim.col_used': 'Used',
    'lim.col_remaining': 'Remaining',
    'lim.col_resets': 'Resets in',
    'lim.col_id': 'Policy id',
    'lim.col_actions': 'Actions',
    'lim.policies': 'Policies',
    'lim.policies_help': 'The most specific scope applies: a Mini Program’s policy over its tenant’s, a tenant’s over the global one. Built-in defaults (from the seeds) cannot be deleted; save a policy with the same group, dimension, window and scope to override one.',
    'lim.policies_empty': 'No policies.',
    'lim.default': 'built-in default',
    'lim.edit': 'Edit',
    'lim.delete': 'Delete',
    'lim.delete_title': 'Delete this policy?',
    'lim.delete_body': '{group} per {dimension} per {window} for {scope}: at most {max} calls. Once deleted, the next less specific policy (or the built-in default) applies again, within 30 s on every replica.',
    'lim.delete_confirm': 'Delete policy',
    'lim.deleted': 'Policy deleted.',
    'lim.form': 'Add or replace a policy',
    'lim.form_help': 'A policy with the same API group, dimension, window and scope is replaced. It applies at once on this replica and within 30 s on the others.',
    'lim.f_group': 'API group',
    'lim.f_dimension': 'Counted per',
    'lim.f_window': 'Window',
    'lim.f_scope': 'Applies to',
    'lim.f_scope_tenant': 'Tenant it applies to',
    'lim.f_scope_appid': 'Mini Program it applies to (appid)',
    'lim.f_max': 'Max calls per window',
    'lim.f_max_help': '0 to 1 000 000 000; 0 blocks the group.',
    'lim.choose_tenant': 'Choose a tenant',
    'lim.save': 'Save policy',
    'lim.saved': 'Policy saved.',
    'lim.need_scope_id': 'Choose the tenant or enter the appid the policy applies to.',
    'lim.editing': 'Editing {name}: change the values and save.',
    'lim.named': '{label} ({value})',
    'lim.scope_is': '{label}: {id}',
    'lim.scope_prefix': '{label}: ',
    'scope.global': 'Global (every tenant and Mini Program)',
    'scope.tenant': 'One tenant',
    'scope.appid': 'One Mini Program',
    'group.shipping': 'Shipping info management',
    'group.logistics_plugin': 'Logistics query plugin',
    'group.logistics_helper': 'Logistics helper',
    'group.raw': 'Raw passthrough',
    'dim.appid': 'Mini Program',
    'dim.user': 'user (openid)',
    'dim.tenant': 'tenant',
    'win.day': 'day (Asia/Shanghai)',
    'win.hour': 'hour',
    'win.minute': 'minute',
  },
  zh: {
    'lim.subtitle': '发往微信的调用按接口组分别以小程序、用户（openid）和租户计数；按天的窗口与微信一致（北京时间）。',
    'lim.usage': '用量',
    'lim.usage_help': 'tpgate 每天（北京时间）放行到微信的调用次数，保留 7 天；限额为当前生效的值。',
    'lim.appid': '小程序（appid）',
    'lim.openid': '用户 openid（可选）',
    'lim.openid_help': '同时统计某个用户的调用（适用于有单用户限额的接口组）。',
    'lim.pick_appid': '输入小程序的 appid，查看其最近 7 天的调用量与每日限额。',
    'lim.chart_app': '{group}：{appid} 每天的调用次数',
    'lim.chart_user': '{group}：用户 {openid} 每天的调用次数',
    'lim.chart_desc': '{from} 至 {to} 每天的调用次数：共 {total} 次，最多 {peak} 次（{peakDay}）。{limit}',
    'lim.chart_desc_limit': '每日限额：{limit}。',
    'lim.chart_desc_nolimit': '无每日限额。',
    'lim.legend_calls': '调用次数',
    'lim.legend_limit': '每日限额',
    'lim.limit_off_scale': '每日限额 {limit}：远高于这些调用量（未按比例绘制）',
    'lim.limit_label': '限额 {limit}',
    'lim.col_date': '日期（北京时间）',
    'lim.col_calls': '调用次数',
    'lim.col_limit': '每日限额',
    'lim.col_share': '占限额比例',
    'lim.no_limit': '无',
    'lim.quiet': '这 7 天没有调用：{groups}。',
    'lim.health_failed': '无法读取当前生效的限额，图表只显示调用次数。',
    'lim.in_force': '{appid} 今天生效的限流策略',
    'lim.in_force_empty': '没有适用于此小程序的策略。',
    'lim.col_name': '策略',
    'lim.col_group': '接口组',
    'lim.col_dimension': '计数维度',
    'lim.col_window': '时间窗口',
    'lim.col_scope': '适用范围',
    'lim.col_max': '最大调用次数',
    'lim.col_used': '已用',
    'lim.col_remaining': '剩余',
    'lim.col_resets': '重置倒计时',
    'lim.col_id': '策略 ID',
    'lim.col_actions': '操作',
    'lim.policies': '限流策略',
    'lim.policies_help': '最具体的范围优先：小程序的策略优先于其租户的，租户的优先于全局的。内置默认策略（来自种子文档）不能删除；保存接口组、维度、窗口和范围都相同的策略即可覆盖。',
    'lim.policies_empty': '没有策略。',
    'lim.default': '内置默认',
    'lim.edit': '编辑',
    'lim.delete': '删除',
    'lim.delete_title': '删除此策略？',
    'lim.delete_body': '{group}，按{dimension}、每{window}，适用于{scope}：最多 {max} 次调用。删除后，将重新适用范围更大的策略（或内置默认策略），各副本 30 秒内生效。',
    'lim.delete_confirm': '删除策略',
    'lim.deleted': '策略已删除。',
    'lim.form': '添加或替换策略',
    'lim.form_help': '接口组、维度、窗口和范围都相同的策略将被替换。本副本立即生效，其他副本 30 秒内生效。',
    'lim.f_group': '接口组',
    'lim.f_dimension': '计数维度',
    'lim.f_window': '时间窗口',
    'lim.f_scope': '适用范围',
    'lim.f_scope_tenant': '适用的租户',
    'lim.f_scope_appid': '适用的小程序（appid）',
    'lim.f_max': '每个窗口的最大调用次数',
    'lim.f_max_help': '0 至 1 000 000 000；0 表示禁止调用该接口组。',
    'lim.choose_tenant': '选择租户',
    'lim.save': '保存策略',
    'lim.saved': '策略已保存。',
    'lim.need_scope_id': '请选择策略适用的租户，或输入小程序的 appid。',
    'lim.editing': '正在编辑 {name}：修改后保存。',
    'lim.named': '{label}（{value}）',
    'lim.scope_is': '{label}：{id}',
    'lim.scope_prefix': '{label}：',
    'scope.global': '全局（所有租户和小程序）',
    'scope.tenant': '某个租户',
    'scope.appid': '某个小程序',
    'group.shipping': '发货信息管理',
    'group.logistics_plugin': '物流查询插件',
    'group.logistics_helper': '物流助手',
    'group.raw': '原样转发',
    'dim.appid': '小程序',
    'dim.user': '用户（openid）',
    'dim.tenant': '租户',
    'win.day': '天（北京时间）',
    'win.hour': '小时',
    'win.minute': '分钟',
  },
});

/**
 * A translated label with the API's value beside it: "Logistics query plugin (logistics_plugin)".
 * @param {string} prefix 'group' | 'dim' | 'win'
 * @param {string} value
 * @returns {string}
 */
function named(prefix, value) {
  const key = `${prefix}.${value}`;
  const label = t(key);
  return label === key ? value : t('lim.named', { label, value });
}

/**
 * A scope in words: "Global", "One tenant: <id>", "One Mini Program: wx…".
 * @param {string} scope
 * @returns {string}
 */
function scopeText(scope) {
  if (scope === 'global') return t('scope.global');
  const i = scope.indexOf(':');
  if (i < 0) return scope;
  const kind = scope.slice(0, i);
  const key = `scope.${kind}`;
  const label = t(key);
  return label === key ? scope : t('lim.scope_is', { label, id: scope.slice(i + 1) });
}

/**
 * A scope, with a link to its tenant or Mini Program when it has one.
 * @param {string} scope
 * @returns {HTMLElement | string}
 */
function scopeView(scope) {
  if (scope.startsWith('tenant:')) {
    const id = scope.slice(7);
    return h('span', null, t('lim.scope_prefix', { label: t('scope.tenant') }), h('a', { href: `#/tenants/${encodeURIComponent(id)}` }, h('code', null, id)));
  }
  if (scope.startsWith('appid:')) {
    const id = scope.slice(6);
    return h('span', null, t('lim.scope_prefix', { label: t('scope.appid') }), h('a', { href: `#/mini-programs/${encodeURIComponent(id)}` }, h('code', null, id)));
  }
  return scopeText(scope);
}

/**
 * Today's date in Asia/Shanghai and the days before it: ['YYYY-MM-DD', …], oldest first.
 * @param {number} n
 * @returns {string[]}
 */
function lastDays(n) {
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
  const [y, m, d] = today.split('-').map(Number);
  /** @type {string[]} */
  const out = [];
  for (let i = n - 1; i >= 0; i -= 1) out.push(new Date(Date.UTC(y, m - 1, d - i)).toISOString().slice(0, 10));
  return out;
}

/**
 * "Nice" whole-number tick values from 0 up to at least `max`.
 * @param {number} max
 * @returns {number[]}
 */
function niceTicks(max) {
  if (!(max > 0)) return [0, 1];
  const raw = Math.max(1, max / 4);
  const mag = 10 ** Math.floor(Math.log10(raw));
  // Whole numbers only: these are counts of calls.
  const step = [1, 2, 5, 10].map((x) => x * mag).find((s) => s >= raw) ?? raw;
  /** @type {number[]} */
  const out = [];
  for (let v = 0; v < max + step * 0.999; v += step) out.push(Number(v.toPrecision(12)));
  return out.length < 2 ? [0, step] : out;
}

/**
 * Calls per day as bars against a daily limit (a dashed line; noted at the top when it is far
 * above the calls), with the same figures in a table beside it.
 * @param {object} opts
 * @param {string} opts.title
 * @param {string[]} opts.days 'YYYY-MM-DD', oldest first
 * @param {number[]} opts.values calls per day
 * @param {number | undefined} opts.limit daily limit
 * @returns {HTMLElement}
 */
export function usageChart(opts) {
  const { title, days, values, limit } = opts;
  const W = 560;
  const H = 220;
  const m = { top: 24, right: 16, bottom: 28, left: 56 };
  const peak = Math.max(0, ...values);
  const offScale = limit !== undefined && peak > 0 && limit > peak * 10;
  // Headroom above the highest bar or the limit line, for their labels.
  const ticks = niceTicks((offScale || limit === undefined ? peak : Math.max(peak, limit)) * 1.15);
  const top = ticks[ticks.length - 1];
  const plotW = W - m.left - m.right;
  const plotH = H - m.top - m.bottom;
  /** @param {number} v */
  const sy = (v) => H - m.bottom - (top > 0 ? (v / top) * plotH : 0);
  const slot = plotW / days.length;
  const peakIdx = values.indexOf(peak);
  const total = values.reduce((a, b) => a + b, 0);

  const titleId = uid('chart-title');
  const descId = uid('chart-desc');
  const desc = t('lim.chart_desc', {
    from: days[0], to: days[days.length - 1], total: fmtNumber(total), peak: fmtNumber(peak), peakDay: days[peakIdx] ?? '—',
    limit: limit === undefined ? t('lim.chart_desc_nolimit') : t('lim.chart_desc_limit', { limit: fmtNumber(limit) }),
  });
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': `${titleId} ${descId}`, class: 'chart', focusable: 'false' },
    svg('title', { id: titleId }, title),
    svg('desc', { id: descId }, desc));
  const grid = svg('g', { class: 'grid' });
  for (const v of ticks) {
    grid.appendChild(svg('line', { x1: m.left, x2: W - m.right, y1: sy(v), y2: sy(v) }));
    grid.appendChild(svg('text', { x: m.left - 6, y: sy(v) + 4, 'text-anchor': 'end', class: 'tick' }, fmtNumber(v)));
  }
  root.appendChild(grid);
  const axis = svg('g', { class: 'axis' }, svg('line', { x1: m.left, x2: W - m.right, y1: H - m.bottom, y2: H - m.bottom }));
  days.forEach((d, i) => {
    axis.appendChild(svg('text', { x: m.left + slot * (i + 0.5), y: H - m.bottom + 18, 'text-anchor': 'middle', class: 'tick' }, d.slice(5)));
  });
  root.appendChild(axis);
  const bars = svg('g', { class: 'bars' });
  values.forEach((v, i) => {
    const x = m.left + slot * i + slot * 0.2;
    const y = sy(v);
    const over = limit !== undefined && v >= limit;
    const near = limit !== undefined && !over && v >= limit * 0.8;
    const cls = over ? 'bar bar-bad' : near ? 'bar bar-warn' : 'bar series-0';
    bars.appendChild(svg('rect', {
      x: x.toFixed(1), y: Math.min(y, H - m.bottom - (v > 0 ? 2 : 0)).toFixed(1), width: (slot * 0.6).toFixed(1),
      height: Math.max(v > 0 ? 2 : 0, H - m.bottom - y).toFixed(1), class: cls,
    }, svg('title', {}, `${days[i]}: ${fmtNumber(v)}`)));
    if (v > 0) bars.appendChild(svg('text', { x: (x + slot * 0.3).toFixed(1), y: (Math.min(y, H - m.bottom - 2) - 4).toFixed(1), 'text-anchor': 'middle', class: 'value' }, fmtNumber(v)));
  });
  root.appendChild(bars);
  if (limit !== undefined && !offScale) {
    const y = sy(limit).toFixed(1);
    root.appendChild(svg('g', { class: 'series series-1' },
      svg('polyline', { points: `${m.left},${y} ${W - m.right},${y}`, fill: 'none' })));
    root.appendChild(svg('text', { x: m.left + 4, y: Number(y) - 4, 'text-anchor': 'start', class: 'tick' }, t('lim.limit_label', { limit: fmtNumber(limit) })));
  }
  const note = offScale && limit !== undefined ? h('p', { class: 'help' }, t('lim.limit_off_scale', { limit: fmtNumber(limit) })) : null;
  const legend = h('ul', { class: 'legend', 'aria-hidden': 'true' },
    h('li', null, h('span', { class: 'swatch series-0' }), t('lim.legend_calls')),
    limit !== undefined && !offScale ? h('li', null, h('span', { class: 'swatch series-1' }), t('lim.legend_limit')) : null);

  const data = days.map((d, i) => ({ d, v: values[i] }));
  const tbl = table([
    { label: t('lim.col_date'), render: (r) => r.d },
    { label: t('lim.col_calls'), className: 'num', render: (r) => fmtNumber(r.v) },
    { label: t('lim.col_limit'), className: 'num', render: () => (limit === undefined ? t('lim.no_limit') : fmtNumber(limit)) },
    { label: t('lim.col_share'), className: 'num', render: (r) => (limit ? fmtPercent(r.v / limit) : '—') },
  ], data, { caption: title, rowHeader: 0 });

  return h('div', { class: 'two-col' },
    h('figure', { class: 'chart-figure' }, h('figcaption', null, title), root, legend, note),
    tbl);
}

/**
 * The daily limit of a group for a dimension among the policies in force (the smallest, if several).
 * @param {RateLimitPolicyUsage[]} policies
 * @param {string} group
 * @param {string} dimension
 * @returns {number | undefined}
 */
function dailyLimit(policies, group, dimension) {
  const ps = policies.filter((p) => p.api_group === group && p.dimension === dimension && p.window === 'day');
  return ps.length ? Math.min(...ps.map((p) => p.max_calls)) : undefined;
}

/**
 * A Mini Program's usage over the last 7 days (and one user's), with the policies in force.
 * @param {string} appid
 * @param {string | undefined} openid
 * @returns {Promise<Node>}
 */
async function usageView(appid, openid) {
  const days = lastDays(DAYS);
  /** @type {[UsageReport[], AuthorizerHealth | null]} */
  const [reports, health] = await Promise.all([
    Promise.all(days.map((date) => /** @type {Promise<UsageReport>} */ (api.get('/admin/v1/usage', { appid, openid, date })))),
    /** @type {Promise<AuthorizerHealth>} */ (api.get(`/admin/v1/authorizers/${seg(appid)}/health`)).catch(() => null),
  ]);
  const policies = health ? health.rate_limits.policies : [];
  const groups = [...new Set([...GROUPS, ...reports.flatMap((r) => r.groups.map((g) => g.api_group))])]
    .filter((g) => reports.some((r) => r.groups.some((x) => x.api_group === g)));
  /** @type {Node[]} */
  const parts = [];
  /** @type {string[]} */
  const quiet = [];
  for (const g of groups) {
    const app = reports.map((r) => r.groups.find((x) => x.api_group === g)?.appid_calls ?? 0);
    const user = reports.map((r) => r.groups.find((x) => x.api_group === g)?.user_calls ?? 0);
    const used = app.some((v) => v > 0) || (openid !== undefined && user.some((v) => v > 0));
    if (!used) {
      quiet.push(named('group', g));
      continue;
    }
    const label = named('group', g);
    parts.push(usageChart({ title: t('lim.chart_app', { group: label, appid }), days, values: app, limit: dailyLimit(policies, g, 'appid') }));
    if (openid && (user.some((v) => v > 0) || dailyLimit(policies, g, 'user') !== undefined)) {
      parts.push(usageChart({ title: t('lim.chart_user', { group: label, openid }), days, values: user, limit: dailyLimit(policies, g, 'user') }));
    }
  }
  if (quiet.length) parts.push(h('p', { class: 'muted' }, t('lim.quiet', { groups: quiet.join(', ') })));
  if (!health) parts.push(h('p', { class: 'warning' }, t('lim.health_failed')));
  else {
    parts.push(h('h3', null, t('lim.in_force', { appid })), table([
      { label: t('lim.col_name'), render: (p) => h('code', null, p.name) },
      { label: t('lim.col_group'), render: (p) => named('group', p.api_group) },
      { label: t('lim.col_dimension'), render: (p) => t(`dim.${p.dimension}`) },
      { label: t('lim.col_window'), render: (p) => t(`win.${p.window}`) },
      { label: t('lim.col_scope'), render: (p) => scopeView(p.scope) },
      { label: t('lim.col_max'), className: 'num', render: (p) => fmtNumber(p.max_calls) },
      { label: t('lim.col_used'), className: 'num', render: (p) => fmtNumber(p.used) },
      { label: t('lim.col_remaining'), className: 'num', render: (p) => fmtNumber(p.remaining) },
      { label: t('lim.col_resets'), className: 'num', render: (p) => fmtDuration(p.resets_in_secs) },
    ], policies, { caption: t('lim.in_force', { appid }), empty: t('lim.in_force_empty') }));
  }
  return h('div', null, parts);
}

/**
 * The policy editor: group, dimension, window, scope and max calls; `edit(p)` loads a policy.
 * @param {() => void} onSaved
 * @returns {{element: HTMLElement, edit: (p: RateLimitPolicy) => void}}
 */
function policyForm(onSaved) {
  const group = selectInput(GROUPS.map((g) => /** @type {[string, string]} */ ([g, named('group', g)])), 'logistics_plugin');
  const dimension = selectInput(DIMENSIONS.map((d) => /** @type {[string, string]} */ ([d, t(`dim.${d}`)])), 'appid');
  const win = selectInput(WINDOWS.map((w) => /** @type {[string, string]} */ ([w, t(`win.${w}`)])), 'day');
  const scopeKind = selectInput([['global', t('scope.global')], ['tenant', t('scope.tenant')], ['appid', t('scope.appid')]], 'global');
  const tenant = tenantSelect(undefined, { anyLabel: t('lim.choose_tenant') });
  const apps = appidDatalist(undefined);
  const appid = textInput('', { list: apps, placeholder: 'wx…', maxlength: 64 });
  const max = h('input', { type: 'number', min: '0', max: '1000000000', step: '1', required: true, inputmode: 'numeric' });
  const tenantField = formField(t('lim.f_scope_tenant'), tenant);
  const appidField = formField(t('lim.f_scope_appid'), appid);
  const note = h('p', { class: 'notice', role: 'status', hidden: true });
  const errorBox = h('div');
  const save = h('button', { type: 'submit' }, t('lim.save'));
  const syncScope = () => {
    tenantField.hidden = scopeKind.value !== 'tenant';
    appidField.hidden = scopeKind.value !== 'appid';
  };
  scopeKind.addEventListener('change', syncScope);
  syncScope();
  const form = h('form', null,
    h('p', { class: 'help' }, t('lim.form_help')),
    note,
    h('div', { class: 'form-grid' },
      formField(t('lim.f_group'), group),
      formField(t('lim.f_dimension'), dimension),
      formField(t('lim.f_window'), win),
      formField(t('lim.f_scope'), scopeKind),
      tenantField,
      appidField,
      formField(t('lim.f_max'), max, t('lim.f_max_help'))),
    apps,
    h('div', { class: 'actions' }, save),
    errorBox);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    let scope = 'global';
    if (scopeKind.value === 'tenant') scope = tenant.value ? `tenant:${tenant.value}` : '';
    if (scopeKind.value === 'appid') scope = appid.value.trim() ? `appid:${appid.value.trim()}` : '';
    if (!scope) {
      replace(errorBox, h('p', { class: 'problem', role: 'alert' }, t('lim.need_scope_id')));
      return;
    }
    /** @type {NewRateLimitPolicy} */
    const body = { api_group: group.value, dimension: dimension.value, window: win.value, scope, max_calls: Number(max.value) };
    const saved = await runAction(save, () => api.put('/admin/v1/rate-limit-policies', body), { errorBox, ok: t('lim.saved') });
    if (saved) {
      note.hidden = true;
      onSaved();
    }
  });
  /** @param {RateLimitPolicy} p */
  const edit = (p) => {
    group.value = p.api_group;
    dimension.value = p.dimension;
    win.value = p.window;
    const [kind, ...rest] = p.scope.split(':');
    scopeKind.value = kind === 'tenant' || kind === 'appid' ? kind : 'global';
    if (kind === 'tenant') {
      const id = rest.join(':');
      if (![...tenant.options].some((o) => o.value === id)) tenant.appendChild(h('option', { value: id }, id));
      tenant.value = id;
    }
    if (kind === 'appid') appid.value = rest.join(':');
    syncScope();
    max.value = String(p.max_calls);
    note.textContent = t('lim.editing', { name: `${p.api_group}-${p.dimension}-${p.window} (${p.scope})` });
    note.hidden = false;
    form.scrollIntoView({ block: 'start' });
    max.focus();
    max.select();
  };
  return { element: form, edit };
}

/**
 * The policies table (platform roles), with edit and delete for platform_admin.
 * @param {import('../app.js').PageContext} ctx
 * @returns {HTMLElement}
 */
function policiesSection(ctx) {
  const listBox = h('div');
  const editor = ctx.session.can_write ? policyForm(() => load()) : null;
  const load = () => loadInto(listBox, async () => {
    /** @type {RateLimitPolicyList} */
    const list = await api.get('/admin/v1/rate-limit-policies');
    /** @type {import('../ui.js').Column<RateLimitPolicy>[]} */
    const cols = [
      { label: t('lim.col_scope'), render: (p) => scopeView(p.scope) },
      { label: t('lim.col_group'), render: (p) => named('group', p.api_group) },
      { label: t('lim.col_dimension'), render: (p) => t(`dim.${p.dimension}`) },
      { label: t('lim.col_window'), render: (p) => t(`win.${p.window}`) },
      { label: t('lim.col_max'), className: 'num', render: (p) => fmtNumber(p.max_calls) },
      { label: t('lim.col_id'), render: (p) => (p.id.startsWith('default:') ? [code(p.id), ' ', badge('default', t('lim.default'))] : code(p.id)) },
    ];
    if (editor) {
      cols.push({
        label: t('lim.col_actions'),
        render: (p) => {
          const edit = h('button', { type: 'button', class: 'secondary' }, t('lim.edit'));
          edit.addEventListener('click', () => editor.edit(p));
          if (p.id.startsWith('default:')) return h('div', { class: 'actions' }, edit);
          const del = h('button', { type: 'button', class: 'danger' }, t('lim.delete'));
          del.addEventListener('click', async () => {
            const ok = await confirmDialog({
              title: t('lim.delete_title'),
              body: t('lim.delete_body', {
                group: named('group', p.api_group), dimension: t(`dim.${p.dimension}`), window: t(`win.${p.window}`), scope: scopeText(p.scope), max: fmtNumber(p.max_calls),
              }),
              confirmLabel: t('lim.delete_confirm'),
              danger: true,
            });
            if (!ok) return;
            const done = await runAction(del, async () => { await api.del(`/admin/v1/rate-limit-policies/${seg(p.id)}`); return true; });
            if (done) {
              toast(t('lim.deleted'), 'ok');
              load();
            }
          });
          return h('div', { class: 'actions' }, edit, del);
        },
      });
    }
    return table(cols, list.items, { caption: t('lim.policies'), empty: t('lim.policies_empty') });
  });
  load();
  return h('div', null,
    section(t('lim.policies'), [h('p', { class: 'help' }, t('lim.policies_help')), listBox]),
    editor ? section(t('lim.form'), [editor.element]) : null);
}

/** @type {import('../app.js').Page} */
export default {
  id: 'limits',
  path: /^\/limits$/,
  title: 'nav.limits',
  render(ctx) {
    const platform = isPlatform(ctx.session);
    /** @type {Record<string, string>} */
    const query = {};
    if (ctx.query.appid) query.appid = ctx.query.appid;
    if (ctx.query.openid) query.openid = ctx.query.openid;
    const apps = appidDatalist(platform ? undefined : ctx.session.tenant_id);
    const usage = filteredList({
      path: '/limits',
      query,
      extra: [apps],
      fields: (q) => [
        { name: 'appid', label: t('lim.appid'), control: textInput(q.appid, { list: apps, placeholder: 'wx…', maxlength: 64 }) },
        { name: 'openid', label: t('lim.openid'), control: textInput(q.openid, { maxlength: 128 }), help: t('lim.openid_help') },
      ],
      results: async (q) => (q.appid ? usageView(q.appid, q.openid || undefined) : h('p', { class: 'notice' }, t('lim.pick_appid'))),
    });
    return h('div', null,
      pageHeader(t('nav.limits'), null, t('lim.subtitle')),
      section(t('lim.usage'), [h('p', { class: 'help' }, t('lim.usage_help')), usage.form, usage.results]),
      platform ? policiesSection(ctx) : null);
  },
};
