/**
 * WalStore: the WAL's objects over a StorageProvider and a root prefix (see
 * `wal-layout.ts` for the keys).
 *
 * - State documents (`MutationState`, JSON via wal-format): `create`
 *   (create-only; identical bytes already there count as success, so a
 *   replayed create is harmless), `read` with etag, `updateWithEtag` (one
 *   CAS), `updateState` (read-modify-write under the CAS loop),
 *   `deleteState` (idempotent), `listWalIds` (oldest first, ignoring every
 *   key that is not `<32 lowercase hex>.json`).
 * - Arrow sidecars (`.arrow`, row-batch bytes of an UPDATE's new rows):
 *   `putArrow` (idempotent for identical bytes; other bytes under the same
 *   wal id are refused, since the state doc pins the hash: replacing them
 *   could only break a replay), `getArrow` with optional BLAKE3 check,
 *   `deleteArrow`.
 * - Tombstone sidecars (`superfiles/<segment_id>.tombstones`, wal-format
 *   codec): `getTombstones`, `putTombstones(segmentId, expectedEtag | null)`
 *   where null means create-only, `updateTombstones` (CAS loop),
 *   `listTombstoneIds`.
 *
 * Errors: `WalNotFoundError` (read of a missing doc or sidecar),
 * `WalAlreadyExistsError` (create over other bytes), `CasFailedError`
 * (stale etag; create-only sidecar put over an existing one),
 * `WalStorageError`, `WalCorruptError` (stored bytes that are wrong: a doc
 * that fails its schema, has a newer version, or names another wal id than
 * its key; a tombstone sidecar that does not decode; an arrow sidecar that
 * does not match its hash, as `HashMismatchError`; a provider's `Corrupt`),
 * `WalSchemaError` / `WalCodecError` (a doc or sidecar to write does not
 * encode).
 */
import type { ObjectMeta, StorageProvider } from "@skerry/storage-providers";
import {
  contentHash,
  decodeMutationState,
  decodeTombstoneSidecar,
  encodeMutationState,
  encodeTombstoneSidecar,
  idToHex,
  isWalFormatError,
  type MutationState,
  type TombstoneSidecar,
  type TombstoneSidecarInput,
  type WalId,
} from "@skerry/wal-format";
import {
  type CasMutate,
  type CasRuntime,
  type CasUpdateResult,
  casUpdate,
  createOnce,
  readRaw,
  readVersioned,
  updateIfMatch,
  type Versioned,
  withStorageRetry,
} from "./cas-object.ts";
import { HashMismatchError, WalCodecError, WalCorruptError, WalNotFoundError, WalSchemaError } from "./errors.ts";
import { WalLayout } from "./wal-layout.ts";

export interface WalStoreOptions {
  /** Root key prefix, e.g. `acme/proj/ns1`; default the store's top level. */
  root?: string;
  /** Retry policy, jitter source and sleep for every loop in the store. */
  runtime?: Omit<CasRuntime, "signal">;
}

export interface CallSignal {
  signal?: AbortSignal | undefined;
}

/** A state document as read, with the etag to CAS against. */
export interface VersionedState {
  doc: MutationState;
  etag: string;
}

/** A listed object under the WAL prefix. */
export interface WalObject {
  walId: WalId;
  kind: "state" | "arrow";
  meta: ObjectMeta;
}

/** Decodes a stored state doc, mapping wal-format errors to `WalCorruptError`. */
export function decodeStateDoc(bytes: Uint8Array, key: string): MutationState {
  try {
    return decodeMutationState(bytes);
  } catch (error) {
    if (isWalFormatError(error)) {
      throw new WalCorruptError(`state document ${JSON.stringify(key)}: ${error.message}`, { key, cause: error });
    }
    throw error;
  }
}

/** Encodes a state doc, mapping wal-format errors to `WalSchemaError`. */
export function encodeStateDoc(doc: MutationState, key = ""): Uint8Array {
  try {
    return encodeMutationState(doc);
  } catch (error) {
    if (isWalFormatError(error)) {
      throw new WalSchemaError(`cannot encode state document ${JSON.stringify(key)}: ${error.message}`, {
        key,
        cause: error,
      });
    }
    throw error;
  }
}

