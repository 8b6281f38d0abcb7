/**
 * The zod schemas of every request and response of the HTTP API. The
 * OpenAPI document (GET /openapi.json) is generated from these, requests
 * are validated by them before any handler runs, and small responses are
 * parsed by them before they are sent (the large, streamed ones, query rows
 * and documents, are built field by field instead: http/respond.ts).
 *
 * Numbers must be finite (zod 4's number does not accept Infinity, which is
 * what JSON's `1e999` parses to); names of orgs, projects and namespaces
 * follow the engine's allow list (also the path-traversal defence).
 */
import { z } from "@hono/zod-openapi";
import type { JsonValue } from "@skerry/namespace-engine";
import { MAX_CURSOR_LENGTH } from "./page-cursor.ts";
import { ownRecord } from "./own-record.ts";
import { FilterSchema, RankBySchema, TextRankingSchema } from "./query-grammar.ts";

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const name = (what: string) =>
  z
    .string()
    .regex(NAME, `${what} must be 1-128 ASCII letters, digits, '-', '_' or '.', starting with a letter or digit`)
    .refine((v) => !v.includes(".."), `${what} must not contain '..'`);

export const OrgParam = name("organization").openapi({ param: { name: "org", in: "path" }, example: "demo" });
export const ProjectParam = name("project").openapi({ param: { name: "project", in: "path" }, example: "sample" });
export const NamespaceParam = name("namespace").openapi({ param: { name: "namespace", in: "path" }, example: "products" });

export const ProjectParams = z.object({ org: OrgParam, project: ProjectParam });
export const NamespaceParams = z.object({ org: OrgParam, project: ProjectParam, namespace: NamespaceParam });

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "NamespaceNotFound" }),
      message: z.string(),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  })
  .openapi("Error");

// Every record keyed by user-supplied names (attributes, nested objects, text fields, labels, aggregations)
// is an `ownRecord`: zod's record drops a `__proto__` key, which is data here like any other name.
/** An integer beyond 2^53-1 (the body is parsed losslessly, lossless-json.ts: a bigint), sent and answered as its digits. */
const exactInteger = z.bigint().openapi({ type: "integer", description: "An integer beyond 2^53-1 (int: i64, uint: u64), exact" });
export const JsonValueSchema: z.ZodType<JsonValue> = z
  .lazy(() => z.union([z.string(), z.number(), exactInteger, z.boolean(), z.null(), z.array(JsonValueSchema), ownRecord(z.string(), JsonValueSchema)]))
  .openapi("JsonValue", { description: "Any JSON value (finite numbers only; integers beyond 2^53-1 are exact: u64/i64 attribute values)" });
export const AttributesSchema = ownRecord(z.string(), JsonValueSchema).openapi("Attributes");
const finite = z.number();
const atVersion = z.coerce.number().int().positive().optional().openapi({ description: "Read as of this manifest version" });
const consistency = z.enum(["strong", "eventual"]).optional();

export const SparseSchema = z
  .object({ indices: z.array(z.number().int().nonnegative().max(0xffffffff)), values: z.array(finite) })
  .openapi("SparseVector", { description: "Strictly increasing u32 indices with their values" });

/** 2^64 - 1. */
const MAX_UINT_ID = 18_446_744_073_709_551_615n;
// A document id: a string, or an unsigned integer in a namespace whose ids are uint (the body is parsed losslessly:
// integers beyond 2^53-1 arrive as bigints, http/lossless-json.ts). Answers carry the engine's key, a string.
export const DocumentIdSchema = z
  .union([
    z.string().min(1).max(512),
    z.number().int().nonnegative(),
    z.custom<bigint>((v) => typeof v === "bigint" && v >= 0n && v <= MAX_UINT_ID, "an unsigned 64-bit integer").openapi({ type: "integer" }),
  ])
  .openapi("DocumentId", {
    description:
      "A string; in a namespace whose ids are uint, an unsigned 64-bit integer (0 to 2^64-1, read exactly). Answers give the engine's key: the integer's decimal digits zero-padded to 20",
  });

