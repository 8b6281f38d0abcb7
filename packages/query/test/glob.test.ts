/**
 * Glob / IGlob matching: linear-time (an adversarial `*a*a…*b` against a long
 * value finishes at once), and exactly the semantics of the anchored RegExp
 * translation it replaced (checked against that translation, kept here as
 * the reference, on thousands of random patterns and values).
 */
import { describe, expect, it } from "vitest";
import { seededRandom } from "@skerry/wal-format";
import { buildQueryIndex, InvalidQueryError, parseQueryRequest, type QueryDocument } from "../src/index.ts";
import { matchesFilter } from "../src/filter-match.ts";
import { evaluateFilter } from "../src/filter-plan.ts";
import { casedCodePoints } from "../src/case-fold.ts";
import { globMatcher, globPatternProblem, MAX_GLOB_PATTERN_LENGTH } from "../src/glob.ts";

/** The old translation: `*` → `.*`, `?` → `.`, classes passed to the RegExp engine (backtracking). */
function referenceRegExp(pattern: string, ignoreCase: boolean): RegExp {
  let re = "^";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === "*") re += ".*";
    else if (c === "?") re += ".";
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end < 0) re += "\\[";
      else {
        let body = pattern.slice(i + 1, end);
        const negate = body.startsWith("!") || body.startsWith("^");
        if (negate) body = body.slice(1);
        re += `[${negate ? "^" : ""}${body.replace(/[\\\]]/g, "\\$&")}]`;
        i = end;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`${re}$`, ignoreCase ? "isu" : "su");
}

const PATTERN_ALPHABET = [
  "*", "*", "?", "[", "]", "!", "^", "-", "\\", "a", "b", "A", "B", "z", "k", "K", "\u212a", "s", "S", "\u017f",
  "\u00df", "\u1e9e", "\u03c3", "\u03c2", "\u03a3", "\u0390", "\u1fd3", "\u0131", "\u0130", "i", "I", "\u00e9",
  "\u{1f600}", "\u{10400}", "\u{10428}", "\ud83d", "\ude00", ".", "(", "$", "\n", "0", "9",
  "[a-z]", "[z-a]", "[!a-c]", "[^]", "[]a]", "[\u00e0-\u00ff]", "[\u{1f600}-\u{1f64f}]", "[K-k]",
];
const VALUE_ALPHABET = PATTERN_ALPHABET.filter((c) => c !== "*" && [...c].length === 1).concat(["c", "\u00c9", "x", "\u{1f601}"]);

