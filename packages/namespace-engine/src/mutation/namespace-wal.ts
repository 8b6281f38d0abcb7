/**
 * NamespaceWals: one wal-engine `WalEngine` (and its NamespaceTable) per
 * namespace, rooted at the namespace root, so WAL state docs live at
 * `<nsroot>/wal/mutations/` and tombstone sidecars at
 * `<nsroot>/superfiles/<container id>.tombstones`. They share the engine's
 * clock, randomness, sleep and IdGenerator (so ids minted for UPDATE rows
 * stay above every row id the engine has seen) and one handle id (lease
 * owner).
 */
import { type WalEngine as WalEngineType, WalEngine } from "@skerry/wal-engine";
import type { HandleId } from "@skerry/wal-format";
import type { EngineContext } from "../manifest/index.ts";
import { namespaceId, type NamespacePath, namespaceRoot, toWalRetryPolicy } from "../core/index.ts";
import { NamespaceTable } from "./namespace-table.ts";

export interface WalSettings {
  /** Lease of a WAL driver (and of a compaction), ms. */
  readonly leaseMs: number;
  /** Re-locate rounds when a target's container is sealed by a compaction. */
  readonly relocate: { readonly maxAttempts: number; readonly baseDelayMs: number; readonly maxDelayMs: number };
  readonly maxTargets: number;
}

export class NamespaceWals {
  readonly #ctx: EngineContext;
  readonly #settings: WalSettings;
  readonly handleId: HandleId;
  readonly #engines = new Map<string, WalEngineType>();

  constructor(ctx: EngineContext, settings: WalSettings) {
    this.#ctx = ctx;
    this.#settings = settings;
    this.handleId = ctx.ids.next() as HandleId;
  }

  get settings(): WalSettings {
    return this.#settings;
  }

  for(path: NamespacePath): WalEngineType {
    const id = namespaceId(path);
    let engine = this.#engines.get(id);
    if (engine === undefined) {
      const ctx = this.#ctx;
      let self: WalEngineType | undefined;
      const table = new NamespaceTable(ctx, path, () => (self as WalEngineType).store);
      self = new WalEngine({
        storage: ctx.storage,
        root: namespaceRoot(path),
        table,
        handleId: this.handleId,
        clock: ctx.clock,
        random: ctx.random,
        idGenerator: ctx.ids,
        leaseMs: this.#settings.leaseMs,
        maxTargets: this.#settings.maxTargets,
        retryPolicy: toWalRetryPolicy(ctx.retry),
        relocatePolicy: { ...this.#settings.relocate },
        // The engine's injected sleep (a simulated clock's in deterministic runs); else the wal-engine's timer.
        ...(ctx.retry.sleep === undefined ? {} : { sleep: ctx.retry.sleep }),
      });
      engine = self;
      this.#engines.set(id, engine);
    }
    return engine;
  }
}
