/**
 * Serialization of a QueryIndex to bytes and back, so the engine can store a
 * segment's query index as an object next to the segment and load it lazily.
 *
 * The object is self-contained: ids, dense vectors, sparse rows, the text
 * inverted indexes, the attribute columns and their postings, and the IVF
 * centroids and list boundaries. Loading it whole needs no other object
 * (cold start is one GET). What is costly to derive is stored: the slots
 * sorted by id (`idOrder`: id lookups are a binary search, no Map of every
 * id) and 1/|v| per row in float64 (the normalized copy for COSINE is one
 * multiply pass, bit-identical to the built one).
 *
 * Both versions describe the index with one meta JSON document in which
 * typed arrays appear as {"$a": i} and string tables as {"$s": [i, j]}, i
 * and j indexing `sections` ({type, length}); they differ in where the
 * sections live.
 *
 * Format version 5 (written): format 4 with each text field's forward
 * index (`text.N.sequence`: every slot's term ids in text order, for
 * phrase filters; text-index.ts).
 * Formats 6 to 9 (written for indexes that need them; the constants below):
 * format 5 with pre-tokenized text fields (6), sparse postings (7), exact
 * 64-bit integers (8), text element boundaries in `sequence` (9).
 * Format version 4 (read; its text fields load with `sequence` null): a
 * block file (@skerry/wal-format,
 * docs/formats.md) so that a reader can fetch single sections, or single
 * IVF lists of them, by byte range, each block CRC-checked:
 *   section `header`     16 bytes: magic "SKRYQIDX", u16 version (4, 5),
 *                        u16 flags (0), 4 zero bytes; always at offset 0
 *   section `clusters`   the per-row columns a first pass needs (8-bit
 *                        codes with per-cluster lo/step, inverse norms,
 *                        input positions, ids, row store offsets, missing
 *                        mask) row range by row range, one block per
 *                        cluster: the rows of one IVF list, or of part of
 *                        a list above ~1 MiB (cluster-layout.ts); in the
 *                        meta document these columns are {"$c": name}
 *   section `vectors`    the full-precision rows (f32, stride) in slot
 *                        order, fixed blocks of whole rows (~4 KiB): a
 *                        cold query re-ranks its candidates from them, a
 *                        load reads them whole (meta `vectors.codes` is
 *                        "sq8"; `vectors.vectors` {"$c": "vectors"})
 *   sections `a0`..`aN`  the other typed arrays, 8-byte aligned, in 64 KiB
 *                        blocks; among them the row store (`rowStore`: each
 *                        slot's attributes as JSON, 4 KiB blocks) and the
 *                        cluster boundaries (`clusters`, eager)
 *   section `meta.json`  the meta document (eager)
 *   eager as well: the IVF centroids, list offsets and cluster boundaries,
 *   and every array of at most 4 KiB, so one read of the eager region (its
 *   size is `queryIndexEagerBytes`) holds everything an ANN query needs
 *   first; then one ranged read per probed list.
 * Format version 3 (read): the same without the `vectors` section; its
 * clusters hold the raw vectors in place of the codes.
 *
 * Format version 2 (read only; integers little-endian):
 *   offset  size  field
 *   0       8     magic "SKRYQIDX"
 *   8       2     format_version (2)
 *   10      2     flags (0)
 *   12      4     meta_length: bytes of the JSON meta document at offset 32
 *   16      8     total_length of the whole object
 *   24      4     CRC-32 of bytes [32, total_length)
 *   28      4     CRC-32 of bytes [0, 28)
 *   32      m     meta JSON; its sections also carry their `offset`,
 *                 relative to the data area
 *   D             the data area, D = 32 + m rounded up to 8; every section
 *                 starts 8-byte aligned (so views need no copy)
 * Version 1 lacked idOrder and invNorms and is rejected like any other.
 *
 * Decoding checks, in order: size, magic, version (newer =
 * UnsupportedIndexVersionError), the container (v2: header CRC, flags,
 * exact length, body CRC; v3 and v4: the block file's trailer, directory and
 * every block's CRC), where the caller verified the bytes already (the
 * ref's BLAKE3) the body or block CRCs are skipped, then the meta document
 * against a zod schema, section bounds, then every cross-reference
 * (lengths agree with the document count, offsets are monotone and in
 * range, slots and codes are in range) before anything is used. Failures
 * are CorruptIndexError.
 */
import { crc32 } from "node:zlib";
import {
  type BlockFileDirectory,
  type BlockFileSectionInput,
  blockSpan,
  DEFAULT_BLOCK_BYTES,
  decodeBlockFileDirectory,
  encodeBlockFile,
  isWalFormatError,
  stringifyExact,
  verifyBlockSpan,
} from "@skerry/wal-format";
import { z } from "zod";
import { TAG_NUMBER } from "./attribute-columns.ts";
import type { AttributeColumn } from "./attribute-columns.ts";
import { CorruptIndexError, UnsupportedIndexVersionError } from "./errors.ts";
import type { IvfIndex } from "./ivf-index.ts";
import { DISTANCE_METRICS, type DistanceMetric } from "./query-document.ts";
import { QueryIndex, type QueryIndexState, type VectorData } from "./query-index.ts";
import { type SparseRows, sparseInverted } from "./sparse-index.ts";
import { StringTable } from "./string-table.ts";
import { ELEMENT_START, hasElementStarts, type TextFieldIndex } from "./text-index.ts";
import { textLanguage } from "./text-language.ts";
import { DEFAULT_B, DEFAULT_K1, type ResolvedTokenizerConfig } from "./tokenizer.ts";
import { allocateVectorMemory, CHUNK, strideOf, VectorKernel } from "./vector-kernel.ts";
import { bloomWords, buildBloom, buildIdBlocks } from "./id-set.ts";
import { type ClusterShape, clusterBoundaries, clusterBytes, clusterIdLengthOffset, quantizeCluster, readCluster, writeCluster } from "./cluster-layout.ts";
import { centroidCapacity } from "./ivf-index.ts";

export const QUERY_INDEX_MAGIC: Uint8Array = new TextEncoder().encode("SKRYQIDX");
/** The format the writer produces (an index without pre-tokenized text fields). */
export const QUERY_INDEX_VERSION = 5;
/**
 * Format 6 is format 5 with a text field whose config says `preTokenized`: the version is raised only for such
 * indexes, so a reader that predates pre-tokenized fields refuses them (UnsupportedIndexVersionError) instead of
 * reading their tokens as words.
 */
export const QUERY_INDEX_PRE_TOKENIZED_VERSION = 6;
/**
 * Format 7 is format 5 or 6 with sparse vectors: beside their rows (CSR), their postings by dimension (`sparse.postings`:
 * the distinct dimensions ascending, offsets into the postings, each posting's slot and value, as
 * sparse-index.ts `sparseInverted` orders them), so a cold sparse ranking reads only its dimensions' postings. The
 * version is raised only for indexes with sparse vectors; a pre-tokenized text field is then told by its config alone.
 */
export const QUERY_INDEX_SPARSE_POSTINGS_VERSION = 7;
/**
 * Format 8 is format 5, 6 or 7 with exact 64-bit integers (attribute values beyond 2^53-1, bigints in memory):
 * columns holding them carry `exactSlots` (u32) and `exactValues` (their decimal digits) and `exactJson` (their
 * arrays and objects, and the whole row store, are exact JSON: @skerry/wal-format exact-json.ts), and the meta document says
 * `exact: true`. The version is raised only for such indexes (older readers refuse them instead of reading a
 * 20-digit integer as a double); pre-tokenized text fields are told by their config, sparse postings are there
 * exactly when sparse vectors are. The cold readers read it by range too (cold-exact-numbers.ts: a column's exact
 * values; cold-rows.ts: the exact JSON row store).
 */