export const DocumentInputSchema = z
  .object({
    id: DocumentIdSchema,
    vector: z.array(finite).max(65_536).optional(),
    sparse: SparseSchema.optional(),
    text: ownRecord(z.string(), z.string()).optional(),
    attributes: AttributesSchema.optional(),
  })
  .strict()
  .openapi("DocumentInput");

export const DocumentPatchSchema = z
  .object({
    id: DocumentIdSchema,
    vector: z.array(finite).max(65_536).nullable().optional(),
    sparse: SparseSchema.nullable().optional(),
    text: ownRecord(z.string(), z.string().nullable()).optional(),
    attributes: ownRecord(z.string(), JsonValueSchema.nullable()).optional(),
  })
  .strict()
  .openapi("DocumentPatch", { description: "Fields to change; null removes a field" });

export const DocumentSchema = z
  .object({
    id: z.string(),
    vector: z.array(z.number()).optional(),
    sparse: z.object({ indices: z.array(z.number()), values: z.array(z.number()) }).optional(),
    text: ownRecord(z.string(), z.string()).optional(),
    attributes: AttributesSchema.optional(),
  })
  .openapi("Document");

const ifVersion = z.number().int().positive().optional().openapi({ description: "Commit only if the namespace is at this manifest version (else 412)" });
// The batch cap is checked in the handler (413 BatchTooLarge), not here (400).
export const UpsertBody = z.object({ documents: z.array(DocumentInputSchema).min(1), ifVersion }).strict().openapi("UpsertRequest");
export const PatchBody = z.object({ patches: z.array(DocumentPatchSchema).min(1), ifVersion }).strict().openapi("PatchRequest");
export const DeleteBody = z.object({ ids: z.array(DocumentIdSchema).min(1), ifVersion }).strict().openapi("DeleteRequest");
const ConditionSchema = z
  .array(z.unknown())
  .min(2)
  .optional()
  .openapi({
    description:
      'A filter tuple (as in QueryRequest.filters) evaluated per document against its current version at the commit; operands may be {"$ref_new": "attr"}, the new version\'s value',
    example: ["version", "Lt", { $ref_new: "version" }],
  });
export const WriteBatchBody = z
  .object({
    upserts: z.array(DocumentInputSchema).optional(),
    patches: z.array(DocumentPatchSchema).optional(),
    deletes: z.array(DocumentIdSchema).optional(),
    upsertCondition: ConditionSchema,
    patchCondition: ConditionSchema,
    deleteCondition: ConditionSchema,
    ifVersion,
  })
  .strict()
  .openapi("WriteBatchRequest", {
    description:
      "Upserts, then patches, then deletes, committed as one version. An upsert of an existing document applies if upsertCondition holds (a missing one always); patches and deletes of missing documents are skipped, of existing ones applied if their condition holds.",
  });
export const IdempotencyHeader = z.object({
  "idempotency-key": z
    .string()
    .min(1)
    .max(256)
    .optional()
    .openapi({ param: { name: "idempotency-key", in: "header" }, description: "A retry with the same key applies at most once" }),
});

export const WriteResultSchema = z
  .object({ version: z.number().int(), count: z.number().int(), deduplicated: z.boolean() })
  .openapi("WriteResult");

export const WriteBatchResultSchema = z
  .object({
    version: z.number().int(),
    count: z.number().int().openapi({ description: "Operations applied" }),
    deduplicated: z.boolean(),
    upserted: z.array(z.string()).openapi({ description: "Ids upserted (empty for a deduplicated write)" }),
    patched: z.array(z.string()),
    deleted: z.array(z.string()),
  })
  .openapi("WriteBatchResult");
/** Full-text options of one text field (the engine's TextFieldOptions; docs/namespace-engine.md, "Text fields"). */
export const TextFieldOptionsSchema = z
  .object({
    language: z.string().optional().openapi({ description: "Stemming and stop-word language (default english)" }),
    stemming: z.boolean().optional(),
    removeStopwords: z.boolean().optional(),
    caseSensitive: z.boolean().optional(),
    asciiFolding: z.boolean().optional().openapi({ description: "Remove diacritics: café matches cafe" }),
    maxTokenLength: z.number().int().optional(),
    tokenizer: z
      .enum(["word", "pre_tokenized_array"])
      .optional()
      .openapi({ description: "word (default) or pre_tokenized_array: the field's text is its tokens joined by U+001F, used as they are" }),
    k1: z.number().optional(),
    b: z.number().optional(),
  })
  .strict()
  .openapi("TextFieldOptions");
