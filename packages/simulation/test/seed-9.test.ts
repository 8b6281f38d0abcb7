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
 * Fenced in the CI set (`manifest-readback`) until fixed in
 * namespace-engine (manifest-store.ts, ManifestStore.create / #sameBytes);
 * this test runs the seed without the fence and passes once it is fixed.
 */
import { describe, expect, it } from "vitest";
import { KNOWN_BUG_FENCES, minimalTrace, runSimulation } from "../src/index.ts";

const open = KNOWN_BUG_FENCES.some((k) => k.fence === "manifest-readback") && process.env.SKERRY_SIM_KNOWN_BUGS !== "1";

describe("seed 9 (SIM-1)", () => {
  it.skipIf(open)("should report a landed manifest commit as committed when its read-back fails", async () => {
    const r = await runSimulation({ seed: 9, provider: "memory", steps: 500 });
    expect(r.ok, `${r.violations.map((v) => v.message).join("\n")}\n${minimalTrace(r).join("\n")}`).toBe(true);
  });

  it("should reproduce the bug step for step while it is open", async () => {
    if (!open) return;
    const r = await runSimulation({ seed: 9, provider: "memory", steps: 145 });
    expect(r.ok).toBe(false);
    expect(r.violations[0]?.message).toMatch(/duplicate container id/);
  });
});
