/**
 * Filter planning and evaluation over one partition.
 *
 * `checkFilterTypes` runs once per query across all partitions: a leaf whose
 * operand type the attribute never holds (in any partition) is an
 * `InvalidQueryError` (reason "type_mismatch"), not a silent miss. An
 * attribute no document has (or has only as null) is not an error: its
 * filters match nothing (and NotEq / NotIn / Not match everything).
 *
 * `planFilter` turns the filter into a tree of nodes, each with an estimate
 * of how many slots match, a per-slot `test`, and, where an index answers it
 * (string postings, the sorted number order, array element postings, the id
 * map), `collect`, which returns the sorted matching slots without a scan.
 * `evaluateFilter` then picks the representation: a sorted slot list when
 * the filter is selective (pre-filtering: rankers visit only those slots),
 * a byte mask otherwise (post-filtering inside the scan).
 *
 * Semantics: Eq / Lt / ... compare scalars of the same type (numbers with
 * numbers, strings by UTF-16 code unit order); an array value never equals a
 * scalar (use ContainsAny); NotEq = Not Eq and NotIn = Not In, so documents
 * without the attribute match them; Exists = present and not null.
 */
import {
  type AttributeColumn,
  TAG_ARRAY,
  TAG_FALSE,
  TAG_MISSING,
  TAG_NULL,
  TAG_NUMBER,
  TAG_STRING,
  TAG_TRUE,
  elementKey,
} from "./attribute-columns.ts";
import { compareExact, elementNumber, type ExactNumber, exactNumberAt } from "./exact-number.ts";
import { InvalidQueryError } from "./errors.ts";
import type { QueryIndex } from "./query-index.ts";
import type { Filter, Path, Scalar } from "./query-request.ts";
import { lowerBound, upperBound } from "./string-table.ts";
import { type FuzzyFilter, forEachFuzzyTerm, fuzzyHolds, fuzzyTokens, scratchCodePoints } from "./fuzzy-filter.ts";
import { type PatternMatcher, patternMatcher } from "./pattern-matcher.ts";
import { filterTokens, holdsTermSequence, sequenceTokens, type TokenFilter } from "./token-filter.ts";
import { sequenceOffsets } from "./text-index.ts";

/** Below this fraction of a partition, a filter is evaluated to a slot list. */
export const SELECTIVE_FRACTION = 0.1;

export type Matches =
  | { readonly kind: "all" }
  | { readonly kind: "list"; readonly slots: Uint32Array }
  | { readonly kind: "mask"; readonly mask: Uint8Array; readonly count: number };

interface PlanNode {
  readonly estimate: number;
  readonly indexed: boolean;
  collect(): Uint32Array;
  test(slot: number): boolean;
}

const EMPTY = new Uint32Array(0);

// ------------------------------------------------------------ type checks

function scalarTagMask(value: Scalar): number {
  if (typeof value === "string") return 1 << TAG_STRING;
  if (typeof value === "number" || typeof value === "bigint") return 1 << TAG_NUMBER;
  return (1 << TAG_FALSE) | (1 << TAG_TRUE);
}

const typeName = (value: Scalar) => (typeof value === "string" ? "a string" : typeof value === "number" || typeof value === "bigint" ? "a number" : "a boolean");

function describeMask(mask: number): string {
  const names: string[] = [];
  if (mask & (1 << TAG_STRING)) names.push("strings");
  if (mask & (1 << TAG_NUMBER)) names.push("numbers");
  if (mask & ((1 << TAG_FALSE) | (1 << TAG_TRUE))) names.push("booleans");
  if (mask & (1 << TAG_ARRAY)) names.push("arrays");
  if (mask & (1 << 7)) names.push("objects");
  return names.join(", ") || "nothing";
}

