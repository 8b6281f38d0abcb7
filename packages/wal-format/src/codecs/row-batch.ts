/**
 * Row batches: documents as an Arrow IPC stream inside a small checksummed
 * envelope. The `.arrow` sidecar of an UPDATE mutation and the body of
 * segments use it; columnar readers take the Arrow table, row-wise readers
 * take plain documents.
 *
 * Columns (Arrow schema of the IPC stream; metadata `skerry.row_batch.version`):
 *   _id     FixedSizeBinary(16), not null   RowId, big-endian bytes
 *   id      Utf8, not null                  the document id
 *   vector  FixedSizeList(d, Float32), nullable; present only when d > 0
 *   sparse  Struct<indices: List<Uint32>, values: List<Float32>>, nullable
 *   text    Map<Utf8, Utf8>, nullable       text fields by name
 *   attrs   Utf8 (JSON object), nullable    JSON attributes
 *
 * Format versions: 1 writes attributes with JSON.stringify; 2 writes them as exact JSON (exact-json.ts: an
 * integer literal beyond 2^53-1 is a bigint value, an integral unsafe float is written in exponent form). The
 * encoder writes version 2 only when some attribute value is a bigint, else version 1 (same bytes as before);
 * the decoder reads both. The version is in the envelope and in the schema metadata; they must agree.
 *
 * Envelope, format version 1 (integers little-endian):
 *   offset  size  field
 *   0       8     magic "SKRYROWS"
 *   8       2     format_version (1)
 *   10      2     flags (0)
 *   12      4     row_count
 *   16      8     ipc_length
 *   24      32    BLAKE3-256 of the IPC bytes
 *   56      4     CRC-32 of bytes [0, 56)
 *   60      4     vector_dimension (0 = no vector column)
 *   64      n     Arrow IPC stream (any Arrow reader can read this slice)
 *
 * The header CRC makes the lengths trustworthy before the body is touched;
 * BLAKE3 covers the body because it is large and BLAKE3 (native, SIMD) runs
 * faster than CRC-32 on large buffers. Decoding checks, in order: magic,
 * version, header CRC, flags, caps, exact length, body hash, then (before
 * Arrow parses anything) that the schema message is the canonical one for
 * `vector_dimension` and that every record-batch message's counts and buffer
 * ranges are sane (see internal/arrow-ipc-guard.ts: Arrow JS allocates without
 * bound on corrupt metadata), then every buffer's bounds against the row
 * count, so that turning columns into documents cannot read out of range or
 * loop on a lie. 64 header bytes keep the IPC stream 8-byte aligned.
 *
 * Errors: decoders throw `CorruptDataError` or `UnsupportedVersionError`
 * (Arrow's own exceptions are wrapped); encoders throw `InvalidInputError`.
 */
import { createRequire } from "node:module";
import type * as Arrow from "apache-arrow";
import { contentDigest } from "../content-hash.ts";
import { CorruptDataError, InvalidInputError, isWalFormatError, UnsupportedVersionError } from "../errors.ts";
import type { RowId } from "../ids.ts";
import { ID_BYTES, MAX_ID, readIdBytes } from "../ids.ts";
import { asBytes, bytesEqual, dataView, strictTextDecoder, textEncoder } from "../internal/binary.ts";
import { guardIpcStream, type IpcExpectations } from "../internal/arrow-ipc-guard.ts";
import { crc32 } from "../internal/crc32.ts";
import type { JsonObject } from "../schemas/wire.ts";
import { bag } from "../schemas/wire.ts";
import { hasBigInt, parseExact, stringifyExact } from "../exact-json.ts";

/**
 * apache-arrow, loaded on first use: its ~150 modules were a third of the
 * time to import this package, and a process that only queries compacted
 * indexes never encodes or decodes a row batch. Loaded synchronously
 * (Node's require of the package's CommonJS build) so the codec's
 * functions stay synchronous.
 */
let loaded: typeof Arrow | undefined;
const arrow: typeof Arrow = new Proxy({} as typeof Arrow, {
  get(_, name) {
    loaded ??= createRequire(import.meta.url)("apache-arrow") as typeof Arrow;
    return loaded[name as keyof typeof Arrow];
  },
});

export const ROW_BATCH_FORMAT = "row-batch";
export const ROW_BATCH_MAGIC: Uint8Array = new TextEncoder().encode("SKRYROWS");
/** Newest row batch version this code reads and writes (module comment). */
export const ROW_BATCH_VERSION = 2;
/** The version written when no attribute value is a bigint. */
const PLAIN_ROW_BATCH_VERSION = 1;
export const ROW_BATCH_HEADER_BYTES = 64;
export const DEFAULT_MAX_ROW_BATCH_ROWS = 16 * 1024 * 1024;
export const DEFAULT_MAX_ROW_BATCH_BYTES = 2 * 1024 * 1024 * 1024;
/** Largest vector dimension a row batch accepts. */
export const MAX_ROW_BATCH_DIMENSION = 65_536;
const VERSION_METADATA_KEY = "skerry.row_batch.version";

