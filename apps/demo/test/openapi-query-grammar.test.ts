/**
 * The OpenAPI document's description of the query grammar (the Filter,
 * RankBy and TextRanking components, src/http/query-grammar.ts): every
 * reference resolves, the query request points at them, and every
 * variant's example is a filter or ranking the query parser accepts, with
 * as many elements as the variant's positions allow.
 */
import { MemoryStorage } from "@skerry/storage-providers";
import { parseQueryRequest } from "@skerry/namespace-engine";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SkerryServer } from "../src/server/server.ts";
import { startTestServer } from "./support/harness.ts";

type Schema = Record<string, unknown> & { oneOf?: Schema[]; example?: unknown; minItems?: number; maxItems?: number; "x-skerry-tuple"?: unknown[]; $ref?: string };

describe("OpenAPI query grammar", () => {
  let server: SkerryServer;
  let schemas: Record<string, Schema>;
  let text: string;

  beforeAll(async () => {
    server = await startTestServer(new MemoryStorage());
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as { components: { schemas: Record<string, Schema> } };
    schemas = doc.components.schemas;
    text = JSON.stringify(doc);
  });
  afterAll(() => server?.close());

  it("points the query request and the by-filter writes at the grammar, and every reference resolves", () => {
    const query = schemas["QueryRequest"]?.["properties"] as Record<string, Schema>;
    expect(query["filters"]).toEqual({ $ref: "#/components/schemas/Filter" });
    expect(query["rankBy"]).toEqual({ $ref: "#/components/schemas/RankBy" });
    expect((schemas["DeleteByFilterRequest"]?.["properties"] as Record<string, Schema> | undefined)?.["filter"]).toEqual({ $ref: "#/components/schemas/Filter" });
    const refs = new Set([...text.matchAll(/"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1] as string));
    expect([...refs].filter((r) => !Object.hasOwn(schemas, r))).toEqual([]);
    for (const name of ["Filter", "RankBy", "TextRanking", "SparseVector"]) expect(refs.has(name)).toBe(true);
  });

  const variants = (name: string): Schema[] => (schemas[name]?.oneOf ?? []).flatMap((v) => (v.$ref === undefined ? [v] : variants(v.$ref.split("/").pop() as string)));

  it("has examples the query parser accepts, of the variant's length", () => {
    const cases: [string, string][] = [
      ["Filter", "filters"],
      ["RankBy", "rankBy"],
      ["TextRanking", "rankBy"],
    ];
    for (const [component, key] of cases) {
      const list = variants(component);
      expect(list.length).toBeGreaterThan(2);
      for (const variant of list) {
        expect(variant.example, JSON.stringify(variant)).toBeDefined();
        expect(() => parseQueryRequest({ [key]: variant.example }), JSON.stringify(variant.example)).not.toThrow();
        const tuple = variant["x-skerry-tuple"];
        const length = (variant.example as unknown[]).length;
        if (tuple !== undefined) {
          expect(tuple.length).toBe(variant.maxItems);
          expect(length).toBeGreaterThanOrEqual(variant.minItems ?? 0);
          expect(length).toBeLessThanOrEqual(variant.maxItems ?? Number.POSITIVE_INFINITY);
        }
      }
    }
    // Every filter operator of the query module is named by some variant.
    const named = JSON.stringify(variants("Filter"));
    for (const op of ["Eq", "NotEq", "Lt", "Lte", "Gt", "Gte", "In", "NotIn", "ContainsAny", "ContainsAll", "Glob", "IGlob", "Regex", "AnyLt", "AnyLte", "AnyGt", "AnyGte", "ContainsAllTokens", "ContainsAnyToken", "Exists", "And", "Or", "Not"]) {
      expect(named).toContain(`"${op}"`);
    }
  });
});
