/**
 * Replay: a run is a function of its seed. Two runs of one seed produce the
 * same trace, step for step (operations, arguments, outcomes, versions,
 * crashes), on both providers; different seeds produce different runs.
 */
import { describe, expect, it } from "vitest";
import { runSimulation } from "../src/index.ts";

describe("replay", () => {
  for (const provider of ["memory", "local-fs"] as const) {
    it(`should produce identical traces for two runs of one seed (${provider})`, async () => {
      const a = await runSimulation({ seed: 9, provider, steps: 150 });
      const b = await runSimulation({ seed: 9, provider, steps: 150 });
      expect(a.trace.length).toBeGreaterThan(150);
      expect(b.trace).toEqual(a.trace);
      expect(b.faults).toEqual(a.faults);
      expect(b.crashes).toBe(a.crashes);
    });
  }

  it("should produce different runs for different seeds", async () => {
    const a = await runSimulation({ seed: 1, provider: "memory", steps: 80 });
    const b = await runSimulation({ seed: 2, provider: "memory", steps: 80 });
    expect(b.trace).not.toEqual(a.trace);
  });
});
