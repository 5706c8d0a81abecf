// Page 2 (detail): one tenant — its API keys, authorization links (授权链接), Mini
// Programs, webhooks and usage. A tenant_admin lands here for its own tenant.

import { api, seg } from '../api.js';
import { strings, fmtTime, fmtNumber, fmtPercent } from '../i18n.js';
import {
  badge, confirmDialog, copyButton, dl, formDialog, formField, h, link, loadInto, pageHeader, pagedTable,
  runAction, secretOnce, section, setTitle, svgImage, uid, yesNo,
} from '../ui.js';
import { tenantActions } from './tenant-actions.js';
import { authorizerSets, hoursAgo, tokenCell } from './mp-common.js';

/** @typedef {import('tpgate-api').components['schemas']['Tenant']} Tenant */
/** @typedef {import('tpgate-api').components['schemas']['ApiKey']} ApiKey */
/** @typedef {import('tpgate-api').components['schemas']['ApiKeyScope']} ApiKeyScope */
/** @typedef {import('tpgate-api').components['schemas']['CreatedApiKey']} CreatedApiKey */
/** @typedef {import('tpgate-api').components['schemas']['NewApiKey']} NewApiKey */
/** @typedef {import('tpgate-api').components['schemas']['OnboardingLink']} OnboardingLink */
/** @typedef {import('tpgate-api').components['schemas']['NewOnboardingLink']} NewOnboardingLink */
/** @typedef {import('tpgate-api').components['schemas']['Authorizer']} Authorizer */
/** @typedef {import('tpgate-api').components['schemas']['AuthorizerPage']} AuthorizerPage */
/** @typedef {import('tpgate-api').components['schemas']['Webhook']} Webhook */
/** @typedef {import('tpgate-api').components['schemas']['WebhookWithSecret']} WebhookWithSecret */
/** @typedef {import('tpgate-api').components['schemas']['NewWebhook']} NewWebhook */
/** @typedef {import('../api.js').CallStats} CallStats */
/** @typedef {import('tpgate-api').components['schemas']['CreatedOnboardingLink']} CreatedLink a new link: PC and mobile URLs and their QR codes (SVG text) */

