/**
 * CachingStorage: a read-through cache in front of any StorageProvider, for
 * keys the caller declares immutable (segments, log batches, sidecars that
 * are written once with `create` and never changed).
 *
 * Tiers: a memory LRU bounded by bytes, and optionally a disk tier (a
 * directory, also LRU-bounded by bytes) for objects evicted from memory or
 * too large for it. Only whole objects are cached; a range read of an object
 * already cached is served from it, other range reads pass through.
 *
 * Correctness rules:
 * - A key for which `isImmutable` is false is never served from cache: every
 *   call goes to the inner provider (mutable keys such as manifests' heads,
 *   state documents and tombstone sidecars change under CAS).
 * - A put or delete through this wrapper drops the key from both tiers, before
 *   and after the inner call, and bumps the key's generation so that a read
 *   that started before the write cannot fill the cache with old bytes.
 * - Disk entries carry a SHA-256 of their bytes; an entry that fails it is
 *   deleted and counted as corrupt, and the read goes to the inner provider.
 *
 * Counters (`stats()`): hits by tier, misses, bypasses of mutable keys,
 * evictions, corrupt disk entries, and bytes held per tier.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { throwIfAborted } from "./internal/abort.ts";
import { resolveRange } from "./internal/range.ts";
import type {
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
  /** Largest object kept in memory; default a quarter of `memoryBytes`. */
  maxMemoryEntryBytes?: number;
  /** Optional disk tier. */
  disk?: { dir: string; maxBytes: number };
}

export interface CacheStats {
  hits: number;
  memoryHits: number;
  diskHits: number;
  misses: number;
  /** Calls on mutable keys, sent straight to the inner provider. */
  bypasses: number;
  evictions: number;
  corruptDiskEntries: number;
  memoryBytes: number;
  memoryEntries: number;
  diskBytes: number;
  diskEntries: number;
}

interface Entry {
  bytes: Uint8Array;
  meta: ObjectMeta;
}

const DISK_MAGIC = Buffer.from("SKCACHE1", "latin1");

function cacheFileName(key: string): string {
  return `${createHash("sha256").update(key).digest("hex")}.bin`;
}

/** Disk entry: magic, sha256 of bytes, u32 meta length, meta JSON, bytes. */
function encodeDiskEntry(entry: Entry): Buffer {
  const meta = Buffer.from(
    JSON.stringify({ key: entry.meta.key, etag: entry.meta.etag, size: entry.meta.size, lastModified: entry.meta.lastModified.toISOString() }),
  );
  const length = Buffer.alloc(4);
  length.writeUInt32LE(meta.byteLength);
  const digest = createHash("sha256").update(meta).update(entry.bytes).digest();
  return Buffer.concat([DISK_MAGIC, digest, length, meta, entry.bytes]);
}

function decodeDiskEntry(file: Buffer, key: string): Entry | null {
  const fixed = DISK_MAGIC.byteLength + 32 + 4;
  if (file.byteLength < fixed || !file.subarray(0, DISK_MAGIC.byteLength).equals(DISK_MAGIC)) return null;
  const digest = file.subarray(DISK_MAGIC.byteLength, DISK_MAGIC.byteLength + 32);
  const metaLength = file.readUInt32LE(DISK_MAGIC.byteLength + 32);
  if (fixed + metaLength > file.byteLength) return null;
  const metaBytes = file.subarray(fixed, fixed + metaLength);
  const bytes = file.subarray(fixed + metaLength);
  if (!createHash("sha256").update(metaBytes).update(bytes).digest().equals(digest)) return null;
  try {
    const meta = JSON.parse(metaBytes.toString("utf8")) as { key: string; etag: string; size: number; lastModified: string };
    if (meta.key !== key || meta.size !== bytes.byteLength) return null;
    return {
      bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      meta: { key, etag: meta.etag, size: meta.size, lastModified: new Date(meta.lastModified) },
    };
  } catch {
    return null;
  }
}

