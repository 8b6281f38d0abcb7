/**
 * One write-log entry: the payload of one framed-log entry in a log batch.
 *
 * A log batch object (`log/<uuid>.log`) is a wal-format framed log written
 * whole; entry i is position i of the container. Each entry is one operation
 * on one document: UPSERT (a whole document), PATCH (the changed fields,
 * merged at read time) or DELETE (an id). Upserts and patches carry the
 * RowId of the row version they create.
 *
 * Payload layout (little-endian), version 1:
 *
 *     0   u8   payload version = 1
 *     1   u8   op: 1 UPSERT, 2 PATCH, 3 DELETE
 *     2   u8   flags: 1 vector, 2 vector cleared, 4 sparse, 8 sparse cleared, 16 json
 *     3   u8   reserved = 0
 *     4   16   row id, big-endian (zero for DELETE)
 *     20  u32  id length n, then n bytes of UTF-8 id
 *          [vector]  u32 dimension d, then d float32
 *          [sparse]  u32 count k, then k u32 indices, then k float32 values
 *          [json]    u32 length j, then j bytes of UTF-8 JSON {"text"?, "attributes"?}
 *
 * Version 2 is version 1 with the JSON written as exact JSON (wal-format
 * exact-json.ts: an integer literal beyond 2^53-1 is a bigint): written only
 * for an entry whose attributes hold a bigint (i64/u64 values), so every
 * other entry keeps version 1's bytes. Both are read.
 *
 * In a patch's JSON, `null` values mean "remove". Decoding checks every
 * length against the bytes present and throws `CorruptError`.
 */
import { hasBigInt, parseExact, readIdBytes, type RowId, rowId, stringifyExact } from "@skerry/wal-format";
import type { JsonObject, JsonValue } from "../namespace/index.ts";
import { CorruptError } from "../core/index.ts";

export const LOG_ENTRY_VERSION = 1;
/** The payload version of an entry whose JSON is exact JSON (module comment). */
export const LOG_ENTRY_EXACT_VERSION = 2;

export type LogOp = "UPSERT" | "PATCH" | "DELETE";

const OP_CODE: Record<LogOp, number> = { UPSERT: 1, PATCH: 2, DELETE: 3 };
const OP_OF: Record<number, LogOp> = { 1: "UPSERT", 2: "PATCH", 3: "DELETE" };

const F_VECTOR = 1;
const F_VECTOR_CLEARED = 2;
const F_SPARSE = 4;
const F_SPARSE_CLEARED = 8;
const F_JSON = 16;
const KNOWN_FLAGS = F_VECTOR | F_VECTOR_CLEARED | F_SPARSE | F_SPARSE_CLEARED | F_JSON;

const HEADER = 20;

/** One decoded (or to-be-encoded) log entry. */
export interface LogEntry {
  readonly op: LogOp;
  readonly id: string;
  /** Row id of the row version this entry creates; absent for DELETE. */
  readonly rowId?: RowId;
  readonly vector?: Float32Array;
  /** PATCH only: the vector is removed. */
  readonly vectorCleared?: boolean;
  readonly sparse?: { readonly indices: Uint32Array; readonly values: Float32Array };
  /** PATCH only: the sparse vector is removed. */
  readonly sparseCleared?: boolean;
  /** UPSERT: the text fields; PATCH: changed fields, `null` removes. */
  readonly text?: Record<string, string | null>;
  /** UPSERT: the attributes; PATCH: changed attributes, `null` removes. */
  readonly attributes?: Record<string, JsonValue | null>;
}

/** Typed arrays use the platform's byte order; on little-endian hosts (all Node targets in practice) vectors copy as bytes. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

interface Sized {
  readonly entry: LogEntry;
  /** UTF-8 bytes of the id. */
  readonly idBytes: number;
  readonly json: string | undefined;
  /** UTF-8 bytes of `json`. */
  readonly jsonBytes: number;
  readonly size: number;
  /** The JSON is exact JSON (version 2). */
  readonly exact: boolean;
}

const U64_MASK = (1n << 64n) - 1n;

