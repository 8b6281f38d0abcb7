/**
 * ColdArrayReader: element ranges of a stored index's arrays and entries of
 * its string tables, read by range, equal the loaded index's; only the
 * covering blocks are fetched, a cached block is not fetched again, and a
 * damaged block is Corrupt naming the key.
 */
import { FaultInjectingStorage, MemoryStorage } from "@skerry/storage-providers";
import type { ContainerRef } from "@skerry/wal-format";
import { decodeBlockFileDirectory } from "@skerry/wal-format";
import { describe, expect, it } from "vitest";
import { ColdArrayReader, type ColdIndexFile } from "../../query/src/cold/cold-array-reader.ts";
import { StorageIndexSource } from "../src/read/storage-index-source.ts";
import { isCorruptStoredIndex } from "@skerry/query";
import { isCorrupt } from "../src/core/errors.ts";
import { serializeQueryIndex } from "../../query/src/index-codec.ts";
import { buildQueryIndex } from "../../query/src/query-index.ts";

const KEY = "ns/index/test.qidx";
const N = 40_000;
const random = { nextUint32: () => 12345 };
const retry = { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 };

function word(i: number): string {
  return `w${(i * 7919) % 20_011}`;
}

async function stored(): Promise<{ storage: MemoryStorage; bytes: Uint8Array; index: ReturnType<typeof buildQueryIndex> }> {
  const docs = Array.from({ length: N }, (_, i) => ({
    id: `doc-${i}`,
    text: { body: `${word(i)} ${word(i + 1)} ${word(i * 3)}` },
    attributes: { n: i, color: ["red", "green", "blue"][i % 3]! },
  }));
  const index = buildQueryIndex(docs, { metric: "COSINE" });
  const bytes = serializeQueryIndex(index);
  const storage = new MemoryStorage();
  await storage.put(KEY, bytes, { mode: { kind: "overwrite" } });
  return { storage, bytes, index };
}

const ref = { key: "segment", rowCount: N } as unknown as ContainerRef;

describe("ColdArrayReader", () => {
  it("reads element ranges and string table entries equal to the loaded index's, fetching only the covering blocks", async () => {
    const { storage, bytes, index } = await stored();
    const counted = new FaultInjectingStorage(storage);
    const reader = new ColdArrayReader(new StorageIndexSource(counted, random, retry));
    const file = (await reader.open({ ref, indexKey: KEY, expectedBytes: bytes.byteLength })) as ColdIndexFile;
    const text = file.meta.text[0]!;
    const loaded = index.textFields.get("body")!;
    const opened = reader.stats();
    expect(opened.reads).toBe(2); // trailer, eager region (no recorded eager size)
    for (const [from, to] of [
      [0, 1],
      [N - 5, N],
      [12_345, 12_345 + 20_000],
      [100, 100],
    ] as const) {
      expect(Array.from(await reader.array(file, text.docLengths, "u32", from, to))).toEqual(Array.from(loaded.docLengths.subarray(from, to)));
    }
    const postings = reader.length(file, text.postings, "u32");
    expect(postings).toBe(loaded.postings.length);
    const before = reader.stats();
    expect(Array.from(await reader.array(file, text.postings, "u32", 70_000, 70_010))).toEqual(Array.from(loaded.postings.subarray(70_000, 70_010)));
    const after = reader.stats();
    expect(after.reads - before.reads).toBe(1);
    expect(after.bytes - before.bytes).toBeLessThanOrEqual(2 * 64 * 1024);
    // Cached: the same range again reads nothing.
    await reader.array(file, text.postings, "u32", 70_000, 70_010);
    expect(reader.stats()).toEqual(after);
    // Gathered elements.
    const slots = [5, 39_999, 17, 20_000, 5];
    const gathered = await reader.gather(file, text.docLengths, "u32", slots);
    for (const slot of slots) expect(gathered.get(slot)).toBe(loaded.docLengths[slot]);
    // String tables: entries and the search of the sorted vocabulary.
    expect(reader.stringCount(file, text.terms)).toBe(loaded.terms.length);
    for (const i of [0, 1, 777, loaded.terms.length - 1]) expect(await reader.string(file, text.terms, i)).toBe(loaded.terms.get(i));
    for (const term of [word(0), word(5), word(39_999), loaded.terms.get(0), loaded.terms.get(loaded.terms.length - 1)]) {
      expect(await reader.findString(file, text.terms, term)).toBe(loaded.terms.indexOf(term));
    }
    for (const absent of ["", "a", "w", "w99999", "zzz", "\u{10FFFF}"]) expect(await reader.findString(file, text.terms, absent)).toBe(-1);
    // Out-of-range element reads are Corrupt (a damaged offset must not read past its array).
    const error = await reader.array(file, text.docLengths, "u32", N - 1, N + 1).catch((e: unknown) => e);
    expect(isCorruptStoredIndex(error)).toBe(true);
    expect(reader.stats().bytes).toBeLessThan(bytes.byteLength / 2);
  });

  it("a damaged block or a missing object is Corrupt naming the key", async () => {
    const { storage, bytes } = await stored();
    const directory = decodeBlockFileDirectory(bytes, bytes.byteLength);
    const meta = (await new ColdArrayReader(new StorageIndexSource(storage, random, retry)).open({ ref, indexKey: KEY, expectedBytes: bytes.byteLength }))!.meta;
    const section = directory.section(`a${meta.text[0]!.postings.$a}`)!;
    const damaged = bytes.slice();
    damaged[section.offset + 70_000 * 4 + 1]! ^= 1;
    await storage.put(KEY, damaged, { mode: { kind: "overwrite" } });
    const reader = new ColdArrayReader(new StorageIndexSource(storage, random, retry));
    const file = (await reader.open({ ref, indexKey: KEY, expectedBytes: bytes.byteLength }))!;
    const error = await reader.array(file, meta.text[0]!.postings, "u32", 70_000, 70_001).catch((e: unknown) => e);
    expect(isCorruptStoredIndex(error)).toBe(true);
    expect((error as { key: string }).key).toBe(KEY);
    // Blocks elsewhere still read.
    expect((await reader.array(file, meta.text[0]!.postings, "u32", 0, 2)).length).toBe(2);
    await storage.delete(KEY);
    const missing = await new ColdArrayReader(new StorageIndexSource(storage, random, retry)).open({ ref, indexKey: KEY, expectedBytes: bytes.byteLength }).catch((e: unknown) => e);
    expect(isCorrupt(missing)).toBe(true);
    expect((missing as { key: string }).key).toBe(KEY);
    const wrongRows = await new ColdArrayReader(new StorageIndexSource(storage, random, retry))
      .open({ ref: { ...ref, rowCount: 3 } as ContainerRef, indexKey: KEY, expectedBytes: undefined })
      .catch((e: unknown) => e);
    expect(isCorrupt(wrongRows)).toBe(true); // the object is gone by now: the engine's source says so
  });
});
