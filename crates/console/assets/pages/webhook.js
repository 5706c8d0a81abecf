// 5. One webhook endpoint: its settings (edit URL, description and event types; enable or
// disable), secret rotation (new secret shown once), deletion, and its deliveries with status,
// attempts and last error. #/webhooks/<tenant_id>/<webhook_id>?status=pending|delivered|dead

import { api, seg } from '../api.js';
import { strings, fmtNumber } from '../i18n.js';
import {
  h, pageHeader, section, dl, formField, secretOnce, confirmDialog, runAction, replace, pagedTable, setTitle, link, toast,
} from '../ui.js';
import { filteredList, selectInput, code, tenantLink, tenantNames, absTime, deliveryColumns, hashWith, labelWithValue } from '../widgets.js';
import { typesView, stateView, eventTypesField } from './webhooks.js';

/** @typedef {import('tpgate-api').components['schemas']['Webhook']} Webhook */
/** @typedef {import('tpgate-api').components['schemas']['WebhookPatch']} WebhookPatch */
/** @typedef {import('tpgate-api').components['schemas']['WebhookWithSecret']} WebhookWithSecret */
/** @typedef {import('tpgate-api').components['schemas']['DeliveryStatus']} DeliveryStatus */

const t = strings({
  en: {
    'whd.title': 'Webhook endpoint',
    'whd.details': 'Details',
    'whd.id': 'Endpoint id',
    'whd.tenant': 'Tenant',
    'whd.url': 'URL',
    'whd.description': 'Description',
    'whd.types': 'Event types',
    'whd.state': 'Status',
    'whd.failures': 'Consecutive failures',
    'whd.previous_secret': 'Previous secret valid until',
    'whd.created': 'Created',
    'whd.updated': 'Updated',
    'whd.back': 'All endpoints of this tenant',
    'whd.enable': 'Enable',
    'whd.disable': 'Disable',
    'whd.enabled_ok': 'Endpoint enabled; its waiting deliveries resume.',
    'whd.disabled_ok': 'Endpoint disabled.',
    'whd.disable_title': 'Disable this endpoint?',
    'whd.disable_body': 'Nothing is sent to {url} while it is disabled: its deliveries wait and resume when it is re-enabled.',
    'whd.rotate': 'Rotate secret',
    'whd.rotate_title': 'Rotate the signing secret?',
    'whd.rotate_body': 'A new signing secret is made for {url} and shown once. During the grace period deliveries carry a signature with each secret, so the receiver can switch without rejecting anything.',
    'whd.grace': 'Old secret stays valid for',
    'whd.grace_0': 'No grace period (stops at once)',
    'whd.grace_1h': '1 hour',
    'whd.grace_24h': '24 hours (default)',
    'whd.grace_7d': '7 days',
    'whd.rotate_confirm': 'Rotate secret',
    'whd.rotated': 'Secret rotated.',
    'whd.new_secret': 'New signing secret',
    'whd.delete': 'Delete',
    'whd.delete_title': 'Delete this endpoint?',
    'whd.delete_body': '{url} stops receiving events at once. Its delivery history and any waiting deliveries are deleted with it. This cannot be undone.',
    'whd.delete_confirm': 'Delete endpoint',
    'whd.deleted': 'Endpoint deleted.',
    'whd.edit': 'Edit',
    'whd.edit_url_help': 'https://… receiving POSTs.',
    'whd.save': 'Save changes',
    'whd.saved': 'Changes saved.',
    'whd.deliveries': 'Deliveries',
    'whd.deliveries_empty': 'No deliveries match.',
    'whd.status': 'Delivery status',
    'whd.any': 'Any',
    'whd.col_event': 'Event',
  },
  zh: {
    'whd.title': 'Webhook 端点',
    'whd.details': '详情',
    'whd.id': '端点 ID',
    'whd.tenant': '租户',
    'whd.url': 'URL',
    'whd.description': '描述',
    'whd.types': '事件类型',
    'whd.state': '状态',
    'whd.failures': '连续失败次数',
    'whd.previous_secret': '旧密钥有效期至',
    'whd.created': '创建时间',
    'whd.updated': '更新时间',
    'whd.back': '此租户的全部端点',
    'whd.enable': '启用',
    'whd.disable': '停用',
    'whd.enabled_ok': '端点已启用；等待中的投递将继续。',
    'whd.disabled_ok': '端点已停用。',
    'whd.disable_title': '停用此端点？',
    'whd.disable_body': '停用期间不会向 {url} 推送任何内容：投递将等待，重新启用后继续。',
    'whd.rotate': '轮换密钥',
    'whd.rotate_title': '轮换签名密钥？',
    'whd.rotate_body': '将为 {url} 生成新的签名密钥，并只显示一次。在过渡期内，每次投递都带有两个密钥各自的签名，接收方可以平滑切换。',
    'whd.grace': '旧密钥继续有效',
    'whd.grace_0': '无过渡期（立即失效）',
    'whd.grace_1h': '1 小时',
    'whd.grace_24h': '24 小时（默认）',
    'whd.grace_7d': '7 天',
    'whd.rotate_confirm': '轮换密钥',
    'whd.rotated': '密钥已轮换。',
    'whd.new_secret': '新的签名密钥',
    'whd.delete': '删除',
    'whd.delete_title': '删除此端点？',
    'whd.delete_body': '{url} 将立即停止接收事件，其投递记录及等待中的投递也会一并删除。此操作无法撤销。',
    'whd.delete_confirm': '删除端点',
    'whd.deleted': '端点已删除。',
    'whd.edit': '编辑',
    'whd.edit_url_help': '接收 POST 的 https://… 地址。',
    'whd.save': '保存修改',
    'whd.saved': '修改已保存。',
    'whd.deliveries': '投递记录',
    'whd.deliveries_empty': '没有符合条件的投递。',
    'whd.status': '投递状态',
    'whd.any': '不限',
    'whd.col_event': '事件',
  },
});

