/**
 * coldFuzzyTerms: the vocabulary entries of a stored (format 3) text field
 * within each Fuzzy token's edit distance (../fuzzy-filter.ts), read by
 * ranges (ColdArrayReader) in blocks of TERM_BLOCK terms, exactly the terms
 * the loaded plan (filter-plan.ts fuzzyNode) takes:
 * - case-sensitive: each token's trie walk (FuzzyTermWalk) over the blocks,
 *   in order; a jump inside the block (or the next one, read ahead while
 *   the block is walked) is a search in memory, a jump past them a search
 *   of the vocabulary by rounds of parallel probes (`lowerBoundString`), so
 *   the blocks a pruned prefix spans are never read;
 * - case-insensitive (lower-casing breaks the vocabulary's order): every
 *   block (cold-string-scan.ts), each term decided for every token by the
 *   banded program.
 * The work is bounded by the vocabulary (never the postings or the rest of
 * the index); the blocks read by one filter are shared by its tokens.
 */
import type { ColdArrayReader, ColdIndexFile, StringRef } from "./cold-array-reader.ts";
import { scanStrings } from "./cold-string-scan.ts";
import { type FuzzyToken, FuzzyTermWalk, fuzzyHolds, scratchCodePoints } from "../fuzzy-filter.ts";

/** Vocabulary entries per block read. */
export const TERM_BLOCK = 2048;

/** Per token, the ids of the vocabulary's terms within its distance, ascending (`block`: terms per block read, TERM_BLOCK). */
export async function coldFuzzyTerms(
  reader: ColdArrayReader,
  file: ColdIndexFile,
  terms: StringRef,
  tokens: readonly FuzzyToken[],
  caseSensitive: boolean,
  block = TERM_BLOCK,
): Promise<number[][]> {
  const count = reader.stringCount(file, terms);
  const blocks = Math.ceil(count / block);
  if (!caseSensitive) {
    const out: number[][] = tokens.map(() => []);
    await scanStrings(reader, file, terms, 0, count, (t, term) => {
      const folded = scratchCodePoints(term.toLowerCase());
      tokens.forEach((token, k) => {
        if (fuzzyHolds(token, folded)) out[k]!.push(t);
      });
    });
    return out;
  }
  const held = new Map<number, Promise<string[]>>();
  const blockOf = (b: number): Promise<string[]> => {
    let read = held.get(b);
    if (read === undefined) {
      held.set(b, (read = reader.strings(file, terms, b * block, Math.min(count, (b + 1) * block))));
      read.catch(() => undefined);
    }
    return read;
  };
  return Promise.all(
    tokens.map(async (token) => {
      const walk = new FuzzyTermWalk(token);
      const out: number[] = [];
      let t = 0;
      while (t < count) {
        const b = Math.floor(t / block);
        const base = b * block;
        if (b + 1 < blocks) blockOf(b + 1); // read ahead
        const entries = await blockOf(b);
        let past: string | undefined;
        while (t < base + entries.length) {
          const step = walk.visit(entries[t - base] as string);
          if (typeof step !== "string") {
            if (step) out.push(t);
            t++;
          } else if (step <= (entries[entries.length - 1] as string)) t = Math.max(t + 1, base + lowerBoundIn(entries, step));
          else {
            past = step;
            break;
          }
        }
        if (past === undefined) continue;
        // Every term of this block is below the jump's target: it is in the next block, or found by a search.
        const nextBase = base + entries.length;
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
