/**
 * Typed document ids. A namespace's ids are all of its schema's `idType`:
 * - `string` (also every namespace without an id type): any non-empty string;
 * - `uint`: unsigned 64-bit integers, 0 to 2^64-1. Callers pass them as a bigint, a non-negative safe integer or
 *   (once the engine knows the namespace's ids are uint) a string of digits;
 *   the engine keys them by their decimal digits zero-padded to 20 (`documentIdKey`), so the key order is numeric
 *   order (scans, id ranges), and `documentIdValue` turns a key back into its bigint;
 * - `uuid`: canonical UUIDs, keyed lower case (an upper-case UUID is lower-cased when the engine knows the
 *   namespace's id type is `uuid`).
 * Read paths (get, scan, query) report the key; `NamespaceInfo.schema.idType` says how to read it.
 */
import type { IdType } from "@skerry/wal-format";
import { InvalidArgumentError } from "../core/index.ts";

/** A document id as callers pass it: a string, or an unsigned integer (uint namespaces). */
export type DocumentId = string | number | bigint;

/** 2^64 - 1, the largest uint id. */
export const MAX_UINT_ID = 18_446_744_073_709_551_615n;
const KEY_DIGITS = 20;
const MAX_KEY = MAX_UINT_ID.toString();
const UINT_KEY = /^[0-9]{20}$/;
const DIGITS = /^[0-9]{1,20}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ANY_CASE_UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** The key of an unsigned integer id (20 zero-padded digits); InvalidArgument outside 0..2^64-1. */
export function uintIdKey(id: number | bigint): string {
  if (typeof id === "number") {
    if (!Number.isSafeInteger(id) || id < 0) throw new InvalidArgumentError(`an integer id is a non-negative safe integer or a bigint up to 2^64-1; got ${id}`);
    return String(id).padStart(KEY_DIGITS, "0");
  }
  if (id < 0n || id > MAX_UINT_ID) throw new InvalidArgumentError(`an integer id is 0 to 2^64-1; got ${id}`);
  return id.toString().padStart(KEY_DIGITS, "0");
}

/** The engine key of an id: integers as `uintIdKey`, strings as given. */
export function documentIdKey(id: DocumentId): string {
  return typeof id === "string" ? id : uintIdKey(id);
}

/** True for the key of a uint id (20 digits, at most 2^64-1). */
export function isUintIdKey(key: string): boolean {
  return UINT_KEY.test(key) && key <= MAX_KEY;
}

/** True when `key` is a valid id of a namespace whose ids are `idType` (undefined: string). */
export function fitsIdType(key: string, idType: IdType | undefined): boolean {
  if (idType === "uint") return isUintIdKey(key);
  if (idType === "uuid") return UUID.test(key);
  return true;
}

/**
 * The key of a string id in a namespace whose ids are `idType`: a UUID lower-cased; in a uint namespace, a string
 * of 1 to 20 digits as the key of that integer ("7" -> "00000000000000000007"); others as given.
 */
export function normalizedStringId(id: string, idType: IdType | undefined): string {
  if (idType === "uuid" && ANY_CASE_UUID.test(id)) return id.toLowerCase();
  if (idType === "uint" && DIGITS.test(id)) {
    const n = BigInt(id);
    if (n <= MAX_UINT_ID) return uintIdKey(n);
  }
  return id;
}

/** A key read back as its typed id: a bigint in a uint namespace, the string otherwise. */
export function documentIdValue(key: string, idType: IdType | undefined): string | bigint {
  return idType === "uint" && isUintIdKey(key) ? BigInt(key) : key;
}
