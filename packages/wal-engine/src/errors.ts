/**
 * The closed set of errors raised by wal-engine.
 *
 * Store-level codes (from the WAL store and the compare-and-swap helper):
 * - `CasFailed`: a conditional write lost to another writer (or kept losing
 *   until the retry policy ran out). Re-read and decide again.
 * - `AlreadyExists`: a create-only write found the object present with other
 *   bytes.
 * - `NotFound`: the object (state document, sidecar) is absent.
 * - `Storage`: the provider failed; `retryable` is copied from the storage
 *   error (Unavailable/Conflict are retryable), `storageCode` names it.
 * - `Corrupt`: stored bytes are wrong, always naming the key: a state
 *   document that does not decode (bad JSON, fails its schema, a newer
 *   `schema_version`, names another wal id than its key), a tombstone
 *   sidecar that does not decode (truncated, bad checksum), a `.arrow`
 *   sidecar that does not hash to the BLAKE3 value its state document pins
 *   (`HashMismatchError`, a `Corrupt` with `expected` and `actual`), or a
 *   provider's own `Corrupt` (its checksum or header check). One code, so
 *   `isWalCorrupt` (and the namespace engine's `isCorrupt` above it) catches
 *   every case. Not retryable: the object must be repaired or restored.
 * - `Schema` / `Codec`: a document or sidecar this package was asked to
 *   WRITE does not encode (a caller's bug; nothing stored is wrong).
 *
 * Pipeline codes:
 * - `LeaseConflict`: a live lease of another handle holds the WAL.
 * - `InvalidPreState`: the WAL is in a state the step cannot start from
 *   (e.g. acquiring a COMPLETE WAL).
 * - `TargetCapExceeded`: a mutation names more targets (or new rows) than
 *   the per-mutation cap; raised before any write.
 * - `SegmentSealed`: a target's segment stayed sealed by compaction through
 *   every re-locate attempt.
 * - `InvalidInput`: the caller passed something unusable.
 *
 * Each class has a literal `code` and the native `cause`. The guards test a
 * brand from the global symbol registry and the code, not `instanceof`, so
 * they work across duplicate installs of this package.
 */

export type WalEngineErrorCode =
  | "CasFailed"
  | "AlreadyExists"
  | "NotFound"
  | "Storage"
  | "Schema"
  | "Codec"
  | "Corrupt"
  | "LeaseConflict"
  | "InvalidPreState"
  | "TargetCapExceeded"
  | "SegmentSealed"
  | "InvalidInput";

const BRAND = Symbol.for("@skerry/wal-engine/WalEngineError");

export interface WalEngineErrorOptions {
  /** The storage key the error concerns, when there is one. */
  key?: string | undefined;
  cause?: unknown;
}

/** Base class of every wal-engine error. Never thrown directly. */
export abstract class WalEngineError extends Error {
  abstract readonly code: WalEngineErrorCode;
  readonly key: string | undefined;
  readonly [BRAND] = true;

  constructor(message: string, options: WalEngineErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.key = options.key;
  }

  /** True when trying the same operation again may succeed. */
  get retryable(): boolean {
    return false;
  }

  override get name(): string {
    return `${this.code}Error`;
  }
}

/** A conditional write lost (stale etag, or the retry policy ran out). */
export class CasFailedError extends WalEngineError {
  readonly code = "CasFailed" as const;
  /** Attempts made before giving up. */
  readonly attempts: number;
  constructor(message: string, options: WalEngineErrorOptions & { attempts?: number } = {}) {
    super(message, options);
    this.attempts = options.attempts ?? 1;
  }
  override get retryable(): boolean {
    return true;
  }
}

/** A create-only write found the object already there (with other bytes). */
export class WalAlreadyExistsError extends WalEngineError {
  readonly code = "AlreadyExists" as const;
}

/** The object is absent. */
export class WalNotFoundError extends WalEngineError {
  readonly code = "NotFound" as const;
}

/** The storage provider failed; wraps the provider's typed error. */
export class WalStorageError extends WalEngineError {
  readonly code = "Storage" as const;
  /** The provider's error code (`Unavailable`, `Conflict`, `Aborted`, ...). */
  readonly storageCode: string;
  readonly #retryable: boolean;
  constructor(message: string, options: WalEngineErrorOptions & { storageCode: string; retryable: boolean }) {
    super(message, options);
    this.storageCode = options.storageCode;
    this.#retryable = options.retryable;
  }
  override get retryable(): boolean {
    return this.#retryable;
  }
}

/** A JSON document to write does not encode (fails its schema). */
export class WalSchemaError extends WalEngineError {
  readonly code = "Schema" as const;
}

/** A binary object to write does not encode. */
export class WalCodecError extends WalEngineError {
  readonly code = "Codec" as const;
}

/**
 * Stored bytes are wrong (do not decode, fail their schema or checksum, do not hash to the recorded value);
 * `key` names the object.
 */
