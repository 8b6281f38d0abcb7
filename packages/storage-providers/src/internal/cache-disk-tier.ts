/**
 * CacheDiskTier: the disk tier of the block cache, a directory that any
 * number of processes may share.
 *
 * Layout: `<dir>/<hh>/<sha256(key)>.<blockBytes>.<block>.blk`, where `hh` is
 * the first two hex digits of the hash (256 shard directories, so that no
 * directory grows huge and a key's entries sit in one small directory). An
 * entry's name is derived from what it holds, so a process finds entries by
 * name, never by an index: a new process on an old directory uses its
 * entries at once, without scanning it.
 *
 * Writes: the entry is written to a temp file next to its final name
 * (`<name>.<pid>.<random>.tmp`) and renamed over it, so a reader in any
 * process sees a whole entry or none. Entries are not fsynced: a crash can
 * leave an empty or partial file, which verification rejects.
 *
 * Reads verify the entry (see cache-block-file.ts). A file that fails is
 * deleted and reported corrupt; a file that vanishes (evicted by another
 * process) at any point is a miss, never an error.
 *
 * Eviction: file mtimes are the recency order shared by all processes (a
 * write sets it; a read refreshes it when older than `touchIntervalMs`).
 * Each process keeps an estimate of the directory's bytes (its last sweep's
 * total plus what it wrote since) and sweeps when the estimate exceeds
 * `maxBytes` or after writing `sweepEveryBytes`: it lists every shard, and if
 * the total is over `maxBytes` deletes the oldest entries by mtime down to
 * 90% of it. Files that vanish during a sweep are skipped. Temp files older
 * than an hour (a crashed writer's) are deleted by sweeps too.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, readdir, rename, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  BLOCK_FILE_FIXED_BYTES,
  BLOCK_FILE_MAX_HEADER_BYTES,
  type BlockFileEntry,
  decodeBlockFile,
  encodeBlockFile,
} from "./cache-block-file.ts";

export interface CacheDiskTierOptions {
  dir: string;
  /** Byte budget of the directory, shared by every process using it. */
  maxBytes: number;
  /** Sweep after this process wrote this many bytes; default maxBytes / 8. */
  sweepEveryBytes?: number | undefined;
  /** Refresh an entry's mtime on a read when older than this; default 10 s. */
  touchIntervalMs?: number | undefined;
}

export type DiskRead = { found: BlockFileEntry } | { missing: true } | { corrupt: true };

export interface DiskSweep {
  /** Bytes and entries found in the directory, after evictions. */
  bytes: number;
  entries: number;
  evicted: number;
}

const TEMP_MAX_AGE_MS = 3_600_000;
const SUFFIX = ".blk";

function errnoOf(error: unknown): string | undefined {
  return (error as { code?: string } | null)?.code;
}

/** True for errors that mean "the file or its directory is gone". */
function isGone(error: unknown): boolean {
  return errnoOf(error) === "ENOENT" || errnoOf(error) === "ENOTDIR";
}

export class CacheDiskTier {
  readonly dir: string;
  readonly maxBytes: number;
  readonly #sweepEvery: number;
  readonly #touchInterval: number;
  readonly #shardsMade = new Set<string>();
  /** Estimated bytes and entries in the directory (every process's). */
  #bytes = 0;
  #entries = 0;
  #writtenSinceSweep = 0;
  #sweeping: Promise<DiskSweep> | undefined;
  evictions = 0;

  constructor(options: CacheDiskTierOptions) {
    this.dir = options.dir;
    this.maxBytes = options.maxBytes;
    this.#sweepEvery = Math.max(1, options.sweepEveryBytes ?? Math.floor(options.maxBytes / 8));
    this.#touchInterval = options.touchIntervalMs ?? 10_000;
  }

  get estimatedBytes(): number {
    return this.#bytes;
  }

  get estimatedEntries(): number {
    return this.#entries;
  }

