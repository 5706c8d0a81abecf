// Shared pieces of the events, webhooks, limits, calls and audit pages: filter forms whose values
// live in the hash query (so links from other pages land filtered), time inputs, pretty JSON,
// tenant and Mini Program pickers. Built on ui.js; never innerHTML, never a style attribute.

import { getAll, qs } from './api.js';
import { strings, fmtTime, fmtNumber } from './i18n.js';
import { h, formField, uid, table, badge, replace, loading, problemView } from './ui.js';

/** @typedef {import('./api.js').Session} Session */
/** @typedef {import('tpgate-api').components['schemas']['Tenant']} Tenant */
/** @typedef {import('tpgate-api').components['schemas']['Authorizer']} Authorizer */
/** @typedef {import('tpgate-api').components['schemas']['Delivery']} Delivery */

const t = strings({
  en: {
    'w.apply': 'Apply filters',
    'w.clear': 'Clear filters',
    'w.filters': 'Filters',
    'w.filters_n': 'Filters ({n} set)',
    'w.named': '{label} ({value})',
    'w.all_tenants': 'All tenants',
    'w.local_time': 'Your local time.',
    'w.body_raw': 'As received (not JSON)',
    'w.col_status': 'Status',
    'w.col_attempts': 'Attempts',
    'w.col_last_attempt': 'Last attempt',
    'w.col_http': 'Receiver’s HTTP status',
    'w.col_error': 'Last error',
    'w.col_next': 'Next attempt',
    'w.col_delivered': 'Delivered',
    'w.col_created': 'Created',
  },
  zh: {
    'w.apply': '应用筛选',
    'w.clear': '清除筛选',
    'w.filters': '筛选',
    'w.filters_n': '筛选（已设 {n} 项）',
    'w.named': '{label}（{value}）',
    'w.all_tenants': '全部租户',
    'w.local_time': '本地时间。',
    'w.body_raw': '原始内容（非 JSON）',
    'w.col_status': '状态',
    'w.col_attempts': '尝试次数',
    'w.col_last_attempt': '最近尝试',
    'w.col_http': '接收方 HTTP 状态',
    'w.col_error': '最近错误',
    'w.col_next': '下次尝试',
    'w.col_delivered': '投递成功时间',
    'w.col_created': '创建时间',
  },
});

/**
 * Whether the session is a platform role (sees every tenant; may pick one).
 * @param {Session} session
 * @returns {boolean}
 */
export function isPlatform(session) {
  return session.role !== 'tenant_admin';
}

/**
 * A translated label with the API's own value beside it: "WeChat refused (wechat_refused)".
 * @param {string} label
 * @param {string} value
 * @returns {string}
 */
export function labelWithValue(label, value) {
  return label === value ? value : t('w.named', { label, value });
}

/**
 * A hash route with a query: hashWith('/calls', {appid: 'wx1'}) -> '#/calls?appid=wx1'.
 * @param {string} path
 * @param {import('./api.js').Query} [query]
 * @returns {string}
 */
export function hashWith(path, query) {
  return `#${path}${qs(query)}`;
}

/**
 * Records a new hash (with its filters) in the history without re-rendering the page: the page
 * updates its own results, focus stays where it is, and Back re-renders the previous filters.
 * @param {string} hash
 */
export function pushHash(hash) {
  if (location.hash !== hash) history.pushState(null, '', hash);
}

/** @param {number} n */
function pad(n) {
  return String(n).padStart(2, '0');
}

/**
 * An RFC 3339 time as a `datetime-local` input value in the browser's time zone ('' when absent).
 * @param {string | undefined} iso
 * @returns {string}
 */
export function isoToLocalInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/**
 * A `datetime-local` value (browser's time zone) as RFC 3339 UTC ('' when empty or invalid).
 * @param {string} value
 * @returns {string}
 */
export function localInputToIso(value) {
  if (!value) return '';
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString().replace(/\.000Z$/, 'Z');
}

