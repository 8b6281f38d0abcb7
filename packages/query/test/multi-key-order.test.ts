/**
 * Attribute order by several keys: `[["a", "asc"], ["b", "desc"], ...]`.
 * Rows tied on a key are ordered by the next one, then by id; each key puts
 * numbers and strings in typed groups (asc: numbers, strings, the rest;
 * desc: strings, numbers, the rest). Checked against a plain sort of the
 * live matching documents across partitions, with filters and exclusions.
 */
import { describe, expect, it } from "vitest";
import { buildQueryIndex, executeQuery, parseQueryRequest, type QueryDocument } from "../src/index.ts";
import { liveDocuments, matchesFilter, randomDocuments, randomFilter, seededRandom } from "./support/reference.ts";

type Key = readonly [string, "asc" | "desc"] | readonly [string, "asc" | "desc", { readonly missing: "first" | "last" }];

function keyOf(doc: QueryDocument, field: string, desc: boolean, missingFirst: boolean): [number, number | string] {
  const v = field === "id" ? doc.id : doc.attributes?.[field];
  if (typeof v === "number") return [desc ? 1 : 0, v];
  if (typeof v === "string") return [desc ? 0 : 1, v];
  return [missingFirst ? -1 : 2, ""];
}

function referenceOrder(docs: QueryDocument[], keys: readonly Key[]): string[] {
  return [...docs]
    .sort((a, b) => {
      for (const [field, order, params] of keys) {
        const desc = order === "desc";
        const first = params?.missing === "first";
        const [ga, va] = keyOf(a, field, desc, first);
        const [gb, vb] = keyOf(b, field, desc, first);
        if (ga !== gb) return ga - gb;
        if (va !== vb) {
          const c = va < vb ? -1 : 1;
          return desc ? -c : c;
        }
      }
      return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    })
    .map((d) => d.id);
}

describe("multi-key attribute order", () => {
  it("matches a plain sort across partitions, with filters and exclusions", async () => {
    const random = seededRandom(77);
    const raw = [randomDocuments(random, 300, { dimension: 2, ids: 500 }), randomDocuments(random, 80, { dimension: 2, ids: 500 })];
    // Coarse prices make ties on the first key common.
    for (const docs of raw) for (const d of docs) if (typeof d.attributes?.["price"] === "number") (d.attributes as Record<string, unknown>)["price"] = Math.round(d.attributes["price"] / 20);
    const excluded = [new Set([2, 8, 30]), new Set([1])];
    const indexes = raw.map((d) => buildQueryIndex(d, { metric: "DOT" }));
    const live = liveDocuments(raw, excluded);
    const orders: Key[][] = [
      [["color", "asc"], ["n", "desc"]],
      [["flag", "desc"], ["price", "asc"], ["color", "desc"]],
      [["price", "desc"], ["n", "asc"]],
      [["n", "asc"], ["id", "desc"]],
      [["nothing", "asc"], ["price", "asc"]],
      [["id", "asc"], ["n", "desc"]],
      // Rows without a value first on some keys (turbopuffer's ascending order), alone and with further keys.
      [["price", "asc", { missing: "first" }]],
      [["flag", "desc", { missing: "first" }]],
      [["price", "asc", { missing: "first" }], ["color", "asc", { missing: "first" }], ["n", "desc"]],
      [["color", "desc"], ["price", "asc", { missing: "first" }]],
      [["nothing", "asc", { missing: "first" }], ["flag", "asc", { missing: "last" }], ["n", "asc", { missing: "first" }]],
    ];
    for (let t = 0; t < 8; t++) {
      const filters = t === 0 ? undefined : randomFilter(random);
      for (const keys of orders) {
        for (const topK of [1, 7, 40, 500]) {
          const request = parseQueryRequest({ rankBy: keys, topK, ...(filters ? { filters } : {}) });
          const result = await executeQuery(indexes, request, { exclude: (_, p) => excluded[p] });
          const matching = live.filter((d) => request.filters === undefined || matchesFilter(d, request.filters));
          expect(result.rows.map((r) => r.id), JSON.stringify({ keys, topK, filters })).toEqual(referenceOrder(matching, keys).slice(0, topK));
        }
      }
    }
  });

  it("treats a list of one key as that key, and refuses malformed keys", async () => {
    const index = buildQueryIndex(
      [
        { id: "a", attributes: { v: 2 } },
        { id: "b", attributes: { v: 1 } },
      ],
      { metric: "COSINE" },
    );
    expect((await executeQuery([index], parseQueryRequest({ rankBy: [["v", "asc"]] }))).rows.map((r) => r.id)).toEqual(["b", "a"]);
    expect(() => parseQueryRequest({ rankBy: [["v", "up"]] })).toThrow(/order key/);
    expect(() => parseQueryRequest({ rankBy: [["v", "asc"], "n"] })).toThrow(/order key/);
    expect(() => parseQueryRequest({ rankBy: Array.from({ length: 9 }, () => ["v", "asc"]) })).toThrow(/at most 8/);
    expect(() => parseQueryRequest({ rankBy: [["v", "asc", { missing: "middle" }]] })).toThrow(/missing is "last" or "first"/);
    expect(() => parseQueryRequest({ rankBy: ["v", "asc", { nulls: "first" }] })).toThrow(/unknown order parameter "nulls"/);
    expect(() => parseQueryRequest({ rankBy: ["v", "asc", "first"] })).toThrow(/order parameters are an object/);
    expect(() => parseQueryRequest({ rankBy: ["v", "asc", {}, {}] })).toThrow(/has 2 or 3 elements/);
  });

  it('puts rows without a value first with {"missing": "first"}, ties by id, and last by default', async () => {
    const index = buildQueryIndex(
      [
        { id: "a", attributes: { v: 2, w: 1 } },
        { id: "b", attributes: { v: 1, w: 1 } },
        { id: "c", attributes: { w: 2 } },
        { id: "d", attributes: { v: null, w: 1 } },
        { id: "e", attributes: { v: "x" } },
        { id: "f", attributes: { v: true, w: 1 } },
      ],
      { metric: "COSINE" },
    );
    const ids = async (rankBy: unknown, topK = 10) => (await executeQuery([index], parseQueryRequest({ rankBy, topK }))).rows.map((r) => r.id);
    expect(await ids(["v", "asc"])).toEqual(["b", "a", "e", "c", "d", "f"]);
    expect(await ids(["v", "asc", { missing: "last" }])).toEqual(["b", "a", "e", "c", "d", "f"]);
    expect(await ids(["v", "asc", { missing: "first" }])).toEqual(["c", "d", "f", "b", "a", "e"]);
    expect(await ids(["v", "asc", { missing: "first" }], 2)).toEqual(["c", "d"]);
    expect(await ids(["v", "asc", { missing: "first" }], 4)).toEqual(["c", "d", "f", "b"]);
    expect(await ids(["v", "desc", { missing: "first" }])).toEqual(["c", "d", "f", "e", "a", "b"]);
    expect(await ids(["v", "desc"])).toEqual(["e", "a", "b", "c", "d", "f"]);
    // The rows without v tie on it and go to the next key (w desc: c first; e has no w either, last by default).
    expect(await ids([["v", "asc", { missing: "first" }], ["w", "desc"]])).toEqual(["c", "d", "f", "b", "a", "e"]);
    expect(await ids([["w", "asc", { missing: "first" }], ["v", "asc", { missing: "first" }]])).toEqual(["e", "d", "f", "b", "a", "c"]);
  });
});
