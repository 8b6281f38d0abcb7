/**
 * executeQuery: run a parsed request over the partitions of one namespace
 * version (oldest first) and merge their answers.
 *
 * Per partition, every document is either live or dead; dead means shadowed
 * by a newer partition's version of the same id (query-snapshot.ts) or
 * excluded by the engine's `exclude` hook (positions tombstoned after the
 * index was built). Dead documents are never returned, scored into
 * statistics, or counted, in every rank mode, filter and aggregation.
 *
 * Rank modes and how partitions combine:
 * - dense vectors: each partition returns its top-k by the kernel score
 *   (exact scan, in parallel worker threads for large partitions; or IVF
 *   probes when the request says ANN and the partition has an IVF index of
 *   the same metric; a selective filter makes it an exact scan of the
 *   matching rows instead). Rows carry `distance` (COSINE 1 - cos, DOT -dot,
 *   EUCLIDEAN the L2 distance), smaller is better.
 * - sparse dot product and BM25: scored through inverted postings; BM25's
 *   corpus statistics (document count, average length, document frequency)
 *   are summed over live documents of all partitions, so scores equal those
 *   of one index over the same live documents. Rows carry `score`.
 * - attribute order: values in order (asc: numbers, then strings, then
 *   documents without a number/string value; desc: strings, then numbers,
 *   then the rest), ties by id.
 * - RRF: each sub-ranking's top `window` rows, fused by sum of
 *   1 / (k + rank); rows carry the fused `score`.
 * - no rankBy: matching rows in id order (unless only aggregating).
 * Every ordering ends with the id (ascending) as the tie-breaker, so the
 * result is a function of the live documents alone: the same for any split
 * into partitions, any thread count, and a fresh process.
 *
 * Slicing (options.slicer, query-slicer.ts): the work that grows with the
 * partition or the answer yields to the event loop at the slicer's
 * checkpoints: the exact vector scan (in ranges of rows) and IVF probes
 * (per list), turning candidates into hits, the sort of the hits
 * (sliced-sort.ts), the id-order walk of every live document, RRF fusion,
 * and materializing the rows. Filter evaluation, sparse and BM25 scoring and
 * aggregations run in one piece. `executeQueryRows` stops before the rows:
 * its QueryRows (query-rows.ts) makes each row, or its JSON, on demand.
 */
import type { ResolvedTokenizerConfig } from "./tokenizer.ts";
import { stringifyExact } from "@skerry/wal-format";
import { type AggregationGroup, aggregate } from "./aggregate.ts";
import { type Bm25Params, bm25Stats, forEachBm25Posting } from "./bm25-stats.ts";
import { expressionFilters, textCombinationScores } from "./text-combination.ts";
import { computeAttributeValues } from "./compute-attributes.ts";
import type { AttributeColumn } from "./attribute-columns.ts";
import { TAG_NUMBER, TAG_STRING, columnValue, compareStrings } from "./attribute-columns.ts";
import { InvalidQueryError } from "./errors.ts";
import { checkFilterTypes, evaluateFilter, type Matches } from "./filter-plan.ts";
import type { DistanceMetric, } from "./query-document.ts";
import type { QueryIndex } from "./query-index.ts";
import type { AttributeOrderKey, QueryRequest, SingleRankBy } from "./query-request.ts";
import { type QueryRow, QueryRows, type RankedRow } from "./query-rows.ts";
import type { QuerySlicer } from "./query-slicer.ts";
import { prepareQuerySnapshot, QuerySnapshot } from "./query-snapshot.ts";
import { slicedSort } from "./sliced-sort.ts";
import { exactNumberAt, sameNumber } from "./exact-number.ts";
import { compareKeys, missingGroup, type OrderKey, orderKeyOf } from "./order-keys.ts";
import { globalListOrder, globalProbeBudget } from "./global-probes.ts";
import { findDim, sparseInverted } from "./sparse-index.ts";
import { type Candidates, TopK } from "./top-k.ts";
import { prepareQueryVector, type ScoreMode, scanGather, scanRange, scoreModeOf } from "./vector-kernel.ts";
import { kernelPool } from "./worker-pool.ts";

