/**
 * Checks of the store itself, read straight from the shared (fault-free)
 * provider rather than through any engine:
 *
 * - every manifest of a live namespace (every retained version of its
 *   current incarnation) references only objects that exist: its
 *   containers and segment indexes (a tombstone sidecar may be absent: its
 *   key is committed before its first bit lands, and absent means empty);
 *   a carried write batch exists in its carrier manifest (which must hold
 *   bytes hashing to the ref's content hash) or at its key;
 * - after recovery, every mutation WAL state doc is COMPLETE and every
 *   compaction intent is settled (COMMITTED or ABANDONED).
 */
import { compactionPrefix, manifestKey, manifestVersionOf, namespaceRoot, parseNamespacePath } from "@skerry/namespace-engine";
import type { StorageProvider } from "@skerry/storage-providers";
import { type ContainerRef, contentHash, decodeCompactionIntent, decodeManifest, decodeMutationState, type Manifest } from "@skerry/wal-format";

async function keysUnder(store: StorageProvider, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const meta of store.list(prefix)) out.push(meta.key);
  return out;
}

/** Why carried batch `ref` cannot be read (its carrier manifest holds no matching bytes, and its key no object), or undefined. */
async function carriedProblem(store: StorageProvider, ref: ContainerRef, exists: (key: string) => Promise<boolean>): Promise<string | undefined> {
  if (ref.inline !== undefined) return contentHash(ref.inline) === ref.contentHash ? undefined : `carried batch ${ref.id} has bytes that do not hash to its ref`;
  const [org, project, ns, namespace] = ref.key.split("/");
  if (ns !== "ns" || org === undefined || project === undefined || namespace === undefined) return `carried batch ${ref.key} is not under a namespace root`;
  const carrierKey = manifestKey({ org, project, namespace }, ref.carrierVersion as number);
  const carrier = await store.get(carrierKey).catch(() => undefined);
  if (carrier !== undefined) {
    const held = decodeManifest(carrier.bytes).containers.find((c) => c.id === ref.id)?.inline;
    if (held !== undefined && contentHash(held) === ref.contentHash) return undefined;
    return `carrier ${carrierKey} does not hold batch ${ref.id}`;
  }
  return (await exists(ref.key)) ? undefined : `carried batch ${ref.key} is missing (carrier version ${ref.carrierVersion} gone, nothing at its key)`;
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
      if (c.carrierVersion !== undefined) {
        const problem = await carriedProblem(store, c, exists);
        if (problem !== undefined) problems.push(`v${m.version} ${problem}`);
      } else if (!(await exists(c.key))) problems.push(`v${m.version} container ${c.key} is missing`);
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
