/**
 * MemoryStorage: a StorageProvider held in one process's memory.
 *
 * For tests, simulations and ephemeral use. It follows the same contract as
 * the durable providers, so code tested on it behaves the same on them:
 * bytes are copied in and out (callers can never alias stored data), etags
 * come from a per-instance counter (so every write gets a new etag, even of
 * identical bytes), conditional writes are atomic (one JavaScript turn), and
 * listing is in UTF-8 byte order from a sorted key index.
 *
 * Every call yields to the event loop once before it acts, as real I/O does,
 * so concurrent callers interleave and an AbortSignal fired right after the
 * call starts is honoured.
 */
import { AlreadyExistsError, NotFoundError, PreconditionFailedError } from "./errors.ts";
import { yieldTurn } from "./internal/abort.ts";
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

interface StoredObject {
  bytes: Uint8Array;
  etag: string;
  lastModified: Date;
}

export interface MemoryStorageOptions {
  /** Name shown in reports; defaults to `memory`. */
  name?: string;
  /** Clock for `lastModified`; defaults to Date.now. */
  now?: () => number;
}

export class MemoryStorage implements StorageProvider {
  readonly name: string;
  readonly #objects = new Map<string, StoredObject>();
  /** All keys, kept sorted by compareKeys. */
  readonly #sortedKeys: string[] = [];
  readonly #now: () => number;
  #etagCounter = 0;

  constructor(options: MemoryStorageOptions = {}) {
    this.name = options.name ?? "memory";
    this.#now = options.now ?? Date.now;
  }

  /** Number of stored objects. */
  get size(): number {
    return this.#objects.size;
  }

  /** Total stored bytes. */
  get totalBytes(): number {
    let total = 0;
    for (const object of this.#objects.values()) total += object.bytes.byteLength;
    return total;
  }

  async get(key: string, options: GetOptions = {}): Promise<GetResult> {
    validateKey(key);
    await this.#yield(options.signal, key);
    const object = this.#objects.get(key);
    if (object === undefined) throw new NotFoundError(`no object at ${JSON.stringify(key)}`, { key });
    const [start, end] = resolveRange(options.range, object.bytes.byteLength, key);
    return { bytes: object.bytes.slice(start, end), meta: this.#meta(key, object) };
  }

  async head(key: string, options: CallOptions = {}): Promise<ObjectMeta | null> {
    validateKey(key);
    await this.#yield(options.signal, key);
    const object = this.#objects.get(key);
    return object === undefined ? null : this.#meta(key, object);
  }

  async put(key: string, bytes: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
    validateKey(key);
    const copy = Uint8Array.prototype.slice.call(bytes);
    await this.#yield(options.signal, key);
    const mode = options.mode ?? { kind: "overwrite" };
    const existing = this.#objects.get(key);
    if (mode.kind === "create" && existing !== undefined) {
      throw new AlreadyExistsError(`an object already exists at ${JSON.stringify(key)}`, { key });
    }
    if (mode.kind === "update") {
      if (existing === undefined) {
        throw new PreconditionFailedError(`no object at ${JSON.stringify(key)} to update`, { key });
      }
      if (existing.etag !== mode.etag) {
        throw new PreconditionFailedError(
          `object at ${JSON.stringify(key)} has etag ${existing.etag}, expected ${mode.etag}`,
          { key },
        );
      }
    }
    const etag = `m${(++this.#etagCounter).toString(36)}`;
    if (existing === undefined) this.#insertKey(key);
    this.#objects.set(key, { bytes: copy, etag, lastModified: new Date(this.#now()) });
    return { etag };
  }

  async delete(key: string, options: CallOptions = {}): Promise<void> {
    validateKey(key);
    await this.#yield(options.signal, key);
    if (this.#objects.delete(key)) {
      const index = this.#indexOf(key);
      this.#sortedKeys.splice(index, 1);
    }
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<ObjectMeta> {
    validatePrefix(prefix);
    const { startAfter, signal } = options;
    const pageSize = Math.max(1, Math.min(options.pageSize ?? 1000, 1000));
    let cursor = startAfter !== undefined && compareKeys(startAfter, prefix) > 0 ? startAfter : undefined;
    for (;;) {
      await this.#yield(signal);
      // Each page re-locates its start by key, so writes between pages are
      // tolerated exactly as S3 pagination tolerates them.
      let index = cursor === undefined ? this.#indexOf(prefix) : this.#indexAfter(cursor);
      const page: ObjectMeta[] = [];
      for (; index < this.#sortedKeys.length && page.length < pageSize; index++) {
        const key = this.#sortedKeys[index]!;
        if (!key.startsWith(prefix)) break;
        page.push(this.#meta(key, this.#objects.get(key)!));
      }
      for (const meta of page) yield meta;
      if (page.length < pageSize) return;
      cursor = page[page.length - 1]!.key;
    }
  }

  #meta(key: string, object: StoredObject): ObjectMeta {
    return { key, etag: object.etag, size: object.bytes.byteLength, lastModified: object.lastModified };
  }

  #yield(signal: AbortSignal | undefined, key?: string): Promise<void> {
    return yieldTurn(signal, key);
  }

  /** First index whose key is >= `key`. */
  #indexOf(key: string): number {
    let lo = 0;
    let hi = this.#sortedKeys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(this.#sortedKeys[mid]!, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First index whose key is > `key`. */
  #indexAfter(key: string): number {
    const index = this.#indexOf(key);
    return this.#sortedKeys[index] === key ? index + 1 : index;
  }

  #insertKey(key: string): void {
    this.#sortedKeys.splice(this.#indexOf(key), 0, key);
  }
}