export interface ExecuteQueryOptions {
  /**
   * Positions (input ordinals given to buildQueryIndex) of documents to treat
   * as deleted in a partition, e.g. rows tombstoned after its index was built.
   * Any iterable works (Set, array, Uint32Array, a roaring bitmap).
   */
  readonly exclude?: ((partition: QueryIndex, partitionIndex: number) => Iterable<number> | undefined) | undefined;
  /** Use worker threads for large exact scans (default true). */
  readonly parallel?: boolean | undefined;
  /** Yield to the event loop at this slicer's checkpoints (default: run in one piece). */
  readonly slicer?: QuerySlicer | undefined;
  /**
   * ANN: the IVF partitions among the first `annPartitions` choose their
   * lists by one global ranking of their centroids and one probe budget
   * (global-probes.ts); later partitions each probe their own `probes`
   * lists. Default: every partition. The engine passes its segment count:
   * the log tail's chunks (the cold path scans them exactly) keep probing
   * on their own; they can join by passing the partition count once the
   * cold path ranks their centroids too.
   */
  readonly annPartitions?: number | undefined;
  /** BM25 k1 and b of a text field (the namespace's options); default the newest partition's (as its index stores them). */
  readonly bm25?: Bm25ParamsOf | undefined;
  /** A text field's tokenizer config (the namespace's options; Highlight); default the partitions' own. */
  readonly textConfig?: ((field: string) => ResolvedTokenizerConfig) | undefined;
}

/** A text field's BM25 parameters, or undefined for the default. */
export type Bm25ParamsOf = (field: string) => Bm25Params | undefined;

export type { QueryRow } from "./query-rows.ts";

export type { AggregationGroup } from "./aggregate.ts";

export interface QueryResult {
  readonly rows: QueryRow[];
  /** Without groupBy: each aggregation's value. */
  readonly aggregations?: Record<string, number | bigint>;
  /** With groupBy: groups by count descending, then group key; at most topK. */
  readonly aggregationGroups?: AggregationGroup[];
}

/** `QueryResult` with rows made on demand (`executeQueryRows`). */
export interface QueryRowsResult {
  readonly rows: QueryRows;
  /** Without groupBy: each aggregation's value. */
  readonly aggregations?: Record<string, number | bigint>;
  /** With groupBy: groups by count descending, then group key; at most topK. */
  readonly aggregationGroups?: AggregationGroup[];
}

/** Items (slots, hits, rows) between two slicer checkpoints, minus one (a mask). */
const CHECK_MASK = 255;
/** Vector floats scored between two slicer checkpoints of an exact scan (and at most 4,096 rows: each may be a top-k push). */
const SCAN_FLOATS = 1 << 20;

/** Rows scanned per partition above which exact scans use worker threads. */
export const PARALLEL_MIN_FLOATS = 4_000_000;
/** BM25 parameters. */
export { BM25_B, BM25_K1 } from "./bm25-stats.ts";

// ------------------------------------------------------------ per-partition context

class Partition {
  private skipCache: Uint8Array | null | undefined;
  private sharedSkipCache: Uint8Array | null | undefined;

  constructor(
    readonly index: QueryIndex,
    readonly ordinal: number,
    /** 1 = dead; null when nothing is. */
    readonly dead: Uint8Array | null,
    /** Dead slots, ascending, unique. */
    readonly deadSlots: Uint32Array,
    readonly matches: Matches,
  ) {}

  live(slot: number): boolean {
    return this.dead === null || this.dead[slot] === 0;
  }

  matchesSlot(slot: number): boolean {
    const m = this.matches;
    if (m.kind === "all") return true;
    if (m.kind === "mask") return m.mask[slot] === 1;
    return this.listMask()[slot] === 1;
  }

  private listMaskCache: Uint8Array | undefined;
  private listMask(): Uint8Array {
    if (this.listMaskCache === undefined) {
      const mask = new Uint8Array(this.index.size);
      if (this.matches.kind === "list") for (const s of this.matches.slots) mask[s] = 1;
      this.listMaskCache = mask;
    }
    return this.listMaskCache;
  }

  /** dead OR not matching, as a mask (null when no slot is skipped); optionally shared memory. */
  skip(shared: boolean): Uint8Array | null {
    if (!shared && this.skipCache !== undefined) return this.skipCache;
    if (shared && this.sharedSkipCache !== undefined) return this.sharedSkipCache;
    const n = this.index.size;
    const m = this.matches;
    let out: Uint8Array | null = null;
    if (this.dead !== null || m.kind !== "all") {
      out = shared ? new Uint8Array(new SharedArrayBuffer(n)) : new Uint8Array(n);
      if (this.dead !== null) out.set(this.dead);
      if (m.kind === "mask") for (let s = 0; s < n; s++) out[s]! |= m.mask[s]! ^ 1;
      else if (m.kind === "list") {
        const keep = this.listMask();
        for (let s = 0; s < n; s++) out[s]! |= keep[s]! ^ 1;
      }
    }
    if (shared) this.sharedSkipCache = out;
    else this.skipCache = out;
    return out;
  }

  /** Call fn for every live matching slot, ascending. */
  forEachLive(fn: (slot: number) => void): void {
    const m = this.matches;
    const dead = this.dead;
    if (m.kind === "list") {
      for (const s of m.slots) if (dead === null || dead[s] === 0) fn(s);
      return;
    }
    const n = this.index.size;
    for (let s = 0; s < n; s++) {
      if (dead !== null && dead[s] !== 0) continue;
      if (m.kind === "mask" && m.mask[s] === 0) continue;
      fn(s);
    }
  }

