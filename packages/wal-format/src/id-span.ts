/**
 * `IdSpan`: an inclusive run of consecutive row ids, `first..=last`.
 *
 * A mutation pre-mints the ids of its new rows before any work depends on
 * them and records them as an ordered list of spans. Flattened in order the
 * spans give row i of the batch its id, so a replay after a crash produces
 * byte-identical output. Several spans appear only when the generator's
 * per-millisecond sequence ran out mid-reservation.
 *
 * Errors: helpers throw `InvalidInputError` for an inverted span or a total
 * too large to enumerate.
 */
import { InvalidInputError } from "./errors.ts";
import type { RowId } from "./ids.ts";

export interface IdSpan {
  readonly first: RowId;
  readonly last: RowId;
}

/** Number of ids in a span (inclusive of both ends). */
export function idSpanLength(span: IdSpan): number {
  if (span.last < span.first) {
    throw new InvalidInputError(`inverted id span: last ${span.last} < first ${span.first}`);
  }
  const length = span.last - span.first + 1n;
  if (length > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new InvalidInputError(`id span of ${length} ids is too long to count as a number`);
  }
  return Number(length);
}

/** Total number of ids across spans. */
export function idSpansTotal(spans: readonly IdSpan[]): number {
  let total = 0;
  for (const span of spans) total += idSpanLength(span);
  return total;
}

/**
 * Every id of the spans in order. Refuses more than `limit` ids (default
 * 16 Mi) so a corrupt or hostile span cannot make this allocate unboundedly.
 */
export function flattenIdSpans(spans: readonly IdSpan[], limit = 1 << 24): RowId[] {
  const total = idSpansTotal(spans);
  if (total > limit) {
    throw new InvalidInputError(`id spans hold ${total} ids, more than the limit of ${limit}`);
  }
  const out: RowId[] = new Array<RowId>(total);
  let index = 0;
  for (const span of spans) {
    for (let id = span.first as bigint; id <= span.last; id++) out[index++] = id as RowId;
  }
  return out;
}
