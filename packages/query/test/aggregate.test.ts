/**
 * Aggregations: Count, Count of a field and Sum, whole and per group,
 * against a reference over the live documents; sums exact whatever the
 * partitioning; type mismatches and bad shapes refused with their path.
 */
import { describe, expect, it } from "vitest";
import { buildQueryIndex, executeQuery, InvalidQueryError, parseQueryRequest, type QueryDocument } from "../src/index.ts";
import { ExactSum } from "../src/exact-sum.ts";
import { liveDocuments, matchesFilter, randomDocuments, randomFilter, seededRandom } from "./support/reference.ts";

const AGGREGATIONS = { count: ["Count"], priced: ["Count", "price"], total: ["Sum", "price"], ns: ["Sum", "n"], flags: ["Count", "flag"] };

function reference(docs: readonly QueryDocument[]) {
  const out = { count: 0, priced: 0, total: [] as number[], ns: [] as number[], flags: 0 };
  for (const d of docs) {
    const a = d.attributes ?? {};
    out.count++;
    if (a["price"] !== undefined && a["price"] !== null) out.priced++;
    if (a["flag"] !== undefined && a["flag"] !== null) out.flags++;
    if (typeof a["price"] === "number") out.total.push(a["price"]);
    if (typeof a["n"] === "number") out.ns.push(a["n"]);
  }
  const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
  return { count: out.count, priced: out.priced, total: sum(out.total), ns: sum(out.ns), flags: out.flags };
}

describe("aggregations", () => {
  it("Count, Count of a field and Sum match the reference, whole and per group, with filters and exclusions", async () => {
    const random = seededRandom(41);
    const raw = [randomDocuments(random, 400, { dimension: 2, ids: 600 }), randomDocuments(random, 120, { dimension: 2, ids: 600 })];
    const excluded = [new Set([3, 4, 9]), new Set([7])];
    const indexes = raw.map((d) => buildQueryIndex(d, { metric: "DOT" }));
    const live = liveDocuments(raw, excluded);
    for (let t = 0; t < 15; t++) {
      const filters = t === 0 ? undefined : randomFilter(random);
      const base = parseQueryRequest({ aggregateBy: AGGREGATIONS, topK: 1000, ...(filters ? { filters } : {}) });
      const matching = live.filter((d) => base.filters === undefined || matchesFilter(d, base.filters));
      const whole = await executeQuery(indexes, base, { exclude: (_, p) => excluded[p] });
      const expected = reference(matching);
      expect(whole.aggregations).toMatchObject({ count: expected.count, priced: expected.priced, flags: expected.flags });
      expect(whole.aggregations!["total"]).toBeCloseTo(expected.total, 6);
      expect(whole.aggregations!["ns"]).toBeCloseTo(expected.ns, 9);
      for (const groupBy of [["color"], ["color", "flag"]]) {
        const request = parseQueryRequest({ aggregateBy: AGGREGATIONS, groupBy, topK: 1000, ...(filters ? { filters } : {}) });
        const result = await executeQuery(indexes, request, { exclude: (_, p) => excluded[p] });
        const groups = new Map<string, QueryDocument[]>();
        for (const d of matching) {
          const key = JSON.stringify(groupBy.map((g) => d.attributes?.[g] ?? null));
          groups.set(key, [...(groups.get(key) ?? []), d]);
        }
        expect(result.aggregationGroups).toHaveLength(groups.size);
        for (const g of result.aggregationGroups!) {
          const want = reference(groups.get(JSON.stringify(groupBy.map((k) => g.group[k])))!);
          expect(g.aggregations).toMatchObject({ count: want.count, priced: want.priced, flags: want.flags });
          expect(g.aggregations["total"]).toBeCloseTo(want.total, 6);
        }
        const order = result.aggregationGroups!.map((g) => g.aggregations["count"] as number);
        expect(order).toEqual([...order].sort((a, b) => b - a));
      }
    }
  });

  it("sums exactly: the same answer however the documents are split and ordered", async () => {
    const values = [1e16, 1, -1e16, 0.1, 0.2, 0.3, 1e-8, 3.5, -2.25, 123456.789, 1 / 3, 2 ** 53, -(2 ** 53), 7e-300];
    const docs = values.map((v, i) => ({ id: `d${String(i).padStart(2, "0")}`, attributes: { v } }));
    const request = parseQueryRequest({ aggregateBy: { s: ["Sum", "v"] } });
    const sums = new Set<number>();
    const random = seededRandom(5);
    for (let round = 0; round < 20; round++) {
      const shuffled = [...docs].sort(() => random() - 0.5);
      const cut = 1 + Math.floor(random() * (docs.length - 1));
      const parts = [shuffled.slice(0, cut), shuffled.slice(cut)].map((d) => buildQueryIndex(d, { metric: "COSINE" }));
      sums.add((await executeQuery(parts, request)).aggregations!["s"] as number);
    }
    expect([...sums]).toHaveLength(1);
    const exact = new ExactSum();
    for (const v of values) exact.add(v);
    expect([...sums][0]).toBe(exact.value());
    // 1e16 + 1 - 1e16 loses the 1 in plain float addition; the exact sum keeps it.
    const small = new ExactSum();
    for (const v of [1e16, 1, -1e16]) small.add(v);
    expect(small.value()).toBe(1);
    const tenths = new ExactSum();
    for (let i = 0; i < 10; i++) tenths.add(0.1);
    expect(tenths.value()).toBe(1);
  });

  it("ignores values that are not numbers, sums a missing attribute to 0, and refuses Sum of a field without numbers", async () => {
    const index = buildQueryIndex(
      [
        { id: "a", attributes: { v: 2, s: "x", arr: [1, 2] } },
        { id: "b", attributes: { v: "three", s: "y" } },
        { id: "c", attributes: { v: null } },
        { id: "d", attributes: { v: 5.5 } },
      ],
      { metric: "COSINE" },
    );
    const result = await executeQuery([index], parseQueryRequest({ aggregateBy: { s: ["Sum", "v"], c: ["Count", "v"], none: ["Sum", "absent"], all: ["Count", "id"] } }));
    expect(result.aggregations).toEqual({ s: 7.5, c: 3, none: 0, all: 4 });
    await expect(executeQuery([index], parseQueryRequest({ aggregateBy: { bad: ["Sum", "s"] } }))).rejects.toMatchObject({
      reason: "type_mismatch",
      path: ["aggregateBy", "bad", 1],
    });
    await expect(executeQuery([index], parseQueryRequest({ aggregateBy: { bad: ["Sum", "arr"] } }))).rejects.toBeInstanceOf(InvalidQueryError);
  });

  it("refuses malformed aggregations naming them", () => {
    const issue = (aggregateBy: unknown) => {
      try {
        parseQueryRequest({ aggregateBy });
      } catch (error) {
        return (error as InvalidQueryError).issues[0];
      }
      return undefined;
    };
    expect(issue({ s: ["Sum"] })).toMatchObject({ path: ["aggregateBy", "s"], reason: "schema" });
    expect(issue({ s: ["Avg", "v"] })).toMatchObject({ path: ["aggregateBy", "s", 0], reason: "unknown_operator" });
    expect(issue({ s: ["Sum", ""] })).toMatchObject({ path: ["aggregateBy", "s", 1] });
    expect(issue({ s: ["Count", "v", "w"] })).toMatchObject({ path: ["aggregateBy", "s"] });
    expect(issue(JSON.parse('{"__proto__": ["Sum", "constructor"]}'))).toBeUndefined();
  });
});
