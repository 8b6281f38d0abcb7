/**
 * coldExactVector: an exact dense ranking (kNN) over stored
 * (format 3 and 4) segment indexes that are not loaded: every live row is
 * scored once, but the index is never held whole. Each segment's clusters
 * (one block each: ids, 1/|v|, missing flags, positions; format 3 also the
 * rows, format 4 their 8-bit codes, the full-precision rows then read from
 * the `vectors` section's range of the cluster's slots) are streamed in
 * batches of about `batchBytes` (default 4 MiB), one batch fetched while the
 * one before is scored (so about twice that in flight), a batch read as at
 * most 4 parallel ranges per section (contiguous clusters, and their rows of
 * `vectors`), without entering the reader's block cache.
 *
 * A batch's live rows are laid out as a loaded index lays them out (raw
 * rows; 1/|v| as float32; for a COSINE index the normalized copy made with
 * the same float64 product, cold-vector-filter.ts) and scored with the same
 * kernel, score mode and top-k (ties by id); the best k of all batches are
 * kept. The tail's chunks are scanned in memory the loaded path's way
 * (their superseded rows skipped). So rows, scores and ties are exactly the
 * loaded indexes'.
 *
 * With a filter (its matching slots per segment, cold-filter.ts; the tail
 * chunks' live matches), only matching rows are ranked and only the
 * clusters holding one are read (format 4: and of the `vectors` section
 * only the blocks holding a matching row): the loaded path scans a filter's
 * matches exactly for kNN too, so the rows are the same.
 *
 * Dead rows: positions tombstoned or masked (a row's position is in its
 * cluster when the index reordered its rows, else its slot), and the slots
 * dead by id (cold-dead-slots.ts `idDead`: the tail's ids, newer segments'
 * delete markers and ids).
 */
import { Buffer } from "node:buffer";
import type { ColdArrayReader, ColdIndexFile } from "./cold-array-reader.ts";
import { CorruptStoredIndexError } from "../errors.ts";
import { compareStrings } from "../attribute-columns.ts";
import { type ClusterRows, readCluster } from "../cluster-layout.ts";
import type { DistanceMetric } from "../query-document.ts";
import type { QueryIndex } from "../query-index.ts";
import type { QuerySlicer } from "../query-slicer.ts";
import { TopK } from "../top-k.ts";
import { allocateVectorMemory, prepareQueryVector, scanGather, scanRange, scoreModeOf, strideOf, VectorKernel } from "../vector-kernel.ts";

/** Default cluster bytes per batch. */
export const COLD_EXACT_BATCH_BYTES = 4 * 1024 * 1024;
/** Ranged reads per section a batch is split into (in parallel). */
const PARALLEL_READS = 4;
/** With a filter (format 4): ranged reads of `vectors` rows per part of a batch at most (the closest runs merged). */
const MAX_VECTOR_RANGES = 32;
/** Rows copied between two slicer checkpoints, minus one (a mask). */
const CHECK_MASK = 1023;
/** Vector floats scored between two slicer checkpoints (and at most 4,096 rows). */
const SCAN_FLOATS = 1 << 20;

/** A row of the answer: segment `s >= 0`, or tail chunk `-1 - s`. */
export interface ExactHit {
  readonly segment: number;
  readonly slot: number;
  readonly score: number;
  readonly id: string;
}

export interface ColdExactVectorInput {
  readonly reader: ColdArrayReader;
  readonly files: readonly ColdIndexFile[];
  /** Per segment: its tombstoned and masked positions. */
  readonly deadPositions: readonly ReadonlySet<number>[];
  /** Per segment: its slots dead by id, ascending. */
  readonly deadSlots: readonly Uint32Array[];
  /** The tail's chunks, oldest first, with their superseded positions. */
  readonly tail: readonly { readonly index: QueryIndex; readonly excluded: Uint32Array | undefined }[];
  readonly vector: Float32Array;
  /** The request's metric (its `distanceMetric`, else the namespace's). */
  readonly metric: DistanceMetric;
  readonly k: number;
  /** With a filter: per segment, the matching slots (ascending); only they are ranked, and only their clusters read. */
  readonly matches?: readonly Uint32Array[] | undefined;
  /** With a filter: per tail chunk, its live matching slots (ascending). */
  readonly tailMatches?: readonly (readonly number[])[] | undefined;
  readonly batchBytes?: number | undefined;
  readonly slicer?: QuerySlicer | undefined;
}

/** One cluster of a batch: where it is and what to read. */
interface ClusterJob {
  readonly segment: number;
  readonly cluster: number;
  readonly start: number;
  readonly count: number;
  readonly bytes: number;
}

