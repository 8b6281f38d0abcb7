/**
 * Sending a validated answer: every JSON response body is parsed by its
 * zod schema before it leaves (an answer that does not match the documented
 * schema is a server bug and becomes a 500, logged), and engine documents
 * are turned into plain JSON (typed arrays to arrays).
 */
import type { JsonObject, StoredDocument } from "@skerry/namespace-engine";
import type { Context } from "hono";
import type { z } from "zod";

/**
 * The answer, typed `never` so it satisfies every route's declared
 * response union: the schema parse above is the check that matters.
 */
export function send<S extends z.ZodType>(c: Context, schema: S, data: z.input<S>, status: 200 | 201 = 200): never {
  return c.json(schema.parse(data) as object, status) as never;
}

export interface DocumentJson {
  id: string;
  vector?: number[];
  sparse?: { indices: number[]; values: number[] };
  text?: Record<string, string>;
  attributes?: JsonObject;
}

export function documentJson(doc: StoredDocument, includeVector = true): DocumentJson {
  const out: DocumentJson = { id: doc.id };
  if (doc.vector !== undefined && includeVector) out.vector = Array.from(doc.vector);
  if (doc.sparse !== undefined) out.sparse = { indices: Array.from(doc.sparse.indices), values: Array.from(doc.sparse.values) };
  if (doc.text !== undefined) out.text = { ...doc.text };
  if (doc.attributes !== undefined) out.attributes = doc.attributes;
  return out;
}
