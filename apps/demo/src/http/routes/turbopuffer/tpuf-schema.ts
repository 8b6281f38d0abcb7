/**
 * A namespace's turbopuffer schema: attribute name -> `{ type, ...options }`
 * (turbopuffer's AttributeSchemaConfig), plus `id` (the id type). It lives
 * in the engine's typed schema (`engine.updateSchema`, stored in the
 * manifest): `id` is the engine's id type; an attribute's `type` and
 * `filterable` are the engine's (the engine checks every write against them,
 * infers the types of undeclared attributes, and leaves `filterable: false`
 * attributes out of its filter indexes, refusing filters on them); its other
 * options (`full_text_search`, `regex`, ...) are the engine attribute's
 * `options`, answered back. The vector's type is not stored: it is answered
 * from the namespace's dimension.
 *
 * Namespaces written before the engine had schemas kept the schema in their
 * labels (`tpuf.schema.0`, `tpuf.schema.1`, ...: its JSON in chunks): it is
 * read from there while the manifest has no schema, and moved into the
 * engine's schema (the labels removed) by the next write or schema change
 * (`adoptSchema`).
 *
 * Checked here too, so a write is refused with turbopuffer's messages before
 * anything commits: `type` (values are checked against it; ids by
 * `id.type`), `full_text_search` (a truthy value makes the attribute a BM25
 * text field: its value is also written as the engine document's text; its
 * options, language, stemming, stop words, case, ASCII folding, k1/b...,
 * become the engine's options of that text field, tpuf-fts-options.ts,
 * committed after the schema), `{}f16` (the namespace's one sparse vector
 * attribute: the engine's sparse vector, tpuf-write.ts / tpuf-query.ts; a
 * second one is a 400), `vector: "[N]f16"` (values rounded to f16 on
 * write). Vector types are kept as marker attributes (`VECTOR_MARKER`).
 * The other options (regex, glob, ann...) are stored and answered back,
 * not applied (docs/turbopuffer-compat.md).
 */
import { stringifyJson } from "../../lossless-json.ts";
import type { AttributeSchemaInput, AttributeType, NamespaceEngine, NamespaceSchemaInput } from "@skerry/namespace-engine";
import type { Manifest, NamespaceSchema } from "@skerry/wal-format";
import { ApiError } from "../../api-error.ts";
import { syncTextFields, textFieldOptionsOf } from "./tpuf-fts-options.ts";
import type { IdType } from "./tpuf-ids.ts";

export interface AttrSchema {
  type: string;
  full_text_search?: unknown;
  [option: string]: unknown;
}

export type TpufSchema = Map<string, AttrSchema>;

const PREFIX = "tpuf.schema.";

const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;
const U64_MAX = (1n << 64n) - 1n;
const SCALAR_TYPES = ["string", "int", "uint", "float", "uuid", "datetime", "bool"] as const;
const SCALAR = new Set<string>(SCALAR_TYPES);
const VECTOR_TYPE = /^\[(\d+)\]f(16|32)$/;

/** The schema a namespace kept in its labels before the engine had schemas (empty without one). */
function labelSchema(labels: ReadonlyMap<string, string>): TpufSchema {
  const parts: string[] = [];
  for (let i = 0; labels.has(`${PREFIX}${i}`); i++) parts.push(labels.get(`${PREFIX}${i}`) as string);
  if (parts.length === 0) return new Map();
  try {
    const parsed = JSON.parse(parts.join("")) as Record<string, AttrSchema>;
    return new Map(Object.entries(parsed));
  } catch {
    return new Map();
  }
}

/**
 * Vector-typed attributes (`{}f16` sparse vectors, `vector` declared `[N]f16`) have no engine attribute type:
 * each is kept as a marker attribute of the engine schema, `$tpuf.vector:<name>` (type string, not filterable,
 * never written), whose options are the attribute's turbopuffer schema (`type` and options). The vector data
 * itself is the engine's vector / sparse vector (tpuf-write.ts).
 */
export const VECTOR_MARKER = "$tpuf.vector:";

function fromEngine(schema: NamespaceSchema): TpufSchema {
  const out: TpufSchema = new Map();
  if (schema.idType !== undefined) out.set("id", { type: schema.idType });
  for (const [name, attr] of schema.attributes) {
    if (name.startsWith(VECTOR_MARKER)) {
      const options = (attr.options ?? {}) as Record<string, unknown>;
      if (typeof options["type"] === "string") out.set(name.slice(VECTOR_MARKER.length), { ...options, type: options["type"] });
      continue;
    }
    out.set(name, { ...(attr.options ?? {}), type: attr.type, ...(attr.filterable ? {} : { filterable: false }) });
  }
  return out;
}

