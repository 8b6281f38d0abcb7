/**
 * `POST /v2/namespaces/:namespace`: turbopuffer's write (upserts, patches,
 * deletes, delete/patch by filter, copy/branch from a namespace, schema and
 * distance metric) on the engine.
 *
 * Order, as turbopuffer applies it: copy_from_namespace / branch_from_namespace
 * (alone in its write; the target must not exist: the engine forks into a
 * new namespace), or
 * the schema (the engine's typed schema, tpuf-schema.ts), delete_by_filter, patch_by_filter
 * (each one engine predicate mutation, its own commit), then upserts,
 * patches and deletes as ONE engine batch write (`engine.write`): one
 * manifest version holds all three, applied in that order (a patch sees the
 * same request's upserts, a delete wins over both). `upsert_condition`,
 * `patch_condition` and `delete_condition` (filters whose operands may be
 * `{"$ref_new": attr}`) ride in that batch: the engine evaluates them per
 * document inside the commit, against the version the commit lands on. A
 * namespace that does not exist is created by its first write (turbopuffer
 * creates namespaces implicitly). Patches and deletes of ids that do not
 * exist at the commit are skipped, as turbopuffer does; the engine reports
 * which ids each kind affected. The `{}f16` attribute is the engine
 * document's sparse vector (weights rounded to f16, tpuf-sparse.ts) and
 * also kept as an attribute (rows answer it); `[N]f16` vectors are rounded
 * to f16 (tpuf-f16.ts).
 */
import { setOwn } from "./tpuf-own.ts";
import {
  type DocumentId,
  type DocumentInput,
  type DocumentPatch,
  documentIdKey,
  joinTextElements,
  type JsonObject,
  type JsonValue,
  type NamespaceEngine,
  parseWriteCondition,
  type SparseVector,
  TEXT_ELEMENT_SEPARATOR,
  type WriteBatch,
} from "@skerry/namespace-engine";
import { stringifyJson } from "../../lossless-json.ts";
import type { Manifest } from "@skerry/wal-format";
import { ApiError } from "../../api-error.ts";
import type { AppDeps } from "../../app-context.ts";
import { translateFilter } from "./tpuf-filters.ts";
import { type IdType, fromEngineId, inferIdType, toWriteId } from "./tpuf-ids.ts";
import {
  adoptSchema,
  admitValue,
  declareSchema,
  idTypeOf,
  isF16Vector,
  isFullText,
  isPreTokenized,
  readSchema,
  saveSchema,
  sparseAttributeOf,
  storedValue,
  type TpufSchema,
} from "./tpuf-schema.ts";
import { roundF16 } from "./tpuf-f16.ts";
import { decodeSparse, encodeSparse } from "./tpuf-sparse.ts";
import { preTokenizedText } from "./tpuf-tokens.ts";
import { decodeVector } from "./tpuf-vectors.ts";

const KNOWN = new Set([
  "upsert_rows",
  "upsert_columns",
  "patch_rows",
  "patch_columns",
  "deletes",
  "delete_by_filter",
  "delete_by_filter_allow_partial",
  "patch_by_filter",
  "patch_by_filter_allow_partial",
  "distance_metric",
  "schema",
  "copy_from_namespace",
  "branch_from_namespace",
  "return_affected_ids",
  "disable_backpressure",
  "encryption",
  "upsert_condition",
  "patch_condition",
  "delete_condition",
]);
const UNSUPPORTED: Readonly<Record<string, string>> = {
  sharding: "sharding",
};

export interface TpufWriteResponse {
  status: "OK";
  message: string;
  rows_affected: number;
  rows_upserted?: number;
  rows_patched?: number;
  rows_deleted?: number;
  rows_remaining?: boolean;
  upserted_ids?: (string | number | bigint)[];
  patched_ids?: (string | number | bigint)[];
  deleted_ids?: (string | number | bigint)[];
  billing: { billable_logical_bytes_written: number };
  performance: { server_total_ms: number };
}

