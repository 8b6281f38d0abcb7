/**
 * coldFuzzyTerms: the terms of a stored vocabulary within each Fuzzy token's
 * distance, read by ranges in blocks, equal the loaded plan's (the trie walk
 * forEachFuzzyTerm; case-insensitive: every term by the banded program), for
 * any block size (jumps inside a block, into the next one, and past it by a
 * search).
 */
import { MemoryStorage } from "@skerry/storage-providers";
import type { ContainerRef } from "@skerry/wal-format";
import { describe, expect, it } from "vitest";
import { ColdArrayReader, type ColdIndexFile } from "../../query/src/cold/cold-array-reader.ts";
import { StorageIndexSource } from "../src/read/storage-index-source.ts";
import { coldFuzzyTerms } from "../../query/src/cold/cold-fuzzy.ts";
import { forEachFuzzyTerm, type FuzzyToken, fuzzyHolds, codePoints } from "../../query/src/fuzzy-filter.ts";
import { serializeQueryIndex } from "../../query/src/index-codec.ts";
import { buildQueryIndex } from "../../query/src/query-index.ts";

const KEY = "ns/index/fuzzy.qidx";
const N = 30_000;
const random = { nextUint32: () => 12345 };
const retry = { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 };
const LETTERS = "abcdeéxyzA";

/** Terms of 3 to 9 letters drawn from a small alphabet (many neighbours), some past U+FFFF. */
function word(i: number): string {
  let x = (i * 2654435761) >>> 0;
  const length = 3 + (x % 7);
  let out = "";
  for (let k = 0; k < length; k++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out += LETTERS[(x >>> 16) % LETTERS.length];
  }
  return i % 97 === 0 ? `${out}\u{1F600}` : out;
}

const tokens = (texts: readonly [string, number][]): FuzzyToken[] => texts.map(([text, distance]) => ({ codes: codePoints(text), distance }));

describe("coldFuzzyTerms", () => {
  it("equals the loaded plan's terms for any block size, case-sensitive or not", async () => {
    const docs = Array.from({ length: N }, (_, i) => ({ id: `doc-${i}`, text: { body: `${word(i)} ${word(i + N)}` } }));
    const index = buildQueryIndex(docs, { metric: "COSINE", textFields: { body: { lowercase: false } } });
    const bytes = serializeQueryIndex(index);
    const storage = new MemoryStorage();
    await storage.put(KEY, bytes, { mode: { kind: "overwrite" } });
    const ref = { key: "segment", rowCount: N } as unknown as ContainerRef;
    const loaded = index.textFields.get("body")!;
    expect(loaded.terms.length).toBeGreaterThan(20_000);
    const queries = tokens([
      ["abcde", 1],
      ["xyzab", 2],
      ["aaaa", 0],
      ["éxéxé", 1],
      ["zzzzzzzz", 1],
      ["Aabcdex", 2],
      ["abc\u{1F600}", 1],
      ["yy", 4],
      ["q", 0],
    ]);
    for (const block of [7, 64, 2048]) {
      const reader = new ColdArrayReader(new StorageIndexSource(storage, random, retry));
      const file = (await reader.open({ ref, indexKey: KEY, expectedBytes: bytes.byteLength })) as ColdIndexFile;
      const terms = file.meta.text[0]!.terms;
      const sensitive = await coldFuzzyTerms(reader, file, terms, queries, true, block);
      const insensitive = await coldFuzzyTerms(reader, file, terms, queries, false, block);
      queries.forEach((token, k) => {
        const expected: number[] = [];
        forEachFuzzyTerm(loaded.terms, token, (t) => expected.push(t));
        expect(sensitive[k], `block ${block}, token ${k}`).toEqual(expected);
        const folded: number[] = [];
        for (let t = 0; t < loaded.terms.length; t++) if (fuzzyHolds(token, codePoints(loaded.terms.get(t).toLowerCase()))) folded.push(t);
        expect(insensitive[k], `block ${block}, token ${k} (case-insensitive)`).toEqual(folded);
      });
      expect(sensitive.some((found) => found.length > 10)).toBe(true);
    }
  });
});
