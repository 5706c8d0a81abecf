// DOM helpers. Data only ever reaches the page as text nodes or attribute values
// (never innerHTML), and nothing here sets a style="" attribute (CSP style-src 'self').

import { strings, fmtTime, fmtRelative } from './i18n.js';
import { ApiError } from './api.js';

const t = strings({
  en: {
    'ui.more': 'More',
    'ui.filters': 'Filters',
    'ui.loading': 'Loading…',
    'ui.empty': 'Nothing here yet.',
    'ui.cancel': 'Cancel',
    'ui.create': 'Create',
    'ui.confirm': 'Confirm',
    'ui.close': 'Close',
    'ui.copy': 'Copy',
    'ui.copy_named': 'Copy {what}',
    'ui.copied': 'Copied',
    'ui.copy_request_id': 'Copy request id',
    'ui.copy_failed': 'Could not copy: select the text and copy it yourself.',
    'ui.secret_once': 'Copy it now: it will not be shown again.',
    'ui.error': 'Error',
    'ui.request_id': 'Request id',
    'ui.status': 'HTTP status',
    'ui.field': 'Field',
    'ui.wechat_errcode': 'WeChat errcode',
    'ui.wechat_errmsg': 'WeChat errmsg',
    'ui.wechat_rid': 'WeChat rid',
    'ui.required_sets': 'Permission sets that would allow it',
    'ui.problem_type': 'Problem type',
    'ui.dismiss': 'Dismiss',
    'ui.network': 'The server could not be reached.',
    'ui.yes': 'yes',
    'ui.no': 'no',
    'status.active': 'active',
    'status.suspended': 'suspended',
    'status.revoked': 'revoked',
    'status.reauthorization_required': 'reauthorization required',
    'status.usable': 'usable',
    'status.expired': 'expired',
    'status.used': 'used',
    'status.pending': 'pending',
    'status.delivered': 'delivered',
    'status.dead': 'dead',
    'status.ok': 'ok',
    'status.invalid': 'invalid',
    'status.rate_limited': 'rate limited',
    'status.not_sent': 'not sent',
    'status.wechat_refused': 'WeChat refused',
    'status.wechat_failed': 'WeChat failed',
    'status.timeout': 'timeout',
    'status.enabled': 'enabled',
    'status.disabled': 'disabled',
    'status.valid': 'valid',
    'status.invalid_token': 'invalid',
    'status.ready': 'ready',
    'status.not_ready': 'not ready',
    'status.failing': 'failing',
    'status.stale': 'stale',
    'status.missing': 'missing',
    'status.queued': 'queued',
    'status.sending': 'sending',
    'status.uploaded': 'uploaded',
    'status.failed': 'failed',
  },
  zh: {
    'ui.more': '更多',
    'ui.filters': '筛选',
    'ui.loading': '加载中…',
    'ui.empty': '暂无内容。',
    'ui.cancel': '取消',
    'ui.create': '创建',
    'ui.confirm': '确认',
    'ui.close': '关闭',
    'ui.copy': '复制',
    'ui.copy_named': '复制{what}',
    'ui.copied': '已复制',
    'ui.copy_request_id': '复制请求 ID',
    'ui.copy_failed': '无法复制：请选中文字后手动复制。',
    'ui.secret_once': '请立即复制：之后不会再显示。',
    'ui.error': '错误',
    'ui.request_id': '请求 ID',
    'ui.status': 'HTTP 状态',
    'ui.field': '字段',
    'ui.wechat_errcode': '微信 errcode',
    'ui.wechat_errmsg': '微信 errmsg',
    'ui.wechat_rid': '微信 rid',
    'ui.required_sets': '可允许此调用的权限集',
    'ui.problem_type': '问题类型',
    'ui.dismiss': '关闭',
    'ui.network': '无法连接服务器。',
    'ui.yes': '是',
    'ui.no': '否',
    'status.active': '正常',
    'status.suspended': '已停用',
    'status.revoked': '已撤销',
    'status.reauthorization_required': '需重新授权',
    'status.usable': '可用',
    'status.expired': '已过期',
    'status.used': '已使用',
    'status.pending': '待投递',
    'status.delivered': '已投递',
    'status.dead': '已放弃',
    'status.ok': '成功',
    'status.invalid': '校验未通过',
    'status.rate_limited': '已限流',
    'status.not_sent': '未发送',
    'status.wechat_refused': '微信拒绝',
    'status.wechat_failed': '微信失败',
    'status.timeout': '超时',
    'status.enabled': '已启用',
    'status.disabled': '已停用',
    'status.valid': '有效',
    'status.invalid_token': '无效',
    'status.ready': '就绪',
    'status.not_ready': '未就绪',
    'status.failing': '失败中',
    'status.stale': '已陈旧',
    'status.missing': '缺失',
    'status.queued': '排队中',
    'status.sending': '发送中',
    'status.uploaded': '已录入',
    'status.failed': '失败',
  },
});

