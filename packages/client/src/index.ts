/**
 * @skerry/client: a typed client for Skerry's /v1 HTTP API (fetch-based:
 * Node 20+, browsers, edge runtimes). See README.md for a quickstart.
 */
export type {
  Aggregation,
  ByFilterResult,
  Consistency,
  ContainerView,
  CreatedKey,
  CreateKeyRequest,
  CreateNamespaceOptions,
  DeleteByFilterResult,
  DeleteNamespaceResult,
  DistanceMetric,
  Document,
  DocumentInput,
  DocumentPatch,
  EngineStats,
  ForkOptions,
  GarbageReport,
  GcOptions,
  GetDocumentsResult,
  KeyInfo,
  KeyRole,
  Labels,
  ManifestView,
  NamespaceInfo,
  OperationReport,
  PatchByFilterResult,
  QueryRequest,
  QueryResult,
  QueryRow,
  HighlightExpression,
  HighlightFragment,
  HighlightOptions,
  RepairOptions,
  RepairReport,
  ScanPage,
  NamespaceListPage,
  VersionsPage,
  KeyListPage,
  UnpinResult,
  WalEntry,
  WalPage,
  WarmResult,
  WriteBatchResult,
  WriteResult,
  TextFieldOptions,
  ResolvedTextFieldOptions,
  AttributeSchema,
  AttributeType,
  IdType,
  NamespaceSchema,
  NamespaceSchemaInput,
  SchemaResult,
} from "./api-types.ts";
export {
  type AnyCompareOp,
  type CompareOp,
  type EqualityOp,
  type FieldFilter,
  type FieldOf,
  type Filter,
  filter,
  type ListOp,
  type OrderOp,
  type PatternOp,
  type Scalar,
  type ScalarOf,
  type TokenFilter,
  type FuzzyFilter,
  type FuzzySubstringFilter,
  type FuzzyOptions,
  type TokenOp,
  type TokenOptions,
} from "./filter.ts";
export type { Attributes, JsonValue } from "./json.ts";
export { type ByFilterOptions, type ConditionalOptions, Namespace, type NamespaceReader, type ReadOptions, type ScanOptions, type WriteBatch, type WriteOptions } from "./namespace.ts";
export { type Bm25Options, type Direction, type OrderKey, type OrderOptions, type RankBy, type RrfOptions, rankBy, type SaturationOptions, type SingleRankBy, type SparseVector, type TextRanking } from "./rank-by.ts";
export { DEFAULT_RETRY, type RetryOptions } from "./retry-policy.ts";
export { Keys } from "./keys.ts";
export type { VersionsOptions } from "./namespace.ts";
export { type ListOptions, type Page, Paginated } from "./paginated.ts";
export { Project } from "./project.ts";
export { SkerryClient, type SkerryClientOptions } from "./skerry-client.ts";
export {
  type ClientErrorCode,
  isSkerryError,
  retrySafety,
  SERVER_ERROR_CODES,
  type ServerErrorCode,
  SkerryError,
  type SkerryErrorCode,
  type SkerryErrorInit,
} from "./skerry-error.ts";
export type { CallOptions, FetchFunction, SleepFunction } from "./transport.ts";
