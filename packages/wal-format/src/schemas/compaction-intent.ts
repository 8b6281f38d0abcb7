/**
 * The compaction intent: written before a compaction produces anything, so a
 * crash mid-way leaves a record of what was being built from what. Recovery
 * uses it to finish or abandon the job and to clean up its outputs; a sealed
 * tombstone sidecar points back to it through `SealRecord.compaction_id`.
 *
 * States: INTENT (inputs and output ids pinned) -> WRITTEN (output segments
 * stored) -> COMMITTED (a manifest referencing them committed), or ABANDONED
 * (the job lost a rebase or was given up; its outputs are garbage).
 *
 * Wire: `{ schema_version, compaction_id, namespace, state, created_at,
 * lease?, base_manifest_version, input_containers: [{id, key}],
 * output_segment_ids: [uuid] }`. A first cut for the namespace-engine work;
 * unknown keys are kept.
 *
 * Errors: `SchemaError` naming `compaction-intent`; `UnsupportedVersionError`.
 */
import { z } from "zod";
import type { DecodeDocumentOptions, JsonDocumentSpec } from "./json-document.ts";
import { decodeDocument, encodeDocument } from "./json-document.ts";
import type { Lease } from "./lease.ts";
import { leaseFromWire, leaseToWire, leaseWireSchema } from "./lease.ts";
import type { JsonObject } from "./wire.ts";
import {
  bag,
  countSchema,
  extrasOf,
  keysOf,
  mergeExtras,
  schemaVersionSchema,
  timestampFromWire,
  timestampSchema,
  timestampToWire,
  uuidSchema,
} from "./wire.ts";

export const COMPACTION_INTENT_DOCUMENT = "compaction-intent";
export const COMPACTION_INTENT_SCHEMA_VERSION = 1;

export const COMPACTION_STATES = ["INTENT", "WRITTEN", "COMMITTED", "ABANDONED"] as const;
export type CompactionState = (typeof COMPACTION_STATES)[number];

export const compactionIntentWireSchema = z.looseObject({
  schema_version: schemaVersionSchema(COMPACTION_INTENT_SCHEMA_VERSION),
  compaction_id: uuidSchema,
  namespace: z.string().regex(/^[^/]+\/[^/]+\/[^/]+$/, "expected org/project/namespace"),
  state: z.enum(COMPACTION_STATES),
  created_at: timestampSchema,
  lease: leaseWireSchema.nullish(),
  base_manifest_version: countSchema,
  input_containers: z.array(z.object({ id: uuidSchema, key: z.string().min(1) })).min(1),
  output_segment_ids: z.array(uuidSchema),
});

const KNOWN = keysOf(compactionIntentWireSchema);

export interface CompactionIntent {
  readonly schemaVersion: number;
  readonly compactionId: string;
  /** `org/project/namespace`. */
  readonly namespace: string;
  readonly state: CompactionState;
  readonly createdAt: number;
  readonly lease?: Lease;
  /** Manifest version the inputs were chosen from. */
  readonly baseManifestVersion: number;
  /** Containers folded by this job, in fold order. */
  readonly inputContainers: readonly { readonly id: string; readonly key: string }[];
  /** Segment ids the job writes, fixed before any are written. */
  readonly outputSegmentIds: readonly string[];
  readonly extra?: JsonObject;
}

function fromWire(raw: Record<string, unknown>): CompactionIntent {
  const lease = raw["lease"];
  const extra = extrasOf(raw, KNOWN);
  return {
    schemaVersion: raw["schema_version"] as number,
    compactionId: raw["compaction_id"] as string,
    namespace: raw["namespace"] as string,
    state: raw["state"] as CompactionState,
    createdAt: timestampFromWire(raw["created_at"] as string),
    ...(lease !== undefined && lease !== null ? { lease: leaseFromWire(lease as Record<string, unknown>) } : {}),
    baseManifestVersion: raw["base_manifest_version"] as number,
    inputContainers: (raw["input_containers"] as { id: string; key: string }[]).map((c) => ({ id: c.id, key: c.key })),
    outputSegmentIds: [...(raw["output_segment_ids"] as string[])],
    ...(extra === undefined ? {} : { extra }),
  };
}

function toWire(intent: CompactionIntent): Record<string, unknown> {
  const d = COMPACTION_INTENT_DOCUMENT;
  const wire = bag<unknown>();
  wire["schema_version"] = intent.schemaVersion;
  wire["compaction_id"] = intent.compactionId;
  wire["namespace"] = intent.namespace;
  wire["state"] = intent.state;
  wire["created_at"] = timestampToWire(intent.createdAt, d, "created_at");
  if (intent.lease !== undefined) wire["lease"] = leaseToWire(intent.lease, d, "lease");
  wire["base_manifest_version"] = intent.baseManifestVersion;
  wire["input_containers"] = intent.inputContainers.map((c) => ({ id: c.id, key: c.key }));
  wire["output_segment_ids"] = [...intent.outputSegmentIds];
  mergeExtras(wire, intent.extra, KNOWN);
  return wire;
}

export const compactionIntentSpec: JsonDocumentSpec<CompactionIntent> = {
  document: COMPACTION_INTENT_DOCUMENT,
  schemaVersion: COMPACTION_INTENT_SCHEMA_VERSION,
  schema: compactionIntentWireSchema,
  fromWire,
  toWire,
};

export function encodeCompactionIntent(intent: CompactionIntent): Uint8Array {
  return encodeDocument(compactionIntentSpec, intent);
}

export function decodeCompactionIntent(bytes: Uint8Array | string, options?: DecodeDocumentOptions): CompactionIntent {
  return decodeDocument(compactionIntentSpec, bytes, options);
}
