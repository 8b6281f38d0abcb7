/**
 * A namespace at scale (issue 13): N documents (default 10,000,000 x 128-dim,
 * ~5 GB of vectors, generated from a seed) ingested through one engine with
 * its defaults (tiered background compaction), compacted, and queried by
 * fresh processes within a memory cache budget (default 2 GiB). Each figure
 * beside its baseline from the same run:
 *
 * - ingest: documents/s acknowledged, beside generating the same documents
 *   alone (the generator's own rate, the ceiling of this single writer);
 * - write amplification: bytes written by compaction (segments, and
 *   segments plus query indexes) over the bytes ingested (the log batches'
 *   framed bytes), goal <= 4;
 * - disk bytes per document of the compacted namespace (the objects its
 *   latest manifest references) beside the raw bytes of a document (the
 *   float32 vector, the id, the attributes' JSON and the text);
 * - cold ANN top-10 p50 (a fresh process, every index read by range) and
 *   warm p50 (the same process's next queries, blocks in its cache), with
 *   recall@10 against the exact top-10 computed here by a plain scan of the
 *   regenerated dataset; peak RSS of the query process beside the budget.
 *
 *   node --conditions=@skerry/source --import tsx bench/scale.ts
 *   BENCH_SCALE_DOCS=1000000 (default 10,000,000) BENCH_SCALE_DIR=/path (keeps
 *   the namespace between runs) BENCH_SCALE_CACHE_MB=2048
 *   BENCH_SCALE_PER_SEGMENT=0 skips the second query process (each segment
 *   probing its own lists, `globalProbes: false`, printed beside the default
 *   global probing as a ratio)
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type CallOptions,
  type GetOptions,
  type GetResult,
  type ListOptions,
  LocalFsStorage,
  type ObjectMeta,
  type PutOptions,
  type PutResult,
  type StorageProvider,
} from "@skerry/storage-providers";
import { type DocumentInput, NamespaceEngine } from "@skerry/namespace-engine";
import { DIM, dataset } from "../../query/bench/dataset.ts";

const NS = "bench/scale/docs";
const self = fileURLToPath(import.meta.url);
const QUERIES = 20;
const BATCH = 10_000;
const MiB = 2 ** 20;

/** Counts the bytes written per kind of object (segments, query indexes, everything else). */
class CountingStorage implements StorageProvider {
  readonly name: string;
  readonly written = { segments: 0, indexes: 0, other: 0 };
  readonly #inner: StorageProvider;
  constructor(inner: StorageProvider) {
    this.#inner = inner;
    this.name = `counting:${inner.name}`;
  }
  get(key: string, options?: GetOptions): Promise<GetResult> {
    return this.#inner.get(key, options);
  }
  head(key: string, options?: CallOptions): Promise<ObjectMeta | null> {
    return this.#inner.head(key, options);
  }
  put(key: string, bytes: Uint8Array, options?: PutOptions): Promise<PutResult> {
    if (key.includes("/segments/") && key.endsWith(".arrow")) this.written.segments += bytes.length;
    else if (key.endsWith(".qidx")) this.written.indexes += bytes.length;
    else this.written.other += bytes.length;
    return this.#inner.put(key, bytes, options);
  }
  delete(key: string, options?: CallOptions): Promise<void> {
    return this.#inner.delete(key, options);
  }
  list(prefix: string, options?: ListOptions): AsyncIterable<ObjectMeta> {
    return this.#inner.list(prefix, options);
  }
}

interface Built {
  docs: number;
  ingestSeconds: number;
  settleSeconds: number;
  generateSeconds: number;
  ingested: number;
  segmentsWritten: number;
  indexesWritten: number;
  rawBytes: number;
  liveBytes: number;
  segments: number;
  tail: number;
  exact: string[][];
}

interface QueryResult {
  first: number;
  coldP50: number;
  warmP50: number;
  coldBytes: number;
  coldReads: number;
  peakRss: number;
  cold: string[][];
  warm: string[][];
}