/** A document as accepted by the encoder. */
export interface RowDocumentInput {
  readonly rowId: RowId;
  readonly id: string;
  readonly vector?: Float32Array | readonly number[];
  readonly sparse?: { readonly indices: Uint32Array | readonly number[]; readonly values: Float32Array | readonly number[] };
  readonly text?: Readonly<Record<string, string>>;
  readonly attributes?: JsonObject;
}

/** A document as produced by the decoder. Typed arrays are views into the batch's bytes. */
export interface RowDocument {
  readonly rowId: RowId;
  readonly id: string;
  readonly vector?: Float32Array;
  readonly sparse?: { readonly indices: Uint32Array; readonly values: Float32Array };
  readonly text?: Record<string, string>;
  readonly attributes?: JsonObject;
}

export interface RowBatchTable {
  readonly table: Arrow.Table;
  readonly rowCount: number;
  /** Vector dimension; 0 when the batch has no vector column. */
  readonly dimension: number;
  /** The Arrow IPC stream inside the envelope (zero-copy). */
  readonly ipc: Uint8Array;
  /** Format version (1 or 2): how `attrs` is read (module comment). */
  readonly version?: number;
}

export interface RowBatchLimits {
  /** Most rows accepted (default 16 Mi). */
  maxRows?: number;
  /** Largest IPC body accepted, in bytes (default 2 GiB). */
  maxBytes?: number;
}

export interface EncodeRowBatchOptions {
  /** Vector dimension; inferred from the first vector when omitted. */
  dimension?: number;
}

// ---------------------------------------------------------------- schema

const utf8 = () => new arrow.Utf8();
const sparseType = () =>
  new arrow.Struct([
    new arrow.Field("indices", new arrow.List(new arrow.Field("item", new arrow.Uint32(), false)), false),
    new arrow.Field("values", new arrow.List(new arrow.Field("item", new arrow.Float32(), false)), false),
  ]);
const textEntriesType = () => new arrow.Struct([new arrow.Field("key", utf8(), false), new arrow.Field("value", utf8(), false)]);
const textType = () => new arrow.Map_(new arrow.Field("entries", textEntriesType(), false), false);
const vectorType = (dimension: number) =>
  new arrow.FixedSizeList(dimension, new arrow.Field("item", new arrow.Float32(), false));

/** The Arrow schema of a row batch with vectors of `dimension` (0 = no vector column). */
export function rowBatchSchema(dimension: number, version: number = PLAIN_ROW_BATCH_VERSION): Arrow.Schema {
  const fields: Arrow.Field[] = [new arrow.Field("_id", new arrow.FixedSizeBinary(ID_BYTES), false), new arrow.Field("id", utf8(), false)];
  if (dimension > 0) fields.push(new arrow.Field("vector", vectorType(dimension), true));
  fields.push(new arrow.Field("sparse", sparseType(), true), new arrow.Field("text", textType(), true), new arrow.Field("attrs", utf8(), true));
  return new arrow.Schema(fields, new Map([[VERSION_METADATA_KEY, String(version)]]));
}

// ---------------------------------------------------------------- encode

/** Growable UTF-8 column (offsets + bytes). */
class Utf8Builder {
  offsets: Int32Array;
  bytes: Uint8Array;
  length = 0;
  used = 0;
  constructor(rows: number, estimate: number) {
    this.offsets = new Int32Array(Math.max(16, rows + 1));
    this.bytes = new Uint8Array(Math.max(64, estimate));
  }
  push(text: string): void {
    const worst = text.length * 3;
    if (this.used + worst > this.bytes.length) {
      const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.used + worst));
      grown.set(this.bytes.subarray(0, this.used));
      this.bytes = grown;
    }
    // Short ASCII strings (typical ids) are copied byte by byte: cheaper than
    // a TextEncoder call and a subarray per row.
    let ascii = text.length <= 64;
    if (ascii) {
      const bytes = this.bytes;
      const at = this.used;
      for (let i = 0; i < text.length; i++) {
        const code = text.charCodeAt(i);
        if (code >= 0x80) {
          ascii = false;
          break;
        }
        bytes[at + i] = code;
      }
    }
    if (ascii) this.used += text.length;
    else this.used += textEncoder.encodeInto(text, this.bytes.subarray(this.used)).written;
    if (this.used > 0x7fff_ffff) throw new InvalidInputError("row batch: a text column exceeds 2 GiB");
    this.#close();
  }
  /** Close a null slot (no bytes). */
  skip(): void {
    this.#close();
  }
  #close(): void {
    if (this.length + 2 > this.offsets.length) {
      const grown = new Int32Array(this.offsets.length * 2);
      grown.set(this.offsets);
      this.offsets = grown;
    }
    this.offsets[++this.length] = this.used;
  }
  data(nullBitmap: Uint8Array = new Uint8Array(0), nullCount = 0): Arrow.Data<Arrow.Utf8> {
    return arrow.makeData({
      type: utf8(),
      length: this.length,
      nullCount,
      nullBitmap,
      valueOffsets: this.offsets.subarray(0, this.length + 1),
      data: this.bytes.subarray(0, this.used),
    });
  }
}

