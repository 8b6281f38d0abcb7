/**
 * CachingStorage: a read-through block cache in front of any StorageProvider,
 * for keys the caller declares immutable (segments, log batches, sidecars
 * that are written once with `create` and never changed).
 *
 * Blocks: an object is cached as aligned blocks of `blockBytes` (default
 * 256 KiB; the last block may be shorter). A read, whole or ranged, is
 * served block by block from the tiers; the blocks no tier holds are fetched
 * with ranged GETs of the inner provider, adjacent missing blocks coalesced
 * into one GET of at most `maxFetchBytes`. The object's meta (size, etag) is
 * remembered from the first answer, so later reads know where the last
 * partial block ends and answer past-the-end ranges without a call. A
 * whole-object read of an object whose size is not known yet is one plain
 * GET, cut into blocks afterwards.
 *
 * Tiers: a memory LRU bounded by bytes, and optionally a disk directory
 * (see internal/cache-disk-tier.ts) that survives restarts and may be shared
 * by several processes. A read spanning more than `maxMemoryEntryBytes`
 * (default a quarter of the memory budget) does not fill memory, and one
 * spanning more than half the disk budget does not fill disk, so one large
 * read cannot flush either tier; such reads are still served from blocks
 * the tiers already hold.
 *
 * In-flight sharing: a block being fetched is registered until its fetch is
 * done and stored; a concurrent read needing it joins that fetch instead of
 * issuing another (counted as `sharedFetches`). A reader that aborts stops
 * waiting at once; the fetch goes on for the others, and is aborted only
 * when nobody waits for it any more (see internal/shared-fetch.ts).
 *
 * Correctness rules:
 * - A key for which `isImmutable` is false is never served from cache: every
 *   call goes to the inner provider (mutable keys such as manifests' heads,
 *   state documents and tombstone sidecars change under CAS).
 * - A put or delete through this wrapper drops the key from every tier and
 *   from the in-flight registry, before and after the inner call, and bumps
 *   the key's generation so that a read or fetch that started before the
 *   write cannot fill the cache with old bytes.
 * - Every block carries the etag of the object version it came from; an
 *   answer is assembled only from blocks of one version. A block of another
 *   version found on disk is deleted (`staleDiskEntries`); an inner answer
 *   with a new etag replaces the remembered meta and the read starts over
 *   (after three tries it passes through to the inner provider).
 * - Disk entries are verified on every read; one that fails is deleted,
 *   counted in `corruptDiskEntries`, and the block is fetched again. Disk
 *   errors other than a vanished file make the block a miss
 *   (`diskErrors`), never a failed read.
 */
import { InternalError } from "./errors.ts";
import { AbortWatch, throwIfAborted } from "./internal/abort.ts";
import { blockCount, blockLength, blocksOf, coalesceRuns } from "./internal/block-runs.ts";
import { CacheDiskTier, type DiskSweep } from "./internal/cache-disk-tier.ts";
import { CacheMemoryTier } from "./internal/cache-memory-tier.ts";
import { resolveRange } from "./internal/range.ts";
import { SharedFetch } from "./internal/shared-fetch.ts";
import { validateKey } from "./keys.ts";
import type {
  ByteRange,
  CallOptions,
  GetOptions,
  GetResult,
  ListOptions,
  ObjectMeta,
  PutOptions,
  PutResult,
  StorageProvider,
} from "./storage-provider.ts";

export interface CachingStorageOptions {
  /** True for keys whose bytes never change once written. */
  isImmutable: (key: string) => boolean;
  /** Byte budget of the memory tier; default 64 MiB. */
  memoryBytes?: number;
  /** A read spanning more bytes than this does not fill memory; default a quarter of `memoryBytes`. */
  maxMemoryEntryBytes?: number;
  /** Size of the aligned blocks objects are cached in; default 256 KiB. */
  blockBytes?: number;
  /** Largest single ranged GET of coalesced missing blocks; default 8 MiB (at least one block, at most 1,024). */
  maxFetchBytes?: number;
  /** Optional disk tier, safe to share between processes. */
  disk?: {
    dir: string;
    /** Byte budget of the directory, for all processes sharing it (approximate). */
    maxBytes: number;
    /** Sweep the directory after this process wrote this many bytes; default maxBytes / 8. */
    sweepEveryBytes?: number;
    /** Refresh an entry's mtime (its recency) on a read when older than this; default 10 s. */
    touchIntervalMs?: number;
  };
}

