/**
 * WriterActor: upsert, patch and delete by id over its own documents
 * (`k<n>_<i>`), some conditional (`ifVersion` on the version it just read),
 * some with an idempotency key; a write with an unknown outcome is retried
 * with the same key (up to 3 times), as a client that lost the answer would.
 */
import type { WriteResult } from "@skerry/namespace-engine";
import { Actor, track } from "./actor.ts";
import { OwnedDocs, type ModelOp } from "./owned-docs.ts";
import type { SimRandom } from "./sim-random.ts";
import type { SimWorld } from "./sim-world.ts";

const POOL = 6;

interface Retry {
  readonly op: ModelOp;
  readonly key: string;
  readonly what: string;
  left: number;
}

export class WriterActor extends Actor {
  readonly weight = 5;
  readonly path: string;
  readonly prefix: string;
  readonly docs: OwnedDocs;
  #retry: Retry | undefined;

  constructor(name: string, processName: string, random: SimRandom, world: SimWorld, path: string, prefix: string) {
    super(name, processName, random);
    this.path = path;
    this.prefix = prefix;
    this.docs = new OwnedDocs(name);
    world.models.set(prefix, { path, prefix, docs: this.docs });
  }

  #ids(max: number): string[] {
    const all = Array.from({ length: POOL }, (_, i) => `${this.prefix}${i}`);
    return this.random.subset(all, max);
  }

  async run(world: SimWorld): Promise<void> {
    const r = this.random;
    const engine = () => world.process(this.processName).engine;
    if (this.#retry !== undefined) {
      const retry = this.#retry;
      const result = await this.#write(world, retry.op, `${retry.what} (retry, key ${retry.key})`, retry.key, undefined);
      retry.left--;
      if (result.kind !== "unknown" || retry.left === 0) {
        this.#retry = undefined;
        this.docs.dropTag(retry.key);
      }
      return;
    }
    const op = this.nextOpId();
    const roll = r.float();
    let model: ModelOp;
    let what: string;
    if (roll < 0.45) {
      const ids = this.#ids(3);
      model = { kind: "upsert", op, docs: ids.map((id) => ({ id, row: { w: op, p: null, g: null } })) };
      what = `upsert ${ids.join(",")}`;
    } else if (roll < 0.75) {
      const ids = this.#ids(2);
      model = { kind: "patch", op, ids };
      what = `patch ${ids.join(",")}`;
    } else {
      const ids = this.#ids(2);
      model = { kind: "delete", op, ids };
      what = `delete ${ids.join(",")}`;
    }
    let ifVersion: number | undefined;
    if (r.chance(0.15)) {
      // A conditional write on the version just read: a read-modify-write client.
      try {
        ifVersion = (await engine().manifest(this.path)).version;
      } catch {
        ifVersion = undefined;
      }
    }
    const key = r.chance(0.4) ? `${op}.key` : undefined;
    if (key !== undefined) model = { ...model, key } as ModelOp;
    const label = `${what}${ifVersion === undefined ? "" : ` ifVersion=${ifVersion}`}${key === undefined ? "" : ` key=${key}`}`;
    const result = await this.#write(world, model, label, key, ifVersion);
    if (key !== undefined) {
      if (result.kind === "unknown") this.#retry = { op: model, key, what, left: 3 };
      else this.docs.dropTag(key);
    }
  }

  async #write(world: SimWorld, model: ModelOp, what: string, key: string | undefined, ifVersion: number | undefined) {
    const engine = world.process(this.processName).engine;
    const options = { ...(key === undefined ? {} : { idempotencyKey: key }), ...(ifVersion === undefined ? {} : { ifVersion }) };
    let call: () => Promise<WriteResult>;
    if (model.kind === "upsert") {
      call = () => engine.upsert(this.path, model.docs.map((d) => ({ id: d.id, attributes: { w: d.row.w } })), options);
    } else if (model.kind === "patch") {
      call = () => engine.patch(this.path, model.ids.map((id) => ({ id, attributes: { p: model.op } })), options);
    } else if (model.kind === "delete") {
      call = () => engine.delete(this.path, model.ids, options);
    } else {
      throw new Error(`writer cannot run ${model.kind}`);
    }
    const tracked = await track(world, this, what, this.path, call, (v) => v.version, {
      docs: this.docs,
      op: model,
      deduplicated: (v) => v.deduplicated,
    });
    return tracked.status;
  }
}
