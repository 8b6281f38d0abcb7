/**
 * MoverActor: the bank's patchByFilter client. Each move hands every coin
 * of one holder to another (`holder Eq hA` -> `holder: hB`); coins are never
 * written otherwise, so every strong read of the bank must show each coin
 * exactly once with its value: the sum is conserved however moves race,
 * crash, get masked or are finished by recovery.
 */
import { Actor, track } from "./actor.ts";
import { BANK, HOLDERS, type SimWorld } from "./sim-world.ts";

export class MoverActor extends Actor {
  readonly weight = 3;

  async run(world: SimWorld): Promise<void> {
    const r = this.random;
    const engine = world.process(this.processName).engine;
    const from = r.pick(HOLDERS);
    const to = r.pick(HOLDERS.filter((h) => h !== from));
    await track(
      world,
      this,
      `patchByFilter holder=${from} -> ${to}`,
      BANK,
      () => engine.patchByFilter(BANK, ["holder", "Eq", from], { attributes: { holder: to } }),
      (v) => v.version,
    );
  }
}
