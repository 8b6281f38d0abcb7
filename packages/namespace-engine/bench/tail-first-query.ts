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
 * Printed side by side as ratios (ranged vs whole, whole vs building), with
 * each first query's process CPU, the bytes read of the chunk objects, and
 * whether all answered the same rows. Profile with `node --cpu-prof`.
 *
 *   BENCH_DIR=/tmp/tail200k BENCH_TAIL_DOCS=200000 node --conditions=@skerry/source --import tsx bench/tail-first-query.ts
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalFsStorage } from "@skerry/storage-providers";
import { NamespaceEngine } from "@skerry/namespace-engine";
import { dataset } from "./query/dataset.ts";
import { upsertDataset } from "./upsert-dataset.ts";

const n = Number(process.env["BENCH_TAIL_DOCS"] ?? 200_000);
const role = process.env["BENCH_TAIL_ROLE"];
const NS = "bench/tail/first";

interface Run {
  readonly firstMs: number;
  readonly cpuMs: number;
  readonly nextMs: number;
  readonly writesMs: number;
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
  const result = await engine.query(NS, { rankBy: ["vector", "ANN", data.query(0)], topK: 10 });
  const firstMs = performance.now() - t;
  const used = process.cpuUsage(cpu);
  const coldBytes = engine.queryStats().coldBytes;
  const t2 = performance.now();
  await engine.query(NS, { rankBy: ["vector", "ANN", data.query(1)], topK: 10 });
  const nextMs = performance.now() - t2;
  const t3 = performance.now();
  await engine.close(); // the background writes of the chunks' indexes
  const writesMs = performance.now() - t3;
  const stats = engine.queryStats();
  const run: Run = {
    firstMs,
    cpuMs: (used.user + used.system) / 1000,
    nextMs,
    writesMs,
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
    const storage = new LocalFsStorage({ root: dir });
    if (!existsSync(join(dir, ".built"))) {
      const writer = new NamespaceEngine({ storage, compaction: { auto: false } });
      await writer.createNamespace(NS);
      await upsertDataset(writer, NS, n);
      await writer.close();
      mkdirSync(join(dir, ".built"));
    }
    rmSync(join(dir, "bench/tail/ns/first/tailidx"), { recursive: true, force: true }); // the build run starts with none
    const build = child(dir, "build");
    const whole = child(dir, "whole");
    const fresh = child(dir, "fresh");
    const same = JSON.stringify(build.ids) === JSON.stringify(fresh.ids) && JSON.stringify(whole.ids) === JSON.stringify(fresh.ids);
    const chunkBytes = readdirSync(join(dir, "bench/tail/ns/first/tailidx"), { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .reduce((total, entry) => total + statSync(join(entry.parentPath, entry.name)).size, 0);
    const mb = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
    console.log(`# ${n.toLocaleString("en")} docs, ${build.partitions} partitions, chunk objects ${mb(chunkBytes)}; the same rows: ${same ? "yes" : "NO"}`);
    console.log(`tail: first query, chunks by range  ${ms(fresh.firstMs)} | tail: first query, chunks whole ${ms(whole.firstMs)} | x${(fresh.firstMs / whole.firstMs).toFixed(3)}`);
    console.log(`tail: first query, CPU              ${ms(fresh.cpuMs)} | tail: first query, CPU         ${ms(whole.cpuMs)} | x${(fresh.cpuMs / whole.cpuMs).toFixed(3)}`);
    console.log(`tail: first query, chunks whole     ${ms(whole.firstMs)} | tail: first query (builds)     ${ms(build.firstMs)} | x${(whole.firstMs / build.firstMs).toFixed(3)}`);
    console.log(
      `  by range: ${fresh.ranged} chunks opened, ${mb(fresh.coldBytes)} read by range, ${fresh.indexed} docs indexed, next query ${fresh.nextMs.toFixed(1)} ms; whole: ${whole.loaded} chunks read, next query ${whole.nextMs.toFixed(1)} ms`,
    );
    console.log(
      `  builds: ${build.indexed} docs indexed (${((build.cpuMs * 1000) / n).toFixed(1)} us/doc of CPU), next query ${build.nextMs.toFixed(1)} ms, ${build.written} chunk indexes written in the background in ${build.writesMs.toFixed(0)} ms`,
    );
  } finally {
    if (keep === undefined) rmSync(dir, { recursive: true, force: true });
  }
}
process.exit(0);
