/**
 * The closed set of errors a StorageProvider may raise.
 *
 * Every provider maps its native failures (fs errno, S3 HTTP status, SDK
 * exceptions) into exactly one of these classes at its edge, so nothing above
 * a provider ever sees a native error. Each class carries a literal `code`
 * that tells the caller what to do, the `key` it concerns when there is one,
 * and the native `cause`.
 *
 * The guards (`isNotFound`, ...) test the `code` and a brand symbol from the
 * global registry instead of `instanceof`, so they keep working when two
 * copies of this package are installed side by side.
 */

/** Every error code a provider may raise. */
export type StorageErrorCode =
  | "NotFound"
  | "AlreadyExists"
  | "PreconditionFailed"
  | "Conflict"
  | "Unavailable"
  | "InvalidKey"
  | "NotImplemented"
  | "Aborted"
  | "Corrupt"
  | "OutcomeUnknown"
  | "Internal";

const BRAND = Symbol.for("@skerry/storage-providers/StorageError");

export interface StorageErrorOptions {
  key?: string | undefined;
  cause?: unknown;
}

/** Base class of every storage error. Never thrown directly. */
export abstract class StorageError extends Error {
  abstract readonly code: StorageErrorCode;
  /** True when the same call may succeed if tried again. */
  abstract readonly retryable: boolean;
  readonly key: string | undefined;
  readonly [BRAND] = true;

  constructor(message: string, options: StorageErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.key = options.key;
  }

  override get name(): string {
    return `${this.code}Error`;
  }
}

/** The key does not exist (get of a missing key). */
export class NotFoundError extends StorageError {
  readonly code = "NotFound" as const;
  readonly retryable = false;
}

/** A `create` put found the key already present. */
export class AlreadyExistsError extends StorageError {
  readonly code = "AlreadyExists" as const;
  readonly retryable = false;
}

/** An `update` put found a different etag, or the key gone. */
export class PreconditionFailedError extends StorageError {
  readonly code = "PreconditionFailed" as const;
  readonly retryable = false;
}

/**
 * A conditional write raced another and the store could not decide (S3 409
 * ConditionalRequestConflict). Retryable: re-read and try again.
 */
export class ConflictError extends StorageError {
  readonly code = "Conflict" as const;
  readonly retryable = true;
}

/** Throttling, 5xx, timeouts, network failures: retryable. */
export class UnavailableError extends StorageError {
  readonly code = "Unavailable" as const;
  readonly retryable = true;
}

/** The key breaks the key rules; raised before any I/O. */
export class InvalidKeyError extends StorageError {
  readonly code = "InvalidKey" as const;
  readonly retryable = false;
}

/** The provider cannot do what was asked (e.g. a mode it lacks). */
export class NotImplementedError extends StorageError {
  readonly code = "NotImplemented" as const;
  readonly retryable = false;
}

/** The caller's AbortSignal fired before the call finished. */
export class AbortedError extends StorageError {
  readonly code = "Aborted" as const;
  readonly retryable = false;
}

/**
 * The stored bytes are wrong: a checksum, hash, header or length that does
 * not match. Always names the key. Not retryable: reading again returns the
 * same bytes; the object must be repaired or restored.
 */
export class CorruptError extends StorageError {
  readonly code = "Corrupt" as const;
  readonly retryable = false;
  declare readonly key: string;
  constructor(message: string, options: StorageErrorOptions & { key: string }) {
    super(message, options);
  }
}

/**
 * A conditional write (`create` or `update`) whose answer was lost and whose
 * outcome could not be decided by re-reading: it may or may not have been
 * applied (e.g. our write landed and another writer replaced it before the
 * read-back). Never a definite failure: the caller must re-read the state it
 * cares about and decide (or retry with an idempotent body).
 */
export class OutcomeUnknownError extends StorageError {
  readonly code = "OutcomeUnknown" as const;
  readonly retryable = false;
}

/** Anything else: a bug, an unexpected answer. */
export class InternalError extends StorageError {
  readonly code = "Internal" as const;
  readonly retryable = false;
}

/** True for any error raised by a StorageProvider, from any copy of this package. */
export function isStorageError(value: unknown): value is StorageError {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<symbol, unknown>)[BRAND] === true &&
    typeof (value as { code?: unknown }).code === "string"
  );
}

function guard<E extends StorageError>(code: E["code"]) {
  return (value: unknown): value is E => isStorageError(value) && value.code === code;
}

export const isNotFound = guard<NotFoundError>("NotFound");
export const isAlreadyExists = guard<AlreadyExistsError>("AlreadyExists");
export const isPreconditionFailed = guard<PreconditionFailedError>("PreconditionFailed");
export const isConflict = guard<ConflictError>("Conflict");
export const isUnavailable = guard<UnavailableError>("Unavailable");
export const isInvalidKey = guard<InvalidKeyError>("InvalidKey");
export const isNotImplemented = guard<NotImplementedError>("NotImplemented");
export const isAborted = guard<AbortedError>("Aborted");
export const isCorrupt = guard<CorruptError>("Corrupt");
export const isOutcomeUnknown = guard<OutcomeUnknownError>("OutcomeUnknown");
export const isInternal = guard<InternalError>("Internal");

/** True when a storage error says the same call may succeed on retry. */
export function isRetryable(value: unknown): boolean {
  return isStorageError(value) && value.retryable;
}
