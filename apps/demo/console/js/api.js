/**
 * The console's client of the JSON API: the key the user pasted (kept in
 * sessionStorage, so it lives only as long as the tab and is never sent
 * anywhere but this server's /v1 routes) as a bearer token, JSON in and
 * out, errors as ApiError with the API's stable code, and one page of a
 * paged listing (`listPage`: `limit`, `cursor`, `nextCursor`).
 */

const KEY_ITEM = "skerry.console.key";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

export function getKey() {
  return sessionStorage.getItem(KEY_ITEM) ?? "";
}

export function setKey(key) {
  if (key === "") sessionStorage.removeItem(KEY_ITEM);
  else sessionStorage.setItem(KEY_ITEM, key);
}

const seg = (v) => encodeURIComponent(v);

export function projectUrl(org, project) {
  return `/v1/orgs/${seg(org)}/projects/${seg(project)}/namespaces`;
}

export function nsUrl(org, project, ns) {
  return `${projectUrl(org, project)}/${seg(ns)}`;
}

export async function api(method, path, body) {
  const headers = { authorization: `Bearer ${getKey()}`, accept: "application/json" };
  const init = { method, headers, cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer" };
  if (body !== undefined) {
    headers["content-type"] = "application/json";
    init.body = typeof body === "string" ? body : JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (error) {
    throw new ApiError(0, "NetworkError", `the server did not answer (${error instanceof Error ? error.message : error})`);
  }
  const text = await res.text();
  let parsed;
  try {
    parsed = text === "" ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    const e = parsed && typeof parsed === "object" ? parsed.error : undefined;
    throw new ApiError(res.status, e?.code ?? `HTTP${res.status}`, e?.message ?? (text.slice(0, 200) || res.statusText));
  }
  return parsed;
}

/**
 * Items per page of the console's listings: 100, or `?pageSize=N` in the
 * console's own URL (1-10,000; the browser test pages small lists with it).
 */
export const PAGE_SIZE = (() => {
  const asked = Number(new URLSearchParams(location.search).get("pageSize"));
  return Number.isSafeInteger(asked) && asked >= 1 && asked <= 10_000 ? asked : 100;
})();

/**
 * One page of a listing route: `{ items, nextCursor }`, `items` being the
 * answer's `field` (nextCursor undefined on the last page). `path` may
 * carry its own query (`?order=desc`).
 */
export async function listPage(path, field, cursor) {
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (cursor !== undefined) query.set("cursor", cursor);
  const answer = await api("GET", `${path}${path.includes("?") ? "&" : "?"}${query}`);
  return { items: answer[field], nextCursor: answer.nextCursor };
}
