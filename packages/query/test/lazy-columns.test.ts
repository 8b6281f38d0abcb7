import { afterEach, describe, expect, it, vi } from "vitest";

// Counts the column builds: an index made by buildQueryIndex builds its text fields and attribute columns on
// first use, once, and gives the same answers and bytes as one whose columns were read right away.
const builds = vi.hoisted(() => ({ text: 0, attributes: 0 }));
vi.mock("../src/text-index.ts", async (original) => {
  const actual = await original<typeof import("../src/text-index.ts")>();
  return {
    ...actual,
    buildTextFieldIndex: (...args: Parameters<typeof actual.buildTextFieldIndex>) => {
      builds.text++;
      return actual.buildTextFieldIndex(...args);
    },
  };
});
vi.mock("../src/attribute-columns.ts", async (original) => {
  const actual = await original<typeof import("../src/attribute-columns.ts")>();
  return {
    ...actual,
    buildAttributeColumn: (...args: Parameters<typeof actual.buildAttributeColumn>) => {
      builds.attributes++;
      return actual.buildAttributeColumn(...args);
    },
  };
});

const { buildQueryIndex, executeQuery, parseQueryRequest } = await import("../src/index.ts");
const { serializeQueryIndex } = await import("../src/index-codec.ts");
const { indexStateMessage, queryIndexFromMessage } = await import("../src/index-transfer.ts");

type Doc = import("../src/index.ts").QueryDocument;

function docs(n: number): Doc[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `d${String(i).padStart(3, "0")}`,
    vector: [Math.cos(i), Math.sin(i), (i % 7) / 7],
    text: { body: i % 3 === 0 ? "quick brown fox" : "lazy dog" },
    attributes: { color: i % 2 === 0 ? "red" : "blue", price: i },
  }));
}

afterEach(() => {
  builds.text = 0;
  builds.attributes = 0;
});

describe("buildQueryIndex builds text fields and attribute columns on first use", () => {
  it("an ANN query reads neither; a filter builds the columns once, BM25 the text fields once", async () => {
    const index = buildQueryIndex(docs(50), { metric: "COSINE", textFields: { body: {} } });
    const ann = await executeQuery([index], parseQueryRequest({ rankBy: ["vector", "ANN", [1, 0, 0]], topK: 5 }));
    expect(ann.rows).toHaveLength(5);
    expect(builds).toEqual({ text: 0, attributes: 0 });

    const filtered = await executeQuery([index], parseQueryRequest({ rankBy: ["vector", "kNN", [1, 0, 0]], filters: ["color", "Eq", "red"], topK: 50 }));
    expect(filtered.rows).toHaveLength(25);
    expect(builds).toEqual({ text: 0, attributes: 2 });
    await executeQuery([index], parseQueryRequest({ rankBy: ["price", "desc"], filters: ["color", "Eq", "blue"], includeAttributes: true }));
    expect(builds.attributes).toBe(2);

    const bm25 = await executeQuery([index], parseQueryRequest({ rankBy: ["body", "BM25", "fox"], topK: 50 }));
    expect(bm25.rows).toHaveLength(17);
    await executeQuery([index], parseQueryRequest({ rankBy: ["body", "BM25", "dog"], topK: 50 }));
    expect(builds).toEqual({ text: 1, attributes: 2 });
  });

  it("answers, serializes and posts to a worker exactly as an index whose columns were built right away", async () => {
    const lazy = buildQueryIndex(docs(80), { metric: "COSINE", textFields: { body: {} }, ann: { minDocuments: 16 } });
    const eager = buildQueryIndex(docs(80), { metric: "COSINE", textFields: { body: {} }, ann: { minDocuments: 16 } });
    expect(eager.textFields.size + eager.attributeColumns.size).toBe(3); // built now
    expect(Buffer.from(serializeQueryIndex(lazy)).equals(Buffer.from(serializeQueryIndex(eager)))).toBe(true);
    const posted = queryIndexFromMessage(indexStateMessage(buildQueryIndex(docs(80), { metric: "COSINE", textFields: { body: {} }, ann: { minDocuments: 16 } })));
    for (const request of [
      { rankBy: ["body", "BM25", "quick dog"], topK: 80, includeAttributes: true },
      { rankBy: ["vector", "ANN", [0, 1, 0]], filters: ["price", "Gte", 40], topK: 10, includeAttributes: ["color"] },
    ]) {
      const expected = await executeQuery([eager], parseQueryRequest(request));
      expect(await executeQuery([lazy], parseQueryRequest(request))).toEqual(expected);
      expect(await executeQuery([posted], parseQueryRequest(request))).toEqual(expected);
    }
  });

  it("an unknown stemmer is still the build's error, not a later query's", () => {
    expect(() => buildQueryIndex(docs(3), { metric: "COSINE", textFields: { body: { stemmer: "klingon" } } })).toThrow(/no stemmer/);
  });
});
