/** JSON values as the API carries them (finite numbers only). */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** A document's attributes: any JSON values by name. */
export type Attributes = { readonly [name: string]: JsonValue };
