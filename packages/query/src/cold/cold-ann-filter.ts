/**
 * coldAnnFilter: a filter beside a cold ANN ranking (../cold-ann.ts)
 * that is not selective in any segment. The loaded path then probes each
 * IVF segment's lists with the rows the filter does not match skipped like
 * dead ones (execute-query.ts globalAnnCandidates: `skip` = dead or not
 * matching, the probes extended until k live matching rows were found); the
 * cold scan does the same with those rows reported dead (`isDead`'s slot).
 * A segment whose matches are at most SELECTIVE_FRACTION of its rows is an
 * exact scan of them when loaded, outside the probed group: so it is cold
 * (`selective`, `coldAnnSelective`: the filtered dense path's scan,
 * cold-vector-filter.ts: matches in a few clusters read row by row, matches
 * spread over more than a quarter of the clusters streamed in bounded
 * batches of just the clusters holding one). When every segment is
 * selective the filtered dense path serves the query (undefined here),
 * unless a tail chunk with IVF lists is probed (the filter not selective in
 * it): the loaded path then probes that chunk's lists beside the segments'
 * exact scans, and so does this path. The
 * tail's chunks are scanned exactly (mergeWithTail) with the rows the
 * filter does not match excluded beside their superseded ones, or probed
 * (cold-tail-ann.ts).
 */
import type { ColdArrayReader, ColdIndexFile } from "./cold-array-reader.ts";
import { type ColdFilterContext, coldFilterMatches } from "./cold-filter.ts";
import { coldTailChunks } from "./cold-tail.ts";
import type { DeadSlots } from "./cold-dead-slots.ts";
import type { ColdRows } from "./cold-rows.ts";
import { coldFilteredVector } from "./cold-vector-filter.ts";
import type { ColdCandidates } from "../cold-ann.ts";
import { evaluateFilter, SELECTIVE_FRACTION } from "../filter-plan.ts";
import type { DistanceMetric } from "../query-document.ts";
import type { QueryIndex } from "../query-index.ts";
import type { Filter } from "../query-request.ts";

export interface ColdAnnFilter {
  /** Per segment: 1 = the slot matches. */
  readonly matches: readonly Uint8Array[];
  /** Per segment: its matching slots when the filter is selective in it (an exact scan of them), else undefined. */
  readonly selective: readonly (Uint32Array | undefined)[];
  /** The tail's chunks with the positions the filter does not match excluded too. */
  readonly tail: readonly { readonly index: QueryIndex; readonly excluded: Uint32Array | undefined }[];
}

/** The filter's matches for a cold ANN scan; undefined when every segment's matches are selective (the filtered dense path serves it). */
export async function coldAnnFilter(
  context: ColdFilterContext,
  files: readonly ColdIndexFile[],
  tail: readonly { readonly index: QueryIndex; readonly excluded: Uint32Array | undefined }[],
  filter: Filter,
): Promise<ColdAnnFilter | undefined> {
  const chunks = coldTailChunks(tail);
  const found = await coldFilterMatches(context, files, chunks, filter);
  if (found.matches === undefined || found.tailMatches === undefined) return undefined;
  const segmentMatches = found.matches;
  const selective = files.map((file, s) => {
    const slots = segmentMatches[s] as Uint32Array;
    return slots.length <= file.meta.size * SELECTIVE_FRACTION ? slots : undefined;
  });
  // Every segment selective: the filtered dense path's exact scans serve it, unless a tail chunk with IVF lists
  // would be probed (its matches no slot list): then the segments' exact scans beside that chunk's probes, here.
  const tailProbes = chunks.some(({ index }) => index.ann !== null && index.kernel() !== null && evaluateFilter(index, filter).kind !== "list");
  if (selective.every((slots) => slots !== undefined) && !tailProbes) return undefined;
  const matches = files.map((file, s) => {
    const mask = new Uint8Array(file.meta.size);
    for (const slot of segmentMatches[s] as Uint32Array) mask[slot] = 1;
    return mask;
  });
  const tailMatches = found.tailMatches;
  const excluded = chunks.map(({ index, dead }, c) => {
    const keep = new Uint8Array(index.size);
    for (const slot of tailMatches[c] as number[]) keep[slot] = 1;
    const out: number[] = [];
    for (let slot = 0; slot < index.size; slot++) if (keep[slot] === 0 || (dead !== null && dead[slot] !== 0)) out.push(index.positionOf(slot));
    return { index, excluded: out.length === 0 ? undefined : Uint32Array.from(out).sort() };
  });
  return { matches, selective, tail: excluded };
}

/**
 * The selective segments' candidates (their top k of the live matching rows, exactly as the loaded path's scan
 * of a slot list scores them: coldFilteredVector), per segment; undefined for the others.
 */
export async function coldAnnSelective(input: {
  readonly rows: ColdRows;
  readonly reader: ColdArrayReader;
  readonly batchBytes?: number | undefined;
  readonly files: readonly ColdIndexFile[];
  readonly dead: readonly DeadSlots[];
  readonly selective: readonly (Uint32Array | undefined)[];
  readonly vector: Float32Array;
  readonly metric: DistanceMetric;
  readonly k: number;
}): Promise<(ColdCandidates | undefined)[]> {
  const at = input.selective.flatMap((slots, s) => (slots === undefined ? [] : [s]));
  const hits = await coldFilteredVector({
    rows: input.rows,
    reader: input.reader,
    batchBytes: input.batchBytes,
    files: at.map((s) => input.files[s] as ColdIndexFile),
    dead: at.map((s) => input.dead[s] as DeadSlots),
    matches: at.map((s) => input.selective[s] as Uint32Array),
    tail: [],
    tailMatches: [],
    k: input.k,
    vector: input.vector,
    metric: input.metric,
    ann: true,
  });
  if (hits === undefined) throw new Error("unreachable: the selective segments were checked (coldAnnFilter)");
  const out: (ColdCandidates | undefined)[] = input.selective.map((slots) => (slots === undefined ? undefined : { slots: new Uint32Array(0), scores: new Float64Array(0), ids: [] }));
  at.forEach((s, i) => {
    const mine = hits.filter((h) => h.segment === i);
    out[s] = { slots: Uint32Array.from(mine, (h) => h.slot), scores: Float64Array.from(mine, (h) => h.score), ids: mine.map((h) => h.id) };
  });
  return out;
}
