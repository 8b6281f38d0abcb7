/**
 * WriteCommitter: the write path's commit protocol, with group commit.
 *
 * Each namespace has a queue of validated writes. When the namespace's
 * lane is free, the committer takes a group from the queue and commits it.
 * A lone writer is not delayed: the first group is taken after a microtask
 * yield (so writes issued in the same synchronous turn share it) or after
 * `maxWaitMs` when that is set; writes that arrive while a commit is in
 * flight queue up and form the next group:
 *
 *   1. base = the latest manifest known (hot cache; a conflict refreshes it;
 *      after a streak of commits under contention the writer steps aside and
 *      re-reads it, lost-races.ts "Bounded streaks"; a writer under
 *      contention first lets the writers that announced they are waiting
 *      commit, waiting-claims.ts).
 *   2. Evaluate each write against base, in queue order: a deleted or
 *      missing namespace fails all (NamespaceNotFound); an `ifVersion` that
 *      differs from base fails (VersionConflict); an idempotency key already
 *      in base's recent writes returns that result (deduplicated); a vector
 *      dimension other than the namespace's (or the one the group's first
 *      vector fixes) fails (InvalidArgument); a patch of a document absent at
 *      base (after the group's earlier writes) fails (DocumentNotFound). Each
 *      failure settles only its own caller. A batch write (`write`) then has
 *      each operation evaluated against the documents as base and the
 *      group's earlier writes leave them, its per-document conditions
 *      included (`select`); only the operations that apply are logged. When
 *      no accepted write has anything to log, nothing is committed: the
 *      writes are answered at base, once base was read from the store.
 *   3. Build ONE log batch with every accepted write's entries (random UUID
 *      id). At most `carried.maxBatchBytes`, it is carried by the manifest
 *      (carried-batch.ts); larger, it is written first as its object
 *      (create-only); either is reused as is when a rebase accepts the same
 *      writes.
 *   4. Commit ONE manifest, base.version + 1, appending the container, with a
 *      create-only put. Created: every accepted write gets {version, count}.
 *      A carried batch makes this the commit's only storage write.
 *      Exists: another writer won; back off (jittered, growing), THEN re-read
 *      the latest, go to 2. From the second lost race on, the commit holds a
 *      waiting claim (put during the backoff, deleted when the commit ends;
 *      waiting-claims.ts). After at least
 *      `maxCommitAttempts` losses AND `maxCommitWaitMs` of trying:
 *      ConflictError (retryable; nothing applied). See lost-races.ts.
 *
 * Group rules: a group holds at most `maxOps` operations and `maxBytes`
 * bytes (a single write over them is refused at validation); a conditional
 * (`ifVersion`) write commits alone, because two writes conditioned on the
 * same version cannot both have seen it unchanged; two writes with the same
 * idempotency key never share a group (the later one dedupes against the
 * earlier one's commit). With group commit disabled every write commits
 * alone, still one at a time per namespace in this process.
 *
 * A crash between 3 and 4 leaks an unreferenced batch object (swept by
 * repair); a manifest never references a batch whose bytes are not durable
 * (they are in the manifest itself, or written first). A batch object a rebase replaces is deleted at once:
 * every create that could have referenced it was verified as another
 * writer's.
 */
