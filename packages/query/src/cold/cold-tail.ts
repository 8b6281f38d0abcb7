/**
 * ColdTailChunk: a log-tail chunk (tail-chunks.ts) as the cold query paths
 * take it: its index in memory, the slots later containers superseded (the
 * loaded path's exclusion of the chunk's positions, execute-query.ts), and
 * the live slots a filter matches. Chunks are disjoint once their dead
 * slots are left out, and nothing older shadows them, so each is one more
 * partition beside the cold segments.
 */
import { evaluateFilter } from "../filter-plan.ts";
import type { QueryIndex } from "../query-index.ts";
import type { Filter } from "../query-request.ts";

export interface ColdTailChunk {
  readonly index: QueryIndex;
  /** 1 = superseded; null when no slot is. */
  readonly dead: Uint8Array | null;
  /** The superseded slots, ascending. */
  readonly deadSlots: Uint32Array;
}

/** The tail's chunks (oldest first) with their superseded positions mapped to slots. */
export function coldTailChunks(chunks: readonly { readonly index: QueryIndex; readonly excluded: Uint32Array | undefined }[]): ColdTailChunk[] {
  return chunks.map(({ index, excluded }) => {
    let dead: Uint8Array | null = null;
    const slots: number[] = [];
    if (excluded !== undefined) {
      for (const position of excluded) {
        const slot = index.slotOf(position);
        if (slot < 0) continue;
        dead ??= new Uint8Array(index.size);
        if (dead[slot] === 0) {
          dead[slot] = 1;
          slots.push(slot);
        }
      }
    }
    return { index, dead, deadSlots: Uint32Array.from(slots).sort() };
  });
}

/** The live slots of `chunk` matching `filter` (every live slot without one), ascending. */
export function coldTailMatches(chunk: ColdTailChunk, filter: Filter | undefined): number[] {
  const { index, dead } = chunk;
  const m = evaluateFilter(index, filter);
  const out: number[] = [];
  const keep = (slot: number) => {
    if (dead === null || dead[slot] === 0) out.push(slot);
  };
  if (m.kind === "all") for (let slot = 0; slot < index.size; slot++) keep(slot);
  else if (m.kind === "list") for (const slot of m.slots) keep(slot);
  else if (m.kind === "mask") for (let slot = 0; slot < m.mask.length; slot++) if (m.mask[slot] === 1) keep(slot);
  return out;
}
