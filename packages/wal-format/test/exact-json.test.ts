import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeRowBatch, encodeRowBatch, hasBigInt, isCorruptDataError, parseExact, rowId, stringifyExact } from "@skerry/wal-format";
import { crc32 } from "../src/internal/crc32.ts";

const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);

describe("exact JSON", () => {
  it("keeps bigints exact and unsafe integral floats as numbers", () => {
    const value = { u: U64_MAX, i: I64_MIN, at53: 9007199254740992n, f: 1e20, g: -1e20, big: 1.5e300, small: 5, frac: 0.1, list: [1n << 63n, "x", null, true] };
    const text = stringifyExact(value);
    expect(text).toContain("18446744073709551615");
    expect(text).toContain("-9223372036854775808");
    expect(text).toContain('"f":1e+20');
    expect(parseExact(text)).toEqual(value);
    expect(hasBigInt(value)).toBe(true);
    expect(hasBigInt({ a: [1, { b: 2 }] })).toBe(false);
  });

  it("writes what JSON.stringify writes when no bigint and no unsafe integral number is present", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const plain = JSON.stringify(v);
        if (plain === undefined || /\d{16,}/.test(plain)) return;
        expect(stringifyExact(v)).toBe(plain);
        expect(parseExact(plain)).toEqual(JSON.parse(plain));
      }),
    );
  });

  it("round-trips any integer in the 64-bit ranges (property)", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: I64_MIN, max: U64_MAX }), fc.string(), (n, key) => {
        const value = Number.isSafeInteger(Number(n)) && BigInt(Number(n)) === n ? Number(n) : n;
        const obj = { [key]: [value] };
        expect(parseExact(stringifyExact(obj))).toEqual(obj);
      }),
    );
  });

  it("refuses malformed text as JSON.parse does", () => {
    for (const bad of ["[12345678901234567890", "{\"a\":12345678901234567890,}", "12345678901234567890 x", "[01234567890123456789]", "{a:12345678901234567890}"]) {
      expect(() => parseExact(bad)).toThrow(SyntaxError);
    }
  });

  it("keeps a __proto__ key as data", () => {
    const parsed = parseExact('{"__proto__":12345678901234567890}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(Object.hasOwn(parsed, "__proto__")).toBe(true);
  });
});

describe("row batch version 2 (exact attributes)", () => {
  const exact = [
    { rowId: rowId(1n), id: "a", attributes: { u: U64_MAX, i: I64_MIN, f: 1e20 } },
    { rowId: rowId(2n), id: "b", attributes: { f: 3e19, n: 4 } },
  ];

  it("is written only when an attribute holds a bigint, and round-trips exactly", () => {
    const bytes = encodeRowBatch(exact);
    expect(bytes[8]).toBe(2);
    expect(decodeRowBatch(bytes).map((d) => d.attributes)).toEqual(exact.map((d) => d.attributes));
    expect(encodeRowBatch(decodeRowBatch(bytes))).toEqual(bytes);
    const plain = encodeRowBatch([exact[1]!]);
    expect(plain[8]).toBe(1);
    expect(decodeRowBatch(plain)[0]!.attributes).toEqual({ f: 3e19, n: 4 });
  });

  it("refuses an envelope version that disagrees with the schema metadata", () => {
    const bytes = encodeRowBatch(exact).slice();
    bytes[8] = 1;
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    view.setUint32(56, crc32(bytes.subarray(60, 64), crc32(bytes.subarray(0, 56))), true);
    let error: unknown;
    try {
      decodeRowBatch(bytes);
    } catch (e) {
      error = e;
    }
    expect(isCorruptDataError(error)).toBe(true);
  });
});