export interface CacheStats {
  /** Blocks served from a tier (memoryHits + diskHits), plus heads answered from remembered meta. */
  hits: number;
  memoryHits: number;
  diskHits: number;
  /** Blocks no tier held: fetched by this read, or awaited from another read's fetch. */
  misses: number;
  /** Of the misses, blocks that joined a fetch another read had in flight (deduplicated). */
  sharedFetches: number;
  /** GETs sent to the inner provider for immutable keys. */
  innerFetches: number;
  /** Of those, ranged GETs that covered two or more missing blocks at once. */
  coalescedFetches: number;
  /** Bytes received from the inner provider for immutable keys. */
  bytesFetched: number;
  /** Calls on mutable keys, sent straight to the inner provider. */
  bypasses: number;
  /** Reads that gave up on the cache after the object changed under them three times. */
  passThroughs: number;
  /** memoryEvictions + diskEvictions. */
  evictions: number;
  memoryEvictions: number;
  /** Entries this process's sweeps deleted from the disk directory. */
  diskEvictions: number;
  /** Disk entries that failed verification (deleted, then fetched again). */
  corruptDiskEntries: number;
  /** Disk entries of another version of their object (deleted). */
  staleDiskEntries: number;
  /** Disk reads or writes that failed other than by a vanished file. */
  diskErrors: number;
  memoryBytes: number;
  memoryEntries: number;
  /** Estimate: the last sweep's count plus what this process wrote since. */
  diskBytes: number;
  diskEntries: number;
}

/** The answer of one inner GET: bytes from block `first` on. */
interface RunResult {
  meta: ObjectMeta;
  first: number;
  bytes: Uint8Array;
}

/** One inner GET in flight: blocks [first, first + count), or the whole object (count Infinity). */
interface Run {
  key: string;
  first: number;
  count: number;
  fetch: SharedFetch<RunResult>;
}

/** Reads and fetches in flight on a key, and its write generation. */
interface KeyState {
  refs: number;
  gen: number;
}

type Source = "memory" | "disk" | "fetched" | "shared";
interface LocalBlock {
  bytes: Uint8Array;
  source: Source;
}

/** The read must start over: the object changed (or a write went through) under it. */
const RESTART = Symbol("restart");

/** Remembered metas (a few hundred bytes each). */
const MAX_KNOWN_OBJECTS = 100_000;
/** Disk lookups of one read in parallel. */
const DISK_PARALLELISM = 16;
const READ_ATTEMPTS = 3;
/** Blocks one fetch covers at most, whatever maxFetchBytes allows (each is registered in flight). */
const MAX_FETCH_BLOCKS = 1024;

const blockId = (key: string, block: number) => `${block}\u0000${key}`;

async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

