/**
 * TODO room header: read
 */
export { NamespaceQuery, type NamespaceQueryResult, type NamespaceQueryRows, type QueryCacheSettings, type QueryCacheStats, type QueryOptions } from "./namespace-query.ts";
export { NamespaceReads } from "./namespace-reads.ts";
