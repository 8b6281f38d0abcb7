/**
 * NamespaceReads: documents and manifests read at one version (the latest,
 * strong or eventual, or a retained `atVersion`) from the materialized state:
 * `get` by ids, `scan` pages in id order, `documents`, `withState`; and the
 * stored manifest versions (`listVersions`, `listVersionsPage`). A
 * corruption found is confirmed first (ManifestReads.confirmCorrupt).
 */
import type { Manifest } from "@skerry/wal-format";
import { InvalidArgumentError, manifestPrefix, manifestVersionOf, type NamespacePath, withRetry } from "../core/index.ts";
import type { EngineContext, ManifestReads } from "../manifest/index.ts";
import { type DocumentId, documentIdKey, type ListingPageOptions, listVersionsPage, normalizedStringId, type ReadOptions, type ScanOptions, type StoredDocument, type VersionsPage } from "../namespace/index.ts";
import type { NamespaceState } from "../state/index.ts";

const DEFAULT_SCAN_LIMIT = 1_000;

export class NamespaceReads {
  constructor(
    readonly ctx: EngineContext,
    readonly reads: ManifestReads,
    /** Most ids per `get` and documents per `scan` page. */
    readonly maxBatchOps: number,
  ) {}

  async get(p: NamespacePath, ids: readonly DocumentId[], options: ReadOptions): Promise<(StoredDocument | null)[]> {
    if (!Array.isArray(ids) || ids.some((id) => typeof id !== "string" && typeof id !== "number" && typeof id !== "bigint")) {
      throw new InvalidArgumentError("ids must be an array of strings (or unsigned integers in a uint namespace)");
    }
    if (ids.length > this.maxBatchOps) throw new InvalidArgumentError(`at most ${this.maxBatchOps} ids per get`);
    return this.reads.confirmCorrupt(p, async () => {
      const manifest = await this.reads.read(p, options);
      const keys = ids.map((id) => (typeof id === "string" ? normalizedStringId(id, manifest.schema?.idType) : documentIdKey(id)));
      return this.ctx.states.read(p, manifest, (state) => keys.map((id) => state.get(id) ?? null));
    });
  }

  async scan(p: NamespacePath, options: ScanOptions): Promise<{ documents: StoredDocument[]; next: string | undefined; version: number }> {
    const limit = options.limit ?? DEFAULT_SCAN_LIMIT;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > this.maxBatchOps) {
      throw new InvalidArgumentError(`limit must be an integer in [1, ${this.maxBatchOps}]`);
    }
    return this.reads.confirmCorrupt(p, async () => {
      const manifest = await this.reads.read(p, options);
      return this.ctx.states.read(p, manifest, (state) => {
        const ids = state.sortedIds();
        const start = options.after === undefined ? 0 : upperBound(ids, options.after);
        const page = ids.slice(start, start + limit);
        const documents = page.map((id) => state.get(id) as StoredDocument);
        const more = start + limit < ids.length;
        return { documents, next: more ? page[page.length - 1] : undefined, version: state.version };
      });
    });
  }

  documents(p: NamespacePath, options: ReadOptions): Promise<StoredDocument[]> {
    return this.withState(p, options, (state) => state.sortedIds().map((id) => state.get(id) as StoredDocument));
  }

  withState<T>(p: NamespacePath, options: ReadOptions, fn: (state: NamespaceState, manifest: Manifest) => T): Promise<T> {
    return this.reads.confirmCorrupt(p, async () => {
      const manifest = await this.reads.read(p, options);
      return this.ctx.states.read(p, manifest, (state) => fn(state, manifest));
    });
  }

  async listVersions(p: NamespacePath): Promise<number[]> {
    const prefix = manifestPrefix(p);
    const { storage, retry, random } = this.ctx;
    const versions = await withRetry(`list ${prefix}`, retry, random, async () => {
      const out: number[] = [];
      for await (const meta of storage.list(prefix)) {
        const version = manifestVersionOf(p, meta.key);
        if (version !== undefined) out.push(version);
      }
      return out;
    });
    return versions.sort((a, b) => a - b);
  }

  listVersionsPage(p: NamespacePath, options: ListingPageOptions<number> & { readonly order: "asc" | "desc" }): Promise<VersionsPage> {
    return listVersionsPage(this.ctx, p, options);
  }
}

/** Index of the first id strictly greater than `after`. */
function upperBound(ids: readonly string[], after: string): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((ids[mid] as string) <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
