/**
 * The first query over a large uncompacted tail (issue 13): N documents as
 * 10,000-document log batches kept in `BENCH_DIR` (built once), then, each
 * in a process of its own:
 *
 * 1. a fresh engine's first ANN query with no persisted tail chunk indexes
 *    (they are deleted first): it folds and indexes the whole tail, then
 *    writes the closed chunks' indexes in the background (`close` waits
 *    for them: printed as "writes");
 * 2. another fresh process's first ANN query over the same tail, the chunks'
 *    indexes read WHOLE (`coldReads: false`: each object fetched and
 *    decoded, the path before ranged reads);
 * 3. another fresh process's first ANN query over the same tail, the chunks'
 *    indexes read BY RANGE (the default: their eager region and ids, then
 *    the probed lists and the returned rows, ranged-tail-chunk.ts).
 *
 * 4. a fresh process's first ANN query over the same documents compacted
 *    (namespace `bench/tail/compacted`, one segment: the goal's baseline,
 *    "within 5x of the same query over a compacted segment").
 *
 * The ranged process (3) folds only the log batches no stored chunk covers:
 * the others' fold summaries (tail.json version 2) stand for them. Its
 * "next query" runs right after the first; "later" 2 s after it.
 *
 * Printed side by side as ratios (ranged vs compacted, ranged vs whole, whole vs building), with
 * each first query's process CPU, the bytes read of the chunk objects, and
 * whether all answered the same rows. Profile with `node --cpu-prof`.
 *
 *   BENCH_DIR=/tmp/tail200k BENCH_TAIL_DOCS=200000 node --conditions=@skerry/source --import tsx bench/tail-first-query.ts
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { LocalFsStorage } from "@skerry/storage-providers";
import { NamespaceEngine } from "@skerry/namespace-engine";
import { dataset } from "../../query/bench/dataset.ts";
import { upsertDataset } from "./upsert-dataset.ts";

const n = Number(process.env["BENCH_TAIL_DOCS"] ?? 200_000);
const role = process.env["BENCH_TAIL_ROLE"];
const NS = "bench/tail/first";
const COMPACTED = "bench/tail/compacted";

interface Run {
  readonly firstMs: number;
  readonly cpuMs: number;
  readonly nextMs: number;
  /** A query 2 s after the next one (the background load, if any, had time to run). */
  readonly laterMs: number;
  readonly writesMs: number;
  /** Stored chunks whose log batches were not folded, and folds made again from the batches. */
  readonly summarized: number;
  readonly refolds: number;
  readonly indexed: number;
  readonly loaded: number;
  readonly written: number;
  readonly ranged: number;
  /** Bytes the cold readers read by range (the chunk objects' eager regions, ids, lists, rows). */
  readonly coldBytes: number;
  readonly partitions: number;
  readonly ids: string[];
}

/** One process's first and second query (role "build" or "fresh"); prints its Run as JSON. */
async function measure(dir: string): Promise<void> {
  const storage = new LocalFsStorage({ root: dir });
  // "whole": the chunks' indexes fetched and decoded whole, as before ranged reads of them.
  const engine = new NamespaceEngine({ storage, compaction: { auto: false }, queryCache: { coldReads: role !== "whole" } });
  const data = dataset(10);
  const t = performance.now();
  const cpu = process.cpuUsage();
  const ns = role === "compacted" ? COMPACTED : NS;
  const result = await engine.query(ns, { rankBy: ["vector", "ANN", data.query(0)], topK: 10 });
  const firstMs = performance.now() - t;
  const used = process.cpuUsage(cpu);
  const coldBytes = engine.queryStats().coldBytes;
  const t2 = performance.now();
  await engine.query(ns, { rankBy: ["vector", "ANN", data.query(1)], topK: 10 });
  const nextMs = performance.now() - t2;
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const t4 = performance.now();
  await engine.query(ns, { rankBy: ["vector", "ANN", data.query(2)], topK: 10 });
  const laterMs = performance.now() - t4;
  const t3 = performance.now();
  await engine.close(); // the background writes of the chunks' indexes
  const writesMs = performance.now() - t3;
  const stats = engine.queryStats();
  const run: Run = {
    firstMs,
    cpuMs: (used.user + used.system) / 1000,
    nextMs,
    laterMs,
    writesMs,
    summarized: stats.tailIndexes.summarized,
    refolds: stats.tailIndexes.refolds,
    indexed: stats.tailDocsIndexed,
    loaded: stats.tailIndexes.loaded,
    written: stats.tailIndexes.written,
    ranged: stats.tailIndexes.ranged,
    coldBytes,
    partitions: stats.tailChunks,
    ids: result.rows.map((r) => r.id),
  };
  console.log(JSON.stringify(run));
}

