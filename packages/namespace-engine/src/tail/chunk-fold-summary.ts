/**
 * ChunkFoldSummary: what the query tail's fold (query-tail.ts) takes from
 * the log batches of a closed tail chunk (tail-chunks.ts) besides the
 * documents its index holds, stored in a persisted chunk's `tail.json`
 * (version 2, tail-chunk-index-store.ts; docs/formats.md, "Persisted tail
 * chunk index"), so a fresh process whose tail is covered by stored chunks
 * folds only the batches no stored chunk covers:
 *
 * - `touched`: per container of the chunk, how many entries it applied to
 *   the fold (`TailFold.touchedCount`: UPSERTs, DELETEs, tombstoned
 *   positions and PATCHes of ids not deleted before): where chunks are cut;
 * - `deleted`: the ids the chunk's containers touched whose state at the
 *   chunk's end is deleted (they hide the indexed segments' rows of those
 *   ids), when no later container touched them when the chunk was indexed;
 * - `superseded`: the ids the chunk's containers touched that a later
 *   container touched too when the chunk was indexed (their rows are not in
 *   the index; a fold that lacks those later containers cannot use it).
 *
 * Every other id the chunk's containers touched is a row of its index, live
 * at the chunk's end. `parseChunkFoldSummary` checks the shape and that no
 * id is in two of the three sets (the index's ids included); counts that
 * cannot hold the ids are rejected too. Anything else is CorruptError's
 * business of the caller (it names the object).
 */

export interface ChunkFoldSummary {
  readonly touched: readonly number[];
  readonly deleted: readonly string[];
  readonly superseded: readonly string[];
}

/** The summary's JSON fields, to merge into a `tail.json` header. */
export function chunkFoldSummaryJson(summary: ChunkFoldSummary): { touched: number[]; deleted: string[]; superseded: string[] } {
  return { touched: [...summary.touched], deleted: [...summary.deleted], superseded: [...summary.superseded] };
}

/**
 * The summary in a version 2 `tail.json` header of a chunk of `containers` containers whose index holds `rows`
 * ids, or why it is not sound.
 */
export function parseChunkFoldSummary(
  header: Record<string, unknown>,
  containers: number,
  rows: { readonly size: number; slotOfId(id: string): number },
): ChunkFoldSummary | string {
  const { touched, deleted, superseded } = header;
  if (!Array.isArray(touched) || touched.length !== containers || touched.some((n) => !Number.isSafeInteger(n) || (n as number) < 0)) {
    return `has ${containers} containers but no count of the entries each applied`;
  }
  if (!isStringArray(deleted) || !isStringArray(superseded)) return "has deleted or superseded ids that are not strings";
  // The rows are distinct (the caller checked the index's ids): look the few others up among them.
  const others = new Set<string>();
  for (const id of [...deleted, ...superseded]) {
    if (others.has(id)) return `names id ${JSON.stringify(id)} twice among its deleted and superseded ids`;
    if (rows.slotOfId(id) >= 0) return `names id ${JSON.stringify(id)} both as a row and as deleted or superseded`;
    others.add(id);
  }
  const total = (touched as number[]).reduce((n, c) => n + c, 0);
  if (total < rows.size + others.size) return `counts ${total} entries for ${rows.size + others.size} ids`;
  return { touched: touched as number[], deleted, superseded };
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === "string");
}
