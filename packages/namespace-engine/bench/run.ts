/**
 * Write-path benchmarks of the namespace engine, each beside the physical
 * bound measured in the same run:
 *
 * 1. Single-writer commit latency (p50/p99) of upserts of 1, 100 and 1,000
 *    documents with 128-dim vectors, beside one fsync'd file create of the
 *    same bytes (the commit's framed-log batch; local-fs: open, write,
 *    fsync, close, fsync of the directory) or one PutObject of the same
 *    bytes (S3). The goal is p50 within 2.5x. By default a batch is carried
 *    by its manifest, so a commit is ONE create (of the manifest: the batch
 *    as base64 plus the container list); run again with `carriedBatches:
 *    false`, where a commit is two creates (the batch object, then the
 *    manifest). Also printed: the provider's own create of the batch bytes,
 *    and the commit's p50 over it times the creates a commit makes (the
 *    engine's overhead above the creates it cannot avoid). The namespace is
 *    kept at the default compaction threshold (a forced compaction outside
 *    the timed region whenever it reaches 32 log batches), as a namespace
 *    that is compacted is; a third run never compacts (the manifest grows
 *    by one container, ~340 bytes, per commit: the worst case).
 * 2. 64 concurrent writers of single documents: documents/s with group
 *    commit beside the same without it. Goal on local-fs: >= 10,000 docs/s.
 * 3. Compaction (local-fs): 100,000 documents with 128-dim vectors written
 *    as 100 log batches, compacted into one segment; MB/s of segment bytes
 *    (and of log bytes read) beside the disk's sequential write bandwidth
 *    measured in the same run (one write + fsync of the same byte count),
 *    with the ratio; printed with and without building the query index.
 *    SKERRY_BENCH_COMPACTION_DOCS overrides the document count.
 * 4. Write amplification of compaction, full-fold beside tiered
 *    (bench/write-amplification.ts, also `pnpm bench:write-amp`).
 *
 * Runs local-fs always and S3 when S3_ENDPOINT is set (the configured
 * bucket, under a unique prefix that is removed afterwards).
 *
 *     pnpm --filter @skerry/namespace-engine bench
 *     SKERRY_BENCH_SECONDS=5 ... (length of each throughput run; default 3)
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalFsStorage, S3Storage, type StorageProvider } from "@skerry/storage-providers";
import { DEFAULT_COMPACTION_SETTINGS, type DocumentInput, NamespaceEngine } from "@skerry/namespace-engine";

const DIM = 128;
const SECONDS = Number(process.env["SKERRY_BENCH_SECONDS"] ?? 3);
const SIZES: { docs: number; iterations: number }[] = [
  { docs: 1, iterations: 200 },
  { docs: 100, iterations: 100 },
  { docs: 1_000, iterations: 30 },
];

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

const ms = (value: number) => `${value.toFixed(2)} ms`;
const rate = (value: number) => Math.round(value).toLocaleString("en-US");

function docs(count: number, offset: number): DocumentInput[] {
  return Array.from({ length: count }, (_, i) => {
    const vector = new Float32Array(DIM);
    for (let d = 0; d < DIM; d++) vector[d] = Math.sin(offset + i + d);
    return { id: `doc-${offset + i}`, vector, attributes: { n: offset + i, tag: "bench" } };
  });
}

/** One durable file create of `bytes`: the floor of one local-fs object create. */
async function fsyncedCreate(dir: string, bytes: Uint8Array): Promise<number> {
  const path = join(dir, randomUUID());
  const started = performance.now();
  const file = await open(path, "wx");
  await file.write(bytes);
  await file.sync();
  await file.close();
  const directory = await open(dir, "r");
  await directory.sync();
  await directory.close();
  return performance.now() - started;
}

/**
 * `steady`: the namespace is kept at its compaction threshold (a forced compaction, outside the timed
 * region, whenever the manifest reaches DEFAULT_COMPACTION_SETTINGS.maxLogBatches log batches), so a commit
 * rewrites a manifest of 1-32 containers, as in a namespace that is compacted; otherwise the manifest grows
 * by one container per commit (the worst case: nothing ever compacts).
 */
