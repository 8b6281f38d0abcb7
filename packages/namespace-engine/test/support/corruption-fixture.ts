/**
 * The fixture of the corruption tests (missing-objects, corrupt-objects): a
 * namespace whose manifest references every kind of object, each one with
 * rows a deleteByFilter tombstoned, so losing or damaging any of them could
 * resurrect deleted documents.
 */
import { expect } from "vitest";
import type { StorageProvider } from "@skerry/storage-providers";
import type { NamespaceEngine } from "@skerry/namespace-engine";
import { makeEngine } from "./harness.ts";

export const NS = "acme/corrupt/docs";

/** An engine that stores every write batch as an object (so a batch has a key to delete). */
export function engineOn(storage: StorageProvider): NamespaceEngine {
  return makeEngine(storage, { carriedBatches: false });
}

export interface Fixture {
  /** Ids that deleteByFilter removed. */
  readonly deleted: readonly string[];
  /** Ids still live. */
  readonly live: readonly string[];
  readonly keys: {
    readonly segment: string;
    readonly segmentIndex: string;
    readonly segmentSnapshot: string;
    readonly segmentSidecar: string;
    readonly batch: string;
    readonly batchSnapshot: string;
  };
}

/**
 * A compacted segment (with its query index), two stored log batches after it, and a deleteByFilter that
 * tombstones rows in all three (so each has a live sidecar and a published snapshot).
 */
export async function buildFixture(storage: StorageProvider): Promise<Fixture> {
  const engine = engineOn(storage);
  await engine.createNamespace(NS);
  const ids: string[] = [];
  for (let b = 0; b < 3; b++) {
    const docs = Array.from({ length: 20 }, (_, i) => ({ id: `d${String(b * 20 + i).padStart(3, "0")}`, vector: [b + 1, i + 1], attributes: { even: i % 2 === 0 } }));
    ids.push(...docs.map((d) => d.id));
    await engine.upsert(NS, docs);
  }
  await engine.compact(NS, { force: true });
  for (let b = 0; b < 2; b++) {
    const docs = Array.from({ length: 10 }, (_, i) => ({ id: `t${String(b * 10 + i).padStart(3, "0")}`, vector: [i + 1, b + 1], attributes: { even: i % 2 === 0 } }));
    ids.push(...docs.map((d) => d.id));
    await engine.upsert(NS, docs);
  }
  const result = await engine.deleteByFilter(NS, ["even", "Eq", true]);
  expect(result.deleted).toBe(40);
  const manifest = await engine.manifest(NS);
  const [segment, batch] = manifest.containers;
  expect(segment?.kind).toBe("SEGMENT");
  expect(batch?.kind).toBe("LOG_BATCH");
  const extra = (ref: typeof segment, name: string) => ref?.extra?.[name] as string;
  const keys = {
    segment: segment?.key as string,
    segmentIndex: extra(segment, "index_key"),
    segmentSnapshot: extra(segment, "tombstones_snapshot"),
    segmentSidecar: segment?.tombstonesKey as string,
    batch: batch?.key as string,
    batchSnapshot: extra(batch, "tombstones_snapshot"),
  };
  for (const [name, key] of Object.entries(keys)) {
    expect(typeof key, name).toBe("string");
    expect(await storage.head(key), name).toBeDefined();
  }
  const deleted = ids.filter((id) => Number(id.slice(1)) % 2 === 0);
  const live = ids.filter((id) => Number(id.slice(1)) % 2 === 1);
  // Sanity: the fixture reads right before anything is removed.
  const fresh = engineOn(storage);
  expect((await fresh.get(NS, deleted)).every((d) => d === null)).toBe(true);
  expect((await fresh.getNamespace(NS)).docCount).toBe(live.length);
  return { deleted, live, keys };
}