/**
 * A child for `h`: nodes as they are, strings and numbers as text, null/undefined/false skipped,
 * arrays flattened.
 * @typedef {Node | string | number | null | undefined | false | ChildList} Child
 */
/** @typedef {{readonly [index: number]: Child, readonly length: number}} ChildList an array of children */

/**
 * Attributes for `h`: `class`, `for`, `text`, any attribute (strings; `true` sets it empty,
 * false/null/undefined leaves it out), `dataset` (object), and `onclick`/`oninput`/… functions
 * (bound with addEventListener, never as attributes).
 * @typedef {Record<string, unknown>} Attrs
 */

/**
 * Appends children to a node.
 * @param {Node} parent
 * @param {Child[]} children
 */
function append(parent, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(parent, c);
    else if (c instanceof Node) parent.appendChild(c);
    else parent.appendChild(document.createTextNode(String(c)));
  }
}

/**
 * Creates an element: `h('button', {type: 'button', onclick: fn}, 'Save')`.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs | null} [attrs]
 * @param {...Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') {
        el.addEventListener(k.slice(2), /** @type {EventListener} */ (v));
      } else if (k === 'class') {
        el.className = String(v);
      } else if (k === 'for') {
        el.setAttribute('for', String(v));
      } else if (k === 'text') {
        el.textContent = String(v);
      } else if (k === 'dataset' && typeof v === 'object') {
        for (const [dk, dv] of Object.entries(/** @type {Record<string, unknown>} */ (v))) el.dataset[dk] = String(dv);
      } else if (k === 'value' && (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement)) {
        el.value = String(v);
      } else if (k === 'checked' && el instanceof HTMLInputElement) {
        el.checked = Boolean(v);
      } else if (k === 'style') {
        throw new Error('h(): no style attributes (CSP); use a class');
      } else {
        el.setAttribute(k, v === true ? '' : String(v));
      }
    }
  }
  append(el, children);
  return el;
}

/**
 * Removes a node's children and appends new ones.
 * @param {Element} el
 * @param {...Child} children
 * @returns {Element}
 */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let idCounter = 0;
/**
 * A page-unique element id with the given prefix.
 * @param {string} [prefix]
 * @returns {string}
 */
