/**
 * Validating a write and turning it into encoded log entries.
 *
 * Everything that can be checked without the namespace's current state is
 * checked here, before the write joins a commit group: non-empty ids of at
 * most `maxIdBytes` UTF-8 bytes, finite numbers only (vectors must also fit
 * float32), one vector dimension per request, well-formed sparse vectors,
 * string text fields, JSON attributes of bounded depth, the operation cap and
 * the byte cap. The checks that need the namespace (the dimension fixed by
 * the first vector ever written, patched documents existing) run at commit
 * time against the manifest the commit builds on, and again after a rebase.
 *
 * Row ids for upserted and patched rows are minted here from the injected
 * IdGenerator, so a request's log entries are final bytes; a commit group
 * only concatenates them.
 *
 * Errors: `InvalidArgumentError` naming the item index and the rule.
 */
import { flattenIdSpans, type IdGenerator, type NamespaceSchema, type RowId } from "@skerry/wal-format";
import { type ObservedTypes, typeAttributes } from "./attribute-typing.ts";
import { type DocumentId, type DocumentInput, type DocumentPatch, type JsonValue, normalizedStringId, type SparseVector, uintIdKey } from "../namespace/index.ts";
import { InvalidArgumentError, SchemaViolationError } from "../core/index.ts";
import { encodeLogEntries, type LogEntry, type LogOp } from "../log/index.ts";
import { setOwn } from "@skerry/query";
import { parseWriteCondition, type WriteCondition } from "./write-condition.ts";

/** Caps on one write. */
export interface WriteLimits {
  /** Most operations in one write (and in one commit group); default 10,000. */
  readonly maxBatchOps: number;
  /** Most encoded bytes in one write (and in one commit group); default 64 MiB. */
  readonly maxBatchBytes: number;
  /** Longest document id in UTF-8 bytes; default 512. */
  readonly maxIdBytes: number;
  /** Deepest nesting of attribute values; default 32. */
  readonly maxAttributeDepth: number;
}

export const DEFAULT_WRITE_LIMITS: WriteLimits = {
  maxBatchOps: 10_000,
  maxBatchBytes: 64 * 1024 * 1024,
  maxIdBytes: 512,
  maxAttributeDepth: 32,
};

/** Largest vector dimension (the manifest's and the row batch's cap). */
export const MAX_DIMENSION = 65_536;

export type WriteKind = "upsert" | "patch" | "delete" | "batch";

/** The conditions of a batch write, per op kind (write-condition.ts). */
export interface BatchConditions {
  readonly upsert?: WriteCondition;
  readonly patch?: WriteCondition;
  readonly delete?: WriteCondition;
}

/** A validated write, ready to join a commit group. */
export interface EncodedWrite {
  readonly kind: WriteKind;
  /** Operations (documents, patches or ids) in the write. */
  readonly count: number;
  /** Encoded log entries, in order. */
  readonly entries: readonly Uint8Array[];
  readonly bytes: number;
  /** Per entry: the op, the document id (for existence checks at commit) and the row id it creates. */
  readonly ops: readonly { readonly op: LogOp; readonly id: string; readonly rowId?: RowId }[];
  /**
   * Batch writes only: the entries before encoding (evaluated against the state at commit) and the conditions.
   * Entry i is `entries[i]`; the commit logs the entries that apply (write-committer.ts).
   */
  readonly logEntries?: readonly LogEntry[];
  readonly conditions?: BatchConditions;
  /** The vector dimension this write uses, if it carries any vector. */
  readonly dimension?: number;
  /** Smallest and largest row id minted for this write, if any. */
  readonly rowIds?: { readonly first: RowId; readonly last: RowId };
  /** Attribute types of the written values (attribute-typing.ts), checked against the schema at commit. */
  readonly observed?: ObservedTypes;
  /** How the ids were given: any as integers (uint ids), any as strings. */
  readonly idKinds: { readonly integer: boolean; readonly string: boolean };
}

/** What one encoding needs and collects beyond the write itself. */
interface EncodeContext {
  readonly limits: WriteLimits;
  /** The namespace's schema as the engine last saw it (values are checked and normalized against it). */
  readonly schema: NamespaceSchema | undefined;
  readonly observed: ObservedTypes;
  readonly idKinds: { integer: boolean; string: boolean };
}

