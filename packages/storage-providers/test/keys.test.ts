import { describe, expect, it } from "vitest";
import { compareKeys, isInvalidKey, MAX_KEY_BYTES, validateKey, validatePrefix } from "@skerry/storage-providers";

function rejects(key: unknown): boolean {
  try {
    validateKey(key);
    return false;
  } catch (error) {
    return isInvalidKey(error);
  }
}

describe("key rules", () => {
  it("accepts ordinary nested keys", () => {
    for (const key of ["a", "a/b/c.json", "org/proj/ns/manifests/0001", "ünï/cødé", "x y", "a..b", ".hidden/x"]) {
      expect(rejects(key), key).toBe(false);
    }
  });

  it("rejects empty, absolute, parent, dot and empty-segment keys with InvalidKey", () => {
    for (const key of ["", "/a", "a/", "..", "../a", "a/../b", "a/..", ".", "a/./b", "a//b", 5, null]) {
      expect(rejects(key), String(key)).toBe(true);
    }
  });

  it("rejects control characters, NUL and lone surrogates", () => {
    for (const key of ["a\0b", "a\nb", "a\x7fb", "a\u0001", "a\ud800b", "\udc00"]) {
      expect(rejects(key), JSON.stringify(key)).toBe(true);
    }
    expect(rejects("emoji-\u{1f600}")).toBe(false);
  });

  it("bounds the key length in UTF-8 bytes", () => {
    expect(rejects("a".repeat(MAX_KEY_BYTES))).toBe(false);
    expect(rejects("a".repeat(MAX_KEY_BYTES + 1))).toBe(true);
    expect(rejects("é".repeat(MAX_KEY_BYTES / 2 + 1))).toBe(true);
  });

  it("accepts list prefixes that end mid-segment or with a slash", () => {
    expect(() => validatePrefix("")).not.toThrow();
    expect(() => validatePrefix("a/b/")).not.toThrow();
    expect(() => validatePrefix("a/b/ma")).not.toThrow();
    expect(() => validatePrefix("a/../")).toThrow(/invalid segment/);
    expect(() => validatePrefix("/a")).toThrow();
    expect(() => validatePrefix("a\0")).toThrow();
  });

  it("orders keys by their UTF-8 bytes", () => {
    const keys = ["b", "a", "a/b", "a-c", "\u{1f600}", "\uffff", "é", "A", ""];
    const byBytes = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect([...keys].sort(compareKeys)).toEqual(byBytes);
  });
});