class Validity {
  readonly bits: Uint8Array;
  nullCount = 0;
  constructor(rows: number) {
    this.bits = new Uint8Array((rows + 7) >>> 3);
  }
  set(row: number, valid: boolean): void {
    if (valid) this.bits[row >>> 3]! |= 1 << (row & 7);
    else this.nullCount++;
  }
  /** Arrow allows omitting the bitmap when nothing is null. */
  bitmap(): Uint8Array {
    return this.nullCount === 0 ? new Uint8Array(0) : this.bits;
  }
}

function fail(detail: string): never {
  throw new InvalidInputError(`row batch: ${detail}`);
}

function vectorLength(vector: Float32Array | readonly number[]): number {
  return vector.length;
}

/** Encode documents into a row batch object. */
export function encodeRowBatch(documents: readonly RowDocumentInput[], options: EncodeRowBatchOptions = {}): Uint8Array {
  const table = rowBatchTableFromDocuments(documents, options);
  const version = Number(table.schema.metadata.get(VERSION_METADATA_KEY));
  return encodeRowBatchTable(table, documents.length, table.schema.fields.find((f) => f.name === "vector") === undefined ? 0 : (table.schema.fields.find((f) => f.name === "vector")!.type as Arrow.FixedSizeList).listSize, version);
}

