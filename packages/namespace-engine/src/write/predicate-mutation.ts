/**
 * deleteByFilter / patchByFilter: predicate mutations through the
 * wal-engine pipeline.
 *
 * 1. Snapshot: the latest manifest (strong read). `ifVersion` must equal its
 *    version (VersionConflict otherwise): the condition is on the snapshot
 *    the targets are resolved against.
 * 2. Resolve: every live document of the snapshot matching the filter
 *    (`matchesFilter`, the query module's filter semantics); its current
 *    RowId is a target. Nothing matched: no WAL, the snapshot's version.
 * 3. Run: DELETE tombstones the targets; UPDATE writes the patched documents
 *    as a segment (committed first: the new rows are visible at once), then
 *    tombstones the targets. Both are durable from the INTENT doc on; a
 *    crash is finished by recovery (`recover`, run on first open).
 *    Targets in a container a compaction has sealed are re-located until the
 *    compaction commits (pending compactions are finished when the
 *    wal-engine gives up, and the WAL resumed).
 * 4. Publish: commit the touched sidecars' etags into the manifest
 *    (refreshTombstones), so every reader refolds them.
 *
 * Conflicts with writes after the snapshot (docs/namespace-engine.md):
 * per document, a write (upsert, patch, delete, or another predicate
 * mutation) that committed after the snapshot wins: a DELETE tombstones only
 * the row it resolved, which a newer write has already superseded; an
 * UPDATE's row for a document whose current row is no longer its target is
 * masked at the segment's commit.
 */
import { isSegmentSealed, type MutationResult, type WalEngine } from "@skerry/wal-engine";
import type { RowId } from "@skerry/wal-format";
import { type DocumentPatch, type StoredDocument, textConfigOf } from "../namespace/index.ts";
import { type EngineContext, maskedPositions, refreshTombstones } from "../manifest/index.ts";
import { formatNamespacePath, InvalidArgumentError, NamespaceNotFoundError, type NamespacePath, toEngineError, VersionConflictError } from "../core/index.ts";
import { decodeLogEntry } from "../log/index.ts";
import { patched } from "../state/index.ts";
import { type Filter, matchesFilter } from "@skerry/query";
import { applyObservedTypes } from "./attribute-typing.ts";
import { encodePatch, type WriteLimits } from "./write-request.ts";

export interface PredicateMutationOptions {
  /** The snapshot the targets are resolved against must be this version. */
  readonly ifVersion?: number | undefined;
  /**
   * Most documents this mutation may target (a positive integer; at most, and by default, the engine's
   * `maxMutationTargets`). A filter matching more fails with InvalidArgument and changes nothing, unless
   * `allowPartial`.
   */
  readonly maxTargets?: number | undefined;
  /**
   * When the filter matches more than `maxTargets` documents: mutate the first `maxTargets` of them in id order
   * and report `remaining: true` (run the mutation again for the rest) instead of failing.
   */
  readonly allowPartial?: boolean | undefined;
}

export interface DeleteByFilterResult {
  /** Documents targeted: the ones the filter matched at the snapshot (with `allowPartial`, at most `maxTargets`). */
  readonly matched: number;
  /** Documents deleted. */
  readonly deleted: number;
  /** Ids of the documents deleted, in id order. */
  readonly deletedIds: readonly string[];
  /** Targeted documents left alone because a newer write won (or a concurrent delete did it). */
  readonly skipped: number;
  /** True when the filter matched more documents than were targeted (`allowPartial`): run it again for the rest. */
  readonly remaining: boolean;
  /** Manifest version at which the result is visible. */
  readonly version: number;
}

export interface PatchByFilterResult {
  readonly matched: number;
  /** Documents patched. */
  readonly patched: number;
  /** Ids of the documents patched, in id order. */
  readonly patchedIds: readonly string[];
  /** Targeted documents left alone because a newer write won. */
  readonly skipped: number;
  /** True when the filter matched more documents than were targeted (`allowPartial`): run it again for the rest. */
  readonly remaining: boolean;
  readonly version: number;
}

