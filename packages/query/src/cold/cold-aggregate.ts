/**
 * coldAggregate: a query's aggregations (`Count`, `Count` of a field, `Sum`
 * of a field, optionally per group) over stored (format 3) segment indexes
 * that are not loaded, from ranged reads of the attribute columns the query
 * names (ColdArrayReader), plus the tail's chunks in memory. The sums and
 * groups are computed by the loaded path's own `aggregate`
 * (../aggregate.ts: exact sums, the same group order), over partitions
 * whose columns hold the values of exactly the live matching slots, so the
 * answer equals the loaded indexes' bit for bit.
 *
 * What each segment reads, only for its live matching slots (dead slots from
 * cold-dead-slots.ts, matches from cold-filter.ts):
 * - `Count`: nothing (the slots are counted);
 * - `Count` of a field: its type tags (a byte per row);
 * - `Sum` of a field: its type tags and numbers (8 bytes per row), and in a
 *   format-8 column the exact values of the live bigint slots
 *   (cold-exact-numbers.ts), so the sum is exact;
 * - a group field (a plain key, or the array attribute of a `ForEachUnique`
 *   key): its tags, numbers (and exact values), string codes (4 bytes per row), the range of
 *   the sorted dictionary spanning the codes met and, when it holds arrays
 *   or objects, the list of slots holding them (4 bytes per such row) and
 *   the JSON text of the live matching ones (runs of nearby entries, one
 *   read each).
 * A column's elements are read whole when most rows are wanted, else the
 * blocks holding the wanted rows: contiguous blocks in one GET, runs in
 * parallel (the reader's block cache and CRC checks apply).
 * Damage (a damaged or short block, a tag outside the column's type mask, a
 * number, string, array or object without its column, a code outside the
 * dictionary, dictionary offsets out of order, a slot list out of order) is
 * CorruptStoredIndexError naming the index.
 */
import type { ArrayRef, ColdArrayReader, ColdArrayType, ColdIndexFile, StringRef } from "./cold-array-reader.ts";
import type { DeadSlots } from "./cold-dead-slots.ts";
import { coldExactNumbers } from "./cold-exact-numbers.ts";
import { CorruptStoredIndexError } from "../errors.ts";
import { type AggregatedIndex, type AggregatedPartition, type AggregationResult, aggregate } from "../aggregate.ts";
import { type AttributeColumn, TAG_ARRAY, TAG_NUMBER, TAG_OBJECT, TAG_STRING } from "../attribute-columns.ts";
import type { Matches } from "../filter-plan.ts";
import type { QueryIndex } from "../query-index.ts";
import type { QueryRequest } from "../query-request.ts";
import type { QuerySlicer } from "../query-slicer.ts";
import { StringTable } from "../string-table.ts";

type AttributeMeta = ColdIndexFile["meta"]["attributes"][number];

/** Slots between two slicer checkpoints, minus one (a mask). */
const CHECK_MASK = 1023;
/** A column is read whole when at least this share of its rows is wanted. */
const WHOLE_COLUMN_SHARE = 0.25;

export interface ColdAggregateInput {
  readonly reader: ColdArrayReader;
  /** The indexed segments, oldest first. */
  readonly files: readonly ColdIndexFile[];
  /** Their dead slots (cold-dead-slots.ts). */
  readonly dead: readonly DeadSlots[];
  /** Their matching slots, ascending (undefined: no filter, every slot). */
  readonly matches: readonly (Uint32Array | undefined)[] | undefined;
  /** The tail's chunks: their index, superseded positions and filter matches. */
  readonly tail: readonly { readonly index: QueryIndex; readonly excluded: Uint32Array | undefined; readonly matches: Matches }[];
  readonly request: QueryRequest;
  readonly slicer?: QuerySlicer | undefined;
}

/** A partition of the aggregation: live matching slots of an index (or of columns standing in for one). */
class SlotPartition implements AggregatedPartition {
  constructor(
    readonly index: AggregatedIndex,
    readonly matches: Matches,
    readonly dead: Uint8Array | null,
    readonly deadSlots: Uint32Array,
  ) {}