import type { StorageProvider } from "@skerry/storage-providers";
import { type Clock, type ContainerRef, contentHash, type Manifest, type NamespaceSchema, type Random, type RecentWrite, type RowId, rowId } from "@skerry/wal-format";
import { ConflictError, DocumentNotFoundError, formatNamespacePath, InvalidArgumentError, logBatchKey, namespaceId, NamespaceNotFoundError, type NamespacePath, randomUuid, type RetryPolicy, type SerialQueue, sleep, toEngineError, VersionConflictError } from "../core/index.ts";
import { type ManifestStore, storeBatch } from "../manifest/index.ts";
import { decodeLogEntry, encodeLogBatch, type LogEntry } from "../log/index.ts";
import { type StoredDocument, textConfigOf } from "../namespace/index.ts";
import { type NamespaceState, patched, type StateCache, upsertedDocument } from "../state/index.ts";
import { CONTENTION_WINDOW_MS, LostRaces, type LostRacePolicy, MAX_STREAK, stepAsideDelayMs } from "./lost-races.ts";
import { CLAIM_AFTER_LOSSES, CLAIM_CHECK_EVERY, type ClaimHold, MAX_YIELD_MS, WaitingClaims } from "./waiting-claims.ts";
import { conditionHolds } from "./write-condition.ts";
import type { MatchOptions } from "@skerry/query";
import type { BatchWriteResult, WriteResult } from "./write-options.ts";
import type { EncodedWrite } from "./write-request.ts";
import { schemaAfterWrite } from "./write-schema.ts";

export interface GroupCommitOptions {
  /** Coalesce concurrent writes of one namespace; default true. */
  readonly enabled: boolean;
  /** Extra wait for more writes before committing a group, in ms; default 0 (one event-loop turn). */
  readonly maxWaitMs: number;
  /** Most operations per group; default 10,000. */
  readonly maxOps: number;
  /** Most encoded bytes per group; default 64 MiB. */
  readonly maxBytes: number;
}

/** Carried write batches (docs/namespace-engine.md, "Carried write batches"). */
export interface CarriedBatchOptions {
  /** Largest batch (framed-log bytes) the committing manifest carries; larger ones are objects. 0: never carry. Default 1 MiB. */
  readonly maxBatchBytes: number;
}

export const DEFAULT_CARRIED_BATCHES: CarriedBatchOptions = { maxBatchBytes: 1024 * 1024 };
export const DISABLED_CARRIED_BATCHES: CarriedBatchOptions = { maxBatchBytes: 0 };

export interface CommitPolicy extends LostRacePolicy {
  /** Idempotency keys kept in the manifest; default 1,000. */
  readonly recentWritesLimit: number;
}

export interface CommitterStats {
  /** Manifests committed by write groups. */
  commits: number;
  /** Log batch objects written (batches too big to carry; more than their commits when a rebase changed a group). */
  batchObjects: number;
  /** Batches carried by the manifest that committed them (no object written). */
  carriedBatches: number;
  /** Manifest races lost (each followed by a rebase). */
  racesLost: number;
  /** Writes committed (not counting deduplicated or failed ones). */
  writesCommitted: number;
  /** Commits that put a waiting claim (they lost at least 2 races; waiting-claims.ts). */
  waitingClaims: number;
  /** Groups that waited for other writers' waiting claims before committing. */
  yieldedToWaiting: number;
}

interface PendingWrite {
  readonly write: EncodedWrite;
  readonly ifVersion: number | undefined;
  readonly idempotencyKey: string | undefined;
  readonly resolve: (result: WriteResult) => void;
  readonly reject: (error: unknown) => void;
}

interface Contention {
  /** Clock reading of the last sign of contention: a lost race, or another writer's commit found on a re-read. */
  at: number;
  /** Groups committed since the last lost race or step-aside. */
  streak: number;
  /** Length of this process's last commit attempt on the namespace (read, evaluate, build, put), in ms. */
  cycleMs: number;
  /** Groups started since this process last checked the namespace's waiting claims. */
  unchecked: number;
}

interface NamespaceQueue {
  readonly path: NamespacePath;
  pending: PendingWrite[];
  draining: boolean;
}

interface Dependencies {
  readonly storage: StorageProvider;
  readonly manifests: ManifestStore;
  readonly states: StateCache;
  readonly lanes: SerialQueue;
  readonly clock: Clock;
  readonly random: Random;
  readonly retry: RetryPolicy;
  readonly group: GroupCommitOptions;
  readonly policy: CommitPolicy;
  readonly carried: CarriedBatchOptions;
}

