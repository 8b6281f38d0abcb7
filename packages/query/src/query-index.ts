/**
 * QueryIndex: the columnar, query-ready snapshot of one partition (an
 * immutable segment, or the engine's unindexed log tail), and
 * `buildQueryIndex`, which makes one from live documents.
 *
 * Layout (all arrays in "slot" order):
 * - ids: a StringTable;
 * - dense vectors: one shared WasmMemory holding the row-major
 *   Float32 vectors, the pre-normalized copy (COSINE), 1/|v| per row and a
 *   "no vector" mask (see vector-kernel.ts);
 * - sparse vectors: CSR rows; text fields: inverted indexes with term
 *   frequencies and document lengths; attributes: typed columns with
 *   postings and sorted orders (attribute-columns.ts);
 * - optionally an IVF ANN index; when present, slots are sorted by IVF list
 *   so each list is a contiguous range of the vector memory.
 *
 * Slots vs positions: a document's *position* is its ordinal in the iterable
 * given to `buildQueryIndex` (for a segment: its row number). Slots are the
 * internal order, which differs when the IVF reorders rows. Everything the
 * engine sees (the `exclude` hook) speaks positions.
 *
 * Errors: `InvalidDocumentError` for documents that cannot be indexed
 * (duplicate id, wrong dimension, non-finite numbers, unsorted sparse
 * indices); a RangeError when the vectors exceed the 4 GiB a partition's
 * memory may hold.
 */
import { type AttributeColumn, buildAttributeColumn, columnValue } from "./attribute-columns.ts";
import { InvalidDocumentError } from "./errors.ts";
import { centroidCapacity, defaultListCount, defaultProbes, type IvfIndex, type IvfOptions, trainIvf } from "./ivf-index.ts";
import type { DistanceMetric, JsonValue, QueryDocument } from "./query-document.ts";
import type { SparseRows } from "./sparse-index.ts";
import { StringTable } from "./string-table.ts";
import { buildTextFieldIndex, type TextFieldIndex } from "./text-index.ts";
import { resolveTokenizerConfig, type TokenizerConfig } from "./tokenizer.ts";
import { allocateVectorMemory, strideOf, type VectorLayout, VectorKernel } from "./vector-kernel.ts";
import type { WasmMemory } from "./wasm-api.ts";
import { ownValue, setOwn } from "./own-property.ts";

export interface BuildQueryIndexOptions {
  /** The namespace's distance metric. */
  readonly metric: DistanceMetric;
  /** Vector dimension; inferred from the first vector when omitted. */
  readonly dimension?: number | undefined;
  /** Tokenizer config per text field; fields not listed use the defaults. */
  readonly textFields?: Readonly<Record<string, TokenizerConfig>> | undefined;
  /** Build an IVF ANN index (`true` for defaults). Off by default: the log tail wants none. */
  readonly ann?: boolean | IvfOptions | undefined;
  /** Attributes declared `filterable: false`: their columns keep the values but no order or postings. */
  readonly unindexed?: ReadonlySet<string> | undefined;
}

export interface VectorData {
  readonly memory: WasmMemory;
  readonly layout: VectorLayout;
}

/** The state a QueryIndex is made of (what serialization writes). */
export interface QueryIndexState {
  readonly size: number;
  readonly metric: DistanceMetric;
  readonly dimension: number;
  readonly ids: StringTable;
  /**
   * Slots sorted by id (UTF-8 bytes), so `slotOfId` is a binary search with
   * nothing to build; stored in serialized indexes (written by
   * `serializeQueryIndex`), null for indexes built in memory (a Map is
   * built on the first lookup instead).
   */
  readonly idOrder?: Uint32Array | null;
  readonly sourcePositions: Uint32Array | null;
  readonly vectors: VectorData | null;
  readonly sparse: SparseRows | null;
  readonly text: readonly TextFieldIndex[];
  readonly attributes: readonly AttributeColumn[];
  readonly ann: IvfIndex | null;
}