const ResolvedTextFieldOptionsSchema = z
  .object({
    language: z.string(),
    stemming: z.boolean(),
    removeStopwords: z.boolean(),
    caseSensitive: z.boolean(),
    asciiFolding: z.boolean(),
    maxTokenLength: z.number().int(),
    k1: z.number(),
    b: z.number(),
    tokenizer: z.literal("pre_tokenized_array").optional().openapi({ description: "Present for a pre-tokenized field; absent: the word tokenizer" }),
  })
  .openapi("ResolvedTextFieldOptions");
const TextFieldsSchema = ownRecord(z.string().min(1).max(128), TextFieldOptionsSchema);

const ATTRIBUTE_TYPE_NAMES = [
  "string",
  "int",
  "uint",
  "float",
  "bool",
  "uuid",
  "datetime",
  "[]string",
  "[]int",
  "[]uint",
  "[]float",
  "[]bool",
  "[]uuid",
  "[]datetime",
] as const;
const AttributeTypeSchema = z.enum(ATTRIBUTE_TYPE_NAMES).openapi("AttributeType", { description: "A scalar type or an array of one ([]int, ...)" });
const IdTypeSchema = z.enum(["string", "uint", "uuid"]).openapi("IdType");
const AttributeOptionsSchema = ownRecord(z.string(), z.unknown()).openapi({ description: "Caller options kept with the attribute, not interpreted" });
export const AttributeSchemaSchema = z
  .object({ type: AttributeTypeSchema, filterable: z.boolean(), options: AttributeOptionsSchema.optional() })
  .openapi("AttributeSchema");
export const NamespaceSchemaSchema = z
  .object({
    idType: IdTypeSchema.optional().openapi({ description: "Absent until declared or fixed by the first write (string ids)" }),
    attributes: ownRecord(z.string(), AttributeSchemaSchema),
  })
  .openapi("NamespaceSchema", { description: "The typed schema: the id type, and per attribute its type and whether it is filterable" });
export const SchemaInputSchema = z
  .object({
    idType: IdTypeSchema.optional(),
    attributes: ownRecord(
      z.string().min(1).max(1024),
      z.union([AttributeTypeSchema, z.object({ type: AttributeTypeSchema, filterable: z.boolean().optional(), options: AttributeOptionsSchema.optional() }).strict()]),
    ).optional(),
  })
  .strict()
  .openapi("NamespaceSchemaInput", {
    description: "Merged into the namespace's schema: attributes are added, int may widen to float, other type changes are a 400; filterable defaults to true",
  });

export const NamespaceInfoSchema = z
  .object({
    path: z.string(),
    org: z.string(),
    project: z.string(),
    namespace: z.string(),
    version: z.number().int(),
    docCount: z.number().int(),
    logBatches: z.number().int(),
    segments: z.number().int(),
    bytes: z.number().int(),
    distanceMetric: z.enum(["cosine", "dot", "euclidean"]),
    vectorDimension: z.number().int().optional(),
    textFields: ownRecord(z.string(), ResolvedTextFieldOptionsSchema).openapi({ description: "Full-text options of the text fields that have any" }),
    schema: NamespaceSchemaSchema.optional().openapi({ description: "The typed schema; absent for a schemaless namespace" }),
    parent: z.object({ namespace: z.string(), version: z.number().int() }).optional().openapi({ description: "The source and version this namespace was branched or copied from" }),
    pinned: z.boolean().openapi({ description: "Pinned: kept warm in memory by every server, never evicted" }),
    labels: ownRecord(z.string(), z.string()),
    createdAt: z.number(),
    updatedAt: z.number(),
  })
  .openapi("NamespaceInfo");

