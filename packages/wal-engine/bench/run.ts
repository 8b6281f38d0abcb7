/**
 * `pnpm bench` for wal-engine: recovery throughput of interrupted WALs.
 *
 * For each provider (local-fs always, S3 when S3_ENDPOINT is set) and each
 * workload (1,000 interrupted DELETE WALs, 200 interrupted UPDATE WALs), it
 * stages the WALs at INTENT (through the engine's prepare step, so they look
 * exactly like WALs whose driver died right after the INTENT write), then
 * times one `scanAndRecover` at the given concurrency, and prints:
 *
 * - throughput in WALs per second;
 * - the storage calls made, beside the minimum the protocol needs:
 *   1 list page per 1,000 keys, and per WAL: doc read, lease CAS, locate
 *   (manifest read), per segment group sidecar read + sidecar CAS + doc CAS
 *   (the last group's doc CAS also writes COMPLETE), plus for UPDATE:
 *   sidecar read, segment write, manifest read + CAS, APPENDED CAS; plus
 *   every live segment's `_id` column read once by the table;
 * - the lower bound: minimum calls x the provider's per-call cost measured
 *   in the same run at the same concurrency (wall time per call of 4 KiB
 *   gets and conditional puts issued by `concurrency` workers), and the
 *   ratio of the measured time to that bound (goal: within 2x).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { FaultInjectingStorage, LocalFsStorage, type StorageProvider } from "@skerry/storage-providers";
import { IdGenerator, type RowId, rowId } from "@skerry/wal-format";
import { runBounded, WalEngine } from "@skerry/wal-engine";
import { TestTable } from "../test/support/test-table.ts";

const CONCURRENCY = Number(process.env["SKERRY_BENCH_CONCURRENCY"] ?? 16);
const SEGMENTS = 100;
const ROWS = 100;

const rid = (segment: number, i: number): RowId => rowId(BigInt(segment) * 1_000_000n + BigInt(i) + 1n);
const segName = (s: number) => `00000000-0000-4000-8000-${String(s).padStart(12, "0")}`;

interface CallCost {
  getMs: number;
  putMs: number;
  listPageMs: number;
}

/** Wall time per call with `CONCURRENCY` workers: 4 KiB gets and conditional puts on distinct keys. */
async function measureCallCost(storage: StorageProvider, root: string, ops: number): Promise<CallCost> {
  const body = new Uint8Array(4096).fill(7);
  const keys = Array.from({ length: CONCURRENCY }, (_, i) => `${root}/calibrate/${i}`);
  const etags = await Promise.all(keys.map(async (k) => (await storage.put(k, body)).etag));
  const perWorker = Math.ceil(ops / CONCURRENCY);
  let t = performance.now();
  await Promise.all(
    keys.map(async (key, w) => {
      for (let i = 0; i < perWorker; i++) etags[w] = (await storage.put(key, body, { mode: { kind: "update", etag: etags[w] as string } })).etag;
    }),
  );
  const putMs = (performance.now() - t) / (perWorker * CONCURRENCY);
  t = performance.now();
  await Promise.all(
    keys.map(async (key) => {
      for (let i = 0; i < perWorker; i++) await storage.get(key);
    }),
  );
  const getMs = (performance.now() - t) / (perWorker * CONCURRENCY);
  t = performance.now();
  for await (const _ of storage.list(`${root}/calibrate/`)) {
    // drain
  }
  const listPageMs = performance.now() - t;
  return { getMs, putMs, listPageMs };
}

interface Workload {
  kind: "DELETE" | "UPDATE";
  wals: number;
  /** Segment groups per WAL (targets spread over this many segments). */
  groups: number;
}

async function stage(storage: StorageProvider, root: string, workload: Workload): Promise<void> {
  const table = new TestTable(storage, root);
  await runBounded(
    Array.from({ length: SEGMENTS }, (_, s) => s),
    CONCURRENCY,
    async (s) => {
      await table.seedSegment(
        segName(s),
        Array.from({ length: ROWS }, (_, i) => ({ rowId: rid(s, i), id: `doc-${s}-${i}`, vector: [s, i, 1, 0] })),
      );
    },
  );
  const engine = new WalEngine({ storage, root, table, idGenerator: new IdGenerator() });
  await runBounded(
    Array.from({ length: workload.wals }, (_, w) => w),
    CONCURRENCY,
    async (w) => {
      // Distinct targets per WAL, `groups` segments each, two rows per segment.
      const targets: RowId[] = [];
      for (let g = 0; g < workload.groups; g++) {
        const segment = (w * workload.groups + g) % SEGMENTS;
        const slot = Math.floor((w * workload.groups + g) / SEGMENTS);
        targets.push(rid(segment, (2 * slot) % ROWS), rid(segment, (2 * slot + 1) % ROWS));
      }
      if (workload.kind === "DELETE") await engine.prepareDelete({ targets, predicateRepr: `bench delete ${w}` });
      else
        await engine.prepareUpdate({
          targets,
          newRows: targets.map((t, i) => ({ id: `new-${t}`, vector: [i, 0, 0, 1], attributes: { w } })),
          predicateRepr: `bench update ${w}`,
        });
    },
  );
}

