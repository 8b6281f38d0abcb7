/**
 * LocalFsStorage: the embedded default StorageProvider, a directory on one
 * machine.
 *
 * Layout under the root:
 * - `<root>/<key>`: one file per object: a one-line header (random etag,
 *   CRC-32, size; see internal/object-file.ts) then the object's bytes.
 * - `<root>/.skerry/tmp/`: temp files of writes in flight.
 * - `<root>/.skerry/locks/`: per-key lock files (internal/file-lock.ts).
 * Keys whose first segment is `.skerry` are reserved (InvalidKey).
 *
 * Atomicity and durability: every write goes to a temp file, is fsynced,
 * then renamed (overwrite, update) or hard-linked (create) into place, and
 * the parent directory is fsynced. A crash at any point leaves the old object
 * or the new one, never a torn one; temp files left by dead processes are
 * swept on the first write.
 *
 * Concurrency: `create` is a hard link, which the kernel refuses atomically if
 * the name exists, so it needs no lock. `update`, `overwrite` and `delete`
 * hold the key's lock for their check-and-replace, so `update` is a true
 * compare-and-swap against every process on this machine.
 *
 * A file cannot also be a directory: storing `a` and `a/b` at once is refused
 * with InvalidKey (S3 allows it; this provider documents the difference).
 * Deleting the last key of a directory removes the empty directories above
 * it, so such a refusal only happens while the other key really exists.
 *
 * Wrong bytes: a file whose header is missing or malformed, whose length
 * disagrees with its header, or whose bytes fail the header's CRC-32 (on a
 * whole-object read) is reported by `get`/`head` (and an `update` over it)
 * as CorruptError naming the key. Files that were not written through this
 * provider never break a listing: a name no valid key can spell is skipped,
 * and a file under a valid key name that is not a valid object (a README.txt
 * or .DS_Store dropped into the tree, a truncated copy) is listed with its
 * file size and an etag starting `unreadable-`, so whoever reads it gets
 * CorruptError and the caller decides (see `#metaForList`).
 */
import { createHash, randomBytes } from "node:crypto";
import type { Stats } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { link, mkdir, open, readdir, rename, rmdir, stat, unlink } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import {
  AlreadyExistsError,
  CorruptError,
  InternalError,
  InvalidKeyError,
  isCorrupt,
  isStorageError,
  NotFoundError,
  PreconditionFailedError,
  UnavailableError,
} from "./errors.ts";
import { throwIfAborted } from "./internal/abort.ts";
import { FileLocks } from "./internal/file-lock.ts";
import { checksumOf, decodeObjectHeader, encodeObjectHeader, OBJECT_HEADER_BYTES } from "./internal/object-file.ts";
import type { ObjectHeader } from "./internal/object-file.ts";
import { resolveRange } from "./internal/range.ts";
import { compareKeys, validateKey, validatePrefix } from "./keys.ts";
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

export interface LocalFsStorageOptions {
  /** Directory that holds the objects; created if missing. */
  root: string;
  /** A key lock older than this is broken as stale; default 10 s. */
  lockStaleMs?: number;
  /** How long a write waits for a key lock; default 30 s. */
  lockTimeoutMs?: number;
  /** Temp files of dead writers older than this are swept; default 1 h. */
  tempMaxAgeMs?: number;
}

const RESERVED = ".skerry";
/** Files whose headers a listing reads at once. */
const LIST_BATCH = 32;

type Errno = NodeJS.ErrnoException;
const errno = (error: unknown): string | undefined => (error as Errno | undefined)?.code;

/** Maps an fs error that no branch expected to the closed error set. */
function mapFsError(error: unknown, key: string, action: string): Error {
  if (isStorageError(error)) return error;
  const code = errno(error);
  const message = `local-fs ${action} ${JSON.stringify(key)} failed: ${(error as Error)?.message ?? String(error)}`;
  switch (code) {
    case "EMFILE":
    case "ENFILE":
    case "EAGAIN":
    case "EBUSY":
    case "EINTR":
    case "ENOSPC":
    case "EDQUOT":
    case "EIO":
      return new UnavailableError(message, { key, cause: error });
    case "ENAMETOOLONG":
      return new InvalidKeyError(message, { key, cause: error });
    default:
      return new InternalError(message, { key, cause: error });
  }
}

