/**
 * Fuzzing every decoder: at least 10,000 random and mutated inputs each.
 * The rule: a decoder either returns a value or throws one of this package's
 * typed errors. Nothing else may escape, and nothing may hang.
 *
 * Mutations start from valid encodings (bit flips, byte overwrites,
 * truncation, extension, splices of length fields) and, for binary formats,
 * also re-seal the checksums afterwards so the mutations reach the parsers
 * behind them instead of stopping at the checksum.
 */
import { crc32 } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  blockSpan,
  decodeBlockFileDirectory,
  encodeBlockFile,
  verifyBlockSpan,
  contentDigest,
  contentHash,
  decodeCompactionIntent,
  decodeFramedLog,
  decodeManifest,
  decodeMutationState,
  decodeRefcountTable,
  decodeRowBatch,
  decodeTombstoneSidecar,
  encodeCompactionIntent,
  encodeFramedLog,
  encodeManifest,
  encodeMutationState,
  encodeRefcountTable,
  encodeRowBatch,
  encodeTombstoneSidecar,
  isWalFormatError,
  readFramedLog,
  rowId,
} from "@skerry/wal-format";
import { compactionIntentArb, manifestArb, mutationStateArb, refcountTableArb, sealArb } from "./support/arbitraries.ts";

const RUNS = 10_000;

/** Apply one random mutation. */
const mutation = (seed: Uint8Array) =>
  fc.oneof(
    fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.nat({ max: 7 }) }),
    fc.record({ kind: fc.constant("set" as const), at: fc.nat(), value: fc.constantFrom(0, 0xff, 0x7f, 0x80, 1, 2) }),
    fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
    fc.record({ kind: fc.constant("extend" as const), extra: fc.uint8Array({ maxLength: 16 }) }),
    fc.record({ kind: fc.constant("u32" as const), at: fc.nat(), value: fc.constantFrom(0, 1, 0xffff_ffff, 0x7fff_ffff, seed.length, 1 << 20) }),
  );

type Mutation = { kind: "flip"; at: number; bit: number } | { kind: "set"; at: number; value: number } | { kind: "truncate"; at: number } | { kind: "extend"; extra: Uint8Array } | { kind: "u32"; at: number; value: number };

function mutate(seed: Uint8Array, steps: readonly Mutation[]): Uint8Array {
  let bytes = seed.slice();
  for (const step of steps) {
    if (bytes.length === 0 && step.kind !== "extend") continue;
    switch (step.kind) {
      case "flip":
        bytes[step.at % bytes.length]! ^= 1 << step.bit;
        break;
      case "set":
        bytes[step.at % bytes.length] = step.value;
        break;
      case "truncate":
        bytes = bytes.slice(0, step.at % (bytes.length + 1));
        break;
      case "extend": {
        const longer = new Uint8Array(bytes.length + step.extra.length);
        longer.set(bytes);
        longer.set(step.extra, bytes.length);
        bytes = longer;
        break;
      }
      case "u32":
        if (bytes.length >= 4) new DataView(bytes.buffer).setUint32(step.at % (bytes.length - 3), step.value >>> 0, true);
        break;
    }
  }
  return bytes;
}

function expectOnlyTypedErrors(decode: (bytes: Uint8Array) => unknown, inputs: fc.Arbitrary<Uint8Array>): Map<string, number> {
  let typed = 0;
  let ok = 0;
  const reasons = new Map<string, number>();
  fc.assert(
    fc.property(inputs, (bytes) => {
      try {
        decode(bytes);
        ok++;
      } catch (error) {
        if (!isWalFormatError(error)) throw error;
        typed++;
        const reason = `${error.code}:${(error as { reason?: string }).reason ?? ""}`;
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      }
    }),
    { numRuns: RUNS },
  );
  expect(ok + typed).toBeGreaterThanOrEqual(RUNS);
  return reasons;
}

/** Random bytes, mutated valid seeds, and (optionally) re-sealed mutated seeds. */
function inputs(seeds: fc.Arbitrary<Uint8Array>, reseal?: (bytes: Uint8Array) => Uint8Array): fc.Arbitrary<Uint8Array> {
  const mutated = seeds.chain((seed) => fc.array(mutation(seed), { minLength: 1, maxLength: 4 }).map((steps) => mutate(seed, steps as Mutation[])));
  const options: fc.Arbitrary<Uint8Array>[] = [fc.uint8Array({ maxLength: 256 }), mutated];
  if (reseal !== undefined) options.push(mutated.map(reseal));
  return fc.oneof(...options);
}

