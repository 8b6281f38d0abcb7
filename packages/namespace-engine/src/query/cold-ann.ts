/**
 * Cold ANN: an ANN query over a stored (format 3) index that is not loaded,
 * from the few byte ranges it needs, with the same answer as the loaded
 * index would give.
 *
 * The caller (the engine) fetches and verifies bytes; this module decides
 * what to fetch and computes:
 * 1. `readColdIndexHead(tail)`: from the object's eager region (one ranged
 *    read), the meta document, IVF centroids, list offsets and cluster
 *    boundaries;
 * 2. `rankLists`: the lists in probe order, scored with the same kernel
 *    as a loaded index (so the same lists are probed);
 * 3. `listClusterRange`: the byte range of a list's clusters (one read);
 * 4. `ColdAnnScan.run(lists)`: the rows of the fetched lists, copied into a
 *    small vector memory exactly as a loaded index lays them out (raw rows,
 *    the COSINE normalized copy made with the same float64 product), scanned
 *    list by list in probe order with the same kernel, skip rules and top-k
 *    (ties by id) as `executeQuery`'s IVF path; it asks for more lists when
 *    too few live rows were found, as that path keeps probing;
 * 5. `rowStoreRange`: the bytes of a returned row's attributes.
 * Dead rows (tombstoned positions, ids a newer partition deleted or
 * rewrote) are the caller's `isDead(id, position)`.
 *
 * Only the plain ANN request is served this way (dense vector, `ANN`, the
 * index's own metric, no filter); anything else loads the index.
 */
import {
  BLOCK_FILE_MAGIC,
  type BlockFileDirectory,
  type BlockFileSection,
  blockFileTrailerRange,
  decodeBlockFileDirectory,
  isWalFormatError,
  sliceFromTail,
} from "@skerry/wal-format";
import { bloomWords } from "./id-set.ts";
import { type ClusterRows, type ClusterShape, clusterBytes, clusterIdLengthOffset, readCluster } from "./cluster-layout.ts";
import { CorruptIndexError, UnsupportedIndexVersionError } from "./errors.ts";
import { parseIndexMeta, QUERY_INDEX_MAGIC, QUERY_INDEX_VERSION } from "./index-codec.ts";
import type { DistanceMetric } from "./query-document.ts";
import type { QueryIndex } from "./query-index.ts";
import { compareStrings } from "./attribute-columns.ts";
import { type Candidates, TopK } from "./top-k.ts";
import { allocateVectorMemory, prepareQueryVector, type ScoreMode, scanRange, strideOf, VectorKernel } from "./vector-kernel.ts";

/** What a cold reader knows after reading the eager region. */
export interface ColdIndexHead {
  readonly objectBytes: number;
  readonly directory: BlockFileDirectory;
  readonly size: number;
  readonly metric: DistanceMetric;
  readonly dimension: number;
  readonly stride: number;
  readonly lists: number;
  readonly probes: number;
  readonly rank: "l2" | "dot";
  readonly listOffsets: Uint32Array;
  readonly centroids: Float32Array;
  readonly clusterBounds: Uint32Array;
  readonly shape: ClusterShape;
  readonly clusters: BlockFileSection;
  readonly rowStore: BlockFileSection;
  /** The id set (id-set.ts): membership tests without loading the index. */
  readonly idSet: { readonly bloom: Uint32Array; readonly fence: readonly Uint8Array[]; readonly blocks: BlockFileSection };
}

function corrupt(message: string, cause?: unknown): CorruptIndexError {
  return new CorruptIndexError(message, "structure", cause === undefined ? {} : { cause });
}

/** True when `tail` (an object's last bytes) ends with a block file trailer, i.e. the index is format 3. */
export function isBlockFileIndex(tail: Uint8Array, objectBytes: number): boolean {
  blockFileTrailerRange(objectBytes);
  if (tail.byteLength < 48) return false;
  const magic = BLOCK_FILE_MAGIC;
  for (let i = 0; i < 8; i++) if (tail[tail.byteLength - 48 + i] !== magic[i]) return false;
  return true;
}

/**
 * Parses the eager region `tail` (the object's last bytes, reaching back at
 * least to the checksum table) of a format-3 index of `objectBytes` bytes.
 * Null when the index has no IVF lists or vectors (not served cold).
 * Throws CorruptIndexError / UnsupportedIndexVersionError.
 */
