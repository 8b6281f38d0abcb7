import { describe, expect, it } from "vitest";
import {
  buildQueryIndex,
  deserializeQueryIndex,
  executeQuery,
  isCorruptIndex,
  isUnsupportedIndexVersion,
  joinTokens,
  parseQueryRequest,
  QUERY_INDEX_VERSION,
  serializeQueryIndex,
} from "../src/index.ts";
import {
  QUERY_INDEX_ELEMENTS_VERSION,
  QUERY_INDEX_EXACT_VERSION,
  QUERY_INDEX_NEWEST_VERSION,
  QUERY_INDEX_PRE_TOKENIZED_VERSION,
  QUERY_INDEX_SPARSE_POSTINGS_VERSION,
} from "../src/index-codec.ts";
import { readFileSync } from "node:fs";
import { decodeBlockFileDirectory, decodeBlockFileTrailer } from "@skerry/wal-format";
import { queryIndexEagerBytes } from "../src/index-codec.ts";
import { elementsFixtureDocuments, elementsFixtureIndex, exactFixtureIndex, fixtureDocuments, fixtureIndex } from "./fixtures/make-index-fixture.ts";
import { gaussian, matchesFilter, randomDocuments, seededRandom } from "./support/reference.ts";

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`./fixtures/${name}`, import.meta.url)));
const v2Fixture = fixture("query-index-v2.bin");

