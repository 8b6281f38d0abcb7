/**
 * Cold ANN: an ANN query over a stored (format 3 or 4) index that is not
 * loaded, from the few byte ranges it needs: format 3 with the same answer
 * as the loaded index; format 4 with the loaded index's exact distances
 * for the rows it returns, and its answer when the re-rank is wide enough.
 *
 * The caller (the engine) fetches and verifies bytes; this module decides
 * what to fetch and computes:
 * 1. `readColdIndexHead(tail)`: from the object's eager region (one ranged
 *    read), the meta document, IVF centroids, list offsets and cluster
 *    boundaries;
 * 2. `listScores` / `rankLists`: the lists' centroid scores and probe
 *    order, with the same kernel as a loaded index (so the same lists are
 *    probed); over several segments the scores of all of them make one
 *    global order (global-probes.ts, `scanGlobally`);
 * 3. `listClusterRange`: the byte range of a list's clusters (one read);
 * 4. `ColdAnnScan.run(lists)`: the rows of the fetched lists, copied into a
 *    small vector memory exactly as a loaded index lays them out (raw rows,
 *    the COSINE normalized copy made with the same float64 product), scanned
 *    list by list in probe order with the same kernel, skip rules and top-k
 *    (ties by id) as `executeQuery`'s IVF path; it asks for more lists when
 *    too few live rows were found, as that path keeps probing. Format 4:
 *    the same lists, scanned from their 8-bit codes (`CodeKernel`), the
 *    best `rerank` live rows kept (default `defaultRerank(k)`);
 * 5. format 4, `vectorBlockRuns` / `rowsFromRuns` / `ColdAnnScan.rerank`:
 *    the candidates' full-precision rows (one parallel round of small
 *    block reads), scored as in 4. with the loaded path's kernel and
 *    normalized copy, so the distances are the loaded path's bits;
 * 6. `rowStoreRange`: the bytes of a returned row's attributes.
 * Dead rows (tombstoned positions, ids a newer partition deleted or
 * rewrote; with a filter, the rows it does not match) are the caller's
 * `isDead(id, position, slot)`.
 *
 * Only ANN requests are served this way (dense vector, `ANN`, the index's
 * own metric; a filter only as rows to skip, namespace-query.ts); anything
 * else loads the index.
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
import { codeKernel } from "./code-kernel.ts";
import { type ClusterRows, type ClusterShape, clusterBytes, clusterIdLengthOffset, readCluster } from "./cluster-layout.ts";
import { CorruptIndexError, UnsupportedIndexVersionError } from "./errors.ts";
import { exactIndex, parseIndexMeta, QUERY_INDEX_MAGIC, QUERY_INDEX_NEWEST_VERSION } from "./index-codec.ts";
import type { DistanceMetric } from "./query-document.ts";
import type { QueryIndex } from "./query-index.ts";
import { compareStrings } from "./attribute-columns.ts";
import type { GlobalListOrder } from "./global-probes.ts";
import { type Candidates, TopK } from "./top-k.ts";
import { allocateVectorMemory, prepareQueryVector, type ScoreMode, scanRange, scoreModeOf, strideOf, VectorKernel } from "./vector-kernel.ts";

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
  /**
   * Format 4: the clusters hold 8-bit codes and this section the
   * full-precision rows (slot order, fixed blocks of whole rows), read
   * only for the candidates the first pass keeps; null for format 3.
   */
  readonly vectors: BlockFileSection | null;
  readonly rowStore: BlockFileSection;
  /** Format 8: the row store is exact JSON (integers beyond 2^53-1 are bigints). */
  readonly exact: boolean;
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
  const vectors = directory.section("vectors") ?? null;
  if ((vectors !== null) !== (meta.vectors.codes === "sq8")) throw corrupt("the vectors section and the vector codes disagree");
  if (vectors !== null) {
    if (vectors.length !== n * stride * 4) throw corrupt("the vectors section has the wrong length");
    if (vectors.blockBytes === undefined || vectors.blockBytes % (stride * 4) !== 0) throw corrupt("the vectors section's blocks do not hold whole rows");
  }
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
    shape: { stride, positions: meta.sourcePositions !== null, rows: true, codes: vectors !== null },
    clusters,
    vectors,
    rowStore,
    exact: exactIndex(meta),
    idSet: { bloom, fence, blocks: idBlocks },
  };
}

