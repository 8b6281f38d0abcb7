/**
 * Cold attribute-order rankings (`rankBy: [field, "asc" | "desc"]`,
 * optionally filtered or diversified by `limitPer`): on a compacted
 * namespace whose segment indexes are not loaded, each partition walks the
 * attribute's number order and string dictionary by range
 * (cold-attribute-order.ts) and proposes what the loaded walk proposes, so
 * the rows equal the loaded rows: ties, mixed number / string / missing
 * values, tombstones, a tail of rewrites and deletes in several chunks,
 * several segments; a damaged block is Corrupt.
 */
import { MemoryStorage, type StorageProvider } from "@skerry/storage-providers";
import { s3TestTarget } from "@skerry/storage-providers/testing";
import { afterAll, describe, expect, it } from "vitest";
import type { DocumentInput } from "@skerry/namespace-engine";
import { compactedNamespace, corruptSectionFailures, indexObjects, makeEngine } from "./support/harness.ts";

const NS = "acme/coldorder/docs";
const idOf = (i: number) => `doc-${String(i).padStart(5, "0")}`;

function doc(i: number, salt = 0): DocumentInput {
  const attributes: Record<string, unknown> = { n: i, color: ["red", "green", "blue"][i % 3]! };
  // Mixed: mostly numbers with many ties, some strings, some missing.
  if (i % 17 === 0) attributes["price"] = `p${(i * 7 + salt) % 23}`;
  else if (i % 13 !== 0) attributes["price"] = ((i * 37 + salt) % 200) / 4;
  if (i % 5 !== 0) attributes["name"] = `name-${(i * 11 + salt) % 300}`;
  return { id: idOf(i), vector: [Math.sin(i), Math.cos(i), 1], attributes: attributes as DocumentInput["attributes"] };
}

const requests: Record<string, unknown>[] = [
  { rankBy: ["price", "asc"], topK: 10, includeAttributes: ["price"] },
  { rankBy: ["price", "desc"], topK: 25 },
  { rankBy: ["price", "desc"], topK: 3000, includeAttributes: true },
  { rankBy: ["price", "asc"], topK: 3000 },
  { rankBy: ["name", "asc"], topK: 40, includeAttributes: ["name"] },
  { rankBy: ["name", "desc"], topK: 2800 },
  { rankBy: ["n", "desc"], topK: 7 },
  { rankBy: ["missing", "asc"], topK: 12 },
  { rankBy: ["id", "asc"], topK: 15 },
  { rankBy: ["id", "desc"], topK: 15 },
  { rankBy: ["price", "asc"], filters: ["color", "Eq", "red"], topK: 30 },
  { rankBy: ["name", "desc"], filters: ["n", "Lt", 500], topK: 30, includeAttributes: ["n", "name"] },
  { rankBy: ["price", "desc"], filters: ["n", "Gte", 2990], topK: 30 },
  { rankBy: ["price", "asc"], limitPer: { attributes: ["color"], limit: 2 }, topK: 5 },
  { rankBy: ["id", "desc"], filters: ["color", "Eq", "blue"], topK: 40 },
  { rankBy: ["id", "desc"], topK: 3000 },
  // Rows without a value first (`missing: "first"`): fewer than, about as many as, and more than them.
  { rankBy: ["price", "asc", { missing: "first" }], topK: 10, includeAttributes: ["price"] },
  { rankBy: ["price", "asc", { missing: "first" }], topK: 240 },
  { rankBy: ["price", "desc", { missing: "first" }], topK: 3000 },
  { rankBy: ["name", "asc", { missing: "first" }], topK: 700, includeAttributes: ["name"] },
  { rankBy: ["missing", "desc", { missing: "first" }], topK: 12 },
  { rankBy: ["price", "asc", { missing: "first" }], filters: ["color", "Eq", "red"], topK: 30 },
  { rankBy: ["price", "asc", { missing: "last" }], topK: 3000 },
];