function isValidKey(key: string): boolean {
  try {
    validateKey(key);
    return true;
  } catch {
    return false;
  }
}

/**
 * The etag listed for a file that is not a valid object: derived from the
 * file's identity, size and times, so it changes when the file does, and
 * prefixed so it never equals a real etag (32 hex digits from a header).
 */
function unreadableEtag(info: Stats): string {
  return `unreadable-${info.ino.toString(16)}-${info.size.toString(16)}-${Math.floor(info.mtimeMs * 1000).toString(16)}`;
}

function pathConflict(key: string, cause?: unknown): InvalidKeyError {
  return new InvalidKeyError(
    `local-fs cannot store ${JSON.stringify(key)}: a part of its path is an object, or it is the parent of other keys (a file cannot also be a directory)`,
    { key, cause },
  );
}

export class LocalFsStorage implements StorageProvider {
  readonly name: string;
  readonly root: string;
  readonly #tmpDir: string;
  readonly #lockDir: string;
  readonly #locks: FileLocks;
  readonly #tempMaxAgeMs: number;
  #ready: Promise<void> | undefined;

  constructor(options: LocalFsStorageOptions) {
    this.root = resolve(options.root);
    this.name = `local-fs:${this.root}`;
    this.#tmpDir = join(this.root, RESERVED, "tmp");
    this.#lockDir = join(this.root, RESERVED, "locks");
    this.#locks = new FileLocks({
      staleMs: options.lockStaleMs ?? 10_000,
      timeoutMs: options.lockTimeoutMs ?? 30_000,
    });
    this.#tempMaxAgeMs = options.tempMaxAgeMs ?? 3_600_000;
  }

  async get(key: string, options: GetOptions = {}): Promise<GetResult> {
    this.#validate(key);
    throwIfAborted(options.signal, key);
    const handle = await this.#openObject(key);
    if (handle === null) throw new NotFoundError(`no object at ${JSON.stringify(key)}`, { key });
    try {
      const { header, meta } = await this.#readMeta(handle, key);
      const [start, end] = resolveRange(options.range, header.size, key);
      const bytes = Buffer.allocUnsafe(end - start);
      await this.#readExactly(handle, bytes, OBJECT_HEADER_BYTES + start, key);
      throwIfAborted(options.signal, key);
      if (options.range === undefined && checksumOf(bytes) !== header.crc32) {
        throw new CorruptError(`object ${JSON.stringify(key)} is corrupt: its CRC-32 does not match its header`, {
          key,
        });
      }
      return { bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), meta };
    } catch (error) {
      throw mapFsError(error, key, "get");
    } finally {
      await handle.close();
    }
  }

  async head(key: string, options: CallOptions = {}): Promise<ObjectMeta | null> {
    this.#validate(key);
    throwIfAborted(options.signal, key);
    const handle = await this.#openObject(key);
    if (handle === null) return null;
    try {
      return (await this.#readMeta(handle, key)).meta;
    } catch (error) {
      throw mapFsError(error, key, "head");
    } finally {
      await handle.close();
    }
  }

  async put(key: string, bytes: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
    this.#validate(key);
    throwIfAborted(options.signal, key);
    const mode = options.mode ?? { kind: "overwrite" };
    try {
      await this.#ensureReady();
      const etag = randomBytes(16).toString("hex");
      const tmp = await this.#writeTemp(key, etag, bytes);
      try {
        throwIfAborted(options.signal, key);
        if (mode.kind === "create") {
          await this.#linkNew(tmp, key);
        } else {
          await this.#locks.withLock(this.#lockPath(key), key, options.signal, async () => {
            if (mode.kind === "update") await this.#checkEtag(key, mode.etag);
            throwIfAborted(options.signal, key);
            await this.#replace(tmp, key);
          });
        }
      } finally {
        await unlink(tmp).catch(() => undefined);
      }
      return { etag };
    } catch (error) {
      throw mapFsError(error, key, "put");
    }
  }

  async delete(key: string, options: CallOptions = {}): Promise<void> {
    this.#validate(key);
    throwIfAborted(options.signal, key);
    try {
      await this.#ensureReady();
      await this.#locks.withLock(this.#lockPath(key), key, options.signal, async () => {
        const path = this.#pathOf(key);
        try {
          await unlink(path);
        } catch (error) {
          const code = errno(error);
          // Missing, or a directory / a file in the way: nothing to delete.
          if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR" || code === "EPERM") return;
          throw error;
        }
        await this.#fsyncDir(this.#parentOf(path));
        await this.#pruneEmptyParents(key);
      });
    } catch (error) {
      throw mapFsError(error, key, "delete");
    }
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<ObjectMeta> {
    validatePrefix(prefix);
    const { signal } = options;
    throwIfAborted(signal);
    const startAfter = options.startAfter;
    // Start at the deepest directory that the prefix names completely.
    const slash = prefix.lastIndexOf("/");
    const baseRel = slash === -1 ? "" : prefix.slice(0, slash);
    if (baseRel.split("/")[0] === RESERVED) return;
    yield* this.#walk(baseRel, prefix, startAfter, signal);
  }

  async *#walk(
    dirRel: string,
    prefix: string,
    startAfter: string | undefined,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<ObjectMeta> {
    let entries;
    try {
      entries = await readdir(dirRel === "" ? this.root : join(this.root, dirRel), { withFileTypes: true });
    } catch (error) {
      const code = errno(error);
      if (code === "ENOENT" || code === "ENOTDIR") return;
      throw mapFsError(error, dirRel, "list");
    }
    const items = entries
      .filter((entry) => !(dirRel === "" && entry.name === RESERVED))
      .filter((entry) => entry.isDirectory() || entry.isFile())
      .map((entry) => {
        const key = dirRel === "" ? entry.name : `${dirRel}/${entry.name}`;
        // A directory holds keys that start with "<name>/": sort it as such.
        return { key, isDir: entry.isDirectory(), sortKey: entry.isDirectory() ? `${key}/` : key };
      })
      // A name no key can spell (a control character, too long, ...) was not
      // written through this provider and no call could reach it: skip it.
      .filter((item) => isValidKey(item.key))
      .sort((a, b) => compareKeys(a.sortKey, b.sortKey));
    // Files are read in small parallel batches (each needs its header for the
    // etag), and yielded in order; directories are descended in order.
    const pending: string[] = [];
    const flush = async function* (this: LocalFsStorage): AsyncGenerator<ObjectMeta> {
      const metas = await Promise.all(pending.map((key) => this.#metaForList(key)));
      pending.length = 0;
      for (const meta of metas) {
        throwIfAborted(signal);
        if (meta !== null) yield meta;
      }
    }.bind(this);
    for (const item of items) {
      throwIfAborted(signal);
      if (item.isDir) {
        const dirPrefix = item.sortKey;
        // Skip subtrees outside the prefix, or entirely at or before startAfter.
        if (!dirPrefix.startsWith(prefix) && !prefix.startsWith(dirPrefix)) continue;
        if (startAfter !== undefined && compareKeys(dirPrefix, startAfter) <= 0 && !startAfter.startsWith(dirPrefix)) {
          continue;
        }
        yield* flush();
        yield* this.#walk(item.key, prefix, startAfter, signal);
        continue;
      }
      if (!item.key.startsWith(prefix)) continue;
      if (startAfter !== undefined && compareKeys(item.key, startAfter) <= 0) continue;
      pending.push(item.key);
      if (pending.length >= LIST_BATCH) yield* flush();
    }
    yield* flush();
  }

  /**
   * Meta of one listed file, or null if it was deleted while listing. A file
   * that is not a valid object (a foreign file dropped into the root, a
   * truncated or damaged object) is still listed, with its file size and an
   * etag no object can have (see `unreadableEtag`): a listing never throws
   * for one bad file, and hiding it could hide corruption (a damaged newest
   * manifest would silently roll a namespace back). Reading it is what fails,
   * with CorruptError naming the key.
   */
  async #metaForList(key: string): Promise<ObjectMeta | null> {
    const handle = await this.#openObject(key);
    if (handle === null) return null;
    try {
      return (await this.#readMeta(handle, key)).meta;
    } catch (error) {
      if (error instanceof NotFoundError) return null;
      if (isCorrupt(error)) {
        const info = await handle.stat();
        return { key, etag: unreadableEtag(info), size: info.size, lastModified: info.mtime };
      }
      throw mapFsError(error, key, "list");
    } finally {
      await handle.close();
    }
  }

  #validate(key: string): void {
    validateKey(key);
    if (key.split("/", 1)[0] === RESERVED) {
      throw new InvalidKeyError(`keys under ${RESERVED}/ are reserved by local-fs`, { key });
    }
  }

  #pathOf(key: string): string {
    const path = join(this.root, ...key.split("/"));
    // validateKey already rules out escapes; this is the second fence.
    if (!path.startsWith(this.root + sep)) throw new InvalidKeyError(`key escapes the root`, { key });
    return path;
  }

  #parentOf(path: string): string {
    return path.slice(0, path.lastIndexOf(sep));
  }

  #lockPath(key: string): string {
    return join(this.#lockDir, `${createHash("sha256").update(key).digest("hex").slice(0, 40)}.lock`);
  }

  /** Opens an object file for reading, or returns null when there is none. */
  async #openObject(key: string): Promise<FileHandle | null> {
    let handle: FileHandle;
    try {
      handle = await open(this.#pathOf(key), "r");
    } catch (error) {
      const code = errno(error);
      if (code === "ENOENT" || code === "ENOTDIR") return null;
      throw mapFsError(error, key, "open");
    }
    return handle;
  }

  async #readMeta(handle: FileHandle, key: string): Promise<{ header: ObjectHeader; meta: ObjectMeta }> {
    const info = await handle.stat();
    if (info.isDirectory()) throw new NotFoundError(`no object at ${JSON.stringify(key)}`, { key });
    const headerBytes = Buffer.alloc(OBJECT_HEADER_BYTES);
    const { bytesRead } = await handle.read(headerBytes, 0, OBJECT_HEADER_BYTES, 0);
    const header = decodeObjectHeader(headerBytes.subarray(0, bytesRead));
    if (typeof header === "string") {
      throw new CorruptError(`object ${JSON.stringify(key)} is corrupt or not a Skerry object file: ${header}`, { key });
    }
    if (info.size !== OBJECT_HEADER_BYTES + header.size) {
      throw new CorruptError(
        `object ${JSON.stringify(key)} is corrupt: header says ${header.size} bytes, file holds ${info.size - OBJECT_HEADER_BYTES}`,
        { key },
      );
    }
    return { header, meta: { key, etag: header.etag, size: header.size, lastModified: info.mtime } };
  }

  async #readExactly(handle: FileHandle, into: Buffer, position: number, key: string): Promise<void> {
    let done = 0;
    while (done < into.byteLength) {
      const { bytesRead } = await handle.read(into, done, into.byteLength - done, position + done);
      if (bytesRead === 0) throw new CorruptError(`object ${JSON.stringify(key)} is corrupt: it ended early`, { key });
      done += bytesRead;
    }
  }

  async #checkEtag(key: string, expected: string): Promise<void> {
    const handle = await this.#openObject(key);
    if (handle === null) throw new PreconditionFailedError(`no object at ${JSON.stringify(key)} to update`, { key });
    try {
      const { header } = await this.#readMeta(handle, key).catch((error: unknown) => {
        throw error instanceof NotFoundError
          ? new PreconditionFailedError(`no object at ${JSON.stringify(key)} to update`, { key })
          : error;
      });
      if (header.etag !== expected.replace(/^"|"$/g, "")) {
        throw new PreconditionFailedError(
          `object at ${JSON.stringify(key)} has etag ${header.etag}, expected ${expected}`,
          { key },
        );
      }
    } finally {
      await handle.close();
    }
  }

  /** Writes header + bytes to a fresh temp file and fsyncs it. */
  async #writeTemp(key: string, etag: string, bytes: Uint8Array): Promise<string> {
    const tmp = join(this.#tmpDir, `${process.pid}-${randomBytes(8).toString("hex")}.tmp`);
    const header = encodeObjectHeader({ etag, crc32: checksumOf(bytes), size: bytes.byteLength });
    const handle = await open(tmp, "wx");
    try {
      await handle.writev([header, bytes]);
      await handle.sync();
    } catch (error) {
      await handle.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      throw mapFsError(error, key, "write");
    }
    await handle.close();
    return tmp;
  }

  /** Creates the parent directories of `key`, fsyncing each new one's parent. */
  async #ensureParent(key: string): Promise<string> {
    const path = this.#pathOf(key);
    const parent = this.#parentOf(path);
    if (parent === this.root) return parent;
    let first: string | undefined;
    try {
      first = await mkdir(parent, { recursive: true });
    } catch (error) {
      const code = errno(error);
      if (code === "ENOTDIR" || code === "EEXIST") throw pathConflict(key, error);
      throw error;
    }
    if (first !== undefined) {
      // A new directory is durable once its parent is fsynced. The deepest
      // one (`parent`) is fsynced after the object lands in it.
      const chain = [this.#parentOf(first), first];
      for (const segment of parent.slice(first.length).split(sep).filter(Boolean)) {
        chain.push(join(chain[chain.length - 1]!, segment));
      }
      chain.pop();
      for (const dir of chain) await this.#fsyncDir(dir);
    }
    return parent;
  }

  async #linkNew(tmp: string, key: string): Promise<void> {
    const path = this.#pathOf(key);
    for (let attempt = 0; ; attempt++) {
      const parent = await this.#ensureParent(key);
      try {
        await link(tmp, path);
      } catch (error) {
        const code = errno(error);
        if (code === "EEXIST") {
          if (await this.#isDirectory(path)) {
            if (await this.#removeEmptyDir(path)) continue;
            throw pathConflict(key, error);
          }
          throw new AlreadyExistsError(`an object already exists at ${JSON.stringify(key)}`, { key });
        }
        // A concurrent delete pruned the parent we just made: make it again.
        if (code === "ENOENT" && attempt < 10) continue;
        if (code === "ENOTDIR") throw pathConflict(key, error);
        throw error;
      }
      await this.#fsyncDir(parent);
      return;
    }
  }

  async #replace(tmp: string, key: string): Promise<void> {
    const path = this.#pathOf(key);
    for (let attempt = 0; ; attempt++) {
      const parent = await this.#ensureParent(key);
      try {
        await rename(tmp, path);
      } catch (error) {
        const code = errno(error);
        if (code === "EISDIR" || code === "ENOTEMPTY" || code === "EEXIST") {
          if (await this.#removeEmptyDir(path)) continue;
          throw pathConflict(key, error);
        }
        if (code === "ENOENT" && attempt < 10) continue;
        if (code === "ENOTDIR") throw pathConflict(key, error);
        throw error;
      }
      await this.#fsyncDir(parent);
      return;
    }
  }

  async #isDirectory(path: string): Promise<boolean> {
    try {
      return (await stat(path)).isDirectory();
    } catch {
      return false;
    }
  }

  /** Removes `path` if it is an empty directory; true if it did. */
  async #removeEmptyDir(path: string): Promise<boolean> {
    try {
      await rmdir(path);
      return true;
    } catch {
      return false;
    }
  }

  /** After a delete, removes the directories above `key` that became empty. */
  async #pruneEmptyParents(key: string): Promise<void> {
    const segments = key.split("/");
    for (let depth = segments.length - 1; depth > 0; depth--) {
      const dir = join(this.root, ...segments.slice(0, depth));
      try {
        await rmdir(dir);
      } catch {
        return; // not empty (or already gone): stop climbing
      }
    }
  }

  async #fsyncDir(dir: string): Promise<void> {
    let handle: FileHandle;
    try {
      handle = await open(dir, "r");
    } catch (error) {
      // Removed meanwhile by a delete that emptied it: nothing left to make durable.
      if (errno(error) === "ENOENT") return;
      throw error;
    }
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  /** Creates the reserved directories and sweeps temp files of dead writers, once. */
  #ensureReady(): Promise<void> {
    this.#ready ??= (async () => {
      await mkdir(this.#tmpDir, { recursive: true });
      await mkdir(this.#lockDir, { recursive: true });
      await this.#sweepTemp();
    })().catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  async #sweepTemp(): Promise<void> {
    const now = Date.now();
    for (const name of await readdir(this.#tmpDir)) {
      const pid = Number(name.split("-", 1)[0]);
      const path = join(this.#tmpDir, name);
      let dead = false;
      if (Number.isInteger(pid) && pid !== process.pid) {
        try {
          process.kill(pid, 0);
        } catch (error) {
          dead = errno(error) === "ESRCH";
        }
      }
      const old = await stat(path).then(
        (info) => now - info.mtimeMs > this.#tempMaxAgeMs,
        () => false,
      );
      if (dead || old) await unlink(path).catch(() => undefined);
    }
  }
}
