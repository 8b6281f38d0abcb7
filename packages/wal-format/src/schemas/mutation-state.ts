/**
 * The mutation state document: the durable record of one multi-object
 * mutation (UPDATE or DELETE by predicate), stored at
 * `<root>/wal/mutations/<wal_id_hex>.json` and rewritten only by etag CAS.
 *
 * UPDATE walks INTENT -> APPENDED -> COMPLETE; DELETE walks INTENT ->
 * COMPLETE. At INTENT an UPDATE already pins everything a replay needs to
 * produce identical bytes: the resolved target ids, the row count and BLAKE3
 * of the `.arrow` row-batch sidecar, the preallocated superfile id and the
 * pre-minted id spans. Those four UPDATE-only fields are absent from DELETE
 * documents (null or `[]` are accepted on read, never written).
 *
 * Wire fields (snake_case, as in the reference design): wal_id,
 * schema_version, op_kind, state, created_at, lease, predicate_repr,
 * target_ids, new_row_count, new_row_content_hash, preallocated_superfile_id,
 * minted_id_spans, tombstone_progress. Unknown keys are kept in `extra`.
 *
 * Rules beyond field types: an UPDATE carries all UPDATE-only fields and its
 * spans add up to `new_row_count`; a DELETE carries none of them.
 *
 * Errors: `SchemaError` naming `mutation-state` and the field;
 * `UnsupportedVersionError` when `schema_version` is newer than
 * `MUTATION_STATE_SCHEMA_VERSION`.
 */
import { z } from "zod";
import type { IdSpan } from "../id-span.ts";
import type { RowId, WalId } from "../ids.ts";
import { idToHex, rowIdFromHex, walIdFromHex } from "../ids.ts";
import { idSpanFromWire, idSpanToWire, idSpanWireSchema, type IdSpanWire } from "./id-span.ts";
import type { DecodeDocumentOptions, JsonDocumentSpec } from "./json-document.ts";
import { decodeDocument, encodeDocument } from "./json-document.ts";
import type { Lease } from "./lease.ts";
import { leaseFromWire, leaseToWire, leaseWireSchema } from "./lease.ts";
import type { TombstoneEntry } from "./tombstone-entry.ts";
import { tombstoneEntryFromWire, tombstoneEntryToWire, tombstoneEntryWireSchema } from "./tombstone-entry.ts";
import type { JsonObject } from "./wire.ts";
import {
  bag,
  blake3HexSchema,
  extrasOf,
  idHexSchema,
  keysOf,
  mergeExtras,
  schemaVersionSchema,
  timestampFromWire,
  timestampSchema,
  timestampToWire,
  u32Schema,
  uuidSchema,
} from "./wire.ts";

export const MUTATION_STATE_DOCUMENT = "mutation-state";
export const MUTATION_STATE_SCHEMA_VERSION = 1;

export const OP_KINDS = ["UPDATE", "DELETE"] as const;
export type OpKind = (typeof OP_KINDS)[number];
export const MUTATION_STATES = ["INTENT", "APPENDED", "COMPLETE"] as const;
export type MutationStateName = (typeof MUTATION_STATES)[number];

export const mutationStateWireSchema = z.looseObject({
  wal_id: idHexSchema,
  schema_version: schemaVersionSchema(MUTATION_STATE_SCHEMA_VERSION),
  op_kind: z.enum(OP_KINDS),
  state: z.enum(MUTATION_STATES),
  created_at: timestampSchema,
  lease: leaseWireSchema.nullish(),
  predicate_repr: z.string(),
  target_ids: z.array(idHexSchema),
  new_row_count: u32Schema.nullish(),
  new_row_content_hash: blake3HexSchema.nullish(),
  preallocated_superfile_id: uuidSchema.nullish(),
  minted_id_spans: z.array(idSpanWireSchema).optional(),
  tombstone_progress: z.array(tombstoneEntryWireSchema),
});

const KNOWN = keysOf(mutationStateWireSchema);
const UPDATE_ONLY = ["new_row_count", "new_row_content_hash", "preallocated_superfile_id"] as const;

interface MutationStateCommon {
  readonly walId: WalId;
  readonly schemaVersion: number;
  readonly state: MutationStateName;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  /** Absent when no process drives the mutation right now. */
  readonly lease?: Lease;
  /** Human-readable predicate, for audit only; recovery never re-evaluates it. */
  readonly predicateRepr: string;
  /** The resolved targets; recovery replays from these, not the predicate. */
  readonly targetIds: readonly RowId[];
  readonly tombstoneProgress: readonly TombstoneEntry[];
  readonly extra?: JsonObject;
}

export interface UpdateMutationState extends MutationStateCommon {
  readonly opKind: "UPDATE";
  /** Rows in the `.arrow` sidecar. */
  readonly newRowCount: number;
  /** BLAKE3 hex of the `.arrow` sidecar bytes, verified before replay. */
  readonly newRowContentHash: string;
  /** Superfile (segment) id the new rows will be written to. */
  readonly preallocatedSuperfileId: string;
  /** Pre-minted ids; flattened, row i of the sidecar gets id i. */
  readonly mintedIdSpans: readonly IdSpan[];
}

