/**
 * TailChunkIndexStore: the query indexes of closed log-tail chunks
 * (tail-chunks.ts) persisted as objects, so a process's first query over a
 * large uncompacted tail reads them instead of indexing every document
 * again (~30-40 us per document), and so does every node of a fleet.
 *
 * Object: a query index object (index-codec.ts, format 5, the compacted
 * segments' `.qidx` format, readable by ranged GETs like theirs) with one
 * extra eager section, `tail.json`, naming what it indexes:
 *
 *     {"kind": "skerry.tail-chunk-index", "version": 1,
 *      "first": <id of the tail's first container>,
 *      "prefix": <BLAKE3 hex of the fold identities before the chunk, "\n"-joined>,
 *      "containers": [<fold identity of each container of the chunk>],
 *      "level": <the chunk's merge level>,
 *      "build": {"metric", "dimension" (or null), "textFields" (JSON of the
 *                tokenizer configs), "ann": true, "format": 5}}
 *
 * A fold identity (query-tail.ts `foldIdentity`) is the container's id, plus
 * its deletion vector key and extra fields when it has them: a container
 * whose tombstones changed is another identity. A chunk's documents depend
 * only on its containers and the ones before it in the tail (the bases of
 * PATCHes), so `prefix` + `containers` + `build` fix the content.
 *
 * Key: `<namespace root>/tailidx/<first>/<BLAKE3 hex of the JSON of
 * {prefix, containers, build}>.qidx`, written with a create-only put: two
 * processes that build the same chunk race to write the same thing, and an
 * existing object counts as written. A chunk of fewer than
 * `minDocuments` documents is cheap to index and is not written.
 *
 * Writes run in the background (one at a time, after the query that built
 * the chunk has its answer), serialized by an index worker thread when
 * there is one (query/index-worker-pool.ts; else on the event loop); a failure is reported, never a query's. Once
 * the object of a merged chunk (level L + 1) is written, the objects of the
 * chunks it merged are deleted: only a process at a version before the merge
 * would still use them (it indexes them itself), and keeping every level
 * would store each document once per level it climbed. A process that
 * never held the smaller chunks (a fresh one) leaves their objects to GC.
 *
 * Reads: before indexing the closed chunks a version needs (TailChunks
 * `pending`), their objects are fetched (at most 4 at a time); a missing
 * object is the usual case and costs one GET. An object is used only when
 * every block's CRC checks, its `tail.json` names exactly the expected
 * containers, prefix and build, its index decodes (index-codec.ts checks
 * every cross-reference), and TailChunks finds its ids consistent with
 * this process's fold (a stored chunk may have been built when fewer or
 * more containers followed it). A corrupt object, or one naming other
 * containers, is reported (CorruptError naming the key) and replaced; one
 * that does not fit (indexed for a later version, lacking rows an older one
 * needs) is only counted (`unfit`). Either way the chunk is built: a bad
 * object is never read as an empty chunk, nor used for other containers. Deletions and overwrites by
 * later containers apply to a stored chunk like to a built one
 * (TailChunks excludes those rows).
 *
 * Ranged reads (`advance(..., ranged)`, the cold query paths' first query
 * of a version): instead of the whole object, its eager region and ids
 * (ranged-tail-chunk.ts), every block read CRC-checked; the same header,
 * metric, dimension and fit checks apply (the fit check needs only the
 * ids), with the same outcomes. The chunk is then a RangedTailChunk that
 * the cold query paths read by range like a compacted segment. The loaded
 * path loads such chunks whole (`materialize`, the checks of a whole read);
 * damage found by a ranged read later (a block whose CRC fails, an object
 * deleted behind the engine's back) is reported by the query path
 * (`damaged`) and the chunk is indexed from the fold and its object
 * replaced: never read as fewer rows.
 *
 * Lifecycle: the objects are a cache derived from log batches. Garbage
 * collection (manifest-retention.ts) deletes those whose first container
 * no retained version references (`collectTailIndexGarbage`); purging the
 * namespace deletes everything under its root; the repair sweep keeps
 * them while their first container is live.
 */
