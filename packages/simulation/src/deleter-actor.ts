/**
 * DeleterActor: a predicate mutator over its own documents (`t_<i>`): it
 * upserts documents into groups (`g` attribute) and deletes whole groups
 * with deleteByFilter, whose unknown outcomes recovery finishes later
 * (modelled as pending tombstones of exact row versions, owned-docs.ts).
 */
import { Actor, track } from "./actor.ts";
import { OwnedDocs, type ModelOp } from "./owned-docs.ts";
import type { SimRandom } from "./sim-random.ts";
import type { SimWorld } from "./sim-world.ts";

const POOL = 6;
const GROUPS = ["g0", "g1", "g2"] as const;

export class DeleterActor extends Actor {
  readonly weight = 3;
  readonly path: string;
  readonly prefix: string;
  readonly docs: OwnedDocs;

  constructor(name: string, processName: string, random: SimRandom, world: SimWorld, path: string, prefix: string) {
    super(name, processName, random);
    this.path = path;
    this.prefix = prefix;
    this.docs = new OwnedDocs(name);
    world.models.set(prefix, { path, prefix, docs: this.docs });
  }

  async run(world: SimWorld): Promise<void> {
    const r = this.random;
    const engine = world.process(this.processName).engine;
    const op = this.nextOpId();
    const group = r.pick(GROUPS);
    if (r.chance(0.6)) {
      const ids = r.subset(
        Array.from({ length: POOL }, (_, i) => `${this.prefix}${i}`),
        3,
      );
      const model: ModelOp = { kind: "upsert", op, docs: ids.map((id) => ({ id, row: { w: op, p: null, g: group } })) };
      await track(
        world,
        this,
        `upsert ${ids.join(",")} g=${group}`,
        this.path,
        () => engine.upsert(this.path, ids.map((id) => ({ id, attributes: { w: op, g: group } }))),
        (v) => v.version,
        { docs: this.docs, op: model },
      );
      return;
    }
    await track(
      world,
      this,
      `deleteByFilter g=${group}`,
      this.path,
      () => engine.deleteByFilter(this.path, ["g", "Eq", group]),
      (v) => v.version,
      { docs: this.docs, op: { kind: "deleteByFilter", op, group } },
    );
  }
}
