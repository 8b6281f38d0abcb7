/**
 * StorageProvider: the one interface every Skerry layer talks to storage
 * through.
 *
 * Five calls, modelled on object stores: `get`, `head`, `put` (with a write
 * mode: overwrite, create-only, or update-if-etag), idempotent `delete`, and
 * `list` as an async iterable in lexicographic key order. Every call takes an
 * optional AbortSignal. Failures are always one of the classes in
 * `errors.ts`; keys are checked by `validateKey` before any I/O.
 *
 * Etags are opaque strings. A provider returns them in one normalized form
 * (for S3: without the surrounding quotes), and the etag a provider returned
 * is always accepted back by the same provider's `update` mode.
 */

/** What a provider knows about one stored object. */
export interface ObjectMeta {
  key: string;
  /** Opaque version token; changes on every write of the key. */
  etag: string;
  /** Size in bytes of the whole object. */
  size: number;
  lastModified: Date;
}

/** Options every call accepts. */
export interface CallOptions {
  signal?: AbortSignal | undefined;
}

/**
 * A byte range of an object: `offset` from the start, at most `length` bytes
 * (to the end when omitted). A range that starts past the end yields 0 bytes.
 */
export interface ByteRange {
  offset: number;
  length?: number | undefined;
}

export interface GetOptions extends CallOptions {
  range?: ByteRange | undefined;
}

export interface GetResult {
  /** The bytes read: the whole object, or the requested range. */
  bytes: Uint8Array;
  /** Meta of the whole object (`size` is the full size, not the range). */
  meta: ObjectMeta;
}

/**
 * How a put treats an existing key:
 * - `overwrite`: always writes.
 * - `create`: writes only if the key is absent, else AlreadyExists.
 * - `update`: writes only if the key's current etag equals `etag`, else
 *   PreconditionFailed (also when the key is gone).
 */
export type PutMode =
  | { kind: "overwrite" }
  | { kind: "create" }
  | { kind: "update"; etag: string };

export interface PutOptions extends CallOptions {
  /** Defaults to overwrite. */
  mode?: PutMode | undefined;
}

export interface PutResult {
  etag: string;
}

export interface ListOptions extends CallOptions {
  /** Only keys strictly greater than this one are listed. */
  startAfter?: string | undefined;
  /** Page size asked of the backend (a hint; providers cap it). */
  pageSize?: number | undefined;
}

/**
 * An object store. Implementations must be safe to call concurrently from one
 * process; `create` and `update` must be atomic against every other writer the
 * provider can see (other processes, other machines for S3).
 */
export interface StorageProvider {
  /** A short human name for logs and reports (e.g. `local-fs:/data`). */
  readonly name: string;

  /** Reads an object; NotFound when absent. */
  get(key: string, options?: GetOptions): Promise<GetResult>;

  /** Reads an object's meta, or null when absent. */
  head(key: string, options?: CallOptions): Promise<ObjectMeta | null>;

  /** Writes an object under the given mode; returns its new etag. */
  put(key: string, bytes: Uint8Array, options?: PutOptions): Promise<PutResult>;

  /** Deletes an object; deleting a missing key succeeds. */
  delete(key: string, options?: CallOptions): Promise<void>;

  /** Lists keys starting with `prefix`, in lexicographic (UTF-8 byte) order. */
  list(prefix: string, options?: ListOptions): AsyncIterable<ObjectMeta>;
}

/** Shorthands for the put modes. */
export const PutModes = {
  overwrite: { kind: "overwrite" } as PutMode,
  create: { kind: "create" } as PutMode,
  update: (etag: string): PutMode => ({ kind: "update", etag }),
} as const;
