/**
 * Listing pages: a project's live namespace names and a namespace's stored
 * manifest versions, one bounded page at a time, resumed from the last item
 * of the previous page (a position, not an offset: items added or removed
 * meanwhile never make a page repeat or skip an item that existed on both
 * sides of the boundary).
 *
 * Names: the registry is LISTed from `after` on (`startAfter`), so a page
 * costs one LIST page plus one latest-manifest read per name it passes
 * (markers of deleted namespaces stay; the manifest decides). Versions:
 * manifest keys sort newest first (inverted numbers), so a `desc` page is
 * one LIST from `after`; an `asc` page LISTs every version (at most the
 * retained ones) and slices.
 */
import { InvalidArgumentError, manifestKey, manifestPrefix, manifestVersionOf, type NamespacePath, registryPrefix, validatePathPart, withRetry } from "../core/index.ts";
import type { EngineContext } from "../manifest/index.ts";

/** At most this many names or versions per page. */
export const MAX_LISTING_PAGE = 10_000;
const LIVENESS_CONCURRENCY = 8;

export interface ListingPageOptions<P> {
  /** Resume after this item (exclusive); default the start. */
  readonly after?: P | undefined;
  /** Items per page, 1 to MAX_LISTING_PAGE. */
  readonly limit: number;
}

export interface NamespaceNamesPage {
  /** Live names after `after`, sorted, at most `limit`. */
  readonly namespaces: string[];
  /** True when live names follow this page. */
  readonly more: boolean;
}

export interface VersionsPage {
  /** Stored versions after `after` in `order`, at most `limit`. */
  readonly versions: number[];
  /** True when versions follow this page. */
  readonly more: boolean;
}

function checkLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LISTING_PAGE) {
    throw new InvalidArgumentError(`limit must be an integer in [1, ${MAX_LISTING_PAGE}]; got ${String(limit)}`);
  }
}

/** Which of `names` (of org/project) are live namespaces, aligned with `names`. */
export async function liveNamespaces(ctx: EngineContext, org: string, project: string, names: readonly string[]): Promise<boolean[]> {
  const live: boolean[] = new Array(names.length).fill(false);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(LIVENESS_CONCURRENCY, names.length) }, async () => {
      while (next < names.length) {
        const index = next++;
        let p: NamespacePath;
        try {
          p = { org, project, namespace: validatePathPart(names[index] as string, "namespace") };
        } catch {
          continue;
        }
        const latest = await ctx.manifests.readLatest(p);
        live[index] = latest !== undefined && latest.deletedAt === undefined;
      }
    }),
  );
  return live;
}

/** One page of a project's live namespace names, sorted, after `after`. */
export async function listNamespaceNamesPage(ctx: EngineContext, org: string, project: string, options: ListingPageOptions<string>): Promise<NamespaceNamesPage> {
  validatePathPart(org, "organization");
  validatePathPart(project, "project");
  checkLimit(options.limit);
  const after = options.after === undefined ? undefined : validatePathPart(options.after, "namespace");
  const prefix = registryPrefix(org, project);
  return withRetry(`list ${prefix}`, ctx.retry, ctx.random, async () => {
    const live: string[] = [];
    let batch: string[] = [];
    const settle = async () => {
      const flags = await liveNamespaces(ctx, org, project, batch);
      for (let i = 0; i < batch.length; i++) if (flags[i] === true) live.push(batch[i] as string);
      batch = [];
    };
    const listing = ctx.storage.list(prefix, { startAfter: after === undefined ? undefined : `${prefix}${after}`, pageSize: Math.min(1_000, options.limit + 1) });
    for await (const meta of listing) {
      batch.push(meta.key.slice(prefix.length));
      // Check liveness in batches big enough to fill the page (and tell whether more follow).
      if (batch.length >= Math.max(LIVENESS_CONCURRENCY, options.limit + 1 - live.length)) {
        await settle();
        if (live.length > options.limit) break;
      }
    }
    if (live.length <= options.limit) await settle();
    // Keys list in byte order; names are ASCII, so this is also their sorted order.
    return { namespaces: live.slice(0, options.limit), more: live.length > options.limit };
  });
}

/** One page of a namespace's stored manifest versions (deleted namespaces included), after `after` in `order`. */
export async function listVersionsPage(
  ctx: EngineContext,
  path: NamespacePath,
  options: ListingPageOptions<number> & { readonly order: "asc" | "desc" },
): Promise<VersionsPage> {
  checkLimit(options.limit);
  if (options.order !== "asc" && options.order !== "desc") throw new InvalidArgumentError(`order must be "asc" or "desc"; got ${String(options.order)}`);
  const after = options.after;
  if (after !== undefined && (!Number.isSafeInteger(after) || after < 1)) throw new InvalidArgumentError(`after must be a version (an integer >= 1); got ${String(after)}`);
  const prefix = manifestPrefix(path);
  return withRetry(`list ${prefix}`, ctx.retry, ctx.random, async () => {
    const out: number[] = [];
    if (options.order === "desc") {
      // Newest first is the keys' own order: list from `after` and stop one past the page.
      for await (const meta of ctx.storage.list(prefix, { startAfter: after === undefined ? undefined : manifestKey(path, after), pageSize: Math.min(1_000, options.limit + 1) })) {
        const version = manifestVersionOf(path, meta.key);
        if (version === undefined) continue;
        out.push(version);
        if (out.length > options.limit) break;
      }
      return { versions: out.slice(0, options.limit), more: out.length > options.limit };
    }
    for await (const meta of ctx.storage.list(prefix)) {
      const version = manifestVersionOf(path, meta.key);
      if (version !== undefined && (after === undefined || version > after)) out.push(version);
    }
    out.sort((a, b) => a - b);
    return { versions: out.slice(0, options.limit), more: out.length > options.limit };
  });
}
