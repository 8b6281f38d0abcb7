/**
 * Batch writes with per-document conditions (`engine.write`): conditions evaluated inside the commit against the
 * version it lands on, mixed kinds in one commit, `$ref_new`, races between engines, and faults around the commit.
 */
import { describe, expect, it } from "vitest";
import { FaultInjectingStorage, MemoryStorage } from "@skerry/storage-providers";
import { isInvalidArgument, isVersionConflict, type NamespaceEngine } from "@skerry/namespace-engine";
import { errorOf, makeEngine } from "./support/harness.ts";

const NS = "acme/search/docs";

async function fresh(options: Parameters<typeof makeEngine>[1] = {}) {
  const storage = new MemoryStorage();
  const engine = makeEngine(storage, options);
  await engine.createNamespace(NS);
  return { storage, engine };
}

async function attrs(engine: NamespaceEngine): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const d of await engine.documents(NS)) out[d.id] = d.attributes ?? {};
  return out;
}

const NEWER = ["Or", [["version", "Lt", { $ref_new: "version" }], ["Not", ["version", "Exists"]]]];

describe("engine.write: per-document conditions", () => {
  it("upserts an existing document only when its condition holds ($ref_new: the new document), a missing one always", async () => {
    const { engine } = await fresh();
    await engine.upsert(NS, [
      { id: "a", attributes: { version: 1, v: "old" } },
      { id: "b", attributes: { version: 5, v: "old" } },
      { id: "c", attributes: { v: "unversioned" } },
    ]);
    const result = await engine.write(NS, {
      upserts: [
        { id: "a", attributes: { version: 2, v: "new" } },
        { id: "b", attributes: { version: 3, v: "new" } },
        { id: "c", attributes: { version: 1, v: "new" } },
        { id: "d", attributes: { version: 0, v: "new" } },
      ],
      // Would fail on a missing document ("d" has no version > 0 now): a missing document is upserted regardless.
      upsertCondition: ["And", [NEWER, ["v", "NotEq", "never"]]],
    });
    expect(result).toEqual({ version: 3, count: 3, deduplicated: false, upserted: ["a", "c", "d"], patched: [], deleted: [] });
    expect(await attrs(engine)).toEqual({
      a: { version: 2, v: "new" },
      b: { version: 5, v: "old" },
      c: { version: 1, v: "new" },
      d: { version: 0, v: "new" },
    });
  });

  it("token filters in a condition tokenize under the namespace's full-text options", async () => {
    const storage = new MemoryStorage();
    const engine = makeEngine(storage);
    await engine.createNamespace(NS, { textFields: { body: { stemming: true } } });
    await engine.upsert(NS, [
      { id: "a", text: { body: "running shoes" } },
      { id: "b", text: { body: "walking boots" } },
    ]);
    // "runs" matches "running" only under the field's stemming.
    const result = await engine.write(NS, { deletes: ["a", "b"], deleteCondition: ["body", "ContainsAnyToken", "runs"] });
    expect(result.deleted).toEqual(["a"]);
  });

  it("skips patches and deletes of missing documents and of documents failing their condition", async () => {
    const { engine } = await fresh();
    await engine.upsert(NS, [
      { id: "a", attributes: { n: 1 } },
      { id: "b", attributes: { n: 5 } },
    ]);
    const patched = await engine.write(NS, {
      patches: [
        { id: "a", attributes: { tag: "x" } },
        { id: "b", attributes: { tag: "x" } },
        { id: "zz", attributes: { tag: "x" } },
      ],
      patchCondition: ["n", "Gte", 3],
    });
    expect(patched).toMatchObject({ count: 1, patched: ["b"], upserted: [], deleted: [] });
    // $ref_new in a patch condition: the patched document (here its n, unchanged by the patch).
    const bumped = await engine.write(NS, { patches: [{ id: "a", attributes: { m: 2 } }], patchCondition: ["n", "Eq", { $ref_new: "n" }] });
    expect(bumped.patched).toEqual(["a"]);
    const deleted = await engine.write(NS, { deletes: ["a", "b", "zz"], deleteCondition: ["tag", "Eq", "x"] });
    expect(deleted).toMatchObject({ count: 1, deleted: ["b"] });
    expect(await attrs(engine)).toEqual({ a: { n: 1, m: 2 } });
    // A delete has no new document: its references are null.
    const none = await engine.write(NS, { deletes: ["a"], deleteCondition: ["n", "Eq", { $ref_new: "n" }] });
    expect(none).toMatchObject({ count: 0, deleted: [] });
    const byNull = await engine.write(NS, { deletes: ["a"], deleteCondition: ["gone", "Eq", { $ref_new: "n" }] });
    expect(byNull).toMatchObject({ count: 1, deleted: ["a"] });
  });

  it("commits upserts, patches and deletes of one batch as ONE version, logging only the operations that apply", async () => {
    const { engine } = await fresh();
    await engine.upsert(NS, [
      { id: "a", attributes: { n: 1 } },
      { id: "b", attributes: { n: 2 } },
    ]);
    const before = await engine.manifest(NS);
    const result = await engine.write(NS, {
      upserts: [
        { id: "c", attributes: { n: 3 } },
        { id: "a", attributes: { n: 10 } },
      ],
      // A patch sees the batch's own upserts; a delete sees its patches.
      patches: [
        { id: "c", attributes: { seen: true } },
        { id: "b", attributes: { seen: true } },
      ],
      deletes: ["b", "a"],
      upsertCondition: ["n", "Lt", { $ref_new: "n" }],
      patchCondition: ["n", "Gte", 2],
      deleteCondition: ["seen", "Eq", true],
    });
    expect(result).toEqual({ version: before.version + 1, count: 5, deduplicated: false, upserted: ["c", "a"], patched: ["c", "b"], deleted: ["b"] });
    const after = await engine.manifest(NS);
    expect(after.version).toBe(before.version + 1);
    expect(after.containers).toHaveLength(before.containers.length + 1);
    expect(after.containers.at(-1)?.rowCount).toBe(5); // upsert c, upsert a, patch c, patch b, delete b
    expect(await attrs(engine)).toEqual({ a: { n: 10 }, c: { n: 3, seen: true } });
    // Replay from storage (a new process folds the log) gives the same documents.
    expect(await attrs(makeEngine(engine.storage))).toEqual({ a: { n: 10 }, c: { n: 3, seen: true } });
  });

  it("commits nothing when no operation applies, answering at the version it evaluated", async () => {
    const { engine } = await fresh();
    await engine.upsert(NS, [{ id: "a", attributes: { n: 1 } }]);
    const result = await engine.write(NS, { upserts: [{ id: "a", attributes: { n: 2 } }], deletes: ["missing"], upsertCondition: ["n", "Eq", 0] });
    expect(result).toEqual({ version: 2, count: 0, deduplicated: false, upserted: [], patched: [], deleted: [] });
    expect(await engine.listVersions(NS)).toEqual([1, 2]);
  });

  it("fixes the vector dimension only by a vector it writes", async () => {
    const { engine } = await fresh();
    await engine.upsert(NS, [{ id: "a", attributes: { n: 1 } }]);
    const result = await engine.write(NS, {
      upserts: [{ id: "a", vector: [1, 2, 3], attributes: { n: 2 } }],
      patches: [{ id: "a", attributes: { seen: true } }],
      upsertCondition: ["n", "Eq", 0],
    });
    expect(result).toMatchObject({ count: 1, upserted: [], patched: ["a"] });
    expect((await engine.manifest(NS)).vector?.dimension).toBeUndefined();
    expect(await engine.upsert(NS, [{ id: "b", vector: [1, 2, 3, 4, 5] }])).toMatchObject({ count: 1 });
    expect((await engine.manifest(NS)).vector?.dimension).toBe(5);
  });

  it("refuses bad conditions and batches with a typed error, writing nothing", async () => {
    const { engine } = await fresh();
    const bad: unknown[] = [
      { upserts: [{ id: "a" }], upsertCondition: ["n", "Glob", { $ref_new: "n" }] },
      { upserts: [{ id: "a" }], upsertCondition: ["n", "In", [1, { $ref_new: 7 }]] },
      { upserts: [{ id: "a" }], upsertCondition: ["And", [["n", "Eq", 1], ["n", "Lt", [{ $ref_new: "n" }]]]] },
      { upserts: [{ id: "a" }], upsertCondition: ["n", "Fuzzy", 1] },
      { upserts: [{ id: "a" }], upsertCondition: ["n", "Eq", { $ref_new: 3 }] },
      { upserts: [{ id: "a" }], upsertCondition: { $ref_new: "n" } },
      { upserts: [{ id: "a" }], conditions: [] },
      { upserts: [] },
      { patches: [{ id: "" }] },
    ];
    for (const batch of bad) {
      const error = await errorOf(engine.write(NS, batch as never));
      expect(isInvalidArgument(error), `${JSON.stringify(batch)}: ${String(error)}`).toBe(true);
    }
    // Errors name the reference's position.
    const nested = await errorOf(engine.write(NS, bad[2] as never));
    expect(String(nested)).toContain("upsertCondition: filters[1][1] operand 2[0]");
    expect(String(await errorOf(engine.write(NS, bad[0] as never)))).toContain("filters operand 2");
    expect(await engine.listVersions(NS)).toEqual([1]);
  });

  it("binds $ref_new elements of a list operand (In, NotIn, ContainsAny) beside the literal elements", async () => {
    const { engine } = await fresh();
    await engine.upsert(NS, [
      { id: "a", attributes: { owner: "ann", tags: ["x", "y"] } },
      { id: "b", attributes: { owner: "bob", tags: ["z"] } },
      { id: "c", attributes: { owner: "cid", tags: [] } },
    ]);
    // The upsert applies when the stored owner is "root" or one of the new document's editors / its owner.
    const result = await engine.write(NS, {
      upserts: [
        { id: "a", attributes: { owner: "ann", editors: ["bob"], n: 1 } },
        { id: "b", attributes: { owner: "eve", editors: ["ann", "cid"], n: 1 } },
        { id: "c", attributes: { owner: "eve", editors: "cid", n: 1 } },
      ],
      upsertCondition: ["owner", "In", ["root", { $ref_new: "editors" }, { $ref_new: "owner" }]],
    });
    expect(result.upserted).toEqual(["a", "c"]);
    const guarded = await engine.write(NS, {
      patches: [
        { id: "a", attributes: { want: "x" } },
        { id: "b", attributes: { want: "x" } },
      ],
      patchCondition: ["And", [["tags", "ContainsAny", [{ $ref_new: "want" }, "q"]], ["owner", "NotIn", [{ $ref_new: "missing" }, "nobody"]]]],
    });
    expect(guarded.patched).toEqual([]); // a's tags were replaced by the upsert; b has no x
    await engine.upsert(NS, [{ id: "d", attributes: { owner: "dan", tags: ["x"] } }]);
    const tagged = await engine.write(NS, { patches: [{ id: "d", attributes: { want: "x" } }], patchCondition: ["tags", "ContainsAny", [{ $ref_new: "want" }]] });
    expect(tagged.patched).toEqual(["d"]);
    // A delete has no new document: its element references add nothing.
    const deleted = await engine.write(NS, { deletes: ["a", "d"], deleteCondition: ["owner", "In", [{ $ref_new: "owner" }, "dan"]] });
    expect(deleted.deleted).toEqual(["d"]);
  });

  it("keeps ifVersion and idempotency keys (a deduplicated batch reports no ids)", async () => {
    const { engine } = await fresh();
    const first = await engine.write(NS, { upserts: [{ id: "a" }] }, { idempotencyKey: "k", ifVersion: 1 });
    expect(first).toMatchObject({ version: 2, upserted: ["a"] });
    expect(await engine.write(NS, { upserts: [{ id: "a" }] }, { idempotencyKey: "k" })).toEqual({
      version: 2,
      count: 1,
      deduplicated: true,
      upserted: [],
      patched: [],
      deleted: [],
    });
    expect(isVersionConflict(await errorOf(engine.write(NS, { deletes: ["a"] }, { ifVersion: 1 })))).toBe(true);
  });

  it("evaluates against the writes committed before it in the same group", async () => {
    const { engine } = await fresh();
    await engine.upsert(NS, [{ id: "c", attributes: { n: 0 } }]);
    // Issued in one turn: one group, evaluated in order. Only the first compare-and-set on n = 0 applies.
    const results = await Promise.all([
      engine.upsert(NS, [{ id: "x", attributes: { n: 7 } }]),
      ...Array.from({ length: 5 }, (_, i) =>
        engine.write(NS, { upserts: [{ id: "c", attributes: { n: 1, by: i } }], upsertCondition: ["n", "Eq", 0] }),
      ),
      engine.write(NS, { patches: [{ id: "x", attributes: { seen: true } }], patchCondition: ["n", "Eq", 7] }),
    ]);
    const batches = results.slice(1, 6) as { count: number }[];
    expect(batches.map((r) => r.count)).toEqual([1, 0, 0, 0, 0]);
    expect(results[6]).toMatchObject({ patched: ["x"] });
    expect(new Set(results.map((r) => r.version)).size).toBe(1);
    expect(await attrs(engine)).toEqual({ c: { n: 1, by: 0 }, x: { n: 7, seen: true } });
  });
});

