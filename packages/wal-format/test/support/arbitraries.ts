/**
 * fast-check arbitraries for the values this package encodes, shared by the
 * property and fuzz tests.
 */
import fc from "fast-check";
import type {
  CompactionIntent,
  ContainerRef,
  HandleId,
  IdSpan,
  JsonObject,
  Lease,
  Manifest,
  MutationState,
  RefcountTable,
  RowDocumentInput,
  RowId,
  SealRecord,
  TombstoneEntry,
  WalId,
} from "@skerry/wal-format";
import { MAX_ID } from "@skerry/wal-format";

export const id128 = fc.bigInt({ min: 0n, max: MAX_ID });
export const rowIdArb = id128.map((v) => v as RowId);
export const walIdArb = id128.map((v) => v as WalId);
export const handleIdArb = id128.map((v) => v as HandleId);
/** Millisecond timestamps between 1970 and 2200. */
export const timestampArb = fc.integer({ min: 0, max: 7_258_118_400_000 });
export const uuidArb = fc.uuid().map((u) => u.toLowerCase());
export const hashArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString("hex"));

const jsonLeaf = fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), fc.string({ maxLength: 8 }));
export const jsonValueArb = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: "small" }, jsonLeaf, fc.array(tie("value"), { maxLength: 3 }), tie("object")),
  object: fc.dictionary(fc.string({ maxLength: 6 }), tie("value"), { maxKeys: 3 }),
})).value;
export const jsonObjectArb = fc.dictionary(fc.string({ maxLength: 6 }), jsonValueArb, { maxKeys: 4 }) as fc.Arbitrary<JsonObject>;

/** Extra (unknown) keys, avoiding every known wire field name. */
export const extraArb = (known: readonly string[]) =>
  fc.option(
    fc
      .dictionary(fc.string({ minLength: 1, maxLength: 8 }).map((k) => `x_${k}`), jsonValueArb, { minKeys: 1, maxKeys: 3 })
      .filter((o) => Object.keys(o).every((k) => !known.includes(k))) as fc.Arbitrary<JsonObject>,
    { nil: undefined },
  );

export const idSpanArb: fc.Arbitrary<IdSpan> = fc
  .tuple(fc.bigInt({ min: 0n, max: MAX_ID - 1000n }), fc.integer({ min: 0, max: 999 }))
  .map(([first, extra]) => ({ first: first as RowId, last: (first + BigInt(extra)) as RowId }));

export const leaseArb: fc.Arbitrary<Lease> = fc
  .record({ owner: handleIdArb, acquiredAt: timestampArb, expiresAt: timestampArb, extra: extraArb([]) })
  .map(({ extra, ...rest }) => (extra === undefined ? rest : { ...rest, extra }));

export const tombstoneEntryArb: fc.Arbitrary<TombstoneEntry> = fc
  .record({
    targetId: rowIdArb,
    outcome: fc.constantFrom("PENDING", "TOMBSTONED", "NOT_FOUND" as const),
    superfile: fc.option(uuidArb, { nil: undefined }),
  })
  .map(({ superfile, ...rest }) => (superfile === undefined ? rest : { ...rest, tombstonedInSuperfile: superfile }));

export const sealArb: fc.Arbitrary<SealRecord> = fc.record({ compactionId: uuidArb, sealedAt: timestampArb });

