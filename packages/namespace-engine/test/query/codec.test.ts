import { describe, expect, it } from "vitest";
import {
  buildQueryIndex,
  deserializeQueryIndex,
  executeQuery,
  isCorruptIndex,
  isUnsupportedIndexVersion,
  parseQueryRequest,
  serializeQueryIndex,
} from "../../src/query/index.ts";
import { gaussian, randomDocuments, seededRandom } from "./support/reference.ts";

function rejects(bytes: Uint8Array, options = {}): unknown {
  try {
    deserializeQueryIndex(bytes, options);
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

describe("query index serialization", () => {
  const random = seededRandom(41);
  const docs = randomDocuments(random, 3000, { dimension: 12 });
  const index = buildQueryIndex(docs, { metric: "COSINE", ann: { minDocuments: 1000 }, textFields: { body: { stopWords: ["tau"] } } });
  const bytes = serializeQueryIndex(index);

  it("a deserialized index answers every query exactly like the original", async () => {
    const loaded = deserializeQueryIndex(bytes);
    expect(loaded.size).toBe(index.size);
    expect(loaded.ann?.lists).toBe(index.ann?.lists);
    const q = Array.from({ length: 12 }, () => gaussian(random));
    const requests = [
      { rankBy: ["vector", "ANN", q], topK: 20, includeAttributes: true, includeVectors: true },
      { rankBy: ["vector", "kNN", q], filters: ["tags", "ContainsAny", ["alpha"]], distanceMetric: "EUCLIDEAN" },
      { rankBy: ["body", "BM25", "alpha tau omega"], topK: 50 },
      { rankBy: ["sparse", "Dot", { indices: [1, 5], values: [1, 2] }] },
      { rankBy: ["color", "asc"], filters: ["price", "Gt", 50] },
      { aggregateBy: { c: ["Count"] }, groupBy: ["color"], filters: ["Not", ["flag", "Eq", true]] },
    ];
    const exclude = () => new Set([0, 10, 20]);
    for (const r of requests) {
      const request = parseQueryRequest(r);
      expect(await executeQuery([loaded], request, { exclude })).toEqual(await executeQuery([index], request, { exclude }));
    }
    // and serializing again gives the same bytes
    expect(Buffer.compare(serializeQueryIndex(loaded), bytes)).toBe(0);
  });

  it("loads from a view at an unaligned offset", () => {
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    expect(deserializeQueryIndex(shifted.subarray(3)).size).toBe(index.size);
  });

  it("rejects truncated, corrupted and foreign bytes with CorruptIndexError", () => {
    expect(rejects(bytes.subarray(0, 10))).toMatchObject({ code: "CorruptIndex", reason: "truncated" });
    expect(rejects(bytes.subarray(0, bytes.length - 8))).toMatchObject({ code: "CorruptIndex", reason: "truncated" });
    const magic = bytes.slice();
    magic[0] = 0x58;
    expect(rejects(magic)).toMatchObject({ code: "CorruptIndex", reason: "magic" });
    for (const at of [12, 40, Math.floor(bytes.length / 2), bytes.length - 1]) {
      const flipped = bytes.slice();
      flipped[at]! ^= 0x10;
      const error = rejects(flipped);
      expect(isCorruptIndex(error), `byte ${at}`).toBe(true);
    }
  });

  it("rejects structurally inconsistent bytes even when the checksum is skipped", () => {
    // Corrupt a byte inside the meta document's JSON: numbers change or JSON breaks.
    const metaLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(12, true);
    const text = new TextDecoder().decode(bytes.subarray(32, 32 + metaLength));
    const at = text.indexOf('"size":') + 7;
    const mutated = bytes.slice();
    mutated[32 + at] = "9".charCodeAt(0);
    expect(isCorruptIndex(rejects(mutated, { skipChecksum: true }))).toBe(true);
  });

  it("rejects a newer format version with UnsupportedIndexVersionError", async () => {
    const { crc32 } = await import("node:zlib");
    const newer = bytes.slice();
    const view = new DataView(newer.buffer);
    view.setUint16(8, 2, true);
    view.setUint32(28, crc32(newer.subarray(0, 28)), true);
    expect(isUnsupportedIndexVersion(rejects(newer))).toBe(true);
  });
});
