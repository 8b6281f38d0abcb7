/**
 * NamespaceMaintenance: the engine's maintenance calls.
 *
 * - `open`: `recover` once per engine instance and namespace (the first
 *   predicate mutation or compaction does this itself); a failed attempt is
 *   retried on the next call.
 * - `recover`: finishes compactions whose lease expired, runs the wal-engine
 *   recovery sweep (interrupted deleteByFilter / patchByFilter), then
 *   publishes the tombstone sidecars' etags; the report goes to `onRecover`.
 * - `compact`: one compaction (tiered policy, or everything with `force`),
 *   then manifest retention (the swap retired its inputs).
 * - `collectGarbage` (manifest retention and unreferenced objects),
 *   `collectWalGarbage` (finished mutation WALs, settled compaction intents,
 *   retired UPDATE segment ids), `repair` (a project's reference counts
 *   rebuilt, interrupted deletions finished, optional sweep), `refcounts`.
 */
import type { RecoveryReport, WalGcReport } from "@skerry/wal-engine";
import { formatNamespacePath, namespaceId, NamespaceNotFoundError, type NamespacePath, validatePathPart } from "../core/index.ts";
import { type CompactionRecoveryReport, type CompactionReport, type Compactor, deleteIntent, listIntentIds, readIntent } from "../compaction/index.ts";
import { commitChange, type EngineContext, type ManifestReads, refreshTombstones, retiredSegments, retiredToWire, withManifestExtra } from "../manifest/index.ts";
import type { NamespaceWals } from "../mutation/index.ts";
import { purgeNamespace, type RefcountShards } from "../sharing/index.ts";
import { collectManifestGarbage, type GarbageReport, type RetentionPolicy, validateRetention } from "./manifest-retention.ts";
import { type RepairOptions, repairProject, type RepairReport } from "./project-repair.ts";

/** What `recover` did. */
export interface NamespaceRecoveryReport {
  readonly compactions: CompactionRecoveryReport;
  readonly wal: RecoveryReport;
  /** Manifest version after publishing tombstone etags. */
  readonly version: number;
}

export interface CollectWalGarbageResult {
  readonly wal: WalGcReport;
  /** Settled compaction intents deleted. */
  readonly compactionIntentsDeleted: number;
  /** Retired UPDATE segment ids dropped from the manifest (their WAL docs are gone). */
  readonly retiredSegmentsPruned: number;
}

export interface MaintenanceDependencies {
  readonly ctx: EngineContext;
  readonly reads: ManifestReads;
  readonly wals: NamespaceWals;
  readonly compactor: Compactor;
  readonly shards: RefcountShards;
  readonly retention: RetentionPolicy;
  readonly onRecover: ((path: string, report: NamespaceRecoveryReport) => void) | undefined;
}

export class NamespaceMaintenance {
  readonly #deps: MaintenanceDependencies;
  readonly #opened = new Map<string, Promise<unknown>>();

  constructor(deps: MaintenanceDependencies) {
    this.#deps = deps;
  }

