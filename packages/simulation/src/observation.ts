/**
 * Reading documents back into the auditor's terms: a document's `w`, `p`
 * and `g` attributes name the operations that produced it (see
 * owned-docs.ts), and the engine's typed errors sorted into what they tell
 * the model (definite failure, unknown outcome, or a bug).
 */
import {
  isDocumentNotFound,
  isInvalidArgument,
  isNamespaceExists,
  isNamespaceNotFound,
  isVersionConflict,
  isConflict,
  isStorageFailure,
  type StoredDocument,
} from "@skerry/namespace-engine";
import { isStorageError } from "@skerry/storage-providers";
import { isWalEngineError } from "@skerry/wal-engine";
import type { Observation, Row } from "./owned-docs.ts";

export function rowOf(doc: StoredDocument): Row {
  const a = doc.attributes ?? {};
  const w = a["w"];
  const p = a["p"];
  const g = a["g"];
  return { w: typeof w === "string" ? w : "?", p: typeof p === "string" ? p : null, g: typeof g === "string" ? g : null };
}

/** The documents of `docs` whose id starts with `prefix`, as an observation. */
export function observe(docs: readonly StoredDocument[], prefix: string): Observation {
  const out = new Map<string, Row>();
  for (const d of docs) if (d.id.startsWith(prefix)) out.set(d.id, rowOf(d));
  return out;
}

/** WAL pipeline failures that leave the mutation for recovery (not corruption). */
const UNKNOWN_WAL_CODES = new Set(["CasFailed", "Storage", "LeaseConflict", "SegmentSealed", "AlreadyExists", "NotFound"]);

export type ErrorClass = "definite" | "unknown" | "unexpected";

/**
 * Definite: the engine decided the write did not apply (it read the store
 * to decide). Unknown: a storage failure or lost race budget, or a crash:
 * the write may or may not have landed. Unexpected: anything else, which
 * under injected storage faults alone means a bug (corrupt data, a TypeError).
 */
export function classify(error: unknown): ErrorClass {
  if (isVersionConflict(error) || isDocumentNotFound(error) || isNamespaceNotFound(error) || isNamespaceExists(error)) return "definite";
  if (isInvalidArgument(error)) return "definite";
  if (isStorageFailure(error) || isConflict(error)) return "unknown";
  if (isWalEngineError(error)) return UNKNOWN_WAL_CODES.has(error.code) ? "unknown" : "unexpected";
  // A provider error that escaped the engine's wrapping: retryable ones are still an unknown outcome.
  if (isStorageError(error) && error.retryable) return "unknown";
  return "unexpected";
}

export function errorName(error: unknown): string {
  if (error !== null && typeof error === "object") {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string") return code;
    if (error instanceof Error) return error.name;
  }
  return String(error);
}

export function errorText(error: unknown): string {
  const text = error instanceof Error ? `${errorName(error)}: ${error.message}` : String(error);
  // A tombstone snapshot's name hashes the sidecar's etag, and LocalFsStorage's etags are random (not drawn
  // from the seed): mask the hash so one seed's trace replays identically on local-fs.
  return text.replace(/\.[0-9a-f]{32}\.tsnap/g, ".<hash>.tsnap");
}