export class WriteCommitter {
  readonly #deps: Dependencies;
  readonly #queues = new Map<string, NamespaceQueue>();
  /** Recent contention per namespace id (lost-races.ts, "Bounded streaks"). */
  readonly #contended = new Map<string, Contention>();
  readonly #claims: WaitingClaims;
  readonly stats: CommitterStats = {
    commits: 0,
    batchObjects: 0,
    carriedBatches: 0,
    racesLost: 0,
    writesCommitted: 0,
    waitingClaims: 0,
    yieldedToWaiting: 0,
  };

  constructor(deps: Dependencies) {
    this.#deps = deps;
    this.#claims = new WaitingClaims(deps);
  }

  /** Queues a validated write; resolves when it is committed (or deduplicated), rejects with its own error. */
  submit(path: NamespacePath, write: EncodedWrite, ifVersion: number | undefined, idempotencyKey: string | undefined): Promise<WriteResult> {
    const id = namespaceId(path);
    let queue = this.#queues.get(id);
    if (queue === undefined) {
      queue = { path, pending: [], draining: false };
      this.#queues.set(id, queue);
    }
    const owner = queue;
    return new Promise<WriteResult>((resolve, reject) => {
      owner.pending.push({ write, ifVersion, idempotencyKey, resolve, reject });
      if (!owner.draining) {
        owner.draining = true;
        void this.#drain(id, owner);
      }
    });
  }

  async #drain(id: string, queue: NamespaceQueue): Promise<void> {
    const { group } = this.#deps;
    // A lone writer commits at once: only a microtask yield, so writes issued in the same synchronous turn
    // (Promise.all) join the first group. Writes that arrive while a commit is in flight form the next group.
    // Only an explicit `maxWaitMs` waits longer.
    await Promise.resolve();
    if (group.enabled && group.maxWaitMs > 0) await sleep(group.maxWaitMs, this.#deps.policy.conflictBackoff);
    while (queue.pending.length > 0) {
      const members = this.#takeGroup(queue);
      await this.#deps.lanes.run(id, () => this.#commitGroup(queue.path, members));
    }
    queue.draining = false;
    if (this.#queues.get(id) === queue && queue.pending.length === 0) this.#queues.delete(id);
  }

  #takeGroup(queue: NamespaceQueue): PendingWrite[] {
    const { group } = this.#deps;
    const first = queue.pending[0] as PendingWrite;
    if (!group.enabled || first.ifVersion !== undefined) {
      queue.pending.shift();
      return [first];
    }
    const members: PendingWrite[] = [];
    const rest: PendingWrite[] = [];
    const keys = new Set<string>();
    let ops = 0;
    let bytes = 0;
    let full = false;
    for (const pending of queue.pending) {
      const key = pending.idempotencyKey;
      if (full || pending.ifVersion !== undefined || (key !== undefined && keys.has(key))) {
        rest.push(pending);
        continue;
      }
      if (members.length > 0 && (ops + pending.write.count > group.maxOps || bytes + pending.write.bytes > group.maxBytes)) {
        full = true;
        rest.push(pending);
        continue;
      }
      members.push(pending);
      ops += pending.write.count;
      bytes += pending.write.bytes;
      if (key !== undefined) keys.add(key);
    }
    queue.pending = rest;
    return members;
  }

