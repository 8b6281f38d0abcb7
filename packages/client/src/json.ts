/** JSON values as the API carries them (finite numbers only; an integer beyond 2^53-1 is a bigint, i64/u64 attribute values). */
export type JsonValue = string | number | bigint | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** A document's attributes: any JSON values by name. */
export type Attributes = { readonly [name: string]: JsonValue };
