/**
 * The read and write path shared by every JSON document on storage.
 *
 * Read: bytes -> strict UTF-8 -> JSON.parse -> `schema_version` check ->
 * zod validation -> cross-field checks -> typed value. Write: typed value ->
 * wire object -> the same validation -> JSON -> UTF-8. Validating on write too
 * means this package can never produce a document it would refuse to read.
 *
 * `schema_version` is checked before anything else: a reader that sees a
 * newer version throws `UnsupportedVersionError` and looks no further, since
 * a newer writer may have changed the meaning of fields this reader knows.
 *
 * Errors: `SchemaError` (document name + dotted field path) for anything
 * malformed, `UnsupportedVersionError` for a newer `schema_version`. Nothing
 * else escapes: zod, JSON and UTF-8 failures are wrapped.
 */
import type { z } from "zod";
import { isWalFormatError, SchemaError, UnsupportedVersionError } from "../errors.ts";
import { strictTextDecoder, textEncoder } from "../internal/binary.ts";

/** Default cap on a JSON document's size, checked before parsing. */
export const DEFAULT_MAX_DOCUMENT_BYTES = 64 * 1024 * 1024;

export interface DecodeDocumentOptions {
  /** Reject inputs larger than this many bytes (default 64 MiB). */
  maxBytes?: number;
}

export interface JsonDocumentSpec<T> {
  /** Document name used in errors, e.g. `mutation-state`. */
  readonly document: string;
  /** Newest `schema_version` this code reads and writes. */
  readonly schemaVersion: number;
  /** zod schema of the wire JSON. */
  readonly schema: z.ZodType;
  /** Map a validated raw wire object to the typed value. */
  fromWire(raw: Record<string, unknown>): T;
  /** Map a typed value to its wire object (known fields then extras). */
  toWire(value: T): Record<string, unknown>;
  /** Invariants spanning several fields; return a [field, detail] to reject. */
  check?(raw: Record<string, unknown>): [field: string, detail: string] | undefined;
}

/** `a.b[2].c` from a zod issue path. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** Validate a raw wire object against a spec; returns it typed or throws. */
export function validateWire<T>(spec: JsonDocumentSpec<T>, raw: unknown): Record<string, unknown> {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new SchemaError(spec.document, "", "expected a JSON object");
  }
  const record = raw as Record<string, unknown>;
  const version = record["schema_version"];
  if (typeof version === "number" && Number.isInteger(version) && version > spec.schemaVersion) {
    throw new UnsupportedVersionError(spec.document, version, spec.schemaVersion);
  }
  // jitless: zod's compiled fast path costs milliseconds per object schema on its first parse, and most documents
  // are parsed a few times per process (a manifest per version, a marker, an intent): interpreting is cheaper.
  const result = spec.schema.safeParse(record, { jitless: true });
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new SchemaError(spec.document, formatPath(issue?.path ?? []), issue?.message ?? "invalid", result.error);
  }
  const problem = spec.check?.(record);
  if (problem !== undefined) throw new SchemaError(spec.document, problem[0], problem[1]);
  return record;
}

/** Parse and validate a document from bytes (or a string of JSON). */
/**
 * The JSON value of a document's bytes or text: size cap, strict UTF-8, JSON syntax. Errors are
 * `SchemaError`s naming `document`.
 */
export function parseDocumentJson(document: string, input: Uint8Array | string, options: DecodeDocumentOptions = {}): unknown {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_DOCUMENT_BYTES;
  let text: string;
  if (typeof input === "string") {
    if (input.length > maxBytes) throw new SchemaError(document, "", `document of ${input.length} characters exceeds the ${maxBytes}-byte cap`);
    text = input;
  } else if (input instanceof Uint8Array) {
    if (input.length > maxBytes) throw new SchemaError(document, "", `document of ${input.length} bytes exceeds the ${maxBytes}-byte cap`);
    try {
      text = strictTextDecoder.decode(input);
    } catch (error) {
      throw new SchemaError(document, "", "not valid UTF-8", error);
    }
  } else {
    throw new SchemaError(document, "", "expected bytes or a string");
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    // JSON.parse throws SyntaxError, or RangeError on absurd nesting.
    throw new SchemaError(document, "", `not valid JSON: ${(error as Error).message}`, error);
  }
}

/** Maps a validated wire record to its value; a non-typed failure becomes a `SchemaError`. */
export function mapDocument<T>(document: string, fromWire: () => T): T {
  try {
    return fromWire();
  } catch (error) {
    if (isWalFormatError(error)) throw error;
    throw new SchemaError(document, "", `could not map the document: ${String(error)}`, error);
  }
}

export function decodeDocument<T>(spec: JsonDocumentSpec<T>, input: Uint8Array | string, options: DecodeDocumentOptions = {}): T {
  const record = validateWire(spec, parseDocumentJson(spec.document, input, options));
  return mapDocument(spec.document, () => spec.fromWire(record));
}

export function encodeDocument<T>(spec: JsonDocumentSpec<T>, value: T): Uint8Array {
  let wire: Record<string, unknown>;
  try {
    wire = spec.toWire(value);
  } catch (error) {
    if (isWalFormatError(error)) throw error;
    throw new SchemaError(spec.document, "", `cannot encode: ${String(error)}`, error);
  }
  validateWire(spec, wire);
  let text: string;
  try {
    text = JSON.stringify(wire);
  } catch (error) {
    // Only reachable through `extra` values that are not JSON (a bigint, a cycle).
    throw new SchemaError(spec.document, "", `cannot serialize: ${String(error)}`, error);
  }
  return textEncoder.encode(text);
}
