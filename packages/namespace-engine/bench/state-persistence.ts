/**
 * Warm-from-persisted-state benchmark (engine option `stateDir`): a
 * namespace of 100,000 documents with 128-dim vectors, written as 100 log
 * batches, warmed by a fresh engine (a restarted process) from its local
 * state file, beside a cold build of the same state from storage. Printed
 * with the GETs each needed, the file size, the time to write the snapshot,
 * and the ratio; then both again with 20 ms injected into every GET and
 * LIST (an object store's first-byte latency, where the saving lies: local
 * decoding costs about the same either way). SKERRY_BENCH_STATE_DOCS
 * overrides the document count.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FaultInjectingStorage, type StorageProvider } from "@skerry/storage-providers";
import { type DocumentInput, NamespaceEngine } from "@skerry/namespace-engine";

const DIM = 128;

function docs(count: number, offset: number): DocumentInput[] {
  return Array.from({ length: count }, (_, i) => {
    const vector = new Float32Array(DIM);
    for (let d = 0; d < DIM; d++) vector[d] = Math.sin(offset + i + d);
    return { id: `doc-${offset + i}`, vector, attributes: { n: offset + i, tag: "bench" } };
  });
}

async function timedWarm(
  storage: StorageProvider,
  ns: string,
  stateDir?: string,
  getLatencyMs = 0,
): Promise<{ ms: number; gets: number; engine: NamespaceEngine }> {
  const counted = new FaultInjectingStorage(storage);
  if (getLatencyMs > 0) counted.addLatency(getLatencyMs, (call) => call.op === "get" || call.op === "list");
  const engine = new NamespaceEngine({ storage: counted, stateDir });
  const started = performance.now();
  await engine.warm(ns);
  const ms = performance.now() - started;
  return { ms, gets: counted.calls.filter((c) => c.op === "get").length, engine };
}

/** Runs the benchmark on `storage` and prints one line. */
export async function statePersistenceBench(label: string, storage: StorageProvider): Promise<void> {
  const total = Number(process.env["SKERRY_BENCH_STATE_DOCS"] ?? 100_000);
  const stateDir = await mkdtemp(join(tmpdir(), "skerry-ns-bench-state-"));
  try {
    const writer = new NamespaceEngine({ storage });
    const ns = `bench/state/s-${randomUUID().slice(0, 8)}`;
    await writer.createNamespace(ns);
    for (let offset = 0; offset < total; offset += 1_000) await writer.upsert(ns, docs(Math.min(1_000, total - offset), offset));
    const batches = (await writer.manifest(ns)).containers.length;

    const cold = await timedWarm(storage, ns);
    // A process with stateDir warms (cold) and writes the snapshot; then a restarted one warms from it.
    const first = await timedWarm(storage, ns, stateDir);
    const snapshotStarted = performance.now();
    await first.engine.close();
    const snapshotMs = performance.now() - snapshotStarted;
    const [org, project, name] = ns.split("/") as [string, string, string];
    const fileBytes = (await stat(join(stateDir, org, project, `${name}.skstate`))).size;
    const warm = await timedWarm(storage, ns, stateDir);
    const restored = warm.engine.stats().statePersistence?.restored ?? 0;
    const same = (await warm.engine.documents(ns)).length === (await cold.engine.documents(ns)).length;
    console.log(
      `[${label}] warm ${total.toLocaleString("en-US")} ${DIM}-dim docs (${batches} log batches): from persisted state ${warm.ms.toFixed(0)} ms (${
        warm.gets
      } GETs, file ${(fileBytes / (1024 * 1024)).toFixed(1)} MB, restored ${restored}${same ? "" : ", DOCUMENT COUNT DIFFERS"}) | cold build from storage ${cold.ms.toFixed(
        0,
      )} ms (${cold.gets} GETs) -> ${(cold.ms / warm.ms).toFixed(1)}x faster | writing the snapshot in the background took ${snapshotMs.toFixed(0)} ms`,
    );
    const coldSlow = await timedWarm(storage, ns, undefined, 20);
    const warmSlow = await timedWarm(storage, ns, stateDir, 20);
    console.log(
      `[${label} + 20 ms per GET/LIST] warm from persisted state ${warmSlow.ms.toFixed(0)} ms (${warmSlow.gets} GETs) | cold build ${coldSlow.ms.toFixed(
        0,
      )} ms (${coldSlow.gets} GETs) -> ${(coldSlow.ms / warmSlow.ms).toFixed(1)}x faster`,
    );
  } finally {
    await rm(stateDir, { recursive: true, force: true });
  }
}
