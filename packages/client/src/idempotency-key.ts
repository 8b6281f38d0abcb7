/**
 * The default idempotency key: a random (version 4) UUID from the Web
 * Crypto API. `crypto.randomUUID` exists only in secure contexts in
 * browsers (https, localhost); elsewhere the same UUID is made from
 * `crypto.getRandomValues`, which every runtime with fetch has.
 */
export function randomIdempotencyKey(): string {
  const crypto = globalThis.crypto;
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = ((b[6] as number) & 0x0f) | 0x40;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