/** Build the Arrow table for documents (exposed for columnar writers and tests). */
export function rowBatchTableFromDocuments(documents: readonly RowDocumentInput[], options: EncodeRowBatchOptions = {}): Arrow.Table {
  const rows = documents.length;
  if (rows > 0x7fff_ffff) fail("too many rows");
  let dimension = options.dimension ?? 0;
  if (options.dimension === undefined) {
    for (const doc of documents) {
      if (doc.vector !== undefined) {
        dimension = vectorLength(doc.vector);
        break;
      }
    }
  }
  if (!Number.isInteger(dimension) || dimension < 0 || dimension > MAX_ROW_BATCH_DIMENSION) fail(`invalid vector dimension ${dimension}`);
  let exact = false;
  try {
    exact = documents.some((doc) => doc.attributes !== undefined && hasBigInt(doc.attributes));
  } catch (error) {
    throw new InvalidInputError(`row batch: attributes are not JSON: ${String(error)}`, error);
  }

  const ids = new Uint8Array(rows * ID_BYTES);
  const idView = dataView(ids);
  const names = new Utf8Builder(rows, rows * 16);
  const vectors = new Float32Array(rows * dimension);
  const vectorValid = new Validity(rows);
  const sparseValid = new Validity(rows);
  const sparseOffsets = new Int32Array(rows + 1);
  let sparseIndices: number[] = [];
  let sparseValues: number[] = [];
  const textValid = new Validity(rows);
  const textOffsets = new Int32Array(rows + 1);
  const textKeys = new Utf8Builder(0, 64);
  const textValues = new Utf8Builder(0, 64);
  let textEntries = 0;
  const attrsValid = new Validity(rows);
  const attrs = new Utf8Builder(rows, 16);

  for (let row = 0; row < rows; row++) {
    const doc = documents[row] as RowDocumentInput;
    if (typeof doc !== "object" || doc === null) fail(`row ${row} is not a document`);
    const id = doc.rowId;
    if (typeof id !== "bigint" || id < 0n || id > MAX_ID) fail(`row ${row}: rowId must be a bigint in [0, 2^128 - 1]`);
    idView.setBigUint64(row * ID_BYTES, id >> 64n);
    idView.setBigUint64(row * ID_BYTES + 8, BigInt.asUintN(64, id));
    if (typeof doc.id !== "string") fail(`row ${row}: id must be a string`);
    names.push(doc.id);

    if (dimension > 0) {
      const vector = doc.vector;
      if (vector !== undefined) {
        if (vectorLength(vector) !== dimension) fail(`row ${row}: vector has ${vectorLength(vector)} dimensions, the batch has ${dimension}`);
        vectors.set(vector, row * dimension);
      }
      vectorValid.set(row, vector !== undefined);
    } else if (doc.vector !== undefined && vectorLength(doc.vector) !== 0) {
      fail(`row ${row}: vector given but the batch dimension is 0`);
    }

    const sparse = doc.sparse;
    if (sparse !== undefined) {
      if (sparse.indices.length !== sparse.values.length) fail(`row ${row}: sparse indices and values differ in length`);
      for (let k = 0; k < sparse.indices.length; k++) {
        const index = sparse.indices[k] as number;
        if (!Number.isInteger(index) || index < 0 || index > 0xffff_ffff) fail(`row ${row}: sparse index ${index} is not a u32`);
        sparseIndices.push(index);
        sparseValues.push(sparse.values[k] as number);
      }
    }
    sparseValid.set(row, sparse !== undefined);
    sparseOffsets[row + 1] = sparseIndices.length;

    const text = doc.text;
    if (text !== undefined) {
      for (const key of Object.keys(text)) {
        const value = text[key];
        if (typeof value !== "string") fail(`row ${row}: text field ${JSON.stringify(key)} is not a string`);
        textKeys.push(key);
        textValues.push(value);
        textEntries++;
      }
    }
    textValid.set(row, text !== undefined);
    textOffsets[row + 1] = textEntries;

    if (doc.attributes !== undefined) {
      if (typeof doc.attributes !== "object" || doc.attributes === null || Array.isArray(doc.attributes)) {
        fail(`row ${row}: attributes must be a JSON object`);
      }
      let json: string;
      try {
        json = exact ? stringifyExact(doc.attributes) : JSON.stringify(doc.attributes);
      } catch (error) {
        throw new InvalidInputError(`row batch: row ${row}: attributes are not JSON: ${String(error)}`, error);
      }
      attrs.push(json);
    } else {
      attrs.skip();
    }
    attrsValid.set(row, doc.attributes !== undefined);
  }
  if (sparseIndices.length > 0x7fff_ffff || textEntries > 0x7fff_ffff) fail("too many sparse or text entries");

  const children: Arrow.Data[] = [
    arrow.makeData({ type: new arrow.FixedSizeBinary(ID_BYTES), length: rows, nullCount: 0, data: ids }),
    names.data(),
  ];
  if (dimension > 0) {
    const child = arrow.makeData({ type: new arrow.Float32(), length: rows * dimension, nullCount: 0, data: vectors });
    children.push(
      arrow.makeData({ type: vectorType(dimension), length: rows, nullCount: vectorValid.nullCount, nullBitmap: vectorValid.bitmap(), child }),
    );
  }
  const indexData = Uint32Array.from(sparseIndices);
  const valueData = Float32Array.from(sparseValues);
  sparseIndices = [];
  sparseValues = [];
  const sparseT = sparseType();
  children.push(
    arrow.makeData({
      type: sparseT,
      length: rows,
      nullCount: sparseValid.nullCount,
      nullBitmap: sparseValid.bitmap(),
      children: [
        arrow.makeData({
          type: sparseT.children[0]!.type as Arrow.List<Arrow.Uint32>,
          length: rows,
          nullCount: 0,
          valueOffsets: sparseOffsets,
          child: arrow.makeData({ type: new arrow.Uint32(), length: indexData.length, nullCount: 0, data: indexData }),
        }),
        arrow.makeData({
          type: sparseT.children[1]!.type as Arrow.List<Arrow.Float32>,
          length: rows,
          nullCount: 0,
          // A copy, not the same array: Arrow JS's IPC writer merges
          // consecutive buffers that share memory, which would drop this one
          // from the stream and shift every buffer after it.
          valueOffsets: sparseOffsets.slice(),
          child: arrow.makeData({ type: new arrow.Float32(), length: valueData.length, nullCount: 0, data: valueData }),
        }),
      ],
    }),
  );
  const entries = arrow.makeData({
    type: textEntriesType(),
    length: textEntries,
    nullCount: 0,
    children: [textKeys.data(), textValues.data()],
  });
  children.push(
    arrow.makeData({
      type: textType(),
      length: rows,
      nullCount: textValid.nullCount,
      nullBitmap: textValid.bitmap(),
      valueOffsets: textOffsets,
      child: entries,
    }),
  );
  children.push(attrs.data(attrsValid.bitmap(), attrsValid.nullCount));

  const schema = rowBatchSchema(dimension, exact ? ROW_BATCH_VERSION : PLAIN_ROW_BATCH_VERSION);
  const struct = arrow.makeData({ type: new arrow.Struct(schema.fields), length: rows, nullCount: 0, children });
  return new arrow.Table(schema, [new arrow.RecordBatch(schema, struct)]);
}

/** Wrap an Arrow table (already in row-batch shape) in the envelope. */
/**
 * Serialize with the envelope header already in place, so the (large) body
 * is copied once, by Arrow's own final join. The writer exposes no public way
 * to emit leading bytes, so the header placeholder goes into its byte sink;
 * the stream format's padding depends only on message sizes, not on the sink
 * position, so the IPC bytes are the same as `tableToIPC`'s. If a future
 * Arrow release moves that sink, fall back to one extra copy.
 */