const t = strings({
  en: {
    'tenant.title': 'Tenant',
    'tenant.id': 'Id',
    'tenant.status': 'Status',
    'tenant.created': 'Created',
    'tenant.updated': 'Updated',
    'tenant.raw': 'Raw passthrough allowed',
    'tenant.capture': 'Keeps call bodies of its writes',
    'tenant.reshipment_guard': 'Re-shipment guard (a second upload needs confirmation)',
    'tenant.suspended_note': 'This tenant is suspended: its API keys and tenant admins are refused and its Mini Programs’ calls stop until it is resumed.',
    // Mini Programs
    'tenant.mps': 'Mini Programs',
    'tenant.mps_all': 'Open in Mini Programs',
    'tenant.mps_none': 'No Mini Program has authorized for this tenant yet. Create an authorization link and send it to the Mini Program’s administrator.',
    'tenant.col_mp': 'Mini Program',
    'tenant.col_appid': 'appid',
    'tenant.col_status': 'Status',
    'tenant.col_sets': 'Permission sets',
    'tenant.col_token': 'Token expires',
    // API keys
    'keys.title': 'API keys',
    'keys.new': 'New API key',
    'keys.create_title': 'New API key',
    'keys.name': 'Name',
    'keys.name_help': 'A label for humans, e.g. “order service”.',
    'keys.scopes': 'Scopes',
    'keys.scopes_help': 'Tenant administration (admin_read, admin_write) is off unless you tick it.',
    'keys.scope.proxy_read': 'proxy_read — read WeChat APIs through tpgate',
    'keys.scope.proxy_write': 'proxy_write — write WeChat APIs (e.g. upload shipping information)',
    'keys.scope.admin_read': 'admin_read — read this tenant’s administration (and sign in to the console)',
    'keys.scope.admin_write': 'admin_write — change this tenant’s keys, links and webhooks',
    'keys.appids': 'Restrict to Mini Programs',
    'keys.appids_help': 'None ticked: the key may call all of the tenant’s Mini Programs, including later ones.',
    'keys.appids_none': 'The tenant has no Mini Programs yet; the key will be able to call the ones it gets.',
    'keys.expires': 'Expires',
    'keys.never': 'Never',
    'keys.in_days': 'In {n} days',
    'keys.in_year': 'In 1 year',
    'keys.create': 'Create',
    'keys.need_scope': 'Tick at least one scope.',
    'keys.created': 'API key created.',
    'keys.the_key': 'API key {name}',
    'keys.hide': 'Hide',
    'keys.col_name': 'Name',
    'keys.col_prefix': 'Prefix',
    'keys.col_scopes': 'Scopes',
    'keys.col_appids': 'Mini Programs',
    'keys.col_created': 'Created',
    'keys.col_expires': 'Expires',
    'keys.col_used': 'Last used',
    'keys.col_status': 'Status',
    'keys.col_actions': 'Actions',
    'keys.all': 'all',
    'keys.none': 'No API keys.',
    'keys.revoke': 'Revoke',
    'keys.revoke_title': 'Revoke API key {name}?',
    'keys.revoke_1': 'Requests with this key are refused from now on; this cannot be undone.',
    'keys.revoke_2': 'Keys that this key created are revoked with it.',
    'keys.revoke_3': 'Console sessions signed in with it end.',
    'keys.revoke_confirm': 'Revoke key',
    'keys.revoked': 'API key revoked.',
    // Authorization links
    'links.title': 'Authorization links (授权链接)',
    'links.new': 'New authorization link',
    'links.create_title': 'New authorization link',
    'links.intro': 'Send the link to the Mini Program’s administrator: it opens tpgate’s page, which leads to WeChat’s authorization page (授权页) for this third-party platform (第三方平台).',
    'links.auth_type': 'Accounts offered',
    'links.auth_type_2': 'Mini Programs',
    'links.auth_type_1': 'Official Accounts',
    'links.auth_type_3': 'Mini Programs and Official Accounts',
    'links.appid': 'Mini Program appid (optional)',
    'links.appid_help': 'Pins the authorization to this Mini Program (wx followed by 16 hex digits).',
    'links.appid_bad': 'An appid is wx followed by 16 lowercase hex digits.',
    'links.expires': 'Valid for',
    'links.hour': '1 hour',
    'links.day': '1 day',
    'links.days': '{n} days',
    'links.single_use': 'Single use (stops working after one completed authorization)',
    'links.create': 'Create',
    'links.created': 'Authorization link created.',
    'links.pc': 'PC link',
    'links.pc_help': 'Open on a computer: WeChat shows a QR code that the administrator scans with WeChat.',
    'links.mobile': 'Mobile link',
    'links.mobile_help': 'Open in WeChat on a phone (or scan this QR code with WeChat).',
    'links.qr_pc': 'QR code of the PC link',
    'links.qr_mobile': 'QR code of the mobile link',
    'links.expires_at': 'Expires {when}',
    'links.shown_once': 'The link is shown only now; the list below does not repeat it.',
    'links.col_created': 'Created',
    'links.col_status': 'Status',
    'links.col_type': 'Accounts',
    'links.col_appid': 'appid',
    'links.col_single': 'Single use',
    'links.col_expires': 'Expires',
    'links.col_used': 'Used',
    'links.col_actions': 'Actions',
    'links.none': 'No authorization links.',
    'links.revoke': 'Revoke',
    'links.revoke_title': 'Revoke this authorization link?',
    'links.revoke_1': 'The link stops working: whoever opens it is told it is no longer valid.',
    'links.revoke_2': 'Mini Programs already authorized through it stay authorized.',
    'links.revoke_confirm': 'Revoke link',
    'links.revoked': 'Authorization link revoked.',
    // Webhooks
    'hooks.title': 'Webhooks',
    'hooks.new': 'New webhook',
    'hooks.create_title': 'New webhook',
    'hooks.url': 'URL',
    'hooks.url_help': 'https://… receiving signed POSTs of this tenant’s events.',
    'hooks.description': 'Description',
    'hooks.types': 'Event types',
    'hooks.types_help': 'Comma-separated, e.g. authorization.revoked, trade_manage_remind_shipping. Empty: every type.',
    'hooks.create': 'Create',
    'hooks.created': 'Webhook created.',
    'hooks.secret': 'Signing secret',
    'hooks.manage': 'Open in Webhooks',
    'hooks.col_url': 'URL',
    'hooks.col_enabled': 'State',
    'hooks.col_failures': 'Consecutive failures',
    'hooks.col_types': 'Event types',
    'hooks.all_types': 'all',
    'hooks.none': 'No webhook endpoints.',
    // Usage
    'usage.title': 'Usage',
    'usage.calls_24h': 'Calls to WeChat, last 24 h',
    'usage.errors_24h': 'Errors, last 24 h',
    'usage.refused_24h': 'Not sent to WeChat (refused by tpgate), last 24 h',
    'usage.error_rate': 'Error rate',
    'usage.limits': 'Rate limits and usage today',
    'usage.calls': 'Its calls',
  },
  zh: {
    'tenant.title': '租户',
    'tenant.id': 'ID',
    'tenant.status': '状态',
    'tenant.created': '创建时间',
    'tenant.updated': '更新时间',
    'tenant.raw': '允许原样透传',
    'tenant.capture': '记录写操作的调用内容',
    'tenant.reshipment_guard': '重新发货保护（再次上传发货信息需确认）',
    'tenant.suspended_note': '此租户已停用：恢复之前，它的 API 密钥和租户管理员都会被拒绝，它的小程序调用也会停止。',
    'tenant.mps': '小程序',
    'tenant.mps_all': '在小程序页面打开',
    'tenant.mps_none': '还没有小程序为此租户授权。请创建授权链接并发送给小程序管理员。',
    'tenant.col_mp': '小程序',
    'tenant.col_appid': 'appid',
    'tenant.col_status': '状态',
    'tenant.col_sets': '权限集',
    'tenant.col_token': '令牌到期',
    'keys.title': 'API 密钥',
    'keys.new': '新建 API 密钥',
    'keys.create_title': '新建 API 密钥',
    'keys.name': '名称',
    'keys.name_help': '便于识别的名称，例如“订单服务”。',
    'keys.scopes': '权限范围',
    'keys.scopes_help': '租户管理权限（admin_read、admin_write）默认不开启，需要时请勾选。',
    'keys.scope.proxy_read': 'proxy_read — 经 tpgate 调用微信读接口',
    'keys.scope.proxy_write': 'proxy_write — 调用微信写接口（如上传发货信息）',
    'keys.scope.admin_read': 'admin_read — 查看此租户的管理信息（并可登录控制台）',
    'keys.scope.admin_write': 'admin_write — 管理此租户的密钥、授权链接和 Webhook',
    'keys.appids': '仅限这些小程序',
    'keys.appids_help': '不勾选：可调用此租户的所有小程序，包括以后授权的。',
    'keys.appids_none': '此租户还没有小程序；密钥可以调用它以后获得的小程序。',
    'keys.expires': '有效期',
    'keys.never': '永不过期',
    'keys.in_days': '{n} 天',
    'keys.in_year': '1 年',
    'keys.create': '创建',
    'keys.need_scope': '请至少勾选一个权限范围。',
    'keys.created': 'API 密钥已创建。',
    'keys.the_key': 'API 密钥 {name}',
    'keys.hide': '隐藏',
    'keys.col_name': '名称',
    'keys.col_prefix': '前缀',
    'keys.col_scopes': '权限范围',
    'keys.col_appids': '小程序',
    'keys.col_created': '创建时间',
    'keys.col_expires': '到期时间',
    'keys.col_used': '最近使用',
    'keys.col_status': '状态',
    'keys.col_actions': '操作',
    'keys.all': '全部',
    'keys.none': '没有 API 密钥。',
    'keys.revoke': '撤销',
    'keys.revoke_title': '撤销 API 密钥 {name}？',
    'keys.revoke_1': '从现在起使用此密钥的请求都会被拒绝，且无法恢复。',
    'keys.revoke_2': '由此密钥创建的密钥会一并撤销。',
    'keys.revoke_3': '用它登录的控制台会话会结束。',
    'keys.revoke_confirm': '撤销密钥',
    'keys.revoked': 'API 密钥已撤销。',
    'links.title': '授权链接',
    'links.new': '新建授权链接',
    'links.create_title': '新建授权链接',
    'links.intro': '将链接发送给小程序管理员：它会打开 tpgate 的页面，并引导至本第三方平台在微信的授权页。',
    'links.auth_type': '可授权的账号',
    'links.auth_type_2': '小程序',
    'links.auth_type_1': '公众号',
    'links.auth_type_3': '小程序和公众号',
    'links.appid': '小程序 appid（可选）',
    'links.appid_help': '仅允许此小程序授权（wx 加 16 位十六进制数字）。',
    'links.appid_bad': 'appid 为 wx 加 16 位小写十六进制数字。',
    'links.expires': '有效期',
    'links.hour': '1 小时',
    'links.day': '1 天',
    'links.days': '{n} 天',
    'links.single_use': '一次性（完成一次授权后失效）',
    'links.create': '创建',
    'links.created': '授权链接已创建。',
    'links.pc': 'PC 端链接',
    'links.pc_help': '在电脑上打开：微信会显示二维码，管理员用微信扫码授权。',
    'links.mobile': '移动端链接',
    'links.mobile_help': '在手机微信中打开（或用微信扫描此二维码）。',
    'links.qr_pc': 'PC 端链接的二维码',
    'links.qr_mobile': '移动端链接的二维码',
    'links.expires_at': '{when} 过期',
    'links.shown_once': '链接只在此时显示，下方列表不会再显示。',
    'links.col_created': '创建时间',
    'links.col_status': '状态',
    'links.col_type': '账号类型',
    'links.col_appid': 'appid',
    'links.col_single': '一次性',
    'links.col_expires': '到期时间',
    'links.col_used': '使用时间',
    'links.col_actions': '操作',
    'links.none': '没有授权链接。',
    'links.revoke': '撤销',
    'links.revoke_title': '撤销此授权链接？',
    'links.revoke_1': '链接将失效：打开它的人会看到链接已无效。',
    'links.revoke_2': '已通过它授权的小程序保持授权。',
    'links.revoke_confirm': '撤销链接',
    'links.revoked': '授权链接已撤销。',
    'hooks.title': 'Webhook',
    'hooks.new': '新建 Webhook',
    'hooks.create_title': '新建 Webhook',
    'hooks.url': 'URL',
    'hooks.url_help': 'https://…，接收此租户事件的签名 POST 请求。',
    'hooks.description': '描述',
    'hooks.types': '事件类型',
    'hooks.types_help': '逗号分隔，例如 authorization.revoked, trade_manage_remind_shipping。留空：全部类型。',
    'hooks.create': '创建',
    'hooks.created': 'Webhook 已创建。',
    'hooks.secret': '签名密钥',
    'hooks.manage': '在 Webhook 页面打开',
    'hooks.col_url': 'URL',
    'hooks.col_enabled': '状态',
    'hooks.col_failures': '连续失败次数',
    'hooks.col_types': '事件类型',
    'hooks.all_types': '全部',
    'hooks.none': '没有 Webhook 端点。',
    'usage.title': '用量',
    'usage.calls_24h': '近 24 小时调用微信次数',
    'usage.errors_24h': '近 24 小时错误数',
    'usage.refused_24h': '近 24 小时未发送至微信（被 tpgate 拒绝）',
    'usage.error_rate': '错误率',
    'usage.limits': '限额与今日用量',
    'usage.calls': '它的调用记录',
  },
});