export function uid(prefix = 'f') {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/**
 * A table column: `label` is the header text; `render` gives a cell's content (default: `row[key]`).
 * @template R
 * @typedef {object} Column
 * @property {string} label
 * @property {string} [key]
 * @property {(row: R) => Child} [render]
 * @property {string} [className] class of the th and td (e.g. 'num' for numbers)
 */

/**
 * Options of `table` and `pagedTable`.
 * @template R
 * @typedef {object} TableOptions
 * @property {string} [caption]
 * @property {string} [empty] the text of the empty table's one row
 * @property {number} [rowHeader] index of the column whose cells are row headers
 * @property {(row: R) => string | undefined} [rowClass] a row's class
 */

/**
 * A data table (inside a horizontally scrolling wrapper) with `<th scope="col">` headers.
 * When `opts.rowHeader` is a column key/index, that column's cells are `<th scope="row">`.
 * The returned wrapper has `.tbody` for appending rows with `tableRow`.
 * `opts.rowClass` gives a row's class (e.g. to highlight rows needing attention; say it in a cell's
 * text too, colour is not enough).
 * @template R
 * @param {Column<R>[]} columns
 * @param {R[]} rows
 * @param {TableOptions<R>} [opts]
 * @returns {HTMLDivElement & {tbody: HTMLTableSectionElement}}
 */
export function table(columns, rows, opts = {}) {
  const tbody = h('tbody');
  const tbl = h('table', null,
    opts.caption ? h('caption', null, opts.caption) : null,
    h('thead', null, h('tr', null, columns.map((c) => h('th', { scope: 'col', class: c.className }, c.label)))),
    tbody);
  for (const r of rows) tbody.appendChild(tableRow(columns, r, opts.rowHeader, opts.rowClass));
  if (rows.length === 0) {
    tbody.appendChild(h('tr', { class: 'empty-row' }, h('td', { colspan: String(columns.length) }, opts.empty ?? t('ui.empty'))));
  }
  const wrap = /** @type {HTMLDivElement & {tbody: HTMLTableSectionElement}} */ (h('div', { class: 'table-wrap', tabindex: '0', role: 'group', 'aria-label': opts.caption ?? columns.map((c) => c.label).join(', ') }, tbl));
  wrap.tbody = tbody;
  return wrap;
}

/**
 * One `<tr>` for `table`'s columns.
 * @template R
 * @param {Column<R>[]} columns
 * @param {R} row
 * @param {number} [rowHeader] index of the column whose cell is a row header
 * @param {(row: R) => string | undefined} [rowClass] the row's class
 * @returns {HTMLTableRowElement}
 */
export function tableRow(columns, row, rowHeader, rowClass) {
  return h('tr', { class: (rowClass && rowClass(row)) || undefined }, columns.map((c, i) => {
    const content = c.render ? c.render(row) : c.key ? /** @type {Child} */ (/** @type {Record<string, unknown>} */ (row)[c.key] ?? '—') : '';
    return i === rowHeader ? h('th', { scope: 'row', class: c.className }, content) : h('td', { class: c.className }, content);
  }));
}

/**
 * A table over a cursor-paged list: loads the first page, then a "More" button appends the next
 * pages. `fetchPage(cursor)` returns `{items, next_cursor?}`.
 * @template R
 * @param {Column<R>[]} columns
 * @param {(cursor: string | undefined) => Promise<{items: R[], next_cursor?: string}>} fetchPage
 * @param {TableOptions<R>} [opts]
 * @returns {Promise<HTMLElement>}
 */
export async function pagedTable(columns, fetchPage, opts = {}) {
  const first = await fetchPage(undefined);
  const tbl = table(columns, first.items, opts);
  const box = h('div', { class: 'paged' }, tbl);
  /** @param {{items: R[], next_cursor?: string}} page */
  const addPager = (page) => {
    box.appendChild(pager(page, async (cursor) => {
      const next = await fetchPage(cursor);
      for (const r of next.items) tbl.tbody.appendChild(tableRow(columns, r, opts.rowHeader, opts.rowClass));
      addPager(next);
    }));
  };
  addPager(first);
  return box;
}

/**
 * The "More" control of a cursor-paged list: a button when `page.next_cursor` is set (it calls
 * `onNext(cursor)`, shows progress, then removes itself; a failure is shown beside it), else an
 * empty element.
 * @param {{next_cursor?: string | null}} page
 * @param {(cursor: string) => Promise<void> | void} onNext
 * @returns {HTMLElement}
 */
export function pager(page, onNext) {
  const box = h('div', { class: 'pager' });
  const cursor = page.next_cursor;
  if (!cursor) return box;
  const btn = h('button', { type: 'button', class: 'secondary' }, t('ui.more'));
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    btn.setAttribute('aria-busy', 'true');
    btn.textContent = t('ui.loading');
    try {
      await onNext(cursor);
      box.remove();
    } catch (e) {
      btn.disabled = false;
      btn.removeAttribute('aria-busy');
      btn.textContent = t('ui.more');
      box.appendChild(problemView(e));
    }
  });
  box.appendChild(btn);
  return box;
}