/** A cluster read: its rows, and its full-precision vectors (format 4: from the `vectors` section). */
interface ClusterRead {
  readonly job: ClusterJob;
  readonly rows: ClusterRows;
  readonly vectors: Float32Array;
}

function byScoreThenId(a: ExactHit, b: ExactHit): number {
  return a.score !== b.score ? b.score - a.score : compareStrings(a.id, b.id);
}

/** The best k rows of every live row (segments and tail), best first, ties by id. */
export async function coldExactVector(input: ColdExactVectorInput): Promise<ExactHit[]> {
  const { reader, files, k, metric } = input;
  if (k <= 0) return [];
  let best: ExactHit[] = [];
  const keep = (found: readonly ExactHit[]) => {
    if (found.length === 0) return;
    best = [...best, ...found].sort(byScoreThenId).slice(0, k);
  };
  // The segments' clusters, as jobs in batches of about batchBytes.
  const jobs: ClusterJob[] = [];
  for (let s = 0; s < files.length; s++) {
    const file = files[s] as ColdIndexFile;
    const meta = file.meta;
    if (meta.vectors === null) continue;
    const clusters = meta.clusters;
    if (clusters === undefined) throw new CorruptStoredIndexError(`query index ${file.key}: no clusters`, file.key);
    const bounds = await reader.array(file, clusters, "u32", 0, reader.length(file, clusters, "u32"));
    if (bounds.length < 2 || bounds[0] !== 0 || bounds[bounds.length - 1] !== meta.size) {
      throw new CorruptStoredIndexError(`query index ${file.key}: cluster boundaries do not span the rows`, file.key);
    }
    const section = file.directory.section("clusters");
    if (section === undefined || section.blockCount !== bounds.length - 1) throw new CorruptStoredIndexError(`query index ${file.key}: one block per cluster expected`, file.key);
    const rowBytes = meta.vectors.codes === "sq8" ? strideOf(meta.vectors.dimension) * 4 : 0;
    for (let c = 0; c + 1 < bounds.length; c++) {
      const start = bounds[c] as number;
      const count = (bounds[c + 1] as number) - start;
      if (count <= 0) throw new CorruptStoredIndexError(`query index ${file.key}: cluster boundaries are not ascending`, file.key);
      const matches = input.matches?.[s];
      if (matches !== undefined && !holdsSlotIn(matches, start, start + count)) continue; // no matching row: not read
      // Format 4's rows read from `vectors`: all of the cluster's, or with a filter the blocks of its matching rows.
      let rows = count;
      if (matches !== undefined && rowBytes > 0) {
        const matching = lowerBound(matches, start + count) - lowerBound(matches, start);
        rows = Math.min(count, matching * Math.max(1, Math.ceil((file.directory.section("vectors")?.blockBytes ?? rowBytes) / rowBytes)));
      }
      jobs.push({ segment: s, cluster: c, start, count, bytes: section.blockEnd(c) - section.blockStart(c) + rows * rowBytes });
    }
  }
  const budget = Math.max(1, input.batchBytes ?? COLD_EXACT_BATCH_BYTES);
  const batches: ClusterJob[][] = [];
  let batch: ClusterJob[] = [];
  let bytes = 0;
  for (const job of jobs) {
    if (batch.length > 0 && bytes + job.bytes > budget) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(job);
    bytes += job.bytes;
  }
  if (batch.length > 0) batches.push(batch);
  // Dead-by-id slots as masks, per segment.
  const deadMasks = files.map((file, s) => {
    const slots = input.deadSlots[s] as Uint32Array;
    if (slots.length === 0) return null;
    const mask = new Uint8Array(file.meta.size);
    for (const slot of slots) {
      if (slot >= file.meta.size) throw new CorruptStoredIndexError(`query index ${file.key}: slot ${slot} is out of range`, file.key);
      mask[slot] = 1;
    }
    return mask;
  });
  const matchMasks = files.map((file, s) => {
    const slots = input.matches?.[s];
    if (slots === undefined) return null;
    const mask = new Uint8Array(file.meta.size);
    for (const slot of slots) mask[slot] = 1;
    return mask;
  });
  const read = (jobs: readonly ClusterJob[]) => readBatch(reader, files, jobs, input.matches);
  let next = batches.length > 0 ? read(batches[0] as ClusterJob[]) : undefined;
  for (let b = 0; b < batches.length; b++) {
    const current = await (next as Promise<ClusterRead[]>);
    next = b + 1 < batches.length ? read(batches[b + 1] as ClusterJob[]) : undefined;
    // A failed prefetch is reported when awaited (next turn), never as an unhandled rejection.
    next?.catch(() => undefined);
    keep(await scoreBatch(input, current, deadMasks, matchMasks));
  }
  // The tail, in memory: the loaded path's exact scan of each chunk.
  for (const [c, { index, excluded }] of input.tail.entries()) {
    if (input.slicer?.due() === true) await input.slicer.pause();
    const kernel = index.kernel();
    if (kernel === null) continue;
    let skip: Uint8Array | null = null;
    if (excluded !== undefined) {
      for (const position of excluded) {
        const slot = index.slotOf(position);
        if (slot < 0) continue;
        skip ??= new Uint8Array(index.size);
        skip[slot] = 1;
      }
    }
    const top = new TopK(k, (a, b) => compareStrings(index.ids.get(a), index.ids.get(b)));
    const mode = scoreModeOf(metric, index.metric, kernel.layout.normalizedPtr !== -1);
    const query = prepareQueryVector(input.vector, metric, kernel.layout.stride);
    const matching = input.tailMatches?.[c];
    if (matching === undefined) scanRange(kernel, 0, mode, query, 0, index.size, top, skip);
    else if (matching.length > 0) scanGather(kernel, 0, mode, query, Uint32Array.from(matching), top, null); // live matches
    const drained = top.drain();
    keep(Array.from(drained.slots, (slot, j) => ({ segment: -1 - c, slot, score: drained.scores[j] as number, id: index.ids.get(slot) })));
  }
  return best;
}

