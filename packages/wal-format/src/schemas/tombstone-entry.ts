/**
 * `TombstoneEntry`: tombstone-phase progress for one target row of a
 * mutation. Starts `PENDING`; becomes `TOMBSTONED` once the row's position is
 * set in its container's tombstone sidecar (recording which superfile), or
 * `NOT_FOUND` when no container in the manifest holds the id any more.
 *
 * Wire: `{ "target_id": <32-hex>, "outcome": "PENDING"|"TOMBSTONED"|"NOT_FOUND",
 * "tombstoned_in_superfile": <uuid> | null }` (the last may be absent).
 * Unknown outcomes are rejected: a new outcome needs a new schema_version.
 */
import { z } from "zod";
import type { RowId } from "../ids.ts";
import { idToHex, rowIdFromHex } from "../ids.ts";
import type { JsonObject } from "./wire.ts";
import { bag, extrasOf, idHexSchema, keysOf, mergeExtras, uuidSchema } from "./wire.ts";

export const TOMBSTONE_OUTCOMES = ["PENDING", "TOMBSTONED", "NOT_FOUND"] as const;
export type TombstoneOutcome = (typeof TOMBSTONE_OUTCOMES)[number];

export const tombstoneEntryWireSchema = z.looseObject({
  target_id: idHexSchema,
  outcome: z.enum(TOMBSTONE_OUTCOMES),
  tombstoned_in_superfile: uuidSchema.nullish(),
});

const KNOWN = keysOf(tombstoneEntryWireSchema);

export interface TombstoneEntry {
  readonly targetId: RowId;
  readonly outcome: TombstoneOutcome;
  /** Superfile (segment) id the tombstone landed in; audit only. */
  readonly tombstonedInSuperfile?: string;
  readonly extra?: JsonObject;
}

export function tombstoneEntryFromWire(raw: Record<string, unknown>): TombstoneEntry {
  const superfile = raw["tombstoned_in_superfile"];
  const extra = extrasOf(raw, KNOWN);
  return {
    targetId: rowIdFromHex(raw["target_id"] as string),
    outcome: raw["outcome"] as TombstoneOutcome,
    ...(typeof superfile === "string" ? { tombstonedInSuperfile: superfile } : {}),
    ...(extra === undefined ? {} : { extra }),
  };
}

export function tombstoneEntryToWire(entry: TombstoneEntry): Record<string, unknown> {
  const wire = bag<unknown>();
  wire["target_id"] = idToHex(entry.targetId);
  wire["outcome"] = entry.outcome;
  if (entry.tombstonedInSuperfile !== undefined) wire["tombstoned_in_superfile"] = entry.tombstonedInSuperfile;
  mergeExtras(wire, entry.extra, KNOWN);
  return wire;
}
