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
 *   changes (a whole run of equal values); in a format-8 column the run is
 *   one of equal doubles (the order sorts it exactly) and the candidates'
 *   exact values are read by range (cold-exact-numbers.ts);
 * - strings (group 1 ascending, 0 descending): the dictionary codes from
 *   that end in growing batches (their values and postings), whole codes
 *   taken until k rows are;
 * - rows holding neither (group 2, after the others while fewer than k;
 *   -1 with `missing: "first"`, before them): by id, the first of
 *   the live matching rows the tags column says hold neither (coldListing:
 *   `idOrder`, read on while ids whose byte order is not their UTF-16
 *   order could change the pick).
 * The tail's chunks walk their columns in memory the same way. `id` as the field: the listing
 * (coldListing, descending from the end of `idOrder`).
 *
 * Further keys (`then`, a multi-key order): the walks stop after a whole
 * run of equal first-key values, so every row tied on the first key is a
 * candidate; each candidate's further keys (order-keys.ts: tags, then the
 * number or the string code and its dictionary entry, gathered by range;
 * `id` its id) order the candidates after the first key, before the id.
 * Rows without a first-key value are then all taken (not only the first by
 * id): their further keys are read, the rows sorted by them, and ids read
 * only for the rows up to the k-th and those tied with it.
 */
import type { ColdIndexFile } from "./cold-array-reader.ts";
import type { ColdHit } from "./cold-bm25.ts";
import type { DeadSlots } from "./cold-dead-slots.ts";
import { coldExactNumbers, type ExactLookup } from "./cold-exact-numbers.ts";
import { coldListing, type ColdListingInput } from "./cold-listing.ts";
import { type ColdTailChunk, coldTailMatches } from "./cold-tail.ts";
import { CorruptStoredIndexError } from "../errors.ts";
import { compareStrings, TAG_NUMBER, TAG_STRING } from "../attribute-columns.ts";
import { exactNumberAt, sameNumber } from "../exact-number.ts";
import { compareKeys, missingGroup, type OrderKey, orderKeyOf } from "../order-keys.ts";
import type { AttributeOrderKey } from "../query-request.ts";
import { TopK } from "../top-k.ts";

/** The further keys of a multi-key order, in key order. */
export type ThenKeys = readonly AttributeOrderKey[];

export interface ColdAttributeOrderInput extends Omit<ColdListingInput, "matches"> {
  /** Per segment: the matching slots, ascending; undefined without a filter (every slot, and every live tail slot). */
  readonly matches: readonly Uint32Array[] | undefined;
  readonly field: string;
  readonly desc: boolean;
  /** Where rows without a value for `field` go (undefined: last). */
  readonly missing?: "first" | "last";
  /** The further keys (a multi-key order); none when undefined. */
  readonly further?: ThenKeys;
}

/** A candidate: its partition (a segment s, tail chunk c as -1 - c), slot, key and id. */
interface Ordered {
  readonly segment: number;
  readonly slot: number;
  readonly group: number;
  /** A number candidate's double until its exact value is read (format 8). */
  value: number | bigint | string;
  id: string;
  /** The further keys' values, in key order (set once read). */
  rest: readonly OrderKey[];
}

/** Entries read by the first batch of a walk; each next batch is twice as large. */
const FIRST_BATCH = 64;

/** The first k live matching rows in the attribute's order. */
export async function coldAttributeOrder(input: ColdAttributeOrderInput): Promise<ColdHit[]> {
  const { field, desc, k } = input;
  if (input.matches === undefined) {
    const every = input.files.map((file) => Uint32Array.from({ length: file.meta.size }, (_, slot) => slot));
    return coldAttributeOrder({ ...input, matches: every, tailMatches: input.tail.map((chunk) => coldTailMatches(chunk, undefined)) });
  }
  if (field === "id") return coldListing({ ...input, matches: input.matches });
  if (k <= 0) return [];
  const then = input.further ?? [];
  const perSegment = await Promise.all(input.files.map((file, s) => segmentCandidates(input, file, s)));
  const all = perSegment.flat();
  input.tail.forEach((chunk, c) => {
    for (const hit of chunkCandidates(chunk, input.tailMatches[c] ?? [], orderKeyOfInput(input), k, then)) all.push({ ...hit, segment: -1 - c });
  });
  all.sort((a, b) => compareRanked(a, b, desc, then) || compareStrings(a.id, b.id));
  return all.slice(0, k).map((h) => ({ segment: h.segment, slot: h.slot, score: 0, id: h.id }));
}

