/**
 * The first query over a large uncompacted tail (issue 13): N documents as
 * 10,000-document log batches kept in `BENCH_DIR` (built once), then a fresh
 * engine's first ANN query, which folds and indexes the whole tail. Profile
 * with `node --cpu-prof`.
 *
 *   BENCH_DIR=/tmp/tail200k BENCH_TAIL_DOCS=200000 node --conditions=@skerry/source --import tsx bench/tail-first-query.ts
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalFsStorage } from "@skerry/storage-providers";
import { NamespaceEngine } from "@skerry/namespace-engine";
import { dataset } from "./query/dataset.ts";
import { upsertDataset } from "./upsert-dataset.ts";

const n = Number(process.env["BENCH_TAIL_DOCS"] ?? 200_000);
const keep = process.env["BENCH_DIR"];
const dir = keep ?? mkdtempSync(join(tmpdir(), "skerry-tail-first-"));
const NS = "bench/tail/first";
try {
  const storage = new LocalFsStorage({ root: dir });
  if (!existsSync(join(dir, ".built"))) {
    const writer = new NamespaceEngine({ storage, compaction: { auto: false } });
    await writer.createNamespace(NS);
    await upsertDataset(writer, NS, n);
    await writer.close();
    mkdirSync(join(dir, ".built"));
  }
  const engine = new NamespaceEngine({ storage, compaction: { auto: false } });
  const data = dataset(10);
  const t = performance.now();
  const cpu = process.cpuUsage();
  await engine.query(NS, { rankBy: ["vector", "ANN", data.query(0)], topK: 10 });
  const first = performance.now() - t;
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000;
  const t2 = performance.now();
  await engine.query(NS, { rankBy: ["vector", "ANN", data.query(1)], topK: 10 });
  const second = performance.now() - t2;
  console.log(`# ${n.toLocaleString("en")} docs: first query ${first.toFixed(1)} ms (${((first * 1000) / n).toFixed(1)} us/doc; CPU ${cpuMs.toFixed(0)} ms, ${((cpuMs * 1000) / n).toFixed(1)} us/doc), next ${second.toFixed(1)} ms, documents indexed ${engine.queryStats().tailDocsIndexed}, partitions ${engine.queryStats().tailChunks}`);
  await engine.close();
} finally {
  if (keep === undefined) rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