function rawBytesOf(doc: DocumentInput): number {
  const vector = doc.vector === undefined ? 0 : 4 * (doc.vector as ArrayLike<number>).length;
  return vector + Buffer.byteLength(doc.id) + Buffer.byteLength(JSON.stringify(doc.attributes ?? {})) + Buffer.byteLength(JSON.stringify(doc.text ?? {}));
}

/** The exact top-10 (COSINE) of each query, by a plain scan of the regenerated dataset. */
function exactTopK(n: number, queries: number[][], k: number): string[][] {
  const qs = queries.map((q) => {
    const norm = Math.sqrt(q.reduce((s, x) => s + x * x, 0));
    return Float64Array.from(q, (x) => x / norm);
  });
  const best = qs.map(() => [] as { id: string; sim: number }[]);
  for (const doc of dataset(n).documents()) {
    const v = doc.vector as Float32Array;
    let vv = 0;
    for (let d = 0; d < DIM; d++) vv += (v[d] as number) * (v[d] as number);
    const inv = 1 / Math.sqrt(vv);
    qs.forEach((q, i) => {
      let dot = 0;
      for (let d = 0; d < DIM; d++) dot += (q[d] as number) * (v[d] as number);
      const sim = dot * inv;
      const list = best[i] as { id: string; sim: number }[];
      if (list.length < k || sim > (list[list.length - 1] as { sim: number }).sim) {
        list.push({ id: doc.id, sim });
        list.sort((a, b) => b.sim - a.sim);
        if (list.length > k) list.pop();
      }
    });
  }
  return best.map((list) => list.map((h) => h.id));
}

async function build(dir: string, n: number, cacheBytes: number): Promise<Built> {
  const counting = new CountingStorage(new LocalFsStorage({ root: dir }));
  const engine = new NamespaceEngine({ storage: counting, queryCache: { segmentIndexBytes: cacheBytes } });
  await engine.createNamespace(NS);
  // The generator alone, over a tenth of the documents: the writer's ceiling.
  let g = performance.now();
  let sink = 0;
  for (const doc of dataset(Math.max(BATCH, Math.floor(n / 10)), 99).documents()) sink += doc.id.length;
  const generateSeconds = ((performance.now() - g) / 1000) * (n / Math.max(BATCH, Math.floor(n / 10)));
  if (sink === 0) throw new Error("empty dataset");
  let ingested = 0;
  let rawBytes = 0;
  let batch: DocumentInput[] = [];
  const started = performance.now();
  let last = started;
  const flush = async () => {
    await engine.upsert(NS, batch);
    const containers = (await engine.manifest(NS, { consistency: "eventual" })).containers;
    ingested += containers[containers.length - 1]?.byteSize ?? 0;
    batch = [];
  };
  let count = 0;
  for (const doc of dataset(n).documents()) {
    const input = doc as DocumentInput;
    rawBytes += rawBytesOf(input);
    batch.push(input);
    count++;
    if (batch.length === BATCH) await flush();
    if (performance.now() - last > 60_000) {
      last = performance.now();
      const s = (last - started) / 1000;
      console.log(`#   ${count.toLocaleString("en")} docs in ${s.toFixed(0)} s (${Math.round(count / s).toLocaleString("en")}/s), rss ${(process.memoryUsage().rss / MiB).toFixed(0)} MiB`);
    }
  }
  if (batch.length > 0) await flush();
  const ingestSeconds = (performance.now() - started) / 1000;
  g = performance.now();
  // Settle: what the background compactor would still do, until the policy has nothing due.
  await engine.close();
  const settler = new NamespaceEngine({ storage: counting, compaction: { auto: false }, queryCache: { segmentIndexBytes: cacheBytes } });
  while ((await settler.compact(NS)).performed) {}
  const settleSeconds = (performance.now() - g) / 1000;
  const manifest = await settler.manifest(NS);
  let liveBytes = 0;
  let segments = 0;
  let tail = 0;
  for (const ref of manifest.containers) {
    liveBytes += ref.byteSize;
    const indexBytes = ref.extra?.["index_bytes"];
    if (typeof indexBytes === "number") liveBytes += indexBytes;
    if (ref.kind === "SEGMENT") segments++;
    else tail++;
  }
  await settler.close();
  console.log(`# exact top-10 of ${QUERIES} queries by a plain scan of the regenerated dataset...`);
  const queries = Array.from({ length: QUERIES }, (_, i) => dataset(10).query(i + 1));
  const exact = exactTopK(n, queries, 10);
  return {
    docs: n,
    ingestSeconds,
    settleSeconds,
    generateSeconds,
    ingested,
    segmentsWritten: counting.written.segments,
    indexesWritten: counting.written.indexes,
    rawBytes,
    liveBytes,
    segments,
    tail,
    exact,
  };
}