  async forEachLiveSliced(fn: (slot: number) => void, slicer: QuerySlicer | undefined): Promise<void> {
    const m = this.matches;
    const dead = this.dead;
    const due = () => slicer?.due() === true;
    if (m.kind === "list") {
      const slots = m.slots;
      for (let i = 0; i < slots.length; i++) {
        const s = slots[i]!;
        if (dead === null || dead[s] === 0) fn(s);
        if ((i & CHECK_MASK) === CHECK_MASK && due()) await slicer!.pause();
      }
      return;
    }
    const n = this.index.size;
    for (let s = 0; s < n; s++) {
      if ((s & CHECK_MASK) === CHECK_MASK && due()) await slicer!.pause();
      if (dead !== null && dead[s] !== 0) continue;
      if (m.kind === "mask" && m.mask[s] === 0) continue;
      fn(s);
    }
  }
}

/** The aggregations. */
export async function coldAggregate(input: ColdAggregateInput): Promise<AggregationResult> {
  const { request } = input;
  const specs = Object.values(request.aggregateBy ?? {});
  // The attributes grouped by: a plain key's own, a ForEachUnique key's array attribute (aggregate.ts).
  const groupBy = (request.groupBy ?? []).map((name) => request.groupByFunctions?.get(name)?.field ?? name);
  // What each named field needs: tags always, numbers for sums and groups, codes, strings and arrays or objects for groups.
  const needs = new Map<string, Want>();
  const need = (field: string, numbers: boolean, values: boolean) => {
    const had = needs.get(field);
    needs.set(field, { numbers: numbers || had?.numbers === true, strings: values || had?.strings === true, complex: values || had?.complex === true });
  };
  for (const spec of specs) if (spec.field !== undefined) need(spec.field, spec.kind === "Sum", false);
  for (const field of groupBy) need(field, true, true);
  const parts: AggregatedPartition[] = await Promise.all(
    input.files.map(async (file, s) => {
      const n = file.meta.size;
      const dead = input.dead[s] as DeadSlots;
      const matched = input.matches?.[s];
      const matches: Matches = matched === undefined ? { kind: "all" } : { kind: "list", slots: matched };
      const columns = new Map<string, AttributeColumn>();
      if (needs.size > 0) {
        const live = liveSlots(n, dead.mask, matched);
        const byName = new Map(file.meta.attributes.map((a) => [a.name, a]));
        await Promise.all(
          [...needs].map(async ([field, want]) => {
            const a = byName.get(field);
            if (a !== undefined) columns.set(field, await readColumn(input.reader, file, a, live, want));
          }),
        );
        // As QueryIndex keys its columns (the meta document's order; a later duplicate wins).
        const ordered = new Map<string, AttributeColumn>();
        for (const a of file.meta.attributes) {
          const column = columns.get(a.name);
          if (column !== undefined) ordered.set(a.name, column);
        }
        return new SlotPartition({ size: n, attributeColumns: ordered }, matches, dead.mask, dead.slots);
      }
      return new SlotPartition({ size: n, attributeColumns: columns }, matches, dead.mask, dead.slots);
    }),
  );
  for (const chunk of input.tail) {
    const { index } = chunk;
    let dead: Uint8Array | null = null;
    const slots: number[] = [];
    if (chunk.excluded !== undefined) {
      for (const position of chunk.excluded) {
        const slot = index.slotOf(position);
        if (slot < 0) continue;
        dead ??= new Uint8Array(index.size);
        if (dead[slot] === 0) {
          dead[slot] = 1;
          slots.push(slot);
        }
      }
    }
    parts.push(new SlotPartition(index, chunk.matches, dead, Uint32Array.from(slots).sort()));
  }
  return aggregate(parts, request, input.slicer);
}

/** The parts of a column a query reads beside its tags. */
interface Want {
  readonly numbers: boolean;
  readonly strings: boolean;
  /** Arrays' and objects' JSON text. */
  readonly complex: boolean;
}

/** The live matching slots of a segment, ascending; null when every slot is. */
function liveSlots(n: number, dead: Uint8Array | null, matched: Uint32Array | undefined): Uint32Array | null {
  if (matched === undefined && dead === null) return null;
  if (matched === undefined) {
    const out: number[] = [];
    for (let s = 0; s < n; s++) if ((dead as Uint8Array)[s] === 0) out.push(s);
    return Uint32Array.from(out);
  }
  if (dead === null) return matched;
  return matched.filter((s) => dead[s] === 0);
}

/**
 * A column holding the tags (and, as asked, numbers, codes and the strings they name) of the slots `live` (null:
 * all), read by range; other slots read as missing.
 */
