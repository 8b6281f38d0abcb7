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
 *     {"kind": "skerry.tail-chunk-index", "version": 2,
 *      "first": <id of the tail's first container>,
 *      "prefix": <BLAKE3 hex of the fold identities before the chunk, "\n"-joined>,
 *      "containers": [<fold identity of each container of the chunk>],
 *      "level": <the chunk's merge level>,
 *      "build": {"metric", "dimension" (or null), "textFields" (JSON of the
 *                tokenizer configs), "ann": true, "format": 5},
 *      "touched": [<entries each container applied>],
 *      "deleted": [<ids deleted at the chunk's end>],
 *      "superseded": [<ids later containers touched when it was indexed>]}
 *
 * Version 2 adds the chunk's fold summary (chunk-fold-summary.ts): with it a
 * fresh process folds only the log batches no stored chunk covers
 * (`openCovered`, query-tail.ts `applySummary`). Version 1 objects (no
 * summary) are still read: their chunk's batches are folded, as before.
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
 * there is one (@skerry/query index-worker-pool.ts; else on the event loop); a failure is reported, never a query's. Once
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
import { CorruptError, createImmutable, isCorrupt, type NamespacePath, namespaceRoot, type RetryPolicy, withRetry } from "../core/index.ts";
import { type ColdArrayReader, decodeIndexStep, deserializeQueryIndex, isCorruptStoredIndex, QUERY_INDEX_VERSION, type QueryIndex, readExtraIndexSection, serializeQueryIndexOffThread, yieldToEventLoop } from "@skerry/query";
import { openRangedTailChunk, type RangedTailChunk } from "./ranged-tail-chunk.ts";
import { sliceFromTail } from "@skerry/wal-format";
import { buildTailChunksOffThread } from "./tail-chunk-builds.ts";
import { type ChunkLimits, chunkKey, type PlannedChunk, plannedChunks, type TailChunk, type TailChunks } from "./tail-chunks.ts";
import { type ChunkFoldSummary, chunkFoldSummaryJson, parseChunkFoldSummary } from "./chunk-fold-summary.ts";
import { foldIdentity } from "./query-tail.ts";
import { deletedIdsOf } from "../manifest/index.ts";

/** The extra section of a persisted tail chunk index. */
export const TAIL_CHUNK_SECTION = "tail.json";
const HEADER_KIND = "skerry.tail-chunk-index";
const HEADER_VERSION = 2;
/** Header versions read: 1 (no fold summary) and 2. */
const HEADER_VERSIONS: readonly unknown[] = [1, 2];
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
  /** Stored chunks whose log batches were not folded (their fold summary used instead). */
  readonly summarized: number;
  /** Folds that started from summaries but needed a summarized document, and folded the batches instead. */
  readonly refolds: number;
}

/** Stored chunks opened before the fold (`openCovered`). */
export interface CoveredTail {
  /** Consecutive chunks from the tail's first container with fold summaries, oldest first. */
  readonly chunks: readonly { readonly start: number; readonly end: number; readonly chunk: RangedTailChunk }[];
  /** Every object looked for, by key: opened, or undefined (absent, or not usable: reported). */
  readonly tried: ReadonlyMap<string, RangedTailChunk | undefined>;
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
  #summarized = 0;
  #refolds = 0;

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
    return { loaded: this.#loaded, ranged: this.#ranged, materialized: this.#materialized, written: this.#written, rejected: this.#rejected, writeFailures: this.#writeFailures, superseded: this.#superseded, unfit: this.#unfit, summarized: this.#summarized, refolds: this.#refolds };
  }

  /** Counts `n` chunks whose summaries a fold used instead of their batches. */
  countSummarized(n: number): void {
    this.#summarized += n;
  }

  /** Counts a fold made again from the batches (a summarized document was needed). */
  countRefold(): void {
    this.#refolds++;
  }

