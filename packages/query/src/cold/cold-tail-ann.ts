/**
 * ColdTailAnnScan: a log-tail chunk with IVF lists (a closed chunk of at
 * least 4,096 vectors, tail-chunks.ts) in a cold ANN query. The loaded path
 * probes such a chunk's lists in the same global order as the segments'
 * (execute-query.ts globalAnnCandidates over every partition,
 * ../global-probes.ts); the cold path drives this scan in that order
 * beside the segments' ColdAnnScans (cold-ann.ts scanGlobally): the chunk is
 * in memory, so a list is its rows `listOffsets[l] .. listOffsets[l + 1]`,
 * scanned with the loaded path's kernel, score mode, skip rule (superseded
 * or not matching the filter) and top-k (ties by id), which gives the loaded
 * path's candidates. `tailAnnScans` says which chunks take part: those the
 * loaded path puts in its group (IVF lists, a kernel, the query's metric and
 * a filter that is not selective in the chunk); the others are scanned
 * exactly (mergeWithTail), as loaded.
 */
import type { DistanceMetric } from "@skerry/wal-format";
import { compareStrings } from "../attribute-columns.ts";
import { type ColdCandidates, type ListRows, scanGlobally } from "../cold-ann.ts";
import { globalListOrder, globalProbeBudget } from "../global-probes.ts";
import { evaluateFilter } from "../filter-plan.ts";
import type { QueryIndex } from "../query-index.ts";
import type { Filter } from "../query-request.ts";
import { TopK } from "../top-k.ts";
import { prepareQueryVector, type ScoreMode, scanRange, scoreModeOf } from "../vector-kernel.ts";

export class ColdTailAnnScan {
  /** The query's score against each of the chunk's centroids (higher is better): its part of the global order. */
  readonly scores: Float64Array;
  readonly size: number;
  readonly lists: number;
  readonly probes: number;
  readonly #index: QueryIndex;
  readonly #query: Float32Array;
  readonly #mode: ScoreMode;
  readonly #skip: Uint8Array | null;
  readonly #k: number;
  #order: number[] = [];
  #at = 0;
  #top: TopK | undefined;

  constructor(chunk: { readonly index: QueryIndex; readonly excluded: Uint32Array | undefined }, vector: Float32Array, metric: DistanceMetric, k: number) {
    const { index, excluded } = chunk;
    const kernel = index.kernel();
    const ann = index.ann;
    if (kernel === null || ann === null) throw new TypeError("ColdTailAnnScan needs a chunk with IVF lists");
    this.#index = index;
    this.size = index.size;
    this.lists = ann.lists;
    this.probes = ann.probes;
    this.#k = k;
    this.#mode = scoreModeOf(metric, index.metric, kernel.layout.normalizedPtr !== -1);
    this.#query = prepareQueryVector(vector, metric, kernel.layout.stride);
    // The centroid scores as executeQuery's centroidScores computes them (the same kernel call, so the same bits).
    const { out, q } = kernel.scratch(0);
    kernel.f32.set(this.#query, q >> 2);
    kernel.range(ann.rank === "l2", q, kernel.layout.centroidsPtr, ann.lists, out);
    const o = out >> 2;
    this.scores = Float64Array.from({ length: ann.lists }, (_, i) => (ann.rank === "l2" ? -kernel.f32[o + i]! : kernel.f32[o + i]!));
    let skip: Uint8Array | null = null;
    if (excluded !== undefined && excluded.length > 0) {
      skip = new Uint8Array(index.size);
      for (const position of excluded) {
        const slot = index.slotOf(position);
        if (slot >= 0) skip[slot] = 1;
      }
    }
    this.#skip = skip;
  }

  /** A new pass over `lists` (only their list numbers: the rows are in memory), scanned in this order by `next`. */
  start(lists: readonly ListRows[]): void {
    this.#order = lists.map((rows) => rows.list);
    this.#at = 0;
    const ids = this.#index.ids;
    this.#top = new TopK(this.#k, (a, b) => compareStrings(ids.get(a), ids.get(b)));
  }

  /** Scans the pass's next list; the live rows found so far (at most k). */
  next(): number {
    const index = this.#index;
    const ann = index.ann!;
    const list = this.#order[this.#at++]!;
    const top = this.#top!;
    scanRange(index.kernel()!, 0, this.#mode, this.#query, ann.listOffsets[list]!, ann.listOffsets[list + 1]!, top, this.#skip);
    return top.size;
  }

  finish(): ColdCandidates {
    const drained = this.#top!.drain();
    this.#top = undefined;
    const ids = this.#index.ids;
    return { slots: drained.slots, scores: drained.scores, ids: Array.from(drained.slots, (slot) => ids.get(slot)) };
  }
}

/**
 * Per tail chunk: its ColdTailAnnScan when the loaded path probes its lists (IVF lists, a kernel, the namespace's
 * metric, and no filter or one that is not a slot list in the chunk), else null (scanned exactly). `chunks` carry
 * the positions to skip (superseded, and with a filter those it does not match).
 */
export function tailAnnScans(
  chunks: readonly { readonly index: QueryIndex; readonly excluded: Uint32Array | undefined }[],
  filter: Filter | undefined,
  vector: Float32Array,
  metric: DistanceMetric,
  k: number,
): (ColdTailAnnScan | null)[] {
  return chunks.map((chunk) => {
    const { index } = chunk;
    if (index.ann === null || index.kernel() === null || index.metric !== metric) return null;
    if (filter !== undefined && evaluateFilter(index, filter).kind === "list") return null;
    return new ColdTailAnnScan(chunk, vector, metric, k);
  });
}

/** A chunk probing its own lists (`globalProbes: false`, as the loaded path's group of one): its candidates. */
export function probeTailAlone(scan: ColdTailAnnScan, k: number, probes: number | undefined): ColdCandidates {
  const order = globalListOrder([scan.scores]);
  const budget = globalProbeBudget([scan], probes);
  const scanned = scanGlobally([scan], order, order.list.length, budget, k, tailListRows);
  if (!("candidates" in scanned)) throw new Error("unreachable: every list of the chunk is at hand");
  return scanned.candidates[0]!;
}

/** A tail chunk's list as scanGlobally hands it to the chunk's scan (its number: the rows are in memory). */
export function tailListRows(_: number, list: number): ListRows {
  return { list, start: 0, clusters: [] };
}
