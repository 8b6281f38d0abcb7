import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BLOCK_FILE_TRAILER_BYTES,
  type BlockFileDirectory,
  type BlockFileSectionInput,
  blockFileTrailerRange,
  blockSpan,
  decodeBlockFileDirectory,
  decodeBlockFileTrailer,
  encodeBlockFile,
  isWalFormatError,
  sliceFromTail,
  sliceSpan,
  verifyBlockSpan,
} from "@skerry/wal-format";

function bytesOf(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Reads [offset, offset+length) of `name` the way a ranged reader does: fetch the span, verify, slice. */
function readRange(file: Uint8Array, dir: BlockFileDirectory, name: string, offset: number, length: number): Uint8Array {
  const section = dir.section(name);
  if (section === undefined) throw new Error(`no section ${name}`);
  const span = blockSpan(section, offset, length);
  const fetched = file.slice(span.offset, span.offset + span.length);
  return sliceSpan(span, verifyBlockSpan(dir, span, fetched), offset, length);
}

const SECTIONS: BlockFileSectionInput[] = [
  { name: "vectors.f32", bytes: bytesOf(10_000, 1), blockBytes: 1024 },
  { name: "lists", bytes: bytesOf(3_001, 2), blockEnds: [1000, 1001, 2500, 3001] },
  { name: "empty", bytes: new Uint8Array(0) },
  { name: "centroids", bytes: bytesOf(777, 3), eager: true, blockBytes: 256 },
  { name: "meta.json", bytes: new TextEncoder().encode('{"rows":10}'), eager: true },
];

describe("block file", () => {
  const file = encodeBlockFile(SECTIONS);

  it("reads every section back, whole and by any range, from the tail alone for eager sections", () => {
    const dir = decodeBlockFileDirectory(file, file.byteLength);
    expect(dir.sections.map((s) => s.name)).toEqual(["vectors.f32", "lists", "empty", "centroids", "meta.json"]);
    for (const input of SECTIONS) {
      const section = dir.section(input.name);
      expect(section?.length).toBe(input.bytes.byteLength);
      expect(section?.offset ?? 1 % 8).toBe(Math.ceil((section?.offset ?? 0) / 8) * 8);
      expect(readRange(file, dir, input.name, 0, input.bytes.byteLength)).toEqual(input.bytes);
    }
    // The eager region: one read of the object's end holds the directory and the eager sections.
    const tail = file.subarray(dir.eagerOffset);
    const fromTail = decodeBlockFileDirectory(tail, file.byteLength);
    expect(sliceFromTail(fromTail, tail, fromTail.section("centroids")!)).toEqual(SECTIONS[3]!.bytes);
    expect(new TextDecoder().decode(sliceFromTail(fromTail, tail, fromTail.section("meta.json")!))).toBe('{"rows":10}');
    expect(() => sliceFromTail(fromTail, tail, fromTail.section("lists")!)).toThrow(/before the bytes held/);
  });

  it("fetches only the blocks that cover a range", () => {
    const dir = decodeBlockFileDirectory(file, file.byteLength);
    const vectors = dir.section("vectors.f32")!;
    expect(blockSpan(vectors, 1500, 100)).toMatchObject({ firstBlock: 1, endBlock: 2, offset: vectors.offset + 1024, length: 1024 });
    expect(blockSpan(vectors, 1023, 2)).toMatchObject({ firstBlock: 0, endBlock: 2, length: 2048 });
    expect(blockSpan(vectors, 9_999, 1)).toMatchObject({ firstBlock: 9, endBlock: 10, length: 10_000 - 9 * 1024 });
    expect(blockSpan(vectors, 5, 0)).toMatchObject({ length: 0 });
    const lists = dir.section("lists")!;
    expect(blockSpan(lists, 1000, 1)).toMatchObject({ firstBlock: 1, endBlock: 2, offset: lists.offset + 1000, length: 1 });
    expect(blockSpan(lists, 999, 3)).toMatchObject({ firstBlock: 0, endBlock: 3, length: 2500 });
    expect(() => blockSpan(lists, 3000, 2)).toThrow(/outside section lists/);
  });

  it("property: any range of any section reads back the written bytes", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ length: fc.nat({ max: 5000 }), block: fc.integer({ min: 1, max: 2000 }), eager: fc.boolean(), explicit: fc.boolean() }),
          { minLength: 1, maxLength: 6 },
        ),
        fc.array(fc.tuple(fc.nat(), fc.nat(), fc.nat()), { maxLength: 20 }),
        (specs, ranges) => {
          const inputs: BlockFileSectionInput[] = specs.map((s, i) => {
            const bytes = bytesOf(s.length, i + 7);
            if (!s.explicit || s.length === 0) return { name: `s${i}`, bytes, blockBytes: s.block, eager: s.eager };
            const ends: number[] = [];
            for (let at = s.block; at < s.length; at += s.block + (at % 3)) ends.push(at);
            ends.push(s.length);
            return { name: `s${i}`, bytes, blockEnds: ends, eager: s.eager };
          });
          const encoded = encodeBlockFile(inputs);
          const dir = decodeBlockFileDirectory(encoded.subarray(dir0(encoded)), encoded.byteLength);
          for (const [which, a, b] of ranges) {
            const input = inputs[which % inputs.length]!;
            const n = input.bytes.byteLength;
            const offset = n === 0 ? 0 : a % (n + 1);
            const length = (n - offset === 0 ? 0 : b % (n - offset + 1)) as number;
            expect(readRange(encoded, dir, input.name, offset, length)).toEqual(input.bytes.subarray(offset, offset + length));
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("detects a flipped byte anywhere a read can see it: in a block, the table, the directory or the trailer", () => {
    const dir = decodeBlockFileDirectory(file, file.byteLength);
    const covered = new Set<number>();
    for (const s of dir.sections) for (let i = s.offset; i < s.offset + s.length; i++) covered.add(i);
    let detected = 0;
    for (let at = 0; at < file.byteLength; at++) {
      const bad = file.slice();
      bad[at] = (bad[at] as number) ^ 0x10;
      let error: unknown;
      try {
        const d = decodeBlockFileDirectory(bad, bad.byteLength);
        for (const s of d.sections) readRange(bad, d, s.name, 0, s.length);
      } catch (e) {
        error = e;
      }
      if (covered.has(at) || at >= decodeBlockFileTrailer(file, file.byteLength).checksumOffset) {
        // Inside a section, or in the table / directory / trailer: always an error, always a typed one.
        expect(isWalFormatError(error), `byte ${at}`).toBe(true);
        detected++;
      } else if (error !== undefined) {
        expect(isWalFormatError(error)).toBe(true);
      }
    }
    expect(detected).toBeGreaterThan(file.byteLength * 0.9);
  });

  it("names the corrupt block and reports a short fetch as truncated", () => {
    const dir = decodeBlockFileDirectory(file, file.byteLength);
    const vectors = dir.section("vectors.f32")!;
    const span = blockSpan(vectors, 3000, 10);
    const fetched = file.slice(span.offset, span.offset + span.length);
    fetched[5] = (fetched[5] as number) ^ 1;
    expect(() => verifyBlockSpan(dir, span, fetched)).toThrow(/block 2 of section vectors.f32 does not match its CRC-32/);
    expect(() => verifyBlockSpan(dir, span, fetched.subarray(1))).toThrow(expect.objectContaining({ code: "CorruptData", reason: "truncated" }));
  });

  it("rejects truncated, extended and foreign objects, newer versions, and tails that miss the directory", () => {
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e as { code: string; reason?: string };
      }
      throw new Error("no error");
    };
    expect(err(() => decodeBlockFileDirectory(file.subarray(0, file.byteLength - 1), file.byteLength - 1))).toMatchObject({ code: "CorruptData" });
    const extended = new Uint8Array(file.byteLength + 8);
    extended.set(file);
    expect(err(() => decodeBlockFileDirectory(extended, extended.byteLength))).toMatchObject({ code: "CorruptData", reason: "bad-magic" });
    expect(err(() => decodeBlockFileTrailer(new Uint8Array(10), 10))).toMatchObject({ code: "CorruptData", reason: "truncated" });
    expect(err(() => blockFileTrailerRange(5))).toMatchObject({ code: "CorruptData" });
    const tooShort = file.subarray(decodeBlockFileTrailer(file, file.byteLength).checksumOffset + 4);
    expect(err(() => decodeBlockFileDirectory(tooShort, file.byteLength))).toMatchObject({ code: "CorruptData", reason: "truncated" });
    // A newer version with a valid trailer CRC: upgrade, not corruption.
    const newer = file.slice();
    const view = new DataView(newer.buffer);
    const t = newer.byteLength - BLOCK_FILE_TRAILER_BYTES;
    view.setUint16(t + 8, 2, true);
    view.setUint32(t + 44, crc(newer.subarray(t, t + 44)), true);
    expect(err(() => decodeBlockFileDirectory(newer, newer.byteLength))).toMatchObject({ code: "UnsupportedVersion" });
  });

  it("rejects a directory whose sections lie (overlap, out of bounds, wrong block count), even with valid CRCs", () => {
    const dir = decodeBlockFileDirectory(file, file.byteLength);
    const t = file.byteLength - BLOCK_FILE_TRAILER_BYTES;
    const view = new DataView(file.buffer, file.byteOffset);
    const directoryOffset = Number(view.getBigUint64(t + 16, true));
    const checksumOffset = Number(view.getBigUint64(t + 24, true));
    const json = JSON.parse(new TextDecoder().decode(file.subarray(directoryOffset, t))) as { sections: Record<string, unknown>[] };
    const cases: [string, (d: { sections: Record<string, unknown>[] }) => void][] = [
      ["overlap", (d) => (d.sections[1]!.offset = 8)],
      ["past the table", (d) => (d.sections[0]!.length = checksumOffset)],
      ["unaligned", (d) => (d.sections[1]!.offset = (d.sections[1]!.offset as number) + 1)],
      ["block count", (d) => (d.sections[0]!.block_bytes = 2048)],
      ["eager outside the region", (d) => (d.sections[0]!.eager = true)],
      ["non-eager inside the region", (d) => (d.sections[3]!.eager = false)],
      ["bad ends", (d) => (d.sections[1]!.block_ends = [1000, 1000, 2500, 3001])],
      ["duplicate", (d) => (d.sections[2]!.name = "lists")],
      ["unknown key", (d) => (d.sections[2]!.extra = 1)],
      ["__proto__ name", (d) => (d.sections[2]!.name = "__proto__")],
    ];
    for (const [what, edit] of cases) {
      const copy = structuredClone(json);
      edit(copy);
      const rebuilt = resealDirectory(file, checksumOffset, directoryOffset, new TextEncoder().encode(JSON.stringify(copy)));
      let error: unknown;
      try {
        decodeBlockFileDirectory(rebuilt, rebuilt.byteLength);
      } catch (e) {
        error = e;
      }
      expect(error, what).toMatchObject({ code: "CorruptData" });
    }
    expect(dir.sections).toHaveLength(5);
  });

  it("rejects bad writer input with InvalidInput", () => {
    const bytes = new Uint8Array(10);
    expect(() => encodeBlockFile([{ name: "a b", bytes }])).toThrow(expect.objectContaining({ code: "InvalidInput" }));
    expect(() => encodeBlockFile([{ name: "a", bytes }, { name: "a", bytes }])).toThrow(/duplicate/);
    expect(() => encodeBlockFile([{ name: "a", bytes, blockEnds: [5, 4, 10] }])).toThrow(/ascending/);
    expect(() => encodeBlockFile([{ name: "a", bytes, blockEnds: [5] }])).toThrow(/last block ends at 5/);
    expect(() => encodeBlockFile([{ name: "a", bytes, blockBytes: 0 }])).toThrow(/blockBytes/);
    expect(() => encodeBlockFile([{ name: "a", bytes, blockBytes: 4, blockEnds: [10] }])).toThrow(/both/);
  });

  it("is deterministic (same sections, same bytes) and an empty file is valid", () => {
    expect(encodeBlockFile(SECTIONS)).toEqual(file);
    const empty = encodeBlockFile([]);
    expect(empty.byteLength).toBe(BLOCK_FILE_TRAILER_BYTES + '{"sections":[]}'.length);
    expect(decodeBlockFileDirectory(empty, empty.byteLength).sections).toEqual([]);
  });
});

function dir0(encoded: Uint8Array): number {
  return decodeBlockFileDirectory(encoded, encoded.byteLength).eagerOffset;
}

import { crc32 as zlibCrc } from "node:zlib";

function crc(bytes: Uint8Array): number {
  return zlibCrc(bytes) >>> 0;
}

/** `file` with its directory replaced by `directory`, table/directory and trailer CRCs recomputed (a lying but well-sealed file). */
function resealDirectory(file: Uint8Array, checksumOffset: number, directoryOffset: number, directory: Uint8Array): Uint8Array {
  const head = file.subarray(0, directoryOffset);
  const trailer = file.slice(file.byteLength - BLOCK_FILE_TRAILER_BYTES);
  const out = new Uint8Array(head.byteLength + directory.byteLength + BLOCK_FILE_TRAILER_BYTES);
  out.set(head);
  out.set(directory, directoryOffset);
  const view = new DataView(trailer.buffer);
  view.setUint32(12, directory.byteLength, true);
  view.setUint32(40, crc(out.subarray(checksumOffset, directoryOffset + directory.byteLength)), true);
  view.setUint32(44, crc(trailer.subarray(0, 44)), true);
  out.set(trailer, directoryOffset + directory.byteLength);
  return out;
}
