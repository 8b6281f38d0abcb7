/**
 * coldBm25: a BM25 ranking (`[field, "BM25", text]`) over indexed segments
 * that are not loaded, from ranged reads of their text indexes
 * (ColdArrayReader), with exactly the hits `executeQuery` gives over the
 * loaded partitions (execute-query.ts bm25Candidates):
 * - the query's terms are made under each partition's own config for the
 *   field (query-terms.ts), k1 and b are the given ones, else the newest
 *   partition's (the tail's, else the newest segment's that has it); with
 *   `lastAsPrefix` the last word's token is expanded as the loaded path
 *   expands it (bm25-stats.ts expandedQueryTerms): per segment, the
 *   prefix's lower bound in the vocabulary (the probes of a lookup), then
 *   one ranged read of the following MAX_PREFIX_TERMS entries;
 * - per segment, each term is looked up in the sorted vocabulary (a few
 *   rounds of parallel probes, ColdArrayReader.findString), then its
 *   postings and term frequencies are read by range;
 * - corpus statistics over live documents: each segment's document count
 *   and total length from its meta document, less the dead slots' (their
 *   `present` and `docLengths` read by element), the document frequency
 *   less the dead postings; the tail's chunks are in memory (their
 *   superseded slots dead);
 * - every live posting is scored with the same float64 expression, terms
 *   in the same order, with the document lengths of the matched slots read
 *   by element (the blocks covering them);
 * - with a filter, only matching rows are ranked (the statistics are the
 *   unfiltered ones, as loaded);
 * - top-k by (score desc, id asc): per segment the candidates down to the
 *   k-th best score (ties included) get their ids from their clusters
 *   (ColdRows), then every partition's are merged.
 */
import type { ColdArrayReader, ColdIndexFile } from "./cold-array-reader.ts";
import type { DeadSlots } from "./cold-dead-slots.ts";
import type { ColdRows } from "./cold-rows.ts";
import type { ColdTailChunk } from "./cold-tail.ts";
import { CorruptStoredIndexError } from "../errors.ts";
import { compareStrings } from "../attribute-columns.ts";
import type { Bm25Params } from "../bm25-stats.ts";
import { MAX_PREFIX_TERMS, prefixRange } from "../bm25-terms.ts";
import { storedTokenizerConfig } from "../index-codec.ts";
import type { QueryIndex } from "../query-index.ts";
import { PREFIX_MATCH_SCORE, prefixQueryTerms, type QueryTerms, queryTerms, TERM_PREFIX, TERM_WORD, termKind, termTokens, withExpansions } from "../query-terms.ts";
import { type ResolvedTokenizerConfig, tokenizationKey } from "../tokenizer.ts";

/** A ranked row: `segment` indexes the cold segments, `-1 - c` is the tail's chunk c. */
export interface ColdHit {
  readonly segment: number;
  readonly slot: number;
  readonly score: number;
  readonly id: string;
}

/** Where a cold BM25 clause is scored: the segments (with their dead slots) and the tail's chunks. */
export interface ColdBm25Context {
  readonly reader: ColdArrayReader;
  readonly rows: ColdRows;
  /** The indexed segments, oldest first, and their dead slots (being resolved while the terms are looked up). */
  readonly files: readonly ColdIndexFile[];
  readonly dead: Promise<readonly DeadSlots[]>;
  /** The tail's chunks, oldest first (newer than every segment; nothing shadows them). */
  readonly tail: readonly ColdTailChunk[];
}

/** One BM25 clause: `[field, "BM25", query]`. */
export interface ColdBm25Clause {
  readonly field: string;
  readonly query: string;
  /** The field's BM25 parameters (the namespace's options); default the newest partition's. */
  readonly params?: Bm25Params | undefined;
  /** The last token is a prefix (bm25-terms.ts). */
  readonly lastAsPrefix?: boolean | undefined;
}

