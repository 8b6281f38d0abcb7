/**
 * coldFilterSlots: the slots of a stored (format 3) segment index matching
 * a filter, from ranged reads of its attribute columns (ColdArrayReader),
 * exactly the set `evaluateFilter` gives over the loaded index
 * (../filter-plan.ts; this module mirrors its node semantics):
 * - string `Eq` / `In`: the value's code in the sorted dictionary (a few
 *   rounds of parallel probes), then its postings range;
 * - string ranges (`Lt` .. `Gte`): the dictionary bound, then the postings
 *   of the code range;
 * - number `Eq` and ranges (a number or a bigint operand, compared
 *   exactly): bounds in the value-sorted rows (`numberOrder`, rounds of 15
 *   parallel probes, each the row and its number; a probe whose double
 *   equals the operand's is compared by its exact value, format 8's
 *   `exactSlots` / `exactValues` read by range, cold-exact-numbers.ts), then
 *   that range of `numberOrder`;
 * - `ContainsAny` / `ContainsAll`: element keys and their postings;
 * - boolean `Eq`, `Exists`, `ContainsAll []`: the type tags column, read
 *   whole (one byte per row);
 * - `Glob` / `IGlob` / `Regex` on an attribute: the dictionary scanned in
 *   blocks (cold-string-scan.ts; a case-sensitive Glob: only the range of
 *   entries starting with its literal prefix, found by two searches), every
 *   value tested as loaded, the matching codes' postings (runs of
 *   consecutive codes one read each), whatever the dictionary's size;
 * - `id` `Eq` / `In`: the ids' slots through the id set (cold-dead-slots.ts);
 * - `id` ranges (`Lt` .. `Gte`) and patterns (`Glob`, `IGlob`, `Regex`):
 *   every id tested as the loaded path tests them (UTF-16 order, the same
 *   matcher), the id blocks streamed, then `idOrder` at the matching ranks
 *   (ColdDeadSlots.slotsWhereId);
 * - element comparisons (`AnyLt` .. `AnyGte`) on an array attribute: a
 *   string's keys (`s<value>`, in the value's order) are the range between
 *   two searches of the element keys, whose postings are one read; a
 *   number's keys (`n<value>`) the range starting with `n`, scanned in
 *   blocks, each compared exactly (a key of an integer beyond 2^53-1 is its
 *   bigint), the postings of those that hold (consecutive keys' postings in
 *   one read);
 * - token filters (`ContainsAllTokens`, `ContainsAnyToken`,
 *   `ContainsTokenSequence`, ../token-filter.ts) on a text field: the
 *   operand tokenized under the segment's own config for the field, each
 *   token looked up in the vocabulary, its postings read by range (a
 *   `lastAsPrefix` token: the vocabulary range starting with it, whose
 *   postings are contiguous); a phrase's candidates (holding all its
 *   tokens) are then checked against their token order (format 5's forward
 *   index `sequence`: each candidate's range, at the prefix sums of
 *   `docLengths`; within one element of a text of several elements, whose
 *   boundaries format 9 flags, holdsTermSequence); a segment stored without
 *   it (format 4) refuses the phrase with the loaded path's InvalidQueryError;
 * - `Fuzzy` on a text field: the operand's tokens (fuzzy-filter.ts, under
 *   the segment's own config), the vocabulary's terms within each token's
 *   distance (read in blocks, cold-fuzzy.ts), their postings (runs of
 *   consecutive terms one read each), the tokens' unions intersected;
 * - `And` (intersection), `Or` (union), `Not` / `NotEq` / `NotIn`
 *   (complement).
 * Every filter kind is served, at any size (loaded-only.ts lists none).
 */
