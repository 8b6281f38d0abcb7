/**
 * Wire schema of `IdSpan`: `{ "first": <32-hex>, "last": <32-hex> }`, an
 * inclusive range with first <= last. Used inside the mutation state document
 * (`minted_id_spans`) and the manifest (`row_id_range`).
 *
 * Errors: validation failures surface as `SchemaError` from the enclosing
 * document's decoder.
 */
import { z } from "zod";
import type { IdSpan } from "../id-span.ts";
import type { RowId } from "../ids.ts";
import { idToHex, rowIdFromHex } from "../ids.ts";
import { idHexSchema } from "./wire.ts";

export const idSpanWireSchema = z
  .object({ first: idHexSchema, last: idHexSchema })
  // Fixed-width lowercase hex compares like the numbers it encodes.
  .refine((span) => span.first <= span.last, { message: "first must not exceed last", path: ["last"] });

export type IdSpanWire = z.infer<typeof idSpanWireSchema>;

export function idSpanFromWire(raw: IdSpanWire): IdSpan {
  return { first: rowIdFromHex(raw.first), last: rowIdFromHex(raw.last) };
}

export function idSpanToWire(span: IdSpan): IdSpanWire {
  return { first: idToHex(span.first as RowId), last: idToHex(span.last as RowId) };
}