function decodeTombstones(bytes: Uint8Array, key: string): TombstoneSidecar {
  try {
    return decodeTombstoneSidecar(bytes);
  } catch (error) {
    if (isWalFormatError(error)) {
      throw new WalCorruptError(`tombstone sidecar ${JSON.stringify(key)}: ${error.message}`, { key, cause: error });
    }
    throw error;
  }
}

function encodeTombstones(sidecar: TombstoneSidecarInput, key: string): Uint8Array {
  try {
    return encodeTombstoneSidecar(sidecar);
  } catch (error) {
    if (isWalFormatError(error)) {
      throw new WalCodecError(`cannot encode tombstone sidecar ${JSON.stringify(key)}: ${error.message}`, {
        key,
        cause: error,
      });
    }
    throw error;
  }
}

export class WalStore {
  readonly storage: StorageProvider;
  readonly layout: WalLayout;
  readonly #runtime: Omit<CasRuntime, "signal">;

  constructor(storage: StorageProvider, options: WalStoreOptions = {}) {
    this.storage = storage;
    this.layout = new WalLayout(options.root ?? "");
    this.#runtime = options.runtime ?? {};
  }

  get root(): string {
    return this.layout.root;
  }

  #rt(options: CallSignal | undefined): CasRuntime {
    return { ...this.#runtime, signal: options?.signal };
  }

  // ------------------------------------------------------------ state docs

