import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type CompactionIntent,
  type ContainerRef,
  contentHash,
  decodeCompactionIntent,
  decodeManifest,
  decodeRefcountTable,
  encodeCompactionIntent,
  encodeManifest,
  encodeRefcountTable,
  isSchemaError,
  isUnsupportedVersionError,
  type Manifest,
  type RefcountTable,
  rowId,
} from "@skerry/wal-format";
import { encodeDocument } from "../src/schemas/json-document.ts";
import { manifestSpec } from "../src/schemas/manifest.ts";
import { compactionIntentArb, manifestArb, refcountTableArb } from "./support/arbitraries.ts";

const HASH = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262";
/** The JSON document of an encoded object (a manifest's: the JSON part of its envelope). */
const json = (bytes: Uint8Array) =>
  JSON.parse(new TextDecoder().decode(bytes[0] === 0x53 ? envelope(bytes).json : bytes)) as Record<string, unknown>;

function failure(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected a failure");
}

function sampleManifest(): Manifest {
  return {
    schemaVersion: 1,
    namespace: "acme/search/docs",
    version: 12,
    createdAt: Date.parse("2026-05-01T00:00:00Z"),
    updatedAt: Date.parse("2026-05-30T10:00:00Z"),
    parent: { namespace: "acme/search/base", version: 7 },
    vector: { dimension: 128, metric: "COSINE" },
    containers: [
      {
        id: "0b7e4c1e-3f0a-4b8e-9a51-2b8d3f1c9e01",
        kind: "SEGMENT",
        key: "acme/search/docs/segments/0b7e4c1e.arrow",
        rowCount: 1000,
        byteSize: 600_000,
        contentHash: HASH,
        rowIdRange: { first: rowId(10n), last: rowId(5000n) },
        tombstonesKey: "acme/search/docs/superfiles/0b7e4c1e-3f0a-4b8e-9a51-2b8d3f1c9e01.tombstones",
      },
      {
        id: "5d1f0a2b-6c3e-4f7a-8b9c-0d1e2f3a4b5c",
        kind: "LOG_BATCH",
        key: "acme/search/docs/log/00000000000000000013.log",
        rowCount: 0,
        byteSize: 64,
        contentHash: HASH,
      },
    ],
    rowIdHighWater: rowId(5000n),
    recentWrites: [{ idempotencyKey: "client-42", version: 12, committedAt: Date.parse("2026-05-30T10:00:00Z") }],
    labels: new Map([["team", "search"]]),
  };
}

/** The header line, JSON part and attachment of an enveloped manifest object. */
function envelope(bytes: Uint8Array): { header: string; json: Uint8Array; attachment: Uint8Array } {
  const newline = bytes.indexOf(0x0a);
  const header = new TextDecoder().decode(bytes.subarray(0, newline));
  const length = Number(header.split(" ")[2]);
  return { header, json: bytes.subarray(newline + 1, newline + 1 + length), attachment: bytes.subarray(newline + 1 + length) };
}

