/**
 * Documents as callers write and read them.
 *
 * A document has an `id` (a string; in a namespace whose ids are `uint`, an
 * unsigned integer, read back as its 20-digit key: document-ids.ts) and optionally a dense `vector` (stored as
 * float32, so values read back are float32-rounded), a `sparse` vector
 * (strictly increasing u32 indices with float32 values), named `text` fields
 * and JSON `attributes`. A patch names an id and changes only the fields it
 * carries: `null` removes a vector, a sparse vector, a text field or a
 * top-level attribute; other values replace them (nested attribute objects
 * are replaced whole, not merged).
 */
import type { JsonObject, JsonValue } from "@skerry/wal-format";
import type { DocumentId } from "./document-ids.ts";

export type { JsonObject, JsonValue };

export interface SparseVector {
  readonly indices: readonly number[] | Uint32Array;
  readonly values: readonly number[] | Float32Array;
}

/** A whole document, as given to `upsert`. */
export interface DocumentInput<Id extends DocumentId = string> {
  /** A string, or an unsigned integer (number or bigint) in a namespace whose ids are `uint` (document-ids.ts). */
  readonly id: Id;
  readonly vector?: readonly number[] | Float32Array | undefined;
  readonly sparse?: SparseVector | undefined;
  readonly text?: Readonly<Record<string, string>> | undefined;
  readonly attributes?: JsonObject | undefined;
}

/** A partial update, as given to `patch`. */
export interface DocumentPatch<Id extends DocumentId = string> {
  readonly id: Id;
  readonly vector?: readonly number[] | Float32Array | null | undefined;
  readonly sparse?: SparseVector | null | undefined;
  readonly text?: Readonly<Record<string, string | null>> | undefined;
  readonly attributes?: Readonly<Record<string, JsonValue | null>> | undefined;
}

/** A document as read back. */
export interface StoredDocument {
  readonly id: string;
  readonly vector?: Float32Array;
  readonly sparse?: { readonly indices: Uint32Array; readonly values: Float32Array };
  readonly text?: Readonly<Record<string, string>>;
  readonly attributes?: JsonObject;
}
