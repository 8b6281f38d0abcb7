import fc from "fast-check";
import { RoaringBitmap32 } from "roaring-wasm";
import { describe, expect, it } from "vitest";
import {
  type CorruptDataError,
  decodeTombstoneSidecar,
  encodeTombstoneSidecar,
  hasPosition,
  isCorruptDataError,
  isUnsupportedVersionError,
} from "@skerry/wal-format";
import { crc32 as zlibCrc } from "node:zlib";
import { sealArb } from "./support/arbitraries.ts";

const seal = { compactionId: "9f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f", sealedAt: Date.parse("2026-05-30T10:00:00Z") };

function corrupt(fn: () => unknown): CorruptDataError {
  try {
    fn();
  } catch (error) {
    if (isCorruptDataError(error)) return error;
    throw new Error(`expected CorruptDataError, got ${String(error)}`);
  }
  throw new Error("expected CorruptDataError, got success");
}

/** Rewrite the trailing CRC after tampering, so later checks are reached. */
function reseal(bytes: Uint8Array): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint32(bytes.length - 4, zlibCrc(bytes.subarray(0, bytes.length - 4)), true);
  return bytes;
}

describe("tombstone sidecar", () => {
  it("round-trips positions sorted and de-duplicated, with and without a seal", () => {
    const plain = decodeTombstoneSidecar(encodeTombstoneSidecar({ positions: [42, 7, 7, 4_000_000_000] }));
    expect(plain).toEqual({ positions: Uint32Array.from([7, 42, 4_000_000_000]) });
    const sealed = decodeTombstoneSidecar(encodeTombstoneSidecar({ seal, positions: new Uint32Array(0) }));
    expect(sealed).toEqual({ seal, positions: new Uint32Array(0) });
  });

  it("answers membership with hasPosition", () => {
    const { positions } = decodeTombstoneSidecar(encodeTombstoneSidecar({ positions: [1, 5, 9] }));
    expect([0, 1, 5, 6, 9, 10].map((p) => hasPosition(positions, p))).toEqual([false, true, true, false, true, false]);
  });

  it("writes roaring's portable format that roaring-wasm reads back", () => {
    const bytes = encodeTombstoneSidecar({ positions: [3, 1, 70_000, 70_001, 70_002] });
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const bitmapLength = view.getUint32(16, true);
    const bitmap = RoaringBitmap32.deserialize("portable", bytes.subarray(24, 24 + bitmapLength));
    try {
      expect(Array.from(bitmap.toUint32Array())).toEqual([1, 3, 70_000, 70_001, 70_002]);
    } finally {
      bitmap.dispose();
    }
  });

  it("reads dense, sparse and run containers", () => {
    const dense = Array.from({ length: 10_000 }, (_, i) => i * 3); // bitmap container
    const runs = Array.from({ length: 100_000 }, (_, i) => 1_000_000 + i); // run containers
    const positions = [...dense, ...runs, 5_000_000];
    expect(Array.from(decodeTombstoneSidecar(encodeTombstoneSidecar({ positions })).positions)).toEqual(positions);
  });

  it("rejects positions that are not u32", () => {
    for (const bad of [-1, 2 ** 32, 1.5, Number.NaN]) {
      expect(() => encodeTombstoneSidecar({ positions: [bad] })).toThrow(expect.objectContaining({ code: "InvalidInput" }));
    }
  });

  it("rejects wrong magic, truncation, trailing bytes and checksum mismatches", () => {
    const good = encodeTombstoneSidecar({ seal, positions: [1, 2, 3] });
    expect(corrupt(() => decodeTombstoneSidecar(new TextEncoder().encode("SKRYROWS........"))).reason).toBe("bad-magic");
    expect(corrupt(() => decodeTombstoneSidecar(new Uint8Array(0))).reason).toBe("truncated");
    for (const cut of [4, 8, 23, 27, good.length - 1]) {
      expect(corrupt(() => decodeTombstoneSidecar(good.subarray(0, cut))).reason, `cut at ${cut}`).toBe("truncated");
    }
    const longer = new Uint8Array(good.length + 1);
    longer.set(good);
    expect(corrupt(() => decodeTombstoneSidecar(longer)).reason).toBe("malformed");
    for (const at of [12 + 0, 30, good.length - 2]) {
      const flipped = good.slice();
      flipped[at]! ^= 0x01;
      const error = corrupt(() => decodeTombstoneSidecar(flipped));
      expect(["checksum-mismatch", "truncated", "malformed"]).toContain(error.reason);
    }
    const body = good.slice();
    body[body.length - 6]! ^= 0x10;
    expect(corrupt(() => decodeTombstoneSidecar(body)).reason).toBe("checksum-mismatch");
  });

  it("rejects a newer format version with UnsupportedVersion", () => {
    const bytes = encodeTombstoneSidecar({ positions: [1] });
    bytes[8] = 2;
    try {
      decodeTombstoneSidecar(bytes);
      expect.unreachable();
    } catch (error) {
      expect(isUnsupportedVersionError(error)).toBe(true);
      expect(error).toMatchObject({ subject: "tombstone-sidecar", found: 2, supported: 1 });
    }
  });

  it("rejects oversized lengths and counts before allocating", () => {
    const bytes = encodeTombstoneSidecar({ positions: [1, 2] });
    const view = new DataView(bytes.buffer);
    const huge = bytes.slice();
    new DataView(huge.buffer).setUint32(16, 0xffff_fff0, true);
    expect(corrupt(() => decodeTombstoneSidecar(huge))).toMatchObject({ reason: "too-large", offset: 16 });
    const seal = bytes.slice();
    new DataView(seal.buffer).setUint32(12, 1 << 20, true);
    expect(corrupt(() => decodeTombstoneSidecar(seal)).reason).toBe("too-large");
    expect(corrupt(() => decodeTombstoneSidecar(bytes, { maxPositions: 1 })).reason).toBe("too-large");
    expect(view.getUint32(20, true)).toBe(2);
  });

  it("rejects a bitmap whose contents disagree with the header, even under a valid checksum", () => {
    const bytes = encodeTombstoneSidecar({ positions: [1, 2, 3] });
    new DataView(bytes.buffer).setUint32(20, 4, true); // claim 4 positions
    expect(corrupt(() => decodeTombstoneSidecar(reseal(bytes))).reason).toBe("malformed");
    const unsorted = encodeTombstoneSidecar({ positions: [1, 5, 9] }); // one array container, no runs
    // The array container's values start after cookie(4) + count(4) + header(4) + offset(4).
    const at = 24 + 16;
    expect(unsorted[at]).toBe(1);
    unsorted[at] = 9; // 9, 5, 9 is not strictly increasing
    expect(corrupt(() => decodeTombstoneSidecar(reseal(unsorted))).reason).toBe("malformed");
  });

  it("wraps a malformed seal record as corrupt data", () => {
    const bytes = encodeTombstoneSidecar({ seal, positions: [1] });
    bytes[24 + 2] = "X".charCodeAt(0); // break the JSON key
    const error = corrupt(() => decodeTombstoneSidecar(reseal(bytes)));
    expect(error.reason).toBe("malformed");
  });

  it("round-trips any set of positions and any seal (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.nat({ max: 70_000 }), fc.nat({ max: 0xffff_ffff })), { maxLength: 3000 }),
        fc.option(sealArb, { nil: undefined }),
        (positions, s) => {
          const input = s === undefined ? { positions } : { seal: s, positions };
          const decoded = decodeTombstoneSidecar(encodeTombstoneSidecar(input));
          expect(Array.from(decoded.positions)).toEqual([...new Set(positions)].sort((a, b) => a - b));
          expect(decoded.seal).toEqual(s);
        },
      ),
      { numRuns: 200 },
    );
  });
});