/** turbopuffer's metric names -> the engine's (EUCLIDEAN answers the L2 distance, squared on the way out). */
export function engineMetric(metric: unknown): "cosine" | "euclidean" {
  if (metric === "cosine_distance") return "cosine";
  if (metric === "euclidean_squared") return "euclidean";
  throw new ApiError("InvalidArgument", `distance_metric must be cosine_distance or euclidean_squared; got ${JSON.stringify(metric)}`);
}

export function wireMetric(metric: string | undefined): string {
  switch (metric) {
    case "EUCLIDEAN":
      return "euclidean_squared";
    case "DOT":
      return "dot_product";
    default:
      return "cosine_distance";
  }
}

export async function readManifestOrUndefined(engine: NamespaceEngine, path: string, consistency: "strong" | "eventual" = "strong"): Promise<Manifest | undefined> {
  try {
    return await engine.manifest(path, { consistency });
  } catch (error) {
    if ((error as { code?: unknown }).code === "NamespaceNotFound") return undefined;
    throw error;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

interface RowIn {
  readonly id: unknown;
  readonly fields: Record<string, unknown>;
}

/** Rows of `*_rows` and `*_columns` together. */
function rowsOf(body: Record<string, unknown>, kind: "upsert" | "patch"): RowIn[] {
  const out: RowIn[] = [];
  const rows = body[`${kind}_rows`];
  if (rows !== undefined) {
    if (!Array.isArray(rows)) throw new ApiError("InvalidArgument", `${kind}_rows must be an array of rows`);
    rows.forEach((row, i) => {
      if (!isObject(row) || !Object.hasOwn(row, "id")) throw new ApiError("InvalidArgument", `${kind}_rows[${i}]: a row is an object with an id`);
      const { id, ...fields } = row;
      out.push({ id, fields });
    });
  }
  const columns = body[`${kind}_columns`];
  if (columns !== undefined) {
    if (!isObject(columns) || !Array.isArray(columns["id"])) throw new ApiError("InvalidArgument", `${kind}_columns must be an object with an id column`);
    const ids = columns["id"] as unknown[];
    const n = ids.length;
    const cols = new Map<string, unknown[]>();
    for (const [name, values] of Object.entries(columns)) {
      if (name === "id") continue;
      if (name === "vector" && (typeof values === "string" || (Array.isArray(values) && values.length > 0 && typeof values[0] === "number"))) {
        const flat = decodeVector(values, `${kind}_columns.vector`);
        if (n === 0 || flat.length % n !== 0) throw new ApiError("InvalidArgument", `${kind}_columns.vector: ${flat.length} numbers do not split into ${n} vectors`);
        const d = flat.length / n;
        cols.set(name, Array.from({ length: n }, (_, i) => flat.slice(i * d, (i + 1) * d)));
        continue;
      }
      if (!Array.isArray(values) || values.length !== n) throw new ApiError("InvalidArgument", `${kind}_columns.${name}: every column has one value per id (${n})`);
      cols.set(name, values);
    }
    for (let i = 0; i < n; i++) {
      const fields: Record<string, unknown> = {};
      for (const [name, values] of cols) setOwn(fields, name, values[i]);
      out.push({ id: ids[i], fields });
    }
  }
  return out;
}

/**
 * The engine text of a full-text attribute's value. A `[]string` is a text of several elements (the engine's
 * `joinTextElements`, U+001E between them), so a phrase (`ContainsTokenSequence`) matches within one string, not
 * across two: turbopuffer evaluates it "independently per array element" (https://turbopuffer.com/docs/query). A
 * U+001E inside a string (or in a `string` value, one element) becomes a space: both split words alike, and only the
 * array's own boundaries separate elements.
 */
function textOf(value: unknown, preTokenized: boolean, where: string): string | undefined {
  if (preTokenized) return preTokenizedText(value, where, "InvalidArgument");
  if (typeof value === "string") return value.replaceAll(TEXT_ELEMENT_SEPARATOR, " ");
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return joinTextElements(value.map((v) => v.replaceAll(TEXT_ELEMENT_SEPARATOR, " ")));
  return undefined;
}

export interface WriteContext {
  readonly deps: AppDeps;
  readonly path: string;
  readonly org: string;
  readonly project: string;
  /** The org/project another API key may read (copy_from_namespace.source_api_key). */
  readonly projectOfKey: (key: string) => Promise<{ org: string; project: string } | undefined>;
}

function sourceName(value: unknown, what: string): { name: string; apiKey?: string } {
  if (typeof value === "string") return { name: value };
  if (isObject(value) && typeof value["source_namespace"] === "string") {
    if (value["source_region"] !== undefined) throw new ApiError("InvalidArgument", `${what}.source_region: Skerry has one region; omit it`);
    const apiKey = value["source_api_key"];
    if (apiKey !== undefined && typeof apiKey !== "string") throw new ApiError("InvalidArgument", `${what}.source_api_key must be a string`);
    return apiKey === undefined ? { name: value["source_namespace"] } : { name: value["source_namespace"], apiKey };
  }
  throw new ApiError("InvalidArgument", `${what}: a namespace name or { source_namespace }`);
}

export async function tpufWrite(ctx: WriteContext, body: unknown): Promise<TpufWriteResponse> {
  const started = performance.now();
  const { deps, path } = ctx;
  const { engine } = deps;
  if (!isObject(body)) throw new ApiError("InvalidArgument", "the write body is a JSON object");
  for (const key of Object.keys(body)) {
    const unsupported = UNSUPPORTED[key];
    if (unsupported !== undefined) throw new ApiError("InvalidArgument", `${unsupported} is not supported by Skerry (see docs/turbopuffer-compat.md)`, { unsupported: key });
    if (!KNOWN.has(key)) throw new ApiError("InvalidArgument", `unknown write parameter ${JSON.stringify(key)}`);
  }
  const encryption = body["encryption"];
  if (encryption !== undefined && !(isObject(encryption) && encryption["mode"] === "default")) {
    throw new ApiError("InvalidArgument", "encryption: only { mode: \"default\" } (the store's own) is supported", { unsupported: "encryption" });
  }
  const returnIds = body["return_affected_ids"] === true;
  const acts = ["upsert_rows", "upsert_columns", "patch_rows", "patch_columns", "deletes", "delete_by_filter", "patch_by_filter", "schema", "distance_metric", "copy_from_namespace", "branch_from_namespace"];
  if (!acts.some((k) => body[k] !== undefined)) throw new ApiError("InvalidArgument", `a write needs one of ${acts.join(", ")}`);
  let bytesWritten = 0;

  // 1. Copy or branch into this (new) namespace.
  const copy = body["copy_from_namespace"];
  const branch = body["branch_from_namespace"];
  if (copy !== undefined && branch !== undefined) throw new ApiError("InvalidArgument", "copy_from_namespace and branch_from_namespace exclude each other");
  if (copy !== undefined || branch !== undefined) {
    const what = copy !== undefined ? "copy_from_namespace" : "branch_from_namespace";
    const others = Object.keys(body).filter((k) => k !== what && k !== "return_affected_ids" && k !== "encryption" && k !== "disable_backpressure");
    if (others.length > 0) throw new ApiError("InvalidArgument", `${what} is the only operation of its write (also given: ${others.join(", ")})`);
    const source = sourceName(copy ?? branch, what);
    let sourceProject = { org: ctx.org, project: ctx.project };
    if (source.apiKey !== undefined) {
      if (branch !== undefined) throw new ApiError("InvalidArgument", "branch_from_namespace takes no source_api_key: a branch stays in its project");
      const other = await ctx.projectOfKey(source.apiKey);
      if (other === undefined) throw new ApiError("Forbidden", "source_api_key is unknown or has no project");
      sourceProject = other;
    }
    const sourcePath = `${sourceProject.org}/${sourceProject.project}/${source.name}`;
    const info = copy !== undefined ? await engine.copyNamespace(sourcePath, path) : await engine.branchNamespace(sourcePath, path);
    return {
      status: "OK",
      message: `OK: ${copy !== undefined ? "copied" : "branched"} ${info.docCount} documents from ${source.name}`,
      rows_affected: info.docCount,
      ...(info.docCount > 0 ? { rows_upserted: info.docCount } : {}),
      billing: { billable_logical_bytes_written: copy !== undefined ? info.bytes : 0 },
      performance: { server_total_ms: performance.now() - started },
    };
  }

  // 2. What the request writes, checked against the schema before anything is committed (the engine checks it
  //    again at the commit, and records the types of new attributes with it).
  let manifest = await readManifestOrUndefined(engine, path);
  if (manifest !== undefined) manifest = await adoptSchema(engine, path, manifest);
  const schema: TpufSchema = readSchema(manifest);
  const declared = declareSchema(schema, body["schema"]);
  const upsertRows = rowsOf(body, "upsert");
  const patchRows = rowsOf(body, "patch");
  const deleteIds = body["deletes"];
  if (deleteIds !== undefined && !Array.isArray(deleteIds)) throw new ApiError("InvalidArgument", "deletes must be an array of ids");
  const firstId = upsertRows[0]?.id ?? patchRows[0]?.id ?? (deleteIds as unknown[] | undefined)?.[0];
  let idType: IdType | undefined = idTypeOf(schema);
  // The engine fixes the id type with the first write of an empty namespace (integer ids: uint).
  if (idType === undefined && firstId !== undefined) idType = manifest !== undefined && manifest.containers.length > 0 ? "string" : inferIdType(firstId);
  const ids: IdType = idType ?? "string";
  const ops = upsertRows.length + patchRows.length + (deleteIds?.length ?? 0);
  if (ops > deps.limits.maxBatch) {
    throw new ApiError("BatchTooLarge", `${ops} upserts, patches and deletes in one write; the limit is ${deps.limits.maxBatch}: split the batch`);
  }

  let dimension = manifest?.vector?.dimension;
  // The vector's declared type ([N]f32 or [N]f16): N must be the dimension; f16 values are rounded to half precision.
  const declaredVector = /^\[(\d+)\]f(16|32)$/.exec(schema.get("vector")?.type ?? "");
  if (declaredVector !== null) {
    const n = Number(declaredVector[1]);
    if (dimension !== undefined && n !== dimension) throw new ApiError("InvalidArgument", `schema.vector: the namespace's vectors have ${dimension} dimensions; declared ${n}`);
    dimension ??= n;
  }
  const f16Vector = isF16Vector(schema);
  if (f16Vector && !isF16Vector(readSchema(manifest)) && manifest?.vector !== undefined) {
    throw new ApiError("InvalidArgument", `schema.vector: the namespace's vectors are [${manifest.vector.dimension}]f32; changing the type to ${schema.get("vector")?.type} is not supported`);
  }
  const vectorOf = (value: unknown, where: string): number[] => {
    let v = decodeVector(value, where);
    if (dimension === undefined) dimension = v.length;
    else if (v.length !== dimension) throw new ApiError("InvalidArgument", `${where}: the namespace's vectors have ${dimension} dimensions; got ${v.length}`);
    if (f16Vector) {
      v = v.map((x) => {
        const half = roundF16(x);
        if (half === undefined) throw new ApiError("InvalidArgument", `${where}: ${x} does not fit f16 (the vector is ${schema.get("vector")?.type}; |x| <= 65504)`);
        return half;
      });
    }
    return v;
  };
  const fullText = (name: string) => isFullText(schema.get(name));
  const preTokenized = (name: string) => isPreTokenized(schema.get(name));
  // The one {}f16 attribute is the engine's sparse vector; its (f16-rounded) object is also kept as the attribute,
  // which rows answer.
  const sparseName = sparseAttributeOf(schema);
  // Two writers that declared different {}f16 attributes concurrently may both have committed: the first (by
  // name) is the sparse vector, a value for another one is a 400 (never kept outside the sparse index silently).
  const checkSparseField = (name: string, where: string) => {
    if (name !== sparseName && schema.get(name)?.type === "{}f16") {
      throw new ApiError("InvalidArgument", `${where}: ${JSON.stringify(name)} is a second sparse vector attribute beside ${JSON.stringify(sparseName)}; Skerry holds one sparse vector per document`);
    }
  };
  const sparseOf = (value: unknown, where: string) => {
    const wire = decodeSparse(value, where, true);
    return { sparse: { indices: wire.indices, values: wire.values }, stored: encodeSparse(wire) as JsonObject };
  };

  const upserts: DocumentInput<DocumentId>[] = upsertRows.map((row, i) => {
    const where = `upsert row ${i}`;
    const attributes: JsonObject = {};
    const text: Record<string, string> = {};
    let vector: number[] | undefined;
    let sparse: SparseVector | undefined;
    for (const [name, value] of Object.entries(row.fields)) {
      if (name === "vector") {
        if (value !== null && value !== undefined) vector = vectorOf(value, `${where}.vector`);
        continue;
      }
      if (value === null || value === undefined) continue;
      if (name === sparseName) {
        const s = sparseOf(value, `${where}.${name}`);
        sparse = s.sparse;
        setOwn(attributes as Record<string, unknown>, name, s.stored);
        continue;
      }
      checkSparseField(name, where);
      admitValue(schema, name, value, where);
      setOwn(attributes as Record<string, unknown>, name, storedValue(schema.get(name)?.type, value, where));
      if (fullText(name)) {
        const t = textOf(value, preTokenized(name), `${where}.${name}`);
        if (t !== undefined) setOwn(text, name, t);
      }
    }
    return {
      id: toWriteId(row.id, ids, where),
      ...(vector === undefined ? {} : { vector }),
      ...(sparse === undefined ? {} : { sparse }),
      ...(Object.keys(attributes).length === 0 ? {} : { attributes }),
      ...(Object.keys(text).length === 0 ? {} : { text }),
    };
  });
  const patches: DocumentPatch<DocumentId>[] = patchRows.map((row, i) => {
    const where = `patch row ${i}`;
    const attributes: Record<string, JsonValue | null> = {};
    const text: Record<string, string | null> = {};
    let vector: number[] | null | undefined;
    let sparse: SparseVector | null | undefined;
    for (const [name, value] of Object.entries(row.fields)) {
      if (value === undefined) continue;
      if (name === "vector") {
        vector = value === null ? null : vectorOf(value, `${where}.vector`);
        continue;
      }
      if (name === sparseName) {
        const s = value === null ? undefined : sparseOf(value, `${where}.${name}`);
        sparse = s === undefined ? null : s.sparse;
        setOwn(attributes, name, s === undefined ? null : s.stored);
        continue;
      }
      checkSparseField(name, where);
      admitValue(schema, name, value, where);
      setOwn(attributes, name, storedValue(schema.get(name)?.type, value, where));
      if (fullText(name)) setOwn(text, name, value === null ? null : (textOf(value, preTokenized(name), `${where}.${name}`) ?? null));
    }
    return {
      id: toWriteId(row.id, ids, where),
      ...(vector === undefined ? {} : { vector }),
      ...(sparse === undefined ? {} : { sparse }),
      ...(Object.keys(attributes).length === 0 ? {} : { attributes }),
      ...(Object.keys(text).length === 0 ? {} : { text }),
    };
  });
  const deletes = ((deleteIds ?? []) as unknown[]).map((id, i) => toWriteId(id, ids, `deletes[${i}]`));
  // "If the same document ID appears multiple times in the request, the request will fail with an HTTP 400 error"
  // (https://turbopuffer.com/docs/write, "Row-based writes" / "Column-based writes"): across upserts, patches and deletes.
  const seen = new Map<string, string>();
  const once = (id: DocumentId, where: string) => {
    const key = documentIdKey(id);
    const first = seen.get(key);
    if (first !== undefined) throw new ApiError("InvalidArgument", `${where}: the id ${JSON.stringify(String(id))} appears more than once in the request (also at ${first})`);
    seen.set(key, where);
  };
  for (const [i, u] of upserts.entries()) once(u.id, `upserts[${i}]`);
  for (const [i, p] of patches.entries()) once(p.id, `patches[${i}]`);
  for (const [i, id] of deletes.entries()) once(id, `deletes[${i}]`);

  const patchByFilter = body["patch_by_filter"];
  let filterPatch: { filter: unknown[]; patch: Omit<DocumentPatch, "id"> } | undefined;
  if (patchByFilter !== undefined) {
    if (!isObject(patchByFilter) || !isObject(patchByFilter["patch"]) || patchByFilter["filters"] === undefined) {
      throw new ApiError("InvalidArgument", "patch_by_filter is { filters, patch }");
    }
    const attributes: Record<string, JsonValue | null> = {};
    const text: Record<string, string | null> = {};
    let sparse: SparseVector | null | undefined;
    for (const [name, value] of Object.entries(patchByFilter["patch"])) {
      if (name === "id" || name === "vector") throw new ApiError("InvalidArgument", `patch_by_filter.patch.${name}: only attributes can be patched by filter`);
      if (name === sparseName) {
        const s = value === null ? undefined : sparseOf(value, `patch_by_filter.patch.${name}`);
        sparse = s === undefined ? null : s.sparse;
        setOwn(attributes, name, s === undefined ? null : s.stored);
        continue;
      }
      checkSparseField(name, "patch_by_filter.patch");
      admitValue(schema, name, value, "patch_by_filter.patch");
      setOwn(attributes, name, storedValue(schema.get(name)?.type, value, "patch_by_filter.patch"));
      if (fullText(name)) setOwn(text, name, value === null ? null : (textOf(value, preTokenized(name), `patch_by_filter.patch.${name}`) ?? null));
    }
    filterPatch = {
      filter: translateFilter(patchByFilter["filters"], ids, "patch_by_filter.filters", schema),
      patch: { attributes, ...(sparse === undefined ? {} : { sparse }), ...(Object.keys(text).length === 0 ? {} : { text }) },
    };
  }
  const deleteFilter = body["delete_by_filter"] === undefined ? undefined : translateFilter(body["delete_by_filter"], ids, "delete_by_filter", schema);

  // Conditions: translated and checked before anything is committed; the engine evaluates them at the commit.
  const condition = (key: string): unknown[] | undefined => {
    const raw = body[key];
    if (raw === undefined || raw === null) return undefined;
    const translated = translateFilter(raw, ids, key, schema);
    parseWriteCondition(translated, key);
    return translated;
  };
  const upsertCondition = condition("upsert_condition");
  const patchCondition = condition("patch_condition");
  const deleteCondition = condition("delete_condition");

  // 3. The namespace (created by its first write) and its schema.
  const metric = body["distance_metric"] === undefined ? undefined : engineMetric(body["distance_metric"]);
  if (manifest === undefined) {
    try {
      await engine.createNamespace(path, { schema: {}, ...(metric === undefined ? {} : { distanceMetric: metric }) });
    } catch (error) {
      if ((error as { code?: unknown }).code !== "NamespaceExists") throw error;
    }
    manifest = await adoptSchema(engine, path, await engine.manifest(path));
  }
  if (metric !== undefined && manifest.vector?.metric !== metric.toUpperCase()) {
    throw new ApiError(
      "InvalidArgument",
      `distance_metric ${String(body["distance_metric"])} differs from the namespace's ${wireMetric(manifest.vector?.metric)} (a namespace's metric is fixed)`,
    );
  }
  // Declared attributes (and their full-text options) are committed before the rows; inferred ones commit with them.
  if (declared) await saveSchema(engine, path, schema);

  // 4. Predicate mutations, each its own commit, each bounded (turbopuffer's limits; *_allow_partial: up to the
  // limit, the rest reported by rows_remaining).
  let deletedByFilter: readonly string[] = [];
  let patchedByFilter: readonly string[] = [];
  let remaining: boolean | undefined;
  if (deleteFilter !== undefined) {
    const allowPartial = body["delete_by_filter_allow_partial"] === true;
    const result = await engine.deleteByFilter(path, deleteFilter, { maxTargets: deps.limits.maxDeleteByFilter, allowPartial });
    deletedByFilter = result.deletedIds;
    remaining = result.remaining;
  }
  if (filterPatch !== undefined) {
    const allowPartial = body["patch_by_filter_allow_partial"] === true;
    const result = await engine.patchByFilter(path, filterPatch.filter, filterPatch.patch, { maxTargets: deps.limits.maxPatchByFilter, allowPartial });
    patchedByFilter = result.patchedIds;
    remaining = remaining === true || result.remaining;
  }

  // 5. Upserts, patches and deletes: one engine batch write, its conditions evaluated inside the commit.
  let done: { upserted: readonly string[]; patched: readonly string[]; deleted: readonly string[] } = { upserted: [], patched: [], deleted: [] };
  if (upserts.length + patches.length + deletes.length > 0) {
    const batch: WriteBatch = {
      ...(upserts.length === 0 ? {} : { upserts }),
      ...(patches.length === 0 ? {} : { patches }),
      ...(deletes.length === 0 ? {} : { deletes }),
      ...(upsertCondition === undefined ? {} : { upsertCondition }),
      ...(patchCondition === undefined ? {} : { patchCondition }),
      ...(deleteCondition === undefined ? {} : { deleteCondition }),
    };
    done = await engine.write(path, batch);
  }
  const upsertedIds = new Set(done.upserted);
  const patchedIds = new Set(done.patched);
  const size = (doc: object) => stringifyJson(doc).length;
  for (const u of upserts) if (upsertedIds.has(documentIdKey(u.id))) bytesWritten += size(u);
  for (const p of patches) if (patchedIds.has(documentIdKey(p.id))) bytesWritten += size(p);

  return writeResponse({
    upserted: done.upserted,
    patched: done.patched,
    deleted: done.deleted,
    patchedByFilter,
    deletedByFilter,
    remaining,
    used: {
      upserts: body["upsert_rows"] !== undefined || body["upsert_columns"] !== undefined,
      patches: body["patch_rows"] !== undefined || body["patch_columns"] !== undefined || filterPatch !== undefined,
      deletes: body["deletes"] !== undefined || deleteFilter !== undefined,
    },
    bytesWritten,
    started,
    returnIds,
    ids,
  });
}

interface Applied {
  readonly upserted: readonly string[];
  readonly patched: readonly string[];
  readonly deleted: readonly string[];
  /** Ids patched and deleted by filter (each by its own commit, before the batch). */
  readonly patchedByFilter: readonly string[];
  readonly deletedByFilter: readonly string[];
  /** A filter operation left matching documents (allow_partial); undefined without filter operations. */
  readonly remaining: boolean | undefined;
  /** Which kinds of operation the request used: their rows_* counts are answered, 0 included. */
  readonly used: { readonly upserts: boolean; readonly patches: boolean; readonly deletes: boolean };
  readonly bytesWritten: number;
  readonly started: number;
  readonly returnIds: boolean;
  readonly ids: IdType;
}

function writeResponse(a: Applied): TpufWriteResponse {
  // An id patched by filter and again by patch_rows counts once per operation, as turbopuffer counts operations.
  const patched = [...a.patchedByFilter, ...a.patched];
  const deleted = [...a.deletedByFilter, ...a.deleted];
  const rowsPatched = patched.length;
  const rowsDeleted = deleted.length;
  const rowsUpserted = a.upserted.length;
  const response: TpufWriteResponse = {
    status: "OK",
    message: `OK: ${rowsUpserted} upserted, ${rowsPatched} patched, ${rowsDeleted} deleted`,
    rows_affected: rowsUpserted + rowsPatched + rowsDeleted,
    billing: { billable_logical_bytes_written: a.bytesWritten },
    performance: { server_total_ms: performance.now() - a.started },
  };
  if (a.used.upserts || rowsUpserted > 0) response.rows_upserted = rowsUpserted;
  if (a.used.patches || rowsPatched > 0) response.rows_patched = rowsPatched;
  if (a.used.deletes || rowsDeleted > 0) response.rows_deleted = rowsDeleted;
  if (a.remaining !== undefined) response.rows_remaining = a.remaining;
  if (a.returnIds) {
    if (a.upserted.length > 0) response.upserted_ids = a.upserted.map((id) => fromEngineId(id, a.ids));
    if (patched.length > 0) response.patched_ids = patched.map((id) => fromEngineId(id, a.ids));
    if (deleted.length > 0) response.deleted_ids = deleted.map((id) => fromEngineId(id, a.ids));
  }
  return response;
}
