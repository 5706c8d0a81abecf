// 4. An event: its facts, its payload (pretty JSON), every delivery to the tenant's webhook
// endpoints, and a replay (behind a confirmation naming the endpoints it goes to).

import { api, getAll, seg } from '../api.js';
import { strings, fmtNumber } from '../i18n.js';
import { h, pageHeader, section, dl, confirmDialog, runAction, replace, loadInto, link, setTitle } from '../ui.js';
import { jsonBlock, code, tenantLink, tenantNames, appLink, absTime, hashWith, deliveriesTable } from '../widgets.js';
import { subscribedEndpoints, endpointList } from './events.js';

/** @typedef {import('tpgate-api').components['schemas']['Event']} Event */
/** @typedef {import('tpgate-api').components['schemas']['DeliveryPage']} DeliveryPage */
/** @typedef {import('tpgate-api').components['schemas']['ReplayResult']} ReplayResult */
/** @typedef {import('tpgate-api').components['schemas']['Webhook']} Webhook */

const t = strings({
  en: {
    'evd.title': 'Event',
    'evd.details': 'Details',
    'evd.id': 'Event id',
    'evd.type': 'Type',
    'evd.tenant': 'Tenant',
    'evd.appid': 'Mini Program',
    'evd.occurred': 'Occurred',
    'evd.occurred_help': 'WeChat’s time for pushed events',
    'evd.recorded': 'Recorded by tpgate',
    'evd.payload': 'Payload',
    'evd.payload_label': 'Event payload (JSON)',
    'evd.deliveries': 'Deliveries',
    'evd.deliveries_help': 'One row per webhook endpoint the event was sent to (a replay adds rows).',
    'evd.no_deliveries': 'Not delivered to any endpoint (no endpoint of the tenant subscribed to this type, or the event has no tenant).',
    'evd.col_endpoint': 'Endpoint',
    'evd.replay': 'Replay event',
    'evd.replay_title': 'Replay this event?',
    'evd.replay_what': 'Event {type} ({id}) of Mini Program {appid} is sent again, with the same event id, even where it was delivered before (receivers dedupe on the id).',
    'evd.replay_to': 'It goes to these webhook endpoints of tenant {tenant}, which subscribe to {type} now:',
    'evd.replay_nobody': 'No endpoint of tenant {tenant} subscribes to {type} now: nothing will be sent.',
    'evd.replay_no_tenant': 'This event belongs to no tenant, so no endpoint receives it: nothing will be sent.',
    'evd.replay_confirm': 'Replay event',
    'evd.replayed': 'Replay queued — deliveries: {deliveries}.',
    'evd.more_events': 'Other events of this Mini Program',
    'evd.none': 'none',
  },
  zh: {
    'evd.title': '事件',
    'evd.details': '详情',
    'evd.id': '事件 ID',
    'evd.type': '类型',
    'evd.tenant': '租户',
    'evd.appid': '小程序',
    'evd.occurred': '发生时间',
    'evd.occurred_help': '推送事件为微信给出的时间',
    'evd.recorded': 'tpgate 记录时间',
    'evd.payload': '事件内容',
    'evd.payload_label': '事件内容（JSON）',
    'evd.deliveries': '投递记录',
    'evd.deliveries_help': '每个接收该事件的 Webhook 端点一行（重新推送会增加新行）。',
    'evd.no_deliveries': '未投递到任何端点（租户没有订阅此类型的端点，或事件不属于任何租户）。',
    'evd.col_endpoint': '端点',
    'evd.replay': '重新推送事件',
    'evd.replay_title': '重新推送此事件？',
    'evd.replay_what': '小程序 {appid} 的事件 {type}（{id}）将以原事件 ID 再次推送，即使之前已投递成功（接收方按 ID 去重）。',
    'evd.replay_to': '推送到租户 {tenant} 下当前订阅 {type} 的以下 Webhook 端点：',
    'evd.replay_nobody': '租户 {tenant} 当前没有订阅 {type} 的端点：不会推送任何内容。',
    'evd.replay_no_tenant': '此事件不属于任何租户，没有端点接收：不会推送任何内容。',
    'evd.replay_confirm': '重新推送事件',
    'evd.replayed': '已排队重新推送 — 投递：{deliveries}。',
    'evd.more_events': '此小程序的其他事件',
    'evd.none': '无',
  },
});

/**
 * Asks (naming the endpoints) and replays one event.
 * @param {Event} ev
 * @param {string} tenantName how to name the event's tenant
 * @param {HTMLButtonElement} btn
 * @param {HTMLElement} msgBox
 * @param {() => void} onDone
 */
