/**
 * QueryService: answers query requests over one namespace version.
 *
 * The engine has no query entry point yet, so this materializes the
 * namespace's live documents at the version the read resolves to
 * (`engine.documents`) into one QueryIndex (`buildQueryIndex`) and runs
 * `executeQuery` on it. Indexes are cached per (namespace, manifest
 * version): versions are immutable and only ever increase for a name (also
 * across delete and re-create), so an entry never goes stale, it only ages
 * out of the LRU. Concurrent queries on a cold version share one build.
 *
 * Errors: engine errors (NamespaceNotFound, VersionNotFound, ...) and the
 * query module's InvalidQueryError pass through to the HTTP error mapping.
 */
import type { NamespaceEngine, StoredDocument } from "@skerry/namespace-engine";
import { buildQueryIndex, executeQuery, parseQueryRequest, type QueryIndex, type QueryResult } from "./query-module.ts";

export interface QueryServiceOptions {
  /** Indexes kept; default 8. */
  readonly entries?: number;
  readonly onCacheHit?: () => void;
  readonly onCacheMiss?: () => void;
}

export interface QueryAnswer extends QueryResult {
  /** Manifest version the query ran on. */
  readonly version: number;
}

export class QueryService {
  readonly #engine: NamespaceEngine;
  readonly #entries: number;
  readonly #cache = new Map<string, Promise<QueryIndex>>();
  readonly #options: QueryServiceOptions;

  constructor(engine: NamespaceEngine, options: QueryServiceOptions = {}) {
    this.#engine = engine;
    this.#entries = options.entries ?? 8;
    this.#options = options;
  }

  async query(path: string, body: unknown): Promise<QueryAnswer> {
    // Parse once without the dimension to learn consistency/atVersion, then again with it.
    const loose = parseQueryRequest(body);
    const manifest = await this.#engine.manifest(path, {
      consistency: loose.consistency,
      ...(loose.atVersion === undefined ? {} : { atVersion: loose.atVersion }),
    });
    const dimension = manifest.vector?.dimension;
    const request = dimension === undefined ? loose : parseQueryRequest(body, { dimension });
    const index = await this.#index(path, manifest.version, manifest.vector?.metric ?? "COSINE");
    const result = await executeQuery([index], request, { parallel: false });
    return { ...result, version: manifest.version };
  }

  #index(path: string, version: number, metric: "COSINE" | "DOT" | "EUCLIDEAN"): Promise<QueryIndex> {
    const key = `${path}@${version}`;
    const hit = this.#cache.get(key);
    if (hit !== undefined) {
      this.#cache.delete(key);
      this.#cache.set(key, hit);
      this.#options.onCacheHit?.();
      return hit;
    }
    this.#options.onCacheMiss?.();
    const building = this.#engine.documents(path, { atVersion: version }).then((docs: StoredDocument[]) => buildQueryIndex(docs, { metric }));
    building.catch(() => this.#cache.delete(key));
    this.#cache.set(key, building);
    while (this.#cache.size > this.#entries) {
      const oldest = this.#cache.keys().next().value as string;
      this.#cache.delete(oldest);
    }
    return building;
  }
}