  /** Commits one group; settles every member, never throws. */
  async #commitGroup(path: NamespacePath, group: PendingWrite[]): Promise<void> {
    const { manifests, states, policy, clock, random } = this.#deps;
    const name = formatNamespacePath(path);
    const id = namespaceId(path);
    let unsettled = group;
    let written: { members: PendingWrite[]; signature: string; selections: Selections; ref: ContainerRef } | undefined;
    let claim: ClaimHold | undefined;
    try {
      // A conditional write checks against the store, not a possibly stale cache.
      const conditional = group.some((p) => p.ifVersion !== undefined);
      const cached = conditional ? undefined : manifests.cached(path);
      let base: Manifest | undefined;
      let fresh: boolean;
      const contention = this.#contention(id);
      const stepAside = cached !== undefined && contention !== undefined && contention.streak >= MAX_STREAK;
      let yielded = false;
      if (contention !== undefined && (stepAside || ++contention.unchecked >= CLAIM_CHECK_EVERY)) {
        // Waiting claims (waiting-claims.ts): let the writers that announced they keep losing commit first.
        contention.unchecked = 0;
        yielded = await this.#yieldToWaiting(path, contention);
      }
      if (contention !== undefined && (stepAside || yielded)) {
        // Bounded streaks (lost-races.ts): step aside so that the writers waiting on this namespace get a turn
        // (a writer that just yielded to a claim has waited already).
        contention.streak = 0;
        if (!yielded) await sleep(stepAsideDelayMs(policy.conflictBackoff, contention.cycleMs, random), policy.conflictBackoff);
        base = await manifests.readLatest(path);
        if (base !== undefined && (cached === undefined || base.version > cached.version)) contention.at = clock.now();
        fresh = true;
      } else {
        base = cached ?? (await manifests.readLatest(path));
        fresh = cached === undefined;
      }
      const races = new LostRaces(policy, clock, random);
      // Start of the current attempt (read, evaluate, build, put): its length scales the waits under contention.
      let attemptStarted = clock.now();
      for (;;) {
        if (base === undefined || base.deletedAt !== undefined) {
          if (!fresh) {
            // The cache may predate a re-creation by another process: ask the store before failing.
            base = await manifests.readLatest(path);
            fresh = true;
            continue;
          }
          for (const p of unsettled) p.reject(new NamespaceNotFoundError(name));
          return;
        }
        const current = base;
        if (written !== undefined && current.containers.some((c) => c.id === written!.ref.id)) {
          // Defence in depth: our batch is already in the latest manifest, so an
          // earlier create of ours landed although it was reported otherwise.
          // Committing it again would reference the batch twice.
          this.stats.commits++;
          this.stats.writesCommitted += unsettled.length;
          for (const p of unsettled) p.resolve(resultOf(p, current.version, written.selections));
          return;
        }
        const needsState = unsettled.some(needsStateFor);
        const evaluation = needsState
          ? await states.read(path, current, (state) => evaluate(name, current, unsettled, state))
          : evaluate(name, current, unsettled, undefined);
        unsettled = evaluation.accepted;
        const { selections } = evaluation;
        if (unsettled.length === 0) {
          if (written !== undefined) await this.#discard(written.ref);
          return;
        }
        if (unsettled.every((p) => selections.get(p)?.indices.length === 0)) {
          // Batch writes none of whose operations apply: nothing to commit. Their conditions must have been
          // evaluated against the latest version, which only a fresh read (no commit validates this base) shows.
          if (!fresh) {
            base = await manifests.readLatest(path);
            fresh = true;
            continue;
          }
          if (written !== undefined) await this.#discard(written.ref);
          for (const p of unsettled) p.resolve(resultOf(p, current.version, selections));
          return;
        }
        const signature = signatureOf(unsettled, selections);
        if (written === undefined || !sameMembers(written.members, unsettled) || written.signature !== signature) {
          // Every earlier create of this group was verified as another writer's: the old batch is unreferenced.
          if (written !== undefined) await this.#discard(written.ref);
          const ref = this.#buildBatch(path, current, unsettled, selections);
          written = { members: unsettled, signature, selections, ref: this.#carries(ref) ? ref : await this.#store(ref) };
        }
        const next = this.#nextManifest(current, written.ref, unsettled, selections, evaluation.dimension, evaluation.schema);
        const outcome = await manifests.create(path, next);
        const cycleMs = clock.now() - attemptStarted;
        if (outcome === "created") {
          this.stats.commits++;
          if (contention !== undefined) {
            contention.streak++;
            contention.cycleMs = cycleMs;
          }
          if (written.ref.inline !== undefined) this.stats.carriedBatches++;
          this.stats.writesCommitted += unsettled.length;
          for (const p of unsettled) p.resolve(resultOf(p, next.version, selections));
          return;
        }
        this.stats.racesLost++;
        this.#sawContention(id, cycleMs);
        if (!races.lose()) break;
        if (races.count >= CLAIM_AFTER_LOSSES && claim === undefined) {
          claim = this.#claims.hold(path, races.startedAt);
          this.stats.waitingClaims++;
        }
        // Wait first, then read: the base must be the latest when the next put goes out, not before the wait.
        // The waiting claim is put (or renewed) during the wait.
        await Promise.all([races.wait(cycleMs), claim?.keep()]);
        attemptStarted = clock.now();
        base = await manifests.readLatest(path);
        fresh = true;
      }
      if (written !== undefined) await this.#discard(written.ref);
      const seconds = ((clock.now() - races.startedAt) / 1000).toFixed(1);
      const error = new ConflictError(`commit to ${name} lost the manifest race ${races.count} times in ${seconds} s; nothing was applied, retry`);
      for (const p of unsettled) p.reject(error);
    } catch (error) {
      const failure = toEngineError(error, `commit to ${name}`);
      for (const p of unsettled) p.reject(failure);
    } finally {
      // Won, gave up or failed: the claim goes (best effort; one left behind expires).
      await claim?.release();
    }
  }

