/**
 * Prometheus metrics of one server (prom-client), on a registry of its own
 * so several servers in one test process never share counters.
 *
 * - skerry_http_request_duration_seconds{method,route,status}: histogram;
 * - skerry_http_requests_in_flight;
 * - skerry_rejected_requests_total{reason}: unauthorized, forbidden,
 *   rate_limited, timeout, too_large;
 * - skerry_write_conflicts_total{kind}: version (412) and commit (409);
 * - skerry_query_index_cache_total{result}: hit, miss;
 * - skerry_engine_*: the engine's own counters (commits, batch objects,
 *   manifest races lost, writes committed, containers folded), read at
 *   scrape time;
 * - process and Node.js defaults.
 */
import type { NamespaceEngine } from "@skerry/namespace-engine";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export class ServerMetrics {
  readonly registry = new Registry();
  readonly requestDuration: Histogram<"method" | "route" | "status">;
  readonly inFlight: Gauge;
  readonly rejected: Counter<"reason">;
  readonly writeConflicts: Counter<"kind">;
  readonly queryCache: Counter<"result">;

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
    this.queryCache = new Counter({ name: "skerry_query_index_cache_total", help: "Query index cache lookups", labelNames: ["result"], registers });
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
  }
}
