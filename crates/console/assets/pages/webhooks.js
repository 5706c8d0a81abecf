// 5. Webhooks: a tenant's endpoints (a platform role picks the tenant; a tenant_admin sees its
// own), and a new endpoint's signing secret shown once. #/webhooks?tenant_id=…

import { api, seg } from '../api.js';
import { strings, fmtNumber } from '../i18n.js';
import { h, pageHeader, pagedTable, section, formField, secretOnce, runAction, replace, badge, loadInto, link } from '../ui.js';
import { isPlatform, filteredList, tenantSelect, absTime } from '../widgets.js';
import { KNOWN_EVENT_TYPES } from './events.js';

/** @typedef {import('tpgate-api').components['schemas']['Webhook']} Webhook */
/** @typedef {import('tpgate-api').components['schemas']['WebhookPage']} WebhookPage */
/** @typedef {import('tpgate-api').components['schemas']['WebhookWithSecret']} WebhookWithSecret */
/** @typedef {import('tpgate-api').components['schemas']['NewWebhook']} NewWebhook */

const t = strings({
  en: {
    'wh.subtitle': 'Endpoints that receive the events of a tenant’s Mini Programs, each POST signed with HMAC-SHA256 (Tpgate-Signature).',
    'wh.tenant': 'Tenant',
    'wh.choose_tenant': 'Choose a tenant',
    'wh.pick_first': 'Choose a tenant to see and manage its webhook endpoints.',
    'wh.list': 'Endpoints',
    'wh.empty': 'No webhook endpoints yet.',
    'wh.col_url': 'URL',
    'wh.col_description': 'Description',
    'wh.col_types': 'Event types',
    'wh.col_status': 'Status',
    'wh.col_failures': 'Consecutive failures',
    'wh.col_created': 'Created',
    'wh.all_types': 'All event types',
    'wh.create': 'Add an endpoint',
    'wh.url': 'URL',
    'wh.url_help': 'https://… receiving POSTs; public addresses and allowed ports only.',
    'wh.description': 'Description',
    'wh.description_help': 'For people, up to 256 characters.',
    'wh.types': 'Event types',
    'wh.types_help': 'None chosen: every event type, including new ones.',
    'wh.other_types': 'Other event types',
    'wh.other_types_help': 'Comma or space separated, e.g. message.text, weapp_audit_success.',
    'wh.submit_create': 'Create endpoint',
    'wh.created': 'Endpoint created.',
    'wh.secret': 'Signing secret',
    'wh.secret_intro': 'Endpoint {url} was created. Give its signing secret to the receiver now:',
    'wh.open': 'Open the endpoint',
    'wh.reason': 'Why: {reason}',
  },
  zh: {
    'wh.subtitle': '接收租户小程序事件的端点，每次 POST 均以 HMAC-SHA256 签名（Tpgate-Signature）。',
    'wh.tenant': '租户',
    'wh.choose_tenant': '选择租户',
    'wh.pick_first': '请选择一个租户，以查看和管理其 Webhook 端点。',
    'wh.list': '端点',
    'wh.empty': '还没有 Webhook 端点。',
    'wh.col_url': 'URL',
    'wh.col_description': '描述',
    'wh.col_types': '事件类型',
    'wh.col_status': '状态',
    'wh.col_failures': '连续失败次数',
    'wh.col_created': '创建时间',
    'wh.all_types': '全部事件类型',
    'wh.create': '添加端点',
    'wh.url': 'URL',
    'wh.url_help': '接收 POST 的 https://… 地址；仅限公网地址和允许的端口。',
    'wh.description': '描述',
    'wh.description_help': '供人阅读，最多 256 个字符。',
    'wh.types': '事件类型',
    'wh.types_help': '不选：推送全部事件类型（包括以后新增的）。',
    'wh.other_types': '其他事件类型',
    'wh.other_types_help': '以逗号或空格分隔，例如 message.text、weapp_audit_success。',
    'wh.submit_create': '创建端点',
    'wh.created': '端点已创建。',
    'wh.secret': '签名密钥',
    'wh.secret_intro': '端点 {url} 已创建。请立即把签名密钥交给接收方：',
    'wh.open': '打开端点',
    'wh.reason': '原因：{reason}',
  },
});

/**
 * The event types an endpoint subscribes to, for a table or facts ("All event types" when empty).
 * @param {string[]} types
 * @returns {HTMLElement | string}
 */
export function typesView(types) {
  if (types.length === 0) return t('wh.all_types');
  return h('ul', { class: 'inline-list' }, types.map((ty) => h('li', null, h('code', null, ty))));
}

/**
 * An endpoint's state: enabled, or disabled with its reason.
 * @param {Webhook} w
 * @returns {HTMLElement}
 */
export function stateView(w) {
  if (w.enabled) return badge('enabled');
  return h('span', null, badge('disabled'), w.disabled_reason ? h('span', { class: 'help' }, ' ', t('wh.reason', { reason: w.disabled_reason })) : null);
}

/**
 * A chooser of event types: a checkbox per known type plus a field for any other type.
 * @param {string[]} selected
 * @returns {{element: HTMLElement, read: () => string[]}}
 */