  /**
   * Before a fresh fold of `refs` (the cold paths, ranged reads): opens by range the stored chunks a fold would cut,
   * estimating each container's entries by its row count, and returns the consecutive ones from the first container
   * whose fold summary (version 2) agrees with the estimate: the fold applies their summaries instead of reading
   * their batches. Every object looked for is in `tried` (`advance` does not look again).
   */
  async openCovered(path: NamespacePath, refs: readonly ContainerRef[], build: ChunkBuild, limits: ChunkLimits): Promise<CoveredTail> {
    const tried = new Map<string, RangedTailChunk | undefined>();
    if (!this.#settings.persist || refs.length === 0 || this.#arrays === undefined) return { chunks: [], tried };
    const estimate = refs.map((ref) => ref.rowCount + (ref.kind === "SEGMENT" ? deletedIdsOf(ref).length : 0));
    const planned = plannedChunks(refs.length, (c) => estimate[c] as number, limits).filter((p) => p.touched >= Math.max(1, this.#settings.minDocuments));
    const identities = refs.map(foldIdentity);
    const targets = new Map<string, ChunkTarget>();
    for (const p of planned) targets.set(chunkKey(p.start, p.end), this.#target(path, identities, refs, build, p.start, p.end, p.level));
    const opened = await this.#readAll(path, planned, targets, true);
    for (const t of targets.values()) tried.set(t.key, undefined);
    for (const p of planned) {
      const chunk = opened.get(chunkKey(p.start, p.end));
      if (chunk !== undefined) tried.set((targets.get(chunkKey(p.start, p.end)) as ChunkTarget).key, chunk as RangedTailChunk);
    }
    const chunks: { start: number; end: number; chunk: RangedTailChunk }[] = [];
    let covered = 0;
    for (const p of planned) {
      if (p.start !== covered) break;
      const chunk = opened.get(chunkKey(p.start, p.end)) as RangedTailChunk | undefined;
      const summary = chunk?.summary;
      if (chunk === undefined || summary === undefined) break;
      if (summary.touched.some((n, i) => n !== estimate[p.start + i])) break; // cut elsewhere: folded
      chunks.push({ start: p.start, end: p.end, chunk });
      covered = p.end;
    }
    return { chunks, tried };
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
  async advance(
    path: NamespacePath,
    chunks: TailChunks,
    refs: readonly ContainerRef[],
    build: ChunkBuild,
    ranged = false,
    tried?: ReadonlyMap<string, RangedTailChunk | undefined>,
  ): Promise<TailChunk> {
    if (!this.#settings.persist || refs.length === 0) return chunks.advance(undefined, undefined, await buildTailChunksOffThread(chunks, build, () => false), yieldToEventLoop);
    const target = (start: number, end: number, level: number): ChunkTarget => this.#target(path, chunks.fold.identities, refs, build, start, end, level);
    const wanted = chunks.pending().filter((p) => p.touched >= Math.max(1, this.#settings.minDocuments));
    const targets = new Map<string, ChunkTarget>();
    for (const p of wanted) targets.set(chunkKey(p.start, p.end), target(p.start, p.end, p.level));
    // Those `openCovered` looked for already are not looked for again.
    const looked = ranged && tried !== undefined ? wanted.filter((p) => tried.has((targets.get(chunkKey(p.start, p.end)) as ChunkTarget).key)) : [];
    const stored = await this.#readAll(
      path,
      wanted.filter((p) => !looked.includes(p)),
      targets,
      ranged && this.#arrays !== undefined,
    );
    for (const p of looked) {
      const chunk = tried?.get((targets.get(chunkKey(p.start, p.end)) as ChunkTarget).key);
      if (chunk !== undefined) stored.set(chunkKey(p.start, p.end), chunk);
    }
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
        chunk.summary,
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
      const target = this.#target(path, chunks.fold.identities, refs, build, chunk.start, chunk.end, chunk.level);
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
    const target = this.#target(path, chunks.fold.identities, refs, build, chunk.start, chunk.end, chunk.level);
    this.#corrupt.add(target.key); // whatever is there was not usable: replaced
    this.#forget(target.key);
    this.#remember(target.key);
    this.#queueWrite(path, target, index, [], chunk.summary);
  }

  /** Key and header of the object of containers [start, end) of a fold of `identities` (of `refs`). */
  #target(path: NamespacePath, identities: readonly string[], refs: readonly ContainerRef[], build: ChunkBuild, start: number, end: number, level: number): ChunkTarget {
    const first = (refs[0] as ContainerRef).id;
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
        // Found damaged by this process and not written again yet: indexed from the fold meanwhile.
        if (ranged && this.#corrupt.has(t.key)) continue;
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
    if (bytes === undefined) {
      this.#known.delete(key); // gone (deleted behind this process's back): written again when indexed here
      return undefined;
    }
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
    if (size === undefined) {
      this.#known.delete(key); // gone (deleted behind this process's back): written again when indexed here
      return undefined;
    }
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
      const raw = decodeIndexStep(key, () => sliceFromTail(file.directory, file.tail, section));
      const mismatch = headerMismatch(raw, header);
      if (mismatch !== undefined) return bad(mismatch);
      if (file.meta.metric !== header.build.metric) return bad(`is indexed for metric ${file.meta.metric}`);
      if (header.build.dimension !== null && file.meta.vectors !== null && file.meta.dimension !== header.build.dimension) {
        return bad(`holds ${file.meta.dimension}-dimensional vectors`);
      }
      const chunk = await openRangedTailChunk(arrays, key, size);
      if (chunk === null) return bad("is not a block file");
      const parsed = JSON.parse(new TextDecoder().decode(raw)) as Record<string, unknown>;
      if (parsed["version"] === 2) {
        const summary = parseChunkFoldSummary(parsed, header.containers.length, chunk);
        if (typeof summary === "string") return bad(summary);
        chunk.summary = summary;
      }
      return chunk;
    } catch (error) {
      if (isCorrupt(error) || isCorruptStoredIndex(error)) return bad((error as Error).message, error);
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
  #queueWrite(path: NamespacePath, target: ChunkTarget, index: QueryIndex, supersedes: readonly string[], summary: ChunkFoldSummary | undefined): void {
    // Version 2 with the chunk's fold summary (a chunk indexed here always has one); version 1 without.
    const header = summary === undefined ? { ...target.header, version: 1 } : { ...target.header, ...chunkFoldSummaryJson(summary) };
    this.#writes = this.#writes
      .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
      .then(async () => {
        // In an index worker thread when there is one: serializing a big chunk takes seconds of CPU (index-worker-pool.ts).
        const bytes = await serializeQueryIndexOffThread(index, [{ name: TAIL_CHUNK_SECTION, bytes: new TextEncoder().encode(JSON.stringify(header)) }]);
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
  if (header["kind"] !== HEADER_KIND || !HEADER_VERSIONS.includes(header["version"])) return `is not a version 1 or ${HEADER_VERSION} tail chunk index`;
  const containers = header["containers"];
  if (!Array.isArray(containers) || containers.length !== expected.containers.length || containers.some((c, i) => c !== expected.containers[i])) {
    return `covers other containers (${Array.isArray(containers) ? containers.length : "?"} named, ${expected.containers.length} expected)`;
  }
  if (header["first"] !== expected.first || header["prefix"] !== expected.prefix) return "follows other containers";
  if (JSON.stringify(header["build"]) !== JSON.stringify(expected.build)) return "was built with other options";
  return undefined;
}
