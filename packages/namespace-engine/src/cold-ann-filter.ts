/**
 * coldAnnFilter: a filter beside a cold ANN ranking (query/cold-ann.ts)
 * that is not selective in any segment. The loaded path then probes each
 * IVF segment's lists with the rows the filter does not match skipped like
 * dead ones (execute-query.ts globalAnnCandidates: `skip` = dead or not
 * matching, the probes extended until k live matching rows were found); the
 * cold scan does the same with those rows reported dead (`isDead`'s slot).
 * A segment whose matches are at most SELECTIVE_FRACTION of its rows is an
 * exact scan of them when loaded (the filtered dense path,
 * cold-vector-filter.ts): undefined, and this path does not serve the
 * query. The tail's chunks are scanned exactly (mergeWithTail) with the
 * rows the filter does not match excluded beside their superseded ones.
 */
import type { ColdIndexFile } from "./cold-array-reader.ts";
import { type ColdFilterContext, coldFilterMatches } from "./cold-filter.ts";
import { coldTailChunks } from "./cold-tail.ts";
import { SELECTIVE_FRACTION } from "./query/filter-plan.ts";
import type { QueryIndex } from "./query/query-index.ts";
import type { Filter } from "./query/query-request.ts";

export interface ColdAnnFilter {
  /** Per segment: 1 = the slot matches. */
  readonly matches: readonly Uint8Array[];
  /** The tail's chunks with the positions the filter does not match excluded too. */
  readonly tail: readonly { readonly index: QueryIndex; readonly excluded: Uint32Array | undefined }[];
}

/** The filter's matches for a cold ANN scan; undefined when some segment's matches are selective or not served cold. */
export async function coldAnnFilter(
  context: ColdFilterContext,
  files: readonly ColdIndexFile[],
  tail: readonly { readonly index: QueryIndex; readonly excluded: Uint32Array | undefined }[],
  filter: Filter,
): Promise<ColdAnnFilter | undefined> {
  const chunks = coldTailChunks(tail);
  const found = await coldFilterMatches(context, files, chunks, filter);
  if (found?.matches === undefined || found.tailMatches === undefined) return undefined;
  const segmentMatches = found.matches;
  if (files.some((file, s) => (segmentMatches[s] as Uint32Array).length <= file.meta.size * SELECTIVE_FRACTION)) return undefined;
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
  return { matches, tail: excluded };
}