/** @type {ApiKeyScope[]} */
const SCOPES = ['proxy_read', 'proxy_write', 'admin_read', 'admin_write'];

/**
 * A key's state: revoked, expired or active.
 * @param {ApiKey} k
 * @returns {string}
 */
function keyStatus(k) {
  if (k.revoked_at) return 'revoked';
  if (k.expires_at && Date.parse(k.expires_at) <= Date.now()) return 'expired';
  return 'active';
}

/**
 * A group of checkboxes in a fieldset; returns the fieldset and a reader of the ticked values.
 * @param {{value: string, label: string, checked?: boolean}[]} options
 * @returns {{fieldset: HTMLFieldSetElement, values: () => string[]}}
 */
function checkboxes(options) {
  const inputs = options.map((o) => h('input', { type: 'checkbox', value: o.value, checked: Boolean(o.checked), id: uid('cb') }));
  const fieldset = h('fieldset', null, h('div', { class: 'checks' },
    options.map((o, i) => h('label', { for: inputs[i].id }, inputs[i], o.label))));
  return { fieldset, values: () => inputs.filter((i) => i.checked).map((i) => i.value) };
}

/** @type {import('../app.js').Page} */
export default {
  id: 'tenant',
  path: /^\/tenants\/([^/]+)$/,
  title: 'tenant.title',
  async render(ctx) {
    const { session } = ctx;
    const id = ctx.params[0];
    /** @type {Tenant} */
    const tenant = await api.get(`/admin/v1/tenants/${seg(id)}`);
    setTitle(`${tenant.name} · ${t('tenant.title')}`);
    const base = `/admin/v1/tenants/${seg(id)}`;
    const canWrite = session.can_write && (session.role === 'platform_admin' || (session.role === 'tenant_admin' && session.tenant_id === id));

    const actions = tenantActions(tenant, session, (deleted) => (deleted ? ctx.navigate('#/tenants') : ctx.refresh()));

    // --- Mini Programs -----------------------------------------------------
    /** @type {Authorizer[]} */
    let mps = [];
    const mpBox = h('div');
    /** @type {import('../ui.js').Column<Authorizer>[]} */
    const mpColumns = [
      { label: t('tenant.col_mp'), render: (a) => link(`#/mini-programs/${encodeURIComponent(a.appid)}`, a.nick_name || a.appid) },
      { label: t('tenant.col_appid'), render: (a) => h('code', null, a.appid) },
      { label: t('tenant.col_status'), render: (a) => badge(a.status) },
      { label: t('tenant.col_sets'), className: 'wide', render: (a) => authorizerSets(a) },
      { label: t('tenant.col_token'), render: (a) => tokenCell(a.token) },
    ];
    const mpsLoaded = loadIntoP(mpBox, () => pagedTable(mpColumns, async (cursor) => {
      /** @type {AuthorizerPage} */
      const page = await api.get('/admin/v1/authorizers', { tenant_id: id, cursor, limit: 50 });
      mps = mps.concat(page.items);
      return page;
    }, { caption: t('tenant.mps'), empty: t('tenant.mps_none'), rowHeader: 0 }));

    // --- API keys ------------------------------------------------------------
    const keyResult = h('div');
    const keysBox = h('div');
    /** @type {import('../ui.js').Column<ApiKey>[]} */
    const keyColumns = [
      { label: t('keys.col_name'), render: (k) => k.name },
      { label: t('keys.col_prefix'), render: (k) => h('code', null, k.prefix) },
      { label: t('keys.col_scopes'), render: (k) => h('ul', { class: 'inline-list' }, k.scopes.map((s) => h('li', null, h('code', null, s)))) },
      { label: t('keys.col_appids'), render: (k) => (k.allowed_appids && k.allowed_appids.length ? h('ul', { class: 'inline-list' }, k.allowed_appids.map((a) => h('li', null, h('code', null, a)))) : t('keys.all')) },
      { label: t('keys.col_created'), render: (k) => fmtTime(k.created_at) },
      { label: t('keys.col_expires'), render: (k) => (k.expires_at ? fmtTime(k.expires_at) : t('keys.never')) },
      { label: t('keys.col_used'), render: (k) => fmtTime(k.last_used_at) },
      { label: t('keys.col_status'), render: (k) => badge(keyStatus(k)) },
    ];
    if (canWrite) {
      keyColumns.push({
        label: t('keys.col_actions'),
        render: (k) => {
          if (keyStatus(k) !== 'active') return '';
          const b = h('button', { type: 'button', class: 'danger' }, t('keys.revoke'));
          b.addEventListener('click', async () => {
            const ok = await confirmDialog({
              title: t('keys.revoke_title', { name: k.name }),
              body: [t('keys.revoke_1'), t('keys.revoke_2'), t('keys.revoke_3')],
              confirmLabel: t('keys.revoke_confirm'),
              danger: true,
            });
            if (!ok) return;
            const r = await runAction(b, () => api.post(`${base}/api-keys/${seg(k.id)}/revoke`), { ok: t('keys.revoked') });
            if (r) loadKeys();
          });
          return b;
        },
      });
    }
    const loadKeys = () => loadInto(keysBox, () => pagedTable(keyColumns, (cursor) => api.get(`${base}/api-keys`, { cursor, limit: 50 }),
      { caption: t('keys.title'), empty: t('keys.none') }));
    loadKeys();

    /** @type {HTMLButtonElement | null} */
    let newKey = null;
    if (canWrite) {
      newKey = h('button', { type: 'button', class: 'primary' }, t('keys.new'));
      newKey.addEventListener('click', async () => {
        await mpsLoaded;
        const name = h('input', { type: 'text', name: 'name', required: true, maxlength: '128', autocomplete: 'off' });
        const scopes = checkboxes(SCOPES.map((s) => ({ value: s, label: t(`keys.scope.${s}`), checked: s === 'proxy_read' || s === 'proxy_write' })));
        const appids = checkboxes(mps.filter((a) => a.status !== 'revoked').map((a) => ({ value: a.appid, label: `${a.nick_name || ''} ${a.appid}`.trim() })));
        const expires = h('select', { name: 'expires' },
          h('option', { value: '' }, t('keys.never')),
          [1, 7, 30, 90].map((n) => h('option', { value: String(n * 86400) }, t('keys.in_days', { n }))),
          h('option', { value: String(365 * 86400) }, t('keys.in_year')));
        /** @type {CreatedApiKey | undefined} */
        const created = await formDialog({
          title: t('keys.create_title'),
          fields: [
            formField(t('keys.name'), name, t('keys.name_help')),
            formField(t('keys.scopes'), scopes.fieldset, t('keys.scopes_help')),
            mps.length ? formField(t('keys.appids'), appids.fieldset, t('keys.appids_help')) : h('p', { class: 'help' }, t('keys.appids_none')),
            formField(t('keys.expires'), expires),
          ],
          submitLabel: t('keys.create'),
          onSubmit: async () => {
            const sc = /** @type {ApiKeyScope[]} */ (scopes.values());
            if (!sc.length) throw new Error(t('keys.need_scope'));
            /** @type {NewApiKey} */
            const body = { name: name.value.trim(), scopes: sc };
            const ids = appids.values();
            if (ids.length) body.allowed_appids = ids;
            if (expires.value) body.expires_in_secs = Number(expires.value);
            return api.post(`${base}/api-keys`, body);
          },
        });
        if (!created) return;
        const hide = h('button', { type: 'button', class: 'secondary' }, t('keys.hide'));
        hide.addEventListener('click', () => keyResult.replaceChildren());
        keyResult.replaceChildren(h('div', null, secretOnce(t('keys.the_key', { name: created.name }), created.key), hide));
        keyResult.querySelector('input')?.focus();
        loadKeys();
      });
    }

    // --- Authorization links -------------------------------------------------
    const linkResult = h('div');
    const linksBox = h('div');
    /** @type {import('../ui.js').Column<OnboardingLink>[]} */
    const linkColumns = [
      { label: t('links.col_created'), render: (l) => fmtTime(l.created_at) },
      { label: t('links.col_status'), render: (l) => badge(l.status) },
      { label: t('links.col_type'), render: (l) => t(`links.auth_type_${l.auth_type}`) },
      { label: t('links.col_appid'), render: (l) => (l.biz_appid ? h('code', null, l.biz_appid) : '—') },
      { label: t('links.col_single'), render: (l) => yesNo(l.single_use) },
      { label: t('links.col_expires'), render: (l) => fmtTime(l.expires_at) },
      { label: t('links.col_used'), render: (l) => fmtTime(l.used_at) },
    ];
    if (canWrite) {
      linkColumns.push({
        label: t('links.col_actions'),
        render: (l) => {
          if (l.status !== 'usable') return '';
          const b = h('button', { type: 'button', class: 'danger' }, t('links.revoke'));
          b.addEventListener('click', async () => {
            const ok = await confirmDialog({ title: t('links.revoke_title'), body: [t('links.revoke_1'), t('links.revoke_2')], confirmLabel: t('links.revoke_confirm'), danger: true });
            if (!ok) return;
            const r = await runAction(b, () => api.post(`${base}/onboarding-links/${seg(l.id)}/revoke`), { ok: t('links.revoked') });
            if (r) loadLinks();
          });
          return b;
        },
      });
    }
    const loadLinks = () => loadInto(linksBox, () => pagedTable(linkColumns, (cursor) => api.get(`${base}/onboarding-links`, { cursor, limit: 50 }),
      { caption: t('links.title'), empty: t('links.none') }));
    loadLinks();

    /** @type {HTMLButtonElement | null} */
    let newLink = null;
    if (canWrite) {
      newLink = h('button', { type: 'button', class: 'primary' }, t('links.new'));
      newLink.addEventListener('click', async () => {
        const authType = h('select', { name: 'auth_type' },
          h('option', { value: '2' }, t('links.auth_type_2')),
          h('option', { value: '1' }, t('links.auth_type_1')),
          h('option', { value: '3' }, t('links.auth_type_3')));
        const appid = h('input', { type: 'text', name: 'biz_appid', autocomplete: 'off', spellcheck: 'false', pattern: '^wx[0-9a-f]{16}$', placeholder: 'wx0123456789abcdef', class: 'mono' });
        const expires = h('select', { name: 'expires' },
          h('option', { value: String(3600) }, t('links.hour')),
          h('option', { value: String(86400) }, t('links.day')),
          h('option', { value: String(7 * 86400) }, t('links.days', { n: 7 })),
          h('option', { value: String(30 * 86400) }, t('links.days', { n: 30 })));
        expires.value = String(7 * 86400);
        const single = h('input', { type: 'checkbox', name: 'single_use', checked: true });
        /** @type {CreatedLink | undefined} */
        const created = await formDialog({
          title: t('links.create_title'),
          intro: h('p', null, t('links.intro')),
          fields: [
            formField(t('links.auth_type'), authType),
            formField(t('links.appid'), appid, t('links.appid_help')),
            formField(t('links.expires'), expires),
            formField(t('links.single_use'), single),
          ],
          submitLabel: t('links.create'),
          onSubmit: async () => {
            const a = appid.value.trim();
            if (a && !/^wx[0-9a-f]{16}$/.test(a)) throw new Error(t('links.appid_bad'));
            /** @type {NewOnboardingLink} */
            const body = { auth_type: Number(authType.value), expires_in_secs: Number(expires.value), single_use: single.checked };
            if (a) body.biz_appid = a;
            return api.post(`${base}/onboarding-links`, body);
          },
        });
        if (!created) return;
        linkResult.replaceChildren(createdLinkView(created));
        linkResult.querySelector('input')?.focus();
        loadLinks();
      });
    }

    // --- Webhooks -------------------------------------------------------------
    const hookResult = h('div');
    const hooksBox = h('div');
    /** @type {import('../ui.js').Column<Webhook>[]} */
    const hookColumns = [
      { label: t('hooks.col_url'), render: (w) => link(`#/webhooks/${encodeURIComponent(id)}/${encodeURIComponent(w.id)}`, w.url, { class: 'mono' }) },
      { label: t('hooks.col_enabled'), render: (w) => badge(w.enabled ? (w.consecutive_failures > 0 ? 'failing' : 'enabled') : 'disabled') },
      { label: t('hooks.col_failures'), className: 'num', render: (w) => fmtNumber(w.consecutive_failures) },
      { label: t('hooks.col_types'), render: (w) => (w.event_types.length ? h('ul', { class: 'inline-list' }, w.event_types.map((x) => h('li', null, h('code', null, x)))) : t('hooks.all_types')) },
    ];
    const loadHooks = () => loadInto(hooksBox, () => pagedTable(hookColumns, (cursor) => api.get(`${base}/webhooks`, { cursor, limit: 50 }),
      { caption: t('hooks.title'), empty: t('hooks.none'), rowHeader: 0 }));
    loadHooks();
    /** @type {HTMLButtonElement | null} */
    let newHook = null;
    if (canWrite) {
      newHook = h('button', { type: 'button', class: 'primary' }, t('hooks.new'));
      newHook.addEventListener('click', async () => {
        const url = h('input', { type: 'url', name: 'url', required: true, maxlength: '2048', autocomplete: 'off', spellcheck: 'false', placeholder: 'https://' });
        const description = h('input', { type: 'text', name: 'description', maxlength: '256', autocomplete: 'off' });
        const types = h('input', { type: 'text', name: 'event_types', autocomplete: 'off', spellcheck: 'false' });
        /** @type {WebhookWithSecret | undefined} */
        const created = await formDialog({
          title: t('hooks.create_title'),
          fields: [
            formField(t('hooks.url'), url, t('hooks.url_help')),
            formField(t('hooks.description'), description),
            formField(t('hooks.types'), types, t('hooks.types_help')),
          ],
          submitLabel: t('hooks.create'),
          onSubmit: async () => {
            /** @type {NewWebhook} */
            const body = { url: url.value.trim() };
            if (description.value.trim()) body.description = description.value.trim();
            const list = types.value.split(/[\s,，]+/).map((s) => s.trim()).filter(Boolean);
            if (list.length) body.event_types = list;
            return api.post(`${base}/webhooks`, body);
          },
        });
        if (!created) return;
        const hide = h('button', { type: 'button', class: 'secondary' }, t('keys.hide'));
        hide.addEventListener('click', () => hookResult.replaceChildren());
        hookResult.replaceChildren(h('div', null,
          h('p', null, link(`#/webhooks/${encodeURIComponent(id)}/${encodeURIComponent(created.id)}`, created.url, { class: 'mono' })),
          secretOnce(t('hooks.secret'), created.secret), hide));
        hookResult.querySelector('input')?.focus();
        loadHooks();
      });
    }

    // --- Usage ----------------------------------------------------------------
    const usageBox = h('div');
    loadInto(usageBox, async () => {
      /** @type {CallStats} */
      const stats = await api.get('/admin/v1/call-stats', { group_by: 'hour', since: hoursAgo(24), tenant_id: id });
      const sum = stats.groups.reduce((acc, g) => ({ calls: acc.calls + g.calls, sent: acc.sent + g.sent, errors: acc.errors + g.errors }), { calls: 0, sent: 0, errors: 0 });
      return h('div', null,
        dl([
          [t('usage.calls_24h'), link(`#/calls?tenant_id=${encodeURIComponent(id)}`, fmtNumber(sum.calls))],
          [t('usage.errors_24h'), link(`#/calls?tenant_id=${encodeURIComponent(id)}`, fmtNumber(sum.errors))],
          [t('usage.error_rate'), sum.sent ? fmtPercent(sum.errors / sum.sent) : '—'],
          [t('usage.refused_24h'), fmtNumber(sum.calls - sum.sent)],
        ]),
        h('p', null, link(`#/limits?tenant_id=${encodeURIComponent(id)}`, t('usage.limits'))));
    });

    return h('div', null,
      pageHeader(tenant.name, actions.length ? actions : null, h('code', null, tenant.id), t('tenant.title')),
      tenant.status === 'suspended' ? h('p', { class: 'warning', role: 'status' }, t('tenant.suspended_note')) : null,
      h('section', { class: 'card', 'aria-label': t('tenant.title') }, dl([
        [t('tenant.id'), h('code', null, tenant.id)],
        [t('tenant.status'), badge(tenant.status)],
        [t('tenant.created'), fmtTime(tenant.created_at)],
        [t('tenant.updated'), fmtTime(tenant.updated_at)],
        [t('tenant.raw'), yesNo(tenant.raw_passthrough)],
        [t('tenant.capture'), yesNo(tenant.capture_call_bodies)],
        [t('tenant.reshipment_guard'), yesNo(tenant.reshipment_guard)],
      ])),
      section(t('tenant.mps'), [mpBox], { actions: link(`#/mini-programs?tenant_id=${encodeURIComponent(id)}`, t('tenant.mps_all')) }),
      section(t('keys.title'), [keyResult, keysBox], { actions: newKey }),
      section(t('links.title'), [linkResult, linksBox], { actions: newLink }),
      section(t('hooks.title'), [hookResult, hooksBox], { actions: [newHook, link(`#/webhooks?tenant_id=${encodeURIComponent(id)}`, t('hooks.manage'))] }),
      section(t('usage.title'), [usageBox]));
  },
};

