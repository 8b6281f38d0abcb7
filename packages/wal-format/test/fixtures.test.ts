import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  blockSpan,
  decodeBlockFileDirectory,
  decodeCompactionIntent,
  decodeFramedLog,
  decodeManifest,
  decodeMutationState,
  decodeRefcountTable,
  decodeRowBatch,
  decodeTombstoneSidecar,
  encodeBlockFile,
  encodeCompactionIntent,
  encodeFramedLog,
  encodeManifest,
  encodeMutationState,
  encodeRefcountTable,
  encodeRowBatch,
  encodeTombstoneSidecar,
  verifyBlockSpan,
} from "@skerry/wal-format";
import {
  blockFileSections,
  exactRows,
  buildFixtures,
  deletedManifest,
  deleteState,
  intent,
  manifest,
  laterManifest,
  legacyFixtures,
  refcounts,
  updateState,
} from "./fixtures/make-fixtures.ts";

const read = (name: string) => new Uint8Array(readFileSync(new URL(`./fixtures/${name}`, import.meta.url)));

/** decode then encode must give back the committed bytes. */
const roundTrips: Record<string, (bytes: Uint8Array) => Uint8Array> = {
  "mutation-state-v1-update.json": (b) => encodeMutationState(decodeMutationState(b)),
  "mutation-state-v1-delete.json": (b) => encodeMutationState(decodeMutationState(b)),
  "manifest-v2.bin": (b) => encodeManifest(decodeManifest(b)),
  "manifest-v2-carrier.bin": (b) => encodeManifest(decodeManifest(b)),
  "manifest-v2-deleted.bin": (b) => encodeManifest(decodeManifest(b)),
  "refcount-table-v1.json": (b) => encodeRefcountTable(decodeRefcountTable(b)),
  "compaction-intent-v1.json": (b) => encodeCompactionIntent(decodeCompactionIntent(b)),
  "tombstone-sidecar-v1.bin": (b) => encodeTombstoneSidecar(decodeTombstoneSidecar(b)),
  "tombstone-sidecar-v1-sealed.bin": (b) => encodeTombstoneSidecar(decodeTombstoneSidecar(b)),
  "row-batch-v1.bin": (b) => encodeRowBatch(decodeRowBatch(b)),
  "row-batch-v2.bin": (b) => encodeRowBatch(decodeRowBatch(b)),
  "block-file-v1.bin": (b) => encodeBlockFile(blockFileContents(b)),
  "framed-log-v1.bin": (b) => {
    const log = decodeFramedLog(b);
    return encodeFramedLog({ baseRevision: log.header.baseRevision, entries: log.entries });
  },
};

/** A block file's sections, read whole and verified, with the layout parameters they were written with. */
function blockFileContents(bytes: Uint8Array) {
  const directory = decodeBlockFileDirectory(bytes, bytes.byteLength);
  return directory.sections.map((section) => {
    const span = blockSpan(section);
    const data = verifyBlockSpan(directory, span, bytes.slice(span.offset, span.offset + span.length));
    const layout =
      section.blockBytes === undefined
        ? { blockEnds: Array.from({ length: section.blockCount }, (_, i) => section.blockEnd(i)) }
        : { blockBytes: section.blockBytes };
    return { name: section.name, bytes: data, ...layout, ...(section.eager ? { eager: true } : {}) };
  });
}

describe("golden fixtures", () => {
  const built = buildFixtures();

  it("cover every format", () => {
    expect(Object.keys(built).sort()).toEqual(Object.keys(roundTrips).sort());
  });

  for (const name of Object.keys(roundTrips)) {
    it(`${name} is what the encoder writes today`, () => {
      expect(Buffer.from(built[name]!).equals(Buffer.from(read(name)))).toBe(true);
    });

    it(`${name} decodes and re-encodes byte-identically`, () => {
      const bytes = read(name);
      expect(Buffer.from(roundTrips[name]!(bytes)).equals(Buffer.from(bytes))).toBe(true);
    });
  }

  it("decode to the values they were made from", () => {
    expect(decodeMutationState(read("mutation-state-v1-update.json"))).toEqual(updateState);
    expect(decodeMutationState(read("mutation-state-v1-delete.json"))).toEqual(deleteState);
    expect(decodeManifest(read("manifest-v2-carrier.bin"))).toEqual(manifest);
    expect(decodeManifest(read("manifest-v2.bin"))).toEqual(laterManifest);
    expect(decodeManifest(read("manifest-v2-deleted.bin"))).toEqual(deletedManifest);
    expect(decodeRefcountTable(read("refcount-table-v1.json"))).toEqual(refcounts);
    expect(decodeCompactionIntent(read("compaction-intent-v1.json"))).toEqual(intent);
    expect(Array.from(decodeTombstoneSidecar(read("tombstone-sidecar-v1.bin")).positions)).toEqual([0, 7, 42, 65_536, 65_537, 1_000_000]);
    expect(decodeRowBatch(read("row-batch-v1.bin")).map((d) => d.id)).toEqual(["doc-1", "doc-2", "dóc-3"]);
    expect(decodeRowBatch(read("row-batch-v2.bin")).map((d) => d.attributes)).toEqual(exactRows.map((d) => d.attributes));
    expect(decodeFramedLog(read("framed-log-v1.bin")).header.baseRevision).toBe(41n);
    expect(blockFileContents(read("block-file-v1.bin"))).toEqual(blockFileSections);
  });
});

describe("legacy fixtures (formats no longer written)", () => {
  for (const [name, { value, today }] of Object.entries(legacyFixtures)) {
    it(`${name} still decodes, and re-encodes as today's ${today}`, () => {
      const decoded = decodeManifest(read(name));
      expect(decoded).toEqual(value);
      expect(Buffer.from(encodeManifest(decoded)).equals(Buffer.from(read(today)))).toBe(true);
    });
  }
});

describe("manifest envelope version 2: the body hash", () => {
  it("is verified before parsing: one character of a key edited -> CorruptDataError checksum-mismatch", () => {
    for (const name of ["manifest-v2-carrier.bin", "manifest-v2.bin", "manifest-v2-deleted.bin"]) {
      const bytes = read(name);
      const text = Buffer.from(bytes).toString("latin1");
      const at = text.indexOf('"key":"') + '"key":"'.length;
      const edited = name === "manifest-v2-deleted.bin" ? text.indexOf('"namespace":"') + '"namespace":"'.length : at;
      expect(edited).toBeGreaterThan(100);
      const damaged = bytes.slice();
      damaged[edited] = damaged[edited] === 0x61 ? 0x62 : 0x61;
      let error: unknown;
      try {
        decodeManifest(damaged);
      } catch (caught) {
        error = caught;
      }
      expect(error).toMatchObject({ code: "CorruptData", format: "manifest", reason: "checksum-mismatch" });
    }
  });
});