export interface ColdBm25Input extends ColdBm25Context, ColdBm25Clause {
  readonly k: number;
  /** With a filter: per segment, 1 = the slot matches (scored into the statistics either way, as the loaded path does). */
  readonly segmentMatches?: readonly Uint8Array[] | undefined;
  /** With a filter: whether a slot of tail chunk `c` matches. */
  readonly tailMatches?: ((c: number, slot: number) => boolean) | undefined;
}

/** A clause's scores of the live rows that hold one of its terms (the loaded accumulator's sums). */
export interface ColdClauseScores {
  /** Per segment: the matched slots in first-touch order and the scores by slot (null: nothing matched). */
  readonly segments: readonly ({ readonly touched: readonly number[]; readonly scores: Float64Array } | null)[];
  /** Per tail chunk: the matched slots and their scores. */
  readonly tail: readonly Map<number, number>[];
}

type TextMeta = ColdIndexFile["meta"]["text"][number];
type TailText = QueryIndex["textFields"] extends ReadonlyMap<string, infer T> ? T : never;

/** Rows tied with the k-th best score whose ids are read from their clusters before `idOrder` ranks them instead. */
const TIES_READ = 64;

/** One term's postings in one segment. */
interface TermPostings {
  readonly slots: Uint32Array;
  readonly frequencies: Uint32Array;
}

/** The best k rows of one BM25 clause (score desc, id asc). */
export async function coldBm25(input: ColdBm25Input): Promise<ColdHit[]> {
  const { reader, rows, files, tail, k } = input;
  const scored = await coldBm25Scores(input, input);
  if (scored === null) return [];
  const hits: ColdHit[] = [];
  await Promise.all(
    scored.segments.map(async (segment, s) => {
      if (segment === null) return;
      const matches = input.segmentMatches?.[s];
      const ranked = matches === undefined ? segment.touched : segment.touched.filter((slot) => matches[slot] === 1);
      if (ranked.length === 0) return;
      for (const hit of await topOfSegment(reader, rows, files[s] as ColdIndexFile, s, ranked, segment.scores, k)) hits.push(hit);
    }),
  );
  scored.tail.forEach((scores, c) => {
    const index = (tail[c] as ColdTailChunk).index;
    for (const [slot, score] of scores) if (input.tailMatches === undefined || input.tailMatches(c, slot)) hits.push({ segment: -1 - c, slot, score, id: index.ids.get(slot) });
  });
  return hits.sort(byScoreThenId).slice(0, k);
}

/**
 * A clause's score of every live row holding one of its terms, with the corpus statistics over every live
 * row of every partition (bm25-stats.ts bm25Stats and forEachBm25Posting, the same float64 expressions in
 * the same order); null when it cannot match (no field, no terms, no live document).
 */
