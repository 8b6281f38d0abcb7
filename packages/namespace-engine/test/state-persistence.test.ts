/**
 * Local persistence of materialized state (engine option `stateDir`): a
 * restarted engine warms from the framed-log file plus the containers
 * committed since; torn tails are cut, corrupt / stale / foreign files are
 * discarded and rebuilt from storage, never trusted.
 */
import { mkdtemp, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FaultInjectingStorage, MemoryStorage, type StorageProvider } from "@skerry/storage-providers";
import type { NamespaceEngine, NamespaceEngineOptions, StoredDocument } from "@skerry/namespace-engine";
import { makeEngine } from "./support/harness.ts";

const docs = (n: number, prefix: string) =>
  Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, vector: [i, 1, 2, 3], text: { body: `doc ${prefix}${i}` }, attributes: { i, prefix } }));

let dir: string;
let opened: NamespaceEngine[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "skerry-state-"));
});
afterEach(async () => {
  for (const engine of opened) await engine.close(); // background writes land before the directory goes
  opened = [];
  await rm(dir, { recursive: true, force: true });
});

/** An engine persisting states in `dir`. */
function stateEngine(storage: StorageProvider, options: Partial<NamespaceEngineOptions> = {}): NamespaceEngine {
  const engine = makeEngine(storage, { stateDir: dir, ...options });
  opened.push(engine);
  return engine;
}

const fileOf = (path: string) => {
  const [org, project, namespace] = path.split("/") as [string, string, string];
  return join(dir, org, project, `${namespace}.skstate`);
};
const exists = (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  );
const gets = (storage: FaultInjectingStorage) => storage.calls.filter((c) => c.op === "get").length;

/** Documents as plain values (Float32Arrays to arrays) for equality. */
const plain = (list: StoredDocument[]) =>
  list.map((d) => ({ ...d, vector: d.vector === undefined ? undefined : [...d.vector] }));

async function reference(inner: MemoryStorage, path: string) {
  return plain(await makeEngine(inner).documents(path));
}

async function seed(inner: MemoryStorage, path: string, batches: number): Promise<NamespaceEngine> {
  const writer = makeEngine(inner, { compaction: { auto: false } }); // the tests count containers folded
  await writer.createNamespace(path);
  for (let b = 0; b < batches; b++) await writer.upsert(path, docs(25, `b${b}-`));
  return writer;
}