/** The document with the word "tau" (the fixtures' stop word) taken out of its text's elements. */
function withoutTau<D extends { text?: Readonly<Record<string, string>> | undefined }>(doc: D): D {
  const body = doc.text?.["body"];
  if (body === undefined) return doc;
  const kept = body.split("\u001e").map((e) => e.split(" ").filter((w) => w !== "tau").join(" "));
  return { ...doc, text: { ...doc.text, body: kept.join("\u001e") } };
}

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
    expect(rejects(bytes.subarray(0, 9))).toMatchObject({ code: "CorruptIndex", reason: "truncated" });
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
    const at = Buffer.from(bytes).indexOf('"size":') + 7;
    expect(at).toBeGreaterThan(7);
    const mutated = bytes.slice();
    mutated[at] = "9".charCodeAt(0);
    expect(isCorruptIndex(rejects(mutated, { skipChecksum: true }))).toBe(true);
  });

  it("rejects a newer or the unreleased first format version with UnsupportedIndexVersionError", async () => {
    const { crc32 } = await import("node:zlib");
    const newer = bytes.slice();
    new DataView(newer.buffer).setUint16(8, QUERY_INDEX_NEWEST_VERSION + 1, true);
    expect(isUnsupportedIndexVersion(rejects(newer))).toBe(true);
    // Version 1 had the version 2 container: a v2 header re-sealed with version 1.
    const first = v2Fixture.slice();
    const view = new DataView(first.buffer);
    view.setUint16(8, 1, true);
    view.setUint32(28, crc32(first.subarray(0, 28)), true);
    expect(isUnsupportedIndexVersion(rejects(first))).toBe(true);
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

describe("query index formats", () => {
  const built = fixtureIndex();
  const requests = (dimension: number) => {
    const random = seededRandom(5);
    const q = Array.from({ length: dimension }, () => gaussian(random));
    return [
      { rankBy: ["vector", "ANN", q], topK: 15, includeAttributes: true, includeVectors: true },
      { rankBy: ["vector", "kNN", q], filters: ["tags", "ContainsAny", ["alpha"]], distanceMetric: "EUCLIDEAN" },
      { rankBy: ["body", "BM25", "alpha tau omega"], topK: 30 },
      { rankBy: ["sparse", "Dot", { indices: [1, 5], values: [1, 2] }] },
      { rankBy: ["color", "asc"], filters: ["price", "Gt", 50], includeAttributes: true },
      { aggregateBy: { c: ["Count"] }, groupBy: ["color"], filters: ["Not", ["flag", "Eq", true]] },
    ];
  };

  it("an index with a pre-tokenized text field is format 6, so readers that predate such fields refuse it", async () => {
    const docs = Array.from({ length: 40 }, (_, i) => ({ id: `d${String(i).padStart(3, "0")}`, text: { tags: joinTokens([`Tok${i % 7}`, "New York", `x${i}`]) } }));
    const index = buildQueryIndex(docs, { metric: "COSINE", textFields: { tags: { preTokenized: true, lowercase: false, stopWords: [] } } });
    const bytes = serializeQueryIndex(index);
    const version = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset).getUint16(8, true);
    expect(version(bytes)).toBe(QUERY_INDEX_PRE_TOKENIZED_VERSION);
    const loaded = deserializeQueryIndex(bytes);
    expect(loaded.textFields.get("tags")?.config.preTokenized).toBe(true);
    const request = parseQueryRequest({ filters: ["tags", "ContainsAllTokens", joinTokens(["New York"])], topK: 100 });
    expect((await executeQuery([loaded], request)).rows.length).toBe(40);
    // Without pre-tokenized fields the writer still produces format 5, byte for byte as before.
    const plain = buildQueryIndex(docs.map((d) => ({ id: d.id, text: { tags: "a b" } })), { metric: "COSINE" });
    expect(version(serializeQueryIndex(plain))).toBe(QUERY_INDEX_VERSION);
  });

  it("columns of unfilterable attributes keep their values without order or postings, and round-trip", () => {
    const docs = Array.from({ length: 300 }, (_, i) => ({ id: `d${String(i).padStart(4, "0")}`, attributes: { s: `v${i % 40}`, n: i * 1.5, tags: [`t${i % 9}`, `u${i}`], kept: i % 5 } }));
    const unindexed = new Set(["s", "n", "tags"]);
    const lean = buildQueryIndex(docs, { metric: "COSINE", unindexed });
    const full = buildQueryIndex(docs, { metric: "COSINE" });
    const leanBytes = serializeQueryIndex(lean);
    expect(leanBytes.length).toBeLessThan(serializeQueryIndex(full).length);
    const loaded = deserializeQueryIndex(leanBytes);
    for (const name of unindexed) {
      const column = loaded.attributeColumns.get(name)!;
      expect(column).toMatchObject({ unindexed: true, numberOrder: null, stringPostings: null, stringPostingOffsets: null, elemPostings: null, elemPostingOffsets: null });
    }
    expect(loaded.attributeColumns.get("kept")?.unindexed).toBeUndefined();
    expect(loaded.attributeColumns.get("kept")?.numberOrder).not.toBeNull();
    for (let slot = 0; slot < loaded.size; slot += 37) expect(loaded.attributesOf(slot, "all")).toEqual(full.attributesOf(slot, "all"));
  });

  it("format 7 and the sparse postings go together: either without the other is corrupt", () => {
    const withVersion = (bytes: Uint8Array, version: number) => {
      const out = bytes.slice();
      new DataView(out.buffer).setUint16(8, version, true);
      return out;
    };
    const older = rejects(withVersion(fixture("query-index-v7.bin"), QUERY_INDEX_VERSION), { skipChecksum: true });
    expect(isCorruptIndex(older)).toBe(true);
    expect(String(older)).toContain("format 5 with sparse postings");
    const newer = rejects(withVersion(fixture("query-index-v5.bin"), QUERY_INDEX_SPARSE_POSTINGS_VERSION), { skipChecksum: true });
    expect(isCorruptIndex(newer)).toBe(true);
    expect(String(newer)).toContain("format 7 without sparse postings");
    expect(deserializeQueryIndex(fixture("query-index-v7.bin")).sparse).toEqual(built.sparse);
  });

  it("format 8 (exact 64-bit integers) is what the writer produces for an index holding them (golden file), and answers exactly", async () => {
    const exact = exactFixtureIndex();
    const bytes = serializeQueryIndex(exact);
    expect(new DataView(bytes.buffer, bytes.byteOffset).getUint16(8, true)).toBe(8);
    expect(Buffer.compare(bytes, fixture("query-index-v8.bin"))).toBe(0);
    const loaded = deserializeQueryIndex(fixture("query-index-v8.bin"));
    for (const r of [
      { rankBy: ["u", "desc"], topK: 20, includeAttributes: ["u", "i", "us"] },
      { rankBy: [["i", "asc"], ["u", "asc"]], topK: 30, includeAttributes: ["i", "u"] },
      { filters: ["u", "Eq", 2n ** 64n - 2n], topK: 100 },
      { filters: ["i", "Lt", -(2n ** 63n) + 2n], topK: 100 },
      { filters: ["us", "ContainsAny", [2n ** 53n + 1n]], topK: 100 },
      { aggregateBy: { s: ["Sum", "u"] } },
      ...requests(built.dimension),
    ]) {
      const request = parseQueryRequest(r);
      expect(await executeQuery([loaded], request)).toEqual(await executeQuery([exact], request));
    }
  });

  it("format 9 (text element boundaries) is what the writer produces for texts of several elements (golden file): phrases match within one element", async () => {
    const elements = elementsFixtureIndex();
    const bytes = serializeQueryIndex(elements);
    expect(new DataView(bytes.buffer, bytes.byteOffset).getUint16(8, true)).toBe(QUERY_INDEX_ELEMENTS_VERSION);
    expect(Buffer.compare(bytes, fixture("query-index-v9.bin"))).toBe(0);
    const loaded = deserializeQueryIndex(fixture("query-index-v9.bin"));
    // The reference knows no stop words: "tau" (the fixture's) taken out of the texts.
    const docs = elementsFixtureDocuments().map(withoutTau);
    // Phrases spanning two elements (the last word of the first, the first of the second), and some anywhere.
    const phrases = new Set(["alpha beta", "gamma delta omega", "phi alpha", "sigma sigma"]);
    for (const doc of docs) {
      const parts = doc.text?.["body"]?.split("\u001e");
      if (parts !== undefined && parts.length === 2 && parts[0] !== "" && parts[1] !== "") {
        phrases.add(`${parts[0]!.split(" ").at(-1)} ${parts[1]!.split(" ")[0]}`);
      }
    }
    let spanning = 0;
    for (const phrase of phrases) {
      const request = parseQueryRequest({ filters: ["body", "ContainsTokenSequence", phrase], topK: 1000 });
      const expected = docs.filter((d) => matchesFilter(d, request.filters!)).map((d) => d.id).sort();
      const joined = docs.filter((d) => ` ${d.text?.["body"]?.replaceAll("\u001e", " ")} `.includes(` ${phrase} `)).length;
      if (joined > expected.length) spanning++;
      for (const index of [elements, loaded]) expect((await executeQuery([index], request)).rows.map((r) => r.id), phrase).toEqual(expected);
    }
    expect(spanning).toBeGreaterThan(10);
    for (const r of requests(built.dimension)) {
      const request = parseQueryRequest(r);
      expect(await executeQuery([loaded], request)).toEqual(await executeQuery([elements], request));
    }
    // Re-serialized, it is format 9 again, byte for byte.
    expect(Buffer.compare(serializeQueryIndex(loaded), bytes)).toBe(0);
  });

  it("format 9 and the text element boundaries go together: either without the other is corrupt", () => {
    const withVersion = (bytes: Uint8Array, version: number) => {
      const out = bytes.slice();
      new DataView(out.buffer).setUint16(8, version, true);
      return out;
    };
    const older = rejects(withVersion(fixture("query-index-v9.bin"), QUERY_INDEX_EXACT_VERSION), { skipChecksum: true });
    expect(isCorruptIndex(older)).toBe(true);
    expect(String(older)).toContain("format 8 with text element boundaries");
    const newer = rejects(withVersion(fixture("query-index-v8.bin"), QUERY_INDEX_ELEMENTS_VERSION), { skipChecksum: true });
    expect(isCorruptIndex(newer)).toBe(true);
    expect(String(newer)).toContain("format 9 without text element boundaries");
  });

  it("indexes of formats 5 to 8 (no element boundaries: texts had none) still answer phrases like a fresh build of their documents", async () => {
    const exact = exactFixtureIndex();
    for (const [name, fresh] of [
      ["query-index-v5.bin", built],
      ["query-index-v7.bin", built],
      ["query-index-v8.bin", exact],
    ] as const) {
      const loaded = deserializeQueryIndex(fixture(name));
      for (const phrase of ["alpha beta", "gamma delta omega", "phi alpha"]) {
        const request = parseQueryRequest({ filters: ["body", "ContainsTokenSequence", phrase], topK: 1000 });
        const expected = fixtureDocuments().map(withoutTau).filter((d) => matchesFilter(d, request.filters!)).map((d) => d.id).sort();
        expect((await executeQuery([loaded], request)).rows.map((r) => r.id), `${name} ${phrase}`).toEqual(expected);
        expect(await executeQuery([loaded], request)).toEqual(await executeQuery([fresh], request));
      }
    }
  });

  it("format 7 is what the writer produces today for an index with sparse vectors (golden file)", () => {
    const bytes = serializeQueryIndex(built);
    expect(new DataView(bytes.buffer, bytes.byteOffset).getUint16(8, true)).toBe(QUERY_INDEX_SPARSE_POSTINGS_VERSION);
    expect(Buffer.compare(bytes, fixture("query-index-v7.bin"))).toBe(0);
  });

  for (const [name, version] of [
    ["query-index-v2.bin", 2],
    ["query-index-v3.bin", 3],
    ["query-index-v4.bin", 4],
    ["query-index-v5.bin", 5],
    ["query-index-v7.bin", 7],
  ] as const) {
    it(`${name} (format ${version}) still loads and answers every query like a fresh build`, async () => {
      const bytes = fixture(name);
      expect(new DataView(bytes.buffer, bytes.byteOffset).getUint16(8, true)).toBe(version);
      const loaded = deserializeQueryIndex(bytes);
      expect(loaded.size).toBe(fixtureDocuments().length);
      for (const r of requests(built.dimension)) {
        const request = parseQueryRequest(r);
        expect(await executeQuery([loaded], request), JSON.stringify(r)).toEqual(await executeQuery([built], request));
      }
      const phrase = parseQueryRequest({ filters: ["body", "ContainsTokenSequence", "alpha beta"], topK: 100 });
      if (version < 5) {
        // No token order before format 5: a phrase filter is refused, not answered wrongly.
        expect(loaded.textFields.get("body")?.sequence).toBeNull();
        await expect(executeQuery([loaded], phrase)).rejects.toMatchObject({ code: "InvalidQuery", reason: "unsupported" });
        // Re-serialized, an old index is written as today's format (still without the token order).
        const again = serializeQueryIndex(loaded);
        expect(new DataView(again.buffer, again.byteOffset).getUint16(8, true)).toBe(QUERY_INDEX_SPARSE_POSTINGS_VERSION);
        expect(deserializeQueryIndex(again).textFields.get("body")?.sequence).toBeNull();
      } else {
        expect(await executeQuery([loaded], phrase)).toEqual(await executeQuery([built], phrase));
        expect((await executeQuery([loaded], phrase)).rows.length).toBeGreaterThan(0);
        // Re-serialized, it is today's format (with the sparse postings).
        expect(Buffer.compare(serializeQueryIndex(loaded), fixture("query-index-v7.bin"))).toBe(0);
      }
    });
  }

  for (const version of [3, 4, 5, 7, 9]) {
  it(`format ${version} keeps each IVF list's rows in whole clusters, one block each, and puts what an ANN query needs first in the eager region`, () => {
    const bytes = fixture(`query-index-v${version}.bin`);
    const directory = decodeBlockFileDirectory(bytes, bytes.byteLength);
    const metaSection = directory.section("meta.json")!;
    const meta = JSON.parse(Buffer.from(bytes.subarray(metaSection.offset, metaSection.offset + metaSection.length)).toString()) as {
      vectors: { vectors: unknown; centroids: { $a: number } };
      ann: { listOffsets: { $a: number } };
      clusters: { $a: number };
      ids: unknown;
    };
    expect(meta.vectors.vectors).toEqual({ $c: "vectors" });
    expect(meta.ids).toEqual({ $c: "ids" });
    const boundsSection = directory.section(`a${meta.clusters.$a}`)!;
    const bounds = new Uint32Array(bytes.slice(boundsSection.offset, boundsSection.offset + boundsSection.length).buffer);
    const lists = built.ann!.listOffsets;
    // Small lists: one cluster per non-empty list, plus the rows without a vector after the lists.
    const nonEmpty = Array.from({ length: lists.length - 1 }, (_, j) => lists[j + 1]! - lists[j]!).filter((n) => n > 0).length;
    expect(bounds.length - 1).toBe(nonEmpty + (lists.at(-1)! < built.size ? 1 : 0));
    for (const offset of lists) expect(bounds.includes(offset)).toBe(true);
    expect(directory.section("clusters")!.blockCount).toBe(bounds.length - 1);
    for (const eager of ["meta.json", `a${meta.vectors.centroids.$a}`, `a${meta.ann.listOffsets.$a}`, `a${meta.clusters.$a}`]) {
      expect(directory.section(eager)!.eager, eager).toBe(true);
    }
    expect(directory.section("clusters")!.eager).toBe(false);
    const vectors = directory.section("vectors");
    if (version >= 4) {
      // The full-precision rows: their own section, not eager, in small blocks of whole rows (stride 8: 32 bytes a row).
      expect(vectors!.eager).toBe(false);
      expect(vectors!.length).toBe(built.size * 8 * 4);
      expect(vectors!.blockBytes).toBe(4096);
      expect((meta.vectors as { codes?: string }).codes).toBe("sq8");
    } else {
      expect(vectors).toBeUndefined();
    }
    const eagerBytes = queryIndexEagerBytes(bytes);
    expect(eagerBytes).toBe(bytes.byteLength - directory.eagerOffset);
    // Larger indexes: the eager region is a small fraction (here ~1%: centroids, list offsets, meta, small arrays).
    const large = serializeQueryIndex(buildQueryIndex(randomDocuments(seededRandom(3), 8000, { dimension: 16 }), { metric: "COSINE", ann: true }));
    expect(queryIndexEagerBytes(large)).toBeLessThan(large.byteLength * 0.05);
  });

  it(`format ${version}: a flipped byte in any section, the directory or the trailer is CorruptIndexError`, () => {
    const bytes = fixture(`query-index-v${version}.bin`);
    const directory = decodeBlockFileDirectory(bytes, bytes.byteLength);
    const inSection = (at: number) => directory.sections.some((s) => at >= s.offset && at < s.offset + s.length);
    const tableStart = decodeBlockFileTrailer(bytes, bytes.byteLength).checksumOffset;
    let checked = 0;
    for (let at = 0; at < bytes.byteLength; at += 61) {
      if (!inSection(at) && at < tableStart) continue; // padding between sections: never read
      const flipped = bytes.slice();
      flipped[at]! ^= 0x04;
      expect(isCorruptIndex(rejects(flipped)) || isUnsupportedIndexVersion(rejects(flipped)), `byte ${at}`).toBe(true);
      checked++;
    }
    expect(checked).toBeGreaterThan(1000);
  });
  }
});
