/**
 * Attribute values against the namespace's typed schema.
 *
 * When a write is encoded (`typeAttributes`), with the schema the engine last saw: a value of a declared attribute
 * must fit its type (SchemaViolationError naming the document and attribute; nothing of the write is applied):
 * `string`; `int` (a safe integer); `uint` (a non-negative safe integer); `float` (a finite number); `bool`;
 * `uuid` (a UUID string, stored lower case); `datetime` (a string `Date.parse` reads, stored as the UTC ISO
 * string with milliseconds, so string order is time order); `[]T` an array of those. A fractional number for an
 * `int` attribute (`[]int`) widens it to `float`. `null` (a patch's removal) is always allowed. The type of each
 * value of an undeclared attribute is recorded: `string`, `bool`, `int`/`uint` (integers; `uint` when not
 * negative), `float`, or an array of one of those (integers and fractions together: `[]float`); other values
 * (objects, empty or mixed arrays) stay untyped.
 *
 * When the write commits (`applyObservedTypes`), against the manifest it commits on: every recorded type must
 * fit the schema there, and the types of undeclared attributes are added to it (non-negative integers as `int`).
 *
 * 64-bit integers: a value beyond 2^53-1 is a `bigint` (a JavaScript number would round it). A bigint is an `int`
 * (i64: -2^63..2^63-1) or a `uint` (u64: 0..2^64-1); an undeclared one is recorded as `uint` when not negative
 * (up to 2^64-1) else `int`, and stored exactly. A bigint outside both ranges, or one that does not fit the
 * declared type (a negative for `uint`, beyond 2^63-1 for `int`, any for `float` / `string`...), is a
 * SchemaViolationError. A bigint within the safe range is stored as a number (the engine gives back numbers for
 * safe integers, bigints beyond). A number beyond 2^53-1 (a double) stays `float`: an `int` or `uint` attribute
 * refuses it instead of storing a rounded value.
 */
import { type AttributeSchema, type AttributeType, type NamespaceSchema, stringifyExact } from "@skerry/wal-format";
import { type JsonValue, sortedAttributes } from "../namespace/index.ts";
import { SchemaViolationError } from "../core/index.ts";
import { setOwn } from "@skerry/query";

/**
 * Types recorded per attribute: type -> the id of the first document that has it. Besides the attribute types,
 * `u64` (`[]u64`) records a bigint beyond 2^63-1: an undeclared attribute meeting one becomes `uint` (`[]uint`),
 * not `int`, and only `uint` holds it.
 */
export type ObservedTypes = Map<string, Map<AttributeType, string>>;

/** The recorded type of a non-negative bigint beyond the i64 range (ObservedTypes). */
const U64 = "u64" as AttributeType;
const U64_ARRAY = "[]u64" as AttributeType;

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;
const U64_MAX = (1n << 64n) - 1n;

function scalarType(value: unknown): AttributeType | undefined {
  if (typeof value === "string") return "string";
  if (typeof value === "boolean") return "bool";
  if (typeof value === "bigint") return value < 0n ? (value >= I64_MIN ? "int" : undefined) : value <= I64_MAX ? "uint" : value <= U64_MAX ? U64 : undefined;
  if (typeof value === "number") return Number.isSafeInteger(value) ? (value < 0 ? "int" : "uint") : "float";
  return undefined;
}

/** The type a value has by itself (module comment), or undefined for an untyped value. */
export function valueType(value: unknown): AttributeType | undefined {
  if (!Array.isArray(value)) return scalarType(value);
  if (value.length === 0) return undefined;
  let type: AttributeType | undefined;
  for (const v of value) {
    const t = scalarType(v);
    if (t === undefined) return undefined;
    if (type === undefined || type === t) type = t;
    else if (isNumeric(type) && isNumeric(t)) type = type === "float" || t === "float" ? "float" : type === U64 || t === U64 ? (type === "int" || t === "int" ? undefined : U64) : "int";
    else return undefined;
    if (type === undefined) return undefined; // a u64 beside a negative: no one type holds both
  }
  return `[]${type}` as AttributeType;
}