function serializeWithHeaderRoom(table: Arrow.Table): Uint8Array {
  const writer = new arrow.RecordBatchStreamWriter();
  const sink = (writer as unknown as { _sink?: { write?: (chunk: Uint8Array) => void } })._sink;
  if (typeof sink?.write === "function") {
    sink.write(new Uint8Array(ROW_BATCH_HEADER_BYTES));
    writer.writeAll(table);
    const out = writer.toUint8Array(true);
    // Keep the fast path only if the stream really starts after our room:
    // an IPC stream opens with the continuation marker 0xFFFFFFFF.
    const marker = out.length >= ROW_BATCH_HEADER_BYTES + 4 ? dataView(out).getUint32(ROW_BATCH_HEADER_BYTES, true) : 0;
    if (marker === 0xffffffff) return out;
  }
  const ipc = arrow.tableToIPC(table, "stream");
  const out = new Uint8Array(ROW_BATCH_HEADER_BYTES + ipc.length);
  out.set(ipc, ROW_BATCH_HEADER_BYTES);
  return out;
}

function encodeRowBatchTable(table: Arrow.Table, rowCount: number, dimension: number, version: number): Uint8Array {
  let out: Uint8Array;
  try {
    out = serializeWithHeaderRoom(table);
  } catch (error) {
    throw new InvalidInputError(`row batch: Arrow could not serialize the table: ${String(error)}`, error);
  }
  const ipc = out.subarray(ROW_BATCH_HEADER_BYTES);
  const view = dataView(out);
  out.set(ROW_BATCH_MAGIC, 0);
  view.setUint16(8, version, true);
  view.setUint16(10, 0, true);
  view.setUint32(12, rowCount, true);
  view.setBigUint64(16, BigInt(ipc.length), true);
  out.set(contentDigest(ipc), 24);
  view.setUint32(60, dimension, true);
  view.setUint32(56, headerCrc(out), true);
  return out;
}

// ---------------------------------------------------------------- decode

function corrupt(detail: string, offset?: number, cause?: unknown): never {
  throw new CorruptDataError(ROW_BATCH_FORMAT, "malformed", detail, {
    ...(offset === undefined ? {} : { offset }),
    ...(cause === undefined ? {} : { cause }),
  });
}

interface Envelope {
  version: number;
  rowCount: number;
  dimension: number;
  ipc: Uint8Array;
}

/** CRC-32 of the header without its own CRC field (bytes 0..56 and 60..64). */
function headerCrc(bytes: Uint8Array): number {
  return crc32(bytes.subarray(60, 64), crc32(bytes.subarray(0, 56)));
}

const expectationsByDimension = new Map<string, IpcExpectations>();

/** Field nodes and buffers an Arrow record batch carries for `type`. */
function layoutOf(type: Arrow.DataType): [nodes: number, buffers: number] {
  let own: number;
  if (arrow.DataType.isUtf8(type)) own = 3;
  else if (arrow.DataType.isList(type) || arrow.DataType.isMap(type)) own = 2;
  else if (arrow.DataType.isStruct(type) || arrow.DataType.isFixedSizeList(type)) own = 1;
  else own = 2;
  let nodes = 1;
  let buffers = own;
  for (const child of type.children ?? []) {
    const [n, b] = layoutOf(child.type);
    nodes += n;
    buffers += b;
  }
  return [nodes, buffers];
}

/** The canonical schema message and counts for a dimension, built once. */
function expectationsFor(dimension: number, version: number, maxRows: number): IpcExpectations {
  let cached = expectationsByDimension.get(`${dimension}/${version}`);
  if (cached === undefined) {
    const schema = rowBatchSchema(dimension, version);
    const stream = arrow.tableToIPC(new arrow.Table(schema), "stream");
    const schemaMessage = stream.slice(0, 8 + dataView(stream).getInt32(4, true));
    let fieldNodes = 0;
    let buffers = 0;
    for (const field of schema.fields) {
      const [n, b] = layoutOf(field.type);
      fieldNodes += n;
      buffers += b;
    }
    cached = { schemaMessage, fieldNodes, buffers, maxRows: 0 };
    expectationsByDimension.set(`${dimension}/${version}`, cached);
  }
  return { ...cached, maxRows };
}

