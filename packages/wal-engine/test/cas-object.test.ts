/**
 * The generic compare-and-swap helper: retries, lost answers, no-ops,
 * aborts and the bounded policy.
 */
import {
  FaultInjectingStorage,
  MemoryStorage,
  OutcomeUnknownError,
  PreconditionFailedError,
  type StorageProvider,
  UnavailableError,
} from "@skerry/storage-providers";
import { seededRandom } from "@skerry/wal-format";
import {
  backoffDelay,
  CAS_NOOP,
  casUpdate,
  createOnce,
  isCasFailed,
  isWalAlreadyExists,
  isWalStorageError,
  type RetryPolicy,
  readVersioned,
  updateIfMatch,
} from "@skerry/wal-engine";
import { describe, expect, it } from "vitest";

const enc = new TextEncoder();
const dec = new TextDecoder();
interface Counter {
  value: number;
  writer?: string;
}
const codec = {
  decode: (bytes: Uint8Array) => JSON.parse(dec.decode(bytes)) as Counter,
  encode: (value: Counter) => enc.encode(JSON.stringify(value)),
};
const fast: RetryPolicy = { maxAttempts: 6, baseDelayMs: 1, maxDelayMs: 2 };
const noSleep = async () => {};

function increment(storage: StorageProvider, writer: string, policy: RetryPolicy = fast) {
  return casUpdate<Counter>(storage, "c", {
    ...codec,
    policy,
    sleep: noSleep,
    mutate: (current) => ({ value: (current?.value.value ?? 0) + 1, writer }),
  });
}

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

describe("casUpdate", () => {
  it("creates an absent object and then updates it by etag", async () => {
    const storage = new MemoryStorage();
    const first = await increment(storage, "a");
    const second = await increment(storage, "a");
    expect(first.written && second.written).toBe(true);
    expect((await readVersioned(storage, "c", codec.decode))?.value.value).toBe(2);
  });

  it("should not lose an increment when 8 workers race on one object", async () => {
    const storage = new MemoryStorage();
    const policy: RetryPolicy = { maxAttempts: 1_000, baseDelayMs: 1, maxDelayMs: 2 };
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; i < 25; i++) await increment(storage, `w${w}-${i}`, policy);
      }),
    );
    expect((await readVersioned(storage, "c", codec.decode))?.value.value).toBe(200);
  });

  it("re-runs mutate on the fresh value after losing a race", async () => {
    const storage = new MemoryStorage();
    await increment(storage, "a");
    const seen: number[] = [];
    const result = await casUpdate<Counter>(storage, "c", {
      ...codec,
      sleep: noSleep,
      known: { value: { value: 0 }, etag: "stale", bytes: new Uint8Array() },
      mutate: (current, attempt) => {
        seen.push(current?.value.value ?? -1);
        return { value: (current?.value.value ?? 0) + 10, writer: `attempt ${attempt}` };
      },
    });
    expect(seen).toEqual([0, 1]);
    expect(result.written && result.value.value).toBe(11);
  });

  it("treats a write that landed but lost its answer as done, not as a loss", async () => {
    const faulty = new FaultInjectingStorage(new MemoryStorage());
    await increment(faulty, "a");
    faulty.failNth(1, (c) => c.op === "put", { when: "after" });
    const result = await increment(faulty, "b");
    expect(result.written).toBe(true);
    expect((await readVersioned(faulty, "c", codec.decode))?.value).toEqual({ value: 2, writer: "b" });
  });

  it("retries a write that failed before landing", async () => {
    const faulty = new FaultInjectingStorage(new MemoryStorage());
    faulty.failNth(1, (c) => c.op === "put", { when: "before" });
    const result = await increment(faulty, "a");
    expect(result.written && result.attempts).toBe(2);
    expect((await readVersioned(faulty, "c", codec.decode))?.value.value).toBe(1);
  });

  it("writes nothing when mutate returns CAS_NOOP", async () => {
    const faulty = new FaultInjectingStorage(new MemoryStorage());
    await increment(faulty, "a");
    const before = faulty.callCount;
    const result = await casUpdate<Counter>(faulty, "c", { ...codec, mutate: () => CAS_NOOP });
    expect(result.written).toBe(false);
    expect(faulty.calls.slice(before).map((c) => c.op)).toEqual(["get"]);
  });

  it("an error thrown by mutate reaches the caller unchanged and nothing is written", async () => {
    const storage = new MemoryStorage();
    const boom = new Error("refused");
    expect(await errorOf(casUpdate<Counter>(storage, "c", { ...codec, mutate: () => { throw boom; } }))).toBe(boom);
    expect(await storage.head("c")).toBeNull();
  });

  it("gives up with CasFailed once the policy's attempts are spent on lost races", async () => {
    const faulty = new FaultInjectingStorage(new MemoryStorage());
    await increment(faulty, "a");
    const before = faulty.callCount;
    faulty.failWhen((c) => c.op === "put", {
      times: Number.POSITIVE_INFINITY,
      error: () => new PreconditionFailedError("someone else"),
    });
    const error = await errorOf(increment(faulty, "b"));
    expect(isCasFailed(error)).toBe(true);
    expect((error as { attempts: number }).attempts).toBe(fast.maxAttempts);
    expect(faulty.calls.slice(before).filter((c) => c.op === "put")).toHaveLength(fast.maxAttempts);
  });

  it("retryable failures past the policy surface as a retryable Storage error", async () => {
    const faulty = new FaultInjectingStorage(new MemoryStorage());
    faulty.failWhen((c) => c.op === "put", { times: Number.POSITIVE_INFINITY });
    const error = await errorOf(increment(faulty, "a"));
    expect(isWalStorageError(error)).toBe(true);
    expect((error as { retryable: boolean; storageCode: string }).retryable).toBe(true);
    expect((error as { storageCode: string }).storageCode).toBe("Unavailable");
  });

  it("an aborted signal stops the loop with a Storage error coded Aborted", async () => {
    const storage = new MemoryStorage();
    const error = await errorOf(
      casUpdate<Counter>(storage, "c", { ...codec, signal: AbortSignal.abort(), mutate: () => ({ value: 1 }) }),
    );
    expect(isWalStorageError(error) && error.storageCode).toBe("Aborted");
  });

  it("backs off with full jitter from the injected random, within the policy's ceiling", async () => {
    const faulty = new FaultInjectingStorage(new MemoryStorage());
    faulty.failWhen((c) => c.op === "put", { times: 3 });
    const delays: number[] = [];
    const policy: RetryPolicy = { maxAttempts: 5, baseDelayMs: 10, maxDelayMs: 25 };
    await casUpdate<Counter>(faulty, "c", {
      ...codec,
      policy,
      random: seededRandom(1),
      sleep: async (ms) => {
        delays.push(ms);
      },
      mutate: () => ({ value: 1 }),
    });
    expect(delays).toHaveLength(3);
    for (const [i, d] of delays.entries()) expect(d).toBeLessThanOrEqual(Math.min(25, 10 * 2 ** i));
    const again = [1, 2, 3].map((r) => backoffDelay(policy, r, seededRandom(1)));
    expect(again[0]).toBe(backoffDelay(policy, 1, seededRandom(1)));
  });
});

