/**
 * Manifests damaged or deleted behind the engine's back, on memory, local-fs
 * and (with S3_ENDPOINT) the real S3 server:
 *
 * - one character of a key edited inside the latest manifest: every read
 *   fails with a corruption error naming the manifest key (the manifest's own
 *   body hash, wal-format envelope version 2), never a silent read;
 * - the newest manifest deleted: the namespace is not silently rolled back.
 *   Writes are refused with ManifestRollbackError (no lost version number is
 *   reused) until repair accepts the loss; then versions continue above it.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LocalFsStorage, MemoryStorage, type StorageProvider } from "@skerry/storage-providers";
import { s3TestTarget } from "@skerry/storage-providers/testing";
import { isCorrupt, isManifestRollback, manifestKey, manifestPrefix, type NamespaceEngine, namespacePath } from "@skerry/namespace-engine";
import { errorOf, makeEngine } from "./support/harness.ts";

let PROJECT = "";
let NS = "";
let PATH = namespacePath("acme", "integrity", "docs");
let tests = 0;
/** A fresh project per test (the S3 suites share one prefix; repair examines a whole project). */
function nextNamespace(): void {
  tests++;
  PROJECT = `integrity${tests}`;
  NS = `acme/${PROJECT}/docs`;
  PATH = namespacePath("acme", PROJECT, "docs");
}

