// 4. Events: what WeChat pushed for the Mini Programs (and tpgate's own authorization events),
// filtered by type, Mini Program and time; replay of the filtered set to the tenants' webhooks.
// Filters live in the hash: #/events?tenant_id=…&appid=…&type=…&since=…&until=…

import { api, getAll } from '../api.js';
import { strings, fmtNumber, fmtTime } from '../i18n.js';
import { h, pageHeader, pagedTable, section, confirmDialog, runAction, replace } from '../ui.js';
import {
  isPlatform, filteredList, textInput, dateTimeInput, tenantSelect, appidDatalist, datalist,
  code, tenantLink, tenantNames, appLink, absTime,
} from '../widgets.js';

/** @typedef {import('tpgate-api').components['schemas']['Event']} Event */
/** @typedef {import('tpgate-api').components['schemas']['ReplayFilter']} ReplayFilter */
/** @typedef {import('tpgate-api').components['schemas']['ReplayResult']} ReplayResult */
/** @typedef {import('tpgate-api').components['schemas']['Webhook']} Webhook */
/** @typedef {import('../ui.js').Column<Event>} EventColumn */

/** Event types tpgate records itself or types from the seeds (the field also takes any other). */
export const KNOWN_EVENT_TYPES = [
  'authorization.authorized',
  'authorization.updated',
  'authorization.revoked',
  'authorization.reauthorization_required',
  'trade_manage_order_settlement',
  'trade_manage_remind_access_api',
  'trade_manage_remind_shipping',
];

/** At most this many events per replay request (the API's bound). */
export const MAX_REPLAY = 1000;

/** A replay's confirmation lists the endpoints of at most this many tenants by name. */
const MAX_LISTED_TENANTS = 5;