function isNumeric(t: AttributeType): boolean {
  return t === "int" || t === "uint" || t === "float" || t === U64;
}

/** The attribute type a recorded type names (`u64` is `uint`). */
function attributeType(t: AttributeType): AttributeType {
  return t === U64 ? "uint" : t === U64_ARRAY ? "[]uint" : t;
}

/**
 * `value` with its bigints checked: one within the safe range becomes a number, one outside -2^63..2^64-1 is a
 * SchemaViolationError. Returns `value` itself when it holds none to change.
 */
function checkBigInts(id: string, name: string, value: JsonValue): JsonValue {
  if (typeof value === "bigint") {
    if (value < I64_MIN || value > U64_MAX) throw new SchemaViolationError(id, name, "int", `holds ${value}, outside the 64-bit integer ranges (int: -2^63..2^63-1, uint: 0..2^64-1)`);
    return narrow(value);
  }
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    let out: JsonValue[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = checkBigInts(id, name, value[i] as JsonValue);
      if (v !== value[i]) (out ??= value.slice())[i] = v;
    }
    return out ?? value;
  }
  let out: Record<string, JsonValue> | undefined;
  for (const key of Object.keys(value)) {
    const v = checkBigInts(id, name, value[key] as JsonValue);
    if (v !== value[key]) setOwn((out ??= { ...value }), key, v);
  }
  return out ?? value;
}