export const LabelsSchema = ownRecord(z.string().min(1).max(128), z.string().max(1024));
export const CreateNamespaceBody = z
  .object({
    name: name("namespace"),
    distanceMetric: z.enum(["cosine", "dot", "euclidean"]).optional(),
    labels: LabelsSchema.optional(),
    textFields: TextFieldsSchema.optional(),
    schema: SchemaInputSchema.optional().openapi({ description: "A typed schema ({} for one with nothing declared: types are inferred from writes)" }),
  })
  .strict()
  .openapi("CreateNamespaceRequest");
export const UpdateLabelsBody = z.object({ labels: LabelsSchema, ifVersion }).strict().openapi("UpdateLabelsRequest");
export const UpdateSchemaBody = z.object({ schema: SchemaInputSchema, ifVersion }).strict().openapi("UpdateSchemaRequest");
export const SchemaResultSchema = z
  .object({ version: z.number().int(), schema: NamespaceSchemaSchema.nullable().openapi({ description: "null: the namespace is schemaless" }) })
  .openapi("SchemaResult");
export const UpdateTextFieldsBody = z.object({ textFields: TextFieldsSchema, ifVersion }).strict().openapi("UpdateTextFieldsRequest");
// ------------------------------------------------------- paginated listings
const cursor = z
  .string()
  .min(1)
  .max(MAX_CURSOR_LENGTH)
  .optional()
  .openapi({ description: "Resume after the page whose answer carried this `nextCursor` (opaque: pass it back unchanged; a malformed, altered or foreign one is 400 InvalidCursor)" });
const pageLimit = z.coerce
  .number()
  .int()
  .min(1)
  .max(10_000)
  .optional()
  .openapi({ description: "Items per page, 1-10,000 (default 100 when only `cursor` is given). Without `cursor` and `limit` the answer is the whole list, as one page" });
const nextCursor = z.string().optional().openapi({ description: "Present when more items follow: pass it as `cursor` for the next page" });
export const ListQuery = z.object({ cursor, limit: pageLimit });
export const VersionsQuery = ListQuery.extend({
  order: z.enum(["asc", "desc"]).optional().openapi({ description: "asc (default) or desc (newest first; one LIST per page, where an asc page lists every retained version)" }),
});

export const NamespaceListSchema = z.object({ namespaces: z.array(z.string()), nextCursor }).openapi("NamespaceList", { description: "Live namespace names, sorted" });
export const DeleteNamespaceResultSchema = z
  .object({ version: z.number().int(), alreadyDeleted: z.boolean(), objectsDeleted: z.number().int() })
  .openapi("DeleteNamespaceResult");
export const VersionsSchema = z.object({ versions: z.array(z.number().int()), nextCursor }).openapi("VersionList");

export const ContainerViewSchema = z
  .object({
    id: z.string(),
    kind: z.enum(["LOG_BATCH", "SEGMENT"]),
    key: z.string(),
    rowCount: z.number().int(),
    byteSize: z.number().int(),
    contentHash: z.string(),
    tombstonesKey: z.string().optional(),
    carrierVersion: z
      .number()
      .int()
      .optional()
      .openapi({ description: "Manifest version that carries this write batch's bytes (absent: the object at key holds them)" }),
    tombstonedRows: z.number().int().optional().openapi({ description: "Rows of this container its tombstone sidecar hides" }),
    tombstonesError: z.string().optional().openapi({ description: "Why the sidecar could not be read (tombstonedRows is then absent)" }),
  })
  .openapi("ContainerView");
export const ManifestViewSchema = z
  .object({
    namespace: z.string(),
    version: z.number().int(),
    createdAt: z.number(),
    updatedAt: z.number(),
    deletedAt: z.number().optional(),
    parent: z.object({ namespace: z.string(), version: z.number().int() }).optional(),
    vector: z.object({ metric: z.string(), dimension: z.number().int().optional() }).optional(),
    rowIdHighWater: z.string().openapi({ description: "Every row id in the namespace is at most this (32 hex)" }),
    recentWrites: z.number().int().openapi({ description: "Idempotency keys remembered by this version" }),
    labels: ownRecord(z.string(), z.string()),
    containers: z.array(ContainerViewSchema).openapi({ description: "Row containers in fold order (oldest first)" }),
  })
  .openapi("ManifestView");

