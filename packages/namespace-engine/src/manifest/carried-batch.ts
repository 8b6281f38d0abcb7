/**
 * Carried write batches: a write group's batch rides in the manifest that
 * commits it (docs/namespace-engine.md, "Carried write batches"), so a
 * commit is ONE create.
 *
 * - The carrier (version V) holds the bytes: the ref has `inline` and
 *   `carrierVersion` V. Later versions keep the ref without `inline`
 *   (`carryForward`), so every manifest holds the bytes of its own batch
 *   only.
 * - A reader of a carried ref takes the bytes from manifest V of the
 *   namespace the ref's key is under or, once V has expired, from the object
 *   at the ref's `key` (`readContainerBytes`): manifest GC writes them there
 *   (`storeBatch`) before it deletes a carrier whose batch a retained version
 *   still references, and branches and copies store them before they share
 *   or copy the batch. Carrier first, then key: GC stores before it deletes,
 *   so a carrier found missing means the object is there.
 * - The ref's `key` is the batch's name for reference counts, GC, repair and
 *   the sweep whether or not the object exists yet; releasing a key whose
 *   object was never written deletes nothing.
 *
 * Errors: `CorruptError` (a carrier that does not hold the batch, bytes found
 * nowhere), `StorageFailureError` via the retry policy.
 */
import { isNotFound, type StorageProvider } from "@skerry/storage-providers";
import { type ContainerRef, decodeManifest, type Manifest, type Random } from "@skerry/wal-format";
import { carrierManifestKey, CorruptError, createImmutable, type RetryPolicy, withRetry } from "../core/index.ts";

export interface BatchStorage {
  readonly storage: StorageProvider;
  readonly random: Random;
  readonly retry: RetryPolicy;
}

/** `manifest` with the bytes of batches carried by other versions dropped (they stay in their carriers). */
export function carryForward(manifest: Manifest): Manifest {
  if (!manifest.containers.some((c) => c.inline !== undefined && c.carrierVersion !== manifest.version)) return manifest;
  return {
    ...manifest,
    containers: manifest.containers.map((c) => {
      if (c.inline === undefined || c.carrierVersion === manifest.version) return c;
      const { inline: _bytes, ...carried } = c;
      return carried;
    }),
  };
}

/** True when `ref` is a batch whose bytes are (or were) carried by a manifest. */
export function isCarried(ref: ContainerRef): boolean {
  return ref.carrierVersion !== undefined;
}

/** `ref` as a stored batch: no carrier, no bytes (the object at `key` holds them). */
export function asStored(ref: ContainerRef): ContainerRef {
  const { inline: _bytes, carrierVersion: _carrier, ...stored } = ref;
  return stored;
}

async function getOrUndefined(deps: BatchStorage, key: string, what: string): Promise<Uint8Array | undefined> {
  return withRetry(what, deps.retry, deps.random, async () => {
    try {
      return (await deps.storage.get(key)).bytes;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  });
}

/** The bytes of the carried batch `ref` from its carrier manifest, or undefined when that version is gone. */
async function fromCarrier(deps: BatchStorage, ref: ContainerRef, carrier: number): Promise<Uint8Array | undefined> {
  const key = carrierManifestKey(ref.key, carrier);
  if (key === undefined) throw new CorruptError(`carried batch ${ref.id} has key ${ref.key}, which is not a namespace's log key`, ref.key);
  const bytes = await getOrUndefined(deps, key, `read carrier manifest ${key}`);
  if (bytes === undefined) return undefined;
  let manifest: Manifest;
  try {
    manifest = decodeManifest(bytes);
  } catch (cause) {
    throw new CorruptError(`carrier manifest ${key} does not decode: ${(cause as Error).message}`, key, { cause });
  }
  const held = manifest.version === carrier ? manifest.containers.find((c) => c.id === ref.id)?.inline : undefined;
  if (held === undefined) throw new CorruptError(`carrier manifest ${key} does not carry batch ${ref.id}`, key);
  return held;
}

/**
 * The bytes of container `ref` (unverified: callers check size and hash): a carried batch's own `inline` or its
 * carrier manifest's, else the object at its key. Bytes found nowhere are `CorruptError` (a manifest never
 * references a container before its bytes are durable).
 */
export async function readContainerBytes(deps: BatchStorage, ref: ContainerRef): Promise<Uint8Array> {
  if (ref.inline !== undefined) return ref.inline;
  if (ref.carrierVersion !== undefined) {
    const carried = await fromCarrier(deps, ref, ref.carrierVersion);
    if (carried !== undefined) return carried;
  }
  const stored = await getOrUndefined(deps, ref.key, `read container ${ref.key}`);
  if (stored === undefined) {
    const where = ref.carrierVersion === undefined ? "" : ` (nor in its carrier, version ${ref.carrierVersion})`;
    throw new CorruptError(`container ${ref.key} referenced by the manifest is missing${where}`, ref.key);
  }
  return stored;
}

/**
 * Writes `bytes` (batch `ref`'s) as the object at its key, create-only. An existing object is an earlier
 * store of the same batch (the key is unique per batch id; readers verify the hash).
 */
export async function storeBatch(deps: BatchStorage, ref: ContainerRef, bytes: Uint8Array): Promise<void> {
  await createImmutable(deps, ref.key, bytes, `store batch ${ref.key}`);
}