/**
 * Asks for confirmation in a modal `<dialog>`; resolves true when confirmed, false on cancel/Escape.
 * `body` says what will happen (text, nodes, or a list of sentences shown as bullets).
 * @param {{title: string, body: Child | string[], confirmLabel?: string, danger?: boolean, extra?: Node}} opts
 *   `extra`: e.g. a form field whose value the caller reads after confirmation
 * @returns {Promise<boolean>}
 */
export function confirmDialog({ title, body, confirmLabel, danger, extra }) {
  return new Promise((resolve) => {
    const titleId = uid('dlg-title');
    const bodyId = uid('dlg-body');
    const bodyNode = Array.isArray(body) && body.every((x) => typeof x === 'string')
      ? h('ul', null, body.map((s) => h('li', null, s)))
      : h('div', null, /** @type {Child} */ (body));
    const cancel = h('button', { type: 'button', class: 'secondary', value: 'cancel' }, t('ui.cancel'));
    const ok = h('button', { type: 'submit', class: danger ? 'danger' : 'primary', value: 'ok' }, confirmLabel ?? t('ui.confirm'));
    const form = h('form', { method: 'dialog' },
      h('h2', { id: titleId }, title),
      h('div', { id: bodyId, class: 'dialog-body' }, bodyNode),
      extra ?? null,
      h('div', { class: 'actions' }, cancel, ok));
    const dlg = h('dialog', { 'aria-labelledby': titleId, 'aria-describedby': bodyId, class: danger ? 'danger-dialog' : '' }, form);
    let answer = false;
    cancel.addEventListener('click', () => dlg.close());
    form.addEventListener('submit', (ev) => {
      const submitter = /** @type {SubmitEvent} */ (ev).submitter;
      answer = submitter === ok;
    });
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    dlg.addEventListener('close', () => {
      dlg.remove();
      if (opener && opener.isConnected) opener.focus();
      resolve(answer);
    });
    document.body.appendChild(dlg);
    dlg.showModal();
    cancel.focus();
  });
}

/**
 * Copies text to the clipboard (with a fallback for insecure contexts).
 * @param {string} text
 * @returns {Promise<boolean>}
 */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const ta = h('textarea', { class: 'offscreen', readonly: true, 'aria-hidden': 'true' });
    ta.value = text;
    document.body.appendChild(ta);
    ta.select();
    let ok = false;
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
    ta.remove();
    return ok;
  }
}

/**
 * A "Copy" button for `text`; `what` names the thing for screen readers and its label
 * ("Copy key").
 * @param {string} text
 * @param {string} [what]
 * @param {string} [buttonLabel] the whole label instead of "Copy {what}"
 * @returns {HTMLButtonElement}
 */
export function copyButton(text, what, buttonLabel) {
  const label = buttonLabel ?? (what ? t('ui.copy_named', { what }) : t('ui.copy'));
  const btn = h('button', { type: 'button', class: 'secondary copy' }, label);
  btn.addEventListener('click', async () => {
    const ok = await copyText(text);
    if (ok) {
      btn.textContent = t('ui.copied');
      toast(t('ui.copied'), 'ok');
      setTimeout(() => { btn.textContent = label; }, 2000);
    } else {
      toast(t('ui.copy_failed'), 'error');
    }
  });
  return btn;
}

/**
 * A value shown only once (a new API key, a webhook secret): the value in a read-only field,
 * a copy button, and a warning that it will not be shown again.
 * @param {string} label
 * @param {string} value
 * @returns {HTMLElement}
 */
export function secretOnce(label, value) {
  const id = uid('secret');
  const input = h('input', { id, type: 'text', readonly: true, class: 'mono secret-value', value, spellcheck: 'false', autocomplete: 'off' });
  input.addEventListener('focus', () => input.select());
  return h('div', { class: 'secret-once', role: 'status' },
    h('label', { for: id }, label),
    h('div', { class: 'copy-row' }, input, copyButton(value)),
    h('p', { class: 'warning' }, t('ui.secret_once')));
}

