/**
 * ManifestReads: the manifest a read uses, and the rule that a corruption a
 * read finds is confirmed before it is reported.
 *
 * `read(path, {consistency, atVersion})`: the latest manifest (strong: one
 * LIST; eventual: the cached one if read at most `readStalenessMs` ago), or
 * the retained version `atVersion`. NamespaceNotFound for a namespace never
 * created or deleted (at that version too), VersionNotFound for a version
 * above the latest, InvalidArgument for bad options.
 *
 * `confirmCorrupt(path, run)`: a `CorruptError` that `run` raises (an object
 * its manifest references is missing or wrong) is confirmed before it reaches
 * the caller: a namespace deleted meanwhile (its deletion purges the objects
 * the operation's manifest referenced) is `NamespaceNotFound`, not
 * corruption. A namespace still live keeps the error: its manifests never
 * reference an object before it is durable, and only its deletion or the
 * retention of versions it no longer references removes one.
 * (`ManifestRollbackError` passes unchanged.)
 */
import type { Manifest } from "@skerry/wal-format";
import { formatNamespacePath, InvalidArgumentError, isCorrupt, NamespaceNotFoundError, type NamespacePath, VersionNotFoundError } from "../core/index.ts";
import type { ReadOptions } from "../namespace/index.ts";
import { isManifestRollback } from "./manifest-rollback-error.ts";
import type { ManifestStore } from "./manifest-store.ts";

export class ManifestReads {
  constructor(
    readonly manifests: ManifestStore,
    readonly readStalenessMs: number,
  ) {}

  async read(p: NamespacePath, options: ReadOptions): Promise<Manifest> {
    const name = formatNamespacePath(p);
    const consistency = options.consistency ?? "strong";
    if (consistency !== "strong" && consistency !== "eventual") {
      throw new InvalidArgumentError(`consistency must be "strong" or "eventual"; got ${JSON.stringify(consistency)}`);
    }
    let latest = consistency === "strong" ? await this.manifests.readLatest(p) : await this.manifests.latest(p, this.readStalenessMs);
    if (latest === undefined || latest.deletedAt !== undefined) throw new NamespaceNotFoundError(name);
    const at = options.atVersion;
    if (at === undefined || at === latest.version) return latest;
    if (!Number.isSafeInteger(at) || at < 1) throw new InvalidArgumentError(`atVersion must be a positive integer; got ${String(at)}`);
    if (at > latest.version && consistency === "eventual") {
      latest = await this.manifests.readLatest(p);
      if (latest === undefined || latest.deletedAt !== undefined) throw new NamespaceNotFoundError(name);
      if (at === latest.version) return latest;
    }
    if (at > latest.version) throw new VersionNotFoundError(name, at);
    const manifest = await this.manifests.readVersion(p, at);
    if (manifest.deletedAt !== undefined) throw new NamespaceNotFoundError(name);
    return manifest;
  }

  async confirmCorrupt<T>(p: NamespacePath, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (!isCorrupt(error) || isManifestRollback(error)) throw error;
      let latest: Manifest | undefined;
      try {
        latest = await this.manifests.readLatest(p);
      } catch {
        throw error; // cannot confirm: report what was found
      }
      if (latest === undefined || latest.deletedAt !== undefined) throw new NamespaceNotFoundError(formatNamespacePath(p));
      throw error;
    }
  }
}
