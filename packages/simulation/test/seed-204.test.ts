/**
 * Regression found by seed 204 (memory, 2001 steps) once compactions could
 * overlap (tiered runs): a compaction whose seal of one input failed (held
 * by another compaction) released its seals and settled ABANDONED while
 * seals of its other inputs were still in flight; those landed after the
 * release and stayed, held by an ABANDONED intent that nobody would ever
 * release, and a deleteByFilter targeting those containers never completed
 * (SegmentSealed after 40 re-locate rounds, a WAL left INTENT). Fixed in
 * namespace-engine (compactor.ts: `bounded` settles every started seal
 * before failing; an abandon releases seals before settling the intent);
 * without the simulator: packages/namespace-engine/test/tiered-compaction.test.ts
 * ("a compaction that loses a seal mid-run ...").
 */
import { describe, expect, it } from "vitest";
import { minimalTrace, runSimulation, type SimulationResult } from "../src/index.ts";

function explain(r: SimulationResult): string {
  return `${r.violations.map((v) => v.message).join("\n")}\n${minimalTrace(r).join("\n")}`;
}

describe("seed 204 (leaked seals of an abandoned compaction)", () => {
  it("seed 204 on memory, 2001 steps: every mutation WAL completes, no seal outlives its compaction", async () => {
    const r = await runSimulation({ seed: 204, provider: "memory", steps: 2001 });
    expect(r.violations, explain(r)).toEqual([]);
    expect(r.ok, explain(r)).toBe(true);
  });
});