describe("engine.write: concurrency", () => {
  it("evaluates against the latest version, not a stale cached one", async () => {
    const { storage, engine } = await fresh();
    await engine.upsert(NS, [{ id: "c", attributes: { n: 0 } }]);
    const other = makeEngine(storage);
    await other.upsert(NS, [{ id: "c", attributes: { n: 1 } }]);
    // `engine` caches version 2 (n = 0). A condition true only at the latest applies...
    expect(await engine.write(NS, { upserts: [{ id: "c", attributes: { n: 2 } }], upsertCondition: ["n", "Eq", 1] })).toMatchObject({
      version: 4,
      count: 1,
    });
    await other.upsert(NS, [{ id: "c", attributes: { n: 3 } }]);
    // ...and one true only at the stale version does not (its commit loses the race, the rebase re-evaluates).
    expect(await engine.write(NS, { upserts: [{ id: "c", attributes: { n: 99 } }], upsertCondition: ["n", "Eq", 2] })).toMatchObject({
      version: 5,
      count: 0,
    });
    expect(await attrs(makeEngine(storage))).toEqual({ c: { n: 3 } });
  });

  it("loses no update when engines race compare-and-set increments on one document", async () => {
    const storage = new MemoryStorage();
    await makeEngine(storage).createNamespace(NS);
    await makeEngine(storage).upsert(NS, [{ id: "counter", attributes: { n: 0 } }]);
    const engines = Array.from({ length: 3 }, () => makeEngine(storage, { maxCommitAttempts: 1000 }));
    const perEngine = 8;
    const won: number[] = [0, 0, 0];
    let attempts = 0;
    await Promise.all(
      engines.map(async (engine, e) => {
        while ((won[e] as number) < perEngine) {
          attempts++;
          const [doc] = await engine.get(NS, ["counter"]);
          const n = doc?.attributes?.["n"] as number;
          const result = await engine.write(NS, { upserts: [{ id: "counter", attributes: { n: n + 1, by: e } }], upsertCondition: ["n", "Eq", n] });
          if (result.count === 1) won[e] = (won[e] as number) + 1;
          else expect(result.upserted).toEqual([]);
        }
      }),
    );
    const [doc] = await makeEngine(storage).get(NS, ["counter"]);
    expect(doc?.attributes?.["n"]).toBe(3 * perEngine);
    expect(attempts).toBeGreaterThanOrEqual(3 * perEngine);
  });

  it("applies a version-counter update exactly once among concurrent writers (only one sees the old version)", async () => {
    const storage = new MemoryStorage();
    await makeEngine(storage).createNamespace(NS);
    await makeEngine(storage).upsert(NS, [{ id: "doc", attributes: { version: 1, body: "v1" } }]);
    const writers = Array.from({ length: 4 }, (_, i) => makeEngine(storage, { maxCommitAttempts: 1000 }).write(NS, {
      upserts: [{ id: "doc", attributes: { version: 2, body: `writer ${i}` } }],
      upsertCondition: ["version", "Lt", { $ref_new: "version" }],
    }));
    const results = await Promise.all(writers);
    expect(results.filter((r) => r.count === 1)).toHaveLength(1);
    const winner = results.findIndex((r) => r.count === 1);
    expect((await makeEngine(storage).get(NS, ["doc"]))[0]?.attributes).toEqual({ version: 2, body: `writer ${winner}` });
  });
});