export interface MutationDependencies {
  readonly ctx: EngineContext;
  readonly wal: WalEngine;
  readonly limits: WriteLimits;
  readonly maxTargets: number;
  /** Finishes pending compactions of the namespace (when a target stays sealed). */
  readonly finishCompactions: () => Promise<unknown>;
}

interface Target {
  readonly rowId: RowId;
  readonly doc: StoredDocument;
}

async function resolve(
  deps: MutationDependencies,
  path: NamespacePath,
  filter: Filter,
  options: PredicateMutationOptions,
): Promise<{ version: number; dimension: number | undefined; targets: Target[]; remaining: boolean }> {
  const { ctx } = deps;
  const cap = targetCap(deps, options);
  const name = formatNamespacePath(path);
  const snapshot = await ctx.manifests.readLatest(path);
  if (snapshot === undefined || snapshot.deletedAt !== undefined) throw new NamespaceNotFoundError(name);
  if (options.ifVersion !== undefined && options.ifVersion !== snapshot.version) throw new VersionConflictError(name, options.ifVersion, snapshot.version);
  // Token filters tokenize under the namespace's current full-text options.
  const match = { textConfig: textConfigOf(snapshot.textFields) };
  // One past the cap is enough to know whether more match (a partial mutation stops there).
  const partial = options.allowPartial === true;
  const targets = await ctx.states.read(path, snapshot, (state) => {
    const out: Target[] = [];
    for (const { doc, rowId } of state.rowsInIdOrder()) {
      if (!matchesFilter(doc, filter, match)) continue;
      out.push({ rowId, doc });
      if (partial && out.length > cap) break;
    }
    return out;
  });
  const remaining = targets.length > cap;
  if (remaining && !partial) {
    throw new InvalidArgumentError(
      `the filter matches ${targets.length} documents; at most ${cap} per predicate mutation (narrow the filter, or allow a partial mutation)`,
    );
  }
  if (remaining) targets.length = cap;
  return { version: snapshot.version, dimension: snapshot.vector?.dimension, targets, remaining };
}

/** The most documents one mutation may target: the option, bounded by the engine's own limit. */
function targetCap(deps: MutationDependencies, options: PredicateMutationOptions): number {
  const { maxTargets } = options;
  if (maxTargets === undefined) return deps.maxTargets;
  if (!Number.isSafeInteger(maxTargets) || maxTargets < 1) throw new InvalidArgumentError(`maxTargets must be a positive integer; got ${String(maxTargets)}`);
  return Math.min(maxTargets, deps.maxTargets);
}

/**
 * Drives a started mutation to COMPLETE, finishing compactions that keep its targets sealed. Wal-engine failures
 * become engine errors (`toEngineError`: a lost or undecodable sidecar or state doc is `CorruptError`).
 */
async function drive(deps: MutationDependencies, run: () => Promise<MutationResult>, walIdOf: () => bigint | undefined): Promise<MutationResult> {
  try {
    return await driveRaw(deps, run, walIdOf);
  } catch (error) {
    throw toEngineError(error, "predicate mutation");
  }
}

async function driveRaw(deps: MutationDependencies, run: () => Promise<MutationResult>, walIdOf: () => bigint | undefined): Promise<MutationResult> {
  try {
    return await run();
  } catch (error) {
    const walId = walIdOf();
    if (!isSegmentSealed(error) || walId === undefined) throw error;
  }
  // The WAL is durable; its targets stayed sealed: finish the compactions holding them, then resume.
  for (let round = 1; ; round++) {
    await deps.finishCompactions();
    try {
      return await deps.wal.resume(walIdOf() as never);
    } catch (error) {
      if (!isSegmentSealed(error) || round >= 5) throw error;
    }
  }
}

/** The containers the finished mutation tombstoned rows in, and the targets it tombstoned (the rest were NOT_FOUND). */
async function outcome(wal: WalEngine, walId: bigint): Promise<{ touched: Set<string>; tombstoned: Set<RowId> }> {
  const { doc } = await wal.readWal(walId as never);
  const touched = new Set<string>();
  const tombstoned = new Set<RowId>();
  for (const entry of doc.tombstoneProgress) {
    if (entry.tombstonedInSuperfile !== undefined) touched.add(entry.tombstonedInSuperfile);
    if (entry.outcome === "TOMBSTONED") tombstoned.add(entry.targetId);
  }
  return { touched, tombstoned };
}

