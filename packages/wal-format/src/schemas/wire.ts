/**
 * Building blocks shared by every JSON document schema: zod schemas for the
 * wire primitives (32-hex ids, UUIDs, RFC 3339 timestamps, BLAKE3 hex, safe
 * integers), JSON value types, and the helpers that keep unknown keys.
 *
 * Unknown keys: a document written by a newer minor revision may carry fields
 * this reader does not know. Readers accept them and keep them in an `extra`
 * bag on the decoded value; encoders write them back after the known fields,
 * so a read-modify-write cycle by an older process does not silently drop a
 * newer process's data. Extras are taken from the raw `JSON.parse` output
 * (never from zod's output, which mishandles a `__proto__` key) and stored in
 * null-prototype objects.
 *
 * Timestamps are epoch milliseconds (`number`) in TypeScript and RFC 3339
 * strings on the wire. Writers emit `YYYY-MM-DDTHH:MM:SS.sssZ`; readers accept
 * any RFC 3339 form with an offset and truncate sub-millisecond digits.
 */
import { z } from "zod";
import { SchemaError } from "../errors.ts";

/** A JSON value; in attributes an integer beyond the safe range is a `bigint` (exact-json.ts). */
export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export const idHexSchema = z.string().regex(/^[0-9a-f]{32}$/, "expected 32 lowercase hex characters");
export const uuidSchema = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, "expected a lowercase hyphenated UUID");
export const timestampSchema = z.iso.datetime({ offset: true });
export const blake3HexSchema = z.string().regex(/^[0-9a-f]{64}$/, "expected 64 lowercase hex characters (BLAKE3-256)");
export const countSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const u32Schema = z.number().int().min(0).max(0xffff_ffff);

/** Schema for `schema_version`: an integer from 1 up to what this reader knows. */
export function schemaVersionSchema(current: number) {
  return z.number().int().min(1).max(current);
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** True for the canonical lowercase hyphenated UUID form. */
export function isUuid(value: unknown): value is string {
  return typeof value === "string" && UUID_RE.test(value);
}

/** RFC 3339 wire string -> epoch ms (the string has already been validated). */
export function timestampFromWire(text: string): number {
  return Date.parse(text);
}

/** Epoch ms -> RFC 3339 wire string; rejects values a Date cannot hold. */
export function timestampToWire(ms: number, document: string, field: string): string {
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) {
    throw new SchemaError(document, field, `timestamp ${ms} is not a representable epoch millisecond value`);
  }
  return new Date(Math.trunc(ms)).toISOString();
}

/** A null-prototype object, safe to fill with keys from untrusted input. */
export function bag<T = JsonValue>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/**
 * Keys of `raw` that are not in `known`, as a null-prototype object, or
 * `undefined` when there are none (so decoded values without extras compare
 * equal to values built by hand).
 */
export function extrasOf(raw: Record<string, unknown>, known: ReadonlySet<string>): JsonObject | undefined {
  let out: JsonObject | undefined;
  for (const key of Object.keys(raw)) {
    if (known.has(key)) continue;
    out ??= bag();
    out[key] = raw[key] as JsonValue;
  }
  return out;
}

/** Copy extras into `target` without letting them shadow a known field. */
export function mergeExtras(target: Record<string, unknown>, extra: JsonObject | undefined, known: ReadonlySet<string>): void {
  if (extra === undefined) return;
  for (const key of Object.keys(extra)) {
    if (!known.has(key)) target[key] = extra[key];
  }
}

/** Known keys of a zod object schema. */
export function keysOf(schema: { shape: Record<string, unknown> }): ReadonlySet<string> {
  return new Set(Object.keys(schema.shape));
}

/** Own string keys of a raw record as a Map (keeps `__proto__` and friends). */
export function mapFromRecord<T>(raw: Record<string, unknown>): Map<string, T> {
  const out = new Map<string, T>();
  for (const key of Object.keys(raw)) out.set(key, raw[key] as T);
  return out;
}

/** A Map as a null-prototype record for the wire. */
export function recordFromMap<T>(map: ReadonlyMap<string, T>): Record<string, T> {
  const out = bag<T>();
  for (const [key, value] of map) out[key] = value;
  return out;
}
