/**
 * The edge between the AWS SDK and the closed storage error set.
 *
 * `classifyS3Error` looks at whatever `client.send` (or reading a response
 * body) threw -- an S3 service exception, a Node network error, a smithy
 * timeout, an abort -- and names what it means for the caller:
 *
 *   abort (our signal fired, or an AbortError)       -> "aborted"
 *   404 / NoSuchKey / NotFound                       -> "notFound"
 *   412 / PreconditionFailed                          -> "precondition"
 *   409 (ConditionalRequestConflict and friends)      -> "conflict"
 *   416 / InvalidRange                                -> "invalidRange"
 *   429, 500, 502, 503, 504, SlowDown, throttling,
 *     RequestTimeout, ECONNRESET/ECONNREFUSED/ETIMEDOUT/EPIPE/...,
 *     smithy TimeoutError, premature close          -> "unavailable"
 *   400 KeyTooLongError / InvalidObjectName / ...     -> "invalidKey"
 *   501 / NotImplemented                              -> "notImplemented"
 *   anything else (403, other 4xx, parse failures)    -> "internal"
 *
 * `toStorageError` turns a classification into the typed error, keeping the
 * native error as `cause`. What 412 or 404 means depends on the put mode
 * (AlreadyExists for create, PreconditionFailed for update), so the caller
 * passes `onPrecondition` / `onNotFound` overrides where the mode matters.
 *
 * Whether a conditional write's failure has an UNKNOWN outcome (409, 5xx,
 * network) is decided by S3Storage, not here: see `s3-outcome.ts`.
 */
import {
  AbortedError,
  ConflictError,
  InternalError,
  InvalidKeyError,
  isStorageError,
  NotFoundError,
  NotImplementedError,
  PreconditionFailedError,
  type StorageError,
  UnavailableError,
} from "../errors.ts";

export type S3FailureKind =
  | "aborted"
  | "notFound"
  | "precondition"
  | "conflict"
  | "invalidRange"
  | "unavailable"
  | "invalidKey"
  | "notImplemented"
  | "internal";

export interface S3Failure {
  kind: S3FailureKind;
  /** HTTP status when the server answered, else undefined. */
  status: number | undefined;
  /** S3 error code (`NoSuchKey`, `SlowDown`, ...) or Node error code. */
  code: string | undefined;
  /** Short description for messages: `HTTP 503 SlowDown`, `ECONNRESET`, ... */
  summary: string;
  error: unknown;
}

/** Node socket/DNS error codes that mean "the network failed; try again". */
const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ERR_STREAM_PREMATURE_CLOSE",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/** S3 error codes that mean "slow down or try again later", whatever the status. */
const RETRYABLE_CODES = new Set([
  "SlowDown",
  "ServiceUnavailable",
  "InternalError",
  "RequestTimeout",
  "RequestTimeoutException",
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "RequestThrottled",
  "RequestThrottledException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "BandwidthLimitExceeded",
  "TimeoutError",
  "NetworkingError",
]);

/** S3 error codes (HTTP 400) that blame the object name. */
const INVALID_KEY_CODES = new Set(["KeyTooLongError", "InvalidObjectName", "InvalidKey", "InvalidURI"]);

interface ErrorShape {
  name?: unknown;
  code?: unknown;
  Code?: unknown;
  message?: unknown;
  cause?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  $response?: { statusCode?: unknown };
}

function shapeOf(error: unknown): ErrorShape {
  return typeof error === "object" && error !== null ? (error as ErrorShape) : {};
}

function stringOr(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function statusOf(shape: ErrorShape): number | undefined {
  const status = shape.$metadata?.httpStatusCode ?? shape.$response?.statusCode;
  return typeof status === "number" ? status : undefined;
}

/** The Node error code of `error` or of one of its causes (SDK errors wrap socket errors). */
function networkCodeOf(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === "object" && current !== null; depth++) {
    const code = stringOr(shapeOf(current).code);
    if (code !== undefined && NETWORK_CODES.has(code)) return code;
    current = shapeOf(current).cause;
  }
  return undefined;
}

export function classifyS3Error(error: unknown, signal?: AbortSignal): S3Failure {
  const shape = shapeOf(error);
  const status = statusOf(shape);
  const name = stringOr(shape.name);
  const s3Code = stringOr(shape.Code) ?? (status !== undefined ? name : undefined);
  const netCode = networkCodeOf(error);
  const code = s3Code ?? netCode ?? name;
  const summary = [status !== undefined ? `HTTP ${status}` : undefined, code].filter(Boolean).join(" ") || "error";
  const failure = (kind: S3FailureKind): S3Failure => ({ kind, status, code, summary, error });

  // Our caller's signal wins: whatever the SDK made of the torn request.
  if (signal?.aborted || name === "AbortError") return failure("aborted");

  if (status !== undefined) {
    if (status === 404 || code === "NoSuchKey" || code === "NotFound") return failure("notFound");
    if (status === 412) return failure("precondition");
    if (status === 409) return failure("conflict");
    if (status === 416) return failure("invalidRange");
    if (status === 501) return failure("notImplemented");
    if (status === 429 || status === 408 || status >= 500) return failure("unavailable");
    if (code !== undefined && RETRYABLE_CODES.has(code)) return failure("unavailable");
    if (code !== undefined && INVALID_KEY_CODES.has(code)) return failure("invalidKey");
    return failure("internal");
  }
  // No HTTP answer: the request or the response was lost on the way.
  if (netCode !== undefined) return failure("unavailable");
  if (name !== undefined && RETRYABLE_CODES.has(name)) return failure("unavailable");
  return failure("internal");
}

export interface ToStorageErrorOptions {
  key?: string | undefined;
  /** What the call was, for the message: `get`, `put (create)`, ... */
  operation: string;
  /** Overrides the error for a 412 (create: AlreadyExists). */
  onPrecondition?: ((message: string) => StorageError) | undefined;
  /** Overrides the error for a 404 (update: PreconditionFailed). */
  onNotFound?: ((message: string) => StorageError) | undefined;
}

export function toStorageError(failure: S3Failure, options: ToStorageErrorOptions): StorageError {
  const { key, operation } = options;
  const what = key === undefined ? operation : `${operation} ${JSON.stringify(key)}`;
  const message = `S3 ${what} failed: ${failure.summary}`;
  const init = { key, cause: failure.error };
  switch (failure.kind) {
    case "aborted":
      return new AbortedError(`S3 ${what} aborted`, init);
    case "notFound":
      return options.onNotFound?.(message) ?? new NotFoundError(`S3 ${what}: no such object`, init);
    case "precondition":
      return options.onPrecondition?.(message) ?? new PreconditionFailedError(message, init);
    case "conflict":
      return new ConflictError(message, init);
    case "unavailable":
      return new UnavailableError(message, init);
    case "invalidKey":
      return new InvalidKeyError(message, init);
    case "notImplemented":
      return new NotImplementedError(message, init);
    case "invalidRange":
    case "internal":
      return new InternalError(message, init);
  }
}

/** Classifies and converts in one step; a StorageError passes through unchanged. */
export function mapS3Error(
  error: unknown,
  options: ToStorageErrorOptions & { signal?: AbortSignal | undefined },
): StorageError {
  if (isStorageError(error)) return error;
  return toStorageError(classifyS3Error(error, options.signal), options);
}
