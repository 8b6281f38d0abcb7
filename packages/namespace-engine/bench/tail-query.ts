/**
 * Queries over an uncompacted log tail (issue 13, "no cliff on the tail"):
 * N documents written as log batches and never compacted, then ANN top-10
 * queries, beside the same documents compacted into indexed segments, in
 * the same run; and a query right after each small write (the version
 * changed: what the engine rebuilds per version shows here). Goal: the
 * tail's p50 within 5x the compacted p50, and no rebuild of the whole tail
 * per version.
 *
 *   node --conditions=@skerry/source --import tsx bench/tail-query.ts
 *   BENCH_TAIL_DOCS=1000000 (default)
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalFsStorage } from "@skerry/storage-providers";
import { type DocumentInput, NamespaceEngine } from "@skerry/namespace-engine";
import { dataset } from "../../query/bench/dataset.ts";
import { upsertDataset } from "./upsert-dataset.ts";

const n = Number(process.env["BENCH_TAIL_DOCS"] ?? 1_000_000);
const QUERIES = 20;
const WRITES = 10;
const data = dataset(10);

function p50(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
}

async function load(engine: NamespaceEngine, ns: string): Promise<void> {
  await engine.createNamespace(ns);
  await upsertDataset(engine, ns, n);
}

async function measure(engine: NamespaceEngine, ns: string): Promise<{ first: number; firstCpu: number; p50: number; afterWrite: number }> {
  const ann = (i: number) => ({ rankBy: ["vector", "ANN", data.query(i)], topK: 10 });
  let t = performance.now();
  const cpu = process.cpuUsage();
  await engine.query(ns, ann(0));
  const first = performance.now() - t;
  const used = process.cpuUsage(cpu);
  const firstCpu = (used.user + used.system) / 1000;
  const times: number[] = [];
  for (let i = 1; i <= QUERIES; i++) {
    t = performance.now();
    await engine.query(ns, ann(i));
    times.push(performance.now() - t);
  }
  const afterWrite: number[] = [];
  const extra = [...dataset(WRITES, 5).documents()];
  for (let w = 0; w < WRITES; w++) {
    await engine.upsert(ns, [{ ...(extra[w] as DocumentInput), id: `w-${w}` }]);
    t = performance.now();
    await engine.query(ns, ann(w + 1));
    afterWrite.push(performance.now() - t);
  }
  return { first, firstCpu, p50: p50(times), afterWrite: p50(afterWrite) };
}

const dir = mkdtempSync(join(tmpdir(), "skerry-tail-bench-"));
try {
  const storage = new LocalFsStorage({ root: dir });
  console.log(`# ANN top-10 over ${n.toLocaleString("en")} docs x 128-dim: an uncompacted log tail beside the same docs compacted`);
  const tailEngine = new NamespaceEngine({ storage, compaction: { auto: false } });
  await load(tailEngine, "bench/tail/uncompacted");
  const tail = await measure(tailEngine, "bench/tail/uncompacted");
  await tailEngine.close();
  const segEngine = new NamespaceEngine({ storage, compaction: { auto: false } });
  await load(segEngine, "bench/tail/compacted");
  await segEngine.compact("bench/tail/compacted", { force: true });
  const seg = await measure(segEngine, "bench/tail/compacted");
  await segEngine.close();
  const ms = (x: number) => `${x.toFixed(1).padStart(8)} ms`;
  const ratio = tail.p50 / seg.p50;
  console.log(`tail: ANN p50                     ${ms(tail.p50)} | compacted: ANN p50              ${ms(seg.p50)} | x${ratio.toFixed(2)}; goal <= 5x: ${ratio <= 5 ? "met" : "NOT met"}`);
  console.log(`tail: query after a 1-doc write   ${ms(tail.afterWrite)} | compacted: after a 1-doc write  ${ms(seg.afterWrite)} | x${(tail.afterWrite / seg.afterWrite).toFixed(2)} (p50 of ${WRITES})`);
  console.log(`tail: first query (builds)        ${ms(tail.first)} | compacted: first query            ${ms(seg.first)} | x${(tail.first / seg.first).toFixed(2)}`);
  console.log(`tail: first query, process CPU    ${ms(tail.firstCpu)} | compacted: first query, CPU       ${ms(seg.firstCpu)} | x${(tail.firstCpu / seg.firstCpu).toFixed(2)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
