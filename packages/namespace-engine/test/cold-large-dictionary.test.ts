/**
 * Patterns (Glob, IGlob, Regex, negated) and element comparisons (`AnyLt` ..
 * `AnyGte`) over attribute dictionaries larger than a MiB: on a compacted
 * namespace whose segment indexes are not loaded they are answered cold
 * (the dictionary scanned in blocks, a Glob's literal prefix and a string
 * comparison bounding the range read), exactly like the loaded index, over
 * tombstones and a tail; the index is never fetched whole, and a
 * case-sensitive Glob with a literal prefix reads a small part of the
 * dictionary. `id` ranges and patterns over id blocks of more than 8 MiB
 * are cold too (the id blocks streamed). A damaged block is Corrupt naming
 * the index.
 */
import { describe, expect, it } from "vitest";
import type { DocumentInput } from "@skerry/namespace-engine";
import { compactedNamespace, corruptSectionFailures, indexObjects, makeEngine } from "./support/harness.ts";
import type { StorageProvider } from "@skerry/storage-providers";
import { decodeBlockFileDirectory } from "@skerry/wal-format";

const NS = "acme/colddict/docs";
const KINDS = ["alpha", "beta", "Gamma", "delta", "épsilon"];
/** 400 bytes per element: 3,000 documents make element keys of more than a MiB. */
const PAD = "x".repeat(400);
/** 4,000 bytes per name: a dictionary of 12 MB, whose probes (of a search for a Glob's prefix) read a small part. */
const NAME_PAD = "y".repeat(4000);

function doc(i: number): DocumentInput {
  return {
    id: `doc-${String(i).padStart(5, "0")}`,
    vector: [Math.sin(i), Math.cos(i), (i % 7) / 7, 1],
    attributes: {
      n: i,
      name: `${KINDS[i % 5]}-${String(i).padStart(5, "0")}-${NAME_PAD}`,
      elems: i % 4 === 0 ? [] : [`e${String(i).padStart(5, "0")}${PAD}`, i * 0.5, `z${i % 3}`, i % 2 === 0],
    },
  };
}

const requests: Record<string, unknown>[] = [
  { filters: ["name", "Glob", "alpha-001*"], topK: 100 },
  { filters: ["name", "Glob", "beta-00?2?-*"], topK: 100 },
  { filters: ["name", "Glob", "*-0042*"], topK: 100 },
  { filters: ["name", "IGlob", "GAMMA-002*"], topK: 200 },
  { filters: ["name", "Regex", "^delta-0+1[0-3]"], topK: 200 },
  { filters: ["name", "Glob", "épsilon-0299*"], topK: 20 },
  { filters: ["name", "Glob", "zeta-*"], topK: 20 },
  { filters: ["Not", ["name", "Glob", "alpha-*"]], topK: 50 },
  { filters: ["And", [["name", "Glob", "beta-01*"], ["n", "Gt", 1100]]], topK: 100, includeAttributes: ["n"] },
  { filters: ["elems", "AnyLt", "e00100"], topK: 200 },
  { filters: ["elems", "AnyLte", `e00100${PAD}`], topK: 200 },
  { filters: ["elems", "AnyGt", `e02900${PAD}`], topK: 200 },
  { filters: ["elems", "AnyGte", "z1"], topK: 3000 },
  { filters: ["elems", "AnyLt", 20], topK: 200 },
  { filters: ["elems", "AnyGte", 1480.5], topK: 200 },
  { rankBy: ["n", "desc"], filters: ["Or", [["name", "Glob", "alpha-02*"], ["elems", "AnyLt", 3]]], topK: 30 },
  { rankBy: ["vector", "kNN", [0.3, 0.2, 0.1, 1]], filters: ["name", "IGlob", "*-01??-*"], topK: 10 },
  { filters: ["name", "Glob", "gamma-*"], aggregateBy: { c: ["Count"], s: ["Sum", "n"] } },
];

