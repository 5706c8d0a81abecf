// Driving the console's UI: buttons by role and English name, the form or dialog they open,
// values shown once.
import { assert, settle } from './helpers.mjs';
import { N } from './names.mjs';

/**
 * Where a form opened by a button lives: an open <dialog> if there is one, else <main>.
 * @param {import('playwright-core').Page} page
 */
export async function formScope(page) {
  const dlg = page.locator('dialog[open]');
  if (await dlg.count()) return dlg.last();
  return page.locator('main');
}

/**
 * Clicks the button named `name` (inside `scope`, default the whole page) and waits for the page to settle.
 * @param {import('playwright-core').Page} page
 * @param {RegExp|string} name
 */
export async function click(page, name, scope = page) {
  const btn = scope.getByRole('button', { name });
  const n = await btn.count();
  assert.ok(n > 0, `no button named ${name} on ${page.url()}; buttons: ${JSON.stringify(await buttonNames(page))}`);
  await btn.first().click();
  await settle(page);
}

/** Every button's accessible name on the page (for failure messages). */
export async function buttonNames(page) {
  return page.getByRole('button').evaluateAll((els) =>
    els.map((el) => (el.getAttribute('aria-label') || el.textContent || '').trim().replace(/\s+/g, ' ')),
  );
}

/** Every form field's accessible name in a scope (for failure messages). */
async function fieldNames(scope) {
  return scope.locator('input, textarea, select').evaluateAll((els) =>
    els.map((el) => {
      const id = el.id;
      const label = id ? document.querySelector(`label[for="${CSS.escape(id)}"]`)?.textContent : el.closest('label')?.textContent;
      return `${el.tagName.toLowerCase()}[${el.getAttribute('type') ?? ''}] ${(el.getAttribute('aria-label') || label || el.getAttribute('name') || '').trim()}`;
    }),
  );
}

/**
 * Fills the text field named `name` in `scope`.
 * @param {import('playwright-core').Locator} scope
 */
export async function fill(scope, name, value) {
  const field = scope.getByRole('textbox', { name });
  const n = await field.count();
  assert.ok(n > 0, `no text field named ${name}; fields: ${JSON.stringify(await fieldNames(scope))}`);
  await field.first().fill(value);
}

/** Whether a field named `name` exists in `scope`. */
export async function hasField(scope, name) {
  return (await scope.getByRole('textbox', { name }).count()) > 0;
}

/**
 * Confirms the <dialog> confirmDialog() opened (its confirm button), if one is open.
 * @param {import('playwright-core').Page} page
 */
export async function confirmIfAsked(page) {
  const dlg = page.locator('dialog[open]');
  try {
    await dlg.first().waitFor({ state: 'visible', timeout: 2_000 });
  } catch {
    return false;
  }
  // ui.js confirmDialog: Cancel is type=button, the confirm button is the submit one.
  const submit = dlg.last().locator('button[type="submit"]');
  if (await submit.count()) await submit.first().click();
  else await dlg.last().getByRole('button', { name: N.confirm }).first().click();
  await settle(page);
  return true;
}

/**
 * The first match of `re` among the page's input values, links and text (values shown once sit in
 * read-only inputs: ui.js secretOnce).
 * @param {import('playwright-core').Page} page
 * @param {RegExp} re
 */
export async function findShown(page, re) {
  return page.evaluate(
    ([source, flags]) => {
      const re = new RegExp(source, flags);
      const texts = [
        ...[...document.querySelectorAll('input, textarea')].map((el) => /** @type {HTMLInputElement} */ (el).value),
        ...[...document.querySelectorAll('a[href]')].map((a) => /** @type {HTMLAnchorElement} */ (a).href),
        document.body.innerText,
      ];
      for (const t of texts) {
        const m = re.exec(t);
        if (m) return m[0];
      }
      return null;
    },
    [re.source, re.flags],
  );
}

/** Everything the page shows as text, with input values (to look for data that must be absent). */
export async function pageText(page) {
  return page.evaluate(
    () =>
      document.body.innerText +
      '\n' +
      [...document.querySelectorAll('input, textarea, select')].map((el) => /** @type {HTMLInputElement} */ (el).value).join('\n') +
      '\n' +
      [...document.querySelectorAll('a[href]')].map((a) => a.getAttribute('href')).join('\n'),
  );
}
