/**
 * MaintenanceActor: the compactor (`compact`: tiered runs of the engines' policy, sometimes forced), the recovery
 * sweeper (`recover`), WAL GC (`collectWalGarbage` with a short grace) over
 * every namespace; manifest GC (`collectGarbage` with the engines' short
 * retention) over every namespace and fork; repair with sweep
 * (`repair(sim, p, {sweep, graceMs})`) of the whole project. They change no
 * document, so the auditor's reads before and after must agree; their
 * errors must be the expected kinds.
 */
import { Actor, track } from "./actor.ts";
import type { SimRandom } from "./sim-random.ts";
import { KV, NAMESPACES, ORG, PROJECT, type SimWorld } from "./sim-world.ts";

export type MaintenanceKind = "compact" | "recover" | "gc" | "manifest-gc" | "repair";

/** Grace period of the simulation's WAL GC: shorter than a run, longer than any write's sidecar-to-INTENT gap. */
export const SIM_GC_GRACE_MS = 2_000;

/**
 * Grace of repair's sweep: longer than any in-flight window of a live process in a run (a batch written
 * before its manifest, a compaction output before its swap, a branch's copies before its manifest;
 * each at most a few hundred ms of simulated time here), shorter than a run.
 */
export const SIM_SWEEP_GRACE_MS = 3_000;

export class MaintenanceActor extends Actor {
  readonly weight: number;
  readonly kind: MaintenanceKind;

  constructor(name: string, processName: string, random: SimRandom, kind: MaintenanceKind) {
    super(name, processName, random);
    this.kind = kind;
    this.weight = kind === "compact" ? 2 : 1;
  }

  async run(world: SimWorld): Promise<void> {
    const r = this.random;
    const engine = world.process(this.processName).engine;
    if (this.kind === "repair") {
      const sweep = r.chance(0.7);
      await track(world, this, `repair ${ORG}/${PROJECT}${sweep ? " sweep" : ""}`, KV, () => engine.repair(ORG, PROJECT, { sweep, graceMs: SIM_SWEEP_GRACE_MS }), () => undefined);
      return;
    }
    if (this.kind === "manifest-gc") {
      const forks = [...world.forks.values()].filter((f) => f.status === "live").map((f) => f.path);
      const path = r.pick([...NAMESPACES, ...forks]);
      await track(world, this, `collectGarbage ${path}`, path, () => engine.collectGarbage(path), () => undefined);
      return;
    }
    const path = r.pick(NAMESPACES);
    if (this.kind === "compact") {
      const force = r.chance(0.15);
      const { value } = await track(world, this, `compact ${path}${force ? " force" : ""}`, path, () => engine.compact(path, { force }), () => undefined);
      if (value?.performed === true) world.log(`${this.name} compacted ${path}: ${value.runKind ?? "?"} of ${value.inputContainers} into ${value.outputSegments ?? 1}, ${value.deleteMarkers ?? 0} markers`);
    } else if (this.kind === "recover") {
      await track(world, this, `recover ${path}`, path, () => engine.recover(path), (v) => v.version);
    } else {
      await track(world, this, `collectWalGarbage ${path}`, path, () => engine.collectWalGarbage(path, { graceMs: SIM_GC_GRACE_MS }), () => undefined);
    }
  }
}