  /** Records a lost race on namespace `id` (lost-races.ts, "Bounded streaks"); the claim check count carries on. */
  #sawContention(id: string, cycleMs: number): void {
    const at = this.#deps.clock.now();
    const seen = this.#contended.get(id);
    if (seen === undefined) this.#contended.set(id, { at, streak: 0, cycleMs, unchecked: 0 });
    else Object.assign(seen, { at, streak: 0, cycleMs });
  }

  /**
   * Waits while other writers hold live waiting claims on `path` (waiting-claims.ts): lists them, and while
   * there are some, waits a step-aside delay and lists again, for at most MAX_YIELD_MS. True when it waited.
   */
  async #yieldToWaiting(path: NamespacePath, contention: Contention): Promise<boolean> {
    const { clock, policy, random } = this.#deps;
    if (policy.conflictBackoff.baseDelayMs <= 0) return false; // no waits configured: nothing to yield with
    const started = clock.now();
    let yielded = false;
    while (clock.now() - started < MAX_YIELD_MS && (await this.#claims.othersWaiting(path)).length > 0) {
      if (!yielded) this.stats.yieldedToWaiting++;
      yielded = true;
      contention.at = clock.now();
      await sleep(stepAsideDelayMs(policy.conflictBackoff, contention.cycleMs, random), policy.conflictBackoff);
    }
    return yielded;
  }

  /** This process's recent contention on namespace `id` (lost-races.ts, "Bounded streaks"); undefined if none. */
  #contention(id: string): Contention | undefined {
    const seen = this.#contended.get(id);
    if (seen === undefined) return undefined;
    if (this.#deps.clock.now() - seen.at <= CONTENTION_WINDOW_MS) return seen;
    this.#contended.delete(id);
    return undefined;
  }

  /** Best-effort delete of a batch object no manifest references (a failure only leaks it). */
  async #discard(ref: ContainerRef): Promise<void> {
    if (ref.inline !== undefined) return; // carried: never stored
    try {
      await this.#deps.storage.delete(ref.key);
    } catch {
      // Leaked; the repair sweep (later increment) reclaims it.
    }
  }

  /**
   * The group's batch as a carried ref (its bytes in `inline`, nothing stored yet; `#nextManifest` names the
   * carrier). `key` is the batch's object key: written by `#store` for a batch too big to carry, and later by
   * manifest GC, branches and copies for a carried one (carried-batch.ts).
   */
  #buildBatch(path: NamespacePath, base: Manifest, members: readonly PendingWrite[], selections: Selections): ContainerRef {
    const entries: Uint8Array[] = [];
    let first: bigint | undefined;
    let last: bigint | undefined;
    const widen = (range: { readonly first: bigint; readonly last: bigint }) => {
      if (first === undefined || range.first < first) first = range.first;
      if (last === undefined || range.last > last) last = range.last;
    };
    for (const p of members) {
      const selection = selections.get(p);
      if (selection === undefined) {
        entries.push(...p.write.entries);
        if (p.write.rowIds !== undefined) widen(p.write.rowIds);
        continue;
      }
      // A batch write logs only the operations that apply: the log holds concrete ops, never conditions.
      for (const i of selection.indices) {
        entries.push(p.write.entries[i] as Uint8Array);
        const row = p.write.ops[i]?.rowId;
        if (row !== undefined) widen({ first: row, last: row });
      }
    }
    const bytes = encodeLogBatch(base.version, entries);
    const id = randomUuid(this.#deps.random);
    return {
      id,
      kind: "LOG_BATCH",
      key: logBatchKey(path, id),
      rowCount: entries.length,
      byteSize: bytes.length,
      contentHash: contentHash(bytes),
      ...(first === undefined || last === undefined ? {} : { rowIdRange: { first: rowId(first), last: rowId(last) } }),
      inline: bytes,
    };
  }

  /** True when the committing manifest may carry batch `ref` (built with its bytes): it is small enough. */
  #carries(ref: ContainerRef): boolean {
    return (ref.inline?.length ?? Number.POSITIVE_INFINITY) <= this.#deps.carried.maxBatchBytes;
  }

  /** Writes a built batch as its object (create-only, at its key) and returns the ref without its bytes. */
  async #store(ref: ContainerRef): Promise<ContainerRef> {
    const { inline: bytes, ...stored } = ref;
    // The key is a fresh UUID: only an earlier attempt of ours can have created it.
    await storeBatch(this.#deps, ref, bytes as Uint8Array);
    this.stats.batchObjects++;
    return stored;
  }

  #nextManifest(
    base: Manifest,
    ref: ContainerRef,
    members: readonly PendingWrite[],
    selections: Selections,
    dimension: number | undefined,
    schema: NamespaceSchema | undefined,
  ): Manifest {
    const { clock, policy } = this.#deps;
    const now = clock.now();
    const version = base.version + 1;
    const recent: RecentWrite[] = [...base.recentWrites];
    for (const p of members) {
      if (p.idempotencyKey !== undefined) recent.push({ idempotencyKey: p.idempotencyKey, version, committedAt: now, count: countOf(p, selections) });
    }
    const high = ref.rowIdRange !== undefined && ref.rowIdRange.last > base.rowIdHighWater ? ref.rowIdRange.last : base.rowIdHighWater;
    const metric = base.vector?.metric ?? "COSINE";
    const vector = dimension !== undefined ? { dimension, metric } : base.vector;
    // A carried batch is carried by the version this attempt commits (a rebase commits a later one). The base's
    // own carried bytes are dropped by ManifestStore.create, like those of every other commit path.
    const own = ref.inline === undefined ? ref : { ...ref, carrierVersion: version };
    return {
      ...base,
      version,
      updatedAt: now,
      containers: [...base.containers, own],
      rowIdHighWater: high as RowId,
      recentWrites: recent.slice(Math.max(0, recent.length - policy.recentWritesLimit)),
      ...(vector === undefined ? {} : { vector }),
      ...(schema === undefined ? {} : { schema }),
    };
  }
}