  #hashOf(key: string): string {
    return createHash("sha256").update(key, "utf8").digest("hex");
  }

  #pathOf(key: string, block: number, blockBytes: number): { shard: string; path: string } {
    const hash = this.#hashOf(key);
    const shard = join(this.dir, hash.slice(0, 2));
    return { shard, path: join(shard, `${hash}.${blockBytes}.${block}${SUFFIX}`) };
  }

  /** Reads and verifies the entry of one block. */
  async read(key: string, block: number, blockBytes: number): Promise<DiskRead> {
    const { path } = this.#pathOf(key, block, blockBytes);
    let file: Buffer;
    try {
      const handle = await open(path, "r");
      try {
        const info = await handle.stat();
        if (info.size > BLOCK_FILE_FIXED_BYTES + BLOCK_FILE_MAX_HEADER_BYTES + blockBytes) {
          file = Buffer.alloc(0); // too big to be an entry: rejected below
        } else {
          file = Buffer.alloc(info.size);
          let filled = 0;
          while (filled < file.byteLength) {
            const { bytesRead } = await handle.read(file, filled, file.byteLength - filled, filled);
            if (bytesRead === 0) break;
            filled += bytesRead;
          }
          if (filled < file.byteLength) file = file.subarray(0, filled);
        }
        if (Date.now() - info.mtimeMs > this.#touchInterval) {
          const now = new Date();
          await handle.utimes(now, now).catch(() => undefined);
        }
      } finally {
        await handle.close();
      }
    } catch (error) {
      if (isGone(error)) return { missing: true };
      throw error;
    }
    const entry = decodeBlockFile(file, key, block, blockBytes);
    if (entry === null) {
      await this.#unlink(path);
      return { corrupt: true };
    }
    return { found: entry };
  }

  /**
   * Writes the entry of one block (temp file, then rename). `stillWanted` is
   * asked just before the rename and just after it: when it turns false (the
   * key was written or deleted meanwhile) the entry is not published, or is
   * taken back. Returns whether the entry was published.
   */
  async write(entry: BlockFileEntry, stillWanted: () => boolean): Promise<boolean> {
    const { shard, path } = this.#pathOf(entry.key, entry.block, entry.blockBytes);
    const file = encodeBlockFile(entry);
    const tmp = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
    try {
      if (!this.#shardsMade.has(shard)) {
        await mkdir(shard, { recursive: true });
        this.#shardsMade.add(shard);
      }
      try {
        await writeFile(tmp, file);
      } catch (error) {
        if (!isGone(error)) throw error;
        // The directory was removed behind our back: make it again, once.
        await mkdir(shard, { recursive: true });
        await writeFile(tmp, file);
      }
      if (!stillWanted()) {
        await this.#unlink(tmp);
        return false;
      }
      await rename(tmp, path);
    } catch (error) {
      await this.#unlink(tmp);
      if (isGone(error)) return false; // our temp file was swept, or the directory removed
      throw error;
    }
    if (!stillWanted()) {
      await this.#unlink(path);
      return false;
    }
    this.#bytes += file.byteLength;
    this.#entries++;
    this.#writtenSinceSweep += file.byteLength;
    if (this.#bytes > this.maxBytes || this.#writtenSinceSweep >= this.#sweepEvery) void this.sweep().catch(() => undefined);
    return true;
  }

  /** Deletes one block's entry (absent is fine). */
  async remove(key: string, block: number, blockBytes: number): Promise<void> {
    await this.#unlink(this.#pathOf(key, block, blockBytes).path);
  }

  /** Deletes every entry of `key`, whatever its block size (one shard listing). */
  async removeKey(key: string): Promise<void> {
    const hash = this.#hashOf(key);
    const shard = join(this.dir, hash.slice(0, 2));
    let names: string[];
    try {
      names = await readdir(shard);
    } catch (error) {
      if (isGone(error)) return;
      throw error;
    }
    const prefix = `${hash}.`;
    await Promise.all(
      names.filter((name) => name.startsWith(prefix) && name.endsWith(SUFFIX)).map((name) => this.#unlink(join(shard, name))),
    );
  }

  /**
   * Lists the directory, and when it holds more than `maxBytes` (or
   * `targetBytes` when given) deletes the oldest entries by mtime down to 90%
   * of that. One sweep at a time per process; a caller during a sweep gets
   * that sweep's result.
   */
  sweep(targetBytes?: number): Promise<DiskSweep> {
    this.#sweeping ??= this.#sweep(targetBytes ?? this.maxBytes).finally(() => {
      this.#sweeping = undefined;
    });
    return this.#sweeping;
  }

  /** Resolves when no sweep of this process is running. */
  async settled(): Promise<void> {
    while (this.#sweeping !== undefined) await this.#sweeping.catch(() => undefined);
  }

  /** Deletes every entry in the directory (every process's). */
  async clear(): Promise<DiskSweep> {
    await this.settled();
    return this.sweep(0);
  }

  async #sweep(limit: number): Promise<DiskSweep> {
    this.#writtenSinceSweep = 0;
    const found: { path: string; size: number; mtimeMs: number }[] = [];
    let shards: string[];
    try {
      shards = await readdir(this.dir);
    } catch (error) {
      if (isGone(error)) return { bytes: 0, entries: 0, evicted: 0 };
      throw error;
    }
    const now = Date.now();
    for (const shard of shards) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue;
      let names: string[];
      try {
        names = await readdir(join(this.dir, shard));
      } catch (error) {
        if (isGone(error)) continue;
        throw error;
      }
      for (const name of names) {
        const path = join(this.dir, shard, name);
        const info = await stat(path).catch((error: unknown) => {
          if (isGone(error)) return null;
          throw error;
        });
        if (info === null || !info.isFile()) continue;
        if (name.endsWith(".tmp")) {
          if (now - info.mtimeMs > TEMP_MAX_AGE_MS) await this.#unlink(path);
          continue;
        }
        if (name.endsWith(SUFFIX)) found.push({ path, size: info.size, mtimeMs: info.mtimeMs });
      }
    }
    let bytes = found.reduce((sum, f) => sum + f.size, 0);
    let entries = found.length;
    let evicted = 0;
    if (bytes > limit) {
      const lowWater = Math.floor(limit * 0.9);
      found.sort((a, b) => a.mtimeMs - b.mtimeMs);
      for (const file of found) {
        if (bytes <= lowWater) break;
        // Gone already (another process evicted it) or deleted now: either way it no longer counts.
        if (await this.#unlink(file.path)) evicted++;
        bytes -= file.size;
        entries--;
      }
    }
    this.evictions += evicted;
    this.#bytes = bytes;
    this.#entries = entries;
    return { bytes, entries, evicted };
  }

  /** Unlinks a file; true if this call deleted it, false if it was already gone. */
  async #unlink(path: string): Promise<boolean> {
    try {
      await unlink(path);
      return true;
    } catch (error) {
      if (isGone(error)) return false;
      throw error;
    }
  }
}
