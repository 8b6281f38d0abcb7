/**
 * Regression for SIM-3, found by seed 1075 (memory, 1001 steps): repair with
 * sweep (x0, process P5, t=4009..7924) read sim/p/bank's manifests (v1..v9)
 * while a compaction's output segment c9b0194c, written at t=702 by a
 * process that crashed before the swap, was still an unsettled intent.
 * Recovery then finished that intent (v10 referenced the segment; intent
 * COMMITTED). At the sweep, repair asked for the segments recovery may still
 * commit, got none (the intent was settled), saw the segment older than the
 * 3 s grace and unreferenced by the manifests it had read, and deleted it:
 * v10..v13 referenced a missing object. Fixed in namespace-engine
 * (project-repair.ts: the pending segments are read before each namespace's
 * manifests); the same interleaving without the simulator is
 * packages/namespace-engine/test/repair-sweep-race.test.ts.
 */
import { describe, expect, it } from "vitest";
import { minimalTrace, runSimulation, type SimulationResult } from "../src/index.ts";

function explain(r: SimulationResult): string {
  return `${r.violations.map((v) => v.message).join("\n")}\n${minimalTrace(r).join("\n")}`;
}

describe("seed 1075 (SIM-3)", () => {
  it("seed 1075 on memory, 1001 steps: no manifest references a swept object", async () => {
    const r = await runSimulation({ seed: 1075, provider: "memory", steps: 1001 });
    expect(r.violations, explain(r)).toEqual([]);
    expect(r.ok, explain(r)).toBe(true);
  });
});
