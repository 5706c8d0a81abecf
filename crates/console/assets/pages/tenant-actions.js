// Tenant actions shared by the tenant list and a tenant's page: rename, suspend,
// resume, delete — each behind a dialog that says what will happen. platform_admin only.

import { api, seg } from '../api.js';
import { strings } from '../i18n.js';
import { confirmDialog, formDialog, formField, h, runAction, toast } from '../ui.js';

/** @typedef {import('tpgate-api').components['schemas']['Tenant']} Tenant */
/** @typedef {import('tpgate-api').components['schemas']['DeletedTenant']} DeletedTenant */
/** @typedef {import('../api.js').Session} Session */

const t = strings({
  en: {
    'ta.rename': 'Rename',
    'ta.rename_title': 'Rename tenant {name}',
    'ta.name': 'Name',
    'ta.name_help': 'Unique, 1–128 characters.',
    'ta.save': 'Save',
    'ta.renamed': 'Tenant renamed.',
    'ta.suspend': 'Suspend',
    'ta.suspend_title': 'Suspend tenant {name}?',
    'ta.suspend_confirm': 'Suspend tenant',
    'ta.suspend_1': 'Its API keys and its tenant admins are refused from now on.',
    'ta.suspend_2': 'Its Mini Programs’ calls to WeChat through tpgate stop.',
    'ta.suspend_3': 'Its console sessions end now.',
    'ta.suspend_4': 'Nothing is deleted: resuming restores all of it.',
    'ta.suspended': 'Tenant suspended.',
    'ta.resume': 'Resume',
    'ta.resume_title': 'Resume tenant {name}?',
    'ta.resume_confirm': 'Resume tenant',
    'ta.resume_1': 'Its API keys and tenant admins work again.',
    'ta.resume_2': 'Its Mini Programs can be called again.',
    'ta.resumed': 'Tenant resumed.',
    'ta.delete': 'Delete',
    'ta.delete_title': 'Delete tenant {name}?',
    'ta.delete_confirm': 'Delete tenant',
    'ta.delete_1': 'Its API keys, authorization links, webhook endpoints and tenant-specific rate limits are deleted; this cannot be undone.',
    'ta.delete_2': 'Its events and audit entries are kept.',
    'ta.delete_3': 'While Mini Programs belong to it, deleting is refused unless you tick the box below.',
    'ta.force': 'Delete even if Mini Programs belong to it (they stay authorized, without a tenant, until moved)',
    'ta.deleted': 'Tenant deleted.',
    'ta.deleted_unassigned': 'Tenant deleted; {n} Mini Programs are now without a tenant.',
  },
  zh: {
    'ta.rename': '重命名',
    'ta.rename_title': '重命名租户 {name}',
    'ta.name': '名称',
    'ta.name_help': '唯一，1–128 个字符。',
    'ta.save': '保存',
    'ta.renamed': '租户已重命名。',
    'ta.suspend': '停用',
    'ta.suspend_title': '停用租户 {name}？',
    'ta.suspend_confirm': '停用租户',
    'ta.suspend_1': '从现在起，它的 API 密钥和租户管理员都将被拒绝。',
    'ta.suspend_2': '它的小程序经 tpgate 对微信的调用将停止。',
    'ta.suspend_3': '它的控制台会话立即结束。',
    'ta.suspend_4': '不会删除任何内容：恢复后一切照旧。',
    'ta.suspended': '租户已停用。',
    'ta.resume': '恢复',
    'ta.resume_title': '恢复租户 {name}？',
    'ta.resume_confirm': '恢复租户',
    'ta.resume_1': '它的 API 密钥和租户管理员重新可用。',
    'ta.resume_2': '它的小程序可以再次被调用。',
    'ta.resumed': '租户已恢复。',
    'ta.delete': '删除',
    'ta.delete_title': '删除租户 {name}？',
    'ta.delete_confirm': '删除租户',
    'ta.delete_1': '它的 API 密钥、授权链接、Webhook 端点和租户级限额将被删除，且无法撤销。',
    'ta.delete_2': '它的事件和审计记录会保留。',
    'ta.delete_3': '只要仍有小程序属于它，删除就会被拒绝，除非勾选下面的选项。',
    'ta.force': '即使仍有小程序属于它也删除（这些小程序保持授权，但不属于任何租户，直到被移动）',
    'ta.deleted': '租户已删除。',
    'ta.deleted_unassigned': '租户已删除；{n} 个小程序现在不属于任何租户。',
  },
});