/** The turbopuffer schema of a namespace at `manifest` (module comment); empty for none. */
export function readSchema(manifest: Manifest | undefined): TpufSchema {
  if (manifest === undefined) return new Map();
  return manifest.schema === undefined ? labelSchema(manifest.labels) : fromEngine(manifest.schema);
}

const ENGINE_TYPES = new Set([...SCALAR_TYPES, ...[...SCALAR_TYPES].map((t) => `[]${t}`)]);

/** `schema` as the engine's schema declaration (vector types are not the engine's: left out). */
function toEngine(schema: TpufSchema): NamespaceSchemaInput {
  const attributes: Record<string, AttributeSchemaInput> = {};
  let idType: IdType | undefined;
  for (const [name, attr] of schema) {
    if (name === "id") {
      idType = idTypeOf(schema);
      continue;
    }
    if (isVectorMarked(name, attr.type)) {
      const input = { type: "string" as AttributeType, filterable: false, options: JSON.parse(JSON.stringify(attr)) as Record<string, never> };
      Object.defineProperty(attributes, `${VECTOR_MARKER}${name}`, { value: input, enumerable: true, writable: true, configurable: true });
      continue;
    }
    if (!ENGINE_TYPES.has(attr.type)) continue;
    const { type, filterable: declared, ...options } = attr;
    // Pattern options with filterable: false: the engine keeps its filter index (the Regex, Glob and Fuzzy filters
    // use it); the declaration's false is kept in the options (answered back) and other filters are refused by the
    // layer (tpuf-filters.ts). An attribute the engine already has unfilterable stays so (filterable omitted).
    const patternOnly = declared === false && hasPatternOption(attr);
    if (patternOnly) options["filterable"] = false;
    const filterable = patternOnly ? undefined : declared;
    const input = {
      type: type as AttributeType,
      ...(filterable === undefined ? {} : { filterable: filterable !== false }),
      ...(Object.keys(options).length === 0 ? {} : { options: JSON.parse(JSON.stringify(options)) as Record<string, never> }),
    };
    Object.defineProperty(attributes, name, { value: input, enumerable: true, writable: true, configurable: true });
  }
  return { ...(idType === undefined ? {} : { idType }), attributes };
}

/** Attributes kept as vector markers: a `{}f16` attribute, and `vector` declared `[N]f16` (`[N]f32` is answered from the dimension). */
function isVectorMarked(name: string, type: string): boolean {
  return type === SPARSE_TYPE || (name === "vector" && F16_VECTOR_TYPE.test(type));
}

export const SPARSE_TYPE = "{}f16";
const F16_VECTOR_TYPE = /^\[(\d+)\]f16$/;

/** The namespace's sparse vector attribute (the `{}f16` one, the first by name if several; the engine holds one sparse vector per document). */
export function sparseAttributeOf(schema: TpufSchema): string | undefined {
  let first: string | undefined;
  for (const [name, attr] of schema) if (attr.type === SPARSE_TYPE && (first === undefined || name < first)) first = name;
  return first;
}

/** True when `vector` is declared `[N]f16`: its values are rounded to half precision on write. */
export function isF16Vector(schema: TpufSchema): boolean {
  const t = schema.get("vector")?.type;
  return t !== undefined && F16_VECTOR_TYPE.test(t);
}

export function idTypeOf(schema: TpufSchema): IdType | undefined {
  const t = schema.get("id")?.type;
  return t === "uint" || t === "uuid" || t === "string" ? t : undefined;
}

export function isFullText(attr: AttrSchema | undefined): boolean {
  const fts = attr?.full_text_search;
  return fts !== undefined && fts !== false && fts !== null;
}

/** The schema options that enable a filter of their own: `regex` (Regex), `glob` (Glob, IGlob and negations), `fuzzy` (Fuzzy). */
const PATTERN_OPTIONS: readonly (readonly [string, readonly string[]])[] = [
  ["regex", ["Regex"]],
  ["glob", ["Glob", "IGlob", "NotGlob", "NotIGlob"]],
  ["fuzzy", ["Fuzzy"]],
];

function patternOptionSet(attr: AttrSchema, option: string): boolean {
  const v = attr[option];
  return v !== undefined && v !== null && v !== false;
}

