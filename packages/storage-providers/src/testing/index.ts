/**
 * The storage conformance suite: one function every provider's tests call.
 *
 *     describeStorageConformance({
 *       name: "local-fs",
 *       create: async () => ({ storage, cleanup }),
 *     });
 *
 * It registers vitest cases covering every method and write mode, the error
 * codes, key validation before I/O, byte ranges, pagination over 1,000+ keys,
 * `startAfter`, aborts before and during a call, binary payloads from 0 bytes
 * to 64 MiB, and the races that make a store usable for coordination: N
 * workers creating one key (exactly one wins; a loser may also answer
 * OutcomeUnknown) and N workers incrementing one counter with `update` and
 * retry (no increment lost, none applied twice: an update whose outcome was
 * unknown is decided by re-reading, which the counter document allows).
 *
 * `create` is called once per case and must return an empty store (for S3, a
 * fresh prefix). When the cases finish, the suite prints how many ran and
 * passed for the provider.
 */
import { createHash, randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import {
  isAborted,
  isAlreadyExists,
  isInvalidKey,
  isNotFound,
  isOutcomeUnknown,
  isPreconditionFailed,
  isRetryable,
  isStorageError,
} from "../errors.ts";
import { compareKeys } from "../keys.ts";
import type { ObjectMeta, StorageProvider } from "../storage-provider.ts";

export interface ConformanceTarget {
  storage: StorageProvider;
  /** Called after the case, also when it failed. */
  cleanup?: () => Promise<void>;
}

export interface ConformanceOptions {
  /** Provider name in case titles and the closing count. */
  name: string;
  /** Returns an empty store for one case. */
  create: () => Promise<ConformanceTarget>;
  /** Size of the large-payload case; defaults to 64 MiB. */
  largeObjectBytes?: number;
  /** Keys written for the pagination case; defaults to 1,100. */
  paginationKeys?: number;
  /** Workers and increments of the compare-and-swap race; default 8 x 25. */
  casWorkers?: number;
  casIncrements?: number;
  /**
   * Whether a key may also be the parent "directory" of other keys (`a` and
   * `a/b` both stored). True for memory and S3; false for local-fs, where a
   * file cannot also be a directory.
   */
  keyMayBePrefixOfKey?: boolean;
  /** Per-case timeout; defaults to 120 s. */
  timeoutMs?: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const text = (value: string) => encoder.encode(value);
const str = (bytes: Uint8Array) => decoder.decode(bytes);

async function collect(iterable: AsyncIterable<ObjectMeta>): Promise<ObjectMeta[]> {
  const out: ObjectMeta[] = [];
  for await (const meta of iterable) out.push(meta);
  return out;
}

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to fail, but it succeeded");
}

async function inParallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  });
  await Promise.all(workers);
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export function describeStorageConformance(options: ConformanceOptions): void {
  const {
    name,
    create,
    largeObjectBytes = 64 * 1024 * 1024,
    paginationKeys = 1100,
    casWorkers = 8,
    casIncrements = 25,
    keyMayBePrefixOfKey = true,
    timeoutMs = 120_000,
  } = options;
  let ran = 0;
  let passed = 0;

  const conformance = (title: string, body: (storage: StorageProvider) => Promise<void>) => {
    it(
      title,
      async () => {
        ran++;
        const target = await create();
        try {
          await body(target.storage);
        } finally {
          await target.cleanup?.();
        }
        passed++;
      },
      timeoutMs,
    );
  };

  describe(`storage conformance: ${name}`, () => {
    afterAll(() => {
      console.log(`[conformance] ${name}: ${ran} cases ran, ${passed} passed, ${ran - passed} failed`);
    });

    describe("get, head and put", () => {
      conformance("put then get returns the bytes and the meta of the write", async (s) => {
        const before = Date.now();
        const { etag } = await s.put("docs/a.json", text('{"a":1}'));
        expect(typeof etag).toBe("string");
        expect(etag.length).toBeGreaterThan(0);
        const { bytes, meta } = await s.get("docs/a.json");
        expect(str(bytes)).toBe('{"a":1}');
        expect(meta.key).toBe("docs/a.json");
        expect(meta.etag).toBe(etag);
        expect(meta.size).toBe(7);
        expect(meta.lastModified).toBeInstanceOf(Date);
        expect(Math.abs(meta.lastModified.getTime() - before)).toBeLessThan(3_600_000);
      });

      conformance("get of a missing key fails with NotFound naming the key", async (s) => {
        const error = await errorOf(s.get("missing/key"));
        expect(isNotFound(error)).toBe(true);
        expect((error as { key?: string }).key).toBe("missing/key");
      });

      conformance("head returns null for a missing key and the same meta as get otherwise", async (s) => {
        expect(await s.head("nothing-here")).toBeNull();
        const { etag } = await s.put("h/one", text("hello"));
        const meta = await s.head("h/one");
        expect(meta).not.toBeNull();
        expect(meta!.etag).toBe(etag);
        expect(meta!.size).toBe(5);
        expect(meta!.key).toBe("h/one");
        const got = await s.get("h/one");
        expect(got.meta.etag).toBe(meta!.etag);
        expect(got.meta.size).toBe(meta!.size);
      });

      conformance("overwrite replaces the content and changes the etag", async (s) => {
        const first = await s.put("k", text("one"));
        const second = await s.put("k", text("two!"), { mode: { kind: "overwrite" } });
        expect(second.etag).not.toBe(first.etag);
        const { bytes, meta } = await s.get("k");
        expect(str(bytes)).toBe("two!");
        expect(meta.etag).toBe(second.etag);
        expect(meta.size).toBe(4);
      });

      conformance("the stored bytes never alias the caller's buffers", async (s) => {
        const input = text("abcdef");
        await s.put("alias", input);
        input[0] = 0x7a;
        const first = await s.get("alias");
        expect(str(first.bytes)).toBe("abcdef");
        first.bytes[1] = 0x7a;
        expect(str((await s.get("alias")).bytes)).toBe("abcdef");
      });

      conformance("binary payloads round-trip: empty, every byte value, and a subarray view", async (s) => {
        await s.put("bin/empty", new Uint8Array(0));
        const empty = await s.get("bin/empty");
        expect(empty.bytes.byteLength).toBe(0);
        expect(empty.meta.size).toBe(0);
        expect((await s.head("bin/empty"))!.size).toBe(0);

        const all = new Uint8Array(512);
        for (let i = 0; i < all.length; i++) all[i] = i % 256;
        await s.put("bin/all", all);
        expect(Buffer.from((await s.get("bin/all")).bytes).equals(Buffer.from(all))).toBe(true);

        const backing = new Uint8Array(100).fill(9);
        backing.set([1, 2, 3], 10);
        await s.put("bin/view", backing.subarray(10, 13));
        expect([...(await s.get("bin/view")).bytes]).toEqual([1, 2, 3]);
      });

      conformance(`a large payload (${largeObjectBytes} bytes) round-trips intact`, async (s) => {
        const big = randomBytes(largeObjectBytes);
        const { etag } = await s.put("bin/large", big);
        const meta = await s.head("bin/large");
        expect(meta!.size).toBe(largeObjectBytes);
        expect(meta!.etag).toBe(etag);
        const got = await s.get("bin/large");
        expect(got.bytes.byteLength).toBe(largeObjectBytes);
        expect(sha256(got.bytes)).toBe(sha256(big));
        const tail = await s.get("bin/large", { range: { offset: largeObjectBytes - 1000 } });
        expect(Buffer.from(tail.bytes).equals(big.subarray(largeObjectBytes - 1000))).toBe(true);
      });

      conformance("unicode keys round-trip through put, get and list", async (s) => {
        const keys = ["u/é", "u/日本語/キー", "u/emoji-\u{1f600}", "u/space in name", "u/100%"];
        for (const key of keys) await s.put(key, text(key));
        for (const key of keys) expect(str((await s.get(key)).bytes)).toBe(key);
        const listed = (await collect(s.list("u/"))).map((m) => m.key);
        expect(listed).toEqual([...keys].sort(compareKeys));
      });
    });

    describe("byte ranges", () => {
      conformance("a range returns just those bytes and the whole object's meta", async (s) => {
        await s.put("r", text("0123456789"));
        const mid = await s.get("r", { range: { offset: 2, length: 5 } });
        expect(str(mid.bytes)).toBe("23456");
        expect(mid.meta.size).toBe(10);
        expect(str((await s.get("r", { range: { offset: 7 } })).bytes)).toBe("789");
        expect(str((await s.get("r", { range: { offset: 8, length: 100 } })).bytes)).toBe("89");
        expect(str((await s.get("r", { range: { offset: 0, length: 1 } })).bytes)).toBe("0");
      });

      conformance("a range past the end or of length zero yields no bytes", async (s) => {
        await s.put("r", text("0123456789"));
        const past = await s.get("r", { range: { offset: 10 } });
        expect(past.bytes.byteLength).toBe(0);
        expect(past.meta.size).toBe(10);
        expect((await s.get("r", { range: { offset: 50, length: 5 } })).bytes.byteLength).toBe(0);
        expect((await s.get("r", { range: { offset: 3, length: 0 } })).bytes.byteLength).toBe(0);
      });

      conformance("a range of a missing key fails with NotFound", async (s) => {
        expect(isNotFound(await errorOf(s.get("nope", { range: { offset: 0, length: 4 } })))).toBe(true);
      });
    });

    describe("conditional writes", () => {
      conformance("create writes an absent key and fails with AlreadyExists on a present one", async (s) => {
        const { etag } = await s.put("c", text("first"), { mode: { kind: "create" } });
        const error = await errorOf(s.put("c", text("second"), { mode: { kind: "create" } }));
        expect(isAlreadyExists(error)).toBe(true);
        expect((error as { key?: string }).key).toBe("c");
        const { bytes, meta } = await s.get("c");
        expect(str(bytes)).toBe("first");
        expect(meta.etag).toBe(etag);
      });

      conformance("update with the current etag writes and returns a new etag", async (s) => {
        const first = await s.put("u", text("v1"));
        const second = await s.put("u", text("v2"), { mode: { kind: "update", etag: first.etag } });
        expect(second.etag).not.toBe(first.etag);
        const third = await s.put("u", text("v3"), { mode: { kind: "update", etag: second.etag } });
        const { bytes, meta } = await s.get("u");
        expect(str(bytes)).toBe("v3");
        expect(meta.etag).toBe(third.etag);
      });

      conformance("update with a stale etag fails with PreconditionFailed and changes nothing", async (s) => {
        const first = await s.put("u", text("v1"));
        const second = await s.put("u", text("v2"));
        const error = await errorOf(s.put("u", text("v3"), { mode: { kind: "update", etag: first.etag } }));
        expect(isPreconditionFailed(error)).toBe(true);
        const { bytes, meta } = await s.get("u");
        expect(str(bytes)).toBe("v2");
        expect(meta.etag).toBe(second.etag);
      });

      conformance("update of a missing key fails with PreconditionFailed and creates nothing", async (s) => {
        const first = await s.put("gone", text("x"));
        await s.delete("gone");
        const error = await errorOf(s.put("gone", text("y"), { mode: { kind: "update", etag: first.etag } }));
        expect(isPreconditionFailed(error)).toBe(true);
        expect(await s.head("gone")).toBeNull();
        const never = await errorOf(s.put("never", text("y"), { mode: { kind: "update", etag: "0123abcd" } }));
        expect(isPreconditionFailed(never)).toBe(true);
        expect(await s.head("never")).toBeNull();
      });

      conformance("the etag returned by head or list is accepted by update", async (s) => {
        await s.put("e/1", text("a"));
        const viaHead = (await s.head("e/1"))!.etag;
        const afterHead = await s.put("e/1", text("b"), { mode: { kind: "update", etag: viaHead } });
        const [listed] = await collect(s.list("e/"));
        expect(listed!.etag).toBe(afterHead.etag);
        await s.put("e/1", text("c"), { mode: { kind: "update", etag: listed!.etag } });
        expect(str((await s.get("e/1")).bytes)).toBe("c");
      });

      conformance(`of ${casWorkers} workers creating one key at once, exactly one wins`, async (s) => {
        const outcomes = await Promise.allSettled(
          Array.from({ length: casWorkers }, (_, i) => s.put("race/create", text(`worker-${i}`), { mode: { kind: "create" } })),
        );
        const winners = outcomes.filter((o) => o.status === "fulfilled");
        expect(winners).toHaveLength(1);
        for (const o of outcomes) {
          // A loser whose answer was lost may not be able to tell (S3: ours landed and was replaced?).
          if (o.status === "rejected") expect(isAlreadyExists(o.reason) || isOutcomeUnknown(o.reason), String(o.reason)).toBe(true);
        }
        const { meta } = await s.get("race/create");
        expect(meta.etag).toBe((winners[0] as PromiseFulfilledResult<{ etag: string }>).value.etag);
      });

      conformance(
        `${casWorkers} workers x ${casIncrements} compare-and-swap increments of one counter lose none`,
        async (s) => {
          const key = "race/counter";
          // `done[worker]` is the last increment of that worker applied, so a worker can tell
          // whether an increment whose outcome was unknown landed: the change is idempotent.
          type Counter = { value: number; done: Record<string, number> };
          await s.put(key, text(JSON.stringify({ value: 0, done: {} })), { mode: { kind: "create" } });
          const successes = new Array<number>(casWorkers).fill(0);
          let conflicts = 0;
          await Promise.all(
            Array.from({ length: casWorkers }, async (_, worker) => {
              for (let n = 1; n <= casIncrements; n++) {
                for (let attempt = 0; ; attempt++) {
                  if (attempt > 10_000) throw new Error(`worker ${worker} starved`);
                  const { bytes, meta } = await s.get(key);
                  const current = JSON.parse(str(bytes)) as Counter;
                  if ((current.done[worker] ?? 0) >= n) {
                    successes[worker]!++; // an earlier attempt with an unknown outcome landed
                    break;
                  }
                  // The body names its writer, so two writers never send identical bytes.
                  const next: Counter = { value: current.value + 1, done: { ...current.done, [worker]: n } };
                  try {
                    await s.put(key, text(JSON.stringify(next)), { mode: { kind: "update", etag: meta.etag } });
                    successes[worker]!++;
                    break;
                  } catch (error) {
                    if (!isPreconditionFailed(error) && !isOutcomeUnknown(error) && !isRetryable(error)) throw error;
                    conflicts++;
                  }
                }
              }
            }),
          );
          const final = JSON.parse(str((await s.get(key)).bytes)) as { value: number };
          expect(successes).toEqual(new Array(casWorkers).fill(casIncrements));
          expect(final.value).toBe(casWorkers * casIncrements);
          expect(conflicts).toBeGreaterThanOrEqual(0);
        },
      );
    });

    describe("delete", () => {
      conformance("delete removes an object, and deleting a missing key succeeds", async (s) => {
        await s.put("d/1", text("x"));
        await s.delete("d/1");
        expect(await s.head("d/1")).toBeNull();
        expect(isNotFound(await errorOf(s.get("d/1")))).toBe(true);
        await s.delete("d/1");
        await s.delete("d/never-existed");
        expect(await collect(s.list("d/"))).toEqual([]);
      });

      conformance("a deleted key can be created again", async (s) => {
        await s.put("d/2", text("x"), { mode: { kind: "create" } });
        await s.delete("d/2");
        await s.put("d/2", text("y"), { mode: { kind: "create" } });
        expect(str((await s.get("d/2")).bytes)).toBe("y");
      });
    });

    describe("list", () => {
      conformance("list yields the keys under a prefix in byte order with their meta", async (s) => {
        const keys = keyMayBePrefixOfKey
          ? ["p/b", "p/a", "p/a/b", "p/a-c", "p/a0", "p/A", "q/x", "p", "pp/z"]
          : ["p/b", "p/a/b", "p/a-c", "p/a0", "p/A", "q/x", "pp/z"];
        const etags = new Map<string, string>();
        for (const key of keys) etags.set(key, (await s.put(key, text(`${key}!`))).etag);
        const listed = await collect(s.list("p/"));
        const expected = keys.filter((k) => k.startsWith("p/")).sort(compareKeys);
        expect(listed.map((m) => m.key)).toEqual(expected);
        for (const meta of listed) {
          expect(meta.etag).toBe(etags.get(meta.key));
          expect(meta.size).toBe(meta.key.length + 1);
          expect(meta.lastModified).toBeInstanceOf(Date);
        }
        const all = (await collect(s.list(""))).map((m) => m.key);
        expect(all).toEqual([...keys].sort(compareKeys));
        expect((await collect(s.list("p"))).map((m) => m.key)).toEqual(
          keys.filter((k) => k.startsWith("p")).sort(compareKeys),
        );
        expect((await collect(s.list("p/a"))).map((m) => m.key)).toEqual(
          keys.filter((k) => k.startsWith("p/a")).sort(compareKeys),
        );
      });

      conformance("list of a prefix with no keys yields nothing", async (s) => {
        await s.put("x/1", text("1"));
        expect(await collect(s.list("y/"))).toEqual([]);
        expect(await collect(s.list("x/1/"))).toEqual([]);
        expect(await collect(s.list("x/2"))).toEqual([]);
      });

      conformance("startAfter lists only keys strictly after it", async (s) => {
        for (const key of ["s/1", "s/2", "s/3", "s/4/x", "s/5", "t/1"]) await s.put(key, text(key));
        const keysAfter = async (startAfter: string) =>
          (await collect(s.list("s/", { startAfter }))).map((m) => m.key);
        expect(await keysAfter("s/2")).toEqual(["s/3", "s/4/x", "s/5"]);
        expect(await keysAfter("s/2x")).toEqual(["s/3", "s/4/x", "s/5"]);
        expect(await keysAfter("s/4")).toEqual(["s/4/x", "s/5"]);
        expect(await keysAfter("s/4/x")).toEqual(["s/5"]);
        expect(await keysAfter("a")).toEqual(["s/1", "s/2", "s/3", "s/4/x", "s/5"]);
        expect(await keysAfter("s/5")).toEqual([]);
        expect(await keysAfter("z")).toEqual([]);
      });

      conformance(`list pages through ${paginationKeys} keys completely and in order`, async (s) => {
        const keys = Array.from({ length: paginationKeys }, (_, i) => `many/${String(i).padStart(5, "0")}`);
        await inParallel(keys, 16, async (key) => {
          await s.put(key, text(key));
        });
        await s.put("manz", text("outside"));
        const listed = (await collect(s.list("many/"))).map((m) => m.key);
        expect(listed).toEqual(keys);
        const paged = (await collect(s.list("many/", { pageSize: 100 }))).map((m) => m.key);
        expect(paged).toEqual(keys);
        const after = (await collect(s.list("many/", { startAfter: keys[999]!, pageSize: 37 }))).map((m) => m.key);
        expect(after).toEqual(keys.slice(1000));
      });
    });

    describe("key validation", () => {
      const badKeys = ["", "/abs", "a/../b", "..", "a//b", "a/./b", "trailing/", "nul\0byte", "ctl\u0001"];

      conformance("every method rejects invalid keys with InvalidKey before any I/O", async (s) => {
        for (const key of badKeys) {
          expect(isInvalidKey(await errorOf(s.get(key))), `get ${JSON.stringify(key)}`).toBe(true);
          expect(isInvalidKey(await errorOf(s.head(key))), `head ${JSON.stringify(key)}`).toBe(true);
          expect(isInvalidKey(await errorOf(s.put(key, text("x")))), `put ${JSON.stringify(key)}`).toBe(true);
          expect(isInvalidKey(await errorOf(s.delete(key))), `delete ${JSON.stringify(key)}`).toBe(true);
        }
        for (const prefix of ["/abs", "../", "a/../", "nul\0"]) {
          expect(isInvalidKey(await errorOf(collect(s.list(prefix)))), `list ${JSON.stringify(prefix)}`).toBe(true);
        }
        expect(await collect(s.list(""))).toEqual([]);
      });
    });

    describe("abort", () => {
      conformance("every method fails with Aborted when its signal has already fired", async (s) => {
        await s.put("a/1", text("x"));
        const signal = AbortSignal.abort(new Error("caller gave up"));
        expect(isAborted(await errorOf(s.get("a/1", { signal })))).toBe(true);
        expect(isAborted(await errorOf(s.head("a/1", { signal })))).toBe(true);
        expect(isAborted(await errorOf(s.put("a/2", text("y"), { signal })))).toBe(true);
        expect(isAborted(await errorOf(s.delete("a/1", { signal })))).toBe(true);
        expect(isAborted(await errorOf(collect(s.list("a/", { signal }))))).toBe(true);
        expect(await s.head("a/2")).toBeNull();
        expect(str((await s.get("a/1")).bytes)).toBe("x");
      });

      conformance("an abort during a write leaves the old object or the new one, never a torn one", async (s) => {
        const size = 8 * 1024 * 1024;
        const old = new Uint8Array(size).fill(1);
        const fresh = new Uint8Array(size).fill(2);
        await s.put("a/big", old);
        for (const delayMs of [0, 1, 5, 20]) {
          const controller = new AbortController();
          const write = s.put("a/big", fresh, { signal: controller.signal });
          setTimeout(() => controller.abort(new Error("stop")), delayMs);
          const outcome = await write.then(
            () => "written",
            (error: unknown) => {
              if (!isAborted(error)) throw error;
              return "aborted";
            },
          );
          const { bytes } = await s.get("a/big");
          expect(bytes.byteLength).toBe(size);
          const first = bytes[0];
          expect(first === 1 || first === 2).toBe(true);
          expect(bytes.every((b) => b === first)).toBe(true);
          if (outcome === "written") expect(first).toBe(2);
          await s.put("a/big", old);
        }
      });

      conformance("an abort during a read or a listing ends it with Aborted", async (s) => {
        await s.put("a/obj", new Uint8Array(4 * 1024 * 1024).fill(7));
        for (let i = 0; i < 30; i++) await s.put(`a/list/${String(i).padStart(2, "0")}`, text("x"));
        const controller = new AbortController();
        const read = s.get("a/obj", { signal: controller.signal });
        controller.abort();
        const outcome = await read.then(
          (r) => r.bytes.byteLength,
          (error: unknown) => error,
        );
        if (typeof outcome !== "number") expect(isAborted(outcome)).toBe(true);
        else expect(outcome).toBe(4 * 1024 * 1024);

        const listController = new AbortController();
        const seen: string[] = [];
        const error = await errorOf(
          (async () => {
            for await (const meta of s.list("a/list/", { signal: listController.signal, pageSize: 5 })) {
              seen.push(meta.key);
              if (seen.length === 7) listController.abort();
            }
          })(),
        );
        expect(isAborted(error)).toBe(true);
        expect(seen.length).toBeLessThan(30);
      });
    });

    describe("errors", () => {
      conformance("every failure is a typed storage error with a code", async (s) => {
        const failures = await Promise.all([
          errorOf(s.get("none")),
          errorOf(s.put("", text("x"))),
          errorOf(s.put("e", text("x"), { mode: { kind: "update", etag: "nope" } })),
        ]);
        for (const failure of failures) {
          expect(isStorageError(failure)).toBe(true);
          expect(typeof (failure as { code: unknown }).code).toBe("string");
          expect(failure).toBeInstanceOf(Error);
        }
      });
    });
  });
}

export { s3TestTarget, type S3TestTarget } from "./s3-test-target.ts";
