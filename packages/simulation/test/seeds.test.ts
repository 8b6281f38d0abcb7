/**
 * A few short seeded runs per provider must find no invariant violation
 * (the full CI set runs through `pnpm sim` in .ci/run).
 */
import { describe, expect, it } from "vitest";
import { KNOWN_BUG_FENCES, minimalTrace, runSimulation } from "../src/index.ts";

describe("short seeded runs", () => {
  for (const provider of ["memory", "local-fs"] as const) {
    for (const seed of [101, 102, 103]) {
      it(`should keep every invariant for seed ${seed} (${provider})`, async () => {
        const r = await runSimulation({ seed, provider, steps: 200, fences: KNOWN_BUG_FENCES.map((k) => k.fence) });
        const detail = r.ok ? "" : `${r.violations.map((v) => v.message).join("\n")}\n${minimalTrace(r).join("\n")}`;
        expect(r.ok, detail).toBe(true);
        expect(r.faults.calls).toBeGreaterThan(0);
      });
    }
  }
});