/** True when `attr` sets `regex`, `glob` or `fuzzy`. */
function hasPatternOption(attr: AttrSchema): boolean {
  return PATTERN_OPTIONS.some(([option]) => patternOptionSet(attr, option));
}

/**
 * The filter operators an attribute with `regex`, `glob` or `fuzzy` set and `filterable: false` takes (those its
 * pattern options enable); undefined for any other attribute (filterable: every filter; not filterable without
 * pattern options: the engine refuses every filter on it).
 */
export function patternOnlyOps(attr: AttrSchema | undefined): ReadonlySet<string> | undefined {
  if (attr === undefined || attr["filterable"] !== false || !hasPatternOption(attr)) return undefined;
  return new Set(PATTERN_OPTIONS.filter(([option]) => patternOptionSet(attr, option)).flatMap(([, ops]) => ops));
}

/** True for a full_text_search attribute with `tokenizer: "pre_tokenized_array"` (its value is its tokens). */
export function isPreTokenized(attr: AttrSchema | undefined): boolean {
  const fts = attr?.full_text_search;
  return typeof fts === "object" && fts !== null && (fts as Record<string, unknown>)["tokenizer"] === "pre_tokenized_array";
}

function validType(type: string): boolean {
  if (VECTOR_TYPE.test(type) || type === "{}f16" || type === "[]f32" || type === "[]f16") return true;
  return SCALAR.has(type.startsWith("[]") ? type.slice(2) : type);
}

/** One declared attribute schema (a type string or a config object), checked. */
export function normalizeAttr(name: string, input: unknown): AttrSchema {
  const config = typeof input === "string" ? { type: input } : input;
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new ApiError("InvalidArgument", `schema.${name}: a type string or an object with a type`);
  }
  const attr = { ...(config as Record<string, unknown>) } as AttrSchema;
  if (typeof attr.type !== "string" || !validType(attr.type)) {
    throw new ApiError("InvalidArgument", `schema.${name}: unknown type ${JSON.stringify(attr.type)} (string, int, uint, float, uuid, datetime, bool, []<type>, [N]f32, [N]f16, {}f16)`);
  }
  if (name === "id" && !["uint", "uuid", "string"].includes(attr.type)) throw new ApiError("InvalidArgument", "schema.id: the id type is uint, uuid or string");
  if (isFullText(attr) && attr.type !== "string" && attr.type !== "[]string") {
    throw new ApiError("InvalidArgument", `schema.${name}: full_text_search needs type string or []string`);
  }
  if (isFullText(attr)) textFieldOptionsOf(name, attr.full_text_search); // the options are checked here (a 400)
  if (isPreTokenized(attr) && attr.type !== "[]string") {
    throw new ApiError("InvalidArgument", `schema.${name}: the pre_tokenized_array tokenizer needs type []string (each string is one token)`);
  }
  if (name.startsWith("$tpuf.")) throw new ApiError("InvalidArgument", `schema.${name}: attribute names starting with "$tpuf." are reserved`);
  if (attr.type === SPARSE_TYPE) {
    if (name === "vector") throw new ApiError("InvalidArgument", 'schema.vector: "vector" is the dense vector ([N]f32 or [N]f16); name the sparse vector otherwise');
    const knn = attr["sparse_knn"];
    if (knn !== undefined && !(typeof knn === "object" && knn !== null && !Array.isArray(knn) && (knn as Record<string, unknown>)["distance_metric"] === "dot_product")) {
      throw new ApiError("InvalidArgument", `schema.${name}.sparse_knn: { distance_metric: "dot_product" } (the one sparse metric)`);
    }
    if (attr.filterable === true) throw new ApiError("InvalidArgument", `schema.${name}: a sparse vector is not filterable`);
  } else if (attr["sparse_knn"] !== undefined) {
    throw new ApiError("InvalidArgument", `schema.${name}.sparse_knn needs the type {}f16`);
  }
  if (name === "vector" && !VECTOR_TYPE.test(attr.type)) throw new ApiError("InvalidArgument", `schema.vector: the vector's type is [N]f32 or [N]f16; got ${attr.type}`);
  return attr;
}

