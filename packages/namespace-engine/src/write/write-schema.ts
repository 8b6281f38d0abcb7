/**
 * A write against the namespace's schema at commit. A namespace without a schema (created without one, or
 * written before schemas existed) is schemaless: attributes are untyped JSON and ids strings, except that
 * integer ids in the first write of an empty namespace give it a schema with `uint` ids. In a namespace with a
 * schema, the write's ids must be of its id type and its attribute values' types must fit
 * (attribute-typing.ts); the first write of an empty namespace without an id type fixes it (ids given as
 * integers: `uint`, as strings: `string`), and undeclared attributes get the types of their values. A
 * namespace that holds rows but has no id type has string ids.
 */
import type { NamespaceSchema } from "@skerry/wal-format";
import { applyObservedTypes } from "./attribute-typing.ts";
import { fitsIdType } from "../namespace/index.ts";
import { SchemaViolationError } from "../core/index.ts";
import type { EncodedWrite } from "./write-request.ts";

/**
 * The schema after `write` commits on a manifest whose schema is `schema` (`empty`: the manifest has no rows
 * containers yet). Returns `schema` itself when nothing changes; SchemaViolationError when the write does not fit.
 */
export function schemaAfterWrite(schema: NamespaceSchema | undefined, write: EncodedWrite, empty: boolean): NamespaceSchema | undefined {
  const first = write.ops[0]?.id ?? "";
  if (schema === undefined && !write.idKinds.integer) return undefined; // schemaless
  let next = schema;
  let idType = schema?.idType;
  if (idType === undefined) {
    if (write.idKinds.integer && write.idKinds.string) {
      throw new SchemaViolationError(first, "id", "uint", "is one of integer and string ids mixed in one write; a namespace's ids have one type");
    }
    if (empty && (write.idKinds.integer || write.idKinds.string)) {
      idType = write.idKinds.integer ? "uint" : "string";
      next = { ...next, idType, attributes: next?.attributes ?? new Map() };
    }
  }
  if (write.idKinds.integer && idType !== "uint") {
    throw new SchemaViolationError(first, "id", idType ?? "string", `is one of the integer ids of this write; the namespace's ids are ${idType ?? "string"}s`);
  }
  if (idType === "uint" || idType === "uuid") {
    for (const { id } of write.ops) {
      if (!fitsIdType(id, idType)) {
        throw new SchemaViolationError(id, "id", idType, idType === "uint" ? "is not an unsigned 64-bit integer (0 to 2^64-1)" : "is not a UUID");
      }
    }
  }
  return applyObservedTypes(next, write.observed);
}
