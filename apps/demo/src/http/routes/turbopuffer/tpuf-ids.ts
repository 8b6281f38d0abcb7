/**
 * Document ids on the turbopuffer wire and in the engine. turbopuffer ids
 * are unsigned 64-bit integers, UUIDs or strings (one type per namespace);
 * engine ids are strings. A `uint` id is stored as its decimal digits
 * zero-padded to 20 (u64 max has 20 digits), so the engine's id order and
 * id range filters agree with numeric order; it is answered as a JSON
 * number again. A `uuid` id is stored lower-case. The namespace's id type
 * is kept in its turbopuffer schema (tpuf-schema.ts): declared (`schema.id`)
 * or taken from the first write's ids.
 *
 * Limit: JSON numbers above 2^53 lose precision in JavaScript, so `uint`
 * ids are accepted up to Number.MAX_SAFE_INTEGER.
 */
import { ApiError } from "../../api-error.ts";

export type IdType = "uint" | "uuid" | "string";

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const PAD = 20;

/** The id type a first write's id implies, when the namespace has none yet. */
export function inferIdType(id: unknown): IdType {
  return typeof id === "number" ? "uint" : "string";
}

/** A wire id as the engine's id, for a namespace whose ids are `type`. */
export function toEngineId(id: unknown, type: IdType, where: string): string {
  switch (type) {
    case "uint": {
      let n: number | undefined;
      if (typeof id === "number") n = id;
      else if (typeof id === "string" && /^\d{1,20}$/.test(id)) n = Number(id);
      if (n === undefined || !Number.isSafeInteger(n) || n < 0) {
        throw new ApiError("InvalidArgument", `${where}: this namespace's ids are unsigned integers (up to 2^53-1); got ${JSON.stringify(id)}`);
      }
      return String(n).padStart(PAD, "0");
    }
    case "uuid":
      if (typeof id !== "string" || !UUID.test(id)) throw new ApiError("InvalidArgument", `${where}: this namespace's ids are UUIDs; got ${JSON.stringify(id)}`);
      return id.toLowerCase();
    case "string":
      if (typeof id !== "string" || id === "") throw new ApiError("InvalidArgument", `${where}: this namespace's ids are non-empty strings; got ${JSON.stringify(id)}`);
      if (Buffer.byteLength(id) > 64) throw new ApiError("InvalidArgument", `${where}: a string id is at most 64 bytes`);
      return id;
  }
}

/** An engine id as the wire id. */
export function fromEngineId(id: string, type: IdType): string | number {
  if (type === "uint" && /^\d{20}$/.test(id)) return Number(id);
  return id;
}