/** The type a value implies (undefined: null, or a value without a turbopuffer type). */
export function inferType(value: unknown): string | undefined {
  if (typeof value === "string") return "string";
  if (typeof value === "boolean") return "bool";
  if (typeof value === "number") return Number.isInteger(value) ? "int" : "float";
  // Integers are int (i64) unless declared uint (https://turbopuffer.com/docs/schema); one beyond 2^63-1 only a
  // uint holds, so it is inferred uint.
  if (typeof value === "bigint") return value > I64_MAX ? "uint" : "int";
  if (Array.isArray(value) && value.length > 0) {
    const inner = new Set(value.map(inferType));
    if (inner.size === 1) {
      const [t] = inner;
      if (t !== undefined && !t.startsWith("[]")) return `[]${t}`;
    }
    if (inner.size === 2 && inner.has("int") && inner.has("float")) return "[]float";
    if (inner.size === 2 && inner.has("int") && inner.has("uint") && !value.some((v) => typeof v === "number" ? v < 0 : typeof v === "bigint" && v < 0n)) return "[]uint";
  }
  return undefined;
}

function fits(type: string, value: unknown): boolean {
  if (type.startsWith("[]")) return Array.isArray(value) && value.every((v) => fits(type.slice(2), v));
  switch (type) {
    case "string":
    case "datetime":
    case "uuid":
      return typeof value === "string";
    case "bool":
      return typeof value === "boolean";
    case "int":
      return (typeof value === "number" && Number.isInteger(value)) || (typeof value === "bigint" && value >= I64_MIN && value <= I64_MAX);
    case "uint":
      return (typeof value === "number" && Number.isInteger(value) && value >= 0) || (typeof value === "bigint" && value >= 0n && value <= U64_MAX);
    case "float":
      return typeof value === "number";
    default:
      return true; // vector and sparse types are checked where vectors are read
  }
}

/**
 * Checks one attribute value against the schema and records new or widened
 * types in `schema` (returns true when it changed). An int attribute that
 * meets a fractional number widens to float; any other mismatch is a 400.
 */
export function admitValue(schema: TpufSchema, name: string, value: unknown, where: string): boolean {
  if (value === null || value === undefined) return false;
  const outside = (v: unknown) => typeof v === "bigint" && (v < I64_MIN || v > U64_MAX);
  if (outside(value) || (Array.isArray(value) && value.some(outside))) {
    throw new ApiError(
      "InvalidArgument",
      `${where}: attribute ${JSON.stringify(name)} holds an integer outside the 64-bit ranges (int: -2^63..2^63-1, uint: 0..2^64-1)`,
    );
  }
  if (name.startsWith("$tpuf.")) throw new ApiError("InvalidArgument", `${where}: attribute names starting with "$tpuf." are reserved`);
  const declared = schema.get(name);
  if (declared === undefined) {
    const type = inferType(value);
    if (type === undefined) return false;
    schema.set(name, { type });
    return true;
  }
  if (fits(declared.type, value)) return false;
  if ((declared.type === "int" || declared.type === "[]int") && fits(declared.type === "int" ? "float" : "[]float", value)) {
    schema.set(name, { ...declared, type: declared.type === "int" ? "float" : "[]float" });
    return true;
  }
  throw new ApiError("InvalidArgument", `${where}: attribute ${JSON.stringify(name)} has type ${declared.type}; got ${stringifyJson(value).slice(0, 80)}`);
}

/** Merges a declared schema (a write's `schema`, or the schema route's body) into `schema`; a type change is a 400. */
export function declareSchema(schema: TpufSchema, declared: unknown): boolean {
  if (declared === undefined || declared === null) return false;
  if (typeof declared !== "object" || Array.isArray(declared)) throw new ApiError("InvalidArgument", "schema: an object of attribute name -> type or config");
  let changed = false;
  for (const [name, input] of Object.entries(declared as Record<string, unknown>)) {
    const current = schema.get(name);
    const attr = withStopwordsRecorded(name, normalizeAttr(name, input), current);
    // `fuzzy`, `regex`, `glob`: "If set, `filterable` defaults to `false`" (https://turbopuffer.com/docs/write, "Schema").
    if (attr["filterable"] === undefined && hasPatternOption(attr)) attr["filterable"] = false;
    if (current !== undefined && current.type !== attr.type && !(current.type === "int" && attr.type === "float")) {
      throw new ApiError("InvalidArgument", `schema.${name}: the type is ${current.type}; changing it to ${attr.type} is not supported`);
    }
    const merged = { ...current, ...attr };
    if (JSON.stringify(merged) !== JSON.stringify(current)) {
      schema.set(name, merged);
      changed = true;
    }
  }
  checkOneSparse(schema);
  return changed;
}

