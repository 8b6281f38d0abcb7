import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type CorruptDataError,
  decodeFramedLog,
  encodeFramedLog,
  encodeFramedLogEntry,
  encodeFramedLogHeader,
  FRAMED_LOG_HEADER_BYTES,
  isCorruptDataError,
  isUnsupportedVersionError,
  iterateFramedLogEntries,
  readFramedLog,
  readFramedLogHeader,
} from "@skerry/wal-format";

const enc = new TextEncoder();
const entries = [enc.encode("first"), new Uint8Array(0), enc.encode("third entry")];

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function corrupt(fn: () => unknown): CorruptDataError {
  try {
    fn();
  } catch (error) {
    if (isCorruptDataError(error)) return error;
    throw new Error(`expected CorruptDataError, got ${String(error)}`);
  }
  throw new Error("expected CorruptDataError, got success");
}

describe("framed log", () => {
  it("reads back the header and every entry", () => {
    const log = readFramedLog(encodeFramedLog({ baseRevision: 42n, entries }));
    expect(log.header).toEqual({ formatVersion: 1, baseRevision: 42n, headerLength: FRAMED_LOG_HEADER_BYTES });
    expect(log.entries).toEqual(entries);
    expect(log.torn).toBeNull();
  });

  it("is appendable: a header followed by separately encoded entries reads the same", () => {
    const appended = concat([encodeFramedLogHeader({ baseRevision: 42 }), ...entries.map((e) => encodeFramedLogEntry(e))]);
    expect(appended).toEqual(encodeFramedLog({ baseRevision: 42n, entries }));
  });

  it("yields entries with their offsets from the iterator and returns where the log ends", () => {
    const bytes = encodeFramedLog({ baseRevision: 1n, entries });
    const iterator = iterateFramedLogEntries(bytes, readFramedLogHeader(bytes));
    const offsets: number[] = [];
    let step = iterator.next();
    while (step.done !== true) {
      offsets.push(step.value.offset);
      step = iterator.next();
    }
    expect(offsets).toEqual([28, 41, 49]);
    expect(step.value).toEqual({ validLength: bytes.length, torn: null });
  });

  it("stops cleanly at a torn tail cut anywhere, reporting the offset of the broken frame", () => {
    const bytes = encodeFramedLog({ baseRevision: 1n, entries });
    const frameStarts = [28, 41, 49, bytes.length];
    for (let cut = FRAMED_LOG_HEADER_BYTES; cut < bytes.length; cut++) {
      const log = readFramedLog(bytes.subarray(0, cut));
      const complete = frameStarts.filter((s) => s <= cut).length - 1;
      expect(log.entries).toEqual(entries.slice(0, complete));
      const boundary = frameStarts[complete]!;
      if (boundary === cut) {
        expect(log.torn).toBeNull();
      } else {
        expect(log.torn).toMatchObject({ offset: boundary, reason: "truncated" });
        expect(log.validLength).toBe(boundary);
        expect(corrupt(() => decodeFramedLog(bytes.subarray(0, cut)))).toMatchObject({ reason: "truncated", offset: boundary });
      }
    }
  });

  it("reports a checksum mismatch and an oversize length as where the log ends", () => {
    const bytes = encodeFramedLog({ baseRevision: 1n, entries });
    const flipped = bytes.slice();
    flipped[52]! ^= 0x20; // inside the third payload
    expect(readFramedLog(flipped)).toMatchObject({ entries: entries.slice(0, 2), torn: { offset: 49, reason: "checksum-mismatch" } });
    const garbageLength = bytes.slice();
    new DataView(garbageLength.buffer).setUint32(41 + 4, 0xffff_ffff, true);
    expect(readFramedLog(garbageLength)).toMatchObject({ entries: entries.slice(0, 1), torn: { offset: 41, reason: "too-large" } });
    expect(readFramedLog(bytes, { maxEntryBytes: 8 }).torn).toMatchObject({ offset: 49, reason: "too-large" });
    const zeros = concat([bytes, new Uint8Array(64)]);
    expect(readFramedLog(zeros).torn).toMatchObject({ offset: bytes.length, reason: "checksum-mismatch" });
  });

  it("rejects a broken header outright", () => {
    const bytes = encodeFramedLog({ baseRevision: 7n, entries });
    expect(corrupt(() => readFramedLog(enc.encode("SKRYTOMB and more bytes here"))).reason).toBe("bad-magic");
    expect(corrupt(() => readFramedLog(new Uint8Array(0))).reason).toBe("truncated");
    expect(corrupt(() => readFramedLog(bytes.subarray(0, 20))).reason).toBe("truncated");
    const crc = bytes.slice();
    crc[16]! ^= 1; // base revision
    expect(corrupt(() => readFramedLog(crc)).reason).toBe("checksum-mismatch");
    const flags = bytes.slice();
    flags[10] = 1;
    expect(corrupt(() => readFramedLog(flags)).reason).toBe("malformed");
    const hugeHeader = bytes.slice();
    new DataView(hugeHeader.buffer).setUint32(12, 0x7fff_ffff, true);
    expect(corrupt(() => readFramedLog(hugeHeader))).toMatchObject({ reason: "too-large", offset: 12 });
    const newer = bytes.slice();
    newer[8] = 2;
    try {
      readFramedLog(newer);
      expect.unreachable();
    } catch (error) {
      expect(isUnsupportedVersionError(error)).toBe(true);
    }
  });

  it("rejects oversize entries and bad revisions when encoding", () => {
    expect(() => encodeFramedLogEntry(new Uint8Array(10), { maxEntryBytes: 9 })).toThrow(expect.objectContaining({ code: "InvalidInput" }));
    expect(() => encodeFramedLogHeader({ baseRevision: -1n })).toThrow(expect.objectContaining({ code: "InvalidInput" }));
    expect(() => encodeFramedLogHeader({ baseRevision: 1n << 64n })).toThrow(expect.objectContaining({ code: "InvalidInput" }));
    expect(() => encodeFramedLogHeader({ baseRevision: 0.5 })).toThrow(expect.objectContaining({ code: "InvalidInput" }));
  });

  it("round-trips any entries and revision (property)", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }), (rev, list) => {
        const log = decodeFramedLog(encodeFramedLog({ baseRevision: rev, entries: list }));
        expect(log.header.baseRevision).toBe(rev);
        expect(log.entries).toEqual(list);
      }),
      { numRuns: 300 },
    );
  });
});
