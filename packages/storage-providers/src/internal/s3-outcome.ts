/**
 * Deciding the outcome of a conditional S3 write whose answer was lost.
 *
 * A `create` (If-None-Match: *) or `update` (If-Match) that ends in a 409
 * ConditionalRequestConflict, a 5xx, a timeout or a dropped connection may or
 * may not have been applied. Guessing either way is wrong: reporting failure
 * for a write that landed makes a caller redo work (or worse, believe a lock
 * or a manifest version is someone else's); reporting success for a write
 * that did not land loses data. So S3Storage re-reads the object (HEAD) and
 * calls `resolveOutcome` with what it found:
 *
 *   stored etag == MD5 of the bytes we sent  -> "landed": our write is there.
 *   create, key absent                        -> "notLanded": safe to retry.
 *   update, still at the expected etag        -> "notLanded": safe to retry.
 *   anything else                             -> "lost": another writer won
 *                                                (AlreadyExists for create,
 *                                                PreconditionFailed for update,
 *                                                also when the key is gone).
 *
 * Why MD5: the ETag of a single-part PutObject is the MD5 of its body on AWS
 * S3 (SSE-S3 or no encryption) and on Ceph RGW. With SSE-KMS/SSE-C the ETag
 * is not an MD5, the comparison never matches, and a landed write is
 * reported as lost (safe for create/update: the caller re-reads and retries).
 *
 * Known limitation: two writers that send byte-identical bodies cannot be
 * told apart; if the other one's write is stored, ours is reported as landed.
 * Callers that need exactly-once semantics must make bodies unique (e.g. put
 * a writer id or a nonce in the document). Likewise an update whose body
 * equals the current content (MD5 == expected etag) is reported as landed.
 */
import { sameEtag } from "./s3-etag.ts";

export type ConditionalMode = { kind: "create" } | { kind: "update"; etag: string };

export type ConditionalOutcome =
  | { kind: "landed"; etag: string }
  | { kind: "notLanded" }
  | { kind: "lost"; current: { etag: string } | null };

/**
 * @param sentMd5 lowercase hex MD5 of the body we sent
 * @param current the object's meta as re-read now, or null when absent
 */
export function resolveOutcome(
  mode: ConditionalMode,
  sentMd5: string,
  current: { etag: string } | null,
): ConditionalOutcome {
  if (current !== null && sameEtag(current.etag, sentMd5)) return { kind: "landed", etag: current.etag };
  if (mode.kind === "create") return current === null ? { kind: "notLanded" } : { kind: "lost", current };
  if (current !== null && sameEtag(current.etag, mode.etag)) return { kind: "notLanded" };
  return { kind: "lost", current };
}
