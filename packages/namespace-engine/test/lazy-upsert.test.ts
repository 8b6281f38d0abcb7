/**
 * LazyUpsert (src/lazy-upsert.ts): an UPSERT's id is decoded at once and
 * the rest when used, with exactly decodeLogEntry's result; other entries
 * decode whole; an UPSERT that does not decode fails as Corrupt, either
 * at once (a header or id it cannot read) or when used (its body), never
 * as a document with fields missing.
 */
import { describe, expect, it } from "vitest";
import { rowId } from "@skerry/wal-format";
import { decodeLogEntry, encodeLogEntry, isCorrupt, type LogEntry } from "@skerry/namespace-engine";
import { decodeLazily, isLazy, materialize } from "../src/log/lazy-upsert.ts";

const upsert: LogEntry = {
  op: "UPSERT",
  id: "dóc-1",
  rowId: rowId(42n),
  vector: Float32Array.from([0.5, -1, 2]),
  text: { title: "Skerry" },
  attributes: { lang: "en" },
};

function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("lazy upserts", () => {
  it("decode an UPSERT's id at once and the rest on use, as decodeLogEntry does; other ops whole", () => {
    const lazy = decodeLazily(encodeLogEntry(upsert), "k");
    expect(isLazy(lazy)).toBe(true);
    expect(lazy.id).toBe("dóc-1");
    expect(materialize(lazy)).toEqual(decodeLogEntry(encodeLogEntry(upsert), "k"));
    const patch: LogEntry = { op: "PATCH", id: "p", rowId: rowId(43n), attributes: { gone: null } };
    const del: LogEntry = { op: "DELETE", id: "d" };
    for (const entry of [patch, del]) {
      const decoded = decodeLazily(encodeLogEntry(entry), "k");
      expect(isLazy(decoded)).toBe(false);
      expect(decoded).toEqual(entry);
    }
  });

  it("an UPSERT cut anywhere fails as Corrupt, at once or when used", () => {
    const bytes = encodeLogEntry(upsert);
    for (let cut = 0; cut < bytes.length; cut++) {
      const error = errorOf(() => materialize(decodeLazily(bytes.subarray(0, cut), "k")));
      expect(isCorrupt(error)).toBe(true);
    }
    const flipped = bytes.slice();
    flipped[2] = 0xff; // unknown flags: found when used
    const lazy = decodeLazily(flipped, "k");
    expect(isCorrupt(errorOf(() => materialize(lazy)))).toBe(true);
  });
});
