/**
 * Document ids on the turbopuffer wire and in the engine. turbopuffer ids
 * are unsigned 64-bit integers, UUIDs or strings (one type per namespace):
 * the engine's schema id type (`uint`, `uuid`, `string`), declared
 * (`schema.id`) or fixed by the namespace's first write (integers: `uint`,
 * strings: `string`). A `uint` id is 0 to 2^64-1: a JSON number (parsed
 * losslessly, lossless-json.ts: above 2^53-1 it is a bigint) or a string of
 * digits; the engine keys it by its decimal digits zero-padded to 20, so the
 * key order and id range filters are numeric; it is answered as a JSON
 * number again (written losslessly). A `uuid` id is keyed lower-case.
 */
import { documentIdKey, MAX_UINT_ID } from "@skerry/namespace-engine";
import { ApiError } from "../../api-error.ts";

export type IdType = "uint" | "uuid" | "string";

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** The id type a first write's id implies, when the namespace has none yet. */
export function inferIdType(id: unknown): IdType {
  return typeof id === "number" || typeof id === "bigint" ? "uint" : "string";
}

function show(id: unknown): string {
  return typeof id === "bigint" ? id.toString() : (JSON.stringify(id) ?? String(id));
}

function uintOf(id: unknown, where: string): bigint {
  let n: bigint | undefined;
  if (typeof id === "bigint") n = id;
  else if (typeof id === "number" && Number.isSafeInteger(id)) n = BigInt(id);
  else if (typeof id === "string" && /^\d{1,20}$/.test(id)) n = BigInt(id);
  if (n === undefined || n < 0n || n > MAX_UINT_ID) {
    throw new ApiError("InvalidArgument", `${where}: this namespace's ids are unsigned 64-bit integers (0 to 2^64-1); got ${show(id)}`);
  }
  return n;
}

/** A wire id as the engine's key (filters, reads), for a namespace whose ids are `type`. */
export function toEngineId(id: unknown, type: IdType, where: string): string {
  switch (type) {
    case "uint":
      return documentIdKey(uintOf(id, where));
    case "uuid":
      if (typeof id !== "string" || !UUID.test(id)) throw new ApiError("InvalidArgument", `${where}: this namespace's ids are UUIDs; got ${show(id)}`);
      return id.toLowerCase();
    case "string":
      if (typeof id !== "string" || id === "") throw new ApiError("InvalidArgument", `${where}: this namespace's ids are non-empty strings; got ${show(id)}`);
      if (Buffer.byteLength(id) > 64) throw new ApiError("InvalidArgument", `${where}: a string id is at most 64 bytes`);
      return id;
  }
}

/** A wire id as a write gives it to the engine: a uint id as its bigint (so a first write fixes the id type), others as keys. */
export function toWriteId(id: unknown, type: IdType, where: string): string | bigint {
  return type === "uint" ? uintOf(id, where) : toEngineId(id, type, where);
}

/** An engine key as the wire id: a uint id as a number (a bigint above 2^53-1, written losslessly). */
export function fromEngineId(id: string, type: IdType): string | number | bigint {
  if (type === "uint" && /^\d{20}$/.test(id)) {
    const n = BigInt(id);
    return n <= SAFE ? Number(n) : n;
  }
  return id;
}
