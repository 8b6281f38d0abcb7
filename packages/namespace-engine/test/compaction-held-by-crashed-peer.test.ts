/**
 * A compaction whose process crashed after sealing its inputs (a fleet node
 * killed mid-compaction, docs/fleet.md) holds those seals until its lease
 * expires. Another engine that already opened the namespace (its one
 * automatic recovery found the intent held by a live lease) must neither
 * spend an intent per write on compactions that can only lose the seal
 * while the lease lasts, nor stay blocked after it expires: the next
 * compaction finishes the crashed one (recovery) and goes on.
 */
import { FaultInjectingStorage, MemoryStorage } from "@skerry/storage-providers";
import { describe, expect, it } from "vitest";
import { allKeys, errorOf, makeEngine } from "./support/harness.ts";

const NS = "acme/search/held";
const START = Date.parse("2026-06-01T00:00:00Z");
const intents = async (storage: MemoryStorage) => (await allKeys(storage, "acme/search/ns/held/compactions/")).length;

describe("compaction after a peer crashed mid-compaction", () => {
  it("skips while the crashed peer's lease lasts, then finishes its compaction and compacts again", async () => {
    let now = START;
    const clock = { now: () => now };
    const storage = new MemoryStorage({ now: () => now });
    const peer = makeEngine(storage, { clock, compaction: { auto: false } });
    await peer.createNamespace(NS);
    for (let i = 0; i < 4; i++) await peer.upsert(NS, [{ id: `d${i}`, attributes: { n: i } }]);

    // The node that survives opens the namespace now, while everything is fine.
    const survivor = makeEngine(storage, { clock, compaction: { auto: false } });
    expect((await survivor.recover(NS)).compactions.scanned).toBe(0);

    // The peer seals its inputs and writes its output, then crashes before the manifest swap.
    const faulty = new FaultInjectingStorage(storage);
    faulty.failWhen((call) => call.op === "put" && call.mode === "create" && call.key.includes("/manifests/"), { when: "before", crash: true });
    await errorOf(makeEngine(faulty, { clock, compaction: { auto: false } }).compact(NS, { force: true }));
    expect(await intents(storage)).toBe(1);
    const before = (await survivor.manifest(NS)).version;

    // While the lease lasts: no compaction can win the seal; none is attempted (no intent spent).
    now += 1_000;
    for (let i = 0; i < 3; i++) {
      await survivor.upsert(NS, [{ id: `late${i}`, attributes: { n: 10 + i } }]);
      expect((await survivor.compact(NS, { force: true })).performed).toBe(false);
    }
    expect(await intents(storage)).toBeLessThanOrEqual(2);

    // Past the lease: the next compaction finishes the crashed one, then compacts the rest.
    now += 120_000;
    const report = await survivor.compact(NS, { force: true });
    expect(report.performed).toBe(true);
    const after = await survivor.manifest(NS);
    expect(after.version).toBeGreaterThan(before);
    expect(after.containers).toHaveLength(1);
    const docs = await survivor.get(NS, ["d0", "d3", "late0", "late2"]);
    expect(docs.every((d) => d !== null)).toBe(true);
  });
});
