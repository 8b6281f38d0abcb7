import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeMutationState,
  encodeMutationState,
  handleId,
  isSchemaError,
  isUnsupportedVersionError,
  MUTATION_STATE_SCHEMA_VERSION,
  type MutationState,
  rowId,
  type SchemaError,
  type UpdateMutationState,
  walId,
} from "@skerry/wal-format";
import { mutationStateArb } from "./support/arbitraries.ts";

const HASH = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262";

function sampleUpdate(): UpdateMutationState {
  return {
    walId: walId(0x00112233445566778899aabbccddeeffn),
    schemaVersion: MUTATION_STATE_SCHEMA_VERSION,
    opKind: "UPDATE",
    state: "INTENT",
    createdAt: Date.parse("2026-05-30T10:00:00Z"),
    lease: {
      owner: handleId(42n),
      acquiredAt: Date.parse("2026-05-30T10:00:01Z"),
      expiresAt: Date.parse("2026-05-30T10:01:01Z"),
    },
    predicateRepr: "status = 'pending'",
    targetIds: [rowId(1n), rowId(2n), rowId(3n)],
    newRowCount: 3,
    newRowContentHash: HASH,
    preallocatedSuperfileId: "00000000-0000-0000-0000-000000000000",
    mintedIdSpans: [
      { first: rowId(100n), last: rowId(101n) },
      { first: rowId(200n), last: rowId(200n) },
    ],
    tombstoneProgress: [1n, 2n, 3n].map((id) => ({ targetId: rowId(id), outcome: "PENDING" as const })),
  };
}

function sampleDelete(): MutationState {
  const { newRowCount, newRowContentHash, preallocatedSuperfileId, mintedIdSpans, ...common } = sampleUpdate();
  return { ...common, opKind: "DELETE" };
}

function wire(doc: MutationState): Record<string, unknown> {
  return JSON.parse(new TextDecoder().decode(encodeMutationState(doc))) as Record<string, unknown>;
}

function decodeJson(value: unknown): MutationState {
  return decodeMutationState(JSON.stringify(value));
}

function schemaError(fn: () => unknown): SchemaError {
  try {
    fn();
  } catch (error) {
    if (isSchemaError(error)) return error;
    throw new Error(`expected SchemaError, got ${String(error)}`);
  }
  throw new Error("expected SchemaError, got success");
}