function child(dir: string, which: string): Run {
  const out = execFileSync(process.execPath, [...process.execArgv, import.meta.filename], {
    env: { ...process.env, BENCH_DIR: dir, BENCH_TAIL_ROLE: which },
    encoding: "utf8",
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(out.trim().split("\n").at(-1) as string) as Run;
}

const ms = (v: number) => `${v.toFixed(1)} ms`.padStart(12);

if (role !== undefined) {
  await measure(process.env["BENCH_DIR"] as string);
} else {
  const keep = process.env["BENCH_DIR"];
  const dir = keep ?? mkdtempSync(join(tmpdir(), "skerry-tail-first-"));
  try {
    if (!existsSync(join(dir, ".built2"))) rmSync(dir, { recursive: true, force: true }); // built by an older version of this bench (no compacted baseline)
    const storage = new LocalFsStorage({ root: dir });
    if (!existsSync(join(dir, ".built2"))) {
      const writer = new NamespaceEngine({ storage, compaction: { auto: false } });
      await writer.createNamespace(NS);
      await upsertDataset(writer, NS, n);
      // The same documents compacted: the baseline.
      await writer.createNamespace(COMPACTED);
      await upsertDataset(writer, COMPACTED, n);
      await writer.compact(COMPACTED, { force: true });
      await writer.close();
      mkdirSync(join(dir, ".built2"), { recursive: true });
    }
    const load = loadavg()[0] as number;
    rmSync(join(dir, "bench/tail/ns/first/tailidx"), { recursive: true, force: true }); // the build run starts with none
    const build = child(dir, "build");
    const whole = child(dir, "whole");
    const fresh = child(dir, "fresh");
    const compacted = child(dir, "compacted");
    const same =
      JSON.stringify(build.ids) === JSON.stringify(fresh.ids) && JSON.stringify(whole.ids) === JSON.stringify(fresh.ids) && JSON.stringify(compacted.ids) === JSON.stringify(fresh.ids);
    const chunkBytes = readdirSync(join(dir, "bench/tail/ns/first/tailidx"), { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .reduce((total, entry) => total + statSync(join(entry.parentPath, entry.name)).size, 0);
    const mb = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
    console.log(`# ${n.toLocaleString("en")} docs, ${build.partitions} partitions, chunk objects ${mb(chunkBytes)}, load ${load.toFixed(1)}; the same rows: ${same ? "yes" : "NO"}`);
    console.log(
      `tail: first query, chunks by range  ${ms(fresh.firstMs)} | compacted: first query          ${ms(compacted.firstMs)} | x${(fresh.firstMs / compacted.firstMs).toFixed(2)}; goal <= 5x: ${fresh.firstMs <= 5 * compacted.firstMs ? "met" : "NOT met"}`,
    );
    console.log(`tail: first query, CPU              ${ms(fresh.cpuMs)} | compacted: first query, CPU     ${ms(compacted.cpuMs)} | x${(fresh.cpuMs / compacted.cpuMs).toFixed(2)}`);
    console.log(`tail: next query                    ${ms(fresh.nextMs)} | compacted: next query           ${ms(compacted.nextMs)} | x${(fresh.nextMs / compacted.nextMs).toFixed(2)}`);
    console.log(`tail: a query 2 s later             ${ms(fresh.laterMs)} | compacted: a query 2 s later    ${ms(compacted.laterMs)} | x${(fresh.laterMs / compacted.laterMs).toFixed(2)}`);
    console.log(`tail: first query, chunks by range  ${ms(fresh.firstMs)} | tail: first query, chunks whole ${ms(whole.firstMs)} | x${(fresh.firstMs / whole.firstMs).toFixed(3)}`);
    console.log(`tail: first query, CPU              ${ms(fresh.cpuMs)} | tail: first query, CPU         ${ms(whole.cpuMs)} | x${(fresh.cpuMs / whole.cpuMs).toFixed(3)}`);
    console.log(`tail: first query, chunks whole     ${ms(whole.firstMs)} | tail: first query (builds)     ${ms(build.firstMs)} | x${(whole.firstMs / build.firstMs).toFixed(3)}`);
    console.log(
      `  by range: ${fresh.ranged} chunks opened (${fresh.summarized} summarized: batches not folded, ${fresh.refolds} refolds), ${mb(fresh.coldBytes)} read by range, ${fresh.indexed} docs indexed, next query ${fresh.nextMs.toFixed(1)} ms; whole: ${whole.loaded} chunks read, next query ${whole.nextMs.toFixed(1)} ms`,
    );
    console.log(
      `  builds: ${build.indexed} docs indexed (${((build.cpuMs * 1000) / n).toFixed(1)} us/doc of CPU), next query ${build.nextMs.toFixed(1)} ms, ${build.written} chunk indexes written in the background in ${build.writesMs.toFixed(0)} ms`,
    );
  } finally {
    if (keep === undefined) rmSync(dir, { recursive: true, force: true });
  }
}
process.exit(0);
