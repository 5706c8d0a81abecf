// The console's only way to the server: the admin API under /admin/v1 and the
// console session under /console/api/session, same origin, with the session
// cookie and `X-Tpgate-Console: 1`. Failures become `ApiError`s carrying the
// RFC 9457 problem (and its request_id); a 401 from /admin/v1 means the session
// ended and calls the `onUnauthorized` handler (the app goes to #/sign-in).

/** @typedef {import('tpgate-api').components['schemas']['Problem']} Problem */

/**
 * The console session (GET /console/api/session; not in the OpenAPI spec).
 * @typedef {object} Session
 * @property {'platform_admin' | 'platform_viewer' | 'tenant_admin'} role
 * @property {string} subject
 * @property {string} [tenant_id] set for a tenant_admin
 * @property {boolean} can_write false: offer no actions at all
 * @property {string} expires_at RFC 3339
 * @property {number} idle_timeout_secs
 * @property {'link' | 'jwt' | 'api_key'} via
 */

/** @typedef {import('tpgate-api').components['schemas']['CallStats']} CallStats GET /admin/v1/call-stats */
/** @typedef {import('tpgate-api').components['schemas']['CallGroup']} CallStatsGroup one hour's or one appid's calls */

/**
 * Query parameters; undefined, null and '' values are left out.
 * @typedef {Record<string, string | number | boolean | undefined | null>} Query
 */

/** An error answer from the server, with its problem document when it sent one. */
export class ApiError extends Error {
  /**
   * @param {number} status HTTP status (0: the request did not reach the server)
   * @param {Problem} problem the problem document (synthesised when the body was not one)
   */
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.name = 'ApiError';
    /** @type {number} */
    this.status = status;
    /** @type {Problem} */
    this.problem = problem;
    /** @type {string | undefined} */
    this.requestId = problem.request_id;
  }
}

/** @type {((err: ApiError) => void) | null} */
let unauthorizedHandler = null;

/**
 * Sets what happens when an /admin/v1 call answers 401 (the session ended).
 * @param {(err: ApiError) => void} fn
 */
export function onUnauthorized(fn) {
  unauthorizedHandler = fn;
}

/**
 * Builds `?a=1&b=x` from a query object (empty string when nothing is set).
 * @param {Query | undefined} query
 * @returns {string}
 */
export function qs(query) {
  if (!query) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue;
    p.set(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

/**
 * Encodes one path segment (an id or appid) for use in a URL path.
 * @param {string} segment
 * @returns {string}
 */
export function seg(segment) {
  return encodeURIComponent(segment);
}

/**
 * Sends a request and parses the answer.
 * @param {string} method
 * @param {string} url
 * @param {unknown} [body]
 * @returns {Promise<unknown>}
 */
async function send(method, url, body) {
  /** @type {Record<string, string>} */
  const headers = { 'X-Tpgate-Console': '1', Accept: 'application/json, application/problem+json' };
  /** @type {RequestInit} */
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  /** @type {Response} */
  let res;
  try {
    res = await fetch(url, init);
  } catch (e) {
    throw new ApiError(0, {
      type: 'about:blank',
      title: 'Network error',
      status: 0,
      detail: e instanceof Error ? e.message : String(e),
    });
  }
  const text = await res.text();
  /** @type {unknown} */
  let data = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }
  if (!res.ok) {
    /** @type {Problem} */
    let problem;
    if (data && typeof data === 'object' && 'title' in data) {
      problem = /** @type {Problem} */ (data);
    } else {
      problem = { type: 'about:blank', title: res.statusText || `HTTP ${res.status}`, status: res.status, detail: text && !data ? text.slice(0, 300) : undefined };
    }
    if (!problem.request_id) {
      const rid = res.headers.get('X-Request-Id');
      if (rid) problem = { ...problem, request_id: rid };
    }
    const err = new ApiError(res.status, problem);
    if (res.status === 401 && url.startsWith('/admin/') && unauthorizedHandler) unauthorizedHandler(err);
    throw err;
  }
  return data;
}

/**
 * GET an admin API path (e.g. '/admin/v1/tenants'). The result type T is inferred from the
 * annotated variable it is assigned to (a `type` JSDoc tag on the const), or given by a cast.
 * @template T
 * @param {string} path
 * @param {Query} [query]
 * @returns {Promise<T>}
 */
export async function get(path, query) {
  return /** @type {T} */ (await send('GET', path + qs(query)));
}

/**
 * POST JSON (or nothing) to an admin API path.
 * @template T
 * @param {string} path
 * @param {unknown} [body]
 * @param {Query} [query]
 * @returns {Promise<T>}
 */
export async function post(path, body, query) {
  return /** @type {T} */ (await send('POST', path + qs(query), body));
}

/**
 * PATCH an admin API path with a JSON body.
 * @template T
 * @param {string} path
 * @param {unknown} body
 * @returns {Promise<T>}
 */
export async function patch(path, body) {
  return /** @type {T} */ (await send('PATCH', path, body));
}

/**
 * PUT a JSON body to an admin API path.
 * @template T
 * @param {string} path
 * @param {unknown} body
 * @returns {Promise<T>}
 */
export async function put(path, body) {
  return /** @type {T} */ (await send('PUT', path, body));
}

/**
 * DELETE an admin API path (answer parsed when there is one, e.g. DeletedTenant).
 * @template T
 * @param {string} path
 * @param {Query} [query]
 * @returns {Promise<T>}
 */
export async function del(path, query) {
  return /** @type {T} */ (await send('DELETE', path + qs(query)));
}

/** The API as one object: `api.get`, `api.post`, `api.patch`, `api.put`, `api.del`. */
export const api = { get, post, patch, put, del };

const SESSION = '/console/api/session';

/**
 * The current console session, or null when signed out (401).
 * @returns {Promise<Session | null>}
 */
export async function getSession() {
  try {
    return /** @type {Session} */ (await send('GET', SESSION));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}

/**
 * Signs in with a one-time link code (`{code}`) or an admin JWT / tpk_ API key (`{token}`).
 * @param {{code: string} | {token: string}} credentials
 * @returns {Promise<Session>}
 */
export async function signIn(credentials) {
  return /** @type {Session} */ (await send('POST', SESSION, credentials));
}

/**
 * Signs out (the server clears the cookie).
 * @returns {Promise<void>}
 */
export async function signOut() {
  await send('DELETE', SESSION);
}

/**
 * Every page of a cursor-paged list, up to `max` items (for small lists such as tenant pickers).
 * @template I
 * @param {string} path
 * @param {Query} [query]
 * @param {number} [max]
 * @returns {Promise<I[]>}
 */
export async function getAll(path, query = {}, max = 1000) {
  /** @type {I[]} */
  const out = [];
  /** @type {string | undefined} */
  let cursor = undefined;
  do {
    /** @type {{items: I[], next_cursor?: string}} */
    const page = await get(path, { limit: 100, ...query, cursor });
    out.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && out.length < max);
  return out;
}
