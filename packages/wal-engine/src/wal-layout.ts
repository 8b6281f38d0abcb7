/**
 * Where WAL objects live under a root prefix.
 *
 *   <root>/wal/mutations/<wal_id_hex>.json       mutation state document
 *   <root>/wal/mutations/<wal_id_hex>.arrow      UPDATE row-batch sidecar
 *   <root>/superfiles/<segment_id>.tombstones    a segment's tombstone sidecar
 *
 * `<root>` is a key prefix such as `acme/proj/ns1` (no leading or trailing
 * slash; empty for the store's top level). The 32-hex wal id sorts by time,
 * so a listing of `wal/mutations/` is oldest first.
 *
 * Errors: `normalizeRoot` throws `WalInvalidInputError` for a root that
 * would produce invalid keys.
 */
import { idToHex, isIdHex, type WalId, walIdFromHex } from "@skerry/wal-format";
import { WalInvalidInputError } from "./errors.ts";

export const WAL_MUTATIONS_DIR = "wal/mutations";
export const SUPERFILES_DIR = "superfiles";
export const STATE_SUFFIX = ".json";
export const ARROW_SUFFIX = ".arrow";
export const TOMBSTONES_SUFFIX = ".tombstones";

/** Strips surrounding slashes; rejects `.`/`..` segments and empty segments. */
export function normalizeRoot(root: string): string {
  const trimmed = root.replace(/^\/+|\/+$/g, "");
  if (trimmed === "") return "";
  for (const part of trimmed.split("/")) {
    if (part === "" || part === "." || part === "..") {
      throw new WalInvalidInputError(`invalid root prefix ${JSON.stringify(root)}`);
    }
  }
  return trimmed;
}

function join(root: string, rest: string): string {
  return root === "" ? rest : `${root}/${rest}`;
}

/** Key helpers bound to one normalized root. */
export class WalLayout {
  readonly root: string;
  /** Listing prefix of state docs and arrow sidecars (ends with `/`). */
  readonly mutationsPrefix: string;
  /** Listing prefix of tombstone sidecars (ends with `/`). */
  readonly superfilesPrefix: string;

  constructor(root: string) {
    this.root = normalizeRoot(root);
    this.mutationsPrefix = `${join(this.root, WAL_MUTATIONS_DIR)}/`;
    this.superfilesPrefix = `${join(this.root, SUPERFILES_DIR)}/`;
  }

  stateKey(walId: WalId): string {
    return `${this.mutationsPrefix}${idToHex(walId)}${STATE_SUFFIX}`;
  }

  arrowKey(walId: WalId): string {
    return `${this.mutationsPrefix}${idToHex(walId)}${ARROW_SUFFIX}`;
  }

  tombstonesKey(segmentId: string): string {
    return `${this.superfilesPrefix}${segmentId}${TOMBSTONES_SUFFIX}`;
  }

  /** Parses a listed key under `mutationsPrefix`; null for anything else. */
  parseMutationKey(key: string): { walId: WalId; kind: "state" | "arrow" } | null {
    if (!key.startsWith(this.mutationsPrefix)) return null;
    const name = key.slice(this.mutationsPrefix.length);
    for (const [suffix, kind] of [
      [STATE_SUFFIX, "state"],
      [ARROW_SUFFIX, "arrow"],
    ] as const) {
      if (!name.endsWith(suffix)) continue;
      const stem = name.slice(0, -suffix.length);
      // Only the canonical lowercase form: anything else is not ours.
      if (!isIdHex(stem) || stem !== stem.toLowerCase()) return null;
      return { walId: walIdFromHex(stem), kind };
    }
    return null;
  }

  /** Parses a listed key under `superfilesPrefix` into a segment id; null for other objects. */
  parseTombstonesKey(key: string): string | null {
    if (!key.startsWith(this.superfilesPrefix) || !key.endsWith(TOMBSTONES_SUFFIX)) return null;
    const stem = key.slice(this.superfilesPrefix.length, -TOMBSTONES_SUFFIX.length);
    return stem === "" || stem.includes("/") ? null : stem;
  }
}
