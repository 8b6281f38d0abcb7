/**
 * Attribute order by several keys: `[["a", "asc"], ["b", "desc"], ...]`.
 * Rows tied on a key are ordered by the next one, then by id; each key puts
 * numbers and strings in typed groups (asc: numbers, strings, the rest;
 * desc: strings, numbers, the rest). Checked against a plain sort of the
 * live matching documents across partitions, with filters and exclusions.
 */
import { describe, expect, it } from "vitest";
import { buildQueryIndex, executeQuery, parseQueryRequest, type QueryDocument } from "../../src/query/index.ts";
import { liveDocuments, matchesFilter, randomDocuments, randomFilter, seededRandom } from "./support/reference.ts";

type Key = readonly [string, "asc" | "desc"];

function keyOf(doc: QueryDocument, field: string, desc: boolean): [number, number | string] {
  const v = field === "id" ? doc.id : doc.attributes?.[field];
  if (typeof v === "number") return [desc ? 1 : 0, v];
  if (typeof v === "string") return [desc ? 0 : 1, v];
  return [2, ""];
}

function referenceOrder(docs: QueryDocument[], keys: readonly Key[]): string[] {
  return [...docs]
    .sort((a, b) => {
      for (const [field, order] of keys) {
        const desc = order === "desc";
        const [ga, va] = keyOf(a, field, desc);
        const [gb, vb] = keyOf(b, field, desc);
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
  });
});
