/**
 * Checks of the store itself, read straight from the shared (fault-free)
 * provider rather than through any engine:
 *
 * - every manifest of a live namespace (every retained version of its
 *   current incarnation) references only objects that exist: its
 *   containers and segment indexes (a tombstone sidecar may be absent: its
 *   key is committed before its first bit lands, and absent means empty);
 * - after recovery, every mutation WAL state doc is COMPLETE and every
 *   compaction intent is settled (COMMITTED or ABANDONED).
 */
import { compactionPrefix, manifestVersionOf, namespaceRoot, parseNamespacePath } from "@skerry/namespace-engine";
import type { StorageProvider } from "@skerry/storage-providers";
import { decodeCompactionIntent, decodeManifest, decodeMutationState, type Manifest } from "@skerry/wal-format";

async function keysUnder(store: StorageProvider, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const meta of store.list(prefix)) out.push(meta.key);
  return out;
}

/** Problems with the manifests of namespace `path` (empty when all is well). */
export async function auditManifests(store: StorageProvider, path: string): Promise<string[]> {
  const p = parseNamespacePath(path);
  const root = namespaceRoot(p);
  const all = new Set(await keysUnder(store, `${root}/`));
  const manifests: Manifest[] = [];
  for (const key of all) {
    if (manifestVersionOf(p, key) === undefined) continue;
    const { bytes } = await store.get(key);
    manifests.push(decodeManifest(bytes));
  }
  manifests.sort((a, b) => b.version - a.version);
  const latest = manifests[0];
  if (latest === undefined || latest.deletedAt !== undefined) return [];
  // The current incarnation: versions after the last deleted one.
  const lastDeleted = manifests.find((m) => m.deletedAt !== undefined)?.version ?? 0;
  const problems: string[] = [];
  // A branch references its source's objects where they are (under the source's root).
  const exists = async (key: string) => all.has(key) || (!key.startsWith(`${root}/`) && (await store.head(key)) !== null);
  for (const m of manifests) {
    if (m.version <= lastDeleted) break;
    for (const c of m.containers) {
      // An inline batch's bytes are in the manifest itself: there is no object to find.
      if (c.inline === undefined && !(await exists(c.key))) problems.push(`v${m.version} container ${c.key} is missing`);
      // tombstones_key may name a sidecar not written yet (absent = no tombstones): committed before the first bit lands.
      const index = c.extra?.["index_key"];
      if (typeof index === "string" && !(await exists(index))) problems.push(`v${m.version} index ${index} is missing`);
    }
  }
  return problems;
}

/** WAL docs not COMPLETE and compaction intents not settled, of namespace `path`. */
export async function auditSettled(store: StorageProvider, path: string): Promise<string[]> {
  const p = parseNamespacePath(path);
  const problems: string[] = [];
  for (const key of await keysUnder(store, `${namespaceRoot(p)}/wal/mutations/`)) {
    if (!key.endsWith(".json")) continue;
    const { bytes } = await store.get(key);
    const doc = decodeMutationState(bytes);
    if (doc.state !== "COMPLETE") problems.push(`WAL ${key} is ${doc.state}`);
  }
  for (const key of await keysUnder(store, compactionPrefix(p))) {
    if (!key.endsWith(".json")) continue;
    const { bytes } = await store.get(key);
    const intent = decodeCompactionIntent(bytes);
    if (intent.state !== "COMMITTED" && intent.state !== "ABANDONED") problems.push(`compaction ${key} is ${intent.state}`);
  }
  return problems;
}