/**
 * Asks for a new name and renames the tenant.
 * @param {Tenant} tenant
 * @returns {Promise<Tenant | undefined>}
 */
export function renameTenant(tenant) {
  const input = h('input', { type: 'text', name: 'name', required: true, maxlength: '128', value: tenant.name, autocomplete: 'off' });
  return formDialog({
    title: t('ta.rename_title', { name: tenant.name }),
    fields: formField(t('ta.name'), input, t('ta.name_help')),
    submitLabel: t('ta.save'),
    onSubmit: async () => {
      /** @type {Tenant} */
      const updated = await api.patch(`/admin/v1/tenants/${seg(tenant.id)}`, { name: input.value.trim() });
      toast(t('ta.renamed'), 'ok');
      return updated;
    },
  });
}

/**
 * Confirms, then suspends or resumes the tenant (whichever it is not).
 * @param {Tenant} tenant
 * @param {HTMLButtonElement | null} [btn]
 * @returns {Promise<Tenant | undefined>}
 */
export async function toggleTenant(tenant, btn) {
  const suspending = tenant.status === 'active';
  const ok = await confirmDialog(suspending
    ? { title: t('ta.suspend_title', { name: tenant.name }), body: [t('ta.suspend_1'), t('ta.suspend_2'), t('ta.suspend_3'), t('ta.suspend_4')], confirmLabel: t('ta.suspend_confirm'), danger: true }
    : { title: t('ta.resume_title', { name: tenant.name }), body: [t('ta.resume_1'), t('ta.resume_2')], confirmLabel: t('ta.resume_confirm') });
  if (!ok) return undefined;
  return runAction(btn ?? null, () => api.post(`/admin/v1/tenants/${seg(tenant.id)}/${suspending ? 'suspend' : 'resume'}`),
    { ok: suspending ? t('ta.suspended') : t('ta.resumed') });
}

/**
 * Confirms (with a "force" option), then deletes the tenant.
 * @param {Tenant} tenant
 * @param {HTMLButtonElement | null} [btn]
 * @returns {Promise<DeletedTenant | undefined>}
 */
export async function deleteTenant(tenant, btn) {
  const force = h('input', { type: 'checkbox', name: 'force' });
  const ok = await confirmDialog({
    title: t('ta.delete_title', { name: tenant.name }),
    body: [t('ta.delete_1'), t('ta.delete_2'), t('ta.delete_3')],
    confirmLabel: t('ta.delete_confirm'),
    danger: true,
    extra: formField(t('ta.force'), force),
  });
  if (!ok) return undefined;
  /** @type {DeletedTenant | undefined} */
  const r = await runAction(btn ?? null, () => api.del(`/admin/v1/tenants/${seg(tenant.id)}`, { force: force.checked ? true : undefined }));
  if (r) toast(r.unassigned_authorizers ? t('ta.deleted_unassigned', { n: r.unassigned_authorizers }) : t('ta.deleted'), 'ok');
  return r;
}

/**
 * The tenant's action buttons for a platform_admin (none for anyone else): Rename, Suspend or
 * Resume, Delete. `onChange` runs after a change (`deleted` true after a deletion).
 * @param {Tenant} tenant
 * @param {Session} session
 * @param {(deleted: boolean) => void} onChange
 * @returns {HTMLButtonElement[]}
 */
export function tenantActions(tenant, session, onChange) {
  if (!session.can_write || session.role !== 'platform_admin') return [];
  const rename = h('button', { type: 'button', class: 'secondary' }, t('ta.rename'));
  rename.addEventListener('click', async () => {
    if (await renameTenant(tenant)) onChange(false);
  });
  const toggle = h('button', { type: 'button', class: tenant.status === 'active' ? 'secondary' : 'primary' }, tenant.status === 'active' ? t('ta.suspend') : t('ta.resume'));
  toggle.addEventListener('click', async () => {
    if (await toggleTenant(tenant, toggle)) onChange(false);
  });
  const del = h('button', { type: 'button', class: 'danger' }, t('ta.delete'));
  del.addEventListener('click', async () => {
    if (await deleteTenant(tenant, del)) onChange(true);
  });
  return [rename, toggle, del];
}
