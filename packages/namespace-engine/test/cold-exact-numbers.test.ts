/**
 * coldExactNumbers: the bigints a stored format-8 column holds at some slots,
 * read by range, equal the loaded column's; a few slots read a small part of
 * `exactSlots` (searches), many read it whole; a meta document or arrays that
 * disagree with the column (no `exact` flag, digits that are not an integer,
 * a bigint whose double is not the column's number, counts that differ) are
 * Corrupt naming the index.
 */
import { FaultInjectingStorage, MemoryStorage } from "@skerry/storage-providers";
import type { ContainerRef } from "@skerry/wal-format";
import { describe, expect, it } from "vitest";
import { ColdArrayReader, type ColdIndexFile } from "../../query/src/cold/cold-array-reader.ts";
import { StorageIndexSource } from "../src/read/storage-index-source.ts";
import { coldExactNumbers } from "../../query/src/cold/cold-exact-numbers.ts";
import { isCorruptStoredIndex } from "@skerry/query";
import { exactValuesOf } from "../../query/src/exact-number.ts";
import { serializeQueryIndex } from "../../query/src/index-codec.ts";
import { buildQueryIndex } from "../../query/src/query-index.ts";

const KEY = "ns/index/exact.qidx";
/** Enough bigint slots for several blocks of `exactSlots` (64 KiB: 16,384 entries each). */
const N = 60_000;
const P60 = 2n ** 60n;
const random = { nextUint32: () => 12345 };
const retry = { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 };
const ref = { key: "segment", rowCount: N } as unknown as ContainerRef;

/** u: a bigint at two slots of three (ties of doubles among them), else a small number; v: another bigint at the same slots; label: one string per bigint slot. */
function attributes(k: number) {
  if (k % 3 === 2) return { u: k, v: 1 };
  const u = P60 + BigInt(k) * 97n;
  return { u, v: u + 1_000_000n, label: `x${String(k).padStart(6, "0")}` };
}

async function stored() {
  const index = buildQueryIndex(
    Array.from({ length: N }, (_, k) => ({ id: `d${k}`, attributes: attributes(k) as never })),
    { metric: "COSINE" },
  );
  const bytes = serializeQueryIndex(index);
  const storage = new MemoryStorage();
  await storage.put(KEY, bytes, { mode: { kind: "overwrite" } });
  const counted = new FaultInjectingStorage(storage);
  const reader = new ColdArrayReader(new StorageIndexSource(counted, random, retry));
  const file = (await reader.open({ ref, indexKey: KEY, expectedBytes: bytes.byteLength })) as ColdIndexFile;
  return { index, reader, file };
}

const errorOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: unknown) => e,
  );

describe("coldExactNumbers", () => {
  it("reads the bigints of some slots by range, equal to the loaded column's", async () => {
    const { index, reader, file } = await stored();
    const column = index.attributeColumns.get("u")!;
    const loaded = exactValuesOf(column);
    const meta = file.meta.attributes.find((a) => a.name === "u")!;
    expect(meta.exactSlots).toBeDefined();
    const slotsBytes = reader.length(file, meta.exactSlots!, "u32") * 4;
    expect(slotsBytes).toBeGreaterThan(2 * 65_536);
    // A few nearby slots: searches read a small part of the exact arrays.
    const exactBytes = slotsBytes + reader.length(file, { $a: meta.exactValues!.$s[0] }, "u32") * 4 + reader.length(file, { $a: meta.exactValues!.$s[1] }, "u8");
    const before = reader.stats().bytes;
    const near = await coldExactNumbers(reader, file, meta, [30_001, 30_002, 30_005]);
    expect(reader.stats().bytes - before).toBeLessThan(exactBytes / 3);
    expect(near.bigint(30_001)).toBe(loaded.get(30_001));
    expect(near.bigint(30_002)).toBe(undefined);
    const few = [0, 1, 2, 3, 30_001, 30_002, N - 1, N - 2, N - 3, 44_444];
    const lookup = await coldExactNumbers(reader, file, meta, few);
    for (const slot of few) {
      expect(lookup.bigint(slot), String(slot)).toBe(loaded.get(slot));
      expect(lookup.at(slot, column.numbers![slot]!)).toEqual(loaded.get(slot) ?? column.numbers![slot]);
    }
    // Many slots: exactSlots read whole, every answer right.
    const many = Array.from({ length: 20_000 }, (_, i) => (i * 7) % N);
    const all = await coldExactNumbers(reader, file, meta, many);
    for (const slot of many) expect(all.bigint(slot)).toBe(loaded.get(slot));
    expect(all.entries().slots.length).toBe(many.filter((slot) => loaded.has(slot)).length);
    // A column without bigints answers none.
    const plain = await coldExactNumbers(reader, file, file.meta.attributes.find((a) => a.name === "label")!, few);
    expect(plain.entries().slots.length).toBe(0);
  });

  it("reports a meta document or arrays that disagree with the column as Corrupt naming the index", async () => {
    const { reader, file } = await stored();
    const u = file.meta.attributes.find((a) => a.name === "u")!;
    const v = file.meta.attributes.find((a) => a.name === "v")!;
    const label = file.meta.attributes.find((a) => a.name === "label")!;
    const tampered = (meta: Partial<typeof u>, withoutFlag = false): ColdIndexFile => ({
      ...file,
      meta: { ...file.meta, ...(withoutFlag ? { exact: undefined } : {}), attributes: file.meta.attributes.map((a) => (a.name === "u" ? { ...a, ...meta } : a)) },
    });
    const slots = [0, 1, 4, 100, 59_998];
    const cases: [string, ColdIndexFile, (lookup: Awaited<ReturnType<typeof coldExactNumbers>>) => void][] = [
      ["no exact flag", tampered({}, true), () => undefined],
      ["exact values without slots", tampered({ exactSlots: undefined }), () => undefined],
      ["digits that are not an integer", tampered({ exactValues: label.strings! }), () => undefined],
      ["another column's bigints", tampered({ exactValues: v.exactValues! }), (lookup) => lookup.at(0, 2 ** 60)],
      ["counts that differ", tampered({ exactSlots: label.codes! }), () => undefined],
    ];
    for (const [what, damaged, use] of cases) {
      const column = damaged.meta.attributes.find((a) => a.name === "u")!;
      const error = await errorOf(coldExactNumbers(reader, damaged, column, slots).then(use));
      expect(isCorruptStoredIndex(error), `${what}: ${String(error)}`).toBe(true);
      expect((error as { key: string }).key, what).toBe(KEY);
    }
    // The untouched column reads fine.
    expect((await coldExactNumbers(reader, file, u, slots)).bigint(0)).toBe(P60);
  });
});
