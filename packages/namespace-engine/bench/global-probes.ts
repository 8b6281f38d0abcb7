/**
 * ANN over a namespace of many segments (issue 13): lists chosen by one
 * global ranking of every segment's centroids with one probe budget (the
 * default, src/query/global-probes.ts) beside each segment probing its own
 * `probes` lists (`queryCache.globalProbes: false`, the behaviour before),
 * measured in the same run by fresh processes on the same namespace:
 *
 * - cold ANN top-10 (ranged reads, no index loaded): p50, bytes and reads
 *   per query, on local-fs and with 20 ms added to every storage call;
 * - warm ANN top-10 (every segment's index loaded): p50;
 * - recall@10 of each against exact kNN (computed by the warm process).
 *
 * The namespace: N docs x 128-dim (packages/query/bench/dataset.ts) folded into
 * `BENCH_SEGMENTS` segments of equal size (tiered compaction that never
 * merges), plus a 1,000-document tail.
 *
 *   node --conditions=@skerry/source --import tsx bench/global-probes.ts
 *   BENCH_DOCS=1000000 BENCH_SEGMENTS=12 BENCH_DIR=/path (keeps the namespace)
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FaultInjectingStorage, LocalFsStorage, type StorageProvider } from "@skerry/storage-providers";
import { type DocumentInput, NamespaceEngine } from "@skerry/namespace-engine";
import { dataset } from "../../query/bench/dataset.ts";

const NS = "bench/globalprobes/docs";
const self = fileURLToPath(import.meta.url);
const QUERIES = 20;
const LATENCY_MS = 20;
const BATCH = 10_000;
const MiB = 2 ** 20;

interface ChildResult {
  first: number;
  p50: number;
  reads: number;
  bytes: number;
  ids: string[][];
  exact: string[][];
  segments: number;
}

async function child(mode: "cold" | "warm", probing: "global" | "each", dir: string, latency: number): Promise<void> {
  const inner = new LocalFsStorage({ root: dir });
  const storage: StorageProvider = latency > 0 ? new FaultInjectingStorage(inner).addLatency(latency) : inner;
  const cold = mode === "cold";
  const engine = new NamespaceEngine({
    storage,
    compaction: { auto: false },
    queryCache: { coldReads: cold, globalProbes: probing === "global", ...(cold ? { segmentIndexBytes: 0 } : { segmentIndexBytes: 16 * 1024 * MiB }) },
  });
  const data = dataset(10);
  const t0 = performance.now();
  const first = await engine.query(NS, { rankBy: ["vector", "ANN", data.query(0)], topK: 10 });
  const firstMs = performance.now() - t0;
  if (first.rows.length !== 10) throw new Error("expected 10 rows");
  const before = engine.queryStats();
  const times: number[] = [];
  const ids: string[][] = [];
  for (let i = 1; i <= QUERIES; i++) {
    const s = performance.now();
    const got = await engine.query(NS, { rankBy: ["vector", "ANN", data.query(i)], topK: 10 });
    times.push(performance.now() - s);
    ids.push(got.rows.map((r) => r.id));
  }
  const after = engine.queryStats();
  const exact: string[][] = [];
  if (!cold && probing === "global") {
    for (let i = 1; i <= QUERIES; i++) exact.push((await engine.query(NS, { rankBy: ["vector", "kNN", data.query(i)], topK: 10 })).rows.map((r) => r.id));
  }
  times.sort((a, b) => a - b);
  const manifest = await engine.manifest(NS);
  const result: ChildResult = {
    first: firstMs,
    p50: times[Math.floor(times.length / 2)] as number,
    reads: (after.coldReads - before.coldReads) / QUERIES,
    bytes: (after.coldBytes - before.coldBytes) / QUERIES,
    ids,
    exact,
    segments: manifest.containers.filter((c) => c.kind === "SEGMENT").length,
  };
  console.log(JSON.stringify(result));
  process.exit(0);
}

async function build(dir: string, n: number, segments: number): Promise<void> {
  const engine = new NamespaceEngine({
    storage: new LocalFsStorage({ root: dir }),
    stateCacheEntries: 1,
    stateCacheBytes: 1,
    compaction: { auto: false, policy: "tiered", maxLogBatches: 1, mergeFactor: 1000 },
  });
  await engine.createNamespace(NS);
  const perSegment = Math.ceil(n / segments);
  const t = performance.now();
  let batch: DocumentInput[] = [];
  let count = 0;
  for (const doc of dataset(n).documents()) {
    batch.push(doc as DocumentInput);
    count++;
    if (batch.length === BATCH || count % perSegment === 0 || count === n) {
      await engine.upsert(NS, batch);
      batch = [];
    }
    if (count % perSegment === 0 || count === n) {
      const report = await engine.compact(NS);
      if (!report.performed) throw new Error("expected a compaction");
      console.log(`#   segment of ${report.liveDocuments.toLocaleString("en")} docs: ${(report.segmentBytes / MiB).toFixed(0)} MiB, index ${(report.indexBytes / MiB).toFixed(0)} MiB (${((performance.now() - t) / 1000).toFixed(0)} s)`);
    }
  }
  await engine.upsert(
    NS,
    [...dataset(1_000, 77).documents()].map((d, i) => ({ ...(d as DocumentInput), id: `tail-${i}` })),
  );
  await engine.close();
}

function run(mode: "cold" | "warm", probing: "global" | "each", dir: string, latency: number): ChildResult {
  const out = execFileSync(process.execPath, ["--conditions=@skerry/source", "--import", "tsx", self, mode, probing, dir, String(latency)], {
    encoding: "utf8",
    maxBuffer: 64 * MiB,
  });
  return JSON.parse(out.trim().split("\n").at(-1) as string) as ChildResult;
}

const ms = (x: number) => `${x.toFixed(1).padStart(8)} ms`;

const [mode, probingArg, dirArg, latencyArg] = process.argv.slice(2);
if (mode === "cold" || mode === "warm") await child(mode, probingArg === "each" ? "each" : "global", dirArg as string, Number(latencyArg ?? 0));
else {
  const n = Number(process.env["BENCH_DOCS"] ?? 1_000_000);
  const segments = Number(process.env["BENCH_SEGMENTS"] ?? 12);
  const keep = process.env["BENCH_DIR"];
  const dir = keep ?? mkdtempSync(join(tmpdir(), "skerry-globalprobes-bench-"));
  try {
    console.log(`# ANN over many segments: ${n.toLocaleString("en")} docs x 128-dim in ${segments} segments + a 1,000-doc tail`);
    if (keep === undefined || !existsSync(join(dir, ".built"))) {
      await build(dir, n, segments);
      if (keep !== undefined) writeFileSync(join(dir, ".built"), "");
    }
    const warmGlobal = run("warm", "global", dir, 0);
    const warmEach = run("warm", "each", dir, 0);
    const exact = warmGlobal.exact;
    const recall = (got: string[][]) => got.reduce((s, row, i) => s + row.filter((id) => exact[i]?.includes(id)).length, 0) / (10 * got.length);
    for (const latency of [0, LATENCY_MS]) {
      const g = run("cold", "global", dir, latency);
      const e = run("cold", "each", dir, latency);
      console.log(`## ${g.segments} segments, local-fs${latency > 0 ? `+${latency}ms` : ""}`);
      console.log(`cold ANN top-10 p50, global probing      ${ms(g.p50)} | per-segment probing (before) ${ms(e.p50)} | x${(g.p50 / e.p50).toFixed(2)}`);
      console.log(`cold bytes per query, global             ${(g.bytes / MiB).toFixed(2).padStart(8)} MiB in ${g.reads.toFixed(0)} reads | per-segment ${(e.bytes / MiB).toFixed(2)} MiB in ${e.reads.toFixed(0)} reads | bytes x${(g.bytes / e.bytes).toFixed(2)}, reads x${(g.reads / e.reads).toFixed(2)}`);
      console.log(`cold recall@10 vs exact kNN              global ${recall(g.ids).toFixed(3)} | per-segment ${recall(e.ids).toFixed(3)}; first query ${g.first.toFixed(0)} / ${e.first.toFixed(0)} ms`);
    }
    console.log(`## warm (every index loaded)`);
    console.log(`warm ANN top-10 p50, global probing      ${ms(warmGlobal.p50)} | per-segment probing (before) ${ms(warmEach.p50)} | x${(warmGlobal.p50 / warmEach.p50).toFixed(2)}`);
    console.log(`warm recall@10 vs exact kNN              global ${recall(warmGlobal.ids).toFixed(3)} | per-segment ${recall(warmEach.ids).toFixed(3)}`);
  } finally {
    if (keep === undefined) rmSync(dir, { recursive: true, force: true });
  }
  process.exit(0);
}
