// Pieces shared by the pages that show Mini Programs (授权方): permission sets,
// token state, the last 24 hours as a `since` value, tenant names.

import { api, getAll } from '../api.js';
import { strings, fmtDuration } from '../i18n.js';
import { badge, h } from '../ui.js';

/** @typedef {import('tpgate-api').components['schemas']['Authorizer']} Authorizer */
/** @typedef {import('tpgate-api').components['schemas']['TokenState']} TokenState */
/** @typedef {import('tpgate-api').components['schemas']['PermissionSet']} PermissionSet */
/** @typedef {import('tpgate-api').components['schemas']['Tenant']} Tenant */
/** @typedef {import('../api.js').CallStats} CallStats */

const t = strings({
  en: {
    'mp.token_expires_in': 'in {d}',
    'mp.token_none': 'no token',
    'mp.token_expired': 'expired',
    'mp.no_sets': 'none',
    'mp.missing_marker': 'Missing permission sets',
    'mp.unassigned': 'no tenant',
  },
  zh: {
    'mp.token_expires_in': '{d}后',
    'mp.token_none': '无令牌',
    'mp.token_expired': '已过期',
    'mp.no_sets': '无',
    'mp.missing_marker': '缺少权限集',
    'mp.unassigned': '无租户',
  },
});

/**
 * An RFC 3339 time `hours` ago (the `since` of "last 24 hours" queries).
 * @param {number} [hours]
 * @returns {string}
 */
export function hoursAgo(hours = 24) {
  return new Date(Date.now() - hours * 3600_000).toISOString();
}

/**
 * Permission sets as "142 name" items.
 * @param {PermissionSet[]} sets
 * @returns {HTMLElement}
 */
export function permissionSetList(sets) {
  if (!sets.length) return h('span', { class: 'muted' }, t('mp.no_sets'));
  return h('ul', { class: 'inline-list' }, [...sets].sort((a, b) => a.id - b.id).map((s) => h('li', null, h('strong', null, String(s.id)), ' ', s.name)));
}

/**
 * The permission sets an authorizer granted (with names where known).
 * @param {Authorizer} a
 * @returns {HTMLElement}
 */
export function authorizerSets(a) {
  /** @type {PermissionSet[]} */
  const sets = a.permission_sets.map((id) => a.permission_set_names.find((n) => n.id === id) ?? { id, name: '' });
  return permissionSetList(sets);
}

/**
 * The token's state: "in 1 h 20 min", or a badge when there is none or it expired.
 * @param {TokenState} token
 * @returns {HTMLElement | string}
 */
export function tokenCell(token) {
  if (!token.valid || token.expires_in_secs <= 0) return badge(token.expires_at ? 'expired' : 'missing', token.expires_at ? t('mp.token_expired') : t('mp.token_none'));
  return h('span', { title: token.expires_at ?? '' }, t('mp.token_expires_in', { d: fmtDuration(token.expires_in_secs) }));
}

/**
 * A small warning marker for missing permission sets (used where health is known).
 * @param {string} [label]
 * @returns {HTMLElement}
 */
export function missingMarker(label) {
  return badge('warn', `⚠ ${label ?? t('mp.missing_marker')}`);
}

/**
 * Tenant id → name, for platform roles (a tenant_admin gets only its own tenant).
 * @returns {Promise<Map<string, string>>}
 */
export async function tenantNames() {
  /** @type {Tenant[]} */
  const all = await getAll('/admin/v1/tenants', {}, 2000);
  return new Map(all.map((x) => [x.id, x.name]));
}

/**
 * Calls per appid over the last 24 hours (GET /admin/v1/call-stats?group_by=appid).
 * @param {string} [tenantId]
 * @returns {Promise<Map<string, import('../api.js').CallStatsGroup>>}
 */
export async function statsByAppid(tenantId) {
  /** @type {CallStats} */
  const stats = await api.get('/admin/v1/call-stats', { group_by: 'appid', since: hoursAgo(24), tenant_id: tenantId, limit: 1000 });
  return new Map(stats.groups.map((g) => [g.key, g]));
}

/**
 * A tenant's name as a link to its page (or "no tenant").
 * @param {string | undefined} tenantId
 * @param {Map<string, string>} [names]
 * @returns {HTMLElement}
 */
export function tenantLink(tenantId, names) {
  if (!tenantId) return badge('warn', t('mp.unassigned'));
  return h('a', { href: `#/tenants/${encodeURIComponent(tenantId)}` }, names?.get(tenantId) ?? tenantId);
}