export const QUERY_INDEX_EXACT_VERSION = 8;
/**
 * Format 9 is format 5, 6, 7 or 8 with element boundaries in a text field's forward index (`sequence`, text-index.ts):
 * the first token of each element after the first of a text of several elements (the strings of an array) has bit 31
 * (ELEMENT_START) set beside its term id, and the field says `elements: true`. The version is raised only for such
 * indexes (older readers refuse them instead of reading a flagged token as a term id out of range), and a field's
 * sequence may hold flags only when it says `elements`; pre-tokenized fields, exact integers and sparse postings are
 * told by their config, `exact` and the sparse vectors, as in format 8. Indexes of earlier formats hold no element
 * boundaries: their texts had none (before format 9 no writer gave U+001E a meaning; the turbopuffer layer joined an
 * array's strings with a space), so they answer phrases as they were built.
 */
export const QUERY_INDEX_ELEMENTS_VERSION = 9;
/** The newest format this reader reads. */
export const QUERY_INDEX_NEWEST_VERSION = QUERY_INDEX_ELEMENTS_VERSION;
/** The oldest format version still read. */
export const QUERY_INDEX_OLDEST_VERSION = 2;
const V3_HEADER_BYTES = 16;
/** Format 4: the full-precision vectors section's blocks hold about this many bytes (whole rows; a re-ranked row costs one). */
const VECTOR_BLOCK_BYTES = 4 * 1024;
/** A cluster (one IVF list's rows, or part of one) holds about this many bytes at most. */
const MAX_CLUSTER_BYTES = 1024 * 1024;
/** Blocks of the row store's JSON (a returned row costs one such read). */
const ROW_BLOCK_BYTES = 4 * 1024;
/** Arrays up to this size go to the eager region. */
const EAGER_ARRAY_BYTES = 4096;
const HEADER_BYTES = 32;
const MAX_META_BYTES = 256 * 1024 * 1024;

type SectionType = "u8" | "u32" | "i32" | "f32" | "f64";
const CTORS = {
  u8: Uint8Array,
  u32: Uint32Array,
  i32: Int32Array,
  f32: Float32Array,
  f64: Float64Array,
} as const;

function sectionTypeOf(v: ArrayBufferView): SectionType {
  if (v instanceof Uint8Array) return "u8";
  if (v instanceof Uint32Array) return "u32";
  if (v instanceof Int32Array) return "i32";
  if (v instanceof Float32Array) return "f32";
  if (v instanceof Float64Array) return "f64";
  throw new TypeError(`cannot serialize ${v.constructor.name}`);
}

/** The per-row columns format 3 stores in clusters. */
type ClusterFieldName = "ids" | "positions" | "vectors" | "invNorms" | "missing";

const align8 = (n: number) => Math.ceil(n / 8) * 8;

interface EncodedSection {
  readonly type: SectionType;
  readonly view: Uint8Array;
  /** Where the array sits in the meta document, e.g. `vectors.centroids`, `text.0.postings`. */
  readonly path: string;
}

/** A per-row column stored in the clusters (meta `{"$c": field}`), not as a section of its own. */
class ClusterField {
  constructor(readonly field: ClusterFieldName) {}
}

/** A named section a caller adds to an index object (e.g. a tail chunk's header, tail-chunk-index-store.ts): eager, CRC-checked like the rest. */
export interface ExtraIndexSection {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** Section names serializeQueryIndex writes itself (an extra section may not take one). */
function isIndexSectionName(name: string): boolean {
  return name === "header" || name === "meta.json" || name === "clusters" || name === "vectors" || name === "idBlocks" || /^a[0-9]+$/.test(name);
}

/**
 * Serialize a query index (typically a segment's) to a versioned,
 * checksummed object: format version 5, a block file (see the header).
 * `extra` sections go to the eager region, before the meta document; a
 * decoder accepts them only when told their names (`DeserializeOptions.extraSections`).
 */
export function serializeQueryIndex(index: QueryIndex, extra: readonly ExtraIndexSection[] = []): Uint8Array {
  for (const x of extra) if (isIndexSectionName(x.name)) throw new TypeError(`extra index section ${x.name} collides with the index's own`);
  const s = index.state;
  const n = s.size;
  const vectors = s.vectors;
  const stride = vectors?.layout.stride ?? 0;
  const exact = s.attributes.some((a) => a.exactJson === true);
  const rows = rowStore(index, exact);
  const shape: ClusterShape = { stride, positions: s.sourcePositions !== null, rows: true, codes: true };
  const rowBytes = Math.max(1, clusterBytes(shape, 1, 16));
  const bounds = clusterBoundaries(n, s.ann?.listOffsets ?? null, Math.max(1, Math.floor(MAX_CLUSTER_BYTES / rowBytes)));

  const sections: EncodedSection[] = [];
  const section = (v: ArrayBufferView, path: string) => {
    sections.push({ type: sectionTypeOf(v), view: new Uint8Array(v.buffer, v.byteOffset, v.byteLength), path });
    return sections.length - 1;
  };
  const encode = (v: unknown, path: string): unknown => {
    if (v === null || typeof v !== "object") return v;
    if (v instanceof ClusterField) return { $c: v.field };
    if (v instanceof StringTable) return { $s: [section(v.offsets, `${path}.offsets`), section(v.bytes, `${path}.bytes`)] };
    if (ArrayBuffer.isView(v)) return { $a: section(v, path) };
    if (Array.isArray(v)) return v.map((x, i) => encode(x, `${path}.${i}`));
    // Sorted keys: the same index always serializes to the same bytes.
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, encode((v as Record<string, unknown>)[k], path === "" ? k : `${path}.${k}`)]),
    );
  };
  let raw: Float32Array | null = null;
  let invNorms: Float64Array | null = null;
  let missing: Uint8Array | null = null;
  let centroids: Float32Array | null = null;
  if (vectors !== null) {
    const { memory, layout } = vectors;
    const f = new Float32Array(memory.buffer);
    raw = f.subarray(layout.vectorsPtr >> 2, (layout.vectorsPtr >> 2) + layout.count * layout.stride);
    invNorms = inverseNorms(raw, layout.count, layout.stride);
    missing = new Uint8Array(memory.buffer, layout.missingPtr, layout.count);
    if (s.ann !== null) centroids = f.subarray(layout.centroidsPtr >> 2, (layout.centroidsPtr >> 2) + s.ann.lists * layout.stride);
  }
  // The id set (id-set.ts): a Bloom filter and the ids in byte order in ~4 KiB blocks, for cold membership tests.
  const order = s.idOrder ?? s.ids.byteOrder();
  const sortedIds = Array.from(order, (slot) => s.ids.bytes.subarray(s.ids.offsets[slot]!, s.ids.offsets[slot + 1]!));
  const idBlocks = buildIdBlocks(sortedIds);
  const meta = encode(
    {
      size: n,
      metric: s.metric,
      dimension: s.dimension,
      ids: new ClusterField("ids"),
      idOrder: order,
      sourcePositions: s.sourcePositions === null ? null : new ClusterField("positions"),
      vectors:
        vectors === null
          ? null
          : {
              dimension: vectors.layout.dimension,
              vectors: new ClusterField("vectors"),
              invNorms: new ClusterField("invNorms"),
              missing: new ClusterField("missing"),
              centroids,
              codes: "sq8",
            },
      sparse: s.sparse === null ? null : { ...s.sparse, postings: sparseInverted(s.sparse) },
      text: s.text.map((t) => ({ ...t, config: configToStore(t.config), ...(fieldElements(t) ? { elements: true } : {}) })),
      attributes: s.attributes,
      ann: s.ann,
      clusters: Uint32Array.from(bounds),
      rowStore: rows.bytes,
      idSet: { bloom: buildBloom(sortedIds, n), fence: stringTableOf(idBlocks.fence) },
      ...(exact ? { exact: true } : {}),
    },
    "",
  ) as Record<string, unknown>;

  // The clusters: one section, one block per cluster.
  const ids = s.ids;
  const clusterEnds: number[] = [];
  let total = 0;
  for (let c = 0; c + 1 < bounds.length; c++) {
    const [start, end] = [bounds[c]!, bounds[c + 1]!];
    total += clusterBytes(shape, end - start, ids.offsets[end]! - ids.offsets[start]!);
    clusterEnds.push(total);
  }
  const clusters = new Uint8Array(total);
  for (let c = 0, at = 0; c + 1 < bounds.length; c++) {
    const [start, end] = [bounds[c]!, bounds[c + 1]!];
    const idStart = ids.offsets[start]!;
    const idOffsets = ids.offsets.slice(start, end + 1);
    for (let i = 0; i < idOffsets.length; i++) idOffsets[i]! -= idStart;
    const size = clusterBytes(shape, end - start, idOffsets[end - start]!);
    const quantized = raw === null ? null : quantizeCluster(raw.subarray(start * stride, end * stride), missing!.subarray(start, end), end - start, stride);
    writeCluster(clusters.subarray(at, at + size), shape, {
      count: end - start,
      vectors: null,
      lo: quantized?.lo ?? null,
      step: quantized?.step ?? null,
      codes: quantized?.codes ?? null,
      invNorms: invNorms === null ? null : invNorms.subarray(start, end),
      positions: s.sourcePositions === null ? null : s.sourcePositions.subarray(start, end),
      idOffsets,
      rowOffsets: rows.offsets.subarray(start, end + 1),
      missing: missing === null ? null : missing.subarray(start, end),
      idBytes: ids.bytes.subarray(idStart, ids.offsets[end]!),
    });
    at += size;
  }

  const header = new Uint8Array(V3_HEADER_BYTES);
  header.set(QUERY_INDEX_MAGIC, 0);
  const preTokenized = [...index.textFields.values()].some((field) => field.config.preTokenized);
  const elements = s.text.some(fieldElements);
  const version = elements
    ? QUERY_INDEX_ELEMENTS_VERSION
    : exact
    ? QUERY_INDEX_EXACT_VERSION
    : s.sparse !== null
      ? QUERY_INDEX_SPARSE_POSTINGS_VERSION
      : preTokenized
        ? QUERY_INDEX_PRE_TOKENIZED_VERSION
        : QUERY_INDEX_VERSION;
  new DataView(header.buffer).setUint16(8, version, true);
  const table = sections.map((x) => ({ type: x.type, length: x.view.byteLength }));
  const metaBytes = new TextEncoder().encode(JSON.stringify({ ...meta, sections: table }));
  const blocks: BlockFileSectionInput[] = [{ name: "header", bytes: header }];
  if (clusterEnds.length > 0) blocks.push({ name: "clusters", bytes: clusters, blockEnds: clusterEnds });
  else blocks.push({ name: "clusters", bytes: clusters, blockBytes: DEFAULT_BLOCK_BYTES });
  if (raw !== null) blocks.push({ name: "vectors", bytes: new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength), blockBytes: vectorBlockBytes(stride) });
  if (idBlocks.ends.length > 0) blocks.push({ name: "idBlocks", bytes: idBlocks.bytes, blockEnds: idBlocks.ends });
  else blocks.push({ name: "idBlocks", bytes: idBlocks.bytes, blockBytes: DEFAULT_BLOCK_BYTES });
  sections.forEach((x, i) => {
    const eager =
      x.path === "vectors.centroids" || x.path === "ann.listOffsets" || x.path === "clusters" || x.path.startsWith("idSet.") || x.view.byteLength <= EAGER_ARRAY_BYTES;
    blocks.push({ name: `a${i}`, bytes: x.view, ...(eager ? { eager: true } : { blockBytes: x.path === "rowStore" ? ROW_BLOCK_BYTES : DEFAULT_BLOCK_BYTES }) });
  });
  for (const x of extra) blocks.push({ name: x.name, bytes: x.bytes, eager: true });
  blocks.push({ name: "meta.json", bytes: metaBytes, eager: true });
  return encodeBlockFile(blocks);
}

