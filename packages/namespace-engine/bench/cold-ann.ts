/**
 * Cold ANN queries from object storage (issue 13): a fresh process answers
 * ANN top-10 queries on a compacted namespace by ranged reads of the stored
 * query index (the eager region, the probed lists, the returned rows),
 * without loading it; each figure beside its baseline from the same run:
 *
 * - cold p50 (a fresh process's first query, and the next queries of new
 *   vectors: the eager region is cached, the lists are read each time)
 *   beside loading the index first (the engine with `coldReads: false`,
 *   the behaviour before) and beside the floor of its round trips (number
 *   of sequential reads x the injected latency);
 * - bytes read per cold query as a share of the namespace's stored bytes
 *   (goal <= 2%);
 * - RSS added by the cold queries (goal <= 256 MB);
 * - the whole process, node start to first answer (goal <= 500 ms on
 *   local-fs);
 * - the same queries warm (index loaded), and the cold query's recall@10
 *   against exact kNN and its overlap with the loaded index's ANN rows;
 * - format 4 (8-bit codes, full-precision re-rank): the default re-rank
 *   (max(4 x topK, 40) candidates per segment, or `BENCH_RERANK`) beside
 *   a 10x wider one (`BENCH_RERANK_WIDE`, default 400), p50, bytes and
 *   recall, on local-fs.
 *
 * Providers: local-fs; local-fs with 20 ms added to every storage call
 * (`FaultInjectingStorage`); and the real S3 server with 20 ms added when
 * S3_ENDPOINT is set (the namespace copied there; the test server keeps
 * objects in memory, so `BENCH_S3_DOCS`, default 200,000, bounds it).
 *
 *   node --conditions=@skerry/source --import tsx bench/cold-ann.ts
 *   BENCH_DOCS=200000 ... (default 1,000,000); BENCH_DIR=/path keeps the built namespace
 *   BENCH_RERANK=n: queryCache.coldRerank of the cold runs (0 = the default)
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FaultInjectingStorage, LocalFsStorage, S3Storage, type StorageProvider } from "@skerry/storage-providers";
import { type DocumentInput, NamespaceEngine } from "@skerry/namespace-engine";
import { dataset } from "./query/dataset.ts";
import { upsertDataset } from "./upsert-dataset.ts";

const NS = "bench/coldann/docs";
const self = fileURLToPath(import.meta.url);
const QUERIES = 20;
const LATENCY_MS = 20;

interface ChildResult {
  startToAnswer: number;
  first: number;
  p50: number;
  reads: number;
  bytes: number;
  rssAdded: number;
  /** Result ids of queries 1..5 (recall is computed by the parent, against the warm child's exact kNN). */
  ids: string[][];
  /** Exact kNN ids of queries 1..5 (warm child only). */
  exact: string[][];
  loads: number;
  stored: number;
}

function storageFor(kind: string, dir: string, prefix: string): StorageProvider {
  if (kind.startsWith("s3")) {
    return new S3Storage({ bucket: process.env["S3_BUCKET"] as string, endpoint: process.env["S3_ENDPOINT"] as string, prefix, forcePathStyle: true });
  }
  return new LocalFsStorage({ root: dir });
}

async function storedBytes(storage: StorageProvider): Promise<number> {
  let total = 0;
  for await (const meta of storage.list("")) total += meta.size;
  return total;
}

