/**
 * Liveness under contention: P writer processes x W single-document upserts
 * (10 in flight per process) into one namespace, on local-fs and, when
 * S3_ENDPOINT is set, on S3. Prints per backend the wall time, the writes
 * that failed with `Conflict` (the manifest race lost past the budget; must
 * be 0), the races lost per process, and checks that every acknowledged
 * write is readable afterwards.
 *
 *     pnpm --filter @skerry/namespace-engine exec node --conditions=@skerry/source --import tsx bench/multi-writer.ts
 *     SKERRY_BENCH_PROCESSES=8 SKERRY_BENCH_WRITES=200 SKERRY_BENCH_RUNS=3 SKERRY_BENCH_BACKENDS=s3,local-fs ...
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalFsStorage, S3Storage, type StorageProvider } from "@skerry/storage-providers";
import { NamespaceEngine } from "@skerry/namespace-engine";
import { runWriterProcesses } from "../test/support/writer-processes.ts";

const PROCESSES = Number(process.env["SKERRY_BENCH_PROCESSES"] ?? 8);
const WRITES = Number(process.env["SKERRY_BENCH_WRITES"] ?? 200);
const RUNS = Number(process.env["SKERRY_BENCH_RUNS"] ?? 1);
const BACKENDS = (process.env["SKERRY_BENCH_BACKENDS"] ?? "local-fs,s3").split(",");
const STAGGER_MS = Number(process.env["SKERRY_BENCH_STAGGER_MS"] ?? 0);
const CONCURRENCY = Number(process.env["SKERRY_BENCH_CONCURRENCY"] ?? 10);
const NS = "acme/multi/shared";

async function once(backend: "local-fs" | "s3", run: number): Promise<boolean> {
  let storage: StorageProvider;
  let location: string;
  let cleanup: () => Promise<void>;
  if (backend === "s3") {
    location = `skerry-bench/multi-writer/${Date.now().toString(36)}-${randomUUID().slice(0, 8)}`;
    const s3 = S3Storage.fromEnv(process.env, { prefix: location });
    storage = s3;
    cleanup = async () => {
      const keys: string[] = [];
      for await (const meta of s3.list("")) keys.push(meta.key);
      for (let i = 0; i < keys.length; i += 64) await Promise.all(keys.slice(i, i + 64).map((key) => s3.delete(key)));
      s3.close();
    };
  } else {
    location = await mkdtemp(join(tmpdir(), "skerry-multi-writer-"));
    storage = new LocalFsStorage({ root: location });
    cleanup = () => rm(location, { recursive: true, force: true });
  }
  try {
    const engine = new NamespaceEngine({ storage });
    await engine.createNamespace(NS);
    const result = await runWriterProcesses({ location, backend, processes: PROCESSES, writes: WRITES, concurrency: CONCURRENCY, staggerMs: STAGGER_MS });
    const ids = new Set((await new NamespaceEngine({ storage }).documents(NS)).map((d) => d.id));
    const missing = result.acked.filter((a) => !ids.has(a.id)).length;
    const commits = (await engine.listVersions(NS)).length - 1;
    console.log(
      `[multi-writer ${backend} run ${run}] ${PROCESSES} processes x ${WRITES} writes: ${result.seconds.toFixed(1)} s, ` +
        `${result.acked.length} acknowledged, ${result.conflicts.length} Conflict failures, ${missing} acknowledged missing, ` +
        `${commits} commits, races lost per process [${result.racesLost.join(", ")}], ` +
        `waiting claims [${result.waitingClaims.join(", ")}], yields [${result.yieldedToWaiting.join(", ")}]`,
    );
    for (const message of result.conflicts.slice(0, 3)) console.log(`  ${message}`);
    return result.conflicts.length === 0 && missing === 0 && result.acked.length === PROCESSES * WRITES;
  } finally {
    await cleanup();
  }
}

let ok = true;
for (const backend of BACKENDS) {
  if (backend === "s3" && !process.env["S3_ENDPOINT"]) {
    console.log("[multi-writer s3] S3_ENDPOINT not set: skipped");
    continue;
  }
  for (let run = 1; run <= RUNS; run++) ok = (await once(backend as "local-fs" | "s3", run)) && ok;
}
process.exit(ok ? 0 : 1);