const t = strings({
  en: {
    'ev.subtitle': 'Authorization events and what WeChat pushed for the Mini Programs, newest first.',
    'ev.tenant': 'Tenant',
    'ev.appid': 'Mini Program (appid)',
    'ev.type': 'Event type',
    'ev.type_help': 'e.g. trade_manage_order_settlement, authorization.revoked',
    'ev.since': 'Since',
    'ev.until': 'Until',
    'ev.col_type': 'Type',
    'ev.col_mp': 'Mini Program',
    'ev.col_tenant': 'Tenant',
    'ev.col_occurred': 'Occurred',
    'ev.col_recorded': 'Recorded',
    'ev.col_id': 'Event id',
    'ev.list': 'Events',
    'ev.empty': 'No events match these filters.',
    'ev.replay_section': 'Replay',
    'ev.replay_many': 'Replay matching events',
    'ev.replay_many_help': 'Sends the events these filters match again to the webhook endpoints subscribed to them, oldest first, at most 1 000 at a time.',
    'ev.replay_needs_since': 'Set “Since” first: a replay covers a bounded time range.',
    'ev.replay_title': 'Replay these events?',
    'ev.replay_counting': 'Counting the matching events…',
    'ev.replay_which': 'What: {count} events — {what}.',
    'ev.replay_which_one': 'What: 1 event — {what}.',
    'ev.replay_which_more': 'What: more than 1 000 events match — {what}. Only the oldest 1 000 are replayed; narrow the time range and repeat for the rest.',
    'ev.replay_none': 'No event matches these filters: nothing would be sent.',
    'ev.replay_to_all': 'To whom: the events belong to {tenants} tenants; each event goes again, with its same event id, to every webhook endpoint of its tenant that subscribes to its type now — also where it was delivered before. Receivers dedupe on the id.',
    'ev.replay_to': 'To whom: the webhook endpoints that subscribe to the events’ types now.',
    'ev.replay_tenant': 'Tenant {tenant}:',
    'ev.replay_dedupe': 'Each event goes again with its same event id, also where it was delivered before: receivers dedupe on the id.',
    'ev.replay_orphans': '{count} of these events belong to no tenant: nothing is sent for them.',
    'ev.replay_no_endpoints': 'Tenant {tenant}: no endpoint subscribes to these events, so nothing is sent for them.',
    'ev.replay_disabled_ep': '(disabled: its deliveries wait until it is re-enabled)',
    'ev.replay_all_types': 'every type',
    'ev.replay_types': 'types: {types}',
    'ev.replay_confirm': 'Replay {count} events',
    'ev.replay_confirm_one': 'Replay 1 event',
    'ev.replayed': 'Replay queued — events: {events}, deliveries: {deliveries}.',
    'ev.what_type': 'type {type}',
    'ev.what_any_type': 'any type',
    'ev.what_app': 'Mini Program {appid}',
    'ev.what_any_app': 'every Mini Program',
    'ev.what_tenant': 'tenant {tenant}',
    'ev.what_any_tenant': 'every tenant',
    'ev.what_time': 'occurred from {since} to {until}',
    'ev.now': 'now',
  },
  zh: {
    'ev.subtitle': '授权事件及微信为各小程序推送的事件，最新的在前。',
    'ev.tenant': '租户',
    'ev.appid': '小程序（appid）',
    'ev.type': '事件类型',
    'ev.type_help': '例如 trade_manage_order_settlement、authorization.revoked',
    'ev.since': '开始时间',
    'ev.until': '结束时间',
    'ev.col_type': '类型',
    'ev.col_mp': '小程序',
    'ev.col_tenant': '租户',
    'ev.col_occurred': '发生时间',
    'ev.col_recorded': '记录时间',
    'ev.col_id': '事件 ID',
    'ev.list': '事件',
    'ev.empty': '没有符合筛选条件的事件。',
    'ev.replay_section': '重新推送',
    'ev.replay_many': '重新推送符合条件的事件',
    'ev.replay_many_help': '将符合筛选条件的事件再次推送到订阅它们的 Webhook 端点，从最早的开始，每次最多 1 000 个。',
    'ev.replay_needs_since': '请先设置“开始时间”：重新推送须限定时间范围。',
    'ev.replay_title': '重新推送这些事件？',
    'ev.replay_counting': '正在统计符合条件的事件…',
    'ev.replay_which': '内容：{count} 个事件 — {what}。',
    'ev.replay_which_one': '内容：1 个事件 — {what}。',
    'ev.replay_which_more': '内容：超过 1 000 个事件符合条件 — {what}。只重新推送最早的 1 000 个；请缩小时间范围后再推送其余事件。',
    'ev.replay_none': '没有符合条件的事件：不会推送任何内容。',
    'ev.replay_to_all': '推送对象：这些事件属于 {tenants} 个租户；每个事件以原事件 ID 再次推送到其租户下当前订阅该类型的所有 Webhook 端点（包括之前已投递过的）。接收方按 ID 去重。',
    'ev.replay_to': '推送对象：当前订阅这些事件类型的 Webhook 端点。',
    'ev.replay_tenant': '租户 {tenant}：',
    'ev.replay_dedupe': '每个事件以原事件 ID 再次推送，包括之前已投递成功的：接收方按 ID 去重。',
    'ev.replay_orphans': '其中 {count} 个事件不属于任何租户：不会为它们推送任何内容。',
    'ev.replay_no_endpoints': '租户 {tenant}：没有订阅这些事件的端点，不会为它们推送任何内容。',
    'ev.replay_disabled_ep': '（已停用：重新启用后才会投递）',
    'ev.replay_all_types': '全部类型',
    'ev.replay_types': '类型：{types}',
    'ev.replay_confirm': '重新推送 {count} 个事件',
    'ev.replay_confirm_one': '重新推送 1 个事件',
    'ev.replayed': '已排队重新推送 — 事件：{events}，投递：{deliveries}。',
    'ev.what_type': '类型 {type}',
    'ev.what_any_type': '任意类型',
    'ev.what_app': '小程序 {appid}',
    'ev.what_any_app': '全部小程序',
    'ev.what_tenant': '租户 {tenant}',
    'ev.what_any_tenant': '全部租户',
    'ev.what_time': '发生于 {since} 至 {until}',
    'ev.now': '现在',
  },
});

/**
 * The endpoints of a tenant that subscribe to an event type (every type when `type` is empty:
 * then every endpoint that subscribes to anything matching counts).
 * @param {string} tenantId
 * @param {string | undefined} type
 * @returns {Promise<Webhook[]>}
 */
export async function subscribedEndpoints(tenantId, type) {
  /** @type {Webhook[]} */
  const all = await getAll(`/admin/v1/tenants/${encodeURIComponent(tenantId)}/webhooks`, { limit: 200 });
  return all.filter((w) => !type || w.event_types.length === 0 || w.event_types.includes(type));
}

/**
 * A list of endpoints for a confirmation: URL, and a note when disabled.
 * @param {Webhook[]} endpoints
 * @returns {HTMLUListElement}
 */
