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
 *   anything else                             -> "unknown" (OutcomeUnknown).
 *
 * Why "anything else" cannot be decided: the re-read comes after the answer
 * was lost, and other writers may have written in between. For an update,
 * an object at a third etag (or a deleted key) is what we see both when
 * another writer won the race (ours was refused) and when ours landed and
 * another writer then updated, overwrote or deleted it (they read our
 * version: an update can only follow the version it read). For a create,
 * another object under the key is what we see both when another create won
 * and when ours landed and was then replaced (an update or an overwrite
 * after ours, or a delete and a new create). Only a caller that knows its
 * key is never replaced once created (an immutable, create-only key) may
 * conclude "not ours" from other bytes; the provider cannot know that, so it
 * reports OutcomeUnknownError, never a definite AlreadyExists or
 * PreconditionFailed. (Under an If-Match race RGW answers most losers with
 * 500, so losers of real races often get OutcomeUnknown: callers re-read and
 * decide, e.g. by re-applying an idempotent change to what they read.)
 *
 * A create that finds the key absent is "notLanded" although ours could
 * have landed and been deleted since: retrying it is the same as our write
 * arriving late, which a create-only write must tolerate anyway.
 *
 * Why MD5: the ETag of a single-part PutObject is the MD5 of its body on AWS
 * S3 (SSE-S3 or no encryption) and on Ceph RGW. With SSE-KMS/SSE-C the ETag
 * is not an MD5, the comparison never matches, and a landed write is
 * reported as unknown (the caller re-reads and decides).
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
  | { kind: "unknown"; current: { etag: string } | null };

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
  if (mode.kind === "create") return current === null ? { kind: "notLanded" } : { kind: "unknown", current };
  if (current !== null && sameEtag(current.etag, mode.etag)) return { kind: "notLanded" };
  return { kind: "unknown", current };
}
