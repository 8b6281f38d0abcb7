/**
 * WaitingClaims: a writer that keeps losing the manifest race makes itself
 * visible to the writers that keep winning it, so that they make room.
 *
 * Bounded streaks and backoff (lost-races.ts) leave the winners blind: a
 * winner commits on its cached base and never learns that a slower writer
 * (a new process loading cold, a slow connection) has been losing to it
 * for seconds. A claim is a small object under the namespace:
 *
 *     <org>/<project>/ns/<namespace>/waiting/<writer id>.json
 *     {"schema_version": 1, "writer_id": UUID, "namespace": "org/project/ns",
 *      "since": RFC 3339, "expires_at": RFC 3339}
 *
 * - Claim: a commit that has lost `CLAIM_AFTER_LOSSES` races puts its
 *   writer's claim (overwrite; the writer id is this engine's, a UUID drawn
 *   from the injected random when first needed), `since` = when the commit
 *   started and `expires_at` = now + `CLAIM_LEASE_MS` on the injected clock.
 *   It renews the claim once half the lease is spent (while it keeps
 *   losing), and deletes it when the commit ends (won, gave up, failed).
 *   The put runs during the loser's backoff wait, so it adds no latency.
 *   Every claim call is best effort: a failure is ignored (a claim left
 *   behind by a crash or a failed delete expires).
 * - Yield: a writer that saw contention on the namespace (lost a race,
 *   found another writer's commit or claim) in the contention window lists
 *   `waiting/` before every `CLAIM_CHECK_EVERY`th group and at every
 *   step-aside (write-committer.ts). While another writer's live claim is
 *   there (readable, `expires_at` after now), it waits (a step-aside delay)
 *   and lists again, for at most `MAX_YIELD_MS` per group; then it re-reads
 *   the latest manifest and commits. A writer that never saw contention
 *   never lists: a lone writer's commit stays one put.
 * - Claimants never yield (not to each other either): they race as before,
 *   with the others out of the way. A claim is advisory: it never blocks a
 *   commit for longer than `MAX_YIELD_MS`, and an unreadable claim, one of
 *   another `schema_version` or an expired one is ignored (expiry compares
 *   the writer's clock with the reader's: they must roughly agree).
 *
 * Namespace deletion purges claims with the other objects under the root;
 * repair counts them as engine objects (never foreign) and sweeps one like
 * any unreferenced object once it is older than the grace period (a live
 * claim is rewritten every half lease).
 */
import type { StorageProvider } from "@skerry/storage-providers";
import type { Clock, Random } from "@skerry/wal-format";
import { z } from "zod";
import { formatNamespacePath, type NamespacePath, randomUuid, waitingClaimKey, waitingPrefix } from "../core/index.ts";

/** Races a commit loses before it puts a waiting claim. */
export const CLAIM_AFTER_LOSSES = 2;

/** How long a claim stays live after it was written (renewed at half of it while its writer waits), in ms. */
export const CLAIM_LEASE_MS = 3_000;

/** A contended writer checks for claims before every this many groups (and at every step-aside). */
export const CLAIM_CHECK_EVERY = 8;

/** Longest one group waits for other writers' claims before it commits anyway, in ms. */
export const MAX_YIELD_MS = CLAIM_LEASE_MS;

/** A decoded claim. Times are epoch ms by the clock of the writer that wrote it. */
export interface WaitingClaim {
  readonly writerId: string;
  readonly namespace: string;
  /** When its commit started waiting. */
  readonly since: number;
  /** When it stops counting unless renewed. */
  readonly expiresAt: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const claimSchema = z.looseObject({
  schema_version: z.literal(1),
  writer_id: z.string().regex(UUID),
  namespace: z.string().min(1),
  since: z.iso.datetime({ offset: true }),
  expires_at: z.iso.datetime({ offset: true }),
});

/** The bytes of a claim (JSON, schema_version 1). */
export function encodeWaitingClaim(claim: WaitingClaim): Uint8Array {
  const body = {
    schema_version: 1,
    writer_id: claim.writerId,
    namespace: claim.namespace,
    since: new Date(claim.since).toISOString(),
    expires_at: new Date(claim.expiresAt).toISOString(),
  };
  return new TextEncoder().encode(JSON.stringify(body));
}

/** A claim from its bytes; undefined when they are not a schema_version 1 claim (such a claim is ignored). */
export function decodeWaitingClaim(bytes: Uint8Array): WaitingClaim | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
  const parsed = claimSchema.safeParse(raw);
  if (!parsed.success) return undefined;
  const { writer_id, namespace, since, expires_at } = parsed.data;
  return { writerId: writer_id, namespace, since: Date.parse(since), expiresAt: Date.parse(expires_at) };
}