function measure(entry: LogEntry): Sized {
  // Buffer.byteLength and Buffer#write give the same bytes as TextEncoder (lone surrogates become U+FFFD;
  // ids never hold one, and JSON.stringify escapes them), without an allocation per string.
  const idBytes = Buffer.byteLength(entry.id, "utf8");
  let json: string | undefined;
  let jsonBytes = 0;
  const exact = entry.attributes !== undefined && hasBigInt(entry.attributes);
  if (entry.text !== undefined || entry.attributes !== undefined) {
    const body: Record<string, unknown> = {};
    if (entry.text !== undefined) body["text"] = entry.text;
    if (entry.attributes !== undefined) body["attributes"] = entry.attributes;
    json = exact ? stringifyExact(body) : JSON.stringify(body);
    jsonBytes = Buffer.byteLength(json, "utf8");
  }
  let size = HEADER + 4 + idBytes;
  if (entry.vector !== undefined) size += 4 + entry.vector.length * 4;
  if (entry.sparse !== undefined) size += 4 + entry.sparse.indices.length * 8;
  if (json !== undefined) size += 4 + jsonBytes;
  return { entry, idBytes, json, jsonBytes, size, exact };
}

function writeEntry(sized: Sized, out: Uint8Array, text: Buffer, view: DataView, start: number): void {
  const { entry, idBytes, json, jsonBytes } = sized;
  let flags = 0;
  if (entry.vector !== undefined) flags |= F_VECTOR;
  if (entry.vectorCleared === true) flags |= F_VECTOR_CLEARED;
  if (entry.sparse !== undefined) flags |= F_SPARSE;
  if (entry.sparseCleared === true) flags |= F_SPARSE_CLEARED;
  if (json !== undefined) flags |= F_JSON;
  out[start] = sized.exact ? LOG_ENTRY_EXACT_VERSION : LOG_ENTRY_VERSION;
  out[start + 1] = OP_CODE[entry.op];
  out[start + 2] = flags;
  out[start + 3] = 0;
  if (entry.rowId !== undefined) {
    const id = entry.rowId as bigint;
    if (id < 0n || id > ID_MAX) throw new RangeError(`row id ${id} is outside 128 bits`);
    view.setBigUint64(start + 4, id >> 64n);
    view.setBigUint64(start + 12, id & U64_MASK);
  }
  let at = start + 20;
  view.setUint32(at, idBytes, true);
  text.write(entry.id, at + 4, idBytes, "utf8");
  at += 4 + idBytes;
  if (entry.vector !== undefined) {
    const vector = entry.vector;
    const dim = vector.length;
    view.setUint32(at, dim, true);
    at += 4;
    if (LITTLE_ENDIAN) {
      out.set(new Uint8Array(vector.buffer, vector.byteOffset, dim * 4), at);
      at += dim * 4;
    } else {
      for (let i = 0; i < dim; i++, at += 4) view.setFloat32(at, vector[i] as number, true);
    }
  }
  if (entry.sparse !== undefined) {
    const count = entry.sparse.indices.length;
    view.setUint32(at, count, true);
    at += 4;
    for (let i = 0; i < count; i++, at += 4) view.setUint32(at, entry.sparse.indices[i] as number, true);
    for (let i = 0; i < count; i++, at += 4) view.setFloat32(at, entry.sparse.values[i] as number, true);
  }
  if (json !== undefined) {
    view.setUint32(at, jsonBytes, true);
    text.write(json, at + 4, jsonBytes, "utf8");
  }
}

const ID_MAX = (1n << 128n) - 1n;

/** Encodes one entry; the caller has validated its contents. */
export function encodeLogEntry(entry: LogEntry): Uint8Array {
  return encodeLogEntries([entry])[0] as Uint8Array;
}

/** Encodes many entries into one allocation; returns one view per entry. */
export function encodeLogEntries(entries: readonly LogEntry[]): Uint8Array[] {
  const sized = entries.map(measure);
  let total = 0;
  for (const s of sized) total += s.size;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  const text = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  const views: Uint8Array[] = new Array(sized.length);
  let at = 0;
  for (let i = 0; i < sized.length; i++) {
    const s = sized[i] as Sized;
    writeEntry(s, out, text, view, at);
    views[i] = out.subarray(at, at + s.size);
    at += s.size;
  }
  return views;
}

