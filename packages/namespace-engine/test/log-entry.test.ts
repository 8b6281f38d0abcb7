import { describe, expect, it } from "vitest";
import { rowId } from "@skerry/wal-format";
import {
  decodeLogEntry,
  encodeLogEntry,
  isCorrupt,
  LOG_ENTRY_EXACT_VERSION,
  LOG_ENTRY_VERSION,
  type LogEntry,
} from "@skerry/namespace-engine";

describe("log entries", () => {
  it("round-trip upserts, patches with removals, and deletes", () => {
    const entries: LogEntry[] = [
      {
        op: "UPSERT",
        id: "dóc-1",
        rowId: rowId(42n),
        vector: Float32Array.from([0.5, -1, 2]),
        sparse: { indices: Uint32Array.from([3, 17]), values: Float32Array.from([0.25, 4]) },
        text: { title: "Skerry" },
        attributes: { lang: "en", nested: { a: [1, 2] } },
      },
      { op: "PATCH", id: "p", rowId: rowId(43n), vectorCleared: true, sparseCleared: true, attributes: { gone: null, kept: 1 } },
      { op: "DELETE", id: "d" },
    ];
    for (const entry of entries) expect(decodeLogEntry(encodeLogEntry(entry), "k")).toEqual(entry);
  });

  it("reject truncated, extended and unknown-version payloads as Corrupt", () => {
    const bytes = encodeLogEntry({ op: "UPSERT", id: "x", rowId: rowId(1n), vector: Float32Array.from([1, 2]) });
    for (let cut = 0; cut < bytes.length; cut++) expect(isCorrupt(catchOf(() => decodeLogEntry(bytes.subarray(0, cut), "k")))).toBe(true);
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    expect(isCorrupt(catchOf(() => decodeLogEntry(longer, "k")))).toBe(true);
    const newer = bytes.slice();
    newer[0] = LOG_ENTRY_EXACT_VERSION + 1;
    expect(isCorrupt(catchOf(() => decodeLogEntry(newer, "k")))).toBe(true);
  });

  it("write version 2 (exact JSON) only for entries holding 64-bit integers, and round-trip them", () => {
    const plain = encodeLogEntry({ op: "UPSERT", id: "a", rowId: rowId(1n), attributes: { n: 9007199254740991 } });
    expect(plain[0]).toBe(LOG_ENTRY_VERSION);
    const big: LogEntry = {
      op: "UPSERT",
      id: "b",
      rowId: rowId(2n),
      attributes: { u: 18446744073709551615n, i: -9223372036854775808n, list: [1, 9007199254740993n], small: 3 },
    };
    const bytes = encodeLogEntry(big);
    expect(bytes[0]).toBe(LOG_ENTRY_EXACT_VERSION);
    const back = decodeLogEntry(bytes, "k");
    expect(back).toEqual(big);
    expect(typeof (back.attributes as Record<string, unknown>)["small"]).toBe("number");
    const patch: LogEntry = { op: "PATCH", id: "p", rowId: rowId(3n), attributes: { u: 18446744073709551615n, gone: null } };
    expect(decodeLogEntry(encodeLogEntry(patch), "k")).toEqual(patch);
  });

  it("reject truncated and extended version 2 payloads as Corrupt", () => {
    const bytes = encodeLogEntry({ op: "UPSERT", id: "x", rowId: rowId(1n), attributes: { u: 18446744073709551615n } });
    expect(bytes[0]).toBe(LOG_ENTRY_EXACT_VERSION);
    for (let cut = 0; cut < bytes.length; cut++) expect(isCorrupt(catchOf(() => decodeLogEntry(bytes.subarray(0, cut), "k")))).toBe(true);
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    expect(isCorrupt(catchOf(() => decodeLogEntry(longer, "k")))).toBe(true);
  });
});

function catchOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}