export const mutationStateArb: fc.Arbitrary<MutationState> = fc
  .record({
    walId: walIdArb,
    state: fc.constantFrom("INTENT", "APPENDED", "COMPLETE" as const),
    createdAt: timestampArb,
    lease: fc.option(leaseArb, { nil: undefined }),
    predicateRepr: fc.string({ maxLength: 30 }),
    targetIds: fc.array(rowIdArb, { maxLength: 5 }),
    tombstoneProgress: fc.array(tombstoneEntryArb, { maxLength: 5 }),
    extra: extraArb([]),
    update: fc.option(
      fc.record({ spans: fc.array(idSpanArb, { maxLength: 3 }), hash: hashArb, superfile: uuidArb }),
      { nil: undefined },
    ),
  })
  .map(({ lease, extra, update, ...common }): MutationState => {
    const base = {
      ...common,
      schemaVersion: 1,
      ...(lease === undefined ? {} : { lease }),
      ...(extra === undefined ? {} : { extra }),
    };
    if (update === undefined) return { ...base, opKind: "DELETE" };
    const count = update.spans.reduce((n, s) => n + Number(s.last - s.first + 1n), 0);
    return {
      ...base,
      opKind: "UPDATE",
      newRowCount: count,
      newRowContentHash: update.hash,
      preallocatedSuperfileId: update.superfile,
      mintedIdSpans: update.spans,
    };
  });

const segmentName = fc.stringMatching(/^[a-z0-9_-]{1,10}$/);
const namespaceArb = fc.tuple(segmentName, segmentName, segmentName).map((p) => p.join("/"));

export const containerArb: fc.Arbitrary<ContainerRef> = fc
  .record({
    id: uuidArb,
    kind: fc.constantFrom("LOG_BATCH", "SEGMENT" as const),
    key: fc.string({ minLength: 1, maxLength: 40 }),
    rowCount: fc.nat(),
    byteSize: fc.nat(),
    contentHash: hashArb,
    range: fc.option(idSpanArb, { nil: undefined }),
    tombstones: fc.option(fc.string({ minLength: 1, maxLength: 20 }), { nil: undefined }),
    inline: fc.option(fc.uint8Array({ maxLength: 40 }), { nil: undefined }),
  })
  .map(({ range, tombstones, inline, ...rest }) => ({
    ...rest,
    ...(range === undefined ? {} : { rowIdRange: range }),
    ...(tombstones === undefined ? {} : { tombstonesKey: tombstones }),
    // Inline bytes only on a LOG_BATCH, and then byte_size is their length.
    ...(inline === undefined || rest.kind !== "LOG_BATCH" ? {} : { inline, byteSize: inline.length }),
  }));

export const manifestArb: fc.Arbitrary<Manifest> = fc
  .record({
    namespace: namespaceArb,
    version: fc.integer({ min: 1, max: 1_000_000 }),
    createdAt: timestampArb,
    updatedAt: timestampArb,
    parent: fc.option(fc.record({ namespace: namespaceArb, version: fc.nat() }), { nil: undefined }),
    deletedAt: fc.option(timestampArb, { nil: undefined }),
    vector: fc.option(
      fc
        .record({
          dimension: fc.option(fc.integer({ min: 1, max: 4096 }), { nil: undefined }),
          metric: fc.constantFrom("COSINE", "DOT", "EUCLIDEAN" as const),
        })
        .map(({ dimension, metric }) => (dimension === undefined ? { metric } : { dimension, metric })),
      { nil: undefined },
    ),
    containers: fc.uniqueArray(containerArb, { maxLength: 4, selector: (c) => c.id }),
    rowIdHighWater: rowIdArb,
    recentWrites: fc.array(
      fc
        .record({
          idempotencyKey: fc.string({ minLength: 1, maxLength: 12 }),
          version: fc.nat(),
          committedAt: timestampArb,
          count: fc.option(fc.nat(), { nil: undefined }),
        })
        .map(({ count, ...w }) => (count === undefined ? w : { ...w, count })),
      { maxLength: 3 },
    ),
    labels: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }).map((d) => new Map(Object.entries(d))),
    extra: extraArb([]),
  })
  .map(({ parent, vector, extra, deletedAt, containers, ...rest }) => ({
    schemaVersion: 1,
    ...rest,
    // A batch's bytes ride only in its carrier (this version); an odd-sized batch is carried by an earlier one.
    containers: containers.map((c): ContainerRef => {
      if (c.kind !== "LOG_BATCH") return c;
      if (c.inline !== undefined) return { ...c, carrierVersion: rest.version };
      return c.byteSize % 2 === 1 && rest.version > 1 ? { ...c, carrierVersion: 1 + (c.byteSize % (rest.version - 1)) } : c;
    }),
    ...(deletedAt === undefined ? {} : { deletedAt }),
    ...(parent === undefined ? {} : { parent }),
    ...(vector === undefined ? {} : { vector }),
    ...(extra === undefined ? {} : { extra }),
  }));