export class CachingStorage implements StorageProvider {
  readonly name: string;
  readonly inner: StorageProvider;
  readonly blockBytes: number;
  readonly #isImmutable: (key: string) => boolean;
  readonly #maxMemorySpan: number;
  readonly #maxDiskSpan: number;
  readonly #maxFetchBlocks: number;
  readonly #memory: CacheMemoryTier;
  readonly #disk: CacheDiskTier | undefined;
  /** Remembered object metas; Map order is recency order. */
  readonly #meta = new Map<string, ObjectMeta>();
  readonly #keys = new Map<string, KeyState>();
  readonly #inflightBlocks = new Map<string, Run>();
  readonly #inflightWhole = new Map<string, Run>();
  /** Fills (disk writes) still running, for `flush`. */
  readonly #pending = new Set<Promise<void>>();
  readonly #stats = {
    hits: 0,
    memoryHits: 0,
    diskHits: 0,
    misses: 0,
    sharedFetches: 0,
    innerFetches: 0,
    coalescedFetches: 0,
    bytesFetched: 0,
    bypasses: 0,
    passThroughs: 0,
    corruptDiskEntries: 0,
    staleDiskEntries: 0,
    diskErrors: 0,
  };

  constructor(inner: StorageProvider, options: CachingStorageOptions) {
    this.inner = inner;
    this.name = `cached(${inner.name})`;
    this.#isImmutable = options.isImmutable;
    const memoryBytes = options.memoryBytes ?? 64 * 1024 * 1024;
    this.blockBytes = options.blockBytes ?? 256 * 1024;
    if (!Number.isSafeInteger(this.blockBytes) || this.blockBytes < 1) {
      throw new InternalError(`blockBytes must be a positive integer, got ${this.blockBytes}`);
    }
    this.#maxMemorySpan = options.maxMemoryEntryBytes ?? Math.floor(memoryBytes / 4);
    this.#maxFetchBlocks = Math.min(
      MAX_FETCH_BLOCKS,
      Math.max(1, Math.floor((options.maxFetchBytes ?? 8 * 1024 * 1024) / this.blockBytes)),
    );
    this.#memory = new CacheMemoryTier(memoryBytes);
    this.#disk = options.disk === undefined ? undefined : new CacheDiskTier(options.disk);
    this.#maxDiskSpan = options.disk === undefined ? 0 : Math.floor(options.disk.maxBytes / 2);
  }

  stats(): CacheStats {
    const memoryEvictions = this.#memory.evictions;
    const diskEvictions = this.#disk?.evictions ?? 0;
    return {
      ...this.#stats,
      hits: this.#stats.memoryHits + this.#stats.diskHits,
      evictions: memoryEvictions + diskEvictions,
      memoryEvictions,
      diskEvictions,
      memoryBytes: this.#memory.bytes,
      memoryEntries: this.#memory.entries,
      diskBytes: this.#disk?.estimatedBytes ?? 0,
      diskEntries: this.#disk?.estimatedEntries ?? 0,
    };
  }

  async get(key: string, options: GetOptions = {}): Promise<GetResult> {
    if (!this.#isImmutable(key)) {
      this.#stats.bypasses++;
      return this.inner.get(key, options);
    }
    validateKey(key);
    throwIfAborted(options.signal, key);
    // Checks the range's numbers before any I/O (the size is not known yet).
    resolveRange(options.range, Number.MAX_SAFE_INTEGER, key);
    // Our own signal, so that leaving (answer, error or abort) detaches this
    // read from every shared fetch it joined.
    const local = new AbortController();
    const onAbort = () => local.abort(options.signal?.reason);
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const state = this.#acquire(key);
    try {
      for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
        const answer = await this.#read(key, options.range, local.signal, state);
        if (answer !== RESTART) return answer;
      }
      this.#stats.passThroughs++;
      return await this.inner.get(key, options);
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
      local.abort();
      this.#release(key, state);
    }
  }

  async head(key: string, options: CallOptions = {}): Promise<ObjectMeta | null> {
    if (!this.#isImmutable(key)) {
      this.#stats.bypasses++;
      return this.inner.head(key, options);
    }
    validateKey(key);
    throwIfAborted(options.signal, key);
    const known = this.#knownMeta(key);
    if (known !== undefined) {
      this.#stats.memoryHits++;
      return { ...known };
    }
    const state = this.#acquire(key);
    const gen = state.gen;
    try {
      const meta = await this.inner.head(key, options);
      if (meta !== null && state.gen === gen) this.#adoptMeta(key, meta);
      return meta;
    } finally {
      this.#release(key, state);
    }
  }

  async put(key: string, bytes: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
    await this.#invalidate(key);
    try {
      return await this.inner.put(key, bytes, options);
    } finally {
      await this.#invalidate(key);
    }
  }

  async delete(key: string, options: CallOptions = {}): Promise<void> {
    await this.#invalidate(key);
    try {
      await this.inner.delete(key, options);
    } finally {
      await this.#invalidate(key);
    }
  }

  list(prefix: string, options: ListOptions = {}): AsyncIterable<ObjectMeta> {
    return this.inner.list(prefix, options);
  }

  /** Waits until every fill started so far (disk writes) and any disk sweep running are done. */
  async flush(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
    await this.#disk?.settled();
  }

  /**
   * Sweeps the disk directory now: lists it, and evicts the oldest entries
   * (by mtime) when it holds more than its budget.
   */
  async sweepDisk(): Promise<DiskSweep> {
    return this.#disk === undefined ? { bytes: 0, entries: 0, evicted: 0 } : this.#disk.sweep();
  }

  /** Drops every cached entry: memory, remembered metas, and the whole disk directory (every process's). */
  async clear(): Promise<void> {
    for (const state of this.#keys.values()) state.gen++;
    this.#inflightBlocks.clear();
    this.#inflightWhole.clear();
    this.#memory.clear();
    this.#meta.clear();
    await this.flush();
    await this.#disk?.clear();
  }

  // ---- reads ----

  /** One attempt at a read: the answer, or RESTART when the object changed under it. */
  async #read(
    key: string,
    range: ByteRange | undefined,
    signal: AbortSignal,
    state: KeyState,
  ): Promise<GetResult | typeof RESTART> {
    const gen = state.gen;
    const B = this.blockBytes;
    const local = new Map<number, LocalBlock>();
    let meta = this.#knownMeta(key);
    if (meta === undefined) {
      const learned = await this.#learn(key, range, local, signal, state, gen);
      if (learned === RESTART) return RESTART;
      meta = learned;
    }
    const [start, end] = resolveRange(range, meta.size, key);
    if (start === end) return { bytes: new Uint8Array(0), meta: { ...meta } };
    const [first, last] = blocksOf(start, end, B);
    const gathered = await this.#gather(key, meta, first, last, end - start, local, signal, state, gen);
    if (gathered === RESTART) return RESTART;

    const out = new Uint8Array(end - start);
    for (let b = first; b <= last; b++) {
      const block = local.get(b)!;
      const blockStart = b * B;
      const from = Math.max(start, blockStart);
      const to = Math.min(end, blockStart + block.bytes.byteLength);
      out.set(block.bytes.subarray(from - blockStart, to - blockStart), from - start);
      this.#count(block.source);
    }
    return { bytes: out, meta: { ...meta } };
  }

  #count(source: Source): void {
    if (source === "memory") this.#stats.memoryHits++;
    else if (source === "disk") this.#stats.diskHits++;
    else {
      this.#stats.misses++;
      if (source === "shared") this.#stats.sharedFetches++;
    }
  }

  /**
   * Learns the meta of an object not known yet, from the block a read starts
   * at: memory, a fetch in flight, disk, or a new fetch (for a whole-object
   * read, one plain GET of the object). Blocks obtained on the way go to
   * `local`.
   */
  async #learn(
    key: string,
    range: ByteRange | undefined,
    local: Map<number, LocalBlock>,
    signal: AbortSignal,
    state: KeyState,
    gen: number,
  ): Promise<ObjectMeta | typeof RESTART> {
    const B = this.blockBytes;
    const first = range === undefined ? 0 : Math.floor(range.offset / B);
    const memory = this.#memory.get(key, first);
    if (memory !== undefined) {
      local.set(first, { bytes: memory.bytes, source: "memory" });
      this.#adoptMeta(key, memory.meta);
      return memory.meta;
    }
    let run = this.#inflightFor(key, first);
    if (run === undefined && this.#disk !== undefined) {
      const found = await this.#diskLookup(key, first, undefined);
      if (state.gen !== gen) return RESTART;
      if (found !== undefined) {
        local.set(first, { bytes: found.bytes, source: "disk" });
        this.#adoptMeta(key, found.meta);
        const [start, end] = resolveRange(range, found.meta.size, key);
        if (end - start <= this.#maxMemorySpan) this.#memory.set({ key, block: first, meta: found.meta, bytes: found.bytes });
        return found.meta;
      }
      run = this.#inflightFor(key, first);
    }
    throwIfAborted(signal, key);
    let source: Source = "shared";
    if (run === undefined) {
      source = "fetched";
      if (range === undefined) {
        run = this.#startRun(key, 0, Number.POSITIVE_INFINITY, undefined);
      } else {
        // To the end: as much as one fetch may take. Zero bytes: just the meta, with one block.
        const wanted =
          range.length === undefined
            ? this.#maxFetchBlocks
            : range.length === 0
              ? 1
              : Math.floor((range.offset + range.length - 1) / B) - first + 1;
        const count = Math.min(this.#maxFetchBlocks, wanted);
        run = this.#startRun(key, first, count, count * B);
      }
    }
    const result = await run.fetch.join(signal, key);
    this.#take(result, local, source);
    return result.meta;
  }

  /**
   * Puts blocks [first, last] of version `meta` into `local`: from memory,
   * fetches in flight, disk, and new coalesced fetches.
   */
  async #gather(
    key: string,
    meta: ObjectMeta,
    first: number,
    last: number,
    span: number,
    local: Map<number, LocalBlock>,
    signal: AbortSignal,
    state: KeyState,
    gen: number,
  ): Promise<undefined | typeof RESTART> {
    const joins = new Map<Run, Source>();
    const toDisk: number[] = [];
    for (let b = first; b <= last; b++) {
      if (local.has(b)) continue;
      const memory = this.#memory.get(key, b);
      if (memory !== undefined) {
        if (memory.meta.etag === meta.etag) {
          local.set(b, { bytes: memory.bytes, source: "memory" });
          continue;
        }
        this.#memory.delete(key, b);
      }
      const run = this.#inflightFor(key, b);
      if (run !== undefined) joins.set(run, "shared");
      else toDisk.push(b);
    }

    let missing = toDisk;
    if (this.#disk !== undefined && toDisk.length > 0) {
      missing = [];
      const promote = span <= this.#maxMemorySpan;
      await forEachLimit(toDisk, DISK_PARALLELISM, async (b) => {
        const found = await this.#diskLookup(key, b, meta);
        if (found === undefined) missing.push(b);
        else {
          local.set(b, { bytes: found.bytes, source: "disk" });
          if (promote && state.gen === gen) this.#memory.set({ key, block: b, meta: found.meta, bytes: found.bytes });
        }
      });
      if (state.gen !== gen) return RESTART;
      missing.sort((a, b) => a - b);
    }

    throwIfAborted(signal, key);
    const fresh: number[] = [];
    for (const b of missing) {
      // Another read may have started fetching it while we looked on disk.
      const run = this.#inflightFor(key, b);
      if (run !== undefined) {
        if (!joins.has(run)) joins.set(run, "shared");
      } else fresh.push(b);
    }
    for (const { first: runFirst, count } of coalesceRuns(fresh, this.#maxFetchBlocks)) {
      joins.set(this.#startRun(key, runFirst, count, span), "fetched");
    }

    // One abort listener for every run this read joins.
    const watch = signal === undefined ? undefined : new AbortWatch(signal, key);
    const results = await Promise.all(
      [...joins].map(async ([run, source]) => ({ result: await run.fetch.join(signal, key, watch), source })),
    ).finally(() => watch?.dispose());
    for (const { result, source } of results) {
      if (result.meta.etag !== meta.etag || result.meta.size !== meta.size) return RESTART;
      this.#take(result, local, source, first, last);
    }
    for (let b = first; b <= last; b++) {
      // An inner answer shorter than its meta says: start over (then pass through).
      if (!local.has(b)) return RESTART;
    }
    return undefined;
  }

  /** Copies into `local` the blocks of a fetch's answer (those in [from, to] when given). */
  #take(result: RunResult, local: Map<number, LocalBlock>, source: Source, from = 0, to = Number.POSITIVE_INFINITY): void {
    const B = this.blockBytes;
    const { meta, first, bytes } = result;
    const count = blockCount(meta.size, B);
    for (let b = Math.max(first, from); b < count && b <= to; b++) {
      const offset = (b - first) * B;
      const length = blockLength(b, meta.size, B);
      if (offset + length > bytes.byteLength) break;
      if (!local.has(b)) local.set(b, { bytes: bytes.subarray(offset, offset + length), source });
    }
  }

  /** A fetch in flight that will hold block `block` of `key`. */
  #inflightFor(key: string, block: number): Run | undefined {
    return this.#inflightBlocks.get(blockId(key, block)) ?? this.#inflightWhole.get(key);
  }

  /**
   * Starts one inner GET (blocks [first, first + count), or the whole object
   * for count Infinity) and registers it in flight until its blocks are
   * stored. `span` is the size of the read that wants it, which decides the
   * tiers its blocks fill (undefined: the object's size, for whole reads).
   */
  #startRun(key: string, first: number, count: number, span: number | undefined): Run {
    const B = this.blockBytes;
    const whole = count === Number.POSITIVE_INFINITY;
    const state = this.#acquire(key);
    const gen = state.gen;
    const ids = whole ? [] : Array.from({ length: count }, (_, i) => blockId(key, first + i));
    const run = { key, first, count } as Run;
    const forget = () => {
      for (const id of ids) if (this.#inflightBlocks.get(id) === run) this.#inflightBlocks.delete(id);
      if (whole && this.#inflightWhole.get(key) === run) this.#inflightWhole.delete(key);
    };
    run.fetch = new SharedFetch<RunResult>(async (signal) => {
      this.#stats.innerFetches++;
      if (count > 1 && !whole) this.#stats.coalescedFetches++;
      const answer = await this.inner.get(
        key,
        whole ? { signal } : { signal, range: { offset: first * B, length: count * B } },
      );
      this.#stats.bytesFetched += answer.bytes.byteLength;
      return { meta: answer.meta, first, bytes: answer.bytes };
    }, forget);
    for (const id of ids) this.#inflightBlocks.set(id, run);
    if (whole) this.#inflightWhole.set(key, run);

    const done: Promise<void> = run.fetch.promise
      .then(
        (result) => this.#fill(key, result, span ?? result.meta.size, state, gen),
        () => undefined,
      )
      .catch(() => {
        this.#stats.diskErrors++;
      })
      .finally(() => {
        forget();
        this.#release(key, state);
        this.#pending.delete(done);
      });
    this.#pending.add(done);
    return run;
  }

  /** Stores a fetch's blocks in the tiers its read's span allows, unless a write happened since it began. */
  async #fill(key: string, result: RunResult, span: number, state: KeyState, gen: number): Promise<void> {
    if (state.gen !== gen) return;
    const { meta, first, bytes } = result;
    this.#adoptMeta(key, meta);
    const B = this.blockBytes;
    const toMemory = span <= this.#maxMemorySpan;
    const toDisk = this.#disk !== undefined && span <= this.#maxDiskSpan;
    if (!toMemory && !toDisk) return;
    const blocks: { block: number; bytes: Uint8Array }[] = [];
    const count = blockCount(meta.size, B);
    for (let b = first; b < count; b++) {
      const offset = (b - first) * B;
      const length = blockLength(b, meta.size, B);
      if (offset + length > bytes.byteLength) break;
      // A copy, so that a kept block does not pin the whole answer's buffer.
      blocks.push({ block: b, bytes: bytes.slice(offset, offset + length) });
    }
    if (toMemory) for (const { block, bytes: copy } of blocks) this.#memory.set({ key, block, meta, bytes: copy });
    if (toDisk) {
      for (const { block, bytes: copy } of blocks) {
        if (state.gen !== gen) return;
        await this.#disk!.write({ key, block, blockBytes: B, meta, bytes: copy }, () => state.gen === gen);
      }
    }
  }

  /**
   * Looks a block up on disk. With `meta` given, only an entry of that
   * version counts (another version's is deleted as stale); without it, any
   * intact entry does and tells the object's meta.
   */
  async #diskLookup(key: string, block: number, meta: ObjectMeta | undefined): Promise<{ bytes: Uint8Array; meta: ObjectMeta } | undefined> {
    const disk = this.#disk!;
    let read: Awaited<ReturnType<CacheDiskTier["read"]>>;
    try {
      read = await disk.read(key, block, this.blockBytes);
    } catch {
      this.#stats.diskErrors++;
      return undefined;
    }
    if ("corrupt" in read) {
      this.#stats.corruptDiskEntries++;
      return undefined;
    }
    if ("missing" in read) return undefined;
    const entry = read.found;
    if (meta !== undefined && (entry.meta.etag !== meta.etag || entry.meta.size !== meta.size)) {
      this.#stats.staleDiskEntries++;
      await disk.remove(key, block, this.blockBytes).catch(() => undefined);
      return undefined;
    }
    return { bytes: entry.bytes, meta: entry.meta };
  }

  // ---- metas, generations, invalidation ----

  #knownMeta(key: string): ObjectMeta | undefined {
    const meta = this.#meta.get(key);
    if (meta !== undefined) {
      this.#meta.delete(key);
      this.#meta.set(key, meta);
    }
    return meta;
  }

  /** Remembers a key's meta; blocks of any other version are dropped from memory. */
  #adoptMeta(key: string, meta: ObjectMeta): void {
    const previous = this.#meta.get(key);
    if (previous !== undefined && (previous.etag !== meta.etag || previous.size !== meta.size)) {
      this.#memory.deleteKey(key);
    }
    this.#meta.delete(key);
    this.#meta.set(key, meta);
    if (this.#meta.size > MAX_KNOWN_OBJECTS) this.#meta.delete(this.#meta.keys().next().value as string);
  }

  #acquire(key: string): KeyState {
    let state = this.#keys.get(key);
    if (state === undefined) this.#keys.set(key, (state = { refs: 0, gen: 0 }));
    state.refs++;
    return state;
  }

  #release(key: string, state: KeyState): void {
    if (--state.refs === 0 && this.#keys.get(key) === state) this.#keys.delete(key);
  }

  async #invalidate(key: string): Promise<void> {
    const state = this.#keys.get(key);
    if (state !== undefined) state.gen++;
    this.#meta.delete(key);
    this.#memory.deleteKey(key);
    for (const [id, run] of this.#inflightBlocks) if (run.key === key) this.#inflightBlocks.delete(id);
    this.#inflightWhole.delete(key);
    if (this.#disk !== undefined) {
      try {
        await this.#disk.removeKey(key);
      } catch {
        this.#stats.diskErrors++;
      }
    }
  }
}
