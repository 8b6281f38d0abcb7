import { describe, expect, it } from "vitest";
import {
  buildQueryIndex,
  deserializeQueryIndex,
  executeQuery,
  isCorruptIndex,
  isUnsupportedIndexVersion,
  parseQueryRequest,
  QUERY_INDEX_VERSION,
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

  it("rejects a newer or the earlier format version with UnsupportedIndexVersionError", async () => {
    const { crc32 } = await import("node:zlib");
    for (const version of [QUERY_INDEX_VERSION + 1, 1]) {
      const other = bytes.slice();
      const view = new DataView(other.buffer);
      view.setUint16(8, version, true);
      view.setUint32(28, crc32(other.subarray(0, 28)), true);
      expect(isUnsupportedIndexVersion(rejects(other)), `version ${version}`).toBe(true);
    }
  });

  it("looks ids up through the stored id order, with the same answers as the in-memory index", () => {
    const loaded = deserializeQueryIndex(bytes);
    expect(loaded.idOrder).not.toBeNull();
    for (let slot = 0; slot < index.size; slot += 7) expect(loaded.slotOfId(index.ids.get(slot))).toBe(slot);
    for (const missing of ["", "zzz-not-an-id", "\u{1F600}", "\ud800"]) {
      expect(loaded.slotOfId(missing)).toBe(index.slotOfId(missing));
    }
  });

  it("rejects a stored id order that is not sorted, even when the checksum is skipped", () => {
    const loaded = deserializeQueryIndex(bytes);
    const order = loaded.idOrder!;
    // Swap the first two entries of the idOrder section in place.
    const at = Buffer.from(bytes).indexOf(Buffer.from(new Uint8Array(order.buffer, order.byteOffset, 8)));
    expect(at).toBeGreaterThan(0);
    const mutated = bytes.slice();
    mutated.set(bytes.subarray(at + 4, at + 8), at);
    mutated.set(bytes.subarray(at, at + 4), at + 4);
    expect(rejects(mutated, { skipChecksum: true })).toMatchObject({ code: "CorruptIndex", message: expect.stringMatching(/idOrder/) });
  });

  it("rejects stored vectors holding a NaN or an infinity, even when the checksum is skipped", () => {
    const loaded = deserializeQueryIndex(bytes);
    let slot = 0;
    while (loaded.vectorOf(slot) === undefined) slot++;
    const row = Buffer.from(loaded.vectorOf(slot)!.buffer);
    const at = Buffer.from(bytes).indexOf(row);
    expect(at).toBeGreaterThan(0);
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const mutated = bytes.slice();
      new DataView(mutated.buffer).setFloat32(at + 4, bad, true);
      expect(rejects(mutated, { skipChecksum: true })).toMatchObject({ code: "CorruptIndex", message: expect.stringMatching(/non-finite/) });
    }
  });

  it("rejects stored inverse norms that are not finite, even when the checksum is skipped", () => {
    const loaded = deserializeQueryIndex(bytes);
    const slots = new Float64Array(3);
    for (let s = 0; s < 3; s++) {
      const v = loaded.vectorOf(s);
      slots[s] = v === undefined ? 0 : 1 / Math.sqrt(v.reduce((a, x) => a + x * x, 0));
    }
    const at = Buffer.from(bytes).indexOf(Buffer.from(slots.buffer));
    expect(at).toBeGreaterThan(0);
    const mutated = bytes.slice();
    new DataView(mutated.buffer).setFloat64(at, Number.NaN, true);
    expect(rejects(mutated, { skipChecksum: true })).toMatchObject({ code: "CorruptIndex", message: expect.stringMatching(/invNorms/) });
  });
});
