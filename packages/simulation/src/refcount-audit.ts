/**
 * Reference counts against the truth, read straight from the shared store
 * (an independent computation, not the engine's):
 *
 * - the truth: for every live namespace of the project (latest manifest not
 *   deleted), every retained manifest version of its current incarnation
 *   (versions after the last deleted one); each container key and query
 *   index key it references is held by that namespace's incarnation
 *   (manifest extra `incarnation`, else `created-<createdAt>`);
 * - the record: the refcount shards (`<org>/<project>/_project/refcounts/`),
 *   each entry the set of holders (wal-format RefcountTable, `holders` extra);
 *   an object with no entry is held by its owner (the namespace whose root
 *   its key is under) alone.
 *
 * `refcountProblems(..., "never-below")` (every 25 steps and at the end):
 * every true holder of a key is recorded (so the count is never below the
 * true count), or the key has no entry and is held by its owner alone.
 * `"exact"` (after a fault-free `repair` at the end): the record is exactly
 * the truth: an entry with exactly the true holders for every key held by
 * more than its owner alone, and no other entry.
 */
import { manifestVersionOf, parseNamespacePath } from "@skerry/namespace-engine";
import type { StorageProvider } from "@skerry/storage-providers";
import { decodeManifest, decodeRefcountTable, type Manifest } from "@skerry/wal-format";

export interface TrueHolders {
  /** Container or index key -> incarnations referencing it in a retained version. */
  readonly holders: Map<string, Set<string>>;
  /** Namespace root (`org/project/ns/name/`) -> its live incarnation. */
  readonly owners: Map<string, string>;
}

function incarnationOf(m: Manifest): string {
  const id = (m.extra as Record<string, unknown> | undefined)?.["incarnation"];
  return typeof id === "string" ? id : `created-${m.createdAt}`;
}

export async function trueHolders(store: StorageProvider, org: string, project: string): Promise<TrueHolders> {
  const byNamespace = new Map<string, string[]>();
  const nsPrefix = `${org}/${project}/ns/`;
  for await (const meta of store.list(nsPrefix)) {
    const name = meta.key.slice(nsPrefix.length).split("/")[0] as string;
    if (!meta.key.includes("/manifests/")) continue;
    let keys = byNamespace.get(name);
    if (keys === undefined) byNamespace.set(name, (keys = []));
    keys.push(meta.key);
  }
  const holders = new Map<string, Set<string>>();
  const owners = new Map<string, string>();
  for (const [name, keys] of byNamespace) {
    const p = parseNamespacePath(`${org}/${project}/${name}`);
    const manifests: Manifest[] = [];
    for (const key of keys) {
      if (manifestVersionOf(p, key) === undefined) continue;
      manifests.push(decodeManifest((await store.get(key)).bytes));
    }
    manifests.sort((a, b) => b.version - a.version);
    const latest = manifests[0];
    if (latest === undefined || latest.deletedAt !== undefined) continue;
    const lastDeleted = manifests.find((m) => m.deletedAt !== undefined)?.version ?? 0;
    owners.set(`${nsPrefix}${name}/`, incarnationOf(latest));
    for (const m of manifests) {
      if (m.version <= lastDeleted) break;
      const holder = incarnationOf(m);
      for (const c of m.containers) {
        // A carried batch's key is held like any container's (its object may exist: stored by GC or a branch).
        const index = c.extra?.["index_key"];
        for (const key of typeof index === "string" ? [c.key, index] : [c.key]) {
          let set = holders.get(key);
          if (set === undefined) holders.set(key, (set = new Set()));
          set.add(holder);
        }
      }
    }
  }
  return { holders, owners };
}

/** Recorded holders per key, from every refcount shard of the project. */
export async function recordedHolders(store: StorageProvider, org: string, project: string): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  for await (const meta of store.list(`${org}/${project}/_project/refcounts/`)) {
    const table = decodeRefcountTable((await store.get(meta.key)).bytes);
    const holders = table.extra?.["holders"];
    if (holders === null || typeof holders !== "object" || Array.isArray(holders)) continue;
    for (const [key, set] of Object.entries(holders)) {
      if (set === null || typeof set !== "object" || Array.isArray(set)) continue;
      out.set(key, new Set(Object.keys(set)));
    }
  }
  return out;
}

function ownedAlone(key: string, set: ReadonlySet<string>, owners: ReadonlyMap<string, string>): boolean {
  if (set.size !== 1) return false;
  const [holder] = set;
  for (const [root, owner] of owners) if (key.startsWith(root)) return owner === holder;
  return false;
}

export type RefcountCheck = "never-below" | "exact";

export async function refcountProblems(store: StorageProvider, org: string, project: string, check: RefcountCheck): Promise<string[]> {
  const truth = await trueHolders(store, org, project);
  const recorded = await recordedHolders(store, org, project);
  const problems: string[] = [];
  for (const [key, set] of truth.holders) {
    const entry = recorded.get(key);
    if (entry === undefined) {
      if (!ownedAlone(key, set, truth.owners)) problems.push(`${key}: no entry, but held by ${[...set].join(",")} (count 1 < ${set.size}, or not its owner)`);
      continue;
    }
    const missing = [...set].filter((h) => !entry.has(h));
    if (missing.length > 0) problems.push(`${key}: holders ${missing.join(",")} not recorded (count ${entry.size}, true ${set.size})`);
    else if (check === "exact" && entry.size !== set.size) problems.push(`${key}: count ${entry.size} after repair, true ${set.size}`);
    else if (check === "exact" && ownedAlone(key, set, truth.owners)) problems.push(`${key}: an entry after repair, though its owner holds it alone`);
  }
  if (check === "exact") {
    for (const [key, entry] of recorded) if (!truth.holders.has(key)) problems.push(`${key}: an entry (count ${entry.size}) after repair, but no retained manifest references it`);
  }
  return problems;
}
