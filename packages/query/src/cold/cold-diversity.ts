/**
 * coldDiverse: `limitPer` (diversity) over a cold ranking, as the loaded
 * path applies it (execute-query.ts diverseHits): the ranking is asked for
 * topK rows, then 4 times more each round while the cut leaves fewer than
 * topK rows and rows remain (`rows`: every partition's row count, dead rows
 * included, as loaded), keeping at most `limit` rows per tuple of the
 * named attributes' values in rank order. A row's tuple is the JSON of its
 * values (`id` itself; null for a missing value), read cold for a
 * segment's row (its row store entry) and from the column for a tail row,
 * which give the same values.
 */
import { stringifyExact } from "@skerry/wal-format";
import type { ColdIndexFile } from "./cold-array-reader.ts";
import type { ColdHit } from "./cold-bm25.ts";
import type { ColdRows } from "./cold-rows.ts";
import type { ColdTailChunk } from "./cold-tail.ts";
import { columnValue } from "../attribute-columns.ts";
import { ownValue } from "../own-property.ts";
import type { JsonValue } from "../query-document.ts";

export interface Diversity {
  readonly attributes: readonly string[];
  readonly limit: number;
}

export interface ColdDiverseInput {
  readonly per: Diversity;
  readonly topK: number;
  /** Rows of the cold segments (dead ones included). */
  readonly segmentRows: number;
  /** The named attributes of a segment's row (its row store entry). */
  readonly attributes: (h: ColdHit, names: readonly string[]) => Promise<Record<string, JsonValue>>;
  readonly tail: readonly ColdTailChunk[];
  /** The ranking's first k rows (undefined: not served cold). */
  readonly run: (k: number) => Promise<ColdHit[] | undefined>;
}

/** The first topK rows of the ranking with at most `per.limit` per tuple; undefined when the ranking is not served cold. */
export async function coldDiverse(input: ColdDiverseInput): Promise<ColdHit[] | undefined> {
  const { per, topK } = input;
  let rows = input.segmentRows;
  for (const chunk of input.tail) rows += chunk.index.size;
  const keys = new Map<string, Promise<string>>();
  const keyOf = (h: ColdHit): Promise<string> => {
    const at = `${h.segment}:${h.slot}`;
    let key = keys.get(at);
    if (key === undefined) keys.set(at, (key = tupleOf(input, h)));
    return key;
  };
  for (let k = Math.min(topK, Math.max(1, rows)); ; k = Math.min(rows, k * 4)) {
    const hits = await input.run(k);
    if (hits === undefined) return undefined;
    const tuples = await Promise.all(hits.map(keyOf));
    const seen = new Map<string, number>();
    const kept: ColdHit[] = [];
    for (const [i, h] of hits.entries()) {
      const key = tuples[i] as string;
      const n = seen.get(key) ?? 0;
      if (n >= per.limit) continue;
      seen.set(key, n + 1);
      kept.push(h);
      if (kept.length === topK) return kept;
    }
    if (hits.length < k || k >= rows) return kept;
  }
}

async function tupleOf(input: ColdDiverseInput, h: ColdHit): Promise<string> {
  const names = input.per.attributes;
  let values: (JsonValue | undefined)[];
  if (h.segment >= 0) {
    const stored = await input.attributes(h, names);
    values = names.map((name) => (name === "id" ? h.id : ownValue(stored, name)));
  } else {
    const index = (input.tail[-1 - h.segment] as ColdTailChunk).index;
    values = names.map((name) => {
      if (name === "id") return h.id;
      const column = index.attributeColumns.get(name);
      return column === undefined ? undefined : columnValue(column, h.slot);
    });
  }
  return stringifyExact(values.map((v) => v ?? null));
}

/** `coldDiverse`'s row access over segments read through ColdRows. */
export function coldRowsAccess(rows: ColdRows, files: readonly ColdIndexFile[]): Pick<ColdDiverseInput, "segmentRows" | "attributes"> {
  return {
    segmentRows: files.reduce((n, file) => n + file.meta.size, 0),
    attributes: (h, names) => rows.attributes(files[h.segment] as ColdIndexFile, h.slot, names),
  };
}
