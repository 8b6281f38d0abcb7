/**
 * read: the engine's read side. NamespaceQuery, the query entry point (plans each request over the
 * version's segments and tail, answering cold by ranged reads through @skerry/query's cold readers or
 * from loaded indexes, with the prepared-version and segment-index caches); StorageIndexSource, the
 * engine's implementation of @skerry/query's IndexObjectSource; NamespaceReads (`get`, `scan`,
 * `documents`, `withState`, manifest versions); the filterable-attribute check. Depends on core,
 * manifest, namespace, tail (and state's types).
 *
 * Other rooms import this room through this file only.
 */
export { NamespaceQuery, type NamespaceQueryResult, type NamespaceQueryRows, type QueryCacheSettings, type QueryCacheStats, type QueryOptions } from "./namespace-query.ts";
export { NamespaceReads } from "./namespace-reads.ts";
