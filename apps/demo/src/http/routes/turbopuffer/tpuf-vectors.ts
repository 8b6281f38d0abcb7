/**
 * Vectors on the turbopuffer wire: a JSON array of numbers, or (writes, and
 * answers with `vector_encoding: "base64"`) the base64 of little-endian
 * float32 values.
 */
import { ApiError } from "../../api-error.ts";

export function decodeVector(value: unknown, where: string): number[] {
  if (Array.isArray(value)) {
    for (const x of value) if (typeof x !== "number" || !Number.isFinite(x)) throw new ApiError("InvalidArgument", `${where}: a vector holds finite numbers only`);
    return value as number[];
  }
  if (typeof value === "string") {
    const bytes = Buffer.from(value, "base64");
    if (bytes.byteLength % 4 !== 0 || bytes.byteLength === 0) throw new ApiError("InvalidArgument", `${where}: a base64 vector must be a non-empty multiple of 4 bytes (little-endian f32)`);
    const out: number[] = new Array(bytes.byteLength / 4);
    for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
    return out;
  }
  throw new ApiError("InvalidArgument", `${where}: a vector is an array of numbers or a base64 string of little-endian f32`);
}

export function encodeVectorBase64(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  for (let i = 0; i < vector.length; i++) bytes.writeFloatLE(vector[i] as number, i * 4);
  return bytes.toString("base64");
}