function resealTombstones(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 28) return bytes;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)), true);
  return bytes;
}

function resealRowBatch(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 64) return bytes;
  bytes.set(contentDigest(bytes.subarray(64)), 24);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setBigUint64(16, BigInt(bytes.length - 64), true);
  // The header CRC covers bytes 0..56 and 60..64.
  view.setUint32(56, crc32(bytes.subarray(60, 64), crc32(bytes.subarray(0, 56))), true);
  return bytes;
}

function resealFramedLog(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 28) return bytes;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint32(24, crc32(bytes.subarray(0, 24)), true);
  // Re-seal every frame that still fits, so payload corruption reaches the caller.
  let at = 28;
  while (at + 8 <= bytes.length) {
    const length = view.getUint32(at + 4, true);
    if (at + 8 + length > bytes.length) break;
    view.setUint32(at, crc32(bytes.subarray(at + 4, at + 8 + length)), true);
    at += 8 + length;
  }
  return bytes;
}

/** Recomputes a block file's table/directory and trailer CRCs (when the trailer still parses), so damage reaches the structure checks. */
function resealBlockFile(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 48) return bytes;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const t = bytes.length - 48;
  const checksumOffset = Number(view.getBigUint64(t + 24, true));
  if (checksumOffset <= t) view.setUint32(t + 40, crc32(bytes.subarray(checksumOffset, t)), true);
  view.setUint32(t + 44, crc32(bytes.subarray(t, t + 44)), true);
  return bytes;
}

const utf8 = new TextEncoder();
/** JSON-level mutations: valid documents with a field replaced by a random JSON value. */
/**
 * The JSON of a document, and how to put an edited one back. A manifest envelope keeps its attachment and
 * gets a fresh body hash (re-sealed), so the edit reaches the schema checks behind the hash.
 */
function jsonPart(seed: Uint8Array): { json: string; rebuild: (json: string) => Uint8Array } {
  const text = new TextDecoder().decode(seed.subarray(0, 128));
  if (!text.startsWith("SKERRY-MANIFEST 2 ")) return { json: new TextDecoder().decode(seed), rebuild: (json) => utf8.encode(json) };
  const newline = seed.indexOf(0x0a);
  const length = Number(text.slice("SKERRY-MANIFEST 2 ".length, newline).split(" ")[0]);
  const attachment = seed.subarray(newline + 1 + length);
  return {
    json: new TextDecoder().decode(seed.subarray(newline + 1, newline + 1 + length)),
    rebuild: (json) => {
      const body = Uint8Array.from([...utf8.encode(json), ...attachment]);
      return Uint8Array.from([...utf8.encode(`SKERRY-MANIFEST 2 ${body.length - attachment.length} ${contentHash(body)}\n`), ...body]);
    },
  };
}

function jsonInputs(seeds: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  const replaced = fc.tuple(seeds, fc.nat(), fc.jsonValue({ maxDepth: 2 })).map(([seed, pick, value]) => {
    const { json, rebuild } = jsonPart(seed);
    const doc = JSON.parse(json) as Record<string, unknown>;
    const keys = Object.keys(doc);
    doc[keys[pick % keys.length]!] = value;
    return rebuild(JSON.stringify(doc));
  });
  return fc.oneof(inputs(seeds), replaced, fc.jsonValue({ maxDepth: 3 }).map((v) => utf8.encode(JSON.stringify(v))));
}

