/**
 * Reference-count checks shared by the sharing tests: the true holders of
 * every shared-kind object computed independently from the stored
 * manifests, compared with what the refcount shards record.
 */
import { expect } from "vitest";
import type { StorageProvider } from "@skerry/storage-providers";
import { isNamespaceNotFound, type NamespaceEngine } from "@skerry/namespace-engine";

export interface TrueReferences {
  /** Shared-kind key (container or index) -> incarnations referencing it in a retained version. */
  readonly holders: Map<string, Set<string>>;
  /** Namespace root ("org/project/ns/name/") -> its live incarnation. */
  readonly owners: Map<string, string>;
  /** Every object key any retained manifest references. */
  readonly keys: Set<string>;
}

function incarnation(extra: Record<string, unknown> | undefined, createdAt: number): string {
  const id = extra?.["incarnation"];
  return typeof id === "string" ? id : `created-${createdAt}`;
}

export async function trueReferences(engine: NamespaceEngine, org: string, project: string): Promise<TrueReferences> {
  const holders = new Map<string, Set<string>>();
  const owners = new Map<string, string>();
  const keys = new Set<string>();
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
        // An inline batch references no object (its bytes ride in the manifest).
        const objects = c.inline === undefined ? [c.key] : [];
        for (const key of typeof index === "string" ? [...objects, index] : objects) {
          let set = holders.get(key);
          if (set === undefined) holders.set(key, (set = new Set()));
          set.add(holder);
          keys.add(key);
        }
        if (c.tombstonesKey !== undefined) keys.add(c.tombstonesKey);
        const snapshot = c.extra?.["tombstones_snapshot"];
        if (typeof snapshot === "string") keys.add(snapshot);
      }
    }
  }
  return { holders, owners, keys };
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

/** Every object a retained manifest of the project references exists. */
export async function expectNoMissingObjects(engine: NamespaceEngine, storage: StorageProvider, org: string, project: string, at = ""): Promise<void> {
  const truth = await trueReferences(engine, org, project);
  for (const key of truth.keys) {
    // Live sidecars may legitimately be absent (no bit set yet); every other key must exist.
    if (key.endsWith(".tombstones")) continue;
    expect(await storage.head(key), `${at} ${key}`).not.toBeNull();
  }
}