async function replayOne(ev, tenantName, btn, msgBox, onDone) {
  /** @type {Node[]} */
  const body = [h('p', null, t('evd.replay_what', { type: ev.type, id: ev.id, appid: ev.appid ?? '—' }))];
  const tenant = ev.tenant_id;
  const ready = await runAction(btn, async () => {
    if (!tenant) {
      body.push(h('p', { class: 'warn-text' }, t('evd.replay_no_tenant')));
      return true;
    }
    const eps = await subscribedEndpoints(tenant, ev.type);
    if (eps.length === 0) body.push(h('p', { class: 'warn-text' }, t('evd.replay_nobody', { tenant: tenantName, type: ev.type })));
    else body.push(h('p', null, t('evd.replay_to', { tenant: tenantName, type: ev.type })), endpointList(eps));
    return true;
  }, { errorBox: msgBox });
  if (!ready) return;
  const ok = await confirmDialog({ title: t('evd.replay_title'), body: h('div', null, body), confirmLabel: t('evd.replay_confirm') });
  if (!ok) return;
  /** @type {ReplayResult | undefined} */
  const res = await runAction(btn, () => api.post(`/admin/v1/events/${seg(ev.id)}/replay`), { errorBox: msgBox });
  if (res) {
    replace(msgBox, h('p', { class: 'notice', role: 'status' }, t('evd.replayed', { deliveries: fmtNumber(res.deliveries) })));
    onDone();
  }
}

/** @type {import('../app.js').Page} */
export default {
  id: 'event',
  path: /^\/events\/([^/]+)$/,
  title: 'nav.event',
  async render(ctx) {
    const id = ctx.params[0];
    /** @type {Event} */
    const ev = await api.get(`/admin/v1/events/${seg(id)}`);
    const names = await tenantNames(ctx.session);
    setTitle(`${ev.type} · ${t('evd.title')}`);

    const msgBox = h('div');
    /** @type {HTMLButtonElement | null} */
    let replayBtn = null;
    const deliveriesBox = h('div');
    const loadDeliveries = () => loadInto(deliveriesBox, async () => {
      /** @type {DeliveryPage} */
      const page = await api.get(`/admin/v1/events/${seg(ev.id)}/deliveries`);
      // Endpoints by id, to name each delivery's endpoint by its URL (the id when it is gone).
      /** @type {Map<string, string>} */
      const urls = new Map();
      if (ev.tenant_id && page.items.length) {
        try {
          /** @type {Webhook[]} */
          const eps = await getAll(`/admin/v1/tenants/${seg(ev.tenant_id)}/webhooks`, { limit: 200 });
          for (const w of eps) urls.set(w.id, w.url);
        } catch {
          // ids only
        }
      }
      return deliveriesTable(page.items, {
        caption: t('evd.deliveries'),
        empty: t('evd.no_deliveries'),
        first: {
          label: t('evd.col_endpoint'),
          render: (d) => {
            const url = urls.get(d.webhook_id);
            return url
              ? h('a', { href: `#/webhooks/${encodeURIComponent(d.tenant_id)}/${encodeURIComponent(d.webhook_id)}` }, url)
              : h('code', null, d.webhook_id);
          },
        },
      });
    });
    if (ctx.session.can_write) {
      const btn = h('button', { type: 'button' }, t('evd.replay'));
      btn.addEventListener('click', () => { void replayOne(ev, (ev.tenant_id && names.get(ev.tenant_id)) || ev.tenant_id || '—', btn, msgBox, loadDeliveries); });
      replayBtn = btn;
    }
    loadDeliveries();

    return h('div', null,
      pageHeader(t('evd.title'), replayBtn, h('code', null, ev.type)),
      msgBox,
      section(t('evd.details'), [
        dl([
          [t('evd.id'), code(ev.id)],
          [t('evd.type'), code(ev.type)],
          [t('evd.appid'), appLink(ev.appid)],
          [t('evd.tenant'), tenantLink(ev.tenant_id, names)],
          [t('evd.occurred'), h('span', { title: t('evd.occurred_help') }, absTime(ev.occurred_at))],
          [t('evd.recorded'), absTime(ev.created_at)],
        ]),
        ev.appid ? h('p', null, link(hashWith('/events', { appid: ev.appid }), t('evd.more_events'))) : null,
      ]),
      section(t('evd.payload'), [jsonBlock(ev.data, t('evd.payload_label'))]),
      section(t('evd.deliveries'), [h('p', { class: 'help' }, t('evd.deliveries_help')), deliveriesBox]));
  },
};

