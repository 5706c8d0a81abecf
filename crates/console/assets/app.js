// Boot: language, session, header and navigation, hash router, sign-out.
//
// Pages are modules under pages/ whose default export is a `Page`:
//   export default { id, path: RegExp | '/prefix', title: 'i18n.key', render(ctx) }
// `render` returns an Element (or a promise of one). The router matches routes in
// the order of `pages` below (detail pages before their lists), passes the RegExp's
// capture groups (or, for a prefix, the remaining path segments) as `ctx.params`,
// decoded, and the part after `?` in the hash as `ctx.query`.

import { getSession, signOut, onUnauthorized, ApiError } from './api.js';
import { strings, translate, getLang, setLang, onLangChange, langTag } from './i18n.js';
import { closeDialogs, h, loading, pageHeader, problemView, setTitle, toast, uid } from './ui.js';

import signInPage from './pages/sign-in.js';
import overviewPage from './pages/overview.js';
import tenantPage from './pages/tenant.js';
import tenantsPage from './pages/tenants.js';
import miniProgramPage from './pages/mini-program.js';
import miniProgramsPage from './pages/mini-programs.js';
import shippingPage from './pages/shipping.js';
import eventPage from './pages/event.js';
import eventsPage from './pages/events.js';
import webhookPage from './pages/webhook.js';
import webhooksPage from './pages/webhooks.js';
import limitsPage from './pages/limits.js';
import callPage from './pages/call.js';
import callsPage from './pages/calls.js';
import auditPage from './pages/audit.js';

/** @typedef {import('./api.js').Session} Session */

/**
 * What a page's render gets.
 * @typedef {object} PageContext
 * @property {Session} session the signed-in session (on the sign-in page: a signed-out placeholder with subject '')
 * @property {string[]} params the route's captures (decoded), e.g. ['t1'] for #/tenants/t1
 * @property {Record<string, string>} query the hash's query, e.g. {tenant_id: 't1'} for #/webhooks?tenant_id=t1
 * @property {(hash: string) => void} navigate go to a route, e.g. navigate('#/tenants/t1') (re-renders when it is the current one)
 * @property {() => void} refresh render the current route again
 * @property {(session: Session | null) => void} setSession after signing in or out
 * @property {string} [notice] why the user was sent to sign-in (session ended), for the sign-in page
 */

/**
 * A page module's default export.
 * @typedef {object} Page
 * @property {string} id
 * @property {RegExp | string} path RegExp over the path after '#' (e.g. /^\/tenants\/([^/]+)$/), or a prefix ('/audit')
 * @property {string | (() => string)} title an i18n key (looked up in every registered table) or a function
 * @property {(ctx: PageContext) => Element | Promise<Element>} render
 * @property {boolean} [public] reachable without a session (the sign-in page)
 * @property {boolean} [platformOnly] not for tenant_admin (it is sent to its overview)
 */

const t = strings({
  en: {
    'app.name': 'tpgate console',
    'app.skip': 'Skip to content',
    'app.menu': 'Menu',
    'app.nav': 'Main',
    'app.language': 'Language',
    'app.sign_out': 'Sign out',
    'app.signed_out': 'Signed out.',
    'app.signed_in_as': 'Signed in as {subject}',
    'app.read_only': 'read-only',
    'app.session_ended': 'Your session ended (expired, signed out elsewhere, or its credential was revoked). Sign in again.',
    'app.not_found': 'Page not found',
    'app.not_found_body': 'There is no page at this address.',
    'app.go_overview': 'Go to the overview',
    'app.not_for_tenant': 'This page is for platform operators.',
    'role.platform_admin': 'platform admin',
    'role.platform_viewer': 'platform viewer',
    'role.tenant_admin': 'tenant admin',
    'nav.sign_in': 'Sign in',
    'nav.overview': 'Overview',
    'nav.tenants': 'Tenants',
    'nav.my_tenant': 'My tenant',
    'nav.tenant': 'Tenant',
    'nav.mini_programs': 'Mini Programs',
    'nav.mini_program': 'Mini Program',
    'nav.shipping': 'Shipping',
    'nav.events': 'Events',
    'nav.event': 'Event',
    'nav.webhooks': 'Webhooks',
    'nav.webhook': 'Webhook',
    'nav.limits': 'Limits and usage',
    'nav.calls': 'Calls',
    'nav.call': 'Call',
    'nav.audit': 'Audit log',
  },
  zh: {
    'app.name': 'tpgate 控制台',
    'app.skip': '跳到正文',
    'app.menu': '菜单',
    'app.nav': '主导航',
    'app.language': '语言',
    'app.sign_out': '退出登录',
    'app.signed_out': '已退出登录。',
    'app.signed_in_as': '当前用户：{subject}',
    'app.read_only': '只读',
    'app.session_ended': '会话已结束（已过期、在别处退出，或其凭据已被撤销）。请重新登录。',
    'app.not_found': '页面不存在',
    'app.not_found_body': '此地址没有页面。',
    'app.go_overview': '前往概览',
    'app.not_for_tenant': '此页面仅供平台运营人员使用。',
    'role.platform_admin': '平台管理员',
    'role.platform_viewer': '平台只读用户',
    'role.tenant_admin': '租户管理员',
    'nav.sign_in': '登录',
    'nav.overview': '概览',
    'nav.tenants': '租户',
    'nav.my_tenant': '我的租户',
    'nav.tenant': '租户',
    'nav.mini_programs': '小程序',
    'nav.mini_program': '小程序',
    'nav.shipping': '发货',
    'nav.events': '事件',
    'nav.event': '事件',
    'nav.webhooks': 'Webhook',
    'nav.webhook': 'Webhook',
    'nav.limits': '限额与用量',
    'nav.calls': '调用记录',
    'nav.call': '调用',
    'nav.audit': '审计日志',
  },
});

