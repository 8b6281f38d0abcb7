import { describe, expect, it } from "vitest";
import {
  ConflictError,
  FaultInjectingStorage,
  isConflict,
  isOutcomeUnknown,
  isUnavailable,
  MemoryStorage,
  OutcomeUnknownError,
} from "@skerry/storage-providers";
import { describeStorageConformance } from "@skerry/storage-providers/testing";

const text = (value: string) => new TextEncoder().encode(value);

describeStorageConformance({
  name: "memory+faults(off)",
  create: async () => ({ storage: new FaultInjectingStorage(new MemoryStorage()) }),
});

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a failure");
}

describe("FaultInjectingStorage", () => {
  it("fails the nth call before it reaches the inner provider", async () => {
    const inner = new MemoryStorage();
    const faulty = new FaultInjectingStorage(inner).failCall(2);
    await faulty.put("a", text("1"));
    expect(isUnavailable(await errorOf(faulty.put("b", text("2"))))).toBe(true);
    expect(await inner.head("b")).toBeNull();
    await faulty.put("c", text("3"));
    expect(faulty.calls.map((c) => c.outcome)).toEqual(["ok", "failed-before", "ok"]);
  });

  it("applies the write but loses the answer when failing after", async () => {
    const inner = new MemoryStorage();
    const faulty = new FaultInjectingStorage(inner).failWhen((c) => c.op === "put", { when: "after" });
    const error = await errorOf(faulty.put("landed", text("yes"), { mode: { kind: "create" } }));
    expect(isUnavailable(error)).toBe(true);
    expect(new TextDecoder().decode((await inner.get("landed")).bytes)).toBe("yes");
    expect(faulty.calls[0]).toMatchObject({ op: "put", mode: "create", bytes: 3, outcome: "failed-after" });
  });

  it("runs `meanwhile` between a write that landed and its lost answer (another writer updates over ours)", async () => {
    const inner = new MemoryStorage();
    const base = await inner.put("k", text("base"));
    const faulty = new FaultInjectingStorage(inner).failWhen((c) => c.op === "put", {
      when: "after",
      error: (call) => new OutcomeUnknownError(`lost answer of call #${call.seq}`, { key: call.key }),
      meanwhile: async () => {
        const ours = await inner.get("k");
        expect(new TextDecoder().decode(ours.bytes)).toBe("mine");
        await inner.put("k", text("theirs"), { mode: { kind: "update", etag: ours.meta.etag } });
      },
    });
    const error = await errorOf(faulty.put("k", text("mine"), { mode: { kind: "update", etag: base.etag } }));
    expect(isOutcomeUnknown(error)).toBe(true);
    expect(new TextDecoder().decode((await inner.get("k")).bytes)).toBe("theirs");
    expect(faulty.calls[0]).toMatchObject({ op: "put", mode: "update", outcome: "failed-after", errorCode: "OutcomeUnknown" });
  });

  it("fires an after fault, and its crash, on a call that failed by itself", async () => {
    const faulty = new FaultInjectingStorage(new MemoryStorage()).failCall(1, { when: "after", crash: true });
    expect(isUnavailable(await errorOf(faulty.get("missing")))).toBe(true);
    expect(faulty.crashed).toBe(true);
    expect(faulty.calls[0]).toMatchObject({ outcome: "failed-after", errorCode: "Unavailable" });
  });

  it("counts the nth matching call and raises the supplied error", async () => {
    const faulty = new FaultInjectingStorage(new MemoryStorage()).failNth(2, (c) => c.op === "get", {
      error: (c) => new ConflictError(`boom on ${c.key}`, { key: c.key }),
    });
    await faulty.put("k", text("x"));
    await faulty.get("k");
    await faulty.head("k");
    expect(isConflict(await errorOf(faulty.get("k")))).toBe(true);
    await faulty.get("k");
  });

  it("fires a rule the given number of times", async () => {
    const faulty = new FaultInjectingStorage(new MemoryStorage()).failWhen((c) => c.op === "head", { times: 2 });
    expect(isUnavailable(await errorOf(faulty.head("k")))).toBe(true);
    expect(isUnavailable(await errorOf(faulty.head("k")))).toBe(true);
    expect(await faulty.head("k")).toBeNull();
  });

  it("fails every call after a crash until revived", async () => {
    const inner = new MemoryStorage();
    const faulty = new FaultInjectingStorage(inner).failCall(2, { when: "after", crash: true });
    await faulty.put("a", text("1"));
    await errorOf(faulty.put("b", text("2")));
    expect(faulty.crashed).toBe(true);
    expect(isUnavailable(await errorOf(faulty.get("a")))).toBe(true);
    expect(isUnavailable(await errorOf(faulty.put("c", text("3"))))).toBe(true);
    expect(await inner.head("c")).toBeNull();
    expect(await inner.head("b")).not.toBeNull();
    faulty.revive();
    expect(await faulty.head("a")).not.toBeNull();
    expect(faulty.calls.map((c) => c.outcome)).toEqual(["ok", "failed-after", "crashed", "crashed", "ok"]);
  });

  it("adds latency to matching calls", async () => {
    const faulty = new FaultInjectingStorage(new MemoryStorage()).addLatency(40, (c) => c.op === "put");
    const started = Date.now();
    await faulty.put("k", text("x"));
    expect(Date.now() - started).toBeGreaterThanOrEqual(35);
    expect(faulty.calls[0]!.latencyMs).toBe(40);
  });

  it("records a call aborted during its latency as an Aborted error", async () => {
    const faulty = new FaultInjectingStorage(new MemoryStorage()).addLatency(200);
    const controller = new AbortController();
    const call = faulty.head("k", { signal: controller.signal });
    setTimeout(() => controller.abort(), 10);
    await expect(call).rejects.toMatchObject({ code: "Aborted" });
    expect(faulty.calls[0]).toMatchObject({ op: "head", outcome: "error", errorCode: "Aborted" });
  });

  it("uses an injected sleep for latency so a simulated clock can drive it", async () => {
    const slept: number[] = [];
    const faulty = new FaultInjectingStorage(new MemoryStorage(), {
      sleep: async (ms) => {
        slept.push(ms);
      },
    }).randomFaults({ seed: 3, latencyMs: [5, 9] });
    for (let i = 0; i < 20; i++) await faulty.head(`k${i}`);
    expect(slept).toHaveLength(20);
    expect(slept.every((ms) => ms >= 5 && ms <= 9)).toBe(true);
  });

  it("replays the same random faults from the same seed", async () => {
    async function run(seed: number) {
      const faulty = new FaultInjectingStorage(new MemoryStorage()).randomFaults({
        seed,
        failureRate: 0.3,
        afterFraction: 0.5,
      });
      for (let i = 0; i < 200; i++) {
        await faulty.put(`k${i % 7}`, text(String(i)), { mode: i % 3 === 0 ? { kind: "create" } : { kind: "overwrite" } }).catch(() => undefined);
        await faulty.get(`k${i % 5}`).catch(() => undefined);
      }
      return faulty.calls.map((c) => `${c.seq}:${c.op}:${c.outcome}:${c.errorCode ?? ""}`);
    }
    const a = await run(42);
    const b = await run(42);
    const c = await run(43);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    const outcomes = new Set(a.map((line) => line.split(":")[2]));
    expect(outcomes).toContain("failed-before");
    expect(outcomes).toContain("failed-after");
  });

  it("injects faults into a listing as one call", async () => {
    const inner = new MemoryStorage();
    for (let i = 0; i < 5; i++) await inner.put(`p/${i}`, text("x"));
    const faulty = new FaultInjectingStorage(inner).failWhen((c) => c.op === "list");
    const consume = async () => {
      const keys: string[] = [];
      for await (const meta of faulty.list("p/")) keys.push(meta.key);
      return keys;
    };
    expect(isUnavailable(await errorOf(consume()))).toBe(true);
    expect(await consume()).toHaveLength(5);
  });
});