  #decodeFor(walId: WalId) {
    return (bytes: Uint8Array, key: string): MutationState => {
      const doc = decodeStateDoc(bytes, key);
      if (doc.walId !== walId) {
        throw new WalCorruptError(`state document ${JSON.stringify(key)} names wal id ${idToHex(doc.walId)}`, { key });
      }
      return doc;
    };
  }

  /** Creates a state doc (create-only); returns its etag. */
  async create(doc: MutationState, options?: CallSignal): Promise<string> {
    const key = this.layout.stateKey(doc.walId);
    return (await createOnce(this.storage, key, encodeStateDoc(doc, key), this.#rt(options))).etag;
  }

  /** Reads a state doc with its etag; `WalNotFoundError` when absent. */
  async read(walId: WalId, options?: CallSignal): Promise<VersionedState> {
    const found = await this.tryRead(walId, options);
    if (found === null) {
      throw new WalNotFoundError(`no state document for WAL ${idToHex(walId)}`, { key: this.layout.stateKey(walId) });
    }
    return { doc: found.value, etag: found.etag };
  }

  /** Reads a state doc; null when absent. */
  async tryRead(walId: WalId, options?: CallSignal): Promise<Versioned<MutationState> | null> {
    return readVersioned(this.storage, this.layout.stateKey(walId), this.#decodeFor(walId), this.#rt(options));
  }

  /** Writes `doc` if the stored etag is still `expectedEtag`; `CasFailedError` otherwise. */
  async updateWithEtag(walId: WalId, expectedEtag: string, doc: MutationState, options?: CallSignal): Promise<string> {
    const key = this.layout.stateKey(walId);
    return updateIfMatch(this.storage, key, expectedEtag, encodeStateDoc(doc, key), this.#rt(options));
  }

  /** Read-modify-write of a state doc under the CAS loop (see `casUpdate`). */
  async updateState(
    walId: WalId,
    mutate: CasMutate<MutationState>,
    options: CallSignal & { known?: Versioned<MutationState> | null } = {},
  ): Promise<CasUpdateResult<MutationState>> {
    const key = this.layout.stateKey(walId);
    return casUpdate(this.storage, key, {
      ...this.#rt(options),
      decode: this.#decodeFor(walId),
      encode: (doc) => encodeStateDoc(doc, key),
      mutate,
      known: options.known,
    });
  }

  /** Deletes a state doc; deleting a missing one succeeds. */
  async deleteState(walId: WalId, options?: CallSignal): Promise<void> {
    await this.#delete(this.layout.stateKey(walId), options);
  }

  /** Wal ids of every state doc, oldest first. */
  async listWalIds(options?: CallSignal): Promise<WalId[]> {
    const ids: WalId[] = [];
    for (const object of await this.listObjects(options)) if (object.kind === "state") ids.push(object.walId);
    return ids;
  }

  /** Every state doc and arrow sidecar under the prefix, in key order (oldest wal first). */
  async listObjects(options?: CallSignal): Promise<WalObject[]> {
    const prefix = this.layout.mutationsPrefix;
    return withStorageRetry(prefix, "list", this.#rt(options), async () => {
      const out: WalObject[] = [];
      for await (const meta of this.storage.list(prefix, { signal: options?.signal })) {
        const parsed = this.layout.parseMutationKey(meta.key);
        if (parsed !== null) out.push({ ...parsed, meta });
      }
      // Keys sort by wal id already; sort anyway so a provider's order quirks cannot reorder recovery.
      out.sort((a, b) => (a.walId < b.walId ? -1 : a.walId > b.walId ? 1 : a.kind < b.kind ? -1 : 1));
      return out;
    });
  }

  // ------------------------------------------------------------ arrow sidecars

  /** Stores an UPDATE's row-batch sidecar; idempotent for identical bytes. */
  async putArrow(walId: WalId, bytes: Uint8Array, options?: CallSignal): Promise<void> {
    await createOnce(this.storage, this.layout.arrowKey(walId), bytes, this.#rt(options));
  }

  /** Reads a sidecar; with `expectedHash`, verifies its BLAKE3 first. */
  async getArrow(walId: WalId, expectedHash?: string, options?: CallSignal): Promise<Uint8Array> {
    const key = this.layout.arrowKey(walId);
    const raw = await readRaw(this.storage, key, this.#rt(options));
    if (raw === null) throw new WalNotFoundError(`no arrow sidecar for WAL ${idToHex(walId)}`, { key });
    if (expectedHash !== undefined) {
      const actual = contentHash(raw.bytes);
      if (actual !== expectedHash) {
        throw new HashMismatchError(`arrow sidecar ${JSON.stringify(key)} hashes to ${actual}, expected ${expectedHash}`, {
          key,
          expected: expectedHash,
          actual,
        });
      }
    }
    return raw.bytes;
  }

  /** Deletes a sidecar; deleting a missing one succeeds. */
  async deleteArrow(walId: WalId, options?: CallSignal): Promise<void> {
    await this.#delete(this.layout.arrowKey(walId), options);
  }

  // ------------------------------------------------------------ tombstone sidecars

  /** Reads a segment's tombstone sidecar with its etag; null when the segment has none. */
  async getTombstones(segmentId: string, options?: CallSignal): Promise<{ sidecar: TombstoneSidecar; etag: string } | null> {
    const found = await readVersioned(this.storage, this.layout.tombstonesKey(segmentId), decodeTombstones, this.#rt(options));
    return found === null ? null : { sidecar: found.value, etag: found.etag };
  }

  /**
   * Writes a tombstone sidecar: over `expectedEtag`, or create-only when it
   * is null (an existing sidecar is then a lost race: `CasFailedError`).
   */
  async putTombstones(
    segmentId: string,
    expectedEtag: string | null,
    sidecar: TombstoneSidecarInput,
    options?: CallSignal,
  ): Promise<string> {
    const key = this.layout.tombstonesKey(segmentId);
    const bytes = encodeTombstones(sidecar, key);
    if (expectedEtag === null) {
      return (await createOnce(this.storage, key, bytes, { ...this.#rt(options), exclusive: true })).etag;
    }
    return updateIfMatch(this.storage, key, expectedEtag, bytes, this.#rt(options));
  }

  /** Read-modify-write of a tombstone sidecar under the CAS loop. */
  async updateTombstones(
    segmentId: string,
    mutate: CasMutate<TombstoneSidecarInput>,
    options?: CallSignal,
  ): Promise<CasUpdateResult<TombstoneSidecarInput>> {
    const key = this.layout.tombstonesKey(segmentId);
    return casUpdate<TombstoneSidecarInput>(this.storage, key, {
      ...this.#rt(options),
      decode: decodeTombstones,
      encode: (sidecar) => encodeTombstones(sidecar, key),
      mutate,
    });
  }

  /** Segment ids that have a tombstone sidecar, in key order. */
  async listTombstoneIds(options?: CallSignal): Promise<string[]> {
    const prefix = this.layout.superfilesPrefix;
    return withStorageRetry(prefix, "list", this.#rt(options), async () => {
      const out: string[] = [];
      for await (const meta of this.storage.list(prefix, { signal: options?.signal })) {
        const id = this.layout.parseTombstonesKey(meta.key);
        if (id !== null) out.push(id);
      }
      return out;
    });
  }

  async #delete(key: string, options: CallSignal | undefined): Promise<void> {
    await withStorageRetry(key, "delete", this.#rt(options), () => this.storage.delete(key, { signal: options?.signal }));
  }
}
