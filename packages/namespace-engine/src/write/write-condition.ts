/**
 * Write conditions: a per-document condition on an upsert, patch or delete,
 * in the query filter language (@skerry/query query-request.ts, evaluated by
 * `matchesFilter` with the query semantics), whose value operands may be
 * `{"$ref_new": "<attribute>"}`: the value of that attribute in the NEW
 * version of the document (the upserted document, the patched document, or
 * none for a delete), `"id"` naming its id.
 *
 * A reference is allowed as the whole operand of the comparison operators
 * (Eq, NotEq, Lt, Lte, Gt, Gte), of AnyLt / AnyLte / AnyGt / AnyGte, and of
 * In / NotIn / ContainsAny / ContainsAll (an array value), and as elements of
 * a list operand of In / NotIn / ContainsAny / ContainsAll (`["n", "In", [1,
 * {"$ref_new": "m"}]]`): each element reference adds the values it is bound
 * to (a scalar itself, an array its scalar elements, absent or null none) to
 * the list's literal elements. Bound to a value:
 * - absent or null: `Eq` is "the attribute is absent or null" (Not Exists),
 *   `NotEq` is Exists, every other operator matches nothing (a delete has no
 *   new document, so all its references are null);
 * - a scalar: the operator with that operand (a list operator takes it as a
 *   one-element list);
 * - an array or object: `Eq` matches nothing and `NotEq` everything (the
 *   query language compares scalars only); a list operator takes the
 *   array's scalar elements.
 * Patterns (Glob, IGlob, Regex) and token filters take no references;
 * a reference anywhere else is an InvalidArgumentError naming its position
 * (e.g. `upsertCondition: filters[1][0] operand: ...`).
 *
 * Parsing validates the filter once, with each reference replaced by a
 * placeholder of the operand's shape; evaluation binds the references of one
 * document into the parsed tree (no re-parse). Errors: `InvalidArgumentError`
 * naming the condition (InvalidQuery issues are folded into its message).
 */
import type { StoredDocument } from "../namespace/index.ts";
import { InvalidArgumentError } from "../core/index.ts";
import { type Filter, InvalidQueryError, matchesFilter, type MatchOptions, ownValue, parseQueryRequest, type Path, type QueryDocument, type Scalar } from "@skerry/query";

export const REF_NEW = "$ref_new";

/** A parsed write condition. */
export interface WriteCondition {
  readonly filter: Filter;
  /** Filter node path (JSON) -> the attribute its operand references; empty when the condition has no reference. */
  readonly refs: ReadonlyMap<string, string>;
  /** Filter node path (JSON) -> the attributes referenced by elements of its list operand (besides its literal elements). */
  readonly elementRefs: ReadonlyMap<string, readonly string[]>;
}

const COMPARE = new Set(["Eq", "NotEq", "Lt", "Lte", "Gt", "Gte", "AnyLt", "AnyLte", "AnyGt", "AnyGte"]);
const LIST = new Set(["In", "NotIn", "ContainsAny", "ContainsAll"]);
const MATCH_NONE: Filter = { kind: "Or", filters: [], path: [] };
const MATCH_ALL: Filter = { kind: "And", filters: [], path: [] };

function isRef(value: unknown): value is { readonly $ref_new: unknown } {
  return typeof value === "object" && value !== null && !Array.isArray(value) && Object.hasOwn(value, REF_NEW);
}

function pathKey(path: Path): string {
  return JSON.stringify(path);
}

/** A filter node's position for errors: "filters[1][0]". */
function position(path: readonly (string | number)[]): string {
  return path.map((p, i) => (i === 0 ? String(p) : `[${String(p)}]`)).join("");
}

/** The attribute a reference names; InvalidArgumentError (naming `at`) for a malformed one. */
function refAttribute(ref: { readonly $ref_new: unknown }, at: string): string {
  const attribute = ref[REF_NEW];
  if (typeof attribute !== "string" || attribute.length === 0) throw new InvalidArgumentError(`${at}: {"${REF_NEW}": attribute} names an attribute`);
  if (Object.keys(ref).length !== 1) throw new InvalidArgumentError(`${at}: {"${REF_NEW}": attribute} has no other keys`);
  return attribute;
}

/**
 * Copies `raw` with every reference replaced by a placeholder operand, recording where each was. Throws on a
 * reference anywhere else than a whole operand of the operators above.
 */
