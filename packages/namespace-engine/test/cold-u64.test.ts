/**
 * Cold queries over exact 64-bit integers (query index format 8): on a
 * compacted namespace whose segment index is not loaded, filters with bigint
 * or number operands (Eq / NotEq / In / NotIn / ranges, at and between values
 * whose doubles are equal), element filters on `[]uint`, attribute orders
 * (one and several keys, ties of equal doubles), Sum and groups by bigint
 * keys, listings, ANN rows and tail PATCH bases are answered by ranged reads
 * (one cold query, no index loaded), equal to the loaded path and to an exact
 * (bigint) reference over the written documents; so are stored tail chunks
 * holding them (ranged GETs only). A damaged or torn block of a column's
 * exact values is Corrupt naming the index.
 */
import { MemoryStorage } from "@skerry/storage-providers";
import { decodeBlockFileDirectory, sliceFromTail } from "@skerry/wal-format";
import { beforeAll, describe, expect, it } from "vitest";
import { type DocumentInput, isCorrupt, type NamespaceEngine } from "@skerry/namespace-engine";
import { parseIndexMeta } from "../../query/src/index-codec.ts";
import { compactedNamespace, corruptSectionFailures, indexObjects, makeEngine } from "./support/harness.ts";

const NS = "acme/coldu64/docs";
/** Enough rows for IVF lists (the compactor trains them from 4,096 vectors), so ANN is cold too. */
const DOCS = 4200;
const P53 = 2n ** 53n;
const P60 = 2n ** 60n;
const P63 = 2n ** 63n;
const U64_MAX = 2n ** 64n - 1n;
const I64_MIN = -(2n ** 63n);
/** Every query of an engine is cold (no background load), and ANN re-ranks every candidate exactly. */
const COLD = { queryCache: { segmentIndexBytes: 1, coldRerank: 1_000_000 } };

type Num = number | bigint;
interface Attrs {
  u?: Num;
  i: Num;
  g: number;
  tags?: Num[];
}

/** Values that share doubles (2^63 + 0..6, 2^64-1 - 0..4, 2^60 + multiples of 3 below 300) and values that do not. */
function attrs(k: number): Attrs {
  let u: Num | undefined;
  switch (k % 10) {
    case 0:
      u = k;
      break;
    case 1:
      u = P53 + BigInt(k);
      break;
    case 2:
      u = P63 + BigInt(k % 7);
      break;
    case 3:
      u = U64_MAX - BigInt(Math.floor(k / 10) % 5);
      break;
    case 4:
      u = P60 + BigInt((k * 3) % 300);
      break;
    case 5:
      u = Number.MAX_SAFE_INTEGER - (k % 3);
      break;
    case 6:
      u = undefined;
      break;
    case 7:
      u = 2n ** 62n + BigInt(k) * 1000n;
      break;
    case 8:
      u = P60 + 256n;
      break;
    default:
      u = 7;
  }
  const i: Num = k % 4 === 0 ? I64_MIN + BigInt(k % 3) : k % 4 === 1 ? -(P53 + BigInt(k)) : k % 4 === 2 ? -k : P63 - 1n - BigInt(k % 2);
  return { ...(u === undefined ? {} : { u }), i, g: k % 3, ...(k % 3 === 0 && u !== undefined ? { tags: [u, k % 4] } : {}) };
}

function doc(k: number): DocumentInput {
  return { id: `doc-${String(k).padStart(5, "0")}`, vector: [Math.sin(k), Math.cos(k), (k % 7) / 7, 1], attributes: attrs(k) as unknown as DocumentInput["attributes"] };
}

/** Exact comparison of a number or bigint with another. */
const cmp = (a: Num, b: Num): number => (a < b ? -1 : a > b ? 1 : 0);

/** An exact reference over the documents (id -> attributes): a filter as a predicate, a listing in id order. */
type Ref = (docs: Map<string, Attrs>) => unknown;
const listing =
  (test: (a: Attrs) => boolean, topK = 10_000): Ref =>
  (docs) =>
    [...docs].filter(([, a]) => test(a)).map(([id]) => id).sort().slice(0, topK);
const ordered =
  (key: (a: Attrs) => Num | undefined, desc: boolean, topK: number, then?: (a: Attrs) => Num): Ref =>
  (docs) =>
    [...docs]
      .filter(([, a]) => key(a) !== undefined)
      .sort(([x, a], [y, b]) => (desc ? -1 : 1) * cmp(key(a)!, key(b)!) || (then === undefined ? 0 : cmp(then(a), then(b))) || (x < y ? -1 : 1))
      .slice(0, topK)
      .map(([id]) => id);
