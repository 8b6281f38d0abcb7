/**
 * The fold summary of a persisted tail chunk (src/chunk-fold-summary.ts, `tail.json` version 2): the golden
 * headers parse (version 2) or carry none (version 1, still read: its batches are folded); a summary that cannot
 * be sound is refused with the reason.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { chunkFoldSummaryJson, parseChunkFoldSummary } from "../src/tail/chunk-fold-summary.ts";

const golden = (version: number) => JSON.parse(readFileSync(new URL(`./fixtures/tail-chunk-header-v${version}.json`, import.meta.url), "utf8")) as Record<string, unknown>;
const rows = (ids: string[]) => ({ size: ids.length, slotOfId: (id: string) => ids.indexOf(id) });

describe("chunk fold summary (tail.json version 2)", () => {
  it("parses the golden version 2 header, and writes the same fields back", () => {
    const header = golden(2);
    const summary = parseChunkFoldSummary(header, 2, rows(["doc-1", "doc-3", "doc-5"]));
    expect(summary).toEqual({ touched: [3, 3], deleted: ["doc-2"], superseded: ["doc-4"] });
    expect({ ...header, ...chunkFoldSummaryJson(summary as Exclude<typeof summary, string>) }).toEqual(header);
  });

  it("a version 1 header has no summary", () => {
    expect(golden(1)["version"]).toBe(1);
    expect(typeof parseChunkFoldSummary(golden(1), 1, rows(["doc-1"]))).toBe("string");
  });

  it.each([
    ["a count missing", { touched: [3] }, "no count"],
    ["a negative count", { touched: [3, -1] }, "no count"],
    ["a row also deleted", { deleted: ["doc-1"] }, "both as a row"],
    ["an id deleted and superseded", { deleted: ["doc-4"] }, "twice"],
    ["ids that are not strings", { superseded: [4] }, "not strings"],
    ["fewer entries than ids", { touched: [1, 1] }, "counts 2 entries for 5 ids"],
  ])("refuses %s", (_, change, reason) => {
    const summary = parseChunkFoldSummary({ ...golden(2), ...change }, 2, rows(["doc-1", "doc-3", "doc-5"]));
    expect(summary).toEqual(expect.stringContaining(reason));
  });
});
