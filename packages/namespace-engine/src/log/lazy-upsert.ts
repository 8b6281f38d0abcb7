/**
 * LazyUpsert: a log batch's UPSERT entry with only its header and id
 * decoded, the rest (vector, sparse vector, text and attributes JSON)
 * decoded on first use. The query tail's fold (query-tail.ts) applies
 * every entry of the tail but needs the documents only of the chunks it
 * indexes itself: a chunk whose index is read from storage
 * (tail-chunk-index-store.ts) needs just its ids, so decoding its
 * documents (most of a fresh fold's cost) is skipped.
 *
 * The batch's bytes were verified whole (size and BLAKE3 against the
 * manifest) before any entry is read, so deferring the decode defers no
 * integrity check; an entry that does not decode still fails with
 * `CorruptError` naming the batch, when it is first used.
 */
import { CorruptError } from "../core/index.ts";
import { decodeLogEntry, LOG_ENTRY_VERSION, type LogEntry } from "./log-entry.ts";

const HEADER = 20;
const OP_UPSERT = 1;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** An UPSERT whose payload is decoded by `materialize`. */
export interface LazyUpsert {
  readonly op: "UPSERT";
  readonly id: string;
  /** The entry's whole payload (a view of the verified batch bytes). */
  readonly payload: Uint8Array;
  /** The batch's key, for errors. */
  readonly key: string;
}

/** A fold's entry: decoded, or an UPSERT to decode when used. */
export type FoldEntry = LogEntry | LazyUpsert;

export function isLazy(entry: FoldEntry): entry is LazyUpsert {
  return (entry as Partial<LazyUpsert>).payload !== undefined;
}

/** An UPSERT payload as a LazyUpsert (its id decoded), any other entry decoded whole. */
export function decodeLazily(payload: Uint8Array, key: string): FoldEntry {
  if (payload.length < HEADER + 4 || payload[0] !== LOG_ENTRY_VERSION || payload[1] !== OP_UPSERT) return decodeLogEntry(payload, key);
  const idLength = new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(HEADER, true);
  if (HEADER + 4 + idLength > payload.length) return decodeLogEntry(payload, key); // throws, naming the problem
  let id: string;
  try {
    id = utf8.decode(payload.subarray(HEADER + 4, HEADER + 4 + idLength));
  } catch {
    return decodeLogEntry(payload, key);
  }
  return { op: "UPSERT", id, payload, key };
}

/** The entry decoded whole (CorruptError naming the batch when it does not decode). */
export function materialize(entry: FoldEntry): LogEntry {
  if (!isLazy(entry)) return entry;
  const decoded = decodeLogEntry(entry.payload, entry.key);
  if (decoded.op !== "UPSERT" || decoded.id !== entry.id) throw new CorruptError(`log batch ${entry.key}: entry of ${entry.id} decodes differently`, entry.key);
  return decoded;
}
