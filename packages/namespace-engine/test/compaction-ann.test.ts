/**
 * Compaction builds each new segment's ANN (IVF) index alongside its text and
 * attribute indexes, and `engine.query` answers ANN requests from it with
 * high recall against exact search.
 */
import { describe, expect, it } from "vitest";
import { deserializeQueryIndex, type DocumentInput } from "@skerry/namespace-engine";
import { memoryEngine } from "./support/harness.ts";
import { gaussian, seededRandom } from "../../query/test/support/reference.ts";

const NS = "acme/ann/docs";
const DIM = 16;
const DOCS = 6000;
const CLUSTERS = 24;

function clusteredDocuments(seed: number): { docs: DocumentInput[]; centers: number[][] } {
  const random = seededRandom(seed);
  const centers = Array.from({ length: CLUSTERS }, () => Array.from({ length: DIM }, () => gaussian(random) * 4));
  const docs = Array.from({ length: DOCS }, (_, i) => {
    const center = centers[i % CLUSTERS]!;
    return {
      id: `d${String(i).padStart(5, "0")}`,
      vector: center.map((c) => c + gaussian(random)),
      attributes: { cluster: i % CLUSTERS },
    };
  });
  return { docs, centers };
}

describe("compaction and ANN", () => {
  it("stores an IVF index with each large compacted segment and answers ANN with recall@10 >= 0.95", async () => {
    const { storage, engine } = memoryEngine();
    await engine.createNamespace(NS, { distanceMetric: "euclidean" });
    const { docs, centers } = clusteredDocuments(7);
    for (let i = 0; i < docs.length; i += 1000) await engine.upsert(NS, docs.slice(i, i + 1000));
    await engine.compact(NS, { force: true });

    const manifest = await engine.manifest(NS);
    const segments = manifest.containers.filter((c) => c.kind === "SEGMENT");
    expect(segments).toHaveLength(1);
    const indexKey = segments[0]!.extra?.["index_key"];
    expect(typeof indexKey).toBe("string");
    const index = deserializeQueryIndex((await storage.get(indexKey as string)).bytes);
    expect(index.ann).not.toBeNull();

    const random = seededRandom(11);
    let hits = 0;
    let wanted = 0;
    for (let q = 0; q < 20; q++) {
      const center = centers[q % CLUSTERS]!;
      const vector = center.map((c) => c + gaussian(random));
      const exact = await engine.query(NS, { rankBy: ["vector", "kNN", vector], topK: 10 });
      const approximate = await engine.query(NS, { rankBy: ["vector", "ANN", vector], topK: 10 });
      const truth = new Set(exact.rows.map((r) => r.id));
      wanted += truth.size;
      hits += approximate.rows.filter((r) => truth.has(r.id)).length;
    }
    expect(hits / wanted).toBeGreaterThanOrEqual(0.95);
    await engine.close();
  }, 60_000);
});
