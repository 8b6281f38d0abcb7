/**
 * MaintenanceActor: the compactor (`compact`, mostly forced), the recovery
 * sweeper (`recover`) and WAL GC (`collectWalGarbage` with a short grace)
 * over every namespace. They change no document, so the auditor's reads
 * before and after must agree; their errors must be the expected kinds.
 */
import { Actor, track } from "./actor.ts";
import type { SimRandom } from "./sim-random.ts";
import { NAMESPACES, type SimWorld } from "./sim-world.ts";

export type MaintenanceKind = "compact" | "recover" | "gc";

/** Grace period of the simulation's WAL GC: shorter than a run, longer than any write's sidecar-to-INTENT gap. */
export const SIM_GC_GRACE_MS = 2_000;

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
    const path = r.pick(NAMESPACES);
    if (this.kind === "compact") {
      const force = r.chance(0.8);
      await track(world, this, `compact ${path}${force ? " force" : ""}`, path, () => engine.compact(path, { force }), () => undefined);
    } else if (this.kind === "recover") {
      await track(world, this, `recover ${path}`, path, () => engine.recover(path), (v) => v.version);
    } else {
      await track(world, this, `collectWalGarbage ${path}`, path, () => engine.collectWalGarbage(path, { graceMs: SIM_GC_GRACE_MS }), () => undefined);
    }
  }
}