export function endpointList(endpoints) {
  return h('ul', null, endpoints.map((w) => h('li', null,
    h('code', null, w.url),
    w.description ? ` — ${w.description}` : null,
    w.enabled ? null : [' ', h('span', { class: 'warn-text' }, t('ev.replay_disabled_ep'))])));
}

/**
 * Describes a filter in words for the confirmation.
 * @param {Record<string, string>} q
 * @param {boolean} platform
 * @param {Map<string, string>} names tenant names by id
 * @returns {string}
 */
function describe(q, platform, names) {
  const parts = [
    q.type ? t('ev.what_type', { type: q.type }) : t('ev.what_any_type'),
    q.appid ? t('ev.what_app', { appid: q.appid }) : t('ev.what_any_app'),
  ];
  if (platform) parts.push(q.tenant_id ? t('ev.what_tenant', { tenant: names.get(q.tenant_id) ?? q.tenant_id }) : t('ev.what_any_tenant'));
  parts.push(t('ev.what_time', { since: fmtTime(q.since), until: q.until ? fmtTime(q.until) : t('ev.now') }));
  return parts.join('; ');
}

/**
 * Asks (saying what and to whom) and replays the events `q` matches.
 * @param {import('../app.js').PageContext} ctx
 * @param {Record<string, string>} q
 * @param {HTMLButtonElement} btn
 * @param {HTMLElement} errorBox
 * @param {() => void} onDone
 */
async function replayMatching(ctx, q, btn, errorBox, onDone) {
  const platform = isPlatform(ctx.session);
  const tenantId = platform ? q.tenant_id : ctx.session.tenant_id;
  /** @type {Node[]} */
  const body = [];
  let count = 0;
  const prepared = await runAction(btn, async () => {
    /** @type {Event[]} */
    const matching = await getAll('/admin/v1/events', {
      tenant_id: platform ? q.tenant_id : undefined, appid: q.appid, type: q.type, since: q.since, until: q.until, limit: 200,
    }, MAX_REPLAY + 1);
    count = matching.length;
    if (count === 0) {
      body.push(h('p', null, t('ev.replay_none')));
      return true;
    }
    const names = await tenantNames(ctx.session);
    const what = describe(q, platform, names);
    body.push(h('p', null, count > MAX_REPLAY ? t('ev.replay_which_more', { what }) : t(count === 1 ? 'ev.replay_which_one' : 'ev.replay_which', { count: fmtNumber(count), what })));
    // To whom: per tenant of the matching events, its endpoints subscribed to their types now.
    /** @type {Map<string, Set<string>>} */
    const byTenant = new Map();
    let orphans = 0;
    for (const e of matching) {
      const tn = e.tenant_id ?? (platform ? undefined : tenantId);
      if (!tn) { orphans += 1; continue; }
      if (!byTenant.has(tn)) byTenant.set(tn, new Set());
      byTenant.get(tn)?.add(e.type);
    }
    if (byTenant.size > MAX_LISTED_TENANTS) {
      body.push(h('p', null, t('ev.replay_to_all', { tenants: fmtNumber(byTenant.size) })));
    } else {
      body.push(h('p', null, t('ev.replay_to')));
      for (const [tn, types] of byTenant) {
        const tenantName = names.get(tn) ?? tn;
        /** @type {Webhook[]} */
        const all = await getAll(`/admin/v1/tenants/${encodeURIComponent(tn)}/webhooks`, { limit: 200 });
        const eps = all.filter((w) => w.event_types.length === 0 || [...types].some((ty) => w.event_types.includes(ty)));
        if (eps.length === 0) body.push(h('p', { class: 'warn-text' }, t('ev.replay_no_endpoints', { tenant: tenantName })));
        else body.push(h('p', null, h('strong', null, t('ev.replay_tenant', { tenant: tenantName }))), endpointList(eps));
      }
      body.push(h('p', { class: 'help' }, t('ev.replay_dedupe')));
    }
    if (orphans) body.push(h('p', { class: 'muted' }, t('ev.replay_orphans', { count: fmtNumber(orphans) })));
    return true;
  }, { errorBox });
  if (!prepared) return;
  const shown = Math.min(count, MAX_REPLAY);
  const ok = await confirmDialog({
    title: t('ev.replay_title'),
    body: h('div', null, body),
    confirmLabel: t(shown === 1 ? 'ev.replay_confirm_one' : 'ev.replay_confirm', { count: fmtNumber(shown) }),
  });
  if (!ok) return;
  /** @type {ReplayFilter} */
  const filter = { since: q.since };
  if (platform && q.tenant_id) filter.tenant_id = q.tenant_id;
  if (q.appid) filter.appid = q.appid;
  if (q.type) filter.type = q.type;
  if (q.until) filter.until = q.until;
  /** @type {ReplayResult | undefined} */
  const res = await runAction(btn, () => api.post('/admin/v1/events/replay', filter), { errorBox });
  if (res) {
    replace(errorBox, h('p', { class: 'notice', role: 'status' }, t('ev.replayed', { events: fmtNumber(res.events), deliveries: fmtNumber(res.deliveries) })));
    onDone();
  }
}