export async function coldBm25Scores(context: ColdBm25Context, clause: ColdBm25Clause): Promise<ColdClauseScores | null> {
  const { reader, files, tail } = context;
  const { field } = clause;
  const texts = files.map((file) => file.meta.text.find((t) => t.name === field));
  const tailTexts = tail.map((chunk) => chunk.index.textFields.get(field));
  const configs = texts.map((text) => (text === undefined ? undefined : storedTokenizerConfig(field, text.config)));
  const present = configs.filter((c): c is ResolvedTokenizerConfig => c !== undefined);
  for (const text of tailTexts) if (text !== undefined) present.push(text.config);
  const newest = present[present.length - 1];
  if (newest === undefined) return null;
  const query = clause.lastAsPrefix === true ? await expandedTerms(clause.query, reader, files, texts, configs, tailTexts) : queryTerms(clause.query, present);
  const terms = query.terms;
  if (terms.length === 0) return null;
  const { k1, b } = clause.params ?? newest;

  // Per segment: the terms' postings (null: not in the vocabulary), the dead slots' presence and lengths.
  const segments = await Promise.all(
    files.map(async (file, s) => {
      const text = texts[s];
      const config = configs[s];
      if (text === undefined || config === undefined) return null;
      const [postings, [present, lengths]] = await Promise.all([
        Promise.all(termTokens(query, config).map((term) => (term === null ? null : termPostings(reader, file, text, term)))),
        context.dead.then((dead): Promise<[Map<number, number>, Map<number, number>]> => {
          const deadSlots = (dead[s] as DeadSlots).slots;
          return Promise.all([reader.gather(file, text.present, "u8", deadSlots), reader.gather(file, text.docLengths, "u32", deadSlots)]);
        }),
      ]);
      return { text, postings, present, lengths };
    }),
  );
  const dead = await context.dead;
  let docCount = 0;
  let totalLength = 0;
  const df = new Float64Array(terms.length);
  segments.forEach((segment, s) => {
    if (segment === null) return;
    docCount += segment.text.docCount;
    totalLength += segment.text.totalLength;
    const mask = (dead[s] as DeadSlots).mask;
    for (const slot of (dead[s] as DeadSlots).slots) {
      if (segment.present.get(slot) === 1) {
        docCount--;
        totalLength -= segment.lengths.get(slot) as number;
      }
    }
    segment.postings.forEach((p, i) => {
      if (p === null) return;
      let count = p.slots.length;
      if (mask !== null) for (const slot of p.slots) if (mask[slot] !== 0) count--;
      df[i]! += count;
    });
  });
  // The tail's chunks, in memory (bm25Stats over a partition with dead slots).
  const tailIds = tail.map((chunk, c) => {
    const text = tailTexts[c];
    if (text === undefined) return null;
    docCount += text.docCount;
    totalLength += text.totalLength;
    for (const slot of chunk.deadSlots) {
      if (text.present[slot] === 1) {
        docCount--;
        totalLength -= text.docLengths[slot]!;
      }
    }
    return termTokens(query, text.config).map((t, i) => {
      if (t === null) return -1;
      const id = text.terms.indexOf(t);
      if (id < 0) return -1;
      const from = text.termOffsets[id]!;
      const to = text.termOffsets[id + 1]!;
      let count = to - from;
      if (chunk.dead !== null) for (let e = from; e < to; e++) if (chunk.dead[text.postings[e]!] !== 0) count--;
      df[i]! += count;
      return id;
    });
  });
  if (docCount <= 0) return null;
  const avgdl = totalLength / docCount;
  const idf = Array.from(df, (d) => Math.log(1 + (docCount - d + 0.5) / (d + 0.5)));
  const norm = k1 * (1 - b);
  const lenFactor = (k1 * b) / avgdl;

  // The segments: score every live posting (document lengths read for the matched slots).
  const segmentScores = await Promise.all(
    segments.map(async (segment, s) => {
      if (segment === null) return null;
      const file = files[s] as ColdIndexFile;
      const mask = (dead[s] as DeadSlots).mask;
      const n = file.meta.size;
      // Scores by slot, touched slots in first-touch order (as the loaded accumulator).
      const scores = new Float64Array(n);
      const seen = new Uint8Array(n);
      const touched: number[] = [];
      for (const p of segment.postings) {
        if (p === null) continue;
        for (const slot of p.slots) {
          if ((mask === null || mask[slot] === 0) && seen[slot] === 0) {
            seen[slot] = 1;
            touched.push(slot);
          }
        }
      }
      if (touched.length === 0) return null;
      // The matched rows' lengths: by element, or the whole array when they are many.
      const lengthOf = await lengthsOf(reader, file, segment.text, touched);
      // As forEachBm25Posting: words scored as terms, a prefix match PREFIX_MATCH_SCORE once per document, in term order.
      const prefixed = new Uint8Array(n);
      for (let i = 0; i < terms.length; i++) {
        const p = segment.postings[i];
        if (p === null || p === undefined || df[i] === 0) continue;
        const kind = termKind(query, i);
        const w = idf[i]!;
        for (let e = 0; e < p.slots.length; e++) {
          const slot = p.slots[e]!;
          if (mask !== null && mask[slot] !== 0) continue;
          if ((kind & TERM_WORD) !== 0) {
            const tf = p.frequencies[e]!;
            scores[slot]! += (w * tf * (k1 + 1)) / (tf + norm + lenFactor * lengthOf(slot));
          }
          if ((kind & TERM_PREFIX) !== 0 && prefixed[slot] === 0) {
            prefixed[slot] = 1;
            scores[slot]! += PREFIX_MATCH_SCORE;
          }
        }
      }
      return { touched, scores };
    }),
  );
  const tailScores = tail.map((chunk, c) => {
    const scores = new Map<number, number>();
    const text = tailTexts[c];
    const ids = tailIds[c];
    if (text === undefined || ids === null || ids === undefined) return scores;
    const prefixed = new Set<number>();
    for (let i = 0; i < terms.length; i++) {
      const id = ids[i]!;
      if (id < 0 || df[i] === 0) continue;
      const kind = termKind(query, i);
      const w = idf[i]!;
      for (let e = text.termOffsets[id]!; e < text.termOffsets[id + 1]!; e++) {
        const slot = text.postings[e]!;
        if (chunk.dead !== null && chunk.dead[slot] !== 0) continue;
        if ((kind & TERM_WORD) !== 0) {
          const tf = text.frequencies[e]!;
          scores.set(slot, (scores.get(slot) ?? 0) + (w * tf * (k1 + 1)) / (tf + norm + lenFactor * text.docLengths[slot]!));
        }
        if ((kind & TERM_PREFIX) !== 0 && !prefixed.has(slot)) {
          prefixed.add(slot);
          scores.set(slot, (scores.get(slot) ?? 0) + PREFIX_MATCH_SCORE);
        }
      }
    }
    return scores;
  });
  return { segments: segmentScores, tail: tailScores };
}

