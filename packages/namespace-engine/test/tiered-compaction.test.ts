/**
 * Tiered (incremental) compaction: the tail folds into a new segment, runs
 * of similar-sized segments merge, deletes of documents in older segments
 * survive as delete markers. Reads (documents, get, docCount, query) stay
 * equal to a naive model across many compactions with upserts, patches,
 * deletes, predicate mutations and branches; refcounts stay exact.
 */
import { describe, expect, it } from "vitest";
import { MemoryStorage, type StorageProvider } from "@skerry/storage-providers";
import type { CompactionSettings, NamespaceEngine, StoredDocument } from "@skerry/namespace-engine";
import { makeEngine, memoryEngine } from "./support/harness.ts";
import { checkAgainstReference } from "./namespace-query-reference.ts";
import { expectExactCounts, expectNoMissingObjects } from "./support/references.ts";
import { seededRandom } from "../../query/test/support/reference.ts";
import { decodeCompactionIntent, decodeTombstoneSidecar } from "@skerry/wal-format";

const NS = "acme/tiered/docs";
const BR = "acme/tiered/branch";

const TIERED: Partial<CompactionSettings> = {
  auto: false, // the tests compact explicitly (one test turns the background trigger back on)
  policy: "tiered",
  maxLogBatches: 3,
  mergeFactor: 3,
  tierBaseBytes: 4096,
};

type Model = Map<string, { n: number; attributes: Record<string, unknown> }>;

function view(docs: readonly StoredDocument[]): string[] {
  return docs.map((d) => `${d.id}:${JSON.stringify(d.attributes ?? {})}:${d.vector === undefined ? "-" : Array.from(d.vector).join(",")}`);
}

function modelView(model: Model): string[] {
  return [...model.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([id, d]) => `${id}:${JSON.stringify(d.attributes)}:${d.n},1`);
}

/** One random step on `path` and its model (the ids are drawn from a fixed pool, so old ones are rewritten and deleted). */
async function step(engine: NamespaceEngine, path: string, model: Model, random: () => number, n: number): Promise<void> {
  const pick = () => `d${String(Math.floor(random() * 60)).padStart(3, "0")}`;
  const live = () => [...model.keys()];
  const r = random();
  if (r < 0.45 || model.size < 5) {
    const ids = [...new Set(Array.from({ length: 1 + Math.floor(random() * 5) }, pick))];
    await engine.upsert(
      path,
      ids.map((id) => ({ id, vector: [n, 1], attributes: { n, g: n % 3 } })),
    );
    for (const id of ids) model.set(id, { n, attributes: { n, g: n % 3 } });
  } else if (r < 0.65) {
    const ids = [...new Set(Array.from({ length: 1 + Math.floor(random() * 3) }, () => live()[Math.floor(random() * model.size)] as string))];
    await engine.patch(path, ids.map((id) => ({ id, attributes: { p: n } })));
    for (const id of ids) {
      const d = model.get(id) as { n: number; attributes: Record<string, unknown> };
      model.set(id, { n: d.n, attributes: { ...d.attributes, p: n } });
    }
  } else if (r < 0.85) {
    const ids = [...new Set(Array.from({ length: 1 + Math.floor(random() * 4) }, pick))];
    await engine.delete(path, ids);
    for (const id of ids) model.delete(id);
  } else if (r < 0.93) {
    const g = Math.floor(random() * 3);
    await engine.deleteByFilter(path, ["g", "Eq", g]);
    for (const [id, d] of model) if (d.attributes["g"] === g) model.delete(id);
  } else {
    const g = Math.floor(random() * 3);
    await engine.patchByFilter(path, ["g", "Eq", g], { attributes: { u: n } });
    for (const [id, d] of model) if (d.attributes["g"] === g) model.set(id, { n: d.n, attributes: { ...d.attributes, u: n } });
  }
}

/** Compacts as the policy says until nothing is due; returns the run kinds performed. */
async function compactUntilQuiet(engine: NamespaceEngine, path: string): Promise<string[]> {
  const kinds: string[] = [];
  for (let i = 0; i < 10; i++) {
    const report = await engine.compact(path);
    if (!report.performed) break;
    kinds.push(report.runKind ?? "?");
  }
  return kinds;
}

