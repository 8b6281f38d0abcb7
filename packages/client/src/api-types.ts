/**
 * Request and response types of the /v1 API, written by hand from the
 * server's zod schemas (apps/demo/src/http/schemas.ts, served as OpenAPI
 * at /openapi.json) so they can carry the namespace's attribute type `A`.
 * apps/demo/test/skerry-client-types.test.ts checks at compile time that
 * each request type here is accepted by the server's schema and each
 * response schema's type is accepted by the type here.
 */
import type { Filter } from "./filter.ts";
import type { Attributes, JsonValue } from "./json.ts";
import type { RankBy, SparseVector, TextRanking } from "./rank-by.ts";

export type DistanceMetric = "cosine" | "dot" | "euclidean";
export type Consistency = "strong" | "eventual";
export type Labels = { readonly [name: string]: string };

/** A whole document, as written by `upsert`. */
export interface DocumentInput<A = Attributes> {
  /** 1-512 characters. */
  readonly id: string;
  readonly vector?: readonly number[];
  readonly sparse?: SparseVector;
  /** Text fields (full-text indexed; returned by reads by id and scans, not by queries). */
  readonly text?: { readonly [field: string]: string };
  readonly attributes?: A;
}

/** Fields to change; `null` removes a field. */
export interface DocumentPatch<A = Attributes> {
  readonly id: string;
  readonly vector?: readonly number[] | null;
  readonly sparse?: SparseVector | null;
  readonly text?: { readonly [field: string]: string | null };
  readonly attributes?: { readonly [K in keyof A]?: A[K] | null };
}

/** A document as read back by id or scan (query rows carry no text fields). */
export interface Document<A = Attributes> {
  readonly id: string;
  readonly vector?: number[];
  readonly sparse?: { indices: number[]; values: number[] };
  readonly text?: { readonly [field: string]: string };
  readonly attributes?: Partial<A>;
}

/** The answer to `Namespace.write`: the ids each kind affected, in request order (none for a deduplicated write). */
export interface WriteBatchResult extends WriteResult {
  readonly upserted: readonly string[];
  readonly patched: readonly string[];
  readonly deleted: readonly string[];
}

export interface WriteResult {
  /** The namespace's manifest version after the write. */
  readonly version: number;
  readonly count: number;
  /** True when an earlier attempt with the same Idempotency-Key had already committed (nothing was applied again). */
  readonly deduplicated: boolean;
}

export interface NamespaceInfo {
  readonly path: string;
  readonly org: string;
  readonly project: string;
  readonly namespace: string;
  readonly version: number;
  readonly docCount: number;
  readonly logBatches: number;
  readonly segments: number;
  readonly bytes: number;
  readonly distanceMetric: DistanceMetric;
  readonly vectorDimension?: number;
  /** The source and version this namespace was branched or copied from. */
  readonly parent?: { readonly namespace: string; readonly version: number };
  readonly pinned: boolean;
  readonly labels: Labels;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** Full-text options of the text fields that have any, every option resolved. */
  readonly textFields: Readonly<Record<string, ResolvedTextFieldOptions>>;
  /** The typed schema; absent for a schemaless namespace. */
  readonly schema?: NamespaceSchema;
}

/** An attribute type: a scalar or an array of one. */
export type AttributeType =
  | "string"
  | "int"
  | "uint"
  | "float"
  | "bool"
  | "uuid"
  | "datetime"
  | "[]string"
  | "[]int"
  | "[]uint"
  | "[]float"
  | "[]bool"
  | "[]uuid"
  | "[]datetime";

/**
 * A namespace's document id type. In a `uint` namespace ids are unsigned 64-bit integers: the server keys (and
 * answers) them as their decimal digits zero-padded to 20 (`BigInt(id)` reads one back); write them as such keys.
 */
export type IdType = "string" | "uint" | "uuid";

export interface AttributeSchema {
  readonly type: AttributeType;
  /** False: not indexed for filtering; a filter on it is a 400. */
  readonly filterable: boolean;
  /** Options kept with the attribute, not interpreted by the server. */
  readonly options?: { readonly [key: string]: unknown };
}