/** (score desc, id asc): the order of a ranking's rows. */
export const byScoreThenId = (a: ColdHit, b: ColdHit): number => (a.score !== b.score ? b.score - a.score : compareStrings(a.id, b.id));

/**
 * A segment's best k by (score desc, id asc): the candidates above the
 * k-th best score, and of those tied with it the first ones by id. Many
 * ties (a one-term query over short texts) are ordered by their rank in
 * `idOrder` (id byte order; read whole) rather than by reading every tied
 * row's cluster; byte order is UTF-16 order unless a chosen id holds a
 * character in U+E000..U+FFFF, and then every tied row's id is read.
 */
export async function topOfSegment(
  reader: ColdArrayReader,
  rows: ColdRows,
  file: ColdIndexFile,
  s: number,
  slots: readonly number[],
  scores: Float64Array,
  k: number,
): Promise<ColdHit[]> {
  if (k <= 0) return [];
  let kept: number[] = [...slots];
  if (slots.length > k) {
    const sorted = Float64Array.from(slots, (slot) => scores[slot]!).sort();
    const kth = sorted[sorted.length - k]!;
    const above = slots.filter((slot) => scores[slot]! > kth);
    const tied = slots.filter((slot) => scores[slot] === kth);
    const need = k - above.length;
    kept = [...above, ...tied];
    if (tied.length > need + TIES_READ) {
      const n = file.meta.size;
      const isTied = new Uint8Array(n);
      for (const slot of tied) isTied[slot] = 1;
      const order = await reader.array(file, file.meta.idOrder, "u32", 0, n);
      const first: number[] = [];
      for (let r = 0; r < order.length && first.length < need; r++) {
        const slot = order[r]!;
        if (slot >= n) throw new CorruptStoredIndexError(`query index ${file.key}: idOrder holds ${slot}, out of range`, file.key);
        if (isTied[slot] === 1) first.push(slot);
      }
      const firstIds = await rows.ids(file, first);
      if (![...firstIds.values()].some((id) => /[\uE000-\uFFFF]/.test(id))) kept = [...above, ...first];
    }
  }
  const ids = await rows.ids(file, kept);
  return kept
    .map((slot) => ({ segment: s, slot, score: scores[slot]!, id: ids.get(slot) as string }))
    .sort(byScoreThenId)
    .slice(0, k);
}