/** Format 4: bytes per block of the vectors section: whole rows, about VECTOR_BLOCK_BYTES. */
export function vectorBlockBytes(stride: number): number {
  return Math.max(1, Math.floor(VECTOR_BLOCK_BYTES / (stride * 4))) * stride * 4;
}

/** A string table over byte strings. */
function stringTableOf(parts: readonly Uint8Array[]): StringTable {
  const offsets = new Uint32Array(parts.length + 1);
  let total = 0;
  parts.forEach((p, i) => {
    total += p.length;
    offsets[i + 1] = total;
  });
  const bytes = new Uint8Array(total);
  parts.forEach((p, i) => {
    bytes.set(p, offsets[i]!);
  });
  return new StringTable(offsets, bytes);
}

/**
 * The row store: each slot's attributes as JSON text (empty for none), in
 * slot order, exactly as `attributesOf(slot, "all")` returns them, so a cold
 * reader returns a result row's attributes from one ranged read instead of
 * a read per column. Its offsets live in the clusters.
 */
function rowStore(index: QueryIndex, exact: boolean): StringTable {
  const rows: string[] = new Array(index.size);
  for (let slot = 0; slot < index.size; slot++) {
    const attributes = index.attributesOf(slot, "all");
    rows[slot] = Object.keys(attributes).length === 0 ? "" : exact ? stringifyExact(attributes) : JSON.stringify(attributes);
  }
  return StringTable.fromStrings(rows);
}

/**
 * Bytes at the end of a format-3 index object that hold its directory,
 * meta document and eager sections: the first ranged read of a cold query.
 */
export function queryIndexEagerBytes(bytes: Uint8Array): number {
  try {
    return bytes.byteLength - decodeBlockFileDirectory(bytes, bytes.byteLength).eagerOffset;
  } catch (cause) {
    throw corrupt("not a format 3 query index", "structure", cause);
  }
}

/**
 * 1/|v| per row, summed in float64 exactly like `buildQueryIndex` does, so
 * the normalized copy a loader makes with it is bit-identical to the built one.
 */
function inverseNorms(raw: Float32Array, count: number, stride: number): Float64Array {
  const out = new Float64Array(count);
  for (let slot = 0; slot < count; slot++) {
    const at = slot * stride;
    let sum = 0;
    for (let d = 0; d < stride; d++) sum += raw[at + d]! * raw[at + d]!;
    const norm = Math.sqrt(sum);
    out[slot] = norm > 0 ? 1 / norm : 0;
  }
  return out;
}

// ------------------------------------------------------------ decoding

const arrayRef = z.strictObject({ $a: z.number().int().min(0) });
const stringRef = z.strictObject({ $s: z.tuple([z.number().int().min(0), z.number().int().min(0)]) });
const count = z.number().int().min(0).max(0xffff_ffff);
const clusterRef = <F extends ClusterFieldName>(field: F) => z.strictObject({ $c: z.literal(field) });