async function expectLikeModel(engine: NamespaceEngine, path: string, model: Model, label: string): Promise<void> {
  expect(view(await engine.documents(path)), label).toEqual(modelView(model));
  const probe = ["d000", "d007", "d031", "d059"];
  const got = await engine.get(path, probe);
  expect(
    got.map((d) => d?.id ?? null),
    `${label}: get`,
  ).toEqual(probe.map((id) => (model.has(id) ? id : null)));
  expect((await engine.getNamespace(path)).docCount, `${label}: docCount`).toBe(model.size);
  const result = await checkAgainstReference(engine, path, { filters: ["g", "Lt", 5], topK: 100, includeAttributes: true }, "COSINE", `${label}: filter`);
  expect(result.rows.map((r) => r.id).sort(), `${label}: query ids`).toEqual([...model.keys()].sort());
  await checkAgainstReference(engine, path, { rankBy: ["vector", "kNN", [1, 0.5]], topK: 7 }, "COSINE", `${label}: kNN`);
  await checkAgainstReference(engine, path, { aggregateBy: { count: ["Count"] } }, "COSINE", `${label}: count`);
}

/** A storage that runs `hook` once, right after the first put whose key matches. */
function hookAfterPut(inner: StorageProvider, match: (key: string) => boolean, hook: () => Promise<void>): StorageProvider {
  let fired = false;
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "put") {
        return async (key: string, bytes: Uint8Array, options?: unknown) => {
          const result = await target.put(key, bytes, options as never);
          if (!fired && match(key)) {
            fired = true;
            await hook();
          }
          return result;
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Compaction ids holding a seal on a container of the latest manifest of NS. */
async function sealHolders(storage: MemoryStorage, engine: NamespaceEngine): Promise<Set<string>> {
  const out = new Set<string>();
  for (const c of (await engine.manifest(NS)).containers) {
    const sidecar = await storage.get(`acme/tiered/ns/docs/superfiles/${c.id}.tombstones`).catch(() => undefined);
    const seal = sidecar === undefined ? undefined : decodeTombstoneSidecar(sidecar.bytes).seal;
    if (seal !== undefined) out.add(seal.compactionId);
  }
  return out;
}

async function anySealed(storage: MemoryStorage, engine: NamespaceEngine): Promise<boolean> {
  return (await sealHolders(storage, engine)).size > 0;
}

function tieredEngine(storage?: MemoryStorage) {
  const options = { compaction: TIERED, retention: { keepVersions: 2, keepForMs: 0 } };
  if (storage !== undefined) return { storage, engine: makeEngine(storage, options) };
  return memoryEngine(options);
}

describe("tiered compaction", () => {
  it("folds the tail, merges segments and keeps deletes of older documents (markers), equal to a model throughout", async () => {
    const { storage, engine } = tieredEngine();
    await engine.createNamespace(NS);
    const model: Model = new Map();
    const random = seededRandom(7);
    const kinds = new Set<string>();
    let markers = 0;
    let segmentsAtOnce = 0;
    for (let n = 1; n <= 120; n++) {
      await step(engine, NS, model, random, n);
      for (const kind of await compactUntilQuiet(engine, NS)) kinds.add(kind);
      const manifest = await engine.manifest(NS);
      for (const c of manifest.containers) markers = Math.max(markers, ((c.extra?.["deleted_ids"] as unknown[]) ?? []).length);
      segmentsAtOnce = Math.max(segmentsAtOnce, manifest.containers.filter((c) => c.kind === "SEGMENT").length);
      if (n % 10 === 0) await expectLikeModel(engine, NS, model, `step ${n}`);
    }
    expect([...kinds].sort()).toEqual(["merge", "tail"]);
    expect(markers).toBeGreaterThan(0);
    expect(segmentsAtOnce).toBeGreaterThan(2);
    await expectLikeModel(engine, NS, model, "end");
    await expectLikeModel(makeEngine(storage), NS, model, "fresh engine");
    // A full fold drops every marker and leaves one segment with the same reads.
    const full = await engine.compact(NS, { force: true });
    expect(full).toMatchObject({ performed: true, runKind: "full", deleteMarkers: 0 });
    expect((await engine.manifest(NS)).containers.length).toBe(1);
    await expectLikeModel(engine, NS, model, "after full");
    await engine.collectGarbage(NS);
    await expectExactCounts(engine, "acme", "tiered");
    await expectNoMissingObjects(engine, storage, "acme", "tiered");
  });

  it("a fold larger than maxSegmentBytes writes several id-ordered segments of bounded size; reads stay equal to the model", async () => {
    const { storage, engine } = memoryEngine({ compaction: { ...TIERED, maxSegmentBytes: 800 }, retention: { keepVersions: 2, keepForMs: 0 } });
    await engine.createNamespace(NS);
    const model: Model = new Map();
    const random = seededRandom(3);
    let most = 0;
    for (let n = 1; n <= 80; n++) {
      await step(engine, NS, model, random, n);
      await compactUntilQuiet(engine, NS);
      if (n % 20 === 0) {
        const report = await engine.compact(NS, { force: true });
        most = Math.max(most, report.outputSegments ?? 1);
        await expectLikeModel(engine, NS, model, `full fold at step ${n}`);
      }
    }
    expect(most).toBeGreaterThan(1);
    const report = await engine.compact(NS, { force: true });
    const segments = (await engine.manifest(NS)).containers;
    expect(segments.length).toBe(report.outputSegments ?? 1);
    // Id ranges in order, each segment within the bound (the split estimates sizes: allow some slack).
    for (const c of segments) expect(c.byteSize).toBeLessThan(4000);
    await expectLikeModel(engine, NS, model, "end");
    await expectLikeModel(makeEngine(storage), NS, model, "fresh engine");
    await engine.collectGarbage(NS);
    await expectExactCounts(engine, "acme", "tiered");
    await expectNoMissingObjects(engine, storage, "acme", "tiered");
  });

  it("a tail of only deletes of older documents folds into a segment of markers alone (0 rows), and a full fold drops it", async () => {
    const { storage, engine } = tieredEngine();
    await engine.createNamespace(NS);
    const model: Model = new Map();
    await engine.upsert(
      NS,
      Array.from({ length: 8 }, (_, i) => ({ id: `d00${i}`, vector: [i, 1], attributes: { n: i, g: i % 3 } })),
    );
    for (let i = 0; i < 8; i++) model.set(`d00${i}`, { n: i, attributes: { n: i, g: i % 3 } });
    await engine.compact(NS, { force: true });
    for (const id of ["d001", "d003", "d007"]) {
      await engine.delete(NS, [id]);
      model.delete(id);
    }
    const report = await engine.compact(NS);
    expect(report).toMatchObject({ performed: true, runKind: "tail", liveDocuments: 0, deleteMarkers: 3 });
    const [, markers] = (await engine.manifest(NS)).containers;
    expect(markers).toMatchObject({ kind: "SEGMENT", rowCount: 0, extra: { deleted_ids: ["d001", "d003", "d007"] } });
    expect(markers?.rowIdRange).toBeUndefined();
    await expectLikeModel(engine, NS, model, "markers only");
    await expectLikeModel(makeEngine(storage), NS, model, "markers only, fresh engine");
    // Writing a marked id again brings it back (newer than the marker).
    await engine.upsert(NS, [{ id: "d003", vector: [3, 1], attributes: { n: 3, g: 0 } }]);
    model.set("d003", { n: 3, attributes: { n: 3, g: 0 } });
    await expectLikeModel(engine, NS, model, "re-upserted");
    expect((await engine.compact(NS, { force: true })).deleteMarkers).toBe(0);
    await expectLikeModel(engine, NS, model, "after full");
  });

  it("a later run whose PATCH bases changed before its swap (a tombstone published on the older segment) gives up, and the next one folds afresh", async () => {
    const inner = new MemoryStorage();
    const setup = makeEngine(inner, { compaction: TIERED });
    await setup.createNamespace(NS);
    await setup.upsert(NS, [
      { id: "a", attributes: { g: 1 } },
      { id: "b", attributes: { g: 2 } },
      { id: "d", attributes: { g: 4 } },
    ]);
    await setup.compact(NS, { force: true });
    await setup.patch(NS, [{ id: "a", attributes: { p: 1 } }]);
    await setup.patch(NS, [{ id: "b", attributes: { p: 2 } }]);
    await setup.upsert(NS, [{ id: "c", attributes: { g: 3 } }]);
    const mutator = makeEngine(inner, { compaction: TIERED });
    const compactor = makeEngine(
      hookAfterPut(inner, (key) => key.endsWith(".arrow"), async () => {
        // Between the fold and the swap: a predicate delete tombstones d (in the older segment) and publishes.
        await mutator.deleteByFilter(NS, ["g", "Eq", 4]);
      }),
      { compaction: TIERED },
    );
    const first = await compactor.compact(NS);
    expect(first.performed).toBe(false);
    const docs = async () => (await makeEngine(inner).documents(NS)).map((d) => `${d.id}:${JSON.stringify(d.attributes)}`);
    expect(await docs()).toEqual(['a:{"g":1,"p":1}', 'b:{"g":2,"p":2}', 'c:{"g":3}']);
    const second = await compactor.compact(NS);
    expect(second).toMatchObject({ performed: true, runKind: "tail" });
    expect(await docs()).toEqual(['a:{"g":1,"p":1}', 'b:{"g":2,"p":2}', 'c:{"g":3}']);
    await expectNoMissingObjects(setup, inner, "acme", "tiered");
  });

  it("a compaction that loses a seal mid-run (an overlapping run holds it) releases every seal it took, none lands after", async () => {
    const inner = new MemoryStorage();
    // Four segments (one forced fold, three tail folds, no merge), then a tail of 12 log batches.
    const setup = makeEngine(inner, { compaction: { ...TIERED, mergeFactor: 10 } });
    await setup.createNamespace(NS);
    for (let s = 0; s < 4; s++) {
      for (let b = 0; b < 3; b++) await setup.upsert(NS, [{ id: `s${s}b${b}`, attributes: { g: s } }]);
      expect((await setup.compact(NS, { force: s === 0 })).performed).toBe(true);
    }
    for (let b = 0; b < 12; b++) await setup.upsert(NS, [{ id: `t${b}`, attributes: { g: 9 } }]);
    // B merges the three newest segments: it seals them and waits before writing its output.
    let releaseB: () => void = () => undefined;
    const blocked = new Promise<void>((resolve) => {
      releaseB = resolve;
    });
    const b = makeEngine(
      hookAfterPut(inner, (key) => key.endsWith(".arrow"), () => blocked),
      { compaction: { ...TIERED, maxLogBatches: 100 } },
    );
    const merging = b.compact(NS);
    for (let i = 0; i < 100 && !(await anySealed(inner, setup)); i++) await new Promise((resolve) => setTimeout(resolve, 1));
    // A folds everything: its first seal succeeds, a later one is B's; its other seals are in flight.
    const a = makeEngine(inner, { compaction: TIERED });
    expect((await setup.manifest(NS)).containers.map((c) => c.kind).slice(0, 5)).toEqual(["SEGMENT", "SEGMENT", "SEGMENT", "SEGMENT", "LOG_BATCH"]);
    const forced = await a.compact(NS, { force: true });
    expect(forced.performed).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const holders = await sealHolders(inner, setup);
    expect(holders.size, "only B holds seals").toBe(1);
    releaseB();
    expect((await merging).performed).toBe(true);
    expect((await sealHolders(inner, setup)).size).toBe(0);
    expect((await setup.compact(NS, { force: true })).performed).toBe(true);
  });

  it("branches and copies compact independently; refcounts stay exact and nothing is missing", async () => {
    const { storage, engine } = tieredEngine();
    await engine.createNamespace(NS);
    const model: Model = new Map();
    const random = seededRandom(11);
    for (let n = 1; n <= 40; n++) {
      await step(engine, NS, model, random, n);
      await compactUntilQuiet(engine, NS);
    }
    await engine.branchNamespace(NS, BR);
    await engine.copyNamespace(NS, "acme/tiered/copy");
    const branchModel: Model = new Map([...model].map(([k, v]) => [k, { n: v.n, attributes: { ...v.attributes } }]));
    const copyModel: Model = new Map([...model].map(([k, v]) => [k, { n: v.n, attributes: { ...v.attributes } }]));
    for (let n = 41; n <= 80; n++) {
      await step(engine, NS, model, random, n);
      await step(engine, BR, branchModel, random, n);
      await step(engine, "acme/tiered/copy", copyModel, random, n);
      await compactUntilQuiet(engine, NS);
      await compactUntilQuiet(engine, BR);
      await compactUntilQuiet(engine, "acme/tiered/copy");
      await engine.collectGarbage(NS);
      await engine.collectGarbage(BR);
    }
    await expectLikeModel(engine, NS, model, "source");
    await expectLikeModel(engine, BR, branchModel, "branch");
    await expectLikeModel(engine, "acme/tiered/copy", copyModel, "copy");
    await expectExactCounts(engine, "acme", "tiered");
    await expectNoMissingObjects(engine, storage, "acme", "tiered");
    await engine.deleteNamespace(NS);
    await expectLikeModel(engine, BR, branchModel, "branch after the source is deleted");
    await expectNoMissingObjects(engine, storage, "acme", "tiered");
  });

  it("overlapping compactions of two engines: one owns each container, the loser releases its seals, reads stay right", async () => {
    const { storage, engine } = tieredEngine();
    const other = tieredEngine(storage).engine;
    await engine.createNamespace(NS);
    const model: Model = new Map();
    const random = seededRandom(5);
    for (let n = 1; n <= 60; n++) {
      await step(engine, NS, model, random, n);
      const [a, b] = await Promise.all([engine.compact(NS, { force: n % 7 === 0 }), other.compact(NS)]);
      if (a.performed && b.performed) expect(a.compactionId).not.toBe(b.compactionId);
      if (n % 10 === 0) await expectLikeModel(engine, NS, model, `step ${n}`);
    }
    // Some runs overlapped: the loser settled its intent ABANDONED.
    const states: string[] = [];
    for await (const meta of storage.list("acme/tiered/ns/docs/compactions/")) states.push(decodeCompactionIntent((await storage.get(meta.key)).bytes).state);
    expect(states).toContain("ABANDONED");
    expect(states.filter((state) => state !== "ABANDONED" && state !== "COMMITTED")).toEqual([]);
    // No seal is left behind: a compaction of everything succeeds.
    await engine.upsert(NS, [{ id: "last", attributes: { g: 9 } }]);
    model.set("last", { n: 0, attributes: { g: 9 } });
    expect((await engine.compact(NS, { force: true })).performed).toBe(true);
    const docs = await engine.documents(NS);
    expect(docs.map((d) => d.id)).toEqual([...model.keys()].sort());
  });

  it("background compaction folds the tail once writes pause and keeps the segment count bounded", async () => {
    const errors: unknown[] = [];
    const { engine } = memoryEngine({ compaction: { ...TIERED, auto: true }, onBackgroundError: (error) => errors.push(error) });
    await engine.createNamespace(NS);
    for (let n = 0; n < 200; n++) {
      await engine.upsert(NS, [{ id: `x${n}`, vector: [n, 1], attributes: { n } }]);
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    // Once the writes pause, the background runs catch up (each performed run checks again).
    const logBatches = async () => (await engine.manifest(NS)).containers.filter((c) => c.kind === "LOG_BATCH").length;
    for (let i = 0; i < 500 && (await logBatches()) >= (TIERED.maxLogBatches as number); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    await engine.close();
    expect(errors).toEqual([]);
    const manifest = await engine.manifest(NS);
    const tail = manifest.containers.filter((c) => c.kind === "LOG_BATCH").length;
    expect(tail).toBeLessThan(TIERED.maxLogBatches as number);
    expect(manifest.containers.length).toBeLessThan(20);
    expect((await engine.getNamespace(NS)).docCount).toBe(200);
  });
});
