/**
 * The closed set of errors the namespace engine raises.
 *
 * Each class has a literal `code` that tells the caller what to do:
 * - `InvalidArgument`: the request is wrong (bad path, bad document, batch
 *   over a cap, wrong vector dimension); fix it, do not retry.
 * - `NamespaceNotFound` / `NamespaceExists`: lifecycle state.
 * - `DocumentNotFound`: a patch named a document that does not exist.
 * - `VersionConflict`: an `ifVersion` write found another latest version;
 *   `expected` and `actual` say which. Re-read and decide.
 * - `VersionNotFound`: an `atVersion` read named a version that does not
 *   exist (not yet written, or garbage collected).
 * - `Conflict`: a commit lost the manifest race more times than the retry
 *   budget allows; nothing was applied, retrying is safe.
 * - `Storage`: the store failed (after the engine's own retries). The
 *   outcome of a write may be unknown: retry it with the same
 *   `idempotencyKey` to apply it at most once.
 * - `Corrupt`: an object on storage does not decode or does not match what
 *   its manifest says about it.
 *
 * Guards (`isVersionConflict`, ...) test the `code` and a brand from the
 * global symbol registry rather than `instanceof`, so they keep working when
 * two copies of this package are installed.
 */
import { isCorruptStoredIndex } from "@skerry/query";

export type NamespaceEngineErrorCode =
  | "InvalidArgument"
  | "NamespaceNotFound"
  | "NamespaceExists"
  | "DocumentNotFound"
  | "VersionConflict"
  | "VersionNotFound"
  | "Conflict"
  | "Storage"
  | "Corrupt";

const BRAND = Symbol.for("@skerry/namespace-engine/NamespaceEngineError");

/** Base class of every namespace-engine error. Never thrown directly. */
export abstract class NamespaceEngineError extends Error {
  abstract readonly code: NamespaceEngineErrorCode;
  /** True when the same call may succeed if tried again unchanged. */
  abstract readonly retryable: boolean;
  readonly [BRAND] = true;

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }

  override get name(): string {
    return `${this.code}Error`;
  }
}

export class InvalidArgumentError extends NamespaceEngineError {
  readonly code = "InvalidArgument" as const;
  readonly retryable = false;
}

/** A text field names a language the engine has no stemmer and stop words for (code InvalidArgument). */
export class UnsupportedLanguageError extends InvalidArgumentError {
  constructor(
    readonly language: string,
    readonly supported: readonly string[],
  ) {
    super(`unsupported text language ${JSON.stringify(language)}; supported: ${supported.join(", ")}`);
  }
}

/**
 * A write does not fit the namespace's typed schema (code InvalidArgument): `document` names the document id,
 * `attribute` the attribute (`id` for the document id itself), `expected` the schema's type.
 */
export class SchemaViolationError extends InvalidArgumentError {
  constructor(
    readonly document: string,
    readonly attribute: string,
    readonly expected: string,
    detail: string,
  ) {
    super(`document ${JSON.stringify(document)}: ${attribute === "id" ? "id" : `attribute ${JSON.stringify(attribute)}`} ${detail}`);
  }
}

/** A schema change the evolution rules refuse, e.g. changing an attribute's type (code InvalidArgument). */
export class SchemaChangeError extends InvalidArgumentError {
  constructor(
    readonly attribute: string,
    readonly from: string,
    readonly to: string,
  ) {
    super(`schema: ${attribute === "id" ? "the id type" : `attribute ${JSON.stringify(attribute)}`} is ${from}; changing it to ${to} is not supported`);
  }
}

/** A query filters on an attribute declared `filterable: false` (code InvalidArgument). */
export class UnfilterableAttributeError extends InvalidArgumentError {
  constructor(readonly attribute: string) {
    super(`attribute ${JSON.stringify(attribute)} is not filterable (its schema says filterable: false)`);
  }
}

export class NamespaceNotFoundError extends NamespaceEngineError {
  readonly code = "NamespaceNotFound" as const;
  readonly retryable = false;
  constructor(readonly namespace: string) {
    super(`namespace not found: ${namespace}`);
  }
}

export class NamespaceExistsError extends NamespaceEngineError {
  readonly code = "NamespaceExists" as const;
  readonly retryable = false;
  constructor(readonly namespace: string) {
    super(`namespace already exists: ${namespace}`);
  }
}

export class DocumentNotFoundError extends NamespaceEngineError {
  readonly code = "DocumentNotFound" as const;
  readonly retryable = false;
  constructor(
    readonly namespace: string,
    /** The ids the write needed that do not exist (at most the first 16). */
    readonly ids: readonly string[],
  ) {
    super(`document${ids.length === 1 ? "" : "s"} not found in ${namespace}: ${ids.map((id) => JSON.stringify(id)).join(", ")}`);
  }
}

export class VersionConflictError extends NamespaceEngineError {
  readonly code = "VersionConflict" as const;
  readonly retryable = false;
  constructor(
    readonly namespace: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`version conflict on ${namespace}: expected manifest version ${expected}, found ${actual}`);
  }
}

export class VersionNotFoundError extends NamespaceEngineError {
  readonly code = "VersionNotFound" as const;
  readonly retryable = false;
  constructor(
    readonly namespace: string,
    readonly version: number,
  ) {
    super(`manifest version ${version} of ${namespace} does not exist`);
  }
}

export class ConflictError extends NamespaceEngineError {
  readonly code = "Conflict" as const;
  readonly retryable = true;
}

export class StorageFailureError extends NamespaceEngineError {
  readonly code = "Storage" as const;
  readonly retryable: boolean;
  constructor(message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, options);
    this.retryable = options.retryable ?? true;
  }
}

export class CorruptError extends NamespaceEngineError {
  readonly code = "Corrupt" as const;
  readonly retryable = false;
  constructor(
    message: string,
    readonly key: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
  }
}

/**
 * `error` as the engine raises it: @skerry/query's CorruptStoredIndexError (a stored query index found
 * damaged by a ranged read) becomes the engine's CorruptError naming the same key, with the original as its
 * cause; anything else is returned unchanged.
 */
export function asEngineError(error: unknown): unknown {
  if (isCorruptStoredIndex(error)) return new CorruptError(error.message, error.key, { cause: error });
  return error;
}

/** True for any error raised by this package, from any copy of it. */
export function isNamespaceEngineError(value: unknown): value is NamespaceEngineError {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<symbol, unknown>)[BRAND] === true &&
    typeof (value as { code?: unknown }).code === "string"
  );
}

function guard<E extends NamespaceEngineError>(code: E["code"]) {
  return (value: unknown): value is E => isNamespaceEngineError(value) && value.code === code;
}

export const isInvalidArgument = guard<InvalidArgumentError>("InvalidArgument");
export const isNamespaceNotFound = guard<NamespaceNotFoundError>("NamespaceNotFound");
export const isNamespaceExists = guard<NamespaceExistsError>("NamespaceExists");
export const isDocumentNotFound = guard<DocumentNotFoundError>("DocumentNotFound");
export const isVersionConflict = guard<VersionConflictError>("VersionConflict");
export const isVersionNotFound = guard<VersionNotFoundError>("VersionNotFound");
export const isConflict = guard<ConflictError>("Conflict");
export const isStorageFailure = guard<StorageFailureError>("Storage");
export const isCorrupt = guard<CorruptError>("Corrupt");