/** Whether the ascending `slots` hold one in [from, to). */
function holdsSlotIn(slots: Uint32Array, from: number, to: number): boolean {
  const lo = lowerBound(slots, from);
  return lo < slots.length && (slots[lo] as number) < to;
}

/**
 * A batch's clusters: per segment, its clusters (contiguous blocks) split into at most PARALLEL_READS ranges of
 * about equal bytes, each one ranged read of the clusters (and, format 4, one of the `vectors` rows they span), all
 * in parallel; then each cluster decoded from its slice.
 */
async function readBatch(
  reader: ColdArrayReader,
  files: readonly ColdIndexFile[],
  jobs: readonly ClusterJob[],
  matches: readonly Uint32Array[] | undefined,
): Promise<ClusterRead[]> {
  const groups: ClusterJob[][] = [];
  for (const job of jobs) {
    const last = groups.at(-1);
    if (last !== undefined && last[0]!.segment === job.segment) last.push(job);
    else groups.push([job]);
  }
  const parts: ClusterJob[][] = [];
  for (const group of groups) {
    const total = group.reduce((n, job) => n + job.bytes, 0);
    const target = total / PARALLEL_READS;
    let part: ClusterJob[] = [];
    let bytes = 0;
    for (const job of group) {
      if (part.length > 0 && bytes + job.bytes > target * 1.01) {
        parts.push(part);
        part = [];
        bytes = 0;
      }
      part.push(job);
      bytes += job.bytes;
    }
    if (part.length > 0) parts.push(part);
  }
  const read = await Promise.all(parts.map((part) => readPart(reader, files[part[0]!.segment] as ColdIndexFile, part, matches?.[part[0]!.segment])));
  return read.flat();
}

/**
 * Contiguous clusters of one segment: one ranged read of the clusters, then each cluster decoded; format 4 also
 * the full-precision rows: the range they span, or with a filter (`matches`, ascending) only the blocks holding a
 * matching row (runs of matching rows less than a block apart read as one range, at most MAX_VECTOR_RANGES ranges
 * in parallel, the closest runs merged; the other rows stay zero: they are never scored).
 */