const metaSchema = z.object({
  size: count,
  metric: z.enum(DISTANCE_METRICS as [DistanceMetric, ...DistanceMetric[]]),
  dimension: z.number().int().min(0).max(65_536),
  ids: z.union([stringRef, clusterRef("ids")]),
  idOrder: arrayRef,
  sourcePositions: z.union([arrayRef, clusterRef("positions")]).nullable(),
  vectors: z
    .object({
      dimension: z.number().int().min(1).max(65_536),
      vectors: z.union([arrayRef, clusterRef("vectors")]),
      invNorms: z.union([arrayRef, clusterRef("invNorms")]),
      missing: z.union([arrayRef, clusterRef("missing")]),
      centroids: arrayRef.nullable(),
      /** Format 4: the clusters hold 8-bit codes, the vectors are section `vectors` (cluster-layout.ts). */
      codes: z.literal("sq8").optional(),
    })
    .nullable(),
  sparse: z
    .object({
      rowOffsets: arrayRef,
      indices: arrayRef,
      values: arrayRef,
      /** Format 7: the postings by dimension (QUERY_INDEX_SPARSE_POSTINGS_VERSION). */
      postings: z.object({ dims: arrayRef, offsets: arrayRef, slots: arrayRef, values: arrayRef }).optional(),
    })
    .nullable(),
  text: z.array(
    z.object({
      name: z.string(),
      config: z.object({
        lowercase: z.boolean(),
        stopWords: z.array(z.string()),
        locale: z.string(),
        maxTokenLength: z.number().int().min(1),
        // Absent in indexes written before these options existed: the defaults they were built with.
        stemmer: z.string().nullable().optional(),
        asciiFolding: z.boolean().optional(),
        k1: z.number().min(0).optional(),
        b: z.number().min(0).max(1).optional(),
        preTokenized: z.literal(true).optional(),
      }),
      terms: stringRef,
      termOffsets: arrayRef,
      postings: arrayRef,
      frequencies: arrayRef,
      docLengths: arrayRef,
      present: arrayRef,
      /** The forward index (text-index.ts); absent in indexes stored before it. */
      sequence: arrayRef.nullable().optional(),
      /** Format 9: the sequence flags element starts (ELEMENT_START, text-index.ts). */
      elements: z.literal(true).optional(),
      docCount: count,
      totalLength: z.number().int().min(0),
    }),
  ),
  attributes: z.array(
    z.object({
      name: z.string(),
      typeMask: z.number().int().min(0).max(255),
      elementTypeMask: z.number().int().min(0).max(255),
      tags: arrayRef,
      numbers: arrayRef.nullable(),
      numberOrder: arrayRef.nullable(),
      strings: stringRef.nullable(),
      codes: arrayRef.nullable(),
      stringPostingOffsets: arrayRef.nullable(),
      stringPostings: arrayRef.nullable(),
      elemOffsets: arrayRef.nullable(),
      elemCodes: arrayRef.nullable(),
      elemKeys: stringRef.nullable(),
      elemPostingOffsets: arrayRef.nullable(),
      elemPostings: arrayRef.nullable(),
      complexSlots: arrayRef.nullable(),
      complexJson: stringRef.nullable(),
      /** Present (true) on a column of an attribute declared `filterable: false`: no order, no postings. */
      unindexed: z.literal(true).optional(),
      /** Format 8: bigint slots and their digits; `exactJson`: the column's arrays and objects are exact JSON. */
      exactSlots: arrayRef.optional(),
      exactValues: stringRef.optional(),
      exactJson: z.literal(true).optional(),
    }),
  ),
  /** Format 3: cluster boundaries (slots), and the row store's JSON bytes (its offsets are in the clusters). */
  clusters: arrayRef.optional(),
  rowStore: arrayRef.optional(),
  /** Format 3: the id set (id-set.ts): Bloom filter words and the id blocks' fence; the blocks are section `idBlocks`. */
  idSet: z.object({ bloom: arrayRef, fence: stringRef }).optional(),
  /** Format 8: some column holds exact 64-bit integers (QUERY_INDEX_EXACT_VERSION). */
  exact: z.literal(true).optional(),
  ann: z
    .object({ lists: z.number().int().min(1).max(65_536), listOffsets: arrayRef, probes: z.number().int().min(1), rank: z.enum(["l2", "dot"]) })
    .nullable(),
  // Format 2 places sections by `offset` in its data area; format 3 by name (`a<i>`) in the block file.
  sections: z.array(z.object({ type: z.enum(["u8", "u32", "i32", "f32", "f64"]), offset: count.optional(), length: z.number().int().min(0) })),
});

/**
 * The config as the meta document records it: the options added after format 4 shipped (stemmer,
 * asciiFolding, k1, b, preTokenized) only when they differ from their defaults, so an index built with the defaults is
 * byte for byte what earlier writers produced.
 */
function configToStore(config: ResolvedTokenizerConfig): Record<string, unknown> {
  const { stemmer, asciiFolding, k1, b, preTokenized, ...base } = config;
  return {
    ...base,
    ...(preTokenized ? { preTokenized } : {}),
    ...(stemmer === null ? {} : { stemmer }),
    ...(asciiFolding ? { asciiFolding } : {}),
    ...(k1 === DEFAULT_K1 ? {} : { k1 }),
    ...(b === DEFAULT_B ? {} : { b }),
  };
}

/**
 * A text field's stored tokenizer config with the defaults of the options
 * older indexes do not record; CorruptIndexError for a stemmer this reader
 * does not know.
 */
export function storedTokenizerConfig(field: string, stored: z.infer<typeof metaSchema>["text"][number]["config"]): ResolvedTokenizerConfig {
  if (stored.stemmer != null && textLanguage(stored.stemmer) === undefined) throw corrupt(`text field ${field}: unknown stemmer ${stored.stemmer}`);
  return {
    lowercase: stored.lowercase,
    stopWords: stored.stopWords,
    locale: stored.locale,
    maxTokenLength: stored.maxTokenLength,
    stemmer: stored.stemmer ?? null,
    asciiFolding: stored.asciiFolding ?? false,
    k1: stored.k1 ?? DEFAULT_K1,
    b: stored.b ?? DEFAULT_B,
    preTokenized: stored.preTokenized ?? false,
  };
}

function corrupt(message: string, reason: CorruptIndexError["reason"] = "structure", cause?: unknown): CorruptIndexError {
  return new CorruptIndexError(message, reason, cause === undefined ? {} : { cause });
}

export interface DeserializeOptions {
  /** Skip the body CRC (only when the caller already verified these exact bytes). Default false. */
  readonly skipChecksum?: boolean;
  /** Sections besides the index's own that may be present (serializeQueryIndex's `extra`); any other is corruption. */
  readonly extraSections?: readonly string[];
}

/**
 * The bytes of an extra section (serializeQueryIndex's `extra`) of a format
 * 3+ index object, its blocks CRC-checked; undefined when the object has no
 * such section. CorruptIndexError when the object is not a block file or
 * the section's bytes fail their check.
 */
export function readExtraIndexSection(bytes: Uint8Array, name: string): Uint8Array | undefined {
  if (bytes.byteLength < 10) throw corrupt(`${bytes.byteLength} bytes is shorter than the header`, "truncated");
  for (let i = 0; i < 8; i++) if (bytes[i] !== QUERY_INDEX_MAGIC[i]) throw corrupt("bad magic", "magic");
  const directory = blockFileOf(bytes);
  const section = directory.section(name);
  if (section === undefined) return undefined;
  const span = blockSpan(section);
  const held = bytes.subarray(span.offset, span.offset + span.length);
  try {
    verifyBlockSpan(directory, span, held);
  } catch (cause) {
    throw corrupt(`section ${name}: ${(cause as Error).message}`, "checksum", cause);
  }
  return held;
}

