/**
 * The query module's public surface: build a partition's query index,
 * (de)serialize it, parse and execute query requests, and the typed errors.
 */
export {
  CorruptIndexError,
  formatPath,
  InvalidDocumentError,
  InvalidQueryError,
  isCorruptIndex,
  isInvalidDocument,
  isInvalidQuery,
  isQueryError,
  isUnsupportedIndexVersion,
  QueryError,
  UnsupportedIndexVersionError,
} from "./errors.ts";
export type { InvalidQueryReason, QueryErrorCode, QueryIssue } from "./errors.ts";
export { DISTANCE_METRICS } from "./query-document.ts";
export type { DistanceMetric, JsonValue, QueryDocument } from "./query-document.ts";
export { buildQueryIndex, QueryIndex } from "./query-index.ts";
export type { BuildQueryIndexOptions } from "./query-index.ts";
export type { IvfOptions } from "./ivf-index.ts";
export { joinTextElements, joinTokens, PRE_TOKENIZED_SEPARATOR, TEXT_ELEMENT_SEPARATOR } from "./tokenizer.ts";
export type { TokenizerConfig } from "./tokenizer.ts";
export { DEFAULT_MAX_TOP_K, parseQueryRequest } from "./query-request.ts";
export type { Aggregation, ComputeExpr, Filter, ParseQueryOptions, QueryRequest, RankBy, Scalar, SingleRankBy, TextExpr } from "./query-request.ts";
export { BM25_B, BM25_K1, executeQuery } from "./execute-query.ts";
export type { AggregationGroup, ExecuteQueryOptions, QueryResult, QueryRowsResult } from "./execute-query.ts";
export { QueryRows, type QueryRow } from "./query-rows.ts";
export type { ComputedValue } from "./compute-attributes.ts";
export type { FragmentBy, HighlightFragment, OffsetUnits } from "./highlight.ts";
export { DEFAULT_SLICE_MS, QuerySlicer, type QuerySlicerOptions, type QuerySlicerStats } from "./query-slicer.ts";
export { prepareQuerySnapshot, QuerySnapshot } from "./query-snapshot.ts";
export { deserializeQueryIndex, QUERY_INDEX_MAGIC, QUERY_INDEX_VERSION, queryIndexEagerBytes, serializeQueryIndex } from "./index-codec.ts";
export type { DeserializeOptions } from "./index-codec.ts";
export { configureQueryThreads, warmUpQueryThreads } from "./worker-pool.ts";
