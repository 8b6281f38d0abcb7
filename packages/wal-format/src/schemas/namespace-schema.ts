/**
 * A namespace's typed schema, as the manifest stores it (field `schema`,
 * optional: manifests written before it existed have none).
 *
 * Wire: `{ id_type?, attributes: { <name>: { type, filterable, options? } } }`.
 * - `id_type`: `string`, `uint` (unsigned 64-bit integers) or `uuid`; absent
 *   until it is declared or fixed by the first write.
 * - `type`: one of ATTRIBUTE_TYPES: `string`, `int`, `uint`, `float`,
 *   `bool`, `uuid`, `datetime`, or an array of one of those (`[]int`, ...).
 * - `filterable`: false when the attribute is not indexed for filtering.
 * - `options`: a JSON object a caller stores with the attribute and reads
 *   back unchanged (the engine does not interpret it).
 * Attribute names are sorted on the wire, so equal schemas encode to equal
 * bytes.
 */
import { z } from "zod";
import { bag, type JsonObject } from "./wire.ts";

export const ID_TYPES = ["string", "uint", "uuid"] as const;
export type IdType = (typeof ID_TYPES)[number];

export const SCALAR_ATTRIBUTE_TYPES = ["string", "int", "uint", "float", "bool", "uuid", "datetime"] as const;
export type ScalarAttributeType = (typeof SCALAR_ATTRIBUTE_TYPES)[number];
export type AttributeType = ScalarAttributeType | `[]${ScalarAttributeType}`;
export const ATTRIBUTE_TYPES: readonly AttributeType[] = [
  ...SCALAR_ATTRIBUTE_TYPES,
  ...SCALAR_ATTRIBUTE_TYPES.map((t) => `[]${t}` as const),
];

/** Most attributes a schema declares. */
export const MAX_SCHEMA_ATTRIBUTES = 4_096;

const attributeWireSchema = z.object({
  type: z.enum(ATTRIBUTE_TYPES as [AttributeType, ...AttributeType[]]),
  filterable: z.boolean(),
  options: z.record(z.string(), z.json()).nullish(),
});

export const namespaceSchemaWireSchema = z.object({
  id_type: z.enum(ID_TYPES).nullish(),
  attributes: z.record(z.string().min(1).max(1_024), attributeWireSchema).refine((r) => Object.keys(r).length <= MAX_SCHEMA_ATTRIBUTES, {
    message: `at most ${MAX_SCHEMA_ATTRIBUTES} attributes`,
  }),
});

export type NamespaceSchemaWire = z.infer<typeof namespaceSchemaWireSchema>;

/** One attribute of a namespace schema. */
export interface AttributeSchema {
  readonly type: AttributeType;
  /** False: not indexed for filtering, and a filter on it is refused. */
  readonly filterable: boolean;
  /** Caller options kept with the attribute, not interpreted by the engine. */
  readonly options?: JsonObject;
}

/** A namespace's typed schema. */
export interface NamespaceSchema {
  /** The type of the namespace's document ids; absent until declared or fixed by the first write. */
  readonly idType?: IdType;
  /** Declared (or inferred) attributes, by name. */
  readonly attributes: ReadonlyMap<string, AttributeSchema>;
}

export function namespaceSchemaFromWire(raw: NamespaceSchemaWire): NamespaceSchema {
  const attributes = new Map<string, AttributeSchema>();
  for (const name of Object.keys(raw.attributes).sort()) {
    const a = raw.attributes[name] as NamespaceSchemaWire["attributes"][string];
    attributes.set(name, {
      type: a.type,
      filterable: a.filterable,
      ...(a.options === undefined || a.options === null ? {} : { options: a.options as JsonObject }),
    });
  }
  return { ...(raw.id_type === undefined || raw.id_type === null ? {} : { idType: raw.id_type }), attributes };
}

export function namespaceSchemaToWire(schema: NamespaceSchema): NamespaceSchemaWire {
  const attributes = bag<NamespaceSchemaWire["attributes"][string]>();
  for (const name of [...schema.attributes.keys()].sort()) {
    const a = schema.attributes.get(name) as AttributeSchema;
    attributes[name] = { type: a.type, filterable: a.filterable, ...(a.options === undefined ? {} : { options: a.options as NamespaceSchemaWire["attributes"][string]["options"] }) };
  }
  return { ...(schema.idType === undefined ? {} : { id_type: schema.idType }), attributes };
}