function context(limits: WriteLimits, schema: NamespaceSchema | undefined): EncodeContext {
  return { limits, schema, observed: new Map(), idKinds: { integer: false, string: false } };
}

const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

function fail(index: number, message: string): never {
  throw new InvalidArgumentError(`item ${index}: ${message}`);
}

function checkId(id: unknown, index: number, ctx: EncodeContext): string {
  if (typeof id === "number" || typeof id === "bigint") {
    ctx.idKinds.integer = true;
    try {
      return uintIdKey(id);
    } catch (error) {
      fail(index, (error as Error).message);
    }
  }
  if (typeof id !== "string" || id.length === 0) fail(index, "id must be a non-empty string or an unsigned integer");
  if (LONE_SURROGATE.test(id)) fail(index, "id has a lone UTF-16 surrogate");
  const bytes = Buffer.byteLength(id, "utf8");
  if (bytes > ctx.limits.maxIdBytes) fail(index, `id is ${bytes} bytes of UTF-8; the limit is ${ctx.limits.maxIdBytes}`);
  ctx.idKinds.string = true;
  return normalizedStringId(id, ctx.schema?.idType);
}

function checkVector(vector: unknown, index: number, dims: { value?: number }): Float32Array {
  if (!(Array.isArray(vector) || vector instanceof Float32Array)) fail(index, "vector must be an array of numbers");
  const values = vector as ArrayLike<unknown>;
  if (values.length < 1 || values.length > MAX_DIMENSION) fail(index, `vector dimension must be 1-${MAX_DIMENSION}, got ${values.length}`);
  if (dims.value !== undefined && dims.value !== values.length) {
    fail(index, `vector dimension ${values.length} differs from ${dims.value} used earlier in this write`);
  }
  dims.value = values.length;
  if (vector instanceof Float32Array) {
    // Already float32: only NaN and infinities can be wrong. Not copied: the write is encoded to bytes before
    // encodeUpsert/encodePatch return, so a caller reusing its buffer afterwards cannot change it.
    for (let i = 0; i < vector.length; i++) {
      if (!Number.isFinite(vector[i] as number)) fail(index, `vector[${i}] must be a finite number, got ${vector[i]}`);
    }
    return vector;
  }
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (typeof x !== "number" || !Number.isFinite(x)) fail(index, `vector[${i}] must be a finite number, got ${String(x)}`);
    out[i] = x;
    if (!Number.isFinite(out[i] as number)) fail(index, `vector[${i}] = ${x} does not fit float32`);
  }
  return out;
}

function checkSparse(sparse: unknown, index: number): { indices: Uint32Array; values: Float32Array } {
  if (typeof sparse !== "object" || sparse === null) fail(index, "sparse must be {indices, values}");
  const { indices, values } = sparse as SparseVector;
  const isList = (v: unknown) => Array.isArray(v) || v instanceof Uint32Array || v instanceof Float32Array;
  if (!isList(indices) || !isList(values)) fail(index, "sparse.indices and sparse.values must be arrays");
  if (indices.length !== values.length) fail(index, `sparse has ${indices.length} indices but ${values.length} values`);
  const outIndices = new Uint32Array(indices.length);
  const outValues = new Float32Array(values.length);
  let previous = -1;
  for (let i = 0; i < indices.length; i++) {
    const k = indices[i];
    const v = values[i];
    if (typeof k !== "number" || !Number.isInteger(k) || k < 0 || k > 0xffff_ffff) {
      fail(index, `sparse.indices[${i}] must be an integer in [0, 2^32 - 1]`);
    }
    if (k <= previous) fail(index, "sparse.indices must be strictly increasing");
    if (typeof v !== "number" || !Number.isFinite(v) || !Number.isFinite(Math.fround(v))) {
      fail(index, `sparse.values[${i}] must be a finite number that fits float32`);
    }
    previous = k;
    outIndices[i] = k;
    outValues[i] = v;
  }
  return { indices: outIndices, values: outValues };
}