let nextUid = 1;

export class QueryIndex {
  /** Process-local identity (worker threads cache memory by it). */
  readonly uid = nextUid++;
  readonly size: number;
  readonly metric: DistanceMetric;
  /** 0 when no document has a dense vector. */
  readonly dimension: number;
  readonly ids: StringTable;
  readonly idOrder: Uint32Array | null;
  readonly sourcePositions: Uint32Array | null;
  readonly vectors: VectorData | null;
  readonly sparse: SparseRows | null;
  readonly ann: IvfIndex | null;
  private kernelCache: VectorKernel | undefined;
  private slotOfPositionCache: Uint32Array | undefined;
  private textFieldsCache: ReadonlyMap<string, TextFieldIndex> | undefined;
  private attributeColumnsCache: ReadonlyMap<string, AttributeColumn> | undefined;

  constructor(readonly state: QueryIndexState) {
    this.size = state.size;
    this.metric = state.metric;
    this.dimension = state.dimension;
    this.ids = state.ids;
    this.idOrder = state.idOrder ?? null;
    this.sourcePositions = state.sourcePositions;
    this.vectors = state.vectors;
    this.sparse = state.sparse;
    this.ann = state.ann;
  }

  /** The text fields' inverted indexes by name (an index built here builds them on first use: see buildQueryIndex). */
  get textFields(): ReadonlyMap<string, TextFieldIndex> {
    this.textFieldsCache ??= new Map(this.state.text.map((t) => [t.name, t]));
    return this.textFieldsCache;
  }

  /** The attribute columns by name (an index built here builds them on first use: see buildQueryIndex). */
  get attributeColumns(): ReadonlyMap<string, AttributeColumn> {
    this.attributeColumnsCache ??= new Map(this.state.attributes.map((a) => [a.name, a]));
    return this.attributeColumnsCache;
  }

  /** The main thread's scoring kernel over this partition's vectors. */
  kernel(): VectorKernel | null {
    if (this.vectors === null) return null;
    this.kernelCache ??= new VectorKernel(this.vectors.memory, this.vectors.layout);
    return this.kernelCache;
  }

  /** The position (input ordinal) of a slot. */
  positionOf(slot: number): number {
    return this.sourcePositions === null ? slot : this.sourcePositions[slot]!;
  }

  /** The slot of a position, or -1 when out of range. */
  slotOf(position: number): number {
    if (!Number.isInteger(position) || position < 0 || position >= this.size) return -1;
    if (this.sourcePositions === null) return position;
    if (this.slotOfPositionCache === undefined) {
      const inv = new Uint32Array(this.size);
      for (let s = 0; s < this.size; s++) inv[this.sourcePositions[s]!] = s;
      this.slotOfPositionCache = inv;
    }
    return this.slotOfPositionCache[position]!;
  }

  /** Slot of a document id, or -1. */
  slotOfId(id: string): number {
    if (this.idOrder !== null) return this.ids.indexOfSorted(this.idOrder, id);
    return this.ids.indexOf(id);
  }

  /** The stored dense vector of a slot (a copy), or undefined. */
  vectorOf(slot: number): Float32Array | undefined {
    const v = this.vectors;
    if (v === null) return undefined;
    const kernel = this.kernel()!;
    if (kernel.u8[v.layout.missingPtr + slot] !== 0) return undefined;
    const at = (v.layout.vectorsPtr >> 2) + slot * v.layout.stride;
    return kernel.f32.slice(at, at + this.dimension);
  }

  /** The attributes of a slot: all of them, or the named ones that are present. */
  attributesOf(slot: number, names: "all" | readonly string[]): Record<string, JsonValue> {
    const out: Record<string, JsonValue> = {};
    if (names === "all") {
      for (const [name, column] of this.attributeColumns) {
        const v = columnValue(column, slot);
        if (v !== undefined) setOwn(out, name, v);
      }
    } else {
      for (const name of names) {
        const column = this.attributeColumns.get(name);
        if (column === undefined) continue;
        const v = columnValue(column, slot);
        if (v !== undefined) setOwn(out, name, v);
      }
    }
    return out;
  }
}