const has = (v: Num | undefined): v is Num => v !== undefined;

const CASES: { request: Record<string, unknown>; ref: Ref; rows?: "ids" | "aggregations" | "groups" }[] = [
  { request: { filters: ["u", "Eq", U64_MAX], topK: 10_000 }, ref: listing((a) => a.u === U64_MAX) },
  { request: { filters: ["u", "Eq", P63 + 3n], topK: 10_000 }, ref: listing((a) => a.u === P63 + 3n) },
  // A number operand whose double the bigints near it share: only the value itself is equal.
  { request: { filters: ["u", "Eq", Number(P63)], topK: 10_000 }, ref: listing((a) => has(a.u) && cmp(a.u, Number(P63)) === 0) },
  { request: { filters: ["u", "NotEq", P60 + 256n], topK: 10_000 }, ref: listing((a) => !(has(a.u) && cmp(a.u, P60 + 256n) === 0)) },
  { request: { filters: ["u", "In", [P63 + 1n, P63 + 6n, U64_MAX - 2n, 7, P53 + 11n]], topK: 10_000 }, ref: listing((a) => has(a.u) && [P63 + 1n, P63 + 6n, U64_MAX - 2n, 7n, P53 + 11n].some((v) => cmp(a.u!, v) === 0)) },
  { request: { filters: ["u", "NotIn", [P63 + 1n, 7]], topK: 10_000 }, ref: listing((a) => !(has(a.u) && (cmp(a.u, P63 + 1n) === 0 || cmp(a.u, 7) === 0))) },
  { request: { filters: ["u", "Gt", P63 + 2n], topK: 10_000 }, ref: listing((a) => has(a.u) && cmp(a.u, P63 + 2n) > 0) },
  { request: { filters: ["u", "Gte", P63 + 2n], topK: 10_000 }, ref: listing((a) => has(a.u) && cmp(a.u, P63 + 2n) >= 0) },
  { request: { filters: ["u", "Lt", P63 + 4n], topK: 10_000 }, ref: listing((a) => has(a.u) && cmp(a.u, P63 + 4n) < 0) },
  { request: { filters: ["u", "Lte", P60 + 99n], topK: 10_000 }, ref: listing((a) => has(a.u) && cmp(a.u, P60 + 99n) <= 0) },
  { request: { filters: ["u", "Gt", Number(P60)], topK: 10_000 }, ref: listing((a) => has(a.u) && cmp(a.u, Number(P60)) > 0) },
  { request: { filters: ["u", "Lt", 2 ** 64], topK: 10_000 }, ref: listing((a) => has(a.u)) },
  { request: { filters: ["u", "Gt", 2 ** 64], topK: 10_000 }, ref: listing(() => false) },
  { request: { filters: ["And", [["u", "Gte", P53], ["u", "Lt", P53 + 1000n]]], topK: 10_000 }, ref: listing((a) => has(a.u) && cmp(a.u, P53) >= 0 && cmp(a.u, P53 + 1000n) < 0) },
  // Bigint operands on a column holding no bigint.
  { request: { filters: ["g", "Lt", P53 + 1n], topK: 50 }, ref: listing(() => true, 50) },
  { request: { filters: ["Or", [["g", "Gte", P63], ["g", "Eq", -(P53 + 1n)], ["g", "In", [U64_MAX, I64_MIN]]]], topK: 10_000 }, ref: listing(() => false) },
  { request: { filters: ["i", "Lt", I64_MIN + 2n], topK: 10_000 }, ref: listing((a) => cmp(a.i, I64_MIN + 2n) < 0) },
  { request: { filters: ["i", "Gte", -(P53 + 100n)], topK: 50 }, ref: listing((a) => cmp(a.i, -(P53 + 100n)) >= 0, 50) },
  { request: { filters: ["tags", "ContainsAny", [U64_MAX - 1n, P60 + 256n]], topK: 10_000 }, ref: listing((a) => a.tags?.some((t) => t === U64_MAX - 1n || t === P60 + 256n) === true) },
  { request: { filters: ["tags", "ContainsAll", [P63 + 5n, 1]], topK: 10_000 }, ref: listing((a) => a.tags?.some((t) => t === P63 + 5n) === true && a.tags.some((t) => t === 1)) },
  { request: { filters: ["tags", "AnyGt", P63 + 4n], topK: 10_000 }, ref: listing((a) => a.tags?.some((t) => cmp(t, P63 + 4n) > 0) === true) },
  { request: { filters: ["tags", "AnyLte", P60 + 3n], topK: 10_000 }, ref: listing((a) => a.tags?.some((t) => cmp(t, P60 + 3n) <= 0) === true) },
  // Orders: ties of equal doubles cross the cut.
  { request: { rankBy: ["u", "desc"], topK: 30 }, ref: ordered((a) => a.u, true, 30) },
  { request: { rankBy: ["u", "asc"], topK: 900, filters: ["u", "Gte", P60] }, ref: ordered((a) => (has(a.u) && cmp(a.u, P60) >= 0 ? a.u : undefined), false, 900) },
  { request: { rankBy: ["i", "asc"], topK: 25 }, ref: ordered((a) => a.i, false, 25) },
  { request: { rankBy: [["g", "desc"], ["u", "desc"]], topK: 40, filters: ["u", "Gte", 0] }, ref: ordered((a) => (has(a.u) ? a.g : undefined), true, 40, (a) => -BigInt(a.u!)) },
  { request: { rankBy: [["u", "asc"], ["i", "desc"]], topK: 60, filters: ["u", "Gte", P63] }, ref: ordered((a) => (has(a.u) && cmp(a.u, P63) >= 0 ? a.u : undefined), false, 60, (a) => -BigInt(a.i)) },
];