/** What a batch write applies at one base: the indices of its entries whose conditions held, and their ids. */
interface Selection {
  readonly indices: number[];
  readonly upserted: string[];
  readonly patched: string[];
  readonly deleted: string[];
}

type Selections = ReadonlyMap<PendingWrite, Selection>;

/** Overlay value of a document an earlier write of the group wrote, where only its existence is known. */
const WRITTEN: StoredDocument = Object.freeze({ id: "" });

/** True when a batch write needs the namespace's documents to be evaluated (anything but unconditional upserts). */
function batchNeedsState(write: EncodedWrite): boolean {
  return write.conditions?.upsert !== undefined || write.ops.some((o) => o.op !== "UPSERT");
}

function needsStateFor(p: PendingWrite): boolean {
  return p.write.kind === "patch" || (p.write.kind === "batch" && batchNeedsState(p.write));
}

function countOf(p: PendingWrite, selections: Selections): number {
  return selections.get(p)?.indices.length ?? p.write.count;
}

function resultOf(p: PendingWrite, version: number, selections: Selections): WriteResult | BatchWriteResult {
  const selection = selections.get(p);
  if (selection === undefined) return { version, count: p.write.count, deduplicated: false };
  const { upserted, patched, deleted } = selection;
  return { version, count: selection.indices.length, deduplicated: false, upserted, patched, deleted };
}