/** Decodes one entry of the object `key` (named in errors). */
export function decodeLogEntry(payload: Uint8Array, key: string): LogEntry {
  const fail = (why: string): never => {
    throw new CorruptError(`log batch ${key}: ${why}`, key);
  };
  if (payload.length < HEADER + 4) fail(`entry of ${payload.length} bytes is shorter than its header`);
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const version = payload[0];
  if (version !== LOG_ENTRY_VERSION && version !== LOG_ENTRY_EXACT_VERSION) fail(`unsupported entry version ${version}`);
  const op = OP_OF[payload[1] as number];
  if (op === undefined) return fail(`unknown op code ${payload[1]}`);
  const flags = payload[2] as number;
  if ((flags & ~KNOWN_FLAGS) !== 0 || payload[3] !== 0) fail(`unknown flags ${flags}`);
  const need = (at: number, n: number) => {
    if (at + n > payload.length) fail(`entry truncated at byte ${at} (needs ${n} more)`);
  };
  const rawRowId = readIdBytes(payload, 4);
  let at = 20;
  const idLength = view.getUint32(at, true);
  at += 4;
  need(at, idLength);
  let id: string;
  try {
    id = utf8Decoder.decode(payload.subarray(at, at + idLength));
  } catch (cause) {
    return fail(`id is not UTF-8 (${String(cause)})`);
  }
  at += idLength;
  const entry: {
    op: LogOp;
    id: string;
    rowId?: RowId;
    vector?: Float32Array;
    vectorCleared?: boolean;
    sparse?: { indices: Uint32Array; values: Float32Array };
    sparseCleared?: boolean;
    text?: Record<string, string | null>;
    attributes?: Record<string, JsonValue | null>;
  } = { op, id };
  if (op !== "DELETE") entry.rowId = rowId(rawRowId);
  if ((flags & F_VECTOR) !== 0) {
    need(at, 4);
    const dim = view.getUint32(at, true);
    at += 4;
    need(at, dim * 4);
    let vector: Float32Array;
    if (LITTLE_ENDIAN) {
      vector = new Float32Array(payload.slice(at, at + dim * 4).buffer);
      at += dim * 4;
    } else {
      vector = new Float32Array(dim);
      for (let i = 0; i < dim; i++, at += 4) vector[i] = view.getFloat32(at, true);
    }
    entry.vector = vector;
  }
  if ((flags & F_VECTOR_CLEARED) !== 0) entry.vectorCleared = true;
  if ((flags & F_SPARSE) !== 0) {
    need(at, 4);
    const count = view.getUint32(at, true);
    at += 4;
    need(at, count * 8);
    const indices = new Uint32Array(count);
    const values = new Float32Array(count);
    for (let i = 0; i < count; i++, at += 4) indices[i] = view.getUint32(at, true);
    for (let i = 0; i < count; i++, at += 4) values[i] = view.getFloat32(at, true);
    entry.sparse = { indices, values };
  }
  if ((flags & F_SPARSE_CLEARED) !== 0) entry.sparseCleared = true;
  if ((flags & F_JSON) !== 0) {
    need(at, 4);
    const length = view.getUint32(at, true);
    at += 4;
    need(at, length);
    let body: unknown;
    try {
      const text = utf8Decoder.decode(payload.subarray(at, at + length));
      body = version === LOG_ENTRY_EXACT_VERSION ? parseExact(text) : JSON.parse(text);
    } catch (cause) {
      return fail(`entry JSON does not parse (${String(cause)})`);
    }
    at += length;
    if (typeof body !== "object" || body === null || Array.isArray(body)) return fail("entry JSON is not an object");
    const { text, attributes } = body as { text?: unknown; attributes?: unknown };
    if (text !== undefined) {
      if (typeof text !== "object" || text === null || Array.isArray(text)) fail("entry text is not an object");
      entry.text = text as Record<string, string | null>;
    }
    if (attributes !== undefined) {
      if (typeof attributes !== "object" || attributes === null || Array.isArray(attributes)) fail("entry attributes are not an object");
      entry.attributes = attributes as JsonObject;
    }
  }
  if (at !== payload.length) fail(`entry has ${payload.length - at} trailing bytes`);
  return entry;
}
