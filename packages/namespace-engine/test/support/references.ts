/**
 * Reference-count checks shared by the sharing tests: the true holders of
 * every shared-kind object computed independently from the stored
 * manifests, compared with what the refcount shards record.
 */
import { expect } from "vitest";
import type { StorageProvider } from "@skerry/storage-providers";
import type { ContainerRef } from "@skerry/wal-format";
import { isNamespaceNotFound, type NamespaceEngine } from "@skerry/namespace-engine";

export interface TrueReferences {
  /** Shared-kind key (container or index) -> incarnations referencing it in a retained version. */
  readonly holders: Map<string, Set<string>>;
  /** Namespace root ("org/project/ns/name/") -> its live incarnation. */
  readonly owners: Map<string, string>;
  /** Every object key any retained manifest references (carried batches' keys are in `carried` instead). */
  readonly keys: Set<string>;
  /** Carried batches' keys -> the key of the manifest that carries them (their bytes are there or at the key). */
  readonly carried: Map<string, string>;
}

/** The manifest key of version `version` of the namespace whose root `batchKey` is under (storage-layout). */
function carrierKey(batchKey: string, version: number): string {
  const root = batchKey.slice(0, batchKey.indexOf("/log/"));
  return `${root}/manifests/${String(Number.MAX_SAFE_INTEGER - version).padStart(20, "0")}.json`;
}

function incarnation(extra: Record<string, unknown> | undefined, createdAt: number): string {
  const id = extra?.["incarnation"];
  return typeof id === "string" ? id : `created-${createdAt}`;
}

export async function trueReferences(engine: NamespaceEngine, org: string, project: string): Promise<TrueReferences> {
  const holders = new Map<string, Set<string>>();
  const owners = new Map<string, string>();
  const keys = new Set<string>();
  const carried = new Map<string, string>();
  for (const name of await engine.listNamespaces(org, project)) {
    const path = `${org}/${project}/${name}`;
    for (const version of await engine.listVersions(path)) {
      const manifest = await engine.manifest(path, { atVersion: version }).catch((error) => {
        if (isNamespaceNotFound(error) || (error as { code?: string }).code === "VersionNotFound") return undefined;
        throw error;
      });
      if (manifest === undefined) continue;
      const holder = incarnation(manifest.extra as Record<string, unknown> | undefined, manifest.createdAt);
      owners.set(`${org}/${project}/ns/${name}/`, holder);
      for (const c of manifest.containers) {
        const index = c.extra?.["index_key"];
        // A carried batch's key is held like any container's; its bytes may be in the carrier manifest.
        for (const key of typeof index === "string" ? [c.key, index] : [c.key]) {
          let set = holders.get(key);
          if (set === undefined) holders.set(key, (set = new Set()));
          set.add(holder);
          if (key === c.key && c.carrierVersion !== undefined) carried.set(key, carrierKey(key, c.carrierVersion));
          else keys.add(key);
        }
        if (c.tombstonesKey !== undefined) keys.add(c.tombstonesKey);
        const snapshot = c.extra?.["tombstones_snapshot"];
        if (typeof snapshot === "string") keys.add(snapshot);
      }
    }
  }
  for (const key of carried.keys()) keys.delete(key);
  return { holders, owners, keys, carried };
}

function ownedAlone(key: string, set: Set<string>, owners: Map<string, string>): boolean {
  if (set.size !== 1) return false;
  const [holder] = set;
  for (const [root, owner] of owners) if (key.startsWith(root) && owner === holder) return true;
  return false;
}

/** Refcounts are never below the true count (an absent entry counts as its owner's one reference). */
export async function expectCountsNotBelowTruth(engine: NamespaceEngine, org: string, project: string, at = ""): Promise<void> {
  const truth = await trueReferences(engine, org, project);
  const recorded = await engine.refcounts(org, project);
  for (const [key, set] of truth.holders) {
    const count = recorded.get(key) ?? 1;
    expect(count, `${at} ${key}`).toBeGreaterThanOrEqual(set.size);
    if (!recorded.has(key)) expect(ownedAlone(key, set, truth.owners), `${at} ${key} has no entry but is not held by its owner alone`).toBe(true);
  }
}

/** Refcounts are exactly the truth: an entry for every shared object, none for objects held by their owner alone. */
export async function expectExactCounts(engine: NamespaceEngine, org: string, project: string, at = ""): Promise<void> {
  const truth = await trueReferences(engine, org, project);
  const expected = new Map<string, number>();
  for (const [key, set] of truth.holders) if (!ownedAlone(key, set, truth.owners)) expected.set(key, set.size);
  expect(await engine.refcounts(org, project), at).toEqual(expected);
}

/** Every object a retained manifest of the project references exists; a carried batch's in its carrier or at its key. */
export async function expectNoMissingObjects(engine: NamespaceEngine, storage: StorageProvider, org: string, project: string, at = ""): Promise<void> {
  const truth = await trueReferences(engine, org, project);
  for (const key of truth.keys) {
    // Live sidecars may legitimately be absent (no bit set yet); every other key must exist.
    if (key.endsWith(".tombstones")) continue;
    expect(await storage.head(key), `${at} ${key}`).not.toBeNull();
  }
  for (const [key, carrier] of truth.carried) {
    const found = (await storage.head(carrier)) !== null || (await storage.head(key)) !== null;
    expect(found, `${at} carried ${key} (carrier ${carrier})`).toBe(true);
  }
}

/** True when the bytes of container `ref` can be found: in the ref itself, in its carrier manifest, or at its key. */
export async function containerIsReachable(storage: StorageProvider, ref: ContainerRef): Promise<boolean> {
  if (ref.inline !== undefined) return true;
  if (ref.carrierVersion !== undefined && (await storage.head(carrierKey(ref.key, ref.carrierVersion))) !== null) return true;
  return (await storage.head(ref.key)) !== null;
}
