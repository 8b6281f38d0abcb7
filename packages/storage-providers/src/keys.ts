/**
 * Key rules shared by every provider, checked before any I/O.
 *
 * A key is a `/`-separated path of one or more non-empty segments:
 * - 1 to MAX_KEY_BYTES bytes of UTF-8 (S3's own limit is 1,024);
 * - no leading `/`, no trailing `/`, no empty segment (`a//b`);
 * - no `.` or `..` segment, so no key can name a parent or itself;
 * - no NUL, no C0 control character, no DEL, and no lone UTF-16 surrogate
 *   (it would not survive UTF-8 encoding).
 *
 * These rules make every valid key a safe relative path on a filesystem and a
 * portable S3 object name. A list prefix follows the same character rules but
 * may be empty and may end with `/` or in the middle of a segment.
 *
 * Order: providers list keys in the byte order of their UTF-8 encoding (as S3
 * does). `compareKeys` computes that order without encoding.
 */
import { InvalidKeyError } from "./errors.ts";

/** Longest key accepted, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;

function utf8Length(value: string): number {
  return Buffer.byteLength(value, "utf8");
}

function checkCharacters(value: string, what: string): void {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) {
      throw new InvalidKeyError(
        `${what} ${JSON.stringify(value)} has a control character (0x${c.toString(16).padStart(2, "0")}) at index ${i}`,
        { key: value },
      );
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const isHigh = c <= 0xdbff;
      const next = value.charCodeAt(i + 1);
      if (isHigh && next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      throw new InvalidKeyError(`${what} ${JSON.stringify(value)} has a lone UTF-16 surrogate at index ${i}`, {
        key: value,
      });
    }
  }
}

/** Throws InvalidKeyError unless `key` follows the key rules. */
export function validateKey(key: unknown): asserts key is string {
  if (typeof key !== "string") {
    throw new InvalidKeyError(`key must be a string, got ${typeof key}`);
  }
  if (key.length === 0) throw new InvalidKeyError("key must not be empty", { key });
  const bytes = utf8Length(key);
  if (bytes > MAX_KEY_BYTES) {
    throw new InvalidKeyError(`key is ${bytes} bytes of UTF-8; the limit is ${MAX_KEY_BYTES}`, { key });
  }
  checkCharacters(key, "key");
  if (key.startsWith("/")) throw new InvalidKeyError(`key ${JSON.stringify(key)} must not start with "/"`, { key });
  if (key.endsWith("/")) throw new InvalidKeyError(`key ${JSON.stringify(key)} must not end with "/"`, { key });
  for (const segment of key.split("/")) {
    if (segment === "") throw new InvalidKeyError(`key ${JSON.stringify(key)} has an empty segment`, { key });
    if (segment === "." || segment === "..") {
      throw new InvalidKeyError(`key ${JSON.stringify(key)} has a "${segment}" segment`, { key });
    }
  }
}

/**
 * Throws InvalidKeyError unless `prefix` is a valid list prefix: empty, or a
 * string that some valid key could start with.
 */
export function validatePrefix(prefix: unknown): asserts prefix is string {
  if (typeof prefix !== "string") {
    throw new InvalidKeyError(`prefix must be a string, got ${typeof prefix}`);
  }
  if (prefix === "") return;
  const bytes = utf8Length(prefix);
  if (bytes > MAX_KEY_BYTES) {
    throw new InvalidKeyError(`prefix is ${bytes} bytes of UTF-8; the limit is ${MAX_KEY_BYTES}`, { key: prefix });
  }
  checkCharacters(prefix, "prefix");
  if (prefix.startsWith("/")) {
    throw new InvalidKeyError(`prefix ${JSON.stringify(prefix)} must not start with "/"`, { key: prefix });
  }
  const segments = prefix.split("/");
  // The last segment may be partial (or empty after a trailing "/"); every
  // complete segment before it must be a valid key segment.
  for (let i = 0; i < segments.length - 1; i++) {
    const segment = segments[i];
    if (segment === "" || segment === "." || segment === "..") {
      throw new InvalidKeyError(`prefix ${JSON.stringify(prefix)} has an invalid segment "${segment}"`, {
        key: prefix,
      });
    }
  }
}

/** Compares two strings in the byte order of their UTF-8 encodings. */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // UTF-16 order equals code-point (and so UTF-8 byte) order except that
    // surrogates (0xD800-0xDFFF) encode code points above 0xFFFF, which sort
    // after 0xE000-0xFFFF in UTF-8.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}
