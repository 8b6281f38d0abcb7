/**
 * The one seam to the query module of @skerry/namespace-engine (its
 * public exports): everything the app needs from it comes through here.
 */
export {
  buildQueryIndex,
  executeQuery,
  isQueryError,
  parseQueryRequest,
  type QueryIndex,
  type QueryRequest,
  type QueryResult,
} from "@skerry/namespace-engine";
