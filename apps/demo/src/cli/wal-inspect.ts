/**
 * WAL forensics for one namespace: its mutation state documents
 * (`<nsroot>/wal/mutations/<wal_id>.json`), their `.arrow` sidecars and the
 * tombstone sidecars (`<nsroot>/superfiles/<id>.tombstones`), read straight
 * from storage and decoded through @skerry/wal-engine / @skerry/wal-format
 * so a document that does not decode is reported with the decoder's reason
 * instead of being skipped.
 */
import { namespaceRoot, parseNamespacePath } from "@skerry/namespace-engine";
import type { StorageProvider } from "@skerry/storage-providers";
import { decodeStateDoc, WalLayout } from "@skerry/wal-engine";
import { decodeTombstoneSidecar } from "@skerry/wal-format";
import { CliError } from "./cli-storage.ts";

export interface WalEntry {
  walId: string;
  key: string;
  state?: string;
  opKind?: string;
  createdAt?: number;
  targets?: number;
  tombstoneProgress?: number;
  leaseOwner?: string;
  leaseExpiresAt?: number;
  hasArrowSidecar: boolean;
  error?: string;
}

export interface SidecarEntry {
  key: string;
  size: number;
  positions?: number;
  sealed?: boolean;
  error?: string;
}

const dec = new TextDecoder();

function layoutOf(path: string): WalLayout {
  return new WalLayout(namespaceRoot(parseNamespacePath(path)));
}

function summarize(entry: WalEntry, bytes: Uint8Array): void {
  try {
    const doc = decodeStateDoc(bytes, entry.key);
    entry.state = doc.state;
    entry.opKind = doc.opKind;
    entry.createdAt = doc.createdAt;
    entry.targets = doc.targetIds.length;
    entry.tombstoneProgress = doc.tombstoneProgress.length;
    if (doc.lease !== undefined) {
      entry.leaseOwner = doc.lease.owner.toString(16).padStart(32, "0");
      entry.leaseExpiresAt = doc.lease.expiresAt;
    }
  } catch (error) {
    entry.error = (error as Error).message;
  }
}

export async function listWal(storage: StorageProvider, path: string): Promise<WalEntry[]> {
  return (await listWalPage(storage, path, {})).entries;
}

export interface WalPage {
  entries: WalEntry[];
  /** The name (below the mutations prefix) of the last object read: the next page lists after it; undefined when this is the last page. */
  next?: string | undefined;
}

/**
 * The WAL entries in key order (a WAL id's state document and `.arrow`
 * sidecar are neighbours, so an entry is never split), at most `limit`
 * of them, after the object named `after` (a page's `next`).
 */
export async function listWalPage(storage: StorageProvider, path: string, options: { after?: string | undefined; limit?: number | undefined }): Promise<WalPage> {
  const layout = layoutOf(path);
  const byId = new Map<string, WalEntry>();
  const startAfter = options.after === undefined ? undefined : `${layout.mutationsPrefix}${options.after}`;
  let last: string | undefined;
  for await (const meta of storage.list(layout.mutationsPrefix, { startAfter })) {
    const parsed = layout.parseMutationKey(meta.key);
    const name = meta.key.slice(layout.mutationsPrefix.length);
    const walId = parsed === null ? name : parsed.walId.toString(16).padStart(32, "0");
    let entry = byId.get(walId);
    if (entry === undefined) {
      if (options.limit !== undefined && byId.size >= options.limit) return { entries: [...byId.values()], next: last };
      entry = { walId, key: meta.key, hasArrowSidecar: false };
      byId.set(walId, entry);
    }
    last = name;
    if (parsed === null) entry.error = "not a WAL object name";
    else if (parsed.kind === "arrow") entry.hasArrowSidecar = true;
    else {
      entry.key = meta.key;
      summarize(entry, (await storage.get(meta.key)).bytes);
    }
  }
  return { entries: [...byId.values()] };
}

/** The state document as stored (snake_case wire JSON) plus the decoder's verdict. */
export async function showWal(storage: StorageProvider, path: string, walId: string): Promise<{ key: string; document: unknown; valid: boolean; error?: string }> {
  const layout = layoutOf(path);
  if (!/^[0-9a-f]{32}$/.test(walId)) throw new CliError(`not a WAL id: ${JSON.stringify(walId)}`, "WAL ids are 32 lowercase hex characters; list them with `skerry wal list <path>`");
  const key = `${layout.mutationsPrefix}${walId}.json`;
  let bytes: Uint8Array;
  try {
    bytes = (await storage.get(key)).bytes;
  } catch (error) {
    if ((error as { code?: unknown }).code === "NotFound") throw new CliError(`no WAL state document ${key}`, "list them with `skerry wal list <path>`");
    throw error;
  }
  let document: unknown;
  try {
    document = JSON.parse(dec.decode(bytes));
  } catch {
    return { key, document: dec.decode(bytes), valid: false, error: "not JSON" };
  }
  try {
    decodeStateDoc(bytes, key);
    return { key, document, valid: true };
  } catch (error) {
    return { key, document, valid: false, error: (error as Error).message };
  }
}

export async function listSidecars(storage: StorageProvider, path: string): Promise<SidecarEntry[]> {
  const layout = layoutOf(path);
  const out: SidecarEntry[] = [];
  for await (const meta of storage.list(layout.superfilesPrefix)) {
    const entry: SidecarEntry = { key: meta.key, size: meta.size };
    try {
      const sidecar = decodeTombstoneSidecar((await storage.get(meta.key)).bytes);
      entry.positions = sidecar.positions.length;
      entry.sealed = sidecar.seal !== undefined;
    } catch (error) {
      entry.error = (error as Error).message;
    }
    out.push(entry);
  }
  return out;
}