function readEnvelope(input: Uint8Array, limits: RowBatchLimits): Envelope {
  const F = ROW_BATCH_FORMAT;
  const bytes = asBytes(input, F);
  const magicLength = ROW_BATCH_MAGIC.length;
  if (!bytesEqual(bytes.subarray(0, magicLength), ROW_BATCH_MAGIC.subarray(0, Math.min(magicLength, bytes.length)))) {
    throw new CorruptDataError(F, "bad-magic", "not a row batch", { offset: 0 });
  }
  if (bytes.length < ROW_BATCH_HEADER_BYTES) {
    throw new CorruptDataError(F, "truncated", `header needs ${ROW_BATCH_HEADER_BYTES} bytes, got ${bytes.length}`, { offset: bytes.length });
  }
  const view = dataView(bytes);
  const version = view.getUint16(8, true);
  if (version > ROW_BATCH_VERSION) throw new UnsupportedVersionError(F, version, ROW_BATCH_VERSION);
  if (version === 0) corrupt("format version 0", 8);
  const storedCrc = view.getUint32(56, true);
  const actualCrc = headerCrc(bytes);
  if (storedCrc !== actualCrc) {
    throw new CorruptDataError(F, "checksum-mismatch", `header CRC-32 ${storedCrc.toString(16)}, computed ${actualCrc.toString(16)}`, { offset: 56 });
  }
  const flags = view.getUint16(10, true);
  if (flags !== 0) corrupt(`unknown flags 0x${flags.toString(16)}`, 10);
  const dimension = view.getUint32(60, true);
  if (dimension > MAX_ROW_BATCH_DIMENSION) corrupt(`vector_dimension ${dimension} exceeds ${MAX_ROW_BATCH_DIMENSION}`, 60);
  const rowCount = view.getUint32(12, true);
  const maxRows = limits.maxRows ?? DEFAULT_MAX_ROW_BATCH_ROWS;
  if (rowCount > maxRows) throw new CorruptDataError(F, "too-large", `row_count ${rowCount} exceeds ${maxRows}`, { offset: 12 });
  const ipcLength = view.getBigUint64(16, true);
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_ROW_BATCH_BYTES;
  if (ipcLength > BigInt(maxBytes)) throw new CorruptDataError(F, "too-large", `ipc_length ${ipcLength} exceeds ${maxBytes}`, { offset: 16 });
  const total = ROW_BATCH_HEADER_BYTES + Number(ipcLength);
  if (total > bytes.length) {
    throw new CorruptDataError(F, "truncated", `ipc_length describes ${total} bytes, only ${bytes.length} present`, { offset: bytes.length });
  }
  if (total < bytes.length) corrupt(`${bytes.length - total} unexpected bytes after the IPC stream`, total);
  const ipc = bytes.subarray(ROW_BATCH_HEADER_BYTES, total);
  const digest = contentDigest(ipc);
  if (!bytesEqual(bytes, digest, 24)) {
    throw new CorruptDataError(F, "checksum-mismatch", "BLAKE3 of the IPC stream does not match the header", { offset: 24 });
  }
  return { version, rowCount, dimension, ipc };
}

function sameType(actual: Arrow.DataType, expected: Arrow.DataType): boolean {
  return arrow.util.compareTypes(actual, expected);
}

/** Check a decoded table has exactly the row-batch schema; returns the vector dimension. */
function checkSchema(table: Arrow.Table, envelopeVersion: number): number {
  const fields = table.schema.fields;
  const version = table.schema.metadata.get(VERSION_METADATA_KEY);
  if (version !== String(envelopeVersion)) corrupt(`schema metadata ${VERSION_METADATA_KEY} is ${JSON.stringify(version)}, the header says ${envelopeVersion}`);
  const vectorField = fields.find((f) => f.name === "vector");
  let dimension = 0;
  if (vectorField !== undefined) {
    const type = vectorField.type as Arrow.DataType;
    if (!arrow.DataType.isFixedSizeList(type)) corrupt("column vector is not a fixed-size list");
    dimension = (type as Arrow.FixedSizeList).listSize;
    if (dimension < 1 || dimension > MAX_ROW_BATCH_DIMENSION) corrupt(`vector dimension ${dimension} out of range`);
  }
  const expected = rowBatchSchema(dimension, envelopeVersion).fields;
  if (fields.length !== expected.length) corrupt(`expected ${expected.length} columns, found ${fields.length}`);
  for (let i = 0; i < expected.length; i++) {
    const want = expected[i] as Arrow.Field;
    const got = fields[i] as Arrow.Field;
    if (got.name !== want.name || !sameType(got.type, want.type)) corrupt(`column ${i} should be ${want.name}: ${String(want.type)}, found ${got.name}: ${String(got.type)}`);
  }
  return dimension;
}

function isValid(data: Arrow.Data, row: number): boolean {
  if (data.nullCount === 0 || data.nullBitmap === undefined || data.nullBitmap.length === 0) return true;
  const bit = data.offset + row;
  return (((data.nullBitmap[bit >>> 3] as number) >>> (bit & 7)) & 1) === 1;
}