function sumOf(values: Num[]): Num {
  const total = values.reduce<bigint>((s, v) => s + BigInt(v), 0n);
  return Number.isSafeInteger(Number(total)) ? Number(total) : total;
}

const AGGREGATES: { request: Record<string, unknown>; ref: Ref }[] = [
  { request: { aggregateBy: { s: ["Sum", "u"], c: ["Count", "u"], i: ["Sum", "i"] } }, ref: (d) => ({ s: sumOf([...d.values()].flatMap((a) => (has(a.u) ? [a.u] : []))), c: [...d.values()].filter((a) => has(a.u)).length, i: sumOf([...d.values()].map((a) => a.i)) }) },
  { request: { aggregateBy: { s: ["Sum", "u"] }, filters: ["u", "Gt", P63 + 1n] }, ref: (d) => ({ s: sumOf([...d.values()].flatMap((a) => (has(a.u) && cmp(a.u, P63 + 1n) > 0 ? [a.u] : []))) }) },
  {
    request: { aggregateBy: { c: ["Count"], s: ["Sum", "i"] }, groupBy: ["u"], topK: 12, filters: ["u", "Gte", P63] },
    ref: (d) => {
      const groups = new Map<string, { u: Num; c: number; i: Num[] }>();
      for (const a of d.values()) {
        if (!has(a.u) || cmp(a.u, P63) < 0) continue;
        const key = String(a.u);
        const group = groups.get(key) ?? { u: a.u, c: 0, i: [] };
        group.c++;
        group.i.push(a.i);
        groups.set(key, group);
      }
      return [...groups.values()]
        .sort((x, y) => y.c - x.c || cmp(x.u, y.u))
        .slice(0, 12)
        .map((g) => ({ group: { u: g.u }, aggregations: { c: g.c, s: sumOf(g.i) } }));
    },
  },
];