export const refcountTableArb: fc.Arbitrary<RefcountTable> = fc
  .record({
    project: fc.tuple(segmentName, segmentName).map((p) => p.join("/")),
    generation: fc.nat(),
    updatedAt: timestampArb,
    counts: fc
      .dictionary(fc.string({ minLength: 1, maxLength: 30 }), fc.nat(), { maxKeys: 6 })
      .map((d) => new Map(Object.entries(d))),
  })
  .map((r) => ({ schemaVersion: 1, ...r }));

export const compactionIntentArb: fc.Arbitrary<CompactionIntent> = fc
  .record({
    compactionId: uuidArb,
    namespace: namespaceArb,
    state: fc.constantFrom("INTENT", "WRITTEN", "COMMITTED", "ABANDONED" as const),
    createdAt: timestampArb,
    lease: fc.option(leaseArb, { nil: undefined }),
    baseManifestVersion: fc.nat(),
    inputContainers: fc.array(fc.record({ id: uuidArb, key: fc.string({ minLength: 1, maxLength: 20 }) }), { minLength: 1, maxLength: 4 }),
    outputSegmentIds: fc.array(uuidArb, { maxLength: 3 }),
  })
  .map(({ lease, ...rest }) => ({ schemaVersion: 1, ...rest, ...(lease === undefined ? {} : { lease }) }));

/** A batch of documents sharing one vector dimension (or none). */
export const rowDocumentsArb: fc.Arbitrary<RowDocumentInput[]> = fc
  .integer({ min: 0, max: 8 })
  .chain((dimension) =>
    fc.array(
      fc
        .record({
          rowId: rowIdArb,
          id: fc.string({ maxLength: 12, unit: "grapheme" }),
          vector: fc.option(fc.array(fc.float({ noNaN: true }), { minLength: dimension, maxLength: dimension }), { nil: undefined }),
          sparse: fc.option(
            fc.array(fc.tuple(fc.nat({ max: 0xffff_ffff }), fc.float({ noNaN: true })), { maxLength: 4 }).map((pairs) => ({
              indices: pairs.map((p) => p[0]),
              values: pairs.map((p) => p[1]),
            })),
            { nil: undefined },
          ),
          text: fc.option(fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 20, unit: "grapheme" }), { maxKeys: 3 }), {
            nil: undefined,
          }),
          attributes: fc.option(jsonObjectArb, { nil: undefined }),
        })
        .map((d) => {
          const out: { -readonly [K in keyof RowDocumentInput]: RowDocumentInput[K] } = { rowId: d.rowId, id: d.id };
          if (dimension > 0 && d.vector !== undefined) out.vector = d.vector;
          if (d.sparse !== undefined) out.sparse = d.sparse;
          if (d.text !== undefined) out.text = d.text;
          if (d.attributes !== undefined) out.attributes = d.attributes;
          return out as RowDocumentInput;
        }),
      { maxLength: 6 },
    ),
  );

/** Plain-array view of a decoded or input document, for equality checks. */
export function normalizeDocument(doc: RowDocumentInput): Record<string, unknown> {
  const out: Record<string, unknown> = { rowId: doc.rowId, id: doc.id };
  if (doc.vector !== undefined) out["vector"] = Array.from(doc.vector, (v) => Math.fround(v));
  if (doc.sparse !== undefined) {
    out["sparse"] = { indices: Array.from(doc.sparse.indices), values: Array.from(doc.sparse.values, (v) => Math.fround(v)) };
  }
  if (doc.text !== undefined) out["text"] = { ...doc.text };
  if (doc.attributes !== undefined) out["attributes"] = JSON.parse(JSON.stringify(doc.attributes));
  return out;
}
