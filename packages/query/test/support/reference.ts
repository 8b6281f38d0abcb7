/**
 * A naive reference for the query executor: resolves live documents from
 * partitions (newest version of an id wins; excluded positions removed) and
 * answers filters, distances, BM25 and aggregations one document at a time
 * in float64, with none of the executor's indexes.
 */
import { sameNumber } from "../../src/exact-number.ts";
import type { DistanceMetric, Filter, JsonValue, QueryDocument } from "../../src/index.ts";
import { seededRandom, gaussian, type RandomSource } from "../../src/seeded-random.ts";
import { resolveTokenizerConfig, Tokenizer, type TokenizerConfig } from "../../src/tokenizer.ts";

export { gaussian, seededRandom };
export type { RandomSource };

/** Live documents: for each id, its version in the newest partition, unless that one is excluded. */
export function liveDocuments(partitions: readonly (readonly QueryDocument[])[], excluded: readonly ReadonlySet<number>[] = []): QueryDocument[] {
  const latest = new Map<string, { doc: QueryDocument; dead: boolean }>();
  partitions.forEach((docs, p) => {
    docs.forEach((doc, position) => {
      latest.set(doc.id, { doc, dead: excluded[p]?.has(position) ?? false });
    });
  });
  return [...latest.values()].filter((e) => !e.dead).map((e) => e.doc);
}

function scalarEquals(a: JsonValue | undefined, b: string | number | bigint | boolean): boolean {
  const numeric = (x: unknown) => typeof x === "number" || typeof x === "bigint";
  if (numeric(a) && numeric(b)) return sameNumber(a as number | bigint, b as number | bigint);
  return typeof a === typeof b && a === b;
}

function globToRegExp(pattern: string, ignoreCase: boolean): RegExp {
  let re = "^";
  for (const c of pattern) re += c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`${re}$`, ignoreCase ? "isu" : "su");
}