import type { ColdArrayReader, ColdIndexFile } from "./cold-array-reader.ts";
import type { ColdDeadSlots } from "./cold-dead-slots.ts";
import { CorruptStoredIndexError } from "../errors.ts";
import { elementKey, TAG_ARRAY, TAG_FALSE, TAG_NULL, TAG_TRUE } from "../attribute-columns.ts";
import { checkExactColumn, coldExactNumbers } from "./cold-exact-numbers.ts";
import { compareExact, elementNumber, type ExactNumber } from "../exact-number.ts";
import { type PatternMatcher, patternMatcher } from "../pattern-matcher.ts";
import { type ColdTailChunk, coldTailMatches } from "./cold-tail.ts";
import { InvalidQueryError } from "../errors.ts";
import { checkFilterTypes } from "../filter-plan.ts";
import type { QueryIndex } from "../query-index.ts";
import { storedTokenizerConfig } from "../index-codec.ts";
import type { Filter, Scalar } from "../query-request.ts";
import { coldFuzzyTerms } from "./cold-fuzzy.ts";
import { scanStrings } from "./cold-string-scan.ts";
import { globLiteralPrefix } from "../glob.ts";
import { type FuzzyFilter, fuzzyTokens } from "../fuzzy-filter.ts";
import { filterTokens, holdsTermSequence, sequenceTokens, type TokenFilter } from "../token-filter.ts";

type AttributeMeta = ColdIndexFile["meta"]["attributes"][number];
type TextMeta = ColdIndexFile["meta"]["text"][number];
type StringRef = { readonly $s: readonly [number, number] };

const EMPTY = new Uint32Array(0);
/** Probes per round of a search. */
const PROBES = 15;
/** Vocabulary entries read at a time while a prefix's range is found. */
const PREFIX_STEP = 256;

export interface ColdFilterContext {
  readonly reader: ColdArrayReader;
  readonly ids: ColdDeadSlots;
}

/** The matching slots, ascending and unique. */
export function coldFilterSlots(context: ColdFilterContext, file: ColdIndexFile, filter: Filter): Promise<Uint32Array> {
  return new Evaluation(context, file).of(filter);
}

/**
 * A request's filter over a cold version: the loaded path's type check over every partition's column types
 * (the segments' meta documents hold them), each segment's matching slots and each tail chunk's live matching
 * slots. `{}` without a filter.
 */
export async function coldFilterMatches(
  context: ColdFilterContext,
  files: readonly ColdIndexFile[],
  tail: readonly ColdTailChunk[],
  filter: Filter | undefined,
): Promise<{ matches?: Uint32Array[]; tailMatches?: number[][] }> {
  if (filter === undefined) return {};
  const typed = files.map(
    (file) => ({ attributeColumns: new Map(file.meta.attributes.map((a) => [a.name, { typeMask: a.typeMask, elementTypeMask: a.elementTypeMask }])) }) as unknown as QueryIndex,
  );
  checkFilterTypes(filter, [...typed, ...tail.map((chunk) => chunk.index)]);
  const matched = await Promise.all(files.map((file) => coldFilterSlots(context, file, filter)));
  return { matches: matched, tailMatches: tail.map((chunk) => coldTailMatches(chunk, filter)) };
}

class Evaluation {
  readonly #reader: ColdArrayReader;
  readonly #ids: ColdDeadSlots;
  readonly #file: ColdIndexFile;
  readonly #n: number;
  readonly #tags = new Map<string, Promise<Uint8Array>>();

  constructor(context: ColdFilterContext, file: ColdIndexFile) {
    this.#reader = context.reader;
    this.#ids = context.ids;
    this.#file = file;
    this.#n = file.meta.size;
  }

