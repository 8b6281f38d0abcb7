/**
 * Sending answers.
 *
 * `send`: a small JSON answer, parsed by its zod schema before it leaves
 * (an answer that does not match the documented schema is a server bug and
 * becomes a 500, logged; unknown keys are stripped). For cold routes only.
 *
 * `streamJson`: the hot, possibly large answers (query rows, documents by
 * id, scan pages). No per-row zod validation (the handler builds each row
 * from typed engine values, field by field; the schema stays the OpenAPI
 * documentation), and the body is serialized in slices, written to a
 * stream as the client reads it. The slices are the engine's QuerySlicer's
 * (the server's one, shared with the engine's query work): one budget of
 * such work per event-loop turn, and a body that used it up waits its turn
 * (first come, first served) on a later one. So a 10,000-row answer never
 * holds the event loop for longer than one slice, ten at once do not add
 * their slices up in one turn, and other requests (and /health) keep
 * flowing.
 * `bodyDone(stream)` resolves when such a body is finished or cancelled
 * (the server-wide in-flight bound holds its slot until then). Items are
 * either values mapped by `row` (then stringified), or `rows` that make
 * each item's JSON text themselves when it is written (the engine's
 * QueryRows: a query's rows are never all materialized).
 *
 * `documentJson`: an engine document as plain JSON (typed arrays to arrays).
 *
 * Integers beyond 2^53-1 (u64/i64 attribute values, aggregations summing
 * them: bigints) are written as their exact digits (lossless-json.ts).
 */
import type { JsonObject, QuerySlicer, StoredDocument } from "@skerry/namespace-engine";
import type { Context } from "hono";
import type { z } from "zod";
import { stringifyJson } from "./lossless-json.ts";

/**
 * The answer, typed `never` so it satisfies every route's declared
 * response union: the schema parse above is the check that matters.
 */
export function send<S extends z.ZodType>(c: Context, schema: S, data: z.input<S>, status: 200 | 201 = 200): never {
  const value = schema.parse(data) as object;
  try {
    return c.json(value, status) as never;
  } catch (error) {
    // Integers beyond 2^53-1 (u64/i64 attribute values, bigints): their exact digits (lossless-json.ts).
    if (!(error instanceof TypeError) || !/BigInt/i.test(error.message)) throw error;
    c.header("Content-Type", "application/json");
    return c.body(stringifyJson(value), status) as never;
  }
}

const done = new WeakMap<ReadableStream<Uint8Array>, Promise<void>>();

/** Resolves when a `streamJson` body has been produced in full or cancelled; undefined for other bodies. */
export function bodyDone(body: ReadableStream<Uint8Array> | null): Promise<void> | undefined {
  return body === null ? undefined : done.get(body);
}

/** Items that make their own JSON text, one at a time (e.g. the engine's QueryRows). */
export interface JsonRows {
  readonly length: number;
  json(i: number): string;
}

type StreamParts<T> = { slicer: QuerySlicer; head: Record<string, unknown>; key: string; tail?: Record<string, unknown> } & (
  | { items: readonly T[]; row: (item: T) => unknown }
  | { rows: JsonRows }
);

/**
 * `{ ...head, [key]: [items mapped by row], ...tail }` as a streamed JSON
 * body. `head` and `tail` are small; `row` returns each item's JSON value
 * (or `rows.json(i)` each item's JSON text).
 */
export function streamJson<T>(c: Context, parts: StreamParts<T>, status: 200 | 201 = 200): never {
  const count = "rows" in parts ? parts.rows.length : parts.items.length;
  const itemJson = "rows" in parts ? (i: number) => parts.rows.json(i) : (i: number) => stringifyJson(parts.row(parts.items[i]!));
  const encoder = new TextEncoder();
  const headJson = stringifyJson(parts.head);
  const tailJson = stringifyJson(parts.tail ?? {});
  const open = `${headJson.slice(0, -1)}${headJson === "{}" ? "" : ","}${JSON.stringify(parts.key)}:[`;
  const close = `]${tailJson === "{}" ? "" : `,${tailJson.slice(1, -1)}`}}`;
  let next = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        controller.enqueue(encoder.encode(open));
      },
      async pull(controller) {
        const slicer = parts.slicer;
        if (slicer.due()) await slicer.pause();
        try {
          let chunk = "";
          while (next < count) {
            chunk += (next === 0 ? "" : ",") + itemJson(next);
            next++;
            if ((next & 15) === 0 && slicer.due()) break;
          }
          if (next >= count) {
            controller.enqueue(encoder.encode(chunk + close));
            controller.close();
            finish();
          } else controller.enqueue(encoder.encode(chunk));
        } catch (error) {
          controller.error(error); // the client sees a cut-off body, never a truncated but valid JSON
          finish();
        }
      },
      cancel() {
        finish();
      },
    },
    { highWaterMark: 0 },
  );
  done.set(body, finished);
  c.header("Content-Type", "application/json");
  return c.body(body, status) as never;
}

export interface DocumentJson {
  id: string;
  vector?: number[];
  sparse?: { indices: number[]; values: number[] };
  text?: Record<string, string>;
  attributes?: JsonObject;
}

export function documentJson(doc: StoredDocument, includeVector = true): DocumentJson {
  const out: DocumentJson = { id: doc.id };
  if (doc.vector !== undefined && includeVector) out.vector = Array.from(doc.vector);
  if (doc.sparse !== undefined) out.sparse = { indices: Array.from(doc.sparse.indices), values: Array.from(doc.sparse.values) };
  if (doc.text !== undefined) out.text = { ...doc.text };
  if (doc.attributes !== undefined) out.attributes = doc.attributes;
  return out;
}
