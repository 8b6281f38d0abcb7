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
 * Providers: local-fs; local-fs with 20 ms added to every storage request;
 * and the real S3 server with 20 ms added to every request, when S3_ENDPOINT
 * and S3_BUCKET are set (else a line says it was skipped). The latency is
 * added by `RoundTripRecorder` (bench/round-trip-recorder.ts), which also
 * times every request, so each cold query's sequential round trips (the
 * longest chain of requests each started after the previous answered) are
 * printed with the chain. With latency, also the first query of
 * `BENCH_FRESH` (default 5) fresh processes (nothing cached: manifest,
 * eager regions, tail). RSS is the peak (Linux VmHWM) above the RSS
 * before the first query.
 *
 * S3 at 1M: the namespace is ~3.4 GiB stored (log batches, segment, index);
 * the test server (scripts/s3/start-s3.sh, Ceph RGW on an in-memory store of
 * 2 GiB by default) needs a bigger store, so `BENCH_S3_DOCS` defaults to
 * 200,000. For 1M:
 *
 *   S3_PORT=7590 S3_MON_PORT=43590 S3_MEMSTORE_BYTES=$((8<<30)) \
 *     scripts/s3/start-s3.sh /tmp/skerry-s3bench > /tmp/skerry-s3bench.env
 *   source /tmp/skerry-s3bench.env; cd packages/namespace-engine
 *   BENCH_COLD_ANN_LOCAL=0 BENCH_S3_DOCS=1000000 BENCH_S3_PREFIX=coldann-1m/ \
 *     node --conditions=@skerry/source --import tsx bench/cold-ann.ts
 *   ../../scripts/s3/stop-s3.sh /tmp/skerry-s3bench
 *
 * `BENCH_S3_PREFIX` keeps the S3 namespace (built once, reused by the next
 * runs); without it the namespace is built under a fresh prefix and deleted.
 * `BENCH_COLD_ANN_LOCAL=0` skips the local-fs runs.
 *
 *   node --conditions=@skerry/source --import tsx bench/cold-ann.ts
 *   BENCH_DOCS=200000 ... (default 1,000,000); BENCH_DIR=/path keeps the built namespace
 *   BENCH_RERANK=n: queryCache.coldRerank of the cold runs (0 = the default)
 *   BENCH_GAP=n: queryCache.coldReadGapBytes (ranges of an index object less than n bytes apart share one GET;
 *     0 = one GET per range, the behaviour before; default 64 KiB)
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LocalFsStorage, S3Storage, type StorageProvider } from "@skerry/storage-providers";
import { type DocumentInput, NamespaceEngine } from "@skerry/namespace-engine";
import { dataset } from "../../query/bench/dataset.ts";
import { type RecordedRoundTrip, RoundTripRecorder } from "./round-trip-recorder.ts";
import { upsertDataset } from "./upsert-dataset.ts";

const NS = "bench/coldann/docs";
const self = fileURLToPath(import.meta.url);
const QUERIES = 20;
const LATENCY_MS = 20;
/** Fresh processes whose first query is timed (providers with added latency). */
const FRESH = Number(process.env["BENCH_FRESH"] ?? 5);
/** Marks a kept S3 namespace (`BENCH_S3_PREFIX`) as built; holds its document count. */
const BUILT_KEY = "bench-coldann-built";

interface ChildResult {
  startToAnswer: number;
  first: number;
  p50: number;
  /** Per later query (1..QUERIES): index ranges read (queryStats) and every byte any GET returned. */
  reads: number;
  bytes: number;
  indexBytes: number;
  /** Bytes every GET of the first query returned (manifest, eager regions, lists, rows). */
  firstBytes: number;
  /** Process CPU time (user + system) per later query: the engine's work and the storage client's. */
  cpu: number;
  /** Peak RSS above the RSS before the first query (VmHWM). */
  rssAdded: number;
  /** The process peaked higher before the queries (building the namespace): rssAdded is only an upper bound. */
  rssHidden: boolean;
  /**
   * `first` only: the first query of a NEW engine (empty caches: manifest, eager regions, tail) in this process,
   * after the first engine answered (JIT and the storage client warm): a namespace new to a running server.
   */
  freshEngine: number;
  freshEngineTrips: number;
  /** Sequential round trips of the first query, and its chain. */
  firstTrips: number;
  firstChain: string;
  /** Median sequential round trips of the later queries, and the chain of one such query. */
  trips: number;
  chain: string;
  /** Result ids of queries 1..5 (recall is computed by the parent, against the warm child's exact kNN). */
  ids: string[][];
  /** Exact kNN ids of queries 1..5 (warm child only). */
  exact: string[][];
  loads: number;
  stored: number;
}

