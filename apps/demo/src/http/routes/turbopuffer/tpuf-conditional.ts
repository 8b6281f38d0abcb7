/**
 * Conditional writes (`upsert_condition`, `patch_condition`,
 * `delete_condition`): each targeted document is written only if the
 * condition (a turbopuffer filter; `{"$ref_new": "attr"}` operands name the
 * new value) holds for its current version (a missing document has no
 * attributes, so `["attr", "Eq", null]` holds for it).
 *
 * The engine has no per-document conditions, but it has `ifVersion`: the
 * server reads the targeted documents at version V, evaluates the
 * conditions (the engine's `matchesFilter`, the query semantics), and
 * commits with `ifVersion: V`, so nothing changed between the evaluation
 * and the commit; on a conflict it reads and evaluates again. Upserts and
 * patches commit as ONE engine upsert (a patch becomes the whole merged
 * document, exact since it was read at V); deletes follow as a second
 * commit conditioned on the first's version (a conflict there re-evaluates
 * the deletes alone).
 */
import { setOwn } from "./tpuf-own.ts";
import {
  type DocumentInput,
  type DocumentPatch,
  type JsonValue,
  matchesFilter,
  type NamespaceEngine,
  parseQueryRequest,
  type QueryDocument,
} from "@skerry/namespace-engine";
import { ApiError } from "../../api-error.ts";
import { translateFilter } from "./tpuf-filters.ts";
import type { IdType } from "./tpuf-ids.ts";
import type { TpufSchema } from "./tpuf-schema.ts";

const MAX_ATTEMPTS = 32;

export interface Conditions {
  readonly upsert?: unknown;
  readonly patch?: unknown;
  readonly delete?: unknown;
}

export interface ConditionalWrite {
  readonly engine: NamespaceEngine;
  readonly path: string;
  readonly idType: IdType;
  readonly schema: TpufSchema;
  readonly upserts: readonly DocumentInput[];
  readonly patches: readonly DocumentPatch[];
  readonly deletes: readonly string[];
  readonly conditions: Conditions;
}

export interface ConditionalResult {
  readonly upserted: string[];
  readonly patched: string[];
  readonly deleted: string[];
}

interface Doc {
  readonly id: string;
  readonly vector?: Float32Array | readonly number[];
  readonly sparse?: DocumentInput["sparse"];
  readonly text?: Readonly<Record<string, string>>;
  readonly attributes?: Readonly<Record<string, JsonValue>>;
}

function hasRefNew(node: unknown): boolean {
  if (Array.isArray(node)) return node.some(hasRefNew);
  return typeof node === "object" && node !== null && Object.hasOwn(node, "$ref_new");
}

/** The filter with every `{"$ref_new": attr}` replaced by the new document's value (null when it has none). */
function substitute(node: unknown, next: Doc): unknown {
  if (Array.isArray(node)) return node.map((n) => substitute(n, next));
  if (typeof node === "object" && node !== null && Object.hasOwn(node, "$ref_new")) {
    const attr = (node as { $ref_new: unknown }).$ref_new;
    if (typeof attr !== "string") throw new ApiError("InvalidQuery", '{"$ref_new": attribute} names an attribute');
    if (attr === "id") return next.id;
    return next.attributes !== undefined && Object.hasOwn(next.attributes, attr) ? next.attributes[attr] : null;
  }
  return node;
}

class Condition {
  readonly #raw: unknown;
  readonly #fixed: ReturnType<Condition["parse"]> | undefined;
  constructor(
    raw: unknown,
    readonly idType: IdType,
    readonly schema: TpufSchema,
    readonly where: string,
  ) {
    this.#raw = raw;
    this.#fixed = hasRefNew(raw) ? undefined : this.parse(raw);
  }

  parse(raw: unknown) {
    const filter = parseQueryRequest({ filters: translateFilter(raw, this.idType, this.where, this.schema), topK: 1 }).filters;
    if (filter === undefined) throw new ApiError("InvalidQuery", `${this.where}: a filter`);
    return filter;
  }

  holds(current: Doc, next: Doc | undefined): boolean {
    const filter = this.#fixed ?? this.parse(substitute(this.#raw, next ?? current));
    return matchesFilter(current as QueryDocument, filter);
  }
}