/** A namespace's typed schema (server docs: docs/namespace-engine.md, "Typed schema"). */
export interface NamespaceSchema {
  /** Absent until declared or fixed by the first write. */
  readonly idType?: IdType;
  readonly attributes: Readonly<Record<string, AttributeSchema>>;
}

/** A schema declaration, merged into the namespace's: attributes are added, int may widen to float, other type changes are refused. */
export interface NamespaceSchemaInput {
  readonly idType?: IdType;
  readonly attributes?: Readonly<
    Record<string, AttributeType | { readonly type: AttributeType; readonly filterable?: boolean; readonly options?: { readonly [key: string]: unknown } }>
  >;
}

/** The answer of `getSchema`: the schema at a version, null for a schemaless namespace. */
export interface SchemaResult {
  readonly version: number;
  readonly schema: NamespaceSchema | null;
}

/** Full-text options of one text field (server docs: docs/namespace-engine.md, "Text fields"). */
export interface TextFieldOptions {
  /** Stemming and stop-word language (default "english"). */
  readonly language?: string;
  readonly stemming?: boolean;
  readonly removeStopwords?: boolean;
  readonly caseSensitive?: boolean;
  /** Remove diacritics: "café" matches "cafe". */
  readonly asciiFolding?: boolean;
  readonly maxTokenLength?: number;
  /**
   * "word" (default) or "pre_tokenized_array": the field's text is its tokens joined by U+001F, used as they are
   * (case kept, no stop words or stemming); queries and token filters on it split their operands alike.
   */
  readonly tokenizer?: "word" | "pre_tokenized_array";
  /** BM25 term saturation and length normalization (1.2 and 0.75 by default). */
  readonly k1?: number;
  readonly b?: number;
}

export interface ResolvedTextFieldOptions {
  readonly language: string;
  readonly stemming: boolean;
  readonly removeStopwords: boolean;
  readonly caseSensitive: boolean;
  readonly asciiFolding: boolean;
  readonly maxTokenLength: number;
  readonly k1: number;
  readonly b: number;
  /** Present for a pre-tokenized field; absent: the word tokenizer. */
  readonly tokenizer?: "pre_tokenized_array";
}

export interface CreateNamespaceOptions {
  readonly distanceMetric?: DistanceMetric;
  readonly labels?: Labels;
  readonly textFields?: Readonly<Record<string, TextFieldOptions>>;
  /** A typed schema (`{}`: typed, with every attribute's type inferred from its first value). */
  readonly schema?: NamespaceSchemaInput;
}

export interface DeleteNamespaceResult {
  readonly version: number;
  readonly alreadyDeleted: boolean;
  readonly objectsDeleted: number;
}

export interface ContainerView {
  readonly id: string;
  readonly kind: "LOG_BATCH" | "SEGMENT";
  readonly key: string;
  readonly rowCount: number;
  readonly byteSize: number;
  readonly contentHash: string;
  readonly tombstonesKey?: string;
  readonly carrierVersion?: number;
  readonly tombstonedRows?: number;
  readonly tombstonesError?: string;
}

export interface ManifestView {
  readonly namespace: string;
  readonly version: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly deletedAt?: number;
  readonly parent?: { readonly namespace: string; readonly version: number };
  readonly vector?: { readonly metric: string; readonly dimension?: number };
  readonly rowIdHighWater: string;
  readonly recentWrites: number;
  readonly labels: Labels;
  /** Row containers in fold order (oldest first). */
  readonly containers: readonly ContainerView[];
}

export interface GetDocumentsResult<A = Attributes> {
  readonly version: number;
  /** Aligned with the requested ids; null where absent. */
  readonly documents: (Document<A> | null)[];
}

export interface ScanPage<A = Attributes> {
  readonly version: number;
  readonly documents: Document<A>[];
  /** Pass as `cursor` for the next page (read at `version`); absent on the last page. */
  readonly nextCursor?: string;
  /** The page's last id when more follow (the older form of `nextCursor`: pass it as `after`, with `atVersion`). */
  readonly next?: string;
}