class GrowableF32 {
  data: Float32Array;
  constructor(initial: number) {
    this.data = new Float32Array(Math.max(16, initial));
  }
  ensure(length: number): void {
    if (length <= this.data.length) return;
    let size = this.data.length;
    while (size < length) size *= 2;
    const next = new Float32Array(size);
    next.set(this.data);
    this.data = next;
  }
}

function isFiniteNumberArray(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return false;
  return true;
}

function checkJson(value: unknown, depth: number): boolean {
  if (value === null || typeof value === "string" || typeof value === "boolean" || typeof value === "bigint") return true;
  if (typeof value === "number") return Number.isFinite(value);
  if (depth > 64) return false;
  if (Array.isArray(value)) return value.every((v) => checkJson(v, depth + 1));
  if (typeof value === "object") return Object.values(value as object).every((v) => checkJson(v, depth + 1));
  return false;
}

/** Build a partition's query index from its live documents (one version per id). */
export function buildQueryIndex(documents: Iterable<QueryDocument>, options: BuildQueryIndexOptions): QueryIndex {
  let dimension = options.dimension ?? 0;
  const ids: string[] = [];
  const seen = new Set<string>();
  // Sized once when the count and dimension are known (a tail chunk's documents), instead of doubling.
  const known = Array.isArray(documents) && dimension > 0 ? (documents as readonly QueryDocument[]).length * strideOf(dimension) : 0;
  const vectorBuf = new GrowableF32(Math.max(1024, known));
  const hasVector: boolean[] = [];
  const sparseRows: ({ indices: ArrayLike<number>; values: ArrayLike<number> } | undefined)[] = [];
  let anySparse = false;
  const texts = new Map<string, (string | undefined)[]>();
  const attrs: (Readonly<Record<string, JsonValue>> | undefined)[] = [];
  let position = 0;
  for (const doc of documents) {
    const p = position++;
    if (typeof doc.id !== "string") throw new InvalidDocumentError("id must be a string", p);
    if (seen.has(doc.id)) throw new InvalidDocumentError(`duplicate id ${JSON.stringify(doc.id)} in one partition`, p);
    seen.add(doc.id);
    ids.push(doc.id);
    const vector = doc.vector;
    if (vector !== undefined) {
      if (dimension === 0) dimension = vector.length;
      if (vector.length !== dimension || dimension === 0) {
        throw new InvalidDocumentError(`vector has ${vector.length} dimensions, expected ${dimension}`, p);
      }
      if (!isFiniteNumberArray(vector)) throw new InvalidDocumentError("vector holds a non-finite number", p);
      vectorBuf.ensure((p + 1) * strideOf(dimension));
      vectorBuf.data.set(vector, p * strideOf(dimension));
      hasVector.push(true);
    } else {
      hasVector.push(false);
    }
    if (doc.sparse !== undefined) {
      const { indices, values } = doc.sparse;
      if (indices.length !== values.length) throw new InvalidDocumentError("sparse indices and values differ in length", p);
      for (let i = 0; i < indices.length; i++) {
        const d = indices[i]!;
        if (!Number.isInteger(d) || d < 0 || d > 0xffff_ffff || (i > 0 && d <= indices[i - 1]!)) {
          throw new InvalidDocumentError("sparse indices must be strictly increasing u32 values", p);
        }
      }
      if (!isFiniteNumberArray(values)) throw new InvalidDocumentError("sparse vector holds a non-finite number", p);
      sparseRows.push(doc.sparse);
      anySparse = true;
    } else {
      sparseRows.push(undefined);
    }
    if (doc.text !== undefined) {
      for (const [field, value] of Object.entries(doc.text)) {
        if (typeof value !== "string") throw new InvalidDocumentError(`text field ${field} is not a string`, p);
        let column = texts.get(field);
        if (column === undefined) {
          column = [];
          texts.set(field, column);
        }
        column[p] = value;
      }
    }
    if (doc.attributes !== undefined && !checkJson(doc.attributes, 0)) {
      throw new InvalidDocumentError("attributes must be JSON values with finite numbers", p);
    }
    attrs.push(doc.attributes);
  }
  const n = position;
  for (const field of Object.keys(options.textFields ?? {})) if (!texts.has(field)) texts.set(field, []);

  // ---- vectors, IVF order
  let vectors: VectorData | null = null;
  let ann: IvfIndex | null = null;
  let order: Uint32Array | null = null;
  const annOptions: IvfOptions | null =
    options.ann === undefined || options.ann === false ? null : options.ann === true ? {} : options.ann;
  if (dimension > 0) {
    const stride = strideOf(dimension);
    let vectorCount = 0;
    for (let i = 0; i < n; i++) if (hasVector[i]) vectorCount++;
    const withVector = new Uint32Array(vectorCount);
    for (let i = 0, at = 0; i < n; i++) if (hasVector[i]) withVector[at++] = i;
    const buildAnn = annOptions !== null && withVector.length >= (annOptions.minDocuments ?? 4096);
    const requestedLists = buildAnn ? (annOptions!.lists ?? defaultListCount(withVector.length)) : 0;
    const { memory, layout } = allocateVectorMemory(n, dimension, {
      normalized: options.metric === "COSINE",
      centroidCapacity: buildAnn ? centroidCapacity(requestedLists) : 0,
    });
    const kernel = new VectorKernel(memory, layout);
    const f = kernel.f32;
    const raw = vectorBuf.data;
    const cosine = options.metric === "COSINE";
    if (buildAnn) {
      // Train over input-order rows written into the vector area (normalized for COSINE).
      const base = layout.vectorsPtr >> 2;
      for (let r = 0; r < n; r++) {
        if (!hasVector[r]) continue;
        writeRow(f, base + r * stride, raw, r * stride, stride, cosine);
      }
      const trained = trainIvf(kernel, layout.vectorsPtr, n, withVector, requestedLists, annOptions!);
      const lists = trained.lists;
      const offsets = new Uint32Array(lists + 2);
      for (let r = 0; r < n; r++) offsets[trained.assignment[r]! + 1]!++;
      for (let l = 0; l <= lists; l++) offsets[l + 1]! += offsets[l]!;
      const cursor = offsets.slice(0, lists + 1);
      order = new Uint32Array(n);
      for (let r = 0; r < n; r++) order[cursor[trained.assignment[r]!]!++] = r;
      ann = {
        lists,
        listOffsets: offsets.slice(0, lists + 1),
        probes: Math.min(lists, annOptions!.probes ?? defaultProbes(lists)),
        rank: options.metric === "DOT" ? "dot" : "l2",
      };
    }
    // Final rows in slot order.
    const vBase = layout.vectorsPtr >> 2;
    const nBase = layout.normalizedPtr >> 2;
    const invBase = layout.invNormsPtr >> 2;
    for (let slot = 0; slot < n; slot++) {
      const r = order === null ? slot : order[slot]!;
      if (!hasVector[r]) {
        kernel.u8[layout.missingPtr + slot] = 1;
        f.fill(0, vBase + slot * stride, vBase + (slot + 1) * stride);
        if (cosine) f.fill(0, nBase + slot * stride, nBase + (slot + 1) * stride);
        f[invBase + slot] = 0;
        continue;
      }
      const norm = writeRow(f, vBase + slot * stride, raw, r * stride, stride, false);
      f[invBase + slot] = norm > 0 ? 1 / norm : 0;
      if (cosine) writeRow(f, nBase + slot * stride, raw, r * stride, stride, true);
    }
    vectors = { memory, layout };
  }
  const slotToInput = (slot: number) => (order === null ? slot : order[slot]!);

  // ---- ids, sparse, text, attributes in slot order
  const slotIds = order === null ? ids : Array.from(order, (r) => ids[r]!);
  let sparse: SparseRows | null = null;
  if (anySparse) {
    let nnz = 0;
    for (const row of sparseRows) nnz += row?.indices.length ?? 0;
    const rowOffsets = new Uint32Array(n + 1);
    const indices = new Uint32Array(nnz);
    const values = new Float32Array(nnz);
    let at = 0;
    for (let slot = 0; slot < n; slot++) {
      const row = sparseRows[slotToInput(slot)];
      if (row !== undefined) {
        for (let i = 0; i < row.indices.length; i++) {
          indices[at] = row.indices[i]!;
          values[at] = row.values[i]!;
          at++;
        }
      }
      rowOffsets[slot + 1] = at;
    }
    sparse = { rowOffsets, indices, values };
  }
  // Text fields and attribute columns are built on first use (the state's `text` / `attributes`, or the index's
  // `textFields` / `attributeColumns`): an ANN query over a fresh tail chunk needs only ids and vectors, and
  // tokenizing and columnizing its documents was most of the chunk's build. The documents were checked above,
  // and building a column from checked values does not throw, so an index that builds here is whole either way;
  // serializing or posting it to another thread (which read every state field) builds them there.
  const lazyText = lazily(() => {
    const text: TextFieldIndex[] = [];
    for (const field of [...texts.keys()].sort()) {
      const column = texts.get(field)!;
      const inSlotOrder = new Array<string | undefined>(n);
      for (let slot = 0; slot < n; slot++) inSlotOrder[slot] = column[slotToInput(slot)];
      text.push(buildTextFieldIndex(field, inSlotOrder, resolved.get(field)!));
    }
    return text;
  });
  // Resolved now: a tokenizer config this build cannot use is an error of the build, not of a later query.
  const resolved = new Map<string, ReturnType<typeof resolveTokenizerConfig>>();
  for (const field of texts.keys()) resolved.set(field, resolveTokenizerConfig(ownValue(options.textFields, field)));
  const lazyAttributes = lazily(() => {
    const attributeNames = new Set<string>();
    for (const a of attrs) if (a !== undefined) for (const k of Object.keys(a)) attributeNames.add(k);
    const attributes: AttributeColumn[] = [];
    for (const name of [...attributeNames].sort()) {
      const values = new Array<JsonValue | undefined>(n);
      for (let slot = 0; slot < n; slot++) values[slot] = ownValue(attrs[slotToInput(slot)], name);
      attributes.push(buildAttributeColumn(name, values, options.unindexed?.has(name) !== true));
    }
    return attributes;
  });
  const state: QueryIndexState = {
    size: n,
    metric: options.metric,
    dimension,
    ids: StringTable.fromStrings(slotIds),
    sourcePositions: order,
    vectors,
    sparse,
    get text() {
      return lazyText();
    },
    get attributes() {
      return lazyAttributes();
    },
    ann,
  };
  return new QueryIndex(state);
}

/** `make()`, called once, on the first call. */
function lazily<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => {
    made ??= { value: make() };
    return made.value;
  };
}

/** Copy one row (optionally normalized); returns the row's L2 norm. */
function writeRow(f: Float32Array, dst: number, src: Float32Array, from: number, stride: number, normalize: boolean): number {
  let sum = 0;
  for (let d = 0; d < stride; d++) {
    const x = src[from + d]!;
    sum += x * x;
  }
  const norm = Math.sqrt(sum);
  if (!normalize) {
    f.set(src.subarray(from, from + stride), dst);
    return norm;
  }
  const inv = norm > 0 ? 1 / norm : 0;
  for (let d = 0; d < stride; d++) f[dst + d] = src[from + d]! * inv;
  return norm;
}