/** Identifies the members' selections: a rebase that selects differently rebuilds the batch. */
function signatureOf(members: readonly PendingWrite[], selections: Selections): string {
  return members.map((p) => selections.get(p)?.indices.join(",") ?? "*").join("|");
}

/**
 * Evaluates a batch write's operations in order (upserts, patches, deletes) against the documents as the group's
 * earlier writes leave them (`current`), recording each applied operation in `overlay`:
 * - an upsert of an existing document applies if the upsert condition holds (references: the new document); of a
 *   missing one, always;
 * - a patch of a missing document is skipped; of an existing one, applies if the patch condition holds for it
 *   (references: the patched document);
 * - a delete of a missing document is skipped; of an existing one, applies if the delete condition holds
 *   (references: null, a delete has no new document).
 */
function select(
  write: EncodedWrite,
  current: (id: string) => StoredDocument | undefined,
  overlay: Map<string, StoredDocument | null>,
  match: MatchOptions,
): Selection {
  const selection: Selection = { indices: [], upserted: [], patched: [], deleted: [] };
  const entries = write.logEntries as readonly LogEntry[];
  const conditions = write.conditions ?? {};
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as LogEntry;
    const id = entry.id;
    if (entry.op === "UPSERT") {
      const next = upsertedDocument(entry);
      if (conditions.upsert !== undefined) {
        const existing = current(id);
        if (existing !== undefined && !conditionHolds(conditions.upsert, existing, next, match)) continue;
      }
      overlay.set(id, next);
      selection.upserted.push(id);
    } else if (entry.op === "PATCH") {
      const existing = current(id);
      if (existing === undefined) continue;
      const next = patched(existing, entry);
      if (conditions.patch !== undefined && !conditionHolds(conditions.patch, existing, next, match)) continue;
      overlay.set(id, next);
      selection.patched.push(id);
    } else {
      const existing = current(id);
      if (existing === undefined) continue;
      if (conditions.delete !== undefined && !conditionHolds(conditions.delete, existing, undefined, match)) continue;
      overlay.set(id, null);
      selection.deleted.push(id);
    }
    selection.indices.push(i);
  }
  return selection;
}

/**
 * Settles the writes that cannot commit on `base`; returns the rest, the dimension they fix, the schema they
 * extend (write-schema.ts; undefined when unchanged), and what each batch write among them applies (`select`).
 */
