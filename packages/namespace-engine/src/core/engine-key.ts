/**
 * Whether a key under a namespace root is a name the engine writes (see storage-layout.ts and the
 * wal-engine's layout):
 *
 *   manifests/<20 digits>.json               log/<id>.log
 *   segments/<id>.arrow | <id>.qidx          compactions/<id>.json
 *   superfiles/<id>.tombstones               superfiles/<id>.<32 hex>.tsnap
 *   wal/mutations/<32 hex>.json | .arrow     waiting/<id>.json
 *   tailidx/<id>/<64 hex>.qidx               (a persisted tail chunk index, tail-chunk-index-store.ts)
 *
 * `<id>` is a UUID-like token (ASCII letters, digits, `-`, `_`). Anything else under a namespace (a
 * README.txt, a .DS_Store, an editor's or a copy tool's temp file) is foreign: listings skip it, repair
 * reports it and never sweeps it.
 */
import { WalLayout } from "@skerry/wal-engine";
import type { NamespacePath } from "./namespace-path.ts";
import { manifestVersionOf, namespaceRoot } from "./storage-layout.ts";

const ID = "[0-9A-Za-z_-]+";
const PATTERNS = [
  new RegExp(`^log/${ID}\\.log$`),
  new RegExp(`^segments/${ID}\\.(arrow|qidx)$`),
  new RegExp(`^compactions/${ID}\\.json$`),
  new RegExp(`^waiting/${ID}\\.json$`),
  new RegExp(`^superfiles/${ID}\\.tombstones$`),
  new RegExp(`^superfiles/${ID}\\.[0-9a-f]{32}\\.tsnap$`),
  new RegExp(`^tailidx/${ID}/[0-9a-f]{64}\\.qidx$`),
];

/** True when `key` is a name the engine writes under the root of `path`. */
export function isEngineObjectKey(path: NamespacePath, key: string): boolean {
  const root = `${namespaceRoot(path)}/`;
  if (!key.startsWith(root)) return false;
  const rest = key.slice(root.length);
  if (rest.startsWith("manifests/")) return manifestVersionOf(path, key) !== undefined;
  if (rest.startsWith("wal/")) return new WalLayout(namespaceRoot(path)).parseMutationKey(key) !== null;
  return PATTERNS.some((pattern) => pattern.test(rest));
}

const IMMUTABLE = new RegExp(`/(log/${ID}\\.log|segments/${ID}\\.(arrow|qidx)|superfiles/${ID}\\.[0-9a-f]{32}\\.tsnap|tailidx/${ID}/[0-9a-f]{64}\\.qidx)$`);

/**
 * True for keys of objects that never change once written (log batches, segments, query indexes, tombstone
 * snapshots: each named by a fresh id or its content hash, written create-only): what the block cache may
 * keep. A persisted tail chunk index is named by what it indexes; a copy found corrupt is replaced by one
 * built by another process, which may differ but is as valid, so a cached copy is never wrong either. Manifests, sidecars, intents, WAL documents and registry entries are rewritten or deleted and
 * re-created, so they are never cached.
 */
export function isImmutableEngineKey(key: string): boolean {
  return IMMUTABLE.test(key);
}