function checkBitmap(data: Arrow.Data, name: string): void {
  if (data.nullCount !== 0 && data.nullBitmap !== undefined && data.nullBitmap.length > 0) {
    if (data.nullBitmap.length * 8 < data.offset + data.length) corrupt(`${name}: validity bitmap too short`);
  } else if (data.nullCount > 0) {
    corrupt(`${name}: ${data.nullCount} nulls but no validity bitmap`);
  }
}

/**
 * Each non-null row's offset pair must satisfy 0 <= start <= end <= limit.
 * Null rows are skipped: readers never touch their offsets, and Arrow JS
 * does not write meaningful offsets for an all-null column.
 */
function checkOffsets(
  offsets: Int32Array | undefined,
  from: number,
  rows: number,
  limit: number,
  name: string,
  valid: (row: number) => boolean,
): void {
  for (let row = 0; row < rows; row++) {
    if (!valid(row)) continue;
    if (offsets === undefined || offsets.length < from + row + 2) corrupt(`${name}: offsets buffer too short`);
    const start = offsets[from + row] as number;
    const end = offsets[from + row + 1] as number;
    if (start < 0 || end < start || end > limit) corrupt(`${name}: row ${row} has offsets ${start}..${end} outside 0..${limit}`);
  }
}

function checkUtf8(data: Arrow.Data, name: string, valid: (row: number) => boolean = (row) => isValid(data, row)): void {
  checkBitmap(data, name);
  checkOffsets(data.valueOffsets as Int32Array, data.offset, data.length, (data.values as Uint8Array).length, name, valid);
}

function childOf(data: Arrow.Data, index: number, name: string): Arrow.Data {
  const child = data.children[index];
  if (child === undefined) corrupt(`${name}: missing child data`);
  return child;
}

/** Validate every buffer of one record batch against its length. */
function checkBatch(batch: Arrow.RecordBatch, dimension: number): void {
  const rows = batch.numRows;
  const columns = batch.data.children;
  for (const column of columns) if (column.length !== rows) corrupt("column lengths disagree with the batch length");
  let c = 0;
  const ids = columns[c++] as Arrow.Data;
  if (ids.nullCount !== 0) corrupt("_id has nulls");
  if ((ids.values as Uint8Array).length < (ids.offset + rows) * ID_BYTES) corrupt("_id: buffer too short");
  const names = columns[c++] as Arrow.Data;
  if (names.nullCount !== 0) corrupt("id has nulls");
  checkUtf8(names, "id");
  if (dimension > 0) {
    const vector = columns[c++] as Arrow.Data;
    checkBitmap(vector, "vector");
    const values = childOf(vector, 0, "vector");
    if ((values.values as Float32Array).length < (values.offset + (vector.offset + rows) * dimension)) corrupt("vector: values too short");
  }
  const sparse = columns[c++] as Arrow.Data;
  checkBitmap(sparse, "sparse");
  for (const [k, label] of [[0, "sparse.indices"], [1, "sparse.values"]] as const) {
    const list = childOf(sparse, k, label);
    if (list.length < sparse.offset + rows) corrupt(`${label}: too short`);
    const items = childOf(list, 0, label);
    checkOffsets(
      list.valueOffsets as Int32Array,
      list.offset + sparse.offset,
      rows,
      (items.values as ArrayLike<number>).length - items.offset,
      label,
      (row) => isValid(sparse, row),
    );
  }
  const text = columns[c++] as Arrow.Data;
  checkBitmap(text, "text");
  const entries = childOf(text, 0, "text");
  checkOffsets(text.valueOffsets as Int32Array, text.offset, rows, entries.length, "text", (row) => isValid(text, row));
  // Entries are never null; check them all (entries referenced by null rows included).
  checkUtf8(childOf(entries, 0, "text.key"), "text.key", () => true);
  checkUtf8(childOf(entries, 1, "text.value"), "text.value", () => true);
  checkUtf8(columns[c++] as Arrow.Data, "attrs");
}

/** Decode and verify a row batch, keeping it columnar. */
export function decodeRowBatchTable(input: Uint8Array, limits: RowBatchLimits = {}): RowBatchTable {
  const { version, rowCount, dimension: declared, ipc } = readEnvelope(input, limits);
  guardIpcStream(ipc, expectationsFor(declared, version, limits.maxRows ?? DEFAULT_MAX_ROW_BATCH_ROWS), ROW_BATCH_FORMAT, ROW_BATCH_HEADER_BYTES);
  try {
    let table: Arrow.Table;
    try {
      table = arrow.tableFromIPC(ipc);
    } catch (error) {
      corrupt(`Arrow could not read the IPC stream: ${String(error)}`, ROW_BATCH_HEADER_BYTES, error);
    }
    const dimension = checkSchema(table, version);
    if (dimension !== declared) corrupt(`schema has vector dimension ${dimension}, header says ${declared}`, 60);
    if (table.numRows !== rowCount) corrupt(`IPC stream holds ${table.numRows} rows, header says ${rowCount}`, 12);
    for (const batch of table.batches) checkBatch(batch, dimension);
    return { table, rowCount, dimension, ipc, version };
  } catch (error) {
    if (isWalFormatError(error)) throw error;
    corrupt(`unreadable Arrow data: ${String(error)}`, ROW_BATCH_HEADER_BYTES, error);
  }
}