/** Throw InvalidQueryError(type_mismatch) for operands the attribute never holds. */
export function checkFilterTypes(filter: Filter, partitions: readonly QueryIndex[]): void {
  const masks = (field: string) => {
    if (field === "id") return { mask: 1 << TAG_STRING, elements: 0 };
    let mask = 0;
    let elements = 0;
    for (const p of partitions) {
      const c = p.attributeColumns.get(field);
      if (c !== undefined) {
        mask |= c.typeMask;
        elements |= c.elementTypeMask;
      }
    }
    return { mask: mask & ~((1 << TAG_MISSING) | (1 << TAG_NULL)), elements };
  };
  const mismatch = (path: Path, field: string, value: Scalar, holds: string) => {
    throw InvalidQueryError.at(path, "type_mismatch", `attribute ${JSON.stringify(field)} holds ${holds}, not ${typeName(value)}`);
  };
  const visit = (f: Filter): void => {
    switch (f.kind) {
      case "And":
      case "Or":
        f.filters.forEach(visit);
        return;
      case "Not":
        visit(f.filter);
        return;
      case "Exists":
      case "Tokens":
      case "Fuzzy":
        return;
      case "AnyCompare": {
        const { mask, elements } = masks(f.field);
        if (mask === 0) return;
        if ((mask & (1 << TAG_ARRAY)) === 0) {
          throw InvalidQueryError.at([...f.path, 1], "type_mismatch", `${f.op} on elements needs an array attribute; ${JSON.stringify(f.field)} holds ${describeMask(mask)}`);
        }
        if (elements !== 0 && (elements & scalarTagMask(f.value)) === 0) mismatch([...f.path, 2], f.field, f.value, `arrays of ${describeMask(elements)}`);
        return;
      }
      case "Compare": {
        const { mask } = masks(f.field);
        if (mask !== 0 && (mask & scalarTagMask(f.value)) === 0) mismatch([...f.path, 2], f.field, f.value, describeMask(mask));
        return;
      }
      case "Glob":
      case "Regex":
      case "FuzzySubstring": {
        // String values, or arrays with string elements.
        const { mask, elements } = masks(f.field);
        const operand = f.kind === "FuzzySubstring" ? f.query : f.pattern;
        const strings = (mask & (1 << TAG_STRING)) !== 0 || ((mask & (1 << TAG_ARRAY)) !== 0 && (elements === 0 || (elements & (1 << TAG_STRING)) !== 0));
        if (mask !== 0 && !strings) mismatch([...f.path, 2], f.field, operand, describeMask(mask));
        return;
      }
      case "List": {
        const { mask, elements } = masks(f.field);
        if (mask === 0) return;
        if (f.op === "ContainsAny" || f.op === "ContainsAll") {
          if ((mask & (1 << TAG_ARRAY)) === 0) {
            throw InvalidQueryError.at([...f.path, 1], "type_mismatch", `${f.op} needs an array attribute; ${JSON.stringify(f.field)} holds ${describeMask(mask)}`);
          }
          if (elements === 0) return;
          f.values.forEach((v, i) => {
            if ((elements & scalarTagMask(v)) === 0) mismatch([...f.path, 2, i], f.field, v, `arrays of ${describeMask(elements)}`);
          });
          return;
        }
        f.values.forEach((v, i) => {
          if ((mask & scalarTagMask(v)) === 0) mismatch([...f.path, 2, i], f.field, v, describeMask(mask));
        });
        return;
      }
    }
  };
  visit(filter);
}

// ------------------------------------------------------------ set helpers

function sortedUnion(lists: readonly Uint32Array[]): Uint32Array {
  const nonEmpty = lists.filter((l) => l.length > 0);
  if (nonEmpty.length === 0) return EMPTY;
  if (nonEmpty.length === 1) return nonEmpty[0]!;
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
  for (let i = 0; i < all.length; i++) if (i === 0 || all[i] !== all[i - 1]) all[w++] = all[i]!;
  return all.subarray(0, w);
}