async function readColumn(
  reader: ColdArrayReader,
  file: ColdIndexFile,
  a: AttributeMeta,
  live: Uint32Array | null,
  want: Want,
): Promise<AttributeColumn> {
  const n = file.meta.size;
  const [tags, numbers, codes] = await Promise.all([
    elements(reader, file, a.tags, "u8", live, n),
    want.numbers && a.numbers !== null ? elements(reader, file, a.numbers, "f64", live, n) : null,
    want.strings && a.codes !== null ? elements(reader, file, a.codes, "i32", live, n) : null,
  ]);
  const corrupt = (what: string) => new CorruptStoredIndexError(`query index ${file.key}: attribute ${JSON.stringify(a.name)} ${what}`, file.key);
  let lo = Number.POSITIVE_INFINITY;
  let hi = -1;
  const complexLive: number[] = [];
  const numberLive: number[] = [];
  const check = (slot: number) => {
    const tag = tags[slot] as number;
    if (tag > 7 || ((a.typeMask >> tag) & 1) === 0) throw corrupt(`has tag ${tag} at slot ${slot}, not in its type mask`);
    if (tag === TAG_NUMBER && want.numbers) {
      if (a.numbers === null) throw corrupt("holds numbers without a number column");
      numberLive.push(slot);
    }
    if ((tag === TAG_ARRAY || tag === TAG_OBJECT) && want.complex) complexLive.push(slot);
    if (tag === TAG_STRING && want.strings) {
      if (codes === null || a.strings === null) throw corrupt("holds strings without string codes or dictionary");
      const code = codes[slot] as number;
      if (code < 0) throw corrupt(`has no string code at slot ${slot}`);
      if (code < lo) lo = code;
      if (code > hi) hi = code;
    }
  };
  if (live === null) for (let s = 0; s < n; s++) check(s);
  else for (const s of live) check(s);
  let strings: StringTable | null = null;
  if (want.strings && a.strings !== null) {
    // The dictionary's entries [lo, hi], the codes rebased onto them.
    const count = reader.stringCount(file, a.strings);
    if (hi >= count) throw corrupt(`has string code ${hi}, its dictionary ${count} entries`);
    if (hi < 0) strings = new StringTable(new Uint32Array(1), new Uint8Array(0));
    else {
      const offsets = await reader.array(file, { $a: a.strings.$s[0] }, "u32", lo, hi + 2);
      const start = offsets[0] as number;
      const end = offsets[offsets.length - 1] as number;
      const bytesLength = reader.length(file, { $a: a.strings.$s[1] }, "u8");
      if (end < start || end > bytesLength) throw corrupt("has dictionary offsets out of range");
      const rebased = new Uint32Array(offsets.length);
      for (let i = 0; i < offsets.length; i++) {
        const at = (offsets[i] as number) - start;
        if (at < (i === 0 ? 0 : (rebased[i - 1] as number)) || at > end - start) throw corrupt("has dictionary offsets out of order");
        rebased[i] = at;
      }
      strings = new StringTable(rebased, await reader.bytes(file, `a${a.strings.$s[1]}`, start, end - start));
      const rebase = (slot: number) => {
        if (tags[slot] === TAG_STRING) (codes as Int32Array)[slot] = ((codes as Int32Array)[slot] as number) - lo;
      };
      if (live === null) for (let s = 0; s < n; s++) rebase(s);
      else for (const s of live) rebase(s);
    }
  }
  const complex = complexLive.length === 0 ? null : await complexValues(reader, file, a, complexLive);
  // Format 8: the exact values of the live number slots that hold bigints (for sums and group keys).
  let exact: { slots: Uint32Array; digits: string[] } | undefined;
  if (want.numbers && a.exactSlots !== undefined && numbers !== null) {
    const lookup = await coldExactNumbers(reader, file, a, numberLive);
    for (const slot of numberLive) lookup.at(slot, numbers[slot] as number); // each bigint against its double
    exact = lookup.entries();
  }
  return {
    name: a.name,
    tags,
    typeMask: a.typeMask,
    elementTypeMask: a.elementTypeMask,
    numbers,
    numberOrder: null,
    strings,
    codes,
    stringPostingOffsets: null,
    stringPostings: null,
    elemOffsets: null,
    elemCodes: null,
    elemKeys: null,
    elemPostingOffsets: null,
    elemPostings: null,
    complexSlots: complex?.slots ?? null,
    complexJson: complex?.json ?? null,
    ...(exact === undefined || exact.slots.length === 0 ? {} : { exactSlots: exact.slots, exactValues: StringTable.fromStrings(exact.digits) }),
    ...(a.exactJson === true ? { exactJson: true as const } : {}),
  };
}