export const ReadQuery = z.object({ atVersion, consistency });
export const GetDocumentsBody = z
  .object({ ids: z.array(DocumentIdSchema).min(1).max(10_000), atVersion: z.number().int().positive().optional(), consistency })
  .strict()
  .openapi("GetDocumentsRequest");
export const GetDocumentsResultSchema = z
  .object({ version: z.number().int(), documents: z.array(DocumentSchema.nullable()) })
  .openapi("GetDocumentsResult", { description: "Aligned with the requested ids; null where absent" });
export const ScanQuery = z.object({
  atVersion,
  consistency,
  cursor: cursor.openapi({
    description:
      "Resume after the page whose answer carried this `nextCursor`, at that page's version (so a scan sees one snapshot whatever is written meanwhile); opaque, a bad one is 400 InvalidCursor. Not with `after`",
  }),
  after: z.string().min(1).optional().openapi({ description: "Start after this id (at the latest or `atVersion` version). Not with `cursor`" }),
  limit: z.coerce.number().int().min(1).max(10_000).optional().openapi({ description: "Documents per page, 1-10,000 (default 100)" }),
});
export const ScanResultSchema = z
  .object({
    version: z.number().int(),
    documents: z.array(DocumentSchema),
    nextCursor: z.string().optional().openapi({ description: "Present when more documents follow: pass it as `cursor` for the next page (read at `version`)" }),
    next: z.string().optional().openapi({ description: "The page's last id when more follow (older form: pass it as `after`, with `atVersion` to stay at this version)" }),
  })
  .openapi("ScanResult", { description: "One page in id order" });

export const QueryBody = z
  .object({
    rankBy: RankBySchema.optional(),
    filters: FilterSchema.optional(),
    topK: z.number().int().positive().optional(),
    includeAttributes: z.union([z.boolean(), z.array(z.string())]).optional(),
    includeVectors: z.boolean().optional(),
    distanceMetric: z.enum(["COSINE", "DOT", "EUCLIDEAN"]).optional(),
    distanceThreshold: z.number().optional(),
    aggregateBy: ownRecord(z.string(), z.array(z.string())).optional(),
    groupBy: z
      .array(z.union([z.string(), ownRecord(z.string(), z.array(z.string()))]))
      .optional()
      .openapi({ description: 'Group keys: attributes, or {"<name>": ["ForEachUnique", "<array attribute>"]} (a group per distinct element)' }),
    consistency,
    atVersion: z.number().int().positive().optional(),
    probes: z.number().int().positive().optional(),
    limitPer: z
      .object({ attributes: z.array(z.string()), limit: z.number().int().positive() })
      .strict()
      .optional()
      .openapi({ description: "Diversity: at most `limit` rows per distinct tuple of the attributes' values (not with aggregateBy or RRF)" }),
    computeAttributes: ownRecord(z.string(), z.union([TextRankingSchema, z.number()]))
      .optional()
      .openapi({
        description:
          'Values computed for every returned row (rows carry them as `computed`): a ranking expression (TextRanking, e.g. ["Saturate", ["Attribute", "clicks"], {"midpoint": 100}]), ["vector", "VectorDist", [numbers]] (the distance under the query\'s metric) or ["Highlight", "<text field>", {"fragmentBy"?, "fragmentLimit"?, "includeOffsets"?, "rankFragmentsBy"?}] (the best fragments of the row\'s stored value of that attribute: docs/query.md)',
      }),
  })
  .strict()
  .openapi("QueryRequest", {
    description:
      "rankBy is a RankBy and filters a Filter (their components list every form); both are validated in full by the query module, which answers 400 InvalidQuery with the path of each problem.",
  });
