/**
 * The compaction policy (which run a compaction folds): full vs tiered,
 * the tail run, size tiers and merge windows, merges before the tail, the
 * size bounds, and the delete-marker bound that forces a full fold.
 */
import { describe, expect, it } from "vitest";
import type { ContainerRef, Manifest } from "@skerry/wal-format";
import { DEFAULT_COMPACTION_SETTINGS } from "@skerry/namespace-engine";
import { chooseRun, tailStart } from "../src/compaction/compaction-policy.ts";

let next = 0;

function segment(bytes: number, extra: Record<string, unknown> = {}): ContainerRef {
  const id = `s${next++}`;
  return { id, kind: "SEGMENT", key: id, rowCount: 10, byteSize: bytes, contentHash: "h", extra: { compaction_id: "c", ...extra } } as ContainerRef;
}

function log(bytes = 100): ContainerRef {
  const id = `l${next++}`;
  return { id, kind: "LOG_BATCH", key: id, rowCount: 1, byteSize: bytes, contentHash: "h" };
}

function manifest(containers: ContainerRef[]): Manifest {
  return { containers } as unknown as Manifest;
}

const TIERED = { ...DEFAULT_COMPACTION_SETTINGS, policy: "tiered" as const, maxLogBatches: 3, mergeFactor: 3, tierBaseBytes: 1000 };
const KB = 1024;

describe("compaction policy", () => {
  it("full: the whole namespace once a threshold is crossed", () => {
    const s = { ...TIERED, policy: "full" as const };
    expect(chooseRun(manifest([segment(500), log(), log()]), s)).toBeUndefined();
    expect(chooseRun(manifest([segment(500), log(), log(), log()]), s)).toEqual({ start: 0, end: 4, kind: "full" });
  });

  it("tiered: the tail (after the last compacted segment) once it crosses a threshold, counted over the tail only", () => {
    const update = { ...segment(10), extra: { wal_id: "w" } } as ContainerRef; // a predicate UPDATE's segment is tail
    const m = manifest([segment(500), log(), update, log()]);
    expect(tailStart(m)).toBe(1);
    expect(chooseRun(m, TIERED)).toBeUndefined();
    expect(chooseRun(manifest([segment(500), log(), update, log(), log()]), TIERED)).toEqual({ start: 1, end: 5, kind: "tail" });
    expect(chooseRun(manifest([log(), log(), log()]), TIERED)).toEqual({ start: 0, end: 3, kind: "tail" });
  });

  it("tiered: merges mergeFactor adjacent segments of one tier, the newest window first, before the tail", () => {
    // Tiers (base 1000, factor 3): 0 below 1000 B, 1 up to 3000, 2 up to 9000.
    const big = segment(8 * KB);
    const mids = [segment(1500), segment(2000), segment(2900)];
    const smalls = [segment(300), segment(400)];
    expect(chooseRun(manifest([big, ...mids, ...smalls]), TIERED)).toEqual({ start: 1, end: 4, kind: "merge" });
    // Two small ones are not enough; a third makes the newest window due, ahead of a due tail.
    const third = segment(900);
    expect(chooseRun(manifest([big, ...smalls, third, log(), log(), log()]), TIERED)).toEqual({ start: 1, end: 4, kind: "merge" });
    // Mixed tiers never merge.
    expect(chooseRun(manifest([segment(500), segment(1500), segment(500)]), TIERED)).toBeUndefined();
  });

  it("tiered: a window over maxSegmentBytes or maxSegmentRows is never merged whole (bounded segments)", () => {
    const mids = [segment(1500), segment(2000), segment(2900)];
    // The top tier: the window's longest, then newest, run of at least 2 within the bounds is merged instead.
    expect(chooseRun(manifest(mids), { ...TIERED, maxSegmentBytes: 6000 })).toEqual({ start: 1, end: 3, kind: "merge" });
    expect(chooseRun(manifest(mids), { ...TIERED, maxSegmentBytes: 4000 })).toEqual({ start: 0, end: 2, kind: "merge" });
    expect(chooseRun(manifest(mids), { ...TIERED, maxSegmentBytes: 3400 })).toBeUndefined();
    expect(chooseRun(manifest(mids), { ...TIERED, maxSegmentRows: 29 })).toEqual({ start: 1, end: 3, kind: "merge" });
    expect(chooseRun(manifest(mids), { ...TIERED, maxSegmentRows: 19 })).toBeUndefined();
    expect(chooseRun(manifest(mids), { ...TIERED, maxSegmentBytes: 6400, maxSegmentRows: 30 })).toEqual({ start: 0, end: 3, kind: "merge" });
  });

  it("tiered: a whole window that fits goes before a top-tier partial run, and two same-tier segments alone never merge", () => {
    const s = { ...TIERED, maxSegmentBytes: 6000 };
    // An older full window within the bounds beats the newest window's partial run.
    const fits = [segment(1100), segment(1200), segment(1300)];
    const over = [segment(2500), segment(2600), segment(2700)];
    expect(chooseRun(manifest([...fits, ...over]), s)).toEqual({ start: 1, end: 4, kind: "merge" });
    // Below mergeFactor segments of one tier nothing is due, even when two would fit.
    expect(chooseRun(manifest([segment(1500), segment(2000)]), s)).toBeUndefined();
  });

  it("tiered: segments of the size a 10M x 128 ingest folds end near the bound, not at the tier below it", () => {
    const MiB = 1024 * 1024;
    const s = { ...DEFAULT_COMPACTION_SETTINGS, policy: "tiered" as const };
    // Tail folds of ~136 MiB, merged by the policy until nothing is due.
    let containers: ContainerRef[] = [];
    for (let i = 0; i < 46; i++) {
      containers.push({ ...segment(136 * MiB), rowCount: 210_000 });
      for (;;) {
        const run = chooseRun(manifest(containers), s);
        if (run === undefined) break;
        const merged = containers.slice(run.start, run.end);
        const out = { ...segment(merged.reduce((n, c) => n + c.byteSize, 0)), rowCount: merged.reduce((n, c) => n + c.rowCount, 0) };
        containers = [...containers.slice(0, run.start), out, ...containers.slice(run.end)];
      }
    }
    expect(containers.every((c) => c.byteSize <= s.maxSegmentBytes)).toBe(true);
    expect(containers.length).toBeLessThanOrEqual(16);
  });

  it("tiered: more delete markers than maxDeleteMarkers make the next compaction a full fold", () => {
    const m = manifest([segment(500), segment(600, { deleted_ids: ["a", "b", "c"] }), log()]);
    expect(chooseRun(m, TIERED)).toBeUndefined();
    expect(chooseRun(m, { ...TIERED, maxDeleteMarkers: 2 })).toEqual({ start: 0, end: 3, kind: "full" });
  });
});