export interface DeleteMutationState extends MutationStateCommon {
  readonly opKind: "DELETE";
}

export type MutationState = UpdateMutationState | DeleteMutationState;

function spanLength(span: IdSpanWire): bigint {
  return BigInt(`0x${span.last}`) - BigInt(`0x${span.first}`) + 1n;
}

function check(raw: Record<string, unknown>): [string, string] | undefined {
  const spans = (raw["minted_id_spans"] ?? []) as IdSpanWire[];
  if (raw["op_kind"] === "DELETE") {
    for (const field of UPDATE_ONLY) {
      if (raw[field] !== undefined && raw[field] !== null) return [field, "must be absent for a DELETE mutation"];
    }
    if (spans.length > 0) return ["minted_id_spans", "must be absent or empty for a DELETE mutation"];
    return undefined;
  }
  for (const field of UPDATE_ONLY) {
    if (raw[field] === undefined || raw[field] === null) return [field, "is required for an UPDATE mutation"];
  }
  if (raw["minted_id_spans"] === undefined) return ["minted_id_spans", "is required for an UPDATE mutation"];
  let total = 0n;
  for (const span of spans) total += spanLength(span);
  if (total !== BigInt(raw["new_row_count"] as number)) {
    return ["minted_id_spans", `spans hold ${total} ids but new_row_count is ${String(raw["new_row_count"])}`];
  }
  return undefined;
}

function fromWire(raw: Record<string, unknown>): MutationState {
  const lease = raw["lease"];
  const extra = extrasOf(raw, KNOWN);
  const common = {
    walId: walIdFromHex(raw["wal_id"] as string),
    schemaVersion: raw["schema_version"] as number,
    state: raw["state"] as MutationStateName,
    createdAt: timestampFromWire(raw["created_at"] as string),
    ...(lease !== undefined && lease !== null ? { lease: leaseFromWire(lease as Record<string, unknown>) } : {}),
    predicateRepr: raw["predicate_repr"] as string,
    targetIds: (raw["target_ids"] as string[]).map(rowIdFromHex),
    tombstoneProgress: (raw["tombstone_progress"] as Record<string, unknown>[]).map(tombstoneEntryFromWire),
    ...(extra === undefined ? {} : { extra }),
  };
  if (raw["op_kind"] === "DELETE") return { opKind: "DELETE", ...common };
  return {
    opKind: "UPDATE",
    ...common,
    newRowCount: raw["new_row_count"] as number,
    newRowContentHash: raw["new_row_content_hash"] as string,
    preallocatedSuperfileId: raw["preallocated_superfile_id"] as string,
    mintedIdSpans: (raw["minted_id_spans"] as IdSpanWire[]).map(idSpanFromWire),
  };
}

function toWire(doc: MutationState): Record<string, unknown> {
  const d = MUTATION_STATE_DOCUMENT;
  const wire = bag<unknown>();
  wire["wal_id"] = idToHex(doc.walId);
  wire["schema_version"] = doc.schemaVersion;
  wire["op_kind"] = doc.opKind;
  wire["state"] = doc.state;
  wire["created_at"] = timestampToWire(doc.createdAt, d, "created_at");
  if (doc.lease !== undefined) wire["lease"] = leaseToWire(doc.lease, d, "lease");
  wire["predicate_repr"] = doc.predicateRepr;
  wire["target_ids"] = doc.targetIds.map((id) => idToHex(id));
  if (doc.opKind === "UPDATE") {
    wire["new_row_count"] = doc.newRowCount;
    wire["new_row_content_hash"] = doc.newRowContentHash;
    wire["preallocated_superfile_id"] = doc.preallocatedSuperfileId;
    wire["minted_id_spans"] = doc.mintedIdSpans.map(idSpanToWire);
  }
  wire["tombstone_progress"] = doc.tombstoneProgress.map(tombstoneEntryToWire);
  mergeExtras(wire, doc.extra, KNOWN);
  return wire;
}

export const mutationStateSpec: JsonDocumentSpec<MutationState> = {
  document: MUTATION_STATE_DOCUMENT,
  schemaVersion: MUTATION_STATE_SCHEMA_VERSION,
  schema: mutationStateWireSchema,
  fromWire,
  toWire,
  check,
};

/** Serialize a mutation state document to UTF-8 JSON (validated first). */
export function encodeMutationState(doc: MutationState): Uint8Array {
  return encodeDocument(mutationStateSpec, doc);
}

/** Parse a mutation state document; throws `SchemaError` or `UnsupportedVersionError`. */
export function decodeMutationState(bytes: Uint8Array | string, options?: DecodeDocumentOptions): MutationState {
  return decodeDocument(mutationStateSpec, bytes, options);
}

