// Page 3 (detail): one Mini Program (授权方) — health, permission sets (权限集), trade
// management with its paid orders waiting for shipment (linking to the Shipping page),
// rate limits today, recent calls and events; actions refresh token,
// re-sync, move to another tenant, revoke (each behind a dialog saying what happens).

import { api, qs, seg } from '../api.js';
import { strings, fmtDuration, fmtNumber, fmtPercent, fmtTime } from '../i18n.js';
import {
  badge, confirmDialog, dl, formDialog, formField, h, link, loadInto, pageHeader, pagedTable, replace,
  runAction, section, setTitle, table, timeEl, toast,
} from '../ui.js';
import { authorizerSets, hoursAgo, permissionSetList, tenantLink, tenantNames, tokenCell } from './mp-common.js';
import { tradeState } from './mini-programs.js';

/** @typedef {import('tpgate-api').components['schemas']['Authorizer']} Authorizer */
/** @typedef {import('tpgate-api').components['schemas']['AuthorizerHealth']} AuthorizerHealth */
/** @typedef {import('tpgate-api').components['schemas']['CallWindow']} CallWindow */
/** @typedef {import('tpgate-api').components['schemas']['ApiCallCount']} ApiCallCount */
/** @typedef {import('tpgate-api').components['schemas']['RateLimitPolicyUsage']} RateLimitPolicyUsage */
/** @typedef {import('tpgate-api').components['schemas']['Call']} Call */
/** @typedef {import('tpgate-api').components['schemas']['CallOutcome']} CallOutcome */
/** @typedef {import('tpgate-api').components['schemas']['Event']} Event */
/** @typedef {import('tpgate-api').components['schemas']['Tenant']} Tenant */

