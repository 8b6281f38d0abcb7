/**
 * Regression for SIM-1, found by seed 9 (memory, 145 steps): a manifest
 * create whose answer was lost (put landed, `failed-after`), then
 * AlreadyExists on the retry, then a failed read-back, was taken for
 * another writer's version; the rebase appended the same batch container
 * again and the write failed with a Schema error (duplicate container id)
 * although it had committed. Minimal trace (process P2, kv manifests):
 *   put create v19 -> failed-after Unavailable; get v19 -> failed-after;
 *   put create v19 -> AlreadyExists; get v19 -> failed-before
 *   => "exists" => rebase onto v19 (which holds our batch) => Schema error.
 * Fixed in namespace-engine (manifest-store.ts: a failed read-back is an
 * unknown outcome, read again with the bounded policy, never "exists");
 * the same call sequence without the simulator is
 * packages/namespace-engine/test/sim-regressions.test.ts.
 */
import { describe, expect, it } from "vitest";
import { minimalTrace, runSimulation, type SimulationResult } from "../src/index.ts";

function explain(r: SimulationResult): string {
  return `${r.violations.map((v) => v.message).join("\n")}\n${minimalTrace(r).join("\n")}`;
}

describe("seed 9 (SIM-1)", () => {
  it("seed 9 as found (zero backoffs, the actors of then): the landed manifest commit is reported committed", async () => {
    const r = await runSimulation({ seed: 9, provider: "memory", steps: 500, asFound: true });
    expect(r.ok, explain(r)).toBe(true);
    // The run still goes through the step where the bug fired.
    expect(r.trace.some((l) => l.startsWith("#145 "))).toBe(true);
  });

  it("seed 9 with today's harness (simulated backoffs, forks, repair) on both providers", async () => {
    for (const provider of ["memory", "local-fs"] as const) {
      const r = await runSimulation({ seed: 9, provider, steps: 500 });
      expect(r.ok, `${provider}: ${explain(r)}`).toBe(true);
    }
  });
});