describe("createOnce and updateIfMatch", () => {
  it("createOnce is idempotent for identical bytes and refuses other bytes", async () => {
    const storage = new MemoryStorage();
    const first = await createOnce(storage, "k", enc.encode("x"));
    const again = await createOnce(storage, "k", enc.encode("x"));
    expect(first.created).toBe(true);
    expect(again).toEqual({ etag: first.etag, created: false });
    expect(isWalAlreadyExists(await errorOf(createOnce(storage, "k", enc.encode("y"))))).toBe(true);
  });

  it("createOnce resolves a lost answer by re-reading", async () => {
    const faulty = new FaultInjectingStorage(new MemoryStorage());
    faulty.failNth(1, (c) => c.op === "put", { when: "after" });
    const result = await createOnce(faulty, "k", enc.encode("x"), { sleep: noSleep });
    expect(result.created).toBe(false);
    expect(dec.decode((await faulty.get("k")).bytes)).toBe("x");
  });

  it("exclusive createOnce treats an existing object as a lost race even with identical bytes", async () => {
    const storage = new MemoryStorage();
    await createOnce(storage, "k", enc.encode("x"));
    expect(isCasFailed(await errorOf(createOnce(storage, "k", enc.encode("x"), { exclusive: true })))).toBe(true);
  });

  it("updateIfMatch fails with CasFailed on a stale etag and succeeds when its lost answer had landed", async () => {
    const faulty = new FaultInjectingStorage(new MemoryStorage());
    const { etag } = await faulty.put("k", enc.encode("1"));
    const e2 = await updateIfMatch(faulty, "k", etag, enc.encode("2"));
    expect(isCasFailed(await errorOf(updateIfMatch(faulty, "k", etag, enc.encode("3"))))).toBe(true);
    faulty.failNth(1, (c) => c.op === "put", { when: "after" });
    const e3 = await updateIfMatch(faulty, "k", e2, enc.encode("3"), { sleep: noSleep });
    expect((await faulty.get("k")).meta.etag).toBe(e3);
  });

  it("updateIfMatch retries a write that failed before landing", async () => {
    const faulty = new FaultInjectingStorage(new MemoryStorage());
    const { etag } = await faulty.put("k", enc.encode("1"));
    faulty.failNth(1, (c) => c.op === "put", { when: "before" });
    await updateIfMatch(faulty, "k", etag, enc.encode("2"), { sleep: noSleep });
    expect(dec.decode((await faulty.get("k")).bytes)).toBe("2");
  });
});

