/**
 * A namespace's typed schema as callers declare it (`createNamespace({ schema })`, `updateSchema`) and read it
 * (`NamespaceInfo.schema`), and its evolution rules. The manifest stores it (wal-format `NamespaceSchema`).
 *
 * Declaring merges into the current schema:
 * - `idType` (`string`, `uint`, `uuid`) may be set while the namespace has none, and only to `string` once the
 *   namespace holds rows written without one (their ids are strings); changing it is a `SchemaChangeError`.
 * - Attributes not in the schema are added (`filterable` defaults to true). For an attribute already there, the
 *   type may stay or widen from `int` to `float` (`[]int` to `[]float`); any other type change is a
 *   `SchemaChangeError`. `filterable` and `options` given replace the current ones; omitted, they are kept.
 *   `filterable` may go from true to false, not back (segments compacted meanwhile have no index for it).
 * - Attributes are never removed.
 *
 * A namespace has a schema once it is created with one (`schema: {}` is enough), `updateSchema` is called, or
 * its first write uses integer ids; without one it is schemaless (untyped JSON attributes, string ids), as every
 * namespace was before schemas existed. Writes extend a schema (write-schema.ts): the first typed value of an
 * undeclared attribute fixes its type, and the first write of an empty namespace fixes its id type.
 */
import { ATTRIBUTE_TYPES, type AttributeSchema, type AttributeType, ID_TYPES, type IdType, MAX_SCHEMA_ATTRIBUTES, type NamespaceSchema } from "@skerry/wal-format";
import type { JsonObject } from "./document.ts";
import { InvalidArgumentError, SchemaChangeError } from "../core/index.ts";

export type { AttributeSchema, AttributeType, IdType, NamespaceSchema };

/** One attribute as declared: its type, or the type with `filterable` (default true) and caller `options`. */
export type AttributeSchemaInput =
  | AttributeType
  | { readonly type: AttributeType; readonly filterable?: boolean | undefined; readonly options?: JsonObject | undefined };

/** A schema as declared (merged into the namespace's, see the module comment). */
export interface NamespaceSchemaInput {
  readonly idType?: IdType | undefined;
  readonly attributes?: Readonly<Record<string, AttributeSchemaInput>> | undefined;
}

/** A namespace's schema as `NamespaceInfo` reports it. */
export interface NamespaceSchemaInfo {
  /** Undefined until declared or fixed by the first write (a namespace without one has string ids). */
  readonly idType: IdType | undefined;
  readonly attributes: Readonly<Record<string, AttributeSchema>>;
}

/** Longest attribute name (UTF-16 units). */
const MAX_NAME = 1_024;
/** Largest `options` of one attribute, as JSON text. */
const MAX_OPTIONS_JSON = 8_192;
const TYPES = new Set<string>(ATTRIBUTE_TYPES);
const INPUT_KEYS = new Set(["idType", "attributes"]);
const ATTRIBUTE_KEYS = new Set(["type", "filterable", "options"]);

interface DeclaredAttribute {
  readonly type: AttributeType;
  readonly filterable?: boolean;
  readonly options?: JsonObject;
}

interface DeclaredSchema {
  readonly idType?: IdType;
  readonly attributes: ReadonlyMap<string, DeclaredAttribute>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function checkType(name: string, type: unknown): AttributeType {
  if (typeof type !== "string" || !TYPES.has(type)) {
    throw new InvalidArgumentError(`schema.attributes.${name}: unknown type ${JSON.stringify(type)} (one of ${ATTRIBUTE_TYPES.join(", ")})`);
  }
  return type as AttributeType;
}

/** True for a JSON value of at most `depth` further levels (finite numbers, plain objects). */
function isJsonValue(value: unknown, depth: number): boolean {
  if (depth < 0) return false;
  if (value === null || typeof value === "string" || typeof value === "boolean") return true;
  if (typeof value === "number") return Number.isFinite(value);
  if (Array.isArray(value)) return value.every((v) => isJsonValue(v, depth - 1));
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.values(value as Record<string, unknown>).every((v) => isJsonValue(v, depth - 1));
  }
  return false;
}

function checkOptions(name: string, options: unknown): JsonObject {
  if (!isPlainObject(options) || !isJsonValue(options, 16)) {
    throw new InvalidArgumentError(`schema.attributes.${name}.options must be a JSON object (finite numbers, at most 16 levels)`);
  }
  const text = JSON.stringify(options);
  if (text.length > MAX_OPTIONS_JSON) throw new InvalidArgumentError(`schema.attributes.${name}.options is ${text.length} characters of JSON; at most ${MAX_OPTIONS_JSON}`);
  return JSON.parse(text) as JsonObject; // a copy: later changes to the caller's object do not reach the manifest
}