export function matchesFilter(doc: QueryDocument, f: Filter): boolean {
  const get = (field: string): JsonValue | undefined => (field === "id" ? doc.id : doc.attributes?.[field]);
  switch (f.kind) {
    case "And":
      return f.filters.every((x) => matchesFilter(doc, x));
    case "Or":
      return f.filters.some((x) => matchesFilter(doc, x));
    case "Not":
      return !matchesFilter(doc, f.filter);
    case "Exists": {
      const v = get(f.field);
      return v !== undefined && v !== null;
    }
    case "Compare": {
      const v = get(f.field);
      if (f.op === "Eq") return scalarEquals(v, f.value);
      if (f.op === "NotEq") return !scalarEquals(v, f.value);
      const numeric = (x: unknown) => typeof x === "number" || typeof x === "bigint";
      if (!(numeric(v) && numeric(f.value)) && (typeof v !== typeof f.value || typeof v !== "string")) return false;
      const a = v as number | bigint | string;
      const b = f.value as number | bigint | string;
      return f.op === "Lt" ? a < b : f.op === "Lte" ? a <= b : f.op === "Gt" ? a > b : a >= b;
    }
    case "List": {
      const v = get(f.field);
      if (f.op === "In") return f.values.some((x) => scalarEquals(v, x));
      if (f.op === "NotIn") return !f.values.some((x) => scalarEquals(v, x));
      if (!Array.isArray(v)) return false;
      const has = (x: string | number | bigint | boolean) => v.some((e) => scalarEquals(e, x));
      return f.op === "ContainsAny" ? f.values.some(has) : f.values.every(has);
    }
    case "Glob": {
      // A string value, or a string element of an array value.
      const v = get(f.field);
      const re = globToRegExp(f.pattern, f.op === "IGlob");
      return typeof v === "string" ? re.test(v) : Array.isArray(v) && v.some((e) => typeof e === "string" && re.test(e));
    }
    case "AnyCompare": {
      const v = get(f.field);
      if (!Array.isArray(v)) return false;
      const b = f.value;
      return v.some((e) => typeof e === typeof b && (f.op === "Lt" ? e! < b : f.op === "Lte" ? e! <= b : f.op === "Gt" ? e! > b : e! >= b));
    }
    case "Tokens": {
      // The generated texts are lower-case words separated by spaces, maybe several elements joined by U+001E.
      const text = doc.text?.[f.field];
      if (text === undefined) return false;
      const elements = text.split("\u001e").map((e) => e.split(" ").filter(Boolean));
      const held = new Set(elements.flat());
      const words = (typeof f.query === "string" ? [f.query] : f.query).flatMap((q) => q.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean));
      if (f.op === "ContainsTokenSequence") {
        // Consecutive, in order, within one element: the words joined by single spaces occur between spaces.
        if (words.length === 0) return false;
        return elements.some((e) => ` ${e.join(" ")} `.includes(` ${words.join(" ")} `));
      }
      const prefix = f.lastAsPrefix ? words.pop() : undefined;
      if (words.length === 0 && prefix === undefined) return false;
      const prefixed = prefix !== undefined && [...held].some((w) => w.startsWith(prefix));
      if (f.op === "ContainsAllTokens") return words.every((w) => held.has(w)) && (prefix === undefined || prefixed);
      return words.some((w) => held.has(w)) || prefixed;
    }
    case "Fuzzy": {
      // Full-matrix Levenshtein over code points, every document word against every query word.
      const text = doc.text?.[f.field];
      if (text === undefined) return false;
      const fold = (w: string) => [...(f.caseSensitive ? w : w.toLowerCase())];
      const held = text.split(" ").filter(Boolean).map(fold);
      const words = [...new Set(f.query.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean))];
      if (words.length === 0) return false;
      const levenshtein = (a: string[], b: string[]) => {
        const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
        for (let i = 1; i <= a.length; i++) {
          for (let j = 1; j <= b.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
        return d[a.length]![b.length]!;
      };
      return words.every((w) => {
        const q = fold(w);
        const allowed = f.distances.filter((e) => e.minQueryChars <= q.length).at(-1);
        return allowed !== undefined && held.some((h) => levenshtein(q, h) <= allowed.distance);
      });
    }
    case "Regex": {
      // The generated patterns mean the same in RE2 and JavaScript.
      const v = get(f.field);
      const re = new RegExp(f.pattern, "u");
      return typeof v === "string" ? re.test(v) : Array.isArray(v) && v.some((e) => typeof e === "string" && re.test(e));
    }
    case "FuzzySubstring": {
      // Every substring of the value (the empty one too) against the whole text, full-matrix Levenshtein.
      const v = get(f.field);
      const values = typeof v === "string" ? [v] : Array.isArray(v) ? v.filter((e): e is string => typeof e === "string") : [];
      const fold = (w: string) => [...(f.caseSensitive ? w : w.toLowerCase())];
      const q = fold(f.query);
      const allowed = f.distances.filter((e) => e.minQueryChars <= q.length).at(-1);
      if (allowed === undefined) return false;
      return values.some((value) => {
      const chars = fold(value);
      const levenshtein = (a: string[], b: string[]) => {
        const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
        for (let i = 1; i <= a.length; i++) {
          for (let j = 1; j <= b.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
        return d[a.length]![b.length]!;
      };
      for (let s = 0; s <= chars.length; s++) {
        for (let e = s; e <= chars.length; e++) if (levenshtein(q, chars.slice(s, e)) <= allowed.distance) return true;
      }
      return false;
      });
    }
  }
}

/** Distance as the executor reports it (smaller is closer), in float64. */
export function referenceDistance(metric: DistanceMetric, q: ArrayLike<number>, v: ArrayLike<number>): number {
  let dot = 0;
  let qq = 0;
  let vv = 0;
  let l2 = 0;
  for (let i = 0; i < q.length; i++) {
    dot += q[i]! * v[i]!;
    qq += q[i]! * q[i]!;
    vv += v[i]! * v[i]!;
    l2 += (q[i]! - v[i]!) ** 2;
  }
  if (metric === "DOT") return -dot;
  if (metric === "EUCLIDEAN") return Math.sqrt(l2);
  return vv === 0 ? 1 : 1 - dot / Math.sqrt(qq * vv);
}

/**
 * Reference BM25 scores (k1 1.2, b 0.75) over live documents with the field.
 * With `lastAsPrefix` the last token stands for every term of the live
 * documents starting with it: a document holding one scores 1.0 for it, once
 * (turbopuffer's rule; the engine caps the expansion at 64 terms, which
 * these small vocabularies never reach).
 */
export function referenceBm25(docs: readonly QueryDocument[], field: string, query: string, config: TokenizerConfig = {}, lastAsPrefix = false): Map<string, number> {
  const tokenizer = new Tokenizer(resolveTokenizerConfig(config));
  const withField = docs.filter((d) => d.text?.[field] !== undefined);
  const tokens = new Map(withField.map((d) => [d.id, tokenizer.tokenize(d.text![field]!)]));
  const N = withField.length;
  const avgdl = [...tokens.values()].reduce((a, t) => a + t.length, 0) / N;
  const queryTokens = tokenizer.tokenize(query);
  const prefix = lastAsPrefix ? queryTokens.pop() : undefined;
  const terms = [...new Set(queryTokens)];
  const scores = new Map<string, number>();
  if (prefix !== undefined) {
    for (const [id, t] of tokens) if (t.some((term) => term.startsWith(prefix))) scores.set(id, 1);
  }
  for (const term of terms) {
    const df = [...tokens.values()].filter((t) => t.includes(term)).length;
    if (df === 0) continue;
    const idf = Math.log(1 + (N - df + 0.5) / (df + 0.5));
    for (const [id, t] of tokens) {
      const tf = t.filter((x) => x === term).length;
      if (tf === 0) continue;
      const s = (idf * tf * 2.2) / (tf + 1.2 * (1 - 0.75 + (0.75 * t.length) / avgdl));
      scores.set(id, (scores.get(id) ?? 0) + s);
    }
  }
  return scores;
}

const COLORS = ["red", "green", "blue", "cyan", "magenta"];
const WORDS = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "tau", "phi"];

/** Random documents with a predictable attribute schema (each field one JSON type, sometimes missing). */
export function randomDocuments(random: RandomSource, count: number, options: { dimension: number; idPrefix?: string; ids?: number }): QueryDocument[] {
  const docs: QueryDocument[] = [];
  const used = new Set<string>();
  while (docs.length < count) {
    const id = `${options.idPrefix ?? "d"}${String(Math.floor(random() * (options.ids ?? count * 4))).padStart(5, "0")}`;
    if (used.has(id)) continue;
    used.add(id);
    const attributes: Record<string, JsonValue> = {};
    if (random() < 0.9) attributes["n"] = Math.floor(random() * 20);
    if (random() < 0.8) attributes["price"] = Math.round(random() * 10000) / 100;
    if (random() < 0.85) attributes["color"] = COLORS[Math.floor(random() * COLORS.length)]!;
    if (random() < 0.7) attributes["tags"] = Array.from({ length: Math.floor(random() * 4) }, () => WORDS[Math.floor(random() * WORDS.length)]!);
    if (random() < 0.6) attributes["flag"] = random() < 0.5;
    if (random() < 0.1) attributes["nothing"] = null;
    const doc: QueryDocument = {
      id,
      ...(random() < 0.95 ? { vector: Array.from({ length: options.dimension }, () => gaussian(random)) } : {}),
      text: { body: Array.from({ length: 1 + Math.floor(random() * 8) }, () => WORDS[Math.floor(random() * WORDS.length)]!).join(" ") },
      attributes,
      ...(random() < 0.8
        ? { sparse: { indices: [...new Set(Array.from({ length: 3 }, () => Math.floor(random() * 12)))].sort((a, b) => a - b), values: [] as number[] } }
        : {}),
    };
    if (doc.sparse !== undefined) (doc.sparse.values as number[]).push(...Array.from(doc.sparse.indices, () => Math.round(random() * 100) / 10));
    docs.push(doc);
  }
  return docs;
}

/** A random filter tree (JSON form) over the randomDocuments schema. */
export function randomFilter(random: RandomSource, depth = 0): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const r = random();
  if (depth < 2 && r < 0.25) {
    const op = pick(["And", "Or"]);
    return [op, Array.from({ length: 1 + Math.floor(random() * 3) }, () => randomFilter(random, depth + 1))];
  }
  if (depth < 2 && r < 0.32) return ["Not", randomFilter(random, depth + 1)];
  const leaf = Math.floor(random() * 14);
  switch (leaf) {
    case 0:
      return ["n", pick(["Eq", "NotEq", "Lt", "Lte", "Gt", "Gte"]), Math.floor(random() * 22) - 1];
    case 1:
      return ["price", pick(["Lt", "Lte", "Gt", "Gte"]), Math.round(random() * 10000) / 100];
    case 2:
      return ["color", pick(["Eq", "NotEq", "Lt", "Gte"]), pick([...COLORS, "zzz", "a"])];
    case 3:
      return ["color", pick(["In", "NotIn"]), Array.from({ length: 1 + Math.floor(random() * 3) }, () => pick(COLORS))];
    case 4:
      return random() < 0.5
        ? ["color", pick(["Glob", "IGlob"]), pick(["r*", "*e*", "?lue", "G*", "*"])]
        : [pick(["color", "id"]), "Regex", pick(["^r", "e$", "[ae]l", "^(gr|bl)", "u.?e", "d0+1", "^$", "x|n"])];
    case 5:
      return ["tags", pick(["ContainsAny", "ContainsAll"]), Array.from({ length: Math.floor(random() * 3) }, () => pick(WORDS))];
    case 6:
      return [pick(["n", "price", "color", "tags", "flag", "nothing", "absent"]), "Exists"];
    case 7:
      return ["flag", pick(["Eq", "NotEq"]), random() < 0.5];
    case 8:
      return ["id", pick(["Eq", "Lt", "Gte", "Glob"]), pick(["d0001*", "d00100", "d0*5", "d01"])];
    case 9:
      return ["n", pick(["In", "NotIn"]), Array.from({ length: 1 + Math.floor(random() * 4) }, () => Math.floor(random() * 20))];
    case 10:
      return ["id", "In", ["d00003", "d00100", "x"]];
    case 12:
      return ["tags", pick(["AnyLt", "AnyLte", "AnyGt", "AnyGte"]), pick(["beta", "omega", "a", "zeta"])];
    case 11: {
      const op = pick(["ContainsAllTokens", "ContainsAnyToken"]);
      const query = pick<unknown>(["alpha beta", "GAMMA", "", "the", ["delta", "Phi"], "al", "si ta", "zzz omega"]);
      return random() < 0.3 ? ["body", op, query, { lastAsPrefix: true }] : ["body", op, query];
    }
    default:
      return ["absent", pick(["Eq", "NotEq"]), 3];
  }
}