function utf8At(data: Arrow.Data, row: number): string {
  const offsets = data.valueOffsets as Int32Array;
  const values = data.values as Uint8Array;
  const i = data.offset + row;
  return strictTextDecoder.decode(values.subarray(offsets[i] as number, offsets[i + 1] as number));
}

/** Turn a verified table into plain documents. */
export function rowBatchDocuments(batch: RowBatchTable): RowDocument[] {
  const out: RowDocument[] = [];
  const dimension = batch.dimension;
  const exact = (batch.version ?? PLAIN_ROW_BATCH_VERSION) >= 2;
  try {
    for (const recordBatch of batch.table.batches) {
      const columns = recordBatch.data.children;
      let c = 0;
      const ids = columns[c++] as Arrow.Data;
      const names = columns[c++] as Arrow.Data;
      const vector = dimension > 0 ? (columns[c++] as Arrow.Data) : undefined;
      const sparse = columns[c++] as Arrow.Data;
      const text = columns[c++] as Arrow.Data;
      const attrs = columns[c++] as Arrow.Data;
      const idBytes = ids.values as Uint8Array;
      const vectorValues = vector === undefined ? undefined : (vector.children[0]!.values as Float32Array);
      const vectorBase = vector === undefined ? 0 : vector.children[0]!.offset;
      const sparseIndices = sparse.children[0] as Arrow.Data;
      const sparseValues = sparse.children[1] as Arrow.Data;
      const entries = text.children[0] as Arrow.Data;
      const keys = entries.children[0] as Arrow.Data;
      const values = entries.children[1] as Arrow.Data;
      for (let row = 0; row < recordBatch.numRows; row++) {
        const doc: {
          rowId: RowId;
          id: string;
          vector?: Float32Array;
          sparse?: { indices: Uint32Array; values: Float32Array };
          text?: Record<string, string>;
          attributes?: JsonObject;
        } = {
          rowId: readIdBytes(idBytes, (ids.offset + row) * ID_BYTES) as RowId,
          id: utf8At(names, row),
        };
        if (vector !== undefined && vectorValues !== undefined && isValid(vector, row)) {
          const at = vectorBase + (vector.offset + row) * dimension;
          doc.vector = vectorValues.subarray(at, at + dimension);
        }
        if (isValid(sparse, row)) {
          const r = sparse.offset + row;
          const io = sparseIndices.valueOffsets as Int32Array;
          const vo = sparseValues.valueOffsets as Int32Array;
          const ii = sparseIndices.children[0] as Arrow.Data;
          const vi = sparseValues.children[0] as Arrow.Data;
          const indices = (ii.values as Uint32Array).subarray(ii.offset + (io[r + sparseIndices.offset] as number), ii.offset + (io[r + sparseIndices.offset + 1] as number));
          const vals = (vi.values as Float32Array).subarray(vi.offset + (vo[r + sparseValues.offset] as number), vi.offset + (vo[r + sparseValues.offset + 1] as number));
          if (indices.length !== vals.length) corrupt(`row ${row}: sparse indices and values differ in length`);
          doc.sparse = { indices, values: vals };
        }
        if (isValid(text, row)) {
          const offsets = text.valueOffsets as Int32Array;
          const record = bag<string>();
          for (let e = offsets[text.offset + row] as number; e < (offsets[text.offset + row + 1] as number); e++) {
            record[utf8At(keys, entries.offset + e)] = utf8At(values, entries.offset + e);
          }
          doc.text = record;
        }
        if (isValid(attrs, row)) {
          const text = utf8At(attrs, row);
          const parsed: unknown = exact ? parseExact(text) : JSON.parse(text);
          if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) corrupt(`row ${row}: attrs is not a JSON object`);
          doc.attributes = parsed as JsonObject;
        }
        out.push(doc);
      }
    }
  } catch (error) {
    if (isWalFormatError(error)) throw error;
    corrupt(`could not materialize documents: ${String(error)}`, undefined, error);
  }
  return out;
}

/** Decode and verify a row batch into plain documents. */
export function decodeRowBatch(input: Uint8Array, limits: RowBatchLimits = {}): RowDocument[] {
  return rowBatchDocuments(decodeRowBatchTable(input, limits));
}

/** The Arrow IPC stream inside a verified row batch, for any Arrow reader. */
export function rowBatchIpc(input: Uint8Array, limits: RowBatchLimits = {}): Uint8Array {
  return readEnvelope(input, limits).ipc;
}