/** Checks the first bytes of a format-3 or format-4 index object (its header section). */
export function checkColdIndexHeader(bytes: Uint8Array): void {
  for (let i = 0; i < 8; i++) if (bytes[i] !== QUERY_INDEX_MAGIC[i]) throw new CorruptIndexError("bad magic", "magic");
  const version = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint16(8, true);
  if (version < 3 || version > QUERY_INDEX_NEWEST_VERSION) throw new UnsupportedIndexVersionError(version, QUERY_INDEX_NEWEST_VERSION);
}

const centroidKernels = new WeakMap<ColdIndexHead, VectorKernel>();

/** The query's score against each of the index's centroids, as a loaded index scores them (higher is better). */
export function listScores(head: ColdIndexHead, vector: Float32Array, metric: DistanceMetric): Float64Array {
  // The centroids' kernel memory is made once per index head and reused by every query (ranking is synchronous).
  let kernel = centroidKernels.get(head);
  if (kernel === undefined) {
    const { memory, layout } = allocateVectorMemory(0, head.dimension, { normalized: false, centroidCapacity: head.lists });
    kernel = new VectorKernel(memory, layout);
    kernel.f32.set(head.centroids, layout.centroidsPtr >> 2);
    centroidKernels.set(head, kernel);
  }
  const { layout } = kernel;
  const { q, out } = kernel.scratch(0);
  kernel.f32.set(prepareQueryVector(vector, metric, head.stride), q >> 2);
  kernel.range(head.rank === "l2", q, layout.centroidsPtr, head.lists, out);
  const o = out >> 2;
  return Float64Array.from({ length: head.lists }, (_, i) => (head.rank === "l2" ? -kernel.f32[o + i]! : kernel.f32[o + i]!));
}

function orderOf(score: Float64Array): Uint32Array {
  const order = Array.from({ length: score.length }, (_, i) => i);
  order.sort((a, b) => score[b]! - score[a]! || a - b);
  return Uint32Array.from(order);
}

/** The lists in probe order: best centroid first, ties by list number (as a loaded index ranks them). */
export function rankLists(head: ColdIndexHead, vector: Float32Array, metric: DistanceMetric): Uint32Array {
  return orderOf(listScores(head, vector, metric));
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
  /**
   * Format 4, first pass: the scores are approximate (from the 8-bit codes)
   * and these are the candidates' 1/|v|; `ColdAnnScan.rerank` with their
   * full-precision rows gives the exact candidates.
   */
  readonly approximate?: { readonly invNorms: Float64Array };
  /** Format 4, re-ranked: the candidates' full-precision rows (stride floats each), by slot. */
  readonly vectors?: ReadonlyMap<number, Float32Array>;
}

/** Default number of first-pass candidates per segment re-ranked with full precision (format 4). */
export function defaultRerank(k: number): number {
  return Math.max(4 * k, 40);
}

/**
 * The IVF scan of `executeQuery` over fetched lists. `run(fetched)` scans
 * them in probe order and returns the candidates, or `undefined` when it
 * needs more lists (too few live rows): fetch the next ones in `order` and
 * call again with all of them. Several segments probed together (one
 * global order, global-probes.ts) drive each segment's scan list by list
 * instead: `start(lists)`, `next()` per list, `finish()` (`scanGlobally`).
 */
export class ColdAnnScan {
  readonly order: Uint32Array;
  /** The query's score against each list's centroid (higher is better): this segment's part of a global order. */
  readonly scores: Float64Array;
  readonly want: number;
  readonly #head: ColdIndexHead;
  readonly #query: Float32Array;
  readonly #mode: ScoreMode;
  readonly #k: number;
  readonly #isDead: (id: string, position: number, slot: number) => boolean;
  readonly #rerank: number;
  #pass: FirstPass | ExactPass | undefined;

  constructor(
    head: ColdIndexHead,
    request: { vector: Float32Array; metric: DistanceMetric; k: number; probes?: number | undefined; rerank?: number | undefined },
    isDead: (id: string, position: number, slot: number) => boolean,
  ) {
    this.#head = head;
    this.scores = listScores(head, request.vector, request.metric);
    this.order = orderOf(this.scores);
    this.want = Math.min(head.lists, request.probes ?? head.probes);
    this.#query = prepareQueryVector(request.vector, request.metric, head.stride);
    this.#mode = request.metric === "DOT" ? "dot" : request.metric === "EUCLIDEAN" ? "l2" : "cos";
    this.#k = request.k;
    this.#isDead = isDead;
    this.#rerank = Math.max(request.k, request.rerank ?? defaultRerank(request.k));
  }