describe("manifest document", () => {
  it("round-trips with snake_case wire fields", () => {
    const manifest = sampleManifest();
    const bytes = encodeManifest(manifest);
    expect(decodeManifest(bytes)).toEqual(manifest);
    const wire = json(bytes);
    expect(wire["row_id_high_water"]).toBe("00000000000000000000000000001388");
    expect((wire["containers"] as Record<string, unknown>[])[0]).toMatchObject({ row_count: 1000, byte_size: 600_000, kind: "SEGMENT" });
  });

  it("rejects unknown container kinds and metrics, duplicate container ids and a newer schema_version", () => {
    const wire = json(encodeManifest(sampleManifest()));
    (wire["containers"] as Record<string, unknown>[])[1]!["kind"] = "PARQUET";
    expect(failure(() => decodeManifest(JSON.stringify(wire)))).toMatchObject({ code: "Schema", field: "containers[1].kind" });
    const metric = json(encodeManifest(sampleManifest()));
    (metric["vector"] as Record<string, unknown>)["metric"] = "HAMMING";
    expect(failure(() => decodeManifest(JSON.stringify(metric)))).toMatchObject({ field: "vector.metric" });
    const dup = sampleManifest();
    const twice = { ...dup, containers: [dup.containers[0]!, dup.containers[0]!] };
    expect(failure(() => encodeManifest(twice))).toMatchObject({ code: "Schema", field: "containers[1].id" });
    const newer = { ...json(encodeManifest(sampleManifest())), schema_version: 2 };
    expect(isUnsupportedVersionError(failure(() => decodeManifest(JSON.stringify(newer))))).toBe(true);
  });

  it("carries deleted_at, a vector metric before its dimension is fixed, and recent-write counts", () => {
    const manifest: Manifest = {
      ...sampleManifest(),
      deletedAt: Date.parse("2026-05-31T00:00:00Z"),
      vector: { metric: "EUCLIDEAN" },
      recentWrites: [{ idempotencyKey: "k", version: 3, committedAt: Date.parse("2026-05-30T10:00:00Z"), count: 7 }],
    };
    const wire = json(encodeManifest(manifest));
    expect(wire).toMatchObject({ deleted_at: "2026-05-31T00:00:00.000Z", vector: { metric: "EUCLIDEAN" } });
    expect((wire["recent_writes"] as Record<string, unknown>[])[0]).toMatchObject({ count: 7 });
    expect(decodeManifest(JSON.stringify(wire))).toEqual(manifest);
    const zero = { ...wire, vector: { dimension: 0, metric: "COSINE" } };
    expect(failure(() => decodeManifest(JSON.stringify(zero)))).toMatchObject({ code: "Schema", field: "vector.dimension" });
    const badCount = { ...wire, recent_writes: [{ idempotency_key: "k", version: 1, committed_at: "2026-05-30T10:00:00Z", count: -1 }] };
    expect(failure(() => decodeManifest(JSON.stringify(badCount)))).toMatchObject({ code: "Schema", field: "recent_writes[0].count" });
  });

  it("carries text_fields (full-text options per field); manifests without them still decode", () => {
    const title = { language: "french", stemming: true, removeStopwords: true, caseSensitive: false, asciiFolding: true, maxTokenLength: 39, k1: 1.5, b: 0.5 };
    const manifest: Manifest = { ...sampleManifest(), textFields: new Map([["title", title]]) };
    const wire = json(encodeManifest(manifest));
    expect(wire["text_fields"]).toEqual({
      title: { language: "french", stemming: true, remove_stopwords: true, case_sensitive: false, ascii_folding: true, max_token_length: 39, k1: 1.5, b: 0.5 },
    });
    expect(decodeManifest(encodeManifest(manifest))).toEqual(manifest);
    expect(decodeManifest(encodeManifest(sampleManifest())).textFields).toBeUndefined();
    const badB = { ...wire, text_fields: { title: { ...(wire["text_fields"] as Record<string, Record<string, unknown>>)["title"], b: 2 } } };
    expect(failure(() => decodeManifest(JSON.stringify(badB)))).toMatchObject({ code: "Schema", field: "text_fields.title.b" });
    const proto = new TextDecoder().decode(envelope(encodeManifest(manifest)).json).replace('"text_fields":{"title"', '"text_fields":{"__proto__"');
    expect([...decodeManifest(proto).textFields!.keys()]).toEqual(["__proto__"]);
    // A pre-tokenized field records its tokenizer; other fields record none.
    const tags = { ...title, stemming: false, removeStopwords: false, caseSensitive: true, asciiFolding: false, tokenizer: "pre_tokenized_array" as const };
    const both: Manifest = { ...sampleManifest(), textFields: new Map([["tags", tags], ["title", title]]) };
    const bothWire = json(encodeManifest(both));
    expect((bothWire["text_fields"] as Record<string, Record<string, unknown>>)["tags"]?.["tokenizer"]).toBe("pre_tokenized_array");
    expect(Object.hasOwn((bothWire["text_fields"] as Record<string, Record<string, unknown>>)["title"]!, "tokenizer")).toBe(false);
    expect(decodeManifest(encodeManifest(both))).toEqual(both);
    const badTokenizer = { ...bothWire, text_fields: { tags: { ...(bothWire["text_fields"] as Record<string, Record<string, unknown>>)["tags"], tokenizer: "ngram" } } };
    expect(failure(() => decodeManifest(JSON.stringify(badTokenizer)))).toMatchObject({ code: "Schema", field: "text_fields.tags.tokenizer" });
  });

  it("carries schema (id type, attribute types, filterable, options); manifests without it still decode", () => {
    const schema = {
      idType: "uint" as const,
      attributes: new Map([
        ["tags", { type: "[]string" as const, filterable: true }],
        ["body", { type: "string" as const, filterable: false, options: { full_text_search: { language: "english" } } }],
      ]),
    };
    const manifest: Manifest = { ...sampleManifest(), schema };
    const wire = json(encodeManifest(manifest));
    expect(wire["schema"]).toEqual({
      id_type: "uint",
      attributes: { body: { type: "string", filterable: false, options: { full_text_search: { language: "english" } } }, tags: { type: "[]string", filterable: true } },
    });
    const decoded = decodeManifest(encodeManifest(manifest));
    expect(decoded.schema?.idType).toBe("uint");
    expect([...decoded.schema!.attributes.entries()]).toEqual([...schema.attributes.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
    expect(decodeManifest(encodeManifest(sampleManifest())).schema).toBeUndefined();
    const noId = { ...wire, schema: { attributes: {} } };
    expect(decodeManifest(JSON.stringify(noId)).schema).toEqual({ attributes: new Map() });
    const badType = { ...wire, schema: { attributes: { x: { type: "[]vector", filterable: true } } } };
    expect(failure(() => decodeManifest(JSON.stringify(badType)))).toMatchObject({ code: "Schema", field: "schema.attributes.x.type" });
    const badId = { ...wire, schema: { id_type: "int", attributes: {} } };
    expect(failure(() => decodeManifest(JSON.stringify(badId)))).toMatchObject({ code: "Schema", field: "schema.id_type" });
    const proto = new TextDecoder().decode(envelope(encodeManifest(manifest)).json).replace('"attributes":{"body"', '"attributes":{"__proto__"');
    expect([...decodeManifest(proto).schema!.attributes.keys()]).toEqual(["__proto__", "tags"]);
  });

  it("keeps label and extra keys named __proto__ as data", () => {
    const text = new TextDecoder().decode(envelope(encodeManifest(sampleManifest())).json).replace('"labels":{', '"labels":{"__proto__":"x",');
    const decoded = decodeManifest(text);
    expect(decoded.labels.get("__proto__")).toBe("x");
    expect(new TextDecoder().decode(encodeManifest(decoded))).toContain('"__proto__":"x"');
  });

  it("verifies the body hash of envelope version 2 before parsing; legacy plain JSON and envelope 1 still decode", () => {
    const manifest = sampleManifest();
    const encoded = encodeManifest(manifest);
    const { header, json: jsonPart } = envelope(encoded);
    const text = new TextDecoder().decode(encoded);
    // One character of a container key edited: the hash catches it, naming the format and the reason.
    const at = text.indexOf("segments/0b7e4c1e") + "segments/".length;
    const edited = encoded.slice();
    edited[at] = "1".charCodeAt(0);
    expect(failure(() => decodeManifest(edited))).toMatchObject({ code: "CorruptData", format: "manifest", reason: "checksum-mismatch" });
    // The hash itself edited, an extra byte, a malformed header, a newer envelope version.
    const badHash = encoded.slice();
    badHash[header.length - 1] = badHash[header.length - 1] === 0x30 ? 0x31 : 0x30;
    expect(failure(() => decodeManifest(badHash))).toMatchObject({ code: "CorruptData", reason: "checksum-mismatch" });
    expect(failure(() => decodeManifest(Uint8Array.from([...encoded, 0x20])))).toMatchObject({ code: "CorruptData", reason: "checksum-mismatch" });
    const enc = new TextEncoder();
    expect(failure(() => decodeManifest(Uint8Array.from([...enc.encode(`SKERRY-MANIFEST 2 ${jsonPart.length}\n`), ...jsonPart])))).toMatchObject({
      code: "CorruptData",
      reason: "malformed",
    });
    expect(failure(() => decodeManifest(Uint8Array.from([...enc.encode("SKERRY-MANIFEST 2 "), ...jsonPart])))).toMatchObject({ code: "CorruptData", reason: "malformed" });
    const newer = enc.encode(text.replace("SKERRY-MANIFEST 2 ", "SKERRY-MANIFEST 3 "));
    expect(failure(() => decodeManifest(newer))).toMatchObject({ code: "UnsupportedVersion", subject: "manifest envelope", found: 3, supported: 2 });
    // Legacy objects (written before the hash): read unverified.
    expect(decodeManifest(jsonPart)).toEqual(manifest);
    expect(decodeManifest(Uint8Array.from([...enc.encode(`SKERRY-MANIFEST 1 ${jsonPart.length}\n`), ...jsonPart]))).toEqual(manifest);
  });

  it("round-trips any valid manifest (property), byte for byte what the generic document encoder writes", () => {
    fc.assert(
      fc.property(manifestArb, (manifest) => {
        const bytes = encodeManifest(manifest);
        expect(decodeManifest(bytes)).toEqual(manifest);
        expect(encodeManifest(decodeManifest(bytes))).toEqual(bytes);
        expect(encodeManifest(manifest)).toEqual(bytes); // second encode: from the per-ref cache
        // The JSON part is what the generic document encoder writes (a carrier's bytes follow it).
        const { header, json, attachment } = envelope(bytes);
        expect(json).toEqual(encodeDocument(manifestSpec, manifest));
        expect(header).toBe(`SKERRY-MANIFEST 2 ${json.length} ${contentHash(bytes.subarray(header.length + 1))}`);
        expect(attachment.length).toBe(manifest.containers.reduce((n, c) => n + (c.inline?.length ?? 0), 0));
      }),
      { numRuns: 200 },
    );
  });

  it("attaches a carrier's batch bytes after its JSON (envelope) and checks kind, byte_size, carrier and bounds", () => {
    const base = sampleManifest();
    const bytes = Uint8Array.from([0, 1, 2, 250, 251, 252, 7]);
    const inline: ContainerRef = {
      id: "11111111-2222-4333-8444-555555555555",
      kind: "LOG_BATCH",
      key: "acme/search/ns/docs/log/11111111-2222-4333-8444-555555555555.log",
      rowCount: 1,
      byteSize: bytes.length,
      contentHash: "ab".repeat(32),
      inline: bytes,
      carrierVersion: base.version,
    };
    const manifest: Manifest = { ...base, containers: [...base.containers, inline] };
    const encoded = encodeManifest(manifest);
    const { header, json: jsonPart, attachment } = envelope(encoded);
    expect(header).toBe(`SKERRY-MANIFEST 2 ${jsonPart.length} ${contentHash(encoded.subarray(header.length + 1))}`);
    expect([...attachment]).toEqual([...bytes]);
    const last = (JSON.parse(new TextDecoder().decode(jsonPart))["containers"] as Record<string, unknown>[]).at(-1)!;
    expect(last["inline_offset"]).toBe(0);
    expect(last["carrier_version"]).toBe(base.version);
    const decoded = decodeManifest(encoded);
    expect(decoded).toEqual(manifest);
    expect(encodeManifest(decoded)).toEqual(encoded);
    expect(jsonPart).toEqual(encodeDocument(manifestSpec, manifest)); // the JSON part is the generic encoding
    // A later version names the carrier without the bytes: an envelope with an empty attachment.
    const { inline: _bytes, ...carried } = inline;
    const later: Manifest = { ...manifest, version: base.version + 1, containers: [...base.containers, carried] };
    expect(envelope(encodeManifest(later)).attachment.length).toBe(0);
    expect(decodeManifest(encodeManifest(later))).toEqual(later);
    // Only a LOG_BATCH is carried; the bytes must be byte_size long.
    expect(failure(() => encodeManifest({ ...manifest, containers: [{ ...inline, kind: "SEGMENT" }] }))).toMatchObject({
      code: "Schema",
      field: "containers[0].carrier_version",
    });
    expect(failure(() => encodeManifest({ ...manifest, containers: [{ ...inline, byteSize: 8 }] }))).toMatchObject({ field: "containers[0].inline_offset" });
    // Bytes need their carrier; only the carrier holds them; the carrier holds them; no carrier from the future.
    const { carrierVersion: _c, ...unnamed } = inline;
    expect(failure(() => encodeManifest({ ...manifest, containers: [unnamed] }))).toMatchObject({ field: "containers[0].carrier_version" });
    expect(failure(() => encodeManifest({ ...later, containers: [inline] }))).toMatchObject({ field: "containers[0].inline_offset" });
    expect(failure(() => encodeManifest({ ...manifest, containers: [carried] }))).toMatchObject({ field: "containers[0].inline_offset" });
    expect(failure(() => encodeManifest({ ...manifest, containers: [{ ...carried, carrierVersion: base.version + 1 }] }))).toMatchObject({
      field: "containers[0].carrier_version",
    });
    // Damaged envelopes: bytes outside the attachment, stray attached bytes, a bad header, a short JSON part.
    const index = base.containers.length;
    const withJson = (edit: (wire: Record<string, unknown>) => void, extra = attachment) => {
      const wire = JSON.parse(new TextDecoder().decode(jsonPart)) as Record<string, unknown>;
      edit(wire);
      const text = new TextEncoder().encode(JSON.stringify(wire));
      return Uint8Array.from([...new TextEncoder().encode(`SKERRY-MANIFEST 1 ${text.length}\n`), ...text, ...extra]);
    };
    const ref = (wire: Record<string, unknown>) => (wire["containers"] as Record<string, unknown>[]).at(-1)!;
    expect(failure(() => decodeManifest(withJson((w) => void (ref(w)["inline_offset"] = 3))))).toMatchObject({ code: "Schema", field: `containers[${index}].inline_offset` });
    expect(failure(() => decodeManifest(withJson(() => undefined, Uint8Array.from([...bytes, 9]))))).toMatchObject({ code: "Schema", field: "" });
    expect(failure(() => decodeManifest(withJson(() => undefined, bytes.subarray(1))))).toMatchObject({ field: `containers[${index}].inline_offset` });
    expect(failure(() => decodeManifest(Uint8Array.from([...new TextEncoder().encode("SKERRY-MANIFEST 1 x\n"), ...jsonPart])))).toMatchObject({ code: "Schema" });
    expect(failure(() => decodeManifest(encoded.subarray(0, header.length + 10)))).toMatchObject({ code: "CorruptData", reason: "checksum-mismatch" });
    // Plain JSON naming an inline offset has no attachment to take it from.
    expect(failure(() => decodeManifest(jsonPart))).toMatchObject({ code: "Schema", field: `containers[${index}].inline_offset` });
    expect(failure(() => decodeManifest(withJson((w) => void (ref(w)["carrier_version"] = base.version - 1))))).toMatchObject({
      code: "Schema",
      field: `containers[${index}].inline_offset`,
    });
  });

  it("validates each container ref once per object and still rejects a bad new one", () => {
    const manifest = sampleManifest();
    encodeManifest(manifest);
    const bad = { ...manifest.containers[0]!, contentHash: "nothex" };
    expect(failure(() => encodeManifest({ ...manifest, containers: [...manifest.containers, bad] }))).toMatchObject({
      code: "Schema",
      field: `containers[${manifest.containers.length}].content_hash`,
    });
    const badWrite = { idempotencyKey: "", version: 1, committedAt: 0 };
    expect(failure(() => encodeManifest({ ...manifest, recentWrites: [badWrite] }))).toMatchObject({ field: "recent_writes[0].idempotency_key" });
  });
});

describe("refcount table document", () => {
  const table: RefcountTable = {
    schemaVersion: 1,
    project: "acme/search",
    generation: 3,
    updatedAt: Date.parse("2026-05-30T10:00:00Z"),
    counts: new Map([
      ["acme/search/docs/segments/a.arrow", 2],
      ["acme/search/docs/log/1.log", 0],
    ]),
  };

  it("round-trips object keys and counts", () => {
    expect(decodeRefcountTable(encodeRefcountTable(table))).toEqual(table);
  });

  it("rejects negative or fractional counts naming the key", () => {
    const wire = json(encodeRefcountTable(table));
    (wire["counts"] as Record<string, unknown>)["acme/search/docs/log/1.log"] = -1;
    const error = failure(() => decodeRefcountTable(JSON.stringify(wire)));
    expect(isSchemaError(error)).toBe(true);
    expect(error).toMatchObject({ document: "refcount-table", field: "counts.acme/search/docs/log/1.log" });
  });

  it("round-trips any valid table (property)", () => {
    fc.assert(
      fc.property(refcountTableArb, (t) => {
        expect(decodeRefcountTable(encodeRefcountTable(t))).toEqual(t);
      }),
      { numRuns: 200 },
    );
  });
});

describe("compaction intent document", () => {
  const intent: CompactionIntent = {
    schemaVersion: 1,
    compactionId: "9f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f",
    namespace: "acme/search/docs",
    state: "INTENT",
    createdAt: Date.parse("2026-05-30T10:00:00Z"),
    baseManifestVersion: 12,
    inputContainers: [{ id: "5d1f0a2b-6c3e-4f7a-8b9c-0d1e2f3a4b5c", key: "acme/search/docs/log/00000000000000000013.log" }],
    outputSegmentIds: ["0b7e4c1e-3f0a-4b8e-9a51-2b8d3f1c9e01"],
  };

  it("round-trips", () => {
    expect(decodeCompactionIntent(encodeCompactionIntent(intent))).toEqual(intent);
  });

  it("rejects an unknown state and an empty input list", () => {
    expect(failure(() => decodeCompactionIntent(JSON.stringify({ ...json(encodeCompactionIntent(intent)), state: "RUNNING" })))).toMatchObject({
      field: "state",
    });
    expect(failure(() => encodeCompactionIntent({ ...intent, inputContainers: [] }))).toMatchObject({ field: "input_containers" });
  });

  it("round-trips any valid intent (property)", () => {
    fc.assert(
      fc.property(compactionIntentArb, (i) => {
        expect(decodeCompactionIntent(encodeCompactionIntent(i))).toEqual(i);
      }),
      { numRuns: 200 },
    );
  });
});