function orderKeyOfInput(input: ColdAttributeOrderInput): AttributeOrderKey {
  const order = input.desc ? "desc" : "asc";
  return input.missing === undefined ? { field: input.field, order } : { field: input.field, order, missing: input.missing };
}

/** A segment's candidates, read by range (ids from the rows' clusters). */
async function segmentCandidates(input: ColdAttributeOrderInput, file: ColdIndexFile, s: number): Promise<Ordered[]> {
  const { reader, field, desc, k } = input;
  const then = input.further ?? [];
  const n = file.meta.size;
  const deadMask = (input.dead[s] as DeadSlots).mask;
  const matchMask = new Uint8Array(n);
  for (const slot of (input.matches as readonly Uint32Array[])[s] as Uint32Array) matchMask[slot] = 1;
  const ok = (slot: number) => (deadMask === null || deadMask[slot] === 0) && matchMask[slot] === 1;
  const out: Ordered[] = [];
  const column = file.meta.attributes.find((a) => a.name === field);
  const check = (slot: number) => {
    if (slot >= n) throw new CorruptStoredIndexError(`query index ${file.key}: an attribute order holds slot ${slot}, out of range`, file.key);
    return slot;
  };
  const walkNumbers = async (group: number): Promise<boolean> => {
    if (column === undefined || column.numberOrder === null || column.numbers === null) return false;
    const orderRef = column.numberOrder;
    const numbersRef = column.numbers;
    const count = reader.length(file, orderRef, "u32");
    let lastValue: number | bigint = Number.NaN;
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
        out.push({ segment: s, slot, group, value: v, id: "", rest: [] });
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
      if (last < first) throw new CorruptStoredIndexError(`query index ${file.key}: postings offsets are not monotone`, file.key);
      const postings = await reader.array(file, postingsRef, "u32", first, last);
      for (let j = 0; j < to - from; j++) {
        if (out.length >= k) return true;
        const code = desc ? to - from - 1 - j : j;
        const a = (offsets[code] as number) - first;
        const b = (offsets[code + 1] as number) - first;
        if (b < a || b > postings.length) throw new CorruptStoredIndexError(`query index ${file.key}: postings offsets are not monotone`, file.key);
        for (let e = a; e < b; e++) {
          const slot = check(postings[e] as number);
          if (ok(slot)) out.push({ segment: s, slot, group, value: values[code] as string, id: "", rest: [] });
        }
      }
      i = end;
    }
    return false;
  };
  // Rows holding neither a number nor a string (one tied run of the first key), after the typed rows or before them.
  const missing = missingGroup(orderKeyOfInput(input));
  const walkMissing = async (): Promise<boolean> => {
    if (out.length >= k) return true;
    const tags = column === undefined ? null : await reader.array(file, column.tags, "u8", 0, n);
    const untyped: number[] = [];
    for (let slot = 0; slot < n; slot++) {
      const tag = tags === null ? undefined : tags[slot];
      if (tag !== TAG_NUMBER && tag !== TAG_STRING && matchMask[slot] === 1) untyped.push(slot);
    }
    if (then.length === 0) {
      // By id (the listing of those among the live matching rows).
      const listed = await coldListing({ ...input, desc: false, files: [file], dead: [input.dead[s] as DeadSlots], matches: [Uint32Array.from(untyped)], tail: [], tailMatches: [], k: k - out.length });
      for (const hit of listed) out.push({ segment: s, slot: hit.slot, group: missing, value: "", id: hit.id, rest: [] });
    } else {
      // By the further keys, then by id: ids only for the rows up to the cut and those tied with the row at it.
      const live = untyped.filter((slot) => deadMask === null || deadMask[slot] === 0);
      const rests = await restKeys(input, file, live, then);
      const rows: Ordered[] = live.map((slot) => ({ segment: s, slot, group: missing, value: "", id: "", rest: rests.get(slot) as OrderKey[] }));
      rows.sort((a, b) => compareRanked(a, b, desc, then));
      let cut = Math.min(rows.length, k - out.length);
      while (cut > 0 && cut < rows.length && compareRanked(rows[cut - 1] as Ordered, rows[cut] as Ordered, desc, then) === 0) cut++;
      const kept = rows.slice(0, cut);
      const ids = await input.rows.ids(file, kept.map((h) => h.slot));
      for (const h of kept) h.id = ids.get(h.slot) as string;
      kept.sort((a, b) => compareRanked(a, b, desc, then) || compareStrings(a.id, b.id));
      for (const h of kept.slice(0, k - out.length)) out.push(h);
    }
    return out.length >= k;
  };
  const typed = async () => (desc ? (await walkStrings(0)) || (await walkNumbers(1)) : (await walkNumbers(0)) || (await walkStrings(1)));
  if (input.missing === "first") {
    if (!(await walkMissing())) await typed();
  } else if (!(await typed())) await walkMissing();
  // Format 8: the number candidates' exact values (the walk stopped after a run of equal doubles, a superset of the
  // run of equal exact values the loaded walk takes; the order sorts the run exactly, so it holds the same rows).
  if (column?.exactSlots !== undefined) {
    const numbered = out.filter((h) => typeof h.value === "number" && h.group !== missing);
    const exact = await coldExactNumbers(reader, file, column, numbered.map((h) => h.slot));
    for (const h of numbered) h.value = exact.at(h.slot, h.value as number);
  }
  const need = out.filter((h) => h.group !== missing).map((h) => h.slot);
  const ids = await input.rows.ids(file, need);
  for (const h of out) if (h.group !== missing) h.id = ids.get(h.slot) as string;
  if (then.length > 0) {
    const typed = out.filter((h) => h.group !== missing);
    const rests = await restKeys(input, file, typed.map((h) => h.slot), then, ids);
    for (const h of typed) h.rest = rests.get(h.slot) as OrderKey[];
  }
  return out;
}