export function readColdIndexHead(tail: Uint8Array, objectBytes: number): ColdIndexHead | null {
  let directory: BlockFileDirectory;
  try {
    directory = decodeBlockFileDirectory(tail, objectBytes);
  } catch (cause) {
    if (isWalFormatError(cause)) throw new CorruptIndexError(cause.message, "structure", { cause });
    throw cause;
  }
  const header = directory.section("header");
  if (header === undefined || header.offset !== 0 || header.length !== 16) throw corrupt("header section missing or misplaced");
  const eager = (section: BlockFileSection | undefined, what: string): Uint8Array => {
    if (section === undefined) throw corrupt(`${what} missing`);
    if (!section.eager) throw corrupt(`${what} is not in the eager region`);
    try {
      // A copy: aligned, and independent of the tail buffer.
      return sliceFromTail(directory, tail, section).slice();
    } catch (cause) {
      if (isWalFormatError(cause)) throw new CorruptIndexError(`${what}: ${cause.message}`, "checksum", { cause });
      throw cause;
    }
  };
  const meta = parseIndexMeta(eager(directory.section("meta.json"), "meta document"));
  if (meta.ann === null || meta.vectors === null || meta.clusters === undefined || meta.rowStore === undefined) return null;
  const array = <T>(ref: { $a: number }, what: string, make: (b: ArrayBuffer) => T): T => make(eager(directory.section(`a${ref.$a}`), what).buffer as ArrayBuffer);
  if (meta.vectors.centroids === null) throw corrupt("IVF lists without centroids");
  const listOffsets = array(meta.ann.listOffsets, "list offsets", (b) => new Uint32Array(b));
  const centroids = array(meta.vectors.centroids, "centroids", (b) => new Float32Array(b));
  const clusterBounds = array(meta.clusters, "cluster boundaries", (b) => new Uint32Array(b));
  const n = meta.size;
  const stride = strideOf(meta.vectors.dimension);
  const lists = meta.ann.lists;
  if (listOffsets.length !== lists + 1 || listOffsets[0] !== 0 || listOffsets[lists]! > n) throw corrupt("list offsets out of range");
  for (let j = 1; j <= lists; j++) if (listOffsets[j]! < listOffsets[j - 1]!) throw corrupt("list offsets not monotone");
  if (centroids.length !== lists * stride) throw corrupt("centroids have the wrong length");
  if (clusterBounds.length < 1 || clusterBounds[0] !== 0 || clusterBounds[clusterBounds.length - 1] !== n) throw corrupt("cluster boundaries do not span the rows");
  for (let c = 1; c < clusterBounds.length; c++) if (clusterBounds[c]! <= clusterBounds[c - 1]!) throw corrupt("cluster boundaries are not ascending");
  const boundarySet = new Set(clusterBounds);
  for (const offset of listOffsets) if (!boundarySet.has(offset)) throw corrupt("an IVF list does not start at a cluster boundary");
  const clusters = directory.section("clusters");
  const rowStore = directory.section(`a${meta.rowStore.$a}`);
  if (clusters === undefined || rowStore === undefined) throw corrupt("clusters or row store missing");
  if (meta.idSet === undefined) return null;
  const bloom = array(meta.idSet.bloom, "id filter", (b) => new Uint32Array(b));
  if (bloom.length !== bloomWords(n)) throw corrupt("the id filter has the wrong size");
  const fenceOffsets = array({ $a: meta.idSet.fence.$s[0] }, "id fence offsets", (b) => new Uint32Array(b));
  const fenceBytes = eager(directory.section(`a${meta.idSet.fence.$s[1]}`), "id fence");
  const fence: Uint8Array[] = [];
  for (let i = 0; i + 1 < fenceOffsets.length; i++) {
    const start = fenceOffsets[i]!;
    const end = fenceOffsets[i + 1]!;
    if (end < start || end > fenceBytes.length) throw corrupt("id fence offsets out of range");
    fence.push(fenceBytes.subarray(start, end));
  }
  const idBlocks = directory.section("idBlocks");
  if (idBlocks === undefined || idBlocks.blockCount !== fence.length) throw corrupt("id blocks and their fence disagree");
  if (clusters.blockCount !== clusterBounds.length - 1) throw corrupt("one block per cluster expected");
  return {
    objectBytes,
    directory,
    size: n,
    metric: meta.metric,
    dimension: meta.vectors.dimension,
    stride,
    lists,
    probes: Math.min(lists, meta.ann.probes),
    rank: meta.ann.rank,
    listOffsets,
    centroids,
    clusterBounds,
    shape: { stride, positions: meta.sourcePositions !== null, rows: true },
    clusters,
    rowStore,
    idSet: { bloom, fence, blocks: idBlocks },
  };
}