function evaluate(
  name: string,
  base: Manifest,
  writes: readonly PendingWrite[],
  state: NamespaceState | undefined,
): { accepted: PendingWrite[]; dimension: number | undefined; schema: NamespaceSchema | undefined; selections: Map<PendingWrite, Selection> } {
  const accepted: PendingWrite[] = [];
  let schema = base.schema;
  const empty = base.containers.length === 0;
  const selections = new Map<PendingWrite, Selection>();
  let dimension = base.vector?.dimension;
  const fixedBefore = dimension;
  // Documents as the group's accepted writes leave them (null: deleted). With a batch write that reads documents
  // in the group, every write records whole documents; otherwise only existence (WRITTEN).
  const overlay = new Map<string, StoredDocument | null>();
  // Token filters in conditions tokenize under the base's full-text options.
  const match: MatchOptions = { textConfig: textConfigOf(base.textFields) };
  const wholeDocuments = writes.some((p) => p.write.kind === "batch" && batchNeedsState(p.write));
  const current = (id: string): StoredDocument | undefined => {
    if (overlay.has(id)) return overlay.get(id) ?? undefined;
    return state?.get(id);
  };
  for (const p of writes) {
    if (p.ifVersion !== undefined && p.ifVersion !== base.version) {
      p.reject(new VersionConflictError(name, p.ifVersion, base.version));
      continue;
    }
    if (p.idempotencyKey !== undefined) {
      const seen = findRecent(base, p.idempotencyKey);
      if (seen !== undefined) {
        const count = seen.count ?? p.write.count;
        // A deduplicated batch reports no ids: the first write's answer had them.
        const batch: BatchWriteResult = { version: seen.version, count, deduplicated: true, upserted: [], patched: [], deleted: [] };
        p.resolve(p.write.kind === "batch" ? batch : { version: seen.version, count, deduplicated: true });
        continue;
      }
    }
    const dim = p.write.dimension;
    if (dim !== undefined && dimension !== undefined && dim !== dimension) {
      p.reject(new InvalidArgumentError(`vector dimension ${dim} does not match the namespace's dimension ${dimension} (${name})`));
      continue;
    }
    let typed: NamespaceSchema | undefined;
    try {
      typed = schemaAfterWrite(schema, p.write, empty);
    } catch (error) {
      if (!(error instanceof InvalidArgumentError)) throw error;
      p.reject(error);
      continue;
    }
    if (p.write.kind === "patch" && state !== undefined) {
      const missing: string[] = [];
      for (const { id } of p.write.ops) {
        if (current(id) === undefined && missing.length < 16) missing.push(id);
      }
      if (missing.length > 0) {
        p.reject(new DocumentNotFoundError(name, missing));
        continue;
      }
    }
    schema = typed;
    if (p.write.kind === "batch") {
      const selection = select(p.write, current, overlay, match);
      selections.set(p, selection);
      // Only a vector that is written fixes the namespace's dimension.
      if (dim !== undefined && selection.indices.some((i) => p.write.logEntries?.[i]?.vector !== undefined)) dimension = dim;
      accepted.push(p);
      continue;
    }
    if (dim !== undefined) dimension = dim;
    if (wholeDocuments) {
      p.write.entries.forEach((bytes, i) => {
        const entry = decodeLogEntry(bytes, `pending write entry ${i}`);
        if (entry.op === "DELETE") overlay.set(entry.id, null);
        else if (entry.op === "UPSERT") overlay.set(entry.id, upsertedDocument(entry));
        else {
          const existing = current(entry.id);
          if (existing !== undefined) overlay.set(entry.id, patched(existing, entry));
        }
      });
    } else {
      for (const { op, id } of p.write.ops) overlay.set(id, op === "DELETE" ? null : WRITTEN);
    }
    accepted.push(p);
  }
  return { accepted, dimension: dimension !== fixedBefore ? dimension : undefined, schema: schema !== base.schema ? schema : undefined, selections };
}

function findRecent(base: Manifest, key: string): RecentWrite | undefined {
  for (let i = base.recentWrites.length - 1; i >= 0; i--) {
    const w = base.recentWrites[i] as RecentWrite;
    if (w.idempotencyKey === key) return w;
  }
  return undefined;
}

function sameMembers(a: readonly PendingWrite[], b: readonly PendingWrite[]): boolean {
  return a.length === b.length && a.every((p, i) => p === b[i]);
}
