/**
 * coldFilteredVector: a dense vector ranking (kNN or ANN) with a selective
 * filter over indexed segments that are not loaded. The loaded path scans a
 * selective filter's matches exactly (execute-query.ts vectorCandidates: a
 * filter matching at most SELECTIVE_FRACTION of a partition becomes a slot
 * list, scored by `scanGather`, ANN or not); so does this one, from the
 * matching live slots (cold-filter.ts, cold-dead-slots.ts), per segment in
 * one of two ways:
 * - matches in at most a quarter of the segment's clusters: each matching
 *   row read from its cluster (ColdRows, one block per cluster, cached) and
 *   copied into a small vector memory laid out as a loaded index lays them
 *   out (raw rows; 1/|v| as float32; for a COSINE index the normalized copy
 *   made with the same float64 product);
 * - matches spread wider: the exact scan of cold-exact-vector.ts restricted
 *   to the matching live slots, which streams only the clusters holding a
 *   match in batches of about `batchBytes` (format 4: with just the vector
 *   blocks of the matching rows), so memory stays bounded by two batches
 *   however many clusters the matches touch, and the index is never read
 *   whole.
 * Both score with the same kernel, score mode and top-k (ties by id) as the
 * loaded scan; the tail's chunks are scanned in memory the same way (an ANN
 * ranking is not served when a chunk with IVF lists would probe them,
 * loaded). The caller merges by (score, id) and turns scores into
 * distances.
 *
 * Served only when every segment's matches are a slot list on the loaded
 * path (at most SELECTIVE_FRACTION of its rows: else ANN would probe IVF
 * lists with a mask instead): otherwise undefined, and the caller loads.
 */
import { Buffer } from "node:buffer";
import type { ColdArrayReader, ColdIndexFile } from "./cold-array-reader.ts";
import type { ColdHit } from "./cold-bm25.ts";
import type { DeadSlots } from "./cold-dead-slots.ts";
import type { ColdMatches } from "./cold-listing.ts";
import type { SlotCluster } from "./cold-rows.ts";
import { coldExactVector } from "./cold-exact-vector.ts";
import { compareStrings } from "../attribute-columns.ts";
import { SELECTIVE_FRACTION } from "../filter-plan.ts";
import type { DistanceMetric } from "../query-document.ts";
import type { QuerySlicer } from "../query-slicer.ts";
import { TopK } from "../top-k.ts";
import { allocateVectorMemory, prepareQueryVector, scanGather, scanRange, scoreModeOf, strideOf, VectorKernel } from "../vector-kernel.ts";

export interface ColdFilteredVectorInput extends ColdMatches {
  readonly vector: Float32Array;
  /** The request's metric (its `distanceMetric`, else the namespace's). */
  readonly metric: DistanceMetric;
  /** An ANN ranking (a tail chunk with IVF lists whose matches are no slot list would probe them when loaded). */
  readonly ann: boolean;
  /** The segments' array reader (a segment whose matches are spread over many clusters is streamed, cold-exact-vector.ts). */
  readonly reader: ColdArrayReader;
  /** Cluster bytes per streamed batch (cold-exact-vector.ts; its default when omitted). */
  readonly batchBytes?: number | undefined;
  readonly slicer?: QuerySlicer | undefined;
}