/** Multi-key orders (and `id` descending as a further key): ties, missing and mixed values on each key. */
const multiKey: Record<string, unknown>[] = [
  { rankBy: [["price", "asc"], ["name", "desc"]], topK: 50, includeAttributes: ["price", "name"] },
  { rankBy: [["price", "desc"], ["color", "asc"], ["n", "desc"]], topK: 3000 },
  { rankBy: [["missing", "asc"], ["name", "asc"]], topK: 30 },
  { rankBy: [["missing", "desc"], ["price", "desc"], ["id", "desc"]], topK: 40 },
  { rankBy: [["color", "asc"], ["id", "desc"]], topK: 20 },
  { rankBy: [["color", "desc"], ["price", "asc"], ["name", "asc"]], topK: 2900 },
  { rankBy: [["name", "asc"], ["price", "asc"]], filters: ["n", "Lt", 500], topK: 60 },
  { rankBy: [["name", "desc"], ["missing", "asc"], ["price", "desc"]], filters: ["color", "Eq", "red"], topK: 1000 },
  { rankBy: [["color", "desc"], ["price", "asc"]], limitPer: { attributes: ["price"], limit: 1 }, topK: 10 },
  { rankBy: [["id", "desc"], ["price", "asc"]], topK: 10 },
  { rankBy: [["price", "asc", { missing: "first" }], ["name", "desc"]], topK: 50, includeAttributes: ["price", "name"] },
  { rankBy: [["price", "asc", { missing: "first" }], ["name", "asc", { missing: "first" }]], topK: 600 },
  { rankBy: [["color", "asc"], ["name", "asc", { missing: "first" }], ["n", "desc"]], topK: 2900 },
  { rankBy: [["missing", "asc", { missing: "first" }], ["price", "asc", { missing: "first" }]], topK: 40 },
  { rankBy: [["name", "desc"], ["price", "asc", { missing: "first" }]], filters: ["n", "Lt", 500], topK: 1000 },
];

async function expectCold(storage: StorageProvider, request: Record<string, unknown>, options: Record<string, unknown> = {}): Promise<void> {
  const warm = makeEngine(storage, { queryCache: { ...options, coldReads: false } });
  const expected = await warm.query(NS, request);
  const engine = makeEngine(storage, { queryCache: options });
  expect(await engine.query(NS, request), JSON.stringify(request)).toEqual(expected);
  expect(engine.queryStats().coldQueries, JSON.stringify(request)).toBe(1);
}