/** One fresh process: `cold` (ranged reads, no background load) or `warm` (load first); `rerank` is the cold runs' coldRerank. */
async function child(mode: string, kind: string, dir: string, prefix: string, rerank: number): Promise<void> {
  const inner = storageFor(kind, dir, prefix);
  const storage = kind.endsWith("+20ms") ? new FaultInjectingStorage(inner).addLatency(LATENCY_MS) : inner;
  const cold = mode === "cold";
  const engine = new NamespaceEngine({ storage, queryCache: { coldReads: cold, ...(cold ? { segmentIndexBytes: 0, coldRerank: rerank } : {}) } });
  const data = dataset(10);
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  const first = await engine.query(NS, { rankBy: ["vector", "ANN", data.query(0)], topK: 10 });
  const t1 = performance.now();
  const times: number[] = [];
  const ids: string[][] = [];
  const before = engine.queryStats();
  for (let i = 1; i <= QUERIES; i++) {
    const s = performance.now();
    const got = await engine.query(NS, { rankBy: ["vector", "ANN", data.query(i)], topK: 10 });
    times.push(performance.now() - s);
    if (i <= 5) ids.push(got.rows.map((r) => r.id));
  }
  const after = engine.queryStats();
  const rssAdded = process.memoryUsage().rss - rss0;
  const exact: string[][] = [];
  if (!cold) for (let i = 1; i <= 5; i++) exact.push((await engine.query(NS, { rankBy: ["vector", "kNN", data.query(i)], topK: 10 })).rows.map((r) => r.id));
  times.sort((a, b) => a - b);
  if (first.rows.length !== 10) throw new Error("expected 10 rows");
  const result: ChildResult = {
    startToAnswer: t1, // performance.now() counts from process start
    first: t1 - t0,
    p50: times[Math.floor(times.length / 2)] as number,
    reads: (after.coldReads - before.coldReads) / QUERIES,
    bytes: (after.coldBytes - before.coldBytes) / QUERIES,
    rssAdded,
    ids,
    exact,
    loads: after.segmentIndexes.loads,
    stored: await storedBytes(inner),
  };
  console.log(JSON.stringify(result));
  process.exit(0);
}

async function build(storage: StorageProvider, n: number): Promise<void> {
  const engine = new NamespaceEngine({ storage, stateCacheEntries: 1, stateCacheBytes: 1 });
  await engine.createNamespace(NS);
  let t = performance.now();
  await upsertDataset(engine, NS, n);
  console.log(`# built ${n.toLocaleString("en")} docs as log batches in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  t = performance.now();
  const report = await engine.compact(NS, { force: true });
  console.log(
    `# compacted in ${((performance.now() - t) / 1000).toFixed(1)} s: segment ${(report.segmentBytes / 2 ** 20).toFixed(0)} MiB, query index ${(report.indexBytes / 2 ** 20).toFixed(0)} MiB`,
  );
  // A small tail: 1,000 new documents.
  await engine.upsert(
    NS,
    [...dataset(1_000, 77).documents()].map((d, i) => ({ ...(d as DocumentInput), id: `tail-${i}` })),
  );
}

function run(args: string[]): ChildResult {
  const out = execFileSync(process.execPath, ["--conditions=@skerry/source", "--import", "tsx", self, ...args], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  });
  return JSON.parse(out.trim().split("\n").at(-1) as string) as ChildResult;
}

function ms(x: number): string {
  return `${x.toFixed(1).padStart(8)} ms`;
}

const RERANK = Number(process.env["BENCH_RERANK"] ?? 0);
const RERANK_WIDE = Number(process.env["BENCH_RERANK_WIDE"] ?? 400);