  /** forEachLive, pausing at the slicer's checkpoints between ranges of slots. */
  async forEachLiveSliced(fn: (slot: number) => void, slicer: QuerySlicer | undefined): Promise<void> {
    if (slicer === undefined) return this.forEachLive(fn);
    const m = this.matches;
    const dead = this.dead;
    if (m.kind === "list") {
      const slots = m.slots;
      for (let i = 0; i < slots.length; i++) {
        const s = slots[i]!;
        if (dead === null || dead[s] === 0) fn(s);
        if ((i & CHECK_MASK) === CHECK_MASK && slicer.due()) await slicer.pause();
      }
      return;
    }
    const n = this.index.size;
    for (let s = 0; s < n; s++) {
      if ((s & CHECK_MASK) === CHECK_MASK && slicer.due()) await slicer.pause();
      if (dead !== null && dead[s] !== 0) continue;
      if (m.kind === "mask" && m.mask[s] === 0) continue;
      fn(s);
    }
  }

  /** Negative when slot a's id sorts before slot b's. */
  readonly idOrder = (a: number, b: number): number => compareStrings(this.index.ids.get(a), this.index.ids.get(b));
}

interface Hit {
  readonly p: number;
  readonly slot: number;
  readonly score: number;
  readonly id: string;
}

/** Appends a partition's candidates to `out` as hits. */
async function addHits(out: Hit[], partition: Partition, c: Candidates, slicer: QuerySlicer | undefined): Promise<void> {
  for (let i = 0; i < c.slots.length; i++) {
    const slot = c.slots[i]!;
    out.push({ p: partition.ordinal, slot, score: c.scores[i]!, id: partition.index.ids.get(slot) });
    if (slicer !== undefined && (i & CHECK_MASK) === CHECK_MASK && slicer.due()) await slicer.pause();
  }
}

const byScoreThenId = (a: Hit, b: Hit): number => (a.score !== b.score ? b.score - a.score : compareStrings(a.id, b.id));

/** Best first by score, then id; at most k. */
function topHits(hits: Hit[], k: number, slicer: QuerySlicer | undefined): Promise<Hit[]> {
  return slicedSort(hits, byScoreThenId, slicer, k);
}

// ------------------------------------------------------------ dense vectors

function scoreMode(metric: DistanceMetric, index: QueryIndex): ScoreMode {
  return scoreModeOf(metric, index.metric, index.vectors?.layout.normalizedPtr !== -1);
}

async function vectorCandidates(
  part: Partition,
  rank: Extract<SingleRankBy, { kind: "vector" }>,
  metric: DistanceMetric,
  k: number,
  probes: number | undefined,
  parallel: boolean,
  slicer: QuerySlicer | undefined,
): Promise<Candidates> {
  const index = part.index;
  const kernel = index.kernel();
  if (kernel === null) return { slots: new Uint32Array(0), scores: new Float64Array(0) };
  const mode = scoreMode(metric, index);
  const query = prepareQueryVector(rank.vector, metric, kernel.layout.stride);
  const m = part.matches;
  // Rows scored between two checkpoints (each scan call loads the query afresh, so slices may interleave).
  const step = Math.max(256, Math.min(4_096, Math.floor(SCAN_FLOATS / kernel.layout.stride)));
  if (m.kind === "list") {
    const top = new TopK(k, part.idOrder);
    if (slicer === undefined) scanGather(kernel, 0, mode, query, m.slots, top, part.dead);
    else {
      for (let from = 0; from < m.slots.length; from += step) {
        scanGather(kernel, 0, mode, query, m.slots.subarray(from, from + step), top, part.dead);
        if (from + step < m.slots.length && slicer.due()) await slicer.pause();
      }
    }
    return top.drain();
  }
  const ann = index.ann;
  if (rank.mode === "ANN" && ann !== null && metric === index.metric) {
    // One IVF partition alone: the global walk over its own lists (global-probes.ts), as a group of one.
    return (await globalAnnCandidates([part], rank, metric, k, probes, slicer))[0]!;
  }
  const n = index.size;
  const pool = parallel && n * kernel.layout.stride >= PARALLEL_MIN_FLOATS ? kernelPool() : null;
  if (pool !== null) {
    const skip = part.skip(true);
    const parts = pool.threads;
    const step = Math.ceil(n / parts);
    const tasks = [];
    for (let t = 0; t < parts; t++) {
      const start = t * step;
      const end = Math.min(n, start + step);
      if (start < end) tasks.push({ mode, query, start, end, k, skip });
    }
    try {
      const results = await pool.run(index.uid, index, index.vectors!.memory, index.vectors!.layout, tasks);
      let total = 0;
      for (const r of results) total += r.slots.length;
      const slots = new Uint32Array(total);
      const scores = new Float64Array(total);
      let at = 0;
      for (const r of results) {
        slots.set(r.slots, at);
        scores.set(r.scores, at);
        at += r.slots.length;
      }
      return { slots, scores };
    } catch {
      // fall through: scan on this thread (same kernel, same answer)
    }
  }
  const top = new TopK(k, part.idOrder);
  const skip = part.skip(false);
  if (slicer === undefined) scanRange(kernel, 0, mode, query, 0, n, top, skip);
  else {
    for (let from = 0; from < n; from += step) {
      scanRange(kernel, 0, mode, query, from, Math.min(n, from + step), top, skip);
      if (from + step < n && slicer.due()) await slicer.pause();
    }
  }
  return top.drain();
}

