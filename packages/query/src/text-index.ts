/**
 * The inverted index of one text field, for BM25: a sorted vocabulary
 * (StringTable), postings per term as CSR (slots ascending, with the term
 * frequency beside each), the token count of every slot's field, and
 * which slots have the field at all. Corpus statistics (document count,
 * total length) are kept so a query over several partitions can sum them.
 *
 * The forward index (`sequence`): every slot's tokens in text order, as
 * term ids, slot after slot (slot s holds `docLengths[s]` of them; the
 * offsets are their prefix sums, `sequenceOffsets`). Phrase filters
 * (`ContainsTokenSequence`, token-filter.ts) verify their candidates with
 * it. Indexes stored before it existed load with `sequence` null.
 *
 * A text of several elements (tokenizer.ts, TEXT_ELEMENT_SEPARATOR: the
 * strings of an array) keeps its element boundaries in `sequence`: the
 * first token of each element after the first has ELEMENT_START (bit 31)
 * set beside its term id. A boundary is a flag, not an entry, so a slot
 * still holds `docLengths[s]` entries and the prefix sums still locate it;
 * a phrase (holdsTermSequence, token-filter.ts) may start on a flagged
 * token and may not continue onto one. Term ids stay below 2^31.
 */
import { compareStrings } from "./attribute-columns.ts";
import { StringTable } from "./string-table.ts";
import { type ResolvedTokenizerConfig, Tokenizer } from "./tokenizer.ts";

export interface TextFieldIndex {
  readonly name: string;
  readonly config: ResolvedTokenizerConfig;
  readonly terms: StringTable;
  readonly termOffsets: Uint32Array;
  readonly postings: Uint32Array;
  readonly frequencies: Uint32Array;
  readonly docLengths: Uint32Array;
  readonly present: Uint8Array;
  /** Term ids of every slot's tokens in text order, slot after slot (ELEMENT_START on an element's first token); null in indexes stored without it. */
  readonly sequence: Uint32Array | null;
  /** Slots that have the field. */
  readonly docCount: number;
  /** Sum of docLengths. */
  readonly totalLength: number;
}

/** The flag, in `sequence`, of the first token of an element after the first (a text of several elements). */
export const ELEMENT_START = 0x8000_0000;

/** True when some token of `sequence` starts an element (the index holds a text of several elements). */
export function hasElementStarts(sequence: Uint32Array): boolean {
  for (let i = 0; i < sequence.length; i++) if (sequence[i]! >= ELEMENT_START) return true;
  return false;
}

class GrowableU32 {
  data = new Uint32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Uint32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
}

/** Build the index of field `name` from each slot's text (undefined = field absent). */
export function buildTextFieldIndex(
  name: string,
  texts: readonly (string | undefined)[],
  config: ResolvedTokenizerConfig,
): TextFieldIndex {
  const tokenizer = new Tokenizer(config);
  const n = texts.length;
  const termIdOf = new Map<string, number>();
  const termStrings: string[] = [];
  const postTerm = new GrowableU32();
  const postSlot = new GrowableU32();
  const postTf = new GrowableU32();
  const sequence = new GrowableU32();
  const starts: number[] = [];
  const docLengths = new Uint32Array(n);
  const present = new Uint8Array(n);
  let docCount = 0;
  let totalLength = 0;
  for (let slot = 0; slot < n; slot++) {
    const text = texts[slot];
    if (text === undefined) continue;
    present[slot] = 1;
    docCount++;
    starts.length = 0;
    const tokens = tokenizer.tokenize(text, starts);
    docLengths[slot] = tokens.length;
    totalLength += tokens.length;
    if (tokens.length === 0) continue;
    const ids = new Uint32Array(tokens.length);
    const first = sequence.length;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      let id = termIdOf.get(t);
      if (id === undefined) {
        id = termStrings.length;
        termIdOf.set(t, id);
        termStrings.push(t);
      }
      ids[i] = id;
      sequence.push(id);
    }
    // An element's first token (not the slot's first: a phrase may start there anyway) carries the flag.
    for (const at of starts) if (at > 0 && at < tokens.length) sequence.data[first + at]! |= ELEMENT_START;
    ids.sort();
    let run = 1;
    for (let i = 1; i <= ids.length; i++) {
      if (i < ids.length && ids[i] === ids[i - 1]) {
        run++;
        continue;
      }
      postTerm.push(ids[i - 1]!);
      postSlot.push(slot);
      postTf.push(run);
      run = 1;
    }
  }
  // Sort the vocabulary; remap first-seen ids to sorted ids.
  const order = termStrings.map((_, i) => i).sort((a, b) => compareStrings(termStrings[a]!, termStrings[b]!));
  const rank = new Uint32Array(termStrings.length);
  order.forEach((id, r) => {
    rank[id] = r;
  });
  const T = termStrings.length;
  const termOffsets = new Uint32Array(T + 1);
  for (let i = 0; i < postTerm.length; i++) termOffsets[rank[postTerm.data[i]!]! + 1]!++;
  for (let t = 0; t < T; t++) termOffsets[t + 1]! += termOffsets[t]!;
  const cursor = termOffsets.slice(0, T);
  const postings = new Uint32Array(postTerm.length);
  const frequencies = new Uint32Array(postTerm.length);
  // Postings were produced in slot order, so each term's list stays ascending.
  for (let i = 0; i < postTerm.length; i++) {
    const at = cursor[rank[postTerm.data[i]!]!]!++;
    postings[at] = postSlot.data[i]!;
    frequencies[at] = postTf.data[i]!;
  }
  const forward = new Uint32Array(sequence.length);
  for (let i = 0; i < sequence.length; i++) {
    const entry = sequence.data[i]!;
    forward[i] = (rank[entry & ~ELEMENT_START]! | (entry & ELEMENT_START)) >>> 0;
  }
  return {
    name,
    config,
    terms: StringTable.fromStrings(order.map((id) => termStrings[id]!)),
    termOffsets,
    postings,
    frequencies,
    docLengths,
    present,
    sequence: forward,
    docCount,
    totalLength,
  };
}

const sequenceOffsetsCache = new WeakMap<TextFieldIndex, Uint32Array>();

/** Where each slot's tokens start in `sequence` (n + 1 offsets: prefix sums of docLengths). */
export function sequenceOffsets(field: TextFieldIndex): Uint32Array {
  let offsets = sequenceOffsetsCache.get(field);
  if (offsets === undefined) {
    const n = field.docLengths.length;
    offsets = new Uint32Array(n + 1);
    for (let s = 0; s < n; s++) offsets[s + 1] = offsets[s]! + field.docLengths[s]!;
    sequenceOffsetsCache.set(field, offsets);
  }
  return offsets;
}
