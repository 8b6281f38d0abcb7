/**
 * Compaction intent documents (`<nsroot>/compactions/<id>.json`, wal-format
 * `CompactionIntent`): written create-only before a compaction seals or
 * writes anything, then moved to COMMITTED or ABANDONED by compare-and-swap
 * (wal-engine's `casUpdate`). They tell recovery what was in flight.
 *
 * Errors: an intent that does not decode is `CorruptError` naming its key.
 */
import { CAS_NOOP, casUpdate, createOnce, readVersioned, withStorageRetry } from "@skerry/wal-engine";
import { type CompactionIntent, type CompactionState, decodeCompactionIntent, encodeCompactionIntent } from "@skerry/wal-format";
import type { EngineContext } from "../manifest/index.ts";
import { compactionIntentKey, compactionPrefix, CorruptError, type NamespacePath, toWalRetryPolicy } from "../core/index.ts";

function runtime(ctx: EngineContext) {
  return { policy: toWalRetryPolicy(ctx.retry), random: ctx.random };
}

/** Decodes the intent stored at `key`. */
function decodeIntent(bytes: Uint8Array, key: string): CompactionIntent {
  try {
    return decodeCompactionIntent(bytes);
  } catch (cause) {
    throw new CorruptError(`compaction intent ${key} does not decode: ${(cause as Error).message}`, key, { cause });
  }
}

export async function createIntent(ctx: EngineContext, path: NamespacePath, intent: CompactionIntent): Promise<void> {
  await createOnce(ctx.storage, compactionIntentKey(path, intent.compactionId), encodeCompactionIntent(intent), runtime(ctx));
}

export async function readIntent(ctx: EngineContext, path: NamespacePath, compactionId: string): Promise<CompactionIntent | undefined> {
  const key = compactionIntentKey(path, compactionId);
  const found = await readVersioned(ctx.storage, key, (bytes) => decodeIntent(bytes, key), runtime(ctx));
  return found?.value;
}

/** Moves a non-terminal intent to `state` (no-op when it is already terminal or gone). */
export async function settleIntent(ctx: EngineContext, path: NamespacePath, compactionId: string, state: CompactionState): Promise<void> {
  const key = compactionIntentKey(path, compactionId);
  await casUpdate<CompactionIntent>(ctx.storage, key, {
    ...runtime(ctx),
    decode: (bytes) => decodeIntent(bytes, key),
    encode: encodeCompactionIntent,
    mutate: (current) => {
      if (current === null || current.value.state === "COMMITTED" || current.value.state === "ABANDONED") return CAS_NOOP;
      const { lease: _lease, ...rest } = current.value;
      return { ...rest, state };
    },
  });
}

/** Ids of the namespace's intents, oldest key first. */
export async function listIntentIds(ctx: EngineContext, path: NamespacePath): Promise<string[]> {
  const prefix = compactionPrefix(path);
  return withStorageRetry(prefix, "list", runtime(ctx), async () => {
    const out: string[] = [];
    for await (const meta of ctx.storage.list(prefix)) {
      const name = meta.key.slice(prefix.length);
      if (name.endsWith(".json") && !name.includes("/")) out.push(name.slice(0, -".json".length));
    }
    return out;
  });
}

export async function deleteIntent(ctx: EngineContext, path: NamespacePath, compactionId: string): Promise<void> {
  const key = compactionIntentKey(path, compactionId);
  await withStorageRetry(key, "delete", runtime(ctx), () => ctx.storage.delete(key));
}
