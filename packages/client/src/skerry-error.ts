/**
 * SkerryError: every failure the client reports, with the server's stable
 * error `code` (apps/demo/src/http/api-error.ts), the HTTP `status`, and
 * whether a retry may succeed (`retryable`).
 *
 * Server codes (the body `{ "error": { "code", "message", "details"? } }`):
 *
 * | code | status | retryable |
 * | --- | --- | --- |
 * | InvalidArgument, InvalidQuery, InvalidCursor (a listing's cursor is malformed, altered or of another listing), MalformedJson, JsonTooDeep | 400 | no |
 * | Unauthorized | 401 | no |
 * | Forbidden | 403 | no |
 * | NotFound, NamespaceNotFound, DocumentNotFound, VersionNotFound, KeyNotFound | 404 | no |
 * | NamespaceExists | 409 | no |
 * | Conflict (lost too many manifest races; nothing was applied) | 409 | yes |
 * | VersionConflict (`ifVersion` did not match) | 412 | no |
 * | PayloadTooLarge, BatchTooLarge | 413 | no |
 * | UnsupportedMediaType | 415 | no |
 * | TooManyRequests | 429 | yes (Retry-After) |
 * | Internal, Corrupt | 500 | no |
 * | Unavailable, Timeout, ShuttingDown, Overloaded | 503 | yes (Retry-After) |
 *
 * Client codes: `NetworkError` (fetch itself failed: no answer; retryable;
 * a refused connection, when the runtime says so, is retried even for a
 * write without an idempotency key, as the request was never sent),
 * `RequestTimeout` (the call's `timeoutMs` elapsed, retries included; not
 * retried further), `UnexpectedResponse` (an answer that is not Skerry's
 * JSON, e.g. a proxy's 502 page; retryable when its status is 502, 503 or
 * 504, or 429). An aborted call rejects with the signal's `reason` (an
 * `AbortError` DOMException unless you abort with your own reason), as
 * `fetch` does, not with a SkerryError.
 */

/** The codes the server answers with (the server's `ApiErrorCode`; a test checks they are the same set). */
export type ServerErrorCode =
  | "InvalidArgument"
  | "InvalidQuery"
  | "InvalidCursor"
  | "MalformedJson"
  | "JsonTooDeep"
  | "Unauthorized"
  | "Forbidden"
  | "NotFound"
  | "NamespaceNotFound"
  | "DocumentNotFound"
  | "VersionNotFound"
  | "KeyNotFound"
  | "NamespaceExists"
  | "Conflict"
  | "VersionConflict"
  | "PayloadTooLarge"
  | "BatchTooLarge"
  | "UnsupportedMediaType"
  | "TooManyRequests"
  | "Internal"
  | "Corrupt"
  | "Unavailable"
  | "Timeout"
  | "ShuttingDown"
  | "Overloaded";

/** Failures detected by the client itself. */
export type ClientErrorCode = "NetworkError" | "RequestTimeout" | "UnexpectedResponse";

export type SkerryErrorCode = ServerErrorCode | ClientErrorCode;

/** Every server code, for exhaustive checks. */
export const SERVER_ERROR_CODES: readonly ServerErrorCode[] = [
  "InvalidArgument",
  "InvalidQuery",
  "InvalidCursor",
  "MalformedJson",
  "JsonTooDeep",
  "Unauthorized",
  "Forbidden",
  "NotFound",
  "NamespaceNotFound",
  "DocumentNotFound",
  "VersionNotFound",
  "KeyNotFound",
  "NamespaceExists",
  "Conflict",
  "VersionConflict",
  "PayloadTooLarge",
  "BatchTooLarge",
  "UnsupportedMediaType",
  "TooManyRequests",
  "Internal",
  "Corrupt",
  "Unavailable",
  "Timeout",
  "ShuttingDown",
  "Overloaded",
];

/**
 * Rejected before the server did anything (or, for Conflict, nothing was
 * applied): any request may be retried, a write without an idempotency key too.
 */
const NOTHING_DONE: ReadonlySet<string> = new Set(["TooManyRequests", "Overloaded", "ShuttingDown", "Conflict"]);
/** The outcome is unknown: retried for reads and for writes that carry an Idempotency-Key. */
const OUTCOME_UNKNOWN: ReadonlySet<string> = new Set(["Unavailable", "Timeout", "NetworkError"]);

/**
 * Whether a request that failed with `code` may be sent again:
 * `"always"` (nothing was done), `"if-idempotent"` (it may have been
 * applied: only reads and idempotency-keyed writes), or `"never"`.
 */
export function retrySafety(code: string, status: number | undefined): "always" | "if-idempotent" | "never" {
  if (NOTHING_DONE.has(code)) return "always";
  if (OUTCOME_UNKNOWN.has(code)) return "if-idempotent";
  if (code === "UnexpectedResponse") {
    if (status === 429) return "always";
    if (status === 502 || status === 503 || status === 504) return "if-idempotent";
  }
  return "never";
}

export interface SkerryErrorInit {
  readonly status?: number | undefined;
  readonly details?: Readonly<Record<string, unknown>> | undefined;
  /** From the Retry-After header, in milliseconds. */
  readonly retryAfterMs?: number | undefined;
  /** The server's X-Request-Id (quote it when reporting a problem). */
  readonly requestId?: string | undefined;
  /** How many attempts were made (1 + retries). */
  readonly attempts?: number | undefined;
  readonly cause?: unknown;
}

export class SkerryError extends Error {
  override readonly name = "SkerryError";
  /**
   * The server's code, or a client code. A server newer than this client may
   * send a code not in the union; it is passed through as is.
   */
  readonly code: SkerryErrorCode;
  /** The HTTP status; undefined when there was no answer (NetworkError, RequestTimeout). */
  readonly status: number | undefined;
  /** A retry may succeed (see the table above; writes without an idempotency key only when `retrySafety` is "always"). */
  readonly retryable: boolean;
  readonly details: Readonly<Record<string, unknown>> | undefined;
  readonly retryAfterMs: number | undefined;
  readonly requestId: string | undefined;
  attempts: number;

  constructor(code: SkerryErrorCode, message: string, init: SkerryErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = code;
    this.status = init.status;
    this.retryable = retrySafety(code, init.status) !== "never";
    this.details = init.details;
    this.retryAfterMs = init.retryAfterMs;
    this.requestId = init.requestId;
    this.attempts = init.attempts ?? 1;
  }
}

/** True for a SkerryError, optionally with one of the given codes. */
export function isSkerryError<C extends SkerryErrorCode>(error: unknown, ...codes: C[]): error is SkerryError & { readonly code: C } {
  if (!(error instanceof SkerryError)) return false;
  return codes.length === 0 || (codes as string[]).includes(error.code);
}