describe("unknown outcomes: our write landed, its answer was lost, another writer updated over it before the read-back", () => {
  /** A storage whose next `put` of `key` lands, then `other` writes over it, then the answer is lost with `error`. */
  function interleaved(key: string, error: () => Error, other: (inner: MemoryStorage) => Promise<void>) {
    const inner = new MemoryStorage();
    const faulty = new FaultInjectingStorage(inner).failWhen((c) => c.op === "put" && c.key === key, {
      when: "after",
      error,
      meanwhile: () => other(inner),
    });
    return { inner, faulty };
  }
  const unknownError = () => new OutcomeUnknownError("S3 put: outcome unknown (injected)", { key: "s" });

  interface Members {
    members: string[];
  }
  const setCodec = {
    decode: (bytes: Uint8Array) => JSON.parse(dec.decode(bytes)) as Members,
    encode: (value: Members) => enc.encode(JSON.stringify(value)),
  };
  /** Idempotent: adds `who` unless present. */
  const addMember = (who: string) => (current: { value: Members } | null) => {
    const members = current?.value.members ?? [];
    return members.includes(who) ? CAS_NOOP : { members: [...members, who].sort() };
  };
  /** The other writer: reads what is there (ours) and adds "b" on top. */
  const otherAddsB = async (inner: MemoryStorage) => {
    const { bytes, meta } = await inner.get("s");
    const members = (JSON.parse(dec.decode(bytes)) as Members).members;
    expect(members).toContain("a"); // ours landed
    await inner.put("s", setCodec.encode({ members: [...members, "b"].sort() }), { mode: { kind: "update", etag: meta.etag } });
  };

  for (const [name, error] of [
    ["OutcomeUnknown (a provider that re-read and could not decide)", unknownError],
    ["Unavailable (a raw lost answer)", () => new UnavailableError("lost answer (injected)", { key: "s" })],
  ] as const) {
    it(`casUpdate re-reads and decides, reporting no failure, on ${name}`, async () => {
      const { inner, faulty } = interleaved("s", error, otherAddsB);
      const base = await inner.put("s", setCodec.encode({ members: [] }));
      const result = await casUpdate<Members>(faulty, "s", {
        ...setCodec,
        policy: fast,
        sleep: noSleep,
        known: { value: { members: [] }, etag: base.etag, bytes: setCodec.encode({ members: [] }) },
        mutate: addMember("a"),
      });
      expect(result.written).toBe(false); // the re-read showed our change already made
      expect(setCodec.decode((await inner.get("s")).bytes).members).toEqual(["a", "b"]);
    });
  }

  it("updateIfMatch reports an unknown outcome (retryable storage error), never a lost race", async () => {
    const { inner, faulty } = interleaved("s", () => new UnavailableError("lost answer (injected)", { key: "s" }), otherAddsB);
    const base = await inner.put("s", setCodec.encode({ members: [] }));
    const error = await errorOf(updateIfMatch(faulty, "s", base.etag, setCodec.encode({ members: ["a"] }), { sleep: noSleep }));
    expect(isCasFailed(error)).toBe(false);
    expect(isWalStorageError(error)).toBe(true);
    expect(error).toMatchObject({ storageCode: "OutcomeUnknown", retryable: true, key: "s" });
  });

  it("updateIfMatch treats a provider's OutcomeUnknown as unknown too", async () => {
    const { inner, faulty } = interleaved("s", unknownError, otherAddsB);
    const base = await inner.put("s", setCodec.encode({ members: [] }));
    const error = await errorOf(updateIfMatch(faulty, "s", base.etag, setCodec.encode({ members: ["a"] }), { sleep: noSleep }));
    expect(error).toMatchObject({ code: "Storage", storageCode: "OutcomeUnknown", retryable: true });
  });

  it("createOnce reports an unknown outcome, not AlreadyExists, when its create landed and was replaced", async () => {
    const { faulty } = interleaved("s", () => new UnavailableError("lost answer (injected)", { key: "s" }), otherAddsB);
    const error = await errorOf(createOnce(faulty, "s", setCodec.encode({ members: ["a"] }), { sleep: noSleep }));
    expect(isWalAlreadyExists(error)).toBe(false);
    expect(error).toMatchObject({ code: "Storage", storageCode: "OutcomeUnknown", retryable: true });
  });

  it("createOnce treats a provider's OutcomeUnknown as a lost answer and recognises its own landed bytes", async () => {
    const inner = new MemoryStorage();
    const faulty = new FaultInjectingStorage(inner).failNth(1, (c) => c.op === "put", { when: "after", error: unknownError });
    const result = await createOnce(faulty, "k", enc.encode("x"), { sleep: noSleep });
    expect(result.created).toBe(false);
  });
});
