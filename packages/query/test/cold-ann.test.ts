import { readFileSync } from "node:fs";
import { type BlockFileDirectory, type BlockFileSection, blockSpan, decodeBlockFileDirectory, sliceSpan, verifyBlockSpan } from "@skerry/wal-format";
import { describe, expect, it } from "vitest";
import {
  ColdAnnScan,
  type ColdCandidates,
  type ColdIndexHead,
  candidateVector,
  distanceOf,
  isBlockFileIndex,
  type ListRows,
  listClusterRange,
  mergeWithTail,
  pickRerank,
  readColdIndexHead,
  readListRows,
  rowStoreRange,
  rowsFromRuns,
  vectorBlockRuns,
} from "../src/cold-ann.ts";
import { buildQueryIndex, deserializeQueryIndex, type DistanceMetric, executeQuery, parseQueryRequest, type QueryDocument, type QueryIndex, serializeQueryIndex } from "../src/index.ts";
import { gaussian, randomDocuments, seededRandom } from "./support/reference.ts";

/** Reads section bytes [offset, offset+length) the way the engine does: whole blocks, verified, then sliced. */
function reader(bytes: Uint8Array, directory: BlockFileDirectory) {
  let fetches = 0;
  let clusterBytes = 0;
  let vectorBytes = 0;
  return {
    read(section: BlockFileSection, offset: number, length: number): Uint8Array {
      const span = blockSpan(section, offset, length);
      fetches++;
      if (section.name === "clusters") clusterBytes += span.length;
      if (section.name === "vectors") vectorBytes += span.length;
      return sliceSpan(span, verifyBlockSpan(directory, span, bytes.slice(span.offset, span.offset + span.length)), offset, length);
    },
    stats: () => ({ fetches, clusterBytes, vectorBytes }),
  };
}

type Io = ReturnType<typeof reader>;

/** A cold ANN query over one stored segment the way the engine runs it: lists (more when needed), then (format 4) the candidates' rows. */
function coldScan(head: ColdIndexHead, io: Io, scan: ColdAnnScan): { candidates: ColdCandidates; rows: Map<number, ListRows>; rounds: number } {
  let lists = scan.initialLists();
  let rounds = 0;
  const rows = new Map<number, ListRows>();
  for (;;) {
    rounds++;
    for (const j of lists) {
      if (rows.has(j)) continue;
      const range = listClusterRange(head, j);
      rows.set(j, readListRows(head, j, range.length === 0 ? new Uint8Array(0) : io.read(head.clusters, range.offset, range.length)));
    }
    const first = scan.run(lists.map((j) => rows.get(j)!));
    if (first !== undefined) {
      if (first.approximate === undefined) return { candidates: first, rows, rounds };
      const runs = vectorBlockRuns(head, first.slots);
      const fetched = runs.map((run) => io.read(head.vectors!, run.offset, run.length));
      return { candidates: scan.rerank(first, rowsFromRuns(head, first.slots, runs, fetched)), rows, rounds };
    }
    lists = Array.from(scan.order.subarray(0, lists.length + scan.want));
  }
}

/** The rows the engine returns for the merged hits (attributes from the row store, vectors from the candidates or clusters). */
function coldRows(head: ColdIndexHead, io: Io, found: { candidates: ColdCandidates; rows: Map<number, ListRows> }, tail: QueryIndex, request: { vector: Float32Array; metric: DistanceMetric; k: number }) {
  const hits = mergeWithTail([found.candidates], [{ index: tail, excluded: undefined }], request);
  const listOf = (slot: number) => [...found.rows.values()].find((l) => slot >= l.start && slot < l.start + l.clusters.reduce((n, c) => n + c.count, 0))!;
  return hits.map((h) => {
    if (h.fromTail) {
      const v = tail.vectorOf(h.slot);
      return { id: h.id, distance: distanceOf(request.metric, h.score), attributes: tail.attributesOf(h.slot, "all"), ...(v === undefined ? {} : { vector: Array.from(v) }) };
    }
    const list = listOf(h.slot);
    const { offset, length } = rowStoreRange(list, h.slot);
    const json = length === 0 ? "" : new TextDecoder().decode(io.read(head.rowStore, offset, length));
    const v = candidateVector(found.candidates, list, h.slot, head);
    return { id: h.id, distance: distanceOf(request.metric, h.score), attributes: json === "" ? {} : JSON.parse(json), ...(v === undefined ? {} : { vector: Array.from(v) }) };
  });
}

