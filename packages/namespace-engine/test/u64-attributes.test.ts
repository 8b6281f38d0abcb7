/**
 * 64-bit integer attribute values (bigints beyond 2^53-1; `int` i64, `uint` u64): stored exactly in the log tail,
 * in segments and in the query index (format 8), and queried exactly: Eq / NotEq / In / ranges comparing bigints
 * with numbers, Contains on `[]uint`, attribute order (one and several keys), Sum, returned rows. Cold answers
 * equal loaded ones (the cold paths over larger indexes: cold-u64.test.ts); out of range is SchemaViolation.
 */
import { MemoryStorage } from "@skerry/storage-providers";
import { describe, expect, it } from "vitest";
import type { DocumentInput } from "@skerry/namespace-engine";
import { makeEngine } from "./support/harness.ts";

const NS = "acme/u64/docs";
const P53 = 2n ** 53n;
const I64_MAX = 2n ** 63n - 1n;
const I64_MIN = -(2n ** 63n);
const U64_MAX = 2n ** 64n - 1n;

/** The values under test and their neighbours, each in its own document (u: uint, i: int, tags: []uint). */
const U_VALUES: (number | bigint)[] = [0, 5, Number.MAX_SAFE_INTEGER, P53, P53 + 1n, I64_MAX, I64_MAX + 1n, U64_MAX - 1n, U64_MAX];
const I_VALUES: (number | bigint)[] = [I64_MIN, I64_MIN + 1n, -(P53 + 1n), -7, 0, P53 + 1n, I64_MAX - 1n, I64_MAX];

function docs(salt: string): DocumentInput[] {
  return U_VALUES.map((u, k) => ({
    id: `${salt}${k}`,
    vector: [1, k, 0.5],
    attributes: { u, i: I_VALUES[k % I_VALUES.length]!, tags: [u, 1], group: k % 2 } as DocumentInput["attributes"],
  }));
}

const requests: Record<string, unknown>[] = [
  { rankBy: ["u", "asc"], topK: 100, includeAttributes: ["u", "i", "tags"] },
  { rankBy: ["u", "desc"], topK: 4, includeAttributes: ["u"] },
  { rankBy: [["group", "asc"], ["u", "desc"]], topK: 100, includeAttributes: ["u"] },
  { rankBy: ["i", "asc"], topK: 100, includeAttributes: ["i"] },
  { filters: ["u", "Eq", U64_MAX], topK: 10, includeAttributes: ["u"] },
  { filters: ["u", "Eq", U64_MAX - 1n], topK: 10 },
  { filters: ["u", "NotEq", P53], topK: 100 },
  { filters: ["u", "In", [P53 + 1n, I64_MAX, 5]], topK: 100 },
  { filters: ["u", "NotIn", [P53 + 1n, I64_MAX]], topK: 100 },
  { filters: ["u", "Gt", I64_MAX], topK: 100, includeAttributes: ["u"] },
  { filters: ["u", "Gte", 18446744073709551615n], topK: 100 },
  { filters: ["u", "Lt", P53 + 1n], topK: 100 },
  { filters: ["u", "Lte", Number(P53)], topK: 100 },
  { filters: ["u", "Gt", 2 ** 64], topK: 100 },
  { filters: ["u", "Lt", 2 ** 64], topK: 100 },
  { filters: ["i", "Lt", I64_MIN + 1n], topK: 100, includeAttributes: ["i"] },
  { filters: ["i", "Gte", -(P53 + 1n)], topK: 100 },
  { filters: ["tags", "ContainsAny", [U64_MAX]], topK: 100 },
  { filters: ["tags", "ContainsAny", [P53, I64_MAX + 1n]], topK: 100 },
  { filters: ["tags", "ContainsAny", [Number(P53)]], topK: 100 },
  { aggregateBy: { s: ["Sum", "u"], c: ["Count", "u"] } },
  { aggregateBy: { s: ["Sum", "i"] } },
  { aggregateBy: { s: ["Sum", "u"] }, groupBy: ["group"] },
  { filters: ["u", "Lt", 1000], aggregateBy: { s: ["Sum", "u"] } },
];

const rowsOf = (result: { rows: readonly { id: string }[] }) => result.rows.map((r) => r.id);