import { isNotFound, type StorageProvider } from "@skerry/storage-providers";
import { type ContainerRef, contentHash, type DistanceMetric, type Random } from "@skerry/wal-format";
import { CorruptError, isCorrupt } from "./errors.ts";
import type { ColdArrayReader } from "./cold-array-reader.ts";
import type { NamespacePath } from "./namespace-path.ts";
import { openRangedTailChunk, type RangedTailChunk } from "./ranged-tail-chunk.ts";
import { deserializeQueryIndex, QUERY_INDEX_VERSION, readExtraIndexSection } from "./query/index-codec.ts";
import { serializeQueryIndexOffThread, yieldToEventLoop } from "./query/index-worker-pool.ts";
import type { QueryIndex } from "./query/query-index.ts";
import { sliceFromTail } from "@skerry/wal-format";
import { decodeIndexStep } from "./index-object-reads.ts";
import { createImmutable, type RetryPolicy, withRetry } from "./storage-calls.ts";
import { namespaceRoot } from "./storage-layout.ts";
import { buildTailChunksOffThread } from "./tail-chunk-builds.ts";
import { chunkKey, type PlannedChunk, type TailChunk, type TailChunks } from "./tail-chunks.ts";

/** The extra section of a persisted tail chunk index. */
export const TAIL_CHUNK_SECTION = "tail.json";
const HEADER_KIND = "skerry.tail-chunk-index";
const HEADER_VERSION = 1;
const READ_CONCURRENCY = 4;
/** Keys this process wrote or found stored, remembered so a rebuilt chunk is not written again. */
const KNOWN_KEYS = 4096;

/** What a chunk's index is built with (besides its documents). */
export interface ChunkBuild {
  readonly metric: DistanceMetric;
  readonly dimension: number | null;
  /** JSON of the text fields' tokenizer configs. */
  readonly textFields: string;
}

/** The `tail.json` section. */
interface ChunkHeader {
  readonly kind: string;
  readonly version: number;
  readonly first: string;
  readonly prefix: string;
  readonly containers: readonly string[];
  readonly level: number;
  readonly build: ChunkBuild & { readonly ann: true; readonly format: number };
}

export interface TailChunkIndexStoreSettings {
  /** Write closed chunks' indexes (and look for them); default true. */
  readonly persist: boolean;
  /** Chunks of fewer documents are neither written nor looked for. */
  readonly minDocuments: number;
}

export interface TailChunkIndexStoreStats {
  /** Chunks taken from stored objects instead of built (whole or by range). */
  readonly loaded: number;
  /** Of those, chunks opened for ranged reads (their eager region and ids read, not the whole object). */
  readonly ranged: number;
  /** Ranged chunks later loaded whole (for the loaded query path). */
  readonly materialized: number;
  /** Objects written (or found already written by a create-only put). */
  readonly written: number;
  /** Objects found corrupt or naming other containers (reported; the chunk is indexed and the object replaced). */
  readonly rejected: number;
  /** Sound objects whose rows do not fit this process's fold (indexed for a later version): the chunk is indexed. */
  readonly unfit: number;
  /** Background writes that failed. */
  readonly writeFailures: number;
  /** Objects of chunks merged into a larger one, deleted once the larger one was written. */
  readonly superseded: number;
}

/** Prefix of a namespace's persisted tail chunk indexes. */
export function tailIndexPrefix(path: NamespacePath): string {
  return `${namespaceRoot(path)}/tailidx/`;
}

/** Key of a persisted tail chunk index. */
export function tailIndexKey(path: NamespacePath, first: string, prefix: string, containers: readonly string[], build: ChunkBuild): string {
  const digest = contentHash(new TextEncoder().encode(JSON.stringify({ prefix, containers, build: { ...build, ann: true, format: QUERY_INDEX_VERSION } })));
  return `${tailIndexPrefix(path)}${first}/${digest}.qidx`;
}

/** The first container id a tail index key is filed under, or undefined for a key that is not one. */
export function tailIndexFirstContainer(path: NamespacePath, key: string): string | undefined {
  const prefix = tailIndexPrefix(path);
  if (!key.startsWith(prefix)) return undefined;
  const parts = key.slice(prefix.length).split("/");
  return parts.length === 2 && parts[0] !== "" && parts[1]?.endsWith(".qidx") === true ? parts[0] : undefined;
}