/** Checks the first bytes of a format-3 index object (its header section). */
export function checkColdIndexHeader(bytes: Uint8Array): void {
  for (let i = 0; i < 8; i++) if (bytes[i] !== QUERY_INDEX_MAGIC[i]) throw new CorruptIndexError("bad magic", "magic");
  const version = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint16(8, true);
  if (version !== QUERY_INDEX_VERSION) throw new UnsupportedIndexVersionError(version, QUERY_INDEX_VERSION);
}

/** The lists in probe order: best centroid first, ties by list number (as a loaded index ranks them). */
export function rankLists(head: ColdIndexHead, vector: Float32Array, metric: DistanceMetric): Uint32Array {
  const { memory, layout } = allocateVectorMemory(0, head.dimension, { normalized: false, centroidCapacity: head.lists });
  const kernel = new VectorKernel(memory, layout);
  kernel.f32.set(head.centroids, layout.centroidsPtr >> 2);
  const { q, out } = kernel.scratch(0);
  kernel.f32.set(prepareQueryVector(vector, metric, head.stride), q >> 2);
  kernel.range(head.rank === "l2", q, layout.centroidsPtr, head.lists, out);
  const o = out >> 2;
  const score = Float64Array.from({ length: head.lists }, (_, i) => (head.rank === "l2" ? -kernel.f32[o + i]! : kernel.f32[o + i]!));
  const order = Array.from({ length: head.lists }, (_, i) => i);
  order.sort((a, b) => score[b]! - score[a]! || a - b);
  return Uint32Array.from(order);
}

/** Clusters [first, end) holding list j's rows, and their byte range in the `clusters` section (empty list: length 0). */
export function listClusterRange(head: ColdIndexHead, list: number): { first: number; end: number; offset: number; length: number } {
  const start = head.listOffsets[list]!;
  const stop = head.listOffsets[list + 1]!;
  const first = lowerBound(head.clusterBounds, start);
  const end = lowerBound(head.clusterBounds, stop);
  if (first === end) return { first, end, offset: 0, length: 0 };
  const offset = head.clusters.blockStart(first);
  return { first, end, offset, length: head.clusters.blockEnd(end - 1) - offset };
}

/** The rows of list j, from the bytes of its cluster range (verified by the caller). */
export function readListRows(head: ColdIndexHead, list: number, bytes: Uint8Array): ListRows {
  const range = listClusterRange(head, list);
  if (bytes.byteLength !== range.length) throw corrupt(`list ${list}: ${bytes.byteLength} bytes, its clusters ${range.length}`);
  const aligned = bytes.byteOffset % 8 === 0 ? bytes : bytes.slice();
  const clusters: ClusterRows[] = [];
  for (let c = range.first; c < range.end; c++) {
    const at = head.clusters.blockStart(c) - range.offset;
    const size = head.clusters.blockEnd(c) - head.clusters.blockStart(c);
    const m = head.clusterBounds[c + 1]! - head.clusterBounds[c]!;
    const part = aligned.subarray(at, at + size);
    const lengthAt = clusterIdLengthOffset(head.shape, m);
    if (lengthAt + 4 > part.byteLength) throw corrupt(`cluster ${c} is too short`);
    if (clusterBytes(head.shape, m, new DataView(part.buffer, part.byteOffset).getUint32(lengthAt, true)) !== size) throw corrupt(`cluster ${c} has the wrong size`);
    const rows = readCluster(part, head.shape, m);
    if (typeof rows === "string") throw corrupt(`cluster ${c}: ${rows}`);
    clusters.push(rows);
  }
  return { list, start: head.listOffsets[list]!, clusters };
}

/** One list's rows, cluster by cluster. */
export interface ListRows {
  readonly list: number;
  /** Slot of the list's first row. */
  readonly start: number;
  readonly clusters: readonly ClusterRows[];
}

