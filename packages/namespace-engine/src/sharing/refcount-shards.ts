/**
 * RefcountShards: who holds each shared immutable object of a project,
 * without a project-wide lock.
 *
 * An immutable object (a log batch, a segment, a segment's query index) is
 * owned by the namespace whose root its key is under. While only that
 * namespace references it, it has NO entry: the write path, compaction and
 * the GC of an unshared namespace never touch a shard. A branch that
 * references another namespace's objects records the holders: entry =
 * the set of namespace incarnations (manifest extra `incarnation`) that
 * reference the object in some retained manifest version, each with the
 * time it was added. The count is the set's size.
 *
 * Entries live in REFCOUNT_SHARDS documents per project
 * (`<org>/<project>/_project/refcounts/<shard>.json`, wal-format
 * `RefcountTable`, holders in its `holders` extra field), chosen by a hash
 * of the object key and rewritten by etag compare-and-swap; a branch
 * touches only the shards of the objects it shares, in shard order.
 *
 * Rules (the crash ordering of docs/namespace-engine.md):
 * - `addHolders` (a branch, before its manifest commits): add the new
 *   holder to each key; an absent entry first gets the source namespace as
 *   a holder (it held the object implicitly). Set semantics make a retried
 *   add a no-op.
 * - `dropHolder` (after the manifests that referenced the keys are gone):
 *   remove the holder from each key; an entry left empty is removed and its
 *   object is returned for deletion; an ABSENT entry means the owner held it
 *   alone, so the owner's drop returns it for deletion and anyone else's
 *   drop does nothing. Removing from a set is idempotent, so two processes
 *   collecting one namespace never decrement twice.
 * - A crash between steps leaves holders that no manifest backs (counts too
 *   high: leaks); `repair` recomputes every shard exactly.
 *
 * Errors: StorageFailureError; CorruptError for an undecodable shard.
 */
import { CAS_NOOP, casUpdate, readVersioned } from "@skerry/wal-engine";
import { decodeRefcountTable, encodeRefcountTable, type JsonObject, type RefcountTable } from "@skerry/wal-format";
import type { EngineContext } from "../manifest/index.ts";
import { CorruptError, REFCOUNT_SHARDS, refcountShardKey, toEngineError, toWalRetryPolicy } from "../core/index.ts";

/** Holder incarnation -> epoch ms it was added. */
export type Holders = ReadonlyMap<string, number>;

/** Object key -> holders. */
export type ShardEntries = Map<string, Map<string, number>>;

/** FNV-1a of the key's UTF-16 code units, mod the shard count. */
export function shardOf(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % REFCOUNT_SHARDS;
}

function entriesOf(table: RefcountTable | undefined): ShardEntries {
  const out: ShardEntries = new Map();
  const holders = table?.extra?.["holders"];
  if (holders === undefined || holders === null || typeof holders !== "object" || Array.isArray(holders)) return out;
  for (const [key, value] of Object.entries(holders)) {
    if (value === null || typeof value !== "object" || Array.isArray(value)) continue;
    const set = new Map<string, number>();
    for (const [holder, at] of Object.entries(value)) if (typeof at === "number") set.set(holder, at);
    out.set(key, set);
  }
  return out;
}

