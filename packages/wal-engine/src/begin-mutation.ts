/**
 * beginMutation: the INTENT step of UPDATE and DELETE.
 *
 * Order of writes (each durable before the next starts):
 *   1. UPDATE only: the `.arrow` sidecar with the new rows, each row already
 *      carrying its pre-minted `_id` (row i gets flatten(minted_id_spans)[i]);
 *   2. the INTENT state doc, create-only, pinning the resolved target ids,
 *      and for UPDATE the sidecar's row count and BLAKE3, the preallocated
 *      segment id and the id spans; with this handle's lease.
 * Everything a replay needs is fixed before the doc exists, so recovery
 * rebuilds bit-identical segment bytes. A crash between 1 and 2 leaves only
 * an orphan sidecar (no doc refers to it; WAL GC removes it after the grace
 * period); the caller saw an error and nothing became visible.
 *
 * Checks before any write: the target list (de-duplicated, first occurrence
 * kept) and the new rows are each capped (`TargetCapExceededError`); rows
 * that the row-batch encoder refuses -> `WalInvalidInputError`.
 */
import {
  contentHash,
  encodeRowBatch,
  flattenIdSpans,
  type IdGenerator,
  type IdSpan,
  isWalFormatError,
  type MutationState,
  type OpKind,
  type Random,
  type RowDocumentInput,
  type RowId,
  type TombstoneEntry,
  type WalId,
} from "@skerry/wal-format";
import type { Versioned } from "./cas-object.ts";
import { idToHex } from "@skerry/wal-format";
import { TargetCapExceededError, WalInvalidInputError } from "./errors.ts";
import type { PipelineContext } from "./pipeline-context.ts";
import { randomSegmentId } from "./segment-id.ts";
import { encodeStateDoc } from "./wal-store.ts";

/** A new row of an UPDATE: a row-batch document without its `_id` (the pipeline mints it). */
export type NewRow = Omit<RowDocumentInput, "rowId">;

export interface UpdateInput {
  /** Row ids the update replaces (resolved by the caller against one snapshot). */
  targets: readonly RowId[];
  /** The replacement rows. */
  newRows: readonly NewRow[];
  /** Human-readable predicate, for audit only. */
  predicateRepr: string;
}

export interface DeleteInput {
  targets: readonly RowId[];
  predicateRepr: string;
}

export interface BeginDependencies {
  idGenerator: IdGenerator;
  /** Source of the preallocated segment id. */
  random: Random;
  /** Cap on targets and on new rows per mutation. */
  maxTargets: number;
  /** Write the INTENT doc with this handle's lease (true when the caller drives it next). */
  holdLease: boolean;
}

export interface BegunMutation {
  walId: WalId;
  state: Versioned<MutationState>;
  /** UPDATE: the sidecar bytes, so the driver need not read them back. */
  arrowBytes?: Uint8Array;
}

function dedupe(targets: readonly RowId[]): RowId[] {
  const seen = new Set<RowId>();
  const out: RowId[] = [];
  for (const id of targets) {
    if (typeof id !== "bigint") throw new WalInvalidInputError(`target ids must be bigint RowIds; got ${typeof id}`);
    if (!seen.has(id)) {
      seen.add(id);
      out.push(id);
    }
  }
  return out;
}

function checkCap(what: string, count: number, cap: number): void {
  if (count > cap) {
    throw new TargetCapExceededError(`${what}: ${count} exceeds the per-mutation cap of ${cap}; split the mutation`, {
      count,
      cap,
    });
  }
}

export async function beginMutation(
  ctx: PipelineContext,
  deps: BeginDependencies,
  opKind: OpKind,
  input: { targets: readonly RowId[]; newRows?: readonly NewRow[]; predicateRepr: string },
): Promise<BegunMutation> {
  checkCap("target ids", input.targets.length, deps.maxTargets);
  const newRows = input.newRows ?? [];
  checkCap("new rows", newRows.length, deps.maxTargets);
  if (typeof input.predicateRepr !== "string") throw new WalInvalidInputError("predicateRepr must be a string");
  const targets = dedupe(input.targets);

  const walId = deps.idGenerator.next() as WalId;
  const now = ctx.clock.now();
  const tombstoneProgress: TombstoneEntry[] = targets.map((targetId) => ({ targetId, outcome: "PENDING" }));
  const common = {
    walId,
    schemaVersion: 1,
    state: "INTENT" as const,
    createdAt: now,
    predicateRepr: input.predicateRepr,
    targetIds: targets,
    tombstoneProgress,
    ...(deps.holdLease ? { lease: { owner: ctx.handleId, acquiredAt: now, expiresAt: now + ctx.leaseMs } } : {}),
  };

  let doc: MutationState;
  let arrowBytes: Uint8Array | undefined;
  if (opKind === "UPDATE") {
    const spans: IdSpan[] = deps.idGenerator.reserveRange(newRows.length);
    const ids = flattenIdSpans(spans, Math.max(newRows.length, 1));
    const segmentId = randomSegmentId(deps.random);
    try {
      arrowBytes = encodeRowBatch(newRows.map((row, i) => ({ ...row, rowId: ids[i] as RowId })));
    } catch (error) {
      if (isWalFormatError(error)) throw new WalInvalidInputError(`new rows: ${error.message}`, { cause: error });
      throw error;
    }
    doc = {
      ...common,
      opKind: "UPDATE",
      newRowCount: newRows.length,
      newRowContentHash: contentHash(arrowBytes),
      preallocatedSuperfileId: segmentId,
      mintedIdSpans: spans,
    };
  } else {
    doc = { ...common, opKind: "DELETE" };
  }
  const key = ctx.store.layout.stateKey(walId);
  const bytes = encodeStateDoc(doc, key);

  if (arrowBytes !== undefined) await ctx.store.putArrow(walId, arrowBytes, { signal: ctx.signal });
  const etag = await ctx.store.create(doc, { signal: ctx.signal });
  ctx.emit({ type: "wal-started", walId: idToHex(walId), opKind, state: "INTENT", origin: "call" });
  ctx.emit({ type: "phase-completed", walId: idToHex(walId), phase: "intent", state: "INTENT" });
  return { walId, state: { value: doc, etag, bytes }, ...(arrowBytes === undefined ? {} : { arrowBytes }) };
}