/** The query's score against each of `index`'s IVF centroids (higher is better), with the kernel that ranks them. */
function centroidScores(index: QueryIndex, vector: Float32Array, metric: DistanceMetric): Float64Array {
  const kernel = index.kernel()!;
  const ann = index.ann!;
  const { out, q } = kernel.scratch(0);
  kernel.f32.set(prepareQueryVector(vector, metric, kernel.layout.stride), q >> 2);
  kernel.range(ann.rank === "l2", q, kernel.layout.centroidsPtr, ann.lists, out);
  const o = out >> 2;
  return Float64Array.from({ length: ann.lists }, (_, i) => (ann.rank === "l2" ? -kernel.f32[o + i]! : kernel.f32[o + i]!));
}

/**
 * IVF partitions that choose their lists together (global-probes.ts): ANN
 * over an IVF index of the request's metric, not pre-filtered (a selective
 * filter makes a partition an exact scan of its matches), among the first
 * `annPartitions`.
 */
function annGroup(parts: readonly Partition[], rank: Extract<SingleRankBy, { kind: "vector" }>, metric: DistanceMetric, annPartitions: number): Partition[] {
  if (rank.mode !== "ANN") return [];
  return parts.filter((part) => part.ordinal < annPartitions && part.index.ann !== null && part.index.kernel() !== null && metric === part.index.metric && part.matches.kind !== "list");
}

/**
 * The IVF scan of a group of partitions: their lists in one global order,
 * scanned until `globalProbeBudget` lists were and the partitions together
 * found `k` live matching rows (global-probes.ts); each partition's top-k,
 * in the group's order.
 */
async function globalAnnCandidates(
  group: readonly Partition[],
  rank: Extract<SingleRankBy, { kind: "vector" }>,
  metric: DistanceMetric,
  k: number,
  probes: number | undefined,
  slicer: QuerySlicer | undefined,
): Promise<Candidates[]> {
  const order = globalListOrder(group.map((part) => centroidScores(part.index, rank.vector, metric)));
  const budget = globalProbeBudget(
    group.map((part) => ({ size: part.index.size, lists: part.index.ann!.lists, probes: part.index.ann!.probes })),
    probes,
  );
  const tops = group.map((part) => new TopK(k, part.idOrder));
  const skips = group.map((part) => part.skip(false));
  const modes = group.map((part) => scoreMode(metric, part.index));
  const queries = group.map((part) => prepareQueryVector(rank.vector, metric, part.index.kernel()!.layout.stride));
  let found = 0;
  for (let i = 0; i < order.list.length; i++) {
    if (i >= budget && found >= k) break;
    const p = order.partition[i]!;
    const l = order.list[i]!;
    const { index } = group[p]!;
    const top = tops[p]!;
    const before = top.size;
    scanRange(index.kernel()!, 0, modes[p]!, queries[p]!, index.ann!.listOffsets[l]!, index.ann!.listOffsets[l + 1]!, top, skips[p]!);
    found += top.size - before;
    if (slicer?.due()) await slicer.pause();
  }
  return tops.map((top) => top.drain());
}

/**
 * Every partition's top-k for a dense ranking: the ANN group's lists chosen
 * together (globalAnnCandidates), the other partitions each on its own
 * (vectorCandidates), in partition order.
 */
async function vectorCandidatesAll(
  parts: readonly Partition[],
  rank: Extract<SingleRankBy, { kind: "vector" }>,
  metric: DistanceMetric,
  k: number,
  probes: number | undefined,
  parallel: boolean,
  slicer: QuerySlicer | undefined,
  annPartitions: number,
): Promise<Candidates[]> {
  const group = annGroup(parts, rank, metric, annPartitions);
  const grouped = new Map<Partition, Candidates>();
  if (group.length > 0) {
    const found = await globalAnnCandidates(group, rank, metric, k, probes, slicer);
    group.forEach((part, g) => {
      grouped.set(part, found[g]!);
    });
  }
  const out: Candidates[] = [];
  for (const part of parts) out.push(grouped.get(part) ?? (await vectorCandidates(part, rank, metric, k, probes, parallel, slicer)));
  return out;
}

