import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  compareIds,
  handleIdFromHex,
  idToBytes,
  idToHex,
  type IdParseError,
  isIdHex,
  isIdParseError,
  MAX_ID,
  readIdBytes,
  rowId,
  rowIdFromHex,
  type RowId,
  walId,
  type WalId,
  walIdFromHex,
} from "@skerry/wal-format";

function parseError(fn: () => unknown): IdParseError {
  try {
    fn();
  } catch (error) {
    if (isIdParseError(error)) return error;
    throw new Error(`expected IdParseError, got ${String(error)}`);
  }
  throw new Error("expected IdParseError, got success");
}

describe("id wire form", () => {
  const sample = walId(0x00112233445566778899aabbccddeeffn);

  it("round-trips 0x0011..eeff through 32 lowercase hex characters", () => {
    const hex = idToHex(sample);
    expect(hex).toBe("00112233445566778899aabbccddeeff");
    expect(hex).toHaveLength(32);
    expect(hex).toBe(hex.toLowerCase());
    expect(walIdFromHex(hex)).toBe(sample);
  });

  it("zero-pads small ids to the full width", () => {
    expect(idToHex(walId(1n))).toBe("00000000000000000000000000000001");
    expect(idToHex(walId(0n))).toBe("0".repeat(32));
    expect(idToHex(walId(MAX_ID))).toBe("f".repeat(32));
  });

  it("preserves big-endian byte order", () => {
    const bytes = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0]);
    const id = readIdBytes(bytes);
    expect(idToHex(id)).toBe("0102030405060708090a0b0c0d0e0f00");
    expect(idToBytes(id)).toEqual(bytes);
  });

  it("rejects the wrong length, naming the length", () => {
    expect(parseError(() => walIdFromHex("0000"))).toMatchObject({ code: "IdParse", reason: "wrong-length", length: 4 });
    expect(parseError(() => walIdFromHex("0".repeat(33)))).toMatchObject({ reason: "wrong-length", length: 33 });
    expect(parseError(() => walIdFromHex(""))).toMatchObject({ reason: "wrong-length", length: 0 });
  });

  it("rejects non-hex characters, naming the byte position", () => {
    expect(parseError(() => walIdFromHex(`${"0".repeat(30)}zz`))).toMatchObject({ reason: "invalid-hex", position: 30 });
    expect(parseError(() => rowIdFromHex(`0${"g"}${"0".repeat(30)}`))).toMatchObject({ reason: "invalid-hex", position: 0 });
    expect(parseError(() => handleIdFromHex(`${"0".repeat(10)} 1${"0".repeat(20)}`))).toMatchObject({ position: 10 });
  });

  it("rejects uppercase hex so each id has exactly one spelling", () => {
    expect(parseError(() => walIdFromHex("ABCDEF".padStart(32, "0")))).toMatchObject({ reason: "invalid-hex", position: 26 });
    expect(isIdHex("ABCDEF".padStart(32, "0"))).toBe(false);
  });

  it("rejects non-strings and out-of-range values", () => {
    expect(parseError(() => walIdFromHex(42 as unknown as string))).toMatchObject({ reason: "not-a-string" });
    expect(parseError(() => rowId(-1n))).toMatchObject({ reason: "out-of-range" });
    expect(parseError(() => rowId(MAX_ID + 1n))).toMatchObject({ reason: "out-of-range" });
    expect(parseError(() => idToHex(1n << 200n))).toMatchObject({ reason: "out-of-range" });
    expect(parseError(() => readIdBytes(new Uint8Array(15)))).toMatchObject({ reason: "wrong-length" });
  });

  it("keeps id kinds apart at compile time", () => {
    const row: RowId = rowId(5n);
    // @ts-expect-error a RowId is not a WalId
    const wrong: WalId = row;
    // @ts-expect-error a plain bigint is not a RowId
    const plain: RowId = 5n;
    expect([wrong, plain]).toHaveLength(2);
  });

  it("round-trips every 128-bit value through hex and bytes (property)", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_ID }), (value) => {
        const hex = idToHex(value);
        expect(hex).toMatch(/^[0-9a-f]{32}$/);
        expect(rowIdFromHex(hex)).toBe(value);
        expect(readIdBytes(idToBytes(value))).toBe(value);
      }),
    );
  });

  it("sorts hex strings in the same order as the ids (property)", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_ID }), fc.bigInt({ min: 0n, max: MAX_ID }), (a, b) => {
        const byString = idToHex(a) < idToHex(b) ? -1 : idToHex(a) > idToHex(b) ? 1 : 0;
        expect(byString).toBe(compareIds(a, b));
      }),
    );
  });
});