describe("mutation state document", () => {
  it("round-trips an UPDATE document through JSON", () => {
    const doc = sampleUpdate();
    expect(decodeMutationState(encodeMutationState(doc))).toEqual(doc);
  });

  it("writes snake_case fields, 32-hex ids and the seed's enum spellings", () => {
    const json = wire(sampleUpdate());
    expect(Object.keys(json)).toEqual([
      "wal_id",
      "schema_version",
      "op_kind",
      "state",
      "created_at",
      "lease",
      "predicate_repr",
      "target_ids",
      "new_row_count",
      "new_row_content_hash",
      "preallocated_superfile_id",
      "minted_id_spans",
      "tombstone_progress",
    ]);
    expect(json["wal_id"]).toBe("00112233445566778899aabbccddeeff");
    expect(json["target_ids"]).toEqual(["00000000000000000000000000000001", "00000000000000000000000000000002", "00000000000000000000000000000003"]);
    expect(json["minted_id_spans"]).toEqual([
      { first: "00000000000000000000000000000064", last: "00000000000000000000000000000065" },
      { first: "000000000000000000000000000000c8", last: "000000000000000000000000000000c8" },
    ]);
    expect(json["lease"]).toEqual({
      owner: "0000000000000000000000000000002a",
      acquired_at: "2026-05-30T10:00:01.000Z",
      expires_at: "2026-05-30T10:01:01.000Z",
    });
    expect(json["tombstone_progress"]).toEqual([
      { target_id: "00000000000000000000000000000001", outcome: "PENDING" },
      { target_id: "00000000000000000000000000000002", outcome: "PENDING" },
      { target_id: "00000000000000000000000000000003", outcome: "PENDING" },
    ]);
  });

  it("omits the UPDATE-only fields from DELETE documents and still round-trips them", () => {
    const doc = sampleDelete();
    const json = wire(doc);
    for (const field of ["new_row_count", "new_row_content_hash", "preallocated_superfile_id", "minted_id_spans"]) {
      expect(json).not.toHaveProperty(field);
    }
    expect(decodeMutationState(encodeMutationState(doc))).toEqual(doc);
  });

  it("reads DELETE documents that spell absent UPDATE-only fields as null or []", () => {
    const json = {
      ...wire(sampleDelete()),
      new_row_count: null,
      new_row_content_hash: null,
      preallocated_superfile_id: null,
      minted_id_spans: [],
      lease: null,
    };
    const { lease, ...withoutLease } = sampleDelete();
    expect(decodeJson(json)).toEqual(withoutLease);
  });

  it("tolerates unknown keys on read and writes them back on rewrite", () => {
    const json: Record<string, unknown> = { ...wire(sampleUpdate()), priority: "high" };
    (json["lease"] as Record<string, unknown>)["host"] = "worker-7";
    const decoded = decodeJson(json);
    expect(decoded.extra).toEqual({ priority: "high" });
    expect(decoded.lease?.extra).toEqual({ host: "worker-7" });
    const rewritten = wire({ ...decoded, state: "APPENDED" });
    expect(rewritten["priority"]).toBe("high");
    expect(rewritten["state"]).toBe("APPENDED");
    expect((rewritten["lease"] as Record<string, unknown>)["host"]).toBe("worker-7");
  });

  it("keeps an unknown __proto__ key as data, not as a prototype", () => {
    const text = new TextDecoder().decode(encodeMutationState(sampleDelete())).replace(/}$/, ',"__proto__":{"polluted":true}}');
    const decoded = decodeMutationState(text);
    expect(Object.keys(decoded.extra ?? {})).toEqual(["__proto__"]);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
    expect(new TextDecoder().decode(encodeMutationState(decoded))).toContain('"__proto__":{"polluted":true}');
  });

  it("does not let an extra key overwrite a known field", () => {
    const doc = { ...sampleDelete(), extra: { state: "COMPLETE", note: 1 } } as MutationState;
    const json = wire(doc);
    expect(json["state"]).toBe("INTENT");
    expect(json["note"]).toBe(1);
  });

  it("rejects an unknown op_kind, naming the field", () => {
    const json = {
      wal_id: "00000000000000000000000000000001",
      schema_version: 1,
      op_kind: "MERGE",
      state: "INTENT",
      created_at: "2026-05-30T10:00:00Z",
      predicate_repr: "x",
      target_ids: [],
      tombstone_progress: [],
    };
    const error = schemaError(() => decodeJson(json));
    expect(error).toMatchObject({ code: "Schema", document: "mutation-state", field: "op_kind" });
    expect(error.message).toContain("op_kind");
  });

  it("rejects unknown state and outcome values with the field path", () => {
    expect(schemaError(() => decodeJson({ ...wire(sampleDelete()), state: "DONE" })).field).toBe("state");
    const json = wire(sampleDelete());
    (json["tombstone_progress"] as Record<string, unknown>[])[2]!["outcome"] = "MAYBE";
    expect(schemaError(() => decodeJson(json)).field).toBe("tombstone_progress[2].outcome");
  });

  it("rejects a schema_version newer than the reader's with UnsupportedVersion", () => {
    const json = { ...wire(sampleUpdate()), schema_version: MUTATION_STATE_SCHEMA_VERSION + 1, op_kind: "MERGE" };
    try {
      decodeJson(json);
      expect.unreachable();
    } catch (error) {
      expect(isUnsupportedVersionError(error)).toBe(true);
      expect(error).toMatchObject({ subject: "mutation-state", found: 2, supported: 1 });
    }
  });

  it("rejects a missing or invalid schema_version as a schema error", () => {
    const { schema_version, ...rest } = wire(sampleDelete());
    expect(schemaError(() => decodeJson(rest)).field).toBe("schema_version");
    expect(schemaError(() => decodeJson({ ...rest, schema_version: 0 })).field).toBe("schema_version");
    expect(schemaError(() => decodeJson({ ...rest, schema_version: "1" })).field).toBe("schema_version");
  });

  it("requires every UPDATE-only field on an UPDATE and none on a DELETE", () => {
    const { new_row_content_hash, ...partial } = wire(sampleUpdate());
    expect(schemaError(() => decodeJson(partial)).field).toBe("new_row_content_hash");
    expect(schemaError(() => decodeJson({ ...wire(sampleDelete()), new_row_count: 3 })).field).toBe("new_row_count");
    expect(schemaError(() => decodeJson({ ...wire(sampleDelete()), minted_id_spans: [{ first: "0".repeat(32), last: "0".repeat(32) }] })).field).toBe(
      "minted_id_spans",
    );
  });

  it("requires the minted spans to add up to new_row_count", () => {
    expect(schemaError(() => decodeJson({ ...wire(sampleUpdate()), new_row_count: 4 })).field).toBe("minted_id_spans");
  });

  it("rejects inverted spans, malformed ids, hashes, uuids and timestamps by field", () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ minted_id_spans: [{ first: "00000000000000000000000000000002", last: "00000000000000000000000000000001" }] }, "minted_id_spans[0].last"],
      [{ wal_id: "xyz" }, "wal_id"],
      [{ target_ids: ["00000000000000000000000000000001", "0000000000000000000000000000000G"] }, "target_ids[1]"],
      [{ new_row_content_hash: "deadbeef" }, "new_row_content_hash"],
      [{ preallocated_superfile_id: "not-a-uuid" }, "preallocated_superfile_id"],
      [{ created_at: "yesterday" }, "created_at"],
      [{ new_row_count: -1 }, "new_row_count"],
    ];
    for (const [patch, field] of cases) {
      const error = schemaError(() => decodeJson({ ...wire(sampleUpdate()), ...patch }));
      expect(error.field, JSON.stringify(patch)).toBe(field);
    }
  });

  it("wraps invalid UTF-8, invalid JSON, non-objects and oversize input in SchemaError", () => {
    expect(schemaError(() => decodeMutationState(new Uint8Array([0x7b, 0xff, 0x7d]))).field).toBe("");
    expect(schemaError(() => decodeMutationState("{not json")).message).toContain("not valid JSON");
    expect(schemaError(() => decodeMutationState("[1,2]")).message).toContain("JSON object");
    expect(schemaError(() => decodeMutationState("null")).message).toContain("JSON object");
    expect(schemaError(() => decodeMutationState("[".repeat(100_000))).code).toBe("Schema");
    expect(schemaError(() => decodeMutationState(encodeMutationState(sampleUpdate()), { maxBytes: 10 })).message).toContain("cap");
  });

  it("accepts RFC 3339 timestamps with offsets and nanoseconds, truncating to milliseconds", () => {
    const decoded = decodeJson({ ...wire(sampleDelete()), created_at: "2026-05-30T12:00:00.123456789+02:00" });
    expect(decoded.createdAt).toBe(Date.parse("2026-05-30T10:00:00.123Z"));
  });

  it("refuses to encode a document it could not read back", () => {
    expect(schemaError(() => encodeMutationState({ ...sampleUpdate(), newRowCount: 7 })).field).toBe("minted_id_spans");
    expect(schemaError(() => encodeMutationState({ ...sampleDelete(), createdAt: Number.NaN })).field).toBe("created_at");
    expect(schemaError(() => encodeMutationState({ ...sampleDelete(), extra: { big: 1n } } as unknown as MutationState)).code).toBe("Schema");
  });

  it("round-trips any valid document (property)", () => {
    fc.assert(
      fc.property(mutationStateArb, (doc) => {
        const bytes = encodeMutationState(doc);
        const decoded = decodeMutationState(bytes);
        expect(decoded).toEqual(doc);
        expect(encodeMutationState(decoded)).toEqual(bytes);
      }),
      { numRuns: 300 },
    );
  });
});