export const QueryResultSchema = z
  .object({
    version: z.number().int(),
    rows: z.array(
      z.object({
        id: z.string(),
        distance: z.number().optional(),
        score: z.number().optional(),
        attributes: AttributesSchema.optional(),
        vector: z.array(z.number()).optional(),
        computed: ownRecord(
          z.string(),
          z.union([
            z.number(),
            z.array(
              z.object({
                text: z.string(),
                fragmentRange: z.tuple([z.number(), z.number()]).optional(),
                matchRanges: z.array(z.tuple([z.number(), z.number()])).optional(),
                arrayIndex: z.number().int().optional(),
              }),
            ),
          ]).nullable(),
        )
          .optional()
          .openapi({ description: "computeAttributes by name: a number (null: no value), or a Highlight's fragments" }),
      }),
    ),
    aggregations: ownRecord(z.string(), z.number()).optional(),
    aggregationGroups: z.array(z.object({ group: AttributesSchema, aggregations: ownRecord(z.string(), z.number()) })).optional(),
  })
  .openapi("QueryResult");

export const CreateKeyBody = z
  .discriminatedUnion("role", [
    z.object({ role: z.literal("admin"), name: z.string().max(200).optional() }).strict(),
    z.object({ role: z.enum(["read", "write"]), org: name("organization"), project: name("project"), name: z.string().max(200).optional() }).strict(),
  ])
  .openapi("CreateKeyRequest");
export const KeyInfoSchema = z
  .object({
    id: z.string(),
    role: z.enum(["admin", "read", "write"]),
    org: z.string().optional(),
    project: z.string().optional(),
    name: z.string().optional(),
    createdAt: z.number(),
  })
  .openapi("ApiKeyInfo");
export const CreatedKeySchema = KeyInfoSchema.extend({ key: z.string().openapi({ description: "The key itself; shown only in this answer" }) }).openapi(
  "CreatedApiKey",
);
export const KeyListSchema = z.object({ keys: z.array(KeyInfoSchema), nextCursor }).openapi("ApiKeyList", { description: "Keys in creation order" });
export const KeyIdParams = z.object({ id: z.string().regex(/^[0-9a-f]{16}$/).openapi({ param: { name: "id", in: "path" } }) });

export const HealthSchema = z.object({ status: z.string() }).openapi("Health");

export const FilterBody = FilterSchema.min(2);
const maxTargets = z
  .number()
  .int()
  .positive()
  .optional()
  .openapi({ description: "Most documents the mutation may target (at most, and by default, the engine's limit); a filter matching more is a 400 unless allowPartial" });
const allowPartial = z
  .boolean()
  .optional()
  .openapi({ description: "When the filter matches more than maxTargets: mutate the first maxTargets matches in id order and answer remaining: true" });
export const DeleteByFilterBody = z.object({ filter: FilterBody, ifVersion, maxTargets, allowPartial }).strict().openapi("DeleteByFilterRequest");
export const PatchByFilterBody = z
  .object({
    filter: FilterBody,
    patch: DocumentPatchSchema.omit({ id: true }).strict(),
    ifVersion,
    maxTargets,
    allowPartial,
  })
  .strict()
  .openapi("PatchByFilterRequest");
export const DeleteByFilterResultSchema = z
  .object({
    matched: z.number().int(),
    deleted: z.number().int(),
    deletedIds: z.array(z.string()).openapi({ description: "Ids of the documents deleted, in id order" }),
    skipped: z.number().int(),
    remaining: z.boolean().openapi({ description: "More documents match (a partial mutation): send it again for the rest" }),
    version: z.number().int(),
  })
  .openapi("DeleteByFilterResult");
export const PatchByFilterResultSchema = z
  .object({
    matched: z.number().int(),
    patched: z.number().int(),
    patchedIds: z.array(z.string()).openapi({ description: "Ids of the documents patched, in id order" }),
    skipped: z.number().int(),
    remaining: z.boolean().openapi({ description: "More documents match (a partial mutation): send it again for the rest" }),
    version: z.number().int(),
  })
  .openapi("PatchByFilterResult");
export const CompactBody = z.object({ force: z.boolean().optional() }).strict().openapi("CompactRequest");
export const WalGcBody = z.object({ graceMs: z.number().int().nonnegative().optional() }).strict().openapi("WalGcRequest");
export const ReportSchema = z.record(z.string(), JsonValueSchema).openapi("OperationReport", { description: "The engine's report of the operation (counts, ids as 32-hex strings)" });
export const WalListSchema = z
  .object({
    entries: z.array(
      z.object({
        walId: z.string(),
        key: z.string(),
        state: z.string().optional(),
        opKind: z.string().optional(),
        createdAt: z.number().optional(),
        targets: z.number().optional(),
        tombstoneProgress: z.number().optional(),
        leaseOwner: z.string().optional(),
        leaseExpiresAt: z.number().optional(),
        hasArrowSidecar: z.boolean(),
        error: z.string().optional(),
      }),
    ),
    nextCursor,
  })
  .openapi("WalStateList");