/**
 * One control of a filter form; its value is read as the query parameter `name`.
 * @typedef {object} FilterField
 * @property {string} name query parameter name
 * @property {string} label visible label (also the control's accessible name)
 * @property {HTMLInputElement | HTMLSelectElement} control
 * @property {string} [help]
 * @property {boolean} [datetime] the control is a datetime-local input; its value is sent as RFC 3339
 */

/**
 * A text input (optionally with a datalist of suggestions).
 * @param {string | undefined} value
 * @param {{placeholder?: string, list?: HTMLDataListElement, type?: string, inputmode?: string, maxlength?: number}} [opts]
 * @returns {HTMLInputElement}
 */
export function textInput(value, opts = {}) {
  return h('input', {
    type: opts.type ?? 'text', value: value ?? '', placeholder: opts.placeholder, list: opts.list ? opts.list.id : undefined,
    inputmode: opts.inputmode, maxlength: opts.maxlength, autocomplete: 'off', spellcheck: 'false',
  });
}

/**
 * A datetime-local input holding an RFC 3339 value.
 * @param {string | undefined} iso
 * @returns {HTMLInputElement}
 */
export function dateTimeInput(iso) {
  return h('input', { type: 'datetime-local', value: isoToLocalInput(iso), step: '60' });
}

/**
 * A select of [value, label] options ('' first means "any").
 * @param {[string, string][]} options
 * @param {string | undefined} value
 * @returns {HTMLSelectElement}
 */
export function selectInput(options, value) {
  const sel = h('select', null, options.map(([v, l]) => h('option', { value: v }, l)));
  if (value && !options.some(([v]) => v === value)) sel.appendChild(h('option', { value }, value));
  sel.value = value ?? '';
  return sel;
}

/**
 * A datalist of suggestions for a text input.
 * @param {string[]} values
 * @returns {HTMLDataListElement}
 */
export function datalist(values) {
  return h('datalist', { id: uid('list') }, values.map((v) => h('option', { value: v })));
}

/** @type {Promise<Tenant[]> | null} */
let tenantsCache = null;

/**
 * Every tenant (platform roles only), fetched once per page load of the console.
 * @returns {Promise<Tenant[]>}
 */
export function allTenants() {
  if (!tenantsCache) {
    tenantsCache = getAll('/admin/v1/tenants', { limit: 200 }, 2000);
    tenantsCache.catch(() => { tenantsCache = null; });
  }
  return tenantsCache;
}

/**
 * A tenant picker for platform roles: "All tenants" (or a prompt) then every tenant by name,
 * filled in when the list arrives (the current value is kept meanwhile).
 * @param {string | undefined} value
 * @param {{anyLabel?: string}} [opts]
 * @returns {HTMLSelectElement}
 */
export function tenantSelect(value, opts = {}) {
  const sel = selectInput([['', opts.anyLabel ?? t('w.all_tenants')]], value);
  allTenants().then((tenants) => {
    const current = sel.value;
    sel.replaceChildren(h('option', { value: '' }, opts.anyLabel ?? t('w.all_tenants')));
    for (const tn of [...tenants].sort((a, b) => a.name.localeCompare(b.name))) {
      sel.appendChild(h('option', { value: tn.id }, tn.name));
    }
    if (current && !tenants.some((tn) => tn.id === current)) sel.appendChild(h('option', { value: current }, current));
    sel.value = current;
  }, () => { /* the picker keeps the typed value; the list's failure shows on the page's own load */ });
  return sel;
}

/**
 * A datalist of the Mini Programs the caller can see (optionally one tenant's), filled in when
 * the list arrives: `appid — name`.
 * @param {string | undefined} tenantId
 * @returns {HTMLDataListElement}
 */
export function appidDatalist(tenantId) {
  const list = datalist([]);
  getAll('/admin/v1/authorizers', { tenant_id: tenantId, limit: 200 }, 1000).then((items) => {
    for (const a of /** @type {Authorizer[]} */ (items)) {
      list.appendChild(h('option', { value: a.appid }, a.nick_name ? `${a.appid} — ${a.nick_name}` : a.appid));
    }
  }, () => { /* suggestions only */ });
  return list;
}