/** A cold scan's candidates: slots are global (the stored index's), scores are the kernel's. */
export interface ColdCandidates {
  readonly slots: Uint32Array;
  readonly scores: Float64Array;
  readonly ids: readonly string[];
}

/**
 * The IVF scan of `executeQuery` over fetched lists. `run(fetched)` scans
 * them in probe order and returns the candidates, or `undefined` when it
 * needs more lists (too few live rows): fetch the next ones in `order` and
 * call again with all of them.
 */
export class ColdAnnScan {
  readonly order: Uint32Array;
  readonly want: number;
  readonly #head: ColdIndexHead;
  readonly #query: Float32Array;
  readonly #mode: ScoreMode;
  readonly #k: number;
  readonly #isDead: (id: string, position: number) => boolean;

  constructor(
    head: ColdIndexHead,
    request: { vector: Float32Array; metric: DistanceMetric; k: number; probes?: number | undefined },
    isDead: (id: string, position: number) => boolean,
  ) {
    this.#head = head;
    this.order = rankLists(head, request.vector, request.metric);
    this.want = Math.min(head.lists, request.probes ?? head.probes);
    this.#query = prepareQueryVector(request.vector, request.metric, head.stride);
    this.#mode = request.metric === "DOT" ? "dot" : request.metric === "EUCLIDEAN" ? "l2" : "cos";
    this.#k = request.k;
    this.#isDead = isDead;
  }

  /** Lists to fetch before the first `run`. */
  initialLists(): number[] {
    return Array.from(this.order.subarray(0, this.want));
  }