/** @type {Page[]} */
const pages = [
  signInPage, overviewPage,
  tenantPage, tenantsPage,
  miniProgramPage, miniProgramsPage,
  shippingPage,
  eventPage, eventsPage,
  webhookPage, webhooksPage,
  limitsPage,
  callPage, callsPage,
  auditPage,
];

/** @type {Session | null} */
let session = null;
/** @type {string | undefined} */
let notice;
let renderToken = 0;
let lastPath = '';

/** @type {Session} */
const SIGNED_OUT = { role: 'platform_viewer', subject: '', can_write: false, expires_at: '', idle_timeout_secs: 0, via: 'link' };

const mainEl = h('main', { id: 'main', tabindex: '-1' });
const navList = h('ul', { class: 'nav-list' });
const navId = uid('nav');
const menuButton = h('button', { type: 'button', class: 'menu-button secondary', 'aria-expanded': 'false', 'aria-controls': navId });
const nav = h('nav', { id: navId, class: 'nav' }, navList);
const who = h('div', { class: 'who' });
const langSelect = h('select', { id: 'lang-select', class: 'lang-select' },
  h('option', { value: 'en', lang: 'en' }, 'English'),
  h('option', { value: 'zh', lang: 'zh-CN' }, '简体中文'));
const langLabel = h('label', { for: 'lang-select', class: 'lang-label' });
const signOutButton = h('button', { type: 'button', class: 'secondary sign-out' });
const brand = h('a', { href: '#/overview', class: 'brand' });
const skip = h('a', { href: '#main', class: 'skip-link' });

/**
 * Splits the location hash into path and query.
 * @returns {{path: string, query: Record<string, string>}}
 */