function checkText(text: unknown, index: number, allowNull: boolean): Record<string, string | null> {
  if (typeof text !== "object" || text === null || Array.isArray(text)) fail(index, "text must be an object of strings");
  const out: Record<string, string | null> = {};
  for (const [name, value] of Object.entries(text)) {
    if (name.length === 0) fail(index, "text field names must not be empty");
    if (value === null && allowNull) {
      setOwn(out, name, null);
      continue;
    }
    if (typeof value !== "string") fail(index, `text.${name} must be a string${allowNull ? " or null" : ""}`);
    setOwn(out, name, value);
  }
  return out;
}

/** True when `value` is a JSON value of at most `maxDepth` further levels (the fast path: no paths built). */
function isJson(value: unknown, depth: number, maxDepth: number): boolean {
  if (depth > maxDepth) return false;
  // A bigint is an integer beyond 2^53-1 (range-checked by attribute-typing.ts).
  if (value === null || typeof value === "boolean" || typeof value === "string" || typeof value === "bigint") return true;
  if (typeof value === "number") return Number.isFinite(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!isJson(value[i], depth + 1, maxDepth)) return false;
    return true;
  }
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    for (const key in value) {
      if (Object.hasOwn(value, key) && !isJson((value as Record<string, unknown>)[key], depth + 1, maxDepth)) return false;
    }
    return true;
  }
  return false;
}

/** Throws naming the first offending path; only called once `isJson` said no. */
function checkJson(value: unknown, index: number, path: string, depth: number, limits: WriteLimits): void {
  if (depth > limits.maxAttributeDepth) fail(index, `${path} nests deeper than ${limits.maxAttributeDepth} levels`);
  if (value === null || typeof value === "boolean" || typeof value === "string" || typeof value === "bigint") return;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) fail(index, `${path} must be a finite number, got ${String(value)}`);
    return;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) checkJson(value[i], index, `${path}[${i}]`, depth + 1, limits);
    return;
  }
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [key, inner] of Object.entries(value)) checkJson(inner, index, `${path}.${key}`, depth + 1, limits);
    return;
  }
  fail(index, `${path} is not a JSON value (${typeof value})`);
}

function checkAttributes(attributes: unknown, index: number, limits: WriteLimits): Record<string, JsonValue | null> {
  if (typeof attributes !== "object" || attributes === null || Array.isArray(attributes)) {
    fail(index, "attributes must be a JSON object");
  }
  if (!isJson(attributes, 0, limits.maxAttributeDepth)) checkJson(attributes, index, "attributes", 0, limits);
  return attributes as Record<string, JsonValue | null>;
}

function checkCount(items: unknown, what: string, limits: WriteLimits): readonly unknown[] {
  if (!Array.isArray(items)) throw new InvalidArgumentError(`${what} must be an array`);
  if (items.length === 0) throw new InvalidArgumentError(`${what} must not be empty`);
  if (items.length > limits.maxBatchOps) {
    throw new InvalidArgumentError(`${what} has ${items.length} items; the batch cap is ${limits.maxBatchOps}`);
  }
  return items;
}

function finish(
  kind: WriteKind,
  logEntries: LogEntry[],
  dims: { value?: number },
  ids: RowId[],
  ctx: EncodeContext,
  batch?: { conditions: BatchConditions },
): EncodedWrite {
  const { limits } = ctx;
  const entries = encodeLogEntries(logEntries);
  let bytes = 0;
  for (const entry of entries) bytes += entry.length + 8;
  if (bytes > limits.maxBatchBytes) {
    throw new InvalidArgumentError(`write encodes to ${bytes} bytes; the byte cap is ${limits.maxBatchBytes}`);
  }
  const first = ids[0];
  const last = ids[ids.length - 1];
  return {
    kind,
    count: logEntries.length,
    entries,
    bytes,
    ops: logEntries.map((e) => (e.rowId === undefined ? { op: e.op, id: e.id } : { op: e.op, id: e.id, rowId: e.rowId })),
    ...(dims.value === undefined ? {} : { dimension: dims.value }),
    ...(batch === undefined ? {} : { logEntries, conditions: batch.conditions }),
    ...(first === undefined || last === undefined ? {} : { rowIds: { first, last } }),
    ...(ctx.observed.size === 0 ? {} : { observed: ctx.observed }),
    idKinds: ctx.idKinds,
  };
}