/**
 * A filter form (role="search"): labelled fields, "Apply filters" and "Clear filters".
 * `onApply` gets the set values (times as RFC 3339).
 * @param {FilterField[]} fields
 * @param {(query: Record<string, string>) => void} onApply
 * @param {{label?: string, extra?: Node[]}} [opts] `extra`: nodes after the buttons (e.g. datalists)
 * @returns {HTMLFormElement}
 */
export function filterForm(fields, onApply, opts = {}) {
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': opts.label ?? t('w.filters') },
    fields.map((f) => formField(f.label, f.control, f.help ?? (f.datetime ? t('w.local_time') : undefined))),
    h('div', { class: 'field' }, h('div', { class: 'actions' },
      h('button', { type: 'submit' }, t('w.apply')),
      h('button', { type: 'reset', class: 'secondary' }, t('w.clear')))),
    opts.extra ?? []);
  const read = () => {
    /** @type {Record<string, string>} */
    const q = {};
    for (const f of fields) {
      const v = f.datetime ? localInputToIso(f.control.value) : f.control.value.trim();
      if (v) q[f.name] = v;
    }
    return q;
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    onApply(read());
  });
  form.addEventListener('reset', (ev) => {
    ev.preventDefault();
    for (const f of fields) f.control.value = '';
    onApply({});
  });
  return form;
}

/**
 * A list page's filters and results: the form, and a results region re-rendered in place (and
 * the hash updated) whenever the filters are applied.
 * @param {object} opts
 * @param {string} opts.path the route, e.g. '/calls'
 * @param {Record<string, string>} opts.query the current filters (from the hash)
 * @param {(query: Record<string, string>) => FilterField[]} opts.fields
 * @param {(query: Record<string, string>) => Promise<Node>} opts.results
 * @param {Node[]} [opts.extra] nodes inside the form after the buttons
 * @param {(query: Record<string, string>) => void} [opts.onChange] told of each new filter set
 * @param {boolean} [opts.collapsible] put the form in a "Filters" disclosure, closed on narrow screens while no filter is set
 * @returns {{form: HTMLElement, results: HTMLElement, apply: (query: Record<string, string>) => void}}
 */
export function filteredList(opts) {
  const results = h('div', { class: 'results', 'aria-busy': 'false' });
  let latest = 0;
  /** @param {Record<string, string>} q */
  const show = (q) => {
    // Filters applied twice in a row: only the last answer is shown.
    const mine = ++latest;
    results.setAttribute('aria-busy', 'true');
    replace(results, loading());
    opts.results(q).then(
      (node) => { if (mine === latest) replace(results, node); },
      (e) => { if (mine === latest) replace(results, problemView(e)); },
    ).finally(() => { if (mine === latest) results.setAttribute('aria-busy', 'false'); });
  };
  const summary = h('summary');
  /** @param {Record<string, string>} q */
  const count = (q) => {
    const n = Object.keys(q).length;
    summary.textContent = n ? t('w.filters_n', { n }) : t('w.filters');
  };
  /** @param {Record<string, string>} q */
  const apply = (q) => {
    pushHash(hashWith(opts.path, q));
    count(q);
    if (opts.onChange) opts.onChange(q);
    show(q);
  };
  const form = filterForm(opts.fields(opts.query), apply, { extra: opts.extra });
  count(opts.query);
  if (opts.onChange) opts.onChange(opts.query);
  show(opts.query);
  if (!opts.collapsible) return { form, results, apply };
  const narrow = window.matchMedia('(max-width: 800px)').matches;
  const box = h('details', { class: 'filters-box', open: !narrow || Object.keys(opts.query).length > 0 }, summary, form);
  return { form: box, results, apply };
}

/**
 * A value as pretty-printed JSON in a `<pre>` (in a horizontally scrolling, focusable region).
 * @param {unknown} value
 * @param {string} label accessible name of the region
 * @returns {HTMLElement}
 */
