/**
 * StateWarmer: materialized states loaded ahead of queries, and pins.
 *
 * `warm` loads a namespace's state at its latest version into the cache (one
 * build, shared with concurrent readers; tracked by the local persistence
 * when on). `pin` persists the namespace in the engine-wide pins document
 * (so every engine's `start` warms it), exempts it from eviction here and
 * warms it; `unpin` undoes that. `start` warms every persisted pin; a
 * pinned namespace that cannot be warmed is reported, not fatal.
 */
import { formatNamespacePath, type NamespacePath, toNamespacePath } from "../core/index.ts";
import type { ManifestReads } from "../manifest/index.ts";
import type { PinStore } from "./pin-store.ts";
import type { StateCache } from "./state-cache.ts";
import type { StatePersistence } from "./state-persistence.ts";

/** What `warm` loaded. */
export interface WarmResult {
  readonly path: string;
  readonly version: number;
  readonly docCount: number;
  /** Estimated bytes of the materialized state. */
  readonly bytes: number;
}

/** What `start` did with the persisted pins. */
export interface StartReport {
  readonly warmed: readonly WarmResult[];
  /** Pinned namespaces that could not be warmed (deleted, or a failing read), with the error code. */
  readonly failed: readonly { readonly path: string; readonly code: string }[];
}

export class StateWarmer {
  constructor(
    readonly states: StateCache,
    readonly pins: PinStore,
    readonly reads: ManifestReads,
    readonly persistence: StatePersistence | undefined,
  ) {}

  async warm(p: NamespacePath): Promise<WarmResult> {
    const manifest = await this.reads.read(p, {});
    this.persistence?.track(p);
    return this.states.read(p, manifest, (state) => ({
      path: formatNamespacePath(p),
      version: state.version,
      docCount: state.size,
      bytes: state.estimatedBytes,
    }));
  }

  async pin(p: NamespacePath): Promise<WarmResult> {
    await this.reads.read(p, {}); // NamespaceNotFound before persisting anything
    await this.pins.set(formatNamespacePath(p), true);
    this.states.pin(p);
    return this.warm(p);
  }

  async unpin(p: NamespacePath): Promise<void> {
    await this.pins.set(formatNamespacePath(p), false);
    this.states.unpin(p);
  }

  async pinned(): Promise<string[]> {
    return [...(await this.pins.list())].sort();
  }

  async start(): Promise<StartReport> {
    const warmed: WarmResult[] = [];
    const failed: { path: string; code: string }[] = [];
    for (const name of [...(await this.pins.list())].sort()) {
      let p: NamespacePath;
      try {
        p = toNamespacePath(name);
      } catch {
        failed.push({ path: name, code: "InvalidArgument" });
        continue;
      }
      this.states.pin(p);
      try {
        warmed.push(await this.warm(p));
      } catch (error) {
        failed.push({ path: name, code: (error as { code?: string }).code ?? "Error" });
      }
    }
    return { warmed, failed };
  }
}