function tableOf(project: string, previous: RefcountTable | undefined, entries: ShardEntries, now: number): RefcountTable {
  const counts = new Map<string, number>();
  const holders: JsonObject = {};
  for (const key of [...entries.keys()].sort()) {
    const set = entries.get(key) as Map<string, number>;
    counts.set(key, set.size);
    holders[key] = Object.fromEntries([...set.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
  return {
    schemaVersion: 1,
    project,
    generation: (previous?.generation ?? 0) + 1,
    updatedAt: now,
    counts,
    extra: { ...previous?.extra, holders },
  };
}

function groupByShard(keys: Iterable<string>): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const key of keys) {
    const shard = shardOf(key);
    let list = out.get(shard);
    if (list === undefined) out.set(shard, (list = []));
    if (!list.includes(key)) list.push(key);
  }
  return new Map([...out.entries()].sort(([a], [b]) => a - b));
}

export class RefcountShards {
  readonly #ctx: EngineContext;

  constructor(ctx: EngineContext) {
    this.#ctx = ctx;
  }

  #runtime() {
    // Shards are contended by branches of a whole project: a lost race is not a failure.
    return { policy: { ...toWalRetryPolicy(this.#ctx.retry), maxAttempts: 64 }, random: this.#ctx.random };
  }

  #decode(key: string) {
    return (bytes: Uint8Array): RefcountTable => {
      try {
        return decodeRefcountTable(bytes);
      } catch (cause) {
        throw new CorruptError(`refcount shard ${key} does not decode: ${(cause as Error).message}`, key, { cause });
      }
    };
  }

  /** CAS-rewrites one shard with `change` (which edits the entries in place and says whether anything changed). */
  async #update(org: string, project: string, shard: number, change: (entries: ShardEntries) => boolean): Promise<void> {
    const key = refcountShardKey(org, project, shard);
    const now = this.#ctx.clock.now();
    try {
      await casUpdate<RefcountTable>(this.#ctx.storage, key, {
        ...this.#runtime(),
        decode: this.#decode(key),
        encode: encodeRefcountTable,
        mutate: (current) => {
          const entries = entriesOf(current?.value);
          if (!change(entries)) return CAS_NOOP;
          return tableOf(`${org}/${project}`, current?.value, entries, now);
        },
      });
    } catch (error) {
      throw toEngineError(error, `update refcount shard ${key}`);
    }
  }

  /** Adds `holder` to every key; an absent entry first gets `implicitHolder` (who held it without an entry). */
  async addHolders(org: string, project: string, keys: Iterable<string>, holder: string, implicitHolder: string): Promise<void> {
    const now = this.#ctx.clock.now();
    for (const [shard, shardKeys] of groupByShard(keys)) {
      await this.#update(org, project, shard, (entries) => {
        let changed = false;
        for (const key of shardKeys) {
          let set = entries.get(key);
          if (set === undefined) {
            entries.set(key, (set = new Map([[implicitHolder, now]])));
            changed = true;
          }
          if (!set.has(holder)) {
            set.set(holder, now);
            changed = true;
          }
        }
        return changed;
      });
    }
  }

  /** Removes `holder` from every key (a rollback of `addHolders` that never committed; deletes nothing). */
  async removeHolder(org: string, project: string, keys: Iterable<string>, holder: string): Promise<void> {
    for (const [shard, shardKeys] of groupByShard(keys)) {
      await this.#update(org, project, shard, (entries) => {
        let changed = false;
        for (const key of shardKeys) {
          const set = entries.get(key);
          if (set?.delete(holder) === true) changed = true;
        }
        return changed;
      });
    }
  }

  /**
   * Drops `holder`'s reference to each key (the holder's manifests that
   * referenced them are already gone). Returns the keys nobody holds any
   * more: the caller deletes those objects.
   */
  async dropHolder(org: string, project: string, keys: Iterable<string>, holder: string, isOwner: (key: string) => boolean): Promise<string[]> {
    const dead: string[] = [];
    for (const [shard, shardKeys] of groupByShard(keys)) {
      const shardDead: string[] = [];
      await this.#update(org, project, shard, (entries) => {
        shardDead.length = 0;
        let changed = false;
        for (const key of shardKeys) {
          const set = entries.get(key);
          if (set === undefined) {
            if (isOwner(key)) shardDead.push(key);
            continue;
          }
          if (set.delete(holder)) changed = true;
          if (set.size === 0) {
            entries.delete(key);
            changed = true;
            shardDead.push(key);
          }
        }
        return changed;
      });
      dead.push(...shardDead);
    }
    return dead;
  }

  /** Holders of each of `keys` that has an entry (absent keys: held by their owner alone, or by nobody). */
  async holdersOf(org: string, project: string, keys: Iterable<string>): Promise<Map<string, Holders>> {
    const out = new Map<string, Holders>();
    for (const [shard, shardKeys] of groupByShard(keys)) {
      const entries = await this.readShard(org, project, shard);
      for (const key of shardKeys) {
        const set = entries.get(key);
        if (set !== undefined) out.set(key, set);
      }
    }
    return out;
  }

  /** Every entry of one shard. */
  async readShard(org: string, project: string, shard: number): Promise<ShardEntries> {
    const key = refcountShardKey(org, project, shard);
    try {
      const found = await readVersioned(this.#ctx.storage, key, this.#decode(key), this.#runtime());
      return entriesOf(found?.value);
    } catch (error) {
      throw toEngineError(error, `read refcount shard ${key}`);
    }
  }

  /** Every entry of the project. */
  async readAll(org: string, project: string): Promise<ShardEntries> {
    const out: ShardEntries = new Map();
    for (let shard = 0; shard < REFCOUNT_SHARDS; shard++) {
      for (const [key, set] of await this.readShard(org, project, shard)) out.set(key, set);
    }
    return out;
  }

  /**
   * Repair: makes each shard hold exactly `desired` (key -> every holder
   * found in retained manifests), keeping holders added after `keepAfter`
   * that `desired` does not know (an in-flight branch whose manifest is not
   * committed yet). A key whose holders come out empty, or exactly its
   * owner alone (`isImplicit`), gets no entry. Returns how many entries changed.
   */
  async rewrite(
    org: string,
    project: string,
    desired: ShardEntries,
    keepAfter: number,
    isImplicit: (key: string, holders: ReadonlyMap<string, number>) => boolean,
  ): Promise<number> {
    const byShard = new Map<number, ShardEntries>();
    for (let shard = 0; shard < REFCOUNT_SHARDS; shard++) byShard.set(shard, new Map());
    for (const [key, set] of desired) (byShard.get(shardOf(key)) as ShardEntries).set(key, set);
    let changedEntries = 0;
    for (const [shard, want] of byShard) {
      let changedHere = 0;
      await this.#update(org, project, shard, (entries) => {
        changedHere = 0;
        const keys = new Set([...entries.keys(), ...want.keys()]);
        for (const key of keys) {
          const current = entries.get(key);
          const next = new Map<string, number>();
          for (const [holder, at] of want.get(key) ?? []) next.set(holder, current?.get(holder) ?? at);
          for (const [holder, at] of current ?? []) if (!next.has(holder) && at > keepAfter) next.set(holder, at);
          if (next.size === 0 || isImplicit(key, next)) {
            if (current !== undefined) {
              entries.delete(key);
              changedHere++;
            }
            continue;
          }
          if (current === undefined || !sameHolders(current, next)) {
            entries.set(key, next);
            changedHere++;
          }
        }
        return changedHere > 0;
      });
      changedEntries += changedHere;
    }
    return changedEntries;
  }
}

function sameHolders(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  if (a.size !== b.size) return false;
  for (const holder of a.keys()) if (!b.has(holder)) return false;
  return true;
}