describe("64-bit integer attribute values", () => {
  it("round-trip exactly and query exactly in the tail, after compaction, cold and loaded alike", async () => {
    const storage = new MemoryStorage();
    const writer = makeEngine(storage);
    await writer.createNamespace(NS, { distanceMetric: "cosine" });
    await writer.upsert(NS, docs("a"));
    const tail = [];
    for (const request of requests) tail.push(await writer.query(NS, request));
    // The tail answers.
    const first = tail[0]!;
    expect(first.rows.map((r) => (r as { attributes?: { u?: unknown } }).attributes?.u)).toEqual(U_VALUES);
    expect(rowsOf(tail[4]!)).toEqual(["a8"]);
    expect(rowsOf(tail[5]!)).toEqual(["a7"]);
    expect(rowsOf(tail[9]!).sort()).toEqual(["a6", "a7", "a8"]);
    expect(rowsOf(tail[10]!)).toEqual(["a8"]);
    expect(rowsOf(tail[11]!).sort()).toEqual(["a0", "a1", "a2", "a3"]);
    expect(rowsOf(tail[12]!).sort()).toEqual(["a0", "a1", "a2", "a3"]);
    expect(rowsOf(tail[13]!)).toEqual([]);
    expect(rowsOf(tail[14]!).sort()).toEqual(["a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8"]);
    expect(rowsOf(tail[15]!)).toEqual(["a0", "a8"]);
    expect(rowsOf(tail[17]!)).toEqual(["a8"]);
    expect(rowsOf(tail[18]!).sort()).toEqual(["a3", "a6"]);
    expect(rowsOf(tail[19]!)).toEqual(["a3"]);
    const uSum = U_VALUES.reduce<bigint>((a, b) => a + BigInt(b), 0n);
    expect((tail[20] as { aggregations?: Record<string, unknown> }).aggregations).toEqual({ s: uSum, c: 9 });
    expect((tail[23] as { aggregations?: Record<string, unknown> }).aggregations).toEqual({ s: 5 });

    // After compaction (query index format 8): the same answers, loaded and cold, and again with a tail.
    await writer.compact(NS, { force: true });
    for (let r = 0; r < requests.length; r++) {
      const warm = makeEngine(storage, { queryCache: { coldReads: false } });
      const cold = makeEngine(storage);
      const loaded = await warm.query(NS, requests[r]!);
      expect({ ...loaded, version: 0 }, JSON.stringify(requests[r], (_, v) => (typeof v === "bigint" ? `${v}n` : v))).toEqual({ ...tail[r], version: 0 });
      expect(await cold.query(NS, requests[r]!)).toEqual(loaded);
    }
    await writer.upsert(NS, docs("b"));
    for (const request of requests) {
      const warm = makeEngine(storage, { queryCache: { coldReads: false } });
      expect(await makeEngine(storage).query(NS, request)).toEqual(await warm.query(NS, request));
    }
    const all = await writer.query(NS, { rankBy: ["u", "desc"], topK: 2, includeAttributes: ["u", "tags"] });
    expect(all.rows.map((r) => (r as { attributes?: unknown }).attributes)).toEqual([
      { u: U64_MAX, tags: [U64_MAX, 1] },
      { u: U64_MAX, tags: [U64_MAX, 1] },
    ]);
  });

  it("refuses values outside the 64-bit ranges and ones their type does not hold", async () => {
    const engine = makeEngine(new MemoryStorage());
    await engine.createNamespace(NS, { distanceMetric: "cosine", schema: { attributes: { s: { type: "int" } } } } as never);
    await expect(engine.upsert(NS, [{ id: "x", attributes: { u: U64_MAX + 1n } }])).rejects.toMatchObject({ code: "InvalidArgument", attribute: expect.any(String) });
    await expect(engine.upsert(NS, [{ id: "x", attributes: { u: I64_MIN - 1n } }])).rejects.toMatchObject({ code: "InvalidArgument", attribute: expect.any(String) });
    await expect(engine.upsert(NS, [{ id: "x", attributes: { s: I64_MAX + 1n } }])).rejects.toMatchObject({ code: "InvalidArgument", attribute: expect.any(String) });
    await engine.upsert(NS, [{ id: "x", attributes: { s: I64_MIN, w: U64_MAX } }]);
    await expect(engine.upsert(NS, [{ id: "y", attributes: { w: -1 } }])).rejects.toMatchObject({ code: "InvalidArgument", attribute: expect.any(String) });
    // A bigint within the safe range is stored as a number.
    await engine.upsert(NS, [{ id: "z", attributes: { s: 5n } }]);
    const rows = (await engine.query(NS, { rankBy: ["id", "asc"], topK: 5, includeAttributes: ["s", "w"] })).rows;
    expect(rows.map((r) => (r as { attributes?: unknown }).attributes)).toEqual([{ s: I64_MIN, w: U64_MAX }, { s: 5 }]);
  });
});