/** Each partition's top k (segments, then the tail), with scores; undefined when not served cold. */
export async function coldFilteredVector(input: ColdFilteredVectorInput): Promise<ColdHit[] | undefined> {
  const { rows, files, dead, k, metric } = input;
  // The loaded path's representation: a slot list in every segment (else ANN probes lists with a mask).
  for (let s = 0; s < files.length; s++) {
    if ((input.matches[s] as Uint32Array).length > (files[s] as ColdIndexFile).meta.size * SELECTIVE_FRACTION) return undefined;
  }
  // A tail chunk with IVF lists (a closed one) probes them for ANN unless its matches are a slot list (its
  // superseded slots count, as loaded): then its answer is not the exact scan's.
  for (const [c, chunk] of input.tail.entries()) {
    if (!input.ann || chunk.index.ann === null || metric !== chunk.index.metric) continue;
    const live = (input.tailMatches[c] ?? []).length;
    if (live + chunk.deadSlots.length > chunk.index.size * SELECTIVE_FRACTION) return undefined;
  }
  const live = files.map((_, s) => {
    const mask = (dead[s] as DeadSlots).mask;
    return Array.from(input.matches[s] as Uint32Array).filter((slot) => mask === null || mask[slot] === 0);
  });
  const touched = await Promise.all(files.map((file, s) => (file.meta.vectors === null ? new Set<number>() : rows.clusterNumbers(file, live[s] as number[]))));
  // Matches spread over more than a quarter of a segment's clusters: streamed (cold-exact-vector.ts), not row by row.
  const spread = files.map((file, s) => (touched[s] as Set<number>).size > Math.max(1, Math.ceil(rows.clusterCount(file) / 4)));
  if (k <= 0) return [];
  const hits: ColdHit[] = [];
  // The spread segments in one stream (one batch scored while the next is read, whichever segments they hold):
  // their best k together, which is all the merge below keeps of them.
  const streamedAt = files.flatMap((file, s) => (spread[s] === true && file.meta.vectors !== null && (live[s] as number[]).length > 0 ? [s] : []));
  const streamed =
    streamedAt.length === 0
      ? []
      : await coldExactVector({
          reader: input.reader,
          files: streamedAt.map((s) => files[s] as ColdIndexFile),
          deadPositions: streamedAt.map(() => new Set<number>()),
          deadSlots: streamedAt.map(() => new Uint32Array(0)),
          tail: [],
          vector: input.vector,
          metric,
          k,
          matches: streamedAt.map((s) => Uint32Array.from(live[s] as number[])),
          batchBytes: input.batchBytes,
          slicer: input.slicer,
        });
  for (const h of streamed) hits.push({ segment: streamedAt[h.segment] as number, slot: h.slot, score: h.score, id: h.id });
  const perSegment = await Promise.all(
    files.map(async (file, s): Promise<ColdHit[]> => {
      const vectors = file.meta.vectors;
      const slots = live[s] as number[];
      if (vectors === null || slots.length === 0 || spread[s] === true) return [];
      const clusters = await Promise.all(slots.map((slot) => rows.clusterOf(file, slot)));
      const stored = await Promise.all(slots.map((slot, at) => rows.storedRow(file, clusters[at] as SlotCluster, slot)));
      const cosine = file.meta.metric === "COSINE";
      const stride = strideOf(vectors.dimension);
      const { memory, layout } = allocateVectorMemory(slots.length, vectors.dimension, { normalized: cosine, centroidCapacity: 0 });
      const kernel = new VectorKernel(memory, layout);
      const f = kernel.f32;
      const ids: string[] = new Array(slots.length);
      slots.forEach((slot, at) => {
        const { start, rows: c } = clusters[at] as SlotCluster;
        const i = slot - start;
        f.set(stored[at] as Float32Array, (layout.vectorsPtr >> 2) + at * stride);
        kernel.u8[layout.missingPtr + at] = (c.missing as Uint8Array)[i] as number;
        const inv = (c.invNorms as Float64Array)[i] as number;
        f[(layout.invNormsPtr >> 2) + at] = inv;
        if (cosine) {
          // The normalized copy: the same float64 product a loaded index makes, so the same bits.
          const src = (layout.vectorsPtr >> 2) + at * stride;
          const dst = (layout.normalizedPtr >> 2) + at * stride;
          for (let d = 0; d < stride; d++) f[dst + d] = (f[src + d] as number) * inv;
        }
        ids[at] = Buffer.from(c.idBytes.buffer, c.idBytes.byteOffset, c.idBytes.byteLength).toString("utf8", c.idOffsets[i], c.idOffsets[i + 1]);
      });
      const top = new TopK(k, (a, b) => compareStrings(ids[a] as string, ids[b] as string));
      const mode = scoreModeOf(metric, file.meta.metric, cosine);
      scanRange(kernel, 0, mode, prepareQueryVector(input.vector, metric, stride), 0, slots.length, top, null);
      const drained = top.drain();
      return Array.from(drained.slots, (local, j) => ({ segment: s, slot: slots[local] as number, score: drained.scores[j] as number, id: ids[local] as string }));
    }),
  );
  for (const list of perSegment) for (const hit of list) hits.push(hit);
  // The tail's chunks, in memory: the loaded path's exact scan of their matches.
  for (const [c, chunk] of input.tail.entries()) {
    const tail = chunk.index;
    const kernel = tail.kernel();
    const slots = input.tailMatches[c] ?? [];
    if (kernel === null || slots.length === 0) continue;
    const top = new TopK(k, (a, b) => compareStrings(tail.ids.get(a), tail.ids.get(b)));
    const mode = scoreModeOf(metric, tail.metric, kernel.layout.normalizedPtr !== -1);
    scanGather(kernel, 0, mode, prepareQueryVector(input.vector, metric, kernel.layout.stride), Uint32Array.from(slots), top, null);
    const drained = top.drain();
    drained.slots.forEach((slot, j) => {
      hits.push({ segment: -1 - c, slot, score: drained.scores[j] as number, id: tail.ids.get(slot) });
    });
  }
  return hits.sort((a, b) => (a.score !== b.score ? b.score - a.score : compareStrings(a.id, b.id))).slice(0, k);
}
