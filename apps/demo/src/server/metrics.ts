/**
 * Prometheus metrics of one server (prom-client), on a registry of its own
 * so several servers in one test process never share counters.
 *
 * - skerry_http_request_duration_seconds{method,route,status}: histogram;
 * - skerry_http_requests_in_flight;
 * - skerry_rejected_requests_total{reason}: unauthorized, forbidden,
 *   rate_limited, overloaded (the server-wide bound), timeout, too_large;
 * - skerry_write_conflicts_total{kind}: version (412) and commit (409);
 * - skerry_recovery_runs_total, skerry_recovery_compactions_total{outcome}
 *   (finished, abandoned, held_by_peer) and skerry_recovery_wals_total{outcome}
 *   (completed_full, completed_tombstone_only, held_by_peer, cas_lost,
 *   failed): from the report of every recovery the engine ran (the
 *   automatic one when a namespace is first opened, and POST .../recover),
 *   through the engine's onRecover hook;
 * - skerry_background_compaction_errors_total;
 * - skerry_engine_*: the engine's own counters (commits, batch objects,
 *   manifest races lost, writes committed, containers folded), read at
 *   scrape time;
 * - skerry_cache_hits{cache}, skerry_cache_misses{cache} (loads or
 *   builds), skerry_cache_evictions{cache}, skerry_cache_entries{cache},
 *   skerry_cache_bytes{cache}, for cache = state (materialized states),
 *   segment_index (stored query indexes loaded) and query_version
 *   (prepared query versions: hits and builds); skerry_state_pinned;
 *   skerry_query_tail_extensions; skerry_state_persistence_*{event} when
 *   a state directory is configured: all read from `engine.stats()` and
 *   `engine.queryStats()` at scrape time;
 * - process and Node.js defaults.
 *
 * /metrics needs no key, so nothing here may carry namespace contents or
 * names: labels are route patterns (`/v1/orgs/:org/...`, never the
 * concrete path), status codes, fixed reason/outcome/cache names; values
 * are counts, bytes and durations. Organizations, projects, namespaces,
 * document ids, keys and query text never appear.
 */
