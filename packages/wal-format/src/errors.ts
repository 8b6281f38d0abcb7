/**
 * The closed set of errors raised by wal-format.
 *
 * Parsers and decoders in this package never let a foreign exception escape
 * (no bare zod errors, no RangeError from Arrow or roaring, no SyntaxError
 * from JSON.parse): every failure becomes one of these classes, each with a
 * literal `code` that tells the caller what to do:
 *
 * - `IdParse`: a 128-bit id's wire form is wrong (length, non-hex, range).
 * - `Schema`: a JSON document does not match its schema; names the document
 *   and the field path.
 * - `UnsupportedVersion`: a document's `schema_version` or a binary format's
 *   version is newer than this reader knows. Not corruption: upgrade.
 * - `CorruptData`: binary input is truncated, has the wrong magic, an
 *   oversized length, a checksum mismatch or an inconsistent body.
 * - `ContentHashMismatch`: bytes do not hash to the BLAKE3 value recorded for
 *   them elsewhere (e.g. in a mutation state document).
 * - `InvalidInput`: an encoder or generator was handed a value it cannot
 *   represent (mixed vector dimensions, positions outside u32, ...).
 *
 * The guards test a brand symbol from the global registry and the `code`,
 * not `instanceof`, so they keep working when two copies of this package are
 * installed side by side.
 */

export type WalFormatErrorCode =
  | "IdParse"
  | "Schema"
  | "UnsupportedVersion"
  | "CorruptData"
  | "ContentHashMismatch"
  | "InvalidInput";

const BRAND = Symbol.for("@skerry/wal-format/WalFormatError");

/** Base class of every wal-format error. Never thrown directly. */
export abstract class WalFormatError extends Error {
  abstract readonly code: WalFormatErrorCode;
  readonly [BRAND] = true;

  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
  }

  override get name(): string {
    return `${this.code}Error`;
  }
}

export type IdParseReason = "wrong-length" | "invalid-hex" | "out-of-range" | "not-a-string";

/** The hex wire form of an id, or a bigint meant to be one, is invalid. */
export class IdParseError extends WalFormatError {
  readonly code = "IdParse" as const;
  readonly reason: IdParseReason;
  /** Length of the offending string (for `wrong-length`). */
  readonly length: number | undefined;
  /** Character position of the first bad hex pair (for `invalid-hex`). */
  readonly position: number | undefined;

  constructor(reason: IdParseReason, message: string, details: { length?: number; position?: number } = {}) {
    super(message);
    this.reason = reason;
    this.length = details.length;
    this.position = details.position;
  }
}

/** A JSON document does not match its schema. */
export class SchemaError extends WalFormatError {
  readonly code = "Schema" as const;
  /** Which document kind was being read or written, e.g. `mutation-state`. */
  readonly document: string;
  /** Dotted path of the offending field, e.g. `tombstone_progress[2].outcome`; empty for the root. */
  readonly field: string;

  constructor(document: string, field: string, detail: string, cause?: unknown) {
    super(`${document}: ${field === "" ? "<root>" : field}: ${detail}`, cause);
    this.document = document;
    this.field = field;
  }
}

/**
 * A document or binary object was written by a newer version of Skerry than
 * this reader supports. The bytes are probably fine; this reader must not
 * interpret (or, worse, rewrite) them.
 */
export class UnsupportedVersionError extends WalFormatError {
  readonly code = "UnsupportedVersion" as const;
  /** Document kind or binary format name. */
  readonly subject: string;
  readonly found: number;
  readonly supported: number;

  constructor(subject: string, found: number, supported: number) {
    super(`${subject}: version ${found} is newer than the supported version ${supported}`);
    this.subject = subject;
    this.found = found;
    this.supported = supported;
  }
}

export type CorruptDataReason =
  | "truncated"
  | "bad-magic"
  | "too-large"
  | "checksum-mismatch"
  | "malformed";

/** Binary input that cannot be what it claims to be. */
export class CorruptDataError extends WalFormatError {
  readonly code = "CorruptData" as const;
  /** Format name: `tombstone-sidecar`, `row-batch`, `framed-log` or `manifest` (its envelope). */
  readonly format: string;
  readonly reason: CorruptDataReason;
  /** Byte offset at which the problem was found, when known. */
  readonly offset: number | undefined;

  constructor(format: string, reason: CorruptDataReason, detail: string, options: { offset?: number; cause?: unknown } = {}) {
    super(`${format}: ${reason}${options.offset === undefined ? "" : ` at byte ${options.offset}`}: ${detail}`, options.cause);
    this.format = format;
    this.reason = reason;
    this.offset = options.offset;
  }
}

/** Bytes do not hash to the BLAKE3 value recorded for them. */
export class ContentHashMismatchError extends WalFormatError {
  readonly code = "ContentHashMismatch" as const;
  readonly expected: string;
  readonly actual: string;

  constructor(expected: string, actual: string) {
    super(`content hash mismatch: expected ${expected}, got ${actual}`);
    this.expected = expected;
    this.actual = actual;
  }
}

/** An encoder or generator was given a value it cannot represent. */
export class InvalidInputError extends WalFormatError {
  readonly code = "InvalidInput" as const;
}

/** True for any error raised by wal-format, from any copy of this package. */
export function isWalFormatError(value: unknown): value is WalFormatError {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<symbol, unknown>)[BRAND] === true &&
    typeof (value as { code?: unknown }).code === "string"
  );
}

function guard<E extends WalFormatError>(code: E["code"]) {
  return (value: unknown): value is E => isWalFormatError(value) && value.code === code;
}

export const isIdParseError = guard<IdParseError>("IdParse");
export const isSchemaError = guard<SchemaError>("Schema");
export const isUnsupportedVersionError = guard<UnsupportedVersionError>("UnsupportedVersion");
export const isCorruptDataError = guard<CorruptDataError>("CorruptData");
export const isContentHashMismatchError = guard<ContentHashMismatchError>("ContentHashMismatch");
export const isInvalidInputError = guard<InvalidInputError>("InvalidInput");