/** Decode bytes written by serializeQueryIndex (format 3, or format 2). Throws CorruptIndexError / UnsupportedIndexVersionError. */
export function deserializeQueryIndex(input: Uint8Array, options: DeserializeOptions = {}): QueryIndex {
  if (input.byteLength < 10) throw corrupt(`${input.byteLength} bytes is shorter than the header`, "truncated");
  for (let i = 0; i < 8; i++) if (input[i] !== QUERY_INDEX_MAGIC[i]) throw corrupt("bad magic", "magic");
  const version = new DataView(input.buffer, input.byteOffset, input.byteLength).getUint16(8, true);
  if (version > QUERY_INDEX_NEWEST_VERSION) throw new UnsupportedIndexVersionError(version, QUERY_INDEX_NEWEST_VERSION);
  // Views need aligned memory: copy once if the input is not 8-aligned.
  const bytes = input.byteOffset % 8 === 0 ? input : input.slice();
  const container = version >= 3 ? openV3(bytes, version, options) : openV2(bytes, options);
  const index = decodeStructure(container);
  const preTokenized = [...index.textFields.values()].some((field) => field.config.preTokenized);
  if (version < QUERY_INDEX_SPARSE_POSTINGS_VERSION && preTokenized !== (version === QUERY_INDEX_PRE_TOKENIZED_VERSION)) {
    throw corrupt(`format ${version} ${preTokenized ? "with" : "without"} a pre-tokenized text field`);
  }
  const elements = container.meta.text.some((t) => t.elements === true);
  if (elements !== (version === QUERY_INDEX_ELEMENTS_VERSION)) throw corrupt(`format ${version} ${elements ? "with" : "without"} text element boundaries`);
  checkSparseFormat(version, container.meta.sparse, container.meta.exact === true);
  return index;
}

/** True when a text field's forward index holds element boundaries (format 9). */
function fieldElements(field: TextFieldIndex): boolean {
  return field.sequence !== null && hasElementStarts(field.sequence);
}

/**
 * Format 7 is the format of indexes with sparse vectors, and their postings by dimension are there exactly then;
 * older formats may hold sparse rows, without postings.
 */
export function checkSparseFormat(version: number, sparse: IndexMeta["sparse"], exact = false): void {
  if (version !== QUERY_INDEX_ELEMENTS_VERSION && exact !== (version === QUERY_INDEX_EXACT_VERSION)) throw corrupt(`format ${version} ${exact ? "with" : "without"} exact integers`);
  if (version >= QUERY_INDEX_EXACT_VERSION) {
    if (sparse !== null && sparse.postings === undefined) throw corrupt(`format ${version} without sparse postings`);
    return;
  }
  const postings = version === QUERY_INDEX_SPARSE_POSTINGS_VERSION;
  if (postings && sparse === null) throw corrupt(`format ${version} without sparse vectors`);
  if (postings !== (sparse?.postings !== undefined)) throw corrupt(`format ${version} ${postings ? "without" : "with"} sparse postings`);
}

/** A container's meta document (validated) and the bytes of its sections. */
interface Container {
  readonly meta: IndexMeta;
  /** The bytes of section i (bounds checked by the container). */
  readonly bytesOf: (i: number) => Uint8Array;
  /** Formats 3 and 4: the clusters section's bytes. */
  readonly clusters?: () => Uint8Array;
  /** Format 4: the full-precision vectors section's bytes. */
  readonly vectors?: () => Uint8Array;
}

export type IndexMeta = z.infer<typeof metaSchema>;

/** True for a format-8 index (exact 64-bit integers): its row store and columns' arrays and objects are exact JSON. */
export function exactIndex(meta: IndexMeta): boolean {
  return meta.exact === true;
}

/** Parses and validates a meta document (both formats). Throws CorruptIndexError. */
export function parseIndexMeta(bytes: Uint8Array): IndexMeta {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    throw corrupt("meta document is not JSON", "structure", error);
  }
  // jitless: parsed once per index object; compiling zod's fast path for this schema's ~20 object shapes took
  // more than the parse (~7 ms of a fresh process's first cold query).
  const parsed = metaSchema.safeParse(raw, { jitless: true });
  if (!parsed.success) throw corrupt(`meta document: ${parsed.error.issues[0]?.message ?? "invalid"}`, "structure", parsed.error);
  return parsed.data;
}

function openV2(bytes: Uint8Array, options: DeserializeOptions): Container {
  if (bytes.byteLength < HEADER_BYTES) throw corrupt(`${bytes.byteLength} bytes is shorter than the header`, "truncated");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint16(8, true);
  if (crc32(bytes.subarray(0, 28)) !== view.getUint32(28, true)) throw corrupt("header checksum mismatch", "checksum");
  if (version < 1) throw corrupt(`format version ${version}`, "structure");
  if (version < QUERY_INDEX_OLDEST_VERSION) throw new UnsupportedIndexVersionError(version, QUERY_INDEX_VERSION);
  if (view.getUint16(10, true) !== 0) throw corrupt("unknown flags", "structure");
  const total = view.getBigUint64(16, true);
  if (total !== BigInt(bytes.byteLength)) {
    throw corrupt(`header says ${total} bytes, got ${bytes.byteLength}`, total > BigInt(bytes.byteLength) ? "truncated" : "length");
  }
  if (options.skipChecksum !== true && crc32(bytes.subarray(HEADER_BYTES)) !== view.getUint32(24, true)) {
    throw corrupt("body checksum mismatch", "checksum");
  }
  const metaLength = view.getUint32(12, true);
  if (metaLength > MAX_META_BYTES || HEADER_BYTES + metaLength > bytes.byteLength) throw corrupt("meta length out of range", "length");
  const meta = parseIndexMeta(bytes.subarray(HEADER_BYTES, HEADER_BYTES + metaLength));
  const dataStart = align8(HEADER_BYTES + metaLength);
  return {
    meta,
    bytesOf: (i) => {
      const s = meta.sections[i] as IndexMeta["sections"][number];
      if (s.offset === undefined || s.offset % 8 !== 0 || dataStart + s.offset + s.length > bytes.byteLength) {
        throw corrupt(`section ${i} is out of bounds`, "length");
      }
      return bytes.subarray(dataStart + s.offset, dataStart + s.offset + s.length);
    },
  };
}