export async function deleteByFilter(
  deps: MutationDependencies,
  path: NamespacePath,
  filter: Filter,
  options: PredicateMutationOptions,
): Promise<DeleteByFilterResult> {
  const { version, targets, remaining } = await resolve(deps, path, filter, options);
  if (targets.length === 0) return { matched: 0, deleted: 0, deletedIds: [], skipped: 0, remaining, version };
  let walId: bigint | undefined;
  const result = await drive(
    deps,
    async () => {
      walId = await deps.wal.prepareDelete({ targets: targets.map((t) => t.rowId), predicateRepr: JSON.stringify(filter, dropPaths) }, { holdLease: true });
      return deps.wal.resume(walId as never);
    },
    () => walId,
  );
  const { touched, tombstoned } = await outcome(deps.wal, result.walId);
  const published = await refreshTombstones(deps.ctx, path, touched);
  const deletedIds = targets.filter((t) => tombstoned.has(t.rowId)).map((t) => t.doc.id);
  return { matched: targets.length, deleted: result.tombstoned, deletedIds, skipped: result.notFound, remaining, version: published.version };
}

export async function patchByFilter(
  deps: MutationDependencies,
  path: NamespacePath,
  filter: Filter,
  patch: Omit<DocumentPatch, "id">,
  options: PredicateMutationOptions,
): Promise<PatchByFilterResult> {
  if (typeof patch !== "object" || patch === null) throw new InvalidArgumentError("patch must be an object");
  // Validate and normalize the patch once, through the write path's encoder, against the typed schema (if any):
  // its values must fit the declared and inferred types (attributes it introduces are not typed by it).
  const schema = (await deps.ctx.manifests.readLatest(path))?.schema;
  const encoded = encodePatch([{ ...patch, id: "patchByFilter" }], deps.ctx.ids, deps.limits, schema);
  if (schema !== undefined) applyObservedTypes(schema, encoded.observed);
  const entry = decodeLogEntry(encoded.entries[0] as Uint8Array, "patchByFilter");
  const { version, dimension, targets, remaining } = await resolve(deps, path, filter, options);
  if (encoded.dimension !== undefined && dimension !== undefined && encoded.dimension !== dimension) {
    throw new InvalidArgumentError(`vector dimension ${encoded.dimension} does not match the namespace's dimension ${dimension}`);
  }
  if (targets.length === 0) return { matched: 0, patched: 0, patchedIds: [], skipped: 0, remaining, version };
  const newRows = targets.map(({ doc }) => {
    const next = patched(doc, { ...entry, id: doc.id });
    return {
      id: next.id,
      ...(next.vector === undefined ? {} : { vector: next.vector }),
      ...(next.sparse === undefined ? {} : { sparse: next.sparse }),
      ...(next.text === undefined ? {} : { text: next.text }),
      ...(next.attributes === undefined ? {} : { attributes: next.attributes }),
    };
  });
  let walId: bigint | undefined;
  const result = await drive(
    deps,
    async () => {
      walId = await deps.wal.prepareUpdate(
        { targets: targets.map((t) => t.rowId), newRows, predicateRepr: JSON.stringify(filter, dropPaths) },
        { holdLease: true },
      );
      return deps.wal.resume(walId as never);
    },
    () => walId,
  );
  const { touched } = await outcome(deps.wal, result.walId);
  const published = await refreshTombstones(deps.ctx, path, touched);
  const segment = published.containers.find((c) => c.id === result.segmentId);
  // The segment's row i is target i's new row; a masked row lost to a newer write.
  const masked = segment === undefined ? undefined : maskedPositions(segment);
  const patchedIds = targets.filter((_, i) => masked?.has(i) !== true).map((t) => t.doc.id);
  return {
    matched: targets.length,
    patched: patchedIds.length,
    patchedIds,
    skipped: targets.length - patchedIds.length,
    remaining,
    version: published.version,
  };
}

function dropPaths(key: string, value: unknown): unknown {
  return key === "path" ? undefined : value;
}