function toDistance(metric: DistanceMetric, score: number): number {
  if (metric === "COSINE") return 1 - score;
  if (metric === "DOT") return -score;
  return Math.sqrt(Math.max(0, -score));
}

// ------------------------------------------------------------ postings-based scoring

class Accumulator {
  readonly scores: Float64Array;
  readonly seen: Uint8Array;
  touched: Uint32Array;
  count = 0;
  constructor(n: number) {
    this.scores = new Float64Array(n);
    this.seen = new Uint8Array(n);
    this.touched = new Uint32Array(Math.min(n, 1024));
  }
  add(slot: number, value: number): void {
    if (this.seen[slot] === 0) {
      this.seen[slot] = 1;
      if (this.count === this.touched.length) {
        const next = new Uint32Array(this.touched.length * 2);
        next.set(this.touched);
        this.touched = next;
      }
      this.touched[this.count++] = slot;
    }
    this.scores[slot]! += value;
  }
  reset(): void {
    for (let i = 0; i < this.count; i++) {
      const s = this.touched[i]!;
      this.scores[s] = 0;
      this.seen[s] = 0;
    }
    this.count = 0;
  }
}

const accumulators = new WeakMap<QueryIndex, Accumulator>();
function accumulatorFor(index: QueryIndex): Accumulator {
  let acc = accumulators.get(index);
  if (acc === undefined) accumulators.set(index, (acc = new Accumulator(index.size)));
  return acc;
}

function topOfAccumulator(part: Partition, acc: Accumulator, k: number): Candidates {
  const top = new TopK(k, part.idOrder);
  for (let i = 0; i < acc.count; i++) {
    const slot = acc.touched[i]!;
    const s = acc.scores[slot]!;
    if (!top.accepts(s)) continue;
    if (!part.matchesSlot(slot)) continue;
    top.push(s, slot);
  }
  return top.drain();
}

function sparseCandidates(part: Partition, rank: Extract<SingleRankBy, { kind: "sparse" }>, k: number): Candidates {
  const rows = part.index.sparse;
  if (rows === null) return { slots: new Uint32Array(0), scores: new Float64Array(0) };
  const inv = sparseInverted(rows);
  const acc = accumulatorFor(part.index);
  try {
    for (let i = 0; i < rank.indices.length; i++) {
      const d = findDim(inv.dims, rank.indices[i]!);
      if (d < 0) continue;
      const w = rank.values[i]!;
      for (let e = inv.offsets[d]!; e < inv.offsets[d + 1]!; e++) {
        const slot = inv.slots[e]!;
        if (!part.live(slot)) continue;
        acc.add(slot, w * inv.values[e]!);
      }
    }
    return topOfAccumulator(part, acc, k);
  } finally {
    acc.reset();
  }
}

function bm25Candidates(parts: readonly Partition[], rank: Extract<SingleRankBy, { kind: "bm25" }>, k: number, params: Bm25Params | undefined): Candidates[] {
  const empty = parts.map(() => ({ slots: new Uint32Array(0), scores: new Float64Array(0) }));
  const stats = bm25Stats(parts, rank.field, rank.query, params, rank.lastAsPrefix);
  if (stats === undefined) return empty;
  return parts.map((part, p) => {
    const acc = accumulatorFor(part.index);
    try {
      forEachBm25Posting(stats, part, p, (slot, score) => acc.add(slot, score));
      return topOfAccumulator(part, acc, k);
    } finally {
      acc.reset();
    }
  });
}

// ------------------------------------------------------------ attribute order

interface OrderedHit extends OrderKey {
  readonly p: number;
  readonly slot: number;
  readonly id: string;
  /** The further keys' values (multi-key order), in key order. */
  readonly rest?: readonly OrderKey[];
}

type Then = readonly AttributeOrderKey[];

