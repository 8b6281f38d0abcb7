/**
 * Which containers a compaction folds: the compaction policy.
 *
 * - `full`: every container of the namespace, one segment (the whole
 *   namespace is rewritten by each compaction). Due when the manifest
 *   crosses a threshold (log batches, their bytes, containers).
 * - `tiered` (size-tiered, LSM style): a manifest is a run of compacted
 *   segments (oldest first) followed by a tail (log batches, predicate-UPDATE
 *   segments, anything after the last compacted segment). Two kinds of run:
 *   - the tail run, once the tail crosses a threshold (the same ones as
 *     `full`, counted over the tail only): folded into one new segment;
 *   - a merge run: `mergeFactor` adjacent compacted segments of the same
 *     size tier (tier 0: below `tierBaseBytes`; tier t: from
 *     `tierBaseBytes * F^(t-1)` up to `tierBaseBytes * F^t` bytes, F the
 *     merge factor) whose total stays
 *     within `maxSegmentBytes` and `maxSegmentRows`. The newest such window
 *     is merged first, and merges go before the tail run (under a steady
 *     stream of writes the tail is due again after every fold). When no
 *     window fits but one of the top tier exceeds the bounds, its longest
 *     run of at least 2 segments that fits is merged, so segments grow
 *     toward the bound instead of stopping at the tier below it.
 *   A document is so rewritten once by the tail fold and once per tier it
 *   climbs: O(log_F(maxSegmentBytes / tail segment size)) times (plus at
 *   most one top-tier run), not once per compaction. Segments too large for
 *   any two of them to fit the bound are never merged again.
 *   When the delete markers carried by the manifest's segments exceed
 *   `maxDeleteMarkers`, the run is the whole namespace (a full fold drops
 *   every marker).
 *
 * `force` always means a full fold.
 */
import type { ContainerRef, Manifest } from "@skerry/wal-format";
import { compactionIdOf, deletedIdsOf, mutationWalId } from "../manifest/index.ts";

export type CompactionPolicyName = "full" | "tiered";

export interface CompactionPolicySettings {
  readonly policy: CompactionPolicyName;
  readonly maxLogBatches: number;
  readonly maxLogBytes: number;
  readonly maxContainers: number;
  readonly mergeFactor: number;
  readonly tierBaseBytes: number;
  readonly maxSegmentBytes: number;
  readonly maxSegmentRows: number;
  readonly maxDeleteMarkers: number;
}

/** Containers `[start, end)` of a manifest; `kind` says why they were chosen. */
export interface CompactionRun {
  readonly start: number;
  readonly end: number;
  readonly kind: "full" | "tail" | "merge";
}

/** A segment written by a compaction (not a predicate UPDATE's segment). */
export function isCompactedSegment(ref: ContainerRef): boolean {
  return ref.kind === "SEGMENT" && compactionIdOf(ref) !== undefined && mutationWalId(ref) === undefined;
}

/** Index of the first container after the last compacted segment. */
export function tailStart(manifest: Manifest): number {
  for (let i = manifest.containers.length - 1; i >= 0; i--) if (isCompactedSegment(manifest.containers[i] as ContainerRef)) return i + 1;
  return 0;
}

function crossesThresholds(containers: readonly ContainerRef[], s: CompactionPolicySettings): boolean {
  let logBatches = 0;
  let logBytes = 0;
  for (const c of containers) {
    if (c.kind !== "LOG_BATCH") continue;
    logBatches++;
    logBytes += c.byteSize;
  }
  return logBatches >= s.maxLogBatches || logBytes >= s.maxLogBytes || containers.length >= s.maxContainers;
}

/** Size tier: 0 below `tierBaseBytes`, then t for `tierBaseBytes * F^(t-1)` up to `tierBaseBytes * F^t` bytes. */
function tierOf(bytes: number, s: CompactionPolicySettings): number {
  const base = Math.max(1, s.tierBaseBytes);
  if (bytes < base) return 0;
  return 1 + Math.floor(Math.log(bytes / base) / Math.log(Math.max(2, s.mergeFactor)) + 1e-9);
}

/** True when `window` fits the size bounds as one segment. */
function withinBounds(window: readonly ContainerRef[], s: CompactionPolicySettings): boolean {
  let bytes = 0;
  let rows = 0;
  for (const c of window) {
    bytes += c.byteSize;
    rows += c.rowCount;
  }
  return bytes <= s.maxSegmentBytes && rows <= s.maxSegmentRows;
}

/**
 * The newest window of `mergeFactor` adjacent compacted segments of one
 * tier within the size bounds; failing that, the top tier: of the newest
 * such window over the bounds, its longest (then newest) run of at least 2
 * segments within them (segments near the bound would otherwise never merge:
 * four 136 MiB tail folds exceed a 512 MiB bound, three do not).
 */
function mergeWindow(containers: readonly ContainerRef[], end: number, s: CompactionPolicySettings): CompactionRun | undefined {
  const k = Math.max(2, Math.floor(s.mergeFactor));
  let over: number | undefined;
  for (let last = end - 1; last - k + 1 >= 0; last--) {
    const first = last - k + 1;
    const window = containers.slice(first, last + 1);
    if (!window.every(isCompactedSegment)) continue;
    const tier = tierOf((window[0] as ContainerRef).byteSize, s);
    if (!window.every((c) => tierOf(c.byteSize, s) === tier)) continue;
    if (!withinBounds(window, s)) {
      over ??= first;
      continue;
    }
    return { start: first, end: last + 1, kind: "merge" };
  }
  if (over === undefined) return undefined;
  for (let m = k - 1; m >= 2; m--) {
    for (let first = over + k - m; first >= over; first--) {
      if (withinBounds(containers.slice(first, first + m), s)) return { start: first, end: first + m, kind: "merge" };
    }
  }
  return undefined;
}

/** The whole manifest as one run (undefined when there is nothing to fold). */
export function fullRun(manifest: Manifest): CompactionRun | undefined {
  return manifest.containers.length === 0 ? undefined : { start: 0, end: manifest.containers.length, kind: "full" };
}

/** The run the policy would compact now, or undefined when nothing is due. */
export function chooseRun(manifest: Manifest, s: CompactionPolicySettings): CompactionRun | undefined {
  const containers = manifest.containers;
  if (s.policy === "full") return crossesThresholds(containers, s) ? fullRun(manifest) : undefined;
  let markers = 0;
  for (const c of containers) markers += deletedIdsOf(c).length;
  if (markers > s.maxDeleteMarkers) return fullRun(manifest);
  const tail = tailStart(manifest);
  // Merges first: under a steady stream of writes the tail is due again after every fold, and segments would
  // pile up. Each merge removes mergeFactor - 1 segments, so the tail waits for a bounded number of them.
  const merge = mergeWindow(containers, tail, s);
  if (merge !== undefined) return merge;
  if (tail < containers.length && crossesThresholds(containers.slice(tail), s)) return { start: tail, end: containers.length, kind: "tail" };
  return undefined;
}