/** @type {HTMLElement | null} */
let toastRegion = null;

/**
 * A short message in a live region at the bottom of the screen.
 * @param {string} msg
 * @param {'ok' | 'error' | 'info'} [kind]
 */
export function toast(msg, kind = 'info') {
  if (!toastRegion || !toastRegion.isConnected) {
    toastRegion = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.appendChild(toastRegion);
  }
  const item = h('div', { class: `toast toast-${kind}` }, msg);
  toastRegion.appendChild(item);
  setTimeout(() => item.remove(), kind === 'error' ? 8000 : 4000);
}

/**
 * An error, readably: for an ApiError its problem's title, detail, status, field, WeChat errcode
 * and errmsg, and request_id (to quote to the operator); for anything else its message.
 * @param {unknown} err
 * @returns {HTMLElement}
 */
export function problemView(err) {
  if (err instanceof ApiError) {
    const p = err.problem;
    /** @type {[string, Child][]} */
    const rows = [];
    if (err.status) rows.push([t('ui.status'), String(err.status)]);
    if (p.field) rows.push([t('ui.field'), h('code', null, p.field)]);
    if (p.wechat_errcode !== undefined && p.wechat_errcode !== null) rows.push([t('ui.wechat_errcode'), h('code', null, String(p.wechat_errcode))]);
    if (p.wechat_errmsg) rows.push([t('ui.wechat_errmsg'), p.wechat_errmsg]);
    if (p.wechat_rid) rows.push([t('ui.wechat_rid'), h('code', null, p.wechat_rid)]);
    if (p.required_permission_sets && p.required_permission_sets.length) rows.push([t('ui.required_sets'), p.required_permission_sets.join(', ')]);
    if (p.request_id) rows.push([t('ui.request_id'), h('span', { class: 'copy-row' }, h('code', null, p.request_id), copyButton(p.request_id, t('ui.request_id'), t('ui.copy_request_id')))]);
    return h('div', { class: 'problem', role: 'alert' },
      h('p', { class: 'problem-title' }, h('strong', null, err.status === 0 ? t('ui.network') : p.title)),
      p.detail ? h('p', null, p.detail) : null,
      dl(rows));
  }
  const msg = err instanceof Error ? err.message : String(err);
  return h('div', { class: 'problem', role: 'alert' }, h('p', { class: 'problem-title' }, h('strong', null, t('ui.error'))), h('p', null, msg));
}

/**
 * A status as a coloured badge with a translated label (`status.<value>` key; unknown values
 * are shown as they are).
 * @param {string} status
 * @param {string} [label] overrides the label
 * @returns {HTMLSpanElement}
 */
export function badge(status, label) {
  const key = `status.${status}`;
  const text = label ?? t(key);
  return h('span', { class: `badge badge-${status.replace(/[^a-z0-9_-]/gi, '')}` }, text === key ? status : text);
}

/**
 * A labelled form control: `<label for>` tied to the input (an id is made if it has none) and an
 * optional help text tied with aria-describedby. For a group of checkboxes pass a fieldset as
 * `input` (it is returned with the legend `label`).
 * @param {string} label
 * @param {HTMLElement} input
 * @param {string} [help]
 * @returns {HTMLElement}
 */
export function formField(label, input, help) {
  const helpId = help ? uid('help') : undefined;
  if (helpId) input.setAttribute('aria-describedby', helpId);
  if (input instanceof HTMLFieldSetElement) {
    input.prepend(h('legend', null, label));
    if (help) input.appendChild(h('p', { id: helpId, class: 'help' }, help));
    input.classList.add('field');
    return input;
  }
  if (!input.id) input.id = uid('field');
  const isCheck = input instanceof HTMLInputElement && (input.type === 'checkbox' || input.type === 'radio');
  const lbl = h('label', { for: input.id }, label);
  return h('div', { class: isCheck ? 'field field-check' : 'field' },
    isCheck ? [input, lbl] : [lbl, input],
    help ? h('p', { id: helpId, class: 'help' }, help) : null);
}