function report(kind: string, dir: string, prefix: string, latency: number): void {
  const cold = run(["cold", kind, dir, prefix, String(RERANK)]);
  const warm = run(["warm", kind, dir, prefix, "0"]);
  // Sequential reads of a cold query after the first: manifest LIST + GET, then the lists, then the rows.
  const floor = latency * 4;
  const share = (cold.bytes / cold.stored) * 100;
  console.log(`## ${kind}: namespace ${(cold.stored / 2 ** 20).toFixed(0)} MiB stored`);
  console.log(`cold ANN top-10 p50 (ranged reads)        ${ms(cold.p50)} | load the index first, then query (before) ${ms(warm.first)} | x${(warm.first / cold.p50).toFixed(1)}`);
  if (latency > 0) console.log(`cold ANN top-10 p50                        ${ms(cold.p50)} | floor: 4 round trips x ${latency} ms           ${ms(floor)} | x${(cold.p50 / floor).toFixed(2)} of the floor; goal p50 <= 300 ms: ${cold.p50 <= 300 ? "met" : "NOT met"}`);
  console.log(
    `cold: first query of a fresh process      ${ms(cold.first)} | node start to first answer (tsx, from sources) ${ms(cold.startToAnswer)}${latency === 0 ? `; goal <= 500 ms: ${cold.startToAnswer <= 500 ? "met" : "NOT met"}` : ""}`,
  );
  console.log(`warm ANN top-10 p50 (index loaded)        ${ms(warm.p50)} | cold p50                                  ${ms(cold.p50)} | x${(cold.p50 / warm.p50).toFixed(1)}`);
  console.log(`bytes read per cold query                 ${(cold.bytes / 2 ** 20).toFixed(2).padStart(8)} MiB in ${cold.reads.toFixed(0)} reads | namespace stored bytes ${(cold.stored / 2 ** 20).toFixed(0)} MiB | ${share.toFixed(2)}%; goal <= 2%: ${share <= 2 ? "met" : "NOT met"}`);
  console.log(`RSS added by ${QUERIES + 1} cold queries          ${(cold.rssAdded / 2 ** 20).toFixed(0).padStart(8)} MiB | the same process warm (index loaded)      ${(warm.rssAdded / 2 ** 20).toFixed(0).padStart(5)} MiB; goal <= 256 MB: ${cold.rssAdded <= 256 * 2 ** 20 ? "met" : "NOT met"}`);
  const recall = (got: string[][]) => got.reduce((n, row, i) => n + row.filter((id) => warm.exact[i]?.includes(id)).length, 0) / (10 * got.length);
  const overlap = (got: string[][]) => got.reduce((n, row, i) => n + row.filter((id) => warm.ids[i]?.includes(id)).length, 0) / (10 * got.length);
  console.log(
    `recall@10 vs exact kNN: cold ${recall(cold.ids).toFixed(3)}, warm ${recall(warm.ids).toFixed(3)}; cold rows among the loaded index's ANN rows ${overlap(cold.ids).toFixed(3)} (index loads: cold ${cold.loads}, warm ${warm.loads})`,
  );
  if (latency === 0 && RERANK_WIDE > 0) {
    const wide = run(["cold", kind, dir, prefix, String(RERANK_WIDE)]);
    const label = RERANK === 0 ? "max(4k, 40)" : String(RERANK);
    console.log(
      `re-rank ${label.padEnd(12)} cold p50 ${ms(cold.p50)}, ${(cold.bytes / 2 ** 20).toFixed(2)} MiB, recall ${recall(cold.ids).toFixed(3)} | re-rank ${String(RERANK_WIDE).padEnd(5)} cold p50 ${ms(wide.p50)}, ${(wide.bytes / 2 ** 20).toFixed(2)} MiB, recall ${recall(wide.ids).toFixed(3)} | time x${(cold.p50 / wide.p50).toFixed(2)}, bytes x${(cold.bytes / wide.bytes).toFixed(2)}`,
    );
  }
}

const [mode, kind, dirArg, prefixArg, rerankArg] = process.argv.slice(2);
if (mode === "cold" || mode === "warm") await child(mode, kind as string, dirArg as string, prefixArg as string, Number(rerankArg ?? 0));
else {
  const n = Number(process.env["BENCH_DOCS"] ?? 1_000_000);
  const keep = process.env["BENCH_DIR"];
  const dir = keep ?? mkdtempSync(join(tmpdir(), "skerry-coldann-bench-"));
  try {
    console.log(`# Cold ANN through the engine: ${n.toLocaleString("en")} docs x 128-dim compacted + a 1,000-doc tail`);
    if (keep === undefined || !existsSync(join(dir, ".built"))) {
      await build(new LocalFsStorage({ root: dir }), n);
      if (keep !== undefined) writeFileSync(join(dir, ".built"), "");
    }
    report("local-fs", dir, "", 0);
    report("local-fs+20ms", dir, "", LATENCY_MS);
    if (process.env["S3_ENDPOINT"] !== undefined) {
      const s3n = Math.min(n, Number(process.env["BENCH_S3_DOCS"] ?? 200_000));
      const prefix = `bench-coldann-${Date.now()}/`;
      const s3 = storageFor("s3", dir, prefix);
      console.log(`# S3: building ${s3n.toLocaleString("en")} docs under ${prefix}`);
      try {
        await build(s3, s3n);
        report("s3+20ms", dir, prefix, LATENCY_MS);
      } finally {
        for await (const meta of s3.list("")) await s3.delete(meta.key).catch(() => undefined);
      }
    }
  } finally {
    if (keep === undefined) rmSync(dir, { recursive: true, force: true });
  }
  process.exit(0);
}
