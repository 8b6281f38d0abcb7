/**
 * LifecycleActor: creates, writes, reads and deletes the `eph` namespace
 * over and over. Its documents (`e_<i>`) are modelled like a writer's, with
 * namespace delete and create as "clear" operations (a new incarnation
 * starts empty: deleted documents never return). After an acknowledged
 * delete every read must fail with NamespaceNotFound.
 */
import { isNamespaceNotFound } from "@skerry/namespace-engine";
import { Actor, track } from "./actor.ts";
import { classify, errorText } from "./observation.ts";
import { OwnedDocs, type ModelOp } from "./owned-docs.ts";
import { checkStrongRead, releaseWindows, startWindows } from "./read-checks.ts";
import type { SimRandom } from "./sim-random.ts";
import { EPH, type SimWorld } from "./sim-world.ts";

const POOL = 5;
const PREFIX = "e_";

export class LifecycleActor extends Actor {
  readonly weight = 2;
  readonly docs: OwnedDocs;
  /** What the actor knows: live, deleted, or unknown after a lost answer. */
  live: boolean | "unknown" = false;

  constructor(name: string, processName: string, random: SimRandom, world: SimWorld) {
    super(name, processName, random);
    this.docs = new OwnedDocs(name);
    world.models.set(PREFIX, { path: EPH, prefix: PREFIX, docs: this.docs });
  }

  async run(world: SimWorld): Promise<void> {
    const r = this.random;
    const proc = world.process(this.processName);
    const engine = proc.engine;
    if (this.live === "unknown" || (this.live === false && r.chance(0.3))) {
      await this.#read(world);
      return;
    }
    if (this.live === false) {
      const t = await track(world, this, `createNamespace ${EPH}`, EPH, () => engine.createNamespace(EPH), (v) => v.version, {
        docs: this.docs,
        op: { kind: "clear", op: this.nextOpId() },
      });
      if (t.status.kind === "acked") this.live = true;
      else if (t.status.kind === "unknown") this.live = "unknown";
      else if (t.error !== undefined && classify(t.error) === "definite") this.live = true; // NamespaceExists: an earlier create landed
      return;
    }
    const roll = r.float();
    if (roll < 0.12) {
      const t = await track(world, this, `deleteNamespace ${EPH}`, EPH, () => engine.deleteNamespace(EPH), (v) => v.version, {
        docs: this.docs,
        op: { kind: "clear", op: this.nextOpId() },
      });
      this.live = t.status.kind === "acked" ? false : t.status.kind === "unknown" ? "unknown" : this.live;
      return;
    }
    if (roll < 0.4) {
      await this.#read(world);
      return;
    }
    const op = this.nextOpId();
    const ids = r.subset(
      Array.from({ length: POOL }, (_, i) => `${PREFIX}${i}`),
      3,
    );
    const model: ModelOp =
      roll < 0.8
        ? { kind: "upsert", op, docs: ids.map((id) => ({ id, row: { w: op, p: null, g: null } })) }
        : { kind: "delete", op, ids };
    const t = await track(
      world,
      this,
      `${model.kind} ${ids.join(",")}`,
      EPH,
      () => (model.kind === "upsert" ? engine.upsert(EPH, ids.map((id) => ({ id, attributes: { w: op } }))) : engine.delete(EPH, ids)),
      (v) => v.version,
      { docs: this.docs, op: model },
    );
    if (t.error !== undefined && isNamespaceNotFound(t.error)) {
      world.violate("a live namespace stays writable", `${this.name} ${model.kind} on ${EPH} failed NamespaceNotFound after it was created`);
    }
  }

  async #read(world: SimWorld): Promise<void> {
    const proc = world.process(this.processName);
    const windows = startWindows(world, EPH);
    const ackedAtStart = world.ackedHigh.get(EPH) ?? 0;
    world.log(`${this.name}@${proc.name}#${proc.incarnation} read strong ${EPH}`);
    try {
      const { documents, version } = await proc.engine.scan(EPH, { limit: 10_000 });
      world.log(`${this.name} read ${EPH} -> ok v${version} (${documents.length} docs)`);
      if (this.live === false) world.violate("a deleted namespace is not readable", `${this.name} read ${EPH} at v${version} after deleting it`);
      this.live = true;
      checkStrongRead(world, this.name, EPH, windows, ackedAtStart, version, documents);
    } catch (error) {
      releaseWindows(world, windows);
      world.log(`${this.name} read ${EPH} -> error ${errorText(error).slice(0, 160)}`);
      if (isNamespaceNotFound(error)) {
        if (this.live === true) world.violate("a live namespace stays readable", `${this.name} read of ${EPH} failed NamespaceNotFound`);
        // Not live: every document of it is gone for good.
        if (this.live === "unknown") {
          this.live = false;
          this.docs.begin({ kind: "clear", op: this.nextOpId() }).status = { kind: "acked", version: 0 };
        }
      } else if (classify(error) === "unexpected") {
        world.violate("no unexpected errors", `${this.name} read ${EPH}: ${errorText(error)}`);
      }
    }
  }
}