function sortedIntersection(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = new Uint32Array(Math.min(a.length, b.length));
  let i = 0;
  let j = 0;
  let w = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
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

function scanCollect(n: number, test: (slot: number) => boolean): Uint32Array {
  const out: number[] = [];
  for (let s = 0; s < n; s++) if (test(s)) out.push(s);
  return Uint32Array.from(out);
}

const countCache = new WeakMap<AttributeColumn, Map<string, number>>();
function cachedCount(column: AttributeColumn, key: string, compute: () => number): number {
  let m = countCache.get(column);
  if (m === undefined) countCache.set(column, (m = new Map()));
  let v = m.get(key);
  if (v === undefined) m.set(key, (v = compute()));
  return v;
}

function numberRange(column: AttributeColumn, lo: ExactNumber, loInclusive: boolean, hi: ExactNumber, hiInclusive: boolean): [number, number] {
  const order = column.numberOrder!;
  const nums = column.numbers!;
  const exact = column.exactSlots !== undefined || typeof lo === "bigint" || typeof hi === "bigint";
  const bound = (v: ExactNumber, strictlyAbove: boolean) => {
    const d = Number(v);
    let a = 0;
    let b = order.length;
    while (a < b) {
      const mid = (a + b) >>> 1;
      const x = nums[order[mid]!]!;
      // Equal doubles are told apart exactly (exact-number.ts); the order sorts them so.
      const c = x !== d || !exact ? x - d : compareExact(exactNumberAt(column, order[mid]!), v);
      if (c < 0 || (strictlyAbove && c === 0)) a = mid + 1;
      else b = mid;
    }
    return a;
  };
  const from = lo === Number.NEGATIVE_INFINITY ? 0 : bound(lo, !loInclusive);
  const to = hi === Number.POSITIVE_INFINITY ? order.length : bound(hi, hiInclusive);
  return [from, Math.max(from, to)];
}


// ------------------------------------------------------------ planning

const NOTHING: PlanNode = { estimate: 0, indexed: true, collect: () => EMPTY, test: () => false };

function notNode(child: PlanNode, n: number): PlanNode {
  return {
    estimate: Math.max(0, n - child.estimate),
    indexed: child.indexed,
    collect: () => complement(child.collect(), n),
    test: (s) => !child.test(s),
  };
}

function listNode(slots: Uint32Array, n: number): PlanNode {
  let mask: Uint8Array | undefined;
  return {
    estimate: slots.length,
    indexed: true,
    collect: () => slots,
    test: (s) => {
      if (slots.length <= 8) return slots.includes(s);
      if (mask === undefined) {
        mask = new Uint8Array(n);
        for (const x of slots) mask[x] = 1;
      }
      return mask[s] === 1;
    },
  };
}

function eqNode(index: QueryIndex, field: string, value: Scalar): PlanNode {
  const n = index.size;
  if (field === "id") {
    if (typeof value !== "string") return NOTHING;
    const slot = index.slotOfId(value);
    return listNode(slot < 0 ? EMPTY : Uint32Array.of(slot), n);
  }
  const column = index.attributeColumns.get(field);
  if (column === undefined) return NOTHING;
  if (typeof value === "string") {
    if (column.strings === null) return NOTHING;
    const code = column.strings.indexOf(value);
    if (code < 0) return NOTHING;
    const from = column.stringPostingOffsets![code]!;
    const to = column.stringPostingOffsets![code + 1]!;
    const codes = column.codes!;
    return { estimate: to - from, indexed: true, collect: () => column.stringPostings!.subarray(from, to), test: (s) => codes[s] === code };
  }
  if (typeof value === "number" || typeof value === "bigint") {
    if (column.numbers === null) return NOTHING;
    return numberRangeNode(column, value, true, value, true);
  }
  const tag = value ? TAG_TRUE : TAG_FALSE;
  const tags = column.tags;
  const count = cachedCount(column, `tag${tag}`, () => tags.reduce((acc, t) => acc + (t === tag ? 1 : 0), 0));
  const test = (s: number) => tags[s] === tag;
  return { estimate: count, indexed: false, collect: () => scanCollect(n, test), test };
}

function numberRangeNode(column: AttributeColumn, lo: ExactNumber, loInc: boolean, hi: ExactNumber, hiInc: boolean): PlanNode {
  const [from, to] = numberRange(column, lo, loInc, hi, hiInc);
  const nums = column.numbers!;
  const tags = column.tags;
  const exact = column.exactSlots !== undefined || typeof lo === "bigint" || typeof hi === "bigint";
  return {
    estimate: to - from,
    indexed: true,
    collect: () => column.numberOrder!.slice(from, to).sort(),
    test: exact
      ? (s) => {
          if (tags[s] !== TAG_NUMBER) return false;
          const x = exactNumberAt(column, s);
          const a = compareExact(x, lo);
          const b = compareExact(x, hi);
          return (loInc ? a >= 0 : a > 0) && (hiInc ? b <= 0 : b < 0);
        }
      : (s) => {
          if (tags[s] !== TAG_NUMBER) return false;
          const x = nums[s]!;
          return (loInc ? x >= lo : x > lo) && (hiInc ? x <= hi : x < hi);
        },
  };
}

function codeRangeNode(column: AttributeColumn, fromCode: number, toCode: number): PlanNode {
  const offsets = column.stringPostingOffsets!;
  const codes = column.codes!;
  if (toCode <= fromCode) return NOTHING;
  return {
    estimate: offsets[toCode]! - offsets[fromCode]!,
    indexed: true,
    collect: () => column.stringPostings!.slice(offsets[fromCode]!, offsets[toCode]!).sort(),
    test: (s) => {
      const c = codes[s]!;
      return c >= fromCode && c < toCode;
    },
  };
}

function rangeNode(index: QueryIndex, field: string, op: "Lt" | "Lte" | "Gt" | "Gte", value: string | ExactNumber): PlanNode {
  const n = index.size;
  const lo = op === "Gt" || op === "Gte";
  const inclusive = op === "Lte" || op === "Gte";
  if (field === "id") {
    if (typeof value !== "string") return NOTHING;
    const ids = index.ids;
    const test = (s: number) => {
      const id = ids.get(s);
      return lo ? (inclusive ? id >= value : id > value) : inclusive ? id <= value : id < value;
    };
    return { estimate: n, indexed: false, collect: () => scanCollect(n, test), test };
  }
  const column = index.attributeColumns.get(field);
  if (column === undefined) return NOTHING;
  if (typeof value === "number" || typeof value === "bigint") {
    if (column.numbers === null) return NOTHING;
    return lo
      ? numberRangeNode(column, value, inclusive, Number.POSITIVE_INFINITY, true)
      : numberRangeNode(column, Number.NEGATIVE_INFINITY, true, value, inclusive);
  }
  if (column.strings === null) return NOTHING;
  const dict = column.strings;
  if (lo) return codeRangeNode(column, inclusive ? lowerBound(dict, value) : upperBound(dict, value), dict.length);
  return codeRangeNode(column, 0, inclusive ? upperBound(dict, value) : lowerBound(dict, value));
}

/** The first character of a string element's key (attribute-columns.ts `elementKey`: `s<string>`). */
const STRING_ELEMENT = 0x73;

function patternNode(index: QueryIndex, field: string, re: PatternMatcher): PlanNode {
  const n = index.size;
  if (field === "id") {
    const ids = index.ids;
    const test = (s: number) => re.test(ids.get(s));
    return { estimate: n, indexed: false, collect: () => scanCollect(n, test), test };
  }
  const column = index.attributeColumns.get(field);
  if (column === undefined) return NOTHING;
  const lists: Uint32Array[] = [];
  let estimate = 0;
  // String values: each distinct value of the dictionary tested once.
  let matchCode: Uint8Array | undefined;
  if (column.strings !== null) {
    const dict = column.strings;
    matchCode = new Uint8Array(dict.length);
    const offsets = column.stringPostingOffsets!;
    for (let c = 0; c < dict.length; c++) {
      if (re.test(dict.get(c))) {
        matchCode[c] = 1;
        estimate += offsets[c + 1]! - offsets[c]!;
        lists.push(column.stringPostings!.subarray(offsets[c]!, offsets[c + 1]!));
      }
    }
  }
  // String elements of array values: each distinct element key (`s<string>`) tested once.
  let matchElem: Uint8Array | undefined;
  if (column.elemKeys !== null) {
    const keys = column.elemKeys;
    matchElem = new Uint8Array(keys.length);
    const offsets = column.elemPostingOffsets!;
    for (let c = 0; c < keys.length; c++) {
      const key = keys.get(c);
      if (key.charCodeAt(0) === STRING_ELEMENT && re.test(key.slice(1))) {
        matchElem[c] = 1;
        estimate += offsets[c + 1]! - offsets[c]!;
        lists.push(column.elemPostings!.subarray(offsets[c]!, offsets[c + 1]!));
      }
    }
  }
  if (lists.length === 0) return NOTHING;
  const codes = column.codes;
  const elemOffsets = column.elemOffsets;
  const elemCodes = column.elemCodes;
  return {
    estimate,
    indexed: true,
    collect: () => sortedUnion(lists),
    test: (s) => {
      if (matchCode !== undefined) {
        const c = codes![s]!;
        if (c >= 0 && matchCode[c] === 1) return true;
      }
      if (matchElem !== undefined && elemOffsets !== null && elemCodes !== null) {
        for (let e = elemOffsets[s]!; e < elemOffsets[s + 1]!; e++) {
          const c = elemCodes[e]!;
          if (c >= 0 && matchElem[c] === 1) return true;
        }
      }
      return false;
    },
  };
}

/** Array values with an element that compares: the element keys that do, then their postings. */
function anyCompareNode(index: QueryIndex, field: string, op: "Lt" | "Lte" | "Gt" | "Gte", value: string | ExactNumber): PlanNode {
  const column = index.attributeColumns.get(field);
  if (column === undefined || column.elemKeys === null) return NOTHING;
  const keys = column.elemKeys;
  const offsets = column.elemPostingOffsets!;
  const tag = typeof value === "string" ? "s" : "n";
  const lists: Uint32Array[] = [];
  let estimate = 0;
  for (let code = 0; code < keys.length; code++) {
    const key = keys.get(code);
    if (key[0] !== tag) continue;
    const element = tag === "s" ? key.slice(1) : elementNumber(key.slice(1));
    const holds = op === "Lt" ? element < value : op === "Lte" ? element <= value : op === "Gt" ? element > value : element >= value;
    if (!holds) continue;
    lists.push(column.elemPostings!.subarray(offsets[code]!, offsets[code + 1]!));
    estimate += offsets[code + 1]! - offsets[code]!;
  }
  let slots: Uint32Array | undefined;
  const collect = () => (slots ??= sortedUnion(lists));
  let mask: Uint8Array | undefined;
  return {
    estimate,
    indexed: true,
    collect,
    test: (s) => {
      if (mask === undefined) {
        mask = new Uint8Array(index.size);
        for (const slot of collect()) mask[slot] = 1;
      }
      return mask[s] === 1;
    },
  };
}

/**
 * Postings of the field's inverted index: one term's, or the union over the
 * terms starting with `prefix`. A sequence: the documents holding all its
 * tokens, then those whose forward index holds them consecutively.
 */
function tokensNode(index: QueryIndex, filter: TokenFilter): PlanNode {
  const field = index.textFields.get(filter.field);
  if (field === undefined) return NOTHING;
  const { exact, prefix } = filterTokens(filter, field.config);
  if (exact.length === 0 && prefix === undefined) return NOTHING;
  const postingsOf = (term: number) => field.postings.subarray(field.termOffsets[term]!, field.termOffsets[term + 1]!);
  const lists: Uint32Array[] = [];
  const all = filter.op !== "ContainsAnyToken";
  for (const token of exact) {
    const term = field.terms.indexOf(token);
    if (term < 0) {
      if (all) return NOTHING;
      continue;
    }
    lists.push(postingsOf(term));
  }
  if (prefix !== undefined) {
    const from = lowerBound(field.terms, prefix);
    let to = from;
    while (to < field.terms.length && field.terms.get(to).startsWith(prefix)) to++;
    if (to === from && all) return NOTHING;
    const range: Uint32Array[] = [];
    for (let t = from; t < to; t++) range.push(postingsOf(t));
    if (all) lists.push(sortedUnion(range));
    else lists.push(...range);
  }
  let verify: ((slot: number) => boolean) | undefined;
  if (filter.op === "ContainsTokenSequence") {
    const sequence = field.sequence;
    if (sequence === null) {
      throw InvalidQueryError.at(filter.path, "unsupported", `ContainsTokenSequence needs the token order of ${JSON.stringify(filter.field)}, which an index stored by an older version lacks; compact the namespace again`);
    }
    const needle = Uint32Array.from(sequenceTokens(filter, field.config), (t) => field.terms.indexOf(t));
    const offsets = sequenceOffsets(field);
    verify = (slot) => holdsTermSequence(sequence, offsets[slot]!, offsets[slot + 1]!, needle);
  }
  let slots: Uint32Array | undefined;
  const collect = () => {
    if (slots === undefined) {
      if (lists.length === 0) slots = EMPTY;
      else if (!all) slots = sortedUnion(lists);
      else {
        let acc = lists[0]!;
        for (let i = 1; i < lists.length; i++) acc = sortedIntersection(acc, lists[i]!);
        slots = verify === undefined ? acc : acc.filter(verify);
      }
    }
    return slots;
  };
  let mask: Uint8Array | undefined;
  return {
    estimate: lists.length === 0 ? 0 : all ? Math.min(...lists.map((l) => l.length)) : lists.reduce((a, l) => a + l.length, 0),
    indexed: true,
    collect,
    test: (s) => {
      if (mask === undefined) {
        mask = new Uint8Array(index.size);
        for (const slot of collect()) mask[slot] = 1;
      }
      return mask[s] === 1;
    },
  };
}

/**
 * Per operand token, the union of the postings of the vocabulary's terms
 * within its edit distance (a trie walk of the sorted vocabulary per token,
 * fuzzy-filter.ts); the tokens' unions intersected.
 */
function fuzzyNode(index: QueryIndex, filter: FuzzyFilter): PlanNode {
  const field = index.textFields.get(filter.field);
  if (field === undefined) return NOTHING;
  const tokens = fuzzyTokens(filter, field.config);
  if (tokens === undefined) return NOTHING;
  const terms = field.terms;
  const lists: Uint32Array[] = [];
  for (const token of tokens) {
    const matched: Uint32Array[] = [];
    const postingsOf = (t: number) => matched.push(field.postings.subarray(field.termOffsets[t]!, field.termOffsets[t + 1]!));
    if (filter.caseSensitive) forEachFuzzyTerm(terms, token, postingsOf);
    else {
      // Lower-casing does not keep the vocabulary's order: every term, each decided by the banded program.
      for (let t = 0; t < terms.length; t++) if (fuzzyHolds(token, scratchCodePoints(terms.get(t).toLowerCase()))) postingsOf(t);
    }
    if (matched.length === 0) return NOTHING;
    lists.push(sortedUnion(matched));
  }
  let slots = lists[0]!;
  for (let i = 1; i < lists.length; i++) slots = sortedIntersection(slots, lists[i]!);
  return listNode(slots, index.size);
}

function containsNode(index: QueryIndex, field: string, values: readonly Scalar[], all: boolean): PlanNode {
  const column = index.attributeColumns.get(field);
  if (column === undefined || column.elemKeys === null || values.length === 0) return all && values.length === 0 ? arraysNode(index, column) : NOTHING;
  const keys = column.elemKeys;
  const offsets = column.elemPostingOffsets!;
  const codes: number[] = [];
  for (const v of values) {
    const code = keys.indexOf(elementKey(v)!);
    if (code < 0) {
      if (all) return NOTHING;
      continue;
    }
    codes.push(code);
  }
  const unique = [...new Set(codes)];
  const lists = unique.map((c) => column.elemPostings!.subarray(offsets[c]!, offsets[c + 1]!));
  const elemOffsets = column.elemOffsets!;
  const elemCodes = column.elemCodes!;
  const wanted = new Set(unique);
  return {
    estimate: lists.length === 0 ? 0 : all ? Math.min(...lists.map((l) => l.length)) : lists.reduce((a, l) => a + l.length, 0),
    indexed: true,
    collect: () => {
      if (lists.length === 0) return EMPTY;
      if (!all) return sortedUnion(lists);
      let acc = lists[0]!;
      for (let i = 1; i < lists.length; i++) acc = sortedIntersection(acc, lists[i]!);
      return acc;
    },
    test: (s) => {
      let found = 0;
      const seen = all ? new Set<number>() : undefined;
      for (let e = elemOffsets[s]!; e < elemOffsets[s + 1]!; e++) {
        const c = elemCodes[e]!;
        if (!wanted.has(c)) continue;
        if (!all) return true;
        if (!seen!.has(c)) {
          seen!.add(c);
          found++;
        }
      }
      return all && found === wanted.size && wanted.size > 0;
    },
  };
}

/** ContainsAll [] matches every array value. */
function arraysNode(index: QueryIndex, column: AttributeColumn | undefined): PlanNode {
  if (column === undefined) return NOTHING;
  const tags = column.tags;
  const test = (s: number) => tags[s] === TAG_ARRAY;
  return { estimate: index.size, indexed: false, collect: () => scanCollect(index.size, test), test };
}

function existsNode(index: QueryIndex, field: string): PlanNode {
  const n = index.size;
  if (field === "id") return { estimate: n, indexed: false, collect: () => scanCollect(n, () => true), test: () => true };
  const column = index.attributeColumns.get(field);
  if (column === undefined) return NOTHING;
  const tags = column.tags;
  const test = (s: number) => tags[s]! > TAG_NULL;
  const count = cachedCount(column, "exists", () => tags.reduce((acc, t) => acc + (t > TAG_NULL ? 1 : 0), 0));
  return { estimate: count, indexed: false, collect: () => scanCollect(n, test), test };
}

function orNode(children: PlanNode[], n: number): PlanNode {
  const indexed = children.every((c) => c.indexed);
  const test = (s: number) => children.some((c) => c.test(s));
  return {
    estimate: Math.min(n, children.reduce((a, c) => a + c.estimate, 0)),
    indexed,
    collect: () => (indexed ? sortedUnion(children.map((c) => c.collect())) : scanCollect(n, test)),
    test,
  };
}

function andNode(children: PlanNode[], n: number): PlanNode {
  const indexedChildren = children.filter((c) => c.indexed);
  const driver = indexedChildren.length === 0 ? undefined : indexedChildren.reduce((a, b) => (b.estimate < a.estimate ? b : a));
  const test = (s: number) => children.every((c) => c.test(s));
  return {
    estimate: Math.min(...children.map((c) => c.estimate)),
    indexed: driver !== undefined,
    collect: () => {
      if (driver === undefined) return scanCollect(n, test);
      const base = driver.collect();
      const others = children.filter((c) => c !== driver);
      if (others.length === 0) return base;
      const out: number[] = [];
      for (const s of base) if (others.every((c) => c.test(s))) out.push(s);
      return Uint32Array.from(out);
    },
    test,
  };
}

/** Plan a (type-checked) filter for one partition. */
export function planFilter(index: QueryIndex, filter: Filter): PlanNode {
  const n = index.size;
  switch (filter.kind) {
    case "And":
      return andNode(filter.filters.map((f) => planFilter(index, f)), n);
    case "Or":
      return orNode(filter.filters.map((f) => planFilter(index, f)), n);
    case "Not":
      return notNode(planFilter(index, filter.filter), n);
    case "Exists":
      return existsNode(index, filter.field);
    case "Compare":
      switch (filter.op) {
        case "Eq":
          return eqNode(index, filter.field, filter.value);
        case "NotEq":
          return notNode(eqNode(index, filter.field, filter.value), n);
        default:
          if (typeof filter.value === "boolean") return NOTHING;
          return rangeNode(index, filter.field, filter.op, filter.value);
      }
    case "List":
      switch (filter.op) {
        case "In":
          return orNode(filter.values.map((v) => eqNode(index, filter.field, v)), n);
        case "NotIn":
          return notNode(orNode(filter.values.map((v) => eqNode(index, filter.field, v)), n), n);
        case "ContainsAny":
          return containsNode(index, filter.field, filter.values, false);
        case "ContainsAll":
          return containsNode(index, filter.field, filter.values, true);
      }
      break;
    case "Glob":
    case "Regex":
    case "FuzzySubstring":
      return patternNode(index, filter.field, patternMatcher(filter));
    case "Tokens":
      return tokensNode(index, filter);
    case "Fuzzy":
      return fuzzyNode(index, filter);
    case "AnyCompare":
      return anyCompareNode(index, filter.field, filter.op, filter.value);
  }
  return NOTHING;
}

/** Evaluate a filter over a partition: a slot list when selective, else a mask. */
export function evaluateFilter(index: QueryIndex, filter: Filter | undefined): Matches {
  if (filter === undefined) return { kind: "all" };
  const n = index.size;
  const plan = planFilter(index, filter);
  if (plan.indexed) {
    const slots = plan.collect();
    if (slots.length <= n * SELECTIVE_FRACTION) return { kind: "list", slots };
    const mask = new Uint8Array(n);
    for (const s of slots) mask[s] = 1;
    return { kind: "mask", mask, count: slots.length };
  }
  const mask = new Uint8Array(n);
  let count = 0;
  for (let s = 0; s < n; s++) {
    if (plan.test(s)) {
      mask[s] = 1;
      count++;
    }
  }
  if (count <= n * SELECTIVE_FRACTION) {
    const slots = new Uint32Array(count);
    let w = 0;
    for (let s = 0; s < n; s++) if (mask[s] === 1) slots[w++] = s;
    return { kind: "list", slots };
  }
  return { kind: "mask", mask, count };
}