  async of(filter: Filter): Promise<Uint32Array> {
    const n = this.#n;
    switch (filter.kind) {
      case "And": {
        const parts = await Promise.all(filter.filters.map((f) => this.of(f)));
        if (parts.length === 0) return allSlots(n);
        return parts.reduce((a, b) => sortedIntersection(a, b));
      }
      case "Or":
        return sortedUnion(await Promise.all(filter.filters.map((f) => this.of(f))));
      case "Not":
        return complement(await this.of(filter.filter), n);
      case "Exists":
        if (filter.field === "id") return allSlots(n);
        return this.#byTag(filter.field, (t) => t > TAG_NULL);
      case "Compare":
        switch (filter.op) {
          case "Eq":
            return this.#eq(filter.field, filter.value);
          case "NotEq":
            return complement(await this.#eq(filter.field, filter.value), n);
          default:
            if (typeof filter.value === "boolean") return EMPTY;
            return this.#range(filter.field, filter.op, filter.value);
        }
      case "List":
        switch (filter.op) {
          case "In":
            return sortedUnion(await Promise.all(filter.values.map((v) => this.#eq(filter.field, v))));
          case "NotIn":
            return complement(sortedUnion(await Promise.all(filter.values.map((v) => this.#eq(filter.field, v)))), n);
          case "ContainsAny":
            return this.#contains(filter.field, filter.values, false);
          case "ContainsAll":
            return this.#contains(filter.field, filter.values, true);
        }
        break;
      case "Glob":
      case "Regex":
      case "FuzzySubstring":
        return this.#pattern(filter.field, patternMatcher(filter), filter.kind === "Glob" && filter.op === "Glob" ? globLiteralPrefix(filter.pattern) : "");
      case "Tokens":
        return this.#tokens(filter);
      case "AnyCompare":
        return this.#anyCompare(filter.field, filter.op, filter.value);
      case "Fuzzy":
        return this.#fuzzy(filter);
    }
    return EMPTY;
  }

  #column(field: string): AttributeMeta | undefined {
    return this.#file.meta.attributes.find((a) => a.name === field);
  }

  async #eq(field: string, value: Scalar): Promise<Uint32Array> {
    if (field === "id") {
      if (typeof value !== "string") return EMPTY;
      return (await this.#ids.slotsOfIds(this.#file, [value])).slice().sort();
    }
    const column = this.#column(field);
    if (column === undefined) return EMPTY;
    if (typeof value === "string") {
      if (column.strings === null || column.stringPostingOffsets === null || column.stringPostings === null) return EMPTY;
      const code = await this.#reader.findString(this.#file, column.strings, value);
      if (code < 0) return EMPTY;
      return this.#postings(column.stringPostingOffsets, column.stringPostings, code, code + 1);
    }
    if (typeof value === "number" || typeof value === "bigint") {
      if (column.numbers === null || column.numberOrder === null) return EMPTY;
      return this.#numberRange(column, value, true, value, true);
    }
    const tag = value ? TAG_TRUE : TAG_FALSE;
    return this.#byTag(field, (t) => t === tag);
  }

  async #range(field: string, op: "Lt" | "Lte" | "Gt" | "Gte", value: string | ExactNumber): Promise<Uint32Array> {
    const lo = op === "Gt" || op === "Gte";
    const inclusive = op === "Lte" || op === "Gte";
    if (field === "id") {
      if (typeof value !== "string") return EMPTY;
      return this.#idsWhere((id) => (lo ? (inclusive ? id >= value : id > value) : inclusive ? id <= value : id < value));
    }
    const column = this.#column(field);
    if (column === undefined) return EMPTY;
    if (typeof value !== "string") {
      if (column.numbers === null || column.numberOrder === null) return EMPTY;
      return lo ? this.#numberRange(column, value, inclusive, Number.POSITIVE_INFINITY, true) : this.#numberRange(column, Number.NEGATIVE_INFINITY, true, value, inclusive);
    }
    if (column.strings === null || column.stringPostingOffsets === null || column.stringPostings === null) return EMPTY;
    const count = this.#reader.stringCount(this.#file, column.strings);
    const lower = () => this.#stringBound(column.strings as StringRef, value, false);
    const upper = () => this.#stringBound(column.strings as StringRef, value, true);
    const [from, to] = lo ? [inclusive ? await lower() : await upper(), count] : [0, inclusive ? await upper() : await lower()];
    if (to <= from) return EMPTY;
    return (await this.#postings(column.stringPostingOffsets, column.stringPostings, from, to)).slice().sort();
  }

  /**
   * The codes whose value matches the pattern, and their postings: the dictionary's entries starting with the
   * pattern's literal prefix (a case-sensitive Glob's; else every entry), scanned in blocks.
   */
  async #pattern(field: string, re: PatternMatcher, prefix: string): Promise<Uint32Array> {
    if (field === "id") return this.#idsWhere((id) => re.test(id));
    const column = this.#column(field);
    if (column === undefined) return EMPTY;
    const lists: Promise<Uint32Array>[] = [];
    // String values, and the string elements (`s<string>` keys) of array values (filter-plan.ts patternNode).
    const { strings, stringPostingOffsets, stringPostings, elemKeys, elemPostingOffsets, elemPostings } = column;
    if (strings !== null && stringPostingOffsets !== null && stringPostings !== null) {
      const [from, to] = await this.#prefixRange(strings, prefix);
      const codes = await this.#dictionaryCodes(strings, (value) => re.test(value), from, to);
      lists.push(this.#postingsOfCodes(stringPostingOffsets, stringPostings, codes));
    }
    if (elemKeys !== null && elemPostingOffsets !== null && elemPostings !== null) {
      const [from, to] = await this.#prefixRange(elemKeys, `s${prefix}`);
      const codes = await this.#dictionaryCodes(elemKeys, (key) => key.startsWith("s") && re.test(key.slice(1)), from, to);
      lists.push(this.#postingsOfCodes(elemPostingOffsets, elemPostings, codes));
    }
    return sortedUnion(await Promise.all(lists));
  }

  /** The range of the sorted string table holding the entries that start with `prefix` (all of it for ""). */
  #prefixRange(table: StringRef, prefix: string): Promise<[number, number]> {
    const reader = this.#reader;
    const file = this.#file;
    const count = reader.stringCount(file, table);
    const after = successor(prefix);
    return Promise.all([
      prefix === "" ? 0 : reader.lowerBoundString(file, table, prefix),
      after === undefined ? count : reader.lowerBoundString(file, table, after),
    ]);
  }

  /** The codes in [from, to) of a sorted string table whose value passes `test`, ascending: the range scanned in blocks (cold-string-scan.ts). */
  async #dictionaryCodes(table: StringRef, test: (value: string) => boolean, from: number, to: number): Promise<number[]> {
    const codes: number[] = [];
    await scanStrings(this.#reader, this.#file, table, from, to, (code, value) => {
      if (test(value)) codes.push(code);
    });
    return codes;
  }

  /** Slots whose id passes `test` (every id read, streamed: ColdDeadSlots.slotsWhereId). */
  #idsWhere(test: (id: string) => boolean): Promise<Uint32Array> {
    return this.#ids.slotsWhereId(this.#file, test);
  }

  /**
   * Arrays with an element that compares (filter-plan.ts anyCompareNode): the element keys that do, their
   * postings. String elements are the keys `s<value>`, in the value's order: the range between two searches of the
   * keys, whose postings are contiguous (one read). Numbers (`n<value>`, not in numeric order): the keys starting
   * with `n`, scanned in blocks, each compared.
   */
  async #anyCompare(field: string, op: "Lt" | "Lte" | "Gt" | "Gte", value: string | ExactNumber): Promise<Uint32Array> {
    const column = this.#column(field);
    if (column === undefined || column.elemKeys === null || column.elemPostingOffsets === null || column.elemPostings === null) return EMPTY;
    const keys = column.elemKeys;
    const reader = this.#reader;
    const file = this.#file;
    if (typeof value === "string") {
      // The first key above `s<value>` is `s<value>\0`; the keys of strings end before `t`.
      const bound = (key: string) => reader.lowerBoundString(file, keys, key);
      const key = `s${value}`;
      const [from, to] = await Promise.all([
        op === "Lt" || op === "Lte" ? bound("s") : bound(op === "Gt" ? `${key}\u0000` : key),
        op === "Gt" || op === "Gte" ? bound("t") : bound(op === "Lte" ? `${key}\u0000` : key),
      ]);
      if (to <= from) return EMPTY;
      return uniqueSorted((await this.#postings(column.elemPostingOffsets, column.elemPostings, from, to)).slice().sort());
    }
    const [from, to] = await this.#prefixRange(keys, "n");
    const codes = await this.#dictionaryCodes(keys, (key) => {
      // Exact: a key of an integer beyond 2^53-1 is a bigint, compared with a number or a bigint by value.
      const element = elementNumber(key.slice(1));
      return op === "Lt" ? element < value : op === "Lte" ? element <= value : op === "Gt" ? element > value : element >= value;
    }, from, to);
    return this.#postingsOfCodes(column.elemPostingOffsets, column.elemPostings, codes);
  }

  /**
   * The union of the postings of `codes` (ascending), deduplicated (a slot can be in several codes' postings): the
   * offsets at the runs' bounds in one gather, then each run of consecutive codes one read (their postings are
   * contiguous), in parallel.
   */
  async #postingsOfCodes(offsetsRef: { $a: number }, postingsRef: { $a: number }, codes: readonly number[]): Promise<Uint32Array> {
    const reader = this.#reader;
    const file = this.#file;
    const runs: [number, number][] = [];
    for (const code of codes) {
      const last = runs.at(-1);
      if (last !== undefined && last[1] === code) last[1] = code + 1;
      else runs.push([code, code + 1]);
    }
    if (runs.length === 0) return EMPTY;
    const bounds = await reader.gather(file, offsetsRef, "u32", runs.flat());
    const lists = await Promise.all(
      runs.map(async ([from, to]) => {
        const start = bounds.get(from);
        const end = bounds.get(to);
        if (start === undefined || end === undefined || end < start) throw new CorruptStoredIndexError(`query index ${file.key}: postings offsets are not monotone`, file.key);
        const slots = await reader.array(file, postingsRef, "u32", start, end);
        for (const slot of slots) if (slot >= this.#n) throw new CorruptStoredIndexError(`query index ${file.key}: postings hold ${slot}, out of range`, file.key);
        return to - from === 1 ? slots : uniqueSorted(slots.slice().sort());
      }),
    );
    return sortedUnion(lists);
  }

  /** A Fuzzy filter's matching slots (filter-plan.ts fuzzyNode): per token the union of its terms' postings (cold-fuzzy.ts), intersected. */
  async #fuzzy(filter: FuzzyFilter): Promise<Uint32Array> {
    const text = this.#file.meta.text.find((t) => t.name === filter.field);
    if (text === undefined) return EMPTY;
    const tokens = fuzzyTokens(filter, storedTokenizerConfig(filter.field, text.config));
    if (tokens === undefined) return EMPTY;
    const matched = await coldFuzzyTerms(this.#reader, this.#file, text.terms, tokens, filter.caseSensitive);
    if (matched.some((ids) => ids.length === 0)) return EMPTY;
    const lists = await Promise.all(matched.map((ids) => this.#postingsOfCodes(text.termOffsets, text.postings, ids)));
    let acc = lists[0] as Uint32Array;
    for (let i = 1; i < lists.length; i++) acc = sortedIntersection(acc, lists[i] as Uint32Array);
    return acc;
  }

  async #contains(field: string, values: readonly Scalar[], all: boolean): Promise<Uint32Array> {
    const column = this.#column(field);
    if (column === undefined || column.elemKeys === null || column.elemPostingOffsets === null || column.elemPostings === null || values.length === 0) {
      return all && values.length === 0 && column !== undefined ? this.#byTag(field, (t) => t === TAG_ARRAY) : EMPTY;
    }
    const keys = column.elemKeys;
    const found = await Promise.all(values.map((v) => this.#reader.findString(this.#file, keys, elementKey(v) as string)));
    if (all && found.some((code) => code < 0)) return EMPTY;
    const unique = [...new Set(found.filter((code) => code >= 0))];
    const offsets = column.elemPostingOffsets;
    const postings = column.elemPostings;
    const lists = await Promise.all(unique.map((code) => this.#postings(offsets, postings, code, code + 1)));
    if (lists.length === 0) return EMPTY;
    if (!all) return sortedUnion(lists);
    let acc = lists[0] as Uint32Array;
    for (let i = 1; i < lists.length; i++) acc = sortedIntersection(acc, lists[i] as Uint32Array);
    return acc;
  }

  /** A token filter's matching slots (filter-plan.ts tokensNode over the stored text index). */
  async #tokens(filter: TokenFilter): Promise<Uint32Array> {
    const text = this.#file.meta.text.find((t) => t.name === filter.field);
    if (text === undefined) return EMPTY;
    const config = storedTokenizerConfig(filter.field, text.config);
    const { exact, prefix } = filterTokens(filter, config);
    if (exact.length === 0 && prefix === undefined) return EMPTY;
    const all = filter.op !== "ContainsAnyToken";
    const reader = this.#reader;
    const file = this.#file;
    const ids = await Promise.all(exact.map((token) => reader.findString(file, text.terms, token)));
    if (all && ids.some((id) => id < 0)) return EMPTY;
    const lists = await Promise.all(ids.filter((id) => id >= 0).map((id) => this.#postings(text.termOffsets, text.postings, id, id + 1)));
    if (prefix !== undefined) {
      const from = await reader.lowerBoundString(file, text.terms, prefix);
      const to = await this.#prefixEnd(text, prefix, from);
      if (to === from && all) return EMPTY;
      // The range's postings are contiguous: their union is one read, sorted.
      if (to > from) lists.push(sortedUnion([(await this.#postings(text.termOffsets, text.postings, from, to)).slice().sort()]));
    }
    if (lists.length === 0) return EMPTY;
    if (!all) return sortedUnion(lists);
    let acc = lists[0] as Uint32Array;
    for (let i = 1; i < lists.length; i++) acc = sortedIntersection(acc, lists[i] as Uint32Array);
    if (filter.op !== "ContainsTokenSequence") return acc;
    return this.#sequences(filter, text, config, acc);
  }

  /** The end of the vocabulary range [from, end) whose terms start with `prefix`. */
  async #prefixEnd(text: TextMeta, prefix: string, from: number): Promise<number> {
    const count = this.#reader.stringCount(this.#file, text.terms);
    let to = from;
    while (to < count) {
      const batch = await this.#reader.strings(this.#file, text.terms, to, Math.min(count, to + PREFIX_STEP));
      for (const term of batch) {
        if (!term.startsWith(prefix)) return to;
        to++;
      }
    }
    return to;
  }

  /** The candidates (holding every token of the phrase) whose token order holds it consecutively. */
  async #sequences(filter: TokenFilter, text: TextMeta, config: Parameters<typeof sequenceTokens>[1], candidates: Uint32Array): Promise<Uint32Array> {
    const sequence = text.sequence;
    if (sequence === null || sequence === undefined) {
      // The loaded path's error (filter-plan.ts tokensNode) for an index stored before format 5.
      throw InvalidQueryError.at(
        filter.path,
        "unsupported",
        `ContainsTokenSequence needs the token order of ${JSON.stringify(filter.field)}, which an index stored by an older version lacks; compact the namespace again`,
      );
    }
    if (candidates.length === 0) return EMPTY;
    const reader = this.#reader;
    const file = this.#file;
    const tokens = sequenceTokens(filter, config);
    const distinct = [...new Set(tokens)];
    const termIds = await Promise.all(distinct.map((token) => reader.findString(file, text.terms, token)));
    const idOf = new Map(distinct.map((token, i) => [token, termIds[i] as number]));
    // As loaded: a token missing from the vocabulary (-1) is 0xFFFFFFFF, which no term id equals.
    const needle = Uint32Array.from(tokens, (token) => idOf.get(token) as number);
    const lengths = await reader.array(file, text.docLengths, "u32", 0, this.#n);
    const offsets = new Float64Array(this.#n + 1);
    for (let s = 0; s < this.#n; s++) offsets[s + 1] = (offsets[s] as number) + (lengths[s] as number);
    const total = reader.length(file, sequence, "u32");
    if (offsets[this.#n] !== total) throw new CorruptStoredIndexError(`query index ${file.key}: token sequence length disagrees with the document lengths`, file.key);
    const held = await Promise.all(
      Array.from(candidates, async (slot) => {
        const order = await reader.array(file, sequence, "u32", offsets[slot] as number, offsets[slot + 1] as number);
        return holdsTermSequence(order, 0, order.length, needle);
      }),
    );
    return candidates.filter((_, i) => held[i] === true);
  }

  /** Postings of codes [from, to): `postings[offsets[from] .. offsets[to])`. */
  async #postings(offsetsRef: { $a: number }, postingsRef: { $a: number }, from: number, to: number): Promise<Uint32Array> {
    const reader = this.#reader;
    const file = this.#file;
    const [start] = await reader.array(file, offsetsRef, "u32", from, from + 1);
    const [end] = await reader.array(file, offsetsRef, "u32", to, to + 1);
    if (start === undefined || end === undefined || end < start) throw new CorruptStoredIndexError(`query index ${file.key}: postings offsets are not monotone`, file.key);
    const slots = await reader.array(file, postingsRef, "u32", start, end);
    for (const slot of slots) if (slot >= this.#n) throw new CorruptStoredIndexError(`query index ${file.key}: postings hold ${slot}, out of range`, file.key);
    return slots;
  }

  /** Slots whose type tag passes `test` (the tags column, read whole). */
  async #byTag(field: string, test: (tag: number) => boolean): Promise<Uint32Array> {
    const column = this.#column(field);
    if (column === undefined) return EMPTY;
    let tags = this.#tags.get(field);
    if (tags === undefined) this.#tags.set(field, (tags = this.#reader.array(this.#file, column.tags, "u8", 0, this.#n)));
    const held = await tags;
    const out: number[] = [];
    for (let s = 0; s < held.length; s++) if (test(held[s] as number)) out.push(s);
    return Uint32Array.from(out);
  }

  /** First entry of the sorted dictionary >= value (> value when `upper`), as string-table lowerBound / upperBound. */
  #stringBound(table: StringRef, value: string, upper: boolean): Promise<number> {
    const count = this.#reader.stringCount(this.#file, table);
    return firstFalse(
      count,
      (at) => Promise.all(at.map((i) => this.#reader.string(this.#file, table, i))),
      (s) => (upper ? s <= value : s < value),
    );
  }

  /**
   * numberOrder[from, to): the rows whose number is in the range, ascending by slot (filter-plan numberRange). The
   * order sorts equal doubles by their exact values (format 8): a probe whose double equals the bound's is compared
   * exactly, its bigint read by range (cold-exact-numbers.ts).
   */
  async #numberRange(column: AttributeMeta, lo: ExactNumber, loInclusive: boolean, hi: ExactNumber, hiInclusive: boolean): Promise<Uint32Array> {
    const reader = this.#reader;
    const file = this.#file;
    const orderRef = column.numberOrder as { $a: number };
    const numbersRef = column.numbers as { $a: number };
    const count = reader.length(file, orderRef, "u32");
    checkExactColumn(reader, file, column);
    // Each probe's order against `v` (negative: below it).
    const comparisons = (v: ExactNumber) => async (at: number[]): Promise<number[]> => {
      const rows = await reader.gather(file, orderRef, "u32", at);
      const slots = at.map((i) => rows.get(i) as number);
      for (const slot of slots) if (slot >= this.#n) throw new CorruptStoredIndexError(`query index ${file.key}: numberOrder holds ${slot}, out of range`, file.key);
      const numbers = await reader.gather(file, numbersRef, "f64", slots);
      const d = Number(v);
      const tied = slots.filter((slot) => numbers.get(slot) === d);
      const exact = tied.length === 0 || column.exactSlots === undefined ? undefined : await coldExactNumbers(reader, file, column, tied);
      return slots.map((slot) => {
        const x = numbers.get(slot) as number;
        return x !== d ? x - d : compareExact(exact === undefined ? x : exact.at(slot, x), v);
      });
    };
    const bound = (v: ExactNumber, strictlyAbove: boolean) => firstFalse(count, comparisons(v), (c) => c < 0 || (strictlyAbove && c === 0));
    const [from, to] = await Promise.all([
      lo === Number.NEGATIVE_INFINITY ? 0 : bound(lo, !loInclusive),
      hi === Number.POSITIVE_INFINITY ? count : bound(hi, hiInclusive),
    ]);
    if (to <= from) return EMPTY;
    const rows = await reader.array(file, orderRef, "u32", from, to);
    for (const slot of rows) if (slot >= this.#n) throw new CorruptStoredIndexError(`query index ${file.key}: numberOrder holds ${slot}, out of range`, file.key);
    return rows.slice().sort();
  }
}

/**
 * The first index in [0, count) whose value does not `goRight` (count when
 * all do), for values monotone in the index: rounds of PROBES parallel
 * probes, each round narrowing the range 16-fold, the last reading it whole.
 */
async function firstFalse<T>(count: number, valuesAt: (at: number[]) => Promise<T[]>, goRight: (value: T) => boolean): Promise<number> {
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    const span = hi - lo;
    const at = span <= PROBES + 1 ? Array.from({ length: span }, (_, i) => lo + i) : Array.from({ length: PROBES }, (_, p) => lo + Math.floor(((p + 1) * span) / (PROBES + 1)));
    const values = await valuesAt(at);
    let nextLo = lo;
    let nextHi = hi;
    for (let p = 0; p < at.length; p++) {
      if (goRight(values[p] as T)) nextLo = (at[p] as number) + 1;
      else {
        nextHi = at[p] as number;
        break;
      }
    }
    if (span <= PROBES + 1) return nextHi;
    lo = nextLo;
    hi = nextHi;
  }
  return lo;
}

/** The smallest string above every string starting with `prefix` (UTF-16 order); undefined when none is (no bound). */
function successor(prefix: string): string | undefined {
  for (let end = prefix.length; end > 0; end--) {
    const last = prefix.charCodeAt(end - 1);
    if (last < 0xffff) return prefix.slice(0, end - 1) + String.fromCharCode(last + 1);
  }
  return undefined;
}

/** `sorted` without repeats (in place). */
function uniqueSorted(sorted: Uint32Array): Uint32Array {
  let w = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) sorted[w++] = sorted[i] as number;
  return sorted.subarray(0, w);
}

function allSlots(n: number): Uint32Array {
  return Uint32Array.from({ length: n }, (_, i) => i);
}

function sortedUnion(lists: readonly Uint32Array[]): Uint32Array {
  const nonEmpty = lists.filter((l) => l.length > 0);
  if (nonEmpty.length === 0) return EMPTY;
  if (nonEmpty.length === 1) return nonEmpty[0] as Uint32Array;
  let total = 0;
  for (const l of nonEmpty) total += l.length;
  const all = new Uint32Array(total);
  let at = 0;
  for (const l of nonEmpty) {
    all.set(l, at);
    at += l.length;
  }
  all.sort();
  let w = 0;
  for (let i = 0; i < all.length; i++) if (i === 0 || all[i] !== all[i - 1]) all[w++] = all[i] as number;
  return all.subarray(0, w);
}

function sortedIntersection(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = new Uint32Array(Math.min(a.length, b.length));
  let i = 0;
  let j = 0;
  let w = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as number;
    const y = b[j] as number;
    if (x === y) {
      out[w++] = x;
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return out.subarray(0, w);
}

function complement(sorted: Uint32Array, n: number): Uint32Array {
  const out = new Uint32Array(n - sorted.length);
  let w = 0;
  let j = 0;
  for (let s = 0; s < n; s++) {
    if (j < sorted.length && sorted[j] === s) j++;
    else out[w++] = s;
  }
  return out.subarray(0, w);
}
