/**
 * ManifestRollbackError: the namespace's newest manifests are gone.
 *
 * A version this engine knows existed (it read, listed or committed it, or
 * the namespace's registry marker records it as a high water) is above the
 * newest manifest the store lists: someone deleted the newest manifest(s)
 * behind the engines' backs, and the writes they committed are lost. A
 * commit now would reuse a lost version number and silently roll the
 * namespace back, so every read and write of the namespace that looks up
 * its latest version fails with this error until `repair(org, project,
 * {acceptLostVersions: true})` records the decision (docs/namespace-engine.md,
 * "Lost manifest versions").
 *
 * It is a `CorruptError` (code `Corrupt`, `isCorrupt` is true) naming the
 * key of the newest missing manifest; `isManifestRollback` tells it apart.
 */
import { CorruptError, isCorrupt } from "../core/index.ts";

export class ManifestRollbackError extends CorruptError {
  /** Brand tested by `isManifestRollback` (works across copies of this package). */
  readonly manifestRollback = true as const;

  constructor(
    /** `org/project/namespace`. */
    readonly namespace: string,
    /** Newest version the store lists (0: none). */
    readonly latestVersion: number,
    /** Newest version known to have existed. */
    readonly lostThroughVersion: number,
    key: string,
  ) {
    super(
      `namespace ${namespace}: manifest version ${lostThroughVersion} existed but the newest stored version is ${latestVersion} ` +
        `(${key} and the versions between were deleted): writes are refused until repair accepts the loss (acceptLostVersions)`,
      key,
    );
  }
}

/** True for a `ManifestRollbackError` (from any copy of this package). */
export function isManifestRollback(value: unknown): value is ManifestRollbackError {
  return isCorrupt(value) && (value as { manifestRollback?: unknown }).manifestRollback === true;
}