describe("cold ANN over a stored index", () => {
  const random = seededRandom(11);
  const dimension = 12;
  const segmentDocs = randomDocuments(random, 3000, { dimension });
  const tailDocs: QueryDocument[] = [
    ...segmentDocs.slice(0, 40).map((d) => ({ ...d, vector: d.vector === undefined ? undefined : Array.from(d.vector, (x) => x + 0.5) })),
    ...randomDocuments(seededRandom(12), 200, { dimension }).map((d) => ({ ...d, id: `tail-${d.id}` })),
  ];

  for (const metric of ["COSINE", "DOT", "EUCLIDEAN"] as const) {
    it(`answers like the loaded index, with a tail partition, tombstones and deletes (${metric})`, async () => {
      const segment = buildQueryIndex(segmentDocs, { metric, ann: { minDocuments: 500 } });
      const tail = buildQueryIndex(tailDocs, { metric });
      const bytes = serializeQueryIndex(segment);
      const directory = decodeBlockFileDirectory(bytes, bytes.byteLength);
      const tailBytes = bytes.subarray(directory.eagerOffset);
      expect(isBlockFileIndex(tailBytes, bytes.byteLength)).toBe(true);
      const head = readColdIndexHead(tailBytes, bytes.byteLength)!;
      expect(head.lists).toBe(segment.ann!.lists);
      const tailIds = new Set(tailDocs.map((d) => d.id));
      const deletedIds = new Set(segmentDocs.filter((_, i) => i % 17 === 5).map((d) => d.id));
      const tombstoned = new Set(Array.from({ length: 3000 }, (_, i) => i).filter((i) => i % 13 === 0));
      const excluded = new Set(tombstoned);
      for (const id of deletedIds) excluded.add(segment.positionOf(segment.slotOfId(id)));

      for (const [k, probes, heavy] of [
        [10, undefined, false],
        [25, 3, false],
        [100, 1, false],
        [40, 2, true],
      ] as const) {
        // `heavy`: most rows dead, so the first probes find too few and more lists are fetched.
        const dead = heavy ? new Set(Array.from({ length: 3000 }, (_, i) => i).filter((i) => i % 50 !== 0)) : excluded;
        const vector = Float32Array.from({ length: dimension }, () => gaussian(random));
        const request = parseQueryRequest({ rankBy: ["vector", "ANN", Array.from(vector)], topK: k, probes, includeAttributes: true, includeVectors: true });
        const warm = await executeQuery([segment, tail], request, { exclude: (_, i) => (i === 0 ? dead : undefined), parallel: false });

        const isDead = (id: string, position: number) => dead.has(position) || tailIds.has(id) || (!heavy && deletedIds.has(id));
        // Re-ranking every live row of the scanned lists: exactly the loaded rows, distances to the bit.
        const io = reader(bytes, directory);
        const wide = coldScan(head, io, new ColdAnnScan(head, { vector, metric, k, probes, rerank: 1e9 }, isDead));
        if (heavy) expect(wide.rounds).toBeGreaterThan(1);
        const request3 = { vector, metric, k };
        expect(coldRows(head, io, wide, tail, request3), `${metric} k=${k} probes=${probes} heavy=${heavy}`).toEqual(warm.rows);
        // Only the probed lists' clusters were read.
        if (!heavy && probes !== undefined) expect(io.stats().clusterBytes).toBeLessThan(head.clusters.length * ((probes + 2) / head.lists) * 3);
        // The default re-rank reads the blocks of at most max(4k, 40) rows; every row it returns carries the loaded path's exact distance.
        const narrowIo = reader(bytes, directory);
        const narrow = coldScan(head, narrowIo, new ColdAnnScan(head, { vector, metric, k, probes }, isDead));
        expect(narrowIo.stats().vectorBytes).toBeLessThanOrEqual(Math.max(4 * k, 40) * head.vectors!.blockBytes!);
        const loadedDistance = new Map(warm.rows.map((r) => [r.id, r.distance]));
        const all = await executeQuery([segment, tail], parseQueryRequest({ rankBy: ["vector", "kNN", Array.from(vector)], topK: 4000 }), { exclude: (_, i) => (i === 0 ? dead : undefined), parallel: false });
        const exact = new Map(all.rows.map((r) => [r.id, r.distance]));
        for (const row of coldRows(head, narrowIo, narrow, tail, request3)) {
          expect(row.distance, row.id).toBe(loadedDistance.get(row.id) ?? exact.get(row.id));
        }
      }
    });
  }

  it("is not used for an index without IVF lists, and detects a format-2 object by its missing trailer", () => {
    const small = serializeQueryIndex(buildQueryIndex(segmentDocs.slice(0, 100), { metric: "COSINE" }));
    const directory = decodeBlockFileDirectory(small, small.byteLength);
    expect(readColdIndexHead(small.subarray(directory.eagerOffset), small.byteLength)).toBeNull();
    const notBlockFile = new Uint8Array(100);
    expect(isBlockFileIndex(notBlockFile, 100)).toBe(false);
  });

  it("rejects a damaged eager region or cluster with CorruptIndexError", () => {
    const segment = buildQueryIndex(segmentDocs, { metric: "COSINE", ann: { minDocuments: 500 } });
    const bytes = serializeQueryIndex(segment);
    const directory = decodeBlockFileDirectory(bytes, bytes.byteLength);
    const meta = directory.section("meta.json")!;
    const damaged = bytes.slice();
    damaged[meta.offset + 5]! ^= 1;
    expect(() => readColdIndexHead(damaged.subarray(directory.eagerOffset), bytes.byteLength)).toThrow(expect.objectContaining({ code: "CorruptIndex" }));
    const head = readColdIndexHead(bytes.subarray(directory.eagerOffset), bytes.byteLength)!;
    const range = listClusterRange(head, 0);
    const cluster = bytes.slice(head.clusters.offset + range.offset, head.clusters.offset + range.offset + range.length);
    expect(() => readListRows(head, 0, cluster.subarray(1))).toThrow(expect.objectContaining({ code: "CorruptIndex" }));
  });

  it("pickRerank keeps the best approximate candidates of all segments (ties by id), each in its own segment; exact ones pass through", () => {
    const approx = (ids: string[], scores: number[]): ColdCandidates => ({
      slots: Uint32Array.from(ids, (_, i) => 100 + i),
      scores: Float64Array.from(scores),
      ids,
      approximate: { invNorms: Float64Array.from(ids, (_, i) => i + 0.5) },
    });
    const exact: ColdCandidates = { slots: Uint32Array.of(7), scores: Float64Array.of(-5), ids: ["z"] };
    const picked = pickRerank([approx(["a", "b", "c"], [0.9, 0.1, 0.5]), exact, approx(["d", "e"], [0.5, 0.95])], 3);
    // e 0.95, a 0.9, then c and d tie at 0.5: c wins by id.
    expect(picked[0]!.ids).toEqual(["a", "c"]);
    expect(Array.from(picked[0]!.slots)).toEqual([100, 102]);
    expect(Array.from(picked[0]!.approximate!.invNorms)).toEqual([0.5, 2.5]);
    expect(picked[1]).toBe(exact);
    expect(picked[2]!.ids).toEqual(["e"]);
    expect(pickRerank([approx(["a", "b", "c"], [0.9, 0.1, 0.5]), approx(["d", "e"], [0.5, 0.95])], 4).map((p) => p.ids)).toEqual([["a", "c"], ["e", "d"]]);
    // A budget above the candidates keeps them all.
    expect(pickRerank([approx(["a"], [1])], 40)[0]!.ids).toEqual(["a"]);
  });

  it("still reads a format-3 index cold (golden file): full-precision clusters, no re-rank, the loaded rows exactly", async () => {
    const bytes = new Uint8Array(readFileSync(new URL("./fixtures/query-index-v3.bin", import.meta.url)));
    const directory = decodeBlockFileDirectory(bytes, bytes.byteLength);
    expect(directory.section("vectors")).toBeUndefined();
    const head = readColdIndexHead(bytes.subarray(directory.eagerOffset), bytes.byteLength)!;
    expect(head.vectors).toBeNull();
    expect(head.shape.codes).toBe(false);
    const loaded = deserializeQueryIndex(bytes);
    const empty = buildQueryIndex([], { metric: "COSINE" });
    const random = seededRandom(21);
    for (const [k, probes] of [[10, undefined], [25, 2], [5, 1]] as const) {
      const vector = Float32Array.from({ length: head.dimension }, () => gaussian(random));
      const request = parseQueryRequest({ rankBy: ["vector", "ANN", Array.from(vector)], topK: k, probes, includeAttributes: true, includeVectors: true });
      const warm = await executeQuery([loaded, empty], request, { parallel: false });
      const io = reader(bytes, directory);
      const found = coldScan(head, io, new ColdAnnScan(head, { vector, metric: "COSINE", k, probes }, () => false));
      expect(found.candidates.approximate).toBeUndefined();
      expect(io.stats().vectorBytes).toBe(0);
      expect(coldRows(head, io, found, empty, { vector, metric: "COSINE", k }), `k=${k} probes=${probes}`).toEqual(warm.rows);
    }
  });
});