function mint(ids: IdGenerator, count: number): RowId[] {
  return count === 0 ? [] : flattenIdSpans(ids.reserveRange(count));
}

/** Sets each entry's row id in place (the entries are this module's own objects). */
function withRowIds(entries: Omit<LogEntry, "rowId">[], rowIds: readonly RowId[]): LogEntry[] {
  for (let i = 0; i < entries.length; i++) (entries[i] as { rowId?: RowId }).rowId = rowIds[i] as RowId;
  return entries as LogEntry[];
}

/** Validates and encodes an upsert. */
export function encodeUpsert(docs: readonly DocumentInput<DocumentId>[], idGenerator: IdGenerator, limits: WriteLimits, schema?: NamespaceSchema): EncodedWrite {
  const items = checkCount(docs, "upsert documents", limits);
  const dims: { value?: number } = {};
  const ctx = context(limits, schema);
  const entries = items.map((raw, index) => upsertEntry(raw, index, dims, ctx));
  const rowIds = mint(idGenerator, entries.length);
  return finish("upsert", withRowIds(entries, rowIds), dims, rowIds, ctx);
}

function upsertEntry(raw: unknown, index: number, dims: { value?: number }, ctx: EncodeContext): Omit<LogEntry, "rowId"> {
  if (typeof raw !== "object" || raw === null) fail(index, "document must be an object");
  const doc = raw as DocumentInput;
  const entry: {
    op: LogOp;
    id: string;
    vector?: Float32Array;
    sparse?: { indices: Uint32Array; values: Float32Array };
    text?: Record<string, string | null>;
    attributes?: Record<string, JsonValue | null>;
  } = { op: "UPSERT", id: checkId(doc.id, index, ctx) };
  if (doc.vector !== undefined) entry.vector = checkVector(doc.vector, index, dims);
  if (doc.sparse !== undefined) entry.sparse = checkSparse(doc.sparse, index);
  if (doc.text !== undefined) entry.text = checkText(doc.text, index, false);
  if (doc.attributes !== undefined) entry.attributes = typeAttributes(entry.id, checkAttributes(doc.attributes, index, ctx.limits), ctx.schema, ctx.observed);
  return entry;
}

/** Validates and encodes a patch. */
export function encodePatch(patches: readonly DocumentPatch<DocumentId>[], idGenerator: IdGenerator, limits: WriteLimits, schema?: NamespaceSchema): EncodedWrite {
  const items = checkCount(patches, "patches", limits);
  const dims: { value?: number } = {};
  const ctx = context(limits, schema);
  const entries = items.map((raw, index) => patchEntry(raw, index, dims, ctx));
  const rowIds = mint(idGenerator, entries.length);
  return finish("patch", withRowIds(entries, rowIds), dims, rowIds, ctx);
}

function patchEntry(raw: unknown, index: number, dims: { value?: number }, ctx: EncodeContext): Omit<LogEntry, "rowId"> {
  if (typeof raw !== "object" || raw === null) fail(index, "patch must be an object");
  const patch = raw as DocumentPatch;
  const entry: {
    op: LogOp;
    id: string;
    vector?: Float32Array;
    vectorCleared?: boolean;
    sparse?: { indices: Uint32Array; values: Float32Array };
    sparseCleared?: boolean;
    text?: Record<string, string | null>;
    attributes?: Record<string, JsonValue | null>;
  } = { op: "PATCH", id: checkId(patch.id, index, ctx) };
  if (patch.vector === null) entry.vectorCleared = true;
  else if (patch.vector !== undefined) entry.vector = checkVector(patch.vector, index, dims);
  if (patch.sparse === null) entry.sparseCleared = true;
  else if (patch.sparse !== undefined) entry.sparse = checkSparse(patch.sparse, index);
  if (patch.text !== undefined) entry.text = checkText(patch.text, index, true);
  if (patch.attributes !== undefined) entry.attributes = typeAttributes(entry.id, checkAttributes(patch.attributes, index, ctx.limits), ctx.schema, ctx.observed);
  return entry;
}

