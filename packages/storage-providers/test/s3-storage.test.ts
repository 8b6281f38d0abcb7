/**
 * S3Storage against a real S3 server (in CI and with scripts/s3/with-s3.sh:
 * Ceph RGW on loopback).
 *
 * Runs whenever S3_ENDPOINT is set. Without it: fails loudly under CI (a CI
 * that silently skips S3 proves nothing), skips with a note elsewhere.
 *
 * Failures are injected with an SDK middleware on a per-test client, strictly
 * AROUND real calls: "after" faults let the real request land and then throw,
 * "before" faults throw without sending. Every outcome is checked against the
 * real server.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client, S3ServiceException } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  isAborted,
  isAlreadyExists,
  isConflict,
  isInternal,
  isNotFound,
  isOutcomeUnknown,
  isPreconditionFailed,
  isRetryable,
  isStorageError,
  isUnavailable,
  S3Storage,
  type S3RetryEvent,
  type StorageProvider,
} from "@skerry/storage-providers";
import { describeStorageConformance } from "@skerry/storage-providers/testing";
import { md5Hex } from "../src/internal/md5.ts";

const configured = Boolean(process.env["S3_ENDPOINT"]);
const inCi = Boolean(process.env["CI"]);

if (!configured && inCi) {
  describe("S3 configuration", () => {
    it("S3 must be configured in CI", () => {
      throw new Error(
        "S3 is not configured in CI: S3_ENDPOINT missing (start one with scripts/s3/start-s3.sh and eval its exports)",
      );
    });
  });
} else if (!configured) {
  console.log("[s3] S3_ENDPOINT not set: skipping the S3 suites (run them with scripts/s3/with-s3.sh pnpm test)");
}

const text = (value: string) => new TextEncoder().encode(value);
const str = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** A run-unique root so parallel runs and reruns never see each other's keys. */
const RUN = `skerry-tests/${Date.now().toString(36)}-${randomUUID().slice(0, 8)}`;

let sharedStorage: S3Storage | undefined;
function shared(): S3Storage {
  sharedStorage ??= S3Storage.fromEnv(process.env);
  return sharedStorage;
}

/** The shared storage's SDK client, built before the S3 suites run (`beforeAll`). */
let sharedClientValue: S3Client | undefined;
function sharedClient(): S3Client {
  if (sharedClientValue === undefined) throw new Error("the shared S3 client is not built yet");
  return sharedClientValue;
}

/** Deletes every key under `storage`'s prefix. */
async function wipe(storage: StorageProvider): Promise<void> {
  const keys: string[] = [];
  for await (const meta of storage.list("")) keys.push(meta.key);
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < keys.length) await storage.delete(keys[next++]!);
    }),
  );
}

afterAll(() => {
  sharedStorage?.close();
});

// ------------------------------------------------------------ fault injection

interface Fault {
  /** SDK command name, e.g. `PutObjectCommand`. */
  command: string;
  /** "before": throw without sending; "after": let the real call finish, then throw. */
  when: "before" | "after";
  error: () => unknown;
  /** How many calls to fail; default 1. */
  times?: number;
  /** Runs just before the error is thrown (e.g. a competing write). */
  meanwhile?: () => Promise<void>;
}

function s3Error(status: number, name: string): S3ServiceException {
  return new S3ServiceException({
    name,
    $fault: status >= 500 ? "server" : "client",
    $metadata: { httpStatusCode: status },
    message: `injected ${status} ${name}`,
  });
}

function networkError(code: string): Error {
  return Object.assign(new Error(`injected ${code}`), { code });
}

