/**
 * Paginated: a listing the server answers in pages (namespaces, versions,
 * API keys), as one value you can use three ways:
 *
 * - `for await (const item of listing)`: every item, fetching one page at a
 *   time as the loop reaches it (breaking out fetches no more);
 * - `for await (const page of listing.pages())`: every page, with its
 *   `nextCursor` (save it to resume later with the page-level method);
 * - `await listing` (or `.then`, `.catch`, `.finally`, `toArray()`): every
 *   item in an array (all pages), so code written when these listings
 *   answered one array keeps working.
 *
 * Each page is one call, with the options' `signal` and `timeoutMs` (the
 * timeout bounds each page, not the whole listing); the signal is also
 * checked between pages, so aborting it ends the iteration with the
 * signal's reason even when no call is in flight. Nothing is fetched until
 * it is iterated or awaited, and each iteration starts over from the first
 * page (or the `cursor` it was made with).
 */
import type { CallOptions } from "./transport.ts";

/** One page of a listing: its items under a route-specific key, and the cursor of the next page. */
export interface Page {
  /** Present when more items follow: the cursor of the next page. */
  readonly nextCursor?: string;
}

export interface ListOptions extends CallOptions {
  /** Items per page, 1-10,000 (default 1,000 for the iterating methods, the server's 100 for a page method given only a cursor). */
  readonly pageSize?: number | undefined;
  /** Resume after the page whose answer carried this `nextCursor`. */
  readonly cursor?: string | undefined;
}

/** Items per page of the iterating methods (`listNamespaces`, `versions`, `wal`, `keys.list`). */
export const DEFAULT_LIST_PAGE = 1_000;

export function checkPageSize(pageSize: number | undefined): void {
  if (pageSize !== undefined && (!Number.isSafeInteger(pageSize) || pageSize < 1 || pageSize > 10_000)) {
    throw new RangeError(`pageSize must be an integer in [1, 10000], got ${pageSize}`);
  }
}

/** Pages fetched by `fetchPage(cursor)` (undefined: the first page), each holding `items(page)`. */
export class Paginated<T, P extends Page> implements AsyncIterable<T>, PromiseLike<T[]> {
  readonly #fetchPage: (cursor: string | undefined) => Promise<P>;
  readonly #items: (page: P) => readonly T[];
  readonly #first: string | undefined;
  readonly #signal: AbortSignal | undefined;
  /** With then/catch/finally, a Paginated is usable wherever a Promise of the array was. */
  readonly [Symbol.toStringTag] = "Paginated";

  constructor(fetchPage: (cursor: string | undefined) => Promise<P>, items: (page: P) => readonly T[], options: ListOptions = {}) {
    checkPageSize(options.pageSize);
    this.#fetchPage = fetchPage;
    this.#items = items;
    this.#first = options.cursor;
    this.#signal = options.signal;
  }

  /** Every page in order, fetched as the iteration reaches it. */
  async *pages(): AsyncIterableIterator<P> {
    let cursor = this.#first;
    for (;;) {
      this.#signal?.throwIfAborted();
      const page = await this.#fetchPage(cursor);
      yield page;
      if (page.nextCursor === undefined) return;
      cursor = page.nextCursor;
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for await (const page of this.pages()) yield* this.#items(page);
  }

  /** Every item, all pages fetched. */
  async toArray(): Promise<T[]> {
    const out: T[] = [];
    for await (const item of this) out.push(item);
    return out;
  }

  // biome-ignore lint/suspicious/noThenProperty: awaiting a listing gives every item (the listings answered one array before they paged)
  then<R1 = T[], R2 = never>(onfulfilled?: ((value: T[]) => R1 | PromiseLike<R1>) | null, onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null): Promise<R1 | R2> {
    return this.toArray().then(onfulfilled, onrejected);
  }

  catch<R = never>(onrejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<T[] | R> {
    return this.toArray().catch(onrejected);
  }

  finally(onfinally?: (() => void) | null): Promise<T[]> {
    return this.toArray().finally(onfinally);
  }
}
