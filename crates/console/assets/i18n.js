// Languages of the console: Simplified Chinese and English.
//
// Each module registers its own strings with `strings({en: {...}, zh: {...}})`
// and gets back a `t(key, vars?)` that looks there first, then in every other
// registered table (so shared words and page titles resolve from anywhere).
// WeChat's own Chinese terms are used where they exist: 授权方, 小程序, 权限集,
// 授权链接, 第三方平台, component_verify_ticket, 令牌.

/** @typedef {'en' | 'zh'} Lang */
/** @typedef {Record<string, string>} Table */
/** @typedef {Record<string, string | number | undefined | null>} Vars */
/** @typedef {(key: string, vars?: Vars) => string} Translate */

const STORAGE_KEY = 'tpgate.lang';

/** @type {{en: Table, zh: Table}[]} */
const tables = [];

/** @type {Set<(lang: Lang) => void>} */
const listeners = new Set();

/** @returns {Lang} */
function initialLang() {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (saved === 'en' || saved === 'zh') return saved;
  } catch {
    // storage disabled: fall through to the browser's languages
  }
  const langs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || 'en'];
  for (const l of langs) {
    const lower = l.toLowerCase();
    if (lower.startsWith('zh')) return 'zh';
    if (lower.startsWith('en')) return 'en';
  }
  return 'en';
}

/** @type {Lang} */
let current = initialLang();

/**
 * Substitutes `{name}` placeholders with `vars.name`.
 * @param {string} text
 * @param {Vars} [vars]
 * @returns {string}
 */
function fill(text, vars) {
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) => {
    const v = vars[name];
    return v === undefined || v === null ? whole : String(v);
  });
}

/**
 * Looks a key up in every registered table, in the current language, then in English.
 * @param {string} key
 * @param {Vars} [vars]
 * @returns {string}
 */
export function translate(key, vars) {
  for (const lang of [current, 'en']) {
    for (const tb of tables) {
      const text = tb[/** @type {Lang} */ (lang)][key];
      if (text !== undefined) return fill(text, vars);
    }
  }
  return fill(key, vars);
}

/**
 * Registers a module's strings and returns its translator `t(key, vars?)`.
 * `{name}` in a string is replaced by `vars.name`. Missing Chinese falls back to English,
 * a missing key to other modules' tables, then to the key itself.
 * @param {{en: Table, zh: Table}} table
 * @returns {Translate}
 */
export function strings(table) {
  tables.push(table);
  return (key, vars) => {
    const own = table[current][key] ?? table.en[key];
    return own !== undefined ? fill(own, vars) : translate(key, vars);
  };
}

/**
 * The current language.
 * @returns {Lang}
 */
export function getLang() {
  return current;
}

/**
 * The BCP 47 tag of the current language, for `<html lang>` and Intl: `zh-CN` or `en`.
 * @returns {string}
 */
export function langTag() {
  return current === 'zh' ? 'zh-CN' : 'en';
}

/**
 * Switches language: remembers it (localStorage 'tpgate.lang'), updates `<html lang>` and
 * calls every `onLangChange` listener (the app re-renders the page).
 * @param {Lang} lang
 */
export function setLang(lang) {
  current = lang;
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // not remembered; still switched
  }
  document.documentElement.lang = langTag();
  for (const fn of listeners) fn(lang);
}

/**
 * Calls `fn` after each language switch.
 * @param {(lang: Lang) => void} fn
 * @returns {() => void} removes the listener
 */
export function onLangChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/**
 * Parses an RFC 3339 time; null when absent or unparseable.
 * @param {string | undefined | null} iso
 * @returns {Date | null}
 */
function parse(iso) {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

/**
 * A date and time in the current language and the browser's time zone ("—" when absent).
 * @param {string | undefined | null} iso
 * @returns {string}
 */
export function fmtTime(iso) {
  const d = parse(iso);
  if (!d) return '—';
  return new Intl.DateTimeFormat(langTag(), {
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
  }).format(d);
}

/**
 * A time relative to now: "3 minutes ago", "in 2 hours", "3 分钟前" ("—" when absent).
 * @param {string | undefined | null} iso
 * @param {number} [now] milliseconds since the epoch (default: now)
 * @returns {string}
 */
export function fmtRelative(iso, now = Date.now()) {
  const d = parse(iso);
  if (!d) return '—';
  return fmtRelativeSecs(Math.round((d.getTime() - now) / 1000));
}

/**
 * A signed number of seconds from now as relative time ("in 5 minutes", "2 hours ago").
 * @param {number} secs positive: in the future
 * @returns {string}
 */
export function fmtRelativeSecs(secs) {
  const rtf = new Intl.RelativeTimeFormat(langTag(), { numeric: 'auto' });
  const abs = Math.abs(secs);
  /** @type {[number, Intl.RelativeTimeFormatUnit][]} */
  const units = [[86400, 'day'], [3600, 'hour'], [60, 'minute']];
  for (const [size, unit] of units) {
    if (abs >= size) return rtf.format(Math.round(secs / size), unit);
  }
  return rtf.format(secs, 'second');
}

/**
 * A duration in seconds, e.g. "1 h 20 min" / "1 小时 20 分钟".
 * @param {number | undefined | null} secs
 * @returns {string}
 */
export function fmtDuration(secs) {
  if (secs === undefined || secs === null || !Number.isFinite(secs)) return '—';
  const s = Math.max(0, Math.round(secs));
  const zh = current === 'zh';
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  /** @type {string[]} */
  const parts = [];
  if (d) parts.push(zh ? `${d} 天` : `${d} d`);
  if (h) parts.push(zh ? `${h} 小时` : `${h} h`);
  if (m && !d) parts.push(zh ? `${m} 分钟` : `${m} min`);
  if (!d && !h && (sec || !m)) parts.push(zh ? `${sec} 秒` : `${sec} s`);
  return parts.join(' ');
}

/**
 * A number with the current language's grouping ("—" when absent).
 * @param {number | undefined | null} n
 * @param {Intl.NumberFormatOptions} [opts]
 * @returns {string}
 */
export function fmtNumber(n, opts) {
  if (n === undefined || n === null || !Number.isFinite(n)) return '—';
  return new Intl.NumberFormat(langTag(), opts).format(n);
}

/**
 * A 0–1 ratio as a percentage, e.g. 0.0312 -> "3.1%" ("—" when absent).
 * @param {number | undefined | null} ratio
 * @returns {string}
 */
export function fmtPercent(ratio) {
  if (ratio === undefined || ratio === null || !Number.isFinite(ratio)) return '—';
  return fmtNumber(ratio, { style: 'percent', maximumFractionDigits: 1 });
}

document.documentElement.lang = langTag();