/** A storage with its own client, a fresh prefix, recorded retries and injectable faults. */
async function faultyStorage(options: { maxAttempts?: number } = {}) {
  const retries: S3RetryEvent[] = [];
  const sleeps: number[] = [];
  const storage = S3Storage.fromEnv(process.env, {
    prefix: `${RUN}/faults/${randomUUID()}/`,
    retry: { maxAttempts: options.maxAttempts ?? 4, baseDelayMs: 20, maxDelayMs: 200 },
    random: () => 0.5,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    onRetry: (event) => retries.push(event),
  });
  const faults: Fault[] = [];
  const sent: string[] = [];
  (await storage.getClient()).middlewareStack.add(
    (next, context) => async (args) => {
      const command = String(context.commandName);
      const fault = faults.find((f) => f.command === command && (f.times ?? 1) > 0);
      if (fault === undefined) {
        sent.push(command);
        return next(args);
      }
      fault.times = (fault.times ?? 1) - 1;
      if (fault.when === "after") {
        sent.push(command);
        await next(args);
      }
      await fault.meanwhile?.();
      throw fault.error();
    },
    { step: "initialize", name: "skerryTestFaults" },
  );
  const sentCount = (command: string) => sent.filter((c) => c === command).length;
  return { storage, faults, retries, sleeps, sentCount };
}

/** A second writer with its own client (no faults), same prefix. */
function competitor(storage: S3Storage): S3Storage {
  return new S3Storage({ bucket: storage.bucket, prefix: storage.prefix, client: sharedClient() });
}

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to fail, but it succeeded");
}

// ------------------------------------------------------------ suites