async function expectCold(storage: StorageProvider, request: Record<string, unknown>): Promise<void> {
  const expected = await makeEngine(storage, { queryCache: { coldReads: false } }).query(NS, request);
  const engine = makeEngine(storage, { queryCache: { segmentIndexBytes: 0 } });
  expect(await engine.query(NS, request), JSON.stringify(request)).toEqual(expected);
  expect(engine.queryStats().coldQueries, JSON.stringify(request)).toBe(1);
  expect(engine.queryStats().segmentIndexes.loads, JSON.stringify(request)).toBe(0);
}

describe("cold patterns and element comparisons over large dictionaries", () => {
  it("answer from blocks of the dictionary exactly like the loaded index", async () => {
    const { storage, writer } = await compactedNamespace(NS, 3000, doc);
    await writer.deleteByFilter(NS, ["n", "Lt", 30]);
    await writer.upsert(NS, [doc(5001), { ...doc(100), attributes: { n: 100, name: "alpha-00100-tail", elems: ["e00000", 0] } }]);
    await writer.delete(NS, ["doc-00101", "doc-00110"]);
    for (const request of requests) await expectCold(storage, request);
    for (const i of [0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13, 14]) {
      expect((await makeEngine(storage).query(NS, requests[i]!)).rows.length, JSON.stringify(requests[i])).toBeGreaterThan(0);
    }
    // A Glob's literal prefix bounds what is read: a small part of a dictionary of more than a MiB.
    const [index] = await indexObjects(storage);
    expect(index!.size).toBeGreaterThan(24 * 1024 * 1024);
    const read = async (request: Record<string, unknown>) => {
      const engine = makeEngine(storage, { queryCache: { segmentIndexBytes: 0 } });
      await engine.query(NS, request);
      return engine.queryStats().coldBytes;
    };
    const prefixed = await read(requests[0]!);
    const scanned = await read(requests[2]!); // no prefix: the whole dictionary, in blocks
    expect(scanned).toBeGreaterThan(10 * 1024 * 1024);
    expect(scanned).toBeLessThan(index!.size * 0.6);
    expect(prefixed).toBeLessThan(scanned / 4);
  });

  it("answer id ranges and patterns over id blocks of more than 8 MiB", async () => {
    // 17,000 ids of 500 bytes (the limit is 512).
    const LONG = "q".repeat(490);
    const lean = (i: number): DocumentInput => ({ id: `doc-${String(i).padStart(5, "0")}-${LONG}`, vector: [Math.sin(i), Math.cos(i), 1, 1], attributes: { n: i } });
    const { storage, writer } = await compactedNamespace(NS, 17_000, lean);
    const section = async () => {
      const [index] = await indexObjects(storage);
      const bytes = (await storage.get(index!.key)).bytes;
      return decodeBlockFileDirectory(bytes, bytes.byteLength).section("idBlocks")!.length;
    };
    expect(await section()).toBeGreaterThan(8 * 1024 * 1024);
    await writer.delete(NS, [`doc-00101-${LONG}`]);
    await writer.upsert(NS, [{ ...lean(7), attributes: { n: -7 } }]);
    for (const request of [
      { filters: ["id", "Glob", "doc-001*"], topK: 200, includeAttributes: ["n"] },
      { filters: ["id", "Lt", "doc-00050"], topK: 200 },
      { filters: ["id", "Gte", `doc-16900-${LONG}`], topK: 200 },
      { filters: ["id", "Regex", "^doc-0+7"], topK: 200 },
      { filters: ["Not", ["id", "IGlob", "DOC-0*"]], topK: 20 },
      { filters: ["And", [["id", "Glob", "*1-q*"], ["n", "Lt", 500]]], aggregateBy: { c: ["Count"] } },
    ]) {
      await expectCold(storage, request);
    }
  });

  it("find a damaged block of the dictionary, element keys or postings: Corrupt naming the index", async () => {
    const { storage } = await compactedNamespace(NS, 3000, doc);
    const [index] = await indexObjects(storage);
    const request = { filters: ["Or", [["name", "IGlob", "*-00?1-*"], ["elems", "AnyLt", 100], ["elems", "AnyGt", "e01500"]]], topK: 3000 };
    expect(await corruptSectionFailures(storage, index!.key, () => makeEngine(storage).query(NS, request))).toBeGreaterThanOrEqual(3);
  });
});