import type { NamespaceEngine, NamespaceRecoveryReport } from "@skerry/namespace-engine";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export class ServerMetrics {
  readonly registry = new Registry();
  readonly requestDuration: Histogram<"method" | "route" | "status">;
  readonly inFlight: Gauge;
  readonly rejected: Counter<"reason">;
  readonly writeConflicts: Counter<"kind">;
  readonly recoveryRuns: Counter;
  readonly recoveryCompactions: Counter<"outcome">;
  readonly recoveryWals: Counter<"outcome">;
  readonly backgroundErrors: Counter;

  constructor(engine: NamespaceEngine) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requestDuration = new Histogram({
      name: "skerry_http_request_duration_seconds",
      help: "HTTP request latency by method, route pattern and status",
      labelNames: ["method", "route", "status"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.inFlight = new Gauge({ name: "skerry_http_requests_in_flight", help: "HTTP requests being served", registers });
    this.rejected = new Counter({ name: "skerry_rejected_requests_total", help: "Requests refused before reaching the engine", labelNames: ["reason"], registers });
    this.writeConflicts = new Counter({
      name: "skerry_write_conflicts_total",
      help: "Writes refused by a conflict: version (ifVersion, 412) or commit (manifest race budget, 409)",
      labelNames: ["kind"],
      registers,
    });
    this.recoveryRuns = new Counter({ name: "skerry_recovery_runs_total", help: "Recovery sweeps run by this server", registers });
    this.recoveryCompactions = new Counter({
      name: "skerry_recovery_compactions_total",
      help: "Interrupted compactions seen by recovery sweeps, by outcome (finished, abandoned, held_by_peer)",
      labelNames: ["outcome"],
      registers,
    });
    this.recoveryWals = new Counter({
      name: "skerry_recovery_wals_total",
      help: "Predicate-mutation WALs driven by recovery sweeps, by outcome (completed_full, completed_tombstone_only, held_by_peer, cas_lost, failed)",
      labelNames: ["outcome"],
      registers,
    });
    this.backgroundErrors = new Counter({ name: "skerry_background_compaction_errors_total", help: "Background compactions that failed (retried on the next write)", registers });
    const engineCounter = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    engineCounter("skerry_engine_commits", "Manifests committed by write groups (counter since start)", () => engine.stats().commits);
    engineCounter("skerry_engine_batch_objects", "Log batch objects written (counter since start)", () => engine.stats().batchObjects);
    engineCounter("skerry_engine_races_lost", "Manifest commit races lost and rebased (counter since start)", () => engine.stats().racesLost);
    engineCounter("skerry_engine_writes_committed", "Writes committed (counter since start)", () => engine.stats().writesCommitted);
    engineCounter("skerry_engine_containers_folded", "Row containers folded into materialized state (counter since start)", () => engine.stats().containersFolded);

    type Cache = "state" | "segment_index" | "query_version";
    const caches = (): Record<Cache, { hits: number; misses: number; evictions?: number; entries: number; bytes?: number }> => {
      const state = engine.stats().stateCache;
      const query = engine.queryStats();
      const seg = query.segmentIndexes;
      return {
        state: { hits: state.hits, misses: state.builds, evictions: state.evictions, entries: state.entries, bytes: state.bytes },
        segment_index: { hits: seg.hits, misses: seg.loads, evictions: seg.evictions, entries: seg.entries, bytes: seg.bytes },
        query_version: { hits: query.snapshotHits, misses: query.snapshotBuilds, entries: query.snapshots },
      };
    };
    const cacheGauge = (name: string, help: string, field: "hits" | "misses" | "evictions" | "entries" | "bytes") =>
      new Gauge({
        name,
        help,
        labelNames: ["cache"],
        registers,
        collect() {
          for (const [cache, values] of Object.entries(caches())) {
            const value = values[field];
            if (value !== undefined) this.set({ cache }, value);
          }
        },
      });
    cacheGauge("skerry_cache_hits", "Cache hits by cache: state, segment_index, query_version (counter since start)", "hits");
    cacheGauge("skerry_cache_misses", "Cache misses (builds or loads) by cache (counter since start)", "misses");
    cacheGauge("skerry_cache_evictions", "Cache evictions by cache (counter since start)", "evictions");
    cacheGauge("skerry_cache_entries", "Entries held by each cache", "entries");
    cacheGauge("skerry_cache_bytes", "Estimated bytes held by each cache", "bytes");
    engineCounter("skerry_state_pinned", "Pinned namespaces held in the state cache", () => engine.stats().stateCache.pinned);
    engineCounter("skerry_query_tail_extensions", "Query tails extended incrementally instead of refolded (counter since start)", () => engine.queryStats().tailExtensions);
    new Gauge({
      name: "skerry_state_persistence_events",
      help: "Persisted-state events (restored, discarded, torn_tails, snapshots_written, increments_appended, append_syncs, write_errors; counters since start), when a state directory is configured",
      labelNames: ["event"],
      registers,
      collect() {
        const p = engine.stats().statePersistence;
        if (p === undefined) return;
        const events: Record<string, number> = {
          restored: p.restored,
          discarded: p.discarded,
          torn_tails: p.tornTails,
          snapshots_written: p.snapshotsWritten,
          increments_appended: p.incrementsAppended,
          append_syncs: p.appendSyncs,
          write_errors: p.writeErrors,
        };
        for (const [event, value] of Object.entries(events)) this.set({ event }, value);
      },
    });
  }

  /** Counts one recovery sweep's report. */
  recordRecovery(report: NamespaceRecoveryReport): void {
    this.recoveryRuns.inc();
    const { compactions, wal } = report;
    this.recoveryCompactions.inc({ outcome: "finished" }, compactions.finished);
    this.recoveryCompactions.inc({ outcome: "abandoned" }, compactions.abandoned);
    this.recoveryCompactions.inc({ outcome: "held_by_peer" }, compactions.heldByPeer);
    this.recoveryWals.inc({ outcome: "completed_full" }, wal.fullPipelineCompleted);
    this.recoveryWals.inc({ outcome: "completed_tombstone_only" }, wal.tombstoneOnlyCompleted);
    this.recoveryWals.inc({ outcome: "held_by_peer" }, wal.heldByPeer);
    this.recoveryWals.inc({ outcome: "cas_lost" }, wal.casLost);
    this.recoveryWals.inc({ outcome: "failed" }, wal.errors.length);
  }
}