/** One page of a project's namespace names, sorted. */
export interface NamespaceListPage {
  readonly namespaces: string[];
  /** Pass as `cursor` for the next page; absent on the last page. */
  readonly nextCursor?: string;
}

/** One page of a namespace's stored manifest versions. */
export interface VersionsPage {
  readonly versions: number[];
  /** Pass as `cursor` for the next page (it keeps the page's order); absent on the last page. */
  readonly nextCursor?: string;
}

/** One page of API keys, in creation order. */
export interface KeyListPage {
  readonly keys: KeyInfo[];
  /** Pass as `cursor` for the next page; absent on the last page. */
  readonly nextCursor?: string;
}

export type Aggregation<A = Attributes> =
  | readonly ["Count"]
  | readonly ["Count", Extract<keyof A, string> | "id"]
  | readonly ["Sum", Extract<keyof A, string>];

export interface QueryRequest<A = Attributes> {
  readonly rankBy?: RankBy<A>;
  readonly filters?: Filter<A>;
  /** Default 10, at most 10,000. */
  readonly topK?: number;
  /** true, false (default) or the attributes to return. */
  readonly includeAttributes?: boolean | readonly Extract<keyof A, string>[];
  readonly includeVectors?: boolean;
  /** Default: the namespace's metric. */
  readonly distanceMetric?: "COSINE" | "DOT" | "EUCLIDEAN";
  /** Dense vector ranking only. */
  readonly distanceThreshold?: number;
  readonly aggregateBy?: { readonly [label: string]: Aggregation<A> };
  /** Group keys: attributes, or `{ "<name>": ["ForEachUnique", "<array attribute>"] }` (one group per distinct element). */
  readonly groupBy?: readonly (Extract<keyof A, string> | { readonly [name: string]: readonly ["ForEachUnique", Extract<keyof A, string>] })[];
  /** IVF lists to scan (ANN only). */
  readonly probes?: number;
  /** Diversity: at most `limit` rows per distinct tuple of the attributes' values. */
  readonly limitPer?: { readonly attributes: readonly (Extract<keyof A, string> | "id")[]; readonly limit: number };
  /** Values computed for every returned row (`QueryRow.computed`): a ranking expression, the distance to a vector, or a Highlight. */
  readonly computeAttributes?: { readonly [name: string]: TextRanking | number | readonly ["vector", "VectorDist", readonly number[]] | HighlightExpression };
}

export interface QueryRow<A = Attributes> {
  readonly id: string;
  /** Dense vector rankings: smaller is closer. */
  readonly distance?: number;
  /** BM25, sparse and RRF rankings: larger is better. */
  readonly score?: number;
  readonly attributes?: Partial<A>;
  readonly vector?: number[];
  /** The request's computeAttributes, by name (null: no value; a Highlight: its fragments, best first). */
  readonly computed?: { readonly [name: string]: number | null | readonly HighlightFragment[] };
}

/** Options of a Highlight computed attribute (docs/query.md). */
export interface HighlightOptions {
  /** How the value is split (default "sentence"). */
  readonly fragmentBy?: "none" | "sentence" | "paragraph" | "word";
  /** At most this many fragments, 1 to 1,024 (default 3). */
  readonly fragmentLimit?: number;
  /** Give each fragment's range and its matches' ranges in these units. */
  readonly includeOffsets?: "utf-8" | "utf-16" | "codepoints";
  /** BM25 clauses over "$fragment" combined by Sum / Max / Product (default: the rankBy's BM25 clauses over the field). */
  readonly rankFragmentsBy?: TextRanking;
}

/** `["Highlight", "<text field>", options?]`: the best fragments of the row's stored value of that attribute. */
export type HighlightExpression = readonly ["Highlight", string] | readonly ["Highlight", string, HighlightOptions];

/** One fragment of a Highlight (offsets into the string, or the array element `arrayIndex`). */
export interface HighlightFragment {
  readonly text: string;
  readonly fragmentRange?: readonly [number, number];
  readonly matchRanges?: readonly (readonly [number, number])[];
  readonly arrayIndex?: number;
}

