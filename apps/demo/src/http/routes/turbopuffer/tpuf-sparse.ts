/**
 * Sparse vectors on the turbopuffer wire (`{}f16` attributes, `SparseKNN`
 * queries): a JSON object of dimension -> weight (the client's
 * `Record<string, number>`). Skerry's engine keys a sparse vector's
 * dimensions by u32 (`{indices, values}`), so a dimension is the decimal
 * text of an integer in [0, 2^32 - 1] without sign or leading zeros
 * (`"0"`, `"17"`, `"30521"`: token ids); any other key is a 400 naming it
 * (docs/turbopuffer-compat.md). Stored weights are rounded to f16
 * (tpuf-f16.ts) as turbopuffer stores them; query weights are kept as
 * float32 (the engine's). An object without dimensions is an empty vector.
 */
import { ApiError } from "../../api-error.ts";
import { roundF16 } from "./tpuf-f16.ts";

/** Most dimensions in one sparse vector (a document's or a query's). */
export const MAX_SPARSE_DIMENSIONS = 65_536;

const DIMENSION = /^(0|[1-9][0-9]{0,9})$/;

export interface SparseWire {
  readonly indices: number[];
  readonly values: number[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * A wire sparse vector as the engine's `{indices, values}` (indices ascending); `f16`: the weights rounded to
 * half precision (stored vectors), else float32-checked (queries). `errorCode`: the ApiError code of a bad value.
 */
export function decodeSparse(value: unknown, where: string, f16: boolean, errorCode: "InvalidArgument" | "InvalidQuery" = "InvalidArgument"): SparseWire {
  if (!isObject(value)) {
    throw new ApiError(errorCode, `${where}: a sparse vector is an object of dimension -> weight, like {"17": 0.5, "230": 1.25}`);
  }
  const entries: [number, number][] = [];
  for (const [key, weight] of Object.entries(value)) {
    const index = DIMENSION.test(key) ? Number(key) : Number.NaN;
    if (!(index <= 0xffff_ffff)) {
      throw new ApiError(
        errorCode,
        `${where}: sparse dimension ${JSON.stringify(key).slice(0, 80)} is not served: Skerry keys sparse dimensions by integers 0 to 4294967295 written in decimal ("0", "17"), see docs/turbopuffer-compat.md`,
      );
    }
    if (typeof weight !== "number" || !Number.isFinite(weight)) {
      throw new ApiError(errorCode, `${where}: the weight of sparse dimension ${key} must be a finite number`);
    }
    let stored = Math.fround(weight);
    if (f16) {
      const half = roundF16(weight);
      if (half === undefined) throw new ApiError(errorCode, `${where}: the weight of sparse dimension ${key} (${weight}) does not fit f16 (|weight| <= 65504)`);
      stored = half;
    } else if (!Number.isFinite(stored)) {
      throw new ApiError(errorCode, `${where}: the weight of sparse dimension ${key} (${weight}) does not fit float32`);
    }
    entries.push([index, stored]);
  }
  if (entries.length > MAX_SPARSE_DIMENSIONS) {
    throw new ApiError(errorCode, `${where}: ${entries.length} sparse dimensions; at most ${MAX_SPARSE_DIMENSIONS}`);
  }
  entries.sort((a, b) => a[0] - b[0]);
  return { indices: entries.map((e) => e[0]), values: entries.map((e) => e[1]) };
}

/** The wire object of a sparse vector (dimensions ascending). */
export function encodeSparse(sparse: SparseWire): Record<string, number> {
  const out: Record<string, number> = {};
  sparse.indices.forEach((index, i) => {
    Object.defineProperty(out, String(index), { value: sparse.values[i], enumerable: true, writable: true, configurable: true });
  });
  return out;
}