export function eventTypesField(selected) {
  const boxes = KNOWN_EVENT_TYPES.map((ty) => h('input', { type: 'checkbox', value: ty, checked: selected.includes(ty) }));
  const others = selected.filter((ty) => !KNOWN_EVENT_TYPES.includes(ty));
  const other = h('input', { type: 'text', value: others.join(', '), autocomplete: 'off', spellcheck: 'false' });
  const fs = h('fieldset', null,
    h('div', { class: 'checks' }, boxes.map((b) => h('label', null, b, h('code', null, b.value)))),
    formField(t('wh.other_types'), other, t('wh.other_types_help')));
  const element = formField(t('wh.types'), fs, t('wh.types_help'));
  const read = () => {
    const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
    for (const x of other.value.split(/[\s,，]+/)) if (x && !chosen.includes(x)) chosen.push(x);
    return chosen;
  };
  return { element, read };
}

/**
 * The create form; on success it shows the secret once in `secretBox` and calls `onCreated`.
 * @param {string} tenantId
 * @param {() => void} onCreated
 * @returns {HTMLElement}
 */
function createForm(tenantId, onCreated) {
  const url = h('input', { type: 'text', inputmode: 'url', required: true, maxlength: '2048', placeholder: 'https://', autocomplete: 'off', spellcheck: 'false' });
  const description = h('input', { type: 'text', maxlength: '256', autocomplete: 'off' });
  const types = eventTypesField([]);
  const errorBox = h('div');
  const secretBox = h('div');
  const submit = h('button', { type: 'submit' }, t('wh.submit_create'));
  const form = h('form', null,
    h('div', { class: 'form-grid' }, formField(t('wh.url'), url, t('wh.url_help')), formField(t('wh.description'), description, t('wh.description_help'))),
    types.element,
    h('div', { class: 'actions' }, submit),
    errorBox);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    /** @type {NewWebhook} */
    const body = { url: url.value.trim() };
    if (description.value.trim()) body.description = description.value.trim();
    const chosen = types.read();
    if (chosen.length) body.event_types = chosen;
    /** @type {WebhookWithSecret | undefined} */
    const created = await runAction(submit, () => api.post(`/admin/v1/tenants/${seg(tenantId)}/webhooks`, body), { errorBox, ok: t('wh.created') });
    if (!created) return;
    form.reset();
    replace(secretBox,
      h('p', null, t('wh.secret_intro', { url: created.url })),
      secretOnce(t('wh.secret'), created.secret),
      h('p', null, link(`#/webhooks/${encodeURIComponent(created.tenant_id)}/${encodeURIComponent(created.id)}`, t('wh.open'))));
    const input = secretBox.querySelector('input');
    if (input) input.focus();
    onCreated();
  });
  return h('div', null, secretBox, form);
}

/**
 * The endpoints of a tenant, and (for writers) the create form.
 * @param {import('../app.js').PageContext} ctx
 * @param {string | undefined} tenantId
 * @returns {Promise<Node>}
 */
async function tenantWebhooks(ctx, tenantId) {
  if (!tenantId) return h('p', { class: 'notice' }, t('wh.pick_first'));
  /** @type {import('../ui.js').Column<Webhook>[]} */
  const cols = [
    { label: t('wh.col_url'), render: (w) => h('a', { href: `#/webhooks/${encodeURIComponent(w.tenant_id)}/${encodeURIComponent(w.id)}` }, w.url) },
    { label: t('wh.col_description'), render: (w) => w.description || '—' },
    { label: t('wh.col_types'), render: (w) => typesView(w.event_types) },
    { label: t('wh.col_status'), render: (w) => stateView(w) },
    { label: t('wh.col_failures'), className: 'num', render: (w) => fmtNumber(w.consecutive_failures) },
    { label: t('wh.col_created'), render: (w) => absTime(w.created_at) },
  ];
  /**
   * @param {string | undefined} cursor
   * @returns {Promise<WebhookPage>}
   */
  const fetchPage = (cursor) => api.get(`/admin/v1/tenants/${seg(tenantId)}/webhooks`, { cursor });
  const makeTable = () => pagedTable(cols, fetchPage, { caption: t('wh.list'), empty: t('wh.empty') });
  // The first page is awaited so that a problem (e.g. an unknown tenant) replaces the whole part.
  const listBox = h('div', null, await makeTable());
  const reload = () => { loadInto(listBox, makeTable); };
  return h('div', null,
    section(t('wh.list'), [listBox]),
    ctx.session.can_write ? section(t('wh.create'), [createForm(tenantId, reload)]) : null);
}

/** @type {import('../app.js').Page} */
export default {
  id: 'webhooks',
  path: /^\/webhooks$/,
  title: 'nav.webhooks',
  render(ctx) {
    const platform = isPlatform(ctx.session);
    if (!platform) {
      const box = h('div');
      loadInto(box, () => tenantWebhooks(ctx, ctx.session.tenant_id));
      return h('div', null, pageHeader(t('nav.webhooks'), null, t('wh.subtitle')), box);
    }
    /** @type {Record<string, string>} */
    const query = {};
    if (ctx.query.tenant_id) query.tenant_id = ctx.query.tenant_id;
    const list = filteredList({
      path: '/webhooks',
      query,
      fields: (q) => [{ name: 'tenant_id', label: t('wh.tenant'), control: tenantSelect(q.tenant_id, { anyLabel: t('wh.choose_tenant') }) }],
      results: (q) => tenantWebhooks(ctx, q.tenant_id),
    });
    return h('div', null, pageHeader(t('nav.webhooks'), null, t('wh.subtitle')), list.form, list.results);
  },
};