/** The first key, then the further keys (not the id). */
function compareRanked(a: Ordered, b: Ordered, desc: boolean, then: ThenKeys): number {
  const c = compareKeys(a, b, desc);
  if (c !== 0) return c;
  for (let i = 0; i < then.length; i++) {
    const d = compareKeys(a.rest[i] as OrderKey, b.rest[i] as OrderKey, (then[i] as ThenKeys[number]).order === "desc");
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The further keys of a segment's `slots` (as orderKeyOf gives them
 * loaded): per key its tags, then the numbers, or the string codes and the
 * dictionary entries between the least and the greatest code met, gathered
 * by range; an `id` key takes the ids (`ids`, else read from the clusters).
 */
async function restKeys(input: ColdAttributeOrderInput, file: ColdIndexFile, slots: readonly number[], then: ThenKeys, known?: Map<number, string>): Promise<Map<number, OrderKey[]>> {
  const { reader } = input;
  const out = new Map<number, OrderKey[]>(slots.map((slot) => [slot, []]));
  const keys = await Promise.all(
    then.map(async (key): Promise<Map<number, OrderKey>> => {
      const desc = key.order === "desc";
      const keyed = new Map<number, OrderKey>();
      if (key.field === "id") {
        const missing = slots.filter((slot) => known?.get(slot) === undefined);
        const ids = missing.length === 0 ? new Map<number, string>() : await input.rows.ids(file, missing);
        for (const slot of slots) keyed.set(slot, { group: 0, value: (known?.get(slot) ?? ids.get(slot)) as string });
        return keyed;
      }
      const column = file.meta.attributes.find((a) => a.name === key.field);
      if (column === undefined || slots.length === 0) {
        for (const slot of slots) keyed.set(slot, { group: missingGroup(key), value: "" });
        return keyed;
      }
      const corrupt = (what: string) => new CorruptStoredIndexError(`query index ${file.key}: attribute ${JSON.stringify(key.field)} ${what}`, file.key);
      const tags = await reader.gather(file, column.tags, "u8", slots);
      const numberSlots = slots.filter((slot) => tags.get(slot) === TAG_NUMBER);
      const stringSlots = slots.filter((slot) => tags.get(slot) === TAG_STRING);
      if (numberSlots.length > 0 && column.numbers === null) throw corrupt("holds numbers without a number column");
      if (stringSlots.length > 0 && (column.codes === null || column.strings === null)) throw corrupt("holds strings without string codes or dictionary");
      const [numbers, codes] = await Promise.all([
        numberSlots.length === 0 || column.numbers === null ? new Map<number, number>() : reader.gather(file, column.numbers, "f64", numberSlots),
        stringSlots.length === 0 || column.codes === null ? new Map<number, number>() : reader.gather(file, column.codes, "i32", stringSlots),
      ]);
      let lo = Number.POSITIVE_INFINITY;
      let hi = -1;
      const count = column.strings === null ? 0 : reader.stringCount(file, column.strings);
      for (const slot of stringSlots) {
        const code = codes.get(slot) as number;
        if (!(code >= 0 && code < count)) throw corrupt(`has string code ${code} at slot ${slot}, outside its dictionary`);
        if (code < lo) lo = code;
        if (code > hi) hi = code;
      }
      const dict = hi < 0 || column.strings === null ? [] : await reader.strings(file, column.strings, lo, hi + 1);
      const exact = numberSlots.length === 0 ? undefined : await coldExactNumbers(reader, file, column, numberSlots);
      for (const slot of slots) {
        const tag = tags.get(slot);
        if (tag === TAG_NUMBER) keyed.set(slot, { group: desc ? 1 : 0, value: (exact as ExactLookup).at(slot, numbers.get(slot) as number) });
        else if (tag === TAG_STRING) keyed.set(slot, { group: desc ? 0 : 1, value: dict[(codes.get(slot) as number) - lo] as string });
        else keyed.set(slot, { group: missingGroup(key), value: "" });
      }
      return keyed;
    }),
  );
  for (const slot of slots) {
    const rest = out.get(slot) as OrderKey[];
    for (const keyed of keys) rest.push(keyed.get(slot) as OrderKey);
  }
  return out;
}

/** A tail chunk's candidates (its columns in memory), as the loaded walk takes them. */
function chunkCandidates(chunk: ColdTailChunk, live: readonly number[], key: AttributeOrderKey, k: number, then: ThenKeys): Ordered[] {
  const { field } = key;
  const desc = key.order === "desc";
  const { index } = chunk;
  const keep = new Uint8Array(index.size);
  for (const slot of live) keep[slot] = 1;
  const ok = (slot: number) => keep[slot] === 1;
  const out: Ordered[] = [];
  const thenColumns = then.map((key) => index.attributeColumns.get(key.field));
  const restOf = (slot: number): OrderKey[] => then.map((further, i) => orderKeyOf(index, further, thenColumns[i], slot));
  const push = (slot: number, group: number, value: number | bigint | string) => out.push({ segment: 0, slot, group, value, id: index.ids.get(slot), rest: restOf(slot) });
  const column = index.attributeColumns.get(field);
  const walkNumbers = (group: number): boolean => {
    if (column?.numberOrder == null) return false;
    const order = column.numberOrder;
    const nums = column.numbers as Float64Array;
    let lastValue: number | bigint = Number.NaN;
    for (let i = 0; i < order.length; i++) {
      const slot = order[desc ? order.length - 1 - i : i] as number;
      const v = column.exactSlots === undefined ? (nums[slot] as number) : exactNumberAt(column, slot);
      if (out.length >= k && !sameNumber(v, lastValue)) return true;
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
  const missing = missingGroup(key);
  const walkMissing = (): boolean => {
    if (out.length >= k) return true;
    if (then.length === 0) {
      const top = new TopK(k - out.length, (a, b) => compareStrings(index.ids.get(a), index.ids.get(b)));
      for (const slot of live) {
        const tag = column?.tags[slot];
        if (tag !== TAG_NUMBER && tag !== TAG_STRING) top.push(0, slot);
      }
      for (const slot of top.drain().slots) push(slot, missing, "");
    } else {
      // Rows without a first-key value, ordered by the further keys, then the id.
      const untyped: Ordered[] = [];
      for (const slot of live) {
        const tag = column?.tags[slot];
        if (tag !== TAG_NUMBER && tag !== TAG_STRING) untyped.push({ segment: 0, slot, group: missing, value: "", id: index.ids.get(slot), rest: restOf(slot) });
      }
      untyped.sort((a, b) => compareRanked(a, b, desc, then) || compareStrings(a.id, b.id));
      for (const h of untyped.slice(0, k - out.length)) out.push(h);
    }
    return out.length >= k;
  };
  const typed = () => (desc ? walkStrings(0) || walkNumbers(1) : walkNumbers(0) || walkStrings(1));
  if (key.missing === "first") {
    if (!walkMissing()) typed();
  } else if (!typed()) walkMissing();
  return out;
}
