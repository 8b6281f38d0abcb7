/**
 * The per-project reference-count table: how many live manifests reference
 * each immutable object (log batches and segments may be shared between
 * namespaces by branches and copies). Rewritten by etag CAS; the etag lives
 * in the store, not in the document.
 *
 * Crash ordering keeps counts safe-high: write new objects, increment, commit
 * the manifest, decrement, delete at zero. A crash can leave a count too high
 * (a leak that `repair` reclaims), never too low. Entries may sit at 0 until
 * their object is deleted.
 *
 * Wire: `{ schema_version, project: "org/project", generation, updated_at,
 * counts: { <object key>: <count> } }`. `generation` increases by one per
 * rewrite, to make log lines and forensics unambiguous.
 *
 * Errors: `SchemaError` naming `refcount-table`; `UnsupportedVersionError`.
 */
import { z } from "zod";
import type { DecodeDocumentOptions, JsonDocumentSpec } from "./json-document.ts";
import { decodeDocument, encodeDocument } from "./json-document.ts";
import type { JsonObject } from "./wire.ts";
import {
  bag,
  countSchema,
  extrasOf,
  keysOf,
  mapFromRecord,
  mergeExtras,
  recordFromMap,
  schemaVersionSchema,
  timestampFromWire,
  timestampSchema,
  timestampToWire,
} from "./wire.ts";

export const REFCOUNT_TABLE_DOCUMENT = "refcount-table";
export const REFCOUNT_TABLE_SCHEMA_VERSION = 1;

export const refcountTableWireSchema = z.looseObject({
  schema_version: schemaVersionSchema(REFCOUNT_TABLE_SCHEMA_VERSION),
  project: z.string().regex(/^[^/]+\/[^/]+$/, "expected org/project"),
  generation: countSchema,
  updated_at: timestampSchema,
  counts: z.record(z.string().min(1), countSchema),
});

const KNOWN = keysOf(refcountTableWireSchema);

export interface RefcountTable {
  readonly schemaVersion: number;
  /** `org/project`. */
  readonly project: string;
  readonly generation: number;
  readonly updatedAt: number;
  /** Object key -> number of live references. */
  readonly counts: ReadonlyMap<string, number>;
  readonly extra?: JsonObject;
}

function fromWire(raw: Record<string, unknown>): RefcountTable {
  const extra = extrasOf(raw, KNOWN);
  return {
    schemaVersion: raw["schema_version"] as number,
    project: raw["project"] as string,
    generation: raw["generation"] as number,
    updatedAt: timestampFromWire(raw["updated_at"] as string),
    counts: mapFromRecord<number>(raw["counts"] as Record<string, unknown>),
    ...(extra === undefined ? {} : { extra }),
  };
}

function toWire(table: RefcountTable): Record<string, unknown> {
  const wire = bag<unknown>();
  wire["schema_version"] = table.schemaVersion;
  wire["project"] = table.project;
  wire["generation"] = table.generation;
  wire["updated_at"] = timestampToWire(table.updatedAt, REFCOUNT_TABLE_DOCUMENT, "updated_at");
  wire["counts"] = recordFromMap(table.counts);
  mergeExtras(wire, table.extra, KNOWN);
  return wire;
}

export const refcountTableSpec: JsonDocumentSpec<RefcountTable> = {
  document: REFCOUNT_TABLE_DOCUMENT,
  schemaVersion: REFCOUNT_TABLE_SCHEMA_VERSION,
  schema: refcountTableWireSchema,
  fromWire,
  toWire,
};

export function encodeRefcountTable(table: RefcountTable): Uint8Array {
  return encodeDocument(refcountTableSpec, table);
}

export function decodeRefcountTable(bytes: Uint8Array | string, options?: DecodeDocumentOptions): RefcountTable {
  return decodeDocument(refcountTableSpec, bytes, options);
}