describe("cold queries over exact 64-bit integers (format 8)", () => {
  let storage: MemoryStorage;
  let writer: NamespaceEngine;
  const docs = new Map<string, Attrs>();
  beforeAll(async () => {
    ({ storage, writer } = await compactedNamespace(NS, DOCS, doc));
    for (let k = 0; k < DOCS; k++) docs.set(doc(k).id, attrs(k));
  }, 120_000);

  async function expectColdEqual(request: Record<string, unknown>): Promise<unknown> {
    const label = JSON.stringify(request, (_, v) => (typeof v === "bigint" ? `${v}n` : v));
    const loaded = await makeEngine(storage, { queryCache: { coldReads: false } }).query(NS, request);
    const engine = makeEngine(storage, COLD);
    const got = await engine.query(NS, request);
    expect(got, label).toEqual(loaded);
    expect(engine.queryStats().coldQueries, label).toBe(1);
    expect(engine.queryStats().segmentIndexes.loads, label).toBe(0);
    // The rows as JSON text (a server's answer body): bigints as their digits, the same bytes cold and loaded.
    const [coldRows, loadedRows] = await Promise.all([makeEngine(storage, COLD).queryRows(NS, request), makeEngine(storage, { queryCache: { coldReads: false } }).queryRows(NS, request)]);
    expect(Array.from({ length: coldRows.rows.length }, (_, i) => coldRows.rows.json(i)), label).toEqual(Array.from({ length: loadedRows.rows.length }, (_, i) => loadedRows.rows.json(i)));
    return got;
  }

  it("writes a format-8 index", async () => {
    const key = (await indexObjects(storage))[0]?.key;
    const bytes = (await storage.get(key!)).bytes;
    expect(new DataView(bytes.buffer, bytes.byteOffset).getUint16(8, true)).toBe(8);
  });

  it("filters and orders cold, equal to the loaded path and the exact reference", async () => {
    for (const { request, ref } of CASES) {
      const got = (await expectColdEqual({ ...request, includeAttributes: ["u", "i", "tags"] })) as { rows: { id: string; attributes?: Record<string, unknown> }[] };
      const label = JSON.stringify(request, (_, v) => (typeof v === "bigint" ? `${v}n` : v));
      expect(got.rows.map((r) => r.id), label).toEqual(ref(docs));
      // The rows' values are exact (the row store is exact JSON).
      for (const row of got.rows) {
        const a = docs.get(row.id)!;
        expect(row.attributes, label).toEqual({ ...(has(a.u) ? { u: a.u } : {}), i: a.i, ...(a.tags === undefined ? {} : { tags: a.tags }) });
      }
    }
    // The cases are not trivial.
    expect((CASES[1]!.ref(docs) as string[]).length).toBeGreaterThan(10);
    expect((CASES[6]!.ref(docs) as string[]).length).toBeGreaterThan(100);
  }, 120_000);

  it("aggregates cold, exactly", async () => {
    for (const { request, ref } of AGGREGATES) {
      const got = (await expectColdEqual(request)) as { aggregations?: unknown; aggregationGroups?: unknown };
      expect(got.aggregations ?? got.aggregationGroups).toEqual(ref(docs));
    }
  }, 60_000);

  it("returns exact values from ANN rows and listings cold", async () => {
    const ann = (await expectColdEqual({ rankBy: ["vector", "ANN", [0.3, 0.2, 0.1, 1]], topK: 20, includeAttributes: true })) as { rows: { id: string; attributes?: Record<string, unknown> }[] };
    expect(ann.rows.length).toBe(20);
    const filtered = (await expectColdEqual({ rankBy: ["vector", "ANN", [0.3, -0.2, 0.1, 1]], topK: 10, filters: ["u", "Gte", P63], includeAttributes: ["u"] })) as {
      rows: { id: string; attributes?: { u?: Num } }[];
    };
    expect(filtered.rows.length).toBe(10);
    for (const row of [...ann.rows, ...filtered.rows]) expect(row.attributes?.u).toEqual(docs.get(row.id)!.u);
    for (const row of filtered.rows) expect(typeof row.attributes?.u).toBe("bigint");
    // limitPer over bigint values (their tuples from the row store).
    await expectColdEqual({ rankBy: ["vector", "ANN", [0.1, 0.2, 0.3, 1]], topK: 8, limitPer: { attributes: ["u"], limit: 1 }, includeAttributes: ["u"] });
  }, 60_000);

  it("corrupt or torn blocks of a column's exact values are Corrupt naming the index", async () => {
    const key = (await indexObjects(storage))[0]?.key;
    const original = (await storage.get(key!)).bytes;
    const directory = decodeBlockFileDirectory(original, original.byteLength);
    const meta = parseIndexMeta(sliceFromTail(directory, original, directory.section("meta.json")!));
    const u = meta.attributes.find((a) => a.name === "u")!;
    const exactSections = new Set([`a${u.exactSlots!.$a}`, `a${u.exactValues!.$s[0]}`, `a${u.exactValues!.$s[1]}`]);
    const query = () => makeEngine(storage, COLD).query(NS, { filters: ["u", "Eq", P63 + 3n], aggregateBy: { s: ["Sum", "u"] } });
    expect(await query()).toBeDefined();
    // One byte flipped in each section of the exact values.
    expect(await corruptSectionFailures(storage, key!, query, (section) => exactSections.has(section.name))).toBe(3);
    // A torn write: the second half of the exact digits' first block zeroed.
    const digits = directory.section(`a${u.exactValues!.$s[1]}`)!;
    const torn = original.slice();
    torn.fill(0, digits.offset + Math.floor(digits.blockEnd(0) / 2), digits.offset + digits.blockEnd(0));
    await storage.put(key!, torn, { mode: { kind: "overwrite" } });
    const error = await query().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isCorrupt(error), String(error)).toBe(true);
    expect((error as { key: string }).key).toBe(key);
    await storage.put(key!, original, { mode: { kind: "overwrite" } });
    expect(await query()).toEqual(await makeEngine(storage, { queryCache: { coldReads: false } }).query(NS, { filters: ["u", "Eq", P63 + 3n], aggregateBy: { s: ["Sum", "u"] } }));
  }, 60_000);

  it("reads tail PATCH bases with exact values by range", async () => {
    await writer.patch(NS, [
      { id: "doc-00002", attributes: { g: 9 } },
      { id: "doc-00013", attributes: { u: U64_MAX } },
    ]);
    docs.set("doc-00002", { ...docs.get("doc-00002")!, g: 9 });
    docs.set("doc-00013", { ...docs.get("doc-00013")!, u: U64_MAX });
    for (const { request, ref } of [
      { request: { filters: ["u", "Eq", U64_MAX], topK: 10_000, includeAttributes: ["u", "i"] }, ref: listing((a) => a.u === U64_MAX) },
      { request: { filters: ["g", "Eq", 9], topK: 10, includeAttributes: ["u", "i", "tags"] }, ref: listing((a) => a.g === 9) },
    ]) {
      const got = (await expectColdEqual(request)) as { rows: { id: string; attributes?: Record<string, unknown> }[] };
      expect(got.rows.map((r) => r.id)).toEqual(ref(docs));
    }
    const patched = (await makeEngine(storage, COLD).query(NS, { filters: ["g", "Eq", 9], topK: 1, includeAttributes: ["u", "i"] })).rows[0] as { attributes?: unknown };
    expect(patched.attributes).toEqual({ u: attrs(2).u, i: attrs(2).i });
  }, 60_000);
});

