/**
 * The document shape the query module indexes: the live version of one id,
 * as the namespace engine materializes it (latest write wins, deleted ids
 * removed). Vectors may be plain arrays or Float32Array; sparse indices must
 * be strictly increasing.
 */
/**
 * A JSON value (structurally the same type as wal-format's `JsonValue`),
 * declared here so the query module depends on no other package and compiles
 * on its own.
 */
export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | { [key: string]: JsonValue };

export interface QueryDocument {
  readonly id: string;
  readonly vector?: Float32Array | readonly number[] | undefined;
  readonly sparse?:
    | { readonly indices: readonly number[] | Uint32Array; readonly values: readonly number[] | Float32Array }
    | undefined;
  readonly text?: Readonly<Record<string, string>> | undefined;
  readonly attributes?: Readonly<Record<string, JsonValue>> | undefined;
}

/** Distance metrics, as in the manifest. */
export type DistanceMetric = "COSINE" | "DOT" | "EUCLIDEAN";
export const DISTANCE_METRICS: readonly DistanceMetric[] = ["COSINE", "DOT", "EUCLIDEAN"];
