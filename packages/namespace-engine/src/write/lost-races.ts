/**
 * LostRaces: how a commit that lost the manifest race waits, and when it
 * gives up; and how a writer that keeps winning makes room for the others.
 *
 * A commit is a create-only put of version base + 1: under contention one
 * writer wins each version and the others lose and rebase. Plain retries
 * starve a writer whose cycle (read the latest, build, put) is slower than
 * the others' (a new process loading cold, a slow connection): a writer that
 * just won holds the latest manifest in its cache and puts the next version
 * at once, so it wins again and again, and a count budget ran out on the
 * loser (bug: `lost the manifest race 64 times` on S3). The rules:
 *
 * - Fresh base: a loser waits first, then re-reads the latest (a LIST, and
 *   a GET only when the version moved), then rebuilds and puts; never a base
 *   read before the wait (it was stale by the time of the put).
 * - Backoff with full jitter, growing: the wait before retry n (after n
 *   losses) is uniform in [0, min(cap, baseDelayMs * 2^(n-1))], where cap
 *   is maxDelayMs or, when attempts are slower (a large manifest, a loaded
 *   machine), twice the last attempt's length: losers then retry about once
 *   per round instead of piling wasted rebuilds onto every round.
 * - Bounded streaks: a writer that saw contention on the namespace (lost a
 *   race, or found another writer's commit) within the last
 *   `CONTENTION_WINDOW_MS` commits at most `MAX_STREAK` groups in a row on
 *   its cached base; then it steps aside, waiting uniform in
 *   [maxDelayMs, 2 * maxDelayMs] plus three times its last attempt's
 *   length before re-reading the latest, which gives the waiting writers a
 *   window to commit (a loser's attempt reads and decodes the latest, so it
 *   takes longer than a winner's). A writer alone never loses and
 *   never steps aside (its commit stays one put).
 * - Waiting claims (waiting-claims.ts): a commit that lost 2 races
 *   announces itself under the namespace; a writer under contention checks
 *   for such claims at every step-aside and every 8th group, and waits while
 *   another writer's live claim stands, so a slow loser is not left to
 *   luck to find a window.
 * - Budget by count and time: a commit gives up (ConflictError, retryable,
 *   nothing applied) only when it has lost at least `maxCommitAttempts`
 *   races AND has been trying for at least `maxCommitWaitMs` on the engine's
 *   clock. A busy namespace therefore delays a write; it fails it only when
 *   it stays unwinnable that long (e.g. a writer that never lost a race, so
 *   never steps aside nor checks claims, keeps a full queue for longer than
 *   that).
 *
 * Time and randomness come from the injected clock, random and sleep.
 */
import type { Clock, Random } from "@skerry/wal-format";
import { type RetryPolicy, sleep } from "../core/index.ts";

/** Groups a writer commits in a row on its cached base under contention before it steps aside. */
export const MAX_STREAK = 4;

/** How long a sign of contention (a lost race, another writer's commit) counts, in ms. */
export const CONTENTION_WINDOW_MS = 5_000;

export interface LostRacePolicy {
  /** Races a commit may lose before ConflictError (with `maxCommitWaitMs`); default 64. */
  readonly maxCommitAttempts: number;
  /** Time a commit keeps trying before ConflictError (with `maxCommitAttempts`), in ms; default 10,000. */
  readonly maxCommitWaitMs: number;
  /** Backoff between lost races (its `attempts` is unused). */
  readonly conflictBackoff: RetryPolicy;
}

/** The lost races of one commit: counts them, waits between them, and decides when to give up. */
export class LostRaces {
  readonly #policy: LostRacePolicy;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #started: number;
  #losses = 0;

  constructor(policy: LostRacePolicy, clock: Clock, random: Random) {
    this.#policy = policy;
    this.#clock = clock;
    this.#random = random;
    this.#started = clock.now();
  }

  /** Clock reading when the commit started. */
  get startedAt(): number {
    return this.#started;
  }

  /** Races lost so far. */
  get count(): number {
    return this.#losses;
  }

  /** Records a lost race; false when the budget is spent (the commit gives up with ConflictError). */
  lose(): boolean {
    this.#losses++;
    const { maxCommitAttempts, maxCommitWaitMs } = this.#policy;
    return this.#losses < maxCommitAttempts || this.#clock.now() - this.#started < maxCommitWaitMs;
  }

  /** Waits before the next attempt (call after `lose`, before re-reading the latest manifest); `cycleMs`: the lost attempt's length. */
  wait(cycleMs: number): Promise<void> {
    const backoff = this.#policy.conflictBackoff;
    return sleep(lostRaceDelayMs(backoff, this.#losses, cycleMs, this.#random), backoff);
  }
}

/** The wait after `losses` lost races, the last attempt having taken `cycleMs`: full jitter, growing, capped. */
export function lostRaceDelayMs(backoff: RetryPolicy, losses: number, cycleMs: number, random: Random): number {
  if (backoff.baseDelayMs <= 0) return 0;
  const cap = Math.max(backoff.maxDelayMs, 2 * cycleMs);
  return uniform(Math.min(cap, backoff.baseDelayMs * 2 ** Math.min(Math.max(losses, 1) - 1, 20)), random);
}

/** The wait of a writer stepping aside after a streak under contention, its last attempt having taken `cycleMs`. */
export function stepAsideDelayMs(backoff: RetryPolicy, cycleMs: number, random: Random): number {
  if (backoff.baseDelayMs <= 0) return 0;
  const least = Math.max(backoff.baseDelayMs, backoff.maxDelayMs);
  return least + uniform(least, random) + 3 * Math.max(0, cycleMs);
}

/** Uniform integer in [0, ceiling]. */
function uniform(ceiling: number, random: Random): number {
  return Math.floor((random.nextUint32() / 2 ** 32) * (ceiling + 1));
}