/** BLAKE3 hex of the fold identities, one per line. */
function prefixDigest(identities: readonly string[]): string {
  return contentHash(new TextEncoder().encode(identities.join("\n")));
}

interface ChunkTarget {
  readonly key: string;
  readonly header: ChunkHeader;
}

export class TailChunkIndexStore {
  readonly #storage: StorageProvider;
  readonly #random: Random;
  readonly #retry: RetryPolicy;
  readonly #settings: TailChunkIndexStoreSettings;
  readonly #report: (error: unknown, path: NamespacePath) => void;
  readonly #arrays: ColdArrayReader | undefined;
  /** Drops what the cold readers cached of an object about to be written again. */
  readonly #forget: (key: string) => void;
  /** Keys written or seen stored by this process, oldest first (bounded). */
  readonly #known = new Set<string>();
  /** Keys whose object was found corrupt (or naming other containers): replaced by the next write. */
  readonly #corrupt = new Set<string>();
  #writes: Promise<void> = Promise.resolve();
  #loaded = 0;
  #ranged = 0;
  #materialized = 0;
  #written = 0;
  #rejected = 0;
  #writeFailures = 0;
  #superseded = 0;
  #unfit = 0;

  constructor(
    deps: { readonly storage: StorageProvider; readonly random: Random; readonly retry: RetryPolicy; readonly arrays?: ColdArrayReader | undefined; readonly forget?: ((key: string) => void) | undefined },
    settings: TailChunkIndexStoreSettings,
    report: (error: unknown, path: NamespacePath) => void,
  ) {
    this.#storage = deps.storage;
    this.#random = deps.random;
    this.#retry = deps.retry;
    this.#settings = settings;
    this.#arrays = deps.arrays;
    this.#forget = (key) => {
      deps.arrays?.forget(key);
      deps.forget?.(key);
    };
    this.#report = (error, path) => {
      try {
        report(error, path);
      } catch {
        // a throwing listener never fails a query or a write
      }
    };
  }

  stats(): TailChunkIndexStoreStats {
    return { loaded: this.#loaded, ranged: this.#ranged, materialized: this.#materialized, written: this.#written, rejected: this.#rejected, writeFailures: this.#writeFailures, superseded: this.#superseded, unfit: this.#unfit };
  }

  /** Resolves once the background writes queued so far are done (their failures are reported, not thrown). */
  flush(): Promise<void> {
    return this.#writes;
  }

  /**
   * `chunks.advance()` with the stored indexes of the closed chunks it is
   * about to index, then the chunks it built queued for writing. `refs` are
   * the tail's containers (the fold's), `build` what the chunks are indexed with. `ranged`: the stored indexes
   * are opened for ranged reads (RangedTailChunk) instead of read whole (the cold query paths).
   */
  async advance(path: NamespacePath, chunks: TailChunks, refs: readonly ContainerRef[], build: ChunkBuild, ranged = false): Promise<TailChunk> {
    if (!this.#settings.persist || refs.length === 0) return chunks.advance(undefined, undefined, await buildTailChunksOffThread(chunks, build, () => false), yieldToEventLoop);
    const target = (start: number, end: number, level: number): ChunkTarget => this.#target(path, chunks, refs, build, start, end, level);
    const wanted = chunks.pending().filter((p) => p.touched >= Math.max(1, this.#settings.minDocuments));
    const targets = new Map<string, ChunkTarget>();
    for (const p of wanted) targets.set(chunkKey(p.start, p.end), target(p.start, p.end, p.level));
    const stored = await this.#readAll(path, wanted, targets, ranged && this.#arrays !== undefined);
    // The chunks not found stored are built by worker threads when there are some (tail-chunk-builds.ts).
    const built = await buildTailChunksOffThread(chunks, build, (start, end) => stored.has(chunkKey(start, end)));
    const before = chunks.closed;
    const open = await chunks.advance(
      stored,
      (start, end, reason, corrupt) => {
        const key = targets.get(chunkKey(start, end))?.key ?? "";
        if (corrupt) {
        this.#corrupt.add(key);
        this.#reject(path, key, reason);
        } else this.#unfit++; // a sound object indexed while other containers followed the chunk (for a later version): kept
      },
      built,
      yieldToEventLoop,
    );
    for (const chunk of chunks.closed) {
      if (chunk.stored === true) {
        if (stored.has(chunkKey(chunk.start, chunk.end))) {
          this.#loaded++;
          if (chunk.ranged !== undefined) this.#ranged++;
        }
        continue;
      }
      const t = targets.get(chunkKey(chunk.start, chunk.end));
      const index = chunk.index;
      // Built now (a chunk built by an earlier advance was queued then), big enough, not found stored.
      if (t === undefined || index === null || index.size < this.#settings.minDocuments) continue;
      if (stored.has(chunkKey(chunk.start, chunk.end)) && !this.#corrupt.has(t.key)) continue; // there, sound
      if (this.#known.has(t.key) && !this.#corrupt.has(t.key)) continue;
      this.#remember(t.key);
      // The chunks this one merged (this process held them): their objects go once this one is written.
      const merged = before.filter((c) => c.start >= chunk.start && c.end <= chunk.end && c.index !== null && c.index.size >= this.#settings.minDocuments);
      this.#queueWrite(
        path,
        t,
        index,
        merged.map((c) => target(c.start, c.end, c.level).key),
      );
    }
    return open;
  }

  /**
   * Loads the ranged chunks of `chunks` whole (the loaded query path needs them in memory): each object read and
   * checked as a whole read is, and its ids must be those read by range; a chunk whose object is gone, damaged or
   * unreadable is indexed from the fold instead (and its object written again).
   */
  async materialize(path: NamespacePath, chunks: TailChunks, refs: readonly ContainerRef[], build: ChunkBuild): Promise<void> {
    for (const chunk of chunks.closed) {
      const ranged = chunk.ranged;
      if (ranged === undefined) continue;
      const target = this.#target(path, chunks, refs, build, chunk.start, chunk.end, chunk.level);
      const index = this.#corrupt.has(ranged.key) || target.key !== ranged.key ? undefined : await this.#read(path, target);
      if (index !== undefined && chunks.materialize(chunk, index)) {
        this.#materialized++;
        continue;
      }
      if (index !== undefined) {
        this.#corrupt.add(ranged.key);
        this.#reject(path, ranged.key, "holds other ids than its ranged reads found");
      }
      this.#rebuild(path, chunks, refs, build, chunk);
    }
  }

  /**
   * A ranged read of stored chunk `key` found it damaged or gone (`error`, a CorruptError): reported, and its
   * chunk indexed from the fold (its object written again). False when no chunk of `chunks` is read from `key`.
   */
  damaged(path: NamespacePath, chunks: TailChunks, refs: readonly ContainerRef[], build: ChunkBuild, key: string, error: unknown): boolean {
    const chunk = chunks.closed.find((c) => c.ranged?.key === key);
    if (chunk === undefined) return false;
    this.#corrupt.add(key);
    this.#reject(path, key, (error as Error).message, error);
    this.#rebuild(path, chunks, refs, build, chunk);
    return true;
  }

  /** Indexes ranged `chunk` from the fold and queues the write of its object (replacing the one there). */
  #rebuild(path: NamespacePath, chunks: TailChunks, refs: readonly ContainerRef[], build: ChunkBuild, chunk: TailChunk): void {
    chunks.rebuild(chunk);
    const index = chunk.index;
    if (index === null || index.size < this.#settings.minDocuments) return;
    const target = this.#target(path, chunks, refs, build, chunk.start, chunk.end, chunk.level);
    this.#corrupt.add(target.key); // whatever is there was not usable: replaced
    this.#forget(target.key);
    this.#remember(target.key);
    this.#queueWrite(path, target, index, []);
  }

  /** Key and header of the object of containers [start, end) of the fold of `chunks`. */
  #target(path: NamespacePath, chunks: TailChunks, refs: readonly ContainerRef[], build: ChunkBuild, start: number, end: number, level: number): ChunkTarget {
    const first = (refs[0] as ContainerRef).id;
    const identities = chunks.fold.identities;
    const prefix = prefixDigest(identities.slice(0, start));
    const containers = identities.slice(start, end);
    const header: ChunkHeader = {
      kind: HEADER_KIND,
      version: HEADER_VERSION,
      first,
      prefix,
      containers,
      level,
      build: { ...build, ann: true, format: QUERY_INDEX_VERSION },
    };
    return { key: tailIndexKey(path, first, prefix, containers, build), header };
  }

  /** The stored, verified indexes of `wanted` chunks by chunkKey (absent, unreadable and bad ones left out); `ranged`: opened for ranged reads. */
  async #readAll(
    path: NamespacePath,
    wanted: readonly PlannedChunk[],
    targets: ReadonlyMap<string, ChunkTarget>,
    ranged: boolean,
  ): Promise<Map<string, QueryIndex | RangedTailChunk>> {
    const out = new Map<string, QueryIndex | RangedTailChunk>();
    let next = 0;
    const worker = async () => {
      while (next < wanted.length) {
        const p = wanted[next++] as PlannedChunk;
        const t = targets.get(chunkKey(p.start, p.end)) as ChunkTarget;
        const index = ranged ? await this.#readRanged(path, t) : await this.#read(path, t);
        if (index !== undefined) out.set(chunkKey(p.start, p.end), index);
      }
    };
    await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, wanted.length) }, worker));
    return out;
  }

  /** One chunk's stored index, verified; undefined when absent or not usable (reported). */
  async #read(path: NamespacePath, target: ChunkTarget): Promise<QueryIndex | undefined> {
    const { key, header } = target;
    let bytes: Uint8Array | undefined;
    try {
      bytes = await withRetry(`read tail chunk index ${key}`, this.#retry, this.#random, async () => {
        try {
          return (await this.#storage.get(key)).bytes;
        } catch (error) {
          if (isNotFound(error)) return undefined;
          throw error;
        }
      });
    } catch (error) {
      this.#report(error, path); // unreadable now: build instead
      return undefined;
    }
    if (bytes === undefined) return undefined;
    this.#remember(key);
    const bad = (reason: string, cause?: unknown): undefined => {
      this.#corrupt.add(key);
      return this.#reject(path, key, reason, cause);
    };
    try {
      const section = readExtraIndexSection(bytes, TAIL_CHUNK_SECTION);
      if (section === undefined) return bad(`has no ${TAIL_CHUNK_SECTION} section`);
      const mismatch = headerMismatch(section, header);
      if (mismatch !== undefined) return bad(mismatch);
      const index = deserializeQueryIndex(bytes, { extraSections: [TAIL_CHUNK_SECTION] });
      if (index.state.metric !== header.build.metric) return bad(`is indexed for metric ${index.state.metric}`);
      if (header.build.dimension !== null && index.state.vectors !== null && index.state.dimension !== header.build.dimension) {
        return bad(`holds ${index.state.dimension}-dimensional vectors`);
      }
      return index;
    } catch (error) {
      return bad((error as Error).message, error);
    }
  }

  /**
   * One chunk's stored index opened for ranged reads (eager region and ids, every block verified) and checked like
   * a whole read; undefined when absent or not usable (reported).
   */
  async #readRanged(path: NamespacePath, target: ChunkTarget): Promise<RangedTailChunk | undefined> {
    const { key, header } = target;
    const arrays = this.#arrays as ColdArrayReader;
    let size: number | undefined;
    try {
      size = await withRetry(`read tail chunk index ${key}`, this.#retry, this.#random, async () => {
        try {
          return (await this.#storage.head(key))?.size;
        } catch (error) {
          if (isNotFound(error)) return undefined;
          throw error;
        }
      });
    } catch (error) {
      this.#report(error, path); // unreadable now: build instead
      return undefined;
    }
    if (size === undefined) return undefined;
    this.#remember(key);
    const bad = (reason: string, cause?: unknown): undefined => {
      this.#corrupt.add(key);
      this.#forget(key);
      return this.#reject(path, key, reason, cause);
    };
    try {
      const file = await arrays.open({ ref: null, indexKey: key, expectedBytes: size });
      if (file === null) return bad("is not a block file");
      const section = file.directory.section(TAIL_CHUNK_SECTION);
      if (section === undefined || !section.eager) return bad(`has no ${TAIL_CHUNK_SECTION} section`);
      const mismatch = headerMismatch(
        decodeIndexStep(key, () => sliceFromTail(file.directory, file.tail, section)),
        header,
      );
      if (mismatch !== undefined) return bad(mismatch);
      if (file.meta.metric !== header.build.metric) return bad(`is indexed for metric ${file.meta.metric}`);
      if (header.build.dimension !== null && file.meta.vectors !== null && file.meta.dimension !== header.build.dimension) {
        return bad(`holds ${file.meta.dimension}-dimensional vectors`);
      }
      const chunk = await openRangedTailChunk(arrays, key, size);
      if (chunk === null) return bad("is not a block file");
      return chunk;
    } catch (error) {
      if (isCorrupt(error)) return bad((error as Error).message, error);
      this.#report(error, path); // unreadable now: build instead
      return undefined;
    }
  }

  #reject(path: NamespacePath, key: string, reason: string, cause?: unknown): undefined {
    this.#rejected++;
    this.#report(new CorruptError(`tail chunk index ${key} ${reason}; the chunk is indexed again`, key, cause === undefined ? {} : { cause }), path);
    return undefined;
  }

  #remember(key: string): void {
    this.#known.delete(key);
    this.#known.add(key);
    if (this.#known.size > KNOWN_KEYS) this.#known.delete(this.#known.keys().next().value as string);
  }

  /**
   * Serializes and writes one chunk's index after the current turn (the query's answer first), one write at a
   * time; then deletes the objects of the chunks it `supersedes` (merged into it).
   */
  #queueWrite(path: NamespacePath, target: ChunkTarget, index: QueryIndex, supersedes: readonly string[]): void {
    this.#writes = this.#writes
      .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
      .then(async () => {
        // In an index worker thread when there is one: serializing a big chunk takes seconds of CPU (index-worker-pool.ts).
        const bytes = await serializeQueryIndexOffThread(index, [{ name: TAIL_CHUNK_SECTION, bytes: new TextEncoder().encode(JSON.stringify(target.header)) }]);
        if (this.#corrupt.delete(target.key)) {
          // The object there failed its checks: replaced (a racing writer's copy of the same chunk is as good as ours).
          await withRetry(`delete ${target.key}`, this.#retry, this.#random, () => this.#storage.delete(target.key));
        }
        await createImmutable({ storage: this.#storage, retry: this.#retry, random: this.#random }, target.key, bytes, `write tail chunk index ${target.key}`);
        this.#written++;
        for (const key of supersedes) {
          await withRetry(`delete ${key}`, this.#retry, this.#random, () => this.#storage.delete(key));
          this.#known.delete(key);
          this.#superseded++;
        }
      })
      .catch((error) => {
        this.#writeFailures++;
        this.#known.delete(target.key); // another build may try again
        this.#report(error, path);
      });
  }
}

/** Why a `tail.json` section does not name `expected`, or undefined when it does. */
function headerMismatch(section: Uint8Array, expected: ChunkHeader): string | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(section));
  } catch {
    return `has a ${TAIL_CHUNK_SECTION} that is not JSON`;
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return `has a ${TAIL_CHUNK_SECTION} that is not an object`;
  const header = raw as Record<string, unknown>;
  if (header["kind"] !== HEADER_KIND || header["version"] !== HEADER_VERSION) return `is not a version ${HEADER_VERSION} tail chunk index`;
  const containers = header["containers"];
  if (!Array.isArray(containers) || containers.length !== expected.containers.length || containers.some((c, i) => c !== expected.containers[i])) {
    return `covers other containers (${Array.isArray(containers) ? containers.length : "?"} named, ${expected.containers.length} expected)`;
  }
  if (header["first"] !== expected.first || header["prefix"] !== expected.prefix) return "follows other containers";
  if (JSON.stringify(header["build"]) !== JSON.stringify(expected.build)) return "was built with other options";
  return undefined;
}
