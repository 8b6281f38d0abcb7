/**
 * The one seam to the query module of @skerry/namespace-engine.
 *
 * The engine package does not export its query module yet (its `exports`
 * has only "."; `src/query/index.ts` is the module's own public surface).
 * Until it does, this file imports that surface by path, and nothing else
 * in the app does: when the engine exports it, only this line changes.
 */
export {
  buildQueryIndex,
  executeQuery,
  isQueryError,
  parseQueryRequest,
  type QueryIndex,
  type QueryRequest,
  type QueryResult,
} from "../../../../packages/namespace-engine/src/query/index.ts";