  /** Lists to fetch before the first `run`. */
  initialLists(): number[] {
    return Array.from(this.order.subarray(0, this.want));
  }

  /**
   * Scans `fetched` (the first lists of `order`, in that order); undefined
   * when more lists are needed. Format 4: the first pass over the codes,
   * whose candidates (`approximate`) go to `rerank`.
   */
  run(fetched: readonly ListRows[]): ColdCandidates | undefined {
    this.start(fetched);
    let found = 0;
    let i = 0;
    for (; i < fetched.length; i++) {
      if (i >= this.want && found >= this.#k) break;
      found = this.next();
    }
    if (i === fetched.length && fetched.length < this.#head.lists && !(i >= this.want && found >= this.#k)) return undefined;
    return this.finish();
  }

  /** A new pass over `lists` (scanned in this order by `next`). Format 3 copies their rows into kernel memory. */
  start(lists: readonly ListRows[]): void {
    this.#pass =
      this.#head.vectors !== null
        ? new FirstPass(this.#head, this.#query, this.#mode, this.#rerank, this.#isDead, lists)
        : new ExactPass(this.#head, this.#query, this.#mode, this.#k, this.#isDead, lists);
  }

  /** Scans the pass's next list; returns the live rows found so far (at most the pass's top size, at least k when it is full). */
  next(): number {
    return this.#pass!.next();
  }

  /** The pass's candidates: exact (format 3) or approximate, for `rerank` (format 4). */
  finish(): ColdCandidates {
    const pass = this.#pass!;
    this.#pass = undefined;
    return pass.finish();
  }

  /**
   * Format 4: the exact top-k of the first pass's candidates, from their
   * full-precision rows (`rows`: slot -> stride floats), scored with the
   * same kernel, memory layout rules (the COSINE normalized copy made with
   * the same float64 product) and ties (by id) as the loaded path, so the
   * scores are the loaded path's bits.
   */
  rerank(first: ColdCandidates, rows: ReadonlyMap<number, Float32Array>): ColdCandidates {
    const head = this.#head;
    const invNorms = first.approximate?.invNorms;
    if (invNorms === undefined) return first;
    const m = first.slots.length;
    const stride = head.stride;
    const cosine = head.metric === "COSINE";
    const kernel = rerankKernel(head.dimension, cosine, m);
    const { layout } = kernel;
    const f = kernel.f32;
    for (let j = 0; j < m; j++) {
      const row = rows.get(first.slots[j]!);
      if (row === undefined || row.length !== stride) throw corrupt(`the full-precision row of slot ${first.slots[j]} was not read`);
      const src = (layout.vectorsPtr >> 2) + j * stride;
      f.set(row, src);
      const k = invNorms[j]!;
      f[(layout.invNormsPtr >> 2) + j] = k;
      if (cosine) {
        // The normalized copy: the same float64 product a loaded index makes, so the same bits.
        const dst = (layout.normalizedPtr >> 2) + j * stride;
        for (let d = 0; d < stride; d++) f[dst + d] = f[src + d]! * k;
      }
    }
    const ids = first.ids;
    const top = new TopK(this.#k, (a, b) => compareStrings(ids[a]!, ids[b]!));
    scanRange(kernel, 0, this.#mode, this.#query, 0, m, top, null);
    const drained: Candidates = top.drain();
    const slots = Uint32Array.from(drained.slots, (local) => first.slots[local]!);
    const vectors = new Map<number, Float32Array>();
    for (const slot of slots) vectors.set(slot, rows.get(slot)!);
    return { slots, scores: drained.scores, ids: Array.from(drained.slots, (local) => ids[local]!), vectors };
  }
}

/**
 * Format 3's pass: the lists' rows copied into a small vector memory
 * exactly as a loaded index lays them out (raw rows, the COSINE normalized
 * copy made with the same float64 product), scanned list by list with the
 * same kernel, skip rules and top-k (ties by id) as `executeQuery`.
 */
class ExactPass {
  readonly #kernel: VectorKernel;
  readonly #ids: string[];
  readonly #slots: Uint32Array;
  readonly #skip: Uint8Array;
  readonly #ranges: [number, number][] = [];
  readonly #top: TopK;
  #at = 0;

  constructor(
    head: ColdIndexHead,
    readonly query: Float32Array,
    readonly mode: ScoreMode,
    k: number,
    isDead: (id: string, position: number, slot: number) => boolean,
    lists: readonly ListRows[],
  ) {
    let rows = 0;
    for (const list of lists) for (const c of list.clusters) rows += c.count;
    const cosine = head.metric === "COSINE";
    const { memory, layout } = allocateVectorMemory(rows, head.dimension, { normalized: cosine, centroidCapacity: 0 });
    const kernel = new VectorKernel(memory, layout);
    const f = kernel.f32;
    const stride = head.stride;
    const ids: string[] = new Array(rows);
    const slots = new Uint32Array(rows);
    const skip = new Uint8Array(rows);
    const decoder = new TextDecoder();
    let at = 0;
    for (const list of lists) {
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
          if (isDead(id, c.positions === null ? slot : c.positions[i]!, slot)) skip[at] = 1;
        }
      }
      this.#ranges.push([begin, at]);
    }
    this.#kernel = kernel;
    this.#ids = ids;
    this.#slots = slots;
    this.#skip = skip;
    this.#top = new TopK(k, (a, b) => compareStrings(ids[a]!, ids[b]!));
  }

  next(): number {
    const [start, end] = this.#ranges[this.#at++]!;
    scanRange(this.#kernel, 0, this.mode, this.query, start, end, this.#top, this.#skip);
    return this.#top.size;
  }

  finish(): ColdCandidates {
    const drained: Candidates = this.#top.drain();
    return {
      slots: Uint32Array.from(drained.slots, (local) => this.#slots[local]!),
      scores: drained.scores,
      ids: Array.from(drained.slots, (local) => this.#ids[local]!),
    };
  }
}

/**
 * Format 4's first pass: every live row of the scanned lists scored from
 * its 8-bit codes (dot = sum q[d] lo[d] + sum q[d] step[d] code[d]; COSINE
 * times 1/|v|; EUCLIDEAN from |q|^2 - 2 dot + |v|^2 with the exact |v|),
 * the best `rerank` kept. The lists scanned, and when more are needed,
 * are decided exactly as the loaded path does (by live rows, not scores);
 * a row's id is decoded and its liveness asked only when its score could
 * be kept.
 */
class FirstPass {
  readonly #head: ColdIndexHead;
  readonly #query: Float32Array;
  readonly #mode: ScoreMode;
  readonly #isDead: (id: string, position: number, slot: number) => boolean;
  readonly #lists: readonly ListRows[];
  readonly #qq: number;
  readonly #qs: Float64Array;
  #scratch = new Float64Array(0);
  readonly #ids: string[] = [];
  readonly #slots: number[] = [];
  readonly #invs: number[] = [];
  readonly #top: TopK;
  readonly #decoder = new TextDecoder();
  #at = 0;

  constructor(
    head: ColdIndexHead,
    query: Float32Array,
    mode: ScoreMode,
    rerank: number,
    isDead: (id: string, position: number, slot: number) => boolean,
    lists: readonly ListRows[],
  ) {
    this.#head = head;
    this.#query = query;
    this.#mode = mode;
    this.#isDead = isDead;
    this.#lists = lists;
    let qq = 0;
    for (let d = 0; d < head.stride; d++) qq += query[d]! * query[d]!;
    this.#qq = qq;
    this.#qs = new Float64Array(head.stride);
    const ids = this.#ids;
    this.#top = new TopK(rerank, (a, b) => compareStrings(ids[a]!, ids[b]!));
  }

  next(): number {
    const stride = this.#head.stride;
    const q = this.#query;
    const qs = this.#qs;
    const qq = this.#qq;
    const mode = this.#mode;
    const top = this.#top;
    const codeDots = codeKernel(stride);
    const list = this.#lists[this.#at++]!;
    let slot = list.start;
    for (const c of list.clusters) {
      const lo = c.lo!;
      const step = c.step!;
      const codes = c.codes!;
      const missing = c.missing!;
      const inv = c.invNorms!;
      let base = 0;
      for (let d = 0; d < stride; d++) {
        base += q[d]! * lo[d]!;
        qs[d] = q[d]! * step[d]!;
      }
      if (this.#scratch.length < c.count) this.#scratch = new Float64Array(c.count);
      const dots = codeDots.dots(qs, codes, c.count, this.#scratch);
      for (let r = 0; r < c.count; r++, slot++) {
        if (missing[r] !== 0) continue;
        const dot = base + dots[r]!;
        const k = inv[r]!;
        const score = mode === "cos" ? dot * k : mode === "dot" ? dot : -(qq - 2 * dot + (k > 0 ? 1 / (k * k) : 0));
        if (!top.accepts(score)) continue;
        const id = this.#decoder.decode(c.idBytes.subarray(c.idOffsets[r]!, c.idOffsets[r + 1]!));
        if (this.#isDead(id, c.positions === null ? slot : c.positions[r]!, slot)) continue;
        this.#ids.push(id);
        this.#slots.push(slot);
        this.#invs.push(k);
        top.push(score, this.#ids.length - 1);
      }
    }
    return top.size;
  }

  finish(): ColdCandidates {
    const drained: Candidates = this.#top.drain();
    return {
      slots: Uint32Array.from(drained.slots, (local) => this.#slots[local]!),
      scores: drained.scores,
      ids: Array.from(drained.slots, (local) => this.#ids[local]!),
      approximate: { invNorms: Float64Array.from(drained.slots, (local) => this.#invs[local]!) },
    };
  }
}

/** A partition's scan driven list by list in a global order: a segment's ColdAnnScan, or an in-memory tail chunk's (cold-tail-ann.ts). */
export type GlobalScan = Pick<ColdAnnScan, "start" | "next" | "finish">;

/**
 * Several segments' scans driven by one global list order
 * (global-probes.ts), as `executeQuery` walks it over loaded indexes: the
 * entries [0, `fetched`) of `order` are fetched (`rowsOf(segment, list)`);
 * they are scanned in order until `budget` lists were and the segments
 * together found `k` live rows. Returns every segment's candidates (a
 * segment with no list scanned: none), or `{ more }` when the fetched
 * entries ran out first: fetch up to entry `more` and call again.
 */
export function scanGlobally(
  scans: readonly GlobalScan[],
  order: GlobalListOrder,
  fetched: number,
  budget: number,
  k: number,
  rowsOf: (segment: number, list: number) => ListRows,
): { candidates: ColdCandidates[] } | { more: number } {
  const lists: ListRows[][] = scans.map(() => []);
  for (let i = 0; i < fetched; i++) lists[order.partition[i]!]!.push(rowsOf(order.partition[i]!, order.list[i]!));
  scans.forEach((scan, s) => {
    scan.start(lists[s]!);
  });
  const seen = new Float64Array(scans.length);
  let found = 0;
  for (let i = 0; i < order.list.length; i++) {
    if (i >= budget && found >= k) break;
    if (i === fetched) {
      for (const scan of scans) scan.finish();
      return { more: Math.min(order.list.length, fetched + Math.max(1, budget)) };
    }
    const s = order.partition[i]!;
    const now = scans[s]!.next();
    found += now - seen[s]!;
    seen[s] = now;
  }
  return { candidates: scans.map((scan) => scan.finish()) };
}

/** Re-rank memories kept for reuse, per (dimension, normalized): the default re-rank needs a few hundred rows at most. */
const rerankKernels = new Map<string, VectorKernel>();
/** Rows a kept re-rank memory may hold (wider re-ranks allocate and drop their own). */
const KEPT_RERANK_ROWS = 4096;

/**
 * Kernel memory for `rows` re-ranked rows (rows [0, rows) are written
 * before each scan; the missing mask stays zero): one kept memory per
 * shape, reused by every query, since a re-rank is synchronous.
 */
function rerankKernel(dimension: number, normalized: boolean, rows: number): VectorKernel {
  const key = `${dimension}:${normalized}`;
  const kept = rerankKernels.get(key);
  if (kept !== undefined && kept.layout.count >= rows) return kept;
  const capacity = Math.max(rows, 256, (kept?.layout.count ?? 0) * 2);
  const { memory, layout } = allocateVectorMemory(capacity, dimension, { normalized, centroidCapacity: 0 });
  const kernel = new VectorKernel(memory, layout);
  if (capacity <= KEPT_RERANK_ROWS) rerankKernels.set(key, kernel);
  return kernel;
}

/**
 * Format 4: of the segments' first-pass candidates, the `count` best by
 * approximate score (ties by id) stay, each segment's in its own
 * candidates: one re-rank budget for the query, not one per segment.
 * Exact candidates (format 3) pass through.
 */
export function pickRerank(firsts: readonly ColdCandidates[], count: number): ColdCandidates[] {
  const all: { s: number; i: number; score: number; id: string }[] = [];
  firsts.forEach((first, s) => {
    if (first.approximate === undefined) return;
    for (let i = 0; i < first.slots.length; i++) all.push({ s, i, score: first.scores[i]!, id: first.ids[i]! });
  });
  if (all.length <= count) return [...firsts];
  all.sort((a, b) => (a.score !== b.score ? b.score - a.score : compareStrings(a.id, b.id)));
  const keep = firsts.map(() => [] as number[]);
  for (const hit of all.slice(0, count)) keep[hit.s]!.push(hit.i);
  return firsts.map((first, s) => {
    const invNorms = first.approximate?.invNorms;
    if (invNorms === undefined) return first;
    const at = keep[s]!;
    return {
      slots: Uint32Array.from(at, (i) => first.slots[i]!),
      scores: Float64Array.from(at, (i) => first.scores[i]!),
      ids: at.map((i) => first.ids[i]!),
      approximate: { invNorms: Float64Array.from(at, (i) => invNorms[i]!) },
    };
  });
}

/**
 * Format 4: the byte ranges of the vectors section holding the rows of
 * `slots`, as runs of whole blocks (adjacent blocks merged), ascending.
 */
export function vectorBlockRuns(head: ColdIndexHead, slots: ArrayLike<number>): { offset: number; length: number }[] {
  const section = head.vectors;
  if (section === null) throw corrupt("the index has no vectors section");
  const rowBytes = head.stride * 4;
  const blocks = new Set<number>();
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[i]!;
    if (slot >= head.size) throw corrupt(`slot ${slot} is out of range`);
    blocks.add(section.blockAt(slot * rowBytes));
  }
  const sorted = [...blocks].sort((a, b) => a - b);
  const runs: { offset: number; length: number }[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    const offset = section.blockStart(sorted[i]!);
    runs.push({ offset, length: section.blockEnd(sorted[j]!) - offset });
    i = j + 1;
  }
  return runs;
}

/** Format 4: the rows of `slots` (stride floats each, copies) from the fetched runs of the vectors section. */
export function rowsFromRuns(
  head: ColdIndexHead,
  slots: ArrayLike<number>,
  runs: readonly { offset: number; length: number }[],
  bytes: readonly Uint8Array[],
): Map<number, Float32Array> {
  const rowBytes = head.stride * 4;
  const out = new Map<number, Float32Array>();
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[i]!;
    const at = slot * rowBytes;
    const r = runs.findIndex((run) => at >= run.offset && at + rowBytes <= run.offset + run.length);
    if (r < 0 || bytes[r]!.byteLength !== runs[r]!.length) throw corrupt(`the row of slot ${slot} is in no fetched block`);
    const part = bytes[r]!;
    const row = new Float32Array(head.stride);
    new Uint8Array(row.buffer).set(part.subarray(at - runs[r]!.offset, at - runs[r]!.offset + rowBytes));
    out.set(slot, row);
  }
  return out;
}

/** A returned row's stored vector (its first `dimension` floats): from the re-ranked candidates (format 4) or its list's clusters (format 3). */
export function candidateVector(found: ColdCandidates, list: ListRows, slot: number, head: ColdIndexHead): Float32Array | undefined {
  const row = found.vectors?.get(slot);
  if (row !== undefined) return row.slice(0, head.dimension);
  return rowVector(list, slot, head.dimension, head.stride);
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
      if (c.vectors === null) throw corrupt(`slot ${slot}: a format-4 cluster holds codes, not vectors`);
      return c.vectors.slice(i * stride, i * stride + dimension);
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
 * chunks (their excluded positions skipped; a chunk whose lists were probed,
 * `probed[c]`, gives those candidates instead), ordered as executeQuery
 * orders (score, then id).
 */
export function mergeWithTail(
  segments: readonly ColdCandidates[],
  tail: readonly ColdTailChunk[],
  request: { vector: Float32Array; metric: DistanceMetric; k: number },
  probed?: readonly (ColdCandidates | undefined)[],
): ColdHit[] {
  const hits: ColdHit[] = [];
  segments.forEach((segment, s) => {
    for (let i = 0; i < segment.slots.length; i++) hits.push({ fromTail: false, segment: s, slot: segment.slots[i]!, id: segment.ids[i]!, score: segment.scores[i]! });
  });
  tail.forEach(({ index, excluded }, c) => {
    const found = probed?.[c];
    if (found !== undefined) {
      for (let i = 0; i < found.slots.length; i++) hits.push({ fromTail: true, segment: c, slot: found.slots[i]!, id: found.ids[i]!, score: found.scores[i]! });
      return;
    }
    const kernel = index.kernel();
    if (kernel === null) return;
    const { metric } = request;
    const mode = scoreModeOf(metric, index.metric, kernel.layout.normalizedPtr !== -1);
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