async function readPart(reader: ColdArrayReader, file: ColdIndexFile, jobs: readonly ClusterJob[], matches: Uint32Array | undefined): Promise<ClusterRead[]> {
  const meta = file.meta;
  const vectors = meta.vectors as NonNullable<ColdIndexFile["meta"]["vectors"]>;
  const stride = strideOf(vectors.dimension);
  const section = file.directory.section("clusters");
  if (section === undefined) throw new CorruptStoredIndexError(`query index ${file.key}: no clusters`, file.key);
  const codes = vectors.codes === "sq8";
  const first = jobs[0] as ClusterJob;
  const last = jobs[jobs.length - 1] as ClusterJob;
  const base = section.blockStart(first.cluster);
  const [bytes, full] = await Promise.all([
    reader.bytes(file, "clusters", base, section.blockEnd(last.cluster) - base, false),
    codes ? readRows(reader, file, stride, first.start, last.start + last.count, matches) : undefined,
  ]);
  return jobs.map((job) => {
    let block = bytes.subarray(section.blockStart(job.cluster) - base, section.blockEnd(job.cluster) - base);
    if (block.byteOffset % 8 !== 0) block = block.slice();
    const rows = readCluster(block, { stride, positions: meta.sourcePositions !== null, rows: true, codes }, job.count);
    if (typeof rows === "string") throw new CorruptStoredIndexError(`query index ${file.key} does not decode: cluster ${job.cluster}: ${rows}`, file.key);
    const raw = codes
      ? new Float32Array((full as Uint8Array).buffer, (full as Uint8Array).byteOffset + (job.start - first.start) * stride * 4, job.count * stride)
      : rows.vectors;
    if (raw === null || rows.invNorms === null || rows.missing === null) throw new CorruptStoredIndexError(`query index ${file.key}: cluster ${job.cluster} has no vectors`, file.key);
    return { job, rows, vectors: raw };
  });
}

/**
 * The full-precision rows [from, to) of a format-4 index's `vectors` section (stride floats each) as bytes: all of
 * them, or only those of the slots in `matches` (ascending) and their blocks' neighbours.
 */
async function readRows(reader: ColdArrayReader, file: ColdIndexFile, stride: number, from: number, to: number, matches: Uint32Array | undefined): Promise<Uint8Array> {
  const rowBytes = stride * 4;
  if (matches === undefined) return reader.bytes(file, "vectors", from * rowBytes, (to - from) * rowBytes, false);
  const section = file.directory.section("vectors");
  if (section === undefined) throw new CorruptStoredIndexError(`query index ${file.key}: section vectors is missing`, file.key);
  // Rows a block spans: two matching rows closer than that share a range (the gap costs at most a block).
  const blockRows = Math.max(1, Math.floor((section.blockBytes ?? rowBytes) / rowBytes));
  const runs: [number, number][] = [];
  let at = lowerBound(matches, from);
  for (; at < matches.length && (matches[at] as number) < to; at++) {
    const slot = matches[at] as number;
    const run = runs.at(-1);
    if (run !== undefined && slot - run[1] < blockRows) run[1] = slot + 1;
    else runs.push([slot, slot + 1]);
  }
  const out = new Uint8Array((to - from) * rowBytes);
  await Promise.all(
    boundRuns(runs, MAX_VECTOR_RANGES).map(async ([a, b]) => {
      out.set(await reader.bytes(file, "vectors", a * rowBytes, (b - a) * rowBytes, false), (a - from) * rowBytes);
    }),
  );
  return out;
}

/**
 * `runs` (ascending, disjoint [from, to) row ranges) with the smallest gaps between them closed until at most `max`
 * remain: a bounded number of reads, each gap closed costing fewer bytes than any gap left open.
 */
function boundRuns(runs: [number, number][], max: number): [number, number][] {
  if (runs.length <= max) return runs;
  const gaps = runs.slice(1).map(([a], i) => a - (runs[i] as [number, number])[1]);
  // Close the (runs - max) smallest gaps: those below the threshold, and as many equal to it as still needed.
  const threshold = [...gaps].sort((x, y) => x - y)[runs.length - max - 1] as number;
  let below = 0;
  for (const gap of gaps) if (gap < threshold) below++;
  let equal = runs.length - max - below;
  const out: [number, number][] = [[...(runs[0] as [number, number])]];
  gaps.forEach((gap, i) => {
    const next = runs[i + 1] as [number, number];
    const close = gap < threshold || (gap === threshold && equal-- > 0);
    if (close) (out[out.length - 1] as [number, number])[1] = next[1];
    else out.push([...next]);
  });
  return out;
}

