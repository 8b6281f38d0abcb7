/**
 * ReaderActor: reads through a faulty process: strong scans of the kv
 * namespace (checked against the owners' models), strong reads of the bank
 * (the bank invariant), eventual reads (this process's own acknowledged
 * writes visible; same answer as any other read of that version) and
 * `atVersion` reads of a version read before (same answer again, or
 * VersionNotFound once retention expired it).
 */
import { isVersionNotFound } from "@skerry/namespace-engine";
import { Actor } from "./actor.ts";
import { checkExpired } from "./fork-actor.ts";
import { classify, errorText } from "./observation.ts";
import type { ReadWindow } from "./owned-docs.ts";
import { checkBank, checkSnapshot, checkStrongRead, releaseWindows, startWindows } from "./read-checks.ts";
import { BANK, KV, type SimWorld } from "./sim-world.ts";

export class ReaderActor extends Actor {
  readonly weight = 3;

  async run(world: SimWorld): Promise<void> {
    const r = this.random;
    const proc = world.process(this.processName);
    const engine = proc.engine;
    const roll = r.float();
    const kind = roll < 0.45 ? "strong" : roll < 0.6 ? "bank" : roll < 0.8 ? "eventual" : "atVersion";
    let atVersion: number | undefined;
    if (kind === "atVersion") {
      const versions = [...(world.snapshots.get(KV)?.keys() ?? [])];
      if (versions.length === 0) return;
      atVersion = r.pick(versions);
    }
    const path = kind === "bank" ? BANK : KV;
    const windows = kind === "strong" ? startWindows(world, path) : new Map<string, ReadWindow>();
    const ackedAtStart = world.ackedHigh.get(path) ?? 0;
    const ownAtStart = world.processAckedHigh.get(`${proc.name}#${proc.incarnation}:${path}`) ?? 0;
    const what = `read ${kind}${atVersion === undefined ? "" : ` v${atVersion}`} ${path}`;
    world.log(`${this.name}@${proc.name}#${proc.incarnation} ${what}`);
    try {
      const options =
        kind === "eventual"
          ? { consistency: "eventual" as const, limit: 10_000 }
          : atVersion !== undefined
            ? { atVersion, limit: 10_000 }
            : { limit: 10_000 };
      const { documents, version } = await engine.scan(path, options);
      world.log(`${this.name} ${what} -> ok v${version} (${documents.length} docs)`);
      if (kind === "strong") checkStrongRead(world, this.name, path, windows, ackedAtStart, version, documents);
      else if (kind === "bank") checkBank(world, this.name, version, documents);
      else {
        if (atVersion !== undefined && version !== atVersion) world.violate("atVersion reads that version", `${this.name} asked v${atVersion}, got v${version}`);
        if (kind === "eventual" && version < ownAtStart) {
          world.violate("a process sees its own acknowledged writes", `${this.name} eventual read of ${path} at v${version} after its process acknowledged v${ownAtStart}`);
        }
        checkSnapshot(world, this.name, path, version, documents);
      }
    } catch (error) {
      releaseWindows(world, windows);
      world.log(`${this.name} ${what} -> error ${errorText(error).slice(0, 160)}`);
      // Retention expires old versions: VersionNotFound is right for an expired version only.
      if (atVersion !== undefined && isVersionNotFound(error)) await checkExpired(world, this.name, path, atVersion);
      else if (classify(error) === "unexpected") world.violate("no unexpected errors", `${this.name} ${what}: ${errorText(error)}`);
    }
  }
}