export interface QueryResult<A = Attributes> {
  /** The manifest version that answered. */
  readonly version: number;
  readonly rows: QueryRow<A>[];
  readonly aggregations?: { readonly [label: string]: number };
  readonly aggregationGroups?: { readonly group: { readonly [attribute: string]: JsonValue }; readonly aggregations: { readonly [label: string]: number } }[];
}

export interface ByFilterResult {
  /** Documents targeted (with `allowPartial`, at most `maxTargets`). */
  readonly matched: number;
  readonly skipped: number;
  /** More documents match (a partial mutation): send it again for the rest. */
  readonly remaining: boolean;
  readonly version: number;
}
export interface DeleteByFilterResult extends ByFilterResult {
  readonly deleted: number;
  /** Ids of the documents deleted, in id order. */
  readonly deletedIds: string[];
}
export interface PatchByFilterResult extends ByFilterResult {
  readonly patched: number;
  /** Ids of the documents patched, in id order. */
  readonly patchedIds: string[];
}

export interface ForkOptions {
  /** Source version; default the latest. */
  readonly atVersion?: number;
  /** Labels of the new namespace; default the source's. */
  readonly labels?: Labels;
}

export interface WarmResult {
  readonly path: string;
  readonly version: number;
  readonly docCount: number;
  /** Estimated bytes of the materialized state. */
  readonly bytes: number;
  readonly pinned: boolean;
}

export interface UnpinResult {
  readonly path: string;
  readonly pinned: false;
  readonly wasPinned: boolean;
}

export interface GcOptions {
  /** Keep the newest N versions (default 16). */
  readonly keepVersions?: number;
  /** Keep versions superseded less than this long ago (default one hour). */
  readonly keepForMs?: number;
}

export interface GarbageReport {
  readonly versionsDeleted: number;
  readonly objectsDeleted: number;
  readonly oldestVersion: number;
  readonly latestVersion: number;
}

export interface RepairOptions {
  /** Also delete unreferenced objects older than graceMs. */
  readonly sweep?: boolean;
  /** Minimum age of what repair removes (default one day). */
  readonly graceMs?: number;
}

export interface RepairReport {
  readonly namespaces: number;
  readonly live: number;
  readonly versionsRead: number;
  readonly purged: number;
  readonly entriesChanged: number;
  readonly swept: number;
  readonly foreignKeys: string[];
}

/** The engine's report of an operation (counts; ids as 32-hex strings). */
export type OperationReport = { readonly [key: string]: JsonValue };

export interface WalEntry {
  readonly walId: string;
  readonly key: string;
  readonly state?: string;
  readonly opKind?: string;
  readonly createdAt?: number;
  readonly targets?: number;
  readonly tombstoneProgress?: number;
  readonly leaseOwner?: string;
  readonly leaseExpiresAt?: number;
  readonly hasArrowSidecar: boolean;
  readonly error?: string;
}

/** One page of a namespace's WAL entries, in WAL id order. */
export interface WalPage {
  readonly entries: WalEntry[];
  /** Pass as `cursor` for the next page; absent on the last page. */
  readonly nextCursor?: string;
}

export type KeyRole = "admin" | "read" | "write";

export type CreateKeyRequest =
  | { readonly role: "admin"; readonly name?: string }
  | { readonly role: "read" | "write"; readonly org: string; readonly project: string; readonly name?: string };

export interface KeyInfo {
  /** 16 hex digits. */
  readonly id: string;
  readonly role: KeyRole;
  readonly org?: string;
  readonly project?: string;
  readonly name?: string;
  readonly createdAt: number;
}

export interface CreatedKey extends KeyInfo {
  /** The key itself; shown only in this answer. */
  readonly key: string;
}

type Counters = { readonly [name: string]: number | string | null };
export interface EngineStats {
  readonly writes: Counters;
  readonly stateCache: Counters;
  readonly queryCache: {
    readonly segmentIndexes: Counters;
    readonly snapshots: number;
    readonly snapshotHits: number;
    readonly snapshotBuilds: number;
    readonly tailExtensions: number;
  };
  readonly statePersistence?: Counters;
  readonly pinned: string[];
}
