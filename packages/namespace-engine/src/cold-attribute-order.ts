/**
 * coldAttributeOrder: a ranking by one attribute (`rankBy: [field, "asc" |
 * "desc"]`, optionally filtered) over indexed segments that are not loaded.
 * Each partition walks its rows as the loaded path does
 * (execute-query.ts attributeCandidates), so it proposes the same
 * candidates, and the candidates of all partitions are ordered the same way
 * (group, value, then id):
 * - numbers (group 0 ascending, 1 descending): `numberOrder` read from the
 *   end the order starts at, in growing batches, each batch's numbers
 *   gathered, the live matching rows taken until k are and the value
 *   changes (a whole run of equal values);
 * - strings (group 1 ascending, 0 descending): the dictionary codes from
 *   that end in growing batches (their values and postings), whole codes
 *   taken until k rows are;
 * - rows holding neither (group 2) while fewer than k: by id, the first of
 *   the live matching rows the tags column says hold neither (coldListing:
 *   `idOrder`, which may refuse for ids whose byte order is not their
 *   UTF-16 order).
 * The tail's chunks walk their columns in memory the same way. Undefined
 * when not served (the caller loads). `id` as the field: ascending only
 * (the listing), descending is loaded.
 */
import type { ColdIndexFile } from "./cold-array-reader.ts";
import type { ColdHit } from "./cold-bm25.ts";
import type { DeadSlots } from "./cold-dead-slots.ts";
import { coldListing, type ColdListingInput } from "./cold-listing.ts";
import { type ColdTailChunk, coldTailMatches } from "./cold-tail.ts";
import { CorruptError } from "./errors.ts";
import { compareStrings, TAG_NUMBER, TAG_STRING } from "./query/attribute-columns.ts";
import { TopK } from "./query/top-k.ts";

export interface ColdAttributeOrderInput extends Omit<ColdListingInput, "matches"> {
  /** Per segment: the matching slots, ascending; undefined without a filter (every slot, and every live tail slot). */
  readonly matches: readonly Uint32Array[] | undefined;
  readonly field: string;
  readonly desc: boolean;
}

/** A candidate: its partition (a segment s, tail chunk c as -1 - c), slot, key and id. */
interface Ordered {
  readonly segment: number;
  readonly slot: number;
  readonly group: number;
  readonly value: number | string;
  id: string;
}

/** Entries read by the first batch of a walk; each next batch is twice as large. */
const FIRST_BATCH = 64;

/** The first k live matching rows in the attribute's order; undefined when not served cold. */
export async function coldAttributeOrder(input: ColdAttributeOrderInput): Promise<ColdHit[] | undefined> {
  const { field, desc, k } = input;
  if (input.matches === undefined) {
    const every = input.files.map((file) => Uint32Array.from({ length: file.meta.size }, (_, slot) => slot));
    return coldAttributeOrder({ ...input, matches: every, tailMatches: input.tail.map((chunk) => coldTailMatches(chunk, undefined)) });
  }
  if (field === "id") return desc ? undefined : coldListing({ ...input, matches: input.matches });
  if (k <= 0) return [];
  const perSegment = await Promise.all(input.files.map((file, s) => segmentCandidates(input, file, s)));
  if (perSegment.some((c) => c === undefined)) return undefined;
  const all = (perSegment as Ordered[][]).flat();
  input.tail.forEach((chunk, c) => {
    for (const hit of chunkCandidates(chunk, input.tailMatches[c] ?? [], field, desc, k)) all.push({ ...hit, segment: -1 - c });
  });
  all.sort((a, b) => {
    if (a.group !== b.group) return a.group - b.group;
    if (a.value !== b.value) {
      const c = typeof a.value === "number" ? a.value - (b.value as number) : compareStrings(a.value, b.value as string);
      return desc ? -c : c;
    }
    return compareStrings(a.id, b.id);
  });
  return all.slice(0, k).map((h) => ({ segment: h.segment, slot: h.slot, score: 0, id: h.id }));
}