describe("cold attribute-order rankings", () => {
  it("answer from ranged reads exactly like the loaded index, over tombstones and a tail of rewrites and deletes", async () => {
    const { storage, writer } = await compactedNamespace(NS, 3000, (i) => doc(i));
    await writer.deleteByFilter(NS, ["n", "Lt", 40]);
    await writer.upsert(NS, [doc(5001), doc(100, 3)]);
    await writer.upsert(NS, [doc(150, 9), doc(7), { id: idOf(8), vector: [1, 0, 0], attributes: { price: -1 } }]);
    await writer.upsert(NS, [doc(5002, 2), { id: idOf(9), vector: [1, 0, 0], attributes: { price: "a" } }]);
    await writer.delete(NS, [idOf(101), idOf(105), idOf(1005), idOf(14)]);
    for (const options of [{}, { tailChunkContainers: 2 }]) for (const request of [...requests, ...multiKey]) await expectCold(storage, request, options);
  });

  it("over several segments", async () => {
    const storage = new MemoryStorage();
    const writer = makeEngine(storage, { compaction: { auto: false, policy: "tiered", maxLogBatches: 3, mergeFactor: 100 } });
    await writer.createNamespace(NS, { distanceMetric: "cosine" });
    for (let b = 0; b < 3; b++) await writer.upsert(NS, Array.from({ length: 700 }, (_, i) => doc(b * 700 + i)));
    expect((await writer.compact(NS)).performed).toBe(true);
    await writer.upsert(NS, Array.from({ length: 500 }, (_, i) => doc(2100 + i)));
    await writer.upsert(NS, Array.from({ length: 200 }, (_, i) => doc(i * 8, 5)));
    await writer.delete(NS, Array.from({ length: 100 }, (_, i) => idOf(i * 8 + 3)));
    expect((await writer.compact(NS)).performed).toBe(true);
    await writer.upsert(NS, [doc(2900), doc(16, 1)]);
    await writer.delete(NS, [idOf(17), idOf(2101)]);
    for (const request of [...requests, ...multiKey]) await expectCold(storage, request);
  });

  it("order by id over ids whose byte and UTF-16 orders differ exactly like the loaded index, cold", async () => {
    // U+E000..U+FFFF sorts before a surrogate pair in bytes, after it in UTF-16 code units; at several depths.
    const special = [
      "doc-\u{1F600}a",
      "doc-\uE000b",
      "doc-\uFFFDc",
      "doc-\u{10400}d",
      "doc-zz",
      "\uE000",
      "\u{10000}",
      "\uFFFF\u{10000}",
      "\uFFFF\uE000",
      "\u{10FFFF}",
      "doc-\uE000\u{1F600}",
      "doc-\uE000\uE000",
      "doc-\uE000\u{1F601}x",
    ];
    const { storage, writer } = await compactedNamespace(NS, 400, (i) => (i < special.length ? { ...doc(i), id: special[i]! } : doc(i)));
    await writer.upsert(NS, [{ ...doc(7), id: "doc-\uE001t" }, { ...doc(8), id: "\u{1F602}" }]);
    await writer.delete(NS, ["\u{10000}"]);
    const orders = [
      ...[1, 2, 3, 4, 5, 8, 300].flatMap((topK) => [
        { rankBy: ["id", "desc"], topK },
        { rankBy: ["id", "asc"], topK },
      ]),
      { rankBy: ["id", "desc"], filters: ["n", "Gte", 100], topK: 5 },
      { rankBy: ["id", "desc"], filters: ["n", "Lt", 12], topK: 3 },
      { filters: ["n", "Lt", 12], topK: 4 },
      { filters: ["n", "Gte", 3], topK: 2 },
      { rankBy: [["color", "asc"], ["id", "desc"]], topK: 6 },
      { rankBy: ["missing", "asc"], topK: 5 },
      { rankBy: [["id", "desc"], ["n", "asc"]], topK: 4 },
    ];
    for (const request of orders) await expectCold(storage, request);
  });

  it("order by id over many ids drawn from characters on both sides of the byte / UTF-16 disagreement, cold", async () => {
    const alphabet = ["a", "\uE000", "\uFFFF", "\u{10000}", "\u{10FFFF}"];
    let state = 7;
    const next = (m: number) => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return (state >>> 16) % m;
    };
    const ids = new Set<string>();
    while (ids.size < 600) ids.add(Array.from({ length: 1 + next(4) }, () => alphabet[next(alphabet.length)]).join(""));
    const list = [...ids];
    const { storage, writer } = await compactedNamespace(NS, list.length, (i) => ({ ...doc(i), id: list[i]! }));
    await writer.delete(NS, list.filter((_, i) => i % 9 === 0));
    for (const topK of [1, 7, 40, 200]) {
      for (const order of ["asc", "desc"]) {
        await expectCold(storage, { rankBy: ["id", order], topK });
        await expectCold(storage, { rankBy: ["id", order], filters: ["n", "Gte", 250], topK });
      }
    }
  });

  it("find a damaged block of the number order, the numbers or the dictionary: Corrupt naming the index", async () => {
    const { storage } = await compactedNamespace(NS, 3000, (i) => doc(i));
    const [index] = await indexObjects(storage);
    let failures = 0;
    for (const request of [{ rankBy: ["price", "desc"], topK: 3000 }, { rankBy: ["name", "asc"], topK: 3000 }]) {
      failures += await corruptSectionFailures(storage, index!.key, () => makeEngine(storage).query(NS, request));
    }
    expect(failures).toBeGreaterThanOrEqual(4);
  });

  it("find a damaged block of a further key's tags, numbers, codes or dictionary in a multi-key order: Corrupt naming the index", async () => {
    const { storage } = await compactedNamespace(NS, 3000, (i) => doc(i));
    const [index] = await indexObjects(storage);
    const query = async () => {
      const engine = makeEngine(storage);
      await engine.query(NS, { rankBy: [["color", "asc"], ["price", "desc"], ["name", "asc"]], topK: 2000 });
      await engine.query(NS, { rankBy: [["missing", "asc"], ["name", "desc"], ["price", "asc"]], topK: 50 });
      expect(engine.queryStats().coldQueries).toBe(2);
    };
    expect(await corruptSectionFailures(storage, index!.key, query)).toBeGreaterThanOrEqual(4);
  });
});

const s3 = s3TestTarget("namespace-engine-cold-order");
afterAll(() => s3.cleanup());

describe.skipIf(!s3.shouldRun)("cold attribute-order rankings on the real S3 server", () => {
  it("answer exactly like the loaded index from ranged reads", async () => {
    const { storage, writer } = await compactedNamespace(NS, 2000, (i) => doc(i), s3.open());
    await writer.upsert(NS, [doc(5001), doc(100, 4)]);
    await writer.delete(NS, [idOf(101)]);
    for (const request of [requests[0]!, requests[1]!, requests[4]!, requests[10]!, requests[15]!, multiKey[0]!, multiKey[3]!, multiKey[6]!]) await expectCold(storage, request);
  });
});