/** Complex entries at most this far apart are read as one range of the JSON table. */
const COMPLEX_RUN_GAP = 32;

/**
 * The JSON text of the arrays and objects at `slots` (ascending, every one tagged so): the column's slot list read
 * whole (4 bytes per such row), each slot's entry found in it, the entries read in runs of nearby ones. As a
 * column's `complexSlots` / `complexJson` holding just those slots.
 */
async function complexValues(reader: ColdArrayReader, file: ColdIndexFile, a: AttributeMeta, slots: readonly number[]): Promise<{ slots: Uint32Array; json: StringTable }> {
  const corrupt = (what: string) => new CorruptStoredIndexError(`query index ${file.key}: attribute ${JSON.stringify(a.name)} ${what}`, file.key);
  if (a.complexSlots === null || a.complexJson === null) throw corrupt("holds arrays or objects without their JSON");
  const all = await reader.array(file, a.complexSlots, "u32", 0, reader.length(file, a.complexSlots, "u32"));
  const count = reader.stringCount(file, a.complexJson);
  if (count !== all.length) throw corrupt(`has ${all.length} array or object slots but ${count} JSON entries`);
  const entries: number[] = [];
  let from = 0;
  for (const slot of slots) {
    // Binary search in the (ascending) slot list, from the previous entry on.
    let lo = from;
    let hi = all.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((all[mid] as number) < slot) lo = mid + 1;
      else hi = mid;
    }
    if (all[lo] !== slot) throw corrupt(`has no JSON entry for slot ${slot}`);
    entries.push(lo);
    from = lo + 1;
  }
  const runs: [number, number][] = [];
  for (const entry of entries) {
    const last = runs.at(-1);
    if (last !== undefined && entry - last[1] <= COMPLEX_RUN_GAP) last[1] = entry + 1;
    else runs.push([entry, entry + 1]);
  }
  const texts = await Promise.all(runs.map(([start, end]) => reader.strings(file, a.complexJson as StringRef, start, end)));
  const json: string[] = [];
  let r = 0;
  for (const entry of entries) {
    while (entry >= (runs[r] as [number, number])[1]) r++;
    json.push((texts[r] as string[])[entry - (runs[r] as [number, number])[0]] as string);
  }
  return { slots: Uint32Array.from(slots), json: StringTable.fromStrings(json) };
}

const CTORS = { u8: Uint8Array, f64: Float64Array, i32: Int32Array } as const;
type ElementType = keyof typeof CTORS;

/**
 * Array `ref`'s elements at the slots `live` (null: all) in an array of `n` elements (zero elsewhere): read whole
 * when many are wanted, else the blocks holding them, contiguous blocks as one range, ranges in parallel.
 */
async function elements<T extends ElementType & ColdArrayType>(
  reader: ColdArrayReader,
  file: ColdIndexFile,
  ref: ArrayRef,
  type: T,
  live: Uint32Array | null,
  n: number,
): Promise<InstanceType<(typeof CTORS)[T]>> {
  const length = reader.length(file, ref, type);
  if (length !== n) throw new CorruptStoredIndexError(`query index ${file.key}: array a${ref.$a} has ${length} elements, the index ${n} rows`, file.key);
  if (live === null || live.length >= n * WHOLE_COLUMN_SHARE) {
    // A fresh copy (the reader copies out of its cache): the caller may rebase codes in place.
    return (await reader.array(file, ref, type, 0, n)) as InstanceType<(typeof CTORS)[T]>;
  }
  const out = new CTORS[type](n) as InstanceType<(typeof CTORS)[T]>;
  if (live.length === 0) return out;
  const section = file.directory.section(`a${ref.$a}`);
  if (section === undefined) throw new CorruptStoredIndexError(`query index ${file.key}: array a${ref.$a} is missing`, file.key);
  const size = CTORS[type].BYTES_PER_ELEMENT;
  const runs: [number, number][] = [];
  let first = live[0] as number;
  let last = first;
  let lastBlock = section.blockAt(first * size);
  for (let i = 1; i < live.length; i++) {
    const slot = live[i] as number;
    const block = section.blockAt(slot * size);
    if (block > lastBlock + 1) {
      runs.push([first, last + 1]);
      first = slot;
    }
    last = slot;
    lastBlock = section.blockAt((slot + 1) * size - 1);
  }
  runs.push([first, last + 1]);
  await Promise.all(
    runs.map(async ([from, to]) => {
      out.set(await reader.array(file, ref, type, from, to), from);
    }),
  );
  return out;
}
