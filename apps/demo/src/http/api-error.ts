/**
 * ApiError and the one place every failure becomes an HTTP answer.
 *
 * Every error body is `{ "error": { "code", "message", "details"? } }` with
 * a stable `code`; a stack trace never leaves the process. Mapping:
 *
 * | code | status |
 * | --- | --- |
 * | InvalidArgument, InvalidQuery, InvalidCursor, MalformedJson, JsonTooDeep | 400 |
 * | Unauthorized | 401 |
 * | Forbidden | 403 |
 * | NotFound, NamespaceNotFound, DocumentNotFound, VersionNotFound, KeyNotFound | 404 |
 * | NamespaceExists, Conflict | 409 |
 * | VersionConflict | 412 |
 * | PayloadTooLarge, BatchTooLarge | 413 |
 * | UnsupportedMediaType | 415 |
 * | TooManyRequests | 429 (+ Retry-After) |
 * | Internal, Corrupt | 500 |
 * | Unavailable, Timeout, ShuttingDown, Overloaded | 503 (+ Retry-After) |
 *
 * Engine errors map by their `code` (namespace-engine), query errors by
 * theirs (the query module, thrown by `engine.query`: InvalidQuery and
 * InvalidDocument are 400 InvalidQuery with `details.issues` naming each
 * problem's path; CorruptIndex and UnsupportedIndexVersion are 500
 * Corrupt), storage errors by theirs (storage-providers);
 * anything else is Internal with a generic message (the detail is logged).
 *
 * Corruption is ONE code whoever detected it: the engine's `Corrupt`, a
 * storage provider's `Corrupt` (its checksum) and a wal-engine `Corrupt`
 * (should one ever escape the engine) are all 500 Corrupt, logged at error
 * level (the bytes on the server's storage are wrong: not the client's
 * mistake, not retryable).
 */
import { isInvalidQuery, isNamespaceEngineError, isQueryError, isVersionConflict } from "@skerry/namespace-engine";
import { isStorageError } from "@skerry/storage-providers";
import { isWalEngineError } from "@skerry/wal-engine";
import { HTTPException } from "hono/http-exception";

export type ApiErrorCode =
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

export const STATUS_OF: Readonly<Record<ApiErrorCode, number>> = {
  InvalidArgument: 400,
  InvalidQuery: 400,
  InvalidCursor: 400,
  MalformedJson: 400,
  JsonTooDeep: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  NamespaceNotFound: 404,
  DocumentNotFound: 404,
  VersionNotFound: 404,
  KeyNotFound: 404,
  NamespaceExists: 409,
  Conflict: 409,
  VersionConflict: 412,
  PayloadTooLarge: 413,
  BatchTooLarge: 413,
  UnsupportedMediaType: 415,
  TooManyRequests: 429,
  Internal: 500,
  Corrupt: 500,
  Unavailable: 503,
  Timeout: 503,
  ShuttingDown: 503,
  Overloaded: 503,
};

export interface ErrorBody {
  error: { code: ApiErrorCode; message: string; details?: Record<string, unknown> };
}

export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    /** Seconds, for 429 and 503. */
    readonly retryAfter?: number,
  ) {
    super(message);
  }

  get status(): number {
    return STATUS_OF[this.code];
  }
}

export interface MappedError {
  readonly status: number;
  readonly body: ErrorBody;
  readonly headers: Record<string, string>;
  /** True when the cause is ours (5xx other than overload): log it at error level. */
  readonly unexpected: boolean;
}

function body(code: ApiErrorCode, message: string, details?: Record<string, unknown>): ErrorBody {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

function mapped(error: ApiError): MappedError {
  const headers: Record<string, string> = {};
  if (error.retryAfter !== undefined) headers["Retry-After"] = String(error.retryAfter);
  return { status: error.status, body: body(error.code, error.message, error.details), headers, unexpected: error.code === "Internal" || error.code === "Corrupt" };
}

/** Turns any thrown value into the status, body and headers to answer with. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (isNamespaceEngineError(error)) {
    switch (error.code) {
      case "InvalidArgument":
        return new ApiError("InvalidArgument", error.message);
      case "NamespaceNotFound":
      case "NamespaceExists":
      case "DocumentNotFound":
      case "VersionNotFound":
        return new ApiError(error.code, error.message);
      case "VersionConflict":
        return new ApiError("VersionConflict", error.message, isVersionConflict(error) ? { expected: error.expected, actual: error.actual } : undefined);
      case "Conflict":
        return new ApiError("Conflict", `${error.message}; nothing was applied, retrying is safe`, undefined);
      case "Storage":
        return new ApiError("Unavailable", "the object store is unavailable; retry (writes with the same Idempotency-Key apply at most once)", undefined, 1);
      case "Corrupt":
        return new ApiError("Corrupt", "an object on storage is corrupt; see the server log");
    }
  }
  if (isQueryError(error)) {
    if (error.code === "InvalidQuery") {
      const issues = isInvalidQuery(error) ? error.issues.slice(0, 20).map((i) => ({ path: i.path.map(String), reason: i.reason, message: i.message })) : undefined;
      return new ApiError("InvalidQuery", error.message, issues === undefined ? undefined : { issues });
    }
    if (error.code === "InvalidDocument") return new ApiError("InvalidQuery", error.message);
    return new ApiError("Corrupt", "a stored query index is corrupt or of an unsupported version; see the server log");
  }
  if ((isStorageError(error) || isWalEngineError(error)) && error.code === "Corrupt") {
    return new ApiError("Corrupt", "an object on storage is corrupt; see the server log");
  }
  if (isStorageError(error)) {
    if (error.code === "Unavailable" || error.code === "Conflict" || error.code === "Aborted") {
      return new ApiError("Unavailable", "the object store is unavailable; retry", undefined, 1);
    }
    return new ApiError("Internal", "internal error; see the server log");
  }
  if (error instanceof HTTPException) {
    if (error.status === 413) return new ApiError("PayloadTooLarge", "request body too large");
    if (error.status === 400) return new ApiError("MalformedJson", "request body is not valid JSON");
    if (error.status === 415) return new ApiError("UnsupportedMediaType", "this route takes a JSON body: send `Content-Type: application/json`");
    if (error.status === 404) return new ApiError("NotFound", "no such route");
  }
  return new ApiError("Internal", "internal error; see the server log");
}

export function mapError(error: unknown): MappedError {
  return mapped(toApiError(error));
}