const s3 = s3TestTarget("namespace-engine-manifest-integrity");
const dirs: string[] = [];
afterAll(async () => {
  await s3.cleanup();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

const providers: { name: string; skip: boolean; open: () => Promise<StorageProvider> }[] = [
  { name: "memory", skip: false, open: async () => new MemoryStorage() },
  {
    name: "local-fs",
    skip: false,
    open: async () => {
      const root = await mkdtemp(join(tmpdir(), "skerry-manifest-integrity-"));
      dirs.push(root);
      return new LocalFsStorage({ root });
    },
  },
  { name: "S3", skip: !s3.shouldRun, open: async () => s3.open() },
];

/** Stored manifest versions, newest first. */
async function storedVersions(storage: StorageProvider): Promise<number[]> {
  const out: number[] = [];
  for await (const meta of storage.list(manifestPrefix(PATH))) out.push(Number.MAX_SAFE_INTEGER - Number(meta.key.slice(-25, -5)));
  return out.sort((a, b) => b - a);
}

/** A namespace at version 3: two writes of two documents each. */
async function threeVersions(engine: NamespaceEngine): Promise<void> {
  await engine.createNamespace(NS);
  await engine.upsert(NS, [{ id: "a", attributes: { n: 1 } }, { id: "b", attributes: { n: 2 } }]);
  await engine.upsert(NS, [{ id: "c", attributes: { n: 3 } }, { id: "d", attributes: { n: 4 } }]);
}

describe.each(providers)("manifest integrity on $name", ({ skip, open }) => {
  it.skipIf(skip)("one character of a key edited inside the latest manifest: reads fail as corruption naming the manifest", async () => {
    nextNamespace();
    const storage = await open();
    const engine = makeEngine(storage);
    await threeVersions(engine);
    const key = manifestKey(PATH, 3);
    const bytes = (await storage.get(key)).bytes.slice();
    const at = Buffer.from(bytes).indexOf('"key":"') + '"key":"'.length + 5;
    expect(at).toBeGreaterThan(100);
    bytes[at] = bytes[at] === 0x61 ? 0x62 : 0x61;
    await storage.put(key, bytes);

    // (A process that already holds the verified version in memory keeps using it; every read from storage fails.)
    for (const attempt of [(e: NamespaceEngine) => e.documents(NS), (e: NamespaceEngine) => e.upsert(NS, [{ id: "e" }])]) {
      const error = await errorOf(attempt(makeEngine(storage)));
      expect(isCorrupt(error), String(error)).toBe(true);
      expect(error).toMatchObject({ key });
      expect(String((error as Error).message)).toMatch(/checksum-mismatch/);
    }
    expect(await storedVersions(storage)).toEqual([3, 2, 1]);
  });

  it.skipIf(skip)("one character of an idempotency key edited inside the latest manifest: no longer read silently", async () => {
    nextNamespace();
    const storage = await open();
    const engine = makeEngine(storage);
    await engine.createNamespace(NS);
    await engine.upsert(NS, [{ id: "a" }], { idempotencyKey: "client-key-1" });
    const key = manifestKey(PATH, 2);
    const bytes = (await storage.get(key)).bytes.slice();
    const at = Buffer.from(bytes).indexOf("client-key-1") + "client-key-".length;
    bytes[at] = "2".charCodeAt(0); // the stored write now claims another key: a retry of client-key-1 would apply twice
    await storage.put(key, bytes);
    const error = await errorOf(makeEngine(storage).upsert(NS, [{ id: "a" }], { idempotencyKey: "client-key-1" }));
    expect(isCorrupt(error), String(error)).toBe(true);
    expect(error).toMatchObject({ key });
    expect(await storedVersions(storage)).toEqual([2, 1]);
  });

  it.skipIf(skip)("newest manifest deleted, same engine: reads of the latest and writes are refused; no version number is reused", async () => {
    nextNamespace();
    const storage = await open();
    const engine = makeEngine(storage);
    await threeVersions(engine);
    await storage.delete(manifestKey(PATH, 3));

    const read = await errorOf(engine.documents(NS, { consistency: "strong" }));
    expect(isManifestRollback(read), String(read)).toBe(true);
    expect(isCorrupt(read)).toBe(true);
    expect(read).toMatchObject({ key: manifestKey(PATH, 3), latestVersion: 2, lostThroughVersion: 3 });
    const write = await errorOf(engine.upsert(NS, [{ id: "e" }]));
    expect(isManifestRollback(write), String(write)).toBe(true);
    expect(await storedVersions(storage)).toEqual([2, 1]);
    // GC refuses too (it would otherwise record the rolled-back latest as the high water).
    expect(isManifestRollback(await errorOf(engine.collectGarbage(NS)))).toBe(true);

    // Repair reports it and keeps refusing until told to accept the loss.
    const report = await engine.repair("acme", PROJECT);
    expect(report.lostVersions.filter((l) => l.namespace === NS)).toEqual([{ namespace: NS, latestVersion: 2, lostThroughVersion: 3 }]);
    expect(isManifestRollback(await errorOf(engine.upsert(NS, [{ id: "e" }])))).toBe(true);
    const accepted = await engine.repair("acme", PROJECT, { acceptLostVersions: true });
    expect(accepted.lostVersions.filter((l) => l.namespace === NS)).toEqual([{ namespace: NS, latestVersion: 2, lostThroughVersion: 3, bridgedToVersion: 4 }]);

    const after = await engine.upsert(NS, [{ id: "e" }]);
    expect(after.version).toBe(5);
    expect(await storedVersions(storage)).toEqual([5, 4, 3, 2, 1]);
    for (const reader of [engine, makeEngine(storage)]) {
      expect((await reader.documents(NS, { consistency: "strong" })).map((d) => d.id).sort()).toEqual(["a", "b", "e"]);
    }
    expect((await engine.repair("acme", PROJECT)).lostVersions.filter((l) => l.namespace === NS)).toEqual([]);
  });

  it.skipIf(skip)("newest manifest deleted, fresh engine: detected below the registry marker's high water; repair makes it writable above the loss", async () => {
    nextNamespace();
    const storage = await open();
    const engine = makeEngine(storage);
    await threeVersions(engine);
    await engine.collectGarbage(NS); // raises the registry marker's high water to 3 (GC runs after every compaction)
    await storage.delete(manifestKey(PATH, 3));

    const fresh = makeEngine(storage);
    const write = await errorOf(fresh.upsert(NS, [{ id: "e" }]));
    expect(isManifestRollback(write), String(write)).toBe(true);
    expect(write).toMatchObject({ key: manifestKey(PATH, 3), latestVersion: 2, lostThroughVersion: 3 });
    expect(await storedVersions(storage)).toEqual([2, 1]); // version 3 was not reused

    const other = makeEngine(storage);
    expect((await other.repair("acme", PROJECT)).lostVersions.filter((l) => l.namespace === NS)).toEqual([{ namespace: NS, latestVersion: 2, lostThroughVersion: 3 }]);
    expect(isManifestRollback(await errorOf(makeEngine(storage).upsert(NS, [{ id: "e" }])))).toBe(true);
    await other.repair("acme", PROJECT, { acceptLostVersions: true });
    // The engine that saw the error continues above the bridged numbers, as does a new one.
    expect((await fresh.upsert(NS, [{ id: "e" }])).version).toBe(5);
    expect((await makeEngine(storage).upsert(NS, [{ id: "f" }])).version).toBe(6);
    expect((await makeEngine(storage).documents(NS)).map((d) => d.id).sort()).toEqual(["a", "b", "e", "f"]);
  });
});
