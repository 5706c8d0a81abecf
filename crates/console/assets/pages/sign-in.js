// Sign-in: a one-time link (#/sign-in/<code>, posted at once and removed from the
// address bar), or a pasted admin JWT / tenant API key (tpk_…) with an admin scope.

import { signIn, ApiError } from '../api.js';
import { strings } from '../i18n.js';
import { h, formField, pageHeader, problemView, loading } from '../ui.js';

const t = strings({
  en: {
    'signin.title': 'Sign in',
    'signin.intro': 'Sign in to the operator console of this WeChat third-party platform.',
    'signin.link_checking': 'Checking your sign-in link…',
    'signin.link_failed': 'This sign-in link did not work. One-time links work once and expire quickly: ask for a new one (tpgate console-login) or paste a token below.',
    'signin.token': 'Admin JWT or API key',
    'signin.token_help': 'An admin JWT, or a tenant API key (tpk_…) with the admin_read or admin_write scope. It is exchanged for a session cookie and not kept in the browser.',
    'signin.submit': 'Sign in',
    'signin.empty': 'Paste a token or an API key first.',
    'signin.link_hint': 'Operators can also run “tpgate console-login” to get a one-time sign-in link.',
  },
  zh: {
    'signin.title': '登录',
    'signin.intro': '登录本微信第三方平台的运营控制台。',
    'signin.link_checking': '正在验证登录链接…',
    'signin.link_failed': '此登录链接无效。一次性链接只能使用一次且很快过期：请重新获取（tpgate console-login），或在下方粘贴令牌。',
    'signin.token': '管理 JWT 或 API 密钥',
    'signin.token_help': '管理 JWT，或带 admin_read / admin_write 权限的租户 API 密钥（tpk_…）。它会换成会话 Cookie，不会保存在浏览器中。',
    'signin.submit': '登录',
    'signin.empty': '请先粘贴令牌或 API 密钥。',
    'signin.link_hint': '运营人员也可以运行 “tpgate console-login” 获取一次性登录链接。',
  },
});

/** Where to go after signing in: the page that sent us here, else the overview. */
function afterSignIn() {
  let to = '#/overview';
  try {
    const saved = sessionStorage.getItem('tpgate.after');
    sessionStorage.removeItem('tpgate.after');
    if (saved && saved.startsWith('#/') && !saved.startsWith('#/sign-in')) to = saved;
  } catch {
    // default
  }
  return to;
}

/** @type {import('../app.js').Page} */
export default {
  id: 'sign-in',
  path: /^\/sign-in(?:\/(.*))?$/,
  title: 'signin.title',
  public: true,
  async render(ctx) {
    const code = ctx.params[0];
    const errorBox = h('div', { class: 'sign-in-error' });
    /** @type {HTMLElement | null} */
    let linkStatus = null;

    if (code) {
      // Take the code out of the address bar and history at once.
      history.replaceState(null, '', '#/sign-in');
      linkStatus = h('div', null, loading(), h('p', null, t('signin.link_checking')));
      try {
        const s = await signIn({ code });
        ctx.setSession(s);
        const to = afterSignIn();
        history.replaceState(null, '', to);
        ctx.navigate(to);
        return h('div', null, loading());
      } catch (e) {
        linkStatus = h('div', null, h('p', { class: 'warning' }, t('signin.link_failed')), problemView(e));
      }
    }

    const input = h('textarea', {
      name: 'token', rows: '4', required: true, autocomplete: 'off', spellcheck: 'false', class: 'mono', autocapitalize: 'off',
    });
    const submit = h('button', { type: 'submit', class: 'primary' }, t('signin.submit'));
    const form = h('form', { class: 'sign-in-form', novalidate: true },
      formField(t('signin.token'), input, t('signin.token_help')),
      errorBox,
      h('div', { class: 'actions' }, submit));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const token = input.value.trim().replace(/^Bearer\s+/i, '');
      errorBox.replaceChildren();
      linkStatus?.remove();
      if (!token) {
        errorBox.appendChild(h('p', { class: 'problem', role: 'alert' }, t('signin.empty')));
        input.focus();
        return;
      }
      submit.disabled = true;
      try {
        const s = await signIn({ token });
        input.value = '';
        ctx.setSession(s);
        ctx.navigate(afterSignIn());
      } catch (e) {
        errorBox.appendChild(problemView(e));
        if (!(e instanceof ApiError) || e.status !== 0) input.focus();
      } finally {
        submit.disabled = false;
      }
    });

    return h('div', { class: 'sign-in' },
      pageHeader(t('signin.title')),
      h('p', null, t('signin.intro')),
      ctx.notice ? h('p', { class: 'notice', role: 'status' }, ctx.notice) : null,
      linkStatus,
      form,
      h('p', { class: 'help' }, t('signin.link_hint')));
  },
};
