/**
 * Test harness: engines on memory storage with deterministic clock, random
 * and id generator, plus small helpers shared by the test files.
 */
import { MemoryStorage, type StorageProvider } from "@skerry/storage-providers";
import { type BlockFileSection, decodeBlockFileDirectory, IdGenerator, seededRandom } from "@skerry/wal-format";
import { type DocumentInput, isCorrupt, NamespaceEngine, type NamespaceEngineOptions } from "@skerry/namespace-engine";
import { expect } from "vitest";

/** A clock that advances 1 ms per reading, from a fixed start. */
export function steppingClock(start = Date.parse("2026-06-01T00:00:00Z")) {
  let now = start;
  return { now: () => now++ };
}

let seed = 1;

/**
 * Options every `makeEngine` engine gets unless the test overrides them. A suite file can set these before
 * importing other suites to re-run them (test/stored-batch-suites.test.ts runs the crash suites with every
 * write batch stored as an object); `SKERRY_TEST_STORED_BATCHES=1` does that for every suite (tests that
 * count manifest-carried batches then fail by design).
 */
export const harnessDefaults: Partial<NamespaceEngineOptions> = process.env["SKERRY_TEST_STORED_BATCHES"] === "1" ? { carriedBatches: false } : {};

/** An engine with seeded randomness and no retry sleeps. */
export function makeEngine(storage: StorageProvider, options: Partial<NamespaceEngineOptions> = {}): NamespaceEngine {
  const random = seededRandom(seed++);
  const clock = options.clock ?? steppingClock();
  return new NamespaceEngine({
    storage,
    clock,
    random,
    idGenerator: new IdGenerator({ clock, random }),
    retry: { attempts: 3, baseDelayMs: 0 },
    conflictBackoff: { baseDelayMs: 0 },
    ...harnessDefaults,
    ...options,
  });
}

export function memoryEngine(options: Partial<NamespaceEngineOptions> = {}): { storage: MemoryStorage; engine: NamespaceEngine } {
  const storage = new MemoryStorage();
  return { storage, engine: makeEngine(storage, options) };
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a failure");
}

/** Every key in a storage. */
export async function allKeys(storage: StorageProvider, prefix = ""): Promise<string[]> {
  const keys: string[] = [];
  for await (const meta of storage.list(prefix)) keys.push(meta.key);
  return keys;
}

export const vec = (...values: number[]) => Float32Array.from(values);

/** An engine whose clock runs an hour ahead of the default one (takes over expired leases of crashed engines). */
export function laterEngine(storage: StorageProvider, options: Partial<NamespaceEngineOptions> = {}): NamespaceEngine {
  return makeEngine(storage, { clock: steppingClock(Date.parse("2026-06-01T01:00:00Z")), ...options });
}

/** The stored query index objects and their sizes. */
export async function indexObjects(storage: StorageProvider): Promise<{ key: string; size: number }[]> {
  const keys = (await allKeys(storage)).filter((k) => k.endsWith(".qidx"));
  return Promise.all(keys.map(async (key) => ({ key, size: (await storage.head(key))!.size })));
}

/**
 * A cosine namespace of `docs` documents (`doc(i)`, written 1,000 at a time) compacted into one indexed segment, on
 * `storage` (a new memory storage by default; the S3 variants pass the real server's).
 */
export async function compactedNamespace<S extends StorageProvider = MemoryStorage>(
  namespace: string,
  docs: number,
  doc: (i: number) => DocumentInput,
  storage: S = new MemoryStorage() as StorageProvider as S,
): Promise<{ storage: S; writer: NamespaceEngine }> {
  const writer = makeEngine(storage);
  await writer.createNamespace(namespace, { distanceMetric: "cosine" });
  for (let at = 0; at < docs; at += 1000) await writer.upsert(namespace, Array.from({ length: Math.min(1000, docs - at) }, (_, i) => doc(at + i)));
  await writer.compact(namespace, { force: true });
  return { storage, writer };
}

/**
 * Damages the stored index object at `key` one section at a time (one byte flipped in the middle of each section
 * `pick` keeps: by default every non-eager, non-empty one) and runs `query` against each damaged copy: an error must
 * be Corrupt naming `key`; a query that succeeds did not read that section. Returns how many sections failed the
 * query, for the caller to bound from below. The object is left damaged: callers go on with deleting or truncating it.
 */
export async function corruptSectionFailures(
  storage: StorageProvider,
  key: string,
  query: () => Promise<unknown>,
  pick: (section: BlockFileSection) => boolean = (section) => !section.eager && section.length > 0,
): Promise<number> {
  const original = (await storage.get(key)).bytes;
  const directory = decodeBlockFileDirectory(original, original.byteLength);
  let failures = 0;
  for (const section of directory.sections.filter(pick)) {
    const damaged = original.slice();
    damaged[section.offset + Math.floor(section.length / 2)]! ^= 0x20;
    await storage.put(key, damaged, { mode: { kind: "overwrite" } });
    const error = await query().then(
      () => undefined,
      (e: unknown) => e,
    );
    if (error === undefined) continue; // a section this query does not read
    failures++;
    expect(isCorrupt(error), `${section.name}: ${String(error)}`).toBe(true);
    expect((error as { key: string }).key).toBe(key);
  }
  return failures;
}