function parseHash() {
  const raw = location.hash.replace(/^#/, '');
  const q = raw.indexOf('?');
  const path = (q >= 0 ? raw.slice(0, q) : raw) || '/';
  /** @type {Record<string, string>} */
  const query = {};
  if (q >= 0) for (const [k, v] of new URLSearchParams(raw.slice(q + 1))) query[k] = v;
  return { path, query };
}

/**
 * Finds the page for a path.
 * @param {string} path
 * @returns {{page: Page, params: string[]} | null}
 */
function match(path) {
  for (const page of pages) {
    if (page.path instanceof RegExp) {
      const m = page.path.exec(path);
      if (m) return { page, params: m.slice(1).map((s) => (s === undefined ? '' : safeDecode(s))) };
    } else if (path === page.path || path.startsWith(`${page.path}/`)) {
      return { page, params: path.slice(page.path.length).split('/').filter(Boolean).map(safeDecode) };
    }
  }
  return null;
}

/**
 * @param {string} s
 * @returns {string}
 */
function safeDecode(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * @param {Page} page
 * @returns {string}
 */
function titleOf(page) {
  return typeof page.title === 'function' ? page.title() : translate(page.title);
}

/** @param {string} hash */
function navigate(hash) {
  if (location.hash === hash) void route();
  else location.hash = hash;
}

/** @param {Session | null} s */
function setSession(s) {
  session = s;
  if (s) notice = undefined;
  renderChrome();
}

/** The header and navigation for the current session and language. */
function renderChrome() {
  document.documentElement.lang = langTag();
  skip.textContent = t('app.skip');
  brand.textContent = t('app.name');
  menuButton.textContent = t('app.menu');
  nav.setAttribute('aria-label', t('app.nav'));
  langLabel.textContent = t('app.language');
  langSelect.value = getLang();
  signOutButton.textContent = t('app.sign_out');
  signOutButton.hidden = !session;
  menuButton.hidden = !session;
  nav.hidden = !session;
  who.replaceChildren();
  navList.replaceChildren();
  if (!session) return;
  who.append(
    h('span', { class: 'who-subject' }, t('app.signed_in_as', { subject: session.subject })),
    ' ',
    h('span', { class: 'badge badge-role' }, t(`role.${session.role}`)),
    session.can_write ? '' : h('span', { class: 'badge badge-readonly' }, t('app.read_only')));
  /** @type {[string, string][]} */
  const items = [['#/overview', t('nav.overview')]];
  if (session.role === 'tenant_admin' && session.tenant_id) {
    items.push([`#/tenants/${encodeURIComponent(session.tenant_id)}`, t('nav.my_tenant')]);
  } else {
    items.push(['#/tenants', t('nav.tenants')]);
  }
  items.push(['#/mini-programs', t('nav.mini_programs')], ['#/shipping', t('nav.shipping')], ['#/events', t('nav.events')],
    ['#/webhooks', t('nav.webhooks')], ['#/limits', t('nav.limits')], ['#/calls', t('nav.calls')], ['#/audit', t('nav.audit')]);
  for (const [href, label] of items) navList.appendChild(h('li', null, h('a', { href }, label)));
  markCurrent();
}

/** Marks the nav link of the current section with aria-current="page". */
function markCurrent() {
  const { path } = parseHash();
  for (const a of navList.querySelectorAll('a')) {
    const target = (a.getAttribute('href') ?? '').slice(1);
    const current = path === target || (target !== '/overview' && path.startsWith(`${target}/`));
    if (current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

/** Renders the page the hash names. */
async function route() {
  const token = ++renderToken;
  const { path, query } = parseHash();
  if (path === '/') {
    history.replaceState(null, '', session ? '#/overview' : '#/sign-in');
    return route();
  }
  closeDialogs();
  const found = match(path);
  const pathChanged = path !== lastPath;
  lastPath = path;
  nav.classList.remove('open');
  menuButton.setAttribute('aria-expanded', 'false');
  markCurrent();

  if (!found) {
    setTitle(t('app.not_found'));
    mainEl.replaceChildren(pageHeader(t('app.not_found')), h('p', null, t('app.not_found_body')), h('p', null, h('a', { href: '#/overview' }, t('app.go_overview'))));
    focusHeading();
    return;
  }
  const { page, params } = found;
  if (!page.public && !session) {
    try {
      sessionStorage.setItem('tpgate.after', location.hash);
    } catch {
      // not remembered
    }
    navigate('#/sign-in');
    return;
  }
  if (page.platformOnly && session && session.role === 'tenant_admin') {
    navigate('#/overview');
    return;
  }
  if (page.id === 'tenants' && session && session.role === 'tenant_admin' && session.tenant_id) {
    history.replaceState(null, '', `#/tenants/${encodeURIComponent(session.tenant_id)}`);
    return route();
  }
  setTitle(titleOf(page));
  if (pathChanged) mainEl.replaceChildren(loading());
  /** @type {PageContext} */
  const ctx = {
    session: session ?? SIGNED_OUT, params, query, navigate, refresh: () => void route(), setSession, notice,
  };
  /** @type {Element} */
  let el;
  try {
    el = await page.render(ctx);
  } catch (e) {
    if (token !== renderToken) return;
    if (e instanceof ApiError && e.status === 401 && !page.public) return; // onUnauthorized took over
    el = h('div', null, pageHeader(titleOf(page)), problemView(e));
  }
  if (token !== renderToken) return;
  mainEl.replaceChildren(el);
  if (pathChanged) focusHeading();
}

/** Moves focus to the page's h1 (or main) after navigation, for keyboard and screen-reader users. */
function focusHeading() {
  const h1 = mainEl.querySelector('h1');
  if (h1 instanceof HTMLElement) {
    if (!h1.hasAttribute('tabindex')) h1.setAttribute('tabindex', '-1');
    h1.focus({ preventScroll: false });
  } else {
    mainEl.focus();
  }
}

function boot() {
  const header = h('header', { class: 'top' },
    skip,
    h('div', { class: 'top-row' }, brand, menuButton,
      h('div', { class: 'top-tools' }, who, h('div', { class: 'lang' }, langLabel, langSelect), signOutButton)));
  const layout = h('div', { class: 'layout' }, nav, mainEl);
  document.body.replaceChildren(header, layout);

  skip.addEventListener('click', (ev) => {
    ev.preventDefault();
    mainEl.focus();
  });
  menuButton.addEventListener('click', () => {
    const open = !nav.classList.contains('open');
    nav.classList.toggle('open', open);
    menuButton.setAttribute('aria-expanded', String(open));
  });
  langSelect.addEventListener('change', () => {
    const v = langSelect.value;
    setLang(v === 'zh' ? 'zh' : 'en');
  });
  onLangChange(() => {
    renderChrome();
    lastPath = '';
    void route().then(() => langSelect.focus());
  });
  signOutButton.addEventListener('click', async () => {
    signOutButton.disabled = true;
    try {
      await signOut();
    } catch {
      // the cookie may already be gone; sign out locally anyway
    } finally {
      signOutButton.disabled = false;
    }
    setSession(null);
    toast(t('app.signed_out'), 'info');
    navigate('#/sign-in');
  });
  onUnauthorized(() => {
    if (!session) return;
    setSession(null);
    notice = t('app.session_ended');
    navigate('#/sign-in');
  });
  window.addEventListener('hashchange', () => {
    if (!location.hash.startsWith('#/') && location.hash !== '') return; // e.g. #main
    void route();
  });

  renderChrome();
  const { path } = parseHash();
  const loadSession = path.startsWith('/sign-in/') ? Promise.resolve(null) : getSession();
  loadSession.then((s) => {
    setSession(s);
    void route();
  }, (e) => {
    setTitle(t('app.name'));
    mainEl.replaceChildren(pageHeader(t('app.name')), problemView(e));
  });
}

boot();
