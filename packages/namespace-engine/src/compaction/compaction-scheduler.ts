/**
 * CompactionScheduler: background compaction after writes. When a write
 * leaves a namespace with a compaction run due (the policy's `isDue` on the
 * manifest this engine last saw), one compaction is scheduled after
 * `delayMs` (one pending per namespace); when it performed a run, the next
 * is checked at once (tiered: the fold may make a merge due). Failures go to
 * `onError` (the next write schedules again). `close` stops scheduling and
 * waits for the running ones.
 */
import { namespaceId, type NamespacePath } from "../core/index.ts";
import type { ManifestStore } from "../manifest/index.ts";
import type { CompactionReport, Compactor } from "./compactor.ts";

export class CompactionScheduler {
  readonly #scheduled = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #running = new Set<Promise<unknown>>();
  #closed = false;

  constructor(
    readonly compactor: Compactor,
    readonly manifests: ManifestStore,
    /** Runs one compaction of the namespace (the engine's `compact`). */
    readonly compact: (p: NamespacePath) => Promise<CompactionReport>,
    readonly onError: ((error: unknown, path: string) => void) | undefined,
  ) {}

  /** After a write of `p`: schedules a compaction when automatic compaction is on and a run is due. */
  afterWrite(p: NamespacePath): void {
    if (this.compactor.settings.auto) this.#maybeSchedule(p);
  }

  #maybeSchedule(p: NamespacePath): void {
    if (this.#closed) return;
    const id = namespaceId(p);
    if (this.#scheduled.has(id)) return;
    const manifest = this.manifests.cached(p);
    if (manifest === undefined || !this.compactor.isDue(manifest)) return;
    const timer = setTimeout(() => {
      let again = false;
      const run = this.compact(p)
        .then((report) => {
          again = report.performed; // tiered: the tail fold may make a merge due
        })
        .catch((error) => this.onError?.(error, id))
        .finally(() => {
          this.#scheduled.delete(id);
          this.#running.delete(run);
          if (again) this.#maybeSchedule(p);
        });
      this.#running.add(run);
    }, this.compactor.settings.delayMs);
    timer.unref?.();
    this.#scheduled.set(id, timer);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const [id, timer] of this.#scheduled) {
      clearTimeout(timer);
      this.#scheduled.delete(id);
    }
    await Promise.allSettled([...this.#running]);
  }
}