/**
 * Like loadInto, but also returns a promise that settles when the content is in place.
 * @param {HTMLElement} el
 * @param {() => Promise<import('../ui.js').Child>} load
 * @returns {Promise<void>}
 */
function loadIntoP(el, load) {
  return new Promise((resolve) => {
    loadInto(el, async () => {
      try {
        return await load();
      } finally {
        resolve();
      }
    });
  });
}

/**
 * A new authorization link: the PC link and the mobile link, each with a copy button and a QR
 * code, and the expiry.
 * @param {CreatedLink} l
 * @returns {HTMLElement}
 */
function createdLinkView(l) {
  const pcUrl = l.pc_url || l.url;
  /**
   * @param {string} label
   * @param {string} url
   * @param {string} help
   * @param {string | undefined} qr
   * @param {string} qrAlt
   */
  const one = (label, url, help, qr, qrAlt) => {
    const fid = uid('link');
    return h('figure', null,
      h('label', { for: fid, class: 'strong' }, label),
      h('div', { class: 'copy-row' }, h('input', { id: fid, type: 'text', readonly: true, value: url, class: 'mono' }), copyButton(url, label)),
      h('p', { class: 'help' }, help),
      qr ? svgImage(qr, qrAlt) : null);
  };
  return h('div', { class: 'secret-once', role: 'status' },
    h('h3', null, t('links.created')),
    h('p', null, t('links.expires_at', { when: fmtTime(l.expires_at) })),
    h('div', { class: 'links-created' },
      one(t('links.pc'), pcUrl, t('links.pc_help'), l.pc_qr_svg, t('links.qr_pc')),
      l.mobile_url ? one(t('links.mobile'), l.mobile_url, t('links.mobile_help'), l.mobile_qr_svg, t('links.qr_mobile')) : null),
    h('p', { class: 'warning' }, t('links.shown_once')));
}
