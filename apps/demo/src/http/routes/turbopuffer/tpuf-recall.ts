/**
 * `POST /v1/namespaces/:namespace/_debug/recall`: ANN against exact kNN on
 * sampled query vectors. The queries are the vectors of `num` documents
 * spread evenly over the first 10,000 ids (deterministic), or the request's
 * own `rank_by` vector; each runs as ANN and as an exact kNN scan at the
 * same version with the same filters; recall is |ANN ∩ exact| / |exact|,
 * averaged.
 */
import type { NamespaceEngine } from "@skerry/namespace-engine";
import { ApiError } from "../../api-error.ts";
import { translateFilter } from "./tpuf-filters.ts";
import { fromEngineId } from "./tpuf-ids.ts";
import { targetOf } from "./tpuf-query.ts";
import { decodeVector } from "./tpuf-vectors.ts";

interface Row {
  id: string;
  distance?: number;
  vector?: number[];
}

export async function tpufRecall(engine: NamespaceEngine, path: string, body: unknown) {
  const params = (typeof body === "object" && body !== null && !Array.isArray(body) ? body : {}) as Record<string, unknown>;
  const manifest = await engine.manifest(path);
  const target = targetOf(manifest);
  if (manifest.vector?.dimension === undefined) throw new ApiError("InvalidQuery", "recall: the namespace has no vectors");
  const topK = params["top_k"] ?? 10;
  if (typeof topK !== "number" || !Number.isInteger(topK) || topK < 1 || topK > 1000) throw new ApiError("InvalidQuery", "recall: top_k is an integer in [1, 1000]");
  const filters = params["filters"] === undefined || params["filters"] === null ? undefined : translateFilter(params["filters"], target.idType, "filters", target.schema);
  const rankBy = params["rank_by"];
  let vectors: number[][];
  if (rankBy !== undefined && rankBy !== null) {
    if (params["num"] !== undefined && params["num"] !== null && params["num"] !== 1) throw new ApiError("InvalidQuery", "recall: with rank_by, num must be 1");
    if (!Array.isArray(rankBy) || rankBy[0] !== "vector" || (rankBy[1] !== "ANN" && rankBy[1] !== "kNN")) {
      throw new ApiError("InvalidQuery", 'recall: rank_by is ["vector", "ANN", [..]]');
    }
    vectors = [decodeVector(rankBy[2], "rank_by[2]")];
  } else {
    const num = params["num"] ?? 25;
    if (typeof num !== "number" || !Number.isInteger(num) || num < 1 || num > 1000) throw new ApiError("InvalidQuery", "recall: num is an integer in [1, 1000]");
    const page = await engine.scan(path, { atVersion: manifest.version, consistency: "eventual", limit: 10_000 });
    const withVectors = page.documents.filter((d) => d.vector !== undefined);
    const step = Math.max(1, withVectors.length / num);
    vectors = [];
    for (let i = 0; i < num && Math.floor(i * step) < withVectors.length; i++) vectors.push(Array.from(withVectors[Math.floor(i * step)]?.vector as Float32Array));
  }
  let recall = 0;
  let annCount = 0;
  let exactCount = 0;
  const truth: { query_vector: number[]; nearest_neighbors: Record<string, unknown>[] }[] = [];
  for (const vector of vectors) {
    const base = { topK, ...(filters === undefined ? {} : { filters }) };
    const [ann, exact] = await Promise.all([
      engine.query(path, { ...base, rankBy: ["vector", "ANN", vector] }, { atVersion: manifest.version, consistency: "eventual" }),
      engine.query(path, { ...base, rankBy: ["vector", "kNN", vector], includeVectors: params["include_ground_truth"] === true }, { atVersion: manifest.version, consistency: "eventual" }),
    ]);
    const exactRows = exact.rows as Row[];
    const annIds = new Set((ann.rows as Row[]).map((r) => r.id));
    const hits = exactRows.filter((r) => annIds.has(r.id)).length;
    recall += exactRows.length === 0 ? 1 : hits / exactRows.length;
    annCount += ann.rows.length;
    exactCount += exactRows.length;
    if (params["include_ground_truth"] === true) {
      const square = manifest.vector?.metric === "EUCLIDEAN";
      truth.push({
        query_vector: vector,
        nearest_neighbors: exactRows.map((r) => ({
          id: fromEngineId(r.id, target.idType),
          $dist: r.distance === undefined ? undefined : square ? r.distance * r.distance : r.distance,
          vector: r.vector,
        })),
      });
    }
  }
  const n = Math.max(1, vectors.length);
  return {
    avg_recall: recall / n,
    avg_ann_count: annCount / n,
    avg_exhaustive_count: exactCount / n,
    ...(params["include_ground_truth"] === true ? { ground_truth: truth } : {}),
  };
}
