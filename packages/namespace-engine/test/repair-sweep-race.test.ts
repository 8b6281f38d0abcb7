/**
 * SIM-3 (seed 1075, memory, 1001 steps): repair's sweep deleted the output
 * segment of a compaction that recovery committed while the repair ran.
 *
 * A compaction wrote its output segment (and query index), then its process
 * crashed before the manifest swap: the intent stayed INTENT. Much later
 * (past the sweep grace), `repair(sweep)` read the namespace's manifests,
 * which did not reference the segment; meanwhile recovery finished the
 * intent (committed the swap, settled the intent COMMITTED); then the sweep
 * asked which segments recovery may still commit, got nothing (the intent
 * was settled), found the segment old and unreferenced, and deleted it.
 * Every manifest from the swap on referenced a missing object.
 *
 * Fixed in project-repair.ts: the segments recovery may still commit are
 * read before the namespace's manifests. An intent is settled only after its
 * commit, so a segment is either protected by that snapshot or referenced by
 * a manifest the repair reads.
 */
import {
  type CallOptions,
  FaultInjectingStorage,
  type GetOptions,
  type GetResult,
  type ListOptions,
  MemoryStorage,
  type ObjectMeta,
  type PutOptions,
  type PutResult,
  type StorageProvider,
} from "@skerry/storage-providers";
import { describe, expect, it } from "vitest";
import { errorOf, makeEngine } from "./support/harness.ts";
import { expectNoMissingObjects } from "./support/references.ts";

const NS = "acme/search/bank";
const START = Date.parse("2026-06-01T00:00:00Z");

/** Delegates to `inner`; runs `before` (once, awaited) ahead of the first call `when` matches. */
class HookedStorage implements StorageProvider {
  readonly name = "hooked";
  #fired = false;
  constructor(
    readonly inner: StorageProvider,
    readonly when: (op: string, key: string) => boolean,
    readonly before: () => Promise<void>,
  ) {}
  async #hook(op: string, key: string): Promise<void> {
    if (this.#fired || !this.when(op, key)) return;
    this.#fired = true;
    await this.before();
  }
  get fired(): boolean {
    return this.#fired;
  }
  async get(key: string, options?: GetOptions): Promise<GetResult> {
    await this.#hook("get", key);
    return this.inner.get(key, options);
  }
  async head(key: string, options?: CallOptions): Promise<ObjectMeta | null> {
    await this.#hook("head", key);
    return this.inner.head(key, options);
  }
  async put(key: string, bytes: Uint8Array, options?: PutOptions): Promise<PutResult> {
    await this.#hook("put", key);
    return this.inner.put(key, bytes, options);
  }
  async delete(key: string, options?: CallOptions): Promise<void> {
    await this.#hook("delete", key);
    return this.inner.delete(key, options);
  }
  async *list(prefix: string, options?: ListOptions): AsyncIterable<ObjectMeta> {
    await this.#hook("list", prefix);
    yield* this.inner.list(prefix, options);
  }
}

describe("SIM-3 (seed 1075): repair's sweep racing a compaction recovery", () => {
  it("never sweeps an unsettled intent's output that recovery commits after the repair read the manifests", async () => {
    let now = START;
    const clock = { now: () => now++ };
    const inner = new MemoryStorage({ now: () => now });
    const writer = makeEngine(inner, { clock });
    await writer.createNamespace(NS);
    for (let i = 0; i < 4; i++) await writer.upsert(NS, [{ id: `d${i}`, attributes: { n: String(i) } }]);
    const before = await writer.manifest(NS);

    // The compaction writes its output, then its process crashes before the manifest swap.
    const faulty = new FaultInjectingStorage(inner);
    faulty.failWhen((call) => call.op === "put" && call.mode === "create" && call.key.includes("/manifests/"), { when: "before", crash: true });
    await errorOf(makeEngine(faulty, { clock }).compact(NS, { force: true }));
    const segments = async () => {
      const out: string[] = [];
      for await (const meta of inner.list("acme/search/ns/bank/segments/")) out.push(meta.key);
      return out;
    };
    const output = await segments();
    expect(output.length).toBeGreaterThan(0);
    expect((await makeEngine(inner, { clock }).manifest(NS)).version).toBe(before.version);

    // Two hours later (the intent's lease expired, the output is past the grace), a repair with sweep
    // reads the manifests; before it touches the refcount shards, recovery finishes the compaction.
    now += 2 * 3600 * 1000;
    const recoverer = makeEngine(inner, { clock });
    let recovered: Awaited<ReturnType<typeof recoverer.recover>> | undefined;
    const hooked = new HookedStorage(
      inner,
      (_op, key) => key.includes("/_project/refcounts"),
      async () => {
        recovered = await recoverer.recover(NS);
      },
    );
    await makeEngine(hooked, { clock }).repair("acme", "search", { sweep: true, graceMs: 60_000 });
    expect(hooked.fired).toBe(true);
    expect(recovered?.compactions.finished).toBe(1);
    const after = await makeEngine(inner, { clock }).manifest(NS);
    expect(after.version).toBe(before.version + 1);

    // The swap's manifest references the output, which is still there.
    for (const key of output) expect(await inner.head(key), key).not.toBeNull();
    await expectNoMissingObjects(makeEngine(inner, { clock }), inner, "acme", "search");
    expect((await makeEngine(inner, { clock }).documents(NS)).map((d) => d.id)).toEqual(["d0", "d1", "d2", "d3"]);

    // A later repair (nothing in flight) keeps it too, and sweeps nothing the manifests need.
    await makeEngine(inner, { clock }).repair("acme", "search", { sweep: true, graceMs: 60_000 });
    await expectNoMissingObjects(makeEngine(inner, { clock }), inner, "acme", "search");
    for (const key of output) expect(await inner.head(key), key).not.toBeNull();
  });
});
