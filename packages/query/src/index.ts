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

// The building blocks of the engine's query paths: reading stored indexes by range through an
// IndexObjectSource the engine provides (src/cold), the tail's ANN merge, off-thread index builds,
// and the helpers the engine shares with the executor. Not part of the request/answer surface above.
export type { AggregationResult } from "./aggregate.ts";
export { candidateVector, ColdAnnScan, type ColdCandidates, type ColdHit as AnnHit, type ColdIndexHead, defaultRerank, distanceOf, type ListRows, mergeWithTail, pickRerank, rowStoreRange, scanGlobally } from "./cold-ann.ts";
export { coldAggregate } from "./cold/cold-aggregate.ts";
export { type ColdAnnFilter, coldAnnFilter, coldAnnSelective } from "./cold/cold-ann-filter.ts";
export { ColdArrayReader, type ColdIndexFile } from "./cold/cold-array-reader.ts";
export { coldAttributeOrder } from "./cold/cold-attribute-order.ts";
export { coldBm25, type ColdHit } from "./cold/cold-bm25.ts";
export { coldComputedAttributes, type ColdReturnedRow, computeNeedsDeadSlots } from "./cold/cold-compute-attributes.ts";
export { ColdDeadSlots, type DeadSlots, type SegmentMarks } from "./cold/cold-dead-slots.ts";
export { coldDiverse, coldRowsAccess } from "./cold/cold-diversity.ts";
export { COLD_EXACT_BATCH_BYTES, coldExactVector } from "./cold/cold-exact-vector.ts";
export { coldFilterMatches, coldFilterSlots } from "./cold/cold-filter.ts";
export { ColdIndexReader, DEFAULT_COLD_READ_GAP_BYTES } from "./cold/cold-index-reader.ts";
export { coldListing } from "./cold/cold-listing.ts";
export { ColdRows, parseStoredRow } from "./cold/cold-rows.ts";
export { coldRrf } from "./cold/cold-rrf.ts";
export { coldSparse } from "./cold/cold-sparse.ts";
export { type ColdTailAnnScan, probeTailAlone, tailAnnScans, tailListRows } from "./cold/cold-tail-ann.ts";
export { type ColdTailChunk, coldTailChunks, coldTailMatches } from "./cold/cold-tail.ts";
export { coldTextCombination } from "./cold/cold-text-combination.ts";
export { coldFilteredVector } from "./cold/cold-vector-filter.ts";
export { decodeIndexStep, type IndexObjectSource } from "./cold/index-object-reads.ts";
export { CorruptStoredIndexError, isCorruptStoredIndex } from "./errors.ts";
export { type Bm25ParamsOf, executeQueryRows } from "./execute-query.ts";
export { matchesFilter, type MatchOptions } from "./filter-match.ts";
export { checkFilterTypes, evaluateFilter } from "./filter-plan.ts";
export { globalListOrder, globalProbeBudget } from "./global-probes.ts";
export { blockHolds, bloomMayContain, idBlockOf } from "./id-set.ts";
export { readExtraIndexSection } from "./index-codec.ts";
export { buildQueryIndexOffThread, indexWorkersAvailable, serializeQueryIndexOffThread, yieldToEventLoop } from "./index-worker-pool.ts";
export { coldReadableIndexFormat, needsLoadedPath, tailBaseNeedsState } from "./loaded-only.ts";
export { ownValue, setOwn } from "./own-property.ts";
export type { Path } from "./query-request.ts";
export { TEXT_LANGUAGES, textLanguage } from "./text-language.ts";
export { DEFAULT_B, DEFAULT_K1, type ResolvedTokenizerConfig, resolveTokenizerConfig } from "./tokenizer.ts";