function placeholders(
  raw: unknown,
  path: (string | number)[],
  refs: Map<string, string>,
  elementRefs: Map<string, string[]>,
  where: string,
): unknown {
  if (isRef(raw)) throw new InvalidArgumentError(`${where}: ${position(path)}: {"${REF_NEW}": attribute} is an operand of a comparison or list operator, not a filter`);
  if (!Array.isArray(raw)) return raw;
  const [head, second] = raw as unknown[];
  if ((head === "And" || head === "Or") && Array.isArray(second) && raw.length === 2) {
    return [head, second.map((f, i) => placeholders(f, [...path, 1, i], refs, elementRefs, where))];
  }
  if (head === "Not" && raw.length === 2) return ["Not", placeholders(second, [...path, 1], refs, elementRefs, where)];
  const out = [...raw];
  const op = typeof second === "string" ? second : "";
  for (let i = 0; i < raw.length; i++) {
    const operand = raw[i];
    const at = `${where}: ${position(path)} operand ${i}`;
    if (!isRef(operand)) {
      if (!Array.isArray(operand) || !operand.some(isRef)) continue;
      // References among the elements of a list operand: bound per document, beside the literal elements.
      if (i !== 2 || !LIST.has(op)) {
        const k = operand.findIndex(isRef);
        throw new InvalidArgumentError(`${at}[${k}]: {"${REF_NEW}": attribute} may be a list element only in the list operand of ${[...LIST].join(", ")}; not of ${JSON.stringify(op)}`);
      }
      const attributes = operand.filter(isRef).map((ref, k) => refAttribute(ref, `${at}[${operand.indexOf(ref, k)}]`));
      elementRefs.set(pathKey(path), attributes);
      out[i] = operand.filter((e) => !isRef(e));
      continue;
    }
    const attribute = refAttribute(operand, at);
    if (i !== 2 || !(COMPARE.has(op) || LIST.has(op))) {
      throw new InvalidArgumentError(`${at}: {"${REF_NEW}": attribute} is allowed as the operand of ${[...COMPARE, ...LIST].join(", ")}; not of ${JSON.stringify(op)}`);
    }
    refs.set(pathKey(path), attribute);
    out[i] = LIST.has(op) ? [] : 0;
  }
  return out;
}

/** Parses and validates a condition (`where` names it in errors, e.g. "upsertCondition"). */
export function parseWriteCondition(raw: unknown, where: string): WriteCondition {
  if (!Array.isArray(raw)) throw new InvalidArgumentError(`${where} must be a filter tuple`);
  const refs = new Map<string, string>();
  const elementRefs = new Map<string, string[]>();
  const plain = placeholders(raw, ["filters"], refs, elementRefs, where);
  let filter: Filter | undefined;
  try {
    filter = parseQueryRequest({ filters: plain, topK: 1 }).filters;
  } catch (error) {
    if (error instanceof InvalidQueryError) throw new InvalidArgumentError(`${where}: ${error.message}`);
    throw error;
  }
  if (filter === undefined) throw new InvalidArgumentError(`${where} must be a filter tuple`);
  return { filter, refs, elementRefs };
}

/** The value of `attribute` in `next` (`id` is its id); undefined when absent. */
function refValue(next: StoredDocument | undefined, attribute: string): unknown {
  if (next === undefined) return undefined;
  if (attribute === "id") return next.id;
  return ownValue(next.attributes, attribute);
}

function isScalar(v: unknown): v is Scalar {
  return typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v));
}

function bindNode(filter: Filter, attribute: string, next: StoredDocument | undefined): Filter {
  const value = refValue(next, attribute);
  switch (filter.kind) {
    case "Compare": {
      if (value === undefined || value === null) {
        if (filter.op === "Eq") return { kind: "Not", filter: { kind: "Exists", field: filter.field, path: filter.path }, path: filter.path };
        return filter.op === "NotEq" ? { kind: "Exists", field: filter.field, path: filter.path } : MATCH_NONE;
      }
      if (!isScalar(value)) return filter.op === "NotEq" ? MATCH_ALL : MATCH_NONE;
      if (typeof value === "boolean" && filter.op !== "Eq" && filter.op !== "NotEq") return MATCH_NONE;
      return { ...filter, value };
    }
    case "AnyCompare":
      return typeof value === "string" || (typeof value === "number" && Number.isFinite(value)) ? { ...filter, value } : MATCH_NONE;
    case "List":
      return { ...filter, values: listValues(value) };
    default:
      return filter;
  }
}

/** What a reference bound to `value` contributes to a list: a scalar itself, an array its scalar elements, else nothing. */
function listValues(value: unknown): Scalar[] {
  return Array.isArray(value) ? value.filter(isScalar) : isScalar(value) ? [value] : [];
}

function bind(filter: Filter, refs: ReadonlyMap<string, string>, elementRefs: ReadonlyMap<string, readonly string[]>, next: StoredDocument | undefined): Filter {
  switch (filter.kind) {
    case "And":
    case "Or":
      return { ...filter, filters: filter.filters.map((f) => bind(f, refs, elementRefs, next)) };
    case "Not":
      return { ...filter, filter: bind(filter.filter, refs, elementRefs, next) };
    default: {
      const key = pathKey(filter.path);
      const elements = elementRefs.get(key);
      if (elements !== undefined && filter.kind === "List") {
        return { ...filter, values: [...filter.values, ...elements.flatMap((attribute) => listValues(refValue(next, attribute)))] };
      }
      const attribute = refs.get(key);
      return attribute === undefined ? filter : bindNode(filter, attribute, next);
    }
  }
}

/** True when `condition` holds for the document's current version `current`, with references bound to `next`. */
export function conditionHolds(condition: WriteCondition, current: StoredDocument, next: StoredDocument | undefined, match: MatchOptions = {}): boolean {
  const filter = condition.refs.size === 0 && condition.elementRefs.size === 0 ? condition.filter : bind(condition.filter, condition.refs, condition.elementRefs, next);
  return matchesFilter(current as QueryDocument, filter, match);
}