/** Formats 3 and 4: the block file's directory, every block verified (unless the caller verified the bytes), the meta document. */
function openV3(bytes: Uint8Array, version: number, options: DeserializeOptions): Container {
  const directory = blockFileOf(bytes);
  const header = directory.section("header");
  if (header === undefined || header.offset !== 0 || header.length !== V3_HEADER_BYTES) throw corrupt("header section missing or misplaced");
  const metaSection = directory.section("meta.json");
  if (metaSection === undefined) throw corrupt("meta document missing");
  if (metaSection.length > MAX_META_BYTES) throw corrupt("meta length out of range", "length");
  const read = (name: string): Uint8Array => {
    const section = directory.section(name);
    if (section === undefined) throw corrupt(`section ${name} missing`);
    const span = blockSpan(section);
    const held = bytes.subarray(span.offset, span.offset + span.length);
    if (options.skipChecksum !== true) {
      try {
        verifyBlockSpan(directory, span, held);
      } catch (cause) {
        throw corrupt(`section ${name}: ${(cause as Error).message}`, "checksum", cause);
      }
    }
    return held;
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  read("header");
  if (view.getUint16(10, true) !== 0 || view.getUint32(12, true) !== 0) throw corrupt("unknown flags", "structure");
  const meta = parseIndexMeta(read("meta.json"));
  const quantized = version >= 4 && meta.vectors !== null;
  if ((meta.vectors?.codes === "sq8") !== quantized) throw corrupt(`format ${version} with${quantized ? "out" : ""} vector codes`);
  const names = new Set([
    "header",
    "meta.json",
    "clusters",
    "idBlocks",
    ...(quantized ? ["vectors"] : []),
    ...meta.sections.map((_, i) => `a${i}`),
    ...(options.extraSections ?? []),
  ]);
  for (const section of directory.sections) if (!names.has(section.name)) throw corrupt(`unexpected section ${section.name}`);
  // The id blocks serve cold reads only; a whole load still verifies their checksums.
  if (directory.section("idBlocks") !== undefined) read("idBlocks");
  return {
    meta,
    clusters: () => read("clusters"),
    ...(quantized ? { vectors: () => read("vectors") } : {}),
    bytesOf: (i) => {
      const held = read(`a${i}`);
      if (held.byteLength !== (meta.sections[i] as IndexMeta["sections"][number]).length) throw corrupt(`section ${i} has the wrong length`, "length");
      return held;
    },
  };
}

/** The per-row columns of a format-3 index, assembled from its clusters. */
interface ClusterColumns {
  readonly ids: null;
  readonly idOffsets: Uint32Array;
  readonly idBytes: Uint8Array;
  readonly positions: Uint32Array | null;
  readonly vectors: Float32Array | null;
  readonly invNorms: Float64Array | null;
  readonly missing: Uint8Array | null;
  readonly rowOffsets: Uint32Array;
}

/**
 * Reads every cluster in order and copies its parts into whole columns:
 * the boundaries must cover [0, size), cut at every IVF list boundary, and
 * the clusters must fill the section exactly, their row store offsets
 * chaining from 0 to the row store's length.
 */
function assembleClusters(meta: IndexMeta, bounds: Uint32Array, bytes: Uint8Array, rowStoreBytes: number, vectorBytes: Uint8Array | null): ClusterColumns {
  const n = meta.size;
  if (bounds.length < 1 || bounds[0] !== 0 || bounds[bounds.length - 1] !== n) throw corrupt("cluster boundaries do not span the rows");
  for (let c = 1; c < bounds.length; c++) if (bounds[c]! <= bounds[c - 1]!) throw corrupt("cluster boundaries are not ascending");
  const stride = meta.vectors === null ? 0 : strideOf(meta.vectors.dimension);
  const shape: ClusterShape = { stride, positions: meta.sourcePositions !== null, rows: true, codes: vectorBytes !== null };
  let vectors: Float32Array | null = null;
  if (vectorBytes !== null) {
    // Format 4: the vectors section, whole (the clusters' codes serve cold reads only).
    if (vectorBytes.byteLength !== n * stride * 4) throw corrupt(`the vectors section has ${vectorBytes.byteLength} bytes, expected ${n * stride * 4}`, "length");
    vectors = vectorBytes.byteOffset % 4 === 0 ? new Float32Array(vectorBytes.buffer, vectorBytes.byteOffset, n * stride) : new Float32Array(vectorBytes.slice().buffer);
  } else if (stride > 0) vectors = new Float32Array(n * stride);
  const invNorms = stride > 0 ? new Float64Array(n) : null;
  const missing = stride > 0 ? new Uint8Array(n) : null;
  const positions = shape.positions ? new Uint32Array(n) : null;
  const idOffsets = new Uint32Array(n + 1);
  const rowOffsets = new Uint32Array(n + 1);
  const idParts: Uint8Array[] = [];
  let idTotal = 0;
  let at = 0;
  for (let c = 0; c + 1 < bounds.length; c++) {
    const start = bounds[c]!;
    const m = bounds[c + 1]! - start;
    // The id bytes' length is the cluster's last id offset.
    const idLengthAt = at + clusterIdLengthOffset(shape, m);
    if (idLengthAt + 4 > bytes.byteLength) throw corrupt(`cluster ${c} runs past the clusters`, "length");
    const idLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(idLengthAt, true);
    const size = clusterBytes(shape, m, idLength);
    if (at + size > bytes.byteLength) throw corrupt(`cluster ${c} runs past the clusters`, "length");
    const rows = readCluster(bytes.subarray(at, at + size), shape, m);
    if (typeof rows === "string") throw corrupt(`cluster ${c}: ${rows}`);
    if (rows.rowOffsets![0] !== rowOffsets[start]) throw corrupt(`cluster ${c}: row store offsets do not chain`);
    if (rows.vectors !== null) vectors?.set(rows.vectors, start * stride);
    invNorms?.set(rows.invNorms!, start);
    missing?.set(rows.missing!, start);
    positions?.set(rows.positions!, start);
    rowOffsets.set(rows.rowOffsets!, start);
    for (let i = 1; i <= m; i++) idOffsets[start + i] = idTotal + rows.idOffsets[i]!;
    idParts.push(rows.idBytes);
    idTotal += rows.idBytes.byteLength;
    at += size;
  }
  if (at !== bytes.byteLength) throw corrupt(`the clusters hold ${bytes.byteLength} bytes, their rows ${at}`, "length");
  if (rowOffsets[n] !== rowStoreBytes) throw corrupt("row store offsets do not span the row store", "length");
  const idBytes = new Uint8Array(idTotal);
  let o = 0;
  for (const part of idParts) {
    idBytes.set(part, o);
    o += part.byteLength;
  }
  return { ids: null, idOffsets, idBytes, positions, vectors, invNorms, missing, rowOffsets };
}

/** The block file directory of a whole format-3 object, as CorruptIndexError when it is damaged. */
function blockFileOf(bytes: Uint8Array): BlockFileDirectory {
  try {
    return decodeBlockFileDirectory(bytes, bytes.byteLength);
  } catch (cause) {
    if (!isWalFormatError(cause)) throw cause;
    const reason = (cause as { reason?: string }).reason;
    throw corrupt(
      cause.message,
      // A format-3 header at the start without a block file trailer at the end: the object was cut short.
      reason === "truncated" || reason === "bad-magic" ? "truncated" : reason === "checksum-mismatch" ? "checksum" : "structure",
      cause,
    );
  }
}

/** The index from a validated meta document and its sections: every cross-reference checked before use. */
function decodeStructure(container: Container): QueryIndex {
  const { meta, bytesOf } = container;
  const used = new Set<number>();
  let columns: ClusterColumns | undefined;
  const clustered = (): ClusterColumns => {
    if (columns !== undefined) return columns;
    if (meta.clusters === undefined || meta.rowStore === undefined || container.clusters === undefined) throw corrupt("clustered columns without clusters");
    columns = assembleClusters(meta, section(meta.clusters, "u32"), container.clusters(), section(meta.rowStore, "u8").length, container.vectors?.() ?? null);
    return columns;
  };
  const section = <T extends SectionType>(ref: { $a: number } | { $c: ClusterFieldName }, type: T): InstanceType<(typeof CTORS)[T]> => {
    if ("$c" in ref) {
      const column = clustered()[ref.$c];
      if (!(column instanceof CTORS[type])) throw corrupt(`clustered column ${ref.$c} is not ${type}`);
      return column as InstanceType<(typeof CTORS)[T]>;
    }
    const s = meta.sections[ref.$a];
    if (s === undefined) throw corrupt(`section ${ref.$a} does not exist`);
    if (s.type !== type) throw corrupt(`section ${ref.$a} is ${s.type}, expected ${type}`);
    const size = CTORS[type].BYTES_PER_ELEMENT;
    if (s.length % size !== 0) throw corrupt(`section ${ref.$a} is out of bounds`, "length");
    const held = bytesOf(ref.$a);
    used.add(ref.$a);
    return new CTORS[type](held.buffer as ArrayBuffer, held.byteOffset, s.length / size) as InstanceType<(typeof CTORS)[T]>;
  };
  const n = meta.size;
  const expectLength = (what: string, v: { length: number }, length: number) => {
    if (v.length !== length) throw corrupt(`${what} has ${v.length} entries, expected ${length}`);
  };
  const monotone = (what: string, offsets: Uint32Array, end: number) => {
    if (offsets[0] !== 0 || offsets[offsets.length - 1] !== end) throw corrupt(`${what} offsets do not span their data`);
    for (let i = 1; i < offsets.length; i++) if (offsets[i]! < offsets[i - 1]!) throw corrupt(`${what} offsets are not monotone`);
  };
  const inRange = (what: string, values: ArrayLike<number>, limit: number, allowMinusOne = false) => {
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v >= limit || (v < 0 && !(allowMinusOne && v === -1))) throw corrupt(`${what} holds ${v}, out of range`);
    }
  };
  const strings = (what: string, ref: { $s: [number, number] } | { $c: "ids" }, length?: number): StringTable => {
    const offsets = "$c" in ref ? clustered().idOffsets : section({ $a: ref.$s[0] }, "u32");
    const data = "$c" in ref ? clustered().idBytes : section({ $a: ref.$s[1] }, "u8");
    if (offsets.length < 1) throw corrupt(`${what} has no offsets`);
    monotone(what, offsets, data.length);
    const table = new StringTable(offsets, data);
    if (length !== undefined) expectLength(what, table, length);
    return table;
  };
  const opt = <T>(v: T | null, f: (v: T) => unknown) => (v === null ? null : f(v));

  const ids = strings("ids", meta.ids, n);
  const idOrder = section(meta.idOrder, "u32");
  expectLength("idOrder", idOrder, n);
  // In range and strictly ascending by id bytes: a permutation, and the ids are unique.
  for (let i = 0; i < n; i++) {
    if (idOrder[i]! >= n) throw corrupt("idOrder out of range");
    if (i > 0 && ids.compareEntries(idOrder[i - 1]!, idOrder[i]!) >= 0) throw corrupt("idOrder is not sorted by id");
  }
  const sourcePositions = opt(meta.sourcePositions, (r) => section(r, "u32")) as Uint32Array | null;
  if (sourcePositions !== null) {
    expectLength("sourcePositions", sourcePositions, n);
    const seen = new Uint8Array(n);
    for (const p of sourcePositions) {
      if (p >= n || seen[p] === 1) throw corrupt("sourcePositions is not a permutation");
      seen[p] = 1;
    }
  }
  let ann: IvfIndex | null = null;
  if (meta.ann !== null) {
    const listOffsets = section(meta.ann.listOffsets, "u32");
    expectLength("listOffsets", listOffsets, meta.ann.lists + 1);
    if (listOffsets[0] !== 0 || listOffsets[meta.ann.lists]! > n) throw corrupt("listOffsets out of range");
    for (let i = 1; i < listOffsets.length; i++) if (listOffsets[i]! < listOffsets[i - 1]!) throw corrupt("listOffsets not monotone");
    ann = { lists: meta.ann.lists, listOffsets, probes: Math.min(meta.ann.lists, meta.ann.probes), rank: meta.ann.rank };
    if (meta.clusters !== undefined) {
      // Format 3: every list starts at a cluster boundary (a cold read fetches a list's clusters, nothing else).
      const bounds = new Set(section(meta.clusters, "u32"));
      for (const offset of listOffsets) if (!bounds.has(offset) && offset !== n) throw corrupt("an IVF list does not start at a cluster boundary");
    }
  }
  let vectors: VectorData | null = null;
  if (meta.vectors !== null) {
    const dim = meta.vectors.dimension;
    if (dim !== meta.dimension) throw corrupt("vector dimension disagrees");
    const stride = strideOf(dim);
    const raw = section(meta.vectors.vectors, "f32");
    expectLength("vectors", raw, n * stride);
    const invNorms = section(meta.vectors.invNorms, "f64");
    expectLength("invNorms", invNorms, n);
    const missing = section(meta.vectors.missing, "u8");
    expectLength("missing", missing, n);
    const centroids = opt(meta.vectors.centroids, (r) => section(r, "f32")) as Float32Array | null;
    if ((centroids === null) !== (ann === null)) throw corrupt("centroids and IVF lists disagree");
    if (centroids !== null) expectLength("centroids", centroids, ann!.lists * stride);
    const cosine = meta.metric === "COSINE";
    const { memory, layout } = allocateVectorMemory(n, dim, {
      normalized: cosine,
      centroidCapacity: ann === null ? 0 : Math.max(ann.lists, centroidCapacity(ann.lists)),
    });
    const f = new Float32Array(memory.buffer);
    f.set(raw, layout.vectorsPtr >> 2);
    new Uint8Array(memory.buffer).set(missing, layout.missingPtr);
    if (centroids !== null) f.set(centroids, layout.centroidsPtr >> 2);
    const inv = layout.invNormsPtr >> 2;
    for (let slot = 0; slot < n; slot++) {
      const k = invNorms[slot]!;
      if (!(k >= 0 && k < Number.POSITIVE_INFINITY)) throw corrupt("invNorms hold an invalid number");
      f[inv + slot] = k;
    }
    // Finiteness: the SIMD kernel's dot product of every row with a zero
    // query is 0, or NaN where the row holds a NaN or an infinity.
    const kernel = new VectorKernel(memory, layout);
    const { q, out } = kernel.scratch(0);
    f.fill(0, q >> 2, (q >> 2) + stride);
    let check = 0;
    for (let c = 0; c < n; c += CHUNK) {
      const count = Math.min(CHUNK, n - c);
      kernel.range(false, q, layout.vectorsPtr + c * stride * 4, count, out);
      for (let i = 0; i < count; i++) check += f[(out >> 2) + i]!;
    }
    // The normalized copy for COSINE: the same float64 product the build makes, so the same bits.
    if (cosine) {
      const nb = layout.normalizedPtr >> 2;
      for (let slot = 0; slot < n; slot++) {
        const k = invNorms[slot]!;
        const at = slot * stride;
        for (let d = 0; d < stride; d += 4) {
          f[nb + at + d] = raw[at + d]! * k;
          f[nb + at + d + 1] = raw[at + d + 1]! * k;
          f[nb + at + d + 2] = raw[at + d + 2]! * k;
          f[nb + at + d + 3] = raw[at + d + 3]! * k;
        }
      }
    }
    if (!Number.isFinite(check)) throw corrupt("vectors hold a non-finite number");
    vectors = { memory, layout };
  } else if (meta.dimension !== 0 || ann !== null) {
    throw corrupt("dimension without vectors");
  }
  let sparse: SparseRows | null = null;
  if (meta.sparse !== null) {
    const rowOffsets = section(meta.sparse.rowOffsets, "u32");
    const indices = section(meta.sparse.indices, "u32");
    const values = section(meta.sparse.values, "f32");
    expectLength("sparse rows", rowOffsets, n + 1);
    expectLength("sparse values", values, indices.length);
    monotone("sparse rows", rowOffsets, indices.length);
    const postings = meta.sparse.postings;
    if (postings !== undefined) {
      // Format 7: the postings by dimension (read cold; the loaded path inverts the rows itself), checked for shape.
      const dims = section(postings.dims, "u32");
      const offsets = section(postings.offsets, "u32");
      expectLength("sparse posting offsets", offsets, dims.length + 1);
      expectLength("sparse posting slots", section(postings.slots, "u32"), indices.length);
      expectLength("sparse posting values", section(postings.values, "f32"), indices.length);
      monotone("sparse postings", offsets, indices.length);
      for (let i = 1; i < dims.length; i++) if (dims[i]! <= dims[i - 1]!) throw corrupt("sparse posting dimensions are not ascending");
    }
    sparse = { rowOffsets, indices, values };
  }
  const text: TextFieldIndex[] = meta.text.map((t) => {
    const terms = strings(`terms of ${t.name}`, t.terms);
    const termOffsets = section(t.termOffsets, "u32");
    const postings = section(t.postings, "u32");
    const frequencies = section(t.frequencies, "u32");
    const docLengths = section(t.docLengths, "u32");
    const present = section(t.present, "u8");
    expectLength("termOffsets", termOffsets, terms.length + 1);
    monotone("postings", termOffsets, postings.length);
    expectLength("frequencies", frequencies, postings.length);
    expectLength("docLengths", docLengths, n);
    expectLength("present", present, n);
    inRange("postings", postings, n);
    const config = storedTokenizerConfig(t.name, t.config);
    const sequence = t.sequence === undefined || t.sequence === null ? null : section(t.sequence, "u32");
    if (sequence !== null) {
      expectLength("token sequence", sequence, t.totalLength);
      let total = 0;
      for (let s = 0; s < n; s++) total += docLengths[s]!;
      if (total !== t.totalLength) throw corrupt(`docLengths of ${t.name} sum to ${total}, not ${t.totalLength}`);
      if (t.elements === true) {
        // Format 9: a token may carry ELEMENT_START, never the first of a slot (an element boundary inside the slot).
        for (let i = 0; i < sequence.length; i++) if ((sequence[i]! & ~ELEMENT_START) >= terms.length) throw corrupt(`token sequence holds ${sequence[i]}, out of range`);
        for (let s = 0, at = 0; s < n; at += docLengths[s]!, s++) {
          if (docLengths[s]! > 0 && sequence[at]! >= ELEMENT_START) throw corrupt(`token sequence of ${t.name} starts slot ${s} with an element boundary`);
        }
      } else {
        inRange("token sequence", sequence, terms.length);
      }
    } else if (t.elements === true) {
      throw corrupt(`text field ${t.name} has element boundaries without a token sequence`);
    }
    return { name: t.name, config, terms, termOffsets, postings, frequencies, docLengths, present, sequence, docCount: t.docCount, totalLength: t.totalLength };
  });
  const attributes: AttributeColumn[] = meta.attributes.map((a) => {
    const tags = section(a.tags, "u8");
    expectLength(`tags of ${a.name}`, tags, n);
    inRange(`tags of ${a.name}`, tags, 8);
    const numbers = opt(a.numbers, (r) => section(r, "f64")) as Float64Array | null;
    const numberOrder = opt(a.numberOrder, (r) => section(r, "u32")) as Uint32Array | null;
    if (numbers !== null) expectLength("numbers", numbers, n);
    if (numberOrder !== null) inRange("numberOrder", numberOrder, n);
    const unindexed = a.unindexed === true;
    if (!unindexed && (numbers === null) !== (numberOrder === null)) throw corrupt("numbers and their order disagree");
    if (unindexed && numberOrder !== null) throw corrupt(`unindexed column ${a.name} has a number order`);
    const dict = opt(a.strings, (r) => strings(`strings of ${a.name}`, r)) as StringTable | null;
    const codes = opt(a.codes, (r) => section(r, "i32")) as Int32Array | null;
    const spo = opt(a.stringPostingOffsets, (r) => section(r, "u32")) as Uint32Array | null;
    const sp = opt(a.stringPostings, (r) => section(r, "u32")) as Uint32Array | null;
    if (dict !== null) {
      if (codes === null || (!unindexed && (spo === null || sp === null))) throw corrupt("string column incomplete");
      expectLength("codes", codes, n);
      inRange("codes", codes, dict.length, true);
      if (spo !== null && sp !== null) {
        expectLength("string postings offsets", spo, dict.length + 1);
        monotone("string postings", spo, sp.length);
        inRange("string postings", sp, n);
      } else if (spo !== null || sp !== null) throw corrupt("string postings incomplete");
    }
    const elemOffsets = opt(a.elemOffsets, (r) => section(r, "u32")) as Uint32Array | null;
    const elemCodes = opt(a.elemCodes, (r) => section(r, "i32")) as Int32Array | null;
    const elemKeys = opt(a.elemKeys, (r) => strings(`elements of ${a.name}`, r)) as StringTable | null;
    const epo = opt(a.elemPostingOffsets, (r) => section(r, "u32")) as Uint32Array | null;
    const ep = opt(a.elemPostings, (r) => section(r, "u32")) as Uint32Array | null;
    if (elemOffsets !== null) {
      if (elemCodes === null || elemKeys === null || (!unindexed && (epo === null || ep === null))) throw corrupt("array column incomplete");
      expectLength("element offsets", elemOffsets, n + 1);
      monotone("elements", elemOffsets, elemCodes.length);
      inRange("element codes", elemCodes, elemKeys.length, true);
      if (epo !== null && ep !== null) {
        expectLength("element postings offsets", epo, elemKeys.length + 1);
        monotone("element postings", epo, ep.length);
        inRange("element postings", ep, n);
      } else if (epo !== null || ep !== null) throw corrupt("element postings incomplete");
    }
    const complexSlots = opt(a.complexSlots, (r) => section(r, "u32")) as Uint32Array | null;
    const complexJson = opt(a.complexJson, (r) => strings(`values of ${a.name}`, r)) as StringTable | null;
    if ((complexSlots === null) !== (complexJson === null)) throw corrupt("complex values incomplete");
    if (complexSlots !== null) {
      expectLength("complex values", complexJson!, complexSlots.length);
      inRange("complex slots", complexSlots, n);
    }
    const exactSlots = a.exactSlots === undefined ? undefined : (section(a.exactSlots, "u32") as Uint32Array);
    const exactValues = a.exactValues === undefined ? undefined : strings(`exact values of ${a.name}`, a.exactValues);
    if ((exactSlots === undefined) !== (exactValues === undefined)) throw corrupt("exact values incomplete");
    if ((exactSlots !== undefined || a.exactJson === true) && meta.exact !== true) throw corrupt(`column ${a.name} holds exact integers in an index that says none`);
    if (exactSlots !== undefined) {
      expectLength("exact values", exactValues!, exactSlots.length);
      inRange("exact slots", exactSlots, n);
      if (a.exactJson !== true) throw corrupt(`column ${a.name} holds exact integers without exactJson`);
      for (let i = 0; i < exactSlots.length; i++) {
        if (i > 0 && exactSlots[i]! <= exactSlots[i - 1]!) throw corrupt(`exact slots of ${a.name} are not ascending`);
        if (tags[exactSlots[i]!] !== TAG_NUMBER || !/^-?[1-9]\d{15,19}$/.test(exactValues!.get(i))) throw corrupt(`exact value ${i} of ${a.name} is not an integer`);
      }
    }
    return {
      name: a.name,
      typeMask: a.typeMask,
      elementTypeMask: a.elementTypeMask,
      ...(unindexed ? { unindexed: true } : {}),
      tags,
      numbers,
      numberOrder,
      strings: dict,
      codes,
      stringPostingOffsets: spo,
      stringPostings: sp,
      elemOffsets,
      elemCodes,
      elemKeys,
      elemPostingOffsets: epo,
      elemPostings: ep,
      complexSlots,
      complexJson,
      ...(exactSlots === undefined ? {} : { exactSlots, exactValues: exactValues! }),
      ...(a.exactJson === true ? { exactJson: true as const } : {}),
    };
  });
  if (meta.clusters !== undefined) clustered(); // format 3: the clusters and row store are checked even if no column used them
  if (meta.idSet !== undefined) {
    // Read cold (id-set.ts); a loaded index looks ids up through idOrder. Checked for shape only.
    if (section(meta.idSet.bloom, "u32").length !== bloomWords(n)) throw corrupt("the id filter has the wrong size", "length");
    strings("id fence", meta.idSet.fence);
  }
  if (used.size !== meta.sections.length) throw corrupt("unreferenced sections");
  const state: QueryIndexState = {
    size: n,
    metric: meta.metric,
    dimension: meta.dimension,
    ids,
    idOrder,
    sourcePositions,
    vectors,
    sparse,
    text,
    attributes,
    ann,
  };
  return new QueryIndex(state);
}
