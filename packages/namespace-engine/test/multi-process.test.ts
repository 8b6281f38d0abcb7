/**
 * Many writer processes, one namespace: 4 processes x 250 upserts through
 * local-fs and through the real S3 server. Afterwards every acknowledged
 * write is present, manifest versions are contiguous and strictly
 * increasing, each version's containers extend the previous version's, and
 * each sampled write appears exactly at the version it was acknowledged as.
 *
 * The S3 variant runs when S3_ENDPOINT is set; under CI without it the
 * suite fails loudly (a CI that silently skips S3 proves nothing).
 */
import { fork } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { LocalFsStorage, S3Storage, type StorageProvider } from "@skerry/storage-providers";
import { isVersionConflict, NamespaceEngine } from "@skerry/namespace-engine";

const WORKER = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "writer.ts");
const NS = "acme/multi/shared";
const PROCESSES = 4;
const WRITES = 250;
const CONCURRENCY = 10;

const s3Configured = Boolean(process.env["S3_ENDPOINT"]);
const inCi = Boolean(process.env["CI"]);
if (!s3Configured && inCi) {
  describe("S3 configuration", () => {
    it("S3 must be configured in CI", () => {
      throw new Error("S3 is not configured in CI: S3_ENDPOINT missing (run under scripts/s3/with-s3.sh)");
    });
  });
} else if (!s3Configured) {
  console.log("[s3] S3_ENDPOINT not set: skipping the namespace-engine S3 suites (run them with scripts/s3/with-s3.sh)");
}

const RUN = `skerry-tests/namespace-engine/${Date.now().toString(36)}-${randomUUID().slice(0, 8)}`;
const s3Clients: S3Storage[] = [];
function s3(prefix: string): S3Storage {
  const storage = S3Storage.fromEnv(process.env, { prefix: `${RUN}/${prefix}` });
  s3Clients.push(storage);
  return storage;
}
afterAll(async () => {
  for (const client of s3Clients) {
    const keys: string[] = [];
    for await (const meta of client.list("")) keys.push(meta.key);
    await Promise.all(keys.map((key) => client.delete(key)));
    client.close();
  }
});

type Ack = { id: string; version: number };

function spawnWriter(args: string[]) {
  const child = fork(WORKER, args, {
    execArgv: ["--conditions=@skerry/source", "--import", "tsx"],
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  let out = "";
  let err = "";
  child.stdout?.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (err += chunk.toString()));
  const ready = new Promise<void>((resolve) => child.once("message", () => resolve()));
  const done = new Promise<{ acked: Ack[] }>((resolve, reject) => {
    child.on("exit", (code, signal) => {
      if (code === 0) resolve(JSON.parse(out) as { acked: Ack[] });
      else reject(new Error(`writer ${args.join(" ")} exited ${code ?? signal}: ${err}`));
    });
  });
  return { child, ready, done };
}

/** `carried`: every writer carries its batches in its manifests (the default); `mixed`: half store them as objects. */
type WriterMode = "carried" | "mixed";

async function runWriters(location: string, backend: "local-fs" | "s3", storage: StorageProvider, mode: WriterMode = "carried"): Promise<void> {
  const engine = new NamespaceEngine({ storage });
  await engine.createNamespace(NS);
  const writers = Array.from({ length: PROCESSES }, (_, w) =>
    spawnWriter([location, backend, String(w), String(WRITES), String(CONCURRENCY), mode === "mixed" && w % 2 === 1 ? "stored" : "carried"]),
  );
  await Promise.all(writers.map((w) => w.ready));
  const started = performance.now();
  for (const w of writers) w.child.send("go");
  const acked = (await Promise.all(writers.map((w) => w.done))).flatMap((r) => r.acked);
  const seconds = (performance.now() - started) / 1000;
  expect(acked).toHaveLength(PROCESSES * WRITES);

  const docs = await engine.documents(NS);
  const byId = new Map(docs.map((d) => [d.id, d]));
  for (const { id } of acked) expect(byId.has(id), id).toBe(true);
  expect(docs).toHaveLength(PROCESSES * WRITES);

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
    `[multi-process ${backend} ${mode}] ${PROCESSES} processes x ${WRITES} writes: ${latest - 1} commits in ${seconds.toFixed(1)} s (${Math.round(
      acked.length / seconds,
    )} writes/s)`,
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

describe.skipIf(!s3Configured)("NamespaceEngine on the real S3 server", () => {
  it("many writer processes never lose an acknowledged write, and versions increase strictly", async () => {
    await runWriters(`${RUN}/multi`, "s3", s3("multi"));
  });

  it("many writer processes, half storing their batches as objects, never lose an acknowledged write", async () => {
    await runWriters(`${RUN}/multi-mixed`, "s3", s3("multi-mixed"), "mixed");
  });

  it("writes, reads, dedupes and deletes through S3", async () => {
    const storage = s3("basic");
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