async function latency(
  label: string,
  storage: StorageProvider,
  bound: (bytes: Uint8Array) => Promise<number>,
  carried = true,
  steady = true,
): Promise<void> {
  const engine = new NamespaceEngine({ storage, carriedBatches: carried, compaction: { buildIndex: false } });
  const threshold = DEFAULT_COMPACTION_SETTINGS.maxLogBatches;
  for (const { docs: count, iterations } of SIZES) {
    const ns = `bench/latency/n${count}-${randomUUID().slice(0, 8)}`;
    await engine.createNamespace(ns);
    await engine.upsert(ns, docs(count, 0)); // warm: fixes the dimension, caches the manifest
    const samples: number[] = [];
    const floor: number[] = [];
    const provider: number[] = [];
    let largest = 0;
    let bytes: Uint8Array = new Uint8Array(0);
    // Each commit is followed by the bound and the provider's create of the same batch bytes, so all three
    // see the same background (page-cache writeback, neighbours on this shared machine).
    for (let i = 1; i <= iterations; i++) {
      const batch = docs(count, i * count);
      const started = performance.now();
      await engine.upsert(ns, batch);
      samples.push(performance.now() - started);
      const manifest = await engine.manifest(ns, { consistency: "eventual" });
      largest = Math.max(largest, manifest.containers.length);
      const last = manifest.containers[manifest.containers.length - 1];
      if (last === undefined) throw new Error("no container committed");
      // The commit's own batch bytes (the framed log), carried by the latest manifest or stored at its key.
      bytes = last.inline ?? (await storage.get(last.key)).bytes;
      floor.push(await bound(bytes));
      const raw = performance.now();
      await storage.put(`bench/raw/${randomUUID()}`, bytes, { mode: { kind: "create" } });
      provider.push(performance.now() - raw);
      if (steady && manifest.containers.filter((c) => c.kind === "LOG_BATCH").length >= threshold) await engine.compact(ns, { force: true });
    }
    const creates = carried ? 1 : 2;
    const p50 = percentile(samples, 50);
    const boundP50 = percentile(floor, 50);
    const providerP50 = percentile(provider, 50);
    console.log(
      `[${label} ${carried ? "carried" : "stored"}${steady ? "" : " no-compaction"}] commit latency, ${count} doc${count === 1 ? "" : "s"} x ${DIM}-dim (batch ${rate(bytes.length)} B, ${iterations} commits of ${creates} create${creates === 1 ? "" : "s"}, manifest ${steady ? `compacted at ${threshold} log batches, up to` : "grows to"} ${rate(
        largest,
      )} containers): p50 ${ms(p50)} p99 ${ms(percentile(samples, 99))} | one ${label === "local-fs" ? "fsync'd create" : "PutObject"} of the batch p50 ${ms(
        boundP50,
      )} p99 ${ms(percentile(floor, 99))} -> p50 ratio ${(p50 / boundP50).toFixed(2)}x (goal <= 2.5x) | provider create p50 ${ms(
        providerP50,
      )}, commit / (${creates} x provider create) ${(p50 / (creates * providerP50)).toFixed(2)}x`,
    );
  }
}

async function writers(storage: StorageProvider, groupCommit: boolean): Promise<{ docsPerSecond: number; commits: number }> {
  const engine = new NamespaceEngine({ storage, groupCommit });
  const ns = `bench/writers/${groupCommit ? "grouped" : "single"}-${randomUUID().slice(0, 8)}`;
  await engine.createNamespace(ns);
  await engine.upsert(ns, docs(1, 0));
  const before = engine.stats().commits;
  let written = 0;
  let stop = false;
  const started = performance.now();
  const timer = setTimeout(() => {
    stop = true;
  }, SECONDS * 1000);
  await Promise.all(
    Array.from({ length: 64 }, async (_, w) => {
      for (let n = 0; !stop; n++) {
        await engine.upsert(ns, docs(1, w * 10_000_000 + n));
        written++;
      }
    }),
  );
  clearTimeout(timer);
  const seconds = (performance.now() - started) / 1000;
  return { docsPerSecond: written / seconds, commits: engine.stats().commits - before };
}

async function throughput(label: string, storage: StorageProvider): Promise<void> {
  const grouped = await writers(storage, true);
  const single = await writers(storage, false);
  console.log(
    `[${label}] 64 concurrent writers of single ${DIM}-dim docs: group commit ${rate(grouped.docsPerSecond)} docs/s (${rate(
      grouped.commits,
    )} commits) | without ${rate(single.docsPerSecond)} docs/s (${rate(single.commits)} commits) -> ${(
      grouped.docsPerSecond / single.docsPerSecond
    ).toFixed(1)}x${label === "local-fs" ? " (goal >= 10,000 docs/s)" : ""}`,
  );
}

/** Sequential write bandwidth of the disk: one file of `bytes` bytes, written and fsync'd. */
async function sequentialWrite(dir: string, bytes: number): Promise<number> {
  const chunk = new Uint8Array(8 * 1024 * 1024).fill(7);
  const path = join(dir, `seq-${randomUUID()}`);
  const started = performance.now();
  const file = await open(path, "wx");
  for (let written = 0; written < bytes; written += chunk.length) await file.write(chunk, 0, Math.min(chunk.length, bytes - written));
  await file.sync();
  await file.close();
  const seconds = (performance.now() - started) / 1000;
  await rm(path);
  return bytes / seconds;
}