/**
 * The events table's columns.
 * @param {boolean} platform
 * @param {Map<string, string>} [names] tenant names by id
 * @returns {EventColumn[]}
 */
export function eventColumns(platform, names) {
  /** @type {EventColumn[]} */
  const cols = [
    { label: t('ev.col_type'), render: (e) => h('a', { href: `#/events/${encodeURIComponent(e.id)}` }, e.type) },
    { label: t('ev.col_mp'), render: (e) => appLink(e.appid) },
  ];
  if (platform) cols.push({ label: t('ev.col_tenant'), render: (e) => tenantLink(e.tenant_id, names) });
  cols.push(
    { label: t('ev.col_occurred'), render: (e) => absTime(e.occurred_at) },
    { label: t('ev.col_recorded'), render: (e) => absTime(e.created_at) },
    { label: t('ev.col_id'), render: (e) => code(e.id) },
  );
  return cols;
}

/** @type {import('../app.js').Page} */
export default {
  id: 'events',
  path: /^\/events$/,
  title: 'nav.events',
  render(ctx) {
    const platform = isPlatform(ctx.session);
    /** @type {Record<string, string>} */
    const query = { ...ctx.query };
    delete query.cursor;
    if (!platform) delete query.tenant_id;
    const types = datalist(KNOWN_EVENT_TYPES);
    const apps = appidDatalist(platform ? query.tenant_id : ctx.session.tenant_id);
    let current = query;

    const replayBox = h('div');
    const replayError = h('div');
    const replayHelp = h('p', { class: 'help' });
    const replayBtn = h('button', { type: 'button' }, t('ev.replay_many'));
    /** @param {Record<string, string>} q */
    const updateReplay = (q) => {
      current = q;
      replayBtn.disabled = !q.since;
      replayHelp.textContent = q.since ? t('ev.replay_many_help') : t('ev.replay_needs_since');
    };

    const list = filteredList({
      collapsible: true,
      path: '/events',
      query,
      extra: [types, apps],
      onChange: updateReplay,
      fields: (q) => [
        ...(platform ? [{ name: 'tenant_id', label: t('ev.tenant'), control: tenantSelect(q.tenant_id) }] : []),
        { name: 'appid', label: t('ev.appid'), control: textInput(q.appid, { list: apps, placeholder: 'wx…' }) },
        { name: 'type', label: t('ev.type'), control: textInput(q.type, { list: types, maxlength: 64 }), help: t('ev.type_help') },
        { name: 'since', label: t('ev.since'), control: dateTimeInput(q.since), datetime: true },
        { name: 'until', label: t('ev.until'), control: dateTimeInput(q.until), datetime: true },
      ],
      results: async (q) => pagedTable(eventColumns(platform, await tenantNames(ctx.session)), (cursor) => api.get('/admin/v1/events', {
        tenant_id: platform ? q.tenant_id : undefined, appid: q.appid, type: q.type, since: q.since, until: q.until, cursor,
      }), { caption: t('ev.list'), empty: t('ev.empty') }),
    });

    if (ctx.session.can_write) {
      replayBtn.addEventListener('click', () => {
        void replayMatching(ctx, current, replayBtn, replayError, () => { /* deliveries show on each event's page */ });
      });
      replace(replayBox, section(t('ev.replay_section'), [h('div', { class: 'actions' }, replayBtn), replayHelp, replayError], { level: 2 }));
    }

    return h('div', null,
      pageHeader(t('nav.events'), null, t('ev.subtitle')),
      list.form,
      replayBox,
      list.results);
  },
};
