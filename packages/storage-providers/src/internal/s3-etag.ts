/**
 * ETag normalization for S3.
 *
 * S3 sends ETags as quoted strings (`"9b2cf5..."`). The StorageProvider
 * contract wants one normalized form, so S3Storage returns them WITHOUT the
 * quotes, and strips quotes from an etag a caller hands to `update` (callers
 * may have one from another S3 tool).
 *
 * On the wire, `If-Match` gets the UNQUOTED form: Ceph RGW refuses the quoted
 * form with 412 even when it matches (measured), while AWS S3 accepts both.
 */

/** `"abc"` -> `abc`; `W/"abc"` -> `abc`; anything else is returned as is (trimmed). */
export function unquoteEtag(etag: string): string {
  let value = etag.trim();
  if (value.startsWith("W/")) value = value.slice(2);
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
  return value;
}

/** True when two etags name the same version, ignoring quotes and hex case. */
export function sameEtag(a: string, b: string): boolean {
  return unquoteEtag(a).toLowerCase() === unquoteEtag(b).toLowerCase();
}