export class CachingStorage implements StorageProvider {
  readonly name: string;
  readonly inner: StorageProvider;
  readonly #isImmutable: (key: string) => boolean;
  readonly #memoryBudget: number;
  readonly #maxMemoryEntry: number;
  /** Memory tier; Map order is recency order (oldest first). */
  readonly #memory = new Map<string, Entry>();
  #memoryBytes = 0;
  readonly #disk: { dir: string; maxBytes: number } | undefined;
  /** Disk tier index; Map order is recency order. */
  readonly #diskIndex = new Map<string, number>();
  #diskBytes = 0;
  #diskReady: Promise<void> | undefined;
  /** Bumped on every write or delete of a key through this wrapper. */
  readonly #generation = new Map<string, number>();
  readonly #stats = { hits: 0, memoryHits: 0, diskHits: 0, misses: 0, bypasses: 0, evictions: 0, corruptDiskEntries: 0 };

  constructor(inner: StorageProvider, options: CachingStorageOptions) {
    this.inner = inner;
    this.name = `cached(${inner.name})`;
    this.#isImmutable = options.isImmutable;
    this.#memoryBudget = options.memoryBytes ?? 64 * 1024 * 1024;
    this.#maxMemoryEntry = options.maxMemoryEntryBytes ?? Math.floor(this.#memoryBudget / 4);
    this.#disk = options.disk;
  }

  stats(): CacheStats {
    return {
      ...this.#stats,
      memoryBytes: this.#memoryBytes,
      memoryEntries: this.#memory.size,
      diskBytes: this.#diskBytes,
      diskEntries: this.#diskIndex.size,
    };
  }

