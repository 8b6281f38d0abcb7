/**
 * coldFuzzyTerms: the vocabulary entries of a stored (format 3) text field
 * within each Fuzzy token's edit distance (query/fuzzy-filter.ts), read by
 * ranges (ColdArrayReader) in blocks of TERM_BLOCK terms, exactly the terms
 * the loaded plan (filter-plan.ts fuzzyNode) takes:
 * - case-sensitive: each token's trie walk (FuzzyTermWalk) over the blocks,
 *   in order; a jump inside the block (or the next one, read ahead while
 *   the block is walked) is a search in memory, a jump past them a search
 *   of the vocabulary by rounds of parallel probes (`lowerBoundString`), so
 *   the blocks a pruned prefix spans are never read;
 * - case-insensitive (lower-casing breaks the vocabulary's order): every
 *   block, a few in flight, each term decided for every token by the banded
 *   program, the blocks not kept in the reader's cache.
 * The work is bounded by the vocabulary (never the postings or the rest of
 * the index); the blocks read by one filter are shared by its tokens.
 */
import type { ColdArrayReader, ColdIndexFile, StringRef } from "./cold-array-reader.ts";
import { type FuzzyToken, FuzzyTermWalk, fuzzyHolds, scratchCodePoints } from "./query/fuzzy-filter.ts";

/** Vocabulary entries per block read. */
export const TERM_BLOCK = 2048;
/** Blocks in flight while a case-insensitive filter scans the vocabulary. */
const SCAN_AHEAD = 4;

/** Per token, the ids of the vocabulary's terms within its distance, ascending. */
export async function coldFuzzyTerms(
  reader: ColdArrayReader,
  file: ColdIndexFile,
  terms: StringRef,
  tokens: readonly FuzzyToken[],
  caseSensitive: boolean,
): Promise<number[][]> {
  const count = reader.stringCount(file, terms);
  const blocks = Math.ceil(count / TERM_BLOCK);
  if (!caseSensitive) {
    const out: number[][] = tokens.map(() => []);
    const read = (b: number) => {
      const block = reader.strings(file, terms, b * TERM_BLOCK, Math.min(count, (b + 1) * TERM_BLOCK), false);
      block.catch(() => undefined); // awaited in order; a later block's failure must not go unhandled meanwhile
      return block;
    };
    const ahead: Promise<string[]>[] = [];
    for (let b = 0; b < Math.min(blocks, SCAN_AHEAD); b++) ahead.push(read(b));
    for (let b = 0; b < blocks; b++) {
      const block = await (ahead.shift() as Promise<string[]>);
      if (b + SCAN_AHEAD < blocks) ahead.push(read(b + SCAN_AHEAD));
      for (let i = 0; i < block.length; i++) {
        const folded = scratchCodePoints((block[i] as string).toLowerCase());
        tokens.forEach((token, k) => {
          if (fuzzyHolds(token, folded)) out[k]!.push(b * TERM_BLOCK + i);
        });
      }
    }
    return out;
  }
  const held = new Map<number, Promise<string[]>>();
  const blockOf = (b: number): Promise<string[]> => {
    let block = held.get(b);
    if (block === undefined) {
      held.set(b, (block = reader.strings(file, terms, b * TERM_BLOCK, Math.min(count, (b + 1) * TERM_BLOCK))));
      block.catch(() => undefined);
    }
    return block;
  };
  return Promise.all(
    tokens.map(async (token) => {
      const walk = new FuzzyTermWalk(token);
      const out: number[] = [];
      let t = 0;
      while (t < count) {
        const b = Math.floor(t / TERM_BLOCK);
        const base = b * TERM_BLOCK;
        if (b + 1 < blocks) blockOf(b + 1); // read ahead
        const block = await blockOf(b);
        let past: string | undefined;
        while (t < base + block.length) {
          const step = walk.visit(block[t - base] as string);
          if (typeof step !== "string") {
            if (step) out.push(t);
            t++;
          } else if (step <= (block[block.length - 1] as string)) t = Math.max(t + 1, base + lowerBoundIn(block, step));
          else {
            past = step;
            break;
          }
        }
        if (past === undefined) continue;
        // Every term of this block is below the jump's target: it is in the next block, or found by a search.
        const nextBase = base + block.length;
        if (nextBase >= count) break;
        const next = await blockOf(b + 1);
        t = past <= (next[next.length - 1] as string) ? nextBase + lowerBoundIn(next, past) : Math.max(t + 1, await reader.lowerBoundString(file, terms, past));
      }
      return out;
    }),
  );
}

/** The first entry of the sorted `block` not below `s` (its length when none). */
function lowerBoundIn(block: readonly string[], s: string): number {
  let lo = 0;
  let hi = block.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((block[mid] as string) < s) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