const t = strings({
  en: {
    'mp.title': 'Mini Program',
    'mp.appid': 'appid',
    'mp.nick_name': 'Name',
    'mp.user_name': 'Original id',
    'mp.principal': 'Principal',
    'mp.tenant': 'Tenant',
    'mp.status': 'Status',
    'mp.authorized_at': 'Authorized',
    'mp.last_used_at': 'Last proxied call',
    'mp.reauth_note': 'WeChat no longer accepts the refresh token: the Mini Program’s administrator must authorize again (send a new authorization link).',
    'mp.revoked_note': 'This authorization is revoked: tpgate does not call WeChat for it.',
    // health
    'mp.health': 'Health',
    'mp.as_of': 'As of {when}',
    'mp.token': 'Token (令牌)',
    'mp.token_valid': 'Valid',
    'mp.token_expires': 'Expires',
    'mp.token_refreshed': 'Last refreshed',
    'mp.token_forced': 'Last forced refresh',
    'mp.last_hour': 'Last hour',
    'mp.last_24h': 'Last 24 hours',
    'mp.calls': 'Calls',
    'mp.sent': 'Reached WeChat',
    'mp.errors': 'Errors',
    'mp.error_rate': 'Error rate',
    'mp.by_api': 'Calls in the last 24 hours by API and outcome',
    'mp.col_api': 'API',
    'mp.col_outcome': 'Outcome',
    'mp.col_calls': 'Calls',
    'mp.last_error': 'Latest error',
    'mp.no_error': 'No failed call recorded.',
    'mp.errcode': 'errcode',
    'mp.rid': 'rid',
    'mp.open_call': 'Open the call',
    // permission sets
    'mp.sets': 'Permission sets (权限集)',
    'mp.granted': 'Granted',
    'mp.missing_title': 'Missing permission sets',
    'mp.missing_one': 'Needs any one of {sets} for: ',
    'mp.missing_help': 'Calls to these WeChat APIs are refused (403) until the Mini Program’s administrator grants one of the sets: send a new authorization link.',
    'mp.none_missing': 'Every API that tpgate proxies is allowed by the granted sets.',
    // trade management
    'mp.trade': 'Trade management (发货信息管理)',
    'mp.trade_managed': 'Trade managed (is_trade_managed)',
    'mp.trade_confirmed': 'Confirmation completed',
    'mp.trade_fetched': 'Answered by WeChat',
    'mp.trade_attempted': 'Last asked',
    'mp.trade_error': 'Last attempt failed',
    'mp.trade_check': 'Check again',
    'mp.trade_checked': 'Checked with WeChat.',
    'mp.ship': 'Waiting for shipment',
    'mp.ship_pending': 'Paid orders waiting for shipment',
    'mp.ship_overdue': 'Of them overdue',
    'mp.ship_open': 'Open in Shipping',
    // rate limits
    'mp.limits': 'Rate limits today',
    'mp.limits_date': 'Day {date} (Asia/Shanghai)',
    'mp.col_policy': 'Policy',
    'mp.col_group': 'API group',
    'mp.col_dimension': 'Per',
    'mp.col_window': 'Window',
    'mp.col_scope': 'Scope',
    'mp.col_used': 'Used',
    'mp.col_max': 'Limit',
    'mp.col_resets': 'Resets in',
    'mp.no_limits': 'No rate-limit policy applies.',
    'mp.limits_link': 'Open in Limits and usage',
    // calls
    'mp.recent_calls': 'Recent calls',
    'mp.outcome': 'Outcome',
    'mp.any_outcome': 'Any',
    'mp.show': 'Show',
    'mp.col_time': 'Time',
    'mp.col_errcode': 'errcode',
    'mp.col_errmsg': 'errmsg',
    'mp.col_latency': 'Latency (ms)',
    'mp.col_request': 'Request id',
    'mp.no_calls': 'No calls.',
    'mp.all_calls': 'Open in Calls',
    // events
    'mp.events': 'Events',
    'mp.col_type': 'Type',
    'mp.col_occurred': 'Occurred',
    'mp.no_events': 'No events.',
    'mp.all_events': 'Open in Events',
    // actions
    'mp.refresh': 'Refresh token',
    'mp.refresh_title': 'Refresh the token of {name}?',
    'mp.refresh_1': 'tpgate asks WeChat for a new authorizer_access_token now, with the refresh token it holds (once across replicas).',
    'mp.refresh_2': 'Calls in progress are not interrupted; the old token stays valid at WeChat for a few minutes.',
    'mp.refresh_3': 'It uses WeChat’s quota for token calls; another forced refresh moments later is refused.',
    'mp.refreshed': 'Token refreshed.',
    'mp.resync': 'Re-sync',
    'mp.resync_title': 'Re-sync {name} from WeChat?',
    'mp.resync_1': 'tpgate reads api_get_authorizer_info: the name, original id, principal and granted permission sets are replaced by what WeChat says now.',
    'mp.resync_2': 'Use it when an authorization change (updateauthorized) may have been missed.',
    'mp.resync_3': 'It uses the platform’s component API quota.',
    'mp.resynced': 'Re-synced from WeChat.',
    'mp.move': 'Move to another tenant',
    'mp.move_title': 'Move {name} to another tenant',
    'mp.move_1': 'The new tenant’s API keys can call it from now on; the current tenant’s keys are refused.',
    'mp.move_2': 'Its new events go to the new tenant’s webhooks.',
    'mp.move_3': 'Its authorization, tokens and permission sets stay as they are.',
    'mp.move_to': 'New tenant',
    'mp.move_submit': 'Move',
    'mp.move_same': 'Choose a tenant other than the current one.',
    'mp.moved': 'Moved to {name}.',
    'mp.revoke': 'Revoke',
    'mp.revoke_title': 'Revoke the authorization of {name}?',
    'mp.revoke_1': 'tpgate stops calling WeChat for it and drops its tokens: every call for it is refused.',
    'mp.revoke_2': 'An authorization.revoked event is recorded and sent to its tenant’s webhooks.',
    'mp.revoke_3': 'To undo it, the Mini Program’s administrator must authorize again through a new authorization link.',
    'mp.revoke_reason': 'Reason (recorded in the event and the audit log)',
    'mp.revoke_confirm': 'Revoke authorization',
    'mp.revoked': 'Authorization revoked.',
  },
  zh: {
    'mp.title': '小程序',
    'mp.appid': 'appid',
    'mp.nick_name': '名称',
    'mp.user_name': '原始 ID',
    'mp.principal': '主体',
    'mp.tenant': '租户',
    'mp.status': '状态',
    'mp.authorized_at': '授权时间',
    'mp.last_used_at': '最近代理调用',
    'mp.reauth_note': '微信已不接受刷新令牌：需要小程序管理员重新授权（发送新的授权链接）。',
    'mp.revoked_note': '此授权已撤销：tpgate 不再为它调用微信。',
    'mp.health': '健康状况',
    'mp.as_of': '数据时间 {when}',
    'mp.token': '令牌',
    'mp.token_valid': '有效',
    'mp.token_expires': '到期',
    'mp.token_refreshed': '最近刷新',
    'mp.token_forced': '最近强制刷新',
    'mp.last_hour': '最近 1 小时',
    'mp.last_24h': '最近 24 小时',
    'mp.calls': '调用',
    'mp.sent': '已发送至微信',
    'mp.errors': '错误',
    'mp.error_rate': '错误率',
    'mp.by_api': '最近 24 小时按接口和结果统计的调用',
    'mp.col_api': '接口',
    'mp.col_outcome': '结果',
    'mp.col_calls': '调用次数',
    'mp.last_error': '最近错误',
    'mp.no_error': '没有失败的调用记录。',
    'mp.errcode': 'errcode',
    'mp.rid': 'rid',
    'mp.open_call': '查看该调用',
    'mp.sets': '权限集',
    'mp.granted': '已授权',
    'mp.missing_title': '缺少的权限集',
    'mp.missing_one': '需要以下任一权限集 {sets}，用于：',
    'mp.missing_help': '在小程序管理员授权其中一个权限集之前，这些微信接口的调用会被拒绝（403）：请发送新的授权链接。',
    'mp.none_missing': '已授权的权限集覆盖 tpgate 代理的所有接口。',
    'mp.trade': '发货信息管理',
    'mp.trade_managed': '已开通发货信息管理（is_trade_managed）',
    'mp.trade_confirmed': '已完成确认',
    'mp.trade_fetched': '微信答复时间',
    'mp.trade_attempted': '最近查询',
    'mp.trade_error': '最近一次查询失败',
    'mp.trade_check': '重新查询',
    'mp.trade_checked': '已向微信查询。',
    'mp.ship': '待发货',
    'mp.ship_pending': '待发货订单',
    'mp.ship_overdue': '其中超时未发货',
    'mp.ship_open': '在发货页面打开',
    'mp.limits': '今日限额',
    'mp.limits_date': '{date}（北京时间）',
    'mp.col_policy': '策略',
    'mp.col_group': '接口组',
    'mp.col_dimension': '维度',
    'mp.col_window': '周期',
    'mp.col_scope': '范围',
    'mp.col_used': '已用',
    'mp.col_max': '上限',
    'mp.col_resets': '重置于',
    'mp.no_limits': '没有适用的限额策略。',
    'mp.limits_link': '在限额与用量页面打开',
    'mp.recent_calls': '最近调用',
    'mp.outcome': '结果',
    'mp.any_outcome': '全部',
    'mp.show': '显示',
    'mp.col_time': '时间',
    'mp.col_errcode': 'errcode',
    'mp.col_errmsg': 'errmsg',
    'mp.col_latency': '耗时（毫秒）',
    'mp.col_request': '请求 ID',
    'mp.no_calls': '没有调用。',
    'mp.all_calls': '在调用记录页面打开',
    'mp.events': '事件',
    'mp.col_type': '类型',
    'mp.col_occurred': '发生时间',
    'mp.no_events': '没有事件。',
    'mp.all_events': '在事件页面打开',
    'mp.refresh': '刷新令牌',
    'mp.refresh_title': '刷新 {name} 的令牌？',
    'mp.refresh_1': 'tpgate 将立即使用所持有的刷新令牌向微信获取新的 authorizer_access_token（多副本间只执行一次）。',
    'mp.refresh_2': '进行中的调用不会中断；旧令牌在微信侧仍有效几分钟。',
    'mp.refresh_3': '这会消耗微信的令牌接口配额；紧接着再次强制刷新会被拒绝。',
    'mp.refreshed': '令牌已刷新。',
    'mp.resync': '重新同步',
    'mp.resync_title': '从微信重新同步 {name}？',
    'mp.resync_1': 'tpgate 将调用 api_get_authorizer_info：名称、原始 ID、主体和已授权的权限集将以微信当前的答复为准。',
    'mp.resync_2': '在可能漏收授权变更（updateauthorized）时使用。',
    'mp.resync_3': '这会消耗平台的第三方平台接口配额。',
    'mp.resynced': '已从微信重新同步。',
    'mp.move': '移至其他租户',
    'mp.move_title': '将 {name} 移至其他租户',
    'mp.move_1': '从现在起新租户的 API 密钥可以调用它，当前租户的密钥会被拒绝。',
    'mp.move_2': '它的新事件会发送到新租户的 Webhook。',
    'mp.move_3': '它的授权、令牌和权限集保持不变。',
    'mp.move_to': '新租户',
    'mp.move_submit': '移动',
    'mp.move_same': '请选择当前租户以外的租户。',
    'mp.moved': '已移至 {name}。',
    'mp.revoke': '撤销授权',
    'mp.revoke_title': '撤销 {name} 的授权？',
    'mp.revoke_1': 'tpgate 将停止为它调用微信并丢弃其令牌：对它的所有调用都会被拒绝。',
    'mp.revoke_2': '将记录一条 authorization.revoked 事件并发送到其租户的 Webhook。',
    'mp.revoke_3': '如需恢复，小程序管理员必须通过新的授权链接重新授权。',
    'mp.revoke_reason': '原因（记录在事件和审计日志中）',
    'mp.revoke_confirm': '撤销授权',
    'mp.revoked': '授权已撤销。',
  },
});