async function compaction(storage: StorageProvider, rawDir: string): Promise<void> {
  const total = Number(process.env["SKERRY_BENCH_COMPACTION_DOCS"] ?? 100_000);
  for (const buildIndex of [false, true]) {
    const engine = new NamespaceEngine({ storage, compaction: { buildIndex } });
    const ns = `bench/compaction/c${buildIndex ? "i" : "n"}-${randomUUID().slice(0, 8)}`;
    await engine.createNamespace(ns);
    for (let offset = 0; offset < total; offset += 1_000) await engine.upsert(ns, docs(Math.min(1_000, total - offset), offset));
    const before = await engine.manifest(ns);
    const logBytes = before.containers.reduce((sum, c) => sum + c.byteSize, 0);
    await engine.openNamespace(ns);
    const started = performance.now();
    const report = await engine.compact(ns, { force: true });
    const seconds = (performance.now() - started) / 1000;
    const disk = await sequentialWrite(rawDir, report.segmentBytes);
    const mb = (bytes: number) => bytes / (1024 * 1024);
    const segmentRate = mb(report.segmentBytes) / seconds;
    console.log(
      `[local-fs] compaction of ${rate(total)} ${DIM}-dim docs from ${before.containers.length} log batches${buildIndex ? " + query index" : ""}: ${seconds.toFixed(
        2,
      )} s, segment ${mb(report.segmentBytes).toFixed(1)} MB at ${segmentRate.toFixed(1)} MB/s (log read ${(mb(logBytes) / seconds).toFixed(
        1,
      )} MB/s) | disk sequential write+fsync ${mb(disk).toFixed(1)} MB/s -> ${((segmentRate / mb(disk)) * 100).toFixed(0)}% of the disk`,
    );
  }
}

const root = await mkdtemp(join(tmpdir(), "skerry-ns-bench-"));
const rawDir = await mkdtemp(join(tmpdir(), "skerry-ns-bench-raw-"));
try {
  const local = new LocalFsStorage({ root });
  await latency("local-fs", local, (bytes) => fsyncedCreate(rawDir, bytes)); // carried (the default)
  await latency("local-fs", local, (bytes) => fsyncedCreate(rawDir, bytes), false); // every batch stored
  await latency("local-fs", local, (bytes) => fsyncedCreate(rawDir, bytes), true, false); // carried, never compacted
  await throughput("local-fs", local);
  await compaction(local, rawDir);
  await (await import("./state-persistence.ts")).statePersistenceBench("local-fs", local); // warm from stateDir vs cold build
} finally {
  await rm(root, { recursive: true, force: true });
  await rm(rawDir, { recursive: true, force: true });
}

if (process.env["S3_ENDPOINT"]) {
  const s3 = S3Storage.fromEnv(process.env, { prefix: `skerry-bench/namespace-engine/${Date.now().toString(36)}-${randomUUID().slice(0, 8)}` });
  try {
    for (const carried of [true, false]) {
      await latency(
        "s3",
        s3,
        async (bytes) => {
          const started = performance.now();
          await s3.put(`raw/${randomUUID()}`, bytes);
          return performance.now() - started;
        },
        carried,
      );
    }
    await throughput("s3", s3);
  } finally {
    const keys: string[] = [];
    for await (const meta of s3.list("")) keys.push(meta.key);
    for (let i = 0; i < keys.length; i += 32) await Promise.all(keys.slice(i, i + 32).map((key) => s3.delete(key)));
    s3.close();
  }
} else {
  console.log("[s3] S3_ENDPOINT not set: S3 benchmarks skipped (run under scripts/s3/with-s3.sh)");
}

// Write amplification of compaction, full-fold beside tiered (bench/write-amplification.ts; in memory).
// SKERRY_BENCH_SKIP_WA=1 skips it.
if (process.env["SKERRY_BENCH_SKIP_WA"] !== "1") {
  const { writeAmplification } = await import("./write-amplification.ts");
  await writeAmplification();
}

// Query benchmarks, each in its own process (they generate 1M documents by default and end with process.exit):
// (the query module on its own is @skerry/query's `pnpm bench`, packages/query/bench/run.ts) cold start through the engine (bench/query-cold-start.ts),
// then cold ANN queries by ranged reads (bench/cold-ann.ts: local-fs, local-fs + 20 ms, and the S3 server + 20 ms
// when S3_ENDPOINT is set, at BENCH_S3_DOCS, default 200,000; a line says when it skipped S3), then node start to first answer from the built
// packages (bench/process-start.ts), then the event-loop stall of a first query over a 50,000-document tail with and
// without index worker threads (bench/tail-stall.ts; BENCH_STALL_DOCS sets its size), then a namespace at scale (bench/scale.ts: 10M documents by default, about
// an hour on a 2-core machine; BENCH_SCALE_DOCS sets its size, SKERRY_BENCH_SKIP_SCALE=1 skips it).
// BENCH_DOCS sets the other datasets' size; SKERRY_BENCH_SKIP_QUERY=1 skips them all.
if (process.env["SKERRY_BENCH_SKIP_QUERY"] !== "1") {
  const { execFileSync } = await import("node:child_process");
  const { fileURLToPath } = await import("node:url");
  const scripts = ["./query-cold-start.ts", "./cold-ann.ts", "./process-start.ts", "./tail-stall.ts"];
  if (process.env["SKERRY_BENCH_SKIP_SCALE"] !== "1") scripts.push("./scale.ts");
  for (const script of scripts) {
    execFileSync(process.execPath, ["--conditions=@skerry/source", "--import", "tsx", fileURLToPath(new URL(script, import.meta.url))], { stdio: "inherit" });
  }
}
