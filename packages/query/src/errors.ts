/**
 * The closed set of errors the query module raises.
 *
 * - `InvalidQuery`: the request is wrong: it does not match the schema, names
 *   an unknown operator, carries NaN, asks for more than the topK cap, has a
 *   vector of the wrong dimension, or compares an attribute with a value of a
 *   type the attribute never holds. `path` points into the request JSON
 *   (e.g. `["filters", 1, 2]`) and `reason` says which rule broke. Fix the
 *   request; retrying cannot help.
 * - `InvalidDocument`: `buildQueryIndex` was given a document it cannot index
 *   (wrong vector dimension, a non-finite number, a duplicate id, unsorted
 *   sparse indices). The engine validates documents on write, so this means
 *   a bug or a corrupt segment.
 * - `CorruptIndex`: serialized index bytes fail a check (magic, length,
 *   checksum, structure). Rebuild the index from its segment.
 * - `UnsupportedIndexVersion`: the bytes were written by a newer format
 *   version than this reader knows. Rebuild, or upgrade the reader.
 *
 * Guards test `code` plus a brand from the global symbol registry, so they
 * work across duplicate installs of the package.
 */

export type QueryErrorCode = "InvalidQuery" | "InvalidDocument" | "CorruptIndex" | "UnsupportedIndexVersion";

/** Which rule an invalid query broke. */
export type InvalidQueryReason =
  | "schema"
  | "unknown_operator"
  | "not_finite"
  | "top_k_cap"
  | "dimension_mismatch"
  | "type_mismatch"
  | "unknown_field"
  | "unsupported";

const BRAND = Symbol.for("@skerry/namespace-engine/QueryError");

/** Base class of every query error. Never thrown directly. */
export abstract class QueryError extends Error {
  abstract readonly code: QueryErrorCode;
  readonly retryable = false;
  readonly [BRAND] = true;

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }

  override get name(): string {
    return `${this.code}Error`;
  }
}

/** One problem found in a request, with its path into the request JSON. */
export interface QueryIssue {
  readonly path: readonly (string | number)[];
  readonly reason: InvalidQueryReason;
  readonly message: string;
}

export class InvalidQueryError extends QueryError {
  readonly code = "InvalidQuery" as const;
  /** Path of the first issue in the request JSON. */
  readonly path: readonly (string | number)[];
  readonly reason: InvalidQueryReason;
  /** Every issue found (at least one). */
  readonly issues: readonly QueryIssue[];

  constructor(issues: readonly QueryIssue[], options: { cause?: unknown } = {}) {
    const first = issues[0] ?? { path: [], reason: "schema" as const, message: "invalid query" };
    super(`invalid query at ${formatPath(first.path)}: ${first.message}`, options);
    this.path = first.path;
    this.reason = first.reason;
    this.issues = issues.length > 0 ? issues : [first];
  }

  static at(path: readonly (string | number)[], reason: InvalidQueryReason, message: string): InvalidQueryError {
    return new InvalidQueryError([{ path, reason, message }]);
  }
}

export class InvalidDocumentError extends QueryError {
  readonly code = "InvalidDocument" as const;
  constructor(
    message: string,
    /** Ordinal of the offending document in the input. */
    readonly position: number,
  ) {
    super(`document #${position}: ${message}`);
  }
}

export class CorruptIndexError extends QueryError {
  readonly code = "CorruptIndex" as const;
  constructor(
    message: string,
    readonly reason: "truncated" | "magic" | "checksum" | "length" | "structure",
    options: { cause?: unknown } = {},
  ) {
    super(`corrupt query index (${reason}): ${message}`, options);
  }
}

export class UnsupportedIndexVersionError extends QueryError {
  readonly code = "UnsupportedIndexVersion" as const;
  constructor(
    readonly version: number,
    readonly supported: number,
  ) {
    super(`query index format version ${version} is ${version > supported ? "newer than" : "not supported by"} this reader (${supported})`);
  }
}

/** Render a request path as `filters[1][2]`. */
export function formatPath(path: readonly (string | number)[]): string {
  if (path.length === 0) return "(root)";
  let out = "";
  for (const part of path) out += typeof part === "number" ? `[${part}]` : out === "" ? part : `.${part}`;
  return out;
}

/** True for any error raised by the query module, from any copy of it. */
export function isQueryError(value: unknown): value is QueryError {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<symbol, unknown>)[BRAND] === true &&
    typeof (value as { code?: unknown }).code === "string"
  );
}

function guard<E extends QueryError>(code: E["code"]) {
  return (value: unknown): value is E => isQueryError(value) && value.code === code;
}

export const isInvalidQuery = guard<InvalidQueryError>("InvalidQuery");
export const isInvalidDocument = guard<InvalidDocumentError>("InvalidDocument");
export const isCorruptIndex = guard<CorruptIndexError>("CorruptIndex");
export const isUnsupportedIndexVersion = guard<UnsupportedIndexVersionError>("UnsupportedIndexVersion");

const STORED_BRAND = Symbol.for("@skerry/query/CorruptStoredIndexError");

/**
 * A stored query index object read by range (src/cold) is damaged: a block
 * fails its checksum, a section or element range lies outside its array, a
 * meta document does not parse, a row count disagrees with its segment.
 * `key` names the object. Not a QueryError: the engine that stored the
 * object decides what it means (the namespace engine raises its own
 * `CorruptError` naming the same key, with this error as its cause).
 */
export class CorruptStoredIndexError extends Error {
  readonly code = "CorruptStoredIndex" as const;
  readonly retryable = false;
  readonly [STORED_BRAND] = true;

  constructor(
    message: string,
    readonly key: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }

  override get name(): string {
    return "CorruptStoredIndexError";
  }
}

/** True for a CorruptStoredIndexError from any copy of this package. */
export function isCorruptStoredIndex(value: unknown): value is CorruptStoredIndexError {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[STORED_BRAND] === true;
}