  /** Scans `fetched` (the first lists of `order`, in that order); undefined when more lists are needed. */
  run(fetched: readonly ListRows[]): ColdCandidates | undefined {
    const head = this.#head;
    let rows = 0;
    for (const list of fetched) for (const c of list.clusters) rows += c.count;
    const cosine = head.metric === "COSINE";
    const { memory, layout } = allocateVectorMemory(rows, head.dimension, { normalized: cosine, centroidCapacity: 0 });
    const kernel = new VectorKernel(memory, layout);
    const f = kernel.f32;
    const stride = head.stride;
    const ids: string[] = new Array(rows);
    const slots = new Uint32Array(rows);
    const skip = new Uint8Array(rows);
    const ranges: [number, number][] = [];
    const decoder = new TextDecoder();
    let at = 0;
    for (const list of fetched) {
      const begin = at;
      let slot = list.start;
      for (const c of list.clusters) {
        f.set(c.vectors!, (layout.vectorsPtr >> 2) + at * stride);
        kernel.u8.set(c.missing!, layout.missingPtr + at);
        const inv = c.invNorms!;
        for (let i = 0; i < c.count; i++, at++, slot++) {
          const k = inv[i]!;
          f[(layout.invNormsPtr >> 2) + at] = k;
          if (cosine) {
            // The normalized copy: the same float64 product a loaded index makes, so the same bits.
            const src = (layout.vectorsPtr >> 2) + at * stride;
            const dst = (layout.normalizedPtr >> 2) + at * stride;
            for (let d = 0; d < stride; d++) f[dst + d] = f[src + d]! * k;
          }
          const id = decoder.decode(c.idBytes.subarray(c.idOffsets[i]!, c.idOffsets[i + 1]!));
          ids[at] = id;
          slots[at] = slot;
          if (this.#isDead(id, c.positions === null ? slot : c.positions[i]!)) skip[at] = 1;
        }
      }
      ranges.push([begin, at]);
    }
    const top = new TopK(this.#k, (a, b) => compareStrings(ids[a]!, ids[b]!));
    let i = 0;
    for (; i < ranges.length; i++) {
      if (i >= this.want && top.size >= this.#k) break;
      const [start, end] = ranges[i]!;
      scanRange(kernel, 0, this.#mode, this.#query, start, end, top, skip);
    }
    if (i === ranges.length && fetched.length < head.lists && !(i >= this.want && top.size >= this.#k)) return undefined;
    const drained: Candidates = top.drain();
    return {
      slots: Uint32Array.from(drained.slots, (local) => slots[local]!),
      scores: drained.scores,
      ids: Array.from(drained.slots, (local) => ids[local]!),
    };
  }
}

/** Ids of the rows of `list` (UTF-8 bytes), in slot order. */
export function listIdBytes(list: ListRows): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const c of list.clusters) for (let i = 0; i < c.count; i++) out.push(c.idBytes.subarray(c.idOffsets[i]!, c.idOffsets[i + 1]!));
  return out;
}

/** Byte range in the row store section of row `slot`'s attributes, from its list's fetched clusters. */
export function rowStoreRange(list: ListRows, slot: number): { offset: number; length: number } {
  let base = list.start;
  for (const c of list.clusters) {
    if (slot < base + c.count) {
      const i = slot - base;
      const start = c.rowOffsets![i]!;
      return { offset: start, length: c.rowOffsets![i + 1]! - start };
    }
    base += c.count;
  }
  throw corrupt(`slot ${slot} is not in list ${list.list}`);
}

/** The stored vector of `slot` (its first `dimension` floats), from its list's fetched clusters; undefined when it has none. */
export function rowVector(list: ListRows, slot: number, dimension: number, stride: number): Float32Array | undefined {
  let base = list.start;
  for (const c of list.clusters) {
    if (slot < base + c.count) {
      const i = slot - base;
      if (c.missing![i] !== 0) return undefined;
      return c.vectors!.slice(i * stride, i * stride + dimension);
    }
    base += c.count;
  }
  throw corrupt(`slot ${slot} is not in list ${list.list}`);
}

/** First index i with sorted[i] >= value. */
function lowerBound(sorted: Uint32Array, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A merged hit: from cold segment `segment` (`slot` is its stored index's) or from the in-memory tail partition. */
export interface ColdHit {
  readonly fromTail: boolean;
  /** Which segment (index into the candidates given), or for a tail hit which tail chunk. */
  readonly segment: number;
  readonly slot: number;
  readonly id: string;
  readonly score: number;
}

/** A partition of the log tail and the positions excluded from it (superseded by later containers). */
export interface ColdTailChunk {
  readonly index: QueryIndex;
  readonly excluded: Uint32Array | undefined;
}

/**
 * The top `k` of the segments' candidates and an exact scan of the tail's
 * chunks (their excluded positions skipped), ordered as executeQuery
 * orders (score, then id).
 */
export function mergeWithTail(
  segments: readonly ColdCandidates[],
  tail: readonly ColdTailChunk[],
  request: { vector: Float32Array; metric: DistanceMetric; k: number },
): ColdHit[] {
  const hits: ColdHit[] = [];
  segments.forEach((segment, s) => {
    for (let i = 0; i < segment.slots.length; i++) hits.push({ fromTail: false, segment: s, slot: segment.slots[i]!, id: segment.ids[i]!, score: segment.scores[i]! });
  });
  tail.forEach(({ index, excluded }, c) => {
    const kernel = index.kernel();
    if (kernel === null) return;
    const { metric } = request;
    const mode: ScoreMode =
      metric === "DOT" ? "dot" : metric === "EUCLIDEAN" ? "l2" : kernel.layout.normalizedPtr !== -1 && index.metric === "COSINE" ? "cos" : "cosraw";
    let skip: Uint8Array | null = null;
    if (excluded !== undefined && excluded.length > 0) {
      skip = new Uint8Array(index.size);
      for (const position of excluded) {
        const slot = index.slotOf(position);
        if (slot >= 0) skip[slot] = 1;
      }
    }
    const top = new TopK(request.k, (a, b) => compareStrings(index.ids.get(a), index.ids.get(b)));
    scanRange(kernel, 0, mode, prepareQueryVector(request.vector, metric, kernel.layout.stride), 0, index.size, top, skip);
    const drained = top.drain();
    for (let i = 0; i < drained.slots.length; i++) {
      const slot = drained.slots[i]!;
      hits.push({ fromTail: true, segment: c, slot, id: index.ids.get(slot), score: drained.scores[i]! });
    }
  });
  hits.sort((a, b) => (a.score !== b.score ? b.score - a.score : compareStrings(a.id, b.id)));
  return hits.length > request.k ? hits.slice(0, request.k) : hits;
}

/** A kernel score as the distance a row carries (COSINE 1 - cos, DOT -dot, EUCLIDEAN the L2 distance). */
export function distanceOf(metric: DistanceMetric, score: number): number {
  if (metric === "COSINE") return 1 - score;
  if (metric === "DOT") return -score;
  return Math.sqrt(Math.max(0, -score));
}