/**
 * A full-text declaration that omits `remove_stopwords` with it recorded: "Defaults to `false`"
 * (https://turbopuffer.com/docs/write, "Schema": `full_text_search`) for a new full-text attribute; for one that
 * is already full-text, the value its stored declaration has (declarations stored before this rule omit it and
 * mean true: re-declaring such an attribute the same way must not re-tokenize its text). Stored declarations are
 * read with true for an omitted value (tpuf-fts-options.ts), so recording it keeps a new declaration's false.
 */
function withStopwordsRecorded(name: string, attr: AttrSchema, current: AttrSchema | undefined): AttrSchema {
  if (!isFullText(attr) || isPreTokenized(attr)) return attr;
  const fts = attr.full_text_search === true ? {} : { ...(attr.full_text_search as Record<string, unknown>) };
  if (fts["remove_stopwords"] !== undefined && fts["remove_stopwords"] !== null) return attr;
  fts["remove_stopwords"] = current !== undefined && isFullText(current) ? textFieldOptionsOf(name, current.full_text_search).removeStopwords : false;
  return { ...attr, full_text_search: fts };
}

/**
 * A 400 naming the second `{}f16` attribute when `schema` has several (the engine holds one sparse vector per
 * document). Checked on every declaration (two writers declaring different ones concurrently may both commit:
 * then the first by name is the sparse vector and writes to the other are a 400, tpuf-write.ts).
 */
export function checkOneSparse(schema: TpufSchema): void {
  const sparse = [...schema].filter(([, a]) => a.type === SPARSE_TYPE).map(([n]) => n);
  if (sparse.length > 1) {
    const [first, ...others] = sparse;
    throw new ApiError(
      "InvalidArgument",
      `schema.${others.join(", schema.")}: a second sparse vector attribute ({}f16) beside ${JSON.stringify(first)}; Skerry holds one sparse vector per document (docs/turbopuffer-compat.md)`,
      { unsupported: "several sparse vector attributes" },
    );
  }
}

/**
 * Commits `schema` (the namespace's, with a request's declarations merged in) as the engine's schema, then the
 * full-text options it implies. The engine merges it into its schema as it is at the commit (a type change
 * another writer made meanwhile is a 400).
 */
export async function saveSchema(engine: NamespaceEngine, path: string, schema: TpufSchema): Promise<void> {
  await engine.updateSchema(path, toEngine(schema));
  await syncTextFields(engine, path, readSchema, isFullText);
}

/**
 * Gives a namespace without an engine schema one: the schema kept in its labels (namespaces written before the
 * engine had schemas; those labels are removed once it is in the engine's), or an empty one. Returns the manifest
 * after it (the same one when it had a schema).
 */
export async function adoptSchema(engine: NamespaceEngine, path: string, manifest: Manifest): Promise<Manifest> {
  if (manifest.schema !== undefined) return manifest;
  const legacy = labelSchema(manifest.labels);
  await engine.updateSchema(path, toEngine(legacy));
  if (legacy.size > 0) {
    const latest = await engine.manifest(path);
    const labels: Record<string, string> = {};
    for (const [k, v] of latest.labels) if (!k.startsWith(PREFIX)) Object.defineProperty(labels, k, { value: v, enumerable: true, writable: true, configurable: true });
    await engine.updateLabels(path, labels);
    await syncTextFields(engine, path, readSchema, isFullText);
  }
  return engine.manifest(path);
}

/**
 * A value as stored for its declared type: `datetime` values (ISO 8601
 * strings, a date with optional time and zone) become UTC ISO strings with
 * milliseconds, so string order is time order in filters and sorting;
 * `uuid` values are lower-cased. Other types are stored as given.
 */
export function storedValue(type: string | undefined, value: unknown, where: string): unknown {
  if (value === null || value === undefined || type === undefined) return value;
  if (type.startsWith("[]") && Array.isArray(value)) return value.map((v) => storedValue(type.slice(2), v, where));
  if (type === "datetime") {
    const ms = typeof value === "string" ? Date.parse(value) : Number.NaN;
    if (!Number.isFinite(ms)) throw new ApiError("InvalidArgument", `${where}: a datetime is an ISO 8601 string; got ${JSON.stringify(value).slice(0, 80)}`);
    return new Date(ms).toISOString();
  }
  if (type === "uuid" && typeof value === "string") {
    if (!/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(value)) {
      throw new ApiError("InvalidArgument", `${where}: not a UUID: ${JSON.stringify(value).slice(0, 80)}`);
    }
    return value.toLowerCase();
  }
  return value;
}
