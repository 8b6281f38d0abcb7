/**
 * Queries against attributes declared `filterable: false`: such an attribute has no filter index (compaction
 * leaves its order and postings out, query-index.ts), so a filter on it and ordering by it are refused
 * (UnfilterableAttributeError, code InvalidArgument) before anything is read. Its values are still returned.
 */
import type { NamespaceSchema } from "@skerry/wal-format";
import { UnfilterableAttributeError } from "../core/index.ts";
import { unfilterableAttributes } from "../namespace/index.ts";
import type { Filter, QueryRequest, RankBy } from "@skerry/query";

function checkFilter(filter: Filter, off: ReadonlySet<string>): void {
  switch (filter.kind) {
    case "And":
    case "Or":
      for (const f of filter.filters) checkFilter(f, off);
      return;
    case "Not":
      checkFilter(filter.filter, off);
      return;
    default:
      if (off.has(filter.field)) throw new UnfilterableAttributeError(filter.field);
  }
}

function checkOrder(rankBy: RankBy | undefined, off: ReadonlySet<string>): void {
  if (rankBy === undefined || rankBy.kind !== "attribute") return;
  for (const key of [{ field: rankBy.field }, ...(rankBy.then ?? [])]) if (off.has(key.field)) throw new UnfilterableAttributeError(key.field);
}

/** Throws UnfilterableAttributeError when `request` filters on or orders by an attribute declared `filterable: false`. */
export function checkFilterable(request: QueryRequest, schema: NamespaceSchema | undefined): void {
  const off = unfilterableAttributes(schema);
  if (off.size === 0) return;
  if (request.filters !== undefined) checkFilter(request.filters, off);
  checkOrder(request.rankBy, off);
}
