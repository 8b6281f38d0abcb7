/**
 * PinStore: the engine-wide list of pinned namespaces, persisted in one
 * small JSON document (`_skerry/pins.json`: `{schema_version: 1, pinned:
 * ["org/project/namespace", ...], updated_at}`) rewritten by etag
 * compare-and-swap. Pinning is rare and not on any write path, so one
 * document for every engine sharing the store is enough; `start()` reads it
 * to warm the pinned namespaces of a restarted process.
 *
 * Errors: StorageFailureError; CorruptError for an undecodable document.
 */
import { CAS_NOOP, casUpdate, readVersioned } from "@skerry/wal-engine";
import type { EngineContext } from "../manifest/index.ts";
import { CorruptError, PINS_KEY, toEngineError, toWalRetryPolicy } from "../core/index.ts";

interface PinsDocument {
  readonly pinned: readonly string[];
}

function decode(bytes: Uint8Array): PinsDocument {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(bytes));
  } catch (cause) {
    throw new CorruptError(`pins document ${PINS_KEY} is not JSON`, PINS_KEY, { cause });
  }
  const pinned = (raw as { pinned?: unknown })?.pinned;
  if ((raw as { schema_version?: unknown })?.schema_version !== 1 || !Array.isArray(pinned) || pinned.some((p) => typeof p !== "string")) {
    throw new CorruptError(`pins document ${PINS_KEY} does not match schema_version 1`, PINS_KEY);
  }
  return { pinned: pinned as string[] };
}

export class PinStore {
  readonly #ctx: EngineContext;
  #cached: { pinned: Set<string>; readAt: number } | undefined;

  constructor(ctx: EngineContext) {
    this.#ctx = ctx;
  }

  #runtime() {
    return { policy: { ...toWalRetryPolicy(this.#ctx.retry), maxAttempts: 64 }, random: this.#ctx.random };
  }

  /** The pinned namespaces (from storage, or the copy read at most `maxStalenessMs` ago). */
  async list(maxStalenessMs = 0): Promise<Set<string>> {
    const cached = this.#cached;
    if (cached !== undefined && this.#ctx.clock.now() - cached.readAt <= maxStalenessMs) return cached.pinned;
    try {
      const found = await readVersioned(this.#ctx.storage, PINS_KEY, decode, this.#runtime());
      const pinned = new Set(found?.value.pinned ?? []);
      this.#cached = { pinned, readAt: this.#ctx.clock.now() };
      return pinned;
    } catch (error) {
      throw toEngineError(error, `read ${PINS_KEY}`);
    }
  }

  /** Adds (`pin` true) or removes a namespace; returns the new list. */
  async set(path: string, pin: boolean): Promise<Set<string>> {
    let result = new Set<string>();
    try {
      await casUpdate<PinsDocument>(this.#ctx.storage, PINS_KEY, {
        ...this.#runtime(),
        decode,
        encode: (doc) =>
          new TextEncoder().encode(JSON.stringify({ schema_version: 1, pinned: doc.pinned, updated_at: new Date(this.#ctx.clock.now()).toISOString() })),
        mutate: (current) => {
          const pinned = new Set(current?.value.pinned ?? []);
          result = pinned;
          if (pinned.has(path) === pin) return CAS_NOOP;
          if (pin) pinned.add(path);
          else pinned.delete(path);
          return { pinned: [...pinned].sort() };
        },
      });
    } catch (error) {
      throw toEngineError(error, `update ${PINS_KEY}`);
    }
    this.#cached = { pinned: result, readAt: this.#ctx.clock.now() };
    return result;
  }
}