async function attributeCandidates(part: Partition, key: AttributeOrderKey, k: number, slicer: QuerySlicer | undefined, then: Then = []): Promise<OrderedHit[]> {
  const { field } = key;
  const desc = key.order === "desc";
  const index = part.index;
  const out: OrderedHit[] = [];
  const ok = (s: number) => part.live(s) && part.matchesSlot(s);
  const thenColumns = then.map((further) => index.attributeColumns.get(further.field));
  const restOf = (slot: number): OrderKey[] => then.map((further, i) => orderKeyOf(index, further, thenColumns[i], slot));
  const push = (slot: number, group: number, value: number | bigint | string) =>
    out.push(
      then.length === 0
        ? { p: part.ordinal, slot, group, value, id: index.ids.get(slot) }
        : { p: part.ordinal, slot, group, value, id: index.ids.get(slot), rest: restOf(slot) },
    );
  if (field === "id") {
    // Order by id itself: a TopK on a constant score with id tie-breaking.
    const top = new TopK(k, desc ? (a, b) => -part.idOrder(a, b) : part.idOrder);
    await part.forEachLiveSliced((s) => top.push(0, s), slicer);
    const d = top.drain();
    for (const s of d.slots) push(s, 0, index.ids.get(s));
    return out;
  }
  const column: AttributeColumn | undefined = index.attributeColumns.get(field);
  const walkNumbers = (group: number) => {
    if (column?.numberOrder == null) return false;
    const order = column.numberOrder;
    const nums = column.numbers!;
    let lastValue: number | bigint = Number.NaN;
    for (let i = 0; i < order.length; i++) {
      const slot = order[desc ? order.length - 1 - i : i]!;
      const v = column.exactSlots === undefined ? (nums[slot]! as number) : exactNumberAt(column, slot);
      if (out.length >= k && !sameNumber(v, lastValue)) return true;
      if (!ok(slot)) continue;
      push(slot, group, v);
      lastValue = v;
    }
    return false;
  };
  const walkStrings = (group: number) => {
    if (column?.strings == null) return false;
    const offsets = column.stringPostingOffsets!;
    const dict = column.strings;
    for (let i = 0; i < dict.length; i++) {
      if (out.length >= k) return true;
      const code = desc ? dict.length - 1 - i : i;
      const value = dict.get(code);
      for (let e = offsets[code]!; e < offsets[code + 1]!; e++) {
        const slot = column.stringPostings![e]!;
        if (ok(slot)) push(slot, group, value);
      }
    }
    return false;
  };
  // Rows without a value for the first key (one tied run): the first k by id, or by the further keys then id.
  const missing = missingGroup(key);
  const walkMissing = async () => {
    if (out.length >= k) return true;
    if (then.length === 0) {
      const top = new TopK(k - out.length, part.idOrder);
      part.forEachLive((s) => {
        const tag = column?.tags[s];
        if (tag !== TAG_NUMBER && tag !== TAG_STRING) top.push(0, s);
      });
      for (const s of top.drain().slots) push(s, missing, "");
    } else {
      const untyped: OrderedHit[] = [];
      await part.forEachLiveSliced((s) => {
        const tag = column?.tags[s];
        if (tag !== TAG_NUMBER && tag !== TAG_STRING) untyped.push({ p: part.ordinal, slot: s, group: missing, value: "", id: index.ids.get(s), rest: restOf(s) });
      }, slicer);
      const best = await slicedSort(untyped, (a, b) => compareOrdered(a, b, desc, then), slicer, k - out.length);
      for (const hit of best) out.push(hit);
    }
    return out.length >= k;
  };
  // The walks stop after a whole run of equal values, so rows tied on this key are all here for the further keys.
  const typed = () => (desc ? walkStrings(0) || walkNumbers(1) : walkNumbers(0) || walkStrings(1));
  if (key.missing === "first") {
    if (!(await walkMissing())) typed();
  } else if (!typed()) await walkMissing();
  return out;
}

function compareOrdered(a: OrderedHit, b: OrderedHit, desc: boolean, then: Then = []): number {
  const c = compareKeys(a, b, desc);
  if (c !== 0) return c;
  for (let i = 0; i < then.length; i++) {
    const d = compareKeys(a.rest![i]!, b.rest![i]!, then[i]!.order === "desc");
    if (d !== 0) return d;
  }
  return compareStrings(a.id, b.id);
}

// ------------------------------------------------------------ diversity (limitPer)

/**
 * The first `topK` rows of a ranking that keep at most `per.limit` rows per
 * tuple of the `per.attributes` values, in rank order. The ranking is asked
 * for topK rows, then 4 times more each round while the cut leaves fewer
 * than topK rows and rows remain, so the answer is the exact prefix of the
 * ranking (of the approximate one for ANN).
 */
async function diverseHits(
  parts: readonly Partition[],
  per: { readonly attributes: readonly string[]; readonly limit: number },
  topK: number,
  run: (k: number) => Promise<Hit[]>,
): Promise<Hit[]> {
  let rows = 0;
  for (const part of parts) rows += part.index.size;
  const columns = parts.map((part) => per.attributes.map((a) => (a === "id" ? undefined : part.index.attributeColumns.get(a))));
  const keyOf = (h: Hit): string =>
    stringifyExact(
      per.attributes.map((a, i) => {
        if (a === "id") return h.id;
        const column = columns[h.p]![i];
        return column === undefined ? null : (columnValue(column, h.slot) ?? null);
      }),
    );
  for (let k = Math.min(topK, Math.max(1, rows)); ; k = Math.min(rows, k * 4)) {
    const hits = await run(k);
    const seen = new Map<string, number>();
    const kept: Hit[] = [];
    for (const h of hits) {
      const key = keyOf(h);
      const n = seen.get(key) ?? 0;
      if (n >= per.limit) continue;
      seen.set(key, n + 1);
      kept.push(h);
      if (kept.length === topK) return kept;
    }
    if (hits.length < k || k >= rows) return kept;
  }
}

