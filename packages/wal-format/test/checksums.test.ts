import { crc32 as zlibCrc32 } from "node:zlib";
import fc from "fast-check";
import { createBLAKE3 } from "hash-wasm";
import { describe, expect, it } from "vitest";
import { contentHash, isContentHashMismatchError, verifyContentHash } from "@skerry/wal-format";
import { crc32, crc32Portable } from "../src/internal/crc32.ts";

describe("content hash (BLAKE3)", () => {
  it("matches the official BLAKE3 test vectors", () => {
    // From the BLAKE3 reference test_vectors.json: input byte i is i % 251.
    const input = (n: number) => Uint8Array.from({ length: n }, (_, i) => i % 251);
    expect(contentHash(input(0))).toBe("af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
    expect(contentHash(input(1))).toBe("2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213");
    expect(contentHash(input(1024))).toBe("42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7");
  });

  it("agrees with an independent implementation (hash-wasm) on random inputs", async () => {
    const reference = await createBLAKE3();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), (bytes) => {
        reference.init();
        reference.update(bytes);
        expect(contentHash(bytes)).toBe(reference.digest("hex"));
      }),
      { numRuns: 200 },
    );
  });

  it("throws ContentHashMismatch naming both hashes", () => {
    const bytes = new TextEncoder().encode("payload");
    try {
      verifyContentHash(bytes, "00".repeat(32));
      expect.unreachable();
    } catch (error) {
      expect(isContentHashMismatchError(error)).toBe(true);
      expect(error).toMatchObject({ expected: "00".repeat(32), actual: contentHash(bytes) });
    }
  });
});

describe("CRC-32", () => {
  it("matches the standard check value and zlib's native crc32", () => {
    expect(crc32Portable(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat({ max: 0xffff_ffff }), (bytes, initial) => {
        expect(crc32Portable(bytes)).toBe(zlibCrc32(bytes) >>> 0);
        expect(crc32Portable(bytes, initial)).toBe(zlibCrc32(bytes, initial) >>> 0);
        expect(crc32(bytes)).toBe(crc32Portable(bytes));
      }),
    );
  });
});
