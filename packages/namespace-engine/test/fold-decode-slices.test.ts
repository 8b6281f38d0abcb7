/**
 * The query tail's fold reads a log batch's entries in slices
 * (container-loader.ts `loadFoldContainer`): FOLD_DECODE_SLICE entries,
 * then a turn of the event loop, so one large batch does not hold the loop
 * for its whole decode; the entries are those of an unsliced decode, and a
 * batch that fails verification fails before any slice.
 */
import { describe, expect, it } from "vitest";
import { MemoryStorage } from "@skerry/storage-providers";
import { type ContainerRef, contentHash, rowId, seededRandom } from "@skerry/wal-format";
import { encodeLogEntry, isCorrupt, type LogEntry } from "@skerry/namespace-engine";
import { FOLD_DECODE_SLICE, loadFoldContainer } from "../src/state/container-loader.ts";
import { decodeLazily } from "../src/log/lazy-upsert.ts";
import { encodeLogBatch } from "../src/log/log-batch.ts";
import { DEFAULT_RETRY_POLICY } from "../src/core/storage-calls.ts";

function batch(n: number): { ref: ContainerRef; payloads: Uint8Array[] } {
  const payloads = Array.from({ length: n }, (_, i): Uint8Array => {
    const entry: LogEntry =
      i % 10 === 9
        ? { op: "DELETE", id: `doc-${i - 1}` }
        : { op: "UPSERT", id: `doc-${i}`, rowId: rowId(BigInt(i + 1)), vector: Float32Array.from([i, 1, -i]), attributes: { n: i } };
    return encodeLogEntry(entry);
  });
  const bytes = encodeLogBatch(1, payloads);
  const ref: ContainerRef = { id: "b1", kind: "LOG_BATCH", key: "ns/log/b1.log", rowCount: n, byteSize: bytes.length, contentHash: contentHash(bytes), inline: bytes, carrierVersion: 1 };
  return { ref, payloads };
}

const deps = { storage: new MemoryStorage(), random: seededRandom(1), retry: DEFAULT_RETRY_POLICY };

describe("the fold's log batch decode", () => {
  it("turns the event loop between slices of entries and decodes what an unsliced decode does", async () => {
    const n = FOLD_DECODE_SLICE * 2 + 500;
    const { ref, payloads } = batch(n);
    let pauses = 0;
    const loaded = await loadFoldContainer(deps, ref, undefined, async () => {
      pauses++;
    });
    expect(pauses).toBe(2);
    expect(loaded.entries).toEqual(payloads.map((p) => decodeLazily(p, ref.key)));
  });

  it("a batch that fails its hash is Corrupt before any entry is decoded", async () => {
    const { ref } = batch(FOLD_DECODE_SLICE + 1);
    const damaged = (ref.inline as Uint8Array).slice();
    damaged[damaged.length - 3] = (damaged[damaged.length - 3] as number) ^ 1;
    let pauses = 0;
    const error = await loadFoldContainer(deps, { ...ref, inline: damaged }, undefined, async () => {
      pauses++;
    }).catch((e: unknown) => e);
    expect(isCorrupt(error)).toBe(true);
    expect(pauses).toBe(0);
  });
});