/** @type {DeliveryStatus[]} */
const STATUSES = ['pending', 'delivered', 'dead'];

/** @type {import('../app.js').Page} */
export default {
  id: 'webhook',
  path: /^\/webhooks\/([^/]+)\/([^/]+)$/,
  title: 'nav.webhook',
  async render(ctx) {
    const [tenantId, webhookId] = ctx.params;
    const base = `/admin/v1/tenants/${seg(tenantId)}/webhooks/${seg(webhookId)}`;
    const route = `/webhooks/${encodeURIComponent(tenantId)}/${encodeURIComponent(webhookId)}`;
    /** @type {Webhook} */
    let wh = await api.get(base);
    const names = await tenantNames(ctx.session);
    setTitle(`${wh.url} · ${t('whd.title')}`);

    const msgBox = h('div');
    const secretBox = h('div');
    const factsBox = h('div');
    const subtitle = h('code');
    const actions = h('div', { class: 'actions' });

    /** @param {Webhook} w */
    const show = (w) => {
      wh = w;
      subtitle.textContent = w.url;
      replace(factsBox, dl([
        [t('whd.url'), code(w.url)],
        [t('whd.description'), w.description || '—'],
        [t('whd.types'), typesView(w.event_types)],
        [t('whd.state'), stateView(w)],
        [t('whd.failures'), fmtNumber(w.consecutive_failures)],
        [t('whd.previous_secret'), w.previous_secret_expires_at ? absTime(w.previous_secret_expires_at) : '—'],
        [t('whd.id'), code(w.id)],
        [t('whd.tenant'), tenantLink(w.tenant_id, names)],
        [t('whd.created'), absTime(w.created_at)],
        [t('whd.updated'), absTime(w.updated_at)],
      ]));
      if (ctx.session.can_write) renderActions();
    };

    /**
     * @param {WebhookPatch} patch
     * @param {HTMLButtonElement} btn
     * @param {string} ok
     */
    const update = async (patch, btn, ok) => {
      /** @type {Webhook | undefined} */
      const w = await runAction(btn, () => api.patch(base, patch), { errorBox: msgBox, ok });
      if (w) show(w);
      return w;
    };

    const renderActions = () => {
      const toggle = h('button', { type: 'button', class: 'secondary' }, wh.enabled ? t('whd.disable') : t('whd.enable'));
      toggle.addEventListener('click', async () => {
        if (wh.enabled) {
          const ok = await confirmDialog({ title: t('whd.disable_title'), body: t('whd.disable_body', { url: wh.url }), confirmLabel: t('whd.disable') });
          if (!ok) return;
          await update({ enabled: false }, toggle, t('whd.disabled_ok'));
        } else {
          await update({ enabled: true }, toggle, t('whd.enabled_ok'));
        }
        const again = actions.querySelector('button');
        if (again instanceof HTMLButtonElement) again.focus();
      });
      const rotate = h('button', { type: 'button', class: 'secondary' }, t('whd.rotate'));
      rotate.addEventListener('click', async () => {
        const grace = selectInput([
          ['0', t('whd.grace_0')], ['3600', t('whd.grace_1h')], ['86400', t('whd.grace_24h')], ['604800', t('whd.grace_7d')],
        ], '86400');
        const ok = await confirmDialog({
          title: t('whd.rotate_title'),
          body: t('whd.rotate_body', { url: wh.url }),
          confirmLabel: t('whd.rotate_confirm'),
          extra: formField(t('whd.grace'), grace),
        });
        if (!ok) return;
        /** @type {WebhookWithSecret | undefined} */
        const res = await runAction(rotate, () => api.post(`${base}/rotate-secret`, { previous_secret_valid_for_secs: Number(grace.value) }), { errorBox: msgBox, ok: t('whd.rotated') });
        if (!res) return;
        const { secret, ...rest } = res;
        replace(secretBox, secretOnce(t('whd.new_secret'), secret));
        show(rest);
        const input = secretBox.querySelector('input');
        if (input) input.focus();
      });
      const del = h('button', { type: 'button', class: 'danger' }, t('whd.delete'));
      del.addEventListener('click', async () => {
        const ok = await confirmDialog({
          title: t('whd.delete_title'), body: t('whd.delete_body', { url: wh.url }), confirmLabel: t('whd.delete_confirm'), danger: true,
        });
        if (!ok) return;
        const done = await runAction(del, async () => { await api.del(base); return true; }, { errorBox: msgBox });
        if (done) {
          toast(t('whd.deleted'), 'ok');
          ctx.navigate(hashWith('/webhooks', { tenant_id: tenantId }));
        }
      });
      replace(actions, toggle, rotate, del);
    };

    show(wh);

    /** The edit form (writers only). */
    const editForm = () => {
      const url = h('input', { type: 'text', inputmode: 'url', required: true, maxlength: '2048', value: wh.url, autocomplete: 'off', spellcheck: 'false' });
      const description = h('input', { type: 'text', maxlength: '256', value: wh.description ?? '', autocomplete: 'off' });
      const types = eventTypesField(wh.event_types);
      const save = h('button', { type: 'submit' }, t('whd.save'));
      const errorBox = h('div');
      const form = h('form', null,
        h('div', { class: 'form-grid' }, formField(t('whd.url'), url, t('whd.edit_url_help')), formField(t('whd.description'), description)),
        types.element,
        h('div', { class: 'actions' }, save),
        errorBox);
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        /** @type {Webhook | undefined} */
        const w = await runAction(save, () => api.patch(base, {
          url: url.value.trim(), description: description.value.trim(), event_types: types.read(),
        }), { errorBox, ok: t('whd.saved') });
        if (w) show(w);
      });
      return form;
    };

    /** @type {Record<string, string>} */
    const query = {};
    if (ctx.query.status) query.status = ctx.query.status;
    const deliveries = filteredList({
      path: route,
      query,
      fields: (q) => [{
        name: 'status',
        label: t('whd.status'),
        control: selectInput([['', t('whd.any')], ...STATUSES.map((s) => /** @type {[string, string]} */ ([s, labelWithValue(t(`status.${s}`), s)]))], q.status),
      }],
      results: (q) => pagedTable(deliveryColumns({
        label: t('whd.col_event'),
        render: (d) => h('a', { href: `#/events/${encodeURIComponent(d.event_id)}` }, h('code', null, d.event_id)),
      }), (cursor) => api.get(`${base}/deliveries`, { status: q.status, cursor }), { caption: t('whd.deliveries'), empty: t('whd.deliveries_empty') }),
    });

    return h('div', null,
      pageHeader(t('whd.title'), ctx.session.can_write ? actions : null, subtitle),
      h('p', null, link(hashWith('/webhooks', { tenant_id: tenantId }), t('whd.back'))),
      msgBox,
      secretBox,
      section(t('whd.details'), [factsBox]),
      ctx.session.can_write ? section(t('whd.edit'), [editForm()]) : null,
      section(t('whd.deliveries'), [deliveries.form, deliveries.results]));
  },
};
