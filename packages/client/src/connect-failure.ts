/**
 * Whether a failed `fetch` certainly never sent the request: the
 * connection itself could not be made (refused, no route, the name does
 * not resolve, the connect timed out). Then any request, even a write that
 * is not idempotent, may go again or to another URL.
 *
 * Node's fetch (undici) names the reason in `cause.code` (an
 * AggregateError's `errors` when several addresses were tried); browsers
 * say nothing, and then the request counts as possibly sent.
 */
const NOT_CONNECTED: ReadonlySet<string> = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL", "UND_ERR_CONNECT_TIMEOUT"]);

export function neverSent(error: unknown): boolean {
  return check(error, 0);
}

function check(error: unknown, depth: number): boolean {
  if (typeof error !== "object" || error === null || depth > 4) return false;
  const { code, cause, errors } = error as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === "string" && NOT_CONNECTED.has(code)) return true;
  if (Array.isArray(errors) && errors.length > 0 && errors.every((e) => check(e, depth + 1))) return true;
  return check(cause, depth + 1);
}