// ------------------------------------------------------- sharing and state

const TARGET = /^(?:[A-Za-z0-9][A-Za-z0-9._-]{0,127}\/[A-Za-z0-9][A-Za-z0-9._-]{0,127}\/)?[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const ForkBody = z
  .object({
    target: z
      .string()
      .regex(TARGET, "target must be a namespace name, or org/project/namespace")
      .refine((v) => !v.includes(".."), "target must not contain '..'")
      .openapi({ description: "The new namespace: a name in this project, or org/project/namespace", example: "products-experiment" }),
    atVersion: z.number().int().positive().optional().openapi({ description: "Source version; default the latest" }),
    labels: LabelsSchema.optional().openapi({ description: "Labels of the new namespace; default the source's" }),
  })
  .strict();
export const BranchBody = ForkBody.openapi("BranchRequest", { description: "A copy-on-write branch stays in the source's project" });
export const CopyBody = ForkBody.openapi("CopyRequest", { description: "A full copy; a target in another project needs a key covering both (an admin key)" });
export const WarmResultSchema = z
  .object({
    path: z.string(),
    version: z.number().int(),
    docCount: z.number().int(),
    bytes: z.number().int().openapi({ description: "Estimated bytes of the materialized state" }),
    pinned: z.boolean(),
  })
  .openapi("WarmResult");
export const UnpinResultSchema = z.object({ path: z.string(), pinned: z.literal(false), wasPinned: z.boolean() }).openapi("UnpinResult");
export const GcBody = z
  .object({
    keepVersions: z.number().int().positive().optional().openapi({ description: "Keep the newest N versions (default 16)" }),
    keepForMs: z.number().int().nonnegative().optional().openapi({ description: "Keep versions superseded less than this long ago (default one hour)" }),
  })
  .strict()
  .openapi("GcRequest");
export const GarbageReportSchema = z
  .object({
    versionsDeleted: z.number().int(),
    objectsDeleted: z.number().int(),
    oldestVersion: z.number().int(),
    latestVersion: z.number().int(),
  })
  .openapi("GarbageReport");
export const RepairBody = z
  .object({
    sweep: z.boolean().optional().openapi({ description: "Also delete unreferenced objects older than graceMs" }),
    graceMs: z.number().int().nonnegative().optional().openapi({ description: "Minimum age of what repair removes (default one day)" }),
  })
  .strict()
  .openapi("RepairRequest");
export const RepairReportSchema = z
  .object({
    namespaces: z.number().int(),
    live: z.number().int(),
    versionsRead: z.number().int(),
    purged: z.number().int(),
    entriesChanged: z.number().int(),
    swept: z.number().int(),
    foreignKeys: z.array(z.string()).openapi({ description: "Keys that are no name the engine writes (skipped, never swept)" }),
  })
  .openapi("RepairReport");
const counters = z.record(z.string(), z.union([z.number(), z.string(), z.null()]));
export const EngineStatsSchema = z
  .object({
    writes: counters.openapi({ description: "Commits, batch objects, lost manifest races, writes committed, containers folded" }),
    stateCache: counters.openapi({ description: "Materialized states: entries, bytes, pinned, hits, builds, evictions" }),
    queryCache: z
      .object({ segmentIndexes: counters, snapshots: z.number(), snapshotHits: z.number(), snapshotBuilds: z.number(), tailExtensions: z.number() })
      .openapi({ description: "Loaded segment indexes (entries, bytes, loads, hits, evictions) and prepared query versions" }),
    statePersistence: counters.optional().openapi({ description: "Local state files (SKERRY_STATE_DIR), when on" }),
    pinned: z.array(z.string()).openapi({ description: "Pinned namespaces (every project)" }),
  })
  .openapi("EngineStats");
