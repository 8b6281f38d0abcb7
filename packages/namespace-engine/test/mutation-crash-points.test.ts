/**
 * Crash at every storage call of deleteByFilter, patchByFilter and
 * compaction (full, a full fold into several bounded segments, and tiered:
 * a tail fold after a segment, a merge of segments after the first), before and after the call (the process dies there: every
 * later call fails). Then a fresh engine on the surviving storage runs
 * `recover` and checks:
 * - an acknowledged mutation is visible; the state is exactly "before" or
 *   exactly "after" (a mutation whose INTENT doc landed is finished by
 *   recovery; compaction never changes what reads return);
 * - no manifest version references a missing object (containers, query
 *   indexes);
 * - a compaction either committed or left only unreferenced objects: no
 *   pending intent, no sealed sidecar on a live container, and a predicate
 *   mutation afterwards runs through.
 */
import { afterAll, describe, expect, it } from "vitest";
import { FaultInjectingStorage, MemoryStorage } from "@skerry/storage-providers";
import { decodeCompactionIntent, decodeTombstoneSidecar } from "@skerry/wal-format";
import type { NamespaceEngine, StoredDocument } from "@skerry/namespace-engine";
import { allKeys, laterEngine, makeEngine, steppingClock } from "./support/harness.ts";
import { containerIsReachable } from "./support/references.ts";

const NS = "acme/search/docs";
const ROOT = "acme/search/ns/docs/";

let covered = 0;
const perScenario: string[] = [];
afterAll(() => {
  console.log(`[mutation-crash-points] ${covered} crash points covered (${perScenario.join(", ")}; every storage call, before and after)`);
});

const TIERED = { auto: false, policy: "tiered", maxLogBatches: 3, mergeFactor: 3, tierBaseBytes: 1 << 20 } as const;

async function seeded(withTombstones: boolean, segments = 0): Promise<MemoryStorage> {
  const clock = steppingClock();
  const inner = new MemoryStorage({ now: () => clock.now() });
  const engine = makeEngine(inner);
  await engine.createNamespace(NS);
  await engine.upsert(NS, [
    { id: "a", vector: [1, 1], attributes: { s: "x", n: 1 } },
    { id: "b", vector: [2, 2], attributes: { s: "y", n: 2 } },
  ]);
  await engine.upsert(NS, [
    { id: "c", vector: [3, 3], attributes: { s: "x", n: 3 } },
    { id: "d", attributes: { s: "x", n: 4 } },
  ]);
  await engine.patch(NS, [{ id: "b", attributes: { n: 5 } }]);
  if (withTombstones) await engine.deleteByFilter(NS, ["n", "Eq", 4]);
  if (segments > 0) {
    // A compacted segment, then tiered tail folds: deletes and patches of documents in older segments.
    await engine.compact(NS, { force: true });
    const tiered = makeEngine(inner, { compaction: { ...TIERED, mergeFactor: 10 } }); // no merge while seeding
    for (let s = 1; s <= segments; s++) {
      await tiered.upsert(NS, [{ id: `e${s}`, vector: [s, 1], attributes: { s: "x", n: 10 + s } }]);
      await tiered.delete(NS, [s === 1 ? "a" : `e${s - 1}`]);
      await tiered.patch(NS, [{ id: "b", attributes: { n: 20 + s } }]);
      // One: the tail stays for the scenario to fold. More: every tail is folded, the scenario merges.
      if (s < segments || segments > 1) expect((await tiered.compact(NS)).runKind).toBe("tail");
    }
    await tiered.deleteByFilter(NS, ["n", "Eq", 3]);
  }
  return inner;
}

function snapshot(docs: StoredDocument[]): string {
  return JSON.stringify(docs, (_, value) => (value instanceof Float32Array ? Array.from(value) : value));
}

async function expectNoDanglingReferences(engine: NamespaceEngine, inner: MemoryStorage, at: string): Promise<void> {
  for (const version of await engine.listVersions(NS)) {
    const manifest = await engine.manifest(NS, { atVersion: version });
    for (const c of manifest.containers) {
      expect(await containerIsReachable(inner, c), `${at}: ${c.key}`).toBe(true);
      const index = c.extra?.["index_key"];
      if (typeof index === "string") expect(await inner.head(index), `${at}: ${index}`).not.toBeNull();
    }
  }
}

async function expectNoPendingCompaction(engine: NamespaceEngine, inner: MemoryStorage, at: string): Promise<void> {
  for (const key of await allKeys(inner, `${ROOT}compactions/`)) {
    const intent = decodeCompactionIntent((await inner.get(key)).bytes);
    expect(["COMMITTED", "ABANDONED"], `${at}: ${key}`).toContain(intent.state);
  }
  for (const c of (await engine.manifest(NS)).containers) {
    const sidecar = await inner.get(`${ROOT}superfiles/${c.id}.tombstones`).catch(() => undefined);
    if (sidecar !== undefined) expect(decodeTombstoneSidecar(sidecar.bytes).seal, `${at}: ${c.id} sealed`).toBeUndefined();
  }
}