describe("fuzzing: every decoder throws only typed errors", () => {
  it("tombstone sidecar decoder", () => {
    const seeds = fc
      .tuple(fc.array(fc.oneof(fc.nat({ max: 200 }), fc.nat({ max: 200_000 })), { maxLength: 300 }), fc.option(sealArb, { nil: undefined }))
      .map(([positions, seal]) => encodeTombstoneSidecar(seal === undefined ? { positions } : { seal, positions }));
    const reasons = expectOnlyTypedErrors((b) => decodeTombstoneSidecar(b), inputs(seeds, resealTombstones));
    // Re-sealed inputs must get past the checksum into the bitmap reader.
    expect(reasons.get("CorruptData:malformed") ?? 0).toBeGreaterThan(500);
  });

  it("row batch decoder", () => {
    const seed = encodeRowBatch([
      { rowId: rowId(1n), id: "a", vector: [1, 2], sparse: { indices: [1], values: [2] }, text: { t: "x" }, attributes: { k: [1] } },
      { rowId: rowId(2n), id: "bb" },
    ]);
    const noVector = encodeRowBatch([{ rowId: rowId(3n), id: "c", text: { a: "b", c: "d" } }]);
    const reasons = expectOnlyTypedErrors((b) => decodeRowBatch(b), inputs(fc.constantFrom(seed, noVector), resealRowBatch));
    // Re-sealed inputs must get past the checksums into the Arrow checks.
    expect(reasons.get("CorruptData:malformed") ?? 0).toBeGreaterThan(500);
  });

  it("framed log decoders (tolerant and strict)", () => {
    const seeds = fc
      .tuple(fc.bigInt({ min: 0n, max: 1000n }), fc.array(fc.uint8Array({ maxLength: 24 }), { maxLength: 6 }))
      .map(([baseRevision, entries]) => encodeFramedLog({ baseRevision, entries }));
    expectOnlyTypedErrors((b) => {
      readFramedLog(b);
      return decodeFramedLog(b);
    }, inputs(seeds, resealFramedLog));
  });

  it("block file decoder and block verification", () => {
    const seeds = fc
      .array(fc.record({ length: fc.nat({ max: 300 }), block: fc.integer({ min: 1, max: 100 }), eager: fc.boolean() }), { maxLength: 4 })
      .map((specs) => encodeBlockFile(specs.map((s, i) => ({ name: `s${i}`, bytes: new Uint8Array(s.length).fill(i + 1), blockBytes: s.block, eager: s.eager }))));
    const reasons = expectOnlyTypedErrors((b) => {
      const directory = decodeBlockFileDirectory(b, b.byteLength);
      for (const section of directory.sections) {
        const span = blockSpan(section);
        verifyBlockSpan(directory, span, b.subarray(span.offset, span.offset + span.length));
      }
    }, inputs(seeds, resealBlockFile));
    // Re-sealed inputs must get past the trailer and directory checksums into the structure and block checks.
    expect((reasons.get("CorruptData:malformed") ?? 0) + (reasons.get("CorruptData:checksum-mismatch") ?? 0)).toBeGreaterThan(500);
  });

  it("mutation state decoder", () => {
    expectOnlyTypedErrors((b) => decodeMutationState(b), jsonInputs(mutationStateArb.map(encodeMutationState)));
  });

  it("manifest, refcount table and compaction intent decoders", () => {
    const seeds = fc.oneof(manifestArb.map(encodeManifest), refcountTableArb.map(encodeRefcountTable), compactionIntentArb.map(encodeCompactionIntent));
    expectOnlyTypedErrors((b) => {
      for (const decode of [decodeManifest, decodeRefcountTable, decodeCompactionIntent]) {
        try {
          decode(b);
        } catch (error) {
          if (!isWalFormatError(error)) throw error;
        }
      }
    }, jsonInputs(seeds));
  });

  it("manifest: any damage to an envelope-2 object is a typed error, never a silent read", () => {
    let checksum = 0;
    fc.assert(
      fc.property(
        manifestArb.chain((m) => {
          const seed = encodeManifest(m);
          return fc.tuple(fc.constant(seed), fc.array(mutation(seed), { minLength: 1, maxLength: 4 }));
        }),
        ([seed, steps]) => {
          const damaged = mutate(seed, steps as Mutation[]);
          if (Buffer.from(damaged).equals(Buffer.from(seed))) return;
          let error: unknown;
          try {
            decodeManifest(damaged);
          } catch (caught) {
            error = caught;
          }
          expect(isWalFormatError(error)).toBe(true);
          if ((error as { reason?: string }).reason === "checksum-mismatch") checksum++;
        },
      ),
      { numRuns: RUNS },
    );
    // Most damage lands in the body and is caught by the hash before parsing.
    expect(checksum).toBeGreaterThan(RUNS / 2);
  });
});