/** The first index of the ascending `slots` holding a slot >= `from`. */
function lowerBound(slots: Uint32Array, from: number): number {
  let lo = 0;
  let hi = slots.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((slots[mid] as number) < from) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A batch's live rows laid out as a loaded index, scored; each segment's best k. */
async function scoreBatch(
  input: ColdExactVectorInput,
  batch: readonly ClusterRead[],
  deadMasks: readonly (Uint8Array | null)[],
  matchMasks: readonly (Uint8Array | null)[],
): Promise<ExactHit[]> {
  const { files, k, metric, slicer } = input;
  // Inline checkpoints: an await only when due (an await each time would end the slice every time).
  const out: ExactHit[] = [];
  // Per segment of the batch (a batch may span two): the live rows, then one scan.
  const bySegment = new Map<number, ClusterRead[]>();
  for (const read of batch) {
    let list = bySegment.get(read.job.segment);
    if (list === undefined) bySegment.set(read.job.segment, (list = []));
    list.push(read);
  }
  for (const [s, reads] of bySegment) {
    const file = files[s] as ColdIndexFile;
    const vectors = file.meta.vectors as NonNullable<ColdIndexFile["meta"]["vectors"]>;
    const stride = strideOf(vectors.dimension);
    const positions = input.deadPositions[s] as ReadonlySet<number>;
    const deadMask = deadMasks[s] ?? null;
    const matchMask = matchMasks[s] ?? null;
    const reordered = file.meta.sourcePositions !== null;
    // The live rows as (read, row) pairs.
    let total = 0;
    for (const read of reads) total += read.job.count;
    const liveRead = new Uint32Array(total);
    const liveRow = new Uint32Array(total);
    let n = 0;
    reads.forEach((read, r) => {
      const { rows, job } = read;
      if (reordered && rows.positions === null) throw new CorruptStoredIndexError(`query index ${file.key}: cluster ${job.cluster} has no positions`, file.key);
      const missing = rows.missing as Uint8Array;
      for (let i = 0; i < job.count; i++) {
        if (missing[i] !== 0) continue;
        const slot = job.start + i;
        if (deadMask !== null && deadMask[slot] !== 0) continue;
        if (matchMask !== null && matchMask[slot] === 0) continue;
        if (positions.size > 0 && positions.has(reordered ? ((rows.positions as Uint32Array)[i] as number) : slot)) continue;
        liveRead[n] = r;
        liveRow[n++] = i;
      }
    });
    if (n === 0) continue;
    const cosine = file.meta.metric === "COSINE";
    const { memory, layout } = allocateVectorMemory(n, vectors.dimension, { normalized: cosine, centroidCapacity: 0 });
    const kernel = new VectorKernel(memory, layout);
    const f = kernel.f32;
    const vectorsAt = layout.vectorsPtr >> 2;
    const normalizedAt = layout.normalizedPtr >> 2;
    const invNormsAt = layout.invNormsPtr >> 2;
    for (let at = 0; at < n; at++) {
      if ((at & CHECK_MASK) === CHECK_MASK && slicer?.due() === true) await slicer.pause();
      const read = reads[liveRead[at] as number] as ClusterRead;
      const i = liveRow[at] as number;
      const src = vectorsAt + at * stride;
      f.set(read.vectors.subarray(i * stride, (i + 1) * stride), src);
      const inv = (read.rows.invNorms as Float64Array)[i] as number;
      f[invNormsAt + at] = inv;
      if (cosine) {
        // The normalized copy: the same float64 product a loaded index makes, so the same bits.
        const dst = normalizedAt + at * stride;
        for (let d = 0; d < stride; d++) f[dst + d] = (f[src + d] as number) * inv;
      }
    }
    // Ids decoded when asked (ties, and the rows kept).
    const ids: (string | undefined)[] = new Array(n);
    const idOf = (at: number): string => {
      let id = ids[at];
      if (id === undefined) {
        const rows = (reads[liveRead[at] as number] as ClusterRead).rows;
        const i = liveRow[at] as number;
        const from = rows.idOffsets[i] as number;
        const to = rows.idOffsets[i + 1] as number;
        if (to < from || to > rows.idBytes.length) throw new CorruptStoredIndexError(`query index ${file.key}: id offsets out of range`, file.key);
        id = Buffer.from(rows.idBytes.buffer, rows.idBytes.byteOffset, rows.idBytes.byteLength).toString("utf8", from, to);
        ids[at] = id;
      }
      return id;
    };
    const top = new TopK(k, (a, b) => compareStrings(idOf(a), idOf(b)));
    const mode = scoreModeOf(metric, file.meta.metric, cosine);
    const query = prepareQueryVector(input.vector, metric, stride);
    // Rows scored between two checkpoints, as the loaded path's exact scan.
    const step = Math.max(256, Math.min(4_096, Math.floor(SCAN_FLOATS / stride)));
    for (let from = 0; from < n; from += step) {
      if (from > 0 && slicer?.due() === true) await slicer.pause();
      scanRange(kernel, 0, mode, query, from, Math.min(n, from + step), top, null);
    }
    const drained = top.drain();
    drained.slots.forEach((local, j) => {
      const read = reads[liveRead[local] as number] as ClusterRead;
      out.push({ segment: s, slot: read.job.start + (liveRow[local] as number), score: drained.scores[j] as number, id: idOf(local) });
    });
  }
  return out;
}