/** Validates and encodes a delete by ids. */
export function encodeDelete(ids: readonly DocumentId[], limits: WriteLimits, schema?: NamespaceSchema): EncodedWrite {
  const items = checkCount(ids, "delete ids", limits);
  const ctx = context(limits, schema);
  const entries: LogEntry[] = items.map((id, index) => ({ op: "DELETE", id: checkId(id, index, ctx) }));
  return finish("delete", entries, {}, [], ctx);
}

/** A batch write: upserts, patches and deletes with optional per-kind conditions, committed as one (engine `write`). */
export interface WriteBatch {
  readonly upserts?: readonly DocumentInput<DocumentId>[] | undefined;
  readonly patches?: readonly DocumentPatch<DocumentId>[] | undefined;
  readonly deletes?: readonly DocumentId[] | undefined;
  /** Condition on each upsert of an existing document (write-condition.ts); a missing document is upserted. */
  readonly upsertCondition?: unknown;
  /** Condition on each patch (patches of missing documents are skipped). */
  readonly patchCondition?: unknown;
  /** Condition on each delete (deletes of missing documents are skipped). */
  readonly deleteCondition?: unknown;
}

const BATCH_KEYS = new Set(["upserts", "patches", "deletes", "upsertCondition", "patchCondition", "deleteCondition"]);

function list(items: unknown, what: string): readonly unknown[] {
  if (items === undefined) return [];
  if (!Array.isArray(items)) throw new InvalidArgumentError(`${what} must be an array`);
  return items;
}

/** Runs `fn`, naming `what` in its InvalidArgumentError ("upserts: item 3: ..."). */
function within<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    // A schema violation names its document already, and keeps its type.
    if (error instanceof InvalidArgumentError && !(error instanceof SchemaViolationError)) throw new InvalidArgumentError(`${what}: ${error.message}`);
    throw error;
  }
}

/**
 * Validates and encodes a batch write: its upserts, then its patches, then its deletes (the order they apply in),
 * and its conditions. At least one operation; at most `maxBatchOps` in all.
 */
export function encodeBatch(batch: WriteBatch, idGenerator: IdGenerator, limits: WriteLimits, schema?: NamespaceSchema): EncodedWrite {
  if (typeof batch !== "object" || batch === null || Array.isArray(batch)) throw new InvalidArgumentError("a batch write is an object");
  for (const key of Object.keys(batch)) if (!BATCH_KEYS.has(key)) throw new InvalidArgumentError(`unknown batch write field ${JSON.stringify(key)}`);
  const upserts = list(batch.upserts, "upserts");
  const patches = list(batch.patches, "patches");
  const deletes = list(batch.deletes, "deletes");
  const total = upserts.length + patches.length + deletes.length;
  if (total === 0) throw new InvalidArgumentError("a batch write needs at least one upsert, patch or delete");
  if (total > limits.maxBatchOps) throw new InvalidArgumentError(`the batch has ${total} operations; the batch cap is ${limits.maxBatchOps}`);
  const dims: { value?: number } = {};
  const ctx = context(limits, schema);
  const written: Omit<LogEntry, "rowId">[] = [
    ...within("upserts", () => upserts.map((raw, index) => upsertEntry(raw, index, dims, ctx))),
    ...within("patches", () => patches.map((raw, index) => patchEntry(raw, index, dims, ctx))),
  ];
  const rowIds = mint(idGenerator, written.length);
  const entries = withRowIds(written, rowIds);
  entries.push(...within("deletes", () => deletes.map((id, index): LogEntry => ({ op: "DELETE", id: checkId(id, index, ctx) }))));
  const condition = (raw: unknown, where: string) => (raw === undefined || raw === null ? undefined : parseWriteCondition(raw, where));
  const upsert = condition(batch.upsertCondition, "upsertCondition");
  const patch = condition(batch.patchCondition, "patchCondition");
  const del = condition(batch.deleteCondition, "deleteCondition");
  const conditions: BatchConditions = {
    ...(upsert === undefined ? {} : { upsert }),
    ...(patch === undefined ? {} : { patch }),
    ...(del === undefined ? {} : { delete: del }),
  };
  return finish("batch", entries, dims, rowIds, ctx, { conditions });
}