describe("engine.write: faults around the commit", () => {
  const isManifestPut = (call: { op: string; key: string }) => call.op === "put" && call.key.includes("/manifests/");

  async function faultySetup() {
    const inner = new MemoryStorage();
    await makeEngine(inner).createNamespace(NS);
    await makeEngine(inner).upsert(NS, [{ id: "c", attributes: { n: 0 } }]);
    const faulty = new FaultInjectingStorage(inner);
    return { inner, faulty, engine: makeEngine(faulty) };
  }
  const cas = (engine: NamespaceEngine, from: number) =>
    engine.write(NS, { upserts: [{ id: "c", attributes: { n: from + 1 } }], patches: [{ id: "c", attributes: { by: from } }], upsertCondition: ["n", "Eq", from] });

  it("a crash before the manifest lands applies nothing; the retry applies once", async () => {
    const { inner, faulty, engine } = await faultySetup();
    faulty.failWhen(isManifestPut, { when: "before", crash: true });
    await errorOf(cas(engine, 0));
    faulty.revive();
    const restarted = makeEngine(inner);
    expect(await attrs(restarted)).toEqual({ c: { n: 0 } });
    expect(await cas(restarted, 0)).toMatchObject({ count: 2, upserted: ["c"], patched: ["c"] });
    expect(await attrs(makeEngine(inner))).toEqual({ c: { n: 1, by: 0 } });
  });

  it("a crash after the manifest lands leaves the write applied once; re-sending it finds its condition false", async () => {
    const { inner, faulty, engine } = await faultySetup();
    faulty.failWhen(isManifestPut, { when: "after", crash: true });
    await errorOf(cas(engine, 0));
    faulty.revive();
    const restarted = makeEngine(inner);
    expect(await attrs(restarted)).toEqual({ c: { n: 1, by: 0 } });
    expect(await cas(restarted, 0)).toMatchObject({ count: 1, upserted: [], patched: ["c"] });
    expect((await attrs(makeEngine(inner)))["c"]).toMatchObject({ n: 1 });
  });

  it("a lost answer for a manifest that landed reports the write's own outcome, not a re-evaluation over itself", async () => {
    const { inner, faulty, engine } = await faultySetup();
    faulty.failWhen(isManifestPut, { when: "after", times: 1 });
    expect(await cas(engine, 0)).toMatchObject({ version: 3, count: 2, upserted: ["c"], patched: ["c"] });
    expect(await engine.listVersions(NS)).toEqual([1, 2, 3]);
    expect(await attrs(makeEngine(inner))).toEqual({ c: { n: 1, by: 0 } });
  });
});