export function jsonBlock(value, label) {
  const text = value === undefined ? '—' : JSON.stringify(value, null, 2);
  return h('div', { class: 'table-wrap code-block', tabindex: '0', role: 'region', 'aria-label': label },
    h('pre', { class: 'mono' }, h('code', null, text)));
}

/**
 * A captured body: pretty JSON when it parses, else the text as it is.
 * @param {string} text
 * @param {string} label
 * @returns {HTMLElement}
 */
export function bodyBlock(text, label) {
  try {
    return jsonBlock(JSON.parse(text), label);
  } catch {
    return h('div', { class: 'table-wrap code-block', tabindex: '0', role: 'region', 'aria-label': `${label} — ${t('w.body_raw')}` },
      h('pre', { class: 'mono' }, h('code', null, text)));
  }
}

/**
 * An id in monospace.
 * @param {string | undefined | null} id
 * @returns {HTMLElement | string}
 */
export function code(id) {
  return id ? h('code', null, id) : '—';
}

/**
 * A link to a tenant's page, named by the tenant's name when `names` knows it ('—' when absent).
 * @param {string | undefined | null} id
 * @param {Map<string, string>} [names] tenant id -> name (see `tenantNames`)
 * @returns {HTMLElement | string}
 */
export function tenantLink(id, names) {
  if (!id) return '—';
  const name = names?.get(id);
  return h('a', { href: `#/tenants/${encodeURIComponent(id)}`, title: name ? id : undefined }, name ?? h('code', null, id));
}

/**
 * Tenant names by id (platform roles; an empty map for a tenant_admin or when the list fails).
 * @param {Session} session
 * @returns {Promise<Map<string, string>>}
 */
export async function tenantNames(session) {
  if (!isPlatform(session)) return new Map();
  try {
    return new Map((await allTenants()).map((tn) => [tn.id, tn.name]));
  } catch {
    return new Map();
  }
}

/**
 * A link to a Mini Program's page ('—' when absent).
 * @param {string | undefined | null} appid
 * @returns {HTMLElement | string}
 */
export function appLink(appid) {
  return appid ? h('a', { href: `#/mini-programs/${encodeURIComponent(appid)}` }, h('code', null, appid)) : '—';
}

/**
 * An absolute time as `<time>` (for tables where relative times would shift while reading).
 * @param {string | undefined | null} iso
 * @returns {HTMLElement | string}
 */
export function absTime(iso) {
  return iso ? h('time', { datetime: iso }, fmtTime(iso)) : '—';
}

/**
 * The columns of a deliveries table after `first` (the event or the endpoint it went to).
 * @param {import('./ui.js').Column<Delivery>} first
 * @returns {import('./ui.js').Column<Delivery>[]}
 */
export function deliveryColumns(first) {
  return [
    first,
    { label: t('w.col_status'), render: (d) => badge(d.status) },
    { label: t('w.col_attempts'), className: 'num', render: (d) => fmtNumber(d.attempts) },
    { label: t('w.col_last_attempt'), render: (d) => absTime(d.last_attempt_at) },
    { label: t('w.col_http'), className: 'num', render: (d) => (d.last_status_code === undefined || d.last_status_code === null ? '—' : String(d.last_status_code)) },
    { label: t('w.col_next'), render: (d) => absTime(d.next_attempt_at) },
    { label: t('w.col_delivered'), render: (d) => absTime(d.delivered_at) },
    { label: t('w.col_created'), render: (d) => absTime(d.created_at) },
    { label: t('w.col_error'), render: (d) => d.last_error ?? '—' },
  ];
}

/**
 * A deliveries table.
 * @param {Delivery[]} items
 * @param {{caption: string, empty: string, first: import('./ui.js').Column<Delivery>}} opts
 * @returns {HTMLElement}
 */
export function deliveriesTable(items, opts) {
  return table(deliveryColumns(opts.first), items, { caption: opts.caption, empty: opts.empty });
}