/**
 * A description list from [term, value] pairs (pairs with a null value are left out).
 * @param {[string, Child][]} pairs
 * @returns {HTMLDListElement}
 */
export function dl(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => h('div', null, h('dt', null, k), h('dd', null, v))));
}

/**
 * An in-app link (`href` is a hash route such as '#/tenants/t1').
 * @param {string} href
 * @param {Child} text
 * @param {Attrs} [attrs]
 * @returns {HTMLAnchorElement}
 */
export function link(href, text, attrs) {
  return h('a', { ...attrs, href }, text);
}

/**
 * A time as `<time>` showing relative time, with the absolute time as its title.
 * @param {string | undefined | null} iso
 * @returns {HTMLElement | string}
 */
export function timeEl(iso) {
  if (!iso) return '—';
  return h('time', { datetime: iso, title: fmtTime(iso) }, fmtRelative(iso));
}

/**
 * "Loading…" placeholder.
 * @returns {HTMLElement}
 */
export function loading() {
  return h('p', { class: 'loading', role: 'status' }, t('ui.loading'));
}

/**
 * A section with a heading (h2 by default).
 * @param {string} title
 * @param {Child[]} children
 * @param {{level?: 2 | 3, id?: string, actions?: Child}} [opts]
 * @returns {HTMLElement}
 */
export function section(title, children, opts = {}) {
  const hid = opts.id ?? uid('sec');
  const heading = opts.level === 3 ? h('h3', { id: hid }, title) : h('h2', { id: hid }, title);
  return h('section', { class: 'card', 'aria-labelledby': hid },
    h('div', { class: 'section-head' }, heading, opts.actions ? h('div', { class: 'actions' }, opts.actions) : null),
    children);
}

/**
 * A page heading (the page's `<h1>`, focused by the router after navigation) with optional actions.
 * `kicker` is a small line inside the h1 above the title naming the kind of page ("Tenant"), for
 * detail pages whose title is data (a name).
 * @param {string} title
 * @param {Child} [actions]
 * @param {Child} [subtitle]
 * @param {string} [kicker]
 * @returns {HTMLElement}
 */
export function pageHeader(title, actions, subtitle, kicker) {
  return h('div', { class: 'page-head' },
    h('div', null,
      h('h1', { tabindex: '-1' }, kicker ? [h('span', { class: 'kicker' }, kicker), ' '] : null, title),
      subtitle ? h('p', { class: 'subtitle' }, subtitle) : null),
    actions ? h('div', { class: 'actions' }, actions) : null);
}

/**
 * Sets the browser tab's title: "<text> · tpgate".
 * @param {string} text
 */
export function setTitle(text) {
  document.title = `${text} · tpgate`;
}

/**
 * Replaces `el`'s content with whatever `load()` renders, showing "Loading…" meanwhile and a
 * problem view if it fails. Returns `el` at once (use for a part of a page loaded separately).
 * @param {HTMLElement} el
 * @param {() => Promise<Child>} load
 * @returns {HTMLElement}
 */
export function loadInto(el, load) {
  replace(el, loading());
  load().then((c) => replace(el, c), (e) => replace(el, problemView(e)));
  return el;
}

/**
 * An `<img>` of SVG text (e.g. a QR code) as a data: URL (CSP img-src allows data:).
 * @param {string} svg
 * @param {string} alt
 * @returns {HTMLImageElement}
 */
export function svgImage(svg, alt) {
  const bytes = new TextEncoder().encode(svg);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return h('img', { src: `data:image/svg+xml;base64,${btoa(bin)}`, alt, class: 'qr' });
}

/**
 * "yes"/"no" in the current language.
 * @param {boolean | undefined | null} v
 * @returns {string}
 */
export function yesNo(v) {
  if (v === undefined || v === null) return '—';
  return v ? t('ui.yes') : t('ui.no');
}