export class WalCorruptError extends WalEngineError {
  readonly code = "Corrupt" as const;
  declare readonly key: string;
  constructor(message: string, options: WalEngineErrorOptions & { key: string }) {
    super(message, options);
  }
}

/** Stored bytes do not hash to the recorded BLAKE3 value (a `Corrupt` error with both hashes). */
export class HashMismatchError extends WalCorruptError {
  readonly expected: string;
  readonly actual: string;
  constructor(message: string, options: WalEngineErrorOptions & { key: string; expected: string; actual: string }) {
    super(message, options);
    this.expected = options.expected;
    this.actual = options.actual;
  }
}

/** Another handle holds a live lease on the WAL. */
export class LeaseConflictError extends WalEngineError {
  readonly code = "LeaseConflict" as const;
  /** 32-hex handle id of the holder. */
  readonly holder: string;
  /** Epoch ms at which the holder's lease expires. */
  readonly expiresAt: number;
  constructor(message: string, options: WalEngineErrorOptions & { holder: string; expiresAt: number }) {
    super(message, options);
    this.holder = options.holder;
    this.expiresAt = options.expiresAt;
  }
}

/** The WAL is in a state the requested step cannot start from. */
export class InvalidPreStateError extends WalEngineError {
  readonly code = "InvalidPreState" as const;
  /** The state found (`COMPLETE`, ...). */
  readonly state: string;
  constructor(message: string, options: WalEngineErrorOptions & { state: string }) {
    super(message, options);
    this.state = options.state;
  }
}

/** A mutation names more targets or new rows than the configured cap. */
export class TargetCapExceededError extends WalEngineError {
  readonly code = "TargetCapExceeded" as const;
  readonly count: number;
  readonly cap: number;
  constructor(message: string, options: WalEngineErrorOptions & { count: number; cap: number }) {
    super(message, options);
    this.count = options.count;
    this.cap = options.cap;
  }
}

/** A segment stayed sealed by compaction through every re-locate attempt. */
export class SegmentSealedError extends WalEngineError {
  readonly code = "SegmentSealed" as const;
  readonly segmentId: string;
  constructor(message: string, options: WalEngineErrorOptions & { segmentId: string }) {
    super(message, options);
    this.segmentId = options.segmentId;
  }
  override get retryable(): boolean {
    return true;
  }
}

/** The caller passed something unusable. */
export class WalInvalidInputError extends WalEngineError {
  readonly code = "InvalidInput" as const;
}

/** True for any error raised by wal-engine, from any copy of this package. */
export function isWalEngineError(value: unknown): value is WalEngineError {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<symbol, unknown>)[BRAND] === true &&
    typeof (value as { code?: unknown }).code === "string"
  );
}

function guard<E extends WalEngineError>(code: E["code"]) {
  return (value: unknown): value is E => isWalEngineError(value) && value.code === code;
}

export const isCasFailed = guard<CasFailedError>("CasFailed");
export const isWalAlreadyExists = guard<WalAlreadyExistsError>("AlreadyExists");
export const isWalNotFound = guard<WalNotFoundError>("NotFound");
export const isWalStorageError = guard<WalStorageError>("Storage");
export const isWalSchemaError = guard<WalSchemaError>("Schema");
export const isWalCodecError = guard<WalCodecError>("Codec");
export const isWalCorrupt = guard<WalCorruptError>("Corrupt");
/** A `Corrupt` error from a hash check (carries `expected` and `actual`). */
export function isHashMismatch(value: unknown): value is HashMismatchError {
  return isWalCorrupt(value) && typeof (value as { expected?: unknown }).expected === "string";
}
export const isLeaseConflict = guard<LeaseConflictError>("LeaseConflict");
export const isInvalidPreState = guard<InvalidPreStateError>("InvalidPreState");
export const isTargetCapExceeded = guard<TargetCapExceededError>("TargetCapExceeded");
export const isSegmentSealed = guard<SegmentSealedError>("SegmentSealed");
export const isWalInvalidInput = guard<WalInvalidInputError>("InvalidInput");

/**
 * Wraps a provider error as `WalStorageError` (keeping its code and
 * retryability), a provider's `Corrupt` as `WalCorruptError`; passes
 * wal-engine errors through; anything else becomes a non-retryable
 * `WalStorageError` with code `Internal`.
 */
export function wrapStorageError(error: unknown, key: string, action: string): WalEngineError {
  if (isWalEngineError(error)) return error;
  const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
  if (code === "Corrupt") {
    const message = error instanceof Error ? error.message : String(error);
    return new WalCorruptError(`${action} ${JSON.stringify(key)} failed: ${message}`, { key, cause: error });
  }
  const retryable = typeof error === "object" && error !== null && (error as { retryable?: unknown }).retryable === true;
  const message = error instanceof Error ? error.message : String(error);
  return new WalStorageError(`${action} ${JSON.stringify(key)} failed: ${message}`, {
    key,
    cause: error,
    storageCode: typeof code === "string" ? code : "Internal",
    retryable,
  });
}
