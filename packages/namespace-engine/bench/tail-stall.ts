/**
 * Event-loop stalls while one namespace's first query indexes a large
 * uncompacted tail (issue 13): N documents as log batches of one namespace
 * and a small second namespace, kept in a temporary local-fs directory;
 * then, each in a process of its own (so each starts with no tail indexes
 * in memory and none persisted):
 *
 * - "workers": the default, the tail's chunks built and their indexes
 *   serialized for persistence by index worker threads;
 * - "main thread": `SKERRY_INDEX_THREADS=0`, everything on the event loop
 *   (the behaviour before the workers).
 *
 * In each, the big namespace's first ANN query runs while the small one is
 * queried in a loop, and until the chunk indexes are written (`close`). The
 * worst event-loop delay (perf_hooks monitorEventLoopDelay, max) and the
 * small namespace's worst query latency are printed side by side, with the
 * ratio workers / main thread, the big query's own latency, and whether both
 * answered the same rows.
 *
 *   BENCH_STALL_DOCS=50000 node --conditions=@skerry/source --import tsx bench/tail-stall.ts
 *
 * BENCH_DIR keeps the data set there (built once) for repeated runs.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { LocalFsStorage } from "@skerry/storage-providers";
import { NamespaceEngine } from "@skerry/namespace-engine";
import { dataset } from "../../query/bench/dataset.ts";
import { upsertDataset } from "./upsert-dataset.ts";

const n = Number(process.env["BENCH_STALL_DOCS"] ?? 50_000);
const role = process.env["BENCH_STALL_ROLE"];
const BIG = "bench/stall/big";
const SMALL = "bench/stall/small";

interface Run {
  readonly stallMs: number;
  readonly p99Ms: number;
  readonly otherMaxMs: number;
  readonly otherQueries: number;
  readonly firstMs: number;
  readonly totalMs: number;
  readonly ids: string[];
}

async function measure(dir: string): Promise<void> {
  const storage = new LocalFsStorage({ root: dir });
  const engine = new NamespaceEngine({ storage, compaction: { auto: false }, queryCache: { tailIndexPersistDocs: 1 } });
  const data = dataset(10);
  await engine.query(SMALL, { topK: 1 }); // warm: its tail is indexed
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  histogram.enable();
  const t = performance.now();
  let done = false;
  let otherMax = 0;
  let otherQueries = 0;
  const other = (async () => {
    while (!done) {
      const q = performance.now();
      await engine.query(SMALL, { rankBy: ["vector", "kNN", data.query(otherQueries % 10)], topK: 5 });
      otherMax = Math.max(otherMax, performance.now() - q);
      otherQueries++;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  })();
  const result = await engine.query(BIG, { rankBy: ["vector", "ANN", data.query(0)], topK: 10 });
  const firstMs = performance.now() - t;
  await engine.close(); // the background writes of the chunks' indexes
  done = true;
  await other.catch(() => undefined);
  histogram.disable();
  const run: Run = {
    stallMs: histogram.max / 1e6,
    p99Ms: histogram.percentile(99) / 1e6,
    otherMaxMs: otherMax,
    otherQueries,
    firstMs,
    totalMs: performance.now() - t,
    ids: result.rows.map((r) => r.id),
  };
  console.log(JSON.stringify(run));
}

function child(dir: string, threads: string | undefined): Run {
  const env: NodeJS.ProcessEnv = { ...process.env, BENCH_DIR: dir, BENCH_STALL_ROLE: "measure" };
  if (threads === undefined) delete env["SKERRY_INDEX_THREADS"];
  else env["SKERRY_INDEX_THREADS"] = threads;
  rmSync(join(dir, "bench/stall/ns/big/tailidx"), { recursive: true, force: true }); // each run starts with none
  const out = execFileSync(process.execPath, [...process.execArgv, import.meta.filename], { env, encoding: "utf8", maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(out.trim().split("\n").at(-1) as string) as Run;
}

const ms = (v: number) => `${v.toFixed(1)} ms`.padStart(10);

if (role !== undefined) {
  await measure(process.env["BENCH_DIR"] as string);
} else {
  const keep = process.env["BENCH_DIR"];
  const dir = keep ?? mkdtempSync(join(tmpdir(), "skerry-tail-stall-"));
  try {
    if (!existsSync(join(dir, ".built"))) {
      const writer = new NamespaceEngine({ storage: new LocalFsStorage({ root: dir }), compaction: { auto: false } });
      await writer.createNamespace(BIG);
      await upsertDataset(writer, BIG, n);
      await writer.createNamespace(SMALL);
      await upsertDataset(writer, SMALL, 500);
      await writer.close();
      mkdirSync(join(dir, ".built"));
    }
    const workers = child(dir, process.env["SKERRY_INDEX_THREADS"]);
    const main = child(dir, "0");
    const same = JSON.stringify(workers.ids) === JSON.stringify(main.ids);
    console.log(`# tail stall: ${n.toLocaleString("en")}-document tail's first query + persistence, another namespace queried meanwhile; the same rows: ${same ? "yes" : "NO"}`);
    console.log(`tail stall: worst event-loop delay, workers ${ms(workers.stallMs)} | main thread ${ms(main.stallMs)} | x${(workers.stallMs / main.stallMs).toFixed(3)}`);
    console.log(`tail stall: other namespace's worst query   ${ms(workers.otherMaxMs)} | main thread ${ms(main.otherMaxMs)} | x${(workers.otherMaxMs / main.otherMaxMs).toFixed(3)}`);
    console.log(
      `  workers: delay p99 ${workers.p99Ms.toFixed(1)} ms, ${workers.otherQueries} other queries, first query ${workers.firstMs.toFixed(0)} ms, with writes ${workers.totalMs.toFixed(0)} ms; main thread: delay p99 ${main.p99Ms.toFixed(1)} ms, ${main.otherQueries} other queries, first query ${main.firstMs.toFixed(0)} ms, with writes ${main.totalMs.toFixed(0)} ms`,
    );
  } finally {
    if (keep === undefined) rmSync(dir, { recursive: true, force: true });
  }
}
process.exit(0);
