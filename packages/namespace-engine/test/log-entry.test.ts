import { describe, expect, it } from "vitest";
import { rowId } from "@skerry/wal-format";
import { decodeLogEntry, encodeLogEntry, isCorrupt, type LogEntry } from "@skerry/namespace-engine";

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
    newer[0] = 2;
    expect(isCorrupt(catchOf(() => decodeLogEntry(newer, "k")))).toBe(true);
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
