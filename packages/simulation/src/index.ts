/**
 * @skerry/simulation: a deterministic, seeded simulation of the whole stack
 * (storage faults, crashes, many actors) with an invariant-checking auditor.
 * Private; run it with `pnpm sim`.
 */
export { fixedSeeds, KNOWN_BUG_EXCLUSIONS, KNOWN_BUG_FENCES } from "./ci-seeds.ts";
export type { KnownBugFence } from "./sim-process.ts";
export { OwnedDocs, type ModelOp, type Row, type World } from "./owned-docs.ts";
export { SimRandom } from "./sim-random.ts";
export { SimScheduler } from "./sim-scheduler.ts";
export {
  runSimulation,
  type ActorFamily,
  type ProviderKind,
  type SimulationOptions,
  type SimulationResult,
} from "./simulation.ts";
export { minimalTrace } from "./trace.ts";
