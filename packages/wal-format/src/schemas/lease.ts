/**
 * `Lease`: which process is currently driving a mutation (or compaction),
 * until when. Advisory only: it saves duplicate work, while correctness comes
 * from the etag compare-and-swap on the document that holds it. The holder
 * extends `expires_at` as its heartbeat; others may preempt once it passes.
 *
 * Wire: `{ "owner": <32-hex HandleId>, "acquired_at": <RFC 3339>,
 * "expires_at": <RFC 3339> }`, unknown keys kept.
 */
import { z } from "zod";
import type { HandleId } from "../ids.ts";
import { handleIdFromHex, idToHex } from "../ids.ts";
import type { JsonObject } from "./wire.ts";
import { bag, extrasOf, idHexSchema, keysOf, mergeExtras, timestampFromWire, timestampSchema, timestampToWire } from "./wire.ts";

export const leaseWireSchema = z.looseObject({
  owner: idHexSchema,
  acquired_at: timestampSchema,
  expires_at: timestampSchema,
});

const KNOWN = keysOf(leaseWireSchema);

export interface Lease {
  readonly owner: HandleId;
  /** Epoch milliseconds. */
  readonly acquiredAt: number;
  /** Epoch milliseconds; the holder's heartbeat moves it forward. */
  readonly expiresAt: number;
  readonly extra?: JsonObject;
}

export function leaseFromWire(raw: Record<string, unknown>): Lease {
  const lease: Lease = {
    owner: handleIdFromHex(raw["owner"] as string),
    acquiredAt: timestampFromWire(raw["acquired_at"] as string),
    expiresAt: timestampFromWire(raw["expires_at"] as string),
  };
  const extra = extrasOf(raw, KNOWN);
  return extra === undefined ? lease : { ...lease, extra };
}

export function leaseToWire(lease: Lease, document: string, field: string): Record<string, unknown> {
  const wire = bag<unknown>();
  wire["owner"] = idToHex(lease.owner);
  wire["acquired_at"] = timestampToWire(lease.acquiredAt, document, `${field}.acquired_at`);
  wire["expires_at"] = timestampToWire(lease.expiresAt, document, `${field}.expires_at`);
  mergeExtras(wire, lease.extra, KNOWN);
  return wire;
}