describe("state persistence", () => {
  it("a restarted engine warms a pinned namespace from its file with far fewer GETs than a cold build, identical documents", async () => {
    const inner = new MemoryStorage();
    const path = "acme/s/hot";
    const writer = await seed(inner, path, 40);
    await writer.delete(path, ["b0-1", "b3-4"]);
    await writer.patch(path, [{ id: "b1-2", attributes: { i: null, patched: true } }]);

    const first = stateEngine(inner);
    expect(await first.pin(path)).toMatchObject({ version: 43, docCount: 998 });
    await writer.upsert(path, docs(5, "late-")); // advances the pinned state incrementally on the next read
    await first.documents(path);
    await first.close();
    expect(first.stats().statePersistence).toMatchObject({ snapshotsWritten: 1, incrementsAppended: 1 });

    await writer.upsert(path, docs(5, "after-restart-")); // committed while no reader ran

    const counted = new FaultInjectingStorage(inner);
    const restarted = stateEngine(counted);
    const report = await restarted.start();
    expect(report.warmed).toEqual([expect.objectContaining({ path, version: 45, docCount: 1008 })]);
    const warmGets = gets(counted);
    expect(restarted.stats().statePersistence).toMatchObject({ restored: 1, discarded: 0 });
    expect(restarted.stats().containersFolded).toBe(1); // only the container committed after the file's version

    const cold = new FaultInjectingStorage(inner);
    const coldEngine = makeEngine(cold);
    await coldEngine.start();
    const coldGets = gets(cold);
    expect(coldEngine.stats().containersFolded).toBe(44);
    expect(coldGets).toBeGreaterThanOrEqual(44);
    console.log(`state persistence: warm from file ${warmGets} GETs, cold build ${coldGets} GETs`);
    expect(warmGets).toBeLessThanOrEqual(5); // pins, latest manifest, the file's manifest version, one new container
    expect(warmGets * 8).toBeLessThan(coldGets);

    expect(plain(await restarted.documents(path))).toEqual(await reference(inner, path));
    expect(plain(await coldEngine.documents(path))).toEqual(plain(await restarted.documents(path)));
  });

  it("a torn tail is cut off at the last complete increment; the file stays appendable", async () => {
    const inner = new MemoryStorage();
    const path = "acme/s/torn";
    const writer = await seed(inner, path, 3);
    const first = stateEngine(inner);
    await first.pin(path);
    for (let i = 0; i < 3; i++) {
      await writer.upsert(path, docs(3, `inc${i}-`));
      await first.documents(path);
    }
    await first.close();
    expect(first.stats().statePersistence).toMatchObject({ snapshotsWritten: 1, incrementsAppended: 3 });
    const file = fileOf(path);
    const size = (await stat(file)).size;
    await truncate(file, size - 7); // a crash mid-append

    const restarted = stateEngine(inner);
    await restarted.start();
    expect(restarted.stats().statePersistence).toMatchObject({ restored: 1, tornTails: 1, discarded: 0 });
    expect(restarted.stats().containersFolded).toBe(1); // the torn increment's container, from storage
    expect(plain(await restarted.documents(path))).toEqual(await reference(inner, path));
    await writer.upsert(path, docs(2, "more-"));
    await restarted.documents(path);
    await restarted.close();

    const again = stateEngine(inner);
    await again.start();
    expect(again.stats().statePersistence).toMatchObject({ restored: 1, tornTails: 0, discarded: 0 });
    expect(again.stats().containersFolded).toBe(0);
    expect(plain(await again.documents(path))).toEqual(await reference(inner, path));
  });

  it("a corrupt file (flipped byte, garbage header) is discarded and rebuilt from storage", async () => {
    const inner = new MemoryStorage();
    const path = "acme/s/corrupt";
    await seed(inner, path, 4);
    const first = stateEngine(inner);
    await first.pin(path);
    await first.close();
    const file = fileOf(path);
    const bytes = await readFile(file);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = (bytes[middle] as number) ^ 0x40; // inside the snapshot: its CRC fails, the snapshot is incomplete
    await writeFile(file, bytes);

    const restarted = stateEngine(inner);
    await restarted.start();
    expect(restarted.stats().statePersistence).toMatchObject({ restored: 0, discarded: 1, lastDiscardReason: "snapshot incomplete" });
    expect(restarted.stats().containersFolded).toBe(4);
    expect(plain(await restarted.documents(path))).toEqual(await reference(inner, path));
    await restarted.close(); // the rebuild wrote a fresh snapshot
    const again = stateEngine(inner);
    await again.start();
    expect(again.stats().statePersistence).toMatchObject({ restored: 1, discarded: 0 });

    await writeFile(file, new TextEncoder().encode("not a framed log at all"));
    const third = stateEngine(inner);
    await third.start();
    expect(third.stats().statePersistence?.discarded).toBe(1);
    expect(third.stats().statePersistence?.lastDiscardReason).toMatch(/not a framed log/);
    expect(plain(await third.documents(path))).toEqual(await reference(inner, path));
  });

  it("a file whose version was garbage collected is discarded (stale), the state rebuilt", async () => {
    const inner = new MemoryStorage();
    const path = "acme/s/stale";
    const writer = await seed(inner, path, 3);
    const first = stateEngine(inner);
    await first.pin(path);
    await first.close();
    for (let i = 0; i < 3; i++) await writer.upsert(path, docs(2, `x${i}-`));
    const gc = await writer.collectGarbage(path, { retention: { keepVersions: 1, keepForMs: 0 } });
    expect(gc.versionsDeleted).toBeGreaterThan(0);

    const restarted = stateEngine(inner);
    await restarted.start();
    expect(restarted.stats().statePersistence).toMatchObject({ restored: 0, discarded: 1 });
    expect(restarted.stats().statePersistence?.lastDiscardReason).toMatch(/no longer retained/);
    expect(plain(await restarted.documents(path))).toEqual(await reference(inner, path));
  });

  it("deleting a namespace removes its file; a re-created namespace of the same name never reuses an old file", async () => {
    const inner = new MemoryStorage();
    const path = "acme/s/again";
    await seed(inner, path, 2);
    const first = stateEngine(inner);
    await first.pin(path);
    await first.close();
    expect(await exists(fileOf(path))).toBe(true);
    await first.deleteNamespace(path);
    await first.close();
    expect(await exists(fileOf(path))).toBe(false);

    // Another engine deletes and re-creates the name while this directory holds a file of the old incarnation.
    const writer = await seed(inner, path, 2);
    const second = stateEngine(inner);
    await second.pin(path);
    await second.close();
    await writer.deleteNamespace(path);
    await writer.createNamespace(path);
    await writer.upsert(path, docs(3, "new-"));
    await writer.upsert(path, docs(3, "newer-"));

    const restarted = stateEngine(inner);
    const report = await restarted.start();
    expect(report.warmed).toEqual([expect.objectContaining({ path, docCount: 6 })]);
    expect(restarted.stats().statePersistence).toMatchObject({ restored: 0, discarded: 1 });
    expect(restarted.stats().statePersistence?.lastDiscardReason).toMatch(/incarnation/);
    expect((await restarted.documents(path)).map((d) => d.id)).toEqual(["new-0", "new-1", "new-2", "newer-0", "newer-1", "newer-2"]);
  });

  it("a branch and its source have distinct files, each restored to its own documents", async () => {
    const inner = new MemoryStorage();
    const source = "acme/s/source";
    const branch = "acme/s/branch";
    const writer = await seed(inner, source, 3);
    await writer.branchNamespace(source, branch);
    await writer.upsert(source, docs(2, "only-source-"));
    await writer.delete(branch, ["b0-0"]);
    await writer.upsert(branch, docs(2, "only-branch-"));
    const first = stateEngine(inner);
    await first.pin(source);
    await first.pin(branch);
    await first.close();
    expect(fileOf(source)).not.toBe(fileOf(branch));
    expect(await exists(fileOf(source))).toBe(true);
    expect(await exists(fileOf(branch))).toBe(true);

    const restarted = stateEngine(inner);
    const report = await restarted.start();
    expect(report.warmed.map((w) => [w.path, w.docCount])).toEqual([
      [branch, 76],
      [source, 77],
    ]);
    expect(restarted.stats().statePersistence).toMatchObject({ restored: 2, discarded: 0 });
    expect(restarted.stats().containersFolded).toBe(0);
    expect(plain(await restarted.documents(source))).toEqual(await reference(inner, source));
    expect(plain(await restarted.documents(branch))).toEqual(await reference(inner, branch));
  });

  it("restores tombstoned and replaced rows (locateRows) after predicate mutations and compaction", async () => {
    const inner = new MemoryStorage();
    const path = "acme/s/mutated";
    const writer = await seed(inner, path, 4);
    const before = await writer.withState(path, {}, (state) => state.rowsInIdOrder().map((r) => r.rowId));
    const first = stateEngine(inner);
    await first.pin(path);
    await writer.deleteByFilter(path, ["prefix", "Eq", "b1-"]);
    await writer.patchByFilter(path, ["prefix", "Eq", "b2-"], { attributes: { reviewed: true } });
    await first.documents(path);
    await writer.upsert(path, docs(4, "tail-"));
    await first.documents(path);
    await first.close();

    const restarted = stateEngine(inner);
    await restarted.start();
    expect(restarted.stats().statePersistence).toMatchObject({ restored: 1, discarded: 0 });
    expect(restarted.stats().containersFolded).toBe(0);
    const located = (engine: NamespaceEngine) =>
      engine.withState(path, {}, (state) => {
        const all = [...before, ...state.rowsInIdOrder().map((r) => r.rowId)];
        return [...state.locateRows(all).entries()].sort(([a], [b]) => (a < b ? -1 : 1));
      });
    const expected = await located(makeEngine(inner));
    expect(expected.length).toBeGreaterThan(100);
    expect(await located(restarted)).toEqual(expected);
    expect(plain(await restarted.documents(path))).toEqual(await reference(inner, path));

    await writer.compact(path, { force: true });
    await restarted.documents(path); // a compaction replaces containers: full fold, new snapshot
    await restarted.close();
    const third = stateEngine(inner);
    await third.start();
    expect(third.stats().statePersistence).toMatchObject({ restored: 1, discarded: 0 });
    expect(await located(third)).toEqual(await located(makeEngine(inner)));
  });

  it("rewrites the snapshot every `stateSnapshotEvery` increments; unpinned warmed namespaces restore on a cache miss", async () => {
    const inner = new MemoryStorage();
    const path = "acme/s/rewrite";
    const writer = await seed(inner, path, 2);
    const first = stateEngine(inner, { stateSnapshotEvery: 2 });
    await first.warm(path);
    for (let i = 0; i < 5; i++) {
      await writer.upsert(path, docs(1, `r${i}-`));
      await first.documents(path);
    }
    await first.close();
    // snapshot, +1, +1, snapshot, +1, +1
    expect(first.stats().statePersistence).toMatchObject({ snapshotsWritten: 2, incrementsAppended: 4 });

    const restarted = stateEngine(inner);
    expect(plain(await restarted.documents(path))).toEqual(await reference(inner, path));
    expect(restarted.stats().statePersistence).toMatchObject({ restored: 1 });
    expect(restarted.stats().containersFolded).toBe(0);
  });
});