  async open(p: NamespacePath): Promise<void> {
    const id = namespaceId(p);
    let opening = this.#opened.get(id);
    if (opening === undefined) {
      opening = this.recover(p);
      this.#opened.set(id, opening);
      opening.catch(() => {
        if (this.#opened.get(id) === opening) this.#opened.delete(id);
      });
    }
    await opening;
  }

  async recover(p: NamespacePath): Promise<NamespaceRecoveryReport> {
    const { ctx, compactor, wals } = this.#deps;
    const latest = await ctx.manifests.readLatest(p);
    if (latest === undefined || latest.deletedAt !== undefined) throw new NamespaceNotFoundError(formatNamespacePath(p));
    const compactions = await compactor.recover(p);
    const wal = await wals.for(p).scanAndRecover();
    const published = await refreshTombstones(ctx, p);
    const report: NamespaceRecoveryReport = { compactions, wal, version: published.version };
    try {
      this.#deps.onRecover?.(formatNamespacePath(p), report);
    } catch {
      // An observer's failure must not turn a finished recovery into an error.
    }
    return report;
  }

  async compact(p: NamespacePath, force: boolean): Promise<CompactionReport> {
    const { ctx, compactor, shards, retention, reads } = this.#deps;
    await this.open(p);
    const report = await reads.confirmCorrupt(p, () => compactor.compact(p, force));
    if (!report.performed) return report;
    // The swap retired its inputs; retention decides when they go.
    const garbage = await collectManifestGarbage(ctx, shards, p, retention);
    return { ...report, removedObjects: garbage.objectsDeleted, removedVersions: garbage.versionsDeleted };
  }

  collectGarbage(p: NamespacePath, retention: Partial<RetentionPolicy> | undefined): Promise<GarbageReport> {
    const policy = validateRetention({ ...this.#deps.retention, ...retention });
    return collectManifestGarbage(this.#deps.ctx, this.#deps.shards, p, policy);
  }

  async collectWalGarbage(p: NamespacePath, graceMs: number): Promise<CollectWalGarbageResult> {
    const { ctx, wals } = this.#deps;
    const wal = wals.for(p);
    const report = await wal.collectGarbage({ graceMs });
    let compactionIntentsDeleted = 0;
    const now = ctx.clock.now();
    for (const id of await listIntentIds(ctx, p)) {
      const intent = await readIntent(ctx, p, id).catch(() => undefined);
      if (intent === undefined || (intent.state !== "COMMITTED" && intent.state !== "ABANDONED")) continue;
      if (now - intent.createdAt < graceMs) continue;
      await deleteIntent(ctx, p, id);
      compactionIntentsDeleted++;
    }
    const live = new Set((await wal.listWalIds()).map((w) => w.toString(16).padStart(32, "0")));
    let pruned = 0;
    await commitChange(ctx, p, (base) => {
      const retired = retiredSegments(base);
      const kept = retired.filter((r) => live.has(r.walId));
      pruned = retired.length - kept.length;
      if (pruned === 0) return undefined;
      return withManifestExtra(base, { retired_mutation_segments: retiredToWire(kept) });
    });
    return { wal: report, compactionIntentsDeleted, retiredSegmentsPruned: pruned };
  }

  repair(org: string, project: string, options: RepairOptions): Promise<RepairReport> {
    validatePathPart(org, "organization");
    validatePathPart(project, "project");
    const { ctx, shards } = this.#deps;
    return repairProject(
      ctx,
      shards,
      org,
      project,
      options,
      (p, version) => purgeNamespace(ctx, shards, p, version),
      (p) => this.#pendingSegments(p),
    );
  }

  async refcounts(org: string, project: string): Promise<Map<string, number>> {
    validatePathPart(org, "organization");
    validatePathPart(project, "project");
    const entries = await this.#deps.shards.readAll(org, project);
    return new Map([...entries].map(([key, holders]) => [key, holders.size]));
  }

  /** Segment ids recovery may still commit: outputs of unsettled compaction intents, segments of existing WAL docs. */
  async #pendingSegments(p: NamespacePath): Promise<Set<string>> {
    const { ctx, wals } = this.#deps;
    const out = new Set<string>();
    for (const id of await listIntentIds(ctx, p)) {
      const intent = await readIntent(ctx, p, id).catch(() => undefined);
      if (intent === undefined) {
        out.add("*"); // unreadable: protect every segment of the namespace
        continue;
      }
      if (intent.state !== "COMMITTED" && intent.state !== "ABANDONED") for (const s of intent.outputSegmentIds) out.add(s);
    }
    const wal = wals.for(p);
    for (const walId of await wal.listWalIds()) {
      const doc = await wal.store.read(walId).catch(() => undefined);
      if (doc === undefined) out.add("*");
      else if ("preallocatedSuperfileId" in doc.doc) out.add(doc.doc.preallocatedSuperfileId);
    }
    return out;
  }
}