// ------------------------------------------------------------ the entry point

async function singleRanking(
  parts: readonly Partition[],
  rank: SingleRankBy,
  request: QueryRequest,
  metric: DistanceMetric,
  k: number,
  parallel: boolean,
  slicer: QuerySlicer | undefined,
  annPartitions: number,
  bm25: Bm25ParamsOf | undefined,
): Promise<{ hits: Hit[]; ordered?: OrderedHit[] }> {
  switch (rank.kind) {
    case "vector": {
      const all: Hit[] = [];
      const candidates = await vectorCandidatesAll(parts, rank, metric, k, request.probes, parallel, slicer, annPartitions);
      for (let p = 0; p < parts.length; p++) await addHits(all, parts[p]!, candidates[p]!, slicer);
      return { hits: await topHits(all, k, slicer) };
    }
    case "sparse": {
      const all: Hit[] = [];
      for (const part of parts) await addHits(all, part, sparseCandidates(part, rank, k), slicer);
      return { hits: await topHits(all, k, slicer) };
    }
    case "bm25": {
      const all: Hit[] = [];
      const candidates = bm25Candidates(parts, rank, k, bm25?.(rank.field));
      for (let p = 0; p < parts.length; p++) await addHits(all, parts[p]!, candidates[p]!, slicer);
      return { hits: await topHits(all, k, slicer) };
    }
    case "text": {
      const all: Hit[] = [];
      const combined = textCombinationScores(parts, rank.expr, bm25);
      for (let p = 0; p < parts.length; p++) {
        const part = parts[p]!;
        const { slots, scores } = combined[p]!;
        const top = new TopK(k, part.idOrder);
        for (let i = 0; i < slots.length; i++) {
          const score = scores[i]!;
          if (!top.accepts(score) || !part.matchesSlot(slots[i]!)) continue;
          top.push(score, slots[i]!);
        }
        await addHits(all, part, top.drain(), slicer);
      }
      return { hits: await topHits(all, k, slicer) };
    }
    case "attribute": {
      const desc = rank.order === "desc";
      const all: OrderedHit[] = [];
      const then = rank.then ?? [];
      for (const part of parts) {
        for (const hit of await attributeCandidates(part, rank, k, slicer, then)) all.push(hit);
      }
      const ordered = await slicedSort(all, (a, b) => compareOrdered(a, b, desc, then), slicer, k);
      return { hits: ordered.map((h) => ({ p: h.p, slot: h.slot, score: 0, id: h.id })), ordered };
    }
  }
}

/**
 * Run `request` over `partitions` (oldest first, or a prepared snapshot).
 * Throws InvalidQueryError for a vector of the wrong dimension or a filter
 * operand of a type the attribute never holds.
 */
export async function executeQuery(
  partitions: readonly QueryIndex[] | QuerySnapshot,
  request: QueryRequest,
  options: ExecuteQueryOptions = {},
): Promise<QueryResult> {
  const result = await executeQueryRows(partitions, request, options);
  const out: { rows: QueryRow[]; aggregations?: Record<string, number | bigint>; aggregationGroups?: AggregationGroup[] } = { rows: [] };
  if (result.aggregations !== undefined) out.aggregations = result.aggregations;
  if (result.aggregationGroups !== undefined) out.aggregationGroups = result.aggregationGroups;
  out.rows = await result.rows.toArray(options.slicer);
  return out;
}