function minimumCalls(workload: Workload): { gets: number; puts: number; lists: number } {
  const keys = workload.wals * (workload.kind === "UPDATE" ? 2 : 1);
  const lists = Math.max(1, Math.ceil(keys / 1000));
  let gets = workload.wals * (1 + 1 + workload.groups);
  let puts = workload.wals * (1 + 2 * workload.groups);
  let segments = SEGMENTS;
  if (workload.kind === "UPDATE") {
    gets += workload.wals * 2;
    puts += workload.wals * 3;
    segments += workload.wals;
  }
  gets += segments;
  return { gets, puts, lists };
}

async function benchOne(name: string, storage: StorageProvider, workload: Workload, cost: CallCost): Promise<string> {
  const root = `bench-${workload.kind.toLowerCase()}-${randomUUID().slice(0, 8)}`;
  await stage(storage, root, workload);
  const counted = new FaultInjectingStorage(storage, { maxRecordedCalls: 1_000_000 });
  const engine = new WalEngine({ storage: counted, root, table: new TestTable(counted, root) });
  const t = performance.now();
  const report = await engine.scanAndRecover({ concurrency: CONCURRENCY });
  const ms = performance.now() - t;
  const completed = report.fullPipelineCompleted + report.tombstoneOnlyCompleted;
  if (completed !== workload.wals || report.errors.length > 0) {
    throw new Error(`${name} ${workload.kind}: completed ${completed}/${workload.wals}, errors ${JSON.stringify(report.errors.slice(0, 3))}`);
  }
  const made = { gets: 0, puts: 0, lists: 0 };
  for (const call of counted.calls) {
    if (call.op === "get" || call.op === "head") made.gets++;
    else if (call.op === "put") made.puts++;
    else if (call.op === "list") made.lists++;
  }
  const min = minimumCalls(workload);
  const boundMs = min.gets * cost.getMs + min.puts * cost.putMs + min.lists * cost.listPageMs;
  const fmt = (n: number) => n.toFixed(2);
  return (
    `[bench] ${name} ${workload.kind} x${workload.wals} (${workload.groups} segment groups each, concurrency ${CONCURRENCY}): ` +
    `${fmt((workload.wals / ms) * 1000)} WALs/s in ${fmt(ms / 1000)} s; ` +
    `calls ${made.gets} get + ${made.puts} put + ${made.lists} list (minimum ${min.gets} + ${min.puts} + ${min.lists}); ` +
    `per-call cost get ${fmt(cost.getMs)} ms, put ${fmt(cost.putMs)} ms, list ${fmt(cost.listPageMs)} ms -> ` +
    `bound ${fmt(boundMs / 1000)} s; measured/bound = ${fmt(ms / boundMs)}x`
  );
}

async function benchProvider(name: string, storage: StorageProvider): Promise<void> {
  const cost = await measureCallCost(storage, `bench-calibrate-${randomUUID().slice(0, 8)}`, 1_600);
  for (const workload of [
    { kind: "DELETE", wals: 1_000, groups: 2 },
    { kind: "UPDATE", wals: 200, groups: 1 },
  ] as const) {
    console.log(await benchOne(name, storage, workload, cost));
  }
}

const dir = await mkdtemp(join(tmpdir(), "wal-engine-bench-"));
try {
  await benchProvider("local-fs", new LocalFsStorage({ root: dir }));
} finally {
  await rm(dir, { recursive: true, force: true });
}
if (process.env["S3_ENDPOINT"]) {
  const { S3Storage } = await import("@skerry/storage-providers");
  const prefix = `skerry-bench/wal-engine/${Date.now().toString(36)}-${randomUUID().slice(0, 8)}/`;
  const storage = S3Storage.fromEnv(process.env, { prefix });
  try {
    await benchProvider("s3", storage);
  } finally {
    const keys: string[] = [];
    for await (const meta of storage.list("")) keys.push(meta.key);
    await runBounded(keys, 32, async (k) => storage.delete(k));
    storage.close();
  }
} else {
  console.log("[bench] s3: skipped (S3_ENDPOINT is not set; run under scripts/s3/with-s3.sh to include it)");
}