describe("stored tail chunks holding exact 64-bit integers (format 8)", () => {
  const TAIL_NS = "acme/coldu64/tail";
  /** Closed chunks of 600 documents, each persisted; no background load, so every query is cold. */
  const SETTINGS = { tailChunkDocs: 600, tailIndexPersistDocs: 1, segmentIndexBytes: 1 };
  const fresh = (storage: MemoryStorage, settings: Record<string, unknown> = SETTINGS) => makeEngine(storage, { queryCache: settings, compaction: { auto: false } });

  it("are read by range, equal to the loaded path and the exact reference; never a whole GET", async () => {
    const storage = new MemoryStorage();
    const writer = fresh(storage);
    await writer.createNamespace(TAIL_NS, { distanceMetric: "cosine" });
    const docs = new Map<string, Attrs>();
    for (const [from, to] of [
      [0, 600],
      [600, 1200],
      [1200, 1205],
    ] as const) {
      const batch = Array.from({ length: to - from }, (_, i) => doc(from + i));
      await writer.upsert(TAIL_NS, batch);
      for (let k = from; k < to; k++) docs.set(doc(k).id, attrs(k));
      await writer.query(TAIL_NS, { topK: 1 });
    }
    await writer.close();
    expect(writer.queryStats().tailIndexes.written).toBeGreaterThanOrEqual(2);
    const tailKeys = (await indexObjects(storage)).filter((o) => o.key.includes("/tailidx/"));
    expect(tailKeys.length).toBe(2);
    for (const { key } of tailKeys) {
      const bytes = (await storage.get(key)).bytes;
      expect(new DataView(bytes.buffer, bytes.byteOffset).getUint16(8, true)).toBe(8);
    }
    const wholeGets: string[] = [];
    const counted = new Proxy(storage, {
      get(target, prop) {
        if (prop === "get") {
          return async (key: string, options?: { range?: unknown }) => {
            if (key.includes("/tailidx/") && options?.range === undefined) wholeGets.push(key);
            return target.get(key, options as Parameters<MemoryStorage["get"]>[1]);
          };
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    for (const { request, ref } of [...CASES, ...AGGREGATES]) {
      const label = JSON.stringify(request, (_, v) => (typeof v === "bigint" ? `${v}n` : v));
      const json = request["aggregateBy"] === undefined ? { ...request, includeAttributes: ["u", "tags"] } : request;
      const loaded = await fresh(storage, { ...SETTINGS, coldReads: false }).query(TAIL_NS, json);
      const engine = fresh(counted as MemoryStorage);
      const got = await engine.query(TAIL_NS, json);
      expect(got, label).toEqual(loaded);
      expect(engine.queryStats().coldQueries, label).toBe(1);
      expect(engine.queryStats().tailIndexes, label).toMatchObject({ ranged: 2, materialized: 0 });
      const answer = got.aggregations ?? got.aggregationGroups ?? got.rows.map((r) => r.id);
      expect(answer, label).toEqual(ref(docs));
    }
    expect(wholeGets).toEqual([]);
  }, 120_000);
});