interface Scenario {
  name: string;
  withTombstones: boolean;
  /** Tiered compactions of the seed (0: none). */
  segments?: number;
  /** Segment size bound of the scenario's engine (a fold then writes several segments). */
  maxSegmentBytes?: number;
  op: (engine: NamespaceEngine) => Promise<unknown>;
}

const scenarios: Scenario[] = [
  { name: "deleteByFilter", withTombstones: false, op: (e) => e.deleteByFilter(NS, ["s", "Eq", "x"]) },
  { name: "patchByFilter", withTombstones: false, op: (e) => e.patchByFilter(NS, ["s", "Eq", "x"], { attributes: { s: "z", p: true } }) },
  { name: "compaction", withTombstones: true, op: (e) => e.compact(NS, { force: true }) },
  // A tiered tail fold after a segment (delete markers, PATCH bases from the older segment).
  { name: "tiered tail compaction", withTombstones: true, segments: 1, op: (e) => e.compact(NS) },
  // A tiered merge of the three newest of four segments (not starting at the first).
  { name: "tiered merge compaction", withTombstones: true, segments: 3, op: (e) => e.compact(NS) },
  // A full fold into several bounded segments.
  { name: "split compaction", withTombstones: true, segments: 1, maxSegmentBytes: 60, op: (e) => e.compact(NS, { force: true }) },
];

function engineFor(scenario: Scenario, storage: Parameters<typeof makeEngine>[0]): NamespaceEngine {
  if (scenario.segments === undefined) return makeEngine(storage);
  return makeEngine(storage, { compaction: { ...TIERED, ...(scenario.maxSegmentBytes === undefined ? {} : { maxSegmentBytes: scenario.maxSegmentBytes }) } });
}

describe("crash at every storage call of predicate mutations and compaction", () => {
  for (const scenario of scenarios) {
    it(`${scenario.name}: recovery leaves the before or after state, acknowledged work visible, no dangling reference, nothing pending`, async () => {
      const clean = await seeded(scenario.withTombstones, scenario.segments);
      const before = snapshot(await makeEngine(clean).documents(NS));
      const counter = new FaultInjectingStorage(clean);
      const report = await scenario.op(engineFor(scenario, counter));
      if (scenario.segments !== undefined) {
        const kinds = (await makeEngine(clean).manifest(NS)).containers.map((c) => c.kind);
        if (scenario.maxSegmentBytes !== undefined) {
          expect(report, "the scenario's compaction runs").toMatchObject({ performed: true, runKind: "full" });
          expect((report as { outputSegments?: number }).outputSegments, "several segments").toBeGreaterThan(1);
        } else {
          expect(report, "the scenario's compaction runs").toMatchObject({ performed: true, runKind: scenario.segments === 1 ? "tail" : "merge" });
          expect(kinds, "a segment stays before the run").toEqual(["SEGMENT", "SEGMENT"]);
        }
      }
      const calls = counter.callCount;
      const after = snapshot(await makeEngine(clean).documents(NS));
      if (scenario.name.includes("compaction")) expect(after).toBe(before);
      else expect(after).not.toBe(before);
      let points = 0;
      for (let k = 1; k <= calls; k++) {
        for (const when of ["before", "after"] as const) {
          const inner = await seeded(scenario.withTombstones, scenario.segments);
          const faulty = new FaultInjectingStorage(inner);
          faulty.failCall(k, { when, crash: true });
          const acked = await scenario.op(engineFor(scenario, faulty)).then(
            () => true,
            () => false,
          );
          const at = `${scenario.name} crash at call ${k} ${when}`;
          const verifier = laterEngine(inner);
          await verifier.recover(NS);
          const state = snapshot(await verifier.documents(NS));
          expect([before, after], at).toContain(state);
          if (acked) expect(state, at).toBe(after);
          const intents = await allKeys(inner, `${ROOT}wal/mutations/`);
          if (intents.some((key) => key.endsWith(".json"))) expect(state, `${at} (INTENT landed)`).toBe(after);
          await expectNoDanglingReferences(verifier, inner, at);
          await expectNoPendingCompaction(verifier, inner, at);
          // Nothing is stalled: a predicate mutation and a compaction run through afterwards.
          await verifier.deleteByFilter(NS, ["id", "Eq", "a"]);
          expect((await verifier.get(NS, ["a"]))[0], at).toBeNull();
          await verifier.compact(NS, { force: true });
          await expectNoDanglingReferences(verifier, inner, `${at} (after)`);
          covered++;
          points++;
        }
      }
      perScenario.push(`${scenario.name}: ${points} (${calls} calls)`);
    });
  }
});