/** The token counts of `slots`: read by element, or the whole array when they are more than 1 in 16 rows. */
async function lengthsOf(reader: ColdArrayReader, file: ColdIndexFile, text: TextMeta, slots: readonly number[]): Promise<(slot: number) => number> {
  const n = file.meta.size;
  if (slots.length * 16 > n) {
    const all = await reader.array(file, text.docLengths, "u32", 0, n);
    return (slot) => all[slot]!;
  }
  const some = await reader.gather(file, text.docLengths, "u32", slots);
  return (slot) => some.get(slot) as number;
}

/** The first MAX_PREFIX_TERMS terms of a segment's vocabulary that start with `prefix`. */
async function prefixTerms(reader: ColdArrayReader, file: ColdIndexFile, text: TextMeta, prefix: string): Promise<string[]> {
  const from = await reader.lowerBoundString(file, text.terms, prefix);
  const to = Math.min(reader.stringCount(file, text.terms), from + MAX_PREFIX_TERMS);
  const out: string[] = [];
  for (const term of await reader.strings(file, text.terms, from, to)) {
    if (!term.startsWith(prefix)) break;
    out.push(term);
  }
  return out;
}

/** A term's postings in a segment (null when its vocabulary lacks the term). */
async function termPostings(reader: ColdArrayReader, file: ColdIndexFile, text: TextMeta, term: string): Promise<TermPostings | null> {
  const id = await reader.findString(file, text.terms, term);
  if (id < 0) return null;
  const bounds = await reader.array(file, text.termOffsets, "u32", id, id + 2);
  const from = bounds[0]!;
  const to = bounds[1]!;
  if (to < from) throw new CorruptStoredIndexError(`query index ${file.key}: term offsets are not monotone`, file.key);
  const [slots, frequencies] = await Promise.all([
    reader.array(file, text.postings, "u32", from, to),
    reader.array(file, text.frequencies, "u32", from, to),
  ]);
  for (const slot of slots) if (slot >= file.meta.size) throw new CorruptStoredIndexError(`query index ${file.key}: postings hold ${slot}, out of range`, file.key);
  return { slots, frequencies };
}

/**
 * The terms of a `lastAsPrefix` query, as bm25-stats.ts `expandedQueryTerms` makes them over loaded
 * partitions: the last word's token under each partition's config expanded over that partition's vocabulary
 * (a segment's by ranged reads, prefixTerms; the tail's in memory), the first MAX_PREFIX_TERMS of the union.
 */
async function expandedTerms(
  query: string,
  reader: ColdArrayReader,
  files: readonly ColdIndexFile[],
  texts: readonly (TextMeta | undefined)[],
  configs: readonly (ResolvedTokenizerConfig | undefined)[],
  tailTexts: readonly (TailText | undefined)[],
): Promise<QueryTerms> {
  const parts: { config: ResolvedTokenizerConfig; expand: (prefix: string) => Promise<string[]> }[] = [];
  files.forEach((file, s) => {
    const text = texts[s];
    const config = configs[s];
    if (text !== undefined && config !== undefined) parts.push({ config, expand: (prefix) => prefixTerms(reader, file, text, prefix) });
  });
  for (const tailText of tailTexts) if (tailText !== undefined) parts.push({ config: tailText.config, expand: async (prefix) => prefixRange(tailText.terms, prefix) });
  const { base, prefix } = prefixQueryTerms(
    query,
    parts.map((p) => p.config),
  );
  const found = await Promise.all(
    parts.map((p) => {
      const token = prefix[base.keys.indexOf(tokenizationKey(p.config))];
      return token === null || token === undefined ? Promise.resolve([]) : p.expand(token);
    }),
  );
  const expansions = new Map<string, Set<string>>();
  parts.forEach((p, i) => {
    const key = tokenizationKey(p.config);
    let set = expansions.get(key);
    if (set === undefined) {
      set = new Set();
      expansions.set(key, set);
    }
    for (const term of found[i] as string[]) set.add(term);
  });
  return withExpansions(base, expansions, MAX_PREFIX_TERMS);
}