function declaredAttribute(name: string, input: unknown): DeclaredAttribute {
  if (name.length === 0 || name.length > MAX_NAME) throw new InvalidArgumentError(`schema.attributes: a name has 1 to ${MAX_NAME} characters`);
  if (typeof input === "string") return { type: checkType(name, input) };
  if (!isPlainObject(input)) throw new InvalidArgumentError(`schema.attributes.${name}: a type or an object {type, filterable?, options?}`);
  for (const key of Object.keys(input)) if (!ATTRIBUTE_KEYS.has(key)) throw new InvalidArgumentError(`schema.attributes.${name}: unknown field ${JSON.stringify(key)}`);
  const type = checkType(name, input["type"]);
  const filterable = input["filterable"];
  if (filterable !== undefined && typeof filterable !== "boolean") throw new InvalidArgumentError(`schema.attributes.${name}.filterable must be a boolean`);
  const options = input["options"] === undefined ? undefined : checkOptions(name, input["options"]);
  return { type, ...(filterable === undefined ? {} : { filterable }), ...(options === undefined ? {} : { options }) };
}

/** Checks a declared schema (InvalidArgument naming the field). */
export function resolveSchemaInput(input: unknown): DeclaredSchema {
  if (!isPlainObject(input)) throw new InvalidArgumentError("schema must be an object {idType?, attributes?}");
  for (const key of Object.keys(input)) if (!INPUT_KEYS.has(key)) throw new InvalidArgumentError(`schema: unknown field ${JSON.stringify(key)}`);
  const idType = input["idType"];
  if (idType !== undefined && (typeof idType !== "string" || !(ID_TYPES as readonly string[]).includes(idType))) {
    throw new InvalidArgumentError(`schema.idType must be one of ${ID_TYPES.join(", ")}; got ${JSON.stringify(idType)}`);
  }
  const raw = input["attributes"] ?? {};
  if (!isPlainObject(raw)) throw new InvalidArgumentError("schema.attributes must be an object of attribute name -> type or {type, filterable?, options?}");
  const names = Object.keys(raw);
  if (names.length > MAX_SCHEMA_ATTRIBUTES) throw new InvalidArgumentError(`schema.attributes holds ${names.length} attributes; at most ${MAX_SCHEMA_ATTRIBUTES}`);
  const attributes = new Map<string, DeclaredAttribute>();
  for (const name of names.sort()) attributes.set(name, declaredAttribute(name, raw[name]));
  return { ...(idType === undefined ? {} : { idType: idType as IdType }), attributes };
}

/** The type an attribute may change to from `from`: the same, or a widening of int to float. */
export function widens(from: AttributeType, to: AttributeType): boolean {
  return from === to || (from === "int" && to === "float") || (from === "[]int" && to === "[]float");
}

/**
 * `base` with `declared` merged in (module comment); `hasRows`: the namespace holds rows written before it had
 * an id type. SchemaChangeError for a change the rules refuse.
 */
export function mergeSchema(base: NamespaceSchema | undefined, declared: DeclaredSchema, hasRows: boolean): NamespaceSchema {
  const current = base?.idType;
  let idType = current;
  if (declared.idType !== undefined && declared.idType !== current) {
    if (current !== undefined) throw new SchemaChangeError("id", current, declared.idType);
    if (hasRows && declared.idType !== "string") throw new SchemaChangeError("id", "string (the namespace already holds documents)", declared.idType);
    idType = declared.idType;
  }
  const attributes = new Map(base?.attributes ?? []);
  for (const [name, d] of declared.attributes) {
    const was = attributes.get(name);
    if (was !== undefined && !widens(was.type, d.type)) throw new SchemaChangeError(name, was.type, d.type);
    // Segments compacted while it was not filterable have no index for it.
    if (was !== undefined && !was.filterable && d.filterable === true) throw new SchemaChangeError(name, "filterable: false", "filterable: true");
    const options = d.options ?? was?.options;
    attributes.set(name, { type: d.type, filterable: d.filterable ?? was?.filterable ?? true, ...(options === undefined ? {} : { options }) });
  }
  if (attributes.size > MAX_SCHEMA_ATTRIBUTES) throw new InvalidArgumentError(`the schema would hold ${attributes.size} attributes; at most ${MAX_SCHEMA_ATTRIBUTES}`);
  return { ...(idType === undefined ? {} : { idType }), attributes: sortedAttributes(attributes) };
}

export function sortedAttributes(attributes: ReadonlyMap<string, AttributeSchema>): Map<string, AttributeSchema> {
  return new Map([...attributes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The schema as `NamespaceInfo` reports it (attributes sorted by name); undefined for a schemaless namespace. */
export function schemaInfo(schema: NamespaceSchema | undefined): NamespaceSchemaInfo | undefined {
  if (schema === undefined) return undefined;
  const entries = [...schema.attributes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { idType: schema.idType, attributes: Object.fromEntries(entries) };
}

/** Names of the attributes declared `filterable: false`. */
export function unfilterableAttributes(schema: NamespaceSchema | undefined): ReadonlySet<string> {
  const out = new Set<string>();
  for (const [name, a] of schema?.attributes ?? []) if (!a.filterable) out.add(name);
  return out;
}