interface Dependencies {
  readonly storage: StorageProvider;
  readonly clock: Clock;
  readonly random: Random;
}

/** This engine's waiting claims: puts, renews and deletes its own, and finds the other writers' live ones. */
export class WaitingClaims {
  readonly #deps: Dependencies;
  #writerId: string | undefined;

  constructor(deps: Dependencies) {
    this.#deps = deps;
  }

  /** This engine's writer id (drawn from the injected random the first time it is needed). */
  get writerId(): string {
    this.#writerId ??= randomUuid(this.#deps.random);
    return this.#writerId;
  }

  /** A claim on `path` for a commit that started at `since`; nothing is written until `keep`. */
  hold(path: NamespacePath, since: number): ClaimHold {
    return new ClaimHold(this.#deps, path, waitingClaimKey(path, this.writerId), this.writerId, since);
  }

  /**
   * Other writers' live claims on `path` (a LIST, then a GET per claim; this writer's own key is skipped).
   * Best effort: a failed call counts as no claim.
   */
  async othersWaiting(path: NamespacePath): Promise<WaitingClaim[]> {
    const { storage, clock } = this.#deps;
    const own = this.#writerId === undefined ? undefined : waitingClaimKey(path, this.#writerId);
    const prefix = waitingPrefix(path);
    const keys: string[] = [];
    try {
      for await (const meta of storage.list(prefix)) if (meta.key !== own && meta.key.endsWith(".json")) keys.push(meta.key);
    } catch {
      return [];
    }
    const name = formatNamespacePath(path);
    const live: WaitingClaim[] = [];
    for (const key of keys) {
      let claim: WaitingClaim | undefined;
      try {
        claim = decodeWaitingClaim((await storage.get(key)).bytes);
      } catch {
        continue; // deleted meanwhile (its writer won), or unreadable: no claim
      }
      if (claim === undefined || claim.namespace !== name || key !== waitingClaimKey(path, claim.writerId)) continue;
      if (claim.expiresAt > clock.now()) live.push(claim);
    }
    return live;
  }
}

/** One commit's claim: written once the commit has lost enough races, renewed at half lease, deleted when it ends. */
export class ClaimHold {
  readonly #deps: Dependencies;
  readonly #path: NamespacePath;
  readonly #key: string;
  readonly #writerId: string;
  readonly #since: number;
  /** Clock reading after which the claim is renewed; undefined while none was written. */
  #renewAt: number | undefined;

  constructor(deps: Dependencies, path: NamespacePath, key: string, writerId: string, since: number) {
    this.#deps = deps;
    this.#path = path;
    this.#key = key;
    this.#writerId = writerId;
    this.#since = since;
  }

  /** True once a put of the claim was attempted (it may be in the store). */
  get written(): boolean {
    return this.#renewAt !== undefined;
  }

  /** Puts the claim unless one put less than half a lease ago stands. Best effort: never throws. */
  async keep(): Promise<void> {
    const { storage, clock } = this.#deps;
    const now = clock.now();
    if (this.#renewAt !== undefined && now < this.#renewAt) return;
    this.#renewAt = now + CLAIM_LEASE_MS / 2;
    const claim: WaitingClaim = { writerId: this.#writerId, namespace: formatNamespacePath(this.#path), since: this.#since, expiresAt: now + CLAIM_LEASE_MS };
    try {
      await storage.put(this.#key, encodeWaitingClaim(claim), { mode: { kind: "overwrite" } });
    } catch {
      // Not announced this time: the commit still races as it would without a claim.
    }
  }

  /** Deletes the claim if one was written. Best effort: never throws (a claim left behind expires). */
  async release(): Promise<void> {
    if (this.#renewAt === undefined) return;
    this.#renewAt = undefined;
    try {
      await this.#deps.storage.delete(this.#key);
    } catch {
      // It expires.
    }
  }
}