function merge(existing: Doc, patch: DocumentPatch): Doc {
  const attributes: Record<string, JsonValue> = { ...existing.attributes };
  for (const [k, v] of Object.entries(patch.attributes ?? {})) {
    if (v === null) delete attributes[k];
    else setOwn(attributes, k, v);
  }
  const text: Record<string, string> = { ...existing.text };
  for (const [k, v] of Object.entries(patch.text ?? {})) {
    if (v === null) delete text[k];
    else setOwn(text, k, v);
  }
  const vector = patch.vector === null ? undefined : (patch.vector ?? existing.vector);
  const sparse = patch.sparse === null ? undefined : (patch.sparse ?? existing.sparse);
  return {
    id: existing.id,
    ...(vector === undefined ? {} : { vector }),
    ...(sparse === undefined ? {} : { sparse }),
    ...(Object.keys(text).length === 0 ? {} : { text }),
    ...(Object.keys(attributes).length === 0 ? {} : { attributes }),
  };
}

function isVersionConflict(error: unknown): boolean {
  return (error as { code?: unknown }).code === "VersionConflict";
}

/** Checks the conditions that name no new value before anything is committed (the others are checked per document). */
export function checkConditions(conditions: Conditions, idType: IdType, schema: TpufSchema): void {
  for (const [kind, raw] of Object.entries(conditions)) {
    if (raw !== undefined && raw !== null && !hasRefNew(raw)) new Condition(raw, idType, schema, `${kind}_condition`);
  }
}

export async function conditionalWrite(w: ConditionalWrite): Promise<ConditionalResult> {
  const cond = (raw: unknown, where: string) => (raw === undefined || raw === null ? undefined : new Condition(raw, w.idType, w.schema, where));
  const upsertCond = cond(w.conditions.upsert, "upsert_condition");
  const patchCond = cond(w.conditions.patch, "patch_condition");
  const deleteCond = cond(w.conditions.delete, "delete_condition");
  const result: ConditionalResult = { upserted: [], patched: [], deleted: [] };
  let writesDone = w.upserts.length === 0 && w.patches.length === 0;
  const ids = [...new Set([...w.upserts.map((u) => u.id), ...w.patches.map((p) => p.id), ...w.deletes])];
  for (let attempt = 1; ; attempt++) {
    const manifest = await w.engine.manifest(w.path);
    let version = manifest.version;
    const found = await w.engine.get(w.path, ids, { atVersion: version, consistency: "eventual" });
    const current = new Map<string, Doc>();
    found.forEach((doc, i) => {
      if (doc !== null) current.set(ids[i] as string, doc);
    });
    const working = new Map(current);
    const upserted: string[] = [];
    const patched: string[] = [];
    const touched = new Set<string>();
    if (!writesDone) {
      for (const u of w.upserts) {
        if (upsertCond !== undefined && !upsertCond.holds(working.get(u.id) ?? { id: u.id }, u as Doc)) continue;
        working.set(u.id, u as Doc);
        touched.add(u.id);
        upserted.push(u.id);
      }
      for (const p of w.patches) {
        const existing = working.get(p.id);
        if (existing === undefined) continue;
        const next = merge(existing, p);
        if (patchCond !== undefined && !patchCond.holds(existing, next)) continue;
        working.set(p.id, next);
        touched.add(p.id);
        patched.push(p.id);
      }
    }
    const deleted: string[] = [];
    for (const id of w.deletes) {
      const existing = working.get(id);
      if (existing === undefined) continue;
      if (deleteCond !== undefined && !deleteCond.holds(existing, undefined)) continue;
      working.delete(id);
      deleted.push(id);
    }
    try {
      if (!writesDone) {
        const docs = [...touched].filter((id) => working.has(id)).map((id) => working.get(id) as DocumentInput);
        if (docs.length > 0) version = (await w.engine.upsert(w.path, docs, { ifVersion: version })).version;
        writesDone = true;
        result.upserted.push(...upserted);
        result.patched.push(...patched);
      }
      const toDelete = deleted.filter((id) => current.has(id) || touched.has(id));
      if (toDelete.length > 0) await w.engine.delete(w.path, toDelete, { ifVersion: version });
      result.deleted.push(...deleted);
      return result;
    } catch (error) {
      if (!isVersionConflict(error) || attempt >= MAX_ATTEMPTS) {
        if (isVersionConflict(error)) throw new ApiError("Conflict", "a conditional write lost the race for its documents too often; nothing more was applied, retry");
        throw error;
      }
    }
  }
}
