/**
 * scanStrings: entries [from, to) of a stored string table (ColdArrayReader)
 * handed in order to `visit`, read in blocks of SCAN_BLOCK entries, a few in
 * flight, not kept in the reader's block cache: a scan's memory is the blocks
 * in flight whatever the table's size, and it does not evict what other
 * queries read. Used where the loaded path tests every entry of a dictionary
 * (patterns, element comparisons over numbers, case-insensitive Fuzzy terms).
 * Offsets out of order are CorruptStoredIndexError (the reader's `strings`).
 */
import type { ColdArrayReader, ColdIndexFile, StringRef } from "./cold-array-reader.ts";

/** Entries per block read. */
export const SCAN_BLOCK = 4096;
/** Blocks in flight. */
const SCAN_AHEAD = 4;

export async function scanStrings(
  reader: ColdArrayReader,
  file: ColdIndexFile,
  table: StringRef,
  from: number,
  to: number,
  visit: (i: number, value: string) => void,
): Promise<void> {
  const read = (start: number): Promise<string[]> => {
    const block = reader.strings(file, table, start, Math.min(to, start + SCAN_BLOCK), false);
    block.catch(() => undefined); // awaited in order; a later block's failure must not go unhandled meanwhile
    return block;
  };
  const ahead: Promise<string[]>[] = [];
  let next = from;
  for (; next < to && ahead.length < SCAN_AHEAD; next += SCAN_BLOCK) ahead.push(read(next));
  for (let start = from; start < to; start += SCAN_BLOCK) {
    const block = await (ahead.shift() as Promise<string[]>);
    if (next < to) {
      ahead.push(read(next));
      next += SCAN_BLOCK;
    }
    for (let i = 0; i < block.length; i++) visit(start + i, block[i] as string);
  }
}