function preview(value: unknown): string {
  const text = stringifyExact(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** A bigint within the safe range as a number (module comment). */
function narrow(value: bigint): number | bigint {
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : value;
}

/** `value` as stored for the scalar `type`, or undefined when it does not fit. */
function fitScalar(type: string, value: unknown): unknown {
  switch (type) {
    case "string":
      return typeof value === "string" ? value : undefined;
    case "bool":
      return typeof value === "boolean" ? value : undefined;
    case "int":
      if (typeof value === "bigint") return value >= I64_MIN && value <= I64_MAX ? narrow(value) : undefined;
      return Number.isSafeInteger(value) ? value : undefined;
    case "uint":
      if (typeof value === "bigint") return value >= 0n && value <= U64_MAX ? narrow(value) : undefined;
      return Number.isSafeInteger(value) && (value as number) >= 0 ? value : undefined;
    case "float":
      return typeof value === "number" && Number.isFinite(value) ? value : undefined;
    case "uuid":
      return typeof value === "string" && UUID.test(value) ? value.toLowerCase() : undefined;
    case "datetime": {
      const ms = typeof value === "string" ? Date.parse(value) : Number.NaN;
      return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
    }
    default:
      return undefined;
  }
}

/** `value` as stored for `type`, or undefined when it does not fit. */
export function fitValue(type: AttributeType, value: unknown): JsonValue | undefined {
  if (!type.startsWith("[]")) return fitScalar(type, value) as JsonValue | undefined;
  if (!Array.isArray(value)) return undefined;
  const inner = type.slice(2);
  const out: JsonValue[] = new Array(value.length);
  for (let i = 0; i < value.length; i++) {
    const v = fitScalar(inner, value[i]);
    if (v === undefined) return undefined;
    out[i] = v as JsonValue;
  }
  return out;
}

function record(observed: ObservedTypes, name: string, type: AttributeType, id: string): void {
  let types = observed.get(name);
  if (types === undefined) {
    types = new Map();
    observed.set(name, types);
  }
  if (!types.has(type)) types.set(type, id);
}

/**
 * Checks and normalizes one document's attributes against `schema` (module comment), recording their types in
 * `observed`. Returns the attributes to store: the same object, or a copy when a value was normalized.
 */
export function typeAttributes(
  id: string,
  attributes: Record<string, JsonValue | null>,
  schema: NamespaceSchema | undefined,
  observed: ObservedTypes,
): Record<string, JsonValue | null> {
  let out = attributes;
  for (const name of Object.keys(attributes)) {
    let value = attributes[name];
    if (value === null || value === undefined) continue;
    const checked = checkBigInts(id, name, value);
    if (checked !== value) {
      if (out === attributes) out = { ...attributes };
      setOwn(out, name, checked);
      value = checked;
    }
    const declared = schema?.attributes.get(name);
    if (declared === undefined) {
      const type = valueType(value);
      if (type !== undefined) record(observed, name, type, id);
      continue;
    }
    const stored = fitValue(declared.type, value);
    if (stored !== undefined) {
      if (stored !== value && stringifyExact(stored) !== stringifyExact(value)) {
        if (out === attributes) out = { ...attributes };
        setOwn(out, name, stored);
      }
      record(observed, name, declared.type, id);
      continue;
    }
    const wider = declared.type === "int" ? "float" : declared.type === "[]int" ? "[]float" : undefined;
    if (wider !== undefined && fitValue(wider, value) !== undefined) {
      record(observed, name, wider, id);
      continue;
    }
    throw new SchemaViolationError(id, name, declared.type, `has type ${declared.type}; got ${preview(value)}`);
  }
  return out;
}

/** True when a value recorded as `observed` may be stored in an attribute of type `declared`. */
function fits(declared: AttributeType, observed: AttributeType): boolean {
  if (declared === observed) return true;
  if (observed === U64 || observed === U64_ARRAY) return declared === attributeType(observed);
  const array = declared.startsWith("[]");
  if (array !== observed.startsWith("[]")) return false;
  const d = array ? declared.slice(2) : declared;
  const o = array ? observed.slice(2) : observed;
  return (d === "float" && (o === "int" || o === "uint")) || (d === "int" && o === "uint");
}

/**
 * The schema after a write whose values were recorded as `observed`: undeclared attributes added, `int`
 * attributes that met fractions widened to `float`. SchemaViolationError (naming the first document) when a
 * recorded type does not fit. Returns `schema` itself when nothing changes.
 */
export function applyObservedTypes(schema: NamespaceSchema | undefined, observed: ObservedTypes | undefined): NamespaceSchema | undefined {
  if (observed === undefined || observed.size === 0) return schema;
  let attributes: Map<string, AttributeSchema> | undefined;
  const current = (name: string) => (attributes ?? schema?.attributes)?.get(name);
  const set = (name: string, value: AttributeSchema) => {
    attributes ??= new Map(schema?.attributes ?? []);
    attributes.set(name, value);
  };
  for (const [name, types] of observed) {
    // A u64 first: a new attribute meeting one is `uint`, which its other non-negative integers fit.
    const wide = (t: AttributeType) => (t === U64 || t === U64_ARRAY ? 0 : 1);
    for (const [type, id] of [...types].sort((a, b) => wide(a[0]) - wide(b[0]))) {
      const was = current(name);
      if (was === undefined) {
        set(name, { type: type === "uint" ? "int" : type === "[]uint" ? "[]int" : attributeType(type), filterable: true });
        continue;
      }
      if (fits(was.type, type)) continue;
      const widened = was.type === "int" && type === "float" ? "float" : was.type === "[]int" && type === "[]float" ? "[]float" : undefined;
      if (widened !== undefined) {
        set(name, { ...was, type: widened });
        continue;
      }
      throw new SchemaViolationError(id, name, was.type, `has type ${was.type}; got a value of type ${attributeType(type)}${type === U64 || type === U64_ARRAY ? " (beyond 2^63-1)" : ""}`);
    }
  }
  if (attributes === undefined) return schema;
  return { ...(schema?.idType === undefined ? {} : { idType: schema.idType }), attributes: sortedAttributes(attributes) };
}
