/**
 * Cold start through the engine: the first `engine.query` after process
 * start on a compacted namespace of N documents (default 1M x 128-dim, the
 * query benchmark's dataset; `BENCH_DOCS` overrides) plus a tail of log
 * batches (`BENCH_TAIL`, default 1% of N, half new ids, half overwrites,
 * and 100 deletes), beside the time to just read the same objects from
 * storage in another fresh process.
 *
 * The namespace is built once (upserts of 10,000 documents, then a forced
 * compaction that writes the segment and its query index) into a temporary
 * local-fs directory (`BENCH_DIR` keeps and reuses one). Then, each in a
 * fresh process:
 *   1. engine: open an engine, time the first query (manifest LIST + GET,
 *      the segment index GET + verify + deserialize, the tail fold and its
 *      index, the shadow masks, the query), then a second query; the keys
 *      it read are recorded;
 *   2. raw: read those same keys from a new LocalFsStorage, nothing else.
 *
 *   node --conditions=@skerry/source --import tsx bench/query-cold-start.ts
 *   BENCH_DOCS=100000 ... for a quick run
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LocalFsStorage, type StorageProvider } from "@skerry/storage-providers";
import { type DocumentInput, manifestPrefix, NamespaceEngine, parseNamespacePath } from "@skerry/namespace-engine";
import { dataset } from "../../query/bench/dataset.ts";
import { upsertDataset } from "./upsert-dataset.ts";

const NS = "bench/cold/docs";
const self = fileURLToPath(import.meta.url);

function line(label: string, ms: number, baselineLabel: string, baseline: number, extra = ""): void {
  console.log(
    `${label.padEnd(46)} ${ms.toFixed(2).padStart(9)} ms | ${baselineLabel.padEnd(40)} ${baseline.toFixed(2).padStart(9)} ms | x${(baseline / ms).toFixed(2)}${extra}`,
  );
}

/** Records the keys (and bytes) an engine reads. */
function recording(storage: StorageProvider, keys: Map<string, number>): StorageProvider {
  return new Proxy(storage, {
    get(target, prop, receiver) {
      if (prop === "get") {
        return async (key: string, options?: unknown) => {
          const result = await target.get(key, options as never);
          keys.set(key, result.bytes.length);
          return result;
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

async function engineChild(dir: string): Promise<void> {
  const keys = new Map<string, number>();
  const q = dataset(10).query(7);
  const t0 = performance.now();
  const engine = new NamespaceEngine({ storage: recording(new LocalFsStorage({ root: dir }), keys) });
  const first = await engine.query(NS, { rankBy: ["vector", "kNN", q], topK: 10 });
  const t1 = performance.now();
  const second = await engine.query(NS, { rankBy: ["vector", "kNN", dataset(10).query(8)], topK: 10 });
  const t2 = performance.now();
  const bm25 = await engine.query(NS, { rankBy: ["title", "BM25", "kalo mimi"], topK: 10, filters: ["bucket", "Eq", 3] });
  const t3 = performance.now();
  if (first.rows.length !== 10 || second.rows.length !== 10) throw new Error("expected 10 rows");
  void bm25;
  console.log(JSON.stringify({ first: t1 - t0, second: t2 - t1, bm25: t3 - t2, keys: [...keys.keys()], bytes: [...keys.values()].reduce((a, b) => a + b, 0) }));
  process.exit(0);
}

async function rawChild(dir: string, keysFile: string): Promise<void> {
  const keys = JSON.parse(keysFile) as string[];
  const t0 = performance.now();
  const storage = new LocalFsStorage({ root: dir });
  let bytes = 0;
  // The engine's LIST of manifests is part of what it must do; list them too.
  for await (const meta of storage.list(manifestPrefix(parseNamespacePath(NS)))) void meta;
  for (const key of keys) bytes += (await storage.get(key)).bytes.length;
  console.log(JSON.stringify({ read: performance.now() - t0, bytes }));
  process.exit(0);
}

async function build(dir: string, n: number, tail: number): Promise<void> {
  const engine = new NamespaceEngine({ storage: new LocalFsStorage({ root: dir }), stateCacheEntries: 1, stateCacheBytes: 1 });
  await engine.createNamespace(NS);
  let t = performance.now();
  await upsertDataset(engine, NS, n);
  console.log(`built ${n.toLocaleString("en")} docs as log batches in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  t = performance.now();
  const report = await engine.compact(NS, { force: true });
  console.log(
    `compacted in ${((performance.now() - t) / 1000).toFixed(1)} s: segment ${(report.segmentBytes / 2 ** 20).toFixed(0)} MiB, query index ${(report.indexBytes / 2 ** 20).toFixed(0)} MiB`,
  );
  // The tail: new ids and overwrites of segment rows, then some deletes.
  const extra = [...dataset(tail, 77).documents()].map((d, i) => ({ ...(d as DocumentInput), id: i % 2 === 0 ? `tail-${i}` : (d.id as string) }));
  for (let i = 0; i < extra.length; i += 1_000) await engine.upsert(NS, extra.slice(i, i + 1_000));
  await engine.delete(NS, Array.from({ length: 100 }, (_, i) => `doc-${String(i * 7).padStart(7, "0")}`));
}

function run(args: string[]): Record<string, unknown> {
  const out = execFileSync(process.execPath, ["--conditions=@skerry/source", "--import", "tsx", self, ...args], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(out.trim().split("\n").at(-1) as string) as Record<string, unknown>;
}

const [mode, dirArg, keysArg] = process.argv.slice(2);
if (mode === "engine") await engineChild(dirArg as string);
else if (mode === "raw") await rawChild(dirArg as string, keysArg as string);
else {
  const n = Number(process.env["BENCH_DOCS"] ?? 1_000_000);
  const tail = Number(process.env["BENCH_TAIL"] ?? Math.round(n / 100));
  const keep = process.env["BENCH_DIR"];
  const dir = keep ?? mkdtempSync(join(tmpdir(), "skerry-cold-bench-"));
  try {
    console.log(`# Cold start through the engine: ${n.toLocaleString("en")} docs x 128-dim compacted + ${tail.toLocaleString("en")}-doc tail, local-fs`);
    if (keep === undefined || !existsSync(join(dir, ".built"))) {
      await build(dir, n, tail);
      if (keep !== undefined) writeFileSync(join(dir, ".built"), "");
    }
    const cold = run(["engine", dir]);
    const keys = cold["keys"] as string[];
    const raw = run(["raw", dir, JSON.stringify(keys)]);
    const mib = ((raw["bytes"] as number) / 2 ** 20).toFixed(0);
    line("cold: engine first query (open+load+query)", cold["first"] as number, `read the same ${keys.length} objects (${mib} MiB)`, raw["read"] as number);
    line("warm: second query", cold["second"] as number, `read the same ${keys.length} objects (${mib} MiB)`, raw["read"] as number);
    line("warm: first BM25 + 1% filter query", cold["bm25"] as number, `read the same ${keys.length} objects (${mib} MiB)`, raw["read"] as number);
  } finally {
    if (keep === undefined) rmSync(dir, { recursive: true, force: true });
  }
  process.exit(0);
}
