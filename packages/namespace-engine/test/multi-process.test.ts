/**
 * Many writer processes, one namespace: 4 processes x 250 upserts through
 * local-fs and through the real S3 server, and 8 processes x 200 on S3 (the
 * contention case: a writer that keeps losing the manifest race must still
 * win). Afterwards every acknowledged write is present, no write failed with
 * `Conflict` (a busy namespace delays a write, never fails it), manifest
 * versions are contiguous and strictly increasing, each version's containers
 * extend the previous version's, and each sampled write appears exactly at
 * the version it was acknowledged as.
 *
 * The S3 variants run whenever S3_ENDPOINT is set (and fail loudly under CI
 * without it: s3TestTarget).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LocalFsStorage, type StorageProvider } from "@skerry/storage-providers";
import { s3TestTarget } from "@skerry/storage-providers/testing";
import { isVersionConflict, NamespaceEngine } from "@skerry/namespace-engine";
import { runWriterProcesses } from "./support/writer-processes.ts";

const NS = "acme/multi/shared";
const PROCESSES = 4;
const WRITES = 250;
const CONCURRENCY = 10;

const s3Target = s3TestTarget("namespace-engine-multi");
afterAll(() => s3Target.cleanup());
function s3(sub: string) {
  const storage = s3Target.open(`${sub}/`);
  return { storage, location: `${s3Target.prefix}${sub}/` };
}

/** `carried`: every writer carries its batches in its manifests (the default); `mixed`: half store them as objects. */
type WriterMode = "carried" | "mixed";

async function runWriters(
  location: string,
  backend: "local-fs" | "s3",
  storage: StorageProvider,
  mode: WriterMode = "carried",
  processes = PROCESSES,
  writes = WRITES,
): Promise<void> {
  const engine = new NamespaceEngine({ storage });
  await engine.createNamespace(NS);
  const run = await runWriterProcesses({
    location,
    backend,
    processes,
    writes,
    concurrency: CONCURRENCY,
    batches: (w) => (mode === "mixed" && w % 2 === 1 ? "stored" : "carried"),
  });
  const { acked, seconds } = run;
  expect(run.conflicts).toEqual([]);
  expect(acked).toHaveLength(processes * writes);

  const docs = await engine.documents(NS);
  const byId = new Map(docs.map((d) => [d.id, d]));
  for (const { id } of acked) expect(byId.has(id), id).toBe(true);
  expect(docs).toHaveLength(processes * writes);

  const versions = await engine.listVersions(NS);
  const latest = versions[versions.length - 1] as number;
  expect(versions).toEqual(Array.from({ length: latest }, (_, i) => i + 1));
  let previous: string[] = [];
  let carried = 0;
  for (const version of versions) {
    const manifest = await engine.manifest(NS, { atVersion: version });
    const ids = manifest.containers.map((c) => c.id);
    expect(ids.slice(0, previous.length), `version ${version}`).toEqual(previous);
    previous = ids;
    // A manifest holds the bytes of its own batch only.
    const holding = manifest.containers.filter((c) => c.inline !== undefined);
    expect(holding.every((c) => c.carrierVersion === version && c.id === ids[ids.length - 1]), `version ${version}`).toBe(true);
    carried += holding.length;
  }
  if (mode === "mixed") expect(carried).toBeGreaterThan(0);
  if (mode === "mixed") expect(carried).toBeLessThan(latest - 1);
  if (mode === "carried") expect(carried).toBe(latest - 1);
  for (const { id, version } of acked.filter((_, i) => i % 50 === 0)) {
    expect((await engine.get(NS, [id], { atVersion: version }))[0]?.id, `${id} at ${version}`).toBe(id);
    expect((await engine.get(NS, [id], { atVersion: version - 1 }))[0], `${id} before ${version}`).toBeNull();
  }
  // Expire every version but the latest: the carried batches it still references move to their keys first.
  const gc = await engine.collectGarbage(NS, { retention: { keepVersions: 1, keepForMs: 0 } });
  expect(gc.versionsDeleted).toBe(latest - 1);
  const fresh = new NamespaceEngine({ storage });
  expect((await fresh.documents(NS)).map((d) => d.id).sort()).toEqual(docs.map((d) => d.id).sort());
  console.log(
    `[multi-process ${backend} ${mode}] ${processes} processes x ${writes} writes: ${latest - 1} commits in ${seconds.toFixed(1)} s (${Math.round(
      acked.length / seconds,
    )} writes/s), races lost per process [${run.racesLost.join(", ")}], waiting claims [${run.waitingClaims.join(", ")}], yields [${run.yieldedToWaiting.join(", ")}]`,
  );
}

describe("many writer processes on local-fs", () => {
  it("never lose an acknowledged write, and versions increase strictly", async () => {
    const root = await mkdtemp(join(tmpdir(), "skerry-ns-multi-"));
    try {
      await runWriters(root, "local-fs", new LocalFsStorage({ root }));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it("never lose an acknowledged write when half the writers store their batches as objects", async () => {
    const root = await mkdtemp(join(tmpdir(), "skerry-ns-multi-"));
    try {
      await runWriters(root, "local-fs", new LocalFsStorage({ root }), "mixed");
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!s3Target.shouldRun)("NamespaceEngine on the real S3 server", () => {
  it("many writer processes never lose an acknowledged write, and versions increase strictly", async () => {
    const { storage, location } = s3("multi");
    await runWriters(location, "s3", storage);
  });

  it("many writer processes, half storing their batches as objects, never lose an acknowledged write", async () => {
    const { storage, location } = s3("multi-mixed");
    await runWriters(location, "s3", storage, "mixed");
  });

  it("8 writer processes x 200 writes: none fails with Conflict (the manifest race is lost, never for good)", async () => {
    const { storage, location } = s3("multi-8");
    await runWriters(location, "s3", storage, "carried", 8, 200);
  }, 300_000); // 10-50 s on a 2-core machine beside the other suites; more when it is shared

  it("writes, reads, dedupes and deletes through S3", async () => {
    const { storage } = s3("basic");
    const engine = new NamespaceEngine({ storage });
    await engine.createNamespace("acme/s3/basic", { labels: { on: "s3" } });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => engine.upsert("acme/s3/basic", [{ id: `d${i}`, vector: [i, 1] }])));
    expect(new Set(results.map((r) => r.version))).toEqual(new Set([2]));
    await engine.patch("acme/s3/basic", [{ id: "d1", attributes: { x: 1 } }], { idempotencyKey: "k" });
    expect(await engine.patch("acme/s3/basic", [{ id: "d1", attributes: { x: 2 } }], { idempotencyKey: "k" })).toMatchObject({
      version: 3,
      deduplicated: true,
    });
    expect(isVersionConflict(await engine.delete("acme/s3/basic", ["d0"], { ifVersion: 2 }).catch((e) => e))).toBe(true);
    await engine.delete("acme/s3/basic", ["d0"], { ifVersion: 3 });
    const other = new NamespaceEngine({ storage });
    expect(await other.getNamespace("acme/s3/basic")).toMatchObject({ version: 4, docCount: 19, vectorDimension: 2 });
    expect((await other.get("acme/s3/basic", ["d1"]))[0]?.attributes).toEqual({ x: 1 });
    expect(await other.listNamespaces("acme", "s3")).toEqual(["basic"]);
    await other.deleteNamespace("acme/s3/basic");
    expect(await engine.listNamespaces("acme", "s3")).toEqual([]);
    expect(await engine.listVersions("acme/s3/basic")).toEqual([5]);
  });
});
