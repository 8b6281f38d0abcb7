/**
 * The engine's counters as plain JSON (GET /v1/stats and `skerry stats`):
 * write path, state cache, query caches, state persistence when on, and
 * the pinned namespaces. Counts only, never contents.
 */
import type { NamespaceEngine } from "@skerry/namespace-engine";
import { toJson } from "../cli/printable.ts";

/** Engine stats as plain JSON (a Map or bigint never reaches the wire). */
export function engineStatsJson(engine: NamespaceEngine, pinned: string[]) {
  const { stateCache, statePersistence, ...writes } = engine.stats();
  const plain = (value: unknown) => JSON.parse(toJson(value)) as Record<string, number | string | null>;
  const { segmentIndexes, ...prepared } = engine.queryStats();
  return {
    writes: plain(writes),
    stateCache: plain(stateCache),
    queryCache: { segmentIndexes: plain(segmentIndexes), ...prepared },
    ...(statePersistence === undefined ? {} : { statePersistence: plain({ ...statePersistence, lastDiscardReason: statePersistence.lastDiscardReason ?? null }) }),
    pinned,
  };
}

