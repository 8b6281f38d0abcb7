/**
 * `SealRecord`: marks a tombstone sidecar as sealed by a compaction job, so
 * recovery of an abandoned compaction can find the intent that owns it
 * (`compactions/<compaction_id>` lookup). Embedded as JSON inside the binary
 * tombstone sidecar; has no `schema_version` of its own because the sidecar's
 * format version covers it.
 *
 * Wire: `{ "compaction_id": <uuid>, "sealed_at": <RFC 3339> }`, unknown keys
 * kept.
 */
import { z } from "zod";
import type { JsonDocumentSpec } from "./json-document.ts";
import type { JsonObject } from "./wire.ts";
import { bag, extrasOf, keysOf, mergeExtras, timestampFromWire, timestampSchema, timestampToWire, uuidSchema } from "./wire.ts";

export const sealRecordWireSchema = z.looseObject({
  compaction_id: uuidSchema,
  sealed_at: timestampSchema,
});

const KNOWN = keysOf(sealRecordWireSchema);

export interface SealRecord {
  readonly compactionId: string;
  /** Epoch milliseconds. */
  readonly sealedAt: number;
  readonly extra?: JsonObject;
}

export function sealRecordFromWire(raw: Record<string, unknown>): SealRecord {
  const extra = extrasOf(raw, KNOWN);
  return {
    compactionId: raw["compaction_id"] as string,
    sealedAt: timestampFromWire(raw["sealed_at"] as string),
    ...(extra === undefined ? {} : { extra }),
  };
}

export function sealRecordToWire(seal: SealRecord, document = "seal-record", field = ""): Record<string, unknown> {
  const wire = bag<unknown>();
  wire["compaction_id"] = seal.compactionId;
  wire["sealed_at"] = timestampToWire(seal.sealedAt, document, field === "" ? "sealed_at" : `${field}.sealed_at`);
  mergeExtras(wire, seal.extra, KNOWN);
  return wire;
}

/**
 * Document spec for a seal record standing alone (inside a sidecar). It has
 * no `schema_version` field, so the harness's version check never fires; the
 * sidecar's format version governs it.
 */
export const sealRecordSpec: JsonDocumentSpec<SealRecord> = {
  document: "seal-record",
  schemaVersion: Number.MAX_SAFE_INTEGER,
  schema: sealRecordWireSchema,
  fromWire: sealRecordFromWire,
  toWire: (seal) => sealRecordToWire(seal),
};