/** A fresh process: QUERIES cold ANN queries, then the same queries again (warm), within the cache budget. */
async function child(dir: string, cacheBytes: number, globalProbes: boolean): Promise<void> {
  const engine = new NamespaceEngine({
    storage: new LocalFsStorage({ root: dir }),
    compaction: { auto: false },
    queryCache: { segmentIndexBytes: Math.floor(cacheBytes / 2), globalProbes },
    blockCache: { memoryBytes: Math.floor(cacheBytes / 2) },
  });
  const data = dataset(10);
  let peakRss = process.memoryUsage().rss;
  const sample = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 20);
  const run = async (i: number) => {
    const s = performance.now();
    const got = await engine.query(NS, { rankBy: ["vector", "ANN", data.query(i)], topK: 10 });
    return { ms: performance.now() - s, ids: got.rows.map((r) => r.id) };
  };
  const before = engine.queryStats();
  const coldRuns = [];
  for (let i = 1; i <= QUERIES; i++) coldRuns.push(await run(i));
  const after = engine.queryStats();
  const warmRuns = [];
  for (let i = 1; i <= QUERIES; i++) warmRuns.push(await run(i));
  clearInterval(sample);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const p50 = (runs: { ms: number }[]) => runs.map((r) => r.ms).sort((a, b) => a - b)[Math.floor(runs.length / 2)] as number;
  const result: QueryResult = {
    first: (coldRuns[0] as { ms: number }).ms,
    coldP50: p50(coldRuns.slice(1)),
    warmP50: p50(warmRuns),
    coldBytes: (after.coldBytes - before.coldBytes) / QUERIES,
    coldReads: (after.coldReads - before.coldReads) / QUERIES,
    peakRss,
    cold: coldRuns.map((r) => r.ids),
    warm: warmRuns.map((r) => r.ids),
  };
  console.log(JSON.stringify(result));
  process.exit(0);
}

const fmt = (x: number, digits = 1) => x.toFixed(digits).padStart(9);