/** A segment's candidates, read by range (ids from the rows' clusters). */
async function segmentCandidates(input: ColdAttributeOrderInput, file: ColdIndexFile, s: number): Promise<Ordered[] | undefined> {
  const { reader, field, desc, k } = input;
  const n = file.meta.size;
  const deadMask = (input.dead[s] as DeadSlots).mask;
  const matchMask = new Uint8Array(n);
  for (const slot of (input.matches as readonly Uint32Array[])[s] as Uint32Array) matchMask[slot] = 1;
  const ok = (slot: number) => (deadMask === null || deadMask[slot] === 0) && matchMask[slot] === 1;
  const out: Ordered[] = [];
  const column = file.meta.attributes.find((a) => a.name === field);
  const check = (slot: number) => {
    if (slot >= n) throw new CorruptError(`query index ${file.key}: an attribute order holds slot ${slot}, out of range`, file.key);
    return slot;
  };
  const walkNumbers = async (group: number): Promise<boolean> => {
    if (column === undefined || column.numberOrder === null || column.numbers === null) return false;
    const orderRef = column.numberOrder;
    const numbersRef = column.numbers;
    const count = reader.length(file, orderRef, "u32");
    let lastValue = Number.NaN;
    for (let i = 0, batch = FIRST_BATCH; i < count; batch *= 2) {
      const end = Math.min(count, i + batch);
      const [from, to] = desc ? [count - end, count - i] : [i, end];
      const rows = await reader.array(file, orderRef, "u32", from, to);
      const slots = Array.from(rows, check);
      const numbers = await reader.gather(file, numbersRef, "f64", slots);
      for (let j = 0; j < slots.length; j++) {
        const slot = slots[desc ? slots.length - 1 - j : j] as number;
        const v = numbers.get(slot) as number;
        if (out.length >= k && v !== lastValue) return true;
        if (!ok(slot)) continue;
        out.push({ segment: s, slot, group, value: v, id: "" });
        lastValue = v;
      }
      i = end;
    }
    return false;
  };
  const walkStrings = async (group: number): Promise<boolean> => {
    if (column === undefined || column.strings === null || column.stringPostingOffsets === null || column.stringPostings === null) return false;
    const table = column.strings;
    const offsetsRef = column.stringPostingOffsets;
    const postingsRef = column.stringPostings;
    const count = reader.stringCount(file, table);
    for (let i = 0, batch = FIRST_BATCH; i < count; batch *= 2) {
      const end = Math.min(count, i + batch);
      const [from, to] = desc ? [count - end, count - i] : [i, end];
      const [values, offsets] = await Promise.all([reader.strings(file, table, from, to), reader.array(file, offsetsRef, "u32", from, to + 1)]);
      const first = offsets[0] as number;
      const last = offsets[offsets.length - 1] as number;
      if (last < first) throw new CorruptError(`query index ${file.key}: postings offsets are not monotone`, file.key);
      const postings = await reader.array(file, postingsRef, "u32", first, last);
      for (let j = 0; j < to - from; j++) {
        if (out.length >= k) return true;
        const code = desc ? to - from - 1 - j : j;
        const a = (offsets[code] as number) - first;
        const b = (offsets[code + 1] as number) - first;
        if (b < a || b > postings.length) throw new CorruptError(`query index ${file.key}: postings offsets are not monotone`, file.key);
        for (let e = a; e < b; e++) {
          const slot = check(postings[e] as number);
          if (ok(slot)) out.push({ segment: s, slot, group, value: values[code] as string, id: "" });
        }
      }
      i = end;
    }
    return false;
  };
  const done = desc ? (await walkStrings(0)) || (await walkNumbers(1)) : (await walkNumbers(0)) || (await walkStrings(1));
  if (!done && out.length < k) {
    // Rows holding neither a number nor a string, by id (the listing of those among the live matching rows).
    const tags = column === undefined ? null : await reader.array(file, column.tags, "u8", 0, n);
    const untyped: number[] = [];
    for (let slot = 0; slot < n; slot++) {
      const tag = tags === null ? undefined : tags[slot];
      if (tag !== TAG_NUMBER && tag !== TAG_STRING && matchMask[slot] === 1) untyped.push(slot);
    }
    const listed = await coldListing({ ...input, files: [file], dead: [input.dead[s] as DeadSlots], matches: [Uint32Array.from(untyped)], tail: [], tailMatches: [], k: k - out.length });
    if (listed === undefined) return undefined;
    for (const hit of listed) out.push({ segment: s, slot: hit.slot, group: 2, value: "", id: hit.id });
  }
  const need = out.filter((h) => h.group !== 2).map((h) => h.slot);
  const ids = await input.rows.ids(file, need);
  for (const h of out) if (h.group !== 2) h.id = ids.get(h.slot) as string;
  return out;
}

/** A tail chunk's candidates (its columns in memory), as the loaded walk takes them. */
function chunkCandidates(chunk: ColdTailChunk, live: readonly number[], field: string, desc: boolean, k: number): Ordered[] {
  const { index } = chunk;
  const keep = new Uint8Array(index.size);
  for (const slot of live) keep[slot] = 1;
  const ok = (slot: number) => keep[slot] === 1;
  const out: Ordered[] = [];
  const push = (slot: number, group: number, value: number | string) => out.push({ segment: 0, slot, group, value, id: index.ids.get(slot) });
  const column = index.attributeColumns.get(field);
  const walkNumbers = (group: number): boolean => {
    if (column?.numberOrder == null) return false;
    const order = column.numberOrder;
    const nums = column.numbers as Float64Array;
    let lastValue = Number.NaN;
    for (let i = 0; i < order.length; i++) {
      const slot = order[desc ? order.length - 1 - i : i] as number;
      const v = nums[slot] as number;
      if (out.length >= k && v !== lastValue) return true;
      if (!ok(slot)) continue;
      push(slot, group, v);
      lastValue = v;
    }
    return false;
  };
  const walkStrings = (group: number): boolean => {
    if (column?.strings == null) return false;
    const offsets = column.stringPostingOffsets as Uint32Array;
    const postings = column.stringPostings as Uint32Array;
    const dict = column.strings;
    for (let i = 0; i < dict.length; i++) {
      if (out.length >= k) return true;
      const code = desc ? dict.length - 1 - i : i;
      const value = dict.get(code);
      for (let e = offsets[code] as number; e < (offsets[code + 1] as number); e++) {
        const slot = postings[e] as number;
        if (ok(slot)) push(slot, group, value);
      }
    }
    return false;
  };
  const done = desc ? walkStrings(0) || walkNumbers(1) : walkNumbers(0) || walkStrings(1);
  if (!done && out.length < k) {
    const top = new TopK(k - out.length, (a, b) => compareStrings(index.ids.get(a), index.ids.get(b)));
    for (const slot of live) {
      const tag = column?.tags[slot];
      if (tag !== TAG_NUMBER && tag !== TAG_STRING) top.push(0, slot);
    }
    for (const slot of top.drain().slots) push(slot, 2, "");
  }
  return out;
}