describe.skipIf(!configured)("S3Storage on a real server", () => {
  beforeAll(async () => {
    sharedClientValue = await shared().getClient();
  });

  describeStorageConformance({
    name: "s3",
    create: async () => {
      const storage = new S3Storage({
        bucket: shared().bucket,
        prefix: `${RUN}/conformance/${randomUUID()}/`,
        client: sharedClient(),
      });
      return { storage, cleanup: () => wipe(storage) };
    },
  });

  describe("etags", () => {
    it("should return etags without quotes, equal to the MD5 of a single-part body, from every call", async () => {
      const storage = new S3Storage({ bucket: shared().bucket, prefix: `${RUN}/etags/${randomUUID()}`, client: sharedClient() });
      try {
        const body = text("etag body");
        const { etag } = await storage.put("e", body);
        expect(etag).not.toMatch(/"/);
        expect(etag).toBe(md5Hex(body));
        expect((await storage.head("e"))!.etag).toBe(etag);
        expect((await storage.get("e")).meta.etag).toBe(etag);
        const listed = [];
        for await (const meta of storage.list("")) listed.push(meta);
        expect(listed.map((m) => m.etag)).toEqual([etag]);
        const next = await storage.put("e", text("v2"), { mode: { kind: "update", etag } });
        expect(next.etag).toBe(md5Hex(text("v2")));
      } finally {
        await wipe(storage);
      }
    });

    it("should accept a quoted etag from a caller in update", async () => {
      const storage = new S3Storage({ bucket: shared().bucket, prefix: `${RUN}/etags/${randomUUID()}`, client: sharedClient() });
      try {
        const { etag } = await storage.put("q", text("one"));
        const next = await storage.put("q", text("two"), { mode: { kind: "update", etag: `"${etag}"` } });
        expect(str((await storage.get("q")).bytes)).toBe("two");
        const stale = await errorOf(storage.put("q", text("three"), { mode: { kind: "update", etag: `"${etag}"` } }));
        expect(isPreconditionFailed(stale)).toBe(true);
        expect((await storage.head("q"))!.etag).toBe(next.etag);
      } finally {
        await wipe(storage);
      }
    });
  });

  describe("prefix", () => {
    it("should store keys under the provider prefix and list them relative to it", async () => {
      const prefix = `${RUN}/prefix/${randomUUID()}/`;
      const storage = new S3Storage({ bucket: shared().bucket, prefix, client: sharedClient() });
      const sibling = new S3Storage({ bucket: shared().bucket, prefix: `${prefix}x`, client: sharedClient() });
      try {
        expect(storage.name).toBe(`s3://${shared().bucket}/${prefix}`);
        await storage.put("a/b", text("1"));
        await storage.put("x/c", text("2"));
        const raw = await sharedClient().send(new ListObjectsV2Command({ Bucket: shared().bucket, Prefix: prefix }));
        expect((raw.Contents ?? []).map((c) => c.Key)).toEqual([`${prefix}a/b`, `${prefix}x/c`]);
        const keys: string[] = [];
        for await (const meta of sibling.list("")) keys.push(meta.key);
        expect(keys).toEqual(["c"]);
        expect(sibling.name).toBe(`s3://${shared().bucket}/${prefix}x/`);
        const after: string[] = [];
        for await (const meta of storage.list("", { startAfter: "a/b" })) after.push(meta.key);
        expect(after).toEqual(["x/c"]);
      } finally {
        await wipe(storage);
      }
    });
  });

  describe("unknown outcomes of conditional writes", () => {
    it("should report success when a create landed but its answer was lost (500 after sending)", async () => {
      const { storage, faults, retries, sentCount } = await faultyStorage();
      try {
        faults.push({ command: "PutObjectCommand", when: "after", error: () => s3Error(500, "InternalError") });
        const body = text(`create-${randomUUID()}`);
        const { etag } = await storage.put("k", body, { mode: { kind: "create" } });
        expect(etag).toBe(md5Hex(body));
        expect(str((await storage.get("k")).bytes)).toBe(str(body));
        expect(sentCount("PutObjectCommand")).toBe(1);
        expect(retries).toHaveLength(0);
      } finally {
        await wipe(storage);
        storage.close();
      }
    });

    it("should report success when an update landed but the connection dropped (ECONNRESET after sending)", async () => {
      const { storage, faults, retries } = await faultyStorage();
      try {
        const first = await storage.put("k", text("v1"));
        faults.push({ command: "PutObjectCommand", when: "after", error: () => networkError("ECONNRESET") });
        const body = text(`update-${randomUUID()}`);
        const { etag } = await storage.put("k", body, { mode: { kind: "update", etag: first.etag } });
        expect(etag).toBe(md5Hex(body));
        expect((await storage.head("k"))!.etag).toBe(etag);
        expect(retries).toHaveLength(0);
      } finally {
        await wipe(storage);
        storage.close();
      }
    });

    it("should retry a create answered 409 that did not land, and succeed", async () => {
      const { storage, faults, retries, sleeps, sentCount } = await faultyStorage();
      try {
        faults.push({ command: "PutObjectCommand", when: "before", error: () => s3Error(409, "ConditionalRequestConflict") });
        const body = text(`c-${randomUUID()}`);
        const { etag } = await storage.put("k", body, { mode: { kind: "create" } });
        expect(etag).toBe(md5Hex(body));
        expect(sentCount("PutObjectCommand")).toBe(1);
        expect(retries).toHaveLength(1);
        expect(isConflict(retries[0]!.error)).toBe(true);
        expect(retries[0]).toMatchObject({ operation: "put", key: "k", attempt: 1, delayMs: 10 });
        expect(sleeps).toEqual([10]);
      } finally {
        await wipe(storage);
        storage.close();
      }
    });

    it("should report OutcomeUnknown, not AlreadyExists, when a create was answered 409 and another object is stored", async () => {
      // The provider cannot tell "another create won" from "ours landed and was replaced".
      const { storage, faults, retries } = await faultyStorage();
      try {
        const other = competitor(storage);
        faults.push({
          command: "PutObjectCommand",
          when: "before",
          error: () => s3Error(409, "ConditionalRequestConflict"),
          meanwhile: async () => {
            await other.put("k", text("the other writer"), { mode: { kind: "create" } });
          },
        });
        const error = await errorOf(storage.put("k", text(`mine-${randomUUID()}`), { mode: { kind: "create" } }));
        expect(isOutcomeUnknown(error), String(error)).toBe(true);
        expect((error as { key?: string }).key).toBe("k");
        expect((error as Error).cause).toBeInstanceOf(S3ServiceException);
        expect(str((await storage.get("k")).bytes)).toBe("the other writer");
        expect(retries).toHaveLength(0);
      } finally {
        await wipe(storage);
        storage.close();
      }
    });

    it("should report OutcomeUnknown, not PreconditionFailed, when an update was answered 500 and another etag is stored", async () => {
      const { storage, faults, retries } = await faultyStorage();
      try {
        const other = competitor(storage);
        const base = await storage.put("k", text("base"));
        faults.push({
          command: "PutObjectCommand",
          when: "before",
          error: () => s3Error(500, "InternalError"),
          meanwhile: async () => {
            await other.put("k", text("winner"), { mode: { kind: "update", etag: base.etag } });
          },
        });
        const error = await errorOf(storage.put("k", text(`loser-${randomUUID()}`), { mode: { kind: "update", etag: base.etag } }));
        expect(isOutcomeUnknown(error), String(error)).toBe(true);
        expect(isPreconditionFailed(error)).toBe(false);
        expect(str((await storage.get("k")).bytes)).toBe("winner");
        expect(retries).toHaveLength(0);
      } finally {
        await wipe(storage);
        storage.close();
      }
    });

    it("should report OutcomeUnknown when our update landed, its answer was lost, and another writer updated over it before the read-back", async () => {
      const { storage, faults, retries } = await faultyStorage();
      try {
        const other = competitor(storage);
        const base = await storage.put("k", text("base"));
        const mine = text(`mine-${randomUUID()}`);
        faults.push({
          command: "PutObjectCommand",
          when: "after",
          error: () => s3Error(500, "InternalError"),
          meanwhile: async () => {
            // Our update is stored; another writer reads it and updates over it.
            const seen = await other.get("k");
            expect(str(seen.bytes)).toBe(str(mine));
            await other.put("k", text("next writer"), { mode: { kind: "update", etag: seen.meta.etag } });
          },
        });
        const error = await errorOf(storage.put("k", mine, { mode: { kind: "update", etag: base.etag } }));
        expect(isOutcomeUnknown(error), String(error)).toBe(true);
        expect(isPreconditionFailed(error)).toBe(false);
        expect(isRetryable(error)).toBe(false);
        expect(str((await storage.get("k")).bytes)).toBe("next writer");
        expect(retries).toHaveLength(0);
      } finally {
        await wipe(storage);
        storage.close();
      }
    });

    it("should report OutcomeUnknown when our create landed, its answer was lost, and another writer replaced it before the read-back", async () => {
      const { storage, faults } = await faultyStorage();
      try {
        const other = competitor(storage);
        faults.push({
          command: "PutObjectCommand",
          when: "after",
          error: () => networkError("ECONNRESET"),
          meanwhile: async () => {
            const seen = await other.get("k");
            await other.put("k", text("replaced"), { mode: { kind: "update", etag: seen.meta.etag } });
          },
        });
        const error = await errorOf(storage.put("k", text(`mine-${randomUUID()}`), { mode: { kind: "create" } }));
        expect(isOutcomeUnknown(error), String(error)).toBe(true);
        expect(isAlreadyExists(error)).toBe(false);
      } finally {
        await wipe(storage);
        storage.close();
      }
    });

    it("should retry an update answered 503 that did not land while the object is unchanged", async () => {
      const { storage, faults, retries, sentCount } = await faultyStorage();
      try {
        const base = await storage.put("k", text("base"));
        faults.push({ command: "PutObjectCommand", when: "before", error: () => s3Error(503, "SlowDown"), times: 2 });
        const body = text(`next-${randomUUID()}`);
        const { etag } = await storage.put("k", body, { mode: { kind: "update", etag: base.etag } });
        expect(etag).toBe(md5Hex(body));
        expect(retries.map((r) => r.error.code)).toEqual(["Unavailable", "Unavailable"]);
        expect(sentCount("PutObjectCommand")).toBe(2); // the base put and the final attempt
      } finally {
        await wipe(storage);
        storage.close();
      }
    });

    it("should check a later 412 by re-reading once an earlier attempt's outcome was unknown", async () => {
      // Attempt 1 lands but its answer is lost; the re-read (HEAD) fails too,
      // so attempt 2 is sent and refused with a real 412 -- by our own write.
      const { storage, faults, retries, sentCount } = await faultyStorage();
      try {
        faults.push({ command: "PutObjectCommand", when: "after", error: () => networkError("ETIMEDOUT") });
        faults.push({ command: "HeadObjectCommand", when: "before", error: () => s3Error(503, "SlowDown") });
        const body = text(`once-${randomUUID()}`);
        const { etag } = await storage.put("k", body, { mode: { kind: "create" } });
        expect(etag).toBe(md5Hex(body));
        expect(sentCount("PutObjectCommand")).toBe(2);
        expect(retries).toHaveLength(1);
      } finally {
        await wipe(storage);
        storage.close();
      }
    });

    it("should map an update answered 404 (AWS, missing key) to PreconditionFailed without retrying", async () => {
      const { storage, faults, retries } = await faultyStorage();
      try {
        faults.push({ command: "PutObjectCommand", when: "before", error: () => s3Error(404, "NoSuchKey") });
        const error = await errorOf(storage.put("k", text("x"), { mode: { kind: "update", etag: md5Hex(text("y")) } }));
        expect(isPreconditionFailed(error)).toBe(true);
        expect(retries).toHaveLength(0);
      } finally {
        await wipe(storage);
        storage.close();
      }
    });
  });

  describe("retries", () => {
    it("should retry Unavailable with full-jitter backoff up to maxAttempts, then surface Unavailable", async () => {
      const { storage, faults, retries, sleeps, sentCount } = await faultyStorage({ maxAttempts: 4 });
      try {
        faults.push({ command: "GetObjectCommand", when: "before", error: () => s3Error(503, "SlowDown"), times: 100 });
        const error = await errorOf(storage.get("k"));
        expect(isUnavailable(error)).toBe(true);
        expect((error as Error).cause).toBeInstanceOf(S3ServiceException);
        expect(retries.map((r) => r.attempt)).toEqual([1, 2, 3]);
        // random() = 0.5 of caps 20, 40, 80 ms
        expect(sleeps).toEqual([10, 20, 40]);
        expect(sentCount("GetObjectCommand")).toBe(0);
      } finally {
        storage.close();
      }
    });

    it("should recover from transient network errors on reads", async () => {
      const { storage, faults, retries } = await faultyStorage();
      try {
        await storage.put("k", text("hello"));
        faults.push({ command: "GetObjectCommand", when: "before", error: () => networkError("ECONNREFUSED") });
        faults.push({ command: "HeadObjectCommand", when: "before", error: () => s3Error(502, "BadGateway") });
        faults.push({ command: "ListObjectsV2Command", when: "before", error: () => networkError("EPIPE") });
        faults.push({ command: "DeleteObjectCommand", when: "before", error: () => s3Error(504, "GatewayTimeout") });
        expect(str((await storage.get("k")).bytes)).toBe("hello");
        expect((await storage.head("k"))!.size).toBe(5);
        const keys: string[] = [];
        for await (const meta of storage.list("")) keys.push(meta.key);
        expect(keys).toEqual(["k"]);
        await storage.delete("k");
        expect(await storage.head("k")).toBeNull();
        expect(retries.map((r) => r.operation)).toEqual(["get", "head", "list", "delete"]);
      } finally {
        await wipe(storage);
        storage.close();
      }
    });

    it("should never retry semantic 4xx errors", async () => {
      const { storage, faults, retries } = await faultyStorage();
      try {
        faults.push({ command: "GetObjectCommand", when: "before", error: () => s3Error(403, "AccessDenied") });
        faults.push({ command: "HeadObjectCommand", when: "before", error: () => s3Error(400, "InvalidArgument") });
        const denied = await errorOf(storage.get("k"));
        expect(isInternal(denied)).toBe(true);
        const invalid = await errorOf(storage.head("k"));
        expect(isInternal(invalid)).toBe(true);
        expect(isNotFound(await errorOf(storage.get("k")))).toBe(true);
        await storage.put("c", text("x"));
        expect(isAlreadyExists(await errorOf(storage.put("c", text("y"), { mode: { kind: "create" } })))).toBe(true);
        expect(retries).toHaveLength(0);
      } finally {
        await wipe(storage);
        storage.close();
      }
    });

    it("should end with Aborted when the signal fires during a backoff sleep", async () => {
      const storage = S3Storage.fromEnv(process.env, {
        prefix: `${RUN}/abort/${randomUUID()}/`,
        retry: { maxAttempts: 10, baseDelayMs: 60_000, maxDelayMs: 60_000 },
        random: () => 1,
      });
      (await storage.getClient()).middlewareStack.add(
        () => async () => {
          throw s3Error(503, "SlowDown");
        },
        { step: "initialize", name: "alwaysSlowDown" },
      );
      try {
        const controller = new AbortController();
        const started = Date.now();
        setTimeout(() => controller.abort(new Error("caller gave up")), 50);
        const error = await errorOf(storage.get("k", { signal: controller.signal }));
        expect(isAborted(error)).toBe(true);
        expect(Date.now() - started).toBeLessThan(5_000);
      } finally {
        storage.close();
      }
    });

    it("should never let an SDK or network error escape untyped", async () => {
      const { storage, faults } = await faultyStorage({ maxAttempts: 1 });
      try {
        const injected: Array<() => unknown> = [
          () => s3Error(500, "InternalError"),
          () => s3Error(429, "TooManyRequests"),
          () => s3Error(501, "NotImplemented"),
          () => s3Error(400, "KeyTooLongError"),
          () => s3Error(418, "Teapot"),
          () => networkError("ECONNRESET"),
          () => Object.assign(new Error("socket timed out"), { name: "TimeoutError" }),
          () => new Error("something else entirely"),
          () => "not even an error",
        ];
        const codes: string[] = [];
        for (const error of injected) {
          faults.push({ command: "HeadObjectCommand", when: "before", error });
          const failure = await errorOf(storage.head("k"));
          expect(isStorageError(failure)).toBe(true);
          codes.push((failure as { code: string }).code);
        }
        expect(codes).toEqual([
          "Unavailable",
          "Unavailable",
          "NotImplemented",
          "InvalidKey",
          "Internal",
          "Unavailable",
          "Unavailable",
          "Internal",
          "Internal",
        ]);
      } finally {
        storage.close();
      }
    });
  });

  describe("large objects", () => {
    it("should read a range of a 5 MiB object with the full size in meta", async () => {
      const storage = new S3Storage({ bucket: shared().bucket, prefix: `${RUN}/large/${randomUUID()}`, client: sharedClient() });
      try {
        const big = randomBytes(5 * 1024 * 1024);
        await storage.put("big", big);
        const { bytes, meta } = await storage.get("big", { range: { offset: 1024 * 1024, length: 10 } });
        expect(Buffer.from(bytes).equals(big.subarray(1024 * 1024, 1024 * 1024 + 10))).toBe(true);
        expect(meta.size).toBe(big.byteLength);
      } finally {
        await wipe(storage);
      }
    });
  });

  it("should resolve the SDK's middleware stack once per command, not per request (calls without a signal)", async () => {
    // Its own client, built as S3Storage builds it (cacheMiddleware): ranged GETs reuse the resolved handler.
    const storage = S3Storage.fromEnv(process.env, { prefix: `${RUN}/handlers/${randomUUID()}/` });
    try {
      await storage.put("a", new Uint8Array(8192));
      const resolve = vi.spyOn(GetObjectCommand.prototype, "resolveMiddleware");
      try {
        for (let i = 0; i < 4; i++) expect((await storage.get("a", { range: { offset: i * 100, length: 10 } })).bytes.byteLength).toBe(10);
        expect(resolve.mock.calls.length).toBeLessThanOrEqual(1);
        // With a signal the SDK resolves it for the call (its options carry the signal): the answer is the same.
        const signal = new AbortController().signal;
        expect((await storage.get("a", { range: { offset: 5, length: 10 }, signal })).bytes.byteLength).toBe(10);
        expect(resolve.mock.calls.length).toBeGreaterThanOrEqual(1);
      } finally {
        resolve.mockRestore();
      }
    } finally {
      await wipe(storage);
      storage.close();
    }
  });

  it("should write through a raw client and read the same object through the provider", async () => {
    const prefix = `${RUN}/raw/${randomUUID()}/`;
    const storage = new S3Storage({ bucket: shared().bucket, prefix, client: sharedClient() });
    try {
      const raw = await sharedClient().send(
        new PutObjectCommand({ Bucket: shared().bucket, Key: `${prefix}from-sdk`, Body: "sdk" }),
      );
      const { bytes, meta } = await storage.get("from-sdk");
      expect(str(bytes)).toBe("sdk");
      expect(`"${meta.etag}"`).toBe(raw.ETag);
    } finally {
      await wipe(storage);
    }
  });
});

describe("S3Storage.fromEnv", () => {
  const env = {
    S3_ENDPOINT: "http://127.0.0.1:9",
    S3_BUCKET: "bucket-a",
    S3_PREFIX: "tenant/x",
    AWS_REGION: "eu-west-3",
    AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
    AWS_SECRET_ACCESS_KEY: "secret",
  };

  it("should read bucket, prefix, endpoint, region and credentials from the environment", async () => {
    const storage = S3Storage.fromEnv(env);
    try {
      expect(storage.name).toBe("s3://bucket-a/tenant/x/");
      expect(storage.bucket).toBe("bucket-a");
      expect(storage.prefix).toBe("tenant/x/");
      const client = await storage.getClient();
      expect(await client.config.region()).toBe("eu-west-3");
      expect(client.config.forcePathStyle).toBe(true);
      expect(client.config.maxAttempts).toBeDefined();
      expect(await client.config.maxAttempts()).toBe(1);
      const credentials = await client.config.credentials();
      expect(credentials.accessKeyId).toBe("AKIDEXAMPLE");
      expect(credentials.secretAccessKey).toBe("secret");
      const endpoint = await client.config.endpoint?.();
      expect(endpoint?.hostname).toBe("127.0.0.1");
    } finally {
      storage.close();
    }
  });

  it("should default forcePathStyle to false without an endpoint and honour S3_FORCE_PATH_STYLE", async () => {
    const aws = S3Storage.fromEnv({ S3_BUCKET: "b" });
    const off = S3Storage.fromEnv({ ...env, S3_FORCE_PATH_STYLE: "false" });
    try {
      expect((await aws.getClient()).config.forcePathStyle).toBe(false);
      expect(aws.name).toBe("s3://b/");
      expect((await off.getClient()).config.forcePathStyle).toBe(false);
    } finally {
      aws.close();
      off.close();
    }
  });

  it("should let overrides win over the environment", () => {
    const storage = S3Storage.fromEnv(env, { prefix: "other/", bucket: "bucket-b" });
    try {
      expect(storage.name).toBe("s3://bucket-b/other/");
    } finally {
      storage.close();
    }
  });

  it("should fail with a typed error when S3_BUCKET is missing or a flag is malformed", () => {
    expect(() => S3Storage.fromEnv({ S3_ENDPOINT: "http://127.0.0.1:9" })).toThrow(/S3_BUCKET/);
    expect(() => S3Storage.fromEnv({ ...env, S3_FORCE_PATH_STYLE: "maybe" })).toThrow(/S3_FORCE_PATH_STYLE/);
    try {
      S3Storage.fromEnv({});
    } catch (error) {
      expect(isStorageError(error)).toBe(true);
    }
  });

  it("should fail with Unavailable, not an SDK error, when nothing listens at the endpoint", async () => {
    const storage = S3Storage.fromEnv(env, { retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 } });
    try {
      const error = await errorOf(storage.head("k"));
      expect(isUnavailable(error)).toBe(true);
    } finally {
      storage.close();
    }
  });
});