/**
 * Runs an action from a button: disables it while running, shows a toast on success and the
 * problem (in a toast and in `errorBox` when given) on failure. Resolves to the result or undefined.
 * @template T
 * @param {HTMLButtonElement | null} btn
 * @param {() => Promise<T>} fn
 * @param {{ok?: string, errorBox?: HTMLElement}} [opts]
 * @returns {Promise<T | undefined>}
 */
export async function runAction(btn, fn, opts = {}) {
  if (btn) { btn.disabled = true; btn.setAttribute('aria-busy', 'true'); }
  if (opts.errorBox) opts.errorBox.replaceChildren();
  try {
    const r = await fn();
    if (opts.ok) toast(opts.ok, 'ok');
    return r;
  } catch (e) {
    if (opts.errorBox) opts.errorBox.replaceChildren(problemView(e));
    toast(e instanceof ApiError ? `${e.problem.title}${e.requestId ? ` (${t('ui.request_id')} ${e.requestId})` : ''}` : String(e), 'error');
    return undefined;
  } finally {
    if (btn) { btn.disabled = false; btn.removeAttribute('aria-busy'); }
  }
}

/**
 * A form in a modal `<dialog>`: `fields` (e.g. formField(...) nodes) and a submit button named
 * `submitLabel` (default "Create"). On submit `onSubmit(form)` runs; if it throws, the problem is
 * shown inside the dialog and it stays open; if it succeeds the dialog closes and the promise
 * resolves to its result. Cancel/Escape resolves undefined.
 * @template T
 * @param {{title: string, fields: Child, submitLabel?: string, danger?: boolean, intro?: Child, onSubmit: (form: HTMLFormElement) => Promise<T>}} opts
 * @returns {Promise<T | undefined>}
 */
export function formDialog({ title, fields, submitLabel, danger, intro, onSubmit }) {
  return new Promise((resolve) => {
    const titleId = uid('dlg-title');
    const errorBox = h('div', { class: 'dialog-error' });
    const cancel = h('button', { type: 'button', class: 'secondary' }, t('ui.cancel'));
    const submit = h('button', { type: 'submit', class: danger ? 'danger' : 'primary' }, submitLabel ?? t('ui.create'));
    const form = h('form', { novalidate: true },
      h('h2', { id: titleId }, title),
      intro ? h('div', { class: 'dialog-intro' }, intro) : null,
      fields,
      errorBox,
      h('div', { class: 'actions' }, cancel, submit));
    const dlg = h('dialog', { 'aria-labelledby': titleId }, form);
    /** @type {{value: T} | null} */
    let result = null;
    cancel.addEventListener('click', () => dlg.close());
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      errorBox.replaceChildren();
      if (!form.reportValidity()) return;
      submit.disabled = true;
      submit.setAttribute('aria-busy', 'true');
      try {
        result = { value: await onSubmit(form) };
        dlg.close();
      } catch (e) {
        errorBox.replaceChildren(problemView(e));
      } finally {
        submit.disabled = false;
        submit.removeAttribute('aria-busy');
      }
    });
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    dlg.addEventListener('close', () => {
      dlg.remove();
      if (opener && opener.isConnected) opener.focus();
      resolve(result ? result.value : undefined);
    });
    document.body.appendChild(dlg);
    dlg.showModal();
    const first = form.querySelector('input, select, textarea');
    if (first instanceof HTMLElement) first.focus();
  });
}

/**
 * Closes every open `<dialog>` (the router does this on navigation).
 */
export function closeDialogs() {
  for (const d of document.querySelectorAll('dialog[open]')) if (d instanceof HTMLDialogElement) d.close();
}

/**
 * A filter form in a disclosure (`<details>`): open on wide screens and whenever a filter is set,
 * closed on a phone otherwise so the list comes first.
 * @param {HTMLFormElement} form
 * @param {boolean} active whether any filter is set
 * @returns {HTMLDetailsElement}
 */
export function filterPanel(form, active) {
  const open = active || !window.matchMedia('(max-width: 800px)').matches;
  return h('details', { class: 'filter-panel', open }, h('summary', null, t('ui.filters')), form);
}
