import * as arrow from "apache-arrow";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  contentHash,
  type CorruptDataError,
  decodeRowBatch,
  decodeRowBatchTable,
  encodeRowBatch,
  isCorruptDataError,
  isUnsupportedVersionError,
  readIdBytes,
  rowBatchIpc,
  type RowDocumentInput,
  rowId,
  verifyContentHash,
} from "@skerry/wal-format";
import { normalizeDocument, rowDocumentsArb } from "./support/arbitraries.ts";

const docs: RowDocumentInput[] = [
  {
    rowId: rowId(0x0102030405060708090a0b0c0d0e0f00n),
    id: "doc-1",
    vector: [0.5, -1, 2],
    sparse: { indices: [3, 17], values: [0.25, 4] },
    text: { title: "Skerry", body: "rocks in the sea" },
    attributes: { lang: "en", stars: 5, tags: ["db", "s3"] },
  },
  { rowId: rowId(2n), id: "doc-2" },
  { rowId: rowId(3n), id: "dóc-3", vector: new Float32Array([1, 2, 3]), text: {} },
];

function corrupt(fn: () => unknown): CorruptDataError {
  try {
    fn();
  } catch (error) {
    if (isCorruptDataError(error)) return error;
    throw new Error(`expected CorruptDataError, got ${String(error)}`);
  }
  throw new Error("expected CorruptDataError, got success");
}

describe("row batch", () => {
  it("round-trips documents with vectors, sparse vectors, text fields and attributes", () => {
    const decoded = decodeRowBatch(encodeRowBatch(docs));
    expect(decoded.map(normalizeDocument)).toEqual(docs.map(normalizeDocument));
    expect(decoded[1]).toEqual({ rowId: 2n, id: "doc-2" });
    expect(decoded[0]!.vector).toBeInstanceOf(Float32Array);
  });

  it("exposes a standard Arrow IPC stream with the documented columns", () => {
    const bytes = encodeRowBatch(docs);
    const table = arrow.tableFromIPC(rowBatchIpc(bytes));
    expect(table.schema.fields.map((f) => `${f.name}:${String(f.type)}`)).toEqual([
      "_id:FixedSizeBinary[16]",
      "id:Utf8",
      "vector:FixedSizeList[3]<Float32>",
      "sparse:Struct<{indices:List<Uint32>, values:List<Float32>}>",
      "text:Map<{key:Utf8, value:Utf8}>",
      "attrs:Utf8",
    ]);
    expect(table.numRows).toBe(3);
    expect(table.getChild("id")?.toArray()).toEqual(["doc-1", "doc-2", "dóc-3"]);
    expect(readIdBytes(table.getChild("_id")!.get(0) as Uint8Array)).toBe(docs[0]!.rowId);
    expect(Array.from(table.getChild("vector")!.get(2) as Iterable<number>)).toEqual([1, 2, 3]);
    expect(table.getChild("vector")!.get(1)).toBeNull();
    expect(JSON.parse(table.getChild("attrs")!.get(0) as string)).toEqual(docs[0]!.attributes);
    const columnar = decodeRowBatchTable(bytes);
    expect(columnar).toMatchObject({ rowCount: 3, dimension: 3 });
  });

  it("omits the vector column when no document has a vector", () => {
    const bytes = encodeRowBatch([{ rowId: rowId(1n), id: "a" }]);
    expect(decodeRowBatchTable(bytes).dimension).toBe(0);
    expect(decodeRowBatch(bytes)).toEqual([{ rowId: 1n, id: "a" }]);
    expect(decodeRowBatch(encodeRowBatch([]))).toEqual([]);
  });

  it("verifies against a BLAKE3 content hash of the whole object", () => {
    const bytes = encodeRowBatch(docs);
    const hash = contentHash(bytes);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    verifyContentHash(bytes, hash);
    expect(() => verifyContentHash(bytes, "00".repeat(32))).toThrow(expect.objectContaining({ code: "ContentHashMismatch", expected: "00".repeat(32), actual: hash }));
  });

  it("rejects mixed vector dimensions and other unrepresentable input", () => {
    const mixed = [
      { rowId: rowId(1n), id: "a", vector: [1, 2] },
      { rowId: rowId(2n), id: "b", vector: [1, 2, 3] },
    ];
    expect(() => encodeRowBatch(mixed)).toThrow(expect.objectContaining({ code: "InvalidInput" }));
    expect(() => encodeRowBatch([{ rowId: 1n as never, id: 5 as never }])).toThrow(expect.objectContaining({ code: "InvalidInput" }));
    expect(() => encodeRowBatch([{ rowId: rowId(1n), id: "a", sparse: { indices: [1], values: [] } }])).toThrow(
      expect.objectContaining({ code: "InvalidInput" }),
    );
    const cyclic: Record<string, unknown> = {};
    cyclic["self"] = cyclic;
    expect(() => encodeRowBatch([{ rowId: rowId(1n), id: "a", attributes: cyclic as never }])).toThrow(
      expect.objectContaining({ code: "InvalidInput" }),
    );
  });

  it("rejects wrong magic, truncation, trailing bytes and a corrupted body", () => {
    const good = encodeRowBatch(docs);
    expect(corrupt(() => decodeRowBatch(new TextEncoder().encode("SKRYFLOG"))).reason).toBe("bad-magic");
    expect(corrupt(() => decodeRowBatch(good.subarray(0, 40))).reason).toBe("truncated");
    expect(corrupt(() => decodeRowBatch(good.subarray(0, good.length - 1))).reason).toBe("truncated");
    const longer = new Uint8Array(good.length + 8);
    longer.set(good);
    expect(corrupt(() => decodeRowBatch(longer)).reason).toBe("malformed");
    const body = good.slice();
    body[good.length - 20]! ^= 0x40;
    expect(corrupt(() => decodeRowBatch(body))).toMatchObject({ reason: "checksum-mismatch", offset: 24 });
    const header = good.slice();
    header[12]! ^= 0x01; // row_count
    expect(corrupt(() => decodeRowBatch(header))).toMatchObject({ reason: "checksum-mismatch", offset: 56 });
  });

  it("rejects a newer format version and oversized lengths", () => {
    const bytes = encodeRowBatch(docs);
    const newer = bytes.slice();
    newer[8] = 9;
    expect(isUnsupportedVersionError((() => {
      try {
        decodeRowBatch(newer);
      } catch (error) {
        return error;
      }
    })())).toBe(true);
    expect(corrupt(() => decodeRowBatch(bytes, { maxRows: 2 })).reason).toBe("too-large");
    expect(corrupt(() => decodeRowBatch(bytes, { maxBytes: 100 })).reason).toBe("too-large");
  });

  it("round-trips any batch of documents (property)", () => {
    fc.assert(
      fc.property(rowDocumentsArb, (batch) => {
        const bytes = encodeRowBatch(batch);
        const decoded = decodeRowBatch(bytes);
        expect(decoded.map(normalizeDocument)).toEqual(batch.map(normalizeDocument));
        expect(encodeRowBatch(decoded)).toEqual(bytes);
      }),
      { numRuns: 150 },
    );
  });
});