/** `executeQuery` up to the ranked rows: the answer's rows are made on demand (QueryRows). */
export async function executeQueryRows(
  partitions: readonly QueryIndex[] | QuerySnapshot,
  request: QueryRequest,
  options: ExecuteQueryOptions = {},
): Promise<QueryRowsResult> {
  const snapshot = partitions instanceof QuerySnapshot ? partitions : prepareQuerySnapshot(partitions);
  const indexes = snapshot.partitions;
  const dimension = snapshot.dimension();
  const rank = request.rankBy;
  const vectorRanks = rank === undefined ? [] : rank.kind === "rrf" ? rank.queries : [rank];
  for (const r of vectorRanks) {
    if (r.kind === "vector" && dimension !== 0 && r.vector.length !== dimension) {
      throw InvalidQueryError.at([...r.path, 2], "dimension_mismatch", `the query vector has ${r.vector.length} dimensions, the namespace ${dimension}`);
    }
    if (r.kind === "vector" && (request.distanceMetric ?? indexes.at(-1)?.metric) === "COSINE" && !r.vector.some((x) => x !== 0)) {
      throw InvalidQueryError.at([...r.path, 2], "schema", "a zero vector has no cosine similarity");
    }
  }
  if (request.filters !== undefined) checkFilterTypes(request.filters, indexes);
  for (const r of vectorRanks) if (r.kind === "text") for (const f of expressionFilters(r.expr)) checkFilterTypes(f, indexes);
  for (const c of request.computeAttributes?.values() ?? []) {
    if (c.kind === "expr") for (const f of expressionFilters(c.expr)) checkFilterTypes(f, indexes);
    else if (c.kind === "vectorDist" && (request.distanceMetric ?? indexes.at(-1)?.metric) === "COSINE" && !c.vector.some((x) => x !== 0)) {
      throw InvalidQueryError.at([...c.path, 2], "schema", "a zero vector has no cosine similarity");
    }
  }
  const metric: DistanceMetric = request.distanceMetric ?? indexes.at(-1)?.metric ?? "COSINE";
  const parallel = options.parallel ?? true;
  const slicer = options.slicer;
  const annPartitions = options.annPartitions ?? indexes.length;
  const bm25 = options.bm25;

  const parts = indexes.map((index, i) => {
    const shadow = snapshot.shadows[i]!;
    let dead = shadow.mask;
    let deadSlots = shadow.slots;
    const excluded = options.exclude?.(index, i);
    if (excluded !== undefined) {
      const extra: number[] = [];
      for (const position of excluded) {
        const slot = index.slotOf(position);
        if (slot < 0) continue;
        if (dead === shadow.mask) dead = shadow.mask === null ? new Uint8Array(index.size) : shadow.mask.slice();
        if (dead![slot] === 0) {
          dead![slot] = 1;
          extra.push(slot);
        }
      }
      if (extra.length > 0) {
        const merged = new Uint32Array(deadSlots.length + extra.length);
        merged.set(deadSlots);
        merged.set(extra, deadSlots.length);
        deadSlots = merged.sort();
      }
    }
    return new Partition(index, i, dead, deadSlots, evaluateFilter(index, request.filters));
  });

  const aggregated = request.aggregateBy === undefined ? {} : await aggregate(parts, request, slicer);

  let hits: Hit[] = [];
  let distances: number[] | undefined;
  if (rank === undefined) {
    if (request.aggregateBy === undefined) {
      const byId: SingleRankBy = { kind: "attribute", field: "id", order: "asc", path: [] };
      const run = async (k: number) => (await singleRanking(parts, byId, request, metric, k, parallel, slicer, annPartitions, bm25)).hits;
      hits = request.limitPer === undefined ? await run(request.topK) : await diverseHits(parts, request.limitPer, request.topK, run);
    }
  } else if (rank.kind === "rrf") {
    const window = Math.max(rank.window, request.topK);
    const fused = new Map<string, { p: number; slot: number; id: string; score: number }>();
    for (const [q, sub] of rank.queries.entries()) {
      const { hits: subHits } = await singleRanking(parts, sub, request, metric, window, parallel, slicer, annPartitions, bm25);
      const weight = rank.weights[q] ?? 1;
      for (let r = 0; r < subHits.length; r++) {
        const h = subHits[r]!;
        const key = `${h.p}:${h.slot}`;
        const add = weight / (rank.k + r + 1);
        const e = fused.get(key);
        if (e !== undefined) e.score += add;
        else fused.set(key, { p: h.p, slot: h.slot, id: h.id, score: add });
        if (slicer !== undefined && (r & CHECK_MASK) === CHECK_MASK && slicer.due()) await slicer.pause();
      }
    }
    hits = await topHits([...fused.values()], request.topK, slicer);
  } else {
    const limitPer = request.limitPer;
    hits =
      limitPer === undefined
        ? (await singleRanking(parts, rank, request, metric, request.topK, parallel, slicer, annPartitions, bm25)).hits
        : await diverseHits(parts, limitPer, request.topK, async (k) => (await singleRanking(parts, rank, request, metric, k, parallel, slicer, annPartitions, bm25)).hits);
    if (rank.kind === "vector") {
      distances = hits.map((h) => toDistance(metric, h.score));
      if (request.distanceThreshold !== undefined) {
        const t = request.distanceThreshold;
        const keep = distances.map((d) => d <= t);
        hits = hits.filter((_, i) => keep[i]);
        distances = distances.filter((_, i) => keep[i]);
      }
    }
  }

  const scoreKind = rank === undefined || rank.kind === "attribute" ? "none" : rank.kind === "vector" ? "distance" : "score";
  const computed = request.computeAttributes === undefined ? undefined : computeAttributeValues(parts, hits, request.computeAttributes, metric, dimension, bm25, options.textConfig);
  const rows = new QueryRows(indexes, hits satisfies readonly RankedRow[], distances, {
    scoreKind,
    includeAttributes: request.includeAttributes,
    includeVectors: request.includeVectors,
    computed,
  });
  return { rows, ...aggregated };
}