/** @type {CallOutcome[]} */
const OUTCOMES = ['ok', 'invalid', 'rate_limited', 'not_sent', 'wechat_refused', 'wechat_failed', 'timeout'];

/**
 * A call window's figures.
 * @param {CallWindow} w
 * @returns {[string, import('../ui.js').Child][]}
 */
function windowFacts(w) {
  return [
    [t('mp.calls'), fmtNumber(w.calls)],
    [t('mp.sent'), fmtNumber(w.sent)],
    [t('mp.errors'), h('span', { class: w.errors ? 'bad-text' : '' }, fmtNumber(w.errors))],
    [t('mp.error_rate'), fmtPercent(w.error_rate)],
  ];
}

/** @type {import('../app.js').Page} */
export default {
  id: 'mini-program',
  path: /^\/mini-programs\/([^/]+)$/,
  title: 'mp.title',
  async render(ctx) {
    const { session } = ctx;
    const appid = ctx.params[0];
    const base = `/admin/v1/authorizers/${seg(appid)}`;
    /** @type {[Authorizer, AuthorizerHealth]} */
    const [a, health] = await Promise.all([api.get(base), api.get(`${base}/health`)]);
    const name = a.nick_name || a.appid;
    setTitle(`${name} · ${t('mp.title')}`);

    const platformAdmin = session.can_write && session.role === 'platform_admin';
    const tenantWrite = session.can_write && (session.role === 'platform_admin' || (session.role === 'tenant_admin' && !!a.tenant_id && a.tenant_id === session.tenant_id));
    const platform = session.role !== 'tenant_admin';
    /** @type {Map<string, string>} */
    const names = platform ? await tenantNames() : new Map();

    // --- actions ---------------------------------------------------------------
    /** @type {HTMLButtonElement[]} */
    const actions = [];
    if (tenantWrite && a.status !== 'revoked') {
      const b = h('button', { type: 'button', class: 'secondary' }, t('mp.refresh'));
      b.addEventListener('click', async () => {
        const ok = await confirmDialog({ title: t('mp.refresh_title', { name }), body: [t('mp.refresh_1'), t('mp.refresh_2'), t('mp.refresh_3')], confirmLabel: t('mp.refresh') });
        if (ok && await runAction(b, () => api.post(`${base}/refresh-token`), { ok: t('mp.refreshed') })) ctx.refresh();
      });
      actions.push(b);
    }
    if (platformAdmin && a.status !== 'revoked') {
      const b = h('button', { type: 'button', class: 'secondary' }, t('mp.resync'));
      b.addEventListener('click', async () => {
        const ok = await confirmDialog({ title: t('mp.resync_title', { name }), body: [t('mp.resync_1'), t('mp.resync_2'), t('mp.resync_3')], confirmLabel: t('mp.resync') });
        if (ok && await runAction(b, () => api.post(`${base}/resync`), { ok: t('mp.resynced') })) ctx.refresh();
      });
      actions.push(b);
    }
    if (platformAdmin) {
      const b = h('button', { type: 'button', class: 'secondary' }, t('mp.move'));
      b.addEventListener('click', async () => {
        const select = h('select', { name: 'tenant_id', required: true },
          [...names.entries()].sort((x, y) => x[1].localeCompare(y[1])).map(([id, n]) => h('option', { value: id }, `${n} (${id})`)));
        if (a.tenant_id) select.value = a.tenant_id;
        /** @type {Authorizer | undefined} */
        const moved = await formDialog({
          title: t('mp.move_title', { name }),
          intro: h('ul', null, [t('mp.move_1'), t('mp.move_2'), t('mp.move_3')].map((s) => h('li', null, s))),
          fields: formField(t('mp.move_to'), select),
          submitLabel: t('mp.move_submit'),
          onSubmit: async () => {
            if (select.value === a.tenant_id) throw new Error(t('mp.move_same'));
            return api.post(`${base}/move`, { tenant_id: select.value });
          },
        });
        if (moved) {
          toast(t('mp.moved', { name: names.get(select.value) ?? select.value }), 'ok');
          ctx.refresh();
        }
      });
      actions.push(b);
    }
    if (tenantWrite && a.status !== 'revoked') {
      const b = h('button', { type: 'button', class: 'danger' }, t('mp.revoke'));
      b.addEventListener('click', async () => {
        const reason = h('textarea', { name: 'reason', rows: '2', maxlength: '500' });
        const ok = await confirmDialog({
          title: t('mp.revoke_title', { name }),
          body: [t('mp.revoke_1'), t('mp.revoke_2'), t('mp.revoke_3')],
          confirmLabel: t('mp.revoke_confirm'),
          danger: true,
          extra: formField(t('mp.revoke_reason'), reason),
        });
        if (!ok) return;
        const body = reason.value.trim() ? { reason: reason.value.trim() } : {};
        if (await runAction(b, () => api.post(`${base}/revoke`, body), { ok: t('mp.revoked') })) ctx.refresh();
      });
      actions.push(b);
    }

    // --- summary -------------------------------------------------------------------
    const summary = h('section', { class: 'card', 'aria-label': t('mp.title') },
      dl([
        [t('mp.appid'), h('code', null, a.appid)],
        [t('mp.nick_name'), a.nick_name || '—'],
        [t('mp.user_name'), a.user_name ? h('code', null, a.user_name) : '—'],
        [t('mp.principal'), a.principal_name || '—'],
        [t('mp.tenant'), tenantLink(a.tenant_id, names)],
        [t('mp.status'), badge(a.status)],
        [t('mp.authorized_at'), fmtTime(a.authorized_at)],
        [t('mp.last_used_at'), timeEl(a.last_used_at)],
      ]));

    // --- health --------------------------------------------------------------------
    const last = health.last_error;
    const healthSection = section(t('mp.health'), [
      h('p', { class: 'muted' }, t('mp.as_of', { when: fmtTime(health.as_of) })),
      h('h3', null, t('mp.token')),
      dl([
        [t('mp.token_valid'), badge(health.token.valid ? 'valid' : 'invalid_token')],
        [t('mp.token_expires'), a.status === 'revoked' ? '—' : tokenCell(health.token)],
        [t('mp.token_refreshed'), timeEl(health.token.refreshed_at)],
        [t('mp.token_forced'), timeEl(health.last_forced_refresh_at)],
      ]),
      h('div', { class: 'two-col' },
        h('div', null, h('h3', null, t('mp.last_hour')), dl(windowFacts(health.last_hour))),
        h('div', null, h('h3', null, t('mp.last_24h')), dl(windowFacts(health.last_24h)))),
      health.last_24h.by_api.length
        ? table(/** @type {import('../ui.js').Column<ApiCallCount>[]} */ ([
          { label: t('mp.col_api'), render: (r) => h('code', null, r.api) },
          { label: t('mp.col_outcome'), render: (r) => badge(r.outcome) },
          { label: t('mp.col_calls'), className: 'num', render: (r) => link(`#/calls${qs({ appid, api: r.api, outcome: r.outcome, since: hoursAgo(24) })}`, fmtNumber(r.calls)) },
        ]), health.last_24h.by_api, { caption: t('mp.by_api') })
        : null,
      h('h3', null, t('mp.last_error')),
      last
        ? dl([
          [t('mp.col_time'), fmtTime(last.occurred_at)],
          [t('mp.col_api'), h('code', null, last.api)],
          [t('mp.col_outcome'), badge(last.outcome)],
          [t('mp.errcode'), last.errcode !== undefined ? h('code', null, String(last.errcode)) : null],
          [t('mp.col_errmsg'), last.errmsg ?? null],
          [t('mp.rid'), last.rid ? h('code', null, last.rid) : null],
          [t('mp.col_request'), last.request_id ? h('code', null, last.request_id) : null],
          ['', link(`#/calls/${encodeURIComponent(last.id)}`, t('mp.open_call'))],
        ])
        : h('p', null, t('mp.no_error')),
    ]);

    // --- permission sets -------------------------------------------------------------
    const missing = health.missing_permission_sets;
    const setsSection = section(t('mp.sets'), [
      h('h3', null, t('mp.granted')),
      health.permission_sets.length ? permissionSetList(health.permission_sets) : authorizerSets(a),
      missing.length
        ? h('div', { class: 'warning', role: 'note' },
          h('h3', null, `⚠ ${t('mp.missing_title')}`),
          h('ul', null, missing.map((m) => h('li', null,
            t('mp.missing_one', { sets: m.any_of.map((s) => `${s.id}${s.name ? ` ${s.name}` : ''}`).join(' / ') }),
            m.apis.map((p, i) => [i ? ', ' : '', h('code', null, p)])))),
          h('p', null, t('mp.missing_help')))
        : h('p', { class: 'ok-text' }, t('mp.none_missing')),
    ]);

    // --- trade management ----------------------------------------------------------------
    const tradeBox = h('div');
    /** @param {AuthorizerHealth} hl */
    const renderTrade = (hl) => {
      const tm = hl.trade_management;
      replace(tradeBox,
        h('p', null, tradeState(tm)),
        dl([
          [t('mp.trade_managed'), tm.is_trade_managed === undefined ? '—' : badge(tm.is_trade_managed ? 'active' : 'neutral', tm.is_trade_managed ? '✓' : '✗')],
          [t('mp.trade_confirmed'), tm.confirmation_completed === undefined ? '—' : badge(tm.confirmation_completed ? 'ok' : 'pending', tm.confirmation_completed ? '✓' : '✗')],
          [t('mp.trade_fetched'), timeEl(tm.fetched_at)],
          [t('mp.trade_attempted'), timeEl(tm.attempted_at)],
          [t('mp.trade_error'), tm.errcode !== undefined || tm.error ? `${tm.errcode ?? ''} ${tm.error ?? ''}`.trim() : null],
        ]),
        h('h3', null, t('mp.ship')),
        dl([
          [t('mp.ship_pending'), fmtNumber(hl.shipping.pending)],
          [t('mp.ship_overdue'), h('span', { class: hl.shipping.overdue ? 'bad-text' : '' }, fmtNumber(hl.shipping.overdue))],
        ]),
        h('p', null, link(`#/shipping${qs({ appid })}`, t('mp.ship_open'))));
    };
    renderTrade(health);
    /** @type {HTMLButtonElement | null} */
    let checkAgain = null;
    if (tenantWrite && a.status === 'active') {
      const b = h('button', { type: 'button', class: 'secondary' }, t('mp.trade_check'));
      b.addEventListener('click', async () => {
        /** @type {AuthorizerHealth | undefined} */
        const hl = await runAction(b, () => api.get(`${base}/health`, { refresh: true }), { ok: t('mp.trade_checked') });
        if (hl) renderTrade(hl);
      });
      checkAgain = b;
    }

    // --- rate limits ------------------------------------------------------------------------
    const rl = health.rate_limits;
    const limitsSection = section(t('mp.limits'), [
      h('p', { class: 'muted' }, t('mp.limits_date', { date: rl.date })),
      table(/** @type {import('../ui.js').Column<RateLimitPolicyUsage>[]} */ ([
        { label: t('mp.col_policy'), render: (p) => h('code', null, p.name) },
        { label: t('mp.col_dimension'), render: (p) => p.dimension },
        { label: t('mp.col_window'), render: (p) => p.window },
        { label: t('mp.col_scope'), render: (p) => h('code', null, p.scope) },
        { label: t('mp.col_used'), className: 'num', render: (p) => fmtNumber(p.used) },
        { label: t('mp.col_max'), className: 'num', render: (p) => fmtNumber(p.max_calls) },
        { label: t('mp.col_resets'), render: (p) => fmtDuration(p.resets_in_secs) },
      ]), rl.policies, { caption: t('mp.limits'), empty: t('mp.no_limits') }),
    ], { actions: link(`#/limits${qs({ appid })}`, t('mp.limits_link')) });

    // --- recent calls ---------------------------------------------------------------------------
    const callsBox = h('div');
    const outcome = h('select', { name: 'outcome' },
      h('option', { value: '' }, t('mp.any_outcome')),
      OUTCOMES.map((o) => h('option', { value: o }, t(`status.${o}`))));
    /** @type {import('../ui.js').Column<Call>[]} */
    const callColumns = [
      { label: t('mp.col_time'), render: (c) => link(`#/calls/${encodeURIComponent(c.id)}`, fmtTime(c.occurred_at)) },
      { label: t('mp.col_api'), render: (c) => h('code', null, c.api) },
      { label: t('mp.col_outcome'), render: (c) => badge(c.outcome) },
      { label: t('mp.col_errcode'), render: (c) => (c.errcode !== undefined ? h('code', null, String(c.errcode)) : '—') },
      { label: t('mp.col_errmsg'), render: (c) => c.errmsg ?? '—' },
      { label: t('mp.col_latency'), className: 'num', render: (c) => fmtNumber(c.latency_ms) },
      { label: t('mp.col_request'), render: (c) => (c.request_id ? h('code', null, c.request_id) : '—') },
    ];
    const loadCalls = () => loadInto(callsBox, () => pagedTable(callColumns,
      (cursor) => api.get('/admin/v1/calls', { appid, outcome: outcome.value, cursor, limit: 25 }),
      { caption: t('mp.recent_calls'), empty: t('mp.no_calls') }));
    outcome.addEventListener('change', loadCalls);
    loadCalls();

    // --- events ------------------------------------------------------------------------------------
    const eventsBox = h('div');
    /** @type {import('../ui.js').Column<Event>[]} */
    const eventColumns = [
      { label: t('mp.col_occurred'), render: (e) => link(`#/events/${encodeURIComponent(e.id)}`, fmtTime(e.occurred_at)) },
      { label: t('mp.col_type'), render: (e) => h('code', null, e.type) },
    ];
    loadInto(eventsBox, () => pagedTable(eventColumns, (cursor) => api.get('/admin/v1/events', { appid, cursor, limit: 25 }),
      { caption: t('mp.events'), empty: t('mp.no_events') }));

    return h('div', null,
      pageHeader(name, actions.length ? actions : null, h('code', null, a.appid), t('mp.title')),
      a.status === 'reauthorization_required' ? h('p', { class: 'warning', role: 'status' }, t('mp.reauth_note')) : null,
      a.status === 'revoked' ? h('p', { class: 'warning', role: 'status' }, t('mp.revoked_note')) : null,
      summary,
      setsSection,
      healthSection,
      section(t('mp.trade'), [tradeBox], { actions: checkAgain }),
      limitsSection,
      section(t('mp.recent_calls'), [h('div', { class: 'filters' }, formField(t('mp.outcome'), outcome)), callsBox],
        { actions: link(`#/calls${qs({ appid })}`, t('mp.all_calls')) }),
      section(t('mp.events'), [eventsBox], { actions: link(`#/events${qs({ appid })}`, t('mp.all_events')) }));
  },
};