const [mode, dirArg, cacheArg, probingArg] = process.argv.slice(2);
if (mode === "query") await child(dirArg as string, Number(cacheArg), probingArg !== "each");
else {
  const n = Number(process.env["BENCH_SCALE_DOCS"] ?? 10_000_000);
  const cacheBytes = Number(process.env["BENCH_SCALE_CACHE_MB"] ?? 2048) * MiB;
  const keep = process.env["BENCH_SCALE_DIR"];
  const dir = keep ?? mkdtempSync(join(tmpdir(), "skerry-scale-bench-"));
  try {
    console.log(`# A namespace at scale: ${n.toLocaleString("en")} docs x ${DIM}-dim, memory cache budget ${(cacheBytes / MiB).toFixed(0)} MiB`);
    const builtFile = join(dir, ".built.json");
    let built: Built;
    if (existsSync(builtFile)) built = JSON.parse(readFileSync(builtFile, "utf8")) as Built;
    else {
      built = await build(dir, n, cacheBytes);
      if (keep !== undefined) writeFileSync(builtFile, JSON.stringify(built));
    }
    const queryChild = (probing: "global" | "each"): QueryResult => {
      const out = execFileSync(process.execPath, ["--conditions=@skerry/source", "--import", "tsx", self, "query", dir, String(cacheBytes), probing], {
        encoding: "utf8",
        maxBuffer: 64 * MiB,
      });
      return JSON.parse(out.trim().split("\n").at(-1) as string) as QueryResult;
    };
    // Lists chosen by one global ranking (the default), then each segment probing its own (the behaviour before).
    const q = queryChild("global");
    const each = process.env["BENCH_SCALE_PER_SEGMENT"] === "0" ? undefined : queryChild("each");
    const recall = (got: string[][]) => got.reduce((s, row, i) => s + row.filter((id) => built.exact[i]?.includes(id)).length, 0) / (10 * got.length);
    const rate = built.docs / built.ingestSeconds;
    const ceiling = built.docs / built.generateSeconds;
    console.log(`ingest (1 writer, ${BATCH.toLocaleString("en")}-doc upserts)  ${fmt(rate, 0)} docs/s | generating the documents alone ${fmt(ceiling, 0)} docs/s | x${(rate / ceiling).toFixed(2)}; ingest ${built.ingestSeconds.toFixed(0)} s, compaction settled ${built.settleSeconds.toFixed(0)} s later`);
    const wa = built.segmentsWritten / built.ingested;
    const waIdx = (built.segmentsWritten + built.indexesWritten) / built.ingested;
    console.log(`write amplification (segments)          ${fmt(wa, 2)}   | bytes ingested ${(built.ingested / MiB).toFixed(0)} MiB, segments written ${(built.segmentsWritten / MiB).toFixed(0)} MiB; goal <= 4: ${wa <= 4 ? "met" : "NOT met"}`);
    console.log(`write amplification (segments+indexes)  ${fmt(waIdx, 2)}   | query indexes written ${(built.indexesWritten / MiB).toFixed(0)} MiB`);
    console.log(`disk bytes per document (live version)  ${fmt(built.liveBytes / built.docs, 0)} B | raw vector + id + attributes + text ${fmt(built.rawBytes / built.docs, 0)} B | x${(built.liveBytes / built.rawBytes).toFixed(2)} (${built.segments} segments + ${built.tail} tail containers)`);
    console.log(`cold ANN top-10 p50 (ranged reads)      ${fmt(q.coldP50)} ms | warm p50 (same queries again)  ${fmt(q.warmP50)} ms | x${(q.coldP50 / q.warmP50).toFixed(1)}; first query ${q.first.toFixed(0)} ms, ${(q.coldBytes / MiB).toFixed(1)} MiB in ${q.coldReads.toFixed(0)} reads per cold query (${((q.coldBytes / built.liveBytes) * 100).toFixed(2)}% of the live bytes)`);
    console.log(`recall@10 vs exact (plain scan)         cold ${recall(q.cold).toFixed(3)}, warm ${recall(q.warm).toFixed(3)}`);
    if (each !== undefined) {
      console.log(`per-segment probing (before): cold p50 ${fmt(each.coldP50)} ms, warm p50 ${fmt(each.warmP50)} ms, ${(each.coldBytes / MiB).toFixed(1)} MiB in ${each.coldReads.toFixed(0)} reads, recall cold ${recall(each.cold).toFixed(3)} | global: cold x${(q.coldP50 / each.coldP50).toFixed(2)}, warm x${(q.warmP50 / each.warmP50).toFixed(2)}, bytes x${(q.coldBytes / each.coldBytes).toFixed(2)}, reads x${(q.coldReads / each.coldReads).toFixed(2)}`);
    }
    console.log(`peak RSS of the query process           ${fmt(q.peakRss / MiB, 0)} MiB | cache budget ${fmt(cacheBytes / MiB, 0)} MiB | x${(q.peakRss / cacheBytes).toFixed(2)}`);
  } finally {
    if (keep === undefined) rmSync(dir, { recursive: true, force: true });
  }
  process.exit(0);
}