/**
 * This process's peak RSS in bytes: Linux's VmHWM (the high-water mark of this address space, which starts
 * anew at exec). getrusage's maxRSS is not used where VmHWM exists: Linux carries it across fork and exec, so
 * a child spawned by a parent that had built the 1M namespace (2.4 GiB resident) reported the parent's peak.
 */
function peakRss(): number {
  try {
    const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (hwm !== null) return Number(hwm[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

function storageFor(kind: string, dir: string, prefix: string): StorageProvider {
  if (kind.startsWith("s3")) return S3Storage.fromEnv(process.env, { prefix });
  return new LocalFsStorage({ root: dir });
}

async function storedBytes(storage: StorageProvider): Promise<number> {
  let total = 0;
  for await (const meta of storage.list("")) total += meta.size;
  return total;
}

function objectKind(key: string): string {
  if (key.includes("/manifests/")) return "manifest";
  if (key.includes("/_project/namespaces/")) return "registry marker";
  if (key.endsWith(".qidx")) return "index";
  if (key.includes("/superfiles/")) return "tombstones";
  if (key.includes("/log/")) return "log batch";
  if (key.endsWith(".arrow")) return "segment";
  return "other";
}

/** A chain of sequential calls as text: each step with the calls that started while it was in flight. */
function describe(chain: readonly RecordedRoundTrip[], calls: readonly RecordedRoundTrip[]): string {
  return chain
    .map((step) => {
      const wave = calls.filter((c) => c.start >= step.start && c.start < step.end);
      const counts = new Map<string, number>();
      for (const c of wave.length === 0 ? [step] : wave) {
        const name = `${c.op.toUpperCase()} ${objectKind(c.key)}`;
        counts.set(name, (counts.get(name) ?? 0) + 1);
      }
      return [...counts].map(([name, count]) => (count === 1 ? name : `${name} x${count}`)).join(" + ");
    })
    .join(" > ");
}

/**
 * One fresh process: `cold` (ranged reads, no background load), `warm` (load first) or `first` (cold, one
 * query only: query vector `query`); `rerank` is the cold runs' coldRerank.
 */
async function child(mode: string, kind: string, dir: string, prefix: string, rerank: number, query: number): Promise<void> {
  const inner = storageFor(kind, dir, prefix);
  // The latency is added by the recorder (every request, a LIST once), not FaultInjectingStorage: its LIST drains
  // every page, and the manifest LIST (page size 1) would then be one request per manifest.
  const recorder = new RoundTripRecorder(inner, kind.endsWith("+20ms") ? LATENCY_MS : 0);
  const cold = mode !== "warm";
  const gap = process.env["BENCH_GAP"];
  const engine = new NamespaceEngine({
    storage: recorder,
    queryCache: { coldReads: cold, ...(cold ? { segmentIndexBytes: 0, coldRerank: rerank } : {}), ...(gap === undefined ? {} : { coldReadGapBytes: Number(gap) }) },
  });
  const data = dataset(10);
  // `first`: the storage client is made before the clock starts (one request outside the recorder: on S3 the
  // SDK's first request loads and builds it, 0.6-1 s), as in a server whose client is up; `cold` times it in.
  if (mode === "first") await inner.head(BUILT_KEY);
  const rss0 = process.memoryUsage().rss;
  // A high-water mark that started higher than this process's RSS (see peakRss) hides a lower query peak: then
  // the figure is only an upper bound.
  const peakBefore = peakRss();
  const t0 = performance.now();
  const first = await engine.query(NS, { rankBy: ["vector", "ANN", data.query(query)], topK: 10 });
  const t1 = performance.now();
  if (first.rows.length !== 10) throw new Error("expected 10 rows");
  const firstCalls = recorder.calls(0);
  const firstChain = recorder.chain(0);
  const times: number[] = [];
  const trips: { length: number; chain: string }[] = [];
  const ids: string[][] = [];
  const before = engine.queryStats();
  const mark = recorder.mark();
  const cpu0 = process.cpuUsage();
  for (let i = 1; mode !== "first" && i <= QUERIES; i++) {
    const m = recorder.mark();
    const s = performance.now();
    const got = await engine.query(NS, { rankBy: ["vector", "ANN", data.query(i)], topK: 10 });
    times.push(performance.now() - s);
    const chain = recorder.chain(m);
    trips.push({ length: chain.length, chain: describe(chain, recorder.calls(m)) });
    if (i <= 5) ids.push(got.rows.map((r) => r.id));
  }
  const after = engine.queryStats();
  const cpu = process.cpuUsage(cpu0);
  const peakAfter = peakRss();
  const rssAdded = peakAfter - rss0;
  const rssHidden = peakAfter <= peakBefore && peakBefore > rss0;
  let freshEngine = Number.NaN;
  let freshEngineTrips = 0;
  if (mode === "first") {
    const second = new NamespaceEngine({
      storage: recorder,
      queryCache: { coldReads: true, segmentIndexBytes: 0, coldRerank: rerank, ...(gap === undefined ? {} : { coldReadGapBytes: Number(gap) }) },
    });
    const m = recorder.mark();
    const s = performance.now();
    const got = await second.query(NS, { rankBy: ["vector", "ANN", data.query(query + 1000)], topK: 10 });
    freshEngine = performance.now() - s;
    freshEngineTrips = recorder.chain(m).length;
    if (got.rows.length !== 10) throw new Error("expected 10 rows");
  }
  const exact: string[][] = [];
  if (!cold) for (let i = 1; i <= 5; i++) exact.push((await engine.query(NS, { rankBy: ["vector", "kNN", data.query(i)], topK: 10 })).rows.map((r) => r.id));
  times.sort((a, b) => a - b);
  trips.sort((a, b) => a.length - b.length);
  const median = trips[Math.floor(trips.length / 2)];
  const count = Math.max(1, times.length);
  const result: ChildResult = {
    startToAnswer: t1, // performance.now() counts from process start
    first: t1 - t0,
    p50: times[Math.floor(times.length / 2)] ?? Number.NaN,
    reads: (after.coldReads - before.coldReads) / count,
    bytes: recorder.calls(mark).reduce((n, c) => n + c.bytes, 0) / count,
    indexBytes: (after.coldBytes - before.coldBytes) / count,
    cpu: (cpu.user + cpu.system) / 1000 / count,
    firstBytes: firstCalls.reduce((n, c) => n + c.bytes, 0),
    rssAdded,
    rssHidden,
    freshEngine,
    freshEngineTrips,
    firstTrips: firstChain.length,
    firstChain: describe(firstChain, firstCalls),
    trips: median?.length ?? 0,
    chain: median?.chain ?? "",
    ids,
    exact,
    loads: after.segmentIndexes.loads,
    stored: mode === "first" ? 0 : await storedBytes(inner),
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

function mib(x: number): string {
  return `${(x / 2 ** 20).toFixed(2).padStart(8)} MiB`;
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

const RERANK = Number(process.env["BENCH_RERANK"] ?? 0);
const RERANK_WIDE = Number(process.env["BENCH_RERANK_WIDE"] ?? 400);

function report(kind: string, dir: string, prefix: string, latency: number): void {
  const cold = run(["cold", kind, dir, prefix, String(RERANK)]);
  const warm = run(["warm", kind, dir, prefix, "0"]);
  const share = (cold.bytes / cold.stored) * 100;
  const goal = (x: number) => `goal p50 <= 300 ms: ${x <= 300 ? "met" : "NOT met"}`;
  console.log(`## ${kind}: namespace ${(cold.stored / 2 ** 20).toFixed(0)} MiB stored`);
  console.log(`cold ANN top-10 p50 (ranged reads)        ${ms(cold.p50)} | load the index first, then query (before) ${ms(warm.first)} | x${(warm.first / cold.p50).toFixed(1)}`);
  if (latency > 0) {
    const floor = latency * cold.trips;
    console.log(`cold ANN top-10 p50                        ${ms(cold.p50)} | floor: ${cold.trips} round trips x ${latency} ms           ${ms(floor)} | x${(cold.p50 / floor).toFixed(2)} of the floor; ${goal(cold.p50)}`);
  }
  console.log(
    `cold: first query of a fresh process      ${ms(cold.first)} | node start to first answer (tsx, from sources) ${ms(cold.startToAnswer)}${latency === 0 ? " (tsx compiles the sources: the 500 ms goal is measured from the built packages by bench/process-start.ts)" : ""}`,
  );
  if (latency > 0 && FRESH > 0) {
    // Each in its own process: nothing cached (manifest, eager regions, tail), a different query vector each.
    const fresh = Array.from({ length: FRESH }, (_, j) => run(["first", kind, dir, prefix, String(RERANK), String(100 + j)]));
    const p50 = median(fresh.map((f) => f.first));
    const trips = median(fresh.map((f) => f.firstTrips));
    const floor = latency * trips;
    console.log(
      `cold: first query, p50 of ${FRESH} fresh processes (client up) ${ms(p50)} | floor: ${trips} round trips x ${latency} ms           ${ms(floor)} | x${(p50 / floor).toFixed(2)} of the floor; ${goal(p50)}`,
    );
    const engineP50 = median(fresh.map((f) => f.freshEngine));
    const engineFloor = latency * median(fresh.map((f) => f.freshEngineTrips));
    console.log(
      `cold: a new engine's first query in a warmed process, p50 of ${FRESH} ${ms(engineP50)} | floor: ${median(fresh.map((f) => f.freshEngineTrips))} round trips x ${latency} ms           ${ms(engineFloor)} | x${(engineP50 / engineFloor).toFixed(2)} of the floor; ${goal(engineP50)}`,
    );
    console.log(
      `bytes read by a fresh process's first query ${mib(median(fresh.map((f) => f.firstBytes)))} | namespace stored bytes ${(cold.stored / 2 ** 20).toFixed(0)} MiB | ${((median(fresh.map((f) => f.firstBytes)) / cold.stored) * 100).toFixed(2)}%`,
    );
    console.log(`round trips, first query of a process: ${cold.firstTrips}: ${cold.firstChain}`);
  }
  console.log(`warm ANN top-10 p50 (index loaded)        ${ms(warm.p50)} | cold p50                                  ${ms(cold.p50)} | x${(cold.p50 / warm.p50).toFixed(1)}`);
  console.log(
    `bytes read per cold query (every GET)     ${mib(cold.bytes)} (index ranges ${(cold.indexBytes / 2 ** 20).toFixed(2)} MiB in ${cold.reads.toFixed(0)} reads) | namespace stored bytes ${(cold.stored / 2 ** 20).toFixed(0)} MiB | ${share.toFixed(2)}%; goal <= 2%: ${share <= 2 ? "met" : "NOT met"}`,
  );
  console.log(`round trips of a cold query (median of ${QUERIES}): ${cold.trips}: ${cold.chain}`);
  console.log(
    `process CPU per cold query                ${ms(cold.cpu)} | cold p50 ${ms(cold.p50)} | ${((cold.cpu / cold.p50) * 100).toFixed(0)}% of it (the engine, and the storage client's ${((cold.reads + 1) | 0)} requests)`,
  );
  const rssNote = cold.rssHidden ? " (upper bound: the process's high-water mark was higher before the queries)" : "";
  console.log(`peak RSS added by ${QUERIES + 1} cold queries     ${(cold.rssHidden ? "<= " : "") + (cold.rssAdded / 2 ** 20).toFixed(0).padStart(cold.rssHidden ? 5 : 8)} MiB | the same process warm (index loaded)      ${(warm.rssAdded / 2 ** 20).toFixed(0).padStart(5)} MiB; goal <= 256 MB: ${cold.rssAdded <= 256 * 2 ** 20 ? "met" : cold.rssHidden ? "not measured" : "NOT met"}${rssNote}`);
  const recall = (got: string[][]) => got.reduce((n, row, i) => n + row.filter((id) => warm.exact[i]?.includes(id)).length, 0) / (10 * got.length);
  const overlap = (got: string[][]) => got.reduce((n, row, i) => n + row.filter((id) => warm.ids[i]?.includes(id)).length, 0) / (10 * got.length);
  console.log(
    `recall@10 vs exact kNN: cold ${recall(cold.ids).toFixed(3)}, warm ${recall(warm.ids).toFixed(3)}; cold rows among the loaded index's ANN rows ${overlap(cold.ids).toFixed(3)} (index loads: cold ${cold.loads}, warm ${warm.loads})`,
  );
  if (latency === 0 && RERANK_WIDE > 0) {
    const wide = run(["cold", kind, dir, prefix, String(RERANK_WIDE)]);
    const label = RERANK === 0 ? "max(4k, 40)" : String(RERANK);
    console.log(
      `re-rank ${label.padEnd(12)} cold p50 ${ms(cold.p50)}, ${(cold.indexBytes / 2 ** 20).toFixed(2)} MiB, recall ${recall(cold.ids).toFixed(3)} | re-rank ${String(RERANK_WIDE).padEnd(5)} cold p50 ${ms(wide.p50)}, ${(wide.indexBytes / 2 ** 20).toFixed(2)} MiB, recall ${recall(wide.ids).toFixed(3)} | time x${(cold.p50 / wide.p50).toFixed(2)}, bytes x${(cold.indexBytes / wide.indexBytes).toFixed(2)}`,
    );
  }
}

/** The S3 run: the real server when S3_ENDPOINT and S3_BUCKET are set, 20 ms added to every request. */
async function s3Run(n: number): Promise<void> {
  if (!process.env["S3_ENDPOINT"] || !process.env["S3_BUCKET"]) {
    console.log("## s3+20ms: skipped (S3_ENDPOINT / S3_BUCKET not set; run under scripts/s3/with-s3.sh or with the exports of scripts/s3/start-s3.sh)");
    return;
  }
  const s3n = Math.min(n, Number(process.env["BENCH_S3_DOCS"] ?? 200_000));
  const keep = process.env["BENCH_S3_PREFIX"];
  const prefix = keep ?? `bench-coldann-${Date.now()}/`;
  const s3 = storageFor("s3", "", prefix) as S3Storage;
  try {
    let built: number | undefined;
    if (keep !== undefined) {
      try {
        built = Number(new TextDecoder().decode((await s3.get(BUILT_KEY)).bytes));
      } catch {
        built = undefined;
      }
    }
    if (built === undefined) {
      console.log(`# S3 (${process.env["S3_ENDPOINT"]}): building ${s3n.toLocaleString("en")} docs under ${prefix}`);
      try {
        await build(s3, s3n);
      } catch (error) {
        console.log(`# S3 build failed: a 1M namespace needs ~4 GiB on the server (start-s3.sh's in-memory store: S3_MEMSTORE_BYTES=$((8<<30)))`);
        throw error;
      }
      if (keep !== undefined) await s3.put(BUILT_KEY, new TextEncoder().encode(String(s3n)));
    } else console.log(`# S3 (${process.env["S3_ENDPOINT"]}): the ${built.toLocaleString("en")}-doc namespace kept under ${prefix}`);
    report("s3+20ms", "-", prefix, LATENCY_MS);
  } finally {
    if (keep === undefined) {
      const keys: string[] = [];
      for await (const meta of s3.list("")) keys.push(meta.key);
      for (let i = 0; i < keys.length; i += 32) await Promise.all(keys.slice(i, i + 32).map((key) => s3.delete(key).catch(() => undefined)));
    }
    s3.close();
  }
}

const [mode, kind, dirArg, prefixArg, rerankArg, queryArg] = process.argv.slice(2);
if (mode === "cold" || mode === "warm" || mode === "first") {
  await child(mode, kind as string, dirArg as string, prefixArg as string, Number(rerankArg ?? 0), Number(queryArg ?? 0));
} else {
  const n = Number(process.env["BENCH_DOCS"] ?? 1_000_000);
  console.log(`# Cold ANN through the engine: ${n.toLocaleString("en")} docs x 128-dim compacted + a 1,000-doc tail`);
  if (process.env["BENCH_COLD_ANN_LOCAL"] !== "0") {
    const keep = process.env["BENCH_DIR"];
    const dir = keep ?? mkdtempSync(join(tmpdir(), "skerry-coldann-bench-"));
    try {
      if (keep === undefined || !existsSync(join(dir, ".built"))) {
        await build(new LocalFsStorage({ root: dir }), n);
        if (keep !== undefined) writeFileSync(join(dir, ".built"), "");
      }
      report("local-fs", dir, "", 0);
      report("local-fs+20ms", dir, "", LATENCY_MS);
    } finally {
      if (keep === undefined) rmSync(dir, { recursive: true, force: true });
    }
  }
  await s3Run(n);
  process.exit(0);
}
