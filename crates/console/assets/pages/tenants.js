// Page 2: tenants — search, create, rename, suspend/resume, delete. Platform roles only
// (the router sends a tenant_admin to its own tenant's page).

import { api, qs } from '../api.js';
import { strings, fmtTime } from '../i18n.js';
import { badge, filterPanel, formDialog, formField, h, link, pageHeader, pagedTable, toast, yesNo } from '../ui.js';
import { tenantActions } from './tenant-actions.js';

/** @typedef {import('tpgate-api').components['schemas']['Tenant']} Tenant */
/** @typedef {import('tpgate-api').components['schemas']['TenantPage']} TenantPage */

const t = strings({
  en: {
    'tenants.title': 'Tenants',
    'tenants.subtitle': 'The platform’s customers. Each owns Mini Programs (授权方), API keys, authorization links and webhooks.',
    'tenants.new': 'New tenant',
    'tenants.create_title': 'New tenant',
    'tenants.name': 'Name',
    'tenants.name_help': 'Unique, 1–128 characters. You can rename it later.',
    'tenants.create': 'Create',
    'tenants.created': 'Tenant {name} created.',
    'tenants.search': 'Name contains',
    'tenants.status': 'Status',
    'tenants.any': 'Any',
    'tenants.filter': 'Search',
    'tenants.clear': 'Clear',
    'tenants.col_name': 'Name',
    'tenants.col_id': 'Id',
    'tenants.col_status': 'Status',
    'tenants.col_raw': 'Raw passthrough',
    'tenants.col_created': 'Created',
    'tenants.col_actions': 'Actions',
    'tenants.none': 'No tenants match.',
    'tenants.table': 'Tenants',
  },
  zh: {
    'tenants.title': '租户',
    'tenants.subtitle': '平台的客户。每个租户拥有自己的小程序（授权方）、API 密钥、授权链接和 Webhook。',
    'tenants.new': '新建租户',
    'tenants.create_title': '新建租户',
    'tenants.name': '名称',
    'tenants.name_help': '唯一，1–128 个字符，之后可以重命名。',
    'tenants.create': '创建',
    'tenants.created': '已创建租户 {name}。',
    'tenants.search': '名称包含',
    'tenants.status': '状态',
    'tenants.any': '全部',
    'tenants.filter': '搜索',
    'tenants.clear': '清除',
    'tenants.col_name': '名称',
    'tenants.col_id': 'ID',
    'tenants.col_status': '状态',
    'tenants.col_raw': '原样透传',
    'tenants.col_created': '创建时间',
    'tenants.col_actions': '操作',
    'tenants.none': '没有符合条件的租户。',
    'tenants.table': '租户列表',
  },
});

/** @type {import('../app.js').Page} */
export default {
  id: 'tenants',
  path: /^\/tenants$/,
  title: 'tenants.title',
  async render(ctx) {
    const { session, query } = ctx;
    const canWrite = session.can_write && session.role === 'platform_admin';

    /** @type {HTMLButtonElement | null} */
    let newButton = null;
    if (canWrite) {
      const btn = h('button', { type: 'button', class: 'primary' }, t('tenants.new'));
      btn.addEventListener('click', async () => {
        const input = h('input', { type: 'text', name: 'name', required: true, maxlength: '128', autocomplete: 'off' });
        /** @type {Tenant | undefined} */
        const created = await formDialog({
          title: t('tenants.create_title'),
          fields: formField(t('tenants.name'), input, t('tenants.name_help')),
          submitLabel: t('tenants.create'),
          onSubmit: () => api.post('/admin/v1/tenants', { name: input.value.trim() }),
        });
        if (created) {
          toast(t('tenants.created', { name: created.name }), 'ok');
          ctx.refresh();
        }
      });
      newButton = btn;
    }

    // Filters live in the address (#/tenants?name=…&status=…).
    const nameInput = h('input', { type: 'search', name: 'name', value: query.name ?? '', autocomplete: 'off' });
    const statusSelect = h('select', { name: 'status' },
      h('option', { value: '' }, t('tenants.any')),
      h('option', { value: 'active' }, t('status.active')),
      h('option', { value: 'suspended' }, t('status.suspended')));
    statusSelect.value = query.status ?? '';
    const filters = h('form', { class: 'filters', role: 'search' },
      formField(t('tenants.search'), nameInput),
      formField(t('tenants.status'), statusSelect),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'primary' }, t('tenants.filter')),
        h('a', { href: '#/tenants' }, t('tenants.clear'))));
    filters.addEventListener('submit', (ev) => {
      ev.preventDefault();
      ctx.navigate(`#/tenants${qs({ name: nameInput.value.trim(), status: statusSelect.value })}`);
    });

    /** @type {import('../ui.js').Column<Tenant>[]} */
    const columns = [
      { label: t('tenants.col_name'), render: (x) => link(`#/tenants/${encodeURIComponent(x.id)}`, x.name) },
      { label: t('tenants.col_id'), render: (x) => h('code', null, x.id) },
      { label: t('tenants.col_status'), render: (x) => badge(x.status) },
      { label: t('tenants.col_raw'), render: (x) => yesNo(x.raw_passthrough) },
      { label: t('tenants.col_created'), render: (x) => fmtTime(x.created_at) },
    ];
    if (canWrite) {
      columns.push({
        label: t('tenants.col_actions'),
        render: (x) => h('div', { class: 'actions' }, tenantActions(x, session, () => ctx.refresh())),
      });
    }
    const list = await pagedTable(columns, (cursor) => api.get('/admin/v1/tenants', {
      name: query.name, status: query.status, cursor, limit: 50,
    }), { caption: t('tenants.table'), empty: t('tenants.none'), rowHeader: 0 });

    return h('div', null,
      pageHeader(t('tenants.title'), newButton, t('tenants.subtitle')),
      filterPanel(filters, Boolean(query.name || query.status)),
      list);
  },
};