  async get(key: string, options: GetOptions = {}): Promise<GetResult> {
    if (!this.#isImmutable(key)) {
      this.#stats.bypasses++;
      return this.inner.get(key, options);
    }
    throwIfAborted(options.signal, key);
    const cached = await this.#lookup(key);
    if (cached !== undefined) {
      const [start, end] = resolveRange(options.range, cached.bytes.byteLength, key);
      return { bytes: cached.bytes.slice(start, end), meta: cached.meta };
    }
    this.#stats.misses++;
    if (options.range !== undefined) return this.inner.get(key, options);
    const generation = this.#generation.get(key) ?? 0;
    const result = await this.inner.get(key, options);
    // Fill only if no write or delete of this key happened meanwhile.
    if ((this.#generation.get(key) ?? 0) === generation) {
      await this.#fill(key, { bytes: result.bytes.slice(), meta: result.meta });
    }
    return result;
  }

  async head(key: string, options: CallOptions = {}): Promise<ObjectMeta | null> {
    if (!this.#isImmutable(key)) {
      this.#stats.bypasses++;
      return this.inner.head(key, options);
    }
    throwIfAborted(options.signal, key);
    const memory = this.#memory.get(key);
    if (memory !== undefined) {
      this.#touchMemory(key, memory);
      this.#stats.hits++;
      this.#stats.memoryHits++;
      return memory.meta;
    }
    return this.inner.head(key, options);
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

  /** Drops every cached entry (both tiers). */
  async clear(): Promise<void> {
    this.#memory.clear();
    this.#memoryBytes = 0;
    if (this.#disk !== undefined) {
      await this.#ensureDisk();
      for (const name of [...this.#diskIndex.keys()]) await this.#dropDisk(name);
    }
  }

  async #lookup(key: string): Promise<Entry | undefined> {
    const memory = this.#memory.get(key);
    if (memory !== undefined) {
      this.#touchMemory(key, memory);
      this.#stats.hits++;
      this.#stats.memoryHits++;
      return memory;
    }
    if (this.#disk === undefined) return undefined;
    await this.#ensureDisk();
    const name = cacheFileName(key);
    if (!this.#diskIndex.has(name)) return undefined;
    const generation = this.#generation.get(key) ?? 0;
    let file: Buffer;
    try {
      file = await readFile(join(this.#disk.dir, name));
    } catch {
      this.#forgetDisk(name);
      return undefined;
    }
    const entry = decodeDiskEntry(file, key);
    if (entry === null) {
      this.#stats.corruptDiskEntries++;
      await this.#dropDisk(name);
      return undefined;
    }
    if ((this.#generation.get(key) ?? 0) !== generation) return undefined;
    const size = this.#diskIndex.get(name)!;
    this.#diskIndex.delete(name);
    this.#diskIndex.set(name, size);
    this.#stats.hits++;
    this.#stats.diskHits++;
    this.#fillMemory(key, entry);
    return entry;
  }

  async #fill(key: string, entry: Entry): Promise<void> {
    if (!this.#fillMemory(key, entry) && this.#disk !== undefined) await this.#fillDisk(key, entry);
  }

  /** Puts an entry in the memory tier, evicting to disk; false if too big for memory. */
  #fillMemory(key: string, entry: Entry): boolean {
    const size = entry.bytes.byteLength;
    if (size > this.#maxMemoryEntry || size > this.#memoryBudget) return false;
    const previous = this.#memory.get(key);
    if (previous !== undefined) {
      this.#memory.delete(key);
      this.#memoryBytes -= previous.bytes.byteLength;
    }
    this.#memory.set(key, entry);
    this.#memoryBytes += size;
    while (this.#memoryBytes > this.#memoryBudget) {
      const [oldestKey, oldest] = this.#memory.entries().next().value as [string, Entry];
      this.#memory.delete(oldestKey);
      this.#memoryBytes -= oldest.bytes.byteLength;
      this.#stats.evictions++;
      if (this.#disk !== undefined) void this.#fillDisk(oldestKey, oldest).catch(() => undefined);
    }
    return true;
  }

  async #fillDisk(key: string, entry: Entry): Promise<void> {
    const disk = this.#disk!;
    await this.#ensureDisk();
    const file = encodeDiskEntry(entry);
    if (file.byteLength > disk.maxBytes) return;
    const generation = this.#generation.get(key) ?? 0;
    const name = cacheFileName(key);
    const tmp = join(disk.dir, `${name}.${randomBytes(6).toString("hex")}.tmp`);
    await writeFile(tmp, file);
    if ((this.#generation.get(key) ?? 0) !== generation) {
      await unlink(tmp).catch(() => undefined);
      return;
    }
    await rename(tmp, join(disk.dir, name));
    this.#forgetDisk(name);
    this.#diskIndex.set(name, file.byteLength);
    this.#diskBytes += file.byteLength;
    while (this.#diskBytes > disk.maxBytes) {
      const oldest = this.#diskIndex.keys().next().value as string;
      this.#stats.evictions++;
      await this.#dropDisk(oldest);
    }
  }

  #touchMemory(key: string, entry: Entry): void {
    this.#memory.delete(key);
    this.#memory.set(key, entry);
  }

  async #invalidate(key: string): Promise<void> {
    this.#generation.set(key, (this.#generation.get(key) ?? 0) + 1);
    const memory = this.#memory.get(key);
    if (memory !== undefined) {
      this.#memory.delete(key);
      this.#memoryBytes -= memory.bytes.byteLength;
    }
    if (this.#disk !== undefined) {
      await this.#ensureDisk();
      const name = cacheFileName(key);
      if (this.#diskIndex.has(name)) await this.#dropDisk(name);
    }
  }

  #forgetDisk(name: string): void {
    const size = this.#diskIndex.get(name);
    if (size !== undefined) {
      this.#diskIndex.delete(name);
      this.#diskBytes -= size;
    }
  }

  async #dropDisk(name: string): Promise<void> {
    this.#forgetDisk(name);
    await rm(join(this.#disk!.dir, name), { force: true });
  }

  /** Creates the disk tier's directory and indexes what an earlier process left in it. */
  #ensureDisk(): Promise<void> {
    this.#diskReady ??= (async () => {
      const dir = this.#disk!.dir;
      await mkdir(dir, { recursive: true });
      const found: { name: string; size: number; used: number }[] = [];
      for (const name of await readdir(dir)) {
        const path = join(dir, name);
        if (name.endsWith(".tmp")) {
          await rm(path, { force: true });
          continue;
        }
        if (!name.endsWith(".bin")) continue;
        const info = await stat(path).catch(() => null);
        if (info?.isFile()) found.push({ name, size: info.size, used: info.mtimeMs });
      }
      found.sort((a, b) => a.used - b.used);
      for (const { name, size } of found) {
        this.#diskIndex.set(name, size);
        this.#diskBytes += size;
      }
    })();
    return this.#diskReady;
  }
}