describe("glob matching", () => {
  it("matches `*a*a…*b` against 100,000 'a's in linear time (the backtracking RegExp never finished)", () => {
    const pattern = `${"*a".repeat(30)}*b`;
    const value = "a".repeat(100_000);
    const started = performance.now();
    const doc = { id: "d", attributes: { s: value } } as QueryDocument;
    const filter = parseQueryRequest({ filters: ["s", "Glob", pattern] }).filters!;
    expect(matchesFilter(doc, filter)).toBe(false);
    const index = buildQueryIndex([doc], { metric: "COSINE" });
    expect(evaluateFilter(index, filter)).toMatchObject({ kind: "list", slots: new Uint32Array(0) });
    expect(globMatcher(pattern, false).test(value)).toBe(false);
    expect(globMatcher(pattern, true).test(value)).toBe(false);
    expect(globMatcher(pattern, false).test(`${value}b`)).toBe(true);
    expect(globMatcher(`${"*[a-c]?".repeat(40)}*[!a]`, true).test(value)).toBe(false);
    // Generous: the old RegExp took minutes on this input; the matcher takes milliseconds.
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it("agrees with the RegExp translation on random patterns and values", () => {
    const random = seededRandom(12);
    const pick = <T>(list: readonly T[]): T => list[random.nextUint32() % list.length] as T;
    let checked = 0;
    let invalid = 0;
    for (let round = 0; round < 4_000; round++) {
      const pattern = Array.from({ length: random.nextUint32() % 9 }, () => pick(PATTERN_ALPHABET)).join("");
      const ignoreCase = random.nextUint32() % 2 === 0;
      let reference: RegExp;
      try {
        reference = referenceRegExp(pattern, ignoreCase);
      } catch {
        invalid++;
        expect(globPatternProblem(pattern), pattern).toBeDefined();
        expect(() => globMatcher(pattern, ignoreCase), pattern).toThrow(expect.objectContaining({ code: "InvalidQuery" }));
        continue;
      }
      expect(globPatternProblem(pattern), pattern).toBeUndefined();
      const matcher = globMatcher(pattern, ignoreCase);
      for (let v = 0; v < 12; v++) {
        // Values built from the pattern's own characters match often; random ones rarely.
        const source = v % 2 === 0 ? [...pattern.replaceAll("*", "")].concat(VALUE_ALPHABET) : VALUE_ALPHABET;
        const value = Array.from({ length: random.nextUint32() % 10 }, () => pick(source)).join("");
        expect(matcher.test(value), `${JSON.stringify(pattern)} ${ignoreCase ? "i" : ""} ${JSON.stringify(value)}`).toBe(reference.test(value));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(30_000);
    expect(invalid).toBeGreaterThan(0);
  });

  it("agrees with the RegExp translation on long segments (more than 32 atoms, several Shift-And words)", () => {
    const random = seededRandom(7);
    for (let round = 0; round < 300; round++) {
      const core = Array.from({ length: 33 + (random.nextUint32() % 70) }, () => "ab?"[random.nextUint32() % 3]).join("");
      const pattern = `*${core}*${random.nextUint32() % 2 === 0 ? "b" : ""}`;
      const ignoreCase = round % 2 === 0;
      const reference = referenceRegExp(pattern, ignoreCase);
      for (let v = 0; v < 5; v++) {
        const value = Array.from({ length: 60 + (random.nextUint32() % 200) }, () => "abAB"[random.nextUint32() % (ignoreCase ? 4 : 2)]).join("");
        expect(globMatcher(pattern, ignoreCase).test(value), `${pattern} ${value}`).toBe(reference.test(value));
      }
    }
  });

  it("IGlob folds every cased code point as the RegExp engine does", () => {
    const cased = [...casedCodePoints()];
    for (const ch of cased) {
      const reference = referenceRegExp(ch, true);
      const matcher = globMatcher(ch, true);
      const candidates = [ch, ch.toLowerCase(), ch.toUpperCase(), ch.toUpperCase().toLowerCase(), "\u1fd3", "\u0390", "\ufb05", "\ufb06", "s", "k"];
      for (const x of candidates) expect(matcher.test(x), `${ch} ${x}`).toBe(reference.test(x));
    }
    // A code point outside the cased set folds to nothing else: no cased code point matches one case-insensitively.
    const casedSet = new Set(cased);
    expect(casedCodePoints().match(/[\p{Lu}]/giu)?.length).toBeGreaterThan(1_000);
    let others = "";
    for (let c = 0; c < 0x20000; c++) if (!(c >= 0xd800 && c < 0xe000) && !casedSet.has(String.fromCodePoint(c))) others += String.fromCodePoint(c);
    const otherClass = new RegExp(`[${others.replace(/[\\\]\-^]/g, "\\$&")}]`, "iu");
    for (const ch of cased) expect(otherClass.test(ch), ch).toBe(false);
    for (let c = 0x20000; c <= 0x10ffff; c += 1) {
      const ch = String.fromCodePoint(c);
      if (ch.toLowerCase() !== ch || ch.toUpperCase() !== ch) throw new Error(`cased code point beyond plane 1: ${c.toString(16)}`);
    }
  });

  it("rejects patterns longer than the cap and out-of-order ranges with InvalidQuery", () => {
    const tooLong = "a".repeat(MAX_GLOB_PATTERN_LENGTH + 1);
    for (const pattern of [tooLong, "x[z-a]*"]) {
      let error: unknown;
      try {
        parseQueryRequest({ filters: ["s", "Glob", pattern] });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidQueryError);
      expect(error).toMatchObject({ reason: "schema", path: ["filters", 2] });
    }
    expect(parseQueryRequest({ filters: ["s", "IGlob", "a".repeat(MAX_GLOB_PATTERN_LENGTH)] }).filters).toBeDefined();
  });
});
